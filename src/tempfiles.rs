//! Temporary files beside a destination, and the clean-up of ones a killed run left behind.
//!
//! Outputs are written to a temporary file in the destination's directory and renamed over the
//! destination, so the destination is always either the old file or the complete new one. A run
//! killed with SIGKILL cannot remove its temporary file; its name carries the process id
//! (`.binslim-PID-XXXXXX`), so a later run in the same directory removes the ones whose process
//! is gone.

use std::fs;
use std::path::Path;

/// The prefix of this process's temporary files and directories.
pub fn prefix() -> String {
    format!(".binslim-{}-", std::process::id())
}

/// Removes `.binslim-PID-*` entries in `dir` whose process no longer exists. Returns how many
/// were removed. Errors are ignored: clean-up must never stop the real work.
pub fn clean_stale(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(".binslim-"))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let path = e.path();
        let gone = match e.file_type() {
            Ok(t) if t.is_dir() => fs::remove_dir_all(&path).is_ok(),
            Ok(_) => fs::remove_file(&path).is_ok(),
            Err(_) => false,
        };
        removed += usize::from(gone);
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_only_dead_processes_temps() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // PID 0x7ffffffe cannot be alive (above pid_max); our own pid is alive.
        fs::write(d.join(".binslim-2147483646-abc"), "x").unwrap();
        fs::create_dir(d.join(".binslim-2147483646-dir")).unwrap();
        fs::write(d.join(format!("{}keep", prefix())), "x").unwrap();
        fs::write(d.join(".binslim-notapid"), "x").unwrap();
        fs::write(d.join("server"), "x").unwrap();
        assert_eq!(clean_stale(d), 2);
        let mut left: Vec<String> = fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                format!("{}keep", prefix()),
                ".binslim-notapid".into(),
                "server".into()
            ]
        );
    }
}
