//! `--cluster` against six nodes of OUR server (`target/<profile>/server`, built by the test
//! with `cargo build -p server`): create with replicas, then check, info and call print
//! exactly what the real redis-cli 7.0.15 prints on the same cluster; reshard moves empty slots
//! and slots with keys (our MIGRATE), rebalance evens the masters out, and no key is lost; on a
//! terminal, info adds its table and reshard its progress bar and summary; a seventh node is
//! added, given slots, drained and deleted; fix closes an open slot.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::cli_path;

/// One node of our server; killed (by its PID) when dropped.
struct OurNode {
    child: Child,
    dir: PathBuf,
}

impl Drop for OurNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn server_binary() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "-p", "server"])
        .current_dir(&root)
        .status()
        .unwrap();
    assert!(status.success(), "cargo build -p server failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    target.join("debug").join("server")
}

fn start(bin: &PathBuf, port: u16) -> OurNode {
    let dir = std::env::temp_dir().join(format!("cli-lite-ours-{port}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port {port} is already in use"
    );
    let conf = format!(
        "port {port}\nbind 127.0.0.1\ncluster-enabled yes\ncluster-config-file nodes.conf\n\
         cluster-node-timeout 15000\ndir {}\nsave \"\"\nappendonly no\n",
        dir.display()
    );
    std::fs::write(dir.join("redis.conf"), conf).unwrap();
    let child = Command::new(bin)
        .arg(dir.join("redis.conf"))
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let node = OurNode { child, dir };
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "our server on {port} did not start"
        );
        sleep(Duration::from_millis(50));
    }
    node
}

fn run(program: &str, args: &[&str]) -> (String, i32) {
    let out = Command::new(program)
        .args(args)
        .env("TERM", "dumb")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        out.status.code().unwrap_or(-1),
    )
}

const BASE: u16 = 18160;

/// The check is clean and every node in the cluster is ok and knows all the others (a node
/// alone in its own cluster, never added or deleted, is left out).
fn settled() -> bool {
    let (out, rc) = run("redis-cli", &["--cluster", "check", "127.0.0.1:18160"]);
    let mut known = Vec::new();
    for i in 0..7 {
        let port = (BASE + i).to_string();
        let (info, rc) = run("redis-cli", &["-p", &port, "cluster", "info"]);
        if rc != 0 || info.is_empty() || info.contains("Connection refused") {
            continue;
        }
        let n = info
            .lines()
            .find_map(|l| l.trim().strip_prefix("cluster_known_nodes:"))
            .unwrap_or("0")
            .to_owned();
        if n == "1" {
            continue;
        }
        if !info.contains("cluster_state:ok") {
            return false;
        }
        known.push(n);
    }
    rc == 0 && out.contains("[OK] All nodes agree") && known.windows(2).all(|w| w[0] == w[1])
}

fn settle() {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !settled() {
        assert!(Instant::now() < deadline, "our cluster never settled");
        sleep(Duration::from_millis(200));
    }
}

#[test]
fn create_check_info_call_reshard_on_our_nodes() {
    let bin = server_binary();
    let _nodes: Vec<OurNode> = (0..6).map(|i| start(&bin, BASE + i)).collect();
    let addrs: Vec<String> = (0..6).map(|i| format!("127.0.0.1:{}", BASE + i)).collect();
    let mut args = vec!["--cluster", "create"];
    args.extend(addrs.iter().map(String::as_str));
    args.extend(["--cluster-replicas", "1", "--cluster-yes"]);
    let (out, rc) = run(cli_path(), &args);
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("[OK] All 16384 slots covered."), "{out}");
    settle();

    let keys: String = (0..300)
        .map(|i| format!("SET key:{i} value:{i}\n"))
        .collect();
    let out = common::cli(&["-c", "-p", &BASE.to_string()], keys.as_bytes());
    assert!(out.status.success());

    for sub in [
        vec!["--cluster", "check", addrs[0].as_str()],
        vec!["--cluster", "info", addrs[1].as_str()],
        vec!["--cluster", "call", addrs[0].as_str(), "DBSIZE"],
    ] {
        let real = run("redis-cli", &sub);
        let ours = run(cli_path(), &sub);
        assert_eq!(ours, real, "{sub:?}");
    }

    // key:0..299 leave slots 0-90 empty: 50 of them move without MIGRATE.
    let id = |i: u16| {
        run(
            "redis-cli",
            &["-p", &(BASE + i).to_string(), "cluster", "myid"],
        )
        .0
        .trim()
        .to_owned()
    };
    let (out, rc) = run(
        cli_path(),
        &[
            "--cluster",
            "reshard",
            &addrs[0],
            "--cluster-from",
            &id(0),
            "--cluster-to",
            &id(1),
            "--cluster-slots",
            "50",
            "--cluster-yes",
        ],
    );
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("Moving slot 49 from 127.0.0.1:18160 to 127.0.0.1:18161: \n"));
    settle();
    let (check, rc) = run(cli_path(), &["--cluster", "check", &addrs[0]]);
    assert_eq!(rc, 0, "{check}");
    assert!(
        check.contains("slots:[0-49],[5461-10922] (5512 slots) master"),
        "{check}"
    );
    // No key lost or duplicated among the masters.
    let (info, _) = run(cli_path(), &["--cluster", "info", &addrs[0]]);
    assert!(info.contains("[OK] 300 keys in 3 masters."), "{info}");
    settle();

    // On a terminal: the table after info, a progress bar and a summary for reshard.
    let hist = std::env::temp_dir().join(format!("cli-lite-ours-hist-{}", std::process::id()));
    let mut term = common::Terminal::start(&format!("--cluster info {}", addrs[0]), &hist);
    term.expect("[OK] 300 keys in 3 masters.");
    term.expect("ranges");
    term.expect("[50-5460]");
    term.expect("3 masters");
    drop(term);
    let mut term = common::Terminal::start(
        &format!(
            "--cluster reshard {} --cluster-from {} --cluster-to {} --cluster-slots 10 --cluster-yes",
            addrs[0],
            id(0),
            id(2)
        ),
        &hist,
    );
    term.expect("Resharding plan:");
    term.expect("    Moving slot 59 from ");
    term.expect("[OK] Moved 10 slots (0 keys) to 127.0.0.1:18162");
    let status = term.child.wait().unwrap();
    assert!(status.success());
    settle();

    // Slots with keys: MIGRATE on our nodes (key:248 is in slot 91), then a rebalance of the
    // uneven layout; no key is lost and every key reads back through -c.
    let trace = std::env::temp_dir().join(format!("cli-lite-ours-trace-{}", std::process::id()));
    let _ = std::fs::remove_file(&trace);
    let out = Command::new(cli_path())
        .args([
            "--cluster",
            "reshard",
            &addrs[0],
            "--cluster-from",
            &id(0),
            "--cluster-to",
            &id(1),
        ])
        .args(["--cluster-slots", "100", "--cluster-yes"])
        .env("TERM", "dumb")
        .env("REDIS_CLI_LITE_TRACE", &trace)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("Moving slot 91 from 127.0.0.1:18160 to 127.0.0.1:18161: .\n"),
        "{text}"
    );
    let sent = std::fs::read_to_string(&trace).unwrap();
    let _ = std::fs::remove_file(&trace);
    assert!(
        sent.contains("18160 MIGRATE 127.0.0.1 18161 \"\" 0 60000 KEYS key:248\n"),
        "{sent}"
    );
    settle();
    let (out, rc) = run(cli_path(), &["--cluster", "rebalance", &addrs[0]]);
    assert_eq!(rc, 0, "{out}");
    assert!(
        out.contains(">>> Rebalancing across 3 nodes. Total weight = 3.00"),
        "{out}"
    );
    settle();
    let (info, _) = run(cli_path(), &["--cluster", "info", &addrs[0]]);
    assert!(info.contains("[OK] 300 keys in 3 masters."), "{info}");
    let gets: String = (0..300).map(|i| format!("GET key:{i}\n")).collect();
    let out = common::cli(&["-c", "-p", &BASE.to_string()], gets.as_bytes());
    let values: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("value:"))
        .map(str::to_owned)
        .collect();
    let expected: Vec<String> = (0..300).map(|i| format!("value:{i}")).collect();
    assert_eq!(values, expected);

    // A seventh node joins as a master, takes its share of slots and keys, is drained again
    // (weight 0) and removed.
    let _seventh = start(&bin, BASE + 6);
    let new = format!("127.0.0.1:{}", BASE + 6);
    let (out, rc) = run(cli_path(), &["--cluster", "add-node", &new, &addrs[0]]);
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("[OK] New node added correctly."), "{out}");
    let state_ok = |port: u16| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !run("redis-cli", &["-p", &port.to_string(), "cluster", "info"])
            .0
            .contains("cluster_state:ok")
        {
            assert!(Instant::now() < deadline, "{port} never ok");
            sleep(Duration::from_millis(200));
        }
    };
    settle();
    state_ok(BASE + 6);
    // (A full rebalance onto it moves 4096 slots: slow on a debug build; 200 slots with keys
    // there and back make the same point.)
    let reshard = |from: u16, to: u16| {
        let (out, rc) = run(
            cli_path(),
            &[
                "--cluster",
                "reshard",
                &addrs[0],
                "--cluster-from",
                &id(from),
                "--cluster-to",
                &id(to),
                "--cluster-slots",
                "200",
                "--cluster-yes",
            ],
        );
        assert_eq!(rc, 0, "{out}");
        settle();
        state_ok(BASE + 6);
    };
    reshard(1, 6);
    let (info, _) = run(cli_path(), &["--cluster", "info", &addrs[0]]);
    assert!(info.contains("[OK] 300 keys in 4 masters."), "{info}");
    let line = info
        .lines()
        .find(|l| l.starts_with(&new))
        .unwrap_or_default()
        .to_owned();
    assert!(
        line.contains("| 200 slots |") && !line.contains("-> 0 keys"),
        "{info}"
    );
    reshard(6, 0);
    let (out, rc) = run(cli_path(), &["--cluster", "del-node", &addrs[0], &id(6)]);
    assert_eq!(rc, 0, "{out}");
    assert!(
        out.contains(">>> Sending CLUSTER RESET SOFT to the deleted node."),
        "{out}"
    );
    settle();
    let (info, _) = run(cli_path(), &["--cluster", "info", &addrs[0]]);
    assert!(info.contains("[OK] 300 keys in 3 masters."), "{info}");

    // An open slot left by hand (node1 MIGRATING an empty slot of its own): check warns and
    // exits 1, fix closes it.
    let (nodes, _) = run(
        "redis-cli",
        &["-p", &(BASE + 1).to_string(), "cluster", "nodes"],
    );
    let mine = nodes
        .lines()
        .find(|l| l.contains("myself"))
        .unwrap()
        .to_owned();
    let slot = mine
        .split(' ')
        .skip(8)
        .flat_map(|r| {
            let (a, b) = r.split_once('-').unwrap_or((r, r));
            a.parse::<usize>().unwrap()..=b.parse::<usize>().unwrap()
        })
        .find(|s| {
            run(
                "redis-cli",
                &[
                    "-p",
                    &(BASE + 1).to_string(),
                    "cluster",
                    "countkeysinslot",
                    &s.to_string(),
                ],
            )
            .0
            .trim()
                == "0"
        })
        .unwrap();
    run(
        "redis-cli",
        &[
            "-p",
            &(BASE + 1).to_string(),
            "cluster",
            "setslot",
            &slot.to_string(),
            "migrating",
            &id(2),
        ],
    );
    let (out, rc) = run(cli_path(), &["--cluster", "check", &addrs[0]]);
    assert_eq!(rc, 1, "{out}");
    assert!(
        out.contains(&format!(
            "[WARNING] Node {} has slots in migrating state {slot}.",
            addrs[1]
        )),
        "{out}"
    );
    let (out, rc) = run(
        cli_path(),
        &["--cluster", "fix", &addrs[0], "--cluster-yes"],
    );
    assert_eq!(rc, 0, "{out}");
    assert!(
        out.contains(&format!(">>> Case 4: Closing slot {slot} on {}", addrs[1])),
        "{out}"
    );
    settle();
}
