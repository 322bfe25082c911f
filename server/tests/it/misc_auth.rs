//! AUTH and HELLO on a node with `requirepass`, compared with redis-server 7.0.15 byte for
//! byte (client ids blanked): wrong and right passwords, users, HELLO's AUTH and SETNAME
//! (a bad name is refused before authentication), RESET. Skipped (with a note) when
//! redis-server is not installed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cluster_common;

use cluster_common::*;

/// A reply with the integers after `:` (client ids) blanked.
fn blank_ids(reply: &[u8]) -> String {
    let text = String::from_utf8_lossy(reply);
    let mut out = String::new();
    for (i, line) in text.split("\r\n").enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        match line.strip_prefix(':') {
            Some(n) if n.parse::<i64>().is_ok() => out.push_str(":N"),
            _ => out.push_str(line),
        }
    }
    out
}

#[test]
fn auth_and_hello_answer_as_redis() {
    if !have_redis() {
        eprintln!("redis-server not installed: skipped");
        return;
    }
    let nodes = [
        spawn_with(OURS, "auth", 21550, 5000, false, &[]),
        spawn_with("redis-server", "auth", 22150, 5000, false, &[]),
    ];
    // Set once both answer PING (the harness's readiness check).
    for n in &nodes {
        assert_eq!(
            call(n.port, &["CONFIG", "SET", "requirepass", "pw"]),
            "+OK\r\n"
        );
    }
    let scripts: &[&[&[&str]]] = &[
        &[
            &["GET", "k"],
            &["AUTH", "bad"],
            &["AUTH", "default", "bad"],
            &["AUTH", "pw"],
            &["GET", "k"],
        ],
        &[
            &["AUTH", "nouser", "pw"],
            &["AUTH", "default", "pw"],
            &["PING"],
        ],
        &[
            &["HELLO", "3"],
            &["HELLO", "3", "AUTH", "default", "bad"],
            &["HELLO", "3", "AUTH", "default", "pw", "SETNAME", "n1"],
            &["CLIENT", "GETNAME"],
        ],
        &[
            &["HELLO", "2", "AUTH", "default"],
            &["HELLO", "4"],
            &["HELLO", "x"],
            &["HELLO", "3", "SETNAME", "a b"],
            &["HELLO", "3", "AUTH", "default", "bad", "SETNAME", "a b"],
            &["HELLO", "3", "FOO"],
        ],
        &[&["AUTH"], &["AUTH", "a", "b", "c"], &["PING"]],
        &[
            &["HELLO"],
            &["AUTH", "pw"],
            &["HELLO"],
            &["RESET"],
            &["GET", "k"],
        ],
        &[
            &[
                "HELLO", "2", "AUTH", "default", "pw", "SETNAME", "x", "SETNAME", "y",
            ],
            &["CLIENT", "GETNAME"],
            &["HELLO", "3", "SETNAME"],
        ],
    ];
    for script in scripts {
        let mut conns = [Conn::new(nodes[0].port), Conn::new(nodes[1].port)];
        for cmd in *script {
            let ours = conns[0].try_call(cmd).unwrap();
            let real = conns[1].try_call(cmd).unwrap();
            assert_eq!(blank_ids(&ours), blank_ids(&real), "reply to {cmd:?}");
        }
    }
}
