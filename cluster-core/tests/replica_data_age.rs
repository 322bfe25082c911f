#![allow(clippy::unwrap_used, clippy::panic)]
//! cluster-bus.md §14.2: a replica whose data is too old does not start an automatic
//! election. The age runs from the last interaction with the master while the
//! replication link is up, from the moment the link went down otherwise, and a replica
//! that never had its link up has no fresh data at all. The harness runs node_timeout
//! 2000 with Redis's defaults (repl-ping-replica-period 10, validity factor 10), so the
//! limit is 10 s + 10 × 2 s = 30 s of age beyond node_timeout: 32 s.

mod common;

use cluster_bus::Body;
use cluster_core::{Input, Reply};
use common::{five_masters, name, text, Harness};

/// We are `f`, replica of `e` (epoch 5, currentEpoch 5).
fn replica_of_e() -> Harness {
    let conf = five_masters(&format!(
        "{f} 10.0.0.6:7005@17005 myself,slave {e} 0 0 5 connected\n",
        f = text('f'),
        e = text('e')
    ))
    .replacen("myself,master", "master", 1);
    Harness::new(&conf)
}

fn replication(h: &mut Harness, link_up: bool, master_last_io: Option<u64>) {
    h.input(Input::Replication {
        offset: 100,
        link_up,
        master_last_io,
    });
}

/// `e` is declared failed; true when we started an election within 2 s (rank 0
/// waits at most 1 s).
fn election_starts(h: &mut Harness) -> bool {
    let fail = h.msg_from(name('a'), Body::Fail(name('e')));
    h.deliver(fail);
    h.advance(2000);
    h.c.current_epoch() == 6
}

#[test]
fn s14_2_recent_master_interaction_allows_an_election() {
    let mut h = replica_of_e();
    let t = h.now - 20_000;
    replication(&mut h, true, Some(t));
    assert!(election_starts(&mut h));
}

#[test]
fn s14_2_link_up_but_master_silent_too_long_means_stale_data() {
    // The link still counts as up (repl-timeout not reached) but nothing came from the
    // master for 40 s: Redis's `lastinteraction` makes that too old.
    let mut h = replica_of_e();
    let t = h.now - 40_000;
    replication(&mut h, true, Some(t));
    assert!(!election_starts(&mut h));
}

#[test]
fn s14_2_age_runs_from_when_the_link_went_down() {
    let mut h = replica_of_e();
    let t = h.now;
    replication(&mut h, true, Some(t));
    replication(&mut h, false, Some(t));
    h.now += 10_000;
    assert!(election_starts(&mut h), "down for 10 s: fresh enough");

    let mut h = replica_of_e();
    let t = h.now;
    replication(&mut h, true, Some(t));
    replication(&mut h, false, Some(t));
    h.now += 40_000;
    assert!(!election_starts(&mut h), "down for 40 s: too old");
}

#[test]
fn s14_2_a_replica_never_linked_to_its_master_has_no_fresh_data() {
    let mut h = replica_of_e();
    replication(&mut h, false, None);
    assert!(!election_starts(&mut h));
    // A manual failover does not look at the data age.
    assert_eq!(h.cmd("CLUSTER FAILOVER FORCE"), Reply::Ok);
    h.advance(200);
    assert_eq!(h.c.current_epoch(), 6);
}
