//! The static symbol table (`.symtab`) as the Rust and C readers need it: which named symbol
//! owns each byte of `.text`, and how many bytes of data each object symbol holds.
//!
//! Symbols overlap (glibc's `memcpy` and `__new_memcpy` name one function) and leave gaps
//! (padding, hand-written assembly without a size). [`attribute`] therefore sweeps each
//! section's symbols in address order and gives every byte to exactly one owner: the first
//! symbol that covers it (at one address, the largest, then the preferred name). So the owners'
//! code never sums to more than `.text`, and what no symbol covers is the remainder.

use std::collections::BTreeMap;

use goblin::elf::section_header::{
    SHF_ALLOC, SHF_EXECINSTR, SHT_NOBITS, SHT_SYMTAB, SectionHeader,
};
use goblin::elf::sym::{STB_GLOBAL, STB_LOCAL, STB_WEAK, STT_FUNC, STT_GNU_IFUNC, STT_OBJECT};

use super::{Language, Package, Packages};
use crate::elf::ElfFile;
use crate::elf::file::cstr_at;

/// What a symbol's bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A function (or untyped sized label) in `.text`.
    Code,
    /// An object in a loaded section that has file bytes (`.rodata`, `.data`, ...; not `.bss`,
    /// which costs memory, not file).
    Data,
}

/// One sized symbol of `.symtab`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol<'a> {
    /// The raw (mangled) name.
    pub name: &'a str,
    /// `st_value`: the address (a section offset in relocatable objects).
    pub value: u64,
    /// `st_size`.
    pub size: u64,
    /// The section it is defined in.
    pub shndx: usize,
    /// `STB_*`.
    pub bind: u8,
    /// Code or data.
    pub kind: Kind,
}

/// The `.text` section's index and size, or `None` when the file has none.
pub fn text_section(elf: &ElfFile<'_>) -> Option<(usize, u64)> {
    let sh = elf.section_by_name(".text")?;
    let idx = elf.shdrs.iter().position(|s| std::ptr::eq(s, sh))?;
    Some((idx, sh.sh_size))
}

/// The rows of a file with a symbol table: the bytes each symbol owns (see [`attribute`])
/// summed as code or data under the row `row_of` names for its raw name, with
/// [`Packages::has_symtab`] set. `None` when the file has no `.text`; a remainder row and
/// `stripped_note` when it has no `.symtab`.
pub fn rows<'a, K: Ord + Into<String>>(
    elf: &ElfFile<'a>,
    stripped_note: &str,
    mut row_of: impl FnMut(&'a str) -> (K, Language),
) -> Option<Packages> {
    let (_, text_size) = text_section(elf)?;
    let Some(syms) = read(elf) else {
        return Some(super::unattributed(
            text_size,
            vec![stripped_note.to_string()],
        ));
    };
    let mut rows: BTreeMap<(K, Language), (u64, u64)> = BTreeMap::new();
    for (sym, owned) in attribute(&syms) {
        let row = rows.entry(row_of(sym.name)).or_default();
        match sym.kind {
            Kind::Code => row.0 = row.0.saturating_add(owned),
            Kind::Data => row.1 = row.1.saturating_add(owned),
        }
    }
    let rows = rows
        .into_iter()
        .map(|((name, language), (code, data))| Package::new(name, language, code, data))
        .collect();
    let mut found = super::finish(rows, text_size, Vec::new());
    found.has_symtab = true;
    Some(found)
}

/// True when the file has a `.symtab` whose string table exists: what [`read`] (and the Go
/// reader) need to read symbols at all.
pub fn has_symtab(elf: &ElfFile<'_>) -> bool {
    symtab(elf).is_some()
}

/// The first `.symtab` and the string table its `sh_link` names, when both exist.
pub(super) fn symtab<'e>(elf: &'e ElfFile<'_>) -> Option<(&'e SectionHeader, &'e SectionHeader)> {
    let tab = elf.shdrs.iter().find(|sh| sh.sh_type == SHT_SYMTAB)?;
    Some((tab, elf.shdrs.get(tab.sh_link as usize)?))
}

/// The sized code symbols of `.text` and data symbols of loaded, file-backed sections, in
/// table order; `None` when the file has no `.symtab`.
pub fn read<'a>(elf: &ElfFile<'a>) -> Option<Vec<Symbol<'a>>> {
    let (tab, strtab) = symtab(elf)?;
    let strings = elf.section_data(strtab);
    let bytes = elf.section_data(tab);
    let text = text_section(elf).map(|(i, _)| i);
    let entsize = if elf.is_64() { 24 } else { 16 };
    let mut out = Vec::new();
    for raw in bytes.chunks_exact(entsize) {
        let Some(sym) = decode(elf, raw) else {
            continue;
        };
        if sym.size == 0 || sym.shndx == 0 {
            continue;
        }
        let Some(sh) = elf.shdrs.get(sym.shndx) else {
            continue;
        };
        let typ = sym.info & 0xf;
        let in_text = Some(sym.shndx) == text;
        let kind = if in_text && matches!(typ, STT_FUNC | STT_GNU_IFUNC | 0) {
            Kind::Code
        } else if typ == STT_OBJECT
            && sh.sh_flags & u64::from(SHF_ALLOC) != 0
            && sh.sh_flags & u64::from(SHF_EXECINSTR) == 0
            && sh.sh_type != SHT_NOBITS
        {
            Kind::Data
        } else {
            continue;
        };
        let Some(name) = cstr_at(strings, sym.name).and_then(|n| std::str::from_utf8(n).ok())
        else {
            continue;
        };
        // A symbol owns only bytes of its section (sh_addr is 0 in relocatable objects,
        // whose values are section offsets), so rows never exceed the section.
        let Some((value, size)) = clip(sym.value, sym.size, sh.sh_addr, sh.sh_size) else {
            continue;
        };
        if name.is_empty() {
            continue;
        }
        out.push(Symbol {
            name,
            value,
            size,
            shndx: sym.shndx,
            bind: sym.info >> 4,
            kind,
        });
    }
    Some(out)
}

/// `[value, value + size)` cut to the section `[start, start + len)`; `None` when nothing is
/// left.
fn clip(value: u64, size: u64, start: u64, len: u64) -> Option<(u64, u64)> {
    let lo = value.max(start);
    let hi = value.saturating_add(size).min(start.saturating_add(len));
    (hi > lo).then(|| (lo, hi - lo))
}

struct RawSym {
    name: usize,
    info: u8,
    shndx: usize,
    value: u64,
    size: u64,
}

fn decode(elf: &ElfFile<'_>, b: &[u8]) -> Option<RawSym> {
    let u = |at, n| elf.read_uint(b, at, n);
    let (name, info, shndx, value, size) = if elf.is_64() {
        (u(0, 4)?, b[4], u(6, 2)?, u(8, 8)?, u(16, 8)?)
    } else {
        (u(0, 4)?, b[12], u(14, 2)?, u(4, 4)?, u(8, 4)?)
    };
    // SHN_LORESERVE and above (ABS, COMMON, XINDEX) name no section of the file.
    if shndx >= 0xff00 {
        return None;
    }
    Some(RawSym {
        name: usize::try_from(name).ok()?,
        info,
        shndx: shndx as usize,
        value,
        size,
    })
}

/// How much a name is preferred among aliases at one address: fewer leading underscores (the
/// public `memcpy` over glibc's `__new_memcpy`), then global, weak, local; then the name itself.
fn preference<'a>(s: &Symbol<'a>) -> (usize, u8, &'a str) {
    let bind = match s.bind {
        STB_GLOBAL => 0,
        STB_WEAK => 1,
        STB_LOCAL => 2,
        _ => 3,
    };
    let underscores = s.name.bytes().take_while(|&b| b == b'_').count();
    (underscores, bind, s.name)
}

/// Gives every byte of the symbols' sections to exactly one symbol: sorted by section and
/// address (at one address the largest first, then by `preference`), each symbol owns the
/// bytes from where the previous owners end to its own end. Returns `(symbol, bytes owned)`
/// for each symbol that owns any, in address order.
pub fn attribute<'s, 'a>(syms: &'s [Symbol<'a>]) -> Vec<(&'s Symbol<'a>, u64)> {
    let mut by_section: BTreeMap<usize, Vec<&Symbol<'a>>> = BTreeMap::new();
    for s in syms {
        by_section.entry(s.shndx).or_default().push(s);
    }
    let mut out = Vec::new();
    for list in by_section.values_mut() {
        list.sort_unstable_by(|a, b| {
            a.value
                .cmp(&b.value)
                .then(b.size.cmp(&a.size))
                .then_with(|| preference(a).cmp(&preference(b)))
        });
        let mut cursor = 0u64;
        for s in list.iter() {
            let end = s.value.saturating_add(s.size);
            let start = s.value.max(cursor);
            if end > start {
                out.push((*s, end - start));
                cursor = end;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(name: &str, value: u64, size: u64, bind: u8) -> Symbol<'_> {
        Symbol {
            name,
            value,
            size,
            shndx: 1,
            bind,
            kind: Kind::Code,
        }
    }

    #[test]
    fn symbols_are_cut_to_their_section() {
        assert_eq!(clip(100, 50, 0, 1000), Some((100, 50)));
        assert_eq!(clip(990, 50, 0, 1000), Some((990, 10)));
        assert_eq!(clip(90, 50, 100, 1000), Some((100, 40)));
        assert_eq!(clip(2000, 50, 0, 1000), None);
        assert_eq!(clip(10, u64::MAX, 0, 1000), Some((10, 990)));
    }

    #[test]
    fn aliases_and_overlaps_own_each_byte_once() {
        let syms = [
            sym("__memcpy", 100, 50, STB_GLOBAL),
            sym("memcpy", 100, 50, STB_WEAK),
            sym("inner", 110, 10, STB_LOCAL),
            sym("tail", 140, 20, STB_LOCAL),
            sym("later", 200, 5, STB_WEAK),
        ];
        let got: Vec<(&str, u64)> = attribute(&syms)
            .into_iter()
            .map(|(s, n)| (s.name, n))
            .collect();
        assert_eq!(got, vec![("memcpy", 50), ("tail", 10), ("later", 5)]);
    }
}
