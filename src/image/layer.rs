//! One image layer: the tree of files it holds, and its reproducible tar + gzip (or zstd) blob.
//!
//! Reproducible the way ko and apko do it: entries sorted by path with every parent directory
//! before its children, numeric owners, one fixed mtime (`SOURCE_DATE_EPOCH` or 0), no user or
//! group names, and a gzip header without a file name or time at a fixed level (or one zstd
//! frame at a fixed level, single-threaded). The same tree gives the same bytes on any machine.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;

use flate2::GzBuilder;
use sha2::{Digest, Sha256};
use tar::{EntryType, Header};

use super::spec::hex;

/// The gzip level of every layer (what `gzip -6`, Docker and most registries use).
pub const GZIP_LEVEL: u32 = 6;

/// The zstd level of a `--compression zstd` layer (the `zstd` CLI's default, what podman and
/// skopeo write).
pub const ZSTD_LEVEL: i32 = 3;

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Compression {
    /// gzip at [`GZIP_LEVEL`]: what every engine and registry reads.
    #[default]
    Gzip,
    /// zstd at [`ZSTD_LEVEL`]: faster to decompress; podman and containerd read it.
    Zstd,
}

impl Compression {
    /// The OCI layer media type of a blob compressed this way.
    pub fn media_type(self) -> &'static str {
        match self {
            Compression::Gzip => super::spec::MEDIA_LAYER_GZIP,
            Compression::Zstd => super::spec::MEDIA_LAYER_ZSTD,
        }
    }
}

/// What a layer entry holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// A regular file with these bytes.
    Bytes(Vec<u8>),
    /// A regular file copied from this host path (its size was taken when it was added).
    File(PathBuf),
    /// A directory.
    Dir,
    /// A symbolic link to this target.
    Symlink(String),
}

/// One entry of a layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerEntry {
    /// What it holds.
    pub content: Content,
    /// Permission bits (`0o7777` mask).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Bytes of a regular file (0 for links; for a directory, what the report shows: the bytes
    /// of the files of a tree added as a whole, else 0).
    pub size: u64,
    /// Why it is in the image (`program`, `loader of /app`, ...); `None` for the parent
    /// directories added on the way.
    pub why: Option<String>,
}

impl LayerEntry {
    /// A regular file from bytes, owned by root.
    pub fn bytes(data: Vec<u8>, mode: u32, why: impl Into<String>) -> Self {
        LayerEntry {
            size: data.len() as u64,
            content: Content::Bytes(data),
            mode,
            uid: 0,
            gid: 0,
            why: Some(why.into()),
        }
    }

    /// A regular file copied from `path` (`size` bytes), owned by root.
    pub fn file(path: PathBuf, size: u64, mode: u32, why: impl Into<String>) -> Self {
        LayerEntry {
            content: Content::File(path),
            size,
            mode,
            uid: 0,
            gid: 0,
            why: Some(why.into()),
        }
    }

    /// A directory, owned by root.
    pub fn dir(mode: u32, why: Option<String>) -> Self {
        LayerEntry {
            content: Content::Dir,
            size: 0,
            mode,
            uid: 0,
            gid: 0,
            why,
        }
    }

    /// A symbolic link, owned by root.
    pub fn symlink(target: String, why: impl Into<String>) -> Self {
        LayerEntry {
            content: Content::Symlink(target),
            size: 0,
            mode: 0o777,
            uid: 0,
            gid: 0,
            why: Some(why.into()),
        }
    }

    /// True for directories.
    pub fn is_dir(&self) -> bool {
        self.content == Content::Dir
    }
}

/// Why an entry cannot be placed in a [`Tree`]: something else is in the way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlaceError {
    /// The path is `/` (or empty).
    #[error("cannot place an entry at /")]
    Root,
    /// A parent of the path is a file or link, not a directory.
    #[error("cannot place /{path}: /{parent} is already a file in the image")]
    ParentIsFile {
        /// The path, without its leading `/`.
        path: String,
        /// The parent in the way, without its leading `/`.
        parent: String,
    },
    /// A directory where a file or link goes, or a file or link where a directory goes.
    #[error("cannot place /{path}: it is already a {} in the image", if *is_dir { "directory" } else { "file" })]
    Occupied {
        /// The path, without its leading `/`.
        path: String,
        /// Whether what is already there is a directory.
        is_dir: bool,
    },
}

/// The files of a layer, keyed by their path inside the image without the leading `/`
/// (`etc/passwd`), sorted.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    entries: BTreeMap<String, LayerEntry>,
}

impl Tree {
    /// An empty tree.
    pub fn new() -> Self {
        Tree::default()
    }

    /// Adds `entry` at the image path `path` (absolute, normalized, not `/`), with a 0755
    /// directory for every missing parent. A directory replaces the mode and reason of an
    /// existing directory; a file or link replaces an existing file or link. Errors say what
    /// is in the way.
    pub fn insert(&mut self, path: &str, entry: LayerEntry) -> Result<(), PlaceError> {
        let key = path.trim_start_matches('/').to_string();
        if key.is_empty() {
            return Err(PlaceError::Root);
        }
        let mut parent = String::new();
        for part in key.split('/').take(key.split('/').count() - 1) {
            if !parent.is_empty() {
                parent.push('/');
            }
            parent.push_str(part);
            match self.entries.get(&parent) {
                Some(e) if !e.is_dir() => {
                    return Err(PlaceError::ParentIsFile { path: key, parent });
                }
                Some(_) => {}
                None => {
                    self.entries
                        .insert(parent.clone(), LayerEntry::dir(0o755, None));
                }
            }
        }
        match self.entries.get(&key) {
            Some(old) if old.is_dir() != entry.is_dir() => Err(PlaceError::Occupied {
                is_dir: old.is_dir(),
                path: key,
            }),
            _ => {
                self.entries.insert(key, entry);
                Ok(())
            }
        }
    }

    /// The entry at an image path (`/etc/passwd`).
    pub fn get(&self, path: &str) -> Option<&LayerEntry> {
        self.entries.get(path.trim_start_matches('/'))
    }

    /// The entry at an image path, to change it.
    pub fn get_mut(&mut self, path: &str) -> Option<&mut LayerEntry> {
        self.entries.get_mut(path.trim_start_matches('/'))
    }

    /// Entries in tar order, with their image paths (`/etc/passwd`).
    pub fn iter(&self) -> impl Iterator<Item = (String, &LayerEntry)> {
        self.entries.iter().map(|(k, v)| (format!("/{k}"), v))
    }
}

/// A layer as written: the compressed blob and its identities.
#[derive(Debug, Clone)]
pub struct WrittenLayer {
    /// The compressed tar (what a registry stores).
    pub blob: Vec<u8>,
    /// How [`Self::blob`] is compressed.
    pub compression: Compression,
    /// `sha256:` of [`Self::blob`].
    pub digest: String,
    /// `sha256:` of the uncompressed tar (the config's `rootfs.diff_ids`).
    pub diff_id: String,
    /// Bytes of the uncompressed tar.
    pub uncompressed_size: u64,
}

/// A writer that hashes and counts what passes through it.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    count: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes `tree` as a tar (every entry's mtime `mtime`), gzip-compressed at [`GZIP_LEVEL`] with
/// no name and no time in the gzip header, or zstd-compressed at [`ZSTD_LEVEL`] as one frame
/// with a checksum, single-threaded (so the bytes do not depend on the machine).
pub fn write_layer(tree: &Tree, mtime: u64, compression: Compression) -> io::Result<WrittenLayer> {
    let (blob, hashing) = match compression {
        Compression::Gzip => {
            let gz = GzBuilder::new()
                .mtime(0)
                .operating_system(255)
                .write(Vec::new(), flate2::Compression::new(GZIP_LEVEL));
            let hashing = write_tar(tree, mtime, gz)?;
            let (gz, hashing) = hashing.take();
            (gz.finish()?, hashing)
        }
        Compression::Zstd => {
            let mut z = zstd::stream::write::Encoder::new(Vec::new(), ZSTD_LEVEL)?;
            z.include_checksum(true)?;
            let hashing = write_tar(tree, mtime, z)?;
            let (z, hashing) = hashing.take();
            (z.finish()?, hashing)
        }
    };
    let (hash, count) = hashing;
    Ok(WrittenLayer {
        digest: super::spec::digest_of(&blob),
        blob,
        compression,
        diff_id: format!("sha256:{}", hex(&hash.finalize())),
        uncompressed_size: count,
    })
}

impl<W> Hashing<W> {
    /// The inner writer, and the digest state and count of what was written.
    fn take(self) -> (W, (Sha256, u64)) {
        (self.inner, (self.hash, self.count))
    }
}

/// Writes the tar of `tree` into `w`, hashing and counting the tar's bytes.
fn write_tar<W: Write>(tree: &Tree, mtime: u64, w: W) -> io::Result<Hashing<W>> {
    let mut builder = tar::Builder::new(Hashing {
        inner: w,
        hash: Sha256::new(),
        count: 0,
    });
    for (key, e) in &tree.entries {
        let mut h = Header::new_gnu();
        h.set_mode(e.mode & 0o7777);
        h.set_uid(u64::from(e.uid));
        h.set_gid(u64::from(e.gid));
        h.set_mtime(mtime);
        match &e.content {
            Content::Dir => {
                h.set_entry_type(EntryType::Directory);
                h.set_size(0);
                builder.append_data(&mut h, format!("{key}/"), io::empty())?;
            }
            Content::Symlink(target) => {
                h.set_entry_type(EntryType::Symlink);
                h.set_size(0);
                builder.append_link(&mut h, key, target)?;
            }
            Content::Bytes(data) => {
                h.set_entry_type(EntryType::Regular);
                h.set_size(data.len() as u64);
                builder.append_data(&mut h, key, data.as_slice())?;
            }
            Content::File(path) => {
                let file = File::open(path).map_err(|err| {
                    io::Error::new(err.kind(), format!("{}: {err}", path.display()))
                })?;
                let len = file.metadata()?.len();
                if len != e.size {
                    return Err(io::Error::other(format!(
                        "{} changed while the image was built ({} bytes, then {len})",
                        path.display(),
                        e.size
                    )));
                }
                h.set_entry_type(EntryType::Regular);
                h.set_size(len);
                builder.append_data(&mut h, key, file)?;
            }
        }
    }
    builder.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_come_first_and_conflicts_are_refused() {
        let mut t = Tree::new();
        t.insert(
            "/usr/bin/app",
            LayerEntry::bytes(b"x".to_vec(), 0o755, "program"),
        )
        .unwrap();
        t.insert(
            "/tmp",
            LayerEntry::dir(0o1777, Some("temporary files".into())),
        )
        .unwrap();
        let paths: Vec<String> = t.iter().map(|(p, _)| p).collect();
        assert_eq!(paths, ["/tmp", "/usr", "/usr/bin", "/usr/bin/app"]);
        assert_eq!(
            t.insert("/usr/bin/app/x", LayerEntry::bytes(vec![], 0o644, "--add"))
                .unwrap_err()
                .to_string(),
            "cannot place /usr/bin/app/x: /usr/bin/app is already a file in the image"
        );
        assert!(
            t.insert("/usr", LayerEntry::bytes(vec![], 0o644, "--add"))
                .is_err()
        );
    }

    #[test]
    fn place_errors_name_what_is_in_the_way() {
        let mut t = Tree::new();
        t.insert("/tmp", LayerEntry::dir(0o1777, None)).unwrap();
        t.insert("/app", LayerEntry::bytes(vec![], 0o755, "program"))
            .unwrap();
        let err = |t: &mut Tree, p: &str, e: LayerEntry| t.insert(p, e).unwrap_err().to_string();
        assert_eq!(
            err(&mut t, "/", LayerEntry::dir(0o755, None)),
            "cannot place an entry at /"
        );
        assert_eq!(
            err(&mut t, "/tmp", LayerEntry::bytes(vec![], 0o644, "--add")),
            "cannot place /tmp: it is already a directory in the image"
        );
        assert_eq!(
            err(&mut t, "/app", LayerEntry::dir(0o755, None)),
            "cannot place /app: it is already a file in the image"
        );
    }

    #[test]
    fn same_tree_same_bytes_and_digests_match() {
        let mut t = Tree::new();
        t.insert(
            "/etc/passwd",
            LayerEntry::bytes(b"root:x:0:0::/:\n".to_vec(), 0o644, "u"),
        )
        .unwrap();
        t.insert("/lib/ld", LayerEntry::symlink("../x".into(), "l"))
            .unwrap();
        let a = write_layer(&t, 0, Compression::Gzip).unwrap();
        let b = write_layer(&t, 0, Compression::Gzip).unwrap();
        assert_eq!(a.blob, b.blob);
        assert_eq!(a.digest, super::super::spec::digest_of(&a.blob));
        // header bytes 4..8 are the gzip mtime, byte 9 the OS.
        assert_eq!(&a.blob[4..8], &[0, 0, 0, 0]);
        assert_eq!(a.blob[9], 255);
        let mut tar = Vec::new();
        io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(a.blob.as_slice()),
            &mut tar,
        )
        .unwrap();
        assert_eq!(tar.len() as u64, a.uncompressed_size);
        assert_eq!(super::super::spec::digest_of(&tar), a.diff_id);
        let mut archive = tar::Archive::new(tar.as_slice());
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["etc/", "etc/passwd", "lib/", "lib/ld"]);
        let c = write_layer(&t, 1_700_000_000, Compression::Gzip).unwrap();
        assert_ne!(a.blob, c.blob);
    }

    #[test]
    fn zstd_layer_holds_the_same_tar_reproducibly() {
        let mut t = Tree::new();
        t.insert("/data", LayerEntry::bytes(vec![7; 100_000], 0o644, "d"))
            .unwrap();
        let gz = write_layer(&t, 0, Compression::Gzip).unwrap();
        let a = write_layer(&t, 0, Compression::Zstd).unwrap();
        let b = write_layer(&t, 0, Compression::Zstd).unwrap();
        assert_eq!(a.blob, b.blob);
        assert_eq!(
            a.compression.media_type(),
            super::super::spec::MEDIA_LAYER_ZSTD
        );
        assert_eq!(&a.blob[..4], &[0x28, 0xb5, 0x2f, 0xfd]);
        assert_eq!(a.digest, super::super::spec::digest_of(&a.blob));
        let tar = zstd::stream::decode_all(a.blob.as_slice()).unwrap();
        assert_eq!(super::super::spec::digest_of(&tar), gz.diff_id);
        assert_eq!(a.diff_id, gz.diff_id);
        assert_eq!(a.uncompressed_size, gz.uncompressed_size);
    }
}
