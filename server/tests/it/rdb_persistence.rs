//! Persistence with real processes: restart keeps data, SHUTDOWN SAVE/NOSAVE, BGSAVE and
//! the save schedule, corrupt or truncated files stop startup, and a snapshot is the state
//! at its instant while writers keep changing keys. Ports: ours 24600-24799.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
use crate::rdb_common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{start_binary, InProcess, Raw};
use rdb_common::*;
use server::config::ConfigStore;
use server::node::Node;

/// Runs the binary until it exits (or `wait` passes) and returns (exit code, log).
fn run_to_exit(port: u16, dir: &Path, wait: Duration) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .args(["--dir", dir.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + wait;
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = child.wait_with_output().unwrap();
    let log =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (code, log)
}

fn write_sample_rdb(dir: &Path, port: u16) -> Vec<u8> {
    let p = start_binary(port, &["--dir", dir.to_str().unwrap()]);
    let mut c = connect(p.port);
    populate(&mut c);
    assert_eq!(text(&qs(&mut c, &["SAVE"])), "OK");
    drop(p);
    std::fs::read(dir.join("dump.rdb")).unwrap()
}

#[test]
fn truncated_and_corrupt_files_stop_startup() {
    let dir = scratch("corrupt");
    let good = write_sample_rdb(&dir, 24610);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated",
            good[..good.len() / 2].to_vec(),
            "Short read or OOM loading DB. Unrecoverable error, aborting now.",
        ),
        (
            "bad checksum",
            {
                let mut b = good.clone();
                let n = b.len();
                b[n - 1] ^= 0x55;
                b
            },
            "Wrong RDB checksum expected: (",
        ),
        (
            "bad signature",
            [b"RADIS".as_slice(), &good[5..]].concat(),
            "Wrong signature trying to load DB from file",
        ),
        (
            "future version",
            [b"REDIS0011".as_slice(), &good[9..]].concat(),
            "Can't handle RDB format version 11",
        ),
        (
            "only a header",
            good[..9].to_vec(),
            "Short read or OOM loading DB",
        ),
    ];
    for (what, bytes, needle) in cases {
        std::fs::write(dir.join("dump.rdb"), &bytes).unwrap();
        let (code, log) = run_to_exit(24611, &dir, Duration::from_secs(10));
        assert_eq!(code, Some(1), "{what}: exit code; log:\n{log}");
        assert!(log.contains(needle), "{what}: no {needle:?} in:\n{log}");
        assert!(
            !log.contains("Ready to accept connections"),
            "{what}: started anyway:\n{log}"
        );
        assert!(
            log.contains("Terminating server after rdb file reading failure."),
            "{what}:\n{log}"
        );
    }
}

#[test]
fn restart_keeps_data_and_logs_like_redis() {
    let dir = scratch("restart");
    let d = dir.to_str().unwrap();
    let want = {
        let p = start_binary(24612, &["--dir", d]);
        let mut c = connect(p.port);
        populate(&mut c);
        let want = snapshot(&mut c, 16);
        let mut raw = Raw::connect(p.port);
        raw.send(&[b"SHUTDOWN", b"SAVE"]);
        let _ = raw.read_to_close();
        want
    };
    assert!(dir.join("dump.rdb").exists());
    let (code, log) = {
        // Start, let it load, read the keys, then stop it.
        let child = Command::new(env!("CARGO_BIN_EXE_server"))
            .args([
                "--port",
                "24613",
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--dir",
                d,
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        common_wait(24613);
        let mut c = connect(24613);
        assert_same(&want, &snapshot(&mut c, 16));
        let info = text(&qs(&mut c, &["INFO", "persistence"]));
        assert!(
            info.contains(&format!("rdb_last_load_keys_loaded:{}", want.len())),
            "{info}"
        );
        let mut raw = Raw::connect(24613);
        raw.send(&[b"SHUTDOWN", b"NOSAVE"]);
        let _ = raw.read_to_close();
        let out = child.wait_with_output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    assert_eq!(code, Some(0));
    let loaded = log.find("DB loaded from disk: ").expect(&log);
    let ready = log.find("Ready to accept connections").expect(&log);
    assert!(loaded < ready, "{log}");
    assert!(
        log.contains("Loading RDB produced by version 7.0.15"),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "Done loading RDB, keys loaded: {}, keys expired: 0.",
            want.len()
        )),
        "{log}"
    );
}

fn common_wait(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "port {port} never opened");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn shutdown_saves_only_when_asked_or_configured() {
    // No save points: plain SHUTDOWN does not save, SHUTDOWN SAVE does.
    let dir = scratch("shutdown");
    let d = dir.to_str().unwrap();
    let p = start_binary(24614, &["--dir", d]);
    let mut raw = Raw::connect(p.port);
    raw.cmd(&["SET", "k", "v"]);
    raw.send(&[b"SHUTDOWN"]);
    let _ = raw.read_to_close();
    drop(p);
    assert!(!dir.join("dump.rdb").exists());
    // With a save point configured, plain SHUTDOWN saves and NOSAVE does not.
    let p = start_binary(24615, &["--dir", d, "--save", "3600", "1"]);
    let mut raw = Raw::connect(p.port);
    raw.cmd(&["SET", "k", "v"]);
    raw.send(&[b"SHUTDOWN", b"NOSAVE"]);
    let _ = raw.read_to_close();
    drop(p);
    assert!(!dir.join("dump.rdb").exists());
    let p = start_binary(24616, &["--dir", d, "--save", "3600", "1"]);
    let mut raw = Raw::connect(p.port);
    raw.cmd(&["SET", "k", "v2"]);
    raw.send(&[b"SHUTDOWN"]);
    let _ = raw.read_to_close();
    drop(p);
    assert!(dir.join("dump.rdb").exists());
    let p = start_binary(24617, &["--dir", d]);
    let mut raw = Raw::connect(p.port);
    assert_eq!(raw.cmd(&["GET", "k"]), "$2\r\nv2\r\n");
    // An unwritable directory: SHUTDOWN SAVE refuses to exit.
    let p = start_binary(24618, &["--dir", d]);
    let mut raw = Raw::connect(p.port);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        raw.cmd(&["SHUTDOWN", "SAVE"]),
        "-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
    );
    assert_eq!(raw.cmd(&["SAVE"]), "-ERR\r\n");
    assert_eq!(raw.cmd(&["PING"]), "+PONG\r\n");
}

#[test]
fn bgsave_lastsave_and_info() {
    let dir = scratch("bgsave");
    let d = dir.to_str().unwrap();
    let p = start_binary(24619, &["--dir", d]);
    let mut raw = Raw::connect(p.port);
    for i in 0..50 {
        raw.cmd(&["SET", &format!("k{i}"), "v"]);
    }
    let info = raw.cmd(&["INFO", "persistence"]);
    assert!(info.contains("rdb_changes_since_last_save:50"), "{info}");
    assert!(info.contains("rdb_saves:0"), "{info}");
    assert_eq!(raw.cmd(&["BGSAVE", "NOW"]), "-ERR syntax error\r\n");
    assert_eq!(raw.cmd(&["BGSAVE"]), "+Background saving started\r\n");
    wait_file(&dir.join("dump.rdb"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info = raw.cmd(&["INFO", "persistence"]);
        if info.contains("rdb_bgsave_in_progress:0") && info.contains("rdb_saves:1") {
            assert!(info.contains("rdb_changes_since_last_save:0"), "{info}");
            assert!(info.contains("rdb_last_bgsave_status:ok"), "{info}");
            assert!(info.contains("rdb_last_bgsave_time_sec:0"), "{info}");
            break;
        }
        assert!(Instant::now() < deadline, "{info}");
        std::thread::sleep(Duration::from_millis(20));
    }
    // BGSAVE inside MULTI is deferred as Redis defers it, then runs.
    raw.cmd(&["MULTI"]);
    assert_eq!(raw.cmd(&["BGSAVE"]), "+QUEUED\r\n");
    assert_eq!(raw.cmd(&["EXEC"]), "*1\r\n+Background saving scheduled\r\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !raw.cmd(&["INFO", "persistence"]).contains("rdb_saves:2") {
        assert!(Instant::now() < deadline, "scheduled BGSAVE never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
    let last: i64 = raw
        .cmd(&["LASTSAVE"])
        .trim_start_matches(':')
        .trim()
        .parse()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - last).abs() <= 2, "{last} vs {now}");
}

#[test]
fn save_schedule_saves_after_enough_changes() {
    let dir = scratch("schedule");
    let d = dir.to_str().unwrap();
    let p = start_binary(24620, &["--dir", d, "--save", "1", "3"]);
    let mut raw = Raw::connect(p.port);
    raw.cmd(&["SET", "a", "1"]);
    raw.cmd(&["SET", "b", "2"]);
    std::thread::sleep(Duration::from_millis(2500));
    assert!(
        !dir.join("dump.rdb").exists(),
        "2 changes < 3 must not save"
    );
    raw.cmd(&["SET", "c", "3"]);
    wait_file(&dir.join("dump.rdb"));
    let deadline = Instant::now() + Duration::from_secs(5);
    while !raw
        .cmd(&["INFO", "persistence"])
        .contains("rdb_changes_since_last_save:0")
    {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A snapshot begun at an instant holds exactly that instant's keys even though clients
/// rewrite every key (and add and delete others) before it is written out.
#[test]
fn snapshot_is_point_in_time_under_concurrent_writes() {
    let node_port = 24621;
    let ours = InProcess::start(node_port, "");
    let mut c = connect(node_port);
    let n = 20_000;
    for chunk in (0..n).collect::<Vec<u32>>().chunks(1000) {
        let mut cmd = redis::cmd("MSET");
        for i in chunk {
            cmd.arg(format!("key:{i}")).arg(format!("old:{i}"));
        }
        cmd.query::<()>(&mut c).unwrap();
    }
    let plan = server::rdb::snapshot::begin(&ours.node, false, || None);
    // Writers race the snapshot writer: every key changes, some vanish, new ones appear.
    let writers: Vec<_> = (0..2)
        .map(|w| {
            std::thread::spawn(move || {
                let mut c = connect(node_port);
                for i in (w..n).step_by(2) {
                    let mut p = redis::pipe();
                    p.cmd("SET").arg(format!("key:{i}")).arg("new");
                    p.cmd("SET").arg(format!("extra:{i}")).arg("x");
                    if i % 10 == 0 {
                        p.cmd("DEL").arg(format!("key:{i}"));
                    }
                    p.query::<()>(&mut c).unwrap();
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(30));
    let mut out = Vec::new();
    let stats = server::rdb::snapshot::write(&ours.node, plan, &mut out).unwrap();
    for w in writers {
        w.join().unwrap();
    }
    assert_eq!(stats.keys, u64::from(n));
    let fresh = Arc::new(Node::new(Arc::new(
        ConfigStore::from_conf_text("").unwrap(),
    )));
    let loaded = server::rdb::load_into(&fresh, &out, server::rdb::LoadOpts::default()).unwrap();
    assert_eq!(loaded.keys_loaded, u64::from(n));
    let db = fresh.db(0);
    for i in 0..n {
        let k = format!("key:{i}");
        let slot = server::keyspace::key_slot(k.as_bytes());
        let mut shard = db.lock_slot(slot);
        let e = shard.get_mut(slot, k.as_bytes(), 0).unwrap();
        match e.value() {
            server::keyspace::Value::Str(s) => {
                assert_eq!(s.to_vec(), format!("old:{i}").into_bytes())
            }
            other => panic!("{other:?}"),
        }
    }
    // And the live node did change.
    assert_eq!(text(&qs(&mut c, &["GET", "key:1"])), "new");
}

/// SIGTERM with save points configured saves before exiting, as redis-server does.
#[test]
fn sigterm_saves_when_save_points_exist() {
    let dir = scratch("sigterm");
    let mut p = start_binary(
        24622,
        &["--dir", dir.to_str().unwrap(), "--save", "3600", "1"],
    );
    let mut raw = Raw::connect(p.port);
    raw.cmd(&["SET", "k", "v"]);
    let term = Command::new("kill")
        .args(["-TERM", &p.child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while p.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(p);
    let p = start_binary(24623, &["--dir", dir.to_str().unwrap()]);
    let mut raw = Raw::connect(p.port);
    assert_eq!(raw.cmd(&["GET", "k"]), "$1\r\nv\r\n");
}
