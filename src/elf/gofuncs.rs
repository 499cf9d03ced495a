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
}

#[cfg(test)]
mod tests {
    use super::FuncNames;

    /// The names of `blob` as [`FuncNames::each_name`] gives them.
    fn names(blob: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        FuncNames(blob).each_name(|n| out.push(String::from_utf8_lossy(n).into_owned()));
        out
    }

    #[test]
    fn names_are_matched_whole_or_by_prefix_at_name_starts_only() {
        let f = names(b"main.main\0time.loadLocation\0xos/user.x\0os/user.Current");
        let contains = |n: &str| f.iter().any(|f| f == n);
        let any_starts_with = |p: &str| f.iter().any(|f| f.starts_with(p));
        assert!(contains("main.main"));
        assert!(contains("time.loadLocation"));
        assert!(contains("os/user.Current"));
        assert!(!contains("main"));
        assert!(!contains("time.load"));
        assert!(!contains("user.Current"));
        assert!(any_starts_with("time."));
        assert!(any_starts_with("main."));
        assert!(any_starts_with("os/user."));
        assert!(!any_starts_with("user."));
        let g = names(b"xos/user.x\0");
        assert!(!g.iter().any(|n| n.starts_with("os/user.")));
        assert!(g.iter().any(|n| n == "xos/user.x"));
    }

    #[test]
    fn every_name_is_given_once_in_order() {
        assert_eq!(
            names(b"time.Now\0\0os/user.x\0net.Lookup"),
            ["time.Now", "os/user.x", "net.Lookup"]
        );
        assert_eq!(names(b"\0a\0"), ["a"]);
    }
}
