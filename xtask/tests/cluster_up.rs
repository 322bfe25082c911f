//! `cargo xtask cluster-up` twice in one directory, with `cluster-down` between: the second
//! run forms a new cluster instead of failing on the nodes.conf files the first one left
//! ("ERR Slot 0 is already busy"). The nodes are redis-server 7.0 (`--bin`), so the test
//! needs no release build of ours.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread::sleep;
use std::time::{Duration, Instant};

const PORTS: [u16; 3] = [18750, 18751, 18752];

fn xtask(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .arg("--dir")
        .arg(dir)
        .output()
        .expect("xtask runs")
}

/// Stops whatever cluster-up started in the directory, and removes it, however the test
/// ends.
struct Down(PathBuf);

impl Drop for Down {
    fn drop(&mut self) {
        let _ = xtask(&["cluster-down"], &self.0);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn cluster_up_twice_in_one_directory() {
    if Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("redis-server not installed: skipped");
        return;
    }
    for p in PORTS {
        assert!(
            TcpStream::connect(("127.0.0.1", p)).is_err(),
            "port {p} in use"
        );
    }
    let dir = std::env::temp_dir().join(format!("xtask-cluster-up-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let _down = Down(dir.clone());
    let base = PORTS[0].to_string();
    let up = [
        "cluster-up",
        "--bin",
        "redis-server",
        "--masters",
        "3",
        "--replicas",
        "0",
        "--base-port",
        &base,
        "--node-timeout",
        "1000",
    ];
    for round in 0..2 {
        let out = xtask(&up, &dir);
        assert!(out.status.success(), "round {round}: {}", text(&out));
        assert!(
            text(&out).contains("Cluster is up: 3 masters"),
            "round {round}: {}",
            text(&out)
        );
        let out = xtask(&["cluster-down"], &dir);
        assert!(
            text(&out).contains("Stopped 3 node(s)"),
            "round {round}: {}",
            text(&out)
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while PORTS
            .iter()
            .any(|&p| TcpStream::connect(("127.0.0.1", p)).is_ok())
        {
            assert!(Instant::now() < deadline, "round {round}: nodes still up");
            sleep(Duration::from_millis(100));
        }
    }
}
