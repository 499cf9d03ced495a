//! binslim: a binary minimizer and static-link verifier for `FROM scratch` container images.
//!
//! The library reads ELF files from bytes and never prints, exits or executes anything it
//! inspects. The `binslim` binary turns its results into text or JSON and exit codes.
//!
//! - [`elf::analyze`] tells what a file is, how it is linked and where its bytes go.
//! - [`verify`] decides whether a file, a directory of files or an image's entrypoint will
//!   start in its target, and says why not in the build's own language.
//! - [`strip`], [`shrink`] and [`upx`] make it smaller and keep a ledger of each step.
//! - [`image`] is the image model and its on-disk forms; [`scratch`] builds the `FROM scratch`
//!   image of a program.
//! - [`packages`] and [`diff`] say which packages and crates the bytes belong to and what grew.
//! - [`report`] renders what the others produce as text (the binary's output); nothing in the
//!   library builds its data through it.
#![warn(missing_docs)]

pub mod diff;
pub mod elf;
pub mod error;
pub mod image;
pub mod input;
pub mod packages;
pub mod registry;
pub mod report;
pub mod resolve;
pub mod sbom;
pub mod scratch;
pub mod shrink;
pub mod slim;
pub mod smoke;
pub mod strip;
pub mod tempfiles;
pub mod units;
pub mod upx;
pub mod verify;

pub use error::{Error, PathError, Result, StripRefusal};
