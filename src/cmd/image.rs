//! `binslim image`: arguments to [`ImageOptions`], the library builds, `report::image` renders
//! the files, the layer sizes and the digest (or a refusal; `--json` prints the report itself),
//! and this maps the outcome to the exit code.

use std::path::{Path, PathBuf};

use binslim::image::layer::Compression;
use binslim::image::layout::OutputFormat;
use binslim::image::read::{ImageSource, Limits};
use binslim::registry::client::Options;
use binslim::registry::reference::Reference;
use binslim::registry::{PushReport, push, source};
use binslim::report::{self, Style, json};
use binslim::scratch::{self, BuildError, ImageOptions, ImageReport, Provide};
use binslim::shrink::{PipelineOptions, UpxStep};
use binslim::tempfiles::{PrivateDir, TempDir};
use binslim::upx;
use serde::Serialize;
use serde_json::Value;

use super::{Status, emit};
use crate::cli::{ImageArgs, ImageFormat, ImageSbom, LayerCompression};

/// The `--json` document.
#[derive(Serialize)]
struct JsonReport<'a> {
    image: &'a ImageReport,
    steps: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    push: Option<&'a PushReport>,
    /// With --from: "source", "left_out", "left_out_dirs".
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    from: Option<&'a binslim::slim::FromReport>,
}

/// Where the image is written: `-o OUT`, or (`--push` alone) an OCI layout in a private
/// temporary directory that lives until the push is over.
pub(super) struct Target {
    out: PathBuf,
    format: OutputFormat,
    _dir: Option<PrivateDir>,
}

impl Target {
    pub(super) fn of(args: &ImageArgs) -> Result<Target, Status> {
        let format = match args.format.unwrap_or(ImageFormat::Docker) {
            ImageFormat::Docker => OutputFormat::Docker,
            ImageFormat::Oci => OutputFormat::Oci,
            ImageFormat::OciDir => OutputFormat::OciDir,
        };
        if let Some(out) = &args.output {
            if args.push.is_some() && binslim::tempfiles::Output::of(out).is_stream() {
                // The push reads the image back from OUT, which a device or FIFO cannot give.
                eprintln!(
                    "binslim: --push reads the image back from -o {}, a device or FIFO: \
                     name a file, or drop -o",
                    out.display()
                );
                return Err(Status::Error);
            }
            return Ok(Target {
                out: out.clone(),
                format,
                _dir: None,
            });
        }
        let dir = PrivateDir::new("binslim-push-").map_err(|e| {
            eprintln!("binslim: cannot create a temporary directory: {e}");
            Status::Error
        })?;
        Ok(Target {
            out: dir.path().join("image"),
            format: OutputFormat::OciDir,
            _dir: Some(dir),
        })
    }
}

/// The `--push` reference, parsed first (a typo costs no build), and where the image is written.
pub(super) fn push_and_target(args: &ImageArgs) -> Result<(Option<Reference>, Target), Status> {
    let push_to = args
        .push
        .as_deref()
        .map(Reference::parse)
        .transpose()
        .map_err(|e| {
            eprintln!("binslim: --push: {e}");
            Status::Error
        })?;
    Ok((push_to, Target::of(args)?))
}

/// Runs `image`.
pub fn run(args: &ImageArgs, style: Style) -> Status {
    if args.from.is_some() {
        return super::image_from::run(args, style);
    }
    let (push_to, target) = match push_and_target(args) {
        Ok(t) => t,
        Err(status) => return status,
    };
    let opts = match options(args, &target, push_to.as_ref()) {
        Ok(o) => o,
        Err(status) => return status,
    };
    build(args, &opts, &target, push_to.as_ref(), style, |_| None, &[])
}

/// Builds (shrinking copies first with --shrink/--upx), pushes, and prints the report; `from`
/// gives the --from part of the report once the image is written.
pub(super) fn build(
    args: &ImageArgs,
    opts: &ImageOptions,
    target: &Target,
    push_to: Option<&Reference>,
    style: Style,
    from: impl FnOnce(&mut ImageReport) -> Option<binslim::slim::FromReport>,
    names: &[(String, String)],
) -> Status {
    // Options, analysis and the gate first: a refusal costs no shrinking.
    let mut shrink_status = Status::Ok;
    let result = scratch::prepare(opts).and_then(|prepared| {
        if !(args.shrink || args.upx) {
            return prepared.write(None).map(|r| Some((r, Vec::new())));
        }
        // --shrink / --upx: the image gets a shrunk copy of each program, in temporary
        // directories that live until the layers are written. A failed shrink has said why on
        // stderr.
        let several = args.programs.len() > 1;
        let mut dirs = Vec::new();
        let mut copies = Vec::new();
        let mut all_steps = Vec::new();
        for program in prepared.programs() {
            // With --from, the program by its path in the source, not its private copy.
            let shown = names
                .iter()
                .find(|(host, _)| Path::new(host) == program)
                .map(|(_, shown)| shown.as_str());
            match shrink_copy(args, &target.out, program, shown, style) {
                Ok((dir, copy, steps)) => {
                    dirs.push(dir);
                    copies.push(copy);
                    all_steps.extend(steps.into_iter().map(|mut s| {
                        // Which program each step shrank, when there are several.
                        if several && let Value::Object(m) = &mut s {
                            m.insert("program".into(), program.display().to_string().into());
                        }
                        s
                    }));
                }
                Err(status) => {
                    shrink_status = status;
                    return Ok(None);
                }
            }
        }
        prepared.write(Some(&copies)).map(|r| Some((r, all_steps)))
    });
    match result {
        Ok(None) => shrink_status,
        Ok(Some((mut report, steps))) => {
            let from = from(&mut report);
            let pushed = match push_to {
                Some(to) => match push_image(&target.out, to, &push_options(args)) {
                    Ok(r) => Some(r),
                    Err(status) => {
                        if args.output.is_some() {
                            eprintln!(
                                "binslim: {} was written; nothing was pushed",
                                target.out.display()
                            );
                        }
                        return status;
                    }
                },
                None => None,
            };
            let shown = match (&args.output, &push_to) {
                (Some(out), _) => out.display().to_string(),
                (None, Some(to)) => {
                    report.format = "registry";
                    format!("docker://{to}")
                }
                (None, None) => String::new(),
            };
            let text = if args.json {
                json::to_string(&JsonReport {
                    image: &report,
                    steps,
                    push: pushed.as_ref(),
                    from: from.as_ref(),
                })
            } else {
                let mut t = report::image::render(&report, &shown, style);
                if let Some(f) = &from {
                    t.push('\n');
                    t.push_str(&report::slim::render(f, &report, style));
                }
                if let Some(p) = &pushed {
                    t.push('\n');
                    t.push_str(&report::push::render(p, style));
                }
                t
            };
            emit(&text);
            Status::Ok
        }
        Err(BuildError::Refused { program, findings }) => {
            eprint!(
                "{}",
                renamed(report::image::refusal(&program, &findings), names)
            );
            Status::Fail
        }
        Err(BuildError::ImageWouldNotStart { program, findings }) => {
            let program = format!("{program}: the image would not start");
            eprint!(
                "{}",
                renamed(report::image::refusal(&program, &findings), names)
            );
            Status::Fail
        }
        Err(e) => {
            eprintln!("{}", renamed(format!("binslim: {e}"), names));
            Status::Error
        }
    }
}

/// `text` with each host path of `names` replaced by what the user knows it as (with --from:
/// the program's private copy → its path in the source, the merged root → "the source image").
fn renamed(mut text: String, names: &[(String, String)]) -> String {
    for (host, shown) in names {
        text = text.replace(host.as_str(), shown);
    }
    text
}

/// The library's options from the arguments (SOURCE_DATE_EPOCH read here). Without --tag, an
/// image pushed to `HOST/REPO:TAG` is named so (what `docker load` of OUT then calls it).
pub(super) fn options(
    args: &ImageArgs,
    target: &Target,
    push_to: Option<&Reference>,
) -> Result<ImageOptions, Status> {
    let mtime = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.is_empty() => match v.trim().parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => {
                eprintln!("binslim: SOURCE_DATE_EPOCH='{v}' is not a number of seconds since 1970");
                return Err(Status::Error);
            }
        },
        _ => None,
    };
    let mut opts = ImageOptions::new(
        args.programs.first().cloned().unwrap_or_default(),
        target.out.clone(),
    );
    opts.programs = args.programs.clone();
    opts.format = target.format;
    opts.tag = args.tag.clone().or_else(|| {
        let to = push_to?;
        let tag = to.tag.as_deref()?;
        Some(format!("{}/{}:{tag}", to.registry, to.repository))
    });
    opts.path = args.path.clone();
    opts.args = args.args.clone();
    opts.env = args.env.clone();
    opts.user = Some(args.user.clone().unwrap_or_else(|| "nonroot".into()));
    opts.add = args.add.clone();
    opts.force = args.force;
    opts.replace = args.replace;
    opts.ca_certs = Provide::parse(&args.ca_certs);
    opts.tzdata = Provide::parse(&args.tzdata);
    opts.with_libs = args.with_libs;
    opts.root = args.root.clone();
    opts.mtime = mtime.unwrap_or(0);
    opts.source_date_epoch = mtime.is_some();
    opts.labels = args.labels.clone();
    opts.annotations = args.annotations.clone();
    opts.workdir = args.workdir.clone();
    opts.expose = args.expose.clone();
    opts.cmd = args.cmd.clone();
    opts.stop_signal = args.stop_signal.clone();
    opts.sbom = match args.sbom {
        ImageSbom::Spdx => Some(binslim::sbom::Format::Spdx),
        ImageSbom::Cyclonedx => Some(binslim::sbom::Format::CycloneDx),
        ImageSbom::None => None,
    };
    opts.compression = match args.compression {
        LayerCompression::Gzip => Compression::Gzip,
        LayerCompression::Zstd => Compression::Zstd,
    };
    Ok(opts)
}

/// How `--push` reaches the registry.
fn push_options(args: &ImageArgs) -> Options {
    Options {
        insecure: args.insecure,
        mount_from: args.mount_from.clone(),
    }
}

/// Pushes the image just written at `out` (any form: each holds the OCI layout whose digests
/// the registry gets). A failure has said why on stderr.
fn push_image(out: &Path, to: &Reference, opts: &Options) -> Result<PushReport, Status> {
    let (image, _spool) =
        source::read_pushable(&ImageSource::Path(out.to_path_buf()), &Limits::default()).map_err(
            |e| {
                eprintln!("binslim: {}: {e}", out.display());
                Status::Error
            },
        )?;
    push::push(&image, to, opts).map_err(|e| {
        eprintln!("binslim: {}", report::push::failure(to, &e));
        Status::Error
    })
}

/// Shrinks a copy of the program with the library's shrink pipeline (the same steps and ledger
/// as `binslim shrink -o`, printed as it goes unless `--json`), into a temporary directory beside
/// the output. The input is only read; `shown` names it in the ledger and in errors (else its
/// path). Returns the directory, the copy and the ledger's steps.
fn shrink_copy(
    args: &ImageArgs,
    out: &Path,
    program: &Path,
    shown: Option<&str>,
    style: Style,
) -> Result<(TempDir, PathBuf, Vec<Value>), Status> {
    let name = shown.map_or_else(|| program.display().to_string(), str::to_string);
    let dir = binslim::tempfiles::dir_of(out);
    let mut opts = PipelineOptions::default();
    if args.upx {
        match upx::find(None) {
            Ok(path) => {
                opts.upx = Some(UpxStep {
                    path,
                    args: Vec::new(),
                })
            }
            Err(e) => {
                eprintln!("binslim: --upx: {e}");
                return Err(Status::Error);
            }
        }
    }
    let tmp = TempDir::new_in(&dir).map_err(|e| {
        eprintln!(
            "binslim: cannot create a temporary directory in {}: {e}",
            dir.display()
        );
        Status::Error
    })?;
    let copy = tmp.path().join(
        program
            .file_name()
            .unwrap_or_else(|| std::ffi::OsStr::new("program")),
    );
    let report = super::shrink::shrink_file(
        program,
        Some(&copy),
        Some("the copy in the image"),
        shown,
        args.json,
        &opts,
        style,
    )
    .map_err(|e| {
        eprintln!("binslim: {name}: {e}");
        eprintln!("binslim: no image written");
        Status::Error
    })?;
    if !args.json {
        emit("\n");
    }
    if let Some(u) = report.upx.as_ref().filter(|u| u.failed()) {
        eprintln!(
            "binslim: upx failed on the copy ({}); no image written",
            u.message.as_deref().unwrap_or("no message")
        );
        return Err(Status::Fail);
    }
    let steps = report
        .steps
        .iter()
        .map(|s| serde_json::to_value(s).unwrap_or(Value::Null))
        .collect();
    Ok((tmp, copy, steps))
}
