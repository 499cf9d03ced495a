//! Fuzz target: the ELF analysis must never panic, hang or over-allocate on any input, and the
//! text and JSON renderers must accept whatever the analysis produces.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(a) = binslim::elf::analyze(data) {
        let _ = binslim::report::text::inspect("fuzz", &a, Default::default());
        let entry = binslim::report::json::InspectEntry {
            path: "fuzz",
            analysis: Some(&a),
            error: None,
        };
        let _ = binslim::report::json::inspect(&[entry]);
    }
});
