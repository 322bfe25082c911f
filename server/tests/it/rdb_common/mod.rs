//! Shared by the rdb_* tests: a dataset with every type and encoding, and a type-aware
//! comparison of two servers' keyspaces.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use redis::{Connection, Value};

/// A fresh scratch directory under the target dir.
pub fn scratch(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("rdb-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn connect(port: u16) -> Connection {
    redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .unwrap()
        .get_connection()
        .unwrap()
}

pub fn q(con: &mut Connection, args: &[&[u8]]) -> Value {
    let mut c = redis::cmd(std::str::from_utf8(args[0]).unwrap());
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query::<Value>(con)
        .unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(args[0])))
}

pub fn qs(con: &mut Connection, args: &[&str]) -> Value {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    q(con, &a)
}

pub fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        Value::Okay => "OK".into(),
        Value::Int(n) => n.to_string(),
        Value::Nil => "(nil)".into(),
        other => format!("{other:?}"),
    }
}

fn bulk_list(v: Value) -> Vec<Vec<u8>> {
    match v {
        Value::Array(items) => items
            .into_iter()
            .map(|i| match i {
                Value::BulkString(b) => b,
                Value::Int(n) => n.to_string().into_bytes(),
                other => panic!("{other:?}"),
            })
            .collect(),
        other => panic!("{other:?}"),
    }
}

/// Fills database 0 (and 3) with every type in every encoding, some keys with TTLs.
pub fn populate(con: &mut Connection) {
    let run = |con: &mut Connection, args: Vec<Vec<u8>>| {
        let a: Vec<&[u8]> = args.iter().map(|v| v.as_slice()).collect();
        q(con, &a);
    };
    let s = |x: &str| x.as_bytes().to_vec();
    qs(con, &["SELECT", "0"]);
    for (k, v) in [
        ("s:int", "12345".to_string()),
        ("s:neg", "-7".into()),
        ("s:big", i64::MAX.to_string()),
        ("s:emb", "hello".into()),
        ("s:float", "3.14".into()),
        ("s:empty", String::new()),
        ("s:lzf", "abc".repeat(40)),
        (
            "s:raw",
            (0..100)
                .map(|i| char::from(b'!' + (i * 37 % 90) as u8))
                .collect(),
        ),
    ] {
        qs(con, &["SET", k, &v]);
    }
    run(
        con,
        vec![s("SET"), s("s:bin"), b"a\x00b\r\n\xff\xfe".to_vec()],
    );
    qs(
        con,
        &["RPUSH", "l:small", "a", "1", "-300", "hello", "70000"],
    );
    for chunk in (0..10_000).collect::<Vec<i32>>().chunks(500) {
        let mut args = vec![s("RPUSH"), s("l:big")];
        args.extend(chunk.iter().map(|i| format!("item-{i}").into_bytes()));
        run(con, args);
    }
    for i in 0..5 {
        run(
            con,
            vec![
                s("RPUSH"),
                s("l:long"),
                format!("{i}").repeat(5000).into_bytes(),
            ],
        );
    }
    qs(con, &["HSET", "h:lp", "f1", "v1", "f2", "2", "f3", "-5"]);
    let mut args = vec![s("HSET"), s("h:ht")];
    for i in 0..300 {
        args.push(format!("field:{i}").into_bytes());
        args.push(format!("{}", i * 3).into_bytes());
    }
    run(con, args);
    qs(con, &["HSET", "h:longval", "f", &"x".repeat(100)]);
    qs(con, &["SADD", "st:int", "1", "2", "3", "70000", "-5"]);
    qs(con, &["SADD", "st:wide", "1", "9223372036854775807"]);
    qs(con, &["SADD", "st:str", "a", "b", "c"]);
    let mut args = vec![s("SADD"), s("st:bigint")];
    args.extend((0..1000).map(|i| (i * 7).to_string().into_bytes()));
    run(con, args);
    qs(
        con,
        &[
            "ZADD", "z:lp", "1", "a", "2.5", "b", "-3", "c", "1e100", "d",
        ],
    );
    let mut args = vec![s("ZADD"), s("z:sl")];
    for i in 0..300 {
        args.push(format!("{}", f64::from(i) / 7.0).into_bytes());
        args.push(format!("member:{i}").into_bytes());
    }
    run(con, args);
    qs(
        con,
        &["ZADD", "z:inf", "inf", "top", "-inf", "bottom", "0", "zero"],
    );
    qs(con, &["ZADD", "z:longmember", "1", &"m".repeat(100)]);
    qs(con, &["SET", "ttl:s", "v", "EX", "100000"]);
    qs(con, &["HSET", "ttl:h", "a", "b"]);
    qs(con, &["PEXPIRE", "ttl:h", "500000000"]);
    qs(con, &["SELECT", "3"]);
    qs(con, &["SET", "db3:s", "in db 3"]);
    qs(con, &["RPUSH", "db3:l", "x", "y"]);
    qs(con, &["SELECT", "0"]);
}

/// Everything a user can read about one key: type, encoding, contents, TTL presence.
pub fn describe(con: &mut Connection, key: &[u8]) -> String {
    let t = text(&q(con, &[b"TYPE", key]));
    let enc = text(&q(con, &[b"OBJECT", b"ENCODING", key]));
    let body: Vec<Vec<u8>> = match t.as_str() {
        "string" => vec![match q(con, &[b"GET", key]) {
            Value::BulkString(b) => b,
            other => panic!("{other:?}"),
        }],
        "list" => bulk_list(q(con, &[b"LRANGE", key, b"0", b"-1"])),
        "hash" => {
            let flat = bulk_list(q(con, &[b"HGETALL", key]));
            let mut pairs: Vec<Vec<u8>> = flat
                .chunks(2)
                .map(|p| [p[0].clone(), b"=".to_vec(), p[1].clone()].concat())
                .collect();
            pairs.sort();
            pairs
        }
        "set" => {
            let mut m = bulk_list(q(con, &[b"SMEMBERS", key]));
            m.sort();
            m
        }
        "zset" => bulk_list(q(con, &[b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"])),
        other => panic!("type {other}"),
    };
    let pttl = match q(con, &[b"PTTL", key]) {
        Value::Int(n) => n,
        other => panic!("{other:?}"),
    };
    let ttl = if pttl > 0 { "ttl" } else { "persistent" };
    let digest: Vec<String> = body
        .iter()
        .map(|b| format!("{:?}", String::from_utf8_lossy(b)))
        .collect();
    format!("{t}/{enc}/{ttl}/{}", digest.join(","))
}

/// Every key of every database, described, sorted.
pub fn snapshot(con: &mut Connection, dbs: usize) -> Vec<(usize, Vec<u8>, String)> {
    let mut out = Vec::new();
    for db in 0..dbs {
        qs(con, &["SELECT", &db.to_string()]);
        let mut keys = bulk_list(q(con, &[b"KEYS", b"*"]));
        keys.sort();
        for k in keys {
            let d = describe(con, &k);
            out.push((db, k, d));
        }
    }
    qs(con, &["SELECT", "0"]);
    out
}

pub fn assert_same(a: &[(usize, Vec<u8>, String)], b: &[(usize, Vec<u8>, String)]) {
    assert_eq!(a.len(), b.len(), "key counts differ");
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x, y, "key {:?}", String::from_utf8_lossy(&x.1));
    }
}

/// Waits for a file to appear (a background save).
pub fn wait_file(p: &Path) {
    for _ in 0..200 {
        if p.exists() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    panic!("{} never appeared", p.display());
}
