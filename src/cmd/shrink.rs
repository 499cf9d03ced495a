//! `binslim shrink`: strip, optionally pack with upx, smoke-test, and replace the file atomically.
//!
//! Every output goes to a temporary file (or directory, for upx, which refuses to overwrite) in
//! the destination's directory and is renamed over the destination only when it is complete and
//! has passed every check, so the destination is never half-written; the temporaries are removed
//! on every path out of this module.

use std::fs::{self, File, Permissions};
use std::io::{self, IsTerminal, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use binslim::Error;
use binslim::elf::{self, ElfFile};
use binslim::input::Input;
use binslim::report::shrink::{self as render, ShrinkReport, UpxReport};
use binslim::report::{Style, json};
use binslim::shrink::{self, Entry, Ledger, ShrinkOptions, StepKind};
use binslim::smoke;
use binslim::strip::{self, DebugLink};
use binslim::upx::{self, Outcome};

use super::{Status, emit};
use crate::cli::ShrinkArgs;

/// Options checked before any file is touched.
struct Plan {
    upx: Option<PathBuf>,
    upx_args: Vec<String>,
    smoke_args: Option<Vec<String>>,
}

/// Runs `shrink`.
pub fn run(args: &ShrinkArgs, style: Style) -> Status {
    let plan = match validate(args) {
        Ok(p) => p,
        Err(msg) => {
            eprintln!("binslim: {msg}");
            return Status::Error;
        }
    };
    let mut status = Status::Ok;
    let mut reports = Vec::new();
    for (k, file) in args.files.iter().enumerate() {
        if !args.json && k > 0 && !emit("\n") {
            break;
        }
        match shrink_file(file, args, &plan, style) {
            Ok((report, st)) => {
                status = status.max(st);
                reports.push(report);
            }
            Err(e) => {
                eprintln!("binslim: {}: {e}", file.display());
                status = status.max(Status::Error);
            }
        }
    }
    if args.json {
        let text = if args.files.len() == 1 {
            reports.first().map(json::to_string)
        } else {
            Some(json::to_string(&reports))
        };
        if let Some(t) = text {
            emit(&t);
        }
    }
    status
}

fn validate(args: &ShrinkArgs) -> Result<Plan, String> {
    if args.output.is_some() && args.files.len() > 1 {
        return Err(
            "-o/--output takes one FILE; without -o every FILE is replaced in place".into(),
        );
    }
    if args.keep_debug.is_some() && args.files.len() > 1 {
        return Err("--keep-debug takes one FILE".into());
    }
    if let Some(out) = &args.output
        && !args.force
        && fs::symlink_metadata(out).is_ok()
    {
        return Err(format!(
            "{}: already exists; binslim does not replace an existing -o file unless --force is given",
            out.display()
        ));
    }
    let want_upx = args.upx || args.upx_path.is_some() || args.upx_args.is_some();
    let upx = if want_upx {
        Some(upx::find(args.upx_path.as_deref()).map_err(|e| e.to_string())?)
    } else {
        None
    };
    let upx_args = match &args.upx_args {
        Some(s) => upx::split_args(s).map_err(|e| format!("--upx-args: {e}"))?,
        None => Vec::new(),
    };
    let smoke_args = match &args.smoke {
        Some(s) => Some(upx::split_args(s).map_err(|e| format!("--smoke: {e}"))?),
        None => None,
    };
    Ok(Plan {
        upx,
        upx_args,
        smoke_args,
    })
}

/// Shows elapsed time on stderr while `f` runs, when stderr is a terminal.
fn with_spinner<T>(label: &str, f: impl FnOnce() -> T) -> T {
    if !io::stderr().is_terminal() {
        return f();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let label = label.to_string();
    let start = Instant::now();
    let handle = std::thread::spawn(move || {
        let frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
        let mut k = 0;
        while !flag.load(Ordering::Relaxed) {
            eprint!(
                "\r{} {label} {:.1}s",
                frames[k % frames.len()],
                start.elapsed().as_secs_f64()
            );
            k += 1;
            std::thread::sleep(Duration::from_millis(100));
        }
        eprint!("\r\x1b[K");
    });
    let r = f();
    stop.store(true, Ordering::Relaxed);
    let _ = handle.join();
    r
}

/// A temporary file in `dir`, removed on drop unless persisted.
fn temp_in(dir: &Path) -> Result<tempfile::NamedTempFile, Error> {
    binslim::tempfiles::clean_stale(dir);
    tempfile::Builder::new()
        .prefix(&binslim::tempfiles::prefix())
        .tempfile_in(dir)
        .map_err(|e| Error::Io {
            context: format!("cannot create a temporary file in '{}'", dir.display()),
            source: e,
        })
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
    let context = context.into();
    move |e| Error::Io { context, source: e }
}

/// Gives `path` the input's permission bits and (where allowed) its owner and group.
fn copy_attrs(path: &Path, meta: &fs::Metadata) -> Result<(), Error> {
    fs::set_permissions(path, Permissions::from_mode(meta.mode() & 0o7777))
        .map_err(io_err("cannot set permissions"))?;
    // Only root may give a file away; others keep their own uid (and mostly their gid).
    let _ = std::os::unix::fs::chown(path, Some(meta.uid()), Some(meta.gid()));
    // chown clears set-id bits: set the mode again.
    let _ = fs::set_permissions(path, Permissions::from_mode(meta.mode() & 0o7777));
    Ok(())
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

fn shrink_file(
    file: &Path,
    args: &ShrinkArgs,
    plan: &Plan,
    style: Style,
) -> Result<(ShrinkReport, Status), Error> {
    let text = !args.json;
    let input = Input::open(file)?;
    let data = input.bytes();
    let elf = ElfFile::parse(data)?;
    strip::check_strippable(&elf)?;
    let analysis = elf::analyze_file(&elf);
    let in_file = File::open(file).map_err(|e| Error::from_io(e, "cannot open"))?;
    let meta = in_file
        .metadata()
        .map_err(|e| Error::from_io(e, "cannot stat"))?;

    // Where the result goes: -o OUT, or the file itself (through symlinks to the real file).
    let in_place = args.output.is_none();
    let dest = match &args.output {
        Some(o) => absolute(o),
        None => fs::canonicalize(file).map_err(|e| Error::from_io(e, "cannot resolve"))?,
    };
    let dir = dest
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let mut warnings = Vec::new();

    // --keep-debug: the debug file first, since the result links to it by CRC.
    let mut debuglink = None;
    if let Some(dbg) = &args.keep_debug {
        let layout = strip::plan_debug_file(data)?;
        let dbg_dir = absolute(dbg)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let tmp = temp_in(&dbg_dir)?;
        let mut crc = CrcWriter {
            inner: io::BufWriter::with_capacity(1 << 20, tmp.as_file()),
            crc: flate2::Crc::new(),
        };
        layout
            .write_from(&in_file, &mut crc)
            .map_err(io_err("cannot write the debug file"))?;
        let sum = crc.crc.sum();
        drop(crc);
        tmp.persist(dbg)
            .map_err(|e| io_err(format!("cannot write '{}'", dbg.display()))(e.error))?;
        let name = dbg
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        debuglink = Some(DebugLink { name, crc: sum });
    }

    let mut opts = ShrinkOptions::default();
    opts.remove_debuglink = args.remove_debuglink;
    opts.add_debuglink = debuglink;
    let steps = shrink::plan_strip_steps(data, &opts)?;

    // Which steps change the file, and their gzip sizes (measured in parallel).
    let mut changed = Vec::with_capacity(steps.len());
    let (mut prev_removed, mut prev_size) = (0, data.len() as u64);
    for s in &steps {
        let c = s.layout.removed.len() != prev_removed
            || s.layout.size() != prev_size
            || (s.kind == StepKind::StripDebug && opts.add_debuglink.is_some());
        prev_removed = s.layout.removed.len();
        prev_size = s.layout.size();
        changed.push(c);
    }
    let file_len = data.len() as u64;
    let (orig_gz, step_gz): (Option<u64>, Vec<Option<u64>>) = if args.no_gzip {
        (None, vec![None; steps.len()])
    } else {
        std::thread::scope(|sc| {
            let f = &in_file;
            let o = sc.spawn(move || shrink::gzip_size(f, file_len, None).ok());
            let hs: Vec<_> = steps
                .iter()
                .zip(&changed)
                .map(|(s, &c)| {
                    let l = &s.layout;
                    c.then(|| sc.spawn(move || shrink::gzip_size(f, 0, Some(l)).ok()))
                })
                .collect();
            let o = o.join().ok().flatten();
            let g = hs
                .into_iter()
                .map(|h| h.and_then(|h| h.join().ok().flatten()))
                .collect();
            (o, g)
        })
    };

    let input_name = file.display().to_string();
    let output_name = match &args.output {
        Some(o) => o.display().to_string(),
        None => input_name.clone(),
    };
    if text && !emit(&render::header(&input_name, &output_name, style)) {
        return Err(Error::Unsupported("stdout closed".into()));
    }
    let mut ledger = Ledger::new(file_len, orig_gz);
    if text {
        emit(&render::step_line(ledger.original(), style, file_len));
    }

    // Write the final strip layout to a temporary file beside the destination.
    let last = steps.last().expect("three steps");
    let t = Instant::now();
    let stripped = temp_in(&dir)?;
    last.layout
        .copy_file(&in_file, stripped.as_file())
        .map_err(io_err("cannot write the stripped file"))?;
    let write_time = t.elapsed();
    let stripped = stripped.into_temp_path();
    copy_attrs(&stripped, &meta)?;

    for (k, s) in steps.iter().enumerate() {
        let dur = if k + 1 == steps.len() {
            s.duration + write_time
        } else {
            s.duration
        };
        let prev_len = if k == 0 {
            0
        } else {
            steps[k - 1].layout.removed.len()
        };
        let removed = s.layout.removed[prev_len.min(s.layout.removed.len())..].to_vec();
        let mut e = Entry::changed(s.kind, s.layout.size(), step_gz[k], dur);
        e.removed = removed;
        e.changed = changed[k];
        let step = ledger.push(e);
        if text {
            emit(&render::step_line(step, style, file_len));
        }
    }

    // upx.
    let mut status = Status::Ok;
    let mut upx_report = None;
    let mut packed: Option<(tempfile::TempDir, PathBuf)> = None;
    if let Some(upx_path) = &plan.upx {
        if !analysis.linkage.is_self_contained() {
            warnings.push(format!(
                "{} is {}: packed, it will look statically linked to every tool, but still needs {}",
                input_name,
                analysis.linkage.as_str(),
                analysis.interpreter.as_deref().unwrap_or("its dynamic loader")
            ));
        }
        let tdir = tempfile::Builder::new()
            .prefix(&binslim::tempfiles::prefix())
            .tempdir_in(&dir)
            .map_err(io_err(format!(
                "cannot create a temporary directory in '{}'",
                dir.display()
            )))?;
        let out = tdir.path().join("packed");
        let t = Instant::now();
        let outcome = with_spinner("upx", || {
            upx::pack(upx_path, &stripped, &out, &plan.upx_args)
        })?;
        let mut report = UpxReport {
            path: upx_path.display().to_string(),
            args: plan.upx_args.clone(),
            outcome: "packed",
            message: None,
            tested: None,
        };
        let outcome = match outcome {
            Outcome::Packed => match upx::test(upx_path, &out)? {
                Ok(()) => {
                    report.tested = Some(true);
                    Outcome::Packed
                }
                Err(m) => {
                    report.tested = Some(false);
                    Outcome::Failed {
                        status: None,
                        message: format!("upx -t failed on the packed file: {m}"),
                    }
                }
            },
            o => o,
        };
        let dur = t.elapsed();
        match outcome {
            Outcome::Packed => {
                let size = fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
                let gz = if args.no_gzip {
                    None
                } else {
                    File::open(&out)
                        .ok()
                        .and_then(|f| shrink::gzip_size(&f, size, None).ok())
                };
                copy_attrs(&out, &meta)?;
                let step = ledger.push(Entry::changed(StepKind::Upx, size, gz, dur));
                if text {
                    emit(&render::step_line(step, style, file_len));
                }
                packed = Some((tdir, out));
            }
            Outcome::Declined { class, message } => {
                let why = if message.is_empty() {
                    class
                } else {
                    format!("{class}: {message}")
                };
                report.outcome = "declined";
                report.message = Some(why.clone());
                warnings.push(format!(
                    "upx did not pack it ({why}); the stripped file is kept"
                ));
                let step = ledger.push(Entry::unchanged(
                    StepKind::Upx,
                    dur,
                    Some(format!("{why} (kept the stripped file)")),
                ));
                if text {
                    emit(&render::step_line(step, style, file_len));
                }
            }
            Outcome::Failed {
                status: st,
                message,
            } => {
                report.outcome = "failed";
                report.message = Some(message.clone());
                let code = st.map_or("a signal".to_string(), |c| format!("status {c}"));
                eprintln!(
                    "binslim: {input_name}: upx failed ({code}): {message}; the stripped file is written"
                );
                status = Status::Fail;
                let step = ledger.push(Entry::unchanged(
                    StepKind::Upx,
                    dur,
                    Some(format!("failed: {message}")),
                ));
                if text {
                    emit(&render::step_line(step, style, file_len));
                }
            }
        }
        upx_report = Some(report);
    }

    // --smoke: compare the original with the candidate before anything is replaced.
    let mut comparison = None;
    let mut write = true;
    if let Some(sargs) = &plan.smoke_args {
        let timeout = Duration::from_secs(args.smoke_timeout.max(1));
        let original = absolute(file);
        let candidate = packed
            .as_ref()
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| stripped.to_path_buf());
        let c = smoke::compare(&original, &candidate, sargs, 5, timeout)?;
        if !c.same {
            status = Status::Fail;
            if packed.is_some() {
                let c2 = smoke::compare(&original, &stripped, sargs, 1, timeout)?;
                packed = None;
                if c2.same {
                    warnings.push(
                        "smoke run of the packed file differs from the original: the unpacked, \
                         stripped file is written instead"
                            .into(),
                    );
                } else {
                    write = false;
                    warnings.push(
                        "smoke runs of the packed and of the stripped file differ from the \
                         original: nothing is written"
                            .into(),
                    );
                }
            } else {
                write = false;
                warnings.push(
                    "smoke run of the stripped file differs from the original: nothing is written"
                        .into(),
                );
            }
        }
        comparison = Some(c);
    }

    // Replace the destination.
    let nothing_changed = !ledger.steps.iter().any(|s| s.changed);
    if write && !(in_place && nothing_changed) {
        let from: &Path = match &packed {
            Some((_, p)) => p,
            None => &stripped,
        };
        fs::rename(from, &dest).map_err(io_err(format!("cannot replace '{}'", dest.display())))?;
    }
    if !write && packed.is_none() {
        // The ledger's upx entry stays, but the result is the original.
    }
    drop(packed);
    drop(stripped);

    if text {
        emit(&render::summary(&ledger, style));
        if let Some(c) = &comparison {
            emit(&render::smoke(c, style));
        }
    }
    for w in &warnings {
        eprintln!("binslim: {input_name}: warning: {w}");
    }
    let o = ledger.original();
    let r = ledger.result();
    let report = ShrinkReport {
        input: input_name,
        output: output_name,
        written: write,
        original_size: o.size,
        size: r.size,
        original_gzip_size: o.gzip_size,
        gzip_size: r.gzip_size,
        factor: (shrink::factor(o.size, r.size) * 1000.0).round() / 1000.0,
        debug_file: args.keep_debug.as_ref().map(|p| p.display().to_string()),
        upx: upx_report,
        smoke: comparison,
        warnings,
        steps: ledger.steps.clone(),
    };
    Ok((report, status))
}

/// A writer that computes the CRC-32 of what passes through it.
struct CrcWriter<W: Write> {
    inner: W,
    crc: flate2::Crc,
}

impl<W: Write> Write for CrcWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
