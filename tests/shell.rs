//! `binslim completions` and `binslim man`, checked by the real shells and by man: each script
//! passes its shell's syntax check, bash's completes every verb and every flag of each verb,
//! and the man page renders with a section for every verb listing all its flags. The verbs and
//! flags come from binslim's own clap command (the CLI module compiled into this test), so
//! verbs added later are checked without editing this file.

mod common;

#[allow(dead_code, unused_imports)]
#[path = "../src/cli.rs"]
mod cli;

use std::process::Command as Std;

use clap::CommandFactory;
use common::{binslim, have_tool, tempdir};

/// Every verb a user can call, with its long flags (`--json`), from the clap command.
fn verbs() -> Vec<(String, Vec<String>)> {
    let mut cmd = cli::Cli::command();
    cmd.build();
    cmd.get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .map(|s| {
            let flags = s
                .get_arguments()
                .filter(|a| !a.is_hide_set())
                .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
                .collect();
            (s.get_name().to_string(), flags)
        })
        .collect()
}

fn script(shell: &str) -> String {
    let out = binslim().args(["completions", shell]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_verb_list_is_what_the_cli_declares() {
    let names: Vec<String> = verbs().into_iter().map(|(n, _)| n).collect();
    for v in ["inspect", "verify", "shrink", "image", "completions", "man"] {
        assert!(names.iter().any(|n| n == v), "{v} missing from {names:?}");
    }
    let (_, verify) = verbs().into_iter().find(|(n, _)| n == "verify").unwrap();
    assert!(verify.contains(&"--platform".to_string()), "{verify:?}");
}

#[test]
fn completion_scripts_pass_each_shells_syntax_check() {
    let dir = tempdir();
    for shell in ["bash", "zsh", "fish"] {
        if !have_tool(shell) {
            continue;
        }
        let path = dir.path().join(format!("binslim.{shell}"));
        std::fs::write(&path, script(shell)).unwrap();
        let out = Std::new(shell).arg("-n").arg(&path).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell} -n: {out:?}");
        assert!(out.stderr.is_empty(), "{shell} -n: {out:?}");
    }
}

#[test]
fn every_script_names_every_verb() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let s = script(shell);
        for (verb, _) in verbs() {
            assert!(s.contains(&verb), "{shell} script lacks {verb}");
        }
    }
}

/// Runs bash's completion function as bash would after `binslim WORDS... CUR<TAB>`, returning
/// the candidates one per line.
fn bash_complete(script_path: &std::path::Path, words: &[&str]) -> Vec<String> {
    let line = words.join(" ");
    let program = format!(
        "source {script}\n\
         complete -p binslim || exit 9\n\
         COMP_WORDS=(binslim {quoted})\n\
         COMP_CWORD={cword}\n\
         COMP_LINE='binslim {line}'\n\
         COMP_POINT=${{#COMP_LINE}}\n\
         _binslim binslim '{cur}' '{prev}'\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script = script_path.display(),
        quoted = words
            .iter()
            .map(|w| format!("'{w}'"))
            .collect::<Vec<_>>()
            .join(" "),
        cword = words.len(),
        cur = words.last().unwrap(),
        prev = if words.len() > 1 {
            words[words.len() - 2]
        } else {
            "binslim"
        },
    );
    let out = Std::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{program}\n{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut lines = stdout.lines();
    // The first line is `complete -p binslim`: the script registered itself.
    assert_eq!(
        lines.next(),
        Some("complete -o bashdefault -o default -o nosort -F _binslim binslim")
    );
    lines.map(|l| l.trim().to_string()).collect()
}

#[test]
fn sourced_bash_script_completes_every_verb_and_its_flags() {
    if !have_tool("bash") {
        return;
    }
    let dir = tempdir();
    let path = dir.path().join("binslim.bash");
    std::fs::write(&path, script("bash")).unwrap();
    let top = bash_complete(&path, &[""]);
    for (verb, flags) in verbs() {
        assert!(top.contains(&verb), "`binslim <TAB>` lacks {verb}: {top:?}");
        let offered = bash_complete(&path, &[&verb, "--"]);
        for f in &flags {
            assert!(
                offered.contains(f),
                "`binslim {verb} --<TAB>` lacks {f}: {offered:?}"
            );
        }
    }
    let shells = bash_complete(&path, &["completions", ""]);
    assert_eq!(
        shells,
        [
            "-h",
            "--color",
            "--help",
            "bash",
            "elvish",
            "fish",
            "powershell",
            "zsh"
        ],
        "`binslim completions <TAB>`"
    );
}

#[test]
fn unknown_shell_is_a_usage_error() {
    let out = binslim().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid value 'tcsh' for '<SHELL>'")
            && err.contains("[possible values: bash, elvish, fish, powershell, zsh]"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn man_page_renders_with_every_verb_and_flag() {
    if !have_tool("man") {
        return;
    }
    let out = binslim().arg("man").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let roff = String::from_utf8(out.stdout).unwrap();
    assert!(
        roff.starts_with(".ie \\n(.g .ds Aq \\(aq\n"),
        "{}",
        &roff[..80]
    );
    let th = format!(
        "\n.TH binslim 1  \"binslim {}\" \n",
        env!("CARGO_PKG_VERSION")
    );
    assert!(roff.contains(&th), "{roff}");
    let dir = tempdir();
    let page = dir.path().join("binslim.1");
    std::fs::write(&page, &roff).unwrap();
    // --warnings: groff reports every malformed request on stderr.
    let out = Std::new("man")
        .args(["--warnings", "-l"])
        .arg(&page)
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .env("MANWIDTH", "250")
        .env("LC_ALL", "C.UTF-8")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("binslim(1)"), "{text}");
    for h in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS"] {
        assert!(text.contains(&format!("\n{h}\n")), "no {h} section");
    }
    let verbs = verbs();
    let heads: Vec<String> = verbs
        .iter()
        .map(|(v, _)| format!("\nBINSLIM {}\n", v.to_uppercase()))
        .collect();
    for (k, (verb, flags)) in verbs.iter().enumerate() {
        assert!(
            text.contains(&format!("\n       binslim {verb}\n")),
            "COMMANDS lacks {verb}"
        );
        let start = text
            .find(&heads[k])
            .unwrap_or_else(|| panic!("no section for {verb}"));
        let end = heads
            .get(k + 1)
            .map_or(text.len(), |h| text.find(h).expect("sections in order"));
        let section = &text[start..end];
        assert!(
            section.contains(&format!("\n   SYNOPSIS\n       binslim {verb} ")),
            "{section}"
        );
        for f in flags {
            // `       --json` or `       -o, --output <OUT>`: the flag's own entry.
            let listed = section.lines().any(|l| {
                let l = l.trim_start();
                l.starts_with(f.as_str()) || (l.starts_with('-') && l.contains(&format!(", {f}")))
            });
            assert!(listed, "man section of {verb} lacks {f}");
        }
    }
}

#[test]
fn man_page_to_a_closed_pipe_is_quiet() {
    let out = Std::new("bash")
        .args(["-c", "set -o pipefail; \"$0\" man | head -c 10 >/dev/null"])
        .arg(assert_cmd::cargo::cargo_bin("binslim"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
}

/// fish loads the script and, asked what follows `binslim ` (and `binslim VERB --`), offers
/// every verb with its description (and every long flag of each verb).
#[test]
fn fish_completes_every_verb_and_its_flags() {
    if !have_tool("fish") {
        return;
    }
    let dir = tempdir();
    let path = dir.path().join("binslim.fish");
    std::fs::write(&path, script("fish")).unwrap();
    let complete = |line: &str| -> Vec<String> {
        let out = Std::new("fish")
            .arg("--no-config")
            .arg("-c")
            .arg(format!("source {}; complete -C'{line}'", path.display()))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            // `name<TAB>description`
            .map(|l| l.split('\t').next().unwrap().to_string())
            .collect()
    };
    let top = complete("binslim ");
    for (verb, flags) in verbs() {
        assert!(top.contains(&verb), "`binslim <TAB>` lacks {verb}: {top:?}");
        let offered = complete(&format!("binslim {verb} --"));
        for f in &flags {
            assert!(
                offered.contains(f),
                "`binslim {verb} --<TAB>` lacks {f}: {offered:?}"
            );
        }
    }
}

/// zsh's completion system loads the script and registers `_binslim` for binslim.
#[test]
fn zsh_registers_the_completion_function() {
    if !have_tool("zsh") {
        return;
    }
    let dir = tempdir();
    let path = dir.path().join("_binslim");
    std::fs::write(&path, script("zsh")).unwrap();
    let out = Std::new("zsh")
        .args(["-f", "-c"])
        .arg(format!(
            "autoload -U compinit && compinit -u -D && source {} && print -r -- ${{_comps[binslim]}}",
            path.display()
        ))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "_binslim\n",
        "{out:?}"
    );
}
