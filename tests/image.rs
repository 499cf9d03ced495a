//! `binslim image`: images are loaded into podman and run with runc (the judge), read by skopeo
//! and unpacked by umoci; refusals and bad options are checked for exit code and message.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{
    binslim, fixture, go_build, have_tool, podman, podman_images_lock, podman_run, stdout_of,
    tempdir,
};
use serde_json::Value;

/// A name no other test (or run) uses.
fn unique(test: &str) -> String {
    format!("binslim-test-{test}-{}", std::process::id())
}

/// `podman load -i TAR`, the run line of CONTAINERS.md, then `podman rmi`. Returns stdout,
/// stderr and the exit code of the run.
fn load_and_run(tar: &Path, image: &str) -> (String, String, i32) {
    let _images = podman_images_lock();
    let loaded = stdout_of(podman().arg("load").arg("-i").arg(tar));
    assert!(loaded.contains(image), "podman load said: {loaded}");
    let run = podman_run(image, &[]);
    let _ = podman().args(["rmi", "-f", image]).output();
    run
}

fn have_engine() -> bool {
    have_tool("podman") && have_tool("runc")
}

/// Builds the image of `program` with `extra` options and the tag `name`; returns the JSON
/// report.
fn build(program: &Path, out: &Path, name: &str, extra: &[&str]) -> Value {
    let assert = binslim()
        .arg("image")
        .arg(program)
        .arg("-o")
        .arg(out)
        .args(["--tag", name, "--json"])
        .args(extra)
        .assert()
        .success();
    serde_json::from_slice(&assert.get_output().stdout).expect("JSON report")
}

/// Builds and runs a docker-archive image of `program`, asserting its exact output.
fn runs(test: &str, program: &Path, extra: &[&str], expected: &str) {
    let dir = tempdir();
    let name = unique(test);
    let tar = dir.path().join("image.tar");
    build(program, &tar, &name, extra);
    let (stdout, stderr, code) = load_and_run(&tar, &format!("{name}:latest"));
    assert_eq!((stdout.as_str(), code), (expected, 0), "stderr: {stderr}");
}

#[test]
fn static_go_runs() {
    if !have_engine() {
        return;
    }
    runs("go-static", &fixture("go-static"), &[], "hello from go\n");
}

#[test]
fn static_rust_runs() {
    if !have_engine() {
        return;
    }
    runs(
        "rust-static",
        &fixture("rust-static"),
        // As an oci-archive: podman loads that form too (named localhost/NAME:TAG).
        &["--format", "oci"],
        "hello from rust-static\n",
    );
}

#[test]
fn dynamic_c_runs_with_libs() {
    if !have_engine() {
        return;
    }
    runs(
        "c-dynamic",
        &fixture("c-dynamic-pie"),
        &["--with-libs"],
        "hello from c-dynamic-pie\n",
    );
}

#[test]
fn dynamic_rust_runs_with_libs() {
    if !have_engine() {
        return;
    }
    runs(
        "rust-dynamic",
        &fixture("rust-dynamic"),
        &["--with-libs"],
        "hello from rust-dynamic\n",
    );
}

#[test]
fn dynamic_musl_runs_with_libs() {
    if !have_engine() || !Path::new("/lib/ld-musl-x86_64.so.1").exists() {
        common::skip("musl is not installed (/lib/ld-musl-x86_64.so.1)");
        return;
    }
    runs(
        "musl-dynamic",
        &fixture("musl-dynamic"),
        &["--with-libs"],
        "hello from musl-dynamic\n",
    );
}

#[test]
fn with_libs_lists_loader_and_libraries() {
    let dir = tempdir();
    let report = build(
        &fixture("rust-dynamic"),
        &dir.path().join("r.tar"),
        "r",
        &["--with-libs"],
    );
    let files = report["image"]["files"].as_array().unwrap();
    let why = |p: &str| {
        files
            .iter()
            .find(|f| f["path"] == p)
            .map(|f| f["why"].as_str().unwrap().to_string())
    };
    assert_eq!(why("/rust-dynamic").as_deref(), Some("program"));
    assert_eq!(
        why("/lib64/ld-linux-x86-64.so.2").as_deref(),
        Some("loader of /rust-dynamic")
    );
    assert_eq!(
        why("/lib/x86_64-linux-gnu/libgcc_s.so.1").as_deref(),
        Some("DT_NEEDED of /rust-dynamic")
    );
    assert_eq!(
        why("/lib/x86_64-linux-gnu/libc.so.6").as_deref(),
        Some("DT_NEEDED of /rust-dynamic")
    );
}

#[test]
fn go_runtime_files_work_in_the_image_and_not_in_bare_scratch() {
    if !have_engine() {
        return;
    }
    let Some((_go, exe)) = go_build("go-runtime", "go-runtime", &[("CGO_ENABLED", "0")], &[])
    else {
        return;
    };
    let name = unique("go-runtime");
    let dir = tempdir();
    let tar = dir.path().join("image.tar");
    let report = build(&exe, &tar, &name, &[]);
    let whys: Vec<(&str, &str)> = report["image"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap(), f["why"].as_str().unwrap()))
        .collect();
    assert_eq!(
        whys,
        [
            ("/etc/group", "looks up users and groups (os/user)"),
            ("/etc/passwd", "looks up users and groups (os/user)"),
            (
                "/etc/ssl/certs/ca-certificates.crt",
                "loads system root certificates"
            ),
            ("/go-runtime", "program"),
            ("/home/nonroot", "home of nonroot"),
            ("/tmp", "temporary files"),
            ("/usr/share/zoneinfo", "loads time zones"),
        ]
    );
    let (out, err, code) = load_and_run(&tar, &format!("{name}:latest"));
    assert_eq!(
        (out.as_str(), code),
        ("certs=true zoneinfo=true user=true tmp=true\n", 0),
        "{err}"
    );

    // The same program in a bare FROM scratch image, as podman build makes it.
    let ctx = dir.path().join("ctx");
    fs::create_dir(&ctx).unwrap();
    fs::copy(&exe, ctx.join("go-runtime")).unwrap();
    fs::write(
        ctx.join("Containerfile"),
        "FROM scratch\nCOPY go-runtime /go-runtime\nENTRYPOINT [\"/go-runtime\"]\n",
    )
    .unwrap();
    let bare = unique("go-runtime-bare");
    stdout_of(
        podman()
            .args(["build", "-q", "-t", &bare, "-f"])
            .arg(ctx.join("Containerfile"))
            .arg(&ctx),
    );
    let (stdout, _, _) = podman_run(&bare, &[]);
    let _ = podman().args(["rmi", "-f", &bare]).output();
    assert_eq!(stdout, "certs=false zoneinfo=false user=false tmp=false\n");
}

#[test]
fn dynamic_program_without_with_libs_is_refused() {
    let dir = tempdir();
    let out = dir.path().join("c.tar");
    // Also with --shrink: the refusal comes before any shrinking (no ledger on stdout).
    for shrink in [&[][..], &["--shrink"][..]] {
        binslim()
            .arg("image")
            .arg(fixture("c-dynamic-pie"))
            .arg("-o")
            .arg(&out)
            .args(shrink)
            .assert()
            .code(1)
            .stdout("");
    }
    binslim()
        .arg("image")
        .arg(fixture("c-dynamic-pie"))
        .arg("-o")
        .arg(&out)
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicates::str::contains(
            "dynamically linked, needs /lib64/ld-linux-x86-64.so.2 and libc.so.6",
        ))
        .stderr(predicates::str::contains(
            "or build the image with --with-libs to bundle the loader and its libraries",
        ))
        .stderr(predicates::str::contains("no image written"));
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing left behind"
    );
}

#[test]
fn same_inputs_give_identical_bytes() {
    let dir = tempdir();
    let build_to = |name: &str, epoch: Option<&str>| -> Vec<u8> {
        let out = dir.path().join(name);
        let mut cmd = binslim();
        if let Some(e) = epoch {
            cmd.env("SOURCE_DATE_EPOCH", e);
        } else {
            cmd.env_remove("SOURCE_DATE_EPOCH");
        }
        cmd.arg("image")
            .arg(fixture("go-tls"))
            .arg("-o")
            .arg(&out)
            .assert()
            .success();
        fs::read(out).unwrap()
    };
    let a = build_to("a.tar", None);
    let b = build_to("b.tar", None);
    assert!(a == b, "two builds differ");
    let c = build_to("c.tar", Some("1700000000"));
    let d = build_to("d.tar", Some("1700000000"));
    assert!(c == d, "two builds with SOURCE_DATE_EPOCH differ");
    assert!(a != c, "SOURCE_DATE_EPOCH is not used");
    // Every tar entry (outer and layer) carries the epoch.
    let mut outer = tar::Archive::new(c.as_slice());
    for e in outer.entries().unwrap() {
        let e = e.unwrap();
        assert_eq!(e.header().mtime().unwrap(), 1_700_000_000);
        assert_eq!(e.header().uid().unwrap(), 0);
    }
}

/// `skopeo inspect FLAGS IMAGE` (IMAGE with its transport, e.g. `oci-archive:PATH`), parsed.
fn skopeo_inspect(flags: &[&str], image: String) -> Value {
    serde_json::from_str(&stdout_of(
        Command::new("skopeo").arg("inspect").args(flags).arg(image),
    ))
    .unwrap()
}

#[test]
fn skopeo_reads_every_form_with_binslims_digests() {
    if !have_tool("skopeo") {
        return;
    }
    let dir = tempdir();
    let d = dir.path();
    let oci = build(
        &fixture("go-static"),
        &d.join("o.tar"),
        "me/app:v1",
        &["--format", "oci"],
    );
    let got = skopeo_inspect(&[], format!("oci-archive:{}", d.join("o.tar").display()));
    assert_eq!(got["Digest"], oci["image"]["digest"]);
    assert_eq!(got["Architecture"], "amd64");
    assert_eq!(got["Os"], "linux");
    assert_eq!(
        got["Layers"][0], oci["image"]["layers"][0]["digest"],
        "layer digest"
    );

    let dir_report = build(
        &fixture("go-static"),
        &d.join("layout"),
        "me/app:v1",
        &["--format", "oci-dir"],
    );
    let got = skopeo_inspect(&[], format!("oci:{}:me/app:v1", d.join("layout").display()));
    assert_eq!(got["Digest"], dir_report["image"]["digest"]);
    // The same inputs give the same image whatever the form.
    assert_eq!(dir_report["image"]["digest"], oci["image"]["digest"]);

    // docker-archive: skopeo makes its own schema-2 manifest from manifest.json, with the
    // config blob as written and the uncompressed layer's digest.
    let docker = build(&fixture("go-static"), &d.join("d.tar"), "me/app:v1", &[]);
    let raw = skopeo_inspect(
        &["--raw"],
        format!("docker-archive:{}", d.join("d.tar").display()),
    );
    assert_eq!(raw["config"]["digest"], docker["image"]["config_digest"]);
    assert_eq!(
        raw["layers"][0]["digest"],
        docker["image"]["layers"][0]["diff_id"]
    );
    assert_eq!(
        raw["layers"][0]["size"],
        docker["image"]["layers"][0]["uncompressed_size"]
    );
    // The layer in the JSON is exactly the gzip blob written.
    let layer = &docker["image"]["layers"][0];
    let hex = layer["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:");
    let mut archive = tar::Archive::new(fs::File::open(d.join("d.tar")).unwrap());
    let mut names = Vec::new();
    let mut blob_size = None;
    let mut manifest_json = String::new();
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().into_owned();
        if name == format!("blobs/sha256/{hex}") {
            blob_size = Some(e.header().size().unwrap());
        }
        if name == "manifest.json" {
            std::io::Read::read_to_string(&mut e, &mut manifest_json).unwrap();
        }
        names.push(name);
    }
    assert_eq!(blob_size, layer["size"].as_u64());
    let config_hex = docker["image"]["config_digest"]
        .as_str()
        .unwrap()
        .replace("sha256:", "");
    assert_eq!(
        manifest_json,
        format!(
            r#"[{{"Config":"blobs/sha256/{config_hex}","RepoTags":["me/app:v1"],"Layers":["blobs/sha256/{hex}"]}}]"#
        )
    );
    // The image's config, layer and manifest, and (the default --sbom spdx) the SBOM
    // artifact's empty config, document and manifest.
    assert_eq!(names.len(), 11, "{names:?}");
    assert_eq!(&names[..2], ["blobs/", "blobs/sha256/"]);
    assert_eq!(&names[8..], ["index.json", "manifest.json", "oci-layout"]);
}

#[test]
fn umoci_unpacks_oci_dir_and_oci_archive() {
    if !have_tool("umoci") {
        return;
    }
    let dir = tempdir();
    let d = dir.path();
    build(
        &fixture("go-static"),
        &d.join("layout"),
        "app:v1",
        &[
            "--format",
            "oci-dir",
            "--add",
            &format!("{}:/srv/data/hello.c", fixture("src/hello.c").display()),
        ],
    );
    build(
        &fixture("go-static"),
        &d.join("app.tar"),
        "app:v1",
        &["--format", "oci"],
    );
    let extracted = d.join("extracted");
    fs::create_dir(&extracted).unwrap();
    let mut archive = tar::Archive::new(fs::File::open(d.join("app.tar")).unwrap());
    archive.unpack(&extracted).unwrap();
    for (layout, bundle) in [(d.join("layout"), d.join("b1")), (extracted, d.join("b2"))] {
        stdout_of(
            Command::new("umoci")
                .args(["unpack", "--rootless", "--image"])
                .arg(format!("{}:app:v1", layout.display()))
                .arg(&bundle),
        );
        let rootfs = bundle.join("rootfs");
        let mode = |p: &str| {
            fs::symlink_metadata(rootfs.join(p))
                .unwrap_or_else(|e| panic!("{p}: {e}"))
                .permissions()
                .mode()
                & 0o7777
        };
        assert_eq!(mode("go-static"), 0o755);
        assert_eq!(mode("tmp"), 0o1777);
        assert_eq!(mode("etc/passwd"), 0o644);
        assert_eq!(
            fs::read(rootfs.join("go-static")).unwrap(),
            fs::read(fixture("go-static")).unwrap()
        );
        assert_eq!(
            fs::read_to_string(rootfs.join("etc/passwd")).unwrap(),
            "root:x:0:0:root:/root:/sbin/nologin\n\
             nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n\
             nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
        );
        let config: Value =
            serde_json::from_slice(&fs::read(bundle.join("config.json")).unwrap()).unwrap();
        assert_eq!(config["process"]["args"], serde_json::json!(["/go-static"]));
        assert_eq!(config["process"]["user"]["uid"], 65532);
    }
    assert_eq!(
        fs::read(d.join("b1/rootfs/srv/data/hello.c")).unwrap(),
        fs::read(fixture("src/hello.c")).unwrap()
    );
    assert!(!d.join("b2/rootfs/srv").exists());
}

#[test]
fn options_reach_the_config() {
    if !have_tool("skopeo") {
        return;
    }
    let dir = tempdir();
    let out = dir.path().join("o.tar");
    build(
        &fixture("go-static"),
        &out,
        "app:v1",
        &[
            "--format",
            "oci",
            "--path",
            "/usr/bin/app",
            "--arg",
            "--port=8080",
            "--env",
            "MODE=prod",
            "--user",
            "1000:1000",
        ],
    );
    let config = skopeo_inspect(&["--config"], format!("oci-archive:{}", out.display()));
    let c = &config["config"];
    assert_eq!(
        c["Entrypoint"],
        serde_json::json!(["/usr/bin/app", "--port=8080"])
    );
    assert_eq!(
        c["Env"],
        serde_json::json!([
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "MODE=prod"
        ])
    );
    assert_eq!(c["User"], "1000:1000");
    assert_eq!(c["WorkingDir"], "/");
    assert_eq!(config["created"], "1970-01-01T00:00:00Z");
}

fn fails(args: &[&str], code: i32, message: &str) {
    binslim()
        .arg("image")
        .args(args)
        .assert()
        .code(code)
        .stdout("")
        .stderr(predicates::str::contains(message));
}

#[test]
fn bad_options_are_refused_with_exit_2() {
    let dir = tempdir();
    let d = dir.path();
    let out = d.join("x.tar");
    let out_s = out.to_str().unwrap();
    let prog = fixture("go-static");
    let prog_s = prog.to_str().unwrap();
    fs::write(&out, b"old").unwrap();
    fails(
        &[prog_s, "-o", out_s],
        2,
        &format!("{out_s} already exists: pass --force to replace it"),
    );
    assert_eq!(fs::read(&out).unwrap(), b"old");
    binslim()
        .args(["image", prog_s, "-o", out_s, "--force"])
        .assert()
        .success();
    assert_ne!(fs::read(&out).unwrap(), b"old");
    let new = d.join("n.tar");
    let new_s = new.to_str().unwrap();
    // Each bad option value, and what its refusal says.
    let bad_dest = format!("{prog_s}:relative");
    for (flag, value, message) in [
        (
            "--user",
            "bob",
            "--user 'bob': use root, nonroot (65532), UID or UID:GID",
        ),
        ("--add", "nocolon", "--add 'nocolon': use SRC:DEST"),
        (
            "--add",
            "/no/such/file:/x",
            "--add '/no/such/file:/x': /no/such/file does not exist",
        ),
        ("--add", &bad_dest, "DEST must be an absolute path"),
        (
            "--ca-certs",
            "/no/such/bundle.crt",
            "--ca-certs: /no/such/bundle.crt does not exist on this machine",
        ),
        (
            "--tzdata",
            "/no/such/zoneinfo",
            "--tzdata: /no/such/zoneinfo does not exist on this machine",
        ),
        ("--tag", "Bad:tag", "--tag 'Bad:tag'"),
        ("--env", "NOEQUALS", "--env 'NOEQUALS': use KEY=VALUE"),
    ] {
        fails(&[prog_s, "-o", new_s, flag, value], 2, message);
    }
    fails(
        &[fixture("not-elf.txt").to_str().unwrap(), "-o", new_s],
        2,
        "not-elf.txt",
    );
    // Nothing was written for any refusal, and no temporary file was left.
    let mut left: Vec<PathBuf> = fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    left.sort();
    assert_eq!(left, [out]);
}

#[test]
fn ca_certs_yes_adds_the_bundle_to_a_c_program() {
    let dir = tempdir();
    let bundle = dir.path().join("my.crt");
    fs::write(&bundle, b"-----BEGIN CERTIFICATE-----\n").unwrap();
    let report = build(
        &fixture("c-static"),
        &dir.path().join("c.tar"),
        "c",
        &["--ca-certs", bundle.to_str().unwrap(), "--tzdata", "no"],
    );
    let files = report["image"]["files"].as_array().unwrap();
    let cert = files
        .iter()
        .find(|f| f["path"] == "/etc/ssl/certs/ca-certificates.crt")
        .expect("bundle added");
    assert_eq!(cert["size"], 28);
    assert_eq!(cert["why"], "--ca-certs");
    assert!(!files.iter().any(|f| f["path"] == "/usr/share/zoneinfo"));
}

#[test]
fn shrink_puts_a_stripped_copy_in_the_image_and_leaves_the_input() {
    let dir = tempdir();
    let input = dir.path().join("c-debug");
    fs::copy(fixture("c-debug"), &input).unwrap();
    let before = fs::read(&input).unwrap();
    let report = build(
        &input,
        &dir.path().join("c.tar"),
        "c",
        &["--with-libs", "--shrink"],
    );
    assert_eq!(fs::read(&input).unwrap(), before, "the input is untouched");
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps[0]["step"], "original");
    assert_eq!(steps[0]["size"], before.len());
    assert_eq!(steps[1]["step"], "strip-debug");
    assert_eq!(steps[1]["changed"], true);
    let last = steps.last().unwrap()["size"].as_u64().unwrap();
    assert!(last < before.len() as u64);
    let program = report["image"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "/c-debug")
        .unwrap()
        .clone();
    assert_eq!(program["size"], last);
    // Only the image (and the input) are left: the shrunk copy was temporary.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn upx_packed_copy_runs_in_the_image() {
    if !have_engine() || !have_tool("upx") {
        return;
    }
    let dir = tempdir();
    let name = unique("upx");
    let tar = dir.path().join("image.tar");
    let report = build(&fixture("go-static"), &tar, &name, &["--upx"]);
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps.last().unwrap()["step"], "upx");
    let packed = steps.last().unwrap()["size"].as_u64().unwrap();
    assert!(packed < 1_171_608 / 2, "packed to {packed}");
    let (out, err, code) = load_and_run(&tar, &format!("{name}:latest"));
    assert_eq!((out.as_str(), code), ("hello from go\n", 0), "{err}");
}

#[test]
fn cgo_go_and_go_pie_run_with_libs() {
    if !have_engine() {
        return;
    }
    runs(
        "go-cgo",
        &fixture("go-cgo"),
        &["--with-libs"],
        "hello from go-cgo\n",
    );
    // Go -buildmode=pie: no DT_NEEDED, only the loader.
    runs(
        "go-pie",
        &fixture("go-pie"),
        &["--with-libs"],
        "hello from go\n",
    );
}

#[test]
fn git_runs_with_libs() {
    if !have_engine() || !have_tool("git") {
        return;
    }
    let git = which::which("git").unwrap();
    let version = stdout_of(Command::new(&git).arg("--version"));
    runs(
        "git",
        &git,
        &["--with-libs", "--arg", "--version"],
        &version,
    );
}

/// `--root`: libraries come from another tree, found through the program's `$ORIGIN/../lib`
/// RUNPATH at its `--path` in the image.
#[test]
fn root_and_origin_runpath_place_libraries_where_the_loader_looks() {
    if !have_engine() {
        return;
    }
    let dir = tempdir();
    let root = dir.path().join("root");
    for (host, at) in [
        (
            "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            "lib64/ld-linux-x86-64.so.2",
        ),
        (
            "/lib/x86_64-linux-gnu/libc.so.6",
            "lib/x86_64-linux-gnu/libc.so.6",
        ),
    ] {
        fs::create_dir_all(root.join(at).parent().unwrap()).unwrap();
        fs::copy(host, root.join(at)).unwrap();
    }
    // The loader opens /app/bin/../lib/libgreet.so, so /app/bin must exist in the root too
    // (resolve.rs walks the path as the kernel does).
    fs::create_dir_all(root.join("app/bin")).unwrap();
    fs::create_dir_all(root.join("app/lib")).unwrap();
    fs::copy(fixture("libgreet.so"), root.join("app/lib/libgreet.so")).unwrap();
    let name = unique("c-rpath");
    let tar = dir.path().join("image.tar");
    let report = build(
        &fixture("c-rpath"),
        &tar,
        &name,
        &[
            "--with-libs",
            "--root",
            root.to_str().unwrap(),
            "--path",
            "/app/bin/c-rpath",
        ],
    );
    let paths: Vec<&str> = report["image"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"/app/lib/libgreet.so"), "{paths:?}");
    let (out, err, code) = load_and_run(&tar, &format!("{name}:latest"));
    assert_eq!((out.as_str(), code), ("hello from c-rpath\n", 0), "{err}");
}

/// A library that `--root`'s ld.so.conf finds: the image's loader reads no ld.so.conf (only a
/// cache, which the image lacks), so binslim sets LD_LIBRARY_PATH to that directory.
#[test]
fn ld_so_conf_directories_become_ld_library_path() {
    if !have_engine() || !have_tool("gcc") || !have_tool("skopeo") {
        return;
    }
    let dir = tempdir();
    let prog = dir.path().join("greeter");
    let out = Command::new("gcc")
        .args(["-O2", "-DNAME=\"greeter\"", "-o"])
        .arg(&prog)
        .arg(fixture("src/use-greet.c"))
        .arg(format!("-L{}", fixture("").display()))
        .arg("-lgreet")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let root = dir.path().join("root");
    for (host, at) in [
        (
            PathBuf::from("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
            "lib64/ld-linux-x86-64.so.2",
        ),
        (
            PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
            "lib/x86_64-linux-gnu/libc.so.6",
        ),
        (fixture("libgreet.so"), "opt/greet/libgreet.so"),
    ] {
        fs::create_dir_all(root.join(at).parent().unwrap()).unwrap();
        fs::copy(host, root.join(at)).unwrap();
    }
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::write(root.join("etc/ld.so.conf"), "/opt/greet\n").unwrap();
    let name = unique("ld-so-conf");
    let tar = dir.path().join("image.tar");
    // The loader reads /etc/ld.so.cache, never ld.so.conf: without the cache the library is
    // not found, and the image is refused.
    let refused = binslim()
        .args(["image", "--with-libs", "--root"])
        .arg(&root)
        .arg(&prog)
        .arg("-o")
        .arg(&tar)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("needs libgreet.so (for greeter), which is not found in"),
        "{err}"
    );
    assert!(!tar.exists());
    // With the cache `ldconfig -r ROOT` writes, the root's loader finds it; the image has no
    // cache, so its directory goes into LD_LIBRARY_PATH.
    let st = Command::new("ldconfig")
        .arg("-r")
        .arg(&root)
        .status()
        .unwrap();
    assert!(st.success());
    build(
        &prog,
        &tar,
        &name,
        &[
            "--with-libs",
            "--root",
            root.to_str().unwrap(),
            "--format",
            "oci",
        ],
    );
    let config = skopeo_inspect(&["--config"], format!("oci-archive:{}", tar.display()));
    assert_eq!(
        config["config"]["Env"][1], "LD_LIBRARY_PATH=/opt/greet",
        "{config}"
    );
    let (stdout, err, code) = load_and_run(&tar, &format!("{name}:latest"));
    assert_eq!(
        (stdout.as_str(), code),
        ("hello from greeter\n", 0),
        "{err}"
    );
    // A LD_LIBRARY_PATH of the user's own comes first, and the cache's directory still follows.
    let tar2 = dir.path().join("image2.tar");
    let name2 = format!("{name}-env");
    build(
        &prog,
        &tar2,
        &name2,
        &[
            "--with-libs",
            "--root",
            root.to_str().unwrap(),
            "--env",
            "LD_LIBRARY_PATH=/usr/local/lib",
        ],
    );
    let (stdout, err, code) = load_and_run(&tar2, &format!("{name2}:latest"));
    assert_eq!(
        (stdout.as_str(), code),
        ("hello from greeter\n", 0),
        "{err}"
    );
}

/// `auto` adds nothing a Go program embeds: go-tls-embedded carries its roots
/// (x509.SetFallbackRoots) and time/tzdata, and uses no os/user.
#[test]
fn auto_adds_nothing_a_go_program_embeds() {
    let dir = tempdir();
    let report = build(
        &fixture("go-tls-embedded"),
        &dir.path().join("e.tar"),
        "e",
        &[],
    );
    let files: Vec<(&str, &str)> = report["image"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap(), f["why"].as_str().unwrap()))
        .collect();
    let users = "user and group names (the image runs as nonroot, 65532)";
    assert_eq!(
        files,
        [
            ("/etc/group", users),
            ("/etc/passwd", users),
            ("/go-tls-embedded", "program"),
            ("/home/nonroot", "home of nonroot"),
            ("/tmp", "temporary files"),
        ]
    );
}

/// The committed images in testdata/images/ are what this build writes, byte for byte (a
/// change of format shows here first, and must be reviewed like a snapshot), and
/// `verify --image` reads them without an engine.
#[test]
fn committed_images_are_reproduced_byte_for_byte() {
    let dir = tempdir();
    for (name, extra) in [
        // --sbom none: the committed tar (an input of the verify --image tests) predates
        // attached SBOMs, and this proves --sbom none writes those bytes still.
        ("arm64-static-docker.tar", &["--sbom", "none"][..]),
        (
            "arm64-static-oci.tar",
            &["--format", "oci", "--ca-certs", "no", "--tzdata", "no"][..],
        ),
    ] {
        let out = dir.path().join(name);
        binslim()
            .current_dir(fixture(""))
            .env_remove("SOURCE_DATE_EPOCH")
            .args(["image", "arm64-static", "-o"])
            .arg(&out)
            .args(extra)
            .assert()
            .success();
        assert!(
            fs::read(&out).unwrap() == fs::read(fixture("images").join(name)).unwrap(),
            "{name} differs from testdata/images/{name}: rebuild it with testdata/build.sh \
             and review the change"
        );
        let assert = binslim()
            .args(["verify", "--image"])
            .arg(format!("testdata/images/{name}"))
            .assert()
            .success();
        assert_eq!(
            String::from_utf8_lossy(&assert.get_output().stdout),
            format!("PASS testdata/images/{name}:/arm64-static: static aarch64, 1.6 KiB\n")
        );
    }
}

/// Inside an added tree a symlink is copied as a symlink, as COPY does, absolute ones too: a
/// link to its own directory does not loop, and zoneinfo's `localtime -> /etc/localtime` does
/// not pull the build machine's zone into the image.
#[test]
fn links_inside_an_added_tree_stay_links() {
    let dir = tempdir();
    let d = dir.path();
    let tree = d.join("tree");
    fs::create_dir(&tree).unwrap();
    fs::write(tree.join("file"), "x").unwrap();
    std::os::unix::fs::symlink(&tree, tree.join("self")).unwrap();
    std::os::unix::fs::symlink("/etc/localtime", tree.join("localtime")).unwrap();
    std::os::unix::fs::symlink("file", tree.join("rel")).unwrap();
    let out = d.join("t.tar");
    build(
        &fixture("go-static"),
        &out,
        "t",
        &["--add", &format!("{}:/t", tree.display())],
    );
    // The layer is the gzip blob the manifest names; list its links.
    let mut outer = tar::Archive::new(fs::File::open(&out).unwrap());
    let manifest: Value = {
        let mut outer2 = tar::Archive::new(fs::File::open(&out).unwrap());
        let mut e = outer2
            .entries()
            .unwrap()
            .map(Result::unwrap)
            .find(|e| e.path().unwrap().to_str() == Some("manifest.json"))
            .unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut e, &mut text).unwrap();
        serde_json::from_str(&text).unwrap()
    };
    let layer_name = manifest[0]["Layers"][0].as_str().unwrap().to_string();
    let layer = outer
        .entries()
        .unwrap()
        .map(Result::unwrap)
        .find(|e| e.path().unwrap().to_str() == Some(layer_name.as_str()))
        .unwrap();
    let mut links: Vec<(String, String)> = tar::Archive::new(flate2::read::GzDecoder::new(layer))
        .entries()
        .unwrap()
        .map(Result::unwrap)
        .filter(|e| e.header().entry_type().is_symlink())
        .map(|e| {
            (
                e.path().unwrap().display().to_string(),
                e.link_name().unwrap().unwrap().display().to_string(),
            )
        })
        .collect();
    links.sort();
    assert_eq!(
        links,
        [
            ("t/localtime".to_string(), "/etc/localtime".to_string()),
            ("t/rel".to_string(), "file".to_string()),
            ("t/self".to_string(), tree.display().to_string()),
        ]
    );
}

/// The config's variant is the CPU level the program records, so an engine refuses the image
/// on a CPU below it (the levels are checked against readelf in tests/cpu_level.rs).
#[test]
fn platform_variant_follows_the_recorded_cpu_level() {
    let dir = tempdir();
    for (fixture_name, platform) in [
        ("musl-x86-64-v3", "linux/amd64/v3"),
        ("arm-v6", "linux/arm/v6"),
        ("arm-v7", "linux/arm/v7"),
        ("musl-static", "linux/amd64"),
    ] {
        let out = dir.path().join(format!("{fixture_name}.tar"));
        let report = build(&fixture(fixture_name), &out, fixture_name, &[]);
        assert_eq!(
            report["image"]["platform"], platform,
            "{fixture_name}: {report}"
        );
        // What skopeo reads from the archive agrees.
        if have_tool("skopeo") {
            let config = skopeo_inspect(
                &["--config", "--raw"],
                format!("docker-archive:{}", out.display()),
            );
            let variant = platform.split('/').nth(2);
            assert_eq!(
                config["variant"].as_str(),
                variant,
                "{fixture_name}: {config}"
            );
        }
    }
}

// ---- issue 20 §5: image refuses what would break the image ----

/// `--format oci-dir --force` over an existing layout: exit 0, the new layout in place (as
/// skopeo reads it), and no temporary directory left beside it.
#[test]
fn oci_dir_force_replaces_the_layout() {
    if !have_tool("skopeo") {
        return;
    }
    let dir = tempdir();
    let d = dir.path();
    let layout = d.join("layout");
    let ls = layout.to_str().unwrap();
    let first = build(
        &fixture("go-static"),
        &layout,
        "app:v1",
        &["--format", "oci-dir"],
    );
    let second = build(
        &fixture("go-static"),
        &layout,
        "app:v1",
        &["--format", "oci-dir", "--force", "--env", "A=1"],
    );
    assert_ne!(first["image"]["digest"], second["image"]["digest"]);
    let got = skopeo_inspect(&[], format!("oci:{ls}:app:v1"));
    assert_eq!(got["Digest"], second["image"]["digest"]);
    let third = build(
        &fixture("go-static"),
        &layout,
        "app:v1",
        &["--format", "oci-dir", "--force"],
    );
    let got = skopeo_inspect(&[], format!("oci:{ls}:app:v1"));
    assert_eq!(got["Digest"], third["image"]["digest"]);
    assert_eq!(got["Digest"], first["image"]["digest"]);
    let names: Vec<String> = fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["layout"]);
    // Only the new image's blobs (config, layer, manifest; the SBOM's empty config, document
    // and manifest): the old layout was not merged into the new one.
    assert_eq!(
        fs::read_dir(layout.join("blobs/sha256")).unwrap().count(),
        6
    );
}

/// The program named as `hs`, `./hs` and `/abs/hs` gives one image; its history names the
/// program's path in the image, not the build machine's.
#[test]
fn the_digest_does_not_depend_on_how_the_program_is_named() {
    let dir = tempdir();
    let d = dir.path();
    fs::copy(fixture("go-static"), d.join("hs")).unwrap();
    let abs = d.join("hs").display().to_string();
    let mut digests = Vec::new();
    for (i, name) in ["hs", "./hs", abs.as_str()].into_iter().enumerate() {
        let out = d.join(format!("o{i}.tar"));
        let assert = binslim()
            .current_dir(d)
            .env_remove("SOURCE_DATE_EPOCH")
            .args(["image", name, "--json", "--format", "oci", "-o"])
            .arg(&out)
            .assert()
            .success();
        let report: Value = serde_json::from_slice(&assert.get_output().stdout).unwrap();
        digests.push(report["image"]["digest"].as_str().unwrap().to_string());
        if have_tool("skopeo") {
            let config = skopeo_inspect(&["--config"], format!("oci-archive:{}", out.display()));
            assert_eq!(config["history"][0]["created_by"], "binslim image /hs");
        }
    }
    assert_eq!(digests[0], digests[1]);
    assert_eq!(digests[0], digests[2]);
}

/// The listing says who the image runs as.
#[test]
fn the_listing_states_the_user_set() {
    let dir = tempdir();
    let report = build(
        &fixture("go-static"),
        &dir.path().join("u.tar"),
        "u",
        &["--user", "1000:1000"],
    );
    let why: Vec<&str> = report["image"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"] == "/etc/passwd" || f["path"] == "/etc/group")
        .map(|f| f["why"].as_str().unwrap())
        .collect();
    assert_eq!(
        why,
        ["user and group names (the image runs as 1000:1000)"; 2]
    );
}

/// `--add` keeps a file's mode, as COPY does: 0600 stays 0600 in the layer.
#[test]
fn add_keeps_file_modes() {
    let dir = tempdir();
    let d = dir.path();
    let secret = d.join("secret");
    fs::write(&secret, "s\n").unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).unwrap();
    let script = d.join("tool");
    fs::write(&script, "t\n").unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o750)).unwrap();
    let layout = d.join("layout");
    let report = build(
        &fixture("go-static"),
        &layout,
        "m",
        &[
            "--format",
            "oci-dir",
            "--add",
            &format!("{}:/run/secret", secret.display()),
            "--add",
            &format!("{}:/bin/tool", script.display()),
        ],
    );
    let hex = report["image"]["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    let blob = fs::File::open(layout.join("blobs/sha256").join(hex)).unwrap();
    let mut layer = tar::Archive::new(flate2::read::GzDecoder::new(blob));
    let mut modes = Vec::new();
    for e in layer.entries().unwrap() {
        let e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().into_owned();
        if name == "run/secret" || name == "bin/tool" {
            modes.push((name, e.header().mode().unwrap()));
        }
    }
    assert_eq!(
        modes,
        [
            ("bin/tool".to_string(), 0o750),
            ("run/secret".to_string(), 0o600)
        ]
    );
}

/// `binslim image ARGS`, which must be refused with exit `code` and nothing on stdout: its
/// stderr.
fn refused(args: &[&str], code: i32) -> String {
    let out = binslim().arg("image").args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        (out.status.code().unwrap_or(-1), out.stdout.as_slice()),
        (code, &b""[..]),
        "{stderr}"
    );
    stderr
}

/// Nothing was written into `dir`, not even a temporary file.
fn assert_empty(dir: &Path) {
    assert_eq!(fs::read_dir(dir).unwrap().count(), 0, "nothing written");
}

/// `--path` onto a file binslim generates: podman ran /etc/passwd's text as the program.
#[test]
fn path_onto_a_generated_file_is_refused_naming_both() {
    let dir = tempdir();
    let out = dir.path().join("p.tar");
    let prog = fixture("go-static");
    let stderr = refused(
        &[
            prog.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--path",
            "/etc/passwd",
        ],
        2,
    );
    assert_eq!(
        stderr,
        "binslim: /etc/passwd would hold both the program (--path /etc/passwd) and the user \
         and group names binslim writes: choose another --path or --add DEST\n"
    );
    assert_empty(dir.path());
}

/// `--add` onto a file binslim writes is refused too, unless `--replace` says to use the
/// user's own: then the layer holds it.
#[test]
fn add_onto_a_generated_file_needs_replace() {
    let dir = tempdir();
    let d = dir.path();
    let mine = d.join("passwd");
    fs::write(&mine, "root:x:0:0::/:/x\napp:x:1000:1000::/:/x\n").unwrap();
    let add = format!("{}:/etc/passwd", mine.display());
    let layout = d.join("layout");
    let prog = fixture("go-static");
    let args = [
        prog.to_str().unwrap(),
        "-o",
        layout.to_str().unwrap(),
        "--format",
        "oci-dir",
        "--add",
        &add,
    ];
    let stderr = refused(&args, 2);
    assert_eq!(
        stderr,
        format!(
            "binslim: /etc/passwd would hold both the user and group names binslim writes and \
             --add {add}: choose another --add DEST, or pass --replace to put yours in its \
             place\n"
        )
    );
    assert!(!layout.exists());
    let report = build(&prog, &layout, "r", &[&args[3..], &["--replace"]].concat());
    let hex = report["image"]["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    let blob = fs::File::open(layout.join("blobs/sha256").join(hex)).unwrap();
    let mut layer = tar::Archive::new(flate2::read::GzDecoder::new(blob));
    let passwd = layer
        .entries()
        .unwrap()
        .map(|e| e.unwrap())
        .find(|e| e.path().unwrap().to_str() == Some("etc/passwd"))
        .map(|mut e| {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut e, &mut s).unwrap();
            s
        });
    assert_eq!(
        passwd.as_deref(),
        Some("root:x:0:0::/:/x\napp:x:1000:1000::/:/x\n")
    );
}

/// `--add` onto a library `--with-libs` bundles: podman said "file too short" at run time.
#[test]
fn add_onto_a_bundled_library_is_refused_naming_both() {
    let dir = tempdir();
    let out = dir.path().join("l.tar");
    let text = fixture("not-elf.txt");
    let report = build(
        &fixture("c-dynamic-pie"),
        &dir.path().join("ok.tar"),
        "ok",
        &["--with-libs"],
    );
    // Where the loader resolved libc on this machine.
    let libc = report["image"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .find(|p| p.ends_with("/libc.so.6"))
        .expect("libc bundled");
    fs::remove_file(dir.path().join("ok.tar")).unwrap();
    let add = format!("{}:{libc}", text.display());
    let stderr = refused(
        &[
            fixture("c-dynamic-pie").to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--with-libs",
            "--add",
            &add,
        ],
        2,
    );
    assert_eq!(
        stderr,
        format!(
            "binslim: {libc} would hold both the library --with-libs bundles \
             (DT_NEEDED of /c-dynamic-pie) and --add {add}: choose another --path or --add \
             DEST\n"
        )
    );
    assert_empty(dir.path());
}

/// `--add` of a directory whose file lands on the program's path.
#[test]
fn add_onto_the_program_is_refused_naming_both() {
    let dir = tempdir();
    let d = dir.path();
    let tree = d.join("tree");
    fs::create_dir(&tree).unwrap();
    fs::write(tree.join("go-static"), "not a program\n").unwrap();
    let out = d.join("a.tar");
    let add = format!("{}:/", tree.display());
    // DEST / is refused already; a tree at /usr/bin over a program at /usr/bin/go-static is not.
    let add = add.replace(":/", ":/usr/bin");
    let stderr = refused(
        &[
            fixture("go-static").to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--path",
            "/usr/bin/go-static",
            "--add",
            &add,
        ],
        2,
    );
    assert_eq!(
        stderr,
        format!(
            "binslim: /usr/bin/go-static would hold both the program (--path \
             /usr/bin/go-static) and --add {add}: choose another --path or --add DEST\n"
        )
    );
    assert!(!out.exists());
}

/// An image that passes every placement check but would not start (a text file where
/// `LD_LIBRARY_PATH` makes the loader look for libc first; podman: "file too short") is
/// checked with the `verify --image` rules before it is written, and refused: exit 1.
#[test]
fn an_image_that_cannot_start_is_never_written() {
    let dir = tempdir();
    let out = dir.path().join("b.tar");
    let add = format!("{}:/opt/lib/libc.so.6", fixture("not-elf.txt").display());
    let stderr = refused(
        &[
            fixture("c-dynamic-pie").to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--with-libs",
            "--env",
            "LD_LIBRARY_PATH=/opt/lib",
            "--add",
            &add,
        ],
        1,
    );
    assert!(
        stderr.starts_with(&format!(
            "binslim: {}: the image would not start: ",
            fixture("c-dynamic-pie").display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("/opt/lib/libc.so.6"), "{stderr}");
    assert!(stderr.ends_with("binslim: no image written\n"), "{stderr}");
    assert_empty(dir.path());
}
