//! `--smoke`: start the original and the shrunk program with the same arguments and compare
//! what they do, so a broken or slow packed binary is caught before it is shipped.
//!
//! This is the one place binslim executes a file, and only when the user asks for it. Each run
//! has a timeout; start-up time is the median of a few runs, peak memory comes from the kernel's
//! accounting of the child (`wait4` rusage `ru_maxrss`).

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::{Error, Result};

/// How one program behaved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    /// The exit code, or `None` when a signal ended it.
    pub exit_code: Option<i32>,
    /// The signal that ended it.
    pub signal: Option<i32>,
    /// Its standard output (lossy UTF-8).
    pub stdout: String,
    /// Median wall time from start to exit, in milliseconds.
    pub median_ms: f64,
    /// Peak resident memory, in bytes (the largest of the runs).
    pub peak_rss: u64,
    /// It ran past the timeout and was killed.
    pub timed_out: bool,
}

/// One program run once: status, output, wall time, peak RSS.
fn run_once(program: &Path, args: &[String], timeout: Duration) -> Result<(Run, Duration)> {
    let start = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| Error::Io {
            context: format!("cannot start {}", program.display()),
            source: e,
        })?;
    let mut out = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is a C struct of integers and timevals (plain old data): all zero bytes is
    // a valid value of it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut timed_out = false;
    loop {
        // SAFETY: `pid` is our own child, not reaped before (std's `Child` has not waited on it);
        // `status` and `usage` are live, writable locals of the types wait4 fills.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        if r < 0 {
            return Err(Error::Io {
                context: "cannot wait for the smoke run".into(),
                source: std::io::Error::last_os_error(),
            });
        }
        if start.elapsed() > timeout && !timed_out {
            timed_out = true;
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let elapsed = start.elapsed();
    let stdout = reader.join().unwrap_or_default();
    let (exit_code, signal) = if libc::WIFEXITED(status) {
        (Some(libc::WEXITSTATUS(status)), None)
    } else if libc::WIFSIGNALED(status) {
        (None, Some(libc::WTERMSIG(status)))
    } else {
        (None, None)
    };
    Ok((
        Run {
            exit_code,
            signal,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            median_ms: 0.0,
            peak_rss: (usage.ru_maxrss.max(0) as u64) * 1024,
            timed_out,
        },
        elapsed,
    ))
}

/// Runs `program` with `args` `runs` times; the result has the first run's status and output,
/// the median wall time and the largest peak RSS.
pub fn run(program: &Path, args: &[String], runs: usize, timeout: Duration) -> Result<Run> {
    let mut times = Vec::with_capacity(runs);
    let mut first: Option<Run> = None;
    let mut peak = 0;
    for _ in 0..runs.max(1) {
        let (r, t) = run_once(program, args, timeout)?;
        times.push(t);
        peak = peak.max(r.peak_rss);
        let stop = r.timed_out;
        if first.is_none() {
            first = Some(r);
        }
        if stop {
            break;
        }
    }
    times.sort();
    let mut r = first.expect("at least one run");
    r.median_ms = (times[times.len() / 2].as_secs_f64() * 1e6).round() / 1e3;
    r.peak_rss = peak;
    Ok(r)
}

/// Original and result side by side.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The arguments both were started with.
    pub args: Vec<String>,
    /// The original.
    pub original: Run,
    /// The shrunk file.
    pub result: Run,
    /// Same exit status and same standard output, and neither timed out.
    pub same: bool,
}

/// Starts `original` and `result` with `args` and compares them.
pub fn compare(
    original: &Path,
    result: &Path,
    args: &[String],
    runs: usize,
    timeout: Duration,
) -> Result<Comparison> {
    let a = run(original, args, runs, timeout)?;
    let b = run(result, args, runs, timeout)?;
    let same = !a.timed_out
        && !b.timed_out
        && a.exit_code == b.exit_code
        && a.signal == b.signal
        && a.stdout == b.stdout;
    Ok(Comparison {
        args: args.to_vec(),
        original: a,
        result: b,
        same,
    })
}
