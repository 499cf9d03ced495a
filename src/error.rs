//! Why binslim could not analyze or rewrite a file.
//!
//! Every variant's message is a lowercase clause that follows the path it is about,
//! so callers print `binslim: {path}: {error}` and the user sees one line that names
//! the file, what is wrong with it and, where there is one, what to do.

use std::io;
use std::path::PathBuf;

/// Result alias for the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can stop binslim from analyzing or rewriting one file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The path does not exist.
    #[error("not found")]
    NotFound,
    /// The path exists but cannot be read or written.
    #[error("permission denied")]
    PermissionDenied,
    /// The path is a directory where a file was expected.
    #[error("is a directory")]
    IsDirectory,
    /// The path is not a regular file (a device, a FIFO, a socket).
    #[error("is not a regular file")]
    NotRegularFile,
    /// Zero bytes long.
    #[error("is empty")]
    Empty,
    /// A `#!` script: it needs an interpreter, so it is not a binary.
    #[error("is a script ({shebang}), not an ELF binary")]
    Script {
        /// The `#!` line, trimmed.
        shebang: String,
    },
    /// A file of a known non-ELF binary format.
    #[error("is {kind}, not an ELF binary")]
    NotElf {
        /// What it is instead, with its article: "a Mach-O file", "a PE (Windows) file".
        kind: &'static str,
    },
    /// Nothing binslim recognizes.
    #[error("is not an ELF file (it starts with {magic})")]
    Unrecognized {
        /// The first bytes as hex.
        magic: String,
    },
    /// The file ends before a structure that its headers promise.
    #[error("truncated ELF: {what} {} at byte {end} of {len}", if what.ends_with('s') { "end" } else { "ends" })]
    Truncated {
        /// What runs past the end: "section headers", "program headers", "section '.text'".
        what: String,
        /// Where it would end.
        end: u64,
        /// The file length.
        len: u64,
    },
    /// The headers contradict themselves or the ELF specification.
    #[error("malformed ELF: {0}")]
    Malformed(String),
    /// Any other I/O failure.
    #[error("{context}: {source}")]
    Io {
        /// What binslim was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// `--keep-debug` names a file that exists, and replacing it was not asked for (`--force`).
    #[error(
        "'{}' already exists; binslim does not replace an existing --keep-debug file unless \
         --force is given",
        path.display()
    )]
    DebugFileExists {
        /// The debug file as named.
        path: PathBuf,
    },
    /// binslim refuses to strip the file: the reason says why.
    #[error("{0}")]
    NotStrippable(StripRefusal),
}

/// Why binslim refuses to strip (or write the debug file of) a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StripRefusal {
    /// The file is packed with UPX: its sections are inside the packed data.
    #[error("is already packed with UPX: nothing to strip (`upx -d` restores the original)")]
    Packed,
    /// A relocatable object (`ET_REL`): its symbols and relocations are still needed.
    #[error("is a relocatable object (.o), not a program: link it first")]
    Relocatable,
    /// A core dump (`ET_CORE`).
    #[error("is a core dump, not a program")]
    CoreDump,
    /// No section header table, so no section can be told apart from the loaded bytes.
    #[error(
        "has no section headers (already stripped with --strip-sections, or packed): \
         there is nothing binslim can strip safely"
    )]
    NoSectionHeaders,
    /// No section name table (`e_shstrndx` names none).
    #[error("has no section name table: binslim cannot tell its sections apart")]
    NoSectionNames,
    /// Two tables binslim rewrites share bytes (the program headers overlap the ELF header, or
    /// a symbol table overlaps the program headers), so one patch would undo the other.
    #[error("has overlapping headers or tables (at byte {at}): binslim cannot rewrite it safely")]
    OverlappingTables {
        /// Where the table that starts too early starts.
        at: u64,
    },
    /// A symbol's section index would not fit the 16-bit `st_shndx` after renumbering.
    #[error(
        "has a symbol whose section index {old} would become {new}, which a 16-bit st_shndx \
         cannot hold: binslim cannot rewrite it safely"
    )]
    SymbolIndexTooLarge {
        /// The symbol's section index in the input.
        old: u32,
        /// The index that section would get in the output.
        new: u32,
    },
}

impl From<StripRefusal> for Error {
    fn from(reason: StripRefusal) -> Self {
        Error::NotStrippable(reason)
    }
}

impl Error {
    /// Maps an I/O error from opening or reading `path` to the most specific variant.
    pub fn from_io(err: io::Error, context: impl Into<String>) -> Self {
        match err.kind() {
            io::ErrorKind::NotFound => Error::NotFound,
            io::ErrorKind::PermissionDenied => Error::PermissionDenied,
            io::ErrorKind::IsADirectory => Error::IsDirectory,
            _ => Error::Io {
                context: context.into(),
                source: err,
            },
        }
    }

    /// Shorthand for [`Error::Malformed`].
    pub(crate) fn malformed(msg: impl Into<String>) -> Self {
        Error::Malformed(msg.into())
    }
}

/// An error about one path.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct PathError {
    /// The path the error is about, as the user named it.
    pub path: PathBuf,
    /// What went wrong.
    #[source]
    pub source: Error,
}
