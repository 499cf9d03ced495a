//! `binslim inspect`: analyze each file, render text or JSON, 2 if any file failed.

use binslim::elf::{self, Analysis, ElfFile};
use binslim::input::Input;
use binslim::packages::{self, Packages};
use binslim::report::{json, text};

use super::{Status, emit, report_error};
use crate::cli::InspectArgs;
use binslim::report::Style;

/// One file's analysis, with its package rows when `--packages` asked for them.
type Analyzed = (Analysis, Option<Packages>);

/// Analyzes one file; the package rows are read only when asked for (they cost O(symbols)).
fn analyze(path: &std::path::Path, with_packages: bool) -> Result<Analyzed, binslim::Error> {
    let input = Input::open(path)?;
    if !with_packages {
        return elf::analyze(input.bytes()).map(|a| (a, None));
    }
    let file = ElfFile::parse(input.bytes())?;
    let a = elf::analyze_file(&file);
    let p = packages::packages(&file, &a);
    Ok((a, Some(p)))
}

/// Runs `inspect`.
pub fn run(args: &InspectArgs, style: Style) -> Status {
    let mut status = Status::Ok;
    let results: Vec<(String, Result<Analyzed, binslim::Error>)> = args
        .files
        .iter()
        .map(|p| {
            let r = analyze(p, args.packages);
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
                let p = ok.and_then(|(_, p)| p.as_ref());
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
            if let Some(p) = p {
                out.push('\n');
                out.push_str(&binslim::report::packages::table(p, args.top, style));
            }
            if !emit(&out) {
                break;
            }
        }
    }
    status
}
