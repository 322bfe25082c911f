//! A network partition between real processes. Every node runs in a network namespace of
//! its own with an address of its own, the namespaces joined by a bridge; the test cuts a
//! master off by taking its link down, then heals it. What the loopback tests cannot show:
//! the cut-off master stays up and sees everyone else vanish, as after a switch failure.
//!
//! Needs root and iproute2 (CI runs as root); without them the tests say so and pass.
//! Addresses: a /24 of 198.18.0.0/15 (RFC 2544's benchmark range) chosen by process id, one
//! interface in this process's namespace to reach the nodes; all removed on drop.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::cluster_common::{
    call_at, field, fresh_dir, have_redis, node_args, spawn_node, try_call_at, wait_until, Conn,
    Proc, OURS,
};

/// Every node listens on this port, each in its own namespace.
const PORT: u16 = 26600;
const NODE_TIMEOUT: u64 = 2000;
/// A key of slot 5061, in the first master's range.
const KEY: &str = "bar";
/// A key of KEY's slot, written to find out whether a node takes writes (what it takes
/// before it notices the partition is Redis's window of writes that may be lost).
const PROBE: &str = "{bar}probe";
/// A key of slot 12182, in the third master's range.
const OTHER_KEY: &str = "foo";
/// What redis-cli prints for a refused command of a cluster that is down.
const DOWN: &str = "CLUSTERDOWN The cluster is down";

/// The namespaces, the bridge, and the interface that reaches them from here.
struct Net {
    prefix: String,
    /// The first three bytes of the addresses.
    subnet: [u8; 3],
    nodes: usize,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Net {
    /// `nodes` namespaces on one bridge, or why they cannot be made here.
    fn new(test: u32, nodes: usize) -> Result<Net, String> {
        let pid = std::process::id();
        // Two /24s per process, one per test of this file.
        let n = pid.wrapping_mul(2).wrapping_add(test) % 512;
        let net = Net {
            prefix: format!("rcp{}{test}", pid % 100_000),
            subnet: [198, 18 + (n / 256) as u8, (n % 256) as u8],
            nodes,
        };
        let hub = net.hub();
        ip(&["netns", "add", &hub])?;
        ip(&["-n", &hub, "link", "add", "name", "br0", "type", "bridge"])?;
        ip(&["-n", &hub, "link", "set", "br0", "up"])?;
        for i in 0..nodes {
            let ns = net.ns(i);
            let port = format!("n{i}");
            ip(&["netns", "add", &ns])?;
            ip(&[
                "link", "add", "name", "eth0", "netns", &ns, "type", "veth", "peer", "name", &port,
                "netns", &hub,
            ])?;
            ip(&["-n", &hub, "link", "set", &port, "master", "br0", "up"])?;
            let addr = format!("{}/24", net.addr(i).ip());
            ip(&["-n", &ns, "addr", "add", &addr, "dev", "eth0"])?;
            ip(&["-n", &ns, "link", "set", "eth0", "up"])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        }
        let here = net.here();
        ip(&[
            "link", "add", "name", &here, "type", "veth", "peer", "name", "up0", "netns", &hub,
        ])?;
        ip(&["-n", &hub, "link", "set", "up0", "master", "br0", "up"])?;
        let [a, b, c] = net.subnet;
        let addr = format!("{a}.{b}.{c}.254/24");
        ip(&["addr", "add", &addr, "dev", &here])?;
        ip(&["link", "set", &here, "up"])?;
        net.carries_traffic()?;
        Ok(net)
    }

    /// Whether a redis-server in the first namespace can be reached from here: a machine
    /// whose bridges do not forward is no place for these tests, and that is no failure of
    /// our node.
    fn carries_traffic(&self) -> Result<(), String> {
        let addr = self.addr(0);
        let mut probe = Command::new("ip")
            .args(["netns", "exec", &self.ns(0), "redis-server", "--save", ""])
            .args([
                "--port",
                &PORT.to_string(),
                "--bind",
                &addr.ip().to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("redis-server: {e}"))?;
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let reached = loop {
            // Protected mode answers a client from another address with an error: any
            // answer shows the path works.
            if try_call_at(addr, &["PING"]).is_ok() {
                break true;
            }
            if std::time::Instant::now() > deadline {
                break false;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let _ = probe.kill();
        let _ = probe.wait();
        if reached {
            Ok(())
        } else {
            Err(format!("nothing answers at {addr} through the bridge"))
        }
    }

    fn hub(&self) -> String {
        format!("{}h", self.prefix)
    }

    fn ns(&self, i: usize) -> String {
        format!("{}n{i}", self.prefix)
    }

    fn here(&self) -> String {
        format!("{}r", self.prefix)
    }

    fn addr(&self, i: usize) -> SocketAddr {
        let [a, b, c] = self.subnet;
        SocketAddr::from((Ipv4Addr::new(a, b, c, i as u8 + 1), PORT))
    }

    /// Takes node `i`'s link to the bridge down (`false`) or up again (`true`).
    fn link(&self, i: usize, up: bool) {
        let port = format!("n{i}");
        ip(&[
            "-n",
            &self.hub(),
            "link",
            "set",
            &port,
            if up { "up" } else { "down" },
        ])
        .unwrap();
    }

    /// Starts `program` as node `i`, in its namespace.
    fn start(&self, i: usize, program: &str) -> Proc {
        let addr = self.addr(i);
        let dir = fresh_dir(&format!("partition-{}", self.prefix), i as u16);
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns(i), program])
            .args(node_args(
                PORT,
                &addr.ip().to_string(),
                NODE_TIMEOUT,
                true,
                &dir,
            ))
            // Clients come from another address than the node's own.
            .args(["--protected-mode", "no"]);
        let child = spawn_node(cmd, &dir, addr);
        Proc {
            port: PORT,
            child: Some(child),
            dir,
        }
    }

    /// A command sent from inside node `i`'s namespace (the node is unreachable from here
    /// while cut off), as redis-cli prints its reply.
    fn call_inside(&self, i: usize, args: &[&str]) -> String {
        let addr = self.addr(i);
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns(i), "redis-cli", "-h"])
            .arg(addr.ip().to_string())
            .args(["-p", &PORT.to_string()])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        // The interface here goes with its peer in the hub.
        for i in 0..self.nodes {
            let _ = ip(&["netns", "del", &self.ns(i)]);
        }
        let _ = ip(&["netns", "del", &self.hub()]);
    }
}

/// Node ids by CLUSTER MYID.
fn ids(net: &Net) -> Vec<String> {
    (0..net.nodes)
        .map(|i| call_at(net.addr(i), &["CLUSTER", "MYID"]))
        .collect()
}

/// The CLUSTER NODES line of `id` as node `at` sees it.
fn line_of(net: &Net, at: usize, id: &str) -> String {
    call_at(net.addr(at), &["CLUSTER", "NODES"])
        .lines()
        .find(|l| l.starts_with(id))
        .unwrap_or_default()
        .to_owned()
}

/// Three masters (nodes 0-2) and a replica of each (node i + 3), of `programs`, in a
/// network of their own; `KEY` (slot 5061, the first master's) written and replicated. None
/// (the test says why) where namespaces cannot be made.
fn cluster(test: u32, programs: [&str; 6]) -> Option<(Net, Vec<Proc>, Vec<String>)> {
    // redis-cli reaches a node that is cut off from here.
    if !have_redis() {
        eprintln!("skipped: redis-server and redis-cli are not installed");
        return None;
    }
    let net = match Net::new(test, 6) {
        Ok(net) => net,
        Err(why) => {
            eprintln!("skipped: no network namespaces here ({why})");
            return None;
        }
    };
    let nodes: Vec<Proc> = programs
        .iter()
        .enumerate()
        .map(|(i, p)| net.start(i, p))
        .collect();
    let at = |i: usize| net.addr(i);
    let ids = ids(&net);

    // Formed over the nodes' own addresses.
    for i in 1..6 {
        let r = call_at(
            at(0),
            &[
                "CLUSTER",
                "MEET",
                &at(i).ip().to_string(),
                &PORT.to_string(),
            ],
        );
        assert_eq!(r, "+OK\r\n");
    }
    for (i, (a, b)) in [(0, 5460), (5461, 10922), (10923, 16383)]
        .iter()
        .enumerate()
    {
        let r = call_at(
            at(i),
            &["CLUSTER", "ADDSLOTSRANGE", &a.to_string(), &b.to_string()],
        );
        assert_eq!(r, "+OK\r\n");
    }
    wait_until(
        "every node knows every other",
        Duration::from_secs(20),
        || {
            (0..6).all(|i| {
                let t = call_at(at(i), &["CLUSTER", "NODES"]);
                t.lines().count() == 6 && !t.contains("handshake")
            })
        },
    );
    for i in 3..6 {
        wait_until("a replica attaches", Duration::from_secs(10), || {
            call_at(at(i), &["CLUSTER", "REPLICATE", &ids[i - 3]]) == "+OK\r\n"
        });
    }
    wait_until(
        "cluster ok, replicas in sync",
        Duration::from_secs(30),
        || (0..6).all(|i| state(&net, i) == "ok" && (i < 3 || link_up(&net, i))),
    );
    assert_eq!(call_at(at(0), &["CLUSTER", "KEYSLOT", KEY]), ":5061\r\n");
    assert_eq!(call_at(at(0), &["SET", KEY, "before"]), "+OK\r\n");
    assert_eq!(call_at(at(0), &["WAIT", "1", "5000"]), ":1\r\n");
    Some((net, nodes, ids))
}

/// Our nodes' logs hold no warning of a full send queue: nothing sent more than a few
/// messages to a peer that stopped reading (a link whose task has ended is not one).
fn no_send_queue_overflow(nodes: &[Proc], programs: [&str; 6]) {
    for (n, p) in nodes.iter().zip(programs) {
        if p == OURS {
            let log = std::fs::read_to_string(n.dir.join("node.log")).unwrap();
            assert!(!log.contains("send queue is full"), "{}", n.dir.display());
        }
    }
}

fn state(net: &Net, i: usize) -> String {
    field(&call_at(net.addr(i), &["CLUSTER", "INFO"]), "cluster_state")
}

/// Whether replica `i`'s link to its master is up.
fn link_up(net: &Net, i: usize) -> bool {
    field(
        &call_at(net.addr(i), &["INFO", "replication"]),
        "master_link_status",
    ) == "up"
}

/// The first master is cut off, the others fail it over; then the link comes back.
fn master_cut_off(test: u32, programs: [&str; 6]) {
    let Some((net, nodes, ids)) = cluster(test, programs) else {
        return;
    };
    let at = |i: usize| net.addr(i);

    // Cut the first master off.
    net.link(0, false);
    wait_until(
        "its replica promoted, as the majority sees it",
        Duration::from_secs(30),
        || {
            (1..6).all(|i| {
                let l = line_of(&net, i, &ids[3]);
                l.contains("master") && l.ends_with(" 0-5460")
            }) && (1..6).all(|i| state(&net, i) == "ok")
        },
    );
    // The cut-off master, alone, stops taking writes (it cannot reach a majority).
    wait_until(
        "the cut-off master refuses writes",
        Duration::from_secs(30),
        || net.call_inside(0, &["SET", PROBE, "x"]).trim() == DOWN,
    );
    assert!(net
        .call_inside(0, &["CLUSTER", "INFO"])
        .contains("cluster_state:fail"));
    // The majority kept the acknowledged write and goes on.
    assert_eq!(call_at(at(3), &["GET", KEY]), "before");
    assert_eq!(call_at(at(3), &["SET", KEY, "after"]), "+OK\r\n");
    let moved = format!("-MOVED 5061 {}\r\n", at(3));
    assert_eq!(call_at(at(1), &["GET", KEY]), moved);

    // Heal: the old master learns it lost its slots and follows its old replica.
    net.link(0, true);
    wait_until(
        "the old master rejoins as a replica of the new one, in sync",
        Duration::from_secs(40),
        || {
            let me = line_of(&net, 0, &ids[0]);
            me.contains("slave")
                && me.split(' ').nth(3) == Some(ids[3].as_str())
                && link_up(&net, 0)
        },
    );
    wait_until(
        "every node agrees and is ok",
        Duration::from_secs(30),
        || {
            (0..6).all(|i| {
                state(&net, i) == "ok"
                    && line_of(&net, i, &ids[0]).contains("slave")
                    && !line_of(&net, i, &ids[0]).contains("fail")
            })
        },
    );
    // The old master serves the new master's data to a READONLY client and redirects others.
    assert_eq!(call_at(at(0), &["GET", KEY]), moved);
    let mut c = Conn::new_at(at(0));
    assert_eq!(c.call(&["READONLY"]), "+OK\r\n");
    assert_eq!(c.call(&["GET", KEY]), "$5\r\nafter\r\n");
    no_send_queue_overflow(&nodes, programs);
}

#[test]
fn a_master_cut_off_is_failed_over_and_rejoins_as_a_replica() {
    master_cut_off(0, [OURS; 6]);
}

/// The cut-off master is ours, its replica and one voter real redis-server nodes.
#[test]
fn a_master_of_ours_cut_off_from_real_nodes_rejoins_as_their_replica() {
    let real = "redis-server";
    master_cut_off(1, [OURS, real, OURS, real, OURS, real]);
}

/// A whole shard (the first master and its replica) is cut off: nobody can take its slots
/// over, so the majority's cluster is down too (full coverage is required), and the cut-off
/// pair, a minority, as well. Healed, the same master serves again with its data.
fn shard_cut_off(test: u32, programs: [&str; 6]) {
    let Some((net, nodes, ids)) = cluster(test, programs) else {
        return;
    };
    let at = |i: usize| net.addr(i);
    let epoch = |i: usize| {
        field(
            &call_at(at(i), &["CLUSTER", "INFO"]),
            "cluster_current_epoch",
        )
    };
    let epoch_before = epoch(1);

    net.link(0, false);
    net.link(3, false);
    wait_until(
        "the majority marks the shard failed and goes down",
        Duration::from_secs(30),
        || {
            [1, 2, 4, 5].iter().all(|&i| {
                state(&net, i) == "fail"
                    && line_of(&net, i, &ids[0]).contains("fail")
                    && line_of(&net, i, &ids[3]).contains("fail")
            })
        },
    );
    let down = format!("-{DOWN}\r\n");
    assert_eq!(call_at(at(2), &["GET", OTHER_KEY]), down);
    wait_until(
        "the cut-off pair goes down",
        Duration::from_secs(30),
        || net.call_inside(0, &["SET", PROBE, "x"]).trim() == DOWN,
    );
    // Still one shard's master and replica: the replica could not win an election.
    assert!(net
        .call_inside(3, &["CLUSTER", "NODES"])
        .lines()
        .any(|l| l.starts_with(&ids[3]) && l.contains("myself,slave")));

    // A master with slots keeps its FAIL flag for twice the node timeout after it was set,
    // however soon it is reachable again; a replica that heard of the FAIL by then would
    // start an election on the heal (Redis does). Past that, the heal clears it.
    std::thread::sleep(Duration::from_millis(2 * NODE_TIMEOUT + 1000));
    net.link(0, true);
    net.link(3, true);
    wait_until(
        "every node ok again, the same master serving",
        Duration::from_secs(40),
        || {
            (0..6).all(|i| {
                let master = line_of(&net, i, &ids[0]);
                state(&net, i) == "ok" && master.contains("master") && !master.contains("fail")
            })
        },
    );
    assert_eq!(call_at(at(0), &["GET", KEY]), "before");
    assert_eq!(call_at(at(2), &["SET", OTHER_KEY, "x"]), "+OK\r\n");
    // No failover happened: no new epoch.
    assert_eq!(epoch(1), epoch_before);
    no_send_queue_overflow(&nodes, programs);
}

#[test]
fn a_shard_cut_off_takes_the_cluster_down_until_it_returns() {
    let real = "redis-server";
    shard_cut_off(2, [OURS, real, real, real, OURS, OURS]);
}
