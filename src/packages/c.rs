//! Function rows for C and C++ programs (and anything else with a `.symtab`): each sized
//! function of `.text` is a row of code, each sized object in a loaded, file-backed section a
//! row of data, under its symbol name as the table spells it (C++ names stay mangled: a
//! demangler would cost binslim more than the names are worth; pipe through `c++filt`).
//!
//! Aliases (glibc's `memcpy`/`__memcpy`) are counted once, under the preferred name (see
//! [`super::symbols::attribute`]); symbols of one name (static functions of several files)
//! share a row.

use std::collections::BTreeMap;

use super::symbols::{self, Kind};
use super::{Language, Package, Packages};
use crate::elf::{Analysis, ElfFile};

/// The note on a file without `.symtab`.
pub const STRIPPED_NOTE: &str =
    "no .symtab (stripped), so functions cannot be named; inspect the unstripped build";

/// The function and object rows of a file with a symbol table; a remainder row and a note
/// when it has none. `None` when it has no `.text`.
pub fn packages(elf: &ElfFile<'_>, analysis: &Analysis) -> Option<Packages> {
    let _ = analysis;
    let (_, text_size) = symbols::text_section(elf)?;
    let Some(syms) = symbols::read(elf) else {
        return Some(super::unattributed(
            text_size,
            vec![STRIPPED_NOTE.to_string()],
        ));
    };
    let mut rows: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for (sym, owned) in symbols::attribute(&syms) {
        let row = rows.entry(sym.name).or_default();
        match sym.kind {
            Kind::Code => row.0 = row.0.saturating_add(owned),
            Kind::Data => row.1 = row.1.saturating_add(owned),
        }
    }
    let rows = rows
        .into_iter()
        .map(|(name, (code, data))| Package::new(name, Language::C, code, data))
        .collect();
    Some(super::finish(rows, text_size, Vec::new()))
}
