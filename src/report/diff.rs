//! The `binslim diff` report for people: file and gzip size changes, the budget verdict, then
//! what changed per category, section and package, largest change first. Unchanged rows are
//! hidden (JSON keeps them). When a build has no symbol table, a `symbols` line says which,
//! and the package table's `data` column shows `?` (unknown).

use std::fmt::Write;

use crate::diff::{Budget, BudgetVerdict, Change, Diff, Row, SymbolTables};

use super::packages::clip;
use super::{Style, human};

/// Renders a diff; `top` limits the package rows shown (the rest are summed in one line).
/// With a verdict, a budget line says which budget and whether NEW exceeded it.
pub fn text(d: &Diff, verdict: Option<BudgetVerdict>, top: usize, st: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} {}", st.dim("old"), st.bold(&d.old));
    let _ = writeln!(out, "{} {}", st.dim("new"), st.bold(&d.new));
    let _ = writeln!(
        out,
        "  {:<10} {}",
        "file size",
        change_line(&d.file_size, st)
    );
    let _ = writeln!(
        out,
        "  {:<10} {}",
        "gzip size",
        change_line(&d.gzip_size, st)
    );
    if let Some(v) = verdict {
        let what = format!("--max-growth {} (of the file size)", budget_text(v.budget));
        let result = if v.exceeded {
            st.bad("exceeded")
        } else {
            st.good("within")
        };
        let _ = writeln!(out, "  {:<10} {what}: {result}", "budget");
    }
    symbols_line(&mut out, d.symtab, d.grouped.as_deref(), st);
    let mut any = false;
    for (title, rows) in [("category", &d.categories), ("section", &d.sections)] {
        let lines = rows.iter().map(Line::of).collect();
        any |= table(&mut out, title, lines, usize::MAX, st);
    }
    let lines = d
        .packages
        .iter()
        .map(|r| Line {
            name: &r.name,
            old: r.old,
            new: r.new,
            delta: r.delta,
            data_known: r.data_delta.is_some(),
        })
        .collect();
    any |= table(&mut out, "package", lines, top, st);
    if !any {
        let _ = writeln!(
            out,
            "\n  {}",
            st.dim("no category, section or package changed size")
        );
    }
    out
}

/// The package notes of each build (why rows are missing: a stripped file, no sections), one
/// line each, named `old` or `new`; empty when there are none.
pub fn notes(old: &[String], new: &[String], st: Style) -> String {
    let mut out = String::new();
    for (side, list) in [("old", old), ("new", new)] {
        for n in list {
            let _ = writeln!(out, "  {:<10} {side}: {}", "note", st.warn(n));
        }
    }
    if !out.is_empty() {
        out.insert(0, '\n');
    }
    out
}

/// Says which build has no `.symtab` (so package rows compare code only, data `?`) and which
/// row groups what only the other can name; nothing when both have one.
fn symbols_line(out: &mut String, symtab: SymbolTables, grouped: Option<&str>, st: Style) {
    let (who, named) = match (symtab.old, symtab.new) {
        (true, true) => return,
        (false, false) => ("neither has a symbol table (.symtab)", None),
        (true, false) => ("new has no symbol table (.symtab)", Some("old")),
        (false, true) => ("old has no symbol table (.symtab)", Some("new")),
    };
    let _ = writeln!(
        out,
        "  {:<10} {}",
        "symbols",
        st.warn(&format!("{who}: packages compare code only, data ?"))
    );
    if let (Some(named), Some(group)) = (named, grouped) {
        let _ = writeln!(
            out,
            "  {:<10} {}",
            "",
            st.warn(&format!(
                "what only {named}'s symbols name (C functions, Rust crates) is one row on both sides: {group}"
            ))
        );
    }
}

fn budget_text(b: Budget) -> String {
    match b {
        Budget::Bytes(n) => format!("{} ({n} bytes)", human(n)),
        Budget::Percent(p) => format!("{p}%"),
    }
}

/// `744.6 KiB → 750.1 KiB  +5.5 KiB (+0.7%)`
fn change_line(c: &Change, st: Style) -> String {
    let pct = if c.old == 0 {
        String::new()
    } else {
        format!(" ({:+.1}%)", c.delta as f64 * 100.0 / c.old as f64)
    };
    format!(
        "{} → {}  {}{pct}",
        human(c.old),
        human(c.new),
        paint(c.delta, &signed(c.delta), st)
    )
}

/// A signed size for people: `+1.5 KiB`, `-300 B`, `0 B`.
pub fn signed(delta: i64) -> String {
    let sign = match delta.signum() {
        1 => "+",
        -1 => "-",
        _ => "",
    };
    format!("{sign}{}", human(delta.unsigned_abs()))
}

fn paint(delta: i64, s: &str, st: Style) -> String {
    match delta.signum() {
        1 => st.warn(s),
        -1 => st.good(s),
        _ => s.to_string(),
    }
}

/// One row of a table as text shows it.
struct Line<'a> {
    name: &'a str,
    old: u64,
    new: u64,
    delta: i64,
    /// Whether its data change is known (else the `data` column shows `?`); only package
    /// tables can say it is not.
    data_known: bool,
}

impl<'a> Line<'a> {
    /// A category or section row (no data column).
    fn of(r: &'a Row) -> Self {
        Line {
            name: &r.name,
            old: r.old,
            new: r.new,
            delta: r.delta,
            data_known: true,
        }
    }
}

/// Writes the changed rows of one table (at most `limit`, then one line for the rest);
/// returns whether any row changed. When any row's data is unknown, a `data` column shows `?`.
fn table(out: &mut String, title: &str, rows: Vec<Line<'_>>, limit: usize, st: Style) -> bool {
    let unknown = rows.iter().any(|r| !r.data_known);
    let changed: Vec<&Line<'_>> = rows.iter().filter(|r| r.delta != 0).collect();
    if changed.is_empty() {
        return false;
    }
    let shown = &changed[..limit.min(changed.len())];
    let hidden = &changed[shown.len()..];
    let more = format!("({} more changed)", hidden.len());
    let width = shown
        .iter()
        .map(|r| r.name.chars().count())
        .chain((!hidden.is_empty()).then_some(more.len()))
        .max()
        .unwrap_or(0)
        .clamp(16, 48);
    let data = if unknown { "  data" } else { "" };
    out.push('\n');
    let _ = writeln!(
        out,
        "  {title:<width$} {:>10} {:>10} {:>11}{data}",
        "old", "new", "delta"
    );
    let data = if unknown { "     ?" } else { "" };
    let mut line = |name: &str, old: String, new: String, delta: i64| {
        // Pad before painting: colour codes would count as width.
        let d = format!("{:>11}", signed(delta));
        let _ = writeln!(
            out,
            "  {:<width$} {old:>10} {new:>10} {}{data}",
            clip(name, width),
            paint(delta, &d, st)
        );
    };
    for r in shown {
        line(r.name, human(r.old), human(r.new), r.delta);
    }
    if !hidden.is_empty() {
        let sum: i64 = hidden
            .iter()
            .map(|r| r.delta)
            .fold(0i64, i64::saturating_add);
        line(&more, String::new(), String::new(), sum);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::PackageRow;

    fn row(name: &str, old: u64, new: u64) -> Row {
        Row::new(name, old, new)
    }

    fn pkg(name: &str, old: u64, new: u64, data_delta: Option<i64>) -> PackageRow {
        let r = row(name, old, new);
        PackageRow {
            name: r.name,
            old: r.old,
            new: r.new,
            delta: r.delta,
            data_delta,
        }
    }

    #[test]
    fn renders_changed_rows_only() {
        let d = Diff {
            old: "a".into(),
            new: "b".into(),
            file_size: Change::new(1000, 1100),
            gzip_size: Change::new(500, 490),
            categories: vec![row("code", 600, 700), row("data", 10, 10)],
            sections: vec![row(".text", 600, 700)],
            packages: vec![
                pkg("f", 0, 60, Some(0)),
                pkg("g", 50, 20, Some(-30)),
                pkg("h", 1, 2, Some(0)),
                pkg("i", 5, 5, Some(0)),
            ],
            symtab: SymbolTables {
                old: true,
                new: true,
            },
            grouped: None,
        };
        let v = BudgetVerdict::new(Budget::Percent(5.0), &d);
        assert!(v.exceeded);
        let got = text(&d, Some(v), 2, Style::default());
        let want = "old a
new b
  file size  1000 B → 1.1 KiB  +100 B (+10.0%)
  gzip size  500 B → 490 B  -10 B (-2.0%)
  budget     --max-growth 5% (of the file size): exceeded

  category                old        new       delta
  code                  600 B      700 B      +100 B

  section                 old        new       delta
  .text                 600 B      700 B      +100 B

  package                 old        new       delta
  f                       0 B       60 B       +60 B
  g                      50 B       20 B       -30 B
  (1 more changed)                              +1 B
";
        assert_eq!(got, want);
        assert_eq!(signed(0), "0 B");
        assert_eq!(signed(-2048), "-2.0 KiB");
    }

    #[test]
    fn unknown_data_shows_a_question_mark_and_the_side_without_symbols() {
        let d = Diff {
            old: "a".into(),
            new: "a.stripped".into(),
            file_size: Change::new(1000, 900),
            gzip_size: Change::new(500, 450),
            categories: vec![row("symbols", 100, 0)],
            sections: vec![row(".symtab", 100, 0)],
            packages: vec![
                pkg("runtime", 300, 200, None),
                pkg("(unattributed)", 50, 50, None),
            ],
            symtab: SymbolTables {
                old: true,
                new: false,
            },
            grouped: Some("(unattributed)".into()),
        };
        let got = text(&d, None, 20, Style::default());
        let want = "old a
new a.stripped
  file size  1000 B → 900 B  -100 B (-10.0%)
  gzip size  500 B → 450 B  -50 B (-10.0%)
  symbols    new has no symbol table (.symtab): packages compare code only, data ?
             what only old's symbols name (C functions, Rust crates) is one row on both sides: (unattributed)

  category                old        new       delta
  symbols               100 B        0 B      -100 B

  section                 old        new       delta
  .symtab               100 B        0 B      -100 B

  package                 old        new       delta  data
  runtime               300 B      200 B      -100 B     ?
";
        assert_eq!(got, want);
    }
}
