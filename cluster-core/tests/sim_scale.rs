#![allow(clippy::unwrap_used, clippy::panic)]
//! A 100-node cluster built through one node converges, and its bus traffic at steady
//! state stays within Redis's PING schedule (cluster-bus.md §9.1/§9.2/§9.4). Bigger sizes:
//! `cargo run --release -p xtask -- sim --scale 500,1000`.

use cluster_core::sim::scenario;

#[test]
fn hundred_nodes_converge_with_redis_traffic() {
    let node_timeout = 15_000;
    let r = match scenario::scale(1, 100, node_timeout, false) {
        Ok(r) => r,
        Err(f) => panic!("{f}"),
    };
    assert_eq!((r.nodes, r.masters), (100, 50));
    // Gossip spreads the 99 MEETs well within a few node timeouts.
    assert!(r.converge_ms < 4 * node_timeout, "{r:?}");
    // §9.1 bounds the traffic: each of the 99 peers gets a PING every node_timeout/2
    // at the latest, plus one random PING a second, every PING answered by a PONG;
    // §9.2: 2256-byte header + max(3, N/10) = 10 gossip entries of 104 bytes.
    let msg = 2256.0 + 10.0 * 104.0;
    let bound = 2.0 * (99.0 / 7.5 + 1.0);
    // §9.4: gossip refreshes pong_received, so most keep-alive PINGs are never due;
    // the random PING (and its PONG) each second remains.
    assert!(
        r.msgs_per_node_sec <= bound,
        "{r:?}: above {bound:.1} msgs/s"
    );
    assert!(r.msgs_per_node_sec >= 2.0, "{r:?}: below the random PINGs");
    let size = r.bytes_per_node_sec / r.msgs_per_node_sec;
    assert!(
        (msg * 0.9..=msg * 1.1).contains(&size),
        "{r:?}: {size:.0} B/msg"
    );
}
