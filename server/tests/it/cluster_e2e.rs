//! Cluster mode end to end with real processes: redis-cli --cluster create/check over our
//! nodes, kill -9 detection, malformed bus input, and a mixed cluster of real redis-server
//! 7.0 nodes and ours. Ports: ours 17000-17499, real 17500-17999 (bus ports +10000).
//! Skipped (with a note) when redis-server / redis-cli are not installed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cluster_common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use cluster_common::*;

const TIMEOUT: u64 = 2000;

fn addr(p: u16) -> String {
    format!("127.0.0.1:{p}")
}

/// Connects to a bus port, writes `bytes`, and tells whether the node closed the link.
fn bus_closes_after(bus_port: u16, bytes: &[u8]) -> bool {
    let mut s = TcpStream::connect(("127.0.0.1", bus_port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let _ = s.write_all(bytes);
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

#[test]
fn redis_cli_creates_and_checks_a_cluster_of_ours_and_failures_are_detected() {
    if !have_redis() {
        eprintln!("skipped: redis-server / redis-cli not installed");
        return;
    }
    let ports: Vec<u16> = (17010..17016).collect();
    let mut nodes: Vec<Proc> = ports.iter().map(|&p| ours(p, TIMEOUT)).collect();
    let mut args: Vec<String> = vec!["--cluster".into(), "create".into()];
    args.extend(ports.iter().map(|&p| addr(p)));
    args.extend(["--cluster-replicas", "1", "--cluster-yes"].map(String::from));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = redis_cli(&argv);
    assert!(out.contains("[OK] All 16384 slots covered."), "{out}");
    wait_until(
        "cluster_state:ok everywhere",
        Duration::from_secs(20),
        || ports.iter().all(|&p| state_ok(p)),
    );
    let check = redis_cli(&["--cluster", "check", &addr(ports[0])]);
    assert!(
        check.contains("[OK] All nodes agree about slots configuration."),
        "{check}"
    );
    assert!(check.contains("[OK] All 16384 slots covered."), "{check}");
    assert!(
        !check.contains("[WARNING]") && !check.contains("[ERR]"),
        "{check}"
    );
    assert_eq!(check.matches("slots | 1 slaves.").count(), 3, "{check}");

    // Keys through redis-cli -c from every node.
    for (i, &p) in ports.iter().enumerate() {
        let key = format!("key-{i}");
        let set = redis_cli(&["-c", "-p", &p.to_string(), "SET", &key, "v"]);
        assert_eq!(set.trim(), "OK");
    }
    for (i, &p) in ports.iter().rev().enumerate() {
        let key = format!("key-{}", ports.len() - 1 - i);
        let got = redis_cli(&["-c", "-p", &p.to_string(), "GET", &key]);
        assert_eq!(got.trim(), "v");
    }

    // nodes.conf keeps the id across a restart.
    let id0 = myid(ports[0]);
    let conf = std::fs::read_to_string(nodes[0].dir.join("nodes.conf")).unwrap();
    assert!(
        conf.contains(&format!(
            "{id0} 127.0.0.1:{}@{} myself,master",
            ports[0],
            ports[0] + 10000
        )),
        "{conf}"
    );
    assert!(conf.contains("\nvars currentEpoch "), "{conf}");

    // Malformed bus input: garbage, wrong signature, huge totlen, each closes the link;
    // the node keeps serving clients and the cluster stays ok.
    let bus = ports[0] + 10000;
    assert!(bus_closes_after(bus, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert!(bus_closes_after(
        bus,
        b"RCmc\x00\x00\x10\x00whatever-follows"
    ));
    assert!(bus_closes_after(
        bus,
        b"RCmb\xff\xff\xff\xff\x00\x01\x00\x00"
    ));
    assert!(bus_closes_after(
        bus,
        b"RCmb\x00\x00\x00\x10\x00\x01\x00\x00"
    ));
    // Well-framed messages with random contents (types, versions, lengths, counts): the
    // node drops or refuses them and keeps serving.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..20 {
        let mut s = TcpStream::connect(("127.0.0.1", bus)).unwrap();
        for _ in 0..20 {
            let len = 2256 + (next() % 600) as usize;
            let mut frame = Vec::with_capacity(len);
            frame.extend_from_slice(b"RCmb");
            frame.extend_from_slice(&(len as u32).to_be_bytes());
            frame.extend_from_slice(&1u16.to_be_bytes());
            while frame.len() < len {
                frame.extend_from_slice(&next().to_le_bytes());
            }
            frame.truncate(len);
            // Message type in 0..=10, the rest random.
            frame[10] = 0;
            frame[11] = (next() % 11) as u8;
            if s.write_all(&frame).is_err() {
                break;
            }
        }
    }
    assert_eq!(call(ports[0], &["PING"]), "+PONG\r\n");
    assert!(state_ok(ports[0]));

    // CLUSTER FAILOVER on the replica of the first master: roles swap everywhere.
    let id0 = myid(ports[0]);
    let replica = *ports
        .iter()
        .find(|&&p| {
            call(p, &["CLUSTER", "NODES"])
                .lines()
                .any(|l| l.contains("myself,slave") && l.contains(&id0))
        })
        .unwrap();
    let replica_id = myid(replica);
    // The master ignores MFSTART from a node it does not yet know as its replica (as
    // Redis does): wait until every node has heard of the role.
    wait_until(
        "every node knows the replica",
        Duration::from_secs(10),
        || {
            ports.iter().all(|&p| {
                call(p, &["CLUSTER", "NODES"])
                    .lines()
                    .any(|l| l.starts_with(&replica_id) && l.contains(&format!("slave {id0}")))
            })
        },
    );
    assert_eq!(call(replica, &["CLUSTER", "FAILOVER"]), "+OK\r\n");
    wait_until("manual failover done", Duration::from_secs(15), || {
        ports.iter().all(|&p| {
            let t = call(p, &["CLUSTER", "NODES"]);
            t.lines()
                .any(|l| l.starts_with(&replica_id) && l.contains("master"))
                && t.lines()
                    .any(|l| l.starts_with(&id0) && l.contains("slave"))
        })
    });

    // kill -9 of a master: the others mark it fail. A replica takes over only with fresh
    // data (cluster-replica-validity-factor): one that never finished a sync has an
    // unbounded data age, in Redis as here, so the victim's replica must be linked first.
    let victim = myid(ports[1]);
    let replicas_of_victim: Vec<u16> = call(ports[0], &["CLUSTER", "NODES"])
        .lines()
        .filter(|l| l.contains(&format!("slave {victim}")))
        .filter_map(|l| l.split(' ').nth(1))
        .filter_map(|a| a.split('@').next()?.rsplit(':').next()?.parse().ok())
        .collect();
    assert!(!replicas_of_victim.is_empty(), "the victim has a replica");
    wait_until(
        "the victim's replica is linked",
        Duration::from_secs(30),
        || {
            replicas_of_victim.iter().all(|&p| {
                try_call(p, &["INFO", "replication"])
                    .is_ok_and(|r| String::from_utf8_lossy(&r).contains("master_link_status:up"))
            })
        },
    );
    nodes[1].kill9();
    wait_until(
        "survivors mark the killed master fail",
        Duration::from_secs(20),
        || {
            [0usize, 2, 3, 4, 5].iter().all(|&i| {
                call(ports[i], &["CLUSTER", "NODES"])
                    .lines()
                    .any(|l| l.starts_with(&victim) && l.contains("fail") && !l.contains("fail?"))
            })
        },
    );
    // Its replica is promoted and the cluster heals.
    wait_until(
        "cluster_state:ok after failover",
        Duration::from_secs(30),
        || [0usize, 2, 3, 4, 5].iter().all(|&i| state_ok(ports[i])),
    );
}

#[test]
fn mixed_cluster_of_real_redis_and_ours_agrees_and_serves() {
    if !have_redis() {
        eprintln!("skipped: redis-server / redis-cli not installed");
        return;
    }
    let mut nodes = [
        real(17510, TIMEOUT),
        ours(17030, TIMEOUT),
        real(17511, TIMEOUT),
        ours(17031, TIMEOUT),
        real(17512, TIMEOUT),
        ours(17032, TIMEOUT),
    ];
    let ports: Vec<u16> = nodes.iter().map(|n| n.port).collect();
    for &p in &ports[1..] {
        assert_eq!(
            call(ports[0], &["CLUSTER", "MEET", "127.0.0.1", &p.to_string()]),
            "+OK\r\n"
        );
    }
    let n = ports.len();
    for (i, &p) in ports.iter().enumerate() {
        let (a, b) = (16384 * i / n, 16384 * (i + 1) / n - 1);
        assert_eq!(
            call(
                p,
                &["CLUSTER", "ADDSLOTSRANGE", &a.to_string(), &b.to_string()]
            ),
            "+OK\r\n"
        );
    }
    wait_until(
        "every node's CLUSTER NODES agrees",
        Duration::from_secs(30),
        || {
            let first = view(ports[0]);
            first.len() == n
                && !first
                    .iter()
                    .any(|l| l.contains("handshake") || l.contains("noaddr"))
                && ports.iter().all(|&p| view(p) == first)
        },
    );
    wait_until(
        "cluster_state:ok everywhere",
        Duration::from_secs(20),
        || ports.iter().all(|&p| state_ok(p)),
    );
    let check = redis_cli(&["--cluster", "check", &addr(ports[1])]);
    assert!(
        check.contains("[OK] All nodes agree about slots configuration."),
        "{check}"
    );
    assert!(check.contains("[OK] All 16384 slots covered."), "{check}");

    for (i, &p) in ports.iter().enumerate() {
        for j in 0..5 {
            let key = format!("k{i}-{j}");
            let set = redis_cli(&["-c", "-p", &p.to_string(), "SET", &key, &format!("v{i}{j}")]);
            assert_eq!(set.trim(), "OK", "SET {key} via {p}");
        }
    }
    for (i, _) in ports.iter().enumerate() {
        for (j, &p) in ports.iter().enumerate().take(5) {
            let key = format!("k{i}-{j}");
            let got = redis_cli(&["-c", "-p", &p.to_string(), "GET", &key]);
            assert_eq!(got.trim(), format!("v{i}{j}"), "GET {key} via {p}");
        }
    }

    // PUBLISH crosses the bus both ways: a subscriber on a real node hears a message
    // published on ours, and the other way round.
    for (sub_port, pub_port) in [(ports[0], ports[1]), (ports[3], ports[4])] {
        let mut sub = Conn::new(sub_port);
        let ok = sub.call(&["SUBSCRIBE", "news"]);
        assert!(ok.starts_with("*3\r\n$9\r\nsubscribe\r\n"), "{ok}");
        assert_eq!(call(pub_port, &["PUBLISH", "news", "hello"]), ":0\r\n");
        let mut msg = Vec::new();
        sub.read_reply(&mut msg);
        assert_eq!(
            String::from_utf8_lossy(&msg),
            "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n"
        );
    }

    // kill -9 of one node of each kind: the survivors (4 of 6 masters, a majority) mark
    // both fail.
    let dead = [myid(ports[2]), myid(ports[3])];
    nodes[2].kill9();
    nodes[3].kill9();
    let alive = [ports[0], ports[1], ports[4], ports[5]];
    wait_until(
        "both killed nodes marked fail by every survivor",
        Duration::from_secs(25),
        || {
            alive.iter().all(|&p| {
                let text = call(p, &["CLUSTER", "NODES"]);
                dead.iter().all(|id| {
                    text.lines()
                        .any(|l| l.starts_with(id.as_str()) && l.contains(",fail "))
                })
            })
        },
    );
    // The slots of the dead masters are uncovered: the cluster is down everywhere, keyed
    // commands get CLUSTERDOWN from our nodes and the real ones alike.
    wait_until("cluster_state:fail", Duration::from_secs(10), || {
        alive.iter().all(|&p| !state_ok(p))
    });
    for &p in &alive {
        assert_eq!(
            call(p, &["GET", "x"]),
            "-CLUSTERDOWN The cluster is down\r\n"
        );
    }
}
