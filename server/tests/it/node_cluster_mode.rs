//! Database commands on a node with `cluster-enabled yes` (client-behaviour.md §2.7, §8):
//! only database 0, Redis's refusals, and what tools read from INFO and HELLO.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use common::{InProcess, Raw};

#[test]
fn only_database_zero_exists_in_cluster_mode() {
    let s = InProcess::start(21445, "cluster-enabled yes");
    let mut c = Raw::connect(s.port);
    assert_eq!(c.cmd(&["SELECT", "0"]), "+OK\r\n");
    assert_eq!(
        c.cmd(&["SELECT", "1"]),
        "-ERR SELECT is not allowed in cluster mode\r\n"
    );
    assert_eq!(
        c.cmd(&["SELECT", "abc"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        c.cmd(&["SWAPDB", "0", "1"]),
        "-ERR SWAPDB is not allowed in cluster mode\r\n"
    );
    c.cmd(&["SET", "{user1}a", "v"]);
    assert_eq!(
        c.cmd(&["COPY", "{user1}a", "{user1}x", "DB", "1"]),
        "-ERR Copying to another database is not allowed in cluster mode\r\n"
    );
    assert_eq!(
        c.cmd(&["COPY", "{user1}a", "{user1}x", "DB", "0"]),
        ":1\r\n"
    );
    assert_eq!(c.cmd(&["DBSIZE"]), ":2\r\n");
}

#[test]
fn tools_see_a_cluster_node() {
    let s = InProcess::start(21446, "cluster-enabled yes");
    let mut c = Raw::connect(s.port);
    assert_eq!(
        c.cmd(&["INFO", "cluster"]),
        "$30\r\n# Cluster\r\ncluster_enabled:1\r\n\r\n"
    );
    let hello = c.cmd(&["HELLO", "3"]);
    assert!(hello.contains("$4\r\nmode\r\n$7\r\ncluster\r\n"), "{hello}");
    c.cmd(&["SET", "k", "v"]);
    let info = c.cmd(&["INFO"]);
    assert!(
        info.starts_with('='),
        "RESP3 INFO is a verbatim string: {info}"
    );
    assert!(
        info.contains("txt:# Server\r\nredis_version:7.0.15\r\n"),
        "{info}"
    );
    assert!(
        info.contains("\r\n# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n"),
        "{info}"
    );
    assert_eq!(
        c.cmd(&["CLIENT", "SETINFO", "LIB-NAME", "x"]),
        "-ERR unknown subcommand 'SETINFO'. Try CLIENT HELP.\r\n"
    );
}
