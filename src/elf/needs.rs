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
    let has = |n: &str| funcs.contains(n);
    let has_prefix = |p: &str| funcs.any_starts_with(p);
    Some(RuntimeNeeds {
        certs: (has("crypto/x509.loadSystemRoots") || has("crypto/x509.initSystemRoots"))
            && !has("crypto/x509.SetFallbackRoots"),
        zoneinfo: (has("time.loadLocation") || has("time.LoadLocation"))
            && !has_prefix("time/tzdata."),
        users: has_prefix("os/user."),
        go_resolver: has_prefix("net.(*Resolver)") || has_prefix("net.Lookup"),
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
