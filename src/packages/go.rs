//! Package rows for Go programs, from the pclntab's function table: it is what the runtime
//! needs for stack traces, so it survives `-ldflags "-s -w"` and binslim's strip, where
//! `.symtab` does not.
//!
//! - A function's size runs from its entry to the next entry of the table, so alignment
//!   padding counts to the function before it (`go tool nm -size` leaves it out: ~4 % of
//!   `.text` on amd64).
//! - A function's package is its import path ([`package_of`]): the name up to the first `.`
//!   after the last `/`, generic arguments (`[...]`, which may hold dots and slashes) left out.
//!   Vendored paths stay as they are (`vendor/golang.org/x/net/http2/hpack`). The compiler's
//!   equality and hash functions (`type:.eq.net/http.Header`) count to the package of the type
//!   they compare; those of unnamed types and other generated code to a
//!   [`GENERATED`] row, assembly functions without a package to an [`ASSEMBLY`] row.
//! - `.text` bytes outside the Go function table are non-Go code when a C toolchain linked the
//!   file (cgo, `-linkmode external`: it leaves `.comment`): with `.symtab`, one row per C
//!   function symbol (language `c`), and what no symbol covers in one `C (non-Go code)` row;
//!   otherwise they are the [`REMAINDER`] row.
//! - `data` comes from `.symtab`'s object symbols (package variables and their read-only
//!   data, not `type:*` and `go:*` metadata); without `.symtab` it is 0.

use std::collections::HashMap;

use goblin::elf::section_header::{SHF_ALLOC, SHT_NOBITS};

use super::{Language, Package, Packages, REMAINDER, sort_rows};
use crate::elf::file::cstr_at;
use crate::elf::{Analysis, ElfFile, gometa};

/// The name of the row that holds the non-Go code no `.symtab` symbol names.
pub const NON_GO: &str = "C (non-Go code)";
/// The row of compiler-generated functions that belong to no package: the equality and hash
/// functions of unnamed types (`type:.eq.[2]interface {}`), the methods of unnamed structs
/// with embedded fields (`go:struct { io.Reader; io.WriterTo }.Read`), shape wrappers
/// (`go.shape.*`).
pub const GENERATED: &str = "(compiler-generated)";
/// The row of assembly functions whose names carry no package (`aeshashbody`,
/// `gcWriteBarrier`, `_rt0_amd64_linux`: mostly the runtime's).
pub const ASSEMBLY: &str = "(assembly)";

/// The rows of a Go program, or `None` when it has no readable Go 1.16+ pclntab.
pub fn packages(elf: &ElfFile<'_>, analysis: &Analysis) -> Option<Packages> {
    let module = gometa::locate(elf)?;
    let tab = &module.pclntab;
    let text = elf.section_by_name(".text");
    let mut notes = Vec::new();
    let (text_start, text_size) = match text {
        Some(sh) => (sh.sh_addr, sh.sh_size),
        None => {
            let (a, b) = module.text.or_else(|| tab.text_range())?;
            notes.push("the file has no .text section header: Go's text range is used".into());
            (a, b.saturating_sub(a))
        }
    };
    let text_end = text_start.saturating_add(text_size);
    let clip = |a: u64, b: u64| b.min(text_end).saturating_sub(a.max(text_start));

    // Phase 1: Go functions by package. Each byte counts once, inside the table's own range
    // (a malformed table's entries may go backwards or overlap), so the rows can never sum
    // past `.text`.
    let (go_start, go_end) = tab.text_range().unwrap_or((text_start, text_start));
    let mut code: HashMap<String, (Language, u64)> = HashMap::new();
    let mut go_total = 0u64;
    let mut covered = go_start;
    for f in tab.functions() {
        let end = f.entry.saturating_add(f.size).min(go_end);
        let bytes = clip(f.entry.max(covered), end);
        covered = covered.max(end);
        if bytes == 0 {
            continue;
        }
        let name = String::from_utf8_lossy(f.name);
        let pkg = package_of(&name);
        code.entry(pkg).or_insert((Language::Go, 0)).1 += bytes;
        go_total += bytes;
    }

    // Phase 2: non-Go code (cgo, external links), by `.symtab` where it is there.
    let outside = text_size.saturating_sub(clip(go_start, go_end));
    let symbols = Symbols::read(elf);
    let mut c_total = 0u64;
    if outside > 0 && !analysis.comment.is_empty() {
        if let Some(syms) = &symbols {
            // Address order; aliases and overlaps count once (to the first name).
            let mut funcs: Vec<&Symbol<'_>> = syms.functions().collect();
            funcs.sort_by_key(|s| (s.value, std::cmp::Reverse(s.size)));
            let mut covered = text_start;
            for s in funcs {
                let a = s.value.max(covered);
                let b = s.value.saturating_add(s.size);
                let in_go = b.min(go_end).saturating_sub(a.max(go_start));
                let bytes = clip(a, b).saturating_sub(in_go);
                covered = covered.max(b);
                if bytes == 0 {
                    continue;
                }
                code.entry(s.name.to_string()).or_insert((Language::C, 0)).1 += bytes;
                c_total += bytes;
            }
        }
        let rest = outside.saturating_sub(c_total);
        if rest > 0 {
            code.entry(NON_GO.to_string()).or_insert((Language::C, 0)).1 += rest;
            c_total += rest;
        }
    }

    // Phase 3: data per package, from `.symtab`.
    let mut data: HashMap<String, u64> = HashMap::new();
    if let Some(syms) = &symbols {
        for s in syms.data() {
            if s.name.starts_with("type:") || s.name.starts_with("go:") || s.name.is_empty() {
                continue;
            }
            *data.entry(package_of(s.name)).or_default() += s.size;
        }
    } else {
        notes.push("no .symtab: data per package is unknown (0)".into());
    }

    let mut rows: Vec<Package> = code
        .into_iter()
        .map(|(name, (language, code))| {
            let data = if language == Language::Go {
                data.remove(&name).unwrap_or(0)
            } else {
                0
            };
            Package {
                name,
                language,
                code,
                data,
            }
        })
        .collect();
    let remainder = text_size.saturating_sub(go_total + c_total);
    if remainder > 0 {
        rows.push(Package::new(REMAINDER, Language::Unknown, remainder, 0));
    }
    sort_rows(&mut rows);
    Some(Packages {
        rows,
        text_size,
        notes,
        has_symtab: symbols.is_some(),
    })
}

/// The import path of a Go function (or variable) name: `net/http.(*Server).Serve` →
/// `net/http`; `pkg.F[go.shape.*uint8].func1` → `pkg`; `type:.eq.net/http.Header` →
/// `net/http`; `type:.eq.[2]interface {}` and `go:…` → [`GENERATED`]; a name without a
/// package (`aeshashbody`) → [`ASSEMBLY`]. The linker writes a `.` in the last path element
/// as `%2e` (`gopkg.in/yaml%2ev3`); the row shows a `.`.
pub fn package_of(name: &str) -> String {
    for prefix in ["type:.eq.", "type:.hash.", "type..eq.", "type..hash."] {
        if let Some(rest) = name.strip_prefix(prefix) {
            let named = rest.chars().next().is_some_and(char::is_alphabetic)
                && !["struct", "interface", "func", "map", "chan"]
                    .iter()
                    .any(|k| rest.starts_with(k));
            return if named && rest.contains('.') {
                package_of(rest)
            } else {
                GENERATED.to_string()
            };
        }
    }
    if name.starts_with("go:") || name.starts_with("go.") {
        return GENERATED.to_string();
    }
    let head = &name[..name.find('[').unwrap_or(name.len())];
    let from = head.rfind('/').map_or(0, |i| i + 1);
    match head[from..].find('.') {
        Some(dot) => name[..from + dot].replace("%2e", "."),
        None => ASSEMBLY.to_string(),
    }
}

/// One `.symtab` entry binslim uses.
struct Symbol<'a> {
    name: &'a str,
    value: u64,
    size: u64,
    kind: u8,
    section: usize,
}

/// `.symtab`, read only for `--packages` (never by plain inspect).
struct Symbols<'a> {
    syms: Vec<Symbol<'a>>,
    /// Per section index: loaded with file bytes.
    loaded: Vec<bool>,
}

const STT_OBJECT: u8 = 1;
const STT_FUNC: u8 = 2;

impl<'a> Symbols<'a> {
    fn read(elf: &ElfFile<'a>) -> Option<Self> {
        let (sh, strtab) = super::symbols::symtab(elf)?;
        let strtab = elf.section_data(strtab);
        let table = elf.section_data(sh);
        let is_64 = elf.is_64();
        let ent = if is_64 { 24 } else { 16 };
        let mut syms = Vec::with_capacity(table.len() / ent);
        for e in table.chunks_exact(ent).skip(1) {
            let r = |at, size| elf.read_uint(e, at, size).unwrap_or(0);
            let (value, size, info, shndx) = if is_64 {
                (r(8, 8), r(16, 8), r(4, 1), r(6, 2))
            } else {
                (r(4, 4), r(8, 4), r(12, 1), r(14, 2))
            };
            let kind = (info & 0xf) as u8;
            if size == 0 || !matches!(kind, STT_OBJECT | STT_FUNC) {
                continue;
            }
            let name = cstr_at(strtab, r(0, 4) as usize).unwrap_or_default();
            syms.push(Symbol {
                name: std::str::from_utf8(name).unwrap_or(""),
                value,
                size,
                kind,
                section: shndx as usize,
            });
        }
        let loaded = elf
            .shdrs
            .iter()
            .map(|sh| sh.sh_flags & u64::from(SHF_ALLOC) != 0 && sh.sh_type != SHT_NOBITS)
            .collect();
        Some(Symbols { syms, loaded })
    }

    fn functions(&self) -> impl Iterator<Item = &Symbol<'a>> {
        self.syms.iter().filter(|s| s.kind == STT_FUNC)
    }

    /// Object symbols in loaded sections with file bytes.
    fn data(&self) -> impl Iterator<Item = &Symbol<'a>> {
        self.syms.iter().filter(|s| {
            s.kind == STT_OBJECT && self.loaded.get(s.section).copied().unwrap_or(false)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{ASSEMBLY, GENERATED, package_of};

    #[test]
    fn packages_of_names() {
        let cases = [
            ("net/http.(*Server).Serve", "net/http"),
            ("main.main", "main"),
            ("runtime.gcBgMarkWorker.func1", "runtime"),
            ("github.com/x/y/v2/api.(*T).M", "github.com/x/y/v2/api"),
            (
                "slices.SortFunc[go.shape.[]string,go.shape.*net/url.URL]",
                "slices",
            ),
            ("example.com/a.F[go.shape.int].func1", "example.com/a"),
            ("example.com/a.(*List[go.shape.int]).Push", "example.com/a"),
            ("gopkg.in/yaml%2ev3.(*parser).parse", "gopkg.in/yaml.v3"),
            (
                "vendor/golang.org/x/net/http2/hpack.(*Decoder).Write",
                "vendor/golang.org/x/net/http2/hpack",
            ),
            ("type:.eq.net/http.Header", "net/http"),
            ("type:.eq.[2]interface {}", GENERATED),
            ("type:.eq.struct { a int }", GENERATED),
            ("type:.hash.main.T", "main"),
            ("go:struct { io.Reader; io.WriterTo }.Read", GENERATED),
            ("go.shape.struct { net/netip.isV6 bool }.String", GENERATED),
            ("_rt0_amd64_linux", ASSEMBLY),
            ("aeshashbody", ASSEMBLY),
        ];
        for (name, want) in cases {
            assert_eq!(package_of(name), want, "{name}");
        }
    }
}
