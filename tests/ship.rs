//! Shipping binslim itself: the package cargo would publish (what it holds, what it leaves
//! out, how big it is) and the metadata crates.io shows, read through cargo itself.

mod common;

use std::process::Command as Std;

use common::tempdir;
use serde_json::Value;

fn cargo() -> Std {
    let mut c = Std::new(env!("CARGO"));
    c.current_dir(common::root());
    c
}

/// The files `cargo package` puts in the .crate, one path per line.
fn package_list() -> Vec<String> {
    let out = cargo()
        .args(["package", "--list", "--allow-dirty", "--offline"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // No warning (missing metadata, a test target left out...), except that a Rust benchmark
    // in benches/ is left out on purpose: "warning: ignoring bench `x` as `benches/x.rs` is not
    // included in the published package".
    let stderr = String::from_utf8_lossy(&out.stderr);
    for line in stderr.lines().filter(|l| l.starts_with("warning")) {
        assert!(
            line.starts_with("warning: ignoring bench `")
                && line.contains("` as `benches/")
                && line.ends_with("` is not included in the published package"),
            "{stderr}"
        );
    }
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn package_leaves_out_fixtures_fuzz_and_benches() {
    let files = package_list();
    for must in [
        "Cargo.toml",
        "Cargo.lock",
        "README.md",
        "CHANGELOG.md",
        "LICENSE-MIT",
        "LICENSE-APACHE",
        "src/main.rs",
        "src/lib.rs",
        "src/cli.rs",
        "examples/packages.rs",
    ] {
        assert!(files.iter().any(|f| f == must), "{must} not packaged");
    }
    for f in &files {
        assert!(
            ![
                "testdata/",
                "fuzz/",
                "benches/",
                "examples/Dockerfile",
                "target/",
                ".ci/"
            ]
            .iter()
            .any(|p| f.starts_with(p)),
            "{f} is packaged"
        );
        assert!(
            f.starts_with("src/")
                || f.ends_with(".rs")
                || f.ends_with(".snap")
                || [
                    "Cargo.toml",
                    "Cargo.toml.orig",
                    "Cargo.lock",
                    "README.md",
                    "CHANGELOG.md",
                    "LICENSE-MIT",
                    "LICENSE-APACHE",
                    ".cargo_vcs_info.json",
                ]
                .contains(&f.as_str()),
            "unexpected file {f} in the package"
        );
    }
}

#[test]
fn crate_file_is_under_one_megabyte() {
    let dir = tempdir();
    let out = cargo()
        .args(["package", "--allow-dirty", "--no-verify", "--offline"])
        .arg("--target-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let krate = dir
        .path()
        .join("package")
        .join(format!("binslim-{}.crate", env!("CARGO_PKG_VERSION")));
    let size = std::fs::metadata(&krate).unwrap().len();
    assert!(size < 1_000_000, "{} is {size} bytes", krate.display());
    // The fixtures alone are ~15 MB: a .crate this small cannot hold them.
    assert!(size > 50_000, "{} is only {size} bytes", krate.display());
}

fn metadata() -> Value {
    let out = cargo()
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let m: Value = serde_json::from_slice(&out.stdout).unwrap();
    m["packages"][0].clone()
}

fn version_triple(v: &str) -> (u32, u32, u32) {
    let mut it = v.split('.').map(|p| p.parse::<u32>().unwrap());
    (
        it.next().unwrap(),
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
    )
}

#[test]
fn crates_io_metadata_is_complete() {
    let p = metadata();
    assert_eq!(p["name"], "binslim");
    assert_eq!(p["license"], "MIT OR Apache-2.0");
    assert_eq!(p["readme"], "README.md");
    assert_eq!(p["edition"], "2024");
    assert!(
        p["description"]
            .as_str()
            .unwrap()
            .starts_with("Binary minimizer and static-link verifier")
    );
    // crates.io allows at most five keywords of at most 20 ASCII characters.
    let kw = p["keywords"].as_array().unwrap();
    assert!((1..=5).contains(&kw.len()), "{kw:?}");
    for k in kw {
        let k = k.as_str().unwrap();
        assert!(k.len() <= 20 && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }
    assert_eq!(
        p["categories"],
        serde_json::json!(["command-line-utilities", "development-tools::build-utils"])
    );
    let mit = std::fs::read_to_string(common::root().join("LICENSE-MIT")).unwrap();
    assert!(
        mit.starts_with("Copyright (c) The binslim contributors\n\nPermission is hereby granted")
    );
    let apache = std::fs::read_to_string(common::root().join("LICENSE-APACHE")).unwrap();
    assert!(
        apache.contains("Apache License\n                           Version 2.0, January 2004")
    );
}

/// The declared MSRV is no newer than the compiler building this test, and no older than
/// edition 2024 (1.85), let chains (1.88) and libzstd-rs-sys's `[0; _]` (1.89) allow. CI also
/// builds with exactly that toolchain
/// (`cargo +$MSRV check --locked --all-targets`).
#[test]
fn rust_version_is_declared_and_satisfied() {
    let p = metadata();
    let msrv = p["rust_version"].as_str().expect("rust-version is set");
    assert_eq!(msrv, "1.89");
    let out = Std::new("rustc").arg("--version").output().unwrap();
    let v = String::from_utf8(out.stdout).unwrap();
    let rustc = v.split_whitespace().nth(1).unwrap();
    let rustc = rustc.split('-').next().unwrap();
    assert!(
        version_triple(msrv) <= version_triple(rustc),
        "rust-version {msrv} is newer than {v}"
    );
}
