//! Reading images as they ship (docker-archive, oci-archive, OCI layout, a tar on stdin) and
//! merging their layers into a sparse root that `verify --image` checks like `--root`.
//!
//! The reader trusts nothing in the archive: every blob it reads in full is checked against its
//! digest (index, manifests and configs against their descriptors; a gzip or zstd layer, which must be
//! decompressed from its first byte anyway, against the manifest's digest and the config's
//! `diff_ids`), JSON documents, paths, extended headers, entry counts and decompressed bytes
//! are capped by [`Limits`], and nothing is created outside the private temporary root (see
//! the `merge` module). Every problem is a [`ReadError`]; the reader never panics on input.
//!
//! An *uncompressed* layer (a docker-archive `layer.tar`, an OCI `tar` blob) is by default
//! read header by header, its payload passed over with a seek except for small files under
//! `/etc`; any other file is read later at its offset, and only if a check reaches it. Its
//! digest is then not computed: binslim decides whether the image will *start*, and hashing
//! the layer means reading every byte of it: on a 1 GiB docker-archive
//! (`TMPDIR=/dev/shm benches/verify-image.sh`) 1.44 s with the digests against 56 ms without. Whether the bytes are the ones the
//! image was built with is what `docker load`, `podman load` and `skopeo copy` check when the
//! image moves; [`Limits::verify_digests`] (`verify --image --verify-digests`) makes binslim
//! check it too. The structure checks (bounded headers, `..` paths, links, limits) are the
//! same either way.

mod archive;
mod merge;
mod pathmap;
pub mod tarstream;

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

pub use self::merge::{EntryKind, EntryMeta};

/// A directory the kernel searches on the way to a path: its in-image path, and its
/// [`MergedImage::meta`].
pub type SearchedDir = (String, Option<EntryMeta>);

use self::archive::{Section, Store, blob_name};
use self::tarstream::{Source, TarReader};
use super::spec::{self, DockerManifestEntry, ImageConfig, Index, Manifest};

/// What may stop an image from being read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// A read or write failed.
    #[error("{what}: {source}")]
    Io {
        /// What binslim was reading or writing.
        what: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Not an image, or a malformed one (the kinds without a variant of their own, most of
    /// them inside a layer, where the message gains the layer and the entry).
    #[error("{0}")]
    Invalid(String),
    /// A directory that is not an OCI image layout.
    #[error("is a directory without index.json: not an OCI image layout")]
    NotLayout,
    /// The index and manifests name no image.
    #[error("names no image")]
    NoImage,
    /// `index.json` names something other than an index or an image manifest.
    #[error("index.json names a {media_type}, which is not an image manifest")]
    NotManifest {
        /// The media type it names.
        media_type: String,
    },
    /// A JSON document (index, manifest, config) does not parse as one.
    #[error("{name} is not valid: {source}")]
    Json {
        /// The document's name in the archive.
        name: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// A manifest names a blob the image does not hold.
    #[error("the image names '{0}', which is not in it (an incomplete save?)")]
    MissingBlob(String),
    /// A blob's bytes are not what its digest says.
    #[error(
        "{what} has digest {actual}, but the image says {expected}: the archive is corrupt or was altered"
    )]
    Digest {
        /// Which blob.
        what: String,
        /// The digest the manifest or config names.
        expected: String,
        /// The digest of the bytes read.
        actual: String,
    },
    /// An entry that would reach outside the image root, or a link that cannot be resolved.
    #[error("{0}")]
    Unsafe(String),
    /// A limit of [`Limits`] was exceeded.
    #[error("{0}: refusing to read further (a hostile or broken archive?)")]
    Limit(String),
    /// No image matches `--platform`.
    #[error("has no {want} image (it has {})", have.join(", "))]
    NoPlatform {
        /// The platform asked for.
        want: String,
        /// The platforms of the images in the archive.
        have: Vec<String>,
    },
}

impl ReadError {
    fn io(what: &str, source: io::Error) -> Self {
        ReadError::Io {
            what: what.to_string(),
            source,
        }
    }

    /// Adds the layer entry an error happened at.
    fn in_entry(self, path: &str) -> Self {
        let at = |m: String| format!("entry '{path}': {m}");
        match self {
            ReadError::Invalid(m) => ReadError::Invalid(at(m)),
            ReadError::Unsafe(m) => ReadError::Unsafe(at(m)),
            ReadError::Io { what, source } => ReadError::Io {
                what: at(what),
                source,
            },
            other => other,
        }
    }

    fn in_layer(self, n: usize, digest: &str) -> Self {
        let at = |m: String| format!("layer {n} ({digest}): {m}");
        match self {
            ReadError::Invalid(m) => ReadError::Invalid(at(m)),
            ReadError::Unsafe(m) => ReadError::Unsafe(at(m)),
            ReadError::Limit(m) => ReadError::Limit(at(m)),
            ReadError::Io { what, source } => ReadError::Io {
                what: at(what),
                source,
            },
            other => other,
        }
    }
}

/// Bounds on what one image may make binslim read and write.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Limits {
    /// Largest JSON document (index, manifest, config) read, in bytes.
    pub max_json: u64,
    /// Most entries in the outer archive, and most files over all layers of one image.
    pub max_entries: u64,
    /// Most layers in one image.
    pub max_layers: usize,
    /// Most uncompressed layer bytes of one image.
    pub max_uncompressed: u64,
    /// A compressed (gzip or zstd) layer may expand to at most this many times its size (plus 1 GiB).
    pub max_ratio: u64,
    /// Most bytes of an archive read from a stream (stdin, a FIFO, a device), which is copied
    /// to a temporary file to be read.
    pub max_stream: u64,
    /// Read uncompressed layers in full and check their sha256 against the manifest's digest
    /// and the config's `diff_ids`. Off by default: their payload is then passed over with a
    /// seek and never hashed (compressed layers, JSON documents and configs are always checked).
    pub verify_digests: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_json: 4 << 20,
            max_entries: 4_000_000,
            max_layers: 512,
            max_uncompressed: 64 << 30,
            max_ratio: 200,
            max_stream: 64 << 30,
            verify_digests: false,
        }
    }
}

/// Where the image comes from.
#[derive(Debug, Clone)]
pub enum ImageSource {
    /// A tar file, an OCI layout directory or a `dir` transport directory (docker-dir).
    Path(PathBuf),
    /// A tar on standard input.
    Stdin,
}

/// One image, its layers merged into a private temporary root (removed on drop).
#[derive(Debug)]
pub struct MergedImage {
    root: crate::tempfiles::PrivateDir,
    /// The image's config.
    pub config: ImageConfig,
    /// The reference it was saved under (`RepoTags[0]`, or the OCI ref name), if any.
    pub reference: Option<String>,
    /// `os/architecture[/variant]` from the config.
    pub platform: String,
    /// Number of layers merged.
    pub layers: usize,
    /// Number of layer entries applied.
    pub entries: u64,
    deferred: Option<DeferredContent>,
}

/// Where the ELF files not yet copied into the root are (see [`merge::Deferred`]).
#[derive(Debug)]
struct DeferredContent {
    store: Arc<Store>,
    /// Blob name of each layer.
    layers: Vec<String>,
    files: merge::Deferred,
    /// Programs read in place ([`MergedImage::in_place`]): made in the root with their size
    /// and mode but none of their bytes, which are read from the archive where they lie.
    placeholders: Mutex<HashMap<PathBuf, InPlace>>,
    /// [`merge::Deferred::by_name`], made when a check first looks for a library.
    names: std::sync::OnceLock<HashMap<std::ffi::OsString, Vec<PathBuf>>>,
}

/// The bytes of a file of the image read where the archive stores them (a range of the mapped
/// archive), not copied into the merged root.
#[derive(Clone)]
pub struct InPlace {
    map: Arc<crate::input::Input>,
    start: usize,
    len: usize,
}

impl InPlace {
    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.map.bytes()[self.start..self.start + self.len]
    }
}

impl std::fmt::Debug for InPlace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InPlace({} bytes at {})", self.len, self.start)
    }
}

/// What [`MergedImage::resolve`] does with a file not made yet (or made without its bytes) that
/// the path ends at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Make {
    /// Makes it with its bytes, filling a placeholder: for what is read by its path.
    Content,
    /// Makes it, but leaves a placeholder as it is: for what only looks at where it is.
    Keep,
    /// Makes an ELF program of an uncompressed layer of an archive file a placeholder, read
    /// in place ([`MergedImage::in_place`]); anything else as [`Make::Content`] does.
    Program,
}

impl MergedImage {
    /// The merged root on the host.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// A variable of the config's `Env`.
    pub fn env(&self, key: &str) -> Option<&str> {
        self.config.config.env.as_ref()?.iter().find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == key).then_some(v)
        })
    }

    /// The program a container starts: the first word of [`MergedImage::command`].
    pub fn entrypoint(&self) -> Option<&str> {
        self.command().first().copied().filter(|s| !s.is_empty())
    }

    /// The command line a container starts with: `Entrypoint` then `Cmd`, as engines join
    /// them. `ENTRYPOINT [""]` (how a Dockerfile resets an inherited entrypoint) is an empty
    /// entrypoint: the `Cmd` alone is the command.
    pub fn command(&self) -> Vec<&str> {
        let c = &self.config.config;
        fn words(v: &Option<Vec<String>>) -> Vec<&str> {
            v.iter().flatten().map(String::as_str).collect()
        }
        let mut entry = words(&c.entrypoint);
        if entry == [""] {
            entry.clear();
        }
        entry.extend(words(&c.cmd));
        entry
    }

    /// The owner, mode and kind the layers gave the file at `host` (a real path inside
    /// [`MergedImage::root`], as [`MergedImage::locate`] returns); `None` for a directory no
    /// entry named (engines make those 0755 root:root) or an image merged without records.
    pub fn meta(&self, host: &Path) -> Option<EntryMeta> {
        self.deferred.as_ref()?.files.meta.get(host).map(|r| r.meta)
    }

    /// The directories the kernel searches to reach `path` (root-absolute, in the image) and
    /// the real host path it reaches, following symlinks inside the root as it does: each
    /// directory as an in-image path with its [`MergedImage::meta`].
    pub fn searched(&self, path: &str) -> Result<(Vec<SearchedDir>, Option<PathBuf>), ReadError> {
        let mut trace = Vec::new();
        let host = self.resolve_traced(path, Some(&mut trace), Make::Keep)?;
        let root = self.root();
        let dirs = trace
            .into_iter()
            .map(|h| {
                let rel = h.strip_prefix(root).unwrap_or(&h).to_string_lossy();
                (format!("/{rel}"), self.meta(&h))
            })
            .collect();
        Ok((dirs, host))
    }

    /// Where an engine finds `program` in the image: a path with a `/` is taken as is (relative
    /// ones against `WorkingDir`); a bare name is looked up in the image's `PATH` (the first
    /// executable regular file, as runc does). The result is the in-image path and, when it
    /// exists, its real location on the host (symlinks resolved inside the root), with the
    /// content of every library it may load copied in, and its own content too unless it is
    /// read in place ([`MergedImage::in_place`]).
    pub fn locate(&self, program: &str) -> Result<(String, Option<PathBuf>), ReadError> {
        // The files verify looks for by path (run-time files, the loader's cache), made now if
        // they are ghosts, wherever their symlinks lead inside the image.
        for probe in RUNTIME_PROBES {
            self.resolve(probe)?;
        }
        let (path, host) = self.find(program)?;
        if let Some(h) = &host {
            self.complete(h)?;
        }
        Ok((path, host))
    }

    fn find(&self, program: &str) -> Result<(String, Option<PathBuf>), ReadError> {
        use std::os::unix::fs::PermissionsExt;
        if program.contains('/') {
            let wd = self
                .config
                .config
                .working_dir
                .as_deref()
                .filter(|w| !w.is_empty())
                .unwrap_or("/");
            let path = if program.starts_with('/') {
                program.to_string()
            } else {
                format!("{}/{program}", wd.trim_end_matches('/'))
            };
            let host = self.resolve_traced(&path, None, Make::Program)?;
            return Ok((path, host));
        }
        let path_var = self.env("PATH").unwrap_or(DEFAULT_PATH);
        for dir in path_var.split(':').filter(|d| d.starts_with('/')) {
            let cand = format!("{}/{program}", dir.trim_end_matches('/'));
            if let Some(host) = self.resolve_traced(&cand, None, Make::Program)?
                && std::fs::metadata(&host)
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            {
                return Ok((cand, Some(host)));
            }
        }
        Ok((program.to_string(), None))
    }

    /// [`crate::resolve::resolve_in_root`], except that a file not made yet (a ghost) is made
    /// when the path ends at it.
    fn resolve(&self, path: &str) -> Result<Option<PathBuf>, ReadError> {
        self.resolve_traced(path, None, Make::Content)
    }

    /// [`MergedImage::resolve`], noting in `trace` each directory a component is looked up in,
    /// and making what the path ends at as `make` says.
    fn resolve_traced(
        &self,
        path: &str,
        mut trace: Option<&mut Vec<PathBuf>>,
        make: Make,
    ) -> Result<Option<PathBuf>, ReadError> {
        let root = self.root();
        let split = |p: &str| -> Vec<String> {
            p.split('/')
                .filter(|c| !c.is_empty() && *c != ".")
                .map(str::to_string)
                .collect()
        };
        let mut parts: std::collections::VecDeque<String> = split(path).into();
        let mut cur: Vec<String> = Vec::new();
        let mut hops = 0;
        while let Some(part) = parts.pop_front() {
            if part == ".." {
                cur.pop();
                continue;
            }
            if let Some(t) = trace.as_deref_mut() {
                let mut dir = root.to_path_buf();
                dir.extend(&cur);
                if t.last() != Some(&dir) {
                    t.push(dir);
                }
            }
            cur.push(part);
            let mut host = root.to_path_buf();
            host.extend(&cur);
            match std::fs::symlink_metadata(&host) {
                Ok(m) if m.file_type().is_symlink() => {
                    hops += 1;
                    if hops > 40 {
                        return Ok(None);
                    }
                    let target = std::fs::read_link(&host)
                        .map_err(|e| ReadError::io("cannot read a link", e))?;
                    let target = target.to_string_lossy().into_owned();
                    cur.pop();
                    if target.starts_with('/') {
                        cur.clear();
                    }
                    let mut new: std::collections::VecDeque<String> = split(&target).into();
                    new.extend(parts.drain(..));
                    parts = new;
                }
                Ok(_) => {}
                Err(_) if self.make_ghost(&host, parts.is_empty(), make)? => {}
                Err(_) => return Ok(None),
            }
        }
        let mut host = root.to_path_buf();
        host.extend(&cur);
        if make == Make::Content {
            self.fill_placeholder(&host)?;
        }
        Ok(host.exists().then_some(host))
    }

    /// The bytes of the program at `host` (a path [`MergedImage::locate`] returned) when they
    /// are read in place: an ELF file (not UPX-packed) of an uncompressed layer of an archive
    /// file, which the root holds only as a placeholder of its size and mode, none of its bytes
    /// written. `None` for a file whose bytes are in the root.
    pub fn in_place(&self, host: &Path) -> Option<InPlace> {
        let d = self.deferred.as_ref()?;
        d.placeholders().get(host).cloned()
    }

    /// Every regular file of the merged image at or below the in-image directory `dir` (made
    /// on disk or not yet), as in-image paths with their sizes, in path order. Symlinks are not
    /// followed; hard links to one content count its size once (the first), as `du` does.
    pub fn regular_files(&self, dir: &str) -> Vec<(String, u64)> {
        let root = self.root();
        let host = self.host_dir(dir);
        // The ghosts come in path order (most files of a large image); the few files on disk
        // are sorted and merged in: no ordered map of 100,000 paths compared component-wise.
        let mut ghosts = Vec::new();
        let mut seen_ghosts = std::collections::HashSet::new();
        if let Some(d) = &self.deferred {
            for p in d.files.ghosts.at_or_below(&host, |_| true) {
                if let Some(g) = d.files.ghosts.get(&p) {
                    let first = g.size == 0 || seen_ghosts.insert((g.layer, g.offset));
                    ghosts.push((p, if first { g.size } else { 0 }));
                }
            }
        }
        let mut found = std::collections::BTreeMap::new();
        files_on_disk(host, |p, size| {
            found.insert(p, size);
        });
        // A path both made on disk and a ghost is the one on disk.
        let mut disk = found.into_iter().peekable();
        let mut merged = Vec::with_capacity(ghosts.len() + disk.len());
        for (p, size) in ghosts {
            while let Some(d) = disk.next_if(|(d, _)| d <= &p) {
                merged.push(d);
            }
            if merged.last().is_none_or(|(l, _)| l != &p) {
                merged.push((p, size));
            }
        }
        merged.extend(disk);
        merged
            .into_iter()
            .map(|(p, size)| {
                let rel = p.strip_prefix(root).unwrap_or(&p).to_string_lossy();
                (format!("/{rel}"), size)
            })
            .collect()
    }

    /// Calls `f` with every regular file of the merged image at or below the in-image
    /// directory `dir` (its in-image path and size; hard links to one content count once), in
    /// no particular order and without collecting them: for totals over a whole image, whose
    /// 100,000 paths [`MergedImage::regular_files`] would hold at once.
    pub fn for_each_regular_file(&self, dir: &str, mut f: impl FnMut(&str, u64)) {
        let root = self.root();
        let host = self.host_dir(dir);
        let in_image = |p: &Path| {
            let rel = p.strip_prefix(root).unwrap_or(p).to_string_lossy();
            format!("/{rel}")
        };
        if let Some(d) = &self.deferred {
            let seen = std::cell::RefCell::new(std::collections::HashSet::new());
            let f = std::cell::RefCell::new(&mut f);
            // `pick` visits each path of the range; none is picked, so nothing is collected.
            d.files.ghosts.at_or_below(&host, |p| {
                if let Some(g) = d.files.ghosts.get(p) {
                    let first = g.size == 0 || seen.borrow_mut().insert((g.layer, g.offset));
                    (f.borrow_mut())(&in_image(p), if first { g.size } else { 0 });
                }
                false
            });
        }
        let ghost = |p: &Path| {
            self.deferred
                .as_ref()
                .is_some_and(|d| d.files.ghosts.contains_key(p))
        };
        files_on_disk(host, |p, size| {
            if !ghost(&p) {
                f(&in_image(&p), size);
            }
        });
    }

    /// The host directory of the in-image directory `dir` (not resolved: a plain join).
    fn host_dir(&self, dir: &str) -> PathBuf {
        let rel = dir.trim_matches('/');
        if rel.is_empty() {
            self.root().to_path_buf()
        } else {
            self.root().join(rel)
        }
    }

    /// Makes the file at the in-image `path` on disk with its bytes (symlinks followed inside
    /// the root) and returns where it is on the host; `None` when nothing is there. For a
    /// directory, every symlink below it is made too (with the directories on its way), so a
    /// copy of the tree has them: files not made yet are not, see
    /// [`MergedImage::regular_files`].
    pub fn materialize(&self, path: &str) -> Result<Option<PathBuf>, ReadError> {
        let host = self.resolve(path)?;
        if let (Some(h), Some(d)) = (&host, &self.deferred)
            && h.is_dir()
        {
            for link in d.files.links.at_or_below(h, |l| l != h) {
                let Some(parent) = link.parent() else {
                    continue;
                };
                let mut chain: Vec<&Path> = parent
                    .ancestors()
                    .take_while(|a| a.starts_with(h) && a != h)
                    .collect();
                chain.reverse();
                for c in chain {
                    if d.files.dirs.contains(c) {
                        d.files.make_unmade_dir(c)?;
                    }
                }
            }
        }
        Ok(host)
    }

    /// Writes the bytes of the placeholder at `host`, if it is one, for what reads it by path.
    fn fill_placeholder(&self, host: &Path) -> Result<(), ReadError> {
        use std::os::unix::fs::{FileExt, OpenOptionsExt};
        let Some(d) = &self.deferred else {
            return Ok(());
        };
        let view = d.placeholders().remove(host);
        let Some(view) = view else {
            return Ok(());
        };
        std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(host)
            .and_then(|f| f.write_all_at(view.bytes(), 0))
            .map_err(|e| ReadError::io(&format!("cannot write {}", host.display()), e))
    }

    /// Makes the ghost at `host`, if there is one there: a directory not made yet, or, when
    /// the path ends there (`last`), a file (as `make` says).
    fn make_ghost(&self, host: &Path, last: bool, make: Make) -> Result<bool, ReadError> {
        let Some(d) = &self.deferred else {
            return Ok(false);
        };
        if d.files.dirs.contains(host) {
            // With the links the layers put in it.
            d.files.make_unmade_dir(host)?;
            return Ok(true);
        }
        if !last {
            return Ok(false);
        }
        let Some(g) = d.files.ghosts.get(host) else {
            return Ok(false);
        };
        let out = merge::create(host, g.mode)?;
        if make == Make::Program
            && let Some(view) = d.program_in_place(g)
        {
            out.set_len(g.size)
                .map_err(|e| ReadError::io("cannot size a file", e))?;
            d.placeholders().insert(host.to_path_buf(), view);
            return Ok(true);
        }
        drop(out);
        d.fill(host, g.layer, g.offset, g.size)?;
        Ok(true)
    }

    /// Copies in the deferred content of `program` and, transitively, of every ELF file named
    /// like its loader or one of its DT_NEEDED libraries (or a versioned file of that name, such
    /// as `libfoo.so.1.2` for `libfoo.so.1`), wherever it sits: a superset of what the loader
    /// resolution will read.
    fn complete(&self, program: &Path) -> Result<(), ReadError> {
        let Some(d) = &self.deferred else {
            return Ok(());
        };
        let root = self.root();
        let mut queue = vec![program.to_path_buf()];
        let mut seen: HashSet<PathBuf> = HashSet::new();
        while let Some(p) = queue.pop() {
            if !seen.insert(p.clone()) {
                continue;
            }
            let (held, view);
            let data = if let Some(v) = self.in_place(&p) {
                view = v;
                view.bytes()
            } else {
                let Ok(input) = crate::input::Input::open(&p) else {
                    continue;
                };
                held = input;
                held.bytes()
            };
            let Ok(elf) = crate::elf::ElfFile::parse(data) else {
                continue;
            };
            let a = crate::elf::analyze_with(&elf, crate::elf::Detail::Summary);
            let mut wanted: Vec<String> = a.needed.clone();
            if let Some(i) = &a.interpreter {
                wanted.push(i.rsplit('/').next().unwrap_or(i).to_string());
            }
            if wanted.is_empty() {
                continue;
            }
            for (name, paths) in d.names.get_or_init(|| d.files.by_name()) {
                let name = name.to_string_lossy();
                let hit = wanted.iter().any(|w| {
                    !w.is_empty()
                        && name
                            .strip_prefix(w.as_str())
                            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
                });
                if !hit {
                    continue;
                }
                for cand in paths {
                    let Ok(rel) = cand.strip_prefix(root) else {
                        continue;
                    };
                    let in_root = format!("/{}", rel.to_string_lossy());
                    if let Some(real) = self.resolve(&in_root)? {
                        queue.push(real);
                    }
                }
            }
        }
        Ok(())
    }
}

impl DeferredContent {
    /// The placeholders, locked (a panic elsewhere leaves the map usable).
    fn placeholders(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, InPlace>> {
        self.placeholders.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The bytes of the ghost `g` read in place, when it is an ELF program (parsed, not
    /// UPX-packed: unpacking runs upx on the file) of an uncompressed layer that can be mapped.
    fn program_in_place(&self, g: &merge::Ghost) -> Option<InPlace> {
        if g.layer == merge::SPOOLED {
            return None;
        }
        let (map, start) = self
            .store
            .mapped(self.layers.get(g.layer)?, g.offset, g.size)?;
        let view = InPlace {
            map,
            start,
            len: usize::try_from(g.size).ok()?,
        };
        let elf = crate::elf::ElfFile::parse(view.bytes()).ok()?;
        crate::elf::packed::detect(&elf).is_none().then_some(view)
    }

    fn fill(&self, host: &Path, layer: usize, offset: u64, size: u64) -> Result<(), ReadError> {
        use std::os::unix::fs::OpenOptionsExt;
        let out = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(host)
            .map_err(|e| ReadError::io(&format!("cannot write {}", host.display()), e))?;
        if layer == merge::SPOOLED {
            let spool = self
                .files
                .spool
                .as_ref()
                .ok_or_else(|| ReadError::Invalid("a spooled file without a spool".into()))?;
            return Section::whole(spool)
                .and_then(|s| s.copy_range(offset, size, &out))
                .map_err(|e| ReadError::io("cannot copy a file out of the spool", e));
        }
        let name = &self.layers[layer];
        let mut holder = None;
        let blob = self.store.open(name, &mut holder)?;
        blob.copy_range(offset, size, &out).map_err(|e| {
            ReadError::io(&format!("cannot copy a file out of layer {}", layer + 1), e)
        })
    }
}

/// Paths whose existence verify checks inside the root (`verify::runtime_file_warnings`, the
/// loader's cache): made before a check when they are ghosts.
const RUNTIME_PROBES: [&str; 6] = [
    crate::elf::needs::CA_BUNDLE,
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/ld.so.cache",
    crate::elf::needs::ZONEINFO,
];

pub use super::spec::DEFAULT_PATH;

/// One image found in the archive, before its layers are read.
struct Candidate {
    reference: Option<String>,
    config_name: String,
    config_digest: Option<String>,
    layers: Vec<LayerRef>,
}

struct LayerRef {
    name: String,
    digest: Option<String>,
    size: Option<u64>,
}

/// Reads the image(s) at `source` and merges each one's layers. With `platform`
/// (`linux/arm64`...), only the images that serve that platform best (an image without a
/// variant serves `linux/amd64/v2`; of v1, v2 and v3, v2 does); without, every image in the
/// archive.
pub fn read_image(
    source: &ImageSource,
    platform: Option<&str>,
    limits: &Limits,
) -> Result<Vec<MergedImage>, ReadError> {
    let store = match source {
        ImageSource::Stdin => Store::spool(&mut io::stdin().lock(), limits)?,
        ImageSource::Path(p) if p.is_dir() => {
            if !archive::is_layout_dir(p) && !p.join("manifest.json").is_file() {
                return Err(ReadError::NotLayout);
            }
            Store::Dir(p.clone())
        }
        ImageSource::Path(p) => {
            let mut f = File::open(p).map_err(|e| ReadError::io("cannot open", e))?;
            let regular = f.metadata().is_ok_and(|m| m.is_file());
            if regular {
                Store::tar(f, limits)?
            } else {
                // A FIFO, a device or a process substitution (`<(docker save app)`): read it
                // once, as a stream with the limits of a file.
                Store::spool(&mut f, limits)?
            }
        }
    };
    read_store(Arc::new(store), platform, limits)
}

/// Reads the images of an archive already in memory (for tests and fuzzing).
pub fn read_tar_bytes(data: &[u8], limits: &Limits) -> Result<Vec<MergedImage>, ReadError> {
    let store = Store::spool(&mut &data[..], limits)?;
    read_store(Arc::new(store), None, limits)
}

/// Merges one layer tar (plain, gzip or zstd) held in memory into a fresh root, without digests: for
/// fuzzing the layer reader and the merge directly.
pub fn merge_layer_bytes(layer: &[u8], limits: &Limits) -> Result<MergedImage, ReadError> {
    let root = crate::tempfiles::PrivateDir::new("binslim-image-")
        .map_err(|e| ReadError::io("cannot create a temporary directory", e))?;
    let mut merger = merge::Merger::new(root.path(), limits);
    let inner: Box<dyn Read> = match Codec::of(layer) {
        Codec::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(layer)),
        Codec::Zstd => Box::new(zstd_reader(layer)?),
        Codec::Plain => Box::new(layer),
    };
    let mut tar = TarReader::new(Hashing::new(inner, limits.max_uncompressed, "more than"));
    merger.apply(&mut tar, 0, false)?;
    // No deferred content to make directories from later: all of them now.
    let dirs: Vec<PathBuf> = merger.deferred.dirs.paths().collect();
    for d in dirs {
        merger.deferred.materialize(&d)?;
    }
    let entries = merger.entries();
    Ok(MergedImage {
        root,
        config: ImageConfig::default(),
        reference: None,
        platform: String::new(),
        layers: 1,
        entries,
        deferred: None,
    })
}

fn read_store(
    store: Arc<Store>,
    platform: Option<&str>,
    limits: &Limits,
) -> Result<Vec<MergedImage>, ReadError> {
    let candidates = if store.has("index.json") {
        oci_candidates(&store, limits)?
    } else if store.has("manifest.json") {
        docker_candidates(&store, limits)?
    } else {
        return Err(ReadError::Invalid(
            "holds neither index.json nor manifest.json: not a docker save, podman save or \
             oci-archive tar"
                .into(),
        ));
    };
    let mut configs = Vec::new();
    for c in candidates {
        let config: ImageConfig =
            read_json(&store, &c.config_name, c.config_digest.as_deref(), limits)?;
        configs.push((c, config));
    }
    if configs.is_empty() {
        return Err(ReadError::NoImage);
    }
    let name_of = |cfg: &ImageConfig| {
        let mut p = format!("{}/{}", cfg.os, cfg.architecture);
        if let Some(v) = cfg.variant.as_deref().filter(|v| !v.is_empty()) {
            p.push('/');
            p.push_str(v);
        }
        p
    };
    if let Some(want) = platform {
        let all: Vec<String> = configs.iter().map(|(_, c)| name_of(c)).collect();
        let ranks: Vec<Option<usize>> = configs
            .iter()
            .map(|(_, c)| platform_rank(want, &name_of(c)))
            .collect();
        let best = ranks.iter().flatten().min().copied();
        let mut ranks = ranks.into_iter();
        configs.retain(|_| ranks.next().flatten().is_some_and(|r| Some(r) == best));
        if configs.is_empty() {
            return Err(ReadError::NoPlatform {
                want: want.to_string(),
                have: all,
            });
        }
    }
    let mut out = Vec::new();
    for (c, config) in configs {
        let root = crate::tempfiles::PrivateDir::new("binslim-image-")
            .map_err(|e| ReadError::io("cannot create a temporary directory", e))?;
        let (entries, deferred) = merge_layers(&store, &c, &config, root.path(), limits)?;
        out.push(MergedImage {
            platform: name_of(&config),
            layers: c.layers.len(),
            entries,
            root,
            config,
            reference: c.reference,
            deferred: Some(DeferredContent {
                store: Arc::clone(&store),
                layers: c.layers.iter().map(|l| l.name.clone()).collect(),
                files: deferred,
                placeholders: Mutex::default(),
                names: std::sync::OnceLock::new(),
            }),
        });
    }
    Ok(out)
}

/// How well an image of platform `have` serves `want` (`os/arch[/variant]`): `None` when it
/// cannot run there, else its rank, 0 the best; the images of the best rank are read. As
/// containers/image (skopeo, podman) and containerd choose: without a variant asked, every
/// variant of the OS and architecture serves; with one, the same variant first, then each lower
/// level the CPU also runs (`linux/amd64/v3`: v3, v2, v1; `linux/arm/v7`: v7, v6, v5), then an
/// image that records no variant (the architecture's baseline, which runs everywhere).
pub(crate) fn platform_rank(want: &str, have: &str) -> Option<usize> {
    let w: Vec<&str> = want.split('/').collect();
    let h: Vec<&str> = have.split('/').collect();
    if w.len() < 2 || h.len() < 2 || w[0] != h[0] || w[1] != h[1] {
        return None;
    }
    let Some(wv) = w.get(2).filter(|v| !v.is_empty()) else {
        return Some(0);
    };
    let hv = h.get(2).copied().unwrap_or("");
    let levels: &[&str] = match w[1] {
        "amd64" => &["v4", "v3", "v2", "v1"],
        "arm" => &["v8", "v7", "v6", "v5"],
        "arm64" => &["v9", "v8"],
        _ => &[],
    };
    let mut order: Vec<&str> = match levels.iter().position(|l| l == wv) {
        Some(i) => levels[i..].to_vec(),
        None => vec![*wv],
    };
    order.push("");
    order.iter().position(|v| *v == hv)
}

fn oci_candidates(store: &Store, limits: &Limits) -> Result<Vec<Candidate>, ReadError> {
    let index: Index = read_json(store, "index.json", None, limits)?;
    let mut out = Vec::new();
    walk_index(store, &index, None, 0, limits, &mut out)?;
    Ok(out)
}

fn walk_index(
    store: &Store,
    index: &Index,
    reference: Option<&str>,
    depth: usize,
    limits: &Limits,
    out: &mut Vec<Candidate>,
) -> Result<(), ReadError> {
    if depth > 4 {
        return Err(ReadError::Limit("indexes nested more than 4 deep".into()));
    }
    for d in &index.manifests {
        // Attestations and signatures ride along as "unknown/unknown" manifests.
        // So do OCI 1.1 artifacts (an SBOM whose subject is the image), named by their type.
        if d.platform.as_ref().is_some_and(|p| p.os == "unknown") || d.artifact_type.is_some() {
            continue;
        }
        let reference = d
            .annotations
            .get(spec::ANNOTATION_REF_NAME)
            .map(String::as_str)
            .or(reference);
        let name = blob_name(&d.digest)?;
        match d.media_type.as_str() {
            spec::MEDIA_INDEX | spec::MEDIA_DOCKER_LIST => {
                let sub: Index = read_json(store, &name, Some(&d.digest), limits)?;
                walk_index(store, &sub, reference, depth + 1, limits, out)?;
            }
            spec::MEDIA_MANIFEST | spec::MEDIA_DOCKER_MANIFEST => {
                let m: Manifest = read_json(store, &name, Some(&d.digest), limits)?;
                if is_artifact(&m) {
                    continue;
                }
                let mut layers = Vec::new();
                for l in &m.layers {
                    layers.push(LayerRef {
                        name: blob_name(&l.digest)?,
                        digest: Some(l.digest.clone()),
                        size: Some(l.size),
                    });
                }
                out.push(Candidate {
                    reference: reference.map(str::to_string),
                    config_name: blob_name(&m.config.digest)?,
                    config_digest: Some(m.config.digest.clone()),
                    layers,
                });
            }
            other => {
                return Err(ReadError::NotManifest {
                    media_type: other.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// Whether `m` is an artifact rather than an image: it has an `artifactType`, or its config is
/// not an image config (OCI 1.1: an artifact names its type by one or the other).
pub fn is_artifact(m: &Manifest) -> bool {
    const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
    m.artifact_type.is_some()
        || (m.config.media_type != spec::MEDIA_CONFIG && m.config.media_type != DOCKER_CONFIG)
}

/// `manifest.json`: a docker-archive's list of images, or (in a directory) the one image
/// manifest of a `dir` transport layout (`podman save --format docker-dir`, `skopeo copy ...
/// dir:DIR`), whose blobs are files named by their hex digest.
fn docker_candidates(store: &Store, limits: &Limits) -> Result<Vec<Candidate>, ReadError> {
    let doc: serde_json::Value = read_json(store, "manifest.json", None, limits)?;
    let json_err = |source| ReadError::Json {
        name: "manifest.json".into(),
        source,
    };
    if doc.is_object() && matches!(store, Store::Dir(_)) {
        let m: Manifest = serde_json::from_value(doc).map_err(json_err)?;
        return dir_candidate(m).map(|c| vec![c]);
    }
    let entries: Vec<DockerManifestEntry> = serde_json::from_value(doc).map_err(json_err)?;
    Ok(entries
        .into_iter()
        .map(|e| Candidate {
            reference: e.repo_tags.and_then(|t| t.into_iter().next()),
            config_digest: digest_from_name(&e.config),
            config_name: e.config,
            layers: e
                .layers
                .into_iter()
                .map(|name| LayerRef {
                    name,
                    digest: None,
                    size: None,
                })
                .collect(),
        })
        .collect())
}

/// The image of a `dir` transport layout: its manifest, and blobs named `<hex>`.
fn dir_candidate(m: Manifest) -> Result<Candidate, ReadError> {
    let name = |digest: &str| -> Result<String, ReadError> {
        let b = blob_name(digest)?;
        Ok(b.rsplit('/').next().unwrap_or(&b).to_string())
    };
    let mut layers = Vec::new();
    for l in &m.layers {
        layers.push(LayerRef {
            name: name(&l.digest)?,
            digest: Some(l.digest.clone()),
            size: Some(l.size),
        });
    }
    Ok(Candidate {
        reference: None,
        config_name: name(&m.config.digest)?,
        config_digest: Some(m.config.digest.clone()),
        layers,
    })
}

/// A docker-archive names its config `<hex>.json` or `blobs/sha256/<hex>`: the digest it claims.
fn digest_from_name(name: &str) -> Option<String> {
    let base = name.rsplit('/').next()?;
    let hex = base.strip_suffix(".json").unwrap_or(base);
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| format!("sha256:{hex}"))
}

fn open_blob<'a>(
    store: &'a Store,
    name: &str,
    holder: &'a mut Option<File>,
) -> Result<Section<'a>, ReadError> {
    store.open(name, holder)
}

fn read_json<T: DeserializeOwned>(
    store: &Store,
    name: &str,
    digest: Option<&str>,
    limits: &Limits,
) -> Result<T, ReadError> {
    let data = read_document(store, name, digest, limits)?;
    serde_json::from_slice(&data).map_err(|source| ReadError::Json {
        name: name.to_string(),
        source,
    })
}

/// The bytes of a JSON document (index, manifest, config), at most [`Limits::max_json`] of
/// them, checked against `digest` when there is one.
fn read_document(
    store: &Store,
    name: &str,
    digest: Option<&str>,
    limits: &Limits,
) -> Result<Vec<u8>, ReadError> {
    let mut holder = None;
    let mut blob = open_blob(store, name, &mut holder)?;
    if blob.len() > limits.max_json {
        return Err(ReadError::Limit(format!(
            "{name} is {} bytes, more than the {} a JSON document may have",
            blob.len(),
            limits.max_json
        )));
    }
    let mut data = Vec::with_capacity(blob.len() as usize);
    blob.read_to_end(&mut data)
        .map_err(|e| ReadError::io(&format!("cannot read {name}"), e))?;
    if let Some(expected) = digest {
        let actual = spec::digest_of(&data);
        if actual != expected {
            return Err(ReadError::Digest {
                what: name.to_string(),
                expected: expected.to_string(),
                actual,
            });
        }
    }
    Ok(data)
}

/// An image as it is stored (the members of a tar file, or the files of a layout directory),
/// for code that moves its blobs as they are (`registry::source`): where a blob's bytes lie,
/// and the bytes of its small JSON documents. Nothing is merged or decompressed.
pub(crate) struct StoredImage {
    store: Store,
    path: PathBuf,
}

impl StoredImage {
    /// Indexes the tar file at `path` (a regular file: one header read per member), or takes
    /// the directory at `path` as it is.
    pub(crate) fn open(path: &Path, limits: &Limits) -> Result<StoredImage, ReadError> {
        let store = if path.is_dir() {
            Store::Dir(path.to_path_buf())
        } else {
            let f = File::open(path).map_err(|e| ReadError::io("cannot open", e))?;
            Store::tar(f, limits)?
        };
        Ok(StoredImage {
            store,
            path: path.to_path_buf(),
        })
    }

    /// True when the image holds a member (a file) named `name`.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.store.has(name)
    }

    /// Where member `name`'s bytes lie: the file and the offset and length in it (a tar
    /// member's payload is contiguous). [`ReadError::MissingBlob`] when it is not there.
    pub(crate) fn locate(&self, name: &str) -> Result<(PathBuf, u64, u64), ReadError> {
        self.store.locate(name, &self.path)
    }

    /// The first `n` bytes of member `name` (fewer when it is shorter).
    pub(crate) fn head(&self, name: &str, n: usize) -> Result<Vec<u8>, ReadError> {
        let mut holder = None;
        let blob = self.store.open(name, &mut holder)?;
        blob.head(n)
            .map_err(|e| ReadError::io(&format!("cannot read {name}"), e))
    }

    /// The bytes of the JSON document `name`, capped by [`Limits::max_json`] and checked
    /// against `digest` when given.
    pub(crate) fn document(
        &self,
        name: &str,
        digest: Option<&str>,
        limits: &Limits,
    ) -> Result<Vec<u8>, ReadError> {
        read_document(&self.store, name, digest, limits)
    }
}

/// The member name of a blob in an OCI layout (`blobs/sha256/<hex>`), the digest checked to be
/// exactly `sha256:<64 lowercase hex digits>`.
pub(crate) fn layout_blob_name(digest: &str) -> Result<String, ReadError> {
    blob_name(digest)
}

/// A docker-archive's config member name (`<hex>.json`, `blobs/sha256/<hex>`): the digest it
/// claims, when it has that shape.
pub(crate) fn config_digest_from_name(name: &str) -> Option<String> {
    digest_from_name(name)
}

fn merge_layers(
    store: &Store,
    c: &Candidate,
    config: &ImageConfig,
    root: &Path,
    limits: &Limits,
) -> Result<(u64, merge::Deferred), ReadError> {
    if c.layers.len() > limits.max_layers {
        return Err(ReadError::Limit(format!(
            "{} layers (limit {})",
            c.layers.len(),
            limits.max_layers
        )));
    }
    if c.layers.len() != config.rootfs.diff_ids.len() {
        return Err(ReadError::Invalid(format!(
            "the manifest has {} layers but the config's rootfs.diff_ids lists {}",
            c.layers.len(),
            config.rootfs.diff_ids.len()
        )));
    }
    let mut merger = merge::Merger::new(root, limits);
    let mut budget = limits.max_uncompressed;
    for (i, (layer, diff_id)) in c.layers.iter().zip(&config.rootfs.diff_ids).enumerate() {
        let label = layer.digest.as_deref().unwrap_or(diff_id);
        let used = apply_layer(store, i, layer, diff_id, &mut merger, budget, limits)
            .map_err(|e| e.in_layer(i + 1, label))?;
        budget -= used.min(budget);
    }
    Ok((merger.entries(), merger.deferred))
}

/// Reads an uncompressed layer header by header into the merge, seeking over the payload no
/// check reads and computing no digest (see the module comment for why). Returns its size.
fn seek_layer(
    blob: Section<'_>,
    index: usize,
    merger: &mut merge::Merger<'_>,
    budget: u64,
) -> Result<u64, ReadError> {
    let len = blob.len();
    if len > budget {
        return Err(ReadError::Limit(format!(
            "the layer decompresses to more than {budget} bytes"
        )));
    }
    let mut tar = TarReader::new(archive::Seeking::new(blob));
    merger.apply(&mut tar, index, true)?;
    Ok(len)
}

/// How a layer blob is compressed, told by its first bytes (the media type is not always known:
/// a docker-archive member has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    /// A plain tar.
    Plain,
    /// gzip (`1f 8b`).
    Gzip,
    /// A zstd frame (`28 b5 2f fd`).
    Zstd,
}

impl Codec {
    fn of(head: &[u8]) -> Codec {
        if head.starts_with(&[0x1f, 0x8b]) {
            Codec::Gzip
        } else if head.starts_with(&ZSTD_MAGIC) {
            Codec::Zstd
        } else {
            Codec::Plain
        }
    }
}

/// The magic number that opens a zstd frame.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// The largest zstd window a layer may ask for: 2^27 = 128 MiB, what the `zstd` CLI decodes
/// without `--long` or `--memory` (a frame asking for more is refused before any allocation).
const ZSTD_WINDOW_LOG_MAX: u32 = 27;

/// A streaming zstd decoder over `r` (all frames in turn), its window capped at
/// [`ZSTD_WINDOW_LOG_MAX`]; its errors say they are zstd's.
fn zstd_reader<'a, R: io::BufRead + 'a>(r: R) -> Result<ZstdRead<'a, R>, ReadError> {
    let mut d = zstd::stream::read::Decoder::with_buffer(r)
        .map_err(|e| ReadError::io("cannot start a zstd decoder", e))?;
    d.window_log_max(ZSTD_WINDOW_LOG_MAX)
        .map_err(|e| ReadError::io("cannot start a zstd decoder", e))?;
    Ok(ZstdRead {
        inner: d,
        window: None,
    })
}

/// A zstd decoder whose errors name zstd, and the window a refused frame asked for.
struct ZstdRead<'a, R: io::BufRead> {
    inner: zstd::stream::read::Decoder<'a, R>,
    /// The window size of the current frame's header, once seen.
    window: Option<u64>,
}

impl<R: io::BufRead> Read for ZstdRead<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.window.is_none()
            && let Ok(head) = self.inner.get_mut().fill_buf()
        {
            self.window = zstd_window(head);
        }
        self.inner.read(buf).map_err(|e| {
            let message = match self.window {
                Some(w) if w > 1 << ZSTD_WINDOW_LOG_MAX => format!(
                    "zstd: the frame needs a window of {w} bytes, more than the {} binslim \
                     decodes ({e})",
                    1u64 << ZSTD_WINDOW_LOG_MAX
                ),
                _ => format!("zstd: {e}"),
            };
            io::Error::new(e.kind(), message)
        })
    }
}

/// The window size a zstd frame header declares (RFC 8878 §3.1.1.1.2), when `head` starts
/// with one that has a window descriptor.
fn zstd_window(head: &[u8]) -> Option<u64> {
    let rest = head.strip_prefix(&ZSTD_MAGIC)?;
    let descriptor = *rest.first()?;
    // Single_Segment_flag: no window descriptor, the window is the content size.
    if descriptor & 0x20 != 0 {
        return None;
    }
    let w = *rest.get(1)?;
    let log = 10 + u64::from(w >> 3);
    let base = 1u64 << log;
    Some(base + (base / 8) * u64::from(w & 7))
}

/// Streams one layer blob into the merge: a compressed (gzip or zstd) layer always, an
/// uncompressed one with [`Limits::verify_digests`], each byte through the digests. Returns the
/// uncompressed size.
fn apply_layer(
    store: &Store,
    index: usize,
    layer: &LayerRef,
    diff_id: &str,
    merger: &mut merge::Merger<'_>,
    budget: u64,
    limits: &Limits,
) -> Result<u64, ReadError> {
    let mut holder = None;
    let blob = open_blob(store, &layer.name, &mut holder)?;
    let blob_len = blob.len();
    if let Some(size) = layer.size
        && size != blob_len
    {
        return Err(ReadError::Invalid(format!(
            "the blob is {blob_len} bytes, but the manifest says {size}"
        )));
    }
    let head = blob
        .head(4)
        .map_err(|e| ReadError::io("cannot read the layer", e))?;
    let codec = Codec::of(&head);
    if codec == Codec::Plain && !limits.verify_digests {
        return seek_layer(blob, index, merger, budget);
    }
    let compressed_layer = codec != Codec::Plain;
    let mut compressed = Hashing::new(blob, u64::MAX, "");
    let uncompressed_digest;
    let used;
    {
        let buf = BufReader::with_capacity(1 << 16, &mut compressed);
        let ratio_cap = blob_len
            .saturating_mul(limits.max_ratio)
            .saturating_add(1 << 30)
            .min(budget);
        let (inner, cap): (Box<dyn Read + '_>, u64) = match codec {
            Codec::Gzip => (
                Box::new(flate2::bufread::MultiGzDecoder::new(buf)),
                ratio_cap,
            ),
            Codec::Zstd => (Box::new(zstd_reader(buf)?), ratio_cap),
            Codec::Plain => (Box::new(buf), budget),
        };
        let mut tar = TarReader::new(Hashing::new(
            inner,
            cap,
            "the layer decompresses to more than",
        ));
        if let Err(e) = merger.apply(&mut tar, index, !compressed_layer) {
            let h = tar.into_inner();
            return Err(if h.count > h.cap {
                h.explain(io::ErrorKind::Other.into(), "")
            } else {
                e
            });
        }
        let mut rest = tar.into_inner();
        io::copy(&mut rest, &mut io::sink())
            .map_err(|e| rest.explain(e, "cannot read the layer"))?;
        used = rest.count;
        uncompressed_digest = rest.digest();
    }
    io::copy(&mut compressed, &mut io::sink())
        .map_err(|e| ReadError::io("cannot read the layer", e))?;
    if let Some(expected) = &layer.digest {
        let actual = compressed.digest();
        if &actual != expected {
            return Err(ReadError::Digest {
                what: "the layer blob".into(),
                expected: expected.clone(),
                actual,
            });
        }
    }
    if uncompressed_digest != diff_id {
        return Err(ReadError::Digest {
            what: "the uncompressed layer".into(),
            expected: diff_id.to_string(),
            actual: uncompressed_digest,
        });
    }
    Ok(used)
}

/// A reader that hashes and counts what passes through it, and stops at a byte limit.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
    count: u64,
    cap: u64,
    over: &'static str,
}

impl<R: Read> Hashing<R> {
    fn new(inner: R, cap: u64, over: &'static str) -> Self {
        Hashing {
            inner,
            hash: Sha256::new(),
            count: 0,
            cap,
            over,
        }
    }

    fn digest(&mut self) -> String {
        format!(
            "sha256:{}",
            spec::hex(&std::mem::take(&mut self.hash).finalize())
        )
    }

    fn explain(&self, e: io::Error, what: &str) -> ReadError {
        if self.count > self.cap {
            ReadError::Limit(format!("{} {} bytes", self.over, self.cap))
        } else {
            ReadError::io(what, e)
        }
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.count += n as u64;
        if self.count > self.cap {
            return Err(io::Error::other(format!(
                "{} {} bytes",
                self.over, self.cap
            )));
        }
        Ok(n)
    }
}

impl<R: Read> Source for Hashing<R> {}

/// Calls `f` with each regular file on disk at or below `host` (symlinks not followed) and
/// its size; of several hard links to one inode only the first gets the size, the others 0,
/// as `du` counts.
fn files_on_disk(host: PathBuf, mut f: impl FnMut(PathBuf, u64)) {
    use std::os::unix::fs::MetadataExt;
    let mut seen_inodes = std::collections::HashSet::new();
    let mut stack = vec![host];
    while let Some(p) = stack.pop() {
        let Ok(m) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if m.is_dir() {
            if let Ok(rd) = std::fs::read_dir(&p) {
                stack.extend(rd.flatten().map(|e| e.path()));
            }
        } else if m.is_file() {
            let first = m.nlink() < 2 || seen_inodes.insert((m.dev(), m.ino()));
            f(p, if first { m.len() } else { 0 });
        }
    }
}

#[cfg(test)]
mod tests;
