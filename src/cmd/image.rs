//! `binslim image`: arguments to [`ImageOptions`], the library builds, this renders the files,
//! the layer sizes and the digest (or the JSON report), and maps the outcome to the exit code.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

use binslim::image::build::{self, ImageError, ImageOptions, ImageReport, Provide};
use binslim::image::layout::Format;
use binslim::report::{Style, human, json};
use serde::Serialize;
use serde_json::Value;

use super::{Status, emit};
use crate::cli::{ImageArgs, ImageFormat};

/// The `--json` document.
#[derive(Serialize)]
struct JsonReport<'a> {
    image: &'a ImageReport,
    steps: Vec<Value>,
}

/// Runs `image`.
pub fn run(args: &ImageArgs, style: Style) -> Status {
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

    // --shrink / --upx: the image gets a shrunk copy; the temporary directory lives until the
    // layer is written.
    let mut steps = Vec::new();
    let mut _shrunk_dir = None;
    if args.shrink || args.upx {
        if args.output.exists() && !args.force {
            eprintln!(
                "binslim: {} already exists: pass --force to replace it",
                args.output.display()
            );
            return Status::Error;
        }
        match shrink_copy(args) {
            Ok((dir, path, s)) => {
                opts.program_bytes = Some(path);
                _shrunk_dir = Some(dir);
                steps = s;
            }
            Err(status) => return status,
        }
    }

    match build::build(&opts) {
        Ok(report) => {
            let text = if args.json {
                json::to_string(&JsonReport {
                    image: &report,
                    steps,
                })
            } else {
                let mut t = render_ledger(&args.program.display().to_string(), &steps, style);
                t.push_str(&render(&report, &args.output.display().to_string(), style));
                t
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

/// Shrinks a copy of the program with this binary's own `shrink` verb (the same pipeline and
/// ledger as `binslim shrink -o`), in a temporary directory beside the output. Returns the
/// directory, the copy and the ledger's steps; on failure, shrink's messages are on stderr.
fn shrink_copy(args: &ImageArgs) -> Result<(tempfile::TempDir, PathBuf, Vec<Value>), Status> {
    let dir = match args.output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(&binslim::tempfiles::prefix())
        .tempdir_in(&dir)
        .map_err(|e| {
            eprintln!(
                "binslim: cannot create a temporary directory in {}: {e}",
                dir.display()
            );
            Status::Error
        })?;
    let copy = tmp.path().join(
        args.program
            .file_name()
            .unwrap_or_else(|| std::ffi::OsStr::new("program")),
    );
    let exe = std::env::current_exe().map_err(|e| {
        eprintln!("binslim: cannot find its own executable for --shrink: {e}");
        Status::Error
    })?;
    let mut cmd = Command::new(exe);
    cmd.args(["--color=never", "shrink", "--json", "-o"])
        .arg(&copy);
    if args.upx {
        cmd.arg("--upx");
    }
    let out = cmd.arg(&args.program).output().map_err(|e| {
        eprintln!("binslim: cannot run the shrink step: {e}");
        Status::Error
    })?;
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        eprintln!("binslim: no image written");
        return Err(if out.status.code() == Some(1) {
            Status::Fail
        } else {
            Status::Error
        });
    }
    let report: Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        eprintln!("binslim: the shrink step printed no report: {e}");
        Status::Error
    })?;
    for w in report["warnings"].as_array().into_iter().flatten() {
        eprintln!("binslim: {}", w.as_str().unwrap_or_default());
    }
    let steps = report["steps"].as_array().cloned().unwrap_or_default();
    Ok((tmp, copy, steps))
}

/// The shrink ledger in short: one line per step that changed the file.
fn render_ledger(program: &str, steps: &[Value], style: Style) -> String {
    if steps.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let _ = writeln!(out, "{}", style.bold(&format!("{program} (shrunk copy)")));
    for s in steps {
        if s["step"] != "original" && s["changed"] != true {
            continue;
        }
        let size = s["size"].as_u64().unwrap_or(0);
        let gz = s["gzip_size"]
            .as_u64()
            .map_or_else(|| "-".to_string(), human);
        let _ = writeln!(
            out,
            "  {:<14}{:>11}  gzip {gz}",
            s["step"].as_str().unwrap_or("?"),
            human(size)
        );
    }
    out
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
