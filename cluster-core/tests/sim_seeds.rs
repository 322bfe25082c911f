#![allow(clippy::unwrap_used, clippy::panic)]
//! Many seeds of random faults on a lossy, reordering, duplicating network; the
//! invariants of the crate docs are checked after every step and at quiescence.
//!
//! `CLUSTER_SIM_SEEDS=N` runs N seeds (default 16, keeping debug test time small);
//! `CLUSTER_SIM_SEED=S` replays one seed; `CLUSTER_SIM_NODES=N` (default 6, half of
//! them masters) sizes the cluster.

use cluster_core::sim::{Sim, SimConfig, SimFailure};

fn nodes() -> usize {
    std::env::var("CLUSTER_SIM_NODES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6usize)
        .max(4)
}

fn run(seed: u64) -> Result<(), SimFailure> {
    let n = nodes();
    let mut cfg = SimConfig::new(seed, n);
    cfg.latency = (1, 30);
    cfg.loss_permille = 5;
    cfg.dup_permille = 5;
    let mut sim = Sim::new(cfg);
    sim.create_cluster(n / 2)?;
    let mut r = fastrand::Rng::with_seed(seed ^ 0x5eed);
    for _ in 0..3 {
        match r.u8(0..4) {
            3 => {
                // A random split into two groups (possibly with no majority side).
                let (a, b): (Vec<usize>, Vec<usize>) = (0..n).partition(|_| r.bool());
                sim.partition(&a, &b);
                sim.run_for(r.u64(1000..10_000))?;
                sim.heal();
            }
            0 => {
                let v = r.usize(0..n);
                sim.crash(v);
                sim.run_for(r.u64(1000..8000))?;
                sim.restart(v)?;
            }
            1 => {
                let v = r.usize(0..n);
                let rest: Vec<usize> = (0..n).filter(|x| *x != v).collect();
                sim.partition(&[v], &rest);
                sim.run_for(r.u64(1000..8000))?;
                sim.heal();
            }
            _ => {
                let v = r.usize(0..n);
                let mode = ["FAILOVER", "FAILOVER FORCE", "FAILOVER TAKEOVER"][r.usize(0..3)];
                let args: Vec<&str> = mode.split(' ').collect();
                sim.command(v, &args)?;
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
    sim.check_converged()
}

#[test]
fn random_faults_keep_the_invariants() {
    let seeds: Vec<u64> = match std::env::var("CLUSTER_SIM_SEED") {
        Ok(s) => vec![s.parse().unwrap()],
        Err(_) => {
            let n: u64 = std::env::var("CLUSTER_SIM_SEEDS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(16);
            (0..n).collect()
        }
    };
    for seed in seeds {
        if let Err(f) = run(seed) {
            panic!(
                "{f}\nreplay: CLUSTER_SIM_SEED={seed} cargo test -p cluster-core --test sim_seeds"
            );
        }
    }
}

#[test]
fn same_seed_same_run() {
    let trace = |seed| {
        let mut sim = Sim::new(SimConfig::new(seed, 4));
        sim.create_cluster(2).unwrap();
        sim.crash(0);
        sim.run_for(10_000).unwrap();
        (0..4)
            .filter_map(|i| sim.node(i).map(|c| c.nodes_text()))
            .collect::<Vec<_>>()
    };
    assert_eq!(trace(3), trace(3));
}
