//! Finding and running UPX, and turning its exit status and `upx: FILE: Exception: message`
//! lines into outcomes binslim can act on.
//!
//! UPX 4 exits 0 when it packed, 1 on an error and 2 on a warning; its reason is one stderr line
//! naming an exception class. `NotCompressibleException` and `CantPackException` mean "this file
//! is better left as it is" (binslim keeps the stripped file and says why); anything else is a
//! real failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// The install hint shown when upx is missing.
pub const INSTALL_HINT: &str = "install it (Debian/Ubuntu: apt-get install upx-ucl; Alpine: apk add upx; \
     Fedora: dnf install upx; macOS: brew install upx) or pass --upx-path";

/// upx was asked for and is not there: a problem of the machine binslim runs on, not of any
/// file, so it is its own type rather than a [`crate::Error`] (which is about one file).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {INSTALL_HINT}", match at {
    Some(p) => format!("upx not found at '{}'", p.display()),
    None => "upx is not on PATH".to_string(),
})]
pub struct NotFound {
    /// The path given (`--upx-path`) that is not a file, or `None` when `upx` is not on `PATH`.
    pub at: Option<PathBuf>,
}

/// Finds the upx executable: `explicit` when given (it must exist and be a file), else `upx`
/// on `PATH` (what `which upx` finds).
pub fn find(explicit: Option<&Path>) -> std::result::Result<PathBuf, NotFound> {
    match explicit {
        Some(p) if p.is_file() => Ok(p.to_path_buf()),
        Some(p) => Err(NotFound {
            at: Some(p.to_path_buf()),
        }),
        None => which::which("upx").map_err(|_| NotFound { at: None }),
    }
}

/// What one upx run came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// upx packed the file.
    Packed,
    /// upx declined, for a reason that means "keep the file unpacked" (not compressible, or a
    /// format it cannot pack). `class` is the exception class, `message` its text.
    Declined {
        /// `NotCompressibleException` or `CantPackException`.
        class: String,
        /// What upx said after the class (may be empty).
        message: String,
    },
    /// upx failed.
    Failed {
        /// The exit status (None when killed by a signal).
        status: Option<i32>,
        /// upx's message (its exception line, or its last stderr line).
        message: String,
    },
}

/// What an [`Outcome`] was, without its details: the `outcome` of the JSON report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutcomeKind {
    /// See [`Outcome::Packed`].
    Packed,
    /// See [`Outcome::Declined`].
    Declined,
    /// See [`Outcome::Failed`].
    Failed,
}

impl Outcome {
    /// Which of the three outcomes this is.
    pub fn kind(&self) -> OutcomeKind {
        match self {
            Outcome::Packed => OutcomeKind::Packed,
            Outcome::Declined { .. } => OutcomeKind::Declined,
            Outcome::Failed { .. } => OutcomeKind::Failed,
        }
    }
}

/// An exception line: `upx: FILE: Class: message` (the message part is optional).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exception {
    /// The exception class, e.g. `NotCompressibleException`.
    pub class: String,
    /// The text after the class.
    pub message: String,
}

/// Finds the last `upx: FILE: XxxException[: message]` line in upx's stderr.
pub fn parse_exception(stderr: &str) -> Option<Exception> {
    stderr.lines().rev().find_map(|line| {
        let rest = line.trim().strip_prefix("upx: ")?;
        // FILE may contain ": ", so look for the first field that is an exception class.
        let parts: Vec<&str> = rest.split(": ").collect();
        let k = parts.iter().position(|p| p.ends_with("Exception"))?;
        Some(Exception {
            class: parts[k].to_string(),
            message: parts[k + 1..].join(": "),
        })
    })
}

/// Maps upx's exit status and stderr to an [`Outcome`].
pub fn outcome(status: Option<i32>, stderr: &str) -> Outcome {
    let exc = parse_exception(stderr);
    match (status, exc) {
        (Some(0), _) => Outcome::Packed,
        (_, Some(e)) if e.class == "NotCompressibleException" || e.class == "CantPackException" => {
            Outcome::Declined {
                class: e.class,
                message: e.message,
            }
        }
        (status, Some(e)) => Outcome::Failed {
            status,
            message: if e.message.is_empty() {
                e.class
            } else {
                format!("{}: {}", e.class, e.message)
            },
        },
        (status, None) => Outcome::Failed {
            status,
            message: stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no message")
                .trim()
                .to_string(),
        },
    }
}

/// Runs an upx command with no standard input and collects its output.
fn run(upx: &Path, cmd: &mut Command) -> Result<std::process::Output> {
    // If binslim is killed, upx must not live on writing files nobody will clean up.
    // SAFETY: the closure runs in the forked child before exec, where only async-signal-safe
    // work is allowed: it makes one prctl system call (integers only) and returns `Ok(())`
    // without allocating, locking or touching memory shared with the parent.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    cmd.stdin(Stdio::null()).output().map_err(|e| Error::Io {
        context: format!("cannot run {}", upx.display()),
        source: e,
    })
}

/// Runs `upx [args] -o output input`. `output` must not exist (upx refuses to overwrite).
pub fn pack(upx: &Path, input: &Path, output: &Path, args: &[String]) -> Result<Outcome> {
    let mut cmd = Command::new(upx);
    cmd.arg("-q").args(args).arg("-o").arg(output).arg(input);
    let out = run(upx, &mut cmd)?;
    let mut o = outcome(out.status.code(), &String::from_utf8_lossy(&out.stderr));
    if o == Outcome::Packed && !output.is_file() {
        o = Outcome::Failed {
            status: out.status.code(),
            message: "upx exited 0 but wrote no output".into(),
        };
    }
    Ok(o)
}

/// What `upx -t` said of a packed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tested {
    /// upx's own test of the packed file passed.
    Passed,
    /// It failed.
    Failed {
        /// upx's message (its exception class and message, or its last stderr line).
        message: String,
    },
}

/// Runs `upx -t FILE`: whether upx's own test of the packed file passes, with its message when
/// not. `Err` only when upx cannot be run.
pub fn test(upx: &Path, file: &Path) -> Result<Tested> {
    let mut cmd = Command::new(upx);
    cmd.arg("-q").arg("-t").arg(file);
    let out = run(upx, &mut cmd)?;
    if out.status.success() {
        return Ok(Tested::Passed);
    }
    let message = match outcome(out.status.code(), &String::from_utf8_lossy(&out.stderr)) {
        Outcome::Failed { message, .. } => message,
        Outcome::Declined { class, message } => format!("{class}: {message}"),
        Outcome::Packed => "upx -t failed".into(),
    };
    Ok(Tested::Failed { message })
}

/// An argument string with an opening quote and no closing one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unbalanced quote in '{text}'")]
pub struct UnbalancedQuote {
    /// The whole string as given.
    pub text: String,
}

/// Splits `--upx-args "..."` (or `--smoke "..."`) on whitespace, honouring single and double
/// quotes.
pub fn split_args(s: &str) -> std::result::Result<Vec<String>, UnbalancedQuote> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut in_arg = false;
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                in_arg = true;
            }
            None if c.is_whitespace() => {
                if in_arg {
                    args.push(std::mem::take(&mut cur));
                    in_arg = false;
                }
            }
            None => {
                cur.push(c);
                in_arg = true;
            }
        }
    }
    if quote.is_some() {
        return Err(UnbalancedQuote { text: s.into() });
    }
    if in_arg {
        args.push(cur);
    }
    Ok(args)
}

/// Runs `upx -d -o output input`: restores the original of a packed file, byte for byte.
pub fn unpack(upx: &Path, input: &Path, output: &Path) -> Result<Outcome> {
    let mut cmd = Command::new(upx);
    cmd.arg("-q").arg("-d").arg("-o").arg(output).arg(input);
    let out = run(upx, &mut cmd)?;
    Ok(outcome(
        out.status.code(),
        &String::from_utf8_lossy(&out.stderr),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exceptions_are_parsed() {
        let e = parse_exception(
            "upx: out/go-pie: CantPackException: bad DT_HASH nbucket=0x2  len=0x20\n",
        )
        .unwrap();
        assert_eq!(e.class, "CantPackException");
        assert_eq!(e.message, "bad DT_HASH nbucket=0x2  len=0x20");
        let e = parse_exception("upx: a: b: NotCompressibleException\n").unwrap();
        assert_eq!(e.class, "NotCompressibleException");
        assert_eq!(e.message, "");
        assert_eq!(parse_exception("Packed 0 files.\n"), None);
    }

    #[test]
    fn outcomes_follow_status_and_class() {
        assert_eq!(outcome(Some(0), ""), Outcome::Packed);
        assert!(matches!(
            outcome(Some(1), "upx: f: NotCompressibleException\n"),
            Outcome::Declined { .. }
        ));
        assert_eq!(
            outcome(Some(2), "upx: f: AlreadyPackedException\n"),
            Outcome::Failed {
                status: Some(2),
                message: "AlreadyPackedException".into()
            }
        );
        assert_eq!(
            outcome(
                Some(1),
                "upx: f: IOException: file is too small -- skipped\n"
            ),
            Outcome::Failed {
                status: Some(1),
                message: "IOException: file is too small -- skipped".into()
            }
        );
        assert_eq!(
            outcome(None, "killed\n"),
            Outcome::Failed {
                status: None,
                message: "killed".into()
            }
        );
    }

    #[test]
    fn upx_args_split_like_a_shell() {
        assert_eq!(split_args("--best --lzma").unwrap(), ["--best", "--lzma"]);
        assert_eq!(split_args("  ").unwrap(), Vec::<String>::new());
        assert_eq!(split_args("-o 'a b' \"\"").unwrap(), ["-o", "a b", ""]);
        assert_eq!(
            split_args("--best 'x").unwrap_err().to_string(),
            "unbalanced quote in '--best 'x'"
        );
    }

    #[test]
    fn outcome_kinds() {
        assert_eq!(Outcome::Packed.kind(), OutcomeKind::Packed);
        assert_eq!(
            outcome(Some(1), "upx: f: CantPackException: no\n").kind(),
            OutcomeKind::Declined
        );
        assert_eq!(outcome(Some(1), "").kind(), OutcomeKind::Failed);
    }

    #[test]
    fn missing_upx_is_named_with_the_install_hint() {
        let e = find(Some(Path::new("/nonexistent/upx"))).unwrap_err();
        assert_eq!(
            e,
            NotFound {
                at: Some("/nonexistent/upx".into())
            }
        );
        assert_eq!(
            e.to_string(),
            "upx not found at '/nonexistent/upx': install it (Debian/Ubuntu: apt-get install \
             upx-ucl; Alpine: apk add upx; Fedora: dnf install upx; macOS: brew install upx) or \
             pass --upx-path"
        );
        // A directory is not an executable either.
        assert!(find(Some(Path::new("/"))).is_err());
        assert_eq!(
            NotFound { at: None }.to_string(),
            "upx is not on PATH: install it (Debian/Ubuntu: apt-get install upx-ucl; Alpine: apk \
             add upx; Fedora: dnf install upx; macOS: brew install upx) or pass --upx-path"
        );
    }

    #[test]
    fn find_on_path_is_which() {
        assert_eq!(find(None).ok(), which::which("upx").ok());
    }

    #[test]
    fn upx_test_of_a_file_that_is_not_packed_fails_with_upx_message() {
        let Ok(upx) = find(None) else {
            eprintln!("skipped: upx is not on PATH");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("plain");
        std::fs::write(&f, b"not packed").unwrap();
        match test(&upx, &f).unwrap() {
            Tested::Failed { message } => assert!(!message.is_empty()),
            Tested::Passed => panic!("upx -t passed on a file it did not pack"),
        }
    }
}
