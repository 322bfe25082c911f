//! Issue 7, proof 5: `redis-benchmark --cluster` runs against three of our masters (formed
//! by `redis-cli --cluster create`) without errors, and its writes land on every master.
//! Throughput is measured by `cargo xtask bench --cluster`, not here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cluster_common;

use std::process::Command;
use std::time::Duration;

use cluster_common::*;

#[test]
fn redis_benchmark_cluster_runs_against_our_masters() {
    if !have_redis() {
        panic!("redis-server 7.0 is needed (apt-get install redis-server)");
    }
    let ports = [17150u16, 17151, 17152];
    let _nodes: Vec<Proc> = ports.iter().map(|&p| ours(p, 5000)).collect();
    let addrs: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let mut args = vec!["--cluster", "create"];
    args.extend(addrs.iter().map(String::as_str));
    args.push("--cluster-yes");
    let created = redis_cli(&args);
    assert!(
        created.contains("[OK] All 16384 slots covered."),
        "{created}"
    );
    wait_until("cluster ok", Duration::from_secs(20), || {
        ports.iter().all(|&p| state_ok(p))
    });
    let out = Command::new("redis-benchmark")
        .args(["--cluster", "-h", "127.0.0.1", "-p", "17150"])
        .args(["-c", "20", "-n", "20000", "-P", "16", "-r", "1000"])
        .args(["-t", "set,get", "--csv", "-q"])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    for bad in ["Error", "ERR", "MOVED", "ASK", "CLUSTERDOWN"] {
        assert!(!text.contains(bad), "{bad} in:\n{text}");
    }
    for test in ["\"SET\"", "\"GET\""] {
        let line = text
            .lines()
            .find(|l| l.starts_with(test))
            .unwrap_or_else(|| panic!("no {test} line in:\n{text}"));
        let rps: f64 = line
            .split(',')
            .nth(1)
            .unwrap()
            .trim_matches('"')
            .parse()
            .unwrap();
        assert!(rps > 0.0, "{line}");
    }
    for p in ports {
        let keys: i64 = call(p, &["DBSIZE"])[1..].trim().parse().unwrap();
        assert!(keys > 0, "no key written on {p}");
    }
}
