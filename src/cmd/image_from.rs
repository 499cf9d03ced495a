//! `binslim image --from SOURCE [PATH]`: reads the source, takes the program and what it needs
//! from it ([`binslim::slim`]), and builds, verifies, writes (or pushes) and reports as `image`
//! does, with the source's sizes and what was left out.

use binslim::image::read::Limits;
use binslim::report::Style;
use binslim::slim::{self, FromReport, LARGEST_DIRS, Overrides, SlimError};

use super::Status;
use super::image::{build, options};
use crate::cli::ImageArgs;

/// Runs `image --from`.
pub fn run(args: &ImageArgs, style: Style) -> Status {
    let Some(source_name) = args.from.as_deref() else {
        return Status::Error;
    };
    if args.programs.len() > 1 {
        eprintln!("binslim: --from takes at most one PATH, the program inside the source image");
        return Status::Error;
    }
    let (push_to, target) = match super::image::push_and_target(args) {
        Ok(t) => t,
        Err(status) => return status,
    };
    let registry = binslim::registry::Options {
        insecure: args.insecure,
        ..Default::default()
    };
    let source = match slim::open(source_name, &Limits::default(), &registry) {
        Ok(s) => s,
        Err(e) => return failed(&e),
    };
    let path = args
        .programs
        .first()
        .map(|p| p.to_string_lossy().into_owned());
    let prog = match slim::program(&source.image, path.as_deref()) {
        Ok(p) => p,
        Err(e) => return failed(&e),
    };
    // The program's copy replaces the positional PATH in `fill_options`.
    let mut opts = match options(args, &target, push_to.as_ref()) {
        Ok(o) => o,
        Err(status) => return status,
    };
    let over = Overrides {
        user: args.user.clone(),
        args: args.args.clone(),
        cmd: args.cmd.clone(),
        workdir: args.workdir.clone(),
        stop_signal: args.stop_signal.clone(),
        keep: args.keep.clone(),
    };
    let why = match slim::fill_options(&source.image, &prog, &over, &mut opts) {
        Ok(w) => w,
        Err(e) => return failed(&e),
    };
    if args.shrink_libs
        && let Err(e) = slim::shrink_libs(&source.image)
    {
        return failed(&e);
    }
    let workdir = opts.workdir.clone();
    let names = [
        (prog.host.display().to_string(), prog.path.clone()),
        (
            source.image.root().display().to_string(),
            "the source image".to_string(),
        ),
    ];
    build(
        args,
        &opts,
        &target,
        push_to.as_ref(),
        style,
        |report| {
            slim::relabel(report, &why);
            Some(FromReport {
                source: source.report.clone(),
                left_out: slim::left_out(&source.image, &prog, workdir.as_deref(), report),
                left_out_dirs: slim::largest_dirs(&source.image, LARGEST_DIRS),
            })
        },
        &names,
    )
}

/// Prints why and maps the error to the exit code: 1 when the program cannot be taken from
/// the source, 2 for a source that cannot be read.
fn failed(e: &SlimError) -> Status {
    eprintln!("binslim: {e}");
    eprintln!("binslim: no image written");
    if e.is_refusal() {
        Status::Fail
    } else {
        Status::Error
    }
}
