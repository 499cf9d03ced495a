//! binslim: a binary minimizer and static-link verifier for `FROM scratch` container images.
//!
//! The library reads ELF files from bytes and never prints, exits or executes anything it
//! inspects. The `binslim` binary turns its results into text or JSON and exit codes.
//!
//! - [`elf::analyze`] tells what a file is, how it is linked and where its bytes go.
//! - [`strip`], [`shrink`] and [`upx`] make it smaller and keep a ledger of each step.
#![warn(missing_docs)]

pub mod diff;
pub mod elf;
pub mod error;
pub mod image;
pub mod input;
pub mod packages;
pub mod report;
pub mod resolve;
pub mod shrink;
pub mod smoke;
pub mod strip;
pub mod tempfiles;
pub mod units;
pub mod upx;
pub mod verify;

pub use error::{Error, PathError, Result};
