//! `binslim verify`: the verdict of every fixture against a real start in an empty root, `--root`
//! resolution against real loaders and libraries, run-time file warnings, policy flags and every
//! failure path.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command as Std;
use std::time::Duration;

use common::{binslim, chroot_permitted, codes, fixture, glibc_root, verify_json};
use serde_json::Value;

/// Every ELF fixture that is a program for this machine's processor (x86_64, IA-32 emulation),
/// whichever kernel it was built for.
const PROGRAMS: &[&str] = &[
    "c-dynamic-pie",
    "c-nopie",
    "c-debug",
    "c-static",
    "c-static-pie",
    "c-rpath",
    "c-rpath-old",
    "musl-static",
    "musl-dynamic",
    "i386-static",
    "freebsd-static",
    "go-static",
    "go-cgo",
    "go-pie",
    "go-tls",
    "go-tls-embedded",
    "rust-dynamic",
    "rust-static",
    "upx-packed",
    "exec-marker",
];

fn verify(args: &[&str]) -> (i32, String, String) {
    let out = binslim().arg("verify").args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Starts `/NAME` inside `root` with chroot; true when it printed its line and exited 0.
/// chroot exits 126 when the file is briefly "busy" (ETXTBSY: another test thread forked while
/// this process still had it open for writing); that is retried.
fn starts_in(root: &Path, name: &str) -> bool {
    for _ in 0..50 {
        match start_once(root, name) {
            Some(started) => return started,
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    panic!("{name} stayed busy");
}

fn start_once(root: &Path, name: &str) -> Option<bool> {
    use std::io::Read;
    let mut child = Std::new("chroot")
        .arg(root)
        .arg(format!("/{name}"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("chroot");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let (mut out, mut err) = (String::new(), String::new());
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            if status.code() == Some(126) && err.contains("Text file busy") {
                return None;
            }
            return Some(status.success() && out.starts_with("hello from "));
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("{name} did not finish in the chroot");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The verdict of every fixture is what an actual start in an empty root gives.
#[test]
fn verdict_matches_a_real_start_in_an_empty_root() {
    if !chroot_permitted() {
        return;
    }
    let mut table = Vec::new();
    for name in PROGRAMS {
        let dir = common::tempdir();
        fs::copy(fixture(name), dir.path().join(name)).unwrap();
        let started = starts_in(dir.path(), name);
        let (code, _, err) = verify(&[&format!("testdata/{name}")]);
        assert!(code == 0 || code == 1, "{name}: exit {code}: {err}");
        assert_eq!(
            code == 0,
            started,
            "{name}: verify exit {code}, started: {started}"
        );
        table.push(format!(
            "{name}: {}",
            if started { "starts" } else { "fails" }
        ));
    }
    // The expected split, so a fixture change that makes everything fail cannot pass silently.
    let starting: Vec<&str> = table
        .iter()
        .filter(|l| l.ends_with("starts"))
        .map(|l| l.split(':').next().unwrap())
        .collect();
    assert_eq!(
        starting,
        [
            "c-static",
            "c-static-pie",
            "musl-static",
            "i386-static",
            "go-static",
            "go-tls",
            "go-tls-embedded",
            "rust-static",
            "upx-packed",
            "exec-marker"
        ]
    );
}

#[test]
fn pass_and_fail_lines() {
    let (code, out, _) = verify(&["testdata/rust-static"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "PASS testdata/rust-static: static-pie x86_64, 1.1 MiB\n"
    );

    let (code, out, _) = verify(&["testdata/c-dynamic-pie"]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "FAIL testdata/c-dynamic-pie: dynamically linked, needs /lib64/ld-linux-x86-64.so.2 and libc.so.6\n  \
         fix: link statically: gcc -static (or -static-pie)\n"
    );
    insta::assert_snapshot!("verify-all-fixtures", {
        let args: Vec<String> = PROGRAMS.iter().map(|n| format!("testdata/{n}")).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, _) = verify(&args);
        assert_eq!(code, 1);
        out
    });
}

#[test]
fn go_pie_is_not_static_whatever_ldd_says() {
    let (code, j) = verify_json(&["testdata/go-pie"]);
    assert_eq!(code, 1);
    let r = &j[0];
    assert_eq!(r["verdict"], "fail");
    assert_eq!(r["linkage"], "dynamic");
    assert_eq!(r["problems"][0]["code"], "dynamic");
    let hint = r["problems"][0]["hint"].as_str().unwrap();
    assert!(hint.starts_with("drop -buildmode=pie"), "{hint}");
}

#[test]
fn fix_hints_speak_the_build_language() {
    let cases = [
        ("go-cgo", "build with CGO_ENABLED=0"),
        ("musl-dynamic", "link statically: musl-gcc -static"),
        (
            "rust-dynamic",
            "build with RUSTFLAGS='-C target-feature=+crt-static'",
        ),
        ("c-nopie", "link statically: gcc -static"),
    ];
    for (name, start) in cases {
        let (code, j) = verify_json(&[&format!("testdata/{name}")]);
        assert_eq!(code, 1, "{name}");
        let hint = j[0]["problems"][0]["hint"].as_str().unwrap();
        assert!(hint.starts_with(start), "{name}: {hint}");
    }
}

#[test]
fn run_time_file_warnings() {
    let (code, j) = verify_json(&[
        "testdata/go-tls",
        "testdata/go-tls-embedded",
        "testdata/c-static-pie",
        "testdata/c-static",
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        codes(&j[0]["warnings"]),
        ["needs-ca-certificates", "needs-zoneinfo", "needs-passwd"]
    );
    assert_eq!(codes(&j[1]["warnings"]), Vec::<String>::new());
    assert_eq!(codes(&j[2]["warnings"]), ["static-glibc-nss"]);
    assert_eq!(codes(&j[3]["warnings"]), Vec::<String>::new());

    // --strict turns them into failures.
    let (code, j) = verify_json(&["--strict", "testdata/go-tls"]);
    assert_eq!(code, 1);
    assert_eq!(j[0]["verdict"], "fail");
    assert_eq!(codes(&j[0]["problems"]).len(), 3);

    // A --root that has the files silences them.
    let root = common::tempdir();
    let r = root.path();
    fs::create_dir_all(r.join("etc/ssl/certs")).unwrap();
    fs::create_dir_all(r.join("usr/share/zoneinfo")).unwrap();
    fs::write(r.join("etc/ssl/certs/ca-certificates.crt"), "").unwrap();
    fs::write(r.join("etc/passwd"), "root:x:0:0::/:\n").unwrap();
    let (code, j) = verify_json(&[
        "--root",
        r.to_str().unwrap(),
        "testdata/go-tls",
        "testdata/c-static-pie",
    ]);
    assert_eq!(code, 0);
    assert_eq!(codes(&j[0]["warnings"]), Vec::<String>::new());
    assert_eq!(codes(&j[1]["warnings"]), Vec::<String>::new());
}

/// The stdout of `chroot ROOT ARGS...`, which must exit 0.
fn chroot_stdout(root: &Path, args: &[&str]) -> String {
    let (code, out, err) = common::chroot_run(root, args, &[]);
    assert_eq!(code, 0, "{args:?} in {root:?}: {out}{err}");
    out
}

/// What the static-glibc-nss warning claims is what happens: in an empty root the static
/// glibc lookups fail quietly; with /etc/passwd and /etc/hosts (which Docker mounts) glibc's
/// built-in files source answers them, and that root silences the warning. The check works
/// without `.symtab`: it runs on a stripped copy.
#[test]
fn static_glibc_nss_warning_matches_real_lookups() {
    let root = common::tempdir();
    let r = root.path();
    let prog = r.join("c-static-pie");
    binslim()
        .args(["shrink", "--no-gzip", "-o"])
        .arg(&prog)
        .arg("testdata/c-static-pie")
        .assert()
        .success();
    let (code, j) = verify_json(&[prog.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(j[0]["linkage"], "static-pie");
    assert_eq!(codes(&j[0]["warnings"]), ["static-glibc-nss"]);
    let stripped = binslim::elf::analyze(&fs::read(&prog).unwrap()).unwrap();
    assert!(stripped.stripped && stripped.symbols_size == 0);
    if !chroot_permitted() {
        return;
    }
    assert_eq!(
        chroot_stdout(r, &["/c-static-pie", "lookup"]),
        "getaddrinfo=-3 getpwnam=missing\nhello from c-static-pie\n"
    );
    fs::create_dir_all(r.join("etc")).unwrap();
    fs::write(r.join("etc/passwd"), "root:x:0:0::/:\n").unwrap();
    fs::write(r.join("etc/hosts"), "127.0.0.1 localhost\n").unwrap();
    assert_eq!(
        chroot_stdout(r, &["/c-static-pie", "lookup"]),
        "getaddrinfo=0 getpwnam=found\nhello from c-static-pie\n"
    );
    let (code, j) = verify_json(&["--root", r.to_str().unwrap(), prog.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(codes(&j[0]["warnings"]), Vec::<String>::new());
}

#[test]
fn root_with_loader_and_libraries_passes_and_names_what_is_missing() {
    let root = glibc_root();
    let r = root.path().to_str().unwrap();
    let (code, out, _) = verify(&["--root", r, "testdata/c-dynamic-pie", "testdata/go-pie"]);
    assert_eq!(code, 0, "{out}");
    if chroot_permitted() {
        fs::copy(fixture("c-dynamic-pie"), root.path().join("c-dynamic-pie")).unwrap();
        assert!(starts_in(root.path(), "c-dynamic-pie"));
    }

    fs::remove_file(root.path().join("lib/x86_64-linux-gnu/libc.so.6")).unwrap();
    let (code, j) = verify_json(&["--root", r, "testdata/c-dynamic-pie"]);
    assert_eq!(code, 1);
    assert_eq!(codes(&j[0]["problems"]), ["missing-library"]);
    assert_eq!(
        j[0]["problems"][0]["message"],
        format!("needs libc.so.6 (for c-dynamic-pie), which is not found in {r}")
    );
    if chroot_permitted() {
        assert!(!starts_in(root.path(), "c-dynamic-pie"));
    }

    // musl's loader is not in a glibc root.
    let (code, j) = verify_json(&["--root", r, "testdata/musl-dynamic"]);
    assert_eq!(code, 1);
    assert_eq!(j[0]["problems"][0]["code"], "missing-interpreter");
}

/// RUNPATH and RPATH `$ORIGIN/../lib` resolve relative to where the program sits in the root.
#[test]
fn origin_runpath_resolves_inside_the_root() {
    let root = glibc_root();
    let r = root.path();
    fs::create_dir_all(r.join("app/bin")).unwrap();
    fs::create_dir_all(r.join("app/lib")).unwrap();
    for name in ["c-rpath", "c-rpath-old"] {
        fs::copy(fixture(name), r.join("app/bin").join(name)).unwrap();
    }
    let prog = r.join("app/bin/c-rpath");
    let old = r.join("app/bin/c-rpath-old");
    let args = [
        "--root",
        r.to_str().unwrap(),
        prog.to_str().unwrap(),
        old.to_str().unwrap(),
    ];
    let (code, j) = verify_json(&args);
    assert_eq!(code, 1);
    for i in 0..2 {
        assert_eq!(codes(&j[i]["problems"]), ["missing-library"]);
        assert!(
            j[i]["problems"][0]["message"]
                .as_str()
                .unwrap()
                .starts_with("needs libgreet.so")
        );
    }
    fs::copy(fixture("libgreet.so"), r.join("app/lib/libgreet.so")).unwrap();
    let (code, j) = verify_json(&args);
    assert_eq!(code, 0, "{j}");

    // The loader agrees (it needs /proc for $ORIGIN, as every container runtime provides).
    if chroot_permitted() {
        fs::create_dir_all(r.join("proc")).unwrap();
        let mounted = Std::new("mount")
            .args(["-t", "proc", "proc"])
            .arg(r.join("proc"))
            .status()
            .is_ok_and(|s| s.success());
        if mounted {
            let out = Std::new("chroot")
                .arg(r)
                .arg("/app/bin/c-rpath")
                .output()
                .unwrap();
            let _ = Std::new("umount").arg(r.join("proc")).status();
            assert_eq!(String::from_utf8_lossy(&out.stdout), "hello from c-rpath\n");
        }
    }
}

#[test]
fn platform_flag_and_targetplatform() {
    let (code, j) = verify_json(&["--platform", "linux/amd64", "testdata/arm64-static"]);
    assert_eq!(code, 1);
    assert_eq!(j[0]["problems"][0]["code"], "wrong-platform");
    assert_eq!(
        j[0]["problems"][0]["message"],
        "built for aarch64 (elf64), but the target platform linux/amd64 needs x86_64 (elf64)"
    );
    let (code, _) = verify_json(&["--platform", "linux/arm64", "testdata/arm64-static"]);
    assert_eq!(code, 0);
    let (code, _) = verify_json(&["--platform", "linux/amd64", "testdata/i386-static"]);
    assert_eq!(code, 1);
    let (code, _) = verify_json(&["--platform", "linux/386", "testdata/i386-static"]);
    assert_eq!(code, 0);

    let out = binslim()
        .args(["verify", "testdata/arm64-static"])
        .env("TARGETPLATFORM", "linux/amd64")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = binslim()
        .args(["verify", "testdata/arm64-static"])
        .env("TARGETPLATFORM", "linux/arm64")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));

    let (code, _, err) = verify(&["--platform", "linux/sparc", "testdata/c-static"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("binslim: unknown platform 'linux/sparc'"),
        "{err}"
    );
}

#[test]
fn policy_flags() {
    let (code, j) = verify_json(&[
        "--max-size",
        "1MiB",
        "testdata/go-static",
        "testdata/c-static",
    ]);
    assert_eq!(code, 1);
    assert_eq!(codes(&j[0]["problems"]), ["too-large"]);
    assert_eq!(
        j[0]["problems"][0]["message"],
        "is 1.1 MiB (1171608 bytes), more than --max-size 1.0 MiB"
    );
    assert_eq!(j[1]["verdict"], "pass");

    let (code, j) = verify_json(&[
        "--require-stripped",
        "testdata/c-static",
        "testdata/go-static",
    ]);
    assert_eq!(code, 1);
    assert_eq!(codes(&j[0]["problems"]), ["not-stripped"]);
    assert_eq!(j[1]["verdict"], "pass");

    let (code, j) = verify_json(&["--forbid-upx", "testdata/upx-packed"]);
    assert_eq!(code, 1);
    assert_eq!(codes(&j[0]["problems"]), ["upx-packed"]);

    let (code, _, err) = verify(&["--max-size", "lots", "testdata/c-static"]);
    assert_eq!(code, 2);
    assert!(err.contains("'lots' is not a size like 20MiB"), "{err}");
}

#[test]
fn upx_packed_input_is_unpacked_or_refused() {
    let (code, out, _) = verify(&["testdata/upx-packed"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "PASS testdata/upx-packed: static x86_64, 11.1 KiB (UPX-packed; verified the unpacked original)\n"
    );
    // Without upx on PATH the real linkage cannot be known.
    let out = binslim()
        .args(["verify", "--json", "testdata/upx-packed"])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(codes(&j[0]["problems"]), ["upx-unverifiable"]);
    assert_eq!(
        j[0]["problems"][0]["hint"],
        "run binslim verify before packing, or put upx on PATH"
    );
}

#[test]
fn failure_paths_and_exit_codes() {
    let (code, out, _) = verify(&["testdata/script.sh"]);
    assert_eq!(code, 1);
    assert!(
        out.starts_with("FAIL testdata/script.sh: script needs /bin/sh, which scratch lacks\n")
    );

    for (path, msg) in [
        ("testdata/nope", "binslim: testdata/nope: not found\n"),
        (
            "testdata/not-elf.txt",
            "binslim: testdata/not-elf.txt: is a text file, not an ELF binary\n",
        ),
        ("testdata/empty", "binslim: testdata/empty: is empty\n"),
    ] {
        let (code, out, err) = verify(&[path]);
        assert_eq!(code, 2, "{path}");
        assert_eq!(out, "", "{path}");
        assert_eq!(err, msg);
    }
    let (code, _, err) = verify(&["testdata/truncated-elf"]);
    assert_eq!(code, 2);
    assert!(err.starts_with(
        "binslim: testdata/truncated-elf: truncated ELF: section headers end at byte "
    ));

    // Libraries and objects named directly are not programs.
    let (code, j) = verify_json(&["testdata/libgreet.so", "testdata/c-object.o"]);
    assert_eq!(code, 1);
    assert_eq!(codes(&j[0]["problems"]), ["not-a-program"]);
    assert_eq!(codes(&j[1]["problems"]), ["not-a-program"]);

    let (code, _, err) = verify(&[]);
    assert_eq!(code, 2);
    assert!(err.contains("Usage: binslim verify"));
    let (code, _, err) = verify(&["--root", "testdata/nope", "testdata/c-static"]);
    assert_eq!(code, 2);
    assert_eq!(err, "binslim: --root testdata/nope: not a directory\n");
}

#[test]
fn directory_walk_skips_non_elf_and_survives_symlink_loops() {
    let dir = common::tempdir();
    let d = dir.path();
    fs::create_dir_all(d.join("bin/sub")).unwrap();
    fs::copy(fixture("c-static"), d.join("bin/server")).unwrap();
    fs::copy(fixture("libgreet.so"), d.join("bin/libgreet.so")).unwrap();
    fs::copy(fixture("c-object.o"), d.join("bin/sub/x.o")).unwrap();
    fs::write(d.join("bin/README"), "text").unwrap();
    fs::copy(fixture("script.sh"), d.join("bin/run.sh")).unwrap();
    std::os::unix::fs::symlink(d.join("bin"), d.join("bin/sub/loop")).unwrap();
    std::os::unix::fs::symlink(d.join("bin/server"), d.join("bin/link")).unwrap();

    let p = d.join("bin");
    let (code, out, _) = verify(&[p.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let prefix = p.to_str().unwrap();
    assert_eq!(
        out.replace(prefix, "BIN"),
        "PASS BIN/libgreet.so: shared-library, not a program (skipped)\n\
         PASS BIN/server: static x86_64, 744.6 KiB\n\
         PASS BIN/sub/x.o: relocatable, not a program (skipped)\n\
         checked 3: 3 passed, 0 failed; skipped 4 non-ELF files and symlinks\n"
    );
    // --strict fails libraries and objects found in a walk; --quiet prints only failures.
    let (code, out, _) = verify(&["--strict", "--quiet", p.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(out.matches("FAIL ").count(), 2, "{out}");
    assert!(!out.contains("PASS"));
}

/// binslim's own static build (the one the README tells Dockerfile users to make) verifies.
#[test]
fn binslims_own_static_build_passes() {
    let target = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("static-selftest");
    let status = Std::new(env!("CARGO"))
        .current_dir(common::root())
        .args([
            "build",
            "--release",
            "--quiet",
            "--target",
            "x86_64-unknown-linux-gnu",
        ])
        .arg("--target-dir")
        .arg(&target)
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .status()
        .unwrap();
    assert!(status.success());
    let bin = target.join("x86_64-unknown-linux-gnu/release/binslim");
    let (code, j) = verify_json(&[bin.to_str().unwrap()]);
    assert_eq!(code, 0, "{j}");
    assert_eq!(j[0]["linkage"], "static-pie");
}

/// A Go program with cgo linked statically against glibc (`-extldflags -static`) gets the
/// NSS warning with a Go hint. Built here from testdata/src/go-cgo-static rather than committed
/// (2.3 MiB would push testdata/ past its budget); skipped without Go, which .ci/run installs.
#[test]
fn go_cgo_static_glibc_gets_the_nss_warning() {
    let Some((_work, exe)) = common::go_build(
        "go-cgo-static",
        "go-cgo-static",
        &[("CGO_ENABLED", "1")],
        &["-ldflags", "-s -w -linkmode external -extldflags -static"],
    ) else {
        return;
    };
    let (code, j) = verify_json(&[exe.to_str().unwrap()]);
    assert_eq!(code, 0, "{j}");
    assert_eq!(j[0]["linkage"], "static");
    assert_eq!(
        codes(&j[0]["warnings"]),
        ["needs-passwd", "static-glibc-nss"]
    );
    assert_eq!(
        j[0]["warnings"][1]["hint"],
        "build with CGO_ENABLED=0, or with -tags netgo,osusergo so that Go's own lookups are \
         used; COPY /etc/passwd and /etc/group if it looks up users"
    );
}

/// A program built for another kernel fails, with the fix in its build's language; a real
/// start in an empty root agrees (the verdict test above covers the C fixture).
#[test]
fn other_operating_systems_fail() {
    let (code, j) = verify_json(&["testdata/freebsd-static"]);
    assert_eq!(code, 1);
    assert_eq!(codes(&j[0]["problems"]), ["wrong-os"]);
    assert_eq!(
        j[0]["problems"][0]["message"],
        "built for freebsd, but containers run on the Linux kernel: it cannot run in the image"
    );
    assert_eq!(
        j[0]["problems"][0]["hint"],
        "build it with a Linux toolchain (gcc, musl-gcc, or a cross compiler for Linux)"
    );

    // Go records GOOS; a GOOS=freebsd build (cross-compiled here: 1.1 MiB is not worth
    // committing) gets the Go fix.
    let Some((work, exe)) = common::go_build(
        "go-hello",
        "go-freebsd",
        &[
            ("GOOS", "freebsd"),
            ("GOARCH", "amd64"),
            ("CGO_ENABLED", "0"),
        ],
        &["-ldflags=-s -w"],
    ) else {
        return;
    };
    let (code, j) = verify_json(&[exe.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(j[0]["linkage"], "static");
    assert_eq!(codes(&j[0]["problems"]), ["wrong-os"]);
    assert_eq!(j[0]["problems"][0]["hint"], "build with GOOS=linux");
    if chroot_permitted() {
        fs::copy(&exe, work.path().join("p")).unwrap();
        assert!(!starts_in(work.path(), "p"));
    }
}

/// A program without an execute bit cannot start, even for root: named, it fails; found in a
/// walked directory, it is a warning (failure with --strict).
#[test]
fn program_without_execute_permission() {
    use std::os::unix::fs::PermissionsExt;
    let dir = common::tempdir();
    let f = dir.path().join("musl-static");
    fs::copy(fixture("musl-static"), &f).unwrap();
    fs::set_permissions(&f, fs::Permissions::from_mode(0o644)).unwrap();
    let name = f.to_str().unwrap();

    let (code, j) = verify_json(&[name]);
    assert_eq!(code, 1);
    assert_eq!(codes(&j[0]["problems"]), ["not-executable"]);
    assert_eq!(
        j[0]["problems"][0]["message"],
        "has no execute permission (mode 0644): starting it fails with \"permission denied\""
    );
    if chroot_permitted() {
        assert!(!starts_in(dir.path(), "musl-static"));
    }

    let (code, j) = verify_json(&[dir.path().to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(j[0]["verdict"], "pass");
    assert_eq!(codes(&j[0]["warnings"]), ["not-executable"]);
    let (code, _) = verify_json(&["--strict", dir.path().to_str().unwrap()]);
    assert_eq!(code, 1);

    // One execute bit is enough.
    fs::set_permissions(&f, fs::Permissions::from_mode(0o744)).unwrap();
    let (code, j) = verify_json(&[name]);
    assert_eq!(code, 0, "{j}");
    if chroot_permitted() {
        assert!(starts_in(dir.path(), "musl-static"));
    }
}

/// A file in a walk that cannot be read may be a program: it is an error (exit 2), never a
/// skipped non-ELF file. Root reads anything, so the walk runs as nobody (setpriv).
#[test]
fn unreadable_file_in_a_walk_is_an_error() {
    use std::os::unix::fs::PermissionsExt;
    if !common::have_tool("setpriv") {
        return;
    }
    let dir = common::tempdir();
    let d = dir.path();
    fs::set_permissions(d, fs::Permissions::from_mode(0o755)).unwrap();
    fs::copy(fixture("c-static"), d.join("server")).unwrap();
    fs::copy(fixture("c-static"), d.join("secret")).unwrap();
    fs::write(d.join("notes.txt"), "text").unwrap();
    fs::set_permissions(d.join("secret"), fs::Permissions::from_mode(0o000)).unwrap();
    fs::create_dir(d.join("locked")).unwrap();
    fs::set_permissions(d.join("locked"), fs::Permissions::from_mode(0o000)).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("binslim");
    let out = Std::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&bin)
        .args(["--color=never", "verify"])
        .arg(d)
        .output()
        .unwrap();
    let ds = d.display();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "binslim: {ds}/locked: permission denied\nbinslim: {ds}/secret: permission denied\n"
        )
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "PASS {ds}/server: static x86_64, 744.6 KiB\nchecked 3: 1 passed, 0 failed, 2 could \
             not be analyzed; skipped 1 non-ELF files and symlinks\n"
        )
    );
}

/// ET_DYN with an entry point but neither PT_DYNAMIC nor a loaded `.dynamic` section: nothing
/// proves it relocates itself, so it is not passed as static-pie.
#[test]
fn et_dyn_without_a_dynamic_section_is_not_a_proven_static_pie() {
    let dir = common::tempdir();
    let mut d = fs::read(fixture("c-static-pie")).unwrap();
    let u16_at = |d: &[u8], o: usize| u16::from_le_bytes([d[o], d[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(d[0x20..0x28].try_into().unwrap()) as usize;
    let (phentsize, phnum) = (u16_at(&d, 0x36), u16_at(&d, 0x38));
    for i in 0..phnum {
        let o = phoff + i * phentsize;
        if d[o..o + 4] == 2u32.to_le_bytes() {
            d[o..o + 4].copy_from_slice(&0u32.to_le_bytes()); // PT_DYNAMIC -> PT_NULL
        }
    }
    d[0x28..0x30].fill(0); // e_shoff: no section headers, so no .dynamic section either
    d[0x3a..0x40].fill(0); // e_shentsize, e_shnum, e_shstrndx
    let p = dir.path().join("bare-pie");
    fs::write(&p, &d).unwrap();
    let (code, j) = verify_json(&[p.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(j[0]["linkage"], "unknown");
    assert_eq!(codes(&j[0]["problems"]), ["unproven-static-pie"]);
    // Also in a walk: a silent pass there is what this rule exists to prevent.
    let (code, j) = verify_json(&[dir.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(codes(&j[0]["problems"]), ["unproven-static-pie"]);
}

/// The unpacked copy of a UPX-packed file is judged as the file was found: a packed library
/// named directly is not a program, the same file found in a walk is skipped like any library.
#[test]
fn upx_unpacked_copy_keeps_the_origin() {
    if !common::have_tool("upx") {
        return;
    }
    let dir = common::tempdir();
    let packed = dir.path().join("libgreet.so");
    let st = Std::new("upx")
        .args(["-q", "-o"])
        .arg(&packed)
        .arg(fixture("libgreet.so"))
        .output()
        .unwrap();
    assert!(st.status.success(), "{st:?}");
    let (code, j) = verify_json(&[packed.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(j[0]["unpacked"], true);
    assert_eq!(codes(&j[0]["problems"]), ["not-a-program"]);
    let (code, out, _) = verify(&[dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out,
        format!(
            "PASS {}: shared-library, not a program (skipped)\n",
            packed.display()
        )
    );
}

/// Builds, with gcc, a shared library that is also a program, as glibc's `libc.so.6` and
/// libcap are: PT_INTERP (an `.interp` section), DT_SONAME, an entry point, no `-pie` (so no
/// DF_1_PIE), and the loader among its DT_NEEDED as glibc has it. `None` without gcc.
fn runnable_library(dir: &Path) -> Option<std::path::PathBuf> {
    if !common::have_tool("gcc") || !common::have_tool("readelf") {
        return None;
    }
    let src = dir.join("lib.c");
    fs::write(
        &src,
        "#include <unistd.h>\n\
         const char lib_interp[] __attribute__((section(\".interp\"))) =\n\
           \"/lib64/ld-linux-x86-64.so.2\";\n\
         int lib_answer(int x) { return x + 1; }\n\
         void lib_entry(void) { _exit(lib_answer(41)); }\n",
    )
    .unwrap();
    let lib = dir.join("libanswer.so.1");
    let out = Std::new("gcc")
        .args([
            "-shared",
            "-fPIC",
            "-Wl,-soname,libanswer.so.1",
            "-Wl,-e,lib_entry",
        ])
        .args(["-Wl,--no-as-needed", "-o"])
        .arg(&lib)
        .arg(&src)
        .arg("/lib64/ld-linux-x86-64.so.2")
        .output()
        .unwrap();
    assert!(out.status.success(), "gcc: {out:?}");
    Some(lib)
}

/// A program that is also a shared library (PT_INTERP and SONAME, no PIE flag: glibc's
/// `libc.so.6`, libcap) is a library in a walk of a library directory (it fails only with
/// `--strict`), and still the dynamic program it is when named; the loader, also one of its
/// DT_NEEDED, is named once.
#[test]
fn a_library_that_also_runs_is_a_library_in_walks_and_a_program_when_named() {
    let dir = common::tempdir();
    let libdir = dir.path().join("lib");
    fs::create_dir(&libdir).unwrap();
    let Some(lib) = runnable_library(&libdir) else {
        return;
    };
    // What it is, by readelf, and that it really runs.
    let dynamic = common::stdout_of(Std::new("readelf").arg("-dW").arg(&lib));
    assert!(
        dynamic.contains("Library soname: [libanswer.so.1]"),
        "{dynamic}"
    );
    assert!(
        dynamic.contains("Shared library: [ld-linux-x86-64.so.2]"),
        "{dynamic}"
    );
    assert!(!dynamic.contains("PIE"), "{dynamic}");
    let headers = common::stdout_of(Std::new("readelf").arg("-lhW").arg(&lib));
    assert!(headers.contains("DYN (Shared object file)"), "{headers}");
    assert!(
        headers.contains("[Requesting program interpreter: /lib64/ld-linux-x86-64.so.2]"),
        "{headers}"
    );
    assert_eq!(Std::new(&lib).status().unwrap().code(), Some(42));

    let libdir_s = libdir.to_str().unwrap();
    let (code, j) = verify_json(&[libdir_s]);
    assert_eq!(code, 0, "{j}");
    assert_eq!(j[0]["verdict"], "pass");
    assert_eq!(j[0]["linkage"], "shared-library");
    assert_eq!(codes(&j[0]["problems"]), Vec::<String>::new());
    let (code, j) = verify_json(&["--strict", libdir_s]);
    assert_eq!(code, 1, "{j}");
    assert_eq!(codes(&j[0]["problems"]), ["not-a-program"]);
    assert_eq!(
        j[0]["problems"][0]["message"],
        "is a shared library, not a program"
    );

    let (code, out, _) = verify(&[lib.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        format!(
            "FAIL {}: dynamically linked, needs /lib64/ld-linux-x86-64.so.2 and libc.so.6\n  \
             fix: link statically: gcc -static (or -static-pie)\n",
            lib.display()
        )
    );
    let (_, j) = verify_json(&[lib.to_str().unwrap()]);
    assert_eq!(j[0]["linkage"], "dynamic");
    assert_eq!(codes(&j[0]["problems"]), ["dynamic"]);
}

/// A separate debug file (`objcopy --only-keep-debug`) has a program's headers but no code
/// (`.text` is SHT_NOBITS; PT_INTERP, if any, has no bytes): made executable it crashes or
/// cannot be started. It is never a pass, named or walked, and inspect calls it what it is.
#[test]
fn a_debug_file_is_not_a_program() {
    if !common::have_tool("gcc") || !common::have_tool("objcopy") {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = common::tempdir();
    let d = dir.path().join("debug");
    fs::create_dir(&d).unwrap();
    let src = dir.path().join("hello.c");
    fs::write(
        &src,
        "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n",
    )
    .unwrap();
    let mut files = Vec::new();
    for (name, flags) in [("pie", &["-pie"][..]), ("static-pie", &["-static-pie"][..])] {
        let exe = dir.path().join(name);
        let out = Std::new("gcc")
            .args(["-g", "-O1"])
            .args(flags)
            .arg("-o")
            .arg(&exe)
            .arg(&src)
            .output()
            .unwrap();
        assert!(out.status.success(), "gcc {name}: {out:?}");
        let debug = d.join(format!("{name}.debug"));
        let out = Std::new("objcopy")
            .arg("--only-keep-debug")
            .arg(&exe)
            .arg(&debug)
            .output()
            .unwrap();
        assert!(out.status.success(), "objcopy: {out:?}");
        fs::set_permissions(&debug, fs::Permissions::from_mode(0o755)).unwrap();
        let sections = common::stdout_of(Std::new("readelf").arg("-SW").arg(&debug));
        assert!(
            sections
                .lines()
                .any(|l| l.contains(" .text ") && l.contains("NOBITS")),
            "{sections}"
        );
        // Started, it does not do what the program does.
        let started = Std::new(&debug).output();
        assert!(
            !started.as_ref().is_ok_and(|o| o.status.success()),
            "{name}.debug: {started:?}"
        );
        files.push(debug);
    }
    let message = "is a debug file, not a program: its code has no bytes in the file (objcopy \
                   --only-keep-debug), and started it crashes";
    for f in &files {
        let (code, out, _) = verify(&[f.to_str().unwrap()]);
        assert_eq!(code, 1);
        assert_eq!(
            out,
            format!(
                "FAIL {}: {message}\n  fix: verify the program it was split from\n",
                f.display()
            )
        );
        let j = common::inspect_json(f);
        assert_eq!(j["linkage"], "debug-file");
    }
    let (code, j) = verify_json(&[d.to_str().unwrap()]);
    assert_eq!(code, 1, "{j}");
    for r in j.as_array().unwrap() {
        assert_eq!(r["verdict"], "fail");
        assert_eq!(r["linkage"], "debug-file");
        assert_eq!(codes(&r["problems"]), ["not-a-program"]);
        assert_eq!(r["problems"][0]["message"], message);
    }
    assert_eq!(j.as_array().unwrap().len(), 2);
    let text = binslim().arg("inspect").arg(&files[0]).output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains(
            "  linkage      debug-file: a separate debug file (objcopy --only-keep-debug): its \
             code has no bytes, not a program\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("  interpreter  (PT_INTERP names none: no bytes in the file)\n"),
        "{text}"
    );
}
