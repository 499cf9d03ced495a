//! The `binslim` command: parse arguments, run one verb, map its outcome to the exit code.

mod cli;
mod cmd;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // An image's merged root in $TMPDIR goes with the process on Ctrl-C, kill or a closed
    // terminal, not only on a normal exit.
    binslim::tempfiles::remove_on_signals();
    let style = cmd::style(cli.color);
    let status = match &cli.command {
        Command::Inspect(args) => cmd::inspect::run(args, style),
        Command::Verify(args) => cmd::verify::run(args, style),
        Command::Shrink(args) => cmd::shrink::run(args, style),
        Command::Image(args) => cmd::image::run(args, style),
        Command::Sbom(args) => cmd::sbom::run(args),
        Command::Diff(args) => cmd::diff::run(args, style),
        Command::Push(args) => cmd::push::run(args, style),
        Command::Completions(args) => cmd::completions::completions(args),
        Command::Man(_) => cmd::completions::man(),
    };
    binslim::tempfiles::wait_if_signalled();
    status.into()
}
