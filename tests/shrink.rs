//! `binslim shrink` end to end: every runnable fixture still runs the same after shrinking (with
//! and without upx), results are never larger than GNU strip's, the ledger text and JSON agree,
//! and every failure path exits with the documented status and message.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::Command as Cmd;
use serde_json::Value;

fn testdata(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name);
    assert!(
        p.exists(),
        "missing fixture {} (run testdata/build.sh)",
        p.display()
    );
    p
}

fn binslim() -> Cmd {
    Cmd::cargo_bin("binslim").unwrap()
}

/// Copies a fixture into a fresh temporary directory.
fn copy_fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = common::tempdir();
    let dst = dir.path().join(Path::new(name).file_name().unwrap());
    fs::copy(testdata(name), &dst).unwrap();
    (dir, dst)
}

/// Runs a program: stdout and exit code.
fn run(p: &Path) -> (String, Option<i32>) {
    // A file written by this test process can be briefly "busy" (ETXTBSY) while another test
    // thread forks with its write descriptor still open: retry that, fail on anything else.
    let mut tries = 0;
    let out = loop {
        match Command::new(p).output() {
            Err(e) if e.raw_os_error() == Some(26) && tries < 50 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            r => break r.unwrap_or_else(|e| panic!("cannot start {}: {e}", p.display())),
        }
    };
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code(),
    )
}

fn tool(name: &str) -> bool {
    common::have_tool(name)
}

/// Fixtures that run on this machine and print one line.
const RUNNABLE: &[&str] = &[
    "c-dynamic-pie",
    "c-nopie",
    "c-debug",
    "c-static",
    "c-static-pie",
    "musl-static",
    "musl-dynamic",
    "go-static",
    "go-cgo",
    "go-pie",
    "go-tls",
    "go-tls-embedded",
    "rust-static",
    "rust-dynamic",
];

/// Masks durations in text output: none are printed, but keep snapshots stable anyway.
fn json_of(out: &[u8]) -> Value {
    serde_json::from_slice(out).unwrap()
}

/// The stdout of a command that must succeed.
fn success_stdout(cmd: &mut assert_cmd::Command) -> Vec<u8> {
    cmd.assert().success().get_output().stdout.clone()
}

#[test]
fn every_fixture_runs_the_same_after_shrink_and_is_no_larger_than_gnu_strip() {
    for name in RUNNABLE {
        let (dir, f) = copy_fixture(name);
        let before = run(&f);
        assert_eq!(before.1, Some(0), "{name} runs");
        binslim().arg("shrink").arg(&f).assert().success();
        assert_eq!(run(&f), before, "{name} after shrink");
        if tool("strip") {
            let gnu = dir.path().join("gnu");
            let st = Command::new("strip")
                .arg("--strip-all")
                .arg("-o")
                .arg(&gnu)
                .arg(testdata(name))
                .status()
                .unwrap();
            assert!(st.success());
            let ours = fs::metadata(&f).unwrap().len();
            let theirs = fs::metadata(&gnu).unwrap().len();
            assert!(ours <= theirs, "{name}: {ours} > GNU strip's {theirs}");
        }
    }
}

#[test]
fn every_fixture_runs_the_same_after_shrink_upx() {
    if !tool("upx") {
        return;
    }
    for name in RUNNABLE {
        let (_dir, f) = copy_fixture(name);
        let before = run(&f);
        let j = json_of(&success_stdout(
            binslim().args(["shrink", "--upx", "--json"]).arg(&f),
        ));
        assert_eq!(run(&f), before, "{name} after shrink --upx");
        let outcome = j["upx"]["outcome"].as_str().unwrap();
        assert!(
            outcome == "packed" || outcome == "declined",
            "{name}: {outcome}"
        );
        if outcome == "packed" {
            assert_eq!(j["upx"]["tested"], true);
            let a = binslim()
                .arg("inspect")
                .arg("--json")
                .arg(&f)
                .output()
                .unwrap();
            let a: Value = serde_json::from_slice(&a.stdout).unwrap();
            assert!(a[0]["upx"].is_object(), "{name} is packed");
        }
    }
}

#[test]
fn go_build_info_survives() {
    let (_dir, f) = copy_fixture("go-pie");
    binslim().arg("shrink").arg(&f).assert().success();
    let out = binslim()
        .args(["inspect", "--json"])
        .arg(&f)
        .output()
        .unwrap();
    let a: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(a[0]["go"]["version"].as_str().unwrap().starts_with("go1."));
    assert_eq!(a[0]["stripped"], true);
    assert_eq!(a[0]["debug_size"], 0);
    if let Some(go) = common::go_tool() {
        let out = Command::new(go)
            .args(["version", "-m"])
            .arg(&f)
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("\tpath\t"), "{text}");
        assert!(text.contains("build\tGOOS=linux"), "{text}");
    }
}

/// Text ledger with the path replaced, for snapshots.
fn ledger_text(name: &str, extra: &[&str]) -> (String, Value) {
    let (dir, f) = copy_fixture(name);
    let out = success_stdout(binslim().arg("shrink").args(extra).arg(&f));
    let text = String::from_utf8(out)
        .unwrap()
        .replace(&f.display().to_string(), name);
    let (_dir2, g) = copy_fixture(name);
    let out = success_stdout(binslim().args(["shrink", "--json"]).args(extra).arg(&g));
    drop(dir);
    (text, json_of(&out))
}

/// The text ledger shows the same sizes as the JSON.
fn check_json_matches_text(text: &str, j: &Value) {
    for s in j["steps"].as_array().unwrap() {
        let step = s["step"].as_str().unwrap();
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{step} ")))
            .unwrap_or_else(|| panic!("no line for {step} in\n{text}"));
        if s["changed"] == true || step == "original" {
            let size = binslim::report::human(s["size"].as_u64().unwrap());
            assert!(line.contains(&size), "{line} lacks {size}");
            if let Some(g) = s["gzip_size"].as_u64() {
                assert!(line.contains(&binslim::report::human(g)), "{line}");
            }
        } else {
            assert!(line.contains("unchanged"), "{line}");
        }
    }
    let summary = format!(
        "{} → {}",
        binslim::report::human(j["original_size"].as_u64().unwrap()),
        binslim::report::human(j["size"].as_u64().unwrap())
    );
    assert!(text.contains(&summary), "{summary} not in\n{text}");
}

#[test]
fn ledgers_for_go_c_musl_static_pie_and_rust() {
    for name in [
        "go-pie",
        "c-static",
        "c-dynamic-pie",
        "musl-static",
        "c-static-pie",
        "rust-static",
    ] {
        let (text, j) = ledger_text(name, &[]);
        check_json_matches_text(&text, &j);
        let steps: Vec<&str> = j["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["step"].as_str().unwrap())
            .collect();
        assert_eq!(
            steps,
            ["original", "strip-debug", "strip-symbols", "strip-other"]
        );
        let mut j = j;
        for s in j["steps"].as_array_mut().unwrap() {
            s["duration_ms"] = Value::from(0);
        }
        j["input"] = Value::from(name);
        j["output"] = Value::from(name);
        insta::assert_snapshot!(format!("ledger-{name}"), text);
        insta::assert_json_snapshot!(format!("json-{name}"), j);
    }
}

#[test]
fn o_leaves_the_input_byte_identical() {
    let (dir, f) = copy_fixture("c-static");
    let before = fs::read(&f).unwrap();
    let out = dir.path().join("small");
    binslim()
        .arg("shrink")
        .arg(&f)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    assert_eq!(fs::read(&f).unwrap(), before);
    assert!(fs::metadata(&out).unwrap().len() < before.len() as u64);
    assert_eq!(run(&out), run(&f));
    // No temporary files left behind.
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn o_to_an_existing_file_is_refused_without_force() {
    let (dir, f) = copy_fixture("c-static");
    let out = dir.path().join("exists");
    fs::write(&out, b"keep me").unwrap();
    binslim()
        .arg("shrink")
        .arg(&f)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "already exists; binslim does not replace an existing -o file unless --force is given",
        ));
    assert_eq!(fs::read(&out).unwrap(), b"keep me");
    binslim()
        .arg("shrink")
        .arg(&f)
        .arg("-o")
        .arg(&out)
        .arg("--force")
        .assert()
        .success();
    assert_eq!(run(&out), run(&f));
}

#[test]
fn in_place_keeps_mode_and_replaces_a_symlink_target() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, f) = copy_fixture("musl-static");
    fs::set_permissions(&f, fs::Permissions::from_mode(0o750)).unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&f, &link).unwrap();
    binslim().arg("shrink").arg(&link).assert().success();
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let meta = fs::metadata(&f).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o750);
    assert!(meta.len() < fs::metadata(testdata("musl-static")).unwrap().len());
    assert_eq!(run(&f).1, Some(0));
}

#[test]
fn several_files_in_place() {
    let (_d1, a) = copy_fixture("c-static");
    let (_d2, b) = copy_fixture("musl-static");
    binslim().arg("shrink").arg(&a).arg(&b).assert().success();
    assert!(fs::metadata(&a).unwrap().len() < fs::metadata(testdata("c-static")).unwrap().len());
    assert!(fs::metadata(&b).unwrap().len() < fs::metadata(testdata("musl-static")).unwrap().len());
}

#[test]
fn refusals_exit_2_with_a_clear_message() {
    let cases = [
        ("upx-packed", "is already packed with UPX"),
        (
            "c-object.o",
            "is a relocatable object (.o), not a program: link it first",
        ),
        ("not-elf.txt", "is a text file, not an ELF binary"),
    ];
    for (name, msg) in cases {
        let (_dir, f) = copy_fixture(name);
        let before = fs::read(&f).unwrap();
        binslim()
            .arg("shrink")
            .arg(&f)
            .assert()
            .code(2)
            .stderr(predicates::str::contains(msg));
        assert_eq!(fs::read(&f).unwrap(), before, "{name} untouched");
    }
    // No section headers: a GNU strip --strip-sections style file (upx output has none either).
    let (dir, f) = copy_fixture("musl-static");
    let data = fs::read(&f).unwrap();
    let mut noshdr = data.clone();
    // e_shoff = 0, e_shnum = 0, e_shstrndx = 0 (ELF64 little-endian).
    noshdr[0x28..0x30].fill(0);
    noshdr[0x3c..0x40].fill(0);
    let p = dir.path().join("noshdr");
    fs::write(&p, &noshdr).unwrap();
    binslim()
        .arg("shrink")
        .arg(&p)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("has no section headers"));
}

#[test]
fn missing_upx_fails_before_any_work() {
    let (_dir, f) = copy_fixture("c-static");
    let before = fs::read(&f).unwrap();
    binslim()
        .args(["shrink", "--upx", "--upx-path", "/nonexistent/upx"])
        .arg(&f)
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "upx not found at '/nonexistent/upx': install it (Debian/Ubuntu: apt-get install upx-ucl",
        ));
    binslim()
        .args(["shrink", "--upx"])
        .arg(&f)
        .env("PATH", "/nonexistent")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("upx is not on PATH"));
    assert_eq!(fs::read(&f).unwrap(), before);
}

#[test]
fn not_compressible_keeps_the_stripped_file_and_exits_0() {
    if !tool("upx") {
        return;
    }
    let (_dir, f) = copy_fixture("shrink/not-compressible");
    let out = binslim()
        .args(["shrink", "--upx", "--json"])
        .arg(&f)
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "warning: upx did not pack it (NotCompressibleException); the stripped file is kept",
        ))
        .get_output()
        .stdout
        .clone();
    let j = json_of(&out);
    assert_eq!(j["upx"]["outcome"], "declined");
    assert_eq!(j["steps"][4]["changed"], false);
    assert_eq!(run(&f).1, Some(0));
}

#[test]
fn cant_pack_is_declined_too() {
    if !tool("upx") {
        return;
    }
    let (_dir, f) = copy_fixture("go-pie");
    let before = run(&f);
    binslim()
        .args(["shrink", "--upx"])
        .arg(&f)
        .assert()
        .success()
        .stdout(predicates::str::contains("unchanged: CantPackException"));
    assert_eq!(run(&f), before);
}

#[test]
fn upx_failure_exits_1_and_still_writes_the_stripped_file() {
    if !tool("upx") {
        return;
    }
    let (_dir, f) = copy_fixture("c-static");
    // An option upx rejects makes it fail for a reason other than "cannot pack".
    binslim()
        .args(["shrink", "--upx", "--upx-args", "--no-such-option"])
        .arg(&f)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("upx failed"));
    let size = fs::metadata(&f).unwrap().len();
    assert!(size < fs::metadata(testdata("c-static")).unwrap().len());
    assert_eq!(run(&f).1, Some(0));
}

#[test]
fn smoke_compares_original_and_result() {
    let (_dir, f) = copy_fixture("c-static");
    let j = json_of(&success_stdout(
        binslim().args(["shrink", "--json", "--smoke", ""]).arg(&f),
    ));
    assert_eq!(j["smoke"]["same"], true);
    assert_eq!(
        j["smoke"]["original"]["stdout"],
        j["smoke"]["result"]["stdout"]
    );
    assert!(j["smoke"]["result"]["peak_rss"].as_u64().unwrap() > 0);
}

/// A directory where even root cannot create files: `chattr +i` (ext4, xfs, btrfs). Falls back to
/// /proc, where no file can be created either.
#[test]
fn read_only_destination_directory() {
    let (dir, f) = copy_fixture("c-static");
    let before = fs::read(&f).unwrap();
    let immutable = Command::new("chattr")
        .arg("+i")
        .arg(dir.path())
        .status()
        .is_ok_and(|s| s.success());
    if immutable {
        let r = binslim().arg("shrink").arg(&f).assert();
        Command::new("chattr")
            .arg("-i")
            .arg(dir.path())
            .status()
            .unwrap();
        r.code(2).stderr(predicates::str::contains(
            "cannot create a temporary file in",
        ));
        assert_eq!(fs::read(&f).unwrap(), before);
    }
    binslim()
        .arg("shrink")
        .arg(&f)
        .arg("-o")
        .arg("/proc/binslim-out")
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "cannot create a temporary file in '/proc'",
        ));
    assert_eq!(fs::read(&f).unwrap(), before);
}

#[test]
fn keep_debug_writes_a_debug_file_and_links_it() {
    let (dir, f) = copy_fixture("go-pie");
    let dbg = dir.path().join("app.debug");
    binslim()
        .arg("shrink")
        .arg(&f)
        .arg("--keep-debug")
        .arg(&dbg)
        .assert()
        .success();
    assert_eq!(run(&f).1, Some(0));
    let d = fs::read(&dbg).unwrap();
    let a = binslim::elf::analyze(&d).unwrap();
    assert!(a.debug_size > 0);
    let names: Vec<&str> = a.sections.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&".symtab"), "{names:?}");
    let out = fs::read(&f).unwrap();
    let elf = binslim::elf::ElfFile::parse(&out).unwrap();
    let link = elf.section_by_name(".gnu_debuglink").expect("debuglink");
    let data = elf.section_data(link);
    assert!(data.starts_with(b"app.debug\0"));
    let mut crc = flate2::Crc::new();
    crc.update(&d);
    assert_eq!(&data[data.len() - 4..], &crc.sum().to_le_bytes());
    if tool("readelf") {
        let o = Command::new("readelf")
            .arg("--string-dump=.gnu_debuglink")
            .arg(&f)
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&o.stdout).contains("app.debug"));
    }
}
