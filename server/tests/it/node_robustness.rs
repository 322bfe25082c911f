//! No input crashes or stalls the node: random commands with random arguments (known
//! names, odd case, binary junk, huge numbers) and random bytes on the wire; after each
//! case the connection must still answer, or have been closed for a protocol error, and a
//! fresh connection must always be served.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::io::{Read, Write};
use std::time::Duration;

use common::{encode, InProcess, Raw};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

const NAMES: &[&str] = &[
    "get",
    "SET",
    "setex",
    "getex",
    "mset",
    "msetnx",
    "incrbyfloat",
    "setrange",
    "getrange",
    "lcs",
    "copy",
    "rename",
    "expire",
    "pexpireat",
    "keys",
    "scan",
    "object",
    "multi",
    "exec",
    "watch",
    "subscribe",
    "psubscribe",
    "unsubscribe",
    "publish",
    "pubsub",
    "client",
    "hello",
    "auth",
    "select",
    "swapdb",
    "command",
    "debug",
    "memory",
    "slowlog",
    "latency",
    "info",
    "config",
    "flushdb",
    "randomkey",
    "ping",
    "echo",
    "reset",
    "append",
    "decrby",
    "type",
    "touch",
];

fn arg() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..12),
        "(-?[0-9]{1,25})|([a-zA-Z*?\\[\\]^{}|-]{0,8})".prop_map(String::into_bytes),
        proptest::sample::select(
            &[
                "NX",
                "XX",
                "EX",
                "PX",
                "GET",
                "IDX",
                "LEN",
                "DB",
                "MATCH",
                "COUNT",
                "TYPE",
                "ENCODING",
                "HELP",
                "LIST",
                "INFO",
                "KILL",
                "REPLY",
                "ID",
                "SKIP",
                "OFF",
                "GETKEYS",
                "DOCS",
                "SLEEP",
                "POPULATE",
                "PROTOCOL",
                "DIGEST-VALUE",
                "CHANNELS",
                "NUMSUB",
                "-1",
                "0",
                "3",
                "9223372036854775807",
                "-9223372036854775808",
            ][..]
        )
        .prop_map(|s| s.as_bytes().to_vec()),
    ]
}

fn command() -> impl Strategy<Value = Vec<Vec<u8>>> {
    (
        proptest::sample::select(NAMES),
        proptest::collection::vec(arg(), 0..6),
    )
        .prop_map(|(n, mut a)| {
            a.insert(0, n.as_bytes().to_vec());
            a
        })
}

/// Commands that are legitimately slow or huge with random numbers (as in Redis): DEBUG
/// SLEEP / POPULATE, and SETRANGE offsets that allocate up to proto-max-bulk-len.
fn too_heavy(cmd: &[Vec<u8>]) -> bool {
    let is = |i: usize, w: &str| {
        cmd.get(i)
            .is_some_and(|a| a.eq_ignore_ascii_case(w.as_bytes()))
    };
    let big_number = cmd.iter().any(|a| {
        std::str::from_utf8(a)
            .ok()
            .and_then(|t| t.parse::<i128>().ok())
            .is_some_and(|n| n > 100_000)
    });
    (is(0, "debug") && (is(1, "sleep") || is(1, "populate"))) || (is(0, "setrange") && big_number)
}

#[test]
fn random_commands_never_break_the_node() {
    let s = InProcess::start(21440, "enable-debug-command yes");
    let config = Config {
        cases: 400,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let result = runner.run(&proptest::collection::vec(command(), 1..12), |cmds| {
        let mut c = Raw::connect(s.port);
        let mut bytes = Vec::new();
        for cmd in &cmds {
            if too_heavy(cmd) {
                continue;
            }
            let a: Vec<&[u8]> = cmd.iter().map(Vec::as_slice).collect();
            bytes.extend_from_slice(&encode(&a));
        }
        bytes.extend_from_slice(&encode(&[b"RESET"]));
        bytes.extend_from_slice(&encode(&[b"PING"]));
        c.send_raw(&bytes);
        c.stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut all = Vec::new();
        let mut chunk = [0u8; 65536];
        // Read until the final PONG (or a close, e.g. QUIT-like kills of ourselves).
        loop {
            match c.stream.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    all.extend_from_slice(&chunk[..n]);
                    if all.ends_with(b"+RESET\r\n+PONG\r\n") {
                        break;
                    }
                }
                Err(e) => return Err(TestCaseError::fail(format!("no answer: {e}"))),
            }
        }
        let mut fresh = Raw::connect(s.port);
        prop_assert_eq!(fresh.cmd(&["PING"]), "+PONG\r\n");
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn random_bytes_on_the_wire_never_break_the_node() {
    let s = InProcess::start(21441, "");
    let config = Config {
        cases: 300,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let junk = proptest::collection::vec(
        prop_oneof![
            any::<u8>(),
            proptest::sample::select(&b"*$\r\n0123456789-+:\" "[..]),
        ],
        0..200,
    );
    let result = runner.run(&junk, |bytes| {
        let mut c = std::net::TcpStream::connect(("127.0.0.1", s.port)).unwrap();
        c.write_all(&bytes).unwrap();
        let _ = c.shutdown(std::net::Shutdown::Write);
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut sink = Vec::new();
        let _ = c.read_to_end(&mut sink);
        let mut fresh = Raw::connect(s.port);
        prop_assert_eq!(fresh.cmd(&["PING"]), "+PONG\r\n");
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
