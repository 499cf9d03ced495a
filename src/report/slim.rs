//! The text report of `binslim image --from`: after the image's own report, the source's size
//! against the new one, and what was left out with a hint to `--keep` it.

use std::fmt::Write as _;

use super::{Style, human};
use crate::scratch::ImageReport;
use crate::slim::FromReport;

/// The lines after [`super::image::render`]: sizes and ratio, the files left out beside the
/// program, and the largest directories of the source.
pub fn render(f: &FromReport, image: &ImageReport, style: Style) -> String {
    let mut out = String::new();
    let new: u64 = image.layers.iter().map(|l| l.size).sum();
    let new_unpacked: u64 = image.layers.iter().map(|l| l.uncompressed_size).sum();
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let _ = writeln!(
        out,
        "from {}: {} ({} unpacked) → {} ({} unpacked), {:.1}% of the source",
        f.source.reference,
        human(f.source.size),
        human(f.source.unpacked_size),
        style.good(&human(new)),
        human(new_unpacked),
        100.0 * ratio(new_unpacked, f.source.unpacked_size),
    );
    if !f.left_out.is_empty() {
        let _ = writeln!(
            out,
            "left out beside the program ({} files; --keep PATH to keep one):",
            f.left_out.len()
        );
        for l in &f.left_out {
            let _ = writeln!(out, "  {:>10}  {}", human(l.size), l.path);
        }
    }
    if !f.left_out_dirs.is_empty() {
        let _ = writeln!(out, "largest directories of the source (left out):");
        for l in &f.left_out_dirs {
            let _ = writeln!(out, "  {:>10}  {}", human(l.size), l.path);
        }
    }
    out
}
