//! Credentials the way podman and docker users already have them, and the registry's
//! `WWW-Authenticate` challenge.
//!
//! Files are read in podman's order: `$REGISTRY_AUTH_FILE`,
//! `$XDG_RUNTIME_DIR/containers/auth.json`, `~/.config/containers/auth.json`,
//! `$DOCKER_CONFIG/config.json`, `~/.docker/config.json`. In each, `credHelpers` for the host
//! first, then an `auths` entry (keyed `host[:port]`, or a URL naming it) with `auth`
//! (`base64(user:password)`), then `credsStore`. A helper is `docker-credential-NAME get`
//! with the host on stdin. The first file that knows the host wins. Credentials are never
//! printed: their `Debug` is redacted and no error carries them.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::error::RegistryError;
use super::reference::DOCKER_HUB;

/// A user name and password (or token) for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password or token.
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials(<redacted>)")
    }
}

impl Credentials {
    /// The value of a `Authorization: Basic ...` header.
    pub fn basic_header(&self) -> String {
        format!(
            "Basic {}",
            base64_encode(format!("{}:{}", self.username, self.password).as_bytes())
        )
    }
}

/// The credential files to read, in podman's order, from the environment.
pub fn auth_files() -> Vec<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let home = env("HOME");
    let mut files = Vec::new();
    files.extend(env("REGISTRY_AUTH_FILE"));
    files.extend(env("XDG_RUNTIME_DIR").map(|d| d.join("containers/auth.json")));
    files.extend(
        home.as_ref()
            .map(|h| h.join(".config/containers/auth.json")),
    );
    files.extend(env("DOCKER_CONFIG").map(|d| d.join("config.json")));
    files.extend(home.as_ref().map(|h| h.join(".docker/config.json")));
    files
}

/// The credentials for `registry` (`host[:port]`) from the first file (of
/// [`auth_files`]) that has them; `None` when none does.
pub fn lookup(registry: &str) -> Result<Option<Credentials>, RegistryError> {
    for path in auth_files() {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(RegistryError::AuthFile {
                    registry: registry.to_string(),
                    path,
                    detail: e.to_string(),
                });
            }
        };
        if let Some(c) = lookup_in(registry, &path, &text)? {
            return Ok(Some(c));
        }
    }
    Ok(None)
}

/// The credentials for `registry` in one file's text.
fn lookup_in(
    registry: &str,
    path: &Path,
    text: &str,
) -> Result<Option<Credentials>, RegistryError> {
    let bad = |detail: &str| RegistryError::AuthFile {
        registry: registry.to_string(),
        path: path.to_path_buf(),
        detail: detail.to_string(),
    };
    let doc: serde_json::Value =
        serde_json::from_str(text).map_err(|_| bad("not a JSON object of auths"))?;
    if let Some(helpers) = doc.get("credHelpers").and_then(|h| h.as_object()) {
        for (key, name) in helpers {
            if key_matches(key, registry)
                && let Some(name) = name.as_str()
            {
                return run_helper(registry, name);
            }
        }
    }
    if let Some(auths) = doc.get("auths").and_then(|a| a.as_object()) {
        for (key, entry) in auths {
            if !key_matches(key, registry) {
                continue;
            }
            let Some(auth) = entry
                .get("auth")
                .and_then(|a| a.as_str())
                .filter(|a| !a.is_empty())
            else {
                continue;
            };
            let decoded =
                base64_decode(auth).ok_or_else(|| bad("an 'auth' entry is not base64"))?;
            let decoded =
                String::from_utf8(decoded).map_err(|_| bad("an 'auth' entry is not text"))?;
            let (user, pw) = decoded
                .split_once(':')
                .ok_or_else(|| bad("an 'auth' entry is not base64(user:password)"))?;
            return Ok(Some(Credentials {
                username: user.to_string(),
                password: pw.to_string(),
            }));
        }
    }
    if let Some(store) = doc
        .get("credsStore")
        .and_then(|s| s.as_str())
        .filter(|s| !s.is_empty())
    {
        return run_helper(registry, store);
    }
    Ok(None)
}

/// True when an `auths` or `credHelpers` key names `registry`: `host[:port]`, or a URL
/// (`https://host[:port][/path]`); Docker Hub's keys (`https://index.docker.io/v1/`,
/// `docker.io`) name its API host.
pub fn key_matches(key: &str, registry: &str) -> bool {
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let k = k.split('/').next().unwrap_or(k);
    let hub = |h: &str| matches!(h, "docker.io" | "index.docker.io" | DOCKER_HUB);
    k == registry || (hub(k) && hub(registry))
}

/// Runs `docker-credential-NAME get` with the registry on stdin.
fn run_helper(registry: &str, name: &str) -> Result<Option<Credentials>, RegistryError> {
    let fail = |detail: String| RegistryError::CredentialHelper {
        registry: registry.to_string(),
        helper: name.to_string(),
        detail,
    };
    let mut child = Command::new(format!("docker-credential-{name}"))
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| fail(format!("cannot run it: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading is judged by its exit status below.
        let _ = stdin.write_all(registry.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| fail(format!("cannot run it: {e}")))?;
    if !out.status.success() {
        // "credentials not found in native keychain" is how helpers say they have none.
        if String::from_utf8_lossy(&out.stdout).contains("credentials not found") {
            return Ok(None);
        }
        return Err(fail(format!("it failed ({})", out.status)));
    }
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|_| fail("its output is not JSON with Username and Secret".into()))?;
    let field = |k: &str| doc.get(k).and_then(|v| v.as_str()).map(str::to_string);
    match (field("Username"), field("Secret")) {
        (Some(username), Some(password)) if !password.is_empty() => {
            Ok(Some(Credentials { username, password }))
        }
        _ => Ok(None),
    }
}

/// A `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// `Basic realm=...`.
    Basic,
    /// `Bearer realm=...,service=...,scope=...`: a token from `realm`.
    Bearer {
        /// The token endpoint.
        realm: String,
        /// The `service` parameter, when given.
        service: Option<String>,
        /// The `scope` the registry asked for, when given.
        scope: Option<String>,
    },
}

/// Why a challenge could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChallengeError {
    /// A scheme other than Basic or Bearer (the scheme is given).
    Unsupported(String),
    /// A Bearer challenge without a realm, or one that does not parse.
    Malformed,
}

/// Parses a `WWW-Authenticate` value: a scheme and `key=value` or `key="quoted value"`
/// parameters separated by commas.
pub fn parse_challenge(value: &str) -> Result<Challenge, ChallengeError> {
    let value = value.trim();
    let (scheme, params) = value.split_once(' ').unwrap_or((value, ""));
    let params = parse_params(params).ok_or(ChallengeError::Malformed)?;
    let get = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.clone())
    };
    if scheme.eq_ignore_ascii_case("basic") {
        Ok(Challenge::Basic)
    } else if scheme.eq_ignore_ascii_case("bearer") {
        Ok(Challenge::Bearer {
            realm: get("realm").ok_or(ChallengeError::Malformed)?,
            service: get("service"),
            scope: get("scope"),
        })
    } else {
        Err(ChallengeError::Unsupported(scheme.to_string()))
    }
}

/// `k=v, k2="v 2"` → pairs; `None` when it does not parse.
fn parse_params(s: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Some(out);
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') || key.is_empty() {
            return None;
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut val = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => val.push(chars.next()?),
                    c => val.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                val.push(c);
                chars.next();
            }
            val = val.trim_end().to_string();
        }
        out.push((key, val));
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64, padding optional, whitespace not allowed; `None` when it is not base64.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = B64.iter().position(|&b| b == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (bits < 6).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        assert_eq!(
            parse_challenge(r#"Basic realm="test""#),
            Ok(Challenge::Basic)
        );
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull""#
            ),
            Ok(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/alpine:pull".into()),
            })
        );
        assert_eq!(
            parse_challenge(r#"bearer realm=http://127.0.0.1:1/t , error="insufficient_scope""#),
            Ok(Challenge::Bearer {
                realm: "http://127.0.0.1:1/t".into(),
                service: None,
                scope: None
            })
        );
        assert_eq!(
            parse_challenge(r#"Bearer realm="a\"b",scope="x,y""#),
            Ok(Challenge::Bearer {
                realm: "a\"b".into(),
                service: None,
                scope: Some("x,y".into())
            })
        );
        assert_eq!(
            parse_challenge("Bearer service=x"),
            Err(ChallengeError::Malformed)
        );
        assert_eq!(
            parse_challenge(r#"Bearer realm="open"#),
            Err(ChallengeError::Malformed)
        );
        assert_eq!(
            parse_challenge("Negotiate abc=1"),
            Err(ChallengeError::Unsupported("Negotiate".into()))
        );
    }

    #[test]
    fn base64_round_trip() {
        for s in [
            "",
            "f",
            "fo",
            "foo",
            "foob",
            "fooba",
            "foobar",
            "user:pa:ss",
        ] {
            let e = base64_encode(s.as_bytes());
            assert_eq!(base64_decode(&e).unwrap(), s.as_bytes(), "{s}");
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_decode("Zm8"), Some(b"fo".to_vec()));
        assert_eq!(base64_decode("Z"), None);
        assert_eq!(base64_decode("Zm9v!"), None);
    }

    #[test]
    fn auth_file_entries() {
        let p = Path::new("auth.json");
        let text = format!(
            r#"{{"auths": {{"https://127.0.0.1:5000/v1/": {{"auth": "{}"}}, "other:1": {{"auth": "{}"}}}}}}"#,
            base64_encode(b"alice:s3:cret"),
            base64_encode(b"bob:x")
        );
        let c = lookup_in("127.0.0.1:5000", p, &text).unwrap().unwrap();
        assert_eq!(
            (c.username.as_str(), c.password.as_str()),
            ("alice", "s3:cret")
        );
        assert_eq!(format!("{c:?}"), "Credentials(<redacted>)");
        assert!(lookup_in("127.0.0.1:5001", p, &text).unwrap().is_none());
        let hub = format!(
            r#"{{"auths": {{"https://index.docker.io/v1/": {{"auth": "{}"}}}}}}"#,
            base64_encode(b"u:p")
        );
        assert!(lookup_in(DOCKER_HUB, p, &hub).unwrap().is_some());
        let bad = lookup_in("h", p, r#"{"auths": {"h": {"auth": "!!"}}}"#).unwrap_err();
        assert!(bad.to_string().contains("not base64"), "{bad}");
        assert!(!bad.to_string().contains("!!"));
    }
}
