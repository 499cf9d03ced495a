//! `inspect --treemap`: where the file's bytes go, as one picture.
//!
//! A table answers "how much"; a treemap answers "what dominates" at a glance, and nests the
//! packages inside the code they make up. The picture is of the *file*: every box is bytes on
//! disk, and the boxes add up to the file size (`headers+padding` is the rest, as in the text
//! report). `bss` is memory only, so it is left out and named in the caption.
//!
//! Three pure phases, each tested alone:
//! 1. [`tree`]: an [`Analysis`] and its [`Packages`] become a tree of (name, size, children);
//! 2. [`layout`]: the tree becomes rectangles (squarified, Bruls, Huizing and van Wijk 2000),
//!    deterministic: children are ordered by size, then name;
//! 3. [`svg`] / [`html`]: the rectangles become a self-contained document (no scripts, no
//!    fonts or anything else fetched) with a `<title>` (hover text) on every box and a label
//!    where the box is big enough.

use std::fmt::Write;
use std::path::Path;

use crate::elf::{Analysis, Category};
use crate::packages::{Package, Packages};

use super::{human, percent};

/// Width of the picture in pixels.
pub const WIDTH: f64 = 1200.0;
/// Height of the picture in pixels.
pub const HEIGHT: f64 = 800.0;
/// Height of the caption band above the boxes.
const CAPTION: f64 = 28.0;
/// Height of a parent box's name band, above its children.
const HEADER: f64 = 18.0;
/// Space between a parent box's edge and its children.
const PAD: f64 = 3.0;
/// Label font size in pixels.
const FONT: f64 = 12.0;
/// Estimated average glyph width of a sans-serif font, in ems: decides whether a label fits.
const GLYPH: f64 = 0.62;
/// The same for bold (category names).
const GLYPH_BOLD: f64 = 0.68;
/// At most this many package boxes in the code box; the rest become one box.
const MAX_PACKAGES: usize = 500;
/// Packages smaller than 1/this of the file (about 46 square pixels of the picture, too
/// small to find with the mouse) join the grouped box.
const MIN_PACKAGE_SHARE: u64 = 20_000;

/// The name of the box for the bytes no section accounts for (as in the text report).
pub const HEADERS_PADDING: &str = crate::diff::HEADERS;

/// The treemap's output format, chosen by the file name's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreemapFormat {
    /// A standalone SVG image (`.svg`).
    Svg,
    /// An HTML page with the SVG inline (`.html`, `.htm`).
    Html,
}

impl TreemapFormat {
    /// The format for `path`'s extension (case-insensitive), or `None` for any other.
    pub fn from_path(path: &Path) -> Option<TreemapFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "svg" => Some(TreemapFormat::Svg),
            "html" | "htm" => Some(TreemapFormat::Html),
            _ => None,
        }
    }
}

/// One box: a name, its bytes, and the boxes nested in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// What the bytes are (a category, a package).
    pub name: String,
    /// How many bytes.
    pub size: u64,
    /// An extra line for the hover text (the language, a package's data bytes).
    pub detail: Option<String>,
    /// Nested boxes; when their sizes add up to less than `size`, the rest of the box is left
    /// to them anyway (scaled), so give a remainder child to keep areas proportional.
    pub children: Vec<Node>,
}

impl Node {
    /// A box without children or detail.
    pub fn leaf(name: impl Into<String>, size: u64) -> Node {
        Node {
            name: name.into(),
            size,
            detail: None,
            children: Vec::new(),
        }
    }
}

/// The colour of each category's box, as `#rrggbb` (Tableau 10). Package boxes are lighter
/// shades of their category's colour.
pub fn category_color(name: &str) -> &'static str {
    match name {
        "code" => "#4e79a7",
        "rodata" => "#f28e2b",
        "data" => "#e15759",
        "dynamic-linking" => "#76b7b2",
        "debug" => "#59a14f",
        "symbols" => "#edc948",
        "go-metadata" => "#b07aa1",
        "notes" => "#ff9da7",
        "other" => "#9c755f",
        _ => "#bab0ac",
    }
}

/// Builds the tree of a file: root `name` (the path) holds one box per category that has bytes
/// in the file (not `bss`) plus `headers+padding`; the `code` box holds one box per package row
/// (their `code` bytes; the unattributed row too), and a box for code outside `.text`.
pub fn tree(name: &str, a: &Analysis, p: &Packages) -> Node {
    let mut children = Vec::new();
    if !a.has_section_headers {
        children.push(Node {
            name: "(no section headers)".into(),
            size: a.file_size,
            detail: Some(
                "the file has no section headers, so sizes by category are unknown".into(),
            ),
            children: Vec::new(),
        });
    } else {
        let mut in_file = 0u64;
        for cat in Category::ALL {
            let size = a.categories.get(cat.as_str()).copied().unwrap_or(0);
            if cat == Category::Bss || size == 0 {
                continue;
            }
            in_file = in_file.saturating_add(size);
            let mut node = Node::leaf(cat.as_str(), size);
            if cat == Category::Code {
                node.children = package_boxes(&p.rows, size, a.file_size);
            }
            if cat == Category::GoMetadata {
                node.children = go_metadata_boxes(a, size);
            }
            children.push(node);
        }
        let rest = a.file_size.saturating_sub(in_file);
        if rest > 0 {
            children.push(Node {
                detail: Some("ELF and program headers, section headers, alignment".into()),
                ..Node::leaf(HEADERS_PADDING, rest)
            });
        }
    }
    Node {
        name: name.into(),
        size: a.file_size,
        detail: None,
        children,
    }
}

/// The tables inside the go-metadata box (pclntab, types, ...), and what the category holds
/// beside them (`.go.buildinfo`, `.gosymtab`). None when moduledata was not found, or when
/// the tables overlap so that their sizes would not add up to the box.
fn go_metadata_boxes(a: &Analysis, size: u64) -> Vec<Node> {
    let Some(m) = &a.go_metadata else {
        return Vec::new();
    };
    let mut tables = [
        (
            "pclntab",
            m.pclntab,
            "function table: names, files, line and stack maps",
        ),
        (
            "types",
            m.types,
            "runtime.types..etypes: type descriptors (in an internal link the span covers all of \
             .rodata, strings and constants too)",
        ),
        ("typelinks", m.typelinks, "offsets of the types"),
        ("itablinks", m.itablinks, "pointers to the interface tables"),
        (
            "findfunctab",
            m.findfunctab,
            "PC to function lookup buckets",
        ),
    ];
    let mut sum = tables.iter().fold(0u64, |acc, t| acc.saturating_add(t.1));
    // In an internal link findfunctab lies inside the types span: the category counts those
    // bytes once, and so do the boxes (the types box gives them up).
    if sum > size {
        let excess = sum - size;
        if excess > tables[1].1 {
            return Vec::new();
        }
        tables[1].1 -= excess;
        sum = size;
    }
    let mut out: Vec<Node> = tables
        .iter()
        .filter(|t| t.1 > 0)
        .map(|&(name, bytes, what)| Node {
            detail: Some(what.into()),
            ..Node::leaf(name, bytes)
        })
        .collect();
    if size > sum {
        out.push(Node {
            detail: Some("build info, symbol table stub and other Go sections".into()),
            ..Node::leaf("(other)", size - sum)
        });
    }
    out
}

/// The package boxes inside a code box of `code` bytes: the largest rows, the small ones as
/// one box, and the code outside `.text` (`.plt`, `.init`...). None without rows.
fn package_boxes(rows: &[Package], code: u64, file_size: u64) -> Vec<Node> {
    let mut rows: Vec<&Package> = rows.iter().filter(|r| r.code > 0).collect();
    if rows.is_empty() {
        return Vec::new();
    }
    rows.sort_by(|a, b| b.code.cmp(&a.code).then_with(|| a.name.cmp(&b.name)));
    let text: u64 = rows.iter().fold(0u64, |acc, r| acc.saturating_add(r.code));
    let min = file_size / MIN_PACKAGE_SHARE;
    let keep = rows
        .iter()
        .take(MAX_PACKAGES)
        .take_while(|r| r.code >= min)
        .count();
    // A group of one would only hide a name: show that package itself.
    let keep = if rows.len() == keep + 1 {
        rows.len()
    } else {
        keep
    };
    let mut out: Vec<Node> = rows[..keep]
        .iter()
        .map(|r| {
            let mut detail = format!("{} code", r.language.as_str());
            if r.data > 0 {
                let _ = write!(detail, "; also {} of data, not drawn here", human(r.data));
            }
            Node {
                detail: Some(detail),
                ..Node::leaf(r.name.clone(), r.code)
            }
        })
        .collect();
    let small = &rows[keep..];
    if !small.is_empty() {
        let size = small.iter().fold(0u64, |acc, r| acc.saturating_add(r.code));
        out.push(Node {
            detail: Some(format!(
                "each under 1/{MIN_PACKAGE_SHARE} of the file, or beyond the {MAX_PACKAGES} \
                 largest"
            )),
            ..Node::leaf(format!("({} smaller packages)", small.len()), size)
        });
    }
    if code > text {
        out.push(Node {
            detail: Some("code sections other than .text (.plt, .init, .fini...)".into()),
            ..Node::leaf("(outside .text)", code - text)
        });
    }
    out
}

/// A rectangle in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

impl Rect {
    fn area(self) -> f64 {
        self.w * self.h
    }
}

/// Squarified layout of `sizes` (largest first; zeros get empty rectangles) in `r`: areas
/// proportional to sizes, filling `r`, rows chosen to keep aspect ratios near 1.
pub fn squarify(sizes: &[u64], r: Rect) -> Vec<Rect> {
    let total: f64 = sizes.iter().map(|&s| s as f64).sum();
    let mut out = Vec::with_capacity(sizes.len());
    if total <= 0.0 || r.w <= 0.0 || r.h <= 0.0 {
        out.resize(
            sizes.len(),
            Rect {
                w: 0.0,
                h: 0.0,
                ..r
            },
        );
        return out;
    }
    let scale = r.area() / total;
    let areas: Vec<f64> = sizes.iter().map(|&s| s as f64 * scale).collect();
    let mut free = r;
    let mut i = 0;
    while i < areas.len() {
        let side = free.w.min(free.h);
        let mut j = i + 1;
        while j < areas.len() && worst(&areas[i..=j], side) <= worst(&areas[i..j], side) {
            j += 1;
        }
        // The last row takes all that is left, so rounding leaves no gap.
        lay_strip(&mut free, &areas[i..j], j == areas.len(), &mut out);
        i = j;
    }
    out
}

/// Lays one row of `areas` along the short side of `free` and takes it off `free`: a column
/// at the left edge (children top to bottom) when `free` is wide, else a row along the top
/// edge (children left to right). The last child ends exactly at the far edge.
fn lay_strip(free: &mut Rect, row: &[f64], last_row: bool, out: &mut Vec<Rect>) {
    let wide = free.w >= free.h;
    let (start, length, depth) = if wide {
        (free.y, free.h, free.w)
    } else {
        (free.x, free.w, free.h)
    };
    let sum: f64 = row.iter().sum();
    let thickness = if last_row { depth } else { sum / length };
    let mut at = start;
    for (k, a) in row.iter().enumerate() {
        let extent = if k + 1 == row.len() {
            start + length - at
        } else {
            a / thickness
        };
        out.push(if wide {
            Rect {
                x: free.x,
                y: at,
                w: thickness,
                h: extent,
            }
        } else {
            Rect {
                x: at,
                y: free.y,
                w: extent,
                h: thickness,
            }
        });
        at += extent;
    }
    if wide {
        free.x += thickness;
        free.w -= thickness;
    } else {
        free.y += thickness;
        free.h -= thickness;
    }
}

/// The worst aspect ratio of a row of `areas` laid along a side of length `side`.
fn worst(areas: &[f64], side: f64) -> f64 {
    let sum: f64 = areas.iter().sum();
    if sum <= 0.0 || side <= 0.0 {
        return f64::INFINITY;
    }
    let (min, max) = areas.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &a| {
        (lo.min(a), hi.max(a))
    });
    if min <= 0.0 {
        return f64::INFINITY;
    }
    let s2 = side * side;
    (s2 * max / (sum * sum)).max(sum * sum / (s2 * min))
}

/// A placed box.
#[derive(Debug, Clone, PartialEq)]
pub struct Tile<'a> {
    /// The box's node.
    pub node: &'a Node,
    /// 1 for the root's children (categories), 2 for theirs (packages), ...
    pub depth: usize,
    /// The names from the root's child down to this node.
    pub path: Vec<&'a str>,
    /// Position among its drawn siblings, largest first.
    pub rank: usize,
    /// Where it is drawn.
    pub rect: Rect,
    /// Where its children are drawn (inside its name band and padding), when it has any and
    /// is big enough to show them.
    pub inner: Option<Rect>,
}

/// Lays out `root`'s descendants in `area`, parents before their children. Children are
/// ordered by size (largest first), then by name; zero-sized nodes are left out.
pub fn layout(root: &Node, area: Rect) -> Vec<Tile<'_>> {
    let mut tiles = Vec::new();
    place_children(root, area, 1, &[], &mut tiles);
    tiles
}

fn place_children<'a>(
    node: &'a Node,
    area: Rect,
    depth: usize,
    path: &[&'a str],
    tiles: &mut Vec<Tile<'a>>,
) {
    let mut kids: Vec<&Node> = node.children.iter().filter(|c| c.size > 0).collect();
    kids.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.name.cmp(&b.name)));
    let sizes: Vec<u64> = kids.iter().map(|c| c.size).collect();
    for (rank, (kid, rect)) in kids.into_iter().zip(squarify(&sizes, area)).enumerate() {
        let mut kid_path = path.to_vec();
        kid_path.push(kid.name.as_str());
        let inner = (!kid.children.is_empty()
            && rect.w >= 4.0 * PAD + 20.0
            && rect.h >= HEADER + 2.0 * PAD + 20.0)
            .then_some(Rect {
                x: rect.x + PAD,
                y: rect.y + HEADER,
                w: rect.w - 2.0 * PAD,
                h: rect.h - HEADER - PAD,
            });
        tiles.push(Tile {
            node: kid,
            depth,
            path: kid_path.clone(),
            rank,
            rect,
            inner,
        });
        if let Some(inner) = inner {
            place_children(kid, inner, depth + 1, &kid_path, tiles);
        }
    }
}

/// The fill of a tile: its category's colour at depth 1, lighter shades below (alternating,
/// so neighbours differ).
pub fn fill(tile: &Tile<'_>) -> String {
    let base = parse_hex(category_color(tile.path[0]));
    if tile.depth == 1 {
        return hex(base);
    }
    let t = if tile.rank.is_multiple_of(2) {
        0.35
    } else {
        0.55
    };
    hex(mix(base, (255, 255, 255), t))
}

type Rgb = (u8, u8, u8);

fn parse_hex(s: &str) -> Rgb {
    let v = u32::from_str_radix(s.trim_start_matches('#'), 16).unwrap_or(0);
    ((v >> 16) as u8, (v >> 8) as u8, v as u8)
}

fn hex((r, g, b): Rgb) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

fn mix(a: Rgb, b: Rgb, t: f64) -> Rgb {
    let m = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * t).round() as u8;
    (m(a.0, b.0), m(a.1, b.1), m(a.2, b.2))
}

/// Black or white, whichever reads better on `fill`.
fn ink(fill: &str) -> &'static str {
    let (r, g, b) = parse_hex(fill);
    let luma = 0.299 * f64::from(r) + 0.587 * f64::from(g) + 0.114 * f64::from(b);
    if luma > 140.0 { "#111111" } else { "#ffffff" }
}

/// Escapes text for XML content and attribute values; drops characters XML 1.0 forbids.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// How many characters of text (bold or not) fit in `width` pixels.
fn fits(width: f64, bold: bool) -> usize {
    let glyph = if bold { GLYPH_BOLD } else { GLYPH };
    (width / (FONT * glyph)).floor().max(0.0) as usize
}

/// `s` in at most `n` characters, or `None` below 4. A path (`internal/bisect`,
/// `github.com/a/b`) keeps its last segments (`…/bisect`, else `bisect`, else `bis…`), which
/// tell packages apart; other names keep their start (`headers+…`).
fn clip(s: &str, n: usize) -> Option<String> {
    let len = s.chars().count();
    if len <= n {
        return Some(s.to_string());
    }
    if n < 4 {
        return None;
    }
    let tail = s
        .char_indices()
        .filter(|&(_, c)| c == '/')
        .map(|(i, _)| &s[i..])
        .find(|t| t.chars().count() < n && t.len() > 1);
    if let Some(t) = tail {
        return Some(format!("…{t}"));
    }
    // Too narrow for "…/last": the last segment alone, clipped if need be.
    let last = s.rsplit('/').find(|seg| !seg.is_empty()).unwrap_or(s);
    if last.chars().count() <= n {
        return Some(last.to_string());
    }
    Some(last.chars().take(n - 1).chain(['…']).collect())
}

/// The labels of a tile: (line, baseline y). A parent's name and size share its name band;
/// a leaf shows its name, then its size on a second line when there is room.
fn labels(tile: &Tile<'_>) -> Vec<(String, f64)> {
    let r = tile.rect;
    let n = fits(r.w - 8.0, tile.depth == 1);
    let size = human(tile.node.size);
    let first = r.y + FONT + 2.0;
    if r.h < FONT + 4.0 {
        return Vec::new();
    }
    if tile.inner.is_some() {
        let both = format!("{} {size}", tile.node.name);
        let line = if both.chars().count() <= n {
            Some(both)
        } else {
            clip(&tile.node.name, n)
        };
        return line.map(|l| vec![(l, first)]).unwrap_or_default();
    }
    let Some(name) = clip(&tile.node.name, n) else {
        return Vec::new();
    };
    let mut out = vec![(name, first)];
    if r.h >= 2.0 * FONT + 8.0 && size.chars().count() <= n {
        out.push((size, first + FONT + 2.0));
    }
    out
}

/// The hover text of a tile.
fn hover(tile: &Tile<'_>, file_size: u64) -> String {
    let mut s = format!(
        "{}: {} ({} bytes, {} of the file)",
        tile.path.join(" / "),
        human(tile.node.size),
        tile.node.size,
        percent(tile.node.size, file_size)
    );
    if let Some(d) = &tile.node.detail {
        s.push('\n');
        s.push_str(d);
    }
    s
}

/// The caption: the file, its size, and what is not drawn.
fn caption(root: &Node, a: &Analysis) -> String {
    let mut s = format!(
        "{} — {} ({} bytes)",
        root.name,
        human(a.file_size),
        a.file_size
    );
    match a.categories.get(Category::Bss.as_str()) {
        Some(&bss) if bss > 0 => {
            let _ = write!(s, "; bss {} is memory only, not drawn", human(bss));
        }
        _ => {}
    }
    s
}

/// Renders the treemap of `a` (with its packages `p`) as a standalone SVG document named
/// after `name` (the path as the user gave it).
pub fn svg(name: &str, a: &Analysis, p: &Packages) -> String {
    let root = tree(name, a, p);
    let area = Rect {
        x: 0.0,
        y: CAPTION,
        w: WIDTH,
        h: HEIGHT - CAPTION,
    };
    let tiles = layout(&root, area);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"sans-serif\" font-size=\"{FONT}\">"
    );
    let _ = writeln!(
        out,
        "<title>{}</title>",
        escape(&format!("binslim treemap of {name}"))
    );
    out.push_str(
        "<style>rect.box{stroke:#ffffff;stroke-width:1}g.box:hover>rect.box{stroke:#000000;\
         stroke-width:2}text{pointer-events:none}</style>\n",
    );
    let _ = writeln!(
        out,
        "<rect width=\"{WIDTH}\" height=\"{HEIGHT}\" fill=\"#ffffff\"/>"
    );
    let _ = writeln!(
        out,
        "<text x=\"6\" y=\"19\" font-size=\"14\" fill=\"#111111\">{}</text>",
        escape(&caption(&root, a))
    );
    write_tiles(&mut out, &tiles, a.file_size);
    out.push_str("</svg>\n");
    out
}

/// Writes the tiles as nested groups (a parent's group holds its children's), so the hover
/// text shown is the innermost box's.
fn write_tiles(out: &mut String, tiles: &[Tile<'_>], file_size: u64) {
    let mut open = 0usize;
    for tile in tiles {
        while open >= tile.depth {
            out.push_str("</g>\n");
            open -= 1;
        }
        let r = tile.rect;
        let fill = fill(tile);
        let _ = writeln!(
            out,
            "<g class=\"box\"><title>{}</title>",
            escape(&hover(tile, file_size))
        );
        let _ = writeln!(
            out,
            "<rect class=\"box\" data-name=\"{}\" data-depth=\"{}\" x=\"{:.1}\" y=\"{:.1}\" \
             width=\"{:.1}\" height=\"{:.1}\" fill=\"{fill}\"/>",
            escape(&tile.node.name),
            tile.depth,
            r.x,
            r.y,
            r.w,
            r.h
        );
        let colour = ink(&fill);
        // Category names in bold, so they stand out above their packages.
        let weight = if tile.depth == 1 {
            " font-weight=\"bold\""
        } else {
            ""
        };
        for (line, y) in labels(tile) {
            let _ = writeln!(
                out,
                "<text x=\"{:.1}\" y=\"{y:.1}\" fill=\"{colour}\"{weight}>{}</text>",
                r.x + 4.0,
                escape(&line)
            );
        }
        open = tile.depth;
    }
    for _ in 0..open {
        out.push_str("</g>\n");
    }
}

/// Renders the treemap as a standalone HTML page: the same SVG inline, scaled to the window
/// width, no script.
pub fn html(name: &str, a: &Analysis, p: &Packages) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{}</title>\n<style>html,body{{margin:0;padding:0;background:#ffffff}}\
         svg{{display:block;width:100%;height:auto}}</style>\n</head>\n<body>\n{}</body>\n</html>\n",
        escape(&format!("binslim treemap of {name}")),
        svg(name, a, p)
    )
}

/// Renders the treemap in `format`.
pub fn render(format: TreemapFormat, name: &str, a: &Analysis, p: &Packages) -> String {
    match format {
        TreemapFormat::Svg => svg(name, a, p),
        TreemapFormat::Html => html(name, a, p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packages::{Language, REMAINDER};

    fn close(a: Rect, b: (f64, f64, f64, f64)) -> bool {
        let e = 1e-9;
        (a.x - b.0).abs() < e
            && (a.y - b.1).abs() < e
            && (a.w - b.2).abs() < e
            && (a.h - b.3).abs() < e
    }

    /// The example of Bruls, Huizing and van Wijk (2000), figure 4: 6, 6, 4, 3, 2, 2, 1 in a
    /// 6 x 4 rectangle.
    #[test]
    fn squarify_matches_the_papers_example() {
        let r = Rect {
            x: 0.0,
            y: 0.0,
            w: 6.0,
            h: 4.0,
        };
        let got = squarify(&[6, 6, 4, 3, 2, 2, 1], r);
        let want = [
            (0.0, 0.0, 3.0, 2.0),
            (0.0, 2.0, 3.0, 2.0),
            (3.0, 0.0, 12.0 / 7.0, 7.0 / 3.0),
            (3.0 + 12.0 / 7.0, 0.0, 3.0 - 12.0 / 7.0, 7.0 / 3.0),
            (3.0, 7.0 / 3.0, 1.2, 5.0 / 3.0),
            (4.2, 7.0 / 3.0, 1.2, 5.0 / 3.0),
            (5.4, 7.0 / 3.0, 0.6, 5.0 / 3.0),
        ];
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!(close(*g, w), "{g:?} != {w:?}");
        }
    }

    #[test]
    fn squarify_fills_without_overlap_and_keeps_proportions() {
        let sizes = [9000u64, 4100, 4000, 700, 650, 300, 120, 40, 7, 1];
        let r = Rect {
            x: 10.0,
            y: 20.0,
            w: 700.0,
            h: 300.0,
        };
        let got = squarify(&sizes, r);
        let total: f64 = sizes.iter().map(|&s| s as f64).sum();
        for (s, g) in sizes.iter().zip(&got) {
            let want = *s as f64 / total * r.area();
            assert!((g.area() - want).abs() < 1e-6 * r.area(), "{g:?} for {s}");
            assert!(g.x >= r.x - 1e-9 && g.y >= r.y - 1e-9);
            assert!(g.x + g.w <= r.x + r.w + 1e-9 && g.y + g.h <= r.y + r.h + 1e-9);
        }
        for (i, a) in got.iter().enumerate() {
            for b in &got[i + 1..] {
                let ow = (a.x + a.w).min(b.x + b.w) - a.x.max(b.x);
                let oh = (a.y + a.h).min(b.y + b.h) - a.y.max(b.y);
                assert!(ow <= 1e-9 || oh <= 1e-9, "{a:?} overlaps {b:?}");
            }
        }
        // Squarified: the big boxes are not slivers.
        for g in &got[..3] {
            assert!(g.w.max(g.h) / g.w.min(g.h) < 3.0, "{g:?}");
        }
    }

    #[test]
    fn squarify_degenerate_inputs() {
        let r = Rect {
            x: 0.0,
            y: 0.0,
            w: 10.0,
            h: 10.0,
        };
        assert!(squarify(&[], r).is_empty());
        assert!(squarify(&[0, 0], r).iter().all(|g| g.area() == 0.0));
        let flat = Rect { h: 0.0, ..r };
        assert!(squarify(&[5, 1], flat).iter().all(|g| g.area() == 0.0));
        let one = squarify(&[42], r);
        assert!(close(one[0], (0.0, 0.0, 10.0, 10.0)));
    }

    fn node(name: &str, size: u64, children: Vec<Node>) -> Node {
        Node {
            children,
            ..Node::leaf(name, size)
        }
    }

    #[test]
    fn layout_orders_by_size_then_name_whatever_the_input_order() {
        let kids = vec![
            Node::leaf("b", 10),
            Node::leaf("zero", 0),
            node(
                "big",
                60,
                vec![Node::leaf("y", 5), Node::leaf("x", 5), Node::leaf("w", 50)],
            ),
            Node::leaf("a", 10),
            Node::leaf("c", 20),
        ];
        let mut reversed = kids.clone();
        reversed.reverse();
        let area = Rect {
            x: 0.0,
            y: 0.0,
            w: 400.0,
            h: 300.0,
        };
        let root = node("f", 100, kids);
        let root2 = node("f", 100, reversed);
        let names = |t: &[Tile<'_>]| t.iter().map(|t| t.path.join("/")).collect::<Vec<_>>();
        let (t1, t2) = (layout(&root, area), layout(&root2, area));
        assert_eq!(
            names(&t1),
            ["big", "big/w", "big/x", "big/y", "c", "a", "b"],
            "parents before children, largest first, ties by name, zeros left out"
        );
        assert_eq!(t1, t2);
        assert_eq!(t1[1].depth, 2);
        assert_eq!(t1[3].rank, 2);
        // Children sit inside the parent's name band and padding.
        let inner = t1[0].inner.unwrap();
        assert!(close(
            inner,
            (
                PAD,
                HEADER,
                t1[0].rect.w - 2.0 * PAD,
                t1[0].rect.h - HEADER - PAD
            )
        ));
        let child_area: f64 = t1[1..4].iter().map(|t| t.rect.area()).sum();
        assert!((child_area - inner.area()).abs() < 1e-6);
    }

    #[test]
    fn layout_does_not_nest_in_a_box_too_small_to_show_children() {
        let root = node(
            "f",
            1000,
            vec![
                node("tiny", 1, vec![Node::leaf("p", 1)]),
                Node::leaf("huge", 999),
            ],
        );
        let tiles = layout(
            &root,
            Rect {
                x: 0.0,
                y: 0.0,
                w: 300.0,
                h: 200.0,
            },
        );
        let names: Vec<_> = tiles.iter().map(|t| t.node.name.as_str()).collect();
        assert_eq!(names, ["huge", "tiny"]);
        assert!(tiles[1].inner.is_none());
    }

    fn go_static() -> Analysis {
        let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/go-static"))
            .expect("fixture");
        crate::elf::analyze(&bytes).unwrap()
    }

    fn row(name: &str, language: Language, code: u64, data: u64) -> Package {
        Package::new(name, language, code, data)
    }

    #[test]
    fn tree_holds_categories_and_packages_and_sums_to_the_file() {
        let a = go_static();
        let code = a.categories["code"];
        let packages = Packages {
            rows: vec![
                row("runtime", Language::Go, 200_000, 9_000),
                row("fmt", Language::Go, 100_000, 0),
                row(REMAINDER, Language::Unknown, 1_000, 0),
                row("<T as Trait>", Language::Rust, 0, 5),
            ],
            text_size: 301_000,
            notes: Vec::new(),
            has_symtab: true,
        };
        let t = tree("testdata/go-static", &a, &packages);
        let top: Vec<(&str, u64)> = t
            .children
            .iter()
            .map(|c| (c.name.as_str(), c.size))
            .collect();
        assert_eq!(
            top,
            [
                ("code", 484_398),
                ("data", 21_936),
                // types..etypes spans the whole .rodata of an internally linked Go program.
                ("go-metadata", 651_517),
                ("notes", 100),
                ("other", 152),
                (HEADERS_PADDING, 13_505),
            ],
            "bss is not drawn"
        );
        assert_eq!(t.children.iter().map(|c| c.size).sum::<u64>(), a.file_size);
        let kids: Vec<(&str, u64)> = t.children[0]
            .children
            .iter()
            .map(|c| (c.name.as_str(), c.size))
            .collect();
        assert_eq!(
            kids,
            [
                ("runtime", 200_000),
                ("fmt", 100_000),
                (REMAINDER, 1_000),
                ("(outside .text)", code - 301_000),
            ],
            "rows without code are left out; the remainder row is a package"
        );
        assert_eq!(
            t.children[0].children.iter().map(|c| c.size).sum::<u64>(),
            code
        );
        assert_eq!(
            t.children[0].children[0].detail.as_deref(),
            Some("go code; also 8.8 KiB of data, not drawn here")
        );
        // No package rows (the stub reader today): the code box is a leaf.
        let bare = tree("x", &a, &Packages::default());
        assert!(bare.children[0].children.is_empty());
    }

    #[test]
    fn many_small_packages_become_one_box() {
        // Beyond the 500 largest.
        let mut rows = vec![row("big", Language::Go, 1_000_000, 0)];
        for i in 0..600 {
            rows.push(row(&format!("p{i:03}"), Language::Go, 5_000 - i, 0));
        }
        let text: u64 = rows.iter().map(|r| r.code).sum();
        let boxes = package_boxes(&rows, text, text);
        assert_eq!(boxes.len(), MAX_PACKAGES + 1);
        assert_eq!(boxes[MAX_PACKAGES - 1].name, "p498");
        assert_eq!(boxes[MAX_PACKAGES].name, "(101 smaller packages)");
        assert_eq!(boxes.iter().map(|b| b.size).sum::<u64>(), text);
        // Under 1/20000 of the file: 100 bytes of a 2,000,000-byte file.
        let rows = vec![
            row("big", Language::Go, 1_000_000, 0),
            row("edge", Language::Go, 100, 0),
            row("dust", Language::C, 99, 0),
            row("more dust", Language::C, 1, 0),
        ];
        let boxes = package_boxes(&rows, 1_000_300, 2_000_000);
        let got: Vec<(&str, u64)> = boxes.iter().map(|b| (b.name.as_str(), b.size)).collect();
        assert_eq!(
            got,
            [
                ("big", 1_000_000),
                ("edge", 100),
                ("(2 smaller packages)", 100),
                ("(outside .text)", 100)
            ]
        );
    }

    #[test]
    fn escapes_names_for_xml() {
        assert_eq!(
            escape("<T as Trait>::f & \"x\" 'y'"),
            "&lt;T as Trait&gt;::f &amp; &quot;x&quot; &apos;y&apos;"
        );
        assert_eq!(escape("a\u{1}b"), "a\u{fffd}b");
        let a = go_static();
        let p = Packages {
            rows: vec![row("<T as Trait>::f&g", Language::Rust, 300_000, 0)],
            text_size: 300_000,
            notes: Vec::new(),
            has_symtab: true,
        };
        let s = svg("dir/<odd> & name", &a, &p);
        assert!(s.contains("&lt;T as Trait&gt;::f&amp;g"));
        assert!(s.contains("dir/&lt;odd&gt; &amp; name"));
        assert!(!s.contains("<T as") && !s.contains("<odd>"));
    }

    #[test]
    fn documents_are_self_contained() {
        let a = go_static();
        for doc in [
            svg("f", &a, &Packages::default()),
            html("f", &a, &Packages::default()),
        ] {
            assert!(!doc.contains("<script"));
            assert!(!doc.contains("href"));
            assert!(!doc.contains("url("));
            assert!(!doc.contains("@import"));
            // The only URL is the SVG namespace name, which is never fetched.
            assert_eq!(doc.matches("http").count(), 1);
            assert!(doc.contains("bss 142.2 KiB is memory only, not drawn"));
        }
    }

    #[test]
    fn labels_fit_their_boxes() {
        let big = Node::leaf("github.com/some/package", 2048);
        let tile = |w: f64, h: f64| Tile {
            node: &big,
            depth: 2,
            path: vec!["code", "github.com/some/package"],
            rank: 0,
            rect: Rect {
                x: 0.0,
                y: 0.0,
                w,
                h,
            },
            inner: None,
        };
        assert_eq!(
            labels(&tile(400.0, 100.0)),
            [
                ("github.com/some/package".to_string(), 14.0),
                ("2.0 KiB".to_string(), 28.0)
            ]
        );
        assert_eq!(
            labels(&tile(400.0, 20.0)),
            [("github.com/some/package".to_string(), 14.0)]
        );
        assert_eq!(labels(&tile(60.0, 20.0)), [("packa…".to_string(), 14.0)]);
        assert!(labels(&tile(30.0, 100.0)).is_empty());
        assert_eq!(
            labels(&tile(120.0, 20.0)),
            [("…/some/package".to_string(), 14.0)]
        );
        assert_eq!(labels(&tile(90.0, 20.0)), [("…/package".to_string(), 14.0)]);
        assert_eq!(clip("internal/bisect", 9).as_deref(), Some("…/bisect"));
        assert_eq!(clip("internal/bisect", 6).as_deref(), Some("bisect"));
        assert_eq!(clip("github.com/spf13/cobra", 5).as_deref(), Some("cobra"));
        assert_eq!(clip("github.com/spf13/cobra", 4).as_deref(), Some("cob…"));
        assert_eq!(clip("a/verylongname", 9).as_deref(), Some("verylong…"));
        assert_eq!(clip("trailing/", 5).as_deref(), Some("trai…"));
        assert_eq!(clip("headers+padding", 9).as_deref(), Some("headers+…"));
        assert!(labels(&tile(400.0, 10.0)).is_empty());
    }

    #[test]
    fn formats_by_extension() {
        assert_eq!(
            TreemapFormat::from_path(Path::new("a/b.svg")),
            Some(TreemapFormat::Svg)
        );
        assert_eq!(
            TreemapFormat::from_path(Path::new("b.SVG")),
            Some(TreemapFormat::Svg)
        );
        assert_eq!(
            TreemapFormat::from_path(Path::new("b.html")),
            Some(TreemapFormat::Html)
        );
        assert_eq!(
            TreemapFormat::from_path(Path::new("b.htm")),
            Some(TreemapFormat::Html)
        );
        assert_eq!(TreemapFormat::from_path(Path::new("b.png")), None);
        assert_eq!(TreemapFormat::from_path(Path::new("svg")), None);
    }

    #[test]
    fn package_shades_are_lighter_and_alternate() {
        let n = Node::leaf("p", 1);
        let t = |depth, rank, path| Tile {
            node: &n,
            depth,
            path,
            rank,
            rect: Rect {
                x: 0.0,
                y: 0.0,
                w: 1.0,
                h: 1.0,
            },
            inner: None,
        };
        assert_eq!(fill(&t(1, 0, vec!["code"])), "#4e79a7");
        assert_eq!(fill(&t(2, 0, vec!["code", "p"])), "#8ca8c6");
        assert_eq!(fill(&t(2, 1, vec!["code", "p"])), "#afc3d7");
        assert_eq!(ink("#4e79a7"), "#ffffff");
        assert_eq!(ink("#edc948"), "#111111");
    }
}
