//! ELF notes: the GNU build id, the OS an ABI note names, and the compiler strings in
//! `.comment`.

use goblin::elf::program_header::PT_NOTE;
use goblin::elf::section_header::SHT_NOTE;

use super::file::ElfFile;

const NT_GNU_BUILD_ID: u64 = 3;

/// The GNU build id as lowercase hex, from a note section or, without sections, a PT_NOTE.
pub fn build_id(elf: &ElfFile<'_>) -> Option<String> {
    find_note(elf, |name, ntype, desc| {
        (ntype == NT_GNU_BUILD_ID && name == b"GNU").then(|| {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let mut hex = String::with_capacity(desc.len() * 2);
            for &b in desc {
                hex.push(char::from(HEX[usize::from(b >> 4)]));
                hex.push(char::from(HEX[usize::from(b & 15)]));
            }
            hex
        })
    })
}

/// The operating system an ABI note names: the GNU ABI tag (`.note.ABI-tag`, whose first word
/// is the OS: 0 Linux, 1 Hurd, 2 Solaris, 3 FreeBSD, 4 NetBSD) or a BSD's or Android's own
/// identification note.
pub fn abi_os(elf: &ElfFile<'_>) -> Option<&'static str> {
    find_note(elf, |name, ntype, desc| match (name, ntype) {
        (b"GNU", NT_GNU_ABI_TAG) => match elf.read_uint(desc, 0, 4)? {
            0 => Some("linux"),
            1 => Some("hurd"),
            2 => Some("solaris"),
            3 => Some("freebsd"),
            4 => Some("netbsd"),
            _ => None,
        },
        (b"FreeBSD", NT_IDENT) => Some("freebsd"),
        (b"NetBSD", NT_IDENT) => Some("netbsd"),
        (b"OpenBSD", NT_IDENT) => Some("openbsd"),
        (b"DragonFly", NT_IDENT) => Some("dragonfly"),
        (b"Android", NT_IDENT) => Some("android"),
        _ => None,
    })
}

const NT_GNU_ABI_TAG: u64 = 1;
/// The type of the BSDs' and Android's identification notes.
const NT_IDENT: u64 = 1;

/// The first `Some` that `f(name, type, descriptor)` gives for a note in the note sections or,
/// failing that, in the PT_NOTE segments. The name is given without its NUL.
pub(crate) fn find_note<T>(
    elf: &ElfFile<'_>,
    mut f: impl FnMut(&[u8], u64, &[u8]) -> Option<T>,
) -> Option<T> {
    let from_sections = elf
        .shdrs
        .iter()
        .filter(|sh| sh.sh_type == SHT_NOTE)
        .find_map(|sh| scan_notes(elf, elf.section_data(sh), &mut f));
    from_sections.or_else(|| {
        elf.phdrs
            .iter()
            .filter(|ph| ph.p_type == PT_NOTE)
            .find_map(|ph| scan_notes(elf, elf.segment_data(ph), &mut f))
    })
}

fn scan_notes<T>(
    elf: &ElfFile<'_>,
    mut notes: &[u8],
    f: &mut impl FnMut(&[u8], u64, &[u8]) -> Option<T>,
) -> Option<T> {
    let align = |n: usize| n.checked_add(3).map(|n| n & !3);
    while notes.len() >= 12 {
        let namesz = usize::try_from(elf.read_uint(notes, 0, 4)?).ok()?;
        let descsz = usize::try_from(elf.read_uint(notes, 4, 4)?).ok()?;
        let ntype = elf.read_uint(notes, 8, 4)?;
        let name_end = 12usize.checked_add(align(namesz)?)?;
        let desc_end = name_end.checked_add(align(descsz)?)?;
        let name = notes.get(12..12usize.checked_add(namesz)?)?;
        let name = name.strip_suffix(b"\0").unwrap_or(name);
        let desc = notes.get(name_end..name_end.checked_add(descsz)?)?;
        if let Some(found) = f(name, ntype, desc) {
            return Some(found);
        }
        notes = notes.get(desc_end..)?;
    }
    None
}

/// The NUL-separated strings of the `.comment` section (compiler and linker versions).
pub fn comment(elf: &ElfFile<'_>) -> Vec<String> {
    let Some(sh) = elf.section_by_name(".comment") else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for s in elf.section_data(sh).split(|&b| b == 0) {
        let s = match std::str::from_utf8(s) {
            Ok(text) => text.trim().to_string(),
            Err(_) => String::from_utf8_lossy(s).trim().to_string(),
        };
        if !s.is_empty() && !out.contains(&s) {
            out.push(s);
        }
    }
    out
}
