//! A remote image into a temporary OCI layout, so that the image reader reads it exactly as it
//! reads an archive (the verdict of `verify --image docker://REF` is by construction the one of
//! the same image saved to a file).
//!
//! What is fetched: the manifest (or index) the reference names, every image manifest under
//! it and their configs (small documents), and the layers of the images the reader will read —
//! those of the best platform for `--platform` by the reader's own rule, or every image without
//! it. Layers of other platforms are never downloaded, nor docker's well-known empty layer
//! (its 32 bytes are written from its digest). Every blob is streamed to disk, its
//! digest and length checked as it arrives; nothing is held whole in memory.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::image::read::platform_rank;
use crate::image::spec::{self, Descriptor, Index, Manifest};
use crate::tempfiles::PrivateDir;

use super::client::Client;
use super::error::{RegistryError, Step};
use super::reference::Reference;

/// Indexes nested deeper than this are not followed (the reader's own bound).
const MAX_DEPTH: usize = 4;
/// Tries of one blob download when the connection breaks in the middle.
const BLOB_TRIES: u32 = 3;

/// The layer docker has pushed for "no change" since schema 1: a gzip of an empty tar (two
/// zero blocks), always these 32 bytes.
const EMPTY_LAYER: (&str, [u8; 32]) = (
    "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4",
    [
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x09, 0x6e, 0x88, 0x00, 0xff, 0x62, 0x18, 0x05, 0xa3, 0x60,
        0x14, 0x8c, 0x58, 0x00, 0x08, 0x00, 0x00, 0xff, 0xff, 0x2e, 0xaf, 0xb5, 0xef, 0x00, 0x04,
        0x00, 0x00,
    ],
);

/// A remote image as a temporary OCI layout (removed on drop).
#[derive(Debug)]
pub struct Pulled {
    dir: PrivateDir,
    /// How many layers were downloaded.
    pub layers_fetched: usize,
    /// How many layers of the image were not (other platforms').
    pub layers_skipped: usize,
    /// How many layers were known empty by their digest and written without a download.
    pub layers_known_empty: usize,
}

impl Pulled {
    /// The layout directory (`oci-layout`, `index.json`, `blobs/sha256/...`).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// One image manifest found under the reference.
struct Found {
    manifest: Manifest,
    /// `os/arch[/variant]` of its config.
    platform: String,
}

/// Pulls `reference` into a temporary OCI layout: all of it, or with `platform` only the
/// layers of the images that serve that platform best.
pub fn pull(
    client: &Client,
    reference: &Reference,
    platform: Option<&str>,
) -> Result<Pulled, RegistryError> {
    let registry = &reference.registry;
    let repo = &reference.repository;
    let io_err = |path: &Path, source| RegistryError::Io {
        registry: registry.clone(),
        step: Step::Pull,
        path: path.to_path_buf(),
        source,
    };
    let dir = PrivateDir::new("binslim-pull-").map_err(|e| io_err(Path::new("$TMPDIR"), e))?;
    let blobs = dir.path().join("blobs/sha256");
    fs::create_dir_all(&blobs).map_err(|e| io_err(&blobs, e))?;
    let top = client.get_manifest(repo, reference.reference())?;
    write_file(
        &blob_path(dir.path(), &top.digest).unwrap_or_default(),
        &top.bytes,
    )
    .map_err(|(p, e)| io_err(&p, e))?;
    let mut found = Vec::new();
    collect(
        client,
        reference,
        dir.path(),
        &top.media_type,
        &top.bytes,
        &top.digest,
        0,
        &mut found,
    )?;
    for f in &mut found {
        f.platform = fetch_config(client, reference, dir.path(), &f.manifest.config)?;
    }
    let best = platform.and_then(|want| {
        found
            .iter()
            .filter_map(|f| platform_rank(want, &f.platform))
            .min()
    });
    let (mut fetched, mut skipped, mut known) = (0, 0, 0);
    for f in &found {
        let chosen = match platform {
            None => true,
            Some(want) => best.is_some() && platform_rank(want, &f.platform) == best,
        };
        for layer in &f.manifest.layers {
            let Some(path) = blob_path(dir.path(), &layer.digest) else {
                continue; // the reader names the unsupported digest
            };
            if !chosen {
                skipped += 1;
            } else if layer.digest == EMPTY_LAYER.0 {
                if !path.exists() {
                    write_file(&path, &EMPTY_LAYER.1).map_err(|(p, e)| io_err(&p, e))?;
                }
                known += 1;
            } else if !path.exists() {
                fetch_blob(client, reference, layer, &path)?;
                fetched += 1;
            }
        }
    }
    let index = Index {
        schema_version: 2,
        media_type: Some(spec::MEDIA_INDEX.to_string()),
        manifests: vec![Descriptor {
            media_type: top.media_type.clone(),
            digest: top.digest.clone(),
            size: top.bytes.len() as u64,
            platform: None,
            artifact_type: None,
            annotations: Default::default(),
        }],
        annotations: Default::default(),
    };
    let index = serde_json::to_vec(&index).expect("an index serializes");
    for (name, bytes) in [
        ("oci-layout", spec::OCI_LAYOUT.as_bytes()),
        ("index.json", &index[..]),
    ] {
        write_file(&dir.path().join(name), bytes).map_err(|(p, e)| io_err(&p, e))?;
    }
    Ok(Pulled {
        dir,
        layers_fetched: fetched,
        layers_skipped: skipped,
        layers_known_empty: known,
    })
}

/// Walks a manifest or index document: stores every manifest and index under it, and lists
/// the image manifests (attestations, `unknown/unknown`, skipped as the reader skips them).
#[allow(clippy::too_many_arguments)]
fn collect(
    client: &Client,
    reference: &Reference,
    layout: &Path,
    media_type: &str,
    bytes: &[u8],
    what: &str,
    depth: usize,
    found: &mut Vec<Found>,
) -> Result<(), RegistryError> {
    let json_err = |source| RegistryError::Json {
        registry: reference.registry.clone(),
        step: Step::Pull,
        what: format!("the document {what}"),
        source,
    };
    match media_type {
        spec::MEDIA_INDEX | spec::MEDIA_DOCKER_LIST => {
            if depth >= MAX_DEPTH {
                return Ok(()); // the reader reports the depth
            }
            let index: Index = serde_json::from_slice(bytes).map_err(json_err)?;
            for d in &index.manifests {
                if d.platform.as_ref().is_some_and(|p| p.os == "unknown") {
                    continue;
                }
                let known = matches!(
                    d.media_type.as_str(),
                    spec::MEDIA_INDEX
                        | spec::MEDIA_DOCKER_LIST
                        | spec::MEDIA_MANIFEST
                        | spec::MEDIA_DOCKER_MANIFEST
                );
                let Some(path) = blob_path(layout, &d.digest).filter(|_| known) else {
                    continue; // the reader names what it cannot read
                };
                if path.exists() {
                    continue;
                }
                let sub = client.get_manifest(&reference.repository, &d.digest)?;
                write_file(&path, &sub.bytes).map_err(|(path, source)| RegistryError::Io {
                    registry: reference.registry.clone(),
                    step: Step::Pull,
                    path,
                    source,
                })?;
                collect(
                    client,
                    reference,
                    layout,
                    &d.media_type,
                    &sub.bytes,
                    &d.digest,
                    depth + 1,
                    found,
                )?;
            }
        }
        spec::MEDIA_MANIFEST | spec::MEDIA_DOCKER_MANIFEST => {
            let manifest: Manifest = serde_json::from_slice(bytes).map_err(json_err)?;
            found.push(Found {
                manifest,
                platform: String::new(),
            });
        }
        _ => {} // the reader reports a document that is not a manifest
    }
    Ok(())
}

/// Downloads a config and returns its `os/arch[/variant]`, as the reader names platforms.
fn fetch_config(
    client: &Client,
    reference: &Reference,
    layout: &Path,
    d: &Descriptor,
) -> Result<String, RegistryError> {
    let Some(path) = blob_path(layout, &d.digest) else {
        return Ok(String::new());
    };
    if !path.exists() {
        fetch_blob(client, reference, d, &path)?;
    }
    #[derive(serde::Deserialize)]
    struct Platform {
        #[serde(default)]
        os: String,
        #[serde(default)]
        architecture: String,
        #[serde(default)]
        variant: Option<String>,
    }
    let file = File::open(&path).map_err(|source| RegistryError::Io {
        registry: reference.registry.clone(),
        step: Step::Pull,
        path: path.clone(),
        source,
    })?;
    let Ok(p) = serde_json::from_reader::<_, Platform>(io::BufReader::new(file)) else {
        return Ok(String::new()); // the reader reports a config that does not parse
    };
    let mut name = format!("{}/{}", p.os, p.architecture);
    if let Some(v) = p.variant.filter(|v| !v.is_empty()) {
        name.push('/');
        name.push_str(&v);
    }
    Ok(name)
}

/// Streams one blob to `path`, checked against the descriptor's digest and size; retried from
/// the start when the connection breaks in the middle.
fn fetch_blob(
    client: &Client,
    reference: &Reference,
    d: &Descriptor,
    path: &Path,
) -> Result<(), RegistryError> {
    let repo = &reference.repository;
    let io_err = |source| RegistryError::Io {
        registry: reference.registry.clone(),
        step: Step::Pull,
        path: path.to_path_buf(),
        source,
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut body = client.get_blob(repo, &d.digest)?;
        let file = File::create(path).map_err(io_err)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let copied = io::copy(&mut body, &mut out).and_then(|n| out.flush().map(|_| n));
        match copied {
            Ok(n) if n == d.size => return Ok(()),
            Ok(n) => {
                return Err(RegistryError::LengthMismatch {
                    registry: reference.registry.clone(),
                    step: Step::Pull,
                    what: format!("blob {} in {repo}", d.digest),
                    expected: d.size,
                    actual: n,
                });
            }
            Err(e) => {
                let e = match e.into_inner().map(|i| i.downcast::<RegistryError>()) {
                    Some(Ok(reg)) => return Err(*reg),
                    Some(Err(other)) => io::Error::other(other),
                    None => io::Error::from(io::ErrorKind::Other),
                };
                if attempt >= BLOB_TRIES {
                    return Err(io_err(e));
                }
            }
        }
    }
}

/// `LAYOUT/blobs/sha256/<hex>` for a sha256 digest; `None` for any other.
fn blob_path(layout: &Path, digest: &str) -> Option<PathBuf> {
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    .then(|| layout.join("blobs/sha256").join(hex))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), (PathBuf, io::Error)> {
    fs::write(path, bytes).map_err(|e| (path.to_path_buf(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_empty_layer_is_its_digest() {
        assert_eq!(spec::digest_of(&EMPTY_LAYER.1), EMPTY_LAYER.0);
        let mut tar = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&EMPTY_LAYER.1[..]),
            &mut tar,
        )
        .unwrap();
        assert_eq!(tar, vec![0u8; 1024]);
    }
}
