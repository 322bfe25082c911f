//! What the per-command durations (slow log, LATENCY, commandstats) count, compared with
//! redis-server 7.0.15: a command that waited behind another client's transaction is not
//! slow, only the command that took the time is.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::time::Duration;

use common::{start_binary, start_redis, Raw};

/// The first argument of every slow log entry, oldest first.
fn slow_commands(port: u16) -> Vec<String> {
    let mut c = Raw::connect(port);
    let reply = String::from_utf8_lossy(&c.call(&[b"SLOWLOG", b"GET", b"-1"])).into_owned();
    // Each entry: *6 id time duration *argc $len arg0 ...; take the argument after each
    // argument-array header.
    let lines: Vec<&str> = reply.split("\r\n").collect();
    let mut names = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if l.starts_with(":") && lines.get(i + 1).is_some_and(|n| n.starts_with('*')) {
            if let Some(name) = lines.get(i + 3) {
                names.push(name.to_ascii_lowercase());
            }
        }
    }
    names.reverse();
    names
}

/// A transaction sleeps 300 ms while another client's GET waits for it; the slow log
/// (threshold 100 ms) holds what the server reports as slow.
fn scenario(port: u16) -> Vec<String> {
    let mut admin = Raw::connect(port);
    admin.cmd(&["CONFIG", "SET", "slowlog-log-slower-than", "100000"]);
    admin.cmd(&["SLOWLOG", "RESET"]);
    let mut tx = Raw::connect(port);
    tx.send_raw(&common::encode(&[b"MULTI"]));
    tx.send_raw(&common::encode(&[b"DEBUG", b"SLEEP", b"0.3"]));
    tx.send_raw(&common::encode(&[b"EXEC"]));
    std::thread::sleep(Duration::from_millis(50));
    let mut waiter = Raw::connect(port);
    assert_eq!(waiter.cmd(&["GET", "k"]), "$-1\r\n");
    for _ in 0..3 {
        tx.reply();
    }
    slow_commands(port)
}

#[test]
fn waiting_behind_a_transaction_is_not_slow() {
    let ours = start_binary(21760, &["--enable-debug-command", "yes"]);
    let got = scenario(ours.port);
    assert!(!got.contains(&"get".to_owned()), "{got:?}");
    assert!(got.contains(&"debug".to_owned()), "{got:?}");
    if std::process::Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("redis-server not installed: comparison skipped");
        return;
    }
    let real = start_redis(22260, &["--enable-debug-command", "yes"]);
    assert_eq!(got, scenario(real.port));
}
