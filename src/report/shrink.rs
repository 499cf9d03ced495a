//! The shrink ledger as text: one line per step as it completes, then the summary line
//! `7.5 MiB → 2.1 MiB (3.6× smaller; wire 3.1 MiB → 2.0 MiB)`.

use super::{Style, human, percent};
use crate::shrink::{Ledger, Step, StepKind, factor};
use crate::smoke::Comparison;

const W_STEP: usize = 14;
const W_SIZE: usize = 11;

/// Which wire-size columns the ledger shows (`--wire gzip|zstd|both`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Columns {
    /// The gzip column (shown as `-` with `--no-gzip`).
    pub gzip: bool,
    /// The zstd column.
    pub zstd: bool,
}

impl Columns {
    /// The default: gzip only.
    pub const GZIP: Columns = Columns {
        gzip: true,
        zstd: false,
    };

    /// The wire columns of `step`, each right-aligned in its column.
    fn cells(self, step: &Step) -> String {
        let cell = |v: Option<u64>| format!("{:>W_SIZE$}", v.map_or("-".to_string(), human));
        let mut out = String::new();
        if self.gzip {
            out += &cell(step.gzip_size);
        }
        if self.zstd {
            out += &cell(step.zstd_size);
        }
        out
    }
}

/// The first lines: which file, where it goes, and the column heads.
pub fn header(input: &str, output: &str, columns: Columns, style: Style) -> String {
    let title = if input == output {
        input.to_string()
    } else {
        format!("{input} → {output}")
    };
    let mut heads = String::new();
    if columns.gzip {
        heads += &format!("{:>W_SIZE$}", "gzip");
    }
    if columns.zstd {
        heads += &format!("{:>W_SIZE$}", "zstd");
    }
    format!(
        "{}\n  {}\n",
        style.bold(&title),
        style.dim(&format!(
            "{:<W_STEP$}{:>W_SIZE$}{:>W_SIZE$}{:>W_SIZE$}{:>8}{heads}",
            "step", "size", "saved", "total", ""
        ))
    )
}

/// One step's line.
pub fn step_line(step: &Step, columns: Columns, style: Style, original: u64) -> String {
    let name = format!("{:<W_STEP$}", step.step.as_str());
    let wire = columns.cells(step);
    if step.step == StepKind::Original {
        return format!(
            "  {name}{:>W_SIZE$}{:>W_SIZE$}{:>W_SIZE$}{:>8}{wire}\n",
            human(step.size),
            "-",
            "-",
            "",
        );
    }
    if !step.changed {
        let why = step
            .note
            .as_deref()
            .map_or(String::new(), |n| format!(": {n}"));
        return format!("  {name}{}\n", style.dim(&format!("unchanged{why}")));
    }
    let signed = |n: i64| {
        if n < 0 {
            format!("+{}", human(n.unsigned_abs()))
        } else {
            human(n as u64)
        }
    };
    let pct = if step.total_saved >= 0 {
        percent(step.total_saved as u64, original)
    } else {
        format!("+{}", percent(step.total_saved.unsigned_abs(), original))
    };
    format!(
        "  {name}{:>W_SIZE$}{:>W_SIZE$}{:>W_SIZE$}{:>8}{wire}\n",
        human(step.size),
        signed(step.saved),
        signed(step.total_saved),
        pct,
    )
}

/// The summary line: `7.5 MiB → 2.1 MiB (3.6× smaller; wire 3.1 MiB → 2.0 MiB)`, the wire
/// sizes gzip's; with zstd sizes also `; zstd 2.9 MiB → 1.9 MiB`.
pub fn summary(ledger: &Ledger, style: Style) -> String {
    let o = ledger.original();
    let r = ledger.result();
    let f = factor(o.size, r.size);
    let mut wire = match (o.gzip_size, r.gzip_size) {
        (Some(a), Some(b)) => format!("; wire {} → {}", human(a), human(b)),
        _ => String::new(),
    };
    if let (Some(a), Some(b)) = (o.zstd_size, r.zstd_size) {
        wire += &format!("; zstd {} → {}", human(a), human(b));
    }
    let line = if r.size >= o.size {
        let mut wire = r
            .gzip_size
            .map(|g| format!(", wire {}", human(g)))
            .unwrap_or_default();
        if let Some(z) = r.zstd_size {
            wire += &format!(", zstd {}", human(z));
        }
        format!("{}{wire}: unchanged, already minimal", human(r.size))
    } else {
        format!(
            "{} → {} ({f:.1}× smaller{wire})",
            human(o.size),
            human(r.size)
        )
    };
    format!("  {}\n", style.good(&line))
}

/// The smoke comparison, two lines.
pub fn smoke(c: &Comparison, style: Style) -> String {
    let verdict = if c.same {
        style.good("same exit status and output")
    } else {
        style.bad("DIFFERENT exit status or output")
    };
    let status = |r: &crate::smoke::Run| match (r.exit_code, r.signal, r.timed_out) {
        (_, _, true) => "timed out".to_string(),
        (Some(c), _, _) => format!("exit {c}"),
        (None, Some(s), _) => format!("signal {s}"),
        _ => "?".into(),
    };
    format!(
        "  smoke: {verdict} ({} / {})\n  start-up {:.1} ms → {:.1} ms, peak RSS {} → {}\n",
        status(&c.original),
        status(&c.result),
        c.original.median_ms,
        c.result.median_ms,
        human(c.original.peak_rss),
        human(c.result.peak_rss)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shrink::Entry;
    use std::time::Duration;

    #[test]
    fn ledger_text() {
        let mut l = Ledger::new(7_864_320, Some(3_250_585));
        l.push(Entry::changed(
            StepKind::StripDebug,
            5_000_000,
            Some(2_500_000),
            Duration::ZERO,
        ));
        l.push(Entry::unchanged(StepKind::StripOther, Duration::ZERO, None));
        l.push(Entry::changed(
            StepKind::Upx,
            2_202_009,
            Some(2_097_152),
            Duration::ZERO,
        ));
        let mut s = header("server", "server", Columns::GZIP, Style::default());
        for step in &l.steps {
            s += &step_line(step, Columns::GZIP, Style::default(), 7_864_320);
        }
        s += &summary(&l, Style::default());
        insta::assert_snapshot!(s, @r"
        server
          step                 size      saved      total               gzip
          original          7.5 MiB          -          -            3.1 MiB
          strip-debug       4.8 MiB    2.7 MiB    2.7 MiB   36.4%    2.4 MiB
          strip-other   unchanged
          upx               2.1 MiB    2.7 MiB    5.4 MiB   72.0%    2.0 MiB
          7.5 MiB → 2.1 MiB (3.6× smaller; wire 3.1 MiB → 2.0 MiB)
        ");
    }

    #[test]
    fn ledger_text_with_zstd() {
        let mut l = Ledger::new(7_864_320, Some(3_250_585));
        l.steps[0].zstd_size = Some(3_000_000);
        l.push(
            Entry::changed(
                StepKind::StripDebug,
                5_000_000,
                Some(2_500_000),
                Duration::ZERO,
            )
            .with_zstd(Some(2_400_000)),
        );
        l.push(Entry::unchanged(StepKind::StripOther, Duration::ZERO, None));
        let both = Columns {
            gzip: true,
            zstd: true,
        };
        let mut s = header("server", "server", both, Style::default());
        for step in &l.steps {
            s += &step_line(step, both, Style::default(), 7_864_320);
        }
        s += &summary(&l, Style::default());
        insta::assert_snapshot!(s, @r"
        server
          step                 size      saved      total               gzip       zstd
          original          7.5 MiB          -          -            3.1 MiB    2.9 MiB
          strip-debug       4.8 MiB    2.7 MiB    2.7 MiB   36.4%    2.4 MiB    2.3 MiB
          strip-other   unchanged
          7.5 MiB → 4.8 MiB (1.6× smaller; wire 3.1 MiB → 2.4 MiB; zstd 2.9 MiB → 2.3 MiB)
        ");
        let zstd = Columns {
            gzip: false,
            zstd: true,
        };
        let line = step_line(&l.steps[1], zstd, Style::default(), 7_864_320);
        assert_eq!(
            line,
            "  strip-debug       4.8 MiB    2.7 MiB    2.7 MiB   36.4%    2.3 MiB\n"
        );
    }
}
