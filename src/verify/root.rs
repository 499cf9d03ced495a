//! The findings of a resolution inside a root (`--root`, an image's merged layers): a missing
//! or wrong loader, missing or unloadable libraries, missing symbol versions, in the user's
//! terms. `binslim image --with-libs` refuses on the same problems.

use std::path::Path;

use crate::elf::Analysis;
use crate::resolve;

use super::Finding;
use super::codes::Code;
use super::hints::link_hint;

/// The findings of a resolution inside `--root` (problems, and warnings such as ld.so.conf
/// without a cache), naming the root by its path; `binslim image --with-libs` refuses on the
/// same problems.
pub fn root_findings(
    root: &Path,
    a: &Analysis,
    res: &resolve::Resolution,
    problems: &mut Vec<Finding>,
    warnings: &mut Vec<Finding>,
) {
    root_findings_named(&root.display().to_string(), a, res, problems, warnings);
}

/// [`root_findings`], with the root named `rd` in messages (`the image` for an image's
/// merged layers).
pub fn root_findings_named(
    rd: &str,
    a: &Analysis,
    res: &resolve::Resolution,
    problems: &mut Vec<Finding>,
    warnings: &mut Vec<Finding>,
) {
    if let Some(i) = &res.missing_interpreter {
        problems.push(Finding::new(
            Code::MissingInterpreter,
            format!("needs the loader {i}, which is not in {rd}"),
            Some(format!("COPY {i} into the image, or {}", link_hint(a))),
        ));
    }
    if let Some(why) = &res.bad_interpreter {
        let i = a.interpreter.as_deref().unwrap_or_default();
        problems.push(Finding::new(
            Code::BadInterpreter,
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
            Code::MissingLibrary,
            format!("needs {lib} (for {by}), which is not found in {rd}"),
            Some(format!(
                "COPY {lib} into a library directory of the image, or {}",
                link_hint(a)
            )),
        ));
    }
    for b in &res.bad_libraries {
        problems.push(Finding::new(
            Code::BadLibrary,
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
        problems.push(version_finding(rd, m));
    }
    for w in &res.warnings {
        warnings.push(Finding::new(
            w.code.into(),
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
pub(super) fn version_finding(root: &str, m: &resolve::MissingVersions) -> Finding {
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
    Finding::new(Code::MissingSymbolVersion, message, Some(hint))
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
        assert_eq!(f.code, Code::MissingSymbolVersion);
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
}

/// Resolutions in a real root, named by its path (`--root`) or as "the image".
#[cfg(test)]
mod root_tests {
    use std::fs;
    use std::path::Path;

    use crate::verify::fixtures::{bytes, with};
    use crate::verify::{Checked, Code, Origin, VerifyOptions, check};

    const LOADER: &str = "/lib64/ld-linux-x86-64.so.2";

    fn check_in(root: &Path, name: Option<&str>) -> Checked {
        let opts = VerifyOptions {
            root: Some(root.to_path_buf()),
            root_name: name.map(str::to_string),
            ..VerifyOptions::default()
        };
        with("c-dynamic-pie", |elf, a| {
            check(elf, a, &opts, Origin::Named, "/app")
        })
    }

    fn put(root: &Path, path: &str, data: &[u8]) {
        let p = root.join(path.trim_start_matches('/'));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, data).unwrap();
    }

    #[test]
    fn missing_loader_and_library_name_the_root() {
        let root = tempfile::tempdir().unwrap();
        let c = check_in(root.path(), Some("the image"));
        let codes: Vec<Code> = c.problems.iter().map(|f| f.code).collect();
        assert_eq!(codes, [Code::MissingInterpreter, Code::MissingLibrary]);
        assert_eq!(
            c.problems[0].message,
            "needs the loader /lib64/ld-linux-x86-64.so.2, which is not in the image"
        );
        assert_eq!(
            c.problems[0].hint.as_deref(),
            Some(
                "COPY /lib64/ld-linux-x86-64.so.2 into the image, or link statically: gcc \
                 -static (or -static-pie)"
            )
        );
        assert_eq!(
            c.problems[1].message,
            "needs libc.so.6 (for app), which is not found in the image"
        );
        // `--root DIR` names the directory.
        let c = check_in(root.path(), None);
        assert_eq!(
            c.problems[0].message,
            format!(
                "needs the loader {LOADER}, which is not in {}",
                root.path().display()
            )
        );
    }

    #[test]
    fn a_loader_that_is_not_elf_is_a_bad_interpreter() {
        let root = tempfile::tempdir().unwrap();
        put(root.path(), LOADER, &bytes("not-elf.txt"));
        let c = check_in(root.path(), Some("the image"));
        assert_eq!(c.problems[0].code, Code::BadInterpreter);
        assert_eq!(
            c.problems[0].message,
            "needs the loader /lib64/ld-linux-x86-64.so.2, and the one in the image is not a \
             loader: is a text file, not an ELF binary: the kernel cannot start it"
        );
        assert_eq!(
            c.problems[0].hint.as_deref(),
            Some(
                "COPY the x86_64 loader into the image, or link statically: gcc -static (or \
                 -static-pie)"
            )
        );
    }

    /// With the host's loader: a libc that is not ELF, and ld.so.conf without a cache.
    #[test]
    fn bad_libraries_and_conf_without_cache() {
        let Ok(loader) = fs::read(LOADER) else {
            return;
        };
        let root = tempfile::tempdir().unwrap();
        put(root.path(), LOADER, &loader);
        put(
            root.path(),
            "/lib/x86_64-linux-gnu/libc.so.6",
            &bytes("go-static"),
        );
        put(root.path(), "/etc/ld.so.conf", b"/opt/lib\n");
        let c = check_in(root.path(), Some("the image"));
        assert_eq!(c.problems[0].code, Code::BadLibrary);
        assert_eq!(
            c.problems[0].message,
            "needs libc.so.6 (for app), and the loader finds /lib/x86_64-linux-gnu/libc.so.6 in \
             the image, which it cannot load: cannot dynamically load executable"
        );
        assert_eq!(c.warnings[0].code, Code::LdSoConfWithoutCache);
        assert_eq!(
            c.warnings[0].message,
            "/etc/ld.so.conf names /opt/lib, but the image has no /etc/ld.so.cache: the loader \
             never reads ld.so.conf, only the cache ldconfig builds from it, so it does not \
             search there"
        );
        assert_eq!(
            c.warnings[0].hint.as_deref(),
            Some(
                "run ldconfig -r the image to build /etc/ld.so.cache (in a Dockerfile: RUN \
                 ldconfig in a stage that has it, then COPY the cache)"
            )
        );
        assert_eq!(c.loader.as_deref(), Some(LOADER));
    }
}
