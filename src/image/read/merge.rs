//! Merging layers into a *sparse root*: the file tree an engine would assemble, built in a
//! private temporary directory with only the bytes verification reads.
//!
//! Layers are applied bottom first, as overlayfs presents them: `.wh.NAME` deletes NAME from
//! lower layers, `.wh..wh..opq` hides a directory's lower content, a later entry replaces an
//! earlier one. Symlinks (stored verbatim; [`crate::resolve::resolve_in_root`] follows them
//! inside the root) and hard links are made as such; a directory is made on disk only on the
//! way to something made there ([`Deferred::dirs`]), since an image may hold 100,000 of them. Small files under `/etc`
//! (ld.so.cache, ld.so.conf, ld-musl paths, passwd, group, nsswitch.conf) are written whole.
//! Every other file of an uncompressed layer is a *ghost* ([`Deferred::ghosts`]): neither read
//! nor made until a check reaches it, then copied from the layer at its offset. A compressed
//! layer streams by once: its `#!` scripts are written whole, its ELF files spooled (ghosts
//! whose bytes sit in one temporary file), and its other files are their first 512 bytes in a
//! sparse file of the right size, which is all a check of their existence or format needs. Regular files keep their
//! mode (without set-id bits).
//!
//! Nothing is ever created outside the root: entry paths with `..` are refused, parent
//! directories are resolved component by component with `lstat`, symlinks among them are
//! followed *inside* the root (as engines do), and files are created with `O_EXCL|O_NOFOLLOW`.

use std::collections::{HashMap, VecDeque};
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::pathmap::{PathMap, PathSet, key};
use super::tarstream::{EntryData, Header, Kind, Source, TarReader};
use super::{Limits, ReadError};

/// Files under `/etc` up to this size are written whole (ld.so.cache is tens of KiB).
const ETC_FILE_MAX: u64 = 4 << 20;
/// Bytes kept of a file whose content is not needed (enough to tell its format).
const PREFIX: usize = 512;
/// Most bytes of paths and targets of links held in memory, not made yet
/// ([`Deferred::links`]); past it, they are made on disk (a layer of a million links of 4 KiB
/// targets costs disk, as it did before links were deferred, not gigabytes of memory).
const LINKS_BUDGET: usize = 4 << 20;

/// Files whose content was not copied while the layers streamed by: every file of an
/// uncompressed layer (it can be read again at its offset) but small `/etc` files, and the ELF
/// files of compressed layers (spooled).
#[derive(Debug, Default)]
pub(super) struct Deferred {
    /// Host paths of the files and links, in the order of their entries: grouped by file name
    /// only when a check looks for libraries by name ([`Deferred::by_name`]), which a static
    /// program never does.
    pub named: Vec<PathBuf>,
    /// Files not made at all yet: host path → where their bytes are. Most of a large image is
    /// files no check will read; each costs no file until a check reaches it. Ordered, so the
    /// ghosts below a removed directory are one range.
    pub ghosts: PathMap<Ghost>,
    /// The bytes of the ELF files of compressed layers (which cannot be read again at an
    /// offset), one after another in one unnamed temporary file.
    pub spool: Option<File>,
    spool_len: u64,
    /// Host path → the header of the entry that made it, and its layer (directories made only
    /// as the parent of an entry have none: engines make those 0755 root:root).
    pub meta: PathMap<Recorded>,
    /// Directories of the merged image not made on disk yet (host paths): a directory is made
    /// only on the way to something that must be on disk (a link, a written file, or what a
    /// check reaches), so an image of 100,000 directories costs no 100,000 `mkdir`s. Each
    /// one's parent is on disk or here too; nothing on disk is below one.
    pub dirs: PathSet,
    /// Symlinks not made on disk yet (host path → target): those whose directory is not made
    /// yet ([`Deferred::dirs`]). Each is made with its directory, so a directory on disk holds
    /// every link the layers put there, and a 1 GiB layer of 600 library links costs no 600
    /// `symlink`s (nor the `mkdir`s of their directories) when no check goes there. The merge
    /// reads a link here as it would read one on disk.
    pub links: PathMap<Box<[u8]>>,
    /// Bytes of the paths and targets put in [`Deferred::links`] since it was last emptied.
    links_bytes: usize,
}

/// What an entry of the merged image is, as its layer header said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file (or a hard link to one).
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A character device.
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A FIFO (named pipe).
    Fifo,
}

impl EntryKind {
    /// How messages name the kind ("a FIFO").
    pub fn describe(self) -> &'static str {
        match self {
            EntryKind::File => "a regular file",
            EntryKind::Dir => "a directory",
            EntryKind::Symlink => "a symbolic link",
            EntryKind::CharDevice => "a character device",
            EntryKind::BlockDevice => "a block device",
            EntryKind::Fifo => "a FIFO",
        }
    }
}

/// The owner, permission bits and kind of one entry of the merged image, as the layer that
/// made it last said: what the runtime sees, which the host copy (owned by whoever runs
/// binslim, without set-id bits) does not keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryMeta {
    /// Permission bits with set-id and sticky bits (`0o7777`).
    pub mode: u32,
    /// Owner's user id.
    pub uid: u64,
    /// Owner's group id.
    pub gid: u64,
    /// What the entry is.
    pub kind: EntryKind,
}

impl EntryMeta {
    fn of(h: &Header) -> Self {
        let kind = match h.kind {
            Kind::File | Kind::HardLink => EntryKind::File,
            Kind::Dir => EntryKind::Dir,
            Kind::Symlink => EntryKind::Symlink,
            Kind::Special => match h.typeflag {
                b'3' => EntryKind::CharDevice,
                b'4' => EntryKind::BlockDevice,
                _ => EntryKind::Fifo,
            },
        };
        EntryMeta {
            mode: h.mode & 0o7777,
            uid: h.uid,
            gid: h.gid,
            kind,
        }
    }
}

/// What [`Deferred::meta`] holds of an entry.
#[derive(Debug, Clone, Copy)]
pub(super) struct Recorded {
    /// Its header's owner, mode and kind.
    pub meta: EntryMeta,
    /// The layer whose entry made it last: whiteouts and opaque directories of that layer keep
    /// it (they hide lower layers only).
    pub layer: usize,
}

/// [`Ghost::layer`] of a file whose bytes are in [`Deferred::spool`].
pub(super) const SPOOLED: usize = usize::MAX;

/// A file known from a layer header but not created yet.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ghost {
    /// Permission bits.
    pub mode: u32,
    /// Layer number, or [`SPOOLED`].
    pub layer: usize,
    /// Payload offset in the layer blob (or the spool).
    pub offset: u64,
    /// Size in bytes.
    pub size: u64,
}

impl Deferred {
    /// File name → host paths of the files and links of that name, in the order of their
    /// entries (for finding libraries).
    pub fn by_name(&self) -> HashMap<OsString, Vec<PathBuf>> {
        let mut names: HashMap<OsString, Vec<PathBuf>> = HashMap::new();
        for p in &self.named {
            if let Some(n) = p.file_name() {
                names.entry(n.to_os_string()).or_default().push(p.clone());
            }
        }
        names
    }

    /// Whether the entry at `path` was made by layer `layer`.
    fn made_by(&self, path: &Path, layer: usize) -> bool {
        self.meta.get(path).is_some_and(|r| r.layer == layer)
    }

    /// Whether `path` and every directory above it up to `dir` were made by layer `layer`.
    fn made_below_by(&self, dir: &Path, path: &Path, layer: usize) -> bool {
        path.ancestors()
            .take_while(|a| *a != dir)
            .all(|a| self.made_by(a, layer))
    }

    /// Forgets what lay at `path` and, when it was a directory, below it (but what layer
    /// `keep` made, for the ghosts and records).
    fn forget(&mut self, path: &Path, was_dir: bool, keep: usize) {
        self.ghosts.remove(path);
        self.meta.remove(path);
        self.dirs.remove(path);
        self.links.remove(path);
        if was_dir {
            self.forget_below(path, keep);
            // As `remove_dir_all` does on disk: every directory and link below goes.
            self.forget_unmade_below(path, None);
        }
    }

    /// Makes every link not made yet, with its directory: when they hold more than
    /// [`LINKS_BUDGET`] bytes of memory.
    fn flush_links(&mut self) -> Result<(), ReadError> {
        let mut dirs: Vec<PathBuf> = self
            .links
            .paths()
            .filter_map(|l| l.parent().map(Path::to_path_buf))
            .collect();
        dirs.dedup();
        for d in dirs {
            self.materialize(&d)?;
        }
        self.links_bytes = 0;
        Ok(())
    }

    /// Makes the directory `host` not made yet (its parent is on disk) and the links not made
    /// yet in it, once: after the merge, when a check reaches it (one already there was made
    /// with its links).
    pub fn make_unmade_dir(&self, host: &Path) -> Result<(), ReadError> {
        if make_dir(host)? {
            self.make_links_in(host)?;
        }
        Ok(())
    }

    /// Makes the links not made yet in `dir` (on disk); returns their paths.
    fn make_links_in(&self, dir: &Path) -> Result<Vec<PathBuf>, ReadError> {
        let links = self.links.children(dir);
        for l in &links {
            if let Some(target) = self.links.get(l) {
                make_symlink(target, l)?;
            }
        }
        Ok(links)
    }

    /// Forgets the directories and links not made yet strictly below `dir`, but those that
    /// layer `keep` made, with every directory between them and `dir`.
    fn forget_unmade_below(&mut self, dir: &Path, keep: Option<usize>) {
        let kept = |p: &Path| p == dir || keep.is_some_and(|k| self.made_below_by(dir, p, k));
        let dirs = self.dirs.at_or_below(dir, |d| !kept(d));
        let links = self.links.at_or_below(dir, |l| !kept(l));
        for d in dirs {
            self.dirs.remove(&d);
        }
        for l in links {
            self.links.remove(&l);
        }
    }

    /// Makes `dir` on disk if it is a directory not made yet, with its parents not made yet.
    pub fn materialize(&mut self, dir: &Path) -> Result<(), ReadError> {
        let mut chain = Vec::new();
        let mut d = dir;
        while self.dirs.contains(d) {
            chain.push(d.to_path_buf());
            match d.parent() {
                Some(p) => d = p,
                None => break,
            }
        }
        for c in chain.iter().rev() {
            make_dir(c)?;
            self.dirs.remove(c);
            // Each link not made yet is in a directory not made yet: these are not on disk.
            for l in self.make_links_in(c)? {
                self.links.remove(&l);
            }
        }
        Ok(())
    }

    /// Forgets the ghosts and records below `dir` but those layer `keep` made: one range of
    /// each ordered map (a path sorts right before its descendants), so a hostile run of
    /// whiteouts stays linear.
    fn forget_below(&mut self, dir: &Path, keep: usize) {
        for g in self.ghosts.at_or_below(dir, |g| !self.made_by(g, keep)) {
            self.ghosts.remove(&g);
        }
        let gone = self
            .meta
            .at_or_below(dir, |g| g != dir && !self.made_by(g, keep));
        for g in gone {
            self.meta.remove(&g);
        }
    }
}

/// Builds the merged tree of one image.
pub(super) struct Merger<'a> {
    root: &'a Path,
    limits: &'a Limits,
    entries: u64,
    /// The layer being applied, and whether its ELF content may be deferred.
    layer: usize,
    defer: bool,
    /// What was deferred.
    pub deferred: Deferred,
    /// Parent directories already resolved (in-image components → host directory, and the
    /// links followed to reach it, which count towards the limit of its subdirectories): most
    /// entries share a parent, and each component would cost an `lstat`. Cleared whenever a
    /// directory or symlink is removed or replaced, which could change what a path resolves to.
    dirs: HashMap<Vec<OsString>, (PathBuf, usize)>,
    /// The parent of the last entry resolved through [`Merger::dirs`]: its bytes in the entry's
    /// path, and its host directory (cleared with [`Merger::dirs`]).
    last_parent: Option<(Vec<u8>, PathBuf)>,
    /// The bytes of the host path of `/etc`, whose small files are written whole.
    etc: Vec<u8>,
}

impl<'a> Merger<'a> {
    pub fn new(root: &'a Path, limits: &'a Limits) -> Self {
        Merger {
            root,
            limits,
            entries: 0,
            etc: root.join("etc").into_os_string().into_vec(),
            last_parent: None,
            layer: 0,
            defer: false,
            deferred: Deferred::default(),
            dirs: HashMap::new(),
        }
    }

    /// Entries applied so far, over all layers.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// Applies one layer's tar stream. With `defer`, file content is not copied but noted in
    /// [`Deferred`] (the stream is the uncompressed blob of layer number `layer`).
    pub fn apply<S: Source>(
        &mut self,
        tar: &mut TarReader<S>,
        layer: usize,
        defer: bool,
    ) -> Result<(), ReadError> {
        self.forget_resolved();
        self.layer = layer;
        self.defer = defer;
        while let Some(h) = tar
            .next_header()
            .map_err(|e| ReadError::Invalid(format!("bad layer tar: {e}")))?
        {
            self.entries += 1;
            if self.entries > self.limits.max_entries {
                return Err(ReadError::Limit(format!(
                    "more than {} files in the image's layers",
                    self.limits.max_entries
                )));
            }
            self.entry(&h, tar)
                .map_err(|e| e.in_entry(&String::from_utf8_lossy(&h.path)))?;
        }
        Ok(())
    }

    fn entry<S: Source>(&mut self, h: &Header, tar: &mut TarReader<S>) -> Result<(), ReadError> {
        // Most entries are in the directory of the one before: its path bytes, compared, give
        // the host directory without splitting the path or resolving it again.
        let split = split_entry(&h.path);
        let cached = match (&split, &self.last_parent) {
            (Some((parent, _)), Some((p, d))) if p[..] == parent[..] => Some(d.clone()),
            _ => None,
        };
        let comps;
        let (dir, name): (PathBuf, &[u8]) = match (cached, split) {
            (Some(d), Some((_, name))) => (d, name),
            _ => {
                comps = entry_components(&h.path)?;
                let Some((name, parent)) = comps.split_last() else {
                    return Ok(()); // the root directory itself
                };
                let dir = self.resolve_dir(parent, true)?.ok_or_else(|| {
                    ReadError::Invalid("its parent directory cannot be created".into())
                })?;
                if let Some((p, _)) = split {
                    self.last_parent = Some((p.to_vec(), dir.clone()));
                }
                (dir, name.as_bytes())
            }
        };
        if name == b".wh..wh..opq" {
            return self.opaque(&dir);
        }
        if let Some(hidden) = name.strip_prefix(b".wh.") {
            return self.whiteout(&dir, hidden);
        }
        let host = dir.join(OsStr::from_bytes(name));
        let hk = key(&host);
        // The directory's key is the start of the entry's (no allocation for it).
        let dir_len = dir.as_os_str().len();
        let dir_unmade = if hk.len() == dir_len + 1 + name.len() {
            self.deferred.dirs.contains_k(&hk[..dir_len])
        } else {
            self.deferred.dirs.contains(&dir)
        };
        if !self.replace(h, &host, &hk, dir_unmade)? {
            return Ok(()); // a directory listed again
        }
        match h.kind {
            Kind::Dir => {
                self.deferred.dirs.insert_k(hk.clone(), ());
            }
            Kind::Symlink => {
                if h.link.is_empty() || h.link.contains(&0) {
                    return Err(ReadError::Unsafe("a symlink with an empty target".into()));
                }
                self.symlink(&h.link, &host, &hk, dir_unmade)?;
            }
            Kind::HardLink => self.hard_link(&h.link, &host)?,
            Kind::File => self.file(h, tar, &dir, &host, &hk)?,
            Kind::Special => {
                self.deferred.materialize(&dir)?;
                create(&host, h.mode)?;
            }
        }
        self.record(hk, h);
        if h.kind != Kind::Dir {
            self.deferred.named.push(host);
        }
        Ok(())
    }

    /// Records the header of the entry at the path of key `hk`, made by the layer being applied.
    fn record(&mut self, hk: Box<[u8]>, h: &Header) {
        let r = Recorded {
            meta: EntryMeta::of(h),
            layer: self.layer,
        };
        self.deferred.meta.insert_k(hk, r);
    }

    /// Whether the layer being applied made the entry at `path` (its whiteouts and opaque
    /// directories hide lower layers only).
    fn added(&self, path: &Path) -> bool {
        self.deferred.made_by(path, self.layer)
    }

    /// Forgets the directories resolved so far: a directory or symlink was removed or replaced,
    /// which could change what a path resolves to.
    fn forget_resolved(&mut self) {
        self.dirs.clear();
        self.last_parent = None;
    }

    /// `.wh.NAME` in `dir`: NAME of lower layers goes.
    fn whiteout(&mut self, dir: &Path, hidden: &[u8]) -> Result<(), ReadError> {
        if hidden.is_empty() || hidden == b"." || hidden == b".." {
            return Err(ReadError::Unsafe("a whiteout that names no file".into()));
        }
        let victim = dir.join(OsStr::from_bytes(hidden));
        if !self.added(&victim) {
            let old = fs::symlink_metadata(&victim);
            let unmade = old.is_err() && self.deferred.dirs.contains(&victim);
            let unmade_link = old.is_err() && self.deferred.links.contains_key(&victim);
            let was_dir = unmade || old.as_ref().is_ok_and(|m| m.is_dir());
            if unmade || unmade_link || old.is_ok_and(|m| m.is_dir() || m.file_type().is_symlink())
            {
                self.forget_resolved();
            }
            remove_any(&victim)?;
            self.deferred.forget(&victim, was_dir, self.layer);
        }
        Ok(())
    }

    /// Removes what lies at `host` (key `hk`) for the entry `h`, as a later entry replaces an
    /// earlier one; false when there is nothing more to do (a directory listed again: its new
    /// header is what the runtime sees).
    fn replace(
        &mut self,
        h: &Header,
        host: &Path,
        hk: &[u8],
        dir_unmade: bool,
    ) -> Result<bool, ReadError> {
        let mut was_dir = false;
        // Something lies at `host` (on disk, or a directory not made yet; else perhaps a ghost).
        let mut present = true;
        // Nothing is on disk below a directory not made yet: no `lstat` to learn that (most
        // entries of a large layer are in such directories, and each miss cost a syscall).
        let on_disk = if dir_unmade {
            None
        } else {
            fs::symlink_metadata(host).ok()
        };
        if let Some(old) = on_disk {
            if h.kind == Kind::Dir && old.is_dir() {
                self.record(hk.into(), h);
                return Ok(false);
            }
            was_dir = old.is_dir();
            if was_dir || old.file_type().is_symlink() {
                self.forget_resolved();
            }
            remove_any(host)?;
        } else if !self.deferred.meta.contains_k(hk) && !self.deferred.dirs.contains_k(hk) {
            // Nothing there (most entries): every link not made yet and every ghost has a
            // record, and a directory not made yet is in `dirs` (two lookups, not three).
            return Ok(true);
        } else if dir_unmade && self.deferred.links.remove_k(hk).is_some() {
            // A link not made yet: replaced as one on disk is (it may have led elsewhere).
            self.forget_resolved();
        } else if self.deferred.dirs.contains_k(hk) {
            if h.kind == Kind::Dir {
                // A directory not made on disk yet, listed again, as for one on disk above.
                self.record(hk.into(), h);
                return Ok(false);
            }
            was_dir = true;
            self.forget_resolved();
        } else {
            present = false;
        }
        // A new path (most of them) has nothing to forget: [`Deferred::meta`] holds only what is
        // on disk, a directory not made yet or a ghost. Three ordered-map removals of a path
        // that is not there were a third of the cost of a large layer.
        if present || self.deferred.ghosts.contains_k(hk) {
            self.deferred.forget(host, was_dir, self.layer);
        }
        Ok(true)
    }

    /// A regular file at `host` (key `hk`) in `dir`: written, or noted as a ghost.
    fn file<S: Source>(
        &mut self,
        h: &Header,
        tar: &mut TarReader<S>,
        dir: &Path,
        host: &Path,
        hk: &[u8],
    ) -> Result<(), ReadError> {
        let hb = host.as_os_str().as_bytes();
        let rel_etc =
            hb.starts_with(&self.etc) && hb.get(self.etc.len()).is_none_or(|&b| b == b'/');
        if !self.defer || (rel_etc && h.size <= ETC_FILE_MAX) {
            self.deferred.materialize(dir)?; // the file may be made now
        }
        let spool = if self.defer {
            None
        } else {
            Some(&mut self.deferred)
        };
        let (layer, offset) = match write_file(host, h, tar.data(), rel_etc, spool)? {
            Written::Whole | Written::Placeholder => return Ok(()),
            Written::Spooled(offset) => (SPOOLED, offset),
            Written::Ghost => (self.layer, h.data_offset),
        };
        let g = Ghost {
            mode: h.mode,
            layer,
            offset,
            size: h.size,
        };
        self.deferred.ghosts.insert_k(hk.into(), g);
        Ok(())
    }

    /// A symlink at `host`: made now when its directory is on disk, else with its directory.
    fn symlink(
        &mut self,
        target: &[u8],
        host: &Path,
        hk: &[u8],
        dir_unmade: bool,
    ) -> Result<(), ReadError> {
        if dir_unmade {
            self.deferred.links.insert_k(hk.into(), target.into());
            self.deferred.links_bytes += host.as_os_str().len() + target.len();
            if self.deferred.links_bytes > LINKS_BUDGET {
                self.deferred.flush_links()?;
            }
            return Ok(());
        }
        make_symlink(target, host)
    }

    fn hard_link(&mut self, link: &[u8], host: &Path) -> Result<(), ReadError> {
        let comps = entry_components(link)
            .map_err(|_| ReadError::Unsafe("a hard link that leaves the image root".into()))?;
        let target = match comps.split_last() {
            Some((name, parent)) => self.resolve_dir(parent, false)?.map(|d| d.join(name)),
            None => None,
        };
        if let Some(g) = target.as_ref().and_then(|t| self.deferred.ghosts.get(t)) {
            // Not made yet: the link is another name for the same bytes.
            let g = *g;
            self.deferred.ghosts.insert(host, g);
            return Ok(());
        }
        if let Some(l) = target.as_ref().and_then(|t| self.deferred.links.get(t)) {
            // A hard link to a link not made yet: another link with its target, as
            // `link(2)` to a symlink on disk makes.
            let l = l.clone();
            let dir_unmade = host
                .parent()
                .is_some_and(|p| self.deferred.dirs.contains(p));
            return self.symlink(&l, host, &key(host), dir_unmade);
        }
        let target = target.filter(|t| fs::symlink_metadata(t).is_ok_and(|m| !m.is_dir()));
        let Some(target) = target else {
            return Err(ReadError::Unsafe(format!(
                "a hard link to '{}', which no earlier entry created",
                String::from_utf8_lossy(link)
            )));
        };
        if let Some(parent) = host.parent() {
            self.deferred.materialize(parent)?;
        }
        fs::hard_link(&target, host).map_err(|e| io_err("cannot create a hard link", e))?;
        Ok(())
    }

    /// `.wh..wh..opq`: everything in `dir` from lower layers goes; this layer's entries stay.
    fn opaque(&mut self, dir: &Path) -> Result<(), ReadError> {
        self.forget_resolved();
        // A directory not made yet goes as it would on disk: unless it and every directory
        // between it and `dir` come from this layer. So does a link not made yet (on disk, it
        // would be in a directory that goes). First, while their records are still there.
        self.deferred.forget_unmade_below(dir, Some(self.layer));
        self.deferred.forget_below(dir, self.layer);
        self.opaque_disk(dir)
    }

    fn opaque_disk(&self, dir: &Path) -> Result<(), ReadError> {
        if self.deferred.dirs.contains(dir) {
            return Ok(()); // not made yet: nothing of it is on disk
        }
        let entries = fs::read_dir(dir).map_err(|e| io_err("cannot list a directory", e))?;
        for e in entries {
            let p = e.map_err(|e| io_err("cannot list a directory", e))?.path();
            if !self.added(&p) {
                remove_any(&p)?;
            } else if fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir()) {
                self.opaque_disk(&p)?;
            }
        }
        Ok(())
    }

    /// The host directory for the in-image directory `comps`, following symlinks inside the
    /// root; missing directories are created when `create` (as engines do), else `None`.
    fn resolve_dir(
        &mut self,
        comps: &[OsString],
        create: bool,
    ) -> Result<Option<PathBuf>, ReadError> {
        if let Some((dir, _)) = self.dirs.get(comps) {
            return Ok(Some(dir.clone()));
        }
        // A directory's first entry: its parent is resolved already, and the walk goes on from
        // there (one component, not every one from the root again), with the links followed
        // on the way counted.
        let start = comps
            .split_last()
            .and_then(|(_, parent)| Some((self.dirs.get(parent)?.clone(), parent.len())));
        let found = match start {
            Some((from, n)) => self.walk_dir(from, &comps[n..], create)?,
            None => self.walk_dir((self.root.to_path_buf(), 0), comps, create)?,
        };
        let Some((dir, hops)) = found else {
            return Ok(None);
        };
        self.dirs.insert(comps.to_vec(), (dir.clone(), hops));
        Ok(Some(dir))
    }

    /// Resolves `comps` from the host directory `from` (the root, or a directory a walk reached
    /// before following that many links): the directory and the links followed in all.
    fn walk_dir(
        &mut self,
        (from, mut hops): (PathBuf, usize),
        comps: &[OsString],
        create: bool,
    ) -> Result<Option<(PathBuf, usize)>, ReadError> {
        let mut queue: VecDeque<OsString> = comps.iter().cloned().collect();
        // `host` is the root and `depth` components below it.
        let mut depth = from.strip_prefix(self.root).map_or(0, |r| r.iter().count());
        let mut host = from;
        while let Some(c) = queue.pop_front() {
            match c.as_bytes() {
                b"" | b"." => continue,
                b".." => {
                    if depth > 0 {
                        host.pop();
                        depth -= 1;
                    }
                    continue;
                }
                _ => {}
            }
            let parent_len = host.as_os_str().len();
            host.push(&c);
            depth += 1;
            let hk = key(&host);
            let unmade_parent = self.deferred.dirs.contains_k(&hk[..parent_len]);
            let unmade = self.deferred.dirs.contains_k(&hk);
            // Nothing is on disk in a directory not made yet, but perhaps a link not made yet.
            let found = if unmade_parent {
                match self.deferred.links.get(&host) {
                    Some(t) => Found::Link(t.to_vec()),
                    None => Found::Missing,
                }
            } else if unmade {
                Found::Missing // not made yet: no `lstat` to learn it is not on disk
            } else {
                match fs::symlink_metadata(&host) {
                    Ok(m) if m.is_dir() => Found::Dir,
                    Ok(m) if m.file_type().is_symlink() => Found::Link(
                        fs::read_link(&host)
                            .map_err(|e| io_err("cannot read a link", e))?
                            .into_os_string()
                            .into_vec(),
                    ),
                    Ok(_) => Found::Other,
                    Err(_) => Found::Missing,
                }
            };
            match found {
                Found::Dir => {}
                Found::Link(t) => {
                    hops += 1;
                    if hops > 40 {
                        return Err(ReadError::Unsafe("its directory is a symlink loop".into()));
                    }
                    host.pop();
                    depth -= 1;
                    if t.starts_with(b"/") {
                        host = self.root.to_path_buf();
                        depth = 0;
                    }
                    let mut new: VecDeque<OsString> = t
                        .split(|&b| b == b'/')
                        .map(|s| OsStr::from_bytes(s).to_os_string())
                        .collect();
                    new.extend(queue.drain(..));
                    queue = new;
                }
                Found::Other => {
                    return Err(ReadError::Invalid(format!(
                        "'/{}' is a file, not a directory",
                        host.strip_prefix(self.root).unwrap_or(&host).display()
                    )));
                }
                Found::Missing if unmade => {}
                Found::Missing if create => {
                    self.deferred.dirs.insert_k(hk, ());
                }
                Found::Missing => return Ok(None),
            }
        }
        Ok(Some((host, hops)))
    }
}

/// What [`Merger::walk_dir`] finds at a path.
enum Found {
    /// A directory (on disk).
    Dir,
    /// A symlink (on disk or not made yet), with its target.
    Link(Vec<u8>),
    /// Something else on disk.
    Other,
    /// Nothing on disk (perhaps a directory not made yet).
    Missing,
}

/// Makes the symlink `host` → `target` (its directory is on disk).
fn make_symlink(target: &[u8], host: &Path) -> Result<(), ReadError> {
    std::os::unix::fs::symlink(OsStr::from_bytes(target), host)
        .map_err(|e| io_err("cannot create a symlink", e))
}

/// An entry's path split into its parent's bytes and its name, when the name is a plain one
/// (not empty, `.` or `..`: those take [`entry_components`]'s way, which refuses `..`). The
/// parent's bytes are not checked here: equal to those of an earlier entry's parent, they
/// resolve as those did.
fn split_entry(path: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = path.iter().rposition(|&b| b != b'/')? + 1;
    let path = &path[..end];
    let (parent, name) = match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&b""[..], path),
    };
    (name != b"." && name != b"..").then_some((parent, name))
}

/// An entry's path as components below the root: a leading `/` or `./` is dropped (engines
/// treat layer paths as root-relative); `..` is refused.
fn entry_components(path: &[u8]) -> Result<Vec<OsString>, ReadError> {
    let mut out = Vec::new();
    for c in path.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                return Err(ReadError::Unsafe(
                    "a path with '..', which would leave the image root".into(),
                ));
            }
            c => out.push(OsStr::from_bytes(c).to_os_string()),
        }
    }
    Ok(out)
}

/// Makes one directory (its parent exists); one already there is fine. True when it was made.
fn make_dir(host: &Path) -> Result<bool, ReadError> {
    match fs::create_dir(host) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(io_err("cannot create a directory", e)),
    }
}

fn io_err(what: &str, e: io::Error) -> ReadError {
    ReadError::io(what, e)
}

fn remove_any(p: &Path) -> Result<(), ReadError> {
    match fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(p),
        Ok(_) => fs::remove_file(p),
        Err(_) => Ok(()),
    }
    .map_err(|e| io_err("cannot remove a lower layer's file", e))
}

/// Creates a new file (never through a symlink) with the entry's permission bits, minus set-id.
pub(super) fn create(host: &Path, mode: u32) -> Result<File, ReadError> {
    let f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(0o600)
        .open(host)
        .map_err(|e| io_err("cannot create a file", e))?;
    // Explicitly, so the umask cannot take execute bits away; owner read/write so it can be read.
    f.set_permissions(fs::Permissions::from_mode((mode & 0o777) | 0o600))
        .map_err(|e| io_err("cannot set a file's mode", e))?;
    Ok(f)
}

/// What [`write_file`] made of a regular file.
enum Written {
    /// The whole content.
    Whole,
    /// A file of a compressed layer: the right size and mode, and its first bytes only.
    Placeholder,
    /// Nothing yet: a file of an uncompressed layer whose content no check has read yet.
    Ghost,
    /// Nothing yet: an ELF file of a compressed layer, its bytes at this offset of the spool.
    Spooled(u64),
}

/// Writes a regular file: whole when a check reads it (`#!` scripts, small files under /etc).
/// In an uncompressed layer (which can be read again; no `spool`) every other file is left a
/// ghost; in a compressed one (`spool` given) an ELF file is a ghost whose bytes are appended to
/// the spool, and other files are placeholders keeping their first bytes.
fn write_file<S: Source>(
    host: &Path,
    h: &Header,
    mut data: EntryData<'_, S>,
    under_etc: bool,
    spool: Option<&mut Deferred>,
) -> Result<Written, ReadError> {
    let defer = spool.is_none();
    // An uncompressed layer can be read again at an offset: a file whose content no check reads
    // while the layers stream by is left a ghost without reading a byte of it, and made only if
    // a check reaches it (by path, or by a library name). Reading and creating thousands of
    // files no check looks at was most of the cost of a large image.
    if defer && !(under_etc && h.size <= ETC_FILE_MAX) {
        data.skip_rest()
            .map_err(|e| io_err("cannot read the layer", e))?;
        return Ok(Written::Ghost);
    }
    let mut prefix = [0u8; PREFIX];
    let want = (h.size as usize).min(PREFIX);
    let mut got = 0;
    while got < want {
        let n = data
            .read(&mut prefix[got..want])
            .map_err(|e| io_err("cannot read the layer", e))?;
        if n == 0 {
            break;
        }
        got += n;
    }
    let head = &prefix[..got];
    let elf = head.starts_with(b"\x7fELF");
    let whole = !elf && (head.starts_with(b"#!") || (under_etc && h.size <= ETC_FILE_MAX));
    // Pass over the payload first (a seek in an uncompressed layer, whose bytes are never
    // read): a size the stream does not hold is an error before any file is made that large
    // (a sparse one, but still).
    let skip = |data: EntryData<'_, S>| {
        data.skip_rest()
            .map_err(|e| io_err("cannot read the layer", e))
    };
    if elf {
        let Some(d) = spool else {
            skip(data)?;
            return Ok(Written::Ghost);
        };
        if d.spool.is_none() {
            d.spool = Some(
                tempfile::tempfile().map_err(|e| io_err("cannot create a temporary file", e))?,
            );
        }
        let f = d.spool.as_mut().expect("just made");
        let offset = d.spool_len;
        f.write_all(head).map_err(|e| io_err("cannot write", e))?;
        let n =
            io::copy(&mut data, f).map_err(|e| io_err("cannot copy a file out of the layer", e))?;
        d.spool_len += head.len() as u64 + n;
        return Ok(Written::Spooled(offset));
    }
    let mut f = create(host, h.mode)?;
    if whole {
        f.write_all(head).map_err(|e| io_err("cannot write", e))?;
        io::copy(&mut data, &mut f)
            .map_err(|e| io_err("cannot copy a file out of the layer", e))?;
        return Ok(Written::Whole);
    }
    f.write_all(head).map_err(|e| io_err("cannot write", e))?;
    skip(data)?;
    f.set_len(h.size)
        .map_err(|e| io_err("cannot size a file", e))?;
    Ok(Written::Placeholder)
}
