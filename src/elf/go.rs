//! Go build information: the Go version, the main module and the build settings that
//! `go version -m` prints, read from `.go.buildinfo` without running the binary.
//!
//! Format (see the Go source, `debug/buildinfo`): a 32-byte header that starts with the
//! 14-byte magic `\xff Go buildinf:`, then the pointer size and a flags byte. Go ≥ 1.18 sets
//! flag bit 1 (0x2) and stores two uvarint-length-prefixed strings right after the header:
//! the version, then the module info wrapped in 16-byte sentinels. Older Go stores two
//! pointers to Go string headers instead; those are followed through the loaded segments.

use std::collections::BTreeMap;

use goblin::elf::program_header::{PF_W, PF_X, PT_LOAD};
use serde::Serialize;

use super::file::{ElfFile, read_uint};

/// The magic at the start of the build-info blob.
pub const MAGIC: &[u8; 14] = b"\xff Go buildinf:";
const HEADER_LEN: usize = 32;
const FLAG_BIG_ENDIAN: u8 = 0x1;
const FLAG_INLINE_STRINGS: u8 = 0x2;

/// What the Go linker recorded about a build.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GoBuildInfo {
    /// The Go version, e.g. `go1.23.4`.
    pub version: String,
    /// The main package path (`path` line), e.g. `example.com/server`.
    pub path: Option<String>,
    /// The main module path (`mod` line).
    pub main_module: Option<String>,
    /// The main module version, e.g. `(devel)` or `v1.2.3`.
    pub main_version: Option<String>,
    /// Build settings (`build` lines): `CGO_ENABLED`, `-buildmode`, `-ldflags`, `GOOS`, ...
    pub settings: BTreeMap<String, String>,
    /// Number of dependency modules (`dep` lines).
    pub deps: usize,
}

/// Finds and parses the build info of a Go binary, if it has one.
pub fn build_info(elf: &ElfFile<'_>) -> Option<GoBuildInfo> {
    let (version, modinfo) = build_info_text(elf)?;
    let mut info = parse_modinfo(&modinfo);
    info.version = version;
    Some(info)
}

/// The Go version and the module info text (`path`, `mod`, `dep`, `=>`, `build` lines, as
/// `go version -m` prints them) of a Go binary, unparsed; `None` when it has no build info.
pub fn build_info_text(elf: &ElfFile<'_>) -> Option<(String, String)> {
    if let Some(sh) = elf.section_by_name(".go.buildinfo") {
        let data = elf.section_data(sh);
        if let Some(info) = parse_blob(elf, data) {
            return Some(info);
        }
    }
    // Without section headers: the first writable, non-executable loaded segment, searched at
    // 16-byte alignment like the Go tool does. A file with section headers but no
    // `.go.buildinfo` is not a Go program; scanning its data would only cost page faults.
    if !elf.shdrs.is_empty() {
        return None;
    }
    let ph = elf
        .phdrs
        .iter()
        .find(|ph| ph.p_type == PT_LOAD && ph.p_flags & PF_W != 0 && ph.p_flags & PF_X == 0)?;
    let seg = elf.segment_data(ph);
    let mut at = 0;
    while at + HEADER_LEN <= seg.len() {
        if seg[at..].starts_with(MAGIC) {
            return parse_blob(elf, &seg[at..]);
        }
        at += 16;
    }
    None
}

/// Reads a build-info blob that starts with [`MAGIC`]: the version and the module info text.
fn parse_blob(elf: &ElfFile<'_>, blob: &[u8]) -> Option<(String, String)> {
    if blob.len() < HEADER_LEN || !blob.starts_with(MAGIC) {
        return None;
    }
    let ptr_size = usize::from(blob[14]);
    let flags = blob[15];
    let (version, modinfo) = if flags & FLAG_INLINE_STRINGS != 0 {
        let rest = &blob[HEADER_LEN..];
        let (version, rest) = read_varint_string(rest)?;
        let (modinfo, _) = read_varint_string(rest).unwrap_or((&[], &[]));
        (version.to_vec(), modinfo.to_vec())
    } else {
        if ptr_size != 4 && ptr_size != 8 {
            return None;
        }
        let little = flags & FLAG_BIG_ENDIAN == 0;
        let vptr = read_uint(blob, 16, ptr_size, little)?;
        let mptr = read_uint(blob, 16 + ptr_size, ptr_size, little)?;
        let version = read_go_string(elf, vptr, ptr_size, little)?;
        let modinfo = read_go_string(elf, mptr, ptr_size, little).unwrap_or_default();
        (version, modinfo)
    };
    let version = String::from_utf8_lossy(&version).into_owned();
    if version.is_empty() {
        return None;
    }
    let modinfo = String::from_utf8_lossy(strip_sentinels(&modinfo)).into_owned();
    Some((version, modinfo))
}

/// Reads a Go string header (pointer, length) at virtual address `addr` and returns its bytes.
fn read_go_string(elf: &ElfFile<'_>, addr: u64, ptr_size: usize, little: bool) -> Option<Vec<u8>> {
    let at = elf.vaddr_to_offset(addr)?;
    let header = elf.bytes_at(at, 2 * ptr_size as u64)?;
    let data_ptr = read_uint(header, 0, ptr_size, little)?;
    let len = read_uint(header, ptr_size, ptr_size, little)?;
    let off = elf.vaddr_to_offset(data_ptr)?;
    elf.bytes_at(off, len).map(<[u8]>::to_vec)
}

/// Reads a uvarint length followed by that many bytes.
fn read_varint_string(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut len: u64 = 0;
    let mut shift = 0;
    let mut i = 0;
    loop {
        let byte = *b.get(i)?;
        i += 1;
        len |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
    let len = usize::try_from(len).ok()?;
    let end = i.checked_add(len)?;
    Some((b.get(i..end)?, &b[end..]))
}

/// Module info is wrapped in two 16-byte sentinels; the last byte before the closing one is `\n`.
fn strip_sentinels(m: &[u8]) -> &[u8] {
    if m.len() >= 33 && m[m.len() - 17] == b'\n' {
        &m[16..m.len() - 16]
    } else {
        m
    }
}

/// Parses the text of the module info (`path`, `mod`, `dep`, `=>`, `build` lines).
pub fn parse_modinfo(text: &str) -> GoBuildInfo {
    let mut info = GoBuildInfo::default();
    for line in text.lines() {
        let mut fields = line.split('\t');
        match fields.next() {
            Some("path") => info.path = fields.next().map(str::to_string),
            Some("mod") => {
                info.main_module = fields.next().map(str::to_string);
                info.main_version = fields.next().map(str::to_string);
            }
            Some("dep") => info.deps += 1,
            Some("build") => {
                let rest = fields.collect::<Vec<_>>().join("\t");
                if let Some((k, v)) = split_setting(&rest) {
                    info.settings.insert(k, v);
                }
            }
            _ => {}
        }
    }
    info
}

/// One build setting as `go version -m` prints it after `build\t`: `key=value`, with the key
/// or the value written as a Go quoted string (`strconv.Quote`) where Go quotes it
/// (`runtime/debug.BuildInfo.String`): a value with a space, tab, newline, `"` or backquote
/// (`-ldflags="-s -w"`); a key that is empty or also holds `=`.
pub fn setting_text(key: &str, value: &str) -> String {
    const SPECIAL: [char; 6] = [' ', '\t', '\r', '\n', '"', '`'];
    let key = if key.is_empty() || key.contains('=') || key.contains(SPECIAL) {
        quote(key)
    } else {
        key.to_string()
    };
    let value = if value.contains(SPECIAL) {
        quote(value)
    } else {
        value.to_string()
    };
    format!("{key}={value}")
}

/// `s` as Go's `strconv.Quote` writes it.
fn quote(s: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Values with spaces or quotes are written as Go quoted strings (`strconv.Quote`); undo
/// that (Go's `strconv.Unquote`, for the escapes `Quote` writes).
fn unquote(v: &str) -> String {
    let Some(inner) = v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return v.to_string();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    let hex = |chars: &mut std::str::Chars<'_>, n: usize| -> Option<char> {
        let digits: String = chars.by_ref().take(n).collect();
        u32::from_str_radix(&digits, 16)
            .ok()
            .and_then(char::from_u32)
    };
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let escaped = match chars.next() {
            Some('a') => Some('\u{7}'),
            Some('b') => Some('\u{8}'),
            Some('f') => Some('\u{c}'),
            Some('n') => Some('\n'),
            Some('r') => Some('\r'),
            Some('t') => Some('\t'),
            Some('v') => Some('\u{b}'),
            Some('x') => hex(&mut chars, 2),
            Some('u') => hex(&mut chars, 4),
            Some('U') => hex(&mut chars, 8),
            Some(other) => Some(other),
            None => Some('\\'),
        };
        out.push(escaped.unwrap_or(char::REPLACEMENT_CHARACTER));
    }
    out
}

/// A `build` line's `key=value`, either side possibly quoted.
fn split_setting(rest: &str) -> Option<(String, String)> {
    if let Some(body) = rest.strip_prefix('"') {
        // A quoted key ends at the first `"` that is not escaped.
        let mut escaped = false;
        let end = body.char_indices().find_map(|(i, c)| {
            let close = c == '"' && !escaped;
            escaped = c == '\\' && !escaped;
            close.then_some(i)
        })?;
        let value = body[end..].strip_prefix("\"=")?;
        return Some((unquote(&rest[..end + 2]), unquote(value)));
    }
    let (k, v) = rest.split_once('=')?;
    Some((k.to_string(), unquote(v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modinfo_lines() {
        let text = "path\texample.com/srv\nmod\texample.com/srv\t(devel)\t\n\
                    dep\tgolang.org/x/text\tv0.3.0\th1:abc\n\
                    build\t-buildmode=exe\nbuild\t-compiler=gc\n\
                    build\t-ldflags=\"-s -w\"\nbuild\tCGO_ENABLED=0\nbuild\tGOOS=linux\n";
        let info = parse_modinfo(text);
        assert_eq!(info.path.as_deref(), Some("example.com/srv"));
        assert_eq!(info.main_module.as_deref(), Some("example.com/srv"));
        assert_eq!(info.main_version.as_deref(), Some("(devel)"));
        assert_eq!(info.deps, 1);
        assert_eq!(info.settings["-ldflags"], "-s -w");
        assert_eq!(info.settings["CGO_ENABLED"], "0");
        assert_eq!(info.settings["-buildmode"], "exe");
        assert_eq!(info.settings.len(), 5);
    }

    /// Quoted as Go's `strconv.Quote` quotes (checked against `go version -m`), and back.
    #[test]
    fn settings_are_quoted_as_go_quotes_them() {
        let cases = [
            ("-ldflags", "-s -w", r#"-ldflags="-s -w""#),
            ("-ldflags", "-s", "-ldflags=-s"),
            (
                "-ldflags",
                r#"-s -w -X "main.msg=a b""#,
                r#"-ldflags="-s -w -X \"main.msg=a b\"""#,
            ),
            ("-tags", "a\tb\\c", r#"-tags="a\tb\\c""#),
            ("-gcflags", "x\u{1}y`", r#"-gcflags="x\x01y`""#),
            ("CGO_ENABLED", "0", "CGO_ENABLED=0"),
            ("a=b", "c", r#""a=b"=c"#),
        ];
        for (k, v, want) in cases {
            assert_eq!(setting_text(k, v), want);
            assert_eq!(
                split_setting(want),
                Some((k.to_string(), v.to_string())),
                "{want}"
            );
        }
        assert_eq!(unquote(r#""\u00e9\U0001F600""#), "\u{e9}\u{1F600}");
    }

    #[test]
    fn varint_strings_and_sentinels() {
        let mut b = vec![3u8];
        b.extend_from_slice(b"abcrest");
        let (s, rest) = read_varint_string(&b).unwrap();
        assert_eq!((s, rest), (&b"abc"[..], &b"rest"[..]));
        assert!(read_varint_string(&[5, b'a']).is_none());
        assert!(read_varint_string(&[0xff; 12]).is_none());
        let mut m = vec![0u8; 16];
        m.extend_from_slice(b"path\tx\n");
        m.extend_from_slice(&[1u8; 16]);
        assert_eq!(strip_sentinels(&m), b"path\tx\n");
    }
}
