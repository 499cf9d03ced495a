//! Reading and writing ELF header fields in the input's class (32 or 64 bits) and byte order.
//!
//! Every field binslim patches in place (the ELF header's section table fields, a program
//! header's file extent, a symbol's section index) is named by a [`Field`] whose offsets and
//! sizes come from goblin's `#[repr(C)]` structures, which mirror the ELF specification's
//! layout, so no offset is written out by hand.

use std::mem::{offset_of, size_of};

use goblin::{elf32, elf64};

/// Where one fixed-size field lies in an ELF structure, in each class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Field {
    /// Byte offset from the start of the structure: `[ELFCLASS32, ELFCLASS64]`.
    at: [usize; 2],
    /// Width in bytes: `[ELFCLASS32, ELFCLASS64]`.
    size: [usize; 2],
}

/// The size of a field, from a (never called) function that reads it.
const fn size_of_field<S, T>(_read: fn(S) -> T) -> usize {
    size_of::<T>()
}

/// The [`Field`] `$name` of goblin's 32- and 64-bit structures `$s32` and `$s64`.
macro_rules! field {
    ($s32:ty, $s64:ty, $name:ident) => {
        Field {
            at: [offset_of!($s32, $name), offset_of!($s64, $name)],
            size: [
                size_of_field(|s: $s32| s.$name),
                size_of_field(|s: $s64| s.$name),
            ],
        }
    };
}

/// `e_shoff`: where the section header table starts.
pub(super) const E_SHOFF: Field = field!(elf32::header::Header, elf64::header::Header, e_shoff);
/// `e_shnum`: how many section headers there are (0 when section 0's `sh_size` holds it).
pub(super) const E_SHNUM: Field = field!(elf32::header::Header, elf64::header::Header, e_shnum);
/// `e_shstrndx`: the section name table's index (`SHN_XINDEX` when section 0's `sh_link`
/// holds it).
pub(super) const E_SHSTRNDX: Field =
    field!(elf32::header::Header, elf64::header::Header, e_shstrndx);
/// `p_offset`: where a segment's bytes start in the file.
pub(super) const P_OFFSET: Field = field!(
    elf32::program_header::ProgramHeader,
    elf64::program_header::ProgramHeader,
    p_offset
);
/// `p_filesz`: how many of a segment's bytes are in the file.
pub(super) const P_FILESZ: Field = field!(
    elf32::program_header::ProgramHeader,
    elf64::program_header::ProgramHeader,
    p_filesz
);
/// `st_shndx`: the section a symbol is defined in.
pub(super) const ST_SHNDX: Field = field!(elf32::sym::Sym, elf64::sym::Sym, st_shndx);

/// Endianness- and class-aware reader and writer of header fields.
#[derive(Debug, Clone, Copy)]
pub(super) struct Enc {
    /// ELFCLASS64.
    pub(super) is64: bool,
    /// ELFDATA2LSB.
    pub(super) little: bool,
}

impl Enc {
    /// Index into a [`Field`]'s per-class arrays.
    fn class(self) -> usize {
        usize::from(self.is64)
    }

    /// Appends `v` as `size` bytes.
    pub(super) fn put(self, out: &mut Vec<u8>, v: u64, size: usize) {
        let bytes = v.to_le_bytes();
        if self.little {
            out.extend_from_slice(&bytes[..size]);
        } else {
            out.extend(bytes[..size].iter().rev());
        }
    }

    /// Overwrites `size` bytes at `at` with `v`.
    pub(super) fn patch(self, buf: &mut [u8], at: usize, v: u64, size: usize) {
        let mut tmp = Vec::with_capacity(8);
        self.put(&mut tmp, v, size);
        buf[at..at + size].copy_from_slice(&tmp);
    }

    /// Reads `size` bytes at `at` (0 when out of bounds).
    pub(super) fn read(self, b: &[u8], at: usize, size: usize) -> u64 {
        crate::elf::file::read_uint(b, at, size, self.little).unwrap_or(0)
    }

    /// Sets `field` of the structure starting at `base` in `buf`.
    pub(super) fn set(self, buf: &mut [u8], base: usize, field: Field, v: u64) {
        let c = self.class();
        self.patch(buf, base + field.at[c], v, field.size[c]);
    }

    /// Reads `field` of the structure starting at `base` in `buf` (0 when out of bounds).
    pub(super) fn get(self, buf: &[u8], base: usize, field: Field) -> u64 {
        let c = self.class();
        self.read(buf, base + field.at[c], field.size[c])
    }

    /// An address or offset: 4 or 8 bytes.
    pub(super) fn word(self) -> usize {
        if self.is64 { 8 } else { 4 }
    }

    /// The ELF header's size.
    pub(super) fn ehdr_size(self) -> usize {
        if self.is64 {
            elf64::header::SIZEOF_EHDR
        } else {
            elf32::header::SIZEOF_EHDR
        }
    }

    /// A section header's size.
    pub(super) fn shdr_size(self) -> usize {
        if self.is64 {
            elf64::section_header::SIZEOF_SHDR
        } else {
            elf32::section_header::SIZEOF_SHDR
        }
    }

    /// A symbol table entry's size.
    pub(super) fn sym_size(self) -> usize {
        if self.is64 {
            elf64::sym::SIZEOF_SYM
        } else {
            elf32::sym::SIZEOF_SYM
        }
    }

    /// Appends the section header `s`.
    pub(super) fn shdr(self, out: &mut Vec<u8>, s: &Shdr) {
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
}

/// A section header as written.
#[derive(Debug, Clone)]
pub(super) struct Shdr {
    pub(super) name: u32,
    pub(super) sh_type: u32,
    pub(super) flags: u64,
    pub(super) addr: u64,
    pub(super) offset: u64,
    pub(super) size: u64,
    pub(super) link: u32,
    pub(super) info: u32,
    pub(super) addralign: u64,
    pub(super) entsize: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The offsets goblin's structures give are the ELF specification's.
    #[test]
    fn fields_sit_where_the_elf_specification_puts_them() {
        let f = |at32, at64, size32, size64| Field {
            at: [at32, at64],
            size: [size32, size64],
        };
        assert_eq!(E_SHOFF, f(0x20, 0x28, 4, 8));
        assert_eq!(E_SHNUM, f(0x30, 0x3c, 2, 2));
        assert_eq!(E_SHSTRNDX, f(0x32, 0x3e, 2, 2));
        assert_eq!(P_OFFSET, f(4, 8, 4, 8));
        assert_eq!(P_FILESZ, f(16, 32, 4, 8));
        assert_eq!(ST_SHNDX, f(14, 6, 2, 2));
        let (e32, e64) = (
            Enc {
                is64: false,
                little: true,
            },
            Enc {
                is64: true,
                little: false,
            },
        );
        assert_eq!((e32.ehdr_size(), e64.ehdr_size()), (52, 64));
        assert_eq!((e32.shdr_size(), e64.shdr_size()), (40, 64));
        assert_eq!((e32.sym_size(), e64.sym_size()), (16, 24));
    }

    #[test]
    fn set_and_get_follow_class_and_byte_order() {
        let big64 = Enc {
            is64: true,
            little: false,
        };
        let mut ph = vec![0u8; 2 * 56];
        big64.set(&mut ph, 56, P_FILESZ, 0x0102_0304_0506_0708);
        assert_eq!(&ph[56 + 32..56 + 40], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(big64.get(&ph, 56, P_FILESZ), 0x0102_0304_0506_0708);
        let little32 = Enc {
            is64: false,
            little: true,
        };
        let mut eh = vec![0u8; 52];
        little32.set(&mut eh, 0, E_SHSTRNDX, 0xabcd);
        assert_eq!(&eh[0x32..0x34], &[0xcd, 0xab]);
        assert_eq!(little32.get(&eh, 0, E_SHSTRNDX), 0xabcd);
    }
}
