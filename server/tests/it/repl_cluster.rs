//! Failover that keeps the data: a 3-master / 3-replica cluster of ours, replicas really
//! replicating. kill -9 of a master under writes acknowledged by `WAIT 1`: the promoted
//! replica has every acknowledged key. CLUSTER FAILOVER (default) under writes: no
//! acknowledged write is lost. The killed master, restarted, returns as a replica of the
//! promoted node and resyncs the acknowledged keys.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cluster_common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cluster_common::{
    call, field, myid, ours, redis_cli, restart, state_ok, wait_until, Conn, Proc, OURS,
};

const TIMEOUT: u64 = 1500;

fn addr(p: u16) -> String {
    format!("127.0.0.1:{p}")
}

/// A minimal cluster client: follows MOVED, retries while the cluster is down.
struct Client {
    conns: HashMap<u16, Conn>,
    ports: Vec<u16>,
    next: usize,
}

impl Client {
    fn new(ports: &[u16]) -> Client {
        Client {
            conns: HashMap::new(),
            ports: ports.to_vec(),
            next: 0,
        }
    }

    fn on(&mut self, port: u16, args: &[&str]) -> Option<String> {
        if let std::collections::hash_map::Entry::Vacant(e) = self.conns.entry(port) {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
            e.insert(Conn::new(port));
        }
        let c = self.conns.get_mut(&port)?;
        match c.try_call(args) {
            Ok(r) => Some(String::from_utf8_lossy(&r).into_owned()),
            Err(_) => {
                self.conns.remove(&port);
                None
            }
        }
    }

    /// Runs a keyed command and, with `wait`, then `WAIT 1 <ms>` on the node that served
    /// it; returns the reply and whether one replica acknowledged it.
    fn write(&mut self, args: &[&str], wait: bool) -> Option<(String, bool)> {
        let mut port = self.ports[self.next % self.ports.len()];
        for _ in 0..10 {
            let Some(r) = self.on(port, args) else {
                self.next += 1;
                port = self.ports[self.next % self.ports.len()];
                continue;
            };
            if let Some(rest) = r.strip_prefix("-MOVED ") {
                let target = rest.trim().rsplit(':').next().unwrap().parse().unwrap();
                port = target;
                continue;
            }
            if r.starts_with('-') {
                return None;
            }
            let acked = wait && self.on(port, &["WAIT", "1", "2000"]) == Some(":1\r\n".to_string());
            return Some((r, acked));
        }
        None
    }

    fn get(&mut self, key: &str) -> Option<String> {
        let mut port = self.ports[0];
        for _ in 0..10 {
            let r = self.on(port, &["GET", key])?;
            if let Some(rest) = r.strip_prefix("-MOVED ") {
                port = rest.trim().rsplit(':').next().unwrap().parse().unwrap();
                continue;
            }
            return Some(r);
        }
        None
    }
}

fn info_field(port: u16, name: &str) -> String {
    field(&call(port, &["INFO", "replication"]), name)
}

fn replica_of(ports: &[u16], master: u16) -> u16 {
    let id = myid(master);
    *ports
        .iter()
        .find(|&&p| {
            call(p, &["CLUSTER", "NODES"])
                .lines()
                .any(|l| l.contains("myself,slave") && l.contains(&id))
        })
        .unwrap()
}

#[test]
fn failover_keeps_acknowledged_writes() {
    let ports: Vec<u16> = (19000..19006).collect();
    let mut nodes: Vec<Proc> = ports.iter().map(|&p| ours(p, TIMEOUT)).collect();
    let mut args: Vec<String> = vec!["--cluster".into(), "create".into()];
    args.extend(ports.iter().map(|&p| addr(p)));
    args.extend(["--cluster-replicas", "1", "--cluster-yes"].map(String::from));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = redis_cli(&argv);
    assert!(out.contains("[OK] All 16384 slots covered."), "{out}");
    wait_until("cluster ok", Duration::from_secs(20), || {
        ports.iter().all(|&p| state_ok(p))
    });
    let masters: Vec<u16> = ports
        .iter()
        .copied()
        .filter(|&p| info_field(p, "role") == "master")
        .collect();
    assert_eq!(masters.len(), 3);
    let replicas: Vec<u16> = masters.iter().map(|&m| replica_of(&ports, m)).collect();
    wait_until("replica links up", Duration::from_secs(20), || {
        replicas
            .iter()
            .all(|&r| info_field(r, "master_link_status") == "up")
    });

    // Writes, each acknowledged by one replica.
    let mut client = Client::new(&masters);
    for i in 0..300 {
        let k = format!("key:{i}");
        let (r, acked) = client.write(&["SET", &k, &format!("v{i}")], true).unwrap();
        assert_eq!(r, "+OK\r\n");
        assert!(acked, "WAIT 1 acknowledged {k}");
    }

    // kill -9 of a master while a writer keeps writing with WAIT 1.
    let victim = masters[0];
    let heir = replicas[0];
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let masters = masters.clone();
        std::thread::spawn(move || {
            let mut c = Client::new(&masters);
            let mut acked_keys = Vec::new();
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let k = format!("load:{i}");
                if let Some((r, true)) = c.write(&["SET", &k, "x"], true) {
                    if r == "+OK\r\n" {
                        acked_keys.push(k);
                    }
                }
                i += 1;
            }
            acked_keys
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    let idx = ports.iter().position(|&p| p == victim).unwrap();
    nodes[idx].kill9();
    wait_until("the replica is promoted", Duration::from_secs(30), || {
        info_field(heir, "role") == "master"
    });
    let survivors: Vec<u16> = ports.iter().copied().filter(|&p| p != victim).collect();
    wait_until("cluster ok after failover", Duration::from_secs(30), || {
        survivors.iter().all(|&p| state_ok(p))
    });
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let acked_during = writer.join().unwrap();
    assert!(
        acked_during.len() > 10,
        "writes acknowledged during the kill: {}",
        acked_during.len()
    );
    let mut reader = Client::new(&survivors);
    for i in 0..300 {
        let k = format!("key:{i}");
        let v = format!("v{i}");
        assert_eq!(
            reader.get(&k).unwrap(),
            format!("${}\r\n{v}\r\n", v.len()),
            "{k}"
        );
    }
    let lost: Vec<&String> = acked_during
        .iter()
        .filter(|k| reader.get(k).as_deref() != Some("$1\r\nx\r\n"))
        .collect();
    assert!(
        lost.is_empty(),
        "acknowledged writes lost after kill -9: {lost:?}"
    );

    // The killed master, restarted from its nodes.conf (no RDB: `--save ""`), comes back
    // as a replica of the node promoted in its place and resyncs the acknowledged keys.
    restart(&mut nodes[idx], OURS, TIMEOUT);
    let heir_id = myid(heir);
    wait_until(
        "the old master rejoins as the heir's replica",
        Duration::from_secs(30),
        || {
            call(victim, &["CLUSTER", "NODES"])
                .lines()
                .any(|l| l.contains("myself,slave") && l.contains(&heir_id))
        },
    );
    wait_until(
        "its link to the heir is up",
        Duration::from_secs(30),
        || info_field(victim, "master_link_status") == "up",
    );
    let role = call(victim, &["ROLE"]);
    assert!(
        role.starts_with("*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n")
            && role.contains(&format!(":{heir}\r\n")),
        "ROLE of the returned node: {role:?}"
    );
    wait_until(
        "the resync brought the heir's keys",
        Duration::from_secs(30),
        || call(victim, &["DBSIZE"]) == call(heir, &["DBSIZE"]),
    );
    let mut returned = Conn::new(victim);
    assert_eq!(returned.call(&["READONLY"]), "+OK\r\n");
    let mut on_heir = Conn::new(heir);
    let mut checked = 0;
    let keys = (0..300)
        .map(|i| (format!("key:{i}"), format!("v{i}")))
        .chain(acked_during.iter().map(|k| (k.clone(), "x".to_string())));
    for (k, v) in keys {
        if on_heir.call(&["GET", &k]).starts_with("-MOVED") {
            continue;
        }
        assert_eq!(
            returned.call(&["GET", &k]),
            format!("${}\r\n{v}\r\n", v.len()),
            "{k} on the returned node"
        );
        checked += 1;
    }
    assert!(checked > 50, "keys of the heir's slots checked: {checked}");

    // Manual failover (CLUSTER FAILOVER) on another master's replica, under writes.
    let (old, promoted) = (masters[1], replicas[1]);
    let old_id = myid(old);
    let promoted_id = myid(promoted);
    wait_until(
        "every node knows the replica",
        Duration::from_secs(10),
        || {
            survivors.iter().all(|&p| {
                call(p, &["CLUSTER", "NODES"])
                    .lines()
                    .any(|l| l.starts_with(&promoted_id) && l.contains(&format!("slave {old_id}")))
            })
        },
    );
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let survivors = survivors.clone();
        std::thread::spawn(move || {
            let mut c = Client::new(&survivors);
            let mut ok_keys = Vec::new();
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let k = format!("mf:{i}");
                if let Some((r, _)) = c.write(&["SET", &k, "y"], false) {
                    if r == "+OK\r\n" {
                        ok_keys.push(k);
                    }
                }
                i += 1;
            }
            ok_keys
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(call(promoted, &["CLUSTER", "FAILOVER"]), "+OK\r\n");
    wait_until("manual failover done", Duration::from_secs(20), || {
        info_field(promoted, "role") == "master" && info_field(old, "role") == "slave"
    });
    wait_until(
        "the old master follows the new one",
        Duration::from_secs(20),
        || info_field(old, "master_link_status") == "up",
    );
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();
    assert!(
        written.len() > 10,
        "writes during the manual failover: {}",
        written.len()
    );
    let lost: Vec<&String> = written
        .iter()
        .filter(|k| reader.get(k).as_deref() != Some("$1\r\ny\r\n"))
        .collect();
    assert!(
        lost.is_empty(),
        "writes lost by the manual failover: {lost:?}"
    );
}

/// A replica restarted from its nodes.conf links to its master again, every time. The
/// cluster's first gossip can make a starting node a replica before it serves clients;
/// its replication link used to start only if the node's hooks were installed by then,
/// which, on a busy machine, they were not (the link then never came up).
#[test]
fn a_restarted_replica_links_to_its_master_every_time() {
    let (mp, rp) = (19010, 19011);
    let master = ours(mp, TIMEOUT);
    let mut replica = ours(rp, TIMEOUT);
    assert_eq!(
        call(mp, &["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]),
        "+OK\r\n"
    );
    let meet = call(rp, &["CLUSTER", "MEET", "127.0.0.1", &mp.to_string()]);
    assert_eq!(meet, "+OK\r\n");
    // Full syncs at once, not after Redis's 5 s wait for more replicas.
    let no_delay = ["CONFIG", "SET", "repl-diskless-sync-delay", "0"];
    assert_eq!(call(mp, &no_delay), "+OK\r\n");
    let master_id = myid(mp);
    wait_until("the nodes know each other", Duration::from_secs(10), || {
        call(rp, &["CLUSTER", "NODES"]).contains(&master_id)
    });
    assert_eq!(call(rp, &["CLUSTER", "REPLICATE", &master_id]), "+OK\r\n");
    wait_until("the replica's link is up", Duration::from_secs(10), || {
        info_field(rp, "master_link_status") == "up"
    });
    for round in 0..8 {
        restart(&mut replica, OURS, TIMEOUT);
        wait_until(
            &format!("the link up after restart {round}"),
            Duration::from_secs(10),
            || info_field(rp, "master_link_status") == "up",
        );
    }
    drop(master);
}
