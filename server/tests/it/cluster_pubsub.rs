//! Sharded pub/sub in cluster mode, differential: the same three-node layout (masters A
//! and B, C a replica of A) is built from real redis-server 7.0 nodes and from ours, the
//! same multi-connection script runs on both, and every byte each connection receives
//! (replies and pushed messages, RESP2 and RESP3) must be identical once ports and ids
//! are replaced by node names. Covers SSUBSCRIBE / SUNSUBSCRIBE / SPUBLISH routing
//! (MOVED, CROSSSLOT, replicas serving shard channels), delivery across the bus to the
//! shard's replica (PUBLISHSHARD) and not to other shards, PUBLISH and SPUBLISH inside
//! EXEC reaching the bus, PUBSUB SHARDCHANNELS / SHARDNUMSUB, the subscribed-mode
//! command filter, and the `sunsubscribe` pushed to subscribers when their slot leaves
//! the shard. A second test runs a mixed cluster (real master, our replica and the
//! other way round).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cluster_common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use cluster_common::*;

/// Masters A (0-8191) and B (8192-16383); C replicates A.
fn build(spawn: [fn(u16, u64) -> Proc; 3], ports: [u16; 3]) -> (Vec<Proc>, Layout) {
    let nodes = ports.iter().zip(spawn).map(|(&p, f)| f(p, 2000)).collect();
    form_cluster(nodes, &[(0, 8191), (8192, 16383)])
}

/// Whether `node`'s CLUSTER NODES gives `slot` to `owner`.
fn owns(port: u16, owner: &str, slot: u16) -> bool {
    call(port, &["CLUSTER", "NODES"]).lines().any(|l| {
        l.starts_with(owner)
            && l.split(' ').skip(8).any(|r| match r.split_once('-') {
                Some((a, b)) => {
                    a.parse::<u16>().is_ok_and(|a| a <= slot)
                        && b.parse::<u16>().is_ok_and(|b| slot <= b)
                }
                None => r.parse::<u16>() == Ok(slot),
            })
    })
}

/// Raw connections by name; every byte each one receives is recorded. Bytes that
/// reach a connection other than the one that sent the last command (pushed messages)
/// wait in `pending` until a `!flush` line, so the transcript does not depend on how
/// fast the bus delivers.
struct Conns {
    conns: BTreeMap<String, TcpStream>,
    pending: BTreeMap<String, Vec<u8>>,
}

fn escape(b: &[u8]) -> String {
    b.iter()
        .flat_map(|&c| std::ascii::escape_default(c))
        .map(char::from)
        .collect()
}

impl Conns {
    /// Reads from every connection until all have been quiet for a while and `who` (if
    /// any) got something.
    fn drain(&mut self, who: Option<&str>) {
        let start = Instant::now();
        let mut last = Instant::now();
        let mut buf = [0u8; 65536];
        loop {
            for (name, s) in &mut self.conns {
                s.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    self.pending
                        .entry(name.clone())
                        .or_default()
                        .extend(&buf[..n]);
                    last = Instant::now();
                }
            }
            let answered = who.is_none_or(|w| self.pending.contains_key(w));
            if (answered && last.elapsed() > Duration::from_millis(300))
                || start.elapsed() > Duration::from_secs(5)
            {
                return;
            }
        }
    }
}

/// Lines: `name@X COMMAND ...` sends on connection `name` (opened on node X the first
/// time) and records what it gets; `!flush` records what the other connections got;
/// `!owner X slot Y` waits until node X sees Y owning `slot`; `$A` is A's id.
fn run(l: &Layout, script: &str) -> String {
    let mut c = Conns {
        conns: BTreeMap::new(),
        pending: BTreeMap::new(),
    };
    let mut out = String::new();
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let words: Vec<String> = line
            .split(' ')
            .map(|w| match w.strip_prefix('$') {
                Some(n) if n.len() == 1 => l.ids[(n.as_bytes()[0] - b'A') as usize].clone(),
                _ => w.to_string(),
            })
            .collect();
        if words[0] == "!owner" {
            let at = l.node(words[1].chars().next().unwrap());
            let slot: u16 = words[2].parse().unwrap();
            wait_until("slot owner", Duration::from_secs(20), || {
                owns(at, &words[3], slot)
            });
            continue;
        }
        if words[0] == "!flush" {
            c.drain(None);
            out.push_str("> !flush\n");
            for (who, bytes) in std::mem::take(&mut c.pending) {
                out.push_str(&format!("{who}: {}\n", escape(&bytes)));
            }
            continue;
        }
        let (name, node) = words[0].split_once('@').unwrap();
        let port = l.node(node.chars().next().unwrap());
        let s = c.conns.entry(name.to_string()).or_insert_with(|| {
            let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            s.set_nodelay(true).unwrap();
            s
        });
        let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
        let mut req = Vec::new();
        resp_proto::encode_command(&mut req, &args);
        s.write_all(&req).unwrap();
        out.push_str(&format!("> {line}\n"));
        c.drain(Some(name));
        let bytes = c.pending.remove(name).unwrap_or_default();
        out.push_str(&format!("{name}: {}\n", escape(&bytes)));
    }
    mask_hello(&l.normalize(&out))
}

/// HELLO's reply carries the client id.
fn mask_hello(s: &str) -> String {
    let key = "$2\\r\\nid\\r\\n:";
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(key) {
        out.push_str(&rest[..i + key.len()]);
        rest = &rest[i + key.len()..];
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(0);
        out.push('N');
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

// Slots: b and {b}2 3300, c 7365, bar 5061 (A's); a 15495, x 16287 (B's).
const SCRIPT: &str = "
s1@A SSUBSCRIBE b {b}2
s1@A SSUBSCRIBE c
s2@C SSUBSCRIBE b
s3@C SSUBSCRIBE a
s3@C SSUBSCRIBE b a
s4@B SSUBSCRIBE a
s5@B SUBSCRIBE bar x
!flush
p@A SPUBLISH b hello
!flush
p@A SPUBLISH c only-on-a
!flush
q@C SPUBLISH b from-replica
!flush
r@B SPUBLISH b wrong-shard
p@A SPUBLISH a wrong-shard
p@A SPUBLISH nosub x
r@B SPUBLISH a to-b
!flush
p@A PUBLISH bar plain-on-a
p@A PUBLISH b not-a-shard-message
!flush
p@A PUBSUB SHARDCHANNELS {b}*
p@A PUBSUB SHARDCHANNELS a b
p@A PUBSUB SHARDNUMSUB b c a zz
q@C PUBSUB SHARDNUMSUB b {b}2
p@A PUBSUB NUMSUB b
p@A PUBSUB CHANNELS a b
p@A MULTI
p@A SPUBLISH b in-exec
p@A PUBLISH bar in-exec
p@A EXEC
!flush
p@A MULTI
p@A SSUBSCRIBE b
p@A EXEC
s1@A GET b
s1@A PING
s1@A SUBSCRIBE bar
s1@A SUNSUBSCRIBE b
s1@A SSUBSCRIBE b
t@A HELLO 3
t@A SSUBSCRIBE c
t@A SPUBLISH c to-self-resp3
t@A GET c
q@C SSUBSCRIBE c
!flush
r@B CLUSTER SETSLOT 7365 IMPORTING $A
r@B CLUSTER SETSLOT 7365 NODE $B
p@A CLUSTER SETSLOT 7365 NODE $B
!owner C 7365 $B
!flush
p@A SPUBLISH c moved-away
q@C SSUBSCRIBE c
s1@A SUNSUBSCRIBE {b}2
s1@A UNSUBSCRIBE
s1@A PING
t@A SUNSUBSCRIBE
t@A PING
s2@C SUNSUBSCRIBE nosuch
s2@C RESET
s2@C PING
!flush
";

#[test]
fn sharded_pubsub_matches_redis_7_0() {
    if !have_redis() {
        panic!("redis-server 7.0 is needed (apt-get install redis-server)");
    }
    let want = {
        let (_nodes, l) = build([real, real, real], [17600, 17601, 17602]);
        run(&l, SCRIPT)
    };
    let got = {
        let (_nodes, l) = build([ours, ours, ours], [17100, 17101, 17102]);
        run(&l, SCRIPT)
    };
    compare_transcripts(&want, &got);
}

/// A mixed shard: real master A with our replica C, and our master B. Messages cross
/// the bus both ways inside the shard, and stay out of the other shard.
const MIXED: &str = "
s1@A SSUBSCRIBE b
s2@C SSUBSCRIBE b
s3@B SSUBSCRIBE a
s4@B SSUBSCRIBE b
p@A SPUBLISH b from-real-master
!flush
q@C SPUBLISH b from-our-replica
!flush
r@B SPUBLISH a from-our-master
r@B SPUBLISH b wrong-shard
!flush
";

#[test]
fn sharded_pubsub_crosses_a_mixed_shard() {
    if !have_redis() {
        panic!("redis-server 7.0 is needed (apt-get install redis-server)");
    }
    let want = {
        let (_nodes, l) = build([real, real, real], [17610, 17611, 17612]);
        run(&l, MIXED)
    };
    let got = {
        let (_nodes, l) = build([real, ours, ours], [17613, 17110, 17111]);
        run(&l, MIXED)
    };
    compare_transcripts(&want, &got);
}
