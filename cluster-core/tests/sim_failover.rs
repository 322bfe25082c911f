#![allow(clippy::unwrap_used, clippy::panic)]
//! Scenario tests in the simulator: failures, failovers, partitions, epochs, UPDATE,
//! replica migration, FORGET, restart (cluster-bus.md §11–§16).

use cluster_core::nodes_conf::name_text;
use cluster_core::sim::{Sim, SimConfig, SimFailure};
use cluster_core::{Health, Reply};

fn ok<T>(r: Result<T, SimFailure>) -> T {
    match r {
        Ok(v) => v,
        Err(f) => panic!("{f}"),
    }
}

/// 3 masters (nodes 0–2), replicas 3→0, 4→1, 5→2.
fn cluster(seed: u64) -> Sim {
    let mut sim = Sim::new(SimConfig::new(seed, 6));
    ok(sim.create_cluster(3));
    sim
}

fn is_master_everywhere(sim: &Sim, i: usize) -> bool {
    let Some(name) = sim.node(i).map(|c| c.myself()) else {
        return false;
    };
    (0..sim.len()).all(|j| {
        sim.node(j).is_none_or(|c| {
            c.nodes()
                .get(&name)
                .is_some_and(|n| n.is_master() && !n.slots.is_empty())
        })
    })
}

fn replica_of(sim: &Sim, i: usize, master: usize) -> bool {
    let m = sim.node(master).map(|c| c.myself());
    sim.node(i)
        .is_some_and(|c| c.is_replica() && c.my_master() == m)
}

#[test]
fn replica_promoted_within_bound_after_master_crash() {
    // §14 automatic failover; invariant 5: bound 3 × node_timeout + 3 s.
    let timeout = 2000;
    for seed in 0..3 {
        let mut sim = cluster(seed);
        sim.crash(0);
        let took = ok(
            sim.run_until(3 * timeout + 3000, "replica 3 promoted", |s| {
                is_master_everywhere(s, 3)
            }),
        );
        assert!(
            took >= timeout,
            "seed {seed}: promoted after {took} ms, before node_timeout"
        );
        ok(sim.run_for(3000));
        ok(sim.check_converged());
        // The failed master is FAIL in every running node's view.
        let dead = sim
            .node(3)
            .unwrap()
            .nodes()
            .iter()
            .find(|n| n.failed())
            .map(|n| n.name);
        assert!(dead.is_some(), "seed {seed}");
    }
}

#[test]
fn stale_master_returning_becomes_replica_of_the_winner() {
    // §13.2-2 / §13.5: the restarted old master learns the newer epoch (UPDATE or
    // the new master's PONG) and follows the winner.
    let mut sim = cluster(7);
    sim.crash(0);
    ok(sim.run_until(20_000, "replica 3 promoted", |s| is_master_everywhere(s, 3)));
    let updates_before = sim.delivered(0, cluster_bus::MessageType::Update.code());
    ok(sim.restart(0));
    ok(sim.run_until(20_000, "old master follows node3", |s| replica_of(s, 0, 3)));
    // Its stale claims were answered with UPDATE messages (§13.2-2).
    assert!(sim.delivered(0, cluster_bus::MessageType::Update.code()) > updates_before);
    ok(sim.run_for(6000));
    ok(sim.check_converged());
}

#[test]
fn manual_failover_default_swaps_roles() {
    // §15.1: MFSTART, paused master, offset agreement, FORCEACK election.
    let mut sim = cluster(11);
    assert_eq!(ok(sim.command(4, &["FAILOVER"])), Reply::Ok);
    ok(sim.run_until(5000, "node4 master, node1 its replica", |s| {
        is_master_everywhere(s, 4) && replica_of(s, 1, 4)
    }));
    ok(sim.run_for(3000));
    ok(sim.check_converged());
}

#[test]
fn manual_failover_force_and_takeover() {
    // §15.2 FORCE: an election without the master; §15.3 TAKEOVER: no election.
    let mut sim = cluster(12);
    assert_eq!(ok(sim.command(5, &["FAILOVER", "FORCE"])), Reply::Ok);
    ok(sim.run_until(5000, "node5 master", |s| {
        is_master_everywhere(s, 5) && replica_of(s, 2, 5)
    }));
    let epoch_before = sim.node(3).unwrap().current_epoch();
    assert_eq!(ok(sim.command(3, &["FAILOVER", "TAKEOVER"])), Reply::Ok);
    // TAKEOVER is immediate on the replica itself.
    assert!(!sim.node(3).unwrap().is_replica());
    assert!(sim.node(3).unwrap().current_epoch() > epoch_before);
    ok(sim.run_until(5000, "node3 master", |s| {
        is_master_everywhere(s, 3) && replica_of(s, 0, 3)
    }));
    ok(sim.run_for(3000));
    ok(sim.check_converged());
}

#[test]
fn default_failover_refused_when_master_is_down() {
    let mut sim = cluster(13);
    sim.crash(0);
    ok(sim.run_until(20_000, "node0 FAIL in node3's view", |s| {
        s.node(3).unwrap().nodes().iter().any(|n| n.failed())
    }));
    let r = ok(sim.command(3, &["FAILOVER"]));
    let text = match r {
        Reply::Error(e) => e.to_string(),
        other => format!("{other:?}"),
    };
    // Either refused (master failed) or already promoted by the automatic failover.
    assert!(
        text == "ERR Master is down or failed, please use CLUSTER FAILOVER FORCE"
            || text == "ERR You should send CLUSTER FAILOVER to a replica",
        "{text}"
    );
}

#[test]
fn master_in_minority_reports_fail_and_majority_fails_it_over() {
    // Invariant 6: within 1.5 × node_timeout + 200 ms of the cut; §13 healing.
    let mut sim = cluster(21);
    sim.partition(&[0], &[1, 2, 3, 4, 5]);
    let took = ok(sim.run_until(4000, "node0 sees fail", |s| {
        s.node(0).unwrap().health() == Health::Fail
    }));
    assert!(took <= 2000 * 3 / 2 + 200, "{took}");
    ok(
        sim.run_until(20_000, "node3 promoted in the majority", |s| {
            (1..6).all(|j| {
                let n3 = s.node(3).unwrap().myself();
                s.node(j)
                    .unwrap()
                    .nodes()
                    .get(&n3)
                    .is_some_and(|n| n.is_master() && !n.slots.is_empty())
            })
        }),
    );
    sim.heal();
    ok(sim.run_until(20_000, "old master rejoins as replica", |s| {
        replica_of(s, 0, 3)
    }));
    ok(sim.run_for(8000));
    ok(sim.check_converged());
}

#[test]
fn config_epoch_collision_resolves_to_distinct_epochs() {
    // §12: masters created with equal epochs end with distinct ones; the greatest name
    // keeps its epoch.
    let mut sim = Sim::new(SimConfig::new(31, 3));
    for (i, r) in [
        (0, ("0", "5460")),
        (1, ("5461", "10922")),
        (2, ("10923", "16383")),
    ] {
        assert_eq!(ok(sim.command(i, &["ADDSLOTSRANGE", r.0, r.1])), Reply::Ok);
    }
    for i in 1..3 {
        let port = (7000 + i).to_string();
        let ip = format!("10.0.0.{}", i + 1);
        ok(sim.command(0, &["MEET", &ip, &port]));
    }
    ok(sim.run_until(20_000, "distinct epochs, ok", |s| s.converged(true).is_ok()));
    let greatest = (0..3)
        .map(|i| sim.node(i).unwrap().myself())
        .max_by(|a, b| a.as_bytes().cmp(b.as_bytes()))
        .unwrap();
    let g = sim.index_of(&greatest).unwrap();
    assert_eq!(sim.node(g).unwrap().me().config_epoch, 0);
    ok(sim.check_converged());
}

#[test]
fn replica_migrates_to_an_orphaned_master() {
    // §15.4: master 0 has replicas 3 and 5... built as 3 masters + replicas 3→0, 4→1,
    // 5→2, then 5 is moved to 0; killing 4 orphans master 1, and the smallest-named
    // replica of master 0 migrates to it after 5 s.
    let mut sim = cluster(41);
    let m0 = name_text(&sim.node(0).unwrap().myself());
    assert_eq!(ok(sim.command(5, &["REPLICATE", &m0])), Reply::Ok);
    ok(sim.run_for(3000));
    sim.crash(4);
    let m1 = sim.node(1).unwrap().myself();
    ok(sim.run_until(
        30_000,
        "a replica of master 0 now replicates master 1",
        |s| {
            [3usize, 5]
                .iter()
                .any(|r| s.node(*r).unwrap().my_master() == Some(m1))
        },
    ));
    let migrated: Vec<usize> = [3usize, 5]
        .into_iter()
        .filter(|r| sim.node(*r).unwrap().my_master() == Some(m1))
        .collect();
    assert_eq!(migrated.len(), 1);
}

#[test]
fn forget_bans_for_60s_then_meet_brings_it_back() {
    // §16.3: FORGET everywhere; gossip cannot re-add during the ban; MEET after it does.
    let mut sim = cluster(51);
    let victim = sim.node(5).unwrap().myself();
    let id = name_text(&victim);
    sim.crash(5);
    for i in 0..5 {
        assert_eq!(ok(sim.command(i, &["FORGET", &id])), Reply::Ok);
    }
    ok(sim.restart(5));
    ok(sim.run_for(10_000));
    for i in 0..5 {
        assert!(!sim.node(i).unwrap().nodes().contains(&victim), "node{i}");
    }
    ok(sim.run_for(55_000));
    ok(sim.command(0, &["MEET", "10.0.0.6", "7005"]));
    ok(sim.run_until(20_000, "victim known again", |s| {
        (0..5).all(|i| s.node(i).unwrap().nodes().contains(&victim))
    }));
}

#[test]
fn replica_restarts_from_nodes_conf_and_rejoins() {
    let mut sim = cluster(61);
    sim.crash(4);
    ok(sim.run_for(1000));
    ok(sim.restart(4));
    assert!(sim.node(4).unwrap().is_replica());
    ok(sim.run_until(10_000, "node4 replica of node1 again", |s| {
        replica_of(s, 4, 1)
    }));
    ok(sim.run_for(5000));
    ok(sim.check_converged());
}
