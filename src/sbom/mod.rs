//! SBOMs from the binary itself: what a program is made of, read from the facts the linker and
//! the build tools left in it (Go build info, cargo-auditable data, `.comment`, DT_NEEDED) and,
//! for an image's bundled libraries, from the root's dpkg database.
//!
//! [`build`] gathers a [`Document`] (components and edges, format-free); [`spdx::render`] and
//! [`cyclonedx::render`] write it as SPDX 2.3 or CycloneDX 1.6 JSON. Nothing is random and
//! nothing reads the clock: the document's name ([`Document::id`]) is the SHA-256 of what it
//! describes, and its time is the one the caller passes (`SOURCE_DATE_EPOCH`).

pub mod auditable;
pub mod cyclonedx;
pub mod dpkg;
pub mod golang;
pub mod spdx;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::elf::{self, ElfFile, Linkage};
use crate::input::Input;
use crate::resolve;

/// The binslim that writes the documents (`binslim-0.1.0`).
pub const TOOL: &str = concat!("binslim-", env!("CARGO_PKG_VERSION"));

/// What [`build`] is asked to describe.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SbomOptions {
    /// Also describe the loader and every library the programs need, resolved in `root`.
    pub with_libs: bool,
    /// The root the libraries come from (default `/`).
    pub root: Option<PathBuf>,
    /// The path of each program inside an image, in order, named in place of the path the
    /// program was given by (`binslim image`: how it was named on the build machine must not
    /// change the document).
    pub image_paths: Vec<String>,
}

/// The JSON forms a document is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// SPDX 2.3.
    Spdx,
    /// CycloneDX 1.6.
    CycloneDx,
}

impl Format {
    /// The media type (and OCI artifact type) of the form.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Spdx => "application/spdx+json",
            Format::CycloneDx => "application/vnd.cyclonedx+json",
        }
    }

    /// `doc` in this form.
    pub fn render(self, doc: &Document) -> Vec<u8> {
        match self {
            Format::Spdx => spdx::render(doc),
            Format::CycloneDx => cyclonedx::render(doc),
        }
    }
}

/// Why no document could be made.
#[derive(Debug, thiserror::Error)]
pub enum SbomError {
    /// A program cannot be read or is not an ELF file.
    #[error("{program}: {source}")]
    Program {
        /// The program as named.
        program: String,
        /// Why.
        source: crate::Error,
    },
    /// A program's cargo-auditable section is damaged or hostile.
    #[error("{program}: cargo-auditable data (.dep-v0) {source}")]
    Auditable {
        /// The program as named.
        program: String,
        /// Why.
        source: auditable::AuditableError,
    },
    /// `--root` is not a directory.
    #[error("--root '{}': not a directory; give the root directory the libraries come from", .0.display())]
    BadRoot(PathBuf),
    /// A library the resolution found cannot be read any more.
    #[error("{path}: cannot read library ({source})")]
    Library {
        /// The host path.
        path: String,
        /// Why.
        source: crate::Error,
    },
}

/// What a component is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A program the document describes.
    Program,
    /// A Go module (main or dependency).
    GoModule,
    /// The Go standard library and runtime.
    GoStdlib,
    /// A Rust crate.
    Crate,
    /// A shared library file.
    Library,
    /// The dynamic loader file.
    Loader,
    /// A Debian package that owns a library file.
    DebPackage,
}

impl Kind {
    /// A short word for identifiers.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Program => "Program",
            Kind::GoModule => "GoModule",
            Kind::GoStdlib => "GoStdlib",
            Kind::Crate => "Crate",
            Kind::Library => "Library",
            Kind::Loader => "Loader",
            Kind::DebPackage => "DebPackage",
        }
    }
}

/// One thing a document lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    /// What it is.
    pub kind: Kind,
    /// Its name: a file name, module path, crate or package name.
    pub name: String,
    /// Its version, when known.
    pub version: Option<String>,
    /// Its package URL, when it has one.
    pub purl: Option<String>,
    /// SHA-256, hex: of the file, or a Go module's go.sum hash.
    pub sha256: Option<String>,
    /// The path of a file inside the image or root.
    pub file: Option<String>,
    /// `(name, value)` facts: build settings, notes (`binslim:note`), DT_NEEDED.
    pub properties: Vec<(String, String)>,
}

/// How two components relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EdgeKind {
    /// `from` needs `to` (linked in or loaded).
    DependsOn,
    /// `from` (a package) holds the file `to`.
    Contains,
}

/// A document: components, edges, and which components it describes.
#[derive(Debug, Clone, Default)]
pub struct Document {
    /// Every component, each once.
    pub components: Vec<Component>,
    /// Indices of the described programs, in argument order.
    pub programs: Vec<usize>,
    /// `(from, kind, to)` indices, each once, sorted.
    pub edges: Vec<(usize, EdgeKind, usize)>,
    /// SHA-256 (hex) of what it describes: binslim's version and each file's path and SHA-256.
    pub id: String,
    /// The creation time, seconds since 1970.
    pub created: u64,
    /// Index of each component by its identity, for deduplication.
    index: HashMap<(Kind, String, Option<String>, Option<String>), usize>,
}

impl Document {
    /// Adds `c` unless the same component is already there; returns its index.
    fn add(&mut self, c: Component) -> usize {
        let key = (c.kind, c.name.clone(), c.version.clone(), c.sha256.clone());
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        self.components.push(c);
        let i = self.components.len() - 1;
        self.index.insert(key, i);
        i
    }

    fn edge(&mut self, from: usize, kind: EdgeKind, to: usize) {
        if from != to && !self.edges.contains(&(from, kind, to)) {
            self.edges.push((from, kind, to));
        }
    }

    /// The names of the described programs, joined with `+` (for document names).
    pub fn name(&self) -> String {
        let names: Vec<&str> = self
            .programs
            .iter()
            .map(|&i| self.components[i].name.as_str())
            .collect();
        names.join("+")
    }

    /// The components `from` points to through `kind`, in edge order.
    pub fn targets(&self, from: usize, kind: EdgeKind) -> impl Iterator<Item = usize> + '_ {
        self.edges
            .iter()
            .filter(move |(f, k, _)| *f == from && *k == kind)
            .map(|(_, _, t)| *t)
    }
}

fn component(kind: Kind, name: impl Into<String>) -> Component {
    Component {
        kind,
        name: name.into(),
        version: None,
        purl: None,
        sha256: None,
        file: None,
        properties: Vec::new(),
    }
}

/// Describes `programs`: each file, what it is built from, and with `with_libs` the files it
/// loads. `created` is the document's time (seconds since 1970).
pub fn build(
    programs: &[PathBuf],
    opts: &SbomOptions,
    created: u64,
) -> Result<Document, SbomError> {
    let root = opts.root.clone().unwrap_or_else(|| PathBuf::from("/"));
    if opts.with_libs && !root.is_dir() {
        return Err(SbomError::BadRoot(root));
    }
    let mut doc = Document {
        created,
        ..Document::default()
    };
    let mut files: Vec<(String, String)> = Vec::new();
    let mut libs: Vec<(usize, String, String)> = Vec::new();
    for (n, path) in programs.iter().enumerate() {
        let display = path.display().to_string();
        let named = opts
            .image_paths
            .get(n)
            .cloned()
            .unwrap_or_else(|| display.clone());
        let err = |source| SbomError::Program {
            program: display.clone(),
            source,
        };
        let input = Input::open(path).map_err(err)?;
        let parsed = ElfFile::parse(input.bytes()).map_err(err)?;
        let name = Path::new(&named)
            .file_name()
            .map_or(display.clone(), |n| n.to_string_lossy().into_owned());
        let mut prog = component(Kind::Program, name.clone());
        prog.sha256 = Some(sha256_of(&input));
        prog.file = Some(named.clone());
        files.push((named, prog.sha256.clone().unwrap_or_default()));
        let analysis = elf::analyze_with(&parsed, elf::Detail::Summary);
        for n in &analysis.needed {
            prog.properties
                .push(("binslim:elf.needed".into(), n.clone()));
        }
        if let Some(i) = &analysis.interpreter {
            prog.properties
                .push(("binslim:elf.interpreter".into(), i.clone()));
        }
        let p = doc.add(prog);
        if doc.programs.contains(&p) {
            continue; // the same file named twice
        }
        doc.programs.push(p);
        add_go(&mut doc, p, &parsed);
        add_rust(&mut doc, p, &parsed, &analysis, &display)?;
        if opts.with_libs && analysis.linkage == Linkage::Dynamic {
            let res = resolve::resolve(
                &root,
                &parsed,
                &format!("/{name}"),
                &resolve::ResolveOptions::default(),
            );
            for (lib, needed_by) in &res.missing_libraries {
                let note = format!(
                    "{lib} (needed by {needed_by}) not found in {}",
                    root.display()
                );
                doc.components[p]
                    .properties
                    .push(("binslim:note".into(), note));
            }
            if let Some(interp) = &analysis.interpreter {
                libs.push((p, interp.clone(), "loader".into()));
            }
            for l in &res.libraries {
                if let (Some(found), Some(via)) = (&l.path, l.found_via)
                    && via != resolve::FoundVia::Loader
                {
                    libs.push((p, found.clone(), "library".into()));
                }
            }
        }
    }
    add_libraries(&mut doc, &root, &libs, &mut files)?;
    doc.edges.sort();
    files.sort();
    files.dedup();
    let mut h = Sha256::new();
    h.update(TOOL.as_bytes());
    for (path, sum) in &files {
        h.update(b"\0");
        h.update(path.as_bytes());
        h.update(b"\0");
        h.update(sum.as_bytes());
    }
    doc.id = hex(&h.finalize());
    Ok(doc)
}

/// The Go toolchain, the main module and every dependency, each needed by `prog`; the build
/// settings as properties of `prog`.
fn add_go(doc: &mut Document, prog: usize, parsed: &ElfFile<'_>) {
    let Some((version, text)) = elf::go::build_info_text(parsed) else {
        return;
    };
    let mods = golang::parse(&text);
    let mut std = component(Kind::GoStdlib, "stdlib");
    std.purl = golang::stdlib_purl(&version);
    std.version = Some(version.clone());
    let s = doc.add(std);
    doc.edge(prog, EdgeKind::DependsOn, s);
    for (k, v) in &mods.settings {
        doc.components[prog]
            .properties
            .push((format!("binslim:go.build:{k}"), v.clone()));
    }
    for m in mods.main.iter().chain(&mods.deps) {
        let mut c = component(Kind::GoModule, m.path.clone());
        c.version = Some(m.version.clone()).filter(|v| !v.is_empty());
        c.purl = m.purl();
        c.sha256 = m.sha256();
        if let Some(old) = &m.replaces {
            c.properties
                .push(("binslim:go.replaces".into(), old.clone()));
        }
        let i = doc.add(c);
        doc.edge(prog, EdgeKind::DependsOn, i);
    }
}

/// The crates of cargo-auditable data with their edges, or the rustc version and a note.
fn add_rust(
    doc: &mut Document,
    prog: usize,
    parsed: &ElfFile<'_>,
    analysis: &elf::Analysis,
    display: &str,
) -> Result<(), SbomError> {
    let Some(rust) = &analysis.rust else {
        return Ok(());
    };
    if let Some(v) = &rust.rustc_version {
        doc.components[prog]
            .properties
            .push(("binslim:rustc.version".into(), v.clone()));
    }
    let Some(sh) = parsed.section_by_name(".dep-v0") else {
        doc.components[prog].properties.push((
            "binslim:note".into(),
            "no cargo-auditable data: the list of crates needs `cargo auditable build`".into(),
        ));
        return Ok(());
    };
    let info =
        auditable::decode(parsed.section_data(sh)).map_err(|source| SbomError::Auditable {
            program: display.to_string(),
            source,
        })?;
    let idx: Vec<usize> = info
        .packages
        .iter()
        .map(|p| {
            let mut c = component(Kind::Crate, p.name.clone());
            c.version = Some(p.version.clone());
            c.purl = Some(purl::make("cargo", &p.name, &p.version, ""));
            if let Some(s) = &p.source {
                c.properties
                    .push(("binslim:cargo.source".into(), s.clone()));
            }
            if let Some(k) = p.kind.as_ref().filter(|k| *k != "runtime") {
                c.properties.push(("binslim:cargo.kind".into(), k.clone()));
            }
            doc.add(c)
        })
        .collect();
    for (p, &i) in info.packages.iter().zip(&idx) {
        if p.root {
            doc.edge(prog, EdgeKind::DependsOn, i);
        }
        for &d in &p.dependencies {
            doc.edge(i, EdgeKind::DependsOn, idx[d]);
        }
    }
    Ok(())
}

/// The loader and libraries (`(program, root-absolute path, kind)`), each with its SHA-256 and,
/// from a dpkg database, its package.
fn add_libraries(
    doc: &mut Document,
    root: &Path,
    libs: &[(usize, String, String)],
    files: &mut Vec<(String, String)>,
) -> Result<(), SbomError> {
    let mut found: Vec<(usize, String, String, PathBuf, &str)> = Vec::new();
    for (p, path, kind) in libs {
        let Some(real) = resolve::real_path_in_root(root, path) else {
            let note = format!("{kind} {path} not found in {}", root.display());
            doc.components[*p]
                .properties
                .push(("binslim:note".into(), note));
            continue;
        };
        let Some(host) = resolve::resolve_in_root(root, path) else {
            continue;
        };
        found.push((*p, path.clone(), real, host, kind.as_str()));
    }
    let owners = if dpkg::has_database(root) {
        let asked: Vec<(String, String)> =
            found.iter().map(|f| (f.1.clone(), f.2.clone())).collect();
        dpkg::owners(root, &asked)
    } else {
        dpkg::Owners::default()
    };
    for (p, path, real, host, kind) in found {
        let input = Input::open(&host).map_err(|source| SbomError::Library {
            path: host.display().to_string(),
            source,
        })?;
        let sum = sha256_of(&input);
        files.push((path.clone(), sum.clone()));
        let mut c = component(
            if kind == "loader" {
                Kind::Loader
            } else {
                Kind::Library
            },
            path.clone(),
        );
        c.file = Some(path.clone());
        c.sha256 = Some(sum);
        if real != path {
            c.properties.push(("binslim:file.real-path".into(), real));
        }
        if let Some(stem) = owners.untrusted.get(&path) {
            let note = format!(
                "dpkg list {stem}.list names this file, but the status file does not show \
                 {stem} installed with a version: no owner given"
            );
            c.properties.push(("binslim:note".into(), note));
        }
        let l = doc.add(c);
        doc.edge(p, EdgeKind::DependsOn, l);
        if let Some(pkg) = owners.by_path.get(&path) {
            let mut d = component(Kind::DebPackage, pkg.name.clone());
            d.version = Some(pkg.version.clone());
            d.purl = Some(pkg.purl());
            let di = doc.add(d);
            doc.edge(di, EdgeKind::Contains, l);
        }
    }
    Ok(())
}

/// SHA-256 of `data`, lowercase hex.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// SHA-256 of an opened file, lowercase hex. Read in 1 MiB blocks, not through the mapping:
/// [`Input`] maps for random access (no read-ahead), and faulting a large program in page by
/// page costs more than the hash itself. Falls back to the mapping when a read fails.
fn sha256_of(input: &Input) -> String {
    use std::os::unix::fs::FileExt;
    let len = input.bytes().len() as u64;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0u64;
    while at < len {
        let want = usize::try_from((len - at).min(buf.len() as u64)).unwrap_or(buf.len());
        match input.file().read_at(&mut buf[..want], at) {
            Ok(0) | Err(_) => return sha256_hex(input.bytes()),
            Ok(n) => {
                h.update(&buf[..n]);
                at += n as u64;
            }
        }
    }
    hex(&h.finalize())
}

/// `value` as pretty-printed JSON (two-space indent) with a final newline.
fn to_json(value: &impl serde::Serialize) -> Vec<u8> {
    // Serializing plain structs of strings into a Vec cannot fail.
    let mut bytes = serde_json::to_vec_pretty(value).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A name-based UUID from a hex SHA-256: its first 16 bytes with the version nibble set to 5
/// and the RFC 4122 variant (the layout of a version-5 UUID, with SHA-256 in place of SHA-1).
pub fn uuid_from_sha256(hex_sum: &str) -> String {
    let h: Vec<char> = hex_sum
        .chars()
        .chain(std::iter::repeat('0'))
        .take(32)
        .collect();
    let mut h = h;
    h[12] = '5';
    let v = h[16].to_digit(16).unwrap_or(0);
    h[16] = std::char::from_digit((v & 0x3) | 0x8, 16).unwrap_or('8');
    let s: String = h.into_iter().collect();
    format!(
        "{}-{}-{}-{}-{}",
        &s[0..8],
        &s[8..12],
        &s[12..16],
        &s[16..20],
        &s[20..32]
    )
}

/// Package URLs (<https://github.com/package-url/purl-spec>).
pub mod purl {
    /// `pkg:TYPE/NAME@VERSION?QUALIFIERS`: the name keeps its `/` segments, everything outside
    /// the unreserved characters is percent-encoded; an empty version or qualifier string is
    /// left out. `qualifiers` is written as given (`arch=amd64`).
    pub fn make(ty: &str, name: &str, version: &str, qualifiers: &str) -> String {
        let mut s = format!("pkg:{ty}/{}", encode(name, true));
        if !version.is_empty() {
            s.push('@');
            s.push_str(&encode(version, false));
        }
        if !qualifiers.is_empty() {
            s.push('?');
            s.push_str(qualifiers);
        }
        s
    }

    fn encode(s: &str, keep_slash: bool) -> String {
        let mut out = String::with_capacity(s.len());
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (keep_slash && b == b'/') {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_times() {
        assert_eq!(
            uuid_from_sha256("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            "e3b0c442-98fc-5c14-9afb-f4c8996fb924"
        );
        assert_eq!(
            purl::make("deb/debian", "libc6", "1:2.36-9+deb12u9", "arch=amd64"),
            "pkg:deb/debian/libc6@1%3A2.36-9%2Bdeb12u9?arch=amd64"
        );
    }
}
