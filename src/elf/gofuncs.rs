//! Function names from Go's `.gopclntab`, which survive `-ldflags "-s -w"`: they tell which
//! packages a Go program links in (system root certificates, time zones, user lookups), and so
//! which files it will look for at run time.
//!
//! Since Go 1.16 the table starts with a header (magic, pointer size, counts and offsets);
//! the function-name table is one blob of NUL-terminated names between `funcnametab` and
//! `cutab`. binslim reads only that blob, bounded by the section (or, where no section is
//! named so, by the loaded data that holds the table).

use super::file::ElfFile;
use super::gometa::Pclntab;

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
        return Pclntab::parse(elf.section_data(sh), little)?
            .name_blob()
            .map(FuncNames);
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
    module.pclntab.name_blob().map(FuncNames)
}

/// A Go binary's function-name table, searched in place: a directory walk meets Go programs
/// with 50,000 functions, and a set of owned names cost more than the rest of their check.
#[derive(Debug, Clone, Copy)]
pub struct FuncNames<'a>(&'a [u8]);

impl FuncNames<'_> {
    /// True when a function is named exactly `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.find(name, true)
    }

    /// True when a function's name starts with `prefix`.
    pub fn any_starts_with(&self, prefix: &str) -> bool {
        self.find(prefix, false)
    }

    /// Calls `f` with every name, in table order (empty names, between two NULs, left out).
    pub fn each_name(&self, mut f: impl FnMut(&[u8])) {
        let mut start = 0;
        for end in memchr::memchr_iter(0, self.0).chain([self.0.len()]) {
            if end > start {
                f(&self.0[start..end]);
            }
            start = end + 1;
        }
    }

    /// Names are NUL-separated: `needle` starts a name when it is at the start of the blob or
    /// after a NUL, and is the whole name when a NUL or the end follows it.
    fn find(&self, needle: &str, whole: bool) -> bool {
        if needle.is_empty() {
            return self.0.iter().any(|&b| b != 0);
        }
        let needle = needle.as_bytes();
        let blob = self.0;
        let ends_name = |end: usize| !whole || blob.get(end).is_none_or(|&b| b == 0);
        // Searched without the NUL before it (NUL ends every name: a needle that starts with
        // it would make nearly every name a candidate), then checked at a name's start.
        memchr::memmem::find_iter(blob, needle)
            .any(|at| (at == 0 || blob[at - 1] == 0) && ends_name(at + needle.len()))
    }
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

    #[test]
    fn every_name_is_given_once_in_order() {
        let mut seen = Vec::new();
        FuncNames(b"time.Now\0\0os/user.x\0net.Lookup").each_name(|n| seen.push(n.to_vec()));
        assert_eq!(seen, [&b"time.Now"[..], b"os/user.x", b"net.Lookup"]);
        seen.clear();
        FuncNames(b"\0a\0").each_name(|n| seen.push(n.to_vec()));
        assert_eq!(seen, [&b"a"[..]]);
    }
}
