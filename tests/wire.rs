//! Wire sizes are what `gzip -6` gives: every `gzip_size` in `binslim shrink`'s ledger is within
//! 0.5 % of `gzip -6 -c < STEP | wc -c` over that step's real bytes (the input, each strip
//! step's output, the written stripped file, upx's output), measured by running gzip.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

/// `gzip -6 -c | wc -c` over `bytes`.
fn gzip6(bytes: &[u8]) -> u64 {
    let mut child = Command::new("gzip")
        .args(["-6", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run gzip");
    let mut stdin = child.stdin.take().unwrap();
    let data = bytes.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&data).unwrap());
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    assert!(out.status.success());
    out.stdout.len() as u64
}

/// |ours - gzip| <= 0.5 % of gzip's.
fn assert_close(what: &str, ours: u64, bytes: &[u8]) {
    assert_within(what, ours, bytes, 0.005);
}

/// |ours - gzip| <= `bound` (a fraction) of gzip's.
fn assert_within(what: &str, ours: u64, bytes: &[u8], bound: f64) {
    let gz = gzip6(bytes);
    let off = (ours as f64 - gz as f64) / gz as f64;
    eprintln!(
        "{what}: binslim {ours}, gzip -6 {gz} ({:+.3} %)",
        100.0 * off
    );
    assert!(
        off.abs() <= bound,
        "{what}: binslim says {ours}, gzip -6 gives {gz} ({:.3} % off)",
        100.0 * off
    );
}

fn shrink_json(args: &[&str], input: &Path, out: &Path) -> Value {
    let o = common::binslim()
        .args(["shrink", "--json", "-o"])
        .arg(out)
        .args(args)
        .arg(input)
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    serde_json::from_slice(&o.stdout).unwrap()
}

fn step<'a>(j: &'a Value, name: &str) -> &'a Value {
    j["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == name)
        .unwrap_or_else(|| panic!("no {name} step in {j}"))
}

/// Checks every step of one input against gzip over the step's bytes.
fn check(name: &str, input: &Path) {
    let dir = common::tempdir();
    let data = std::fs::read(input).unwrap();
    let j = shrink_json(&[], input, &dir.path().join("stripped"));
    assert_close(
        &format!("{name} original"),
        step(&j, "original")["gzip_size"].as_u64().unwrap(),
        &data,
    );
    // Each strip step's bytes, planned by the library as the pipeline plans them.
    let elf = binslim::elf::ElfFile::parse(&data).unwrap();
    let planned = binslim::shrink::plan_strip_steps(&elf, &Default::default()).unwrap();
    let mut last = None;
    for p in &planned {
        let s = step(&j, p.kind.as_str());
        if s["changed"] != true {
            continue;
        }
        let mut bytes = Vec::new();
        p.layout.write_to(&data, &mut bytes).unwrap();
        let ours = s["gzip_size"].as_u64().unwrap();
        assert_close(&format!("{name} {}", p.kind.as_str()), ours, &bytes);
        // The library's one-stream API (chunked without the other steps' marks) too.
        let one = binslim::shrink::gzip_size(&data[..], 0, Some(&p.layout)).unwrap();
        assert_close(&format!("{name} {} alone", p.kind.as_str()), one, &bytes);
        last = Some(ours);
    }
    // The file written is the last strip step's bytes.
    let stripped = std::fs::read(dir.path().join("stripped")).unwrap();
    let last = last.expect("some strip step changed the file");
    assert_eq!(j["gzip_size"].as_u64(), Some(last));
    assert_close(&format!("{name} stripped file"), last, &stripped);

    if !common::have_tool("upx") {
        return;
    }
    let j = shrink_json(&["--upx"], input, &dir.path().join("packed"));
    if j["upx"]["outcome"] != "packed" {
        // upx declines some inputs (go-pie: CantPackException): no upx bytes to measure.
        assert_eq!(j["upx"]["outcome"], "declined", "{name}: {j}");
        return;
    }
    let packed = std::fs::read(dir.path().join("packed")).unwrap();
    assert_close(
        &format!("{name} upx"),
        step(&j, "upx")["gzip_size"].as_u64().unwrap(),
        &packed,
    );
}

#[test]
fn every_step_is_within_half_a_percent_of_gzip_6() {
    if !common::have_tool("gzip") {
        return;
    }
    // A Go program with DWARF (about 2 MB: several 1 MiB chunks, shared between the steps).
    if let Some((_dir, exe)) = common::go_build("go-hello", "hello", &[], &[]) {
        check("go-hello", &exe);
    }
    for f in [
        "c-static",
        "c-static-pie",
        "c-dynamic-pie",
        "musl-static",
        "rust-static",
        "go-static",
        "go-pie",
    ] {
        check(f, &common::fixture(f));
    }
}

/// The one fixture outside 0.5 %: zlib-rs, run with gzip's parameters, finds slightly better
/// matches than gzip in some C and Rust code (-0.2 to -0.7 % on system binaries; /usr/bin/bash
/// -0.71 %); rust-dynamic's strip-symbols step lands at -0.53 %. Pinned here so that a change
/// in either direction shows.
#[test]
fn rust_dynamic_is_the_known_outlier() {
    if !common::have_tool("gzip") {
        return;
    }
    let data = std::fs::read(common::fixture("rust-dynamic")).unwrap();
    let elf = binslim::elf::ElfFile::parse(&data).unwrap();
    let planned = binslim::shrink::plan_strip_steps(&elf, &Default::default()).unwrap();
    let symbols = planned
        .iter()
        .find(|p| p.kind == binslim::shrink::StepKind::StripSymbols)
        .unwrap();
    let mut bytes = Vec::new();
    symbols.layout.write_to(&data, &mut bytes).unwrap();
    let ours = binslim::shrink::gzip_size(&data[..], 0, Some(&symbols.layout)).unwrap();
    assert_within("rust-dynamic strip-symbols", ours, &bytes, 0.006);
    assert!(
        ours < gzip6(&bytes) * 995 / 1000,
        "no longer an outlier: move rust-dynamic to the list above"
    );
}

#[test]
fn empty_and_tiny_inputs_match_gzip() {
    if !common::have_tool("gzip") {
        return;
    }
    for data in [&b""[..], b"a", &[0u8; 100_000]] {
        let ours = binslim::shrink::gzip_size(data, data.len() as u64, None).unwrap();
        assert_eq!(ours, gzip6(data), "{} bytes", data.len());
    }
    // A 25-byte text: zlib-rs's match search differs from gzip's by one byte here (36 vs 35),
    // which does not matter for files of kilobytes and up.
    let text = b"hello, hello, hello wire\n";
    let ours = binslim::shrink::gzip_size(&text[..], text.len() as u64, None).unwrap();
    assert_eq!((ours, gzip6(text)), (36, 35));
}
