//! The registry harness of tests/common/registry.rs, proved with outside tools only: skopeo
//! copies a committed image into each kind of real registry and reads it back, and the
//! registry's own access log counts what was uploaded.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::registry::{Fault, Kind, Proxy, Registry};
use common::{fixture, have_tool, sha256, tempdir};

/// The committed OCI archive `binslim image arm64-static --format oci` wrote (testdata/README):
/// skopeo copies its blobs as they are, so the registry holds its manifest unchanged.
const IMAGE: &str = "images/arm64-static-oci.tar";
/// The digest of that archive's manifest (`skopeo inspect --raw oci-archive:... | sha256sum`).
const MANIFEST: &str = "sha256:fe657270e265d58c5e2ecd57248a404dd1f53398a0ab8d7e0800c881cd4000ce";
/// Its config and only layer.
const CONFIG: &str = "sha256:a7bde03e6c9bd66a0c3577f662caa20b272e352f5a548130d592daf22c0c4375";
const LAYER: &str = "sha256:a12da1aa3218bdedd1ab9a94b71166f198b0cc3f39e25b1fbbd7580473418fce";

/// skopeo with an auth file of its own (`auth`, else one that does not exist), so the
/// machine's credentials never take part.
fn skopeo(auth: Option<&Path>, args: &[String]) -> Output {
    let none = tempdir();
    let file = auth.map_or_else(|| none.path().join("none.json"), Path::to_path_buf);
    Command::new("skopeo")
        .env("REGISTRY_AUTH_FILE", file)
        .args(args)
        .output()
        .expect("run skopeo")
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// `skopeo copy oci-archive:IMAGE docker://REF` with `dest` flags.
fn copy_in(reg_ref: &str, dest: Vec<String>, auth: Option<&Path>) -> Output {
    let mut args = strings(&["copy", "--retry-times", "0"]);
    args.extend(dest);
    args.push(format!("oci-archive:{}", fixture(IMAGE).display()));
    args.push(format!("docker://{reg_ref}"));
    skopeo(auth, &args)
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "skopeo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// skopeo inspect (`--raw` or not) of REF with `flags`: the manifest's digest from the
/// `Digest` field equals the sha256 of the raw manifest, and both are [`MANIFEST`].
fn assert_holds_image(reg_ref: &str, flags: Vec<String>, auth: Option<&Path>) {
    let mut args = strings(&["inspect", "--retry-times", "0"]);
    args.extend(flags);
    args.push(format!("docker://{reg_ref}"));
    let v: serde_json::Value = serde_json::from_str(&ok(&skopeo(auth, &args))).unwrap();
    assert_eq!(v["Digest"], MANIFEST);
    assert_eq!(v["Architecture"], "arm64");
    assert_eq!(v["Layers"], serde_json::json!([LAYER]));
    args.insert(1, "--raw".into());
    let raw = skopeo(auth, &args);
    ok(&raw);
    assert_eq!(format!("sha256:{}", sha256(&raw.stdout)), MANIFEST);
    let m: serde_json::Value = serde_json::from_slice(&raw.stdout).unwrap();
    assert_eq!(m["config"]["digest"], CONFIG);
}

/// The registry's log: config and layer uploaded once each (POST, PATCH, PUT), one manifest.
fn assert_uploaded_once(reg: &Registry) {
    assert_eq!(reg.blob_puts(), 2, "{}", reg.log());
    assert_eq!(reg.blob_uploads(), 6, "{}", reg.log());
    assert_eq!(reg.manifest_puts(), 1, "{}", reg.log());
    let puts: Vec<String> = reg
        .requests()
        .into_iter()
        .filter(|r| r.is_blob_put())
        .map(|r| r.uri)
        .collect();
    for digest in [LAYER, CONFIG] {
        let q = format!("digest={}", digest.replace(':', "%3A"));
        assert!(puts.iter().any(|u| u.contains(&q)), "{q} in {puts:?}");
    }
}

#[test]
fn plain_http_registry_takes_and_gives_back_an_image() {
    if !have_tool("skopeo") {
        return;
    }
    let Some(reg) = Registry::start(Kind::Plain) else {
        return;
    };
    assert_eq!(reg.host(), format!("127.0.0.1:{}", reg.port()));
    assert_eq!(reg.skopeo_args("dest-"), ["--dest-tls-verify=false"]);
    ok(&copy_in(
        &reg.reference("app:v1"),
        reg.skopeo_args("dest-"),
        None,
    ));
    assert_holds_image(&reg.reference("app:v1"), reg.skopeo_args(""), None);
    assert_uploaded_once(&reg);
    // A second copy finds both blobs (HEAD) and uploads nothing.
    ok(&copy_in(
        &reg.reference("app:v2"),
        reg.skopeo_args("dest-"),
        None,
    ));
    assert_eq!(reg.blob_uploads(), 6);
    assert_eq!(reg.manifest_puts(), 2);
    let first = &reg.requests()[0];
    assert_eq!((first.method.as_str(), first.uri.as_str()), ("GET", "/v2/"));
}

#[test]
fn tls_registry_is_trusted_through_its_cert_dir_only() {
    if !have_tool("skopeo") {
        return;
    }
    let Some(reg) = Registry::start(Kind::Tls) else {
        return;
    };
    let r = reg.reference("tls/app:v1");
    // Without the certificate skopeo refuses the server.
    let out = copy_in(&r, vec![], None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("x509"), "{err}");
    assert_eq!(reg.blob_uploads(), 0);
    // With it (a dir holding ca.crt) the copy works, and also with a certs.d-style dir.
    let dir = reg.cert_dir();
    assert_eq!(
        std::fs::read(dir.join("ca.crt")).unwrap(),
        std::fs::read(reg.ca_pem()).unwrap()
    );
    ok(&copy_in(&r, reg.skopeo_args("dest-"), None));
    assert_holds_image(&r, reg.skopeo_args(""), None);
    assert_uploaded_once(&reg);
    let root = tempdir();
    let d = reg.write_certs_d(root.path());
    assert_eq!(d, root.path().join(reg.host()));
    let flags = vec!["--cert-dir".into(), d.display().to_string()];
    assert_holds_image(&r, flags, None);
}

#[test]
fn htpasswd_registry_wants_the_right_password() {
    if !have_tool("skopeo") {
        return;
    }
    let Some(reg) = Registry::start(Kind::tls_htpasswd("alice", "s3cret pass")) else {
        return;
    };
    let r = reg.reference("team/app:v1");
    let certs = vec![
        "--dest-cert-dir".into(),
        reg.cert_dir().display().to_string(),
    ];
    let dir = tempdir();
    // No credentials, then a wrong password: refused, nothing stored.
    let out = copy_in(&r, certs.clone(), None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(err.contains("401") || err.contains("unauthorized"), "{err}");
    let wrong = reg.auth_file(dir.path(), "alice", "wrong");
    let out = copy_in(&r, certs.clone(), Some(&wrong));
    assert!(!out.status.success());
    assert_eq!(reg.blob_puts(), 0);
    assert_eq!(reg.manifest_puts(), 0);
    // The auth file with the right password.
    let right = reg.auth_file(dir.path(), "alice", "s3cret pass");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&right).unwrap()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"auths": {reg.host(): {"auth": "YWxpY2U6czNjcmV0IHBhc3M="}}})
    );
    ok(&copy_in(&r, certs, Some(&right)));
    assert_uploaded_once(&reg);
    // And the flags helper (--creds).
    assert_eq!(reg.creds().as_deref(), Some("alice:s3cret pass"));
    assert_holds_image(&r, reg.skopeo_args(""), None);
    let statuses: Vec<u16> = reg.requests().iter().map(|l| l.status).collect();
    assert!(statuses.contains(&401), "{statuses:?}");
}

#[test]
fn token_registry_takes_the_issuers_jwt() {
    if !have_tool("skopeo") {
        return;
    }
    let Some(reg) = Registry::start(Kind::token("bob", "tok-pw")) else {
        return;
    };
    let issuer = reg.token_issuer();
    assert_eq!(
        issuer.realm(),
        format!("http://127.0.0.1:{}/token", issuer.port())
    );
    let v2 = reg.get_raw("/v2/", &[]).unwrap();
    assert!(v2.starts_with("HTTP/1.0 401 "), "{v2}");
    let challenge = format!(
        "Www-Authenticate: Bearer realm=\"{}\",service=\"{}\"",
        issuer.realm(),
        common::registry::TOKEN_SERVICE
    );
    assert!(v2.contains(&challenge), "{v2}");
    let r = reg.reference("tok/app:v1");
    let certs = vec![
        "--dest-cert-dir".into(),
        reg.cert_dir().display().to_string(),
    ];
    // A wrong password: the issuer says 401, skopeo fails, nothing stored.
    let mut bad = certs.clone();
    bad.extend(["--dest-creds".into(), "bob:nope".into()]);
    let out = copy_in(&r, bad, None);
    assert!(!out.status.success());
    assert_eq!(reg.blob_puts(), 0);
    let asked = issuer.requests();
    assert!(
        !asked.is_empty() && asked.iter().all(|t| !t.granted),
        "{asked:?}"
    );
    // The right one: a token for pull and push, which the registry takes.
    ok(&copy_in(&r, reg.skopeo_args("dest-"), None));
    assert_uploaded_once(&reg);
    let granted: Vec<_> = issuer
        .requests()
        .into_iter()
        .filter(|t| t.granted)
        .collect();
    assert!(!granted.is_empty());
    for t in &granted {
        assert_eq!(t.service, common::registry::TOKEN_SERVICE);
        assert_eq!(t.account.as_deref(), Some("bob"));
    }
    assert!(
        granted
            .iter()
            .any(|t| t.scopes == ["repository:tok/app:pull,push"]),
        "{granted:?}"
    );
    assert_holds_image(&r, reg.skopeo_args(""), None);
    // The issuer's token, used by hand: the registry serves the manifest for it, and not
    // without it.
    let scope = "repository:tok/app:pull";
    assert_eq!(issuer.fetch(scope, Some(("bob", "wrong"))).0, 401);
    assert_eq!(issuer.fetch(scope, None).0, 401);
    let (status, body) = issuer.fetch(scope, Some(("bob", "tok-pw")));
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["expires_in"], 300);
    assert_eq!(v["token"], v["access_token"]);
    let jwt = v["token"].as_str().unwrap();
    assert_eq!(jwt.split('.').count(), 3);
    let accept = "Accept: application/vnd.oci.image.manifest.v1+json";
    let path = "/v2/tok/app/manifests/v1";
    let bearer = format!("Authorization: Bearer {jwt}");
    let got = reg.get_raw(path, &[accept, &bearer]).unwrap();
    assert!(got.starts_with("HTTP/1.0 200 "), "{got}");
    assert!(
        got.contains(&format!("Docker-Content-Digest: {MANIFEST}")),
        "{got}"
    );
    let denied = reg.get_raw(path, &[accept]).unwrap();
    assert!(denied.starts_with("HTTP/1.0 401 "), "{denied}");
    // A token for another repository does not open this one.
    let (_, other) = issuer.fetch("repository:other:pull", Some(("bob", "tok-pw")));
    let other: serde_json::Value = serde_json::from_str(&other).unwrap();
    let bearer = format!("Authorization: Bearer {}", other["token"].as_str().unwrap());
    let denied = reg.get_raw(path, &[accept, &bearer]).unwrap();
    assert!(denied.starts_with("HTTP/1.0 401 "), "{denied}");
}

#[test]
fn proxy_records_and_forwards() {
    if !have_tool("skopeo") {
        return;
    }
    let Some(reg) = Registry::start(Kind::Plain) else {
        return;
    };
    let proxy = Proxy::start(&reg.host(), Fault::None);
    let r = proxy.reference("via/app:v1");
    ok(&copy_in(&r, reg.skopeo_args("dest-"), None));
    assert_holds_image(&r, reg.skopeo_args(""), None);
    assert_holds_image(&reg.reference("via/app:v1"), reg.skopeo_args(""), None);
    assert_uploaded_once(&reg);
    let seen = proxy.requests();
    assert_eq!(seen[0], ("GET".to_string(), "/v2/".to_string()));
    assert_eq!(proxy.blob_uploads(), 6);
    assert_eq!(proxy.manifest_puts(), 1);
    assert!(proxy.failed().is_empty());
    // Pushed again: HEADs find both blobs, no upload.
    ok(&copy_in(
        &proxy.reference("via/app:v2"),
        reg.skopeo_args("dest-"),
        None,
    ));
    assert_eq!(proxy.blob_uploads(), 6);
    assert_eq!(proxy.manifest_puts(), 2);
    assert_eq!(reg.blob_uploads(), 6);
}

/// The copy failed with the proxy's 500, and its message says so.
fn assert_failed_with_500(out: &Output) {
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("500 Internal Server Error"), "{err}");
}

#[test]
fn proxy_fails_one_blob_once_then_forwards() {
    if !have_tool("skopeo") {
        return;
    }
    let Some(reg) = Registry::start(Kind::Plain) else {
        return;
    };
    let fault = Fault::Status500OnBlobUpload {
        digest_prefix: Some(LAYER[..14].to_string()),
        times: 1,
    };
    let proxy = Proxy::start(&reg.host(), fault);
    let r = proxy.reference("flaky/app:v1");
    // skopeo 1.9 does not retry a 500: the copy fails at the layer's PUT.
    assert_failed_with_500(&copy_in(&r, reg.skopeo_args("dest-"), None));
    let failed = proxy.failed();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].0, "PUT");
    let q = format!("&digest={}", LAYER.replace(':', "%3A"));
    assert!(failed[0].1.ends_with(&q), "{failed:?}");
    assert_eq!((reg.blob_puts(), reg.manifest_puts()), (0, 0));
    // The fault is spent: the same copy goes through.
    ok(&copy_in(&r, reg.skopeo_args("dest-"), None));
    assert_eq!(proxy.failed().len(), 1);
    assert_holds_image(&r, reg.skopeo_args(""), None);
    assert_eq!((reg.blob_puts(), reg.manifest_puts()), (2, 1));
}

#[test]
fn proxy_fails_a_blob_for_good_and_no_manifest_is_pushed() {
    if !have_tool("skopeo") {
        return;
    }
    let Some(reg) = Registry::start(Kind::Plain) else {
        return;
    };
    let fault = Fault::Status500OnBlobUpload {
        digest_prefix: None,
        times: 100,
    };
    let proxy = Proxy::start(&reg.host(), fault);
    let r = proxy.reference("down/app:v1");
    for _ in 0..2 {
        assert_failed_with_500(&copy_in(&r, reg.skopeo_args("dest-"), None));
    }
    // Each copy stopped at its first upload request (the POST that opens a session).
    let failed = proxy.failed();
    let posts = vec![
        (
            "POST".to_string(),
            "/v2/down/app/blobs/uploads/".to_string()
        );
        2
    ];
    assert_eq!(failed, posts);
    assert_eq!(proxy.manifest_puts(), 0);
    assert_eq!(reg.blob_uploads(), 0, "{}", reg.log());
    assert_eq!(reg.manifest_puts(), 0);
    let mut args = vec!["inspect".to_string(), "--retry-times".into(), "0".into()];
    args.extend(reg.skopeo_args(""));
    args.push(reg.docker_ref("down/app:v1"));
    let out = skopeo(None, &args);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("manifest unknown"), "{err}");
}

#[test]
fn proxy_fails_the_manifest_after_the_blobs() {
    if !have_tool("skopeo") {
        return;
    }
    let Some(reg) = Registry::start(Kind::Plain) else {
        return;
    };
    let fault = Fault::Status500Always {
        path_contains: "/manifests/".into(),
    };
    let proxy = Proxy::start(&reg.host(), fault);
    let r = proxy.reference("late/app:v1");
    assert_failed_with_500(&copy_in(&r, reg.skopeo_args("dest-"), None));
    let failed = proxy.failed();
    assert_eq!(
        failed,
        [("PUT".to_string(), "/v2/late/app/manifests/v1".to_string())]
    );
    assert_eq!((reg.blob_puts(), reg.manifest_puts()), (2, 0));
    // Without the fault the copy finds both blobs and only puts the manifest.
    proxy.set_fault(Fault::None);
    ok(&copy_in(&r, reg.skopeo_args("dest-"), None));
    assert_holds_image(&reg.reference("late/app:v1"), reg.skopeo_args(""), None);
    assert_eq!((reg.blob_puts(), reg.manifest_puts()), (2, 1));
    assert_eq!(reg.blob_uploads(), 6);
}

/// `n` bytes that do not compress (xorshift).
fn noise(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn proxy_streams_a_big_layer_both_ways() {
    if !have_tool("skopeo") {
        return;
    }
    let Some(reg) = Registry::start(Kind::Plain) else {
        return;
    };
    let proxy = Proxy::start(&reg.host(), Fault::None);
    let dir = tempdir();
    let mut layer = common::raw_entry("big.bin", &noise(12 << 20));
    layer.extend_from_slice(&[0; 1024]);
    let diff_id = format!("sha256:{}", sha256(&layer));
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{}},"rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}}}}"#
    );
    let tar = dir.path().join("big.tar");
    std::fs::write(&tar, common::docker_archive(&layer, &config)).unwrap();
    let mut args = strings(&["copy", "--retry-times", "0"]);
    args.extend(reg.skopeo_args("dest-"));
    args.push(format!("docker-archive:{}", tar.display()));
    args.push(proxy.docker_ref("big/app:v1"));
    ok(&skopeo(None, &args));
    // Back through the proxy into a dir: the layer unpacks to the very tar, the config is
    // the very bytes.
    let out = dir.path().join("out");
    let mut args = strings(&["copy", "--retry-times", "0"]);
    args.extend(reg.skopeo_args("src-"));
    args.push(proxy.docker_ref("big/app:v1"));
    args.push(format!("dir:{}", out.display()));
    ok(&skopeo(None, &args));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let blob = |d: &serde_json::Value| {
        std::fs::read(out.join(d.as_str().unwrap().trim_start_matches("sha256:"))).unwrap()
    };
    assert_eq!(blob(&manifest["config"]["digest"]), config.as_bytes());
    let gz = blob(&manifest["layers"][0]["digest"]);
    assert!(gz.len() > 12 << 20, "{}", gz.len());
    let mut unpacked = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut unpacked).unwrap();
    assert_eq!(format!("sha256:{}", sha256(&unpacked)), diff_id);
    // The registry holds what went through the proxy.
    assert_eq!((reg.blob_puts(), reg.manifest_puts()), (2, 1));
    assert_eq!(proxy.manifest_puts(), 1);
}

/// `basenc ARGS` with stdin `data`: its stdout.
fn basenc(args: &[&str], data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut c = Command::new("basenc")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run basenc");
    c.stdin.take().unwrap().write_all(data).unwrap();
    let out = c.wait_with_output().unwrap();
    assert!(out.status.success(), "basenc {args:?}: {out:?}");
    out.stdout
}

/// Base64 of `data` by basenc (`--base64` or `--base64url`), on one line.
fn encode(flag: &str, data: &[u8]) -> String {
    String::from_utf8(basenc(&[flag, "-w0"], data)).unwrap()
}

#[test]
fn base64_agrees_with_basenc() {
    use common::registry::{STD, URL, base64};
    if !have_tool("basenc") {
        return;
    }
    let data = noise(300);
    for n in [0, 1, 2, 3, 4, 5, 64, 299, 300] {
        let d = &data[..n];
        assert_eq!(base64(d, STD), encode("--base64", d), "{n}");
        let url = encode("--base64url", d);
        assert_eq!(base64(d, URL), url.trim_end_matches('='), "{n}");
    }
}

#[test]
fn token_claims_and_signature_hold_up_from_outside() {
    if !have_tool("basenc") {
        return;
    }
    let Some(reg) = Registry::start(Kind::token("carol", "pw")) else {
        return;
    };
    let issuer = reg.token_issuer();
    let (status, body) = issuer.fetch("repository:team/app:pull,push", Some(("carol", "pw")));
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let jwt = v["token"].as_str().unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    let decode = |p: &str| {
        let padded = format!("{p}{}", "=".repeat((4 - p.len() % 4) % 4));
        basenc(&["--base64url", "-d"], padded.as_bytes())
    };
    let header: serde_json::Value = serde_json::from_slice(&decode(parts[0])).unwrap();
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
    // x5c holds the DER of the registry's rootcertbundle.
    let der = Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(reg.dir().join("token-cert.pem"))
        .output()
        .unwrap();
    assert_eq!(
        header["x5c"],
        serde_json::json!([encode("--base64", &der.stdout)])
    );
    let claims: serde_json::Value = serde_json::from_slice(&decode(parts[1])).unwrap();
    assert_eq!(claims["iss"], common::registry::TOKEN_ISSUER);
    assert_eq!(claims["aud"], common::registry::TOKEN_SERVICE);
    assert_eq!(claims["sub"], "carol");
    let (iat, exp) = (
        claims["iat"].as_u64().unwrap(),
        claims["exp"].as_u64().unwrap(),
    );
    assert_eq!(exp - iat, 300);
    assert!(claims["nbf"].as_u64().unwrap() <= iat);
    assert_eq!(
        claims["access"],
        serde_json::json!([{"type": "repository", "name": "team/app", "actions": ["pull", "push"]}])
    );
    // The signature verifies with the certificate's public key (openssl dgst -verify).
    let d = tempdir();
    let pubkey = d.path().join("pub.pem");
    let out = Command::new("openssl")
        .args(["x509", "-pubkey", "-noout", "-in"])
        .arg(reg.dir().join("token-cert.pem"))
        .output()
        .unwrap();
    std::fs::write(&pubkey, &out.stdout).unwrap();
    std::fs::write(d.path().join("sig"), decode(parts[2])).unwrap();
    std::fs::write(d.path().join("input"), format!("{}.{}", parts[0], parts[1])).unwrap();
    let verify = Command::new("openssl")
        .current_dir(d.path())
        .args([
            "dgst",
            "-sha256",
            "-verify",
            "pub.pem",
            "-signature",
            "sig",
            "input",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&verify.stdout), "Verified OK\n");
    let asked = issuer.requests();
    assert_eq!(
        asked,
        [common::registry::TokenRequest {
            service: common::registry::TOKEN_SERVICE.into(),
            scopes: vec!["repository:team/app:pull,push".into()],
            account: None,
            granted: true,
        }]
    );
}

#[test]
fn a_registry_goes_down_when_killed_or_dropped() {
    let Some(mut reg) = Registry::start(Kind::Plain) else {
        return;
    };
    assert!(
        reg.get_raw("/v2/", &[])
            .unwrap()
            .starts_with("HTTP/1.0 200 ")
    );
    reg.kill();
    assert_eq!(reg.get_raw("/v2/", &[]), None);
    // Dropped: the process is reaped, the issuer stops listening, the directory is gone.
    let Some(reg) = Registry::start(Kind::token("u", "p")) else {
        return;
    };
    let (pid, dir) = (reg.pid(), reg.dir().to_path_buf());
    let issuer = reg.token_issuer().port();
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    drop(reg);
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
    assert!(std::net::TcpStream::connect(("127.0.0.1", issuer)).is_err());
    assert!(!dir.exists());
}
