//! Container images as files: the model and the on-disk forms that [`crate::scratch`] writes
//! and [`read`] reads to verify what ships.
//!
//! The shape follows go-containerregistry's `pkg/v1`: [`spec`] is the model (index, manifest,
//! config, descriptors, the architecture table), separate from each on-disk form
//! (docker-archive tar, oci-archive tar, OCI layout directory: [`layout`] writes them, [`read`]
//! reads them) and from the layer's tar ([`layer`]). Nothing here decides whether a program
//! will start: that is [`crate::verify`], which reads images through this module, and
//! [`crate::scratch`], which builds them; so this module depends on neither.

pub mod layer;
pub mod layout;
pub mod read;
pub mod spec;
