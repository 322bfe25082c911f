//! The node's entry point.

fn main() {
    std::process::exit(server::run(std::env::args().skip(1).collect()));
}
