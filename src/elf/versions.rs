//! Symbol versions as the glibc loader checks them at start-up: what an object needs from each
//! library it names (DT_VERNEED) and what a library defines (DT_VERDEF).
//!
//! A program linked on a newer system needs, say, `GLIBC_2.38` from `libc.so.6`; when the
//! image's libc defines only up to `GLIBC_2.36`, the loader stops with "version `GLIBC_2.38' not
//! found". Reading both tables from the headers tells that before the container dies.

use goblin::elf::dynamic::{DT_VERDEF, DT_VERDEFNUM, DT_VERNEED, DT_VERNEEDNUM};

use super::dynamic::DynamicTable;
use super::file::ElfFile;

/// `vna_flags`: a weak version reference, which the loader does not insist on.
pub const VER_FLG_WEAK: u16 = 0x2;
/// More entries than any real file has: a bound against crafted loops.
const MAX_ENTRIES: u64 = 4096;

/// One version an object needs from a library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeededVersion {
    /// The version name, e.g. `GLIBC_2.34`.
    pub name: String,
    /// VER_FLG_WEAK: the loader does not fail when it is missing.
    pub weak: bool,
}

/// The versions an object needs from one library (one DT_VERNEED entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionNeed {
    /// The library, as named in DT_NEEDED (`vn_file`), e.g. `libc.so.6`.
    pub file: String,
    /// The versions needed from it.
    pub versions: Vec<NeededVersion>,
}

/// An object's symbol version tables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SymbolVersions {
    /// DT_VERNEED entries, in file order.
    pub needed: Vec<VersionNeed>,
    /// The names DT_VERDEF defines (the base definition, named after the file, included).
    pub defined: Vec<String>,
    /// The file has a DT_VERDEF table. The loader checks nothing against a library without
    /// one (it was linked against another build of the library).
    pub has_verdef: bool,
}

/// Reads DT_VERNEED and DT_VERDEF through the dynamic table.
pub fn symbol_versions(elf: &ElfFile<'_>, table: &DynamicTable<'_>) -> SymbolVersions {
    let mut out = SymbolVersions::default();
    let at = |addr: u64| {
        elf.vaddr_to_offset(addr)
            .and_then(|o| usize::try_from(o).ok())
    };
    // Offsets come from the file: add with saturation (a read past the end then fails).
    let u16_at = |off: usize, add: usize| {
        elf.uint_at(off.saturating_add(add) as u64, 2)
            .map(|v| v as u16)
    };
    let u32_at = |off: usize, add: usize| elf.uint_at(off.saturating_add(add) as u64, 4);
    // Every Vernaux read counts against one budget, so crafted `vna_next` loops stay cheap.
    let mut budget = MAX_ENTRIES * 16;

    if let Some(mut off) = table.get(DT_VERNEED).and_then(at) {
        let count = table.get(DT_VERNEEDNUM).unwrap_or(0).min(MAX_ENTRIES);
        for _ in 0..count {
            // Elf_Verneed: vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32.
            let (Some(cnt), Some(file), Some(aux), Some(next)) = (
                u16_at(off, 2),
                u32_at(off, 4),
                u32_at(off, 8),
                u32_at(off, 12),
            ) else {
                break;
            };
            let mut need = VersionNeed {
                file: table.string(file).unwrap_or_default(),
                versions: Vec::new(),
            };
            let mut a = off.saturating_add(aux as usize);
            for _ in 0..cnt {
                if budget == 0 {
                    break;
                }
                budget -= 1;
                // Elf_Vernaux: vna_hash u32, vna_flags u16, vna_other u16, vna_name u32,
                // vna_next u32.
                let (Some(flags), Some(name), Some(anext)) =
                    (u16_at(a, 4), u32_at(a, 8), u32_at(a, 12))
                else {
                    break;
                };
                if let Some(name) = table.string(name) {
                    need.versions.push(NeededVersion {
                        name,
                        weak: flags & VER_FLG_WEAK != 0,
                    });
                }
                if anext == 0 {
                    break;
                }
                a = a.saturating_add(anext as usize);
            }
            out.needed.push(need);
            if next == 0 {
                break;
            }
            off = off.saturating_add(next as usize);
        }
    }

    if let Some(mut off) = table.get(DT_VERDEF).and_then(at) {
        out.has_verdef = true;
        let count = table.get(DT_VERDEFNUM).unwrap_or(0).min(MAX_ENTRIES);
        for _ in 0..count {
            // Elf_Verdef: vd_version u16, vd_flags u16, vd_ndx u16, vd_cnt u16, vd_hash u32,
            // vd_aux u32, vd_next u32; the first Elf_Verdaux (vda_name u32, vda_next u32)
            // names the version.
            let (Some(aux), Some(next)) = (u32_at(off, 12), u32_at(off, 16)) else {
                break;
            };
            if let Some(name) = u32_at(off, aux as usize).and_then(|n| table.string(n)) {
                out.defined.push(name);
            }
            if next == 0 {
                break;
            }
            off = off.saturating_add(next as usize);
        }
    }
    out
}
