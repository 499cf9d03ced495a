//! Truth tests for `verify --root`: every resolution rule against a real start of the same
//! program in the same root (`chroot ROOT /app`), with roots, programs and libraries built here
//! with gcc and musl-gcc. The verdict (and, where it says something, the code and message) must
//! be what the real loader does.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command as Std;

use common::{
    GLIBC_LIBC as LIBC, GLIBC_LOADER as LOADER, binslim, chroot_permitted, chroot_run, codes, link,
    put, verify_json,
};
use serde_json::Value;
use tempfile::TempDir;

const HELLO: &str = r#"#include <stdio.h>
int main(void) { puts("hello from app"); return 0; }
"#;
/// A program that calls into libgreet.
const USE_GREET: &str = r#"#include <stdio.h>
const char *greet(void);
int main(void) { printf("hello from app via %s\n", greet()); return 0; }
"#;
const GREET: &str = r#"const char *greet(void) { return "greet"; }
"#;

/// Runs gcc (or musl-gcc) in `dir`, panicking with its output on failure.
fn cc(compiler: &str, dir: &Path, args: &[&str]) {
    let out = Std::new(compiler)
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run the compiler");
    assert!(out.status.success(), "{compiler} {args:?}: {out:?}");
}

fn write(dir: &Path, name: &str, text: &str) {
    fs::write(dir.join(name), text).unwrap();
}

/// The first problem's message is `text` with `{root}` standing for the root directory.
fn first_problem_says(v: &(i32, Value), root: &Path, text: &str) {
    assert_eq!(
        v.1["problems"][0]["message"],
        text.replace("{root}", &root.display().to_string())
    );
}

/// A root with the loader and libc where Debian puts them, the /lib64 link the program names,
/// and the host file `app` as /app.
fn root_with_app(app: impl AsRef<Path>) -> TempDir {
    let root = common::glibc_root();
    put(root.path(), app, "/app");
    root
}

/// Writes `HELLO` as app.c in `dir` and builds `app` from it with gcc.
fn build_hello(dir: &Path) {
    write(dir, "app.c", HELLO);
    cc("gcc", dir, &["-o", "app", "app.c"]);
}

/// Builds libgreet.so (SONAME libgreet.so) from `GREET` in `dir` with `compiler`.
fn build_libgreet(compiler: &str, dir: &Path) {
    write(dir, "greet.c", GREET);
    cc(
        compiler,
        dir,
        &[
            "-shared",
            "-fPIC",
            "-Wl,-soname,libgreet.so",
            "-o",
            "libgreet.so",
            "greet.c",
        ],
    );
}

/// What a real start says: exit code, stdout, stderr.
fn start(root: &Path, prog: &str, env: &[(&str, &str)]) -> (i32, String, String) {
    chroot_run(root, &[prog], env)
}

/// `verify --root ROOT ROOT/PROG` with extra args.
fn verify_in(root: &Path, prog: &str, extra: &[&str]) -> (i32, Value) {
    let r = root.to_str().unwrap();
    let p = root.join(prog.trim_start_matches('/'));
    let mut args = vec!["--root", r];
    args.extend_from_slice(extra);
    let p = p.to_str().unwrap().to_string();
    args.push(&p);
    let (code, v) = verify_json(&args);
    (code, v[0].clone())
}

/// The verdict agrees with the start: exit 0 and the greeting <=> verify exit 0.
fn agree(root: &Path, prog: &str, env: &[(&str, &str)], verdict: &(i32, Value)) -> bool {
    let (code, out, err) = start(root, prog, env);
    let started = code == 0 && out.starts_with("hello from app");
    assert_eq!(
        verdict.0 == 0,
        started,
        "verify says {}, the start says exit {code} {out:?} {err:?}",
        verdict.1
    );
    started
}

/// Builds libgreet.so (SONAME libgreet.so) and `app` linked against it in a build directory,
/// with extra link flags for the program.
fn build_greet(build: &Path, app_flags: &[&str]) -> (PathBuf, PathBuf) {
    build_libgreet("gcc", build);
    write(build, "app.c", USE_GREET);
    let mut args = vec!["-o", "app", "app.c", "-L.", "-lgreet"];
    args.extend_from_slice(app_flags);
    cc("gcc", build, &args);
    (build.join("app"), build.join("libgreet.so"))
}

/// [`build_greet`] with `app_flags` in a new build directory, and a Debian root with the app
/// as /app and libgreet.so at `lib_at`: (build directory, root, app, libgreet.so).
fn greet_root(app_flags: &[&str], lib_at: &str) -> (TempDir, TempDir, PathBuf, PathBuf) {
    let build = common::tempdir();
    let (app, lib) = build_greet(build.path(), app_flags);
    let root = root_with_app(&app);
    put(root.path(), &lib, lib_at);
    (build, root, app, lib)
}

/// Debian's x86_64 loader never looks in /lib64 or /usr/lib64: a libc only there is not found,
/// wherever the loader itself sits; ldconfig with an ld.so.conf naming it fixes that.
#[test]
fn libc_only_in_lib64_fails_like_the_loader() {
    if !chroot_permitted() {
        return;
    }
    let build = common::tempdir();
    build_hello(build.path());

    for libdir in ["/usr/lib64", "/lib64"] {
        let root = common::tempdir();
        let r = root.path();
        put(r, LOADER, "/usr/lib64/ld-linux-x86-64.so.2");
        if libdir == "/lib64" {
            fs::create_dir_all(r.join("lib64")).unwrap();
            symlink(
                "/usr/lib64/ld-linux-x86-64.so.2",
                r.join("lib64/ld-linux-x86-64.so.2"),
            )
            .unwrap();
        } else {
            link(
                r,
                "/usr/lib64/ld-linux-x86-64.so.2",
                "/lib64/ld-linux-x86-64.so.2",
            );
        }
        put(r, LIBC, &format!("{libdir}/libc.so.6"));
        put(r, build.path().join("app"), "/app");

        let v = verify_in(r, "/app", &[]);
        assert!(!agree(r, "/app", &[], &v));
        assert_eq!(codes(&v.1["problems"]), ["missing-library"]);
        assert_eq!(v.1["libraries"][0]["path"], Value::Null);
        let (_, _, err) = start(r, "/app", &[]);
        assert_eq!(
            err,
            "/app: error while loading shared libraries: libc.so.6: cannot open shared object \
             file: No such file or directory\n"
        );

        // ldconfig writes the directory into the cache, which the loader reads.
        fs::create_dir_all(r.join("etc")).unwrap();
        fs::write(r.join("etc/ld.so.conf"), format!("{libdir}\n")).unwrap();
        let v = verify_in(r, "/app", &[]);
        assert!(!agree(r, "/app", &[], &v));
        assert_eq!(codes(&v.1["warnings"]), ["ld-so-conf-without-cache"]);
        let st = Std::new("ldconfig").arg("-r").arg(r).status().unwrap();
        assert!(st.success());
        let v = verify_in(r, "/app", &[]);
        assert!(agree(r, "/app", &[], &v));
        assert_eq!(v.1["libraries"][0]["found_via"], "cache");
        assert_eq!(v.1["libraries"][0]["path"], format!("{libdir}/libc.so.6"));
    }
}

/// /etc/ld.so.conf is read by ldconfig only: without a cache its directories are not searched
/// (a warning says so); each cache format ldconfig writes (old, compat, new) is read.
#[test]
fn ld_so_conf_counts_only_through_the_cache() {
    if !chroot_permitted() {
        return;
    }
    let (_build, root, _, lib) = greet_root(&[], "/opt/greet/libgreet.so");
    let r = root.path();
    fs::create_dir_all(r.join("etc/ld.so.conf.d")).unwrap();
    fs::write(
        r.join("etc/ld.so.conf"),
        "include /etc/ld.so.conf.d/*.conf\n",
    )
    .unwrap();
    fs::write(r.join("etc/ld.so.conf.d/greet.conf"), "/opt/greet\n").unwrap();

    let v = verify_in(r, "/app", &[]);
    assert!(!agree(r, "/app", &[], &v));
    assert_eq!(codes(&v.1["problems"]), ["missing-library"]);
    assert_eq!(codes(&v.1["warnings"]), ["ld-so-conf-without-cache"]);
    assert_eq!(
        v.1["warnings"][0]["message"],
        format!(
            "/etc/ld.so.conf names /opt/greet, but {} has no /etc/ld.so.cache: the loader never \
             reads ld.so.conf, only the cache ldconfig builds from it, so it does not search there",
            r.display()
        )
    );
    // --strict makes the warning a problem too.
    let (code, v2) = verify_in(r, "/app", &["--strict"]);
    assert_eq!(code, 1);
    assert_eq!(
        codes(&v2["problems"]),
        ["missing-library", "ld-so-conf-without-cache"]
    );

    for format in ["old", "compat", "new"] {
        let st = Std::new("ldconfig")
            .args(["-c", format, "-r"])
            .arg(r)
            .status()
            .unwrap();
        assert!(st.success());
        let v = verify_in(r, "/app", &[]);
        assert!(agree(r, "/app", &[], &v), "{format}");
        assert_eq!(v.1["warnings"], Value::Array(vec![]), "{format}");
        assert_eq!(v.1["libraries"][0]["name"], "libgreet.so");
        assert_eq!(v.1["libraries"][0]["path"], "/opt/greet/libgreet.so");
        assert_eq!(v.1["libraries"][0]["found_via"], "cache", "{format}");
    }

    // A cache that predates the library: stale, the loader does not find it.
    fs::remove_file(r.join("opt/greet/libgreet.so")).unwrap();
    assert!(
        Std::new("ldconfig")
            .arg("-r")
            .arg(r)
            .status()
            .unwrap()
            .success()
    );
    put(r, &lib, "/opt/greet/libgreet.so");
    let v = verify_in(r, "/app", &[]);
    assert!(!agree(r, "/app", &[], &v));
    assert_eq!(codes(&v.1["warnings"]), ["ld-so-conf-without-cache"]);
    assert_eq!(
        v.1["warnings"][0]["message"],
        "libgreet.so is in /opt/greet, which /etc/ld.so.conf names, but /etc/ld.so.cache does \
         not list it: the loader reads only the cache"
    );
}

/// A library built with a version script that lacks the version the program was linked
/// against: the loader stops with "version `VERS_2' not found", and so does verify.
#[test]
fn missing_symbol_version_fails_like_the_loader() {
    if !chroot_permitted() {
        return;
    }
    let build = common::tempdir();
    let b = build.path();
    write(b, "v1.map", "VERS_1 { global: old_fn; local: *; };\n");
    write(
        b,
        "v2.map",
        "VERS_1 { global: old_fn; local: *; };\nVERS_2 { global: new_fn; } VERS_1;\n",
    );
    write(b, "v1.c", "int old_fn(void) { return 1; }\n");
    write(
        b,
        "v2.c",
        "int old_fn(void) { return 1; }\nint new_fn(void) { return 2; }\n",
    );
    write(
        b,
        "app.c",
        "#include <stdio.h>\nint old_fn(void); int new_fn(void);\n\
         int main(void) { printf(\"hello from app %d\\n\", old_fn() + new_fn()); return 0; }\n",
    );
    fs::create_dir_all(b.join("v1")).unwrap();
    fs::create_dir_all(b.join("v2")).unwrap();
    for v in ["v1", "v2"] {
        cc(
            "gcc",
            b,
            &[
                "-shared",
                "-fPIC",
                "-Wl,-soname,libvers.so.1",
                &format!("-Wl,--version-script={v}.map"),
                "-o",
                &format!("{v}/libvers.so.1"),
                &format!("{v}.c"),
            ],
        );
    }
    cc(
        "gcc",
        b,
        &[
            "-o",
            "app",
            "app.c",
            "v2/libvers.so.1",
            "-Wl,-rpath,/opt/vers",
        ],
    );

    let root = root_with_app(b.join("app"));
    let r = root.path();
    put(r, b.join("v1/libvers.so.1"), "/opt/vers/libvers.so.1");
    let v = verify_in(r, "/app", &[]);
    assert!(!agree(r, "/app", &[], &v));
    let (_, _, err) = start(r, "/app", &[]);
    assert_eq!(
        err,
        "/app: /opt/vers/libvers.so.1: version `VERS_2' not found (required by /app)\n"
    );
    assert_eq!(codes(&v.1["problems"]), ["missing-symbol-version"]);
    first_problem_says(
        &v,
        r,
        "libvers.so.1 in {root} does not define VERS_2 (needed by /app)",
    );
    let libs = v.1["libraries"].as_array().unwrap();
    let vers = libs.iter().find(|l| l["name"] == "libvers.so.1").unwrap();
    assert_eq!(vers["missing_versions"], serde_json::json!(["VERS_2"]));
    assert_eq!(vers["found_via"], "runpath"); // Debian's gcc links --enable-new-dtags
    // libc.so.6 provides every GLIBC_ version the program needs.
    let libc = libs.iter().find(|l| l["name"] == "libc.so.6").unwrap();
    assert_eq!(libc["missing_versions"], serde_json::json!([]));

    put(r, b.join("v2/libvers.so.1"), "/opt/vers/libvers.so.1");
    let v = verify_in(r, "/app", &[]);
    assert!(agree(r, "/app", &[], &v));
}

/// A loader of another machine at the loader's path: the kernel refuses to start the program.
#[test]
fn loader_of_another_machine_fails_like_the_kernel() {
    if !chroot_permitted() {
        return;
    }
    let build = common::tempdir();
    build_hello(build.path());
    for (fixture, machine) in [
        ("arm64-static", "aarch64 (elf64)"),
        ("i386-static", "i386 (elf32)"),
    ] {
        let root = root_with_app(build.path().join("app"));
        let r = root.path();
        fs::remove_file(r.join(LOADER.trim_start_matches('/'))).unwrap();
        put(r, common::fixture(fixture), LOADER);
        let v = verify_in(r, "/app", &[]);
        assert!(!agree(r, "/app", &[], &v));
        let (_, _, err) = start(r, "/app", &[]);
        assert!(
            err.contains("Accessing a corrupted shared library"),
            "{err}"
        );
        assert_eq!(codes(&v.1["problems"]), ["bad-interpreter"]);
        first_problem_says(
            &v,
            r,
            &format!(
                "needs the loader /lib64/ld-linux-x86-64.so.2, and the one in {{root}} is built for \
                 {machine}, but the program is x86_64 (elf64): the kernel cannot start it"
            ),
        );
    }
}

/// Builds `libgreet.so`, `libouter.so` (needs libgreet; `outer_flags` added to its link) and
/// the sources of `app` (needs libouter) in `b`; the app is linked by the caller.
fn build_chain(b: &Path, outer_flags: &[&str]) {
    build_libgreet("gcc", b);
    write(
        b,
        "outer.c",
        "const char *greet(void);\nconst char *outer(void) { return greet(); }\n",
    );
    write(
        b,
        "app.c",
        "#include <stdio.h>\nconst char *outer(void);\n\
         int main(void) { printf(\"hello from app via %s\\n\", outer()); return 0; }\n",
    );
    let mut args = vec!["-shared", "-fPIC", "-Wl,-soname,libouter.so"];
    args.extend_from_slice(outer_flags);
    args.extend(["-o", "libouter.so", "outer.c", "-L.", "-lgreet"]);
    cc("gcc", b, &args);
}

/// DT_RPATH is inherited by the libraries an object loads; DT_RUNPATH serves only the object's
/// own DT_NEEDED.
#[test]
fn rpath_is_inherited_and_runpath_is_not() {
    if !chroot_permitted() {
        return;
    }
    let build = common::tempdir();
    let b = build.path();
    build_chain(b, &[]);
    for (tags, inherited) in [("--disable-new-dtags", true), ("--enable-new-dtags", false)] {
        cc(
            "gcc",
            b,
            &[
                "-o",
                "app",
                "app.c",
                "-L.",
                "-louter",
                "-Wl,-rpath-link,.",
                &format!("-Wl,{tags}"),
                "-Wl,-rpath,/opt/app",
            ],
        );
        let root = root_with_app(b.join("app"));
        let r = root.path();
        put(r, b.join("libouter.so"), "/opt/app/libouter.so");
        put(r, b.join("libgreet.so"), "/opt/app/libgreet.so");
        let v = verify_in(r, "/app", &[]);
        assert_eq!(agree(r, "/app", &[], &v), inherited, "{tags}");
        let libs = v.1["libraries"].as_array().unwrap();
        let greet = libs.iter().find(|l| l["name"] == "libgreet.so").unwrap();
        if inherited {
            assert_eq!(greet["found_via"], "rpath");
        } else {
            assert_eq!(greet["path"], Value::Null);
            first_problem_says(
                &v,
                r,
                "needs libgreet.so (for libouter.so), which is not found in {root}",
            );
        }
    }
}

/// LD_LIBRARY_PATH given with --env is what `env LD_LIBRARY_PATH=... chroot` gives; `$LIB` in
/// an RPATH expands to the loader's own library directory name.
#[test]
fn ld_library_path_and_lib_token() {
    if !chroot_permitted() {
        return;
    }
    let (_build, root, app, lib) = greet_root(&[], "/opt/l/libgreet.so");
    let r = root.path();
    let v = verify_in(r, "/app", &[]);
    assert!(!agree(r, "/app", &[], &v));
    let env = [("LD_LIBRARY_PATH", "/nowhere:/opt/l")];
    let v = verify_in(r, "/app", &["--env", "LD_LIBRARY_PATH=/nowhere:/opt/l"]);
    assert!(agree(r, "/app", &env, &v));
    assert_eq!(v.1["libraries"][0]["found_via"], "ld_library_path");
    assert_eq!(v.1["libraries"][0]["path"], "/opt/l/libgreet.so");

    // --verbose shows where each library came from.
    let out = binslim()
        .args(["verify", "--verbose", "--root"])
        .arg(r)
        .args(["--env", "LD_LIBRARY_PATH=/opt/l"])
        .arg(r.join("app"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "PASS {}: dynamic x86_64, {}\n  loader {LOADER}\n  libgreet.so => /opt/l/libgreet.so \
             (ld_library_path)\n  libc.so.6 => {LIBC} (default)\n  ld-linux-x86-64.so.2 => \
             /lib64/ld-linux-x86-64.so.2 (loader)\n",
            r.join("app").display(),
            binslim::report::human(fs::metadata(&app).unwrap().len())
        )
    );

    // $LIB is lib/x86_64-linux-gnu for Debian's loader.
    let build2 = common::tempdir();
    let (app2, _) = build_greet(build2.path(), &["-Wl,-rpath,/opt/$LIB"]);
    put(r, &app2, "/app2");
    put(r, &lib, "/opt/lib/x86_64-linux-gnu/libgreet.so");
    fs::rename(r.join("app2"), r.join("app")).unwrap();
    let v = verify_in(r, "/app", &[]);
    assert!(agree(r, "/app", &[], &v));
    assert_eq!(
        v.1["libraries"][0]["path"],
        "/opt/lib/x86_64-linux-gnu/libgreet.so"
    );
}

/// musl: /etc/ld-musl-x86_64.path replaces the default directories; without it /lib,
/// /usr/local/lib and /usr/lib are searched; libc.so is the loader itself.
#[test]
fn musl_path_file_replaces_the_defaults() {
    if !chroot_permitted() {
        return;
    }
    let musl_loader = Path::new("/lib/ld-musl-x86_64.so.1");
    if !musl_loader.exists() || !common::have_tool("musl-gcc") {
        common::skip("musl (musl-tools) is not installed");
        return;
    }
    let b = common::tempdir();
    build_libgreet("musl-gcc", b.path());
    write(b.path(), "app.c", USE_GREET);
    cc(
        "musl-gcc",
        b.path(),
        &["-o", "app", "app.c", "-L.", "-lgreet"],
    );
    let root = common::tempdir();
    let r = root.path();
    put(r, musl_loader, "/lib/ld-musl-x86_64.so.1");
    put(r, b.path().join("app"), "/app");
    put(r, b.path().join("libgreet.so"), "/usr/lib/libgreet.so");
    let v = verify_in(r, "/app", &[]);
    assert!(agree(r, "/app", &[], &v));
    let libs = &v.1["libraries"];
    assert_eq!(libs[0]["name"], "libgreet.so");
    assert_eq!(libs[0]["found_via"], "default");
    assert_eq!(libs[1]["name"], "libc.so");
    assert_eq!(libs[1]["found_via"], "loader");

    // A path file that does not name /usr/lib: no longer found.
    fs::create_dir_all(r.join("etc")).unwrap();
    fs::write(r.join("etc/ld-musl-x86_64.path"), "/opt/m\n").unwrap();
    let v = verify_in(r, "/app", &[]);
    assert!(!agree(r, "/app", &[], &v));
    assert_eq!(codes(&v.1["problems"]), ["missing-library"]);
    // musl honours LD_LIBRARY_PATH too.
    let env = [("LD_LIBRARY_PATH", "/usr/lib")];
    let v = verify_in(r, "/app", &["--env", "LD_LIBRARY_PATH=/usr/lib"]);
    assert!(agree(r, "/app", &env, &v));
    assert_eq!(v.1["libraries"][0]["found_via"], "ld_library_path");
    fs::rename(r.join("usr/lib"), r.join("opt")).unwrap();
    fs::rename(r.join("opt/lib"), r.join("opt/m")).ok();
    put(r, b.path().join("libgreet.so"), "/opt/m/libgreet.so");
    let v = verify_in(r, "/app", &[]);
    assert!(agree(r, "/app", &[], &v));
    assert_eq!(v.1["libraries"][0]["path"], "/opt/m/libgreet.so");
}

/// A candidate of another machine is skipped and the search goes on; a library whose OS/ABI
/// byte is not SYSV or GNU stops the glibc loader where it is found, even when a good copy
/// comes later in the search.
#[test]
fn unloadable_library_stops_the_search() {
    if !chroot_permitted() {
        return;
    }
    let (_build, root, _, lib) = greet_root(
        &["-Wl,-rpath,/opt/first:/opt/second"],
        "/opt/second/libgreet.so",
    );
    let r = root.path();
    let v = verify_in(r, "/app", &[]);
    assert!(agree(r, "/app", &[], &v));
    // A candidate of another machine is skipped, and the search goes on to /opt/second.
    put(r, common::fixture("arm64-static"), "/opt/first/libgreet.so");
    let v = verify_in(r, "/app", &[]);
    assert!(agree(r, "/app", &[], &v));
    let greet = &v.1["libraries"][0];
    assert_eq!(
        (&greet["path"], &greet["found_via"]),
        (
            &Value::from("/opt/second/libgreet.so"),
            &Value::from("runpath")
        )
    );
    let mut bad = fs::read(&lib).unwrap();
    bad[7] = 9; // ELFOSABI_FREEBSD
    fs::write(r.join("opt/first/libgreet.so"), bad).unwrap();
    let v = verify_in(r, "/app", &[]);
    assert!(!agree(r, "/app", &[], &v));
    let (_, _, err) = start(r, "/app", &[]);
    assert_eq!(
        err,
        "/app: error while loading shared libraries: /opt/first/libgreet.so: ELF file OS ABI \
         invalid\n"
    );
    assert_eq!(codes(&v.1["problems"]), ["bad-library"]);
    first_problem_says(
        &v,
        r,
        "needs libgreet.so (for app), and the loader finds /opt/first/libgreet.so in {root}, \
             which it cannot load: ELF file OS ABI invalid",
    );
}

/// A library linked `-z nodefaultlib` (DF_1_NODEFLIB) gets nothing from the
/// cache's system directories or the default directories for its own DT_NEEDED.
#[test]
fn nodeflib_skips_cache_and_default_directories() {
    if !chroot_permitted() {
        return;
    }
    let build = common::tempdir();
    let b = build.path();
    build_chain(b, &["-Wl,-z,nodefaultlib"]);
    cc(
        "gcc",
        b,
        &[
            "-o",
            "app",
            "app.c",
            "-L.",
            "-louter",
            "-Wl,-rpath-link,.",
            "-Wl,-rpath,/opt/l",
        ],
    );
    let root = root_with_app(b.join("app"));
    let r = root.path();
    put(r, b.join("libouter.so"), "/opt/l/libouter.so");
    put(
        r,
        b.join("libgreet.so"),
        "/lib/x86_64-linux-gnu/libgreet.so",
    );
    fs::create_dir_all(r.join("etc")).unwrap();
    assert!(
        Std::new("ldconfig")
            .arg("-r")
            .arg(r)
            .status()
            .unwrap()
            .success()
    );
    let v = verify_in(r, "/app", &[]);
    assert!(!agree(r, "/app", &[], &v));
    first_problem_says(
        &v,
        r,
        "needs libgreet.so (for libouter.so), which is not found in {root}",
    );
    // LD_LIBRARY_PATH is not a default directory: it still counts.
    let env = [("LD_LIBRARY_PATH", "/lib/x86_64-linux-gnu")];
    let v = verify_in(
        r,
        "/app",
        &["--env", "LD_LIBRARY_PATH=/lib/x86_64-linux-gnu"],
    );
    assert!(agree(r, "/app", &env, &v));
}

#[test]
fn env_flag_needs_k_equals_v() {
    let out = binslim()
        .args(["verify", "--env", "LD_LIBRARY_PATH", "testdata/c-static"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with(
            "error: invalid value 'LD_LIBRARY_PATH' for '--env <K=V>': 'LD_LIBRARY_PATH' is not \
             K=V (e.g. LD_LIBRARY_PATH=/app/lib)\n"
        ),
        "{out:?}"
    );
}

/// A position-independent executable where a library is expected: glibc refuses it.
#[test]
fn pie_in_place_of_a_library_is_refused() {
    if !chroot_permitted() {
        return;
    }
    let build = common::tempdir();
    let b = build.path();
    let (app, _) = build_greet(b, &["-Wl,-rpath,/opt/l"]);
    write(
        b,
        "pie.c",
        "const char *greet(void) { return \"pie\"; }\nint main(void) { return 0; }\n",
    );
    cc(
        "gcc",
        b,
        &[
            "-fPIE",
            "-pie",
            "-Wl,-E",
            "-Wl,-soname,libgreet.so",
            "-o",
            "pie",
            "pie.c",
        ],
    );
    let root = root_with_app(&app);
    let r = root.path();
    put(r, b.join("pie"), "/opt/l/libgreet.so");
    let v = verify_in(r, "/app", &[]);
    assert!(!agree(r, "/app", &[], &v));
    let (_, _, err) = start(r, "/app", &[]);
    assert_eq!(
        err,
        "/app: error while loading shared libraries: libgreet.so: cannot dynamically load \
         position-independent executable\n"
    );
    assert_eq!(codes(&v.1["problems"]), ["bad-library"]);
    assert_eq!(v.1["libraries"][0]["found_via"], Value::Null);
    assert_eq!(v.1["libraries"][0]["path"], "/opt/l/libgreet.so");
}
