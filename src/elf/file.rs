//! A bounds-checked view of one ELF image: header, program headers, section headers and names.
//!
//! goblin decodes the fixed-size structures; this module checks every count and offset against
//! the file length *before* anything is decoded or allocated, so a crafted header cannot make
//! binslim read out of bounds or reserve gigabytes. Everything else binslim knows about a file
//! is derived from an [`ElfFile`].

use std::borrow::Cow;

use goblin::container::{Container, Ctx, Endian};
use goblin::elf::header::{self, Header};
use goblin::elf::program_header::{PT_LOAD, PT_NULL, ProgramHeader};
use goblin::elf::section_header::{SHT_NOBITS, SHT_NULL, SectionHeader};

use crate::error::{Error, Result};
use crate::input::{Source, sniff};

/// `e_phnum` value that means "the real count is in section 0's `sh_info`".
const PN_XNUM: u16 = 0xffff;
/// `e_shstrndx` value that means "the real index is in section 0's `sh_link`".
const SHN_XINDEX: u16 = 0xffff;

/// Where an [`ElfFile`]'s bytes come from: all of them in memory, or a [`Source`] that reads
/// them as they are asked for. A copy outlives the borrow of the file ([`ElfFile::file_bytes`]).
#[derive(Clone, Copy)]
pub struct FileBytes<'a>(Repr<'a>);

#[derive(Clone, Copy)]
enum Repr<'a> {
    Whole(&'a [u8]),
    Lazy(&'a dyn Source),
}

impl<'a> FileBytes<'a> {
    fn len(self) -> u64 {
        match self.0 {
            Repr::Whole(d) => d.len() as u64,
            Repr::Lazy(s) => s.len(),
        }
    }

    /// `size` bytes from `offset`, or `None` past the end (as [`ElfFile::bytes_at`]).
    pub fn get(self, offset: u64, size: u64) -> Option<&'a [u8]> {
        match self.0 {
            Repr::Whole(d) => slice(d, offset, size),
            Repr::Lazy(s) => s.get(offset, size),
        }
    }
}

impl std::fmt::Debug for FileBytes<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.0 {
            Repr::Whole(_) => "Whole",
            Repr::Lazy(_) => "Lazy",
        };
        write!(f, "{kind}({} bytes)", self.len())
    }
}

/// A parsed, bounds-checked ELF image borrowed from its bytes.
#[derive(Debug)]
pub struct ElfFile<'a> {
    /// The file's bytes.
    bytes: FileBytes<'a>,
    /// The ELF header.
    pub header: Header,
    /// Class and byte order, for decoding further structures.
    pub ctx: Ctx,
    /// Program headers (empty for most relocatable objects).
    pub phdrs: Vec<ProgramHeader>,
    /// Section headers, including the null section at index 0; empty when the file has none.
    pub shdrs: Vec<SectionHeader>,
    /// Index of the section-name string table, when it is valid.
    pub shstrndx: Option<usize>,
    /// Oddities that did not stop the analysis.
    pub warnings: Vec<String>,
}

impl<'a> ElfFile<'a> {
    /// Parses the headers of `data`, checking every table against the file length.
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        sniff(data)?;
        Self::parse_from(FileBytes(Repr::Whole(data)), data)
    }

    /// Parses a file whose bytes `source` reads as they are asked for: this and every analysis
    /// of the result then read only the headers and sections they look at. A range the source
    /// cannot read looks like one past the end, so its owner must check it for a read error
    /// before trusting what was drawn from it.
    pub fn parse_lazy(source: &'a dyn Source) -> Result<Self> {
        let head = source.get(0, source.len().min(512)).unwrap_or_default();
        sniff(head)?;
        Self::parse_from(FileBytes(Repr::Lazy(source)), head)
    }

    /// [`ElfFile::parse`] after the sniff: `head` is the file's first bytes (all of them, or
    /// at least the ELF header's size).
    fn parse_from(bytes: FileBytes<'a>, head: &[u8]) -> Result<Self> {
        let len = bytes.len();
        if head.len() < header::SIZEOF_IDENT {
            return Err(truncated(
                "the ELF header",
                header::SIZEOF_IDENT as u64,
                len,
            ));
        }
        let container = match head[header::EI_CLASS] {
            header::ELFCLASS32 => Container::Little,
            header::ELFCLASS64 => Container::Big,
            c => return Err(Error::malformed(format!("unknown ELF class {c}"))),
        };
        let endian = match head[header::EI_DATA] {
            header::ELFDATA2LSB => Endian::Little,
            header::ELFDATA2MSB => Endian::Big,
            d => return Err(Error::malformed(format!("unknown ELF byte order {d}"))),
        };
        let ctx = Ctx::new(container, endian);
        let ehsize = if ctx.is_big() {
            header::header64::SIZEOF_EHDR
        } else {
            header::header32::SIZEOF_EHDR
        };
        if head.len() < ehsize {
            return Err(truncated("the ELF header", ehsize as u64, len));
        }
        let header =
            goblin::elf::Elf::parse_header(head).map_err(|e| Error::malformed(e.to_string()))?;
        let mut warnings = Vec::new();

        // Section headers first: section 0 may carry the real program header count.
        let (shdrs, shstrndx) = parse_sections(bytes, &header, ctx, &mut warnings)?;
        let phdrs = parse_segments(bytes, &header, ctx, shdrs.first())?;

        let file = ElfFile {
            bytes,
            header,
            ctx,
            phdrs,
            shdrs,
            shstrndx,
            warnings,
        };
        file.check_contents()?;
        Ok(file)
    }

    /// The file's length in bytes.
    pub fn file_len(&self) -> u64 {
        self.bytes.len()
    }

    /// The file's bytes, for readers that keep reading after this borrow of it ends.
    pub fn file_bytes(&self) -> FileBytes<'a> {
        self.bytes
    }

    /// `size` bytes of the file from `offset`, or `None` past its end.
    pub fn bytes_at(&self, offset: u64, size: u64) -> Option<&'a [u8]> {
        self.bytes.get(offset, size)
    }

    /// The whole file. For a file parsed with [`ElfFile::parse_lazy`] this reads all of it:
    /// for the steps that rewrite or hash a file, which parse it whole anyway.
    pub fn data(&self) -> &'a [u8] {
        self.bytes_at(0, self.file_len()).unwrap_or_default()
    }

    /// Reads an unsigned integer of `size` bytes (1, 2, 4 or 8) at file offset `offset`, in the
    /// file's byte order.
    pub fn uint_at(&self, offset: u64, size: usize) -> Option<u64> {
        let bytes = self.bytes_at(offset, size as u64)?;
        self.read_uint(bytes, 0, size)
    }

    /// True for 64-bit files.
    pub fn is_64(&self) -> bool {
        self.ctx.is_big()
    }

    /// True for little-endian files.
    pub fn is_little_endian(&self) -> bool {
        self.ctx.is_little_endian()
    }

    /// Every section's data must lie inside the file, and so must every loaded segment.
    fn check_contents(&self) -> Result<()> {
        let len = self.file_len();
        for (i, ph) in self.phdrs.iter().enumerate() {
            // A segment with no file bytes (a .bss-only LOAD) may name any offset: the kernel
            // reads nothing from the file for it, and strip tools leave such offsets past EOF.
            // An unused (PT_NULL) entry's other fields are undefined.
            if !has_segment_bytes(ph) {
                continue;
            }
            let end = ph.p_offset.checked_add(ph.p_filesz);
            match end {
                Some(end) if end <= len => {}
                // The kernel reads PT_INTERP and the loader PT_DYNAMIC from these bytes: a
                // segment whose bytes run past the end means a truncated file.
                Some(end) => {
                    let kind = goblin::elf::program_header::pt_to_str(ph.p_type);
                    let kind = kind.strip_prefix("PT_").unwrap_or(kind);
                    return Err(truncated(&format!("segment {i} ({kind})"), end, len));
                }
                None => {
                    return Err(Error::malformed(format!(
                        "segment {i} has an offset and size that overflow"
                    )));
                }
            }
        }
        for sh in self.shdrs.iter().skip(1) {
            if !has_file_bytes(sh) {
                continue;
            }
            match sh.sh_offset.checked_add(sh.sh_size) {
                Some(end) if end <= len => {}
                Some(end) => {
                    return Err(truncated(&format!("section '{}'", self.name(sh)), end, len));
                }
                None => {
                    return Err(Error::malformed(format!(
                        "section '{}' has an offset and size that overflow",
                        self.name(sh)
                    )));
                }
            }
        }
        Ok(())
    }

    /// The name of a section, or `""` when the name table is missing or the offset is bad.
    pub fn name(&self, sh: &SectionHeader) -> Cow<'a, str> {
        String::from_utf8_lossy(self.name_bytes(sh))
    }

    /// The raw bytes of a section's name (empty when unknown).
    pub fn name_bytes(&self, sh: &SectionHeader) -> &'a [u8] {
        let Some(idx) = self.shstrndx else {
            return &[];
        };
        let table = self.section_data(&self.shdrs[idx]);
        cstr_at(table, sh.sh_name).unwrap_or_default()
    }

    /// The file bytes of a section (empty for `SHT_NOBITS` and `SHT_NULL`). Bounds were checked
    /// at parse time.
    pub fn section_data(&self, sh: &SectionHeader) -> &'a [u8] {
        if !has_file_bytes(sh) {
            return &[];
        }
        self.bytes_at(sh.sh_offset, sh.sh_size).unwrap_or_default()
    }

    /// The first section called `name`.
    pub fn section_by_name(&self, name: &str) -> Option<&SectionHeader> {
        // Compare in place: no NUL search per section (this runs for every file of a walk).
        let table = self.section_data(&self.shdrs[self.shstrndx?]);
        let want = name.as_bytes();
        // Its last byte first: names share their first bytes (`.` and a few prefixes), and a
        // one-byte test settles most sections without a call to compare the rest.
        let last = want.len().checked_sub(1).map(|i| (i, want[i]));
        self.shdrs.iter().skip(1).find(|sh| {
            table.get(sh.sh_name..).is_some_and(|rest| {
                last.is_none_or(|(i, b)| rest.get(i) == Some(&b))
                    && rest.starts_with(want)
                    && rest.get(want.len()).is_none_or(|&b| b == 0)
            })
        })
    }

    /// The file bytes of a segment. Bounds were checked at parse time for loaded segments;
    /// other segments that run past the end are cut at the end of the file.
    pub fn segment_data(&self, ph: &ProgramHeader) -> &'a [u8] {
        let len = self.file_len();
        let start = ph.p_offset.min(len);
        let end = ph.p_offset.saturating_add(ph.p_filesz).min(len);
        self.bytes_at(start, end - start).unwrap_or_default()
    }

    /// Translates a virtual address into a file offset through the loaded segments.
    pub fn vaddr_to_offset(&self, addr: u64) -> Option<u64> {
        self.phdrs
            .iter()
            .filter(|ph| ph.p_type == PT_LOAD)
            .find(|ph| addr >= ph.p_vaddr && addr - ph.p_vaddr < ph.p_filesz)
            .map(|ph| ph.p_offset + (addr - ph.p_vaddr))
    }

    /// Reads an unsigned integer of `size` bytes (1, 2, 4 or 8) in the file's byte order.
    pub fn read_uint(&self, bytes: &[u8], at: usize, size: usize) -> Option<u64> {
        read_uint(bytes, at, size, self.is_little_endian())
    }

    /// Reads a target-sized word (4 or 8 bytes) in the file's byte order.
    pub fn read_word(&self, bytes: &[u8], at: usize) -> Option<u64> {
        self.read_uint(bytes, at, if self.is_64() { 8 } else { 4 })
    }
}

fn parse_sections(
    bytes: FileBytes<'_>,
    header: &Header,
    ctx: Ctx,
    warnings: &mut Vec<String>,
) -> Result<(Vec<SectionHeader>, Option<usize>)> {
    let len = bytes.len();
    if header.e_shoff == 0 {
        return Ok((Vec::new(), None));
    }
    let entsize = SectionHeader::size(ctx) as u64;
    if u64::from(header.e_shentsize) != entsize {
        return Err(Error::malformed(format!(
            "section header entry size is {}, expected {entsize}",
            header.e_shentsize
        )));
    }
    let table_end = |count: u64| {
        count
            .checked_mul(entsize)
            .and_then(|n| n.checked_add(header.e_shoff))
            .unwrap_or(u64::MAX)
    };
    // With e_shnum set, the whole table's end is known before anything is read; with 0 the
    // count is in section 0, which must be readable first.
    let first_end = table_end(u64::from(header.e_shnum).max(1));
    if first_end > len {
        return Err(truncated("section headers", first_end, len));
    }
    let first = bytes
        .get(header.e_shoff, entsize)
        .and_then(|e| decode_section_header(e, 0, ctx))
        .ok_or_else(|| truncated("section headers", first_end, len))?;
    let count = match header.e_shnum {
        0 => first.sh_size,
        n => u64::from(n),
    };
    let end = table_end(count);
    if end > len {
        return Err(truncated("section headers", end, len));
    }
    // A count of 0 still decodes section 0 (see `decode_section_headers`).
    let shdrs = bytes
        .get(header.e_shoff, table_end(count.max(1)) - header.e_shoff)
        .and_then(|table| decode_section_headers(table, 0, count as usize, ctx))
        .ok_or_else(|| truncated("section headers", end, len))?;
    let strndx = match header.e_shstrndx {
        SHN_XINDEX => first.sh_link as usize,
        n => usize::from(n),
    };
    let shstrndx = if strndx == 0 {
        None
    } else if strndx >= shdrs.len() {
        warnings.push(format!(
            "section name table index {strndx} is out of range ({} sections): names unknown",
            shdrs.len()
        ));
        None
    } else {
        Some(strndx)
    };
    Ok((shdrs, shstrndx))
}

fn parse_segments(
    bytes: FileBytes<'_>,
    header: &Header,
    ctx: Ctx,
    section0: Option<&SectionHeader>,
) -> Result<Vec<ProgramHeader>> {
    let len = bytes.len();
    let count = match (header.e_phnum, section0) {
        (PN_XNUM, Some(s0)) => u64::from(s0.sh_info),
        (n, _) => u64::from(n),
    };
    if count == 0 || header.e_phoff == 0 {
        return Ok(Vec::new());
    }
    let entsize = ProgramHeader::size(ctx) as u64;
    if u64::from(header.e_phentsize) != entsize {
        return Err(Error::malformed(format!(
            "program header entry size is {}, expected {entsize}",
            header.e_phentsize
        )));
    }
    let end = count
        .checked_mul(entsize)
        .and_then(|n| n.checked_add(header.e_phoff))
        .unwrap_or(u64::MAX);
    if end > len {
        return Err(truncated("program headers", end, len));
    }
    bytes
        .get(header.e_phoff, end - header.e_phoff)
        .and_then(|table| decode_program_headers(table, 0, count as usize, ctx))
        .ok_or_else(|| truncated("program headers", end, len))
}

/// Decodes `count` section headers at `offset` as goblin's `SectionHeader::parse` does (a count
/// of 0 gives the first entry alone), field by field from the bytes: one bounds check per
/// entry and no per-field `Result` (a walk decodes tens of thousands). `None` when the table
/// runs past the end of `data` (callers check that first).
fn decode_section_headers(
    data: &[u8],
    offset: usize,
    count: usize,
    ctx: Ctx,
) -> Option<Vec<SectionHeader>> {
    let size = SectionHeader::size(ctx);
    let table = data.get(offset..offset.checked_add(size.checked_mul(count.max(1))?)?)?;
    let f = Fields::new(ctx);
    if f.is_64 && f.little {
        // Nearly every file: one fixed layout, decoded without a test per field.
        // Sized first: `filter_map` gives `collect` no length, and the vector would grow by
        // doubling.
        let mut out = Vec::with_capacity(count.max(1));
        out.extend(
            table
                .chunks_exact(size)
                .filter_map(|e| <&[u8; 64]>::try_from(e).ok().map(section_header_64_le)),
        );
        return Some(out);
    }
    Some(
        table
            .chunks_exact(size)
            .map(|e| f.section_header(e))
            .collect(),
    )
}

/// One ELF64 little-endian section header (what [`Fields::section_header`] gives for it).
fn section_header_64_le(e: &[u8; 64]) -> SectionHeader {
    let u32_at = |o: usize| u32::from_le_bytes([e[o], e[o + 1], e[o + 2], e[o + 3]]);
    let u64_at = |o: usize| {
        u64::from_le_bytes([
            e[o],
            e[o + 1],
            e[o + 2],
            e[o + 3],
            e[o + 4],
            e[o + 5],
            e[o + 6],
            e[o + 7],
        ])
    };
    SectionHeader {
        sh_name: u32_at(0) as usize,
        sh_type: u32_at(4),
        sh_flags: u64_at(8),
        sh_addr: u64_at(16),
        sh_offset: u64_at(24),
        sh_size: u64_at(32),
        sh_link: u32_at(40),
        sh_info: u32_at(44),
        sh_addralign: u64_at(48),
        sh_entsize: u64_at(56),
    }
}

/// One section header at `at` (see [`decode_section_headers`]).
fn decode_section_header(data: &[u8], at: usize, ctx: Ctx) -> Option<SectionHeader> {
    let size = SectionHeader::size(ctx);
    let e = data.get(at..at.checked_add(size)?)?;
    Some(Fields::new(ctx).section_header(e))
}

/// Decodes `count` program headers at `offset` as goblin's `ProgramHeader::parse` does (see
/// [`decode_section_headers`]).
fn decode_program_headers(
    data: &[u8],
    offset: usize,
    count: usize,
    ctx: Ctx,
) -> Option<Vec<ProgramHeader>> {
    let size = ProgramHeader::size(ctx);
    let table = data.get(offset..offset.checked_add(size.checked_mul(count)?)?)?;
    let f = Fields::new(ctx);
    Some(
        table
            .chunks_exact(size)
            .map(|e| f.program_header(e))
            .collect(),
    )
}

/// Reads the fields of one table entry (a slice exactly as long as the entry) in the file's
/// class and byte order.
#[derive(Clone, Copy)]
struct Fields {
    is_64: bool,
    little: bool,
}

impl Fields {
    fn new(ctx: Ctx) -> Self {
        Fields {
            is_64: ctx.is_big(),
            little: ctx.is_little_endian(),
        }
    }

    /// The 4 bytes at `o` (0 past the end, which the callers' entry sizes rule out).
    fn u32(self, e: &[u8], o: usize) -> u32 {
        let b: [u8; 4] = e
            .get(o..o + 4)
            .and_then(|b| b.try_into().ok())
            .unwrap_or_default();
        if self.little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    }

    /// The 8 bytes at `o` (as [`Fields::u32`]).
    fn u64(self, e: &[u8], o: usize) -> u64 {
        let b: [u8; 8] = e
            .get(o..o + 8)
            .and_then(|b| b.try_into().ok())
            .unwrap_or_default();
        if self.little {
            u64::from_le_bytes(b)
        } else {
            u64::from_be_bytes(b)
        }
    }

    /// An address-sized field: 8 bytes at `o64` in ELF64, 4 bytes at `o32` in ELF32.
    fn word(self, e: &[u8], o64: usize, o32: usize) -> u64 {
        if self.is_64 {
            self.u64(e, o64)
        } else {
            u64::from(self.u32(e, o32))
        }
    }

    fn section_header(self, e: &[u8]) -> SectionHeader {
        let w = |o64, o32| self.word(e, o64, o32);
        let (link, info) = if self.is_64 { (40, 44) } else { (24, 28) };
        SectionHeader {
            sh_name: self.u32(e, 0) as usize,
            sh_type: self.u32(e, 4),
            sh_flags: w(8, 8),
            sh_addr: w(16, 12),
            sh_offset: w(24, 16),
            sh_size: w(32, 20),
            sh_link: self.u32(e, link),
            sh_info: self.u32(e, info),
            sh_addralign: w(48, 32),
            sh_entsize: w(56, 36),
        }
    }

    fn program_header(self, e: &[u8]) -> ProgramHeader {
        let w = |o64, o32| self.word(e, o64, o32);
        ProgramHeader {
            p_type: self.u32(e, 0),
            p_flags: self.u32(e, if self.is_64 { 4 } else { 24 }),
            p_offset: w(8, 4),
            p_vaddr: w(16, 8),
            p_paddr: w(24, 12),
            p_filesz: w(32, 16),
            p_memsz: w(40, 20),
            p_align: w(48, 28),
        }
    }
}

fn truncated(what: &str, end: u64, len: u64) -> Error {
    Error::Truncated {
        what: what.to_string(),
        end,
        len,
    }
}

/// False for sections whose offset and size say nothing about the file: `SHT_NOBITS` (memory
/// only) and `SHT_NULL` (inactive; the ELF specification leaves its other fields undefined, so
/// they are neither checked against the file length nor read).
pub fn has_file_bytes(sh: &SectionHeader) -> bool {
    !matches!(sh.sh_type, SHT_NOBITS | SHT_NULL)
}

/// False for program headers that name no file bytes: an empty segment, or an unused
/// (`PT_NULL`) entry, whose other fields the ELF specification leaves undefined.
pub fn has_segment_bytes(ph: &ProgramHeader) -> bool {
    ph.p_type != PT_NULL && ph.p_filesz > 0
}

/// `bytes[offset..offset + size]`, or `None` when that is out of bounds.
pub fn slice(bytes: &[u8], offset: u64, size: u64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(usize::try_from(size).ok()?)?;
    bytes.get(start..end)
}

/// `bytes` as text, as `String::from_utf8_lossy` gives it, but checked by `str::from_utf8`
/// first: valid UTF-8, the common case, then costs one fast check and a copy.
pub fn lossy_string(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// The NUL-terminated string at `offset` in `table` (without the NUL). A string that runs to the
/// end of the table without a NUL is returned whole.
pub fn cstr_at(table: &[u8], offset: usize) -> Option<&[u8]> {
    let rest = table.get(offset..)?;
    let end = memchr::memchr(0, rest).unwrap_or(rest.len());
    Some(&rest[..end])
}

/// Reads an unsigned integer of `size` bytes (1, 2, 4 or 8) at `at`.
pub fn read_uint(bytes: &[u8], at: usize, size: usize, little: bool) -> Option<u64> {
    let b = bytes.get(at..at.checked_add(size)?)?;
    let mut v: u64 = 0;
    if little {
        for &x in b.iter().rev() {
            v = (v << 8) | u64::from(x);
        }
    } else {
        for &x in b {
            v = (v << 8) | u64::from(x);
        }
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_uint_honours_byte_order() {
        let b = [1, 2, 3, 4];
        assert_eq!(read_uint(&b, 0, 4, true), Some(0x0403_0201));
        assert_eq!(read_uint(&b, 0, 4, false), Some(0x0102_0304));
        assert_eq!(read_uint(&b, 2, 4, true), None);
        assert_eq!(read_uint(&b, usize::MAX, 4, true), None);
    }

    /// Every ELF file under `testdata/`, with its path.
    fn elf_fixtures() -> Vec<(std::path::PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut dirs = vec![std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata")];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let e = e.unwrap();
                let ft = e.file_type().unwrap();
                if ft.is_dir() {
                    dirs.push(e.path());
                } else if ft.is_file() {
                    let data = std::fs::read(e.path()).unwrap();
                    if data.starts_with(b"\x7fELF") {
                        out.push((e.path(), data));
                    }
                }
            }
        }
        out
    }

    /// The header tables binslim decodes itself are what goblin decodes, on every committed
    /// fixture (32- and 64-bit).
    #[test]
    fn header_tables_agree_with_goblin_on_every_fixture() {
        let fixtures = elf_fixtures();
        assert!(fixtures.len() > 30, "{} ELF fixtures", fixtures.len());
        let mut classes = std::collections::BTreeSet::new();
        for (path, data) in &fixtures {
            let Ok(elf) = ElfFile::parse(data) else {
                continue;
            };
            classes.insert(elf.is_64());
            let h = &elf.header;
            let phdrs =
                ProgramHeader::parse(data, h.e_phoff as usize, elf.phdrs.len(), elf.ctx).unwrap();
            assert_eq!(elf.phdrs, phdrs, "{}", path.display());
            if !elf.shdrs.is_empty() {
                let shdrs =
                    SectionHeader::parse(data, h.e_shoff as usize, elf.shdrs.len(), elf.ctx)
                        .unwrap();
                assert!(elf.shdrs == shdrs, "{}", path.display());
            }
        }
        assert_eq!(classes.len(), 2, "both classes among the fixtures");
    }

    /// Both classes in both byte orders: tables written by goblin decode to what was written
    /// (the fixtures are all little-endian).
    #[test]
    fn header_tables_decode_in_every_class_and_byte_order() {
        use scroll::Pwrite;
        for container in [Container::Little, Container::Big] {
            for endian in [Endian::Little, Endian::Big] {
                let ctx = Ctx::new(container, endian);
                let shdrs: Vec<SectionHeader> = (0..3u64)
                    .map(|i| SectionHeader {
                        sh_name: 0x0102_0304 + i as usize,
                        sh_type: 0x1112_1314,
                        sh_flags: 0x2122_2324 + i,
                        sh_addr: 0x3132_3334,
                        sh_offset: 0x4142_4344,
                        sh_size: 0x5152_5354,
                        sh_link: 0x6162_6364,
                        sh_info: 0x7172_7374,
                        sh_addralign: 0x0a0b_0c0d,
                        sh_entsize: 0x1a1b_1c1d,
                    })
                    .collect();
                let phdrs: Vec<ProgramHeader> = (0..3u64)
                    .map(|i| ProgramHeader {
                        p_type: 0x0102_0304,
                        p_flags: 0x1112_1314,
                        p_offset: 0x2122_2324 + i,
                        p_vaddr: 0x3132_3334,
                        p_paddr: 0x4142_4344,
                        p_filesz: 0x5152_5354,
                        p_memsz: 0x6162_6364,
                        p_align: 0x7172_7374,
                    })
                    .collect();
                let (ss, ps) = (SectionHeader::size(ctx), ProgramHeader::size(ctx));
                // Tables start one byte in: no alignment is assumed.
                let mut buf = vec![0u8; 1 + 3 * ss + 3 * ps];
                for (i, sh) in shdrs.iter().enumerate() {
                    buf.pwrite_with(sh.clone(), 1 + i * ss, ctx).unwrap();
                }
                for (i, ph) in phdrs.iter().enumerate() {
                    buf.pwrite_with(ph.clone(), 1 + 3 * ss + i * ps, ctx)
                        .unwrap();
                }
                let what = format!("{container:?} {endian:?}");
                assert!(
                    decode_section_headers(&buf, 1, 3, ctx).unwrap() == shdrs,
                    "{what}"
                );
                assert!(
                    decode_section_header(&buf, 1 + ss, ctx).unwrap() == shdrs[1],
                    "{what}"
                );
                // A count of 0 gives the first entry, as goblin's does.
                assert!(
                    decode_section_headers(&buf, 1, 0, ctx).unwrap() == shdrs[..1],
                    "{what}"
                );
                let got = decode_program_headers(&buf, 1 + 3 * ss, 3, ctx).unwrap();
                assert_eq!(got, phdrs, "{what}");
                // Past the end: nothing.
                let sections = &buf[..1 + 3 * ss];
                assert!(
                    decode_section_headers(sections, 1, 4, ctx).is_none(),
                    "{what}"
                );
                assert!(
                    decode_section_header(sections, 1 + 3 * ss, ctx).is_none(),
                    "{what}"
                );
                assert!(
                    decode_program_headers(&buf, 1 + 3 * ss, 4, ctx).is_none(),
                    "{what}"
                );
            }
        }
    }

    #[test]
    fn lossy_strings_are_what_from_utf8_lossy_gives() {
        for b in [
            &b""[..],
            b"libc.so.6",
            b"caf\xc3\xa9",
            b"bad\xff\xfe!",
            b"\xc3",
        ] {
            assert_eq!(lossy_string(b), String::from_utf8_lossy(b), "{b:?}");
        }
    }

    #[test]
    fn cstr_at_stops_at_nul_and_end() {
        assert_eq!(cstr_at(b"\0abc\0de", 1), Some(&b"abc"[..]));
        assert_eq!(cstr_at(b"\0abc\0de", 5), Some(&b"de"[..]));
        assert_eq!(cstr_at(b"ab", 3), None);
    }
}
