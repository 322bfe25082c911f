//! Project tasks: `cargo xtask <task>`.

fn main() {
    eprintln!("no xtask tasks yet");
    std::process::exit(1);
}
