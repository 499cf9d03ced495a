//! The shape of the crate, checked so that it stays: no two top-level modules of the library
//! depend on each other (directly or through others), and `report/` (the renderers) is used
//! only by the binary's front end (`cmd/`, `cli.rs`, `main.rs`), never by a module that
//! produces the data it renders.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// The binary's front end: argument parsing, calling the library, rendering.
const FRONT_END: [&str; 3] = ["cmd", "cli", "main"];

/// Top-level module → the top-level modules its files name as `crate::X` or `binslim::X`
/// (comments left out).
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(&src).unwrap();
            let first = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy();
            let module = first.trim_end_matches(".rs").to_string();
            let named = deps.entry(module.clone()).or_default();
            for line in fs::read_to_string(&path).unwrap().lines() {
                let code = line.split("//").next().unwrap_or("");
                for prefix in ["crate::", "binslim::"] {
                    for (i, _) in code.match_indices(prefix) {
                        let rest = &code[i + prefix.len()..];
                        let end = rest
                            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                            .unwrap_or(rest.len());
                        let target = &rest[..end];
                        if !target.is_empty() && target != module {
                            named.insert(target.to_string());
                        }
                    }
                }
            }
        }
    }
    deps
}

/// True when `to` can be reached from `from` along the dependencies.
fn reaches(deps: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_string()];
    while let Some(m) = todo.pop() {
        for n in deps.get(&m).into_iter().flatten() {
            if n == to {
                return true;
            }
            if seen.insert(n.clone()) {
                todo.push(n.clone());
            }
        }
    }
    false
}

#[test]
fn no_two_library_modules_depend_on_each_other() {
    let deps = dependencies();
    // The test sees the modules it must judge (else it could pass on an empty map).
    for m in [
        "verify", "image", "scratch", "strip", "shrink", "report", "resolve", "elf",
    ] {
        assert!(deps.contains_key(m), "module {m} not found under src/");
    }
    let cycles: Vec<(String, String)> = deps
        .iter()
        .filter(|(m, _)| !FRONT_END.contains(&m.as_str()))
        .flat_map(|(m, named)| named.iter().map(move |n| (m.clone(), n.clone())))
        .filter(|(m, n)| reaches(&deps, n, m))
        .collect();
    assert_eq!(cycles, Vec::<(String, String)>::new(), "module cycles");
}

#[test]
fn only_the_front_end_uses_the_renderers() {
    let deps = dependencies();
    let users: Vec<&String> = deps
        .iter()
        .filter(|(_, named)| named.contains("report"))
        .map(|(m, _)| m)
        .collect();
    assert!(
        !users.is_empty(),
        "nothing uses report/: the scan is broken"
    );
    for m in users {
        assert!(
            FRONT_END.contains(&m.as_str()),
            "{m} uses report/: renderers are for cmd/ only"
        );
    }
}
