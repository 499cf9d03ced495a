//! Talking to OCI distribution registries (the distribution spec v1.0, as docker, podman,
//! skopeo, ko and crane do): pushing an image with its blobs, manifests and index, and pulling
//! one to verify what the registry holds.
//!
//! - [`reference`]: `HOST[:PORT]/REPO[:TAG|@DIGEST]`, parsed and normalized.
//! - [`auth`]: credentials from the files docker and podman write (and credential helpers);
//!   never printed.
//! - [`client`]: one registry over HTTPS (or HTTP with `--insecure`): ping, the Basic and
//!   Bearer challenge, blobs and manifests, bounded retries, every digest checked.
//! - [`push`]: a [`Pushable`] image to a repository: blobs first (skipping the ones the
//!   repository has), manifests next, the index (or the one manifest) last, under the tag.
//! - [`source`]: a local image (docker-archive, oci-archive, OCI layout, stdin) as a
//!   [`Pushable`], its blobs' digests kept.
//! - [`pull`]: a remote image (one platform of an index) into a temporary OCI layout that the
//!   image reader reads exactly as an archive, streamed to disk.

pub mod auth;
pub mod client;
pub mod error;
pub mod pull;
pub mod push;
pub mod reference;
pub mod source;
pub mod tls;

pub use client::{Client, Fetched, Options};
pub use error::{RegistryError, Step};
pub use reference::Reference;

use std::path::PathBuf;

use serde::Serialize;

/// Where a blob's bytes are.
#[derive(Debug, Clone)]
pub enum BlobData {
    /// `len` bytes at `offset` of the file at `path` (a blob file, or a member of a tar).
    File {
        /// The file holding the blob.
        path: PathBuf,
        /// Where the blob starts in it.
        offset: u64,
        /// The blob's length.
        len: u64,
    },
    /// In memory (configs and other small documents).
    Bytes(Vec<u8>),
}

/// One blob (a config or a layer) to push.
#[derive(Debug, Clone)]
pub struct Blob {
    /// `sha256:<hex>` of its bytes, as the manifest names it.
    pub digest: String,
    /// Its length in bytes.
    pub size: u64,
    /// Its bytes.
    pub data: BlobData,
}

/// A manifest (or index) document to push, byte for byte as it will be stored.
#[derive(Debug, Clone)]
pub struct Document {
    /// `application/vnd.oci.image.manifest.v1+json`, `...index.v1+json`, or the docker forms.
    pub media_type: String,
    /// The exact bytes (the digest is theirs).
    pub bytes: Vec<u8>,
    /// `os/arch[/variant]` of a platform manifest; `None` for an index.
    pub platform: Option<String>,
}

/// An image ready to push: every blob its manifests name, the manifests, and the index over
/// them when there is one. The tag goes on the index, or on the one manifest when there is no
/// index.
#[derive(Debug, Clone, Default)]
pub struct Pushable {
    /// Configs and layers of every manifest, each digest once.
    pub blobs: Vec<Blob>,
    /// The image manifests, one per platform.
    pub manifests: Vec<Document>,
    /// The index over `manifests`, when the image is multi-platform.
    pub index: Option<Document>,
    /// OCI 1.1 artifacts that refer to the image (an SBOM, its `subject` the image), pushed
    /// after it; their blobs are among `blobs`.
    pub referrers: Vec<Document>,
}

/// What a push did: the `"push"` object of `--json`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PushReport {
    /// The reference pushed to, as given (normalized): `HOST/REPO:TAG`.
    #[serde(rename = "ref")]
    pub reference: String,
    /// The digest of what the tag now names (the index, or the one manifest).
    pub digest: String,
    /// Every blob, in push order; `uploaded` is false for one the registry already had.
    pub blobs: Vec<BlobReport>,
    /// Every platform manifest with its digest.
    pub manifests: Vec<ManifestReport>,
    /// The artifacts pushed as referrers of the image; left out when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub referrers: Vec<ReferrerReport>,
}

/// One referrer of a [`PushReport`].
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReferrerReport {
    /// `application/spdx+json`, ...
    pub artifact_type: String,
    /// `sha256:<hex>` of the artifact's manifest.
    pub digest: String,
    /// How the registry lists it: `referrers-api` (it answered with `OCI-Subject`) or
    /// `tag-schema` (the index at tag `sha256-<hex of the subject>`).
    pub via: &'static str,
}

/// One blob of a [`PushReport`].
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BlobReport {
    /// `sha256:<hex>`.
    pub digest: String,
    /// Bytes.
    pub size: u64,
    /// False when the repository had it already (or got it by a cross-repository mount).
    pub uploaded: bool,
}

/// One platform manifest of a [`PushReport`].
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ManifestReport {
    /// `os/arch[/variant]`.
    pub platform: String,
    /// `sha256:<hex>` of the manifest.
    pub digest: String,
}
