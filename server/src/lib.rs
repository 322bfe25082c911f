//! The node: configuration, logging, listeners, the slot-partitioned keyspace, the commands,
//! and in cluster mode the actor that drives `cluster-core` over real bus links.
//!
//! This is the only crate that does I/O for the node; `main.rs` only hands the command line
//! to [`run`]. RDB persistence and DUMP/RESTORE live in [`rdb`], Redis's replication
//! protocol in [`replication`]; the cluster actor hands role changes to the latter.

pub mod cluster;
pub mod commands;
pub mod config;
pub mod info;
pub mod keyspace;
pub mod logging;
pub mod net;
pub mod node;
pub mod process;
pub mod rdb;
pub mod replication;
mod startup;
pub mod types;

/// The Redis version this server is compatible with (INFO, HELLO, the FATAL block).
pub const VERSION: &str = "7.0.15";

/// Runs the node with the given command-line arguments (without the program name) and
/// returns the process exit code.
pub fn run(args: Vec<String>) -> i32 {
    startup::run(args)
}
