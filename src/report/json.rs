//! The JSON form of reports: one object per file, sizes as integer bytes, stable field names.

use serde::Serialize;

use crate::elf::Analysis;
use crate::packages::Package;

/// One file's inspect result: the analysis, or the reason there is none.
#[derive(Debug, Serialize)]
pub struct InspectEntry<'a> {
    /// The path as the user gave it.
    pub path: &'a str,
    /// The analysis (its fields are flattened into this object).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<&'a Analysis>,
    /// Why the file could not be analyzed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// With `--packages`: every row, largest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packages: Option<&'a [Package]>,
    /// With `--packages`: why rows are missing or coarse (a stripped file, no `.text`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_notes: Option<&'a [String]>,
}

/// Renders the inspect entries as a pretty-printed JSON array with a trailing newline.
pub fn inspect(entries: &[InspectEntry<'_>]) -> String {
    to_string(entries)
}

/// Pretty-prints any serializable report with a trailing newline.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> String {
    let mut s = serde_json::to_string_pretty(value).unwrap_or_else(|e| {
        // Serializing plain structs of strings and integers cannot fail; keep output valid JSON.
        format!("{{\"error\": \"{e}\"}}")
    });
    s.push('\n');
    s
}
