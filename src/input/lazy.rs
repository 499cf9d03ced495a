//! A file read only where its analysis looks: the ELF header, the tables and the few small
//! sections a verdict needs, instead of all of it.
//!
//! A directory walk checks thousands of files, and reading each one whole (or mapping it, which
//! costs a `mmap`, page faults that map 16 pages around each touched one, and a `munmap` that
//! flushes the TLB) costs far more than the few kilobytes a verdict is drawn from. [`LazyFile`]
//! answers each request for bytes with a `pread` of the page-aligned window around it, kept for
//! later requests; a large request (a Go program's function-name table, the `.rodata` searched
//! for NSS module names, a big library's `.dynstr`) maps that range only, so that the pages it
//! never touches are never read.

use std::cell::RefCell;
use std::fs::File;
use std::os::unix::fs::FileExt;

use memmap2::{Mmap, MmapOptions};

/// Bytes of a file that are read as they are asked for (see [`crate::elf::ElfFile::parse_lazy`]).
pub trait Source {
    /// The file's length.
    fn len(&self) -> u64;
    /// True for an empty file.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// `size` bytes from `offset`: `None` when the range runs past the end or cannot be read
    /// (the source keeps the error for its owner).
    fn get(&self, offset: u64, size: u64) -> Option<&[u8]>;
}

/// Requests this large or larger are mapped rather than read: copying them costs more than a
/// mapping, and their readers (searches, string tables) rarely touch every page.
const MAP_FROM: u64 = 64 << 10;

/// A smaller request reads the aligned window of this size around it (or more, to cover it):
/// neighbouring requests (a section header table and the name table before it, a dynamic
/// section's entries and the version tables) are then answered from memory.
const WINDOW: u64 = 4 << 10;

/// A file opened for analysis whose bytes are read as they are asked for (see the module
/// documentation). Bytes once read stay until it is dropped, so the slices it hands out live as
/// long as it does.
pub struct LazyFile {
    file: File,
    len: u64,
    chunks: elsa::FrozenVec<Box<Chunk>>,
    /// The first read error, which makes the bytes asked for unavailable (`None`): the caller
    /// must report it rather than the analysis of a file with holes ([`LazyFile::take_error`]).
    error: RefCell<Option<std::io::Error>>,
}

/// Bytes of the file from `offset`.
struct Chunk {
    offset: u64,
    bytes: Bytes,
}

enum Bytes {
    Read(Vec<u8>),
    Mapped(Mmap),
}

impl Chunk {
    fn bytes(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Read(v) => v,
            Bytes::Mapped(m) => m,
        }
    }

    /// `offset..offset + size` of the file when this chunk holds all of it.
    fn get(&self, offset: u64, size: u64) -> Option<&[u8]> {
        let start = usize::try_from(offset.checked_sub(self.offset)?).ok()?;
        let end = start.checked_add(usize::try_from(size).ok()?)?;
        self.bytes().get(start..end)
    }
}

impl LazyFile {
    /// A file of `len` bytes (its length when it was opened) whose first bytes, `head`, are
    /// already read.
    pub fn new(file: File, len: u64, head: &[u8]) -> Self {
        let chunks = elsa::FrozenVec::new();
        let head = &head[..head.len().min(usize::try_from(len).unwrap_or(usize::MAX))];
        if !head.is_empty() {
            chunks.push(Box::new(Chunk {
                offset: 0,
                bytes: Bytes::Read(head.to_vec()),
            }));
        }
        LazyFile {
            file,
            len,
            chunks,
            error: RefCell::new(None),
        }
    }

    /// The first error met while reading, if any: the analysis then lacked bytes it asked for.
    pub fn take_error(&self) -> Option<std::io::Error> {
        self.error.borrow_mut().take()
    }

    /// Reads (or maps) a range that no chunk holds yet, and keeps it.
    fn fetch(&self, offset: u64, size: u64) -> std::io::Result<&[u8]> {
        let chunk = if size >= MAP_FROM {
            // SAFETY: the map is read-only; like every mapping of a file binslim reads, its
            // bytes could change if another process rewrote the file, the hazard `Input`
            // accepts for named files.
            let map = unsafe {
                MmapOptions::new()
                    .offset(offset)
                    .len(usize::try_from(size).map_err(std::io::Error::other)?)
                    .map(&self.file)?
            };
            Chunk {
                offset,
                bytes: Bytes::Mapped(map),
            }
        } else {
            let start = offset & !(WINDOW - 1);
            let end = (offset + size)
                .max(start + WINDOW)
                .next_multiple_of(WINDOW)
                .min(self.len);
            let mut buf = vec![0; (end - start) as usize];
            self.file.read_exact_at(&mut buf, start)?;
            Chunk {
                offset: start,
                bytes: Bytes::Read(buf),
            }
        };
        let chunk = self.chunks.push_get(Box::new(chunk));
        chunk
            .get(offset, size)
            .ok_or_else(|| std::io::Error::other("a chunk read does not hold what was asked for"))
    }
}

impl Source for LazyFile {
    fn len(&self) -> u64 {
        self.len
    }

    fn get(&self, offset: u64, size: u64) -> Option<&[u8]> {
        let end = offset.checked_add(size)?;
        if end > self.len {
            return None;
        }
        if size == 0 {
            return Some(&[]);
        }
        // Newest first: requests cluster (a table, then entries of it).
        for i in (0..self.chunks.len()).rev() {
            if let Some(b) = self.chunks.get(i).and_then(|c| c.get(offset, size)) {
                return Some(b);
            }
        }
        match self.fetch(offset, size) {
            Ok(b) => Some(b),
            Err(e) => {
                self.error.borrow_mut().get_or_insert(e);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_of(bytes: &[u8]) -> (tempfile::NamedTempFile, File) {
        let mut t = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut t, bytes).unwrap();
        let f = File::open(t.path()).unwrap();
        (t, f)
    }

    #[test]
    fn requests_are_answered_from_the_file_and_bounded_by_its_length() {
        let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let (_t, f) = file_of(&bytes);
        let lazy = LazyFile::new(f, bytes.len() as u64, &bytes[..16]);
        for (off, size) in [
            (0, 16),
            (0, 100),
            (4090, 20),
            (199_990, 10),
            (5000, 70_000),
            (123_456, 1),
            (7, 0),
        ] {
            let end = off + size;
            assert_eq!(
                lazy.get(off as u64, size as u64),
                Some(&bytes[off..end]),
                "{off}+{size}"
            );
        }
        assert_eq!(lazy.get(199_990, 11), None);
        assert_eq!(lazy.get(u64::MAX, 2), None);
        assert!(lazy.take_error().is_none());
        // The head was kept, a small read took one window, a large one a mapping.
        assert!(lazy.chunks.len() >= 3);
    }

    #[test]
    fn a_file_that_shrank_is_an_error_not_zeros() {
        let (t, f) = file_of(&[7u8; 10_000]);
        let lazy = LazyFile::new(f, 10_000, &[7u8; 8]);
        std::fs::write(t.path(), [7u8; 100]).unwrap();
        assert_eq!(lazy.get(9_000, 8), None);
        assert_eq!(
            lazy.take_error().map(|e| e.kind()),
            Some(std::io::ErrorKind::UnexpectedEof)
        );
    }
}
