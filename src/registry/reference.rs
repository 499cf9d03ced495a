//! Image references as docker and podman read them: `HOST[:PORT]/REPO[:TAG][@DIGEST]`, with
//! Docker Hub's short forms (`alpine`, `user/app`) normalized to its API host.

use std::fmt;

use super::error::RegistryError;

/// The API host of Docker Hub, which `docker.io` and short names stand for.
pub const DOCKER_HUB: &str = "registry-1.docker.io";

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `host[:port]`; `docker.io` is normalized to the API host `registry-1.docker.io`.
    pub registry: String,
    /// The repository path (`library/alpine`, `team/app`).
    pub repository: String,
    /// The tag, when given.
    pub tag: Option<String>,
    /// `sha256:<hex>`, when given.
    pub digest: Option<String>,
}

impl Reference {
    /// Parses `[docker://]HOST[:PORT]/REPO[:TAG][@DIGEST]` (or a Docker Hub short name).
    pub fn parse(s: &str) -> Result<Reference, RegistryError> {
        let bad = |reason: &'static str| RegistryError::Reference {
            input: s.to_string(),
            reason,
        };
        let rest = s.strip_prefix("docker://").unwrap_or(s);
        if rest.is_empty() {
            return Err(bad("it is empty"));
        }
        let (name_tag, digest) = match rest.split_once('@') {
            Some((n, d)) => {
                check_digest(d).map_err(bad)?;
                (n, Some(d.to_string()))
            }
            None => (rest, None),
        };
        let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name_tag[last_slash..].rfind(':') {
            Some(i) => {
                let tag = &name_tag[last_slash + i + 1..];
                check_tag(tag).map_err(bad)?;
                (&name_tag[..last_slash + i], Some(tag.to_string()))
            }
            None => (name_tag, None),
        };
        let (registry, repository) = split_registry(name);
        check_registry(&registry).map_err(bad)?;
        check_repository(&repository).map_err(bad)?;
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// The reference to fetch: the digest if any, else the tag, else `latest`.
    pub fn reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// Splits the registry off a name the way docker does: the first component is a host when it
/// has a `.` or a `:`, or is `localhost`; otherwise the name is on Docker Hub.
fn split_registry(name: &str) -> (String, String) {
    if let Some((first, rest)) = name.split_once('/')
        && (first.contains('.') || first.contains(':') || first == "localhost")
    {
        let host = match first {
            "docker.io" | "index.docker.io" => DOCKER_HUB,
            h => h,
        };
        let repo = if host == DOCKER_HUB && !rest.contains('/') {
            format!("library/{rest}")
        } else {
            rest.to_string()
        };
        return (host.to_string(), repo);
    }
    let repo = if name.contains('/') {
        name.to_string()
    } else {
        format!("library/{name}")
    };
    (DOCKER_HUB.to_string(), repo)
}

fn check_digest(d: &str) -> Result<(), &'static str> {
    let (alg, hex) = d.split_once(':').ok_or("the digest has no algorithm")?;
    let len = match alg {
        "sha256" => 64,
        "sha512" => 128,
        _ => return Err("the digest is not sha256:<64 hex digits>"),
    };
    if hex.len() != len
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err("the digest is not sha256:<64 hex digits>");
    }
    Ok(())
}

fn check_tag(t: &str) -> Result<(), &'static str> {
    let ok = !t.is_empty()
        && t.len() <= 128
        && t.bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err("the tag must be 1-128 letters, digits, '_', '.' or '-', not starting with '.' or '-'")
    }
}

fn check_registry(r: &str) -> Result<(), &'static str> {
    let (host, port) = match r.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') => (h, Some(p)),
        _ => (r, None),
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        || (host.starts_with('[') && host.ends_with(']') && host.len() > 2);
    if !host_ok {
        return Err("the registry host is not a host name or address");
    }
    if let Some(p) = port
        && (p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("the registry port is not a number");
    }
    Ok(())
}

fn check_repository(r: &str) -> Result<(), &'static str> {
    const MSG: &str = "the repository must be lowercase letters, digits and '.', '_', '-' \
                       separators, in '/'-separated parts";
    if r.is_empty() || r.len() > 255 {
        return Err(MSG);
    }
    for part in r.split('/') {
        let b = part.as_bytes();
        let edge_ok =
            |c: Option<&u8>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if !edge_ok(b.first())
            || !edge_ok(b.last())
            || !b.iter().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'-')
            })
        {
            return Err(MSG);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Reference {
        Reference::parse(s).unwrap()
    }

    #[test]
    fn host_port_repo_tag() {
        let r = p("127.0.0.1:5000/team/app:v1.2");
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "team/app");
        assert_eq!(r.tag.as_deref(), Some("v1.2"));
        assert_eq!(r.digest, None);
        assert_eq!(r.reference(), "v1.2");
        assert_eq!(r.to_string(), "127.0.0.1:5000/team/app:v1.2");
    }

    #[test]
    fn no_tag_is_latest_and_digest_wins() {
        assert_eq!(p("localhost/app").reference(), "latest");
        assert_eq!(p("localhost/app").registry, "localhost");
        let d = format!("sha256:{}", "ab".repeat(32));
        let r = p(&format!("docker://reg.example:443/app:1@{d}"));
        assert_eq!(r.registry, "reg.example:443");
        assert_eq!(r.tag.as_deref(), Some("1"));
        assert_eq!(r.reference(), d);
        assert_eq!(r.to_string(), format!("reg.example:443/app:1@{d}"));
    }

    #[test]
    fn docker_hub_short_names() {
        let r = p("alpine");
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            (DOCKER_HUB, "library/alpine")
        );
        let r = p("docker.io/user/app:x");
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            (DOCKER_HUB, "user/app")
        );
        assert_eq!(p("docker.io/busybox").repository, "library/busybox");
        assert_eq!(p("user/app").registry, DOCKER_HUB);
    }

    #[test]
    fn bad_references() {
        for s in [
            "",
            "127.0.0.1:5000/App",
            "127.0.0.1:5000/app:",
            "127.0.0.1:5000/app:-x",
            "127.0.0.1:5000/app@sha256:abc",
            "127.0.0.1:5000/app@md5:00",
            "127.0.0.1:x/app",
            "127.0.0.1:5000/",
            "127.0.0.1:5000//app",
            "127.0.0.1:5000/app/",
            "host.example/a b",
        ] {
            let e = Reference::parse(s).unwrap_err();
            assert!(
                e.to_string()
                    .starts_with(&format!("'{s}' is not an image reference: ")),
                "{s}: {e}"
            );
        }
    }
}
