//! The text report of `binslim image`: what went into the image and why, the layer's sizes and
//! the digest (the JSON form is the [`ImageReport`] itself), or why no image was written.

use std::fmt::Write as _;

use super::{Style, human};
use crate::image::spec;
use crate::scratch::{ImageFile, ImageReport, LayerReport};
use crate::verify::Finding;

/// The text report: title, one line per file, then the layer and the digest. `output` is the
/// image's path as the user named it. A multi-platform image has one such block per platform
/// (titled with the platform and the program), then the index's digest.
pub fn render(r: &ImageReport, output: &str, style: Style) -> String {
    let mut out = String::new();
    if r.manifests.is_empty() {
        let _ = writeln!(
            out,
            "{} → {output} ({}, {})",
            style.bold(&r.reference),
            r.format,
            r.platform
        );
        block(&mut out, &r.files, &r.layers, &r.digest, "  ", style);
        sbom(&mut out, r, style);
        return out;
    }
    let _ = writeln!(
        out,
        "{} → {output} ({}, {} platforms)",
        style.bold(&r.reference),
        r.format,
        r.manifests.len()
    );
    for m in &r.manifests {
        let _ = writeln!(out, "  {} ({})", style.bold(&m.platform), m.program);
        block(&mut out, &m.files, &m.layers, &m.digest, "    ", style);
    }
    let _ = writeln!(out, "  index   {}", style.good(&r.digest));
    sbom(&mut out, r, style);
    out
}

/// The SBOM line: the artifact's type and manifest digest, and where it is.
fn sbom(out: &mut String, r: &ImageReport, style: Style) {
    let Some(s) = &r.sbom else {
        return;
    };
    let where_ = if s.in_output {
        "refers to the image"
    } else {
        "not written: an oci-archive lists one manifest (podman load); --format oci-dir or --push keep it"
    };
    let _ = writeln!(
        out,
        "  sbom    {} {} ({}), {}",
        s.artifact_type,
        style.dim(&s.digest),
        human(s.size),
        where_
    );
}

/// One image's lines: its files, its layers and its manifest digest, each indented by
/// `indent`.
fn block(
    out: &mut String,
    files: &[ImageFile],
    layers: &[LayerReport],
    digest: &str,
    indent: &str,
    style: Style,
) {
    let width = files
        .iter()
        .map(|f| f.path.len())
        .max()
        .unwrap_or(0)
        .max(20);
    for f in files {
        let size = if f.size == 0 {
            "-".to_string()
        } else {
            human(f.size)
        };
        let _ = writeln!(
            out,
            "{indent}{:<width$}  {:>10}  {}  {}",
            f.path,
            size,
            f.mode,
            style.dim(&f.why)
        );
    }
    for l in layers {
        let _ = writeln!(
            out,
            "{indent}layer   {} uncompressed, {} {} ({} bytes, what a registry stores)",
            human(l.uncompressed_size),
            human(l.size),
            if l.media_type == spec::MEDIA_LAYER_ZSTD {
                "zstd"
            } else {
                "gzip"
            },
            l.size
        );
    }
    let _ = writeln!(out, "{indent}digest  {}", style.good(digest));
}

/// The stderr lines of a refusal ([`crate::scratch::BuildError::Refused`]): each finding
/// with its fix, then that no image was written.
pub fn refusal(program: &str, findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        let _ = writeln!(out, "binslim: {program}: {}", f.message);
        if let Some(h) = &f.hint {
            let _ = writeln!(out, "  fix: {h}");
        }
    }
    out.push_str("binslim: no image written\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_then_layer_then_digest() {
        let file = |path: &str, size, mode: &str, why: &str| ImageFile {
            path: path.into(),
            size,
            mode: mode.into(),
            why: why.into(),
        };
        let r = ImageReport {
            reference: "server:latest".into(),
            digest: "sha256:abc".into(),
            format: "docker",
            platform: "linux/amd64".into(),
            config_digest: "sha256:def".into(),
            layers: vec![LayerReport {
                digest: "sha256:123".into(),
                size: 2048,
                media_type: spec::MEDIA_LAYER_GZIP,
                diff_id: "sha256:456".into(),
                uncompressed_size: 3 << 20,
            }],
            files: vec![
                file("/server", 1_500_000, "0755", "program"),
                file("/tmp", 0, "1777", "temporary files"),
            ],
            annotations: Default::default(),
            manifests: Vec::new(),
            sbom: Some(crate::scratch::SbomReport {
                artifact_type: "application/spdx+json".into(),
                digest: "sha256:def".into(),
                document_digest: "sha256:0123".into(),
                size: 3000,
                in_output: true,
            }),
        };
        assert_eq!(
            render(&r, "out.tar", Style::default()),
            "server:latest → out.tar (docker, linux/amd64)\n\
             \x20 /server                  1.4 MiB  0755  program\n\
             \x20 /tmp                           -  1777  temporary files\n\
             \x20 layer   3.0 MiB uncompressed, 2.0 KiB gzip (2048 bytes, what a registry stores)\n\
             \x20 digest  sha256:abc\n\
             \x20 sbom    application/spdx+json sha256:def (2.9 KiB), refers to the image\n"
        );
    }

    #[test]
    fn an_index_has_a_block_per_platform_then_its_digest() {
        use crate::scratch::PlatformImage;
        let platform = |platform: &str, program: &str, digest: &str| PlatformImage {
            program: program.into(),
            platform: platform.into(),
            digest: digest.into(),
            config_digest: "sha256:c".into(),
            layers: vec![LayerReport {
                digest: "sha256:l".into(),
                size: 512,
                media_type: spec::MEDIA_LAYER_GZIP,
                diff_id: "sha256:d".into(),
                uncompressed_size: 2048,
            }],
            files: vec![ImageFile {
                path: "/app".into(),
                size: 1024,
                mode: "0755".into(),
                why: "program".into(),
            }],
            annotations: Default::default(),
        };
        let r = ImageReport {
            reference: "app:latest".into(),
            digest: "sha256:index".into(),
            format: "oci",
            platform: String::new(),
            config_digest: String::new(),
            layers: Vec::new(),
            files: Vec::new(),
            annotations: Default::default(),
            manifests: vec![
                platform("linux/amd64", "amd64/app", "sha256:a"),
                platform("linux/arm64/v8", "arm64/app", "sha256:b"),
            ],
            sbom: None,
        };
        assert_eq!(
            render(&r, "app.tar", Style::default()),
            "app:latest → app.tar (oci, 2 platforms)\n\
             \x20 linux/amd64 (amd64/app)\n\
             \x20   /app                     1.0 KiB  0755  program\n\
             \x20   layer   2.0 KiB uncompressed, 512 B gzip (512 bytes, what a registry stores)\n\
             \x20   digest  sha256:a\n\
             \x20 linux/arm64/v8 (arm64/app)\n\
             \x20   /app                     1.0 KiB  0755  program\n\
             \x20   layer   2.0 KiB uncompressed, 512 B gzip (512 bytes, what a registry stores)\n\
             \x20   digest  sha256:b\n\
             \x20 index   sha256:index\n"
        );
    }

    #[test]
    fn a_refusal_lists_each_finding_with_its_fix() {
        use crate::scratch::{BuildError, ImageOptions, prepare};
        let program =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/c-dynamic-pie");
        let dir = tempfile::tempdir().unwrap();
        let opts = ImageOptions::new(program.clone(), dir.path().join("out.tar"));
        let Err(BuildError::Refused {
            program: shown,
            findings,
        }) = prepare(&opts)
        else {
            panic!("c-dynamic-pie passed the gate without --with-libs")
        };
        assert_eq!(shown, program.display().to_string());
        let first = &findings[0];
        let text = refusal(&shown, &findings);
        assert!(
            text.starts_with(&format!(
                "binslim: {shown}: {}\n  fix: {}\n",
                first.message,
                first.hint.as_deref().unwrap()
            )),
            "{text}"
        );
        assert!(text.ends_with("\nbinslim: no image written\n"), "{text}");
    }
}
