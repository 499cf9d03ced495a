//! Sizes in people's units, shared by the library's messages (`verify --max-size`) and the
//! renderers: neither depends on the other for it.

use bytesize::ByteSize;

/// A size for people: `1.2 MiB` (IEC units), exact bytes below 1 KiB.
pub fn human(n: u64) -> String {
    ByteSize::b(n).display().iec().to_string()
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
    }
}
