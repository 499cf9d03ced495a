//! A real OCI distribution registry for the tests: Debian's `docker-registry` (distribution
//! 2.8) started on 127.0.0.1 with its own temporary directory, configuration and storage, and
//! killed on Drop (see ../shared/CONTAINERS.md, "A real registry on loopback").
//!
//! Kinds: plain HTTP, TLS with a self-signed certificate made by openssl, TLS with a bcrypt
//! htpasswd file made by `htpasswd`. The registry logs every request (its access log, in the
//! combined log format), so tests count uploads from the registry's own word.

use std::io::{BufRead, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{have_tool, tempdir};

/// How long a registry may take to answer `GET /v2/` after it is started.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// What kind of registry to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Plain HTTP, no auth (`--tls-verify=false` for skopeo and podman).
    Plain,
    /// TLS with a self-signed certificate for IP 127.0.0.1, no auth.
    Tls,
    /// TLS, and Basic auth against a bcrypt htpasswd file holding this one user.
    TlsHtpasswd {
        /// The user name.
        user: String,
        /// The user's password.
        password: String,
    },
    /// TLS, and the Bearer token flow: the registry answers `WWW-Authenticate: Bearer
    /// realm="http://127.0.0.1:PORT/token",service=...,scope=...` and trusts the JWTs of a
    /// [`TokenIssuer`] (plain HTTP on loopback) that gives them to this one user.
    Token {
        /// The user name.
        user: String,
        /// The user's password.
        password: String,
    },
}

impl Kind {
    /// [`Kind::TlsHtpasswd`] for `user` and `password`.
    pub fn tls_htpasswd(user: &str, password: &str) -> Kind {
        Kind::TlsHtpasswd {
            user: user.into(),
            password: password.into(),
        }
    }

    /// [`Kind::Token`] for `user` and `password`.
    pub fn token(user: &str, password: &str) -> Kind {
        Kind::Token {
            user: user.into(),
            password: password.into(),
        }
    }

    /// The user and password of a kind with auth.
    pub fn creds(&self) -> Option<(&str, &str)> {
        match self {
            Kind::Plain | Kind::Tls => None,
            Kind::TlsHtpasswd { user, password } | Kind::Token { user, password } => {
                Some((user, password))
            }
        }
    }

    /// True when the registry speaks TLS.
    pub fn tls(&self) -> bool {
        !matches!(self, Kind::Plain)
    }
}

/// One request as the registry's access log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    /// `GET`, `HEAD`, `POST`, `PATCH`, `PUT`, `DELETE`.
    pub method: String,
    /// The request URI, with its query (`/v2/app/blobs/uploads/UUID?_state=..&digest=..`).
    pub uri: String,
    /// The response status.
    pub status: u16,
}

impl Logged {
    /// True for a request of an upload session (`POST`/`PATCH`/`PUT` under
    /// `/v2/<name>/blobs/uploads/`).
    pub fn is_blob_upload(&self) -> bool {
        matches!(self.method.as_str(), "POST" | "PATCH" | "PUT")
            && self.uri.contains("/blobs/uploads/")
    }

    /// True for the `PUT` that completes a blob upload (one blob stored).
    pub fn is_blob_put(&self) -> bool {
        self.method == "PUT" && self.uri.contains("/blobs/uploads/")
    }

    /// True for a manifest `PUT` (`/v2/<name>/manifests/<ref>`).
    pub fn is_manifest_put(&self) -> bool {
        self.method == "PUT" && self.uri.contains("/manifests/")
    }
}

/// A running `docker-registry` on 127.0.0.1, killed and reaped on Drop.
pub struct Registry {
    kind: Kind,
    port: u16,
    child: Child,
    dir: tempfile::TempDir,
    issuer: Option<TokenIssuer>,
}

impl Registry {
    /// Starts a registry of `kind` on a free loopback port and waits until `GET /v2/` answers.
    /// `None` (after [`super::skip`], which fails under `BINSLIM_REQUIRE_TOOLS`) when
    /// `docker-registry`, `htpasswd` or `openssl` is missing. Panics with the registry's log
    /// when it does not come up.
    pub fn start(kind: Kind) -> Option<Registry> {
        if !have_tool("docker-registry") || !have_tool("openssl") || !have_tool("htpasswd") {
            return None;
        }
        let mut dir = tempdir();
        let d = &dir.path().to_path_buf();
        std::fs::create_dir(d.join("data")).unwrap();
        if kind.tls() {
            self_signed(d, "cert.pem", "key.pem", "127.0.0.1", Some("IP:127.0.0.1"));
            let certs = d.join("certs");
            std::fs::create_dir(&certs).unwrap();
            std::fs::copy(d.join("cert.pem"), certs.join("ca.crt")).unwrap();
        }
        let issuer = match &kind {
            Kind::Token { user, password } => Some(TokenIssuer::start(d, user, password)),
            _ => None,
        };
        if let Kind::TlsHtpasswd { user, password } = &kind {
            let out = Command::new("htpasswd")
                .args(["-Bbn", user, password])
                .output()
                .expect("run htpasswd");
            assert!(out.status.success(), "htpasswd -Bbn: {out:?}");
            std::fs::write(d.join("htpasswd"), &out.stdout).unwrap();
        }
        // A free port can be taken by someone else between our probe and the registry's
        // bind: try again on another one.
        for _ in 0..5 {
            let port = free_port();
            let realm = issuer.as_ref().map(TokenIssuer::realm);
            let config = config(&kind, d, port, realm.as_deref());
            std::fs::write(d.join("config.yml"), config).unwrap();
            let log = std::fs::File::create(d.join("registry.log")).unwrap();
            let child = Command::new("docker-registry")
                .arg("serve")
                .arg(d.join("config.yml"))
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("start docker-registry");
            let mut reg = Registry {
                kind: kind.clone(),
                port,
                child,
                dir,
                issuer: None,
            };
            match reg.wait_ready() {
                Ok(()) => {
                    reg.issuer = issuer;
                    return Some(reg);
                }
                Err(log) if log.contains("address already in use") => {
                    dir = reg.into_dir();
                }
                Err(log) => panic!(
                    "docker-registry on 127.0.0.1:{port} did not answer GET /v2/ within \
                     {READY_TIMEOUT:?}; its log:\n{log}"
                ),
            }
        }
        panic!("docker-registry found no free port on 127.0.0.1 in 5 tries")
    }

    /// Polls `GET /v2/` until it answers 200 or 401, the process exits, or the time is up;
    /// `Err(log)` for the last two. The poll carries a query that must show in this
    /// registry's own access log, so another server that took the port does not pass for it
    /// (`Err` saying "address already in use", to try another port).
    fn wait_ready(&mut self) -> Result<(), String> {
        let start = Instant::now();
        let mut n = 0;
        while start.elapsed() < READY_TIMEOUT {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Err(format!("(exited: {status})\n{}", self.log()));
            }
            n += 1;
            let path = format!("/v2/?binslim-ready={n}");
            let status = self
                .get_raw(&path, &[])
                .and_then(|r| r.strip_prefix("HTTP/1.")?.get(2..5)?.parse().ok());
            if matches!(status, Some(200 | 401)) {
                let line = format!("\"GET {path} HTTP/1.0\"");
                let asked = Instant::now();
                while asked.elapsed() < Duration::from_secs(2) {
                    if self.log().contains(&line) {
                        return Ok(());
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                return Err("address already in use (by another server)".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(self.log())
    }

    /// One `GET PATH` (HTTP/1.0, `extra` header lines added) straight to the registry, over
    /// TLS through `openssl s_client` (which checks the certificate): the whole response
    /// (status line, headers, body), `None` when nothing answers.
    pub fn get_raw(&self, path: &str, extra: &[&str]) -> Option<String> {
        let mut request = format!("GET {path} HTTP/1.0\r\nHost: {}\r\n", self.host());
        for h in extra {
            request += &format!("{h}\r\n");
        }
        request += "\r\n";
        let response = if self.kind.tls() {
            TcpStream::connect(("127.0.0.1", self.port)).ok()?;
            let mut c = Command::new("openssl")
                .args(["s_client", "-quiet", "-verify_return_error", "-connect"])
                .arg(self.host())
                .arg("-CAfile")
                .arg(self.ca_pem())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("run openssl s_client");
            // A failed write shows as no answer below.
            let _ = c.stdin.take().unwrap().write_all(request.as_bytes());
            c.wait_with_output().unwrap().stdout
        } else {
            let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            s.write_all(request.as_bytes()).ok()?;
            let mut v = Vec::new();
            s.read_to_end(&mut v).ok()?;
            v
        };
        (!response.is_empty()).then(|| String::from_utf8_lossy(&response).into_owned())
    }

    /// Kills the process and hands back the directory (to start again on another port).
    fn into_dir(mut self) -> tempfile::TempDir {
        self.stop();
        std::mem::replace(&mut self.dir, tempdir())
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills the registry now (a registry that went down); Drop does it otherwise.
    pub fn kill(&mut self) {
        self.stop();
    }

    /// The process id of the registry.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The kind this registry was started as.
    pub fn kind(&self) -> &Kind {
        &self.kind
    }

    /// The port it listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `127.0.0.1:PORT/REPO_TAG` (e.g. `app:v1`, `team/app@sha256:...`).
    pub fn reference(&self, repo_tag: &str) -> String {
        format!("{}/{repo_tag}", self.host())
    }

    /// `docker://127.0.0.1:PORT/REPO_TAG`, for skopeo.
    pub fn docker_ref(&self, repo_tag: &str) -> String {
        format!("docker://{}", self.reference(repo_tag))
    }

    /// The registry's directory (config.yml, data/, registry.log, cert.pem...).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The PEM of the self-signed certificate (its own CA): for `SSL_CERT_FILE`. Panics for a
    /// plain registry.
    pub fn ca_pem(&self) -> PathBuf {
        assert!(self.kind.tls(), "a plain HTTP registry has no certificate");
        self.dir().join("cert.pem")
    }

    /// A directory holding only `ca.crt` (the certificate): for `skopeo --cert-dir`,
    /// `podman --cert-dir`. Panics for a plain registry.
    pub fn cert_dir(&self) -> PathBuf {
        assert!(self.kind.tls(), "a plain HTTP registry has no certificate");
        self.dir().join("certs")
    }

    /// Writes `ROOT/127.0.0.1:PORT/ca.crt` (the layout of `/etc/containers/certs.d` and
    /// `/etc/docker/certs.d`) and returns that `127.0.0.1:PORT` directory.
    pub fn write_certs_d(&self, root: &Path) -> PathBuf {
        let d = root.join(self.host());
        std::fs::create_dir_all(&d).unwrap();
        std::fs::copy(self.ca_pem(), d.join("ca.crt")).unwrap();
        d
    }

    /// `USER:PASSWORD` of a registry with auth.
    pub fn creds(&self) -> Option<String> {
        self.kind.creds().map(|(u, p)| format!("{u}:{p}"))
    }

    /// Writes `DIR/auth.json` in the format of `REGISTRY_AUTH_FILE` and docker's config.json
    /// (`{"auths": {"127.0.0.1:PORT": {"auth": base64("USER:PW")}}}`) and returns its path.
    pub fn auth_file(&self, dir: &Path, user: &str, password: &str) -> PathBuf {
        let path = dir.join("auth.json");
        std::fs::write(&path, auth_json(&self.host(), user, password)).unwrap();
        path
    }

    /// skopeo's flags to reach this registry for one side: `prefix` is `""` (inspect,
    /// delete), `"src-"` or `"dest-"` (copy). Plain: `--PREFIXtls-verify=false`; TLS:
    /// `--PREFIXcert-dir DIR`; with auth also `--PREFIXcreds USER:PW`. podman pull/push take
    /// the same flags with prefix `""`.
    pub fn skopeo_args(&self, prefix: &str) -> Vec<String> {
        let mut v = Vec::new();
        if self.kind.tls() {
            v.push(format!("--{prefix}cert-dir"));
            v.push(self.cert_dir().display().to_string());
        } else {
            v.push(format!("--{prefix}tls-verify=false"));
        }
        if let Some(c) = self.creds() {
            v.push(format!("--{prefix}creds"));
            v.push(c);
        }
        v
    }

    /// The token issuer of a [`Kind::Token`] registry. Panics for other kinds.
    pub fn token_issuer(&self) -> &TokenIssuer {
        self.issuer
            .as_ref()
            .expect("only a Kind::Token registry has a token issuer")
    }

    /// Everything the registry wrote so far (its stdout and stderr: the access log and
    /// warnings).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir().join("registry.log")).unwrap_or_default()
    }

    /// The requests in the access log, in order, without the harness's own readiness polls.
    /// Waits until the log stops growing (the
    /// registry writes a line as it finishes a response) for at most a second.
    pub fn requests(&self) -> Vec<Logged> {
        let path = self.dir().join("registry.log");
        let size = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let start = Instant::now();
        let mut last = size();
        while start.elapsed() < Duration::from_secs(1) {
            std::thread::sleep(Duration::from_millis(30));
            let now = size();
            if now == last {
                break;
            }
            last = now;
        }
        self.log()
            .lines()
            .filter_map(parse_access_line)
            .filter(|l| !l.uri.starts_with("/v2/?binslim-ready="))
            .collect()
    }

    /// The number of upload-session requests (`POST`, `PATCH`, `PUT` under
    /// `/v2/<name>/blobs/uploads/`), cross-repository mount POSTs included.
    pub fn blob_uploads(&self) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.is_blob_upload())
            .count()
    }

    /// The number of `PUT`s that complete a blob upload (each stores one blob).
    pub fn blob_puts(&self) -> usize {
        self.requests().iter().filter(|r| r.is_blob_put()).count()
    }

    /// The number of manifest `PUT`s.
    pub fn manifest_puts(&self) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.is_manifest_put())
            .count()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The registry's configuration (YAML, flow style) for `kind` in `dir` on `port`.
fn config(kind: &Kind, dir: &Path, port: u16, realm: Option<&str>) -> String {
    let d = dir.display();
    let mut http = format!("{{addr: 127.0.0.1:{port}, secret: binslim-test-secret");
    if kind.tls() {
        http += &format!(", tls: {{certificate: {d}/cert.pem, key: {d}/key.pem}}");
    }
    http += "}";
    let auth = match kind {
        Kind::Plain | Kind::Tls => String::new(),
        Kind::TlsHtpasswd { .. } => {
            format!("auth: {{htpasswd: {{realm: binslim-test, path: {d}/htpasswd}}}}\n")
        }
        Kind::Token { .. } => format!(
            "auth: {{token: {{realm: \"{}\", service: {TOKEN_SERVICE}, \
             issuer: {TOKEN_ISSUER}, rootcertbundle: {d}/token-cert.pem}}}}\n",
            realm.expect("a token registry has a realm")
        ),
    };
    format!(
        "version: 0.1\n\
         log: {{level: warn, accesslog: {{disabled: false}}}}\n\
         storage: {{filesystem: {{rootdirectory: {d}/data}}, delete: {{enabled: true}}}}\n\
         http: {http}\n\
         {auth}"
    )
}

/// `openssl req -x509`: a self-signed RSA certificate `cert` with key `key` in `dir` for
/// `cn`, with the subjectAltName `san` when given.
pub fn self_signed(dir: &Path, cert: &str, key: &str, cn: &str, san: Option<&str>) {
    let mut c = Command::new("openssl");
    c.current_dir(dir)
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .arg("-subj")
        .arg(format!("/CN={cn}"));
    if let Some(san) = san {
        c.arg("-addext").arg(format!("subjectAltName={san}"));
    }
    let out = c
        .args(["-keyout", key, "-out", cert])
        .output()
        .expect("run openssl req");
    assert!(out.status.success(), "openssl req -x509: {out:?}");
}

/// A port that was free on 127.0.0.1 a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `{"auths": {HOST: {"auth": base64("USER:PW")}}}`.
pub fn auth_json(host: &str, user: &str, password: &str) -> String {
    let auth = base64(format!("{user}:{password}").as_bytes(), STD);
    serde_json::json!({"auths": {host: {"auth": auth}}}).to_string()
}

/// One line of the combined log format
/// (`127.0.0.1 - - [date] "PUT /v2/app/manifests/v1 HTTP/1.1" 201 0 "" "skopeo/1.9.3"`).
fn parse_access_line(line: &str) -> Option<Logged> {
    if line.starts_with("time=") {
        return None;
    }
    let (_, rest) = line.split_once("] \"")?;
    let (request, rest) = rest.split_once("\" ")?;
    let mut parts = request.split(' ');
    let method = parts.next()?.to_string();
    let uri = parts.next()?.to_string();
    parts.next()?.strip_prefix("HTTP/")?;
    let status = rest.split(' ').next()?.parse().ok()?;
    Some(Logged {
        method,
        uri,
        status,
    })
}

/// The standard base64 alphabet (`+/`, padded): HTTP Basic, auth files, x5c.
pub const STD: (&[u8; 64], bool) = (
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    true,
);
/// The URL-safe alphabet without padding (`-_`): JWT parts.
pub const URL: (&[u8; 64], bool) = (
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
    false,
);

/// Base64 of `data` in `alphabet` ([`STD`] or [`URL`]).
pub fn base64(data: &[u8], (alphabet, pad): (&[u8; 64], bool)) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..4 {
            if i < chars {
                out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

/// The `service` a [`Kind::Token`] registry names in its challenge (the tokens' `aud`).
pub const TOKEN_SERVICE: &str = "binslim-test-registry";
/// The `iss` of the test tokens, which the registry requires.
pub const TOKEN_ISSUER: &str = "binslim-test-issuer";

/// One request the token issuer answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// The `service` query parameter.
    pub service: String,
    /// The `scope` query parameters (`repository:app:pull,push`), in order.
    pub scopes: Vec<String>,
    /// The `account` query parameter, when the client sent one.
    pub account: Option<String>,
    /// True when the Basic credentials were right (a token was given); false: 401.
    pub granted: bool,
}

/// A test token issuer: plain HTTP/1.1 on 127.0.0.1, answering `GET /token?service=..&scope=..`
/// with Basic auth against one user (401 otherwise) by `{"token", "access_token",
/// "expires_in"}`: an RS256 JWT signed by `openssl dgst -sha256 -sign` with a key whose
/// self-signed certificate is the registry's `rootcertbundle` and rides in the JWT's `x5c`.
/// The token grants every action of every scope asked for. Stops on Drop.
pub struct TokenIssuer {
    server: Server,
    requests: Arc<Mutex<Vec<TokenRequest>>>,
}

/// What the issuer's thread needs.
struct Signer {
    user: String,
    basic: String,
    key: PathBuf,
    x5c: String,
    requests: Arc<Mutex<Vec<TokenRequest>>>,
    serial: AtomicUsize,
}

impl TokenIssuer {
    /// Makes `DIR/token-cert.pem` and `DIR/token-key.pem` and starts answering for `user`
    /// and `password`.
    pub fn start(dir: &Path, user: &str, password: &str) -> TokenIssuer {
        self_signed(dir, "token-cert.pem", "token-key.pem", TOKEN_ISSUER, None);
        let der = Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(dir.join("token-cert.pem"))
            .output()
            .expect("run openssl x509");
        assert!(der.status.success(), "openssl x509 -outform DER: {der:?}");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let signer = Arc::new(Signer {
            user: user.into(),
            basic: format!(
                "Basic {}",
                base64(format!("{user}:{password}").as_bytes(), STD)
            ),
            key: dir.join("token-key.pem"),
            x5c: base64(&der.stdout, STD),
            requests: requests.clone(),
            serial: AtomicUsize::new(0),
        });
        let server = Server::start(move |stream| signer.answer(stream));
        TokenIssuer { server, requests }
    }

    /// The port it listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.server.port
    }

    /// `http://127.0.0.1:PORT/token`.
    pub fn realm(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.server.port)
    }

    /// `GET /token?service=..&scope=SCOPE` sent straight to the issuer, with Basic auth when
    /// `creds` are given: the status and the body.
    pub fn fetch(&self, scope: &str, creds: Option<(&str, &str)>) -> (u16, String) {
        let mut s = TcpStream::connect(("127.0.0.1", self.server.port)).unwrap();
        let mut req = format!(
            "GET /token?service={TOKEN_SERVICE}&scope={} HTTP/1.1\r\nHost: 127.0.0.1\r\n",
            scope
                .replace(':', "%3A")
                .replace(',', "%2C")
                .replace('/', "%2F")
        );
        if let Some((u, p)) = creds {
            req += &format!(
                "Authorization: Basic {}\r\n",
                base64(format!("{u}:{p}").as_bytes(), STD)
            );
        }
        req += "Connection: close\r\n\r\n";
        s.write_all(req.as_bytes()).unwrap();
        let mut v = String::new();
        s.read_to_string(&mut v).unwrap();
        let (head, body) = v.split_once("\r\n\r\n").unwrap();
        (head[9..12].parse().unwrap(), body.to_string())
    }

    /// The requests answered so far, in order.
    pub fn requests(&self) -> Vec<TokenRequest> {
        self.requests.lock().unwrap().clone()
    }
}

impl Signer {
    /// Answers one connection (one request, then `Connection: close`).
    fn answer(&self, mut stream: TcpStream) {
        let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
        let Some(head) = read_head(&mut reader) else {
            return;
        };
        let query = head.target.split_once('?').map_or("", |(_, q)| q);
        let params = parse_query(query);
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let request = TokenRequest {
            service: get("service").unwrap_or_default(),
            scopes: params
                .iter()
                .filter(|(n, _)| n == "scope")
                .map(|(_, v)| v.clone())
                .collect(),
            account: get("account"),
            granted: head.method == "GET"
                && head.target.starts_with("/token")
                && head.header("authorization") == Some(self.basic.as_str()),
        };
        let response = if request.granted {
            let jwt = self.jwt(&request);
            let body = serde_json::json!({"token": jwt, "access_token": jwt, "expires_in": 300});
            respond(200, "OK", "application/json", &body.to_string())
        } else {
            let body = r#"{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}"#;
            respond(401, "Unauthorized", "application/json", body)
        };
        self.requests.lock().unwrap().push(request);
        let _ = stream.write_all(response.as_bytes());
    }

    /// An RS256 JWT for `request`, signed by openssl.
    fn jwt(&self, request: &TokenRequest) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let access: Vec<serde_json::Value> = request
            .scopes
            .iter()
            .flat_map(|s| s.split(' '))
            .filter_map(|scope| {
                let (kind, rest) = scope.split_once(':')?;
                let (name, actions) = rest.rsplit_once(':')?;
                let actions: Vec<&str> = actions.split(',').collect();
                Some(serde_json::json!({"type": kind, "name": name, "actions": actions}))
            })
            .collect();
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5c": [self.x5c]});
        let serial = self.serial.fetch_add(1, Ordering::Relaxed);
        let claims = serde_json::json!({
            "iss": TOKEN_ISSUER,
            "sub": self.user,
            "aud": request.service,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": format!("binslim-test-{serial}-{now}"),
            "access": access,
        });
        let input = format!(
            "{}.{}",
            base64(header.to_string().as_bytes(), URL),
            base64(claims.to_string().as_bytes(), URL)
        );
        let mut c = Command::new("openssl")
            .args(["dgst", "-sha256", "-sign"])
            .arg(&self.key)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run openssl dgst -sign");
        c.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "openssl dgst -sign: {out:?}");
        format!("{input}.{}", base64(&out.stdout, URL))
    }
}

/// A loopback HTTP server for test code: a thread accepting on 127.0.0.1:0 and handing each
/// connection to `handle` on a thread of its own. Stops accepting on Drop.
struct Server {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(handle: impl Fn(TcpStream) + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = Arc::new(handle);
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                let handle = handle.clone();
                std::thread::spawn(move || handle(stream));
            }
        });
        Server {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The request line and headers of one HTTP/1.x request.
struct Head {
    method: String,
    target: String,
    /// The request line and header lines as received (without the blank line).
    lines: Vec<String>,
}

impl Head {
    /// The value of the first header `name` (case-insensitive).
    fn header(&self, name: &str) -> Option<&str> {
        self.lines[1..].iter().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// Reads one request or response head (up to the blank line); `None` at EOF or on garbage.
fn read_head(r: &mut impl BufRead) -> Option<Head> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        if line.is_empty() {
            break;
        }
        lines.push(line);
        if lines.len() > 200 {
            return None;
        }
    }
    let mut first = lines.first()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    Some(Head {
        method,
        target,
        lines,
    })
}

/// A whole response with a body and `Connection: close`.
fn respond(status: u16, reason: &str, content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// `a=1&b=x%3Ay` as decoded (name, value) pairs, in order.
fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(n), percent_decode(v))
        })
        .collect()
}

/// `%XX` and `+` decoded.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len()
                && s.is_char_boundary(i + 3)
                && u8::from_str_radix(&s[i + 1..i + 3], 16).is_ok() =>
            {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What a [`Proxy`] does to the requests it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Forwards everything.
    None,
    /// Answers 500 to the first `times` blob upload requests (`POST`, `PATCH`, `PUT` under
    /// `/blobs/uploads/`) that match, then forwards them. With `digest_prefix` (e.g.
    /// `"sha256:a12d"`) only those whose `digest=` query parameter starts with it match (the
    /// `PUT` that completes an upload, or a monolithic `POST`); with `None` every one does.
    Status500OnBlobUpload {
        /// The start of the digest to fail, or any upload.
        digest_prefix: Option<String>,
        /// How many matching requests are failed before the proxy forwards them.
        times: usize,
    },
    /// Answers 500 to every request whose target (path and query) contains `path_contains`.
    Status500Always {
        /// The text to look for in the request target (e.g. `"/manifests/"`).
        path_contains: String,
    },
}

impl Fault {
    /// True when `method target` is a request this fault fails (and counts it down).
    fn hits(&mut self, method: &str, target: &str) -> bool {
        match self {
            Fault::None => false,
            Fault::Status500Always { path_contains } => target.contains(path_contains.as_str()),
            Fault::Status500OnBlobUpload {
                digest_prefix,
                times,
            } => {
                let upload = matches!(method, "POST" | "PATCH" | "PUT")
                    && target.contains("/blobs/uploads/");
                let digest = target
                    .split_once('?')
                    .map(|(_, q)| parse_query(q))
                    .unwrap_or_default()
                    .into_iter()
                    .find(|(n, _)| n == "digest")
                    .map(|(_, v)| v);
                let matched = upload
                    && match digest_prefix {
                        None => true,
                        Some(p) => digest.is_some_and(|d| d.starts_with(p.as_str())),
                    };
                if matched && *times > 0 {
                    *times -= 1;
                    true
                } else {
                    false
                }
            }
        }
    }
}

/// What a proxy has seen and done.
#[derive(Default)]
struct ProxyState {
    fault: Option<Fault>,
    requests: Vec<(String, String)>,
    failed: Vec<(String, String)>,
}

/// A plain-HTTP proxy on 127.0.0.1 in front of a registry (`upstream`, plain HTTP): it
/// records every request, fails those its [`Fault`] names with a 500, and forwards the
/// others, one upstream connection per request, bodies streamed (Content-Length or chunked),
/// `Connection: close` to the client. Stops accepting on Drop.
pub struct Proxy {
    server: Server,
    state: Arc<Mutex<ProxyState>>,
}

impl Proxy {
    /// Starts a proxy to `upstream_host` (`127.0.0.1:PORT` of a [`Kind::Plain`] registry).
    pub fn start(upstream_host: &str, fault: Fault) -> Proxy {
        let state = Arc::new(Mutex::new(ProxyState {
            fault: Some(fault),
            ..ProxyState::default()
        }));
        let upstream = upstream_host.to_string();
        let s = state.clone();
        let server = Server::start(move |client| {
            // A broken connection ends the exchange; the client sees it as one.
            let _ = forward(client, &upstream, &s);
        });
        Proxy { server, state }
    }

    /// `127.0.0.1:PORT` of the proxy: push and pull here (plain HTTP, like the registry).
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.server.port)
    }

    /// `127.0.0.1:PORT/REPO_TAG` through the proxy.
    pub fn reference(&self, repo_tag: &str) -> String {
        format!("{}/{repo_tag}", self.host())
    }

    /// `docker://127.0.0.1:PORT/REPO_TAG` through the proxy, for skopeo.
    pub fn docker_ref(&self, repo_tag: &str) -> String {
        format!("docker://{}", self.reference(repo_tag))
    }

    /// Every request received, in order: (method, target with its query), failed ones too.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The requests answered with the fault's 500 instead of being forwarded.
    pub fn failed(&self) -> Vec<(String, String)> {
        self.state.lock().unwrap().failed.clone()
    }

    /// Replaces the fault (e.g. [`Fault::None`] after a failed push).
    pub fn set_fault(&self, fault: Fault) {
        self.state.lock().unwrap().fault = Some(fault);
    }

    /// The number of blob upload requests received (`POST`, `PATCH`, `PUT` under
    /// `/blobs/uploads/`), failed ones too.
    pub fn blob_uploads(&self) -> usize {
        self.requests()
            .iter()
            .filter(|(m, t)| {
                matches!(m.as_str(), "POST" | "PATCH" | "PUT") && t.contains("/blobs/uploads/")
            })
            .count()
    }

    /// The number of manifest `PUT`s received, failed ones too.
    pub fn manifest_puts(&self) -> usize {
        self.requests()
            .iter()
            .filter(|(m, t)| m == "PUT" && t.contains("/manifests/"))
            .count()
    }
}

/// Carries one request from `client` to `upstream` and its response back (or fails it).
fn forward(client: TcpStream, upstream: &str, state: &Mutex<ProxyState>) -> std::io::Result<()> {
    let mut from_client = std::io::BufReader::new(client.try_clone()?);
    let mut to_client = client;
    let Some(head) = read_head(&mut from_client) else {
        return Ok(());
    };
    let fail = {
        let mut st = state.lock().unwrap();
        st.requests.push((head.method.clone(), head.target.clone()));
        let fail = st
            .fault
            .as_mut()
            .is_some_and(|f| f.hits(&head.method, &head.target));
        if fail {
            st.failed.push((head.method.clone(), head.target.clone()));
        }
        fail
    };
    if head
        .header("expect")
        .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
    {
        to_client.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    if fail {
        copy_body(&head, &mut from_client, &mut std::io::sink())?;
        let body =
            r#"{"errors":[{"code":"UNKNOWN","message":"fault injected by the test proxy"}]}"#;
        to_client.write_all(
            respond(500, "Internal Server Error", "application/json", body).as_bytes(),
        )?;
        return Ok(());
    }
    let mut up = TcpStream::connect(upstream)?;
    let mut out = String::new();
    out += &head.lines[0];
    out += "\r\n";
    for line in &head.lines[1..] {
        let name = line.split(':').next().unwrap_or("").trim();
        if !is_hop_header(name) {
            out += line;
            out += "\r\n";
        }
    }
    out += "Connection: close\r\n\r\n";
    up.write_all(out.as_bytes())?;
    copy_body(&head, &mut from_client, &mut up)?;
    up.flush()?;
    // The response: its head with Connection: close, then everything until upstream closes.
    let mut from_up = std::io::BufReader::new(up);
    let Some(resp) = read_head(&mut from_up) else {
        return Ok(());
    };
    let mut out = String::new();
    out += &resp.lines[0];
    out += "\r\n";
    for line in &resp.lines[1..] {
        let name = line.split(':').next().unwrap_or("").trim();
        if !is_hop_header(name) {
            out += line;
            out += "\r\n";
        }
    }
    out += "Connection: close\r\n\r\n";
    to_client.write_all(out.as_bytes())?;
    std::io::copy(&mut from_up, &mut to_client)?;
    to_client.flush()?;
    let _ = to_client.shutdown(std::net::Shutdown::Both);
    Ok(())
}

/// Headers of one connection that a proxy does not pass on (it sets `Connection: close`).
fn is_hop_header(name: &str) -> bool {
    ["connection", "keep-alive", "proxy-connection", "expect"]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
}

/// Copies the body of the request `head` from `r` to `w` as it comes: `Content-Length`
/// bytes, or the chunked encoding as is, up to its last chunk and trailer.
fn copy_body(head: &Head, r: &mut impl BufRead, w: &mut impl Write) -> std::io::Result<()> {
    let chunked = head
        .header("transfer-encoding")
        .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"));
    if !chunked {
        let len: u64 = head
            .header("content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        let copied = std::io::copy(&mut r.take(len), w)?;
        if copied != len {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        return Ok(());
    }
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        w.write_all(line.as_bytes())?;
        let size = line.trim_end().split(';').next().unwrap_or("");
        let size = u64::from_str_radix(size.trim(), 16)
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidData))?;
        if size == 0 {
            // Trailer lines, then the blank line.
            loop {
                let mut t = String::new();
                if r.read_line(&mut t)? == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                w.write_all(t.as_bytes())?;
                if t.trim_end().is_empty() {
                    return Ok(());
                }
            }
        }
        // The chunk's data and its CRLF.
        let copied = std::io::copy(&mut r.take(size + 2), w)?;
        if copied != size + 2 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
}
