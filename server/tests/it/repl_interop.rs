//! Replication with real processes: a real redis-server 7.0 replica following our master,
//! our replica following a real master, ours following ours, and a promoted replica whose
//! former fellow replica continues partially (PSYNC2). After each, every key compares equal
//! (type-aware reads, TTL presence) on both sides.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{start_binary, start_redis, Proc};

fn conn(port: u16) -> redis::Connection {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    let c = client.get_connection().unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    c
}

fn q<T: redis::FromRedisValue>(c: &mut redis::Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c)
        .unwrap_or_else(|e| panic!("{args:?} failed: {e}"))
}

fn info_field(c: &mut redis::Connection, section: &str, field: &str) -> String {
    let text: String = q(c, &["INFO", section]);
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

fn wait_link_up(port: u16) {
    let mut c = conn(port);
    wait_until(&format!("replica {port} link up"), || {
        info_field(&mut c, "replication", "master_link_status") == "up"
    });
}

/// Every key of databases 0..4 as (type, canonical value, has TTL).
fn snapshot(port: u16) -> BTreeMap<(u8, String), (String, String, bool)> {
    let mut c = conn(port);
    let mut out = BTreeMap::new();
    for db in 0..4u8 {
        let _: () = q(&mut c, &["SELECT", &db.to_string()]);
        let keys: Vec<String> = q(&mut c, &["KEYS", "*"]);
        for k in keys {
            let t: String = q(&mut c, &["TYPE", &k]);
            let v = match t.as_str() {
                "string" => q::<String>(&mut c, &["GET", &k]),
                "list" => q::<Vec<String>>(&mut c, &["LRANGE", &k, "0", "-1"]).join(","),
                "hash" => {
                    let mut m: Vec<(String, String)> =
                        q::<BTreeMap<String, String>>(&mut c, &["HGETALL", &k])
                            .into_iter()
                            .collect();
                    m.sort();
                    format!("{m:?}")
                }
                "set" => {
                    let mut m: Vec<String> = q(&mut c, &["SMEMBERS", &k]);
                    m.sort();
                    m.join(",")
                }
                "zset" => {
                    q::<Vec<String>>(&mut c, &["ZRANGE", &k, "0", "-1", "WITHSCORES"]).join(",")
                }
                other => panic!("unexpected type {other}"),
            };
            let ttl: i64 = q(&mut c, &["PTTL", &k]);
            out.insert((db, k), (t, v, ttl > 0));
        }
    }
    out
}

/// A write load touching every type, expiries, transactions and the rewritten commands.
fn write_load(port: u16, round: u32) {
    let mut c = conn(port);
    let r = round.to_string();
    for i in 0..50 {
        let k = format!("k{round}:{i}");
        let _: () = q(&mut c, &["SET", &format!("s:{k}"), &format!("v{i}")]);
        let _: () = q(&mut c, &["SET", &format!("sx:{k}"), "x", "EX", "1000"]);
        let _: () = q(&mut c, &["SETEX", &format!("se:{k}"), "500", "y"]);
        let _: i64 = q(&mut c, &["INCRBY", &format!("n:{r}"), "3"]);
        let _: String = q(&mut c, &["INCRBYFLOAT", &format!("f:{r}"), "1.25"]);
        let _: i64 = q(
            &mut c,
            &[
                "RPUSH",
                &format!("l:{r}"),
                &format!("a{i}"),
                &format!("b{i}"),
            ],
        );
        let _: i64 = q(
            &mut c,
            &["HSET", &format!("h:{r}"), &format!("f{i}"), &i.to_string()],
        );
        let _: String = q(&mut c, &["HINCRBYFLOAT", &format!("h:{r}"), "fl", "0.5"]);
        let _: i64 = q(
            &mut c,
            &[
                "SADD",
                &format!("set:{r}"),
                &format!("m{i}"),
                &format!("o{i}"),
            ],
        );
        let _: i64 = q(
            &mut c,
            &["ZADD", &format!("z:{r}"), &i.to_string(), &format!("z{i}")],
        );
        let _: i64 = q(&mut c, &["PEXPIRE", &format!("s:{k}"), "900000"]);
    }
    let _: Vec<String> = q(&mut c, &["SPOP", &format!("set:{r}"), "7"]);
    let _: Option<String> = q(&mut c, &["SPOP", &format!("set:{r}")]);
    let _: Option<String> = q(&mut c, &["LPOP", &format!("l:{r}")]);
    let _: Option<String> = q(
        &mut c,
        &[
            "LMOVE",
            &format!("l:{r}"),
            &format!("l2:{r}"),
            "LEFT",
            "RIGHT",
        ],
    );
    let _: Vec<String> = q(&mut c, &["BLPOP", &format!("l:{r}"), "1"]);
    let _: Vec<String> = q(&mut c, &["ZPOPMIN", &format!("z:{r}")]);
    let _: Vec<String> = q(&mut c, &["BZPOPMAX", &format!("z:{r}"), "1"]);
    let _: Option<String> = q(&mut c, &["GETEX", &format!("s:k{round}:1"), "EX", "777"]);
    let _: Option<String> = q(&mut c, &["GETEX", &format!("sx:k{round}:2"), "PERSIST"]);
    let _: i64 = q(&mut c, &["EXPIRE", &format!("s:k{round}:3"), "-1"]);
    let _: i64 = q(&mut c, &["DEL", &format!("s:k{round}:4")]);
    let _: () = q(&mut c, &["MULTI"]);
    let _: () = q(&mut c, &["INCR", &format!("tx:{r}")]);
    let _: () = q(&mut c, &["SET", &format!("tx2:{r}"), "t", "PX", "600000"]);
    let _: () = q(&mut c, &["SELECT", "2"]);
    let _: () = q(&mut c, &["SADD", &format!("db2set:{r}"), "p", "q"]);
    let _: Vec<redis::Value> = q(&mut c, &["EXEC"]);
    let _: () = q(&mut c, &["SELECT", "1"]);
    let _: () = q(&mut c, &["SET", &format!("db1:{r}"), "one"]);
    let _: () = q(&mut c, &["HSET", &format!("db1h:{r}"), "a", "b"]);
    let _: () = q(&mut c, &["SELECT", "0"]);
}

fn assert_same(master: u16, replica: u16) {
    let mut c = conn(master);
    let acked: i64 = q(&mut c, &["WAIT", "1", "10000"]);
    assert_eq!(acked, 1, "the replica acknowledged the stream");
    let (a, b) = (snapshot(master), snapshot(replica));
    assert!(a.len() >= 300, "load too small: {}", a.len());
    let diff: Vec<_> = a
        .iter()
        .filter(|(k, v)| b.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone(), b.get(k).cloned()))
        .take(5)
        .collect();
    assert!(diff.is_empty(), "master and replica differ: {diff:?}");
    assert_eq!(a.len(), b.len(), "key counts differ");
}

fn ours(port: u16, extra: &[&str]) -> Proc {
    let mut args = vec!["--repl-diskless-sync-delay", "0"];
    args.extend_from_slice(extra);
    start_binary(port, &args)
}

fn scratch() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("repl-interop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn log_path(name: &str) -> std::path::PathBuf {
    scratch().join(name)
}

/// A real redis-server whose RDB files (a replica's disk-based sync) go to a scratch dir.
fn real(port: u16, extra: &[&str]) -> Proc {
    let dir = scratch().join(format!("real-{port}"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut args = vec!["--dir", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    start_redis(port, &args)
}

#[test]
fn real_replica_follows_our_master_then_continues_partially() {
    let master = ours(25110, &[]);
    write_load(master.port, 0);
    let log = log_path("real-replica.log");
    let replica = real(
        25410,
        &[
            "--replicaof",
            "127.0.0.1",
            "25110",
            "--logfile",
            log.to_str().unwrap(),
        ],
    );
    wait_link_up(replica.port);
    write_load(master.port, 1);
    assert_same(master.port, replica.port);

    // The link drops; the replica continues from the backlog.
    let mut r = conn(replica.port);
    let killed: i64 = q(&mut r, &["CLIENT", "KILL", "TYPE", "master"]);
    assert_eq!(killed, 1);
    write_load(master.port, 2);
    wait_until("partial resync in the replica's log", || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("Successful partial resynchronization with master")
    });
    wait_link_up(replica.port);
    assert_same(master.port, replica.port);
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.matches("Full resync from master").count(), 1, "{text}");
}

#[test]
fn our_replica_follows_a_real_master_then_continues_partially() {
    let master = real(25411, &[]);
    write_load(master.port, 0);
    let replica = ours(25111, &[]);
    let mut r = conn(replica.port);
    let ok: String = q(&mut r, &["REPLICAOF", "127.0.0.1", "25411"]);
    assert_eq!(ok, "OK");
    let again: String = q(&mut r, &["REPLICAOF", "127.0.0.1", "25411"]);
    assert_eq!(again, "OK Already connected to specified master");
    wait_link_up(replica.port);
    write_load(master.port, 1);
    assert_same(master.port, replica.port);
    let refused = redis::cmd("SET")
        .arg("x")
        .arg("y")
        .query::<()>(&mut r)
        .unwrap_err();
    assert_eq!(
        refused.to_string().rsplit(" - ").next().unwrap_or_default(),
        "ReadOnly: You can't write against a read only replica."
    );

    let mut m = conn(master.port);
    let killed: i64 = q(&mut m, &["CLIENT", "KILL", "TYPE", "replica"]);
    assert_eq!(killed, 1);
    write_load(master.port, 2);
    wait_until("a partial resync on the real master", || {
        info_field(&mut m, "stats", "sync_partial_ok") == "1"
    });
    wait_link_up(replica.port);
    assert_same(master.port, replica.port);
    assert_eq!(info_field(&mut m, "stats", "sync_full"), "1");
}

#[test]
fn ours_follows_ours_and_a_promotion_keeps_the_history() {
    let a = ours(25112, &[]);
    write_load(a.port, 0);
    let b = ours(25113, &["--replicaof", "127.0.0.1", "25112"]);
    let log = log_path("c.log");
    let c = real(
        25412,
        &[
            "--replicaof",
            "127.0.0.1",
            "25112",
            "--logfile",
            log.to_str().unwrap(),
        ],
    );
    wait_link_up(b.port);
    wait_link_up(c.port);
    write_load(a.port, 1);
    let mut am = conn(a.port);
    let acked: i64 = q(&mut am, &["WAIT", "2", "10000"]);
    assert_eq!(acked, 2);
    assert_same(a.port, b.port);
    let a_id = info_field(&mut am, "replication", "master_replid");
    let a_off = info_field(&mut am, "replication", "master_repl_offset");
    drop(a);

    // B becomes a master; C, a real replica, continues from B's inherited history.
    let mut bc = conn(b.port);
    let ok: String = q(&mut bc, &["REPLICAOF", "NO", "ONE"]);
    assert_eq!(ok, "OK");
    assert_eq!(info_field(&mut bc, "replication", "role"), "master");
    assert_eq!(info_field(&mut bc, "replication", "master_replid2"), a_id);
    let second: u64 = info_field(&mut bc, "replication", "second_repl_offset")
        .parse()
        .unwrap();
    assert_eq!(second, a_off.parse::<u64>().unwrap() + 1);
    let mut cc = conn(c.port);
    let _: String = q(&mut cc, &["REPLICAOF", "127.0.0.1", "25113"]);
    wait_link_up(c.port);
    write_load(b.port, 2);
    assert_same(b.port, c.port);
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.matches("Full resync from master").count(), 1, "{text}");
    assert!(
        text.contains("Successful partial resynchronization with master"),
        "{text}"
    );
}

/// 200 keys that expire in 100 ms (half of them read after expiry, so lazily reclaimed) and
/// 50 that stay: once the master reclaimed them, the replica (which never expires keys
/// itself) has exactly what the master has, through the master's DELs.
fn expiring_keys_reach(master: u16, replica: u16) {
    let mut m = conn(master);
    for i in 0..200 {
        let _: () = q(&mut m, &["SET", &format!("gone{i}"), "v", "PX", "100"]);
    }
    for i in 0..50 {
        let _: () = q(&mut m, &["SET", &format!("stays{i}"), "v"]);
    }
    std::thread::sleep(Duration::from_millis(150));
    for i in 0..100 {
        let v: Option<String> = q(&mut m, &["GET", &format!("gone{i}")]);
        assert_eq!(v, None);
    }
    wait_until("the master's active expiry", || {
        q::<i64>(&mut m, &["DBSIZE"]) == 50
    });
    let mut r = conn(replica);
    wait_until("the replica's DBSIZE to follow", || {
        q::<i64>(&mut r, &["DBSIZE"]) == 50
    });
    assert_eq!(snapshot(master), snapshot(replica));
}

#[test]
fn expired_keys_leave_real_and_our_replicas_through_the_masters_dels() {
    let master = ours(25114, &[]);
    let replica = real(25414, &["--replicaof", "127.0.0.1", "25114"]);
    wait_link_up(replica.port);
    expiring_keys_reach(master.port, replica.port);

    let master = real(25415, &["--enable-debug-command", "local"]);
    let replica = ours(25115, &["--replicaof", "127.0.0.1", "25415"]);
    wait_link_up(replica.port);
    // A replica keeps an expired key its master has not deleted yet, hidden from reads.
    let mut m = conn(master.port);
    let _: () = q(&mut m, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    let _: () = q(&mut m, &["SET", "held", "v", "PX", "50"]);
    let mut r = conn(replica.port);
    wait_until("the key on the replica", || {
        q::<i64>(&mut r, &["DBSIZE"]) == 1
    });
    std::thread::sleep(Duration::from_millis(100));
    let v: Option<String> = q(&mut r, &["GET", "held"]);
    assert_eq!(v, None);
    assert_eq!(q::<i64>(&mut r, &["DBSIZE"]), 1);
    let _: () = q(&mut m, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
    expiring_keys_reach(master.port, replica.port);
}

/// What a user sees of a master/replica pair's clients and sync counters while the links
/// are killed from either side and a stranger asks to continue an unknown history.
fn client_and_sync_views(master: u16, replica: u16) -> Vec<String> {
    let mut m = conn(master);
    let mut r = conn(replica);
    let mut seen = Vec::new();
    let stats = |c: &mut redis::Connection| -> String {
        ["sync_full", "sync_partial_ok", "sync_partial_err"]
            .map(|f| info_field(c, "stats", f))
            .join(",")
    };
    let of_type = |c: &mut redis::Connection, t: &str| -> String {
        let list: String = q(c, &["CLIENT", "LIST", "TYPE", t]);
        list.lines()
            .map(|l| {
                l.split(' ')
                    .find(|w| w.starts_with("flags="))
                    .unwrap_or("")
                    .to_owned()
            })
            .collect::<Vec<_>>()
            .join("|")
    };
    let observe = |m: &mut redis::Connection, r: &mut redis::Connection, seen: &mut Vec<String>| {
        std::thread::sleep(Duration::from_millis(300));
        seen.push(format!("master stats {}", stats(m)));
        seen.push(format!(
            "master clients {}",
            info_field(m, "clients", "connected_clients")
        ));
        seen.push(format!("master replicas {}", of_type(m, "replica")));
        seen.push(format!("master slaves {}", of_type(m, "slave")));
        seen.push(format!("master normal {}", of_type(m, "normal")));
        seen.push(format!(
            "replica clients {}",
            info_field(r, "clients", "connected_clients")
        ));
        seen.push(format!("replica masters {}", of_type(r, "master")));
        seen.push(format!("replica normal {}", of_type(r, "normal")));
    };
    let _: () = q(&mut m, &["SET", "k", "v"]);
    observe(&mut m, &mut r, &mut seen);

    let killed: i64 = q(&mut m, &["CLIENT", "KILL", "TYPE", "replica"]);
    seen.push(format!("killed replicas {killed}"));
    wait_until("the replica's continuation", || {
        info_field(&mut m, "stats", "sync_partial_ok") == "1"
    });
    wait_link_up(replica);
    observe(&mut m, &mut r, &mut seen);

    let killed: i64 = q(&mut r, &["CLIENT", "KILL", "TYPE", "master"]);
    seen.push(format!("killed masters {killed}"));
    wait_until("the replica's second continuation", || {
        info_field(&mut m, "stats", "sync_partial_ok") == "2"
    });
    wait_link_up(replica);
    observe(&mut m, &mut r, &mut seen);

    let mut stranger = std::net::TcpStream::connect(("127.0.0.1", master)).unwrap();
    use std::io::{BufRead, Write};
    stranger
        .write_all(format!("PSYNC {} 5\r\n", "1".repeat(40)).as_bytes())
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(&stranger)
        .read_line(&mut line)
        .unwrap();
    seen.push(format!("stranger {}", line.split(' ').next().unwrap_or("")));
    seen.push(format!("master stats {}", stats(&mut m)));
    let _: () = q(&mut m, &["CONFIG", "RESETSTAT"]);
    seen.push(format!("after resetstat {}", stats(&mut m)));
    seen
}

#[test]
fn client_types_and_sync_counters_match_redis() {
    let real_master = real(25416, &[]);
    let (real_log, our_log) = (log_path("types-real.log"), log_path("types-ours.log"));
    let real_replica = real(
        25417,
        &[
            "--replicaof",
            "127.0.0.1",
            "25416",
            "--logfile",
            real_log.to_str().unwrap(),
        ],
    );
    wait_link_up(real_replica.port);
    let expected = client_and_sync_views(real_master.port, real_replica.port);
    for line in [
        "master replicas flags=S",
        "replica masters flags=M",
        "master clients 1",
        "replica clients 2",
        "killed replicas 1",
        "killed masters 1",
        "master stats 1,2,0",
        "master stats 2,2,1",
        "after resetstat 0,0,0",
    ] {
        assert!(expected.iter().any(|l| l == line), "{line}: {expected:?}");
    }
    let master = ours(25116, &[]);
    let replica = ours(
        25117,
        &[
            "--replicaof",
            "127.0.0.1",
            "25116",
            "--logfile",
            our_log.to_str().unwrap(),
        ],
    );
    wait_link_up(replica.port);
    assert_eq!(client_and_sync_views(master.port, replica.port), expected);

    // A replica's log lines carry the role letter S (`pid:S date ...`).
    let role_of = |path: &std::path::Path, what: &str| -> String {
        let text = std::fs::read_to_string(path).unwrap();
        let line = text
            .lines()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no '{what}' in {text}"));
        line.split(' ')
            .next()
            .unwrap_or("")
            .split(':')
            .nth(1)
            .unwrap_or("")
            .to_owned()
    };
    for what in [
        "Connecting to MASTER",
        "MASTER <-> REPLICA sync: Finished with success",
    ] {
        assert_eq!(role_of(&our_log, what), "S", "{what}");
        assert_eq!(role_of(&real_log, what), "S", "{what}");
    }
}
