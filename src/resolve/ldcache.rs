//! Reading a root's `/etc/ld.so.cache`, the only place the glibc loader learns about the
//! directories of `/etc/ld.so.conf` (it never reads the conf file itself: `ldconfig` turns it
//! into the cache).
//!
//! Two formats exist, and `ldconfig -c old|compat|new` writes each: the old `ld.so-1.7.0` table
//! (12-byte entries, strings after the table), the new `glibc-ld.so.cache1.1` table (24-byte
//! entries, string offsets from the start of the new header), and "compat", the old table
//! followed by the new one at the next 8-byte boundary. Like the loader (glibc 2.36
//! `elf/dl-cache.c`), the new table is used when present, else the old one.

/// The old format's magic (`CACHEMAGIC`).
const OLD_MAGIC: &[u8] = b"ld.so-1.7.0";
/// The new format's magic and version (`CACHEMAGIC_NEW` + `CACHE_VERSION`).
const NEW_MAGIC: &[u8] = b"glibc-ld.so.cache1.1";

/// One cache entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheEntry {
    /// The library name (its SONAME), e.g. `libc.so.6`.
    pub name: String,
    /// The root-absolute path the loader opens, e.g. `/lib/x86_64-linux-gnu/libc.so.6`.
    pub path: String,
    /// `FLAG_*` bits: the kind of library (`FLAG_ELF_LIBC6` = 3) and its ABI
    /// (`FLAG_X8664_LIB64` = 0x0300, `FLAG_AARCH64_LIB64` = 0x0a00, ...).
    pub flags: i32,
    /// Hardware capabilities the entry needs (new format only; 0 = none).
    pub hwcap: u64,
}

/// Parses a cache file. `None` when it is neither format (the loader then ignores it).
pub fn parse(data: &[u8]) -> Option<Vec<CacheEntry>> {
    if data.starts_with(NEW_MAGIC) {
        return parse_new(data);
    }
    if !data.starts_with(OLD_MAGIC) {
        return None;
    }
    let nlibs = u32_le(data, 12)? as usize;
    let table_end = 16usize.checked_add(nlibs.checked_mul(12)?)?;
    // compat: the new table follows the old one, aligned to 8 bytes.
    let new_at = (table_end + 7) & !7;
    if data
        .get(new_at..)
        .is_some_and(|rest| rest.starts_with(NEW_MAGIC))
    {
        return parse_new(&data[new_at..]);
    }
    // Old format only: key and value are offsets from the end of the entry table.
    let strings = data.get(table_end..)?;
    let mut out = Vec::with_capacity(nlibs.min(4096));
    for i in 0..nlibs {
        let e = 16 + i * 12;
        let flags = u32_le(data, e)? as i32;
        let key = u32_le(data, e + 4)? as usize;
        let value = u32_le(data, e + 8)? as usize;
        out.push(CacheEntry {
            name: cstr(strings, key)?,
            path: cstr(strings, value)?,
            flags,
            hwcap: 0,
        });
    }
    Some(out)
}

/// The new format: header of 48 bytes, then 24-byte entries; offsets count from the header.
fn parse_new(data: &[u8]) -> Option<Vec<CacheEntry>> {
    // flags byte at 28: 2 = little-endian, 3 = big-endian, 0 = unknown (assume little, as
    // every ldconfig that writes no flag predates big-endian support in this field).
    let big = data.get(28) == Some(&3);
    let u32_at = |off: usize| -> Option<u32> {
        let b: [u8; 4] = data.get(off..off + 4)?.try_into().ok()?;
        Some(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let nlibs = u32_at(20)? as usize;
    let mut out = Vec::with_capacity(nlibs.min(4096));
    for i in 0..nlibs {
        let e = 48usize.checked_add(i.checked_mul(24)?)?;
        let flags = u32_at(e)? as i32;
        let key = u32_at(e + 4)? as usize;
        let value = u32_at(e + 8)? as usize;
        let hwcap = u64::from(u32_at(e + 16)?) | (u64::from(u32_at(e + 20)?) << 32);
        let hwcap = if big { hwcap.rotate_left(32) } else { hwcap };
        out.push(CacheEntry {
            name: cstr(data, key)?,
            path: cstr(data, value)?,
            flags,
            hwcap,
        });
    }
    Some(out)
}

/// The `FLAG_*` values the loader of `machine`/`class` accepts, as glibc's
/// `_dl_cache_check_flags` does (sysdeps/unix/sysv/linux/*/dl-cache.h and elf/cache.h's
/// `FLAG_*` values). Machines without their own rule accept `FLAG_ELF` (1) and `FLAG_ELF_LIBC6`
/// (3), glibc's generic rule.
pub fn accepted_flags(machine: &str, class: &str) -> &'static [i32] {
    match (machine, class) {
        // FLAG_X8664_LIB64 | FLAG_ELF_LIBC6 (checked: entries of this machine's cache).
        ("x86_64", "elf64") => &[0x0303],
        // FLAG_AARCH64_LIB64 | FLAG_ELF_LIBC6.
        ("aarch64", "elf64") => &[0x0a03],
        // FLAG_POWERPC_LIB64 | FLAG_ELF_LIBC6.
        ("ppc64le" | "ppc64", "elf64") => &[0x0503],
        // FLAG_S390_LIB64 | FLAG_ELF_LIBC6.
        ("s390x", "elf64") => &[0x0403],
        // FLAG_RISCV_FLOAT_ABI_DOUBLE | FLAG_ELF_LIBC6.
        ("riscv64", "elf64") => &[0x1003],
        // FLAG_ARM_LIBHF | FLAG_ELF_LIBC6 (hard-float, as Debian's armhf).
        ("arm", _) => &[0x0903],
        _ => &[1, 3],
    }
}

/// The path the loader takes from the cache for `name`: the first entry of that name whose flags
/// the loader accepts and that needs no hardware capability (entries for `glibc-hwcaps`
/// subdirectories depend on the CPU that runs the program, so they are not relied on).
pub fn lookup<'c>(entries: &'c [CacheEntry], name: &str, flags: &[i32]) -> Option<&'c str> {
    entries
        .iter()
        .find(|e| e.name == name && flags.contains(&e.flags) && e.hwcap == 0)
        .map(|e| e.path.as_str())
}

fn u32_le(data: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(off..off + 4)?.try_into().ok()?))
}

fn cstr(data: &[u8], off: usize) -> Option<String> {
    let rest = data.get(off..)?;
    let end = memchr::memchr(0, rest)?;
    Some(String::from_utf8_lossy(&rest[..end]).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This machine's own cache (written by its ldconfig, new format) names libc.
    #[test]
    #[cfg(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu"))]
    fn reads_the_hosts_cache() {
        // A glibc x86_64 host (Debian, where CI runs) has a cache listing its libc.
        let data = std::fs::read("/etc/ld.so.cache").expect("the host's /etc/ld.so.cache");
        let entries = parse(&data).expect("a cache glibc can read");
        let libc = lookup(&entries, "libc.so.6", accepted_flags("x86_64", "elf64"));
        assert!(libc.is_some_and(|p| p.ends_with("/libc.so.6")), "{libc:?}");
    }

    #[test]
    fn rejects_other_files() {
        assert_eq!(parse(b"not a cache"), None);
        assert_eq!(parse(b"ld.so-1.7.0\0\xff\xff\xff\xff"), None);
        // A root's cache is untrusted: huge counts and offsets end the parse, never a panic.
        let mut new = NEW_MAGIC.to_vec();
        new.extend_from_slice(&[0xff; 60]);
        assert_eq!(parse(&new), None);
        let mut entry = NEW_MAGIC.to_vec();
        entry.extend_from_slice(&1u32.to_le_bytes());
        entry.resize(48, 0);
        entry.extend_from_slice(&[3, 3, 0, 0]);
        entry.extend_from_slice(&[0xff; 20]);
        assert_eq!(parse(&entry), None);
    }
}
