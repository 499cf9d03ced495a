//! `binslim verify --image`: read an image (archive, layout or stdin), merge its layers, and
//! check its entrypoint (or the PATHs named) as `verify --root` checks a program, with the
//! image's platform and `Env`. Reports name programs as `IMAGE:/path/in/image`.

use binslim::image::read::{ImageSource, Limits, MergedImage, read_image};
use binslim::report::Style;
use binslim::verify::{FileReport, Finding, Origin, Platform, Verdict, VerifyOptions, verify_path};

use super::Status;
use crate::cli::VerifyArgs;

/// Runs `verify --image`.
pub fn run(args: &VerifyArgs, style: Style) -> Status {
    let image = args.image.as_deref().unwrap_or("-");
    let source = if image == "-" {
        ImageSource::Stdin
    } else {
        ImageSource::Path(image.into())
    };
    if let Some(p) = &args.platform
        && let Err(e) = p.parse::<Platform>()
    {
        eprintln!("binslim: --platform: {e}");
        return Status::Error;
    }
    let shown = if image == "-" { "stdin" } else { image };
    let mut limits = Limits::default();
    limits.verify_digests = args.verify_digests;
    let images = match read_image(&source, args.platform.as_deref(), &limits) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("binslim: {shown}: {e}");
            return Status::Error;
        }
    };
    let multi = images.len() > 1;
    let mut reports = Vec::new();
    for img in &images {
        let mut label = match (image, &img.reference) {
            ("-", Some(r)) => r.clone(),
            _ => shown.to_string(),
        };
        if multi {
            label = format!("{label}[{}]", img.platform);
        }
        check_image(img, &label, args, &mut reports);
    }

    super::verify::finish(&reports, 0, args, style)
}

fn options(img: &MergedImage, args: &VerifyArgs) -> VerifyOptions {
    let mut opts = VerifyOptions::default();
    // The config's platform is what an engine runs the program as (an image for another OS
    // has no Platform here; the ELF's own OS check still applies).
    opts.platform = Platform::from_image(&img.platform);
    opts.root = Some(img.root().to_path_buf());
    opts.ld_library_path = img.env("LD_LIBRARY_PATH").map(str::to_string);
    opts.working_dir = img
        .config
        .config
        .working_dir
        .clone()
        .filter(|w| w.starts_with('/'));
    opts.strict = args.strict;
    opts.max_size = args.max_size;
    opts.require_stripped = args.require_stripped;
    opts.forbid_upx = args.forbid_upx;
    opts.upx = which::which("upx").ok();
    opts
}

fn check_image(img: &MergedImage, label: &str, args: &VerifyArgs, reports: &mut Vec<FileReport>) {
    let opts = options(img, args);
    let programs: Vec<String> = if args.paths.is_empty() {
        match img.entrypoint() {
            Some(p) => vec![p.to_string()],
            None => {
                reports.push(failure(
                    format!("{label}:"),
                    "no-entrypoint",
                    "the image has no Entrypoint and no Cmd: an engine has nothing to start".into(),
                    "set ENTRYPOINT [\"/server\"] in the Dockerfile, or name programs to check: \
                     binslim verify --image IMAGE /path"
                        .into(),
                ));
                return;
            }
        }
    } else {
        args.paths
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect()
    };
    for program in programs {
        let (path, host) = match img.locate(&program) {
            Ok(found) => found,
            Err(e) => {
                let mut r = failure(
                    format!("{label}:{program}"),
                    "unreadable",
                    e.to_string(),
                    String::new(),
                );
                r.verdict = Verdict::Error;
                r.problems[0].hint = None;
                reports.push(r);
                continue;
            }
        };
        let display = format!("{label}:{path}");
        match host {
            None if !program.contains('/') => reports.push(failure(
                display,
                "missing-entrypoint",
                format!(
                    "'{program}' is not an executable file in the image's PATH ({})",
                    img.env("PATH")
                        .unwrap_or(binslim::image::read::DEFAULT_PATH)
                ),
                "COPY the program into a directory of PATH, or give its absolute path".into(),
            )),
            None => reports.push(failure(
                display,
                "missing-entrypoint",
                format!("{path} is not in the image: starting it fails with \"no such file or directory\""),
                "COPY the program to that path, or fix ENTRYPOINT/CMD (and WORKDIR for a \
                 relative path)"
                    .into(),
            )),
            Some(h) if h.is_dir() => reports.push(failure(
                display,
                "missing-entrypoint",
                format!("{path} is a directory in the image, not a program"),
                "fix ENTRYPOINT/CMD to name the program".into(),
            )),
            Some(h) => {
                let mut r = verify_path(&h, &display, &opts, Origin::Named);
                in_image_terms(&mut r, img.root());
                reports.push(r);
            }
        }
    }
}

/// verify names the root it checked against; here that is a temporary directory the user
/// never sees: say "the image", and give paths inside it as the image has them.
fn in_image_terms(r: &mut FileReport, root: &std::path::Path) {
    let root = root.display().to_string();
    let fix = |s: &mut String| {
        if s.contains(&root) {
            *s = s
                .replace(&format!("{root}/"), "/")
                .replace(&root, "the image");
        }
    };
    for f in r.problems.iter_mut().chain(r.warnings.iter_mut()) {
        fix(&mut f.message);
        if let Some(h) = &mut f.hint {
            fix(h);
        }
    }
}

fn failure(path: String, code: &'static str, message: String, hint: String) -> FileReport {
    FileReport {
        path,
        verdict: Verdict::Fail,
        linkage: None,
        machine: None,
        file_size: None,
        unpacked: false,
        problems: vec![Finding {
            code,
            message,
            hint: Some(hint),
        }],
        warnings: Vec::new(),
        libraries: Vec::new(),
        loader: None,
    }
}
