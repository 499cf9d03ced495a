//! Analysis of one ELF image from its bytes: identity, linkage, run-time needs, where the
//! bytes go, and what Go, Rust and UPX left in it.
//!
//! [`analyze`] reads only headers and small sections (`.dynamic`, `.dynstr`, `.interp`,
//! notes, `.comment`, `.go.buildinfo`), so its cost does not grow with debug information.

pub mod cpu;
pub mod dynamic;
pub mod file;
pub mod go;
pub mod gofuncs;
pub mod gometa;
pub mod linkage;
pub mod needs;
pub mod notes;
pub mod packed;
pub mod sections;
pub mod versions;

use std::collections::BTreeMap;

use goblin::elf::header;
use goblin::elf::section_header::{SHF_ALLOC, SHT_NULL};
use serde::Serialize;

pub use cpu::CpuLevel;
pub use file::ElfFile;
pub use go::GoBuildInfo;
pub use gometa::GoMetadata;
pub use linkage::Linkage;
pub use packed::UpxInfo;
pub use sections::Category;

use crate::error::Result;

/// One section as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Section {
    /// The section name (empty when the file has no name table).
    pub name: String,
    /// `sh_size`: bytes in the file, or in memory only for `bss`.
    pub size: u64,
    /// The size category.
    pub category: Category,
    /// Loaded at run time (SHF_ALLOC).
    pub alloc: bool,
    /// Bytes of this section that are Go metadata although its name says otherwise (types in
    /// `.rodata`, the pclntab in `.data.rel.ro`); the category totals count them as
    /// `go-metadata`. Left out of JSON when 0.
    #[serde(skip_serializing_if = "is_zero")]
    pub go_metadata: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What rustc and cargo left in a binary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RustInfo {
    /// The rustc version string from `.comment`, e.g. `1.95.0 (59807616e 2026-04-14)`.
    pub rustc_version: Option<String>,
    /// cargo-auditable's `.dep-v0` section (the dependency list) is present.
    pub auditable: bool,
}

/// The ELF file type (`e_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ElfType {
    /// `ET_EXEC`: a fixed-address executable.
    Exec,
    /// `ET_DYN`: a shared object or a position-independent executable.
    Dyn,
    /// `ET_REL`: a relocatable object file.
    Rel,
    /// `ET_CORE`: a core dump.
    Core,
    /// Any other value.
    Unknown,
}

impl ElfType {
    /// The type of an `e_type` value.
    pub fn from_e_type(e_type: u16) -> Self {
        match e_type {
            header::ET_EXEC => ElfType::Exec,
            header::ET_DYN => ElfType::Dyn,
            header::ET_REL => ElfType::Rel,
            header::ET_CORE => ElfType::Core,
            _ => ElfType::Unknown,
        }
    }
}

/// Everything binslim knows about one ELF file. Sizes are bytes.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    /// The file length.
    pub file_size: u64,
    /// `elf32` or `elf64`.
    pub class: &'static str,
    /// `little` or `big`.
    pub endian: &'static str,
    /// The machine name (`x86_64`, `aarch64`, `arm`, `i386`, `riscv64`, ...).
    pub machine: String,
    /// The ELF file type (`e_type`), serialized as `exec`, `dyn`, `rel`, `core` or `unknown`.
    pub elf_type: ElfType,
    /// The OS/ABI byte, named (`sysv`, `linux`, `freebsd`, ...).
    pub os_abi: String,
    /// The operating system the file was built for, where it says: Go's `GOOS`, else an ABI
    /// note (`.note.ABI-tag`, a BSD's identification note), else an OS/ABI byte that names
    /// one. `None` when the file does not say (musl, for one, records nothing).
    pub os: Option<String>,
    /// The CPU level the file needs, where it records one (Go's `GOAMD64`/`GOARM`/`GOARM64`,
    /// the GNU property note's x86 ISA level, `Tag_CPU_arch`): `x86-64-v3`, `armv7`, ...
    /// `None` when the file does not say.
    pub cpu_level: Option<CpuLevel>,
    /// The entry point address.
    pub entry: u64,
    /// How the file is linked.
    pub linkage: Linkage,
    /// The PT_INTERP path.
    pub interpreter: Option<String>,
    /// DT_NEEDED, in order.
    pub needed: Vec<String>,
    /// DT_RPATH entries.
    pub rpath: Vec<String>,
    /// DT_RUNPATH entries.
    pub runpath: Vec<String>,
    /// DT_SONAME.
    pub soname: Option<String>,
    /// A shared library that also runs as a program (see
    /// [`linkage::LinkFacts::is_runnable_library`]): `linkage` is `dynamic`, but a directory
    /// walk meets it as the library it is used as.
    #[serde(skip)]
    pub runnable_library: bool,
    /// The GNU build id, hex.
    pub build_id: Option<String>,
    /// No `.symtab`.
    pub stripped: bool,
    /// The file has a section header table.
    pub has_section_headers: bool,
    /// Bytes in debug sections.
    pub debug_size: u64,
    /// Bytes in `.symtab`/`.strtab`.
    pub symbols_size: u64,
    /// Bytes stripping debug data and symbols removes. Estimated here from the headers: the
    /// non-loaded debug and symbol sections, their section header entries and their names in
    /// `.shstrtab` (alignment padding aside); `binslim inspect` replaces the estimate with what
    /// shrink's strip steps save (`strip::strippable_size`), padding included.
    pub strippable_size: u64,
    /// Every section, in file order (without the null section).
    pub sections: Vec<Section>,
    /// Bytes per category (`sh_size`; `bss` is memory, not file).
    pub categories: BTreeMap<&'static str, u64>,
    /// UPX packing, when packed.
    pub upx: Option<UpxInfo>,
    /// Go build info, when present.
    pub go: Option<GoBuildInfo>,
    /// Rust facts, when rustc left any.
    pub rust: Option<RustInfo>,
    /// `.comment` strings (compilers and linkers).
    pub comment: Vec<String>,
    /// Oddities that did not stop the analysis.
    pub warnings: Vec<String>,
    /// Go's run-time metadata per table, wherever the linker put it (found through
    /// moduledata; see [`gometa`]). Only with [`Detail::Full`], for Go programs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub go_metadata: Option<GoMetadata>,
}

impl Analysis {
    /// The bytes no section (other than `bss`) accounts for: ELF and program headers, the
    /// section header table and alignment padding; the `headers+padding` row of the reports.
    pub fn headers_and_padding(&self) -> u64 {
        let in_file = self
            .sections
            .iter()
            .filter(|s| s.category != Category::Bss)
            .fold(0u64, |acc, s| acc.saturating_add(s.size));
        self.file_size.saturating_sub(in_file)
    }
}

/// Analyzes an ELF image. Errors say why the bytes are not a usable ELF file.
pub fn analyze(data: &[u8]) -> Result<Analysis> {
    let elf = ElfFile::parse(data)?;
    Ok(analyze_file(&elf))
}

/// Analyzes an already parsed ELF image.
pub fn analyze_file(elf: &ElfFile<'_>) -> Analysis {
    analyze_with(elf, Detail::Full)
}

/// How much of the per-section detail to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Everything, including `sections` and `categories`.
    Full,
    /// Leave `sections` and `categories` empty (every total and fact is still computed): for
    /// callers such as directory walks that never show them.
    Summary,
}

/// Analyzes an already parsed ELF image, keeping the per-section detail or not.
pub fn analyze_with(elf: &ElfFile<'_>, detail: Detail) -> Analysis {
    let h = &elf.header;
    let dynamic = dynamic::dynamic_info(elf);
    let go = go::build_info(elf);
    let os_abi = os_abi_name(h.e_ident[header::EI_OSABI]);
    let interpreter = dynamic::interpreter(elf);
    let machine = machine_name(h.e_machine, elf.is_64(), elf.is_little_endian());
    let cpu_level = cpu::level(elf, &machine, go.as_ref());
    let facts = linkage::LinkFacts {
        e_type: h.e_type,
        has_interp: dynamic::has_interp(elf),
        has_dynamic: dynamic.present,
        needed: dynamic.needed.len(),
        has_soname: dynamic.soname.is_some(),
        pie_flag: dynamic.pie_flag,
        has_entry: h.e_entry != 0,
        no_code: holds_no_code(elf),
    };

    let mut sections = Vec::new();
    let mut categories: BTreeMap<&'static str, u64> = BTreeMap::new();
    let (mut debug_size, mut symbols_size, mut strippable_size) = (0u64, 0u64, 0u64);
    let mut has_symtab = false;
    let mut comment_strings = Vec::new();
    for sh in elf.shdrs.iter().skip(1) {
        if sh.sh_type == SHT_NULL {
            continue;
        }
        let raw = elf.name_bytes(sh);
        let alloc = sh.sh_flags & u64::from(SHF_ALLOC) != 0;
        has_symtab |= sh.sh_type == goblin::elf::section_header::SHT_SYMTAB;
        // A summary needs only the debug and symbol sections, which the name bytes tell
        // (`categorize` takes them first): no UTF-8 check and no full sort for the others.
        let category = match detail {
            Detail::Summary => match sections::debug_or_symbols(raw, sh.sh_type, alloc) {
                Some(c) => c,
                None => continue,
            },
            Detail::Full => sections::categorize(&section_name(raw), sh.sh_type, sh.sh_flags),
        };
        let file_bytes = if file::has_file_bytes(sh) {
            sh.sh_size
        } else {
            0
        };
        match category {
            Category::Debug => debug_size = debug_size.saturating_add(file_bytes),
            Category::Symbols => symbols_size = symbols_size.saturating_add(file_bytes),
            _ => {}
        }
        if !alloc && matches!(category, Category::Debug | Category::Symbols) {
            // The section's bytes, its header entry and its name in `.shstrtab`.
            let entry = u64::from(h.e_shentsize) + section_name(raw).len() as u64 + 1;
            strippable_size = strippable_size.saturating_add(file_bytes.saturating_add(entry));
        }
        if detail == Detail::Summary {
            continue;
        }
        let name = section_name(raw);
        // NOBITS sizes are not bounded by the file: saturate rather than overflow.
        let total = categories.entry(category.as_str()).or_default();
        *total = total.saturating_add(sh.sh_size);
        sections.push(Section {
            name: name.into_owned(),
            size: sh.sh_size,
            category,
            alloc,
            go_metadata: 0,
        });
    }
    if !elf.shdrs.is_empty() {
        comment_strings = notes::comment(elf);
    }
    let go_metadata = match (&go, detail) {
        (Some(_), Detail::Full) => go_metadata(elf, &mut sections, &mut categories),
        _ => None,
    };
    let rustc_version = comment_strings
        .iter()
        .find_map(|s| s.strip_prefix("rustc version "))
        .map(str::to_string);
    let auditable = elf.section_by_name(".dep-v0").is_some();
    let rust = (rustc_version.is_some() || auditable).then_some(RustInfo {
        rustc_version,
        auditable,
    });

    Analysis {
        file_size: elf.file_len(),
        class: if elf.is_64() { "elf64" } else { "elf32" },
        endian: if elf.is_little_endian() {
            "little"
        } else {
            "big"
        },
        machine,
        elf_type: ElfType::from_e_type(h.e_type),
        os: target_os(go.as_ref(), notes::abi_os(elf), &os_abi),
        cpu_level,
        os_abi,
        entry: h.e_entry,
        linkage: linkage::classify(facts),
        interpreter,
        needed: dynamic.needed,
        rpath: dynamic.rpath,
        runpath: dynamic.runpath,
        soname: dynamic.soname,
        runnable_library: facts.is_runnable_library(),
        build_id: notes::build_id(elf),
        stripped: !has_symtab,
        has_section_headers: !elf.shdrs.is_empty(),
        debug_size,
        symbols_size,
        strippable_size,
        sections,
        categories,
        upx: packed::detect(elf),
        go,
        rust,
        comment: comment_strings,
        warnings: elf.warnings.clone(),
        go_metadata,
    }
}

/// A section's name as text: valid UTF-8 (the common case) is borrowed; only odd names pay for
/// a lossy copy.
fn section_name(raw: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(raw) {
        Ok(n) => std::borrow::Cow::Borrowed(n),
        Err(_) => String::from_utf8_lossy(raw),
    }
}

/// True when the file's code has no bytes in it, as in a separate debug file
/// (`objcopy --only-keep-debug`): every executable loaded section is `SHT_NOBITS` (and there is
/// one), or PT_INTERP has no bytes (so no loader name).
fn holds_no_code(elf: &ElfFile<'_>) -> bool {
    use goblin::elf::program_header::PT_INTERP;
    use goblin::elf::section_header::{SHF_EXECINSTR, SHT_NOBITS};
    if elf
        .phdrs
        .iter()
        .any(|ph| ph.p_type == PT_INTERP && ph.p_filesz == 0)
    {
        return true;
    }
    let exec = u64::from(SHF_ALLOC | SHF_EXECINSTR);
    let mut code = elf
        .shdrs
        .iter()
        .filter(|sh| sh.sh_flags & exec == exec && sh.sh_size > 0)
        .peekable();
    code.peek().is_some() && code.all(|sh| sh.sh_type == SHT_NOBITS)
}

/// Finds Go's metadata through moduledata and moves the bytes it covers from the category of
/// the section that holds them (`.rodata`, `.data.rel.ro`) to `go-metadata`, so that the
/// categories still add up to the same total.
fn go_metadata(
    elf: &ElfFile<'_>,
    sections: &mut [Section],
    categories: &mut BTreeMap<&'static str, u64>,
) -> Option<GoMetadata> {
    let module = gometa::locate(elf)?;
    let ranges = module.ranges?;
    // `sections` holds every non-null section after index 0, in order.
    let index: Vec<usize> = (1..elf.shdrs.len())
        .filter(|&i| elf.shdrs[i].sh_type != SHT_NULL)
        .collect();
    for (i, bytes) in gometa::covered_by_section(elf, &ranges) {
        let Some(pos) = index.iter().position(|&k| k == i) else {
            continue;
        };
        let from = sections[pos].category;
        if matches!(from, Category::GoMetadata | Category::Bss) {
            continue;
        }
        let bytes = bytes.min(sections[pos].size);
        sections[pos].go_metadata = bytes;
        if let Some(total) = categories.get_mut(from.as_str()) {
            *total = total.saturating_sub(bytes);
            if *total == 0 {
                categories.remove(from.as_str());
            }
        }
        let meta = categories.entry(Category::GoMetadata.as_str()).or_default();
        *meta = meta.saturating_add(bytes);
    }
    module.metadata()
}

/// Names `e_machine` the way Go, Docker and uname do; big- and little-endian variants of one
/// machine get different names, so comparing names compares byte order too.
pub fn machine_name(m: u16, is_64: bool, little: bool) -> String {
    use goblin::elf::header::*;
    let s = match m {
        EM_X86_64 => "x86_64",
        EM_386 => "i386",
        EM_AARCH64 if little => "aarch64",
        EM_AARCH64 => "aarch64_be",
        EM_ARM if little => "arm",
        EM_ARM => "armeb",
        EM_RISCV if is_64 => "riscv64",
        EM_RISCV => "riscv32",
        EM_PPC64 if little => "ppc64le",
        EM_PPC64 => "ppc64",
        EM_PPC => "ppc",
        EM_S390 if is_64 => "s390x",
        EM_S390 => "s390",
        EM_MIPS if is_64 && little => "mips64le",
        EM_MIPS if is_64 => "mips64",
        EM_MIPS if little => "mipsle",
        EM_MIPS => "mips",
        EM_SPARCV9 => "sparc64",
        EM_LOONGARCH => "loongarch64",
        EM_BPF => "bpf",
        _ => return format!("unknown({m})"),
    };
    s.to_string()
}

/// The OS a file was built for: Go's own record first, then an ABI note, then the OS/ABI byte
/// where it names an operating system (not `sysv`, which Linux toolchains write, nor the
/// processor-specific and unknown values).
fn target_os(go: Option<&GoBuildInfo>, note: Option<&'static str>, os_abi: &str) -> Option<String> {
    if let Some(goos) = go.and_then(|g| g.settings.get("GOOS")) {
        return Some(goos.clone());
    }
    let from_byte = || {
        let not_an_os =
            matches!(os_abi, "sysv" | "arm" | "standalone") || os_abi.starts_with("unknown");
        (!not_an_os).then_some(os_abi)
    };
    note.or_else(from_byte).map(str::to_string)
}

fn os_abi_name(b: u8) -> String {
    let s = match b {
        0 => "sysv",
        1 => "hp-ux",
        2 => "netbsd",
        3 => "linux",
        6 => "solaris",
        7 => "aix",
        8 => "irix",
        9 => "freebsd",
        12 => "openbsd",
        97 => "arm",
        255 => "standalone",
        n => return format!("unknown({n})"),
    };
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::machine_name;
    use goblin::elf::header::{EM_AARCH64, EM_ARM, EM_MIPS, EM_PPC64, EM_X86_64};

    /// `--platform` compares these names, so byte order must show in them.
    #[test]
    fn machine_names_tell_byte_order_apart() {
        let name = |m, is_64, little| machine_name(m, is_64, little);
        assert_eq!(name(EM_X86_64, true, true), "x86_64");
        assert_eq!(name(EM_AARCH64, true, true), "aarch64");
        assert_eq!(name(EM_AARCH64, true, false), "aarch64_be");
        assert_eq!(name(EM_ARM, false, true), "arm");
        assert_eq!(name(EM_ARM, false, false), "armeb");
        assert_eq!(name(EM_PPC64, true, true), "ppc64le");
        assert_eq!(name(EM_PPC64, true, false), "ppc64");
        assert_eq!(name(EM_MIPS, false, true), "mipsle");
        assert_eq!(name(EM_MIPS, false, false), "mips");
        assert_eq!(name(EM_MIPS, true, true), "mips64le");
        assert_eq!(name(EM_MIPS, true, false), "mips64");
        assert_eq!(name(0x1234, true, true), "unknown(4660)");
    }
}
