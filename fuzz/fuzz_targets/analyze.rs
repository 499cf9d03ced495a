//! Fuzz target: the ELF analysis must never panic, hang or over-allocate on any input, and the
//! text and JSON renderers must accept whatever the analysis produces. The package rows
//! (`inspect --packages`, from `.symtab`) and a diff of the file with itself are read too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(a) = binslim::elf::analyze(data) {
        let _ = binslim::report::text::inspect("fuzz", &a, Default::default());
        let entry = binslim::report::json::InspectEntry {
            path: "fuzz",
            analysis: Some(&a),
            error: None,
            packages: None,
            package_notes: None,
        };
        let _ = binslim::report::json::inspect(&[entry]);
    }
    if let Ok(elf) = binslim::elf::ElfFile::parse(data) {
        let a = binslim::elf::analyze_file(&elf);
        let p = binslim::packages::packages(&elf, &a);
        let code = p.rows.iter().fold(0u64, |acc, r| acc.saturating_add(r.code));
        assert_eq!(code, p.text_size, "rows sum to .text");
        let _ = binslim::report::packages::table(&p, 20, Default::default());
        let side = binslim::diff::Side {
            label: "fuzz",
            analysis: &a,
            packages: &p,
            gzip_size: 0,
        };
        let d = binslim::diff::diff(&side, &side);
        assert!(d.packages.iter().all(|r| r.delta == 0));
        let _ = binslim::report::diff::text(&d, None, 20, Default::default());
    }
});
