//! What changed in size between two builds of a program, and whether it grew past a budget:
//! the data behind `binslim diff OLD NEW` and its `--max-growth` CI gate.
//!
//! [`diff`] is a pure function of two analyses, their package rows and their gzip sizes: it
//! reads no file and measures nothing, so the caller decides how (and whether) to compute
//! them. Every table keeps every row (unchanged ones too), largest change first; renderers
//! decide what to hide.
//!
//! Package rows compare like with like. A row's data counts only when both files have a
//! `.symtab` (without one, data per package is unknown, not 0); otherwise rows compare code and
//! their `data_delta` is `None`. When only one file has a `.symtab`, the rows only it can name
//! (C functions, Rust crates: every row but Go's packages, which come from the pclntab both
//! files keep) are grouped on both sides into the row the other file counts those bytes in
//! (`(unattributed)` or `C (non-Go code)`), so the same bytes compare with the same bytes.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::elf::Analysis;
use crate::packages::{Language, Packages, REMAINDER};

/// One build, as [`diff`] compares it.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    /// How the report names it (the path as given).
    pub label: &'a str,
    /// Its analysis (with sections and categories).
    pub analysis: &'a Analysis,
    /// Its package rows.
    pub packages: &'a Packages,
    /// Its gzip (deflate level 6) size.
    pub gzip_size: u64,
}

/// A size in both builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Bytes in OLD.
    pub old: u64,
    /// Bytes in NEW.
    pub new: u64,
    /// `new - old`, signed.
    pub delta: i64,
}

impl Change {
    /// The change from `old` to `new`.
    pub fn new(old: u64, new: u64) -> Self {
        let delta = i128::from(new) - i128::from(old);
        Change {
            old,
            new,
            delta: delta.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64,
        }
    }
}

/// A named size in both builds (a category, a section or a package); 0 where a build lacks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The category, section or package name.
    pub name: String,
    /// Bytes in OLD.
    pub old: u64,
    /// Bytes in NEW.
    pub new: u64,
    /// `new - old`, signed.
    pub delta: i64,
}

impl Row {
    /// The row `name`, `old` bytes in OLD and `new` in NEW.
    pub fn new(name: impl Into<String>, old: u64, new: u64) -> Self {
        Row {
            name: name.into(),
            old,
            new,
            delta: Change::new(old, new).delta,
        }
    }
}

/// A package row in both builds: its code, plus its data when both builds know it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageRow {
    /// The package, crate or function name (or the group of [`Diff::grouped`]).
    pub name: String,
    /// Bytes in OLD: code + data when both builds have a `.symtab`, else code alone.
    pub old: u64,
    /// Bytes in NEW, counted as `old` is.
    pub new: u64,
    /// `new - old`, signed.
    pub delta: i64,
    /// The change of its data (part of `delta`), or `None` (JSON `null`) when a build has no
    /// `.symtab` and so does not know it.
    pub data_delta: Option<i64>,
}

/// Which builds have a symbol table (`.symtab`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SymbolTables {
    /// OLD has one.
    pub old: bool,
    /// NEW has one.
    pub new: bool,
}

/// The size difference of two builds. Field names are the JSON contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diff {
    /// OLD's label.
    pub old: String,
    /// NEW's label.
    pub new: String,
    /// The file sizes.
    pub file_size: Change,
    /// The gzip sizes (what a registry stores and a pull transfers).
    pub gzip_size: Change,
    /// Bytes per category, `headers+padding` included, so the rows other than `bss` sum to
    /// the file sizes.
    pub categories: Vec<Row>,
    /// Bytes per section name (`sh_size`; sections sharing a name are summed).
    pub sections: Vec<Row>,
    /// Bytes per package, crate or function: code, and data where both builds know it.
    pub packages: Vec<PackageRow>,
    /// Which builds have a `.symtab` (the source of data per package and of C and Rust names).
    pub symtab: SymbolTables,
    /// When only one build has a `.symtab`: the row its symbol-named rows (and the other
    /// build's unnamed code) are grouped in. Not in the JSON (the row itself is).
    #[serde(skip)]
    pub grouped: Option<String>,
}

/// The category row for bytes outside every section: ELF and program headers, the section
/// header table and alignment padding.
pub const HEADERS: &str = "headers+padding";

/// Compares two builds.
pub fn diff(old: &Side<'_>, new: &Side<'_>) -> Diff {
    let (packages, grouped) = package_rows(old.packages, new.packages);
    Diff {
        old: old.label.to_string(),
        new: new.label.to_string(),
        file_size: Change::new(old.analysis.file_size, new.analysis.file_size),
        gzip_size: Change::new(old.gzip_size, new.gzip_size),
        categories: rows(categories(old.analysis), categories(new.analysis)),
        sections: rows(sections(old.analysis), sections(new.analysis)),
        packages,
        symtab: SymbolTables {
            old: old.packages.has_symtab,
            new: new.packages.has_symtab,
        },
        grouped,
    }
}

fn categories(a: &Analysis) -> BTreeMap<String, u64> {
    let mut m: BTreeMap<String, u64> = a
        .categories
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect();
    m.insert(HEADERS.to_string(), a.headers_and_padding());
    m
}

fn sections(a: &Analysis) -> BTreeMap<String, u64> {
    let mut m: BTreeMap<String, u64> = BTreeMap::new();
    for s in &a.sections {
        let name = if s.name.is_empty() {
            "(unnamed)".to_string()
        } else {
            s.name.clone()
        };
        let e = m.entry(name).or_default();
        *e = e.saturating_add(s.size);
    }
    m
}

/// Code and data bytes per row name.
type Sizes = BTreeMap<String, (u64, u64)>;

/// The package rows of two builds (see the module documentation) and the group's name, if any.
fn package_rows(old: &Packages, new: &Packages) -> (Vec<PackageRow>, Option<String>) {
    let data_known = old.has_symtab && new.has_symtab;
    let grouped = match (old.has_symtab, new.has_symtab) {
        (true, false) => group_name(old, new),
        (false, true) => group_name(new, old),
        _ => None,
    };
    let sizes = |p: &Packages| -> Sizes {
        let mut m = Sizes::new();
        for r in &p.rows {
            let name = match &grouped {
                Some(g) if r.language != Language::Go => g.clone(),
                _ => r.name.clone(),
            };
            let e = m.entry(name).or_default();
            e.0 = e.0.saturating_add(r.code);
            e.1 = e.1.saturating_add(r.data);
        }
        m
    };
    let row = |name: String, (oc, od): (u64, u64), (nc, nd): (u64, u64)| {
        let r = if data_known {
            Row::new(name, oc.saturating_add(od), nc.saturating_add(nd))
        } else {
            Row::new(name, oc, nc)
        };
        PackageRow {
            data_delta: data_known.then(|| Change::new(od, nd).delta),
            name: r.name,
            old: r.old,
            new: r.new,
            delta: r.delta,
        }
    };
    let mut out: Vec<PackageRow> = join(sizes(old), sizes(new), row);
    // A row of data alone whose data no longer counts has nothing left to compare.
    out.retain(|r| r.old > 0 || r.new > 0 || r.data_delta.is_some());
    out.sort_unstable_by(|a, b| largest_change_first((a.delta, &a.name), (b.delta, &b.name)));
    (out, grouped)
}

/// The row a build without `.symtab` counts its code outside Go packages in: its one such row
/// (`(unattributed)`, or Go's `C (non-Go code)`), else [`REMAINDER`]. `None` when the build
/// with `.symtab` names no such code either (nothing to group).
fn group_name(named: &Packages, stripped: &Packages) -> Option<String> {
    fn other(p: &Packages) -> Vec<&str> {
        p.rows
            .iter()
            .filter(|r| r.language != Language::Go)
            .map(|r| r.name.as_str())
            .collect()
    }
    let name = match other(stripped)[..] {
        [one] => one.to_string(),
        _ => REMAINDER.to_string(),
    };
    other(named).iter().any(|n| *n != name).then_some(name)
}

/// Joins two name → size maps into rows, largest absolute change first, then by name.
fn rows(old: BTreeMap<String, u64>, new: BTreeMap<String, u64>) -> Vec<Row> {
    let mut out = join(old, new, Row::new);
    out.sort_unstable_by(|a, b| largest_change_first((a.delta, &a.name), (b.delta, &b.name)));
    out
}

/// One row per name of either map, made by `row` from the name and its value in OLD and NEW
/// (`V::default()` where a map lacks it): OLD's names in order, then those only NEW has.
fn join<V: Default, R>(
    old: BTreeMap<String, V>,
    mut new: BTreeMap<String, V>,
    row: impl Fn(String, V, V) -> R,
) -> Vec<R> {
    let mut out = Vec::with_capacity(old.len().max(new.len()));
    for (name, o) in old {
        let n = new.remove(&name).unwrap_or_default();
        out.push(row(name, o, n));
    }
    out.extend(new.into_iter().map(|(name, n)| row(name, V::default(), n)));
    out
}

/// The order of the tables: the largest absolute change (`delta`) first, then by name.
fn largest_change_first(a: (i64, &str), b: (i64, &str)) -> std::cmp::Ordering {
    b.0.unsigned_abs()
        .cmp(&a.0.unsigned_abs())
        .then_with(|| a.1.cmp(b.1))
}

/// How much NEW's file may grow over OLD's: `--max-growth`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Budget {
    /// At most this many bytes more.
    Bytes(u64),
    /// At most this percentage of OLD's file size more.
    Percent(f64),
}

/// Why a budget could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a size budget: give a size (200KB, 1MiB, 4096) or a percentage (5%)")]
pub struct BudgetError(pub String);

impl FromStr for Budget {
    type Err = BudgetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let bad = || BudgetError(s.to_string());
        if let Some(p) = t.strip_suffix('%') {
            let v: f64 = p.trim().parse().map_err(|_| bad())?;
            if !v.is_finite() || v < 0.0 {
                return Err(bad());
            }
            return Ok(Budget::Percent(v));
        }
        if t.starts_with(['-', '+']) || t.is_empty() {
            return Err(bad());
        }
        t.parse::<bytesize::ByteSize>()
            .map(|b| Budget::Bytes(b.as_u64()))
            .map_err(|_| bad())
    }
}

impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Budget::Bytes(b) => write!(f, "{b} bytes"),
            Budget::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// A `--max-growth` budget and whether NEW's file grew past it (the `budget` line of the text
/// report, and `binslim diff`'s exit status 1).
#[derive(Debug, Clone, Copy)]
pub struct BudgetVerdict {
    /// The `--max-growth` budget.
    pub budget: Budget,
    /// NEW's file grew by more than the budget.
    pub exceeded: bool,
}

impl BudgetVerdict {
    /// The budget's verdict on the file size change of `d`.
    pub fn new(budget: Budget, d: &Diff) -> Self {
        BudgetVerdict {
            budget,
            exceeded: budget.exceeded(d.file_size.old, d.file_size.new),
        }
    }
}

impl Budget {
    /// True when the file grew from `old` to `new` bytes by more than the budget. Shrinking or
    /// staying the same never exceeds it; growth of exactly the budget does not either.
    pub fn exceeded(&self, old: u64, new: u64) -> bool {
        let growth = i128::from(new) - i128::from(old);
        if growth <= 0 {
            return false;
        }
        match *self {
            Budget::Bytes(b) => growth > i128::from(b),
            // growth / old > p / 100, in exact integer arithmetic where p has at most a few
            // decimals: compare growth * 100 * 1e6 with p * 1e6 * old.
            Budget::Percent(p) => {
                let p_micro = (p * 1e6).round() as i128;
                growth * 100 * 1_000_000 > p_micro * i128::from(old)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_parse() {
        assert_eq!("5%".parse(), Ok(Budget::Percent(5.0)));
        assert_eq!("0.5 %".parse(), Ok(Budget::Percent(0.5)));
        assert_eq!("200KB".parse(), Ok(Budget::Bytes(200_000)));
        assert_eq!("1MiB".parse(), Ok(Budget::Bytes(1_048_576)));
        assert_eq!("4096".parse(), Ok(Budget::Bytes(4096)));
        for bad in ["", "-5%", "x%", "5 parsecs", "-1", "inf%", "NaN%"] {
            assert!(bad.parse::<Budget>().is_err(), "{bad}");
        }
    }

    #[test]
    fn budgets_compare_growth_strictly() {
        let pct = Budget::Percent(5.0);
        assert!(!pct.exceeded(1000, 1050));
        assert!(pct.exceeded(1000, 1051));
        assert!(!pct.exceeded(1000, 900));
        assert!(pct.exceeded(0, 1));
        let bytes = Budget::Bytes(100);
        assert!(!bytes.exceeded(1000, 1100));
        assert!(bytes.exceeded(1000, 1101));
        assert!(!Budget::Bytes(0).exceeded(5, 5));
    }

    #[test]
    fn rows_join_and_sort_by_largest_change() {
        let m = |v: &[(&str, u64)]| -> BTreeMap<String, u64> {
            v.iter().map(|(k, n)| (k.to_string(), *n)).collect()
        };
        let got = rows(
            m(&[("a", 10), ("b", 100), ("gone", 7)]),
            m(&[("a", 10), ("b", 50), ("added", 60)]),
        );
        let names: Vec<(&str, i64)> = got.iter().map(|r| (r.name.as_str(), r.delta)).collect();
        assert_eq!(
            names,
            vec![("added", 60), ("b", -50), ("gone", -7), ("a", 0)]
        );
    }

    #[test]
    fn package_rows_compare_code_and_group_what_one_side_names() {
        use crate::packages::{Package, go::NON_GO};
        let p = |rows: Vec<Package>, has_symtab| Packages {
            rows,
            text_size: 135,
            notes: Vec::new(),
            has_symtab,
        };
        let named = p(
            vec![
                Package::new("runtime", Language::Go, 100, 10),
                Package::new("foo", Language::C, 30, 0),
                Package::new(NON_GO, Language::C, 5, 0),
            ],
            true,
        );
        let stripped = p(
            vec![
                Package::new("runtime", Language::Go, 100, 0),
                Package::new(REMAINDER, Language::Unknown, 35, 0),
            ],
            false,
        );
        let pr = |name: &str, old, new, data_delta| PackageRow {
            name: name.into(),
            old,
            new,
            delta: new as i64 - old as i64,
            data_delta,
        };
        let (rows, grouped) = package_rows(&named, &stripped);
        assert_eq!(grouped.as_deref(), Some(REMAINDER));
        assert_eq!(
            rows,
            vec![pr(REMAINDER, 35, 35, None), pr("runtime", 100, 100, None)]
        );
        // Both with symbols: code + data, each row its own.
        let (rows, grouped) = package_rows(&named, &named);
        assert_eq!(grouped, None);
        assert_eq!(
            rows,
            vec![
                pr(NON_GO, 5, 5, Some(0)),
                pr("foo", 30, 30, Some(0)),
                pr("runtime", 110, 110, Some(0))
            ]
        );
    }
}
