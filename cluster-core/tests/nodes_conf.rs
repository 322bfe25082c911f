#![allow(clippy::unwrap_used, clippy::panic)]
//! nodes.conf (client-behaviour.md §6, cluster-bus.md §16.4) against files written by
//! redis-server 7.0.15.

use cluster_bus::NodeFlags;
use cluster_core::nodes_conf::{ConfErrorKind, NodesConf};
use cluster_core::{Cluster, Config};

const FILES: [&str; 11] = [
    "3m3r-7200.nodes.conf",
    "3m3r-7201.nodes.conf",
    "3m3r-7202.nodes.conf",
    "3m3r-7203.nodes.conf",
    "3m3r-7204.nodes.conf",
    "3m3r-7205.nodes.conf",
    "late-7200.nodes.conf",
    "late-7201.nodes.conf",
    "with-hostnames-7200.nodes.conf",
    "run1-nodes-7102-before-kill.conf",
    "run2-nodes-7102-before-kill.conf",
];

fn read(f: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{f}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn real_files_parse_and_reserialise_byte_identically() {
    for f in FILES {
        let bytes = read(f);
        let conf = NodesConf::parse(&bytes).unwrap();
        assert_eq!(conf.to_bytes(), bytes, "{f}");
    }
}

/// What a load legitimately changes (§6.3): non-zero ping/pong times become the load
/// time and every link starts disconnected. Everything else must come back as written.
fn without_times_and_links(mut c: NodesConf) -> NodesConf {
    for n in &mut c.nodes {
        n.ping_sent = u64::from(n.ping_sent != 0);
        n.pong_received = u64::from(n.pong_received != 0);
        n.connected = n.flags.contains(NodeFlags::MYSELF);
    }
    c
}

#[test]
fn loading_a_real_file_reproduces_it_modulo_times_and_links() {
    for f in FILES {
        let bytes = read(f);
        let now = 1_900_000_000_000;
        // Our own address and hostname come from the configuration, as in Redis.
        let parsed = NodesConf::parse(&bytes).unwrap();
        let me = parsed
            .nodes
            .iter()
            .find(|n| n.flags.contains(NodeFlags::MYSELF))
            .unwrap();
        let mut cfg = Config::new(me.port);
        cfg.cport = me.cport;
        cfg.hostname = me.hostname.clone();
        let c = Cluster::load(cfg, &bytes, 1, now).unwrap();
        let saved = NodesConf::parse(&c.nodes_conf_bytes()).unwrap();
        assert_eq!(
            without_times_and_links(saved.clone()),
            without_times_and_links(NodesConf::parse(&bytes).unwrap()),
            "{f}"
        );
        for n in &saved.nodes {
            assert!(n.ping_sent == 0 || n.ping_sent == now, "{f}");
            assert!(n.pong_received == 0 || n.pong_received == now, "{f}");
        }
    }
}

#[test]
fn load_raises_current_epoch_and_keeps_last_vote_epoch() {
    let c = Cluster::load(Config::new(7200), &read("late-7201.nodes.conf"), 1, 0).unwrap();
    assert_eq!(c.current_epoch(), 34);
    assert_eq!(c.last_vote_epoch(), 25);
    let low = "5dba85f3ae295babb55fe51752a706eab4baf135 127.0.0.1:7200@17200 myself,master - 0 0 9 connected 0-16383\nvars currentEpoch 3 lastVoteEpoch 0\n";
    let c = Cluster::load(Config::new(7200), low.as_bytes(), 1, 0).unwrap();
    assert_eq!(c.current_epoch(), 9);
}

#[test]
fn replica_and_master_relations_come_back() {
    let c = Cluster::load(Config::new(7203), &read("3m3r-7203.nodes.conf"), 1, 0).unwrap();
    assert!(c.is_replica());
    let m = c.my_master().unwrap();
    assert_eq!(m.as_bytes(), b"5dba85f3ae295babb55fe51752a706eab4baf135");
    assert!(c.nodes().get(&m).unwrap().replicas.contains(&c.myself()));
    assert_eq!(c.slot_owner(0), Some(m));
    assert_eq!(c.my_epoch(), 1);
}

#[test]
fn corrupt_file_is_refused_with_a_reason() {
    let mut bytes = read("3m3r-7200.nodes.conf");
    bytes.extend(b"garbage line\n");
    let e = Cluster::load(Config::new(7200), &bytes, 1, 0).unwrap_err();
    assert_eq!(e.line, 8);
    assert_eq!(e.kind, ConfErrorKind::TooFewFields(2));
    let two_myself = "5dba85f3ae295babb55fe51752a706eab4baf135 :1@2 myself,master - 0 0 0 connected\n716bb21c368489c8653cb4951ae57db0872a6dd3 :1@2 myself,master - 0 0 0 connected\n";
    assert_eq!(
        NodesConf::parse(two_myself.as_bytes()).unwrap_err().kind,
        ConfErrorKind::MultipleMyself
    );
}

#[test]
fn importing_and_migrating_markers_survive_a_restart() {
    let text = "5dba85f3ae295babb55fe51752a706eab4baf135 127.0.0.1:7200@17200 myself,master - 0 0 1 connected 0-100 [5->-716bb21c368489c8653cb4951ae57db0872a6dd3] [200-<-716bb21c368489c8653cb4951ae57db0872a6dd3]\n716bb21c368489c8653cb4951ae57db0872a6dd3 127.0.0.1:7201@17201 master - 0 0 2 disconnected 101-16383\nvars currentEpoch 2 lastVoteEpoch 0\n";
    let c = Cluster::load(Config::new(7200), text.as_bytes(), 1, 0).unwrap();
    assert_eq!(c.migrating().len(), 1);
    assert_eq!(c.importing().len(), 1);
    assert_eq!(c.nodes_conf_bytes(), text.as_bytes());
}

#[test]
fn a_replica_loaded_from_disk_starts_replicating_on_the_first_cron() {
    // cluster-bus.md §10 step 5.
    let mut c = Cluster::load(Config::new(7203), &read("3m3r-7203.nodes.conf"), 1, 0).unwrap();
    let mut out = Vec::new();
    c.handle(100, cluster_core::Input::Tick, &mut out);
    let m = out
        .iter()
        .find_map(|e| match e {
            cluster_core::Effect::Replicate(Some(m)) => Some(m.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!((m.ip.as_str(), m.port), ("127.0.0.1", 7200));
    out.clear();
    c.handle(200, cluster_core::Input::Tick, &mut out);
    assert!(!out
        .iter()
        .any(|e| matches!(e, cluster_core::Effect::Replicate(_))));
}
