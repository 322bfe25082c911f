//! `cargo xtask cluster-status` on a live three-master redis-server 7.0 cluster laid out as
//! cluster-up lays out its nodes (`<dir>/<port>/`), found by --port and by --dir.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

const PORTS: [u16; 3] = [18170, 18171, 18172];

/// The nodes, killed by PID when dropped.
struct Cluster {
    children: Vec<Child>,
    dir: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start(dir: &Path) -> Cluster {
    let mut children = Vec::new();
    for p in PORTS {
        assert!(
            TcpStream::connect(("127.0.0.1", p)).is_err(),
            "port {p} in use"
        );
        let ndir = dir.join(p.to_string());
        std::fs::create_dir_all(&ndir).unwrap();
        let child = Command::new("redis-server")
            .args(["--port", &p.to_string(), "--cluster-enabled", "yes"])
            .args([
                "--cluster-config-file",
                "nodes.conf",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(&ndir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server 7.0 must be installed");
        children.push(child);
    }
    let cluster = Cluster {
        children,
        dir: dir.to_path_buf(),
    };
    for p in PORTS {
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", p)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server on {p} did not start"
            );
            sleep(Duration::from_millis(50));
        }
    }
    let addrs: Vec<String> = PORTS.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let out = Command::new("redis-cli")
        .args(["--cluster", "create"])
        .args(&addrs)
        .arg("--cluster-yes")
        .output()
        .unwrap();
    assert!(out.status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    for p in PORTS {
        loop {
            let info = Command::new("redis-cli")
                .args(["-p", &p.to_string(), "cluster", "info"])
                .output()
                .unwrap();
            if String::from_utf8_lossy(&info.stdout).contains("cluster_state:ok") {
                break;
            }
            assert!(Instant::now() < deadline, "cluster never ok");
            sleep(Duration::from_millis(100));
        }
    }
    cluster
}

fn status(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("cluster-status")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn status_table_of_a_live_cluster() {
    let dir = std::env::temp_dir().join(format!("xtask-status-{}", std::process::id()));
    let _cluster = start(&dir);
    // "foo" is slot 12182 (third master), "bar" 5061 (first).
    for key in ["foo", "bar", "{foo}2"] {
        let out = Command::new("redis-cli")
            .args(["-c", "-p", "18170", "set", key, "v"])
            .output()
            .unwrap();
        assert!(out.status.success());
    }
    for out in [
        status(&["--port", "18171"]),
        status(&["--dir", dir.to_str().unwrap()]),
    ] {
        let rows: Vec<&str> = out.lines().filter(|l| l.contains("127.0.0.1:")).collect();
        assert_eq!(rows.len(), 3, "{out}");
        assert!(
            rows[0].contains("127.0.0.1:18170") && rows[0].contains("0-5460"),
            "{out}"
        );
        assert!(
            rows[0].contains(" 1 "),
            "one key on the first master:\n{out}"
        );
        assert!(
            rows[2].contains("127.0.0.1:18172") && rows[2].contains("10923-16383"),
            "{out}"
        );
        assert!(
            rows[2].contains(" 2 "),
            "two keys on the third master:\n{out}"
        );
        assert!(rows
            .iter()
            .all(|r| r.contains("connected") && r.contains("master")));
        assert!(
            out.contains("cluster_state:ok  3 masters, 0 replicas, 3 keys in masters"),
            "{out}"
        );
    }
    let marked: Vec<String> = status(&["--port", "18171"])
        .lines()
        .filter(|l| l.contains("master *"))
        .map(str::to_owned)
        .collect();
    assert_eq!(marked.len(), 1);
    assert!(
        marked[0].contains("127.0.0.1:18171"),
        "the node asked is marked"
    );
}
