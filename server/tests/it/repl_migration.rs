//! Replica migration keeps the data flowing: in a cluster of our nodes where M1 has two
//! replicas and M2, M3 one each, kill -9 of M2's only replica orphans M2; one of M1's
//! replicas moves to M2 (cluster-migration-barrier 1), follows it with the link up, and
//! resyncs M2's keys.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cluster_common;

use std::time::Duration;

use cluster_common::{call, myid, ours, state_ok, wait_until, Conn, Proc};

const TIMEOUT: u64 = 2000;
const KEYS: usize = 600;

/// Slot ranges of M1, M2, M3.
const RANGES: [(u16, u16); 3] = [(0, 5460), (5461, 10922), (10923, 16383)];

fn info_field(port: u16, field: &str) -> String {
    call(port, &["INFO", "replication"])
        .lines()
        .find_map(|l| {
            l.strip_prefix(&format!("{field}:"))
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_default()
}

/// The master id `port` replicates according to its own CLUSTER NODES line.
fn master_of(port: u16) -> Option<String> {
    call(port, &["CLUSTER", "NODES"])
        .lines()
        .find(|l| l.contains("myself,slave"))
        .and_then(|l| l.split(' ').nth(3).map(str::to_owned))
}

fn dbsize(port: u16) -> String {
    call(port, &["DBSIZE"])
}

#[test]
fn orphaned_master_gets_a_migrated_replica_that_resyncs() {
    // M1 M2 M3 R1 R2 R3 R4.
    let ports: Vec<u16> = (19300..19307).collect();
    let mut nodes: Vec<Proc> = ports.iter().map(|&p| ours(p, TIMEOUT)).collect();
    let (masters, replicas) = ports.split_at(3);
    let (m1, m2) = (masters[0], masters[1]);
    let (r1, r2, r3) = (replicas[0], replicas[1], replicas[2]);
    let master_for = [m1, m1, m2, masters[2]];

    for &p in &ports {
        assert_eq!(
            call(p, &["CONFIG", "SET", "cluster-migration-barrier", "1"]),
            "+OK\r\n"
        );
    }
    for &p in &ports[1..] {
        assert_eq!(
            call(m1, &["CLUSTER", "MEET", "127.0.0.1", &p.to_string()]),
            "+OK\r\n"
        );
    }
    for (&m, (a, b)) in masters.iter().zip(RANGES) {
        assert_eq!(
            call(
                m,
                &["CLUSTER", "ADDSLOTSRANGE", &a.to_string(), &b.to_string()]
            ),
            "+OK\r\n"
        );
    }
    let master_ids: Vec<String> = masters.iter().map(|&m| myid(m)).collect();
    wait_until(
        "every node knows every node",
        Duration::from_secs(10),
        || {
            ports.iter().all(|&p| {
                let nodes = call(p, &["CLUSTER", "NODES"]);
                nodes.lines().count() == ports.len()
                    && master_ids.iter().all(|id| nodes.contains(id.as_str()))
            })
        },
    );
    for (&r, &m) in replicas.iter().zip(&master_for) {
        let id = myid(m);
        assert_eq!(call(r, &["CLUSTER", "REPLICATE", &id]), "+OK\r\n");
    }
    wait_until(
        "cluster ok and replica links up",
        Duration::from_secs(10),
        || {
            ports.iter().all(|&p| state_ok(p))
                && replicas
                    .iter()
                    .all(|&r| info_field(r, "master_link_status") == "up")
        },
    );

    // Keys on every master, each written to the owner of its slot.
    let mut conns: Vec<Conn> = masters.iter().map(|&m| Conn::new(m)).collect();
    for i in 0..KEYS {
        let k = format!("key:{i}");
        let slot: u16 = call(m1, &["CLUSTER", "KEYSLOT", &k])
            .trim_start_matches(':')
            .trim()
            .parse()
            .unwrap();
        let owner = RANGES
            .iter()
            .position(|&(a, b)| (a..=b).contains(&slot))
            .unwrap();
        assert_eq!(
            conns[owner].call(&["SET", &k, &format!("v{i}")]),
            "+OK\r\n",
            "{k}"
        );
    }
    let sizes: Vec<String> = masters.iter().map(|&m| dbsize(m)).collect();
    for (i, s) in sizes.iter().enumerate() {
        assert_ne!(s, ":0\r\n", "keys on master {i}");
    }
    wait_until(
        "replicas hold their master's keys",
        Duration::from_secs(5),
        || {
            replicas
                .iter()
                .zip(&master_for)
                .all(|(&r, &m)| dbsize(r) == dbsize(m))
        },
    );

    // kill -9 of M2's only replica: M2 is orphaned, one of M1's two replicas moves to it.
    let m2_id = myid(m2);
    let r3_idx = ports.iter().position(|&p| p == r3).unwrap();
    nodes[r3_idx].kill9();
    let mut migrated = None;
    wait_until(
        "one of M1's replicas migrates to M2",
        Duration::from_secs(20),
        || {
            migrated = [r1, r2]
                .into_iter()
                .find(|&r| master_of(r).as_deref() == Some(m2_id.as_str()));
            migrated.is_some()
        },
    );
    let moved = migrated.unwrap();
    let stayed = if moved == r1 { r2 } else { r1 };
    assert_eq!(
        master_of(stayed).as_deref(),
        Some(myid(m1).as_str()),
        "the other replica stays with M1"
    );
    let moved_id = myid(moved);
    wait_until(
        "M2 lists the migrated replica",
        Duration::from_secs(5),
        || {
            call(m2, &["CLUSTER", "NODES"])
                .lines()
                .any(|l| l.starts_with(&moved_id) && l.contains(&format!("slave {m2_id}")))
        },
    );
    // A full resync (new replication id): diskless by default, after the 5 s
    // repl-diskless-sync-delay, as 7.0.15.
    wait_until(
        "the migrated replica's link to M2 is up and its data resynced",
        Duration::from_secs(10),
        || info_field(moved, "master_link_status") == "up" && dbsize(moved) == dbsize(m2),
    );
    let role = call(moved, &["ROLE"]);
    assert!(
        role.starts_with("*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n")
            && role.contains(&format!(":{m2}\r\n"))
            && role.contains("$9\r\nconnected\r\n"),
        "ROLE of the migrated replica: {role:?}"
    );
    assert_eq!(info_field(moved, "master_port"), m2.to_string());

    // M2's keys, read from the migrated replica; M1's keys are gone from it.
    let mut on_moved = Conn::new(moved);
    assert_eq!(on_moved.call(&["READONLY"]), "+OK\r\n");
    let mut checked = 0;
    for i in 0..KEYS {
        let k = format!("key:{i}");
        let slot: u16 = call(m1, &["CLUSTER", "KEYSLOT", &k])
            .trim_start_matches(':')
            .trim()
            .parse()
            .unwrap();
        let reply = on_moved.call(&["GET", &k]);
        if (RANGES[1].0..=RANGES[1].1).contains(&slot) {
            let v = format!("v{i}");
            assert_eq!(
                reply,
                format!("${}\r\n{v}\r\n", v.len()),
                "{k} on the migrated replica"
            );
            checked += 1;
        } else {
            assert!(
                reply.starts_with("-MOVED "),
                "{k} (not M2's) on the migrated replica: {reply:?}"
            );
        }
    }
    assert_eq!(format!(":{checked}\r\n"), dbsize(m2));
    assert_eq!(dbsize(moved), dbsize(m2));
}
