//! Who an image's program runs as, and what that user may do: the config's `User` resolved
//! as runc resolves it (names through the image's `/etc/passwd` and `/etc/group`, numeric ids
//! without them), and the kernel's permission check for that user on the modes and owners the
//! layers gave (root's override: any file may be read and any directory searched, a file
//! executed when it has at least one execute bit).

use thiserror::Error;

use crate::image::read::EntryMeta;

/// The credentials a container's process starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAs {
    /// The config's `User` as written (`root` when empty).
    pub user: String,
    /// User id.
    pub uid: u64,
    /// Primary group id.
    pub gid: u64,
    /// Supplementary group ids (from `/etc/group`).
    pub groups: Vec<u64>,
}

/// Why the runtime cannot name the user (runc: "unable to find user ...").
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum UserError {
    /// A user name and no `/etc/passwd` (or none naming it).
    #[error("USER {user}: the image's /etc/passwd {why}")]
    NoUser {
        /// The name.
        user: String,
        /// "is missing" or "does not name it".
        why: &'static str,
    },
    /// A group name and no `/etc/group` (or none naming it).
    #[error("USER {user}: the image's /etc/group {why} group {group}")]
    NoGroup {
        /// The config's `User`.
        user: String,
        /// The group name.
        group: String,
        /// "is missing, so it cannot name" or "does not name".
        why: &'static str,
    },
}

/// One line of `/etc/passwd` or `/etc/group`, split at `:`.
fn records(file: Option<&str>) -> impl Iterator<Item = Vec<&str>> {
    file.unwrap_or("")
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| l.split(':').collect::<Vec<_>>())
}

/// Resolves the config's `User` (`name`, `uid`, `name:group`, `uid:gid`) as runc does, with
/// the image's `/etc/passwd` and `/etc/group` contents (`None`: the file is not there).
pub fn resolve_user(
    spec: &str,
    passwd: Option<&str>,
    group: Option<&str>,
) -> Result<RunAs, UserError> {
    let spec = spec.trim();
    let (user_part, group_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let mut who = RunAs {
        user: if spec.is_empty() {
            "root".into()
        } else {
            spec.into()
        },
        uid: 0,
        gid: 0,
        groups: Vec::new(),
    };
    let mut name: Option<String> = None;
    let numeric = user_part.parse::<u64>().ok();
    let entry = records(passwd).find(|r| {
        r.len() >= 4
            && match numeric {
                Some(n) => r[2].parse::<u64>() == Ok(n),
                None => r[0] == user_part,
            }
    });
    match (entry, numeric) {
        (Some(r), _) => {
            who.uid = r[2].parse().unwrap_or(0);
            who.gid = r[3].parse().unwrap_or(0);
            name = Some(r[0].to_string());
        }
        (None, Some(n)) => who.uid = n,
        (None, None) if user_part.is_empty() => {}
        (None, None) => {
            return Err(UserError::NoUser {
                user: user_part.into(),
                why: if passwd.is_some() {
                    "does not name it"
                } else {
                    "is missing"
                },
            });
        }
    }
    match group_part.filter(|g| !g.is_empty()) {
        Some(g) => {
            who.gid = match g.parse::<u64>() {
                Ok(n) => n,
                Err(_) => records(group)
                    .find(|r| r.len() >= 3 && r[0] == g)
                    .and_then(|r| r[2].parse().ok())
                    .ok_or_else(|| UserError::NoGroup {
                        user: spec.into(),
                        group: g.into(),
                        why: if group.is_some() {
                            "does not name"
                        } else {
                            "is missing, so it cannot name"
                        },
                    })?,
            };
        }
        None => {
            if let Some(name) = &name {
                who.groups = records(group)
                    .filter(|r| r.len() >= 4 && r[3].split(',').any(|m| m == name))
                    .filter_map(|r| r[2].parse().ok())
                    .collect();
            }
        }
    }
    Ok(who)
}

/// What a process wants of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Execute a file (execve, the loader).
    Execute,
    /// Read a file (the loader opening a library).
    Read,
    /// Look a name up in a directory.
    Search,
}

impl Access {
    /// The verb messages use ("execute").
    pub fn verb(self) -> &'static str {
        match self {
            Access::Execute => "execute",
            Access::Read => "read",
            Access::Search => "search",
        }
    }
}

impl RunAs {
    /// Whether the kernel grants `want` on an entry of `meta` to this user. Root reads
    /// anything and searches any directory, and executes a file with any execute bit.
    pub fn may(&self, meta: &EntryMeta, want: Access) -> bool {
        let mode = meta.mode;
        if self.uid == 0 {
            return want != Access::Execute || mode & 0o111 != 0;
        }
        let bits = if meta.uid == self.uid {
            mode >> 6
        } else if meta.gid == self.gid || self.groups.contains(&meta.gid) {
            mode >> 3
        } else {
            mode
        } & 7;
        match want {
            Access::Read => bits & 4 != 0,
            Access::Execute | Access::Search => bits & 1 != 0,
        }
    }

    /// The user as messages name it: `user 65534 (uid 65534, gid 0)`.
    pub fn describe(&self) -> String {
        format!("user {} (uid {}, gid {})", self.user, self.uid, self.gid)
    }

    /// The credentials a set-id program of `meta` runs with: the owner's uid (set-user-id),
    /// the file's group (set-group-id).
    pub fn after_exec(&self, meta: &EntryMeta) -> RunAs {
        let mut who = self.clone();
        if meta.mode & 0o4000 != 0 {
            who.uid = meta.uid;
        }
        if meta.mode & 0o2000 != 0 {
            who.gid = meta.gid;
        }
        who
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::read::EntryKind;

    const PASSWD: &str = "root:x:0:0:root:/root:/sbin/nologin\n\
                          nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n";
    const GROUP: &str = "root:x:0:\nnonroot:x:65532:\nvideo:x:44:nonroot\n";

    fn meta(mode: u32, uid: u64, gid: u64) -> EntryMeta {
        EntryMeta {
            mode,
            uid,
            gid,
            kind: EntryKind::File,
        }
    }

    #[test]
    fn users_resolve_as_runc_resolves_them() {
        let root = resolve_user("", None, None).unwrap();
        assert_eq!((root.user.as_str(), root.uid, root.gid), ("root", 0, 0));
        let n = resolve_user("65534", None, None).unwrap();
        assert_eq!((n.uid, n.gid), (65534, 0));
        let n = resolve_user("nonroot", Some(PASSWD), Some(GROUP)).unwrap();
        assert_eq!(
            (n.uid, n.gid, n.groups.as_slice()),
            (65532, 65532, &[44][..])
        );
        let n = resolve_user("1000:44", None, None).unwrap();
        assert_eq!((n.uid, n.gid), (1000, 44));
        let n = resolve_user("65532:video", Some(PASSWD), Some(GROUP)).unwrap();
        assert_eq!((n.uid, n.gid, n.groups.len()), (65532, 44, 0));
        assert_eq!(
            resolve_user("nonroot", None, None).unwrap_err().to_string(),
            "USER nonroot: the image's /etc/passwd is missing"
        );
        assert_eq!(
            resolve_user("app", Some(PASSWD), None)
                .unwrap_err()
                .to_string(),
            "USER app: the image's /etc/passwd does not name it"
        );
        assert_eq!(
            resolve_user("0:wheel", None, None).unwrap_err().to_string(),
            "USER 0:wheel: the image's /etc/group is missing, so it cannot name group wheel"
        );
    }

    #[test]
    fn permissions_follow_owner_group_other_and_roots_override() {
        let nobody = resolve_user("65534", None, None).unwrap();
        let root = resolve_user("0", None, None).unwrap();
        assert!(!nobody.may(&meta(0o700, 0, 0), Access::Execute));
        assert!(nobody.may(&meta(0o755, 0, 0), Access::Execute));
        assert!(!nobody.may(&meta(0o750, 0, 1), Access::Execute));
        // gid 0 is nobody's primary group here (runc's default for an unknown uid).
        assert!(nobody.may(&meta(0o750, 0, 0), Access::Execute));
        assert!(!nobody.may(&meta(0o600, 0, 5), Access::Read));
        // The owner's bits alone count for the owner.
        assert!(!nobody.may(&meta(0o077, 65534, 0), Access::Read));
        assert!(root.may(&meta(0o700, 5, 5), Access::Execute));
        assert!(root.may(&meta(0o000, 5, 5), Access::Read));
        assert!(root.may(&meta(0o000, 5, 5), Access::Search));
        assert!(!root.may(&meta(0o644, 5, 5), Access::Execute));
        let suid = nobody.after_exec(&meta(0o4755, 0, 0));
        assert_eq!(suid.uid, 0);
    }
}
