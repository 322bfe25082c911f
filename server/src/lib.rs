//! The node: configuration, listeners, keyspace, commands, replication and persistence.
//!
//! This is the only crate that does I/O for the node; `main.rs` only hands the command line
//! to [`run`].

/// Runs the node with the given command-line arguments (without the program name).
pub fn run(args: Vec<String>) -> i32 {
    let _ = args;
    0
}
