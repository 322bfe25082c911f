//! INFO commandstats and latencystats of blocking commands, compared with redis-server
//! 7.0.15: the call is counted when it blocks, its latency sample when another client
//! answers it (served, or CLIENT UNBLOCK ... ERROR, which also makes it a failed call), none
//! when it times out. Skipped (with a note) when redis-server is not installed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cluster_common;

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
    let Some((ours, real)) = standalone_pair("blocked-stats", 21520, 22120) else {
        return;
    };
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

/// BLMOVE whose destination turned into another type while it waited: the waiter is
/// answered WRONGTYPE and released, the element stays, the error is the BLMOVE's (not the
/// RPUSH's) — as in 7.0.15.
fn wrong_destination(port: u16) -> Vec<String> {
    call(port, &["CONFIG", "RESETSTAT"]);
    call(port, &["DEL", "q", "d"]);
    let mut waiter = Conn::new(port);
    let blocked =
        std::thread::spawn(move || waiter.call(&["BLMOVE", "q", "d", "LEFT", "RIGHT", "0"]));
    wait_until("BLMOVE blocked", Duration::from_secs(5), || {
        call(port, &["INFO", "clients"]).contains("blocked_clients:1\r\n")
    });
    let mut seen = vec![
        call(port, &["SET", "d", "text"]),
        call(port, &["RPUSH", "q", "a"]),
        blocked.join().unwrap(),
        call(port, &["INFO", "clients"])
            .lines()
            .find(|l| l.starts_with("blocked_clients:"))
            .unwrap_or("")
            .to_owned(),
        call(port, &["LRANGE", "q", "0", "-1"]),
    ];
    let info = call(port, &["INFO", "all"]);
    for prefix in ["cmdstat_blmove:", "cmdstat_rpush:", "errorstat_WRONGTYPE:"] {
        let line = info.lines().find(|l| l.starts_with(prefix)).unwrap_or("");
        // Keep the counts, not the times.
        let counts: Vec<&str> = line
            .split([':', ','])
            .filter(|f| {
                f.starts_with("calls=") || f.starts_with("failed_calls=") || f.starts_with("count=")
            })
            .collect();
        seen.push(format!("{prefix} {}", counts.join(",")));
    }
    seen
}

#[test]
fn blmove_to_a_destination_of_another_type_is_answered_wrongtype_as_redis() {
    let Some((ours, real)) = standalone_pair("blmove-wrongtype", 21521, 22121) else {
        return;
    };
    let want = wrong_destination(real.port);
    assert_eq!(
        want[2],
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(wrong_destination(ours.port), want);
}

/// The slow log (`slowlog-log-slower-than 0`) as a user reads it: each entry's arguments,
/// newest first, less the test's own INFO, SLOWLOG and CONFIG calls (ids, times and
/// durations differ between servers).
fn slowlog_args(port: u16) -> Vec<String> {
    let reply = call(port, &["SLOWLOG", "GET", "100"]);
    // Entries are `*6 :id :time :micros *argc $..args.. $peer $name`: keep the args.
    let lines: Vec<&str> = reply.split("\r\n").collect();
    let mut out = Vec::new();
    // (Line 0 is the count of entries.)
    let mut i = 1;
    while let Some(l) = lines.get(i) {
        if *l == "*6" {
            let argc: usize = lines[i + 4].trim_start_matches('*').parse().unwrap();
            let args: Vec<&str> = (0..argc).map(|k| lines[i + 6 + 2 * k]).collect();
            let name = args.first().map_or(String::new(), |a| a.to_lowercase());
            if !["info", "slowlog", "config", "client"].contains(&name.as_str()) {
                out.push(args.join(" "));
            }
            i += 5 + 2 * argc;
        } else {
            i += 1;
        }
    }
    out
}

/// The duration SLOWLOG GET shows for the newest BLPOP entry.
fn blpop_micros(port: u16) -> u64 {
    let reply = call(port, &["SLOWLOG", "GET", "100"]);
    let lines: Vec<&str> = reply.split("\r\n").collect();
    let at = lines.iter().position(|l| *l == "BLPOP").unwrap();
    // `:micros`, `*argc`, `$len`, `BLPOP`.
    lines[at - 3].trim_start_matches(':').parse().unwrap()
}

/// What the slow log shows while a BLPOP waits, once it is served (300 ms later), and
/// after a BLPOP that timed out; and the served BLPOP's duration.
fn blocked_slowlog(port: u16) -> (Vec<Vec<String>>, u64) {
    call(port, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
    call(port, &["SLOWLOG", "RESET"]);
    let mut seen = Vec::new();
    let mut waiter = Conn::new(port);
    let served = std::thread::spawn(move || {
        let r = waiter.call(&["BLPOP", "sq", "0"]);
        (waiter, r)
    });
    wait_until("BLPOP blocked", Duration::from_secs(5), || {
        call(port, &["INFO", "clients"]).contains("blocked_clients:1\r\n")
    });
    seen.push(slowlog_args(port));
    // The wait a served call's duration must not include.
    std::thread::sleep(Duration::from_millis(300));
    call(port, &["RPUSH", "sq", "a"]);
    let (mut waiter, r) = served.join().unwrap();
    assert_eq!(r, "*2\r\n$2\r\nsq\r\n$1\r\na\r\n");
    seen.push(slowlog_args(port));
    let micros = blpop_micros(port);
    call(port, &["SLOWLOG", "RESET"]);
    assert_eq!(waiter.call(&["BLPOP", "sq", "0.05"]), "*-1\r\n");
    seen.push(slowlog_args(port));
    // Answered by CLIENT UNBLOCK ... ERROR: an entry without arguments.
    call(port, &["SLOWLOG", "RESET"]);
    waiter.call(&["CLIENT", "SETNAME", "sw"]);
    let id = client_id(port, "sw");
    let errored = std::thread::spawn(move || waiter.call(&["BLPOP", "sq", "0"]));
    wait_until("BLPOP blocked", Duration::from_secs(5), || {
        call(port, &["INFO", "clients"]).contains("blocked_clients:1\r\n")
    });
    assert_eq!(call(port, &["CLIENT", "UNBLOCK", &id, "ERROR"]), ":1\r\n");
    errored.join().unwrap();
    wait_until("the unblocked call logged", Duration::from_secs(5), || {
        slowlog_args(port).len() == 1
    });
    seen.push(slowlog_args(port));
    call(port, &["CONFIG", "SET", "slowlog-log-slower-than", "10000"]);
    (seen, micros)
}

/// A blocking command goes to the slow log when it is served (after the command that
/// served it), with its call time rather than the time it waited; one that times out is
/// not logged at all, one CLIENT UNBLOCK ... ERROR answers without its arguments — as in
/// 7.0.15.
#[test]
fn blocked_calls_reach_the_slowlog_when_served_as_redis() {
    let Some((ours, real)) = standalone_pair("blocked-slowlog", 21522, 22122) else {
        return;
    };
    let (want, real_micros) = blocked_slowlog(real.port);
    let served = vec!["BLPOP sq 0".to_owned(), "RPUSH sq a".to_owned()];
    assert_eq!(
        want,
        [vec![], served, vec![], vec![String::new()]],
        "redis-server"
    );
    let (got, micros) = blocked_slowlog(ours.port);
    assert_eq!(got, want);
    assert!(
        real_micros < 300_000 && micros < 300_000,
        "{real_micros} {micros}"
    );
}
