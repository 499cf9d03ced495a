//! CPU levels: what `inspect` reads as `cpu_level` (checked against readelf and `go version -m`),
//! and how `verify --platform OS/ARCH/VARIANT`, `TARGETPLATFORM`/`TARGETVARIANT` and
//! `verify --image` judge it. Go programs are cross-built at test time; the C fixtures are
//! `musl-x86-64-v3`, `arm-v6` and `arm-v7` (see testdata/build.sh).

mod common;

use std::fs;
use std::path::Path;
use std::process::Command as Std;

use common::{
    binslim, codes, docker_archive, fixture, go_build, have_tool, inspect_json, raw_entry, sha256,
    stdout_of,
};
use serde_json::Value;

fn inspect_text(path: &Path) -> String {
    let out = binslim().arg("inspect").arg(path).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// `verify --json --platform P FILE` with `env`: (exit code, the file's report).
fn verify(platform: Option<&str>, path: &Path, env: &[(&str, &str)]) -> (i32, Value) {
    let mut cmd = binslim();
    cmd.args(["verify", "--json"]);
    if let Some(p) = platform {
        cmd.args(["--platform", p]);
    }
    let out = cmd
        .arg(path)
        .env_remove("TARGETPLATFORM")
        .env_remove("TARGETVARIANT")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), v[0].clone())
}

/// Asserts one `wrong-cpu-level` failure with exactly this message and fix.
fn assert_level_failure(platform: &str, path: &Path, message: &str, hint: &str) {
    let (code, file) = verify(Some(platform), path, &[]);
    assert_eq!(code, 1, "{platform}: {file}");
    assert_eq!(codes(&file["problems"]), ["wrong-cpu-level"], "{file}");
    assert_eq!(file["problems"][0]["message"], message);
    assert_eq!(file["problems"][0]["hint"], hint);
}

fn assert_passes(platform: &str, path: &Path) {
    let (code, file) = verify(Some(platform), path, &[]);
    assert_eq!(
        (code, file["verdict"].as_str()),
        (0, Some("pass")),
        "{platform}: {file}"
    );
}

/// What readelf says the file needs: the last "x86 ISA needed" entry, or `arm` + the lower-cased
/// `Tag_CPU_arch`; `None` when it says neither.
fn readelf_level(path: &Path) -> Option<String> {
    let notes = stdout_of(Std::new("readelf").arg("-nW").arg(path));
    if let Some(line) = notes
        .lines()
        .find_map(|l| l.split("x86 ISA needed: ").nth(1))
    {
        return line.rsplit(", ").next().map(str::to_string);
    }
    let attrs = stdout_of(Std::new("readelf").arg("-AW").arg(path));
    attrs
        .lines()
        .find_map(|l| l.trim().strip_prefix("Tag_CPU_arch: "))
        .map(|v| format!("arm{}", v.to_lowercase()))
}

/// Every committed ELF fixture that is not a Go program: binslim's `cpu_level` is what readelf
/// prints, and null where readelf prints nothing.
#[test]
fn c_and_rust_levels_agree_with_readelf() {
    if !have_tool("readelf") {
        return;
    }
    let mut seen = Vec::new();
    for entry in fs::read_dir(common::root().join("testdata")).unwrap() {
        let path = entry.unwrap().path();
        let bytes = fs::read(&path).unwrap_or_default();
        if !path.is_file() || !bytes.starts_with(b"\x7fELF") || path.ends_with("truncated-elf") {
            continue;
        }
        let v = inspect_json(&path);
        if !v["go"].is_null() {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            v["cpu_level"].as_str().map(str::to_string),
            readelf_level(&path),
            "{name}"
        );
        if let Some(level) = v["cpu_level"].as_str() {
            seen.push(format!("{name}={level}"));
        }
    }
    seen.sort();
    // The levels the fixtures record (gcc's crt files say baseline; musl's and lld's say nothing).
    assert_eq!(
        seen,
        [
            "arm-v6=armv6",
            "arm-v7=armv7",
            "c-debug=x86-64-baseline",
            "c-dynamic-pie=x86-64-baseline",
            "c-nopie=x86-64-baseline",
            "c-rpath-old=x86-64-baseline",
            "c-rpath=x86-64-baseline",
            "c-static-pie=x86-64-baseline",
            "c-static=x86-64-baseline",
            "musl-x86-64-v3=x86-64-v3",
        ]
    );
}

/// `-march=x86-64-v3 -Wl,-z,x86-64-v3` (static musl): fails linux/amd64/v1 and v2 with the C
/// fix, passes v3, v4 and the variant-less linux/amd64.
#[test]
fn c_x86_64_v3_fails_below_v3() {
    let path = fixture("musl-x86-64-v3");
    let text = inspect_text(&path);
    assert!(
        text.contains("\n  cpu level    x86-64-v3 (x86 ISA needed in .note.gnu.property)\n"),
        "{text}"
    );
    assert_level_failure(
        "linux/amd64/v2",
        &path,
        "needs x86-64-v3 (x86 ISA needed in .note.gnu.property), but the target platform \
         linux/amd64/v2 promises only x86-64-v2: on such a CPU it fails with SIGILL \
         (illegal instruction)",
        "compile with -march=x86-64-v2 and link with -Wl,-z,x86-64-v2 (the note says x86-64-v3: \
         from -Wl,-z,x86-64-v3 or gcc -mneeded)",
    );
    assert_level_failure(
        "linux/amd64/v1",
        &path,
        "needs x86-64-v3 (x86 ISA needed in .note.gnu.property), but the target platform \
         linux/amd64/v1 promises only x86-64-baseline: on such a CPU it fails with SIGILL \
         (illegal instruction)",
        "compile with -march=x86-64 and link with -Wl,-z,x86-64-baseline (the note says \
         x86-64-v3: from -Wl,-z,x86-64-v3 or gcc -mneeded)",
    );
    for p in ["linux/amd64/v3", "linux/amd64/v4", "linux/amd64"] {
        assert_passes(p, &path);
    }
    // Text report: the reason and the fix.
    let out = binslim()
        .args(["verify", "--platform", "linux/amd64/v2"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("\n  fix: compile with -march=x86-64-v2 and link with"),
        "{text}"
    );
}

/// A file that records no level passes every variant: only a recorded level can fail.
#[test]
fn files_that_record_no_level_pass_every_variant() {
    let musl = fixture("musl-static");
    assert!(inspect_json(&musl)["cpu_level"].is_null());
    assert_passes("linux/amd64/v1", &musl);
    let arm64 = fixture("arm64-static");
    assert!(inspect_json(&arm64)["cpu_level"].is_null());
    assert_passes("linux/arm64/v8", &arm64);
    // Another architecture is still the architecture failure, not a level one.
    let (code, file) = verify(Some("linux/arm/v6"), &fixture("musl-x86-64-v3"), &[]);
    assert_eq!(code, 1);
    assert_eq!(codes(&file["problems"]), ["wrong-platform"]);
}

/// C for 32-bit ARM: `Tag_CPU_arch` v7 fails linux/arm/v6, passes linux/arm/v7; v6 passes v6.
#[test]
fn c_arm_levels_from_attributes() {
    let v7 = fixture("arm-v7");
    let v6 = fixture("arm-v6");
    assert_eq!(inspect_json(&v7)["cpu_level"], "armv7");
    assert_eq!(inspect_json(&v6)["cpu_level"], "armv6");
    assert_level_failure(
        "linux/arm/v6",
        &v7,
        "needs armv7 (Tag_CPU_arch in .ARM.attributes), but the target platform linux/arm/v6 \
         promises only armv6: on such a CPU it fails with SIGILL (illegal instruction)",
        "compile with -march=armv6+fp (-march=armv6 for soft-float) and libraries built for it: \
         Debian's armhf is ARMv7, armel ARMv5",
    );
    assert_passes("linux/arm/v7", &v7);
    assert_passes("linux/arm/v8", &v7);
    assert_passes("linux/arm/v6", &v6);
    assert_level_failure(
        "linux/arm/v5",
        &v6,
        "needs armv6 (Tag_CPU_arch in .ARM.attributes), but the target platform linux/arm/v5 \
         promises only armv5: on such a CPU it fails with SIGILL (illegal instruction)",
        "compile with -march=armv5+fp (-march=armv5 for soft-float) and libraries built for it: \
         Debian's armhf is ARMv7, armel ARMv5",
    );
}

/// Builds go-hello for `env` and checks that `go version -m` records `setting`.
fn go_hello(
    env: &[(&str, &str)],
    setting: &str,
) -> Option<(tempfile::TempDir, std::path::PathBuf)> {
    let mut all = vec![("CGO_ENABLED", "0")];
    all.extend_from_slice(env);
    let (dir, exe) = go_build("go-hello", "hello", &all, &["-ldflags=-s -w"])?;
    let go = common::go_tool()?;
    let m = stdout_of(Std::new(go).args(["version", "-m"]).arg(&exe));
    assert!(m.contains(&format!("\tbuild\t{setting}\n")), "{m}");
    Some((dir, exe))
}

/// `GOAMD64=v3`: linux/amd64/v2 fails with `GOAMD64=v2`, linux/amd64/v3 passes.
#[test]
fn go_amd64_v3() {
    let Some((_dir, exe)) = go_hello(&[("GOAMD64", "v3")], "GOAMD64=v3") else {
        return;
    };
    assert_eq!(inspect_json(&exe)["cpu_level"], "x86-64-v3");
    let text = inspect_text(&exe);
    assert!(
        text.contains("\n  cpu level    x86-64-v3 (GOAMD64=v3 in the Go build info)\n"),
        "{text}"
    );
    assert_level_failure(
        "linux/amd64/v2",
        &exe,
        "needs x86-64-v3 (GOAMD64=v3 in the Go build info), but the target platform \
         linux/amd64/v2 promises only x86-64-v2: on such a CPU the Go runtime stops it at start (\"This \
         program can only be run on AMD64 processors with v3 microarchitecture support.\")",
        "build with GOAMD64=v2",
    );
    assert_passes("linux/amd64/v3", &exe);
    assert_passes("linux/amd64", &exe);
}

/// `GOARM=7` fails linux/arm/v6 with `GOARM=6` and passes linux/arm/v7; `GOARM=6` passes v6.
#[test]
fn go_arm_v7_and_v6() {
    let arm = [("GOARCH", "arm"), ("GOARM", "7")];
    let Some((_d7, v7)) = go_hello(&arm, "GOARM=7") else {
        return;
    };
    assert_eq!(inspect_json(&v7)["cpu_level"], "armv7");
    assert_level_failure(
        "linux/arm/v6",
        &v7,
        "needs armv7 (GOARM=7 in the Go build info), but the target platform linux/arm/v6 \
         promises only armv6: on such a CPU the Go runtime stops it at start (\"this CPU has no \
         VFPv3 floating point hardware\") or it fails with SIGILL (illegal instruction)",
        "build with GOARM=6",
    );
    assert_passes("linux/arm/v7", &v7);
    let Some((_d6, v6)) = go_hello(&[("GOARCH", "arm"), ("GOARM", "6")], "GOARM=6") else {
        return;
    };
    assert_eq!(inspect_json(&v6)["cpu_level"], "armv6");
    assert_passes("linux/arm/v6", &v6);
}

/// `GOARM64=v8.2` fails linux/arm64/v8 with `GOARM64=v8.0` and passes v8.2 and v9.
#[test]
fn go_arm64_levels() {
    let env = [("GOARCH", "arm64"), ("GOARM64", "v8.2")];
    let Some((_dir, exe)) = go_hello(&env, "GOARM64=v8.2") else {
        return;
    };
    assert_eq!(inspect_json(&exe)["cpu_level"], "armv8.2-a");
    assert_level_failure(
        "linux/arm64/v8",
        &exe,
        "needs armv8.2-a (GOARM64=v8.2 in the Go build info), but the target platform \
         linux/arm64/v8 promises only armv8.0-a: on such a CPU it fails with SIGILL \
         (illegal instruction)",
        "build with GOARM64=v8.0",
    );
    assert_passes("linux/arm64/v8.2", &exe);
    assert_passes("linux/arm64/v9", &exe);
    assert_passes("linux/arm64", &exe);
    // `v8.0,lse` needs the atomics Armv8.1 made mandatory: no v8.0 CPU is promised them.
    let env = [("GOARCH", "arm64"), ("GOARM64", "v8.0,lse")];
    let Some((_dir, lse)) = go_hello(&env, "GOARM64=v8.0,lse") else {
        return;
    };
    assert_eq!(inspect_json(&lse)["cpu_level"], "armv8.0-a+lse");
    assert_level_failure(
        "linux/arm64/v8",
        &lse,
        "needs armv8.0-a+lse (GOARM64=v8.0,lse in the Go build info), but the target platform \
         linux/arm64/v8 promises only armv8.0-a: on such a CPU it fails with SIGILL (illegal \
         instruction)",
        "build with GOARM64=v8.0",
    );
    assert_passes("linux/arm64/v8.1", &lse);
}

/// BuildKit's `TARGETPLATFORM` and `TARGETVARIANT` stand in for `--platform`; `--platform`
/// wins over them; a disagreement or an unknown variant is a usage error (exit 2).
#[test]
fn target_variant_is_honoured() {
    let v7 = fixture("arm-v7");
    let env = |pairs: &[(&str, &str)]| verify(None, &v7, pairs);
    let (code, file) = env(&[("TARGETPLATFORM", "linux/arm"), ("TARGETVARIANT", "v6")]);
    assert_eq!(code, 1);
    assert_eq!(codes(&file["problems"]), ["wrong-cpu-level"]);
    assert!(
        file["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("the target platform linux/arm/v6 promises only armv6")
    );
    assert_eq!(env(&[("TARGETPLATFORM", "linux/arm/v6")]).0, 1);
    assert_eq!(env(&[("TARGETPLATFORM", "linux/arm/v7")]).0, 0);
    assert_eq!(
        env(&[("TARGETPLATFORM", "linux/arm"), ("TARGETVARIANT", "v7")]).0,
        0
    );
    // Without TARGETPLATFORM a variant names no architecture: nothing to check.
    assert_eq!(env(&[("TARGETVARIANT", "v6")]).0, 0);
    // --platform wins.
    let (code, _) = verify(
        Some("linux/arm/v7"),
        &v7,
        &[("TARGETPLATFORM", "linux/arm/v6")],
    );
    assert_eq!(code, 0);

    let usage = |pairs: &[(&str, &str)], args: &[&str], stderr: &str| {
        let out = binslim()
            .arg("verify")
            .args(args)
            .arg(&v7)
            .env_remove("TARGETPLATFORM")
            .env_remove("TARGETVARIANT")
            .envs(pairs.iter().copied())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        assert!(out.stdout.is_empty());
        assert_eq!(String::from_utf8_lossy(&out.stderr), stderr);
    };
    usage(
        &[("TARGETPLATFORM", "linux/arm/v7"), ("TARGETVARIANT", "v6")],
        &[],
        "binslim: TARGETPLATFORM 'linux/arm/v7' and TARGETVARIANT 'v6' disagree: set one of them\n",
    );
    usage(
        &[("TARGETPLATFORM", "linux/arm"), ("TARGETVARIANT", "v9")],
        &[],
        "binslim: TARGETPLATFORM/TARGETVARIANT: unknown variant 'v9' in platform 'linux/arm/v9': \
         linux/arm has v5, v6, v7 and v8\n",
    );
    usage(
        &[],
        &["--platform", "linux/amd64/v5"],
        "binslim: unknown variant 'v5' in platform 'linux/amd64/v5': linux/amd64 has v1, v2, v3 \
         and v4 (x86-64 levels)\n",
    );
}

/// A docker-archive whose one (uncompressed) layer holds `program` as /server, with a config
/// for linux/`arch`[/`variant`].
fn image_of(path: &Path, program: &Path, arch: &str, variant: Option<&str>) {
    let mut layer = raw_entry("server", &fs::read(program).unwrap());
    layer.extend_from_slice(&[0; 1024]);
    let variant = variant
        .map(|v| format!(r#""variant":"{v}","#))
        .unwrap_or_default();
    let cfg = format!(
        r#"{{"architecture":"{arch}",{variant}"os":"linux","config":{{"Entrypoint":["/server"]}},"rootfs":{{"type":"layers","diff_ids":["sha256:{}"]}}}}"#,
        sha256(&layer)
    );
    fs::write(path, docker_archive(&layer, &cfg)).unwrap();
}

/// `verify --image` checks the level against the variant of the image's config; a variant
/// binslim does not know still gets the architecture check.
#[test]
fn image_config_variant_is_checked() {
    let dir = common::tempdir();
    let run = |name: &str, program: &str, arch: &str, variant: Option<&str>| {
        let tar = dir.path().join(name);
        image_of(&tar, &fixture(program), arch, variant);
        let out = binslim()
            .args(["verify", "--json", "--image"])
            .arg(&tar)
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code().unwrap(), v[0].clone())
    };
    let (code, file) = run("v2.tar", "musl-x86-64-v3", "amd64", Some("v2"));
    assert_eq!(code, 1, "{file}");
    assert_eq!(codes(&file["problems"]), ["wrong-cpu-level"]);
    assert!(
        file["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("the target platform linux/amd64/v2 promises only x86-64-v2")
    );
    assert_eq!(run("v3.tar", "musl-x86-64-v3", "amd64", Some("v3")).0, 0);
    assert_eq!(run("none.tar", "musl-x86-64-v3", "amd64", None).0, 0);
    let (code, file) = run("arm6.tar", "arm-v7", "arm", Some("v6"));
    assert_eq!(
        (code, codes(&file["problems"])),
        (1, vec!["wrong-cpu-level".to_string()])
    );
    assert_eq!(run("arm7.tar", "arm-v7", "arm", Some("v7")).0, 0);
    // An unknown variant: no level check, but the architecture still is one.
    assert_eq!(run("odd.tar", "musl-x86-64-v3", "amd64", Some("v9")).0, 0);
    let (code, file) = run("odd-arch.tar", "arm-v7", "amd64", Some("v9"));
    assert_eq!(
        (code, codes(&file["problems"])),
        (1, vec!["wrong-platform".to_string()])
    );
}

/// Builds testdata/src/rust/main.rs static (+crt-static) with `flags`; `None` without rustc.
fn rust_build(dir: &Path, name: &str, flags: &[&str]) -> Option<std::path::PathBuf> {
    if !have_tool("rustc") {
        return None;
    }
    let exe = dir.join(name);
    let out = Std::new("rustc")
        .args([
            "--edition",
            "2021",
            "-C",
            "opt-level=s",
            "-C",
            "panic=abort",
        ])
        .args(["-C", "target-feature=+crt-static"])
        .args(flags)
        .arg("-o")
        .arg(&exe)
        .arg(fixture("src/rust/main.rs"))
        .env("FIXTURE_NAME", name)
        .output()
        .unwrap();
    assert!(out.status.success(), "rustc {flags:?}: {out:?}");
    Some(exe)
}

/// Rust: `-C target-cpu=x86-64-v3` alone records nothing (so nothing can fail); linked by GNU
/// ld with `-z x86-64-v3` (rustc's default linker, lld, drops the option) the note says v3, and
/// the fix is given in rustc's terms.
#[test]
fn rust_level_only_when_the_linker_records_it() {
    let dir = common::tempdir();
    let Some(plain) = rust_build(dir.path(), "rust-v3", &["-C", "target-cpu=x86-64-v3"]) else {
        return;
    };
    assert!(inspect_json(&plain)["cpu_level"].is_null());
    assert_passes("linux/amd64/v2", &plain);
    let flags = [
        "-C",
        "target-cpu=x86-64-v3",
        "-C",
        "linker-features=-lld",
        "-C",
        "link-self-contained=-linker",
        "-C",
        "link-arg=-Wl,-z,x86-64-v3",
    ];
    let Some(noted) = rust_build(dir.path(), "rust-v3-noted", &flags) else {
        return;
    };
    assert_eq!(inspect_json(&noted)["cpu_level"], "x86-64-v3");
    assert_eq!(readelf_level(&noted).as_deref(), Some("x86-64-v3"));
    assert_level_failure(
        "linux/amd64/v2",
        &noted,
        "needs x86-64-v3 (x86 ISA needed in .note.gnu.property), but the target platform \
         linux/amd64/v2 promises only x86-64-v2: on such a CPU it fails with SIGILL \
         (illegal instruction)",
        "build with RUSTFLAGS='-C target-cpu=x86-64-v2' (and link with -z x86-64-v2, not -z \
         x86-64-v3)",
    );
    assert_passes("linux/amd64/v3", &noted);
}

/// Both inspect renderers of the CPU level fixtures.
#[test]
fn snapshots_of_the_level_fixtures() {
    for name in ["musl-x86-64-v3", "arm-v6", "arm-v7"] {
        let out = binslim()
            .args(["inspect", "--sections"])
            .arg(format!("testdata/{name}"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{name}");
        insta::assert_snapshot!(
            format!("inspect-text-{name}"),
            String::from_utf8(out.stdout).unwrap()
        );
        let json = binslim()
            .args(["inspect", "--json"])
            .arg(format!("testdata/{name}"))
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&json.stdout).unwrap();
        insta::assert_json_snapshot!(format!("inspect-json-{name}"), v[0]);
    }
}

/// A dynamic glibc program linked with `-z x86-64-v3`: glibc's loader (2.33 and later) refuses
/// it on an older CPU, and the reason says so; against this machine's root it is the only
/// problem.
#[test]
fn dynamic_glibc_program_names_the_loader_check() {
    if !have_tool("gcc") {
        return;
    }
    let dir = common::tempdir();
    let exe = dir.path().join("dyn-v3");
    let out = Std::new("gcc")
        .args([
            "-O2",
            "-march=x86-64-v3",
            "-Wl,-z,x86-64-v3",
            "-DNAME=\"dyn-v3\"",
            "-o",
        ])
        .arg(&exe)
        .arg(fixture("src/hello.c"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(readelf_level(&exe).as_deref(), Some("x86-64-v3"));
    let out = binslim()
        .args([
            "verify",
            "--json",
            "--root",
            "/",
            "--platform",
            "linux/amd64/v2",
        ])
        .arg(&exe)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(codes(&v[0]["problems"]), ["wrong-cpu-level"]);
    assert_eq!(
        v[0]["problems"][0]["message"],
        "needs x86-64-v3 (x86 ISA needed in .note.gnu.property), but the target platform \
         linux/amd64/v2 promises only x86-64-v2: on such a CPU glibc's loader refuses it (\"CPU \
         ISA level is lower than required\")"
    );
}
