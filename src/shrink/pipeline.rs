//! The whole `shrink` run over one file, in named phases, reporting each step as an [`Event`].
//!
//! The input is opened and mapped once ([`Input`]) and parsed once: the debug file's layout
//! and the three strip steps are planned from that one parse of the map. Their bytes are read
//! through the same open file (the stripped file by `copy_file_range`, the debug file and the
//! gzip measurements by `pread` in 1 MiB pieces), so binslim's memory does not grow with the
//! file and the kernel copies what it can. Every output goes to a locked temporary file (or
//! directory, for upx, which refuses to overwrite) beside its destination and is put in place
//! only when it is complete and has passed every check (see [`super::attrs`] for how), so the
//! destination is never half-written; temporaries are removed on every way out.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::attrs::{self, Attrs};
use super::report::{Report, UpxReport};
use super::{Entry, Ledger, PlannedStep, ShrinkOptions, Step, StepKind};
use crate::elf::{self, ElfFile};
use crate::error::{Error, Result};
use crate::input::Input;
use crate::smoke::{self, Comparison};
use crate::strip::{self, DebugLink};
use crate::tempfiles::{TempDir, TempFile, dir_of};
use crate::upx::{self, Outcome, Tested};

pub use super::attrs::WriteMethod;

/// The upx step: which upx, with which extra arguments.
#[derive(Debug, Clone)]
pub struct UpxStep {
    /// The upx executable (see [`upx::find`]).
    pub path: PathBuf,
    /// Extra arguments, e.g. `["--best", "--lzma"]`.
    pub args: Vec<String>,
}

/// The smoke comparison: start the original and the result with `args` and compare.
#[derive(Debug, Clone)]
pub struct SmokeStep {
    /// The arguments both programs get.
    pub args: Vec<String>,
    /// How long each run may take.
    pub timeout: Duration,
    /// How many runs of the result give its median start-up time (the stripped fallback after
    /// a packed mismatch is run once).
    pub runs: usize,
}

/// What the pipeline does beyond strip-all.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct PipelineOptions {
    /// Remove an existing `.gnu_debuglink` (`--remove-debuglink`).
    pub remove_debuglink: bool,
    /// Write the removed debug data to this file and link it from the result (`--keep-debug`).
    pub keep_debug: Option<PathBuf>,
    /// Replace an existing `keep_debug` file (`--force`); without it an existing file is an
    /// error before anything is written.
    pub replace_debug_file: bool,
    /// Skip the gzip (wire size) measurement (`--no-gzip`, `--wire zstd`).
    pub no_gzip: bool,
    /// Measure the zstd level-3 wire size too (`--wire zstd|both`).
    pub zstd: bool,
    /// Pack the stripped result with upx.
    pub upx: Option<UpxStep>,
    /// Compare the original and the result by running both.
    pub smoke: Option<SmokeStep>,
}

/// One thing the pipeline did, in order. Renderers print from these; the same run's
/// [`Report`] holds everything again at the end.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// The input was parsed and the strip steps planned; gzip sizes are measured next.
    Planned {
        /// The input as named.
        input: &'a str,
        /// Where the result goes, as named (the input itself in place).
        output: &'a str,
        /// The planned strip steps.
        steps: &'a [PlannedStep],
    },
    /// The separate debug file (`keep_debug`) was written.
    DebugFileWritten {
        /// Where.
        path: &'a Path,
        /// The CRC-32 `.gnu_debuglink` records.
        crc: u32,
    },
    /// A ledger line is final: `original`, each strip step, then `upx`.
    Step(&'a Step),
    /// upx started on the stripped file (it takes seconds on large files).
    UpxStarted {
        /// The upx executable.
        upx: &'a Path,
    },
    /// upx failed (or `upx -t` failed on what it packed): the stripped file is the result.
    /// Followed by [`Event::UpxFinished`].
    UpxFailed {
        /// upx's exit status (`None` when a signal ended it, or for a failed `upx -t`).
        status: Option<i32>,
        /// What went wrong.
        message: &'a str,
    },
    /// upx finished; its ledger line follows as a [`Event::Step`].
    UpxFinished(&'a UpxReport),
    /// The smoke comparison (of the packed file, or of the stripped one).
    Smoke(&'a Comparison),
    /// Something the user should know; also in the report's `warnings`.
    Warning(&'a str),
    /// The result was put at its destination.
    Written {
        /// The destination (symlinks resolved when in place).
        path: &'a Path,
        /// Renamed (atomic) or copied into an inode with other hard links.
        method: WriteMethod,
    },
}

/// Shrinks `input` into `output`, leaving `input` untouched. `output` is replaced atomically
/// (temporary file beside it, fsync, rename) when it exists: refusing an existing file is the
/// caller's choice (`--force`). The result gets the input's owner (where permitted), mode and
/// extended attributes. `output` is not written when a smoke run of the result differs
/// (`written: false` in the report).
pub fn shrink_to(
    input: &Path,
    output: &Path,
    opts: &PipelineOptions,
    on_event: &mut dyn FnMut(&Event<'_>),
) -> Result<Report> {
    // A link to a file: the file it names (the link stays); a device or FIFO: written into.
    let dest = crate::tempfiles::Output::of(&absolute(output))
        .path()
        .to_path_buf();
    run(input, Dest::To(&dest, output), opts, on_event)
}

/// Shrinks `path` in place (through symlinks, to the file they name), keeping its owner,
/// mode, extended attributes (`security.capability` included) and hard links. With one link
/// the result is renamed over the file atomically; with several it is copied into the same
/// inode so every name sees it (see [`WriteMethod::Overwritten`]). Nothing is written when no
/// step changed the file or a smoke run differs.
pub fn shrink_in_place(
    path: &Path,
    opts: &PipelineOptions,
    on_event: &mut dyn FnMut(&Event<'_>),
) -> Result<Report> {
    run(path, Dest::InPlace, opts, on_event)
}

enum Dest<'p> {
    InPlace,
    /// The absolute destination and the name as given.
    To(&'p Path, &'p Path),
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

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
    let context = context.into();
    move |e| Error::Io { context, source: e }
}

/// Fails with [`Error::DebugFileExists`] when `path` exists (as any kind of file, a dangling
/// symlink too) and `replace` is false: the check of [`PipelineOptions::keep_debug`] that a run
/// makes before it writes anything, for callers that want it earlier still (before looking for
/// upx, or before the first of several files).
pub fn check_debug_file(path: &Path, replace: bool) -> Result<()> {
    if !replace && std::fs::symlink_metadata(path).is_ok() {
        return Err(Error::DebugFileExists {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// Everything a run carries from phase to phase.
struct Run<'a, 'e> {
    input: &'a Input,
    elf: ElfFile<'a>,
    opts: &'a PipelineOptions,
    /// The input as named, for the smoke run of the original.
    input_path: &'a Path,
    input_name: String,
    output_name: String,
    /// Where the result goes (absolute; symlinks resolved in place).
    dest: PathBuf,
    dir: PathBuf,
    in_place: bool,
    attrs: Attrs,
    ledger: Ledger,
    warnings: Vec<String>,
    on_event: &'e mut dyn FnMut(&Event<'_>),
}

fn run(
    path: &Path,
    dest: Dest<'_>,
    opts: &PipelineOptions,
    on_event: &mut dyn FnMut(&Event<'_>),
) -> Result<Report> {
    // One open, one map, one parse.
    let input = Input::open(path)?;
    let elf = ElfFile::parse(input.bytes())?;
    strip::check_strippable(&elf)?;
    if let Some(dbg) = &opts.keep_debug {
        check_debug_file(dbg, opts.replace_debug_file)?;
    }
    let input_name = path.display().to_string();
    let (dest, output_name, in_place) = match dest {
        Dest::InPlace => (
            std::fs::canonicalize(path).map_err(|e| Error::from_io(e, "cannot resolve"))?,
            input_name.clone(),
            true,
        ),
        Dest::To(abs, named) => (abs.to_path_buf(), named.display().to_string(), false),
    };
    let attrs = Attrs::read(input.file(), input.metadata())
        .map_err(io_err("cannot read the file's attributes"))?;
    let mut r = Run {
        input: &input,
        elf,
        opts,
        input_path: path,
        input_name,
        output_name,
        // A stream's directory (/dev) is no place for temporary files: they go to $TMPDIR.
        dir: if crate::tempfiles::Output::of(&dest).is_stream() {
            std::env::temp_dir()
        } else {
            dir_of(&dest)
        },
        dest,
        in_place,
        attrs,
        ledger: Ledger::default(),
        warnings: Vec::new(),
        on_event,
    };
    let debuglink = match &opts.keep_debug {
        Some(p) => Some(r.write_debug_file(p)?),
        None => None,
    };
    let plan = r.plan(debuglink)?;
    let stripped = r.write_stripped(&plan)?;
    let packed = match &opts.upx {
        Some(u) => r.pack(u, stripped.path())?,
        None => (None, None),
    };
    let (write, (packed, upx_report), smoke) = r.smoke(stripped.path(), packed)?;
    r.commit(write, &stripped, packed.as_ref().map(|(_, p)| p.as_path()))?;
    // The temporary file and directory go (the stripped one may already have been renamed).
    drop(packed);
    drop(stripped);
    Ok(r.report(write, upx_report, smoke))
}

/// The upx candidate: its temporary directory and path (when upx packed), and the upx report.
type Packed = (Option<(TempDir, PathBuf)>, Option<UpxReport>);

impl Run<'_, '_> {
    fn emit(&mut self, e: &Event<'_>) {
        (self.on_event)(e);
    }

    fn warn(&mut self, w: String) {
        (self.on_event)(&Event::Warning(&w));
        self.warnings.push(w);
    }

    /// Phase 1: the separate debug file, first, since the result links to it by CRC. Written
    /// atomically (temporary file, fsync, rename; no rename over an existing file unless
    /// `replace_debug_file`), mode 0644.
    fn write_debug_file(&mut self, dbg: &Path) -> Result<DebugLink> {
        let layout = strip::plan_debug_file_parsed(&self.elf)?;
        let dir = dir_of(&absolute(dbg));
        let tmp = TempFile::new_in(&dir).map_err(io_err(format!(
            "cannot create a temporary file in '{}'",
            dir.display()
        )))?;
        let mut crc = CrcWriter {
            inner: io::BufWriter::with_capacity(1 << 20, tmp.file()),
            crc: flate2::Crc::new(),
        };
        layout
            .write_from(self.input.file(), &mut crc)
            .map_err(io_err("cannot write the debug file"))?;
        let sum = crc.crc.sum();
        drop(crc);
        use std::os::unix::fs::PermissionsExt;
        tmp.file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(io_err("cannot write the debug file"))?;
        match tmp.commit(dbg, !self.opts.replace_debug_file) {
            Ok(()) => {}
            // Created meanwhile (the check in `run` saw nothing there).
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(Error::DebugFileExists {
                    path: dbg.to_path_buf(),
                });
            }
            Err(e) => return Err(io_err(format!("cannot write '{}'", dbg.display()))(e)),
        }
        let name = dbg
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.emit(&Event::DebugFileWritten {
            path: dbg,
            crc: sum,
        });
        Ok(DebugLink { name, crc: sum })
    }

    /// Phase 2: plan the three strip steps from the one parse; measure the original's and
    /// each changing step's gzip size in parallel, through the open file.
    fn plan(&mut self, debuglink: Option<DebugLink>) -> Result<Plan> {
        let so = ShrinkOptions {
            remove_debuglink: self.opts.remove_debuglink,
            add_debuglink: debuglink,
        };
        let steps = super::plan_strip_steps(&self.elf, &so)?;
        let (input_name, output_name) = (self.input_name.clone(), self.output_name.clone());
        self.emit(&Event::Planned {
            input: &input_name,
            output: &output_name,
            steps: &steps,
        });
        let file_len = self.input.bytes().len() as u64;
        // Gzip sizes read the input through the same open file in 1 MiB pieces (`pread`), not
        // through the map: touching every mapped page would count the whole file in binslim's
        // resident memory (47 MB instead of 10 MB on a 42 MB Go binary).
        let file = self.input.file();
        let mut changed = Vec::with_capacity(steps.len());
        let (mut prev_removed, mut prev_size) = (0, file_len);
        for s in &steps {
            changed.push(
                s.layout.removed.len() != prev_removed
                    || s.layout.size() != prev_size
                    || (s.kind == StepKind::StripDebug && so.add_debuglink.is_some()),
            );
            prev_removed = s.layout.removed.len();
            prev_size = s.layout.size();
        }
        let already_minimal = self.never_grow(&steps, &mut changed);
        // One pass over the original and the changed steps: for gzip, the bytes they share (the
        // loaded prefix) are compressed once, the rest in parallel chunks.
        let mut streams = vec![super::wire::Stream::whole(file, file_len)];
        streams.extend(
            steps
                .iter()
                .zip(&changed)
                .filter(|(_, c)| **c)
                .map(|(s, _)| super::wire::Stream::layout(file, &s.layout)),
        );
        let (orig_gz, gzip) = per_step(
            (!self.opts.no_gzip).then(|| super::wire::gzip_sizes(&streams)),
            &changed,
        );
        let (orig_zstd, zstd) = per_step(
            self.opts.zstd.then(|| super::wire::zstd_sizes(&streams)),
            &changed,
        );
        self.ledger = Ledger::new(file_len, orig_gz);
        self.ledger.steps[0].zstd_size = orig_zstd;
        let original = self.ledger.original().clone();
        self.emit(&Event::Step(&original));
        Ok(Plan {
            steps,
            changed,
            gzip,
            zstd,
            already_minimal,
        })
    }

    /// The never-bigger rule: when the strip plan would make the file bigger (an
    /// already-stripped Go binary whose section header table sits in the first page: rewritten,
    /// the table moves to the end; GNU strip grows it too), no step changes it. Returns the note
    /// every strip step then carries.
    fn never_grow(&self, steps: &[PlannedStep], changed: &mut [bool]) -> Option<String> {
        let original = self.input.bytes().len() as u64;
        let result = steps.last()?.layout.size();
        // --keep-debug asks for a .gnu_debuglink to be added: that growth is wanted.
        if result <= original || self.opts.keep_debug.is_some() {
            return None;
        }
        changed.iter_mut().for_each(|c| *c = false);
        let h = &self.elf.header;
        let first_section = self
            .elf
            .shdrs
            .iter()
            .filter(|s| elf::file::has_file_bytes(s) && s.sh_offset > 0)
            .map(|s| s.sh_offset)
            .min();
        let why = if first_section.is_some_and(|f| h.e_shoff < f) {
            " (its section header table sits at the start of the file)"
        } else {
            ""
        };
        Some(format!(
            "already minimal: rewriting it would add {} B{why}, so it is left as it is",
            result - original
        ))
    }

    /// Phase 3: write the final strip layout to a locked temporary file beside the
    /// destination, copied from the input's open handle (`copy_file_range`), with the input's
    /// owner, mode and extended attributes; then the strip steps' ledger lines.
    fn write_stripped(&mut self, plan: &Plan) -> Result<TempFile> {
        let steps = &plan.steps;
        let last = steps.last().expect("three steps");
        let t = Instant::now();
        let mut tmp = TempFile::new_in(&self.dir).map_err(io_err(format!(
            "cannot create a temporary file in '{}'",
            self.dir.display()
        )))?;
        if plan.already_minimal.is_some() {
            copy_whole(self.input.file(), tmp.file())
        } else {
            last.layout.copy_file(self.input.file(), tmp.file())
        }
        .map_err(io_err("cannot write the stripped file"))?;
        let write_time = t.elapsed();
        let w = self
            .attrs
            .apply(tmp.file())
            .map_err(io_err("cannot set the file's attributes"))?;
        for w in w {
            self.warn(w);
        }
        // Closed for writing (upx reads it, --smoke runs it), still locked.
        tmp.seal();
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
            let mut e =
                Entry::changed(s.kind, s.layout.size(), plan.gzip[k], dur).with_zstd(plan.zstd[k]);
            e.removed = removed;
            e.changed = plan.changed[k];
            if let Some(note) = &plan.already_minimal {
                // The reason once, on the first strip step; the others just say so.
                e.removed.clear();
                e.note = Some(if k == 0 {
                    note.clone()
                } else {
                    "already minimal".into()
                });
            }
            let step = self.ledger.push(e).clone();
            self.emit(&Event::Step(&step));
        }
        Ok(tmp)
    }

    /// Phase 4: pack the stripped file with upx into a locked temporary directory, test it
    /// with `upx -t`, and give it the input's attributes.
    fn pack(&mut self, u: &UpxStep, stripped: &Path) -> Result<Packed> {
        let analysis = elf::analyze_file(&self.elf);
        if !analysis.linkage.is_self_contained() {
            self.warn(format!(
                "{} is {}: packed, it will look statically linked to every tool, but still needs {}",
                self.input_name,
                analysis.linkage.as_str(),
                analysis.interpreter.as_deref().unwrap_or("its dynamic loader")
            ));
        }
        let tdir = TempDir::new_in(&self.dir).map_err(io_err(format!(
            "cannot create a temporary directory in '{}'",
            self.dir.display()
        )))?;
        let out = tdir.path().join("packed");
        let t = Instant::now();
        self.emit(&Event::UpxStarted { upx: &u.path });
        let outcome = upx::pack(&u.path, stripped, &out, &u.args)?;
        let mut tested = None;
        let outcome = match outcome {
            Outcome::Packed => match upx::test(&u.path, &out)? {
                Tested::Passed => {
                    tested = Some(true);
                    Outcome::Packed
                }
                Tested::Failed { message } => {
                    tested = Some(false);
                    Outcome::Failed {
                        status: None,
                        message: format!("upx -t failed on the packed file: {message}"),
                    }
                }
            },
            o => o,
        };
        let mut report = UpxReport {
            path: u.path.display().to_string(),
            args: u.args.clone(),
            outcome: outcome.kind(),
            message: None,
            tested,
        };
        let dur = t.elapsed();
        let mut packed = None;
        let entry = match outcome {
            Outcome::Packed => {
                let f = File::options()
                    .read(true)
                    .write(true)
                    .open(&out)
                    .map_err(io_err("cannot open the packed file"))?;
                let size = f.metadata().map(|m| m.len()).unwrap_or(0);
                let gz = if self.opts.no_gzip {
                    None
                } else {
                    super::gzip_size(&f, size, None).ok()
                };
                let w = self
                    .attrs
                    .apply(&f)
                    .map_err(io_err("cannot set the file's attributes"))?;
                for w in w {
                    self.warn(w);
                }
                let zs = if self.opts.zstd {
                    super::zstd_size(&f, size, None).ok()
                } else {
                    None
                };
                packed = Some((tdir, out));
                Entry::changed(StepKind::Upx, size, gz, dur).with_zstd(zs)
            }
            Outcome::Declined { class, message } => {
                let why = if message.is_empty() {
                    class
                } else {
                    format!("{class}: {message}")
                };
                report.message = Some(why.clone());
                self.warn(format!(
                    "upx did not pack it ({why}); the stripped file is kept"
                ));
                Entry::unchanged(
                    StepKind::Upx,
                    dur,
                    Some(format!("{why} (kept the stripped file)")),
                )
            }
            Outcome::Failed { status, message } => {
                self.emit(&Event::UpxFailed {
                    status,
                    message: &message,
                });
                report.message = Some(message.clone());
                Entry::unchanged(StepKind::Upx, dur, Some(format!("failed: {message}")))
            }
        };
        self.emit(&Event::UpxFinished(&report));
        let step = self.ledger.push(entry).clone();
        self.emit(&Event::Step(&step));
        Ok((packed, Some(report)))
    }

    /// Phase 5: `smoke`: compare the original with the candidate before anything is replaced.
    /// A packed candidate that differs falls back to the stripped file; a stripped one that
    /// differs means nothing is written. Returns whether to write.
    fn smoke(
        &mut self,
        stripped: &Path,
        packed: Packed,
    ) -> Result<(bool, Packed, Option<Comparison>)> {
        let Some(sm) = &self.opts.smoke else {
            return Ok((true, packed, None));
        };
        let (mut candidate, upx_report) = packed;
        let original = absolute(self.input_path);
        let first = candidate
            .as_ref()
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| stripped.to_path_buf());
        let c = smoke::compare(&original, &first, &sm.args, sm.runs, sm.timeout)?;
        let mut write = true;
        if !c.same {
            if candidate.is_some() {
                let c2 = smoke::compare(&original, stripped, &sm.args, 1, sm.timeout)?;
                candidate = None;
                if c2.same {
                    self.warn(
                        "smoke run of the packed file differs from the original: the unpacked, \
                         stripped file is written instead"
                            .into(),
                    );
                } else {
                    write = false;
                    self.warn(
                        "smoke runs of the packed and of the stripped file differ from the \
                         original: nothing is written"
                            .into(),
                    );
                }
            } else {
                write = false;
                self.warn(
                    "smoke run of the stripped file differs from the original: nothing is written"
                        .into(),
                );
            }
        }
        self.emit(&Event::Smoke(&c));
        Ok((write, (candidate, upx_report), Some(c)))
    }

    /// Phase 6: put the result in place (see [`attrs::replace`]). In place, nothing is written
    /// when no step changed the file.
    fn commit(&mut self, write: bool, stripped: &TempFile, packed: Option<&Path>) -> Result<()> {
        let nothing_changed = !self.ledger.steps.iter().any(|s| s.changed);
        if !write || (self.in_place && nothing_changed) {
            return Ok(());
        }
        let from = packed.unwrap_or(stripped.path());
        // With hard links the input's own inode is rewritten (and maybe shortened) below while
        // it is still mapped: nothing reads the map after this point.
        let m = self.input.metadata();
        let hard_links = (self.in_place && m.nlink() > 1).then(|| (m.dev(), m.ino()));
        let (method, warnings) = attrs::replace(from, &self.dest, hard_links, &self.attrs)
            .map_err(io_err(format!("cannot replace '{}'", self.dest.display())))?;
        for w in warnings {
            self.warn(w);
        }
        let dest = self.dest.clone();
        self.emit(&Event::Written {
            path: &dest,
            method,
        });
        Ok(())
    }

    fn report(self, written: bool, upx: Option<UpxReport>, smoke: Option<Comparison>) -> Report {
        let o = self.ledger.original();
        let r = self.ledger.result();
        Report {
            input: self.input_name.clone(),
            output: self.output_name.clone(),
            written,
            original_size: o.size,
            size: r.size,
            original_gzip_size: o.gzip_size,
            gzip_size: r.gzip_size,
            original_zstd_size: o.zstd_size,
            zstd_size: r.zstd_size,
            factor: (super::factor(o.size, r.size) * 1000.0).round() / 1000.0,
            debug_file: self
                .opts
                .keep_debug
                .as_ref()
                .map(|p| p.display().to_string()),
            upx,
            smoke,
            warnings: self.warnings,
            steps: self.ledger.steps.clone(),
        }
    }
}

/// The strip steps with what the ledger needs of each.
struct Plan {
    steps: Vec<PlannedStep>,
    /// Whether each step changed the file.
    changed: Vec<bool>,
    /// Each step's gzip size (`None` when unchanged or not measured).
    gzip: Vec<Option<u64>>,
    /// Each step's zstd size (`None` when unchanged or not measured).
    zstd: Vec<Option<u64>>,
    /// Set when stripping would make the file bigger: the note saying it is left as it is
    /// (see `Run::never_grow`).
    already_minimal: Option<String>,
}

/// Spreads the wire sizes of the original and the changed steps (in that order, as measured)
/// over the original and every step; `None` where not measured or the measurement failed.
fn per_step(
    sizes: Option<io::Result<Vec<u64>>>,
    changed: &[bool],
) -> (Option<u64>, Vec<Option<u64>>) {
    match sizes {
        Some(Ok(sizes)) => {
            let mut rest = sizes[1..].iter();
            let per = changed
                .iter()
                .map(|&c| if c { rest.next().copied() } else { None })
                .collect();
            (Some(sizes[0]), per)
        }
        _ => (None, vec![None; changed.len()]),
    }
}

/// Copies all of `input` to `out` (both positioned by this call), through `copy_file_range`
/// where the kernel can.
fn copy_whole(input: &File, out: &File) -> io::Result<()> {
    use std::io::{Seek, SeekFrom};
    let (mut src, mut dst) = (input, out);
    src.seek(SeekFrom::Start(0))?;
    dst.seek(SeekFrom::Start(0))?;
    let n = io::copy(&mut src, &mut dst)?;
    dst.set_len(n)?;
    dst.flush()
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

#[cfg(test)]
mod tests {
    use super::*;

    const EXISTS: &str = "already exists; binslim does not replace an existing --keep-debug \
                          file unless --force is given";

    #[test]
    fn an_existing_debug_file_is_refused_unless_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let dbg = dir.path().join("app.debug");
        assert!(check_debug_file(&dbg, false).is_ok());
        std::fs::write(&dbg, "keep me").unwrap();
        let e = check_debug_file(&dbg, false).unwrap_err();
        assert!(matches!(&e, Error::DebugFileExists { path } if *path == dbg));
        assert_eq!(e.to_string(), format!("'{}' {EXISTS}", dbg.display()));
        assert!(check_debug_file(&dbg, true).is_ok());
        // A dangling symlink is there too.
        let link = dir.path().join("link.debug");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &link).unwrap();
        assert!(check_debug_file(&link, false).is_err());
    }

    #[test]
    fn a_run_refuses_an_existing_debug_file_before_writing_anything() {
        let dir = tempfile::tempdir().unwrap();
        let dbg = dir.path().join("app.debug");
        std::fs::write(&dbg, "keep me").unwrap();
        let out = dir.path().join("app");
        let opts = PipelineOptions {
            keep_debug: Some(dbg.clone()),
            no_gzip: true,
            ..Default::default()
        };
        let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/c-debug");
        let mut events = 0;
        let e = shrink_to(&input, &out, &opts, &mut |_| events += 1).unwrap_err();
        assert_eq!(e.to_string(), format!("'{}' {EXISTS}", dbg.display()));
        assert_eq!(events, 0);
        assert!(!out.exists());
        assert_eq!(std::fs::read(&dbg).unwrap(), b"keep me");
    }
}
