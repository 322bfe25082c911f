//! `client-output-buffer-limit` for normal clients, compared with redis-server 7.0.15: a
//! pipeline whose replies reach the hard limit closes the client before all are sent (a
//! short one before any is sent, a long one too as it runs a share at a time);
//! replies over the soft limit are sent when they do not stay there; a client that does not
//! read while its replies stay over the soft limit longer than its seconds is closed.
//! Skipped (with a note) when redis-server is not installed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cluster_common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use cluster_common::*;

/// Sends `n` pipelined GETs of a value of `len` bytes under `limit`, reads nothing for
/// `wait`, then reads what comes: whether the server closed the connection, and whether
/// every reply (`$<len>\r\n` + value + `\r\n`) came.
fn slow_reader(port: u16, limit: &str, n: usize, len: usize, wait: Duration) -> (bool, bool) {
    assert_eq!(
        call(
            port,
            &["CONFIG", "SET", "client-output-buffer-limit", limit]
        ),
        "+OK\r\n"
    );
    let value = "x".repeat(len);
    assert_eq!(call(port, &["SET", "big", &value]), "+OK\r\n");
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(&b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n".repeat(n))
        .unwrap();
    std::thread::sleep(wait);
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut got = 0usize;
    let mut buf = vec![0u8; 1 << 20];
    let closed = loop {
        match s.read(&mut buf) {
            Ok(0) => break true,
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Err(_) => break false,
        }
    };
    call(
        port,
        &[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "normal 0 0 0",
        ],
    );
    (closed, got == n * (len + len.to_string().len() + 5))
}

#[test]
fn slow_readers_are_closed_as_redis_closes_them() {
    if !have_redis() {
        eprintln!("redis-server not installed: skipped");
        return;
    }
    let ours = spawn_with(OURS, "obuf", 21540, 5000, false, &[]);
    let real = spawn_with("redis-server", "obuf", 22140, 5000, false, &[]);
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
