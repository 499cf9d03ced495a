//! Function names from Go's `.gopclntab`, which survive `-ldflags "-s -w"`: they tell which
//! packages a Go program links in (system root certificates, time zones, user lookups), and so
//! which files it will look for at run time.
//!
//! Since Go 1.16 the table starts with a header (magic, pointer size, counts and offsets);
//! the function-name table is one blob of NUL-terminated names between `funcnametab` and
//! `cutab`. binslim reads only that blob, bounded by the section (or, where no section is
//! named so, by the loaded data that holds the table).

use super::file::{ElfFile, read_uint};

const MAGIC_116: u32 = 0xffff_fffa;
const MAGIC_118: u32 = 0xffff_fff0;
const MAGIC_120: u32 = 0xffff_fff1;

/// The function names of a Go binary as they are stored, NUL-separated (no allocation; see
/// [`FuncNames`]), or `None` when it has no readable pclntab. The pclntab is `.gopclntab` in
/// internal links; external links (lld) merge it into `.data.rel.ro`, where
/// [`gometa::locate`](super::gometa::locate) finds it (only for files with Go build info, so
/// that other programs cost no search).
pub fn function_name_blob<'a>(elf: &ElfFile<'a>) -> Option<FuncNames<'a>> {
    let little = elf.is_little_endian();
    let sh = elf
        .section_by_name(".gopclntab")
        .or_else(|| elf.section_by_name(".data.rel.ro.gopclntab"));
    if let Some(sh) = sh {
        return name_blob_of_pclntab(elf.section_data(sh), little).map(FuncNames);
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
    name_blob_of_pclntab(module.pclntab.bytes, little).map(FuncNames)
}

/// A Go binary's function-name table, searched in place: a directory walk meets Go programs
/// with 50,000 functions, and a set of owned names cost more than the rest of their check.
#[derive(Debug, Clone, Copy)]
pub struct FuncNames<'a>(&'a [u8]);

impl FuncNames<'_> {
    /// True when a function is named exactly `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.find(name.as_bytes(), true)
    }

    /// True when a function's name starts with `prefix`.
    pub fn any_starts_with(&self, prefix: &str) -> bool {
        self.find(prefix.as_bytes(), false)
    }

    /// Names are NUL-separated: `needle` starts a name when it is at the start of the blob or
    /// after a NUL, and is the whole name when a NUL or the end follows it.
    fn find(&self, needle: &[u8], whole: bool) -> bool {
        if needle.is_empty() {
            return self.0.iter().any(|&b| b != 0);
        }
        let blob = self.0;
        let ends_name = |end: usize| !whole || blob.get(end).is_none_or(|&b| b == 0);
        if blob.starts_with(needle) && ends_name(needle.len()) {
            return true;
        }
        let mut pat = Vec::with_capacity(needle.len() + 2);
        pat.push(0);
        pat.extend_from_slice(needle);
        if whole {
            // A name followed by another: both NULs in the pattern; the last name: at the end.
            pat.push(0);
            if memchr::memmem::find(blob, &pat).is_some() {
                return true;
            }
            pat.pop();
            return blob.ends_with(&pat);
        }
        memchr::memmem::find(blob, &pat).is_some()
    }
}

fn name_blob_of_pclntab(tab: &[u8], little: bool) -> Option<&[u8]> {
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
    tab.get(start..end.max(start))
}

#[cfg(test)]
mod tests {
    use super::FuncNames;

    #[test]
    fn names_are_matched_whole_or_by_prefix_at_name_starts_only() {
        let f = FuncNames(b"main.main\0time.loadLocation\0xos/user.x\0os/user.Current");
        assert!(f.contains("main.main"));
        assert!(f.contains("time.loadLocation"));
        assert!(f.contains("os/user.Current"));
        assert!(!f.contains("main"));
        assert!(!f.contains("time.load"));
        assert!(!f.contains("user.Current"));
        assert!(f.any_starts_with("time."));
        assert!(f.any_starts_with("main."));
        assert!(f.any_starts_with("os/user."));
        assert!(!f.any_starts_with("user."));
        let g = FuncNames(b"xos/user.x\0");
        assert!(!g.any_starts_with("os/user."));
        assert!(g.contains("xos/user.x"));
    }
}
