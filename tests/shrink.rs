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

/// The names in directory `d`, sorted: what a run left behind.
fn names(d: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

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
            common::gnu_strip(&["--strip-all"], &testdata(name), Some(&gnu));
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
    // The size in the c-static ledger snapshot.
    assert_eq!(fs::metadata(&out).unwrap().len(), 682_584);
    assert_eq!(run(&out), run(&f));
    // No temporary files left behind.
    assert_eq!(names(dir.path()), ["c-static", "small"]);
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
    assert_eq!(meta.len(), 17_664);
    assert_eq!(run(&f), ("hello from musl-static\n".to_string(), Some(0)));
}

#[test]
fn several_files_in_place() {
    let (_d1, a) = copy_fixture("c-static");
    let (_d2, b) = copy_fixture("musl-static");
    binslim().arg("shrink").arg(&a).arg(&b).assert().success();
    assert_eq!(fs::metadata(&a).unwrap().len(), 682_584);
    assert_eq!(fs::metadata(&b).unwrap().len(), 17_664);
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
    assert_eq!(fs::metadata(&f).unwrap().len(), 682_584);
    assert_eq!(run(&f).1, Some(0));
}

#[test]
fn smoke_compares_original_and_result() {
    let (_dir, f) = copy_fixture("c-static");
    let j = json_of(&success_stdout(
        binslim().args(["shrink", "--json", "--smoke", ""]).arg(&f),
    ));
    assert_eq!(j["smoke"]["same"], true);
    assert_eq!(j["smoke"]["args"], serde_json::json!([]));
    for side in ["original", "result"] {
        assert_eq!(j["smoke"][side]["stdout"], "hello from c-static\n");
        assert_eq!(j["smoke"][side]["exit_code"], 0);
        assert_eq!(j["smoke"][side]["timed_out"], false);
    }
    assert_eq!(j["written"], true);
    assert_eq!(j["size"], 682_584);
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
    assert_eq!(d.len(), 651_208);
    let a = binslim::elf::analyze(&d).unwrap();
    assert_eq!(a.debug_size, 551_518);
    assert_eq!(fs::metadata(&f).unwrap().len(), 1_290_104);
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

/// `getcap FILE`'s output, trimmed ("" when the file has no capabilities).
fn getcap(p: &Path) -> String {
    common::stdout_of(Command::new("getcap").arg(p))
        .trim()
        .to_string()
}

/// Gives `p` owner 1234:5678, mode 6755 (set-uid, set-gid), a file capability and a user
/// extended attribute, in the order that keeps them all (chown clears set-id bits and
/// capabilities).
fn decorate(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::os::unix::fs::chown(p, Some(1234), Some(5678)).unwrap();
    fs::set_permissions(p, fs::Permissions::from_mode(0o6755)).unwrap();
    let st = Command::new("setcap")
        .arg("cap_net_bind_service=+ep")
        .arg(p)
        .status()
        .unwrap();
    assert!(st.success());
    let st = Command::new("setfattr")
        .args(["-n", "user.binslim", "-v", "kept"])
        .arg(p)
        .status()
        .unwrap();
    assert!(st.success());
}

/// Owner, mode, capability and user attribute as `decorate` set them.
fn assert_decorated(p: &Path) {
    use std::os::unix::fs::MetadataExt;
    let m = fs::metadata(p).unwrap();
    assert_eq!(
        (m.uid(), m.gid(), m.mode() & 0o7777),
        (1234, 5678, 0o6755),
        "{}",
        p.display()
    );
    assert_eq!(
        getcap(p),
        format!("{} cap_net_bind_service=ep", p.display())
    );
    let v = common::stdout_of(
        Command::new("getfattr")
            .args(["--only-values", "-n", "user.binslim"])
            .arg(p),
    );
    assert_eq!(v, "kept");
}

#[test]
fn in_place_keeps_hard_links_owner_set_id_mode_and_capabilities_which_gnu_strip_loses() {
    use std::os::unix::fs::MetadataExt;
    for t in ["setcap", "getcap", "setfattr", "getfattr", "strip"] {
        if !tool(t) {
            return;
        }
    }
    let original_len = fs::metadata(testdata("c-debug")).unwrap().len();
    let (dir, f) = copy_fixture("c-debug");
    let before = run(&f);
    decorate(&f);

    // Two names for one inode: both see the new content, the inode stays.
    let other = dir.path().join("other-name");
    fs::hard_link(&f, &other).unwrap();
    let ino = fs::metadata(&f).unwrap().ino();
    binslim()
        .arg("shrink")
        .arg(&f)
        .assert()
        .success()
        .stderr("");
    let m = fs::metadata(&f).unwrap();
    assert_eq!((m.ino(), m.nlink()), (ino, 2));
    assert_eq!(fs::read(&other).unwrap(), fs::read(&f).unwrap());
    assert_eq!((original_len, m.len()), (17_064, 14_368));
    assert_decorated(&f);
    assert_eq!(run(&f), before);

    // One link: a new inode renamed into place, with everything kept.
    let (_d2, g) = copy_fixture("c-debug");
    decorate(&g);
    let ino = fs::metadata(&g).unwrap().ino();
    binslim()
        .arg("shrink")
        .arg(&g)
        .assert()
        .success()
        .stderr("");
    assert_ne!(
        fs::metadata(&g).unwrap().ino(),
        ino,
        "renamed, not rewritten"
    );
    assert_decorated(&g);
    assert_eq!(fs::read(&g).unwrap(), fs::read(&f).unwrap());
    assert_eq!(run(&g), before);

    // GNU strip keeps owner and mode but loses the capability.
    let (_d3, h) = copy_fixture("c-debug");
    decorate(&h);
    common::gnu_strip(&[], &h, None);
    let m = fs::metadata(&h).unwrap();
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (1234, 5678, 0o6755));
    assert_eq!(getcap(&h), "");
}

#[test]
fn keep_debug_refuses_an_existing_file_without_force_and_writes_mode_0644() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, f) = copy_fixture("c-debug");
    let before = fs::read(&f).unwrap();
    let dbg = dir.path().join("app.debug");
    fs::write(&dbg, b"keep me").unwrap();
    binslim()
        .arg("shrink")
        .arg(&f)
        .arg("--keep-debug")
        .arg(&dbg)
        .assert()
        .code(2)
        .stdout("")
        .stderr(format!(
            "binslim: '{}' already exists; binslim does not replace an existing --keep-debug \
             file unless --force is given\n",
            dbg.display()
        ));
    assert_eq!(fs::read(&dbg).unwrap(), b"keep me");
    assert_eq!(fs::read(&f).unwrap(), before);

    // --force works without -o now, and replaces it atomically with a 0644 file.
    binslim()
        .arg("shrink")
        .arg(&f)
        .arg("--keep-debug")
        .arg(&dbg)
        .arg("--force")
        .assert()
        .success();
    let m = fs::metadata(&dbg).unwrap();
    assert_eq!(m.permissions().mode() & 0o7777, 0o644);
    let d = fs::read(&dbg).unwrap();
    assert_eq!(d.len(), 5_536);
    assert_eq!(binslim::elf::analyze(&d).unwrap().debug_size, 639);
    assert_eq!(fs::metadata(&f).unwrap().len(), 14_456);
    assert_eq!(names(dir.path()), ["app.debug", "c-debug"]);
}

#[test]
fn clean_up_spares_a_temp_file_locked_by_a_live_process_whatever_the_pid_in_its_name() {
    if !tool("flock") {
        return;
    }
    let (dir, f) = copy_fixture("c-static");
    let d = dir.path();
    // As another binslim in another PID namespace leaves them: the PID in the name does not
    // exist here (above pid_max), yet a live process holds the lock.
    let live = d.join(".binslim-2147483000-live");
    // -o: the lock stays with flock itself (not inherited by sleep), so killing flock frees it.
    let mut holder = Command::new("flock")
        .arg("-o")
        .arg(&live)
        .args(["sleep", "30"])
        .spawn()
        .unwrap();
    // Wait until the lock is really held.
    let start = std::time::Instant::now();
    loop {
        if let Ok(fd) = fs::File::open(&live) {
            use std::os::fd::AsRawFd;
            // SAFETY: flock on a descriptor we own.
            let r = unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if r != 0 {
                break;
            }
        }
        assert!(start.elapsed().as_secs() < 10, "flock never took the lock");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // Left behind by killed runs: nobody holds them.
    fs::write(d.join(".binslim-2147483001-dead"), "x").unwrap();
    fs::create_dir(d.join(".binslim-2147483002-dir")).unwrap();
    fs::write(d.join(".binslim-2147483002-dir/packed"), "x").unwrap();
    binslim().arg("shrink").arg(&f).assert().success();
    assert_eq!(names(d), [".binslim-2147483000-live", "c-static"]);
    holder.kill().unwrap();
    holder.wait().unwrap();
    // Once its holder is gone, the next run removes it.
    let (_d2, g) = copy_fixture("c-static");
    binslim()
        .arg("shrink")
        .arg("-o")
        .arg(d.join("small"))
        .arg(&g)
        .assert()
        .success();
    assert_eq!(names(d), ["c-static", "small"]);
}

/// An assembler program with 66,000 allocated sections (more than SHN_LORESERVE = 0xff00), a
/// label in each (local symbols whose st_shndx is SHN_XINDEX, with the real index in
/// `.symtab_shndx`) and DWARF, linked statically.
fn many_sections_program(dir: &Path) -> PathBuf {
    let mut asm =
        String::from(".globl _start\n.text\n_start:\n mov $60,%eax\n xor %edi,%edi\n syscall\n");
    for i in 0..66_000 {
        asm += &format!(".section .s{i},\"a\"\nl{i}: .byte {}\n", i % 256);
    }
    let src = dir.join("many.s");
    fs::write(&src, asm).unwrap();
    let exe = dir.join("many");
    let out = Command::new("gcc")
        .args(["-g", "-nostdlib", "-static", "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    exe
}

/// `readelf` output lines: section headers (name, link, info, without offsets) and the
/// header's section count and name table index.
fn readelf_sections(p: &Path) -> Vec<String> {
    let text = common::stdout_of(Command::new("readelf").args(["-hSW"]).arg(p));
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            if l.starts_with("Number of section headers")
                || l.starts_with("Section header string table index")
            {
                return Some(l.to_string());
            }
            let rest = l.strip_prefix('[')?;
            let (idx, rest) = rest.split_once(']')?;
            let tok: Vec<&str> = rest.split_whitespace().collect();
            let n = tok.len();
            (n >= 4).then(|| {
                format!(
                    "{} {} lk={} inf={}",
                    idx.trim(),
                    tok[0],
                    tok[n - 3],
                    tok[n - 2]
                )
            })
        })
        .collect()
}

/// Asserts two long listings are equal, showing only the first difference.
fn assert_same_lines(a: &[String], b: &[String], what: &str) {
    if let Some(k) = (0..a.len().max(b.len())).find(|&k| a.get(k) != b.get(k)) {
        panic!(
            "{what}: first difference at line {k}: {:?} vs {:?} ({} vs {} lines)",
            a.get(k),
            b.get(k),
            a.len(),
            b.len()
        );
    }
}

/// `readelf -s`: every symbol's name and section index (resolved through `.symtab_shndx`),
/// except `STT_FILE` symbols, which GNU strip --strip-debug removes and binslim keeps.
fn readelf_symbols(p: &Path) -> Vec<String> {
    let text = common::stdout_of(Command::new("readelf").args(["-sW"]).arg(p));
    text.lines()
        .filter_map(|l| {
            let tok: Vec<&str> = l.split_whitespace().collect();
            (tok.len() == 8 && tok[0].ends_with(':') && tok[3] != "FILE")
                .then(|| format!("{} {}", tok[7], tok[6]))
        })
        .collect()
}

#[test]
fn section_indices_above_shn_loreserve_are_renumbered_like_gnu_strip() {
    if !tool("gcc") || !tool("strip") || !tool("readelf") {
        return;
    }
    let dir = common::tempdir();
    let many = many_sections_program(dir.path());
    let data = fs::read(&many).unwrap();

    // Debug sections only: .symtab, .symtab_shndx, .strtab and .shstrtab keep their places
    // above 0xff00 and move down by the six removed sections; their links must follow.
    let mut debug_only = binslim::strip::StripOptions::default();
    debug_only.debug = true;
    let mut out = Vec::new();
    binslim::strip::strip(&data, &debug_only, &mut out).unwrap();
    let ours = dir.path().join("ours-debug");
    fs::write(&ours, &out).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&ours, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let gnu = dir.path().join("gnu-debug");
    common::gnu_strip(&["--strip-debug"], &many, Some(&gnu));
    // .symtab's sh_info (one past the last local symbol) differs by the one STT_FILE symbol
    // GNU strip drops: set that aside, everything else must agree.
    let sections = readelf_sections(&ours);
    let mut gnu_sections = readelf_sections(&gnu);
    let k = gnu_sections
        .iter()
        .position(|l| l == "66003 .symtab lk=66005 inf=66001")
        .expect("GNU strip's .symtab line");
    gnu_sections[k] = "66003 .symtab lk=66005 inf=66002".into();
    assert_same_lines(&sections, &gnu_sections, "strip-debug sections");
    assert!(sections.contains(&"66004 .symtab_shndx lk=66003 inf=0".to_string()));
    assert!(sections.contains(&"Number of section headers:         0 (66007)".to_string()));
    assert!(sections.contains(&"Section header string table index: 65535 (66006)".to_string()));
    // Every symbol keeps its section (66,000 labels, most above 0xff00 via SHN_XINDEX).
    let syms = readelf_symbols(&ours);
    assert!(
        syms.contains(&"l65999 66002".to_string()),
        "{:?}",
        &syms[..5]
    );
    use std::collections::HashSet;
    let ours_set: HashSet<&String> = syms.iter().collect();
    let gnu_syms = readelf_symbols(&gnu);
    let gnu_set: HashSet<&String> = gnu_syms.iter().collect();
    let only_ours: Vec<&String> = syms.iter().filter(|s| !gnu_set.contains(s)).collect();
    let only_gnu: Vec<&String> = gnu_syms.iter().filter(|s| !ours_set.contains(s)).collect();
    assert_eq!((only_ours, only_gnu), (vec![], vec![]));
    assert_eq!(syms.len(), 66_005);
    assert_eq!(run(&ours).1, Some(0));

    // The whole pipeline: the same sections as GNU strip --strip-all, and it still runs.
    let small = dir.path().join("small");
    binslim()
        .arg("shrink")
        .arg("--no-gzip")
        .arg("-o")
        .arg(&small)
        .arg(&many)
        .assert()
        .success();
    let gnu_all = dir.path().join("gnu-all");
    common::gnu_strip(&["--strip-all"], &many, Some(&gnu_all));
    assert_same_lines(
        &readelf_sections(&small),
        &readelf_sections(&gnu_all),
        "strip-all sections",
    );
    assert_eq!(
        fs::metadata(&small).unwrap().len(),
        fs::metadata(&gnu_all).unwrap().len()
    );
    assert_eq!(run(&small).1, Some(0));
}

/// The library API the image builder uses: shrink a copy into a path of the caller's choosing,
/// input untouched, every step reported as an event, in order.
#[test]
fn shrink_to_reports_events_in_order_and_leaves_the_input_untouched() {
    use binslim::shrink::{Event, PipelineOptions, WriteMethod, shrink_to};
    let (dir, f) = copy_fixture("c-static");
    let before = fs::read(&f).unwrap();
    let out = dir.path().join("copy");
    let mut events = Vec::new();
    let mut opts = PipelineOptions::default();
    opts.no_gzip = true;
    let report = shrink_to(&f, &out, &opts, &mut |e: &Event<'_>| {
        events.push(match e {
            Event::Planned { steps, .. } => format!("planned {}", steps.len()),
            Event::Step(s) => format!("{} {} {}", s.step.as_str(), s.size, s.changed),
            Event::Written { path, method } => {
                assert_eq!(*path, out.as_path());
                format!("written {}", *method == WriteMethod::Renamed)
            }
            other => format!("{other:?}"),
        })
    })
    .unwrap();
    assert_eq!(
        events,
        [
            "planned 3",
            "original 762424 false",
            "strip-debug 762424 false",
            "strip-symbols 682696 true",
            "strip-other 682584 true",
            "written true",
        ]
    );
    assert_eq!(fs::read(&f).unwrap(), before);
    assert_eq!(
        (report.written, report.size, report.gzip_size),
        (true, 682_584, None)
    );
    assert_eq!(fs::metadata(&out).unwrap().len(), 682_584);
    assert_eq!(run(&out), ("hello from c-static\n".to_string(), Some(0)));
    assert_eq!(names(dir.path()), ["c-static", "copy"]);
}

/// Shrinking in place a set-uid file someone else owns (here root's, in nobody's directory):
/// the result cannot keep the owner, so it must not keep the set-id bits either (as `cp -p`
/// does); the warning says both.
#[test]
fn set_id_bits_do_not_move_to_another_owner() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    if !common::have_tool("setpriv") {
        return;
    }
    let dir = common::tempdir();
    let d = dir.path();
    std::os::unix::fs::chown(d, Some(65534), Some(65534)).unwrap();
    let f = d.join("server");
    fs::copy(testdata("c-debug"), &f).unwrap();
    fs::set_permissions(&f, fs::Permissions::from_mode(0o4755)).unwrap();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(assert_cmd::cargo::cargo_bin("binslim"))
        .args(["--color=never", "shrink", "--no-gzip", "--json"])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let m = fs::metadata(&f).unwrap();
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (65534, 65534, 0o755));
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        j["warnings"][0],
        "cannot keep owner 0:0 (Operation not permitted (os error 1)); the result belongs to \
         65534:65534, without its set-id bits"
    );
}

/// The number of SystemTap (USDT) probes `readelf -n` lists in `p`.
fn usdt_probes(p: &Path) -> usize {
    let notes = common::stdout_of(Command::new("readelf").arg("-n").arg(p));
    notes
        .lines()
        .filter(|l| l.trim_start().starts_with("stapsdt"))
        .count()
}

/// USDT probes (`<sys/sdt.h>`, what bpftrace and perf attach to) live in `.note.stapsdt`, a
/// note that is not loaded: GNU strip keeps it, and so must shrink, whatever it strips.
#[test]
fn usdt_probe_notes_survive_like_gnu_strip() {
    if !tool("gcc") || !tool("readelf") || !tool("strip") {
        return;
    }
    if !Path::new("/usr/include/x86_64-linux-gnu/sys/sdt.h").exists()
        && !Path::new("/usr/include/sys/sdt.h").exists()
    {
        common::skip("<sys/sdt.h> is missing (Debian: systemtap-sdt-dev)");
        return;
    }
    let dir = common::tempdir();
    let d = dir.path();
    let src = d.join("probes.c");
    fs::write(
        &src,
        "#include <sys/sdt.h>\n\
         int main(int argc, char **argv) {\n\
           DTRACE_PROBE(app, start);\n\
           DTRACE_PROBE1(app, args, argc);\n\
           DTRACE_PROBE2(app, first, argc, argv[0]);\n\
           DTRACE_PROBE(app, stop);\n\
           return 0;\n\
         }\n",
    )
    .unwrap();
    let exe = d.join("probes");
    let out = Command::new("gcc")
        .args(["-g", "-O1", "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .unwrap();
    assert!(out.status.success(), "gcc: {out:?}");
    assert_eq!(usdt_probes(&exe), 4);
    let gnu = d.join("probes.gnu");
    common::gnu_strip(&["--strip-all"], &exe, Some(&gnu));
    assert_eq!(usdt_probes(&gnu), 4, "GNU strip keeps the probes");
    let slim = d.join("probes.slim");
    binslim()
        .args(["shrink", "--no-gzip", "-o"])
        .arg(&slim)
        .arg(&exe)
        .assert()
        .success();
    assert_eq!(usdt_probes(&slim), 4);
    assert_eq!(run(&slim), (String::new(), Some(0)));
    let notes = |p: &Path| -> Vec<String> {
        common::stdout_of(Command::new("readelf").arg("-SW").arg(p))
            .lines()
            .filter(|l| l.contains(" NOTE "))
            .filter_map(|l| {
                l.split(']')
                    .nth(1)?
                    .split_whitespace()
                    .next()
                    .map(String::from)
            })
            .collect()
    };
    assert_eq!(
        notes(&slim),
        notes(&gnu),
        "the same notes as GNU strip keeps"
    );
}
