//! INFO commandstats and latencystats of blocking commands, compared with redis-server
//! 7.0.15: the call is counted when it blocks, its latency sample when another client
//! answers it (served, or CLIENT UNBLOCK ... ERROR, which also makes it a failed call), none
//! when it times out. Skipped (with a note) when redis-server is not installed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cluster_common;

use std::time::Duration;

use cluster_common::*;

/// The counters a user compares (times differ between servers): commandstats calls and
/// failed calls of BLPOP, and how many latency samples its histogram holds (from
/// LATENCY HISTOGRAM).
fn blpop_stats(port: u16) -> String {
    let info = call(port, &["INFO", "commandstats"]);
    let line = info
        .lines()
        .find(|l| l.starts_with("cmdstat_blpop:"))
        .unwrap_or("");
    let field = |name: &str| {
        line.split([':', ','])
            .find_map(|f| f.strip_prefix(name))
            .unwrap_or("-")
            .to_owned()
    };
    let hist =
        String::from_utf8_lossy(&try_call(port, &["LATENCY", "HISTOGRAM", "blpop"]).unwrap())
            .into_owned();
    // "*2\r\n$5\r\nblpop\r\n*4\r\n$5\r\ncalls\r\n:N\r\n..." : the histogram's call count.
    let samples = hist
        .split("$5\r\ncalls\r\n:")
        .nth(1)
        .and_then(|r| r.split("\r\n").next())
        .unwrap_or("none")
        .to_owned();
    format!(
        "calls={} failed={} samples={samples}",
        field("calls="),
        field("failed_calls=")
    )
}

fn client_id(port: u16, name: &str) -> String {
    let list = call(port, &["CLIENT", "LIST"]);
    let line = list
        .lines()
        .find(|l| l.contains(&format!(" name={name} ")))
        .unwrap();
    line.strip_prefix("id=")
        .and_then(|r| r.split(' ').next())
        .unwrap()
        .to_owned()
}

/// Runs the scenario on one server and returns what INFO showed after each step.
fn scenario(port: u16) -> Vec<String> {
    let mut seen = Vec::new();
    call(port, &["CONFIG", "RESETSTAT"]);
    let mut waiter = Conn::new(port);
    waiter.call(&["CLIENT", "SETNAME", "w"]);
    // Blocked, then served.
    let served = std::thread::spawn(move || {
        let r = waiter.call(&["BLPOP", "q", "0"]);
        (waiter, r)
    });
    wait_until("BLPOP blocked", Duration::from_secs(5), || {
        call(port, &["INFO", "clients"]).contains("blocked_clients:1\r\n")
    });
    seen.push(format!("blocked: {}", blpop_stats(port)));
    call(port, &["RPUSH", "q", "a"]);
    let (mut waiter, r) = served.join().unwrap();
    assert_eq!(r, "*2\r\n$1\r\nq\r\n$1\r\na\r\n");
    seen.push(format!("served: {}", blpop_stats(port)));
    // Timed out.
    assert_eq!(waiter.call(&["BLPOP", "q", "0.05"]), "*-1\r\n");
    seen.push(format!("timed out: {}", blpop_stats(port)));
    // Unblocked with an error.
    let id = client_id(port, "w");
    let errored = std::thread::spawn(move || waiter.call(&["BLPOP", "q", "0"]));
    wait_until("BLPOP blocked", Duration::from_secs(5), || {
        call(port, &["INFO", "clients"]).contains("blocked_clients:1\r\n")
    });
    assert_eq!(call(port, &["CLIENT", "UNBLOCK", &id, "ERROR"]), ":1\r\n");
    assert_eq!(
        errored.join().unwrap(),
        "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    );
    seen.push(format!("unblocked with error: {}", blpop_stats(port)));
    seen
}

#[test]
fn blocked_calls_are_counted_as_redis_counts_them() {
    if !have_redis() {
        eprintln!("redis-server not installed: skipped");
        return;
    }
    let ours = spawn_with(OURS, "blocked-stats", 21520, 5000, false, &[]);
    let real = spawn_with("redis-server", "blocked-stats", 22120, 5000, false, &[]);
    let want = scenario(real.port);
    assert_eq!(
        want,
        [
            "blocked: calls=1 failed=0 samples=none",
            "served: calls=1 failed=0 samples=1",
            "timed out: calls=2 failed=0 samples=1",
            "unblocked with error: calls=3 failed=1 samples=2",
        ]
    );
    assert_eq!(scenario(ours.port), want);
}
