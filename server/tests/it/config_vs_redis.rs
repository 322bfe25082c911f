//! CONFIG SET / CONFIG GET over the network, byte for byte against the real redis-server
//! 7.0.15 given the same commands (skipped when it is not installed). Ports 21241-21250.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    fn connect(port: u16) -> Conn {
        let deadline = Instant::now() + Duration::from_secs(10);
        let stream = loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => break s,
                Err(_) => {
                    assert!(Instant::now() < deadline, "nothing on {port}");
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        Conn {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
        }
    }

    fn call(&mut self, args: &[&str]) -> Vec<u8> {
        let mut req = Vec::new();
        resp_proto::encode_command(&mut req, args);
        self.writer.write_all(&req).unwrap();
        let mut out = Vec::new();
        self.read_reply(&mut out);
        out
    }

    fn read_reply(&mut self, out: &mut Vec<u8>) {
        let mut line = Vec::new();
        self.reader.read_until(b'\n', &mut line).unwrap();
        out.extend_from_slice(&line);
        let n: i64 = std::str::from_utf8(&line[1..line.len() - 2])
            .unwrap_or("0")
            .parse()
            .unwrap_or(0);
        match line[0] {
            b'$' if n >= 0 => {
                let mut body = vec![0; usize::try_from(n).unwrap() + 2];
                self.reader.read_exact(&mut body).unwrap();
                out.extend_from_slice(&body);
            }
            b'*' | b'%' => {
                let items = if line[0] == b'%' { n * 2 } else { n };
                for _ in 0..items.max(0) {
                    self.read_reply(out);
                }
            }
            _ => {}
        }
    }
}

fn start(bin: &Path, dir: &Path, port: u16) -> KillOnDrop {
    let child = Command::new(bin)
        .args(["--port", &port.to_string(), "--save", ""])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    KillOnDrop(child)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cfg-vs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Directives whose change would cut the test's own connection or needs what this server
/// does not have (TLS, a real AOF or port change), so they are not exercised here.
const SKIP: &[&str] = &[
    "port",
    "bind",
    "requirepass",
    "client-output-buffer-limit",
    "timeout",
    "maxclients",
    "appendonly",
    "dir",
    "replicaof",
    "slaveof",
    "oom-score-adj",
    "oom-score-adj-values",
];

#[test]
fn config_set_and_get_answer_like_redis() {
    let Ok(out) = Command::new("redis-server").arg("--version").output() else {
        eprintln!("redis-server not installed: skipping");
        return;
    };
    if !String::from_utf8_lossy(&out.stdout).contains("v=7.0.15") {
        eprintln!("redis-server is not 7.0.15: skipping");
        return;
    }
    let (real_dir, our_dir) = (scratch("real"), scratch("ours"));
    let _real = start(Path::new("redis-server"), &real_dir, 21241);
    let _ours = start(Path::new(env!("CARGO_BIN_EXE_server")), &our_dir, 21242);
    let mut real = Conn::connect(21241);
    let mut ours = Conn::connect(21242);

    let names_path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config/config-get-all-defaults.txt");
    let names: Vec<String> = std::fs::read_to_string(names_path)
        .unwrap()
        .lines()
        .map(|l| l.split_once('\t').unwrap().0.to_owned())
        .filter(|n| !SKIP.contains(&n.as_str()) && !n.starts_with("tls-"))
        .collect();
    let values = [
        "abc",
        "-1",
        "0",
        "1",
        "yes",
        "no",
        "100%",
        "1kb",
        "",
        "2 3",
        "1GB",
        "0777",
        "local",
        "18446744073709551616",
        "AKE",
        "allkeys-lru",
        "10 1",
        "99.9",
        "-100",
        "-101",
        "9223372036854775807",
        "9223372036854775808",
        "1k",
        "1m",
        "1g",
        "1mb",
        " 1",
        "0x10",
        "yes no",
        "NO",
        "hostname",
        "foo.bar",
        "a_b",
        "{title} {port}",
        "{nope}",
        "everysec",
        "debug",
        "local3",
        "save now",
        "50 99",
        "-2001 0 0",
        "1 2 3",
        "1%",
        "101%",
        "Kx",
        "normal 1mb 1mb 0",
    ];
    let mut differences = Vec::new();
    let mut compared = 0;
    for name in &names {
        for v in values {
            let a = real.call(&["CONFIG", "SET", name, v]);
            let b = ours.call(&["CONFIG", "SET", name, v]);
            let ga = real.call(&["CONFIG", "GET", name]);
            let gb = ours.call(&["CONFIG", "GET", name]);
            compared += 2;
            if a != b || ga != gb {
                differences.push(format!(
                    "CONFIG SET {name} {v:?}\n  real {:?} then {:?}\n  ours {:?} then {:?}",
                    String::from_utf8_lossy(&a),
                    String::from_utf8_lossy(&ga),
                    String::from_utf8_lossy(&b),
                    String::from_utf8_lossy(&gb)
                ));
            }
        }
    }
    assert!(compared > 10000, "{compared}");
    assert!(
        differences.is_empty(),
        "{} of {compared} replies differ:\n{}",
        differences.len(),
        differences.join("\n")
    );
    let _ = std::fs::remove_dir_all(&real_dir);
    let _ = std::fs::remove_dir_all(&our_dir);
}

/// The file split at the rewrite marker: the part before it exactly, the appended lines as a
/// sorted list (Redis appends them in its hash table's order).
fn rewrite_shape(text: &str) -> (String, Vec<String>) {
    match text.split_once("# Generated by CONFIG REWRITE\n") {
        Some((head, tail)) => {
            let mut lines: Vec<String> = tail.lines().map(str::to_owned).collect();
            lines.sort();
            (head.to_owned(), lines)
        }
        None => (text.to_owned(), Vec::new()),
    }
}

#[test]
fn config_rewrite_writes_what_redis_writes() {
    let Ok(out) = Command::new("redis-server").arg("--version").output() else {
        eprintln!("redis-server not installed: skipping");
        return;
    };
    if !String::from_utf8_lossy(&out.stdout).contains("v=7.0.15") {
        eprintln!("redis-server is not 7.0.15: skipping");
        return;
    }
    let conf = "# a node\n\nsave 900 1\nsave 300 10\n  MAXMEMORY 100mb\nslave-priority 50\n\
                zset-max-ziplist-entries 64\nhz 10\nhz 11\nloglevel notice\n\
                notify-keyspace-events Ex\nclient-output-buffer-limit pubsub 64mb 16mb 90\n\
                latency-tracking-info-percentiles 50 99\n# the end\n";
    let sets: &[&[&str]] = &[
        &["maxmemory", "200mb"],
        &["hz", "25"],
        &["replica-priority", "10"],
        &["zset-max-listpack-entries", "128"],
        &["appendfsync", "no"],
        &["maxmemory-policy", "allkeys-lfu"],
        &["cluster-node-timeout", "5000"],
        &["notify-keyspace-events", ""],
        &["save", "60 5"],
        &[
            "client-output-buffer-limit",
            "replica 1gb 256mb 30 pubsub 32mb 8mb 60",
        ],
        &["maxmemory-clients", "5%"],
        &["slowlog-log-slower-than", "-1"],
        &["replica-announce-ip", "10.1.2.3"],
        &["cluster-announce-hostname", "node-1.example"],
        &["proto-max-bulk-len", "1gb"],
        &["repl-backlog-size", "3mb"],
        &["list-max-listpack-size", "-3"],
    ];
    let mut results = Vec::new();
    for (bin, port, name) in [
        (PathBuf::from("redis-server"), 21243u16, "rw-real"),
        (
            PathBuf::from(env!("CARGO_BIN_EXE_server")),
            21244,
            "rw-ours",
        ),
    ] {
        let dir = scratch(name);
        let file = dir.join("node.conf");
        std::fs::write(&file, format!("port {port}\n{conf}")).unwrap();
        let child = Command::new(&bin)
            .arg(&file)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let _guard = KillOnDrop(child);
        let mut c = Conn::connect(port);
        for set in sets {
            let mut args = vec!["CONFIG", "SET"];
            args.extend_from_slice(set);
            assert_eq!(c.call(&args), b"+OK\r\n", "{bin:?} {set:?}");
        }
        assert_eq!(c.call(&["CONFIG", "REWRITE"]), b"+OK\r\n", "{bin:?}");
        let text = std::fs::read_to_string(&file)
            .unwrap()
            .replace(dir.to_str().unwrap(), "{DIR}")
            .replace(&port.to_string(), "{PORT}");
        results.push(text);
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert_eq!(
        rewrite_shape(&results[1]),
        rewrite_shape(&results[0]),
        "ours:\n{}\nreal:\n{}",
        results[1],
        results[0]
    );
}
