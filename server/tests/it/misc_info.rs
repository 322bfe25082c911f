//! INFO as tools read it, compared with redis-server 7.0.15: the sections of INFO, INFO
//! default, INFO all and INFO everything in Redis's order, and the field names of each
//! (values differ between servers; our own version is the one extra field). Skipped (with
//! a note) when redis-server is not installed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cluster_common;

use cluster_common::*;

/// Section headers and field names, in order, without per-command and per-db lines (they
/// depend on what ran).
fn shape(port: u16, args: &[&str]) -> Vec<String> {
    let mut cmd = vec!["INFO"];
    cmd.extend_from_slice(args);
    call(port, &cmd)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split(':').next().unwrap_or(l).to_owned())
        .filter(|n| {
            !["cmdstat_", "errorstat_", "latency_percentiles_usec_", "db"]
                .iter()
                .any(|p| n.starts_with(p))
                && n != "rust_node_version"
        })
        .collect()
}

#[test]
fn info_sections_and_fields_are_redis_s() {
    if !have_redis() {
        eprintln!("redis-server not installed: skipped");
        return;
    }
    for cluster in [false, true] {
        let port = 21530 + u16::from(cluster);
        let ours = spawn_with(OURS, "info", port, 5000, cluster, &[]);
        let real = spawn_with("redis-server", "info", port + 600, 5000, cluster, &[]);
        for p in [ours.port, real.port] {
            // Something in every per-command section.
            call(p, &["SET", "k", "v"]);
            call(p, &["GET", "k", "extra"]);
        }
        for args in [
            &[][..],
            &["default"],
            &["all"],
            &["everything"],
            &["memory"],
            &["keyspace", "SERVER", "commandstats"],
            &["latencystats", "errorstats"],
            &["nosuch"],
        ] {
            assert_eq!(
                shape(ours.port, args),
                shape(real.port, args),
                "INFO {args:?} (cluster mode {cluster})"
            );
        }
    }
}
