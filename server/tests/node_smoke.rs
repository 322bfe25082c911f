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
