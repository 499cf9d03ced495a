//! Where Go's run-time metadata really is: the pclntab, the type descriptors, the typelinks,
//! itablinks and findfunctab, whichever section the linker put them in.
//!
//! Section names find only part of it: an internal link keeps the type descriptors inside
//! `.rodata`, an external link (cgo, `-linkmode external`) merges everything into
//! `.data.rel.ro` with no `.gopclntab` at all. The runtime's `moduledata` structure
//! (`runtime.firstmoduledata`) holds the address and length of each table, so binslim finds
//! it, without `.symtab` (stripped files have none):
//! 1. the pclntab: `.gopclntab` by name, else its header's magic (`0xfffffff1` Go 1.20+,
//!    `0xfffffff0` 1.18–1.19, `0xfffffffa` 1.16–1.17) in the loaded read-only data;
//! 2. moduledata: the word in the loaded writable data that points at the pclntab (in a PIE
//!    the word is 0 in the file and the dynamic relocation that fills it says where it is),
//!    checked against the pclntab header before it is believed.
//!
//! [`locate`] reads headers and scans the loaded data sections for two needles, never
//! `.symtab` nor debug information. [`Pclntab::functions`] walks the function table (for
//! packages only).

use goblin::elf::program_header::{PF_W, PF_X, PT_LOAD};
use goblin::elf::section_header::{SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHT_NOBITS, SHT_RELA};
use serde::Serialize;

use super::file::{ElfFile, read_uint};

/// pclntab magic of Go 1.16 and 1.17.
pub const MAGIC_116: u32 = 0xffff_fffa;
/// pclntab magic of Go 1.18 and 1.19.
pub const MAGIC_118: u32 = 0xffff_fff0;
/// pclntab magic of Go 1.20 and later.
pub const MAGIC_120: u32 = 0xffff_fff1;

/// `R_X86_64_RELATIVE`, `R_AARCH64_RELATIVE`, `R_RISCV_RELATIVE`, `R_PPC64_RELATIVE`.
const RELATIVE_TYPES: [u32; 4] = [8, 1027, 3, 22];
/// findfunctab: a `uint32` per 4096 bytes of text and a byte per 256 (Go's linker,
/// `findfunctab`: `4*nbuckets + nsubbuckets`).
const FINDFUNC_BUCKET: u64 = 4096;
const FINDFUNC_SUBBUCKET: u64 = 256;

/// Bytes of Go metadata, per table. Ranges that overlap are counted once in the category
/// total; each field here is its table's own size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct GoMetadata {
    /// The pclntab (`runtime.pclntab`..`runtime.epclntab`): function table, names, files,
    /// PC-value tables.
    pub pclntab: u64,
    /// Type descriptors (`runtime.types`..`runtime.etypes`).
    pub types: u64,
    /// The typelinks table (`int32` offsets of the types).
    pub typelinks: u64,
    /// The itablinks table (pointers to the interface tables).
    pub itablinks: u64,
    /// `runtime.findfunctab`, the PC → function lookup buckets.
    pub findfunctab: u64,
}

/// A parsed pclntab header, borrowing the table's bytes (from the header to the end of the
/// region that holds it).
#[derive(Debug, Clone)]
pub struct Pclntab<'a> {
    /// The bytes from the header on.
    pub bytes: &'a [u8],
    /// The magic (one of the `MAGIC_*` constants).
    pub magic: u32,
    /// 4 or 8.
    pub ptr_size: usize,
    /// Little-endian.
    pub little: bool,
    /// Number of functions.
    pub nfunc: usize,
    /// The base the function-table offsets count from (Go 1.18+; 0 before).
    pub text_start: u64,
    /// Offset of the function-name blob from the header.
    pub funcname_off: usize,
    /// Offset of the compilation-unit table, which ends the function-name blob.
    pub cutab_off: usize,
    /// Offset of the function table (`pclntable`) from the header.
    pub pcln_off: usize,
}

/// One function of the function table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Function<'a> {
    /// Entry address.
    pub entry: u64,
    /// Bytes to the next function's entry (alignment padding included).
    pub size: u64,
    /// The function's name, as the pclntab stores it (`net/http.(*Server).Serve`).
    pub name: &'a [u8],
}

impl<'a> Pclntab<'a> {
    /// Parses the header at the start of `bytes`. `None` when it is not a Go 1.16+ pclntab or
    /// its offsets point outside `bytes`.
    pub fn parse(bytes: &'a [u8], little: bool) -> Option<Self> {
        let magic = read_uint(bytes, 0, 4, little)? as u32;
        if !matches!(magic, MAGIC_116 | MAGIC_118 | MAGIC_120) {
            return None;
        }
        if bytes.get(4..6)? != [0, 0] || !matches!(bytes.get(6)?, 1 | 2 | 4) {
            return None;
        }
        let ptr_size = usize::from(*bytes.get(7)?);
        if ptr_size != 4 && ptr_size != 8 {
            return None;
        }
        let word = |i: usize| read_uint(bytes, 8 + i * ptr_size, ptr_size, little);
        let off = |i: usize| word(i).and_then(|w| usize::try_from(w).ok());
        let nfunc = off(0)?;
        // Header words after the 8-byte prefix: nfunc, nfiles, [textStart (1.18+)],
        // funcnametab, cutab, filetab, pctab, pclntab.
        let (text_start, first) = if magic == MAGIC_116 {
            (0, 2)
        } else {
            (word(2)?, 3)
        };
        let funcname_off = off(first)?;
        let cutab_off = off(first + 1)?;
        let pcln_off = off(first + 4)?;
        let tab = Pclntab {
            bytes,
            magic,
            ptr_size,
            little,
            nfunc,
            text_start,
            funcname_off,
            cutab_off,
            pcln_off,
        };
        // The function table (nfunc + 1 entries) must fit.
        let end = nfunc
            .checked_add(1)?
            .checked_mul(tab.ftab_entry_size())?
            .checked_add(pcln_off)?;
        (nfunc > 0 && end <= bytes.len() && funcname_off < bytes.len()).then_some(tab)
    }

    /// The function-name blob: NUL-terminated names from `funcnametab` to `cutab`.
    pub fn name_blob(&self) -> Option<&'a [u8]> {
        self.bytes
            .get(self.funcname_off..self.cutab_off.max(self.funcname_off))
    }

    /// Bytes of one function-table entry: two `uint32` offsets (1.18+) or two words (1.16).
    fn ftab_entry_size(&self) -> usize {
        if self.magic == MAGIC_116 {
            2 * self.ptr_size
        } else {
            8
        }
    }

    /// Entry `i` of the function table: (entry address, offset of the `_func` record from
    /// `pclntable`).
    fn ftab_entry(&self, i: usize) -> Option<(u64, u64)> {
        let at = self
            .pcln_off
            .checked_add(i.checked_mul(self.ftab_entry_size())?)?;
        if self.magic == MAGIC_116 {
            let p = self.ptr_size;
            let entry = read_uint(self.bytes, at, p, self.little)?;
            let func = read_uint(self.bytes, at + p, p, self.little)?;
            Some((entry, func))
        } else {
            let entry = read_uint(self.bytes, at, 4, self.little)?;
            let func = read_uint(self.bytes, at + 4, 4, self.little)?;
            Some((self.text_start.wrapping_add(entry), func))
        }
    }

    /// The address range the function table covers: first entry to the end sentinel.
    pub fn text_range(&self) -> Option<(u64, u64)> {
        let (first, _) = self.ftab_entry(0)?;
        let (end, _) = self.ftab_entry(self.nfunc)?;
        (first <= end).then_some((first, end))
    }

    /// The name of the function whose `_func` record is at `func_off` from `pclntable`.
    fn name_at(&self, func_off: u64) -> &'a [u8] {
        let name_off = (|| {
            let rec = self.pcln_off.checked_add(usize::try_from(func_off).ok()?)?;
            // `_func` starts with the entry (a uint32 offset, or a word in 1.16), then nameOff.
            let skip = if self.magic == MAGIC_116 {
                self.ptr_size
            } else {
                4
            };
            let off = read_uint(self.bytes, rec.checked_add(skip)?, 4, self.little)?;
            self.funcname_off.checked_add(usize::try_from(off).ok()?)
        })();
        let bytes: &'a [u8] = self.bytes;
        name_off
            .and_then(|at| super::file::cstr_at(bytes, at))
            .unwrap_or_default()
    }

    /// Every function, in address order, with its size to the next entry. Entries that go
    /// backwards (a malformed table) get size 0; names that cannot be read are empty.
    pub fn functions(&self) -> impl Iterator<Item = Function<'a>> + '_ {
        let mut next = self.ftab_entry(0);
        (0..self.nfunc).map_while(move |i| {
            let (entry, func) = next?;
            next = self.ftab_entry(i + 1);
            let end = next.map_or(entry, |(e, _)| e);
            Some(Function {
                entry,
                size: end.saturating_sub(entry),
                name: self.name_at(func),
            })
        })
    }
}

/// One loaded, file-backed region: its address and bytes.
#[derive(Debug, Clone, Copy)]
struct Region<'a> {
    addr: u64,
    bytes: &'a [u8],
}

/// What binslim found of one Go module: the pclntab and the ranges moduledata names.
#[derive(Debug, Clone)]
pub struct Module<'a> {
    /// The pclntab, from its header to the end of the region that holds it.
    pub pclntab: Pclntab<'a>,
    /// The pclntab's address.
    pub pclntab_addr: u64,
    /// Metadata tables as `[start, end)` address ranges, when moduledata was found:
    /// pclntab, types, typelinks, itablinks, findfunctab (in [`GoMetadata`] order).
    pub ranges: Option<[(u64, u64); 5]>,
    /// Go's text range from moduledata (`text`, `etext`), when found.
    pub text: Option<(u64, u64)>,
}

impl Module<'_> {
    /// Per-table sizes, when moduledata was found.
    pub fn metadata(&self) -> Option<GoMetadata> {
        let r = self.ranges?;
        let len = |i: usize| r[i].1.saturating_sub(r[i].0);
        Some(GoMetadata {
            pclntab: len(0),
            types: len(1),
            typelinks: len(2),
            itablinks: len(3),
            findfunctab: len(4),
        })
    }
}

/// Finds the Go module in a file: its pclntab and, where it can be found and checked, its
/// moduledata. `None` for files that are not Go programs (no Go 1.16+ pclntab).
pub fn locate<'a>(elf: &ElfFile<'a>) -> Option<Module<'a>> {
    let (pclntab_addr, mut pclntab) = match named_pclntab(elf) {
        Some(found) => found,
        None => {
            if let Some(module) = scan_for_moduledata(elf) {
                return Some(module);
            }
            search_pclntab(elf)?
        }
    };
    if pclntab.magic != MAGIC_116 && pclntab.text_start == 0 {
        // A PIE linked by lld: the header's textStart is filled by a relocation too.
        let at = pclntab_addr + 8 + 2 * pclntab.ptr_size as u64;
        let relocs = relative_relocs(elf).unwrap_or_default();
        if let Ok(k) = relocs.binary_search_by_key(&at, |&(a, _)| a) {
            pclntab.text_start = relocs[k].1;
        }
    }
    let mut module = Module {
        pclntab,
        pclntab_addr,
        ranges: None,
        text: None,
    };
    if let Some(md) = find_moduledata(elf, &module.pclntab, pclntab_addr) {
        module.ranges = Some(md.ranges);
        module.text = Some(md.text);
    }
    Some(module)
}

/// Loaded, file-backed regions: sections when there are section headers, else segments.
/// `writable` picks writable data, otherwise read-only data (both never executable).
fn regions<'a>(elf: &ElfFile<'a>, writable: bool) -> Vec<Region<'a>> {
    if !elf.shdrs.is_empty() {
        return elf
            .shdrs
            .iter()
            .skip(1)
            .filter(|sh| {
                let f = sh.sh_flags;
                f & u64::from(SHF_ALLOC) != 0
                    && f & u64::from(SHF_EXECINSTR) == 0
                    && sh.sh_type != SHT_NOBITS
                    && (f & u64::from(SHF_WRITE) != 0) == writable
                    && sh.sh_size > 0
            })
            .map(|sh| Region {
                addr: sh.sh_addr,
                bytes: elf.section_data(sh),
            })
            .collect();
    }
    elf.phdrs
        .iter()
        .filter(|ph| {
            ph.p_type == PT_LOAD && ph.p_flags & PF_X == 0 && (ph.p_flags & PF_W != 0) == writable
        })
        .map(|ph| Region {
            addr: ph.p_vaddr,
            bytes: elf.segment_data(ph),
        })
        .collect()
}

/// The pclntab by its section name (internal links).
fn named_pclntab<'a>(elf: &ElfFile<'a>) -> Option<(u64, Pclntab<'a>)> {
    let little = elf.is_little_endian();
    [".gopclntab", ".data.rel.ro.gopclntab"]
        .iter()
        .filter_map(|name| elf.section_by_name(name))
        .find_map(|sh| Some((sh.sh_addr, Pclntab::parse(elf.section_data(sh), little)?)))
}

/// Without a `.gopclntab` (external links): moduledata is in `.noptrdata` (or, without
/// section headers, a writable segment), and its first word points at the pclntab. Each
/// aligned word that points at a pclntab magic in the loaded data is tried, so the cost is
/// one pass over the small writable data, not a search of the large read-only data.
fn scan_for_moduledata<'a>(elf: &ElfFile<'a>) -> Option<Module<'a>> {
    let little = elf.is_little_endian();
    let ptr = if elf.is_64() { 8 } else { 4 };
    let magics: Vec<[u8; 4]> = [MAGIC_120, MAGIC_118, MAGIC_116]
        .iter()
        .map(|m| {
            if little {
                m.to_le_bytes()
            } else {
                m.to_be_bytes()
            }
        })
        .collect();
    let mut targets = regions(elf, false);
    targets.extend(regions(elf, true));
    let noptrdata = elf.section_by_name(".noptrdata").map(|sh| Region {
        addr: sh.sh_addr,
        bytes: elf.section_data(sh),
    });
    let writable = match noptrdata {
        Some(r) => vec![r],
        None => regions(elf, true),
    };
    for region in writable {
        for (k, word) in region.bytes.chunks_exact(ptr).enumerate() {
            let v = read_uint(word, 0, ptr, little)?;
            let Some(t) = targets
                .iter()
                .find(|t| v >= t.addr && v - t.addr < t.bytes.len() as u64)
            else {
                continue;
            };
            let bytes = &t.bytes[(v - t.addr) as usize..];
            if !magics.iter().any(|m| bytes.starts_with(m)) {
                continue;
            }
            let Some(tab) = Pclntab::parse(bytes, little).filter(plausible) else {
                continue;
            };
            let words = layout(tab.magic).itablinks + 2;
            let Some(md) = region.bytes.get(k * ptr..(k + words) * ptr) else {
                continue;
            };
            let read = |i: usize| read_uint(md, i * ptr, ptr, little);
            if let Some(md) = check_moduledata(read, &tab, v) {
                return Some(Module {
                    pclntab: tab,
                    pclntab_addr: v,
                    ranges: Some(md.ranges),
                    text: Some(md.text),
                });
            }
        }
    }
    None
}

/// The pclntab by its magic in the loaded data (read-only first: internal links put it in
/// `.rodata`'s segment, external links in `.data.rel.ro`, which is writable in the file).
fn search_pclntab<'a>(elf: &ElfFile<'a>) -> Option<(u64, Pclntab<'a>)> {
    let little = elf.is_little_endian();
    let ptr: u8 = if elf.is_64() { 8 } else { 4 };
    for writable in [false, true] {
        for region in regions(elf, writable) {
            for magic in [MAGIC_120, MAGIC_118, MAGIC_116] {
                let mut needle = if little {
                    magic.to_le_bytes()
                } else {
                    magic.to_be_bytes()
                }
                .to_vec();
                needle.extend_from_slice(&[0, 0]);
                for at in memchr::memmem::find_iter(region.bytes, &needle) {
                    if region.bytes.get(at + 7) != Some(&ptr) {
                        continue;
                    }
                    if let Some(tab) = Pclntab::parse(&region.bytes[at..], little)
                        && plausible(&tab)
                    {
                        return Some((region.addr + at as u64, tab));
                    }
                }
            }
        }
    }
    None
}

/// A magic found by search could be chance: require a sorted function table whose first
/// names are readable.
fn plausible(tab: &Pclntab<'_>) -> bool {
    let Some((start, end)) = tab.text_range() else {
        return false;
    };
    let mut last = start;
    for f in tab.functions().take(16) {
        if f.entry < last || f.entry > end || f.name.is_empty() {
            return false;
        }
        last = f.entry;
    }
    true
}

/// What moduledata says, checked.
struct ModuleData {
    ranges: [(u64, u64); 5],
    text: (u64, u64),
}

/// Word indexes of the moduledata fields binslim reads (each slice is ptr, len, cap).
struct Layout {
    pclntable: usize,
    ftab: usize,
    findfunctab: usize,
    minpc: usize,
    text: usize,
    types: usize,
    typelinks: usize,
    itablinks: usize,
}

fn layout(magic: u32) -> Layout {
    // pcHeader, funcnametab, cutab, filetab, pctab, pclntable, ftab, findfunctab, minpc,
    // maxpc, text, etext, noptrdata..enoptrbss (8 words), [covctrs, ecovctrs (1.20+)], end,
    // gcdata, gcbss, types, etypes, [rodata, gofunc (1.18+)], textsectmap, typelinks, itablinks.
    let covctrs = if magic == MAGIC_120 { 2 } else { 0 };
    let rodata_gofunc = if magic == MAGIC_116 { 0 } else { 2 };
    let types = 32 + covctrs + 3;
    let textsectmap = types + 2 + rodata_gofunc;
    Layout {
        pclntable: 13,
        ftab: 16,
        findfunctab: 19,
        minpc: 20,
        text: 22,
        types,
        typelinks: textsectmap + 3,
        itablinks: textsectmap + 6,
    }
}

/// Finds moduledata: a word that points at the pclntab, in writable data, checked against
/// the pclntab header. In a PIE the word is 0 in the file; the dynamic relocation that fills
/// it at load time names both its place and its value.
fn find_moduledata(elf: &ElfFile<'_>, tab: &Pclntab<'_>, pclntab_addr: u64) -> Option<ModuleData> {
    let ptr = tab.ptr_size;
    let little = elf.is_little_endian();
    let needle = if ptr == 8 {
        if little {
            pclntab_addr.to_le_bytes().to_vec()
        } else {
            pclntab_addr.to_be_bytes().to_vec()
        }
    } else {
        let a = u32::try_from(pclntab_addr).ok()?;
        if little {
            a.to_le_bytes().to_vec()
        } else {
            a.to_be_bytes().to_vec()
        }
    };
    let words = layout(tab.magic).itablinks + 2;
    for region in regions(elf, true) {
        for at in memchr::memmem::find_iter(region.bytes, &needle) {
            if at % ptr != 0 {
                continue;
            }
            let Some(bytes) = region.bytes.get(at..at + words * ptr) else {
                continue;
            };
            let read = |i: usize| read_uint(bytes, i * ptr, ptr, little);
            if let Some(md) = check_moduledata(read, tab, pclntab_addr) {
                return Some(md);
            }
        }
    }
    // A PIE: moduledata's pointers are filled by RELATIVE relocations.
    let relocs = relative_relocs(elf)?;
    let md_addr = relocs
        .iter()
        .find(|&&(_, addend)| addend == pclntab_addr)
        .map(|&(at, _)| at)?;
    let at = usize::try_from(elf.vaddr_to_offset(md_addr)?).ok()?;
    let bytes = elf.bytes_at(at as u64, words.checked_mul(ptr)? as u64)?;
    let read = |i: usize| {
        let addr = md_addr + (i * ptr) as u64;
        match relocs.binary_search_by_key(&addr, |&(a, _)| a) {
            Ok(k) => Some(relocs[k].1),
            Err(_) => read_uint(bytes, i * ptr, ptr, little),
        }
    };
    check_moduledata(read, tab, pclntab_addr)
}

/// `(place, value)` of every RELATIVE relocation of the `SHT_RELA` sections, sorted by place
/// (64-bit files; 32-bit REL relocations keep the value in place, where the search finds it).
fn relative_relocs(elf: &ElfFile<'_>) -> Option<Vec<(u64, u64)>> {
    if !elf.is_64() {
        return None;
    }
    let mut out = Vec::new();
    for sh in elf.shdrs.iter().filter(|sh| {
        sh.sh_type == SHT_RELA && sh.sh_flags & u64::from(SHF_ALLOC) != 0 && sh.sh_entsize == 24
    }) {
        for rel in elf.section_data(sh).chunks_exact(24) {
            let offset = elf.read_uint(rel, 0, 8)?;
            let info = elf.read_uint(rel, 8, 8)?;
            let addend = elf.read_uint(rel, 16, 8)?;
            if RELATIVE_TYPES.contains(&((info & 0xffff_ffff) as u32)) {
                out.push((offset, addend));
            }
        }
    }
    out.sort_unstable();
    (!out.is_empty()).then_some(out)
}

/// Believes a moduledata candidate only when it agrees with the pclntab header: pclntable
/// and ftab point into the pclntab, and the text range matches the function table.
fn check_moduledata(
    read: impl Fn(usize) -> Option<u64>,
    tab: &Pclntab<'_>,
    pclntab_addr: u64,
) -> Option<ModuleData> {
    let l = layout(tab.magic);
    let pcln_addr = pclntab_addr.checked_add(tab.pcln_off as u64)?;
    if read(0)? != pclntab_addr || read(l.pclntable)? != pcln_addr || read(l.ftab)? != pcln_addr {
        return None;
    }
    if read(l.ftab + 1)? != tab.nfunc as u64 + 1 {
        return None;
    }
    let (text, etext) = (read(l.text)?, read(l.text + 1)?);
    if text > etext || (tab.magic != MAGIC_116 && text != tab.text_start) {
        return None;
    }
    let pclntab_end = pcln_addr.checked_add(read(l.pclntable + 1)?)?;
    // The linker sizes findfunctab by its text symbols: first entry to the end sentinel of
    // the function table (moduledata's maxpc may lie past it).
    let (minpc, maxpc) = tab
        .text_range()
        .unwrap_or((read(l.minpc)?, read(l.minpc + 1)?));
    let findfunctab = read(l.findfunctab)?;
    let span = maxpc.saturating_sub(minpc);
    let findfunctab_len = (span.div_ceil(FINDFUNC_BUCKET))
        .saturating_mul(4)
        .saturating_add(span.div_ceil(FINDFUNC_SUBBUCKET));
    let findfunctab_end = findfunctab.saturating_add(findfunctab_len);
    let (types, etypes) = (read(l.types)?, read(l.types + 1)?);
    let slice = |i: usize, elem: u64| -> Option<(u64, u64)> {
        let start = read(i)?;
        Some((
            start,
            start.saturating_add(read(i + 1)?.saturating_mul(elem)),
        ))
    };
    let ranges = [
        (pclntab_addr, pclntab_end),
        (types, etypes.max(types)),
        slice(l.typelinks, 4)?,
        slice(l.itablinks, tab.ptr_size as u64)?,
        (findfunctab, findfunctab_end),
    ];
    Some(ModuleData {
        ranges,
        text: (text, etext),
    })
}

/// The bytes of each section that Go metadata ranges cover, merged so that overlapping
/// ranges count once: `(section index, bytes)` for every section with a share.
pub fn covered_by_section(elf: &ElfFile<'_>, ranges: &[(u64, u64)]) -> Vec<(usize, u64)> {
    let mut merged: Vec<(u64, u64)> = ranges.iter().copied().filter(|r| r.0 < r.1).collect();
    merged.sort_unstable();
    let mut out_ranges: Vec<(u64, u64)> = Vec::with_capacity(merged.len());
    for r in merged {
        match out_ranges.last_mut() {
            Some(last) if r.0 <= last.1 => last.1 = last.1.max(r.1),
            _ => out_ranges.push(r),
        }
    }
    let mut out = Vec::new();
    for (i, sh) in elf.shdrs.iter().enumerate().skip(1) {
        if sh.sh_flags & u64::from(SHF_ALLOC) == 0 || sh.sh_type == SHT_NOBITS || sh.sh_size == 0 {
            continue;
        }
        let (s, e) = (sh.sh_addr, sh.sh_addr.saturating_add(sh.sh_size));
        let bytes: u64 = out_ranges
            .iter()
            .map(|&(a, b)| b.min(e).saturating_sub(a.max(s)))
            .sum();
        if bytes > 0 {
            out.push((i, bytes));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Go 1.20+ pclntab with two functions, built by hand.
    fn tiny() -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&MAGIC_120.to_le_bytes());
        b.extend_from_slice(&[0, 0, 1, 8]);
        let header_words = [2u64, 0, 0x1000, 72, 0, 0, 0, 80];
        for w in header_words {
            b.extend_from_slice(&w.to_le_bytes());
        }
        // funcnametab at 72: "a.F\0b.G\0"
        b.extend_from_slice(b"a.F\0b.G\0");
        // pclntable at 80: ftab (3 entries), then two _func records at 24 and 32.
        for (entry, func) in [(0u32, 24u32), (0x40, 32), (0x60, 0)] {
            b.extend_from_slice(&entry.to_le_bytes());
            b.extend_from_slice(&func.to_le_bytes());
        }
        for name_off in [0u32, 4] {
            b.extend_from_slice(&0u32.to_le_bytes());
            b.extend_from_slice(&name_off.to_le_bytes());
        }
        b
    }

    #[test]
    fn functions_run_to_the_next_entry() {
        let b = tiny();
        let tab = Pclntab::parse(&b, true).unwrap();
        let f: Vec<_> = tab.functions().collect();
        assert_eq!(f.len(), 2);
        assert_eq!(
            (f[0].entry, f[0].size, f[0].name),
            (0x1000, 0x40, &b"a.F"[..])
        );
        assert_eq!(
            (f[1].entry, f[1].size, f[1].name),
            (0x1040, 0x20, &b"b.G"[..])
        );
        assert_eq!(tab.text_range(), Some((0x1000, 0x1060)));
        assert!(plausible(&tab));
    }

    #[test]
    fn truncated_tables_are_refused_not_read_past() {
        let b = tiny();
        for n in 0..b.len() {
            if let Some(tab) = Pclntab::parse(&b[..n], true) {
                let _ = tab.functions().count();
            }
        }
        assert!(Pclntab::parse(&b[..100], true).is_none());
    }

    #[test]
    fn layouts_by_version() {
        // Go 1.23, 64-bit: types at byte 296, typelinks at 352, itablinks at 376.
        let l = layout(MAGIC_120);
        assert_eq!(
            (l.types * 8, l.typelinks * 8, l.itablinks * 8),
            (296, 352, 376)
        );
        let l = layout(MAGIC_118);
        assert_eq!((l.types, l.typelinks, l.itablinks), (35, 42, 45));
        let l = layout(MAGIC_116);
        assert_eq!((l.types, l.typelinks, l.itablinks), (35, 40, 43));
    }
}
