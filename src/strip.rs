//! Removing the sections a program never loads: debug information, the static symbol table and
//! other non-allocated sections such as `.comment`.
//!
//! Sections that are stripped live outside every segment, so the loaded part of the file (the
//! ELF header, the program headers and every segment) is copied once, unchanged, and only the
//! kept non-loaded sections, a new `.shstrtab` and a new section header table are written after
//! it. [`plan`] computes that layout from the headers alone; the [`Layout`] then writes the
//! result from the input bytes ([`Layout::write_to`]), from a file through a small buffer
//! ([`Layout::write_from`]), or file to file inside the kernel ([`Layout::copy_file`]), so
//! stripping a 40 MB binary neither reads its debug data nor holds the file in memory.
//!
//! Allocated sections are never removed or moved: a segment whose section disappears would be
//! dropped by other tools (`.interp` → no PT_INTERP). Links from kept sections to removed ones
//! are cleared (an allocated `.rela.plt` in static glibc links `.symtab`), and a non-allocated
//! section that depends on a removed one goes with it.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;

use goblin::elf::header::{ET_CORE, ET_REL};
use goblin::elf::section_header::{
    SHF_ALLOC, SHT_DYNSYM, SHT_NOBITS, SHT_NOTE, SHT_NULL, SHT_PROGBITS, SHT_REL, SHT_RELA,
    SHT_SYMTAB, SHT_SYMTAB_SHNDX,
};
use serde::Serialize;

use crate::elf::ElfFile;
use crate::elf::file::{has_file_bytes, has_segment_bytes};
use crate::elf::packed;
use crate::elf::sections::{is_debug_name, is_symbols};
use crate::error::{Error, Result};

/// `SHF_INFO_LINK`: `sh_info` holds a section index.
const SHF_INFO_LINK: u64 = 0x40;
/// First reserved section index.
const SHN_LORESERVE: u32 = 0xff00;
/// Absolute symbol section index.
const SHN_ABS: u16 = 0xfff1;
/// "The real index is elsewhere".
const SHN_XINDEX: u16 = 0xffff;
/// The largest alignment honoured for a section appended after the loaded part.
const MAX_APPENDED_ALIGN: u64 = 4096;

/// What to remove. Every class only ever covers non-allocated sections.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct StripOptions {
    /// Remove debug information (`.debug_*`, `.zdebug_*`, `.gnu_debugaltlink`, `.stab*`).
    pub debug: bool,
    /// Remove the static symbol table (`.symtab`, `.strtab`, `.symtab_shndx`).
    pub symbols: bool,
    /// Remove every other non-allocated section (`.comment`, `.note.*` that are not loaded,
    /// relocations for removed sections), except `.dep-v0` (cargo-auditable), processor
    /// attribute sections and, unless `remove_debuglink`, `.gnu_debuglink`.
    pub other: bool,
    /// With `other`, remove `.gnu_debuglink` too.
    pub remove_debuglink: bool,
    /// Add (or replace) a `.gnu_debuglink` section pointing at a separate debug file.
    pub add_debuglink: Option<DebugLink>,
}

impl StripOptions {
    /// Options that remove debug data, symbols and other non-loaded sections: the equivalent
    /// of `strip --strip-all`, plus `.comment`.
    pub fn all() -> Self {
        StripOptions {
            debug: true,
            symbols: true,
            other: true,
            ..StripOptions::default()
        }
    }
}

/// The contents of a `.gnu_debuglink` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebugLink {
    /// The debug file's name (without directories), as gdb looks it up.
    pub name: String,
    /// The CRC-32 of the debug file's contents.
    pub crc: u32,
}

/// Why a section is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// Debug information.
    Debug,
    /// The static symbol table.
    Symbols,
    /// Another non-loaded section.
    Other,
}

/// One section the layout leaves out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemovedSection {
    /// The section name.
    pub name: String,
    /// Its size in the input file.
    pub size: u64,
    /// Why it goes.
    pub class: Class,
}

/// A piece of the output file.
#[derive(Debug, Clone)]
enum Chunk {
    /// Bytes copied from the input at this offset.
    Input { offset: u64, len: u64 },
    /// New bytes (headers, string tables, rewritten symbol tables).
    Data(Vec<u8>),
    /// Alignment padding.
    Zeros(u64),
}

/// The output file, as a list of pieces of the input and new bytes.
#[derive(Debug, Clone)]
pub struct Layout {
    chunks: Vec<Chunk>,
    size: u64,
    /// The sections left out, in input order.
    pub removed: Vec<RemovedSection>,
}

/// Something the input bytes can be read from at an offset.
pub trait Source {
    /// Fills `buf` from `offset`; the range is inside the input.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
}

impl Source for [u8] {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let src = usize::try_from(offset)
            .ok()
            .and_then(|o| self.get(o..o.checked_add(buf.len())?))
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "beyond the input"))?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

impl Source for File {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        FileExt::read_exact_at(self, buf, offset)
    }
}

const ZEROS: [u8; 4096] = [0; 4096];

fn write_zeros<W: Write>(w: &mut W, mut n: u64) -> io::Result<()> {
    while n > 0 {
        let k = n.min(ZEROS.len() as u64) as usize;
        w.write_all(&ZEROS[..k])?;
        n -= k as u64;
    }
    Ok(())
}

impl Layout {
    /// The size of the output in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Writes the output, reading input pieces from `data` (the input the layout was planned on).
    pub fn write_to<W: Write>(&self, data: &[u8], mut w: W) -> io::Result<()> {
        for c in &self.chunks {
            match c {
                Chunk::Input { offset, len } => {
                    let s = crate::elf::file::slice(data, *offset, *len).ok_or_else(|| {
                        io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "input is shorter than planned",
                        )
                    })?;
                    w.write_all(s)?;
                }
                Chunk::Data(d) => w.write_all(d)?,
                Chunk::Zeros(n) => write_zeros(&mut w, *n)?,
            }
        }
        w.flush()
    }

    /// Writes the output, reading input pieces from `src` through a 1 MiB buffer (keeps memory
    /// use flat when the input is a large file).
    pub fn write_from<S: Source + ?Sized, W: Write>(&self, src: &S, mut w: W) -> io::Result<()> {
        let mut buf = vec![0u8; 1 << 20];
        for c in &self.chunks {
            match c {
                Chunk::Input { offset, len } => {
                    let mut done = 0u64;
                    while done < *len {
                        let k = (*len - done).min(buf.len() as u64) as usize;
                        src.read_exact_at(&mut buf[..k], offset + done)?;
                        w.write_all(&buf[..k])?;
                        done += k as u64;
                    }
                }
                Chunk::Data(d) => w.write_all(d)?,
                Chunk::Zeros(n) => write_zeros(&mut w, *n)?,
            }
        }
        w.flush()
    }

    /// Writes the output from the file `input` to `out` (both positioned by this call), letting
    /// the kernel copy the input pieces (`copy_file_range`) where it can.
    pub fn copy_file(&self, input: &File, out: &File) -> io::Result<()> {
        let mut out = out;
        out.seek(SeekFrom::Start(0))?;
        let mut src = input;
        for c in &self.chunks {
            match c {
                Chunk::Input { offset, len } => {
                    src.seek(SeekFrom::Start(*offset))?;
                    let n = io::copy(&mut src.take(*len), &mut out)?;
                    if n != *len {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "input is shorter than planned",
                        ));
                    }
                }
                Chunk::Data(d) => out.write_all(d)?,
                Chunk::Zeros(n) => write_zeros(&mut out, *n)?,
            }
        }
        out.set_len(self.size)?;
        out.flush()
    }

    fn push(&mut self, c: Chunk) {
        let n = match &c {
            Chunk::Input { len, .. } => *len,
            Chunk::Data(d) => d.len() as u64,
            Chunk::Zeros(n) => *n,
        };
        if n == 0 {
            return;
        }
        self.size += n;
        self.chunks.push(c);
    }

    fn pad_to(&mut self, align: u64) {
        if align > 1 {
            let rem = self.size % align;
            if rem != 0 {
                self.push(Chunk::Zeros(align - rem));
            }
        }
    }
}

/// Removes sections from `data` and writes the result to `w`. Returns the layout written.
pub fn strip<W: Write>(data: &[u8], opts: &StripOptions, w: W) -> Result<Layout> {
    let layout = plan(data, opts)?;
    layout
        .write_to(data, w)
        .map_err(|e| Error::from_io(e, "cannot write"))?;
    Ok(layout)
}

/// Refuses files binslim must not strip: packed, without section headers, objects, core dumps.
pub fn check_strippable(elf: &ElfFile<'_>) -> Result<()> {
    if packed::detect(elf).is_some() {
        return Err(Error::Unsupported(
            "is already packed with UPX: nothing to strip (`upx -d` restores the original)".into(),
        ));
    }
    match elf.header.e_type {
        ET_REL => {
            return Err(Error::Unsupported(
                "is a relocatable object (.o), not a program: link it first".into(),
            ));
        }
        ET_CORE => return Err(Error::Unsupported("is a core dump, not a program".into())),
        _ => {}
    }
    if elf.shdrs.is_empty() {
        return Err(Error::Unsupported(
            "has no section headers (already stripped with --strip-sections, or packed): \
             there is nothing binslim can strip safely"
                .into(),
        ));
    }
    if elf.shstrndx.is_none() {
        return Err(Error::Unsupported(
            "has no section name table: binslim cannot tell its sections apart".into(),
        ));
    }
    Ok(())
}

/// What happens to one input section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Kept, data where it is (inside the copied prefix) or appended.
    Keep,
    /// Kept as `SHT_NOBITS` (debug files: loaded sections without their bytes).
    NoBits,
    /// Removed.
    Drop(Class),
}

/// Endianness-aware little writer for headers.
#[derive(Clone, Copy)]
struct Enc {
    is64: bool,
    little: bool,
}

impl Enc {
    fn put(self, out: &mut Vec<u8>, v: u64, size: usize) {
        let bytes = v.to_le_bytes();
        if self.little {
            out.extend_from_slice(&bytes[..size]);
        } else {
            out.extend(bytes[..size].iter().rev());
        }
    }
    fn patch(self, buf: &mut [u8], at: usize, v: u64, size: usize) {
        let mut tmp = Vec::with_capacity(8);
        self.put(&mut tmp, v, size);
        buf[at..at + size].copy_from_slice(&tmp);
    }
    fn word(self) -> usize {
        if self.is64 { 8 } else { 4 }
    }
    fn shdr(self, out: &mut Vec<u8>, s: &Shdr) {
        let w = self.word();
        self.put(out, u64::from(s.name), 4);
        self.put(out, u64::from(s.sh_type), 4);
        self.put(out, s.flags, w);
        self.put(out, s.addr, w);
        self.put(out, s.offset, w);
        self.put(out, s.size, w);
        self.put(out, u64::from(s.link), 4);
        self.put(out, u64::from(s.info), 4);
        self.put(out, s.addralign, w);
        self.put(out, s.entsize, w);
    }
    /// Offsets of e_shoff, e_shnum, e_shstrndx in the ELF header.
    fn ehdr_fields(self) -> (usize, usize, usize) {
        if self.is64 {
            (0x28, 0x3c, 0x3e)
        } else {
            (0x20, 0x30, 0x32)
        }
    }
    fn sym_size(self) -> usize {
        if self.is64 { 24 } else { 16 }
    }
    fn sym_shndx_at(self) -> usize {
        if self.is64 { 6 } else { 14 }
    }
    fn read(self, b: &[u8], at: usize, size: usize) -> u64 {
        crate::elf::file::read_uint(b, at, size, self.little).unwrap_or(0)
    }
}

/// A section header as written.
#[derive(Debug, Clone)]
struct Shdr {
    name: u32,
    sh_type: u32,
    flags: u64,
    addr: u64,
    offset: u64,
    size: u64,
    link: u32,
    info: u32,
    addralign: u64,
    entsize: u64,
}

/// Which mode the layout is built in.
enum Mode<'o> {
    Strip(&'o StripOptions),
    DebugFile,
}

/// Plans the stripped file: which sections go, where the kept ones land.
pub fn plan(data: &[u8], opts: &StripOptions) -> Result<Layout> {
    plan_parsed(&ElfFile::parse(data)?, opts)
}

/// [`plan`] on a file already parsed (the shrink pipeline parses once and plans every step and
/// the debug file from that parse).
pub fn plan_parsed(elf: &ElfFile<'_>, opts: &StripOptions) -> Result<Layout> {
    check_strippable(elf)?;
    build(elf, Mode::Strip(opts))
}

/// Plans a separate debug file (as `objcopy --only-keep-debug` makes): the same ELF and program
/// headers, loaded sections as `SHT_NOBITS`, and the debug sections, symbol table and notes with
/// their contents.
pub fn plan_debug_file(data: &[u8]) -> Result<Layout> {
    plan_debug_file_parsed(&ElfFile::parse(data)?)
}

/// [`plan_debug_file`] on a file already parsed.
pub fn plan_debug_file_parsed(elf: &ElfFile<'_>) -> Result<Layout> {
    check_strippable(elf)?;
    build(elf, Mode::DebugFile)
}

/// Sorts one non-allocated section for stripping; `None` keeps it.
fn classify(name: &str, sh_type: u32, opts: &StripOptions) -> Option<Class> {
    if is_debug_name(name) || name == ".gnu_debugaltlink" {
        return opts.debug.then_some(Class::Debug);
    }
    if is_symbols(name, sh_type) {
        return opts.symbols.then_some(Class::Symbols);
    }
    if name == ".gnu_debuglink" {
        return (opts.add_debuglink.is_some() || (opts.other && opts.remove_debuglink))
            .then_some(Class::Other);
    }
    // cargo-auditable's dependency list, and processor-specific attribute sections
    // (`.ARM.attributes`, `.riscv.attributes`) that tools read to tell the ABI.
    if name == ".dep-v0" || (0x7000_0000..=0x7fff_ffff).contains(&sh_type) {
        return None;
    }
    opts.other.then_some(Class::Other)
}

fn build(elf: &ElfFile<'_>, mode: Mode<'_>) -> Result<Layout> {
    let enc = Enc {
        is64: elf.is_64(),
        little: elf.is_little_endian(),
    };
    let shdrs = &elf.shdrs;
    let n = shdrs.len();
    let shstrndx = elf.shstrndx.unwrap_or(0);
    let names: Vec<String> = shdrs.iter().map(|s| elf.name(s).into_owned()).collect();
    let is_alloc = |i: usize| shdrs[i].sh_flags & u64::from(SHF_ALLOC) != 0;

    // 1. Decide each section's fate.
    let mut fate = vec![Fate::Keep; n];
    for i in 1..n {
        let sh = &shdrs[i];
        if i == shstrndx {
            continue;
        }
        fate[i] = match &mode {
            Mode::Strip(opts) => {
                if is_alloc(i) || sh.sh_type == SHT_NULL {
                    Fate::Keep
                } else {
                    classify(&names[i], sh.sh_type, opts).map_or(Fate::Keep, Fate::Drop)
                }
            }
            Mode::DebugFile => {
                let debug = is_debug_name(&names[i]) || names[i] == ".gnu_debugaltlink";
                if sh.sh_type == SHT_NOTE
                    || (!is_alloc(i) && (debug || is_symbols(&names[i], sh.sh_type)))
                {
                    Fate::Keep
                } else if is_alloc(i) {
                    Fate::NoBits
                } else {
                    Fate::Drop(Class::Other)
                }
            }
        };
    }
    // A non-allocated section that links to (or relocates) a removed one goes too.
    loop {
        let mut changed = false;
        for i in 1..n {
            if !matches!(fate[i], Fate::Keep) || is_alloc(i) || i == shstrndx {
                continue;
            }
            let sh = &shdrs[i];
            let link = sh.sh_link as usize;
            let info_is_section =
                matches!(sh.sh_type, SHT_REL | SHT_RELA) || sh.sh_flags & SHF_INFO_LINK != 0;
            let dead = |j: usize| j < n && j != 0 && matches!(fate[j], Fate::Drop(_));
            let dep = if dead(link) {
                Some(link)
            } else if info_is_section && dead(sh.sh_info as usize) {
                Some(sh.sh_info as usize)
            } else {
                None
            };
            if let Some(j) = dep {
                let Fate::Drop(class) = fate[j] else {
                    unreachable!()
                };
                fate[i] = Fate::Drop(class);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }

    // 2. New indices.
    let mut new_index = vec![0u32; n];
    let mut next = 1u32;
    for i in 1..n {
        if !matches!(fate[i], Fate::Drop(_)) {
            new_index[i] = next;
            next += 1;
        }
    }
    let debuglink = match &mode {
        Mode::Strip(opts) => opts.add_debuglink.clone(),
        Mode::DebugFile => None,
    };
    let total_sections = next as usize + usize::from(debuglink.is_some());
    let removed_any = fate.iter().any(|f| matches!(f, Fate::Drop(_)));
    // Section indices in 32-bit fields (`sh_link`, `sh_info`, `.symtab_shndx` entries, section
    // 0's `sh_link` for `e_shstrndx`) have no reserved range: an index at or above
    // SHN_LORESERVE is a real section in a file with more than 0xff00 of them, and is
    // renumbered like any other. Only 16-bit `st_shndx` values reserve that range (handled in
    // `remap_symbols`). `None`: the section is removed.
    let remap = |old: u32| -> Option<u32> {
        let i = old as usize;
        if old == 0 || i >= n {
            return Some(old);
        }
        (new_index[i] != 0).then_some(new_index[i])
    };

    // 3. The copied prefix: headers, every segment and every allocated section.
    let phend = elf.header.e_phoff + elf.phdrs.len() as u64 * u64::from(elf.header.e_phentsize);
    // The ELF header's real size: `e_ehsize` is not trusted (a crafted value would make the
    // header copy read past the end of the file).
    let ehsize: u64 = if enc.is64 { 64 } else { 52 };
    // The rewritten ELF header must not change program headers that share its bytes.
    if !elf.phdrs.is_empty() && elf.header.e_phoff < ehsize {
        return Err(Error::Unsupported(format!(
            "has overlapping headers or tables (at byte {}): binslim cannot rewrite it safely",
            elf.header.e_phoff
        )));
    }
    let mut prefix_end = ehsize.max(if elf.phdrs.is_empty() { 0 } else { phend });
    if let Mode::Strip(_) = mode {
        for ph in &elf.phdrs {
            if has_segment_bytes(ph) {
                prefix_end = prefix_end.max(ph.p_offset.saturating_add(ph.p_filesz));
            }
        }
        for (i, sh) in shdrs.iter().enumerate().skip(1) {
            if is_alloc(i) && has_file_bytes(sh) {
                prefix_end = prefix_end.max(sh.sh_offset.saturating_add(sh.sh_size));
            }
        }
    }
    let len = elf.data.len() as u64;
    prefix_end = prefix_end.min(len);
    // Where the old section name table's bytes end (`None` when its type says it has none).
    let shstr_end = has_file_bytes(&shdrs[shstrndx]).then(|| {
        shdrs[shstrndx]
            .sh_offset
            .saturating_add(shdrs[shstrndx].sh_size)
    });

    // Kept non-allocated sections: in place when they start inside the prefix (extending it),
    // else appended in input order.
    let mut by_offset: Vec<usize> = (1..n)
        .filter(|&i| {
            fate[i] == Fate::Keep
                && i != shstrndx
                && has_file_bytes(&shdrs[i])
                && (!is_alloc(i) || matches!(mode, Mode::DebugFile))
        })
        .collect();
    by_offset.sort_by_key(|&i| (shdrs[i].sh_offset, i));
    let mut appended = Vec::new();
    let mut is_appended = vec![false; n];
    for &i in &by_offset {
        let sh = &shdrs[i];
        if matches!(mode, Mode::Strip(_)) && sh.sh_offset < prefix_end {
            prefix_end = prefix_end.max(sh.sh_offset.saturating_add(sh.sh_size));
        } else {
            appended.push(i);
            is_appended[i] = true;
        }
    }

    // Zero padding at the end of the last segment that no section covers is dropped by
    // shortening the segments' p_filesz (the kernel zero-fills up to p_memsz), as GNU strip does.
    let mut phdr_patch: Option<Vec<u8>> = None;
    if matches!(mode, Mode::Strip(_)) {
        let mut content_end = ehsize.max(if elf.phdrs.is_empty() { 0 } else { phend });
        for i in 1..n {
            let sh = &shdrs[i];
            let kept_here = fate[i] == Fate::Keep && !is_appended[i];
            if has_file_bytes(sh) && (is_alloc(i) || kept_here) && i != shstrndx {
                content_end = content_end.max(sh.sh_offset.saturating_add(sh.sh_size));
            }
        }
        if let Some(end) = shstr_end
            && end <= prefix_end
        {
            content_end = content_end.max(end);
        }
        let crossing: Vec<usize> = (0..elf.phdrs.len())
            .filter(|&k| {
                let ph = &elf.phdrs[k];
                has_segment_bytes(ph) && ph.p_offset.saturating_add(ph.p_filesz) > content_end
            })
            .collect();
        let tail_is_zero = content_end < prefix_end
            && crate::elf::file::slice(elf.data, content_end, prefix_end - content_end)
                .is_some_and(|t| t.iter().all(|&b| b == 0));
        let trimmable = crossing.iter().all(|&k| {
            elf.phdrs[k].p_type == goblin::elf::program_header::PT_LOAD
                && elf.phdrs[k].p_offset <= content_end
        });
        if tail_is_zero && trimmable {
            let entsize = usize::from(elf.header.e_phentsize);
            let phoff = elf.header.e_phoff;
            if let Some(table) =
                crate::elf::file::slice(elf.data, phoff, (elf.phdrs.len() * entsize) as u64)
            {
                let mut table = table.to_vec();
                let at = if enc.is64 { 32 } else { 16 };
                for &k in &crossing {
                    let filesz = content_end - elf.phdrs[k].p_offset;
                    enc.patch(&mut table, k * entsize + at, filesz, enc.word());
                }
                phdr_patch = Some(table);
                prefix_end = content_end;
            }
        }
    }

    // A debug file holds no segment contents: segments beyond the headers get p_filesz 0.
    if matches!(mode, Mode::DebugFile) {
        let entsize = usize::from(elf.header.e_phentsize);
        if let Some(table) = crate::elf::file::slice(
            elf.data,
            elf.header.e_phoff,
            (elf.phdrs.len() * entsize) as u64,
        ) {
            let mut table = table.to_vec();
            let at = if enc.is64 { 32 } else { 16 };
            for (k, ph) in elf.phdrs.iter().enumerate() {
                if ph.p_offset.saturating_add(ph.p_filesz) > prefix_end {
                    enc.patch(&mut table, k * entsize + at, 0, enc.word());
                    let off_at = if enc.is64 { 8 } else { 4 };
                    enc.patch(&mut table, k * entsize + off_at, 0, enc.word());
                }
            }
            phdr_patch = Some(table);
        }
    }

    // The section name table: reuse the old one in place when it lies in the prefix and no new
    // name is needed; else build a new one from the kept names.
    let old_shstr = &shdrs[shstrndx];
    let reuse_shstr = matches!(mode, Mode::Strip(_))
        && debuglink.is_none()
        && shstr_end.is_some_and(|end| end <= prefix_end);
    let mut name_off = vec![0u32; n];
    let mut shstr_data = Vec::new();
    let mut debuglink_name = 0u32;
    if reuse_shstr {
        for i in 0..n {
            name_off[i] = shdrs[i].sh_name as u32;
        }
    } else {
        let mut wanted: Vec<&str> = (1..n)
            .filter(|&i| !matches!(fate[i], Fate::Drop(_)))
            .map(|i| names[i].as_str())
            .collect();
        if debuglink.is_some() {
            wanted.push(".gnu_debuglink");
        }
        let (table, offsets) = build_strtab(&wanted);
        shstr_data = table;
        let mut k = 0;
        for i in 1..n {
            if !matches!(fate[i], Fate::Drop(_)) {
                name_off[i] = offsets[k];
                k += 1;
            }
        }
        if debuglink.is_some() {
            debuglink_name = offsets[k];
        }
    }

    // 4. Symbol tables whose section indices shift (or point at removed sections).
    let mut rewritten: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut overlays: Vec<(u64, Vec<u8>)> = Vec::new();
    if let Some(table) = phdr_patch {
        overlays.push((elf.header.e_phoff, table));
    }
    if removed_any {
        for i in 1..n {
            let sh = &shdrs[i];
            if fate[i] != Fate::Keep
                || !matches!(sh.sh_type, SHT_SYMTAB | SHT_DYNSYM | SHT_SYMTAB_SHNDX)
            {
                continue;
            }
            let Some(fixed) = remap_symbols(elf, enc, i, &remap)? else {
                continue;
            };
            if is_alloc(i) && sh.sh_offset.saturating_add(sh.sh_size) <= prefix_end {
                overlays.push((sh.sh_offset, fixed));
            } else if !is_alloc(i) {
                rewritten.push((i, fixed));
            }
        }
    }

    // 5. Lay out the output.
    let mut out = Layout {
        chunks: Vec::new(),
        size: 0,
        removed: (1..n)
            .filter_map(|i| match fate[i] {
                Fate::Drop(class) => Some(RemovedSection {
                    name: names[i].clone(),
                    size: if shdrs[i].sh_type == SHT_NOBITS {
                        0
                    } else {
                        shdrs[i].sh_size
                    },
                    class,
                }),
                _ => None,
            })
            .collect(),
    };
    // The ELF header is patched after the section header table's place is known; reserve it.
    out.chunks.push(Chunk::Data(Vec::new()));
    out.size = ehsize;
    let mut new_offset = vec![0u64; n];
    let mut new_size: Vec<u64> = shdrs.iter().map(|s| s.sh_size).collect();
    overlays.sort_by_key(|o| o.0);
    let mut pos = ehsize;
    for (off, bytes) in &overlays {
        // A patched table that starts inside the ELF header or inside another patched table
        // (crafted files overlap the program headers with the ELF header) cannot be rewritten
        // without one patch undoing the other.
        if *off < pos {
            return Err(Error::Unsupported(format!(
                "has overlapping headers or tables (at byte {off}): binslim cannot rewrite it \
                 safely"
            )));
        }
        out.push(Chunk::Input {
            offset: pos,
            len: off - pos,
        });
        out.push(Chunk::Data(bytes.clone()));
        pos = off + bytes.len() as u64;
    }
    if prefix_end > pos {
        out.push(Chunk::Input {
            offset: pos,
            len: prefix_end - pos,
        });
    }
    for i in 1..n {
        if fate[i] == Fate::Keep && shdrs[i].sh_offset < prefix_end && !is_appended[i] {
            new_offset[i] = shdrs[i].sh_offset;
        }
    }
    for &i in &appended {
        let sh = &shdrs[i];
        // Non-loaded sections need no more than a page of alignment; a crafted `sh_addralign`
        // must not make binslim write gigabytes of padding.
        out.pad_to(sh.sh_addralign.clamp(1, MAX_APPENDED_ALIGN));
        new_offset[i] = out.size;
        if let Some((_, bytes)) = rewritten.iter().find(|(j, _)| *j == i) {
            new_size[i] = bytes.len() as u64;
            out.push(Chunk::Data(bytes.clone()));
        } else {
            let len = sh.sh_size.min(len.saturating_sub(sh.sh_offset));
            out.push(Chunk::Input {
                offset: sh.sh_offset,
                len,
            });
        }
    }
    // NOBITS sections keep their (meaningless) offsets clamped to the file.
    for i in 1..n {
        if shdrs[i].sh_type == SHT_NOBITS || fate[i] == Fate::NoBits {
            new_offset[i] = if fate[i] == Fate::NoBits {
                out.size
            } else {
                shdrs[i].sh_offset.min(prefix_end)
            };
        }
    }
    let mut debuglink_off = 0;
    let mut debuglink_data = Vec::new();
    if let Some(dl) = &debuglink {
        debuglink_data.extend_from_slice(dl.name.as_bytes());
        debuglink_data.push(0);
        while debuglink_data.len() % 4 != 0 {
            debuglink_data.push(0);
        }
        enc.put(&mut debuglink_data, u64::from(dl.crc), 4);
        out.pad_to(4);
        debuglink_off = out.size;
        out.push(Chunk::Data(debuglink_data.clone()));
    }
    if reuse_shstr {
        new_offset[shstrndx] = old_shstr.sh_offset;
    } else {
        new_offset[shstrndx] = out.size;
        new_size[shstrndx] = shstr_data.len() as u64;
        out.push(Chunk::Data(shstr_data));
    }

    // 6. The section header table.
    out.pad_to(enc.word() as u64);
    let shoff = out.size;
    let count = total_sections as u64;
    let new_shstrndx = u64::from(new_index[shstrndx]);
    let mut table = Vec::with_capacity(total_sections * if enc.is64 { 64 } else { 40 });
    let s0 = &shdrs[0];
    enc.shdr(
        &mut table,
        &Shdr {
            name: 0,
            sh_type: SHT_NULL,
            flags: 0,
            addr: 0,
            offset: 0,
            size: if count >= u64::from(SHN_LORESERVE) {
                count
            } else {
                0
            },
            link: if new_shstrndx >= u64::from(SHN_LORESERVE) {
                new_shstrndx as u32
            } else {
                0
            },
            // sh_info carries the program header count when e_phnum is PN_XNUM.
            info: if elf.header.e_phnum == 0xffff {
                s0.sh_info
            } else {
                0
            },
            addralign: 0,
            entsize: 0,
        },
    );
    for i in 1..n {
        if matches!(fate[i], Fate::Drop(_)) {
            continue;
        }
        let sh = &shdrs[i];
        // An allocated section linking a removed one (.rela.plt → .symtab) loses the link.
        let link = remap(sh.sh_link).unwrap_or_default();
        let info_is_section =
            matches!(sh.sh_type, SHT_REL | SHT_RELA) || sh.sh_flags & SHF_INFO_LINK != 0;
        let info = if info_is_section {
            remap(sh.sh_info).unwrap_or(0)
        } else {
            sh.sh_info
        };
        let nobits = fate[i] == Fate::NoBits;
        enc.shdr(
            &mut table,
            &Shdr {
                name: name_off[i],
                sh_type: if nobits { SHT_NOBITS } else { sh.sh_type },
                flags: sh.sh_flags,
                addr: sh.sh_addr,
                offset: new_offset[i],
                size: new_size[i],
                link,
                info,
                addralign: sh.sh_addralign,
                entsize: sh.sh_entsize,
            },
        );
    }
    if debuglink.is_some() {
        enc.shdr(
            &mut table,
            &Shdr {
                name: debuglink_name,
                sh_type: SHT_PROGBITS,
                flags: 0,
                addr: 0,
                offset: debuglink_off,
                size: debuglink_data.len() as u64,
                link: 0,
                info: 0,
                addralign: 4,
                entsize: 0,
            },
        );
    }
    out.push(Chunk::Data(table));

    // 7. The ELF header, patched.
    let mut ehdr = elf.data[..ehsize as usize].to_vec();
    let (f_shoff, f_shnum, f_shstrndx) = enc.ehdr_fields();
    enc.patch(&mut ehdr, f_shoff, shoff, enc.word());
    enc.patch(
        &mut ehdr,
        f_shnum,
        if count >= u64::from(SHN_LORESERVE) {
            0
        } else {
            count
        },
        2,
    );
    enc.patch(
        &mut ehdr,
        f_shstrndx,
        if new_shstrndx >= u64::from(SHN_LORESERVE) {
            u64::from(SHN_XINDEX)
        } else {
            new_shstrndx
        },
        2,
    );
    out.chunks[0] = Chunk::Data(ehdr);
    Ok(out)
}

/// Rewrites `st_shndx` (or the `.symtab_shndx` entries) of section `i` for the new numbering.
/// `None` when nothing changes. `st_shndx` is 16 bits wide: every value written is checked to
/// fit below SHN_LORESERVE (true by construction, since removing sections only lowers indices;
/// refused otherwise rather than truncated).
fn remap_symbols(
    elf: &ElfFile<'_>,
    enc: Enc,
    i: usize,
    remap: &dyn Fn(u32) -> Option<u32>,
) -> Result<Option<Vec<u8>>> {
    let sh = &elf.shdrs[i];
    let mut bytes = elf.section_data(sh).to_vec();
    let mut changed = false;
    if sh.sh_type == SHT_SYMTAB_SHNDX {
        for at in (0..bytes.len() / 4).map(|k| k * 4) {
            let old = enc.read(&bytes, at, 4) as u32;
            let new = remap(old).unwrap_or(0);
            if new != old {
                enc.patch(&mut bytes, at, u64::from(new), 4);
                changed = true;
            }
        }
    } else {
        let size = enc.sym_size();
        let at_shndx = enc.sym_shndx_at();
        for at in (0..bytes.len() / size).map(|k| k * size + at_shndx) {
            let old = enc.read(&bytes, at, 2) as u32;
            // Reserved values (SHN_ABS, SHN_COMMON, SHN_XINDEX: the real index is in
            // `.symtab_shndx`, renumbered on its own) stay as they are.
            if old == 0 || old >= SHN_LORESERVE {
                continue;
            }
            // Sections are only ever removed, so a new index is never larger than the old one
            // and stays below SHN_LORESERVE: the conversion cannot fail.
            let new = match remap(old) {
                Some(v) if v < SHN_LORESERVE => v as u16,
                Some(v) => {
                    return Err(Error::Unsupported(format!(
                        "has a symbol whose section index {old} would become {v}, which a \
                         16-bit st_shndx cannot hold: binslim cannot rewrite it safely"
                    )));
                }
                None => SHN_ABS,
            };
            if u32::from(new) != old {
                enc.patch(&mut bytes, at, u64::from(new), 2);
                changed = true;
            }
        }
    }
    Ok(changed.then_some(bytes))
}

/// A string table holding `names` (with suffix sharing: `.rela.plt` also gives `.plt`).
/// Returns the table and each name's offset, in the order given.
fn build_strtab(names: &[&str]) -> (Vec<u8>, Vec<u32>) {
    let mut order: Vec<usize> = (0..names.len()).collect();
    // Sort by reversed bytes, longest first among equal suffixes, so a name that is a suffix
    // of the one before it can share its bytes.
    order.sort_by(|&a, &b| {
        let ra = names[a].bytes().rev();
        let rb = names[b].bytes().rev();
        rb.cmp(ra)
    });
    let mut table = vec![0u8];
    let mut offsets = vec![0u32; names.len()];
    let mut prev: Option<(&str, u32)> = None;
    for &k in &order {
        let name = names[k];
        if name.is_empty() {
            offsets[k] = 0;
            continue;
        }
        if let Some((p, off)) = prev
            && p.ends_with(name)
        {
            offsets[k] = off + (p.len() - name.len()) as u32;
            continue;
        }
        let off = table.len() as u32;
        table.extend_from_slice(name.as_bytes());
        table.push(0);
        offsets[k] = off;
        prev = Some((name, off));
    }
    (table, offsets)
}

/// A piece of a [`Layout`]'s output, for readers that need random access to it (the wire-size
/// meter in [`crate::shrink`] reads it in parallel chunks and recognises pieces shared by steps).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Piece<'a> {
    /// `len` bytes of the input from `offset`.
    Input {
        /// Where in the input.
        offset: u64,
        /// How many bytes.
        len: u64,
    },
    /// New bytes.
    Data(&'a [u8]),
    /// This many zero bytes.
    Zeros(u64),
}

impl Layout {
    /// The output's pieces in order; their lengths add up to [`Layout::size`].
    pub fn pieces(&self) -> impl Iterator<Item = Piece<'_>> + '_ {
        self.chunks.iter().map(|c| match c {
            Chunk::Input { offset, len } => Piece::Input {
                offset: *offset,
                len: *len,
            },
            Chunk::Data(d) => Piece::Data(d),
            Chunk::Zeros(n) => Piece::Zeros(*n),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use goblin::elf::section_header::SHT_STRTAB;

    #[test]
    fn strtab_shares_suffixes() {
        let (t, o) = build_strtab(&[".plt", ".rela.plt", ".text", "", ".data"]);
        assert_eq!(t, b"\0.text\0.rela.plt\0.data\0");
        let at = |k: usize| crate::elf::file::cstr_at(&t, o[k] as usize).unwrap();
        assert_eq!(at(0), b".plt");
        assert_eq!(at(1), b".rela.plt");
        assert_eq!(at(2), b".text");
        assert_eq!(at(3), b"");
        assert_eq!(at(4), b".data");
    }

    #[test]
    fn classes() {
        let all = StripOptions::all();
        assert_eq!(classify(".debug_info", 1, &all), Some(Class::Debug));
        assert_eq!(classify(".zdebug_line", 1, &all), Some(Class::Debug));
        assert_eq!(classify(".symtab", SHT_SYMTAB, &all), Some(Class::Symbols));
        assert_eq!(classify(".strtab", SHT_STRTAB, &all), Some(Class::Symbols));
        assert_eq!(classify(".comment", 1, &all), Some(Class::Other));
        assert_eq!(classify(".dep-v0", 1, &all), None);
        assert_eq!(classify(".gnu_debuglink", 1, &all), None);
        assert_eq!(classify(".ARM.attributes", 0x7000_0003, &all), None);
        let debug_only = StripOptions {
            debug: true,
            ..StripOptions::default()
        };
        assert_eq!(classify(".symtab", SHT_SYMTAB, &debug_only), None);
        assert_eq!(classify(".comment", 1, &debug_only), None);
        let no_link = StripOptions {
            remove_debuglink: true,
            ..StripOptions::all()
        };
        assert_eq!(classify(".gnu_debuglink", 1, &no_link), Some(Class::Other));
    }
}
