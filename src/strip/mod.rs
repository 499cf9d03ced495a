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
//!
//! The plan is made in named phases, one module each, on the parsed input (`Input`):
//! 1. `fate`: what happens to each section, and the output's section numbers;
//! 2. `segments`: the copied prefix, the appended sections and the program header patch;
//! 3. `shstrtab`: the section name table, reused in place or rebuilt;
//! 4. `symbols`: symbol tables rewritten for the new section numbers;
//! 5. `assemble`: the output's pieces, the section header table and the ELF header.
//!
//! Stripping and the debug file differ only in phases 1 to 3; `build` chooses once.
//! `write` holds the [`Layout`] and its writers, `enc` the header fields by name.

use std::io::Write;

use goblin::elf::header::{ET_CORE, ET_REL};
use goblin::elf::section_header::SHF_ALLOC;
use serde::Serialize;

use crate::elf::ElfFile;
use crate::elf::file::has_file_bytes;
use crate::elf::packed;
pub use crate::error::StripRefusal;
use crate::error::{Error, Result};

mod assemble;
mod enc;
mod fate;
mod segments;
mod shstrtab;
mod symbols;
mod write;

pub use write::{Layout, Piece, Source};

/// `SHF_INFO_LINK`: `sh_info` holds a section index.
const SHF_INFO_LINK: u64 = 0x40;
/// First reserved section index.
const SHN_LORESERVE: u32 = 0xff00;
/// Absolute symbol section index.
const SHN_ABS: u16 = 0xfff1;
/// "The real index is elsewhere".
const SHN_XINDEX: u16 = 0xffff;
/// `e_phnum` value that means "the real count is in section 0's `sh_info`".
const PN_XNUM: u16 = 0xffff;
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
    /// Remove every other non-allocated section (`.comment`, relocations for removed
    /// sections), except notes (`.note.stapsdt`: USDT probes; GNU strip keeps them too),
    /// `.dep-v0` (cargo-auditable), processor attribute sections and, unless
    /// `remove_debuglink`, `.gnu_debuglink`.
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
        return Err(StripRefusal::Packed.into());
    }
    match elf.header.e_type {
        ET_REL => return Err(StripRefusal::Relocatable.into()),
        ET_CORE => return Err(StripRefusal::CoreDump.into()),
        _ => {}
    }
    if elf.shdrs.is_empty() {
        return Err(StripRefusal::NoSectionHeaders.into());
    }
    if elf.shstrndx.is_none() {
        return Err(StripRefusal::NoSectionNames.into());
    }
    Ok(())
}

/// What `binslim shrink`'s `strip-debug` and `strip-symbols` steps save together, in bytes: the
/// file's length less that of the file planned without its debug data and symbol table (their
/// section headers and names, and the alignment padding the rewrite drops, included); 0 when
/// shrink leaves the file as it is because rewriting it would make it larger. `None` for the
/// files binslim does not strip ([`check_strippable`]).
pub fn strippable_size(elf: &ElfFile<'_>) -> Option<u64> {
    let len = elf.file_len();
    if plan_parsed(elf, &StripOptions::all()).ok()?.size() > len {
        return Some(0);
    }
    let debug_and_symbols = StripOptions {
        debug: true,
        symbols: true,
        ..StripOptions::default()
    };
    let layout = plan_parsed(elf, &debug_and_symbols).ok()?;
    Some(len.saturating_sub(layout.size()))
}

/// Which mode the layout is built in.
enum Mode<'o> {
    /// The stripped program.
    Strip(&'o StripOptions),
    /// The separate debug file (`--keep-debug`).
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

/// The parsed input, with what every phase looks up.
struct Input<'e, 'a> {
    elf: &'e ElfFile<'a>,
    enc: enc::Enc,
    /// How many sections the input has.
    n: usize,
    /// The section name table's index.
    shstrndx: usize,
    /// Every section's name.
    names: Vec<String>,
}

impl<'e, 'a> Input<'e, 'a> {
    fn new(elf: &'e ElfFile<'a>) -> Self {
        Input {
            elf,
            enc: enc::Enc {
                is64: elf.is_64(),
                little: elf.is_little_endian(),
            },
            n: elf.shdrs.len(),
            shstrndx: elf.shstrndx.unwrap_or(0),
            names: elf.shdrs.iter().map(|s| elf.name(s).into_owned()).collect(),
        }
    }

    /// Whether section `i` is loaded (`SHF_ALLOC`).
    fn is_alloc(&self, i: usize) -> bool {
        self.elf.shdrs[i].sh_flags & u64::from(SHF_ALLOC) != 0
    }

    /// Where the old section name table's bytes end (`None` when its type says it has none).
    fn shstr_end(&self) -> Option<u64> {
        let sh = &self.elf.shdrs[self.shstrndx];
        has_file_bytes(sh).then(|| sh.sh_offset.saturating_add(sh.sh_size))
    }
}

/// Plans the output in `mode`: the mode decides the first three phases, the rest is shared.
fn build(elf: &ElfFile<'_>, mode: Mode<'_>) -> Result<Layout> {
    let input = Input::new(elf);
    let plan = match mode {
        Mode::Strip(opts) => {
            let fate = fate::for_strip(&input, opts);
            let prefix = segments::for_strip(&input, &fate)?;
            let debuglink = opts.add_debuglink.as_ref();
            // Reuse the old name table in place when it lies in the prefix and no new name is
            // needed; else build a new one from the kept names.
            let names = if debuglink.is_none() && input.shstr_end().is_some_and(|e| e <= prefix.end)
            {
                shstrtab::SectionNames::reuse(&input)
            } else {
                shstrtab::SectionNames::rebuild(&input, &fate, debuglink.is_some())
            };
            assemble::Plan {
                numbering: fate::Numbering::new(&fate),
                fate,
                prefix,
                names,
                debuglink,
            }
        }
        Mode::DebugFile => {
            let fate = fate::for_debug_file(&input);
            let prefix = segments::for_debug_file(&input, &fate)?;
            assemble::Plan {
                numbering: fate::Numbering::new(&fate),
                names: shstrtab::SectionNames::rebuild(&input, &fate, false),
                fate,
                prefix,
                debuglink: None,
            }
        }
    };
    let symbols = symbols::rewrite(&input, &plan.fate, &plan.numbering, plan.prefix.end)?;
    assemble::lay_out(&input, &plan, symbols)
}

#[cfg(test)]
mod tests {
    use super::*;
    use goblin::elf::program_header::PT_LOAD;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    fn refusal(name: &str) -> StripRefusal {
        match plan(&fixture(name), &StripOptions::all()) {
            Err(Error::NotStrippable(r)) => r,
            other => panic!("{name}: {other:?}"),
        }
    }

    /// The refusals read exactly as they did when they were `Error::Unsupported` strings.
    #[test]
    fn refusals_keep_their_messages() {
        let cases = [
            (
                StripRefusal::Packed,
                "is already packed with UPX: nothing to strip (`upx -d` restores the original)",
            ),
            (
                StripRefusal::Relocatable,
                "is a relocatable object (.o), not a program: link it first",
            ),
            (StripRefusal::CoreDump, "is a core dump, not a program"),
            (
                StripRefusal::NoSectionHeaders,
                "has no section headers (already stripped with --strip-sections, or packed): \
                 there is nothing binslim can strip safely",
            ),
            (
                StripRefusal::NoSectionNames,
                "has no section name table: binslim cannot tell its sections apart",
            ),
            (
                StripRefusal::OverlappingTables { at: 48 },
                "has overlapping headers or tables (at byte 48): binslim cannot rewrite it safely",
            ),
            (
                StripRefusal::SymbolIndexTooLarge {
                    old: 70000,
                    new: 65300,
                },
                "has a symbol whose section index 70000 would become 65300, which a 16-bit \
                 st_shndx cannot hold: binslim cannot rewrite it safely",
            ),
        ];
        for (reason, text) in cases {
            assert_eq!(reason.to_string(), text);
            assert_eq!(Error::from(reason).to_string(), text);
        }
    }

    #[test]
    fn refusals_are_typed() {
        assert_eq!(refusal("upx-packed"), StripRefusal::Packed);
        assert_eq!(refusal("c-object.o"), StripRefusal::Relocatable);
        let mut data = fixture("c-debug");
        data[0x3e..0x40].fill(0); // e_shstrndx: no section name table
        assert!(matches!(
            plan(&data, &StripOptions::all()),
            Err(Error::NotStrippable(StripRefusal::NoSectionNames))
        ));
        // e_phoff inside the ELF header, one program header (its p_type is e_flags: PT_NULL).
        let mut data = fixture("c-static");
        data[0x20..0x28].copy_from_slice(&48u64.to_le_bytes());
        data[0x38..0x3a].copy_from_slice(&1u16.to_le_bytes());
        let r = plan(&data, &StripOptions::all());
        assert!(
            matches!(
                r,
                Err(Error::NotStrippable(StripRefusal::OverlappingTables {
                    at: 48
                }))
            ),
            "{r:?}"
        );
    }

    fn written(layout: &Layout, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        layout.write_to(data, &mut out).unwrap();
        assert_eq!(out.len() as u64, layout.size());
        out
    }

    /// Stripping keeps every segment and allocated section, renumbers the rest and names them
    /// from a valid `.shstrtab`; 32-bit and 64-bit alike.
    #[test]
    fn stripped_files_keep_what_is_loaded() {
        for name in ["c-debug", "i386-static"] {
            let data = fixture(name);
            let before = ElfFile::parse(&data).unwrap();
            let layout = plan(&data, &StripOptions::all()).unwrap();
            let out = written(&layout, &data);
            let after = ElfFile::parse(&out).unwrap();
            let names = |e: &ElfFile<'_>, alloc: bool| -> Vec<String> {
                e.shdrs
                    .iter()
                    .filter(|s| (s.sh_flags & u64::from(SHF_ALLOC) != 0) == alloc)
                    .map(|s| e.name(s).into_owned())
                    .collect()
            };
            assert_eq!(names(&before, true), names(&after, true), "{name}");
            let kept = names(&after, false);
            assert!(
                kept.iter().all(|n| !n.starts_with(".debug")),
                "{name}: {kept:?}"
            );
            assert!(!kept.contains(&".symtab".to_string()), "{name}: {kept:?}");
            assert_eq!(
                before.shdrs.len() - layout.removed.len(),
                after.shdrs.len(),
                "{name}"
            );
            assert_eq!(
                after.name(&after.shdrs[after.shstrndx.unwrap()]),
                ".shstrtab"
            );
            for (b, a) in before.phdrs.iter().zip(&after.phdrs) {
                assert_eq!(
                    (b.p_type, b.p_offset, b.p_vaddr),
                    (a.p_type, a.p_offset, a.p_vaddr)
                );
                assert!(a.p_filesz <= b.p_filesz);
            }
        }
    }

    /// The debug file keeps the headers and the debug sections; loaded sections lose their
    /// bytes and every segment beyond the headers is emptied.
    #[test]
    fn debug_files_hold_no_segment_contents() {
        let data = fixture("c-debug");
        let layout = plan_debug_file(&data).unwrap();
        let out = written(&layout, &data);
        let dbg = ElfFile::parse(&out).unwrap();
        assert!(dbg.section_by_name(".debug_info").is_some());
        let text = dbg.section_by_name(".text").unwrap();
        assert_eq!(text.sh_type, goblin::elf::section_header::SHT_NOBITS);
        let headers_end =
            dbg.header.e_phoff + u64::from(dbg.header.e_phnum) * u64::from(dbg.header.e_phentsize);
        for ph in dbg.phdrs.iter().filter(|p| p.p_type == PT_LOAD) {
            let emptied = ph.p_filesz == 0 && ph.p_offset == 0;
            assert!(
                emptied || ph.p_offset + ph.p_filesz <= headers_end,
                "{ph:?}"
            );
        }
        assert!(
            dbg.phdrs
                .iter()
                .any(|p| p.p_type == PT_LOAD && p.p_filesz == 0)
        );
    }

    /// An added `.gnu_debuglink` is the last section: name, NUL, padding to 4, CRC.
    #[test]
    fn an_added_debuglink_names_the_debug_file() {
        let data = fixture("c-debug");
        let opts = StripOptions {
            add_debuglink: Some(DebugLink {
                name: "c-debug.debug".into(),
                crc: 0xdead_beef,
            }),
            ..StripOptions::all()
        };
        let out = written(&plan(&data, &opts).unwrap(), &data);
        let elf = ElfFile::parse(&out).unwrap();
        let last = elf.shdrs.last().unwrap();
        assert_eq!(elf.name(last), ".gnu_debuglink");
        assert_eq!(
            elf.section_data(last),
            b"c-debug.debug\0\0\0\xef\xbe\xad\xde"
        );
    }
}
