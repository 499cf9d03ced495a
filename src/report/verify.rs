//! `binslim verify`'s text: one block per file, the `--verbose` library list, the summary
//! line, and the `binslim: PATH: reason` lines of files that could not be analyzed.

use crate::verify::{FileReport, Verdict};

use super::{Style, human};

/// What the text shows.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct TextOptions {
    /// Only failures (and no summary).
    pub quiet: bool,
    /// Every library and where the loader finds it.
    pub verbose: bool,
}

/// The reports as text for stdout: each file ([`render`], with [`render_libraries`] when
/// verbose), then the [`summary`] when more than one file was checked or any skipped.
pub fn text(reports: &[FileReport], skipped: usize, opts: TextOptions, style: Style) -> String {
    let mut out = String::new();
    for r in reports {
        if opts.quiet && r.verdict != Verdict::Fail {
            continue;
        }
        render_into(&mut out, r, style);
        if opts.verbose {
            out.push_str(&render_libraries(r));
        }
    }
    if !opts.quiet && (reports.len() > 1 || skipped > 0) {
        out.push_str(&summary(reports, skipped));
    }
    out
}

/// `binslim: PATH: reason` for each file that could not be analyzed, for stderr.
pub fn errors(reports: &[FileReport]) -> String {
    let mut s = String::new();
    for r in reports.iter().filter(|r| r.verdict == Verdict::Error) {
        let msg = r.problems.first().map(|p| p.message.as_str()).unwrap_or("");
        s.push_str(&format!("binslim: {}: {msg}\n", r.path));
    }
    s
}

/// One report as text: `PASS path: what it is`, or `FAIL path: problem` with `fix:` and `also:`
/// lines, then its warnings. Nothing for an error (its reason goes to stderr: [`errors`]).
pub fn render(r: &FileReport, st: Style) -> String {
    let mut s = String::new();
    render_into(&mut s, r, st);
    s
}

/// [`render`], appended to `s` (a walk renders hundreds of reports into one text, with no
/// string of its own per line).
fn render_into(s: &mut String, r: &FileReport, st: Style) {
    use std::fmt::Write as _;
    // Writing to a String cannot fail.
    match r.verdict {
        Verdict::Pass => {
            let linkage = r.linkage.map(|l| l.as_str()).unwrap_or("?");
            let mut what = format!(
                "{linkage} {}, {}",
                r.machine.as_deref().unwrap_or("?"),
                human(r.file_size.unwrap_or(0))
            );
            if r.unpacked {
                what.push_str(" (UPX-packed; verified the unpacked original)");
            }
            if let Some(l) = r.linkage
                && !l.is_program()
            {
                what = format!("{linkage}, not a program (skipped)");
            }
            if let Some(i) = &r.script_interpreter {
                what = format!("script for {i}, {}", human(r.file_size.unwrap_or(0)));
            }
            let _ = writeln!(s, "{} {}: {what}", st.good("PASS"), r.path);
        }
        Verdict::Fail => {
            let first = &r.problems[0];
            let _ = writeln!(s, "{} {}: {}", st.bad("FAIL"), r.path, first.message);
            if let Some(h) = &first.hint {
                let _ = writeln!(s, "  fix: {h}");
            }
            for p in &r.problems[1..] {
                let _ = writeln!(s, "  also: {}", p.message);
                if let Some(h) = &p.hint {
                    let _ = writeln!(s, "  fix: {h}");
                }
            }
        }
        // Already on stderr as `binslim: PATH: reason`, like every verb's errors.
        Verdict::Error => {}
    }
    for w in &r.warnings {
        let _ = writeln!(s, "  {}: {}", st.warn("warning"), w.message);
        if let Some(h) = &w.hint {
            let _ = writeln!(s, "  fix: {h}");
        }
    }
}

/// `--verbose`: the loader and every library, where the loader finds it and how.
pub fn render_libraries(r: &FileReport) -> String {
    let mut s = String::new();
    if let Some(l) = &r.loader {
        s.push_str(&format!("  loader {l}\n"));
    }
    for lib in &r.libraries {
        let place = match (&lib.path, lib.found_via) {
            (Some(p), Some(via)) => format!("{p} ({})", via.as_str()),
            (Some(p), None) => format!("{p} (cannot be loaded)"),
            _ => "not found".to_string(),
        };
        s.push_str(&format!("  {} => {place}", lib.name));
        if !lib.missing_versions.is_empty() {
            s.push_str(&format!(", lacks {}", lib.missing_versions.join(", ")));
        }
        s.push('\n');
    }
    s
}

/// The last line of a multi-file run: how many passed, failed, erred, warned and were skipped.
pub fn summary(reports: &[FileReport], skipped: usize) -> String {
    let count = |v: Verdict| reports.iter().filter(|r| r.verdict == v).count();
    let mut s = format!(
        "checked {}: {} passed, {} failed",
        reports.len(),
        count(Verdict::Pass),
        count(Verdict::Fail)
    );
    let errors = count(Verdict::Error);
    if errors > 0 {
        s.push_str(&format!(", {errors} could not be analyzed"));
    }
    let warned = reports.iter().filter(|r| !r.warnings.is_empty()).count();
    if warned > 0 {
        s.push_str(&format!(", {warned} with warnings"));
    }
    if skipped > 0 {
        s.push_str(&format!("; skipped {skipped} non-ELF files and symlinks"));
    }
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf::Linkage;
    use crate::verify::{Code, Finding};

    fn pass(path: &str) -> FileReport {
        let mut r = FileReport::failure(path, Code::Dynamic, "", None);
        r.verdict = Verdict::Pass;
        r.problems.clear();
        r.linkage = Some(Linkage::Static);
        r.machine = Some("x86_64".into());
        r.file_size = Some(1536);
        r
    }

    fn fail() -> FileReport {
        let mut r = FileReport::failure(
            "app",
            Code::Dynamic,
            "dynamically linked",
            Some("link statically".into()),
        );
        r.problems
            .push(Finding::new(Code::TooLarge, "is too large", None));
        r.warnings.push(Finding::new(
            Code::NeedsZoneinfo,
            "loads time zones",
            Some("embed them".into()),
        ));
        r
    }

    #[test]
    fn reports_render_as_pass_and_fail_blocks() {
        let st = Style::new(false);
        assert_eq!(render(&pass("a"), st), "PASS a: static x86_64, 1.5 KiB\n");
        let mut packed = pass("a");
        packed.unpacked = true;
        assert_eq!(
            render(&packed, st),
            "PASS a: static x86_64, 1.5 KiB (UPX-packed; verified the unpacked original)\n"
        );
        assert_eq!(
            render(&fail(), st),
            "FAIL app: dynamically linked\n  fix: link statically\n  also: is too large\n  \
             warning: loads time zones\n  fix: embed them\n"
        );
        assert_eq!(render(&FileReport::unreadable("x", "not found"), st), "");
    }

    #[test]
    fn text_counts_and_quiet_keeps_failures() {
        let reports = [pass("a"), fail(), FileReport::unreadable("x", "not found")];
        let st = Style::new(false);
        let all = text(&reports, 2, TextOptions::default(), st);
        assert!(all.ends_with(
            "checked 3: 1 passed, 1 failed, 1 could not be analyzed, 1 with warnings; skipped 2 \
             non-ELF files and symlinks\n"
        ));
        let quiet = TextOptions {
            quiet: true,
            ..TextOptions::default()
        };
        assert_eq!(text(&reports, 2, quiet, st), render(&fail(), st));
        assert_eq!(errors(&reports), "binslim: x: not found\n");
        assert_eq!(
            text(&reports[..1], 0, TextOptions::default(), st),
            render(&pass("a"), st),
            "one file: no summary"
        );
    }
}
