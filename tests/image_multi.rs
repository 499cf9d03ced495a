//! `binslim image` with several programs (one multi-platform OCI image index) and the config
//! and annotation options (`--label`, `--annotation`, `--workdir`, `--expose`, `--cmd`, the VCS
//! annotations of a Go build). Truth comes from outside binslim: skopeo (inspect --raw and
//! --config, copy --multi-arch all), podman (load, run), umoci, readelf, git and go.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{
    binslim, fixture, go_tool, have_tool, inspect_json, podman, podman_run, stdout_of, tempdir,
};
use serde_json::{Value, json};

/// A name no other test file (or run) uses.
fn unique(test: &str) -> String {
    format!("localhost/binslim-plat-{test}-{}", std::process::id())
}

/// `binslim image ARGS --json`, which must succeed: the `image` object of the report.
fn image(args: &[&str]) -> Value {
    let out = binslim()
        .arg("image")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "binslim image {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    v["image"].clone()
}

/// `binslim image ARGS`, which must exit `code`: its stderr.
fn refused(args: &[&str], code: i32) -> String {
    let out = binslim().arg("image").args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{args:?} printed {:?}", out.stdout);
    stderr
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn skopeo(args: &[&str]) -> Value {
    let out = stdout_of(Command::new("skopeo").args(args));
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("skopeo {args:?}: {e}: {out}"))
}

/// The bytes `skopeo inspect --raw` prints of `image`.
fn skopeo_raw(image: &str) -> String {
    stdout_of(Command::new("skopeo").args(["inspect", "--raw", image]))
}

/// The platform an engine should give `program`, from readelf's machine and binslim inspect's
/// CPU level: the truth each manifest's platform is compared with.
fn platform_of(program: &Path) -> String {
    let header = stdout_of(Command::new("readelf").arg("-h").arg(program));
    let machine = header
        .lines()
        .find_map(|l| l.trim().strip_prefix("Machine:"))
        .unwrap()
        .trim()
        .to_string();
    let level = inspect_json(program)["cpu_level"]
        .as_str()
        .map(str::to_string);
    match (machine.as_str(), level.as_deref()) {
        ("Advanced Micro Devices X86-64", Some("x86-64-v3")) => "linux/amd64/v3".into(),
        ("Advanced Micro Devices X86-64", _) => "linux/amd64".into(),
        ("AArch64", None) => "linux/arm64/v8".into(),
        ("ARM", Some("armv7")) => "linux/arm/v7".into(),
        ("ARM", Some("armv6")) => "linux/arm/v6".into(),
        other => panic!("{}: no platform for {other:?}", program.display()),
    }
}

fn platform_json(p: &str) -> Value {
    let parts: Vec<&str> = p.split('/').collect();
    let mut v = json!({"architecture": parts[1], "os": parts[0]});
    if let Some(variant) = parts.get(2) {
        v["variant"] = json!(variant);
    }
    v
}

/// The five platforms of the committed fixtures, each with its own CPU level.
const PROGRAMS: [&str; 5] = [
    "go-static",
    "musl-x86-64-v3",
    "arm64-static",
    "arm-v7",
    "arm-v6",
];

/// An OCI layout holds, in its `index.json`, one descriptor of the image index with the ref
/// name, as `skopeo copy --multi-arch all` writes it; the index names one manifest per program
/// with the platform readelf gives each; skopeo reads the index and each platform's config.
#[test]
fn several_programs_make_one_index_with_each_platform() {
    if !have_tool("skopeo") || !have_tool("readelf") {
        return;
    }
    let dir = tempdir();
    let programs: Vec<PathBuf> = PROGRAMS.iter().map(|p| fixture(p)).collect();
    for (format, out) in [
        ("oci-dir", dir.path().join("oci")),
        ("oci", dir.path().join("a.tar")),
    ] {
        let mut args: Vec<&str> = programs.iter().map(|p| s(p)).collect();
        args.extend(["-o", s(&out), "--format", format, "--path", "/app"]);
        let r = image(&args);
        assert_eq!(r["ref"], "app:latest");
        assert_eq!(r["format"], format);
        assert!(
            r.get("platform").is_none() && r.get("files").is_none(),
            "{r}"
        );
        let expected: Vec<String> = programs.iter().map(|p| platform_of(p)).collect();
        let got: Vec<&str> = r["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["platform"].as_str().unwrap())
            .collect();
        assert_eq!(got, expected);
        let source = match format {
            "oci-dir" => format!("oci:{}:app:latest", s(&out)),
            _ => format!("oci-archive:{}:app:latest", s(&out)),
        };
        // The index, byte for byte as skopeo reads it: its digest is the report's.
        let raw = skopeo_raw(&source);
        assert_eq!(
            format!("sha256:{}", common::sha256(raw.as_bytes())),
            r["digest"]
        );
        let index: Value = serde_json::from_str(&raw).unwrap();
        assert_eq!(
            index["mediaType"],
            "application/vnd.oci.image.index.v1+json"
        );
        let manifests = index["manifests"].as_array().unwrap();
        assert_eq!(manifests.len(), 5);
        for ((m, rm), platform) in manifests
            .iter()
            .zip(r["manifests"].as_array().unwrap())
            .zip(&expected)
        {
            assert_eq!(m["platform"], platform_json(platform));
            assert_eq!(m["digest"], rm["digest"]);
            assert_eq!(m["mediaType"], "application/vnd.oci.image.manifest.v1+json");
            // Each platform's config, as skopeo picks it from the index.
            let p = platform_json(platform);
            let mut args = vec!["--override-os", "linux"];
            args.extend(["--override-arch", p["architecture"].as_str().unwrap()]);
            if let Some(v) = p["variant"].as_str() {
                args.extend(["--override-variant", v]);
            }
            args.extend(["inspect", "--config", source.as_str()]);
            let config = skopeo(&args);
            assert_eq!(config["architecture"], p["architecture"]);
            assert_eq!(config["variant"], p["variant"]);
            assert_eq!(config["config"]["Entrypoint"], json!(["/app"]));
            assert_eq!(
                config["rootfs"]["diff_ids"],
                json!([rm["layers"][0]["diff_id"]])
            );
        }
        if format == "oci-dir" {
            let top: Value =
                serde_json::from_slice(&fs::read(out.join("index.json")).unwrap()).unwrap();
            assert_eq!(
                top,
                json!({
                    "schemaVersion": 2,
                    "mediaType": "application/vnd.oci.image.index.v1+json",
                    "manifests": [{
                        "mediaType": "application/vnd.oci.image.index.v1+json",
                        "digest": r["digest"],
                        "size": raw.len(),
                        "annotations": {"org.opencontainers.image.ref.name": "app:latest"}
                    }, {
                        // The default --sbom spdx: the SBOM artifact, its subject the index,
                        // listed without a ref name.
                        "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "digest": r["sbom"]["digest"],
                        "size": top["manifests"][1]["size"],
                        "artifactType": "application/spdx+json"
                    }]
                })
            );
            let art = &top["manifests"][1]["digest"].as_str().unwrap()["sha256:".len()..];
            let art: Value =
                serde_json::from_slice(&fs::read(out.join("blobs/sha256").join(art)).unwrap())
                    .unwrap();
            assert_eq!(
                art["subject"],
                json!({
                    "mediaType": "application/vnd.oci.image.index.v1+json",
                    "digest": r["digest"],
                    "size": raw.len()
                })
            );
            if have_tool("umoci") {
                let refs = stdout_of(Command::new("umoci").args(["ls", "--layout", s(&out)]));
                assert_eq!(refs, "app:latest\n");
            }
        }
    }
}

/// `skopeo copy --multi-arch all` takes the index as it is (same digest), every platform with
/// it.
#[test]
fn skopeo_copies_the_whole_index() {
    if !have_tool("skopeo") {
        return;
    }
    let dir = tempdir();
    let out = dir.path().join("oci");
    let r = image(&[
        s(&fixture("go-static")),
        s(&fixture("arm64-static")),
        "-o",
        s(&out),
        "--format",
        "oci-dir",
        "--path",
        "/server",
    ]);
    assert_eq!(r["ref"], "server:latest");
    let copy = dir.path().join("copy");
    stdout_of(Command::new("skopeo").args([
        "copy",
        "--quiet",
        "--multi-arch",
        "all",
        &format!("oci:{}:server:latest", s(&out)),
        &format!("oci:{}:copied", s(&copy)),
    ]));
    let raw = skopeo_raw(&format!("oci:{}:copied", s(&copy)));
    assert_eq!(
        format!("sha256:{}", common::sha256(raw.as_bytes())),
        r["digest"]
    );
    for m in r["manifests"].as_array().unwrap() {
        let hex = m["digest"].as_str().unwrap().trim_start_matches("sha256:");
        assert!(copy.join("blobs/sha256").join(hex).is_file(), "{m}");
    }
}

/// podman loads the oci-archive index and runs the amd64 program; `verify --image --platform`
/// picks each platform's image.
#[test]
fn podman_runs_the_amd64_image_and_verify_picks_each_platform() {
    let dir = tempdir();
    let tar = dir.path().join("multi.tar");
    let name = unique("run");
    let tag = format!("{name}:1");
    image(&[
        s(&fixture("go-static")),
        s(&fixture("arm64-static")),
        "-o",
        s(&tar),
        "--format",
        "oci",
        "--path",
        "/hello",
        "--tag",
        &tag,
    ]);
    for (platform, arch, size) in [
        ("linux/amd64", "x86_64", "1.1 MiB"),
        ("linux/arm64", "aarch64", "1.6 KiB"),
        ("linux/arm64/v8", "aarch64", "1.6 KiB"),
    ] {
        let out = binslim()
            .args(["verify", "--image", s(&tar), "--platform", platform])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("PASS {}:/hello: static {arch}, {size}\n", tar.display())
        );
        assert_eq!(out.status.code(), Some(0));
    }
    let out = binslim()
        .args(["verify", "--image", s(&tar), "--platform", "linux/arm/v7"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "binslim: {}: has no linux/arm/v7 image (it has linux/amd64, linux/arm64/v8)\n",
            tar.display()
        )
    );
    if !have_tool("podman") || !have_tool("runc") {
        return;
    }
    let loaded = stdout_of(podman().arg("load").arg("-i").arg(&tar));
    assert!(loaded.contains(&tag), "podman load said: {loaded}");
    let run = podman_run(&tag, &[]);
    let _ = podman().args(["rmi", "-f", &tag]).output();
    assert_eq!((run.0.as_str(), run.2), ("hello from go\n", 0), "{}", run.1);
    // `podman pull oci-archive:` takes the machine's platform too (unnamed: by its id).
    let pulled = stdout_of(
        podman()
            .args(["pull", "-q"])
            .arg(format!("oci-archive:{}", s(&tar))),
    );
    let id = pulled.trim().to_string();
    let run = podman_run(&id, &[]);
    let _ = podman().args(["rmi", "-f", &id]).output();
    assert_eq!((run.0.as_str(), run.2), ("hello from go\n", 0), "{}", run.1);
}

/// Two builds of one multi-platform image are byte-identical; SOURCE_DATE_EPOCH changes them.
#[test]
fn a_multi_platform_image_is_reproducible() {
    let dir = tempdir();
    let build = |out: &str, epoch: &str| {
        let path = dir.path().join(out);
        binslim()
            .arg("image")
            .args([s(&fixture("go-static")), s(&fixture("arm-v7"))])
            .args(["--path", "/app", "--format", "oci", "-o"])
            .arg(&path)
            .env("SOURCE_DATE_EPOCH", epoch)
            .assert()
            .success();
        fs::read(path).unwrap()
    };
    let (a, b, c) = (
        build("a.tar", "0"),
        build("b.tar", "0"),
        build("c.tar", "1700000000"),
    );
    assert!(a == b, "two builds differ");
    assert!(a != c, "SOURCE_DATE_EPOCH changed nothing");
}

/// Several programs are refused, with nothing written, for the docker format, for two
/// programs of one platform and for different file names without --path.
#[test]
fn what_an_index_cannot_be_is_refused_before_anything_is_written() {
    let dir = tempdir();
    let out = dir.path().join("out.tar");
    let (amd, arm) = (fixture("go-static"), fixture("arm64-static"));
    let e = refused(&[s(&amd), s(&arm), "-o", s(&out), "--path", "/app"], 2);
    assert_eq!(
        e,
        "binslim: --format docker: 2 programs make a multi-platform image (an OCI image \
         index), which docker load cannot read: pass --format oci or --format oci-dir\n"
    );
    let e = refused(
        &[
            s(&amd),
            s(&arm),
            "-o",
            s(&out),
            "--format",
            "docker",
            "--path",
            "/app",
        ],
        2,
    );
    assert!(e.contains("which docker load cannot read"), "{e}");
    let e = refused(
        &[
            s(&amd),
            s(&fixture("rust-static")),
            "-o",
            s(&out),
            "--format",
            "oci",
            "--path",
            "/app",
        ],
        2,
    );
    assert_eq!(
        e,
        format!(
            "binslim: {} and {} are both linux/amd64: give one program per platform\n",
            amd.display(),
            fixture("rust-static").display()
        )
    );
    let e = refused(&[s(&amd), s(&arm), "-o", s(&out), "--format", "oci"], 2);
    assert_eq!(
        e,
        "binslim: the programs have different file names (go-static, arm64-static): pass \
         --path /NAME, the program's path in the image of every platform (its file name is \
         then the default --tag)\n"
    );
    // A refusal of one program names it.
    let e = refused(
        &[
            s(&arm),
            s(&fixture("c-dynamic-pie")),
            "-o",
            s(&out),
            "--format",
            "oci",
            "--path",
            "/app",
        ],
        1,
    );
    let shown = fixture("c-dynamic-pie").display().to_string();
    assert!(e.starts_with(&format!("binslim: {shown}: ")), "{e}");
    assert!(e.ends_with("binslim: no image written\n"), "{e}");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// The config options reach the config (skopeo inspect --config) and the annotations the
/// manifest (skopeo inspect --raw).
#[test]
fn labels_annotations_workdir_ports_and_cmd_reach_the_image() {
    if !have_tool("skopeo") {
        return;
    }
    let dir = tempdir();
    let out = dir.path().join("oci");
    let r = image(&[
        s(&fixture("go-static")),
        "-o",
        s(&out),
        "--format",
        "oci-dir",
        "--label",
        "org.opencontainers.image.title=hello",
        "--label",
        "team=",
        "--annotation",
        "com.example.k=v=w",
        "--workdir",
        "/srv/data/",
        "--expose",
        "8080",
        "--expose",
        "53/udp",
        "--cmd",
        "--port=8080",
        "--cmd",
        "x",
    ]);
    assert_eq!(r["annotations"], json!({"com.example.k": "v=w"}));
    let wd = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "/srv/data")
        .cloned();
    assert_eq!(
        wd,
        Some(
            json!({"path": "/srv/data", "size": 0, "mode": "0755", "why": "working directory (--workdir)"})
        )
    );
    let source = format!("oci:{}:go-static:latest", s(&out));
    let config = skopeo(&["inspect", "--config", &source]);
    assert_eq!(
        config["config"],
        json!({
            "User": "65532:65532",
            "ExposedPorts": {"53/udp": {}, "8080/tcp": {}},
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Entrypoint": ["/go-static"],
            "Cmd": ["--port=8080", "x"],
            "WorkingDir": "/srv/data",
            "Labels": {"org.opencontainers.image.title": "hello", "team": ""}
        })
    );
    let manifest: Value = serde_json::from_str(&skopeo_raw(&source)).unwrap();
    assert_eq!(manifest["annotations"], json!({"com.example.k": "v=w"}));
    // skopeo inspect shows the labels too.
    let inspected = skopeo(&["inspect", &source]);
    assert_eq!(
        inspected["Labels"]["org.opencontainers.image.title"],
        "hello"
    );
}

#[test]
fn bad_config_options_exit_2_with_what_to_pass() {
    let dir = tempdir();
    let out = dir.path().join("out.tar");
    let go = fixture("go-static");
    let cases: [(&[&str], &str); 8] = [
        (&["--label", "novalue"], "--label 'novalue': use KEY=VALUE"),
        (&["--label", "=x"], "--label '=x': use KEY=VALUE"),
        (&["--annotation", "k"], "--annotation 'k': use KEY=VALUE"),
        (
            &["--workdir", "data"],
            "--workdir 'data': give an absolute path such as /data",
        ),
        (
            &["--expose", "0"],
            "--expose '0': use PORT[/tcp|/udp] with a port from 1 to 65535, e.g. 8080/tcp",
        ),
        (
            &["--expose", "65536"],
            "--expose '65536': use PORT[/tcp|/udp] with a port from 1 to 65535, e.g. 8080/tcp",
        ),
        (
            &["--expose", "80/sctp"],
            "--expose '80/sctp': use PORT[/tcp|/udp] with a port from 1 to 65535, e.g. 8080/tcp",
        ),
        (
            &["--workdir", "/etc/passwd"],
            "--workdir /etc/passwd: it is a file in the image, not a directory",
        ),
    ];
    for (extra, message) in cases {
        let mut args = vec![s(&go), "-o", s(&out)];
        args.extend(extra);
        assert_eq!(refused(&args, 2), format!("binslim: {message}\n"));
    }
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// A Go module `github.com/example/app` in a fresh git repository with one commit at a fixed
/// time; its program prints its working directory and arguments.
struct VcsApp {
    dir: tempfile::TempDir,
    go: PathBuf,
}

const COMMIT_TIME: &str = "2024-01-02T03:04:05Z";

impl VcsApp {
    fn new() -> Option<VcsApp> {
        let go = go_tool()?;
        if !have_tool("git") {
            return None;
        }
        let dir = tempdir();
        let src = dir.path().join("src");
        fs::create_dir(&src).unwrap();
        fs::write(
            src.join("go.mod"),
            "module github.com/example/app\n\ngo 1.21\n",
        )
        .unwrap();
        fs::write(
            src.join("main.go"),
            "package main\n\nimport (\n\t\"fmt\"\n\t\"os\"\n)\n\nfunc main() {\n\twd, _ := \
             os.Getwd()\n\tfmt.Printf(\"cwd=%s args=%q\\n\", wd, os.Args[1:])\n}\n",
        )
        .unwrap();
        let app = VcsApp { dir, go };
        app.git(&["init", "-q"]);
        app.git(&["add", "."]);
        app.git(&["commit", "-q", "-m", "first"]);
        Some(app)
    }

    fn git(&self, args: &[&str]) -> String {
        stdout_of(
            Command::new("git")
                .current_dir(self.dir.path().join("src"))
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("GIT_CONFIG_GLOBAL", "/dev/null")
                .env("GIT_AUTHOR_DATE", COMMIT_TIME)
                .env("GIT_COMMITTER_DATE", COMMIT_TIME)
                .args(["-c", "user.name=binslim", "-c", "user.email=t@example.com"])
                .args(["-c", "commit.gpgsign=false"])
                .args(args),
        )
    }

    fn revision(&self) -> String {
        self.git(&["rev-parse", "HEAD"]).trim().to_string()
    }

    /// `go build -buildvcs=true` for `goarch` into `DIR/out/GOARCH/app`.
    fn build(&self, goarch: &str) -> PathBuf {
        let exe = self.dir.path().join("out").join(goarch).join("app");
        let out = Command::new(&self.go)
            .current_dir(self.dir.path().join("src"))
            .envs([
                ("GOTOOLCHAIN", "local"),
                ("GOPROXY", "off"),
                ("GOFLAGS", "-buildvcs=true"),
                ("CGO_ENABLED", "0"),
                ("GOOS", "linux"),
                ("GOARCH", goarch),
            ])
            .env("GOCACHE", self.dir.path().join("gocache"))
            .env("GOPATH", self.dir.path().join("gopath"))
            .args(["build", "-trimpath", "-o"])
            .arg(&exe)
            .arg(".")
            .output()
            .unwrap();
        assert!(out.status.success(), "go build: {out:?}");
        exe
    }
}

/// A Go build with VCS information gets the revision, the commit time and the repository as
/// annotations (git says which); SOURCE_DATE_EPOCH replaces the time; --annotation replaces
/// any; the same inputs give the same bytes.
#[test]
fn go_vcs_information_becomes_annotations() {
    let Some(app) = VcsApp::new() else { return };
    let exe = app.build("amd64");
    let rev = app.revision();
    let version = stdout_of(Command::new(&app.go).args(["version", "-m"]).arg(&exe));
    assert!(
        version.contains(&format!("vcs.revision={rev}")),
        "{version}"
    );
    assert!(
        version.contains(&format!("vcs.time={COMMIT_TIME}")),
        "{version}"
    );
    let dir = tempdir();
    let build = |out: &str, extra: &[&str], epoch: Option<&str>| {
        let mut cmd = binslim();
        cmd.arg("image")
            .arg(&exe)
            .arg("-o")
            .arg(dir.path().join(out));
        cmd.args(["--format", "oci", "--json"]).args(extra);
        match epoch {
            Some(e) => cmd.env("SOURCE_DATE_EPOCH", e),
            None => cmd.env_remove("SOURCE_DATE_EPOCH"),
        };
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        (v["image"].clone(), fs::read(dir.path().join(out)).unwrap())
    };
    let (r, first) = build("a.tar", &[], None);
    let expected = json!({
        "org.opencontainers.image.created": COMMIT_TIME,
        "org.opencontainers.image.revision": rev,
        "org.opencontainers.image.source": "https://github.com/example/app"
    });
    assert_eq!(r["annotations"], expected);
    let (_, again) = build("b.tar", &[], None);
    assert!(first == again, "two builds differ");
    if have_tool("skopeo") {
        let source = format!("oci-archive:{}", s(&dir.path().join("a.tar")));
        let manifest: Value = serde_json::from_str(&skopeo_raw(&source)).unwrap();
        assert_eq!(manifest["annotations"], expected);
    }
    let (r, epoch) = build("c.tar", &[], Some("1700000000"));
    assert_eq!(
        r["annotations"]["org.opencontainers.image.created"],
        "2023-11-14T22:13:20Z"
    );
    assert!(epoch != first);
    let (_, epoch_again) = build("d.tar", &[], Some("1700000000"));
    assert!(
        epoch == epoch_again,
        "two builds with SOURCE_DATE_EPOCH differ"
    );
    let (r, _) = build(
        "e.tar",
        &[
            "--annotation",
            "org.opencontainers.image.source=https://example.com/app",
        ],
        None,
    );
    assert_eq!(
        r["annotations"]["org.opencontainers.image.source"],
        "https://example.com/app"
    );
    assert_eq!(r["annotations"]["org.opencontainers.image.revision"], rev);
}

/// Built for amd64 and arm64 from one commit, the index carries the revision; each
/// manifest carries its own. podman runs the amd64 one with --workdir and --cmd honoured.
#[test]
fn a_go_app_for_two_architectures_runs_with_workdir_and_cmd() {
    let Some(app) = VcsApp::new() else { return };
    let (amd, arm) = (app.build("amd64"), app.build("arm64"));
    let rev = app.revision();
    let dir = tempdir();
    let tar = dir.path().join("app.tar");
    let name = unique("vcs");
    let tag = format!("{name}:2");
    let r = image(&[
        s(&amd),
        s(&arm),
        "-o",
        s(&tar),
        "--format",
        "oci",
        "--tag",
        &tag,
        "--workdir",
        "/work",
        "--cmd",
        "--flag",
        "--cmd",
        "two words",
        "--annotation",
        "team=infra",
    ]);
    let vcs = json!({
        "org.opencontainers.image.created": COMMIT_TIME,
        "org.opencontainers.image.revision": rev,
        "org.opencontainers.image.source": "https://github.com/example/app",
        "team": "infra"
    });
    assert_eq!(r["annotations"], vcs);
    let platforms: Vec<&Value> = r["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert_eq!(m["annotations"], vcs);
            &m["platform"]
        })
        .collect();
    assert_eq!(platforms, [&json!("linux/amd64"), &json!("linux/arm64/v8")]);
    if have_tool("skopeo") {
        let index: Value =
            serde_json::from_str(&skopeo_raw(&format!("oci-archive:{}", s(&tar)))).unwrap();
        assert_eq!(index["annotations"], vcs);
    }
    if !have_tool("podman") || !have_tool("runc") {
        return;
    }
    let loaded = stdout_of(podman().arg("load").arg("-i").arg(&tar));
    assert!(loaded.contains(&tag), "podman load said: {loaded}");
    let default = podman_run(&tag, &[]);
    let given = podman_run(&tag, &["other"]);
    let _ = podman().args(["rmi", "-f", &tag]).output();
    assert_eq!(
        (default.0.as_str(), default.2),
        ("cwd=/work args=[\"--flag\" \"two words\"]\n", 0),
        "{}",
        default.1
    );
    assert_eq!(
        (given.0.as_str(), given.2),
        ("cwd=/work args=[\"other\"]\n", 0),
        "{}",
        given.1
    );
}

/// Programs of one commit's two builds but different revisions: the index leaves the
/// revision (and time) to the manifests.
#[test]
fn different_revisions_stay_on_the_manifests() {
    let Some(app) = VcsApp::new() else { return };
    let amd = app.build("amd64");
    let first = app.revision();
    fs::write(app.dir.path().join("src/extra.go"), "package main\n").unwrap();
    app.git(&["add", "."]);
    app.git(&["commit", "-q", "-m", "second"]);
    let arm = app.build("arm64");
    let second = app.revision();
    assert_ne!(first, second);
    let dir = tempdir();
    let r = image(&[
        s(&amd),
        s(&arm),
        "-o",
        s(&dir.path().join("o")),
        "--format",
        "oci-dir",
    ]);
    assert_eq!(
        r["annotations"],
        json!({
            "org.opencontainers.image.created": COMMIT_TIME,
            "org.opencontainers.image.source": "https://github.com/example/app"
        })
    );
    let revs: Vec<&Value> = r["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["annotations"]["org.opencontainers.image.revision"])
        .collect();
    assert_eq!(revs, [&json!(first), &json!(second)]);
}
