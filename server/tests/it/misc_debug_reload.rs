//! DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE] and DEBUG HELP, compared with redis-server
//! 7.0.15 byte for byte: the same data, TTLs and encodings after a reload, the same replies
//! and errors for each option, inside MULTI, and in cluster mode. Skipped (with a note)
//! when redis-server is not installed.
//!
//! Not sent to redis-server: NOFLUSH without MERGE over a key the file also holds kills
//! 7.0.15 ("Duplicated key found in RDB file"); ours answers the load error instead.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cluster_common;

use std::time::Duration;

use cluster_common::*;

const DEBUG_ON: &[&str] = &["--enable-debug-command", "yes"];

/// Our node and a real one, cluster mode `cluster`, DEBUG enabled, each in its own dir.
fn pair(tag: &str, ours_port: u16, real_port: u16, cluster: bool, extra: &[&str]) -> [Proc; 2] {
    let args: Vec<&str> = DEBUG_ON.iter().chain(extra).copied().collect();
    [
        spawn_with(
            OURS,
            &format!("reload-{tag}-ours"),
            ours_port,
            5000,
            cluster,
            &args,
        ),
        spawn_with(
            "redis-server",
            &format!("reload-{tag}-real"),
            real_port,
            5000,
            cluster,
            &args,
        ),
    ]
}

/// Sends each command to both nodes; every reply must be the same bytes.
fn same(nodes: &[Proc; 2], script: &[&[&str]]) {
    let mut conns = [Conn::new(nodes[0].port), Conn::new(nodes[1].port)];
    for args in script {
        let ours = conns[0].try_call(args).unwrap();
        let real = conns[1].try_call(args).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&real),
            "reply to {args:?}"
        );
    }
}

/// Values of every encoding 7.0.15 has, some with a TTL, in two databases.
fn populate() -> Vec<Vec<String>> {
    let mut s: Vec<Vec<String>> = Vec::new();
    let mut push = |a: &[&str]| s.push(a.iter().map(|x| x.to_string()).collect());
    push(&["SET", "int", "12345"]);
    push(&["SET", "embstr", "hello"]);
    push(&["SET", "raw", &"x".repeat(100)]);
    push(&["APPEND", "appended", "grown by append"]);
    // Absolute expiry times, so both servers hold the same ones.
    push(&["SET", "ttl", "v"]);
    push(&["EXPIREAT", "ttl", "4102444800"]);
    push(&["SET", "pttl", "v"]);
    push(&["PEXPIREAT", "pttl", "4102444800123"]);
    push(&["RPUSH", "list", "a", "b", "1", "2"]);
    push(&["HSET", "hash", "f", "v", "n", "1"]);
    push(&["SADD", "intset", "1", "2", "3"]);
    push(&["SADD", "set", "a", "b", "c"]);
    push(&["ZADD", "zset", "1", "a", "2.5", "b"]);
    push(&["PEXPIREAT", "hash", "4102444800456"]);
    // Converted to their big encodings, then shrunk: a reload re-encodes them as small.
    let big: Vec<String> = (0..200).map(|i| format!("m{i}")).collect();
    let mut hset = vec!["HSET".to_string(), "bighash".to_string()];
    let mut sadd = vec!["SADD".to_string(), "bigset".to_string()];
    let mut zadd = vec!["ZADD".to_string(), "bigzset".to_string()];
    let mut rpush = vec!["RPUSH".to_string(), "biglist".to_string()];
    for (i, m) in big.iter().enumerate() {
        hset.extend([m.clone(), i.to_string()]);
        sadd.push(m.clone());
        zadd.extend([i.to_string(), m.clone()]);
        rpush.push(m.clone());
    }
    s.extend([hset, sadd, zadd, rpush]);
    let mut hdel = vec!["HDEL".to_string(), "bighash".to_string()];
    hdel.extend(big.iter().skip(2).cloned());
    let mut srem = vec!["SREM".to_string(), "bigset".to_string()];
    srem.extend(big.iter().skip(2).cloned());
    s.extend([hdel, srem]);
    s.push(vec![
        "ZREMRANGEBYRANK".into(),
        "bigzset".into(),
        "2".into(),
        "-1".into(),
    ]);
    s.push(vec!["SELECT".into(), "3".into()]);
    s.push(vec!["SET".into(), "in-db3".into(), "v".into()]);
    s.push(vec![
        "PEXPIREAT".into(),
        "in-db3".into(),
        "4102444800789".into(),
    ]);
    s.push(vec!["SELECT".into(), "0".into()]);
    s
}

const KEYS: &[&str] = &[
    "int", "embstr", "raw", "appended", "ttl", "pttl", "list", "hash", "intset", "set", "zset",
    "bighash", "bigset", "bigzset", "biglist",
];

/// What a user sees of every key: type, encoding, value digest, TTL; and the whole dataset.
fn observe() -> Vec<Vec<String>> {
    let mut s = Vec::new();
    for k in KEYS {
        for sub in [
            &["TYPE"][..],
            &["OBJECT", "ENCODING"],
            &["PEXPIRETIME"],
            &["DEBUG", "DIGEST-VALUE"],
        ] {
            let mut c: Vec<String> = sub.iter().map(|x| x.to_string()).collect();
            c.push(k.to_string());
            s.push(c);
        }
    }
    for c in [
        &["DBSIZE"][..],
        &["DEBUG", "DIGEST"],
        &["SELECT", "3"],
        &["PEXPIRETIME", "in-db3"],
        &["DBSIZE"],
        &["SELECT", "0"],
    ] {
        s.push(c.iter().map(|x| x.to_string()).collect());
    }
    s
}

fn run(nodes: &[Proc; 2], script: &[Vec<String>]) {
    let refs: Vec<Vec<&str>> = script
        .iter()
        .map(|c| c.iter().map(String::as_str).collect())
        .collect();
    let slices: Vec<&[&str]> = refs.iter().map(Vec::as_slice).collect();
    same(nodes, &slices);
}

#[test]
fn reload_keeps_data_ttls_and_encodings_as_redis() {
    if !have_redis() {
        eprintln!("redis-server not installed: skipped");
        return;
    }
    let nodes = pair("data", 21500, 22100, false, &[]);
    run(&nodes, &populate());
    run(&nodes, &observe());
    same(&nodes, &[&["DEBUG", "RELOAD"]]);
    run(&nodes, &observe());
    // The save is a real one: LASTSAVE moved, no changes pending.
    let info = call(nodes[0].port, &["INFO", "persistence"]);
    assert!(info.contains("rdb_changes_since_last_save:0\r\n"), "{info}");
    assert!(info.contains("rdb_last_load_keys_loaded:16\r\n"), "{info}");
    assert!(nodes[0].dir.join("dump.rdb").exists());
}

#[test]
fn reload_options_and_errors_as_redis() {
    if !have_redis() {
        eprintln!("redis-server not installed: skipped");
        return;
    }
    let nodes = pair("opts", 21501, 22101, false, &[]);
    same(
        &nodes,
        &[
            &["DEBUG", "RELOAD", "NOSAVE"],
            &["DEBUG", "RELOAD", "FAST"],
            &["DEBUG", "RELOAD", "MERGE", "BOGUS"],
            &["DEBUG", "HELP"],
            &["DEBUG", "HELP", "extra"],
            // The file holds a and b.
            &["MSET", "a", "1", "b", "2"],
            &["DEBUG", "RELOAD"],
            // NOSAVE: the file's contents replace the keyspace.
            &["SET", "a", "changed"],
            &["SET", "c", "3"],
            &["DEBUG", "RELOAD", "NOSAVE"],
            &["MGET", "a", "b", "c"],
            // NOSAVE NOFLUSH MERGE: the file's keys win, the others stay.
            &["SET", "a", "changed"],
            &["SET", "c", "3"],
            &["DEBUG", "RELOAD", "nosave", "noflush", "merge"],
            &["MGET", "a", "b", "c"],
            &["DBSIZE"],
            // Inside a transaction.
            &["MULTI"],
            &["SET", "d", "4"],
            &["DEBUG", "RELOAD"],
            &["GET", "d"],
            &["EXEC"],
            &["GET", "d"],
        ],
    );
    // No file: the keyspace is flushed first, then the load fails.
    for n in &nodes {
        std::fs::remove_file(n.dir.join("dump.rdb")).unwrap();
    }
    same(
        &nodes,
        &[&["DEBUG", "RELOAD", "NOSAVE"], &["DBSIZE"], &["PING"]],
    );
}

#[test]
fn reload_save_failure_as_redis() {
    if !have_redis() {
        eprintln!("redis-server not installed: skipped");
        return;
    }
    let nodes = pair("savefail", 21502, 22102, false, &["--dbfilename", "d.rdb"]);
    for n in &nodes {
        std::fs::create_dir_all(n.dir.join("d.rdb")).unwrap();
    }
    same(
        &nodes,
        &[
            &["SET", "k", "v"],
            &["DEBUG", "RELOAD"],
            &["GET", "k"],
            &["DBSIZE"],
        ],
    );
}

#[test]
fn noflush_without_merge_over_a_kept_key_is_an_error_not_a_crash() {
    let dir_args = DEBUG_ON;
    let ours = spawn_with(OURS, "reload-dup", 21503, 5000, false, dir_args);
    let p = ours.port;
    assert_eq!(call(p, &["SET", "k", "file"]), "+OK\r\n");
    assert_eq!(call(p, &["DEBUG", "RELOAD"]), "+OK\r\n");
    assert_eq!(call(p, &["SET", "k", "memory"]), "+OK\r\n");
    assert_eq!(
        call(p, &["DEBUG", "RELOAD", "NOSAVE", "NOFLUSH"]),
        "-ERR Error trying to load the RDB dump\r\n"
    );
    assert_eq!(call(p, &["PING"]), "+PONG\r\n");
    let log = std::fs::read_to_string(ours.dir.join("node.log")).unwrap();
    assert!(log.contains("DB reloaded by DEBUG RELOAD"), "{log}");
}

#[test]
fn reload_in_cluster_mode_as_redis() {
    if !have_redis() {
        eprintln!("redis-server not installed: skipped");
        return;
    }
    let nodes = pair("cluster", 21504, 22104, true, &[]);
    same(&nodes, &[&["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]]);
    for n in &nodes {
        wait_until("cluster state ok", Duration::from_secs(20), || {
            state_ok(n.port)
        });
    }
    same(
        &nodes,
        &[
            &["SET", "{user1}:a", "1"],
            &["SET", "{user1}:b", "2"],
            &["PEXPIREAT", "{user1}:b", "4102444800123"],
            &["HSET", "h", "f", "v"],
            &["DEBUG", "RELOAD"],
            &["CLUSTER", "COUNTKEYSINSLOT", "8106"],
            &["MGET", "{user1}:a", "{user1}:b"],
            &["PEXPIRETIME", "{user1}:b"],
            &["HGETALL", "h"],
            &["DBSIZE"],
        ],
    );
}

/// The log lines after "Ready to accept connections": level and message, each run of
/// digits blanked.
fn reload_log(dir: &std::path::Path) -> Vec<String> {
    let log = std::fs::read_to_string(dir.join("node.log")).unwrap_or_default();
    log.lines()
        .skip_while(|l| !l.contains("Ready to accept connections"))
        .skip(1)
        .map(|l| {
            let msg = l.splitn(6, ' ').nth(5).unwrap_or(l);
            let mut out = String::new();
            for c in msg.chars() {
                if !c.is_ascii_digit() {
                    out.push(c);
                } else if !out.ends_with('N') {
                    out.push('N');
                }
            }
            out
        })
        .collect()
}

#[test]
fn reload_logs_like_redis() {
    if !have_redis() {
        eprintln!("redis-server not installed: skipped");
        return;
    }
    let nodes = pair("log", 21505, 22105, false, &[]);
    same(&nodes, &[&["SET", "a", "1"], &["DEBUG", "RELOAD"]]);
    assert_eq!(reload_log(&nodes[0].dir), reload_log(&nodes[1].dir));
}
