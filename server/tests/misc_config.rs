//! Configuration behaviour seen from the running binary: which directives the log notes as
//! accepted but not acted on, and multi-argument directives given as one argument on the
//! command line (`--save "1 3"`, as redis-server 7.0.15 takes it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cluster_common;

use cluster_common::*;

const NOTE: &str = "is accepted but not implemented by this server";

fn noted(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains(NOTE))
        .filter_map(|l| l.split('\'').nth(1).map(str::to_owned))
        .collect()
}

#[test]
fn persistence_directives_are_not_noted_as_unimplemented() {
    let node = spawn_with(
        OURS,
        "notes",
        21510,
        5000,
        false,
        &[
            "--save",
            "1 3",
            "--rdbcompression",
            "no",
            "--rdbchecksum",
            "no",
            "--dbfilename",
            "other.rdb",
            "--repl-backlog-size",
            "2mb",
            "--slowlog-max-len",
            "5",
            "--tcp-keepalive",
            "60",
            "--maxmemory",
            "1gb",
        ],
    );
    assert_eq!(
        call(node.port, &["CONFIG", "GET", "save"]),
        "*2\r\n$4\r\nsave\r\n$3\r\n1 3\r\n"
    );
    let log = std::fs::read_to_string(node.dir.join("node.log")).unwrap();
    // tcp-keepalive is not applied to client sockets yet; maxmemory does not evict.
    assert_eq!(noted(&log), ["tcp-keepalive", "maxmemory"], "{log}");
}
