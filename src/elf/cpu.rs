//! The CPU level a program was built for, where the file records it.
//!
//! A `GOAMD64=v3` build dies with SIGILL on a CPU without AVX2, a `GOARM=7` build on an ARMv6
//! board: the machine type alone does not say whether a program runs on the target CPU. Three
//! records do, and [`level`] reads them without running anything:
//!
//! - Go's build info: the `GOAMD64` (`v1`..`v4`), `GOARM` (`5`, `6`, `7`, with an optional
//!   `,softfloat`/`,hardfloat`) and `GOARM64` (`v8.0`..`v9.5`, with optional `,lse`/`,crypto`)
//!   build settings.
//! - The GNU property note (`.note.gnu.property`, `NT_GNU_PROPERTY_TYPE_0`) of x86-64 files:
//!   `GNU_PROPERTY_X86_ISA_1_NEEDED` (`0xc0008002`), a bit set of x86-64-baseline (bit 0), v2,
//!   v3 and v4 (bit 3). GNU ld writes it for `-z x86-64-v3` (binutils 2.36 and later) or for
//!   objects built with `gcc -mneeded`; glibc's loader (2.33 and later) refuses a program whose
//!   level the CPU lacks. `-march` alone records nothing, and neither does lld (rustc's default
//!   linker). The older `0xc0000001` property (binutils 2.29 to 2.35) is ignored, as glibc
//!   ignores it; so is `ISA_1_USED` (`-Wa,-mx86-used-note=yes`), which lists every instruction
//!   set present, including code only chosen at run time (ifunc variants), not what is needed.
//! - The ARM attributes section (`.ARM.attributes`, `aeabi` vendor): `Tag_CPU_arch` (tag 6).
//!
//! A file that records none of these says nothing about its level: it is reported as not
//! recorded (`None`), and only a recorded level can fail a `--platform` variant.

use std::fmt;

use serde::{Serialize, Serializer};

use super::file::ElfFile;
use super::go::GoBuildInfo;
use super::notes;

/// The CPU family a level belongs to (the variants of one Docker architecture).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// x86-64 micro-architecture levels (`linux/amd64/v1`..`v4`).
    X86_64,
    /// 32-bit ARM architecture versions (`linux/arm/v5`..`v8`).
    Arm,
    /// 64-bit ARM architecture versions (`linux/arm64/v8`, `v8.1`.., `v9`..).
    Arm64,
}

/// Where a recorded level was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A Go build setting: its key and value (`GOAMD64`, `v3`).
    Go {
        /// `GOAMD64`, `GOARM` or `GOARM64`.
        key: &'static str,
        /// The value as recorded, e.g. `v3` or `7,softfloat`.
        value: String,
    },
    /// `GNU_PROPERTY_X86_ISA_1_NEEDED` in the GNU property note.
    GnuProperty,
    /// `Tag_CPU_arch` in `.ARM.attributes` (its raw value).
    ArmAttributes(u64),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Go { key, value } => write!(f, "{key}={value} in the Go build info"),
            Source::GnuProperty => f.write_str("x86 ISA needed in .note.gnu.property"),
            Source::ArmAttributes(_) => f.write_str("Tag_CPU_arch in .ARM.attributes"),
        }
    }
}

/// The CPU level a file needs. Serialized as its [`name`](CpuLevel::name), e.g. `"x86-64-v3"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuLevel {
    /// The family the level belongs to.
    pub family: Family,
    /// The order within the family: x86-64 levels 1..4 (baseline is 1), 32-bit ARM major
    /// versions 4..9, 64-bit ARM `major * 10 + minor` (v8.2 is 82; Go's `v8.0,lse` is 81, the
    /// first level that makes LSE mandatory).
    pub rank: u32,
    /// The level's name: `x86-64-baseline`, `x86-64-v3`, `armv6`, `armv6kz`, `armv7`,
    /// `armv8.2-a`, `armv9.0-a+lse`, ...
    pub name: String,
    /// Where it was read.
    pub source: Source,
}

impl Serialize for CpuLevel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name)
    }
}

impl fmt::Display for CpuLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// The name of x86-64 level `rank` (1..4), as the psABI and readelf spell it.
pub fn x86_64_name(rank: u32) -> String {
    if rank <= 1 {
        "x86-64-baseline".to_string()
    } else {
        format!("x86-64-v{rank}")
    }
}

/// The name of 64-bit ARM level `rank` (`major * 10 + minor`), e.g. `armv8.2-a`.
pub fn arm64_name(rank: u32) -> String {
    format!("armv{}.{}-a", rank / 10, rank % 10)
}

/// The level `elf` records (Go build info, GNU property note, ARM attributes), the highest when
/// it records more than one (a cgo program may carry both Go's and the C toolchain's).
pub fn level(elf: &ElfFile<'_>, machine: &str, go: Option<&GoBuildInfo>) -> Option<CpuLevel> {
    let from_go = go.and_then(|g| go_level(machine, g));
    let from_file = match machine {
        "x86_64" => x86_property_level(elf),
        "arm" => arm_attributes_level(elf),
        _ => None,
    };
    match (from_go, from_file) {
        (Some(a), Some(b)) => Some(if b.rank > a.rank { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// The level a Go build setting names, for the machine the file is for.
pub fn go_level(machine: &str, go: &GoBuildInfo) -> Option<CpuLevel> {
    let (key, family) = match machine {
        "x86_64" => ("GOAMD64", Family::X86_64),
        "arm" => ("GOARM", Family::Arm),
        "aarch64" => ("GOARM64", Family::Arm64),
        _ => return None,
    };
    let value = go.settings.get(key)?;
    let (base, extensions) = value.split_once(',').unwrap_or((value, ""));
    let (rank, name) = match family {
        Family::X86_64 => {
            let rank = parse_x86_64_variant(base)?;
            (rank, x86_64_name(rank))
        }
        // The float mode (`,softfloat`) does not change the instruction set version.
        Family::Arm => {
            let rank: u32 = base.parse().ok().filter(|v| (5..=7).contains(v))?;
            (rank, format!("armv{rank}"))
        }
        // Go's `,lse` on v8.0 needs the atomics that Armv8.1 made mandatory, so no v8.0 CPU is
        // promised to have them; `,crypto` is optional at every level and is only named.
        Family::Arm64 => {
            let mut rank = parse_arm64_variant(base)?;
            let mut name = arm64_name(rank);
            for ext in extensions.split(',').filter(|e| !e.is_empty()) {
                if ext == "lse" {
                    rank = rank.max(81);
                }
                name.push('+');
                name.push_str(ext);
            }
            (rank, name)
        }
    };
    Some(CpuLevel {
        family,
        rank,
        name,
        source: Source::Go {
            key,
            value: value.clone(),
        },
    })
}

/// `v1`..`v4` (GOAMD64 and Docker's amd64 variants) as a rank.
pub fn parse_x86_64_variant(v: &str) -> Option<u32> {
    match v {
        "v1" => Some(1),
        "v2" => Some(2),
        "v3" => Some(3),
        "v4" => Some(4),
        _ => None,
    }
}

/// `v8`, `v8.0`..`v8.9`, `v9`, `v9.0`..`v9.5` (GOARM64 and Docker's arm64 variants) as a rank.
pub fn parse_arm64_variant(v: &str) -> Option<u32> {
    let v = v.strip_prefix('v')?;
    let (major, minor) = v.split_once('.').unwrap_or((v, "0"));
    let major: u32 = major.parse().ok()?;
    let minor: u32 = minor.parse().ok()?;
    let valid = match major {
        8 => minor <= 9,
        9 => minor <= 5,
        _ => false,
    };
    valid.then_some(major * 10 + minor)
}

const NT_GNU_PROPERTY_TYPE_0: u64 = 5;
/// `GNU_PROPERTY_X86_UINT32_OR_LO + 2`: the x86 ISA level the program needs.
const GNU_PROPERTY_X86_ISA_1_NEEDED: u64 = 0xc000_8002;

/// The highest x86-64 level bit of `GNU_PROPERTY_X86_ISA_1_NEEDED`.
fn x86_property_level(elf: &ElfFile<'_>) -> Option<CpuLevel> {
    let mask = notes::find_note(elf, |name, ntype, desc| {
        if name != b"GNU" || ntype != NT_GNU_PROPERTY_TYPE_0 {
            return None;
        }
        gnu_property(elf, desc, GNU_PROPERTY_X86_ISA_1_NEEDED)
    })?;
    // Bits 0..3: baseline, v2, v3, v4; higher bits are not defined (yet).
    let rank = (0..4u32).rev().find(|b| mask & (1 << b) != 0)? + 1;
    Some(CpuLevel {
        family: Family::X86_64,
        rank,
        name: x86_64_name(rank),
        source: Source::GnuProperty,
    })
}

/// The 4-byte value of property `want` in an `NT_GNU_PROPERTY_TYPE_0` descriptor: an array of
/// (`pr_type`, `pr_datasz`, data padded to 8 bytes in ELF64, 4 in ELF32).
fn gnu_property(elf: &ElfFile<'_>, desc: &[u8], want: u64) -> Option<u64> {
    let align: usize = if elf.is_64() { 8 } else { 4 };
    let mut at = 0usize;
    while at.checked_add(8)? <= desc.len() {
        let pr_type = elf.read_uint(desc, at, 4)?;
        let size = usize::try_from(elf.read_uint(desc, at + 4, 4)?).ok()?;
        let data = at + 8;
        if pr_type == want {
            return (size == 4).then(|| elf.read_uint(desc, data, 4)).flatten();
        }
        let end = data.checked_add(size)?.checked_add(align - 1)? & !(align - 1);
        at = end;
    }
    None
}

/// SHT_ARM_ATTRIBUTES.
const SHT_ARM_ATTRIBUTES: u32 = 0x7000_0003;
const TAG_FILE: u64 = 1;
const TAG_CPU_ARCH: u64 = 6;

/// `Tag_CPU_arch` of the `aeabi` file attributes.
fn arm_attributes_level(elf: &ElfFile<'_>) -> Option<CpuLevel> {
    let sh = elf
        .shdrs
        .iter()
        .find(|sh| sh.sh_type == SHT_ARM_ATTRIBUTES)?;
    let arch = cpu_arch_attribute(elf, elf.section_data(sh))?;
    let (rank, name) = arm_arch(arch)?;
    Some(CpuLevel {
        family: Family::Arm,
        rank,
        name: format!("arm{name}"),
        source: Source::ArmAttributes(arch),
    })
}

/// Reads `Tag_CPU_arch` from an attributes section: a version byte `A`, then subsections
/// (u32 length, NUL-terminated vendor, then tagged sub-subsections), as the ARM ELF ABI
/// ("Build attributes") lays them out.
fn cpu_arch_attribute(elf: &ElfFile<'_>, data: &[u8]) -> Option<u64> {
    let mut rest = data.strip_prefix(b"A")?;
    while rest.len() >= 4 {
        let len = usize::try_from(elf.read_uint(rest, 0, 4)?).ok()?;
        let sub = rest.get(4..len)?;
        rest = &rest[len..];
        let nul = sub.iter().position(|&b| b == 0)?;
        if &sub[..nul] != b"aeabi" {
            continue;
        }
        let mut body = &sub[nul + 1..];
        while body.len() >= 5 {
            let tag = u64::from(body[0]);
            let size = usize::try_from(elf.read_uint(body, 1, 4)?).ok()?;
            let section = body.get(5..size)?;
            body = &body[size..];
            if tag == TAG_FILE
                && let Some(arch) = find_attribute(section, TAG_CPU_ARCH)
            {
                return Some(arch);
            }
        }
    }
    None
}

/// The ULEB128 value of integer attribute `want` in a list of (tag, value) pairs. String
/// attributes are skipped by the ABI's rule: tags 4, 5, 32 (integer then string), 65 and 67 and
/// odd tags above 32 hold NUL-terminated strings; the others hold ULEB128 integers.
fn find_attribute(mut list: &[u8], want: u64) -> Option<u64> {
    while !list.is_empty() {
        let tag;
        (tag, list) = uleb128(list)?;
        let is_string = matches!(tag, 4 | 5 | 65 | 67) || (tag > 32 && tag % 2 == 1);
        if tag == 32 {
            (_, list) = uleb128(list)?;
            list = skip_string(list)?;
        } else if is_string {
            list = skip_string(list)?;
        } else {
            let value;
            (value, list) = uleb128(list)?;
            if tag == want {
                return Some(value);
            }
        }
    }
    None
}

fn skip_string(b: &[u8]) -> Option<&[u8]> {
    let nul = b.iter().position(|&c| c == 0)?;
    Some(&b[nul + 1..])
}

fn uleb128(b: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, &byte) in b.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, &b[i + 1..]));
        }
    }
    None
}

/// `Tag_CPU_arch` as (major version, readelf's name in lower case). Values from the ARM ELF ABI
/// and binutils' `include/elf/arm.h`; the M-profile values rank with their major version.
fn arm_arch(v: u64) -> Option<(u32, &'static str)> {
    Some(match v {
        0 => (4, "pre-v4"),
        1 => (4, "v4"),
        2 => (4, "v4t"),
        3 => (5, "v5t"),
        4 => (5, "v5te"),
        5 => (5, "v5tej"),
        6 => (6, "v6"),
        7 => (6, "v6kz"),
        8 => (6, "v6t2"),
        9 => (6, "v6k"),
        10 => (7, "v7"),
        11 => (6, "v6-m"),
        12 => (6, "v6s-m"),
        13 => (7, "v7e-m"),
        14 => (8, "v8"),
        15 => (8, "v8-r"),
        16 => (8, "v8-m.baseline"),
        17 => (8, "v8-m.mainline"),
        18 => (8, "v8.1-a"),
        19 => (8, "v8.2-a"),
        20 => (8, "v8.3-a"),
        21 => (8, "v8.1-m.mainline"),
        22 => (9, "v9"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_parse_to_ranks() {
        assert_eq!(parse_x86_64_variant("v3"), Some(3));
        assert_eq!(parse_x86_64_variant("v5"), None);
        assert_eq!(parse_arm64_variant("v8"), Some(80));
        assert_eq!(parse_arm64_variant("v8.2"), Some(82));
        assert_eq!(parse_arm64_variant("v9.5"), Some(95));
        assert_eq!(parse_arm64_variant("v9.6"), None);
        assert_eq!(parse_arm64_variant("8.2"), None);
        assert_eq!(arm64_name(82), "armv8.2-a");
        assert_eq!(x86_64_name(1), "x86-64-baseline");
    }

    #[test]
    fn go_settings_name_levels() {
        let go = |k: &str, v: &str| {
            let mut g = GoBuildInfo::default();
            g.settings.insert(k.into(), v.into());
            g
        };
        let l = go_level("x86_64", &go("GOAMD64", "v3")).unwrap();
        assert_eq!((l.rank, l.name.as_str()), (3, "x86-64-v3"));
        assert_eq!(l.source.to_string(), "GOAMD64=v3 in the Go build info");
        let l = go_level("arm", &go("GOARM", "7,hardfloat")).unwrap();
        assert_eq!((l.rank, l.name.as_str()), (7, "armv7"));
        let l = go_level("aarch64", &go("GOARM64", "v9.0,lse")).unwrap();
        assert_eq!((l.rank, l.name.as_str()), (90, "armv9.0-a+lse"));
        let l = go_level("aarch64", &go("GOARM64", "v8.0,lse,crypto")).unwrap();
        assert_eq!((l.rank, l.name.as_str()), (81, "armv8.0-a+lse+crypto"));
        let l = go_level("aarch64", &go("GOARM64", "v8.0,crypto")).unwrap();
        assert_eq!((l.rank, l.name.as_str()), (80, "armv8.0-a+crypto"));
        // A setting for another machine says nothing about this one.
        assert!(go_level("aarch64", &go("GOAMD64", "v3")).is_none());
        assert!(go_level("x86_64", &go("GOAMD64", "v9")).is_none());
    }

    #[test]
    fn attributes_skip_strings_and_find_cpu_arch() {
        // Tag_CPU_name (5) "7-A", Tag_CPU_arch (6) 10, Tag_CPU_arch_profile (7) 'A'.
        let list = [5, b'7', b'-', b'A', 0, 6, 10, 7, 0x41];
        assert_eq!(find_attribute(&list, TAG_CPU_ARCH), Some(10));
        assert_eq!(find_attribute(&[5, b'x'], TAG_CPU_ARCH), None);
        assert_eq!(uleb128(&[0xe5, 0x8e, 0x26]), Some((624_485, &[][..])));
    }

    /// The attributes of testdata/arm-v7, whole and cut at every length: the whole gives v7,
    /// no cut panics, and odd lengths give nothing rather than garbage.
    #[test]
    fn cut_attribute_sections_never_panic() {
        let data = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/arm-v7")).unwrap();
        let elf = ElfFile::parse(&data).unwrap();
        let sh = elf
            .shdrs
            .iter()
            .find(|sh| sh.sh_type == SHT_ARM_ATTRIBUTES)
            .unwrap();
        let attrs = elf.section_data(sh);
        assert_eq!(cpu_arch_attribute(&elf, attrs), Some(10));
        for cut in 0..attrs.len() {
            let _ = cpu_arch_attribute(&elf, &attrs[..cut]);
        }
        let mut bad = attrs.to_vec();
        bad[1..5].copy_from_slice(&2u32.to_le_bytes());
        assert_eq!(cpu_arch_attribute(&elf, &bad), None);
        // GNU property descriptors cut short or with a huge size.
        let desc = [2u8, 0x80, 0, 0xc0, 4, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            gnu_property(&elf, &desc, GNU_PROPERTY_X86_ISA_1_NEEDED),
            Some(4)
        );
        for cut in 0..desc.len() {
            let _ = gnu_property(&elf, &desc[..cut], GNU_PROPERTY_X86_ISA_1_NEEDED);
        }
        let huge = [0u8, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];
        assert_eq!(
            gnu_property(&elf, &huge, GNU_PROPERTY_X86_ISA_1_NEEDED),
            None
        );
    }
}
