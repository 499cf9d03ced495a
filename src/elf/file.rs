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
use crate::input::sniff;

/// `e_phnum` value that means "the real count is in section 0's `sh_info`".
const PN_XNUM: u16 = 0xffff;
/// `e_shstrndx` value that means "the real index is in section 0's `sh_link`".
const SHN_XINDEX: u16 = 0xffff;

/// A parsed, bounds-checked ELF image borrowed from its bytes.
#[derive(Debug)]
pub struct ElfFile<'a> {
    /// The whole file.
    pub data: &'a [u8],
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
        let len = data.len() as u64;
        if data.len() < header::SIZEOF_IDENT {
            return Err(truncated(
                "the ELF header",
                header::SIZEOF_IDENT as u64,
                len,
            ));
        }
        let container = match data[header::EI_CLASS] {
            header::ELFCLASS32 => Container::Little,
            header::ELFCLASS64 => Container::Big,
            c => return Err(Error::malformed(format!("unknown ELF class {c}"))),
        };
        let endian = match data[header::EI_DATA] {
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
        if data.len() < ehsize {
            return Err(truncated("the ELF header", ehsize as u64, len));
        }
        let header =
            goblin::elf::Elf::parse_header(data).map_err(|e| Error::malformed(e.to_string()))?;
        let mut warnings = Vec::new();

        // Section headers first: section 0 may carry the real program header count.
        let (shdrs, shstrndx) = parse_sections(data, &header, ctx, &mut warnings)?;
        let phdrs = parse_segments(data, &header, ctx, shdrs.first())?;

        let file = ElfFile {
            data,
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
        let len = self.data.len() as u64;
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
        slice(self.data, sh.sh_offset, sh.sh_size).unwrap_or_default()
    }

    /// The first section called `name`.
    pub fn section_by_name(&self, name: &str) -> Option<&SectionHeader> {
        // Compare in place: no NUL search per section (this runs for every file of a walk).
        let table = self.section_data(&self.shdrs[self.shstrndx?]);
        let want = name.as_bytes();
        self.shdrs.iter().skip(1).find(|sh| {
            table.get(sh.sh_name..).is_some_and(|rest| {
                rest.starts_with(want) && rest.get(want.len()).is_none_or(|&b| b == 0)
            })
        })
    }

    /// The file bytes of a segment. Bounds were checked at parse time for loaded segments;
    /// other segments that run past the end are cut at the end of the file.
    pub fn segment_data(&self, ph: &ProgramHeader) -> &'a [u8] {
        let start = (ph.p_offset as usize).min(self.data.len());
        let end = (ph.p_offset.saturating_add(ph.p_filesz) as usize).min(self.data.len());
        &self.data[start..end]
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
    data: &[u8],
    header: &Header,
    ctx: Ctx,
    warnings: &mut Vec<String>,
) -> Result<(Vec<SectionHeader>, Option<usize>)> {
    let len = data.len() as u64;
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
    let first = SectionHeader::parse(data, header.e_shoff as usize, 1, ctx)
        .map_err(|e| Error::malformed(e.to_string()))?
        .remove(0);
    let count = match header.e_shnum {
        0 => first.sh_size,
        n => u64::from(n),
    };
    let end = table_end(count);
    if end > len {
        return Err(truncated("section headers", end, len));
    }
    let shdrs = SectionHeader::parse(data, header.e_shoff as usize, count as usize, ctx)
        .map_err(|e| Error::malformed(e.to_string()))?;
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
    data: &[u8],
    header: &Header,
    ctx: Ctx,
    section0: Option<&SectionHeader>,
) -> Result<Vec<ProgramHeader>> {
    let len = data.len() as u64;
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
    ProgramHeader::parse(data, header.e_phoff as usize, count as usize, ctx)
        .map_err(|e| Error::malformed(e.to_string()))
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

    #[test]
    fn cstr_at_stops_at_nul_and_end() {
        assert_eq!(cstr_at(b"\0abc\0de", 1), Some(&b"abc"[..]));
        assert_eq!(cstr_at(b"\0abc\0de", 5), Some(&b"de"[..]));
        assert_eq!(cstr_at(b"ab", 3), None);
    }
}
