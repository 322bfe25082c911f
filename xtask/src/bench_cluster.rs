//! `cargo xtask bench --cluster`: three of our masters (release build, one worker thread
//! each) and three redis-server 7.0 masters, cluster-enabled, no replicas, each node in its
//! own temporary directory, formed by `redis-cli --cluster create`; then
//! `redis-benchmark --cluster -t set,get -P 16` against each cluster in turn (A, B, A, B),
//! same flags, and a table of requests per second and their ratio (ours / redis-server).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::resp::call;

/// Client ports of our three masters (bus ports +10000).
const OUR_PORTS: [u16; 3] = [24110, 24111, 24112];
/// Client ports of the three redis-server masters.
const REDIS_PORTS: [u16; 3] = [24410, 24411, 24412];
/// Tests run, in redis-benchmark's names.
const TESTS: [&str; 2] = ["set", "get"];

/// A node process and its directory, killed by PID (SIGKILL) and removed when dropped.
pub(crate) struct Node {
    child: Child,
    dir: PathBuf,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start(program: &Path, port: u16, ours: bool) -> Result<Node, String> {
    let cluster = [
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        "nodes.conf",
        "--cluster-node-timeout",
        "5000",
    ];
    start_with(program, port, ours, &cluster)
}

/// A node of `program` in a fresh directory, with `extra` arguments (cluster mode and the
/// like) after the common ones.
pub(crate) fn start_with(
    program: &Path,
    port: u16,
    ours: bool,
    extra: &[&str],
) -> Result<Node, String> {
    let dir =
        std::env::temp_dir().join(format!("xtask-bench-cluster-{port}-{}", std::process::id()));
    crate::bench::fresh_dir(&dir)?;
    let mut cmd = Command::new(program);
    cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(extra)
        .args(["--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(&dir)
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if ours {
        // One worker thread: the single core each redis-server event loop gets.
        cmd.args(["--io-threads", "1"]);
    }
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
    let node = Node { child, dir };
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if call(port, &["PING"]).is_ok_and(|r| r.is("PONG")) {
            return Ok(node);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!(
        "{} did not answer on port {port}",
        program.display()
    ))
}

/// Three masters of `program`, formed into a cluster covering every slot.
fn cluster(program: &Path, ports: [u16; 3], ours: bool) -> Result<Vec<Node>, String> {
    let mut nodes = Vec::new();
    for p in ports {
        nodes.push(start(program, p, ours)?);
    }
    create(&ports, 0)?;
    Ok(nodes)
}

/// `redis-cli --cluster create` of the nodes on `ports` with `replicas` replicas per
/// master, then waits for cluster_state:ok on every one.
pub(crate) fn create(ports: &[u16], replicas: u32) -> Result<(), String> {
    let addrs: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let out = Command::new("redis-cli")
        .args(["--cluster", "create"])
        .args(&addrs)
        .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
        .output()
        .map_err(|e| format!("cannot run redis-cli: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&out.stdout)
        ));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let ok = ports.iter().all(|&p| {
            call(p, &["CLUSTER", "INFO"])
                .is_ok_and(|r| r.text().is_ok_and(|t| t.contains("cluster_state:ok")))
        });
        if ok {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err("the cluster did not reach cluster_state:ok".into())
}

/// Requests per second of each test, from one `redis-benchmark --cluster` run.
fn bench(port: u16, requests: u64) -> Result<Vec<f64>, String> {
    let out = Command::new("redis-benchmark")
        .args(["--cluster", "-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-c", "50", "-n", &requests.to_string(), "-P", "16"])
        .args(["-r", "100000", "-t", &TESTS.join(","), "--csv", "-q"])
        .output()
        .map_err(|e| format!("cannot run redis-benchmark: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || text.contains("Error") {
        return Err(format!("redis-benchmark failed: {text}"));
    }
    TESTS
        .iter()
        .map(|t| {
            let want = format!("\"{}\"", t.to_ascii_uppercase());
            text.lines()
                .find(|l| l.starts_with(&want))
                .and_then(|l| l.split(',').nth(1))
                .and_then(|f| f.trim_matches('"').parse().ok())
                .ok_or_else(|| format!("no {t} result from redis-benchmark: {text}"))
        })
        .collect()
}

fn best(runs: &[Vec<f64>], i: usize) -> f64 {
    runs.iter()
        .filter_map(|r| r.get(i))
        .fold(0.0, |a: f64, b| a.max(*b))
}

/// Runs the comparison; `ours` is the release binary.
pub fn run(ours: &Path, requests: u64, rounds: u32) -> Result<(), String> {
    let mine = cluster(ours, OUR_PORTS, true)?;
    let theirs = cluster(Path::new("redis-server"), REDIS_PORTS, false)?;
    println!(
        "\nredis-benchmark --cluster -c 50 -n {requests} -P 16 -r 100000, three masters each, best of {rounds} alternating rounds\n"
    );
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..rounds.max(1) {
        a.push(bench(OUR_PORTS[0], requests)?);
        b.push(bench(REDIS_PORTS[0], requests)?);
    }
    println!(
        "{:<6} | {:>12} {:>12} | {:>6}",
        "test", "ours rps", "redis rps", "ratio"
    );
    for (i, t) in TESTS.iter().enumerate() {
        let (o, r) = (best(&a, i), best(&b, i));
        let ratio = if r > 0.0 { o / r } else { 0.0 };
        println!(
            "{:<6} | {:>12.0} {:>12.0} | {:>6.2}",
            t.to_ascii_uppercase(),
            o,
            r,
            ratio
        );
    }
    drop(mine);
    drop(theirs);
    Ok(())
}
