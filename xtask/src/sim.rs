//! `cargo xtask sim`: the cluster simulator (`cluster_core::sim`) at length.
//!
//! * `cargo xtask sim --seeds 10000` — the mixed-fault scenario on seeds 0..N, node
//!   counts drawn per seed in 6..=20 (or fixed with `--nodes`), all fault kinds (or
//!   `--faults lossy,crash,...`), over all cores; prints a summary, and for a failing
//!   seed its trace and the command that replays it (`--seed S`).
//! * `cargo xtask sim --scale 1000` — build a cluster of that many nodes through one
//!   node, then report the virtual time to converge, bus traffic per node at steady
//!   state next to what Redis's PING schedule predicts, and CPU seconds per simulated
//!   second. Several sizes: `--scale 100,500,1000`.
//!
//! The `cargo xtask` alias builds in debug, where the simulator is an order of
//! magnitude slower: for long runs use `cargo run --release -p xtask -- sim ...`.

use std::time::Instant;

use cluster_core::sim::scenario::{self, Faults, ScaleReport};

/// Options of `cargo xtask sim`.
#[derive(clap::Args)]
pub struct SimArgs {
    /// Seeds to run (0..N) for the mixed-fault scenario.
    #[arg(long, default_value_t = 1000)]
    seeds: u64,
    /// Replay this one seed (prints its trace on failure).
    #[arg(long)]
    seed: Option<u64>,
    /// Fixed node count (default: drawn per seed in 6..=20).
    #[arg(long)]
    nodes: Option<usize>,
    /// Fault kinds: lossy,partition,isolate,oneway,crash,failover (or all, none).
    #[arg(long, default_value = "all")]
    faults: String,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Scale run instead: comma-separated cluster sizes, e.g. 100,500,1000.
    #[arg(long, value_delimiter = ',')]
    scale: Vec<usize>,
    /// Scale run from nodes.conf files listing the whole cluster instead of MEET (skips
    /// the formation: every node handshaking with every other one by one).
    #[arg(long)]
    formed: bool,
    /// Scale run: virtual ms to let the PING schedule settle (default node_timeout).
    #[arg(long)]
    settle: Option<u64>,
    /// Scale run: virtual ms of traffic measured (default 2 × node_timeout).
    #[arg(long)]
    window: Option<u64>,
    /// cluster-node-timeout of the scale run, ms.
    #[arg(long, default_value_t = 15_000)]
    node_timeout: u64,
}

/// Run `cargo xtask sim`.
pub fn run(args: &SimArgs) -> Result<(), String> {
    if !args.scale.is_empty() {
        for n in &args.scale {
            scale(*n, args)?;
        }
        return Ok(());
    }
    let faults = Faults::parse(&args.faults)?;
    let nodes = args.nodes.map_or(6..=20, |n| n..=n);
    let seeds = args.seed.map_or(0..args.seeds, |s| s..s + 1);
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    println!(
        "mixed-fault scenario: seeds {}..{}, nodes {}..={}, faults {:?}, {threads} threads",
        seeds.start,
        seeds.end,
        nodes.start(),
        nodes.end(),
        faults
    );
    let (wall, cpu0) = (Instant::now(), cpu_seconds());
    let sum = scenario::run_seeds(seeds, &nodes, &faults, threads);
    let (wall, cpu) = (wall.elapsed().as_secs_f64(), cpu_seconds() - cpu0);
    println!(
        "{} seeds, {} failed; {:.0} s simulated, {} elections, {} bus messages; {wall:.1} s wall, {cpu:.1} s CPU",
        sum.runs,
        sum.failures.len(),
        sum.virtual_ms as f64 / 1000.0,
        sum.elections,
        sum.messages,
    );
    let Some(first) = sum.failures.first() else {
        return Ok(());
    };
    let failed: Vec<String> = sum.failures.iter().map(|f| f.seed.to_string()).collect();
    println!("failed seeds: {}", failed.join(" "));
    println!("{first}");
    let fixed = args
        .nodes
        .map_or(String::new(), |n| format!(" --nodes {n}"));
    Err(format!(
        "replay: cargo xtask sim --seed {}{fixed} --faults {}",
        first.seed, args.faults
    ))
}

fn scale(n: usize, args: &SimArgs) -> Result<(), String> {
    let (node_timeout, formed) = (args.node_timeout, args.formed);
    let settle = args.settle.unwrap_or(node_timeout);
    let window = args.window.unwrap_or(2 * node_timeout);
    let how = if formed {
        "from nodes.conf"
    } else {
        "MEET through node 0"
    };
    println!("scale: {n} nodes, node_timeout {node_timeout} ms, {how}");
    let cpu0 = cpu_seconds();
    let r = scenario::scale_with(1, n, node_timeout, formed, settle, window)
        .map_err(|f| f.to_string())?;
    let cpu = cpu_seconds() - cpu0;
    print_scale(&r, node_timeout, settle, cpu);
    Ok(())
}

fn print_scale(r: &ScaleReport, node_timeout: u64, settle: u64, cpu: f64) {
    let simulated = (r.converge_ms + settle + r.window_ms) as f64 / 1000.0;
    // cluster-bus.md §9.1: every known node gets a PING at least every node_timeout/2
    // (plus one random PING a second), each answered by a PONG; §9.2: a message is the
    // 2256-byte header plus max(3, N/10) gossip entries of 104 bytes (freshnodes = N-2).
    let peers = (r.nodes - 1) as f64;
    let pings = peers / (node_timeout as f64 / 2000.0) + 1.0;
    let gossip = (r.nodes / 10).max(3).min(r.nodes.saturating_sub(2)) as f64;
    let msg = 2256.0 + 104.0 * gossip;
    let expected = 2.0 * pings * msg;
    println!(
        "  converged in {:.1} s virtual ({} masters)",
        r.converge_ms as f64 / 1000.0,
        r.masters
    );
    println!(
        "  steady state over {:.0} s: {:.1} msgs/s and {:.0} bytes/s sent per node ({:.2} MB/s)",
        r.window_ms as f64 / 1000.0,
        r.msgs_per_node_sec,
        r.bytes_per_node_sec,
        r.bytes_per_node_sec / 1e6
    );
    println!(
        "  Redis's schedule predicts {:.1} msgs/s x {msg:.0} B = {:.0} bytes/s ({:.2} MB/s); ours / predicted = {:.2}",
        2.0 * pings,
        expected,
        expected / 1e6,
        r.bytes_per_node_sec / expected
    );
    println!(
        "  {cpu:.1} s CPU for {simulated:.1} s simulated: {:.2} CPU s per simulated s",
        cpu / simulated
    );
}

/// CPU time of this process (user + system), from /proc; 0 where unavailable.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are the 12th and
    // 13th of those, in clock ticks (USER_HZ, 100 on Linux).
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}
