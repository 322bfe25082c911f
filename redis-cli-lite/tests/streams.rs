//! SUBSCRIBE, PSUBSCRIBE and MONITOR keep printing until interrupted; compared with the real
//! redis-cli receiving the same messages at the same time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, sleep};
use std::time::{Duration, Instant};

use common::{cli_path, redis_cli, Server};

/// A long-running client whose stdout is collected as it comes.
struct Listener {
    child: Child,
    out: Arc<Mutex<Vec<u8>>>,
}

impl Listener {
    fn start(program: &str, args: &[&str]) -> Listener {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let out = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&out);
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Listener { child, out }
    }

    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = String::from_utf8_lossy(&self.out.lock().unwrap()).into_owned();
            if got.contains(text) {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{text:?} never printed; got {got:?}"
            );
            sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn subscribers(port: &str, channel: &str) -> usize {
    let out = redis_cli(&["-p", port, "pubsub", "numsub", channel], b"");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[test]
fn pubsub_messages_print_like_redis_cli() {
    let server = Server::start(18014, &[]);
    let port = server.port.to_string();
    let modes: [&[&str]; 3] = [&[], &["--no-raw"], &["-3", "--no-raw"]];
    for mode in modes {
        let mut args = vec!["-p", port.as_str()];
        args.extend_from_slice(mode);
        args.extend_from_slice(&["subscribe", "news", "sport"]);
        let ours = Listener::start(cli_path(), &args);
        let theirs = Listener::start("redis-cli", &args);
        let mut pargs = vec!["-p", port.as_str()];
        pargs.extend_from_slice(mode);
        pargs.extend_from_slice(&["psubscribe", "n*"]);
        let ours_p = Listener::start(cli_path(), &pargs);
        let theirs_p = Listener::start("redis-cli", &pargs);
        let deadline = Instant::now() + Duration::from_secs(10);
        while subscribers(&port, "sport") < 2 {
            assert!(Instant::now() < deadline, "subscribers never arrived");
            sleep(Duration::from_millis(20));
        }
        ours_p.wait_for("n*");
        theirs_p.wait_for("n*");
        redis_cli(&["-p", &port, "publish", "news", "hello world"], b"");
        redis_cli(&["-p", &port, "publish", "sport", "last"], b"");
        let mine = ours.wait_for("last");
        let real = theirs.wait_for("last");
        assert_eq!(mine, real, "subscribe {mode:?}");
        assert!(mine.contains("hello world"));
        if mode.contains(&"--no-raw") {
            assert!(mine.starts_with("Reading messages... (press Ctrl-C to quit)\n"));
        }
        let mine = ours_p.wait_for("hello world");
        let real = theirs_p.wait_for("hello world");
        assert_eq!(mine, real, "psubscribe {mode:?}");
        assert!(mine.contains("pmessage"));
    }
}

#[test]
fn monitor_streams_every_command() {
    let server = Server::start(18015, &[]);
    let port = server.port.to_string();
    let ours = Listener::start(cli_path(), &["-p", &port, "--no-raw", "monitor"]);
    ours.wait_for("OK\n");
    redis_cli(&["-p", &port, "set", "watched", "value 1"], b"");
    let got = ours.wait_for("\"watched\"");
    let line = got.lines().nth(1).unwrap();
    // 1795712036.823661 [0 127.0.0.1:34480] "set" "watched" "value 1"
    let (time, rest) = line.split_once(" [0 127.0.0.1:").unwrap();
    assert!(time
        .split_once('.')
        .is_some_and(|(s, us)| { s.bytes().all(|b| b.is_ascii_digit()) && us.len() == 6 }));
    assert!(
        rest.ends_with("] \"set\" \"watched\" \"value 1\""),
        "{line}"
    );
}

#[test]
fn negative_repeat_runs_until_interrupted() {
    let server = Server::start(18016, &[]);
    let port = server.port.to_string();
    let ours = Listener::start(
        cli_path(),
        &["-p", &port, "-r", "-1", "-i", "0.01", "incr", "n"],
    );
    let got = ours.wait_for("\n5\n");
    assert!(got.starts_with("1\n2\n3\n4\n5\n"), "{got}");
}

#[test]
fn shutdown_is_silent_and_later_commands_say_not_connected() {
    let server = Server::start(18017, &[]);
    let port = server.port.to_string();
    let out = common::cli(&["-p", &port], b"shutdown nosave\nping\n");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Could not connect to Redis at 127.0.0.1:18017: Connection refused\n"
    );
    assert!(out.status.success());
}
