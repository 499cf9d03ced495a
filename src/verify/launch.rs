//! How a runtime launches an image's program, beyond its ELF: the user it runs as and what
//! that user may execute, search and read (the modes and owners the layers gave), `#!`
//! scripts and their interpreters, and the shell form's command line (`/bin/sh -c "..."`).

use crate::image::read::{EntryKind, EntryMeta, MergedImage};

use super::codes::Code;
use super::user::{Access, RunAs, UserError, resolve_user};
use super::{FileReport, Finding, Verdict};

/// The image's `User`, resolved with its `/etc/passwd` and `/etc/group`.
pub fn image_user(img: &MergedImage) -> Result<RunAs, UserError> {
    let read = |p: &str| -> Option<String> {
        let (_, host) = img.searched(p).ok()?;
        let bytes = std::fs::read(host?).ok()?;
        Some(String::from_utf8_lossy(&bytes).into_owned())
    };
    let spec = img.config.config.user.as_deref().unwrap_or("");
    resolve_user(
        spec,
        read("/etc/passwd").as_deref(),
        read("/etc/group").as_deref(),
    )
}

/// `unknown-user`: what runc says when it cannot name the user, and the fix.
pub fn unknown_user(e: &UserError) -> Finding {
    let runtime = match e {
        UserError::NoUser { user, .. } => format!("unable to find user {user}"),
        UserError::NoGroup { group, .. } => format!("unable to find group {group}"),
    };
    Finding::new(
        Code::UnknownUser,
        format!("{e}: starting the container fails with \"{runtime}\""),
        Some(
            "use numeric ids (USER 65532:65532), or COPY an /etc/passwd and /etc/group that \
             name them"
                .into(),
        ),
    )
}

/// Adds `finding` to `report` as a problem (first), failing it.
pub fn fail_with(report: &mut FileReport, finding: Finding) {
    report.problems.insert(0, finding);
    report.verdict = Verdict::Fail;
}

/// The metadata of a directory no entry named: engines make those 0755 root:root.
const IMPLIED_DIR: EntryMeta = EntryMeta {
    mode: 0o755,
    uid: 0,
    gid: 0,
    kind: EntryKind::Dir,
};

/// `permission-denied`: `who` may not `want` `what` (mode and owner `m`), and what fails.
fn denied(what: &str, m: &EntryMeta, who: &RunAs, want: Access, outcome: &str) -> Finding {
    let hint = match want {
        Access::Execute if m.mode & 0o111 == 0 => {
            "COPY --chmod=0755 it: without an execute bit not even root may execute it"
        }
        Access::Search => {
            "make the directory searchable (COPY --chmod=0755, or chmod 0755 in \
                           the build stage), or set USER to its owner"
        }
        Access::Execute => {
            "COPY --chmod=0755 it (an execute bit for everyone), or set USER to \
                            its owner"
        }
        Access::Read => "COPY --chmod=0644 it (readable by everyone), or set USER to its owner",
    };
    Finding::new(
        Code::PermissionDenied,
        format!(
            "{what} is mode {:04o} owned by {}:{}, and {} cannot {} it: {outcome}",
            m.mode & 0o7777,
            m.uid,
            m.gid,
            who.describe(),
            want.verb()
        ),
        Some(hint.into()),
    )
}

/// The problems of reaching `path` (root-absolute in the image) as `who` and doing `want` to
/// it: a directory on the way it cannot search, or the file itself. `outcome` says what fails.
/// The program itself (`program`) without any execute bit is left to `not-executable`.
pub fn access_problems(
    img: &MergedImage,
    (path, program): (&str, bool),
    who: &RunAs,
    want: Access,
    outcome: &str,
) -> Vec<Finding> {
    let Ok((dirs, host)) = img.searched(path) else {
        return Vec::new();
    };
    for (dir, m) in &dirs {
        let m = m.unwrap_or(IMPLIED_DIR);
        if !who.may(&m, Access::Search) {
            return vec![denied(dir, &m, who, Access::Search, outcome)];
        }
    }
    let Some(m) = host.and_then(|h| img.meta(&h)) else {
        return Vec::new();
    };
    let no_x_at_all = program && want == Access::Execute && m.mode & 0o111 == 0;
    if no_x_at_all || who.may(&m, want) {
        return Vec::new();
    }
    vec![denied(path, &m, who, want, outcome)]
}

/// The loader and the libraries of a checked dynamic program, as `who`: the kernel executes
/// the loader with the caller's credentials, the loader reads the libraries with the program's
/// (set-id bits applied).
pub fn library_problems(
    img: &MergedImage,
    program_meta: Option<EntryMeta>,
    report: &FileReport,
    who: &RunAs,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(loader) = &report.loader {
        // The kernel opens the loader for execution: without an execute bit, not even root.
        out.extend(access_problems(
            img,
            (loader, false),
            who,
            Access::Execute,
            "the kernel cannot start the program's loader: starting it fails with \
             \"permission denied\"",
        ));
    }
    let effective = match program_meta {
        Some(m) => who.after_exec(&m),
        None => who.clone(),
    };
    for lib in &report.libraries {
        if let Some(p) = &lib.path {
            let outcome = format!(
                "the loader fails with \"error while loading shared libraries: {}: cannot open \
                 shared object file\"",
                lib.name
            );
            out.extend(access_problems(
                img,
                (p, false),
                &effective,
                Access::Read,
                &outcome,
            ));
        }
    }
    out
}

/// The interpreter a `#!` script names (the first word after `#!`, as the kernel reads it).
pub fn script_interpreter(host: &std::path::Path) -> Option<String> {
    use std::io::Read;
    let mut head = [0u8; 256];
    let mut f = std::fs::File::open(host).ok()?;
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    let head = head[..n].strip_prefix(b"#!")?;
    let line = head.split(|&b| b == b'\n').next().unwrap_or(head);
    let line = String::from_utf8_lossy(line);
    Some(line.split_whitespace().next().unwrap_or("").to_string())
}

/// The program a shell-form command line starts, as far as it can be told.
#[derive(Debug, PartialEq, Eq)]
pub enum ShellCommand<'a> {
    /// A simple command: its first word (a path, or a name looked up in `PATH`).
    Simple(&'a str),
    /// Quoting, expansion, redirection, several commands, a builtin: not followed.
    Complex,
}

/// Whether `cmd` is the shell form `SHELL -c LINE ...` (`sh`, `bash`, `ash`, `dash` by any
/// path): the line, when it is.
pub fn shell_line<'a>(cmd: &[&'a str]) -> Option<&'a str> {
    let (shell, rest) = cmd.split_first()?;
    let name = shell.rsplit('/').next().unwrap_or(shell);
    let shells = ["sh", "bash", "ash", "dash", "ksh", "zsh"];
    (shells.contains(&name) && rest.first() == Some(&"-c"))
        .then(|| rest.get(1).copied())
        .flatten()
}

/// The first word of a shell command line, when the line is one simple command: no quoting,
/// expansion, redirection, operators or keywords; `exec` and leading `NAME=value` assignments
/// are passed over.
pub fn first_word(line: &str) -> ShellCommand<'_> {
    const SPECIAL: &[char] = &[
        '|', '&', ';', '<', '>', '(', ')', '$', '`', '\\', '"', '\'', '*', '?', '[', ']', '{', '}',
        '~', '#', '!', '\n',
    ];
    const BUILTINS: &[&str] = &[
        "if", "then", "for", "while", "until", "case", "cd", "echo", "printf", "true", "false",
        "test", "set", "export", ".", ":", "eval", "trap", "ulimit", "umask", "wait", "read",
        "command", "source", "unset", "shift", "return", "exit", "readonly", "local", "type",
    ];
    if line.contains(SPECIAL) {
        return ShellCommand::Complex;
    }
    let is_assignment = |w: &str| {
        w.split_once('=').is_some_and(|(n, _)| {
            !n.is_empty()
                && !n.starts_with(|c: char| c.is_ascii_digit())
                && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
    };
    let mut words = line.split_whitespace().skip_while(|w| is_assignment(w));
    let mut word = words.next();
    if word == Some("exec") {
        word = words.next();
    }
    match word {
        Some(w) if !BUILTINS.contains(&w) && !is_assignment(w) => ShellCommand::Simple(w),
        _ => ShellCommand::Complex,
    }
}

/// `unfollowed-shell-command`: the shell was checked, the program its line starts was not.
pub fn unfollowed(shell: &str, line: &str) -> Finding {
    Finding::new(
        Code::UnfollowedShellCommand,
        format!(
            "the shell runs \"{line}\", a command line too complex to tell which program it \
             starts: only {shell} was checked"
        ),
        Some(
            "use the exec form (ENTRYPOINT [\"/server\", \"arg\"]), or name the program: \
             binslim verify --image IMAGE /server"
                .into(),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_command_lines_are_followed_and_others_are_not() {
        assert_eq!(first_word("/hello arg"), ShellCommand::Simple("/hello"));
        assert_eq!(
            first_word("  exec server -v"),
            ShellCommand::Simple("server")
        );
        assert_eq!(first_word("A=1 B=x /app"), ShellCommand::Simple("/app"));
        for line in [
            "/a | /b",
            "echo hi",
            "/app \"$X\"",
            "",
            "A=1",
            "cd /x && /y",
        ] {
            assert_eq!(first_word(line), ShellCommand::Complex, "{line}");
        }
        assert_eq!(shell_line(&["/bin/sh", "-c", "/hello a"]), Some("/hello a"));
        assert_eq!(shell_line(&["/bin/bash", "-c"]), None);
        assert_eq!(shell_line(&["/hello", "-c", "x"]), None);
    }
}
