//! Reading blobs out of an image as it is stored: a tar file (docker-archive or oci-archive,
//! indexed once by seeking from header to header), an OCI layout directory, or a tar on stdin
//! (copied to an anonymous temporary file as its headers are read, since `manifest.json` may
//! follow the layers).

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::input::Input;

use super::tarstream::{Kind, Source, TarReader};
use super::{Limits, ReadError};

/// Where an image's blobs live.
pub(super) enum Store {
    /// A tar archive: entry name → payload location.
    Tar {
        file: File,
        entries: HashMap<String, Entry>,
        /// The archive mapped, for reading programs in place ([`Store::mapped`]): made at the
        /// first need; `None` inside when it cannot be. Never set for a spooled stream.
        map: OnceLock<Option<Arc<Input>>>,
        /// Whether blobs may be read in place: the archive is the user's regular file, not a
        /// spool of a stream.
        mappable: bool,
    },
    /// An OCI layout directory.
    Dir(PathBuf),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Store::Tar { entries, .. } => write!(f, "Store::Tar({} entries)", entries.len()),
            Store::Dir(d) => write!(f, "Store::Dir({})", d.display()),
        }
    }
}

/// One entry of an archive's index.
pub(super) enum Entry {
    File { offset: u64, size: u64 },
    Link(String),
}

/// A file read header by header, seeking over payload.
struct SeekFile(File);

impl Read for SeekFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Source for SeekFile {
    fn skip(&mut self, n: u64) -> io::Result<()> {
        let n = i64::try_from(n).map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?;
        let end = self.0.seek(SeekFrom::Current(n))?;
        if end > self.0.metadata()?.len() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "an entry runs past the end of the archive",
            ));
        }
        Ok(())
    }
}

/// A byte range of the archive (or a whole blob file), read with `pread`.
pub(super) struct Section<'a> {
    file: &'a File,
    pos: u64,
    end: u64,
}

impl<'a> Section<'a> {
    /// All of `file`.
    pub fn whole(file: &'a File) -> io::Result<Section<'a>> {
        Ok(Section {
            file,
            pos: 0,
            end: file.metadata()?.len(),
        })
    }

    /// The blob's size in bytes.
    pub fn len(&self) -> u64 {
        self.end - self.pos
    }

    /// Copies `len` bytes at `offset` of the blob into `out` at the same place in the file.
    pub fn copy_range(&self, offset: u64, len: u64, out: &File) -> io::Result<()> {
        if offset.checked_add(len).is_none_or(|e| e > self.len()) {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let mut buf = vec![0u8; (len.min(1 << 20)) as usize];
        let mut done = 0;
        while done < len {
            let n = buf.len().min((len - done) as usize);
            self.file
                .read_exact_at(&mut buf[..n], self.pos + offset + done)?;
            out.write_all_at(&buf[..n], done)?;
            done += n as u64;
        }
        Ok(())
    }

    /// The first bytes of the blob (fewer when it is shorter), without moving the read position.
    pub fn head(&self, n: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; n.min(self.len() as usize)];
        self.file.read_exact_at(&mut buf, self.pos)?;
        Ok(buf)
    }
}

/// An uncompressed layer blob read header by header: small buffered reads for headers and the
/// few payloads a check needs, and every other payload passed over by moving the read position,
/// so the bytes are never read. A skip past the blob's end is the error a short stream gives.
pub(super) struct Seeking<'a> {
    section: Section<'a>,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    /// The last read passed over a payload: the next refill is [`SEEK_FIRST`], not the whole
    /// buffer: after a skip, the bytes wanted are usually one header and the 512 that tell a
    /// format, and the copy of each read is most of what a header costs.
    skipped: bool,
}

/// Buffer of [`Seeking`]: a header and the 512 bytes that tell a file's format, with room for
/// the small entries that often follow each other (directories, links, short files). One page:
/// on the 4,917-entry layer of `benches/verify-image.sh`, 16 KiB refills (and 4 KiB after a
/// skip) copied 12.2 MB in 2,658 reads; 4 KiB (and 2 KiB after a skip) copy 7.1 MB in 3,158,
/// and the run takes 4-9% less CPU time (a `pread` costs less than copying the pages it would
/// spare).
const SEEK_BUF: usize = 4 << 10;

/// The first refill after a skip: a header, and room for a long name's or a pax header's
/// payload and the header after it.
const SEEK_FIRST: usize = 2 << 10;

impl<'a> Seeking<'a> {
    /// Reads `section` from its start.
    pub fn new(section: Section<'a>) -> Self {
        Seeking {
            section,
            buf: vec![0u8; SEEK_BUF].into_boxed_slice(),
            start: 0,
            end: 0,
            skipped: false,
        }
    }
}

impl Read for Seeking<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.start == self.end {
            if out.len() >= self.buf.len() {
                return self.section.read(out);
            }
            let want = if self.skipped { SEEK_FIRST } else { SEEK_BUF };
            self.skipped = false;
            self.start = 0;
            self.end = self.section.read(&mut self.buf[..want])?;
        }
        let n = out.len().min(self.end - self.start);
        out[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
        self.start += n;
        Ok(n)
    }
}

impl Source for Seeking<'_> {
    fn skip(&mut self, n: u64) -> io::Result<()> {
        let buffered = (self.end - self.start) as u64;
        if n <= buffered {
            self.start += n as usize;
            return Ok(());
        }
        let rest = n - buffered;
        self.start = 0;
        self.end = 0;
        if rest > self.section.len() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the tar stream ends inside an entry",
            ));
        }
        self.section.pos += rest;
        self.skipped = true;
        Ok(())
    }
}

impl Read for Section<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let max = buf
            .len()
            .min((self.end - self.pos).min(usize::MAX as u64) as usize);
        if max == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..max], self.pos)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the archive ends inside a blob",
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// Normalizes a name inside an archive: no leading `./` or `/`, no empty or `.` components.
/// `None` for names that climb with `..` above the archive's top.
pub(super) fn archive_name(name: &str) -> Option<String> {
    let mut out: Vec<&str> = Vec::new();
    for c in name.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop()?;
            }
            c => out.push(c),
        }
    }
    Some(out.join("/"))
}

impl Store {
    /// Indexes a tar archive: one header read per entry, payload skipped.
    pub fn tar(file: File, limits: &Limits) -> Result<Store, ReadError> {
        let mut tar = TarReader::new(SeekFile(file));
        let entries = index(&mut tar, limits)?;
        let SeekFile(file) = tar.into_inner();
        Ok(Store::Tar {
            file,
            entries,
            map: OnceLock::new(),
            mappable: true,
        })
    }

    /// Reads a tar from a stream (stdin, a FIFO, a device) into an anonymous temporary file,
    /// indexing it header by header as it arrives, so a stream is held to the limits of a file:
    /// a first block that is not a tar header fails at once, the entry count is capped, the
    /// copy stops at the archive's end-of-archive marker (what follows is dropped, up to
    /// 1 MiB), and at most [`Limits::max_stream`] bytes are copied.
    pub fn spool(input: &mut dyn Read, limits: &Limits) -> Result<Store, ReadError> {
        let file = tempfile::tempfile().map_err(|e| ReadError::io("a temporary file", e))?;
        let mut tar = TarReader::new(Tee {
            input,
            out: file,
            count: 0,
            cap: limits.max_stream,
        });
        let indexed = index(&mut tar, limits);
        let tee = tar.into_inner();
        if tee.count > tee.cap {
            return Err(ReadError::Limit(format!(
                "the archive on the stream is more than {} bytes",
                tee.cap
            )));
        }
        let entries = indexed?;
        // What a writer adds after the end-of-archive blocks (GNU tar pads to 10 KiB records)
        // is read and dropped, up to a bound, so `docker save | binslim ...` does not end the
        // writer with EPIPE while it finishes.
        let _ = io::copy(
            &mut Read::take(&mut *tee.input, TRAILER_MAX),
            &mut io::sink(),
        );
        Ok(Store::Tar {
            file: tee.out,
            entries,
            map: OnceLock::new(),
            mappable: false,
        })
    }

    /// True when the store holds `name`.
    pub fn has(&self, name: &str) -> bool {
        match self {
            Store::Tar { entries, .. } => entries.contains_key(name),
            Store::Dir(d) => std::fs::symlink_metadata(d.join(name)).is_ok_and(|m| m.is_file()),
        }
    }

    /// Opens a blob. Links inside an archive are followed (a bounded number of times); in a
    /// layout directory only regular files are read, never a symlink out of it.
    pub fn open<'a>(
        &'a self,
        name: &str,
        holder: &'a mut Option<File>,
    ) -> Result<Section<'a>, ReadError> {
        let missing = || ReadError::MissingBlob(name.to_string());
        match self {
            Store::Tar { file, entries, .. } => {
                let mut cur = archive_name(name).ok_or_else(missing)?;
                for _ in 0..16 {
                    match entries.get(&cur) {
                        Some(Entry::File { offset, size }) => {
                            return Ok(Section {
                                file,
                                pos: *offset,
                                end: offset + size,
                            });
                        }
                        Some(Entry::Link(t)) => cur = t.clone(),
                        None => return Err(missing()),
                    }
                }
                Err(ReadError::Unsafe(format!(
                    "archive entry '{name}' is a chain of links that does not end"
                )))
            }
            Store::Dir(d) => {
                let rel = archive_name(name).ok_or_else(missing)?;
                let path = d.join(&rel);
                let meta = std::fs::symlink_metadata(&path).map_err(|_| missing())?;
                if !meta.is_file() {
                    return Err(ReadError::Unsafe(format!(
                        "{} is not a regular file (blobs are never read through symlinks)",
                        path.display()
                    )));
                }
                let f =
                    File::open(&path).map_err(|e| ReadError::io(&path.display().to_string(), e))?;
                let f = holder.insert(f);
                Ok(Section {
                    file: f,
                    pos: 0,
                    end: meta.len(),
                })
            }
        }
    }

    /// Where blob `name`'s bytes lie, links followed as [`Store::open`] follows them: the file
    /// holding them and their offset and length in it. `tar` is the archive's path (an archive
    /// store keeps only its open file); a layout directory's blobs are whole files of their own.
    pub fn locate(&self, name: &str, tar: &Path) -> Result<(PathBuf, u64, u64), ReadError> {
        let mut holder = None;
        let blob = self.open(name, &mut holder)?;
        let (pos, len) = (blob.pos, blob.len());
        match self {
            Store::Tar { .. } => Ok((tar.to_path_buf(), pos, len)),
            Store::Dir(d) => {
                let rel =
                    archive_name(name).ok_or_else(|| ReadError::MissingBlob(name.to_string()))?;
                Ok((d.join(rel), pos, len))
            }
        }
    }

    /// The `len` bytes at `offset` of blob `name`, mapped where they are stored instead of
    /// copied: the map and where the bytes start in it. `None` when they cannot be (a spooled
    /// stream, a map refused, a range past the blob's end): the caller copies them instead.
    pub fn mapped(&self, name: &str, offset: u64, len: u64) -> Option<(Arc<Input>, usize)> {
        let mut holder = None;
        let blob = self.open(name, &mut holder).ok()?;
        if offset.checked_add(len).is_none_or(|e| e > blob.len()) {
            return None;
        }
        let start = usize::try_from(blob.pos.checked_add(offset)?).ok()?;
        let map = match self {
            Store::Tar {
                mappable: false, ..
            } => return None,
            Store::Tar { file, map, .. } => map
                .get_or_init(|| {
                    let f = file.try_clone().ok()?;
                    let meta = f.metadata().ok()?;
                    Input::map_with(f, meta).ok().map(Arc::new)
                })
                .clone()?,
            Store::Dir(_) => {
                let f = holder.take()?;
                let meta = f.metadata().ok()?;
                Arc::new(Input::map_with(f, meta).ok()?)
            }
        };
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        (end <= map.bytes().len()).then_some((map, start))
    }
}

/// Most bytes read (and dropped) from a stream after its end-of-archive blocks.
const TRAILER_MAX: u64 = 1 << 20;

/// Reads every header of an archive into its index (payload passed over).
fn index<S: Source>(
    tar: &mut TarReader<S>,
    limits: &Limits,
) -> Result<HashMap<String, Entry>, ReadError> {
    let mut entries = HashMap::new();
    while let Some(h) = tar
        .next_header()
        .map_err(|e| ReadError::Invalid(format!("not a tar archive: {e}")))?
    {
        if entries.len() as u64 >= limits.max_entries {
            return Err(ReadError::Limit(format!(
                "more than {} entries in the archive",
                limits.max_entries
            )));
        }
        let Some(name) = archive_name(&String::from_utf8_lossy(&h.path)) else {
            continue; // never looked up: names come from manifests
        };
        let entry = match h.kind {
            Kind::File => Entry::File {
                offset: h.data_offset,
                size: h.size,
            },
            Kind::Symlink => {
                let dir = name.rsplit_once('/').map_or("", |(d, _)| d);
                let target = String::from_utf8_lossy(&h.link);
                match archive_name(&format!("{dir}/{target}")) {
                    Some(t) if !target.starts_with('/') => Entry::Link(t),
                    _ => continue,
                }
            }
            Kind::HardLink => match archive_name(&String::from_utf8_lossy(&h.link)) {
                Some(t) => Entry::Link(t),
                None => continue,
            },
            Kind::Dir | Kind::Special => continue,
        };
        entries.insert(name, entry);
    }
    Ok(entries)
}

/// A stream read into a file as it is read: every byte the tar reader reads or passes over
/// lands at the same offset of `out`, so the index's offsets are offsets in `out`. Stops with
/// an error past `cap` bytes.
struct Tee<'a> {
    input: &'a mut dyn Read,
    out: File,
    count: u64,
    cap: u64,
}

impl Read for Tee<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let room = self.cap.saturating_add(1).saturating_sub(self.count);
        let max = buf.len().min(room.min(usize::MAX as u64) as usize);
        if max == 0 {
            return Err(io::Error::other("the stream is over the size limit"));
        }
        let n = loop {
            match self.input.read(&mut buf[..max]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => break r?,
            }
        };
        self.count += n as u64;
        if self.count > self.cap {
            return Err(io::Error::other("the stream is over the size limit"));
        }
        self.out.write_all(&buf[..n])?;
        Ok(n)
    }
}

impl Source for Tee<'_> {
    fn skip(&mut self, n: u64) -> io::Result<()> {
        let mut buf = vec![0u8; n.min(1 << 16) as usize];
        let mut left = n;
        while left > 0 {
            let want = buf.len().min(left.min(usize::MAX as u64) as usize);
            let got = self.read(&mut buf[..want])?;
            if got == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "an entry runs past the end of the archive",
                ));
            }
            left -= got as u64;
        }
        Ok(())
    }
}

/// The blob name of a digest in an OCI layout (`blobs/sha256/<hex>`), checked to be exactly
/// that shape so a manifest cannot name a path.
pub(super) fn blob_name(digest: &str) -> Result<String, ReadError> {
    match digest.split_once(':') {
        Some(("sha256", hex))
            if hex.len() == 64
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) =>
        {
            Ok(format!("blobs/sha256/{hex}"))
        }
        _ => Err(ReadError::Invalid(format!(
            "unsupported digest '{digest}' (binslim reads sha256:<64 hex digits>)"
        ))),
    }
}

/// True for a directory that looks like an OCI layout.
pub(super) fn is_layout_dir(p: &Path) -> bool {
    p.join("index.json").is_file()
}
