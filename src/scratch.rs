//! `binslim image`: a single-layer `FROM scratch` image built without an engine.
//!
//! The phases: check the options (`ImageOptions::validate`), decide what goes into the layer
//! (the program, its loader and libraries with `--with-libs`, the run-time files the analysis
//! says it reads, `--add`), write the layer ([`crate::image::layer`]), the config and manifest, and one
//! of the on-disk forms ([`crate::image::layout`]) to a temporary name beside the output, renamed into
//! place only when complete.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

use crate::elf::go::GoBuildInfo;
use crate::elf::needs::{self, RuntimeNeeds};
use crate::elf::{self, Analysis, ElfFile, Linkage};
use crate::image::layer::{self, LayerEntry, PlaceError, Tree};
use crate::image::layout::{self, Artifact, Blobs, IndexBlobs, Layout, OutputFormat};
use crate::image::spec::{
    self, Descriptor, History, ImageConfig, Index, MEDIA_CONFIG, MEDIA_INDEX, MEDIA_MANIFEST,
    Manifest, PlatformSpec, RootFs, RunConfig,
};
use crate::input::Input;
use crate::resolve;
use crate::tempfiles::{self, TempDir};
use crate::units::rfc3339;
use crate::verify::{self, Code, Finding, Origin, Verdict, VerifyOptions};

pub use crate::elf::needs::{CA_BUNDLE, ZONEINFO};
/// The uid and gid of `nonroot`, as distroless and ko use them.
pub const NONROOT: u32 = 65532;

/// `--ca-certs` / `--tzdata`: whether to add a run-time file tree, and from where.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Provide {
    /// Add it when the analysis says the program reads it.
    #[default]
    Auto,
    /// Always add it, from the build machine's standard place.
    Yes,
    /// Never add it.
    No,
    /// Always add it, from this host path.
    From(PathBuf),
}

impl Provide {
    /// Parses `auto`, `yes`, `no` or a path.
    pub fn parse(s: &str) -> Provide {
        match s {
            "auto" => Provide::Auto,
            "yes" => Provide::Yes,
            "no" => Provide::No,
            p => Provide::From(PathBuf::from(p)),
        }
    }
}

/// What `binslim image` builds.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ImageOptions {
    /// The programs as the user named them, one per platform (the file name gives the default
    /// tag and path). Several make a multi-platform image: an OCI image index.
    pub programs: Vec<PathBuf>,
    /// Where to write the image.
    pub output: PathBuf,
    /// The on-disk form.
    pub format: OutputFormat,
    /// `NAME[:TAG]`.
    pub tag: Option<String>,
    /// The program's path inside the image.
    pub path: Option<String>,
    /// Entrypoint arguments after the program.
    pub args: Vec<String>,
    /// `K=V` environment entries.
    pub env: Vec<String>,
    /// `root`, `nonroot`, `UID` or `UID:GID`.
    pub user: Option<String>,
    /// `SRC:DEST` files or directories to add.
    pub add: Vec<String>,
    /// Replace an existing output.
    pub force: bool,
    /// Let `--add` replace the files binslim writes (`/etc/passwd`, `/etc/group`,
    /// `/etc/nsswitch.conf`).
    pub replace: bool,
    /// The CA bundle.
    pub ca_certs: Provide,
    /// Time zones.
    pub tzdata: Provide,
    /// Bundle the loader and the shared libraries of a dynamic program.
    pub with_libs: bool,
    /// Where libraries are resolved (default `/`).
    pub root: Option<PathBuf>,
    /// The mtime of every entry and the config's `created` (`SOURCE_DATE_EPOCH`, else 0).
    pub mtime: u64,
    /// True when `mtime` came from `SOURCE_DATE_EPOCH`: it is then also the
    /// `org.opencontainers.image.created` annotation of a Go program with VCS information
    /// (instead of its `vcs.time`).
    pub source_date_epoch: bool,
    /// `KEY=VALUE` labels of the config (`--label`).
    pub labels: Vec<String>,
    /// `KEY=VALUE` annotations of the manifest and the index (`--annotation`).
    pub annotations: Vec<String>,
    /// The working directory (`--workdir`, absolute; default `/`).
    pub workdir: Option<String>,
    /// `PORT[/tcp|/udp]` ports the program listens on (`--expose`).
    pub expose: Vec<String>,
    /// The config's `Cmd`: default arguments after the entrypoint (`--cmd`).
    pub cmd: Vec<String>,
    /// The program goes first in `Cmd` and the config has no `Entrypoint`: the shape of a
    /// source image whose Cmd names its program (`image --from`), so that arguments given to
    /// `docker run IMAGE ARGS` replace the whole command as they do with the source.
    pub program_in_cmd: bool,
    /// The config's `StopSignal` (`--stop-signal`; none: the engine's default, SIGTERM).
    pub stop_signal: Option<String>,
    /// The SBOM attached to the image as an OCI artifact (`--sbom`), or none.
    pub sbom: Option<crate::sbom::Format>,
    /// How the layer is compressed (`--compression`; zstd only in OCI forms).
    pub compression: layer::Compression,
}

impl ImageOptions {
    /// Options for `program` written to `output`, every other field at its default.
    pub fn new(program: PathBuf, output: PathBuf) -> Self {
        ImageOptions {
            programs: vec![program],
            output,
            format: OutputFormat::Docker,
            tag: None,
            path: None,
            args: Vec::new(),
            env: Vec::new(),
            user: None,
            add: Vec::new(),
            force: false,
            replace: false,
            ca_certs: Provide::Auto,
            tzdata: Provide::Auto,
            with_libs: false,
            root: None,
            mtime: 0,
            source_date_epoch: false,
            labels: Vec::new(),
            annotations: Vec::new(),
            workdir: None,
            expose: Vec::new(),
            cmd: Vec::new(),
            program_in_cmd: false,
            stop_signal: None,
            sbom: Some(crate::sbom::Format::Spdx),
            compression: layer::Compression::Gzip,
        }
    }
}

/// Why an image was not built. [`BuildError::Refused`] and [`BuildError::ImageWouldNotStart`]
/// mean the program would not start in the image (exit 1); every other variant is a wrong
/// option or input, or a failed read or write (exit 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// `--path` is not absolute.
    #[error("--path '{path}': give an absolute path such as /server")]
    PathNotAbsolute {
        /// The path as given.
        path: String,
    },
    /// An `--env` entry is not `KEY=VALUE`.
    #[error("--env '{entry}': use KEY=VALUE")]
    BadEnv {
        /// The entry as given.
        entry: String,
    },
    /// A `--label` or `--annotation` entry is not `KEY=VALUE`.
    #[error("{flag} '{entry}': use KEY=VALUE")]
    BadKeyValue {
        /// `--label` or `--annotation`.
        flag: &'static str,
        /// The entry as given.
        entry: String,
    },
    /// `--workdir` is not absolute.
    #[error("--workdir '{dir}': give an absolute path such as /data")]
    WorkdirNotAbsolute {
        /// The directory as given.
        dir: String,
    },
    /// `--expose` is not `PORT[/tcp|/udp]` with a port from 1 to 65535.
    #[error("--expose '{spec}': use PORT[/tcp|/udp] with a port from 1 to 65535, e.g. 8080/tcp")]
    BadExpose {
        /// The spec as given.
        spec: String,
    },
    /// `--stop-signal` is not a signal name or number.
    #[error("--stop-signal '{signal}': use a signal name or number, e.g. SIGINT or 2")]
    BadStopSignal {
        /// The signal as given.
        signal: String,
    },
    /// Several programs with `--format docker`.
    #[error(
        "--format docker: {count} programs make a multi-platform image (an OCI image index), \
         which docker load cannot read: pass --format oci or --format oci-dir"
    )]
    IndexAsDocker {
        /// How many programs were given.
        count: usize,
    },
    /// Two programs for one platform.
    #[error("{first} and {second} are both {platform}: give one program per platform")]
    SamePlatform {
        /// The first program as named.
        first: String,
        /// The second.
        second: String,
        /// `linux/amd64`, ...
        platform: String,
    },
    /// Several programs with different file names and no `--path`.
    #[error(
        "the programs have different file names ({}): pass --path /NAME, the program's path \
         in the image of every platform (its file name is then the default --tag)",
        names.join(", ")
    )]
    DifferentNames {
        /// The file names, in order.
        names: Vec<String>,
    },
    /// `--workdir` names a file of the image.
    #[error("--workdir {dir}: it is a file in the image, not a directory")]
    WorkdirNotDir {
        /// The directory, normalized.
        dir: String,
    },
    /// An `--add` spec has no `:`.
    #[error("--add '{spec}': use SRC:DEST, e.g. ./static:/srv/static")]
    AddNotSrcDest {
        /// The spec as given.
        spec: String,
    },
    /// An `--add` DEST is relative or `/`.
    #[error("--add '{spec}': DEST must be an absolute path other than /")]
    AddBadDest {
        /// The spec as given.
        spec: String,
    },
    /// An `--add` SRC does not exist.
    #[error("--add '{spec}': {src} does not exist")]
    AddMissing {
        /// The spec as given.
        spec: String,
        /// Its SRC.
        src: String,
    },
    /// An `--add` DEST is the program's path.
    #[error("--add {}:{dest}: {dest} is the program", src.display())]
    AddOverProgram {
        /// The SRC.
        src: PathBuf,
        /// The DEST, normalized.
        dest: String,
    },
    /// The output exists and `--force` was not given.
    #[error("{} already exists: pass --force to replace it", output.display())]
    OutputExists {
        /// The output.
        output: PathBuf,
    },
    /// The output exists as a directory where the format writes a file, or the reverse.
    #[error(
        "{} is a {}: --format {} writes a {}",
        output.display(),
        file_or_dir(*is_dir),
        format.as_str(),
        file_or_dir(*format == OutputFormat::OciDir)
    )]
    OutputKind {
        /// The output.
        output: PathBuf,
        /// Whether it is a directory now.
        is_dir: bool,
        /// The format asked for.
        format: OutputFormat,
    },
    /// `--root` without `--with-libs`.
    #[error("--root is where --with-libs resolves libraries: pass --with-libs too")]
    RootWithoutLibs,
    /// No `--tag`, and the program's file name is not a valid image name.
    #[error(
        "the file name '{name}' is not a valid image name: pass --tag NAME[:TAG] (lowercase \
         letters, digits, '.', '_', '-', '/')"
    )]
    BadFileName {
        /// The lowercased file name.
        name: String,
    },
    /// `--tag` is not a valid reference.
    #[error(
        "--tag '{tag}': use NAME[:TAG] with a lowercase name (letters, digits, '.', '_', '-', \
         '/') and a tag of letters, digits, '.', '_', '-'"
    )]
    BadTag {
        /// The tag as given.
        tag: String,
    },
    /// `--user` is not `root`, `nonroot`, `UID` or `UID:GID`.
    #[error("--user '{user}': use root, nonroot (65532), UID or UID:GID")]
    BadUser {
        /// The user as given.
        user: String,
    },
    /// The program cannot be opened or is not an ELF file binslim reads.
    #[error("{program}: {source}")]
    Program {
        /// The program as named.
        program: String,
        /// Why.
        #[source]
        source: crate::Error,
    },
    /// verify could not check the program.
    #[error("{program}: {message}")]
    Unverifiable {
        /// The program as named.
        program: String,
        /// verify's first problem.
        message: String,
    },
    /// The program's machine has no OCI architecture name.
    #[error("{program}: built for {machine}, which no container platform names")]
    NoPlatform {
        /// The program as named.
        program: String,
        /// Its ELF machine.
        machine: String,
    },
    /// A library the resolution found is no longer there.
    #[error("{path} vanished from {}", root.display())]
    Vanished {
        /// Its path in the image.
        path: String,
        /// The root it was resolved in.
        root: PathBuf,
    },
    /// `--ca-certs` / `--tzdata` (or the analysis) wants a file tree the machine lacks.
    #[error(
        "{flag}: {}{} does not exist on this machine: install {package}, pass {flag} {}, or \
         {flag} no",
        if *needed { "the program reads it, but " } else { "" },
        src.display(),
        if *flag == "--ca-certs" { "FILE" } else { "DIR" }
    )]
    RuntimeFilesMissing {
        /// `--ca-certs` or `--tzdata`.
        flag: &'static str,
        /// True when the analysis asked for it (`auto`), false when the flag did.
        needed: bool,
        /// The host path looked for.
        src: PathBuf,
        /// The package that provides it.
        package: &'static str,
    },
    /// `--ca-certs` names something other than a file.
    #[error("--ca-certs {}: not a file", path.display())]
    CaCertsNotFile {
        /// The path.
        path: PathBuf,
    },
    /// `--tzdata` names something other than a directory.
    #[error("--tzdata {}: not a directory", path.display())]
    TzdataNotDir {
        /// The path.
        path: PathBuf,
    },
    /// A tree to add nests deeper than 64 levels.
    #[error("{}: more than 64 directory levels (a symbolic link loop?)", path.display())]
    TooDeep {
        /// Where it stopped.
        path: PathBuf,
    },
    /// A device, FIFO or socket in a tree to add.
    #[error("{}: not a regular file, directory or symlink", path.display())]
    NotAddable {
        /// The host path.
        path: PathBuf,
    },
    /// An entry collides with another in the layer.
    #[error(transparent)]
    Place(#[from] PlaceError),
    /// Two files for one path, one of them the program, a file `--with-libs` bundles or one
    /// binslim writes: the later would replace the earlier and the image would not start (or
    /// not as the user meant).
    #[error(
        "{path} would hold both {first} and {second}: {}",
        collision_fix(first, second)
    )]
    Collision {
        /// The path in the image.
        path: String,
        /// What was placed there first.
        first: Occupant,
        /// What would have replaced it.
        second: Occupant,
    },
    /// The program would not start in the image (exit 1); verify's findings say why.
    #[error("{program} would not start in the image: {}", findings.first().map_or("", |f| f.message.as_str()))]
    Refused {
        /// The program as named.
        program: String,
        /// What verify found.
        findings: Vec<Finding>,
    },
    /// The finished image, read back as an engine would merge it, fails the rules of
    /// `verify --image` (exit 1): nothing was written. [`BuildError::Refused`] is the same
    /// verdict on the program alone, before the image is made.
    #[error("{program}: the image would not start: {}", findings.first().map_or("", |f| f.message.as_str()))]
    ImageWouldNotStart {
        /// The program as named.
        program: String,
        /// What `verify --image` found.
        findings: Vec<Finding>,
    },
    /// The finished layer could not be read back to be checked (exit 2).
    #[error("checking the image before writing it: {0}")]
    Check(#[source] crate::image::read::ReadError),
    /// The SBOM of the image could not be made.
    #[error("the SBOM of the image (--sbom none builds without one): {0}")]
    Sbom(#[source] crate::sbom::SbomError),
    /// Reading an input or writing the output failed (exit 2).
    #[error("{context}: {source}")]
    Io {
        /// What binslim was doing.
        context: String,
        /// The error.
        #[source]
        source: io::Error,
    },
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> BuildError {
    let context = context.into();
    move |source| BuildError::Io { context, source }
}

fn file_or_dir(is_dir: bool) -> &'static str {
    if is_dir { "directory" } else { "file" }
}

fn collision_fix(first: &Occupant, second: &Occupant) -> &'static str {
    match (first, second) {
        (Occupant::Generated { .. }, Occupant::Added { .. }) => {
            "choose another --add DEST, or pass --replace to put yours in its place"
        }
        _ => "choose another --path or --add DEST",
    }
}

/// What put a file (or link) at a path of the image: the two sides of a
/// [`BuildError::Collision`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Occupant {
    /// The program.
    Program {
        /// The `--path` given, if any.
        path: Option<String>,
    },
    /// The loader, a library, or the musl loader's path file that `--with-libs` bundles.
    Bundled {
        /// `loader`, `library` or `library path file`.
        kind: &'static str,
        /// Why (`DT_NEEDED of /app`).
        why: String,
    },
    /// A file binslim writes itself (`/etc/passwd`, `/etc/group`, `/etc/nsswitch.conf`).
    Generated {
        /// What it holds (`user and group names`).
        what: &'static str,
    },
    /// A file of `--ca-certs` or `--tzdata` (auto, yes or a host path).
    RuntimeFiles {
        /// `--ca-certs` or `--tzdata`.
        flag: &'static str,
    },
    /// A file of `--add SRC:DEST`.
    Added {
        /// The spec as given.
        spec: String,
    },
}

impl Occupant {
    /// True when nothing else may replace it, nor it anything: the program, what `--with-libs`
    /// bundles, what binslim writes. Files of `--add`, `--ca-certs` and `--tzdata` replace one
    /// another, the later one winning, as COPY does.
    fn guarded(&self) -> bool {
        matches!(
            self,
            Occupant::Program { .. } | Occupant::Bundled { .. } | Occupant::Generated { .. }
        )
    }
}

impl std::fmt::Display for Occupant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Occupant::Program { path: None } => write!(f, "the program"),
            Occupant::Program { path: Some(p) } => write!(f, "the program (--path {p})"),
            Occupant::Bundled { kind, why } => write!(f, "the {kind} --with-libs bundles ({why})"),
            Occupant::Generated { what } => write!(f, "the {what} binslim writes"),
            Occupant::RuntimeFiles { flag } => write!(f, "the files of {flag}"),
            Occupant::Added { spec } => write!(f, "--add {spec}"),
        }
    }
}

/// The layer's tree, with what put each file there, so that one of them cannot silently
/// replace another that the image needs.
struct Files {
    tree: Tree,
    owners: HashMap<String, Occupant>,
    /// `--replace`: an `--add` may replace a file binslim writes.
    replace: bool,
}

impl Files {
    /// Places `entry` at the image path `path` (absolute, normalized) for `owner`. A file or
    /// link over another is refused when either is guarded ([`Occupant::guarded`]), unless
    /// both come from the same place (a library placed twice), or `--replace` lets an `--add`
    /// replace a generated file.
    fn put(&mut self, path: &str, entry: LayerEntry, owner: &Occupant) -> Result<(), BuildError> {
        let is_dir = entry.is_dir();
        if !is_dir && let Some(old) = self.owners.get(path) {
            let replaceable = self.replace
                && matches!(old, Occupant::Generated { .. })
                && matches!(owner, Occupant::Added { .. });
            if old != owner && (old.guarded() || owner.guarded()) && !replaceable {
                return Err(BuildError::Collision {
                    path: path.to_string(),
                    first: old.clone(),
                    second: owner.clone(),
                });
            }
        }
        self.tree.insert(path, entry)?;
        if !is_dir {
            self.owners.insert(path.to_string(), owner.clone());
        }
        Ok(())
    }
}

/// A layer as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct LayerReport {
    /// `sha256:` of the compressed blob.
    pub digest: String,
    /// Bytes of the compressed blob written.
    pub size: u64,
    /// The blob's media type (`application/vnd.oci.image.layer.v1.tar+gzip` or `+zstd`).
    pub media_type: &'static str,
    /// `sha256:` of the uncompressed tar.
    pub diff_id: String,
    /// Bytes of the uncompressed tar.
    pub uncompressed_size: u64,
}

/// One file of the image and why it is there.
#[derive(Debug, Clone, Serialize)]
pub struct ImageFile {
    /// Its path in the image.
    pub path: String,
    /// Bytes (for a directory added as a whole: the bytes of its files; 0 for links).
    pub size: u64,
    /// Permission bits in octal, e.g. `0755`.
    pub mode: String,
    /// Why it was added.
    pub why: String,
}

/// What was built: one image, or a multi-platform index (then `digest` is the index's, and
/// `manifests` holds each platform's image in place of `platform`, `config_digest`, `layers`
/// and `files`).
#[derive(Debug, Clone, Serialize)]
pub struct ImageReport {
    /// `name:tag`.
    #[serde(rename = "ref")]
    pub reference: String,
    /// The manifest digest (of the image index, for several platforms).
    pub digest: String,
    /// `docker`, `oci` or `oci-dir`.
    pub format: &'static str,
    /// `linux/amd64`, `linux/arm64/v8`, ... (empty, and left out of JSON, for an index).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub platform: String,
    /// `sha256:` of the config blob (empty, and left out, for an index).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub config_digest: String,
    /// The layers, bottom first (one; none for an index).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<LayerReport>,
    /// Every file, link and explicitly added directory, in tar order (none for an index).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<ImageFile>,
    /// The manifest's annotations (the index's, for several platforms); left out when none.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Each platform's image, in the index's order; left out for one program.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub manifests: Vec<PlatformImage>,
    /// The SBOM attached to the image (`--sbom`); left out with `--sbom none`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sbom: Option<SbomReport>,
}

/// The SBOM artifact of an [`ImageReport`].
#[derive(Debug, Clone, Serialize)]
pub struct SbomReport {
    /// `application/spdx+json` or `application/vnd.cyclonedx+json`.
    pub artifact_type: String,
    /// `sha256:` of the artifact's manifest (whose `subject` is the image).
    pub digest: String,
    /// `sha256:` of the SBOM document.
    pub document_digest: String,
    /// The document's size in bytes.
    pub size: u64,
    /// False when the form written cannot list it (an oci-archive: `podman load` refuses an
    /// archive listing two manifests); it is still pushed with `--push` alone.
    pub in_output: bool,
}

/// One platform's image of a multi-platform build.
#[derive(Debug, Clone, Serialize)]
pub struct PlatformImage {
    /// The program as named.
    pub program: String,
    /// `linux/amd64`, `linux/arm64/v8`, ...
    pub platform: String,
    /// The manifest digest.
    pub digest: String,
    /// `sha256:` of the config blob.
    pub config_digest: String,
    /// The layers, bottom first (one).
    pub layers: Vec<LayerReport>,
    /// Every file, link and explicitly added directory, in tar order.
    pub files: Vec<ImageFile>,
    /// The manifest's annotations; left out when none.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// Options after validation.
struct CheckedOptions {
    name: String,
    path: String,
    user: String,
    env: Vec<String>,
    adds: Vec<(PathBuf, String)>,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    workdir: String,
    ports: BTreeMap<String, spec::Empty>,
}

impl ImageOptions {
    /// Checks every option before any file is read or written.
    fn validate(&self) -> Result<CheckedOptions, BuildError> {
        if self.programs.len() > 1 && self.format == OutputFormat::Docker {
            return Err(BuildError::IndexAsDocker {
                count: self.programs.len(),
            });
        }
        let (name, path) = self.name_and_path()?;
        let (user, _ids) = parse_user(self.user.as_deref().unwrap_or("nonroot"))?;
        let mut env = vec![format!("PATH={}", spec::DEFAULT_PATH)];
        for kv in &self.env {
            let Some((k, _)) = kv.split_once('=').filter(|(k, _)| !k.is_empty()) else {
                return Err(BuildError::BadEnv { entry: kv.clone() });
            };
            env.retain(|e| e.split_once('=').map(|(ek, _)| ek) != Some(k));
            env.push(kv.clone());
        }
        let mut adds = Vec::new();
        for a in &self.add {
            let Some((src, dest)) = a.rsplit_once(':') else {
                return Err(BuildError::AddNotSrcDest { spec: a.clone() });
            };
            let Some(dest) = normalize_abs(dest).filter(|d| d != "/") else {
                return Err(BuildError::AddBadDest { spec: a.clone() });
            };
            if fs::symlink_metadata(src).is_err() {
                return Err(BuildError::AddMissing {
                    spec: a.clone(),
                    src: src.to_string(),
                });
            }
            adds.push((PathBuf::from(src), dest));
        }
        let workdir = match &self.workdir {
            Some(d) => {
                normalize_abs(d).ok_or_else(|| BuildError::WorkdirNotAbsolute { dir: d.clone() })?
            }
            None => "/".to_string(),
        };
        let mut ports = BTreeMap::new();
        for p in &self.expose {
            ports.insert(parse_port(p)?, spec::Empty {});
        }
        let out = &self.output;
        // A device, FIFO or /dev/stdout is written into, not replaced: no --force needed.
        let stream =
            self.format != OutputFormat::OciDir && crate::tempfiles::Output::of(out).is_stream();
        if let Ok(meta) = fs::symlink_metadata(out)
            && !stream
        {
            if !self.force {
                return Err(BuildError::OutputExists {
                    output: out.clone(),
                });
            }
            if meta.is_dir() != (self.format == OutputFormat::OciDir) {
                return Err(BuildError::OutputKind {
                    output: out.clone(),
                    is_dir: meta.is_dir(),
                    format: self.format,
                });
            }
        }
        if self.root.is_some() && !self.with_libs {
            return Err(BuildError::RootWithoutLibs);
        }
        if let Some(s) = &self.stop_signal
            && !is_signal(s)
        {
            return Err(BuildError::BadStopSignal { signal: s.clone() });
        }
        Ok(CheckedOptions {
            name,
            path,
            user,
            env,
            adds,
            labels: key_values("--label", &self.labels)?,
            annotations: key_values("--annotation", &self.annotations)?,
            workdir,
            ports,
        })
    }

    /// The reference and the program's path in the image. Both default to the programs' file
    /// name; programs with different file names need `--path`, whose file name is then the
    /// default tag.
    fn name_and_path(&self) -> Result<(String, String), BuildError> {
        let names: Vec<String> = self
            .programs
            .iter()
            .map(|p| {
                p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            })
            .collect();
        let same = names.windows(2).all(|w| w[0] == w[1]);
        let path = match &self.path {
            Some(p) => {
                normalize_abs(p).ok_or_else(|| BuildError::PathNotAbsolute { path: p.clone() })?
            }
            None if same => format!("/{}", names.first().map_or("", String::as_str)),
            None => return Err(BuildError::DifferentNames { names }),
        };
        let file_name = if same {
            names.first().cloned().unwrap_or_default()
        } else {
            path.rsplit('/').next().unwrap_or("").to_string()
        };
        let name = match &self.tag {
            Some(t) => t.clone(),
            None => file_name.to_lowercase(),
        };
        Ok((check_reference(&name, self.tag.is_none())?, path))
    }
}

/// `KEY=VALUE` entries of `flag` as a map (a later key replaces an earlier one).
fn key_values(
    flag: &'static str,
    entries: &[String],
) -> Result<BTreeMap<String, String>, BuildError> {
    let mut map = BTreeMap::new();
    for kv in entries {
        let Some((k, v)) = kv.split_once('=').filter(|(k, _)| !k.trim().is_empty()) else {
            return Err(BuildError::BadKeyValue {
                flag,
                entry: kv.clone(),
            });
        };
        map.insert(k.to_string(), v.to_string());
    }
    Ok(map)
}

/// `PORT[/tcp|/udp]` → the config's `ExposedPorts` key, `8080/tcp`.
fn parse_port(s: &str) -> Result<String, BuildError> {
    let (port, proto) = s.split_once('/').unwrap_or((s, "tcp"));
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|p| *p != 0 && port.chars().all(|c| c.is_ascii_digit()));
    match (port, proto) {
        (Some(p), "tcp" | "udp") => Ok(format!("{p}/{proto}")),
        _ => Err(BuildError::BadExpose {
            spec: s.to_string(),
        }),
    }
}

/// A signal as engines take it: a number from 1 to 64, or a name with or without `SIG`
/// (`SIGTERM`, `INT`, `SIGRTMIN+3`).
fn is_signal(s: &str) -> bool {
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<u8>().is_ok_and(|n| (1..=64).contains(&n));
    }
    let name = s.trim_start_matches("SIG");
    name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-')
}

/// `NAME[:TAG]` → `name:tag`, checked the way Docker checks references.
fn check_reference(s: &str, from_file_name: bool) -> Result<String, BuildError> {
    let (name, tag) = match s.rsplit_once(':') {
        Some((n, t)) if !t.contains('/') => (n, t),
        _ => (s, "latest"),
    };
    let name_ok = !name.is_empty()
        && name.split('/').enumerate().all(|(i, part)| {
            !part.is_empty()
                && part.chars().all(|c| {
                    c.is_ascii_lowercase()
                        || c.is_ascii_digit()
                        || matches!(c, '.' | '_' | '-')
                        || (i == 0 && c == ':')
                })
        });
    let tag_ok = !tag.is_empty()
        && tag.len() <= 128
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if name_ok && tag_ok {
        Ok(format!("{name}:{tag}"))
    } else if from_file_name {
        Err(BuildError::BadFileName {
            name: s.to_string(),
        })
    } else {
        Err(BuildError::BadTag { tag: s.to_string() })
    }
}

/// `root`, `nonroot`, `UID` or `UID:GID` → the config's `User` and the numeric ids.
fn parse_user(s: &str) -> Result<(String, (u32, u32)), BuildError> {
    match s {
        "root" => return Ok(("0:0".into(), (0, 0))),
        "nonroot" => return Ok((format!("{NONROOT}:{NONROOT}"), (NONROOT, NONROOT))),
        _ => {}
    }
    let num = |p: &str| {
        p.parse::<u32>()
            .ok()
            .filter(|_| p.chars().all(|c| c.is_ascii_digit()))
    };
    let ids = match s.split_once(':') {
        Some((u, g)) => num(u).zip(num(g)),
        None => num(s).map(|u| (u, 0)),
    };
    match ids {
        Some(ids) => Ok((s.to_string(), ids)),
        None => Err(BuildError::BadUser {
            user: s.to_string(),
        }),
    }
}

/// An absolute path with `.`, `..` and repeated slashes resolved lexically; `None` when `p`
/// is relative.
fn normalize_abs(p: &str) -> Option<String> {
    if !p.starts_with('/') {
        return None;
    }
    let mut parts: Vec<String> = Vec::new();
    for c in Path::new(p).components() {
        match c {
            Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    Some(format!("/{}", parts.join("/")))
}

/// The program, opened once and analyzed.
struct Program {
    /// The program as named.
    path: PathBuf,
    /// The program as named (mapped): the gate and the library resolution read it from here.
    input: Input,
    display: String,
    analysis: Analysis,
    needs: RuntimeNeeds,
}

/// Analyzes the program as the user named it (a shrunk or packed copy links the same way and
/// needs the same files, but a packed one hides its function names), and sizes the file that
/// goes into the image.
fn analyze_program(path: &Path) -> Result<Program, BuildError> {
    let display = path.display().to_string();
    let input = Input::open(path).map_err(|e| program_error(&display, e))?;
    let parsed = ElfFile::parse(input.bytes()).map_err(|e| program_error(&display, e))?;
    let analysis = elf::analyze_with(&parsed, elf::Detail::Summary);
    let needs = needs::runtime_needs(&parsed, &analysis, input.bytes());
    Ok(Program {
        path: path.to_path_buf(),
        input,
        display,
        analysis,
        needs,
    })
}

fn program_error(display: &str, source: crate::Error) -> BuildError {
    BuildError::Program {
        program: display.to_string(),
        source,
    }
}

/// The gate: the program must start in the image. Without `--with-libs` that is verify's
/// verdict for FROM scratch; with it, a dynamic program is fine as long as the rest passes.
fn gate(opts: &ImageOptions, prog: &Program) -> Result<(), BuildError> {
    // The bytes, not the file: the image gives the program mode 0755 whatever its mode on
    // disk, so verify's execute-bit check of the file does not apply.
    let report = verify::verify_bytes(
        &prog.path,
        &prog.display,
        prog.input.bytes(),
        &VerifyOptions::default(),
        Origin::Named,
    );
    if report.verdict == Verdict::Error {
        return Err(BuildError::Unverifiable {
            program: prog.display.clone(),
            message: report
                .problems
                .first()
                .map_or(String::new(), |f| f.message.clone()),
        });
    }
    let findings: Vec<Finding> = report
        .problems
        .into_iter()
        .filter(|f| !(opts.with_libs && f.code == Code::Dynamic))
        .map(|mut f| {
            if f.code == Code::Dynamic {
                f.hint = Some(format!(
                    "{}; or build the image with --with-libs to bundle the loader and its \
                     libraries",
                    f.hint.unwrap_or_default()
                ));
            }
            f
        })
        .collect();
    if findings.is_empty() {
        Ok(())
    } else {
        Err(BuildError::Refused {
            program: prog.display.clone(),
            findings,
        })
    }
}

/// Adds the loader and every library of a dynamic program, resolved in `--root` as the loader
/// would, at the paths the loader will open. Returns directories to add to `LD_LIBRARY_PATH`
/// (libraries found through the root's ld.so.conf, which the image's loader never reads).
fn add_libraries(
    files: &mut Files,
    opts: &ImageOptions,
    prog: &Program,
    path: &str,
) -> Result<Vec<String>, BuildError> {
    let a = &prog.analysis;
    if a.linkage != Linkage::Dynamic {
        return Ok(Vec::new());
    }
    let root = opts.root.clone().unwrap_or_else(|| PathBuf::from("/"));
    // Resolved as verify --root does (loader-exact search, symbol versions), with the
    // LD_LIBRARY_PATH the image's Env will give the program.
    let ropts = resolve::ResolveOptions {
        ld_library_path: opts
            .env
            .iter()
            .rev()
            .find_map(|kv| kv.strip_prefix("LD_LIBRARY_PATH="))
            .map(str::to_string),
        ..resolve::ResolveOptions::default()
    };
    let parsed = ElfFile::parse(prog.input.bytes()).map_err(|e| program_error(&prog.display, e))?;
    let res = resolve::resolve(&root, &parsed, path, &ropts);
    let mut findings = Vec::new();
    let mut warnings = Vec::new();
    verify::root_findings(&root, a, &res, &mut findings, &mut warnings);
    if !findings.is_empty() {
        return Err(BuildError::Refused {
            program: prog.display.clone(),
            findings,
        });
    }
    // The host file behind each image path; a file placed twice becomes a symlink to the first.
    let mut placed: HashMap<PathBuf, String> = HashMap::new();
    let mut place = |files: &mut Files,
                     image_path: &str,
                     kind: &'static str,
                     why: String|
     -> Result<(), BuildError> {
        let image_path = normalize_abs(image_path).unwrap_or_else(|| image_path.to_string());
        let host =
            resolve::resolve_in_root(&root, &image_path).ok_or_else(|| BuildError::Vanished {
                path: image_path.clone(),
                root: root.clone(),
            })?;
        let real = fs::canonicalize(&host).map_err(io_err(host.display().to_string()))?;
        let owner = Occupant::Bundled {
            kind,
            why: why.clone(),
        };
        let entry = match placed.get(&real) {
            Some(first) if *first != image_path => {
                LayerEntry::symlink(first.clone(), format!("{why} (link to {first})"))
            }
            _ => {
                let size = fs::metadata(&real)
                    .map_err(io_err(real.display().to_string()))?
                    .len();
                placed.insert(real.clone(), image_path.clone());
                LayerEntry::file(real, size, 0o755, why)
            }
        };
        files.put(&image_path, entry, &owner)
    };
    if let Some(interp) = &a.interpreter {
        place(files, interp, "loader", format!("loader of {path}"))?;
    }
    // The image has no ld.so.cache: a library the root's cache found outside the loader's
    // default directories gets its directory in LD_LIBRARY_PATH (the other search steps work
    // the same in the image as in the root).
    let mut extra_dirs = Vec::new();
    let found = res
        .libraries
        .iter()
        .filter_map(|l| Some((l, l.path.as_deref()?, l.found_via?)));
    for (lib, found, via) in found {
        if via == resolve::FoundVia::Loader {
            continue; // the loader itself, placed above
        }
        let norm = normalize_abs(found).unwrap_or_else(|| found.to_string());
        place(
            files,
            &norm,
            "library",
            format!("DT_NEEDED of {}", lib.needed_by),
        )?;
        let dir = norm[..norm.rfind('/').unwrap_or(0).max(1)].to_string();
        if via == resolve::FoundVia::Cache
            && !res
                .default_dirs
                .iter()
                .any(|d| d.trim_end_matches('/') == dir)
            && !extra_dirs.contains(&dir)
        {
            extra_dirs.push(dir);
        }
    }
    if let Some(interp) = a.interpreter.as_deref().filter(|i| i.contains("ld-musl")) {
        // The loader's own search path file, the one the resolution read.
        let (_, conf) = resolve::loader::musl_dirs(&root, interp, &a.machine);
        if let Some(conf) = conf
            && let Some(host) = resolve::resolve_in_root(&root, &conf)
        {
            let size = fs::metadata(&host).map_err(io_err(conf.clone()))?.len();
            let why = "library path of the musl loader";
            files.put(
                &conf,
                LayerEntry::file(host, size, 0o644, why),
                &Occupant::Bundled {
                    kind: "library path file",
                    why: why.into(),
                },
            )?;
        }
        extra_dirs.clear();
    }
    Ok(extra_dirs)
}

/// The run-time files: passwd and group, /tmp, and what the analysis (or the flags) ask for.
/// `user` is the config's `User` (`65532:65532`, `0:0`, `UID[:GID]`), which the listing names.
fn add_runtime_files(
    files: &mut Files,
    opts: &ImageOptions,
    prog: &Program,
    user: &str,
) -> Result<(), BuildError> {
    // Always: the image runs as nonroot by default, and getpwuid / user.Current / whoami need
    // an entry for the running uid; a few hundred bytes.
    let why_users = if prog.needs.users {
        "looks up users and groups (os/user)".to_string()
    } else {
        let who = match user {
            "0:0" => "root, 0".to_string(),
            u if u == format!("{NONROOT}:{NONROOT}") => format!("nonroot, {NONROOT}"),
            u => u.to_string(),
        };
        format!("user and group names (the image runs as {who})")
    };
    let users = Occupant::Generated {
        what: "user and group names",
    };
    files.put(
        "/etc/passwd",
        LayerEntry::bytes(
            b"root:x:0:0:root:/root:/sbin/nologin\n\
              nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n\
              nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
                .to_vec(),
            0o644,
            why_users.as_str(),
        ),
        &users,
    )?;
    files.put(
        "/etc/group",
        LayerEntry::bytes(
            b"root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n".to_vec(),
            0o644,
            why_users,
        ),
        &users,
    )?;
    // nonroot's home, only for an image that runs as nonroot: under another user (`--user`,
    // or a source's User with `--from`) it is an empty directory nobody owns.
    if user == format!("{NONROOT}:{NONROOT}") {
        let mut home = LayerEntry::dir(0o700, Some("home of nonroot".into()));
        home.uid = NONROOT;
        home.gid = NONROOT;
        files.put("/home/nonroot", home, &users)?;
    }
    // Always: os.CreateTemp, mkstemp and tmpfile() write to /tmp; an empty directory is free.
    files.put(
        "/tmp",
        LayerEntry::dir(0o1777, Some("temporary files".into())),
        &Occupant::Generated {
            what: "temporary directory",
        },
    )?;
    if prog.needs.go_resolver {
        files.put(
            "/etc/nsswitch.conf",
            LayerEntry::bytes(
                b"hosts: files dns\n".to_vec(),
                0o644,
                "Go's resolver reads the lookup order (uses net)",
            ),
            &Occupant::Generated {
                what: "host lookup order",
            },
        )?;
    }
    if let Some(src) = wanted(
        &opts.ca_certs,
        prog.needs.certs,
        CA_BUNDLE,
        "--ca-certs",
        "ca-certificates",
    )? {
        let meta = fs::metadata(&src).map_err(io_err(src.display().to_string()))?;
        if !meta.is_file() {
            return Err(BuildError::CaCertsNotFile { path: src });
        }
        let why = if prog.needs.certs {
            "loads system root certificates"
        } else {
            "--ca-certs"
        };
        files.put(
            CA_BUNDLE,
            LayerEntry::file(src, meta.len(), 0o644, why),
            &Occupant::RuntimeFiles { flag: "--ca-certs" },
        )?;
    }
    if let Some(src) = wanted(
        &opts.tzdata,
        prog.needs.zoneinfo,
        ZONEINFO,
        "--tzdata",
        "tzdata",
    )? {
        if !src.is_dir() {
            return Err(BuildError::TzdataNotDir { path: src });
        }
        let why = if prog.needs.zoneinfo {
            "loads time zones"
        } else {
            "--tzdata"
        };
        add_tree(
            files,
            &src,
            ZONEINFO,
            why,
            &Occupant::RuntimeFiles { flag: "--tzdata" },
        )?;
    }
    Ok(())
}

/// The host source of a run-time file tree, or `None` when it is not to be added.
fn wanted(
    p: &Provide,
    needed: bool,
    default: &str,
    flag: &'static str,
    package: &'static str,
) -> Result<Option<PathBuf>, BuildError> {
    let src = match p {
        Provide::No => return Ok(None),
        Provide::Auto if !needed => return Ok(None),
        Provide::From(path) => path.clone(),
        Provide::Auto | Provide::Yes => PathBuf::from(default),
    };
    if fs::metadata(&src).is_err() {
        return Err(BuildError::RuntimeFilesMissing {
            flag,
            needed: matches!(p, Provide::Auto),
            src,
            package,
        });
    }
    Ok(Some(src))
}

/// Adds a host file or directory tree at `dest`: files keep their permission bits, as COPY
/// does (a 0600 file stays 0600), directories get read and search for everyone added, so the
/// files in them can be reached; relative symlinks stay
/// links, absolute ones are replaced by what they point at. Only the top entry carries `why`
/// (a directory's `size` is then the bytes of its files), so the report lists a tree once.
fn add_tree(
    files: &mut Files,
    src: &Path,
    dest: &str,
    why: &str,
    owner: &Occupant,
) -> Result<(), BuildError> {
    let total = add_tree_at(files, src, dest, (why, owner), 0, false)?;
    if let Some(top) = files.tree.get_mut(dest) {
        top.why = Some(why.to_string());
        if top.is_dir() {
            top.size = total;
        }
    }
    Ok(())
}

fn add_tree_at(
    files: &mut Files,
    src: &Path,
    dest: &str,
    (why, owner): (&str, &Occupant),
    depth: usize,
    inside: bool,
) -> Result<u64, BuildError> {
    // A named SRC that is a symlink is followed, and a chain of them could loop.
    if depth > 64 {
        return Err(BuildError::TooDeep {
            path: src.to_path_buf(),
        });
    }
    let meta = fs::symlink_metadata(src).map_err(io_err(src.display().to_string()))?;
    let ft = meta.file_type();
    let quiet = |mut e: LayerEntry| {
        e.why = None;
        e
    };
    if ft.is_symlink() {
        let target = fs::read_link(src).map_err(io_err(src.display().to_string()))?;
        // Inside a tree a link is copied as a link, whatever it points at, as COPY does: an
        // absolute one (zoneinfo's `localtime -> /etc/localtime`) names a path of the image,
        // and following it would copy the build machine's files (or fail where it dangles).
        if target.is_relative() || inside {
            let link = LayerEntry::symlink(target.to_string_lossy().into_owned(), why);
            files.put(dest, quiet(link), owner)?;
            return Ok(0);
        }
        let real = fs::canonicalize(src).map_err(io_err(src.display().to_string()))?;
        return add_tree_at(files, &real, dest, (why, owner), depth + 1, false);
    }
    let mode = meta.permissions().mode() & 0o7777;
    if ft.is_dir() {
        files.put(dest, LayerEntry::dir(mode | 0o555, None), owner)?;
        let mut names: Vec<_> = fs::read_dir(src)
            .map_err(io_err(src.display().to_string()))?
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        names.sort();
        let mut total = 0;
        for n in names {
            let d = format!("{}/{}", dest.trim_end_matches('/'), n.to_string_lossy());
            total += add_tree_at(files, &src.join(&n), &d, (why, owner), depth + 1, true)?;
        }
        Ok(total)
    } else if ft.is_file() {
        let file = LayerEntry::file(src.to_path_buf(), meta.len(), mode, why);
        files.put(dest, quiet(file), owner)?;
        Ok(meta.len())
    } else {
        Err(BuildError::NotAddable {
            path: src.to_path_buf(),
        })
    }
}

/// Builds the image and writes it to `opts.output`. Nothing is written when it fails.
pub fn build(opts: &ImageOptions) -> Result<ImageReport, BuildError> {
    prepare(opts)?.write(None)
}

/// One program with its platform, analyzed and gated.
struct Target {
    prog: Program,
    arch: &'static str,
    variant: Option<String>,
}

impl Target {
    fn platform(&self) -> String {
        match &self.variant {
            Some(v) => format!("linux/{}/{v}", self.arch),
            None => format!("linux/{}", self.arch),
        }
    }
}

/// Everything a build decides before it makes a file: the options checked, each program
/// analyzed (as named) and passed through the gate. A caller that puts a shrunk copy into the
/// image (`--shrink`) prepares first, so a refusal costs no shrinking.
pub struct Prepared<'o> {
    opts: &'o ImageOptions,
    checked: CheckedOptions,
    targets: Vec<Target>,
}

/// The checks of [`build`], without writing anything: the options, then each program in
/// turn (a refusal names it), then that no two programs are of the same platform.
pub fn prepare(opts: &ImageOptions) -> Result<Prepared<'_>, BuildError> {
    let checked = opts.validate()?;
    let mut targets: Vec<Target> = Vec::new();
    for program in &opts.programs {
        let prog = analyze_program(program)?;
        let a = &prog.analysis;
        let (arch, variant) = spec::oci_arch(&a.machine).ok_or_else(|| BuildError::NoPlatform {
            program: prog.display.clone(),
            machine: a.machine.clone(),
        })?;
        let variant = spec::oci_variant(a.cpu_level.as_ref(), variant);
        gate(opts, &prog)?;
        let target = Target {
            prog,
            arch,
            variant,
        };
        if let Some(first) = targets.iter().find(|t| t.platform() == target.platform()) {
            return Err(BuildError::SamePlatform {
                first: first.prog.display.clone(),
                second: target.prog.display.clone(),
                platform: target.platform(),
            });
        }
        targets.push(target);
    }
    Ok(Prepared {
        opts,
        checked,
        targets,
    })
}

impl Prepared<'_> {
    /// The programs as named, in order (for a caller that shrinks a copy of each).
    pub fn programs(&self) -> Vec<&Path> {
        self.targets.iter().map(|t| t.prog.path.as_path()).collect()
    }

    /// Builds and writes the image, with `copies` (a shrunk copy of each program, in order)
    /// in place of the programs as named when given.
    pub fn write(self, copies: Option<&[PathBuf]>) -> Result<ImageReport, BuildError> {
        let opts = self.opts;
        let built = self.build(copies)?;
        built.write(opts)?;
        Ok(built.report)
    }

    /// Builds the image in memory, checked with the rules of `verify --image`, without
    /// writing it.
    pub fn build(self, copies: Option<&[PathBuf]>) -> Result<Built, BuildError> {
        let Prepared {
            opts,
            checked,
            targets,
        } = self;
        let mut images = Vec::new();
        for (i, target) in targets.iter().enumerate() {
            let copy = copies.and_then(|c| c.get(i)).map(PathBuf::as_path);
            images.push(build_platform(opts, &checked, target, copy)?);
        }
        if images.len() == 1 {
            let (blobs, p) = images.pop().expect("one image");
            let report = ImageReport {
                reference: checked.name.clone(),
                digest: p.digest,
                format: opts.format.as_str(),
                platform: p.platform,
                config_digest: p.config_digest,
                layers: p.layers,
                files: p.files,
                annotations: p.annotations,
                manifests: Vec::new(),
                sbom: None,
            };
            let built = Built {
                layout: BuiltLayout::Image(blobs),
                report,
                referrers: Vec::new(),
            };
            return built.with_sbom(opts, &checked, &targets, copies);
        }
        let (blobs, reports): (Vec<Blobs>, Vec<PlatformImage>) = images.into_iter().unzip();
        let index = assemble_index(blobs, &targets, checked.name.clone());
        let report = ImageReport {
            reference: checked.name.clone(),
            digest: index.1.digest.clone(),
            format: opts.format.as_str(),
            platform: String::new(),
            config_digest: String::new(),
            layers: Vec::new(),
            files: Vec::new(),
            annotations: index.0,
            manifests: reports,
            sbom: None,
        };
        let built = Built {
            layout: BuiltLayout::Index(index.1),
            report,
            referrers: Vec::new(),
        };
        built.with_sbom(opts, &checked, &targets, copies)
    }
}

/// What a built image holds, in memory.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum BuiltLayout {
    /// One image.
    Image(Blobs),
    /// A multi-platform image index.
    Index(IndexBlobs),
}

/// An image built and checked, not yet written: its blobs and its report.
#[derive(Debug, Clone)]
pub struct Built {
    /// The blobs.
    pub layout: BuiltLayout,
    /// What the report says of it.
    pub report: ImageReport,
    /// The artifacts that refer to it (the SBOM), written beside it.
    pub referrers: Vec<Artifact>,
}

impl Built {
    /// The blobs as the layout writer takes them.
    pub fn layout(&self) -> Layout<'_> {
        match &self.layout {
            BuiltLayout::Image(b) => Layout::Image(b),
            BuiltLayout::Index(ix) => Layout::Index(ix),
        }
    }

    /// Writes the image to `opts.output` in `opts.format` ([`write_output`]).
    pub fn write(&self, opts: &ImageOptions) -> Result<(), BuildError> {
        write_output(opts, self.layout(), &self.referrers)
    }

    /// The descriptor of the image: its manifest, or the index of several platforms.
    fn descriptor(&self) -> Descriptor {
        let (media_type, digest, size) = match &self.layout {
            BuiltLayout::Image(b) => (MEDIA_MANIFEST, &b.digests[1], b.manifest.len()),
            BuiltLayout::Index(ix) => (MEDIA_INDEX, &ix.digest, ix.index.len()),
        };
        Descriptor {
            media_type: media_type.into(),
            digest: digest.clone(),
            size: size as u64,
            platform: None,
            artifact_type: None,
            annotations: BTreeMap::new(),
        }
    }

    /// Adds the SBOM of what the image holds (`opts.sbom`) as an artifact whose subject is
    /// the image: the programs put in (their copies when given, named by their path in the
    /// image) and, with `--with-libs`, the loader and libraries from the root, with their
    /// dpkg owners. The subject of a multi-platform image is its index: the document
    /// describes every platform's program, and the index is what the tag names (what
    /// `cosign`/`oras attach` to a tag refer to).
    fn with_sbom(
        mut self,
        opts: &ImageOptions,
        checked: &CheckedOptions,
        targets: &[Target],
        copies: Option<&[PathBuf]>,
    ) -> Result<Built, BuildError> {
        let Some(format) = opts.sbom else {
            return Ok(self);
        };
        let programs: Vec<PathBuf> = targets
            .iter()
            .enumerate()
            .map(|(i, t)| {
                copies
                    .and_then(|c| c.get(i))
                    .cloned()
                    .unwrap_or_else(|| t.prog.path.clone())
            })
            .collect();
        let sopts = crate::sbom::SbomOptions {
            with_libs: opts.with_libs,
            root: opts.root.clone(),
            image_paths: vec![checked.path.clone(); programs.len()],
        };
        let doc = crate::sbom::build(&programs, &sopts, opts.mtime).map_err(BuildError::Sbom)?;
        let artifact = sbom_artifact(format, format.render(&doc), self.descriptor());
        self.report.sbom = Some(SbomReport {
            artifact_type: artifact.artifact_type.clone(),
            digest: artifact.digest.clone(),
            document_digest: artifact.blobs[1].0.clone(),
            size: artifact.blobs[1].1.len() as u64,
            in_output: layout::holds_referrers(self.layout(), opts.format),
        });
        self.referrers.push(artifact);
        Ok(self)
    }
}

/// The OCI 1.1 artifact of an SBOM `document` that refers to `subject`: a manifest with the
/// `artifactType`, the empty config (`{}`), one layer (the document) and the `subject`.
fn sbom_artifact(format: crate::sbom::Format, document: Vec<u8>, subject: Descriptor) -> Artifact {
    let media_type = format.media_type();
    let descriptor = |media_type: &str, bytes: &[u8]| Descriptor {
        media_type: media_type.into(),
        digest: spec::digest_of(bytes),
        size: bytes.len() as u64,
        platform: None,
        artifact_type: None,
        annotations: BTreeMap::new(),
    };
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(MEDIA_MANIFEST.into()),
        artifact_type: Some(media_type.into()),
        config: descriptor(spec::MEDIA_EMPTY, spec::EMPTY_JSON),
        layers: vec![descriptor(media_type, &document)],
        subject: Some(subject),
        annotations: BTreeMap::new(),
    };
    let bytes = serde_json::to_vec(&manifest).expect("manifest serializes");
    Artifact {
        artifact_type: media_type.into(),
        digest: spec::digest_of(&bytes),
        manifest: bytes,
        blobs: vec![
            (spec::digest_of(spec::EMPTY_JSON), spec::EMPTY_JSON.to_vec()),
            (spec::digest_of(&document), document),
        ],
    }
}

/// The files of one platform's layer: the program (or its shrunk copy, `source`), what
/// `--with-libs` bundles, the run-time files, `--add` and the working directory. Returns the
/// tree and the config's `Env` (with the `LD_LIBRARY_PATH` bundling may need).
fn layer_files(
    opts: &ImageOptions,
    checked: &CheckedOptions,
    prog: &Program,
    source: Option<&Path>,
) -> Result<(Tree, Vec<String>), BuildError> {
    let (source, size) = match source {
        Some(p) => (
            p.to_path_buf(),
            fs::metadata(p)
                .map_err(io_err(p.display().to_string()))?
                .len(),
        ),
        None => (prog.path.clone(), prog.input.bytes().len() as u64),
    };
    let mut files = Files {
        tree: Tree::new(),
        owners: HashMap::new(),
        replace: opts.replace,
    };
    let path = checked.path.clone();
    files.put(
        &path,
        LayerEntry::file(source, size, 0o755, "program"),
        &Occupant::Program {
            path: opts.path.clone(),
        },
    )?;
    let mut env = checked.env.clone();
    if opts.with_libs {
        let dirs = add_libraries(&mut files, opts, prog, &path)?;
        if !dirs.is_empty() {
            // After the user's own LD_LIBRARY_PATH (searched first, as given), never instead.
            match env.iter_mut().find(|e| e.starts_with("LD_LIBRARY_PATH=")) {
                Some(e) => e.push_str(&format!(":{}", dirs.join(":"))),
                None => env.push(format!("LD_LIBRARY_PATH={}", dirs.join(":"))),
            }
        }
    }
    add_runtime_files(&mut files, opts, prog, &checked.user)?;
    for (spec, (src, dest)) in opts.add.iter().zip(&checked.adds) {
        if *dest == path {
            return Err(BuildError::AddOverProgram {
                src: src.clone(),
                dest: dest.clone(),
            });
        }
        let owner = Occupant::Added { spec: spec.clone() };
        add_tree(&mut files, src, dest, "--add", &owner)?;
    }
    // The working directory exists in the image, as Dockerfile's WORKDIR makes it.
    let wd = &checked.workdir;
    match files.tree.get(wd) {
        _ if wd == "/" => {}
        Some(e) if e.is_dir() => {}
        Some(_) => return Err(BuildError::WorkdirNotDir { dir: wd.clone() }),
        None => files.put(
            wd,
            LayerEntry::dir(0o755, Some("working directory (--workdir)".into())),
            &Occupant::Generated {
                what: "working directory",
            },
        )?,
    }
    Ok((files.tree, env))
}

/// One platform's image: the layer, the config and the manifest, checked with the rules of
/// `verify --image` ([`check_before_writing`]).
fn build_platform(
    opts: &ImageOptions,
    checked: &CheckedOptions,
    target: &Target,
    source: Option<&Path>,
) -> Result<(Blobs, PlatformImage), BuildError> {
    let prog = &target.prog;
    let (tree, env) = layer_files(opts, checked, prog, source)?;
    let written = layer::write_layer(&tree, opts.mtime, opts.compression)
        .map_err(io_err("writing the layer"))?;
    let path = &checked.path;
    let mut entrypoint = vec![path.clone()];
    entrypoint.extend(opts.args.iter().cloned());
    let (entrypoint, cmd) = if opts.program_in_cmd {
        entrypoint.extend(opts.cmd.iter().cloned());
        (None, Some(entrypoint))
    } else {
        (
            Some(entrypoint),
            Some(opts.cmd.clone()).filter(|c| !c.is_empty()),
        )
    };
    let config = ImageConfig {
        architecture: target.arch.into(),
        os: "linux".into(),
        variant: target.variant.clone(),
        config: RunConfig {
            user: Some(checked.user.clone()),
            exposed_ports: some_map(&checked.ports),
            env: Some(env),
            entrypoint,
            cmd,
            working_dir: Some(checked.workdir.clone()),
            labels: some_map(&checked.labels),
            stop_signal: opts.stop_signal.clone(),
        },
        ..ImageConfig::default()
    };
    let layer_report = LayerReport {
        digest: written.digest.clone(),
        size: written.blob.len() as u64,
        media_type: written.compression.media_type(),
        diff_id: written.diff_id.clone(),
        uncompressed_size: written.uncompressed_size,
    };
    // The user's annotations over those of the Go build's VCS information.
    let mut annotations = vcs_annotations(prog.analysis.go.as_ref(), opts);
    annotations.extend(checked.annotations.clone());
    let blobs = assemble(
        config,
        written,
        opts.mtime,
        path,
        checked.name.clone(),
        annotations.clone(),
    );
    check_before_writing(&prog.display, &blobs)?;
    let [config_digest, digest, _] = blobs.digests.clone();
    let files = tree
        .iter()
        .filter_map(|(p, e)| {
            e.why.as_ref().map(|why| ImageFile {
                path: p,
                size: e.size,
                mode: format!("{:04o}", e.mode),
                why: why.clone(),
            })
        })
        .collect();
    let report = PlatformImage {
        program: prog.display.clone(),
        platform: target.platform(),
        digest,
        config_digest,
        layers: vec![layer_report],
        files,
        annotations,
    };
    Ok((blobs, report))
}

/// `Some` of a copy of `m`, `None` when it is empty (left out of the config).
fn some_map<V: Clone>(m: &BTreeMap<String, V>) -> Option<BTreeMap<String, V>> {
    Some(m.clone()).filter(|m| !m.is_empty())
}

/// The OCI annotations a Go build's VCS information gives (`go version -m`: `vcs.revision`,
/// `vcs.time`, the main module): the revision, the creation time (`SOURCE_DATE_EPOCH`'s when
/// set, else the commit's) and the source repository when the module path names one on
/// github.com, gitlab.com or bitbucket.org. None without `vcs.revision`.
fn vcs_annotations(go: Option<&GoBuildInfo>, opts: &ImageOptions) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    let Some(go) = go else { return a };
    let Some(rev) = go.settings.get("vcs.revision").filter(|r| !r.is_empty()) else {
        return a;
    };
    a.insert(spec::ANNOTATION_REVISION.to_string(), rev.clone());
    let created = if opts.source_date_epoch {
        Some(rfc3339(opts.mtime))
    } else {
        go.settings.get("vcs.time").cloned()
    };
    if let Some(t) = created.filter(|t| !t.is_empty()) {
        a.insert(spec::ANNOTATION_CREATED.to_string(), t);
    }
    if let Some(url) = go.main_module.as_deref().and_then(source_url) {
        a.insert(spec::ANNOTATION_SOURCE.to_string(), url);
    }
    a
}

/// `https://HOST/OWNER/REPO` for a module path on a host whose first two path elements name
/// the repository (github.com, gitlab.com, bitbucket.org); `None` for any other path.
fn source_url(module: &str) -> Option<String> {
    let mut parts = module.split('/');
    let host = parts.next()?;
    if !matches!(host, "github.com" | "gitlab.com" | "bitbucket.org") {
        return None;
    }
    let owner = parts.next().filter(|p| !p.is_empty())?;
    let repo = parts.next().filter(|p| !p.is_empty())?;
    let repo = repo.strip_suffix(".git").unwrap_or(repo);
    Some(format!("https://{host}/{owner}/{repo}"))
}

/// The image index over the platforms' images, each manifest with its platform. The index's
/// annotations are those every manifest carries with the same value: the user's, and the
/// VCS ones where the programs agree (a revision is left to the manifests when they differ).
fn assemble_index(
    images: Vec<Blobs>,
    targets: &[Target],
    reference: String,
) -> (BTreeMap<String, String>, IndexBlobs) {
    let manifests: Vec<Manifest> = images
        .iter()
        .map(|b| serde_json::from_slice(&b.manifest).expect("our manifest parses"))
        .collect();
    let mut annotations = manifests
        .first()
        .map(|m| m.annotations.clone())
        .unwrap_or_default();
    annotations.retain(|k, v| manifests.iter().all(|m| m.annotations.get(k) == Some(&*v)));
    let index = Index {
        schema_version: 2,
        media_type: Some(MEDIA_INDEX.into()),
        manifests: images
            .iter()
            .zip(targets)
            .map(|(b, t)| Descriptor {
                media_type: MEDIA_MANIFEST.into(),
                digest: b.digests[1].clone(),
                size: b.manifest.len() as u64,
                platform: Some(PlatformSpec {
                    architecture: t.arch.into(),
                    os: "linux".into(),
                    variant: t.variant.clone(),
                }),
                artifact_type: None,
                annotations: BTreeMap::new(),
            })
            .collect(),
        annotations: annotations.clone(),
    };
    let bytes = serde_json::to_vec(&index).expect("index serializes");
    let blobs = IndexBlobs {
        images,
        digest: spec::digest_of(&bytes),
        index: bytes,
        reference,
    };
    (annotations, blobs)
}

/// Checks the finished image with the rules of `verify --image` before anything is written:
/// its archive (made in memory from the blobs that will be written) read back and merged as an
/// engine would, and its entrypoint checked with the config's `Env` and platform. An image
/// whose program would not start is refused, whatever put it in that state.
fn check_before_writing(program: &str, blobs: &Blobs) -> Result<(), BuildError> {
    // The archive goes to an unlinked-on-drop temporary file, not a second copy of the layer in
    // memory: the reader takes a regular file in place (and spools only the ELF files of the
    // gzip layer), so checking costs no more memory than the blobs already held.
    let context = "checking the image before writing it";
    let tmp = tempfile::Builder::new()
        .prefix(".binslim-check-")
        .tempfile()
        .map_err(io_err(context))?;
    let file = layout::write_archive(
        BufWriter::new(tmp.as_file()),
        blobs,
        &[],
        OutputFormat::Oci,
        0,
    )
    .map_err(io_err(context))?;
    file.into_inner()
        .map_err(|e| e.into_error())
        .map_err(io_err(context))?;
    // A packed copy (--upx) is checked unpacked, as `verify --image` does.
    let opts = verify::image::ImageVerifyOptions {
        upx: crate::upx::find(None).ok(),
        ..verify::image::ImageVerifyOptions::default()
    };
    let source = crate::image::read::ImageSource::Path(tmp.path().to_path_buf());
    let images =
        crate::image::read::read_image(&source, None, &opts.limits).map_err(BuildError::Check)?;
    let findings: Vec<Finding> = images
        .iter()
        .flat_map(|img| verify::image::check_image(img, "the image", &opts))
        .filter(|r| r.verdict != Verdict::Pass)
        .flat_map(|r| r.problems)
        .collect();
    if findings.is_empty() {
        Ok(())
    } else {
        Err(BuildError::ImageWouldNotStart {
            program: program.to_string(),
            findings,
        })
    }
}

/// Completes the config (creation time, history, the layer's diff_id), and makes the config
/// and manifest blobs around the written layer. The history names the program by its path in
/// the image (`image_path`): how it was named on the build machine (`hs`, `./hs`, `/home/me/hs`)
/// must not change the digest, nor show the machine's directories.
fn assemble(
    mut config: ImageConfig,
    layer: layer::WrittenLayer,
    mtime: u64,
    image_path: &str,
    reference: String,
    annotations: BTreeMap<String, String>,
) -> Blobs {
    let created = rfc3339(mtime);
    config.created = Some(created.clone());
    config.rootfs = RootFs {
        diff_ids: vec![layer.diff_id.clone()],
        ..RootFs::default()
    };
    config.history = vec![History {
        created: Some(created),
        created_by: Some(format!("binslim image {image_path}")),
        comment: Some("binslim".into()),
        empty_layer: false,
    }];
    let config_bytes = serde_json::to_vec(&config).expect("config serializes");
    let config_digest = spec::digest_of(&config_bytes);
    let descriptor = |media_type: &str, digest: &str, size: usize| Descriptor {
        media_type: media_type.into(),
        digest: digest.into(),
        size: size as u64,
        platform: None,
        artifact_type: None,
        annotations: BTreeMap::new(),
    };
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(MEDIA_MANIFEST.into()),
        config: descriptor(MEDIA_CONFIG, &config_digest, config_bytes.len()),
        layers: vec![descriptor(
            layer.compression.media_type(),
            &layer.digest,
            layer.blob.len(),
        )],
        annotations,
        artifact_type: None,
        subject: None,
    };
    let manifest_bytes = serde_json::to_vec(&manifest).expect("manifest serializes");
    Blobs {
        digests: [
            config_digest,
            spec::digest_of(&manifest_bytes),
            layer.digest,
        ],
        config: config_bytes,
        manifest: manifest_bytes,
        layer: layer.blob,
        reference,
    }
}

/// Writes the chosen form to a locked temporary name beside the output and puts it in place
/// (synced, renamed, the directory synced); an old layout directory is exchanged with the new
/// one in one step and removed after ([`TempDir::commit`]).
fn write_output(
    opts: &ImageOptions,
    blobs: Layout<'_>,
    referrers: &[Artifact],
) -> Result<(), BuildError> {
    let out = &opts.output;
    let dir = tempfiles::dir_of(out);
    let ctx = || format!("writing {}", out.display());
    if opts.format == OutputFormat::OciDir {
        let tmp = TempDir::new_in(&dir).map_err(io_err(ctx()))?;
        layout::write_dir(tmp.path(), blobs, referrers).map_err(io_err(ctx()))?;
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755))
            .map_err(io_err(ctx()))?;
        // Still locked while it is put in place: a clean-up cannot take it for a leftover.
        tmp.commit(out).map_err(io_err(ctx()))?;
        return Ok(());
    }
    tempfiles::write_replacing(out, |f| {
        let w = BufWriter::with_capacity(1 << 20, f);
        layout::write_archive(w, blobs, referrers, opts.format, opts.mtime)?.flush()
    })
    .map_err(io_err(ctx()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_signals() {
        for ok in ["SIGTERM", "INT", "SIGRTMIN+3", "9", "64"] {
            assert!(is_signal(ok), "{ok}");
        }
        for bad in ["", "SIG", "0", "65", "SIG TERM", "-9", "SIG;"] {
            assert!(!is_signal(bad), "{bad}");
        }
    }

    #[test]
    fn users_and_references() {
        assert_eq!(parse_user("nonroot").unwrap().0, "65532:65532");
        assert_eq!(parse_user("root").unwrap().1, (0, 0));
        assert_eq!(parse_user("1000:1001").unwrap().1, (1000, 1001));
        assert_eq!(parse_user("1000").unwrap().0, "1000");
        assert!(parse_user("bob").is_err());
        assert!(parse_user("1:x").is_err());
        assert!(parse_user("+1").is_err());
        assert_eq!(check_reference("server", true).unwrap(), "server:latest");
        assert_eq!(
            check_reference("me/app:v1.2", false).unwrap(),
            "me/app:v1.2"
        );
        assert_eq!(
            check_reference("localhost:5000/app", false).unwrap(),
            "localhost:5000/app:latest"
        );
        assert!(check_reference("App", false).is_err());
        assert!(check_reference("app:", false).is_err());
    }

    fn testdata(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata")
            .join(name)
    }

    /// Options for `testdata/go-static` written into `dir`, changed by `f`.
    fn opts(dir: &Path, f: impl FnOnce(&mut ImageOptions)) -> ImageOptions {
        let mut o = ImageOptions::new(testdata("go-static"), dir.join("out.tar"));
        f(&mut o);
        o
    }

    fn validate_err(o: &ImageOptions) -> String {
        match o.validate() {
            Ok(_) => panic!("{o:?} validated"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn option_errors_say_what_to_pass() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let err = |f: fn(&mut ImageOptions)| validate_err(&opts(d, f));
        assert_eq!(
            err(|o| o.add = vec!["nocolon".into()]),
            "--add 'nocolon': use SRC:DEST, e.g. ./static:/srv/static"
        );
        assert_eq!(
            err(|o| o.add = vec!["/etc:/".into()]),
            "--add '/etc:/': DEST must be an absolute path other than /"
        );
        assert_eq!(
            err(|o| o.add = vec!["/no/such:/x".into()]),
            "--add '/no/such:/x': /no/such does not exist"
        );
        assert_eq!(
            err(|o| o.path = Some("server".into())),
            "--path 'server': give an absolute path such as /server"
        );
        assert_eq!(
            err(|o| o.env = vec!["=x".into()]),
            "--env '=x': use KEY=VALUE"
        );
        assert_eq!(
            err(|o| o.user = Some("bob".into())),
            "--user 'bob': use root, nonroot (65532), UID or UID:GID"
        );
        assert!(matches!(
            opts(d, |o| o.tag = Some("Bad:tag".into())).validate(),
            Err(BuildError::BadTag { tag }) if tag == "Bad:tag"
        ));
        assert_eq!(
            err(|o| o.programs = vec![PathBuf::from("/x/bad name")]),
            "the file name 'bad name' is not a valid image name: pass --tag NAME[:TAG] \
             (lowercase letters, digits, '.', '_', '-', '/')"
        );
        assert_eq!(
            err(|o| o.root = Some("/".into())),
            "--root is where --with-libs resolves libraries: pass --with-libs too"
        );
    }

    #[test]
    fn an_existing_output_needs_force_and_the_right_kind() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(d.join("out.tar"), b"").unwrap();
        let out = d.join("out.tar").display().to_string();
        assert_eq!(
            validate_err(&opts(d, |_| {})),
            format!("{out} already exists: pass --force to replace it")
        );
        let o = opts(d, |o| {
            o.force = true;
            o.format = OutputFormat::OciDir;
        });
        assert_eq!(
            validate_err(&o),
            format!("{out} is a file: --format oci-dir writes a directory")
        );
        let o = opts(d, |o| {
            o.output = d.to_path_buf();
            o.force = true;
        });
        assert_eq!(
            validate_err(&o),
            format!(
                "{} is a directory: --format docker writes a file",
                d.display()
            )
        );
    }

    #[test]
    fn run_time_file_errors_name_the_flag_and_the_package() {
        let dir = tempfile::tempdir().unwrap();
        let o = opts(dir.path(), |o| {
            o.ca_certs = Provide::From("/no/such.crt".into());
        });
        let err = prepare(&o).unwrap().write(None).unwrap_err().to_string();
        assert_eq!(
            err,
            "--ca-certs: /no/such.crt does not exist on this machine: install ca-certificates, \
             pass --ca-certs FILE, or --ca-certs no"
        );
        let auto = BuildError::RuntimeFilesMissing {
            flag: "--tzdata",
            needed: true,
            src: ZONEINFO.into(),
            package: "tzdata",
        };
        assert_eq!(
            auto.to_string(),
            format!(
                "--tzdata: the program reads it, but {ZONEINFO} does not exist on this machine: \
                 install tzdata, pass --tzdata DIR, or --tzdata no"
            )
        );
        assert!(!dir.path().join("out.tar").exists());
    }

    #[test]
    fn collisions_in_the_image_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let file = testdata("not-elf.txt").display().to_string();
        let build_err = |add: String, path: Option<&str>| {
            let o = opts(d, |o| {
                o.add = vec![add];
                o.path = path.map(str::to_string);
            });
            prepare(&o).unwrap().write(None).unwrap_err()
        };
        let e = build_err(format!("{file}:/srv/../app"), Some("/app"));
        assert!(matches!(e, BuildError::AddOverProgram { .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            format!("--add {file}:/app: /app is the program")
        );
        let e = build_err(format!("{file}:/etc/passwd/x"), None);
        assert!(
            matches!(e, BuildError::Place(PlaceError::ParentIsFile { .. })),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "cannot place /etc/passwd/x: /etc/passwd is already a file in the image"
        );
        let e = build_err(format!("{file}:/tmp"), None);
        assert_eq!(
            e.to_string(),
            "cannot place /tmp: it is already a directory in the image"
        );
        assert!(!d.join("out.tar").exists());
    }

    #[test]
    fn a_program_that_is_not_elf_keeps_its_cause() {
        let dir = tempfile::tempdir().unwrap();
        let o = ImageOptions::new(testdata("not-elf.txt"), dir.path().join("out.tar"));
        let Err(e) = prepare(&o) else {
            panic!("not-elf.txt prepared")
        };
        let shown = o.programs[0].display().to_string();
        assert!(matches!(&e, BuildError::Program { program, .. } if *program == shown));
        let cause = std::error::Error::source(&e).expect("a source").to_string();
        assert_eq!(e.to_string(), format!("{shown}: {cause}"));
        let o = ImageOptions::new(testdata("no-such-file"), dir.path().join("out.tar"));
        assert_eq!(
            prepare(&o).err().unwrap().to_string(),
            format!("{}: not found", o.programs[0].display())
        );
    }

    #[test]
    fn only_unguarded_files_replace_one_another() {
        let mut files = Files {
            tree: Tree::new(),
            owners: HashMap::new(),
            replace: false,
        };
        let f = || LayerEntry::bytes(b"x".to_vec(), 0o644, "t");
        let lib = Occupant::Bundled {
            kind: "library",
            why: "DT_NEEDED of /app".into(),
        };
        let add = |spec: &str| Occupant::Added { spec: spec.into() };
        let certs = Occupant::RuntimeFiles { flag: "--ca-certs" };
        files.put("/lib/libc.so.6", f(), &lib).unwrap();
        // The same library placed again (reached twice) is no collision.
        files.put("/lib/libc.so.6", f(), &lib).unwrap();
        files.put("/etc/ssl/ca.crt", f(), &certs).unwrap();
        files
            .put("/etc/ssl/ca.crt", f(), &add("a:/etc/ssl/ca.crt"))
            .unwrap();
        files
            .put("/etc/ssl/ca.crt", f(), &add("b:/etc/ssl/ca.crt"))
            .unwrap();
        let e = files
            .put("/lib/libc.so.6", f(), &add("x:/lib/libc.so.6"))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "/lib/libc.so.6 would hold both the library --with-libs bundles (DT_NEEDED of /app) \
             and --add x:/lib/libc.so.6: choose another --path or --add DEST"
        );
        let users = Occupant::Generated {
            what: "user and group names",
        };
        files.put("/etc/passwd", f(), &users).unwrap();
        assert!(
            files
                .put("/etc/passwd", f(), &add("p:/etc/passwd"))
                .is_err()
        );
        files.replace = true;
        files
            .put("/etc/passwd", f(), &add("p:/etc/passwd"))
            .unwrap();
        // --replace is for generated files only.
        assert!(
            files
                .put("/lib/libc.so.6", f(), &add("x:/lib/libc.so.6"))
                .is_err()
        );
        // Directories merge, whoever placed them.
        files
            .put("/etc", LayerEntry::dir(0o755, None), &add("d:/etc"))
            .unwrap();
    }

    #[test]
    fn ports_labels_and_sources() {
        assert_eq!(parse_port("8080").unwrap(), "8080/tcp");
        assert_eq!(parse_port("53/udp").unwrap(), "53/udp");
        assert_eq!(parse_port("65535/tcp").unwrap(), "65535/tcp");
        for bad in ["0", "65536", "+80", "80/sctp", "", "/tcp", "http"] {
            assert!(parse_port(bad).is_err(), "{bad}");
        }
        let kv = key_values("--label", &["a=1".into(), "b==".into(), "a=2".into()]).unwrap();
        assert_eq!(
            kv.into_iter().collect::<Vec<_>>(),
            [("a".into(), "2".into()), ("b".into(), "=".into())]
        );
        assert_eq!(
            key_values("--annotation", &[" =x".into()])
                .unwrap_err()
                .to_string(),
            "--annotation ' =x': use KEY=VALUE"
        );
        let url = |m| source_url(m);
        assert_eq!(
            url("github.com/me/app/v2/cmd/srv").as_deref(),
            Some("https://github.com/me/app")
        );
        assert_eq!(
            url("gitlab.com/group/repo.git").as_deref(),
            Some("https://gitlab.com/group/repo")
        );
        assert_eq!(
            url("bitbucket.org/me/app").as_deref(),
            Some("https://bitbucket.org/me/app")
        );
        assert_eq!(url("github.com/me"), None);
        assert_eq!(url("example.com/me/app"), None);
        assert_eq!(url("golang.org/x/tools"), None);
    }

    #[test]
    fn vcs_settings_become_annotations() {
        let mut go = GoBuildInfo {
            main_module: Some("github.com/me/app".into()),
            ..GoBuildInfo::default()
        };
        let mut o = ImageOptions::new("app".into(), "out".into());
        assert!(vcs_annotations(Some(&go), &o).is_empty());
        go.settings.insert("vcs.revision".into(), "abc".into());
        go.settings
            .insert("vcs.time".into(), "2024-01-02T03:04:05Z".into());
        let a = vcs_annotations(Some(&go), &o);
        assert_eq!(a[spec::ANNOTATION_REVISION], "abc");
        assert_eq!(a[spec::ANNOTATION_CREATED], "2024-01-02T03:04:05Z");
        assert_eq!(a[spec::ANNOTATION_SOURCE], "https://github.com/me/app");
        o.mtime = 1_700_000_000;
        o.source_date_epoch = true;
        let a = vcs_annotations(Some(&go), &o);
        assert_eq!(a[spec::ANNOTATION_CREATED], "2023-11-14T22:13:20Z");
        go.main_module = Some("example.com/app".into());
        assert_eq!(vcs_annotations(Some(&go), &o).len(), 2);
        assert!(vcs_annotations(None, &o).is_empty());
    }

    #[test]
    fn several_programs_need_an_index_format_and_one_path() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let two = |f: fn(&mut ImageOptions)| {
            opts(d, |o| {
                o.programs.push(testdata("arm64-static"));
                f(o);
            })
        };
        assert!(matches!(
            two(|_| {}).validate(),
            Err(BuildError::IndexAsDocker { count: 2 })
        ));
        assert!(matches!(
            two(|o| o.format = OutputFormat::Oci).validate(),
            Err(BuildError::DifferentNames { names }) if names == ["go-static", "arm64-static"]
        ));
        let checked = two(|o| {
            o.format = OutputFormat::Oci;
            o.path = Some("/srv/Server".into());
        })
        .validate()
        .unwrap();
        assert_eq!(
            (checked.name, checked.path),
            ("server:latest".into(), "/srv/Server".into())
        );
    }

    #[test]
    fn paths_and_times() {
        assert_eq!(normalize_abs("/app/../lib//x").unwrap(), "/lib/x");
        assert_eq!(normalize_abs("rel"), None);
    }
}
