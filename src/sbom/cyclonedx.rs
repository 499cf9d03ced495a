//! CycloneDX 1.6 JSON.
//!
//! The programs are top-level components (`application`); Go modules, the Go standard
//! library, crates and library files are `library` components, and a Debian package holds its
//! library files as nested components. `dependencies` gives each component's edges. The
//! `serialNumber` is a name-based UUID of [`Document::id`] ([`super::uuid_from_sha256`]).

use serde::Serialize;

use super::{Document, EdgeKind, Kind};
use crate::units::rfc3339;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Bom<'a> {
    bom_format: &'static str,
    spec_version: &'static str,
    serial_number: String,
    version: u32,
    metadata: Metadata,
    components: Vec<Component<'a>>,
    dependencies: Vec<Dependency<'a>>,
}

#[derive(Serialize)]
struct Metadata {
    timestamp: String,
    tools: Tools,
}

#[derive(Serialize)]
struct Tools {
    components: [Tool; 1],
}

#[derive(Serialize)]
struct Tool {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Component<'a> {
    #[serde(rename = "bom-ref")]
    bom_ref: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<Hash<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    components: Vec<Component<'a>>,
}

#[derive(Serialize)]
struct Hash<'a> {
    alg: &'static str,
    content: &'a str,
}

#[derive(Serialize)]
struct Property<'a> {
    name: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Dependency<'a> {
    #[serde(rename = "ref")]
    bom_ref: &'a str,
    depends_on: Vec<&'a str>,
}

/// The document as pretty-printed JSON with a final newline.
pub fn render(doc: &Document) -> Vec<u8> {
    let refs: Vec<String> = doc
        .components
        .iter()
        .enumerate()
        .map(|(i, c)| match &c.purl {
            Some(p) if c.kind != Kind::Program => format!("{p}#{i}"),
            _ => format!("{}:{}#{i}", c.kind.as_str().to_lowercase(), c.name),
        })
        .collect();
    // A component some Debian package contains is written inside that package.
    let mut parent: Vec<Option<usize>> = vec![None; doc.components.len()];
    for &(from, kind, to) in &doc.edges {
        if kind == EdgeKind::Contains && parent[to].is_none() {
            parent[to] = Some(from);
        }
    }
    let write = |i: usize| -> Component<'_> {
        let c = &doc.components[i];
        let file = c.file.as_deref().map(|f| Property {
            name: "binslim:file.path",
            value: f,
        });
        Component {
            bom_ref: &refs[i],
            kind: if c.kind == Kind::Program {
                "application"
            } else {
                "library"
            },
            name: &c.name,
            version: c.version.as_deref(),
            purl: c.purl.as_deref(),
            hashes: c
                .sha256
                .iter()
                .map(|s| Hash {
                    alg: "SHA-256",
                    content: s,
                })
                .collect(),
            properties: file
                .into_iter()
                .chain(
                    c.properties
                        .iter()
                        .map(|(k, v)| Property { name: k, value: v }),
                )
                .collect(),
            components: Vec::new(),
        }
    };
    let components = (0..doc.components.len())
        .filter(|&i| parent[i].is_none())
        .map(|i| {
            let mut c = write(i);
            c.components = (0..doc.components.len())
                .filter(|&j| parent[j] == Some(i))
                .map(write)
                .collect();
            c
        })
        .collect();
    let dependencies = (0..doc.components.len())
        .map(|i| Dependency {
            bom_ref: &refs[i],
            depends_on: doc
                .targets(i, EdgeKind::DependsOn)
                .map(|t| refs[t].as_str())
                .collect(),
        })
        .collect();
    let bom = Bom {
        bom_format: "CycloneDX",
        spec_version: "1.6",
        serial_number: format!("urn:uuid:{}", super::uuid_from_sha256(&doc.id)),
        version: 1,
        metadata: Metadata {
            timestamp: rfc3339(doc.created),
            tools: Tools {
                components: [Tool {
                    kind: "application",
                    name: "binslim",
                    version: env!("CARGO_PKG_VERSION"),
                }],
            },
        },
        components,
        dependencies,
    };
    super::to_json(&bom)
}
