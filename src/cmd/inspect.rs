//! `binslim inspect`: analyze each file, render text or JSON, 2 if any file failed.

use binslim::elf::{self, Analysis};
use binslim::input::Input;
use binslim::report::{json, text};

use super::{Status, emit, report_error};
use crate::cli::InspectArgs;
use binslim::report::Style;

/// Runs `inspect`.
pub fn run(args: &InspectArgs, style: Style) -> Status {
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
    status
}
