//! `binslim sbom`: SPDX 2.3 and CycloneDX 1.6 documents checked against truth from outside
//! binslim — the validators from PyPI (spdx-tools' `pyspdxtools`, cyclonedx-python-lib's
//! `JsonStrictValidator`), `go version -m`, the fixture crate's Cargo.lock, `dpkg -S` and
//! `dpkg-query` — and against themselves (same inputs, same bytes).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command as Std;

use common::validators::{cyclonedx_errors, pyspdxtools, python as validator_python};
use common::{binslim, fixture, go_tool, have_tool, link, put, skip, tempdir};
use serde_json::Value;

/// Runs `binslim sbom ARGS` and returns its stdout, asserting exit 0.
fn sbom(args: &[&str]) -> Vec<u8> {
    let out = binslim()
        .arg("sbom")
        .args(args)
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "binslim sbom {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn sbom_json(args: &[&str]) -> Value {
    serde_json::from_slice(&sbom(args)).unwrap()
}

#[test]
fn documents_pass_the_spdx_and_cyclonedx_validators() {
    let Some(py) = validator_python() else { return };
    let dir = tempdir();
    let cases: [&[&str]; 5] = [
        &["testdata/go-cgo"],
        &["testdata/rust-auditable"],
        &["testdata/rust-static", "testdata/c-static"],
        &[
            "--with-libs",
            "testdata/c-dynamic-pie",
            "testdata/rust-auditable",
        ],
        &["testdata/go-static", "testdata/go-tls", "testdata/go-pie"],
    ];
    for (n, args) in cases.iter().enumerate() {
        let spdx = dir.path().join(format!("{n}.spdx.json"));
        std::fs::write(&spdx, sbom(args)).unwrap();
        let (ok, text) = pyspdxtools(&py, &spdx);
        assert!(ok, "pyspdxtools rejects the SPDX of {args:?}:\n{text}");
        let cdx = dir.path().join(format!("{n}.cdx.json"));
        let mut with_format = vec!["--format", "cyclonedx"];
        with_format.extend_from_slice(args);
        std::fs::write(&cdx, sbom(&with_format)).unwrap();
        assert_eq!(cyclonedx_errors(&py, &cdx), None, "CycloneDX of {args:?}");
    }
    // The validators do reject what is wrong (a check that cannot fail proves nothing).
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, br#"{"spdxVersion":"SPDX-2.3"}"#).unwrap();
    assert!(!pyspdxtools(&py, &bad).0);
    std::fs::write(
        &bad,
        br#"{"bomFormat":"CycloneDX","specVersion":"1.6","serialNumber":"x"}"#,
    )
    .unwrap();
    assert!(cyclonedx_errors(&py, &bad).is_some());
}

/// The modules `go version -m FILE` lists (replacements applied, as binslim lists them): path,
/// version, go.sum hash as hex (decoded by coreutils' base64).
fn go_version_m(
    go: &Path,
    file: &Path,
) -> (String, BTreeSet<(String, String, String)>, Vec<String>) {
    let text = common::stdout_of(Std::new(go).arg("version").arg("-m").arg(file));
    let mut lines = text.lines();
    let version = lines
        .next()
        .unwrap()
        .split(": ")
        .nth(1)
        .unwrap()
        .to_string();
    let mut mods: Vec<(String, String, String)> = Vec::new();
    let mut settings = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.trim_start_matches('\t').split('\t').collect();
        let sum = f
            .get(3)
            .filter(|s| !s.is_empty())
            .map_or(String::new(), |s| h1_hex(s));
        let entry = || {
            (
                f[1].to_string(),
                f.get(2).unwrap_or(&"").to_string(),
                sum.clone(),
            )
        };
        match f[0] {
            "mod" | "dep" => mods.push(entry()),
            "=>" => *mods.last_mut().unwrap() = entry(),
            "build" => settings.push(line.trim_start_matches("\tbuild\t").to_string()),
            _ => {}
        }
    }
    (version, mods.into_iter().collect(), settings)
}

/// `h1:BASE64` → hex, through `base64 -d` and `od` (not binslim's decoder).
fn h1_hex(sum: &str) -> String {
    let b64 = sum.strip_prefix("h1:").unwrap();
    let out = Std::new("sh")
        .args([
            "-c",
            "printf %s \"$1\" | base64 -d | od -An -v -tx1 | tr -d ' \\n'",
            "-",
            b64,
        ])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

fn purl_of(p: &Value) -> Option<&str> {
    p["externalRefs"]
        .as_array()?
        .iter()
        .find(|r| r["referenceType"] == "purl")?["referenceLocator"]
        .as_str()
}

/// A Go program with dependencies built here, offline: vendored modules, one replaced by
/// another module, one by a local directory.
fn vendored_go_program(dir: &Path, go: &Path) -> PathBuf {
    let w = |p: &str, s: &str| {
        let p = dir.join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, s).unwrap();
    };
    w(
        "go.mod",
        "module example.com/sbomtest\n\ngo 1.23\n\nrequire (\n\texample.com/greet v1.2.3\n\
         \texample.com/local v0.0.0\n\texample.com/old v0.1.0\n)\n\n\
         replace example.com/old v0.1.0 => example.com/new v0.2.0+incompatible\n\n\
         replace example.com/local => ./local\n",
    );
    w(
        "vendor/modules.txt",
        "# example.com/greet v1.2.3\n## explicit; go 1.21\nexample.com/greet\n\
         # example.com/local v0.0.0 => ./local\n## explicit; go 1.21\nexample.com/local\n\
         # example.com/old v0.1.0 => example.com/new v0.2.0+incompatible\n## explicit\nexample.com/old\n\
         # example.com/local => ./local\n\
         # example.com/old v0.1.0 => example.com/new v0.2.0+incompatible\n",
    );
    w(
        "vendor/example.com/greet/greet.go",
        "package greet\n\nfunc Hello() string { return \"hello\" }\n",
    );
    w(
        "vendor/example.com/old/old.go",
        "package old\n\nfunc Name() string { return \"new\" }\n",
    );
    w(
        "vendor/example.com/local/local.go",
        "package local\n\nfunc Where() string { return \"local\" }\n",
    );
    w("local/go.mod", "module example.com/local\n\ngo 1.21\n");
    w(
        "local/local.go",
        "package local\n\nfunc Where() string { return \"local\" }\n",
    );
    w(
        "main.go",
        "package main\n\nimport (\n\t\"example.com/greet\"\n\t\"example.com/local\"\n\t\"example.com/old\"\n\
         \t\"fmt\"\n)\n\nfunc main() { fmt.Println(greet.Hello(), old.Name(), local.Where()) }\n",
    );
    let prog = dir.join("prog");
    let out = Std::new(go)
        .current_dir(dir)
        .args(["build", "-trimpath", "-o"])
        .arg(&prog)
        .arg(".")
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=vendor")
        .env("GOCACHE", dir.join("cache"))
        .env("GOPATH", dir.join("gopath"))
        .env("CGO_ENABLED", "0")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "go build: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    prog
}

#[test]
fn go_modules_equal_go_version_m() {
    let Some(go) = go_tool() else { return };
    let dir = tempdir();
    let mut files: Vec<PathBuf> = ["go-static", "go-cgo", "go-pie", "go-tls", "go-tls-embedded"]
        .iter()
        .map(|f| fixture(f))
        .collect();
    files.push(vendored_go_program(dir.path(), &go));
    // Larger real programs where the machine has them (CI installs podman, skopeo and the
    // registry; docker, kubectl, kpt, terraform where present: these record go.sum hashes).
    for p in [
        "/usr/bin/podman",
        "/usr/bin/skopeo",
        "/usr/bin/docker-registry",
        "/usr/bin/docker",
        "/usr/local/bin/docker",
        "/usr/bin/kubectl",
        "/usr/bin/kpt",
        "/usr/local/bin/terraform",
    ] {
        if Path::new(p).is_file() {
            files.push(PathBuf::from(p));
        }
    }
    let mut with_deps = 0;
    let mut with_sums = 0;
    for file in &files {
        let (version, want, settings) = go_version_m(&go, file);
        let doc = sbom_json(&[file.to_str().unwrap()]);
        let packages = doc["packages"].as_array().unwrap();
        let got: BTreeSet<(String, String, String)> = packages
            .iter()
            .filter(|p| {
                p["SPDXID"]
                    .as_str()
                    .unwrap()
                    .starts_with("SPDXRef-GoModule-")
            })
            .map(|p| {
                let sum = p["checksums"][0]["checksumValue"].as_str().unwrap_or("");
                (
                    p["name"].as_str().unwrap().to_string(),
                    p["versionInfo"].as_str().unwrap_or("").to_string(),
                    sum.to_string(),
                )
            })
            .collect();
        assert_eq!(got, want, "{}", file.display());
        with_deps += usize::from(want.len() > 1);
        with_sums += usize::from(want.iter().any(|m| !m.2.is_empty()));
        // Every module but a local directory has its purl.
        for p in packages.iter().filter(|p| {
            p["SPDXID"]
                .as_str()
                .unwrap()
                .starts_with("SPDXRef-GoModule-")
        }) {
            let name = p["name"].as_str().unwrap();
            match purl_of(p) {
                Some(purl) => assert!(purl.starts_with(&format!("pkg:golang/{name}")), "{purl}"),
                None => assert!(name.starts_with('.'), "{name} has no purl"),
            }
        }
        let stdlib = packages.iter().find(|p| p["name"] == "stdlib").unwrap();
        assert_eq!(stdlib["versionInfo"], version.as_str());
        let plain = version
            .split_whitespace()
            .next()
            .unwrap()
            .trim_start_matches("go");
        assert_eq!(
            purl_of(stdlib).unwrap(),
            format!("pkg:golang/stdlib@{plain}")
        );
        // The build settings, as annotations of the program.
        let notes: BTreeSet<String> = packages[0]["annotations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["comment"].as_str().unwrap().to_string())
            .collect();
        for s in &settings {
            let (k, v) = s.split_once('=').unwrap();
            let want = format!("binslim:go.build:{k}: {v}");
            assert!(
                notes.contains(&want),
                "{}: no annotation {want}",
                file.display()
            );
        }
    }
    assert!(
        with_deps >= 1,
        "no Go program with dependencies was checked"
    );
    if with_sums == 0 {
        eprintln!(
            "note: no Go program with go.sum hashes on this machine (kpt, kubectl, terraform)"
        );
    }
    // The vendored program: the replaced modules are their replacements, and say so.
    let doc = sbom_json(&["--format", "cyclonedx", files[5].to_str().unwrap()]);
    let comps = doc["components"].as_array().unwrap();
    let new = comps
        .iter()
        .find(|c| c["name"] == "example.com/new")
        .unwrap();
    assert_eq!(
        new["purl"],
        "pkg:golang/example.com/new@v0.2.0%2Bincompatible"
    );
    assert_eq!(new["properties"][0]["value"], "example.com/old@v0.1.0");
    assert!(comps.iter().all(|c| c["name"] != "example.com/old"));
}

/// `(name, version)` of each package and `(name, dependency name)` edges of a Cargo.lock.
type Lock = (BTreeSet<(String, String)>, BTreeSet<(String, String)>);

fn cargo_lock(text: &str) -> Lock {
    let (mut pkgs, mut edges) = (BTreeSet::new(), BTreeSet::new());
    for block in text.split("[[package]]").skip(1) {
        let field = |k: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{k} = \"")))
                .map(|v| v.trim_end_matches('"').to_string())
                .unwrap()
        };
        let name = field("name");
        pkgs.insert((name.clone(), field("version")));
        if let Some(deps) = block.split("dependencies = [").nth(1) {
            for d in deps
                .split(']')
                .next()
                .unwrap()
                .split('"')
                .skip(1)
                .step_by(2)
            {
                edges.insert((name.clone(), d.split(' ').next().unwrap().to_string()));
            }
        }
    }
    (pkgs, edges)
}

#[test]
fn rust_crates_and_edges_equal_the_fixtures_cargo_lock() {
    let lock = std::fs::read_to_string(fixture("src/rust-auditable/Cargo.lock")).unwrap();
    let (want_pkgs, want_edges) = cargo_lock(&lock);
    assert_eq!(want_pkgs.len(), 4);
    // SPDX: the crates and their DEPENDS_ON.
    let doc = sbom_json(&["testdata/rust-auditable"]);
    let packages = doc["packages"].as_array().unwrap();
    let crates: BTreeMap<&str, &Value> = packages
        .iter()
        .filter(|p| p["SPDXID"].as_str().unwrap().starts_with("SPDXRef-Crate-"))
        .map(|p| (p["SPDXID"].as_str().unwrap(), p))
        .collect();
    let got: BTreeSet<(String, String)> = crates
        .values()
        .map(|p| {
            (
                p["name"].as_str().unwrap().into(),
                p["versionInfo"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(got, want_pkgs);
    for p in crates.values() {
        assert_eq!(
            purl_of(p).unwrap(),
            format!(
                "pkg:cargo/{}@{}",
                p["name"].as_str().unwrap(),
                p["versionInfo"].as_str().unwrap()
            )
        );
    }
    let name = |id: &str| crates[id]["name"].as_str().unwrap().to_string();
    let got_edges: BTreeSet<(String, String)> = doc["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["relationshipType"] == "DEPENDS_ON")
        .filter(|r| crates.contains_key(r["spdxElementId"].as_str().unwrap()))
        .map(|r| {
            (
                name(r["spdxElementId"].as_str().unwrap()),
                name(r["relatedSpdxElement"].as_str().unwrap()),
            )
        })
        .collect();
    assert_eq!(got_edges, want_edges);
    // The program depends on the root crate.
    let program = packages[0]["SPDXID"].as_str().unwrap();
    assert!(
        doc["relationships"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["spdxElementId"] == program
                && r["relatedSpdxElement"] == "SPDXRef-Crate-rust-auditable-0.1.0")
    );
    // CycloneDX: the same edges in `dependencies`.
    let cdx = sbom_json(&["--format", "cyclonedx", "testdata/rust-auditable"]);
    let by_ref: BTreeMap<&str, &str> = cdx["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["bom-ref"].as_str().unwrap(), c["name"].as_str().unwrap()))
        .collect();
    let mut cdx_edges = BTreeSet::new();
    for d in cdx["dependencies"].as_array().unwrap() {
        let from = d["ref"].as_str().unwrap();
        if !from.starts_with("pkg:cargo/") {
            continue;
        }
        for to in d["dependsOn"].as_array().unwrap() {
            cdx_edges.insert((
                by_ref[from].to_string(),
                by_ref[to.as_str().unwrap()].to_string(),
            ));
        }
    }
    assert_eq!(cdx_edges, want_edges);
}

#[test]
fn rust_without_auditable_data_gets_the_rustc_version_and_a_note() {
    if !have_tool("readelf") {
        return;
    }
    let comment = common::stdout_of(
        Std::new("readelf")
            .args(["-p", ".comment", "testdata/rust-static"])
            .current_dir(common::root()),
    );
    let rustc = comment
        .lines()
        .find_map(|l| l.split("rustc version ").nth(1))
        .unwrap()
        .trim()
        .to_string();
    let doc = sbom_json(&["testdata/rust-static"]);
    let notes: Vec<&str> = doc["packages"][0]["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["comment"].as_str().unwrap())
        .collect();
    assert!(
        notes.contains(&format!("binslim:rustc.version: {rustc}").as_str()),
        "{notes:?}"
    );
    assert!(notes.contains(
        &"binslim:note: no cargo-auditable data: the list of crates needs `cargo auditable build`"
    ));
    assert_eq!(doc["packages"].as_array().unwrap().len(), 1);
    let cdx = sbom_json(&["--format", "cyclonedx", "testdata/rust-static"]);
    let props = cdx["components"][0]["properties"].as_array().unwrap();
    assert!(props.iter().any(|p| {
        p["name"] == "binslim:note"
            && p["value"]
                .as_str()
                .unwrap()
                .contains("cargo auditable build")
    }));
}

#[test]
fn c_programs_are_the_file_its_sha256_and_dt_needed() {
    let doc = sbom_json(&["--format", "cyclonedx", "testdata/c-dynamic-pie"]);
    let c = &doc["components"][0];
    let bytes = std::fs::read(fixture("c-dynamic-pie")).unwrap();
    assert_eq!(c["hashes"][0]["content"], common::sha256(&bytes).as_str());
    assert_eq!(c["name"], "c-dynamic-pie");
    let props: Vec<(&str, &str)> = c["properties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["value"].as_str().unwrap()))
        .collect();
    assert_eq!(
        props,
        [
            ("binslim:file.path", "testdata/c-dynamic-pie"),
            ("binslim:elf.needed", "libc.so.6"),
            ("binslim:elf.interpreter", "/lib64/ld-linux-x86-64.so.2"),
        ]
    );
    assert_eq!(doc["components"].as_array().unwrap().len(), 1);
}

/// File path → (package, version, purl), and file path → SHA-256.
type Owners = (
    BTreeMap<String, (String, String, String)>,
    BTreeMap<String, String>,
);

/// The Debian package components of a CycloneDX document: file path → (package, version,
/// purl), and each library file's SHA-256.
fn deb_owners(doc: &Value) -> Owners {
    let (mut owners, mut sums) = (BTreeMap::new(), BTreeMap::new());
    let path_of = |c: &Value| {
        c["properties"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == "binslim:file.path"))
            .map(|p| p["value"].as_str().unwrap().to_string())
    };
    for c in doc["components"].as_array().unwrap() {
        let files: Vec<&Value> = c["components"]
            .as_array()
            .map_or(vec![c], |v| v.iter().collect());
        for f in files {
            let Some(path) = path_of(f) else { continue };
            if f["type"] == "library" {
                sums.insert(
                    path.clone(),
                    f["hashes"][0]["content"].as_str().unwrap().to_string(),
                );
            }
            if !std::ptr::eq(f, c) {
                owners.insert(
                    path,
                    (
                        c["name"].as_str().unwrap().to_string(),
                        c["version"].as_str().unwrap().to_string(),
                        c["purl"].as_str().unwrap().to_string(),
                    ),
                );
            }
        }
    }
    (owners, sums)
}

#[test]
fn with_libs_names_each_library_and_its_debian_package_as_dpkg_does() {
    if !have_tool("dpkg") || !have_tool("dpkg-query") {
        return;
    }
    if !Path::new("/var/lib/dpkg/status").is_file() {
        skip("this machine has no dpkg database");
        return;
    }
    let doc = sbom_json(&[
        "--format",
        "cyclonedx",
        "--with-libs",
        "testdata/c-dynamic-pie",
        "testdata/rust-auditable",
    ]);
    let (owners, sums) = deb_owners(&doc);
    // The loader, libc and libgcc_s: every one bundled, each with its package.
    assert_eq!(sums.len(), 3, "{sums:?}");
    assert_eq!(owners.len(), 3, "{owners:?}");
    let id = std::fs::read_to_string("/etc/os-release")
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix("ID=")
                .map(|v| v.trim_matches('"').to_string())
        })
        .unwrap();
    for (path, (name, version, purl)) in &owners {
        let s = common::stdout_of(Std::new("dpkg").args(["-S", path]));
        let (pkg, _) = s.trim().split_once(": ").unwrap();
        let (pkg_name, arch) = pkg.split_once(':').unwrap_or((pkg, ""));
        assert_eq!(name, pkg_name, "{path}");
        let v = common::stdout_of(Std::new("dpkg-query").args(["-W", "-f=${Version}", pkg]));
        assert_eq!(version, &v, "{path}");
        let a = common::stdout_of(Std::new("dpkg-query").args(["-W", "-f=${Architecture}", pkg]));
        if !arch.is_empty() {
            assert_eq!(arch, a);
        }
        let enc_version: String = v
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        assert_eq!(purl, &format!("pkg:deb/{id}/{name}@{enc_version}?arch={a}"));
        let real = std::fs::canonicalize(path).unwrap();
        assert_eq!(
            sums[path],
            common::sha256(&std::fs::read(real).unwrap()),
            "{path}"
        );
    }
}

/// A root with merged /usr (the libraries live under usr/, `lib` and `lib64` are links) and a
/// dpkg database that lies: one package that claims the loader and libc is not installed, one
/// has no version; libc6 is installed and its list names the unmerged path.
fn lying_root() -> tempfile::TempDir {
    let root = tempdir();
    let r = root.path();
    put(
        r,
        common::GLIBC_LOADER,
        "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
    );
    put(r, common::GLIBC_LIBC, "/usr/lib/x86_64-linux-gnu/libc.so.6");
    link(r, "usr/lib", "/lib");
    std::fs::create_dir_all(r.join("usr/lib64")).unwrap();
    link(r, "usr/lib64", "/lib64");
    link(
        r,
        "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
        "/usr/lib64/ld-linux-x86-64.so.2",
    );
    let w = |p: &str, s: &str| {
        let p = r.join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, s).unwrap();
    };
    w(
        "etc/os-release",
        "NAME=\"Ubuntu\"\nID=ubuntu\nVERSION_ID=\"24.04\"\n",
    );
    w(
        "var/lib/dpkg/status",
        "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nMulti-Arch: same\n\
         Version: 2.39-0ubuntu8\nDescription: GNU C Library\n more text: here\n\n\
         Package: ghost\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 1.0\n\n\
         Package: noversion\nStatus: install ok installed\nArchitecture: amd64\n\n\
         garbage without a colon\n\n",
    );
    w(
        "var/lib/dpkg/info/libc6:amd64.list",
        "/.\n/lib\n/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu/libc.so.6\n",
    );
    // ghost also claims libc, under both forms: the installed libc6 still owns it.
    w(
        "var/lib/dpkg/info/ghost.list",
        "/lib64/ld-linux-x86-64.so.2\n/usr/lib/x86_64-linux-gnu/libc.so.6\n/lib/x86_64-linux-gnu/libc.so.6\n",
    );
    w(
        "var/lib/dpkg/info/noversion.list",
        "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2\n",
    );
    root
}

#[test]
fn a_lying_dpkg_database_gives_no_false_owner() {
    let root = lying_root();
    let r = root.path().to_str().unwrap();
    let doc = sbom_json(&[
        "--format",
        "cyclonedx",
        "--with-libs",
        "--root",
        r,
        "testdata/c-dynamic-pie",
    ]);
    let (owners, sums) = deb_owners(&doc);
    assert_eq!(sums.len(), 2, "{sums:?}");
    // libc: its list names /lib/..., the root has it under /usr/lib/... (merged /usr).
    let libc: Vec<_> = owners
        .iter()
        .filter(|(p, _)| p.ends_with("libc.so.6"))
        .collect();
    assert_eq!(libc.len(), 1, "{owners:?}");
    assert_eq!(
        libc[0].1,
        &(
            "libc6".to_string(),
            "2.39-0ubuntu8".to_string(),
            "pkg:deb/ubuntu/libc6@2.39-0ubuntu8?arch=amd64".to_string()
        )
    );
    // The loader: claimed by a package not installed and by one without a version: no owner,
    // and a note that says why.
    assert_eq!(owners.len(), 1, "{owners:?}");
    let text = String::from_utf8(sbom(&[
        "--format",
        "cyclonedx",
        "--with-libs",
        "--root",
        r,
        "testdata/c-dynamic-pie",
    ]))
    .unwrap();
    assert!(
        text.contains("does not show ghost installed with a version: no owner given"),
        "{text}"
    );
    // A root without a dpkg database: libraries, no packages.
    let plain = common::glibc_root();
    let doc = sbom_json(&[
        "--format",
        "cyclonedx",
        "--with-libs",
        "--root",
        plain.path().to_str().unwrap(),
        "testdata/c-dynamic-pie",
    ]);
    let (owners, sums) = deb_owners(&doc);
    assert_eq!((owners.len(), sums.len()), (0, 2));
}

#[test]
fn same_inputs_same_bytes_and_source_date_epoch_changes_only_the_time() {
    let args = [
        "sbom",
        "--with-libs",
        "testdata/go-cgo",
        "testdata/rust-auditable",
    ];
    for format in ["spdx", "cyclonedx"] {
        let run = |epoch: Option<&str>| {
            let mut cmd = binslim();
            cmd.args(args).args(["--format", format]);
            match epoch {
                Some(e) => cmd.env("SOURCE_DATE_EPOCH", e),
                None => cmd.env_remove("SOURCE_DATE_EPOCH"),
            };
            let out = cmd.output().unwrap();
            assert!(out.status.success());
            String::from_utf8(out.stdout).unwrap()
        };
        let (a, b) = (run(None), run(None));
        assert_eq!(a, b, "{format}: two runs differ");
        assert!(a.contains("\"1970-01-01T00:00:00Z\""));
        let later = run(Some("1700000000"));
        assert_ne!(a, later);
        assert_eq!(
            a,
            later.replace("2023-11-14T22:13:20Z", "1970-01-01T00:00:00Z"),
            "{format}"
        );
        // --created beats SOURCE_DATE_EPOCH; --created now is the clock.
        let out = binslim()
            .args(args)
            .args(["--format", format, "--created", "1700000000"])
            .env("SOURCE_DATE_EPOCH", "5")
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), later);
        let now = binslim()
            .args(args)
            .args(["--format", format, "--created", "now"])
            .output()
            .unwrap();
        assert!(
            !String::from_utf8(now.stdout)
                .unwrap()
                .contains("1970-01-01T00:00:00Z")
        );
    }
    // The name changes with the content: another program, another namespace and serial.
    let ns = |f: &str| {
        sbom_json(&[f])["documentNamespace"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(ns("testdata/go-cgo").starts_with("https://binslim.invalid/spdx/go-cgo-"));
    assert_ne!(ns("testdata/go-cgo"), ns("testdata/go-static"));
    let serial = sbom_json(&["--format", "cyclonedx", "testdata/go-cgo"])["serialNumber"].clone();
    assert!(serial.as_str().unwrap().starts_with("urn:uuid:"));
}

#[test]
fn several_programs_make_one_document_and_o_writes_a_file() {
    let doc = sbom_json(&[
        "testdata/go-static",
        "testdata/rust-auditable",
        "testdata/c-static",
    ]);
    let described: Vec<&str> = doc["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["relationshipType"] == "DESCRIBES")
        .map(|r| r["relatedSpdxElement"].as_str().unwrap())
        .collect();
    assert_eq!(
        described,
        [
            "SPDXRef-Program-go-static",
            "SPDXRef-Program-rust-auditable",
            "SPDXRef-Program-c-static"
        ]
    );
    let cdx = sbom_json(&[
        "--format",
        "cyclonedx",
        "testdata/go-static",
        "testdata/c-static",
    ]);
    let apps: Vec<&str> = cdx["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "application")
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(apps, ["go-static", "c-static"]);
    let dir = tempdir();
    let out = dir.path().join("x.spdx.json");
    std::fs::write(&out, "old").unwrap();
    binslim()
        .args(["sbom", "testdata/go-static", "-o"])
        .arg(&out)
        .env_remove("SOURCE_DATE_EPOCH")
        .assert()
        .success()
        .stdout("");
    assert_eq!(std::fs::read(&out).unwrap(), sbom(&["testdata/go-static"]));
    // Nothing left beside it.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// Runs `binslim sbom ARGS` expecting exit 2 and a stderr holding `msg`.
fn fails(args: &[&str], msg: &str) {
    let out = binslim().arg("sbom").args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(err.contains(msg), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_programs_and_options_exit_2_with_the_reason() {
    fails(
        &["testdata/truncated-elf"],
        "binslim: testdata/truncated-elf: truncated ELF",
    );
    fails(
        &["testdata/not-elf.txt"],
        "binslim: testdata/not-elf.txt: is a text file, not an ELF binary",
    );
    fails(&["testdata/script.sh"], "is a script");
    fails(
        &["testdata/no-such-file"],
        "testdata/no-such-file: not found",
    );
    fails(
        &["testdata/go-static", "testdata/empty"],
        "testdata/empty: is empty",
    );
    fails(&["--root", "/", "testdata/go-static"], "--with-libs");
    fails(
        &["--format", "xml", "testdata/go-static"],
        "invalid value 'xml'",
    );
    fails(
        &["--created", "yesterday", "testdata/go-static"],
        "--created 'yesterday': give seconds since 1970 or 'now'",
    );
    fails(
        &[
            "--with-libs",
            "--root",
            "testdata/go-static",
            "testdata/c-dynamic-pie",
        ],
        "--root 'testdata/go-static': not a directory",
    );
    let out = binslim()
        .args(["sbom", "testdata/go-static"])
        .env("SOURCE_DATE_EPOCH", "soon")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SOURCE_DATE_EPOCH='soon'"));
    binslim().args(["sbom"]).assert().code(2);
}

/// A copy of rust-static with `data` as its `.dep-v0` section (objcopy --add-section).
fn with_dep_v0(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let sec = dir.join(format!("{name}.bin"));
    std::fs::write(&sec, data).unwrap();
    let out = dir.join(name);
    let st = Std::new("objcopy")
        .arg("--add-section")
        .arg(format!(".dep-v0={}", sec.display()))
        .arg(fixture("rust-static"))
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success());
    out
}

fn zlib(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn hostile_cargo_auditable_data_exits_2_in_bounded_memory() {
    if !have_tool("objcopy") || !have_tool("python3") {
        return;
    }
    let dir = tempdir();
    let d = dir.path();
    // A zlib bomb: 1 GiB of spaces in about 1 MiB, made by Python's zlib.
    let bomb = d.join("bomb.zlib");
    let st = Std::new("python3")
        .args([
            "-c",
            "import sys, zlib\nc = zlib.compressobj(9)\nout = open(sys.argv[1], 'wb')\n\
             chunk = b' ' * (1 << 20)\nfor _ in range(1024): out.write(c.compress(chunk))\n\
             out.write(c.flush())\n",
        ])
        .arg(&bomb)
        .status()
        .unwrap();
    assert!(st.success());
    let bomb = with_dep_v0(d, "bomb", &std::fs::read(&bomb).unwrap());
    // Under a 512 MiB address-space limit: a reader that inflated it all would die.
    let bin = assert_cmd::cargo::cargo_bin("binslim");
    let out = Std::new("sh")
        .args(["-c", "ulimit -v 524288 && exec \"$0\" sbom \"$1\""])
        .arg(&bin)
        .arg(&bomb)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cargo-auditable data (.dep-v0) inflates to more than 8388608 bytes; refusing to read further"), "{err}");
    // Truncated: the first half of the fixture's real section.
    let real = Std::new("objcopy")
        .arg(format!(
            "--dump-section=.dep-v0={}",
            d.join("real.bin").display()
        ))
        .arg(fixture("rust-auditable"))
        .arg(d.join("dumped"))
        .status()
        .unwrap();
    assert!(real.success());
    let real = std::fs::read(d.join("real.bin")).unwrap();
    assert!(real.len() > 100);
    let cut = with_dep_v0(d, "cut", &real[..real.len() / 2]);
    fails(
        &[cut.to_str().unwrap()],
        "cargo-auditable data (.dep-v0) not valid zlib data",
    );
    let garbage = with_dep_v0(d, "garbage", b"\x78\x9c not zlib at all");
    fails(&[garbage.to_str().unwrap()], "not valid zlib data");
    // Valid zlib, hostile JSON: an index past the list; not JSON at all.
    let index = with_dep_v0(
        d,
        "index",
        &zlib(br#"{"packages":[{"name":"a","version":"1.0.0","dependencies":[99],"root":true}]}"#),
    );
    fails(
        &[index.to_str().unwrap()],
        "package 'a' depends on index 99, but there are 1 packages",
    );
    let json = with_dep_v0(d, "json", &zlib(b"\x00\xff{"));
    fails(&[json.to_str().unwrap()], "not cargo-auditable JSON");
}
