//! Ready-made runs over [`Sim`]: the mixed-fault scenario that CI runs on hundreds of
//! seeds (and `cargo xtask sim` on thousands), and the scale run (hundreds to a
//! thousand nodes, traffic at steady state).
//!
//! A run is a function of its seed: the node count, the faults, their timing and the
//! network's behaviour all derive from it, so a failing seed replays exactly.

use std::ops::{Range, RangeInclusive};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::{Sim, SimConfig, SimFailure};
use crate::types::Millis;

/// Which faults a mixed-fault run may inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Faults {
    /// Lossy (0.5 %), duplicating (0.5 %) network with 1–30 ms latency (reordering).
    pub lossy: bool,
    /// Random two-group splits, possibly with no majority side.
    pub partition: bool,
    /// One node cut off from all others.
    pub isolate: bool,
    /// One-way cuts: a node's packets to the rest (or theirs to it) are dropped.
    pub one_way: bool,
    /// A node crashes and restarts from its nodes.conf.
    pub crash: bool,
    /// CLUSTER FAILOVER [FORCE|TAKEOVER] on a random node.
    pub failover: bool,
}

impl Faults {
    /// Every fault.
    pub const ALL: Faults = Faults {
        lossy: true,
        partition: true,
        isolate: true,
        one_way: true,
        crash: true,
        failover: true,
    };

    /// The names [`Faults::parse`] accepts.
    pub const NAMES: &'static str = "lossy,partition,isolate,oneway,crash,failover (or all, none)";

    /// A comma-separated list of fault names, `all` or `none`.
    pub fn parse(list: &str) -> Result<Faults, String> {
        let mut f = Faults {
            lossy: false,
            partition: false,
            isolate: false,
            one_way: false,
            crash: false,
            failover: false,
        };
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name {
                "all" => f = Faults::ALL,
                "none" => {}
                "lossy" => f.lossy = true,
                "partition" => f.partition = true,
                "isolate" => f.isolate = true,
                "oneway" | "one-way" => f.one_way = true,
                "crash" => f.crash = true,
                "failover" => f.failover = true,
                other => return Err(format!("unknown fault {other:?}; known: {}", Self::NAMES)),
            }
        }
        Ok(f)
    }

    fn kinds(&self) -> Vec<Kind> {
        [
            (self.partition, Kind::Partition),
            (self.isolate, Kind::Isolate),
            (self.one_way, Kind::OneWay),
            (self.crash, Kind::Crash),
            (self.failover, Kind::Failover),
        ]
        .into_iter()
        .filter_map(|(on, k)| on.then_some(k))
        .collect()
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Partition,
    Isolate,
    OneWay,
    Crash,
    Failover,
}

/// What one successful mixed-fault run did.
#[derive(Debug, Clone, Copy)]
pub struct FaultRun {
    /// Nodes in the cluster.
    pub nodes: usize,
    /// Virtual time simulated, ms.
    pub virtual_ms: Millis,
    /// Failover elections won.
    pub elections: usize,
    /// Bus messages sent.
    pub messages: u64,
}

/// The node count of `seed`'s run, drawn from `range`.
pub fn nodes_for_seed(seed: u64, range: &RangeInclusive<usize>) -> usize {
    let (lo, hi) = (*range.start(), *range.end());
    fastrand::Rng::with_seed(seed ^ 0x006e_6f64_6573).usize(lo..=hi.max(lo))
}

/// The mixed-fault scenario: build a cluster of `nodes` (half masters, at least 4
/// nodes), inject three random faults from `faults` with random durations, heal, and
/// require convergence (invariants 1, 3, 7) within 60 s; invariants 2 and 4 are
/// checked at every step.
pub fn mixed_faults(seed: u64, nodes: usize, faults: &Faults) -> Result<FaultRun, SimFailure> {
    let n = nodes.max(4);
    let mut cfg = SimConfig::new(seed, n);
    if faults.lossy {
        cfg.latency = (1, 30);
        cfg.loss_permille = 5;
        cfg.dup_permille = 5;
    }
    let mut sim = Sim::new(cfg);
    let start = sim.now();
    sim.create_cluster(n / 2)?;
    let kinds = faults.kinds();
    let mut r = fastrand::Rng::with_seed(seed ^ 0x5eed);
    for _ in 0..3 {
        let Some(kind) = kinds.get(r.usize(0..kinds.len().max(1))) else {
            sim.run_for(r.u64(1000..4000))?;
            continue;
        };
        match kind {
            Kind::Partition => {
                let (a, b): (Vec<usize>, Vec<usize>) = (0..n).partition(|_| r.bool());
                sim.partition(&a, &b);
                sim.run_for(r.u64(1000..10_000))?;
                sim.heal();
            }
            Kind::Isolate => {
                let v = r.usize(0..n);
                let rest: Vec<usize> = (0..n).filter(|x| *x != v).collect();
                sim.partition(&[v], &rest);
                sim.run_for(r.u64(1000..8000))?;
                sim.heal();
            }
            Kind::OneWay => {
                let v = r.usize(0..n);
                let rest: Vec<usize> = (0..n).filter(|x| *x != v).collect();
                if r.bool() {
                    sim.partition_one_way(&[v], &rest);
                } else {
                    sim.partition_one_way(&rest, &[v]);
                }
                sim.run_for(r.u64(1000..8000))?;
                sim.heal();
            }
            Kind::Crash => {
                let v = r.usize(0..n);
                sim.crash(v);
                sim.run_for(r.u64(1000..8000))?;
                sim.restart(v)?;
            }
            Kind::Failover => {
                let v = r.usize(0..n);
                let mode: &[&str] = match r.u8(0..3) {
                    0 => &["FAILOVER"],
                    1 => &["FAILOVER", "FORCE"],
                    _ => &["FAILOVER", "TAKEOVER"],
                };
                sim.command(v, mode)?;
                sim.run_for(r.u64(1000..4000))?;
            }
        }
        sim.run_for(r.u64(0..3000))?;
    }
    // Quiescence: every node up, network healed; give failovers and UPDATEs time.
    sim.heal();
    sim.run_until(60_000, "converged after faults", |s| {
        s.converged(true).is_ok()
    })?;
    sim.run_for(5000)?;
    sim.check_converged()?;
    Ok(FaultRun {
        nodes: n,
        virtual_ms: sim.now() - start,
        elections: sim.elections.len(),
        messages: sim.sent().0,
    })
}

/// The outcome of many seeds.
#[derive(Debug, Default)]
pub struct SeedsSummary {
    /// Seeds run.
    pub runs: u64,
    /// Virtual time simulated over all seeds, ms.
    pub virtual_ms: u64,
    /// Elections won over all seeds.
    pub elections: u64,
    /// Bus messages over all seeds.
    pub messages: u64,
    /// Failed seeds, lowest seed first.
    pub failures: Vec<SimFailure>,
}

/// [`mixed_faults`] on every seed of `seeds` (node count from [`nodes_for_seed`]),
/// spread over `threads` threads. The outcome does not depend on the thread count.
pub fn run_seeds(
    seeds: Range<u64>,
    nodes: &RangeInclusive<usize>,
    faults: &Faults,
    threads: usize,
) -> SeedsSummary {
    let next = AtomicU64::new(seeds.start);
    let total = Mutex::new(SeedsSummary::default());
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| loop {
                let seed = next.fetch_add(1, Ordering::Relaxed);
                if seed >= seeds.end {
                    break;
                }
                let outcome = mixed_faults(seed, nodes_for_seed(seed, nodes), faults);
                let Ok(mut t) = total.lock() else { break };
                t.runs += 1;
                match outcome {
                    Ok(run) => {
                        t.virtual_ms += run.virtual_ms;
                        t.elections += run.elections as u64;
                        t.messages += run.messages;
                    }
                    Err(f) => t.failures.push(f),
                }
            });
        }
    });
    let mut t = total.into_inner().unwrap_or_else(|p| p.into_inner());
    t.failures.sort_by_key(|f| f.seed);
    t
}

/// Figures of a scale run.
#[derive(Debug, Clone, Copy)]
pub struct ScaleReport {
    /// Nodes in the cluster.
    pub nodes: usize,
    /// Masters (each owns `16384 / masters` slots, the last one the remainder).
    pub masters: usize,
    /// Virtual time from the first MEET to every node knowing every node, agreeing
    /// on every slot and reporting `cluster_state:ok`, ms.
    pub converge_ms: Millis,
    /// Length of the steady-state window, ms.
    pub window_ms: Millis,
    /// Bus messages sent per node per second in the window.
    pub msgs_per_node_sec: f64,
    /// Bus bytes sent per node per second in the window.
    pub bytes_per_node_sec: f64,
}

/// Build a `nodes`-node cluster (half masters, slots spread evenly, every node MEETs
/// through node 0) on a quiet network with `node_timeout`, then measure bus traffic
/// over `2 × node_timeout` after letting the ping schedule settle for `node_timeout`.
///
/// With `formed`, the nodes start from nodes.conf files that already list the whole
/// cluster ([`Sim::load_formed`]) and `converge_ms` is the time until every node
/// agrees and reports `ok`: the steady state of big clusters without simulating the
/// MEET phase (N² handshakes, one by one).
pub fn scale(
    seed: u64,
    nodes: usize,
    node_timeout: u64,
    formed: bool,
) -> Result<ScaleReport, SimFailure> {
    scale_with(
        seed,
        nodes,
        node_timeout,
        formed,
        node_timeout,
        2 * node_timeout,
    )
}

/// [`scale`] with the settling time and the measuring window chosen (ms).
pub fn scale_with(
    seed: u64,
    nodes: usize,
    node_timeout: u64,
    formed: bool,
    settle_ms: u64,
    window_ms: u64,
) -> Result<ScaleReport, SimFailure> {
    let n = nodes.max(2);
    let masters = (n / 2).max(1);
    let mut cfg = SimConfig::new(seed, n);
    cfg.node_timeout = node_timeout;
    // No crash here: nodes.conf is checked once, at the end (invariant 7).
    cfg.persist = false;
    let mut sim = Sim::new(cfg);
    let start = sim.now();
    if formed {
        sim.load_formed(masters)?;
        sim.run_until(10 * node_timeout, "formed cluster ok", |s| {
            s.converged(true).is_ok()
        })?;
    } else {
        sim.create_cluster_within(masters, node_timeout.max(3000))?;
    }
    let converge_ms = sim.now() - start;
    sim.run_for(settle_ms)?;
    let (m0, b0) = sim.sent();
    sim.run_for(window_ms)?;
    sim.check_converged()?;
    let (m1, b1) = sim.sent();
    let per = (n as f64) * (window_ms as f64 / 1000.0);
    Ok(ScaleReport {
        nodes: n,
        masters,
        converge_ms,
        window_ms,
        msgs_per_node_sec: (m1 - m0) as f64 / per,
        bytes_per_node_sec: (b1 - b0) as f64 / per,
    })
}
