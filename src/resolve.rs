//! Resolving a program's loader and shared libraries inside an image root (`verify --root`),
//! the way the dynamic loader would, without running anything.
//!
//! For each DT_NEEDED name the search is: a name with a `/` is a path; else DT_RPATH of the
//! requesting object and then of the executable (only when the requesting object has no
//! DT_RUNPATH), then DT_RUNPATH of the requesting object, then the directories of the root's
//! `/etc/ld.so.conf` (with `include`), then the default directories for the machine (glibc's
//! multiarch and lib64 directories, or musl's `/etc/ld-musl-ARCH.path` and defaults). `$ORIGIN`
//! is the requesting object's directory. A candidate of another class or machine is skipped, as
//! the loader does. Absolute symlinks are resolved inside the root.

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::fs;
use std::path::{Component, Path, PathBuf};

use crate::elf::{self, Analysis};
use crate::input::Input;

/// What is missing for a program to start inside a root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolution {
    /// The interpreter, when it does not exist in the root.
    pub missing_interpreter: Option<String>,
    /// `(library, needed by)` pairs that resolve nowhere in the root, in discovery order.
    pub missing_libraries: Vec<(String, String)>,
    /// Libraries found, as root-absolute paths.
    pub found: Vec<String>,
}

impl Resolution {
    /// True when the loader and every library were found.
    pub fn is_complete(&self) -> bool {
        self.missing_interpreter.is_none() && self.missing_libraries.is_empty()
    }
}

/// Resolves `program` (analyzed, located at `program_path` inside `root`, a root-absolute path
/// such as `/server`) against `root`.
pub fn resolve(root: &Path, program: &Analysis, program_path: &str) -> Resolution {
    let mut res = Resolution::default();
    let musl = program
        .interpreter
        .as_deref()
        .is_some_and(|i| i.contains("ld-musl"));
    if let Some(interp) = &program.interpreter
        && resolve_in_root(root, interp).is_none()
    {
        res.missing_interpreter = Some(interp.clone());
    }
    let dirs = system_dirs(root, program, musl);
    let exe_rpath = program.rpath.clone();

    let mut seen: HashSet<String> = HashSet::new();
    let mut queue: VecDeque<(String, Analysis)> = VecDeque::new();
    queue.push_back((program_path.to_string(), program.clone()));
    while let Some((obj_path, obj)) = queue.pop_front() {
        let origin = parent(&obj_path);
        for name in &obj.needed {
            if !seen.insert(name.clone()) {
                continue;
            }
            let mut search: Vec<String> = Vec::new();
            if obj.runpath.is_empty() {
                search.extend(obj.rpath.iter().cloned());
                search.extend(exe_rpath.iter().cloned());
            }
            search.extend(obj.runpath.iter().cloned());
            search.extend(dirs.iter().cloned());
            let candidates: Vec<String> = if name.contains('/') {
                vec![name.clone()]
            } else {
                search
                    .iter()
                    .map(|d| format!("{}/{name}", expand_origin(d, &origin)))
                    .collect()
            };
            let hit = candidates.iter().find_map(|c| {
                let real = resolve_in_root(root, c)?;
                let lib = load(&real)?;
                (lib.machine == program.machine && lib.class == program.class)
                    .then(|| (c.clone(), lib))
            });
            match hit {
                Some((path, lib)) => {
                    res.found.push(path.clone());
                    queue.push_back((path, lib));
                }
                None => res
                    .missing_libraries
                    .push((name.clone(), file_name(&obj_path))),
            }
        }
    }
    res
}

fn load(path: &Path) -> Option<Analysis> {
    let input = Input::open(path).ok()?;
    let parsed = elf::ElfFile::parse(input.bytes()).ok()?;
    Some(elf::analyze_with(&parsed, elf::Detail::Summary))
}

fn parent(p: &str) -> String {
    match p.rfind('/') {
        Some(0) | None => "/".into(),
        Some(i) => p[..i].to_string(),
    }
}

fn file_name(p: &str) -> String {
    p.rsplit('/').next().unwrap_or(p).to_string()
}

fn expand_origin(dir: &str, origin: &str) -> String {
    let origin = origin.trim_end_matches('/');
    dir.replace("${ORIGIN}", origin).replace("$ORIGIN", origin)
}

/// The loader's own directories for this program: ld.so.conf, then the defaults.
fn system_dirs(root: &Path, program: &Analysis, musl: bool) -> Vec<String> {
    let mut dirs = Vec::new();
    if musl {
        let arch = program.machine.as_str();
        let path_file = format!("/etc/ld-musl-{arch}.path");
        if let Some(text) =
            resolve_in_root(root, &path_file).and_then(|p| fs::read_to_string(p).ok())
        {
            dirs.extend(
                text.split(['\n', ':'])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
        } else {
            dirs.extend(["/lib", "/usr/local/lib", "/usr/lib"].map(String::from));
        }
        return dirs;
    }
    let mut visited = BTreeSet::new();
    read_ld_so_conf(root, "/etc/ld.so.conf", &mut dirs, &mut visited);
    let triplet = match (program.machine.as_str(), program.class) {
        ("x86_64", "elf64") => Some("x86_64-linux-gnu"),
        ("aarch64", _) => Some("aarch64-linux-gnu"),
        ("i386", _) => Some("i386-linux-gnu"),
        ("arm", _) => Some("arm-linux-gnueabihf"),
        ("riscv64", _) => Some("riscv64-linux-gnu"),
        ("ppc64le", _) => Some("powerpc64le-linux-gnu"),
        ("s390x", _) => Some("s390x-linux-gnu"),
        _ => None,
    };
    if let Some(t) = triplet {
        dirs.push(format!("/lib/{t}"));
        dirs.push(format!("/usr/lib/{t}"));
    }
    if program.class == "elf64" {
        dirs.extend(["/lib64", "/usr/lib64"].map(String::from));
    }
    dirs.extend(["/lib", "/usr/lib"].map(String::from));
    dirs
}

fn read_ld_so_conf(
    root: &Path,
    conf: &str,
    dirs: &mut Vec<String>,
    visited: &mut BTreeSet<String>,
) {
    if !visited.insert(conf.to_string()) || visited.len() > 256 {
        return;
    }
    let Some(text) = resolve_in_root(root, conf).and_then(|p| fs::read_to_string(p).ok()) else {
        return;
    };
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Some(pattern) = line.strip_prefix("include") {
            for pat in pattern.split_whitespace() {
                let pat = if pat.starts_with('/') {
                    pat.to_string()
                } else {
                    format!("{}/{pat}", parent(conf))
                };
                for file in glob_in_root(root, &pat) {
                    read_ld_so_conf(root, &file, dirs, visited);
                }
            }
        } else {
            dirs.extend(
                line.split([':', ',', ' ', '\t'])
                    .filter(|s| !s.is_empty())
                    .map(String::from),
            );
        }
    }
}

/// Expands a `dir/prefix*suffix` pattern (the form ld.so.conf uses) inside the root, sorted.
fn glob_in_root(root: &Path, pattern: &str) -> Vec<String> {
    let dir = parent(pattern);
    let name_pat = file_name(pattern);
    let Some(real_dir) = resolve_in_root(root, &dir) else {
        return Vec::new();
    };
    let (pre, suf) = name_pat.split_once('*').unwrap_or((&name_pat, ""));
    let exact = !name_pat.contains('*');
    let mut out: Vec<String> = fs::read_dir(real_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| {
            if exact {
                *n == name_pat
            } else {
                n.starts_with(pre) && n.ends_with(suf)
            }
        })
        .map(|n| format!("{}/{n}", dir.trim_end_matches('/')))
        .collect();
    out.sort();
    out
}

/// Maps a root-absolute path to a host path inside `root`, following symlinks (absolute ones
/// relative to the root, `..` never above it). `None` when it does not exist.
pub fn resolve_in_root(root: &Path, path: &str) -> Option<PathBuf> {
    let mut parts: VecDeque<String> = components(path).into();
    let mut cur: Vec<String> = Vec::new();
    let mut hops = 0;
    while let Some(part) = parts.pop_front() {
        match part.as_str() {
            ".." => {
                cur.pop();
                continue;
            }
            "." => continue,
            _ => {}
        }
        cur.push(part);
        let host = host_path(root, &cur);
        let meta = fs::symlink_metadata(&host).ok()?;
        if meta.file_type().is_symlink() {
            hops += 1;
            if hops > 40 {
                return None;
            }
            let target = fs::read_link(&host).ok()?;
            let target = target.to_string_lossy().into_owned();
            cur.pop();
            if target.starts_with('/') {
                cur.clear();
            }
            let mut new: VecDeque<String> = components(&target).into();
            new.extend(parts.drain(..));
            parts = new;
        }
    }
    let host = host_path(root, &cur);
    host.exists().then_some(host)
}

fn components(p: &str) -> Vec<String> {
    Path::new(p)
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect()
}

fn host_path(root: &Path, parts: &[String]) -> PathBuf {
    let mut p = root.to_path_buf();
    p.extend(parts);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_and_paths() {
        assert_eq!(
            expand_origin("$ORIGIN/../lib", "/app/bin"),
            "/app/bin/../lib"
        );
        assert_eq!(expand_origin("${ORIGIN}/lib", "/"), "/lib");
        assert_eq!(parent("/server"), "/");
        assert_eq!(parent("/app/bin/server"), "/app/bin");
        assert_eq!(file_name("/app/bin/server"), "server");
    }

    #[test]
    fn symlinks_resolve_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("lib/x86_64-linux-gnu")).unwrap();
        fs::create_dir_all(root.join("lib64")).unwrap();
        fs::write(root.join("lib/x86_64-linux-gnu/ld.so"), b"x").unwrap();
        std::os::unix::fs::symlink("/lib/x86_64-linux-gnu/ld.so", root.join("lib64/ld.so"))
            .unwrap();
        std::os::unix::fs::symlink("../../../../etc", root.join("lib/up")).unwrap();
        std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
        assert_eq!(
            resolve_in_root(root, "/lib64/ld.so"),
            Some(root.join("lib/x86_64-linux-gnu/ld.so"))
        );
        // `..` never leaves the root: /lib/up points at <root>/etc, which does not exist.
        assert_eq!(resolve_in_root(root, "/lib/up/passwd"), None);
        assert_eq!(resolve_in_root(root, "/loop"), None);
        assert_eq!(resolve_in_root(root, "/nope"), None);
    }
}
