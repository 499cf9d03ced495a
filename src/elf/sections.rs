//! Sorting sections into the categories a person asks about: what is code, what is data,
//! what is debug information and symbols that `strip` would remove.

use serde::Serialize;

use goblin::elf::section_header::{
    SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHT_DYNAMIC, SHT_DYNSYM, SHT_GNU_HASH, SHT_GNU_VERDEF,
    SHT_GNU_VERNEED, SHT_GNU_VERSYM, SHT_HASH, SHT_NOBITS, SHT_NOTE, SHT_REL, SHT_RELA, SHT_SYMTAB,
    SHT_SYMTAB_SHNDX,
};

/// `SHT_RELR` (relative relocations), newer than goblin's constants.
const SHT_RELR: u32 = 19;

/// What a section holds, as far as size is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// Executable instructions (`.text`, `.plt`, `.init`).
    Code,
    /// Loaded, read-only data (`.rodata`, `.eh_frame`).
    Rodata,
    /// Loaded, writable data (`.data`, `.got`, `.init_array`).
    Data,
    /// Zero-initialised memory (`.bss`): no bytes in the file.
    Bss,
    /// What the dynamic loader reads (`.dynsym`, `.dynstr`, `.rela.*`, `.gnu.hash`, `.interp`).
    DynamicLinking,
    /// Debug information (`.debug_*`, `.zdebug_*`).
    Debug,
    /// The static symbol table (`.symtab`, `.strtab`).
    Symbols,
    /// Go run-time metadata (`.gopclntab`, `.go.buildinfo`, `.typelink`, `.itablink`).
    /// (`.noptrdata` is ordinary program data without pointers: [`Category::Data`].)
    GoMetadata,
    /// ELF notes (`.note.*`: build ids, ABI tags).
    Notes,
    /// Everything else (`.comment`, `.shstrtab`, `.gnu_debuglink`, `.dep-v0`).
    Other,
}

impl Category {
    /// Every category, in report order.
    pub const ALL: [Category; 10] = [
        Category::Code,
        Category::Rodata,
        Category::Data,
        Category::Bss,
        Category::DynamicLinking,
        Category::Debug,
        Category::Symbols,
        Category::GoMetadata,
        Category::Notes,
        Category::Other,
    ];

    /// The kebab-case name used in text and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Code => "code",
            Category::Rodata => "rodata",
            Category::Data => "data",
            Category::Bss => "bss",
            Category::DynamicLinking => "dynamic-linking",
            Category::Debug => "debug",
            Category::Symbols => "symbols",
            Category::GoMetadata => "go-metadata",
            Category::Notes => "notes",
            Category::Other => "other",
        }
    }
}

/// True for the names of debug sections, including their relocation sections in objects.
pub fn is_debug_name(name: &str) -> bool {
    is_debug_name_bytes(name.as_bytes())
}

/// [`is_debug_name`] on a name's raw bytes (the same answer for a name that is not UTF-8 as for
/// its lossy text: every test is on an ASCII prefix or an ASCII name).
fn is_debug_name_bytes(name: &[u8]) -> bool {
    let base = name
        .strip_prefix(b".rela")
        .or_else(|| name.strip_prefix(b".rel"))
        .unwrap_or(name);
    // Every debug name starts with '.': its second byte picks the one or two names to test.
    if base.first() != Some(&b'.') {
        return false;
    }
    match base.get(1) {
        Some(b'd') => base.starts_with(b".debug"),
        Some(b'z') => base.starts_with(b".zdebug"),
        Some(b'g') => base.starts_with(b".gnu.debuglto_") || base == b".gdb_index",
        Some(b's') => base.starts_with(b".stab"),
        Some(b'l') => base == b".line",
        _ => false,
    }
}

/// True for the names of the static symbol table sections.
pub fn is_symbols(name: &str, sh_type: u32) -> bool {
    is_symbols_bytes(name.as_bytes(), sh_type)
}

/// [`is_symbols`] on a name's raw bytes (as [`is_debug_name_bytes`]).
fn is_symbols_bytes(name: &[u8], sh_type: u32) -> bool {
    sh_type == SHT_SYMTAB
        || sh_type == SHT_SYMTAB_SHNDX
        || name == b".symtab"
        || name == b".strtab"
        || name == b".symtab_shndx"
}

/// [`categorize`]'s answer when it is [`Category::Debug`] or [`Category::Symbols`], else
/// `None`, from a section's raw name bytes (for analyses that count only those two).
pub fn debug_or_symbols(name: &[u8], sh_type: u32, alloc: bool) -> Option<Category> {
    if is_debug_name_bytes(name) {
        Some(Category::Debug)
    } else if !alloc && is_symbols_bytes(name, sh_type) {
        Some(Category::Symbols)
    } else {
        None
    }
}

const GO_METADATA: &[&str] = &[
    ".gopclntab",
    ".gosymtab",
    ".go.buildinfo",
    ".go.fipsinfo",
    ".typelink",
    ".itablink",
    ".go.module",
];

/// Sorts one section into its category.
pub fn categorize(name: &str, sh_type: u32, sh_flags: u64) -> Category {
    let alloc = sh_flags & u64::from(SHF_ALLOC) != 0;
    if is_debug_name(name) {
        return Category::Debug;
    }
    if !alloc && is_symbols(name, sh_type) {
        return Category::Symbols;
    }
    // Go PIE and external linking nest the metadata under `.data.rel.ro` (`.data.rel.ro.gopclntab`).
    let go_name = name.strip_prefix(".data.rel.ro").unwrap_or(name);
    if GO_METADATA.contains(&go_name) {
        return Category::GoMetadata;
    }
    if sh_type == SHT_NOBITS {
        return Category::Bss;
    }
    if sh_type == SHT_NOTE {
        return Category::Notes;
    }
    let dynamic_type = matches!(
        sh_type,
        SHT_DYNSYM
            | SHT_DYNAMIC
            | SHT_HASH
            | SHT_GNU_HASH
            | SHT_GNU_VERSYM
            | SHT_GNU_VERNEED
            | SHT_GNU_VERDEF
            | SHT_RELR
    ) || (alloc && matches!(sh_type, SHT_REL | SHT_RELA));
    // Go writes `.gnu.version*` as PROGBITS: go by the name too.
    if dynamic_type
        || name.starts_with(".gnu.version")
        || matches!(name, ".dynstr" | ".interp" | ".got" | ".got.plt")
    {
        return Category::DynamicLinking;
    }
    if !alloc {
        return Category::Other;
    }
    if sh_flags & u64::from(SHF_EXECINSTR) != 0 {
        Category::Code
    } else if sh_flags & u64::from(SHF_WRITE) != 0 {
        Category::Data
    } else {
        Category::Rodata
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Calls `f` with every ELF fixture of testdata/ that parses.
    fn each_fixture_elf(mut f: impl FnMut(&crate::elf::ElfFile<'_>)) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
        for e in std::fs::read_dir(dir).unwrap() {
            let Ok(data) = std::fs::read(e.unwrap().path()) else {
                continue;
            };
            if let Ok(elf) = crate::elf::ElfFile::parse(&data) {
                f(&elf);
            }
        }
    }
    use goblin::elf::section_header::{SHT_PROGBITS, SHT_STRTAB};

    const A: u64 = SHF_ALLOC as u64;
    const X: u64 = SHF_EXECINSTR as u64;
    const W: u64 = SHF_WRITE as u64;

    #[test]
    fn categories_of_common_sections() {
        let cases = [
            (".text", SHT_PROGBITS, A | X, Category::Code),
            (".plt", SHT_PROGBITS, A | X, Category::Code),
            (".rodata", SHT_PROGBITS, A, Category::Rodata),
            (".eh_frame", SHT_PROGBITS, A, Category::Rodata),
            (".data", SHT_PROGBITS, A | W, Category::Data),
            (".init_array", 14, A | W, Category::Data),
            (".bss", SHT_NOBITS, A | W, Category::Bss),
            (".tbss", SHT_NOBITS, A | W, Category::Bss),
            (".dynsym", SHT_DYNSYM, A, Category::DynamicLinking),
            (".dynstr", SHT_STRTAB, A, Category::DynamicLinking),
            (".rela.dyn", SHT_RELA, A, Category::DynamicLinking),
            (
                ".gnu.version_r",
                SHT_GNU_VERNEED,
                A,
                Category::DynamicLinking,
            ),
            (".interp", SHT_PROGBITS, A, Category::DynamicLinking),
            (".got", SHT_PROGBITS, A | W, Category::DynamicLinking),
            (".debug_info", SHT_PROGBITS, 0, Category::Debug),
            (".zdebug_line", SHT_PROGBITS, 0, Category::Debug),
            (".rela.debug_info", SHT_RELA, 0, Category::Debug),
            (".symtab", SHT_SYMTAB, 0, Category::Symbols),
            (".strtab", SHT_STRTAB, 0, Category::Symbols),
            (".gopclntab", SHT_PROGBITS, A, Category::GoMetadata),
            (
                ".data.rel.ro.gopclntab",
                SHT_PROGBITS,
                A | W,
                Category::GoMetadata,
            ),
            (
                ".data.rel.ro.typelink",
                SHT_PROGBITS,
                A | W,
                Category::GoMetadata,
            ),
            (".data.rel.ro", SHT_PROGBITS, A | W, Category::Data),
            (".gnu.version_r", SHT_PROGBITS, A, Category::DynamicLinking),
            (".go.buildinfo", SHT_PROGBITS, A | W, Category::GoMetadata),
            // Program data without pointers (checked against `go tool nm`: package variables).
            (".noptrdata", SHT_PROGBITS, A | W, Category::Data),
            (".noptrbss", SHT_NOBITS, A | W, Category::Bss),
            (".note.gnu.build-id", SHT_NOTE, A, Category::Notes),
            (".comment", SHT_PROGBITS, 0, Category::Other),
            (".shstrtab", SHT_STRTAB, 0, Category::Other),
            (".dep-v0", SHT_PROGBITS, 0, Category::Other),
            (".rela.text", SHT_RELA, 0, Category::Other),
        ];
        for (name, ty, flags, want) in cases {
            assert_eq!(categorize(name, ty, flags), want, "{name}");
            let both = matches!(want, Category::Debug | Category::Symbols).then_some(want);
            let alloc = flags & A != 0;
            assert_eq!(debug_or_symbols(name.as_bytes(), ty, alloc), both, "{name}");
        }
    }

    /// `is_debug_name` as it was first written (prefix tests on text), the reference for the
    /// byte-level one.
    fn is_debug_name_reference(name: &str) -> bool {
        let base = name
            .strip_prefix(".rela")
            .or_else(|| name.strip_prefix(".rel"))
            .unwrap_or(name);
        base.starts_with(".debug")
            || base.starts_with(".zdebug")
            || base.starts_with(".gnu.debuglto_")
            || base.starts_with(".stab")
            || base == ".line"
            || base == ".gdb_index"
    }

    #[test]
    fn debug_names_are_what_the_prefix_tests_say() {
        let mut names: Vec<String> = [
            "",
            ".",
            ".d",
            "debug",
            ".debug",
            ".debug_info",
            ".zdebug_line",
            ".rela.debug_info",
            ".rel.debug_line",
            ".rela",
            ".rel",
            ".relro_padding",
            ".rela.dyn",
            ".line",
            ".lineX",
            ".gdb_index",
            ".gdb_indexX",
            ".stab",
            ".stabstr",
            ".gnu.debuglto_.debug_info",
            ".gnu.debugaltlink",
            ".gnu_debuglink",
            ".rela.stab",
            ".rel.line",
            ".rodata",
            ".dynsym",
            ".data",
            ".got",
            ".symtab",
            ".strtab",
            ".zdebu",
            ".debu",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        each_fixture_elf(|elf| {
            names.extend(elf.shdrs.iter().map(|sh| elf.name(sh).into_owned()));
        });
        for n in &names {
            assert_eq!(is_debug_name(n), is_debug_name_reference(n), "{n:?}");
        }
    }

    /// The byte-level shortcut agrees with `categorize` on the names of every fixture's
    /// sections, and on names that are not UTF-8 (compared with their lossy text).
    #[test]
    fn debug_or_symbols_agrees_with_categorize() {
        let mut names: Vec<(Vec<u8>, u32, u64)> = Vec::new();
        each_fixture_elf(|elf| {
            for sh in elf.shdrs.iter().skip(1) {
                names.push((elf.name_bytes(sh).to_vec(), sh.sh_type, sh.sh_flags));
            }
        });
        assert!(names.len() > 500, "{} sections", names.len());
        for raw in [
            &b".debug_\xff"[..],
            b".\xffdebug",
            b".rela.debug\xfe",
            b".symtab\xff",
            b"\xff",
        ] {
            names.push((raw.to_vec(), SHT_PROGBITS, 0));
            names.push((raw.to_vec(), SHT_SYMTAB, 0));
        }
        for (raw, ty, flags) in names {
            let want = categorize(&String::from_utf8_lossy(&raw), ty, flags);
            let want = matches!(want, Category::Debug | Category::Symbols).then_some(want);
            let alloc = flags & A != 0;
            assert_eq!(debug_or_symbols(&raw, ty, alloc), want, "{raw:?}");
        }
    }
}
