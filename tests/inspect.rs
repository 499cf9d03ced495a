//! `binslim inspect` on every committed fixture: exact facts, snapshots of both renderers,
//! agreement with readelf and `go version -m`, and every error path.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command as Std;

use common::{binslim, fixture, gnu_strip, go_tool, inspect_json, stdout_of};
use serde_json::Value;

/// (fixture, linkage, interpreter, needed)
const EXPECTED: &[(&str, &str, Option<&str>, &[&str])] = &[
    ("c-dynamic-pie", "dynamic", Some(LD), &["libc.so.6"]),
    ("c-nopie", "dynamic", Some(LD), &["libc.so.6"]),
    ("c-debug", "dynamic", Some(LD), &["libc.so.6"]),
    ("c-static", "static", None, &[]),
    ("c-static-pie", "static-pie", None, &[]),
    (
        "c-rpath",
        "dynamic",
        Some(LD),
        &["libgreet.so", "libc.so.6"],
    ),
    (
        "c-rpath-old",
        "dynamic",
        Some(LD),
        &["libgreet.so", "libc.so.6"],
    ),
    ("libgreet.so", "shared-library", None, &["libc.so.6"]),
    ("c-object.o", "relocatable", None, &[]),
    ("musl-static", "static", None, &[]),
    (
        "musl-dynamic",
        "dynamic",
        Some("/lib/ld-musl-x86_64.so.1"),
        &["libc.so"],
    ),
    ("arm64-static", "static", None, &[]),
    ("i386-static", "static", None, &[]),
    ("freebsd-static", "static", None, &[]),
    ("go-static", "static", None, &[]),
    ("go-cgo", "dynamic", Some(LD), &["libc.so.6"]),
    ("go-pie", "dynamic", Some(LD), &[]),
    ("go-tls", "static", None, &[]),
    ("go-tls-embedded", "static", None, &[]),
    (
        "rust-dynamic",
        "dynamic",
        Some(LD),
        &["libgcc_s.so.1", "libc.so.6"],
    ),
    ("rust-static", "static-pie", None, &[]),
    ("upx-packed", "static", None, &[]),
    ("exec-marker", "static", None, &[]),
];

const LD: &str = "/lib64/ld-linux-x86-64.so.2";

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn linkage_interpreter_and_needed_of_every_fixture() {
    for &(name, linkage, interp, needed) in EXPECTED {
        let v = inspect_json(format!("testdata/{name}"));
        assert_eq!(v["linkage"], linkage, "{name}");
        assert_eq!(v["interpreter"].as_str(), interp, "{name}");
        assert_eq!(strings(&v["needed"]), needed, "{name}");
    }
}

#[test]
fn text_and_json_snapshots_of_every_fixture() {
    for &(name, ..) in EXPECTED {
        let text = binslim()
            .args(["inspect", "--sections"])
            .arg(format!("testdata/{name}"))
            .output()
            .unwrap();
        assert_eq!(text.status.code(), Some(0), "{name}");
        insta::assert_snapshot!(
            format!("inspect-text-{name}"),
            String::from_utf8(text.stdout).unwrap()
        );
        insta::assert_json_snapshot!(
            format!("inspect-json-{name}"),
            inspect_json(format!("testdata/{name}"))
        );
    }
}

/// readelf must agree on the interpreter, the NEEDED list and the debug byte total.
#[test]
fn agrees_with_readelf() {
    if Std::new("readelf").arg("--version").output().is_err() {
        panic!("readelf (binutils) is required for this test");
    }
    for &(name, ..) in EXPECTED {
        if name == "upx-packed" {
            continue; // readelf cannot read UPX output's missing section headers either
        }
        let path = fixture(name);
        let v = inspect_json(format!("testdata/{name}"));

        let program = stdout_of(Std::new("readelf").args(["-lW"]).arg(&path));
        let interp = program
            .lines()
            .find_map(|l| l.split("[Requesting program interpreter: ").nth(1))
            .map(|s| s.trim_end_matches(']').to_string());
        assert_eq!(
            v["interpreter"].as_str().map(String::from),
            interp,
            "{name}"
        );

        let dynamic = stdout_of(Std::new("readelf").args(["-dW"]).arg(&path));
        let needed: Vec<String> = dynamic
            .lines()
            .filter(|l| l.contains("(NEEDED)"))
            .filter_map(|l| l.split("Shared library: [").nth(1))
            .map(|s| s.trim_end_matches(']').to_string())
            .collect();
        assert_eq!(strings(&v["needed"]), needed, "{name}");

        let sections = stdout_of(Std::new("readelf").args(["-SW"]).arg(&path));
        let debug: u64 = sections
            .lines()
            .filter_map(|l| {
                let l = l.split_once(']')?.1;
                let cols: Vec<&str> = l.split_whitespace().collect();
                let name = cols.first()?;
                let debug = name.starts_with(".debug") || name.starts_with(".zdebug");
                let size = u64::from_str_radix(cols.get(4)?, 16).ok()?;
                debug.then_some(size)
            })
            .sum();
        assert_eq!(v["debug_size"].as_u64(), Some(debug), "{name}");
    }
}

/// `go version -m` and binslim must agree on the Go version and the build settings.
#[test]
fn go_build_info_matches_go_version_m() {
    let Some(go) = go_tool() else {
        return;
    };
    let mut checked = 0;
    for name in ["go-static", "go-cgo", "go-pie", "go-tls", "go-tls-embedded"] {
        let out = stdout_of(Std::new(&go).args(["version", "-m"]).arg(fixture(name)));
        let mut lines = out.lines();
        let version = lines
            .next()
            .unwrap()
            .split(": ")
            .nth(1)
            .unwrap()
            .to_string();
        let mut settings = BTreeMap::new();
        for l in lines {
            let cols: Vec<&str> = l.trim().splitn(2, '\t').collect();
            if cols[0] == "build" {
                let (k, v) = cols[1].split_once('=').unwrap();
                settings.insert(k.to_string(), v.trim_matches('"').to_string());
            }
        }
        let v = inspect_json(format!("testdata/{name}"));
        assert_eq!(v["go"]["version"], version.as_str(), "{name}");
        for key in ["CGO_ENABLED", "-buildmode", "GOOS", "GOARCH"] {
            assert_eq!(
                v["go"]["settings"][key].as_str(),
                settings.get(key).map(String::as_str),
                "{name} {key}"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 5);
}

/// Exact Go build info, independent of the Go toolchain being installed.
#[test]
fn go_build_info_exact_values() {
    let data = std::fs::read(fixture("go-static")).unwrap();
    let a = binslim::elf::analyze(&data).unwrap();
    let go = a.go.expect("go build info");
    assert_eq!(go.version, "go1.23.5");
    assert_eq!(go.path.as_deref(), Some("example.com/hello"));
    assert_eq!(go.main_version.as_deref(), Some("(devel)"));
    assert_eq!(go.settings["CGO_ENABLED"], "0");
    assert_eq!(go.settings["-buildmode"], "exe");
    // -trimpath drops -ldflags from the recorded settings.
    assert_eq!(go.settings["-trimpath"], "true");
    assert!(!go.settings.contains_key("-ldflags"));
    assert_eq!(go.settings["GOOS"], "linux");
    assert_eq!(go.settings["GOARCH"], "amd64");

    let pie = binslim::elf::analyze(&std::fs::read(fixture("go-pie")).unwrap()).unwrap();
    assert_eq!(pie.go.unwrap().settings["-buildmode"], "pie");
    let cgo = binslim::elf::analyze(&std::fs::read(fixture("go-cgo")).unwrap()).unwrap();
    assert_eq!(cgo.go.unwrap().settings["CGO_ENABLED"], "1");
}

/// Without section headers, build info is found in the first writable segment.
#[test]
fn go_build_info_without_section_headers() {
    let mut data = std::fs::read(fixture("go-static")).unwrap();
    // Zero e_shoff, e_shnum, e_shstrndx (ELF64 little-endian offsets 0x28, 0x3c, 0x3e).
    data[0x28..0x30].fill(0);
    data[0x3c..0x40].fill(0);
    let a = binslim::elf::analyze(&data).unwrap();
    assert!(!a.has_section_headers);
    let go = a.go.expect("build info from the data segment");
    assert_eq!(go.settings["CGO_ENABLED"], "0");
}

/// The OS a file was built for comes from Go's GOOS, an ABI note, or the OS/ABI byte, in that
/// order; a file that records none has none.
#[test]
fn target_os_from_goos_note_and_os_abi_byte() {
    let os_of = |data: &[u8]| binslim::elf::analyze(data).unwrap().os;
    let read = |name: &str| std::fs::read(fixture(name)).unwrap();
    let some = |s: &str| Some(s.to_string());
    assert_eq!(os_of(&read("go-static")), some("linux")); // GOOS
    assert_eq!(os_of(&read("c-static")), some("linux")); // .note.ABI-tag
    assert_eq!(os_of(&read("rust-dynamic")), some("linux"));
    assert_eq!(os_of(&read("musl-static")), None); // musl records nothing
    assert_eq!(os_of(&read("arm64-static")), None);

    let freebsd = read("freebsd-static");
    assert_eq!(freebsd[7], 9, "EI_OSABI is FreeBSD");
    assert_eq!(os_of(&freebsd), some("freebsd"));
    // The note alone.
    let mut note_only = freebsd.clone();
    note_only[7] = 0;
    assert_eq!(os_of(&note_only), some("freebsd"));
    // The text report names it where the OS/ABI byte does not.
    let dir = common::tempdir();
    let f = dir.path().join("note-only");
    std::fs::write(&f, &note_only).unwrap();
    let text = stdout_of(
        Std::new(env!("CARGO_BIN_EXE_binslim"))
            .arg("inspect")
            .arg(&f),
    );
    assert_eq!(
        text.lines().nth(1).unwrap(),
        "  type         ELF64 little-endian x86_64 executable, built for freebsd, entry 0x401000"
    );
    // The byte alone: rename the note's owner.
    let at = freebsd
        .windows(8)
        .position(|w| w == b"FreeBSD\0")
        .expect("FreeBSD note");
    let mut byte_only = freebsd.clone();
    byte_only[at..at + 7].copy_from_slice(b"Unknown");
    assert_eq!(os_of(&byte_only), some("freebsd"));
    // Neither.
    byte_only[7] = 0;
    assert_eq!(os_of(&byte_only), None);
}

#[test]
fn rust_and_upx_facts() {
    let v = inspect_json("testdata/rust-static");
    assert!(
        v["rust"]["rustc_version"]
            .as_str()
            .unwrap()
            .starts_with("1.95.0")
    );
    assert_eq!(v["rust"]["auditable"], false);

    let v = inspect_json("testdata/upx-packed");
    assert_eq!(v["has_section_headers"], false);
    assert_eq!(v["sections"].as_array().unwrap().len(), 0);
    let upx = &v["upx"];
    let original = std::fs::metadata(fixture("musl-static")).unwrap().len();
    assert_eq!(upx["original_size"].as_u64(), Some(original));
    assert!(upx["method"].is_string());

    assert_eq!(inspect_json("testdata/c-static")["upx"], Value::Null);
}

#[test]
fn sizes_add_up() {
    let v = inspect_json("testdata/c-debug");
    assert_eq!(v["stripped"], false);
    let debug = v["debug_size"].as_u64().unwrap();
    let symbols = v["symbols_size"].as_u64().unwrap();
    assert!(debug > 0 && symbols > 0);
    assert_eq!(v["categories"]["debug"].as_u64(), Some(debug));
    assert_eq!(v["categories"]["symbols"].as_u64(), Some(symbols));
    let size = v["file_size"].as_u64().unwrap();
    assert_eq!(size, std::fs::metadata(fixture("c-debug")).unwrap().len());

    // strippable_size is what GNU strip --strip-all removes, within section alignment padding.
    let dir = common::tempdir();
    let out = dir.path().join("stripped");
    gnu_strip(&["--strip-all"], &fixture("c-debug"), Some(&out));
    let removed = size - std::fs::metadata(&out).unwrap().len();
    let strippable = v["strippable_size"].as_u64().unwrap();
    assert!(
        strippable.abs_diff(removed) <= 64,
        "strippable {strippable} vs removed by strip {removed}"
    );

    let v = inspect_json("testdata/go-static");
    assert_eq!(v["stripped"], true);
    assert_eq!(v["debug_size"], 0);
}

// ---- errors -------------------------------------------------------------------------------

fn fails_with(args: &[&str], code: i32, stderr: &str) {
    let out = binslim().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(code), "{args:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(stderr), "{args:?}: stderr was {err:?}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
}

#[test]
fn error_messages_and_exit_codes() {
    fails_with(
        &["inspect", "testdata/nope"],
        2,
        "binslim: testdata/nope: not found\n",
    );
    fails_with(
        &["inspect", "testdata"],
        2,
        "binslim: testdata: is a directory\n",
    );
    fails_with(
        &["inspect", "testdata/empty"],
        2,
        "binslim: testdata/empty: is empty\n",
    );
    fails_with(
        &["inspect", "testdata/script.sh"],
        2,
        "binslim: testdata/script.sh: is a script (#!/bin/sh), not an ELF binary\n",
    );
    fails_with(
        &["inspect", "testdata/not-elf.txt"],
        2,
        "binslim: testdata/not-elf.txt: is a text file, not an ELF binary\n",
    );
    // truncated-elf is the first 4 KiB of c-static: its section header table ends where
    // c-static's does.
    let full = std::fs::read(fixture("c-static")).unwrap();
    let shoff = u64::from_le_bytes(full[0x28..0x30].try_into().unwrap());
    let shnum = u64::from(u16::from_le_bytes(full[0x3c..0x3e].try_into().unwrap()));
    fails_with(
        &["inspect", "testdata/truncated-elf"],
        2,
        &format!(
            "binslim: testdata/truncated-elf: truncated ELF: section headers end at byte {} of 4096\n",
            shoff + shnum * 64
        ),
    );
    fails_with(&["inspect"], 2, "Usage: binslim inspect");
    fails_with(
        &["inspect", "--bogus", "x"],
        2,
        "unexpected argument '--bogus'",
    );
}

#[test]
fn other_formats_are_named() {
    let dir = common::tempdir();
    let cases: &[(&str, &[u8], &str)] = &[
        (
            "macho",
            &[0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1],
            "is a Mach-O file, not an ELF binary",
        ),
        (
            "pe.exe",
            b"MZ\x90\x00\x03\x00",
            "is a PE/COFF (Windows) file, not an ELF binary",
        ),
        (
            "lib.a",
            b"!<arch>\nfoo",
            "is an ar archive (a static library), not an ELF binary",
        ),
        (
            "bad-class",
            b"\x7fELF\x07\x01\x01\0\0\0\0\0\0\0\0\0",
            "malformed ELF: unknown ELF class 7",
        ),
        (
            "short",
            b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0",
            "truncated ELF: the ELF header ends at byte 64 of 18",
        ),
    ];
    for (name, bytes, msg) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let out = binslim().arg("inspect").arg(&p).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err, format!("binslim: {}: {msg}\n", p.display()), "{name}");
    }
}

#[test]
fn one_bad_file_does_not_stop_the_others() {
    let out = binslim()
        .args(["inspect", "--json", "testdata/nope", "testdata/c-static"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 2);
    assert_eq!(arr[0]["path"], "testdata/nope");
    assert_eq!(arr[0]["error"], "not found");
    assert_eq!(arr[1]["linkage"], "static");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "binslim: testdata/nope: not found\n"
    );

    let text = binslim()
        .args([
            "inspect",
            "testdata/c-static",
            "testdata/empty",
            "testdata/go-pie",
        ])
        .output()
        .unwrap();
    assert_eq!(text.status.code(), Some(2));
    let s = String::from_utf8_lossy(&text.stdout);
    assert!(s.starts_with("testdata/c-static\n"));
    assert!(s.contains("\ntestdata/go-pie\n"));
}

#[test]
fn broken_pipe_is_not_an_error() {
    use std::process::Stdio;
    let mut child = Std::new(env!("CARGO_BIN_EXE_binslim"))
        .current_dir(common::root())
        .args(["inspect", "--sections"])
        .args(std::iter::repeat_n("testdata/go-pie", 200))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn real_binaries_on_this_machine() {
    // Not fixtures: checked when present (the development machine has them all).
    let cases = [
        ("/usr/bin/git", "dynamic"),
        ("/usr/local/bin/docker", "static"),
        ("/usr/local/bin/terraform", "static"),
        ("/usr/local/bin/cargo-nextest", "dynamic"),
        ("/bin/busybox", "static"),
    ];
    for (path, linkage) in cases {
        if !Path::new(path).exists() {
            eprintln!("skipped {path}: not on this machine");
            continue;
        }
        let out = binslim()
            .args(["inspect", "--json", path])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{path}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v[0]["linkage"], linkage, "{path}");
        // Go binaries among them: version and CGO_ENABLED as `go version -m` reports them.
        if let (Some(go), false) = (go_tool(), v[0]["go"].is_null()) {
            let m = stdout_of(Std::new(go).args(["version", "-m", path]));
            let version = m.lines().next().unwrap().split(": ").nth(1).unwrap();
            assert_eq!(v[0]["go"]["version"], version, "{path}");
            let cgo = m
                .lines()
                .find_map(|l| l.trim().strip_prefix("build\tCGO_ENABLED="))
                .unwrap();
            assert_eq!(v[0]["go"]["settings"]["CGO_ENABLED"], cgo, "{path}");
        }
    }
}

/// Builds `testdata/src/go-hello` with Go 1.23 as `go build` does without `-trimpath` (which
/// would drop `-ldflags` from the recorded settings), with `env` and `-ldflags=LDFLAGS`, into a
/// temporary directory; the build cache is kept in `CARGO_TARGET_TMPDIR` between runs. `None`
/// when Go is not installed.
fn go_build_ldflags(env: &[(&str, &str)], ldflags: &str) -> Option<(tempfile::TempDir, String)> {
    let go = go_tool()?;
    let dir = common::tempdir();
    let exe = dir.path().join("hello");
    let ldflags = format!("-ldflags={ldflags}");
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("go-cache-ldflags");
    common::go_build_at(&go, "go-hello", &exe, env, &[&ldflags], &cache);
    let exe = exe.to_str().unwrap().to_string();
    Some((dir, exe))
}

/// The Go settings inspect's text shows are written exactly as `go version -m` prints them,
/// quotes and escapes included (`-ldflags="-s -w"`, `\"` inside a quoted value).
#[test]
fn go_settings_are_shown_as_go_version_m_prints_them() {
    let arm64 = [("GOOS", "linux"), ("GOARCH", "arm64"), ("CGO_ENABLED", "0")];
    for ldflags in ["-s -w", r#"-s -w -X "main.msg=a b""#] {
        let Some((_dir, exe)) = go_build_ldflags(&arm64, ldflags) else {
            return;
        };
        let go = go_tool().unwrap();
        let printed = stdout_of(Std::new(&go).args(["version", "-m"]).arg(&exe));
        let go_lines: BTreeMap<&str, &str> = printed
            .lines()
            .filter_map(|l| l.trim().strip_prefix("build\t"))
            .map(|s| (s.split('=').next().unwrap(), s))
            .collect();
        let out = binslim().arg("inspect").arg(&exe).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8(out.stdout).unwrap();
        // The settings rows: the lines after the `go` row, indented past the key column.
        let rows: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.starts_with("  go "))
            .skip(1)
            .take_while(|l| l.starts_with("               "))
            .map(str::trim)
            .collect();
        let shown = rows.join(" ");
        let want: Vec<&str> = ["CGO_ENABLED", "-buildmode", "-ldflags", "GOOS", "GOARCH"]
            .iter()
            .map(|k| go_lines[k])
            .collect();
        assert_eq!(shown, want.join(" "), "{printed}\n{text}");
        if ldflags == "-s -w" {
            assert_eq!(go_lines["-ldflags"], r#"-ldflags="-s -w""#);
        } else {
            assert_eq!(
                go_lines["-ldflags"],
                r#"-ldflags="-s -w -X \"main.msg=a b\"""#
            );
        }
        let j = inspect_json(&exe);
        assert_eq!(j["go"]["settings"]["-ldflags"], ldflags);
    }
}

/// What `binslim shrink`'s `strip-debug` and `strip-symbols` steps saved, from its JSON ledger.
fn ledger_strip_saved(path: &str) -> u64 {
    let dir = common::tempdir();
    let out = binslim()
        .args(["shrink", "--json", "--no-gzip", "-o"])
        .arg(dir.path().join("out"))
        .arg(path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    j["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["step"] == "strip-debug" || s["step"] == "strip-symbols")
        .map(|s| s["saved"].as_u64().unwrap())
        .sum()
}

/// inspect's `strippable_size` forecast is what shrink's strip steps then save, alignment
/// padding included: a `-s -w` Go build for arm64 (64 KiB-aligned, no debug data, no symbols)
/// still gives shrink padding to drop, and the fixtures agree to the byte.
#[test]
fn strippable_forecast_equals_what_the_strip_steps_save() {
    let arm64 = [("GOOS", "linux"), ("GOARCH", "arm64"), ("CGO_ENABLED", "0")];
    let Some((_dir, exe)) = go_build_ldflags(&arm64, "-s -w") else {
        return;
    };
    let sections = stdout_of(Std::new("readelf").arg("-SW").arg(&exe));
    assert!(
        !sections.contains(".symtab") && !sections.contains(".debug_"),
        "{sections}"
    );
    let saved = ledger_strip_saved(&exe);
    assert!(saved > 16 << 10, "64 KiB alignment leaves padding: {saved}");
    let j = inspect_json(&exe);
    assert_eq!(j["strippable_size"].as_u64(), Some(saved), "{exe}");
    assert_eq!(j["stripped"], true);
    let out = binslim().arg("inspect").arg(&exe).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let want = format!(
        "stripped; {} strippable (alignment padding and section tables)",
        binslim::units::human(saved)
    );
    assert!(text.contains(&want), "{text}");

    for name in [
        "c-debug",
        "c-static",
        "c-static-pie",
        "musl-static",
        "go-static",
        "go-pie",
        "go-tls",
        "rust-dynamic",
        "arm64-static",
        "i386-static",
        "libgreet.so",
    ] {
        let path = format!("testdata/{name}");
        let saved = ledger_strip_saved(fixture(name).to_str().unwrap());
        assert_eq!(
            inspect_json(&path)["strippable_size"].as_u64(),
            Some(saved),
            "{name}"
        );
    }
}
