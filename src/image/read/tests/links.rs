//! Symlinks in directories not made yet are not made either ([`merge::Deferred::links`]) until
//! their directory is: the merge must read them as it reads links on disk, later layers must
//! replace, white out and hide them as they do links on disk, and what a check reaches through
//! them is what it reached when every link was made while the layers streamed by.

use super::*;

fn link(name: &str, target: &str) -> Vec<u8> {
    entry(name, b'2', target, b"", 0o777)
}

fn dir(name: &str) -> Vec<u8> {
    entry(name, b'5', "", b"", 0o755)
}

/// The links not made while the layers streamed by, as in-image paths (what a check makes
/// after the merge is not taken out).
fn pending(img: &MergedImage) -> Vec<String> {
    let d = img.deferred.as_ref().unwrap();
    d.files
        .links
        .paths()
        .map(|p| {
            let rel = p.strip_prefix(img.root()).unwrap().to_string_lossy();
            format!("/{rel}")
        })
        .collect()
}

fn is_link(p: &std::path::Path) -> bool {
    fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
}

/// Links (a chain of them, and one to a directory that a later entry of the same layer goes
/// through) cost nothing on disk while the layer streams by; reaching one makes its directory
/// and every link in it, as they were before.
#[test]
fn links_are_made_with_their_directory() {
    let img = read(&one_layer(&[
        dir("usr/"),
        dir("usr/lib/"),
        file("usr/lib/libreal.so.1", ELF),
        link("usr/lib/liba.so", "libb.so"),
        link("usr/lib/libb.so", "/usr/lib64/libreal.so"),
        link("usr/lib/libreal.so", "libreal.so.1"),
        link("usr/lib64", "lib"),
        link("usr/d1", "d2"),
        link("usr/d2", "/usr/lib"),
        // Through two links not made yet: lands in /usr/lib.
        file("usr/d1/libthrough.so", b"through"),
        file("app", ELF),
    ]))
    .unwrap();
    let r = img.root().to_path_buf();
    assert_eq!(dirs_on_disk(&r), 0);
    assert_eq!(
        pending(&img),
        [
            "/usr/d1",
            "/usr/d2",
            "/usr/lib/liba.so",
            "/usr/lib/libb.so",
            "/usr/lib/libreal.so",
            "/usr/lib64"
        ]
    );
    assert_eq!(img.content("/usr/lib/libthrough.so").unwrap(), b"through");
    assert_eq!(img.content("/usr/lib64/liba.so").unwrap(), ELF);
    // On disk now: /usr and /usr/lib with all their links, which the disk-only resolution
    // (the loader's) follows.
    assert_eq!(dirs_on_disk(&r), 2);
    for l in [
        "usr/d1",
        "usr/d2",
        "usr/lib64",
        "usr/lib/liba.so",
        "usr/lib/libreal.so",
    ] {
        assert!(is_link(&r.join(l)), "{l}");
    }
    assert_eq!(
        crate::resolve::resolve_in_root(&r, "/usr/d1/libb.so"),
        Some(r.join("usr/lib/libreal.so.1"))
    );
    assert_eq!(
        img.meta(&r.join("usr/lib64")).unwrap().kind,
        EntryKind::Symlink
    );
}

/// A later layer replaces a link not made yet by a file, a directory or another link, or
/// whites it out; a hard link to one is a link with its target. The same layer may replace one
/// too.
#[test]
fn later_entries_replace_and_white_out_links_not_made_yet() {
    let lower = tar_of(&[
        dir("d/"),
        link("d/gone", "t1"),
        link("d/file", "t1"),
        link("d/dir", "t1"),
        link("d/relinked", "t1"),
        link("d/twice", "t1"),
        link("d/twice", "t2"),
        link("d/todir", "sub"),
        file("d/t1", b"one"),
        file("d/t2", b"two"),
        dir("d/sub/"),
        file("d/sub/x", b"x"),
    ]);
    let upper = tar_of(&[
        file("d/.wh.gone", b""),
        file("d/file", b"a file"),
        dir("d/dir/"),
        file("d/dir/f", b"in a dir"),
        link("d/relinked", "t2"),
        entry("d/hard", b'1', "d/relinked", b"", 0),
        // The link to a directory, replaced: what was reached through it is not.
        file("d/.wh.todir", b""),
        file("app", ELF),
    ]);
    let layers = [lower, upper];
    let img = read(&docker_archive(&layers, &config_for(&layers, "/app"))).unwrap();
    let r = img.root().to_path_buf();
    assert_eq!(dirs_on_disk(&r), 0);
    assert_eq!(
        pending(&img),
        ["/d/hard", "/d/relinked", "/d/twice"],
        "the replaced and whited-out links are gone"
    );
    assert_eq!(img.content("/d/gone"), None);
    assert_eq!(img.content("/d/todir/x"), None);
    assert_eq!(img.content("/d/file").unwrap(), b"a file");
    assert_eq!(img.content("/d/dir/f").unwrap(), b"in a dir");
    assert_eq!(img.content("/d/relinked").unwrap(), b"two");
    assert_eq!(img.content("/d/hard").unwrap(), b"two");
    assert_eq!(img.content("/d/twice").unwrap(), b"two");
    assert!(fs::symlink_metadata(r.join("d/file")).unwrap().is_file());
    assert!(fs::symlink_metadata(r.join("d/dir")).unwrap().is_dir());
    assert!(is_link(&r.join("d/hard")));
    assert!(!r.join("d/gone").exists() && !is_link(&r.join("d/gone")));
    assert_eq!(img.meta(&r.join("d/file")).unwrap().kind, EntryKind::File);
    assert_eq!(img.meta(&r.join("d/dir")).unwrap().kind, EntryKind::Dir);
    assert_eq!(img.meta(&r.join("d/gone")), None);
}

/// An opaque directory hides the links not made yet of lower layers below it, in directories
/// the layer declares again or not, and keeps the ones of its own layer.
#[test]
fn an_opaque_directory_hides_lower_links_not_made_yet() {
    let lower = tar_of(&[
        dir("o/"),
        link("o/l", "x"),
        dir("o/sub/"),
        link("o/sub/l2", "../x"),
        dir("o/kept/"),
        link("o/kept/l3", "../x"),
        file("o/x", b"lower"),
    ]);
    let upper = tar_of(&[
        dir("o/"),
        file("o/.wh..wh..opq", b""),
        link("o/new", "x2"),
        file("o/x2", b"upper"),
        dir("o/kept/"),
        link("o/kept/l4", "../x2"),
        file("app", ELF),
    ]);
    let layers = [lower, upper];
    let img = read(&docker_archive(&layers, &config_for(&layers, "/app"))).unwrap();
    assert_eq!(pending(&img), ["/o/kept/l4", "/o/new"]);
    assert_eq!(img.content("/o/l"), None);
    assert_eq!(img.content("/o/sub/l2"), None);
    assert_eq!(img.content("/o/kept/l3"), None);
    assert_eq!(img.content("/o/x"), None);
    assert_eq!(img.content("/o/new").unwrap(), b"upper");
    assert_eq!(img.content("/o/kept/l4").unwrap(), b"upper");
    // The same with /o on disk when the upper layer comes (a file of /etc is written whole and
    // makes its directories): the links of the lower layer were made with it, and go.
    let lower_on_disk = tar_of(&[
        dir("etc/"),
        link("etc/l", "x"),
        dir("etc/sub/"),
        link("etc/sub/l2", "../x"),
        file("etc/x", b"lower"),
    ]);
    let upper = tar_of(&[
        file("etc/.wh..wh..opq", b""),
        link("etc/new", "x2"),
        file("etc/x2", b"upper"),
        file("app", ELF),
    ]);
    let layers = [lower_on_disk, upper];
    let img = read(&docker_archive(&layers, &config_for(&layers, "/app"))).unwrap();
    let r = img.root();
    assert!(pending(&img).is_empty());
    assert!(!is_link(&r.join("etc/l")) && !r.join("etc/sub").exists());
    assert_eq!(img.content("/etc/new").unwrap(), b"upper");
}

/// The loader's search goes through a link to a directory, and the loader itself is a link,
/// both in directories not made while the layer streamed by: once the program is located (its
/// loader and libraries made), the loader's resolution in the root finds them as it did when
/// every link was made at once, and finds no libc without the directory link.
#[test]
fn the_loader_search_walks_through_links_not_made_yet() {
    let fixture = |p: &str| fs::read(p).unwrap();
    let program = fixture(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/c-dynamic-pie"
    ));
    let loader = fixture("/lib64/ld-linux-x86-64.so.2");
    let libc = fixture("/lib/x86_64-linux-gnu/libc.so.6");
    let image = |with_dir_link: bool| {
        let mut entries = vec![
            entry("app", b'0', "", &program, 0o755),
            dir("usr/"),
            dir("usr/real/"),
            entry("usr/real/ld-linux-x86-64.so.2", b'0', "", &loader, 0o755),
            entry("usr/real/libc.so.6", b'0', "", &libc, 0o755),
            dir("usr/lib/"),
            link("lib", "usr/lib"),
            dir("lib64/"),
            link(
                "lib64/ld-linux-x86-64.so.2",
                "../usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            ),
        ];
        if with_dir_link {
            entries.push(link("usr/lib/x86_64-linux-gnu", "../real"));
        }
        read(&one_layer(&entries)).unwrap()
    };
    let resolve = |img: &MergedImage| {
        let (_, host) = img.locate_ok("/app");
        let data = fs::read(host.unwrap()).unwrap();
        let elf = crate::elf::ElfFile::parse(&data).unwrap();
        let opts = crate::resolve::ResolveOptions::default();
        let r = crate::resolve::resolve(img.root(), &elf, "/app", &opts);
        (r.interpreter_path, r.found, r.missing_libraries)
    };
    let img = image(true);
    assert_eq!(
        pending(&img),
        ["/lib64/ld-linux-x86-64.so.2", "/usr/lib/x86_64-linux-gnu"]
    );
    let (interp, found, missing) = resolve(&img);
    assert_eq!(interp.as_deref(), Some("/usr/real/ld-linux-x86-64.so.2"));
    assert_eq!(found, ["/lib/x86_64-linux-gnu/libc.so.6"]);
    assert!(missing.is_empty(), "{missing:?}");
    let (interp, found, missing) = resolve(&image(false));
    assert_eq!(interp, None);
    assert!(found.is_empty());
    assert_eq!(missing, [("libc.so.6".to_string(), "app".to_string())]);
}

/// Past [`merge::LINKS_BUDGET`] bytes, links not made yet are made on disk (with their
/// directories) and the merge goes on deferring: memory stays bounded, the result is the same.
#[test]
fn links_past_the_budget_are_made_on_disk() {
    let target = "t".repeat(4000);
    let mut entries: Vec<Vec<u8>> = (0..1500)
        .map(|i| {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            h.set_mode(0o777);
            let mut b = tar::Builder::new(Vec::new());
            b.append_link(&mut h, format!("d{}/l{i}", i / 100), &target)
                .unwrap();
            let mut v = b.into_inner().unwrap();
            v.truncate(v.len() - 1024);
            v
        })
        .collect();
    entries.push(link("d14/short", "l1499"));
    entries.push(file("app", ELF));
    let img = read(&one_layer(&entries)).unwrap();
    let r = img.root();
    // 1500 links of 4 KiB: past 4 MiB after about 1,000 of them, which were made then.
    let left = pending(&img).len();
    assert!((400..=600).contains(&left), "{left}");
    assert!(is_link(&r.join("d0/l0")));
    assert_eq!(
        fs::read_link(r.join("d0/l0")).unwrap().as_os_str().len(),
        4000
    );
    assert!(!r.join("d14").exists());
    let (_, host) = img.locate_ok("/d14/short");
    assert_eq!(host, None); // a dangling link, made on the way
    assert!(is_link(&r.join("d14/l1499")) && is_link(&r.join("d14/short")));
}

/// The kernel follows at most 40 links in one path: counted over the whole path also when its
/// parent was resolved for an earlier entry (the walk goes on from there).
#[test]
fn links_are_counted_over_the_whole_path() {
    let image = |m_links: usize| {
        let mut entries = vec![dir("real/"), dir("real/sub/")];
        for i in 0..30 {
            let next = if i == 29 {
                "real".to_string()
            } else {
                format!("l{}", i + 1)
            };
            entries.push(link(&format!("l{i}"), &next));
        }
        for i in 0..m_links {
            let next = if i + 1 == m_links {
                "sub".to_string()
            } else {
                format!("m{}", i + 1)
            };
            entries.push(link(&format!("real/m{i}"), &next));
        }
        entries.push(file("l0/x", b"x"));
        entries.push(file("l0/m0/y", b"y"));
        entries.push(file("app", ELF));
        one_layer(&entries)
    };
    let img = read(&image(10)).unwrap();
    assert_eq!(img.content("/real/x").unwrap(), b"x");
    assert_eq!(img.content("/real/sub/y").unwrap(), b"y");
    let e = err_of(&image(11));
    assert!(
        e.ends_with("entry 'l0/m0/y': its directory is a symlink loop"),
        "{e}"
    );
}

/// `image --from` copies /usr/share/zoneinfo from the root: made as a directory
/// ([`MergedImage::materialize`]), it gets every link below it, in directories that hold only
/// links too, as when links were made while the layer streamed by.
#[test]
fn a_materialized_directory_gets_every_link_below_it() {
    let img = read(&one_layer(&[
        dir("usr/"),
        dir("usr/share/"),
        dir("usr/share/zoneinfo/"),
        dir("usr/share/zoneinfo/America/"),
        file("usr/share/zoneinfo/America/New_York", b"TZif"),
        dir("usr/share/zoneinfo/US/"),
        link("usr/share/zoneinfo/US/Eastern", "../America/New_York"),
        link("usr/share/zoneinfo/posix", "."),
        link("usr/share/zoneinfo/localtime", "/etc/localtime"),
        dir("usr/share/doc/"),
        link("usr/share/doc/elsewhere", "x"),
        file("app", ELF),
    ]))
    .unwrap();
    let r = img.root().to_path_buf();
    let z = img.materialize("/usr/share/zoneinfo").unwrap().unwrap();
    assert_eq!(z, r.join("usr/share/zoneinfo"));
    for (f, _) in img.regular_files("/usr/share/zoneinfo") {
        img.materialize(&f).unwrap();
    }
    for l in ["US/Eastern", "posix", "localtime"] {
        assert!(is_link(&z.join(l)), "{l}");
    }
    assert_eq!(fs::read(z.join("US/Eastern")).unwrap(), b"TZif");
    assert_eq!(fs::read(z.join("posix/posix/US/Eastern")).unwrap(), b"TZif");
    // Outside the directory, nothing more was made.
    assert!(!r.join("usr/share/doc").exists());
}
