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

/// Finds the upx executable: `explicit` when given (it must exist and be a file), else `upx`
/// on `PATH`.
pub fn find(explicit: Option<&Path>) -> Result<PathBuf> {
    match explicit {
        Some(p) => {
            if p.is_file() {
                Ok(p.to_path_buf())
            } else {
                Err(Error::Unsupported(format!(
                    "upx not found at '{}': {INSTALL_HINT}",
                    p.display()
                )))
            }
        }
        None => which::which("upx")
            .map_err(|_| Error::Unsupported(format!("upx is not on PATH: {INSTALL_HINT}"))),
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

/// Runs `upx -t FILE`: `Ok(())` when upx's own test of the packed file passes, else its message.
pub fn test(upx: &Path, file: &Path) -> Result<std::result::Result<(), String>> {
    let mut cmd = Command::new(upx);
    cmd.arg("-q").arg("-t").arg(file);
    let out = run(upx, &mut cmd)?;
    if out.status.success() {
        return Ok(Ok(()));
    }
    Ok(Err(
        match outcome(out.status.code(), &String::from_utf8_lossy(&out.stderr)) {
            Outcome::Failed { message, .. } => message,
            Outcome::Declined { class, message } => format!("{class}: {message}"),
            Outcome::Packed => "upx -t failed".into(),
        },
    ))
}

/// Splits `--upx-args "..."` on whitespace, honouring single and double quotes.
pub fn split_args(s: &str) -> std::result::Result<Vec<String>, String> {
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
        return Err(format!("unbalanced quote in '{s}'"));
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
        assert!(split_args("'x").is_err());
    }
}
