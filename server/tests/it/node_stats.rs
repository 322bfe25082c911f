//! INFO commandstats / latencystats / errorstats, CONFIG RESETSTAT and the LATENCY
//! command, against a real redis-server 7.0 where the figures do not depend on timing.
//! Our node runs as its own process: the per-command counters are process-wide.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use common::{start_binary, start_redis, Raw};

/// The same commands to both servers; the replies themselves are checked elsewhere.
const WORKLOAD: &[&[&str]] = &[
    &["SET", "a", "v"],
    &["GET", "a"],
    &["GET", "nokey"],
    &["INCR", "a"],
    &["MOVE", "a", "x"],
    &["MOVE", "a", "1"],
    &["MOVE", "a", "1"],
    &["GET"],
    &["CONFIG", "GET"],
    &["CONFIG", "NOSUCH"],
    &["NOSUCHCOMMAND"],
    &["OBJECT", "FREQ", "a"],
    &["MULTI"],
    &["SET", "b", "1"],
    &["INCR", "b"],
    &["LPUSH", "b", "x"],
    &["EXEC"],
    &["DEBUG", "SLEEP", "0"],
    &["LATENCY", "LATEST"],
];

/// `name:calls=..,usec=..,usec_per_call=..,rejected_calls=..,failed_calls=..` without the
/// timings.
fn counts_only(info: &str) -> Vec<String> {
    info.lines()
        .filter(|l| l.starts_with("cmdstat_"))
        .map(|l| {
            let (name, fields) = l.split_once(':').unwrap();
            let kept: Vec<&str> = fields
                .split(',')
                .filter(|f| !f.starts_with("usec"))
                .collect();
            format!("{name}:{}", kept.join(","))
        })
        .collect()
}

fn section(c: &mut Raw, name: &str) -> String {
    let raw = c.call(&[b"INFO", name.as_bytes()]);
    let text = String::from_utf8_lossy(&raw).into_owned();
    // Bulk reply: drop the length line.
    text.split_once("\r\n").map(|x| x.1.to_string()).unwrap()
}

fn run_workload(port: u16) -> Raw {
    let mut c = Raw::connect(port);
    for cmd in WORKLOAD {
        let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
        c.call(&args);
    }
    c
}

#[test]
fn command_and_error_stats_count_like_redis() {
    let ours = start_binary(21450, &["--enable-debug-command", "yes"]);
    let real = start_redis(22050, &["--enable-debug-command", "yes"]);
    let mut o = run_workload(ours.port);
    let mut r = run_workload(real.port);

    let (oc, rc) = (
        section(&mut o, "commandstats"),
        section(&mut r, "commandstats"),
    );
    let mut ours_counts = counts_only(&oc);
    let mut real_counts = counts_only(&rc);
    // Redis lists commands in its hash table's order.
    ours_counts.sort();
    real_counts.sort();
    assert_eq!(ours_counts, real_counts, "ours:\n{oc}\nreal:\n{rc}");
    for line in oc.lines().filter(|l| l.starts_with("cmdstat_")) {
        let fields: Vec<&str> = line.split_once(':').unwrap().1.split(',').collect();
        assert!(fields[0].starts_with("calls=") && fields[1].starts_with("usec="));
        let per_call = fields[2].strip_prefix("usec_per_call=").unwrap();
        assert_eq!(per_call.split_once('.').unwrap().1.len(), 2, "{line}");
    }

    assert_eq!(section(&mut o, "errorstats"), section(&mut r, "errorstats"));

    // Latency percentiles: same commands, Redis's format.
    let names = |text: &str| {
        let mut v: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("latency_percentiles_usec_"))
            .map(|l| l.split_once(':').unwrap().0.to_string())
            .collect();
        v.sort();
        v
    };
    let (ol, rl) = (
        section(&mut o, "latencystats"),
        section(&mut r, "latencystats"),
    );
    assert_eq!(names(&ol), names(&rl), "ours:\n{ol}\nreal:\n{rl}");
    for line in ol.lines().skip(1).filter(|l| !l.is_empty()) {
        let fields = line.split_once(':').unwrap().1;
        let labels: Vec<&str> = fields
            .split(',')
            .map(|f| f.split_once('=').unwrap().0)
            .collect();
        assert_eq!(labels, ["p50", "p99", "p99.9"], "{line}");
        for f in fields.split(',') {
            let v = f.split_once('=').unwrap().1;
            assert_eq!(v.split_once('.').unwrap().1.len(), 3, "{line}");
        }
    }

    // RESETSTAT empties all three (and then counts itself).
    for c in [&mut o, &mut r] {
        assert_eq!(c.cmd(&["CONFIG", "RESETSTAT"]), "+OK\r\n");
    }
    let (oc, rc) = (
        section(&mut o, "commandstats"),
        section(&mut r, "commandstats"),
    );
    assert_eq!(counts_only(&oc), counts_only(&rc));
    assert_eq!(
        counts_only(&oc),
        ["cmdstat_config|resetstat:calls=1,rejected_calls=0,failed_calls=0"]
    );
    assert_eq!(section(&mut o, "errorstats"), section(&mut r, "errorstats"));
    let (ol, rl) = (
        section(&mut o, "latencystats"),
        section(&mut r, "latencystats"),
    );
    assert_eq!(names(&ol), names(&rl), "ours:\n{ol}\nreal:\n{rl}");
}

#[test]
fn latency_monitor_records_slow_commands() {
    let ours = start_binary(21451, &["--enable-debug-command", "yes"]);
    let real = start_redis(22051, &["--enable-debug-command", "yes"]);
    for port in [ours.port, real.port] {
        let mut c = Raw::connect(port);
        // Off by default: nothing recorded, and the doctor says how to turn it on.
        c.cmd(&["DEBUG", "SLEEP", "0.02"]);
        assert_eq!(c.cmd(&["LATENCY", "LATEST"]), "*0\r\n");
        assert!(c
            .cmd(&["LATENCY", "DOCTOR"])
            .contains("I'm sorry, Dave, I can't do that. Latency monitoring is disabled"));
        c.cmd(&["CONFIG", "SET", "latency-monitor-threshold", "5"]);
        c.cmd(&["DEBUG", "SLEEP", "0.03"]);
        c.cmd(&["GET", "fast"]);
        let latest = c.cmd(&["LATENCY", "LATEST"]);
        assert!(
            latest.starts_with("*1\r\n*4\r\n$7\r\ncommand\r\n:"),
            "{latest}"
        );
        let fields: Vec<&str> = latest.split("\r\n").collect();
        let (last, max): (u64, u64) = (
            fields[5][1..].parse().unwrap(),
            fields[6][1..].parse().unwrap(),
        );
        assert!((30..200).contains(&last) && max == last, "{latest}");
        let history = c.cmd(&["LATENCY", "HISTORY", "command"]);
        assert!(history.starts_with("*1\r\n*2\r\n:"), "{history}");
        assert_eq!(c.cmd(&["LATENCY", "HISTORY", "nothing"]), "*0\r\n");
        let graph = c.cmd(&["LATENCY", "GRAPH", "command"]);
        assert!(
            graph.contains(&format!(
                "command - high {last} ms, low {last} ms (all time high {last} ms)\n{}\n",
                "-".repeat(80)
            )),
            "{graph}"
        );
        assert_eq!(
            c.cmd(&["LATENCY", "GRAPH", "nothing"]),
            "-ERR No samples available for event 'nothing'\r\n"
        );
        let doctor = c.cmd(&["LATENCY", "DOCTOR"]);
        assert!(doctor.contains(&format!("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n1. command: 1 latency spikes (average {last}ms, mean deviation 0ms, period ")), "{doctor}");
        assert!(doctor.contains("- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than 5000'.\n"), "{doctor}");
        let histogram = c.cmd(&["LATENCY", "HISTOGRAM", "debug", "nosuch"]);
        assert!(
            histogram.starts_with(
                "*2\r\n$5\r\ndebug\r\n*4\r\n$5\r\ncalls\r\n:2\r\n$14\r\nhistogram_usec\r\n"
            ),
            "{histogram}"
        );
        assert_eq!(c.cmd(&["LATENCY", "RESET", "nothing"]), ":0\r\n");
        assert_eq!(c.cmd(&["LATENCY", "RESET"]), ":1\r\n");
        assert_eq!(c.cmd(&["LATENCY", "LATEST"]), "*0\r\n");
    }
}

#[test]
fn latency_histogram_buckets_match_redis() {
    let ours = start_binary(21452, &["--enable-debug-command", "yes"]);
    let real = start_redis(22052, &["--enable-debug-command", "yes"]);
    let mut replies = Vec::new();
    for port in [ours.port, real.port] {
        let mut c = Raw::connect(port);
        // Sleeps land in known power-of-two buckets whatever the machine's speed: each is
        // at least 60 ms below its bucket's upper bound, so a loaded machine's overshoot
        // does not move it.
        for s in ["0.07", "0.071", "0.14"] {
            c.cmd(&["DEBUG", "SLEEP", s]);
        }
        replies.push(c.cmd(&["LATENCY", "HISTOGRAM", "DEBUG"]));
        c.cmd(&["HELLO", "3"]);
        replies.push(c.cmd(&["LATENCY", "HISTOGRAM", "debug"]));
    }
    assert_eq!(replies[0], replies[2]);
    assert_eq!(replies[1], replies[3]);
    assert!(replies[1].starts_with("%1\r\n"), "{}", replies[1]);
}
