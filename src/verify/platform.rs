//! Target platforms as Docker spells them (`linux/arm/v7`): parsing `--platform`, an image
//! config's platform and BuildKit's `TARGETPLATFORM`/`TARGETVARIANT`. The one table that maps
//! OCI architecture names to ELF machines is [`crate::image::spec::ARCHES`] (re-exported here):
//! `binslim image` writes configs from it and `--platform` is parsed with it.

use std::str::FromStr;

use thiserror::Error;

use crate::elf;

pub use crate::image::spec::{ARCHES, Arch, arch_by_machine, arch_by_oci};

/// Why a platform name is not one binslim can check.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PlatformError {
    /// Another OS than linux.
    #[error(
        "unsupported platform '{platform}': binslim checks linux/* platforms (e.g. linux/amd64)"
    )]
    Unsupported {
        /// The platform as given.
        platform: String,
    },
    /// An architecture not in [`ARCHES`].
    #[error(
        "unknown platform '{platform}': use linux/amd64, linux/arm64, linux/arm/v7, linux/386, \
         linux/riscv64, linux/ppc64le or linux/s390x"
    )]
    UnknownArch {
        /// The platform as given.
        platform: String,
    },
    /// More than OS/ARCH/VARIANT.
    #[error("unknown platform '{platform}': the form is OS/ARCH[/VARIANT], e.g. linux/arm/v7")]
    TooManyParts {
        /// The platform as given.
        platform: String,
    },
    /// A variant binslim does not know for the architecture.
    #[error("unknown variant '{variant}' in platform '{platform}': {known}")]
    UnknownVariant {
        /// The variant as given.
        variant: String,
        /// The platform as given.
        platform: String,
        /// The variants the architecture has, in words.
        known: String,
    },
    /// `TARGETPLATFORM` has a variant that is not `TARGETVARIANT`.
    #[error("TARGETPLATFORM '{platform}' and TARGETVARIANT '{variant}' disagree: set one of them")]
    EnvDisagree {
        /// `TARGETPLATFORM`.
        platform: String,
        /// `TARGETVARIANT`.
        variant: String,
    },
    /// The platform BuildKit's variables name is wrong.
    #[error("{from}: {source}")]
    Env {
        /// The variables it came from (`TARGETPLATFORM` or `TARGETPLATFORM/TARGETVARIANT`).
        from: &'static str,
        /// What is wrong with it.
        source: Box<PlatformError>,
    },
}

/// A `--platform` value such as `linux/amd64` or `linux/arm/v7`, as Docker spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// The platform as given, e.g. `linux/arm64`.
    pub name: String,
    /// The ELF machine name it requires (`x86_64`, `aarch64`, ...).
    pub machine: &'static str,
    /// The ELF class it requires (`elf32` or `elf64`).
    pub class: &'static str,
    /// The highest CPU level its variant promises (`linux/amd64/v2`: x86-64-v2). `None` without
    /// a variant: then the CPU level is not checked.
    pub max_level: Option<PlatformLevel>,
}

/// The CPU level a platform variant promises: a file that needs a higher one of the same family
/// cannot run on every CPU of the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlatformLevel {
    /// The family (x86-64, 32-bit ARM, 64-bit ARM).
    pub family: elf::cpu::Family,
    /// The rank, as [`elf::CpuLevel::rank`] counts.
    pub rank: u32,
}

impl PlatformLevel {
    /// True when every CPU of this level runs a program that needs level `rank` of the same
    /// family. Levels are ordered, except that Armv9.x is based on Armv8.(x+5): a v9.0 CPU has
    /// what v8.5 requires, and nothing of v8.6.
    pub fn covers(&self, rank: u32) -> bool {
        let (major, minor) = (rank / 10, rank % 10);
        match (self.family, self.rank / 10, major) {
            (elf::cpu::Family::Arm64, 9, 8) => minor <= self.rank % 10 + 5,
            _ => rank <= self.rank,
        }
    }

    /// The level's name as [`elf::CpuLevel::name`] spells it (`x86-64-v2`, `armv6`, `armv8.0-a`).
    pub fn name(&self) -> String {
        use elf::cpu::Family;
        match self.family {
            Family::X86_64 => elf::cpu::x86_64_name(self.rank),
            Family::Arm => format!("armv{}", self.rank),
            Family::Arm64 => elf::cpu::arm64_name(self.rank),
        }
    }
}

impl Platform {
    /// The platform an image config names (`os/architecture[/variant]`): like `parse`, but a
    /// variant binslim does not know only drops the CPU level check, so that the architecture is
    /// still checked. `None` when the architecture is not one binslim knows.
    pub fn from_image(s: &str) -> Option<Platform> {
        s.parse().ok().or_else(|| {
            let mut parts = s.split('/');
            let os_arch = format!("{}/{}", parts.next()?, parts.next()?);
            let mut p: Platform = os_arch.parse().ok()?;
            p.name = s.to_string();
            Some(p)
        })
    }
}

impl FromStr for Platform {
    type Err = PlatformError;

    fn from_str(s: &str) -> Result<Self, PlatformError> {
        let mut parts = s.split('/');
        let os = parts.next().unwrap_or("");
        let arch = parts.next().unwrap_or("");
        let variant = parts.next();
        let platform = || s.to_string();
        if os != "linux" {
            return Err(PlatformError::Unsupported {
                platform: platform(),
            });
        }
        let Some(found) = arch_by_oci(arch) else {
            return Err(PlatformError::UnknownArch {
                platform: platform(),
            });
        };
        if parts.next().is_some() {
            return Err(PlatformError::TooManyParts {
                platform: platform(),
            });
        }
        let max_level = match variant {
            None => None,
            Some(v) => {
                Some(
                    variant_level(arch, v).ok_or_else(|| PlatformError::UnknownVariant {
                        variant: v.to_string(),
                        platform: platform(),
                        known: known_variants(arch),
                    })?,
                )
            }
        };
        Ok(Platform {
            name: s.to_string(),
            machine: found.machine,
            class: found.class,
            max_level,
        })
    }
}

/// The level a variant of `arch` promises, for the variants Docker and containerd name.
fn variant_level(arch: &str, v: &str) -> Option<PlatformLevel> {
    use elf::cpu::{Family, parse_arm64_variant, parse_x86_64_variant};
    let (family, rank) = match arch {
        "amd64" => (Family::X86_64, parse_x86_64_variant(v)?),
        // containerd also accepts the bare number (`linux/arm/7`).
        "arm" => {
            let n: u32 = v.strip_prefix('v').unwrap_or(v).parse().ok()?;
            (Family::Arm, Some(n).filter(|n| (5..=8).contains(n))?)
        }
        "arm64" => (Family::Arm64, parse_arm64_variant(v)?),
        _ => return None,
    };
    Some(PlatformLevel { family, rank })
}

fn known_variants(arch: &str) -> String {
    match arch {
        "amd64" => "linux/amd64 has v1, v2, v3 and v4 (x86-64 levels)".into(),
        "arm" => "linux/arm has v5, v6, v7 and v8".into(),
        "arm64" => "linux/arm64 has v8, v8.1 .. v8.9, v9, v9.1 .. v9.5".into(),
        _ => format!("binslim knows no variants of linux/{arch}: leave the variant out"),
    }
}

/// The platform BuildKit's automatic build arguments name, when `--platform` is not given:
/// `TARGETPLATFORM`, with `TARGETVARIANT` added when the platform has no variant of its own (a
/// variant of its own must agree with `TARGETVARIANT`). A `TARGETVARIANT` without
/// `TARGETPLATFORM` names no architecture and is ignored. `var` reads a variable
/// (`std::env::var(k).ok()` for the process's own).
pub fn platform_from_env(
    var: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Platform>, PlatformError> {
    let get = |k: &str| {
        var(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let Some(platform) = get("TARGETPLATFORM") else {
        return Ok(None);
    };
    let has_variant = platform.split('/').count() > 2;
    let (name, from) = match get("TARGETVARIANT") {
        Some(v) if !has_variant => (format!("{platform}/{v}"), "TARGETPLATFORM/TARGETVARIANT"),
        Some(v) if !platform.ends_with(&format!("/{v}")) => {
            return Err(PlatformError::EnvDisagree {
                platform,
                variant: v,
            });
        }
        _ => (platform, "TARGETPLATFORM"),
    };
    name.parse::<Platform>()
        .map(Some)
        .map_err(|e| PlatformError::Env {
            from,
            source: Box::new(e),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &str) -> String {
        s.parse::<Platform>().unwrap_err().to_string()
    }

    #[test]
    fn platforms() {
        let p: Platform = "linux/arm/v7".parse().unwrap();
        assert_eq!((p.machine, p.class), ("arm", "elf32"));
        let p: Platform = "linux/amd64".parse().unwrap();
        assert_eq!((p.machine, p.class), ("x86_64", "elf64"));
        assert_eq!(p.max_level, None);
        let level = |s: &str| s.parse::<Platform>().unwrap().max_level.unwrap();
        assert_eq!(level("linux/amd64/v2").name(), "x86-64-v2");
        assert_eq!(level("linux/amd64/v1").name(), "x86-64-baseline");
        assert_eq!(level("linux/arm/v6").name(), "armv6");
        assert_eq!(level("linux/arm/7").name(), "armv7");
        assert_eq!(level("linux/arm64/v8").name(), "armv8.0-a");
        assert_eq!(level("linux/arm64/v8.2").name(), "armv8.2-a");
        // Armv9.0 is based on Armv8.5; v9 has features no v8.x requires.
        assert!(level("linux/arm64/v9").covers(85));
        assert!(!level("linux/arm64/v9").covers(86));
        assert!(level("linux/arm64/v9.1").covers(86));
        assert!(!level("linux/arm64/v8.9").covers(90));
        assert!(level("linux/arm64/v8.2").covers(82));
        assert!(!level("linux/arm64/v8.2").covers(83));
        assert!(level("linux/amd64/v3").covers(3) && !level("linux/amd64/v3").covers(4));
        assert_eq!(
            err("linux/amd64/v5"),
            "unknown variant 'v5' in platform 'linux/amd64/v5': linux/amd64 has v1, v2, v3 \
             and v4 (x86-64 levels)"
        );
        assert!(
            err("linux/386/v2")
                .ends_with("binslim knows no variants of linux/386: leave the variant out")
        );
        assert_eq!(
            err("linux/arm/v7/x"),
            "unknown platform 'linux/arm/v7/x': the form is OS/ARCH[/VARIANT], e.g. linux/arm/v7"
        );
        // An image's unknown variant keeps the architecture check.
        let p = Platform::from_image("linux/riscv64/rva22u64").unwrap();
        assert_eq!((p.machine, p.max_level), ("riscv64", None));
        assert_eq!(p.name, "linux/riscv64/rva22u64");
        assert!(Platform::from_image("windows/amd64").is_none());
        assert_eq!(
            err("windows/amd64"),
            "unsupported platform 'windows/amd64': binslim checks linux/* platforms (e.g. \
             linux/amd64)"
        );
        assert_eq!(
            err("linux/sparc"),
            "unknown platform 'linux/sparc': use linux/amd64, linux/arm64, linux/arm/v7, \
             linux/386, linux/riscv64, linux/ppc64le or linux/s390x"
        );
    }

    /// Each OCI name maps to its machine and back, as `image` writes configs.
    #[test]
    fn one_table_both_ways() {
        for a in ARCHES {
            let p: Platform = format!("linux/{}", a.oci).parse().unwrap();
            assert_eq!((p.machine, p.class), (a.machine, a.class));
            assert_eq!(arch_by_machine(a.machine), Some(a));
        }
        assert_eq!(arch_by_machine("aarch64").unwrap().oci, "arm64");
        assert_eq!(arch_by_machine("mips"), None);
    }

    fn from(vars: &[(&str, &str)]) -> Result<Option<String>, String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let var = move |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        platform_from_env(&var)
            .map(|p| p.map(|p| p.name))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn buildkit_arguments_name_the_platform() {
        assert_eq!(from(&[]), Ok(None));
        assert_eq!(from(&[("TARGETVARIANT", "v6")]), Ok(None));
        let p = |s: &str| Ok(Some(s.to_string()));
        assert_eq!(
            from(&[("TARGETPLATFORM", "linux/arm/v6")]),
            p("linux/arm/v6")
        );
        assert_eq!(
            from(&[("TARGETPLATFORM", "linux/arm"), ("TARGETVARIANT", "v6")]),
            p("linux/arm/v6")
        );
        assert_eq!(
            from(&[("TARGETPLATFORM", "linux/arm/v6"), ("TARGETVARIANT", "v6")]),
            p("linux/arm/v6")
        );
        assert_eq!(
            from(&[("TARGETPLATFORM", "linux/arm/v7"), ("TARGETVARIANT", "v6")]),
            Err(
                "TARGETPLATFORM 'linux/arm/v7' and TARGETVARIANT 'v6' disagree: set one of them"
                    .into()
            )
        );
        assert!(
            from(&[("TARGETPLATFORM", "linux/amd64"), ("TARGETVARIANT", "v9")])
                .unwrap_err()
                .starts_with("TARGETPLATFORM/TARGETVARIANT: unknown variant 'v9'")
        );
        assert!(
            from(&[("TARGETPLATFORM", "linux/sparc")])
                .unwrap_err()
                .starts_with("TARGETPLATFORM: unknown platform 'linux/sparc'")
        );
    }
}
