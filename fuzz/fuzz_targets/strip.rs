//! Fuzz target: stripping any input the analysis accepts must not panic, and the stripped
//! output must itself parse with the same linkage, interpreter and NEEDED list.
#![no_main]

use binslim::elf::analyze;
use binslim::strip::{StripOptions, strip};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(before) = analyze(data) else { return };
    let mut out = Vec::new();
    if strip(data, &StripOptions::all(), &mut out).is_err() {
        return;
    }
    let after = analyze(&out).expect("stripped output must parse");
    assert_eq!(before.linkage, after.linkage);
    assert_eq!(before.interpreter, after.interpreter);
    assert_eq!(before.needed, after.needed);
});
