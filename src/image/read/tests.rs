//! Hostile and well-formed archives crafted byte by byte: the merge must match what an engine
//! assembles, and every hostile form must be a clear error with nothing written outside.

use std::fs;
use std::io::{self, Read, Write};

use super::*;
use crate::image::spec::{Descriptor, ImageConfig, RootFs, RunConfig};

/// One raw tar entry; the name and link are written as given (the tar crate refuses `..`).
fn entry(name: &str, kind: u8, link: &str, data: &[u8], mode: u32) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    {
        let raw = h.as_old_mut();
        raw.name[..name.len()].copy_from_slice(name.as_bytes());
        raw.linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    h.set_entry_type(tar::EntryType::new(kind));
    h.set_size(data.len() as u64);
    h.set_mode(mode);
    h.set_cksum();
    let mut v = h.as_bytes().to_vec();
    v.extend_from_slice(data);
    v.resize(v.len().div_ceil(512) * 512, 0);
    v
}

fn file(name: &str, data: &[u8]) -> Vec<u8> {
    entry(name, b'0', "", data, 0o755)
}

fn tar_of(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut v: Vec<u8> = entries.concat();
    v.extend_from_slice(&[0; 1024]);
    v
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn config_for(layers: &[Vec<u8>], entrypoint: &str) -> ImageConfig {
    ImageConfig {
        architecture: "amd64".into(),
        os: "linux".into(),
        config: RunConfig {
            entrypoint: Some(vec![entrypoint.into()]),
            ..RunConfig::default()
        },
        rootfs: RootFs {
            diff_ids: layers.iter().map(|l| spec::digest_of(l)).collect(),
            ..RootFs::default()
        },
        ..ImageConfig::default()
    }
}

/// A docker-archive (`manifest.json`, `<hex>.json`, `<n>/layer.tar`) of uncompressed layers.
fn docker_archive(layers: &[Vec<u8>], config: &ImageConfig) -> Vec<u8> {
    docker_archive_named(layers, config, None)
}

fn docker_archive_named(layers: &[Vec<u8>], config: &ImageConfig, hex: Option<&str>) -> Vec<u8> {
    let cfg = serde_json::to_vec(config).unwrap();
    let cfg_name = format!("{}.json", hex.unwrap_or(&spec::digest_of(&cfg)[7..]));
    let names: Vec<String> = (0..layers.len())
        .map(|i| format!("{i}/layer.tar"))
        .collect();
    let manifest = serde_json::to_vec(&vec![DockerManifestEntry {
        config: cfg_name.clone(),
        repo_tags: Some(vec!["test:latest".into()]),
        layers: names.clone(),
    }])
    .unwrap();
    let mut entries = Vec::new();
    for (n, l) in names.iter().zip(layers) {
        entries.push(file(n, l));
    }
    entries.push(file(&cfg_name, &cfg));
    entries.push(file("manifest.json", &manifest));
    tar_of(&entries)
}

/// The descriptor of blob `data`: its media type, digest and size, no platform.
fn desc(media: &str, data: &[u8]) -> Descriptor {
    Descriptor {
        media_type: media.into(),
        digest: spec::digest_of(data),
        size: data.len() as u64,
        platform: None,
        artifact_type: None,
        annotations: Default::default(),
    }
}

/// An oci-archive of gzip layers; `tamper` may change the blobs before they are stored.
fn oci_archive(
    layers: &[Vec<u8>],
    config: &ImageConfig,
    tamper: impl Fn(&mut Vec<(String, Vec<u8>)>),
) -> Vec<u8> {
    oci_archive_as(layers, config, gzip, spec::MEDIA_LAYER_GZIP, tamper)
}

fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(data, 3).unwrap()
}

/// [`oci_archive`] with the layers compressed by `compress`, under `media`.
fn oci_archive_as(
    layers: &[Vec<u8>],
    config: &ImageConfig,
    compress: fn(&[u8]) -> Vec<u8>,
    media: &str,
    tamper: impl Fn(&mut Vec<(String, Vec<u8>)>),
) -> Vec<u8> {
    let gz: Vec<Vec<u8>> = layers.iter().map(|l| compress(l)).collect();
    let cfg = serde_json::to_vec(config).unwrap();
    let manifest = serde_json::to_vec(&Manifest {
        schema_version: 2,
        media_type: Some(spec::MEDIA_MANIFEST.into()),
        config: desc(spec::MEDIA_CONFIG, &cfg),
        layers: gz.iter().map(|g| desc(media, g)).collect(),
        annotations: Default::default(),
        artifact_type: None,
        subject: None,
    })
    .unwrap();
    let index = serde_json::to_vec(&Index {
        schema_version: 2,
        media_type: Some(spec::MEDIA_INDEX.into()),
        manifests: vec![desc(spec::MEDIA_MANIFEST, &manifest)],
        annotations: Default::default(),
    })
    .unwrap();
    let mut blobs: Vec<(String, Vec<u8>)> = Vec::new();
    for b in gz.iter().chain([&cfg, &manifest]) {
        blobs.push((blob_name(&spec::digest_of(b)).unwrap(), b.clone()));
    }
    tamper(&mut blobs);
    let mut entries = vec![file("oci-layout", spec::OCI_LAYOUT.as_bytes())];
    for (n, b) in &blobs {
        entries.push(file(n, b));
    }
    entries.push(file("index.json", &index));
    tar_of(&entries)
}

/// [`Limits`] with the full digest check of uncompressed layers (`--verify-digests`).
const VERIFY_DIGESTS: Limits = Limits {
    max_json: 4 << 20,
    max_entries: 4_000_000,
    max_layers: 512,
    max_uncompressed: 64 << 30,
    max_ratio: 200,
    max_stream: 64 << 30,
    verify_digests: true,
};

fn read(archive: &[u8]) -> Result<MergedImage, ReadError> {
    read_with(archive, &Limits::default())
}

fn read_with(archive: &[u8], limits: &Limits) -> Result<MergedImage, ReadError> {
    let mut v = read_tar_bytes(archive, limits)?;
    assert_eq!(v.len(), 1);
    Ok(v.remove(0))
}

fn err_of(archive: &[u8]) -> String {
    read(archive).unwrap_err().to_string()
}

fn one_layer(entries: &[Vec<u8>]) -> Vec<u8> {
    let l = tar_of(entries);
    docker_archive(
        std::slice::from_ref(&l),
        &config_for(std::slice::from_ref(&l), "/app"),
    )
}

const ELF: &[u8] = b"\x7fELF\x02\x01\x01\0rest-of-an-elf";

/// The same merge whether an uncompressed layer is read by seeking (the default) or in full.
#[test]
fn layers_merge_as_an_engine_merges_them() {
    merges_as_an_engine_merges(&Limits::default());
    merges_as_an_engine_merges(&VERIFY_DIGESTS);
}

fn merges_as_an_engine_merges(limits: &Limits) {
    let lower = tar_of(&[
        entry("lib/", b'5', "", b"", 0o755),
        file("lib/libc.so.6", ELF),
        file("lib/libm.so.6", ELF),
        entry("opt/", b'5', "", b"", 0o755),
        file("opt/old", b"old"),
        file("etc/passwd", b"root:x:0:0::/:/sbin/nologin\n"),
        file("usr/share/big.txt", &[b'x'; 5000]),
        entry("lib64", b'2', "", b"", 0o777),
    ]);
    let mut lower = lower;
    // Fix the symlink: lib64 -> /lib (a root-absolute target, resolved inside the root).
    lower.truncate(lower.len() - 1024 - 512);
    lower.extend(entry("lib64", b'2', "/lib", b"", 0o777));
    lower.extend_from_slice(&[0; 1024]);
    let upper = tar_of(&[
        file("lib/.wh.libm.so.6", b""),
        file("opt/.wh..wh..opq", b""),
        file("opt/new", b"new"),
        entry("app", b'1', "lib/libc.so.6", b"", 0),
        // Through the symlink: lands in /lib.
        file("lib64/ld.so", ELF),
    ]);
    let layers = [lower, upper];
    let img = read_with(
        &docker_archive(&layers, &config_for(&layers, "/app")),
        limits,
    )
    .unwrap();
    let r = img.root();
    assert_eq!(img.content("/lib/libc.so.6").unwrap(), ELF);
    assert_eq!(img.content("/lib/libm.so.6"), None);
    assert!(!r.join("opt/old").exists());
    // An uncompressed layer's files are ghosts (nothing on disk) until a check reaches them.
    assert!(!r.join("opt/new").exists());
    assert_eq!(img.content("/opt/new").unwrap(), b"new");
    assert_eq!(img.content("/app").unwrap(), ELF);
    assert_eq!(img.content("/lib/ld.so").unwrap(), ELF);
    assert_eq!(img.content("/lib64/ld.so").unwrap(), ELF);
    assert!(!r.join("lib/.wh.libm.so.6").exists());
    // /etc is kept whole; other files are not made (nor read) while the layers stream by.
    assert_eq!(
        fs::read(r.join("etc/passwd")).unwrap(),
        b"root:x:0:0::/:/sbin/nologin\n"
    );
    assert!(!r.join("usr/share/big.txt").exists());
    // Found by locate, a file gets its content.
    let (_, host) = img.locate_ok("/usr/share/big.txt");
    assert_eq!(fs::read(host.unwrap()).unwrap(), vec![b'x'; 5000]);
    assert_eq!((img.layers, img.entries), (2, 13));
    assert_eq!(img.entrypoint(), Some("/app"));
    assert_eq!(img.reference.as_deref(), Some("test:latest"));
    assert_eq!(img.platform, "linux/amd64");
}

#[test]
fn oci_archives_with_gzip_layers() {
    let l = tar_of(&[file("server", ELF)]);
    let cfg = config_for(std::slice::from_ref(&l), "server");
    let img = read(&oci_archive(std::slice::from_ref(&l), &cfg, |_| {})).unwrap();
    let (path, host) = img.locate_ok("server");
    assert_eq!(path, "server"); // not in PATH (no /usr/bin/server)
    assert!(host.is_none());
    let (path, host) = img.locate_ok("/server");
    assert_eq!(
        (path.as_str(), host),
        ("/server", Some(img.root().join("server")))
    );
}

#[test]
fn paths_that_climb_out_are_refused() {
    let e = err_of(&one_layer(&[file("../../escaped", ELF)]));
    assert_eq!(
        e,
        "layer 1 (sha256:".to_string()
            + &e[16..80]
            + "): entry '../../escaped': a path with '..', which would leave the image root"
    );
    let e = err_of(&one_layer(&[file("a/../../b", ELF)]));
    assert!(
        e.ends_with("a path with '..', which would leave the image root"),
        "{e}"
    );
}

#[test]
fn absolute_paths_and_links_stay_inside_the_root() {
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().to_str().unwrap().to_string();
    let img = read(&one_layer(&[
        file("/abs", ELF),
        entry("up", b'2', "../../../../../../..", b"", 0o777),
        file("up/x", b"x"),
        entry("host", b'2', &target, b"", 0o777),
        file("host/escaped", b"x"),
    ]))
    .unwrap();
    let r = img.root();
    assert_eq!(img.content("/abs").unwrap(), ELF);
    assert_eq!(img.content("/x").unwrap(), b"x");
    assert_eq!(img.content("/up/x").unwrap(), b"x");
    assert_eq!(img.content("/host/escaped").unwrap(), b"x");
    // The absolute link is followed inside the root: the host directory stays empty.
    assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
    let inside = r.join(target.trim_start_matches('/')).join("escaped");
    assert!(inside.is_file(), "{}", inside.display());
}

#[test]
fn looping_links_and_bad_hard_links_are_errors() {
    let e = err_of(&one_layer(&[
        entry("a", b'2', "b", b"", 0o777),
        entry("b", b'2', "a", b"", 0o777),
        file("a/x", b""),
    ]));
    assert!(
        e.ends_with("entry 'a/x': its directory is a symlink loop"),
        "{e}"
    );
    let e = err_of(&one_layer(&[entry("h", b'1', "../../etc/passwd", b"", 0)]));
    assert!(
        e.ends_with("entry 'h': a hard link that leaves the image root"),
        "{e}"
    );
    // A hard link to a file that comes later (or never).
    let e = err_of(&one_layer(&[
        entry("h", b'1', "later", b"", 0),
        file("later", b"x"),
    ]));
    assert!(
        e.ends_with("entry 'h': a hard link to 'later', which no earlier entry created"),
        "{e}"
    );
    // A hard link to a host file through an absolute path is looked up inside the root only.
    let e = err_of(&one_layer(&[entry("h", b'1', "/etc/hostname", b"", 0)]));
    assert!(e.contains("which no earlier entry created"), "{e}");
}

#[test]
fn huge_sizes_and_truncation_are_errors_not_allocations() {
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..3].copy_from_slice(b"big");
    h.set_size(1 << 50);
    h.set_cksum();
    let mut layer = h.as_bytes().to_vec();
    layer.extend_from_slice(&[1; 512]);
    let e = err_of(&docker_archive(
        std::slice::from_ref(&layer),
        &config_for(std::slice::from_ref(&layer), "/big"),
    ));
    assert!(
        e.contains("entry 'big'") && e.contains("the tar stream ends inside an entry"),
        "{e}"
    );
    // The outer archive itself cut short.
    let good = one_layer(&[file("app", ELF)]);
    let e = err_of(&good[..good.len() - 1100]);
    assert!(e.contains("not a tar archive") || e.contains("ends"), "{e}");
}

/// Reads `archive` with a budget of 1 MiB decompressed: it must stop with the budget's
/// message. Returns that budget.
fn stops_at_one_mib(archive: &[u8]) -> Limits {
    let limits = Limits {
        max_uncompressed: 1 << 20,
        ..Limits::default()
    };
    let err = read_with(archive, &limits).unwrap_err();
    assert!(matches!(err, ReadError::Limit(_)), "{err}");
    assert!(
        err.to_string().contains(
            "the layer decompresses to more than 1048576 bytes: refusing to read further"
        ),
        "{err}"
    );
    limits
}

#[test]
fn gzip_bombs_stop_at_the_limit() {
    let zeros = tar_of(&[file("zeros", &vec![0u8; 4 << 20])]);
    let cfg = config_for(std::slice::from_ref(&zeros), "/zeros");
    let archive = oci_archive(std::slice::from_ref(&zeros), &cfg, |_| {});
    let limits = stops_at_one_mib(&archive);
    // An uncompressed layer read by seeking is held to the same budget, by its size.
    let big = tar_of(&[file("a", &vec![1; 2 << 20])]);
    let archive = docker_archive(
        std::slice::from_ref(&big),
        &config_for(std::slice::from_ref(&big), "/a"),
    );
    let err = read_with(&archive, &limits).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "layer 1 ({}): the layer decompresses to more than 1048576 bytes: refusing to read \
             further (a hostile or broken archive?)",
            spec::digest_of(&big)
        )
    );
    let limits = Limits {
        max_entries: 3,
        ..Limits::default()
    };
    let many = one_layer(&[
        file("a", b""),
        file("b", b""),
        file("c", b""),
        file("d", b""),
    ]);
    let err = read_with(&many, &limits).unwrap_err();
    assert!(err.to_string().contains("more than 3 files"), "{err}");
}

#[test]
fn missing_blobs_and_digest_mismatches_are_errors() {
    let l = tar_of(&[file("app", ELF)]);
    let cfg = config_for(std::slice::from_ref(&l), "/app");
    // A layer blob left out.
    let e = err_of(&oci_archive(std::slice::from_ref(&l), &cfg, |b| {
        b.remove(0);
    }));
    assert!(
        e.starts_with("the image names 'blobs/sha256/")
            && e.ends_with("which is not in it (an incomplete save?)"),
        "{e}"
    );
    // A layer blob altered where gzip does not look (the header's time): only the digest
    // catches it.
    let e = err_of(&oci_archive(std::slice::from_ref(&l), &cfg, |b| {
        b[0].1[5] ^= 1;
    }));
    assert!(e.contains("the archive is corrupt or was altered"), "{e}");
    // diff_ids that do not match the uncompressed layer: checked with verify_digests...
    let mut bad = cfg.clone();
    bad.rootfs.diff_ids[0] = spec::digest_of(b"other");
    let bad_archive = docker_archive(std::slice::from_ref(&l), &bad);
    let e = read_with(&bad_archive, &VERIFY_DIGESTS)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!(
            "the uncompressed layer has digest {}, but the image says {}: the archive is \
             corrupt or was altered",
            spec::digest_of(&l),
            spec::digest_of(b"other")
        )
    );
    // ... and not by default, where the layer's payload is never read.
    let img = read(&bad_archive).unwrap();
    assert_eq!(img.locate_ok("/app").0, "/app");
    assert_eq!(img.content("/app").unwrap(), ELF);
    // A gzip layer is decompressed anyway: its diff_id is checked by default.
    let e = err_of(&oci_archive(std::slice::from_ref(&l), &bad, |_| {}));
    assert_eq!(
        e,
        format!(
            "the uncompressed layer has digest {}, but the image says {}: the archive is \
             corrupt or was altered",
            spec::digest_of(&l),
            spec::digest_of(b"other")
        )
    );
    // A docker-archive config whose name is not its digest.
    let a = docker_archive_named(
        std::slice::from_ref(&l),
        &cfg,
        Some(&spec::digest_of(b"x")[7..]),
    );
    let e = err_of(&a);
    assert_eq!(
        e,
        format!(
            "{}.json has digest {}, but the image says {}: the archive is corrupt or was altered",
            &spec::digest_of(b"x")[7..],
            spec::digest_of(&serde_json::to_vec(&cfg).unwrap()),
            spec::digest_of(b"x")
        )
    );
    // Layer count and diff_ids disagree.
    let mut two = cfg.clone();
    two.rootfs.diff_ids.push(spec::digest_of(b""));
    let e = err_of(&docker_archive(std::slice::from_ref(&l), &two));
    assert_eq!(
        e,
        "the manifest has 1 layers but the config's rootfs.diff_ids lists 2"
    );
}

#[test]
fn oversized_json_and_non_images_are_errors() {
    let l = tar_of(&[file("app", ELF)]);
    let mut cfg = config_for(std::slice::from_ref(&l), "/app");
    cfg.config.env = Some(vec!["X=".to_string() + &"y".repeat(5 << 20)]);
    let e = err_of(&docker_archive(std::slice::from_ref(&l), &cfg));
    assert!(
        e.contains("more than the 4194304 a JSON document may have"),
        "{e}"
    );
    let e = err_of(&tar_of(&[file("hello.txt", b"hi")]));
    assert_eq!(
        e,
        "holds neither index.json nor manifest.json: not a docker save, podman save or \
         oci-archive tar"
    );
    let e = err_of(&tar_of(&[file("manifest.json", b"{not json")]));
    assert!(e.starts_with("manifest.json is not valid: "), "{e}");
    assert!(matches!(read(b""), Err(ReadError::Invalid(_))));
}

#[test]
fn entrypoint_cmd_and_path_lookup() {
    let l = tar_of(&[
        file("usr/bin/tool", ELF),
        entry("srv/", b'5', "", b"", 0o755),
    ]);
    let mut cfg = config_for(std::slice::from_ref(&l), "tool");
    cfg.config.env = Some(vec!["PATH=/nope:/usr/bin".into()]);
    cfg.config.working_dir = Some("/srv".into());
    let img = read(&docker_archive(std::slice::from_ref(&l), &cfg)).unwrap();
    assert_eq!(img.entrypoint(), Some("tool"));
    let (p, h) = img.locate_ok("tool");
    assert_eq!((p.as_str(), h.is_some()), ("/usr/bin/tool", true));
    let (p, h) = img.locate_ok("../usr/bin/tool");
    assert_eq!((p.as_str(), h.is_some()), ("/srv/../usr/bin/tool", true));
    assert_eq!(img.env("PATH"), Some("/nope:/usr/bin"));
}

impl MergedImage {
    /// The content at an in-image path, as a check would see it (ghosts made on the way).
    fn content(&self, p: &str) -> Option<Vec<u8>> {
        self.resolve(p).unwrap().map(|h| fs::read(h).unwrap())
    }

    fn locate_ok(&self, p: &str) -> (String, Option<std::path::PathBuf>) {
        self.locate(p).unwrap()
    }
}

#[test]
fn elf_content_of_uncompressed_layers_is_copied_when_a_check_needs_it() {
    let mut big = ELF.to_vec();
    big.extend((0..3000u32).map(|i| (i % 251) as u8 + 1));
    let l = tar_of(&[
        file("app", &big),
        file("lib/libunrelated.so", &big),
        entry("app2", b'1', "app", b"", 0),
    ]);
    let cfg = config_for(std::slice::from_ref(&l), "/app2");
    let img = read(&docker_archive(std::slice::from_ref(&l), &cfg)).unwrap();
    let r = img.root();
    // Not made while the layer streamed by.
    assert!(!r.join("app").exists() && !r.join("app2").exists());
    let (path, host) = img.locate_ok("/app2");
    assert_eq!(path, "/app2");
    assert_eq!(host, Some(r.join("app2")));
    assert_eq!(fs::read(r.join("app2")).unwrap(), big);
    assert!(!r.join("lib/libunrelated.so").exists());
    // A gzip layer streams by once: its ELF files go to the spool, and are made from there.
    let img = read(&oci_archive(std::slice::from_ref(&l), &cfg, |_| {})).unwrap();
    assert!(!img.root().join("lib/libunrelated.so").exists());
    assert_eq!(img.content("/lib/libunrelated.so").unwrap(), big);
    assert_eq!(img.content("/app2").unwrap(), big);
    assert_eq!(img.content("/app").unwrap(), big);
}

#[test]
fn an_index_of_two_platforms_gives_each_or_the_one_asked_for() {
    let archive = index_archive(&[("amd64", None), ("arm64", Some("v8"))], |manifests| {
        for (d, arch) in manifests.iter_mut().zip(["amd64", "arm64"]) {
            d.platform = Some(spec::PlatformSpec {
                architecture: arch.into(),
                os: "linux".into(),
                variant: None,
            });
        }
        // An attestation manifest rides along; it is not an image to check.
        let mut att = manifests[0].clone();
        att.platform = Some(spec::PlatformSpec {
            architecture: "unknown".into(),
            os: "unknown".into(),
            variant: None,
        });
        manifests.push(att);
    });
    let open = |p: Option<&str>| {
        let store = Store::spool(&mut &archive[..], &Limits::default()).unwrap();
        read_store(Arc::new(store), p, &Limits::default())
    };
    let all: Vec<String> = open(None)
        .unwrap()
        .into_iter()
        .map(|i| i.platform)
        .collect();
    assert_eq!(all, ["linux/amd64", "linux/arm64/v8"]);
    let arm = open(Some("linux/arm64")).unwrap();
    assert_eq!(arm.len(), 1);
    assert_eq!(arm[0].platform, "linux/arm64/v8");
    assert_eq!(
        open(Some("linux/riscv64")).unwrap_err().to_string(),
        "has no linux/riscv64 image (it has linux/amd64, linux/arm64/v8)"
    );
}

#[test]
fn docker_archive_layer_names_may_be_links_inside_the_archive() {
    let l = tar_of(&[file("app", ELF)]);
    let cfg = config_for(std::slice::from_ref(&l), "/app");
    let cfg_b = serde_json::to_vec(&cfg).unwrap();
    let cfg_name = format!("{}.json", &spec::digest_of(&cfg_b)[7..]);
    let manifest = format!(r#"[{{"Config":"{cfg_name}","Layers":["id/layer.tar"]}}]"#);
    let archive = tar_of(&[
        file("blob.tar", &l),
        entry("id/layer.tar", b'2', "../blob.tar", b"", 0o777),
        file(&cfg_name, &cfg_b),
        file("manifest.json", manifest.as_bytes()),
    ]);
    assert_eq!(read(&archive).unwrap().content("/app").unwrap(), ELF);
    // A link that climbs out of the archive names nothing.
    let archive = tar_of(&[
        entry("id/layer.tar", b'2', "../../blob.tar", b"", 0o777),
        file(&cfg_name, &cfg_b),
        file("manifest.json", manifest.as_bytes()),
    ]);
    assert_eq!(
        err_of(&archive),
        "the image names 'id/layer.tar', which is not in it (an incomplete save?)"
    );
}

/// Files verify looks for by path are made before a check even when they are ghosts reached
/// through a symlink (a CA bundle linked into /usr/share, as Fedora lays it out), and files no
/// check reaches are never made.
#[test]
fn runtime_files_behind_symlinks_are_made_for_the_checks() {
    let img = read(&one_layer(&[
        file("app", ELF),
        entry(
            "etc/ssl/certs/ca-certificates.crt",
            b'2',
            "/usr/share/pki/tls/ca-bundle.crt",
            b"",
            0o777,
        ),
        file(
            "usr/share/pki/tls/ca-bundle.crt",
            b"-----BEGIN CERTIFICATE-----\n",
        ),
        file("usr/share/doc/unread.txt", b"never made"),
    ]))
    .unwrap();
    let r = img.root().to_path_buf();
    assert_eq!(
        crate::resolve::resolve_in_root(&r, "/etc/ssl/certs/ca-certificates.crt"),
        None
    );
    img.locate_ok("/app");
    let bundle = crate::resolve::resolve_in_root(&r, "/etc/ssl/certs/ca-certificates.crt");
    assert_eq!(
        fs::read(bundle.expect("made by locate")).unwrap(),
        b"-----BEGIN CERTIFICATE-----\n"
    );
    assert!(!r.join("usr/share/doc/unread.txt").exists());
}

/// A directory replaced by a symlink within one layer: later entries under it follow the link
/// (the resolved-directory cache is dropped when an entry is replaced).
#[test]
fn a_directory_replaced_by_a_symlink_is_followed_by_later_entries() {
    let img = read(&one_layer(&[
        entry("d/", b'5', "", b"", 0o755),
        file("d/f1", b"one"),
        entry("e/", b'5', "", b"", 0o755),
        entry("d", b'2', "/e", b"", 0o777),
        file("d/f2", b"two"),
        file("app", ELF),
    ]))
    .unwrap();
    let r = img.root();
    assert!(
        fs::symlink_metadata(r.join("d"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(img.content("/e/f2").unwrap(), b"two");
    assert_eq!(img.content("/d/f2").unwrap(), b"two");
    assert_eq!(img.content("/d/f1"), None);
}

#[test]
fn typed_errors_keep_their_messages() {
    // A directory that is not a layout.
    let dir = tempfile::tempdir().unwrap();
    let e = read_image(
        &ImageSource::Path(dir.path().to_path_buf()),
        None,
        &Limits::default(),
    )
    .unwrap_err();
    assert!(matches!(e, ReadError::NotLayout), "{e:?}");
    assert_eq!(
        e.to_string(),
        "is a directory without index.json: not an OCI image layout"
    );
    // An index that names no manifest, and one that names a config as a manifest.
    let index = |manifests: Vec<Descriptor>| {
        let index = serde_json::to_vec(&Index {
            schema_version: 2,
            media_type: Some(spec::MEDIA_INDEX.into()),
            manifests,
            annotations: Default::default(),
        })
        .unwrap();
        tar_of(&[file("index.json", &index)])
    };
    let e = read(&index(vec![])).unwrap_err();
    assert!(matches!(e, ReadError::NoImage), "{e:?}");
    assert_eq!(e.to_string(), "names no image");
    let e = read(&index(vec![desc(spec::MEDIA_CONFIG, b"{}")])).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "index.json names a {}, which is not an image manifest",
            spec::MEDIA_CONFIG
        )
    );
    // A JSON document that does not parse keeps serde's error as its source.
    let e = read(&tar_of(&[file("index.json", b"[")])).unwrap_err();
    assert!(matches!(&e, ReadError::Json { name, .. } if name == "index.json"));
    let cause = std::error::Error::source(&e).unwrap().to_string();
    assert_eq!(e.to_string(), format!("index.json is not valid: {cause}"));
}

/// The header's mode, owner and kind of each merged entry, kept through later layers,
/// whiteouts and opaque directories; the directories searched on the way to a path.
#[test]
fn entry_metadata_follows_the_merge() {
    let owned = |name: &str, kind: u8, mode: u32, uid: u64, gid: u64| {
        let mut e = entry(name, kind, "", if kind == b'0' { ELF } else { b"" }, mode);
        let mut h = tar::Header::from_byte_slice(&e[..512]).clone();
        h.set_uid(uid);
        h.set_gid(gid);
        h.set_cksum();
        e[..512].copy_from_slice(h.as_bytes());
        e
    };
    let lower = tar_of(&[
        owned("opt/", b'5', 0o700, 0, 0),
        owned("opt/a", b'0', 0o4750, 0, 10),
        owned("opt/b", b'0', 0o755, 0, 0),
        owned("srv/", b'5', 0o755, 0, 0),
        owned("srv/old", b'0', 0o755, 0, 0),
        owned("fifo", b'6', 0o644, 0, 0),
    ]);
    let upper = tar_of(&[
        owned("opt/", b'5', 0o711, 1, 1),
        file("opt/.wh.b", b""),
        file("srv/.wh..wh..opq", b""),
        owned("srv/new", b'0', 0o700, 5, 5),
    ]);
    let layers = [lower, upper];
    let mut cfg = config_for(&layers, "");
    cfg.config.cmd = Some(vec!["/opt/a".into()]);
    let img = read(&docker_archive(&layers, &cfg)).unwrap();
    assert_eq!(img.entrypoint(), Some("/opt/a"));
    let meta = |p: &str| img.meta(&img.root().join(p));
    let m = |mode, uid, gid, kind| {
        Some(EntryMeta {
            mode,
            uid,
            gid,
            kind,
        })
    };
    assert_eq!(meta("opt"), m(0o711, 1, 1, EntryKind::Dir));
    assert_eq!(meta("opt/a"), m(0o4750, 0, 10, EntryKind::File));
    assert_eq!(meta("opt/b"), None);
    assert_eq!(meta("srv"), m(0o755, 0, 0, EntryKind::Dir));
    assert_eq!(meta("srv/old"), None);
    assert_eq!(meta("srv/new"), m(0o700, 5, 5, EntryKind::File));
    assert_eq!(meta("fifo"), m(0o644, 0, 0, EntryKind::Fifo));
    let (dirs, host) = img.searched("/opt/a").unwrap();
    assert_eq!(host, Some(img.root().join("opt/a")));
    assert_eq!(
        dirs,
        [
            ("/".to_string(), None),
            ("/opt".to_string(), m(0o711, 1, 1, EntryKind::Dir))
        ]
    );
}

/// `ENTRYPOINT [""]` resets the entrypoint: the Cmd is the command.
#[test]
fn an_empty_entrypoint_word_leaves_the_cmd() {
    let l = tar_of(&[file("app", ELF)]);
    let mut cfg = config_for(std::slice::from_ref(&l), "");
    cfg.config.cmd = Some(vec!["/app".into(), "-v".into()]);
    let img = read(&docker_archive(std::slice::from_ref(&l), &cfg)).unwrap();
    assert_eq!(img.command(), ["/app", "-v"]);
    assert_eq!(img.entrypoint(), Some("/app"));
}

/// A reader that yields `pattern` over and over, counting what it gave, and ends with an error
/// after 64 MiB (so an unbounded copy fails the test instead of hanging it).
struct Endless {
    pattern: &'static [u8],
    given: u64,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.given > 64 << 20 {
            return Err(io::Error::other("read 64 MiB of an endless stream"));
        }
        for (i, b) in buf.iter_mut().enumerate() {
            *b = self.pattern[(self.given as usize + i) % self.pattern.len()];
        }
        self.given += buf.len() as u64;
        Ok(buf.len())
    }
}

/// `yes | binslim verify --image -` and `--image /dev/zero`: a stream fails (or ends) at its
/// first block instead of being copied without end.
#[test]
fn an_endless_stream_stops_at_its_first_block() {
    let mut yes = Endless {
        pattern: b"y\n",
        given: 0,
    };
    let e = archive::Store::spool(&mut yes, &Limits::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "not a tar archive: bad tar header at byte 0: bad checksum field"
    );
    assert!(yes.given <= 64 << 10, "read {} bytes", yes.given);
    let mut zero = Endless {
        pattern: b"\0",
        given: 0,
    };
    let store = archive::Store::spool(&mut zero, &Limits::default()).unwrap();
    assert!(!store.has("manifest.json"));
    // The end-of-archive block, and at most 1 MiB after it (dropped, not copied).
    assert!(
        zero.given <= (1 << 20) + (64 << 10),
        "read {} bytes",
        zero.given
    );
}

/// A tar on a stream is held to the limits of a tar file: the same entry limit with the same
/// message, and no more than `max_stream` bytes copied.
#[test]
fn a_stream_is_bounded_like_a_file() {
    let archive = one_layer(&[file("app", ELF)]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.tar");
    fs::write(&path, &archive).unwrap();
    let tight = Limits {
        max_entries: 2,
        ..Limits::default()
    };
    let from_file = read_image(&ImageSource::Path(path), None, &tight).unwrap_err();
    let from_stream = read_tar_bytes(&archive, &tight).unwrap_err();
    assert_eq!(
        from_file.to_string(),
        "more than 2 entries in the archive: refusing to read further (a hostile or broken \
         archive?)"
    );
    assert_eq!(from_stream.to_string(), from_file.to_string());
    let small = Limits {
        max_stream: 2048,
        ..Limits::default()
    };
    let e = read_tar_bytes(&archive, &small).unwrap_err();
    assert!(matches!(e, ReadError::Limit(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        "the archive on the stream is more than 2048 bytes: refusing to read further (a hostile \
         or broken archive?)"
    );
    // An entry claiming more bytes than the stream holds: the error a truncated file gives.
    let mut big = entry("blob", b'0', "", b"", 0o644);
    big[124..136].copy_from_slice(b"77777777777\0");
    let mut h = tar::Header::from_byte_slice(&big[..512]).clone();
    h.set_cksum();
    big[..512].copy_from_slice(h.as_bytes());
    let e = read_tar_bytes(&big, &Limits::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "not a tar archive: an entry runs past the end of the archive"
    );
}

/// An oci-archive whose index holds one image per `(architecture, variant)`, each running the
/// same gzip layer.
fn index_of_platforms(platforms: &[(&str, Option<&str>)]) -> Vec<u8> {
    index_archive(platforms, |_| {})
}

/// [`index_of_platforms`], its index's manifest descriptors changed by `edit` before it is
/// written.
fn index_archive(
    platforms: &[(&str, Option<&str>)],
    edit: impl FnOnce(&mut Vec<Descriptor>),
) -> Vec<u8> {
    let l = tar_of(&[file("server", ELF)]);
    let gz = gzip(&l);
    let mut entries = vec![file("oci-layout", spec::OCI_LAYOUT.as_bytes())];
    let mut manifests = Vec::new();
    for (arch, variant) in platforms {
        let mut cfg = config_for(std::slice::from_ref(&l), "/server");
        cfg.architecture = arch.to_string();
        cfg.variant = variant.map(str::to_string);
        let cfg = serde_json::to_vec(&cfg).unwrap();
        let m = serde_json::to_vec(&Manifest {
            schema_version: 2,
            media_type: None,
            config: desc(spec::MEDIA_CONFIG, &cfg),
            layers: vec![desc(spec::MEDIA_LAYER_GZIP, &gz)],
            annotations: Default::default(),
            artifact_type: None,
            subject: None,
        })
        .unwrap();
        manifests.push(desc(spec::MEDIA_MANIFEST, &m));
        entries.push(file(&blob_name(&spec::digest_of(&cfg)).unwrap(), &cfg));
        entries.push(file(&blob_name(&spec::digest_of(&m)).unwrap(), &m));
    }
    edit(&mut manifests);
    entries.push(file(&blob_name(&spec::digest_of(&gz)).unwrap(), &gz));
    let index = serde_json::to_vec(&Index {
        schema_version: 2,
        media_type: None,
        manifests,
        annotations: Default::default(),
    })
    .unwrap();
    entries.push(file("index.json", &index));
    tar_of(&entries)
}

/// The platforms `--platform want` reads from `archive`, or its error.
fn chosen(archive: &[u8], want: &str) -> Result<Vec<String>, String> {
    let store = Store::spool(&mut &archive[..], &Limits::default()).unwrap();
    read_store(Arc::new(store), Some(want), &Limits::default())
        .map(|v| v.into_iter().map(|i| i.platform).collect())
        .map_err(|e| e.to_string())
}

/// `--platform` with a variant selects as skopeo and containerd do: the same variant, else the
/// highest lower level the CPU also runs, else an image that records no variant (the baseline).
#[test]
fn a_platform_variant_selects_the_best_image_that_runs() {
    let plain = index_of_platforms(&[("amd64", None)]);
    assert_eq!(chosen(&plain, "linux/amd64/v2").unwrap(), ["linux/amd64"]);
    assert_eq!(chosen(&plain, "linux/amd64").unwrap(), ["linux/amd64"]);
    let levels = index_of_platforms(&[
        ("amd64", Some("v1")),
        ("amd64", Some("v3")),
        ("amd64", Some("v2")),
        ("arm64", Some("v8")),
    ]);
    assert_eq!(
        chosen(&levels, "linux/amd64/v2").unwrap(),
        ["linux/amd64/v2"]
    );
    assert_eq!(
        chosen(&levels, "linux/amd64/v4").unwrap(),
        ["linux/amd64/v3"]
    );
    assert_eq!(
        chosen(&levels, "linux/amd64/v1").unwrap(),
        ["linux/amd64/v1"]
    );
    // No variant asked: every variant of the architecture, as before.
    assert_eq!(
        chosen(&levels, "linux/amd64").unwrap(),
        ["linux/amd64/v1", "linux/amd64/v3", "linux/amd64/v2"]
    );
    // A variant image beats the baseline; the baseline beats nothing.
    let mixed = index_of_platforms(&[("amd64", None), ("amd64", Some("v3")), ("arm", Some("v7"))]);
    assert_eq!(
        chosen(&mixed, "linux/amd64/v3").unwrap(),
        ["linux/amd64/v3"]
    );
    assert_eq!(chosen(&mixed, "linux/amd64/v2").unwrap(), ["linux/amd64"]);
    assert_eq!(chosen(&mixed, "linux/arm/v8").unwrap(), ["linux/arm/v7"]);
    assert_eq!(
        chosen(&mixed, "linux/arm/v6").unwrap_err(),
        "has no linux/arm/v6 image (it has linux/amd64, linux/amd64/v3, linux/arm/v7)"
    );
    assert_eq!(
        chosen(&levels, "linux/arm64/v9").unwrap(),
        ["linux/arm64/v8"]
    );
}

/// Directories on disk below `root` (the root itself not counted).
fn dirs_on_disk(root: &std::path::Path) -> usize {
    let mut n = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                n += 1;
                stack.push(e.path());
            }
        }
    }
    n
}

/// 100,000 directories cost no 100,000 `mkdir`s: a directory is made on disk only on the way
/// to something a check reaches, and the merge (whiteouts, opaque directories, later entries)
/// is the same as when every directory was made.
#[test]
fn directories_are_made_only_where_a_check_reaches() {
    let mut entries: Vec<Vec<u8>> = (0..100_000)
        .map(|i| entry(&format!("d{}/e{i}/", i / 1000), b'5', "", b"", 0o755))
        .collect();
    entries.push(file("d7/e7001/lib.so", ELF));
    entries.push(entry("a/b/c/", b'5', "", b"", 0o755));
    entries.push(file("a/b/c/libgone.so", ELF));
    entries.push(entry("w/x/y/", b'5', "", b"", 0o755));
    entries.push(file("w/x/y/libgone2.so", ELF));
    entries.push(entry("keep/", b'5', "", b"", 0o755));
    let lower = tar_of(&entries);
    let upper = tar_of(&[
        // Hides a/'s lower content, but for a/b, which this layer declares again.
        entry("a/", b'5', "", b"", 0o755),
        file("a/.wh..wh..opq", b""),
        entry("a/b/", b'5', "", b"", 0o755),
        file(".wh.w", b""),
        // A file where a directory was: the directory and what was below it go.
        file("d9", b"now a file"),
        entry("link", b'2', "d5/e5001", b"", 0o777),
    ]);
    let layers = [lower, upper];
    let img = read(&docker_archive(&layers, &config_for(&layers, "/app"))).unwrap();
    let r = img.root();
    // On disk: only /link's parent (the root) was needed; d9 (a file) and /etc not at all.
    assert_eq!(dirs_on_disk(r), 0);
    let unmade = &img.deferred.as_ref().unwrap().files.dirs;
    // d0..d99 but d9, their e-directories, a, a/b and keep.
    assert_eq!(unmade.len(), 99 + 99_000 + 3);
    assert!(unmade.contains(&r.join("keep")) && !unmade.contains(&r.join("a/b/c")));
    // What a check reaches is made, directories on its way included.
    let (_, host) = img.locate_ok("/d7/e7001/lib.so");
    assert_eq!(fs::read(host.unwrap()).unwrap(), ELF);
    let (_, host) = img.locate_ok("/link");
    assert!(host.unwrap().is_dir());
    let (_, host) = img.locate_ok("/keep");
    assert!(host.unwrap().is_dir());
    assert_eq!(dirs_on_disk(r), 5); // d7, d7/e7001, d5, d5/e5001, keep
    assert_eq!(img.locate_ok("/a/b/c").1, None);
    assert_eq!(img.locate_ok("/a/b/c/libgone.so").1, None);
    assert!(img.locate_ok("/a/b").1.unwrap().is_dir());
    assert_eq!(img.locate_ok("/w/x/y/libgone2.so").1, None);
    assert_eq!(img.locate_ok("/w").1, None);
    assert_eq!(img.content("/d9").unwrap(), b"now a file");
    assert_eq!(img.locate_ok("/d9/e9001").1, None);
}

#[test]
fn zstd_layers_read_as_gzip_layers_do() {
    let lower = tar_of(&[file("server", ELF), file("etc/passwd", b"root:x:0:0::/:\n")]);
    let upper = tar_of(&[file("etc/.wh.passwd", b""), file("app", ELF)]);
    let layers = [lower, upper];
    let cfg = config_for(&layers, "/app");
    let same = |img: &MergedImage| {
        assert_eq!(img.content("/app").unwrap(), ELF);
        assert_eq!(img.content("/server").unwrap(), ELF);
        assert_eq!(img.content("/etc/passwd"), None);
        assert_eq!((img.layers, img.entries), (2, 4));
    };
    same(&read(&oci_archive(&layers, &cfg, |_| {})).unwrap());
    let oci = oci_archive_as(&layers, &cfg, zstd, spec::MEDIA_LAYER_ZSTD, |_| {});
    same(&read(&oci).unwrap());
    same(&read_with(&oci, &VERIFY_DIGESTS).unwrap());
    // In a docker-archive (no media type): told by the magic, checked against the diff_ids.
    let zs: Vec<Vec<u8>> = layers.iter().map(|l| zstd(l)).collect();
    same(&read(&docker_archive(&zs, &cfg)).unwrap());
    // A blob whose diff_id does not match is refused, as a gzip one is.
    let other = config_for(&[layers[1].clone(), layers[0].clone()], "/app");
    let e = err_of(&docker_archive(&zs, &other));
    assert!(e.contains("the uncompressed layer"), "{e}");
    // Several frames in one blob are one stream, as `zstd -d` reads them.
    let mut two = zstd(&layers[0][..512]);
    two.extend(zstd(&layers[0][512..]));
    let one = config_for(std::slice::from_ref(&layers[0]), "/server");
    read(&docker_archive(std::slice::from_ref(&two), &one)).unwrap();
    // And the fuzzing entry point reads them too.
    merge_layer_bytes(&zs[1], &Limits::default()).unwrap();
}

#[test]
fn zstd_bombs_stop_at_the_limit() {
    let zeros = tar_of(&[file("zeros", &vec![0u8; 4 << 20])]);
    let cfg = config_for(std::slice::from_ref(&zeros), "/zeros");
    let archive = oci_archive_as(
        std::slice::from_ref(&zeros),
        &cfg,
        zstd,
        spec::MEDIA_LAYER_ZSTD,
        |_| {},
    );
    stops_at_one_mib(&archive);
    // The ratio cap holds too: 4 MiB from a few hundred bytes, with 1 KiB per blob byte + 1 GiB
    // allowed, passes; the budget is what stops a bomb whose ratio cap is above it.
    assert!(read_with(&archive, &Limits::default()).is_ok());
}

#[test]
fn truncated_and_hostile_zstd_layers_are_errors() {
    let l = tar_of(&[file("server", ELF), file("big", &[7; 300_000])]);
    let cfg = config_for(std::slice::from_ref(&l), "/server");
    let z = zstd(&l);
    let cut = |blobs: &mut Vec<(String, Vec<u8>)>| {
        let first = &mut blobs[0].1;
        first.truncate(first.len() / 2);
    };
    // Cut short: the digest no longer matches the manifest's, which says so before reading.
    let e = err_of(&oci_archive_as(
        std::slice::from_ref(&l),
        &cfg,
        zstd,
        spec::MEDIA_LAYER_ZSTD,
        cut,
    ));
    assert!(e.contains("the blob is") || e.contains("digest"), "{e}");
    // In a docker-archive, nothing says how long the blob is: the decoder finds the end.
    let e = err_of(&docker_archive(&[z[..z.len() / 2].to_vec()], &cfg));
    assert!(e.ends_with("bad layer tar: zstd: incomplete frame"), "{e}");
    // A frame that asks for a 1 GiB window is refused before the decoder allocates it.
    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    enc.window_log(30).unwrap();
    enc.long_distance_matching(true).unwrap();
    io::Write::write_all(&mut enc, &l).unwrap();
    let big_window = enc.finish().unwrap();
    let e = err_of(&docker_archive(&[big_window], &cfg));
    assert!(
        e.ends_with(
            "zstd: the frame needs a window of 1073741824 bytes, more than the 134217728 binslim \
             decodes (Frame requires too much memory for decoding)"
        ),
        "{e}"
    );
    // Garbage after the magic.
    let mut junk = vec![0x28, 0xb5, 0x2f, 0xfd];
    junk.extend_from_slice(&[0xff; 64]);
    let e = err_of(&docker_archive(&[junk], &cfg));
    assert!(
        e.ends_with("bad layer tar: zstd: Unsupported frame parameter"),
        "{e}"
    );
}

mod links;
