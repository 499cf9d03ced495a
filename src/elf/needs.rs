//! Which run-time files a program will look for: verify warns when the image lacks them and
//! `binslim image` adds them. The evidence is Go function names in `.gopclntab` (exact: a
//! function linked in is a function that can run), else the path strings a C or Rust program
//! carries.
//!
//! Go is exact: a function that is linked in is a function that can run. For other programs the
//! evidence is a path string in the file (`/etc/ssl/certs`, `/usr/share/zoneinfo`) or a TLS
//! library among DT_NEEDED: good enough to add a 220 KB bundle, never enough to refuse.

use super::{Analysis, ElfFile, gofuncs};

/// Where a program loads the system root certificates from (Go, OpenSSL on Debian).
pub const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";
/// Where a program loads time zones from.
pub const ZONEINFO: &str = "/usr/share/zoneinfo";

/// Run-time files a program needs, as far as its bytes tell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuntimeNeeds {
    /// Loads the system root certificates (`/etc/ssl/certs/ca-certificates.crt`).
    pub certs: bool,
    /// Loads time zones from `/usr/share/zoneinfo`.
    pub zoneinfo: bool,
    /// Looks up users or groups (Go's `os/user`).
    pub users: bool,
    /// Go's own resolver, which reads `/etc/nsswitch.conf` to order files and DNS.
    pub go_resolver: bool,
}

/// The run-time needs of a Go program, from the function names in `.gopclntab` (`None` when
/// it has none: not Go, or no function table to read).
pub fn go_needs(elf: &ElfFile<'_>) -> Option<RuntimeNeeds> {
    let funcs = gofuncs::function_name_blob(elf)?;
    // One pass over the names (a Go program has up to a few MB of them, and most of what is
    // looked for is absent, which a search per name would read them all to tell).
    let (mut loads_roots, mut fallback_roots) = (false, false);
    let (mut loads_zones, mut embeds_zones) = (false, false);
    let (mut users, mut go_resolver) = (false, false);
    funcs.each_name(|name| {
        let under = |prefix: &[u8]| name.strip_prefix(prefix);
        match name.first() {
            Some(b'c') => {
                if let Some(rest) = under(b"crypto/x509.") {
                    loads_roots |= rest == b"loadSystemRoots" || rest == b"initSystemRoots";
                    fallback_roots |= rest == b"SetFallbackRoots";
                }
            }
            Some(b't') => {
                loads_zones |= name == b"time.loadLocation" || name == b"time.LoadLocation";
                embeds_zones |= name.starts_with(b"time/tzdata.");
            }
            Some(b'o') => users |= name.starts_with(b"os/user."),
            Some(b'n') => {
                if let Some(rest) = under(b"net.") {
                    go_resolver |= rest.starts_with(b"(*Resolver)") || rest.starts_with(b"Lookup");
                }
            }
            _ => {}
        }
    });
    Some(RuntimeNeeds {
        certs: loads_roots && !fallback_roots,
        zoneinfo: loads_zones && !embeds_zones,
        users,
        go_resolver,
    })
}

/// The run-time needs of one program: Go function names when there are any, else path strings
/// in the file and its DT_NEEDED names.
pub fn runtime_needs(elf: &ElfFile<'_>, a: &Analysis, data: &[u8]) -> RuntimeNeeds {
    if let Some(needs) = go_needs(elf) {
        return needs;
    }
    let find = |needle: &[u8]| memchr::memmem::find(data, needle).is_some();
    let tls_lib = a.needed.iter().any(|n| {
        n.starts_with("libssl.") || n.starts_with("libcrypto.") || n.starts_with("libgnutls")
    });
    RuntimeNeeds {
        certs: tls_lib || find(b"/etc/ssl/certs") || find(b"ca-certificates.crt"),
        zoneinfo: find(b"/usr/share/zoneinfo"),
        users: false,
        go_resolver: false,
    }
}
