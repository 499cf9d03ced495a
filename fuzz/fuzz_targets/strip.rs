//! Fuzz target: stripping any input the analysis accepts must not panic, and the stripped
//! output must itself parse with the same linkage, interpreter and NEEDED list, be exactly as
//! long as planned, be the same whichever writer made it, and strip again cleanly. The debug
//! file (`--keep-debug`) must parse too.
#![no_main]

use binslim::elf::analyze;
use binslim::strip::{StripOptions, plan, plan_debug_file, strip};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(before) = analyze(data) else { return };
    let mut out = Vec::new();
    let Ok(layout) = strip(data, &StripOptions::all(), &mut out) else {
        return;
    };
    assert_eq!(layout.size(), out.len() as u64, "planned size differs from written");
    let mut buffered = Vec::new();
    layout.write_from(data, &mut buffered).expect("write_from");
    assert!(buffered == out, "write_from and write_to differ");

    let after = analyze(&out).expect("stripped output must parse");
    assert_eq!(before.linkage, after.linkage);
    assert_eq!(before.interpreter, after.interpreter);
    assert_eq!(before.needed, after.needed);
    // The result is strippable again (its headers are consistent enough to plan from).
    plan(&out, &StripOptions::all()).expect("stripped output must strip again");

    if let Ok(dbg) = plan_debug_file(data) {
        let mut d = Vec::new();
        dbg.write_to(data, &mut d).expect("debug file write");
        assert_eq!(dbg.size(), d.len() as u64);
        analyze(&d).expect("debug file must parse");
    }
});
