//! Fuzz target: the scratch verdict (with every policy on) must never panic on any input that
//! gets past the ELF parser, and its report must serialize. An ELF input is also read lazily,
//! as a directory walk reads it (from a memfd, only the bytes asked for): its report must be the
//! report of the whole input.
#![no_main]

use std::io::Write;
use std::os::fd::FromRawFd;
use std::path::Path;

use binslim::input::{ELF_MAGIC, LazyFile};
use binslim::verify::{Origin, VerifyOptions, verify_bytes, verify_lazy, verify_with_mode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut opts = VerifyOptions::default();
    opts.strict = true;
    opts.require_stripped = true;
    opts.max_size = Some(1 << 20);
    // No upx: a packed input is reported as unverifiable instead of running upx -d.
    let path = Path::new("/nonexistent/fuzz-input");
    for origin in [Origin::Named, Origin::Walked] {
        let r = verify_bytes(path, "fuzz", data, &opts, origin);
        let _ = binslim::report::json::to_string(&r);
    }
    if data.starts_with(ELF_MAGIC) {
        let whole = verify_with_mode(path, "fuzz", data, 0o755, &opts, Origin::Walked);
        let lazy = LazyFile::new(memfd_of(data), data.len() as u64, &data[..4]);
        let lazy = verify_lazy(path, "fuzz", &lazy, 0o755, &opts, Origin::Walked);
        assert_eq!(
            binslim::report::json::to_string(&lazy),
            binslim::report::json::to_string(&whole)
        );
    }
});

/// A file in memory holding `data`.
fn memfd_of(data: &[u8]) -> std::fs::File {
    // SAFETY: the name is a NUL-terminated literal; the call only reads it.
    let fd = unsafe { libc::memfd_create(c"fuzz-input".as_ptr(), libc::MFD_CLOEXEC) };
    assert!(fd >= 0, "memfd_create failed");
    // SAFETY: `fd` was just created and nothing else owns it.
    let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
    file.write_all(data).unwrap();
    file
}
