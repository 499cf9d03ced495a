//! Function rows for C and C++ programs (and anything else with a `.symtab`): each sized
//! function of `.text` is a row of code, each sized object in a loaded, file-backed section a
//! row of data, under its symbol name as the table spells it (C++ names stay mangled: a
//! demangler would cost binslim more than the names are worth; pipe through `c++filt`).
//!
//! Aliases (glibc's `memcpy`/`__memcpy`) are counted once, under the preferred name (see
//! [`super::symbols::attribute`]); symbols of one name (static functions of several files)
//! share a row.

use super::symbols;
use super::{Language, Packages};
use crate::elf::ElfFile;

/// The note on a file without `.symtab`.
pub const STRIPPED_NOTE: &str =
    "no .symtab (stripped), so functions cannot be named; inspect the unstripped build";

/// The function and object rows of a file with a symbol table; a remainder row and a note
/// when it has none. `None` when it has no `.text`.
pub fn packages(elf: &ElfFile<'_>) -> Option<Packages> {
    symbols::rows(elf, STRIPPED_NOTE, |name| (name, Language::C))
}
