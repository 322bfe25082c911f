//! Routing of keyed commands in cluster mode, differential: the same four-node layout
//! (three masters, one replica) is built from real redis-server 7.0 nodes and from ours,
//! the same scripts run on both, and the replies must be byte-identical once ports are
//! replaced by node names. Covers MOVED, ASK, ASKING (one-shot, with MULTI), TRYAGAIN,
//! CROSSSLOT (also across EXEC), the CLUSTERDOWN variants, READONLY/READWRITE on a
//! replica, SELECT, COUNTKEYSINSLOT/GETKEYSINSLOT (client-behaviour.md §2).
//! Skipped (with a note) when redis-server is not installed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cluster_common;

use cluster_common::*;

/// Masters A (0-5460), B (5461-10922), C (10923-16383); D replicates A.
fn build(spawn: fn(u16, u64) -> Proc, ports: [u16; 4]) -> (Vec<Proc>, Layout) {
    let nodes = ports.iter().map(|&p| spawn(p, 2000)).collect();
    form_cluster(nodes, &[(0, 5460), (5461, 10922), (10923, 16383)])
}

const SCRIPT: &str = "
@A
GET foo
SET bar 1
SET hello 1
GET bar
MGET bar foo
MGET foo bar
MSET bar 1 {bar}x 2
MGET bar bar
SINTERCARD 2 foo bar
SINTERCARD 1 foo
SINTERCARD 0 foo
SINTERCARD x foo
ZINTERCARD 1 bar
ZUNION 2 bar {bar}x
LMPOP 1 foo LEFT
LMPOP 2 {bar}l bar LEFT
BLMPOP 0 1 foo LEFT
ZUNIONSTORE bar 1 foo
ZUNIONSTORE {foo}d 1 foo
ZUNIONSTORE {bar}d 1 hello
ZDIFFSTORE {bar}d 1 {bar}z
DBSIZE
CLUSTER COUNTKEYSINSLOT 5061
CLUSTER GETKEYSINSLOT 866 10
SELECT 1
SELECT 0
SELECT abc
MULTI
GET foo
SET bar 2
EXEC
EXEC
MULTI
SET bar 1
SET hello 2
EXEC
EXEC
ASKING
GET foo
READONLY
GET foo
@D
GET bar
GET {bar}missing
READONLY
GET {bar}missing
SET bar 3
GET foo
MULTI
GET {bar}missing
EXEC
MULTI
GET {bar}missing
SET {bar}missing 1
EXEC
READWRITE
GET {bar}missing
PING
@C
SET foo v-foo
SET {foo}a a
SET {foo}b b
CLUSTER SETSLOT 12182 NODE $B
@B
CLUSTER SETSLOT 12182 IMPORTING $C
@C
CLUSTER SETSLOT 12182 MIGRATING $B
GET foo
GET {foo}zzz
SET {foo}new 1
MGET foo {foo}a
MGET foo {foo}zzz
MGET {foo}x {foo}y
ASKING
GET {foo}zzz
@B
GET {foo}zzz
ASKING
GET {foo}zzz
GET {foo}zzz
ASKING
MGET {foo}new {foo}zzz
ASKING
MGET {foo}new {foo}new
ASKING
PING
GET {foo}zzz
ASKING
NOSUCHCMD
GET {foo}zzz
asking
GET {foo}zzz
ASKING
MULTI
GET {foo}zzz
SET {foo}zzz 1
EXEC
MULTI
ASKING
GET {foo}q
EXEC
CLUSTER SETSLOT 12182 STABLE
@C
CLUSTER SETSLOT 12182 STABLE
GET {foo}zzz
@A
CLUSTER DELSLOTS 5061
GET bar
MGET bar foo
MGET foo bar
!wait-fail A
GET foo
GET hello
SET hello 3
CONFIG SET cluster-allow-reads-when-down yes
GET hello
SET hello 3
GET foo
GET bar
PING
";

#[test]
fn routing_replies_match_redis_7_0() {
    if !have_redis() {
        eprintln!("skipped: redis-server / redis-cli not installed");
        return;
    }
    let (_real_nodes, real) = build(cluster_common::real, [17520, 17521, 17522, 17523]);
    let (_our_nodes, mine) = build(cluster_common::ours, [17040, 17041, 17042, 17043]);
    let want = real.run(SCRIPT);
    let got = mine.run(SCRIPT);
    compare_transcripts(&want, &got);
    // The script reached its end on both.
    assert!(
        want.contains("> CONFIG SET cluster-allow-reads-when-down yes"),
        "{want}"
    );
    for text in [
        "-MOVED 12182 127.0.0.1:<C>",
        "-ASK 12182 127.0.0.1:<B>",
        "-TRYAGAIN Multiple keys request during rehashing of slot",
        "-CROSSSLOT Keys in request don't hash to the same slot",
        "-CLUSTERDOWN Hash slot not served",
        "-CLUSTERDOWN The cluster is down\r\n",
        "-CLUSTERDOWN The cluster is down and only accepts read commands",
        "-EXECABORT Transaction discarded because of previous errors.",
        "-ERR SELECT is not allowed in cluster mode",
    ] {
        assert!(want.contains(text), "{text} not in\n{want}");
    }
}
