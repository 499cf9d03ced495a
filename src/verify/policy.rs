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
        // Never a pass, not even in a walk: it has the headers of a program and no code.
        Linkage::DebugFile => {
            c.problems.push(not_a_program(a));
            return c;
        }
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

/// What a file is checked as where it was met: a program that is also a shared library
/// (glibc's `libc.so.6`, libcap: PT_INTERP and DT_SONAME, no DF_1_PIE) is a library in a
/// directory walk, which passes unless `--strict`; named, it is the dynamic program it also is.
pub fn use_as(a: &mut Analysis, origin: Origin) {
    if origin == Origin::Walked && a.runnable_library && a.linkage == Linkage::Dynamic {
        a.linkage = Linkage::SharedLibrary;
    }
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

/// `dynamic`: a dynamic program in an empty root, which has no loader and no libraries. The
/// loader is named once, also when a DT_NEEDED entry names it too (glibc's `libc.so.6` needs
/// `ld-linux-x86-64.so.2`, its own PT_INTERP).
pub(super) fn dynamic(a: &Analysis) -> Finding {
    let interp = a.interpreter.clone().unwrap_or_default();
    let is_loader =
        |n: &str| interp == n || interp.strip_suffix(n).is_some_and(|dir| dir.ends_with('/'));
    let libraries: Vec<&str> = a
        .needed
        .iter()
        .map(String::as_str)
        .filter(|n| !is_loader(n))
        .collect();
    let mut needs = interp.clone();
    if !libraries.is_empty() {
        needs = format!("{needs} and {}", libraries.join(", "));
    }
    let go_pie = libraries.is_empty() && a.go.is_some();
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
    let ropts = resolve::ResolveOptions {
        ld_library_path: opts.ld_library_path.clone(),
        working_dir: opts.working_dir.clone().unwrap_or(defaults.working_dir),
        facts: opts.root_facts.clone(),
        root_name: opts.root_name.clone(),
    };
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
        Linkage::DebugFile => {
            return Finding::new(
                Code::NotAProgram,
                "is a debug file, not a program: its code has no bytes in the file (objcopy \
                 --only-keep-debug), and started it crashes",
                Some("verify the program it was split from".into()),
            );
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::fixtures::{analysis, with};

    fn platform(s: &str) -> Platform {
        s.parse().unwrap()
    }

    fn hint(f: &Finding) -> &str {
        f.hint.as_deref().unwrap_or_default()
    }

    #[test]
    fn wrong_os_names_the_kernel() {
        let f = wrong_os(&analysis("freebsd-static")).unwrap();
        assert_eq!(f.code, Code::WrongOs);
        assert_eq!(
            f.message,
            "built for freebsd, but containers run on the Linux kernel: it cannot run in the image"
        );
        assert_eq!(
            hint(&f),
            "build it with a Linux toolchain (gcc, musl-gcc, or a cross compiler for Linux)"
        );
        assert_eq!(wrong_os(&analysis("go-static")), None);
    }

    #[test]
    fn wrong_platform_names_both_machines() {
        let a = analysis("go-static");
        let f = wrong_platform(&a, &platform("linux/arm64")).unwrap();
        assert_eq!(f.code, Code::WrongPlatform);
        assert_eq!(
            f.message,
            "built for x86_64 (elf64), but the target platform linux/arm64 needs aarch64 (elf64)"
        );
        assert_eq!(
            hint(&f),
            "build for linux/arm64 (GOARCH / --target / cross compiler)"
        );
        assert_eq!(wrong_platform(&a, &platform("linux/amd64/v2")), None);
        let arm = analysis("arm-v7");
        assert_eq!(wrong_platform(&arm, &platform("linux/arm/v6")), None);
    }

    #[test]
    fn wrong_cpu_level_compares_with_the_variant() {
        let a = analysis("musl-x86-64-v3");
        let f = wrong_cpu_level(&a, &platform("linux/amd64/v2")).unwrap();
        assert_eq!(f.code, Code::WrongCpuLevel);
        assert_eq!(
            f.message,
            "needs x86-64-v3 (x86 ISA needed in .note.gnu.property), but the target platform \
             linux/amd64/v2 promises only x86-64-v2: on such a CPU it fails with SIGILL \
             (illegal instruction)"
        );
        assert_eq!(
            hint(&f),
            "compile with -march=x86-64-v2 and link with -Wl,-z,x86-64-v2 (the note says \
             x86-64-v3: from -Wl,-z,x86-64-v3 or gcc -mneeded)"
        );
        assert_eq!(wrong_cpu_level(&a, &platform("linux/amd64/v3")), None);
        assert_eq!(wrong_cpu_level(&a, &platform("linux/amd64")), None);
        let f = wrong_cpu_level(&analysis("arm-v7"), &platform("linux/arm/v6")).unwrap();
        assert_eq!(
            f.message,
            "needs armv7 (Tag_CPU_arch in .ARM.attributes), but the target platform \
             linux/arm/v6 promises only armv6: on such a CPU it fails with SIGILL (illegal \
             instruction)"
        );
        assert_eq!(
            hint(&f),
            "compile with -march=armv6+fp (-march=armv6 for soft-float) and libraries built \
             for it: Debian's armhf is ARMv7, armel ARMv5"
        );
    }

    #[test]
    fn dynamic_names_the_loader_and_the_fix_for_the_language() {
        let f = dynamic(&analysis("c-dynamic-pie"));
        assert_eq!(f.code, Code::Dynamic);
        assert_eq!(
            f.message,
            "dynamically linked, needs /lib64/ld-linux-x86-64.so.2 and libc.so.6"
        );
        assert_eq!(hint(&f), "link statically: gcc -static (or -static-pie)");
        let f = dynamic(&analysis("go-pie"));
        assert_eq!(
            f.message,
            "dynamically linked (Go -buildmode=pie: ldd says \"statically linked\", but the \
             kernel needs the loader), needs /lib64/ld-linux-x86-64.so.2"
        );
        assert_eq!(
            hint(&f),
            "drop -buildmode=pie (CGO_ENABLED=0 go build gives a static binary), or link \
             static-pie: go build -buildmode=pie -ldflags '-linkmode external -extldflags \
             \"-static-pie\"'"
        );
    }

    #[test]
    fn dynamic_names_the_loader_once() {
        let mut a = analysis("c-dynamic-pie");
        a.needed.push("ld-linux-x86-64.so.2".into());
        assert_eq!(
            dynamic(&a).message,
            "dynamically linked, needs /lib64/ld-linux-x86-64.so.2 and libc.so.6"
        );
        a.needed = vec!["ld-linux-x86-64.so.2".into()];
        assert_eq!(
            dynamic(&a).message,
            "dynamically linked, needs /lib64/ld-linux-x86-64.so.2"
        );
        a.needed = vec!["x86-64.so.2".into()];
        assert_eq!(
            dynamic(&a).message,
            "dynamically linked, needs /lib64/ld-linux-x86-64.so.2 and x86-64.so.2"
        );
    }

    #[test]
    fn no_interpreter_lists_the_libraries() {
        let mut a = analysis("c-dynamic-pie");
        a.linkage = Linkage::BrokenDynamic;
        a.interpreter = None;
        let f = no_interpreter(&a);
        assert_eq!(f.code, Code::NoInterpreter);
        assert_eq!(
            f.message,
            "needs shared libraries (libc.so.6) but names no loader: it cannot start anywhere"
        );
        assert_eq!(hint(&f), "link statically: gcc -static (or -static-pie)");
    }

    #[test]
    fn unproven_static_pie_only_for_et_dyn_with_an_entry() {
        with("c-static-pie", |elf, a| {
            let mut a = a.clone();
            a.linkage = Linkage::Unknown;
            assert!(looks_like_static_pie(&a));
            let c = check(elf, &a, &VerifyOptions::default(), Origin::Walked, "/x");
            assert_eq!(c.problems, vec![unproven_static_pie()]);
            assert_eq!(c.problems[0].code, Code::UnprovenStaticPie);
            a.entry = 0;
            assert!(!looks_like_static_pie(&a));
        });
        let mut a = analysis("c-static");
        a.linkage = Linkage::Unknown;
        assert!(!looks_like_static_pie(&a), "ET_EXEC");
    }

    #[test]
    fn not_a_program_fails_when_named_or_strict() {
        with("libgreet.so", |elf, a| {
            let f = not_a_program(a);
            assert_eq!(f.code, Code::NotAProgram);
            assert_eq!(f.message, "is a shared library, not a program");
            assert_eq!(hint(&f), "verify the program that uses it");
            let opts = VerifyOptions::default();
            assert_eq!(check(elf, a, &opts, Origin::Named, "/x").problems, vec![f]);
            assert!(
                check(elf, a, &opts, Origin::Walked, "/x")
                    .problems
                    .is_empty()
            );
            let strict = VerifyOptions {
                strict: true,
                ..VerifyOptions::default()
            };
            assert_eq!(
                check(elf, a, &strict, Origin::Walked, "/x").problems.len(),
                1
            );
        });
        assert_eq!(
            not_a_program(&analysis("c-object.o")).message,
            "is a relocatable object file, not a program"
        );
    }

    #[test]
    fn too_large_gives_both_units() {
        let a = analysis("c-debug");
        let f = too_large(&a, Some(1000)).unwrap();
        assert_eq!(f.code, Code::TooLarge);
        assert_eq!(
            f.message,
            "is 16.7 KiB (17064 bytes), more than --max-size 1000 B"
        );
        assert_eq!(
            hint(&f),
            "binslim shrink removes debug data and symbols; --upx packs it"
        );
        assert_eq!(too_large(&a, Some(17064)), None);
        assert_eq!(too_large(&a, None), None);
    }

    #[test]
    fn not_stripped_counts_what_strip_removes() {
        let f = not_stripped(&analysis("c-debug")).unwrap();
        assert_eq!(f.code, Code::NotStripped);
        assert_eq!(
            f.message,
            "is not stripped: 2.5 KiB of debug data and symbols"
        );
        assert_eq!(hint(&f), "link with -s, or binslim shrink");
        assert_eq!(not_stripped(&analysis("go-static")), None);
    }

    /// `check` reports in a fixed order and, with `--strict`, turns warnings into problems.
    #[test]
    fn check_composes_the_rules_in_order() {
        with("c-debug", |elf, a| {
            let opts = VerifyOptions {
                platform: Some(platform("linux/arm64")),
                max_size: Some(1000),
                require_stripped: true,
                ..VerifyOptions::default()
            };
            let codes: Vec<Code> = check(elf, a, &opts, Origin::Named, "/c-debug")
                .problems
                .iter()
                .map(|f| f.code)
                .collect();
            assert_eq!(
                codes,
                [
                    Code::WrongPlatform,
                    Code::Dynamic,
                    Code::TooLarge,
                    Code::NotStripped
                ]
            );
        });
        with("go-tls", |elf, a| {
            let c = check(elf, a, &VerifyOptions::default(), Origin::Named, "/go-tls");
            assert!(c.problems.is_empty());
            assert_eq!(c.warnings.len(), 3);
            let strict = VerifyOptions {
                strict: true,
                ..VerifyOptions::default()
            };
            let c = check(elf, a, &strict, Origin::Named, "/go-tls");
            assert_eq!((c.problems.len(), c.warnings.len()), (3, 0));
        });
    }
}
