//! `binslim diff`: rows of two real builds of a C program (the second with an extra function
//! and a 64 KiB table) checked against readelf, nm and the file system; the `--max-growth`
//! exit codes 0/1/2; the JSON shape; text that hides unchanged rows; builds with a symbol table
//! against their stripped copies (GNU strip and binslim shrink): no code moves.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command as Std;

use common::{binslim, gnu_strip, go_build, have_tool, stdout_of, tempdir};
use serde_json::Value;

const OLD_C: &str = r#"#include <stdio.h>
__attribute__((noinline)) int work(int x) { return x * 3 + 1; }
int main(int argc, char **argv) { (void)argv; printf("%d\n", work(argc)); return 0; }
"#;

const NEW_C: &str = r#"#include <stdio.h>
const unsigned char big_table[65536] = {1, 2, 3};
__attribute__((noinline)) int work(int x) { return x * 3 + 1; }
__attribute__((noinline)) int extra(int x) {
    int s = 0;
    for (int i = 0; i < x * 1000; i++) s += big_table[(i * 7) % 65536] ^ i;
    return s;
}
int main(int argc, char **argv) { (void)argv; printf("%d\n", work(argc) + extra(argc)); return 0; }
"#;

/// Builds OLD_C and NEW_C with gcc into a temporary directory: (dir, old, new).
fn two_builds() -> Option<(tempfile::TempDir, PathBuf, PathBuf)> {
    if !have_tool("gcc") || !have_tool("nm") || !have_tool("readelf") {
        return None;
    }
    let dir = tempdir();
    let build = |name: &str, src: &str| {
        let c = dir.path().join(format!("{name}.c"));
        std::fs::write(&c, src).unwrap();
        let exe = dir.path().join(name);
        stdout_of(Std::new("gcc").args(["-O1", "-o"]).arg(&exe).arg(&c));
        exe
    };
    let old = build("old", OLD_C);
    let new = build("new", NEW_C);
    Some((dir, old, new))
}

fn diff_json(old: &Path, new: &Path) -> Value {
    let out = binslim()
        .args(["diff", "--json"])
        .arg(old)
        .arg(new)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn row<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no row {name} in {list}"))
}

/// `sh_size` of a section, from readelf.
fn section_size(path: &Path, section: &str) -> u64 {
    let out = stdout_of(Std::new("readelf").arg("-SW").arg(path));
    out.lines()
        .filter_map(|l| l.split_once("] ").map(|(_, r)| r))
        .map(|r| r.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.first() == Some(&section))
        .map(|f| u64::from_str_radix(f[4], 16).unwrap())
        .unwrap_or(0)
}

/// The size nm gives a symbol.
fn nm_size(path: &Path, symbol: &str) -> u64 {
    let out = stdout_of(Std::new("nm").arg("-S").arg(path));
    out.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.len() == 4 && f[3] == symbol)
        .map(|f| u64::from_str_radix(f[1], 16).unwrap())
        .unwrap_or_else(|| panic!("nm has no {symbol}"))
}

/// What `gzip -6 -c < FILE | wc -c` counts: the truth the wire sizes are measured against.
fn gzip6(path: &Path) -> u64 {
    assert!(have_tool("gzip"));
    let out = Std::new("gzip")
        .args(["-6", "-c"])
        .stdin(std::fs::File::open(path).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout.len() as u64
}

#[test]
fn rows_of_two_real_builds() {
    let Some((_dir, old, new)) = two_builds() else {
        return;
    };
    let d = diff_json(&old, &new);
    let len = |p: &Path| std::fs::metadata(p).unwrap().len();
    let change =
        |o: u64, n: u64| serde_json::json!({"old": o, "new": n, "delta": n as i64 - o as i64});
    assert_eq!(d["old"], old.display().to_string());
    assert_eq!(d["new"], new.display().to_string());
    assert_eq!(d["file_size"], change(len(&old), len(&new)));
    // The gzip sizes are wire sizes as shrink measures them: within 0.5 % of gzip -6 itself.
    let gz = |side: &str| d["gzip_size"][side].as_u64().unwrap();
    assert_eq!(d["gzip_size"], change(gz("old"), gz("new")));
    for (side, path) in [("old", &old), ("new", &new)] {
        let (ours, truth) = (d["gzip_size"][side].as_u64().unwrap(), gzip6(path));
        assert!(
            ours.abs_diff(truth) * 200 <= truth,
            "{side}: {ours} vs gzip -6 {truth}"
        );
    }

    // The table is one object of 65536 bytes; the function is nm's size; work is unchanged.
    assert_eq!(
        row(&d["packages"], "big_table"),
        &serde_json::json!({"name": "big_table", "old": 0, "new": 65536, "delta": 65536, "data_delta": 65536})
    );
    let extra = nm_size(&new, "extra");
    assert_eq!(
        row(&d["packages"], "extra"),
        &serde_json::json!({"name": "extra", "old": 0, "new": extra, "delta": extra, "data_delta": 0})
    );
    assert_eq!(row(&d["packages"], "work")["delta"], 0);
    // Largest change first: the table leads the packages.
    assert_eq!(d["packages"][0]["name"], "big_table");

    for s in [".rodata", ".text"] {
        assert_eq!(
            row(&d["sections"], s),
            &serde_json::json!({"name": s, "old": section_size(&old, s), "new": section_size(&new, s),
                "delta": section_size(&new, s) as i64 - section_size(&old, s) as i64}),
            "{s}"
        );
    }
    // Categories other than bss (memory) add up to the file sizes, headers+padding included.
    let sum = |k: &str| -> u64 {
        d["categories"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["name"] != "bss")
            .map(|r| r[k].as_u64().unwrap())
            .sum()
    };
    assert_eq!(sum("old"), len(&old));
    assert_eq!(sum("new"), len(&new));
    assert_eq!(d["categories"][0]["name"], "rodata");
}

#[test]
fn max_growth_exit_codes() {
    let Some((_dir, old, new)) = two_builds() else {
        return;
    };
    let growth = std::fs::metadata(&new).unwrap().len() - std::fs::metadata(&old).unwrap().len();
    let pct = growth as f64 * 100.0 / std::fs::metadata(&old).unwrap().len() as f64;
    assert!(pct > 100.0, "the new build is far larger: {pct}%");
    let code = |budget: &str| {
        binslim()
            .args(["diff", "--max-growth", budget])
            .arg(&old)
            .arg(&new)
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(
        code(&growth.to_string()),
        Some(0),
        "growth of exactly the budget passes"
    );
    assert_eq!(
        code(&(growth - 1).to_string()),
        Some(1),
        "one byte more fails"
    );
    assert_eq!(code("5%"), Some(1));
    assert_eq!(code(&format!("{}%", pct.ceil())), Some(0));
    assert_eq!(code(&format!("{}%", pct.floor())), Some(1));
    assert_eq!(code("1MiB"), Some(0));
    assert_eq!(code("200KB"), Some(0));
    assert_eq!(code("20KB"), Some(1));

    // Shrinking passes any budget, 0 included.
    let out = binslim()
        .args(["diff", "--max-growth", "0"])
        .arg(&new)
        .arg(&old)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("--max-growth 0 B (0 bytes) (of the file size): within"),
        "{text}"
    );

    let out = binslim()
        .args(["diff", "--max-growth", "5%"])
        .arg(&old)
        .arg(&new)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("--max-growth 5% (of the file size): exceeded")
    );
}

#[test]
fn bad_budgets_and_unreadable_files_exit_2() {
    for budget in ["5x", "-5%", "", "five%"] {
        let out = binslim()
            .args([
                "diff",
                "--max-growth",
                budget,
                "testdata/c-static",
                "testdata/c-static",
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{budget:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("'{budget}' is not a size budget: give a size (200KB, 1MiB, 4096) or a percentage (5%)")),
            "{err}"
        );
    }
    for (args, message) in [
        (
            ["testdata/c-static", "testdata/no-such-file"],
            "binslim: testdata/no-such-file: not found",
        ),
        (
            ["testdata/not-elf.txt", "testdata/c-static"],
            "binslim: testdata/not-elf.txt: is a text file, not an ELF binary",
        ),
        (
            ["testdata/c-static", "testdata/truncated-elf"],
            "binslim: testdata/truncated-elf: truncated ELF",
        ),
    ] {
        let out = binslim()
            .args(["diff", "--max-growth", "5%"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{err}");
    }
}

#[test]
fn json_shape_keeps_every_row() {
    let d = diff_json(
        Path::new("testdata/c-static"),
        Path::new("testdata/c-static-pie"),
    );
    let keys: BTreeSet<&str> = d.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "old",
            "new",
            "file_size",
            "gzip_size",
            "categories",
            "sections",
            "packages",
            "symtab"
        ])
    );
    for k in ["file_size", "gzip_size"] {
        let keys: BTreeSet<&str> = d[k]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, BTreeSet::from(["old", "new", "delta"]));
    }
    assert_eq!(
        d["file_size"],
        serde_json::json!({"old": 762_424, "new": 1_035_624, "delta": 273_200})
    );
    for table in ["categories", "sections", "packages"] {
        let rows = d[table].as_array().unwrap();
        let mut last = u64::MAX;
        for r in rows {
            let keys: BTreeSet<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
            // Package rows also say how their data changed (both files have .symtab here).
            let mut want = BTreeSet::from(["name", "old", "new", "delta"]);
            if table == "packages" {
                want.insert("data_delta");
                assert!(r["data_delta"].is_i64(), "{r}");
            }
            assert_eq!(keys, want, "{table}");
            let (o, n, delta) = (
                r["old"].as_i64().unwrap(),
                r["new"].as_i64().unwrap(),
                r["delta"].as_i64().unwrap(),
            );
            assert_eq!(delta, n - o);
            assert!(
                delta.unsigned_abs() <= last,
                "{table}: largest change first"
            );
            last = delta.unsigned_abs();
        }
    }
    // Unchanged rows are kept (text hides them).
    assert_eq!(
        row(&d["packages"], "_IO_wfile_seekoff"),
        &serde_json::json!({"name": "_IO_wfile_seekoff", "old": 2225, "new": 2225, "delta": 0, "data_delta": 0})
    );
    assert_eq!(row(&d["sections"], ".comment")["delta"], 0);
    assert_eq!(d["packages"].as_array().unwrap().len(), 1658);
    assert_eq!(d["symtab"], serde_json::json!({"old": true, "new": true}));
    assert_eq!(
        row(&d["sections"], ".rela.dyn"),
        &serde_json::json!({"name": ".rela.dyn", "old": 0, "new": 31_968, "delta": 31_968})
    );
}

#[test]
fn identical_files_show_no_rows() {
    let out = binslim()
        .args([
            "diff",
            "--max-growth",
            "0",
            "testdata/c-static",
            "testdata/c-static",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let c_static = Path::new("testdata/c-static");
    let gz = diff_json(c_static, c_static)["gzip_size"]["old"]
        .as_u64()
        .unwrap();
    assert!(gz.abs_diff(gzip6(c_static)) * 200 <= gzip6(c_static));
    let gz = binslim::report::human(gz);
    assert_eq!(
        text,
        format!(
            "old testdata/c-static\nnew testdata/c-static\n  file size  744.6 KiB → 744.6 KiB  0 B \
             (+0.0%)\n  gzip size  {gz} → {gz}  0 B (+0.0%)\n  budget     --max-growth 0 B (0 bytes) \
             (of the file size): within\n\n  no category, section or package changed size\n"
        )
    );
}

#[test]
fn text_snapshot() {
    let out = binslim()
        .args([
            "diff",
            "--top",
            "8",
            "testdata/c-static",
            "testdata/c-static-pie",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!(
        "diff-text-c-static-vs-pie",
        String::from_utf8(out.stdout).unwrap()
    );
}

/// When one side has no symbols its package rows are gone; the text says why.
#[test]
fn a_stripped_side_is_noted() {
    let out = binslim()
        .args(["diff", "testdata/rust-dynamic", "testdata/rust-static"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("\n  note       new: the Rust symbols are gone (stripped: no .symtab)"),
        "{text}"
    );
    assert!(!text.contains("old: "), "{text}");
}

/// Go package rows in a diff are the `inspect --packages` rows of each side (from pclntab,
/// so stripped Go builds diff by package too): go-static → go-tls adds crypto/tls.
#[test]
fn go_package_rows_come_from_each_sides_pclntab() {
    let old = Path::new("testdata/go-static");
    let new = Path::new("testdata/go-tls");
    let d = diff_json(old, new);
    let rows_of = |p: &Path| -> Value {
        let out = binslim()
            .args(["inspect", "--packages", "--json"])
            .arg(p)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v[0]["packages"].clone()
    };
    let total = |rows: &Value, name: &str| -> u64 {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .map_or(0, |r| {
                r["code"].as_u64().unwrap() + r["data"].as_u64().unwrap()
            })
    };
    let (old_rows, new_rows) = (rows_of(old), rows_of(new));
    for name in ["crypto/tls", "runtime", "net", "main", "internal/bisect"] {
        let r = row(&d["packages"], name);
        let (o, n) = (total(&old_rows, name), total(&new_rows, name));
        assert_eq!(r["old"], o, "{name}: {r}");
        assert_eq!(r["new"], n, "{name}: {r}");
        assert_eq!(r["delta"], n as i64 - o as i64, "{name}: {r}");
    }
    // go-tls is a TLS client: crypto/tls is new, and big.
    assert_eq!(row(&d["packages"], "crypto/tls")["old"], 0);
    assert!(total(&new_rows, "crypto/tls") > 100_000);
    // The file sizes are the files'.
    assert_eq!(d["file_size"]["old"], 1_171_608);
    assert_eq!(d["file_size"]["new"], 3_948_696);
}

/// `FIXTURE` stripped two ways into a temporary directory: GNU `strip -o` and
/// `binslim shrink -o`: (dir, gnu, shrunk).
fn stripped_copies(fixture: &Path) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempdir();
    let gnu = dir.path().join("gnu-stripped");
    gnu_strip(&[], fixture, Some(&gnu));
    let shrunk = dir.path().join("shrunk");
    let out = binslim()
        .args(["shrink", "-o"])
        .arg(&shrunk)
        .arg(fixture)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "shrink {fixture:?}: {out:?}");
    for p in [&gnu, &shrunk] {
        assert_eq!(section_size(p, ".symtab"), 0, "{p:?} keeps .symtab");
        assert_eq!(
            section_size(p, ".text"),
            section_size(fixture, ".text"),
            "{p:?}: strip moves no code"
        );
    }
    (dir, gnu, shrunk)
}

/// Diffs `with` (a build with `.symtab`) against `without` (its stripped copy) both ways and
/// checks that no package's code moved, data is unknown, and the text says which side has no
/// symbol table. `group` is the row the symbol-named code is compared in, with its size (the
/// truth from readelf/nm); `None` when the program has no such code.
fn assert_like_with_like(with: &Path, without: &Path, group: Option<(&str, u64)>) {
    for (old, new, side) in [(with, without, "new"), (without, with, "old")] {
        let d = diff_json(old, new);
        let who = format!("{old:?} -> {new:?}");
        let rows = d["packages"].as_array().unwrap();
        assert!(!rows.is_empty(), "{who}");
        for r in rows {
            assert_eq!(r["delta"], 0, "{who}: code moved in {r}");
            assert_eq!(r["old"], r["new"], "{who}: {r}");
            assert_eq!(r["data_delta"], Value::Null, "{who}: {r}");
        }
        assert_eq!(
            d["symtab"],
            serde_json::json!({"old": side == "new", "new": side == "old"}),
            "{who}"
        );
        // Every .text byte is in exactly one row, on both sides.
        let sum: u64 = rows.iter().map(|r| r["old"].as_u64().unwrap()).sum();
        assert_eq!(sum, section_size(with, ".text"), "{who}");
        if let Some((name, bytes)) = group {
            assert_eq!(row(&d["packages"], name)["old"], bytes, "{who}");
        }

        let out = binslim().arg("diff").arg(old).arg(new).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{who}");
        let text = String::from_utf8(out.stdout).unwrap();
        let named = if side == "new" { "old" } else { "new" };
        let mut want = format!(
            "\n  symbols    {side} has no symbol table (.symtab): packages compare code only, data ?\n"
        );
        if let Some((name, _)) = group {
            want.push_str(&format!(
                "             what only {named}'s symbols name (C functions, Rust crates) is one row on both sides: {name}\n"
            ));
        }
        want.push_str("\n  category ");
        assert!(text.contains(&want), "{who}: {text}");
        assert!(!text.contains("\n  package "), "{who}: {text}");
    }
}

/// The committed C and Rust builds with a symbol table against their stripped copies: every
/// function and crate row is one `(unattributed)` row on both sides, as large as `.text`.
#[test]
fn stripped_copies_of_c_and_rust_builds_move_no_code() {
    if !have_tool("strip") || !have_tool("readelf") {
        return;
    }
    for f in [
        "c-static",
        "c-static-pie",
        "c-dynamic-pie",
        "c-debug",
        "c-nopie",
        "libgreet.so",
        "musl-static",
        "musl-dynamic",
        "i386-static",
        "rust-dynamic",
    ] {
        let fixture = Path::new("testdata").join(f);
        let (_dir, gnu, shrunk) = stripped_copies(&fixture);
        let text = section_size(&fixture, ".text");
        for stripped in [&gnu, &shrunk] {
            assert_like_with_like(&fixture, stripped, Some(("(unattributed)", text)));
        }
    }
}

/// go-pie keeps `.symtab`: its packages' data is known there and unknown in the stripped copies,
/// so only code compares, and no package moves (it had runtime -18.0 KiB: its data).
#[test]
fn stripped_copies_of_a_go_build_move_no_code() {
    if !have_tool("strip") || !have_tool("readelf") {
        return;
    }
    let fixture = Path::new("testdata/go-pie");
    let (_dir, gnu, shrunk) = stripped_copies(fixture);
    for stripped in [&gnu, &shrunk] {
        assert_like_with_like(fixture, stripped, None);
        let d = diff_json(fixture, stripped);
        assert!(row(&d["packages"], "runtime")["old"].as_u64().unwrap() > 400_000);
    }
}

/// A cgo build with `.symtab` names its C functions; its stripped copies count the same bytes in
/// `C (non-Go code)` (GNU strip keeps `.comment`) or `(unattributed)` (shrink removes it). Both
/// sides compare them in that one row: `.text` minus the Go text `runtime.text`..`runtime.etext`
/// (nm).
#[test]
fn stripped_copies_of_a_cgo_build_group_the_c_functions() {
    if !have_tool("strip") || !have_tool("readelf") || !have_tool("nm") || !have_tool("gcc") {
        return;
    }
    let Some((_go, exe)) = go_build("go-cgo", "go-cgo", &[("CGO_ENABLED", "1")], &[]) else {
        return;
    };
    let nm = stdout_of(Std::new("nm").arg(&exe));
    let addr = |sym: &str| {
        nm.lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|f| f.len() == 3 && f[2] == sym)
            .map(|f| u64::from_str_radix(f[0], 16).unwrap())
            .unwrap_or_else(|| panic!("nm has no {sym}"))
    };
    let non_go = section_size(&exe, ".text") - (addr("runtime.etext") - addr("runtime.text"));
    assert!(non_go > 0);
    let (_dir, gnu, shrunk) = stripped_copies(&exe);
    assert_like_with_like(&exe, &gnu, Some(("C (non-Go code)", non_go)));
    assert_like_with_like(&exe, &shrunk, Some(("(unattributed)", non_go)));
    // With .symtab on both sides the C functions have rows of their own.
    let named = diff_json(&exe, &exe);
    assert_eq!(
        named["symtab"],
        serde_json::json!({"old": true, "new": true})
    );
    assert_eq!(
        row(&named["packages"], "_cgo_libc_setegid")["data_delta"],
        0,
        "both sides know data"
    );
}

/// Neither go-static nor go-tls has `.symtab`: package rows are code only, data unknown.
#[test]
fn builds_without_symbols_compare_code_with_unknown_data() {
    let d = diff_json(
        Path::new("testdata/go-static"),
        Path::new("testdata/go-tls"),
    );
    assert_eq!(d["symtab"], serde_json::json!({"old": false, "new": false}));
    assert!(
        d["packages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["data_delta"].is_null())
    );
    let out = binslim()
        .args([
            "diff",
            "--top",
            "2",
            "testdata/go-static",
            "testdata/go-tls",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(
            "\n  symbols    neither has a symbol table (.symtab): packages compare code only, data ?\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "\n  package                  old        new       delta  data\n  \
             crypto/tls               0 B  238.9 KiB  +238.9 KiB     ?\n"
        ),
        "{text}"
    );
}
