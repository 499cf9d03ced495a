//! CycloneDX 1.6 JSON.
//!
//! The programs are top-level components (`application`); Go modules, the Go standard
//! library, crates and library files are `library` components, and a Debian package holds its
//! library files as nested components. `dependencies` gives each component's edges. The
//! `serialNumber` is a name-based UUID of [`Document::id`] ([`super::uuid_from_sha256`]).

use serde_json::{Value, json};

use super::{Document, EdgeKind, Kind, TOOL, rfc3339};

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
    let write = |i: usize| -> Value {
        let c = &doc.components[i];
        let mut v = json!({
            "bom-ref": refs[i],
            "type": if c.kind == Kind::Program { "application" } else { "library" },
            "name": c.name,
        });
        if let Some(ver) = &c.version {
            v["version"] = json!(ver);
        }
        if let Some(p) = &c.purl {
            v["purl"] = json!(p);
        }
        if let Some(s) = &c.sha256 {
            v["hashes"] = json!([{"alg": "SHA-256", "content": s}]);
        }
        let mut props: Vec<Value> = c
            .properties
            .iter()
            .map(|(k, val)| json!({"name": k, "value": val}))
            .collect();
        if let Some(f) = &c.file {
            props.insert(0, json!({"name": "binslim:file.path", "value": f}));
        }
        if !props.is_empty() {
            v["properties"] = Value::Array(props);
        }
        v
    };
    let mut components = Vec::new();
    for i in 0..doc.components.len() {
        if parent[i].is_some() {
            continue;
        }
        let mut v = write(i);
        let children: Vec<Value> = (0..doc.components.len())
            .filter(|&j| parent[j] == Some(i))
            .map(write)
            .collect();
        if !children.is_empty() {
            v["components"] = Value::Array(children);
        }
        components.push(v);
    }
    let dependencies: Vec<Value> = (0..doc.components.len())
        .map(|i| {
            let on: Vec<&String> = doc
                .targets(i, EdgeKind::DependsOn)
                .map(|t| &refs[t])
                .collect();
            json!({"ref": refs[i], "dependsOn": on})
        })
        .collect();
    let out = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{}", super::uuid_from_sha256(&doc.id)),
        "version": 1,
        "metadata": {
            "timestamp": rfc3339(doc.created),
            "tools": {"components": [{
                "type": "application",
                "name": "binslim",
                "version": TOOL.trim_start_matches("binslim-"),
            }]},
        },
        "components": components,
        "dependencies": dependencies,
    });
    let mut bytes = serde_json::to_vec_pretty(&out).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}
