//! The JSON documents of the OCI image spec (and Docker's `manifest.json`), as serde types.
//!
//! These are the *model*: what an image is, independent of how it is stored. The on-disk forms
//! (docker-archive tar, oci-archive tar, OCI layout directory) are written by [`crate::scratch`]
//! and read by [`super::read`]. Field names follow the spec exactly (`camelCase` in manifests,
//! `PascalCase` in the config's `config` object), and optional fields are left out when empty so
//! the written JSON is what `docker save` and `skopeo` write.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::elf::cpu::{CpuLevel, Family};

/// `application/vnd.oci.image.index.v1+json`.
pub const MEDIA_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// `application/vnd.oci.image.manifest.v1+json`.
pub const MEDIA_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// `application/vnd.oci.image.config.v1+json`.
pub const MEDIA_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// `application/vnd.oci.image.layer.v1.tar+gzip`: what a registry stores and a pull transfers.
pub const MEDIA_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// `application/vnd.oci.image.layer.v1.tar+zstd`: a zstd-compressed layer (podman and
/// containerd write them; `skopeo copy --dest-compress-format zstd`).
pub const MEDIA_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
/// `application/vnd.oci.image.layer.v1.tar`: an uncompressed layer.
pub const MEDIA_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
/// Docker's schema-2 manifest list (seen in indexes written by Docker).
pub const MEDIA_DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker's schema-2 manifest.
pub const MEDIA_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker's gzip layer.
pub const MEDIA_DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// `application/vnd.oci.empty.v1+json`: the config of an artifact that needs none (OCI 1.1).
pub const MEDIA_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// The empty descriptor's blob, `{}`.
pub const EMPTY_JSON: &[u8] = b"{}";
/// The annotation that names the source revision (a commit).
pub const ANNOTATION_REVISION: &str = "org.opencontainers.image.revision";
/// The annotation that gives the creation time (RFC 3339).
pub const ANNOTATION_CREATED: &str = "org.opencontainers.image.created";
/// The annotation that gives the URL of the source repository.
pub const ANNOTATION_SOURCE: &str = "org.opencontainers.image.source";
/// The annotation that carries a reference name in an OCI layout's `index.json`.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// The `PATH` engines give a container whose image names none (Docker's and runc's default).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// The `oci-layout` file's content.
pub const OCI_LAYOUT: &str = r#"{"imageLayoutVersion":"1.0.0"}"#;

/// A content descriptor: what a blob is, its digest (`sha256:<hex>`) and its size in bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The blob's media type.
    pub media_type: String,
    /// `sha256:<64 hex digits>`.
    pub digest: String,
    /// The blob's size in bytes.
    pub size: u64,
    /// The platform of the manifest it points at (in an index).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<PlatformSpec>,
    /// The artifact type of the manifest it points at, when that is an artifact (OCI 1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// Annotations (the ref name in an OCI layout's index).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// A platform as an index or config names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformSpec {
    /// `amd64`, `arm64`, `arm`, ...
    pub architecture: String,
    /// `linux`.
    pub os: String,
    /// `v7`, `v8`, ... for arm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// An image index (`index.json` of a layout, or a multi-platform list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    /// Always 2.
    pub schema_version: u32,
    /// [`MEDIA_INDEX`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The manifests (or nested indexes).
    pub manifests: Vec<Descriptor>,
    /// Annotations of the index (`org.opencontainers.image.revision`, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An image manifest: the config and the layers, bottom first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always 2.
    pub schema_version: u32,
    /// [`MEDIA_MANIFEST`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// What an artifact manifest holds (`application/spdx+json`); `None` for an image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The config blob.
    pub config: Descriptor,
    /// The layer blobs, bottom first.
    pub layers: Vec<Descriptor>,
    /// The manifest or index an artifact refers to (OCI 1.1 referrers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Annotations of the image (`org.opencontainers.image.revision`, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The image config blob (`application/vnd.oci.image.config.v1+json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageConfig {
    /// `amd64`, `arm64`, ...
    #[serde(default)]
    pub architecture: String,
    /// `linux`.
    #[serde(default)]
    pub os: String,
    /// `v7`, `v8`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// RFC 3339 creation time (left out for reproducible images).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// How a container runs.
    #[serde(default)]
    pub config: RunConfig,
    /// The uncompressed layers' digests.
    #[serde(default)]
    pub rootfs: RootFs,
    /// Build history (one entry per layer).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
}

/// The `config` object of an image config: how a container of it runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RunConfig {
    /// `uid[:gid]` or a name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The ports a container listens on, `8080/tcp`, each mapped to an empty object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, Empty>>,
    /// `KEY=VALUE` entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    /// The program and its first arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    /// Default arguments (or the program, without an entrypoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    /// The working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// Labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// The signal an engine sends to stop a container (`SIGTERM`, `SIGINT`, `15`); left out
    /// when unset (the engine's default, SIGTERM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
}

/// The empty JSON object `{}` (the value of each `ExposedPorts` entry).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

/// `rootfs` of an image config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootFs {
    /// Always `layers`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `sha256:<hex>` of each uncompressed layer tar, bottom first.
    pub diff_ids: Vec<String>,
}

impl Default for RootFs {
    fn default() -> Self {
        RootFs {
            kind: "layers".into(),
            diff_ids: Vec::new(),
        }
    }
}

/// One history entry of an image config.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// RFC 3339 time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// What made the layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// A comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// True for entries without a layer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
}

/// One entry of Docker's `manifest.json` (a docker-archive tar holds an array of them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DockerManifestEntry {
    /// Path of the config JSON inside the tar.
    pub config: String,
    /// `name:tag` references.
    #[serde(default)]
    pub repo_tags: Option<Vec<String>>,
    /// Paths of the layer tars inside the tar, bottom first.
    pub layers: Vec<String>,
}

/// `sha256:<hex>` of `data`.
pub fn digest_of(data: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("sha256:{}", hex(&Sha256::digest(data)))
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// One architecture a container platform names, as both OCI and ELF spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arch {
    /// The OCI/Docker architecture (`amd64`, `arm64`, `arm`, ...).
    pub oci: &'static str,
    /// The ELF machine name as [`crate::elf`] spells it (`x86_64`, `aarch64`, `arm`, ...).
    pub machine: &'static str,
    /// The ELF class (`elf32` or `elf64`).
    pub class: &'static str,
    /// The variant an image of a program that records no CPU level gets (`arm64`: `v8`).
    pub default_variant: Option<&'static str>,
}

/// Every architecture binslim checks and writes images for.
pub const ARCHES: &[Arch] = &[
    Arch {
        oci: "amd64",
        machine: "x86_64",
        class: "elf64",
        default_variant: None,
    },
    Arch {
        oci: "arm64",
        machine: "aarch64",
        class: "elf64",
        default_variant: Some("v8"),
    },
    Arch {
        oci: "arm",
        machine: "arm",
        class: "elf32",
        default_variant: Some("v7"),
    },
    Arch {
        oci: "386",
        machine: "i386",
        class: "elf32",
        default_variant: None,
    },
    Arch {
        oci: "riscv64",
        machine: "riscv64",
        class: "elf64",
        default_variant: None,
    },
    Arch {
        oci: "ppc64le",
        machine: "ppc64le",
        class: "elf64",
        default_variant: None,
    },
    Arch {
        oci: "s390x",
        machine: "s390x",
        class: "elf64",
        default_variant: None,
    },
];

/// The architecture an OCI name (`arm64`) stands for.
pub fn arch_by_oci(name: &str) -> Option<&'static Arch> {
    ARCHES.iter().find(|a| a.oci == name)
}

/// The architecture of an ELF machine name (`aarch64`).
pub fn arch_by_machine(machine: &str) -> Option<&'static Arch> {
    ARCHES.iter().find(|a| a.machine == machine)
}

/// The OCI architecture and default variant for an ELF machine name as [`crate::elf`] spells it
/// (`x86_64` → `amd64`), from [`ARCHES`], the table `--platform` is parsed with. `None` for
/// machines no container platform names.
pub fn oci_arch(machine: &str) -> Option<(&'static str, Option<&'static str>)> {
    arch_by_machine(machine).map(|a| (a.oci, a.default_variant))
}

/// The platform variant of the image: the CPU level the program records (`GOAMD64=v3` gives
/// `v3`, `GOARM=6` gives `v6`, `GOARM64=v8.2` gives `v8.2`), else the machine's default from
/// [`oci_arch`]. An engine then refuses to pull the image onto a CPU below that level instead
/// of starting a program that dies of SIGILL. The x86-64 baseline is no variant (`v1` is what
/// an engine assumes).
pub fn oci_variant(level: Option<&CpuLevel>, default: Option<&'static str>) -> Option<String> {
    let Some(level) = level else {
        return default.map(String::from);
    };
    match level.family {
        Family::X86_64 if level.rank <= 1 => None,
        Family::X86_64 | Family::Arm => Some(format!("v{}", level.rank)),
        Family::Arm64 if level.rank % 10 == 0 => Some(format!("v{}", level.rank / 10)),
        Family::Arm64 => Some(format!("v{}.{}", level.rank / 10, level.rank % 10)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_follow_the_recorded_cpu_level() {
        let level = |family, rank| CpuLevel {
            family,
            rank,
            name: String::new(),
            source: crate::elf::cpu::Source::GnuProperty,
        };
        let v = |l: Option<CpuLevel>, d| oci_variant(l.as_ref(), d);
        assert_eq!(v(None, Some("v7")).as_deref(), Some("v7"));
        assert_eq!(v(None, None), None);
        assert_eq!(v(Some(level(Family::X86_64, 1)), None), None);
        assert_eq!(
            v(Some(level(Family::X86_64, 3)), None).as_deref(),
            Some("v3")
        );
        assert_eq!(
            v(Some(level(Family::Arm, 6)), Some("v7")).as_deref(),
            Some("v6")
        );
        assert_eq!(
            v(Some(level(Family::Arm64, 80)), Some("v8")).as_deref(),
            Some("v8")
        );
        assert_eq!(
            v(Some(level(Family::Arm64, 82)), Some("v8")).as_deref(),
            Some("v8.2")
        );
    }

    #[test]
    fn config_json_uses_the_spec_names() {
        let cfg = ImageConfig {
            architecture: "amd64".into(),
            os: "linux".into(),
            config: RunConfig {
                user: Some("65532:65532".into()),
                entrypoint: Some(vec!["/server".into()]),
                working_dir: Some("/".into()),
                ..RunConfig::default()
            },
            rootfs: RootFs {
                diff_ids: vec!["sha256:00".into()],
                ..RootFs::default()
            },
            ..ImageConfig::default()
        };
        assert_eq!(
            serde_json::to_string(&cfg).unwrap(),
            r#"{"architecture":"amd64","os":"linux","config":{"User":"65532:65532","Entrypoint":["/server"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:00"]}}"#
        );
        let back: ImageConfig =
            serde_json::from_str(&serde_json::to_string(&cfg).unwrap()).unwrap();
        assert_eq!(back, cfg);
    }

    #[test]
    fn digests() {
        assert_eq!(
            digest_of(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(hex(&[0, 0xab, 0xff]), "00abff");
    }
}
