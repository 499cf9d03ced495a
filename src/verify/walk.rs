//! Verifying the paths `binslim verify` is given: named files are checked as programs,
//! directories walked (ELF files checked, libraries passing unless strict, everything else
//! counted as skipped). A walk reads each file once and parses only ELF files: on /usr/bin it
//! is bound by system calls, so how files are read matters (see `READ_FIRST` and
//! [`LazyFile`]; files are opened relative to their directory, see `Reader`).

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::input::{ELF_MAGIC, Input, LazyFile};

use super::read::{verify_input, verify_lazy, verify_path};
use super::{FileReport, Origin, VerifyOptions};

/// The reports of the files checked, in order, and how many files were passed over.
#[derive(Debug, Default)]
pub struct Walk {
    /// One report per file named or ELF file found, in the order given and walked.
    pub reports: Vec<FileReport>,
    /// Files found in walks that are not ELF, and symlinks (not followed).
    pub skipped: usize,
}

/// Verifies each path: a directory is walked ([`walk`]); anything else is checked as a named
/// program (so a missing or non-ELF file fails or errs).
pub fn verify_paths(paths: &[PathBuf], opts: &VerifyOptions) -> Walk {
    let mut out = Walk::default();
    for path in paths {
        match fs::metadata(path) {
            Ok(m) if m.is_dir() => walk_into(path, opts, &mut out),
            _ => {
                let display = path.display().to_string();
                out.reports
                    .push(verify_path(path, &display, opts, Origin::Named));
            }
        }
    }
    out
}

/// Walks a directory: ELF files are verified, other files and symlinks are counted as
/// skipped. Symlinks are not followed (so loops cannot occur and nothing is checked twice). A
/// directory or file that cannot be read is an error (exit 2), never a skip: it may hold or be a
/// program. Reports come in walk order: the directories that could not be read first, then the
/// files.
fn walk_into(dir: &Path, opts: &VerifyOptions, out: &mut Walk) {
    let Walk { reports, skipped } = out;
    let mut checked: Vec<FileReport> = Vec::new();
    let mut stack: Vec<PathBuf> = vec![dir.to_path_buf()];
    let unreadable = |p: &Path, e: std::io::Error, what: &str| {
        FileReport::error(&p.display().to_string(), &Error::from_io(e, what))
    };
    let mut reader = Reader::default();
    while let Some(d) = stack.pop() {
        // One open per directory: its descriptor lists the entries and then opens the files,
        // relative to it (the kernel then looks up one name per file, not every component of
        // its path).
        let mut dir = match Dir::open(&d) {
            Ok(dir) => dir,
            Err(e) => {
                reports.push(unreadable(&d, e, "cannot read the directory"));
                continue;
            }
        };
        let (mut listed, err) = dir.entries();
        if let Some(err) = err {
            reports.push(unreadable(&d, err, "cannot read the directory"));
        }
        // In name order (bytes), by the first eight bytes and then by the whole name.
        listed.sort_unstable_by(|a, b| a.key.cmp(&b.key).then_with(|| a.name.cmp(&b.name)));
        let mut subdirs = Vec::new();
        for Entry { name, d_type, .. } in listed {
            match dir.kind(&name, d_type) {
                Ok(Kind::Dir) => subdirs.push(d.join(&name)),
                Ok(Kind::File) => match reader.check(Some(dir.fd()), &d, &name, opts) {
                    Some(r) => checked.push(r),
                    None => *skipped += 1,
                },
                Ok(Kind::Other) => *skipped += 1,
                Err(err) => reports.push(unreadable(&d.join(&name), err, "cannot stat")),
            }
        }
        drop(dir);
        // Depth-first, in name order.
        stack.extend(subdirs.into_iter().rev());
    }
    reports.append(&mut checked);
}

/// What a directory entry is, as a walk sorts it (symlinks are `Other`: never followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Dir,
    File,
    Other,
}

/// The directory calls as std makes them: the 64-bit-offset ones on glibc (a 32-bit glibc's
/// plain `readdir` fails on large inode numbers), the plain ones elsewhere (musl has only
/// those, already 64-bit).
mod sys {
    #[cfg(not(target_env = "gnu"))]
    pub use libc::{fstatat, readdir, stat};
    #[cfg(target_env = "gnu")]
    pub use libc::{fstatat64 as fstatat, readdir64 as readdir, stat64 as stat};
}

/// A directory entry as listed.
struct Entry {
    /// The first eight bytes of the name, big-endian, zeros after a shorter name: ordering
    /// by it orders by those bytes (a name holds no NUL), and a sort compares mostly these.
    key: u64,
    name: std::ffi::OsString,
    d_type: u8,
}

impl Entry {
    fn new(name: &[u8], d_type: u8) -> Self {
        use std::os::unix::ffi::OsStrExt;
        let mut first = [0u8; 8];
        let n = name.len().min(8);
        first[..n].copy_from_slice(&name[..n]);
        Entry {
            key: u64::from_be_bytes(first),
            name: std::ffi::OsStr::from_bytes(name).to_os_string(),
            d_type,
        }
    }
}

/// An open directory (`opendir`): its entries, and its descriptor to open them by.
struct Dir(std::ptr::NonNull<libc::DIR>);

impl Dir {
    /// Opens `path` as `std::fs::read_dir` does (the same errors).
    fn open(path: &Path) -> std::io::Result<Dir> {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "file name contained an unexpected NUL byte",
            )
        })?;
        // SAFETY: `c` is a NUL-terminated path that outlives the call; opendir only reads it.
        let dirp = unsafe { libc::opendir(c.as_ptr()) };
        std::ptr::NonNull::new(dirp)
            .map(Dir)
            .ok_or_else(std::io::Error::last_os_error)
    }

    /// The directory's descriptor, for `openat` and `fstatat`.
    fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        // SAFETY: the DIR is open until `self` drops, and so is the descriptor dirfd returns;
        // the borrow cannot outlive `self`.
        unsafe { std::os::fd::BorrowedFd::borrow_raw(libc::dirfd(self.0.as_ptr())) }
    }

    /// Every entry but `.` and `..`, with its `d_type`, in directory order; and the error that
    /// ended the listing early, if one did (as `std::fs::ReadDir`: the entries before it
    /// count).
    fn entries(&mut self) -> (Vec<Entry>, Option<std::io::Error>) {
        let mut out = Vec::new();
        loop {
            // SAFETY: errno is this thread's; readdir reads the open DIR, and the entry it
            // returns stays valid until the next readdir or closedir on it, both after the
            // name is copied out.
            let entry = unsafe {
                *libc::__errno_location() = 0;
                sys::readdir(self.0.as_ptr())
            };
            if entry.is_null() {
                let err = std::io::Error::last_os_error();
                return (out, (err.raw_os_error() != Some(0)).then_some(err));
            }
            // SAFETY: as above; d_name is NUL-terminated within the entry.
            let (name, d_type) = unsafe {
                let e = &*entry;
                (
                    std::ffi::CStr::from_ptr(e.d_name.as_ptr()).to_bytes(),
                    e.d_type,
                )
            };
            if name != b"." && name != b".." {
                out.push(Entry::new(name, d_type));
            }
        }
    }

    /// What the entry `name` is: from its `d_type`, or where the file system records none (or a
    /// type std does not name), from `fstatat` without following a symlink (as
    /// `std::fs::DirEntry::file_type`).
    fn kind(&self, name: &std::ffi::OsStr, d_type: u8) -> std::io::Result<Kind> {
        use std::os::unix::ffi::OsStrExt;
        let mode = match d_type {
            libc::DT_DIR => return Ok(Kind::Dir),
            libc::DT_REG => return Ok(Kind::File),
            libc::DT_LNK | libc::DT_FIFO | libc::DT_SOCK | libc::DT_CHR | libc::DT_BLK => {
                return Ok(Kind::Other);
            }
            // DT_UNKNOWN, or a value std does not know either.
            _ => {
                let c = std::ffi::CString::new(name.as_bytes())
                    .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
                let mut st = std::mem::MaybeUninit::<sys::stat>::uninit();
                use std::os::fd::AsRawFd;
                // SAFETY: the descriptor is open, `c` a NUL-terminated name and `st` room for
                // one stat, written by fstatat before it is read (only on success).
                let rc = unsafe {
                    sys::fstatat(
                        self.fd().as_raw_fd(),
                        c.as_ptr(),
                        st.as_mut_ptr(),
                        libc::AT_SYMLINK_NOFOLLOW,
                    )
                };
                if rc != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // SAFETY: fstatat succeeded, so it filled `st`.
                unsafe { st.assume_init() }.st_mode & libc::S_IFMT
            }
        };
        Ok(match mode {
            libc::S_IFDIR => Kind::Dir,
            libc::S_IFREG => Kind::File,
            _ => Kind::Other,
        })
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: the DIR was opened by opendir and is closed once, here.
        unsafe { libc::closedir(self.0.as_ptr()) };
    }
}

/// What a walk reuses from file to file: the buffers.
#[derive(Default)]
struct Reader {
    /// The file's name and a NUL, for `openat`.
    name: Vec<u8>,
    /// The file's first bytes, or all of a small file.
    buf: Vec<u8>,
}

impl Reader {
    /// Opens a file read-only: `name` relative to the directory `dir`, else by its path (`name`
    /// in `parent`).
    fn open(
        &mut self,
        dir: Option<std::os::fd::BorrowedFd<'_>>,
        parent: &Path,
        name: &std::ffi::OsStr,
    ) -> std::io::Result<fs::File> {
        let path = || parent.join(name);
        use std::os::fd::{AsRawFd, FromRawFd};
        use std::os::unix::ffi::OsStrExt;
        let Some(dir) = dir else {
            return fs::File::open(path());
        };
        self.name.clear();
        self.name.extend_from_slice(name.as_bytes());
        self.name.push(0);
        let Ok(cname) = std::ffi::CStr::from_bytes_with_nul(&self.name) else {
            return fs::File::open(path());
        };
        loop {
            // SAFETY: `dir` is an open descriptor borrowed for the call and `cname` a
            // NUL-terminated name that outlives it; openat only reads them.
            let fd = unsafe {
                libc::openat(
                    dir.as_raw_fd(),
                    cname.as_ptr(),
                    libc::O_RDONLY | libc::O_CLOEXEC,
                )
            };
            if fd >= 0 {
                // SAFETY: `fd` was just opened and nothing else owns it.
                return Ok(unsafe { fs::File::from_raw_fd(fd) });
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// [`check_walked`] on the file `name` of the directory `parent`, opened through `dir`
    /// (`None`: by path). Its path is made only for an ELF file or an error (most files of a
    /// walk are neither).
    fn check(
        &mut self,
        dir: Option<std::os::fd::BorrowedFd<'_>>,
        parent: &Path,
        name: &std::ffi::OsStr,
        opts: &VerifyOptions,
    ) -> Option<FileReport> {
        let file = self.open(dir, parent, name);
        check_walked(&|| parent.join(name), file, opts, &mut self.buf)
    }
}

/// A walked file is first read this far: the ELF magic is all a non-ELF file is read for (most
/// of a walk's files), and for an ELF file these bytes hold its header and program headers
/// (reading 4 KiB costs what reading 512 bytes does: one page either way).
const READ_FIRST: usize = 4 << 10;

/// One walked file, opened (or not) by the caller: `None` when it is not ELF (counted as
/// skipped), else its report. A non-ELF file costs an open, one read and a close; an ELF file a
/// `fstat` (its mode and length) and the reads of what its verdict is drawn from
/// ([`LazyFile`]): its tables and a few small sections, never the code.
fn check_walked(
    path: &dyn Fn() -> PathBuf,
    file: std::io::Result<fs::File>,
    opts: &VerifyOptions,
    buf: &mut Vec<u8>,
) -> Option<FileReport> {
    use std::os::unix::fs::MetadataExt;
    // Named only on an error or once ELF: most walked files are neither.
    let error = |e: std::io::Error, what: &str| {
        Some(FileReport::error(
            &path().display().to_string(),
            &Error::from_io(e, what),
        ))
    };
    let file = match file {
        Ok(f) => f,
        Err(e) => return error(e, "cannot open"),
    };
    buf.resize(READ_FIRST, 0);
    let n = match read_at_least(&file, buf, 0, ELF_MAGIC.len()) {
        Ok(n) => n,
        Err(e) => return error(e, "cannot read"),
    };
    if !buf[..n].starts_with(ELF_MAGIC) {
        return None;
    }
    let path = &path();
    // What `display()` gives, without its byte-by-byte pass when the path is UTF-8.
    let display = match path.to_str() {
        Some(s) => s.to_owned(),
        None => path.display().to_string(),
    };
    let meta = match file.metadata() {
        Ok(m) => m,
        Err(e) => return error(e, "cannot stat"),
    };
    if meta.is_file() && meta.len() >= n as u64 {
        let lazy = LazyFile::new(file, meta.len(), &buf[..n]);
        return Some(verify_lazy(
            path,
            &display,
            &lazy,
            meta.mode(),
            opts,
            Origin::Walked,
        ));
    }
    // Special, or changing under us: the named-file path, with its checks and messages.
    drop(file);
    match Input::open_elf(path) {
        Ok(Some(input)) => Some(verify_input(path, &display, &input, opts, Origin::Walked)),
        Ok(None) => None,
        Err(e) => Some(FileReport::error(&display, &e)),
    }
}

/// Reads `file` from `offset` into `buf` until at least `want` bytes have come or the file
/// ends (one `pread` for a regular file); the count read.
fn read_at_least(
    file: &fs::File,
    buf: &mut [u8],
    offset: u64,
    want: usize,
) -> std::io::Result<usize> {
    use std::os::unix::fs::FileExt;
    let mut n = 0;
    while n < want.min(buf.len()) {
        match file.read_at(&mut buf[n..], offset + n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use std::fs;

    use std::os::fd::AsFd;

    use super::*;
    use crate::verify::fixtures::path;
    use crate::verify::read::verify_with_mode;
    use crate::verify::{Code, Verdict};

    #[test]
    fn walks_check_elf_files_and_count_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::create_dir(d.join("sub")).unwrap();
        fs::copy(path("go-static"), d.join("sub/app")).unwrap();
        fs::copy(path("libgreet.so"), d.join("libgreet.so")).unwrap();
        fs::copy(path("not-elf.txt"), d.join("notes.txt")).unwrap();
        fs::copy(path("c-dynamic-pie"), d.join("dyn")).unwrap();
        // Larger than the first read, so its sections are read as asked for.
        fs::copy(path("c-static"), d.join("big")).unwrap();
        std::os::unix::fs::symlink("sub/app", d.join("link")).unwrap();
        let w = verify_paths(&[d.to_path_buf()], &VerifyOptions::default());
        let got: Vec<(String, Verdict)> = w
            .reports
            .iter()
            .map(|r| {
                (
                    r.path
                        .strip_prefix(&*d.to_string_lossy())
                        .unwrap()
                        .to_string(),
                    r.verdict,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("/big".to_string(), Verdict::Pass),
                ("/dyn".to_string(), Verdict::Fail),
                ("/libgreet.so".to_string(), Verdict::Pass),
                ("/sub/app".to_string(), Verdict::Pass),
            ]
        );
        assert_eq!(w.skipped, 2, "notes.txt and the symlink");
        assert_eq!(w.reports[1].problems[0].code, Code::Dynamic);
    }

    #[test]
    fn named_paths_are_programs_and_directories_are_walked() {
        let paths = [path("libgreet.so"), path("shrink"), path("no-such-file")];
        let w = verify_paths(&paths, &VerifyOptions::default());
        assert_eq!(w.reports[0].problems[0].code, Code::NotAProgram);
        assert_eq!(w.reports.last().unwrap().verdict, Verdict::Error);
        assert!(w.skipped > 0);
    }

    /// Every ELF fixture (both classes and byte orders, Go, Rust, musl, UPX, debug files, the
    /// crafted fuzz regressions), lazily read from its first 16 bytes on, as a walk reads it:
    /// its report, under each policy, is the report of the whole file.
    #[test]
    fn lazy_reads_give_the_reports_of_whole_reads() {
        use std::os::unix::fs::MetadataExt;

        let policies = [
            VerifyOptions::default(),
            VerifyOptions {
                strict: true,
                require_stripped: true,
                forbid_upx: true,
                max_size: Some(100_000),
                ..VerifyOptions::default()
            },
            VerifyOptions {
                platform: Some("linux/arm64".parse().unwrap()),
                ..VerifyOptions::default()
            },
            VerifyOptions {
                platform: Some("linux/amd64/v3".parse().unwrap()),
                root: Some(path("")),
                ..VerifyOptions::default()
            },
        ];
        let mut checked = 0;
        for dir in ["", "fuzz-regressions", "fuzz-seeds", "images"] {
            for e in fs::read_dir(path(dir)).unwrap() {
                let p = e.unwrap().path();
                let data = fs::read(&p).unwrap_or_default();
                if !data.starts_with(ELF_MAGIC) {
                    continue;
                }
                let mode = fs::metadata(&p).unwrap().mode();
                let display = p.display().to_string();
                for opts in &policies {
                    let whole = verify_with_mode(&p, &display, &data, mode, opts, Origin::Walked);
                    let file = fs::File::open(&p).unwrap();
                    let lazy = LazyFile::new(file, data.len() as u64, &data[..16]);
                    let lazy = verify_lazy(&p, &display, &lazy, mode, opts, Origin::Walked);
                    assert_eq!(
                        serde_json::to_string(&lazy).unwrap(),
                        serde_json::to_string(&whole).unwrap(),
                        "{display}"
                    );
                }
                checked += 1;
            }
        }
        assert!(checked >= 30, "only {checked} ELF fixtures");
    }

    /// Bytes that cannot be read (the file shrank after it was opened) make the report an
    /// error, never a verdict drawn from a file with holes.
    #[test]
    fn a_lazy_read_that_fails_is_the_reports_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("app");
        fs::copy(path("c-dynamic-pie"), &p).unwrap();
        let data = fs::read(&p).unwrap();
        let lazy = LazyFile::new(fs::File::open(&p).unwrap(), data.len() as u64, &data[..16]);
        fs::write(&p, &data[..100]).unwrap();
        let r = verify_lazy(
            &p,
            "app",
            &lazy,
            0o755,
            &VerifyOptions::default(),
            Origin::Walked,
        );
        assert_eq!(r.verdict, Verdict::Error);
        assert_eq!(r.problems[0].code, Code::Unreadable);
        assert_eq!(
            r.problems[0].message,
            "cannot read: failed to fill whole buffer"
        );
    }

    #[test]
    fn short_reads_stop_at_the_end_of_the_file() {
        let f = fs::File::open(path("script.sh")).unwrap();
        let len = fs::metadata(path("script.sh")).unwrap().len() as usize;
        let mut buf = vec![0; READ_FIRST];
        assert_eq!(read_at_least(&f, &mut buf, 0, READ_FIRST).unwrap(), len);
        assert_eq!(read_at_least(&f, &mut buf[..4], 0, 4).unwrap(), 4);
    }

    /// The directory reader sees what `std::fs::read_dir` sees: the same entries and types,
    /// with the types also right where the file system records none (`DT_UNKNOWN`), and the
    /// same errors.
    #[test]
    fn directories_list_as_std_lists_them() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::create_dir(d.join("sub")).unwrap();
        fs::write(d.join("file"), b"x").unwrap();
        std::os::unix::fs::symlink("file", d.join("link")).unwrap();
        std::os::unix::fs::symlink("sub", d.join("dirlink")).unwrap();
        let mut want: Vec<(std::ffi::OsString, Kind)> = fs::read_dir(d)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let ft = e.file_type().unwrap();
                let kind = match (ft.is_dir(), ft.is_file()) {
                    (true, _) => Kind::Dir,
                    (_, true) => Kind::File,
                    _ => Kind::Other,
                };
                (e.file_name(), kind)
            })
            .collect();
        want.sort();
        let mut listing = Dir::open(d).unwrap();
        let (entries, err) = listing.entries();
        assert!(err.is_none());
        let mut got: Vec<(std::ffi::OsString, Kind)> = entries
            .iter()
            .map(|e| (e.name.clone(), listing.kind(&e.name, e.d_type).unwrap()))
            .collect();
        got.sort();
        assert_eq!(got, want);
        // Without d_type: fstatat, symlinks not followed.
        let unknown: Vec<Kind> = want
            .iter()
            .map(|(n, _)| listing.kind(n, libc::DT_UNKNOWN).unwrap())
            .collect();
        assert_eq!(unknown, want.iter().map(|w| w.1).collect::<Vec<_>>());
        let gone = listing.kind(std::ffi::OsStr::new("gone"), libc::DT_UNKNOWN);
        assert_eq!(gone.unwrap_err().kind(), std::io::ErrorKind::NotFound);
        // Opening: the same errors as read_dir.
        for bad in [d.join("missing"), d.join("file")] {
            let std_err = fs::read_dir(&bad).unwrap_err();
            let err = Dir::open(&bad).err().unwrap();
            assert_eq!(
                err.raw_os_error(),
                std_err.raw_os_error(),
                "{}",
                bad.display()
            );
        }
    }

    /// Entries sort as their names do, byte by byte: the eight-byte key never disagrees.
    #[test]
    fn entries_sort_by_name_bytes() {
        use std::os::unix::ffi::OsStrExt;
        let names: [&[u8]; 12] = [
            b"a",
            b"ab",
            b"abcdefgh",
            b"abcdefghi",
            b"abcdefgh0",
            b"abcdefgg~",
            b"b",
            b"B",
            b"\xffx",
            b"\xff",
            b"libz.so",
            b"libz.so.1",
        ];
        let mut entries: Vec<Entry> = names.iter().map(|n| Entry::new(n, 0)).collect();
        entries.sort_unstable_by(|a, b| a.key.cmp(&b.key).then_with(|| a.name.cmp(&b.name)));
        let got: Vec<&[u8]> = entries.iter().map(|e| e.name.as_bytes()).collect();
        let mut want = names.to_vec();
        want.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn files_are_opened_relative_to_the_directory_else_by_path() {
        let dir = tempfile::tempdir().unwrap();
        fs::copy(path("c-static"), dir.path().join("a")).unwrap();
        let opts = VerifyOptions::default();
        let name = std::ffi::OsStr::new("a");
        // The path names no file: only the directory handle can find it.
        let handle = fs::File::open(dir.path()).unwrap();
        let mut r = Reader::default();
        let got = r
            .check(Some(handle.as_fd()), &dir.path().join("gone"), name, &opts)
            .unwrap();
        assert_eq!(got.verdict, Verdict::Pass);
        // No handle: by path, and a missing file is an error naming it.
        let got = r
            .check(None, &dir.path().join("gone"), name, &opts)
            .unwrap();
        assert_eq!(got.verdict, Verdict::Error);
        assert_eq!(got.path, dir.path().join("gone/a").display().to_string());
        let by_path = r.check(None, dir.path(), name, &opts).unwrap();
        assert_eq!(by_path.verdict, Verdict::Pass);
    }
}
