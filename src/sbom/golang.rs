//! Go modules from build info: the `mod`, `dep` and `=>` lines `go version -m` prints, with
//! their go.sum hashes, and the build settings.

use super::purl;

/// One module linked into a Go program (the main module or a dependency), replacement applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoModule {
    /// The module path (the replacement's, when replaced).
    pub path: String,
    /// The version (`v1.2.3`, `(devel)`); empty for a local replacement directory.
    pub version: String,
    /// The go.sum hash (`h1:` + base64 of a SHA-256), when recorded.
    pub sum: Option<String>,
    /// `PATH@VERSION` of the module it replaces, when it is a replacement.
    pub replaces: Option<String>,
}

impl GoModule {
    /// `pkg:golang/PATH@VERSION`; `None` for a local directory (`../x`, `/x`). A `(devel)` or
    /// empty version leaves `@VERSION` out.
    pub fn purl(&self) -> Option<String> {
        if self.path.starts_with('.') || self.path.starts_with('/') || self.path.is_empty() {
            return None;
        }
        Some(purl::make(
            "golang",
            &self.path,
            versioned(&self.version),
            "",
        ))
    }

    /// The go.sum hash as hex SHA-256 (`h1:` is base64 of a SHA-256), when it is one.
    pub fn sha256(&self) -> Option<String> {
        h1_to_hex(self.sum.as_deref()?)
    }
}

/// What build info says: the main module, the dependencies and the settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoModules {
    /// The main module (`mod` line).
    pub main: Option<GoModule>,
    /// The dependencies (`dep` lines), in file order.
    pub deps: Vec<GoModule>,
    /// The `build` lines as `key=value` text, in file order.
    pub settings: Vec<(String, String)>,
}

/// Parses the module info text of build info.
pub fn parse(text: &str) -> GoModules {
    let mut out = GoModules::default();
    // Which module a `=>` line replaces: the main one or the last dependency.
    let mut last_is_main = false;
    for line in text.lines() {
        let mut f = line.split('\t');
        let tag = f.next().unwrap_or_default();
        let path = f.next().unwrap_or_default().to_string();
        let version = f.next().unwrap_or_default().to_string();
        let sum = f.next().filter(|s| !s.is_empty()).map(str::to_string);
        match tag {
            "mod" => {
                out.main = Some(GoModule {
                    path,
                    version,
                    sum,
                    replaces: None,
                });
                last_is_main = true;
            }
            "dep" => {
                out.deps.push(GoModule {
                    path,
                    version,
                    sum,
                    replaces: None,
                });
                last_is_main = false;
            }
            "=>" => {
                let target = if last_is_main {
                    out.main.as_mut()
                } else {
                    out.deps.last_mut()
                };
                if let Some(m) = target {
                    let old = format!("{}@{}", m.path, m.version);
                    *m = GoModule {
                        path,
                        version,
                        sum,
                        replaces: Some(old),
                    };
                }
            }
            "build" => {
                let rest = line.strip_prefix("build\t").unwrap_or_default();
                if let Some((k, v)) = rest.split_once('=') {
                    out.settings.push((k.to_string(), v.to_string()));
                }
            }
            _ => {}
        }
    }
    out
}

/// The version part of a purl: none for `(devel)` or empty.
fn versioned(v: &str) -> &str {
    if v == "(devel)" { "" } else { v }
}

/// `pkg:golang/stdlib@1.23.4` for `go1.23.4` (the version without `go`, as syft and Docker
/// Scout write it); `None` for a development toolchain (`devel go1.24-abc`).
pub fn stdlib_purl(go_version: &str) -> Option<String> {
    let v = go_version.split_whitespace().next()?.strip_prefix("go")?;
    v.starts_with(|c: char| c.is_ascii_digit())
        .then(|| purl::make("golang", "stdlib", v, ""))
}

/// `h1:BASE64` → lowercase hex of the 32 bytes; `None` for another form.
pub fn h1_to_hex(sum: &str) -> Option<String> {
    let bytes = base64_decode(sum.strip_prefix("h1:")?)?;
    (bytes.len() == 32).then(|| super::hex(&bytes))
}

/// Standard base64 with padding; `None` on any other character.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_and_replacements() {
        let text = "path\texample.com/x\nmod\texample.com/x\t(devel)\t\n\
                    dep\tgolang.org/x/sys\tv0.1.0\th1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\
                    dep\tgithub.com/a/b\tv1.0.0\th1:xx\n=>\tgithub.com/c/b\tv1.1.0+incompatible\t\n\
                    build\t-ldflags=\"-s -w\"\nbuild\tCGO_ENABLED=0\n";
        let m = parse(text);
        assert_eq!(
            m.main.as_ref().unwrap().purl().unwrap(),
            "pkg:golang/example.com/x"
        );
        assert_eq!(m.deps.len(), 2);
        assert_eq!(
            m.deps[0].sha256().unwrap(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(m.deps[1].path, "github.com/c/b");
        assert_eq!(m.deps[1].replaces.as_deref(), Some("github.com/a/b@v1.0.0"));
        assert_eq!(
            m.deps[1].purl().unwrap(),
            "pkg:golang/github.com/c/b@v1.1.0%2Bincompatible"
        );
        assert_eq!(m.settings[0], ("-ldflags".into(), "\"-s -w\"".into()));
        assert_eq!(stdlib_purl("go1.23.4").unwrap(), "pkg:golang/stdlib@1.23.4");
        assert_eq!(stdlib_purl("devel go1.24-abc"), None);
        assert_eq!(h1_to_hex("h1:!!"), None);
    }
}
