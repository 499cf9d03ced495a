//! A real OCI distribution registry for the tests: Debian's `docker-registry` (distribution
//! 2.8) started on 127.0.0.1 with its own temporary directory, configuration and storage, and
//! killed on Drop (see ../shared/CONTAINERS.md, "A real registry on loopback").
//!
//! Kinds: plain HTTP, TLS with a self-signed certificate made by openssl, TLS with a bcrypt
//! htpasswd file made by `htpasswd`. The registry logs every request (its access log, in the
//! combined log format), so tests count uploads from the registry's own word.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
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
}

impl Kind {
    /// [`Kind::TlsHtpasswd`] for `user` and `password`.
    pub fn tls_htpasswd(user: &str, password: &str) -> Kind {
        Kind::TlsHtpasswd {
            user: user.into(),
            password: password.into(),
        }
    }

    /// The user and password of a kind with auth.
    pub fn creds(&self) -> Option<(&str, &str)> {
        match self {
            Kind::Plain | Kind::Tls => None,
            Kind::TlsHtpasswd { user, password } => Some((user, password)),
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
        if let Some((user, password)) = kind.creds() {
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
            std::fs::write(d.join("config.yml"), config(&kind, d, port)).unwrap();
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
            };
            match reg.wait_ready() {
                Ok(()) => return Some(reg),
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
    /// `Err(log)` for the last two.
    fn wait_ready(&mut self) -> Result<(), String> {
        let start = Instant::now();
        while start.elapsed() < READY_TIMEOUT {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Err(format!("(exited: {status})\n{}", self.log()));
            }
            if matches!(self.ping(), Some(200 | 401)) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(self.log())
    }

    /// The status of one `GET /v2/` (over TLS through `openssl s_client`, which also checks
    /// the certificate), `None` when nothing answers yet.
    fn ping(&self) -> Option<u16> {
        let request = format!("GET /v2/ HTTP/1.0\r\nHost: {}\r\n\r\n", self.host());
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
        let head = String::from_utf8_lossy(&response);
        head.strip_prefix("HTTP/1.")?.get(2..5)?.parse().ok()
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

    /// Everything the registry wrote so far (its stdout and stderr: the access log and
    /// warnings).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir().join("registry.log")).unwrap_or_default()
    }

    /// The requests in the access log, in order. Waits until the log stops growing (the
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
        self.log().lines().filter_map(parse_access_line).collect()
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
fn config(kind: &Kind, dir: &Path, port: u16) -> String {
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
