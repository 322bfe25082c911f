//! DEBUG DROP-CLUSTER-PACKET-FILTER and DEBUG CLUSTERLINK KILL, checked against
//! redis-server 7.0.15: the same replies byte for byte, and the same effect on a
//! two-node cluster. Skipped (with a note) when redis-server is not installed.
//!
//! What redis-server 7.0.15 shows, and ours must too: a node that drops PONGs (type 1)
//! keeps its PING to the other node pending (a node with a ping in flight is not pinged
//! again, and the PINGs it receives keep the peer from looking down), so nobody is
//! flagged fail; killing the links brings a fresh PING and its PONG.
//!
//! Not sent to redis-server: `DEBUG CLUSTERLINK` with fewer than 3 arguments and
//! `CLUSTERLINK KILL` of a link that is not there (e.g. to myself) crash 7.0.15.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cluster_common;

use std::path::Path;
use std::time::Duration;

use cluster_common::*;

const NODE_TIMEOUT: u64 = 1000;
const DROP_LOG: &str = "Dropping packet that matches debug drop filter";

/// A node of `program` with DEBUG enabled (it cannot be enabled at run time).
fn spawn_debug(program: &str, tag: &str, port: u16, cluster: bool) -> Proc {
    let tag = format!("debug-{tag}");
    spawn_with(
        program,
        &tag,
        port,
        NODE_TIMEOUT,
        cluster,
        &["--enable-debug-command", "yes"],
    )
}

/// Two nodes that know each other (no slots: the bus is what matters here).
fn pair(program: &str, tag: &str, ports: [u16; 2]) -> (Vec<Proc>, Layout) {
    let nodes: Vec<Proc> = ports
        .iter()
        .map(|&p| spawn_debug(program, tag, p, true))
        .collect();
    let l = Layout {
        ports: ports.to_vec(),
        ids: ports.map(myid).to_vec(),
    };
    call(
        ports[0],
        &["CLUSTER", "MEET", "127.0.0.1", &ports[1].to_string()],
    );
    wait_until("both nodes connected", Duration::from_secs(10), || {
        [(0, 1), (1, 0)]
            .iter()
            .all(|&(a, b)| other(&l, a, b).is_some_and(|n| n.flags == "master"))
    });
    (nodes, l)
}

/// Node `b` as node `a` sees it in CLUSTER NODES.
struct Seen {
    flags: String,
    ping_sent: u64,
    pong_recv: u64,
}

fn other(l: &Layout, a: usize, b: usize) -> Option<Seen> {
    let text = call(l.ports[a], &["CLUSTER", "NODES"]);
    let line = text.lines().find(|x| x.starts_with(l.ids[b].as_str()))?;
    let f: Vec<&str> = line.split(' ').collect();
    Some(Seen {
        flags: f.get(2)?.to_string(),
        ping_sent: f.get(4)?.parse().ok()?,
        pong_recv: f.get(5)?.parse().ok()?,
    })
}

/// The create-time of every link of node `a`, as CLUSTER LINKS lists them.
fn link_times(l: &Layout, a: usize) -> Vec<u64> {
    let text = redis_cli(&["-p", &l.ports[a].to_string(), "CLUSTER", "LINKS"]);
    let lines: Vec<&str> = text.lines().collect();
    lines
        .windows(2)
        .filter(|w| w[0] == "create-time")
        .map(|w| w[1].parse().unwrap())
        .collect()
}

fn pongs_received(port: u16) -> u64 {
    field(
        &call(port, &["CLUSTER", "INFO"]),
        "cluster_stats_messages_pong_received",
    )
    .parse()
    .unwrap()
}

fn log_count(dir: &Path, text: &str) -> usize {
    std::fs::read_to_string(dir.join("node.log"))
        .unwrap()
        .matches(text)
        .count()
}

const SCRIPT: &str = "
@A
DEBUG DROP-CLUSTER-PACKET-FILTER
DEBUG DROP-CLUSTER-PACKET-FILTER abc
DEBUG DROP-CLUSTER-PACKET-FILTER 1 2
DEBUG DROP-CLUSTER-PACKET-FILTER 99999999999999999999
DEBUG DROP-CLUSTER-PACKET-FILTER 999999999999
DEBUG drop-cluster-packet-filter -1
DEBUG CLUSTERLINK KILL
DEBUG CLUSTERLINK KILL all
DEBUG CLUSTERLINK KILL all $B extra
DEBUG CLUSTERLINK LIST all $B
DEBUG CLUSTERLINK KILL to nosuch
DEBUG CLUSTERLINK KILL sideways nosuch
DEBUG CLUSTERLINK KILL sideways $B
DEBUG clusterlink kill ALL $B
";

const SCRIPT_NO_CLUSTER: &str = "
@A
DEBUG DROP-CLUSTER-PACKET-FILTER 1
DEBUG DROP-CLUSTER-PACKET-FILTER x
DEBUG CLUSTERLINK KILL all abc
DEBUG CLUSTERLINK KILL sideways abc
DEBUG DROP-CLUSTER-PACKET-FILTER -1
";

#[test]
fn debug_cluster_replies_match_redis_7_0() {
    if !have_redis() {
        eprintln!("skipped: redis-server / redis-cli not installed");
        return;
    }
    let (_r, real) = pair("redis-server", "real", [17960, 17961]);
    let (_o, mine) = pair(OURS, "ours", [17400, 17401]);
    let want = real.run(SCRIPT);
    assert!(want.contains("-ERR Unknown direction sideways"), "{want}");
    assert_eq!(mine.run(SCRIPT), want);

    let real_node = spawn_debug("redis-server", "real-nocluster", 17962, false);
    let our_node = spawn_debug(OURS, "ours-nocluster", 17402, false);
    let layout = |p: &Proc| Layout {
        ports: vec![p.port],
        ids: vec![],
    };
    let want = layout(&real_node).run(SCRIPT_NO_CLUSTER);
    assert!(want.contains("cluster mode enabled setup"), "{want}");
    assert_eq!(layout(&our_node).run(SCRIPT_NO_CLUSTER), want);
}

/// The drop filter and link kill on node A of a pair, asserting what redis-server does.
fn filter_then_kill(nodes: &[Proc], l: &Layout) {
    let a = l.ports[0];
    let pongs = pongs_received(a);
    assert_eq!(
        call(a, &["DEBUG", "DROP-CLUSTER-PACKET-FILTER", "1"]),
        "+OK\r\n"
    );
    wait_until("A's PING to B pending", Duration::from_secs(5), || {
        other(l, 0, 1).is_some_and(|s| s.ping_sent != 0)
    });
    let stuck = other(l, 0, 1).unwrap();
    std::thread::sleep(Duration::from_millis(3 * NODE_TIMEOUT));
    let later = other(l, 0, 1).unwrap();
    // The PONG arrives, is counted and logged, and is otherwise ignored.
    assert!(
        pongs_received(a) > pongs,
        "PONGs are counted before the filter"
    );
    assert!(log_count(&nodes[0].dir, DROP_LOG) >= 1);
    assert_eq!(
        (later.ping_sent, later.pong_recv),
        (stuck.ping_sent, stuck.pong_recv)
    );
    // B's PINGs keep A from suspecting it; B hears A's PONGs.
    assert_eq!(later.flags, "master");
    assert_eq!(other(l, 1, 0).unwrap().flags, "master");

    // Lifting the filter alone may leave the PING pending: it is resent only if the
    // link happens to be reconnected (no data from B for half the node timeout).
    assert_eq!(
        call(a, &["DEBUG", "DROP-CLUSTER-PACKET-FILTER", "-1"]),
        "+OK\r\n"
    );

    // Killing both links: they come back, and with them a fresh PING and its PONG.
    let before = link_times(l, 0);
    assert_eq!(before.len(), 2);
    let newest = before.iter().copied().max().unwrap();
    assert_eq!(
        call(a, &["DEBUG", "CLUSTERLINK", "KILL", "all", &l.ids[1]]),
        "+OK\r\n"
    );
    wait_until("A's links come back", Duration::from_secs(5), || {
        let t = link_times(l, 0);
        t.len() == 2 && t.iter().all(|&x| x > newest)
    });
    wait_until("A's PING answered", Duration::from_secs(5), || {
        other(l, 0, 1).is_some_and(|s| s.ping_sent == 0 && s.pong_recv > stuck.pong_recv)
    });
    assert_eq!(link_times(l, 1).len(), 2);
}

#[test]
fn drop_filter_and_link_kill_act_like_redis_7_0() {
    if !have_redis() {
        eprintln!("skipped: redis-server / redis-cli not installed");
        return;
    }
    let (real_nodes, real) = pair("redis-server", "real-filter", [17963, 17964]);
    filter_then_kill(&real_nodes, &real);
    let (our_nodes, mine) = pair(OURS, "ours-filter", [17403, 17404]);
    filter_then_kill(&our_nodes, &mine);
}
