//! `client-output-buffer-limit` for normal clients, compared with redis-server 7.0.15: a
//! pipeline whose replies reach the hard limit closes the client before all are sent (a
//! short one before any is sent; a long one, which ours runs a share at a time, even when
//! the client reads its replies as they come); replies over the soft limit are sent when
//! they do not stay there; a client that does not read while its replies stay over the
//! soft limit longer than its seconds is closed.
//! Skipped (with a note) when redis-server is not installed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cluster_common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use cluster_common::*;

/// Sends `n` pipelined GETs of a value of `len` bytes under `limit`, reads nothing for
/// `wait`, then reads what comes: whether the server closed the connection, and whether
/// every reply (`$<len>\r\n` + value + `\r\n`) came.
fn slow_reader(port: u16, limit: &str, n: usize, len: usize, wait: Duration) -> (bool, bool) {
    set_limit(port, limit);
    let value = "x".repeat(len);
    assert_eq!(call(port, &["SET", "big", &value]), "+OK\r\n");
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(&resp(&["GET", "big"]).repeat(n)).unwrap();
    std::thread::sleep(wait);
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let (closed, got) = read_to_end(&mut s);
    set_limit(port, "normal 0 0 0");
    (closed, got == n * (len + len.to_string().len() + 5))
}

fn set_limit(port: u16, limit: &str) {
    assert_eq!(
        call(
            port,
            &["CONFIG", "SET", "client-output-buffer-limit", limit]
        ),
        "+OK\r\n"
    );
}

/// Reads until the server closes the connection or is quiet for the read timeout: whether
/// it closed, and how many bytes came.
fn read_to_end(s: &mut TcpStream) -> (bool, usize) {
    let mut got = 0usize;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (true, got),
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (true, got),
            Err(_) => return (false, got),
        }
    }
}

fn resp(args: &[&str]) -> Vec<u8> {
    let mut req = Vec::new();
    resp_proto::encode_command(&mut req, args);
    req
}

#[test]
fn slow_readers_are_closed_as_redis_closes_them() {
    let Some((ours, real)) = standalone_pair("obuf", 21540, 22140) else {
        return;
    };
    let short = Duration::from_millis(500);
    let big = 100_000;
    let cases = [
        ("normal 1mb 0 0", 200, big, short, (true, false)),
        // 69 kB of requests: a pipeline our node runs in shares.
        ("normal 1mb 0 0", 3000, 1000, short, (true, false)),
        ("normal 0 0 0", 3000, 1000, short, (false, true)),
        ("normal 0 500kb 1", 3, big, short, (false, true)),
        ("normal 0 500kb 0", 8, big, short, (false, true)),
        (
            "normal 0 500kb 1",
            60,
            big,
            Duration::from_secs(3),
            (true, false),
        ),
        ("normal 0 0 0", 60, big, short, (false, true)),
    ];
    for (limit, n, len, wait, want) in cases {
        assert_eq!(
            slow_reader(real.port, limit, n, len, wait),
            want,
            "redis-server, {limit} x{n}"
        );
        assert_eq!(
            slow_reader(ours.port, limit, n, len, wait),
            want,
            "ours, {limit} x{n}"
        );
    }
    let log = std::fs::read_to_string(ours.dir.join("node.log")).unwrap();
    assert!(log.contains("scheduled to be closed ASAP for overcoming of output buffer limits."));
}

/// A client that reads at once sends a pipeline of 3,000 GETs of a 500-byte value (60 kB
/// of requests, 1.5 MB of replies) under `normal 1mb 0 0`: whether the server closed it,
/// and whether every reply came. First, pipelines of PINGs fill the server's reads, so
/// that ours reads the GETs in large reads and runs them in shares of 16 KiB, each share's
/// replies well under the limit.
fn prompt_reader(port: u16) -> (bool, bool) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut read_exactly = |s: &mut TcpStream, mut want: usize| {
        while want > 0 {
            let k = s.read(&mut buf).unwrap();
            assert!((1..=want).contains(&k), "{k} bytes, {want} awaited");
            want -= k;
        }
    };
    s.write_all(&resp(&["SET", "k", &"x".repeat(500)])).unwrap();
    read_exactly(&mut s, 5);
    for _ in 0..4 {
        s.write_all(&resp(&["PING"]).repeat(20_000)).unwrap();
        read_exactly(&mut s, 7 * 20_000);
    }
    set_limit(port, "normal 1mb 0 0");
    let n = 3000;
    s.write_all(&resp(&["GET", "k"]).repeat(n)).unwrap();
    let (closed, got) = read_to_end(&mut s);
    set_limit(port, "normal 0 0 0");
    (closed, got == n * 508)
}

/// The replies of a long pipeline count together against the hard limit, even when the
/// client reads them as they come: redis-server writes a client at most 64 KiB per event
/// loop round while it runs 16 KiB of its requests, so they pile up.
#[test]
fn a_prompt_reader_of_a_long_pipeline_is_closed_as_redis_closes_it() {
    let Some((ours, real)) = standalone_pair("obuf", 21541, 22141) else {
        return;
    };
    assert_eq!(prompt_reader(real.port), (true, false), "redis-server");
    assert_eq!(prompt_reader(ours.port), (true, false), "ours");
}
