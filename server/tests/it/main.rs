//! The server's integration tests, linked into one binary: forty binaries, each carrying its own
//! copy of the server and its dependencies, took most of a test build's disk and link time.
//! Each module listens on ports of its own (no two modules share one), so any two can run at once.

mod cluster_common;
mod common;
mod rdb_common;

mod cluster_benchmark;
mod cluster_blocked;
mod cluster_debug;
mod cluster_e2e;
mod cluster_migrate;
mod cluster_partition;
mod cluster_pubsub;
mod cluster_replies;
mod cluster_routing;
mod cluster_startup;
mod config_command;
mod config_fatal;
mod config_grammar;
mod config_rewrite;
mod config_vs_redis;
mod differential;
mod differential_types;
mod hotpath_timing;
mod misc_auth;
mod misc_blocked_stats;
mod misc_config;
mod misc_debug_reload;
mod misc_info;
mod misc_monitor;
mod misc_output_limits;
mod net_pubsub_soft_limit;
mod node_cluster_mode;
mod node_network;
mod node_robustness;
mod node_smoke;
mod node_stats;
mod rdb_interop;
mod rdb_old_encodings;
mod rdb_persistence;
mod rdb_proptest;
mod repl_cluster;
mod repl_interop;
mod repl_migration;
mod repl_stream;
mod startup_lifecycle;
mod startup_vs_redis;
mod types_blocking;
