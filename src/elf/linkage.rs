//! Deciding how a file is linked from its headers alone, never by running it.
//!
//! `ldd` runs the dynamic loader on the file and calls a Go `-buildmode=pie` binary
//! "statically linked" although the kernel will look for its loader. The rules here follow
//! what the kernel and the loader actually do with PT_INTERP, PT_DYNAMIC, DT_NEEDED and
//! DT_FLAGS_1.

use std::fmt;

use serde::Serialize;

/// How an ELF file is linked, and so what it needs from the image it runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Linkage {
    /// A fixed-address executable with no loader and no libraries: runs in scratch.
    Static,
    /// A position-independent executable that relocates itself: runs in scratch.
    StaticPie,
    /// Has PT_INTERP: the kernel starts the named loader, which must exist in the image.
    Dynamic,
    /// Names shared libraries (DT_NEEDED) but no loader to load them: it crashes at start.
    BrokenDynamic,
    /// A shared library (`.so`), not a program.
    SharedLibrary,
    /// A relocatable object file (`.o`), not a program.
    Relocatable,
    /// A core dump.
    Core,
    /// A separate debug file (`objcopy --only-keep-debug`, `strip --only-keep-debug`): the
    /// headers of a program whose code has no bytes in the file. Not a program.
    DebugFile,
    /// An e_type binslim does not know.
    Unknown,
}

impl Linkage {
    /// The kebab-case name used in text and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Linkage::Static => "static",
            Linkage::StaticPie => "static-pie",
            Linkage::Dynamic => "dynamic",
            Linkage::BrokenDynamic => "broken-dynamic",
            Linkage::SharedLibrary => "shared-library",
            Linkage::Relocatable => "relocatable",
            Linkage::Core => "core",
            Linkage::DebugFile => "debug-file",
            Linkage::Unknown => "unknown",
        }
    }

    /// True for the kinds that start without a loader or libraries.
    pub fn is_self_contained(self) -> bool {
        matches!(self, Linkage::Static | Linkage::StaticPie)
    }

    /// True for the kinds that are meant to be executed.
    pub fn is_program(self) -> bool {
        matches!(
            self,
            Linkage::Static | Linkage::StaticPie | Linkage::Dynamic | Linkage::BrokenDynamic
        )
    }
}

impl fmt::Display for Linkage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The header facts that decide linkage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkFacts {
    /// `e_type`.
    pub e_type: u16,
    /// A PT_INTERP segment exists.
    pub has_interp: bool,
    /// A PT_DYNAMIC segment (or, without program headers, a `.dynamic` section) exists.
    pub has_dynamic: bool,
    /// Number of DT_NEEDED entries.
    pub needed: usize,
    /// DT_SONAME is present.
    pub has_soname: bool,
    /// DT_FLAGS_1 has DF_1_PIE.
    pub pie_flag: bool,
    /// `e_entry` is non-zero.
    pub has_entry: bool,
    /// The file holds no code: its executable sections are all `SHT_NOBITS`, or its PT_INTERP
    /// has no bytes in the file. What a separate debug file looks like.
    pub no_code: bool,
}

impl LinkFacts {
    /// A shared library that is also a program: PT_INTERP and DT_SONAME on an ET_DYN file
    /// without DF_1_PIE (glibc's `libc.so.6`, which prints its version when run; libcap,
    /// libpsx). [`classify`] calls it dynamic, what it is when started; where libraries are
    /// walked it is used as a library.
    pub fn is_runnable_library(&self) -> bool {
        self.e_type == goblin::elf::header::ET_DYN
            && self.has_interp
            && self.has_soname
            && !self.pie_flag
    }
}

/// Classifies a file from its header facts.
///
/// | facts | kind |
/// |---|---|
/// | ET_REL | relocatable |
/// | ET_CORE | core |
/// | ET_EXEC or ET_DYN whose code has no bytes in the file | debug-file |
/// | PT_INTERP (any type) | dynamic |
/// | ET_EXEC, no DT_NEEDED | static |
/// | ET_DYN, DF_1_PIE, no DT_NEEDED | static-pie |
/// | ET_EXEC or PIE with DT_NEEDED, no PT_INTERP | broken-dynamic |
/// | ET_DYN without DF_1_PIE, with SONAME or NEEDED or without an entry point | shared-library |
/// | ET_DYN without DF_1_PIE, PT_DYNAMIC, no SONAME, no NEEDED, an entry point | static-pie (older linkers do not set DF_1_PIE) |
/// | ET_DYN, an entry point, no PT_INTERP, no PT_DYNAMIC | unknown: not a provable static-pie |
///
/// The last row: a static-pie is loaded at a random address and must apply its own relative
/// relocations, which it finds through its dynamic section (glibc's `_dl_relocate_static_pie`,
/// musl's `_dlstart`). Without PT_DYNAMIC nothing in the headers shows that it can relocate
/// itself, or that it needs no relocation at all; calling it static-pie would be a guess, and a
/// wrong guess is a program that crashes in the image.
pub fn classify(f: LinkFacts) -> Linkage {
    use goblin::elf::header::{ET_CORE, ET_DYN, ET_EXEC, ET_REL};
    match f.e_type {
        ET_REL => Linkage::Relocatable,
        ET_CORE => Linkage::Core,
        ET_EXEC | ET_DYN if f.no_code => Linkage::DebugFile,
        _ if f.has_interp && (f.e_type == ET_EXEC || f.e_type == ET_DYN) => Linkage::Dynamic,
        ET_EXEC if f.needed > 0 => Linkage::BrokenDynamic,
        ET_EXEC => Linkage::Static,
        ET_DYN if f.pie_flag && f.needed > 0 => Linkage::BrokenDynamic,
        ET_DYN if f.pie_flag => Linkage::StaticPie,
        ET_DYN if f.has_soname || f.needed > 0 || !f.has_entry => Linkage::SharedLibrary,
        ET_DYN if f.has_dynamic => Linkage::StaticPie,
        _ => Linkage::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use goblin::elf::header::{ET_CORE, ET_DYN, ET_EXEC, ET_REL};

    fn facts(e_type: u16) -> LinkFacts {
        LinkFacts {
            e_type,
            has_entry: true,
            ..Default::default()
        }
    }

    #[test]
    fn static_exec() {
        assert_eq!(classify(facts(ET_EXEC)), Linkage::Static);
        // Static glibc executables sometimes keep an empty PT_DYNAMIC.
        let f = LinkFacts {
            has_dynamic: true,
            ..facts(ET_EXEC)
        };
        assert_eq!(classify(f), Linkage::Static);
    }

    #[test]
    fn static_pie_with_and_without_pie_flag() {
        let f = LinkFacts {
            has_dynamic: true,
            pie_flag: true,
            ..facts(ET_DYN)
        };
        assert_eq!(classify(f), Linkage::StaticPie);
        let old = LinkFacts {
            pie_flag: false,
            ..f
        };
        assert_eq!(classify(old), Linkage::StaticPie);
        // No dynamic section: no proof that it relocates itself.
        let bare = LinkFacts {
            has_dynamic: false,
            ..old
        };
        assert_eq!(classify(bare), Linkage::Unknown);
    }

    #[test]
    fn interp_is_dynamic_even_without_needed() {
        // Go -buildmode=pie with CGO_ENABLED=0: ldd says "statically linked".
        let go_pie = LinkFacts {
            has_interp: true,
            has_dynamic: true,
            pie_flag: true,
            ..facts(ET_DYN)
        };
        assert_eq!(classify(go_pie), Linkage::Dynamic);
        let exec = LinkFacts {
            has_interp: true,
            needed: 1,
            ..facts(ET_EXEC)
        };
        assert_eq!(classify(exec), Linkage::Dynamic);
    }

    #[test]
    fn needed_without_interp_is_broken() {
        let f = LinkFacts {
            has_dynamic: true,
            needed: 1,
            ..facts(ET_EXEC)
        };
        assert_eq!(classify(f), Linkage::BrokenDynamic);
        let pie = LinkFacts {
            pie_flag: true,
            ..f
        };
        assert_eq!(
            classify(LinkFacts {
                e_type: ET_DYN,
                ..pie
            }),
            Linkage::BrokenDynamic
        );
    }

    #[test]
    fn shared_libraries() {
        let with_soname = LinkFacts {
            has_dynamic: true,
            has_soname: true,
            ..facts(ET_DYN)
        };
        assert_eq!(classify(with_soname), Linkage::SharedLibrary);
        let with_needed = LinkFacts {
            has_dynamic: true,
            needed: 2,
            ..facts(ET_DYN)
        };
        assert_eq!(classify(with_needed), Linkage::SharedLibrary);
        let no_entry = LinkFacts {
            has_dynamic: true,
            has_entry: false,
            ..facts(ET_DYN)
        };
        assert_eq!(classify(no_entry), Linkage::SharedLibrary);
    }

    #[test]
    fn runnable_libraries_are_dynamic_programs() {
        let libc = LinkFacts {
            has_interp: true,
            has_dynamic: true,
            has_soname: true,
            needed: 1,
            ..facts(ET_DYN)
        };
        assert_eq!(classify(libc), Linkage::Dynamic);
        assert!(libc.is_runnable_library());
        let pie = LinkFacts {
            pie_flag: true,
            ..libc
        };
        assert!(!pie.is_runnable_library());
        let no_soname = LinkFacts {
            has_soname: false,
            ..libc
        };
        assert!(!no_soname.is_runnable_library());
        let exec = LinkFacts {
            e_type: ET_EXEC,
            ..libc
        };
        assert!(!exec.is_runnable_library());
    }

    #[test]
    fn files_without_code_are_debug_files() {
        for e_type in [ET_EXEC, ET_DYN] {
            let f = LinkFacts {
                has_interp: true,
                has_dynamic: true,
                no_code: true,
                ..facts(e_type)
            };
            assert_eq!(classify(f), Linkage::DebugFile);
        }
        let obj = LinkFacts {
            no_code: true,
            ..facts(ET_REL)
        };
        assert_eq!(classify(obj), Linkage::Relocatable);
        assert!(!Linkage::DebugFile.is_program());
    }

    #[test]
    fn objects_and_cores() {
        assert_eq!(classify(facts(ET_REL)), Linkage::Relocatable);
        assert_eq!(classify(facts(ET_CORE)), Linkage::Core);
        assert_eq!(classify(facts(0xfe00)), Linkage::Unknown);
    }
}
