//! Phase 5: laying out the output from what the earlier phases decided.
//!
//! In order: the ELF header (reserved, written last), the copied prefix with the rewritten
//! program headers and symbol tables laid over it, the appended sections, an added
//! `.gnu_debuglink`, a new `.shstrtab`, the section header table and finally the ELF header's
//! section table fields.

use goblin::elf::section_header::{SHT_NOBITS, SHT_NULL, SHT_PROGBITS};

use super::enc::{E_SHNUM, E_SHOFF, E_SHSTRNDX, Shdr};
use super::fate::{Fate, Numbering, info_is_section};
use super::segments::Prefix;
use super::shstrtab::SectionNames;
use super::symbols::Rewritten;
use super::{
    DebugLink, Input, Layout, MAX_APPENDED_ALIGN, PN_XNUM, RemovedSection, SHN_LORESERVE,
    SHN_XINDEX, StripRefusal,
};
use crate::error::Result;

/// Everything decided about the output before it is laid out.
pub(super) struct Plan<'p> {
    /// Each input section's fate.
    pub(super) fate: Vec<Fate>,
    /// The output's section numbers.
    pub(super) numbering: Numbering,
    /// The copied prefix and the appended sections.
    pub(super) prefix: Prefix,
    /// The section name table.
    pub(super) names: SectionNames,
    /// A `.gnu_debuglink` section to add.
    pub(super) debuglink: Option<&'p DebugLink>,
}

/// Where each kept section lands in the output.
struct Placement {
    /// Each input section's new `sh_offset`.
    offset: Vec<u64>,
    /// Each input section's new `sh_size`.
    size: Vec<u64>,
    /// The added `.gnu_debuglink` section: (offset, size).
    debuglink: Option<(u64, u64)>,
}

/// Lays out the output of `plan`, with the symbol tables as `symbols` rewrote them.
pub(super) fn lay_out(
    input: &Input<'_, '_>,
    plan: &Plan<'_>,
    symbols: Rewritten,
) -> Result<Layout> {
    let mut out = Layout::new(removed_sections(input, &plan.fate));
    // The ELF header is patched after the section header table's place is known; reserve it.
    let ehsize = input.enc.ehdr_size() as u64;
    let header = out.reserve(ehsize);
    let mut overlays: Vec<(u64, Vec<u8>)> = Vec::new();
    if let Some(table) = &plan.prefix.phdrs {
        overlays.push((input.elf.header.e_phoff, table.clone()));
    }
    overlays.extend(symbols.overlays);
    copy_prefix(&mut out, ehsize, plan.prefix.end, overlays)?;
    let place = place_sections(&mut out, input, plan, &symbols.appended);
    out.pad_to(input.enc.word() as u64);
    let shoff = out.size();
    out.push_data(section_header_table(input, plan, &place));
    out.fill(header, elf_header(input, plan, shoff));
    Ok(out)
}

/// The sections `fate` removes, in input order.
fn removed_sections(input: &Input<'_, '_>, fate: &[Fate]) -> Vec<RemovedSection> {
    (1..input.n)
        .filter_map(|i| match fate[i] {
            Fate::Drop(class) => {
                let sh = &input.elf.shdrs[i];
                Some(RemovedSection {
                    name: input.names[i].clone(),
                    size: if sh.sh_type == SHT_NOBITS {
                        0
                    } else {
                        sh.sh_size
                    },
                    class,
                })
            }
            _ => None,
        })
        .collect()
}

/// Copies the input from the end of the ELF header to `prefix_end`, with each overlay
/// (offset, bytes) in place of the input bytes under it.
fn copy_prefix(
    out: &mut Layout,
    ehsize: u64,
    prefix_end: u64,
    mut overlays: Vec<(u64, Vec<u8>)>,
) -> Result<()> {
    overlays.sort_by_key(|o| o.0);
    let mut pos = ehsize;
    for (off, bytes) in overlays {
        // A patched table that starts inside the ELF header or inside another patched table
        // (crafted files overlap the program headers with the ELF header) cannot be rewritten
        // without one patch undoing the other.
        if off < pos {
            return Err(StripRefusal::OverlappingTables { at: off }.into());
        }
        out.push_input(pos, off - pos);
        pos = off + bytes.len() as u64;
        out.push_data(bytes);
    }
    if prefix_end > pos {
        out.push_input(pos, prefix_end - pos);
    }
    Ok(())
}

/// Places the kept sections: in the prefix where they are, the appended ones after it (with
/// the rewritten symbol tables in `rewritten`), then an added `.gnu_debuglink` and a new
/// `.shstrtab`.
fn place_sections(
    out: &mut Layout,
    input: &Input<'_, '_>,
    plan: &Plan<'_>,
    rewritten: &[(usize, Vec<u8>)],
) -> Placement {
    let (shdrs, fate, prefix) = (&input.elf.shdrs, &plan.fate, &plan.prefix);
    let mut offset = vec![0u64; input.n];
    let mut size: Vec<u64> = shdrs.iter().map(|s| s.sh_size).collect();
    for i in 1..input.n {
        if fate[i] == Fate::Keep && shdrs[i].sh_offset < prefix.end && !prefix.is_appended[i] {
            offset[i] = shdrs[i].sh_offset;
        }
    }
    let len = input.elf.file_len();
    for &i in &prefix.appended {
        let sh = &shdrs[i];
        // Non-loaded sections need no more than a page of alignment; a crafted `sh_addralign`
        // must not make binslim write gigabytes of padding.
        out.pad_to(sh.sh_addralign.clamp(1, MAX_APPENDED_ALIGN));
        offset[i] = out.size();
        if let Some((_, bytes)) = rewritten.iter().find(|(j, _)| *j == i) {
            size[i] = bytes.len() as u64;
            out.push_data(bytes.clone());
        } else {
            out.push_input(
                sh.sh_offset,
                sh.sh_size.min(len.saturating_sub(sh.sh_offset)),
            );
        }
    }
    // NOBITS sections keep their (meaningless) offsets clamped to the file.
    for i in 1..input.n {
        if fate[i] == Fate::NoBits {
            offset[i] = out.size();
        } else if shdrs[i].sh_type == SHT_NOBITS {
            offset[i] = shdrs[i].sh_offset.min(prefix.end);
        }
    }
    let debuglink = plan.debuglink.map(|dl| {
        let data = debuglink_contents(input, dl);
        out.pad_to(4);
        let at = out.size();
        let len = data.len() as u64;
        out.push_data(data);
        (at, len)
    });
    let shstrndx = input.shstrndx;
    if plan.names.reused {
        offset[shstrndx] = shdrs[shstrndx].sh_offset;
    } else {
        offset[shstrndx] = out.size();
        size[shstrndx] = plan.names.table.len() as u64;
        out.push_data(plan.names.table.clone());
    }
    Placement {
        offset,
        size,
        debuglink,
    }
}

/// A `.gnu_debuglink` section's contents: the file name, NUL, padding to 4, the CRC-32.
fn debuglink_contents(input: &Input<'_, '_>, dl: &DebugLink) -> Vec<u8> {
    let mut data = dl.name.as_bytes().to_vec();
    data.push(0);
    while !data.len().is_multiple_of(4) {
        data.push(0);
    }
    input.enc.put(&mut data, u64::from(dl.crc), 4);
    data
}

/// How many sections the output has, and the section name table's new index.
fn counts(plan: &Plan<'_>, input: &Input<'_, '_>) -> (u64, u64) {
    let count = u64::from(plan.numbering.count()) + u64::from(plan.debuglink.is_some());
    (count, u64::from(plan.numbering.index(input.shstrndx)))
}

/// The section header table: section 0, the kept sections, an added `.gnu_debuglink`.
fn section_header_table(input: &Input<'_, '_>, plan: &Plan<'_>, place: &Placement) -> Vec<u8> {
    let (enc, shdrs) = (input.enc, &input.elf.shdrs);
    let (count, new_shstrndx) = counts(plan, input);
    let mut table = Vec::with_capacity(count as usize * enc.shdr_size());
    enc.shdr(
        &mut table,
        &Shdr {
            name: 0,
            sh_type: SHT_NULL,
            flags: 0,
            addr: 0,
            offset: 0,
            // e_shnum and e_shstrndx escape here when they do not fit the ELF header.
            size: if count >= u64::from(SHN_LORESERVE) {
                count
            } else {
                0
            },
            link: if new_shstrndx >= u64::from(SHN_LORESERVE) {
                new_shstrndx as u32
            } else {
                0
            },
            // sh_info carries the program header count when e_phnum is PN_XNUM.
            info: if input.elf.header.e_phnum == PN_XNUM {
                shdrs[0].sh_info
            } else {
                0
            },
            addralign: 0,
            entsize: 0,
        },
    );
    for (i, sh) in shdrs.iter().enumerate().skip(1) {
        if !plan.fate[i].is_kept() {
            continue;
        }
        let remap = |old| plan.numbering.remap(old);
        // An allocated section linking a removed one (.rela.plt → .symtab) loses the link.
        let link = remap(sh.sh_link).unwrap_or_default();
        let info = if info_is_section(sh) {
            remap(sh.sh_info).unwrap_or(0)
        } else {
            sh.sh_info
        };
        let nobits = plan.fate[i] == Fate::NoBits;
        enc.shdr(
            &mut table,
            &Shdr {
                name: plan.names.name_off[i],
                sh_type: if nobits { SHT_NOBITS } else { sh.sh_type },
                flags: sh.sh_flags,
                addr: sh.sh_addr,
                offset: place.offset[i],
                size: place.size[i],
                link,
                info,
                addralign: sh.sh_addralign,
                entsize: sh.sh_entsize,
            },
        );
    }
    if let Some((offset, size)) = place.debuglink {
        enc.shdr(
            &mut table,
            &Shdr {
                name: plan.names.debuglink_name,
                sh_type: SHT_PROGBITS,
                flags: 0,
                addr: 0,
                offset,
                size,
                link: 0,
                info: 0,
                addralign: 4,
                entsize: 0,
            },
        );
    }
    table
}

/// The input's ELF header with the section table fields set: `e_shoff` to `shoff`, `e_shnum`
/// and `e_shstrndx` to the new values or, when they do not fit, to 0 and `SHN_XINDEX` (section
/// 0 holds them).
fn elf_header(input: &Input<'_, '_>, plan: &Plan<'_>, shoff: u64) -> Vec<u8> {
    let enc = input.enc;
    let (count, new_shstrndx) = counts(plan, input);
    let mut ehdr = input.elf.data()[..enc.ehdr_size()].to_vec();
    enc.set(&mut ehdr, 0, E_SHOFF, shoff);
    let shnum = if count >= u64::from(SHN_LORESERVE) {
        0
    } else {
        count
    };
    enc.set(&mut ehdr, 0, E_SHNUM, shnum);
    let shstrndx = if new_shstrndx >= u64::from(SHN_LORESERVE) {
        u64::from(SHN_XINDEX)
    } else {
        new_shstrndx
    };
    enc.set(&mut ehdr, 0, E_SHSTRNDX, shstrndx);
    ehdr
}
