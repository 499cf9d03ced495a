//! Dogfood in a real engine: binslim built as a static musl binary, put into a FROM scratch
//! image *by `binslim image`* with a static Go program and a dynamic C program added, loaded
//! into podman and run with runc. The exec-form gate `RUN ["/binslim", "verify", "/server"]`
//! is proven where it runs: no shell, no libc, no loader in the image, and binslim's verdicts
//! (exit 0 for the static program, 1 for the dynamic one) come out of the container; then
//! `podman build` runs that RUN line in FROM scratch Dockerfiles that `COPY --from=` the image:
//! the static program's build goes on, the dynamic one's stops with binslim's reason.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{binslim, fixture, go_build, have_tool, podman, podman_run, skip, stdout_of, tempdir};
use serde_json::Value;

const MUSL: &str = "x86_64-unknown-linux-musl";

const MUSL_ARM64: &str = "aarch64-unknown-linux-musl";

/// True when rustup has `target`'s standard library; otherwise [`skip`]s (CI runs
/// `rustup target add x86_64-unknown-linux-musl aarch64-unknown-linux-musl`).
fn have_target(target: &str) -> bool {
    let ok = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .is_ok_and(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l == target)
        });
    if !ok {
        skip(&format!(
            "the Rust target {target} is not installed (rustup target add {target})"
        ));
    }
    ok
}

/// `cargo build --release --locked --target TARGET` of this repository into its own target
/// directory under CARGO_TARGET_TMPDIR (kept between runs, so a rebuild is incremental, and
/// apart from the test build's target directory so the two never wait on each other's lock).
/// `linker` sets the target's linker (`rust-lld` for aarch64: the toolchain's own, with the
/// target's bundled musl C runtime, so no cross gcc is needed); a cross build also compiles
/// ring's C and assembly (the registry client's TLS) with clang, which targets any arch.
fn build_static_binslim(target: &str, linker: Option<&str>) -> PathBuf {
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dogfood-musl");
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .current_dir(common::root())
        .args(["build", "--release", "--locked", "--target", target])
        .arg("--target-dir")
        .arg(&target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS");
    if let Some(l) = linker {
        let var = format!(
            "CARGO_TARGET_{}_LINKER",
            target.to_uppercase().replace('-', "_")
        );
        cargo.env(var, l);
        let cc = format!("CC_{}", target.replace('-', "_"));
        if std::env::var_os(&cc).is_none() {
            cargo.env(cc, "clang");
        }
    }
    let out = cargo.output().expect("run cargo");
    assert!(
        out.status.success(),
        "cargo build --target {target}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    target_dir.join(target).join("release").join("binslim")
}

/// The build is fully static for readelf (no PT_INTERP, no DT_NEEDED) and for binslim, whose
/// inspect --json is returned.
fn assert_static(program: &Path) -> Value {
    let phdrs = stdout_of(Command::new("readelf").arg("-lW").arg(program));
    assert!(!phdrs.contains("INTERP"), "{phdrs}");
    let dynamic = stdout_of(Command::new("readelf").arg("-dW").arg(program));
    assert!(!dynamic.contains("(NEEDED)"), "{dynamic}");
    let out = binslim()
        .args(["inspect", "--json"])
        .arg(program)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let facts: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(facts[0]["interpreter"], Value::Null);
    assert_eq!(facts[0]["needed"], serde_json::json!([]));
    facts[0].clone()
}

/// aarch64: the toolchain links a static binslim by itself (rust-lld); it cannot run here
/// without qemu, so binslim checks it for each platform.
#[test]
fn static_binslim_for_arm64_links_with_rust_lld() {
    if !(have_tool("readelf") && have_target(MUSL_ARM64)) {
        return;
    }
    let arm = build_static_binslim(MUSL_ARM64, Some("rust-lld"));
    let facts = assert_static(&arm);
    assert_eq!(facts["machine"], "aarch64", "{facts}");
    assert_eq!(facts["linkage"], "static", "{facts}");
    let verify = |platform: &str| {
        binslim()
            .args(["verify", "--platform", platform])
            .arg(&arm)
            .output()
            .unwrap()
    };
    let out = verify("linux/arm64");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let pass = format!("PASS {}: static aarch64, ", arm.display());
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with(&pass),
        "{out:?}"
    );
    let out = verify("linux/amd64");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(
            "built for aarch64 (elf64), but the target platform linux/amd64 needs x86_64 (elf64)"
        ),
        "{out:?}"
    );
}

/// The run line of CONTAINERS.md with `args` after the image (the image's Cmd, after its
/// Entrypoint `/binslim`): stdout, stderr, exit code.
fn run_in(image: &str, args: &[&str]) -> (String, String, i32) {
    podman_run(image, args)
}

#[test]
fn static_binslim_in_its_own_scratch_image_gates_programs() {
    if !(have_tool("podman") && have_tool("runc") && have_tool("readelf") && have_target(MUSL)) {
        return;
    }
    let Some((_go_dir, server)) = go_build("go-hello", "server", &[("CGO_ENABLED", "0")], &[])
    else {
        return;
    };
    let static_binslim = build_static_binslim(MUSL, None);

    // 1. The musl build is fully static: no PT_INTERP, no DT_NEEDED; binslim agrees.
    let facts = assert_static(&static_binslim);
    assert_eq!(facts["linkage"], "static-pie", "{facts}");
    assert_eq!(facts["machine"], "x86_64", "{facts}");
    let out = binslim()
        .args(["verify", "--json"])
        .arg(&static_binslim)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // No warning either: binslim's own bytes do not hold the NSS needles it searches for.
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["warnings"], serde_json::json!([]), "{v}");

    // 2. The image, by binslim image: /binslim as the entrypoint, the two programs added.
    let dir = tempdir();
    let tar = dir.path().join("binslim.tar");
    let name = format!("binslim-test-dogfood-{}", std::process::id());
    let out = binslim()
        .arg("image")
        .arg(&static_binslim)
        .arg("-o")
        .arg(&tar)
        .args(["--tag", &name, "--path", "/binslim", "--json"])
        // binslim carries the CA bundle's path and "zoneinfo" as strings of its own, so auto
        // would add both; the gate needs neither.
        .args(["--ca-certs", "no", "--tzdata", "no"])
        .arg("--add")
        .arg(format!("{}:/server", server.display()))
        .arg("--add")
        .arg(format!("{}:/dyn", fixture("c-dynamic-pie").display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let files: Vec<(&str, &str)> = report["image"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap(), f["why"].as_str().unwrap()))
        .filter(|(p, _)| !p.starts_with("/etc/") && !p.starts_with("/home/") && *p != "/tmp")
        .collect();
    assert_eq!(
        files,
        [
            ("/binslim", "program"),
            ("/dyn", "--add"),
            ("/server", "--add")
        ],
        "{report}"
    );

    let loaded = stdout_of(podman().arg("load").arg("-i").arg(&tar));
    let image = format!("{name}:latest");
    assert!(loaded.contains(&image), "podman load said: {loaded}");
    let config = stdout_of(podman().args([
        "image",
        "inspect",
        "--format",
        "{{.Config.Entrypoint}} {{.Config.Cmd}}",
        &image,
    ]));
    assert_eq!(config, "[/binslim] []\n");
    let ok = run_in(&image, &["verify", "/server"]);
    let fail = run_in(&image, &["verify", "/dyn"]);
    let json = run_in(&image, &["verify", "--json", "/server", "/dyn"]);
    let version = run_in(&image, &["--version"]);
    let gate = dockerfile_gate(&image, &server);
    let _ = podman().args(["rmi", "-f", &image]).output();
    gate.check();

    // 3. What came out of the container.
    assert_eq!(
        version,
        (
            format!("binslim {}\n", env!("CARGO_PKG_VERSION")),
            String::new(),
            0
        )
    );
    let (stdout, stderr, code) = ok;
    assert_eq!(code, 0, "verify /server: {stdout}{stderr}");
    assert!(
        stdout.starts_with("PASS /server: static x86_64, "),
        "{stdout}"
    );
    assert_eq!(stderr, "");
    let (stdout, stderr, code) = fail;
    assert_eq!(code, 1, "verify /dyn: {stdout}{stderr}");
    assert_eq!(
        stdout,
        "FAIL /dyn: dynamically linked, needs /lib64/ld-linux-x86-64.so.2 and libc.so.6\n  \
         fix: link statically: gcc -static (or -static-pie)\n"
    );
    assert_eq!(stderr, "");
    let (stdout, stderr, code) = json;
    assert_eq!(code, 1, "{stdout}{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let verdicts: Vec<(&str, &str)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["path"].as_str().unwrap(), r["verdict"].as_str().unwrap()))
        .collect();
    assert_eq!(
        verdicts,
        [("/server", "pass"), ("/dyn", "fail")],
        "{stdout}"
    );
}

/// What `podman build` said for the two Dockerfiles of [`dockerfile_gate`].
struct Gate {
    ok: std::process::Output,
    ok_run: (String, String, i32),
    dyn_: std::process::Output,
}

/// The gate as a Dockerfile uses it: `COPY --from=` binslim's image into a FROM scratch stage,
/// then the exec-form `RUN ["/binslim", "verify", ...]`, built by `podman build` with runc.
/// One Dockerfile gates the static Go server (the build goes on, and its image runs), one the
/// dynamic C program (the build stops at the RUN).
fn dockerfile_gate(binslim_image: &str, server: &Path) -> Gate {
    let ctx = tempdir();
    std::fs::copy(server, ctx.path().join("server")).unwrap();
    std::fs::copy(fixture("c-dynamic-pie"), ctx.path().join("dyn")).unwrap();
    let dockerfile = |name: &str, program: &str, tail: &str| {
        std::fs::write(
            ctx.path().join(name),
            format!(
                "FROM scratch\n\
                 COPY --from={binslim_image} /binslim /binslim\n\
                 COPY {program} /{program}\n\
                 RUN [\"/binslim\", \"verify\", \"/{program}\"]\n{tail}"
            ),
        )
        .unwrap();
    };
    dockerfile("Dockerfile.ok", "server", "ENTRYPOINT [\"/server\"]\n");
    dockerfile("Dockerfile.dyn", "dyn", "");
    let tag = |what: &str| format!("{}-{what}", binslim_image.trim_end_matches(":latest"));
    let build = |file: &str, what: &str| {
        podman()
            .args(["build", "--network=none", "--no-cache"])
            .args([
                "--ulimit",
                "nofile=1024:1024",
                "--ulimit",
                "nproc=1024:1024",
            ])
            .args(["-t", &tag(what), "-f"])
            .arg(ctx.path().join(file))
            .arg(ctx.path())
            .output()
            .expect("podman build")
    };
    let ok = build("Dockerfile.ok", "ok");
    let ok_run = run_in(&format!("{}:latest", tag("ok")), &[]);
    let dyn_ = build("Dockerfile.dyn", "dyn");
    let _ = podman()
        .args(["rmi", "-f", &tag("ok"), &tag("dyn")])
        .output();
    Gate { ok, ok_run, dyn_ }
}

impl Gate {
    fn check(self) {
        let text = |o: &std::process::Output| {
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        };
        let ok = text(&self.ok);
        assert_eq!(self.ok.status.code(), Some(0), "{ok}");
        assert!(
            ok.contains(
                "RUN [\"/binslim\", \"verify\", \"/server\"]\nPASS /server: static x86_64, "
            ),
            "{ok}"
        );
        assert_eq!(
            self.ok_run,
            ("hello from go\n".to_string(), String::new(), 0)
        );
        let dyn_ = text(&self.dyn_);
        assert_eq!(self.dyn_.status.code(), Some(1), "{dyn_}");
        assert!(
            dyn_.contains(
                "RUN [\"/binslim\", \"verify\", \"/dyn\"]\n\
                 FAIL /dyn: dynamically linked, needs /lib64/ld-linux-x86-64.so.2 and libc.so.6\n  \
                 fix: link statically: gcc -static (or -static-pie)\n"
            ),
            "{dyn_}"
        );
        assert!(dyn_.contains("exit status 1"), "{dyn_}");
    }
}
