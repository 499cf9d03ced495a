//! `binslim image --from SOURCE`: the library side of slimming a fat image. The source is read
//! and merged as `verify --image` reads it ([`crate::image::read`]); the program is found as
//! verify finds it ([`MergedImage::locate`]); then this fills the [`ImageOptions`] of the
//! scratch builder from the source: the program's bytes, the merged root to resolve its
//! loader and libraries in, the run-time files the analysis asks for (taken from the source),
//! `--keep` paths, and the source's config. After the build, [`left_out`] and
//! [`largest_dirs`] say what was not kept.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::elf::{self, ElfFile, needs};
use crate::image::read::{ImageSource, Limits, MergedImage, ReadError, read_image};
use crate::registry::{BlobData, source};
use crate::scratch::{CA_BUNDLE, ImageOptions, ImageReport, Provide, ZONEINFO};
use crate::tempfiles::PrivateDir;

/// How many of the largest source directories the report lists.
pub const LARGEST_DIRS: usize = 10;

/// Why an image could not be slimmed. [`SlimError::Interpreted`], [`SlimError::NotElf`] and
/// [`SlimError::NoProgram`] mean the source's program cannot be taken (exit 1); the others are
/// an unreadable source or a failed step (exit 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SlimError {
    /// The source could not be read (or is refused as verify --image refuses it).
    #[error("{source_name}: {error}")]
    Read {
        /// SOURCE as given.
        source_name: String,
        /// Why.
        #[source]
        error: ReadError,
    },
    /// The source's blobs could not be listed for its sizes.
    #[error("{source_name}: {error}")]
    Blobs {
        /// SOURCE as given.
        source_name: String,
        /// Why.
        #[source]
        error: crate::registry::source::SourceError,
    },
    /// `docker://REF` could not be pulled.
    #[error("{source_name}: {error}")]
    Registry {
        /// SOURCE as given.
        source_name: String,
        /// Why.
        #[source]
        error: Box<crate::registry::RegistryError>,
    },
    /// The source holds no image, or several (one image per source).
    #[error("{source_name}: holds {count} images; --from takes an archive of one image")]
    ImageCount {
        /// SOURCE as given.
        source_name: String,
        /// How many.
        count: usize,
    },
    /// No entrypoint, no Cmd and no PATH given.
    #[error("the source image has no Entrypoint or Cmd; name the program: --from SOURCE PATH")]
    NoEntrypoint,
    /// The program is not in the source image.
    #[error("{path}: not found in the source image")]
    NoProgram {
        /// The in-image path (or name) looked for.
        path: String,
    },
    /// The entrypoint is a script or runs an interpreter.
    #[error(
        "{program}: runs the interpreter {interpreter}, and what an interpreter runs (a script, \
         `sh -c ...`) is code a static analysis cannot follow: which programs, libraries and \
         files it needs is only known when it runs. Build the program itself into the image's \
         entrypoint, or name an ELF program of the source: --from SOURCE PATH"
    )]
    Interpreted {
        /// The entrypoint.
        program: String,
        /// The interpreter (`/bin/sh`, `/usr/bin/python3`, ...).
        interpreter: String,
    },
    /// The program is not an ELF file.
    #[error("{program}: not an ELF program (binslim slims ELF programs only)")]
    NotElf {
        /// The program.
        program: String,
    },
    /// The source's User names a user its /etc/passwd does not hold.
    #[error("the source's User {user} is not in its /etc/passwd; give --user UID[:GID]")]
    UnknownUser {
        /// The User.
        user: String,
    },
    /// A `--keep` matched nothing in the source.
    #[error("--keep {pattern}: nothing in the source image matches")]
    KeepMatchedNothing {
        /// The pattern.
        pattern: String,
    },
    /// A read or write of a temporary file failed.
    #[error("{context}: {error}")]
    Io {
        /// What was being done.
        context: String,
        /// Why it failed.
        #[source]
        error: io::Error,
    },
}

impl SlimError {
    /// True when the program cannot be taken from the source (exit 1), not a failed read.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            SlimError::Interpreted { .. }
                | SlimError::NotElf { .. }
                | SlimError::NoProgram { .. }
                | SlimError::NoEntrypoint
        )
    }
}

/// The source image's sizes: the `"source"` object of `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct SourceReport {
    /// SOURCE as given (or the reference it was saved under).
    #[serde(rename = "ref")]
    pub reference: String,
    /// Bytes of the layers as SOURCE stores them (compressed where it holds them compressed).
    pub size: u64,
    /// Bytes of the layers' tars, uncompressed.
    pub unpacked_size: u64,
}

/// The --from part of the report: the source's sizes and what was left out of the image.
#[derive(Debug, Clone, Serialize)]
pub struct FromReport {
    /// The source's sizes.
    pub source: SourceReport,
    /// The regular files under the program's directory and WorkingDir not kept.
    pub left_out: Vec<LeftOut>,
    /// The largest directories of the source, biggest first.
    pub left_out_dirs: Vec<LeftOut>,
}

/// A path left out of the slim image, with its size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftOut {
    /// The in-image path.
    pub path: String,
    /// Bytes (for a directory: of its regular files).
    pub size: u64,
}

/// The source, read and merged.
#[derive(Debug)]
pub struct Source {
    /// The merged image.
    pub image: MergedImage,
    /// Its sizes.
    pub report: SourceReport,
    _spool: Option<PrivateDir>,
    _pulled: Option<crate::registry::pull::Pulled>,
}

/// Reads SOURCE: a path, `-` for a tar on standard input (copied to a private file first), or
/// `docker://REF`, pulled (the build machine's platform only) into a private OCI layout with
/// `options` (`--insecure`).
pub fn open(
    source_name: &str,
    limits: &Limits,
    options: &crate::registry::Options,
) -> Result<Source, SlimError> {
    let mut pulled = None;
    let src = if source_name == "-" {
        ImageSource::Stdin
    } else if let Some(r) = source_name.strip_prefix("docker://") {
        let registry_err = |error| SlimError::Registry {
            source_name: source_name.to_string(),
            error: Box::new(error),
        };
        let reference = crate::registry::Reference::parse(r).map_err(registry_err)?;
        let client =
            crate::registry::Client::new(&reference.registry, options).map_err(registry_err)?;
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            a => a,
        };
        let p = crate::registry::pull::pull(&client, &reference, Some(&format!("linux/{arch}")))
            .map_err(registry_err)?;
        let path = ImageSource::Path(p.path().to_path_buf());
        pulled = Some(p);
        path
    } else {
        ImageSource::Path(PathBuf::from(source_name))
    };
    let (pushable, spool) =
        source::read_pushable(&src, limits).map_err(|error| SlimError::Blobs {
            source_name: source_name.to_string(),
            error,
        })?;
    let path = match (&spool, src) {
        (Some(dir), _) => ImageSource::Path(dir.path().join("image.tar")),
        (None, s) => s,
    };
    let read_err = |error| SlimError::Read {
        source_name: source_name.to_string(),
        error,
    };
    let mut images = read_image(&path, None, limits).map_err(read_err)?;
    if images.len() != 1 {
        return Err(SlimError::ImageCount {
            source_name: source_name.to_string(),
            count: images.len(),
        });
    }
    let image = images.remove(0);
    let (size, unpacked_size) = layer_sizes(&pushable).map_err(|error| SlimError::Io {
        context: format!("{source_name}: cannot read a layer"),
        error,
    })?;
    Ok(Source {
        image,
        report: SourceReport {
            reference: source_name.to_string(),
            size,
            unpacked_size,
        },
        _spool: spool,
        _pulled: pulled,
    })
}

/// The layers' bytes as stored and as tars: the first manifest's layers.
fn layer_sizes(p: &crate::registry::Pushable) -> io::Result<(u64, u64)> {
    #[derive(serde::Deserialize)]
    struct Desc {
        digest: String,
    }
    #[derive(serde::Deserialize)]
    struct Manifest {
        #[serde(default)]
        layers: Vec<Desc>,
    }
    let Some(m) = p.manifests.first() else {
        return Ok((0, 0));
    };
    let m: Manifest = serde_json::from_slice(&m.bytes).map_err(io::Error::other)?;
    let (mut size, mut unpacked) = (0, 0);
    for d in &m.layers {
        let Some(blob) = p.blobs.iter().find(|b| b.digest == d.digest) else {
            continue;
        };
        size += blob.size;
        unpacked += match &blob.data {
            BlobData::Bytes(b) => tar_bytes(&b[..])?,
            BlobData::File { path, offset, len } => {
                let mut f = File::open(path)?;
                io::Seek::seek(&mut f, io::SeekFrom::Start(*offset))?;
                let mut r = io::BufReader::new(f.take(*len));
                // A plain tar is its length: not read.
                if io::BufRead::fill_buf(&mut r)?.starts_with(&[0x1f, 0x8b]) {
                    tar_bytes(r)?
                } else {
                    *len
                }
            }
        };
    }
    Ok((size, unpacked))
}

/// The bytes of a layer's tar: counted through gzip when it is gzip, else its length.
fn tar_bytes(mut r: impl io::BufRead) -> io::Result<u64> {
    let head = r.fill_buf()?;
    if head.starts_with(&[0x1f, 0x8b]) {
        io::copy(
            &mut flate2::bufread::MultiGzDecoder::new(r),
            &mut io::sink(),
        )
    } else {
        io::copy(&mut r, &mut io::sink())
    }
}

/// The program taken from the source.
#[derive(Debug)]
pub struct Program {
    /// Its path in the source image (absolute).
    pub path: String,
    /// A file holding its bytes.
    pub host: PathBuf,
    /// The command line after the program: the entrypoint's remaining words.
    pub args: Vec<String>,
    /// The config's Cmd for the new image (without the program, when the Cmd named it).
    pub cmd: Vec<String>,
    /// True when the source's Cmd names the program (no Entrypoint): the new image keeps that
    /// shape, so `docker run IMAGE ARGS` replaces the whole command as with the source.
    pub in_cmd: bool,
    /// What the analysis says it reads at run time.
    pub needs: needs::RuntimeNeeds,
    _copy: Option<PrivateDir>,
}

/// Interpreters whose programs a static analysis cannot follow.
const INTERPRETERS: [&str; 12] = [
    "sh", "bash", "dash", "ash", "zsh", "busybox", "python", "python3", "perl", "ruby", "node",
    "java",
];

/// Finds the program: `path` when given, else the entrypoint (Entrypoint, else Cmd), as
/// `verify --image` does. Refuses scripts and interpreters.
pub fn program(img: &MergedImage, path: Option<&str>) -> Result<Program, SlimError> {
    let command: Vec<String> = img.command().iter().map(|s| s.to_string()).collect();
    let from_cmd = img
        .config
        .config
        .entrypoint
        .as_ref()
        .is_none_or(|e| e.is_empty() || e == &[String::new()]);
    let (name, args, cmd) = match path {
        Some(p) => (
            p.to_string(),
            Vec::new(),
            img.config.config.cmd.clone().unwrap_or_default(),
        ),
        None => {
            let Some(first) = command.first().filter(|s| !s.is_empty()) else {
                return Err(SlimError::NoEntrypoint);
            };
            if from_cmd {
                (first.clone(), Vec::new(), command[1..].to_vec())
            } else {
                let entry_len = img.config.config.entrypoint.as_ref().map_or(0, Vec::len);
                (
                    first.clone(),
                    command[1..entry_len].to_vec(),
                    command[entry_len..].to_vec(),
                )
            }
        }
    };
    let read_err = |error| SlimError::Read {
        source_name: name.clone(),
        error,
    };
    let (in_image, host) = img.locate(&name).map_err(read_err)?;
    // `./server` against WorkingDir /app is `/app/./server`: the image names it `/app/server`.
    let in_image = normalize(&in_image);
    let Some(host) = host else {
        return Err(SlimError::NoProgram { path: name });
    };
    let io_err = |context: String| move |error| SlimError::Io { context, error };
    let (bytes, copy) = match img.in_place(&host) {
        Some(view) => (view.bytes().to_vec(), None),
        None => (
            std::fs::read(&host).map_err(io_err(format!("cannot read {in_image}")))?,
            None::<PrivateDir>,
        ),
    };
    if let Some(rest) = bytes.strip_prefix(b"#!") {
        let line = rest.split(|&b| b == b'\n').next().unwrap_or(&[]);
        let text = String::from_utf8_lossy(line);
        let mut words = text.split_whitespace();
        let mut interpreter = words.next().unwrap_or("").to_string();
        if interpreter.ends_with("/env")
            && let Some(w) = words.next()
        {
            interpreter = w.to_string();
        }
        return Err(SlimError::Interpreted {
            program: in_image,
            interpreter,
        });
    }
    if !bytes.starts_with(b"\x7fELF") {
        return Err(SlimError::NotElf { program: in_image });
    }
    let base = in_image.rsplit('/').next().unwrap_or("");
    let family = base.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    if INTERPRETERS.contains(&base) || INTERPRETERS.contains(&family) {
        return Err(SlimError::Interpreted {
            interpreter: in_image.clone(),
            program: command.join(" "),
        });
    }
    let parsed = ElfFile::parse(&bytes).map_err(|_| SlimError::NotElf {
        program: in_image.clone(),
    })?;
    let analysis = elf::analyze_with(&parsed, elf::Detail::Summary);
    let needs = needs::runtime_needs(&parsed, &analysis, &bytes);
    // The bytes, in a private file the builder reads (named as in the image: the tag's default).
    let dir = match copy {
        Some(d) => d,
        None => PrivateDir::new("binslim-from-")
            .map_err(io_err("cannot create a temporary directory".into()))?,
    };
    let file = dir
        .path()
        .join(if base.is_empty() { "program" } else { base });
    File::create(&file)
        .and_then(|mut f| f.write_all(&bytes))
        .and_then(|()| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755))
        })
        .map_err(io_err(format!("cannot write {}", file.display())))?;
    Ok(Program {
        path: in_image,
        host: file,
        args,
        cmd,
        in_cmd: from_cmd && path.is_none(),
        needs,
        _copy: Some(dir),
    })
}

/// An absolute in-image path with `.`, `..` and repeated slashes resolved lexically.
fn normalize(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// What the user gave on the command line that the source's config would otherwise decide.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--user`.
    pub user: Option<String>,
    /// `--arg` (replaces the entrypoint's arguments when any).
    pub args: Vec<String>,
    /// `--cmd` (replaces the Cmd when any).
    pub cmd: Vec<String>,
    /// `--workdir`.
    pub workdir: Option<String>,
    /// `--stop-signal`.
    pub stop_signal: Option<String>,
    /// `--keep` patterns.
    pub keep: Vec<String>,
}

/// Fills `opts` for the scratch builder: the program, the root its libraries are resolved in,
/// the run-time files from the source, `--keep`, and the config carried over (the user's
/// `--env`, `--label`, `--expose` already in `opts` come after the source's and win).
pub fn fill_options(
    img: &MergedImage,
    prog: &Program,
    over: &Overrides,
    opts: &mut ImageOptions,
) -> Result<Reasons, SlimError> {
    let mut why = Reasons::new();
    let c = &img.config.config;
    opts.programs = vec![prog.host.clone()];
    opts.path = Some(prog.path.clone());
    opts.args = if over.args.is_empty() {
        prog.args.clone()
    } else {
        over.args.clone()
    };
    opts.cmd = if over.cmd.is_empty() {
        prog.cmd.clone()
    } else {
        over.cmd.clone()
    };
    let mut env: Vec<String> = c.env.clone().unwrap_or_default();
    env.append(&mut opts.env);
    opts.env = env;
    let mut labels: Vec<String> = c
        .labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    labels.append(&mut opts.labels);
    opts.labels = labels;
    let mut expose: Vec<String> = c
        .exposed_ports
        .iter()
        .flatten()
        .map(|(k, _)| k.clone())
        .collect();
    expose.append(&mut opts.expose);
    opts.expose = expose;
    opts.program_in_cmd = prog.in_cmd;
    opts.stop_signal = over
        .stop_signal
        .clone()
        .or_else(|| c.stop_signal.clone().filter(|s| !s.is_empty()));
    opts.workdir = over
        .workdir
        .clone()
        .or_else(|| c.working_dir.clone().filter(|w| !w.is_empty()));
    opts.user = Some(match &over.user {
        Some(u) => u.clone(),
        None => source_user(img)?,
    });
    opts.with_libs = true;
    opts.root = Some(img.root().to_path_buf());
    reduced_users(img, prog, opts, &mut why)?;
    let read_err = |error| SlimError::Read {
        source_name: "the source image".into(),
        error,
    };
    opts.ca_certs = match img.materialize(CA_BUNDLE).map_err(read_err)? {
        Some(h) if prog.needs.certs => Provide::From(h),
        _ => Provide::No,
    };
    opts.tzdata = Provide::No;
    if prog.needs.zoneinfo && img.materialize(ZONEINFO).map_err(read_err)?.is_some() {
        for (f, _) in img.regular_files(ZONEINFO) {
            img.materialize(&f).map_err(read_err)?;
        }
        opts.tzdata = Provide::From(img.root().join(ZONEINFO.trim_start_matches('/')));
    }
    for pattern in &over.keep {
        let matched = keep_matches(img, pattern);
        if matched.is_empty() {
            return Err(SlimError::KeepMatchedNothing {
                pattern: pattern.clone(),
            });
        }
        for f in matched {
            if let Some(h) = img.materialize(&f).map_err(read_err)? {
                opts.add.push(format!("{}:{f}", h.display()));
                why.insert(f, format!("--keep {pattern}"));
            }
        }
    }
    Ok(why)
}

/// `--shrink-libs`: strips (as `strip --strip-all`) every shared library of the merged root
/// that reading the program made on disk: the ones its loader may load, and so the ones the
/// image gets. Files binslim must not strip (packed, no section headers) are left as they are.
/// Returns how many bytes were saved.
pub fn shrink_libs(img: &MergedImage) -> Result<u64, SlimError> {
    let io_err = |context: String| move |error| SlimError::Io { context, error };
    let mut saved = 0;
    let mut stack = vec![img.root().to_path_buf()];
    while let Some(p) = stack.pop() {
        let Ok(m) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if m.is_dir() {
            let rd =
                std::fs::read_dir(&p).map_err(io_err(format!("cannot list {}", p.display())))?;
            stack.extend(rd.flatten().map(|e| e.path()));
            continue;
        }
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
        if !m.is_file() || !name.is_some_and(|n| n.contains(".so")) {
            continue;
        }
        let data = std::fs::read(&p).map_err(io_err(format!("cannot read {}", p.display())))?;
        if !data.starts_with(b"\x7fELF") {
            continue;
        }
        let mut out = Vec::with_capacity(data.len());
        if crate::strip::strip(&data, &crate::strip::StripOptions::all(), &mut out).is_err()
            || out.len() >= data.len()
        {
            continue;
        }
        let tmp = p.with_extension("binslim-strip");
        std::fs::write(&tmp, &out)
            .and_then(|()| std::fs::set_permissions(&tmp, m.permissions()))
            .and_then(|()| std::fs::rename(&tmp, &p))
            .map_err(io_err(format!("cannot write {}", p.display())))?;
        saved += (data.len() - out.len()) as u64;
    }
    Ok(saved)
}

/// Why each file `--from` added itself is in the image (in-image path → why), for
/// [`relabel`].
pub type Reasons = BTreeMap<String, String>;

/// Gives the files `--from` added (as `--add` entries) their reasons in the report.
pub fn relabel(report: &mut ImageReport, why: &Reasons) {
    for f in &mut report.files {
        if let Some(w) = why.get(&f.path) {
            f.why = w.clone();
        }
    }
}

/// `/etc/passwd` and `/etc/group` of the source reduced to root and the image's user and
/// group, added in place of the builder's; `/etc/nsswitch.conf` of the source when the program
/// looks up users or hosts. Nothing when the source has no /etc/passwd.
fn reduced_users(
    img: &MergedImage,
    prog: &Program,
    opts: &mut ImageOptions,
    why: &mut Reasons,
) -> Result<(), SlimError> {
    let user = opts.user.clone().unwrap_or_default();
    let (uid, gid) = match user.as_str() {
        "root" => ("0".to_string(), "0".to_string()),
        "nonroot" => ("65532".to_string(), "65532".to_string()),
        u => match u.split_once(':') {
            Some((u, g)) => (u.to_string(), g.to_string()),
            None => (u.to_string(), "0".to_string()),
        },
    };
    let Some(dir) = prog._copy.as_ref().map(|d| d.path().to_path_buf()) else {
        return Ok(());
    };
    let mut add = |name: &str, ids: &[&str]| -> Result<bool, SlimError> {
        let Some(text) = read_source_file(img, &format!("/etc/{name}"))? else {
            return Ok(false);
        };
        let text = String::from_utf8_lossy(&text);
        let kept: String = text
            .lines()
            .filter(|l| l.split(':').nth(2).is_some_and(|id| ids.contains(&id)))
            .map(|l| format!("{l}\n"))
            .collect();
        let file = dir.join(name);
        std::fs::write(&file, kept).map_err(|error| SlimError::Io {
            context: format!("cannot write {}", file.display()),
            error,
        })?;
        opts.add.push(format!("{}:/etc/{name}", file.display()));
        why.insert(
            format!("/etc/{name}"),
            format!("the source's, reduced to root and the image's user ({uid}:{gid})"),
        );
        Ok(true)
    };
    if add("passwd", &["0", &uid])? {
        add("group", &["0", &gid])?;
        opts.replace = true;
    }
    let wants_nss = prog.needs.users || prog.needs.go_resolver;
    let nss = img
        .materialize("/etc/nsswitch.conf")
        .map_err(|error| SlimError::Read {
            source_name: "/etc/nsswitch.conf".into(),
            error,
        })?;
    if let Some(h) = nss.filter(|_| wants_nss) {
        opts.add.push(format!("{}:/etc/nsswitch.conf", h.display()));
        why.insert(
            "/etc/nsswitch.conf".into(),
            "the source's: the program looks up users or hosts".into(),
        );
        opts.replace = true;
    }
    Ok(())
}

/// The regular files `pattern` names: a file, every file below a directory, or a glob (`*`,
/// `?` within one path component) over the source's files.
fn keep_matches(img: &MergedImage, pattern: &str) -> Vec<String> {
    let abs = if pattern.starts_with('/') {
        pattern.to_string()
    } else {
        format!("/{pattern}")
    };
    let fixed: String = abs
        .split('/')
        .take_while(|c| !c.contains(['*', '?']))
        .collect::<Vec<_>>()
        .join("/");
    let under = if fixed.is_empty() { "/" } else { &fixed };
    img.regular_files(under)
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| {
            p == &abs
                || p.starts_with(&format!("{}/", abs.trim_end_matches('/')))
                || glob_path(&abs, p)
        })
        .collect()
}

/// A glob over a path: components match one by one; a pattern shorter than the path matches
/// everything below what it matched.
fn glob_path(pattern: &str, path: &str) -> bool {
    let pc: Vec<&str> = pattern.split('/').collect();
    let qc: Vec<&str> = path.split('/').collect();
    pc.len() <= qc.len()
        && pc
            .iter()
            .zip(&qc)
            .all(|(p, q)| glob(p.as_bytes(), q.as_bytes()))
}

/// `*` and `?` over one component.
fn glob(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob(&p[1..], s) || (!s.is_empty() && glob(p, &s[1..])),
        (Some(b'?'), Some(_)) => glob(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => glob(&p[1..], &s[1..]),
        _ => false,
    }
}

/// The source's User as `UID:GID` (names looked up in the source's /etc/passwd and
/// /etc/group); `root` when it has none.
fn source_user(img: &MergedImage) -> Result<String, SlimError> {
    let user = img.config.config.user.clone().unwrap_or_default();
    if user.is_empty() {
        return Ok("root".into());
    }
    let (u, g) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (u_str(&user), None),
    };
    let read_db = |path: &str| -> Vec<Vec<String>> {
        let text = img
            .materialize(path)
            .ok()
            .flatten()
            .and_then(|h| std::fs::read_to_string(h).ok())
            .unwrap_or_default();
        text.lines()
            .map(|l| l.split(':').map(str::to_string).collect())
            .collect()
    };
    let unknown = || SlimError::UnknownUser { user: user.clone() };
    let passwd = read_db("/etc/passwd");
    let (uid, primary) = if u.chars().all(|c| c.is_ascii_digit()) {
        let gid = passwd
            .iter()
            .find(|e| e.get(2).map(String::as_str) == Some(u))
            .and_then(|e| e.get(3).cloned())
            .unwrap_or_else(|| "0".into());
        (u.to_string(), gid)
    } else {
        let e = passwd
            .iter()
            .find(|e| e.first().map(String::as_str) == Some(u))
            .ok_or_else(unknown)?;
        (
            e.get(2).cloned().ok_or_else(unknown)?,
            e.get(3).cloned().ok_or_else(unknown)?,
        )
    };
    let gid = match g {
        None => primary,
        Some(g) if g.chars().all(|c| c.is_ascii_digit()) => g.to_string(),
        Some(g) => read_db("/etc/group")
            .iter()
            .find(|e| e.first().map(String::as_str) == Some(g))
            .and_then(|e| e.get(2).cloned())
            .ok_or_else(unknown)?,
    };
    Ok(format!("{uid}:{gid}"))
}

fn u_str(s: &str) -> &str {
    s
}

/// The regular files under the program's directory and the working directory that the image
/// does not hold, in path order.
pub fn left_out(
    img: &MergedImage,
    prog: &Program,
    workdir: Option<&str>,
    report: &ImageReport,
) -> Vec<LeftOut> {
    let kept: BTreeSet<&str> = report.files.iter().map(|f| f.path.as_str()).collect();
    let kept_dirs: Vec<String> = report
        .files
        .iter()
        .filter(|f| f.mode.is_empty())
        .map(|f| format!("{}/", f.path))
        .collect();
    let prog_dir = match prog.path.rsplit_once('/') {
        Some(("", _)) | None => "/".to_string(),
        Some((d, _)) => d.to_string(),
    };
    let mut dirs = vec![prog_dir];
    if let Some(w) = workdir.filter(|w| !w.is_empty()) {
        dirs.push(w.to_string());
    }
    let mut out = BTreeMap::new();
    for d in &dirs {
        // The root is not "beside the program": a program at / would list the whole image.
        if d == "/" {
            continue;
        }
        for (p, size) in img.regular_files(d) {
            if !kept.contains(p.as_str()) && !kept_dirs.iter().any(|k| p.starts_with(k)) {
                out.insert(p, size);
            }
        }
    }
    out.into_iter()
        .map(|(path, size)| LeftOut { path, size })
        .collect()
}

/// The largest directories of the source (of its regular files, at most three levels deep),
/// biggest first, at most `n`.
pub fn largest_dirs(img: &MergedImage, n: usize) -> Vec<LeftOut> {
    // Keyed by slices of each path (a new key allocated once): 100,000 files cost no
    // 300,000 strings.
    let mut sizes: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    img.for_each_regular_file("/", |p, size| {
        // The ends of `/a`, `/a/b`, `/a/b/c` in `/a/b/c/...`: directories holding the file.
        let ends = p.match_indices('/').skip(1).map(|(i, _)| i).take(3);
        for end in ends {
            match sizes.get_mut(&p[..end]) {
                Some(s) => *s += size,
                None => {
                    sizes.insert(p[..end].to_string(), size);
                }
            }
        }
    });
    let mut v: Vec<LeftOut> = sizes
        .into_iter()
        .map(|(path, size)| LeftOut { path, size })
        .collect();
    v.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.path.cmp(&b.path)));
    v.truncate(n);
    v
}

/// Reads a whole file of the source (for tests and tools).
pub fn read_source_file(img: &MergedImage, path: &str) -> Result<Option<Vec<u8>>, SlimError> {
    let host = img.materialize(path).map_err(|error| SlimError::Read {
        source_name: path.to_string(),
        error,
    })?;
    match host {
        Some(h) => std::fs::read(Path::new(&h))
            .map(Some)
            .map_err(|error| SlimError::Io {
                context: format!("cannot read {path}"),
                error,
            }),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_one_component() {
        assert!(glob_path("/app/templates/*", "/app/templates/a.html"));
        assert!(glob_path("/app/t*", "/app/templates/a.html"));
        assert!(!glob_path("/app/x*", "/app/templates/a.html"));
        assert!(glob(b"a?c", b"abc"));
        assert!(!glob(b"a?c", b"ac"));
        assert_eq!(normalize("/srv/app/./server"), "/srv/app/server");
        assert_eq!(normalize("/a//b/../c"), "/a/c");
    }
}
