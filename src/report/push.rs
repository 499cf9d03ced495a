//! The text report of `binslim push`: one line per blob (uploaded, or already in the
//! repository), one per platform manifest of an index, and the pushed reference with its
//! digest. The JSON form is the [`PushReport`] itself, under `"push"`.

use std::fmt::Write as _;

use super::{Style, human};
use crate::registry::PushReport;
use crate::registry::error::RegistryError;
use crate::registry::reference::Reference;

/// The text report. The last line is `pushed HOST/REPO@sha256:...`, the reference a pull
/// by digest takes.
pub fn render(r: &PushReport, style: Style) -> String {
    let mut out = String::new();
    for b in &r.blobs {
        let what = if b.uploaded {
            style.good("uploaded")
        } else {
            style.dim("exists")
        };
        let _ = writeln!(
            out,
            "  blob      {}  {:>10}  {what}",
            short(&b.digest),
            human(b.size)
        );
    }
    // A single-platform image's one manifest is what the last line names.
    if r.manifests.len() > 1 || r.manifests.iter().any(|m| m.digest != r.digest) {
        for m in &r.manifests {
            let _ = writeln!(out, "  manifest  {}  {}", short(&m.digest), m.platform);
        }
    }
    let uploaded: u64 = r.blobs.iter().filter(|b| b.uploaded).map(|b| b.size).sum();
    let fresh = r.blobs.iter().filter(|b| b.uploaded).count();
    let _ = writeln!(
        out,
        "  {fresh} of {} blobs uploaded ({}), {} already there",
        r.blobs.len(),
        human(uploaded),
        r.blobs.len() - fresh
    );
    for x in &r.referrers {
        let _ = writeln!(
            out,
            "  referrer  {}  {} ({})",
            short(&x.digest),
            x.artifact_type,
            x.via
        );
    }
    let _ = writeln!(
        out,
        "pushed {}",
        style.bold(&format!("{}@{}", repository(&r.reference), r.digest))
    );
    out
}

/// `sha256:` and the first 12 hex digits.
fn short(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}

/// `HOST/REPO` of `HOST/REPO:TAG` or `HOST/REPO@DIGEST` (a port's colon is before the first
/// `/`, so only a colon after the last `/` starts a tag).
pub fn repository(reference: &str) -> &str {
    let name = reference.split('@').next().unwrap_or(reference);
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[slash..].find(':') {
        Some(i) => &name[..slash + i],
        None => name,
    }
}

/// `push to REF failed at STEP: REASON` (the error's own `STEP failed: ` prefix dropped, so the
/// step is said once): the stderr line (after `binslim: `) of a failed push, for `image --push`
/// too.
pub fn failure(to: &Reference, e: &RegistryError) -> String {
    let message = e.to_string();
    match e.step() {
        Some(step) => {
            let prefix = format!("{step} failed: ");
            let reason = message.strip_prefix(&prefix).unwrap_or(&message);
            format!("push to {to} failed at {step}: {reason}")
        }
        None => format!("push to {to} failed: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{BlobReport, ManifestReport};

    const D1: &str = "sha256:4cdc06c9adf2b88a44704c8126866273063a7871dc23afffcf8c6622428a47f1";
    const D2: &str = "sha256:c0bf44fa007796c12d42fcd298f5fec9c44cc5614655dd729dd76d3c9da6d69e";
    const D3: &str = "sha256:406487c7b35f563e30fe1a8592a6ad065a4bfbf88738c231542c3c52bd0bf951";

    #[test]
    fn repository_of_a_reference() {
        assert_eq!(repository("127.0.0.1:5000/app:1"), "127.0.0.1:5000/app");
        assert_eq!(
            repository("127.0.0.1:5000/team/app"),
            "127.0.0.1:5000/team/app"
        );
        assert_eq!(
            repository(&format!("reg.example/app@{D1}")),
            "reg.example/app"
        );
        assert_eq!(repository(&format!("reg:1/app:v@{D1}")), "reg:1/app");
    }

    #[test]
    fn text_of_a_single_platform_push() {
        let r = PushReport {
            reference: "127.0.0.1:5000/app:1".into(),
            digest: D3.into(),
            blobs: vec![
                BlobReport {
                    digest: D2.into(),
                    size: 444,
                    uploaded: false,
                },
                BlobReport {
                    digest: D1.into(),
                    size: 1177600,
                    uploaded: true,
                },
            ],
            manifests: vec![ManifestReport {
                platform: "linux/amd64".into(),
                digest: D3.into(),
            }],
            referrers: Vec::new(),
        };
        assert_eq!(
            render(&r, Style::new(false)),
            format!(
                "  blob      sha256:c0bf44fa0077       444 B  exists\n  blob      \
                 sha256:4cdc06c9adf2     1.1 MiB  uploaded\n  1 of 2 blobs uploaded (1.1 MiB), \
                 1 already there\npushed 127.0.0.1:5000/app@{D3}\n"
            )
        );
    }

    #[test]
    fn text_of_an_index_lists_its_manifests() {
        let r = PushReport {
            reference: "reg.example/app:1".into(),
            digest: D1.into(),
            blobs: vec![BlobReport {
                digest: D2.into(),
                size: 2048,
                uploaded: true,
            }],
            manifests: vec![
                ManifestReport {
                    platform: "linux/amd64".into(),
                    digest: D2.into(),
                },
                ManifestReport {
                    platform: "linux/arm64/v8".into(),
                    digest: D3.into(),
                },
            ],
            referrers: Vec::new(),
        };
        assert_eq!(
            render(&r, Style::new(false)),
            format!(
                "  blob      sha256:c0bf44fa0077     2.0 KiB  uploaded\n  \
                 manifest  sha256:c0bf44fa0077  linux/amd64\n  \
                 manifest  sha256:406487c7b35f  linux/arm64/v8\n  \
                 1 of 1 blobs uploaded (2.0 KiB), 0 already there\n\
                 pushed reg.example/app@{D1}\n"
            )
        );
    }
}
