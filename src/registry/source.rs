//! A local image as a [`Pushable`]: a docker-archive tar (the old `docker save` layout, and the
//! new one that is also an OCI layout), an oci-archive tar, an OCI layout directory, a `dir`
//! transport directory (`podman save --format docker-dir`, `skopeo copy ... dir:DIR`), or a tar
//! on standard input.
//!
//! Digests are kept: where the source has an OCI index (`index.json`), the manifests and the
//! index are pushed byte for byte as they are stored, so the pushed digest is the source's.
//! Every document the index names is kept, attestation manifests (`unknown/unknown`) included:
//! they are part of the index's bytes, and a registry refuses an index naming a manifest it
//! does not hold, so a source missing one of their blobs is refused like any other.
//!
//! An old docker-archive has no manifest: binslim makes the one `skopeo inspect
//! docker-archive:X` reports (a Docker schema 2 manifest whose layers are the uncompressed
//! `layer.tar` members, named by the config's `diff_ids`), so the pushed digest equals
//! skopeo's `Digest` for the archive.
//!
//! Blobs are never read into memory: each is a byte range of the archive (a tar member's
//! payload is contiguous) or a file of the layout. JSON documents (index, manifests, configs)
//! are read, capped and checked against their digests; every blob's size is checked against its
//! descriptor, and a blob a manifest names but the source does not hold is refused by name. A
//! layer's digest is checked by the registry when it is uploaded.

use std::collections::{BTreeSet, HashSet};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::{Blob, BlobData, Document, Pushable};
use crate::image::read::{
    ImageSource, Limits, ReadError, StoredImage, config_digest_from_name, layout_blob_name,
};
use crate::image::spec::{
    self, DockerManifestEntry, ImageConfig, Index, MEDIA_DOCKER_LIST, MEDIA_DOCKER_MANIFEST,
    MEDIA_INDEX, MEDIA_MANIFEST, Manifest,
};
use crate::tempfiles::PrivateDir;

/// Docker's image config media type (what skopeo names a docker-archive's config).
pub const MEDIA_DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";

/// The layer media type skopeo gives a docker-archive's layers, compressed or not
/// (containers/image's `DockerV2Schema2LayerMediaType`).
const MEDIA_DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// Deepest nesting of indexes followed.
const MAX_DEPTH: usize = 4;

/// Why a local image cannot be pushed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// Not an image, a malformed one, or one naming a blob it does not hold.
    #[error("{0}")]
    Read(#[from] ReadError),
    /// The stream (standard input, a FIFO) could not be copied to a temporary file.
    #[error("cannot copy the image to a temporary file: {0}")]
    Spool(#[source] io::Error),
    /// The stream is larger than [`Limits::max_stream`].
    #[error("the archive on the stream is more than {0} bytes: refusing to read further")]
    StreamLimit(u64),
    /// Neither `index.json` nor `manifest.json`.
    #[error(
        "holds neither index.json nor manifest.json: not a docker-archive, oci-archive, OCI \
         layout or dir: layout"
    )]
    NotAnImage,
    /// The archive holds several images (several `manifest.json` entries, or an `index.json`
    /// naming several images under different names).
    #[error(
        "holds {} images ({}): binslim push takes one image (or one multi-platform index) \
         per archive",
        .0.len(),
        .0.join(", ")
    )]
    SeveralImages(Vec<String>),
    /// A blob or document is not the size its descriptor says.
    #[error("{name} is {actual} bytes, but the manifest says {claimed}")]
    Size {
        /// The member's name.
        name: String,
        /// The descriptor's size.
        claimed: u64,
        /// The member's size.
        actual: u64,
    },
    /// A layer of an old docker-archive (no `index.json`) is compressed: its pushed digest
    /// would not be the config's `diff_id`.
    #[error(
        "layer {0} is compressed, but a docker-archive without index.json names layers by the \
         digest of their uncompressed tar: save the image again (docker save, podman save)"
    )]
    CompressedLayer(String),
    /// The config lists another number of layers than the manifest.
    #[error(
        "manifest.json names {layers} layers but the config's rootfs.diff_ids lists {diff_ids}"
    )]
    LayerCount {
        /// Layers in `manifest.json`.
        layers: usize,
        /// Entries of `rootfs.diff_ids`.
        diff_ids: usize,
    },
    /// An index names a document that is neither an image manifest nor an index.
    #[error("{name} is a {media_type}, which is not an image manifest or index")]
    NotManifest {
        /// The document's name.
        name: String,
        /// Its media type.
        media_type: String,
    },
}

/// Reads the image at `source` as a [`Pushable`], its blobs left where they are stored. A
/// stream (standard input, a FIFO) is first copied to a file in a private temporary directory,
/// returned with the image: keep it while the image is pushed (dropping it removes the file).
pub fn read_pushable(
    source: &ImageSource,
    limits: &Limits,
) -> Result<(Pushable, Option<PrivateDir>), SourceError> {
    let (path, spool) = match source {
        ImageSource::Stdin => {
            let (dir, path) = spool(&mut io::stdin().lock(), limits)?;
            (path, Some(dir))
        }
        ImageSource::Path(p) if p.is_dir() || p.metadata().is_ok_and(|m| m.is_file()) => {
            (p.clone(), None)
        }
        ImageSource::Path(p) => {
            // A FIFO or a process substitution (`<(docker save app)`): read once, as a stream.
            let mut f = File::open(p).map_err(|e| ReadError::Io {
                what: "cannot open".into(),
                source: e,
            })?;
            let (dir, path) = spool(&mut f, limits)?;
            (path, Some(dir))
        }
    };
    let image = read_path(&path, limits)?;
    Ok((image, spool))
}

/// Copies a stream to `image.tar` in a new private temporary directory, at most
/// [`Limits::max_stream`] bytes.
fn spool(input: &mut dyn Read, limits: &Limits) -> Result<(PrivateDir, PathBuf), SourceError> {
    let dir = PrivateDir::new("binslim-push-").map_err(SourceError::Spool)?;
    let path = dir.path().join("image.tar");
    let mut out = File::create(&path).map_err(SourceError::Spool)?;
    let n = io::copy(
        &mut input.take(limits.max_stream.saturating_add(1)),
        &mut out,
    )
    .map_err(SourceError::Spool)?;
    if n > limits.max_stream {
        return Err(SourceError::StreamLimit(limits.max_stream));
    }
    Ok((dir, path))
}

/// Reads the image stored at `path` (a tar file or a directory).
fn read_path(path: &Path, limits: &Limits) -> Result<Pushable, SourceError> {
    if path.is_dir() && !path.join("index.json").is_file() && !path.join("manifest.json").is_file()
    {
        return Err(ReadError::NotLayout.into());
    }
    let stored = StoredImage::open(path, limits)?;
    if stored.has("index.json") {
        oci(&stored, limits)
    } else if stored.has("manifest.json") && path.is_dir() {
        dir_layout(&stored, limits)
    } else if stored.has("manifest.json") {
        docker_archive(&stored, limits)
    } else {
        Err(SourceError::NotAnImage)
    }
}

/// The image of an OCI layout (`index.json`): the one manifest or index it names (the same
/// digest under several names counts once), or, when it names several platforms' manifests
/// under one name (or none), `index.json` itself as the index.
fn oci(stored: &StoredImage, limits: &Limits) -> Result<Pushable, SourceError> {
    let bytes = stored.document("index.json", None, limits)?;
    let index: Index = parse("index.json", &bytes)?;
    let mut c = Collector::new(stored, limits);
    // Artifacts that refer to the image (binslim's SBOM) are pushed as referrers, not taken
    // for a second image.
    let mut images = Vec::new();
    let mut referrers = Vec::new();
    for d in &index.manifests {
        match c.referrer(d)? {
            Some(m) => referrers.push((d, m)),
            None => images.push(d),
        }
    }
    let digests: BTreeSet<&str> = images.iter().map(|d| d.digest.as_str()).collect();
    if digests.len() != 1 {
        // Several images, or none: index.json as it is (referrers among its manifests).
        images = index.manifests.iter().collect();
        referrers.clear();
    }
    let digests: BTreeSet<&str> = images.iter().map(|d| d.digest.as_str()).collect();
    match digests.len() {
        0 => return Err(ReadError::NoImage.into()),
        1 => {
            let d = images[0];
            let doc = c.document(d, 0)?;
            if is_index(&doc.media_type) {
                c.index = Some(doc);
            } else {
                c.manifests.push(doc);
            }
        }
        _ => {
            let names: BTreeSet<&str> = index
                .manifests
                .iter()
                .filter_map(|d| d.annotations.get(spec::ANNOTATION_REF_NAME))
                .map(String::as_str)
                .collect();
            if names.len() > 1 {
                return Err(SourceError::SeveralImages(
                    names.into_iter().map(str::to_string).collect(),
                ));
            }
            c.children(&index, 0)?;
            c.index = Some(Document {
                media_type: index.media_type.unwrap_or_else(|| MEDIA_INDEX.into()),
                bytes,
                platform: None,
            });
        }
    }
    // The referrers' blobs after the image's.
    for (_, m) in &referrers {
        let doc = c.artifact(m)?;
        c.referrers.push(doc);
    }
    Ok(c.finish())
}

fn is_index(media_type: &str) -> bool {
    media_type == MEDIA_INDEX || media_type == MEDIA_DOCKER_LIST
}

/// Gathers the blobs and documents an index or manifest names, each blob once.
struct Collector<'a> {
    stored: &'a StoredImage,
    limits: &'a Limits,
    blobs: Vec<Blob>,
    seen: HashSet<String>,
    /// Platform manifests, and nested indexes after their children.
    manifests: Vec<Document>,
    index: Option<Document>,
    referrers: Vec<Document>,
}

impl<'a> Collector<'a> {
    fn new(stored: &'a StoredImage, limits: &'a Limits) -> Self {
        Collector {
            stored,
            limits,
            blobs: Vec::new(),
            seen: HashSet::new(),
            manifests: Vec::new(),
            index: None,
            referrers: Vec::new(),
        }
    }

    fn finish(self) -> Pushable {
        Pushable {
            blobs: self.blobs,
            manifests: self.manifests,
            index: self.index,
            referrers: self.referrers,
        }
    }

    /// The manifest `d` names when it is an artifact with a `subject` (an OCI 1.1 referrer),
    /// read and checked against `d`; `None` for an image or index.
    fn referrer(&self, d: &spec::Descriptor) -> Result<Option<(Manifest, Vec<u8>)>, SourceError> {
        if d.media_type != MEDIA_MANIFEST {
            return Ok(None);
        }
        let name = layout_blob_name(&d.digest)?;
        let bytes = self.stored.document(&name, Some(&d.digest), self.limits)?;
        check_size(&name, d.size, bytes.len() as u64)?;
        let m: Manifest = parse(&name, &bytes)?;
        if m.subject.is_some() && crate::image::read::is_artifact(&m) {
            Ok(Some((m, bytes)))
        } else {
            Ok(None)
        }
    }

    /// The referrer `d` names, its blobs gathered.
    fn artifact(&mut self, (m, bytes): &(Manifest, Vec<u8>)) -> Result<Document, SourceError> {
        self.blob(&m.config)?;
        for l in &m.layers {
            self.blob(l)?;
        }
        Ok(Document {
            media_type: MEDIA_MANIFEST.into(),
            bytes: bytes.clone(),
            platform: None,
        })
    }

    /// The document `d` names (a manifest, with its blobs gathered; or an index, with every
    /// document and blob under it gathered), its bytes checked against `d`.
    fn document(&mut self, d: &spec::Descriptor, depth: usize) -> Result<Document, SourceError> {
        let name = layout_blob_name(&d.digest)?;
        let bytes = self.stored.document(&name, Some(&d.digest), self.limits)?;
        check_size(&name, d.size, bytes.len() as u64)?;
        // The document's own mediaType says what it is; the descriptor's when it has none.
        let own: MediaTypeOnly = parse(&name, &bytes)?;
        let media_type = own.media_type.unwrap_or_else(|| d.media_type.clone());
        if is_index(&media_type) {
            if depth >= MAX_DEPTH {
                return Err(
                    ReadError::Limit(format!("indexes nested more than {MAX_DEPTH} deep")).into(),
                );
            }
            let index: Index = parse(&name, &bytes)?;
            self.children(&index, depth + 1)?;
            return Ok(Document {
                media_type,
                bytes,
                platform: None,
            });
        }
        if media_type != MEDIA_MANIFEST && media_type != MEDIA_DOCKER_MANIFEST {
            return Err(SourceError::NotManifest { name, media_type });
        }
        let m: Manifest = parse(&name, &bytes)?;
        let platform = match &d.platform {
            Some(p) => platform_name(&p.os, &p.architecture, p.variant.as_deref()),
            None => self.config_platform(&m.config)?,
        };
        self.blob(&m.config)?;
        for l in &m.layers {
            self.blob(l)?;
        }
        Ok(Document {
            media_type,
            bytes,
            platform: Some(platform),
        })
    }

    /// Gathers every document `index` names: manifests, and nested indexes after theirs.
    fn children(&mut self, index: &Index, depth: usize) -> Result<(), SourceError> {
        let mut done: HashSet<&str> = HashSet::new();
        for d in &index.manifests {
            if !done.insert(d.digest.as_str()) {
                continue;
            }
            let doc = self.document(d, depth)?;
            self.manifests.push(doc);
        }
        Ok(())
    }

    /// Adds the blob `d` names, once, after checking the source holds it at that size.
    fn blob(&mut self, d: &spec::Descriptor) -> Result<(), SourceError> {
        if self.seen.contains(&d.digest) {
            return Ok(());
        }
        let name = layout_blob_name(&d.digest)?;
        let (path, offset, len) = self.stored.locate(&name)?;
        check_size(&name, d.size, len)?;
        self.seen.insert(d.digest.clone());
        self.blobs.push(Blob {
            digest: d.digest.clone(),
            size: len,
            data: BlobData::File { path, offset, len },
        });
        Ok(())
    }

    /// `os/arch[/variant]` from the config a manifest names (for a manifest no index
    /// descriptor gives a platform).
    fn config_platform(&self, d: &spec::Descriptor) -> Result<String, SourceError> {
        let name = layout_blob_name(&d.digest)?;
        let bytes = self.stored.document(&name, Some(&d.digest), self.limits)?;
        let c: ImageConfig = parse(&name, &bytes)?;
        Ok(config_platform(&c))
    }
}

/// The one field read to tell a manifest from an index.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct MediaTypeOnly {
    #[serde(default)]
    media_type: Option<String>,
}

fn parse<T: serde::de::DeserializeOwned>(name: &str, bytes: &[u8]) -> Result<T, SourceError> {
    serde_json::from_slice(bytes).map_err(|source| {
        ReadError::Json {
            name: name.to_string(),
            source,
        }
        .into()
    })
}

fn check_size(name: &str, claimed: u64, actual: u64) -> Result<(), SourceError> {
    if claimed == actual {
        Ok(())
    } else {
        Err(SourceError::Size {
            name: name.to_string(),
            claimed,
            actual,
        })
    }
}

fn platform_name(os: &str, arch: &str, variant: Option<&str>) -> String {
    match variant.filter(|v| !v.is_empty()) {
        Some(v) => format!("{os}/{arch}/{v}"),
        None => format!("{os}/{arch}"),
    }
}

fn config_platform(c: &ImageConfig) -> String {
    let or_unknown = |s: &str| {
        if s.is_empty() {
            "unknown".to_string()
        } else {
            s.to_string()
        }
    };
    platform_name(
        &or_unknown(&c.os),
        &or_unknown(&c.architecture),
        c.variant.as_deref(),
    )
}

/// The image of a `dir` transport directory: `manifest.json` (kept byte for byte) and blobs
/// named by their hex digest.
fn dir_layout(stored: &StoredImage, limits: &Limits) -> Result<Pushable, SourceError> {
    let bytes = stored.document("manifest.json", None, limits)?;
    let own: MediaTypeOnly = parse("manifest.json", &bytes)?;
    if let Some(t) = own.media_type.as_deref().filter(|t| is_index(t)) {
        return Err(SourceError::NotManifest {
            name: "manifest.json".into(),
            media_type: t.to_string(),
        });
    }
    let m: Manifest = parse("manifest.json", &bytes)?;
    let media_type = own.media_type.unwrap_or_else(|| {
        if m.config.media_type == MEDIA_DOCKER_CONFIG {
            MEDIA_DOCKER_MANIFEST.into()
        } else {
            MEDIA_MANIFEST.into()
        }
    });
    let hex_name = |digest: &str| -> Result<String, SourceError> {
        let b = layout_blob_name(digest)?;
        Ok(b.rsplit('/').next().unwrap_or(&b).to_string())
    };
    let config_name = hex_name(&m.config.digest)?;
    let config = stored.document(&config_name, Some(&m.config.digest), limits)?;
    check_size(&config_name, m.config.size, config.len() as u64)?;
    let c: ImageConfig = parse(&config_name, &config)?;
    let mut blobs = vec![Blob {
        digest: m.config.digest.clone(),
        size: config.len() as u64,
        data: BlobData::Bytes(config),
    }];
    let mut seen: HashSet<String> = HashSet::from([m.config.digest.clone()]);
    for l in &m.layers {
        if !seen.insert(l.digest.clone()) {
            continue;
        }
        let name = hex_name(&l.digest)?;
        let (path, offset, len) = stored.locate(&name)?;
        check_size(&name, l.size, len)?;
        blobs.push(Blob {
            digest: l.digest.clone(),
            size: len,
            data: BlobData::File { path, offset, len },
        });
    }
    Ok(Pushable {
        blobs,
        manifests: vec![Document {
            media_type,
            bytes,
            platform: Some(config_platform(&c)),
        }],
        index: None,
        referrers: Vec::new(),
    })
}

/// The image of an old docker-archive (`manifest.json` without `index.json`), with the
/// manifest skopeo makes for it.
fn docker_archive(stored: &StoredImage, limits: &Limits) -> Result<Pushable, SourceError> {
    let bytes = stored.document("manifest.json", None, limits)?;
    let entries: Vec<DockerManifestEntry> = parse("manifest.json", &bytes)?;
    let entry = match entries.as_slice() {
        [] => return Err(ReadError::NoImage.into()),
        [one] => one,
        several => {
            return Err(SourceError::SeveralImages(
                several
                    .iter()
                    .map(|e| match e.repo_tags.as_deref() {
                        Some([tag, ..]) => tag.clone(),
                        _ => e.config.clone(),
                    })
                    .collect(),
            ));
        }
    };
    let config = stored.document(
        &entry.config,
        config_digest_from_name(&entry.config).as_deref(),
        limits,
    )?;
    let c: ImageConfig = parse(&entry.config, &config)?;
    if c.rootfs.diff_ids.len() != entry.layers.len() {
        return Err(SourceError::LayerCount {
            layers: entry.layers.len(),
            diff_ids: c.rootfs.diff_ids.len(),
        });
    }
    if entry.layers.len() > limits.max_layers {
        return Err(ReadError::Limit(format!(
            "{} layers (limit {})",
            entry.layers.len(),
            limits.max_layers
        ))
        .into());
    }
    let config_digest = spec::digest_of(&config);
    let mut layers = Vec::new();
    for (name, diff_id) in entry.layers.iter().zip(&c.rootfs.diff_ids) {
        layout_blob_name(diff_id)?; // a sha256 digest, as a registry takes
        let (path, offset, len) = stored.locate(name)?;
        let head = stored.head(name, 6)?;
        if is_compressed(&head) {
            return Err(SourceError::CompressedLayer(name.clone()));
        }
        layers.push(Blob {
            digest: diff_id.clone(),
            size: len,
            data: BlobData::File { path, offset, len },
        });
    }
    let manifest = skopeo_manifest(&config_digest, config.len() as u64, &layers);
    let mut blobs = vec![Blob {
        digest: config_digest,
        size: config.len() as u64,
        data: BlobData::Bytes(config),
    }];
    let mut seen: HashSet<String> = HashSet::new();
    blobs.extend(layers.into_iter().filter(|b| seen.insert(b.digest.clone())));
    Ok(Pushable {
        blobs,
        manifests: vec![Document {
            media_type: MEDIA_DOCKER_MANIFEST.into(),
            bytes: manifest,
            platform: Some(config_platform(&c)),
        }],
        index: None,
        referrers: Vec::new(),
    })
}

/// gzip, zstd, bzip2 or xz magic.
fn is_compressed(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b])
        || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
        || head.starts_with(b"BZh")
        || head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0])
}

/// The manifest containers/image (skopeo, podman) makes for a docker-archive, byte for byte
/// as Go's `encoding/json` writes it: schema 2, the config as a Docker config, each layer
/// under the gzip layer type with its `diff_id` and uncompressed size (the layer's bytes are
/// the uncompressed tar; readers detect compression from the bytes).
fn skopeo_manifest(config_digest: &str, config_size: u64, layers: &[Blob]) -> Vec<u8> {
    let layers: Vec<String> = layers
        .iter()
        .map(|l| {
            format!(
                r#"{{"mediaType":"{MEDIA_DOCKER_LAYER}","size":{},"digest":"{}"}}"#,
                l.size, l.digest
            )
        })
        .collect();
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{MEDIA_DOCKER_MANIFEST}","config":{{"mediaType":"{MEDIA_DOCKER_CONFIG}","size":{config_size},"digest":"{config_digest}"}},"layers":[{}]}}"#,
        layers.join(",")
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skopeo_manifest_bytes() {
        // What `skopeo inspect --raw docker-archive:X` printed for a `podman save` archive.
        let layer = Blob {
            digest: "sha256:4cdc06c9adf2b88a44704c8126866273063a7871dc23afffcf8c6622428a47f1"
                .into(),
            size: 1177600,
            data: BlobData::Bytes(Vec::new()),
        };
        let m = skopeo_manifest(
            "sha256:c0bf44fa007796c12d42fcd298f5fec9c44cc5614655dd729dd76d3c9da6d69e",
            444,
            &[layer],
        );
        assert_eq!(
            String::from_utf8(m).unwrap(),
            r#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":444,"digest":"sha256:c0bf44fa007796c12d42fcd298f5fec9c44cc5614655dd729dd76d3c9da6d69e"},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":1177600,"digest":"sha256:4cdc06c9adf2b88a44704c8126866273063a7871dc23afffcf8c6622428a47f1"}]}"#
        );
    }

    #[test]
    fn compression_magic() {
        assert!(is_compressed(&[0x1f, 0x8b, 8, 0]));
        assert!(is_compressed(&[0x28, 0xb5, 0x2f, 0xfd, 0, 0]));
        assert!(!is_compressed(b"etc/\0\0"));
    }
}

#[cfg(test)]
mod fixture_tests {
    use std::io::{Seek, SeekFrom};

    use super::*;
    use crate::image::spec::digest_of;

    fn fixture(name: &str) -> ImageSource {
        ImageSource::Path(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("testdata/images")
                .join(name),
        )
    }

    /// A tar of `members` (name, bytes) at `dir/name`.
    fn tar_of(dir: &Path, name: &str, members: &[(&str, &[u8])]) -> ImageSource {
        let path = dir.join(name);
        let mut b = tar::Builder::new(File::create(&path).unwrap());
        for (n, data) in members {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            b.append_data(&mut h, n, *data).unwrap();
        }
        b.finish().unwrap();
        ImageSource::Path(path)
    }

    /// The bytes a [`BlobData`] names.
    fn bytes_of(data: &BlobData) -> Vec<u8> {
        match data {
            BlobData::Bytes(b) => b.clone(),
            BlobData::File { path, offset, len } => {
                let mut f = File::open(path).unwrap();
                f.seek(SeekFrom::Start(*offset)).unwrap();
                let mut out = vec![0; *len as usize];
                f.read_exact(&mut out).unwrap();
                out
            }
        }
    }

    const LAYER: &[u8] = &[b'x'; 1536];

    fn config_for(layer: &[u8]) -> Vec<u8> {
        format!(
            r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["{}"]}}}}"#,
            digest_of(layer)
        )
        .into_bytes()
    }

    #[test]
    fn old_docker_archive_gets_skopeos_manifest_and_ranges_of_the_tar() {
        let d = tempfile::tempdir().unwrap();
        let config = config_for(LAYER);
        let config_name = format!("{}.json", &digest_of(&config)[7..]);
        let manifest = format!(
            r#"[{{"Config":"{config_name}","RepoTags":["app:1"],"Layers":["abc/layer.tar"]}}]"#
        );
        let src = tar_of(
            d.path(),
            "old.tar",
            &[
                ("manifest.json", manifest.as_bytes()),
                (&config_name, &config),
                ("abc/layer.tar", LAYER),
            ],
        );
        let (p, _) = read_pushable(&src, &Limits::default()).unwrap();
        assert!(p.index.is_none());
        let m = &p.manifests[0];
        assert_eq!(m.media_type, MEDIA_DOCKER_MANIFEST);
        assert_eq!(m.platform.as_deref(), Some("linux/amd64"));
        assert_eq!(
            m.bytes,
            skopeo_manifest(
                &digest_of(&config),
                config.len() as u64,
                &[Blob {
                    digest: digest_of(LAYER),
                    size: LAYER.len() as u64,
                    data: BlobData::Bytes(Vec::new()),
                }]
            )
        );
        let blobs: Vec<(String, Vec<u8>)> = p
            .blobs
            .iter()
            .map(|b| (b.digest.clone(), bytes_of(&b.data)))
            .collect();
        assert_eq!(
            blobs,
            [
                (digest_of(&config), config.clone()),
                (digest_of(LAYER), LAYER.to_vec())
            ]
        );
        assert!(matches!(p.blobs[1].data, BlobData::File { offset, .. } if offset > 0));
    }

    #[test]
    fn refusals_name_what_is_wrong() {
        let d = tempfile::tempdir().unwrap();
        let gz = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0];
        let config = config_for(&gz);
        let one = r#"[{"Config":"c.json","Layers":["l.tar"]}]"#;
        let src = tar_of(
            d.path(),
            "gz.tar",
            &[
                ("manifest.json", one.as_bytes()),
                ("c.json", &config),
                ("l.tar", &gz),
            ],
        );
        let e = read_pushable(&src, &Limits::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "layer l.tar is compressed, but a docker-archive without index.json names layers by \
             the digest of their uncompressed tar: save the image again (docker save, podman save)"
        );

        let two = r#"[{"Config":"c.json","RepoTags":["a:1"],"Layers":[]},
                      {"Config":"c.json","RepoTags":["b:2"],"Layers":[]}]"#;
        let src = tar_of(d.path(), "two.tar", &[("manifest.json", two.as_bytes())]);
        let e = read_pushable(&src, &Limits::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "holds 2 images (a:1, b:2): binslim push takes one image (or one multi-platform \
             index) per archive"
        );

        let src = tar_of(d.path(), "none.tar", &[("etc/passwd", b"root")]);
        let e = read_pushable(&src, &Limits::default()).unwrap_err();
        assert!(matches!(e, SourceError::NotAnImage), "{e}");

        // An OCI layout whose manifest claims another layer size.
        let layer = LAYER;
        let config = config_for(layer);
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"{MEDIA_MANIFEST}","config":{{"mediaType":"{}","digest":"{}","size":{}}},"layers":[{{"mediaType":"{}","digest":"{}","size":9}}]}}"#,
            spec::MEDIA_CONFIG,
            digest_of(&config),
            config.len(),
            spec::MEDIA_LAYER_TAR,
            digest_of(layer)
        );
        let index = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{MEDIA_MANIFEST}","digest":"{}","size":{}}}]}}"#,
            digest_of(manifest.as_bytes()),
            manifest.len()
        );
        let name = |b: &[u8]| format!("blobs/sha256/{}", &digest_of(b)[7..]);
        let src = tar_of(
            d.path(),
            "size.tar",
            &[
                ("index.json", index.as_bytes()),
                (&name(manifest.as_bytes()), manifest.as_bytes()),
                (&name(&config), &config),
                (&name(layer), layer),
            ],
        );
        let e = read_pushable(&src, &Limits::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{} is 1536 bytes, but the manifest says 9", name(layer))
        );
        // Without the layer: refused by its name.
        let src = tar_of(
            d.path(),
            "missing.tar",
            &[
                ("index.json", index.as_bytes()),
                (&name(manifest.as_bytes()), manifest.as_bytes()),
                (&name(&config), &config),
            ],
        );
        let e = read_pushable(&src, &Limits::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "the image names '{}', which is not in it (an incomplete save?)",
                name(layer)
            )
        );
    }

    #[test]
    fn a_stream_is_spooled_to_a_private_file() {
        let (dir, path) = spool(&mut &b"abc"[..], &Limits::default()).unwrap();
        assert_eq!(fs_read(&path), b"abc");
        assert!(path.starts_with(dir.path()));
        let small = Limits {
            max_stream: 2,
            ..Limits::default()
        };
        let e = spool(&mut &b"abc"[..], &small).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the archive on the stream is more than 2 bytes: refusing to read further"
        );
    }

    fn fs_read(p: &Path) -> Vec<u8> {
        std::fs::read(p).unwrap()
    }

    #[test]
    fn oci_archive_keeps_its_manifest() {
        for name in ["arm64-static-oci.tar", "arm64-static-docker.tar"] {
            let (p, spool) = read_pushable(&fixture(name), &Limits::default()).unwrap();
            assert!(spool.is_none());
            assert!(p.index.is_none());
            assert_eq!(p.manifests.len(), 1, "{name}");
            let m = &p.manifests[0];
            assert_eq!(m.platform.as_deref(), Some("linux/arm64/v8"));
            assert_eq!(m.media_type, MEDIA_MANIFEST);
            assert_eq!(
                digest_of(&m.bytes),
                "sha256:fe657270e265d58c5e2ecd57248a404dd1f53398a0ab8d7e0800c881cd4000ce"
            );
            let blobs: Vec<(&str, u64)> = p
                .blobs
                .iter()
                .map(|b| (b.digest.as_str(), b.size))
                .collect();
            assert_eq!(
                blobs,
                [
                    (
                        "sha256:a7bde03e6c9bd66a0c3577f662caa20b272e352f5a548130d592daf22c0c4375",
                        465
                    ),
                    (
                        "sha256:a12da1aa3218bdedd1ab9a94b71166f198b0cc3f39e25b1fbbd7580473418fce",
                        833
                    )
                ]
            );
        }
    }
}
