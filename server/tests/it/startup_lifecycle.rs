//! The built server as a process: start-up log lines, pidfile, taken port, signals, log file,
//! and a configuration rewritten over the network that a restart reads back unchanged.
//! Ports 21201-21220 (this file's share of 21200-21399).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The server process; killed (by pid) when the test ends, also on failure.
struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(dir: &Path, args: &[&str]) -> Server {
        let child = Command::new(env!("CARGO_BIN_EXE_server"))
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Server { child }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([format!("-{sig}"), self.pid().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "server did not exit within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn output(&mut self) -> (String, String) {
        let mut out = String::new();
        let mut err = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        (out, err)
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("startup-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn wait_for_log(path: &Path, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(needle) {
            return text;
        }
        assert!(Instant::now() < deadline, "no {needle:?} in log:\n{text}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn ping(port: u16) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"*1\r\n$4\r\nPING\r\n").unwrap();
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn logs_banner_and_ready_then_sigterm_exits_cleanly() {
    let port = 21201;
    let dir = scratch("banner");
    let log = dir.join("server.log");
    let pidfile = dir.join("server.pid");
    let mut server = Server::start(
        &dir,
        &[
            "--port",
            "21201",
            "--logfile",
            "server.log",
            "--pidfile",
            pidfile.to_str().unwrap(),
            "--always-show-logo",
            "yes",
            "--save",
            "",
        ],
    );
    let text = wait_for_log(&log, "Ready to accept connections");
    let pid = server.pid();
    assert!(text.contains(&format!("     PID: {pid}\n")), "{text}");
    assert!(text.contains("Redis 7.0.15 (00000000/0) 64 bit"), "{text}");
    assert!(text.contains(&format!("{pid}:M ")), "{text}");
    assert!(text.contains(" # Server initialized\n"), "{text}");
    assert!(text.contains(" * Ready to accept connections\n"), "{text}");
    assert!(text.contains(&format!("{pid}:C ")), "{text}");
    assert_eq!(
        std::fs::read_to_string(&pidfile).unwrap(),
        format!("{pid}\n")
    );
    assert_eq!(ping(port), "+PONG\r\n");

    server.signal("TERM");
    let status = server.wait_exit(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0));
    assert!(!pidfile.exists(), "pidfile left behind");
    let text = std::fs::read_to_string(&log).unwrap();
    for line in [
        "Received SIGTERM scheduling shutdown...",
        "# User requested shutdown...",
        "* Removing the pid file.",
        "# Redis is now ready to exit, bye bye...",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    let (out, err) = server.output();
    assert!(
        out.is_empty() && err.is_empty(),
        "stdout {out:?} stderr {err:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn taken_port_fails_with_redis_message() {
    let port = 21202;
    let dir = scratch("taken");
    let _holder = std::net::TcpListener::bind(("0.0.0.0", port)).unwrap();
    let mut server = Server::start(&dir, &["--port", "21202", "--save", ""]);
    let status = server.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(1));
    let (out, err) = server.output();
    assert!(
        out.contains(&format!(
            "# Failed listening on port {port} (TCP), aborting.\n"
        )),
        "{out}"
    );
    assert!(out.contains("Address already in use"), "{out}");
    assert!(err.is_empty(), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn logfile_is_appended_and_sigint_shuts_down() {
    let dir = scratch("append");
    let log = dir.join("server.log");
    std::fs::write(&log, "previous run\n").unwrap();
    let mut server = Server::start(&dir, &["--port", "21203", "--logfile", "server.log"]);
    wait_for_log(&log, "Ready to accept connections");
    server.signal("INT");
    assert_eq!(server.wait_exit(Duration::from_secs(5)).code(), Some(0));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.starts_with("previous run\n"), "{text}");
    assert!(
        text.contains("Received SIGINT scheduling shutdown..."),
        "{text}"
    );
    assert!(
        text.contains("Redis is now ready to exit, bye bye..."),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn logs_to_stdout_without_logfile_never_stderr() {
    let dir = scratch("stdout");
    let mut server = Server::start(&dir, &["--port", "21204", "--loglevel", "verbose"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", 21204)).is_err() {
        assert!(Instant::now() < deadline, "server never listened");
        std::thread::sleep(Duration::from_millis(20));
    }
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(5)).code(), Some(0));
    let (out, err) = server.output();
    assert!(err.is_empty(), "stderr: {err}");
    assert!(
        out.contains(" # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo\n"),
        "{out}"
    );
    assert!(
        out.contains("* Running mode=standalone, port=21204.\n"),
        "{out}"
    );
    assert!(out.contains("* Ready to accept connections\n"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn survives_sigstop_and_sigcont() {
    let dir = scratch("stop");
    let log = dir.join("server.log");
    let mut server = Server::start(&dir, &["--port", "21205", "--logfile", "server.log"]);
    wait_for_log(&log, "Ready to accept connections");
    server.signal("STOP");
    std::thread::sleep(Duration::from_millis(300));
    server.signal("CONT");
    assert_eq!(ping(21205), "+PONG\r\n");
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(5)).code(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn daemonize_yes_is_refused_clearly() {
    let dir = scratch("daemonize");
    let mut server = Server::start(&dir, &["--port", "21206", "--daemonize", "yes"]);
    assert_eq!(server.wait_exit(Duration::from_secs(10)).code(), Some(1));
    let (out, _) = server.output();
    assert!(
        out.contains("daemonize yes is not supported by this server"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn resp_command(port: u16, args: &[&str]) -> Vec<u8> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut req = Vec::new();
    resp_proto::encode_command(&mut req, args);
    s.write_all(&req).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    let deadline = Instant::now() + Duration::from_secs(5);
    // Read until the server has been quiet for a moment after answering.
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) if !out.is_empty() => break,
            Err(_) => assert!(Instant::now() < deadline, "no reply to {args:?}"),
        }
    }
    out
}

#[test]
fn config_rewrite_over_the_network_survives_a_restart() {
    let dir = scratch("rewrite");
    let conf = dir.join("node.conf");
    std::fs::write(
        &conf,
        "# test node\nport 21207\nlogfile server.log\nsave \"\"\n",
    )
    .unwrap();
    let log = dir.join("server.log");
    let mut server = Server::start(&dir, &[conf.to_str().unwrap()]);
    wait_for_log(&log, "Ready to accept connections");
    assert_eq!(
        resp_command(
            21207,
            &[
                "CONFIG",
                "SET",
                "maxmemory",
                "10mb",
                "cluster-node-timeout",
                "5000"
            ]
        ),
        b"+OK\r\n"
    );
    assert_eq!(resp_command(21207, &["CONFIG", "REWRITE"]), b"+OK\r\n");
    let before = resp_command(21207, &["CONFIG", "GET", "*"]);
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(5)).code(), Some(0));
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(text.starts_with("# test node\nport 21207\n"), "{text}");
    assert!(text.contains("\nmaxmemory 10mb\n"), "{text}");
    assert!(text.contains("\ncluster-node-timeout 5000\n"), "{text}");

    let mut again = Server::start(&dir, &[conf.to_str().unwrap()]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", 21207)).is_err() {
        assert!(Instant::now() < deadline, "restart never listened");
        std::thread::sleep(Duration::from_millis(20));
    }
    let after = resp_command(21207, &["CONFIG", "GET", "*"]);
    assert_eq!(
        String::from_utf8_lossy(&after),
        String::from_utf8_lossy(&before)
    );
    again.signal("TERM");
    assert_eq!(again.wait_exit(Duration::from_secs(5)).code(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn dir_changes_the_working_directory_for_relative_paths() {
    let start = scratch("dir-start");
    let data = scratch("dir-data");
    let mut server = Server::start(
        &start,
        &[
            "--logfile",
            "rel.log",
            "--pidfile",
            "rel.pid",
            "--dir",
            data.to_str().unwrap(),
            "--port",
            "21208",
        ],
    );
    let text = wait_for_log(&data.join("rel.log"), "Ready to accept connections");
    assert!(text.contains("Configuration loaded"), "{text}");
    assert!(data.join("rel.pid").exists());
    assert!(!start.join("rel.log").exists());
    assert_eq!(
        resp_command(21208, &["CONFIG", "GET", "dir"]),
        format!(
            "*2\r\n$3\r\ndir\r\n${}\r\n{}\r\n",
            data.to_str().unwrap().len(),
            data.display()
        )
        .into_bytes()
    );
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(5)).code(), Some(0));
    assert!(!data.join("rel.pid").exists());
    let _ = std::fs::remove_dir_all(&start);
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn config_set_loglevel_takes_effect_at_once() {
    let dir = scratch("loglevel");
    let log = dir.join("server.log");
    let mut server = Server::start(
        &dir,
        &[
            "--port",
            "21209",
            "--logfile",
            "server.log",
            "--loglevel",
            "warning",
            "--pidfile",
            "server.pid",
        ],
    );
    wait_for_log(&log, "Server initialized");
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", 21209)).is_err() {
        assert!(Instant::now() < deadline, "server never listened");
        std::thread::sleep(Duration::from_millis(20));
    }
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains("Ready to accept connections"), "{text}");
    assert_eq!(
        resp_command(21209, &["CONFIG", "SET", "loglevel", "notice"]),
        b"+OK\r\n"
    );
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(5)).code(), Some(0));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains(" * Removing the pid file.\n"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn no_listener_at_all_exits_like_redis() {
    let dir = scratch("nolisten");
    let mut server = Server::start(&dir, &["--port", "0"]);
    assert_eq!(server.wait_exit(Duration::from_secs(10)).code(), Some(1));
    let (out, err) = server.output();
    assert!(
        out.lines()
            .last()
            .is_some_and(|l| l.ends_with(" # Configured to not listen anywhere, exiting.")),
        "{out}"
    );
    assert!(err.is_empty(), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn config_from_stdin() {
    let dir = scratch("stdin");
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["-", "--loglevel", "notice"])
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"port 21210\nlogfile server.log\n")
        .unwrap();
    let mut server = Server { child };
    let text = wait_for_log(&dir.join("server.log"), "Ready to accept connections");
    assert!(
        text.contains("Running mode=standalone, port=21210."),
        "{text}"
    );
    assert_eq!(ping(21210), "+PONG\r\n");
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(5)).code(), Some(0));
    let (out, _) = server.output();
    assert!(out.ends_with(" # Reading config from stdin\n"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn empty_bind_listens_nowhere_and_exits_like_redis() {
    for bin in [env!("CARGO_BIN_EXE_server"), "redis-server"] {
        let out = std::process::Command::new(bin)
            .args(["--port", "21459", "--bind", "", "--save", ""])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{bin}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.trim_end()
                .ends_with("# Configured to not listen anywhere, exiting."),
            "{bin}: {text}"
        );
    }
}
