//! Phase 4: symbol tables whose section indices shift with the renumbering.
//!
//! A kept `.symtab`, `.dynsym` or `.symtab_shndx` names sections by index; when sections before
//! them are removed, those indices are rewritten (a symbol in a removed section becomes
//! `SHN_ABS`). An allocated table inside the copied prefix is patched in place (an overlay);
//! a non-allocated one is written anew where it is appended.

use goblin::elf::section_header::{SHT_DYNSYM, SHT_SYMTAB, SHT_SYMTAB_SHNDX};

use super::enc::ST_SHNDX;
use super::fate::{Fate, Numbering};
use super::{Input, SHN_ABS, SHN_LORESERVE, StripRefusal};
use crate::error::Result;

/// Symbol tables as rewritten.
#[derive(Default)]
pub(super) struct Rewritten {
    /// Allocated tables inside the copied prefix: (input offset, new bytes).
    pub(super) overlays: Vec<(u64, Vec<u8>)>,
    /// Non-allocated tables: (section index, new bytes).
    pub(super) appended: Vec<(usize, Vec<u8>)>,
}

/// Rewrites the kept symbol tables for the new numbering (nothing when no section is removed).
pub(super) fn rewrite(
    input: &Input<'_, '_>,
    fate: &[Fate],
    numbering: &Numbering,
    prefix_end: u64,
) -> Result<Rewritten> {
    let mut out = Rewritten::default();
    if fate.iter().all(|f| f.is_kept()) {
        return Ok(out);
    }
    for (i, sh) in input.elf.shdrs.iter().enumerate().skip(1) {
        if fate[i] != Fate::Keep
            || !matches!(sh.sh_type, SHT_SYMTAB | SHT_DYNSYM | SHT_SYMTAB_SHNDX)
        {
            continue;
        }
        let Some(fixed) = remap_symbols(input, i, numbering)? else {
            continue;
        };
        if input.is_alloc(i) && sh.sh_offset.saturating_add(sh.sh_size) <= prefix_end {
            out.overlays.push((sh.sh_offset, fixed));
        } else if !input.is_alloc(i) {
            out.appended.push((i, fixed));
        }
    }
    Ok(out)
}

/// Rewrites `st_shndx` (or the `.symtab_shndx` entries) of section `i` for the new numbering.
/// `None` when nothing changes. `st_shndx` is 16 bits wide: every value written is checked to
/// fit below SHN_LORESERVE (true by construction, since removing sections only lowers indices;
/// refused otherwise rather than truncated).
fn remap_symbols(
    input: &Input<'_, '_>,
    i: usize,
    numbering: &Numbering,
) -> Result<Option<Vec<u8>>> {
    let enc = input.enc;
    let sh = &input.elf.shdrs[i];
    let mut bytes = input.elf.section_data(sh).to_vec();
    let mut changed = false;
    if sh.sh_type == SHT_SYMTAB_SHNDX {
        for at in (0..bytes.len() / 4).map(|k| k * 4) {
            let old = enc.read(&bytes, at, 4) as u32;
            let new = numbering.remap(old).unwrap_or(0);
            if new != old {
                enc.patch(&mut bytes, at, u64::from(new), 4);
                changed = true;
            }
        }
    } else {
        let size = enc.sym_size();
        for sym in (0..bytes.len() / size).map(|k| k * size) {
            let old = enc.get(&bytes, sym, ST_SHNDX) as u32;
            // Reserved values (SHN_ABS, SHN_COMMON, SHN_XINDEX: the real index is in
            // `.symtab_shndx`, renumbered on its own) stay as they are.
            if old == 0 || old >= SHN_LORESERVE {
                continue;
            }
            // Sections are only ever removed, so a new index is never larger than the old one
            // and stays below SHN_LORESERVE: the conversion cannot fail.
            let new = match numbering.remap(old) {
                Some(v) if v < SHN_LORESERVE => v as u16,
                Some(v) => return Err(StripRefusal::SymbolIndexTooLarge { old, new: v }.into()),
                None => SHN_ABS,
            };
            if u32::from(new) != old {
                enc.set(&mut bytes, sym, ST_SHNDX, u64::from(new));
                changed = true;
            }
        }
    }
    Ok(changed.then_some(bytes))
}
