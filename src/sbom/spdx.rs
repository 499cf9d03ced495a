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

use serde_json::{Value, json};

use super::{Document, EdgeKind, Kind, TOOL, rfc3339};

/// The document as pretty-printed JSON with a final newline.
pub fn render(doc: &Document) -> Vec<u8> {
    let ids = ids(doc);
    let created = rfc3339(doc.created);
    let packages: Vec<Value> = doc
        .components
        .iter()
        .zip(&ids)
        .map(|(c, id)| {
            let mut p = json!({
                "SPDXID": id,
                "name": c.name,
                "downloadLocation": "NOASSERTION",
                "filesAnalyzed": false,
                "primaryPackagePurpose": match c.kind {
                    Kind::Program => "APPLICATION",
                    Kind::Library | Kind::Loader | Kind::GoModule | Kind::GoStdlib
                    | Kind::Crate => "LIBRARY",
                    Kind::DebPackage => "OPERATING-SYSTEM",
                },
            });
            if let Some(v) = &c.version {
                p["versionInfo"] = json!(v);
            }
            if let Some(f) = &c.file {
                p["packageFileName"] = json!(f);
            }
            if let Some(s) = &c.sha256 {
                p["checksums"] = json!([{"algorithm": "SHA256", "checksumValue": s}]);
            }
            if let Some(purl) = &c.purl {
                p["externalRefs"] = json!([{
                    "referenceCategory": "PACKAGE-MANAGER",
                    "referenceType": "purl",
                    "referenceLocator": purl,
                }]);
            }
            if !c.properties.is_empty() {
                let notes: Vec<Value> = c
                    .properties
                    .iter()
                    .map(|(k, v)| {
                        json!({
                            "annotationDate": created,
                            "annotationType": "OTHER",
                            "annotator": format!("Tool: {TOOL}"),
                            "comment": format!("{k}: {v}"),
                        })
                    })
                    .collect();
                p["annotations"] = Value::Array(notes);
            }
            p
        })
        .collect();
    let mut rels: Vec<Value> = doc
        .programs
        .iter()
        .map(|&p| {
            json!({
                "spdxElementId": "SPDXRef-DOCUMENT",
                "relationshipType": "DESCRIBES",
                "relatedSpdxElement": ids[p],
            })
        })
        .collect();
    for &(from, kind, to) in &doc.edges {
        rels.push(json!({
            "spdxElementId": ids[from],
            "relationshipType": match kind {
                EdgeKind::DependsOn => "DEPENDS_ON",
                EdgeKind::Contains => "CONTAINS",
            },
            "relatedSpdxElement": ids[to],
        }));
    }
    let name = doc.name();
    let out = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": name,
        "documentNamespace": format!(
            "https://binslim.invalid/spdx/{}-{}",
            name.replace(|c: char| !c.is_ascii_alphanumeric() && c != '.' && c != '_', "-"),
            doc.id
        ),
        "creationInfo": {
            "created": created,
            "creators": [format!("Tool: {TOOL}")],
        },
        "packages": packages,
        "relationships": rels,
    });
    let mut bytes = serde_json::to_vec_pretty(&out).unwrap_or_default();
    bytes.push(b'\n');
    bytes
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
