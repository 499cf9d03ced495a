//! The scratch gate: will this file start in the target image, and if not, why and how to fix
//! it in the language it was built with.
//!
//! [`check`] is a pure function of the analysis (plus, with `--root`, the files of that root);
//! [`verify_path`] adds the file handling: reading, UPX unpacking, scripts.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Serialize;

use crate::elf::{self, Analysis, ElfFile, Linkage};
use crate::error::Error;
use crate::input::{Input, sniff};
use crate::report::human;
use crate::resolve;

/// A `--platform` value such as `linux/amd64` or `linux/arm/v7`, as Docker spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// The platform as given, e.g. `linux/arm64`.
    pub name: String,
    /// The ELF machine name it requires (`x86_64`, `aarch64`, ...).
    pub machine: &'static str,
    /// The ELF class it requires (`elf32` or `elf64`).
    pub class: &'static str,
    /// The highest CPU level its variant promises (`linux/amd64/v2`: x86-64-v2). `None` without
    /// a variant: then the CPU level is not checked.
    pub max_level: Option<PlatformLevel>,
}

/// The CPU level a platform variant promises: a file that needs a higher one of the same family
/// cannot run on every CPU of the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlatformLevel {
    /// The family (x86-64, 32-bit ARM, 64-bit ARM).
    pub family: elf::cpu::Family,
    /// The rank, as [`elf::CpuLevel::rank`] counts.
    pub rank: u32,
}

impl PlatformLevel {
    /// True when every CPU of this level runs a program that needs level `rank` of the same
    /// family. Levels are ordered, except that Armv9.x is based on Armv8.(x+5): a v9.0 CPU has
    /// what v8.5 requires, and nothing of v8.6.
    pub fn covers(&self, rank: u32) -> bool {
        let (major, minor) = (rank / 10, rank % 10);
        match (self.family, self.rank / 10, major) {
            (elf::cpu::Family::Arm64, 9, 8) => minor <= self.rank % 10 + 5,
            _ => rank <= self.rank,
        }
    }

    /// The level's name as [`elf::CpuLevel::name`] spells it (`x86-64-v2`, `armv6`, `armv8.0-a`).
    pub fn name(&self) -> String {
        use elf::cpu::Family;
        match self.family {
            Family::X86_64 => elf::cpu::x86_64_name(self.rank),
            Family::Arm => format!("armv{}", self.rank),
            Family::Arm64 => elf::cpu::arm64_name(self.rank),
        }
    }
}

impl Platform {
    /// The platform an image config names (`os/architecture[/variant]`): like `parse`, but a
    /// variant binslim does not know only drops the CPU level check, so that the architecture is
    /// still checked. `None` when the architecture is not one binslim knows.
    pub fn from_image(s: &str) -> Option<Platform> {
        s.parse().ok().or_else(|| {
            let mut parts = s.split('/');
            let os_arch = format!("{}/{}", parts.next()?, parts.next()?);
            let mut p: Platform = os_arch.parse().ok()?;
            p.name = s.to_string();
            Some(p)
        })
    }
}

impl FromStr for Platform {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut parts = s.split('/');
        let os = parts.next().unwrap_or("");
        let arch = parts.next().unwrap_or("");
        let variant = parts.next();
        if os != "linux" {
            return Err(format!(
                "unsupported platform '{s}': binslim checks linux/* platforms (e.g. linux/amd64)"
            ));
        }
        let (machine, class) = match arch {
            "amd64" => ("x86_64", "elf64"),
            "arm64" => ("aarch64", "elf64"),
            "arm" => ("arm", "elf32"),
            "386" => ("i386", "elf32"),
            "riscv64" => ("riscv64", "elf64"),
            "ppc64le" => ("ppc64le", "elf64"),
            "s390x" => ("s390x", "elf64"),
            _ => {
                return Err(format!(
                    "unknown platform '{s}': use linux/amd64, linux/arm64, linux/arm/v7, \
                     linux/386, linux/riscv64, linux/ppc64le or linux/s390x"
                ));
            }
        };
        if parts.next().is_some() {
            return Err(format!(
                "unknown platform '{s}': the form is OS/ARCH[/VARIANT], e.g. linux/arm/v7"
            ));
        }
        let max_level = match variant {
            None => None,
            Some(v) => Some(variant_level(arch, v).ok_or_else(|| {
                format!(
                    "unknown variant '{v}' in platform '{s}': {}",
                    known_variants(arch)
                )
            })?),
        };
        Ok(Platform {
            name: s.to_string(),
            machine,
            class,
            max_level,
        })
    }
}

/// The level a variant of `arch` promises, for the variants Docker and containerd name.
fn variant_level(arch: &str, v: &str) -> Option<PlatformLevel> {
    use elf::cpu::{Family, parse_arm64_variant, parse_x86_64_variant};
    let (family, rank) = match arch {
        "amd64" => (Family::X86_64, parse_x86_64_variant(v)?),
        // containerd also accepts the bare number (`linux/arm/7`).
        "arm" => {
            let n: u32 = v.strip_prefix('v').unwrap_or(v).parse().ok()?;
            (Family::Arm, Some(n).filter(|n| (5..=8).contains(n))?)
        }
        "arm64" => (Family::Arm64, parse_arm64_variant(v)?),
        _ => return None,
    };
    Some(PlatformLevel { family, rank })
}

fn known_variants(arch: &str) -> String {
    match arch {
        "amd64" => "linux/amd64 has v1, v2, v3 and v4 (x86-64 levels)".into(),
        "arm" => "linux/arm has v5, v6, v7 and v8".into(),
        "arm64" => "linux/arm64 has v8, v8.1 .. v8.9, v9, v9.1 .. v9.5".into(),
        _ => format!("binslim knows no variants of linux/{arch}: leave the variant out"),
    }
}

/// What to check.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// Fail a binary built for another platform.
    pub platform: Option<Platform>,
    /// Check against this image root instead of an empty one.
    pub root: Option<PathBuf>,
    /// Turn warnings into failures, and fail libraries and objects found in a walk.
    pub strict: bool,
    /// Fail files larger than this many bytes.
    pub max_size: Option<u64>,
    /// Fail files that still have a symbol table or debug sections.
    pub require_stripped: bool,
    /// Fail UPX-packed files.
    pub forbid_upx: bool,
    /// upx to unpack packed files with (None: packed files cannot be verified).
    pub upx: Option<PathBuf>,
    /// `LD_LIBRARY_PATH` as the program will see it (`--env`, or an image's `Env`); only
    /// meaningful with `root`.
    pub ld_library_path: Option<String>,
    /// What `root`'s loader searches, read once for every file these options check.
    pub root_facts: resolve::RootFacts,
    /// The working directory the program starts in (an image's `WorkingDir`; `/` when None):
    /// relative library search path elements are taken from it. Only meaningful with `root`.
    pub working_dir: Option<String>,
}

/// The outcome for one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Will start in the target.
    Pass,
    /// Will not start (or breaks a policy).
    Fail,
    /// Could not be analyzed.
    Error,
}

/// One problem or warning, with a stable code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable identifier (documented in README.md).
    pub code: &'static str,
    /// What is wrong, in one line.
    pub message: String,
    /// How to fix it, in the build's own language.
    pub hint: Option<String>,
}

impl Finding {
    fn new(
        code: &'static str,
        message: impl Into<String>,
        hint: impl Into<Option<String>>,
    ) -> Self {
        Finding {
            code,
            message: message.into(),
            hint: hint.into(),
        }
    }
}

/// The result of verifying one file.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    /// The path as given or found in a walk.
    pub path: String,
    /// Pass, fail or error.
    pub verdict: Verdict,
    /// The linkage, when the file is ELF.
    pub linkage: Option<Linkage>,
    /// The machine, when the file is ELF.
    pub machine: Option<String>,
    /// The file size in bytes.
    pub file_size: Option<u64>,
    /// True when the file was UPX-packed and the unpacked original was verified.
    pub unpacked: bool,
    /// Why it fails.
    pub problems: Vec<Finding>,
    /// What may go wrong at run time.
    pub warnings: Vec<Finding>,
    /// With `--root`: every library the loader looks for, in load order (empty otherwise).
    pub libraries: Vec<resolve::Library>,
    /// With `--root`: the loader's real path in the root, when it exists.
    #[serde(skip)]
    pub loader: Option<String>,
}

/// What [`check`] found: problems, warnings, and with `--root` the libraries.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    /// Why it fails.
    pub problems: Vec<Finding>,
    /// What may go wrong at run time.
    pub warnings: Vec<Finding>,
    /// With `--root`: the libraries, in load order.
    pub libraries: Vec<resolve::Library>,
    /// With `--root`: the loader's real path in the root.
    pub loader: Option<String>,
}

impl FileReport {
    /// The report for a file that could not be analyzed (verdict `error`, code `unreadable`).
    pub fn error(path: &str, err: &Error) -> Self {
        FileReport {
            path: path.to_string(),
            verdict: Verdict::Error,
            linkage: None,
            machine: None,
            file_size: None,
            unpacked: false,
            problems: vec![Finding::new("unreadable", err.to_string(), None)],
            warnings: Vec::new(),
            libraries: Vec::new(),
            loader: None,
        }
    }
}

/// How a file came to be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Named on the command line: anything that is not a startable program fails.
    Named,
    /// Found in a directory walk: libraries and objects are reported but pass unless strict.
    Walked,
}

/// The build language, for fix hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    Go,
    Rust,
    Musl,
    C,
}

fn lang(a: &Analysis) -> Lang {
    if a.go.is_some() {
        Lang::Go
    } else if a.rust.is_some() {
        Lang::Rust
    } else if a.interpreter.as_deref().is_some_and(|i| i.contains("musl"))
        || a.needed.iter().any(|n| n == "libc.so")
    {
        Lang::Musl
    } else {
        Lang::C
    }
}

fn link_hint(a: &Analysis) -> String {
    match lang(a) {
        Lang::Go => {
            let go = a.go.as_ref();
            let setting = |k: &str| go.and_then(|g| g.settings.get(k)).map(String::as_str);
            if !a.needed.is_empty() || setting("CGO_ENABLED") == Some("1") {
                "build with CGO_ENABLED=0; if cgo is needed, link statically: \
                 go build -ldflags '-linkmode external -extldflags \"-static\"'"
                    .into()
            } else if setting("-buildmode") == Some("pie") || a.elf_type == "dyn" {
                "drop -buildmode=pie (CGO_ENABLED=0 go build gives a static binary), or link \
                 static-pie: go build -buildmode=pie -ldflags '-linkmode external -extldflags \
                 \"-static-pie\"'"
                    .into()
            } else {
                "build with CGO_ENABLED=0".into()
            }
        }
        Lang::Rust => "build with RUSTFLAGS='-C target-feature=+crt-static' (glibc, static-pie) \
                       or for the x86_64-unknown-linux-musl target"
            .into(),
        Lang::Musl => "link statically: musl-gcc -static".into(),
        Lang::C => "link statically: gcc -static (or -static-pie)".into(),
    }
}

/// `wrong-cpu-level` when the file records a CPU level above the one `p`'s variant promises.
/// A file that records no level, and a platform without a variant, are not checked.
fn cpu_level_finding(a: &Analysis, p: &Platform) -> Option<Finding> {
    let level = a.cpu_level.as_ref()?;
    let max = p.max_level?;
    if level.family != max.family || max.covers(level.rank) {
        return None;
    }
    let message = format!(
        "needs {level} ({}), but the target platform {} promises only {}: on such a CPU {}",
        level.source,
        p.name,
        max.name(),
        cpu_level_consequence(a, level)
    );
    Some(Finding::new(
        "wrong-cpu-level",
        message,
        Some(cpu_level_hint(a, level, max)),
    ))
}

/// What happens on a CPU below `level`: Go's runtime checks GOAMD64 (and GOARM's VFPv3) at
/// start and says so; glibc's loader refuses a dynamic program whose ISA note the CPU lacks;
/// everything else runs until the first newer instruction.
fn cpu_level_consequence(a: &Analysis, level: &elf::CpuLevel) -> String {
    use elf::cpu::Source;
    const SIGILL: &str = "it fails with SIGILL (illegal instruction)";
    match &level.source {
        Source::Go { key: "GOAMD64", .. } => format!(
            "the Go runtime stops it at start (\"This program can only be run on AMD64 \
             processors with v{} microarchitecture support.\")",
            level.rank
        ),
        Source::Go {
            key: "GOARM",
            value,
        } if level.rank >= 7 && !value.contains("softfloat") => {
            "the Go runtime stops it at start (\"this CPU has no VFPv3 floating point \
             hardware\") or it fails with SIGILL (illegal instruction)"
                .to_string()
        }
        Source::GnuProperty if a.linkage == Linkage::Dynamic => {
            "glibc's loader refuses it (\"CPU ISA level is lower than required\")".to_string()
        }
        _ => SIGILL.to_string(),
    }
}

/// How to build for level `max`, in the build's language.
fn cpu_level_hint(a: &Analysis, level: &elf::CpuLevel, max: PlatformLevel) -> String {
    use elf::cpu::{Family, Source};
    let want = max.name();
    match (lang(a), max.family) {
        (Lang::Go, Family::X86_64) => format!("build with GOAMD64=v{}", max.rank),
        (Lang::Go, Family::Arm) => format!("build with GOARM={}", max.rank),
        (Lang::Go, Family::Arm64) => {
            format!("build with GOARM64=v{}.{}", max.rank / 10, max.rank % 10)
        }
        (Lang::Rust, Family::X86_64) => {
            let cpu = if max.rank <= 1 { "x86-64" } else { &want };
            format!(
                "build with RUSTFLAGS='-C target-cpu={cpu}' (and link with -z {cpu_z}, not -z \
                 {level})",
                cpu_z = elf::cpu::x86_64_name(max.rank)
            )
        }
        (Lang::Rust, Family::Arm) => format!(
            "build for an ARMv{} target (arm-unknown-linux-musleabihf is ARMv6, \
             armv7-unknown-linux-musleabihf ARMv7) or with RUSTFLAGS='-C target-cpu=...'",
            max.rank
        ),
        (_, Family::X86_64) => {
            let march = if max.rank <= 1 { "x86-64" } else { &want };
            let link = if level.source == Source::GnuProperty {
                format!(
                    " and link with -Wl,-z,{want} (the note says {level}: from -Wl,-z,{level} or \
                     gcc -mneeded)"
                )
            } else {
                String::new()
            };
            format!("compile with -march={march}{link}")
        }
        (_, Family::Arm) => format!(
            "compile with -march=armv{}+fp (-march=armv{} for soft-float) and libraries built \
             for it: Debian's armhf is ARMv7, armel ARMv5",
            max.rank, max.rank
        ),
        (_, Family::Arm64) => format!("compile with -march={want}"),
    }
}

/// Checks one analyzed ELF file. `elf` is its parsed view (for Go function names and NSS strings);
/// `path_in_root` is where it sits in the image (for `$ORIGIN` with `--root`).
pub fn check(
    elf: &ElfFile<'_>,
    a: &Analysis,
    opts: &VerifyOptions,
    origin: Origin,
    path_in_root: &str,
) -> Checked {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let mut libraries = Vec::new();
    let mut loader = None;

    // Every container that `FROM scratch` builds runs on the Linux kernel (Android's is Linux).
    if let Some(os) =
        a.os.as_deref()
            .filter(|os| !matches!(*os, "linux" | "android"))
    {
        problems.push(Finding::new(
            "wrong-os",
            format!(
                "built for {os}, but containers run on the Linux kernel: it cannot run in the image"
            ),
            Some(match lang(a) {
                Lang::Go => "build with GOOS=linux".to_string(),
                Lang::Rust => "build for a Linux target, e.g. cargo build --target \
                               x86_64-unknown-linux-musl"
                    .to_string(),
                _ => "build it with a Linux toolchain (gcc, musl-gcc, or a cross compiler for \
                      Linux)"
                    .to_string(),
            }),
        ));
    }

    if let Some(p) = &opts.platform
        && (a.machine != p.machine || a.class != p.class)
    {
        problems.push(Finding::new(
            "wrong-platform",
            format!(
                "built for {} ({}), but the target platform {} needs {} ({})",
                a.machine, a.class, p.name, p.machine, p.class
            ),
            Some(format!(
                "build for {} (GOARCH / --target / cross compiler)",
                p.name
            )),
        ));
    } else if let Some(p) = &opts.platform
        && let Some(f) = cpu_level_finding(a, p)
    {
        problems.push(f);
    }

    match a.linkage {
        Linkage::Static | Linkage::StaticPie => {}
        Linkage::Dynamic => {
            let interp = a.interpreter.clone().unwrap_or_default();
            match &opts.root {
                None => {
                    let mut needs = interp.clone();
                    if !a.needed.is_empty() {
                        needs = format!("{needs} and {}", a.needed.join(", "));
                    }
                    let go_pie = a.needed.is_empty() && a.go.is_some();
                    let msg = if go_pie {
                        format!(
                            "dynamically linked (Go -buildmode=pie: ldd says \"statically \
                             linked\", but the kernel needs the loader), needs {needs}"
                        )
                    } else {
                        format!("dynamically linked, needs {needs}")
                    };
                    problems.push(Finding::new("dynamic", msg, Some(link_hint(a))));
                }
                Some(root) => {
                    let defaults = resolve::ResolveOptions::default();
                    let ropts = resolve::ResolveOptions {
                        ld_library_path: opts.ld_library_path.clone(),
                        working_dir: opts.working_dir.clone().unwrap_or(defaults.working_dir),
                        facts: opts.root_facts.clone(),
                    };
                    let res = resolve::resolve(root, elf, path_in_root, &ropts);
                    root_findings(root, a, &res, &mut problems, &mut warnings);
                    libraries = res.libraries;
                    loader = res.interpreter_path;
                }
            }
        }
        Linkage::BrokenDynamic => problems.push(Finding::new(
            "no-interpreter",
            format!(
                "needs shared libraries ({}) but names no loader: it cannot start anywhere",
                a.needed.join(", ")
            ),
            Some(link_hint(a)),
        )),
        // ET_DYN with an entry point, no loader and no dynamic section: it looks like a
        // program, but nothing shows it relocates itself (see linkage::classify).
        Linkage::Unknown if a.elf_type == "dyn" && a.entry != 0 => {
            problems.push(Finding::new(
                "unproven-static-pie",
                "is position-independent (ET_DYN) with an entry point but no PT_DYNAMIC: nothing \
                 shows that it relocates itself, so it is not a provable static-pie",
                Some(
                    "link it as a real static-pie (gcc -static-pie keeps the dynamic section it \
                     relocates itself with) or as a fixed-address static executable (-static)"
                        .to_string(),
                ),
            ));
        }
        Linkage::SharedLibrary | Linkage::Relocatable | Linkage::Core | Linkage::Unknown => {
            let what = match a.linkage {
                Linkage::SharedLibrary => "a shared library",
                Linkage::Relocatable => "a relocatable object file",
                Linkage::Core => "a core dump",
                _ => "an ELF file of unknown type",
            };
            if origin == Origin::Named || opts.strict {
                problems.push(Finding::new(
                    "not-a-program",
                    format!("is {what}, not a program"),
                    Some("verify the program that uses it".into()),
                ));
            }
            return Checked {
                problems,
                warnings,
                ..Checked::default()
            };
        }
    }

    if let Some(max) = opts.max_size
        && a.file_size > max
    {
        problems.push(Finding::new(
            "too-large",
            format!(
                "is {} ({} bytes), more than --max-size {}",
                human(a.file_size),
                a.file_size,
                human(max)
            ),
            Some("binslim shrink removes debug data and symbols; --upx packs it".into()),
        ));
    }
    if opts.require_stripped && (!a.stripped || a.debug_size > 0) {
        problems.push(Finding::new(
            "not-stripped",
            format!(
                "is not stripped: {} of debug data and symbols",
                human(a.strippable_size)
            ),
            Some(match lang(a) {
                Lang::Go => "go build -ldflags='-s -w', or binslim shrink".into(),
                Lang::Rust => "set profile.release.strip = true, or binslim shrink".into(),
                _ => "link with -s, or binslim shrink".into(),
            }),
        ));
    }

    runtime_file_warnings(elf, a, opts, &mut warnings);
    if opts.strict {
        problems.append(&mut warnings);
    }
    Checked {
        problems,
        warnings,
        libraries,
        loader,
    }
}

/// The findings of a resolution inside `--root` (problems, and warnings such as ld.so.conf
/// without a cache); `binslim image --with-libs` refuses on the same problems.
pub fn root_findings(
    root: &Path,
    a: &Analysis,
    res: &resolve::Resolution,
    problems: &mut Vec<Finding>,
    warnings: &mut Vec<Finding>,
) {
    let rd = root.display();
    if let Some(i) = &res.missing_interpreter {
        problems.push(Finding::new(
            "missing-interpreter",
            format!("needs the loader {i}, which is not in {rd}"),
            Some(format!("COPY {i} into the image, or {}", link_hint(a))),
        ));
    }
    if let Some(why) = &res.bad_interpreter {
        let i = a.interpreter.as_deref().unwrap_or_default();
        problems.push(Finding::new(
            "bad-interpreter",
            format!("needs the loader {i}, and the one in {rd} {why}: the kernel cannot start it"),
            Some(format!(
                "COPY the {} loader into the image, or {}",
                a.machine,
                link_hint(a)
            )),
        ));
    }
    for (lib, by) in &res.missing_libraries {
        problems.push(Finding::new(
            "missing-library",
            format!("needs {lib} (for {by}), which is not found in {rd}"),
            Some(format!(
                "COPY {lib} into a library directory of the image, or {}",
                link_hint(a)
            )),
        ));
    }
    for b in &res.bad_libraries {
        problems.push(Finding::new(
            "bad-library",
            format!(
                "needs {} (for {}), and the loader finds {} in {rd}, which it cannot load: {}",
                b.name,
                file_name_of(&b.needed_by),
                b.path,
                b.reason
            ),
            Some(format!(
                "replace or remove {} in the image, or {}",
                b.path,
                link_hint(a)
            )),
        ));
    }
    for m in &res.missing_versions {
        problems.push(version_finding(&rd.to_string(), m));
    }
    for w in &res.warnings {
        warnings.push(Finding::new(
            w.code,
            w.message.clone(),
            Some(w.hint.clone()),
        ));
    }
}

fn file_name_of(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// `GLIBC_2.38` -> (`GLIBC_`, [2, 38]); `None` for names without a dotted release number.
fn split_version(v: &str) -> Option<(&str, Vec<u64>)> {
    let cut = v.rfind('_')? + 1;
    // A release number has a dot (GLIBC_2.38, GLIBCXX_3.4.30); VERS_2 is just a name.
    if !v[cut..].contains('.') {
        return None;
    }
    let nums: Option<Vec<u64>> = v[cut..].split('.').map(|n| n.parse().ok()).collect();
    Some((&v[..cut], nums?))
}

/// A missing-symbol-version finding in the user's terms: for numbered families (`GLIBC_2.38`,
/// `GLIBCXX_3.4.32`, ...) the newest the library has against the newest needed, else the list.
fn version_finding(root: &str, m: &resolve::MissingVersions) -> Finding {
    let family = split_version(&m.missing[0]).map(|(p, _)| p);
    let same_family = family.is_some_and(|f| {
        m.missing
            .iter()
            .all(|v| split_version(v).is_some_and(|(p, _)| p == f))
    });
    let newest = |list: &mut dyn Iterator<Item = &String>| -> Option<String> {
        list.filter_map(|v| split_version(v).map(|(p, n)| (p.to_string(), n, v.clone())))
            .filter(|(p, _, _)| Some(p.as_str()) == family)
            .max_by(|x, y| x.1.cmp(&y.1))
            .map(|(_, _, v)| v)
    };
    let has = newest(&mut m.defined.iter());
    let needs = newest(&mut m.missing.iter());
    let (message, hint) = match (same_family, has, needs) {
        (true, Some(has), Some(needs)) => (
            format!(
                "{} in {root} provides {has} at most; {} needs {needs}",
                m.library, m.needed_by
            ),
            "build on the image's release (or older), or link statically".to_string(),
        ),
        _ => (
            format!(
                "{} in {root} does not define {} (needed by {})",
                m.library,
                m.missing.join(", "),
                m.needed_by
            ),
            format!(
                "put the build of {} that {} was linked against into the image, or link \
                 statically",
                m.library, m.needed_by
            ),
        ),
    };
    Finding::new("missing-symbol-version", message, Some(hint))
}

/// Files that scratch lacks but the program will look for at run time.
fn runtime_file_warnings(
    elf: &ElfFile<'_>,
    a: &Analysis,
    opts: &VerifyOptions,
    out: &mut Vec<Finding>,
) {
    let in_root = |p: &str| {
        opts.root
            .as_ref()
            .is_some_and(|r| resolve::resolve_in_root(r, p).is_some())
    };
    if a.go.is_some() {
        go_file_warnings(elf, a, &in_root, out);
    }
    // Static glibc: getpwnam, getaddrinfo and friends go through NSS. glibc >= 2.34 has the
    // files and dns sources built in; every other source is a libnss_*.so.2 module, which a
    // static program cannot load in scratch. glibc's NSS code names those modules
    // (`libnss_%s.so%s`, or `libnss_` in older glibc) in a string that survives stripping; Go's
    // own resolver and musl have no such string. A Go program gets here through cgo linked
    // with -extldflags -static. Docker mounts /etc/hosts and /etc/resolv.conf into every
    // container, so what scratch really lacks is /etc/passwd and /etc/group.
    if a.linkage.is_self_contained() && !in_root("/etc/passwd") && uses_glibc_nss(elf) {
        out.push(Finding::new(
            "static-glibc-nss",
            "statically linked glibc that uses NSS (getpwnam, getaddrinfo, ...): in scratch user \
             and group lookups fail quietly (no /etc/passwd, /etc/group), and NSS sources other \
             than files and dns cannot be loaded",
            Some(match lang(a) {
                Lang::Go => "build with CGO_ENABLED=0, or with -tags netgo,osusergo so that Go's \
                             own lookups are used; COPY /etc/passwd and /etc/group if it looks up \
                             users"
                    .to_string(),
                _ => "COPY /etc/passwd and /etc/group into the image if it looks up users (glibc \
                      2.34 and later reads them without shared modules), or link against musl \
                      (musl-gcc -static)"
                    .to_string(),
            }),
        ));
    }
}

/// The files a Go program looks for at run time, from the function names in `.gopclntab`.
fn go_file_warnings(
    elf: &ElfFile<'_>,
    a: &Analysis,
    in_root: &dyn Fn(&str) -> bool,
    out: &mut Vec<Finding>,
) {
    let Some(needs) = elf::needs::go_needs(elf) else {
        return;
    };
    let certs = elf::needs::CA_BUNDLE;
    if needs.certs && !in_root(certs) {
        out.push(Finding::new(
            "needs-ca-certificates",
            format!("loads the system root certificates ({certs}), which scratch lacks: TLS connections will fail"),
            Some(format!(
                "COPY --from=build {certs} {certs}, or embed fallback roots: import _ \"golang.org/x/crypto/x509roots/fallback\""
            )),
        ));
    }
    if needs.zoneinfo && !in_root(elf::needs::ZONEINFO) {
        out.push(Finding::new(
            "needs-zoneinfo",
            "loads time zones from /usr/share/zoneinfo, which scratch lacks: LoadLocation fails",
            Some(
                "COPY --from=build /usr/share/zoneinfo /usr/share/zoneinfo, or embed them: \
                 import _ \"time/tzdata\" (or -tags timetzdata)"
                    .to_string(),
            ),
        ));
    }
    if needs.users && !in_root("/etc/passwd") {
        let cgo =
            a.go.as_ref()
                .and_then(|g| g.settings.get("CGO_ENABLED"))
                .is_some_and(|v| v == "1");
        out.push(Finding::new(
            "needs-passwd",
            "looks up users and groups (os/user) in /etc/passwd and /etc/group, which scratch lacks",
            Some(if cgo {
                "build with -tags netgo,osusergo and COPY a minimal /etc/passwd and /etc/group".to_string()
            } else {
                "COPY a minimal /etc/passwd and /etc/group into the image".to_string()
            }),
        ));
    }
}

/// The bytes of the loaded, read-only, non-executable sections (where string constants live).
fn read_only_data<'a>(elf: &ElfFile<'a>) -> Vec<&'a [u8]> {
    use goblin::elf::section_header::{SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE};
    elf.shdrs
        .iter()
        .filter(|sh| {
            sh.sh_flags & u64::from(SHF_ALLOC) != 0
                && sh.sh_flags & u64::from(SHF_EXECINSTR | SHF_WRITE) == 0
        })
        .map(|sh| elf.section_data(sh))
        .collect()
}

/// glibc's names for NSS modules, reversed: `libnss_%s.so%s` (glibc 2.33 and later) and the
/// C string `libnss_` (older glibc). Kept reversed so that binslim's own bytes do not hold
/// them: a static binslim would otherwise warn about itself, as any tool carrying the
/// needle would.
const NSS_NEEDLES_REVERSED: [&[u8]; 2] = [b"s%os.s%_ssnbil", b"\0_ssnbil"];

/// A static program whose read-only data names glibc's NSS modules.
fn uses_glibc_nss(elf: &ElfFile<'_>) -> bool {
    let data = read_only_data(elf);
    NSS_NEEDLES_REVERSED.iter().any(|reversed| {
        let needle: Vec<u8> = reversed.iter().rev().copied().collect();
        contains(&data, &needle)
    })
}

fn contains(hay: &[&[u8]], needle: &[u8]) -> bool {
    hay.iter()
        .any(|h| memchr::memmem::find(h, needle).is_some())
}

/// Verifies one file: reads it, unpacks UPX if it can, and checks it.
pub fn verify_path(path: &Path, display: &str, opts: &VerifyOptions, origin: Origin) -> FileReport {
    match Input::open(path) {
        Ok(input) => verify_input(path, display, &input, opts, origin),
        Err(e) => FileReport::error(display, &e),
    }
}

/// Verifies an opened file: its bytes, as [`verify_bytes`] does, and its permission bits.
pub fn verify_input(
    path: &Path,
    display: &str,
    input: &Input,
    opts: &VerifyOptions,
    origin: Origin,
) -> FileReport {
    verify_with_mode(path, display, input.bytes(), input.mode(), opts, origin)
}

/// Verifies a file's bytes and its permission bits (`st_mode`), as [`verify_input`] does, for
/// callers that read the file themselves (a directory walk reads small files into a buffer it
/// reuses, instead of mapping each one).
pub fn verify_with_mode(
    path: &Path,
    display: &str,
    data: &[u8],
    mode: u32,
    opts: &VerifyOptions,
    origin: Origin,
) -> FileReport {
    let mut report = verify_bytes(path, display, data, opts, origin);
    // `COPY` keeps the mode, and execve needs an execute bit even for root.
    let is_program = report.linkage.is_some_and(Linkage::is_program);
    if is_program && mode & 0o111 == 0 {
        let finding = Finding::new(
            "not-executable",
            format!(
                "has no execute permission (mode {:04o}): starting it fails with \"permission \
                 denied\"",
                mode & 0o7777
            ),
            Some("chmod +x it before it is copied, or COPY --chmod=755".into()),
        );
        if origin == Origin::Named || opts.strict {
            report.problems.push(finding);
            report.verdict = Verdict::Fail;
        } else {
            report.warnings.push(finding);
        }
    }
    report
}

/// Verifies a file whose bytes are already read or mapped (`path` is used for UPX unpacking
/// and for its location inside `--root`).
pub fn verify_bytes(
    path: &Path,
    display: &str,
    data: &[u8],
    opts: &VerifyOptions,
    origin: Origin,
) -> FileReport {
    if let Err(Error::Script { shebang }) = sniff(data) {
        let interp = shebang
            .trim_start_matches("#!")
            .split_whitespace()
            .next()
            .unwrap_or("/bin/sh")
            .to_string();
        return FileReport {
            path: display.to_string(),
            verdict: Verdict::Fail,
            linkage: None,
            machine: None,
            file_size: Some(data.len() as u64),
            unpacked: false,
            problems: vec![Finding::new(
                "script",
                format!("script needs {interp}, which scratch lacks"),
                Some("ship a compiled binary, or use a base image with a shell".into()),
            )],
            warnings: Vec::new(),
            libraries: Vec::new(),
            loader: None,
        };
    }
    let parsed = match ElfFile::parse(data) {
        Ok(p) => p,
        Err(e) => return FileReport::error(display, &e),
    };
    // Verdicts never show per-section detail: skip building it (directory walks are hot).
    let a = elf::analyze_with(&parsed, elf::Detail::Summary);
    let path_in_root = location_in_root(path, opts.root.as_deref());
    let mut report = FileReport {
        path: display.to_string(),
        verdict: Verdict::Pass,
        linkage: Some(a.linkage),
        machine: Some(a.machine.clone()),
        file_size: Some(a.file_size),
        unpacked: false,
        problems: Vec::new(),
        warnings: Vec::new(),
        libraries: Vec::new(),
        loader: None,
    };
    let checked = if a.upx.is_some() {
        if opts.forbid_upx {
            report.problems.push(Finding::new(
                "upx-packed",
                "is UPX-packed, which --forbid-upx does not allow",
                Some("drop --upx from binslim shrink (or the upx step of the build)".into()),
            ));
        }
        match unpack_and_check(path, opts, origin, &path_in_root) {
            Ok((checked, unpacked)) => {
                report.linkage = Some(unpacked.linkage);
                report.unpacked = true;
                checked
            }
            Err(msg) => Checked {
                problems: vec![Finding::new(
                    "upx-unverifiable",
                    msg,
                    Some("run binslim verify before packing, or put upx on PATH".into()),
                )],
                ..Checked::default()
            },
        }
    } else {
        check(&parsed, &a, opts, origin, &path_in_root)
    };
    report.problems.extend(checked.problems);
    report.warnings = checked.warnings;
    report.libraries = checked.libraries;
    report.loader = checked.loader;
    if !report.problems.is_empty() {
        report.verdict = Verdict::Fail;
    }
    report
}

/// Where the file sits in the image: its path relative to `--root` when it lies inside the root,
/// else `/NAME` (as `COPY server /` would put it).
fn location_in_root(path: &Path, root: Option<&Path>) -> String {
    let inside = root.and_then(|r| {
        let r = r.canonicalize().ok()?;
        let p = path.canonicalize().ok()?;
        let rel = p.strip_prefix(&r).ok()?.to_string_lossy().into_owned();
        Some(format!("/{rel}"))
    });
    inside.unwrap_or_else(|| {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        format!("/{}", name.unwrap_or_default())
    })
}

/// Unpacks a UPX-packed file into a temporary copy and checks the copy under the same origin
/// and policy as the file named.
fn unpack_and_check(
    path: &Path,
    opts: &VerifyOptions,
    origin: Origin,
    path_in_root: &str,
) -> Result<(Checked, Analysis), String> {
    let Some(upx) = &opts.upx else {
        return Err(
            "is UPX-packed, which hides its real linkage, and upx is not on PATH to \
                    unpack a copy"
                .into(),
        );
    };
    let dir =
        tempfile::tempdir().map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    let copy = dir.path().join("unpacked");
    match crate::upx::unpack(upx, path, &copy) {
        Ok(crate::upx::Outcome::Packed) => {}
        Ok(
            crate::upx::Outcome::Declined { message, .. }
            | crate::upx::Outcome::Failed { message, .. },
        ) => {
            return Err(format!("is UPX-packed and upx -d failed: {message}"));
        }
        Err(e) => return Err(format!("is UPX-packed and upx could not run: {e}")),
    }
    let input = Input::open(&copy).map_err(|e| format!("cannot read the unpacked copy: {e}"))?;
    let parsed = ElfFile::parse(input.bytes()).map_err(|e| format!("the unpacked copy {e}"))?;
    let a = elf::analyze_with(&parsed, elf::Detail::Summary);
    Ok((check(&parsed, &a, opts, origin, path_in_root), a))
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Error => "ERROR",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The message and fix the issue asks for, in the user's terms.
    #[test]
    fn glibc_version_findings_name_the_newest_on_both_sides() {
        let m = resolve::MissingVersions {
            library: "libc.so.6".into(),
            needed_by: "/app".into(),
            missing: vec!["GLIBC_2.38".into(), "GLIBC_2.37".into()],
            defined: [
                "libc.so.6",
                "GLIBC_2.2.5",
                "GLIBC_2.36",
                "GLIBC_2.4",
                "GLIBC_PRIVATE",
            ]
            .map(String::from)
            .to_vec(),
        };
        let f = version_finding("ROOT", &m);
        assert_eq!(f.code, "missing-symbol-version");
        assert_eq!(
            f.message,
            "libc.so.6 in ROOT provides GLIBC_2.36 at most; /app needs GLIBC_2.38"
        );
        assert_eq!(
            f.hint.as_deref(),
            Some("build on the image's release (or older), or link statically")
        );
        let m = resolve::MissingVersions {
            missing: vec!["VERS_2".into(), "VERS_3".into()],
            defined: vec!["VERS_1".into()],
            library: "libvers.so.1".into(),
            ..m
        };
        assert_eq!(
            version_finding("ROOT", &m).message,
            "libvers.so.1 in ROOT does not define VERS_2, VERS_3 (needed by /app)"
        );
    }

    #[test]
    fn platforms() {
        let p: Platform = "linux/arm/v7".parse().unwrap();
        assert_eq!((p.machine, p.class), ("arm", "elf32"));
        let p: Platform = "linux/amd64".parse().unwrap();
        assert_eq!((p.machine, p.class), ("x86_64", "elf64"));
        assert_eq!(p.max_level, None);
        let level = |s: &str| s.parse::<Platform>().unwrap().max_level.unwrap();
        assert_eq!(level("linux/amd64/v2").name(), "x86-64-v2");
        assert_eq!(level("linux/amd64/v1").name(), "x86-64-baseline");
        assert_eq!(level("linux/arm/v6").name(), "armv6");
        assert_eq!(level("linux/arm/7").name(), "armv7");
        assert_eq!(level("linux/arm64/v8").name(), "armv8.0-a");
        assert_eq!(level("linux/arm64/v8.2").name(), "armv8.2-a");
        // Armv9.0 is based on Armv8.5; v9 has features no v8.x requires.
        assert!(level("linux/arm64/v9").covers(85));
        assert!(!level("linux/arm64/v9").covers(86));
        assert!(level("linux/arm64/v9.1").covers(86));
        assert!(!level("linux/arm64/v8.9").covers(90));
        assert!(level("linux/arm64/v8.2").covers(82));
        assert!(!level("linux/arm64/v8.2").covers(83));
        assert!(level("linux/amd64/v3").covers(3) && !level("linux/amd64/v3").covers(4));
        assert_eq!(
            "linux/amd64/v5".parse::<Platform>().unwrap_err(),
            "unknown variant 'v5' in platform 'linux/amd64/v5': linux/amd64 has v1, v2, v3 \
             and v4 (x86-64 levels)"
        );
        assert!(
            "linux/386/v2"
                .parse::<Platform>()
                .unwrap_err()
                .ends_with("binslim knows no variants of linux/386: leave the variant out")
        );
        assert!("linux/arm/v7/x".parse::<Platform>().is_err());
        // An image's unknown variant keeps the architecture check.
        let p = Platform::from_image("linux/riscv64/rva22u64").unwrap();
        assert_eq!((p.machine, p.max_level), ("riscv64", None));
        assert_eq!(p.name, "linux/riscv64/rva22u64");
        assert!(Platform::from_image("windows/amd64").is_none());
        assert!(
            "windows/amd64"
                .parse::<Platform>()
                .unwrap_err()
                .contains("linux/*")
        );
        assert!(
            "linux/sparc"
                .parse::<Platform>()
                .unwrap_err()
                .starts_with("unknown platform")
        );
    }
}
