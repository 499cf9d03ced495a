//! The planned output as a list of pieces, and the writers that turn it into bytes.
//!
//! A [`Layout`] holds no copy of the input: its pieces name ranges of the input, new bytes and
//! zero padding. The writers read the input ranges from memory ([`Layout::write_to`]), from any
//! [`Source`] through a small buffer ([`Layout::write_from`]), or let the kernel copy them file
//! to file ([`Layout::copy_file`]).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;

use super::RemovedSection;

/// A piece of the output file.
#[derive(Debug, Clone)]
enum Chunk {
    /// Bytes copied from the input at this offset.
    Input { offset: u64, len: u64 },
    /// New bytes (headers, string tables, rewritten symbol tables).
    Data(Vec<u8>),
    /// Alignment padding.
    Zeros(u64),
}

/// The output file, as a list of pieces of the input and new bytes.
#[derive(Debug, Clone)]
pub struct Layout {
    chunks: Vec<Chunk>,
    size: u64,
    /// The sections left out, in input order.
    pub removed: Vec<RemovedSection>,
}

/// Something the input bytes can be read from at an offset.
pub trait Source {
    /// Fills `buf` from `offset`; the range is inside the input.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
}

impl Source for [u8] {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let src = usize::try_from(offset)
            .ok()
            .and_then(|o| self.get(o..o.checked_add(buf.len())?))
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "beyond the input"))?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

impl Source for File {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        FileExt::read_exact_at(self, buf, offset)
    }
}

const ZEROS: [u8; 4096] = [0; 4096];

fn write_zeros<W: Write>(w: &mut W, mut n: u64) -> io::Result<()> {
    while n > 0 {
        let k = n.min(ZEROS.len() as u64) as usize;
        w.write_all(&ZEROS[..k])?;
        n -= k as u64;
    }
    Ok(())
}

impl Layout {
    /// The size of the output in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Writes the output, reading input pieces from `data` (the input the layout was planned on).
    pub fn write_to<W: Write>(&self, data: &[u8], mut w: W) -> io::Result<()> {
        for c in &self.chunks {
            match c {
                Chunk::Input { offset, len } => {
                    let s = crate::elf::file::slice(data, *offset, *len).ok_or_else(|| {
                        io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "input is shorter than planned",
                        )
                    })?;
                    w.write_all(s)?;
                }
                Chunk::Data(d) => w.write_all(d)?,
                Chunk::Zeros(n) => write_zeros(&mut w, *n)?,
            }
        }
        w.flush()
    }

    /// Writes the output, reading input pieces from `src` through a 1 MiB buffer (keeps memory
    /// use flat when the input is a large file).
    pub fn write_from<S: Source + ?Sized, W: Write>(&self, src: &S, mut w: W) -> io::Result<()> {
        let mut buf = vec![0u8; 1 << 20];
        for c in &self.chunks {
            match c {
                Chunk::Input { offset, len } => {
                    let mut done = 0u64;
                    while done < *len {
                        let k = (*len - done).min(buf.len() as u64) as usize;
                        src.read_exact_at(&mut buf[..k], offset + done)?;
                        w.write_all(&buf[..k])?;
                        done += k as u64;
                    }
                }
                Chunk::Data(d) => w.write_all(d)?,
                Chunk::Zeros(n) => write_zeros(&mut w, *n)?,
            }
        }
        w.flush()
    }

    /// Writes the output from the file `input` to `out` (both positioned by this call), letting
    /// the kernel copy the input pieces (`copy_file_range`) where it can.
    pub fn copy_file(&self, input: &File, out: &File) -> io::Result<()> {
        let mut out = out;
        out.seek(SeekFrom::Start(0))?;
        let mut src = input;
        for c in &self.chunks {
            match c {
                Chunk::Input { offset, len } => {
                    src.seek(SeekFrom::Start(*offset))?;
                    let n = io::copy(&mut src.take(*len), &mut out)?;
                    if n != *len {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "input is shorter than planned",
                        ));
                    }
                }
                Chunk::Data(d) => out.write_all(d)?,
                Chunk::Zeros(n) => write_zeros(&mut out, *n)?,
            }
        }
        out.set_len(self.size)?;
        out.flush()
    }

    /// The output's pieces in order; their lengths add up to [`Layout::size`].
    pub fn pieces(&self) -> impl Iterator<Item = Piece<'_>> + '_ {
        self.chunks.iter().map(|c| match c {
            Chunk::Input { offset, len } => Piece::Input {
                offset: *offset,
                len: *len,
            },
            Chunk::Data(d) => Piece::Data(d),
            Chunk::Zeros(n) => Piece::Zeros(*n),
        })
    }

    /// An empty output that leaves out `removed`.
    pub(super) fn new(removed: Vec<RemovedSection>) -> Self {
        Layout {
            chunks: Vec::new(),
            size: 0,
            removed,
        }
    }

    /// Reserves `len` bytes at the end for data known only later (the ELF header, which names
    /// where the section header table lands); [`Layout::fill`] supplies them.
    pub(super) fn reserve(&mut self, len: u64) -> usize {
        self.chunks.push(Chunk::Data(Vec::new()));
        self.size += len;
        self.chunks.len() - 1
    }

    /// Supplies the bytes of a piece [`Layout::reserve`]d earlier.
    pub(super) fn fill(&mut self, piece: usize, bytes: Vec<u8>) {
        self.chunks[piece] = Chunk::Data(bytes);
    }

    /// Appends `len` input bytes from `offset`.
    pub(super) fn push_input(&mut self, offset: u64, len: u64) {
        self.push(Chunk::Input { offset, len });
    }

    /// Appends new bytes.
    pub(super) fn push_data(&mut self, bytes: Vec<u8>) {
        self.push(Chunk::Data(bytes));
    }

    fn push(&mut self, c: Chunk) {
        let n = match &c {
            Chunk::Input { len, .. } => *len,
            Chunk::Data(d) => d.len() as u64,
            Chunk::Zeros(n) => *n,
        };
        if n == 0 {
            return;
        }
        self.size += n;
        self.chunks.push(c);
    }

    /// Pads with zeros up to a multiple of `align`.
    pub(super) fn pad_to(&mut self, align: u64) {
        if align > 1 {
            let rem = self.size % align;
            if rem != 0 {
                self.push(Chunk::Zeros(align - rem));
            }
        }
    }
}

/// A piece of a [`Layout`]'s output, for readers that need random access to it (the wire-size
/// meter in [`crate::shrink`] reads it in parallel chunks and recognises pieces shared by steps).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Piece<'a> {
    /// `len` bytes of the input from `offset`.
    Input {
        /// Where in the input.
        offset: u64,
        /// How many bytes.
        len: u64,
    },
    /// New bytes.
    Data(&'a [u8]),
    /// This many zero bytes.
    Zeros(u64),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every writer produces the same bytes, as long as the layout says.
    #[test]
    fn writers_agree() {
        let input: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        let mut l = Layout::new(Vec::new());
        let header = l.reserve(4);
        l.push_input(100, 50);
        l.push_input(7, 0);
        l.pad_to(16);
        l.push_data(b"new".to_vec());
        l.pad_to(8);
        l.push_input(9000, 1000);
        l.fill(header, b"HEAD".to_vec());
        assert_eq!(l.size(), 4 + 50 + 10 + 3 + 5 + 1000);
        let mut expected = b"HEAD".to_vec();
        expected.extend_from_slice(&input[100..150]);
        expected.extend_from_slice(&[0; 10]);
        expected.extend_from_slice(b"new");
        expected.extend_from_slice(&[0; 5]);
        expected.extend_from_slice(&input[9000..]);

        let mut a = Vec::new();
        l.write_to(&input, &mut a).unwrap();
        assert_eq!(a, expected);
        let mut b = Vec::new();
        l.write_from(&input[..], &mut b).unwrap();
        assert_eq!(b, expected);

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("in"), &input).unwrap();
        let src = File::open(dir.path().join("in")).unwrap();
        let out = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(dir.path().join("out"))
            .unwrap();
        l.copy_file(&src, &out).unwrap();
        assert_eq!(std::fs::read(dir.path().join("out")).unwrap(), expected);
        let mut c = Vec::new();
        l.write_from(&src, &mut c).unwrap();
        assert_eq!(c, expected);

        let total: u64 = l
            .pieces()
            .map(|p| match p {
                Piece::Input { len, .. } | Piece::Zeros(len) => len,
                Piece::Data(d) => d.len() as u64,
            })
            .sum();
        assert_eq!(total, l.size());
    }

    #[test]
    fn a_short_input_is_an_error_not_a_short_output() {
        let mut l = Layout::new(Vec::new());
        l.push_input(0, 100);
        let e = l.write_to(&[0u8; 10], Vec::new()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        let e = l.write_from(&[0u8; 10][..], Vec::new()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    }
}
