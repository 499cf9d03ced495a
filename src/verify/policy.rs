//! The scratch gate's rules, one function each, as pure functions of the analysis (and, with
//! `--root`, of that root's files); [`check`] composes them in the order findings are reported.

use std::path::Path;

use crate::elf::{Analysis, ElfFile, ElfType, Linkage};
use crate::resolve;
use crate::units::human;

use super::codes::Code;
use super::hints::{Lang, cpu_level_consequence, cpu_level_hint, lang, link_hint};
use super::platform::Platform;
use super::root::root_findings_named;
use super::runtime::runtime_file_warnings;
use super::{Checked, Finding, Origin, VerifyOptions};

/// Checks one analyzed ELF file. `elf` is its parsed view (for Go function names and NSS strings);
/// `path_in_root` is where it sits in the image (for `$ORIGIN` with `--root`).
pub fn check(
    elf: &ElfFile<'_>,
    a: &Analysis,
    opts: &VerifyOptions,
    origin: Origin,
    path_in_root: &str,
) -> Checked {
    let mut c = Checked::default();
    c.problems.extend(wrong_os(a));
    if let Some(p) = &opts.platform {
        c.problems
            .extend(wrong_platform(a, p).or_else(|| wrong_cpu_level(a, p)));
    }

    match a.linkage {
        Linkage::Static | Linkage::StaticPie => {}
        Linkage::Dynamic => match &opts.root {
            None => c.problems.push(dynamic(a)),
            Some(root) => resolve_in(root, elf, a, opts, path_in_root, &mut c),
        },
        Linkage::BrokenDynamic => c.problems.push(no_interpreter(a)),
        Linkage::Unknown if looks_like_static_pie(a) => c.problems.push(unproven_static_pie()),
        Linkage::SharedLibrary | Linkage::Relocatable | Linkage::Core | Linkage::Unknown => {
            if origin == Origin::Named || opts.strict {
                c.problems.push(not_a_program(a));
            }
            return c;
        }
    }

    c.problems.extend(too_large(a, opts.max_size));
    if opts.require_stripped {
        c.problems.extend(not_stripped(a));
    }
    runtime_file_warnings(elf, a, opts, &mut c.warnings);
    if opts.strict {
        c.problems.append(&mut c.warnings);
    }
    c
}

/// `wrong-os`: every container that `FROM scratch` builds runs on the Linux kernel (Android's
/// is Linux).
pub(super) fn wrong_os(a: &Analysis) -> Option<Finding> {
    let os =
        a.os.as_deref()
            .filter(|os| !matches!(*os, "linux" | "android"))?;
    Some(Finding::new(
        Code::WrongOs,
        format!(
            "built for {os}, but containers run on the Linux kernel: it cannot run in the image"
        ),
        Some(match lang(a) {
            Lang::Go => "build with GOOS=linux".to_string(),
            Lang::Rust => "build for a Linux target, e.g. cargo build --target \
                           x86_64-unknown-linux-musl"
                .to_string(),
            _ => "build it with a Linux toolchain (gcc, musl-gcc, or a cross compiler for Linux)"
                .to_string(),
        }),
    ))
}

/// `wrong-platform`: another machine or class than the target platform needs.
pub(super) fn wrong_platform(a: &Analysis, p: &Platform) -> Option<Finding> {
    if a.machine == p.machine && a.class == p.class {
        return None;
    }
    Some(Finding::new(
        Code::WrongPlatform,
        format!(
            "built for {} ({}), but the target platform {} needs {} ({})",
            a.machine, a.class, p.name, p.machine, p.class
        ),
        Some(format!(
            "build for {} (GOARCH / --target / cross compiler)",
            p.name
        )),
    ))
}

/// `wrong-cpu-level` when the file records a CPU level above the one `p`'s variant promises.
/// A file that records no level, and a platform without a variant, are not checked.
pub(super) fn wrong_cpu_level(a: &Analysis, p: &Platform) -> Option<Finding> {
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
        Code::WrongCpuLevel,
        message,
        Some(cpu_level_hint(a, level, max)),
    ))
}

/// `dynamic`: a dynamic program in an empty root, which has no loader and no libraries.
pub(super) fn dynamic(a: &Analysis) -> Finding {
    let mut needs = a.interpreter.clone().unwrap_or_default();
    if !a.needed.is_empty() {
        needs = format!("{needs} and {}", a.needed.join(", "));
    }
    let go_pie = a.needed.is_empty() && a.go.is_some();
    let msg = if go_pie {
        format!(
            "dynamically linked (Go -buildmode=pie: ldd says \"statically linked\", but the \
             kernel needs the loader), needs {needs}"
        )
    } else {
        format!("dynamically linked, needs {needs}")
    };
    Finding::new(Code::Dynamic, msg, Some(link_hint(a)))
}

/// A dynamic program in a real root: resolved as its loader would, with the findings of that
/// resolution, the libraries and the loader's path.
fn resolve_in(
    root: &Path,
    elf: &ElfFile<'_>,
    a: &Analysis,
    opts: &VerifyOptions,
    path_in_root: &str,
    c: &mut Checked,
) {
    let defaults = resolve::ResolveOptions::default();
    let mut ropts = resolve::ResolveOptions::default();
    ropts.ld_library_path = opts.ld_library_path.clone();
    ropts.working_dir = opts.working_dir.clone().unwrap_or(defaults.working_dir);
    ropts.facts = opts.root_facts.clone();
    ropts.root_name = opts.root_name.clone();
    let res = resolve::resolve(root, elf, path_in_root, &ropts);
    let name = match &opts.root_name {
        Some(n) => n.clone(),
        None => root.display().to_string(),
    };
    root_findings_named(&name, a, &res, &mut c.problems, &mut c.warnings);
    c.libraries = res.libraries;
    c.loader = res.interpreter_path;
}

/// `no-interpreter`: needs shared libraries but names no loader.
pub(super) fn no_interpreter(a: &Analysis) -> Finding {
    Finding::new(
        Code::NoInterpreter,
        format!(
            "needs shared libraries ({}) but names no loader: it cannot start anywhere",
            a.needed.join(", ")
        ),
        Some(link_hint(a)),
    )
}

/// ET_DYN with an entry point, no loader and no dynamic section: it looks like a program, but
/// nothing shows it relocates itself (see `linkage::classify`).
fn looks_like_static_pie(a: &Analysis) -> bool {
    a.elf_type == ElfType::Dyn && a.entry != 0
}

/// `unproven-static-pie`, for a file [`looks_like_static_pie`].
pub(super) fn unproven_static_pie() -> Finding {
    Finding::new(
        Code::UnprovenStaticPie,
        "is position-independent (ET_DYN) with an entry point but no PT_DYNAMIC: nothing shows \
         that it relocates itself, so it is not a provable static-pie",
        Some(
            "link it as a real static-pie (gcc -static-pie keeps the dynamic section it \
             relocates itself with) or as a fixed-address static executable (-static)"
                .to_string(),
        ),
    )
}

/// `not-a-program`: a library, object file or core dump where a program was expected.
pub(super) fn not_a_program(a: &Analysis) -> Finding {
    let what = match a.linkage {
        Linkage::SharedLibrary => "a shared library",
        Linkage::Relocatable => "a relocatable object file",
        Linkage::Core => "a core dump",
        _ => "an ELF file of unknown type",
    };
    Finding::new(
        Code::NotAProgram,
        format!("is {what}, not a program"),
        Some("verify the program that uses it".into()),
    )
}

/// `too-large`: larger than `--max-size`.
pub(super) fn too_large(a: &Analysis, max_size: Option<u64>) -> Option<Finding> {
    let max = max_size.filter(|max| a.file_size > *max)?;
    Some(Finding::new(
        Code::TooLarge,
        format!(
            "is {} ({} bytes), more than --max-size {}",
            human(a.file_size),
            a.file_size,
            human(max)
        ),
        Some("binslim shrink removes debug data and symbols; --upx packs it".into()),
    ))
}

/// `not-stripped` (with `--require-stripped`): a symbol table or debug data remain.
pub(super) fn not_stripped(a: &Analysis) -> Option<Finding> {
    if a.stripped && a.debug_size == 0 {
        return None;
    }
    Some(Finding::new(
        Code::NotStripped,
        format!(
            "is not stripped: {} of debug data and symbols",
            human(a.strippable_size)
        ),
        Some(match lang(a) {
            Lang::Go => "go build -ldflags='-s -w', or binslim shrink".into(),
            Lang::Rust => "set profile.release.strip = true, or binslim shrink".into(),
            _ => "link with -s, or binslim shrink".into(),
        }),
    ))
}
