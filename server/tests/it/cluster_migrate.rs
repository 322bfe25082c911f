//! MIGRATE and RESTORE-ASKING against real redis-server 7.0 processes: every type (with
//! the compact and the large encodings) and TTLs moved from our node to a real one and
//! back; MIGRATE's replies (+NOKEY, BUSYKEY from the target, REPLACE, COPY, KEYS, AUTH
//! refused by the target, SELECT of another db, connection refused, argument errors)
//! compared byte for byte with redis-server as the source; `redis-cli --cluster reshard`
//! moving 1000 slots between two of our masters while a writer keeps writing (then
//! `--cluster check` is clean and every key holds its last written value), and between
//! a real master and ours, both ways.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cluster_common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cluster_common::*;

fn standalone_ours(port: u16) -> Proc {
    spawn_with(OURS, "ours", port, 2000, false, &[])
}

fn standalone_real(port: u16) -> Proc {
    spawn_with("redis-server", "real", port, 2000, false, &[])
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
    // The connection to the target stays cached (port 1 refused, so nothing cached).
    let info = c.call(&["INFO", "stats"]);
    let cached = info
        .lines()
        .find(|l| l.starts_with("migrate_cached_sockets:"));
    out.push_str(&format!(
        "{}\n",
        cached.unwrap_or("no migrate_cached_sockets")
    ));
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
    assert!(want.0.contains("migrate_cached_sockets:1"), "{}", want.0);
    assert_eq!(got.0, want.0);
    assert_eq!(got.1, want.1);
}

/// A writer that follows MOVED / ASK / TRYAGAIN like a cluster client and remembers the
/// last value each key acknowledged.
struct Writer {
    conns: std::collections::HashMap<u16, Conn>,
    owner: Vec<u16>,
}

impl Writer {
    fn new(ports: &[u16]) -> Writer {
        let mut w = Writer {
            conns: std::collections::HashMap::new(),
            owner: vec![ports[0]; 16384],
        };
        let slots = raw(ports[0], &["CLUSTER", "SLOTS"]);
        // Ranges as "start end port" triples from CLUSTER SLOTS' flat reply.
        let ints: Vec<i64> = slots
            .lines()
            .filter_map(|l| l.strip_prefix(':'))
            .filter_map(|n| n.parse().ok())
            .collect();
        for t in ints.chunks(3) {
            if let [a, b, p] = t {
                for s in *a..=*b {
                    w.owner[s as usize] = *p as u16;
                }
            }
        }
        w
    }

    fn call(&mut self, port: u16, args: &[&str]) -> String {
        self.conns
            .entry(port)
            .or_insert_with(|| Conn::new(port))
            .call(args)
    }

    fn run(&mut self, slot: u16, args: &[&str]) -> String {
        let mut port = self.owner[slot as usize];
        for _ in 0..100 {
            let r = self.call(port, args);
            if let Some(rest) = r.strip_prefix("-MOVED ") {
                port = rest.trim().rsplit(':').next().unwrap().parse().unwrap();
                self.owner[slot as usize] = port;
            } else if let Some(rest) = r.strip_prefix("-ASK ") {
                let to: u16 = rest.trim().rsplit(':').next().unwrap().parse().unwrap();
                self.call(to, &["ASKING"]);
                let r = self.call(to, args);
                if !r.starts_with("-TRYAGAIN") {
                    return r;
                }
                std::thread::sleep(Duration::from_millis(10));
            } else if r.starts_with("-TRYAGAIN") {
                std::thread::sleep(Duration::from_millis(10));
            } else {
                return r;
            }
        }
        panic!("no node served {args:?}");
    }
}

fn slot_of(port: u16, key: &str) -> u16 {
    raw(port, &["CLUSTER", "KEYSLOT", key])[1..]
        .trim()
        .parse()
        .unwrap()
}

const KEYS: usize = 3000;

/// Writes every key in rounds until `stop`; returns each key's last acknowledged value.
fn write_until(ports: Vec<u16>, slots: Vec<u16>, stop: Arc<AtomicBool>) -> Vec<String> {
    let mut w = Writer::new(&ports);
    let mut last = vec![String::new(); KEYS];
    let mut round = 0u64;
    loop {
        round += 1;
        for (i, slot) in slots.iter().enumerate() {
            let v = format!("{round}-{i}");
            let r = w.run(*slot, &["SET", &format!("key:{i}"), &v]);
            assert_eq!(r, "+OK\r\n", "SET key:{i}");
            last[i] = v;
            if stop.load(Ordering::Relaxed) && i + 1 == KEYS {
                return last;
            }
        }
        if stop.load(Ordering::Relaxed) {
            return last;
        }
    }
}

fn reshard(from: u16, ids: (&str, &str), slots: usize) {
    let out = std::process::Command::new("redis-cli")
        .args([
            "--cluster",
            "reshard",
            &format!("127.0.0.1:{from}"),
            "--cluster-from",
            ids.0,
            "--cluster-to",
            ids.1,
            "--cluster-slots",
            &slots.to_string(),
            "--cluster-yes",
        ])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "reshard failed:\n{text}");
    assert!(!text.contains("[ERR]"), "{text}");
}

fn check_clean(port: u16) {
    let text = redis_cli(&["--cluster", "check", &format!("127.0.0.1:{port}")]);
    assert!(text.contains("[OK] All 16384 slots covered."), "{text}");
    assert!(
        !text.contains("[WARNING]") && !text.contains("[ERR]"),
        "{text}"
    );
}

/// Masters A (0-8191) and B (8192-16383) from the given kinds.
fn two_masters(kinds: [fn(u16, u64) -> Proc; 2], ports: [u16; 2]) -> (Vec<Proc>, [String; 2]) {
    let nodes: Vec<Proc> = ports.iter().zip(kinds).map(|(&p, f)| f(p, 15000)).collect();
    call(
        ports[0],
        &["CLUSTER", "MEET", "127.0.0.1", &ports[1].to_string()],
    );
    call(ports[0], &["CLUSTER", "ADDSLOTSRANGE", "0", "8191"]);
    call(ports[1], &["CLUSTER", "ADDSLOTSRANGE", "8192", "16383"]);
    wait_until("two-master cluster ok", Duration::from_secs(20), || {
        ports.iter().all(|&p| state_ok(p))
    });
    wait_until("every node agrees", Duration::from_secs(20), || {
        view(ports[0]) == view(ports[1])
    });
    (nodes, ports.map(myid))
}

/// Reshards `moves` (from, to, slots) in turn while a writer writes, then checks the
/// cluster and every key's last value.
fn reshard_under_writes(ports: [u16; 2], ids: &[String; 2], moves: &[(usize, usize, usize)]) {
    let slots: Vec<u16> = (0..KEYS)
        .map(|i| slot_of(ports[0], &format!("key:{i}")))
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, slots) = (stop.clone(), slots.clone());
        std::thread::spawn(move || write_until(ports.to_vec(), slots, stop))
    };
    // Let the first round create every key before slots move.
    std::thread::sleep(Duration::from_millis(1500));
    for &(from, to, n) in moves {
        reshard(ports[from], (&ids[from], &ids[to]), n);
        wait_until("every node agrees", Duration::from_secs(20), || {
            view(ports[0]) == view(ports[1])
        });
        check_clean(ports[0]);
    }
    stop.store(true, Ordering::Relaxed);
    let last = writer.join().unwrap();
    let mut w = Writer::new(&ports);
    for (i, slot) in slots.iter().enumerate() {
        let got = w.run(*slot, &["GET", &format!("key:{i}")]);
        assert_eq!(
            got,
            format!("${}\r\n{}\r\n", last[i].len(), last[i]),
            "key:{i}"
        );
    }
    let total: i64 = ports
        .iter()
        .map(|&p| raw(p, &["DBSIZE"])[1..].trim().parse::<i64>().unwrap())
        .sum();
    assert_eq!(total, KEYS as i64);
}

#[test]
fn redis_cli_reshards_1000_slots_between_our_masters_under_writes() {
    if !have_redis() {
        panic!("redis-server 7.0 is needed (apt-get install redis-server)");
    }
    let (_nodes, ids) = two_masters([ours, ours], [17140, 17141]);
    reshard_under_writes([17140, 17141], &ids, &[(0, 1, 1000)]);
}

#[test]
fn redis_cli_reshards_between_a_real_master_and_ours_both_ways() {
    if !have_redis() {
        panic!("redis-server 7.0 is needed (apt-get install redis-server)");
    }
    let (_nodes, ids) = two_masters([real, ours], [17640, 17142]);
    reshard_under_writes([17640, 17142], &ids, &[(0, 1, 1000), (1, 0, 1000)]);
}
