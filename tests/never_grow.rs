//! `shrink` never makes a file bigger. A Go binary linked with `-s -w` has its section header
//! table in the first page, right after the program headers (Go's linker puts it there; the
//! terraform release binaries are built so); any rewrite, GNU strip's included, moves the table
//! to the end of the file, so when the padding before `.shstrtab` is smaller than the table the
//! file grows. binslim then leaves it byte for byte as it is and says it is already minimal.

mod common;

use std::path::Path;
use std::process::Command as Std;

use common::{binslim, gnu_strip, go_build, have_tool};
use serde_json::Value;

fn u16_at(d: &[u8], at: usize) -> u64 {
    u16::from_le_bytes(d[at..at + 2].try_into().unwrap()).into()
}

fn u32_at(d: &[u8], at: usize) -> u64 {
    u32::from_le_bytes(d[at..at + 4].try_into().unwrap()).into()
}

fn u64_at(d: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(d[at..at + 8].try_into().unwrap())
}

/// Moves `.shstrtab` of a 64-bit little-endian ELF down to the end of the last other section
/// and cuts the file there: the page padding before it goes, nothing else moves. The section
/// header table must already sit before every section (as Go's `-s -w` output has it). Returns
/// the new length and the number of section headers.
fn close_the_gap(path: &Path) -> (u64, u64) {
    let mut d = std::fs::read(path).unwrap();
    assert_eq!(&d[..6], b"\x7fELF\x02\x01", "64-bit little-endian ELF");
    let (shoff, shentsize, shnum, shstrndx) = (
        u64_at(&d, 0x28) as usize,
        u16_at(&d, 0x3a) as usize,
        u16_at(&d, 0x3c) as usize,
        u16_at(&d, 0x3e) as usize,
    );
    assert_eq!(shentsize, 64);
    let sh = |d: &[u8], i: usize| {
        let at = shoff + i * 64;
        (
            u32_at(d, at + 4),
            u64_at(d, at + 0x18),
            u64_at(d, at + 0x20),
        )
    };
    let mut first = u64::MAX;
    let mut end = 0;
    for i in 0..shnum {
        let (ty, off, size) = sh(&d, i);
        // SHT_NULL, SHT_NOBITS: no file bytes.
        if ty == 0 || ty == 8 || i == shstrndx {
            continue;
        }
        first = first.min(off);
        end = end.max(off + size);
    }
    assert!(
        (shoff + shnum * 64) as u64 <= first,
        "section headers at {shoff} are not before the first section at {first}"
    );
    let (_, str_off, str_size) = sh(&d, shstrndx);
    assert!(str_off > end, ".shstrtab at {str_off} is not after {end}");
    d.copy_within(
        str_off as usize..(str_off + str_size) as usize,
        end as usize,
    );
    let field = shoff + shstrndx * 64 + 0x18;
    d[field..field + 8].copy_from_slice(&end.to_le_bytes());
    d.truncate((end + str_size) as usize);
    std::fs::write(path, &d).unwrap();
    (d.len() as u64, shnum as u64)
}

fn size(p: &Path) -> u64 {
    std::fs::metadata(p).unwrap().len()
}

fn gnu_strip_size(p: &Path) -> u64 {
    let out = p.with_extension("gnu-strip");
    gnu_strip(&[], p, Some(&out));
    size(&out)
}

fn run(p: &Path) -> String {
    let out = Std::new(p).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn stripped_go_binary_with_headers_first_is_left_byte_identical() {
    if !have_tool("strip") {
        return;
    }
    let Some((dir, exe)) = go_build(
        "go-hello",
        "server",
        &[("CGO_ENABLED", "0")],
        &["-ldflags=-s -w"],
    ) else {
        return;
    };
    let (len, shnum) = close_the_gap(&exe);
    assert_eq!(run(&exe), "hello from go\n");
    let original = std::fs::read(&exe).unwrap();
    // GNU strip makes it bigger too (Go 1.23: 1,169,256 -> 1,170,136 B).
    let grown = gnu_strip_size(&exe);
    assert!(grown > len, "strip: {len} -> {grown}");
    // Rewritten, the table would move behind .shstrtab, 8-aligned (before the never-bigger
    // rule binslim wrote exactly that: 1,169,256 -> 1,170,152 B, 14 headers of 64 B).
    let growth = len.next_multiple_of(8) - len + shnum * 64;
    let note = format!(
        "already minimal: rewriting it would add {growth} B (its section header table sits at \
         the start of the file), so it is left as it is"
    );

    // To another file: an exact copy.
    let out_path = dir.path().join("server.out");
    let out = binslim()
        .args(["shrink", "--json", "-o"])
        .arg(&out_path)
        .arg(&exe)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(std::fs::read(&out_path).unwrap(), original);
    assert_eq!(run(&out_path), "hello from go\n");
    assert_eq!(r["written"], true);
    assert_eq!(r["original_size"], len);
    assert_eq!(r["size"], len);
    assert_eq!(r["factor"], 1.0);
    assert_eq!(r["warnings"], serde_json::json!([]));
    let steps = r["steps"].as_array().unwrap();
    let names: Vec<&str> = steps.iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["original", "strip-debug", "strip-symbols", "strip-other"]
    );
    for s in &steps[1..] {
        assert_eq!(s["changed"], false, "{s}");
        assert_eq!(s["size"], len, "{s}");
        assert_eq!(s["saved"], 0, "{s}");
        assert!(s.get("removed").is_none(), "{s}");
    }
    assert_eq!(steps[1]["note"], note.as_str());
    assert_eq!(steps[2]["note"], "already minimal");
    assert_eq!(steps[3]["note"], "already minimal");

    // In place, text: not touched at all, and the ledger says why.
    let before = std::fs::metadata(&exe).unwrap().modified().unwrap();
    let out = binslim()
        .args(["shrink", "--no-gzip"])
        .arg(&exe)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(&format!("\n  strip-debug   unchanged: {note}\n")),
        "{text}"
    );
    assert!(
        text.contains(
            "\n  strip-symbols unchanged: already minimal\n  strip-other   unchanged: already minimal\n"
        ),
        "{text}"
    );
    // The summary does not claim a "1.0× smaller" result.
    let human = binslim::report::human(len);
    assert!(
        text.contains(&format!("\n  {human}: unchanged, already minimal\n")),
        "{text}"
    );
    assert_eq!(std::fs::read(&exe).unwrap(), original);
    assert_eq!(std::fs::metadata(&exe).unwrap().modified().unwrap(), before);
}

/// A plain `go build -ldflags=-s -w` (no rewriting): whatever the padding this Go version
/// leaves, the result is never bigger than the input, and when GNU strip would grow it
/// (testdata/src/go-runtime with Go 1.23: 2,474,136 -> 2,474,584 B) it is the input itself.
#[test]
fn plain_stripped_go_builds_never_grow() {
    if !have_tool("strip") {
        return;
    }
    for src in ["go-hello", "go-runtime"] {
        let Some((dir, exe)) = go_build(src, "prog", &[("CGO_ENABLED", "0")], &["-ldflags=-s -w"])
        else {
            return;
        };
        let len = size(&exe);
        let out_path = dir.path().join("prog.out");
        let out = binslim()
            .args(["shrink", "--no-gzip", "--json", "-o"])
            .arg(&out_path)
            .arg(&exe)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{src}: {out:?}");
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        let shrunk = size(&out_path);
        assert!(shrunk <= len, "{src}: {len} -> {shrunk}");
        assert_eq!(r["size"], shrunk, "{src}");
        if gnu_strip_size(&exe) > len {
            assert_eq!(
                std::fs::read(&out_path).unwrap(),
                std::fs::read(&exe).unwrap(),
                "{src}"
            );
            assert!(
                r["steps"][1]["note"]
                    .as_str()
                    .unwrap()
                    .starts_with("already minimal: rewriting it would add "),
                "{src}: {r}"
            );
        }
    }
}
