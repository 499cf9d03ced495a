//! Renderers: the same report structs, written as text for people or JSON for machines.
//!
//! Renderers return `String`s and never touch the terminal, so they are tested directly.

pub mod diff;
pub mod image;
pub mod json;
pub mod packages;
pub mod shrink;
pub mod style;
pub mod text;
pub mod treemap;

pub use style::Style;

use bytesize::ByteSize;

/// A size for people: `1.2 MiB` (IEC units), exact bytes below 1 KiB.
pub fn human(n: u64) -> String {
    ByteSize::b(n).display().iec().to_string()
}

/// A share as a percentage with one decimal.
pub fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "-".into();
    }
    format!("{:.1}%", part as f64 * 100.0 / whole as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(human(0), "0 B");
        assert_eq!(human(1023), "1023 B");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(5 * 1024 * 1024), "5.0 MiB");
        assert_eq!(percent(1, 3), "33.3%");
        assert_eq!(percent(1, 0), "-");
    }
}
