//! Which directories a dynamic loader searches on its own, and how it expands `$LIB` and
//! `$PLATFORM`: facts of how that loader was built, not of the machine.
//!
//! # glibc
//! glibc compiles its default directories into `ld.so` (`system_dirs`, printed by
//! `ld.so --list-diagnostics` as `path.system_dirs[...]`), with a table of their lengths
//! (`system_dirs_len`) beside it. binslim reads that list from the root's own loader: the
//! directories are then exactly the ones that loader searches, wherever the file sits. When the
//! list cannot be found, the loader's real location (symlinks followed inside the root, a
//! leading `/usr` ignored since merged-/usr images link `/lib` to `/usr/lib`) picks a row of
//! [`GLIBC_LAYOUTS`]. How each row was established:
//!
//! | loader's directory | default directories | established by |
//! |---|---|---|
//! | `/lib/<triplet>` (Debian, Ubuntu, distroless: x86_64, aarch64, ...) | `/lib/<triplet>/`, `/usr/lib/<triplet>/`, `/lib/`, `/usr/lib/` | Debian 12 x86_64 glibc 2.36: `ld.so --list-diagnostics`, `LD_DEBUG=libs`, and chroot starts (a libc only in `/usr/lib64` or `/lib64` is not found). aarch64 is the same Debian build rule with its triplet (not run here). |
//! | `/lib64` (Fedora, RHEL, upstream glibc on 64-bit) | `/lib64/`, `/usr/lib64/` | upstream glibc's `slibdir`/`libdir` for 64-bit targets, as Fedora's `ld.so --list-diagnostics` prints them (not run here: no Fedora root offline). |
//! | `/lib` (upstream glibc on 32-bit targets) | `/lib/`, `/usr/lib/` | upstream glibc's defaults for 32-bit targets (not run here). |
//!
//! Any other place: no default directories (binslim never searches a directory the loader
//! might not), and a warning says so.
//!
//! `$LIB` is glibc's `DL_DST_LIB`: the first default directory without its slashes
//! (`lib/x86_64-linux-gnu` on Debian, as `LD_DEBUG=libs` shows for an RPATH of `/opt/$LIB`;
//! `lib64` on Fedora). `$PLATFORM` is the CPU's AT_PLATFORM string, which the kernel sets at run
//! time (`x86_64` on x86_64 Linux — glibc 2.36 prints that on this machine; older glibc and
//! some CPUs say `haswell` or `xeon_phi`); binslim uses the machine name (`x86_64`, `aarch64`,
//! `i686` for i386).
//!
//! # musl
//! musl reads `PREFIX/etc/ld-musl-ARCH.path` (PREFIX is the loader's PT_INTERP path minus its
//! last two components: `/lib/ld-musl-x86_64.so.1` gives `/etc/ld-musl-x86_64.path`), entries
//! separated by `:` or newlines; without that file, `/lib:/usr/local/lib:/usr/lib`
//! (musl 1.2 `ldso/dynlink.c`, `load_library`).

use std::fs;
use std::path::Path;

use super::resolve_in_root;

/// A glibc loader's default directories, by where the loader sits (see the module docs).
pub const GLIBC_LAYOUTS: &[(&str, &[&str])] = &[
    (
        "/lib/<triplet>",
        &[
            "/lib/<triplet>/",
            "/usr/lib/<triplet>/",
            "/lib/",
            "/usr/lib/",
        ],
    ),
    ("/lib64", &["/lib64/", "/usr/lib64/"]),
    ("/lib", &["/lib/", "/usr/lib/"]),
];

/// Debian's multiarch triplet for a machine.
pub fn debian_triplet(machine: &str, class: &str) -> Option<&'static str> {
    Some(match (machine, class) {
        ("x86_64", "elf64") => "x86_64-linux-gnu",
        ("x86_64", _) => "x86_64-linux-gnux32",
        ("aarch64", _) => "aarch64-linux-gnu",
        ("i386", _) => "i386-linux-gnu",
        ("arm", _) => "arm-linux-gnueabihf",
        ("riscv64", _) => "riscv64-linux-gnu",
        ("ppc64le", _) => "powerpc64le-linux-gnu",
        ("s390x", _) => "s390x-linux-gnu",
        ("mips64le", _) => "mips64el-linux-gnuabi64",
        _ => return None,
    })
}

/// musl's name for a machine in `ld-musl-ARCH.so.1` and `ld-musl-ARCH.path`.
pub fn musl_arch(machine: &str) -> String {
    match machine {
        "arm" => "armhf".into(),
        "ppc64le" => "powerpc64le".into(),
        "ppc64" => "powerpc64".into(),
        "mipsle" => "mipsel".into(),
        m => m.to_string(),
    }
}

/// What `$PLATFORM` expands to (see the module docs).
pub fn platform(machine: &str) -> &str {
    match machine {
        "i386" => "i686",
        "arm" => "v7l",
        m => m,
    }
}

/// Where a glibc loader's default directories came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirsSource {
    /// Read from the loader file (`system_dirs` in its read-only data).
    Loader,
    /// The [`GLIBC_LAYOUTS`] row for the loader's directory.
    Layout(&'static str),
    /// Not known: no default directories are searched.
    Unknown,
}

/// Finds glibc's `system_dirs` string in a loader's bytes: NUL-separated absolute directories,
/// each ending in `/`, right after (or before) an array of their lengths in target words.
pub fn system_dirs_in(data: &[u8], is_64: bool, little: bool) -> Option<Vec<String>> {
    let word = if is_64 { 8 } else { 4 };
    let read = |at: usize| crate::elf::file::read_uint(data, at, word, little);
    let mut from = 0;
    while let Some(pos) = memchr::memmem::find(&data[from..], b"/lib").map(|p| p + from) {
        from = pos + 1;
        if pos == 0 || data[pos - 1] != 0 {
            continue;
        }
        // Collect the run of "/.../\0" strings starting here.
        let mut dirs = Vec::new();
        let mut at = pos;
        while let Some(s) = crate::elf::file::cstr_at(data, at) {
            if s.len() < 2 || s[0] != b'/' || s[s.len() - 1] != b'/' || dirs.len() > 16 {
                break;
            }
            dirs.push(String::from_utf8_lossy(s).into_owned());
            at += s.len() + 1;
        }
        if dirs.is_empty() {
            continue;
        }
        let n = dirs.len();
        let lens_match =
            |base: usize| (0..n).all(|i| read(base + i * word) == Some(dirs[i].len() as u64));
        let before = pos.checked_sub(n * word);
        let after = at.div_ceil(word) * word;
        if before.is_some_and(lens_match) || lens_match(after) {
            return Some(dirs);
        }
    }
    None
}

/// The default directories of the glibc loader at `loader_real` (root-absolute, symlinks
/// resolved), whose host file is `host`.
pub fn glibc_dirs(
    root: &Path,
    loader_real: Option<&str>,
    machine: &str,
    class: &str,
) -> (Vec<String>, DirsSource) {
    if let Some(real) = loader_real
        && let Some(host) = resolve_in_root(root, real)
        && let Ok(data) = fs::read(&host)
        && let Ok(elf) = crate::elf::ElfFile::parse(&data)
        && let Some(dirs) = system_dirs_in(&data, elf.is_64(), elf.is_little_endian())
    {
        return (dirs, DirsSource::Loader);
    }
    let Some(real) = loader_real else {
        return (Vec::new(), DirsSource::Unknown);
    };
    let dir = real.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    let dir = dir.strip_prefix("/usr").unwrap_or(dir);
    if let Some(t) = debian_triplet(machine, class)
        && dir == format!("/lib/{t}")
    {
        let dirs = GLIBC_LAYOUTS[0]
            .1
            .iter()
            .map(|d| d.replace("<triplet>", t))
            .collect();
        return (dirs, DirsSource::Layout(GLIBC_LAYOUTS[0].0));
    }
    for (place, dirs) in &GLIBC_LAYOUTS[1..] {
        if dir == *place {
            return (
                dirs.iter().map(|d| d.to_string()).collect(),
                DirsSource::Layout(place),
            );
        }
    }
    (Vec::new(), DirsSource::Unknown)
}

/// musl's search path file for a loader named `interp` (its PT_INTERP), as `load_library`
/// builds it.
pub fn musl_path_file(interp: &str, machine: &str) -> String {
    let prefix = if interp.starts_with('/') {
        let slashes: Vec<usize> = interp.match_indices('/').map(|(i, _)| i).collect();
        let z = if slashes.len() >= 2 {
            slashes[slashes.len() - 2]
        } else {
            0
        };
        &interp[..z]
    } else {
        ""
    };
    format!("{prefix}/etc/ld-musl-{}.path", musl_arch(machine))
}

/// musl's default directories: the path file's entries (`:` or newline separated; an empty or
/// unreadable file means none), else `/lib:/usr/local/lib:/usr/lib`.
pub fn musl_dirs(root: &Path, interp: &str, machine: &str) -> (Vec<String>, Option<String>) {
    let file = musl_path_file(interp, machine);
    match resolve_in_root(root, &file) {
        Some(host) => {
            let text = fs::read_to_string(host).unwrap_or_default();
            let dirs = text
                .split([':', '\n'])
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            (dirs, Some(file))
        }
        None => (
            ["/lib", "/usr/local/lib", "/usr/lib"]
                .map(String::from)
                .to_vec(),
            None,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn musl_path_file_follows_the_loader_prefix() {
        assert_eq!(
            musl_path_file("/lib/ld-musl-x86_64.so.1", "x86_64"),
            "/etc/ld-musl-x86_64.path"
        );
        assert_eq!(
            musl_path_file("/opt/musl/lib/ld-musl-aarch64.so.1", "aarch64"),
            "/opt/musl/etc/ld-musl-aarch64.path"
        );
    }

    /// Without a readable list, the loader's real directory picks the layout; an unknown place
    /// gives no directories at all.
    #[test]
    fn layout_by_the_loaders_place() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // Any ELF file without glibc's list stands in for the loader.
        let fake = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/musl-static");
        for place in ["usr/lib/x86_64-linux-gnu", "lib64", "lib", "opt"] {
            fs::create_dir_all(root.join(place)).unwrap();
            fs::copy(fake, root.join(place).join("ld.so")).unwrap();
        }
        let dirs = |p: &str| glibc_dirs(root, Some(p), "x86_64", "elf64");
        assert_eq!(
            dirs("/usr/lib/x86_64-linux-gnu/ld.so"),
            (
                [
                    "/lib/x86_64-linux-gnu/",
                    "/usr/lib/x86_64-linux-gnu/",
                    "/lib/",
                    "/usr/lib/"
                ]
                .map(String::from)
                .to_vec(),
                DirsSource::Layout("/lib/<triplet>")
            )
        );
        assert_eq!(
            dirs("/lib64/ld.so"),
            (
                ["/lib64/", "/usr/lib64/"].map(String::from).to_vec(),
                DirsSource::Layout("/lib64")
            )
        );
        assert_eq!(dirs("/lib/ld.so").1, DirsSource::Layout("/lib"));
        assert_eq!(dirs("/opt/ld.so"), (Vec::new(), DirsSource::Unknown));
    }

    /// The list read from this machine's loader is what `ld.so --list-diagnostics` prints.
    #[test]
    #[cfg(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu"))]
    fn reads_system_dirs_from_the_hosts_loader() {
        // A glibc x86_64 host has this loader: its absence is a broken test machine.
        let data = fs::read("/lib64/ld-linux-x86-64.so.2").expect("the host's glibc loader");
        let out = std::process::Command::new("/lib64/ld-linux-x86-64.so.2")
            .arg("--list-diagnostics")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let expected: Vec<String> = text
            .lines()
            .filter(|l| l.starts_with("path.system_dirs["))
            .filter_map(|l| l.split('"').nth(1).map(String::from))
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(system_dirs_in(&data, true, true), Some(expected));
    }
}
