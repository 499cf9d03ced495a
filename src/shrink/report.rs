//! What one shrink run produced, as data: the [`Report`] of a file and the [`UpxReport`] of
//! its upx step. The pipeline builds them; `crate::report::shrink` and the JSON output render
//! them, so the data lives here with its producer and the renderers depend on it, not the other
//! way round.

use serde::Serialize;

use super::Step;
use crate::smoke::Comparison;
use crate::upx::OutcomeKind;

/// What happened to the upx step, for JSON.
#[derive(Debug, Clone, Serialize)]
pub struct UpxReport {
    /// The upx executable used.
    pub path: String,
    /// Extra arguments passed to upx.
    pub args: Vec<String>,
    /// `packed`, `declined` (not compressible / cannot pack: the stripped file is kept) or
    /// `failed` (upx failed, or `upx -t` failed on what it packed).
    pub outcome: OutcomeKind,
    /// upx's exception class and message, when it did not pack.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `upx -t` passed on the packed file (`null` when nothing was packed).
    pub tested: Option<bool>,
}

impl UpxReport {
    /// upx failed (or `upx -t` failed on what it packed): `binslim shrink` exits 1.
    pub fn failed(&self) -> bool {
        self.outcome == OutcomeKind::Failed
    }
}

/// The report of one shrunk file (the JSON object of `binslim shrink --json`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The file as given.
    pub input: String,
    /// Where the result went (the input itself when shrinking in place).
    pub output: String,
    /// The result was written to `output` (false when a smoke mismatch kept everything as it was).
    pub written: bool,
    /// The ledger, one entry per step.
    pub steps: Vec<Step>,
    /// The original size in bytes.
    pub original_size: u64,
    /// The result's size in bytes.
    pub size: u64,
    /// The original's gzip size (level 6), `null` with `--no-gzip`.
    pub original_gzip_size: Option<u64>,
    /// The result's gzip size.
    pub gzip_size: Option<u64>,
    /// The original's zstd size (level 3), only with `--wire zstd|both`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_zstd_size: Option<u64>,
    /// The result's zstd size, only with `--wire zstd|both`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zstd_size: Option<u64>,
    /// original_size / size.
    pub factor: f64,
    /// The separate debug file written with `--keep-debug`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debug_file: Option<String>,
    /// The upx step, with `--upx`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upx: Option<UpxReport>,
    /// The `--smoke` comparison.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smoke: Option<Comparison>,
    /// Things the user should know (upx declined, smoke mismatch, ...).
    pub warnings: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upx_outcomes_serialize_as_their_json_names() {
        let mut u = UpxReport {
            path: "/usr/bin/upx".into(),
            args: vec!["--best".into()],
            outcome: OutcomeKind::Packed,
            message: None,
            tested: Some(true),
        };
        assert_eq!(
            serde_json::to_string(&u).unwrap(),
            r#"{"path":"/usr/bin/upx","args":["--best"],"outcome":"packed","tested":true}"#
        );
        for (kind, name) in [
            (OutcomeKind::Declined, "declined"),
            (OutcomeKind::Failed, "failed"),
        ] {
            u.outcome = kind;
            assert_eq!(
                serde_json::to_value(&u).unwrap()["outcome"],
                serde_json::json!(name)
            );
        }
    }
}
