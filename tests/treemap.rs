//! `binslim inspect --treemap`: the picture is rendered by a real browser (headless Chromium)
//! and its pixels checked against the colours given to the categories; its structure is
//! snapshotted; every failure path has its exit code and message.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command as Std;

use common::{binslim, fixture, have_tool, tempdir};

/// A drawn box, as the SVG says.
#[derive(Debug, Clone)]
struct Drawn {
    name: String,
    depth: u32,
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    fill: String,
    /// Boxes are drawn inside it.
    parent: bool,
}

impl Drawn {
    /// A point inside the box that no label covers: labels sit at the top left, so the middle
    /// of the bottom band (boxes checked are at least 40 px high).
    fn centre(&self) -> (u32, u32) {
        (
            (self.x + self.w / 2.0) as u32,
            (self.y + self.h - 6.0) as u32,
        )
    }
}

/// Runs `inspect --treemap OUT FILE`, asserts exit 0, returns stdout.
fn draw(out: &Path, file: &str) -> String {
    let o = binslim()
        .args(["inspect", "--treemap"])
        .arg(out)
        .arg(format!("testdata/{file}"))
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// The boxes of an SVG (or of the SVG inside an HTML page), in document order. Parsing it
/// with a strict XML parser also proves it is well-formed.
fn boxes(doc: &str) -> Vec<Drawn> {
    let svg = &doc[doc.find("<svg").unwrap()..doc.find("</svg>").unwrap() + 6];
    let xml = roxmltree::Document::parse(svg).expect("well-formed SVG");
    let num =
        |n: &roxmltree::Node<'_, '_>, a: &str| n.attribute(a).unwrap().parse::<f64>().unwrap();
    xml.descendants()
        .filter(|n| n.has_tag_name("rect") && n.attribute("data-name").is_some())
        .map(|n| Drawn {
            name: n.attribute("data-name").unwrap().to_string(),
            depth: n.attribute("data-depth").unwrap().parse().unwrap(),
            x: num(&n, "x"),
            y: num(&n, "y"),
            w: num(&n, "width"),
            h: num(&n, "height"),
            fill: n.attribute("fill").unwrap().to_string(),
            parent: n.parent().unwrap().children().any(|c| c.has_tag_name("g")),
        })
        .collect()
}

/// One line per box: depth, name, geometry, fill, then its labels and hover text; the
/// structure the snapshot guards.
fn outline(doc: &str) -> String {
    let xml = roxmltree::Document::parse(doc).expect("well-formed SVG");
    let mut out = String::new();
    for g in xml.descendants().filter(|n| n.has_tag_name("g")) {
        let rect = g.children().find(|n| n.has_tag_name("rect")).unwrap();
        let a = |k| rect.attribute(k).unwrap();
        let labels: Vec<&str> = g
            .children()
            .filter(|n| n.has_tag_name("text"))
            .map(|n| n.text().unwrap())
            .collect();
        let title = g
            .children()
            .find(|n| n.has_tag_name("title"))
            .and_then(|n| n.text())
            .unwrap()
            .replace('\n', " | ");
        out.push_str(&format!(
            "{}{} [{} {} {}x{}] {} {:?} \"{title}\"\n",
            "  ".repeat(a("data-depth").parse::<usize>().unwrap() - 1),
            a("data-name"),
            a("x"),
            a("y"),
            a("width"),
            a("height"),
            a("fill"),
            labels,
        ));
    }
    out
}

/// Renders `doc` with headless Chromium into a 1200x800 PNG and returns it decoded as RGB(A).
fn screenshot(doc: &Path) -> (png::OutputInfo, Vec<u8>) {
    let dir = tempdir();
    let png_path = dir.path().join("shot.png");
    let profile = dir.path().join("profile");
    fs::create_dir(&profile).unwrap();
    let out = Std::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            "--window-size=1200,800",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png_path.display()))
        .arg(format!("file://{}", doc.display()))
        .output()
        .expect("run chromium");
    assert!(
        out.status.success() && png_path.exists(),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decoder = png::Decoder::new(fs::File::open(&png_path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    (info, buf)
}

fn pixel(info: &png::OutputInfo, buf: &[u8], (x, y): (u32, u32)) -> (u8, u8, u8) {
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let n = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    let i = y as usize * info.line_size + x as usize * n;
    (buf[i], buf[i + 1], buf[i + 2])
}

/// Equal colours, give or take 2 per channel (colour management may round).
fn near(a: (u8, u8, u8), b: (u8, u8, u8)) -> bool {
    a.0.abs_diff(b.0) <= 2 && a.1.abs_diff(b.1) <= 2 && a.2.abs_diff(b.2) <= 2
}

fn rgb(hex: &str) -> (u8, u8, u8) {
    let v = u32::from_str_radix(hex.trim_start_matches('#'), 16).unwrap();
    ((v >> 16) as u8, (v >> 8) as u8, v as u8)
}

/// The colours binslim gives the categories (its documented palette).
const PALETTE: &[(&str, &str)] = &[
    ("code", "#4e79a7"),
    ("rodata", "#f28e2b"),
    ("data", "#e15759"),
    ("dynamic-linking", "#76b7b2"),
    ("debug", "#59a14f"),
    ("symbols", "#edc948"),
    ("go-metadata", "#b07aa1"),
    ("notes", "#ff9da7"),
    ("other", "#9c755f"),
    ("headers+padding", "#bab0ac"),
];

/// Checks a Chromium rendering of go-static's treemap: each category in its colour (bss not
/// drawn), the picture's size, the colour at the centre of every big box with nothing drawn
/// inside it, and that the caption's text was really drawn.
fn check_rendering(doc_path: &Path, doc: &str) {
    let drawn = boxes(doc);
    let top: Vec<&Drawn> = drawn.iter().filter(|b| b.depth == 1).collect();
    for b in &top {
        let want = PALETTE.iter().find(|(n, _)| *n == b.name).unwrap().1;
        assert_eq!(b.fill, want, "{}", b.name);
    }
    let mut names: Vec<&str> = top.iter().map(|b| b.name.as_str()).collect();
    names.sort();
    for want in [
        "code",
        "data",
        "go-metadata",
        "headers+padding",
        "notes",
        "other",
    ] {
        assert!(names.contains(&want), "{want} not in {names:?}");
    }
    assert!(!names.contains(&"bss"), "bss is memory only");

    let (info, buf) = screenshot(doc_path);
    assert_eq!((info.width, info.height), (1200, 800));
    let big: Vec<&Drawn> = drawn
        .iter()
        .filter(|b| !b.parent && b.w >= 40.0 && b.h >= 40.0)
        .collect();
    assert!(
        big.iter().filter(|b| b.depth == 1).count() >= 2,
        "at least two categories are big leaf boxes of their own: {big:?}"
    );
    for b in big {
        let got = pixel(&info, &buf, b.centre());
        assert!(
            near(got, rgb(&b.fill)),
            "centre of {} at {:?} is {got:?}, want {}",
            b.name,
            b.centre(),
            b.fill
        );
    }
    // The caption band is white with dark text: text was drawn with some font.
    let mut dark = 0;
    let mut white = 0;
    for y in 0..26 {
        for x in 0..1200 {
            match pixel(&info, &buf, (x, y)) {
                (255, 255, 255) => white += 1,
                (r, g, b) if r < 100 && g < 100 && b < 100 => dark += 1,
                _ => {}
            }
        }
    }
    assert!(dark > 200, "caption text not drawn ({dark} dark pixels)");
    assert!(
        white > 20_000,
        "caption band not white ({white} white pixels)"
    );
}

#[test]
fn svg_renders_in_chromium_with_the_category_colours() {
    if !have_tool("chromium") {
        return;
    }
    let dir = tempdir();
    let out = dir.path().join("go.svg");
    draw(&out, "go-static");
    let doc = fs::read_to_string(&out).unwrap();
    assert!(doc.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    check_rendering(&out, &doc);
}

#[test]
fn html_renders_the_same_picture() {
    if !have_tool("chromium") {
        return;
    }
    let dir = tempdir();
    let out = dir.path().join("go.HTML");
    draw(&out, "go-static");
    let doc = fs::read_to_string(&out).unwrap();
    assert!(doc.starts_with("<!DOCTYPE html>"));
    assert!(doc.contains("<title>binslim treemap of testdata/go-static</title>"));
    check_rendering(&out, &doc);
}

#[test]
fn svg_structure() {
    let dir = tempdir();
    for fixture_name in ["go-static", "c-debug"] {
        let out = dir.path().join(format!("{fixture_name}.svg"));
        draw(&out, fixture_name);
        let doc = fs::read_to_string(&out).unwrap();
        for forbidden in [
            "<script",
            "href",
            "url(",
            "@import",
            "<image",
            "<foreignObject",
        ] {
            assert!(!doc.contains(forbidden), "{forbidden} in {fixture_name}");
        }
        insta::assert_snapshot!(format!("svg-{fixture_name}"), outline(&doc));
    }
}

#[test]
fn boxes_add_up_to_the_file() {
    let dir = tempdir();
    let out = dir.path().join("t.svg");
    draw(&out, "c-debug");
    let doc = fs::read_to_string(&out).unwrap();
    let area: f64 = boxes(&doc)
        .iter()
        .filter(|b| b.depth == 1)
        .map(|b| b.w * b.h)
        .sum();
    // 1200 x (800 - 28 caption): rounding to 0.1 px per side leaves well under a pixel's area
    // per box.
    assert!((area - 1200.0 * 772.0).abs() < 20.0, "{area}");
}

#[test]
fn stdout_is_the_usual_report() {
    let dir = tempdir();
    let out = dir.path().join("t.svg");
    let with = draw(&out, "go-static");
    let plain = binslim()
        .args(["inspect", "testdata/go-static"])
        .output()
        .unwrap();
    assert_eq!(plain.status.code(), Some(0));
    let plain = String::from_utf8(plain.stdout).unwrap();
    assert_eq!(with, plain);
    let json = binslim()
        .args(["inspect", "--json", "--treemap"])
        .arg(dir.path().join("j.svg"))
        .arg("testdata/go-static")
        .output()
        .unwrap();
    assert_eq!(json.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v[0]["file_size"], 1_171_608);
    assert!(dir.path().join("j.svg").exists());
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn replaces_the_destination_atomically() {
    let dir = tempdir();
    let out = dir.path().join("size.svg");
    fs::write(&out, "old").unwrap();
    fs::set_permissions(&out, fs::Permissions::from_mode(0o600)).unwrap();
    draw(&out, "musl-static");
    let doc = fs::read_to_string(&out).unwrap();
    assert!(doc.contains("<title>binslim treemap of testdata/musl-static</title>"));
    assert_eq!(listing(dir.path()), ["size.svg"], "no temporary file left");
    assert_eq!(
        fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o644
    );
    // A file that cannot be analyzed draws nothing and leaves OUT as it was.
    let o = binslim()
        .args(["inspect", "--treemap"])
        .arg(&out)
        .arg("testdata/not-elf.txt")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(fs::read_to_string(&out).unwrap(), doc);
    assert_eq!(listing(dir.path()), ["size.svg"]);
}

#[test]
fn no_section_headers_is_one_box() {
    let dir = tempdir();
    let out = dir.path().join("upx.svg");
    draw(&out, "upx-packed");
    let doc = fs::read_to_string(&out).unwrap();
    let b = boxes(&doc);
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].name, "(no section headers)");
    assert_eq!((b[0].x, b[0].y, b[0].w, b[0].h), (0.0, 28.0, 1200.0, 772.0));
    let size = fs::metadata(fixture("upx-packed")).unwrap().len();
    assert!(doc.contains(&format!("({size} bytes, 100.0% of the file)")));
}

/// Runs binslim with `args`, asserts exit 2 and a stderr line, and that nothing was written.
fn fails(args: &[&str], dir: &Path, stderr: &str) {
    let o = binslim().args(args).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{args:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(stderr), "{args:?}: {err}");
    assert!(listing(dir).is_empty(), "{args:?} wrote {:?}", listing(dir));
}

#[test]
fn failures_are_usage_or_write_errors() {
    let dir = tempdir();
    let d = dir.path();
    let at = |name: &str| -> String { d.join(name).display().to_string() };
    // The extension chooses the format; anything else is refused before any work.
    let png = at("size.png");
    fails(
        &["inspect", "--treemap", &png, "testdata/go-static"],
        d,
        &format!("'{png}' does not end in .svg or .html: the extension chooses the format"),
    );
    fails(
        &["inspect", "--treemap", &at("svg"), "testdata/go-static"],
        d,
        "does not end in .svg or .html",
    );
    // One picture, one file.
    fails(
        &[
            "inspect",
            "--treemap",
            &at("t.svg"),
            "testdata/go-static",
            "testdata/c-static",
        ],
        d,
        "binslim: --treemap draws one FILE, got 2: run binslim once per file",
    );
    // A directory that does not exist: the report is still printed, then exit 2.
    let missing: PathBuf = d.join("no/such/dir/t.svg");
    let o = binslim()
        .args(["inspect", "--treemap"])
        .arg(&missing)
        .arg("testdata/go-static")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("testdata/go-static\n"));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!(
            "binslim: {}: cannot write the treemap in '{}': No such file or directory (os error \
             2)\n",
            missing.display(),
            d.join("no/such/dir").display()
        )
    );
    assert!(listing(d).is_empty());
}

#[test]
fn help_shows_the_example() {
    let o = binslim().args(["inspect", "--help"]).output().unwrap();
    let help = String::from_utf8(o.stdout).unwrap();
    assert!(help.contains("binslim inspect --treemap size.svg ./server"));
    assert!(help.contains("bss (memory only) is not drawn"));
}

/// Packages (constructed here until the readers fill them in) nest inside the code box, in
/// lighter shades of its colour, in the browser too.
#[test]
fn packages_nest_inside_code_in_the_rendering() {
    use binslim::packages::{Language, Package, Packages, REMAINDER};
    if !have_tool("chromium") {
        return;
    }
    let bytes = fs::read(fixture("go-static")).unwrap();
    let a = binslim::elf::analyze(&bytes).unwrap();
    let row = |name: &str, code| Package {
        name: name.into(),
        language: Language::Go,
        code,
        data: 0,
    };
    let p = Packages {
        rows: vec![
            row("runtime", 250_000),
            row("fmt", 120_000),
            row("<T as Trait>&co", 60_000),
            row(REMAINDER, 40_000),
        ],
        text_size: 470_000,
        notes: Vec::new(),
        has_symtab: true,
    };
    let doc = binslim::report::treemap::svg("testdata/go-static", &a, &p);
    let dir = tempdir();
    let path = dir.path().join("p.svg");
    fs::write(&path, &doc).unwrap();
    let drawn = boxes(&doc);
    let code = drawn.iter().find(|b| b.name == "code").unwrap();
    // The boxes inside code (go-metadata has boxes of its own: pclntab, types, ...).
    let inside = |b: &Drawn| {
        b.x >= code.x && b.y >= code.y && b.x < code.x + code.w && b.y < code.y + code.h
    };
    let kids: Vec<&Drawn> = drawn.iter().filter(|b| b.depth == 2 && inside(b)).collect();
    let names: Vec<&str> = kids.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "runtime",
            "fmt",
            "<T as Trait>&co",
            "(unattributed)",
            "(outside .text)"
        ]
    );
    for k in &kids {
        assert!(
            k.x >= code.x && k.y >= code.y + 17.0,
            "{k:?} inside {code:?}"
        );
        assert!(k.x + k.w <= code.x + code.w + 0.2 && k.y + k.h <= code.y + code.h + 0.2);
    }
    let (info, buf) = screenshot(&path);
    for (k, want) in kids[..3].iter().zip(["#8ca8c6", "#afc3d7", "#8ca8c6"]) {
        assert_eq!(k.fill, want, "{}", k.name);
        assert!(
            near(pixel(&info, &buf, k.centre()), rgb(want)),
            "{}",
            k.name
        );
    }
}
