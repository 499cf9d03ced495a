//! Which run-time files a program will look for, so `binslim image` can add them: the same
//! evidence verify's warnings use (Go function names in `.gopclntab`), plus the path strings a
//! C or Rust program carries.
//!
//! Go is exact: a function that is linked in is a function that can run. For other programs the
//! evidence is a path string in the file (`/etc/ssl/certs`, `/usr/share/zoneinfo`) or a TLS
//! library among DT_NEEDED: good enough to add a 220 KB bundle, never enough to refuse.

use crate::elf::{Analysis, ElfFile, gofuncs};

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
    /// True for a Go program (the facts above come from its function names).
    pub go: bool,
}

/// The run-time needs of one program: Go function names when there are any, else path strings
/// in the file and its DT_NEEDED names.
pub fn runtime_needs(elf: &ElfFile<'_>, a: &Analysis, data: &[u8]) -> RuntimeNeeds {
    if let Some(funcs) = gofuncs::function_names(elf) {
        let has = |n: &str| funcs.contains(n);
        let has_prefix = |p: &str| funcs.iter().any(|f| f.starts_with(p));
        return RuntimeNeeds {
            certs: (has("crypto/x509.loadSystemRoots") || has("crypto/x509.initSystemRoots"))
                && !has("crypto/x509.SetFallbackRoots"),
            zoneinfo: (has("time.loadLocation") || has("time.LoadLocation"))
                && !has_prefix("time/tzdata."),
            users: has_prefix("os/user."),
            go_resolver: has_prefix("net.(*Resolver)") || has_prefix("net.Lookup"),
            go: true,
        };
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
        go: a.go.is_some(),
    }
}
