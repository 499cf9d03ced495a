//! Reading the dynamic section: DT_NEEDED, DT_SONAME, DT_RPATH, DT_RUNPATH and DT_FLAGS_1 (and
//! the raw table, for symbol versions).
//!
//! Strings are read through DT_STRTAB the way the loader does (falling back to an allocated
//! `.dynstr` when the address cannot be mapped), bounded by DT_STRSZ and the file length.

use goblin::elf::dynamic::{
    DF_1_PIE, DT_FLAGS_1, DT_NEEDED, DT_NULL, DT_RPATH, DT_RUNPATH, DT_SONAME, DT_STRSZ, DT_STRTAB,
};
use goblin::elf::program_header::{PT_DYNAMIC, PT_INTERP};
use goblin::elf::section_header::{SHF_ALLOC, SHT_DYNAMIC, SectionHeader};

use super::file::{ElfFile, FileBytes, cstr_at, lossy_string};

/// What the dynamic section says about run-time dependencies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DynamicInfo {
    /// A PT_DYNAMIC segment (or `.dynamic` section) exists.
    pub present: bool,
    /// DT_NEEDED entries, in order.
    pub needed: Vec<String>,
    /// DT_SONAME.
    pub soname: Option<String>,
    /// DT_RPATH entries, split on `:`.
    pub rpath: Vec<String>,
    /// DT_RUNPATH entries, split on `:`.
    pub runpath: Vec<String>,
    /// DT_FLAGS_1 has DF_1_PIE.
    pub pie_flag: bool,
}

/// The raw dynamic table: `(tag, value)` pairs up to DT_NULL, and the dynamic string table.
#[derive(Debug, Clone, Default)]
pub struct DynamicTable<'a> {
    /// Entries in file order, up to (not including) DT_NULL.
    pub entries: Vec<(u64, u64)>,
    /// Where the dynamic string table (DT_STRTAB, bounded by DT_STRSZ and the file) starts
    /// in the file (`None` when it is empty).
    pub strtab_offset: Option<u64>,
    /// The file, the string table's offset and its size: strings are read one at a time, as
    /// [`DynamicTable::string`] is asked for them (a large library's table holds megabytes of
    /// symbol names, and a verdict needs a few library names).
    strtab: Option<(FileBytes<'a>, u64, u64)>,
}

impl DynamicTable<'_> {
    /// The value of the first entry with `tag`.
    pub fn get(&self, tag: u64) -> Option<u64> {
        self.entries
            .iter()
            .find(|(t, _)| *t == tag)
            .map(|&(_, v)| v)
    }

    /// The string at `off` in the dynamic string table: up to its NUL, or to the table's end
    /// when it has none (`""` at the end, `None` past it).
    pub fn string(&self, off: u64) -> Option<String> {
        let Some((bytes, start, size)) = self.strtab else {
            return (off == 0).then(String::new);
        };
        let rest = size.checked_sub(off)?;
        // The table lies inside the file, so this cannot overflow.
        let at = start + off;
        // Names are short: read a little, and more only for a longer one.
        let mut want = rest.min(256);
        loop {
            let b = bytes.get(at, want)?;
            if let Some(n) = memchr::memchr(0, b) {
                return Some(lossy_string(&b[..n]));
            }
            if want == rest {
                return Some(lossy_string(b));
            }
            want = rest.min(want.saturating_mul(16));
        }
    }
}

fn is_alloc(sh: &SectionHeader) -> bool {
    sh.sh_flags & u64::from(SHF_ALLOC) != 0
}

/// The PT_INTERP path, if any.
pub fn interpreter(elf: &ElfFile<'_>) -> Option<String> {
    let ph = elf.phdrs.iter().find(|ph| ph.p_type == PT_INTERP)?;
    let bytes = elf.segment_data(ph);
    let path = cstr_at(bytes, 0).unwrap_or_default();
    Some(lossy_string(path))
}

/// True when the file has a PT_INTERP segment (even an unreadable one).
pub fn has_interp(elf: &ElfFile<'_>) -> bool {
    elf.phdrs.iter().any(|ph| ph.p_type == PT_INTERP)
}

/// Reads the dynamic table (PT_DYNAMIC, else a loaded `.dynamic` section) and its string table.
/// `None` when the file has neither.
pub fn dynamic_table<'a>(elf: &ElfFile<'a>) -> Option<DynamicTable<'a>> {
    let table = match elf.phdrs.iter().find(|ph| ph.p_type == PT_DYNAMIC) {
        Some(ph) => elf.segment_data(ph),
        // Without PT_DYNAMIC, only a loaded `.dynamic` section can tell anything about run
        // time (a non-allocated one is never read by the loader, and strip removes it).
        None => elf
            .shdrs
            .iter()
            .find(|sh| sh.sh_type == SHT_DYNAMIC && is_alloc(sh))
            .map(|sh| elf.section_data(sh))?,
    };
    let word = if elf.is_64() { 8 } else { 4 };
    // Room for a usual table up front (tens of entries), bounded for a hostile segment size.
    let mut entries = Vec::with_capacity((table.len() / (2 * word)).min(128));
    for chunk in table.chunks_exact(2 * word) {
        let tag = elf.read_uint(chunk, 0, word).unwrap_or(DT_NULL);
        let val = elf.read_uint(chunk, word, word).unwrap_or(0);
        if tag == DT_NULL {
            break;
        }
        entries.push((tag, val));
    }
    let find = |t: u64| entries.iter().find(|(tag, _)| *tag == t).map(|&(_, v)| v);
    let strsz = find(DT_STRSZ);
    let found = find(DT_STRTAB)
        .and_then(|addr| elf.vaddr_to_offset(addr))
        .or_else(|| {
            elf.section_by_name(".dynstr")
                .filter(|sh| is_alloc(sh))
                .map(|sh| sh.sh_offset)
        })
        .map(|off| {
            let len = elf.file_len();
            let max = len - off.min(len);
            (off, strsz.unwrap_or(max).min(max))
        })
        .filter(|&(_, size)| size > 0);
    Some(DynamicTable {
        entries,
        strtab_offset: found.map(|(off, _)| off),
        strtab: found.map(|(off, size)| (elf.file_bytes(), off, size)),
    })
}

/// Reads the dynamic section.
pub fn dynamic_info(elf: &ElfFile<'_>) -> DynamicInfo {
    let Some(t) = dynamic_table(elf) else {
        return DynamicInfo::default();
    };
    let strings = |tag: u64| -> Vec<String> {
        t.entries
            .iter()
            .filter(|(t2, _)| *t2 == tag)
            .filter_map(|&(_, v)| t.string(v))
            .collect()
    };
    let split = |list: Vec<String>| -> Vec<String> {
        list.iter()
            .flat_map(|s| s.split(':'))
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    let flags_1 = t.get(DT_FLAGS_1).unwrap_or(0);
    DynamicInfo {
        present: true,
        needed: strings(DT_NEEDED),
        soname: t.get(DT_SONAME).and_then(|v| t.string(v)),
        rpath: split(strings(DT_RPATH)),
        runpath: split(strings(DT_RUNPATH)),
        pie_flag: flags_1 & DF_1_PIE != 0,
    }
}
