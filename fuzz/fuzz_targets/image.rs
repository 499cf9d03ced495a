//! Fuzz target: the image reader must never panic, and must stay within its limits, on any
//! bytes — read as a whole image archive, and as one layer tar merged into a root (so the
//! layer reader and the merge see arbitrary input without first passing the digests).
#![no_main]

use binslim::image::read::{Limits, merge_layer_bytes, read_tar_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut limits = Limits::default();
    limits.max_uncompressed = 16 << 20;
    limits.max_entries = 10_000;
    limits.max_json = 1 << 20;
    if let Ok(images) = read_tar_bytes(data, &limits) {
        for img in &images {
            if let Some(p) = img.entrypoint() {
                let _ = img.locate(p);
            }
        }
    }
    if let Ok(img) = merge_layer_bytes(data, &limits) {
        for p in ["/bin/sh", "app", "./x", "/lib64/ld-linux-x86-64.so.2"] {
            let _ = img.locate(p);
        }
    }
});
