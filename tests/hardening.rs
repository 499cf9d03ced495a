//! Hardening: malformed input never panics or hangs any verb, binslim never executes what it
//! inspects, a killed `shrink` never leaves a partial file, and crafted headers cannot make it
//! allocate gigabytes.

mod common;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command as Std, Stdio};
use std::time::{Duration, Instant};

use binslim::elf::analyze;
use binslim::strip::{StripOptions, strip};
use binslim::verify::{Origin, VerifyOptions, verify_bytes};
use common::fixture;

/// Fixtures of different kinds: static, static-pie, dynamic PIE, musl dynamic, Go, 32-bit,
/// aarch64.
const KINDS: &[&str] = &[
    "c-dynamic-pie",
    "musl-dynamic",
    "i386-static",
    "arm64-static",
    "c-static-pie",
    "go-static",
];

/// Every library-level verb on one input: analysis, the verify verdict, and stripping (whose
/// output must parse again with the same linkage, interpreter and NEEDED).
fn all_verbs_in_process(data: &[u8]) {
    let opts = VerifyOptions::default();
    let _ = verify_bytes(Path::new("x"), "x", data, &opts, Origin::Named);
    let Ok(before) = analyze(data) else { return };
    let _ = binslim::report::text::inspect("x", &before, Default::default());
    let mut out = Vec::new();
    if strip(data, &StripOptions::all(), &mut out).is_ok() {
        let after = analyze(&out).expect("stripped output parses");
        assert_eq!(before.linkage, after.linkage);
        assert_eq!(before.interpreter, after.interpreter);
        assert_eq!(before.needed, after.needed);
    }
}

fn phdrs_end(data: &[u8]) -> usize {
    let is64 = data[4] == 2;
    let (phoff, phnum, phentsize) = if is64 {
        (
            u64::from_le_bytes(data[0x20..0x28].try_into().unwrap()) as usize,
            u16::from_le_bytes(data[0x38..0x3a].try_into().unwrap()) as usize,
            56,
        )
    } else {
        (
            u32::from_le_bytes(data[0x1c..0x20].try_into().unwrap()) as usize,
            u16::from_le_bytes(data[0x2c..0x2e].try_into().unwrap()) as usize,
            32,
        )
    };
    phoff + phnum * phentsize
}

/// Truncation lengths: every byte through the program headers, every byte of the last 2 KiB
/// (section headers live there), and 400 evenly spaced lengths in between.
fn truncations(len: usize, phend: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..=phend.min(len)).collect();
    v.extend(len.saturating_sub(2048)..len);
    let step = (len / 400).max(1);
    v.extend((phend..len).step_by(step));
    v.sort_unstable();
    v.dedup();
    v
}

#[test]
fn every_truncation_of_every_kind_is_handled() {
    let mut runs = 0;
    for name in KINDS {
        let data = fs::read(fixture(name)).unwrap();
        for n in truncations(data.len(), phdrs_end(&data)) {
            all_verbs_in_process(&data[..n]);
            runs += 1;
        }
    }
    assert!(runs > 10_000, "{runs} truncations");
}

/// (offset, size) of every field of the ELF header, each program header and each section
/// header of a little-endian file.
fn header_fields(data: &[u8]) -> Vec<(usize, usize)> {
    let is64 = data[4] == 2;
    let w = if is64 { 8 } else { 4 };
    let ehdr: Vec<usize> = vec![2, 2, 4, w, w, w, 4, 2, 2, 2, 2, 2, 2];
    let mut fields = Vec::new();
    let mut at = 16;
    for size in ehdr {
        fields.push((at, size));
        at += size;
    }
    let rd = |at: usize, size: usize| {
        let mut v = 0u64;
        for (i, b) in data[at..at + size].iter().enumerate() {
            v |= u64::from(*b) << (8 * i);
        }
        v as usize
    };
    let (phoff, phnum, shoff, shnum) = if is64 {
        (rd(0x20, 8), rd(0x38, 2), rd(0x28, 8), rd(0x3c, 2))
    } else {
        (rd(0x1c, 4), rd(0x2c, 2), rd(0x20, 4), rd(0x30, 2))
    };
    let phdr: Vec<usize> = if is64 {
        vec![4, 4, 8, 8, 8, 8, 8, 8]
    } else {
        vec![4, 4, 4, 4, 4, 4, 4, 4]
    };
    let shdr: Vec<usize> = vec![4, 4, w, w, w, w, 4, 4, w, w];
    for (base, count, layout) in [(phoff, phnum, &phdr), (shoff, shnum, &shdr)] {
        let entsize: usize = layout.iter().sum();
        for k in 0..count {
            let mut at = base + k * entsize;
            for &size in layout.iter() {
                if at + size <= data.len() {
                    fields.push((at, size));
                }
                at += size;
            }
        }
    }
    fields
}

fn set(data: &mut [u8], at: usize, size: usize, v: u64) {
    data[at..at + size].copy_from_slice(&v.to_le_bytes()[..size]);
}

/// Boundary values and every single-bit flip of every header field (small fixtures), boundary
/// values only for the large ones.
#[test]
fn every_header_field_mutation_is_handled() {
    let mut runs = 0;
    for name in KINDS {
        let data = fs::read(fixture(name)).unwrap();
        let small = data.len() < 64 * 1024;
        for (at, size) in header_fields(&data) {
            let max = if size == 8 {
                u64::MAX
            } else {
                (1u64 << (8 * size)) - 1
            };
            let mut values = vec![0, 1, max, max / 2 + 1, data.len() as u64];
            if small {
                let orig = u64::from_le_bytes({
                    let mut b = [0u8; 8];
                    b[..size].copy_from_slice(&data[at..at + size]);
                    b
                });
                values.extend((0..8 * size).map(|bit| orig ^ (1 << bit)));
            }
            let mut buf = data.clone();
            for v in values {
                set(&mut buf, at, size, v);
                let r = std::panic::catch_unwind(|| all_verbs_in_process(&buf));
                assert!(
                    r.is_ok(),
                    "{name}: field at {at:#x} ({size} bytes) = {v:#x}"
                );
                runs += 1;
            }
        }
    }
    assert!(runs > 20_000, "{runs} mutations");
}

/// Every minimized input that once crashed a fuzz target.
#[test]
fn fuzz_regressions_are_handled() {
    let dir = common::root().join("testdata/fuzz-regressions");
    let mut n = 0;
    for e in fs::read_dir(dir).unwrap() {
        let data = fs::read(e.unwrap().path()).unwrap();
        all_verbs_in_process(&data);
        n += 1;
    }
    assert!(n >= 3, "{n} regression inputs");
}

// ---- the same through the CLI, with a time bound ------------------------------------------

struct Run {
    code: i32,
    stderr: String,
    max_rss_kib: i64,
}

/// Runs binslim with a time limit and measures its peak RSS (wait4).
// The child is reaped by wait4 (which also gives its rusage), not by Child::wait.
#[allow(clippy::zombie_processes)]
fn run_bounded(args: &[&std::ffi::OsStr], env: &[(&str, &Path)], limit: Duration) -> Run {
    let mut cmd = Std::new(env!("CARGO_BIN_EXE_binslim"));
    cmd.args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .env_remove("TARGETPLATFORM");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let pid = child.id() as libc::pid_t;
    let start = Instant::now();
    let mut stderr = String::new();
    let mut pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = pipe.read_to_string(&mut s);
        s
    });
    loop {
        let mut status = 0;
        // SAFETY: rusage is a C struct of integers (plain old data): all zero bytes is valid.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `pid` is our own child, not yet reaped; `status` and `usage` are live locals.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            stderr.push_str(&reader.join().unwrap());
            let code = if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                -libc::WTERMSIG(status)
            };
            return Run {
                code,
                stderr,
                max_rss_kib: usage.ru_maxrss,
            };
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("binslim {args:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn os(s: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(s)
}

#[test]
fn cli_verbs_on_broken_inputs_exit_0_1_or_2_with_a_message() {
    let dir = common::tempdir();
    let mut inputs: Vec<PathBuf> = Vec::new();
    for name in ["c-dynamic-pie", "i386-static", "go-static"] {
        let data = fs::read(fixture(name)).unwrap();
        let phend = phdrs_end(&data);
        for (k, n) in [
            10,
            52,
            64,
            phend - 1,
            phend + 100,
            data.len() / 2,
            data.len() - 1,
        ]
        .into_iter()
        .enumerate()
        {
            let p = dir.path().join(format!("{name}-cut{k}"));
            fs::write(&p, &data[..n]).unwrap();
            inputs.push(p);
        }
        for (k, (at, size)) in header_fields(&data).into_iter().step_by(7).enumerate() {
            let mut buf = data.clone();
            set(&mut buf, at, size, u64::MAX);
            let p = dir.path().join(format!("{name}-flip{k}"));
            fs::write(&p, &buf).unwrap();
            inputs.push(p);
        }
    }
    for input in &inputs {
        let out = dir.path().join("out");
        let runs = [
            vec![os("inspect"), input.as_os_str()],
            vec![os("verify"), input.as_os_str()],
            vec![os("shrink"), os("-o"), out.as_os_str(), input.as_os_str()],
        ];
        for args in runs {
            let r = run_bounded(&args, &[], Duration::from_secs(20));
            assert!(
                (0..=2).contains(&r.code),
                "{args:?}: exit {}: {}",
                r.code,
                r.stderr
            );
            assert!(!r.stderr.contains("panicked"), "{args:?}: {}", r.stderr);
            if r.code == 2 {
                assert!(r.stderr.starts_with("binslim: "), "{args:?}: {}", r.stderr);
            }
            if args[0] == "shrink" {
                if r.code == 2 {
                    assert!(!out.exists(), "{args:?} left an output behind");
                }
                let _ = fs::remove_file(&out);
            }
        }
    }
    let stray: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".binslim-"))
        .collect();
    assert!(stray.is_empty(), "temporary files left: {stray:?}");
}

/// Crafted counts and sizes must be refused (or saturated) without big allocations.
#[test]
fn crafted_huge_counts_do_not_allocate_gigabytes() {
    let data = fs::read(fixture("c-dynamic-pie")).unwrap();
    let shoff = u64::from_le_bytes(data[0x28..0x30].try_into().unwrap()) as usize;
    let phoff = 64usize;
    let dir = common::tempdir();
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    // e_shnum = 0: the count comes from section 0's sh_size = 2^40.
    let mut b = data.clone();
    set(&mut b, 0x3c, 2, 0);
    set(&mut b, shoff + 32, 8, 1 << 40);
    cases.push(("shnum-in-section0", b));
    // e_phnum = 0xffff (PN_XNUM): the count comes from section 0's sh_info.
    let mut b = data.clone();
    set(&mut b, 0x38, 2, 0xffff);
    set(&mut b, shoff + 44, 4, u64::from(u32::MAX));
    cases.push(("phnum-xnum", b));
    // Every section claims 2^63 bytes of NOBITS.
    let mut b = data.clone();
    let shnum = u16::from_le_bytes(data[0x3c..0x3e].try_into().unwrap()) as usize;
    for k in 1..shnum {
        set(&mut b, shoff + k * 64 + 4, 4, 8); // SHT_NOBITS
        set(&mut b, shoff + k * 64 + 32, 8, 1 << 63);
    }
    cases.push(("nobits-huge", b));
    // A loaded segment claims 2^62 file bytes.
    let mut b = data.clone();
    set(&mut b, phoff + 2 * 56 + 32, 8, 1 << 62);
    cases.push(("filesz-huge", b));

    for (name, bytes) in cases {
        let p = dir.path().join(name);
        fs::write(&p, bytes).unwrap();
        let out = dir.path().join("out");
        for args in [
            vec![os("inspect"), os("--json"), p.as_os_str()],
            vec![os("verify"), p.as_os_str()],
            vec![os("shrink"), os("-o"), out.as_os_str(), p.as_os_str()],
        ] {
            let r = run_bounded(&args, &[], Duration::from_secs(20));
            assert!((0..=2).contains(&r.code), "{name} {args:?}: {}", r.stderr);
            assert!(!r.stderr.contains("panicked"), "{name}: {}", r.stderr);
            assert!(
                r.max_rss_kib < 64 * 1024,
                "{name} {args:?}: peak RSS {} KiB",
                r.max_rss_kib
            );
            let _ = fs::remove_file(&out);
        }
    }
}

// ---- never executes -------------------------------------------------------------------------

#[test]
fn only_smoke_ever_runs_the_file() {
    let dir = common::tempdir();
    let marker = dir.path().join("executed");
    let prog = dir.path().join("exec-marker");
    fs::copy(fixture("exec-marker"), &prog).unwrap();
    let out = dir.path().join("out");
    let env = [("BINSLIM_MARKER", marker.as_path())];
    for args in [
        vec![os("inspect"), prog.as_os_str()],
        vec![
            os("inspect"),
            os("--json"),
            os("--sections"),
            prog.as_os_str(),
        ],
        vec![os("verify"), os("--strict"), prog.as_os_str()],
        vec![os("verify"), dir.path().as_os_str()],
        vec![os("shrink"), os("-o"), out.as_os_str(), prog.as_os_str()],
    ] {
        let r = run_bounded(&args, &env, Duration::from_secs(20));
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        assert!(!marker.exists(), "{args:?} executed the file");
        let _ = fs::remove_file(&out);
    }
    // The smoke test is the one place that runs it, on purpose.
    let r = run_bounded(
        &[
            os("shrink"),
            os("--smoke"),
            os(""),
            os("-o"),
            out.as_os_str(),
            prog.as_os_str(),
        ],
        &env,
        Duration::from_secs(60),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(marker.exists(), "--smoke must run the file");
}

// ---- files are safe -------------------------------------------------------------------------

fn temps_in(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".binslim-"))
        .collect()
}

/// A 96 MiB program (an initialized array in `.data`) with DWARF, built with gcc at test time:
/// copying its loaded part takes long enough to kill binslim in the middle of the write.
fn big_program(dir: &Path) -> Option<PathBuf> {
    if !common::have_tool("gcc") {
        return None;
    }
    let src = dir.join("big.c");
    fs::write(
        &src,
        "#include <stdio.h>\nchar big[96 << 20] = {1};\n\
         int main(int c, char **v) { (void)v; puts(\"big\"); return big[c * 4096]; }\n",
    )
    .unwrap();
    let exe = dir.join("big");
    let out = Std::new("gcc")
        .args(["-g", "-O1", "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    Some(exe)
}

/// Starts `binslim ARGS TARGET`, waits until a `.binslim-*` temporary entry appears in `work`
/// (or the run ends), sleeps `delay`, then SIGKILLs it. Returns whether a temporary entry was
/// seen before the kill.
fn kill_during_write(args: &[&str], target: &Path, work: &Path, delay: Duration) -> bool {
    let mut child = Std::new(env!("CARGO_BIN_EXE_binslim"))
        .args(args)
        .arg(target)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let mut seen = false;
    while start.elapsed() < Duration::from_secs(30) {
        if !temps_in(work).is_empty() {
            seen = true;
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
    }
    std::thread::sleep(delay);
    let _ = child.kill();
    let _ = child.wait();
    seen
}

/// SIGKILL while an in-place shrink writes (`--no-gzip`, so the write starts at once; killed
/// after its temporary file appears, at delays from 0 to 400 ms): the file is always either
/// the old bytes or the complete new ones, never a mix; some kills must land mid-write (the
/// temporary file was still there afterwards and the original untouched); the next run removes
/// every temporary file the killed runs left.
#[test]
fn sigkill_during_the_write_never_leaves_a_partial_file() {
    let dir = common::tempdir();
    let Some(src) = big_program(dir.path()) else {
        return;
    };
    let original = fs::read(&src).unwrap();
    let expected_path = dir.path().join("expected");
    let st = Std::new(env!("CARGO_BIN_EXE_binslim"))
        .args(["shrink", "--no-gzip", "-o"])
        .arg(&expected_path)
        .arg(&src)
        .output()
        .unwrap();
    assert!(st.status.success(), "{st:?}");
    let expected = fs::read(&expected_path).unwrap();
    assert_ne!(expected.len(), original.len());

    let work = dir.path().join("work");
    fs::create_dir(&work).unwrap();
    let target = work.join("server");
    let delays = [0u64, 0, 1, 2, 5, 10, 20, 50, 100, 400];
    let (mut mid_write, mut old, mut new) = (0, 0, 0);
    for (k, &ms) in delays.iter().cycle().take(20).enumerate() {
        fs::copy(&src, &target).unwrap();
        let seen = kill_during_write(
            &["shrink", "--no-gzip"],
            &target,
            &work,
            Duration::from_millis(ms),
        );
        let now = fs::read(&target).unwrap();
        let left = temps_in(&work);
        if now == original {
            old += 1;
            if seen && !left.is_empty() {
                mid_write += 1;
            }
        } else {
            assert!(
                now == expected,
                "partial file after SIGKILL {ms} ms after the temp appeared ({} bytes)",
                now.len()
            );
            new += 1;
        }
        // Keep the last run's leftovers for the clean-up check below; earlier ones would make
        // the next poll see a temporary file before the new run has made its own.
        if k < 19 {
            for name in left {
                let p = work.join(name);
                let _ = fs::remove_file(&p).or_else(|_| fs::remove_dir_all(&p));
            }
        }
    }
    eprintln!("SIGKILL: {mid_write} mid-write, {old} old, {new} new");
    assert_eq!(old + new, 20);
    assert!(
        mid_write >= 3,
        "only {mid_write} of 20 kills landed during the write ({old} old, {new} new)"
    );

    // During upx (seconds on this file): kill, then the file is the stripped one or packed.
    if common::have_tool("upx") {
        fs::write(&target, &expected).unwrap();
        let seen = kill_during_write(
            &["shrink", "--no-gzip", "--upx"],
            &target,
            &work,
            Duration::from_millis(300),
        );
        assert!(seen);
        // upx dies with binslim (PDEATHSIG); give the kernel a moment to reap it.
        std::thread::sleep(Duration::from_millis(200));
        let now = fs::read(&target).unwrap();
        assert!(now == expected || analyze(&now).is_ok_and(|a| a.upx.is_some()));
    }

    // A later run in the same directory removes what the killed runs left behind.
    assert!(
        !temps_in(&work).is_empty(),
        "the last kills left temporary files"
    );
    let other = work.join("other");
    fs::copy(fixture("c-static"), &other).unwrap();
    let st = Std::new(env!("CARGO_BIN_EXE_binslim"))
        .args(["shrink", "--no-gzip"])
        .arg(&other)
        .output()
        .unwrap();
    assert!(st.status.success());
    assert_eq!(temps_in(&work), Vec::<String>::new());
}

#[test]
fn inputs_stay_byte_identical_unless_in_place() {
    let dir = common::tempdir();
    let prog = dir.path().join("prog");
    fs::copy(fixture("go-pie"), &prog).unwrap();
    let before = fs::read(&prog).unwrap();
    let out = dir.path().join("out");
    for args in [
        vec![os("inspect"), prog.as_os_str()],
        vec![os("verify"), prog.as_os_str()],
        vec![os("shrink"), os("-o"), out.as_os_str(), prog.as_os_str()],
    ] {
        run_bounded(&args, &[], Duration::from_secs(30));
        assert_eq!(
            fs::read(&prog).unwrap(),
            before,
            "{args:?} changed its input"
        );
    }
}

// ---- crafted layouts that must be refused or bounded ------------------------------------------

/// Section `name`'s header offset in a little-endian ELF64 file.
fn shdr_of(data: &[u8], name: &str) -> usize {
    let shoff = u64::from_le_bytes(data[0x28..0x30].try_into().unwrap()) as usize;
    let shnum = u16::from_le_bytes(data[0x3c..0x3e].try_into().unwrap()) as usize;
    let shstrndx = u16::from_le_bytes(data[0x3e..0x40].try_into().unwrap()) as usize;
    let field = |at: usize| u64::from_le_bytes(data[at..at + 8].try_into().unwrap()) as usize;
    let names = field(shoff + shstrndx * 64 + 24);
    (0..shnum)
        .map(|k| shoff + k * 64)
        .find(|&h| {
            let at = names + u32::from_le_bytes(data[h..h + 4].try_into().unwrap()) as usize;
            data[at..].starts_with(name.as_bytes()) && data[at + name.len()] == 0
        })
        .unwrap_or_else(|| panic!("no section {name}"))
}

#[test]
fn a_upx_trailer_alone_marks_only_a_file_without_section_headers_as_packed() {
    let mut data = fs::read(fixture("c-static")).unwrap();
    let mut trailer = b"UPX!".to_vec();
    trailer.resize(32, 0x11);
    data.extend_from_slice(&trailer);
    assert!(
        analyze(&data).unwrap().upx.is_none(),
        "file with section headers"
    );
    let mut out = Vec::new();
    strip(&data, &StripOptions::all(), &mut out).expect("not refused as already packed");

    // The same bytes without section headers (as UPX writes its output) count as packed.
    set(&mut data, 0x28, 8, 0); // e_shoff
    set(&mut data, 0x3c, 2, 0); // e_shnum
    set(&mut data, 0x3e, 2, 0); // e_shstrndx
    assert!(analyze(&data).unwrap().upx.is_some());
}

#[test]
fn program_headers_overlapping_the_elf_header_are_refused_by_strip() {
    let mut data = fs::read(fixture("c-static")).unwrap();
    // e_phoff inside the 64-byte ELF header: the one program header's p_type is e_flags (0,
    // PT_NULL, an unused entry), so the analysis accepts the file.
    set(&mut data, 0x20, 8, 0x30);
    set(&mut data, 0x38, 2, 1); // e_phnum
    assert_eq!(
        analyze(&data).unwrap().linkage,
        binslim::elf::Linkage::Static
    );
    let mut out = Vec::new();
    let err = strip(&data, &StripOptions::all(), &mut out).unwrap_err();
    assert_eq!(
        err.to_string(),
        "has overlapping headers or tables (at byte 48): binslim cannot rewrite it safely"
    );
    assert!(out.is_empty());
}

#[test]
fn a_crafted_section_alignment_does_not_pad_the_output_to_gigabytes() {
    let mut data = fs::read(fixture("c-debug")).unwrap();
    let mut debug_only = StripOptions::default();
    debug_only.debug = true;
    let mut plain = Vec::new();
    strip(&data, &debug_only, &mut plain).unwrap();
    let symtab = shdr_of(&data, ".symtab");
    set(&mut data, symtab + 48, 8, 1 << 40); // sh_addralign of an appended, kept section
    let mut out = Vec::new();
    strip(&data, &debug_only, &mut out).unwrap();
    // At most one page of padding more than with the honest alignment.
    assert!(
        out.len() <= plain.len() + 4096,
        "{} vs {} bytes",
        out.len(),
        plain.len()
    );
    let after = analyze(&out).unwrap();
    assert_eq!(after.debug_size, 0);
    assert!(!after.stripped);
}

/// `binslim ARGS...` as a std command (stdin empty), for the output tests below.
fn bin(args: &[&std::ffi::OsStr]) -> Std {
    let mut c = Std::new(env!("CARGO_BIN_EXE_binslim"));
    c.args(args).stdin(Stdio::null());
    c
}

fn kind(p: &Path) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = fs::symlink_metadata(p).unwrap().file_type();
    match () {
        _ if t.is_char_device() => "char device",
        _ if t.is_fifo() => "fifo",
        _ if t.is_symlink() => "symlink",
        _ if t.is_file() => "file",
        _ => "other",
    }
}

/// `-o /dev/null` once replaced the device node with a regular file (a rename over it), and
/// `-o LINK` replaced the link: a device, FIFO or link into /proc is written into, a link to a
/// file keeps its link and its file gets the bytes, for every verb that writes an -o file.
#[test]
fn outputs_onto_devices_fifos_and_links_are_written_into_never_replaced() {
    let d = common::tempdir();
    let d = d.path();
    let prog = fixture("go-static");
    let null = d.join("null");
    let verbs: [&[&str]; 4] = [
        &["sbom"],
        &["shrink"],
        &["image", "--sbom", "none"],
        &["inspect", "--treemap"],
    ];
    for verb in verbs {
        let _ = fs::remove_file(&null);
        let made = Std::new("mknod").arg(&null).args(["c", "1", "3"]).status();
        assert!(made.unwrap().success(), "mknod (tests run as root)");
        let mut args: Vec<&std::ffi::OsStr> = verb.iter().map(|a| os(a)).collect();
        let out = if verb[0] == "inspect" {
            // --treemap takes the file by its extension.
            let _ = fs::remove_file(d.join("null.svg"));
            std::os::unix::fs::symlink("/dev/null", d.join("null.svg")).unwrap();
            args.push(d.join("null.svg").into_os_string().leak());
            args.push(prog.as_os_str());
            d.join("null.svg")
        } else {
            args.extend([prog.as_os_str(), os("-o"), null.as_os_str()]);
            null.clone()
        };
        let o = bin(&args).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{verb:?}: {o:?}");
        assert_eq!(kind(&null), "char device", "{verb:?}");
        if verb[0] == "inspect" {
            assert_eq!(kind(&out), "symlink");
        }
        assert_eq!(fs::metadata("/dev/null").unwrap().len(), 0);
    }

    // A FIFO: the reader gets exactly the document; the FIFO stays.
    let doc = bin(&[os("sbom"), prog.as_os_str()])
        .output()
        .unwrap()
        .stdout;
    assert!(!doc.is_empty());
    let fifo = d.join("fifo");
    assert!(Std::new("mkfifo").arg(&fifo).status().unwrap().success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read(fifo).unwrap())
    };
    let o = bin(&[os("sbom"), prog.as_os_str(), os("-o"), fifo.as_os_str()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_eq!(reader.join().unwrap(), doc);
    assert_eq!(kind(&fifo), "fifo");

    // A link into /proc (what /dev/stdout is): the bytes reach standard output.
    let stdout = d.join("stdout");
    std::os::unix::fs::symlink("/proc/self/fd/1", &stdout).unwrap();
    let o = bin(&[os("sbom"), prog.as_os_str(), os("-o"), stdout.as_os_str()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_eq!(o.stdout, doc);
    assert_eq!(kind(&stdout), "symlink");

    // A link to a file: the link stays, the file it names is replaced by the output.
    let real = d.join("real");
    let link = d.join("link");
    fs::write(&real, b"old").unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let o = bin(&[os("sbom"), prog.as_os_str(), os("-o"), link.as_os_str()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_eq!(kind(&link), "symlink");
    assert_eq!(fs::read(&real).unwrap(), doc);
    let plain = d.join("plain");
    let o = bin(&[os("shrink"), prog.as_os_str(), os("-o"), plain.as_os_str()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let o = bin(&[
        os("shrink"),
        os("--force"),
        prog.as_os_str(),
        os("-o"),
        link.as_os_str(),
    ])
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_eq!(kind(&link), "symlink");
    assert_eq!(fs::read(&real).unwrap(), fs::read(&plain).unwrap());

    // --push reads the image back from -o: a device cannot give it back.
    let o = bin(&[
        os("image"),
        prog.as_os_str(),
        os("-o"),
        null.as_os_str(),
        os("--push"),
        os("127.0.0.1:9/binslim/x:1"),
        os("--insecure"),
    ])
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("a device or FIFO"), "{err}");
    assert_eq!(kind(&null), "char device");
}
