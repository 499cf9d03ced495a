//! `binslim push IMAGE REF` against a real registry (Debian's docker-registry on 127.0.0.1,
//! tests/common/registry.rs), judged by outside tools only: `skopeo inspect` of the source and
//! of the pushed reference (digest, raw manifest or index, config), `skopeo copy --multi-arch
//! all` back out, `podman pull` and the `podman run` line of CONTAINERS.md, and the registry's
//! own access log for what was uploaded.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::registry::{Fault, Kind, Proxy, Registry};
use common::{
    binslim, fixture, have_tool, podman, podman_images_lock, podman_run, sha256, stdout_of, tempdir,
};
use serde_json::{Value, json};

/// What `testdata/go-static` prints.
const HELLO: &str = "hello from go\n";

/// A name no other test file (or run) uses.
fn unique(test: &str) -> String {
    format!("localhost/binslim-push-{test}-{}", std::process::id())
}

fn have_engine() -> bool {
    have_tool("podman") && have_tool("runc") && have_tool("skopeo")
}

/// skopeo with an auth file that does not exist, so the machine's credentials never take part.
fn skopeo(args: &[String]) -> Output {
    let none = tempdir();
    Command::new("skopeo")
        .env("REGISTRY_AUTH_FILE", none.path().join("none.json"))
        .args(args)
        .output()
        .expect("run skopeo")
}

fn ok(out: Output) -> Vec<u8> {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// `skopeo inspect [FLAGS] TRANSPORT:X` (`--raw`, `--config`): stdout.
fn inspect(flags: &[&str], what: &str, reg: Option<&Registry>) -> Vec<u8> {
    let mut args = strings(&["inspect", "--retry-times", "0"]);
    args.extend(strings(flags));
    if let Some(r) = reg {
        args.extend(r.skopeo_args(""));
    }
    args.push(what.to_string());
    ok(skopeo(&args))
}

/// The `Digest` skopeo reports for `what`.
fn skopeo_digest(what: &str, reg: Option<&Registry>) -> String {
    let v: Value = serde_json::from_slice(&inspect(&[], what, reg)).unwrap();
    v["Digest"].as_str().unwrap().to_string()
}

/// `binslim push --json IMAGE REF --insecure` (plain HTTP registry): exit code, the `push`
/// object (Null on failure), stderr.
fn push(image: &Path, reference: &str, stdin: Option<Vec<u8>>) -> (i32, Value, String) {
    let none = tempdir();
    let mut cmd = binslim();
    cmd.env("REGISTRY_AUTH_FILE", none.path().join("none.json"))
        .env("DOCKER_CONFIG", none.path())
        .args(["push", "--json", "--insecure"])
        .arg(image)
        .arg(reference);
    if let Some(data) = stdin {
        cmd.write_stdin(data);
    }
    let out = cmd.output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        v["push"].clone(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Pushes and asserts success; returns the `push` object.
fn push_ok(image: &Path, reference: &str) -> Value {
    let (code, v, err) = push(image, reference, None);
    assert_eq!(code, 0, "{err}");
    assert!(err.is_empty(), "{err}");
    v
}

/// `binslim image testdata/go-static` as FORMAT (docker, oci, oci-dir) at `out`, tagged `tag`.
///
/// `--sbom none`: these tests count the blobs and manifests of the image itself and read the
/// layout as `oci:DIR` without a name (which an attached SBOM, a second manifest in
/// index.json, would make ambiguous); tests/image_sbom.rs pushes the SBOM referrer.
fn go_static_image(out: &Path, format: &str, tag: &str) {
    binslim()
        .arg("image")
        .arg(fixture("go-static"))
        .arg("-o")
        .arg(out)
        .args(["--format", format, "--tag", tag, "--sbom", "none"])
        .assert()
        .success();
}

/// A `podman save --format FORMAT` of the go-static image: the image is built, loaded, saved
/// and removed from podman again.
fn podman_saved(dir: &Path, test: &str, format: &str) -> PathBuf {
    let name = format!("{}:1", unique(test));
    let built = dir.join("built.tar");
    go_static_image(&built, "docker", &name);
    let _images = podman_images_lock();
    stdout_of(podman().arg("load").arg("-i").arg(&built));
    let out = dir.join(format!("{format}.tar"));
    let saved = podman()
        .args(["save", "--format", format, "-o"])
        .arg(&out)
        .arg(&name)
        .output()
        .unwrap();
    let _ = podman().args(["rmi", "-f", &name]).output();
    assert!(saved.status.success(), "{saved:?}");
    out
}

/// `podman pull` of `reference` from the plain registry, then the run line of CONTAINERS.md:
/// stdout, stderr, exit code. The pulled image is removed again.
fn pull_and_run(reference: &str) -> (String, String, i32) {
    let _images = podman_images_lock();
    let pulled = podman()
        .args(["pull", "-q", "--tls-verify=false", reference])
        .output()
        .unwrap();
    assert!(pulled.status.success(), "{pulled:?}");
    let run = podman_run(reference, &[]);
    let _ = podman().args(["rmi", "-f", reference]).output();
    run
}

/// The JSON report's blobs as `(digest, uploaded)`.
fn uploaded(v: &Value) -> Vec<bool> {
    v["blobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["uploaded"].as_bool().unwrap())
        .collect()
}

#[test]
fn old_docker_archive_from_podman_pushes_with_skopeos_digest_and_runs() {
    if !have_engine() {
        return;
    }
    let Some(reg) = Registry::start(Kind::Plain) else {
        return;
    };
    let d = tempdir();
    let tar = podman_saved(d.path(), "old", "docker-archive");
    // The old layout: manifest.json, <hex>.json, <id>/layer.tar; no index.json.
    let members = stdout_of(Command::new("tar").arg("tf").arg(&tar));
    assert!(members.contains("manifest.json") && !members.contains("index.json"));
    let source = format!("docker-archive:{}", tar.display());
    let expected = skopeo_digest(&source, None);

    let r = reg.reference("old/app:1");
    let v = push_ok(&tar, &r);
    assert_eq!(v["ref"], r.as_str());
    assert_eq!(v["digest"], expected.as_str());
    assert_eq!(
        skopeo_digest(&format!("docker://{r}"), Some(&reg)),
        expected
    );
    assert_eq!(uploaded(&v), [true, true]);
    assert_eq!(
        v["manifests"],
        json!([{"platform": "linux/amd64", "digest": expected}])
    );
    // The registry holds the archive's config byte for byte.
    assert_eq!(
        inspect(&["--config", "--raw"], &format!("docker://{r}"), Some(&reg)),
        inspect(&["--config", "--raw"], &source, None)
    );
    assert_eq!(
        inspect(&["--raw"], &format!("docker://{r}"), Some(&reg)),
        inspect(&["--raw"], &source, None)
    );
    let (out, err, code) = pull_and_run(&r);
    assert_eq!((out.as_str(), code), (HELLO, 0), "{err}");
}

#[test]
fn oci_archive_and_layout_keep_their_manifest_digest() {
    if !have_engine() {
        return;
    }
    let Some(reg) = Registry::start(Kind::Plain) else {
        return;
    };
    let d = tempdir();
    let archive = podman_saved(d.path(), "oci", "oci-archive");
    let expected = skopeo_digest(&format!("oci-archive:{}", archive.display()), None);
    let v = push_ok(&archive, &reg.reference("oci/archive:1"));
    assert_eq!(v["digest"], expected.as_str());
    let pushed = format!("docker://{}", reg.reference("oci/archive:1"));
    assert_eq!(skopeo_digest(&pushed, Some(&reg)), expected);

    // An OCI layout directory (binslim's own oci-dir), into another repository.
    let layout = d.path().join("layout");
    go_static_image(&layout, "oci-dir", "app:1");
    let expected = skopeo_digest(&format!("oci:{}", layout.display()), None);
    let r = reg.reference("oci/layout:1");
    let v = push_ok(&layout, &r);
    assert_eq!(v["digest"], expected.as_str());
    assert_eq!(
        skopeo_digest(&format!("docker://{r}"), Some(&reg)),
        expected
    );
    let (out, err, code) = pull_and_run(&r);
    assert_eq!((out.as_str(), code), (HELLO, 0), "{err}");

    // A dir: layout (podman's docker-dir): its manifest.json is kept byte for byte.
    let dir = d.path().join("dirlayout");
    ok(skopeo(&[
        "copy".into(),
        format!("oci:{}", layout.display()),
        format!("dir:{}", dir.display()),
    ]));
    let expected = format!(
        "sha256:{}",
        sha256(&fs::read(dir.join("manifest.json")).unwrap())
    );
    // Into the layout's repository: its blobs are there already (a registry answers HEAD for
    // the blobs of the repository asked, not of others).
    let v = push_ok(&dir, &reg.reference("oci/layout:dir"));
    assert_eq!(v["digest"], expected.as_str());
    assert_eq!(uploaded(&v), [false, false]);
}

#[test]
fn an_index_is_pushed_with_every_platform_and_its_bytes() {
    if !have_engine() {
        return;
    }
    let Some(reg) = Registry::start(Kind::Plain) else {
        return;
    };
    let d = tempdir();
    let layout = multi_platform_layout(d.path());
    let index_bytes = {
        let top: Value =
            serde_json::from_slice(&fs::read(layout.join("index.json")).unwrap()).unwrap();
        let digest = top["manifests"][0]["digest"].as_str().unwrap();
        fs::read(layout.join("blobs/sha256").join(&digest[7..])).unwrap()
    };
    let r = reg.reference("multi/app:1");
    let v = push_ok(&layout, &r);
    let index_digest = format!("sha256:{}", sha256(&index_bytes));
    assert_eq!(v["digest"], index_digest.as_str());
    let platforms: Vec<&str> = v["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platform"].as_str().unwrap())
        .collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64/v8"]);
    assert_eq!(
        inspect(&["--raw"], &format!("docker://{r}"), Some(&reg)),
        index_bytes
    );
    // Every manifest is in: skopeo copies the whole index back out.
    let back = d.path().join("back");
    let mut args = strings(&["copy", "--multi-arch", "all"]);
    args.extend(reg.skopeo_args("src-"));
    args.push(format!("docker://{r}"));
    args.push(format!("oci:{}:x", back.display()));
    ok(skopeo(&args));
    // podman pulls the amd64 image of it, which runs.
    let (out, err, code) = pull_and_run(&r);
    assert_eq!((out.as_str(), code), (HELLO, 0), "{err}");

    // A layout whose index.json is itself the index (the platform manifests listed directly):
    // index.json is pushed as the index, byte for byte.
    fs::write(layout.join("index.json"), &index_bytes).unwrap();
    let v = push_ok(&layout, &reg.reference("multi/flat:1"));
    assert_eq!(v["digest"], index_digest.as_str());
    assert_eq!(v["manifests"].as_array().unwrap().len(), 2);
}

#[test]
fn a_reference_by_digest_must_name_the_image_pushed() {
    let Some(reg) = Registry::start(Kind::Plain) else {
        return;
    };
    let image = fixture("images/arm64-static-oci.tar");
    let digest = "sha256:fe657270e265d58c5e2ecd57248a404dd1f53398a0ab8d7e0800c881cd4000ce";
    let v = push_ok(&image, &reg.reference(&format!("bydigest/app@{digest}")));
    assert_eq!(v["digest"], digest);
    assert_eq!(reg.manifest_puts(), 1);
    let other = format!("sha256:{}", "0".repeat(64));
    let r = reg.reference(&format!("bydigest/app@{other}"));
    let (code, v, err) = push(&image, &r, None);
    assert_eq!((code, v), (2, Value::Null));
    assert!(
        err.starts_with(&format!(
            "binslim: push to {r} failed at manifest: digest mismatch"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("expected {other}, got {digest}")),
        "{err}"
    );
    assert_eq!(reg.manifest_puts(), 1, "nothing more was pushed");
}

/// An OCI layout whose `index.json` names one image index over an amd64 image (go-static) and
/// an arm64 one (testdata/images/arm64-static-oci.tar), as `skopeo copy --multi-arch all`
/// writes one.
fn multi_platform_layout(dir: &Path) -> PathBuf {
    let amd = dir.join("amd64");
    go_static_image(&amd, "oci-dir", "app:1");
    let layout = dir.join("multi");
    for src in [
        format!("oci:{}", amd.display()),
        format!(
            "oci-archive:{}",
            fixture("images/arm64-static-oci.tar").display()
        ),
    ] {
        ok(skopeo(&[
            "copy".into(),
            src,
            format!("oci:{}:tmp", layout.display()),
        ]));
    }
    // Each copy replaced the tag; the blobs of both stay. The index names both manifests.
    let manifest_of = |src: &str| -> (String, u64) {
        let raw = inspect(&["--raw"], src, None);
        (format!("sha256:{}", sha256(&raw)), raw.len() as u64)
    };
    let (amd_digest, amd_size) = manifest_of(&format!("oci:{}", amd.display()));
    let (arm_digest, arm_size) = manifest_of(&format!(
        "oci-archive:{}",
        fixture("images/arm64-static-oci.tar").display()
    ));
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": amd_digest,
             "size": amd_size, "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": arm_digest,
             "size": arm_size,
             "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
        ],
    }))
    .unwrap();
    let hex = sha256(&index);
    fs::write(layout.join("blobs/sha256").join(&hex), &index).unwrap();
    let top = json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json",
                       "digest": format!("sha256:{hex}"), "size": index.len(),
                       "annotations": {"org.opencontainers.image.ref.name": "1"}}],
    });
    fs::write(layout.join("index.json"), serde_json::to_vec(&top).unwrap()).unwrap();
    layout
}

#[test]
fn stdin_and_a_second_push_that_uploads_nothing() {
    if !have_tool("skopeo") {
        return;
    }
    let Some(reg) = Registry::start(Kind::Plain) else {
        return;
    };
    let d = tempdir();
    let tar = d.path().join("app.tar");
    go_static_image(&tar, "docker", "app:1");
    let expected = skopeo_digest(&format!("oci-archive:{}", tar.display()), None);
    let r = reg.reference("stdin/app:1");
    let (code, v, err) = push(Path::new("-"), &r, Some(fs::read(&tar).unwrap()));
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["digest"], expected.as_str());
    assert_eq!(uploaded(&v), [true, true]);
    assert_eq!(
        skopeo_digest(&format!("docker://{r}"), Some(&reg)),
        expected
    );
    let (puts, uploads) = (reg.blob_puts(), reg.blob_uploads());
    assert_eq!(puts, 2, "{}", reg.log());

    // Again, from the file, under another tag: every blob is there already.
    let v = push_ok(&tar, &reg.reference("stdin/app:2"));
    assert_eq!(v["digest"], expected.as_str());
    assert_eq!(uploaded(&v), [false, false]);
    assert_eq!(reg.blob_uploads(), uploads, "{}", reg.log());
    assert_eq!(reg.manifest_puts(), 2);
}

#[test]
fn text_output_names_each_blob_and_the_pushed_digest() {
    let Some(reg) = Registry::start(Kind::Plain) else {
        return;
    };
    let image = fixture("images/arm64-static-oci.tar");
    let out = binslim()
        .args(["push", "--insecure"])
        .arg(&image)
        .arg(reg.reference("text/app:1"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!(
            "  blob      sha256:a7bde03e6c9b       465 B  uploaded\n  \
             blob      sha256:a12da1aa3218       833 B  uploaded\n  \
             2 of 2 blobs uploaded (1.3 KiB), 0 already there\n\
             pushed {}/text/app@sha256:fe657270e265d58c5e2ecd57248a404dd1f53398a0ab8d7e0800c881cd4000ce\n",
            reg.host()
        )
    );
}

#[test]
fn a_tls_registry_trusted_through_ssl_cert_file() {
    if !have_tool("skopeo") {
        return;
    }
    let Some(reg) = Registry::start(Kind::Tls) else {
        return;
    };
    let none = tempdir();
    let r = reg.reference("tls/app:1");
    let out = binslim()
        .env("REGISTRY_AUTH_FILE", none.path().join("none.json"))
        .env("DOCKER_CONFIG", none.path())
        .env("SSL_CERT_FILE", reg.ca_pem())
        .args(["push", "--json"])
        .arg(fixture("images/arm64-static-oci.tar"))
        .arg(&r)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let expected = "sha256:fe657270e265d58c5e2ecd57248a404dd1f53398a0ab8d7e0800c881cd4000ce";
    assert_eq!(v["push"]["digest"], expected);
    assert_eq!(
        skopeo_digest(&format!("docker://{r}"), Some(&reg)),
        expected
    );

    // Without the certificate: refused at the ping, saying how to trust it.
    let out = binslim()
        .env("REGISTRY_AUTH_FILE", none.path().join("none.json"))
        .env("DOCKER_CONFIG", none.path())
        .env("SSL_CERT_FILE", none.path().join("none.pem"))
        .arg("push")
        .arg(fixture("images/arm64-static-oci.tar"))
        .arg(reg.reference("tls/app:2"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with(&format!(
            "binslim: push to {} failed at ping: ",
            reg.reference("tls/app:2")
        )),
        "{err}"
    );
    assert!(
        err.contains("SSL_CERT_FILE") && err.contains("--insecure"),
        "{err}"
    );
    assert_eq!(reg.manifest_puts(), 1);
}

#[test]
fn a_registry_with_htpasswd_takes_the_auth_files_credentials_and_never_shows_them() {
    let Some(reg) = Registry::start(Kind::tls_htpasswd("pusher", "s3cret-pw")) else {
        return;
    };
    let d = tempdir();
    let image = fixture("images/arm64-static-oci.tar");
    let run = |auth: &Path, r: &str| {
        binslim()
            .env("REGISTRY_AUTH_FILE", auth)
            .env("DOCKER_CONFIG", d.path())
            .env("SSL_CERT_FILE", reg.ca_pem())
            .args(["push", "--json"])
            .arg(&image)
            .arg(r)
            .output()
            .unwrap()
    };
    let good = reg.auth_file(d.path(), "pusher", "s3cret-pw");
    let out = run(&good, &reg.reference("auth/app:1"));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["push"]["digest"],
        "sha256:fe657270e265d58c5e2ecd57248a404dd1f53398a0ab8d7e0800c881cd4000ce"
    );

    let bad_dir = tempdir();
    let bad = reg.auth_file(bad_dir.path(), "pusher", "wrong-pw");
    let r = reg.reference("auth/app:2");
    let out = run(&bad, &r);
    let (stdout, err) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(
        err,
        format!(
            "binslim: push to {r} failed at authentication: wrong user name or password for {}\n",
            reg.host()
        )
    );
    assert!(stdout.is_empty());
    assert!(
        !err.contains("wrong-pw") && !err.contains("s3cret"),
        "{err}"
    );
    assert_eq!(reg.manifest_puts(), 1, "no manifest pushed: {}", reg.log());
}

#[test]
fn a_reference_that_does_not_parse_exits_2_before_reading() {
    let (code, v, err) = push(Path::new("/nonexistent.tar"), "Not A Ref", None);
    assert_eq!((code, v), (2, Value::Null));
    assert!(
        err.starts_with("binslim: 'Not A Ref' is not an image reference"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn a_source_missing_a_blob_is_refused_by_name() {
    let Some(reg) = Registry::start(Kind::Plain) else {
        return;
    };
    let d = tempdir();
    let layout = d.path().join("layout");
    ok_status(
        Command::new("tar")
            .arg("xf")
            .arg(fixture("images/arm64-static-oci.tar"))
            .arg("-C")
            .arg({
                fs::create_dir(&layout).unwrap();
                &layout
            }),
    );
    let layer = "a12da1aa3218bdedd1ab9a94b71166f198b0cc3f39e25b1fbbd7580473418fce";
    fs::remove_file(layout.join("blobs/sha256").join(layer)).unwrap();
    let (code, v, err) = push(&layout, &reg.reference("missing/app:1"), None);
    assert_eq!((code, v), (2, Value::Null));
    assert_eq!(
        err,
        format!(
            "binslim: {}: the image names 'blobs/sha256/{layer}', which is not in it (an \
             incomplete save?)\n",
            layout.display()
        )
    );
    // Nothing but the harness's readiness probe reached the registry.
    assert!(
        reg.requests().iter().all(|r| r.uri == "/v2/"),
        "{}",
        reg.log()
    );
}

fn ok_status(cmd: &mut Command) {
    let s = cmd.status().unwrap();
    assert!(s.success(), "{cmd:?}");
}

#[test]
fn a_500_on_a_blob_upload_is_retried() {
    let Some(reg) = Registry::start(Kind::Plain) else {
        return;
    };
    // The layer's upload fails twice (a 500 to the PUT that completes it), then goes through.
    let layer = "sha256:a12da1aa3218bdedd1ab9a94b71166f198b0cc3f39e25b1fbbd7580473418fce";
    let proxy = Proxy::start(
        &reg.host(),
        Fault::Status500OnBlobUpload {
            digest_prefix: Some(layer[..11].to_string()),
            times: 2,
        },
    );
    let image = fixture("images/arm64-static-oci.tar");
    let (code, v, err) = push(&image, &proxy.reference("fault/app:1"), None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(uploaded(&v), [true, true]);
    let failed = proxy.failed();
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert!(failed.iter().all(|(m, _)| m == "PUT"), "{failed:?}");
    // Each failure restarted the upload: three upload sessions for the layer, one for the
    // config, and one blob stored each.
    let posts = proxy
        .requests()
        .iter()
        .filter(|(m, t)| m == "POST" && t.contains("/blobs/uploads/"))
        .count();
    assert_eq!(posts, 4);
    assert_eq!(
        (reg.blob_puts(), reg.manifest_puts()),
        (2, 1),
        "{}",
        reg.log()
    );
}

#[test]
fn a_persistent_500_on_a_blob_upload_fails_at_that_step_and_pushes_no_manifest() {
    let Some(reg) = Registry::start(Kind::Plain) else {
        return;
    };
    let proxy = Proxy::start(
        &reg.host(),
        Fault::Status500OnBlobUpload {
            digest_prefix: None,
            times: usize::MAX,
        },
    );
    let image = fixture("images/arm64-static-oci.tar");
    let r = proxy.reference("fault/app:1");
    let (code, v, err) = push(&image, &r, None);
    assert_eq!((code, v), (2, Value::Null));
    assert!(
        err.starts_with(&format!("binslim: push to {r} failed at blob upload: ")),
        "{err}"
    );
    assert!(err.contains("answered 500"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    // Retried a bounded number of times (the client's 4 tries), then given up: no manifest.
    assert_eq!(proxy.failed().len(), 4, "{:?}", proxy.requests());
    assert_eq!(proxy.manifest_puts(), 0);
    assert_eq!(
        (reg.blob_puts(), reg.manifest_puts()),
        (0, 0),
        "{}",
        reg.log()
    );
}

// `binslim image ... --push REF`: build and push in one command, no engine and no tar.

/// `binslim image --json ARGS --insecure` with no credentials from the machine: exit code, the
/// whole JSON document (Null on failure), stderr.
fn image_push(args: &[&str]) -> (i32, Value, String) {
    let none = tempdir();
    let out = binslim()
        .env("REGISTRY_AUTH_FILE", none.path().join("none.json"))
        .env("DOCKER_CONFIG", none.path())
        .arg("image")
        .args(args)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn image_push_builds_and_pushes_one_command_with_the_digest_of_the_archive() {
    if !have_engine() {
        return;
    }
    let Some(reg) = Registry::start(Kind::Plain) else {
        return;
    };
    let go = fixture("go-static");
    let go = go.to_str().unwrap();
    let reference = reg.reference("imagepush/app:1");
    let (code, v, err) = image_push(&[go, "--json", "--push", &reference, "--insecure"]);
    assert_eq!(code, 0, "{err}");
    let digest = v["image"]["digest"].as_str().unwrap().to_string();
    assert_eq!(v["image"]["format"], "registry");
    assert_eq!(v["push"]["ref"], reference.as_str());
    assert_eq!(v["push"]["digest"], digest.as_str());
    assert_eq!(
        v["push"]["manifests"],
        json!([{"platform": "linux/amd64", "digest": digest}])
    );
    assert!(uploaded(&v["push"]).iter().all(|u| *u), "{v}");
    // What the registry holds is what the same command writes to a file.
    assert_eq!(
        skopeo_digest(&format!("docker://{reference}"), Some(&reg)),
        digest
    );
    let d = tempdir();
    let archive = d.path().join("app.tar");
    let (code, written, err) = image_push(&[go, "--json", "-o", archive.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(written["image"]["digest"], digest.as_str());
    assert_eq!(written.get("push"), None);
    assert_eq!(
        pull_and_run(&reference),
        (HELLO.to_string(), String::new(), 0)
    );

    // Again, as text: nothing to upload, and the last line is the reference by digest.
    let none = tempdir();
    let out = binslim()
        .env("REGISTRY_AUTH_FILE", none.path().join("none.json"))
        .args(["image", go, "--push", &reference, "--insecure"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        format!("{reference} → docker://{reference} (registry, linux/amd64)"),
        "{text}"
    );
    assert_eq!(
        lines.last().copied(),
        Some(
            format!(
                "pushed {}@{digest}",
                reg.reference("imagepush/app").trim_end_matches(":latest")
            )
            .as_str()
        ),
        "{text}"
    );
    assert!(text.contains("\n\n  blob "), "{text}");
    assert!(text.contains("  0 of "), "{text}");
}

#[test]
fn image_push_of_two_programs_is_one_index_in_the_registry() {
    if !have_engine() {
        return;
    }
    let Some(reg) = Registry::start(Kind::Plain) else {
        return;
    };
    let (amd, arm) = (fixture("go-static"), fixture("arm64-static"));
    let programs = [amd.to_str().unwrap(), arm.to_str().unwrap()];
    let reference = reg.reference("imagepush/multi:2");
    let mut args = programs.to_vec();
    args.extend([
        "--path",
        "/server",
        "--json",
        "--push",
        &reference,
        "--insecure",
    ]);
    let (code, v, err) = image_push(&args);
    assert_eq!(code, 0, "{err}");
    let index = v["image"]["digest"].as_str().unwrap();
    assert_eq!(v["push"]["digest"], index);
    let built: Vec<Value> = v["image"]["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| json!({"platform": m["platform"], "digest": m["digest"]}))
        .collect();
    assert_eq!(v["push"]["manifests"], Value::Array(built));
    // The registry serves the index binslim built, byte for byte.
    let raw = inspect(&["--raw"], &format!("docker://{reference}"), Some(&reg));
    assert_eq!(format!("sha256:{}", sha256(&raw)), index);
    let parsed: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(parsed["manifests"].as_array().unwrap().len(), 2);
    // podman pulls the amd64 image of the index, and it starts.
    assert_eq!(
        pull_and_run(&reference),
        (HELLO.to_string(), String::new(), 0)
    );
}

#[test]
fn image_push_failures_exit_2_and_say_what_was_written() {
    let d = tempdir();
    let go = fixture("go-static");
    let go = go.to_str().unwrap();
    let out = d.path().join("app.tar");
    let out_s = out.to_str().unwrap();

    // A reference that does not parse: nothing built, nothing written.
    let (code, _, err) = image_push(&[go, "-o", out_s, "--push", "Not A/Ref"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.starts_with("binslim: --push: "), "{err}");
    assert!(!out.exists());

    // --format says how to write OUT: without -o it has nothing to say.
    let (code, _, err) = image_push(&[go, "--format", "oci", "--push", "127.0.0.1:1/a:1"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--output <OUT>"), "{err}");

    // A registry that is down: OUT is written, the push fails at its first step.
    let port = common::registry::free_port();
    let reference = format!("127.0.0.1:{port}/app:1");
    let (code, _, err) = image_push(&[go, "-o", out_s, "--push", &reference, "--insecure"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!("binslim: push to {reference} failed at ping: ")),
        "{err}"
    );
    assert!(
        err.ends_with(&format!(
            "binslim: {out_s} was written; nothing was pushed\n"
        )),
        "{err}"
    );
    assert!(out.is_file());
}

#[test]
fn mount_from_another_repository_sends_no_blob() {
    if !have_tool("skopeo") {
        return;
    }
    let Some(reg) = Registry::start(Kind::Plain) else {
        return;
    };
    let d = tempdir();
    let tar = d.path().join("app.tar");
    go_static_image(&tar, "oci", "app:1");
    let v = push_ok(&tar, &reg.reference("team/app:1"));
    assert_eq!(uploaded(&v), [true, true]);
    let (puts, uploads) = (reg.blob_puts(), reg.blob_uploads());
    assert_eq!(puts, 2, "{}", reg.log());

    // Into another repository, lent by the first: two mounts (201), nothing uploaded.
    let none = tempdir();
    let target = reg.reference("team/app-canary:1");
    let out = binslim()
        .env("REGISTRY_AUTH_FILE", none.path().join("none.json"))
        .args(["push", "--json", "--insecure", "--mount-from", "team/app"])
        .arg(&tar)
        .arg(&target)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(uploaded(&v["push"]), [false, false]);
    let mounts: Vec<u16> = reg
        .requests()
        .iter()
        .filter(|r| {
            r.method == "POST" && r.uri.contains("mount=") && r.uri.contains("from=team%2Fapp")
        })
        .map(|r| r.status)
        .collect();
    assert_eq!(mounts, [201, 201], "{}", reg.log());
    assert_eq!(reg.blob_puts(), puts, "{}", reg.log());
    // The mounts were the only upload requests: no bytes were sent.
    assert_eq!(reg.blob_uploads(), uploads + 2, "{}", reg.log());
    assert_eq!(
        skopeo_digest(&format!("docker://{target}"), Some(&reg)),
        v["push"]["digest"].as_str().unwrap()
    );
}
