//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

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

/// Debian's Go 1.23 (golang-1.23-go from bookworm-backports), which .ci/run installs.
pub fn go_tool() -> Option<&'static Path> {
    let p = Path::new("/usr/lib/go-1.23/bin/go");
    p.exists().then_some(p)
}

/// Builds the Go program in `testdata/src/SRC` into a temporary directory as OUT with Go 1.23,
/// offline and with a private cache; `env` adds variables (GOOS, CGO_ENABLED...), `flags` go
/// before the package. `None`, after saying so, when Go is not installed (.ci/run installs it);
/// panics with go's output when the build fails. Keep the directory while using the program.
pub fn go_build(
    src: &str,
    out: &str,
    env: &[(&str, &str)],
    flags: &[&str],
) -> Option<(tempfile::TempDir, PathBuf)> {
    let Some(go) = go_tool() else {
        eprintln!("skipped: /usr/lib/go-1.23/bin/go is not installed (.ci/run installs it)");
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join(out);
    let output = std::process::Command::new(go)
        .current_dir(fixture("src").join(src))
        .envs([
            ("GOTOOLCHAIN", "local"),
            ("GOPROXY", "off"),
            ("GOFLAGS", "-buildvcs=false"),
        ])
        .envs(env.iter().copied())
        .env("GOCACHE", dir.path().join("gocache"))
        .env("GOPATH", dir.path().join("gopath"))
        .args(["build", "-trimpath", "-o"])
        .arg(&exe)
        .args(flags)
        .arg(".")
        .output()
        .expect("run go");
    assert!(output.status.success(), "go build {src}: {output:?}");
    Some((dir, exe))
}
