//! `binslim verify --image`: the verdict on images built by `podman build` (FROM scratch + COPY)
//! and saved by `podman save` as docker-archive and oci-archive tars must agree with whether
//! `podman run` (runc) really starts them — and the failure must be the one podman shows.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command as Std, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{binslim, docker_archive, fixture, raw_entry, sha256};
use serde_json::Value;

/// The real loader and libc of this machine (Debian multiarch x86_64).
const LOADER: &str = "/lib64/ld-linux-x86-64.so.2";
const LIBC: &str = "/lib/x86_64-linux-gnu/libc.so.6";

/// One image to build: the Containerfile, and the files of its build context.
struct Case {
    name: &'static str,
    containerfile: String,
    files: Vec<(PathBuf, &'static str)>,
    /// What `podman run` does: `Ok(stdout)` when it starts, `Err(part of stderr)` when not.
    podman: Result<&'static str, &'static str>,
    /// binslim's first finding when it fails (checked in the JSON report): its code, or
    /// `~TEXT` for a word its message must contain.
    code: Option<&'static str>,
}

/// podman builds that run at once in one storage trip over each other ("identifier is not a
/// container"): the tests of this file take turns.
static PODMAN: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn podman_turn() -> std::sync::MutexGuard<'static, ()> {
    PODMAN.lock().unwrap_or_else(|e| e.into_inner())
}

fn podman_ready() -> bool {
    common::have_tool("podman") && common::have_tool("runc")
}

fn podman(args: &[&str]) -> std::process::Output {
    Std::new("podman")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run podman")
}

/// A tag no other test run uses.
fn unique_tag(name: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "localhost/binslim-test-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Writes `containerfile` as the Containerfile of the build context `dir` and builds it with
/// `podman build` under a new tag made from `name`, which it returns.
fn podman_build(dir: &Path, containerfile: &str, name: &str) -> String {
    let cf = dir.join("Containerfile");
    fs::write(&cf, containerfile).unwrap();
    let tag = unique_tag(name);
    let out = podman(&[
        "build",
        "--runtime",
        "runc",
        "-q",
        "-t",
        &tag,
        "-f",
        cf.to_str().unwrap(),
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{name}: podman build: {out:?}");
    tag
}

/// `podman save` of `tag` in `format` (docker-archive, oci-archive, oci-dir) to `out`.
fn podman_save(tag: &str, format: &str, out: &Path) {
    let o = podman(&[
        "save",
        "-q",
        "--format",
        format,
        "-o",
        out.to_str().unwrap(),
        tag,
    ]);
    assert!(o.status.success(), "podman save: {o:?}");
}

/// Builds the case, runs it with podman, saves it in both archive forms, and checks that
/// binslim's verdict (and failure code) agrees with the run. The image is removed afterwards.
fn check_case(case: &Case) {
    let _turn = podman_turn();
    let ctx = common::tempdir();
    for (src, dest) in &case.files {
        let to = ctx.path().join(dest);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(src, &to).unwrap_or_else(|e| panic!("copy {}: {e}", src.display()));
    }
    let tag = podman_build(ctx.path(), &case.containerfile, case.name);
    let result = std::panic::catch_unwind(|| check_built(case, &tag, ctx.path()));
    podman(&["rmi", "-f", &tag]);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

fn check_built(case: &Case, tag: &str, dir: &Path) {
    let run = common::podman_run(tag, &[]);
    let (stdout, stderr, code) = &run;
    let started = *code == 0;
    match case.podman {
        Ok(expected) => assert!(
            started && stdout == expected,
            "{}: podman run should start and print {expected:?}: {run:?}",
            case.name
        ),
        Err(expected) => assert!(
            !started && stderr.contains(expected),
            "{}: podman run should fail with {expected:?}: {run:?}",
            case.name
        ),
    }

    for format in ["docker-archive", "oci-archive"] {
        let tar = dir.join(format!("{format}.tar"));
        podman_save(tag, format, &tar);
        let v = binslim()
            .args(["verify", "--json", "--image"])
            .arg(&tar)
            .output()
            .unwrap();
        let code = v.status.code().unwrap();
        let what = format!(
            "{} ({format}): podman started: {started}, binslim exit {code}\n{}{}",
            case.name,
            String::from_utf8_lossy(&v.stdout),
            String::from_utf8_lossy(&v.stderr)
        );
        assert_eq!(code, if started { 0 } else { 1 }, "{what}");
        let report: Value = serde_json::from_slice(&v.stdout).expect("JSON report");
        // Messages speak of the image, never of the temporary directory it was merged into.
        assert!(!report.to_string().contains("binslim-image-"), "{what}");
        let problems = &report[0]["problems"];
        match case.code {
            Some(c) => match c.strip_prefix('~') {
                Some(text) => assert!(
                    problems[0]["message"].as_str().unwrap_or("").contains(text),
                    "{what}"
                ),
                None => assert_eq!(problems[0]["code"], c, "{what}"),
            },
            None => assert_eq!(problems.as_array().map(Vec::len), Some(0), "{what}"),
        }
    }
}

/// Checks every case, then fails naming each case that disagreed.
fn run_cases(cases: &[Case]) {
    let failed: Vec<&str> = cases
        .iter()
        .filter(|c| std::panic::catch_unwind(|| check_case(c)).is_err())
        .map(|c| c.name)
        .collect();
    assert!(
        failed.is_empty(),
        "binslim disagrees with podman run on: {failed:?}"
    );
}

fn containerfile(lines: &[&str]) -> String {
    let mut s = String::from("FROM scratch\n");
    for l in lines {
        s.push_str(l);
        s.push('\n');
    }
    s
}

/// A dynamic C program with the real loader and libc, at `libdir` (and `extra` lines after).
fn dynamic_case(
    name: &'static str,
    libdir: &str,
    extra: &[&str],
    podman: Result<&'static str, &'static str>,
    code: Option<&'static str>,
) -> Case {
    let copy_libc = format!("COPY libc.so.6 {libdir}/libc.so.6");
    let mut lines = vec![
        "COPY ld.so /lib64/ld-linux-x86-64.so.2",
        copy_libc.as_str(),
        "COPY app /app",
    ];
    lines.extend_from_slice(extra);
    if !extra.iter().any(|l| l.starts_with("ENTRYPOINT")) {
        lines.push("ENTRYPOINT [\"/app\"]");
    }
    Case {
        name,
        containerfile: containerfile(&lines),
        files: vec![
            (PathBuf::from(LOADER), "ld.so"),
            (PathBuf::from(LIBC), "libc.so.6"),
            (fixture("c-dynamic-pie"), "app"),
        ],
        podman,
        code,
    }
}

fn simple(
    name: &'static str,
    program: &str,
    lines: &[&str],
    podman: Result<&'static str, &'static str>,
    code: Option<&'static str>,
) -> Case {
    Case {
        name,
        containerfile: containerfile(lines),
        files: vec![(fixture(program), "app")],
        podman,
        code,
    }
}

/// The C program, its loader and libc, then an empty `marker` file (a whiteout or an opaque
/// marker) in a later layer of libc's directory: podman and binslim both find libc gone.
fn libc_hidden_by(name: &'static str, marker: &'static str) -> Case {
    Case {
        name,
        containerfile: containerfile(&[
            "COPY ld.so /lib64/ld-linux-x86-64.so.2",
            "COPY libc.so.6 /lib/x86_64-linux-gnu/libc.so.6",
            "COPY app /app",
            &format!("COPY {marker} /lib/x86_64-linux-gnu/{marker}"),
            "ENTRYPOINT [\"/app\"]",
        ]),
        files: vec![
            (PathBuf::from(LOADER), "ld.so"),
            (PathBuf::from(LIBC), "libc.so.6"),
            (fixture("c-dynamic-pie"), "app"),
            (fixture("empty"), marker),
        ],
        podman: Err("error while loading shared libraries: libc.so.6"),
        code: Some("missing-library"),
    }
}

/// Every case whose verdict rests on the reading and merging of the image (and the loader
/// resolution binslim already had).
#[test]
fn verdict_agrees_with_podman_run() {
    if !podman_ready() {
        return;
    }
    let cases = vec![
        simple(
            "go-static",
            "go-static",
            &["COPY app /server", "ENTRYPOINT [\"/server\"]"],
            Ok("hello from go\n"),
            None,
        ),
        simple(
            "c-static",
            "c-static",
            &["COPY app /server", "ENTRYPOINT [\"/server\"]"],
            Ok("hello from c-static\n"),
            None,
        ),
        simple(
            "go-pie",
            "go-pie",
            &["COPY app /server", "ENTRYPOINT [\"/server\"]"],
            Err("exec /server: no such file or directory"),
            Some("missing-interpreter"),
        ),
        simple(
            "c-dynamic-bare",
            "c-dynamic-pie",
            &["COPY app /app", "ENTRYPOINT [\"/app\"]"],
            Err("exec /app: no such file or directory"),
            Some("missing-interpreter"),
        ),
        dynamic_case(
            "c-dynamic-libs",
            "/lib/x86_64-linux-gnu",
            &[],
            Ok("hello from c-dynamic-pie\n"),
            None,
        ),
        dynamic_case(
            "libs-in-opt",
            "/opt/lib",
            &[],
            Err("error while loading shared libraries: libc.so.6"),
            Some("missing-library"),
        ),
        // The library goes in a later layer: the whiteout file deletes it from the merged image.
        libc_hidden_by("whiteout", ".wh.libc.so.6"),
        // An opaque-directory marker hides everything lower layers put in that directory.
        libc_hidden_by("opaque-dir", ".wh..wh..opq"),
        simple(
            "no-entrypoint",
            "c-static",
            &["COPY app /server"],
            Err("no command or entrypoint"),
            Some("no-entrypoint"),
        ),
        simple(
            "cmd-only",
            "c-static",
            &["COPY app /server", "CMD [\"/server\"]"],
            Ok("hello from c-static\n"),
            None,
        ),
        simple(
            "relative-workdir",
            "c-static",
            &[
                "WORKDIR /srv",
                "COPY app /srv/server",
                "ENTRYPOINT [\"./server\"]",
            ],
            Ok("hello from c-static\n"),
            None,
        ),
        simple(
            "bare-name-in-path",
            "c-static",
            &["COPY app /usr/bin/server", "ENTRYPOINT [\"server\"]"],
            Ok("hello from c-static\n"),
            None,
        ),
        simple(
            "missing-entrypoint",
            "c-static",
            &["COPY app /server", "ENTRYPOINT [\"/srv/server\"]"],
            Err("/srv/server: no such file or directory"),
            Some("missing-entrypoint"),
        ),
        simple(
            "mode-0644",
            "c-static",
            &["COPY --chmod=644 app /server", "ENTRYPOINT [\"/server\"]"],
            Err("permission denied"),
            Some("not-executable"),
        ),
        simple(
            "foreign-arch",
            "arm64-static",
            &["COPY app /server", "ENTRYPOINT [\"/server\"]"],
            Err("exec format error"),
            Some("wrong-platform"),
        ),
    ];
    run_cases(&cases);
}

/// Cases that need the loader-exact resolution (issue 11: the loader's real directories,
/// LD_LIBRARY_PATH from the image's Env, symbol versions). Real podman outcomes; they pass
/// once that resolution is merged.
#[test]
fn verdict_agrees_with_podman_run_loader_exact() {
    if !podman_ready() || !common::have_tool("gcc") {
        return;
    }
    let libs = common::tempdir();
    let (v1, v2, app) = version_script_programs(libs.path());
    let cases = vec![
        dynamic_case(
            "libs-in-usr-lib64",
            "/usr/lib64",
            &[],
            Err("error while loading shared libraries: libc.so.6"),
            Some("missing-library"),
        ),
        dynamic_case(
            "ld-library-path",
            "/opt/lib",
            &["ENV LD_LIBRARY_PATH=/opt/lib"],
            Ok("hello from c-dynamic-pie\n"),
            None,
        ),
        versioned_case(
            "symbol-version",
            v1,
            app.clone(),
            Err("version `VERS_2' not found"),
            Some("~VERS_2"),
        ),
        versioned_case(
            "symbol-version-ok",
            v2,
            app,
            Ok("hello from vers 2\n"),
            None,
        ),
    ];
    run_cases(&cases);
}

/// `app` with the real loader and libc and `lib` as libvers.so in libc's directory.
fn versioned_case(
    name: &'static str,
    lib: PathBuf,
    app: PathBuf,
    podman: Result<&'static str, &'static str>,
    code: Option<&'static str>,
) -> Case {
    Case {
        name,
        containerfile: containerfile(&[
            "COPY ld.so /lib64/ld-linux-x86-64.so.2",
            "COPY libc.so.6 /lib/x86_64-linux-gnu/libc.so.6",
            "COPY libvers.so /lib/x86_64-linux-gnu/libvers.so",
            "COPY app /app",
            "ENTRYPOINT [\"/app\"]",
        ]),
        files: vec![
            (PathBuf::from(LOADER), "ld.so"),
            (PathBuf::from(LIBC), "libc.so.6"),
            (lib, "libvers.so"),
            (app, "app"),
        ],
        podman,
        code,
    }
}

/// A library with versions VERS_1 and VERS_2 (the program is linked against it and uses f2 at
/// VERS_2) and one with VERS_1 only.
fn version_script_programs(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let gcc = |args: &[&str]| {
        let out = Std::new("gcc")
            .current_dir(dir)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "gcc {args:?}: {out:?}");
    };
    fs::write(
        dir.join("v2.c"),
        "int f1(void){return 1;}\nint f2(void){return 2;}\n",
    )
    .unwrap();
    fs::write(dir.join("v1.c"), "int f1(void){return 1;}\n").unwrap();
    fs::write(
        dir.join("v2.map"),
        "VERS_1 { global: f1; local: *; };\nVERS_2 { global: f2; } VERS_1;\n",
    )
    .unwrap();
    fs::write(dir.join("v1.map"), "VERS_1 { global: f1; local: *; };\n").unwrap();
    fs::write(
        dir.join("app.c"),
        "#include <stdio.h>\nint f2(void);\nint main(void){printf(\"hello from vers %d\\n\", f2());return 0;}\n",
    )
    .unwrap();
    fs::create_dir_all(dir.join("v1")).unwrap();
    fs::create_dir_all(dir.join("v2")).unwrap();
    gcc(&[
        "-shared",
        "-fPIC",
        "-o",
        "v2/libvers.so",
        "-Wl,-soname,libvers.so",
        "-Wl,--version-script=v2.map",
        "v2.c",
    ]);
    gcc(&[
        "-shared",
        "-fPIC",
        "-o",
        "v1/libvers.so",
        "-Wl,-soname,libvers.so",
        "-Wl,--version-script=v1.map",
        "v1.c",
    ]);
    gcc(&["-o", "app", "app.c", "-Lv2", "-lvers"]);
    (
        dir.join("v1/libvers.so"),
        dir.join("v2/libvers.so"),
        dir.join("app"),
    )
}

/// Builds `c-static` as /server into an image, saves it, and returns the tag, the directory
/// and the docker-archive path (the caller removes the image).
fn static_image(dir: &Path) -> (String, PathBuf) {
    fs::copy(fixture("c-static"), dir.join("app")).unwrap();
    let tag = podman_build(
        dir,
        &containerfile(&["COPY app /server", "ENTRYPOINT [\"/server\"]"]),
        "forms",
    );
    let tar = dir.join("image.tar");
    podman_save(&tag, "docker-archive", &tar);
    (tag, tar)
}

/// `docker save app | binslim verify --image -`, an OCI layout directory, the text report, and
/// PATHs named instead of the entrypoint.
#[test]
fn stdin_layout_directory_and_named_paths() {
    if !podman_ready() {
        return;
    }
    let _turn = podman_turn();
    let dir = common::tempdir();
    let (tag, tar) = static_image(dir.path());
    let result = std::panic::catch_unwind(|| {
        let out = binslim()
            .args(["verify", "--image", "-"])
            .pipe_stdin(&tar)
            .unwrap()
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("PASS {tag}:latest:/server: static x86_64, 744.6 KiB\n")
        );

        // A FIFO (what `<(docker save app)` gives) is read once, like stdin.
        let fifo = dir.path().join("fifo");
        assert!(Std::new("mkfifo").arg(&fifo).status().unwrap().success());
        let (from, to) = (tar.clone(), fifo.clone());
        let writer = std::thread::spawn(move || fs::copy(from, to).unwrap());
        let out = verify_image(&fifo, &[]);
        writer.join().unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!(
                "PASS {}:/server: static x86_64, 744.6 KiB\n",
                fifo.display()
            )
        );

        let layout = dir.path().join("layout");
        podman_save(&tag, "oci-dir", &layout);
        let out = verify_image(&layout, &[]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!(
                "PASS {}:/server: static x86_64, 744.6 KiB\n",
                layout.display()
            )
        );

        let out = verify_image(&tar, &["/server", "/bin/sh"]);
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let t = tar.display();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!(
                "PASS {t}:/server: static x86_64, 744.6 KiB\n\
                 FAIL {t}:/bin/sh: /bin/sh is not in the image: starting it fails with \"no such \
                 file or directory\"\n  fix: COPY the program to that path, or fix \
                 ENTRYPOINT/CMD (and WORKDIR for a relative path)\n\
                 checked 2: 1 passed, 1 failed\n"
            )
        );
    });
    podman(&["rmi", "-f", &tag]);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

/// What cannot be read is exit 2 with one line naming the image.
#[test]
fn unreadable_images_exit_2() {
    let dir = common::tempdir();
    let not_tar = dir.path().join("x.tar");
    fs::write(&not_tar, vec![7u8; 2048]).unwrap();
    let out = verify_image(&not_tar, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "binslim: {}: not a tar archive: bad tar header at byte 0: bad checksum field\n",
            not_tar.display()
        )
    );
    let out = binslim()
        .args(["verify", "--image", "/nonexistent/image.tar"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "binslim: /nonexistent/image.tar: cannot open: No such file or directory (os error 2)\n"
    );
    let out = binslim()
        .args(["verify", "--image", "x.tar", "--root", "/"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
}

/// One raw tar entry (the tar crate's builder refuses `..`, which is the point here).
/// `binslim verify --image IMAGE EXTRA...`, run to completion.
fn verify_image(image: &Path, extra: &[&str]) -> std::process::Output {
    binslim()
        .args(["verify", "--image"])
        .arg(image)
        .args(extra)
        .output()
        .unwrap()
}

/// A layer entry that climbs out of the root: exit 2, one line naming the layer and the entry,
/// and nothing written beside the temporary root.
#[test]
fn hostile_archive_exits_2_and_writes_nothing_outside() {
    let dir = common::tempdir();
    let marker = dir.path().join("escaped");
    let depth = "../".repeat(12);
    let evil = format!(
        "{depth}{}",
        marker.display().to_string().trim_start_matches('/')
    );
    let mut layer = raw_entry(&evil, b"x");
    layer.extend_from_slice(&[0; 1024]);
    let diff = sha256(&layer);
    let cfg = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{"Entrypoint":["/x"]}},"rootfs":{{"type":"layers","diff_ids":["sha256:{diff}"]}}}}"#
    );
    let tar = dir.path().join("evil.tar");
    fs::write(&tar, docker_archive(&layer, &cfg)).unwrap();
    let out = verify_image(&tar, &[]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "binslim: {}: layer 1 (sha256:{diff}): entry '{evil}': a path with '..', which would \
             leave the image root\n",
            tar.display()
        )
    );
    assert!(out.stdout.is_empty());
    assert!(!marker.exists());
}

/// A docker-archive of one uncompressed layer holding `c-static` as /server and, when `hole`
/// is not zero, a file of `hole` bytes left as a hole in the archive file (sparse on disk, so
/// it costs nothing to write, but `hole` bytes to read). Its config names `diff_id`.
fn sparse_docker_archive(path: &Path, hole: u64, diff_id: &str) {
    use std::io::{Seek, SeekFrom, Write};
    let server = fs::read(fixture("c-static")).unwrap();
    let mut head = raw_entry("server", &server);
    if hole > 0 {
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..8].copy_from_slice(b"huge.bin");
        h.set_size(hole);
        h.set_mode(0o644);
        h.set_cksum();
        head.extend_from_slice(h.as_bytes());
    }
    let tail = [0u8; 1024];
    let layer_len = head.len() as u64 + hole + tail.len() as u64;
    let cfg = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{"Entrypoint":["/server"]}},"rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}}}}"#
    );
    let cfg_hex = sha256(cfg.as_bytes());
    let manifest = format!(r#"[{{"Config":"{cfg_hex}.json","Layers":["l/layer.tar"]}}]"#);
    let mut outer = tar::Header::new_gnu();
    outer.as_old_mut().name[..11].copy_from_slice(b"l/layer.tar");
    outer.set_size(layer_len);
    outer.set_mode(0o644);
    outer.set_cksum();
    let mut f = fs::File::create(path).unwrap();
    f.write_all(outer.as_bytes()).unwrap();
    f.write_all(&head).unwrap();
    f.seek(SeekFrom::Current(hole as i64)).unwrap();
    f.write_all(&tail).unwrap();
    f.write_all(&raw_entry(&format!("{cfg_hex}.json"), cfg.as_bytes()))
        .unwrap();
    f.write_all(&raw_entry("manifest.json", manifest.as_bytes()))
        .unwrap();
    f.write_all(&[0; 1024]).unwrap();
}

/// By default an uncompressed layer's payload is passed over, not read or hashed: a layer
/// holding a 48 GiB file is checked in well under the time reading it would take (copying
/// 48 GiB out of the kernel alone takes seconds; hashing it in a debug build, minutes), and a
/// wrong diff_id goes unnoticed. `--verify-digests` reads every byte and exits 2 on it.
#[test]
fn uncompressed_layers_are_skipped_unless_verify_digests() {
    let dir = common::tempdir();
    let wrong = format!("sha256:{}", sha256(b"not this layer"));
    let big = dir.path().join("big.tar");
    sparse_docker_archive(&big, 48 << 30, &wrong);
    assert!(fs::metadata(&big).unwrap().len() > 48 << 30);
    let started = std::time::Instant::now();
    let out = verify_image(&big, &[]);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("PASS {}:/server: static x86_64, 744.6 KiB\n", big.display())
    );
    assert!(
        took < std::time::Duration::from_secs(4),
        "verify --image took {took:?}: the 48 GiB payload was read"
    );

    // The same image without the big file, checked in full: the wrong diff_id is exit 2.
    let small = dir.path().join("small.tar");
    sparse_docker_archive(&small, 0, &wrong);
    let ok = verify_image(&small, &[]);
    assert_eq!(ok.status.code(), Some(0), "{ok:?}");
    let out = binslim()
        .args(["verify", "--verify-digests", "--image"])
        .arg(&small)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let mut layer = raw_entry("server", &fs::read(fixture("c-static")).unwrap());
    layer.extend_from_slice(&[0; 1024]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "binslim: {}: the uncompressed layer has digest sha256:{}, but the image says \
             {wrong}: the archive is corrupt or was altered\n",
            small.display(),
            sha256(&layer)
        )
    );
    assert!(out.stdout.is_empty());
    // With the right diff_id, --verify-digests passes.
    let right = dir.path().join("right.tar");
    sparse_docker_archive(&right, 0, &format!("sha256:{}", sha256(&layer)));
    let out = binslim()
        .args(["verify", "--verify-digests", "--image"])
        .arg(&right)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

/// A gzip layer is decompressed from its first byte anyway, so its digests are always checked:
/// a wrong diff_id is exit 2 without `--verify-digests`.
#[test]
fn gzip_layer_digests_are_checked_by_default() {
    use std::io::Write;
    let dir = common::tempdir();
    let mut layer = raw_entry("server", &fs::read(fixture("c-static")).unwrap());
    layer.extend_from_slice(&[0; 1024]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&layer).unwrap();
    let gz = gz.finish().unwrap();
    let wrong = format!("sha256:{}", sha256(b"not this layer"));
    let cfg = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{"Entrypoint":["/server"]}},"rootfs":{{"type":"layers","diff_ids":["{wrong}"]}}}}"#
    );
    let desc = |media: &str, data: &[u8]| {
        format!(
            r#"{{"mediaType":"{media}","digest":"sha256:{}","size":{}}}"#,
            sha256(data),
            data.len()
        )
    };
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[{}]}}"#,
        desc("application/vnd.oci.image.config.v1+json", cfg.as_bytes()),
        desc("application/vnd.oci.image.layer.v1.tar+gzip", &gz)
    );
    let index = format!(
        r#"{{"schemaVersion":2,"manifests":[{}]}}"#,
        desc(
            "application/vnd.oci.image.manifest.v1+json",
            manifest.as_bytes()
        )
    );
    let mut archive = raw_entry("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
    for blob in [&gz[..], cfg.as_bytes(), manifest.as_bytes()] {
        archive.extend(raw_entry(&format!("blobs/sha256/{}", sha256(blob)), blob));
    }
    archive.extend(raw_entry("index.json", index.as_bytes()));
    archive.extend_from_slice(&[0; 1024]);
    let tar = dir.path().join("oci.tar");
    fs::write(&tar, archive).unwrap();
    let out = verify_image(&tar, &[]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "binslim: {}: the uncompressed layer has digest sha256:{}, but the image says \
             {wrong}: the archive is corrupt or was altered\n",
            tar.display(),
            sha256(&layer)
        )
    );
}

// ---- Who the program runs as, shell form, scripts (issue 20) ----

/// One entry of a hand-made layer.
enum Made {
    /// A file with these bytes.
    File(Vec<u8>),
    /// A directory.
    Dir,
    /// A FIFO.
    Fifo,
}

/// A layer tar of `(path, what, mode, uid, gid)` entries, in order.
fn made_layer(entries: &[(&str, Made, u32, u64, u64)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, what, mode, uid, gid) in entries {
        let mut h = tar::Header::new_gnu();
        let data: &[u8] = match what {
            Made::File(d) => d,
            Made::Dir => {
                h.set_entry_type(tar::EntryType::Directory);
                &[]
            }
            Made::Fifo => {
                h.set_entry_type(tar::EntryType::Fifo);
                &[]
            }
        };
        h.set_size(data.len() as u64);
        h.set_mode(*mode);
        h.set_uid(*uid);
        h.set_gid(*gid);
        h.set_cksum();
        b.append_data(&mut h, path, data).unwrap();
    }
    b.into_inner().unwrap()
}

/// A docker-archive of `layer` whose config's `config` object is `run` (JSON), tagged `tag`.
fn made_archive(layer: &[u8], run: &str, tag: &str) -> Vec<u8> {
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{run},"rootfs":{{"type":"layers","diff_ids":["sha256:{}"]}}}}"#,
        sha256(layer)
    );
    let cfg_hex = sha256(config.as_bytes());
    let manifest = format!(
        r#"[{{"Config":"{cfg_hex}.json","RepoTags":["{tag}:latest"],"Layers":["l/layer.tar"]}}]"#
    );
    let mut archive = raw_entry("l/layer.tar", layer);
    archive.extend(raw_entry(&format!("{cfg_hex}.json"), config.as_bytes()));
    archive.extend(raw_entry("manifest.json", manifest.as_bytes()));
    archive.extend_from_slice(&[0; 1024]);
    archive
}

/// What podman and binslim make of one image: `podman run`'s (stdout, stderr, exit code), and
/// binslim's exit code and JSON report.
struct Judged {
    run: (String, String, i32),
    exit: i32,
    report: Value,
}

impl Judged {
    /// Asserts that podman started it and printed `stdout`, and that binslim passed every
    /// program of the report (`paths`, in order).
    fn passes(&self, stdout: &str, paths: &[&str]) {
        assert_eq!(
            (self.run.2, self.run.0.as_str()),
            (0, stdout),
            "podman: {:?}",
            self.run
        );
        assert_eq!(self.exit, 0, "{}", self.report);
        let got: Vec<(&str, &str)> = self
            .report
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["path"].as_str().unwrap(), r["verdict"].as_str().unwrap()))
            .collect();
        let want: Vec<(&str, &str)> = paths.iter().map(|p| (*p, "pass")).collect();
        assert_eq!(got, want, "{}", self.report);
    }

    /// Asserts that podman refused it with `stderr` in its error, and that binslim failed (exit
    /// 1) with report `index` at `path` failing first with `code` and `message`.
    fn fails(&self, stderr: &str, index: usize, path: &str, code: &str, message: &str) {
        assert!(
            self.run.2 != 0 && self.run.1.contains(stderr),
            "podman should fail with {stderr:?}: {:?}",
            self.run
        );
        assert_eq!(self.exit, 1, "{}", self.report);
        let r = &self.report[index];
        assert_eq!(r["path"], path, "{}", self.report);
        assert_eq!(r["verdict"], "fail", "{}", self.report);
        assert_eq!(r["problems"][0]["code"], code, "{}", self.report);
        assert_eq!(r["problems"][0]["message"], message, "{}", self.report);
    }
}

/// Loads the hand-made image into podman, runs it, and verifies the archive (saved as
/// `image.tar` in `dir`). The image is removed afterwards.
fn judge_made(dir: &Path, name: &str, layer: &[u8], run: &str) -> Judged {
    let _turn = podman_turn();
    let tag = unique_tag(name);
    let archive = dir.join("image.tar");
    fs::write(&archive, made_archive(layer, run, &tag)).unwrap();
    let load = podman(&["load", "-q", "-i", archive.to_str().unwrap()]);
    assert!(load.status.success(), "podman load: {load:?}");
    let run = common::podman_run(&tag, &[]);
    podman(&["rmi", "-f", &tag]);
    let (exit, report) = verify_json_image(&archive, &[]);
    Judged { run, exit, report }
}

/// Builds `lines` after `FROM scratch` with `files` (host path, name in the context) in the
/// context, runs it, and verifies its `podman save` docker-archive.
fn judge_built(name: &str, lines: &[&str], files: &[(PathBuf, &str)]) -> (Judged, String) {
    let _turn = podman_turn();
    let ctx = common::tempdir();
    for (src, dest) in files {
        fs::copy(src, ctx.path().join(dest)).unwrap();
    }
    let tag = podman_build(ctx.path(), &containerfile(lines), name);
    let run = common::podman_run(&tag, &[]);
    let archive = ctx.path().join("image.tar");
    podman_save(&tag, "docker-archive", &archive);
    podman(&["rmi", "-f", &tag]);
    let (exit, report) = verify_json_image(&archive, &[]);
    (
        Judged { run, exit, report },
        format!("{}", archive.display()),
    )
}

fn bytes_of(p: impl AsRef<Path>) -> Made {
    Made::File(fs::read(p).unwrap())
}

/// The image's `User` decides: a program, a directory on the way, the loader and libc that
/// the user may not execute, search or read fail as runc fails them; root's override passes.
#[test]
fn the_images_user_must_be_allowed_to_start_the_program() {
    if !podman_ready() {
        return;
    }
    let dir = common::tempdir();
    let d = dir.path();
    let app = |mode| ("app", bytes_of(fixture("c-static")), mode, 0, 0);
    let hello = "hello from c-static\n";
    let user = |u: &str| format!(r#"{{"User":"{u}","Entrypoint":["/app"]}}"#);

    let j = judge_made(d, "perm-0700", &made_layer(&[app(0o700)]), &user("65534"));
    let at = format!("{}:/app", d.join("image.tar").display());
    j.fails(
        "permission denied",
        0,
        &at,
        "permission-denied",
        "/app is mode 0700 owned by 0:0, and user 65534 (uid 65534, gid 0) cannot execute it: \
         starting it fails with \"permission denied\"",
    );
    // 0750 root:10: not in the group (runc gives an unknown uid gid 0).
    let j = judge_made(
        d,
        "perm-0750",
        &made_layer(&[("app", bytes_of(fixture("c-static")), 0o750, 0, 10)]),
        &user("65534"),
    );
    j.fails(
        "permission denied",
        0,
        &at,
        "permission-denied",
        "/app is mode 0750 owned by 0:10, and user 65534 (uid 65534, gid 0) cannot execute it: \
         starting it fails with \"permission denied\"",
    );
    judge_made(d, "perm-0755", &made_layer(&[app(0o755)]), &user("65534")).passes(hello, &[&at]);
    // Root executes a file with any execute bit.
    judge_made(d, "perm-root", &made_layer(&[app(0o700)]), &user("")).passes(hello, &[&at]);

    // A directory on the way that the user may not search.
    let layer = made_layer(&[
        ("opt", Made::Dir, 0o700, 0, 0),
        ("opt/app", bytes_of(fixture("c-static")), 0o755, 0, 0),
    ]);
    let j = judge_made(
        d,
        "perm-dir",
        &layer,
        r#"{"User":"1000","Entrypoint":["/opt/app"]}"#,
    );
    j.fails(
        "permission denied",
        0,
        &format!("{}:/opt/app", d.join("image.tar").display()),
        "permission-denied",
        "/opt is mode 0700 owned by 0:0, and user 1000 (uid 1000, gid 0) cannot search it: \
         starting it fails with \"permission denied\"",
    );
}

/// A user name needs the image's /etc/passwd to name it.
#[test]
fn a_user_name_needs_the_images_passwd() {
    if !podman_ready() {
        return;
    }
    let dir = common::tempdir();
    let d = dir.path();
    let at = format!("{}:/app", d.join("image.tar").display());
    let app = ("app", bytes_of(fixture("c-static")), 0o755, 0, 0);
    let run = r#"{"User":"nonroot","Entrypoint":["/app"]}"#;
    let j = judge_made(d, "user-nopasswd", &made_layer(&[app]), run);
    j.fails(
        "unable to find user nonroot",
        0,
        &at,
        "unknown-user",
        "USER nonroot: the image's /etc/passwd is missing: starting the container fails with \
         \"unable to find user nonroot\"",
    );
    let passwd = b"root:x:0:0:root:/root:/sbin/nologin\n\
                   nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n";
    let layer = made_layer(&[
        ("etc", Made::Dir, 0o755, 0, 0),
        ("etc/passwd", Made::File(passwd.to_vec()), 0o644, 0, 0),
        ("app", bytes_of(fixture("c-static")), 0o750, 0, 65532),
    ]);
    // Named, with its group from passwd: 0750 owned by its group runs.
    judge_made(d, "user-passwd", &layer, run).passes("hello from c-static\n", &[&at]);
}

/// A dynamic program under a non-root user needs to execute the loader and read libc.
#[test]
fn the_user_must_be_allowed_to_run_the_loader_and_read_the_libraries() {
    if !podman_ready() {
        return;
    }
    let dir = common::tempdir();
    let d = dir.path();
    let at = format!("{}:/app", d.join("image.tar").display());
    let layer = |loader: u32, libc: u32| {
        made_layer(&[
            ("lib64", Made::Dir, 0o755, 0, 0),
            ("lib64/ld-linux-x86-64.so.2", bytes_of(LOADER), loader, 0, 0),
            ("lib", Made::Dir, 0o755, 0, 0),
            ("lib/x86_64-linux-gnu", Made::Dir, 0o755, 0, 0),
            ("lib/x86_64-linux-gnu/libc.so.6", bytes_of(LIBC), libc, 0, 0),
            ("app", bytes_of(fixture("c-dynamic-pie")), 0o755, 0, 0),
        ])
    };
    let run = r#"{"User":"65534","Entrypoint":["/app"]}"#;
    judge_made(d, "libs-ok", &layer(0o755, 0o644), run)
        .passes("hello from c-dynamic-pie\n", &[&at]);
    judge_made(d, "loader-0700", &layer(0o700, 0o644), run).fails(
        "permission denied",
        0,
        &at,
        "permission-denied",
        "/lib64/ld-linux-x86-64.so.2 is mode 0700 owned by 0:0, and user 65534 (uid 65534, gid \
         0) cannot execute it: the kernel cannot start the program's loader: starting it fails \
         with \"permission denied\"",
    );
    judge_made(d, "libc-0600", &layer(0o755, 0o600), run).fails(
        "libc.so.6: cannot open shared object file",
        0,
        &at,
        "permission-denied",
        "/lib/x86_64-linux-gnu/libc.so.6 is mode 0600 owned by 0:0, and user 65534 (uid 65534, \
         gid 0) cannot read it: the loader fails with \"error while loading shared libraries: \
         libc.so.6: cannot open shared object file\"",
    );
    // Not even root executes a loader without an execute bit.
    let j = judge_made(
        d,
        "loader-0644-root",
        &layer(0o644, 0o644),
        r#"{"Entrypoint":["/app"]}"#,
    );
    j.fails(
        "permission denied",
        0,
        &at,
        "permission-denied",
        "/lib64/ld-linux-x86-64.so.2 is mode 0644 owned by 0:0, and user root (uid 0, gid 0) \
         cannot execute it: the kernel cannot start the program's loader: starting it fails \
         with \"permission denied\"",
    );
    assert_eq!(
        j.report[0]["problems"][0]["hint"],
        "COPY --chmod=0755 it: without an execute bit not even root may execute it"
    );
    // Root reads and executes them all the same.
    judge_made(
        d,
        "libs-root",
        &layer(0o700, 0o600),
        r#"{"Entrypoint":["/app"]}"#,
    )
    .passes("hello from c-dynamic-pie\n", &[&at]);
}

/// A FIFO as the entrypoint is a failure naming its kind, not "is empty".
#[test]
fn a_fifo_entrypoint_fails_naming_its_kind() {
    if !podman_ready() {
        return;
    }
    let dir = common::tempdir();
    let d = dir.path();
    let layer = made_layer(&[("app", Made::Fifo, 0o755, 0, 0)]);
    judge_made(d, "fifo", &layer, r#"{"Entrypoint":["/app"]}"#).fails(
        "permission denied",
        0,
        &format!("{}:/app", d.join("image.tar").display()),
        "not-a-program",
        "/app is a FIFO in the image, not a program: starting it fails with \"permission \
         denied\"",
    );
}

/// The static shell of these tests (Debian's busybox-static, which runs as `sh`).
fn static_sh() -> PathBuf {
    let p = PathBuf::from("/bin/busybox");
    let out = Std::new("file").arg(&p).output();
    assert!(
        out.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("statically linked")),
        "the tests need a static /bin/busybox: apt-get install busybox-static"
    );
    p
}

/// The shell form: the shell, then the program its simple command line starts.
#[test]
fn the_shell_form_checks_the_shell_and_the_command_it_runs() {
    if !podman_ready() {
        return;
    }
    let sh = static_sh();
    let files = |hello: &str| vec![(sh.clone(), "sh"), (fixture(hello), "hello")];
    let lines = [
        "COPY sh /bin/sh",
        "COPY hello /hello",
        "ENTRYPOINT /hello arg",
    ];
    let (j, archive) = judge_built("shell-dynamic", &lines, &files("c-dynamic-pie"));
    j.fails(
        "/hello: not found",
        1,
        &format!("{archive}:/hello"),
        "missing-interpreter",
        "needs the loader /lib64/ld-linux-x86-64.so.2, which is not in the image",
    );
    assert_eq!(j.report[0]["path"], format!("{archive}:/bin/sh"));
    assert_eq!(j.report[0]["verdict"], "pass");
    let (j, archive) = judge_built("shell-static", &lines, &files("c-static"));
    j.passes(
        "hello from c-static\n",
        &[&format!("{archive}:/bin/sh"), &format!("{archive}:/hello")],
    );
    // A line it cannot follow: the shell is checked, and the report says the rest was not.
    let lines = [
        "COPY sh /bin/sh",
        "COPY hello /hello",
        "ENTRYPOINT /hello arg | cat",
    ];
    let (j, archive) = judge_built("shell-complex", &lines, &files("c-static"));
    j.passes("hello from c-static\n", &[&format!("{archive}:/bin/sh")]);
    let warnings = j.report[0]["warnings"].as_array().unwrap();
    let unfollowed = warnings
        .iter()
        .find(|w| w["code"] == "unfollowed-shell-command")
        .unwrap_or_else(|| panic!("{}", j.report));
    assert_eq!(
        unfollowed["message"],
        "the shell runs \"/hello arg | cat\", a command line too complex to tell which program \
         it starts: only /bin/sh was checked"
    );
}

/// A `#!` script runs when its interpreter is in the image, and fails naming it when not.
#[test]
fn scripts_start_when_their_interpreter_is_in_the_image() {
    if !podman_ready() {
        return;
    }
    let sh = static_sh();
    let dir = common::tempdir();
    let script = dir.path().join("run.sh");
    fs::write(&script, "#!/bin/sh\necho hello from a script\n").unwrap();
    let (j, archive) = judge_built(
        "script-sh",
        &[
            "COPY sh /bin/sh",
            "COPY --chmod=0755 run.sh /run.sh",
            "ENTRYPOINT [\"/run.sh\"]",
        ],
        &[(sh, "sh"), (script.clone(), "run.sh")],
    );
    j.passes("hello from a script\n", &[&format!("{archive}:/run.sh")]);
    assert_eq!(j.report[0]["script_interpreter"], "/bin/sh");
    assert_eq!(j.report[0]["file_size"], 35);
    let (j, archive) = judge_built(
        "script-nosh",
        &[
            "COPY --chmod=0755 run.sh /run.sh",
            "ENTRYPOINT [\"/run.sh\"]",
        ],
        &[(script, "run.sh")],
    );
    j.fails(
        "no such file or directory",
        0,
        &format!("{archive}:/run.sh"),
        "script",
        "script needs /bin/sh, which is not in the image",
    );
}

/// `ENTRYPOINT [""]` resets the entrypoint: the Cmd is what runs, and what is checked.
#[test]
fn an_empty_entrypoint_runs_the_cmd() {
    if !podman_ready() {
        return;
    }
    let (j, archive) = judge_built(
        "empty-entrypoint",
        &["COPY app /hello", "ENTRYPOINT [\"\"]", "CMD [\"/hello\"]"],
        &[(fixture("c-static"), "app")],
    );
    j.passes("hello from c-static\n", &[&format!("{archive}:/hello")]);
}

/// The issue's own Dockerfiles, built by `podman build`: `COPY --chmod=0700` under `USER 65534`
/// fails, `--chmod=0755` passes; `USER nonroot` needs an `/etc/passwd` naming it.
#[test]
fn copy_chmod_and_user_as_podman_builds_them() {
    if !podman_ready() {
        return;
    }
    let dir = common::tempdir();
    let passwd = dir.path().join("passwd");
    fs::write(
        &passwd,
        "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n",
    )
    .unwrap();
    let app = || (fixture("c-static"), "app");
    let (j, archive) = judge_built(
        "chmod-0700",
        &[
            "COPY --chmod=0700 app /app",
            "USER 65534",
            "ENTRYPOINT [\"/app\"]",
        ],
        &[app()],
    );
    j.fails(
        "permission denied",
        0,
        &format!("{archive}:/app"),
        "permission-denied",
        "/app is mode 0700 owned by 0:0, and user 65534 (uid 65534, gid 0) cannot execute it: \
         starting it fails with \"permission denied\"",
    );
    let (j, archive) = judge_built(
        "chmod-0755",
        &[
            "COPY --chmod=0755 app /app",
            "USER 65534",
            "ENTRYPOINT [\"/app\"]",
        ],
        &[app()],
    );
    j.passes("hello from c-static\n", &[&format!("{archive}:/app")]);
    let (j, archive) = judge_built(
        "user-name",
        &["COPY app /app", "USER nonroot", "ENTRYPOINT [\"/app\"]"],
        &[app()],
    );
    j.fails(
        "unable to find user nonroot",
        0,
        &format!("{archive}:/app"),
        "unknown-user",
        "USER nonroot: the image's /etc/passwd is missing: starting the container fails with \
         \"unable to find user nonroot\"",
    );
    let (j, archive) = judge_built(
        "user-name-passwd",
        &[
            "COPY passwd /etc/passwd",
            "COPY app /app",
            "USER nonroot",
            "ENTRYPOINT [\"/app\"]",
        ],
        &[app(), (passwd, "passwd")],
    );
    j.passes("hello from c-static\n", &[&format!("{archive}:/app")]);
}

/// `yes | binslim verify --image -` and `--image /dev/zero`: a stream that is not a tar fails
/// at its first block (exit 2, "not a tar archive"), and an empty one at its end-of-archive
/// block, instead of being copied into the temporary directory without end.
#[test]
fn endless_streams_fail_at_once() {
    let bin = assert_cmd::cargo::cargo_bin("binslim");
    let tmp = common::tempdir();
    let run = |shell: &str| {
        Std::new("timeout")
            .args(["10", "sh", "-c", shell])
            .env("BINSLIM", &bin)
            .env("TMPDIR", tmp.path())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = run("yes | \"$BINSLIM\" --color=never verify --image -");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "binslim: stdin: not a tar archive: bad tar header at byte 0: bad checksum field\n"
    );
    let out = run("\"$BINSLIM\" --color=never verify --image /dev/zero");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "binslim: /dev/zero: holds neither index.json nor manifest.json: not a docker save, \
         podman save or oci-archive tar\n"
    );
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
}

/// Runs `f` with a podman image built from `lines` (files from `files` in its context), removing
/// the image afterwards, whatever `f` does.
fn with_image(name: &str, lines: &[&str], files: &[(PathBuf, &str)], f: impl FnOnce(&str, &Path)) {
    let _turn = podman_turn();
    let dir = common::tempdir();
    for (src, dest) in files {
        fs::copy(src, dir.path().join(dest)).unwrap();
    }
    let tag = podman_build(dir.path(), &containerfile(lines), name);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&tag, dir.path())));
    podman(&["rmi", "-f", &tag]);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

/// `binslim verify --json --image IMAGE`: exit code and report.
fn verify_json_image(image: &Path, extra: &[&str]) -> (i32, Value) {
    let out = verify_image(image, &[&["--json"][..], extra].concat());
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    (out.status.code().unwrap(), report)
}

/// `podman save --format docker-dir` (a directory with `manifest.json` and blobs named by their
/// digest; `--compress` gzips the layers) is read, and its verdict is the docker-archive's and
/// podman run's.
#[test]
fn docker_dir_agrees_with_docker_archive() {
    if !podman_ready() {
        return;
    }
    let lines = ["COPY app /app", "ENTRYPOINT [\"/app\"]"];
    let files = [(fixture("c-dynamic-pie"), "app")];
    with_image("docker-dir", &lines, &files, |tag, dir| {
        let (_, stderr, code) = common::podman_run(tag, &[]);
        assert!(
            code != 0 && stderr.contains("exec /app: no such file or directory"),
            "{stderr}"
        );
        let tar = dir.join("image.tar");
        podman_save(tag, "docker-archive", &tar);
        let (code, want) = verify_json_image(&tar, &[]);
        assert_eq!(code, 1, "{want}");
        assert_eq!(
            want[0]["problems"][0]["code"], "missing-interpreter",
            "{want}"
        );
        for compress in [false, true] {
            let out = dir.join(format!("dir-{compress}"));
            let mut args = vec!["save", "-q", "--format", "docker-dir"];
            if compress {
                args.push("--compress");
            }
            args.extend(["-o", out.to_str().unwrap(), tag]);
            let o = podman(&args);
            assert!(o.status.success(), "{o:?}");
            assert!(out.join("manifest.json").is_file() && !out.join("index.json").exists());
            let (code, got) = verify_json_image(&out, &[]);
            assert_eq!(code, 1, "{got}");
            assert_eq!(
                got[0]["problems"], want[0]["problems"],
                "compress: {compress}"
            );
            assert_eq!(got[0]["path"], format!("{}:/app", out.display()));
        }
    });
}

/// `--platform linux/amd64/v2` selects, in a real index (`podman manifest push --all`), the
/// amd64 image that records no variant, as skopeo does; a platform skopeo finds nothing for is
/// exit 2 for binslim too.
#[test]
fn a_platform_variant_selects_a_baseline_image_as_skopeo_does() {
    if !podman_ready() || !common::have_tool("skopeo") {
        return;
    }
    let lines = ["COPY app /server", "ENTRYPOINT [\"/server\"]"];
    let files = [(fixture("c-static"), "app")];
    with_image("variant", &lines, &files, |tag, dir| {
        let list = unique_tag("variant-list");
        let archive = dir.join("list.tar");
        let made = podman(&["manifest", "create", &list]).status.success()
            && podman(&[
                "manifest",
                "add",
                &list,
                &format!("containers-storage:{tag}"),
            ])
            .status
            .success()
            && podman(&[
                "manifest",
                "push",
                "-q",
                "--all",
                &list,
                &format!("oci-archive:{}", archive.display()),
            ])
            .status
            .success();
        podman(&["manifest", "rm", &list]);
        assert!(made, "podman manifest create/add/push");
        let skopeo = |arch: &str, variant: &[&str]| {
            Std::new("skopeo")
                .args(["--override-os", "linux", "--override-arch", arch])
                .args(variant)
                .args(["inspect", "--config"])
                .arg(format!("oci-archive:{}", archive.display()))
                .output()
                .unwrap()
        };
        let s = skopeo("amd64", &["--override-variant", "v2"]);
        assert!(s.status.success(), "{s:?}");
        let cfg: Value = serde_json::from_slice(&s.stdout).unwrap();
        assert_eq!(
            (&cfg["architecture"], cfg.get("variant")),
            (&"amd64".into(), None)
        );
        let out = verify_image(&archive, &["--platform", "linux/amd64/v2"]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!(
                "PASS {}:/server: static x86_64, 744.6 KiB\n",
                archive.display()
            )
        );
        assert!(!skopeo("arm64", &[]).status.success());
        let out = verify_image(&archive, &["--platform", "linux/arm64"]);
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!(
                "binslim: {}: has no linux/arm64 image (it has linux/amd64)\n",
                archive.display()
            )
        );
    });
}

/// `podman save -m` of two images of one platform: each report is named by the image's tag,
/// so the failing one can be told (podman run agrees on which one fails).
#[test]
fn a_multi_image_archive_names_each_image_by_its_tag() {
    if !podman_ready() {
        return;
    }
    let lines = ["COPY app /server", "ENTRYPOINT [\"/server\"]"];
    with_image(
        "multi-ok",
        &lines,
        &[(fixture("c-static"), "app")],
        |good, dir| {
            // The second image, built in the same turn (the first holds it).
            let ctx = dir.join("bad");
            fs::create_dir(&ctx).unwrap();
            fs::copy(fixture("c-dynamic-pie"), ctx.join("app")).unwrap();
            let bad = podman_build(&ctx, &containerfile(&lines), "multi-bad");
            let bad = bad.as_str();
            let result = std::panic::catch_unwind(|| {
                assert_eq!(common::podman_run(good, &[]).2, 0);
                let (_, stderr, code) = common::podman_run(bad, &[]);
                assert!(
                    code != 0 && stderr.contains("no such file or directory"),
                    "{stderr}"
                );
                let tar = dir.join("multi.tar");
                let o = podman(&[
                    "save",
                    "-q",
                    "-m",
                    "--format",
                    "docker-archive",
                    "-o",
                    tar.to_str().unwrap(),
                    good,
                    bad,
                ]);
                assert!(o.status.success(), "{o:?}");
                let out = verify_image(&tar, &[]);
                assert_eq!(out.status.code(), Some(1), "{out:?}");
                let t = tar.display();
                let text = String::from_utf8_lossy(&out.stdout);
                let first: Vec<&str> = text.lines().filter(|l| !l.starts_with(' ')).collect();
                assert_eq!(
                    first,
                    [
                        format!("PASS {t}[{good}:latest]:/server: static x86_64, 744.6 KiB"),
                        format!(
                            "FAIL {t}[{bad}:latest]:/server: needs the loader \
                         /lib64/ld-linux-x86-64.so.2, which is not in the image"
                        ),
                        "checked 2: 1 passed, 1 failed".to_string(),
                    ]
                );
            });
            podman(&["rmi", "-f", bad]);
            if let Err(e) = result {
                std::panic::resume_unwind(e);
            }
        },
    );
}

/// A tar header of `kind` (`b'2'` symlink, `b'5'` directory) at `name`, without payload.
fn raw_header(name: &str, kind: u8, link: &str) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
    h.set_entry_type(tar::EntryType::new(kind));
    h.set_size(0);
    h.set_mode(0o755);
    h.set_cksum();
    h.as_bytes().to_vec()
}

/// A docker-archive of one uncompressed layer made of `entries` (then the end blocks), whose
/// entrypoint is `/x`.
fn archive_of_entries(path: &Path, entries: impl Iterator<Item = Vec<u8>>) {
    let mut layer: Vec<u8> = entries.flatten().collect();
    layer.extend_from_slice(&[0; 1024]);
    let cfg = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{"Entrypoint":["/x"]}},"rootfs":{{"type":"layers","diff_ids":["sha256:{}"]}}}}"#,
        sha256(&layer)
    );
    fs::write(path, docker_archive(&layer, &cfg)).unwrap();
}

/// SIGTERM or SIGINT while an image is merged (150,000 symlinks, seconds of work): binslim
/// removes its temporary root, then ends by that signal (the shell's 143 / 130).
#[test]
fn a_signal_removes_the_temporary_root() {
    use std::os::unix::process::ExitStatusExt;
    let dir = common::tempdir();
    let image = dir.path().join("links.tar");
    archive_of_entries(
        &image,
        (0..150_000).map(|i| raw_header(&format!("d{}/l{i}", i / 1000), b'2', "x")),
    );
    for (name, number) in [("TERM", libc::SIGTERM), ("INT", libc::SIGINT)] {
        let tmp = dir.path().join(format!("tmp-{name}"));
        fs::create_dir(&tmp).unwrap();
        let mut child = Std::new(assert_cmd::cargo::cargo_bin("binslim"))
            .args(["verify", "--image"])
            .arg(&image)
            .env("TMPDIR", &tmp)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait until the merge is under way: the root exists and holds some of the layer.
        let started = std::time::Instant::now();
        let busy = loop {
            let root = fs::read_dir(&tmp)
                .unwrap()
                .flatten()
                .next()
                .map(|e| e.path());
            if root.is_some_and(|r| fs::read_dir(r).is_ok_and(|d| d.count() > 2)) {
                break true;
            }
            if child.try_wait().unwrap().is_some() || started.elapsed().as_secs() > 60 {
                break false;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        assert!(busy, "SIG{name}: binslim ended before its root was seen");
        let kill = Std::new("kill")
            .args([format!("-{name}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(number), "SIG{name}: {status:?}");
        let left: Vec<_> = fs::read_dir(&tmp)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert!(left.is_empty(), "SIG{name} left {left:?}");
    }
}

/// An image of 100,000 directories (and a static /x) verifies with `$TMPDIR` on disk (the test's
/// temporary directory under target/): its directories are not all made there (the merge's own
/// count is asserted in `directories_are_made_only_where_a_check_reaches`; the time is
/// `benches/verify-image-dirs.sh`'s).
#[test]
fn an_image_of_100k_directories_verifies() {
    let dir = common::tempdir();
    let image = dir.path().join("dirs.tar");
    let server = fs::read(fixture("c-static")).unwrap();
    let dirs = (0..100_000).map(|i| raw_header(&format!("d{}/e{i}/", i / 1000), b'5', ""));
    archive_of_entries(&image, dirs.chain([common::raw_entry("x", &server)]));
    let tmp = dir.path().join("tmp");
    fs::create_dir(&tmp).unwrap();
    let out = binslim()
        .args(["verify", "--image"])
        .arg(&image)
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("PASS {}:/x: static x86_64, 744.6 KiB\n", image.display())
    );
    assert_eq!(fs::read_dir(&tmp).unwrap().count(), 0);
}
