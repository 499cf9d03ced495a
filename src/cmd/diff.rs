//! `binslim diff`: analyze both builds, measure their gzip sizes, compare, render, and turn the
//! `--max-growth` budget into the exit status.

use std::path::Path;

use binslim::diff::{self, BudgetVerdict, Side};
use binslim::elf::{self, Analysis, ElfFile};
use binslim::input::Input;
use binslim::packages::{self, Packages};
use binslim::report::{Style, json};

use super::{Status, emit, report_error};
use crate::cli::DiffArgs;

/// What `diff` needs of one build.
struct Build {
    analysis: Analysis,
    packages: Packages,
    gzip_size: u64,
}

impl Build {
    fn side<'a>(&'a self, label: &'a str) -> Side<'a> {
        Side {
            label,
            analysis: &self.analysis,
            packages: &self.packages,
            gzip_size: self.gzip_size,
        }
    }
}

fn measure(path: &Path) -> Result<Build, binslim::Error> {
    let input = Input::open(path)?;
    let bytes = input.bytes();
    let file = ElfFile::parse(bytes)?;
    let analysis = elf::analyze_file(&file);
    let packages = packages::packages(&file, &analysis);
    let gzip_size = binslim::shrink::gzip_size(bytes, bytes.len() as u64, None)
        .map_err(|e| binslim::Error::from_io(e, "measuring the gzip size"))?;
    Ok(Build {
        analysis,
        packages,
        gzip_size,
    })
}

/// Runs `diff`.
pub fn run(args: &DiffArgs, style: Style) -> Status {
    let old = measure(&args.old).map_err(|e| report_error(&args.old, &e));
    let new = measure(&args.new).map_err(|e| report_error(&args.new, &e));
    let (Ok(old), Ok(new)) = (old, new) else {
        return Status::Error;
    };
    let (old_label, new_label) = (
        args.old.display().to_string(),
        args.new.display().to_string(),
    );
    let d = diff::diff(&old.side(&old_label), &new.side(&new_label));
    let verdict = args.max_growth.map(|budget| BudgetVerdict::new(budget, &d));
    if args.json {
        emit(&json::to_string(&d));
    } else {
        let mut out = binslim::report::diff::text(&d, verdict, args.top, style);
        out.push_str(&binslim::report::diff::notes(
            &old.packages.notes,
            &new.packages.notes,
            style,
        ));
        emit(&out);
    }
    if verdict.is_some_and(|v| v.exceeded) {
        Status::Fail
    } else {
        Status::Ok
    }
}
