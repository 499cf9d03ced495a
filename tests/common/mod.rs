//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub mod registry;
pub mod validators;

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The path of a committed fixture.
pub fn fixture(name: &str) -> PathBuf {
    root().join("testdata").join(name)
}

/// `binslim` run from the repository root (so paths in output are `testdata/...`), without
/// colour and with a clean environment for the variables binslim reads.
pub fn binslim() -> Command {
    let mut cmd = Command::cargo_bin("binslim").expect("binslim binary");
    cmd.current_dir(root())
        .env_remove("TARGETPLATFORM")
        .env_remove("NO_COLOR")
        .arg("--color=never");
    cmd
}

/// Runs a command and returns its stdout as a string, panicking with stderr on failure.
pub fn stdout_of(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().expect("run command");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// True when the tests must not skip for want of a tool: `.ci/run` sets
/// `BINSLIM_REQUIRE_TOOLS=1`, so a green CI means every check really ran.
pub fn tools_required() -> bool {
    std::env::var_os("BINSLIM_REQUIRE_TOOLS").is_some_and(|v| v != "0" && !v.is_empty())
}

/// Called where a test cannot go on because `what` is missing: fails the test when tools are
/// required (CI), else prints why it is skipped (`return` after it).
pub fn skip(what: &str) {
    assert!(
        !tools_required(),
        "{what}, and BINSLIM_REQUIRE_TOOLS is set: install it (.ci/run does)"
    );
    eprintln!("skipped: {what} (.ci/run installs it; BINSLIM_REQUIRE_TOOLS=1 makes this fail)");
}

/// True when `name` is on PATH; otherwise [`skip`]s (failing under `BINSLIM_REQUIRE_TOOLS`).
pub fn have_tool(name: &str) -> bool {
    if which::which(name).is_ok() {
        return true;
    }
    skip(&format!("{name} is not on PATH"));
    false
}

/// Debian's Go 1.23 (golang-1.23-go from bookworm-backports, `/usr/lib/go-1.23/bin/go`), else
/// a `go` on PATH. [`skip`]s when there is neither.
pub fn go_tool() -> Option<PathBuf> {
    let p = Path::new("/usr/lib/go-1.23/bin/go");
    if p.exists() {
        return Some(p.to_path_buf());
    }
    if let Ok(p) = which::which("go") {
        return Some(p);
    }
    skip("Go is not installed (/usr/lib/go-1.23/bin/go or go on PATH)");
    None
}

/// A fresh temporary directory under `CARGO_TARGET_TMPDIR` (never the repository's `target/`
/// itself, never /tmp where other runs clean up).
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("t-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temporary directory in CARGO_TARGET_TMPDIR")
}

/// Builds the Go program in `testdata/src/SRC` into a temporary directory as OUT with Go 1.23,
/// offline and with a private cache; `env` adds variables (GOOS, CGO_ENABLED...), `flags` go
/// before the package. `None` when Go is not installed (see [`skip`]);
/// panics with go's output when the build fails. Keep the directory while using the program.
pub fn go_build(
    src: &str,
    out: &str,
    env: &[(&str, &str)],
    flags: &[&str],
) -> Option<(tempfile::TempDir, PathBuf)> {
    let go = go_tool()?;
    let dir = tempdir();
    let exe = dir.path().join(out);
    let flags = [&["-trimpath"], flags].concat();
    go_build_at(&go, src, &exe, env, &flags, &dir.path().join("gocache"));
    Some((dir, exe))
}

/// `go build -o EXE FLAGS .` in `testdata/src/SRC`, offline, with `env` added and the build
/// cache `gocache` (a private one per build, or one shared by a test file's builds); GOPATH is
/// beside EXE. Panics with go's output when the build fails.
pub fn go_build_at(
    go: &Path,
    src: &str,
    exe: &Path,
    env: &[(&str, &str)],
    flags: &[&str],
    gocache: &Path,
) {
    let gopath = exe.parent().expect("EXE in a directory").join("gopath");
    let output = std::process::Command::new(go)
        .current_dir(fixture("src").join(src))
        .envs([
            ("GOTOOLCHAIN", "local"),
            ("GOPROXY", "off"),
            ("GOFLAGS", "-buildvcs=false"),
        ])
        .envs(env.iter().copied())
        .env("GOCACHE", gocache)
        .env("GOPATH", gopath)
        .args(["build", "-o"])
        .arg(exe)
        .args(flags)
        .arg(".")
        .output()
        .expect("run go");
    assert!(output.status.success(), "go build {src}: {output:?}");
}

/// True when this process may chroot (root): starts the static musl fixture alone in an empty
/// directory. Otherwise [`skip`]s (failing under `BINSLIM_REQUIRE_TOOLS`).
pub fn chroot_permitted() -> bool {
    let dir = tempdir();
    std::fs::copy(fixture("musl-static"), dir.path().join("musl-static")).unwrap();
    let ok = std::process::Command::new("chroot")
        .arg(dir.path())
        .arg("/musl-static")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        skip("chroot is not permitted here (needs root)");
    }
    ok
}

/// `chroot ROOT ARGS...` without LD_LIBRARY_PATH and with `env` added: exit code (-1 for a
/// signal), stdout, stderr. Retries while the program is busy (ETXTBSY: another test thread
/// forked while the file was open for writing).
pub fn chroot_run(root: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    for _ in 0..50 {
        let out = std::process::Command::new("chroot")
            .arg(root)
            .args(args)
            .env_remove("LD_LIBRARY_PATH")
            .envs(env.iter().copied())
            .output()
            .expect("chroot");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        if out.status.code() == Some(126) && err.contains("Text file busy") {
            std::thread::sleep(std::time::Duration::from_millis(20));
            continue;
        }
        return (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            err,
        );
    }
    panic!("{args:?} stayed busy");
}

/// The `code` of each finding in a JSON list of findings.
pub fn codes(list: &serde_json::Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

/// `podman --runtime runc`: the engine of these machines (see ../shared/CONTAINERS.md).
pub fn podman() -> std::process::Command {
    let mut c = std::process::Command::new("podman");
    c.arg("--runtime").arg("runc");
    c
}

/// Held while a test adds an image to podman's store, uses it and removes it again: tests of
/// one binary run in parallel and often add the same image (the same ID) under their own names,
/// and podman adding a name to an image that another test's `rmi` is deleting loses it (that
/// test's `podman run` then finds no such image).
pub fn podman_images_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    // A test that failed while holding it left nothing half-done in podman that matters here.
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The run line of CONTAINERS.md: `podman run` of `image` with `args` after it (its Cmd),
/// without network and with the ulimits runc needs here. Returns stdout, stderr, exit code.
pub fn podman_run(image: &str, args: &[&str]) -> (String, String, i32) {
    let out = podman()
        .args(["run", "--rm", "--network=none"])
        .args([
            "--ulimit",
            "nofile=1024:1024",
            "--ulimit",
            "nproc=1024:1024",
        ])
        .arg(image)
        .args(args)
        .output()
        .expect("podman run");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

/// One tar entry (GNU header, mode 0755) with `data`, padded to 512 bytes: for hand-made
/// image layers.
pub fn raw_entry(name: &str, data: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    h.set_size(data.len() as u64);
    h.set_mode(0o755);
    h.set_cksum();
    let mut v = h.as_bytes().to_vec();
    v.extend_from_slice(data);
    v.resize(v.len().div_ceil(512) * 512, 0);
    v
}

/// The SHA-256 of `data`, hex.
pub fn sha256(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `binslim verify --json ARGS`: the exit code and the whole JSON array; panics with stderr
/// when stdout is not JSON.
pub fn verify_json(args: &[&str]) -> (i32, serde_json::Value) {
    let out = binslim()
        .args(["verify", "--json"])
        .args(args)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), v)
}

/// `binslim inspect --json PATH` (relative paths from the repository root), which must exit
/// 0: the file's object.
pub fn inspect_json(path: impl AsRef<std::ffi::OsStr>) -> serde_json::Value {
    let path = Path::new(path.as_ref());
    let out = binslim()
        .args(["inspect", "--json"])
        .arg(path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array().unwrap()[0].clone()
}

/// GNU `strip FLAGS [-o OUT] INPUT` (in place without `out`); panics with its output when it
/// fails.
pub fn gnu_strip(flags: &[&str], input: &Path, out: Option<&Path>) {
    let mut cmd = std::process::Command::new("strip");
    cmd.args(flags);
    if let Some(out) = out {
        cmd.arg("-o").arg(out);
    }
    let output = cmd.arg(input).output().expect("run strip");
    assert!(
        output.status.success(),
        "strip {flags:?} {input:?}: {output:?}"
    );
}

/// A docker-archive (as `docker save` writes it: `l/layer.tar`, `<config sha256>.json`,
/// `manifest.json`) of one uncompressed `layer` and the config JSON `config`.
pub fn docker_archive(layer: &[u8], config: &str) -> Vec<u8> {
    let cfg_hex = sha256(config.as_bytes());
    let manifest = format!(r#"[{{"Config":"{cfg_hex}.json","Layers":["l/layer.tar"]}}]"#);
    let mut archive = raw_entry("l/layer.tar", layer);
    archive.extend(raw_entry(&format!("{cfg_hex}.json"), config.as_bytes()));
    archive.extend(raw_entry("manifest.json", manifest.as_bytes()));
    archive.extend_from_slice(&[0; 1024]);
    archive
}

/// Debian's x86_64 glibc loader, at its real path (`/lib64/ld-linux-x86-64.so.2` links to it).
pub const GLIBC_LOADER: &str = "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2";
/// Debian's x86_64 libc.
pub const GLIBC_LIBC: &str = "/lib/x86_64-linux-gnu/libc.so.6";

/// Copies the host file `from` into `root` at `to` (root-absolute), creating directories.
pub fn put(root: &Path, from: impl AsRef<Path>, to: &str) {
    let dest = root.join(to.trim_start_matches('/'));
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    std::fs::copy(from, &dest).unwrap();
}

/// A symbolic link to `target` at `at` (root-absolute) in `root`, creating directories.
pub fn link(root: &Path, target: &str, at: &str) {
    let dest = root.join(at.trim_start_matches('/'));
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, dest).unwrap();
}

/// A fresh image root holding the host's loader and libc where Debian puts them, and the
/// `/lib64` link programs name (the layout of a distroless image): for `verify --root` and
/// chroot.
pub fn glibc_root() -> tempfile::TempDir {
    let root = tempdir();
    let r = root.path();
    put(r, GLIBC_LOADER, GLIBC_LOADER);
    put(r, GLIBC_LIBC, GLIBC_LIBC);
    link(r, GLIBC_LOADER, "/lib64/ld-linux-x86-64.so.2");
    root
}
