//! SPDX 2.3 JSON.
//!
//! Every component is a package (`filesAnalyzed: false`; SPDX files need a SHA-1, packages
//! take the SHA-256 binslim computes). The document DESCRIBES each program; a program
//! DEPENDS_ON its Go modules, its root crate, its loader and libraries; a crate DEPENDS_ON its
//! dependencies; a Debian package CONTAINS its library files. Properties become annotations
//! (`NAME: VALUE`). `documentNamespace` is
//! `https://binslim.invalid/spdx/<names>-<Document::id>` (names with characters other than
//! letters, digits, `.` and `_` as `-`).

use std::collections::HashSet;

use serde::Serialize;

use super::{Document, EdgeKind, Kind, TOOL};
use crate::units::rfc3339;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Spdx<'a> {
    spdx_version: &'static str,
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdx_id: &'static str,
    name: String,
    document_namespace: String,
    creation_info: CreationInfo,
    packages: Vec<Package<'a>>,
    relationships: Vec<Relationship<'a>>,
}

#[derive(Serialize)]
struct CreationInfo {
    created: String,
    creators: [String; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Package<'a> {
    #[serde(rename = "SPDXID")]
    spdx_id: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_info: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    package_file_name: Option<&'a str>,
    download_location: &'static str,
    files_analyzed: bool,
    primary_package_purpose: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checksums: Vec<Checksum<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<ExternalRef<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    annotations: Vec<Annotation<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Checksum<'a> {
    algorithm: &'static str,
    checksum_value: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef<'a> {
    reference_category: &'static str,
    reference_type: &'static str,
    reference_locator: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Annotation<'a> {
    annotation_date: &'a str,
    annotation_type: &'static str,
    annotator: &'a str,
    comment: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Relationship<'a> {
    spdx_element_id: &'a str,
    relationship_type: &'static str,
    related_spdx_element: &'a str,
}

/// The document as pretty-printed JSON with a final newline.
pub fn render(doc: &Document) -> Vec<u8> {
    let ids = ids(doc);
    let created = rfc3339(doc.created);
    let annotator = format!("Tool: {TOOL}");
    let packages = doc
        .components
        .iter()
        .zip(&ids)
        .map(|(c, id)| Package {
            spdx_id: id,
            name: &c.name,
            version_info: c.version.as_deref(),
            package_file_name: c.file.as_deref(),
            download_location: "NOASSERTION",
            files_analyzed: false,
            primary_package_purpose: match c.kind {
                Kind::Program => "APPLICATION",
                Kind::DebPackage => "OPERATING-SYSTEM",
                _ => "LIBRARY",
            },
            checksums: c
                .sha256
                .iter()
                .map(|s| Checksum {
                    algorithm: "SHA256",
                    checksum_value: s,
                })
                .collect(),
            external_refs: c
                .purl
                .iter()
                .map(|p| ExternalRef {
                    reference_category: "PACKAGE-MANAGER",
                    reference_type: "purl",
                    reference_locator: p,
                })
                .collect(),
            annotations: c
                .properties
                .iter()
                .map(|(k, v)| Annotation {
                    annotation_date: &created,
                    annotation_type: "OTHER",
                    annotator: &annotator,
                    comment: format!("{k}: {v}"),
                })
                .collect(),
        })
        .collect();
    let describes = doc.programs.iter().map(|&p| Relationship {
        spdx_element_id: "SPDXRef-DOCUMENT",
        relationship_type: "DESCRIBES",
        related_spdx_element: &ids[p],
    });
    let edges = doc.edges.iter().map(|&(from, kind, to)| Relationship {
        spdx_element_id: &ids[from],
        relationship_type: match kind {
            EdgeKind::DependsOn => "DEPENDS_ON",
            EdgeKind::Contains => "CONTAINS",
        },
        related_spdx_element: &ids[to],
    });
    let name = doc.name();
    let safe = name.replace(
        |c: char| !c.is_ascii_alphanumeric() && c != '.' && c != '_',
        "-",
    );
    let out = Spdx {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdx_id: "SPDXRef-DOCUMENT",
        document_namespace: format!("https://binslim.invalid/spdx/{safe}-{}", doc.id),
        name,
        creation_info: CreationInfo {
            created: created.clone(),
            creators: [annotator.clone()],
        },
        packages,
        relationships: describes.chain(edges).collect(),
    };
    super::to_json(&out)
}

/// `SPDXRef-<Kind>-<name>-<version>` with every other character as `-`, numbered on a clash.
fn ids(doc: &Document) -> Vec<String> {
    let mut seen = HashSet::new();
    doc.components
        .iter()
        .map(|c| {
            let raw = format!(
                "{}-{}-{}",
                c.kind.as_str(),
                c.name,
                c.version.as_deref().unwrap_or("")
            );
            let clean: String = raw
                .chars()
                .map(|ch| {
                    if ch.is_ascii_alphanumeric() || ch == '.' {
                        ch
                    } else {
                        '-'
                    }
                })
                .collect();
            let base = format!("SPDXRef-{}", clean.trim_end_matches('-'));
            let mut id = base.clone();
            let mut n = 2;
            while !seen.insert(id.clone()) {
                id = format!("{base}-{n}");
                n += 1;
            }
            id
        })
        .collect()
}
