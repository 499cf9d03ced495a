//! Phase 1: what happens to each input section, and the section numbers of the output.
//!
//! Stripping and the debug file decide differently ([`for_strip`], [`for_debug_file`]); both
//! then drop every kept non-allocated section that depends on a removed one, and the kept
//! sections are renumbered in input order ([`Numbering`]).

use goblin::elf::section_header::{SHT_NOTE, SHT_NULL, SHT_REL, SHT_RELA};

use super::{Class, Input, SHF_INFO_LINK, StripOptions};
use crate::elf::sections::{is_debug_name, is_symbols};

/// What happens to one input section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fate {
    /// Kept, data where it is (inside the copied prefix) or appended.
    Keep,
    /// Kept as `SHT_NOBITS` (debug files: loaded sections without their bytes).
    NoBits,
    /// Removed.
    Drop(Class),
}

impl Fate {
    /// Whether the section is in the output (with or without its bytes).
    pub(super) fn is_kept(self) -> bool {
        !matches!(self, Fate::Drop(_))
    }
}

/// Sorts one non-allocated section for stripping; `None` keeps it.
pub(super) fn classify(name: &str, sh_type: u32, opts: &StripOptions) -> Option<Class> {
    if is_debug_name(name) || name == ".gnu_debugaltlink" {
        return opts.debug.then_some(Class::Debug);
    }
    if is_symbols(name, sh_type) {
        return opts.symbols.then_some(Class::Symbols);
    }
    if name == ".gnu_debuglink" {
        return (opts.add_debuglink.is_some() || (opts.other && opts.remove_debuglink))
            .then_some(Class::Other);
    }
    // cargo-auditable's dependency list, processor-specific attribute sections
    // (`.ARM.attributes`, `.riscv.attributes`) that tools read to tell the ABI, and notes:
    // `.note.stapsdt` holds the USDT probes bpftrace and perf attach to, and GNU strip keeps
    // every note, loaded or not.
    if name == ".dep-v0" || sh_type == SHT_NOTE || (0x7000_0000..=0x7fff_ffff).contains(&sh_type) {
        return None;
    }
    opts.other.then_some(Class::Other)
}

/// Stripping: allocated sections stay, non-allocated ones go as `opts` says.
pub(super) fn for_strip(input: &Input<'_, '_>, opts: &StripOptions) -> Vec<Fate> {
    decide(input, |i| {
        let sh = &input.elf.shdrs[i];
        if input.is_alloc(i) || sh.sh_type == SHT_NULL {
            Fate::Keep
        } else {
            classify(&input.names[i], sh.sh_type, opts).map_or(Fate::Keep, Fate::Drop)
        }
    })
}

/// The debug file: notes, debug sections and symbol tables keep their bytes, other allocated
/// sections become `SHT_NOBITS`, everything else goes.
pub(super) fn for_debug_file(input: &Input<'_, '_>) -> Vec<Fate> {
    decide(input, |i| {
        let sh = &input.elf.shdrs[i];
        let name = &input.names[i];
        let debug = is_debug_name(name) || name == ".gnu_debugaltlink";
        if sh.sh_type == SHT_NOTE || (!input.is_alloc(i) && (debug || is_symbols(name, sh.sh_type)))
        {
            Fate::Keep
        } else if input.is_alloc(i) {
            Fate::NoBits
        } else {
            Fate::Drop(Class::Other)
        }
    })
}

/// Every section's fate: section 0 and the section name table are kept, the others as `fate`
/// says; then the sections that depend on removed ones go too.
fn decide(input: &Input<'_, '_>, fate: impl Fn(usize) -> Fate) -> Vec<Fate> {
    let mut fates = vec![Fate::Keep; input.n];
    for (i, f) in fates.iter_mut().enumerate().skip(1) {
        if i != input.shstrndx {
            *f = fate(i);
        }
    }
    drop_dependents(input, &mut fates);
    fates
}

/// A non-allocated section that links to (or relocates) a removed one goes too, with the
/// removed one's class; repeated until nothing changes (a chain of links goes whole).
fn drop_dependents(input: &Input<'_, '_>, fate: &mut [Fate]) {
    let n = input.n;
    loop {
        let mut changed = false;
        for i in 1..n {
            if !matches!(fate[i], Fate::Keep) || input.is_alloc(i) || i == input.shstrndx {
                continue;
            }
            let sh = &input.elf.shdrs[i];
            let link = sh.sh_link as usize;
            let dead = |j: usize| j < n && j != 0 && matches!(fate[j], Fate::Drop(_));
            let dep = if dead(link) {
                Some(link)
            } else if info_is_section(sh) && dead(sh.sh_info as usize) {
                Some(sh.sh_info as usize)
            } else {
                None
            };
            if let Some(j) = dep {
                let Fate::Drop(class) = fate[j] else {
                    unreachable!()
                };
                fate[i] = Fate::Drop(class);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
}

/// Whether `sh_info` holds a section index (relocations, and `SHF_INFO_LINK`).
pub(super) fn info_is_section(sh: &goblin::elf::SectionHeader) -> bool {
    matches!(sh.sh_type, SHT_REL | SHT_RELA) || sh.sh_flags & SHF_INFO_LINK != 0
}

/// The output's section numbers: kept sections in input order from 1.
pub(super) struct Numbering {
    /// Each input section's new index; 0 for removed ones (and section 0).
    new_index: Vec<u32>,
    /// How many sections the output has, section 0 included (before an added
    /// `.gnu_debuglink`).
    count: u32,
}

impl Numbering {
    /// Numbers the sections `fate` keeps.
    pub(super) fn new(fate: &[Fate]) -> Self {
        let mut new_index = vec![0u32; fate.len()];
        let mut next = 1u32;
        for i in 1..fate.len() {
            if fate[i].is_kept() {
                new_index[i] = next;
                next += 1;
            }
        }
        Numbering {
            new_index,
            count: next,
        }
    }

    /// How many sections the output has, section 0 included (before an added
    /// `.gnu_debuglink`).
    pub(super) fn count(&self) -> u32 {
        self.count
    }

    /// The new index of input section `old`; `None` when it is removed.
    ///
    /// Section indices in 32-bit fields (`sh_link`, `sh_info`, `.symtab_shndx` entries, section
    /// 0's `sh_link` for `e_shstrndx`) have no reserved range: an index at or above
    /// SHN_LORESERVE is a real section in a file with more than 0xff00 of them, and is
    /// renumbered like any other. Only 16-bit `st_shndx` values reserve that range (handled in
    /// [`super::symbols`]). 0 and indices past the last section stay as they are.
    pub(super) fn remap(&self, old: u32) -> Option<u32> {
        let i = old as usize;
        if old == 0 || i >= self.new_index.len() {
            return Some(old);
        }
        (self.new_index[i] != 0).then_some(self.new_index[i])
    }

    /// The new index of input section `i`, which is kept.
    pub(super) fn index(&self, i: usize) -> u32 {
        self.new_index[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use goblin::elf::section_header::{SHT_STRTAB, SHT_SYMTAB};

    #[test]
    fn classes() {
        let all = StripOptions::all();
        assert_eq!(classify(".debug_info", 1, &all), Some(Class::Debug));
        assert_eq!(classify(".zdebug_line", 1, &all), Some(Class::Debug));
        assert_eq!(classify(".symtab", SHT_SYMTAB, &all), Some(Class::Symbols));
        assert_eq!(classify(".strtab", SHT_STRTAB, &all), Some(Class::Symbols));
        assert_eq!(classify(".comment", 1, &all), Some(Class::Other));
        assert_eq!(classify(".dep-v0", 1, &all), None);
        assert_eq!(classify(".note.stapsdt", SHT_NOTE, &all), None);
        assert_eq!(classify(".gnu_debuglink", 1, &all), None);
        assert_eq!(classify(".ARM.attributes", 0x7000_0003, &all), None);
        let debug_only = StripOptions {
            debug: true,
            ..StripOptions::default()
        };
        assert_eq!(classify(".symtab", SHT_SYMTAB, &debug_only), None);
        assert_eq!(classify(".comment", 1, &debug_only), None);
        let no_link = StripOptions {
            remove_debuglink: true,
            ..StripOptions::all()
        };
        assert_eq!(classify(".gnu_debuglink", 1, &no_link), Some(Class::Other));
    }

    #[test]
    fn kept_sections_are_renumbered_in_order() {
        let fate = [
            Fate::Keep,
            Fate::Drop(Class::Debug),
            Fate::Keep,
            Fate::NoBits,
            Fate::Drop(Class::Other),
            Fate::Keep,
        ];
        let num = Numbering::new(&fate);
        assert_eq!(num.count(), 4);
        let remapped: Vec<Option<u32>> = (0..8).map(|i| num.remap(i)).collect();
        assert_eq!(
            remapped,
            [
                Some(0),
                None,
                Some(1),
                Some(2),
                None,
                Some(3),
                Some(6),
                Some(7)
            ]
        );
        assert_eq!(num.index(5), 3);
    }
}
