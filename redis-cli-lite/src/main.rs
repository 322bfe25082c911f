//! A small redis-cli. Not written yet: it lands with the operator-tools issue.

fn main() {
    eprintln!("redis-cli-lite is not written yet");
    std::process::exit(1);
}
