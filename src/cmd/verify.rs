//! `binslim verify`: the arguments become options, the library verifies the paths (or, with
//! `--image`, the image's programs), `report::verify` renders the reports, and the worst
//! verdict becomes the exit status.

use binslim::image::read::{ImageSource, Limits};
use binslim::registry::{Options, Reference};
use binslim::report::{Style, json, verify as text};
use binslim::verify::image::{ImageVerifyOptions, Images, RegistryImages, verify_image};
use binslim::verify::walk::{Walk, verify_paths};
use binslim::verify::{FileReport, Platform, Verdict, VerifyOptions, platform_from_env, worst};

use super::{Status, emit};
use crate::cli::VerifyArgs;

/// Runs `verify`.
pub fn run(args: &VerifyArgs, style: Style) -> Status {
    let walked = if args.image.is_some() {
        run_image(args)
    } else {
        options(args).map(|opts| verify_paths(&args.paths, &opts))
    };
    match walked {
        Ok(w) => finish(&w.reports, w.skipped, args, style),
        Err(msg) => {
            eprintln!("binslim: {msg}");
            Status::Error
        }
    }
}

/// `verify --image`: the image named (`-` for stdin), its programs checked in its layers.
fn run_image(args: &VerifyArgs) -> Result<Walk, String> {
    let source: Box<dyn Images> = match args.image.as_deref().unwrap_or("-") {
        "-" => Box::new(ImageSource::Stdin),
        image if image.starts_with("docker://") => {
            let reference = Reference::parse(image).map_err(|e| format!("--image: {e}"))?;
            let options = Options {
                insecure: args.insecure,
                ..Options::default()
            };
            Box::new(RegistryImages::new(reference, options))
        }
        image => Box::new(ImageSource::Path(image.into())),
    };
    if args.insecure
        && !args
            .image
            .as_deref()
            .is_some_and(|i| i.starts_with("docker://"))
    {
        return Err("--insecure: only for --image docker://REF".into());
    }
    let mut opts = ImageVerifyOptions::default();
    opts.platform = args.platform.clone();
    opts.programs = args
        .paths
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let mut limits = Limits::default();
    limits.verify_digests = args.verify_digests;
    opts.limits = limits;
    opts.strict = args.strict;
    opts.max_size = args.max_size;
    opts.require_stripped = args.require_stripped;
    opts.forbid_upx = args.forbid_upx;
    opts.upx = binslim::upx::find(None).ok();
    let reports = verify_image(source.as_ref(), &opts).map_err(|e| e.to_string())?;
    if args.verbose
        && let Some(note) = source.fetched_note()
    {
        eprintln!("binslim: {note}");
    }
    Ok(Walk {
        reports,
        skipped: 0,
    })
}

/// Prints the reports (errors on stderr, then text or JSON on stdout) and maps the worst verdict
/// to the exit status.
fn finish(reports: &[FileReport], skipped: usize, args: &VerifyArgs, style: Style) -> Status {
    eprint!("{}", text::errors(reports));
    if args.json {
        emit(&json::to_string(&reports));
    } else {
        let mut opts = text::TextOptions::default();
        opts.quiet = args.quiet;
        opts.verbose = args.verbose;
        emit(&text::text(reports, skipped, opts, style));
    }
    match worst(reports) {
        Verdict::Error => Status::Error,
        Verdict::Fail => Status::Fail,
        Verdict::Pass => Status::Ok,
    }
}

fn options(args: &VerifyArgs) -> Result<VerifyOptions, String> {
    let platform = match &args.platform {
        Some(p) => Some(p.parse::<Platform>().map_err(|e| e.to_string())?),
        None => platform_from_env(&|k| std::env::var(k).ok()).map_err(|e| e.to_string())?,
    };
    if let Some(root) = &args.root
        && !root.is_dir()
    {
        return Err(format!("--root {}: not a directory", root.display()));
    }
    let mut opts = VerifyOptions::default();
    opts.platform = platform;
    opts.root = args.root.clone();
    opts.strict = args.strict;
    opts.max_size = args.max_size;
    opts.require_stripped = args.require_stripped;
    opts.forbid_upx = args.forbid_upx;
    opts.upx = binslim::upx::find(None).ok();
    // The last value wins, as in `env K=1 K=2`.
    opts.ld_library_path = args
        .env
        .iter()
        .rev()
        .find(|(k, _)| k == "LD_LIBRARY_PATH")
        .map(|(_, v)| v.clone());
    Ok(opts)
}
