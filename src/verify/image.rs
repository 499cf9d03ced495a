//! Verifying an image: read it from a source (archive, layout, stdin, a registry),
//! merge its layers, and check its entrypoint (or the paths named) as `verify --root` checks a
//! program, with the image's platform, `Env` and `WorkingDir`. Reports name programs as
//! `IMAGE:/path/in/image` and the root as "the image": the merged layers are a temporary
//! directory the user never sees.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use thiserror::Error;

use crate::image::read::{
    DEFAULT_PATH, EntryKind, ImageSource, Limits, MergedImage, ReadError, read_image,
};
use crate::registry::pull::{Pulled, pull};
use crate::registry::{Client, Options, Reference, RegistryError};

use super::codes::Code;
use super::launch::{self, ShellCommand};
use super::platform::{Platform, PlatformError};
use super::read::{verify_path, verify_with_mode};
use super::user::{Access, RunAs};
use super::{FileReport, Origin, Verdict, VerifyOptions};

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
    fn read(
        &self,
        platform: Option<&str>,
        limits: &Limits,
    ) -> Result<Vec<MergedImage>, SourceError>;

    /// What the last [`Images::read`] fetched, when the source is remote (for `--verbose`).
    fn fetched_note(&self) -> Option<String> {
        None
    }
}

/// Why a source could not give its images.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The image (archive, layout, or the layout a registry's image was pulled into) could
    /// not be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The registry could not give the image (the message names the registry and the step).
    #[error(transparent)]
    Registry(Box<RegistryError>),
}

impl From<RegistryError> for SourceError {
    fn from(e: RegistryError) -> SourceError {
        SourceError::Registry(Box::new(e))
    }
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
    ) -> Result<Vec<MergedImage>, SourceError> {
        Ok(read_image(self, platform, limits)?)
    }
}

/// An image in a registry (`docker://HOST/REPO[:TAG][@DIGEST]`): pulled into a temporary OCI
/// layout (only the layers of the platform asked for) and read from there as an archive is.
#[derive(Debug)]
pub struct RegistryImages {
    reference: Reference,
    options: Options,
    /// The layouts pulled, kept while the images read from them are (their files are read
    /// lazily).
    pulled: Mutex<Vec<Pulled>>,
}

impl RegistryImages {
    /// The image `reference`, reached with `options` (`--insecure`).
    pub fn new(reference: Reference, options: Options) -> RegistryImages {
        RegistryImages {
            reference,
            options,
            pulled: Mutex::new(Vec::new()),
        }
    }
}

impl Images for RegistryImages {
    fn name(&self) -> String {
        format!("docker://{}", self.reference)
    }

    /// `fetched the manifests, configs and N layers (M layers of other platforms not)`.
    fn fetched_note(&self) -> Option<String> {
        let pulled = self.pulled.lock().unwrap_or_else(|e| e.into_inner());
        let p = pulled.last()?;
        let mut note = format!(
            "{}: fetched the manifests, the configs and {} layer{}",
            self.name(),
            p.layers_fetched,
            if p.layers_fetched == 1 { "" } else { "s" }
        );
        if p.layers_known_empty > 0 {
            note.push_str(&format!(
                ", and made {} known-empty layer{} without downloading",
                p.layers_known_empty,
                if p.layers_known_empty == 1 { "" } else { "s" }
            ));
        }
        if p.layers_skipped > 0 {
            note.push_str(&format!(
                " ({} layer{} of other platforms not downloaded)",
                p.layers_skipped,
                if p.layers_skipped == 1 { "" } else { "s" }
            ));
        }
        Some(note)
    }

    fn read(
        &self,
        platform: Option<&str>,
        limits: &Limits,
    ) -> Result<Vec<MergedImage>, SourceError> {
        let client = Client::new(&self.reference.registry, &self.options)?;
        let pulled = pull(&client, &self.reference, platform)?;
        let layout = ImageSource::Path(pulled.path().to_path_buf());
        let images = read_image(&layout, platform, limits)?;
        self.pulled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(pulled);
        Ok(images)
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
        #[source]
        error: SourceError,
    },
}

/// Reads the images of `source` and checks each one ([`check_image`]). Several images are
/// labelled `NAME[os/arch]` (an index without `--platform`), `NAME[app:latest]` or `NAME[#2]`
/// (several images of one platform).
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
    let mut reports = Vec::new();
    for (i, img) in images.iter().enumerate() {
        let label = image_label(source, &images, i);
        reports.extend(check_image(img, &label, opts));
    }
    Ok(reports)
}

/// How reports name image `i` of `images`: [`Images::label`], and when there are several, the
/// one that tells them apart: `[os/arch]` when their platforms differ (an index), else their
/// reference (`[app:latest]`, a multi-image docker archive) or, without one, `[#N]`.
fn image_label(source: &dyn Images, images: &[MergedImage], i: usize) -> String {
    let img = &images[i];
    let label = source.label(img);
    if images.len() < 2 {
        return label;
    }
    let platforms: std::collections::HashSet<&str> =
        images.iter().map(|m| m.platform.as_str()).collect();
    let which = if platforms.len() == images.len() {
        img.platform.clone()
    } else if let Some(r) = &img.reference {
        if *r == label {
            return label; // stdin: the reference is the label already
        }
        r.clone()
    } else {
        format!("#{}", i + 1)
    };
    format!("{label}[{which}]")
}

/// The verify options for the programs of `img`: its config's platform (an image for another
/// OS has none: the ELF's own OS check still applies), its merged root named "the image", its
/// `LD_LIBRARY_PATH` and absolute `WorkingDir`, and the policy of `opts`.
pub fn options_for(img: &MergedImage, opts: &ImageVerifyOptions) -> VerifyOptions {
    VerifyOptions {
        platform: Platform::from_image(&img.platform),
        root: Some(img.root().to_path_buf()),
        root_name: Some(IMAGE_ROOT_NAME.to_string()),
        ld_library_path: img.env("LD_LIBRARY_PATH").map(str::to_string),
        working_dir: img
            .config
            .config
            .working_dir
            .clone()
            .filter(|w| w.starts_with('/')),
        strict: opts.strict,
        max_size: opts.max_size,
        require_stripped: opts.require_stripped,
        forbid_upx: opts.forbid_upx,
        upx: opts.upx.clone(),
        ..VerifyOptions::default()
    }
}

/// Checks the programs of one merged image (`opts.programs`, else the command it starts),
/// each reported as `LABEL:/path`, for the user the image runs as.
pub fn check_image(img: &MergedImage, label: &str, opts: &ImageVerifyOptions) -> Vec<FileReport> {
    let vopts = options_for(img, opts);
    let user = launch::image_user(img);
    let mut reports = if opts.programs.is_empty() {
        let command = img.command();
        if img.entrypoint().is_none() {
            return vec![no_entrypoint(label)];
        }
        check_command(img, label, &command, &vopts, user.as_ref().ok())
    } else {
        opts.programs
            .iter()
            .map(|program| check_program(img, label, program, &vopts, user.as_ref().ok(), 0))
            .collect()
    };
    if let Err(e) = &user {
        for r in &mut reports {
            launch::fail_with(r, launch::unknown_user(e));
        }
    }
    reports
}

/// The command an engine starts: its program, and for the shell form (`/bin/sh -c LINE`) the
/// program the line starts when it is a simple command.
fn check_command(
    img: &MergedImage,
    label: &str,
    command: &[&str],
    opts: &VerifyOptions,
    user: Option<&RunAs>,
) -> Vec<FileReport> {
    let mut shell = check_program(img, label, command[0], opts, user, 0);
    let Some(line) = launch::shell_line(command) else {
        return vec![shell];
    };
    if shell.verdict != Verdict::Pass {
        return vec![shell];
    }
    match launch::first_word(line) {
        ShellCommand::Simple(word) => {
            vec![shell, check_program(img, label, word, opts, user, 0)]
        }
        ShellCommand::Complex => {
            let finding = launch::unfollowed(command[0], line);
            if opts.strict {
                launch::fail_with(&mut shell, finding);
            } else {
                shell.warnings.push(finding);
            }
            vec![shell]
        }
    }
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

/// How many `#!` interpreters deep the kernel goes (binfmt_script's limit).
const MAX_INTERPRETERS: usize = 4;

/// One program of the image: found where an engine would find it, reachable and executable
/// for `user` (when it resolved), then verified as a named program in the merged root (a `#!`
/// script by its interpreter, `depth` scripts deep).
fn check_program(
    img: &MergedImage,
    label: &str,
    program: &str,
    opts: &VerifyOptions,
    user: Option<&RunAs>,
    depth: usize,
) -> FileReport {
    let (path, host) = match img.locate(program) {
        Ok(found) => found,
        Err(e) => return FileReport::unreadable(format!("{label}:{program}"), e.to_string()),
    };
    let display = format!("{label}:{path}");
    let Some(h) = host else {
        return missing_entrypoint(img, &display, program, &path);
    };
    let meta = img.meta(&h);
    if let Some(kind) = meta
        .map(|m| m.kind)
        .filter(|k| *k != EntryKind::File && *k != EntryKind::Dir)
    {
        return FileReport::failure(
            display,
            Code::NotAProgram,
            format!(
                "{path} is {} in the image, not a program: starting it fails with \"permission \
                 denied\"",
                kind.describe()
            ),
            Some("fix ENTRYPOINT/CMD to name the program, or COPY the program there".into()),
        );
    }
    if h.is_dir() {
        return FileReport::failure(
            display,
            Code::MissingEntrypoint,
            format!("{path} is a directory in the image, not a program"),
            Some("fix ENTRYPOINT/CMD to name the program".into()),
        );
    }
    let denied = user.map_or_else(Vec::new, |who| {
        launch::access_problems(img, (&path, true), who, Access::Execute, STARTING_FAILS)
    });
    if !denied.is_empty() {
        let mut r = FileReport::blank(display, Verdict::Fail);
        r.problems = denied;
        return r;
    }
    if let Some(interp) = launch::script_interpreter(&h) {
        return check_script(
            img,
            label,
            (&display, &path, &h),
            &interp,
            opts,
            user,
            depth,
        );
    }
    let mut report = verify_located(img, &h, &display, opts);
    if let Some(who) = user {
        let found = launch::library_problems(img, meta, &report, who);
        if !found.is_empty() {
            report.problems.extend(found);
            report.verdict = Verdict::Fail;
        }
    }
    report
}

/// Verifies the program at `h` as a named one: its bytes where the archive stores them when it
/// is read in place (with the mode of its placeholder, which is the mode a copy gets), else the
/// file in the root.
fn verify_located(img: &MergedImage, h: &Path, display: &str, opts: &VerifyOptions) -> FileReport {
    use std::os::unix::fs::PermissionsExt;
    // The placeholder's mode is wanted only for a program read in place: no stat otherwise.
    if let Some(view) = img.in_place(h)
        && let Ok(m) = std::fs::metadata(h)
    {
        return verify_with_mode(
            h,
            display,
            view.bytes(),
            m.permissions().mode(),
            opts,
            Origin::Named,
        );
    }
    verify_path(h, display, opts, Origin::Named)
}

/// What runc says when execve is refused.
const STARTING_FAILS: &str = "starting it fails with \"permission denied\"";

/// A `#!` script at `path` (`host` in the root, as [`MergedImage::locate`] found it): it starts
/// when its interpreter does (and the user may read the script).
fn check_script(
    img: &MergedImage,
    label: &str,
    (display, path, host): (&str, &str, &Path),
    interp: &str,
    opts: &VerifyOptions,
    user: Option<&RunAs>,
    depth: usize,
) -> FileReport {
    let fail = |message: String, hint: &str| {
        FileReport::failure(display, Code::Script, message, Some(hint.to_string()))
    };
    if !interp.starts_with('/') || depth >= MAX_INTERPRETERS {
        return fail(
            format!("script names the interpreter '{interp}', which the kernel cannot start"),
            "name the interpreter by its absolute path (#!/bin/sh)",
        );
    }
    let inner = check_program(img, label, interp, opts, user, depth + 1);
    if let Some(p) = inner.problems.first() {
        let message = if p.code == Code::MissingEntrypoint {
            format!("script needs {interp}, which is not in the image")
        } else {
            format!("script needs {interp}, which cannot start: {}", p.message)
        };
        return fail(
            message,
            "COPY the interpreter (and what it needs) into the image, or ship a compiled binary",
        );
    }
    if let Some(who) = user {
        let unreadable = launch::access_problems(
            img,
            (path, false),
            who,
            Access::Read,
            "its interpreter cannot read it",
        );
        if !unreadable.is_empty() {
            let mut r = FileReport::blank(display, Verdict::Fail);
            r.problems = unreadable;
            return r;
        }
    }
    let mut r = FileReport::blank(display, inner.verdict);
    r.warnings = inner.warnings;
    r.script_interpreter = Some(interp.to_string());
    r.file_size = std::fs::metadata(host).ok().map(|m| m.len());
    r
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::read::read_tar_bytes;
    use crate::image::spec::{DockerManifestEntry, ImageConfig, RootFs, RunConfig, digest_of};
    use crate::verify::fixtures::bytes;
    use crate::verify::{Code, Verdict};

    /// A layer tar of `(path, fixture or "dir")` entries, every file mode 0755 owned by root.
    fn layer(files: &[(&str, &str)]) -> Vec<u8> {
        let owned: Vec<_> = files.iter().map(|&(p, w)| (p, w, 0o755, 0)).collect();
        owned_layer(&owned)
    }

    /// The merged image of a docker-archive of one layer of `files`, its config amd64 with
    /// `entrypoint`, then changed by `edit`.
    fn image_with(
        files: &[(&str, &str)],
        entrypoint: Option<&str>,
        edit: impl FnOnce(&mut ImageConfig),
    ) -> MergedImage {
        image_of_layer(layer(files), entrypoint, edit)
    }

    /// The merged image of a docker-archive of `layer`, as [`image_with`] makes it.
    fn image_of_layer(
        layer: Vec<u8>,
        entrypoint: Option<&str>,
        edit: impl FnOnce(&mut ImageConfig),
    ) -> MergedImage {
        let archive = archive_of_layer(layer, entrypoint, edit);
        let mut images = read_tar_bytes(&archive, &Limits::default()).unwrap();
        assert_eq!(images.len(), 1);
        images.pop().unwrap()
    }

    /// A docker-archive of `layer`, its config amd64 with `entrypoint`, then changed by `edit`.
    fn archive_of_layer(
        layer: Vec<u8>,
        entrypoint: Option<&str>,
        edit: impl FnOnce(&mut ImageConfig),
    ) -> Vec<u8> {
        let mut cfg = ImageConfig {
            architecture: "amd64".into(),
            os: "linux".into(),
            config: RunConfig {
                entrypoint: entrypoint.map(|e| vec![e.to_string()]),
                ..RunConfig::default()
            },
            rootfs: RootFs {
                diff_ids: vec![digest_of(&layer)],
                ..RootFs::default()
            },
            ..ImageConfig::default()
        };
        edit(&mut cfg);
        let cfg = serde_json::to_vec(&cfg).unwrap();
        let cfg_name = format!("{}.json", &digest_of(&cfg)[7..]);
        let manifest = serde_json::to_vec(&vec![DockerManifestEntry {
            config: cfg_name.clone(),
            repo_tags: Some(vec!["app:latest".into()]),
            layers: vec!["0/layer.tar".into()],
        }])
        .unwrap();
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in [
            ("0/layer.tar", &layer),
            (cfg_name.as_str(), &cfg),
            ("manifest.json", &manifest),
        ] {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, &data[..]).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn image(files: &[(&str, &str)], entrypoint: Option<&str>) -> MergedImage {
        image_with(files, entrypoint, |_| {})
    }

    fn check(img: &MergedImage, programs: &[&str]) -> Vec<FileReport> {
        let opts = ImageVerifyOptions {
            programs: programs.iter().map(|p| p.to_string()).collect(),
            ..ImageVerifyOptions::default()
        };
        check_image(img, "app.tar", &opts)
    }

    fn one(reports: Vec<FileReport>) -> FileReport {
        assert_eq!(reports.len(), 1);
        reports.into_iter().next().unwrap()
    }

    #[test]
    fn the_entrypoint_is_checked_in_the_image() {
        let r = one(check(&image(&[("app", "go-static")], Some("/app")), &[]));
        assert_eq!(
            (r.path.as_str(), r.verdict),
            ("app.tar:/app", Verdict::Pass)
        );
    }

    /// An ELF program of an uncompressed layer of an archive file is verified where the archive
    /// holds it: the root has a placeholder of its size with no byte written (no block
    /// allocated), and the report is the one of the copy a stream (stdin) gets. What cannot be
    /// read in place (a script, a UPX-packed file, whose unpacking runs upx on the file) is
    /// copied as before.
    #[test]
    fn programs_of_uncompressed_layers_are_read_in_place() {
        use std::os::unix::fs::MetadataExt;
        for (fixture, in_place) in [
            ("go-static", true),
            ("c-dynamic-pie", true),
            ("c-static", true),
            ("upx-packed", false),
            ("script.sh", false),
        ] {
            let archive = archive_of_layer(layer(&[("app", fixture)]), Some("/app"), |_| {});
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("app.tar");
            std::fs::write(&file, &archive).unwrap();
            let source = ImageSource::Path(file);
            let mut images = read_image(&source, None, &Limits::default()).unwrap();
            let mapped = images.pop().unwrap();
            let copied = image_of_layer(layer(&[("app", fixture)]), Some("/app"), |_| {});
            let json = |r: Vec<FileReport>| serde_json::to_string(&r).unwrap();
            let (a, b) = (check(&mapped, &[]), check(&copied, &[]));
            assert_eq!(json(a), json(b), "{fixture}");
            let host = mapped.root().join("app");
            let m = std::fs::metadata(&host).unwrap();
            assert_eq!(m.len(), bytes(fixture).len() as u64, "{fixture}");
            assert_eq!(mapped.in_place(&host).is_some(), in_place, "{fixture}");
            assert!(copied.in_place(&copied.root().join("app")).is_none());
            if in_place {
                assert_eq!(m.blocks(), 0, "{fixture}: no byte of it is written");
                assert_eq!(mapped.in_place(&host).unwrap().bytes(), bytes(fixture));
            } else {
                assert_eq!(std::fs::read(&host).unwrap(), bytes(fixture), "{fixture}");
            }
        }
    }

    #[test]
    fn an_image_without_entrypoint_or_cmd_has_nothing_to_start() {
        let r = one(check(&image(&[("app", "go-static")], None), &[]));
        assert_eq!(r.path, "app.tar:");
        assert_eq!(r.problems[0].code, Code::NoEntrypoint);
        assert_eq!(
            r.problems[0].message,
            "the image has no Entrypoint and no Cmd: an engine has nothing to start"
        );
        // Named programs need no entrypoint.
        let r = one(check(&image(&[("app", "go-static")], None), &["/app"]));
        assert_eq!(r.verdict, Verdict::Pass);
    }

    #[test]
    fn missing_entrypoints_say_where_they_were_looked_for() {
        let img = image(
            &[("app", "dir"), ("bin/tool", "go-static")],
            Some("/server"),
        );
        let r = one(check(&img, &[]));
        assert_eq!(r.path, "app.tar:/server");
        assert_eq!(r.problems[0].code, Code::MissingEntrypoint);
        assert_eq!(
            r.problems[0].message,
            "/server is not in the image: starting it fails with \"no such file or directory\""
        );
        let r = one(check(&img, &["server"]));
        assert_eq!(r.path, "app.tar:server");
        assert_eq!(
            r.problems[0].message,
            "'server' is not an executable file in the image's PATH \
             (/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)"
        );
        let r = one(check(&img, &["/app"]));
        assert_eq!(
            (r.problems[0].code, r.problems[0].message.as_str()),
            (
                Code::MissingEntrypoint,
                "/app is a directory in the image, not a program"
            )
        );
        // A bare name is found in PATH.
        let r = one(check(&img, &["tool"]));
        assert_eq!(
            (r.path.as_str(), r.verdict),
            ("app.tar:/bin/tool", Verdict::Pass)
        );
    }

    #[test]
    fn findings_name_the_image_not_its_temporary_root() {
        let img = image(&[("app", "c-dynamic-pie")], Some("/app"));
        let r = one(check(&img, &[]));
        assert_eq!(r.problems[0].code, Code::MissingInterpreter);
        assert_eq!(
            r.problems[0].message,
            "needs the loader /lib64/ld-linux-x86-64.so.2, which is not in the image"
        );
        let root = img.root().display().to_string();
        for f in r.problems.iter().chain(&r.warnings) {
            assert!(!f.message.contains(&root) && !f.hint.as_ref().unwrap().contains(&root));
        }
    }

    #[test]
    fn the_config_gives_platform_env_and_working_dir() {
        let img = image_with(&[("app", "go-static")], Some("/app"), |c| {
            c.architecture = "arm64".into();
            c.config.env = Some(vec!["LD_LIBRARY_PATH=/opt/lib".into()]);
            c.config.working_dir = Some("relative".into());
        });
        assert_eq!(img.platform, "linux/arm64");
        let opts = options_for(&img, &ImageVerifyOptions::default());
        assert_eq!(opts.platform.as_ref().unwrap().machine, "aarch64");
        assert_eq!(opts.ld_library_path.as_deref(), Some("/opt/lib"));
        assert_eq!(opts.working_dir, None, "only an absolute WorkingDir counts");
        assert_eq!(opts.root_name.as_deref(), Some(IMAGE_ROOT_NAME));
        let r = one(check(&img, &[]));
        assert_eq!(r.problems[0].code, Code::WrongPlatform);
    }

    /// A source of images made in memory: what a registry source will be to the rules.
    struct Made(Vec<&'static str>);

    impl Images for Made {
        fn name(&self) -> String {
            "made".into()
        }

        fn read(
            &self,
            platform: Option<&str>,
            _: &Limits,
        ) -> Result<Vec<MergedImage>, SourceError> {
            Ok(self
                .0
                .iter()
                .filter(|p| platform.is_none_or(|want| want == **p))
                .map(|p| {
                    let mut img = image(&[("app", "go-static")], Some("/app"));
                    img.platform = p.to_string();
                    img
                })
                .collect())
        }
    }

    #[test]
    fn several_images_are_labelled_with_their_platform() {
        let source = Made(vec!["linux/amd64", "linux/arm64"]);
        let reports = verify_image(&source, &ImageVerifyOptions::default()).unwrap();
        let got: Vec<(&str, Verdict)> = reports
            .iter()
            .map(|r| (r.path.as_str(), r.verdict))
            .collect();
        assert_eq!(
            got,
            [
                ("made[linux/amd64]:/app", Verdict::Pass),
                ("made[linux/arm64]:/app", Verdict::Fail)
            ]
        );
        let mut opts = ImageVerifyOptions {
            platform: Some("linux/amd64".into()),
            ..ImageVerifyOptions::default()
        };
        let reports = verify_image(&source, &opts).unwrap();
        assert_eq!(reports[0].path, "made:/app");
        opts.platform = Some("linux/sparc".into());
        assert_eq!(
            verify_image(&source, &opts).unwrap_err().to_string(),
            "--platform: unknown platform 'linux/sparc': use linux/amd64, linux/arm64, \
             linux/arm/v7, linux/386, linux/riscv64, linux/ppc64le or linux/s390x"
        );
    }

    #[test]
    fn unreadable_sources_are_named() {
        let source = ImageSource::Path("/nonexistent.tar".into());
        let e = verify_image(&source, &ImageVerifyOptions::default()).unwrap_err();
        assert!(e.to_string().starts_with("/nonexistent.tar: "), "{e}");
        assert_eq!(ImageSource::Stdin.name(), "stdin");
    }

    /// A layer of `(path, fixture / "dir" / "fifo" / "chr", mode, uid)` entries.
    fn owned_layer(files: &[(&str, &str, u32, u64)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, what, mode, uid) in files {
            let mut h = tar::Header::new_gnu();
            let data = match *what {
                "dir" => {
                    h.set_entry_type(tar::EntryType::Directory);
                    Vec::new()
                }
                "fifo" => {
                    h.set_entry_type(tar::EntryType::Fifo);
                    Vec::new()
                }
                "chr" => {
                    h.set_entry_type(tar::EntryType::Char);
                    Vec::new()
                }
                "script" => b"#!/bin/sh\necho hi\n".to_vec(),
                f => bytes(f),
            };
            h.set_size(data.len() as u64);
            h.set_mode(*mode);
            h.set_uid(*uid);
            h.set_gid(*uid);
            h.set_cksum();
            b.append_data(&mut h, path, &data[..]).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn problem(r: &FileReport) -> (Code, &str) {
        (r.problems[0].code, r.problems[0].message.as_str())
    }

    #[test]
    fn special_files_fail_naming_their_kind() {
        let l = owned_layer(&[("app", "fifo", 0o755, 0), ("dev", "chr", 0o666, 0)]);
        let img = image_of_layer(l, Some("/app"), |_| {});
        let r = one(check(&img, &[]));
        assert_eq!(
            problem(&r),
            (
                Code::NotAProgram,
                "/app is a FIFO in the image, not a program: starting it fails with \
                 \"permission denied\""
            )
        );
        let r = one(check(&img, &["/dev"]));
        assert_eq!(
            problem(&r),
            (
                Code::NotAProgram,
                "/dev is a character device in the image, not a program: starting it fails \
                 with \"permission denied\""
            )
        );
    }

    #[test]
    fn the_user_and_the_owner_decide() {
        let l = owned_layer(&[
            ("bin", "dir", 0o750, 7),
            ("bin/app", "go-static", 0o700, 7),
            ("etc", "dir", 0o755, 0),
        ]);
        let with_user = |u: &str| {
            let u = u.to_string();
            image_of_layer(l.clone(), Some("/bin/app"), move |c| {
                c.config.user = Some(u)
            })
        };
        assert_eq!(one(check(&with_user("7"), &[])).verdict, Verdict::Pass);
        assert_eq!(one(check(&with_user(""), &[])).verdict, Verdict::Pass);
        let r = one(check(&with_user("8:7"), &[]));
        assert_eq!(
            problem(&r),
            (
                Code::PermissionDenied,
                "/bin/app is mode 0700 owned by 7:7, and user 8:7 (uid 8, gid 7) cannot \
                 execute it: starting it fails with \"permission denied\""
            )
        );
        let r = one(check(&with_user("8"), &[]));
        assert_eq!(
            problem(&r),
            (
                Code::PermissionDenied,
                "/bin is mode 0750 owned by 7:7, and user 8 (uid 8, gid 0) cannot search it: \
                 starting it fails with \"permission denied\""
            )
        );
        let r = one(check(&with_user("app"), &[]));
        assert_eq!(r.verdict, Verdict::Fail);
        assert_eq!(
            problem(&r),
            (
                Code::UnknownUser,
                "USER app: the image's /etc/passwd is missing: starting the container fails \
                 with \"unable to find user app\""
            )
        );
    }

    #[test]
    fn shell_form_scripts_and_an_empty_entrypoint() {
        let l = owned_layer(&[
            ("bin", "dir", 0o755, 0),
            ("bin/sh", "go-static", 0o755, 0),
            ("app", "c-dynamic-pie", 0o755, 0),
            ("run.sh", "script", 0o755, 0),
        ]);
        let img = |entry: &[&str], cmd: &[&str]| {
            let entry: Vec<String> = entry.iter().map(|s| s.to_string()).collect();
            let cmd: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
            image_of_layer(l.clone(), None, move |c| {
                c.config.entrypoint = Some(entry);
                c.config.cmd = Some(cmd);
            })
        };
        let reports = check(&img(&["/bin/sh", "-c", "exec /app --x"], &[]), &[]);
        let got: Vec<(&str, Verdict)> = reports
            .iter()
            .map(|r| (r.path.as_str(), r.verdict))
            .collect();
        assert_eq!(
            got,
            [
                ("app.tar:/bin/sh", Verdict::Pass),
                ("app.tar:/app", Verdict::Fail)
            ]
        );
        let r = one(check(&img(&["/bin/sh", "-c", "/app $X"], &[]), &[]));
        assert_eq!(r.verdict, Verdict::Pass);
        assert_eq!(r.warnings[0].code, Code::UnfollowedShellCommand);
        let strict = ImageVerifyOptions {
            strict: true,
            ..ImageVerifyOptions::default()
        };
        let r = one(check_image(
            &img(&["/bin/sh", "-c", "/app $X"], &[]),
            "app.tar",
            &strict,
        ));
        assert_eq!(
            (r.verdict, r.problems[0].code),
            (Verdict::Fail, Code::UnfollowedShellCommand)
        );
        let r = one(check(&img(&["/run.sh"], &[]), &[]));
        assert_eq!(
            (r.verdict, r.script_interpreter.as_deref()),
            (Verdict::Pass, Some("/bin/sh"))
        );
        let r = one(check(&img(&[""], &["/run.sh"]), &[]));
        assert_eq!(
            (r.path.as_str(), r.verdict),
            ("app.tar:/run.sh", Verdict::Pass)
        );
        let r = one(check(&img(&[""], &[]), &[]));
        assert_eq!(r.problems[0].code, Code::NoEntrypoint);
    }
}
