//! Cluster-mode start-up: nodes.conf persists the node id, a corrupt file stops the node
//! (exit 1, Redis's message), and a second node on the same file is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cluster_common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use cluster_common::*;

fn run_to_exit(dir: &Path, port: u16, log: &str) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--cluster-enabled",
            "yes",
            "--dir",
            dir.to_str().unwrap(),
            "--logfile",
            log,
            "--save",
            "",
        ])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = std::fs::read_to_string(dir.join(log)).unwrap_or_default();
    (code, text)
}

#[test]
fn node_id_survives_a_restart() {
    let port = 17060;
    let mut node = ours(port, 2000);
    let id = myid(port);
    call(port, &["CLUSTER", "ADDSLOTSRANGE", "0", "99"]);
    call(port, &["CLUSTER", "SET-CONFIG-EPOCH", "5"]);
    let dir = node.dir.clone();
    let conf = std::fs::read_to_string(dir.join("nodes.conf")).unwrap();
    assert!(
        conf.starts_with(&format!(
            "{id} :{port}@{} myself,master - 0 0 5 connected 0-99\n",
            port + 10000
        )),
        "{conf}"
    );
    assert!(
        conf.ends_with("vars currentEpoch 5 lastVoteEpoch 0\n"),
        "{conf}"
    );
    // Same directory, same file: same node.
    restart(&mut node, OURS, 2000);
    assert_eq!(myid(port), id);
    let nodes = call(port, &["CLUSTER", "NODES"]);
    assert!(
        nodes.contains(" myself,master - 0 0 5 connected 0-99"),
        "{nodes}"
    );
}

#[test]
fn a_corrupt_nodes_conf_stops_the_node() {
    let dir = std::env::temp_dir().join(format!("cluster-corrupt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("nodes.conf"), "this is not a nodes.conf\n").unwrap();
    let (code, log) = run_to_exit(&dir, 17061, "node.log");
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains("Unrecoverable error: corrupted cluster config file."),
        "{log}"
    );
    // The file is left as it was.
    assert_eq!(
        std::fs::read_to_string(dir.join("nodes.conf")).unwrap(),
        "this is not a nodes.conf\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_second_node_on_the_same_nodes_conf_is_refused() {
    let first = ours(17062, 2000);
    let (code, log) = run_to_exit(&first.dir, 17063, "second.log");
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("is already used by a different Redis Cluster node. Please make sure that different nodes use different cluster configuration files."), "{log}");
    // The first node is unaffected.
    assert_eq!(call(17062, &["PING"]), "+PONG\r\n");
}

#[test]
fn a_taken_bus_port_stops_the_node() {
    let _taken = std::net::TcpListener::bind("127.0.0.1:27064").unwrap();
    let dir = std::env::temp_dir().join(format!("cluster-busport-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (code, log) = run_to_exit(&dir, 17064, "node.log");
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains("Failed listening on port 27064 (cluster), aborting."),
        "{log}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
