//! The text report of `binslim image`: what went into the image and why, the layer's sizes and
//! the digest. The JSON form is the [`ImageReport`] itself.

use std::fmt::Write as _;

use super::{Style, human};
use crate::image::build::ImageReport;

/// The text report: title, one line per file, then the layer and the digest. `output` is the
/// image's path as the user named it.
pub fn render(r: &ImageReport, output: &str, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} → {output} ({}, {})",
        style.bold(&r.reference),
        r.format,
        r.platform
    );
    let width = r
        .files
        .iter()
        .map(|f| f.path.len())
        .max()
        .unwrap_or(0)
        .max(20);
    for f in &r.files {
        let size = if f.size == 0 {
            "-".to_string()
        } else {
            human(f.size)
        };
        let _ = writeln!(
            out,
            "  {:<width$}  {:>10}  {}  {}",
            f.path,
            size,
            f.mode,
            style.dim(&f.why)
        );
    }
    for l in &r.layers {
        let _ = writeln!(
            out,
            "  layer   {} uncompressed, {} gzip ({} bytes, what a registry stores)",
            human(l.uncompressed_size),
            human(l.size),
            l.size
        );
    }
    let _ = writeln!(out, "  digest  {}", style.good(&r.digest));
    out
}
