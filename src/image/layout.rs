//! The on-disk forms of a built image: docker-archive (hybrid) tar, oci-archive tar and OCI
//! layout directory. All three hold the same OCI layout (`oci-layout`, `index.json`,
//! `blobs/sha256/<hex>`); the docker form adds the `manifest.json` that `docker load` reads,
//! pointing at the same blobs, as `docker save` writes it since Docker 25.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::Path;

use tar::{EntryType, Header};

use super::spec::{
    ANNOTATION_REF_NAME, Descriptor, DockerManifestEntry, Index, MEDIA_INDEX, MEDIA_MANIFEST,
    OCI_LAYOUT,
};

/// Which on-disk form to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// One tar for `docker load`, `podman load` and `skopeo docker-archive:` (an OCI layout plus
    /// `manifest.json`).
    Docker,
    /// An oci-archive tar (`skopeo oci-archive:`, `podman load`).
    Oci,
    /// An OCI layout directory (`skopeo oci:DIR:REF`, `umoci`).
    OciDir,
}

impl OutputFormat {
    /// The name used in `--format` and the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Docker => "docker",
            OutputFormat::Oci => "oci",
            OutputFormat::OciDir => "oci-dir",
        }
    }
}

/// The blobs and names of one single-layer image, ready to be written.
#[derive(Debug, Clone)]
pub struct Blobs {
    /// The config JSON.
    pub config: Vec<u8>,
    /// The manifest JSON.
    pub manifest: Vec<u8>,
    /// The gzip layer.
    pub layer: Vec<u8>,
    /// `sha256:` of each, in the order config, manifest, layer.
    pub digests: [String; 3],
    /// The reference, `name:tag`.
    pub reference: String,
}

/// The blobs and names of a multi-platform image: one single-layer image per platform and
/// the image index over them, ready to be written.
#[derive(Debug, Clone)]
pub struct IndexBlobs {
    /// The image of each platform, in the index's order (their `reference` is unused).
    pub images: Vec<Blobs>,
    /// The image index JSON (`application/vnd.oci.image.index.v1+json`).
    pub index: Vec<u8>,
    /// `sha256:` of `index`.
    pub digest: String,
    /// The reference, `name:tag`.
    pub reference: String,
}

/// An OCI 1.1 artifact that refers to the image (an SBOM): its manifest (with `artifactType`
/// and `subject`) and the blobs it names (the empty config `{}` and the document), ready to
/// be written beside the image. `index.json` lists it without a ref name, so whatever picks
/// an image by name (`skopeo oci:DIR:TAG`) still finds only the image.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// The artifact type (`application/spdx+json`).
    pub artifact_type: String,
    /// The manifest JSON.
    pub manifest: Vec<u8>,
    /// `sha256:` of `manifest`.
    pub digest: String,
    /// `(sha256:<hex>, bytes)` of each blob the manifest names.
    pub blobs: Vec<(String, Vec<u8>)>,
}

/// What a layout holds: one image, or a multi-platform index of images.
#[derive(Debug, Clone, Copy)]
pub enum Layout<'a> {
    /// One image: `index.json` names its manifest.
    Image(&'a Blobs),
    /// An image index: `index.json` names it, as `skopeo copy --multi-arch all` writes it.
    Index(&'a IndexBlobs),
}

impl<'a> From<&'a Blobs> for Layout<'a> {
    fn from(b: &'a Blobs) -> Self {
        Layout::Image(b)
    }
}

impl<'a> From<&'a IndexBlobs> for Layout<'a> {
    fn from(b: &'a IndexBlobs) -> Self {
        Layout::Index(b)
    }
}

fn blob_path(d: &str) -> String {
    format!("blobs/sha256/{}", d.trim_start_matches("sha256:"))
}

/// Puts the config, manifest and layer of `b` among the blobs.
fn put_image<'a>(out: &mut BTreeMap<String, Cow<'a, [u8]>>, b: &'a Blobs) {
    out.insert(blob_path(&b.digests[0]), Cow::Borrowed(&b.config));
    out.insert(blob_path(&b.digests[1]), Cow::Borrowed(&b.manifest));
    out.insert(blob_path(&b.digests[2]), Cow::Borrowed(&b.layer));
}

/// The files of the layout in tar order (sorted by path), with their bytes: the blobs borrowed
/// (the layers are the largest things binslim holds), the small JSON documents made here. A
/// blob shared by several platforms is written once. The docker form (`manifest.json`) holds
/// one image only.
///
/// `referrers` are listed in `index.json` after the image (no ref name) with their blobs,
/// except in the oci-archive form: `podman load` and `skopeo copy oci-archive:FILE` (no name)
/// of containers/image 5.23 refuse an archive whose `index.json` lists more than one manifest
/// ("more than one image in oci, choose an image"). The docker form keeps them: `podman load`
/// then reads its `manifest.json`, and `docker load` does too.
fn files<'a>(
    l: Layout<'a>,
    referrers: &'a [Artifact],
    format: OutputFormat,
) -> Vec<(String, Cow<'a, [u8]>)> {
    let mut out: BTreeMap<String, Cow<'_, [u8]>> = BTreeMap::new();
    let (media_type, digest, size, reference) = match l {
        Layout::Image(b) => {
            put_image(&mut out, b);
            (
                MEDIA_MANIFEST,
                &b.digests[1],
                b.manifest.len(),
                &b.reference,
            )
        }
        Layout::Index(ix) => {
            for b in &ix.images {
                put_image(&mut out, b);
            }
            out.insert(blob_path(&ix.digest), Cow::Borrowed(&ix.index));
            (MEDIA_INDEX, &ix.digest, ix.index.len(), &ix.reference)
        }
    };
    let mut annotations = BTreeMap::new();
    annotations.insert(ANNOTATION_REF_NAME.to_string(), reference.clone());
    let docker = match l {
        Layout::Image(b) if format == OutputFormat::Docker => Some(b),
        _ => None,
    };
    if docker.is_some() {
        annotations.insert(
            "io.containerd.image.name".to_string(),
            docker_full_name(reference),
        );
    }
    let mut manifests = vec![Descriptor {
        media_type: media_type.into(),
        digest: digest.clone(),
        size: size as u64,
        platform: None,
        artifact_type: None,
        annotations,
    }];
    if holds_referrers(l, format) {
        for a in referrers {
            for (d, bytes) in &a.blobs {
                out.insert(blob_path(d), Cow::Borrowed(bytes));
            }
            out.insert(blob_path(&a.digest), Cow::Borrowed(&a.manifest));
            manifests.push(Descriptor {
                media_type: MEDIA_MANIFEST.into(),
                digest: a.digest.clone(),
                size: a.manifest.len() as u64,
                platform: None,
                artifact_type: Some(a.artifact_type.clone()),
                annotations: BTreeMap::new(),
            });
        }
    }
    let index = Index {
        schema_version: 2,
        media_type: Some(MEDIA_INDEX.into()),
        manifests,
        annotations: BTreeMap::new(),
    };
    out.insert(
        "index.json".into(),
        Cow::Owned(serde_json::to_vec(&index).expect("index serializes")),
    );
    out.insert("oci-layout".into(), Cow::Borrowed(OCI_LAYOUT.as_bytes()));
    if let Some(b) = docker {
        let entry = DockerManifestEntry {
            config: blob_path(&b.digests[0]),
            repo_tags: Some(vec![b.reference.clone()]),
            layers: vec![blob_path(&b.digests[2])],
        };
        out.insert(
            "manifest.json".into(),
            Cow::Owned(serde_json::to_vec(&[entry]).expect("manifest.json serializes")),
        );
    }
    out.into_iter().collect()
}

/// Whether the form of `l` written as `format` lists referrers ([`files`]): an OCI layout
/// directory, and the docker form of one image; not an oci-archive (nor the oci-archive a
/// multi-platform index is written as in the docker form).
pub fn holds_referrers(l: Layout<'_>, format: OutputFormat) -> bool {
    match format {
        OutputFormat::OciDir => true,
        OutputFormat::Docker => matches!(l, Layout::Image(_)),
        OutputFormat::Oci => false,
    }
}

/// `name:tag` as Docker's containerd store names it (`docker.io/library/name:tag`).
fn docker_full_name(reference: &str) -> String {
    let first = reference.split('/').next().unwrap_or("");
    if !reference.contains('/') {
        format!("docker.io/library/{reference}")
    } else if first.contains(['.', ':']) || first == "localhost" {
        reference.to_string()
    } else {
        format!("docker.io/{reference}")
    }
}

/// Writes the docker or oci archive tar of `l` to `w` (every entry's mtime `mtime`), with
/// `referrers` in the docker form. An index is written as an oci archive whatever `format`
/// says: `docker load` cannot read one.
pub fn write_archive<'a, W: Write>(
    w: W,
    l: impl Into<Layout<'a>>,
    referrers: &'a [Artifact],
    format: OutputFormat,
    mtime: u64,
) -> io::Result<W> {
    let l = l.into();
    let mut builder = tar::Builder::new(w);
    let header = |kind: EntryType, mode: u32, size: u64| {
        let mut h = Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(mtime);
        h.set_size(size);
        h
    };
    for dir in ["blobs/", "blobs/sha256/"] {
        builder.append_data(
            &mut header(EntryType::Directory, 0o755, 0),
            dir,
            io::empty(),
        )?;
    }
    for (path, data) in files(l, referrers, format) {
        let mut h = header(EntryType::Regular, 0o644, data.len() as u64);
        builder.append_data(&mut h, path, &*data)?;
    }
    builder.into_inner()
}

/// Writes the OCI layout of `l` and its `referrers` into the existing empty directory `dir`,
/// every file and directory synced (the caller renames `dir` over an old layout, which is then
/// removed).
pub fn write_dir<'a>(
    dir: &Path,
    l: impl Into<Layout<'a>>,
    referrers: &'a [Artifact],
) -> io::Result<()> {
    fs::create_dir_all(dir.join("blobs/sha256"))?;
    for (path, data) in files(l.into(), referrers, OutputFormat::OciDir) {
        let mut f = fs::File::create(dir.join(path))?;
        f.write_all(&data)?;
        f.sync_all()?;
    }
    for d in ["blobs/sha256", "blobs", "."] {
        crate::tempfiles::sync_dir(&dir.join(d))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_names() {
        assert_eq!(docker_full_name("app:1"), "docker.io/library/app:1");
        assert_eq!(docker_full_name("me/app:1"), "docker.io/me/app:1");
        assert_eq!(docker_full_name("ghcr.io/me/app:1"), "ghcr.io/me/app:1");
        assert_eq!(docker_full_name("localhost/app:1"), "localhost/app:1");
    }
}
