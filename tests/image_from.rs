//! `binslim image --from SOURCE`: fat source images built by podman from a real root (the build
//! machine's own loader, libraries, CA bundle, zoneinfo, passwd, dash, git, and /usr/share/doc
//! for weight), slimmed by binslim, and both run under podman (the line of CONTAINERS.md) with
//! the same arguments: the same stdout and exit code is the truth. skopeo reads the result.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use common::{
    binslim, docker_archive, fixture, have_tool, podman, podman_run, raw_entry, sha256, skip,
};
use serde_json::Value;

/// The fat base image, imported once per test run: its tag (None when podman is missing).
static BASE: OnceLock<Option<String>> = OnceLock::new();

fn tools() -> bool {
    for t in ["podman", "skopeo", "runc", "cc"] {
        if !have_tool(t) {
            skip(&format!("{t} is not installed"));
            return false;
        }
    }
    true
}

/// `localhost/binslim-from-NAME:PID`.
fn tag(name: &str) -> String {
    format!("localhost/binslim-from-{name}:{}", std::process::id())
}

fn ok(out: Output, what: &str) -> Output {
    assert!(out.status.success(), "{what}: {out:?}");
    out
}

/// The base: a tar of the host's root (a subset: what the test programs and git load, the CA
/// bundle, zoneinfo, users, dash, git, /usr/share/doc) imported with `podman import`, and
/// removed when the test process exits. Older bases of earlier (killed) runs are removed.
fn base() -> &'static str {
    BASE.get_or_init(|| {
        let list = ok(
            podman()
                .args(["images", "--format", "{{.Repository}}:{{.Tag}}"])
                .output()
                .unwrap(),
            "podman images",
        );
        for old in String::from_utf8_lossy(&list.stdout).lines() {
            if old.starts_with("localhost/binslim-from-base:") {
                let _ = podman().args(["rmi", "-f", old]).output();
            }
        }
        let dir = common::tempdir();
        let lib = "usr/lib/x86_64-linux-gnu";
        let mut paths: Vec<String> = [
            "bin",
            "lib",
            "lib64",
            "usr/lib64",
            "usr/bin/dash",
            "usr/bin/sh",
            "usr/bin/git",
            "etc/ssl/certs/ca-certificates.crt",
            "usr/share/zoneinfo",
            "usr/share/doc",
            "etc/passwd",
            "etc/group",
            "etc/nsswitch.conf",
            "etc/ld.so.cache",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for e in fs::read_dir(Path::new("/").join(lib)).unwrap().flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if [
                "ld-linux",
                "libc.so",
                "libm.so",
                "libgcc_s",
                "libpcre2-8",
                "libz.so",
            ]
            .iter()
            .any(|p| n.starts_with(p))
            {
                paths.push(format!("{lib}/{n}"));
            }
        }
        let tar = dir.path().join("root.tar");
        ok(
            std::process::Command::new("tar")
                .arg("-C")
                .arg("/")
                .arg("-cf")
                .arg(&tar)
                .args(&paths)
                .output()
                .unwrap(),
            "tar of the host root",
        );
        let t = tag("base");
        ok(
            podman().arg("import").arg(&tar).arg(&t).output().unwrap(),
            "podman import",
        );
        // Removed when the test process exits, after every test thread is done with it (a
        // killed run leaves it to the next run, which removes it above).
        // SAFETY: `remove_base` is an `extern "C" fn()` that never unwinds (it ignores every
        // error) and reads only `BASE`, which is initialized by then.
        unsafe {
            libc::atexit(remove_base);
        }
        Some(t)
    })
    .as_deref()
    .unwrap()
}

/// Removes the base image at exit (registered by [`base`]).
extern "C" fn remove_base() {
    if let Some(Some(t)) = BASE.get() {
        let _ = std::panic::catch_unwind(|| podman().args(["rmi", "-f", t]).output());
    }
}

/// A source image: `FROM base`, the `files` copied in (host path, path in the image), then
/// `lines` (ENTRYPOINT, WORKDIR, USER...), built and saved to a docker-archive. Removes its
/// podman images on drop.
struct Source {
    dir: tempfile::TempDir,
    archive: PathBuf,
    tags: Vec<String>,
}

impl Drop for Source {
    fn drop(&mut self) {
        for t in &self.tags {
            let _ = podman().args(["rmi", "-f", t]).output();
        }
    }
}

impl Source {
    fn build(name: &str, files: &[(&Path, &str)], lines: &[&str]) -> Source {
        let base = base();
        let dir = common::tempdir();
        let ctx = dir.path().join("ctx");
        fs::create_dir(&ctx).unwrap();
        let mut file = format!("FROM {base}\n");
        for (i, (host, at)) in files.iter().enumerate() {
            let n = format!("f{i}");
            fs::copy(host, ctx.join(&n)).unwrap();
            file.push_str(&format!("COPY {n} {at}\n"));
        }
        for l in lines {
            file.push_str(l);
            file.push('\n');
        }
        fs::write(ctx.join("Dockerfile"), file).unwrap();
        let t = tag(&format!("src-{name}"));
        ok(
            podman()
                .args(["build", "-q", "-t", &t])
                .arg(&ctx)
                .output()
                .unwrap(),
            "podman build",
        );
        let archive = dir.path().join("source.tar");
        ok(
            podman()
                .args(["save", "--format", "docker-archive", "-o"])
                .arg(&archive)
                .arg(&t)
                .output()
                .unwrap(),
            "podman save",
        );
        Source {
            dir,
            archive,
            tags: vec![t],
        }
    }

    /// `binslim image --from SOURCE EXTRA... -o OUT --tag slim --json`: exit code, the JSON
    /// report (Null when none), stderr, and the slim image's tag (loaded into podman when
    /// written).
    fn slim(&mut self, name: &str, extra: &[&str]) -> (i32, Value, String, String) {
        let out_path = self.dir.path().join(format!("{name}.tar"));
        let t = tag(&format!("slim-{name}"));
        let out = binslim()
            .args(["image", "--from"])
            .arg(&self.archive)
            .args(extra)
            .arg("-o")
            .arg(&out_path)
            .args(["--tag", &t, "--json"])
            .output()
            .unwrap();
        let code = out.status.code().unwrap_or(-1);
        let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if code == 0 {
            ok(
                podman()
                    .arg("load")
                    .arg("-i")
                    .arg(&out_path)
                    .output()
                    .unwrap(),
                "podman load",
            );
            self.tags.push(t.clone());
            let inspect = ok(
                std::process::Command::new("skopeo")
                    .arg("inspect")
                    .arg(format!("docker-archive:{}", out_path.display()))
                    .output()
                    .unwrap(),
                "skopeo inspect",
            );
            let i: Value = serde_json::from_slice(&inspect.stdout).unwrap();
            assert!(i["Digest"].is_string(), "{i}");
        } else {
            assert!(!out_path.exists(), "a refused image must not be written");
        }
        (code, json, stderr, t)
    }

    fn source_tag(&self) -> &str {
        &self.tags[0]
    }
}

/// Runs source and slim image with `args`: same stdout and exit code.
fn same_run(src: &Source, slim: &str, args: &[&str]) -> String {
    let (a_out, a_err, a_code) = podman_run(src.source_tag(), args);
    let (b_out, b_err, b_code) = podman_run(slim, args);
    assert_eq!(
        (&b_out, b_code),
        (&a_out, a_code),
        "source stderr: {a_err}\nslim stderr: {b_err}"
    );
    a_out
}

fn files(report: &Value) -> Vec<(String, String)> {
    report["image"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["why"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn has(report: &Value, path: &str, why: &str) -> bool {
    files(report).iter().any(|(p, w)| p == path && w == why)
}

#[test]
fn static_go_from_a_fat_image() {
    if !tools() {
        return;
    }
    let mut src = Source::build(
        "go",
        &[(&fixture("go-static"), "/app/server")],
        &["ENTRYPOINT [\"/app/server\"]"],
    );
    let (code, r, err, slim) = src.slim("go", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(same_run(&src, &slim, &[]), "hello from go\n");
    assert!(has(&r, "/app/server", "program"), "{r}");
    // The same source on standard input (`--from -`) makes the same image, digest for digest.
    let out = binslim()
        .args(["image", "--from", "-", "--json", "--tag", &slim, "-o"])
        .arg(src.dir.path().join("stdin.tar"))
        .pipe_stdin(&src.archive)
        .unwrap()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let again: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(again["image"]["digest"], r["image"]["digest"]);
    assert_eq!(again["source"]["size"], r["source"]["size"]);
    // A docker-archive stores its layers as tars: stored size and unpacked size agree, and
    // they are the archive's layer files.
    let stored: u64 = skopeo_layers(&format!("docker-archive:{}", src.archive.display()));
    assert_eq!(r["source"]["size"].as_u64(), Some(stored));
    assert_eq!(r["source"]["unpacked_size"].as_u64(), Some(stored));
    assert_eq!(r["left_out"], serde_json::json!([]));
    assert_eq!(r["left_out_dirs"][0]["path"], "/usr");
    assert_eq!(r["left_out_dirs"], largest_dirs_of(&src.archive), "{r}");
    // The report's layer is the written image's layer: read the OCI form with skopeo.
    let dir = src.dir.path().join("oci");
    let out = binslim()
        .args(["image", "--from"])
        .arg(&src.archive)
        .args(["--format", "oci-dir", "--tag", "slim:1", "--json", "-o"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Named: the layout also lists the SBOM artifact, without a name.
    let written = skopeo_layers(&format!("oci:{}:slim:1", dir.display()));
    assert_eq!(r["image"]["layers"][0]["size"].as_u64(), Some(written));
}

/// The ten largest directories (at most three levels deep) of a docker-archive, by the sizes
/// of the regular files its layers' tars hold (hard links once, as `du`), biggest first: the
/// truth for `left_out_dirs`, read with the tar crate (no layer of these sources deletes or
/// replaces a file of a lower one).
fn largest_dirs_of(archive: &Path) -> Value {
    let mut sizes = std::collections::BTreeMap::<String, u64>::new();
    let mut outer = tar::Archive::new(fs::File::open(archive).unwrap());
    for layer in outer.entries().unwrap() {
        let layer = layer.unwrap();
        if !layer.path().unwrap().to_string_lossy().ends_with(".tar") {
            continue;
        }
        let mut inner = tar::Archive::new(layer);
        for e in inner.entries().unwrap() {
            let e = e.unwrap();
            if e.header().entry_type() != tar::EntryType::Regular {
                continue;
            }
            let path = e.path().unwrap().to_string_lossy().into_owned();
            let parts: Vec<&str> = path.trim_start_matches("./").split('/').collect();
            for depth in 1..parts.len().min(4) {
                *sizes
                    .entry(format!("/{}", parts[..depth].join("/")))
                    .or_default() += e.size();
            }
        }
    }
    let mut v: Vec<(String, u64)> = sizes.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(10);
    v.into_iter()
        .map(|(path, size)| serde_json::json!({"path": path, "size": size}))
        .collect()
}

/// The layers' sizes as skopeo reads the manifest.
fn skopeo_layers(reference: &str) -> u64 {
    let out = ok(
        std::process::Command::new("skopeo")
            .args(["inspect", "--raw", reference])
            .output()
            .unwrap(),
        "skopeo inspect --raw",
    );
    let m: Value = serde_json::from_slice(&out.stdout).unwrap();
    m["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["size"].as_u64().unwrap())
        .sum()
}

#[test]
fn dynamic_rust_and_git_take_their_libraries_from_the_source() {
    if !tools() {
        return;
    }
    let mut src = Source::build(
        "rust",
        &[
            (&fixture("rust-dynamic"), "/app/rust"),
            (&fixture("go-static"), "/app/go"),
        ],
        &["ENTRYPOINT [\"/app/rust\"]"],
    );
    let (code, r, err, slim) = src.slim("rust", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(same_run(&src, &slim, &[]), "hello from rust-dynamic\n");
    assert_eq!(r["left_out"][0]["path"], "/app/go");
    // PATH names another program of the source.
    let (code, g, err, slim_go) = src.slim("rust-path", &["/app/go"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(podman_run(&slim_go, &[]).0, "hello from go\n");
    assert!(has(&g, "/app/go", "program"), "{g}");
    assert_eq!(g["left_out"][0]["path"], "/app/rust");
    assert!(
        has(&r, "/lib64/ld-linux-x86-64.so.2", "loader of /app/rust"),
        "{r}"
    );
    assert!(has(
        &r,
        "/lib/x86_64-linux-gnu/libgcc_s.so.1",
        "DT_NEEDED of /app/rust"
    ));

    let mut git = Source::build(
        "git",
        &[],
        &["ENTRYPOINT [\"/usr/bin/git\"]", "CMD [\"--version\"]"],
    );
    let (code, r, err, slim) = git.slim("git", &[]);
    assert_eq!(code, 0, "{err}");
    let out = same_run(&git, &slim, &[]);
    assert!(out.starts_with("git version "), "{out}");
    for lib in ["libpcre2-8.so.0", "libz.so.1", "libc.so.6"] {
        let p = format!("/lib/x86_64-linux-gnu/{lib}");
        assert!(has(&r, &p, "DT_NEEDED of /usr/bin/git"), "{lib}: {r}");
    }
}

/// A cgo Go program (dynamic: the loader and libc, found in the source as verify finds them).
#[test]
fn a_cgo_go_program_takes_the_loader_and_libc_from_the_source() {
    if !tools() {
        return;
    }
    let mut src = Source::build(
        "cgo",
        &[(&fixture("go-cgo"), "/app/cgo")],
        &["ENTRYPOINT [\"/app/cgo\"]"],
    );
    let (code, r, err, slim) = src.slim("cgo", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(same_run(&src, &slim, &[]), "hello from go-cgo\n");
    assert_eq!(
        files(&r),
        [
            ("/app/cgo", "program"),
            (
                "/etc/group",
                "the source's, reduced to root and the image's user (0:0)"
            ),
            (
                "/etc/passwd",
                "the source's, reduced to root and the image's user (0:0)"
            ),
            ("/lib/x86_64-linux-gnu/libc.so.6", "DT_NEEDED of /app/cgo"),
            ("/lib64/ld-linux-x86-64.so.2", "loader of /app/cgo"),
            ("/tmp", "temporary files"),
        ]
        .map(|(p, w)| (p.to_string(), w.to_string()))
    );
}

/// go-tls loads system roots, a time zone and looks up its user; the source runs it as
/// nobody. (Its HTTPS request goes to HOST:443, which the run line's --network=none cannot
/// reach: the request fails the same way in both images.)
#[test]
fn go_tls_time_zone_and_a_non_root_user() {
    if !tools() {
        return;
    }
    let mut src = Source::build(
        "tls",
        &[(&fixture("go-tls"), "/app/tls")],
        &["USER nobody", "ENTRYPOINT [\"/app/tls\"]"],
    );
    let (code, r, err, slim) = src.slim("tls", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        same_run(&src, &slim, &["localhost"]),
        "Europe/Berlin <nil> &{65534 65534 nobody nobody /nonexistent} <nil>\nhello from go-tls\n"
    );
    assert!(has(
        &r,
        "/etc/ssl/certs/ca-certificates.crt",
        "loads system root certificates"
    ));
    assert!(has(&r, "/usr/share/zoneinfo", "loads time zones"), "{r}");
    let users = "the source's, reduced to root and the image's user (65534:65534)";
    assert!(has(&r, "/etc/passwd", users), "{r}");
    assert!(has(&r, "/etc/group", users), "{r}");
    let inspect = ok(
        podman()
            .args(["inspect", "--format", "{{.Config.User}}", &slim])
            .output()
            .unwrap(),
        "podman inspect",
    );
    assert_eq!(String::from_utf8_lossy(&inspect.stdout), "65534:65534\n");
}

#[test]
fn a_relative_entrypoint_is_found_in_the_working_directory() {
    if !tools() {
        return;
    }
    let mut src = Source::build(
        "rel",
        &[(&fixture("go-static"), "/srv/app/server")],
        &["WORKDIR /srv/app", "ENTRYPOINT [\"./server\"]"],
    );
    let (code, r, err, slim) = src.slim("rel", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(same_run(&src, &slim, &[]), "hello from go\n");
    assert!(has(&r, "/srv/app/server", "program"), "{r}");
    assert_eq!(r["left_out"], serde_json::json!([]));
    // --upx packs the program (checked unpacked before writing); it still runs the same.
    if have_tool("upx") {
        let (code, packed, err, slim) = src.slim("rel-upx", &["--upx"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(same_run(&src, &slim, &[]), "hello from go\n");
        let size = |r: &Value| {
            r["image"]["files"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["path"] == "/srv/app/server")
                .map(|f| f["size"].as_u64().unwrap())
                .unwrap()
        };
        assert!(size(&packed) < size(&r) / 2, "{packed}");
    }
}

#[test]
fn scripts_and_interpreters_are_refused() {
    if !tools() {
        return;
    }
    let mut src = Source::build(
        "script",
        &[(&fixture("script.sh"), "/app/run.sh")],
        &["ENTRYPOINT [\"/app/run.sh\"]"],
    );
    let (code, _, err, _) = src.slim("script", &[]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with(
            "binslim: /app/run.sh: runs the interpreter /bin/sh, and what an interpreter runs"
        ),
        "{err}"
    );
    assert!(err.ends_with("binslim: no image written\n"), "{err}");
    let mut sh = Source::build(
        "shc",
        &[],
        &["ENTRYPOINT [\"/bin/sh\", \"-c\", \"echo hi\"]"],
    );
    let (code, _, err, _) = sh.slim("shc", &[]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("binslim: /bin/sh -c echo hi: runs the interpreter /bin/sh,"),
        "{err}"
    );
}

/// A program whose library the source lacks cannot start from it: refused, exit 1, the reason
/// named with the source's paths (not binslim's temporary ones), nothing written.
#[test]
fn a_program_that_cannot_start_from_the_source_is_refused() {
    if !tools() {
        return;
    }
    let mut src = Source::build(
        "nolib",
        &[(&fixture("c-rpath"), "/app/x")],
        &["ENTRYPOINT [\"/app/x\"]"],
    );
    let (code, r, err, _) = src.slim("nolib", &[]);
    assert_eq!(code, 1);
    assert_eq!(r, Value::Null);
    assert_eq!(
        err,
        "binslim: /app/x: needs libgreet.so (for x), which is not found in the source image\n  \
         fix: COPY libgreet.so into a library directory of the image, or link statically: gcc \
         -static (or -static-pie)\nbinslim: no image written\n"
    );
}

/// A program that prints the template beside it: left out (listed exactly) unless kept.
#[test]
fn left_out_lists_the_templates_and_keep_brings_them() {
    if !tools() {
        return;
    }
    let dir = common::tempdir();
    let c = dir.path().join("reader.c");
    fs::write(
        &c,
        r#"#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(void) {
    char p[4096]; ssize_t n = readlink("/proc/self/exe", p, sizeof p - 64);
    if (n < 0) return 2;
    p[n] = 0; strcpy(strrchr(p, '/'), "/templates/hello.txt");
    FILE *f = fopen(p, "r"); if (!f) { printf("no template\n"); return 1; }
    char b[256]; size_t k = fread(b, 1, sizeof b, f); fwrite(b, 1, k, stdout); return 0;
}
"#,
    )
    .unwrap();
    let prog = dir.path().join("reader");
    ok(
        std::process::Command::new("cc")
            .arg("-o")
            .arg(&prog)
            .arg(&c)
            .output()
            .unwrap(),
        "cc",
    );
    let hello = dir.path().join("hello.txt");
    fs::write(&hello, "hello from a template\n").unwrap();
    let other = dir.path().join("other.txt");
    fs::write(&other, "x".repeat(1000)).unwrap();
    let mut src = Source::build(
        "tmpl",
        &[
            (&prog, "/app/reader"),
            (&hello, "/app/templates/hello.txt"),
            (&other, "/app/templates/other.txt"),
            (&other, "/app/config.yml"),
        ],
        &["ENTRYPOINT [\"/app/reader\"]"],
    );
    let (code, r, err, slim) = src.slim("tmpl", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        r["left_out"],
        serde_json::json!([
            {"path": "/app/config.yml", "size": 1000},
            {"path": "/app/templates/hello.txt", "size": 22},
            {"path": "/app/templates/other.txt", "size": 1000},
        ])
    );
    assert_eq!(podman_run(&slim, &[]).2, 1, "without its template");
    // The text report says the same, with the hint.
    let out = binslim()
        .args(["image", "--from"])
        .arg(&src.archive)
        .arg("-o")
        .arg(src.dir.path().join("text.tar"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            [
                "left out beside the program (3 files; --keep PATH to keep one):",
                "      1000 B  /app/config.yml",
                "        22 B  /app/templates/hello.txt",
                "      1000 B  /app/templates/other.txt",
                "largest directories of the source (left out):",
            ]
            .join("\n")
            .as_str()
        ),
        "{text}"
    );
    let from_line = format!("from {}: ", src.archive.display());
    assert!(text.contains(&from_line), "{text}");
    let (code, r, err, slim) = src.slim("tmpl-keep", &["--keep", "/app/templates/*"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(same_run(&src, &slim, &[]), "hello from a template\n");
    assert!(
        has(&r, "/app/templates/hello.txt", "--keep /app/templates/*"),
        "{r}"
    );
    assert_eq!(
        r["left_out"],
        serde_json::json!([{"path": "/app/config.yml", "size": 1000}])
    );
}

/// Hostile sources are refused as verify --image refuses them: exit 2, its message, nothing
/// written.
#[test]
fn hostile_sources_are_refused_as_verify_does() {
    let dir = common::tempdir();
    let out = dir.path().join("out.tar");
    let archive = |name: &str, layer: &[u8]| {
        let diff = sha256(layer);
        let cfg = format!(
            r#"{{"architecture":"amd64","os":"linux","config":{{"Entrypoint":["/x"]}},"rootfs":{{"type":"layers","diff_ids":["sha256:{diff}"]}}}}"#
        );
        let tar = dir.path().join(name);
        fs::write(&tar, docker_archive(layer, &cfg)).unwrap();
        tar
    };
    let run = |tar: &Path| {
        let from = binslim()
            .args(["image", "--from"])
            .arg(tar)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        let verify = binslim()
            .args(["verify", "--image"])
            .arg(tar)
            .output()
            .unwrap();
        (from, verify)
    };
    // A path that climbs out of the root.
    let mut layer = raw_entry("../../../../../../../../tmp/binslim-from-escaped", b"x");
    layer.extend_from_slice(&[0; 1024]);
    let (from, verify) = run(&archive("escape.tar", &layer));
    assert_eq!(from.status.code(), Some(2), "{from:?}");
    assert_eq!(verify.status.code(), Some(2), "{verify:?}");
    assert_eq!(
        String::from_utf8_lossy(&from.stderr),
        format!(
            "{}binslim: no image written\n",
            String::from_utf8_lossy(&verify.stderr)
        )
    );
    assert!(!Path::new("/tmp/binslim-from-escaped").exists());
    // A link loop at the entrypoint.
    let mut layer = Vec::new();
    for (at, to) in [("x", "y"), ("y", "x")] {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_path(at).unwrap();
        h.set_link_name(to).unwrap();
        h.set_size(0);
        h.set_mode(0o777);
        h.set_cksum();
        layer.extend_from_slice(h.as_bytes());
    }
    layer.extend_from_slice(&[0; 1024]);
    let (from, verify) = run(&archive("loop.tar", &layer));
    assert_ne!(from.status.code(), Some(0), "{from:?}");
    assert_ne!(verify.status.code(), Some(0), "{verify:?}");
    assert!(!out.exists());
    // A layer the manifest names but the archive lacks.
    let cfg = r#"{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["sha256:00"]}}"#;
    let cfg_hex = sha256(cfg.as_bytes());
    let manifest = format!(r#"[{{"Config":"{cfg_hex}.json","Layers":["l/layer.tar"]}}]"#);
    let mut tar = raw_entry(&format!("{cfg_hex}.json"), cfg.as_bytes());
    tar.extend(raw_entry("manifest.json", manifest.as_bytes()));
    tar.extend_from_slice(&[0; 1024]);
    let missing = dir.path().join("missing.tar");
    fs::write(&missing, tar).unwrap();
    let (from, verify) = run(&missing);
    assert_eq!(from.status.code(), Some(2), "{from:?}");
    assert_eq!(verify.status.code(), Some(2), "{verify:?}");
    assert!(!out.exists());
}

/// `--from docker://REF`: the source pulled from a real registry (plain HTTP on loopback,
/// --insecure). Its stored size is the registry's gzip layers; its unpacked size the tars.
#[test]
fn a_source_in_a_registry() {
    if !tools() || !have_tool("docker-registry") {
        skip("docker-registry is not installed");
        return;
    }
    let Some(reg) = common::registry::Registry::start(common::registry::Kind::Plain) else {
        skip("docker-registry did not start");
        return;
    };
    let mut src = Source::build(
        "reg",
        &[(&fixture("go-static"), "/app/server")],
        &["ENTRYPOINT [\"/app/server\"]"],
    );
    let mut args = vec!["copy".to_string()];
    args.extend(reg.skopeo_args("dest-"));
    args.push(format!("docker-archive:{}", src.archive.display()));
    args.push(reg.docker_ref("from/go:1"));
    ok(
        std::process::Command::new("skopeo")
            .args(&args)
            .output()
            .unwrap(),
        "skopeo copy",
    );
    let docker = reg.docker_ref("from/go:1");
    let mut raw = vec!["inspect".to_string(), "--raw".into()];
    raw.extend(reg.skopeo_args(""));
    raw.push(docker.clone());
    let out = ok(
        std::process::Command::new("skopeo")
            .args(&raw)
            .output()
            .unwrap(),
        "skopeo inspect",
    );
    let m: Value = serde_json::from_slice(&out.stdout).unwrap();
    let stored: u64 = m["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["size"].as_u64().unwrap())
        .sum();
    let tars = skopeo_layers(&format!("docker-archive:{}", src.archive.display()));
    src.archive = PathBuf::from(&docker);
    let (code, r, err, slim) = src.slim("reg", &["--insecure"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(r["source"]["ref"].as_str(), Some(docker.as_str()));
    assert_eq!(r["source"]["size"].as_u64(), Some(stored));
    assert_eq!(r["source"]["unpacked_size"].as_u64(), Some(tars));
    assert!(stored < tars);
    assert_eq!(podman_run(&slim, &[]).0, "hello from go\n");
}

/// Entrypoint, Cmd, Env, WorkingDir, User, ExposedPorts and Labels carry over; the options
/// override them.
#[test]
fn the_config_carries_over_and_options_override_it() {
    if !tools() {
        return;
    }
    let mut src = Source::build(
        "cfg",
        &[(&fixture("go-static"), "/app/server")],
        &[
            "ENV GREETING=hi MODE=fat",
            "LABEL team=infra tier=web",
            "EXPOSE 8080 53/udp",
            "WORKDIR /app",
            "USER 1000:1000",
            "ENTRYPOINT [\"/app/server\", \"--flag\"]",
            "CMD [\"serve\"]",
        ],
    );
    let config = |t: &str| -> Value {
        let out = ok(
            podman().args(["inspect", t]).output().unwrap(),
            "podman inspect",
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v[0]["Config"].clone()
    };
    let (code, _, err, slim) = src.slim("cfg", &[]);
    assert_eq!(code, 0, "{err}");
    let (a, b) = (config(src.source_tag()), config(&slim));
    for k in [
        "Entrypoint",
        "Cmd",
        "WorkingDir",
        "User",
        "ExposedPorts",
        "Labels",
    ] {
        assert_eq!(b[k], a[k], "{k}");
    }
    let env: Vec<&str> = b["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        env.contains(&"GREETING=hi") && env.contains(&"MODE=fat"),
        "{env:?}"
    );
    let (code, _, err, slim) = src.slim(
        "cfg-over",
        &[
            "--user",
            "root",
            "--env",
            "MODE=slim",
            "--workdir",
            "/data",
            "--cmd",
            "run",
            "--label",
            "tier=api",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let b = config(&slim);
    assert_eq!(b["User"], "0:0");
    assert_eq!(b["WorkingDir"], "/data");
    assert_eq!(b["Cmd"], serde_json::json!(["run"]));
    assert_eq!(b["Labels"]["tier"], "api");
    assert_eq!(b["Labels"]["team"], "infra");
    let env: Vec<&str> = b["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        env.contains(&"MODE=slim") && !env.contains(&"MODE=fat"),
        "{env:?}"
    );
}

/// `skopeo inspect --config REF`: the config's `config` object.
fn skopeo_config(reference: &str) -> Value {
    let out = ok(
        std::process::Command::new("skopeo")
            .args(["inspect", "--config", reference])
            .output()
            .unwrap(),
        "skopeo inspect --config",
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["config"].clone()
}

/// A source whose Cmd names its program (no Entrypoint) keeps that shape, so arguments given
/// to `podman run` replace the whole command in both; its StopSignal carries over, and
/// `--stop-signal` overrides it.
#[test]
fn the_cmd_shape_and_the_stop_signal_carry_over() {
    if !tools() {
        return;
    }
    let mut src = Source::build(
        "shape",
        &[(&fixture("go-tls"), "/app/tls")],
        &["STOPSIGNAL SIGINT", "CMD [\"/app/tls\", \"localhost\"]"],
    );
    let (code, _, err, slim) = src.slim("shape", &[]);
    assert_eq!(code, 0, "{err}");
    let a = skopeo_config(&format!("docker-archive:{}", src.archive.display()));
    let b = skopeo_config(&format!(
        "docker-archive:{}",
        src.dir.path().join("shape.tar").display()
    ));
    assert_eq!(a["Entrypoint"], Value::Null, "{a}");
    assert_eq!(b["Entrypoint"], Value::Null, "{b}");
    assert_eq!(b["Cmd"], serde_json::json!(["/app/tls", "localhost"]));
    assert_eq!(b["Cmd"], a["Cmd"]);
    assert_eq!(b["StopSignal"], "SIGINT");
    assert_eq!(b["StopSignal"], a["StopSignal"]);
    // Arguments replace the whole command: here the program alone, without "localhost".
    assert_eq!(same_run(&src, &slim, &["/app/tls"]), "hello from go-tls\n");
    assert_eq!(
        same_run(&src, &slim, &[]),
        "Europe/Berlin <nil> &{0 0 root root /root} <nil>\nhello from go-tls\n"
    );
    let (code, _, err, _) = src.slim("shape-over", &["--stop-signal", "SIGQUIT"]);
    assert_eq!(code, 0, "{err}");
    let c = skopeo_config(&format!(
        "docker-archive:{}",
        src.dir.path().join("shape-over.tar").display()
    ));
    assert_eq!(c["StopSignal"], "SIGQUIT");
    assert_eq!(c["Cmd"], a["Cmd"]);
}

/// `image PROGRAM --stop-signal`: the config's StopSignal; none without it (the digests of
/// images built before the option are unchanged); a bad signal is a bad option (exit 2).
#[test]
fn stop_signal_of_a_plain_image() {
    if !have_tool("skopeo") {
        return;
    }
    let dir = common::tempdir();
    let build = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let o = binslim()
            .arg("image")
            .arg(fixture("go-static"))
            .arg("-o")
            .arg(&out)
            .args(extra)
            .output()
            .unwrap();
        (o, format!("docker-archive:{}", out.display()))
    };
    let (o, r) = build("a.tar", &["--stop-signal", "2"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_eq!(skopeo_config(&r)["StopSignal"], "2");
    let (o, r) = build("b.tar", &[]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_eq!(skopeo_config(&r).get("StopSignal"), None);
    let (o, _) = build("c.tar", &["--stop-signal", "SIG TERM"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "binslim: --stop-signal 'SIG TERM': use a signal name or number, e.g. SIGINT or 2\n"
    );
    assert!(!dir.path().join("c.tar").exists());
}

/// The Go program of [`https_to_a_local_server_whose_ca_is_in_the_source_bundle`]: an HTTPS
/// server on 127.0.0.1 (the run line has no network) with the certificate and key of
/// /srv/tls, and a GET to it with Go's default client, so with the system roots.
const HTTPS_GET: &str = r#"package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
)

func main() {
	cert, err := tls.LoadX509KeyPair("/srv/tls/cert.pem", "/srv/tls/key.pem")
	if err != nil {
		fmt.Println("no key pair")
		os.Exit(3)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("no listener")
		os.Exit(3)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "hello over https\n")
		}),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
	}
	go srv.ServeTLS(ln, "", "")
	resp, err := http.Get("https://" + ln.Addr().String() + "/")
	if err != nil {
		fmt.Println("request failed")
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(string(body))
}
"#;

/// Runs `openssl ARGS` in `dir`.
fn openssl(dir: &Path, args: &[&str]) {
    ok(
        std::process::Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .output()
            .unwrap(),
        "openssl",
    );
}

/// A Go program makes an HTTPS request to a local TLS server whose certificate is signed by a
/// test CA that the source's CA bundle holds: the slim image keeps the source's bundle (why:
/// it loads system root certificates) and gets the same answer. The control: from a source
/// whose bundle lacks the test CA, the request fails, in the source and in the slim image.
#[test]
fn https_to_a_local_server_whose_ca_is_in_the_source_bundle() {
    if !tools() || !have_tool("openssl") {
        return;
    }
    let Some(go) = common::go_tool() else {
        return;
    };
    let dir = common::tempdir();
    let d = dir.path();
    let src_dir = d.join("src");
    fs::create_dir(&src_dir).unwrap();
    fs::write(src_dir.join("go.mod"), "module httpsget\n\ngo 1.23\n").unwrap();
    fs::write(src_dir.join("main.go"), HTTPS_GET).unwrap();
    let exe = d.join("httpsget");
    common::go_build_at(
        &go,
        src_dir.to_str().unwrap(),
        &exe,
        &[("CGO_ENABLED", "0")],
        &["-trimpath"],
        &d.join("gocache"),
    );
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let ca = [
        &["req", "-x509", "-days", "2", "-subj", "/CN=binslim test CA"][..],
        &ec,
        &["-keyout", "ca.key", "-out", "ca.pem"],
        &["-addext", "basicConstraints=critical,CA:TRUE"],
        &["-addext", "keyUsage=critical,keyCertSign"],
    ]
    .concat();
    openssl(d, &ca);
    let csr = [
        &["req", "-subj", "/CN=127.0.0.1"][..],
        &ec,
        &["-keyout", "key.pem", "-out", "leaf.csr"],
    ]
    .concat();
    openssl(d, &csr);
    fs::write(
        d.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-days",
            "2",
            "-set_serial",
            "2",
            "-extfile",
            "leaf.ext",
            "-out",
            "cert.pem",
        ],
    );
    let system = fs::read("/etc/ssl/certs/ca-certificates.crt").unwrap();
    let bundle = d.join("bundle.crt");
    fs::write(
        &bundle,
        [system, fs::read(d.join("ca.pem")).unwrap()].concat(),
    )
    .unwrap();
    let (cert, key) = (d.join("cert.pem"), d.join("key.pem"));
    let entry = "ENTRYPOINT [\"/srv/httpsget\"]";
    let keep = ["--keep", "/srv/tls"];
    let mut src = Source::build(
        "https",
        &[
            (&exe, "/srv/httpsget"),
            (&cert, "/srv/tls/cert.pem"),
            (&key, "/srv/tls/key.pem"),
            (&bundle, "/etc/ssl/certs/ca-certificates.crt"),
        ],
        &[entry],
    );
    let (code, r, err, slim) = src.slim("https", &keep);
    assert_eq!(code, 0, "{err}");
    assert_eq!(same_run(&src, &slim, &[]), "hello over https\n");
    assert!(
        has(
            &r,
            "/etc/ssl/certs/ca-certificates.crt",
            "loads system root certificates"
        ),
        "{r}"
    );
    assert!(has(&r, "/srv/tls/cert.pem", "--keep /srv/tls"), "{r}");
    // The control: the base's bundle, without the test CA.
    let mut bare = Source::build(
        "https-bare",
        &[
            (&exe, "/srv/httpsget"),
            (&cert, "/srv/tls/cert.pem"),
            (&key, "/srv/tls/key.pem"),
        ],
        &[entry],
    );
    let (code, _, err, slim) = bare.slim("https-bare", &keep);
    assert_eq!(code, 0, "{err}");
    let (out, stderr, code) = podman_run(&slim, &[]);
    assert_eq!((out.as_str(), code), ("request failed\n", 1), "{stderr}");
    assert!(
        stderr.contains("certificate signed by unknown authority"),
        "{stderr}"
    );
    assert_eq!(same_run(&bare, &slim, &[]), "request failed\n");
}

/// `--shrink`'s ledger names the program by its path in the source image, never by binslim's
/// private copy of it.
#[test]
fn the_shrink_ledger_names_the_program_by_its_path_in_the_source() {
    if !tools() {
        return;
    }
    let src = Source::build(
        "ledger",
        &[(&fixture("go-static"), "/app/server")],
        &["ENTRYPOINT [\"/app/server\"]"],
    );
    let out = binslim()
        .args(["image", "--shrink", "--from"])
        .arg(&src.archive)
        .arg("-o")
        .arg(src.dir.path().join("ledger.tar"))
        .args(["--tag", "ledger:1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().take(6).collect();
    assert_eq!(
        lines,
        [
            "/app/server → the copy in the image",
            "  step                 size      saved      total               gzip",
            "  original          1.1 MiB          -          -          510.8 KiB",
            "  strip-debug       1.1 MiB    1.4 KiB    1.4 KiB    0.1%  511.0 KiB",
            "  strip-symbols unchanged",
            "  strip-other   unchanged",
        ],
        "{text}"
    );
    // The private copy is in a directory named binslim-from-*.
    assert!(!text.contains("binslim-from-"), "{text}");
}
