//! `binslim inspect`: analyze each file, render text or JSON, 2 if any file failed.

use std::io::Write;
use std::path::Path;

use binslim::elf::{self, Analysis, ElfFile};
use binslim::input::Input;
use binslim::packages::{self, Packages};
use binslim::report::treemap::{self, TreemapFormat};
use binslim::report::{json, text};
use binslim::tempfiles;

use super::{Status, emit, report_error};
use crate::cli::InspectArgs;
use binslim::report::Style;

/// One file's analysis, with its package rows when `--packages` asked for them.
type Analyzed = (Analysis, Option<Packages>);

/// Analyzes one file; the package rows are read only when asked for (they cost O(symbols)).
fn analyze(path: &Path, with_packages: bool) -> Result<Analyzed, binslim::Error> {
    let input = Input::open(path)?;
    let file = ElfFile::parse(input.bytes())?;
    let mut a = elf::analyze_file(&file);
    // What shrink's strip steps will save, from their own plan (padding included).
    if let Some(n) = binslim::strip::strippable_size(&file) {
        a.strippable_size = n;
    }
    if !with_packages {
        return Ok((a, None));
    }
    let p = packages::packages(&file, &a);
    Ok((a, Some(p)))
}

/// Runs `inspect`.
pub fn run(args: &InspectArgs, style: Style) -> Status {
    if args.treemap.is_some() && args.files.len() != 1 {
        eprintln!(
            "binslim: --treemap draws one FILE, got {}: run binslim once per file",
            args.files.len()
        );
        return Status::Error;
    }
    let mut status = Status::Ok;
    let results: Vec<(String, Result<Analyzed, binslim::Error>)> = args
        .files
        .iter()
        .map(|p| {
            // The treemap draws the package rows too: read them once for both.
            let r = analyze(p, args.packages || args.treemap.is_some());
            if let Err(e) = &r {
                report_error(p, e);
                status = Status::Error;
            }
            (p.display().to_string(), r)
        })
        .collect();

    if args.json {
        let entries: Vec<json::InspectEntry<'_>> = results
            .iter()
            .map(|(path, r)| {
                let ok = r.as_ref().ok();
                let p = ok.and_then(|(_, p)| p.as_ref()).filter(|_| args.packages);
                json::InspectEntry {
                    path,
                    analysis: ok.map(|(a, _)| a),
                    error: r.as_ref().err().map(ToString::to_string),
                    packages: p.map(|p| p.rows.as_slice()),
                    package_notes: p.map(|p| p.notes.as_slice()),
                }
            })
            .collect();
        emit(&json::inspect(&entries));
    } else {
        let opts = text::TextOptions::new(args.sections, style);
        let mut first = true;
        for (path, r) in &results {
            let Ok((a, p)) = r else { continue };
            let sep = if first { "" } else { "\n" };
            first = false;
            let mut out = format!("{sep}{}", text::inspect(path, a, opts));
            if let Some(p) = p.as_ref().filter(|_| args.packages) {
                out.push('\n');
                out.push_str(&binslim::report::packages::table(p, args.top, style));
            }
            if !emit(&out) {
                break;
            }
        }
    }
    if let (Some(out), [(path, Ok((a, Some(p))))]) = (&args.treemap, results.as_slice())
        && let Err(e) = write_treemap(path, a, p, out)
    {
        report_error(out, &e);
        status = Status::Error;
    }
    status
}

/// `--treemap OUT`: draws the file named `name` (categories and packages) to OUT, written to a
/// temporary file beside it and renamed over it.
fn write_treemap(
    name: &str,
    analysis: &Analysis,
    packages: &Packages,
    out: &Path,
) -> Result<(), binslim::Error> {
    // The extension was checked when the arguments were parsed.
    let format = TreemapFormat::from_path(out).unwrap_or(TreemapFormat::Svg);
    let doc = treemap::render(format, name, analysis, packages);
    let dir = tempfiles::dir_of(out);
    tempfiles::write_replacing(out, |mut f| f.write_all(doc.as_bytes())).map_err(|source| {
        let source = bare_os_error(source);
        let context = format!("cannot write the treemap in '{}'", dir.display());
        binslim::Error::Io { context, source }
    })
}

/// `e` without the temporary file's path that tempfile's errors end with (`... at path
/// "DIR/.binslim-..."`): the message names the destination and its directory already.
fn bare_os_error(e: std::io::Error) -> std::io::Error {
    if e.raw_os_error().is_some() {
        return e;
    }
    match e.to_string().split_once(" at path ") {
        Some((head, _)) => std::io::Error::new(e.kind(), head.to_string()),
        None => e,
    }
}
