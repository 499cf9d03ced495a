//! The registry harness of tests/common/registry.rs, proved with outside tools only: skopeo
//! copies a committed image into each kind of real registry and reads it back, and the
//! registry's own access log counts what was uploaded.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::registry::{Kind, Registry};
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
