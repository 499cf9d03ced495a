//! What can go wrong talking to a registry: one typed variant per failure, each message naming
//! the registry and the step (ping, authentication, blob upload, manifest, pull) so that a
//! failed push or pull says where it stopped. No variant holds a credential.

use std::fmt;
use std::path::PathBuf;

/// The step of a push or pull an error happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `GET /v2/`: reaching the registry, TLS, the auth challenge.
    Ping,
    /// Credentials, the token endpoint, a refused access.
    Auth,
    /// Blob existence checks, mounts and uploads.
    BlobUpload,
    /// Manifest (or index) upload.
    Manifest,
    /// Reading manifests and blobs.
    Pull,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Ping => "ping",
            Step::Auth => "authentication",
            Step::BlobUpload => "blob upload",
            Step::Manifest => "manifest",
            Step::Pull => "pull",
        })
    }
}

/// A failure of a registry operation.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The image reference does not parse.
    #[error(
        "'{input}' is not an image reference: {reason} (expected HOST[:PORT]/REPO[:TAG][@sha256:DIGEST])"
    )]
    Reference {
        /// What was given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The connection was refused, the host does not resolve, or it timed out.
    #[error("{step} failed: cannot reach {registry}: {detail} (is the registry running?)")]
    Unreachable {
        /// `HOST[:PORT]`.
        registry: String,
        /// The step.
        step: Step,
        /// What the network said.
        detail: String,
    },
    /// The server's certificate does not chain to a trusted root.
    #[error(
        "{step} failed: the TLS certificate of {registry} is not trusted ({detail}); add its CA to \
         the file SSL_CERT_FILE names or to /etc/containers/certs.d/{registry}/ca.crt, or pass \
         --insecure for a local registry"
    )]
    UntrustedCertificate {
        /// `HOST[:PORT]`.
        registry: String,
        /// The step.
        step: Step,
        /// What the TLS library said.
        detail: String,
    },
    /// Another TLS failure (for example a plain HTTP server on the port).
    #[error(
        "{step} failed: no TLS connection to {registry} ({detail}); if it serves plain HTTP, pass \
         --insecure"
    )]
    Tls {
        /// `HOST[:PORT]`.
        registry: String,
        /// The step.
        step: Step,
        /// What the TLS library said.
        detail: String,
    },
    /// Credentials were sent and refused.
    #[error("authentication failed: wrong user name or password for {registry}")]
    WrongCredentials {
        /// `HOST[:PORT]`.
        registry: String,
    },
    /// The registry wants credentials and none were found.
    #[error(
        "authentication failed: no credentials for {registry} (REGISTRY_AUTH_FILE, podman login / \
         docker login)"
    )]
    NoCredentials {
        /// `HOST[:PORT]`.
        registry: String,
    },
    /// Authenticated, but the registry refuses this access to the repository.
    #[error("{step} failed: {registry} denies {access} access to {repository} ({status})")]
    Denied {
        /// `HOST[:PORT]`.
        registry: String,
        /// The step.
        step: Step,
        /// The repository.
        repository: String,
        /// `pull` or `pull,push`.
        access: &'static str,
        /// The HTTP status.
        status: u16,
    },
    /// The `WWW-Authenticate` challenge is not one binslim speaks.
    #[error(
        "authentication failed: {registry} asks for '{challenge}', which is not Basic or Bearer"
    )]
    Challenge {
        /// `HOST[:PORT]`.
        registry: String,
        /// The challenge's scheme (never credentials).
        challenge: String,
    },
    /// The token endpoint answered something unusable.
    #[error("authentication failed: the token endpoint {realm} of {registry}: {detail}")]
    Token {
        /// `HOST[:PORT]`.
        registry: String,
        /// The token endpoint URL.
        realm: String,
        /// What was wrong.
        detail: String,
    },
    /// A credentials file could not be read or parsed.
    #[error("authentication failed: credentials for {registry}: {path}: {detail}")]
    AuthFile {
        /// `HOST[:PORT]`.
        registry: String,
        /// The file.
        path: PathBuf,
        /// What was wrong (never its content).
        detail: String,
    },
    /// A credential helper failed.
    #[error(
        "authentication failed: credentials for {registry}: docker-credential-{helper}: {detail}"
    )]
    CredentialHelper {
        /// `HOST[:PORT]`.
        registry: String,
        /// The helper's name.
        helper: String,
        /// What was wrong (never its output).
        detail: String,
    },
    /// The thing asked for does not exist.
    #[error("{step} failed: {what} not found at {registry}")]
    NotFound {
        /// `HOST[:PORT]`.
        registry: String,
        /// The step.
        step: Step,
        /// `manifest REPO:TAG`, `blob DIGEST`.
        what: String,
    },
    /// An unexpected HTTP status (after the retries, for the retried ones).
    #[error("{step} failed: {registry} answered {status} to {method} {path}{detail}")]
    Status {
        /// `HOST[:PORT]`.
        registry: String,
        /// The step.
        step: Step,
        /// The method.
        method: &'static str,
        /// The request path.
        path: String,
        /// The status code.
        status: u16,
        /// `: ` and the registry's error message, when it sent one.
        detail: String,
    },
    /// Bytes received do not hash to the digest they were asked by, or a registry reported
    /// another digest than the bytes have.
    #[error(
        "{step} failed: digest mismatch for {what} from {registry}: expected {expected}, got {actual}"
    )]
    DigestMismatch {
        /// `HOST[:PORT]`.
        registry: String,
        /// The step.
        step: Step,
        /// What was checked.
        what: String,
        /// The digest expected.
        expected: String,
        /// The digest found.
        actual: String,
    },
    /// A response had another length than announced.
    #[error("{step} failed: {what} from {registry}: expected {expected} bytes, got {actual}")]
    LengthMismatch {
        /// `HOST[:PORT]`.
        registry: String,
        /// The step.
        step: Step,
        /// What was read.
        what: String,
        /// Bytes expected.
        expected: u64,
        /// Bytes read.
        actual: u64,
    },
    /// A response that breaks the protocol (no Location on an upload, a manifest too large,
    /// an unsupported digest algorithm...).
    #[error("{step} failed: {registry}: {detail}")]
    Protocol {
        /// `HOST[:PORT]`.
        registry: String,
        /// The step.
        step: Step,
        /// What was wrong.
        detail: &'static str,
    },
    /// A JSON document from the registry does not parse.
    #[error("{step} failed: {what} from {registry}: {source}")]
    Json {
        /// `HOST[:PORT]`.
        registry: String,
        /// The step.
        step: Step,
        /// What was parsed.
        what: String,
        /// The parser's error.
        source: serde_json::Error,
    },
    /// Another transport failure (after the retries).
    #[error("{step} failed: {registry}: {source}")]
    Http {
        /// `HOST[:PORT]`.
        registry: String,
        /// The step.
        step: Step,
        /// The HTTP library's error (holds no header values).
        source: ureq::Error,
    },
    /// A local file (a blob to upload, a layout being written) could not be read or written.
    #[error("{step} failed: {registry}: {path}: {source}")]
    Io {
        /// `HOST[:PORT]`.
        registry: String,
        /// The step.
        step: Step,
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

impl RegistryError {
    /// The step the error happened in (`None` for a reference that does not parse).
    pub fn step(&self) -> Option<Step> {
        use RegistryError::*;
        match self {
            Reference { .. } => None,
            WrongCredentials { .. }
            | NoCredentials { .. }
            | Challenge { .. }
            | Token { .. }
            | AuthFile { .. }
            | CredentialHelper { .. } => Some(Step::Auth),
            Unreachable { step, .. }
            | UntrustedCertificate { step, .. }
            | Tls { step, .. }
            | Denied { step, .. }
            | NotFound { step, .. }
            | Status { step, .. }
            | DigestMismatch { step, .. }
            | LengthMismatch { step, .. }
            | Protocol { step, .. }
            | Json { step, .. }
            | Http { step, .. }
            | Io { step, .. } => Some(*step),
        }
    }
}
