//! Project tasks: `cargo xtask <task>` — `cluster-up`/`cluster-down` (a local cluster of our
//! nodes), `bench` (our node and redis-server side by side under redis-benchmark), `sim`
//! (the cluster simulator), `cluster-status` (a running cluster as a table) and `fuzz` (the
//! cargo-fuzz targets for a given time each). It runs binaries and tools; it holds no node
//! logic of its own.

mod bench;
mod bench_cluster;
mod bench_failover;
mod cluster;
mod cluster_status;
mod fuzz;
mod resp;
mod sim;

use clap::{Parser, Subcommand};

/// Project tasks.
#[derive(Parser)]
#[command(
    name = "xtask",
    about = "Project tasks for the Redis-compatible cluster node"
)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Benchmark our server against redis-server 7.0 with redis-benchmark, side by side.
    Bench(bench::BenchArgs),
    /// Run the deterministic cluster simulator: many fault seeds, or a scale run.
    Sim(sim::SimArgs),
    /// Start a local cluster of our nodes (build, start, MEET, slots, replicas, wait for ok).
    ClusterUp(cluster::UpArgs),
    /// Stop the nodes cluster-up started (by their PID files).
    ClusterDown(cluster::DownArgs),
    /// Show a running cluster as a table: nodes, roles, slots, keys, links, epochs, state.
    ClusterStatus(cluster_status::StatusArgs),
    /// List the cargo-fuzz targets, or run them (--target NAME / --all) for --time seconds each.
    Fuzz(fuzz::FuzzArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.task {
        Task::Bench(args) => bench::run(&args),
        Task::Sim(args) => sim::run(&args),
        Task::ClusterUp(args) => cluster::up(&args),
        Task::ClusterDown(args) => cluster::down(&args),
        Task::ClusterStatus(args) => cluster_status::run(&args),
        Task::Fuzz(args) => fuzz::run(&args),
    };
    if let Err(e) = result {
        eprintln!("xtask: {e}");
        std::process::exit(1);
    }
}
