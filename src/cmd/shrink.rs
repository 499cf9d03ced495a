//! `binslim shrink`: checks the command line, runs the library's shrink pipeline on each file
//! and renders its events as the text ledger (or collects the reports as JSON).
//!
//! The pipeline itself (debug file, strip steps, gzip ledger, upx, smoke run, temporary files,
//! atomic replacement) lives in [`binslim::shrink`]; this module only prints, and drives the
//! upx spinner from the pipeline's events.

use std::fs;
use std::io::{self, IsTerminal};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use binslim::report::shrink as render;
use binslim::report::{Style, json};
use binslim::shrink::{self, Event, Ledger, PipelineOptions, Report, SmokeStep, StepKind, UpxStep};
use binslim::upx;

use super::{Status, emit};
use crate::cli::{ShrinkArgs, Wire};

/// Runs `shrink`.
pub fn run(args: &ShrinkArgs, style: Style) -> Status {
    let opts = match validate(args) {
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
        match shrink_file(
            file,
            args.output.as_deref(),
            None,
            None,
            args.json,
            &opts,
            style,
        ) {
            Ok(report) => {
                status = status.max(status_of(&report));
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

/// 1 when upx failed or a smoke run differed (the contract in `--help`), else 0.
fn status_of(r: &Report) -> Status {
    let upx_failed = r.upx.as_ref().is_some_and(|u| u.failed());
    let smoke_differs = r.smoke.as_ref().is_some_and(|c| !c.same);
    if upx_failed || smoke_differs {
        Status::Fail
    } else {
        Status::Ok
    }
}

fn validate(args: &ShrinkArgs) -> Result<PipelineOptions, String> {
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
        && !binslim::tempfiles::Output::of(out).is_stream()
    {
        return Err(format!(
            "{}: already exists; binslim does not replace an existing -o file unless --force is given",
            out.display()
        ));
    }
    if let Some(dbg) = &args.keep_debug {
        shrink::check_debug_file(dbg, args.force).map_err(|e| e.to_string())?;
    }
    let want_upx = args.upx || args.upx_path.is_some() || args.upx_args.is_some();
    let mut opts = PipelineOptions::default();
    if want_upx {
        let path = upx::find(args.upx_path.as_deref()).map_err(|e| e.to_string())?;
        let args = match &args.upx_args {
            Some(s) => upx::split_args(s).map_err(|e| format!("--upx-args: {e}"))?,
            None => Vec::new(),
        };
        opts.upx = Some(UpxStep { path, args });
    }
    if let Some(s) = &args.smoke {
        opts.smoke = Some(SmokeStep {
            args: upx::split_args(s).map_err(|e| format!("--smoke: {e}"))?,
            timeout: Duration::from_secs(args.smoke_timeout.max(1)),
            runs: 5,
        });
    }
    opts.remove_debuglink = args.remove_debuglink;
    opts.keep_debug = args.keep_debug.clone();
    opts.replace_debug_file = args.force;
    opts.no_gzip = args.no_gzip || args.wire == Wire::Zstd;
    opts.zstd = matches!(args.wire, Wire::Zstd | Wire::Both);
    Ok(opts)
}

/// Elapsed time on stderr while upx runs, when stderr is a terminal.
struct Spinner {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<()>,
}

impl Spinner {
    fn start(label: &str) -> Option<Spinner> {
        if !io::stderr().is_terminal() {
            return None;
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
        Some(Spinner { stop, handle })
    }

    fn finish(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.handle.join();
    }
}

/// Renders one file's events as text (nothing in JSON mode but the spinner and upx failures).
struct Renderer<'a> {
    text: bool,
    style: Style,
    input_name: &'a str,
    /// Shown instead of the input path in the header.
    input_label: Option<&'a str>,
    /// Shown instead of the output path in the header.
    output_label: Option<&'a str>,
    /// The wire-size columns (`--wire`).
    columns: render::Columns,
    original: u64,
    spinner: Option<Spinner>,
}

impl Renderer<'_> {
    fn on(&mut self, e: &Event<'_>) {
        match e {
            Event::Planned { input, output, .. } if self.text => {
                let output = self.output_label.unwrap_or(output);
                let input = self.input_label.unwrap_or(input);
                emit(&render::header(input, output, self.columns, self.style));
            }
            Event::Step(step) => {
                if step.step == StepKind::Original {
                    self.original = step.size;
                }
                if self.text {
                    emit(&render::step_line(
                        step,
                        self.columns,
                        self.style,
                        self.original,
                    ));
                }
            }
            Event::UpxStarted { .. } => self.spinner = Spinner::start("upx"),
            Event::UpxFailed { status, message } => {
                if let Some(s) = self.spinner.take() {
                    s.finish();
                }
                let code = status.map_or("a signal".to_string(), |c| format!("status {c}"));
                eprintln!(
                    "binslim: {}: upx failed ({code}): {message}; the stripped file is written",
                    self.input_name
                );
            }
            Event::UpxFinished(_) => {
                if let Some(s) = self.spinner.take() {
                    s.finish();
                }
            }
            _ => {}
        }
    }
}

/// Shrinks `file` into `output` (in place without it), printing the ledger as text unless
/// `json`, with `label` as the output's name in its header when given, and `input_label` as
/// the input's (in the header and in warnings); `binslim image --shrink` uses them for the
/// copy that goes into the image (and `--from` for the program's path in the source).
pub(crate) fn shrink_file(
    file: &Path,
    output: Option<&Path>,
    label: Option<&str>,
    input_label: Option<&str>,
    json: bool,
    opts: &PipelineOptions,
    style: Style,
) -> Result<Report, binslim::Error> {
    let input_name = input_label.map_or_else(|| file.display().to_string(), str::to_string);
    let mut r = Renderer {
        text: !json,
        style,
        input_name: &input_name,
        input_label,
        output_label: label,
        columns: render::Columns {
            gzip: !(opts.zstd && opts.no_gzip),
            zstd: opts.zstd,
        },
        original: 0,
        spinner: None,
    };
    let mut on_event = |e: &Event<'_>| r.on(e);
    let result = match output {
        Some(out) => shrink::shrink_to(file, out, opts, &mut on_event),
        None => shrink::shrink_in_place(file, opts, &mut on_event),
    };
    if let Some(s) = r.spinner.take() {
        s.finish();
    }
    let report = result?;
    if !json {
        let ledger = Ledger {
            steps: report.steps.clone(),
        };
        emit(&render::summary(&ledger, style));
        if let Some(c) = &report.smoke {
            emit(&render::smoke(c, style));
        }
    }
    for w in &report.warnings {
        eprintln!("binslim: {input_name}: warning: {w}");
    }
    Ok(report)
}
