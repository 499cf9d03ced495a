//! Command-line syntax: clap derive types, turned into library options by `cmd/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const ABOUT: &str = "Binary minimizer and static-link verifier for FROM scratch images";

const LONG_ABOUT: &str = "\
binslim tells whether a binary will start in an empty (FROM scratch) container image, why it is \
as big as it is, and makes it smaller. It reads ELF headers and never executes the file it checks.";

const EXAMPLES: &str = "\
Examples:
  binslim inspect ./server                 what it is, what it needs, where the bytes go
  binslim inspect --json ./server | jq .   the same as JSON

Exit status: 0 success, 1 a checked file fails the policy, 2 a file could not be analyzed \
(or a usage error).";

/// binslim's command line.
#[derive(Debug, Parser)]
#[command(name = "binslim", version, about = ABOUT, long_about = LONG_ABOUT, after_help = EXAMPLES)]
pub struct Cli {
    /// The verb.
    #[command(subcommand)]
    pub command: Command,

    /// When to colour text output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
}

/// When to colour text output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and NO_COLOR is not set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Report what ELF files are, what they need at run time and where their bytes go.
    #[command(after_help = INSPECT_EXAMPLES)]
    Inspect(InspectArgs),
}

const INSPECT_EXAMPLES: &str = "\
Examples:
  binslim inspect ./server
  binslim inspect --sections ./server        list every section too
  binslim inspect --json ./a ./b            one JSON array, one object per file

Exit status: 0 every file analyzed, 2 at least one could not be (each failure is one line on \
stderr).";

/// `binslim inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// ELF files to inspect.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Print a JSON array with one object per FILE.
    #[arg(long)]
    pub json: bool,

    /// List every section with its size and category.
    #[arg(long)]
    pub sections: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
