//! `binslim image`: arguments to [`ImageOptions`], the library builds, this renders the files,
//! the layer sizes and the digest (or the JSON report), and maps the outcome to the exit code.

use std::fmt::Write as _;

use binslim::image::build::{self, ImageError, ImageOptions, ImageReport, Provide};
use binslim::image::layout::Format;
use binslim::report::{Style, human, json};
use serde::Serialize;

use super::{Status, emit};
use crate::cli::{ImageArgs, ImageFormat};

/// The `--json` document.
#[derive(Serialize)]
struct JsonReport<'a> {
    image: &'a ImageReport,
    steps: Vec<serde_json::Value>,
}

/// Runs `image`.
pub fn run(args: &ImageArgs, style: Style) -> Status {
    if args.shrink || args.upx {
        eprintln!("binslim: --shrink and --upx are not available in this build yet");
        return Status::Error;
    }
    let mtime = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.is_empty() => match v.trim().parse::<u64>() {
            Ok(n) => n,
            Err(_) => {
                eprintln!("binslim: SOURCE_DATE_EPOCH='{v}' is not a number of seconds since 1970");
                return Status::Error;
            }
        },
        _ => 0,
    };
    let mut opts = ImageOptions::new(args.program.clone(), args.output.clone());
    opts.format = match args.format {
        ImageFormat::Docker => Format::Docker,
        ImageFormat::Oci => Format::Oci,
        ImageFormat::OciDir => Format::OciDir,
    };
    opts.tag = args.tag.clone();
    opts.path = args.path.clone();
    opts.args = args.args.clone();
    opts.env = args.env.clone();
    opts.user = Some(args.user.clone());
    opts.add = args.add.clone();
    opts.force = args.force;
    opts.ca_certs = Provide::parse(&args.ca_certs);
    opts.tzdata = Provide::parse(&args.tzdata);
    opts.with_libs = args.with_libs;
    opts.root = args.root.clone();
    opts.mtime = mtime;

    match build::build(&opts) {
        Ok(report) => {
            let text = if args.json {
                json::to_string(&JsonReport {
                    image: &report,
                    steps: Vec::new(),
                })
            } else {
                render(&report, &args.output.display().to_string(), style)
            };
            emit(&text);
            Status::Ok
        }
        Err(ImageError::Refused { program, findings }) => {
            for f in &findings {
                eprintln!("binslim: {program}: {}", f.message);
                if let Some(h) = &f.hint {
                    eprintln!("  fix: {h}");
                }
            }
            eprintln!("binslim: no image written");
            Status::Fail
        }
        Err(e) => {
            eprintln!("binslim: {e}");
            Status::Error
        }
    }
}

/// The text report: title, one line per file, then the layer and the digest.
fn render(r: &ImageReport, output: &str, style: Style) -> String {
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
