//! `binslim verify --image docker://REF`: the image in a real registry (Debian's
//! docker-registry on 127.0.0.1, see tests/common/registry.rs), pushed there by `skopeo copy`,
//! gets exactly the verdict and report of the same image as an archive; auth (Basic from an
//! auth file, the Bearer token flow, credential helpers), trust (SSL_CERT_FILE, certs.d,
//! --insecure) and every failure (wrong password, no credentials, registry down, untrusted
//! certificate, a reference that does not parse) exit 2 with a message naming the step, and no
//! password is ever printed.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::registry::{Kind, Registry, free_port};
use common::{binslim, fixture, have_tool};

/// The password of the auth registries (it must never appear in binslim's output).
const PASSWORD: &str = "s3cret-Pa55word";
/// A wrong one (it must never appear either).
const WRONG: &str = "wr0ng-Guess";

/// The environment binslim runs in: a private HOME, no ambient credentials or CA settings.
struct Env {
    home: tempfile::TempDir,
    vars: Vec<(String, String)>,
}

impl Env {
    fn new() -> Env {
        Env {
            home: common::tempdir(),
            vars: Vec::new(),
        }
    }

    fn set(mut self, k: &str, v: impl AsRef<std::ffi::OsStr>) -> Env {
        self.vars
            .push((k.into(), v.as_ref().to_string_lossy().into_owned()));
        self
    }

    /// `binslim ARGS` in this environment: exit code, stdout, stderr.
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let mut cmd = binslim();
        cmd.env("HOME", self.home.path());
        for k in [
            "REGISTRY_AUTH_FILE",
            "XDG_RUNTIME_DIR",
            "DOCKER_CONFIG",
            "SSL_CERT_FILE",
            "SSL_CERT_DIR",
            "HTTPS_PROXY",
            "https_proxy",
            "HTTP_PROXY",
            "http_proxy",
            "ALL_PROXY",
        ] {
            cmd.env_remove(k);
        }
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        let out = cmd.args(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// `skopeo copy SRC docker://REGISTRY/REPO_TAG` (all platforms of an index).
fn skopeo_push(reg: &Registry, src: &str, repo_tag: &str) {
    let mut args = vec!["copy".to_string(), "--multi-arch".into(), "all".into()];
    args.extend(reg.skopeo_args("dest-"));
    args.push(src.into());
    args.push(reg.docker_ref(repo_tag));
    let out = Command::new("skopeo").args(&args).output().unwrap();
    assert!(out.status.success(), "skopeo {args:?}: {out:?}");
}

/// The manifest (or index) skopeo reads for the image (the truth from outside binslim).
fn skopeo_raw(reg: &Registry, repo_tag: &str) -> Vec<u8> {
    let mut args = vec!["inspect".to_string(), "--raw".into()];
    args.extend(reg.skopeo_args(""));
    args.push(reg.docker_ref(repo_tag));
    let out = Command::new("skopeo").args(&args).output().unwrap();
    assert!(out.status.success(), "skopeo {args:?}: {out:?}");
    out.stdout
}

/// The digest of that manifest.
fn skopeo_digest(reg: &Registry, repo_tag: &str) -> String {
    format!("sha256:{}", common::sha256(&skopeo_raw(reg, repo_tag)))
}

fn tools() -> bool {
    have_tool("skopeo") && have_tool("docker-registry")
}

/// The verdict on `docker://REF` (with `--insecure`: a plain registry) equals the one on
/// `archive`: the same exit code, and the same stdout and stderr once the image's name is the
/// same.
fn assert_agrees(env: &Env, archive: &Path, docker: &str, extra: &[&str]) -> (i32, String) {
    let archive = archive.to_str().unwrap();
    let mut a = vec!["verify", "--image", archive];
    a.extend(extra);
    let (code_a, out_a, err_a) = env.run(&a);
    let mut r = vec!["verify", "--insecure", "--image", docker];
    r.extend(extra);
    let (code_r, out_r, err_r) = env.run(&r);
    assert_eq!(
        code_r, code_a,
        "{docker}: {out_r}{err_r}\nvs {archive}: {out_a}{err_a}"
    );
    assert_eq!(out_r, out_a.replace(archive, docker), "stderr: {err_r}");
    assert_eq!(err_r, err_a.replace(archive, docker));
    (code_r, out_r)
}

/// `binslim image PROGRAM -o DIR/NAME.tar` (a docker archive), as the image tests make them.
fn binslim_image(dir: &Path, program: &str, name: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(format!("{name}.tar"));
    let mut cmd = binslim();
    cmd.args(["image", "-o"])
        .arg(&out)
        .arg(fixture(program))
        .args(extra);
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{o:?}");
    out
}

#[test]
fn the_verdict_on_a_pushed_image_is_the_verdict_on_its_archive() {
    if !tools() {
        return;
    }
    let Some(reg) = Registry::start(Kind::Plain) else {
        return;
    };
    let dir = common::tempdir();
    let env = Env::new();
    let go = binslim_image(dir.path(), "go-static", "go", &[]);
    let pie_libs = binslim_image(dir.path(), "c-dynamic-pie", "pie", &["--with-libs"]);
    let pie = dynamic_without_libs(dir.path());
    let cases: Vec<(PathBuf, &str, &str, i32)> = vec![
        (
            fixture("images/arm64-static-docker.tar"),
            "docker-archive",
            "vr/arm-docker:1",
            0,
        ),
        (
            fixture("images/arm64-static-oci.tar"),
            "oci-archive",
            "vr/arm-oci:1",
            0,
        ),
        (go, "docker-archive", "vr/go:1", 0),
        (pie_libs, "docker-archive", "vr/pie-libs:1", 0),
        (pie, "docker-archive", "vr/pie:1", 1),
    ];
    for (archive, transport, repo_tag, want) in &cases {
        skopeo_push(
            &reg,
            &format!("{transport}:{}", archive.display()),
            repo_tag,
        );
        let docker = format!("docker://{}", reg.reference(repo_tag));
        let (code, out) = assert_agrees(&env, archive, &docker, &[]);
        assert_eq!(code, *want, "{docker}: {out}");
        assert!(out.contains(&docker), "{out}");
        // JSON too, and by digest (REF@sha256:..., the digest skopeo reports).
        let digest = skopeo_digest(&reg, repo_tag);
        let by_digest = format!("docker://{}@{digest}", reg.reference(repo_tag));
        let (code_d, out_d, _) = env.run(&["verify", "--insecure", "--image", &by_digest]);
        assert_eq!(code_d, *want);
        assert_eq!(out_d, out.replace(&docker, &by_digest));
        let json = |image: &str| {
            let mut args = vec!["verify", "--json", "--image", image];
            if image.starts_with("docker://") {
                args.push("--insecure");
            }
            let (_, out, _) = env.run(&args);
            out.replace(image, "IMAGE")
        };
        assert_eq!(json(&docker), json(archive.to_str().unwrap()));
    }
    // binslim only read: every upload the registry saw was one of skopeo's (one per push).
    let puts = reg
        .requests()
        .iter()
        .filter(|r| r.is_manifest_put())
        .count();
    assert_eq!(puts, cases.len());
}

/// A docker archive of `c-dynamic-pie` at /app without its loader and libc: it cannot start.
fn dynamic_without_libs(dir: &Path) -> PathBuf {
    let mut layer = common::raw_entry("app", &fs::read(fixture("c-dynamic-pie")).unwrap());
    layer.extend_from_slice(&[0; 1024]);
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{"Entrypoint":["/app"]}},"rootfs":{{"type":"layers","diff_ids":["sha256:{}"]}}}}"#,
        common::sha256(&layer)
    );
    let path = dir.join("pie-nolibs.tar");
    fs::write(&path, common::docker_archive(&layer, &config)).unwrap();
    path
}

#[test]
fn a_podman_saved_image_agrees() {
    if !tools() || !have_tool("podman") {
        return;
    }
    let Some(reg) = Registry::start(Kind::Plain) else {
        return;
    };
    let dir = common::tempdir();
    let env = Env::new();
    let tag = format!("localhost/binslim-vreg-podman-{}:1", std::process::id());
    let load = common::podman()
        .args(["load", "-i"])
        .arg(fixture("images/arm64-static-docker.tar"))
        .output()
        .unwrap();
    assert!(load.status.success(), "{load:?}");
    let loaded = String::from_utf8_lossy(&load.stdout);
    let id = loaded.trim().rsplit(' ').next().unwrap().to_string();
    let t = common::podman().args(["tag", &id, &tag]).output().unwrap();
    assert!(t.status.success(), "{t:?}");
    let saved = dir.path().join("podman.tar");
    let s = common::podman()
        .args(["save", "--format", "oci-archive", "-o"])
        .arg(&saved)
        .arg(&tag)
        .output()
        .unwrap();
    let _ = common::podman().args(["rmi", &tag]).output();
    assert!(s.status.success(), "{s:?}");
    skopeo_push(
        &reg,
        &format!("oci-archive:{}", saved.display()),
        "vr/podman:1",
    );
    let docker = format!("docker://{}", reg.reference("vr/podman:1"));
    let (code, _) = assert_agrees(&env, &saved, &docker, &[]);
    assert_eq!(code, 0);
}

/// A multi-platform index (arm64 and amd64) as an OCI layout, pushed with `skopeo copy
/// --multi-arch all`: with --platform only that platform's layers are downloaded, and the
/// verdicts are those of the layout directory.
#[test]
fn an_index_is_read_per_platform_and_other_platforms_layers_are_not_fetched() {
    if !tools() {
        return;
    }
    let Some(reg) = Registry::start(Kind::Plain) else {
        return;
    };
    let dir = common::tempdir();
    let env = Env::new();
    let amd = dir.path().join("amd");
    let o = binslim()
        .args(["image", "--format", "oci-dir", "-o"])
        .arg(&amd)
        .arg(fixture("go-static"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    let arm = dir.path().join("arm");
    let x = Command::new("tar")
        .args(["-xf"])
        .arg(fixture("images/arm64-static-oci.tar"))
        .arg("-C")
        .arg({
            fs::create_dir(&arm).unwrap();
            &arm
        })
        .output()
        .unwrap();
    assert!(x.status.success(), "{x:?}");
    let layout = dir.path().join("multi");
    let (index, layers) = merge_layouts(&[&amd, &arm], &layout);
    skopeo_push(
        &reg,
        &format!("oci:{}:multi", layout.display()),
        "vr/multi:1",
    );
    let pushed = skopeo_digest(&reg, "vr/multi:1");
    assert_eq!(pushed, index, "skopeo kept the index digest");
    let docker = format!("docker://{}", reg.reference("vr/multi:1"));
    // Every platform, labelled [os/arch], as for the layout directory.
    let (code, out) = assert_agrees(&env, &layout, &docker, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("{docker}[linux/arm64/v8]")), "{out}");
    assert!(out.contains(&format!("{docker}[linux/amd64]")), "{out}");
    for (platform, wanted, other) in [
        ("linux/arm64", &layers[1], &layers[0]),
        ("linux/amd64", &layers[0], &layers[1]),
    ] {
        let before = reg.requests().len();
        let (code, out) = assert_agrees(&env, &layout, &docker, &["--platform", platform]);
        assert_eq!(code, 0, "{out}");
        let gets: Vec<String> = reg.requests()[before..]
            .iter()
            .filter(|r| r.method == "GET" && r.uri.contains("/blobs/sha256:"))
            .map(|r| r.uri.clone())
            .collect();
        for l in wanted {
            assert!(
                gets.iter().any(|u| u.ends_with(l.as_str())),
                "{platform}: {l} not fetched: {gets:?}"
            );
        }
        for l in other {
            assert!(
                !gets.iter().any(|u| u.ends_with(l.as_str())),
                "{platform}: {l} fetched: {gets:?}"
            );
        }
    }
    // --verbose says what was downloaded (on stderr, so stdout stays the archive's).
    let (code, _, err) = env.run(&[
        "verify",
        "--insecure",
        "--verbose",
        "--image",
        &docker,
        "--platform",
        "linux/arm64",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        err,
        format!(
            "binslim: {docker}: fetched the manifests, the configs and {} layer{} ({} layer{} of \
             other platforms not downloaded)\n",
            layers[1].len(),
            if layers[1].len() == 1 { "" } else { "s" },
            layers[0].len(),
            if layers[0].len() == 1 { "" } else { "s" },
        )
    );
    // A platform the index does not serve: exit 2, the reader's message.
    let (code, _, err) = env.run(&[
        "verify",
        "--insecure",
        "--image",
        &docker,
        "--platform",
        "linux/s390x",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("linux/s390x"), "{err}");
}

/// Writes an OCI layout at `out` whose index.json names one image index (tagged `multi`) over
/// the one manifest of each layout of `parts`; returns that index's digest and each part's
/// layer digests.
fn merge_layouts(parts: &[&Path], out: &Path) -> (String, Vec<Vec<String>>) {
    use serde_json::{Value, json};
    let blobs = out.join("blobs/sha256");
    fs::create_dir_all(&blobs).unwrap();
    let mut manifests = Vec::new();
    let mut layers = Vec::new();
    for p in parts {
        for e in fs::read_dir(p.join("blobs/sha256")).unwrap() {
            let e = e.unwrap();
            fs::copy(e.path(), blobs.join(e.file_name())).unwrap();
        }
        let index: Value =
            serde_json::from_slice(&fs::read(p.join("index.json")).unwrap()).unwrap();
        let desc = &index["manifests"][0];
        let hex = desc["digest"]
            .as_str()
            .unwrap()
            .strip_prefix("sha256:")
            .unwrap();
        let manifest: Value =
            serde_json::from_slice(&fs::read(p.join("blobs/sha256").join(hex)).unwrap()).unwrap();
        let config_hex = manifest["config"]["digest"]
            .as_str()
            .unwrap()
            .strip_prefix("sha256:")
            .unwrap();
        let config: Value =
            serde_json::from_slice(&fs::read(p.join("blobs/sha256").join(config_hex)).unwrap())
                .unwrap();
        layers.push(
            manifest["layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["digest"].as_str().unwrap().to_string())
                .collect(),
        );
        manifests.push(json!({
            "mediaType": desc["mediaType"],
            "digest": desc["digest"],
            "size": desc["size"],
            "platform": {"architecture": config["architecture"], "os": config["os"]},
        }));
    }
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    }))
    .unwrap();
    let digest = format!("sha256:{}", common::sha256(&index));
    fs::write(blobs.join(digest.strip_prefix("sha256:").unwrap()), &index).unwrap();
    fs::write(out.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let top = json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "digest": digest,
        "size": index.len(),
        "annotations": {"org.opencontainers.image.ref.name": "multi"},
    }]});
    fs::write(out.join("index.json"), serde_json::to_vec(&top).unwrap()).unwrap();
    (digest, layers)
}

/// Pushes the arm64 test image to `reg` as `repo_tag` and returns its `docker://` reference.
fn pushed(reg: &Registry, repo_tag: &str) -> String {
    let archive = fixture("images/arm64-static-oci.tar");
    skopeo_push(reg, &format!("oci-archive:{}", archive.display()), repo_tag);
    format!("docker://{}", reg.reference(repo_tag))
}

const PASS_LINE: &str = "PASS ";

fn assert_no_secret(out: &str, err: &str) {
    for secret in [PASSWORD, WRONG] {
        assert!(!out.contains(secret) && !err.contains(secret), "{out}{err}");
    }
    // The auth file's base64 (and a Basic header's) holds the password too.
    for user_pw in [format!("tester:{PASSWORD}"), format!("tester:{WRONG}")] {
        let enc = common::registry::base64(user_pw.as_bytes(), common::registry::STD);
        assert!(!out.contains(&enc) && !err.contains(&enc), "{out}{err}");
    }
}

#[test]
fn basic_auth_from_the_auth_file_and_its_failures() {
    if !tools() {
        return;
    }
    let Some(reg) = Registry::start(Kind::tls_htpasswd("tester", PASSWORD)) else {
        return;
    };
    let docker = pushed(&reg, "vr/auth:1");
    let dir = common::tempdir();
    let (good, bad) = (dir.path().join("good"), dir.path().join("bad"));
    fs::create_dir(&good).unwrap();
    fs::create_dir(&bad).unwrap();
    let good = reg.auth_file(&good, "tester", PASSWORD);
    let bad = reg.auth_file(&bad, "tester", WRONG);
    let host = reg.host();
    // REGISTRY_AUTH_FILE and SSL_CERT_FILE: passes.
    let env = Env::new()
        .set("REGISTRY_AUTH_FILE", &good)
        .set("SSL_CERT_FILE", reg.ca_pem());
    let (code, out, err) = env.run(&["verify", "--image", &docker]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with(&format!("{PASS_LINE}{docker}:/")), "{out}");
    assert_no_secret(&out, &err);
    // The same credentials from ~/.docker/config.json (the last place looked).
    let env2 = Env::new().set("SSL_CERT_FILE", reg.ca_pem());
    fs::create_dir_all(env2.home.path().join(".docker")).unwrap();
    fs::copy(&good, env2.home.path().join(".docker/config.json")).unwrap();
    assert_eq!(env2.run(&["verify", "--image", &docker]).0, 0);
    // The first file that knows the host wins: a wrong password in REGISTRY_AUTH_FILE.
    let env3 = env2.set("REGISTRY_AUTH_FILE", &bad);
    let (code, out, err) = env3.run(&["verify", "--image", &docker]);
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(out, "");
    assert_eq!(
        err,
        format!(
            "binslim: {docker}: authentication failed: wrong user name or password for {host}\n"
        )
    );
    assert_no_secret(&out, &err);
    // No credentials anywhere.
    let env4 = Env::new().set("SSL_CERT_FILE", reg.ca_pem());
    let (code, out, err) = env4.run(&["verify", "--image", &docker]);
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(
        err,
        format!(
            "binslim: {docker}: authentication failed: no credentials for {host} \
             (REGISTRY_AUTH_FILE, podman login / docker login)\n"
        )
    );
}

#[test]
fn a_credential_helper_gives_the_credentials() {
    if !tools() {
        return;
    }
    let Some(reg) = Registry::start(Kind::tls_htpasswd("tester", PASSWORD)) else {
        return;
    };
    let docker = pushed(&reg, "vr/helper:1");
    let dir = common::tempdir();
    let bin = dir.path().join("bin");
    fs::create_dir(&bin).unwrap();
    let helper = bin.join("docker-credential-vrtest");
    let seen = dir.path().join("seen");
    fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 3\ncat > {}\nprintf '{{\"ServerURL\":\"x\",\"Username\":\"tester\",\"Secret\":\"{PASSWORD}\"}}'\n",
            seen.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&helper, fs::Permissions::from_mode(0o755)).unwrap();
    let config = dir.path().join("docker");
    fs::create_dir(&config).unwrap();
    fs::write(
        config.join("config.json"),
        format!(r#"{{"credHelpers": {{"{}": "vrtest"}}}}"#, reg.host()),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let env = Env::new()
        .set("DOCKER_CONFIG", &config)
        .set("PATH", path)
        .set("SSL_CERT_FILE", reg.ca_pem());
    let (code, out, err) = env.run(&["verify", "--image", &docker]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(fs::read_to_string(&seen).unwrap(), reg.host());
    assert_no_secret(&out, &err);
}

#[test]
fn the_bearer_token_flow() {
    if !tools() {
        return;
    }
    let Some(reg) = Registry::start(Kind::token("tester", PASSWORD)) else {
        return;
    };
    let docker = pushed(&reg, "vr/token:1");
    let dir = common::tempdir();
    let good = reg.auth_file(dir.path(), "tester", PASSWORD);
    let before = reg.token_issuer().requests().len();
    let env = Env::new()
        .set("REGISTRY_AUTH_FILE", &good)
        .set("SSL_CERT_FILE", reg.ca_pem());
    let (code, out, err) = env.run(&["verify", "--image", &docker]);
    assert_eq!(code, 0, "{out}{err}");
    let asked = &reg.token_issuer().requests()[before..];
    assert!(!asked.is_empty());
    for t in asked {
        assert_eq!(t.scopes, ["repository:vr/token:pull"], "{t:?}");
    }
    assert_eq!(
        asked.len(),
        1,
        "one token, cached for every request: {asked:?}"
    );
    assert_no_secret(&out, &err);
    // A wrong password: the token endpoint refuses it.
    fs::write(
        &good,
        common::registry::auth_json(&reg.host(), "tester", WRONG),
    )
    .unwrap();
    let (code, out, err) = env.run(&["verify", "--image", &docker]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains(&format!(
            "authentication failed: wrong user name or password for {}",
            reg.host()
        )),
        "{err}"
    );
    assert_no_secret(&out, &err);
}

#[test]
fn trust_ssl_cert_file_certs_d_and_insecure() {
    if !tools() {
        return;
    }
    let Some(reg) = Registry::start(Kind::Tls) else {
        return;
    };
    let docker = pushed(&reg, "vr/tls:1");
    let env = Env::new();
    let (code, out, err) = env.run(&["verify", "--image", &docker]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.starts_with(&format!(
            "binslim: {docker}: ping failed: the TLS certificate of {} is not trusted",
            reg.host()
        )),
        "{err}"
    );
    assert!(
        err.contains("SSL_CERT_FILE") && err.contains("--insecure"),
        "{err}"
    );
    // SSL_CERT_FILE.
    let with_file = Env::new().set("SSL_CERT_FILE", reg.ca_pem());
    let (code, out, err) = with_file.run(&["verify", "--image", &docker]);
    assert_eq!(code, 0, "{out}{err}");
    // podman's per-user certs.d: ~/.config/containers/certs.d/HOST:PORT/ca.crt.
    let env = Env::new();
    reg.write_certs_d(&env.home.path().join(".config/containers/certs.d"));
    assert_eq!(env.run(&["verify", "--image", &docker]).0, 0);
    // /etc/containers/certs.d, written and removed by the test (its directory is the port's).
    let etc = Path::new("/etc/containers/certs.d");
    if fs::create_dir_all(etc).is_ok() {
        let d = reg.write_certs_d(etc);
        let code = Env::new().run(&["verify", "--image", &docker]).0;
        fs::remove_dir_all(&d).unwrap();
        assert_eq!(code, 0);
    }
    // --insecure: no verification.
    assert_eq!(
        Env::new()
            .run(&["verify", "--insecure", "--image", &docker])
            .0,
        0
    );
}

#[test]
fn plain_http_needs_insecure() {
    if !tools() {
        return;
    }
    let Some(reg) = Registry::start(Kind::Plain) else {
        return;
    };
    let docker = pushed(&reg, "vr/plain:1");
    let (code, out, err) = Env::new().run(&["verify", "--image", &docker]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.starts_with(&format!(
            "binslim: {docker}: ping failed: no TLS connection to {}",
            reg.host()
        )),
        "{err}"
    );
    assert!(
        err.ends_with("if it serves plain HTTP, pass --insecure\n"),
        "{err}"
    );
    assert_eq!(
        Env::new()
            .run(&["verify", "--insecure", "--image", &docker])
            .0,
        0
    );
    // A tag the repository does not have.
    let missing = format!("docker://{}", reg.reference("vr/plain:nope"));
    let (code, _, err) = Env::new().run(&["verify", "--insecure", "--image", &missing]);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        format!(
            "binslim: {missing}: pull failed: manifest vr/plain:nope not found at {}\n",
            reg.host()
        )
    );
}

#[test]
fn a_registry_that_is_down_and_a_reference_that_does_not_parse() {
    let port = free_port();
    let docker = format!("docker://127.0.0.1:{port}/vr/down:1");
    let (code, out, err) = Env::new().run(&["verify", "--image", &docker]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.starts_with(&format!(
            "binslim: {docker}: ping failed: cannot reach 127.0.0.1:{port}: "
        )),
        "{err}"
    );
    assert!(err.ends_with(" (is the registry running?)\n"), "{err}");
    let (code, out, err) =
        Env::new().run(&["verify", "--image", "docker://127.0.0.1:5000/Bad_Name"]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(
        err,
        "binslim: --image: 'docker://127.0.0.1:5000/Bad_Name' is not an image reference: the \
         repository must be lowercase letters, digits and '.', '_', '-' separators, in \
         '/'-separated parts (expected HOST[:PORT]/REPO[:TAG][@sha256:DIGEST])\n"
    );
    let (code, _, err) = Env::new().run(&["verify", "--insecure", "--image", "app.tar"]);
    assert_eq!(code, 2);
    assert_eq!(err, "binslim: --insecure: only for --image docker://REF\n");
}

/// A registry that answers 500: each request is tried 4 times (with back-off), then exit 2 at
/// the pull step, naming the request; through the harness's fault-injecting proxy.
#[test]
fn a_500_is_retried_then_fails_at_the_pull_step() {
    use common::registry::{Fault, Proxy};
    if !tools() {
        return;
    }
    let Some(reg) = Registry::start(Kind::Plain) else {
        return;
    };
    pushed(&reg, "vr/fault:1");
    let proxy = Proxy::start(
        &reg.host(),
        Fault::Status500Always {
            path_contains: "/manifests/".into(),
        },
    );
    let docker = proxy.docker_ref("vr/fault:1");
    let (code, out, err) = Env::new().run(&["verify", "--insecure", "--image", &docker]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert_eq!(
        err,
        format!(
            "binslim: {docker}: pull failed: {} answered 500 to GET /v2/vr/fault/manifests/1: \
             UNKNOWN fault injected by the test proxy\n",
            proxy.host()
        )
    );
    assert_eq!(proxy.failed().len(), 4, "{:?}", proxy.failed());
    // A layer blob: the same, after the manifest and config came through.
    let manifest: serde_json::Value =
        serde_json::from_slice(&skopeo_raw(&reg, "vr/fault:1")).unwrap();
    let layer = manifest["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    proxy.set_fault(Fault::Status500Always {
        path_contains: format!("/blobs/{layer}"),
    });
    let (code, _, err) = Env::new().run(&["verify", "--insecure", "--image", &docker]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(
        err,
        format!(
            "binslim: {docker}: pull failed: {} answered 500 to GET /v2/vr/fault/blobs/{layer}: \
             UNKNOWN fault injected by the test proxy\n",
            proxy.host()
        )
    );
    assert_eq!(proxy.failed().len(), 4 + 4);
}

/// docker's well-known empty layer (a gzip of an empty tar, 32 bytes) is never downloaded: its
/// bytes follow from its digest. The verdict is still the layout's.
#[test]
fn the_well_known_empty_layer_is_not_downloaded() {
    use serde_json::json;
    const EMPTY: &str = "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";
    const EMPTY_BYTES: [u8; 32] = [
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x09, 0x6e, 0x88, 0x00, 0xff, 0x62, 0x18, 0x05, 0xa3, 0x60,
        0x14, 0x8c, 0x58, 0x00, 0x08, 0x00, 0x00, 0xff, 0xff, 0x2e, 0xaf, 0xb5, 0xef, 0x00, 0x04,
        0x00, 0x00,
    ];
    if !tools() {
        return;
    }
    let Some(reg) = Registry::start(Kind::Plain) else {
        return;
    };
    let dir = common::tempdir();
    let layout = dir.path().join("layout");
    let blobs = layout.join("blobs/sha256");
    fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let d = format!("sha256:{}", common::sha256(bytes));
        fs::write(blobs.join(&d[7..]), bytes).unwrap();
        json!({"digest": d, "size": bytes.len()})
    };
    let empty = put(&EMPTY_BYTES);
    assert_eq!(empty["digest"], EMPTY);
    let mut app = common::raw_entry("server", &fs::read(fixture("c-static")).unwrap());
    app.extend_from_slice(&[0; 1024]);
    let app_desc = put(&app);
    let config = json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Entrypoint": ["/server"]},
        "rootfs": {"type": "layers", "diff_ids": [
            format!("sha256:{}", common::sha256(&[0; 1024])),
            app_desc["digest"],
        ]},
    });
    let config = put(&serde_json::to_vec(&config).unwrap());
    let layer = |mt: &str, d: &serde_json::Value| json!({"mediaType": mt, "digest": d["digest"], "size": d["size"]});
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": layer("application/vnd.oci.image.config.v1+json", &config),
        "layers": [
            layer("application/vnd.oci.image.layer.v1.tar+gzip", &empty),
            layer("application/vnd.oci.image.layer.v1.tar", &app_desc),
        ],
    });
    let manifest = put(&serde_json::to_vec(&manifest).unwrap());
    let mut top = layer("application/vnd.oci.image.manifest.v1+json", &manifest);
    top["annotations"] = json!({"org.opencontainers.image.ref.name": "e"});
    fs::write(
        layout.join("index.json"),
        json!({"schemaVersion": 2, "manifests": [top]}).to_string(),
    )
    .unwrap();
    fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    skopeo_push(&reg, &format!("oci:{}:e", layout.display()), "vr/empty:1");
    let docker = format!("docker://{}", reg.reference("vr/empty:1"));
    let env = Env::new();
    let before = reg.requests().len();
    let (code, out) = assert_agrees(&env, &layout, &docker, &[]);
    assert_eq!(code, 0, "{out}");
    let gets: Vec<String> = reg.requests()[before..]
        .iter()
        .filter(|r| r.method == "GET" && r.uri.contains("/blobs/"))
        .map(|r| r.uri.clone())
        .collect();
    assert!(!gets.iter().any(|u| u.ends_with(EMPTY)), "{gets:?}");
    assert_eq!(gets.len(), 2, "the config and the app layer: {gets:?}");
    let (_, _, err) = env.run(&["verify", "--insecure", "--verbose", "--image", &docker]);
    assert_eq!(
        err,
        format!(
            "binslim: {docker}: fetched the manifests, the configs and 1 layer, and made 1 \
             known-empty layer without downloading\n"
        )
    );
}
