//! Quick end-to-end checks of the node's network layer and a few commands.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

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
