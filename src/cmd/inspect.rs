//! `binslim inspect`: analyze each file, render text or JSON, 2 if any file failed.

use binslim::elf::{self, Analysis};
use binslim::input::Input;
use binslim::report::{json, text};

use super::{Status, emit, report_error};
use crate::cli::InspectArgs;
use binslim::report::Style;

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use binslim::elf::ElfFile;
use binslim::report::treemap::{self, Format};
use binslim::tempfiles::{self, TempFile};

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
    let results: Vec<(String, Result<Analysis, binslim::Error>)> = args
        .files
        .iter()
        .map(|p| {
            let r = Input::open(p).and_then(|input| elf::analyze(input.bytes()));
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
            .map(|(path, r)| json::InspectEntry {
                path,
                analysis: r.as_ref().ok(),
                error: r.as_ref().err().map(ToString::to_string),
            })
            .collect();
        emit(&json::inspect(&entries));
    } else {
        let opts = text::TextOptions::new(args.sections, style);
        let mut first = true;
        for (path, r) in &results {
            let Ok(a) = r else { continue };
            let sep = if first { "" } else { "\n" };
            first = false;
            if !emit(&format!("{sep}{}", text::inspect(path, a, opts))) {
                break;
            }
        }
    }
    if let (Some(out), [(_, Ok(_))]) = (&args.treemap, results.as_slice())
        && let Err((path, e)) = write_treemap(&args.files[0], out)
    {
        report_error(&path, &e);
        status = Status::Error;
    }
    status
}

/// `--treemap OUT`: draws `file` (categories and packages) to OUT, written to a temporary file
/// beside it and renamed over it. The error names the path it is about.
fn write_treemap(file: &Path, out: &Path) -> Result<(), (PathBuf, binslim::Error)> {
    let at_file = |e| (file.to_path_buf(), e);
    let input = Input::open(file).map_err(at_file)?;
    let elf = ElfFile::parse(input.bytes()).map_err(at_file)?;
    let analysis = elf::analyze_file(&elf);
    let packages = binslim::packages::packages(&elf, &analysis);
    // The extension was checked when the arguments were parsed.
    let format = Format::from_path(out).unwrap_or(Format::Svg);
    let doc = treemap::render(format, &file.display().to_string(), &analysis, &packages);
    let dir = tempfiles::dir_of(out);
    let io_err = |source: std::io::Error| {
        let source = bare_os_error(source);
        let context = format!("cannot write the treemap in '{}'", dir.display());
        (out.to_path_buf(), binslim::Error::Io { context, source })
    };
    let tmp = TempFile::new_in(&dir).map_err(io_err)?;
    tmp.file().write_all(doc.as_bytes()).map_err(io_err)?;
    tmp.file()
        .set_permissions(fs::Permissions::from_mode(0o644))
        .map_err(io_err)?;
    tmp.commit(out, false).map_err(io_err)
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
