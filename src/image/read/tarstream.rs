//! A bounded tar header reader for image archives and layers.
//!
//! The `tar` crate reads PAX records and GNU long names into memory without a limit and cannot
//! skip payload through a hashing reader, so image reading has its own small reader: ustar, GNU
//! (`L`/`K` long names, base-256 sizes) and PAX (`path`, `linkpath`, `size`) headers, every
//! checksum checked, every variable-length record capped. The payload of an entry is read
//! through [`TarReader::data`]; whatever the caller leaves unread is skipped with
//! [`Source::skip`] (a seek in an archive file or an uncompressed layer blob, a read through
//! the decompressor, and the digest when one is checked, in a layer stream).

use std::io::{self, Read};

/// Longest path or link target accepted (bytes), as Linux's `PATH_MAX`.
pub const MAX_PATH: usize = 4096;
/// Largest PAX extended header or GNU long-name record accepted.
const MAX_EXTENSION: u64 = 1 << 20;

/// What a tar entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file (also contiguous and GNU sparse files, read as plain data).
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A hard link to an earlier entry.
    HardLink,
    /// A device or FIFO.
    Special,
}

/// One entry's header, extensions applied.
#[derive(Debug, Clone)]
pub struct Header {
    /// The path as stored (not normalized).
    pub path: Vec<u8>,
    /// What the entry is.
    pub kind: Kind,
    /// Payload size in bytes.
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
    /// Link target (symlinks and hard links).
    pub link: Vec<u8>,
    /// Offset of the payload from the start of the stream.
    pub data_offset: u64,
    /// Owner's user id (PAX `uid` when given).
    pub uid: u64,
    /// Owner's group id (PAX `gid` when given).
    pub gid: u64,
    /// The tar type flag (`3` character device, `4` block device, `6` FIFO, ...).
    pub typeflag: u8,
}

/// Where a tar stream comes from: readable, and able to pass over bytes.
pub trait Source: Read {
    /// Passes over `n` bytes (seeks when it can, else reads them).
    fn skip(&mut self, n: u64) -> io::Result<()> {
        let copied = io::copy(&mut Read::take(&mut *self, n), &mut io::sink())?;
        if copied < n {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }
}

/// Reads headers one after another.
pub struct TarReader<S> {
    src: S,
    pos: u64,
    /// Payload bytes of the current entry not yet read, and its padding.
    remaining: u64,
    padding: u64,
    done: bool,
}

/// Why a stream is not a tar this reader accepts.
#[derive(Debug, thiserror::Error)]
pub enum TarError {
    /// A read failed or the stream ended inside an entry.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The bytes are not a valid tar header.
    #[error("bad tar header at byte {offset}: {what}")]
    Bad {
        /// Offset of the header.
        offset: u64,
        /// What is wrong.
        what: String,
    },
}

impl<S: Source> TarReader<S> {
    /// Starts reading at the beginning of `src`.
    pub fn new(src: S) -> Self {
        TarReader {
            src,
            pos: 0,
            remaining: 0,
            padding: 0,
            done: false,
        }
    }

    /// The underlying source (to drain what follows the end-of-archive marker).
    pub fn into_inner(self) -> S {
        self.src
    }

    /// A reader over the current entry's payload (at most its size).
    pub fn data(&mut self) -> EntryData<'_, S> {
        EntryData { tar: self }
    }

    fn finish_entry(&mut self) -> io::Result<()> {
        let n = self.remaining + self.padding;
        if n > 0 {
            self.src.skip(n)?;
            self.pos += n;
        }
        self.remaining = 0;
        self.padding = 0;
        Ok(())
    }

    /// Reads one 512-byte block; `Ok(false)` at a clean end of stream.
    fn block(&mut self, buf: &mut [u8; 512]) -> Result<bool, TarError> {
        let mut got = 0;
        while got < 512 {
            match self.src.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.pos += got as u64;
        match got {
            0 => Ok(false),
            512 => Ok(true),
            _ => Err(TarError::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the tar stream ends inside a header",
            ))),
        }
    }

    fn read_extension(&mut self, size: u64, offset: u64) -> Result<Vec<u8>, TarError> {
        if size > MAX_EXTENSION {
            return Err(bad(
                offset,
                format!("an extended header of {size} bytes (limit {MAX_EXTENSION})"),
            ));
        }
        let mut buf = Vec::with_capacity(size as usize);
        (&mut self.src).take(size).read_to_end(&mut buf)?;
        if (buf.len() as u64) < size {
            return Err(TarError::Io(io::ErrorKind::UnexpectedEof.into()));
        }
        let pad = padding(size);
        self.src.skip(pad)?;
        self.pos += size + pad;
        Ok(buf)
    }

    /// The next entry, or `None` at the end of the archive.
    pub fn next_header(&mut self) -> Result<Option<Header>, TarError> {
        if self.done {
            return Ok(None);
        }
        self.finish_entry()?;
        let mut long_path: Option<Vec<u8>> = None;
        let mut long_link: Option<Vec<u8>> = None;
        let mut pax_size: Option<u64> = None;
        let mut pax_ids: [Option<u64>; 2] = [None, None];
        loop {
            let offset = self.pos;
            let mut b = [0u8; 512];
            if !self.block(&mut b)? || b.iter().all(|&x| x == 0) {
                // A zero block (or the end of the stream) ends the archive.
                self.done = true;
                return Ok(None);
            }
            check_sum(&b, offset)?;
            let mut size = number(&b[124..136]).ok_or_else(|| bad(offset, "bad size field"))?;
            let typeflag = b[156];
            match typeflag {
                b'L' | b'K' => {
                    let mut v = self.read_extension(size, offset)?;
                    trim_nul(&mut v);
                    check_len(&v, offset)?;
                    if typeflag == b'L' {
                        long_path = Some(v);
                    } else {
                        long_link = Some(v);
                    }
                    continue;
                }
                b'x' => {
                    let data = self.read_extension(size, offset)?;
                    for (k, v) in pax_records(&data).ok_or_else(|| bad(offset, "bad PAX record"))? {
                        match k {
                            b"path" => long_path = Some(v.to_vec()),
                            b"linkpath" => long_link = Some(v.to_vec()),
                            b"size" => {
                                pax_size = Some(
                                    std::str::from_utf8(v)
                                        .ok()
                                        .and_then(|s| s.parse().ok())
                                        .ok_or_else(|| bad(offset, "bad PAX size"))?,
                                )
                            }
                            b"uid" | b"gid" => {
                                pax_ids[usize::from(k == b"gid")] =
                                    std::str::from_utf8(v).ok().and_then(|s| s.parse().ok())
                            }
                            _ => {}
                        }
                    }
                    continue;
                }
                b'g' => {
                    self.read_extension(size, offset)?;
                    continue;
                }
                _ => {}
            }
            if let Some(s) = pax_size {
                size = s;
            }
            let kind = match typeflag {
                b'0' | 0 | b'7' | b'S' => Kind::File,
                b'1' => Kind::HardLink,
                b'2' => Kind::Symlink,
                b'5' => Kind::Dir,
                b'3' | b'4' | b'6' => Kind::Special,
                other => {
                    return Err(bad(
                        offset,
                        format!("unknown entry type {:?}", other as char),
                    ));
                }
            };
            let path = match long_path {
                Some(p) => p,
                None => header_path(&b),
            };
            check_len(&path, offset)?;
            let link = long_link.unwrap_or_else(|| field(&b[157..257]).to_vec());
            let mode = number(&b[100..108]).unwrap_or(0o644) as u32 & 0o7777;
            // Links, directories and devices carry no payload whatever their size says.
            if !matches!(kind, Kind::File) {
                size = 0;
            }
            if size > i64::MAX as u64 {
                return Err(bad(offset, format!("entry size {size} is impossible")));
            }
            self.remaining = size;
            self.padding = padding(size);
            return Ok(Some(Header {
                path,
                kind,
                size,
                mode,
                link,
                data_offset: self.pos,
                uid: pax_ids[0].or_else(|| number(&b[108..116])).unwrap_or(0),
                gid: pax_ids[1].or_else(|| number(&b[116..124])).unwrap_or(0),
                typeflag,
            }));
        }
    }
}

/// The payload of the current entry.
pub struct EntryData<'a, S> {
    tar: &'a mut TarReader<S>,
}

impl<S: Source> EntryData<'_, S> {
    /// Passes over what is left of the payload with [`Source::skip`]: a seek where the source
    /// can seek (an uncompressed layer in a file), a read otherwise. A payload the stream does
    /// not hold to its end is an error here, before anything is made of its size.
    pub fn skip_rest(self) -> io::Result<()> {
        let n = self.tar.remaining;
        self.tar.src.skip(n).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the tar stream ends inside an entry",
                )
            } else {
                e
            }
        })?;
        self.tar.remaining = 0;
        self.tar.pos += n;
        Ok(())
    }
}

impl<S: Source> Read for EntryData<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let max = buf
            .len()
            .min(self.tar.remaining.min(usize::MAX as u64) as usize);
        if max == 0 {
            return Ok(0);
        }
        let n = self.tar.src.read(&mut buf[..max])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the tar stream ends inside an entry",
            ));
        }
        self.tar.remaining -= n as u64;
        self.tar.pos += n as u64;
        Ok(n)
    }
}

fn bad(offset: u64, what: impl Into<String>) -> TarError {
    TarError::Bad {
        offset,
        what: what.into(),
    }
}

fn padding(size: u64) -> u64 {
    (512 - size % 512) % 512
}

fn check_len(p: &[u8], offset: u64) -> Result<(), TarError> {
    if p.len() > MAX_PATH {
        return Err(bad(
            offset,
            format!("a path of {} bytes (limit {MAX_PATH})", p.len()),
        ));
    }
    Ok(())
}

fn trim_nul(v: &mut Vec<u8>) {
    while v.last() == Some(&0) {
        v.pop();
    }
}

fn field(b: &[u8]) -> &[u8] {
    let end = b.iter().position(|&x| x == 0).unwrap_or(b.len());
    &b[..end]
}

fn header_path(b: &[u8; 512]) -> Vec<u8> {
    let name = field(&b[0..100]);
    // POSIX ustar ("ustar\0") splits long names into prefix/name; GNU ("ustar  ") does not.
    if &b[257..263] == b"ustar\0" {
        let prefix = field(&b[345..500]);
        if !prefix.is_empty() {
            let mut p = prefix.to_vec();
            p.push(b'/');
            p.extend_from_slice(name);
            return p;
        }
    }
    name.to_vec()
}

fn check_sum(b: &[u8; 512], offset: u64) -> Result<(), TarError> {
    let stored = number(&b[148..156]).ok_or_else(|| bad(offset, "bad checksum field"))?;
    // The sum of every byte, with the checksum field itself counted as eight spaces; plain
    // loops over the block (which the compiler vectorizes), not one branch per byte, in 32-bit
    // lanes (512 bytes sum to at most 130,560), and the signed sum (old Sun tars) only when the
    // unsigned one does not match.
    let field = 148..156;
    let unsigned = u64::from(b.iter().map(|&x| u32::from(x)).sum::<u32>())
        - u64::from(b[field.clone()].iter().map(|&x| u32::from(x)).sum::<u32>())
        + 8 * 32;
    if stored == unsigned {
        return Ok(());
    }
    let signed = i64::from(b.iter().map(|&x| i32::from(x as i8)).sum::<i32>())
        - i64::from(b[field].iter().map(|&x| i32::from(x as i8)).sum::<i32>())
        + 8 * 32;
    if stored as i64 != signed {
        return Err(bad(offset, "checksum mismatch (not a tar archive?)"));
    }
    Ok(())
}

/// An octal field (NUL/space padded) or GNU base-256 (high bit set).
fn number(f: &[u8]) -> Option<u64> {
    if f.first().is_some_and(|&x| x & 0x80 != 0) {
        if f[0] & 0x40 != 0 {
            return None; // negative
        }
        let mut v: u64 = u64::from(f[0] & 0x3f);
        for &x in &f[1..] {
            v = v.checked_mul(256)?.checked_add(u64::from(x))?;
        }
        return Some(v);
    }
    let start = f
        .iter()
        .position(|&x| x != b' ' && x != 0)
        .unwrap_or(f.len());
    let len = f[start..]
        .iter()
        .position(|&x| x == b' ' || x == 0)
        .unwrap_or(f.len() - start);
    let mut v: u64 = 0;
    for &x in &f[start..start + len] {
        let d = x.wrapping_sub(b'0');
        // Not an octal digit, or a value past 64 bits (v * 8 + d overflows iff v >= 2^61).
        if d > 7 || v >> 61 != 0 {
            return None;
        }
        v = (v << 3) | u64::from(d);
    }
    Some(v)
}

/// Parses `LEN key=value\n` records.
fn pax_records(mut data: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    let mut out = Vec::new();
    while !data.is_empty() {
        if data.iter().all(|&x| x == 0) {
            break;
        }
        let sp = data.iter().position(|&x| x == b' ')?;
        let len: usize = std::str::from_utf8(&data[..sp]).ok()?.parse().ok()?;
        if len <= sp + 1 || len > data.len() || data[len - 1] != b'\n' {
            return None;
        }
        let rec = &data[sp + 1..len - 1];
        let eq = rec.iter().position(|&x| x == b'=')?;
        out.push((&rec[..eq], &rec[eq + 1..]));
        data = &data[len..];
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Plain<'a>(&'a [u8]);
    impl Read for Plain<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.0.read(buf)
        }
    }
    impl Source for Plain<'_> {}

    fn tar_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o755);
            h.set_cksum();
            b.append_data(&mut h, name, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    /// The checksum is the unsigned sum of the header's bytes with its own field as spaces
    /// (POSIX), or the signed sum (old tars); anything else is refused. A name with bytes of
    /// 0x80 and above tells the two apart.
    #[test]
    fn checksum_unsigned_signed_and_wrong() {
        let mut b = [0u8; 512];
        b[..4].copy_from_slice(&[b'n', 0xe9, 0xff, 0x80]);
        let naive = |signed: bool| -> i64 {
            b.iter()
                .enumerate()
                .map(|(i, &x)| match (i, signed) {
                    (148..=155, _) => 32,
                    (_, true) => i64::from(x as i8),
                    (_, false) => i64::from(x),
                })
                .sum()
        };
        let (unsigned, signed) = (naive(false), naive(true));
        assert_eq!(
            (unsigned, signed),
            (32 * 8 + 110 + 233 + 255 + 128, 32 * 8 + 110 - 23 - 1 - 128)
        );
        for sum in [unsigned, signed] {
            b[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
            assert!(check_sum(&b, 0).is_ok(), "{sum}");
        }
        b[148..156].copy_from_slice(format!("{:06o}\0 ", unsigned + 1).as_bytes());
        assert!(check_sum(&b, 0).is_err());
    }

    #[test]
    fn reads_headers_and_payload() {
        let long = format!("{}/file", "d".repeat(200));
        let t = tar_of(&[("a", b"hello"), (&long, b"xy")]);
        let mut r = TarReader::new(Plain(&t));
        let h = r.next_header().unwrap().unwrap();
        assert_eq!((h.path.as_slice(), h.size, h.mode), (&b"a"[..], 5, 0o755));
        let mut s = String::new();
        r.data().read_to_string(&mut s).unwrap();
        assert_eq!(s, "hello");
        let h = r.next_header().unwrap().unwrap();
        assert_eq!(h.path, long.as_bytes());
        assert!(r.next_header().unwrap().is_none());
    }

    #[test]
    fn rejects_garbage_and_huge_extensions() {
        let mut junk = vec![1u8; 512];
        junk[0] = b'x';
        assert!(matches!(
            TarReader::new(Plain(&junk)).next_header(),
            Err(TarError::Bad { .. })
        ));
        // A GNU long-name record claiming 1 GiB.
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::GNULongName);
        h.set_size(1 << 30);
        h.set_cksum();
        let mut t = h.as_bytes().to_vec();
        t.extend_from_slice(&[0; 1024]);
        let err = TarReader::new(Plain(&t)).next_header().unwrap_err();
        assert!(
            err.to_string()
                .contains("extended header of 1073741824 bytes"),
            "{err}"
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(number(b"0000644\0"), Some(0o644));
        assert_eq!(number(b"   12 \0"), Some(0o12));
        assert_eq!(number(&[0x80, 0, 0, 0, 0, 0, 1, 0]), Some(256));
        assert_eq!(number(b"9"), None);
        // 64 bits at most: the largest octal value, then one past it.
        assert_eq!(number(b"1777777777777777777777"), Some(u64::MAX));
        assert_eq!(number(b"2000000000000000000000"), None);
        assert_eq!(number(b"0001777777777777777777777"), Some(u64::MAX));
        assert_eq!(
            pax_records(b"16 path=abc/def\n").unwrap(),
            vec![(&b"path"[..], &b"abc/def"[..])]
        );
        assert!(pax_records(b"99 path=x\n").is_none());
    }
}
