#![allow(clippy::unwrap_used, clippy::panic)]
//! The simulator builds a cluster the way `redis-cli --cluster create` does.

use cluster_core::sim::{Sim, SimConfig, SimFailure};

fn ok<T>(r: Result<T, SimFailure>) -> T {
    match r {
        Ok(v) => v,
        Err(f) => panic!("{f}"),
    }
}

#[test]
fn three_masters_three_replicas_converge() {
    let mut sim = Sim::new(SimConfig::new(1, 6));
    ok(sim.create_cluster(3));
    ok(sim.run_for(5000));
    ok(sim.check_converged());
    for i in 0..6 {
        let c = sim.node(i).unwrap();
        assert_eq!(c.is_replica(), i >= 3, "node{i}");
        assert_eq!(c.nodes().len(), 6);
    }
}
