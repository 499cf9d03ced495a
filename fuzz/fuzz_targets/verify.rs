//! Fuzz target: the scratch verdict (with every policy on) must never panic on any input that
//! gets past the ELF parser, and its report must serialize.
#![no_main]

use std::path::Path;

use binslim::verify::{Origin, VerifyOptions, verify_bytes};
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
});
