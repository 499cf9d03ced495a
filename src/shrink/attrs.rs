//! Keeping what the user's file is besides its bytes — owner, mode (set-id bits included),
//! extended attributes such as `security.capability` — and putting the result in place.
//!
//! The result is written to a new temporary file, so nothing of the original's inode comes
//! along by itself: [`Attrs`] reads it all from the open input and applies it to the new file,
//! in the order the kernel requires (a `chown` clears set-id bits and file capabilities, so the
//! owner goes first, then the mode, then the extended attributes). GNU strip (binutils 2.40)
//! keeps owner and mode but loses `security.capability`, because it writes into the old inode
//! and the kernel drops file capabilities on every write.
//!
//! [`replace`] puts the finished temporary file in place:
//! - one link: fsync the data, rename over the destination, fsync the directory. At every
//!   instant the name holds either the old file or the complete new one.
//! - several hard links (`st_nlink > 1`, in place only): renaming would give only this name
//!   the new content and leave the other names on the old inode, so the new bytes are copied
//!   *into* the old inode (what GNU strip does for every file) and the attributes applied again
//!   (the write made the kernel drop capabilities). The tradeoff: a crash or SIGKILL during
//!   that copy leaves a file that is part new, part old. binslim narrows the window to the
//!   copy itself (the new content is complete and synced in the temporary file before the first
//!   byte of the original is touched) but cannot close it without breaking the links; use
//!   `-o` for an atomic result.

use std::ffi::CString;
use std::fs::{self, File};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// What `binslim shrink` keeps of the input besides its bytes.
#[derive(Debug, Clone)]
pub(crate) struct Attrs {
    uid: u32,
    gid: u32,
    mode: u32,
    /// Extended attributes, name and value, in the order `flistxattr` gave them.
    xattrs: Vec<(CString, Vec<u8>)>,
}

fn cvt(r: libc::c_int) -> io::Result<()> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Calls a `*xattr` function that fills a buffer, growing the buffer until the value fits.
fn read_sized(mut f: impl FnMut(*mut libc::c_void, usize) -> libc::ssize_t) -> io::Result<Vec<u8>> {
    loop {
        let n = f(std::ptr::null_mut(), 0);
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut buf = vec![0u8; n as usize];
        if n == 0 {
            return Ok(buf);
        }
        let m = f(buf.as_mut_ptr().cast(), buf.len());
        if m >= 0 {
            buf.truncate(m as usize);
            return Ok(buf);
        }
        let e = io::Error::last_os_error();
        // The attribute grew between the two calls: ask again.
        if e.raw_os_error() != Some(libc::ERANGE) {
            return Err(e);
        }
    }
}

impl Attrs {
    /// Reads owner, mode and every extended attribute of the open file `f`.
    pub(crate) fn read(f: &File, meta: &fs::Metadata) -> io::Result<Attrs> {
        let fd = f.as_raw_fd();
        // SAFETY: `fd` is open for the whole call (`f` is borrowed); `read_sized` passes either a
        // null pointer with length 0 (flistxattr then only returns the size) or a buffer of
        // exactly `len` writable bytes, and flistxattr writes at most `len` bytes into it.
        let list = match read_sized(|p, len| unsafe { libc::flistxattr(fd, p.cast(), len) }) {
            Ok(l) => l,
            // A file system without extended attributes has none to keep.
            Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => Vec::new(),
            Err(e) => return Err(e),
        };
        let mut xattrs = Vec::new();
        for name in list.split(|&b| b == 0).filter(|n| !n.is_empty()) {
            let cname = CString::new(name).expect("split on NUL");
            // SAFETY: `fd` is open (`f` is borrowed); `cname` is NUL-terminated and outlives the
            // call; `read_sized` passes null with length 0 or a buffer of exactly `len` writable
            // bytes, and fgetxattr writes at most `len` bytes into it.
            let value =
                match read_sized(|p, len| unsafe { libc::fgetxattr(fd, cname.as_ptr(), p, len) }) {
                    Ok(v) => v,
                    // Removed meanwhile.
                    Err(e) if e.raw_os_error() == Some(libc::ENODATA) => continue,
                    Err(e) => return Err(e),
                };
            xattrs.push((cname, value));
        }
        Ok(Attrs {
            uid: meta.uid(),
            gid: meta.gid(),
            mode: meta.mode() & 0o7777,
            xattrs,
        })
    }

    /// Gives the open file `f` this owner, mode and these extended attributes. Returns one
    /// warning per attribute that could not be kept (an unprivileged user cannot set
    /// `security.capability` or give a file away; the file is still written).
    pub(crate) fn apply(&self, f: &File) -> io::Result<Vec<String>> {
        let fd = f.as_raw_fd();
        let mut warnings = Vec::new();
        let meta = f.metadata()?;
        let mut mode = self.mode;
        if meta.uid() != self.uid || meta.gid() != self.gid {
            // SAFETY: fchown takes only integers and `fd` stays open while `f` is borrowed; no
            // memory is passed.
            if let Err(e) = cvt(unsafe { libc::fchown(fd, self.uid, self.gid) }) {
                // Only root may give a file away; others keep their own uid (the file is theirs).
                if e.raw_os_error() != Some(libc::EPERM) {
                    return Err(e);
                }
                // A set-id bit must not move to another owner (as cp -p and install do).
                let dropped = if mode & 0o6000 != 0 {
                    mode &= !0o6000;
                    ", without its set-id bits"
                } else {
                    ""
                };
                warnings.push(format!(
                    "cannot keep owner {}:{} ({e}); the result belongs to {}:{}{dropped}",
                    self.uid,
                    self.gid,
                    meta.uid(),
                    meta.gid()
                ));
            }
        }
        // After chown, which clears set-id bits.
        // SAFETY: fchmod takes only integers and `fd` stays open while `f` is borrowed; no memory
        // is passed.
        cvt(unsafe { libc::fchmod(fd, mode as libc::mode_t) })?;
        for (name, value) in &self.xattrs {
            // SAFETY: `fd` is open; `name` is NUL-terminated and `value` is a live buffer of
            // `value.len()` bytes, both borrowed from `self` for the call; fsetxattr only reads
            // them.
            let r = unsafe {
                libc::fsetxattr(fd, name.as_ptr(), value.as_ptr().cast(), value.len(), 0)
            };
            if let Err(e) = cvt(r) {
                warnings.push(format!(
                    "cannot keep extended attribute '{}' ({e})",
                    name.to_string_lossy()
                ));
            }
        }
        Ok(warnings)
    }

    /// The extended attribute names kept, for tests and messages.
    #[cfg(test)]
    pub(crate) fn names(&self) -> Vec<&std::ffi::CStr> {
        self.xattrs.iter().map(|(n, _)| n.as_c_str()).collect()
    }
}

/// How the result was put in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WriteMethod {
    /// Renamed over the destination (atomic).
    Renamed,
    /// Copied into the destination's inode, which has other hard links (not atomic).
    Overwritten,
    /// Written into a device, a FIFO or `/dev/stdout` (`-o /dev/null`): nothing to rename over,
    /// and the destination's owner and mode are left as they are.
    Streamed,
}

/// Puts the complete file `from` (a temporary name in `dest`'s directory, attributes already
/// applied) in place of `dest`; see the module documentation. `hard_links` is the input's
/// `(st_dev, st_ino)` when the destination is an in-place input with other names: the file
/// opened for the copy must still be that inode. Returns warnings about attributes not kept.
pub(crate) fn replace(
    from: &Path,
    dest: &Path,
    hard_links: Option<(u64, u64)>,
    attrs: &Attrs,
) -> io::Result<(WriteMethod, Vec<String>)> {
    let new = File::open(from)?;
    if hard_links.is_none() && crate::tempfiles::Output::of(dest).is_stream() {
        let mut out = crate::tempfiles::open_stream(dest)?;
        io::copy(&mut &new, &mut out)?;
        return Ok((WriteMethod::Streamed, Vec::new()));
    }
    new.sync_all()?;
    let dir = dest.parent().unwrap_or(Path::new("."));
    let Some((dev, ino)) = hard_links else {
        fs::rename(from, dest)?;
        crate::tempfiles::sync_dir(dir)?;
        return Ok((WriteMethod::Renamed, Vec::new()));
    };
    let mut out = fs::OpenOptions::new().write(true).open(dest)?;
    let m = out.metadata()?;
    if (m.dev(), m.ino()) != (dev, ino) {
        return Err(io::Error::other(
            "it was replaced by another file while binslim worked on it; nothing was written",
        ));
    }
    let len = new.metadata()?.len();
    let mut src = &new;
    // copy_file_range inside the kernel where it can.
    let n = io::copy(&mut src, &mut out)?;
    if n != len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the temporary file changed while it was copied",
        ));
    }
    out.set_len(len)?;
    // The write cleared file capabilities (and, without CAP_FSETID, set-id bits): again.
    let warnings = attrs.apply(&out)?;
    out.sync_all()?;
    // `from` is removed by its owner (a TempFile) when dropped.
    Ok((WriteMethod::Overwritten, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_xattrs_and_mode_are_copied() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        fs::write(&a, "a").unwrap();
        fs::write(&b, "b").unwrap();
        let fa = File::open(&a).unwrap();
        let name = CString::new("user.binslim-test").unwrap();
        // SAFETY: `fa` is open; `name` is NUL-terminated and the value is a static buffer of
        // the 2 bytes given; fsetxattr only reads them.
        let r =
            unsafe { libc::fsetxattr(fa.as_raw_fd(), name.as_ptr(), b"v1".as_ptr().cast(), 2, 0) };
        assert_eq!(r, 0, "{}", io::Error::last_os_error());
        fs::set_permissions(&a, std::os::unix::fs::PermissionsExt::from_mode(0o2751)).unwrap();
        let attrs = Attrs::read(&fa, &fa.metadata().unwrap()).unwrap();
        assert_eq!(attrs.names(), [name.as_c_str()]);
        let fb = fs::OpenOptions::new().write(true).open(&b).unwrap();
        assert!(attrs.apply(&fb).unwrap().is_empty());
        assert_eq!(fb.metadata().unwrap().mode() & 0o7777, 0o2751);
        // SAFETY: `fb` is open and `name` NUL-terminated; `read_sized` passes null with length 0
        // or a buffer of exactly `len` writable bytes, and fgetxattr writes at most `len` bytes.
        let v =
            read_sized(|p, len| unsafe { libc::fgetxattr(fb.as_raw_fd(), name.as_ptr(), p, len) })
                .unwrap();
        assert_eq!(v, b"v1");
    }
}
