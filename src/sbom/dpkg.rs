//! Which Debian package owns a file of a root: the root's dpkg database
//! (`var/lib/dpkg/status` and `var/lib/dpkg/info/*.list`), read as `dpkg -S` reads it.
//!
//! Merged /usr: a package's `.list` may say `/lib/x86_64-linux-gnu/libc.so.6` while the file
//! is found as `/usr/lib/x86_64-linux-gnu/libc.so.6` (or the other way round). Both forms are
//! tried, but only where the root really aliases them (its `/lib` is a link to `usr/lib`), so
//! an unmerged root never gets a false owner. A package the status file does not list as
//! installed with a version owns nothing.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::Path;

use super::purl;

/// The directories merged /usr turns into links (`/lib` → `usr/lib`).
const MERGED: [&str; 7] = ["bin", "sbin", "lib", "lib32", "lib64", "libx32", "libo32"];

/// An installed package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebPackage {
    /// The package name.
    pub name: String,
    /// Its version (`2.36-9+deb12u9`).
    pub version: String,
    /// Its architecture (`amd64`, `all`).
    pub arch: String,
    /// `debian`, `ubuntu`, ... (the root's `os-release` `ID`).
    pub distro: String,
}

impl DebPackage {
    /// `pkg:deb/DISTRO/NAME@VERSION?arch=ARCH`.
    pub fn purl(&self) -> String {
        purl::make(
            &format!("deb/{}", self.distro),
            &self.name,
            &self.version,
            &format!("arch={}", self.arch),
        )
    }
}

/// A root's dpkg database, read for a set of paths.
#[derive(Debug, Default)]
pub struct Owners {
    /// Owner of each asked path that has one.
    pub by_path: BTreeMap<String, DebPackage>,
    /// Paths a `.list` names whose package the status file does not show installed with a
    /// version (`dpkg -S` would name it; binslim does not trust it).
    pub untrusted: BTreeMap<String, String>,
}

/// `true` when `root` has a dpkg database.
pub fn has_database(root: &Path) -> bool {
    root.join("var/lib/dpkg/status").is_file()
}

/// The owners of `paths` (root-absolute, each with the real path it resolves to) in `root`.
/// Unreadable parts of the database are skipped: a file without an owner is not an error.
pub fn owners(root: &Path, paths: &[(String, String)]) -> Owners {
    let installed = read_status(root);
    let distro = distro(root);
    let merged: Vec<&str> = MERGED
        .iter()
        .copied()
        .filter(|d| {
            fs::read_link(root.join(d)).is_ok_and(|t| {
                t.to_str().map(|t| t.trim_start_matches('/')) == Some(&format!("usr/{d}"))
            })
        })
        .collect();
    // Each candidate form → the asked path, in order of preference.
    let mut wanted: HashMap<String, Vec<(usize, String)>> = HashMap::new();
    for (path, real) in paths {
        for (rank, form) in forms(path, real, &merged).into_iter().enumerate() {
            wanted.entry(form).or_default().push((rank, path.clone()));
        }
    }
    // Every (rank, list) that names each asked path.
    let mut hits: BTreeMap<String, Vec<(usize, String)>> = BTreeMap::new();
    let Ok(dir) = fs::read_dir(root.join("var/lib/dpkg/info")) else {
        return Owners::default();
    };
    let mut lists: Vec<_> = dir
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            Some((name.strip_suffix(".list")?.to_string(), e.path()))
        })
        .collect();
    lists.sort();
    for (stem, path) in lists {
        let Ok(text) = fs::read(&path) else { continue };
        for line in String::from_utf8_lossy(&text).lines() {
            for (rank, asked) in wanted.get(line).into_iter().flatten() {
                hits.entry(asked.clone())
                    .or_default()
                    .push((*rank, stem.clone()));
            }
        }
    }
    let mut out = Owners::default();
    for (asked, mut lists) in hits {
        // The best-ranked list whose package is installed; else say which list was not believed.
        lists.sort();
        let owner = lists
            .iter()
            .find_map(|(_, stem)| installed_package(&installed, stem));
        match owner {
            Some(p) => {
                let mut p = p.clone();
                p.distro = distro.clone();
                out.by_path.insert(asked, p);
            }
            None => {
                out.untrusted.insert(asked, lists[0].1.clone());
            }
        }
    }
    out
}

/// The installed package a list file stem (`NAME` or `NAME:ARCH`) belongs to.
fn installed_package<'a>(installed: &'a [DebPackage], stem: &str) -> Option<&'a DebPackage> {
    let (name, arch) = match stem.split_once(':') {
        Some((n, a)) => (n, Some(a)),
        None => (stem, None),
    };
    installed
        .iter()
        .find(|p| p.name == name && arch.is_none_or(|a| a == p.arch))
}

/// The forms under which a `.list` may name the file: as found, its alias, the real path, its
/// alias.
fn forms(path: &str, real: &str, merged: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in [path, real] {
        for f in [Some(p.to_string()), alias(p, merged)]
            .into_iter()
            .flatten()
        {
            if !out.contains(&f) {
                out.push(f);
            }
        }
    }
    out
}

/// `/usr/lib/x` ↔ `/lib/x` where the root merges that directory.
fn alias(path: &str, merged: &[&str]) -> Option<String> {
    if let Some(rest) = path.strip_prefix("/usr/") {
        let top = rest.split('/').next()?;
        return merged.contains(&top).then(|| format!("/{rest}"));
    }
    let top = path.strip_prefix('/')?.split('/').next()?;
    merged.contains(&top).then(|| format!("/usr{path}"))
}

/// The packages the status file shows installed with a version.
fn read_status(root: &Path) -> Vec<DebPackage> {
    let Ok(bytes) = fs::read(root.join("var/lib/dpkg/status")) else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut out = Vec::new();
    for para in text.split("\n\n") {
        let mut fields: HashMap<&str, &str> = HashMap::new();
        for line in para.lines() {
            if line.starts_with([' ', '\t']) {
                continue;
            }
            if let Some((k, v)) = line.split_once(':') {
                fields.insert(k.trim(), v.trim());
            }
        }
        let installed = fields
            .get("Status")
            .is_some_and(|s| s.split_whitespace().nth(2) == Some("installed"));
        let (Some(name), Some(version)) = (fields.get("Package"), fields.get("Version")) else {
            continue;
        };
        if !installed || name.is_empty() || version.is_empty() {
            continue;
        }
        out.push(DebPackage {
            name: name.to_string(),
            version: version.to_string(),
            arch: fields.get("Architecture").unwrap_or(&"all").to_string(),
            distro: String::new(),
        });
    }
    out
}

/// The root's `os-release` `ID` when it is a plain lowercase word, else `debian`.
fn distro(root: &Path) -> String {
    for p in ["etc/os-release", "usr/lib/os-release"] {
        let Ok(text) = fs::read_to_string(root.join(p)) else {
            continue;
        };
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("ID=") {
                let v = v.trim().trim_matches('"');
                if !v.is_empty()
                    && v.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                {
                    return v.to_string();
                }
            }
        }
    }
    "debian".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_only_merged_directories() {
        let merged = ["lib", "lib64"];
        assert_eq!(
            alias("/usr/lib/x/libc.so.6", &merged).unwrap(),
            "/lib/x/libc.so.6"
        );
        assert_eq!(alias("/lib64/ld.so", &merged).unwrap(), "/usr/lib64/ld.so");
        assert_eq!(alias("/usr/bin/sh", &merged), None);
        assert_eq!(alias("/opt/x", &merged), None);
    }
}
