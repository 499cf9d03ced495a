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

/// The bytes of the loaded, read-only, non-executable sections (where string constants live).
fn read_only_data<'a>(elf: &ElfFile<'a>) -> Vec<&'a [u8]> {
    use goblin::elf::section_header::{SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE};
    elf.shdrs
        .iter()
        .filter(|sh| {
            sh.sh_flags & u64::from(SHF_ALLOC) != 0
                && sh.sh_flags & u64::from(SHF_EXECINSTR | SHF_WRITE) == 0
        })
        .map(|sh| elf.section_data(sh))
        .collect()
}

/// glibc's names for NSS modules, reversed: `libnss_%s.so%s` (glibc 2.33 and later) and the
/// C string `libnss_` (older glibc). Kept reversed so that binslim's own bytes do not hold
/// them: a static binslim would otherwise warn about itself, as any tool carrying the
/// needle would.
const NSS_NEEDLES_REVERSED: [&[u8]; 2] = [b"s%os.s%_ssnbil", b"\0_ssnbil"];

/// A static program whose read-only data names glibc's NSS modules.
fn uses_glibc_nss(elf: &ElfFile<'_>) -> bool {
    let data = read_only_data(elf);
    NSS_NEEDLES_REVERSED.iter().any(|reversed| {
        let needle: Vec<u8> = reversed.iter().rev().copied().collect();
        contains(&data, &needle)
    })
}

fn contains(hay: &[&[u8]], needle: &[u8]) -> bool {
    hay.iter()
        .any(|h| memchr::memmem::find(h, needle).is_some())
}

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
}
