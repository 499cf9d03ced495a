//! Ordered maps keyed by host paths, compared as bytes.
//!
//! The merge keeps every file of an image in ordered maps (so that what lies below a removed
//! directory is one range). Keyed by `PathBuf`, each comparison parsed both paths into
//! components: two thirds of the instructions of reading a 1 GiB layer went there. Here a key
//! is the path's bytes with each `/` stored as `0` (no path holds a NUL), so comparing keys is
//! one `memcmp` and orders paths exactly as their components do: a directory sorts right
//! before everything below it, `/a/b/c` before `/a/b-x`. Paths are normalized (no `//`, `.`
//! or trailing `/`), as [`super::merge`] builds them.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// The separator's byte in a key: below every byte a file name can hold.
const SEP: u8 = 0;

/// The key of `p`: computed once when one path goes to several maps (each conversion is an
/// allocation).
pub fn key(p: &Path) -> Box<[u8]> {
    p.as_os_str()
        .as_bytes()
        .iter()
        .map(|&b| if b == b'/' { SEP } else { b })
        .collect()
}

fn path_of(k: &[u8]) -> PathBuf {
    let bytes: Vec<u8> = k.iter().map(|&b| if b == SEP { b'/' } else { b }).collect();
    PathBuf::from(OsString::from_vec(bytes))
}

/// A map from host paths to `V`, ordered as paths (see the module).
#[derive(Debug)]
pub struct PathMap<V> {
    map: BTreeMap<Box<[u8]>, V>,
}

impl<V> Default for PathMap<V> {
    fn default() -> Self {
        PathMap {
            map: BTreeMap::new(),
        }
    }
}

impl<V> PathMap<V> {
    /// The value at `p`.
    pub fn get(&self, p: &Path) -> Option<&V> {
        self.map.get(&*key(p))
    }

    /// Whether `p` has a value.
    pub fn contains_key(&self, p: &Path) -> bool {
        self.map.contains_key(&*key(p))
    }

    /// Whether the path of key `k` ([`key`]) has a value.
    pub fn contains_k(&self, k: &[u8]) -> bool {
        self.map.contains_key(k)
    }

    /// Sets the value at the path of key `k`, returning the old one.
    pub fn insert_k(&mut self, k: Box<[u8]>, v: V) -> Option<V> {
        self.map.insert(k, v)
    }

    /// Removes the value at the path of key `k`.
    pub fn remove_k(&mut self, k: &[u8]) -> Option<V> {
        self.map.remove(k)
    }

    /// Sets the value at `p`, returning the old one.
    pub fn insert(&mut self, p: &Path, v: V) -> Option<V> {
        self.map.insert(key(p), v)
    }

    /// Removes the value at `p`.
    pub fn remove(&mut self, p: &Path) -> Option<V> {
        self.map.remove(&*key(p))
    }

    /// The paths at or below `dir` (`dir` first when present) that `pick` accepts: one range.
    pub fn at_or_below(&self, dir: &Path, pick: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
        let k = key(dir);
        self.map
            .range::<[u8], _>((std::ops::Bound::Included(&*k), std::ops::Bound::Unbounded))
            .map(|(p, _)| p)
            .take_while(|p| p.starts_with(&k) && (p.len() == k.len() || p[k.len()] == SEP))
            .map(|p| path_of(p))
            .filter(|p| pick(p))
            .collect()
    }

    /// The paths directly in `dir` (not deeper), in order: the range of `dir`'s descendants,
    /// each child's own descendants passed over by a seek, not visited one by one.
    pub fn children(&self, dir: &Path) -> Vec<PathBuf> {
        let mut from = key(dir).into_vec();
        from.push(SEP);
        let prefix = from.len();
        let mut out = Vec::new();
        loop {
            let next = self
                .map
                .range::<[u8], _>((
                    std::ops::Bound::Included(&*from),
                    std::ops::Bound::Unbounded,
                ))
                .next()
                .map(|(k, _)| k);
            let Some(k) = next.filter(|k| k.starts_with(&from[..prefix])) else {
                return out;
            };
            // The child's name ends at the next separator (a deeper path) or at the key's end.
            let end = k[prefix..]
                .iter()
                .position(|&b| b == SEP)
                .map_or(k.len(), |i| prefix + i);
            if end == k.len() {
                out.push(path_of(k));
            }
            // Past the child and everything below it: its name, then a byte above the separator.
            from.truncate(prefix);
            from.extend_from_slice(&k[prefix..end]);
            from.push(SEP + 1);
        }
    }

    /// Every path, in order.
    pub fn paths(&self) -> impl Iterator<Item = PathBuf> + '_ {
        self.map.keys().map(|k| path_of(k))
    }

    /// How many paths.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.map.len()
    }
}

/// A set of host paths, ordered as paths.
pub type PathSet = PathMap<()>;

impl PathSet {
    /// Adds `p`; true when it was not there.
    #[cfg(test)]
    pub fn add(&mut self, p: &Path) -> bool {
        self.insert(p, ()).is_none()
    }

    /// Whether `p` is in the set.
    pub fn contains(&self, p: &Path) -> bool {
        self.contains_key(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Byte keys order paths as `Path`'s component order does, on the cases where plain byte
    /// order does not: a sibling with a name that extends the directory's (`b-x`, `b.d`) sorts
    /// after everything below the directory.
    #[test]
    fn keys_order_as_path_components() {
        let paths = [
            "/r/a",
            "/r/a/b",
            "/r/a/b/c",
            "/r/a/b-x",
            "/r/a/b.d",
            "/r/a/b/c/d",
            "/r/a!",
            "/r/ab",
            "/r/a/b0",
            "/r/a/",
            "/r",
        ];
        let mut by_path: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
        by_path.sort();
        by_path.dedup();
        let mut m = PathSet::default();
        for p in &by_path {
            m.add(p);
        }
        let by_key: Vec<PathBuf> = m.paths().collect();
        assert_eq!(by_key, by_path);
    }

    #[test]
    fn at_or_below_is_one_range_and_stops_at_a_longer_sibling() {
        let mut m = PathMap::default();
        for (i, p) in [
            "/r/a", "/r/a/b", "/r/a/b/c", "/r/a/b-x", "/r/a/bc", "/r/a/b/d",
        ]
        .iter()
        .enumerate()
        {
            m.insert(Path::new(p), i);
        }
        let below = m.at_or_below(Path::new("/r/a/b"), |_| true);
        assert_eq!(below, ["/r/a/b", "/r/a/b/c", "/r/a/b/d"].map(PathBuf::from));
        let strictly = m.at_or_below(Path::new("/r/a/b"), |p| p != Path::new("/r/a/b"));
        assert_eq!(strictly, ["/r/a/b/c", "/r/a/b/d"].map(PathBuf::from));
        assert_eq!(m.get(Path::new("/r/a/bc")), Some(&4));
        assert_eq!(m.remove(Path::new("/r/a/b-x")), Some(3));
        assert!(!m.contains_key(Path::new("/r/a/b-x")));
        assert_eq!(m.len(), 5);
    }

    /// The children of a directory, not its grandchildren (skipped by seeking past them), and
    /// not a sibling whose name extends the directory's.
    #[test]
    fn children_are_one_level_below() {
        let mut m = PathSet::default();
        for p in [
            "/r/a",
            "/r/a/b",
            "/r/a/b/c",
            "/r/a/b/d/e",
            "/r/a/b-x",
            "/r/a/bc",
            "/r/a/c/d",
            "/r/a/z",
            "/r/a-b/q",
            "/r/b",
        ] {
            m.add(Path::new(p));
        }
        assert_eq!(
            m.children(Path::new("/r/a")),
            ["/r/a/b", "/r/a/b-x", "/r/a/bc", "/r/a/z"].map(PathBuf::from)
        );
        assert_eq!(m.children(Path::new("/r/a/b")), [PathBuf::from("/r/a/b/c")]);
        assert_eq!(m.children(Path::new("/r/a/c")), [PathBuf::from("/r/a/c/d")]);
        assert!(m.children(Path::new("/r/a/b/c")).is_empty());
        assert!(m.children(Path::new("/nope")).is_empty());
        assert_eq!(
            m.children(Path::new("/r")),
            ["/r/a", "/r/b"].map(PathBuf::from)
        );
    }
}
