//! Verifying files as they are on disk: reading or mapping them, scripts, the execute bit,
//! and UPX-packed files, whose unpacked original is what gets checked.

use std::path::Path;

use thiserror::Error;

use crate::elf::{self, Analysis, ElfFile, Linkage};
use crate::error::Error;
use crate::input::{Input, LazyFile, sniff};

use super::codes::Code;
use super::policy::check;
use super::{Checked, FileReport, Finding, Origin, Verdict, VerifyOptions};

/// Verifies one file: reads it, unpacks UPX if it can, and checks it.
pub fn verify_path(path: &Path, display: &str, opts: &VerifyOptions, origin: Origin) -> FileReport {
    match Input::open(path) {
        Ok(input) => verify_input(path, display, &input, opts, origin),
        Err(e) => FileReport::error(display, &e),
    }
}

/// Verifies an opened file: its bytes, as [`verify_bytes`] does, and its permission bits.
pub fn verify_input(
    path: &Path,
    display: &str,
    input: &Input,
    opts: &VerifyOptions,
    origin: Origin,
) -> FileReport {
    verify_with_mode(path, display, input.bytes(), input.mode(), opts, origin)
}

/// Verifies a file's bytes and its permission bits (`st_mode`), as [`verify_input`] does, for
/// callers that read the file themselves (a directory walk reads small files into a buffer it
/// reuses, instead of mapping each one).
pub fn verify_with_mode(
    path: &Path,
    display: &str,
    data: &[u8],
    mode: u32,
    opts: &VerifyOptions,
    origin: Origin,
) -> FileReport {
    let report = verify_bytes(path, display, data, opts, origin);
    with_mode(report, mode, opts, origin)
}

/// Verifies an ELF file that a directory walk opened, reading only the bytes the verdict is
/// drawn from (see [`LazyFile`]), and its permission bits (`st_mode`). A read error on the
/// way is the file's report (as for a file that cannot be read at all).
pub fn verify_lazy(
    path: &Path,
    display: &str,
    file: &LazyFile,
    mode: u32,
    opts: &VerifyOptions,
    origin: Origin,
) -> FileReport {
    let report = match ElfFile::parse_lazy(file) {
        Ok(parsed) => verify_parsed(path, display, &parsed, opts, origin),
        Err(e) => FileReport::error(display, &e),
    };
    match file.take_error() {
        Some(e) => FileReport::error(display, &Error::from_io(e, "cannot read")),
        None => with_mode(report, mode, opts, origin),
    }
}

/// `report` with the finding of a program that lacks an execute bit in `mode`.
fn with_mode(
    mut report: FileReport,
    mode: u32,
    opts: &VerifyOptions,
    origin: Origin,
) -> FileReport {
    // `COPY` keeps the mode, and execve needs an execute bit even for root.
    let is_program = report.linkage.is_some_and(Linkage::is_program);
    if is_program && mode & 0o111 == 0 {
        let finding = Finding::new(
            Code::NotExecutable,
            format!(
                "has no execute permission (mode {:04o}): starting it fails with \"permission \
                 denied\"",
                mode & 0o7777
            ),
            Some("chmod +x it before it is copied, or COPY --chmod=755".into()),
        );
        if origin == Origin::Named || opts.strict {
            report.problems.push(finding);
            report.verdict = Verdict::Fail;
        } else {
            report.warnings.push(finding);
        }
    }
    report
}

/// Verifies a file whose bytes are already read or mapped (`path` is used for UPX unpacking
/// and for its location inside `--root`).
pub fn verify_bytes(
    path: &Path,
    display: &str,
    data: &[u8],
    opts: &VerifyOptions,
    origin: Origin,
) -> FileReport {
    if let Err(Error::Script { shebang }) = sniff(data) {
        let interp = shebang
            .trim_start_matches("#!")
            .split_whitespace()
            .next()
            .unwrap_or("/bin/sh")
            .to_string();
        let mut report = FileReport::failure(
            display,
            Code::Script,
            format!("script needs {interp}, which scratch lacks"),
            Some("ship a compiled binary, or use a base image with a shell".into()),
        );
        report.file_size = Some(data.len() as u64);
        return report;
    }
    match ElfFile::parse(data) {
        Ok(parsed) => verify_parsed(path, display, &parsed, opts, origin),
        Err(e) => FileReport::error(display, &e),
    }
}

/// [`verify_bytes`] of a parsed ELF file.
fn verify_parsed(
    path: &Path,
    display: &str,
    parsed: &ElfFile<'_>,
    opts: &VerifyOptions,
    origin: Origin,
) -> FileReport {
    // Verdicts never show per-section detail: skip building it (directory walks are hot).
    let mut a = elf::analyze_with(parsed, elf::Detail::Summary);
    super::policy::use_as(&mut a, origin);
    // Only a resolution in `--root` reads it (`policy::check`): a walk without a root makes
    // no string per file for it.
    let path_in_root = match opts.root {
        Some(_) => location_in_root(path, opts.root.as_deref()),
        None => String::new(),
    };
    let mut report = FileReport::of(display, &a);
    let checked = if a.upx.is_some() {
        if opts.forbid_upx {
            report.problems.push(Finding::new(
                Code::UpxPacked,
                "is UPX-packed, which --forbid-upx does not allow",
                Some("drop --upx from binslim shrink (or the upx step of the build)".into()),
            ));
        }
        match unpack_and_check(path, opts, origin, &path_in_root) {
            Ok((checked, unpacked)) => {
                report.linkage = Some(unpacked.linkage);
                report.unpacked = true;
                checked
            }
            Err(e) => Checked {
                problems: vec![Finding::new(
                    Code::UpxUnverifiable,
                    e.to_string(),
                    Some("run binslim verify before packing, or put upx on PATH".into()),
                )],
                ..Checked::default()
            },
        }
    } else {
        check(parsed, &a, opts, origin, &path_in_root)
    };
    report.problems.extend(checked.problems);
    report.warnings = checked.warnings;
    report.libraries = checked.libraries;
    report.loader = checked.loader;
    if !report.problems.is_empty() {
        report.verdict = Verdict::Fail;
    }
    report
}

/// Where the file sits in the image: its path relative to `--root` when it lies inside the root,
/// else `/NAME` (as `COPY server /` would put it).
fn location_in_root(path: &Path, root: Option<&Path>) -> String {
    let inside = root.and_then(|r| {
        let r = r.canonicalize().ok()?;
        let p = path.canonicalize().ok()?;
        let rel = p.strip_prefix(&r).ok()?.to_string_lossy().into_owned();
        Some(format!("/{rel}"))
    });
    inside.unwrap_or_else(|| {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        format!("/{}", name.unwrap_or_default())
    })
}

/// Why a UPX-packed file's original could not be checked (the message of its
/// `upx-unverifiable` finding).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum UnpackError {
    /// No upx to unpack with.
    #[error("is UPX-packed, which hides its real linkage, and upx is not on PATH to unpack a copy")]
    NoUpx,
    /// The temporary directory for the copy could not be made.
    #[error("cannot create a temporary directory: {0}")]
    TempDir(#[source] std::io::Error),
    /// upx ran and did not unpack it (its message, paths in an image's root as the image has
    /// them).
    #[error("is UPX-packed and upx -d failed: {0}")]
    Failed(String),
    /// upx could not be run.
    #[error("is UPX-packed and upx could not run: {0}")]
    Run(#[source] Error),
    /// The unpacked copy could not be read.
    #[error("cannot read the unpacked copy: {0}")]
    ReadCopy(#[source] Error),
    /// The unpacked copy is not ELF.
    #[error("the unpacked copy {0}")]
    ParseCopy(#[source] Error),
}

/// Unpacks a UPX-packed file into a temporary copy and checks the copy under the same origin
/// and policy as the file named.
fn unpack_and_check(
    path: &Path,
    opts: &VerifyOptions,
    origin: Origin,
    path_in_root: &str,
) -> Result<(Checked, Analysis), UnpackError> {
    let upx = opts.upx.as_ref().ok_or(UnpackError::NoUpx)?;
    let dir = tempfile::tempdir().map_err(UnpackError::TempDir)?;
    let copy = dir.path().join("unpacked");
    match crate::upx::unpack(upx, path, &copy) {
        Ok(crate::upx::Outcome::Packed) => {}
        Ok(
            crate::upx::Outcome::Declined { message, .. }
            | crate::upx::Outcome::Failed { message, .. },
        ) => return Err(UnpackError::Failed(opts.in_root_terms(message))),
        Err(e) => return Err(UnpackError::Run(e)),
    }
    let input = Input::open(&copy).map_err(UnpackError::ReadCopy)?;
    let parsed = ElfFile::parse(input.bytes()).map_err(UnpackError::ParseCopy)?;
    let a = elf::analyze_with(&parsed, elf::Detail::Summary);
    Ok((check(&parsed, &a, opts, origin, path_in_root), a))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::fixtures::{bytes, path};

    fn verify(name: &str, opts: &VerifyOptions) -> FileReport {
        verify_bytes(&path(name), name, &bytes(name), opts, Origin::Named)
    }

    #[test]
    fn scripts_need_their_interpreter() {
        let r = verify("script.sh", &VerifyOptions::default());
        assert_eq!(r.verdict, Verdict::Fail);
        assert_eq!(r.problems[0].code, Code::Script);
        assert_eq!(
            r.problems[0].message,
            "script needs /bin/sh, which scratch lacks"
        );
        assert_eq!(r.file_size, Some(bytes("script.sh").len() as u64));
    }

    #[test]
    fn files_that_are_not_elf_are_unreadable() {
        let r = verify("not-elf.txt", &VerifyOptions::default());
        assert_eq!(r.verdict, Verdict::Error);
        assert_eq!(r.problems[0].code, Code::Unreadable);
        assert_eq!(r.problems[0].message, "is a text file, not an ELF binary");
        let r = verify_path(
            &path("no-such-file"),
            "x",
            &VerifyOptions::default(),
            Origin::Named,
        );
        assert_eq!(
            (r.verdict, r.problems[0].message.as_str()),
            (Verdict::Error, "not found")
        );
    }

    #[test]
    fn programs_need_an_execute_bit() {
        let data = bytes("go-static");
        let opts = VerifyOptions::default();
        let named = verify_with_mode(&path("go-static"), "p", &data, 0o644, &opts, Origin::Named);
        assert_eq!(named.verdict, Verdict::Fail);
        assert_eq!(named.problems[0].code, Code::NotExecutable);
        assert_eq!(
            named.problems[0].message,
            "has no execute permission (mode 0644): starting it fails with \"permission denied\""
        );
        let walked = verify_with_mode(&path("go-static"), "p", &data, 0o644, &opts, Origin::Walked);
        assert_eq!(walked.verdict, Verdict::Pass);
        assert_eq!(walked.warnings[0].code, Code::NotExecutable);
        // A library needs no execute bit.
        let lib = bytes("libgreet.so");
        let r = verify_with_mode(
            &path("libgreet.so"),
            "l",
            &lib,
            0o644,
            &opts,
            Origin::Walked,
        );
        assert!(r.warnings.is_empty());
    }

    #[test]
    fn packed_files_without_upx_are_unverifiable() {
        let opts = VerifyOptions {
            forbid_upx: true,
            ..VerifyOptions::default()
        };
        let r = verify("upx-packed", &opts);
        assert_eq!(r.verdict, Verdict::Fail);
        let codes: Vec<Code> = r.problems.iter().map(|f| f.code).collect();
        assert_eq!(codes, [Code::UpxPacked, Code::UpxUnverifiable]);
        assert_eq!(
            r.problems[0].message,
            "is UPX-packed, which --forbid-upx does not allow"
        );
        assert_eq!(
            r.problems[1].message,
            "is UPX-packed, which hides its real linkage, and upx is not on PATH to unpack a copy"
        );
        assert!(!r.unpacked);
    }

    #[test]
    fn packed_files_are_checked_unpacked() {
        let Ok(upx) = crate::upx::find(None) else {
            return;
        };
        let opts = VerifyOptions {
            upx: Some(upx),
            ..VerifyOptions::default()
        };
        let r = verify("upx-packed", &opts);
        assert_eq!((r.verdict, r.unpacked), (Verdict::Pass, true));
        assert_eq!(r.linkage, Some(Linkage::Static));
    }

    #[test]
    fn a_file_sits_in_the_root_or_at_its_top() {
        let dir = path("");
        assert_eq!(
            location_in_root(&path("go-static"), Some(&dir)),
            "/go-static"
        );
        assert_eq!(
            location_in_root(&path("shrink/build.sh"), Some(&dir)),
            "/shrink/build.sh"
        );
        assert_eq!(location_in_root(&path("go-static"), None), "/go-static");
        assert_eq!(
            location_in_root(Path::new("/nonexistent/app"), Some(&dir)),
            "/app"
        );
    }
}
