//! The shrink pipeline and its size ledger: `original` → `strip-debug` → `strip-symbols` →
//! `strip-other` → `upx`, with each step's size on disk and as a gzip-compressed registry layer.
//!
//! The strip steps are cumulative [`strip::plan`]s over the same input, so no intermediate file
//! is written: each step is a [`Layout`] whose size is known from its headers and whose gzip
//! size is measured with the input's and the other steps' in one pass of [`wire::gzip_sizes`]
//! (gzip -6's algorithm, parallel chunks, shared chunks measured once). Only the final layout is
//! written. The upx step (see [`crate::upx`]) appends its own entry.
//!
//! [`shrink_to`] and [`shrink_in_place`] run the whole pipeline (debug file, strip steps, gzip
//! ledger, upx, smoke run, atomic replacement) and report each step as an [`Event`], so the
//! text and JSON renderers and `image --shrink` consume the same thing; the library never
//! prints. The run ends with a [`Report`] (with its [`UpxReport`]): data that lives here with
//! the pipeline that makes it, rendered by `crate::report::shrink` and the JSON writer.

mod attrs;
mod pipeline;
mod report;
pub mod wire;

pub use pipeline::{
    Event, PipelineOptions, SmokeStep, UpxStep, WriteMethod, check_debug_file, shrink_in_place,
    shrink_to,
};
pub use report::{Report, UpxReport};

use std::io;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::elf::ElfFile;
use crate::error::Result;
use crate::strip::{self, DebugLink, Layout, RemovedSection, Source, StripOptions};

/// One step of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepKind {
    /// The input as given.
    Original,
    /// Debug sections removed.
    StripDebug,
    /// The static symbol table removed too.
    StripSymbols,
    /// Other non-loaded sections removed too.
    StripOther,
    /// Packed with upx.
    Upx,
}

impl StepKind {
    /// The step's name in text and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Original => "original",
            StepKind::StripDebug => "strip-debug",
            StepKind::StripSymbols => "strip-symbols",
            StepKind::StripOther => "strip-other",
            StepKind::Upx => "upx",
        }
    }
}

/// What to do beyond the defaults.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ShrinkOptions {
    /// Remove `.gnu_debuglink` in the strip-other step.
    pub remove_debuglink: bool,
    /// Add a `.gnu_debuglink` pointing at a separate debug file (see `--keep-debug`).
    pub add_debuglink: Option<DebugLink>,
}

/// A planned strip step.
#[derive(Debug, Clone)]
pub struct PlannedStep {
    /// Which step.
    pub kind: StepKind,
    /// The file after this step.
    pub layout: Layout,
    /// The time planning took.
    pub duration: Duration,
}

/// Plans the three strip steps over a parsed file, each one cumulative: all three from one
/// parse.
pub fn plan_strip_steps(elf: &ElfFile<'_>, opts: &ShrinkOptions) -> Result<Vec<PlannedStep>> {
    let mut steps = Vec::with_capacity(3);
    for (kind, symbols, other) in [
        (StepKind::StripDebug, false, false),
        (StepKind::StripSymbols, true, false),
        (StepKind::StripOther, true, true),
    ] {
        let t = Instant::now();
        let o = StripOptions {
            debug: true,
            symbols,
            other,
            remove_debuglink: opts.remove_debuglink,
            add_debuglink: opts.add_debuglink.clone(),
        };
        let layout = strip::plan_parsed(elf, &o)?;
        steps.push(PlannedStep {
            kind,
            layout,
            duration: t.elapsed(),
        });
    }
    Ok(steps)
}

/// One line of the ledger.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// The step's name: `original`, `strip-debug`, `strip-symbols`, `strip-other`, `upx`.
    pub step: StepKind,
    /// The file size after the step, in bytes.
    pub size: u64,
    /// The size of the file after the step when gzip-compressed at level 6 (what a registry
    /// layer holding it costs); `null` with `--no-gzip`.
    pub gzip_size: Option<u64>,
    /// The size of the file after the step when zstd-compressed at level 3 (`zstd -3 -c FILE`);
    /// only with `--wire zstd|both`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zstd_size: Option<u64>,
    /// Bytes this step saved compared with the step before (negative when it grew).
    pub saved: i64,
    /// Bytes saved compared with the original.
    pub total_saved: i64,
    /// False when the step left the file as it was.
    pub changed: bool,
    /// Wall time the step took, in milliseconds (gzip measurement not included).
    pub duration_ms: f64,
    /// The sections the step removed (strip steps only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<RemovedSection>,
    /// Why a step did nothing or what went wrong: `upx`, and the strip steps of a file that
    /// stripping would make bigger (`already minimal: ...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The size ledger of one file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Ledger {
    /// Steps in order, starting with `original`.
    pub steps: Vec<Step>,
}

impl Ledger {
    /// Starts a ledger with the original file.
    pub fn new(size: u64, gzip_size: Option<u64>) -> Self {
        Ledger {
            steps: vec![Step {
                step: StepKind::Original,
                size,
                gzip_size,
                zstd_size: None,
                saved: 0,
                total_saved: 0,
                changed: false,
                duration_ms: 0.0,
                removed: Vec::new(),
                note: None,
            }],
        }
    }

    /// The original file's step.
    pub fn original(&self) -> &Step {
        &self.steps[0]
    }

    /// The last step that changed the file (the result), or the original.
    pub fn result(&self) -> &Step {
        self.steps
            .iter()
            .rev()
            .find(|s| s.changed)
            .unwrap_or(&self.steps[0])
    }

    /// Appends a step. An unchanged step takes the size of the result before it.
    pub fn push(&mut self, e: Entry) -> &Step {
        let Entry {
            step,
            size,
            gzip_size,
            zstd_size,
            duration,
            removed,
            changed,
            note,
        } = e;
        let prev = self.result().size;
        let (size, gzip_size, zstd_size) = if changed {
            (size, gzip_size, zstd_size)
        } else {
            let r = self.result();
            (prev, r.gzip_size, r.zstd_size)
        };
        let original = self.original().size;
        self.steps.push(Step {
            step,
            size,
            gzip_size,
            zstd_size,
            saved: prev as i64 - size as i64,
            total_saved: original as i64 - size as i64,
            changed,
            duration_ms: (duration.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
            removed,
            note,
        });
        self.steps.last().expect("just pushed")
    }
}

/// A step to append to a [`Ledger`].
#[derive(Debug, Clone)]
pub struct Entry {
    /// Which step.
    pub step: StepKind,
    /// The file size after it (ignored when unchanged).
    pub size: u64,
    /// Its gzip size (ignored when unchanged).
    pub gzip_size: Option<u64>,
    /// Its zstd size (ignored when unchanged).
    pub zstd_size: Option<u64>,
    /// How long it took.
    pub duration: Duration,
    /// Sections it removed.
    pub removed: Vec<RemovedSection>,
    /// It changed the file.
    pub changed: bool,
    /// Why it did nothing, or what went wrong.
    pub note: Option<String>,
}

impl Entry {
    /// A step that changed the file to `size` bytes.
    pub fn changed(step: StepKind, size: u64, gzip_size: Option<u64>, duration: Duration) -> Self {
        Entry {
            step,
            size,
            gzip_size,
            zstd_size: None,
            duration,
            removed: Vec::new(),
            changed: true,
            note: None,
        }
    }

    /// The step's zstd size (`--wire zstd|both`).
    pub fn with_zstd(mut self, zstd_size: Option<u64>) -> Self {
        self.zstd_size = zstd_size;
        self
    }

    /// A step that left the file as it was, with an optional reason.
    pub fn unchanged(step: StepKind, duration: Duration, note: Option<String>) -> Self {
        Entry {
            step,
            size: 0,
            gzip_size: None,
            zstd_size: None,
            duration,
            removed: Vec::new(),
            changed: false,
            note,
        }
    }
}

/// The gzip (deflate level 6) size of `layout`'s output, read from `src`, or of the whole of
/// `src` (`len` bytes) when `layout` is `None`: what `gzip -6 -c < FILE | wc -c` prints, within
/// 0.5 % (see [`wire`]). To measure several outputs of one input, [`wire::gzip_sizes`] measures
/// the bytes they share once.
pub fn gzip_size<S: Source + Sync + ?Sized>(
    src: &S,
    len: u64,
    layout: Option<&Layout>,
) -> io::Result<u64> {
    Ok(wire::gzip_sizes(&[stream_of(src, len, layout)])?[0])
}

/// The zstd level-3 size of `layout`'s output (or of the whole of `src`): what
/// `zstd -3 -c FILE | wc -c` prints (see [`wire::zstd_sizes`]).
pub fn zstd_size<S: Source + Sync + ?Sized>(
    src: &S,
    len: u64,
    layout: Option<&Layout>,
) -> io::Result<u64> {
    Ok(wire::zstd_sizes(&[stream_of(src, len, layout)])?[0])
}

/// The bytes one wire size is measured of: `layout`'s output read from `src`, or all of `src`.
fn stream_of<'a, S: Source + Sync + ?Sized>(
    src: &'a S,
    len: u64,
    layout: Option<&'a Layout>,
) -> wire::Stream<'a, S> {
    match layout {
        Some(l) => wire::Stream::layout(src, l),
        None => wire::Stream::whole(src, len),
    }
}

/// The result's size as a factor of the original: `3.6` means 3.6× smaller.
pub fn factor(original: u64, result: u64) -> f64 {
    if result == 0 {
        return 0.0;
    }
    original as f64 / result as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_of_zeros_is_what_gzip_gives() {
        // `head -c 100000 /dev/zero | gzip -6 | wc -c` prints 132.
        let data = vec![0u8; 100_000];
        assert_eq!(gzip_size(&data[..], data.len() as u64, None).unwrap(), 132);
    }

    #[test]
    fn ledger_marks_unchanged_steps() {
        let mut l = Ledger::new(1000, Some(500));
        l.push(Entry::changed(
            StepKind::StripDebug,
            600,
            Some(300),
            Duration::ZERO,
        ));
        let s = l.push(Entry::unchanged(StepKind::StripOther, Duration::ZERO, None));
        assert_eq!(
            (s.size, s.gzip_size, s.saved, s.total_saved),
            (600, Some(300), 0, 400)
        );
        assert_eq!(l.result().step, StepKind::StripDebug);
        assert!((factor(1000, 600) - 1.6667).abs() < 1e-3);
    }
}
