//! Warnings about files scratch lacks but a program looks for at run time (root
//! certificates, time zones, `/etc/passwd`), and about static glibc that uses NSS.

use crate::elf::{self, Analysis, ElfFile};
use crate::resolve;

use super::codes::Code;
use super::hints::{Lang, lang};
use super::{Finding, VerifyOptions};

/// Files that scratch lacks but the program will look for at run time.
pub(super) fn runtime_file_warnings(
    elf: &ElfFile<'_>,
    a: &Analysis,
    opts: &VerifyOptions,
    out: &mut Vec<Finding>,
) {
    let in_root = |p: &str| {
        opts.root
            .as_ref()
            .is_some_and(|r| resolve::resolve_in_root(r, p).is_some())
    };
    if a.go.is_some() {
        go_file_warnings(elf, a, &in_root, out);
    }
    out.extend(static_glibc_nss(elf, a, &in_root));
}

/// `static-glibc-nss`: in static glibc, getpwnam, getaddrinfo and friends go through NSS.
/// glibc 2.34 and later has the files and dns sources built in; every other source is a
/// libnss_*.so.2 module, which a static program cannot load in scratch. glibc's NSS code names
/// those modules (`libnss_%s.so%s`, or `libnss_` in older glibc) in a string that survives
/// stripping; Go's own resolver and musl have no such string. A Go program gets here through
/// cgo linked with -extldflags -static. Docker mounts /etc/hosts and /etc/resolv.conf into
/// every container, so what scratch really lacks is /etc/passwd and /etc/group.
fn static_glibc_nss(
    elf: &ElfFile<'_>,
    a: &Analysis,
    in_root: &dyn Fn(&str) -> bool,
) -> Option<Finding> {
    if !(a.linkage.is_self_contained() && !in_root("/etc/passwd") && uses_glibc_nss(elf)) {
        return None;
    }
    Some(Finding::new(
        Code::StaticGlibcNss,
        "statically linked glibc that uses NSS (getpwnam, getaddrinfo, ...): in scratch user \
         and group lookups fail quietly (no /etc/passwd, /etc/group), and NSS sources other \
         than files and dns cannot be loaded",
        Some(match lang(a) {
            Lang::Go => "build with CGO_ENABLED=0, or with -tags netgo,osusergo so that Go's \
                         own lookups are used; COPY /etc/passwd and /etc/group if it looks up \
                         users"
                .to_string(),
            _ => "COPY /etc/passwd and /etc/group into the image if it looks up users (glibc \
                  2.34 and later reads them without shared modules), or link against musl \
                  (musl-gcc -static)"
                .to_string(),
        }),
    ))
}

/// The files a Go program looks for at run time, from the function names in `.gopclntab`.
fn go_file_warnings(
    elf: &ElfFile<'_>,
    a: &Analysis,
    in_root: &dyn Fn(&str) -> bool,
    out: &mut Vec<Finding>,
) {
    let Some(needs) = elf::needs::go_needs(elf) else {
        return;
    };
    let certs = elf::needs::CA_BUNDLE;
    if needs.certs && !in_root(certs) {
        out.push(Finding::new(
            Code::NeedsCaCertificates,
            format!("loads the system root certificates ({certs}), which scratch lacks: TLS connections will fail"),
            Some(format!(
                "COPY --from=build {certs} {certs}, or embed fallback roots: import _ \"golang.org/x/crypto/x509roots/fallback\""
            )),
        ));
    }
    if needs.zoneinfo && !in_root(elf::needs::ZONEINFO) {
        out.push(Finding::new(
            Code::NeedsZoneinfo,
            "loads time zones from /usr/share/zoneinfo, which scratch lacks: LoadLocation fails",
            Some(
                "COPY --from=build /usr/share/zoneinfo /usr/share/zoneinfo, or embed them: \
                 import _ \"time/tzdata\" (or -tags timetzdata)"
                    .to_string(),
            ),
        ));
    }
    if needs.users && !in_root("/etc/passwd") {
        let cgo =
            a.go.as_ref()
                .and_then(|g| g.settings.get("CGO_ENABLED"))
                .is_some_and(|v| v == "1");
        out.push(Finding::new(
            Code::NeedsPasswd,
            "looks up users and groups (os/user) in /etc/passwd and /etc/group, which scratch lacks",
            Some(if cgo {
                "build with -tags netgo,osusergo and COPY a minimal /etc/passwd and /etc/group".to_string()
            } else {
                "COPY a minimal /etc/passwd and /etc/group into the image".to_string()
            }),
        ));
    }
}

/// The sections where a C string constant can live: loaded, read-only, non-executable data
/// (`.rodata` and the like). Left out: relocations, symbol and hash tables, notes (none of them
/// `SHT_PROGBITS`), unwind tables, and Go's function table. A static-pie program's `.rela.dyn`
/// alone is 2 MB in qemu-user-static's programs, and none of these can hold glibc's strings.
fn string_sections<'e, 'a>(elf: &'e ElfFile<'a>) -> impl Iterator<Item = &'a [u8]> + 'e {
    use goblin::elf::section_header::{SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHT_PROGBITS};
    const NO_STRINGS: [&[u8]; 4] = [
        b".eh_frame",
        b".eh_frame_hdr",
        b".gcc_except_table",
        b".gopclntab",
    ];
    elf.shdrs
        .iter()
        .filter(|sh| {
            sh.sh_type == SHT_PROGBITS
                && sh.sh_flags & u64::from(SHF_ALLOC) != 0
                && sh.sh_flags & u64::from(SHF_EXECINSTR | SHF_WRITE) == 0
        })
        .filter(|sh| !NO_STRINGS.contains(&elf.name_bytes(sh)))
        .map(|sh| elf.section_data(sh))
}

/// glibc's names for NSS modules all start `libnss_` (reversed here, with the rest of the
/// name, so that binslim's own bytes do not hold them: a static binslim would otherwise warn
/// about itself, as any tool carrying the needle would).
const NSS_PREFIX_REVERSED: &[u8] = b"_ssnbil";
/// What follows the prefix in glibc 2.33 and later: `libnss_%s.so%s`, reversed.
const NSS_FORMAT_TAIL_REVERSED: &[u8] = b"s%os.s%";

/// A static program whose read-only data names glibc's NSS modules: `libnss_%s.so%s` (glibc
/// 2.33 and later) or the C string `libnss_` (older glibc, a NUL before it). One search for the
/// prefix both share, in chunks from the end of each section: static glibc's own constants are
/// linked last, so a program that has the name has it near the end of `.rodata`, and most of
/// the section is never touched (each chunk is searched forwards, which memchr vectorizes).
fn uses_glibc_nss(elf: &ElfFile<'_>) -> bool {
    let prefix: Vec<u8> = NSS_PREFIX_REVERSED.iter().rev().copied().collect();
    let tail: Vec<u8> = NSS_FORMAT_TAIL_REVERSED.iter().rev().copied().collect();
    let finder = memchr::memmem::Finder::new(&prefix);
    string_sections(elf).any(|h| {
        let names_nss =
            |at: usize| (at > 0 && h[at - 1] == 0) || h[at + prefix.len()..].starts_with(&tail);
        let mut end = h.len();
        while end > 0 {
            let start = end.saturating_sub(NSS_CHUNK);
            // Every match that starts in start..end, and no other.
            let window = &h[start..(end + prefix.len() - 1).min(h.len())];
            if finder.find_iter(window).any(|i| names_nss(start + i)) {
                return true;
            }
            end = start;
        }
        false
    })
}

/// How much of a section [`uses_glibc_nss`] searches at a time, from the end.
const NSS_CHUNK: usize = 64 << 10;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::fixtures::with;

    fn codes(fs: &[Finding]) -> Vec<Code> {
        fs.iter().map(|f| f.code).collect()
    }

    #[test]
    fn go_programs_are_warned_of_the_files_they_load() {
        with("go-tls", |elf, a| {
            let mut out = Vec::new();
            go_file_warnings(elf, a, &|_| false, &mut out);
            assert_eq!(
                codes(&out),
                [
                    Code::NeedsCaCertificates,
                    Code::NeedsZoneinfo,
                    Code::NeedsPasswd
                ]
            );
            assert_eq!(
                out[0].message,
                "loads the system root certificates (/etc/ssl/certs/ca-certificates.crt), \
                 which scratch lacks: TLS connections will fail"
            );
            assert_eq!(
                out[1].message,
                "loads time zones from /usr/share/zoneinfo, which scratch lacks: LoadLocation \
                 fails"
            );
            assert_eq!(
                out[2].hint.as_deref(),
                Some("COPY a minimal /etc/passwd and /etc/group into the image")
            );
            // A root that has the files: nothing to warn of.
            let mut out = Vec::new();
            go_file_warnings(elf, a, &|_| true, &mut out);
            assert!(out.is_empty());
        });
        with("go-static", |elf, a| {
            let mut out = Vec::new();
            go_file_warnings(elf, a, &|_| false, &mut out);
            assert!(out.is_empty());
        });
    }

    #[test]
    fn static_glibc_nss_is_found_in_read_only_data() {
        with("c-static-pie", |elf, a| {
            let f = static_glibc_nss(elf, a, &|_| false).unwrap();
            assert_eq!(f.code, Code::StaticGlibcNss);
            assert_eq!(
                f.message,
                "statically linked glibc that uses NSS (getpwnam, getaddrinfo, ...): in scratch \
                 user and group lookups fail quietly (no /etc/passwd, /etc/group), and NSS \
                 sources other than files and dns cannot be loaded"
            );
            assert!(static_glibc_nss(elf, a, &|p| p == "/etc/passwd").is_none());
        });
        for clean in ["musl-static", "go-static", "c-dynamic-pie"] {
            with(clean, |elf, a| {
                assert!(static_glibc_nss(elf, a, &|_| false).is_none(), "{clean}");
            });
        }
    }

    /// Whether the fixture `c-static` (glibc, no NSS) names NSS modules once `needle` is written
    /// over its section `section` at `at` (from the section's start; negative: from its end).
    fn nss_with(section: &str, at: isize, needle: &[u8]) -> bool {
        let mut data = crate::verify::fixtures::bytes("c-static");
        let (offset, size) = {
            let elf = ElfFile::parse(&data).unwrap();
            let sh = elf.section_by_name(section).unwrap();
            (sh.sh_offset as usize, sh.sh_size as usize)
        };
        let start = if at < 0 {
            offset + size - at.unsigned_abs()
        } else {
            offset + at as usize
        };
        data[start..start + needle.len()].copy_from_slice(needle);
        let elf = ElfFile::parse(&data).unwrap();
        uses_glibc_nss(&elf)
    }

    #[test]
    fn nss_names_are_searched_for_once_in_read_only_data_only() {
        let new: &[u8] = b"libnss_%s.so%s\0";
        let old: &[u8] = b"\0libnss_\0";
        // The fixture names no NSS module (`grep -c libnss_ testdata/c-static` is 0).
        with("c-static", |elf, _| assert!(!uses_glibc_nss(elf)));
        // Either form, anywhere in .rodata: its first and last bytes, and across the boundary
        // of the chunks the search goes by (.rodata is 0x1bc74 bytes, one chunk 0x10000).
        let edge = 0x1bc74 - NSS_CHUNK as isize;
        for (needle, at) in [
            (new, 0),
            (new, -(new.len() as isize)),
            (new, 0x8000),
            (new, edge - 5),
            (old, 0x8000),
            (old, edge - 3),
            (old, -(old.len() as isize)),
        ] {
            assert!(nss_with(".rodata", at, needle), "{needle:?} at {at}");
        }
        // `libnss_` neither at a string's start nor followed by `%s.so%s`: another string.
        assert!(!nss_with(".rodata", 0x8000, b"xlibnss_x\0"));
        // Nowhere else: code, unwind tables.
        for section in [".text", ".eh_frame"] {
            for needle in [new, old] {
                assert!(!nss_with(section, 0x100, needle), "{section} {needle:?}");
            }
        }
    }
}
