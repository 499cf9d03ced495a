//! Fuzz target: Go's pclntab and moduledata readers must never panic, hang or over-allocate on
//! malformed tables, and the package rows must still sum to `.text` exactly.
//!
//! The first byte picks the input's form: even = a bare pclntab (bit 1: big-endian), odd = an
//! ELF file (analysis with the moduledata search, then the package rows).
#![no_main]

use binslim::elf::gometa::Pclntab;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        if let Some(tab) = Pclntab::parse(rest, mode & 2 == 0) {
            let _ = tab.text_range();
            let mut total = 0u64;
            for f in tab.functions() {
                total = total.saturating_add(f.size);
                assert!(f.name.len() <= rest.len());
            }
            let _ = total;
        }
        return;
    }
    if let Ok(elf) = binslim::elf::ElfFile::parse(rest) {
        let a = binslim::elf::analyze_file(&elf);
        let p = binslim::packages::packages(&elf, &a);
        let sum: u64 = p.rows.iter().map(|r| r.code).sum();
        if !p.rows.is_empty() {
            assert_eq!(sum, p.text_size, "rows must sum to .text");
        }
    }
});
