//! Phase 2: the copied prefix and the program headers.
//!
//! The output starts with a copy of the input's first bytes: the ELF header, the program
//! headers and, when stripping, every segment and allocated section. Kept non-allocated
//! sections that start inside that prefix stay there; the others are appended after it. The
//! program header table is rewritten by one function, [`patch_program_headers`], which sets
//! named fields only: stripping shortens the last segments' `p_filesz` over trailing zero
//! padding, the debug file empties the segments whose bytes it leaves out.

use goblin::elf::program_header::PT_LOAD;

use super::enc::{P_FILESZ, P_OFFSET};
use super::fate::Fate;
use super::{Input, StripRefusal};
use crate::elf::file::{has_file_bytes, has_segment_bytes, slice};
use crate::error::Result;

/// Where the copied prefix ends and which kept sections come after it.
pub(super) struct Prefix {
    /// The input bytes `0..end` are copied (patched by the overlays).
    pub(super) end: u64,
    /// Kept sections written after the prefix, in input offset order.
    pub(super) appended: Vec<usize>,
    /// `appended`, by section index.
    pub(super) is_appended: Vec<bool>,
    /// The program header table as rewritten, to overlay at `e_phoff`.
    pub(super) phdrs: Option<Vec<u8>>,
}

/// New values for one program header's fields; `None` leaves a field as it is.
#[derive(Debug, Clone, Copy, Default)]
struct SegmentEdit {
    /// `p_offset`.
    offset: Option<u64>,
    /// `p_filesz`.
    filesz: Option<u64>,
}

/// Where the ELF header and the program header table end; refuses program headers that share
/// bytes with the ELF header (rewriting one would change the other).
fn headers_end(input: &Input<'_, '_>) -> Result<u64> {
    let elf = input.elf;
    let ehsize = input.enc.ehdr_size() as u64;
    if !elf.phdrs.is_empty() && elf.header.e_phoff < ehsize {
        return Err(StripRefusal::OverlappingTables {
            at: elf.header.e_phoff,
        }
        .into());
    }
    let phend = elf.header.e_phoff + elf.phdrs.len() as u64 * u64::from(elf.header.e_phentsize);
    let end = ehsize.max(if elf.phdrs.is_empty() { 0 } else { phend });
    // The loader reads the interpreter path and the DT_NEEDED names from the file's bytes: in
    // a crafted file they can lie inside the headers strip rewrites (e_shoff, p_offset...),
    // and the rewrite would change them.
    let interp = elf
        .phdrs
        .iter()
        .filter(|ph| ph.p_type == goblin::elf::program_header::PT_INTERP && ph.p_filesz > 0)
        .map(|ph| ph.p_offset);
    let strtab = crate::elf::dynamic::dynamic_table(elf).and_then(|t| t.strtab_offset);
    if let Some(at) = interp.chain(strtab).find(|&off| off < end) {
        return Err(StripRefusal::OverlappingTables { at }.into());
    }
    Ok(end)
}

/// Kept sections with file bytes that are not copied with the prefix by construction, in input
/// offset order: non-allocated ones, and with `alloc` the allocated ones too.
fn movable(input: &Input<'_, '_>, fate: &[Fate], alloc: bool) -> Vec<usize> {
    let shdrs = &input.elf.shdrs;
    let mut by_offset: Vec<usize> = (1..input.n)
        .filter(|&i| {
            fate[i] == Fate::Keep
                && i != input.shstrndx
                && has_file_bytes(&shdrs[i])
                && (!input.is_alloc(i) || alloc)
        })
        .collect();
    by_offset.sort_by_key(|&i| (shdrs[i].sh_offset, i));
    by_offset
}

/// The prefix of a stripped file: headers, every segment, every allocated section and the
/// kept sections that start inside them; trailing zero padding of the last segments is cut.
pub(super) fn for_strip(input: &Input<'_, '_>, fate: &[Fate]) -> Result<Prefix> {
    let elf = input.elf;
    let headers_end = headers_end(input)?;
    let mut end = headers_end;
    for ph in &elf.phdrs {
        if has_segment_bytes(ph) {
            end = end.max(ph.p_offset.saturating_add(ph.p_filesz));
        }
    }
    for (i, sh) in elf.shdrs.iter().enumerate().skip(1) {
        if input.is_alloc(i) && has_file_bytes(sh) {
            end = end.max(sh.sh_offset.saturating_add(sh.sh_size));
        }
    }
    end = end.min(elf.file_len());

    // Kept non-allocated sections: in place when they start inside the prefix (extending it),
    // else appended in input order.
    let mut appended = Vec::new();
    let mut is_appended = vec![false; input.n];
    for i in movable(input, fate, false) {
        let sh = &elf.shdrs[i];
        if sh.sh_offset < end {
            end = end.max(sh.sh_offset.saturating_add(sh.sh_size));
        } else {
            appended.push(i);
            is_appended[i] = true;
        }
    }
    let mut prefix = Prefix {
        end,
        appended,
        is_appended,
        phdrs: None,
    };
    trim_zero_tail(input, fate, headers_end, &mut prefix);
    Ok(prefix)
}

/// Drops zero padding at the end of the last segment that no section covers by shortening the
/// segments' `p_filesz` (the kernel zero-fills up to `p_memsz`), as GNU strip does. Only
/// `PT_LOAD` segments that start before the padding are shortened; anything else leaves the
/// prefix as it is.
fn trim_zero_tail(input: &Input<'_, '_>, fate: &[Fate], headers_end: u64, prefix: &mut Prefix) {
    let elf = input.elf;
    let mut content_end = headers_end;
    for (i, sh) in elf.shdrs.iter().enumerate().skip(1) {
        let kept_here = fate[i] == Fate::Keep && !prefix.is_appended[i];
        if has_file_bytes(sh) && (input.is_alloc(i) || kept_here) && i != input.shstrndx {
            content_end = content_end.max(sh.sh_offset.saturating_add(sh.sh_size));
        }
    }
    if let Some(end) = input.shstr_end()
        && end <= prefix.end
    {
        content_end = content_end.max(end);
    }
    let crossing = |k: usize| {
        let ph = &elf.phdrs[k];
        has_segment_bytes(ph) && ph.p_offset.saturating_add(ph.p_filesz) > content_end
    };
    let tail_is_zero = content_end < prefix.end
        && slice(elf.data(), content_end, prefix.end - content_end)
            .is_some_and(|t| t.iter().all(|&b| b == 0));
    let trimmable = (0..elf.phdrs.len())
        .filter(|&k| crossing(k))
        .all(|k| elf.phdrs[k].p_type == PT_LOAD && elf.phdrs[k].p_offset <= content_end);
    if !(tail_is_zero && trimmable) {
        return;
    }
    let table = patch_program_headers(input, |k, ph| SegmentEdit {
        offset: None,
        filesz: crossing(k).then(|| content_end - ph.p_offset),
    });
    if let Some(table) = table {
        prefix.phdrs = Some(table);
        prefix.end = content_end;
    }
}

/// The prefix of a debug file: the headers only, every kept section appended, and the
/// segments beyond the headers emptied (`p_offset` and `p_filesz` 0): a debug file holds no
/// segment contents.
pub(super) fn for_debug_file(input: &Input<'_, '_>, fate: &[Fate]) -> Result<Prefix> {
    let end = headers_end(input)?.min(input.elf.file_len());
    let appended = movable(input, fate, true);
    let mut is_appended = vec![false; input.n];
    for &i in &appended {
        is_appended[i] = true;
    }
    let phdrs = patch_program_headers(input, |_, ph| {
        if ph.p_offset.saturating_add(ph.p_filesz) > end {
            SegmentEdit {
                offset: Some(0),
                filesz: Some(0),
            }
        } else {
            SegmentEdit::default()
        }
    });
    Ok(Prefix {
        end,
        appended,
        is_appended,
        phdrs,
    })
}

/// The program header table with `edit`'s fields set in each entry; `None` when the table is
/// not inside the file.
fn patch_program_headers(
    input: &Input<'_, '_>,
    edit: impl Fn(usize, &goblin::elf::ProgramHeader) -> SegmentEdit,
) -> Option<Vec<u8>> {
    let elf = input.elf;
    let entsize = usize::from(elf.header.e_phentsize);
    let table = slice(
        elf.data(),
        elf.header.e_phoff,
        (elf.phdrs.len() * entsize) as u64,
    )?;
    let mut table = table.to_vec();
    for (k, ph) in elf.phdrs.iter().enumerate() {
        let e = edit(k, ph);
        if let Some(filesz) = e.filesz {
            input.enc.set(&mut table, k * entsize, P_FILESZ, filesz);
        }
        if let Some(offset) = e.offset {
            input.enc.set(&mut table, k * entsize, P_OFFSET, offset);
        }
    }
    Some(table)
}
