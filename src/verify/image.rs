//! Verifying an image: read it from a source (archive, layout, stdin; a registry later),
//! merge its layers, and check its entrypoint (or the paths named) as `verify --root` checks a
//! program, with the image's platform, `Env` and `WorkingDir`. Reports name programs as
//! `IMAGE:/path/in/image` and the root as "the image": the merged layers are a temporary
//! directory the user never sees.

use std::path::PathBuf;

use thiserror::Error;

use crate::image::read::{DEFAULT_PATH, ImageError, ImageSource, Limits, MergedImage, read_image};

use super::codes::Code;
use super::platform::{Platform, PlatformError};
use super::read::verify_path;
use super::{FileReport, Origin, VerifyOptions};

/// How findings name the merged root of an image.
pub const IMAGE_ROOT_NAME: &str = "the image";

/// Where images come from. The rules only see [`MergedImage`]s, so a new source (a registry)
/// implements this and nothing else.
pub trait Images {
    /// How reports name the source when the image has no reference of its own to show
    /// (`app.tar`, `stdin`).
    fn name(&self) -> String;

    /// How reports name `img`, one of this source's images (before any `[platform]`).
    fn label(&self, img: &MergedImage) -> String {
        let _ = img;
        self.name()
    }

    /// Reads the images, only those of `platform` when given, each with its layers merged.
    fn read(&self, platform: Option<&str>, limits: &Limits)
    -> Result<Vec<MergedImage>, ImageError>;
}

impl Images for ImageSource {
    fn name(&self) -> String {
        match self {
            ImageSource::Path(p) => p.display().to_string(),
            ImageSource::Stdin => "stdin".to_string(),
        }
    }

    /// An archive on stdin has no name of its own: its reference (`app:latest`) names it.
    fn label(&self, img: &MergedImage) -> String {
        match (self, &img.reference) {
            (ImageSource::Stdin, Some(r)) => r.clone(),
            _ => self.name(),
        }
    }

    fn read(
        &self,
        platform: Option<&str>,
        limits: &Limits,
    ) -> Result<Vec<MergedImage>, ImageError> {
        read_image(self, platform, limits)
    }
}

/// What to check in an image, beyond what its config says.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ImageVerifyOptions {
    /// Only the images of this platform (`linux/arm64`), and check their programs for it.
    pub platform: Option<String>,
    /// The programs to check, as the image names them (absolute, relative to `WorkingDir`, or
    /// looked up in `PATH`); empty: the entrypoint.
    pub programs: Vec<String>,
    /// How much of the image to read, and whether to hash every layer byte.
    pub limits: Limits,
    /// Turn warnings into failures.
    pub strict: bool,
    /// Fail programs larger than this many bytes.
    pub max_size: Option<u64>,
    /// Fail programs that still have a symbol table or debug sections.
    pub require_stripped: bool,
    /// Fail UPX-packed programs.
    pub forbid_upx: bool,
    /// upx to unpack packed programs with (None: packed programs cannot be verified).
    pub upx: Option<PathBuf>,
}

/// Why an image could not be checked at all.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ImageVerifyError {
    /// The platform asked for is not one binslim knows.
    #[error("--platform: {0}")]
    Platform(#[from] PlatformError),
    /// The image could not be read.
    #[error("{source_name}: {error}")]
    Read {
        /// The source as [`Images::name`] gives it.
        source_name: String,
        /// What went wrong.
        error: ImageError,
    },
}

/// Reads the images of `source` and checks each one ([`check_image`]). Several images (an
/// index without `--platform`) are labelled `NAME[os/arch]`.
pub fn verify_image(
    source: &dyn Images,
    opts: &ImageVerifyOptions,
) -> Result<Vec<FileReport>, ImageVerifyError> {
    if let Some(p) = &opts.platform {
        p.parse::<Platform>()?;
    }
    let images = source
        .read(opts.platform.as_deref(), &opts.limits)
        .map_err(|error| ImageVerifyError::Read {
            source_name: source.name(),
            error,
        })?;
    let multi = images.len() > 1;
    let mut reports = Vec::new();
    for img in &images {
        let mut label = source.label(img);
        if multi {
            label = format!("{label}[{}]", img.platform);
        }
        reports.extend(check_image(img, &label, opts));
    }
    Ok(reports)
}

/// The verify options for the programs of `img`: its config's platform (an image for another
/// OS has none: the ELF's own OS check still applies), its merged root named "the image", its
/// `LD_LIBRARY_PATH` and absolute `WorkingDir`, and the policy of `opts`.
pub fn options_for(img: &MergedImage, opts: &ImageVerifyOptions) -> VerifyOptions {
    let mut v = VerifyOptions::default();
    v.platform = Platform::from_image(&img.platform);
    v.root = Some(img.root().to_path_buf());
    v.root_name = Some(IMAGE_ROOT_NAME.to_string());
    v.ld_library_path = img.env("LD_LIBRARY_PATH").map(str::to_string);
    v.working_dir = img
        .config
        .config
        .working_dir
        .clone()
        .filter(|w| w.starts_with('/'));
    v.strict = opts.strict;
    v.max_size = opts.max_size;
    v.require_stripped = opts.require_stripped;
    v.forbid_upx = opts.forbid_upx;
    v.upx = opts.upx.clone();
    v
}

/// Checks the programs of one merged image (`opts.programs`, else its entrypoint), each
/// reported as `LABEL:/path`.
pub fn check_image(img: &MergedImage, label: &str, opts: &ImageVerifyOptions) -> Vec<FileReport> {
    let programs: Vec<String> = if opts.programs.is_empty() {
        match img.entrypoint() {
            Some(p) => vec![p.to_string()],
            None => return vec![no_entrypoint(label)],
        }
    } else {
        opts.programs.clone()
    };
    let vopts = options_for(img, opts);
    programs
        .iter()
        .map(|program| check_program(img, label, program, &vopts))
        .collect()
}

/// `no-entrypoint`: the config has neither `Entrypoint` nor `Cmd`.
pub fn no_entrypoint(label: &str) -> FileReport {
    FileReport::failure(
        format!("{label}:"),
        Code::NoEntrypoint,
        "the image has no Entrypoint and no Cmd: an engine has nothing to start",
        Some(
            "set ENTRYPOINT [\"/server\"] in the Dockerfile, or name programs to check: \
             binslim verify --image IMAGE /path"
                .into(),
        ),
    )
}

/// One program of the image: found where an engine would find it, then verified as a named
/// program in the merged root.
fn check_program(
    img: &MergedImage,
    label: &str,
    program: &str,
    opts: &VerifyOptions,
) -> FileReport {
    let (path, host) = match img.locate(program) {
        Ok(found) => found,
        Err(e) => return FileReport::unreadable(format!("{label}:{program}"), e.to_string()),
    };
    let display = format!("{label}:{path}");
    match host {
        None => missing_entrypoint(img, &display, program, &path),
        Some(h) if h.is_dir() => FileReport::failure(
            display,
            Code::MissingEntrypoint,
            format!("{path} is a directory in the image, not a program"),
            Some("fix ENTRYPOINT/CMD to name the program".into()),
        ),
        Some(h) => verify_path(&h, &display, opts, Origin::Named),
    }
}

/// `missing-entrypoint`: a bare name not found in the image's `PATH`, or a path not in the
/// image.
fn missing_entrypoint(img: &MergedImage, display: &str, program: &str, path: &str) -> FileReport {
    if !program.contains('/') {
        return FileReport::failure(
            display,
            Code::MissingEntrypoint,
            format!(
                "'{program}' is not an executable file in the image's PATH ({})",
                img.env("PATH").unwrap_or(DEFAULT_PATH)
            ),
            Some("COPY the program into a directory of PATH, or give its absolute path".into()),
        );
    }
    FileReport::failure(
        display,
        Code::MissingEntrypoint,
        format!("{path} is not in the image: starting it fails with \"no such file or directory\""),
        Some(
            "COPY the program to that path, or fix ENTRYPOINT/CMD (and WORKDIR for a relative \
             path)"
                .into(),
        ),
    )
}
