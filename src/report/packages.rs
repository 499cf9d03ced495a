//! The `inspect --packages` table for people: the largest rows (packages, crates or
//! functions) with their code, data and share of `.text`, one line for the rows not shown, and
//! the unattributed remainder last, so the code column always adds up to `.text`.

use std::fmt::Write;

use crate::packages::{Language, Package, Packages, REMAINDER};

use super::text::bar;
use super::{Style, human, percent};

const MAX_NAME: usize = 48;

/// Renders the rows of one file: at most `top` rows, then `(N more)` for the rest, then the
/// remainder; notes after the table.
pub fn table(p: &Packages, top: usize, st: Style) -> String {
    let mut out = String::new();
    let (rest_row, named): (Vec<&Package>, Vec<&Package>) =
        p.rows.iter().partition(|r| r.name == REMAINDER);
    let shown = &named[..top.min(named.len())];
    let hidden = &named[shown.len()..];
    let more = (!hidden.is_empty()).then(|| {
        (
            format!("({} more)", hidden.len()),
            hidden.iter().map(|r| r.code).sum::<u64>(),
            hidden.iter().map(|r| r.data).sum::<u64>(),
        )
    });
    let width = shown
        .iter()
        .map(|r| r.name.chars().count())
        .chain(more.iter().map(|m| m.0.len()))
        .chain(rest_row.iter().map(|r| r.name.len()))
        .max()
        .unwrap_or(0)
        .clamp(16, MAX_NAME);
    if !p.rows.is_empty() {
        let _ = writeln!(
            out,
            "  {:<width$} {:<8} {:>10} {:>10} {:>6}",
            heading(&named),
            "language",
            "code",
            "data",
            ".text"
        );
    }
    let mut line = |name: &str, lang: &str, code: u64, data: u64| {
        let s = format!(
            "  {:<width$} {:<8} {:>10} {:>10} {:>6}  {}",
            clip(name, width),
            lang,
            human(code),
            human(data),
            percent(code, p.text_size),
            bar(code, p.text_size)
        );
        let _ = writeln!(out, "{}", s.trim_end());
    };
    for r in shown {
        line(&r.name, r.language.as_str(), r.code, r.data);
    }
    if let Some((name, code, data)) = &more {
        line(name, "", *code, *data);
    }
    for r in &rest_row {
        line(&r.name, "", r.code, r.data);
    }
    if p.text_size > 0 {
        let _ = writeln!(
            out,
            "  {}",
            st.dim(&format!(
                ".text is {} ({} bytes) in {} row{}; data is what symbols name in loaded sections",
                human(p.text_size),
                p.text_size,
                p.rows.len(),
                if p.rows.len() == 1 { "" } else { "s" }
            ))
        );
    }
    if p.rows.is_empty() && p.notes.is_empty() {
        let _ = writeln!(out, "  {}", st.dim(".text is empty: no code to attribute"));
    }
    for n in &p.notes {
        let _ = writeln!(out, "  {:<8} {}", "note", st.warn(n));
    }
    out
}

/// What a row is called, by the language of the rows.
fn heading(rows: &[&Package]) -> &'static str {
    match rows.first().map(|r| r.language) {
        Some(Language::Rust) => "crate",
        Some(Language::C) => "symbol",
        _ => "package",
    }
}

/// Shortens a name to `width` characters, marking the cut with `…`. Import paths differ at
/// their end (`…/vendor/github.com/moby/swarmkit/v2/api`), so a name with `/` keeps its tail,
/// cut at a `/` where one is in reach; other names keep their head.
pub(crate) fn clip(name: &str, width: usize) -> String {
    let count = name.chars().count();
    if count <= width {
        return name.to_string();
    }
    if name.contains('/') {
        let tail: String = name.chars().skip(count + 1 - width).collect();
        let tail = tail.find('/').map_or(tail.as_str(), |i| &tail[i..]);
        return format!("…{tail}");
    }
    let mut s: String = name.chars().take(width - 1).collect();
    s.push('…');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, language: Language, code: u64, data: u64) -> Package {
        Package::new(name, language, code, data)
    }

    #[test]
    fn top_rows_then_more_then_remainder() {
        let p = Packages {
            rows: vec![
                row("std", Language::Rust, 600, 10),
                row("core", Language::Rust, 200, 0),
                row(REMAINDER, Language::Unknown, 150, 0),
                row("alloc", Language::Rust, 40, 0),
                row("main", Language::Rust, 10, 5),
            ],
            text_size: 1000,
            notes: vec![],
            has_symtab: true,
        };
        let t = table(&p, 2, Style::default());
        let expected = "  crate            language       code       data  .text
  std              rust          600 B       10 B  60.0%  ██████████████▍
  core             rust          200 B        0 B  20.0%  ████▊
  (2 more)                        50 B        5 B   5.0%  █▏
  (unattributed)                 150 B        0 B  15.0%  ███▌
  .text is 1000 B (1000 bytes) in 5 rows; data is what symbols name in loaded sections
";
        assert_eq!(t, expected);
    }

    #[test]
    fn long_names_are_clipped() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("github.com/a/vendor/x/yy", 10), "…/x/yy");
        assert_eq!(clip("ab/cdefghijk", 6), "…ghijk");
        assert_eq!(clip("abc", 4), "abc");
    }
}
