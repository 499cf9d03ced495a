//! Which packages and crates the bytes belong to: the rows below the size categories.
//!
//! Each language has its own source of truth, and each reader lives in its own module:
//! - Go: pclntab's function table (`go`), which survives `-s -w` and binslim's strip;
//! - Rust: `.symtab`, demangled, crate = first path segment (`rust`);
//! - C/C++: the largest functions of `.symtab` (`c`).
//!
//! [`packages`] picks the reader by what the file is and returns rows sorted by size. The
//! rows' `code` plus an explicit remainder row sum to `.text` exactly, so a table of them
//! never hides bytes. Reading the function table costs O(functions): plain `inspect` never
//! calls this, only `--packages`, `--treemap` and `diff`.

pub mod c;
pub mod go;
pub mod rust;
pub mod symbols;

use serde::Serialize;

use crate::elf::{Analysis, ElfFile};

/// The language a row's code was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Go (a package: an import path).
    Go,
    /// Rust (a crate).
    Rust,
    /// C or C++ (a function, or a group of non-Go code).
    C,
    /// Bytes no reader could attribute (the remainder row).
    Unknown,
}

impl Language {
    /// The name used in text and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Go => "go",
            Language::Rust => "rust",
            Language::C => "c",
            Language::Unknown => "unknown",
        }
    }
}

/// One row: a Go package, a Rust crate, or a C function (or group).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Package {
    /// The import path, crate name or function name.
    pub name: String,
    /// What it was written in.
    pub language: Language,
    /// Bytes of `.text` attributed to it.
    pub code: u64,
    /// Bytes of data (read-only or writable) attributed to it, where symbols tell; 0 when the
    /// file has no symbols to tell.
    pub data: u64,
}

impl Package {
    /// A row.
    pub fn new(name: impl Into<String>, language: Language, code: u64, data: u64) -> Self {
        Package {
            name: name.into(),
            language,
            code,
            data,
        }
    }

    /// `code + data`, the sort key.
    pub fn total(&self) -> u64 {
        self.code.saturating_add(self.data)
    }
}

/// The name of the row that holds `.text` bytes no reader attributed.
pub const REMAINDER: &str = "(unattributed)";

/// The number of rows a table of packages shows by default (`--top`); the rest are summed in
/// one row.
pub const DEFAULT_TOP: usize = 20;

/// The rows of one file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Packages {
    /// Sorted by [`Package::total`], largest first (ties by name); includes the
    /// [`REMAINDER`] row when any `.text` byte is unattributed.
    pub rows: Vec<Package>,
    /// The size of `.text` the rows' `code` sums to.
    pub text_size: u64,
    /// Why rows are missing or coarse (a stripped Rust binary, no `.text`, ...).
    pub notes: Vec<String>,
    /// The reader had a `.symtab`: the rows' `data` is known (0 means none), and rows other
    /// than Go packages (C functions, Rust crates) are named by it. Without one, `data` is 0
    /// because it is unknown, and those bytes are in the [`REMAINDER`] row (or Go's
    /// [`go::NON_GO`] row). Not in the JSON of `inspect --packages`.
    #[serde(skip)]
    pub has_symtab: bool,
}

/// Attributes a file's code (and data, where symbols allow) to packages, crates or functions.
pub fn packages(elf: &ElfFile<'_>, analysis: &Analysis) -> Packages {
    let found = if analysis.go.is_some() {
        go::packages(elf, analysis)
    } else if analysis.rust.is_some() || rust::has_rust_symbols(elf) {
        rust::packages(elf)
    } else {
        None
    };
    found
        .or_else(|| c::packages(elf))
        .unwrap_or_else(|| no_text(elf, analysis))
}

/// The empty rows of a file without `.text`, with a note saying why.
fn no_text(elf: &ElfFile<'_>, analysis: &Analysis) -> Packages {
    let why = if !analysis.has_section_headers {
        if analysis.upx.is_some() {
            "no section headers (UPX removed them; unpack with upx -d), so no .text to attribute"
        } else {
            "no section headers, so no .text to attribute"
        }
    } else {
        "no .text section, so no code to attribute"
    };
    Packages {
        rows: Vec::new(),
        text_size: 0,
        notes: vec![why.to_string()],
        has_symtab: symbols::has_symtab(elf),
    }
}

/// Rows for a `.text` of `text_size` bytes of which nothing could be attributed: one
/// [`REMAINDER`] row (none when `.text` is empty), with the notes that say why.
pub fn unattributed(text_size: u64, notes: Vec<String>) -> Packages {
    finish(Vec::new(), text_size, notes)
}

/// Completes a reader's rows: drops empty rows, adds the [`REMAINDER`] row for the `.text`
/// bytes the rows' code does not cover, and sorts. The reader guarantees that its rows' code
/// does not exceed `text_size`. [`Packages::has_symtab`] is false; a reader that read
/// `.symtab` sets it.
pub fn finish(mut rows: Vec<Package>, text_size: u64, notes: Vec<String>) -> Packages {
    rows.retain(|r| r.total() > 0);
    let code = rows.iter().fold(0u64, |acc, r| acc.saturating_add(r.code));
    let rest = text_size.saturating_sub(code);
    if rest > 0 {
        rows.push(Package::new(REMAINDER, Language::Unknown, rest, 0));
    }
    sort_rows(&mut rows);
    Packages {
        rows,
        text_size,
        notes,
        has_symtab: false,
    }
}

/// Sorts rows largest first, ties by name.
pub fn sort_rows(rows: &mut [Package]) {
    rows.sort_by(|a, b| b.total().cmp(&a.total()).then_with(|| a.name.cmp(&b.name)));
}
