//! Quick end-to-end checks of the node's network layer and a few commands.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use common::{InProcess, Raw};

#[test]
fn ping_set_get_pipeline() {
    let s = InProcess::start(21400, "");
    let mut c = Raw::connect(s.port);
    assert_eq!(c.cmd(&["PING"]), "+PONG\r\n");
    assert_eq!(c.cmd(&["SET", "foo", "bar"]), "+OK\r\n");
    assert_eq!(c.cmd(&["GET", "foo"]), "$3\r\nbar\r\n");
    // Pipelined: every command in one write, replies in order.
    let mut batch = Vec::new();
    for i in 0..100 {
        batch.extend_from_slice(&common::encode(&[b"INCR", b"n"]));
        let _ = i;
    }
    c.send_raw(&batch);
    for i in 1..=100 {
        assert_eq!(c.reply(), format!(":{i}\r\n").into_bytes());
    }
}

#[test]
fn move_wakes_a_client_blocked_on_the_target_db() {
    let s = InProcess::start(21453, "");
    let mut waiter = Raw::connect(s.port);
    assert_eq!(waiter.cmd(&["SELECT", "1"]), "+OK\r\n");
    waiter.send(&[b"BLPOP", b"jobs", b"5"]);
    let mut c = Raw::connect(s.port);
    // Let the BLPOP block before the list arrives.
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(c.cmd(&["RPUSH", "jobs", "j1"]), ":1\r\n");
    assert_eq!(c.cmd(&["MOVE", "jobs", "1"]), ":1\r\n");
    assert_eq!(waiter.reply(), b"*2\r\n$4\r\njobs\r\n$2\r\nj1\r\n".to_vec());
    assert_eq!(c.cmd(&["EXISTS", "jobs"]), ":0\r\n");
}

#[test]
fn move_is_refused_in_cluster_mode() {
    let dir = std::env::temp_dir().join(format!("fd-move-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = format!(
        "cluster-enabled yes\ncluster-config-file {}/nodes.conf",
        dir.display()
    );
    let s = InProcess::start(21454, &conf);
    let mut c = Raw::connect(s.port);
    assert_eq!(
        c.cmd(&["MOVE", "k", "1"]),
        "-ERR MOVE is not allowed in cluster mode\r\n"
    );
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Parses a SCAN reply: the next cursor and the keys.
fn scan_page(c: &mut Raw, cursor: &str, count: &str) -> (String, Vec<String>) {
    let text = c.cmd(&["SCAN", cursor, "COUNT", count]);
    let lines: Vec<&str> = text.split("\r\n").collect();
    let next = lines[2].to_string();
    let keys = lines[4..]
        .chunks(2)
        .filter_map(|kv| kv.get(1).map(|k| k.to_string()))
        .filter(|k| !k.is_empty())
        .collect();
    (next, keys)
}

#[test]
fn scan_pages_through_one_huge_slot_across_table_growth() {
    let s = InProcess::start(21455, "");
    let mut c = Raw::connect(s.port);
    let load = |c: &mut Raw, from: usize, to: usize| {
        let mut batch = Vec::new();
        for i in from..to {
            let k = format!("{{tag}}:{i}");
            batch.extend_from_slice(&common::encode(&[b"SET", k.as_bytes(), b"v"]));
        }
        c.send_raw(&batch);
        for _ in from..to {
            assert_eq!(c.reply(), b"+OK\r\n".to_vec());
        }
    };
    // Every key hashes to the slot of "tag".
    load(&mut c, 0, 10_000);
    let mut seen = std::collections::HashSet::new();
    let mut cursor = "0".to_string();
    let mut pages = 0;
    let mut grown = false;
    loop {
        let (next, keys) = scan_page(&mut c, &cursor, "100");
        assert!(keys.len() <= 200, "a page of {} keys", keys.len());
        seen.extend(keys);
        pages += 1;
        if !grown && pages == 20 {
            // Force the slot's table to grow (rehash) in the middle of the scan.
            load(&mut c, 10_000, 40_000);
            grown = true;
        }
        cursor = next;
        if cursor == "0" {
            break;
        }
        assert!(pages < 10_000, "the scan does not end");
    }
    assert!(pages >= 100, "only {pages} pages for 10,000+ keys");
    for i in 0..10_000 {
        assert!(
            seen.contains(&format!("{{tag}}:{i}")),
            "key {i} never returned"
        );
    }
}

#[test]
fn scan_with_a_selective_match_bounds_the_work_of_each_call() {
    let s = InProcess::start(21460, "enable-debug-command yes");
    let mut c = Raw::connect(s.port);
    assert_eq!(c.cmd(&["DEBUG", "POPULATE", "5000"]), "+OK\r\n");
    assert_eq!(c.cmd(&["SET", "needle", "x"]), "+OK\r\n");
    let (mut cursor, mut calls, mut found) = ("0".to_string(), 0, Vec::new());
    loop {
        let text = c.cmd(&["SCAN", &cursor, "MATCH", "needle", "COUNT", "10"]);
        let lines: Vec<&str> = text.split("\r\n").collect();
        cursor = lines[2].to_string();
        found.extend(
            lines[4..]
                .chunks(2)
                .filter_map(|kv| kv.get(1))
                .map(|k| k.to_string()),
        );
        calls += 1;
        if cursor == "0" {
            break;
        }
    }
    found.retain(|k| !k.is_empty());
    assert_eq!(found, ["needle"]);
    // At most ~100 keys looked at per call: 5001 keys take dozens of calls, not one.
    assert!(calls >= 40, "{calls} calls");
}

/// Redis aborts on a POPULATE value size it cannot allocate; here a size past
/// proto-max-bulk-len is refused and the keys already stored stay.
#[test]
fn debug_populate_refuses_a_value_size_past_proto_max_bulk_len() {
    let s = InProcess::start(21461, "enable-debug-command yes");
    let mut c = Raw::connect(s.port);
    assert_eq!(c.cmd(&["SET", "kept", "v"]), "+OK\r\n");
    assert_eq!(
        c.cmd(&["DEBUG", "POPULATE", "1", "big", "1000000000000"]),
        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
    );
    assert_eq!(c.cmd(&["DBSIZE"]), ":1\r\n");
    assert_eq!(c.cmd(&["DEBUG", "POPULATE", "2", "small", "8"]), "+OK\r\n");
    assert_eq!(c.cmd(&["STRLEN", "small:1"]), ":8\r\n");
}
