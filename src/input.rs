//! Opening a file for analysis: map it read-only, and tell an ELF file from everything else.
//!
//! The rest of the library works on `&[u8]`; this module is the one place that turns a path
//! into bytes and gives a non-ELF file a message that says what it is instead.

use std::fs::File;
use std::path::Path;

use memmap2::Mmap;

use crate::error::{Error, Result};

mod lazy;
pub use lazy::{LazyFile, Source};

/// The bytes of a file, mapped read-only (or held in memory for empty and special files), with
/// the open handle they came from: one open per input serves planning, copying (see
/// [`Input::file`]) and the file's metadata.
pub struct Input {
    data: Data,
    mode: u32,
    file: File,
    meta: std::fs::Metadata,
}

enum Data {
    Map(Mmap),
    Empty,
}

impl Input {
    /// Opens and maps `path`. Refuses directories and non-regular files with a clear error.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::from_io(e, "cannot open"))?;
        Self::map(file)
    }

    /// Opens `path` and maps it only when it starts with the ELF magic (`Ok(None)` otherwise):
    /// for directory walks, where most files are not ELF and mapping each would cost two
    /// system calls more than reading four bytes. A file that cannot be opened or read (EACCES,
    /// EIO) is an error, never "not ELF": it may well be a program.
    pub fn open_elf(path: &Path) -> Result<Option<Self>> {
        use std::os::unix::fs::FileExt;
        let file = File::open(path).map_err(|e| Error::from_io(e, "cannot open"))?;
        let mut magic = [0u8; 4];
        match file.read_exact_at(&mut magic, 0) {
            Ok(()) => {}
            // Shorter than the magic: not ELF.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(Error::from_io(e, "cannot read")),
        }
        if &magic != ELF_MAGIC {
            return Ok(None);
        }
        Self::map(file).map(Some)
    }

    fn map(file: File) -> Result<Self> {
        let meta = file
            .metadata()
            .map_err(|e| Error::from_io(e, "cannot stat"))?;
        Self::map_with(file, meta)
    }

    /// Maps an open file whose metadata the caller already has (a directory walk `fstat`s a
    /// file before it decides to map it), with the same checks as [`Input::open`].
    pub fn map_with(file: File, meta: std::fs::Metadata) -> Result<Self> {
        if meta.is_dir() {
            return Err(Error::IsDirectory);
        }
        if !meta.is_file() {
            return Err(Error::NotRegularFile);
        }
        let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions());
        if meta.len() == 0 {
            return Ok(Input {
                data: Data::Empty,
                mode,
                file,
                meta,
            });
        }
        // The length is given, so memmap2 does not stat the file a second time.
        let len = usize::try_from(meta.len()).map_err(|_| {
            Error::from_io(
                std::io::Error::new(std::io::ErrorKind::FileTooLarge, "larger than memory"),
                "cannot map",
            )
        })?;
        // SAFETY: a file map is sound while nothing changes or truncates the file under it. The
        // map is read-only (PROT_READ) and `len` is the length just read from the open file.
        // binslim writes its outputs to new temporary files renamed into place, so the mapped
        // inode keeps its bytes; the one exception, shrinking a hard-linked file in place,
        // rewrites the inode only after the last read of the map (see `shrink::attrs::replace`).
        // Another process writing the file meanwhile cannot be excluded (this is the known
        // limit of mapping a file): changed bytes at worst give a wrong analysis or a parse
        // error, since every read is bounds-checked, and a truncation ends the process with
        // SIGBUS rather than reading out of bounds.
        let map = unsafe { memmap2::MmapOptions::new().len(len).map(&file) }
            .map_err(|e| Error::from_io(e, "cannot map"))?;
        // binslim reads headers at both ends of the file and a few small sections: tell the
        // kernel not to read ahead around each of those pages (a large cost for big files; for
        // small ones readahead costs little and the call would cost more). Only advice: ignore
        // a refusal.
        if len > 1 << 20 {
            let _ = map.advise(memmap2::Advice::Random);
        }
        Ok(Input {
            data: Data::Map(map),
            mode,
            file,
            meta,
        })
    }

    /// The open file the bytes are mapped from (for `copy_file_range` copies and `fstat`-based
    /// checks without opening the path again).
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The file's metadata, taken when it was opened.
    pub fn metadata(&self) -> &std::fs::Metadata {
        &self.meta
    }

    /// The file's permission bits (`st_mode & 0o7777` and the file type bits).
    pub fn mode(&self) -> u32 {
        self.mode
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        match &self.data {
            Data::Map(m) => m,
            Data::Empty => &[],
        }
    }
}

/// The ELF magic number.
pub const ELF_MAGIC: &[u8; 4] = b"\x7fELF";

/// Returns `Ok(())` when `data` starts like an ELF file, else the error that says what it is.
pub fn sniff(data: &[u8]) -> Result<()> {
    if data.is_empty() {
        return Err(Error::Empty);
    }
    if data.starts_with(ELF_MAGIC) {
        return Ok(());
    }
    if data.starts_with(b"#!") {
        let line = data[2..].split(|&b| b == b'\n').next().unwrap_or_default();
        let line = &line[..line.len().min(120)];
        let shebang = format!("#!{}", String::from_utf8_lossy(line).trim());
        return Err(Error::Script { shebang });
    }
    let kind = match data {
        [0xfe, 0xed, 0xfa, 0xce | 0xcf, ..] | [0xce | 0xcf, 0xfa, 0xed, 0xfe, ..] => {
            Some("a Mach-O file")
        }
        [0xca, 0xfe, 0xba, 0xbe, ..] => Some("a Mach-O universal binary or Java class file"),
        [b'M', b'Z', ..] => Some("a PE/COFF (Windows) file"),
        [b'!', b'<', b'a', b'r', b'c', b'h', b'>', b'\n', ..] => {
            Some("an ar archive (a static library)")
        }
        [0x00, b'a', b's', b'm', ..] => Some("a WebAssembly module"),
        [0x1f, 0x8b, ..] => Some("gzip-compressed data"),
        [b'P', b'K', 0x03, 0x04, ..] => Some("a zip archive"),
        _ => None,
    };
    if let Some(kind) = kind {
        return Err(Error::NotElf { kind });
    }
    if data.starts_with(&ELF_MAGIC[..data.len().min(4)]) {
        return Err(Error::Truncated {
            what: "the ELF header".into(),
            end: 4,
            len: data.len() as u64,
        });
    }
    let looks_text = data
        .iter()
        .take(512)
        .all(|&b| b == b'\n' || b == b'\r' || b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80);
    if looks_text {
        return Err(Error::NotElf {
            kind: "a text file",
        });
    }
    let magic = data
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ");
    Err(Error::Unrecognized { magic })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniff_names_what_a_file_is() {
        assert_eq!(sniff(b"").unwrap_err().to_string(), "is empty");
        assert_eq!(
            sniff(b"#!/bin/sh\necho hi\n").unwrap_err().to_string(),
            "is a script (#!/bin/sh), not an ELF binary"
        );
        assert_eq!(
            sniff(&[0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1])
                .unwrap_err()
                .to_string(),
            "is a Mach-O file, not an ELF binary"
        );
        assert_eq!(
            sniff(b"MZ\x90\0").unwrap_err().to_string(),
            "is a PE/COFF (Windows) file, not an ELF binary"
        );
        assert_eq!(
            sniff(b"hello world\n").unwrap_err().to_string(),
            "is a text file, not an ELF binary"
        );
        assert_eq!(
            sniff(&[0, 1, 2, 3]).unwrap_err().to_string(),
            "is not an ELF file (it starts with 00 01 02 03)"
        );
        assert_eq!(
            sniff(b"\x7fEL").unwrap_err().to_string(),
            "truncated ELF: the ELF header ends at byte 4 of 3"
        );
        assert!(sniff(b"\x7fELF\x02\x01").is_ok());
    }
}
