//! Crate rows for Rust programs, from `.symtab` demangled with rustc-demangle (legacy `_ZN…E`
//! and v0 `_R…` mangling alike).
//!
//! A symbol's crate is the first segment of its demangled path, with two rules for names
//! that do not start with a crate:
//! - a qualified path `<T as Trait>::f` or `<T>::f` belongs to the crate of the self type
//!   `T`: the first `crate::path` inside it, after `&`, `&mut`, `*const`, `*mut`, `[`, `(` and
//!   `dyn`. So `<alloc::vec::Vec<T> as core::ops::Drop>::drop` is `alloc`,
//!   `<&mylib::Config as core::fmt::Debug>::fmt` is `mylib` and `<[mylib::Row]>::sort_by_key`
//!   is `mylib`. When `T` has no path (a primitive: `<u64 as core::fmt::Display>::fmt`), the
//!   trait's crate; with no trait either (`<str>::find`, whose impl lives in core or alloc),
//!   `core`.
//! - drop glue, `core::ptr::drop_in_place::<X>`, belongs to the crate of `X` by the same
//!   self-type rule: it is the code that drops an `X`, emitted because that crate has one.
//!   Other generic functions stay with their own crate (`core::slice::sort::…::<mylib::Row>`
//!   is `core`).
//!
//! Symbols that are not Rust-mangled (static libc, assembly, `#[no_mangle]` functions) form one
//! row, [`UNMANGLED`]. Without `.symtab` (`-C strip=symbols`, `strip`, `binslim shrink`) nothing
//! can be attributed and the rows carry a note saying so.

use super::symbols::{self, Kind};
use super::{Language, Packages};
use crate::elf::ElfFile;

/// The row of `.text` bytes owned by symbols that are not Rust-mangled.
pub const UNMANGLED: &str = "(unmangled symbols)";

/// The note on a Rust program without `.symtab`.
pub const STRIPPED_NOTE: &str = "the Rust symbols are gone (stripped: no .symtab), so crates \
    cannot be told apart; inspect the unstripped build (before strip, -C strip=symbols or \
    binslim shrink) to see them";

/// The crate rows of a Rust program. `None` when it has no `.text` (then nothing can be said
/// about code), so the caller falls back.
pub fn packages(elf: &ElfFile<'_>) -> Option<Packages> {
    symbols::rows(elf, STRIPPED_NOTE, |name| match demangle(name) {
        Some(d) => (crate_of(&d).to_string(), Language::Rust),
        None => (UNMANGLED.to_string(), Language::C),
    })
}

/// The demangled path of a Rust symbol (without its hash), or `None` when the name is not
/// Rust-mangled: v0 (`_R…`), or legacy (`_ZN…17h<16 hex digits>E`, the hash telling it from a
/// C++ name such as `_ZN3Foo5countE`).
pub fn demangle(raw: &str) -> Option<String> {
    let v0 = raw.starts_with("_R");
    let legacy = raw.starts_with("_ZN") && has_legacy_hash(raw);
    if !v0 && !legacy {
        return None;
    }
    rustc_demangle::try_demangle(raw)
        .ok()
        .map(|d| format!("{d:#}"))
}

/// `17h` + 16 hex digits + `E` ends the path, at the end of the name or before a `.llvm.…` or
/// `.cold` suffix (legacy paths themselves contain dots: `drop_in_place$LT$core..iter…`).
fn has_legacy_hash(raw: &str) -> bool {
    raw.match_indices("17h").any(|(i, _)| {
        let rest = &raw[i + 3..];
        rest.len() >= 17
            && rest.as_bytes()[..16].iter().all(u8::is_ascii_hexdigit)
            && rest.as_bytes()[16] == b'E'
            && (rest.len() == 17 || rest.as_bytes()[17] == b'.')
    })
}

/// True when `.symtab` names at least one Rust-mangled function: a Rust program whose
/// `.comment` (where rustc signs) was removed.
pub fn has_rust_symbols(elf: &ElfFile<'_>) -> bool {
    symbols::read(elf).is_some_and(|syms| {
        syms.iter()
            .any(|s| s.kind == Kind::Code && demangle(s.name).is_some())
    })
}

/// The crate a demangled Rust path (printed without its hash) is counted to; see the module
/// documentation for the rules.
pub fn crate_of(path: &str) -> &str {
    if path.starts_with('<') {
        let (self_ty, trait_path) = split_qualified(path);
        return first_crate(self_ty)
            .or_else(|| trait_path.and_then(first_crate))
            .unwrap_or("core");
    }
    for glue in ["core::ptr::drop_in_place::<", "core::ptr::drop_in_place<"] {
        if let Some(arg) = path.strip_prefix(glue) {
            return first_crate(arg).unwrap_or("core");
        }
    }
    leading_ident(path).0
}

/// `<T as Trait>::rest` → (`T`, Some(`Trait`)); `<T>::rest` → (`T`, None). Nesting of `<>`,
/// `[]` and `()` is respected; the trait runs to the `>` that closes the first `<`.
fn split_qualified(path: &str) -> (&str, Option<&str>) {
    let inner = &path[1..];
    let mut depth = 0i32;
    let mut as_at = None;
    let bytes = inner.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'<' | b'[' | b'(' => depth += 1,
            // `->` in `fn() -> T` is not a closing bracket.
            b'>' if i > 0 && bytes[i - 1] == b'-' => {}
            b'>' if depth == 0 => {
                return match as_at {
                    Some(a) => (&inner[..a], Some(&inner[a + 4..i])),
                    None => (&inner[..i], None),
                };
            }
            b'>' | b']' | b')' => depth -= 1,
            b' ' if depth == 0 && as_at.is_none() && inner[i..].starts_with(" as ") => {
                as_at = Some(i);
            }
            _ => {}
        }
    }
    (inner, None)
}

/// The crate of the first `crate::…` path in a type, skipping references, pointers, slices,
/// arrays, tuples, `dyn` and nested `<`; `None` for a type without one (`u64`, `str`, `fn()`).
fn first_crate(ty: &str) -> Option<&str> {
    let mut t = ty.trim_start();
    loop {
        let before = t;
        for prefix in [
            "&", "mut ", "*const ", "*mut ", "[", "(", "dyn ", "<", "'_ ", "'static ",
        ] {
            if let Some(rest) = t.strip_prefix(prefix) {
                t = rest.trim_start();
            }
        }
        if t.len() == before.len() {
            break;
        }
    }
    let (ident, rest) = leading_ident(t);
    (!ident.is_empty() && rest.starts_with("::")).then_some(ident)
}

/// The identifier at the start of `s` (letters, digits, `_`) and what follows it.
fn leading_ident(s: &str) -> (&str, &str) {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    s.split_at(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crates_of_paths() {
        let cases = [
            ("std::rt::lang_start_internal", "std"),
            ("core::fmt::write", "core"),
            ("<alloc::vec::Vec<T> as core::ops::Drop>::drop", "alloc"),
            (
                "<&rustc_demangle::DemangleStyle as core::fmt::Display>::fmt",
                "rustc_demangle",
            ),
            ("<&mut mylib::X as core::fmt::Debug>::fmt", "mylib"),
            ("<u64 as core::fmt::Display>::fmt", "core"),
            ("<str>::find::<char>", "core"),
            (
                "<[addr2line::unit::UnitRange]>::sort_by_key::<u64, F>",
                "addr2line",
            ),
            (
                "<std::backtrace_rs::symbolize::gimli::Cache>::with_global",
                "std",
            ),
            ("core::ptr::drop_in_place::<alloc::string::String>", "alloc"),
            ("core::ptr::drop_in_place::<&mylib::X>", "mylib"),
            ("core::ptr::drop_in_place::<[u8]>", "core"),
            ("core::ptr::drop_in_place<gimli::read::Error>", "gimli"),
            (
                "<fn() -> mylib::T as core::ops::FnOnce<()>>::call_once",
                "core",
            ),
            ("<dyn core::any::Any as core::fmt::Debug>::fmt", "core"),
            ("<(mylib::A, u8) as core::cmp::PartialEq>::eq", "mylib"),
            ("<<T as a::B>::C as d::E>::f", "d"),
            (
                "core::slice::sort::stable::quicksort::quicksort::<mylib::Row, F>",
                "core",
            ),
            ("main", "main"),
        ];
        for (path, want) in cases {
            assert_eq!(crate_of(path), want, "{path}");
        }
    }

    #[test]
    fn qualified_paths_split_at_their_own_as() {
        assert_eq!(
            split_qualified("<fn() -> a::T as core::ops::FnOnce<()>>::call_once"),
            ("fn() -> a::T", Some("core::ops::FnOnce<()>"))
        );
        assert_eq!(
            split_qualified("<a::Map<K, <b::V as c::W>::X> as d::E>::f"),
            ("a::Map<K, <b::V as c::W>::X>", Some("d::E"))
        );
        assert_eq!(split_qualified("<[u8]>::to_vec"), ("[u8]", None));
        assert_eq!(split_qualified("<unclosed"), ("unclosed", None));
    }

    #[test]
    fn legacy_and_v0_symbols_demangle_to_the_same_crate() {
        let legacy = "_ZN4core3fmt5write17h0123456789abcdefE";
        let v0 = "_RNvNtCs1234_4core3fmt5write";
        for raw in [legacy, v0, "_ZN4core3fmt5write17h0123456789abcdefE.llvm.42"] {
            let d = demangle(raw).expect(raw);
            assert_eq!(crate_of(&d), "core", "{raw}");
        }
        assert_eq!(demangle(legacy).as_deref(), Some("core::fmt::write"));
        // Legacy drop glue: dots inside the path, the dropped type's crate.
        let glue =
            "_ZN4core3ptr46drop_in_place$LT$alloc..vec..Vec$LT$u8$GT$$GT$17h930c6110768d9abdE";
        let d = demangle(glue).expect(glue);
        assert_eq!(d, "core::ptr::drop_in_place<alloc::vec::Vec<u8>>");
        assert_eq!(crate_of(&d), "alloc");
        // C and C++ names are not Rust, even where rustc-demangle would read them.
        for raw in ["memcpy", "_ZN3foo3barEv", "_ZN3Foo5countE", "main"] {
            assert_eq!(demangle(raw), None, "{raw}");
        }
    }
}
