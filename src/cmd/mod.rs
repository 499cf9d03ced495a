//! The verbs' glue: options in, library calls, renderers, exit status out.

pub mod completions;
pub mod diff;
pub mod image;
mod image_from;
pub mod inspect;
pub mod push;
pub mod sbom;
pub mod shrink;
pub mod verify;

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use binslim::report::Style;

use crate::cli::ColorChoice;

/// The exit-code contract shared by every verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Everything analyzed (and, for verify, everything passed).
    Ok = 0,
    /// A policy failure: a checked file will not start, or a step failed.
    Fail = 1,
    /// A file could not be analyzed, or the command line is wrong.
    Error = 2,
}

impl From<Status> for ExitCode {
    fn from(s: Status) -> Self {
        ExitCode::from(s as u8)
    }
}

/// Resolves `--color` against the terminal and NO_COLOR.
pub fn style(choice: ColorChoice) -> Style {
    let on = match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    Style::new(on)
}

/// Writes to stdout. A closed pipe (`binslim inspect x | head`) is not an error: it returns
/// `false` so the caller stops quietly.
pub fn emit(s: &str) -> bool {
    let mut out = io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => false,
        Err(e) => {
            eprintln!("binslim: cannot write to stdout: {e}");
            false
        }
    }
}

/// Prints one error line about a path to stderr.
pub fn report_error(path: &std::path::Path, err: &binslim::Error) {
    eprintln!("binslim: {}: {err}", path.display());
}
