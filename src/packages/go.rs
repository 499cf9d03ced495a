//! Package rows for go programs (stub; filled in by issue 13 §2).

use super::Packages;
use crate::elf::{Analysis, ElfFile};

/// The rows of a go program, or `None` when this reader cannot tell.
pub fn packages(elf: &ElfFile<'_>, analysis: &Analysis) -> Option<Packages> {
    let _ = (elf, analysis);
    None
}
