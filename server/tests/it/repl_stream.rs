//! The master side byte by byte, with a raw client acting as a replica: the handshake
//! replies, the diskless RDB framing, the command stream (SELECT, 7.0's rewrites, MULTI/EXEC
//! wrapping, served blocked clients), WAIT with REPLCONF ACK, PSYNC continuation, INFO and
//! ROLE, and the replies to bad arguments (compared with redis-server 7.0.15).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::BytesMut;
use common::{start_redis, InProcess, Raw};
use resp_proto::{decode_frame, Frame, Limits};

/// A raw connection playing replica.
struct FakeReplica {
    s: TcpStream,
    buf: BytesMut,
}

impl FakeReplica {
    fn connect(port: u16) -> FakeReplica {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        FakeReplica {
            s,
            buf: BytesMut::new(),
        }
    }

    fn send(&mut self, line: &str) {
        self.s.write_all(format!("{line}\r\n").as_bytes()).unwrap();
    }

    fn fill(&mut self) {
        let mut chunk = [0u8; 65536];
        let n = self.s.read(&mut chunk).unwrap();
        assert!(n > 0, "master closed the link");
        self.buf.extend_from_slice(&chunk[..n]);
    }

    fn line(&mut self) -> String {
        loop {
            if let Some(p) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let l = String::from_utf8_lossy(&self.buf[..p]).into_owned();
                let _ = self.buf.split_to(p + 2);
                return l;
            }
            self.fill();
        }
    }

    /// Reads `$EOF:<mark>` + RDB + mark; returns the RDB.
    fn rdb(&mut self) -> Vec<u8> {
        let head = self.line();
        let mark = head
            .strip_prefix("$EOF:")
            .expect("diskless framing")
            .to_owned();
        assert_eq!(mark.len(), 40);
        loop {
            if let Some(p) = self.buf.windows(40).position(|w| w == mark.as_bytes()) {
                let rdb = self.buf.split_to(p).to_vec();
                let _ = self.buf.split_to(40);
                return rdb;
            }
            self.fill();
        }
    }

    /// The next stream command as text arguments.
    fn command(&mut self) -> Vec<String> {
        loop {
            let mut probe = self.buf.clone();
            let before = probe.len();
            if let Some(f) = decode_frame(&mut probe, &Limits::default()).unwrap() {
                let _ = self.buf.split_to(before - probe.len());
                let Frame::Array(items) = f else {
                    panic!("not a command: {f:?}")
                };
                return items
                    .into_iter()
                    .map(|i| match i {
                        Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
                        other => panic!("not a bulk: {other:?}"),
                    })
                    .collect();
            }
            self.fill();
        }
    }

    /// The next command that is not a PING or a GETACK.
    fn data_command(&mut self) -> Vec<String> {
        loop {
            let c = self.command();
            if c[0] != "PING" && !(c[0] == "REPLCONF" && c[1] == "GETACK") {
                return c;
            }
        }
    }
}

fn cmd(c: &mut Raw, line: &str) -> String {
    let args: Vec<&str> = line.split(' ').collect();
    c.cmd(&args)
}

fn words(s: &str) -> Vec<String> {
    s.split(' ').map(str::to_owned).collect()
}

fn near(ms: &str, expected: u64) {
    let v: u64 = ms.parse().unwrap();
    assert!(v.abs_diff(expected) < 5_000, "{v} vs {expected}");
}

#[test]
fn the_stream_is_what_redis_sends() {
    let node = InProcess::start(25140, "repl-diskless-sync-delay 0");
    let mut r = FakeReplica::connect(node.port);
    r.send("REPLCONF listening-port 7777");
    assert_eq!(r.line(), "+OK");
    r.send("REPLCONF capa eof capa psync2");
    assert_eq!(r.line(), "+OK");
    let mut c = Raw::connect(node.port);
    cmd(&mut c, "SET before 1");
    r.send("PSYNC ? -1");
    let full = r.line();
    let parts: Vec<&str> = full.split(' ').collect();
    assert_eq!(parts[0], "+FULLRESYNC");
    assert_eq!(parts[1].len(), 40);
    let replid = parts[1].to_owned();
    assert_eq!(parts[2], "0");
    let rdb = r.rdb();
    assert!(rdb.starts_with(b"REDIS0010"));
    assert!(
        rdb.windows(6).any(|w| w == b"before"),
        "the snapshot holds the data"
    );
    // After an EOF-marked RDB the stream starts once the replica acknowledges (7.0).
    r.send("REPLCONF ACK 0");

    let now = server::keyspace::now_ms();
    for line in [
        "SET a 1",
        "EXPIRE a 100",
        "SET b 2 EX 100",
        "SETEX e 100 v",
        "INCRBYFLOAT f 1.5",
        "HINCRBYFLOAT h fl 2.5",
        "SADD s x",
        "SPOP s",
        "DEL nothing",
        "SET a 1 NX",
        "GETEX b PERSIST",
        "EXPIRE e -1",
    ] {
        cmd(&mut c, line);
    }
    assert_eq!(r.data_command(), words("SELECT 0"));
    assert_eq!(r.data_command(), words("SET a 1"));
    let pexpireat = r.data_command();
    assert_eq!(pexpireat[..2], words("PEXPIREAT a"));
    near(&pexpireat[2], now + 100_000);
    let set_b = r.data_command();
    assert_eq!(set_b[..4], words("SET b 2 PXAT"));
    near(&set_b[4], now + 100_000);
    let set_e = r.data_command();
    assert_eq!(set_e[..4], words("SET e v PXAT"));
    assert_eq!(r.data_command(), words("SET f 1.5 KEEPTTL"));
    assert_eq!(r.data_command(), words("HSET h fl 2.5"));
    assert_eq!(r.data_command(), words("SADD s x"));
    assert_eq!(r.data_command(), words("SREM s x"));
    assert_eq!(r.data_command(), words("PERSIST b"));
    assert_eq!(r.data_command(), words("DEL e"));

    // Transactions are wrapped; a SELECT inside one is kept in order.
    for line in ["MULTI", "INCR n", "SELECT 2", "INCR n", "EXEC", "SET in2 x"] {
        cmd(&mut c, line);
    }
    assert_eq!(r.data_command(), words("MULTI"));
    assert_eq!(r.data_command(), words("INCR n"));
    assert_eq!(r.data_command(), words("SELECT 2"));
    assert_eq!(r.data_command(), words("INCR n"));
    assert_eq!(r.data_command(), words("EXEC"));
    assert_eq!(r.data_command(), words("SET in2 x"));
    cmd(&mut c, "SELECT 0");

    // A client blocked in BLPOP, served by a push: the push, then the pop.
    let mut blocked = Raw::connect(node.port);
    blocked.send(&[b"BLPOP", b"q", b"5"]);
    std::thread::sleep(Duration::from_millis(200));
    cmd(&mut c, "RPUSH q v1 v2");
    assert_eq!(
        String::from_utf8(blocked.reply()).unwrap(),
        "*2\r\n$1\r\nq\r\n$2\r\nv1\r\n"
    );
    assert_eq!(r.data_command(), words("SELECT 0"));
    assert_eq!(r.data_command(), words("RPUSH q v1 v2"));
    assert_eq!(r.data_command(), words("LPOP q"));

    // WAIT counts acknowledgements.
    assert_eq!(cmd(&mut c, "WAIT 1 100"), ":0\r\n");
    let info = cmd(&mut c, "INFO replication");
    let offset: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("master_repl_offset:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        info.contains("slave0:ip=127.0.0.1,port=7777,state=online,offset=0,lag="),
        "{info}"
    );
    assert!(info.contains(&format!("master_replid:{replid}")), "{info}");
    r.send(&format!("REPLCONF ACK {offset}"));
    assert_eq!(cmd(&mut c, "WAIT 1 1000"), ":1\r\n");
    let role = cmd(&mut c, "ROLE");
    let entry = format!(
        "*1\r\n*3\r\n$9\r\n127.0.0.1\r\n$4\r\n7777\r\n${}\r\n{offset}\r\n",
        offset.to_string().len()
    );
    assert!(role.starts_with("*3\r\n$6\r\nmaster\r\n:"), "{role:?}");
    assert!(role.ends_with(&entry), "{role:?}");

    // The link drops; PSYNC with our id and the next offset continues.
    drop(r);
    cmd(&mut c, "SET later 1");
    let mut r = FakeReplica::connect(node.port);
    r.send("REPLCONF listening-port 7777");
    assert_eq!(r.line(), "+OK");
    r.send(&format!("PSYNC {replid} {}", offset + 1));
    assert_eq!(r.line(), format!("+CONTINUE {replid}"));
    assert_eq!(r.data_command(), words("SET later 1"));
    // An unknown history needs a full resync.
    let mut other = FakeReplica::connect(node.port);
    other.send(&format!("PSYNC {} 1", "1".repeat(40)));
    assert!(other.line().starts_with("+FULLRESYNC "));
}

#[test]
fn argument_errors_match_redis() {
    let real = start_redis(25440, &[]);
    let ours = InProcess::start(25141, "");
    let script: &[&[&str]] = &[
        &["REPLCONF", "foo", "bar"],
        &["REPLCONF", "a"],
        &["REPLCONF", "listening-port", "abc"],
        &["REPLCONF", "listening-port", "70000"],
        &["REPLCONF"],
        &["WAIT", "x", "0"],
        &["WAIT", "0", "-1"],
        &["WAIT", "0", "x"],
        &["WAIT", "0", "0"],
        &["WAIT", "1", "10"],
        &["REPLICAOF", "host", "notaport"],
        &["REPLICAOF", "host", "99999"],
        &["SLAVEOF"],
        &["ROLE"],
        &["REPLICAOF", "NO", "ONE"],
    ];
    let mut a = Raw::connect(real.port);
    let mut b = Raw::connect(ours.port);
    for args in script {
        assert_eq!(a.cmd(args), b.cmd(args), "{args:?}");
    }
    // INFO replication of a fresh master: the same fields in the same order.
    let fields = |s: String| -> Vec<String> {
        s.lines()
            .filter_map(|l| l.split_once(':').map(|(k, _)| k.to_owned()))
            .collect()
    };
    assert_eq!(
        fields(a.cmd(&["INFO", "replication"])),
        fields(b.cmd(&["INFO", "replication"]))
    );
}

/// Runs `script` (lines, `sleep N` pauses N ms) on a master with a raw replica attached
/// and returns the data commands the replica received up to `SET end 1`, with absolute
/// expiry times replaced by `<t>`.
fn stream_of(port: u16, script: &[&str]) -> Vec<Vec<String>> {
    let mut r = FakeReplica::connect(port);
    r.send("REPLCONF capa eof capa psync2");
    assert_eq!(r.line(), "+OK");
    r.send("PSYNC ? -1");
    assert!(r.line().starts_with("+FULLRESYNC "));
    r.rdb();
    // redis-server ignores an acknowledgement that arrives before it noticed the end of its
    // RDB transfer (its replicas acknowledge every second): acknowledge twice.
    r.send("REPLCONF ACK 0");
    std::thread::sleep(Duration::from_millis(300));
    r.send("REPLCONF ACK 0");
    let mut c = Raw::connect(port);
    for line in script {
        match line.strip_prefix("sleep ") {
            Some(ms) => std::thread::sleep(Duration::from_millis(ms.parse().unwrap())),
            None => {
                cmd(&mut c, line);
            }
        }
    }
    cmd(&mut c, "SET end 1");
    let mut out = Vec::new();
    loop {
        let mut c = r.data_command();
        if c.len() == 5 && c[3] == "PXAT" {
            c[4] = "<t>".to_owned();
        }
        if c.len() == 3 && c[0] == "PEXPIREAT" {
            c[2] = "<t>".to_owned();
        }
        let end = c == words("SET end 1");
        out.push(c);
        if end {
            return out;
        }
    }
}

#[test]
fn expired_keys_reach_replicas_as_del() {
    let real = start_redis(
        25442,
        &[
            "--enable-debug-command",
            "local",
            "--repl-diskless-sync-delay",
            "0",
        ],
    );
    let ours = InProcess::start(
        25142,
        "repl-diskless-sync-delay 0\nenable-debug-command local",
    );
    let script = [
        "DEBUG SET-ACTIVE-EXPIRE 0",
        // Lazy expiry on a read, then a write of the same key: DEL first.
        "SET k v PX 50",
        "sleep 150",
        "GET k",
        "SET k new",
        // A write finding the key expired.
        "SET w v PX 50",
        "sleep 150",
        "APPEND w more",
        // Overwrites of expired keys, and a deletion of one.
        "SET x v PX 50",
        "MSET y v z v",
        "PEXPIRE y 50",
        "PEXPIRE z 50",
        "sleep 150",
        "SET x new",
        "MSET y new z new",
        "PEXPIRE y 50",
        "sleep 150",
        "DEL y",
        // The active cycle.
        "DEBUG SET-ACTIVE-EXPIRE 1",
        "SET a v PX 50",
        "sleep 1000",
    ];
    let expected = stream_of(real.port, &script);
    assert_eq!(stream_of(ours.port, &script), expected);
    assert!(expected.contains(&words("DEL k")), "{expected:?}");
    assert!(expected.contains(&words("DEL a")), "{expected:?}");
    let (mut a, mut b) = (Raw::connect(real.port), Raw::connect(ours.port));
    assert_eq!(cmd(&mut b, "DBSIZE"), ":5\r\n");
    assert_eq!(cmd(&mut a, "DBSIZE"), cmd(&mut b, "DBSIZE"));
}
