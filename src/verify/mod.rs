//! The scratch gate: will this file start in the target image, and if not, why and how to fix
//! it in the language it was built with.
//!
//! - [`policy::check`] is a pure function of the analysis (plus, with `--root`, the files of
//!   that root), one function per rule; [`root`] words what a resolution in a root found,
//!   `runtime` warns of the files a program looks for at run time, `hints` words the fixes.
//! - [`read`] adds the file handling: reading, UPX unpacking, scripts, the execute bit.
//! - [`walk`] verifies directories; [`image`] verifies an image's entrypoint in its merged
//!   layers.
//! - [`platform`] parses target platforms; [`codes`] names every finding.
//!
//! The library never prints: `report::verify` renders the [`FileReport`]s.

pub mod codes;
mod hints;
pub mod image;
mod launch;
pub mod platform;
pub mod policy;
pub mod read;
pub mod root;
mod runtime;
pub mod user;
pub mod walk;

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use crate::elf::{Analysis, Linkage};
use crate::error::Error;
use crate::resolve;

pub use codes::Code;
pub use platform::{Platform, PlatformError, PlatformLevel, platform_from_env};
pub use policy::check;
pub use read::{
    UnpackError, verify_bytes, verify_input, verify_lazy, verify_path, verify_with_mode,
};
pub use root::{root_findings, root_findings_named};

/// What to check.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// Fail a binary built for another platform.
    pub platform: Option<Platform>,
    /// Check against this image root instead of an empty one.
    pub root: Option<PathBuf>,
    /// Turn warnings into failures, and fail libraries and objects found in a walk.
    pub strict: bool,
    /// Fail files larger than this many bytes.
    pub max_size: Option<u64>,
    /// Fail files that still have a symbol table or debug sections.
    pub require_stripped: bool,
    /// Fail UPX-packed files.
    pub forbid_upx: bool,
    /// upx to unpack packed files with (None: packed files cannot be verified).
    pub upx: Option<PathBuf>,
    /// `LD_LIBRARY_PATH` as the program will see it (`--env`, or an image's `Env`); only
    /// meaningful with `root`.
    pub ld_library_path: Option<String>,
    /// What `root`'s loader searches, read once for every file these options check.
    pub root_facts: resolve::RootFacts,
    /// The working directory the program starts in (an image's `WorkingDir`; `/` when None):
    /// relative library search path elements are taken from it. Only meaningful with `root`.
    pub working_dir: Option<String>,
    /// How messages name `root`: `None` gives its path (`--root ./rootfs`); an image's merged
    /// layers, a temporary directory the user never sees, are `the image`.
    pub root_name: Option<String>,
}

impl VerifyOptions {
    /// Text from another tool (upx's messages name the file it was given) in the terms of
    /// `root_name`: paths inside `root` as the image has them, `root` itself by its name.
    /// binslim's own messages are worded with `root_name` from the start.
    fn in_root_terms(&self, text: String) -> String {
        let (Some(root), Some(name)) = (&self.root, &self.root_name) else {
            return text;
        };
        let root = root.display().to_string();
        if !text.contains(&root) {
            return text;
        }
        text.replace(&format!("{root}/"), "/").replace(&root, name)
    }
}

/// The outcome for one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Will start in the target.
    Pass,
    /// Will not start (or breaks a policy).
    Fail,
    /// Could not be analyzed.
    Error,
}

/// One problem or warning, with a stable code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable identifier (documented in README.md).
    pub code: Code,
    /// What is wrong, in one line.
    pub message: String,
    /// How to fix it, in the build's own language.
    pub hint: Option<String>,
}

impl Finding {
    /// A finding with its code, message and fix.
    pub fn new(code: Code, message: impl Into<String>, hint: impl Into<Option<String>>) -> Self {
        Finding {
            code,
            message: message.into(),
            hint: hint.into(),
        }
    }
}

/// The result of verifying one file.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    /// The path as given or found in a walk.
    pub path: String,
    /// Pass, fail or error.
    pub verdict: Verdict,
    /// The linkage, when the file is ELF.
    pub linkage: Option<Linkage>,
    /// The machine, when the file is ELF.
    pub machine: Option<String>,
    /// The file size in bytes.
    pub file_size: Option<u64>,
    /// True when the file was UPX-packed and the unpacked original was verified.
    pub unpacked: bool,
    /// Why it fails.
    pub problems: Vec<Finding>,
    /// What may go wrong at run time.
    pub warnings: Vec<Finding>,
    /// With `--root`: every library the loader looks for, in load order (empty otherwise).
    pub libraries: Vec<resolve::Library>,
    /// With `--root`: the loader's real path in the root, when it exists.
    #[serde(skip)]
    pub loader: Option<String>,
    /// With `--image`: a `#!` script's interpreter, which was checked in its place.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script_interpreter: Option<String>,
}

/// What [`check`] found: problems, warnings, and with `--root` the libraries.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    /// Why it fails.
    pub problems: Vec<Finding>,
    /// What may go wrong at run time.
    pub warnings: Vec<Finding>,
    /// With `--root`: the libraries, in load order.
    pub libraries: Vec<resolve::Library>,
    /// With `--root`: the loader's real path in the root.
    pub loader: Option<String>,
}

impl FileReport {
    /// A report with no findings yet: verdict pass, nothing known of the file.
    pub(crate) fn blank(path: impl Into<String>, verdict: Verdict) -> Self {
        FileReport {
            path: path.into(),
            verdict,
            linkage: None,
            machine: None,
            file_size: None,
            unpacked: false,
            problems: Vec::new(),
            warnings: Vec::new(),
            libraries: Vec::new(),
            loader: None,
            script_interpreter: None,
        }
    }

    /// The report for an analyzed ELF file, before its checks: verdict pass, with its
    /// linkage, machine and size.
    pub fn of(path: impl Into<String>, a: &Analysis) -> Self {
        FileReport {
            linkage: Some(a.linkage),
            machine: Some(a.machine.clone()),
            file_size: Some(a.file_size),
            ..FileReport::blank(path, Verdict::Pass)
        }
    }

    /// A report that fails with one problem (an image without an entrypoint, a script).
    pub fn failure(
        path: impl Into<String>,
        code: Code,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> Self {
        FileReport {
            problems: vec![Finding::new(code, message, hint)],
            ..FileReport::blank(path, Verdict::Fail)
        }
    }

    /// The report for a file that could not be analyzed (verdict `error`, code `unreadable`),
    /// with the reason.
    pub fn unreadable(path: impl Into<String>, message: impl Into<String>) -> Self {
        FileReport {
            problems: vec![Finding::new(Code::Unreadable, message, None)],
            ..FileReport::blank(path, Verdict::Error)
        }
    }

    /// The report for a file that could not be analyzed (verdict `error`, code `unreadable`).
    pub fn error(path: &str, err: &Error) -> Self {
        FileReport::unreadable(path, err.to_string())
    }
}

/// How a file came to be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Named on the command line: anything that is not a startable program fails.
    Named,
    /// Found in a directory walk: libraries and objects are reported but pass unless strict.
    Walked,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Error => "ERROR",
        })
    }
}

/// The worst verdict of `reports` (error over fail over pass); pass when there are none.
pub fn worst(reports: &[FileReport]) -> Verdict {
    if reports.iter().any(|r| r.verdict == Verdict::Error) {
        Verdict::Error
    } else if reports.iter().any(|r| r.verdict == Verdict::Fail) {
        Verdict::Fail
    } else {
        Verdict::Pass
    }
}

/// The committed fixtures of `testdata/`, for the rules' unit tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use std::path::PathBuf;

    use crate::elf::{self, Analysis, ElfFile};

    /// The path of `testdata/NAME`.
    pub fn path(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("testdata")
            .join(name)
    }

    /// The bytes of `testdata/NAME`.
    pub fn bytes(name: &str) -> Vec<u8> {
        std::fs::read(path(name)).unwrap()
    }

    /// Calls `f` with the parsed fixture and its analysis (as verify makes it).
    pub fn with<T>(name: &str, f: impl FnOnce(&ElfFile<'_>, &Analysis) -> T) -> T {
        let data = bytes(name);
        let parsed = ElfFile::parse(&data).unwrap();
        let a = elf::analyze_with(&parsed, elf::Detail::Summary);
        f(&parsed, &a)
    }

    /// The analysis of a fixture.
    pub fn analysis(name: &str) -> Analysis {
        with(name, |_, a| a.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_tools_text_is_put_in_image_terms() {
        let opts = VerifyOptions {
            root: Some("/tmp/binslim-image-x".into()),
            root_name: Some("the image".into()),
            ..VerifyOptions::default()
        };
        assert_eq!(
            opts.in_root_terms("upx: /tmp/binslim-image-x/app: in /tmp/binslim-image-x".into()),
            "upx: /app: in the image"
        );
        let host = VerifyOptions {
            root_name: None,
            ..opts.clone()
        };
        assert_eq!(
            host.in_root_terms("/tmp/binslim-image-x/app".into()),
            "/tmp/binslim-image-x/app"
        );
    }
}
