//! `binslim inspect --packages`: Rust crates and C functions checked against binutils' `nm`
//! (sizes summed per crate from `nm -S -C`), the `.text` invariant on real fixtures, the
//! stripped-Rust note, the JSON shape and snapshots of the table.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command as Std;

use common::{binslim, fixture, have_tool, stdout_of, tempdir};
use serde_json::Value;

/// Runs binslim, expecting exit 0, and returns stdout.
fn run_ok(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// `inspect --packages --json` of one file: its object.
fn packages_json(path: &Path) -> Value {
    let out = binslim()
        .args(["inspect", "--packages", "--json"])
        .arg(path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{path:?}: {out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v[0].clone()
}

/// `(address, size)` of `.text` as readelf prints it.
fn text_range(path: &Path) -> (u64, u64) {
    let out = stdout_of(Std::new("readelf").args(["-SW"]).arg(path));
    for line in out.lines() {
        let l = line.trim_start();
        let Some(rest) = l.split_once("] ").map(|(_, r)| r) else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.first() == Some(&".text") {
            let hex = |s: &str| u64::from_str_radix(s, 16).unwrap();
            return (hex(f[2]), hex(f[4]));
        }
    }
    panic!("no .text in {path:?}");
}

/// One sized symbol as nm prints it.
#[derive(Debug, Clone)]
struct NmSym {
    addr: u64,
    size: u64,
    kind: char,
    raw: String,
    demangled: String,
}

/// The sized symbols inside `.text`, pairing `nm -S -p` (raw) with `nm -S -p -C` (demangled):
/// `-p` keeps symbol-table order, so the lines correspond.
fn nm_text_symbols(path: &Path) -> Vec<NmSym> {
    let parse = |demangle: bool| -> Vec<(u64, u64, char, String)> {
        let mut cmd = Std::new("nm");
        cmd.args(["-S", "-p"]);
        if demangle {
            cmd.arg("-C");
        }
        stdout_of(cmd.arg(path))
            .lines()
            .filter_map(|l| {
                let mut it = l.splitn(4, ' ');
                let addr = u64::from_str_radix(it.next()?, 16).ok()?;
                let size = u64::from_str_radix(it.next()?, 16).ok()?;
                let kind = it.next()?.chars().next()?;
                Some((addr, size, kind, it.next()?.to_string()))
            })
            .collect()
    };
    let raw = parse(false);
    let dem = parse(true);
    assert_eq!(raw.len(), dem.len(), "nm and nm -C list the same symbols");
    let (start, size) = text_range(path);
    raw.into_iter()
        .zip(dem)
        .filter(|((a, s, k, _), _)| {
            "tTwWi".contains(*k) && *s > 0 && *a >= start && *a < start + size
        })
        .map(|((addr, size, kind, raw), (_, _, _, demangled))| NmSym {
            addr,
            size,
            kind,
            raw,
            demangled,
        })
        .collect()
}

/// Each `.text` byte once: at one address the largest symbol; an overlapping later symbol
/// owns only what extends past the previous ones.
fn owned_bytes(mut syms: Vec<NmSym>, text_end: u64) -> Vec<(NmSym, u64)> {
    // Stable: callers that care which alias wins order aliases first.
    syms.sort_by(|a, b| a.addr.cmp(&b.addr).then(b.size.cmp(&a.size)));
    let mut cursor = 0;
    let mut out = Vec::new();
    for s in syms {
        let end = (s.addr + s.size).min(text_end);
        let start = s.addr.max(cursor);
        if end > start {
            cursor = end;
            out.push((s, end - start));
        }
    }
    out
}

/// The crate of a demangled Rust name, as the README documents it, written independently of
/// binslim's parser: drop glue goes to the dropped type; `<T as Trait>` to T's crate, or the
/// trait's when T is a primitive; else the first path segment.
fn crate_of(demangled: &str) -> String {
    fn path_crate(s: &str) -> Option<String> {
        let s = s.trim_start_matches(|c: char| "<&*[( ".contains(c));
        let s = ["mut ", "const ", "dyn "]
            .iter()
            .fold(s, |s, p| s.strip_prefix(p).unwrap_or(s));
        let s = s.trim_start_matches(|c: char| "<&*[( ".contains(c));
        let ident: String = s
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        (!ident.is_empty() && s[ident.len()..].starts_with("::")).then_some(ident)
    }
    for glue in ["core::ptr::drop_in_place::<", "core::ptr::drop_in_place<"] {
        if let Some(t) = demangled.strip_prefix(glue) {
            return path_crate(t).unwrap_or_else(|| "core".into());
        }
    }
    if demangled.starts_with('<') {
        if let Some(c) = path_crate(demangled) {
            return c;
        }
        return demangled
            .split_once(" as ")
            .and_then(|(_, t)| path_crate(t))
            .unwrap_or_else(|| "core".into());
    }
    demangled.split("::").next().unwrap().to_string()
}

fn is_rust_mangled(raw: &str) -> bool {
    raw.starts_with("_R") || (raw.starts_with("_ZN") && raw.contains("17h"))
}

/// binslim's rows of a Rust program must equal nm's sizes summed per crate, row by row.
fn assert_crates_match_nm(path: &Path, expect_crates: &[&str]) {
    let (start, size) = text_range(path);
    let mut from_nm: BTreeMap<String, u64> = BTreeMap::new();
    for (s, owned) in owned_bytes(nm_text_symbols(path), start + size) {
        let name = if is_rust_mangled(&s.raw) {
            crate_of(&s.demangled)
        } else {
            "(unmangled symbols)".to_string()
        };
        *from_nm.entry(name).or_default() += owned;
    }
    let v = packages_json(path);
    let rows = v["packages"].as_array().unwrap();
    let mut from_binslim: BTreeMap<String, u64> = BTreeMap::new();
    let mut total = 0;
    for r in rows {
        let code = r["code"].as_u64().unwrap();
        total += code;
        if r["name"] != "(unattributed)" && code > 0 {
            from_binslim.insert(r["name"].as_str().unwrap().to_string(), code);
        }
    }
    assert_eq!(total, size, "{path:?}: rows sum to .text");
    assert_eq!(from_binslim, from_nm, "{path:?}: crates vs nm -S -C");
    for c in expect_crates {
        assert!(from_binslim.contains_key(*c), "{path:?}: crate {c}");
    }
}

/// rustc 1.95 mangles with v0 (`_R…`): std, core, alloc and the dependencies std links.
#[test]
fn rust_v0_crates_match_nm() {
    if !have_tool("nm") {
        return;
    }
    let path = fixture("rust-dynamic");
    assert_crates_match_nm(&path, &["std", "core", "alloc", "gimli", "main"]);
    // The largest crates, exactly (nm agrees, see above): a change here is a real change.
    let v = packages_json(&path);
    let top: Vec<(&str, &str, u64)> = v["packages"].as_array().unwrap()[..3]
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap(),
                r["language"].as_str().unwrap(),
                r["code"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        top,
        vec![
            ("std", "rust", 69_632),
            ("core", "rust", 58_395),
            ("gimli", "rust", 34_758)
        ]
    );
}

/// Legacy mangling (`_ZN…17h…E`), as older toolchains and `-C symbol-mangling-version=legacy`
/// write it, for a crate built here; std stays v0, so both manglings meet in one file.
#[test]
fn rust_legacy_crates_match_nm() {
    if !have_tool("nm") || !have_tool("rustc") {
        return;
    }
    let dir = tempdir();
    let src = dir.path().join("legacy.rs");
    std::fs::write(
        &src,
        "pub mod shapes {\n    #[inline(never)]\n    pub fn area(w: u64, h: u64) -> u64 { \
         w.wrapping_mul(h) ^ 0x5a5a }\n}\nfn main() {\n    let a: Vec<u64> = \
         std::env::args().map(|s| s.len() as u64).collect();\n    println!(\"{}\", \
         shapes::area(a[0], a.len() as u64));\n}\n",
    )
    .unwrap();
    let exe = dir.path().join("legacyapp");
    stdout_of(
        Std::new("rustc")
            .env("RUSTC_BOOTSTRAP", "1")
            .args([
                "-Z",
                "unstable-options",
                "-C",
                "symbol-mangling-version=legacy",
                "-C",
                "opt-level=s",
                "--crate-name",
                "legacyapp",
                "-o",
            ])
            .arg(&exe)
            .arg(&src),
    );
    let nm = stdout_of(Std::new("nm").arg(&exe));
    assert!(nm.contains(" _ZN9legacyapp6shapes4area17h"), "legacy names");
    assert_crates_match_nm(&exe, &["legacyapp", "std", "core"]);
}

/// `-C strip=symbols` leaves no `.symtab`: one remainder row of all of `.text` and a note.
#[test]
fn stripped_rust_gets_a_note() {
    let path = fixture("rust-static");
    let v = packages_json(&path);
    assert_eq!(
        v["packages"],
        serde_json::json!([{"name": "(unattributed)", "language": "unknown", "code": 825_160, "data": 0}])
    );
    let notes = v["package_notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0]
            .as_str()
            .unwrap()
            .starts_with("the Rust symbols are gone (stripped: no .symtab)"),
        "{notes:?}"
    );
    let text = run_ok(binslim().args(["inspect", "--packages", "testdata/rust-static"]));
    assert!(
        text.contains("note     the Rust symbols are gone"),
        "{text}"
    );
}

/// Every C function row is nm's: the owner of each `.text` byte, with symbols of one name
/// (static functions of several files) summed. Aliases are resolved as the README documents:
/// fewer leading underscores, then global (`T`), weak (`W`), local (`t`), then the name; nm
/// prints `i` for IFUNC symbols whatever their binding, so readelf tells those.
#[test]
fn c_functions_match_nm() {
    if !have_tool("nm") || !have_tool("readelf") {
        return;
    }
    for name in ["c-static", "musl-static", "i386-static", "c-dynamic-pie"] {
        let path = fixture(name);
        let (start, size) = text_range(&path);
        let ifunc_bind = readelf_ifunc_bindings(&path);
        let mut syms = nm_text_symbols(&path);
        // Resolve aliases: sort so the preferred name comes first at each address and size.
        let rank = |s: &NmSym| {
            let bind = match s.kind {
                'T' => 0,
                'W' | 'w' => 1,
                'i' => ifunc_bind[&(s.addr, s.raw.clone())],
                _ => 2,
            };
            let underscores = s.raw.len() - s.raw.trim_start_matches('_').len();
            (underscores, bind, s.raw.clone())
        };
        syms.sort_by_cached_key(|s| (s.addr, std::cmp::Reverse(s.size), rank(s)));
        let mut from_nm: BTreeMap<String, u64> = BTreeMap::new();
        for (s, owned) in owned_bytes(syms, start + size) {
            *from_nm.entry(s.raw).or_default() += owned;
        }
        let v = packages_json(&path);
        let rows = v["packages"].as_array().unwrap();
        let total: u64 = rows.iter().map(|r| r["code"].as_u64().unwrap()).sum();
        assert_eq!(total, size, "{name}: rows sum to .text");
        let from_binslim: BTreeMap<String, u64> = rows
            .iter()
            .filter(|r| r["name"] != "(unattributed)" && r["code"].as_u64().unwrap() > 0)
            .map(|r| {
                assert_eq!(r["language"], "c");
                (
                    r["name"].as_str().unwrap().to_string(),
                    r["code"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(from_binslim, from_nm, "{name}: functions vs nm -S");
    }
}

/// (address, name) → 0 for global, 1 for weak, 2 for local, of each IFUNC symbol.
fn readelf_ifunc_bindings(path: &Path) -> BTreeMap<(u64, String), u8> {
    stdout_of(Std::new("readelf").arg("-sW").arg(path))
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 8 || f[3] != "IFUNC" {
                return None;
            }
            let bind = match f[4] {
                "GLOBAL" => 0,
                "WEAK" => 1,
                _ => 2,
            };
            Some((
                (u64::from_str_radix(f[1], 16).ok()?, f[7].to_string()),
                bind,
            ))
        })
        .collect()
}

/// The exact top of c-static: glibc's printf machinery, and the largest object rows.
#[test]
fn c_static_rows_exact() {
    let v = packages_json(&fixture("c-static"));
    let rows = v["packages"].as_array().unwrap();
    let get = |n: &str| {
        rows.iter()
            .find(|r| r["name"] == n)
            .map(|r| (r["code"].as_u64().unwrap(), r["data"].as_u64().unwrap()))
    };
    // Two static printf_positional (vfprintf's and vfwprintf's): 9006 + 10063 bytes.
    assert_eq!(get("printf_positional"), Some((19_069, 0)));
    assert_eq!(get("translit_to_tbl"), Some((0, 23_548)));
    assert_eq!(get("main"), Some((23, 0)));
    // memcpy, not its alias __new_memcpy (fewer leading underscores wins).
    assert_eq!(get("memcpy"), Some((246, 0)));
    assert_eq!(get("__new_memcpy"), None);
    assert!(v["package_notes"].as_array().unwrap().is_empty());
}

/// Plain inspect JSON has no package fields; `--packages` adds them; `--top` needs
/// `--packages`; files without sections get a note instead of rows.
#[test]
fn json_shape_and_flags() {
    let plain: Value = serde_json::from_slice(
        &binslim()
            .args(["inspect", "--json", "testdata/c-static"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(plain[0].get("packages").is_none());
    assert!(plain[0].get("package_notes").is_none());

    let v = packages_json(&fixture("rust-dynamic"));
    for r in v["packages"].as_array().unwrap() {
        let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["code", "data", "language", "name"]);
    }
    let totals: Vec<u64> = v["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_u64().unwrap() + r["data"].as_u64().unwrap())
        .collect();
    assert!(totals.windows(2).all(|w| w[0] >= w[1]), "sorted by size");

    let upx = packages_json(&fixture("upx-packed"));
    assert_eq!(upx["packages"], serde_json::json!([]));
    assert_eq!(
        upx["package_notes"][0],
        "no section headers (UPX removed them; unpack with upx -d), so no .text to attribute"
    );

    let out = binslim()
        .args(["inspect", "--top", "5", "testdata/c-static"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--packages"));
}

#[test]
fn text_snapshots() {
    for (name, top) in [
        ("rust-dynamic", "20"),
        ("c-static", "8"),
        ("rust-static", "20"),
    ] {
        let out = run_ok(
            binslim()
                .args(["inspect", "--packages", "--top", top])
                .arg(format!("testdata/{name}")),
        );
        let table = &out[out.rfind("\n\n").unwrap() + 2..];
        insta::assert_snapshot!(format!("packages-text-{name}"), table);
    }
}

/// A Rust program whose `.comment` (rustc's signature) was removed is still read as Rust,
/// from its mangled symbols: the same rows as with it.
#[test]
fn rust_without_comment_is_still_rust() {
    if !have_tool("objcopy") {
        return;
    }
    let dir = tempdir();
    let copy = dir.path().join("rust-nocomment");
    stdout_of(
        Std::new("objcopy")
            .args(["--remove-section", ".comment"])
            .arg(fixture("rust-dynamic"))
            .arg(&copy),
    );
    let v = packages_json(&copy);
    assert!(
        v.get("rust").is_none_or(Value::is_null),
        "no rustc signature left"
    );
    assert_eq!(
        v["packages"],
        packages_json(&fixture("rust-dynamic"))["packages"]
    );
}

/// The JSON of a small file, whole: every row with its four fields, and the notes.
#[test]
fn json_snapshot() {
    let v = packages_json(&fixture("c-dynamic-pie"));
    insta::assert_json_snapshot!(
        "packages-json-c-dynamic-pie",
        serde_json::json!({"packages": v["packages"], "package_notes": v["package_notes"]})
    );
}
