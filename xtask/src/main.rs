//! Project tasks: `cargo xtask <task>`.

mod bench;
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
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.task {
        Task::Bench(args) => bench::run(&args),
        Task::Sim(args) => sim::run(&args),
    };
    if let Err(e) = result {
        eprintln!("xtask: {e}");
        std::process::exit(1);
    }
}
