//! ELF notes: the GNU build id, and the compiler strings in `.comment`.

use goblin::elf::program_header::PT_NOTE;
use goblin::elf::section_header::SHT_NOTE;

use super::file::ElfFile;

const NT_GNU_BUILD_ID: u64 = 3;

/// The GNU build id as lowercase hex, from a note section or, without sections, a PT_NOTE.
pub fn build_id(elf: &ElfFile<'_>) -> Option<String> {
    let from_sections = elf
        .shdrs
        .iter()
        .filter(|sh| sh.sh_type == SHT_NOTE)
        .find_map(|sh| find_gnu_build_id(elf, elf.section_data(sh)));
    from_sections.or_else(|| {
        elf.phdrs
            .iter()
            .filter(|ph| ph.p_type == PT_NOTE)
            .find_map(|ph| find_gnu_build_id(elf, elf.segment_data(ph)))
    })
}

fn find_gnu_build_id(elf: &ElfFile<'_>, mut notes: &[u8]) -> Option<String> {
    let align = |n: usize| n.checked_add(3).map(|n| n & !3);
    while notes.len() >= 12 {
        let namesz = usize::try_from(elf.read_uint(notes, 0, 4)?).ok()?;
        let descsz = usize::try_from(elf.read_uint(notes, 4, 4)?).ok()?;
        let ntype = elf.read_uint(notes, 8, 4)?;
        let name_end = 12usize.checked_add(align(namesz)?)?;
        let desc_end = name_end.checked_add(align(descsz)?)?;
        let name = notes.get(12..12 + namesz)?;
        if ntype == NT_GNU_BUILD_ID && name == b"GNU\0" {
            let desc = notes.get(name_end..name_end + descsz)?;
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let mut hex = String::with_capacity(desc.len() * 2);
            for &b in desc {
                hex.push(char::from(HEX[usize::from(b >> 4)]));
                hex.push(char::from(HEX[usize::from(b & 15)]));
            }
            return Some(hex);
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
        let s = String::from_utf8_lossy(s).trim().to_string();
        if !s.is_empty() && !out.contains(&s) {
            out.push(s);
        }
    }
    out
}
