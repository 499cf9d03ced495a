//! Container images: building a single-layer `FROM scratch` image without an engine
//! ([`build`]), and reading the images that ship to verify them ([`read`]).
//!
//! The shape follows go-containerregistry's `pkg/v1`: [`spec`] is the model (index, manifest,
//! config, descriptors), separate from each on-disk form (docker-archive tar, oci-archive tar,
//! OCI layout directory), which [`build`] writes and [`read`] reads.

pub mod build;
pub mod layer;
pub mod layout;
pub mod read;
pub mod spec;
