//! The stable codes of verify's findings, one enum so that a code is never misspelled and
//! callers (`binslim image`'s gate, the renderers, tests) match on it instead of on strings.
//! README.md's table documents each one; JSON spells them in kebab case.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::resolve::WarningCode;

/// The stable identifier of a [`super::Finding`] (JSON `code`, README.md's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Code {
    /// `dynamic`: has PT_INTERP, needs a loader (and libraries) that scratch lacks.
    Dynamic,
    /// `no-interpreter`: DT_NEEDED without PT_INTERP.
    NoInterpreter,
    /// `not-a-program`: a shared library, object file or core dump.
    NotAProgram,
    /// `script`: a `#!` script.
    Script,
    /// `not-executable`: a program without an execute bit.
    NotExecutable,
    /// `wrong-os`: built for another kernel.
    WrongOs,
    /// `wrong-platform`: another machine or class than the target platform.
    WrongPlatform,
    /// `wrong-cpu-level`: needs a higher CPU level than the platform's variant promises.
    WrongCpuLevel,
    /// `missing-interpreter`: the loader is not in the root.
    MissingInterpreter,
    /// `bad-interpreter`: the loader in the root cannot start the program.
    BadInterpreter,
    /// `missing-library`: a needed library resolves nowhere in the root.
    MissingLibrary,
    /// `bad-library`: the search reaches a file the loader cannot load.
    BadLibrary,
    /// `missing-symbol-version`: a library lacks a needed symbol version.
    MissingSymbolVersion,
    /// `unproven-static-pie`: ET_DYN with an entry point but no PT_DYNAMIC.
    UnprovenStaticPie,
    /// `ld-so-conf-without-cache`: ld.so.conf names directories the cache does not list.
    LdSoConfWithoutCache,
    /// `unknown-loader-dirs`: the loader's default directories cannot be told.
    UnknownLoaderDirs,
    /// `no-entrypoint`: an image without Entrypoint and Cmd.
    NoEntrypoint,
    /// `missing-entrypoint`: the image's program is not there, not on PATH, or a directory.
    MissingEntrypoint,
    /// `too-large`: larger than `--max-size`.
    TooLarge,
    /// `not-stripped`: `--require-stripped` and symbols or debug data remain.
    NotStripped,
    /// `upx-packed`: `--forbid-upx` and the file is packed.
    UpxPacked,
    /// `upx-unverifiable`: packed, and the unpacked original could not be checked.
    UpxUnverifiable,
    /// `unreadable`: the file could not be read or analyzed (verdict error).
    Unreadable,
    /// `static-glibc-nss`: static glibc that uses NSS.
    StaticGlibcNss,
    /// `needs-ca-certificates`: a Go program that loads the system root certificates.
    NeedsCaCertificates,
    /// `needs-zoneinfo`: a Go program that loads time zones from the file system.
    NeedsZoneinfo,
    /// `needs-passwd`: a Go program that looks up users and groups.
    NeedsPasswd,
    /// `permission-denied`: the image's user may not execute the program or its loader, search
    /// a directory on the way, or read a library.
    PermissionDenied,
    /// `unknown-user`: the image's `User` names a user or group its `/etc/passwd` or
    /// `/etc/group` does not have.
    UnknownUser,
    /// `unfollowed-shell-command`: a shell-form command line too complex to tell which program
    /// it runs.
    UnfollowedShellCommand,
}

impl Code {
    /// The code as JSON and README.md spell it (`missing-library`).
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Dynamic => "dynamic",
            Code::NoInterpreter => "no-interpreter",
            Code::NotAProgram => "not-a-program",
            Code::Script => "script",
            Code::NotExecutable => "not-executable",
            Code::WrongOs => "wrong-os",
            Code::WrongPlatform => "wrong-platform",
            Code::WrongCpuLevel => "wrong-cpu-level",
            Code::MissingInterpreter => "missing-interpreter",
            Code::BadInterpreter => "bad-interpreter",
            Code::MissingLibrary => "missing-library",
            Code::BadLibrary => "bad-library",
            Code::MissingSymbolVersion => "missing-symbol-version",
            Code::UnprovenStaticPie => "unproven-static-pie",
            Code::LdSoConfWithoutCache => "ld-so-conf-without-cache",
            Code::UnknownLoaderDirs => "unknown-loader-dirs",
            Code::NoEntrypoint => "no-entrypoint",
            Code::MissingEntrypoint => "missing-entrypoint",
            Code::TooLarge => "too-large",
            Code::NotStripped => "not-stripped",
            Code::UpxPacked => "upx-packed",
            Code::UpxUnverifiable => "upx-unverifiable",
            Code::Unreadable => "unreadable",
            Code::StaticGlibcNss => "static-glibc-nss",
            Code::NeedsCaCertificates => "needs-ca-certificates",
            Code::NeedsZoneinfo => "needs-zoneinfo",
            Code::NeedsPasswd => "needs-passwd",
            Code::PermissionDenied => "permission-denied",
            Code::UnknownUser => "unknown-user",
            Code::UnfollowedShellCommand => "unfollowed-shell-command",
        }
    }
}

impl From<WarningCode> for Code {
    fn from(w: WarningCode) -> Self {
        match w {
            WarningCode::UnknownLoaderDirs => Code::UnknownLoaderDirs,
            WarningCode::LdSoConfWithoutCache => Code::LdSoConfWithoutCache,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_readme_spells_them() {
        assert_eq!(
            serde_json::to_string(&Code::MissingSymbolVersion).unwrap(),
            "\"missing-symbol-version\""
        );
        assert_eq!(
            Code::from(WarningCode::LdSoConfWithoutCache).as_str(),
            "ld-so-conf-without-cache"
        );
        // Every code is in README.md's table, and nothing else there is one.
        let readme = include_str!("../../README.md");
        for code in ALL {
            assert!(
                readme.contains(&format!("| `{code}` |")) || *code == Code::UpxUnverifiable,
                "{code} not in README.md"
            );
        }
    }

    const ALL: &[Code] = &[
        Code::Dynamic,
        Code::NoInterpreter,
        Code::NotAProgram,
        Code::Script,
        Code::NotExecutable,
        Code::WrongOs,
        Code::WrongPlatform,
        Code::WrongCpuLevel,
        Code::MissingInterpreter,
        Code::BadInterpreter,
        Code::MissingLibrary,
        Code::BadLibrary,
        Code::MissingSymbolVersion,
        Code::UnprovenStaticPie,
        Code::LdSoConfWithoutCache,
        Code::UnknownLoaderDirs,
        Code::NoEntrypoint,
        Code::MissingEntrypoint,
        Code::TooLarge,
        Code::NotStripped,
        Code::UpxPacked,
        Code::UpxUnverifiable,
        Code::Unreadable,
        Code::StaticGlibcNss,
        Code::NeedsCaCertificates,
        Code::NeedsZoneinfo,
        Code::NeedsPasswd,
        Code::PermissionDenied,
        Code::UnknownUser,
        Code::UnfollowedShellCommand,
    ];
}
