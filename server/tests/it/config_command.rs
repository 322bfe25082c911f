//! CONFIG GET/SET/RESETSTAT/HELP replies, byte for byte against what redis-server 7.0.15
//! answered (the captured `config-cluster-directives` vector and texts checked on the real
//! server).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use resp_proto::{Protocol, ReplyWriter};
use server::config::ConfigStore;

fn run(store: &ConfigStore, args: &[&[u8]], proto: Protocol) -> Vec<u8> {
    let args: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
    let mut buf = BytesMut::new();
    let mut w = ReplyWriter::new(&mut buf, proto);
    store.command(&args, &mut w);
    buf.to_vec()
}

fn cmd(store: &ConfigStore, line: &str) -> String {
    let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
    String::from_utf8(run(store, &args, Protocol::Resp2)).unwrap()
}

/// Parses a RESP2 array of bulk strings into name -> value.
fn pairs(reply: &[u8]) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut items = Vec::new();
    let mut rest = reply;
    let take_line = |r: &mut &[u8]| {
        let at = r.windows(2).position(|w| w == b"\r\n").unwrap();
        let line = r[..at].to_vec();
        *r = &r[at + 2..];
        line
    };
    let head = take_line(&mut rest);
    assert!(head[0] == b'*' || head[0] == b'%', "not an array: {head:?}");
    while !rest.is_empty() {
        let len_line = take_line(&mut rest);
        assert_eq!(len_line[0], b'$');
        let n: usize = std::str::from_utf8(&len_line[1..])
            .unwrap()
            .parse()
            .unwrap();
        items.push(rest[..n].to_vec());
        rest = &rest[n + 2..];
    }
    assert_eq!(items.len() % 2, 0);
    items
        .chunks(2)
        .map(|c| (c[0].clone(), c[1].clone()))
        .collect()
}

fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            i += 1;
            match b[i] {
                b'r' => out.push(b'\r'),
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'0' => out.push(0),
                b'x' => {
                    out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                    i += 2;
                }
                other => out.push(other),
            }
        } else {
            out.push(b[i]);
        }
        i += 1;
    }
    out
}

/// (target port, request arguments, expected reply bytes) of every exchange in the vector.
fn vector_exchanges() -> Vec<(u16, Vec<Vec<u8>>, Vec<u8>)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config/config-cluster-directives.resp");
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    for section in text.split("\n## to ").skip(1) {
        let port: u16 = section[section.find(':').unwrap() + 1..][..4]
            .parse()
            .unwrap();
        let (mut sent, mut got) = (Vec::new(), Vec::new());
        for line in section.lines() {
            if let Some(l) = line.strip_prefix("> ") {
                sent.extend(unescape(l));
            } else if let Some(l) = line.strip_prefix("< ") {
                got.extend(unescape(l));
            }
        }
        // The request is a RESP array of bulk strings.
        let mut parts = Vec::new();
        let mut rest = &sent[sent.iter().position(|&c| c == b'\n').unwrap() + 1..];
        while !rest.is_empty() {
            let at = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let n: usize = std::str::from_utf8(&rest[1..at]).unwrap().parse().unwrap();
            rest = &rest[at + 2..];
            parts.push(rest[..n].to_vec());
            rest = &rest[n + 2..];
        }
        out.push((port, parts, got));
    }
    out
}

#[test]
fn captured_cluster_directive_exchanges_match() {
    let cluster =
        ConfigStore::from_conf_text("cluster-enabled yes\ncluster-node-timeout 5000\n").unwrap();
    let fresh =
        ConfigStore::from_conf_text("cluster-enabled yes\ncluster-node-timeout 5000\n").unwrap();
    let plain =
        ConfigStore::from_conf_text("cluster-enabled no\ncluster-node-timeout 5000\n").unwrap();
    let exchanges = vector_exchanges();
    assert!(exchanges.len() >= 13);
    for (port, args, want) in exchanges {
        let store = match port {
            7208 => &fresh,
            7209 => &plain,
            _ => &cluster,
        };
        assert!(args[0].eq_ignore_ascii_case(b"config"));
        let refs: Vec<&[u8]> = args[1..].iter().map(Vec::as_slice).collect();
        let got = run(store, &refs, Protocol::Resp2);
        let is_glob = args.get(2).is_some_and(|a| a.contains(&b'*'));
        if is_glob {
            // Redis answers in hash-table order; the pairs are what must be equal.
            assert_eq!(
                pairs(&got),
                pairs(&want),
                "{:?}",
                String::from_utf8_lossy(&args[2])
            );
            assert_eq!(got.len(), want.len());
        } else {
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&want),
                "request {:?}",
                args.iter()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect::<Vec<_>>()
            );
        }
    }
}

#[test]
fn get_answers_under_the_name_asked_and_dedupes() {
    let s = ConfigStore::default();
    assert_eq!(cmd(&s, "GET PORT"), "*2\r\n$4\r\nPORT\r\n$4\r\n6379\r\n");
    assert_eq!(
        cmd(&s, "GET port port"),
        "*2\r\n$4\r\nport\r\n$4\r\n6379\r\n"
    );
    assert_eq!(
        cmd(&s, "GET slave-read-only replica-read-only"),
        "*4\r\n$15\r\nslave-read-only\r\n$3\r\nyes\r\n$17\r\nreplica-read-only\r\n$3\r\nyes\r\n"
    );
    assert_eq!(cmd(&s, "GET nosuch"), "*0\r\n");
    assert_eq!(
        cmd(&s, "GET port PORT"),
        "*2\r\n$4\r\nport\r\n$4\r\n6379\r\n"
    );
    let mixed = pairs(cmd(&s, "GET PORT *por*").as_bytes());
    assert_eq!(mixed.len(), 8);
    assert!(mixed.contains_key(b"PORT".as_slice()) && !mixed.contains_key(b"port".as_slice()));
    let all = pairs(cmd(&s, "GET *").as_bytes());
    assert_eq!(
        all.len(),
        192,
        "every 7.0.15 name, aliases included, hidden ones excluded"
    );
    assert_eq!(all[&b"save".to_vec()], b"3600 1 300 100 60 10000");
    assert_eq!(
        all[&b"client-output-buffer-limit".to_vec()],
        b"normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
    );
    assert_eq!(all[&b"bind".to_vec()], b"* -::*");
    assert!(!all.contains_key(b"use-exit-on-panic".as_slice()));
    assert_eq!(
        cmd(&s, "GET use-exit-on-panic"),
        "*2\r\n$17\r\nuse-exit-on-panic\r\n$2\r\nno\r\n"
    );
    // RESP3 answers a map.
    assert!(run(&s, &[b"GET", b"port"], Protocol::Resp3).starts_with(b"%1\r\n"));
}

#[test]
fn defaults_equal_real_config_get_star() {
    // `CONFIG GET *` of redis-server 7.0.15 started with only --port and --dir.
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config/config-get-all-defaults.txt");
    let real: BTreeMap<String, String> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let (k, v) = l.split_once('\t').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect();
    let s = ConfigStore::from_conf_text("port 21399\n").unwrap();
    let ours: BTreeMap<String, String> = pairs(cmd(&s, "GET *").as_bytes())
        .into_iter()
        .map(|(k, v)| (String::from_utf8(k).unwrap(), String::from_utf8(v).unwrap()))
        .collect();
    let mut diffs = Vec::new();
    for (k, v) in &real {
        if k == "dir" {
            continue;
        }
        match ours.get(k) {
            Some(o) if o == v => {}
            other => diffs.push(format!("{k}: real {v:?}, ours {other:?}")),
        }
    }
    for k in ours.keys() {
        if !real.contains_key(k) {
            diffs.push(format!("{k}: not in real"));
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

#[test]
fn set_errors_are_redis_texts() {
    let s = ConfigStore::default();
    let cases = [
        ("SET port abc", "-ERR CONFIG SET failed (possibly related to argument 'port') - argument couldn't be parsed into an integer\r\n"),
        ("SET PORT abc", "-ERR CONFIG SET failed (possibly related to argument 'port') - argument couldn't be parsed into an integer\r\n"),
        ("SET daemonize yes", "-ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config\r\n"),
        ("SET nosuch 1", "-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n"),
        ("SET port 7000 port 7001", "-ERR CONFIG SET failed (possibly related to argument 'port') - duplicate parameter\r\n"),
        ("SET maxmemory 1zb", "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value\r\n"),
        ("SET maxmemory", "-ERR wrong number of arguments for 'config|set' command\r\n"),
        ("SET maxmemory 1 hz", "-ERR syntax error\r\n"),
        ("GET", "-ERR wrong number of arguments for 'config|get' command\r\n"),
        ("foo", "-ERR unknown subcommand 'foo'. Try CONFIG HELP.\r\n"),
        ("RESETSTAT extra", "-ERR wrong number of arguments for 'config|resetstat' command\r\n"),
        ("REWRITE extra", "-ERR wrong number of arguments for 'config|rewrite' command\r\n"),
        ("HELP extra", "-ERR wrong number of arguments for 'config|help' command\r\n"),
        ("SET slave-read-only foo", "-ERR CONFIG SET failed (possibly related to argument 'slave-read-only') - argument must be 'yes' or 'no'\r\n"),
        ("SET save abc", "-ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters\r\n"),
        ("SET loglevel bad", "-ERR CONFIG SET failed (possibly related to argument 'loglevel') - argument(s) must be one of the following: debug, verbose, notice, warning\r\n"),
        ("REWRITE", "-ERR The server is running without a config file\r\n"),
        ("SET dir /tmp", "-ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config\r\n"),
        ("SET dbfilename x.rdb", "-ERR CONFIG SET failed (possibly related to argument 'dbfilename') - can't set protected config\r\n"),
        ("SET nosuch 1 daemonize yes", "-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n"),
        ("SET daemonize yes nosuch 1", "-ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config\r\n"),
        ("SET maxmemory abc daemonize yes", "-ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config\r\n"),
        ("SET maxmemory abc port abc", "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value\r\n"),
        ("SET timeout +1", "-ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer\r\n"),
        ("SET timeout 01", "-ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer\r\n"),
        ("SET socket-mark-id 1", "-ERR CONFIG SET failed (possibly related to argument 'socket-mark-id') - can't set immutable config\r\n"),
        ("SET activedefrag yes", "-ERR CONFIG SET failed (possibly related to argument 'activedefrag') - Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution\r\n"),
        ("SET maxmemory-clients 101%", "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - percentage argument must be less or equal to 100\r\n"),
        ("SET maxmemory-clients -5", "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - argument must be a memory or percent value\r\n"),
        ("SET hz -1", "-ERR CONFIG SET failed (possibly related to argument 'hz') - argument must be between 0 and 2147483647 inclusive\r\n"),
        ("SET maxclients -1", "-ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive\r\n"),
        ("SET slowlog-max-len -1", "-ERR CONFIG SET failed (possibly related to argument 'slowlog-max-len') - argument must be between 0 and 9223372036854775807 inclusive\r\n"),
        ("SET list-max-ziplist-entries 5", "-ERR Unknown option or number of arguments for CONFIG SET - 'list-max-ziplist-entries'\r\n"),
        ("SET io-threads 2", "-ERR CONFIG SET failed (possibly related to argument 'io-threads') - can't set immutable config\r\n"),
    ];
    for (line, want) in cases {
        assert_eq!(cmd(&s, line), want, "{line}");
    }
    assert_eq!(
        run(&s, &[], Protocol::Resp2),
        b"-ERR wrong number of arguments for 'config' command\r\n"
    );
    assert_eq!(String::from_utf8(run(&s, &[b"SET", b"save", b"10  1"], Protocol::Resp2)).unwrap(), "-ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters\r\n");
    // Nothing of the failed commands stuck.
    assert_eq!(
        cmd(&s, "GET maxmemory"),
        "*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"
    );
    assert_eq!(s.current().port, 6379);
}

#[test]
fn set_applies_all_pairs_or_none() {
    let s = ConfigStore::default();
    let mut rx = s.subscribe();
    assert_eq!(cmd(&s, "SET maxmemory 10mb timeout abc"), "-ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer\r\n");
    assert_eq!(s.current().maxmemory, 0);
    assert!(!rx.has_changed().unwrap());
    assert_eq!(
        cmd(
            &s,
            "SET maxmemory 10mb timeout 30 hz 1000 cluster-node-timeout 5000"
        ),
        "+OK\r\n"
    );
    let c = s.current();
    assert_eq!(
        (c.maxmemory, c.timeout, c.hz, c.cluster_node_timeout),
        (10 << 20, 30, 500, 5000)
    );
    assert!(rx.has_changed().unwrap());
    assert_eq!(rx.borrow_and_update().timeout, 30);
    assert_eq!(cmd(&s, "GET hz"), "*2\r\n$2\r\nhz\r\n$3\r\n500\r\n");
    assert_eq!(
        run(&s, &[b"SET", b"save", b"10 1 20 2"], Protocol::Resp2),
        b"+OK\r\n"
    );
    assert_eq!(
        cmd(&s, "GET save"),
        "*2\r\n$4\r\nsave\r\n$9\r\n10 1 20 2\r\n"
    );
    assert_eq!(cmd(&s, "SET notify-keyspace-events KEA"), "+OK\r\n");
    assert_eq!(
        cmd(&s, "GET notify-keyspace-events"),
        "*2\r\n$22\r\nnotify-keyspace-events\r\n$3\r\nAKE\r\n"
    );
    assert_eq!(cmd(&s, "SET maxmemory kb"), "+OK\r\n");
    assert_eq!(s.current().maxmemory, 0);
    assert_eq!(cmd(&s, "SET maxmemory 999999999999999999999999"), "+OK\r\n");
    assert_eq!(s.current().maxmemory, u64::MAX);
    // An alias and its canonical name in one command are two settings to Redis.
    assert_eq!(
        cmd(&s, "SET slave-read-only no replica-read-only yes"),
        "+OK\r\n"
    );
    assert_eq!(cmd(&s, "SET requirepass secret"), "+OK\r\n");
    assert_eq!(s.current().requirepass.as_deref(), Some(&b"secret"[..]));
    assert_eq!(
        run(&s, &[b"SET", b"requirepass", b""], Protocol::Resp2),
        b"+OK\r\n"
    );
    assert_eq!(s.current().requirepass, None);
}

#[test]
fn resetstat_runs_the_hooks_and_help_is_redis_text() {
    let s = ConfigStore::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&calls);
    s.on_resetstat(Box::new(move || {
        c.fetch_add(1, Ordering::SeqCst);
    }));
    assert_eq!(cmd(&s, "RESETSTAT"), "+OK\r\n");
    assert_eq!(cmd(&s, "resetstat"), "+OK\r\n");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(
        cmd(&s, "HELP"),
        "*11\r\n+CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+GET <pattern>\r\n+    Return parameters matching the glob-like <pattern> and their values.\r\n+SET <directive> <value>\r\n+    Set the configuration <directive> to <value>.\r\n+RESETSTAT\r\n+    Reset statistics reported by the INFO command.\r\n+REWRITE\r\n+    Rewrite the configuration file.\r\n+HELP\r\n+    Prints this help.\r\n"
    );
}

#[test]
fn apply_hooks_run_on_change_and_failures_restore() {
    let s = ConfigStore::default();
    let seen = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    s.on_apply(
        &["port", "bind"],
        Box::new(move |c| {
            log.lock().push(c.port);
            if c.port == 1234 {
                Err("Unable to listen on this port. Check server logs.".into())
            } else {
                Ok(())
            }
        }),
    );
    assert_eq!(cmd(&s, "SET port 7000"), "+OK\r\n");
    assert_eq!(*seen.lock(), [7000]);
    // Unchanged value: nothing to apply.
    assert_eq!(cmd(&s, "SET port 7000"), "+OK\r\n");
    assert_eq!(*seen.lock(), [7000]);
    assert_eq!(
        cmd(&s, "SET maxmemory 1mb port 1234"),
        "-ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs.\r\n"
    );
    // Applied with the new value, then again with the old one.
    assert_eq!(*seen.lock(), [7000, 1234, 7000]);
    assert_eq!(s.current().port, 7000);
    assert_eq!(s.current().maxmemory, 0);
    assert_eq!(cmd(&s, "SET hz 20"), "+OK\r\n");
    assert_eq!(seen.lock().len(), 3);
}
