//! Renderers: the same report structs, written as text for people or JSON for machines.
//!
//! Renderers return `String`s and never touch the terminal, so they are tested directly.

pub mod diff;
pub mod image;
pub mod json;
pub mod packages;
pub mod push;
pub mod shrink;
pub mod slim;
pub mod style;
pub mod text;
pub mod treemap;
pub mod verify;

pub use style::Style;

pub use crate::units::human;

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
    fn percentages() {
        assert_eq!(percent(1, 3), "33.3%");
        assert_eq!(percent(1, 0), "-");
    }
}
