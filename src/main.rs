//! The `binslim` command: parse arguments, run one verb, map its outcome to the exit code.

mod cli;
mod cmd;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let style = cmd::style(cli.color);
    let status = match &cli.command {
        Command::Inspect(args) => cmd::inspect::run(args, style),
        Command::Verify(args) => cmd::verify::run(args, style),
        Command::Shrink(args) => cmd::shrink::run(args, style),
        Command::Image(args) => cmd::image::run(args, style),
        Command::Diff(args) => cmd::diff::run(args, style),
        Command::Completions(args) => cmd::completions::completions(args),
        Command::Man(_) => cmd::completions::man(),
    };
    status.into()
}
