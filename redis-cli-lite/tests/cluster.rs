//! `-c` against a real three-master redis-server cluster made by `redis-cli --cluster create`:
//! MOVED and ASK are followed (ASKING first), redirections are announced in interactive use,
//! the prompt moves to the new node, and everything prints as the real redis-cli prints it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::thread::sleep;
use std::time::{Duration, Instant};

use common::{cli, redis_cli, Server, Terminal};

/// Bus ports are port + 10000 and must stay below 32768.
const PORTS: [u16; 3] = [18020, 18021, 18022];

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn start_cluster() -> Vec<Server> {
    let nodes: Vec<Server> = PORTS
        .iter()
        .map(|&p| {
            Server::start(
                p,
                &[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                ],
            )
        })
        .collect();
    let addrs: Vec<String> = PORTS.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let mut args = vec!["--cluster", "create"];
    args.extend(addrs.iter().map(String::as_str));
    args.push("--cluster-yes");
    let out = redis_cli(&args, b"");
    assert!(out.status.success(), "cluster create: {}", text(&out));
    let deadline = Instant::now() + Duration::from_secs(20);
    for p in PORTS {
        loop {
            let info = redis_cli(&["-p", &p.to_string(), "cluster", "info"], b"");
            if String::from_utf8_lossy(&info.stdout).contains("cluster_state:ok") {
                break;
            }
            assert!(Instant::now() < deadline, "cluster never became ok on {p}");
            sleep(Duration::from_millis(100));
        }
    }
    nodes
}

#[test]
fn redirections_are_followed_like_redis_cli() {
    let _nodes = start_cluster();
    let (a, c) = (PORTS[0].to_string(), PORTS[2].to_string());

    // One-shot: "foo" (slot 12182) lives on the third node; no announcement, just the reply.
    let out = cli(&["-c", "-p", &a, "set", "foo", "bar"], b"");
    assert_eq!(text(&out), "OK\n");
    assert!(out.status.success());
    let plain = cli(&["-p", &a, "get", "foo"], b"");
    assert_eq!(
        text(&plain),
        "MOVED 12182 127.0.0.1:18022\n\n",
        "without -c the error is printed"
    );

    // Piped lines are interactive use: each redirection is announced, and the session stays on
    // the node it moved to ("bar" is slot 5061, on the first node).
    let lines = b"get foo\nget foo\nget bar\nget foo\n";
    let ours = cli(&["-c", "-p", &a, "--no-raw"], lines);
    assert_eq!(
        text(&ours),
        "-> Redirected to slot [12182] located at 127.0.0.1:18022\n\"bar\"\n\"bar\"\n\
         -> Redirected to slot [5061] located at 127.0.0.1:18020\n(nil)\n\
         -> Redirected to slot [12182] located at 127.0.0.1:18022\n\"bar\"\n"
    );
    assert_eq!(
        text(&ours),
        text(&redis_cli(&["-c", "-p", &a, "--no-raw"], lines))
    );

    // ASK: slot 12182 half-way from the third node to the first. A key missing on the source
    // is asked for on the target, which answers only after ASKING (else it would say MOVED).
    let id = |p: &str| {
        let out = redis_cli(&["-p", p, "cluster", "myid"], b"");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let (id_a, id_c) = (id(&a), id(&c));
    let ok = |args: &[&str]| assert_eq!(text(&redis_cli(args, b"")), "OK\n");
    ok(&["-p", &a, "cluster", "setslot", "12182", "importing", &id_c]);
    ok(&["-p", &c, "cluster", "setslot", "12182", "migrating", &id_a]);
    let lines = b"set {foo}new 1\nget {foo}new\nget foo\n";
    let ours = cli(&["-c", "-p", &c, "--no-raw"], lines);
    assert_eq!(
        text(&ours),
        "-> Redirected to slot [12182] located at 127.0.0.1:18020\nOK\n\
         -> Redirected to slot [12182] located at 127.0.0.1:18022\n\
         -> Redirected to slot [12182] located at 127.0.0.1:18020\n\"1\"\n\
         -> Redirected to slot [12182] located at 127.0.0.1:18022\n\"bar\"\n"
    );
    // The key really was written on the importing node.
    let on_a = redis_cli(&["-p", &a, "cluster", "countkeysinslot", "12182"], b"");
    assert_eq!(text(&on_a), "1\n");
    let lines = b"get {foo}new\nget foo\n";
    assert_eq!(
        text(&cli(&["-c", "-p", &c], lines)),
        text(&redis_cli(&["-c", "-p", &c], lines))
    );

    // At a prompt, the prompt follows the redirection.
    let hist = std::env::temp_dir().join(format!("redis-cli-lite-chist-{}", std::process::id()));
    let mut t = Terminal::start(&format!("-c -p {a}"), &hist);
    t.expect("127.0.0.1:18020> ");
    t.type_line("get foo");
    t.expect("-> Redirected to slot [12182] located at 127.0.0.1:18022\r\n\"bar\"\r\n");
    t.expect("127.0.0.1:18022> ");
    t.type_line("quit");
    let _ = std::fs::remove_file(&hist);
}
