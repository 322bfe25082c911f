//! Clients blocked (BLPOP, BZPOPMIN, BLMOVE) in cluster mode are released with Redis's
//! redirection when their slot stops being served here (clusterRedirectBlockedClientIfNeeded,
//! run from the cron): MOVED when the slot moved to another node, `CLUSTERDOWN Hash slot not
//! served` when it was deleted, `CLUSTERDOWN The cluster is down` when the cluster state
//! fails. The same steps run on two redis-server 7.0 nodes and on two of ours; what each
//! blocked client receives must be identical once ports are replaced by node names.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cluster_common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use cluster_common::*;

/// Masters A (0-8191) and B (8192-16383).
fn pair(spawn: fn(u16, u64) -> Proc, ports: [u16; 2]) -> (Vec<Proc>, Layout) {
    let nodes: Vec<Proc> = ports.iter().map(|&p| spawn(p, 2000)).collect();
    call(
        ports[0],
        &["CLUSTER", "MEET", "127.0.0.1", &ports[1].to_string()],
    );
    call(ports[0], &["CLUSTER", "ADDSLOTSRANGE", "0", "8191"]);
    call(ports[1], &["CLUSTER", "ADDSLOTSRANGE", "8192", "16383"]);
    wait_until("two-node cluster ok", Duration::from_secs(20), || {
        ports.iter().all(|&p| state_ok(p))
    });
    let ids = ports.map(myid);
    (
        nodes,
        Layout {
            ports: ports.to_vec(),
            ids: ids.to_vec(),
        },
    )
}

fn send(port: u16, args: &[&str]) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut req = Vec::new();
    resp_proto::encode_command(&mut req, args);
    s.write_all(&req).unwrap();
    s
}

/// Everything `s` receives until a line ends and nothing more comes for a moment, or
/// `limit` passes.
fn receive(s: &mut TcpStream, limit: Duration) -> String {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    while start.elapsed() < limit {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) if got.ends_with(b"\r\n") => break,
            Err(_) => {}
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

fn hello3(port: u16) -> TcpStream {
    let mut s = send(port, &["HELLO", "3"]);
    receive(&mut s, Duration::from_secs(5));
    s
}

fn blocked_clients(port: u16) -> String {
    let info = call(port, &["INFO", "clients"]);
    info.lines()
        .find(|l| l.starts_with("blocked_clients:"))
        .unwrap_or("")
        .to_string()
}

/// The steps; returns what the blocked clients received, in order.
fn scenario(l: &Layout) -> String {
    let (a, b) = (l.ports[0], l.ports[1]);
    let mut out = String::new();
    // Slots: "b" 3300, "c" 7365, "bar" 5061 are A's.
    let mut c1 = send(a, &["BLPOP", "b", "{b}2", "0"]);
    let mut c2 = hello3(a);
    c2.write_all(b"*3\r\n$8\r\nBZPOPMIN\r\n$4\r\n{b}z\r\n$1\r\n0\r\n")
        .unwrap();
    let mut c3 = send(a, &["BLMOVE", "c", "{c}d", "LEFT", "RIGHT", "0"]);
    let mut c4 = send(a, &["BLPOP", "bar", "0"]);
    wait_until("four blocked clients", Duration::from_secs(5), || {
        blocked_clients(a) == "blocked_clients:4"
    });
    out.push_str(&format!(
        "still blocked: {}\n",
        receive(&mut c1, Duration::from_millis(300))
    ));

    // Slot 3300 migrates to B.
    call(b, &["CLUSTER", "SETSLOT", "3300", "IMPORTING", &l.ids[0]]);
    call(b, &["CLUSTER", "SETSLOT", "3300", "NODE", &l.ids[1]]);
    call(a, &["CLUSTER", "SETSLOT", "3300", "NODE", &l.ids[1]]);
    out.push_str(&format!(
        "c1: {}\n",
        receive(&mut c1, Duration::from_secs(5))
    ));
    out.push_str(&format!(
        "c2: {}\n",
        receive(&mut c2, Duration::from_secs(5))
    ));
    out.push_str(&format!("c1 after: {}\n", {
        c1.write_all(b"*1\r\n$4\r\nPING\r\n").unwrap();
        receive(&mut c1, Duration::from_secs(5))
    }));

    // Slot 7365 unassigned while the cluster stays ok.
    call(a, &["CONFIG", "SET", "cluster-require-full-coverage", "no"]);
    call(a, &["CLUSTER", "DELSLOTS", "7365"]);
    out.push_str(&format!(
        "c3: {}\n",
        receive(&mut c3, Duration::from_secs(5))
    ));
    out.push_str(&format!("{}\n", blocked_clients(a)));

    // The cluster state fails: full coverage is required again, and the next slot
    // change makes the node re-evaluate its state.
    call(
        a,
        &["CONFIG", "SET", "cluster-require-full-coverage", "yes"],
    );
    call(a, &["CLUSTER", "DELSLOTS", "7000"]);
    out.push_str(&format!(
        "c4: {}\n",
        receive(&mut c4, Duration::from_secs(5))
    ));
    out.push_str(&format!("{}\n", blocked_clients(a)));
    l.normalize(&out)
}

#[test]
fn blocked_clients_are_redirected_like_redis_7_0() {
    if !have_redis() {
        panic!("redis-server 7.0 is needed (apt-get install redis-server)");
    }
    let want = {
        let (_nodes, l) = pair(real, [17620, 17621]);
        scenario(&l)
    };
    for line in [
        "c1: -MOVED 3300 127.0.0.1:<B>",
        "c3: -CLUSTERDOWN Hash slot not served",
        "c4: -CLUSTERDOWN The cluster is down",
    ] {
        assert!(want.contains(line), "{want}");
    }
    let got = {
        let (_nodes, l) = pair(ours, [17120, 17121]);
        scenario(&l)
    };
    assert_eq!(got, want);
}
