//! Go sizes against a truth outside binslim: `go tool nm -size` of an unstripped build vs
//! binslim on the `-s -w` build of the same source (testdata/src/go-sizes: net/http,
//! encoding/json, a generic store package), for an internal and an external (cgo,
//! `-linkmode external`) link. Per package code, Go metadata per table, the category sums,
//! and the rows of binslim-stripped files.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use binslim::elf::{Analysis, Category, ElfFile, analyze_file};
use binslim::packages::go::{NON_GO, package_of};
use binslim::packages::{Language, Packages, REMAINDER};
use common::{binslim, go_tool, have_tool};

/// Function alignment of Go's amd64 linker: the padding to the next entry that binslim counts
/// and `go tool nm -size` does not.
const FUNC_ALIGN: u64 = 32;

/// What `go tool nm -size` says about a file.
struct Nm {
    /// Code bytes per package (T/t symbols), as nm sizes them.
    code: HashMap<String, u64>,
    /// The same, each function rounded up to [`FUNC_ALIGN`].
    aligned: HashMap<String, u64>,
    /// Address and size per symbol name.
    syms: HashMap<String, (u64, u64)>,
}

impl Nm {
    fn of(go: &Path, exe: &Path) -> Nm {
        let out = std::process::Command::new(go)
            .args(["tool", "nm", "-size"])
            .arg(exe)
            .output()
            .expect("go tool nm");
        assert!(out.status.success(), "go tool nm: {out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        let mut nm = Nm {
            code: HashMap::new(),
            aligned: HashMap::new(),
            syms: HashMap::new(),
        };
        for line in text.lines() {
            // "  4b47c0       1452 r runtime.typelink"; names may hold spaces.
            let Some((addr, rest)) = line.trim_start().split_once(' ') else {
                continue;
            };
            let Some((size, rest)) = rest.trim_start().split_once(' ') else {
                continue;
            };
            let Some((kind, name)) = rest.trim_start().split_once(' ') else {
                continue;
            };
            let (Ok(addr), Ok(size)) = (u64::from_str_radix(addr, 16), size.parse::<u64>()) else {
                continue;
            };
            let name = name.trim_start();
            nm.syms.insert(name.to_string(), (addr, size));
            if kind == "T" || kind == "t" {
                *nm.code.entry(package_of(name)).or_default() += size;
                *nm.aligned.entry(package_of(name)).or_default() +=
                    size.next_multiple_of(FUNC_ALIGN);
            }
        }
        nm
    }

    fn range(&self, start: &str, end: &str) -> u64 {
        self.syms[end].0 - self.syms[start].0
    }

    fn size(&self, name: &str) -> u64 {
        self.syms[name].1
    }
}

fn analyze(path: &Path) -> (Analysis, Packages) {
    let data = std::fs::read(path).unwrap();
    let elf = ElfFile::parse(&data).unwrap();
    let a = analyze_file(&elf);
    let p = binslim::packages::packages(&elf, &a);
    (a, p)
}

fn within(got: u64, want: u64, pct: f64) -> bool {
    (got as f64 - want as f64).abs() <= want as f64 * pct / 100.0
}

/// `(name, language, code)` of every row, sorted by name (data differs with `.symtab`).
fn code_rows(p: &Packages) -> Vec<(String, Language, u64)> {
    let mut rows: Vec<_> = p
        .rows
        .iter()
        .map(|r| (r.name.clone(), r.language, r.code))
        .collect();
    rows.sort();
    rows
}

/// Builds testdata/src/go-sizes as OUT in DIR like `common::go_build`, but with one Go
/// build cache for all of this file's builds (kept under `CARGO_TARGET_TMPDIR`): five builds
/// of net/http with a cache each would take minutes.
fn build(go: &Path, dir: &Path, out: &str, env: &[(&str, &str)], ldflags: &str) -> PathBuf {
    build_src(go, "go-sizes", dir, out, env, ldflags)
}

fn build_src(
    go: &Path,
    src: &str,
    dir: &Path,
    out: &str,
    env: &[(&str, &str)],
    ldflags: &str,
) -> PathBuf {
    let exe = dir.join(out);
    let ldflags = format!("-ldflags={ldflags}");
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("go-sizes-gocache");
    common::go_build_at(go, src, &exe, env, &["-trimpath", &ldflags], &cache);
    exe
}

/// Builds the unstripped and the `-s -w` program with the given environment and flags.
fn builds(env: &[(&str, &str)], ldflags: &str) -> Option<(tempfile::TempDir, PathBuf, PathBuf)> {
    let go = go_tool()?;
    let dir = common::tempdir();
    let full = build(&go, dir.path(), "full", env, ldflags);
    let stripped = build(
        &go,
        dir.path(),
        "stripped",
        env,
        &format!("{ldflags} -s -w"),
    );
    Some((dir, full, stripped))
}

/// The checks both links share; returns the stripped build's rows.
fn check_against_nm(full: &Path, stripped: &Path) -> Packages {
    let go = go_tool().unwrap();
    let nm = Nm::of(&go, full);
    let (a, p) = analyze(stripped);

    // The rows' code sums to `.text` exactly, an explicit remainder row included.
    let text = a.sections.iter().find(|s| s.name == ".text").unwrap().size;
    assert_eq!(p.text_size, text);
    assert_eq!(p.rows.iter().map(|r| r.code).sum::<u64>(), text);

    // Every large package: within a few percent of nm's sizes (binslim counts the padding to
    // the next function, nm does not), and within 1 % of nm's sizes padded to 32 bytes.
    let rows: HashMap<&str, u64> = p.rows.iter().map(|r| (r.name.as_str(), r.code)).collect();
    let mut large: Vec<(&String, &u64)> = nm.code.iter().filter(|(_, c)| **c >= 40_000).collect();
    large.sort();
    assert!(large.len() >= 10, "large packages: {large:?}");
    for pkg in [
        "runtime",
        "net/http",
        "encoding/json",
        "crypto/tls",
        "reflect",
    ] {
        assert!(nm.code.contains_key(pkg), "{pkg} in nm");
    }
    for (pkg, &want) in large {
        let got = rows.get(pkg.as_str()).copied().unwrap_or(0);
        assert!(
            got >= want && within(got, want, 6.0),
            "{pkg}: binslim {got}, go tool nm {want}"
        );
        let aligned = nm.aligned[pkg];
        assert!(
            within(got, aligned, 1.0),
            "{pkg}: binslim {got}, go tool nm padded {aligned}"
        );
    }
    // The program's own packages, generic instances included.
    let store = rows.get("example.com/sizes/store").copied().unwrap_or(0);
    assert!(
        within(store, nm.aligned["example.com/sizes/store"], 2.0),
        "store {store}"
    );
    assert!(rows.contains_key("main"));

    // Go metadata per table: the symbol ranges, exactly.
    let m = a.go_metadata.expect("go_metadata");
    assert_eq!(m.pclntab, nm.range("runtime.pclntab", "runtime.epclntab"));
    assert_eq!(m.types, nm.range("runtime.types", "runtime.etypes"));
    assert_eq!(m.typelinks, nm.size("runtime.typelink"));
    assert_eq!(m.itablinks, nm.size("runtime.itablink"));
    assert_eq!(m.findfunctab, nm.size("runtime.findfunctab"));
    // The category: the tables (findfunctab lies inside types..etypes), `.go.buildinfo`, and
    // within 3 % of the symbol ranges.
    let cat = a.categories[Category::GoMetadata.as_str()];
    let symbols = nm.range("runtime.pclntab", "runtime.epclntab")
        + nm.range("runtime.types", "runtime.etypes")
        + nm.size("runtime.typelink")
        + nm.size("runtime.itablink");
    assert!(within(cat, symbols, 3.0), "go-metadata {cat} vs {symbols}");
    let buildinfo = a
        .sections
        .iter()
        .find(|s| s.name == ".go.buildinfo")
        .unwrap();
    assert_eq!(cat, symbols + buildinfo.size);

    // The categories still add up to the sections' file bytes.
    let in_file: u64 = a
        .sections
        .iter()
        .filter(|s| s.category != Category::Bss)
        .map(|s| s.size)
        .sum();
    let categories: u64 = a
        .categories
        .iter()
        .filter(|(k, _)| **k != Category::Bss.as_str())
        .map(|(_, v)| v)
        .sum();
    assert_eq!(categories, in_file);

    // The unstripped build has the same code rows (its .symtab only adds C names and data).
    let (_, unstripped) = analyze(full);
    let go_rows = |p: &Packages| {
        code_rows(p)
            .into_iter()
            .filter(|r| r.1 == Language::Go)
            .collect::<Vec<_>>()
    };
    assert_eq!(go_rows(&unstripped), go_rows(&p));
    let runtime = unstripped
        .rows
        .iter()
        .find(|r| r.name == "runtime")
        .unwrap();
    assert!(
        runtime.data > 10_000,
        "runtime data from .symtab: {runtime:?}"
    );
    assert!(p.rows.iter().all(|r| r.data == 0));
    assert!(p.notes.iter().any(|n| n.contains("no .symtab")));
    p
}

#[test]
fn internal_link_rows_and_metadata_match_go_tool_nm() {
    let Some((_dir, full, stripped)) = builds(&[("CGO_ENABLED", "0")], "") else {
        return;
    };
    let p = check_against_nm(&full, &stripped);
    // All of `.text` is Go: no C row; past runtime.etext at most alignment padding remains.
    let nm = Nm::of(&go_tool().unwrap(), &full);
    let etext = nm.syms["runtime.etext"].0 - nm.syms["runtime.text"].0;
    let rest = p.text_size - etext;
    assert!(rest < FUNC_ALIGN, "{rest} bytes after etext");
    for r in &p.rows {
        match r.name.as_str() {
            REMAINDER => assert_eq!((r.language, r.code), (Language::Unknown, rest)),
            _ => assert_eq!(r.language, Language::Go, "{r:?}"),
        }
    }
}

#[test]
fn external_link_rows_and_metadata_match_go_tool_nm() {
    if !have_tool("gcc") {
        return;
    }
    let Some((_dir, full, stripped)) = builds(&[("CGO_ENABLED", "1")], "-linkmode=external") else {
        return;
    };
    let p = check_against_nm(&full, &stripped);
    // The C toolchain's code (crt, runtime/cgo's C half) is one C row without .symtab...
    let c: Vec<_> = p
        .rows
        .iter()
        .filter(|r| r.language == Language::C)
        .collect();
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0].name, NON_GO);
    // ...and named by function with it, summing to the same bytes.
    let (_, unstripped) = analyze(&full);
    let named: Vec<_> = unstripped
        .rows
        .iter()
        .filter(|r| r.language == Language::C)
        .collect();
    assert!(named.iter().any(|r| r.name == "x_cgo_init"), "{named:?}");
    assert_eq!(named.iter().map(|r| r.code).sum::<u64>(), c[0].code);

    // lld (the docker CLI) merges the pclntab into `.data.rel.ro`: with no `.gopclntab` name
    // binslim finds moduledata through `.noptrdata` and gets the same answer.
    if !have_tool("objcopy") {
        return;
    }
    let renamed = stripped.with_file_name("renamed");
    let status = std::process::Command::new("objcopy")
        .args(["--rename-section", ".gopclntab=.data.rel.ro.x"])
        .arg(&stripped)
        .arg(&renamed)
        .status()
        .unwrap();
    assert!(status.success());
    let (a, q) = analyze(&renamed);
    let (b, _) = analyze(&stripped);
    assert!(a.sections.iter().all(|s| s.name != ".gopclntab"));
    assert_eq!(a.go_metadata, b.go_metadata);
    assert_eq!(
        a.categories[Category::GoMetadata.as_str()],
        b.categories[Category::GoMetadata.as_str()]
    );
    assert_eq!(code_rows(&q), code_rows(&p));
    // verify's run-time needs read the same function names there (net/http: root certificates).
    let needs = |path: &Path| {
        let data = std::fs::read(path).unwrap();
        binslim::elf::needs::go_needs(&ElfFile::parse(&data).unwrap())
    };
    let found = needs(&renamed).expect("function names without .gopclntab");
    assert_eq!(Some(found), needs(&stripped));
    assert!(found.certs);
}

/// A PIE keeps moduledata's pointers in RELATIVE relocations (0 in the file): the committed
/// go-pie fixture (with .symtab) against go tool nm, no build needed.
#[test]
fn pie_metadata_matches_go_tool_nm() {
    let Some(go) = go_tool() else {
        return;
    };
    let pie = common::fixture("go-pie");
    let nm = Nm::of(&go, &pie);
    let (a, p) = analyze(&pie);
    let m = a.go_metadata.expect("go_metadata");
    assert_eq!(m.pclntab, nm.range("runtime.pclntab", "runtime.epclntab"));
    assert_eq!(m.types, nm.range("runtime.types", "runtime.etypes"));
    assert_eq!((m.types, m.pclntab), (109_600, 402_320));
    assert_eq!(m.typelinks, nm.size("runtime.typelink"));
    assert_eq!(m.itablinks, nm.size("runtime.itablink"));
    assert_eq!(m.findfunctab, nm.size("runtime.findfunctab"));
    let runtime = p.rows.iter().find(|r| r.name == "runtime").unwrap();
    assert_eq!(runtime.code, 427_312);
    // verify's directory walk (Detail::Summary) never looks for moduledata.
    let data = std::fs::read(&pie).unwrap();
    let elf = ElfFile::parse(&data).unwrap();
    let summary = binslim::elf::analyze_with(&elf, binslim::elf::Detail::Summary);
    assert_eq!(summary.go_metadata, None);
    assert!(within(runtime.code, nm.aligned["runtime"], 1.0));
}

#[test]
fn binslim_stripped_files_give_the_same_rows() {
    let Some(go) = go_tool() else {
        return;
    };
    let dir = common::tempdir();
    let full = build(&go, dir.path(), "full", &[("CGO_ENABLED", "0")], "");
    let shrunk = dir.path().join("shrunk");
    binslim()
        .arg("shrink")
        .arg("-o")
        .arg(&shrunk)
        .arg(&full)
        .assert()
        .success();
    let (a, p) = analyze(&shrunk);
    assert!(a.stripped);
    let (_, before) = analyze(&full);
    assert_eq!(code_rows(&p), code_rows(&before));
    assert_eq!(a.go_metadata, analyze(&full).0.go_metadata);
}

/// lld leaves the places of RELATIVE relocations 0 in a PIE: moduledata's pointers are then
/// only in `.rela.dyn`. The go-pie fixture with those words zeroed gives the same metadata.
#[test]
fn pie_with_zeroed_relocated_words_gives_the_same_metadata() {
    let pie = common::fixture("go-pie");
    let mut data = std::fs::read(&pie).unwrap();
    let (want, _) = analyze(&pie);
    let zeroed = {
        let elf = ElfFile::parse(&data).unwrap();
        let rela = elf
            .shdrs
            .iter()
            .find(|sh| elf.name(sh) == ".rela")
            .expect(".rela");
        let mut places = Vec::new();
        for e in elf.section_data(rela).chunks_exact(24) {
            let at = u64::from_le_bytes(e[..8].try_into().unwrap());
            let kind = u64::from_le_bytes(e[8..16].try_into().unwrap()) & 0xffff_ffff;
            // R_X86_64_RELATIVE into .noptrdata (where moduledata is) and into the pclntab
            // header (its textStart).
            let noptr = elf.section_by_name(".noptrdata").unwrap();
            let pcln = elf.section_by_name(".data.rel.ro.gopclntab").unwrap();
            let inside = |sh: &goblin::elf::SectionHeader, len: u64| {
                at >= sh.sh_addr && at < sh.sh_addr + len
            };
            if kind == 8 && (inside(noptr, noptr.sh_size) || inside(pcln, 64)) {
                places.push(elf.vaddr_to_offset(at).unwrap() as usize);
            }
        }
        places
    };
    assert!(zeroed.len() > 20, "{}", zeroed.len());
    let text_start = elf_word(&data, &zeroed, 0x4d2300 + 24);
    assert_eq!(
        text_start,
        Some(0x401000),
        "the pclntab's textStart is among the zeroed words"
    );
    for at in zeroed {
        data[at..at + 8].fill(0);
    }
    let elf = ElfFile::parse(&data).unwrap();
    let got = analyze_file(&elf);
    assert_eq!(got.go_metadata, want.go_metadata);
    assert_eq!(got.categories, want.categories);
    let rows = binslim::packages::packages(&elf, &got);
    assert_eq!(code_rows(&rows), code_rows(&analyze(&pie).1));
}

/// 32-bit (i386) and 4-byte-instruction (arm64, minLC 4) pclntabs: go-hello cross-built, the
/// tables against go tool nm and the rows against `.text`.
#[test]
fn i386_and_arm64_metadata_match_go_tool_nm() {
    let Some(go) = go_tool() else {
        return;
    };
    let dir = common::tempdir();
    for arch in ["386", "arm64"] {
        let env = [("CGO_ENABLED", "0"), ("GOARCH", arch)];
        let full = build_src(&go, "go-hello", dir.path(), arch, &env, "");
        let stripped = build_src(
            &go,
            "go-hello",
            dir.path(),
            &format!("{arch}-s"),
            &env,
            "-s -w",
        );
        let nm = Nm::of(&go, &full);
        let (a, p) = analyze(&stripped);
        let m = a.go_metadata.expect("go_metadata");
        assert_eq!(
            m.pclntab,
            nm.range("runtime.pclntab", "runtime.epclntab"),
            "{arch}"
        );
        assert_eq!(
            m.types,
            nm.range("runtime.types", "runtime.etypes"),
            "{arch}"
        );
        assert_eq!(m.typelinks, nm.size("runtime.typelink"), "{arch}");
        assert_eq!(m.itablinks, nm.size("runtime.itablink"), "{arch}");
        assert_eq!(m.findfunctab, nm.size("runtime.findfunctab"), "{arch}");
        let text = a.sections.iter().find(|s| s.name == ".text").unwrap().size;
        assert_eq!(p.rows.iter().map(|r| r.code).sum::<u64>(), text, "{arch}");
        let runtime = p.rows.iter().find(|r| r.name == "runtime").unwrap();
        assert!(
            within(runtime.code, nm.code["runtime"], 8.0),
            "{arch}: {runtime:?}"
        );
    }
}

/// The hand-made seed of the `pclntab` fuzz target (testdata/fuzz-seeds/make-go-seed.py): a
/// pclntab inside `.rodata` with no `.gopclntab` name, moduledata in `.noptrdata`. Exact
/// numbers, known by construction.
#[test]
fn hand_made_moduledata_gives_exact_tables_and_rows() {
    let seed = std::fs::read(common::fixture("fuzz-seeds/go-moduledata")).unwrap();
    let elf = ElfFile::parse(&seed[1..]).unwrap();
    let a = analyze_file(&elf);
    let m = a.go_metadata.expect("go_metadata");
    assert_eq!(
        (m.pclntab, m.types, m.typelinks, m.itablinks, m.findfunctab),
        (120, 64, 8, 0, 5)
    );
    // pclntab + types + typelinks + findfunctab moved out of .rodata (333 bytes), plus the
    // 42-byte .go.buildinfo.
    assert_eq!(a.categories["go-metadata"], 197 + 42);
    assert_eq!(a.categories["rodata"], 333 - 197);
    let p = binslim::packages::packages(&elf, &a);
    let rows: Vec<_> = p.rows.iter().map(|r| (r.name.as_str(), r.code)).collect();
    assert_eq!(rows, [("a", 64), ("b", 32)]);
    assert_eq!(p.text_size, 96);
}

/// The 8 bytes at virtual address `addr` of the go-pie fixture, when `places` (file offsets)
/// holds it.
fn elf_word(data: &[u8], places: &[usize], addr: u64) -> Option<u64> {
    let elf = ElfFile::parse(data).unwrap();
    let at = elf.vaddr_to_offset(addr)? as usize;
    places
        .contains(&at)
        .then(|| u64::from_le_bytes(data[at..at + 8].try_into().unwrap()))
}
