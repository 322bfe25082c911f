//! MONITOR against redis-server 7.0: what a monitor is shown (which commands, when, with
//! which database, quoted how, passwords hidden) and how MONITOR itself answers; and the
//! passwords the slow log hides.
//! Ports: ours 21580, redis 22180.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cluster_common::{call, redis_cli, standalone_pair, Conn};

/// What a monitor is shown, with the times and client ports (which differ from run to run
/// and server to server) masked.
fn masked(line: &str) -> String {
    let Some(rest) = line.strip_prefix('+') else {
        return line.to_owned();
    };
    let (_time, rest) = rest.split_once(" [").unwrap_or(("", rest));
    let (db_addr, args) = rest.split_once("] ").unwrap_or((rest, ""));
    let db = db_addr.split(' ').next().unwrap_or_default();
    format!("+T [{db} ADDR] {args}")
}

/// The exchange on one server: replies to the monitoring client, then the lines it is
/// shown while another client runs `others`.
fn transcript(port: u16, others: &[&[&str]]) -> Vec<String> {
    let mut mon = Conn::new(port);
    let mut got = Vec::new();
    for cmd in [
        &["MULTI"][..],
        &["MONITOR"],
        &["EXEC"],
        &["MONITOR"],
        &["PING"],
    ] {
        got.push(mon.call(cmd));
    }
    // The monitor is shown its own PING, after the reply.
    let mut line = Vec::new();
    mon.read_reply(&mut line);
    got.push(masked(&String::from_utf8_lossy(&line)));
    let mut other = Conn::new(port);
    let mut shown = 0;
    for cmd in others {
        other.call(cmd);
    }
    // A line the monitor is sure to be shown, last.
    other.call(&["ECHO", "end"]);
    loop {
        let mut line = Vec::new();
        mon.read_reply(&mut line);
        let text = masked(&String::from_utf8_lossy(&line));
        let end = text.ends_with("\"ECHO\" \"end\"\r\n");
        got.push(text);
        shown += 1;
        if end || shown > others.len() + 1 {
            break;
        }
    }
    got.push(mon.call(&["RESET"]));
    other.call(&["SET", "after", "reset"]);
    got.push(mon.call(&["PING"]));
    got
}

#[test]
fn a_monitor_sees_what_redis_shows() {
    let Some((ours, real)) = standalone_pair("monitor", 21580, 22180) else {
        return;
    };
    let others: &[&[&str]] = &[
        &["SET", "a", "x\ty \"q\" \\ \u{1}"],
        &["GET", "a"],
        &["AUTH", "pw"],
        &["AUTH", "user", "pw"],
        &["HELLO", "2", "AUTH", "default", "pw"],
        &["AUTH", "a", "b", "c"],
        &["HELLO", "3", "bogus", "AUTH", "u", "p"],
        &["MIGRATE", "h", "1", "", "0", "5", "COPY", "AUTH", "pw"],
        &["MIGRATE", "h", "1", "", "0", "5", "KEYS", "a", "AUTH", "pw"],
        &["GET"],
        &["NOSUCH", "x"],
        &["CONFIG", "GET", "port"],
        &["CLIENT", "LIST"],
        &["MULTI"],
        &["SET", "b", "1"],
        &["INCR", "b"],
        &["EXEC"],
        &["SELECT", "3"],
        &["LPUSH", "a", "x"],
        &["LPUSH", "l", "x"],
        &["BLPOP", "l", "1"],
        &["SETBIT", "bits", "7", "1"],
        &["SELECT", "0"],
    ];
    let want = transcript(real.port, others);
    let got = transcript(ours.port, others);
    assert_eq!(got, want);
    assert!(want.iter().any(|l| l.contains("(redacted)")), "{want:?}");
}

/// The arguments of the slow log's entries, newest first (ids, times, durations and client
/// addresses left out).
fn slow_log_args(port: u16) -> Vec<String> {
    redis_cli(&["-p", &port.to_string(), "SLOWLOG", "GET", "10"])
        .lines()
        .filter(|l| !l.is_empty() && l.parse::<i64>().is_err() && !l.starts_with("127.0.0.1:"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_slow_log_hides_passwords_as_redis_does() {
    let Some((ours, real)) = standalone_pair("slowlog-redact", 21581, 22181) else {
        return;
    };
    let mut logs = Vec::new();
    for port in [real.port, ours.port] {
        call(port, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
        call(port, &["SLOWLOG", "RESET"]);
        for cmd in [
            &["AUTH", "pw"][..],
            &["AUTH", "a", "b", "c"],
            &["HELLO", "2", "AUTH", "default", "pw"],
            &["GET", "pw"],
        ] {
            call(port, cmd);
        }
        logs.push(slow_log_args(port));
    }
    assert_eq!(logs[1], logs[0]);
    assert!(logs[0].iter().any(|a| a == "(redacted)"), "{:?}", logs[0]);
}
