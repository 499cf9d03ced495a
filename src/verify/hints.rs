//! Fix hints in the language a program was built with: the same problem (a dynamic link, a
//! CPU level too high) is fixed with `CGO_ENABLED=0` in Go, `crt-static` in Rust and `-static`
//! in C.

use crate::elf::{self, Analysis, ElfType, Linkage};

use super::platform::PlatformLevel;

/// The build language, for fix hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lang {
    Go,
    Rust,
    Musl,
    C,
}

pub(super) fn lang(a: &Analysis) -> Lang {
    if a.go.is_some() {
        Lang::Go
    } else if a.rust.is_some() {
        Lang::Rust
    } else if a.interpreter.as_deref().is_some_and(|i| i.contains("musl"))
        || a.needed.iter().any(|n| n == "libc.so")
    {
        Lang::Musl
    } else {
        Lang::C
    }
}

pub(super) fn link_hint(a: &Analysis) -> String {
    match lang(a) {
        Lang::Go => {
            let go = a.go.as_ref();
            let setting = |k: &str| go.and_then(|g| g.settings.get(k)).map(String::as_str);
            if !a.needed.is_empty() || setting("CGO_ENABLED") == Some("1") {
                "build with CGO_ENABLED=0; if cgo is needed, link statically: \
                 go build -ldflags '-linkmode external -extldflags \"-static\"'"
                    .into()
            } else if setting("-buildmode") == Some("pie") || a.elf_type == ElfType::Dyn {
                "drop -buildmode=pie (CGO_ENABLED=0 go build gives a static binary), or link \
                 static-pie: go build -buildmode=pie -ldflags '-linkmode external -extldflags \
                 \"-static-pie\"'"
                    .into()
            } else {
                "build with CGO_ENABLED=0".into()
            }
        }
        Lang::Rust => "build with RUSTFLAGS='-C target-feature=+crt-static' (glibc, static-pie) \
                       or for the x86_64-unknown-linux-musl target"
            .into(),
        Lang::Musl => "link statically: musl-gcc -static".into(),
        Lang::C => "link statically: gcc -static (or -static-pie)".into(),
    }
}

/// What happens on a CPU below `level`: Go's runtime checks GOAMD64 (and GOARM's VFPv3) at
/// start and says so; glibc's loader refuses a dynamic program whose ISA note the CPU lacks;
/// everything else runs until the first newer instruction.
pub(super) fn cpu_level_consequence(a: &Analysis, level: &elf::CpuLevel) -> String {
    use elf::cpu::Source;
    const SIGILL: &str = "it fails with SIGILL (illegal instruction)";
    match &level.source {
        Source::Go { key: "GOAMD64", .. } => format!(
            "the Go runtime stops it at start (\"This program can only be run on AMD64 \
             processors with v{} microarchitecture support.\")",
            level.rank
        ),
        Source::Go {
            key: "GOARM",
            value,
        } if level.rank >= 7 && !value.contains("softfloat") => {
            "the Go runtime stops it at start (\"this CPU has no VFPv3 floating point \
             hardware\") or it fails with SIGILL (illegal instruction)"
                .to_string()
        }
        Source::GnuProperty if a.linkage == Linkage::Dynamic => {
            "glibc's loader refuses it (\"CPU ISA level is lower than required\")".to_string()
        }
        _ => SIGILL.to_string(),
    }
}

/// How to build for level `max`, in the build's language.
pub(super) fn cpu_level_hint(a: &Analysis, level: &elf::CpuLevel, max: PlatformLevel) -> String {
    use elf::cpu::{Family, Source};
    let want = max.name();
    match (lang(a), max.family) {
        (Lang::Go, Family::X86_64) => format!("build with GOAMD64=v{}", max.rank),
        (Lang::Go, Family::Arm) => format!("build with GOARM={}", max.rank),
        (Lang::Go, Family::Arm64) => {
            format!("build with GOARM64=v{}.{}", max.rank / 10, max.rank % 10)
        }
        (Lang::Rust, Family::X86_64) => {
            let cpu = if max.rank <= 1 { "x86-64" } else { &want };
            format!(
                "build with RUSTFLAGS='-C target-cpu={cpu}' (and link with -z {cpu_z}, not -z \
                 {level})",
                cpu_z = elf::cpu::x86_64_name(max.rank)
            )
        }
        (Lang::Rust, Family::Arm) => format!(
            "build for an ARMv{} target (arm-unknown-linux-musleabihf is ARMv6, \
             armv7-unknown-linux-musleabihf ARMv7) or with RUSTFLAGS='-C target-cpu=...'",
            max.rank
        ),
        (_, Family::X86_64) => {
            let march = if max.rank <= 1 { "x86-64" } else { &want };
            let link = if level.source == Source::GnuProperty {
                format!(
                    " and link with -Wl,-z,{want} (the note says {level}: from -Wl,-z,{level} or \
                     gcc -mneeded)"
                )
            } else {
                String::new()
            };
            format!("compile with -march={march}{link}")
        }
        (_, Family::Arm) => format!(
            "compile with -march=armv{}+fp (-march=armv{} for soft-float) and libraries built \
             for it: Debian's armhf is ARMv7, armel ARMv5",
            max.rank, max.rank
        ),
        (_, Family::Arm64) => format!("compile with -march={want}"),
    }
}
