//! Prints the package rows binslim attributes a file's code and data to: the library's
//! `binslim::packages::packages`, without the CLI.
//!
//!     cargo run --example packages -- /usr/local/bin/docker [TOP]

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: packages FILE [TOP]");
        return ExitCode::from(2);
    };
    let top: usize = args
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(usize::MAX);
    // Mapped, as the CLI does: only the pages the readers touch are read.
    let input = match binslim::input::Input::open(std::path::Path::new(&path)) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("packages: {e}");
            return ExitCode::from(2);
        }
    };
    let elf = match binslim::elf::ElfFile::parse(input.bytes()) {
        Ok(elf) => elf,
        Err(e) => {
            eprintln!("packages: '{path}': {e}");
            return ExitCode::from(2);
        }
    };
    let analysis = binslim::elf::analyze_file(&elf);
    let p = binslim::packages::packages(&elf, &analysis);
    println!("{:>12} {:>10}  {:<8} name", "code", "data", "language");
    for row in p.rows.iter().take(top) {
        println!(
            "{:>12} {:>10}  {:<8} {}",
            row.code,
            row.data,
            row.language.as_str(),
            row.name
        );
    }
    let sum: u64 = p.rows.iter().map(|r| r.code).sum();
    println!("{} rows, code {sum} of .text {}", p.rows.len(), p.text_size);
    for n in &p.notes {
        println!("note: {n}");
    }
    ExitCode::SUCCESS
}
