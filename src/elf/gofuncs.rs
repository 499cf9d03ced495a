//! Function names from Go's `.gopclntab`, which survive `-ldflags "-s -w"`: they tell which
//! packages a Go program links in (system root certificates, time zones, user lookups), and so
//! which files it will look for at run time.
//!
//! Since Go 1.16 the table starts with a header (magic, pointer size, counts and offsets);
//! the function-name table is one blob of NUL-terminated names between `funcnametab` and
//! `cutab`. binslim reads only that blob, bounded by the section (or, where no section is
//! named so, by the loaded data that holds the table).

use std::collections::HashSet;

use super::file::{ElfFile, read_uint};

const MAGIC_116: u32 = 0xffff_fffa;
const MAGIC_118: u32 = 0xffff_fff0;
const MAGIC_120: u32 = 0xffff_fff1;

/// The names of the functions a Go binary contains, or `None` when it has no readable
/// pclntab. The pclntab is `.gopclntab` in internal links; external links (lld) merge it
/// into `.data.rel.ro`, where [`gometa::locate`](super::gometa::locate) finds it (only
/// for files with Go build info, so that other programs cost no search).
pub fn function_names(elf: &ElfFile<'_>) -> Option<HashSet<String>> {
    let sh = elf
        .section_by_name(".gopclntab")
        .or_else(|| elf.section_by_name(".data.rel.ro.gopclntab"));
    if let Some(sh) = sh {
        return names_from_pclntab(elf.section_data(sh), elf.is_little_endian());
    }
    let go = if elf.shdrs.is_empty() {
        super::go::build_info(elf).is_some()
    } else {
        elf.section_by_name(".go.buildinfo").is_some()
    };
    if !go {
        return None;
    }
    let module = super::gometa::locate(elf)?;
    names_from_pclntab(module.pclntab.bytes, elf.is_little_endian())
}

/// Parses the function-name blob out of a `.gopclntab` section.
pub fn names_from_pclntab(tab: &[u8], little: bool) -> Option<HashSet<String>> {
    let magic = read_uint(tab, 0, 4, little)? as u32;
    let ptr = usize::from(*tab.get(7)?);
    if ptr != 4 && ptr != 8 {
        return None;
    }
    let word = |i: usize| -> Option<usize> {
        usize::try_from(read_uint(tab, 8 + i * ptr, ptr, little)?).ok()
    };
    // Header words after the 8-byte prefix: nfunc, nfiles, [textStart (1.18+)], funcnametab,
    // cutab, filetab, pctab, pclntab.
    let (start, end) = match magic {
        MAGIC_118 | MAGIC_120 => (word(3)?, word(4)?),
        MAGIC_116 => (word(2)?, word(3)?),
        _ => return None,
    };
    let blob = tab.get(start..end.max(start))?;
    Some(
        blob.split(|&b| b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect(),
    )
}
