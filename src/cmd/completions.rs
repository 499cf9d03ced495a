//! `binslim completions` and `binslim man`: shell completion scripts and the man page, both
//! generated at run time from the clap command itself, so every verb and flag (including ones
//! added later) is covered without a list to keep in step.

use std::io::Write;

use clap::CommandFactory;
use clap_mangen::Man;

use super::{Status, emit};
use crate::cli::{Cli, CompletionsArgs};

/// The program name completions are registered for.
const BIN: &str = "binslim";

/// Prints the completion script for `args.shell`.
pub fn completions(args: &CompletionsArgs) -> Status {
    let mut cmd = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, BIN, &mut script);
    print(&script)
}

/// Prints the man page: every verb and flag on one page.
pub fn man() -> Status {
    match render_man() {
        Ok(page) => print(&page),
        Err(e) => {
            eprintln!("binslim: cannot render the man page: {e}");
            Status::Error
        }
    }
}

fn print(bytes: &[u8]) -> Status {
    emit(&String::from_utf8_lossy(bytes));
    Status::Ok
}

/// One roff page: binslim's own NAME, SYNOPSIS, DESCRIPTION and OPTIONS, a COMMANDS list, then
/// a section per verb (`BINSLIM VERIFY`) with its synopsis, description, options and examples
/// as subsections, then the top-level examples and the version.
pub fn render_man() -> std::io::Result<Vec<u8>> {
    let mut cmd = Cli::command();
    // Sets each verb's bin name ("binslim verify") for its synopsis.
    cmd.build();
    let top = Man::new(cmd.clone());
    let mut out = Vec::new();
    top.render_title(&mut out)?;
    top.render_name_section(&mut out)?;
    top.render_synopsis_section(&mut out)?;
    top.render_description_section(&mut out)?;
    top.render_options_section(&mut out)?;
    writeln!(out, ".SH COMMANDS")?;
    for sub in verbs(&cmd) {
        let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
        writeln!(
            out,
            ".TP\n\\fB{} {}\\fR\n{}",
            BIN,
            sub.get_name(),
            roff_text(&about)
        )?;
    }
    for sub in verbs(&cmd) {
        writeln!(
            out,
            ".SH \"{} {}\"",
            BIN.to_uppercase(),
            sub.get_name().to_uppercase()
        )?;
        let man = Man::new(sub.clone());
        let mut part = Vec::new();
        man.render_synopsis_section(&mut part)?;
        man.render_description_section(&mut part)?;
        if sub.get_arguments().any(|a| !a.is_hide_set()) {
            man.render_options_section(&mut part)?;
        }
        if sub.get_after_help().is_some() || sub.get_after_long_help().is_some() {
            man.render_extra_section(&mut part)?;
        }
        // The verb's own sections become subsections of its section.
        out.extend(examples_unfilled(&part, ".SS"));
    }
    let mut part = Vec::new();
    top.render_extra_section(&mut part)?;
    out.extend(examples_unfilled(&part, ".SH"));
    top.render_version_section(&mut out)?;
    Ok(out)
}

/// Rewrites rendered sections: each `.SH` heading becomes `heading` (`.SS` inside a verb's
/// section), clap_mangen's `EXTRA` is called `EXAMPLES`, and the indented example lines of the
/// `after_help` text are set without filling, as `--help` shows them (the prose after them is
/// still filled to the terminal's width).
fn examples_unfilled(part: &[u8], heading: &str) -> Vec<u8> {
    let mut out = String::new();
    let mut unfilled = false;
    for line in String::from_utf8_lossy(part).lines() {
        let example = line.starts_with("  ");
        if example && !unfilled {
            out.push_str(".nf\n");
        } else if !example && unfilled {
            out.push_str(".fi\n");
        }
        unfilled = example;
        match line.strip_prefix(".SH ") {
            Some("EXTRA") => out.push_str(&format!("{heading} EXAMPLES\n")),
            Some(rest) => out.push_str(&format!("{heading} {rest}\n")),
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    if unfilled {
        out.push_str(".fi\n");
    }
    out.into_bytes()
}

/// The verbs a user can call (clap's generated `help` verb left out).
fn verbs(cmd: &clap::Command) -> impl Iterator<Item = &clap::Command> {
    cmd.get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
}

/// Escapes text for a roff body line: backslashes, and a leading `.` or `'`.
fn roff_text(s: &str) -> String {
    let s = s.replace('\\', "\\e");
    if s.starts_with('.') || s.starts_with('\'') {
        format!("\\&{s}")
    } else {
        s
    }
}
