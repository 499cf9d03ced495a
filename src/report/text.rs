//! The `inspect` report for people: verdict-relevant lines first, then sizes, then toolchain facts.

use std::fmt::Write;

use crate::elf::{Analysis, Category, ElfType, Linkage};

use super::{Style, human, percent};

/// Options for the text report.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct TextOptions {
    /// List every section, not only the totals per category.
    pub sections: bool,
    /// Colour.
    pub style: Style,
}

impl TextOptions {
    /// Text options with the given section listing and style.
    pub fn new(sections: bool, style: Style) -> Self {
        TextOptions { sections, style }
    }
}

const BAR_WIDTH: usize = 24;

/// The Go build settings the text report shows, in this order.
const GO_KEY_SETTINGS: &[&str] = &[
    "CGO_ENABLED",
    "-buildmode",
    "-ldflags",
    "-tags",
    "-trimpath",
    "GOOS",
    "GOARCH",
];

/// Renders the inspect report of one file: the header rows, the size table (and with
/// `--sections` the section list), then the toolchain facts.
pub fn inspect(path: &str, a: &Analysis, opts: TextOptions) -> String {
    let st = opts.style;
    let mut out = String::new();
    let _ = writeln!(out, "{}", st.bold(path));
    header_rows(&mut out, a, st);
    out.push('\n');
    if a.has_section_headers {
        size_table(&mut out, a, st);
        if opts.sections {
            out.push('\n');
            section_list(&mut out, a);
        }
    } else {
        let why = if a.upx.is_some() {
            "UPX removed them"
        } else {
            "the file has none"
        };
        let _ = writeln!(
            out,
            "  sections     none: {why}, so sizes by category are unknown"
        );
    }

    let facts = facts(a);
    if !facts.is_empty() {
        out.push('\n');
        out.push_str(&facts);
    }
    out
}

/// One `  key          value` line of the header.
fn row(out: &mut String, key: &str, value: &str) {
    let _ = writeln!(out, "  {key:<12} {value}");
}

/// The header: type, linkage, CPU level, dynamic-linking facts, UPX, build-id, size, warnings.
fn header_rows(out: &mut String, a: &Analysis, st: Style) {
    row(out, "type", &describe_type(a));
    row(out, "linkage", &describe_linkage(a, st));
    if let Some(level) = &a.cpu_level {
        row(out, "cpu level", &format!("{level} ({})", level.source));
    }
    if let Some(interp) = &a.interpreter {
        let none = "(PT_INTERP names none: no bytes in the file)";
        row(
            out,
            "interpreter",
            if interp.is_empty() { none } else { interp },
        );
    }
    if !a.needed.is_empty() {
        row(out, "needed", &a.needed.join(", "));
    }
    if !a.rpath.is_empty() {
        row(out, "rpath", &a.rpath.join(":"));
    }
    if !a.runpath.is_empty() {
        row(out, "runpath", &a.runpath.join(":"));
    }
    if let Some(soname) = &a.soname {
        row(out, "soname", soname);
    }
    if let Some(upx) = &a.upx {
        let mut s = st.warn("UPX-packed");
        if let Some(m) = &upx.method {
            let _ = write!(s, " with {m}");
            if let Some(l) = upx.level {
                let _ = write!(s, " (level {l})");
            }
        }
        if let Some(orig) = upx.original_size {
            let _ = write!(s, ", original size {} ({orig} bytes)", human(orig));
        }
        s.push_str("; the real linkage is hidden until unpacked (upx -d)");
        row(out, "upx", &s);
    }
    if let Some(id) = &a.build_id {
        row(out, "build-id", id);
    }
    let strip_state = if !a.has_section_headers {
        "no section headers".to_string()
    } else if a.stripped && a.debug_size == 0 && a.strippable_size == 0 {
        "stripped".to_string()
    } else if a.stripped && a.debug_size == 0 {
        // What shrink's strip steps still save: the padding and tables a rewrite drops.
        format!(
            "stripped; {} strippable (alignment padding and section tables)",
            human(a.strippable_size)
        )
    } else {
        format!(
            "{}; {} strippable (debug {}, symbols {})",
            if a.stripped {
                "stripped"
            } else {
                "not stripped"
            },
            human(a.strippable_size),
            human(a.debug_size),
            human(a.symbols_size)
        )
    };
    row(
        out,
        "size",
        &format!(
            "{} ({} bytes), {strip_state}",
            human(a.file_size),
            a.file_size
        ),
    );
    for w in &a.warnings {
        row(out, "warning", &st.warn(w));
    }
}

/// The toolchain facts below the size table: Go build info, Rust, `.comment`.
fn facts(a: &Analysis) -> String {
    let mut facts = String::new();
    if let Some(go) = &a.go {
        let mut s = go.version.clone();
        if let Some(p) = &go.path {
            let _ = write!(s, ", {p}");
        }
        match (&go.main_module, &go.main_version) {
            (Some(m), Some(v)) if go.path.as_ref() == Some(m) => {
                let _ = write!(s, " {v}");
            }
            (Some(m), Some(v)) => {
                let _ = write!(s, " (module {m} {v})");
            }
            _ => {}
        }
        if go.deps > 0 {
            let _ = write!(
                s,
                ", {} dependenc{}",
                go.deps,
                if go.deps == 1 { "y" } else { "ies" }
            );
        }
        let _ = writeln!(facts, "  {:<12} {s}", "go");
        // The settings that decide linkage and size; JSON carries all of them.
        let settings: Vec<String> = GO_KEY_SETTINGS
            .iter()
            .filter_map(|&k| go.settings.get(k).filter(|v| !v.is_empty()).map(|v| (k, v)))
            // As `go version -m` prints them.
            .map(|(k, v)| crate::elf::go::setting_text(k, v))
            .collect();
        for chunk in wrap(&settings, 76) {
            let _ = writeln!(facts, "  {:<12} {chunk}", "");
        }
    }
    if let Some(r) = &a.rust {
        let v = r.rustc_version.as_deref().unwrap_or("unknown rustc");
        let aud = if r.auditable {
            "cargo-auditable dependency list present"
        } else {
            "no cargo-auditable data"
        };
        let _ = writeln!(facts, "  {:<12} rustc {v}; {aud}", "rust");
    }
    for (i, c) in a.comment.iter().enumerate() {
        let key = if i == 0 { "comment" } else { "" };
        let _ = writeln!(facts, "  {key:<12} {c}");
    }
    facts
}

fn describe_type(a: &Analysis) -> String {
    let kind = match (a.elf_type, a.linkage) {
        (ElfType::Exec, _) => "executable",
        (ElfType::Dyn, Linkage::SharedLibrary) => "shared object",
        (ElfType::Dyn, _) => "position-independent executable",
        (ElfType::Rel, _) => "relocatable object",
        (ElfType::Core, _) => "core dump",
        (ElfType::Unknown, _) => "unknown type",
    };
    let class = if a.class == "elf64" { "ELF64" } else { "ELF32" };
    let mut s = format!("{class} {}-endian {} {kind}", a.endian, a.machine);
    if a.os_abi != "sysv" {
        let _ = write!(s, ", {} ABI", a.os_abi);
    }
    // Where the file names another OS than its OS/ABI byte does (Go's GOOS, an ABI note).
    if let Some(os) =
        a.os.as_deref()
            .filter(|os| *os != "linux" && *os != a.os_abi)
    {
        let _ = write!(s, ", built for {os}");
    }
    if a.entry != 0 {
        let _ = write!(s, ", entry {:#x}", a.entry);
    }
    s
}

fn describe_linkage(a: &Analysis, st: Style) -> String {
    let name = a.linkage.as_str();
    match a.linkage {
        Linkage::Static | Linkage::StaticPie => {
            format!("{}: needs no loader or libraries", st.good(name))
        }
        Linkage::Dynamic => {
            let interp = a.interpreter.as_deref().unwrap_or("?");
            let mut s = format!("{}: needs the loader {interp}", st.bad(name));
            if a.needed.is_empty() {
                s.push_str(" (and no libraries; ldd wrongly calls this \"statically linked\")");
            } else {
                let _ = write!(
                    s,
                    " and {} librar{}",
                    a.needed.len(),
                    plural_y(a.needed.len())
                );
            }
            s
        }
        Linkage::BrokenDynamic => format!(
            "{}: needs {} librar{} but names no loader, so it cannot start",
            st.bad(name),
            a.needed.len(),
            plural_y(a.needed.len())
        ),
        Linkage::SharedLibrary => format!("{name}: a library, not a program"),
        Linkage::Relocatable => format!("{name}: an object file, not a program"),
        Linkage::Core => format!("{name}: a core dump, not a program"),
        Linkage::DebugFile => format!(
            "{}: a separate debug file (objcopy --only-keep-debug): its code has no bytes, \
             not a program",
            st.bad(name)
        ),
        Linkage::Unknown if a.elf_type == ElfType::Dyn && a.entry != 0 => format!(
            "{name}: position-independent with an entry point but no dynamic section: not a \
             provable static-pie"
        ),
        Linkage::Unknown => format!("{name}: unrecognised ELF type"),
    }
}

fn plural_y(n: usize) -> &'static str {
    if n == 1 { "y" } else { "ies" }
}

fn size_table(out: &mut String, a: &Analysis, st: Style) {
    let rest = a.headers_and_padding();
    let _ = writeln!(out, "  {:<16} {:>10} {:>6}", "category", "size", "share");
    for cat in Category::ALL {
        let Some(&size) = a.categories.get(cat.as_str()) else {
            continue;
        };
        if cat == Category::Bss {
            let _ = writeln!(
                out,
                "  {:<16} {:>10} {:>6}  {}",
                cat.as_str(),
                human(size),
                "",
                st.dim("memory only, not in the file")
            );
            continue;
        }
        let _ = writeln!(
            out,
            "  {:<16} {:>10} {:>6}  {}",
            cat.as_str(),
            human(size),
            percent(size, a.file_size),
            bar(size, a.file_size)
        );
    }
    if rest > 0 {
        let _ = writeln!(
            out,
            "  {:<16} {:>10} {:>6}  {}",
            crate::diff::HEADERS,
            human(rest),
            percent(rest, a.file_size),
            bar(rest, a.file_size)
        );
    }
}

fn section_list(out: &mut String, a: &Analysis) {
    let width = a
        .sections
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(0)
        .clamp(8, 32);
    let _ = writeln!(
        out,
        "  {:<width$} {:>10} {:<16} loaded",
        "section", "size", "category"
    );
    for s in &a.sections {
        // Go metadata inside a section named otherwise is counted as go-metadata above.
        let (category, note) = match s.go_metadata {
            0 => (s.category, String::new()),
            n if n >= s.size => (Category::GoMetadata, String::new()),
            n => (s.category, format!("  ({} of it go-metadata)", human(n))),
        };
        let _ = writeln!(
            out,
            "  {:<width$} {:>10} {:<16} {}{note}",
            s.name,
            human(s.size),
            category.as_str(),
            if s.alloc { "yes" } else { "no" }
        );
    }
}

/// A proportional bar, in eighths of a character cell.
pub(crate) fn bar(part: u64, whole: u64) -> String {
    if whole == 0 {
        return String::new();
    }
    const EIGHTHS: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
    let units = (part as u128 * (BAR_WIDTH as u128 * 8) / whole as u128) as usize;
    let units = units.min(BAR_WIDTH * 8);
    let mut s = "█".repeat(units / 8);
    s.push_str(EIGHTHS[units % 8]);
    if s.is_empty() && part > 0 {
        s.push('▏');
    }
    s
}

fn wrap(items: &[String], width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for item in items {
        if !line.is_empty() && line.len() + 1 + item.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(item);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_proportional() {
        assert_eq!(bar(0, 100), "");
        assert_eq!(bar(100, 100), "█".repeat(BAR_WIDTH));
        assert_eq!(bar(50, 100), "█".repeat(BAR_WIDTH / 2));
        assert_eq!(bar(1, 1_000_000), "▏");
    }

    #[test]
    fn wrap_keeps_items_whole() {
        let items: Vec<String> = ["aaaa", "bbbb", "cc"].map(String::from).to_vec();
        assert_eq!(wrap(&items, 9), vec!["aaaa bbbb", "cc"]);
    }
}
