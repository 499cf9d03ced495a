//! A [`Pushable`] to a repository, in the order that keeps the registry consistent at every
//! moment: the ping, then every blob (a `HEAD` first: one the repository has is not uploaded
//! again), then each platform manifest by its digest, and last the index (or the one manifest)
//! under the tag. A manifest is never pushed before all the blobs it names are in, and an index
//! never before its manifests; a failure stops the push at the step it happened in.
//!
//! Referrers (an SBOM artifact whose `subject` is the image) come after the tag: each is PUT by
//! its digest; a registry with the OCI 1.1 referrers API answers with `OCI-Subject` and lists
//! it itself. Otherwise the referrers tag schema: the index at tag `sha256-<hex of the
//! subject>` is fetched (or begun), the artifact added unless it is listed already, and PUT.
//!
//! A local image does not say which repository of the registry may already hold its blobs:
//! with [`Options::mount_from`] (`--mount-from REPO`), a blob the repository lacks is first
//! mounted from those repositories (no bytes sent; a registry that cannot mount starts an
//! upload instead, which is dropped), and only uploaded when no mount took.

use super::client::{Client, Options};
use super::error::{RegistryError, Step};
use super::reference::Reference;
use super::{BlobReport, Document, ManifestReport, PushReport, Pushable, ReferrerReport};
use crate::image::spec::{Descriptor, Index, MEDIA_INDEX, MEDIA_MANIFEST, Manifest, digest_of};

/// Pushes `image` to `to` (its repository, under its tag, or under its digest when it names
/// one: the image's top document must then have that digest). Returns what was done; the
/// report's digest is the one the tag now names, which the registry confirmed.
pub fn push(image: &Pushable, to: &Reference, opts: &Options) -> Result<PushReport, RegistryError> {
    let top = top_document(image, &to.registry)?;
    let top_digest = digest_of(&top.bytes);
    if let Some(d) = &to.digest
        && *d != top_digest
    {
        return Err(RegistryError::DigestMismatch {
            registry: to.registry.clone(),
            step: Step::Manifest,
            what: format!("the image pushed to {to} (the reference names a digest)"),
            expected: d.clone(),
            actual: top_digest,
        });
    }
    let client = Client::new(&to.registry, opts)?;
    client.ping()?;
    let repo = to.repository.as_str();
    let mut blobs = Vec::with_capacity(image.blobs.len());
    for blob in &image.blobs {
        let uploaded = if client.blob_exists(repo, &blob.digest)?
            || mounted(&client, repo, &blob.digest, &opts.mount_from)?
        {
            false
        } else {
            client.upload_blob(repo, blob)?;
            true
        };
        blobs.push(BlobReport {
            digest: blob.digest.clone(),
            size: blob.size,
            uploaded,
        });
    }
    let mut manifests = Vec::with_capacity(image.manifests.len());
    for m in &image.manifests {
        let digest = digest_of(&m.bytes);
        if image.index.is_some() {
            put_checked(&client, to, &digest, m, &digest)?;
        }
        manifests.push(ManifestReport {
            platform: m.platform.clone().unwrap_or_else(|| "index".into()),
            digest,
        });
    }
    put_checked(&client, to, to.reference(), top, &top_digest)?;
    let referrers = image
        .referrers
        .iter()
        .map(|r| push_referrer(&client, to, r))
        .collect::<Result<_, _>>()?;
    Ok(PushReport {
        reference: to.to_string(),
        digest: top_digest,
        blobs,
        manifests,
        referrers,
    })
}

/// Pushes the artifact `doc` by its digest, then, unless the registry said it indexed the
/// subject (`OCI-Subject`), adds it to the referrers tag schema's index.
fn push_referrer(
    client: &Client,
    to: &Reference,
    doc: &Document,
) -> Result<ReferrerReport, RegistryError> {
    let protocol = |detail| RegistryError::Protocol {
        registry: to.registry.clone(),
        step: Step::Manifest,
        detail,
    };
    let m: Manifest = serde_json::from_slice(&doc.bytes)
        .map_err(|_| protocol("a referrer to push is not an image manifest"))?;
    let subject = m
        .subject
        .as_ref()
        .ok_or_else(|| protocol("a referrer to push has no subject"))?;
    let artifact_type = m
        .artifact_type
        .clone()
        .unwrap_or_else(|| m.config.media_type.clone());
    let digest = digest_of(&doc.bytes);
    let (stored, answered) = client.put_manifest_subject(&to.repository, &digest, doc)?;
    if stored != digest {
        return Err(RegistryError::DigestMismatch {
            registry: to.registry.clone(),
            step: Step::Manifest,
            what: format!("manifest {}@{digest}", to.repository),
            expected: digest,
            actual: stored,
        });
    }
    if answered.is_some() {
        return Ok(ReferrerReport {
            artifact_type,
            digest,
            via: "referrers-api",
        });
    }
    let tag = subject.digest.replacen(':', "-", 1);
    let mut index = match client.get_manifest(&to.repository, &tag) {
        Ok(f) => serde_json::from_slice::<Index>(&f.bytes)
            .map_err(|_| protocol("the referrers tag names a document that is not an index"))?,
        Err(RegistryError::NotFound { .. }) => Index {
            schema_version: 2,
            media_type: Some(MEDIA_INDEX.into()),
            manifests: Vec::new(),
            annotations: Default::default(),
        },
        Err(e) => return Err(e),
    };
    if !index.manifests.iter().any(|d| d.digest == digest) {
        index.manifests.push(Descriptor {
            media_type: MEDIA_MANIFEST.into(),
            digest: digest.clone(),
            size: doc.bytes.len() as u64,
            platform: None,
            artifact_type: Some(artifact_type.clone()),
            annotations: m.annotations.clone(),
        });
        let bytes = serde_json::to_vec(&index).expect("index serializes");
        let list = Document {
            media_type: MEDIA_INDEX.into(),
            platform: None,
            bytes,
        };
        let list_digest = digest_of(&list.bytes);
        put_checked(client, to, &tag, &list, &list_digest)?;
    }
    Ok(ReferrerReport {
        artifact_type,
        digest,
        via: "tag-schema",
    })
}

/// Whether one of `from` (other repositories of the registry) lent `digest` to `repo`.
fn mounted(
    client: &Client,
    repo: &str,
    digest: &str,
    from: &[String],
) -> Result<bool, RegistryError> {
    for other in from.iter().filter(|f| f.as_str() != repo) {
        if client.mount_blob(repo, digest, other)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The document the tag names: the index, or the one manifest of an image without one.
fn top_document<'a>(image: &'a Pushable, registry: &str) -> Result<&'a Document, RegistryError> {
    match (&image.index, image.manifests.as_slice()) {
        (Some(index), _) => Ok(index),
        (None, [one]) => Ok(one),
        (None, _) => Err(RegistryError::Protocol {
            registry: registry.to_string(),
            step: Step::Manifest,
            detail: "the image has no index and not exactly one manifest",
        }),
    }
}

/// PUTs `doc` under `reference` and checks the digest the registry reports for it.
fn put_checked(
    client: &Client,
    to: &Reference,
    reference: &str,
    doc: &Document,
    digest: &str,
) -> Result<(), RegistryError> {
    let stored = client.put_manifest(&to.repository, reference, doc)?;
    if stored != digest {
        return Err(RegistryError::DigestMismatch {
            registry: to.registry.clone(),
            step: Step::Manifest,
            what: format!("manifest {}:{reference}", to.repository),
            expected: digest.to_string(),
            actual: stored,
        });
    }
    Ok(())
}
