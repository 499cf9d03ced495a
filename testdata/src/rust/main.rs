// A tiny Rust program: prints one line and exits 0.
fn main() {
    println!("hello from {}", env!("FIXTURE_NAME"));
}
