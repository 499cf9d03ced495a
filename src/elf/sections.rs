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

/// True for the names of the static symbol table sections.
pub fn is_symbols(name: &str, sh_type: u32) -> bool {
    sh_type == SHT_SYMTAB
        || sh_type == SHT_SYMTAB_SHNDX
        || name == ".symtab"
        || name == ".strtab"
        || name == ".symtab_shndx"
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
        }
    }
}
