//! A fixture for `binslim sbom`: prints the numbers it is given, joined, through its two
//! dependencies.
use itertools::Itertools;

fn main() {
    let mut buf = itoa::Buffer::new();
    let n = std::env::args().count();
    let line = (0..n).map(|i| buf.format(i * 7).to_string()).join(",");
    println!("rust-auditable {line}");
}
