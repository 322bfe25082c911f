//! Shared by the integration tests: real redis-server processes (killed by PID on drop) and a
//! way to run our binary.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, sleep};
use std::time::{Duration, Instant};

/// A redis-server 7.0 started for one test; killed when dropped.
pub struct Server {
    pub port: u16,
    child: Child,
    dir: PathBuf,
}

impl Server {
    /// Starts redis-server on `port` with persistence off and DEBUG enabled, plus `extra`
    /// directives, and waits until it accepts connections.
    pub fn start(port: u16, extra: &[&str]) -> Server {
        let dir =
            std::env::temp_dir().join(format!("redis-cli-lite-test-{port}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "port {port} is already in use: another server would answer for ours"
        );
        let mut cmd = Command::new("redis-server");
        cmd.args([
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .args(["--enable-debug-command", "yes", "--daemonize", "no"])
        .arg("--dir")
        .arg(&dir)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        let child = cmd
            .spawn()
            .expect("redis-server 7.0 must be installed (apt-get install redis-server)");
        let server = Server { port, child, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server on {port} did not start"
            );
            sleep(Duration::from_millis(50));
        }
        server
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Path of the redis-cli-lite binary under test.
pub fn cli_path() -> &'static str {
    env!("CARGO_BIN_EXE_redis-cli-lite")
}

/// Runs redis-cli-lite with `args` and `stdin`, stdout and stderr captured (so stdout is not a
/// terminal, as in a pipe).
pub fn cli(args: &[&str], stdin: &[u8]) -> Output {
    run(Command::new(cli_path()).args(args), stdin)
}

/// Runs the real redis-cli likewise.
pub fn redis_cli(args: &[&str], stdin: &[u8]) -> Output {
    run(Command::new("redis-cli").args(args), stdin)
}

fn run(cmd: &mut Command, stdin: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The child may exit without reading stdin: a broken pipe here is fine.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

/// Directory of the committed fixtures.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// redis-cli-lite in a pty (made by `script`), typed into line by line.
pub struct Terminal {
    pub child: Child,
    input: ChildStdin,
    screen: Arc<Mutex<Vec<u8>>>,
    seen: usize,
}

impl Terminal {
    pub fn start(args: &str, histfile: &std::path::Path) -> Terminal {
        let mut child = Command::new("script")
            .args([
                "-q",
                "-f",
                "-e",
                "-c",
                &format!("{} {args}", cli_path()),
                "/dev/null",
            ])
            .env("REDISCLI_LITE_HISTFILE", histfile)
            .env("TERM", "xterm")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("`script` (util-linux) is needed to give the cli a terminal");
        let input = child.stdin.take().unwrap();
        let mut out = child.stdout.take().unwrap();
        let screen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&screen);
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Terminal {
            child,
            input,
            screen,
            seen: 0,
        }
    }

    /// Waits until `text` appears after what earlier calls already matched.
    pub fn expect(&mut self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            {
                let screen = self.screen.lock().unwrap();
                let rest = &screen[self.seen..];
                if let Some(at) = rest.windows(text.len()).position(|w| w == text.as_bytes()) {
                    self.seen += at + text.len();
                    return;
                }
                assert!(
                    Instant::now() < deadline,
                    "{text:?} not shown; screen after last match:\n{}",
                    String::from_utf8_lossy(rest)
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn type_line(&mut self, line: &str) {
        self.input.write_all(line.as_bytes()).unwrap();
        self.input.write_all(b"\r").unwrap();
        self.input.flush().unwrap();
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
