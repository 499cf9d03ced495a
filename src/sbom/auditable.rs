//! cargo-auditable's dependency list: the `.dep-v0` section, zlib-compressed JSON
//! (`{"packages":[{"name","version","source","kind","dependencies":[indices],"root"}]}`).
//!
//! The section comes from the file being described, so it is read as hostile: the inflated
//! size is capped ([`MAX_JSON`], the limit cargo-auditable's own reader uses), the JSON must
//! parse, and every dependency index must point at a package.

use std::io::Read;

use serde::Deserialize;

/// The most inflated JSON read from `.dep-v0` (8 MiB, as `auditable-info`'s default).
pub const MAX_JSON: u64 = 8 << 20;

/// Why `.dep-v0` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AuditableError {
    /// zlib failed (truncated or not zlib).
    #[error("not valid zlib data ({0})")]
    Zlib(std::io::Error),
    /// The inflated JSON is larger than [`MAX_JSON`].
    #[error("inflates to more than {MAX_JSON} bytes; refusing to read further")]
    TooLarge,
    /// The JSON does not have cargo-auditable's shape.
    #[error("not cargo-auditable JSON ({0})")]
    Json(serde_json::Error),
    /// A dependency index points past the package list.
    #[error("package '{package}' depends on index {index}, but there are {len} packages")]
    BadIndex {
        /// The package that names it.
        package: String,
        /// The index given.
        index: usize,
        /// The number of packages.
        len: usize,
    },
}

/// The decoded dependency list.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct VersionInfo {
    /// Every crate of the build.
    pub packages: Vec<Crate>,
}

/// One crate.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Crate {
    /// The crate name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Where it came from: `crates.io`, `local`, `git`, `registry`, ...
    #[serde(default)]
    pub source: Option<String>,
    /// `runtime` (default) or `build`.
    #[serde(default)]
    pub kind: Option<String>,
    /// Indices of the crates it depends on.
    #[serde(default)]
    pub dependencies: Vec<usize>,
    /// The crate the binary was built from.
    #[serde(default)]
    pub root: bool,
}

/// Inflates and decodes the bytes of a `.dep-v0` section.
pub fn decode(section: &[u8]) -> Result<VersionInfo, AuditableError> {
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(section)
        .take(MAX_JSON + 1)
        .read_to_end(&mut json)
        .map_err(AuditableError::Zlib)?;
    if json.len() as u64 > MAX_JSON {
        return Err(AuditableError::TooLarge);
    }
    let info: VersionInfo = serde_json::from_slice(&json).map_err(AuditableError::Json)?;
    let len = info.packages.len();
    for p in &info.packages {
        if let Some(&index) = p.dependencies.iter().find(|&&i| i >= len) {
            return Err(AuditableError::BadIndex {
                package: p.name.clone(),
                index,
                len,
            });
        }
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn decodes_and_refuses_hostile_sections() {
        let ok = zlib(
            br#"{"packages":[{"name":"a","version":"0.1.0","source":"local","dependencies":[1],"root":true},{"name":"b","version":"1.0.0","source":"crates.io"}]}"#,
        );
        let info = decode(&ok).unwrap();
        assert_eq!(info.packages[0].dependencies, vec![1]);
        assert!(matches!(
            decode(&ok[..ok.len() / 2]),
            Err(AuditableError::Zlib(_))
        ));
        let bad = zlib(br#"{"packages":[{"name":"a","version":"1","dependencies":[7]}]}"#);
        assert_eq!(
            decode(&bad).unwrap_err().to_string(),
            "package 'a' depends on index 7, but there are 1 packages"
        );
        let bomb = zlib(&vec![b' '; (MAX_JSON + 10) as usize]);
        assert!(matches!(decode(&bomb), Err(AuditableError::TooLarge)));
        assert!(matches!(decode(&zlib(b"[]")), Err(AuditableError::Json(_))));
    }
}
