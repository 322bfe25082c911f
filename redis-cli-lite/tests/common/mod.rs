//! Shared by the integration tests: real redis-server processes (killed by PID on drop) and a
//! way to run our binary.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::thread::sleep;
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
