//! Temporary files beside a destination, and the clean-up of ones a killed run left behind.
//!
//! Outputs are written to a temporary file in the destination's directory and renamed over the
//! destination, so the destination is always either the old file or the complete new one. A run
//! killed with SIGKILL cannot remove its temporary file, so a later run in the same directory
//! removes the ones nobody uses any more.
//!
//! "Nobody uses it" is decided by a lock, not by a process id: every temporary file (and
//! directory) is held under an exclusive `flock` by the process that made it for as long as it
//! exists, and the kernel drops the lock when that process dies, however it dies. Clean-up
//! deletes an entry only when it can take that lock itself. A process id in the name would be
//! wrong across PID namespaces (two containers sharing a volume see different processes under
//! the same number); the lock is shared by every process that opens the file. The name still
//! carries the creating process id (`.binslim-PID-XXXXXX`), but only for people reading `ls`.

use std::fs::{self, File};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The prefix of this process's temporary files and directories. Private: every temporary
/// entry must be made through [`TempFile`] or [`TempDir`], which lock it, or a clean-up in
/// another process would take it for a dead run's leftover.
fn prefix() -> String {
    format!(".binslim-{}-", std::process::id())
}

/// The prefix every binslim temporary entry starts with, whichever process made it.
const ANY_PREFIX: &str = ".binslim-";

/// How often creation is retried when a concurrent clean-up removed the new entry before it was
/// locked.
const CREATE_TRIES: usize = 8;

/// Takes an exclusive `flock` on `f` without waiting. `Ok(false)` when another open file
/// description holds a lock on it.
fn try_lock(f: &File) -> io::Result<bool> {
    // SAFETY: flock takes only integers; the descriptor stays open while `f` is borrowed and
    // no memory is passed.
    let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(e)
    }
}

/// True when `path` still names the inode `f` has open (no one removed or replaced it).
fn still_named(path: &Path, f: &File) -> bool {
    match (fs::symlink_metadata(path), f.metadata()) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// A temporary file beside a destination: locked for its whole life, removed on drop unless
/// persisted.
///
/// The lock is held through a second, read-only descriptor, so the writing descriptor can be
/// closed ([`TempFile::seal`]) while the lock stays: a file open for writing cannot be executed
/// (ETXTBSY), and upx and `--smoke` read or run the temporary file.
#[derive(Debug)]
pub struct TempFile {
    writer: Option<File>,
    // Dropped before `lock`: the file is removed while it is still locked.
    path: tempfile::TempPath,
    lock: File,
}

impl TempFile {
    /// Creates and locks a new temporary file in `dir`, after removing stale ones there.
    pub fn new_in(dir: &Path) -> io::Result<Self> {
        clean_stale(dir);
        let mut last = None;
        for _ in 0..CREATE_TRIES {
            let (writer, path) = tempfile::Builder::new()
                .prefix(&prefix())
                .tempfile_in(dir)?
                .into_parts();
            let lock = File::open(&path)?;
            // A clean-up in another process may have locked (and be removing) the file between
            // its creation and our lock: then make another.
            match try_lock(&lock) {
                Ok(true) if still_named(&path, &lock) => {
                    return Ok(TempFile {
                        writer: Some(writer),
                        path,
                        lock,
                    });
                }
                Ok(_) => last = None,
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::other("a concurrent clean-up kept removing the new temporary file")
        }))
    }

    /// The temporary file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open file: the writing descriptor until [`TempFile::seal`], then a read-only one.
    pub fn file(&self) -> &File {
        self.writer.as_ref().unwrap_or(&self.lock)
    }

    /// Closes the writing descriptor (keeping the lock), so the file can be executed.
    pub fn seal(&mut self) {
        self.writer = None;
    }

    /// Renames the file to `dest`, replacing what is there. The file is not synced here.
    pub fn persist(self, dest: &Path) -> io::Result<()> {
        self.path.persist(dest).map_err(|e| e.error)
    }

    /// Renames the file to `dest` only when nothing exists there (atomically: a link that fails
    /// on an existing name, then the temporary name is removed).
    pub fn persist_noclobber(self, dest: &Path) -> io::Result<()> {
        self.path.persist_noclobber(dest).map_err(|e| e.error)
    }

    /// Puts the complete file in place durably: its data synced, renamed to `dest` (only when
    /// nothing is there if `noclobber`; else replacing it), then the directory synced, so a
    /// crash leaves the old `dest` or the complete new one.
    pub fn commit(self, dest: &Path, noclobber: bool) -> io::Result<()> {
        self.file().sync_all()?;
        if noclobber {
            self.persist_noclobber(dest)?;
        } else {
            self.persist(dest)?;
        }
        sync_dir(&dir_of(dest))
    }
}

/// Where an output the user named goes, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// A regular file (or nothing yet) at this path: written beside it and renamed over it. A
    /// symbolic link to a regular file resolves to the file it names, so the link stays, as
    /// `shrink` in place and GNU strip treat links.
    Replace(PathBuf),
    /// A character or block device, a FIFO or a socket (`-o /dev/null`), or a link into
    /// `/proc` (`-o /dev/stdout`): written into, never renamed over — a rename would put a
    /// regular file in the device's place.
    Stream(PathBuf),
}

impl Output {
    /// The output named `dest`.
    pub fn of(dest: &Path) -> Output {
        let Ok(link) = fs::symlink_metadata(dest) else {
            return Output::Replace(dest.to_path_buf());
        };
        let special = |m: &fs::Metadata| {
            use std::os::unix::fs::FileTypeExt;
            let t = m.file_type();
            t.is_char_device() || t.is_block_device() || t.is_fifo() || t.is_socket()
        };
        if !link.file_type().is_symlink() {
            return if special(&link) {
                Output::Stream(dest.to_path_buf())
            } else {
                Output::Replace(dest.to_path_buf())
            };
        }
        let into_proc = fs::read_link(dest).is_ok_and(|t| t.starts_with("/proc/"));
        match fs::metadata(dest) {
            Ok(m) if into_proc || special(&m) => Output::Stream(dest.to_path_buf()),
            // A link to a file or a directory: the file or directory it names (a directory
            // then refuses the rename, as a directory named directly does).
            Ok(_) => Output::Replace(fs::canonicalize(dest).unwrap_or_else(|_| dest.to_path_buf())),
            // A dangling link is replaced, as a missing file is created.
            Err(_) => Output::Replace(dest.to_path_buf()),
        }
    }

    /// Whether the output is written into rather than replaced.
    pub fn is_stream(&self) -> bool {
        matches!(self, Output::Stream(_))
    }

    /// The path the output is written to (or renamed over).
    pub fn path(&self) -> &Path {
        match self {
            Output::Replace(p) | Output::Stream(p) => p,
        }
    }
}

/// Opens a [`Output::Stream`] for writing (truncated where it is a file, as a shell's `>`).
pub fn open_stream(dest: &Path) -> io::Result<File> {
    fs::OpenOptions::new().write(true).truncate(true).open(dest)
}

/// Writes a new file at `dest` (mode 0644, replacing what is there) through a locked temporary
/// file beside it: `write` fills it, then it is committed ([`TempFile::commit`]), so a crash or
/// an error leaves the old `dest` or the complete new one. A device, FIFO or `/dev/stdout`
/// ([`Output::Stream`]) is written into directly; a link to a file replaces the file it names.
pub fn write_replacing(dest: &Path, write: impl FnOnce(&File) -> io::Result<()>) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dest = match Output::of(dest) {
        Output::Stream(p) => return write(&open_stream(&p)?),
        Output::Replace(p) => p,
    };
    let tmp = TempFile::new_in(&dir_of(&dest))?;
    write(tmp.file())?;
    tmp.file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    tmp.commit(&dest, false)
}

/// The directory `dest` is (or will be) in: its parent, or `.` for a bare name.
pub fn dir_of(dest: &Path) -> PathBuf {
    match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Syncs a directory, so a rename in it survives a crash.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// A temporary directory beside a destination (for tools such as upx that refuse to write over
/// an existing file): locked through its own descriptor for its whole life, removed on drop.
#[derive(Debug)]
pub struct TempDir {
    inner: tempfile::TempDir,
    _lock: File,
}

impl TempDir {
    /// Creates and locks a new temporary directory in `dir`, after removing stale entries.
    pub fn new_in(dir: &Path) -> io::Result<Self> {
        clean_stale(dir);
        let mut last = None;
        for _ in 0..CREATE_TRIES {
            let t = tempfile::Builder::new().prefix(&prefix()).tempdir_in(dir)?;
            let fd = match open_dir(t.path()) {
                Ok(fd) => fd,
                Err(e) => {
                    last = Some(e);
                    continue;
                }
            };
            match try_lock(&fd) {
                Ok(true) if still_named(t.path(), &fd) => {
                    return Ok(TempDir {
                        inner: t,
                        _lock: fd,
                    });
                }
                Ok(_) => last = None,
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::other("a concurrent clean-up kept removing the new temporary directory")
        }))
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        self.inner.path()
    }

    /// Puts the complete directory at `dest` while it is still locked: renamed when nothing is
    /// there; else exchanged with what is there in one step (`renameat2` `RENAME_EXCHANGE`), so
    /// `dest` is always the old directory or the new one, and the old one, now under the
    /// temporary name, is removed only then. Where the file system cannot exchange, the old
    /// directory is first moved into a locked temporary directory (and moved back if the new
    /// one cannot be put in place). The directory is synced.
    pub fn commit(self, dest: &Path) -> io::Result<()> {
        let dir = dir_of(dest);
        match rename2(self.path(), dest, libc::RENAME_NOREPLACE) {
            Ok(()) => {
                // The temporary name is gone: nothing to remove on drop.
                let _ = self.inner.keep();
                return sync_dir(&dir);
            }
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
            Err(e) if !unsupported(&e) => return Err(e),
            Err(_) => {
                // No renameat2 flags here: rename() still refuses to replace a directory.
                if fs::symlink_metadata(dest).is_err() {
                    fs::rename(self.path(), dest)?;
                    let _ = self.inner.keep();
                    return sync_dir(&dir);
                }
            }
        }
        match rename2(self.path(), dest, libc::RENAME_EXCHANGE) {
            // The temporary name holds the old directory now. The new one is in place: failing
            // to remove the old one is not an error (unlocked, the next clean-up removes it).
            Ok(()) => {
                let _ = self.inner.close();
                sync_dir(&dir)
            }
            Err(e) if unsupported(&e) => {
                let aside = TempDir::new_in(&dir)?;
                let old = aside.path().join("old");
                fs::rename(dest, &old)?;
                if let Err(e) = fs::rename(self.path(), dest) {
                    let _ = fs::rename(&old, dest);
                    return Err(e);
                }
                let _ = self.inner.keep();
                sync_dir(&dir)?;
                let _ = aside.inner.close();
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

/// `renameat2(from, to, flags)` in the current directory's terms.
fn rename2(from: &Path, to: &Path, flags: libc::c_uint) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a path with a NUL byte"))
    };
    let (from, to) = (c(from)?, c(to)?);
    // SAFETY: both pointers are NUL-terminated strings that live until the call returns; the
    // kernel only reads them. The raw syscall is used because glibc < 2.28 and musl lack a
    // renameat2 wrapper.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            flags,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// True when `e` says the kernel or the file system has no `renameat2` flags.
fn unsupported(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP)
    )
}

/// A private temporary directory in `$TMPDIR` (an image's merged root): removed on drop and,
/// once [`remove_on_signals`] was called, when SIGINT, SIGTERM or SIGHUP stops the process.
#[derive(Debug)]
pub struct PrivateDir {
    inner: Option<tempfile::TempDir>,
}

/// The [`PrivateDir`]s alive, for the signal watcher to remove.
static PRIVATE_DIRS: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());
/// The write end of the signal handler's pipe (-1 before the handlers are installed).
static SIGNAL_PIPE: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

fn private_dirs() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    PRIVATE_DIRS.lock().unwrap_or_else(|e| e.into_inner())
}

impl PrivateDir {
    /// Creates `$TMPDIR/PREFIXxxxxxx` and registers it for removal on a signal.
    pub fn new(prefix: &str) -> io::Result<Self> {
        install_if_asked();
        let mut dirs = private_dirs();
        let t = tempfile::Builder::new().prefix(prefix).tempdir()?;
        dirs.push(t.path().to_path_buf());
        Ok(PrivateDir { inner: Some(t) })
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        self.inner.as_ref().expect("present until drop").path()
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let Some(t) = self.inner.take() else { return };
        let path = t.path().to_path_buf();
        // Removed while still registered, so a signal meanwhile removes it too.
        drop(t);
        private_dirs().retain(|p| *p != path);
    }
}

/// The signals that remove the [`PrivateDir`]s before the process ends.
const CLEANUP_SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// The signal received, 0 before one.
static SIGNALLED: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    // Async-signal-safe: an atomic store and one write(2) of the signal number to the
    // watcher's pipe; errno kept.
    SIGNALLED.store(sig, std::sync::atomic::Ordering::SeqCst);
    // SAFETY: __errno_location returns this thread's errno slot, valid for the thread's life.
    let errno = unsafe { *libc::__errno_location() };
    let fd = SIGNAL_PIPE.load(std::sync::atomic::Ordering::Relaxed);
    if fd >= 0 {
        let b = sig as u8;
        // SAFETY: writes one byte from a live stack variable to a descriptor this process owns.
        unsafe { libc::write(fd, (&b as *const u8).cast(), 1) };
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

/// Set by [`remove_on_signals`]: the first [`PrivateDir`] installs the handlers.
static REMOVE_ON_SIGNALS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Asks for handlers of SIGINT, SIGTERM and SIGHUP (those not ignored) that remove every live
/// [`PrivateDir`] and then end the process by the same signal (exit status 128 + the signal:
/// 130, 143, 129). A handler cannot walk a directory, so it only writes the signal number to a
/// pipe; a watcher thread removes the directories. Called once by the `binslim` command.
///
/// They are installed when the first [`PrivateDir`] is made, before its directory exists: a run
/// that makes none (`verify` of files or directories, `inspect`, `shrink`...) keeps the default
/// dispositions, which end it by the signal as the handlers would, and stays one thread. A
/// second thread costs more than its start: the kernel's fast paths for a process whose file
/// table and memory no other thread shares (every `pread`, `fstat` and `munmap`) are lost, and a
/// walk of /usr/bin took 3.5-4.4% more CPU time with it.
pub fn remove_on_signals() {
    REMOVE_ON_SIGNALS.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Installs the handlers of [`remove_on_signals`], once, if it was called.
fn install_if_asked() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    if !REMOVE_ON_SIGNALS.load(std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    ONCE.call_once(|| {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: pipe2 writes two descriptors into the array it is given.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return;
        }
        let [read_fd, write_fd] = fds;
        SIGNAL_PIPE.store(write_fd, std::sync::atomic::Ordering::Relaxed);
        let spawned = std::thread::Builder::new()
            .name("signal-cleanup".into())
            .spawn(move || watch_signals(read_fd));
        if spawned.is_err() {
            return;
        }
        for sig in CLEANUP_SIGNALS {
            // SAFETY: sigaction reads and writes the structs passed, which live on this stack;
            // the handler only calls async-signal-safe functions.
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(sig, std::ptr::null(), &mut old) != 0
                    || old.sa_sigaction == libc::SIG_IGN
                {
                    continue; // nohup: an ignored signal stays ignored
                }
                let mut act: libc::sigaction = std::mem::zeroed();
                act.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
                act.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut act.sa_mask);
                libc::sigaction(sig, &act, std::ptr::null_mut());
            }
        }
    });
}

/// Called before the process exits normally: when a cleanup signal arrived, the work may have
/// failed only because the watcher removed its directory; the watcher is ending the process by
/// the signal, so this waits for it instead of exiting with that failure's status.
pub fn wait_if_signalled() {
    if SIGNALLED.load(std::sync::atomic::Ordering::SeqCst) != 0 {
        loop {
            std::thread::park();
        }
    }
}

/// The watcher: waits for a signal number on the pipe, removes the registered directories, and
/// ends the process by that signal.
fn watch_signals(read_fd: libc::c_int) {
    let mut b = 0u8;
    loop {
        // SAFETY: reads one byte into a live stack variable from the pipe this thread owns.
        let n = unsafe { libc::read(read_fd, (&mut b as *mut u8).cast(), 1) };
        if n == 1 {
            break;
        }
        if n == 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return;
        }
    }
    let sig = libc::c_int::from(b);
    let dirs = private_dirs().clone();
    for d in dirs {
        // Moved aside first: the main thread may still be making entries in it (a merge makes
        // thousands of links and directories at a time, by path), and `remove_dir_all` fails
        // on each directory that gains one while it is emptied. By the new name it can make
        // none; a few passes for what it still writes through files already open.
        let mut name = d.file_name().unwrap_or_default().to_os_string();
        name.push(".removing");
        let aside = d.with_file_name(name);
        let d = if fs::rename(&d, &aside).is_ok() {
            aside
        } else {
            d
        };
        for _ in 0..5 {
            if fs::remove_dir_all(&d).is_ok() || !d.exists() {
                break;
            }
        }
    }
    // SAFETY: restores the default action and re-raises, so the process ends by the signal
    // as if there had been no handler; _exit is the fallback should it return.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
        libc::_exit(128 + sig);
    }
}

fn open_dir(path: &Path) -> io::Result<File> {
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(path)
}

/// Removes `.binslim-*` entries in `dir` that no live process holds locked. Returns how many
/// were removed. Errors are ignored: clean-up must never stop the real work.
pub fn clean_stale(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name();
        if !name.to_str().is_some_and(|n| n.starts_with(ANY_PREFIX)) {
            continue;
        }
        let path: PathBuf = e.path();
        let Ok(t) = e.file_type() else { continue };
        let fd = if t.is_dir() {
            open_dir(&path)
        } else if t.is_file() {
            fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path)
        } else {
            continue;
        };
        let Ok(fd) = fd else { continue };
        // Held by a live binslim (in this PID namespace or any other): leave it alone.
        if !matches!(try_lock(&fd), Ok(true)) || !still_named(&path, &fd) {
            continue;
        }
        // The lock is held until `fd` closes, after the removal: a creator that opened the
        // entry meanwhile cannot lock it and makes another.
        let gone = if t.is_dir() {
            fs::remove_dir_all(&path).is_ok()
        } else {
            fs::remove_file(&path).is_ok()
        };
        removed += usize::from(gone);
        drop(fd);
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(d: &Path) -> Vec<String> {
        let mut left: Vec<String> = fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        left
    }

    #[test]
    fn removes_only_unlocked_temps_whatever_the_pid() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // Unlocked leftovers: removed, whether or not their pid names a live process.
        fs::write(d.join(".binslim-2147483646-abc"), "x").unwrap();
        fs::create_dir(d.join(".binslim-2147483646-dir")).unwrap();
        fs::write(d.join(".binslim-1-init"), "x").unwrap();
        fs::write(d.join(".binslim-notapid"), "x").unwrap();
        // Locked by a live holder (another process's lock looks the same: a lock on another
        // open file description): kept, although the pid in the name does not exist here.
        let held = d.join(".binslim-2147483645-live");
        fs::write(&held, "x").unwrap();
        let holder = File::open(&held).unwrap();
        assert!(try_lock(&holder).unwrap());
        fs::write(d.join("server"), "x").unwrap();
        // This process's own live temporaries, made the normal way, are locked too.
        let own = TempFile::new_in(d).unwrap();
        let own_dir = TempDir::new_in(d).unwrap();
        assert_eq!(clean_stale(d), 0);
        let mut want = vec![
            ".binslim-2147483645-live".to_string(),
            own.path().file_name().unwrap().to_str().unwrap().into(),
            own_dir.path().file_name().unwrap().to_str().unwrap().into(),
            "server".into(),
        ];
        want.sort();
        assert_eq!(names(d), want);
        drop(holder);
        drop(own);
        drop(own_dir);
        assert_eq!(clean_stale(d), 1);
        assert_eq!(names(d), ["server"]);
    }

    #[test]
    fn commit_puts_a_directory_in_place_and_replaces_an_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let dest = d.join("layout");
        let make = |content: &str| {
            let t = TempDir::new_in(d).unwrap();
            fs::write(t.path().join("f"), content).unwrap();
            t
        };
        make("one").commit(&dest).unwrap();
        assert_eq!(fs::read_to_string(dest.join("f")).unwrap(), "one");
        // A second temporary directory made meanwhile (its clean-up ran) must not remove the
        // first before it is in place.
        let second = make("two");
        let third = make("three");
        second.commit(&dest).unwrap();
        assert_eq!(fs::read_to_string(dest.join("f")).unwrap(), "two");
        third.commit(&dest).unwrap();
        assert_eq!(fs::read_to_string(dest.join("f")).unwrap(), "three");
        assert_eq!(names(d), ["layout"]);
    }

    #[test]
    fn persist_noclobber_refuses_an_existing_name() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("dest");
        fs::write(&dest, "old").unwrap();
        let t = TempFile::new_in(dir.path()).unwrap();
        let err = t.persist_noclobber(&dest).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&dest).unwrap(), b"old");
        assert_eq!(names(dir.path()), ["dest"]);
    }
}
