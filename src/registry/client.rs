//! One registry over HTTPS (or plain HTTP with `--insecure`): the `/v2/` ping and its
//! challenge, Basic and Bearer auth (tokens cached per scope), blobs and manifests, bounded
//! retries, every digest checked.
//!
//! Trust: see [`super::tls`] (the system's CA bundle, `SSL_CERT_FILE`, `SSL_CERT_DIR`, the
//! certs.d directories podman and docker read).
//! Bodies travel as stored: no `Accept-Encoding` is sent, nothing is decompressed.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Mutex;
use std::time::Duration;

use sha2::{Digest as _, Sha256, Sha512};
use ureq::http::{self, Method};
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{ConnectProxyConnector, Connector, TcpConnector};

use super::auth::{self, Challenge, ChallengeError, Credentials};
use super::error::{RegistryError, Step};
use super::tls;
use super::{Blob, BlobData, Document};

/// How to reach a registry.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Allow plain HTTP (tried after HTTPS fails) and TLS without certificate verification.
    pub insecure: bool,
    /// Pushing: repositories of the same registry to mount a missing blob from (a
    /// cross-repository mount, `POST ?mount=&from=`), tried in order before uploading it.
    pub mount_from: Vec<String>,
}

/// A manifest or index as the registry holds it.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// Its media type (the `Content-Type` the registry sent, else the document's own
    /// `mediaType`).
    pub media_type: String,
    /// Its exact bytes.
    pub bytes: Vec<u8>,
    /// `sha256:<hex>` of `bytes` (checked).
    pub digest: String,
}

/// The manifest and index media types binslim reads.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
     application/vnd.oci.image.manifest.v1+json, \
     application/vnd.docker.distribution.manifest.list.v2+json, \
     application/vnd.docker.distribution.manifest.v2+json";

/// Manifests larger than this are refused (distribution itself caps them at 4 MiB).
const MANIFEST_LIMIT: u64 = 4 << 20;
/// Tries of one request (or one whole upload) on 5xx, 429 and connection resets.
const TRIES: u32 = 4;
/// The first back-off; doubled on every retry.
const BACKOFF: Duration = Duration::from_millis(100);
/// Redirects followed for one blob.
const MAX_REDIRECTS: usize = 5;

/// The access a request needs, which is the token scope asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Pull,
    Push,
}

impl Access {
    fn as_str(self) -> &'static str {
        match self {
            Access::Pull => "pull",
            Access::Push => "pull,push",
        }
    }
}

/// What the ping learned: where the API is and how it wants to be asked.
#[derive(Debug, Clone)]
struct Pinged {
    /// `https://host[:port]` or `http://host[:port]`.
    base: String,
    /// `None` when `/v2/` answered 200 without credentials.
    challenge: Option<Challenge>,
}

/// A request body, re-readable for every try.
enum ReqBody<'a> {
    None,
    Bytes(&'a [u8]),
    Blob(&'a Blob),
}

/// A client for one registry. Auth is negotiated on first use and cached per scope.
pub struct Client {
    registry: String,
    opts: Options,
    agent: ureq::Agent,
    pinged: Mutex<Option<Pinged>>,
    creds: Mutex<Option<Option<Credentials>>>,
    tokens: Mutex<HashMap<String, String>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("registry", &self.registry)
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `registry` (`host[:port]`); reads the CA files now, contacts nothing.
    pub fn new(registry: &str, opts: &Options) -> Result<Client, RegistryError> {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .accept_encoding(ureq::config::AutoHeaderValue::None)
            .user_agent(concat!("binslim/", env!("CARGO_PKG_VERSION")))
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_recv_response(Some(Duration::from_secs(300)))
            .build();
        let connector =
            ().chain(ConnectProxyConnector::default())
                .chain(TcpConnector::default())
                .chain(tls::TlsConnector::new(tls::client_config(
                    registry,
                    opts.insecure,
                )));
        let agent = ureq::Agent::with_parts(config, connector, DefaultResolver::default());
        Ok(Client {
            registry: registry.to_string(),
            opts: opts.clone(),
            agent,
            pinged: Mutex::new(None),
            creds: Mutex::new(None),
            tokens: Mutex::new(HashMap::new()),
        })
    }

    /// `GET /v2/` and its challenge; done once, by the other calls lazily. Public so that a
    /// caller can fail early at the "ping" step.
    pub fn ping(&self) -> Result<(), RegistryError> {
        self.pinged().map(|_| ())
    }

    /// `HEAD` of a blob: true when the repository has it.
    pub fn blob_exists(&self, repo: &str, digest: &str) -> Result<bool, RegistryError> {
        let path = format!("/v2/{repo}/blobs/{digest}");
        self.retry(|| {
            let r = self.request(
                Step::BlobUpload,
                repo,
                Access::Push,
                Method::HEAD,
                &path,
                &[],
                ReqBody::None,
            )?;
            match r.status().as_u16() {
                // A redirect (to a CDN) also says the registry has it.
                200 | 301 | 302 | 303 | 307 | 308 => Ok(true),
                404 => Ok(false),
                _ => Err(self.status_error(Step::BlobUpload, "HEAD", &path, r)),
            }
        })
    }

    /// A cross-repository mount (`POST ?mount=DIGEST&from=REPO`): true when mounted (201),
    /// false when the registry started an upload instead (which is cancelled).
    pub fn mount_blob(&self, repo: &str, digest: &str, from: &str) -> Result<bool, RegistryError> {
        let path = format!(
            "/v2/{repo}/blobs/uploads/?mount={}&from={}",
            query_escape(digest),
            query_escape(from)
        );
        self.retry(|| {
            let r = self.request(
                Step::BlobUpload,
                repo,
                Access::Push,
                Method::POST,
                &path,
                &[("content-length", "0".into())],
                ReqBody::None,
            )?;
            match r.status().as_u16() {
                201 => Ok(true),
                202 => {
                    if let Some(loc) = header(&r, "location") {
                        let url = self.resolve(&loc)?;
                        // Cancelling is a courtesy: an abandoned upload expires on its own.
                        let _ = self.request(
                            Step::BlobUpload,
                            repo,
                            Access::Push,
                            Method::DELETE,
                            &url,
                            &[],
                            ReqBody::None,
                        );
                    }
                    Ok(false)
                }
                _ => Err(self.status_error(Step::BlobUpload, "POST", &path, r)),
            }
        })
    }

    /// Uploads a blob monolithically (`POST`, then `PUT ?digest=`), streamed from its file
    /// range or bytes; the whole upload is retried from the start on 5xx and resets.
    pub fn upload_blob(&self, repo: &str, blob: &Blob) -> Result<(), RegistryError> {
        let start = format!("/v2/{repo}/blobs/uploads/");
        self.retry(|| {
            let r = self.request(
                Step::BlobUpload,
                repo,
                Access::Push,
                Method::POST,
                &start,
                &[("content-length", "0".into())],
                ReqBody::None,
            )?;
            if r.status().as_u16() != 202 {
                return Err(self.status_error(Step::BlobUpload, "POST", &start, r));
            }
            let loc = header(&r, "location").ok_or_else(|| {
                self.protocol(Step::BlobUpload, "an upload was started without a Location")
            })?;
            let mut url = self.resolve(&loc)?;
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str("digest=");
            url.push_str(&query_escape(&blob.digest));
            let headers = [
                ("content-type", "application/octet-stream".to_string()),
                ("content-length", blob.size.to_string()),
            ];
            let r = self.request(
                Step::BlobUpload,
                repo,
                Access::Push,
                Method::PUT,
                &url,
                &headers,
                ReqBody::Blob(blob),
            )?;
            if r.status().as_u16() != 201 {
                return Err(self.status_error(
                    Step::BlobUpload,
                    "PUT",
                    &format!("/v2/{repo}/blobs/uploads/..."),
                    r,
                ));
            }
            if let Some(d) = header(&r, "docker-content-digest")
                && d != blob.digest
            {
                return Err(RegistryError::DigestMismatch {
                    registry: self.registry.clone(),
                    step: Step::BlobUpload,
                    what: format!("the blob uploaded to {repo}"),
                    expected: blob.digest.clone(),
                    actual: d,
                });
            }
            Ok(())
        })
    }

    /// `PUT /v2/<repo>/manifests/<reference>`; returns the digest of `doc.bytes`, checked
    /// equal to the one the registry reports.
    pub fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        doc: &Document,
    ) -> Result<String, RegistryError> {
        self.put_manifest_subject(repo, reference, doc)
            .map(|(d, _)| d)
    }

    /// [`Client::put_manifest`], with the `OCI-Subject` header of the answer: a registry with
    /// the OCI 1.1 referrers API sends it when the manifest has a `subject` it indexed.
    pub fn put_manifest_subject(
        &self,
        repo: &str,
        reference: &str,
        doc: &Document,
    ) -> Result<(String, Option<String>), RegistryError> {
        let path = format!("/v2/{repo}/manifests/{reference}");
        let digest = sha256_digest(&doc.bytes);
        let headers = [
            ("content-type", doc.media_type.clone()),
            ("content-length", doc.bytes.len().to_string()),
        ];
        self.retry(|| {
            let r = self.request(
                Step::Manifest,
                repo,
                Access::Push,
                Method::PUT,
                &path,
                &headers,
                ReqBody::Bytes(&doc.bytes),
            )?;
            if r.status().as_u16() != 201 {
                return Err(self.status_error(Step::Manifest, "PUT", &path, r));
            }
            if let Some(d) = header(&r, "docker-content-digest")
                && d != digest
            {
                return Err(RegistryError::DigestMismatch {
                    registry: self.registry.clone(),
                    step: Step::Manifest,
                    what: format!("manifest {repo}:{reference}"),
                    expected: digest.clone(),
                    actual: d,
                });
            }
            Ok((digest.clone(), header(&r, "oci-subject")))
        })
    }

    /// `GET` of a manifest or index (OCI and docker media types accepted). Its digest is
    /// checked against `reference` when that is a digest, and against the registry's
    /// `Docker-Content-Digest`.
    pub fn get_manifest(&self, repo: &str, reference: &str) -> Result<Fetched, RegistryError> {
        let path = format!("/v2/{repo}/manifests/{reference}");
        let what = || {
            format!(
                "manifest {repo}{}{reference}",
                if reference.contains(':') { "@" } else { ":" }
            )
        };
        let (media_type, bytes, reported) = self.retry(|| {
            let r = self.request(
                Step::Pull,
                repo,
                Access::Pull,
                Method::GET,
                &path,
                &[("accept", MANIFEST_ACCEPT.into())],
                ReqBody::None,
            )?;
            match r.status().as_u16() {
                200 => {}
                404 => {
                    return Err(RegistryError::NotFound {
                        registry: self.registry.clone(),
                        step: Step::Pull,
                        what: what(),
                    });
                }
                _ => return Err(self.status_error(Step::Pull, "GET", &path, r)),
            }
            let content_type = header(&r, "content-type");
            let reported = header(&r, "docker-content-digest");
            let bytes = r
                .into_body()
                .with_config()
                .limit(MANIFEST_LIMIT)
                .read_to_vec()
                .map_err(|e| match e {
                    ureq::Error::BodyExceedsLimit(_) => {
                        self.protocol(Step::Pull, "a manifest is larger than 4 MiB")
                    }
                    e => self.transport(Step::Pull, e),
                })?;
            Ok((content_type, bytes, reported))
        })?;
        for expected in [
            reference.contains(':').then_some(reference),
            reported.as_deref(),
        ]
        .into_iter()
        .flatten()
        {
            let actual = digest_of(expected, &bytes)
                .ok_or_else(|| self.protocol(Step::Pull, "a digest is not sha256 or sha512"))?;
            if actual != expected {
                return Err(RegistryError::DigestMismatch {
                    registry: self.registry.clone(),
                    step: Step::Pull,
                    what: what(),
                    expected: expected.to_string(),
                    actual,
                });
            }
        }
        let media_type = media_type
            .map(|t| t.split(';').next().unwrap_or("").trim().to_string())
            .filter(|t| !t.is_empty() && t != "application/json" && t != "text/plain")
            .or_else(|| {
                serde_json::from_slice::<serde_json::Value>(&bytes)
                    .ok()
                    .and_then(|v| v.get("mediaType")?.as_str().map(str::to_string))
            })
            .unwrap_or_default();
        Ok(Fetched {
            media_type,
            digest: sha256_digest(&bytes),
            bytes,
        })
    }

    /// `GET` of a blob, following redirects (without the registry's Authorization when the
    /// host changes). The reader hashes as it goes and fails at the end on a digest or
    /// length mismatch (its error wraps a [`RegistryError`]).
    pub fn get_blob(&self, repo: &str, digest: &str) -> Result<Box<dyn Read + '_>, RegistryError> {
        let hasher = Hasher::new(digest)
            .ok_or_else(|| self.protocol(Step::Pull, "a digest is not sha256 or sha512"))?;
        let path = format!("/v2/{repo}/blobs/{digest}");
        let resp = self.retry(|| {
            let mut url = self.resolve(&path)?;
            let mut authorized = true;
            for _ in 0..=MAX_REDIRECTS {
                let r = if authorized {
                    self.request(
                        Step::Pull,
                        repo,
                        Access::Pull,
                        Method::GET,
                        &url,
                        &[],
                        ReqBody::None,
                    )?
                } else {
                    self.plain_request(Step::Pull, Method::GET, &url)?
                };
                match r.status().as_u16() {
                    200 => return Ok(r),
                    301 | 302 | 303 | 307 | 308 => {
                        let loc = header(&r, "location").ok_or_else(|| {
                            self.protocol(Step::Pull, "a redirect without a Location")
                        })?;
                        let next = join_url(&url, &loc);
                        if authorized && host_of(&next) != host_of(&url) {
                            authorized = false;
                        }
                        url = next;
                    }
                    404 => {
                        return Err(RegistryError::NotFound {
                            registry: self.registry.clone(),
                            step: Step::Pull,
                            what: format!("blob {digest} in {repo}"),
                        });
                    }
                    _ => return Err(self.status_error(Step::Pull, "GET", &path, r)),
                }
            }
            Err(self.protocol(Step::Pull, "too many redirects for a blob"))
        })?;
        let expected_len = header(&resp, "content-length").and_then(|l| l.parse().ok());
        Ok(Box::new(CheckedReader {
            inner: resp.into_body().into_reader(),
            hasher,
            expected: digest.to_string(),
            expected_len,
            read: 0,
            registry: self.registry.clone(),
            what: format!("blob {digest} in {repo}"),
            checked: false,
        }))
    }

    // ---- the machinery -------------------------------------------------------------------

    /// The ping result, pinging first when needed.
    fn pinged(&self) -> Result<Pinged, RegistryError> {
        if let Some(p) = self
            .pinged
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        {
            return Ok(p);
        }
        let https = format!("https://{}", self.registry);
        let p = match self.ping_at(&https) {
            Ok(p) => p,
            Err(e) if self.opts.insecure && !matches!(e, RegistryError::Unreachable { .. }) => {
                self.ping_at(&format!("http://{}", self.registry))?
            }
            Err(e) => return Err(e),
        };
        *self.pinged.lock().unwrap_or_else(|e| e.into_inner()) = Some(p.clone());
        Ok(p)
    }

    fn ping_at(&self, base: &str) -> Result<Pinged, RegistryError> {
        let url = format!("{base}/v2/");
        let r = self.retry(|| {
            let r = self.plain_request(Step::Ping, Method::GET, &url)?;
            if r.status().is_server_error() || r.status().as_u16() == 429 {
                return Err(self.status_error(Step::Ping, "GET", "/v2/", r));
            }
            Ok(r)
        })?;
        let challenge = match r.status().as_u16() {
            200 => None,
            401 => Some(self.challenge_of(&r)?),
            _ => return Err(self.status_error(Step::Ping, "GET", "/v2/", r)),
        };
        Ok(Pinged {
            base: base.to_string(),
            challenge,
        })
    }

    fn challenge_of(&self, r: &http::Response<ureq::Body>) -> Result<Challenge, RegistryError> {
        let value = header(r, "www-authenticate")
            .ok_or_else(|| self.protocol(Step::Auth, "401 without a WWW-Authenticate challenge"))?;
        auth::parse_challenge(&value).map_err(|e| match e {
            ChallengeError::Unsupported(challenge) => RegistryError::Challenge {
                registry: self.registry.clone(),
                challenge,
            },
            ChallengeError::Malformed => self.protocol(
                Step::Auth,
                "a WWW-Authenticate challenge that does not parse",
            ),
        })
    }

    /// The credentials for this registry, looked up once.
    fn credentials(&self) -> Result<Option<Credentials>, RegistryError> {
        let mut c = self.creds.lock().unwrap_or_else(|e| e.into_inner());
        if c.is_none() {
            *c = Some(auth::lookup(&self.registry)?);
        }
        Ok(c.clone().flatten())
    }

    /// The `Authorization` value for `repo` with `access`, negotiating it when needed.
    fn authorization(
        &self,
        challenge: &Option<Challenge>,
        repo: &str,
        access: Access,
    ) -> Result<Option<String>, RegistryError> {
        match challenge {
            None => Ok(None),
            Some(Challenge::Basic) => match self.credentials()? {
                Some(c) => Ok(Some(c.basic_header())),
                None => Err(RegistryError::NoCredentials {
                    registry: self.registry.clone(),
                }),
            },
            Some(Challenge::Bearer { realm, service, .. }) => {
                let scope = format!("repository:{repo}:{}", access.as_str());
                if let Some(t) = self
                    .tokens
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(&scope)
                {
                    return Ok(Some(format!("Bearer {t}")));
                }
                let token = self.fetch_token(realm, service.as_deref(), &scope)?;
                self.tokens
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(scope, token.clone());
                Ok(Some(format!("Bearer {token}")))
            }
        }
    }

    /// A token from the Bearer realm for `scope` (with Basic credentials when there are some).
    fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &str,
    ) -> Result<String, RegistryError> {
        let mut url = realm.to_string();
        url.push(if url.contains('?') { '&' } else { '?' });
        if let Some(s) = service {
            url.push_str(&format!("service={}&", query_escape(s)));
        }
        url.push_str(&format!("scope={}", query_escape(scope)));
        let creds = self.credentials()?;
        let token_err = |detail: String| RegistryError::Token {
            registry: self.registry.clone(),
            realm: realm.to_string(),
            detail,
        };
        let r = self.retry(|| {
            let mut req = http::Request::builder().method(Method::GET).uri(&url);
            if let Some(c) = &creds {
                req = req.header("authorization", c.basic_header());
            }
            let req = req.body(()).map_err(|_| token_err("not a URL".into()))?;
            let r = self
                .agent
                .run(req)
                .map_err(|e| self.transport(Step::Auth, e))?;
            if r.status().is_server_error() || r.status().as_u16() == 429 {
                return Err(self.status_error(Step::Auth, "GET", realm, r));
            }
            Ok(r)
        })?;
        match r.status().as_u16() {
            200 => {}
            401 | 403 if creds.is_some() => {
                return Err(RegistryError::WrongCredentials {
                    registry: self.registry.clone(),
                });
            }
            401 | 403 => {
                return Err(RegistryError::NoCredentials {
                    registry: self.registry.clone(),
                });
            }
            s => return Err(token_err(format!("answered {s}"))),
        }
        let body = r
            .into_body()
            .with_config()
            .limit(1 << 20)
            .read_to_vec()
            .map_err(|e| self.transport(Step::Auth, e))?;
        let doc: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|_| token_err("the answer is not JSON".into()))?;
        ["token", "access_token"]
            .iter()
            .find_map(|k| {
                doc.get(*k)
                    .and_then(|t| t.as_str())
                    .filter(|t| !t.is_empty())
            })
            .map(str::to_string)
            .ok_or_else(|| token_err("the answer has no token".into()))
    }

    /// One authorized request (no retry); a 401 renegotiates once (a new challenge, or a
    /// token of the scope asked for), then becomes the auth error it is.
    #[allow(clippy::too_many_arguments)]
    fn request(
        &self,
        step: Step,
        repo: &str,
        access: Access,
        method: Method,
        path_or_url: &str,
        headers: &[(&str, String)],
        body: ReqBody<'_>,
    ) -> Result<http::Response<ureq::Body>, RegistryError> {
        let mut pinged = self.pinged()?;
        let url = self.resolve(path_or_url)?;
        let mut renegotiated = false;
        loop {
            let auth = self.authorization(&pinged.challenge, repo, access)?;
            let r = self.send(step, &method, &url, headers, auth.as_deref(), &body)?;
            match r.status().as_u16() {
                401 if !renegotiated => {
                    renegotiated = true;
                    let challenge = self.challenge_of(&r)?;
                    if let Challenge::Bearer { .. } = &challenge {
                        let scope = format!("repository:{repo}:{}", access.as_str());
                        self.tokens
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .remove(&scope);
                    }
                    if pinged.challenge.as_ref() != Some(&challenge)
                        || matches!(challenge, Challenge::Bearer { .. }) && auth.is_some()
                    {
                        pinged.challenge = Some(challenge);
                        *self.pinged.lock().unwrap_or_else(|e| e.into_inner()) =
                            Some(pinged.clone());
                        continue;
                    }
                    return Err(self.unauthorized(&pinged, step, repo, access, 401));
                }
                401 => return Err(self.unauthorized(&pinged, step, repo, access, 401)),
                403 => return Err(self.unauthorized(&pinged, step, repo, access, 403)),
                _ => return Ok(r),
            }
        }
    }

    /// The error of a refused request: wrong credentials for Basic, none when there are
    /// none, else access denied.
    fn unauthorized(
        &self,
        pinged: &Pinged,
        step: Step,
        repo: &str,
        access: Access,
        status: u16,
    ) -> RegistryError {
        let has_creds = matches!(self.credentials(), Ok(Some(_)));
        match (&pinged.challenge, has_creds) {
            (_, false) => RegistryError::NoCredentials {
                registry: self.registry.clone(),
            },
            (Some(Challenge::Basic), true) if status == 401 => RegistryError::WrongCredentials {
                registry: self.registry.clone(),
            },
            _ => RegistryError::Denied {
                registry: self.registry.clone(),
                step,
                repository: repo.to_string(),
                access: access.as_str(),
                status,
            },
        }
    }

    /// A request without the registry's credentials (the ping, a redirected blob).
    fn plain_request(
        &self,
        step: Step,
        method: Method,
        url: &str,
    ) -> Result<http::Response<ureq::Body>, RegistryError> {
        self.send(step, &method, url, &[], None, &ReqBody::None)
    }

    /// Sends one request.
    fn send(
        &self,
        step: Step,
        method: &Method,
        url: &str,
        headers: &[(&str, String)],
        auth: Option<&str>,
        body: &ReqBody<'_>,
    ) -> Result<http::Response<ureq::Body>, RegistryError> {
        let mut req = http::Request::builder().method(method.clone()).uri(url);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let bad_url = |_| self.protocol(step, "a URL that does not parse");
        let result = match body {
            ReqBody::None => self.agent.run(req.body(()).map_err(bad_url)?),
            ReqBody::Bytes(b) => self.agent.run(req.body(*b).map_err(bad_url)?),
            ReqBody::Blob(blob) => {
                let mut reader = self.open_blob(step, blob)?;
                self.agent.run(
                    req.body(ureq::SendBody::from_reader(&mut reader))
                        .map_err(bad_url)?,
                )
            }
        };
        result.map_err(|e| self.transport(step, e))
    }

    /// A reader of exactly a blob's bytes.
    fn open_blob(&self, step: Step, blob: &Blob) -> Result<Box<dyn Read>, RegistryError> {
        match &blob.data {
            BlobData::Bytes(b) => Ok(Box::new(io::Cursor::new(b.clone()))),
            BlobData::File { path, offset, len } => {
                let io_err = |source| RegistryError::Io {
                    registry: self.registry.clone(),
                    step,
                    path: path.clone(),
                    source,
                };
                let mut f = File::open(path).map_err(io_err)?;
                f.seek(SeekFrom::Start(*offset)).map_err(io_err)?;
                Ok(Box::new(f.take(*len)))
            }
        }
    }

    /// Runs `f` up to [`TRIES`] times while it fails transiently (5xx, 429, a reset).
    fn retry<T>(
        &self,
        mut f: impl FnMut() -> Result<T, RegistryError>,
    ) -> Result<T, RegistryError> {
        let mut n = 0;
        loop {
            match f() {
                Err(e) if n + 1 < TRIES && transient(&e) => {
                    std::thread::sleep(BACKOFF * 2u32.pow(n));
                    n += 1;
                }
                r => return r,
            }
        }
    }

    /// A path (`/v2/...`) or a URL (absolute, or relative to the API) → an absolute URL.
    fn resolve(&self, path_or_url: &str) -> Result<String, RegistryError> {
        if path_or_url.starts_with("http://") || path_or_url.starts_with("https://") {
            return Ok(path_or_url.to_string());
        }
        let base = self.pinged()?.base;
        Ok(join_url(&format!("{base}/v2/"), path_or_url))
    }

    fn protocol(&self, step: Step, detail: &'static str) -> RegistryError {
        RegistryError::Protocol {
            registry: self.registry.clone(),
            step,
            detail,
        }
    }

    /// An unexpected status, with the registry's own error message when it sent one.
    fn status_error(
        &self,
        step: Step,
        method: &'static str,
        path: &str,
        r: http::Response<ureq::Body>,
    ) -> RegistryError {
        let status = r.status().as_u16();
        let body = r
            .into_body()
            .with_config()
            .limit(64 << 10)
            .read_to_vec()
            .unwrap_or_default();
        let detail = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                let e = v.get("errors")?.get(0)?;
                let code = e.get("code").and_then(|c| c.as_str()).unwrap_or("");
                let msg = e.get("message").and_then(|c| c.as_str()).unwrap_or("");
                Some(format!(": {code} {msg}").trim_end().to_string())
            })
            .unwrap_or_default();
        let path = path.split('?').next().unwrap_or(path).to_string();
        RegistryError::Status {
            registry: self.registry.clone(),
            step,
            method,
            path,
            status,
            detail,
        }
    }

    /// A transport error, classified: unreachable, untrusted certificate, other TLS, other.
    fn transport(&self, step: Step, e: ureq::Error) -> RegistryError {
        let registry = self.registry.clone();
        // rustls reports through ureq either directly or inside an io::Error.
        let tls = match &e {
            ureq::Error::Io(io) => io
                .get_ref()
                .and_then(|i| i.downcast_ref::<rustls::Error>())
                .cloned(),
            _ => None,
        };
        match (tls, e) {
            (Some(rustls::Error::InvalidCertificate(c)), _) => {
                RegistryError::UntrustedCertificate {
                    registry,
                    step,
                    detail: certificate_problem(&c),
                }
            }
            (Some(t), _) => RegistryError::Tls {
                registry,
                step,
                detail: t.to_string(),
            },
            (None, ureq::Error::Io(io))
                if matches!(
                    io.kind(),
                    io::ErrorKind::ConnectionRefused
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::NotFound
                ) =>
            {
                RegistryError::Unreachable {
                    registry,
                    step,
                    detail: io.to_string(),
                }
            }
            (None, ureq::Error::HostNotFound) => RegistryError::Unreachable {
                registry,
                step,
                detail: "the host name does not resolve".into(),
            },
            (None, ureq::Error::ConnectionFailed) => RegistryError::Unreachable {
                registry,
                step,
                detail: "the connection failed".into(),
            },
            (None, ureq::Error::Timeout(t)) => RegistryError::Unreachable {
                registry,
                step,
                detail: format!("timed out ({t})"),
            },
            (None, source) => RegistryError::Http {
                registry,
                step,
                source,
            },
        }
    }
}

/// What is wrong with a certificate, in words.
fn certificate_problem(c: &rustls::CertificateError) -> String {
    match c {
        rustls::CertificateError::UnknownIssuer => "signed by an unknown authority".into(),
        rustls::CertificateError::Expired | rustls::CertificateError::ExpiredContext { .. } => {
            "expired".into()
        }
        rustls::CertificateError::NotValidForName
        | rustls::CertificateError::NotValidForNameContext { .. } => {
            "not valid for this host".into()
        }
        other => format!("{other:?}"),
    }
}

/// True for the failures worth another try: 5xx, 429, a reset or broken connection.
fn transient(e: &RegistryError) -> bool {
    match e {
        RegistryError::Status { status, .. } => *status >= 500 || *status == 429,
        RegistryError::Http {
            source: ureq::Error::Io(io),
            ..
        } => matches!(
            io.kind(),
            io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof
        ),
        RegistryError::Http {
            source: ureq::Error::Protocol(_),
            ..
        } => true,
        _ => false,
    }
}

fn header(r: &http::Response<ureq::Body>, name: &str) -> Option<String> {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

/// The digest of `bytes` in the algorithm of `like` (`sha256:...` or `sha512:...`).
fn digest_of(like: &str, bytes: &[u8]) -> Option<String> {
    let mut h = Hasher::new(like)?;
    h.update(bytes);
    Some(h.finish())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Percent-encodes a query value (RFC 3986 unreserved characters kept).
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `scheme://host[:port]` of a URL.
fn host_of(url: &str) -> &str {
    let after = url.find("://").map_or(0, |i| i + 3);
    let end = url[after..].find('/').map_or(url.len(), |i| after + i);
    &url[..end]
}

/// Resolves `loc` (absolute URL, absolute path, or relative path) against `base`.
fn join_url(base: &str, loc: &str) -> String {
    if loc.starts_with("http://") || loc.starts_with("https://") {
        loc.to_string()
    } else if loc.starts_with('/') {
        format!("{}{loc}", host_of(base))
    } else {
        let dir = base.rfind('/').map_or(base, |i| &base[..=i]);
        format!("{dir}{loc}")
    }
}

/// A digest being computed.
enum Hasher {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Hasher {
    fn new(digest: &str) -> Option<Hasher> {
        match digest.split_once(':')?.0 {
            "sha256" => Some(Hasher::Sha256(Sha256::new())),
            "sha512" => Some(Hasher::Sha512(Sha512::new())),
            _ => None,
        }
    }
    fn update(&mut self, b: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(b),
            Hasher::Sha512(h) => h.update(b),
        }
    }
    fn finish(self) -> String {
        match self {
            Hasher::Sha256(h) => format!("sha256:{}", hex(&h.finalize())),
            Hasher::Sha512(h) => format!("sha512:{}", hex(&h.finalize())),
        }
    }
}

/// A blob's body that checks its digest and length at the end.
struct CheckedReader {
    inner: ureq::BodyReader<'static>,
    hasher: Hasher,
    expected: String,
    expected_len: Option<u64>,
    read: u64,
    registry: String,
    what: String,
    checked: bool,
}

impl Read for CheckedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        if n == 0 && !buf.is_empty() && !self.checked {
            self.checked = true;
            if let Some(len) = self.expected_len
                && len != self.read
            {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    RegistryError::LengthMismatch {
                        registry: self.registry.clone(),
                        step: Step::Pull,
                        what: self.what.clone(),
                        expected: len,
                        actual: self.read,
                    },
                ));
            }
            let h = std::mem::replace(&mut self.hasher, Hasher::Sha256(Sha256::new()));
            let actual = h.finish();
            if actual != self.expected {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    RegistryError::DigestMismatch {
                        registry: self.registry.clone(),
                        step: Step::Pull,
                        what: self.what.clone(),
                        expected: self.expected.clone(),
                        actual,
                    },
                ));
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(host_of("https://h:5000/v2/x"), "https://h:5000");
        assert_eq!(
            join_url("https://h/v2/", "/v2/r/blobs/uploads/u?x=1"),
            "https://h/v2/r/blobs/uploads/u?x=1"
        );
        assert_eq!(join_url("https://h/v2/a/b", "c"), "https://h/v2/a/c");
        assert_eq!(join_url("https://h/v2/", "https://s3/x"), "https://s3/x");
        assert_eq!(
            query_escape("repository:a/b:pull,push"),
            "repository%3Aa%2Fb%3Apull%2Cpush"
        );
    }

    #[test]
    fn digests() {
        assert_eq!(
            sha256_digest(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            digest_of("sha256:x", b"").as_deref(),
            Some("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        assert!(digest_of("md5:x", b"").is_none());
    }
}
