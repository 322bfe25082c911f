//! `cargo xtask bench --failover`: our node (release build) and redis-server 7.0 in turn,
//! each as a 3-master / 3-replica cluster with the same node timeout. A writer does SET +
//! `WAIT 1` continuously; one master is killed (SIGKILL); measured: kill-to-writable (the
//! first SET answered +OK by the promoted replica on a key of the killed master's slots) and
//! acknowledged writes lost (every acknowledged key read back afterwards). Then the time of
//! a full resync of N keys (DEBUG POPULATE on a master, REPLICAOF from an empty node, until
//! master_link_status:up and DBSIZE == N). Prints a table with ratios (ours / redis-server).

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cluster_core::keyslot::key_slot;

use crate::bench_cluster::{create, start_with, Node};
use crate::resp::{call, Conn, Reply};

/// First client port of a run's cluster: run r of ours on 19200+20r.., of redis on
/// 19210+20r.. (bus ports +10000 stay under 32768).
const CLUSTER_BASE: u16 = 19200;
/// Full-sync nodes: master, then replica.
const OUR_SYNC: [u16; 2] = [26200, 26201];
const REDIS_SYNC: [u16; 2] = [26210, 26211];
/// WAIT's timeout (ms): long enough for a live replica, short enough that a master left
/// without one (the promoted node) does not stall the writer.
const WAIT_MS: &str = "200";
/// How long a node has to answer one command.
const TIMEOUT: Duration = Duration::from_secs(5);

/// One side of the comparison.
#[derive(Clone, Copy)]
struct Side {
    name: &'static str,
    ours: bool,
}

/// A cluster client for the writer and the read-back: routes by slot, learns from MOVED,
/// and on a dead node tries the next one in turn.
struct Router {
    ports: Vec<u16>,
    route: HashMap<u16, u16>,
    conns: HashMap<u16, Conn>,
}

enum Outcome {
    /// The reply and the node that gave it.
    Reply(Reply, u16),
    Failed,
}

impl Router {
    fn new(ports: &[u16]) -> Router {
        Router {
            ports: ports.to_vec(),
            route: HashMap::new(),
            conns: HashMap::new(),
        }
    }

    fn on(&mut self, port: u16, args: &[&str]) -> Result<Reply, String> {
        let c = match self.conns.entry(port) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(Conn::open("127.0.0.1", port, TIMEOUT)?)
            }
        };
        let r = c.call(args);
        if r.is_err() {
            self.conns.remove(&port);
        }
        r
    }

    fn next_port(&self, port: u16) -> u16 {
        let i = self.ports.iter().position(|&p| p == port).unwrap_or(0);
        self.ports
            .get((i + 1) % self.ports.len().max(1))
            .copied()
            .unwrap_or(port)
    }

    /// The command on the node owning `key`'s slot, a few redirections at most.
    fn keyed(&mut self, key: &str, args: &[&str]) -> Outcome {
        let slot = key_slot(key.as_bytes());
        let first = self.ports.first().copied().unwrap_or(0);
        let mut port = self.route.get(&slot).copied().unwrap_or(first);
        for _ in 0..4 {
            match self.on(port, args) {
                Err(_) => {
                    port = self.next_port(port);
                    self.route.insert(slot, port);
                }
                Ok(r) => match r
                    .text()
                    .err()
                    .as_deref()
                    .and_then(|e| e.strip_prefix("MOVED "))
                {
                    Some(rest) => {
                        let target = rest.rsplit(':').next().and_then(|p| p.parse().ok());
                        let Some(target) = target else {
                            return Outcome::Failed;
                        };
                        port = target;
                        self.route.insert(slot, port);
                    }
                    None => return Outcome::Reply(r, port),
                },
            }
        }
        Outcome::Failed
    }
}

/// What the writer saw.
#[derive(Default)]
struct Written {
    /// Keys acknowledged by a replica, with their values.
    acked: Vec<(String, String)>,
    /// When the promoted node first answered +OK to a SET on the killed master's slots.
    writable_at: Option<Instant>,
}

fn writer(
    ports: Vec<u16>,
    victim_slots: Vec<(u16, u16)>,
    heir: u16,
    stop: Arc<AtomicBool>,
) -> Written {
    let mut router = Router::new(&ports);
    let mut out = Written::default();
    let mut i: u64 = 0;
    while !stop.load(Ordering::Relaxed) {
        let key = format!("fo:{i}");
        let value = format!("v{i}");
        i += 1;
        let slot = key_slot(key.as_bytes());
        let Outcome::Reply(r, port) = router.keyed(&key, &["SET", &key, &value]) else {
            // A dead node answered nothing: no busy loop while the cluster decides.
            std::thread::sleep(Duration::from_millis(1));
            continue;
        };
        if !r.is("OK") {
            continue;
        }
        let in_victim = victim_slots.iter().any(|&(a, b)| a <= slot && slot <= b);
        if in_victim && port == heir && out.writable_at.is_none() {
            out.writable_at = Some(Instant::now());
        }
        if router
            .on(port, &["WAIT", "1", WAIT_MS])
            .is_ok_and(|r| r == Reply::Int(1))
        {
            out.acked.push((key, value));
        }
    }
    out
}

fn field(text: &str, name: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(|v| v.trim().to_string())
}

fn info(port: u16, name: &str) -> Option<String> {
    let mut c = Conn::open("127.0.0.1", port, TIMEOUT).ok()?;
    field(c.call(&["INFO", "replication"]).ok()?.text().ok()?, name)
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Err(format!("timed out waiting for {what}"))
}

/// The slot ranges of the master on `port` and the port of its replica, from CLUSTER NODES.
fn master_layout(port: u16, ports: &[u16]) -> Result<(Vec<(u16, u16)>, u16), String> {
    let nodes = call(port, &["CLUSTER", "NODES"])?;
    let nodes = nodes.text()?;
    let me = nodes
        .lines()
        .find(|l| l.contains("myself,master"))
        .ok_or_else(|| format!("{port} is not a master"))?;
    let fields: Vec<&str> = me.split(' ').collect();
    let id = fields.first().copied().unwrap_or_default();
    let slots = fields
        .iter()
        .skip(8)
        .filter_map(|r| match r.split_once('-') {
            Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
            None => r.parse().ok().map(|s| (s, s)),
        })
        .collect();
    let replica = nodes
        .lines()
        .find(|l| l.split(' ').nth(3) == Some(id) && l.contains("slave"))
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|a| a.split('@').next())
        .and_then(|a| a.rsplit(':').next())
        .and_then(|p| p.parse::<u16>().ok())
        .filter(|p| ports.contains(p))
        .ok_or_else(|| format!("no replica of {port} in:\n{nodes}"))?;
    Ok((slots, replica))
}

/// One failover run: kill-to-writable, acknowledged writes, and those lost.
struct FailoverSample {
    writable: Duration,
    acked: usize,
    lost: usize,
}

fn cluster_args(node_timeout: &str) -> [&str; 8] {
    [
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        "nodes.conf",
        "--cluster-node-timeout",
        node_timeout,
        "--repl-diskless-sync-delay",
        "0",
    ]
}

fn failover_run(
    program: &Path,
    side: Side,
    base: u16,
    node_timeout: u64,
) -> Result<FailoverSample, String> {
    let ports: Vec<u16> = (base..base + 6).collect();
    let timeout = node_timeout.to_string();
    let mut nodes: Vec<(u16, Node)> = Vec::new();
    for &p in &ports {
        nodes.push((
            p,
            start_with(program, p, side.ours, &cluster_args(&timeout))?,
        ));
    }
    create(&ports, 1)?;
    let masters: Vec<u16> = ports
        .iter()
        .copied()
        .filter(|&p| info(p, "role").as_deref() == Some("master"))
        .collect();
    let replicas: Vec<u16> = ports
        .iter()
        .copied()
        .filter(|p| !masters.contains(p))
        .collect();
    wait_for("replica links up", Duration::from_secs(30), || {
        replicas
            .iter()
            .all(|&r| info(r, "master_link_status").as_deref() == Some("up"))
    })?;
    // Failover needs every node to know the replicas for what they are.
    wait_for(
        "every node to see 3 replicas",
        Duration::from_secs(30),
        || {
            ports.iter().all(|&p| {
                call(p, &["CLUSTER", "NODES"]).is_ok_and(|r| {
                    r.text()
                        .is_ok_and(|t| t.lines().filter(|l| l.contains("slave")).count() == 3)
                })
            })
        },
    )?;
    let victim = *masters.first().ok_or("no master")?;
    let (victim_slots, heir) = master_layout(victim, &ports)?;

    let stop = Arc::new(AtomicBool::new(false));
    let handle = {
        let (ports, stop, slots) = (ports.clone(), stop.clone(), victim_slots.clone());
        std::thread::spawn(move || writer(ports, slots, heir, stop))
    };
    std::thread::sleep(Duration::from_secs(1));
    let killed_at = Instant::now();
    if let Some(i) = nodes.iter().position(|(p, _)| *p == victim) {
        drop(nodes.remove(i)); // SIGKILL by PID
    }
    let promoted = wait_for(
        "the replica's promotion",
        Duration::from_millis(node_timeout * 10 + 30_000),
        || info(heir, "role").as_deref() == Some("master"),
    );
    // A little more writing through the new master before the writer stops.
    std::thread::sleep(Duration::from_millis(1000));
    stop.store(true, Ordering::Relaxed);
    let written = handle.join().map_err(|_| "the writer panicked")?;
    promoted?;
    let writable = written
        .writable_at
        .ok_or("no write reached the promoted node")?
        .saturating_duration_since(killed_at);

    let survivors: Vec<u16> = ports.iter().copied().filter(|&p| p != victim).collect();
    let mut reader = Router::new(&survivors);
    let lost = written
        .acked
        .iter()
        .filter(|(k, v)| !matches!(reader.keyed(k, &["GET", k]), Outcome::Reply(r, _) if r.is(v)))
        .count();
    drop(nodes);
    Ok(FailoverSample {
        writable,
        acked: written.acked.len(),
        lost,
    })
}

/// Time of a full resync of `keys` keys from a master of `program` to an empty replica.
fn full_sync(program: &Path, side: Side, ports: [u16; 2], keys: u64) -> Result<Duration, String> {
    let extra = [
        "--enable-debug-command",
        "yes",
        "--repl-diskless-sync-delay",
        "0",
    ];
    let [mp, rp] = ports;
    let master = start_with(program, mp, side.ours, &extra)?;
    let replica = start_with(program, rp, side.ours, &extra)?;
    let mut m = Conn::open("127.0.0.1", mp, Duration::from_secs(600))?;
    let n = keys.to_string();
    let r = m.call(&["DEBUG", "POPULATE", &n, "key", "16"])?;
    if !r.is("OK") {
        return Err(format!("{}: DEBUG POPULATE: {r:?}", side.name));
    }
    let started = Instant::now();
    let r = call(rp, &["REPLICAOF", "127.0.0.1", &mp.to_string()])?;
    if !r.is("OK") {
        return Err(format!("{}: REPLICAOF: {r:?}", side.name));
    }
    let mut probe = Conn::open("127.0.0.1", rp, Duration::from_secs(600))?;
    wait_for("the full sync", Duration::from_secs(600), || {
        let up = probe
            .call(&["INFO", "replication"])
            .ok()
            .and_then(|r| field(r.text().ok()?, "master_link_status"))
            .as_deref()
            == Some("up");
        up && probe.call(&["DBSIZE"]) == Ok(Reply::Int(i64::try_from(keys).unwrap_or(i64::MAX)))
    })?;
    let took = started.elapsed();
    // The replica holds the master's values, not just as many keys.
    for k in [
        "key:0".to_string(),
        format!("key:{}", keys.saturating_sub(1)),
    ] {
        let want = m.call(&["GET", &k])?;
        let got = probe.call(&["GET", &k])?;
        if got != want || want == Reply::Nil {
            return Err(format!(
                "{}: {k} is {got:?} on the replica, {want:?} on the master",
                side.name
            ));
        }
    }
    drop(replica);
    drop(master);
    Ok(took)
}

/// ours / redis, or "-" when redis measured zero (no lost writes on either side, say).
fn ratio(x: f64, y: f64) -> String {
    if y > 0.0 {
        format!("{:.2}", x / y)
    } else {
        "-".into()
    }
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Runs the comparison; `ours` is the release binary.
pub fn run(ours: &Path, runs: u32, node_timeout: u64, keys: u64) -> Result<(), String> {
    let sides = [
        (
            Side {
                name: "ours",
                ours: true,
            },
            ours,
        ),
        (
            Side {
                name: "redis",
                ours: false,
            },
            Path::new("redis-server"),
        ),
    ];
    let mut samples: [Vec<FailoverSample>; 2] = [Vec::new(), Vec::new()];
    for run in 0..runs.max(1) {
        for (i, (side, program)) in sides.iter().enumerate() {
            let base = CLUSTER_BASE + 20 * (run as u16 % 5) + 10 * i as u16;
            let s = failover_run(program, *side, base, node_timeout)
                .map_err(|e| format!("{} failover run {}: {e}", side.name, run + 1))?;
            println!(
                "{:<5} run {}: writable after {:>6.0} ms, {} acknowledged writes, {} lost",
                side.name,
                run + 1,
                s.writable.as_secs_f64() * 1000.0,
                s.acked,
                s.lost
            );
            if let Some(v) = samples.get_mut(i) {
                v.push(s);
            }
        }
    }
    let mut sync = Vec::new();
    for ((side, program), ports) in sides.iter().zip([OUR_SYNC, REDIS_SYNC]) {
        let t = full_sync(program, *side, ports, keys)?;
        println!(
            "{:<5} full sync of {keys} keys: {:.0} ms",
            side.name,
            t.as_secs_f64() * 1000.0
        );
        sync.push(t.as_secs_f64() * 1000.0);
    }

    let [ours_s, redis_s] = &samples;
    let ms = |v: &[FailoverSample]| -> Vec<f64> {
        v.iter()
            .map(|s| s.writable.as_secs_f64() * 1000.0)
            .collect()
    };
    let lost = |v: &[FailoverSample]| v.iter().map(|s| s.lost as f64).sum::<f64>();
    let acked = |v: &[FailoverSample]| v.iter().map(|s| s.acked as f64).sum::<f64>();
    let (o_ms, r_ms) = (ms(ours_s), ms(redis_s));
    let (o_sync, r_sync) = (
        sync.first().copied().unwrap_or(0.0),
        sync.get(1).copied().unwrap_or(0.0),
    );
    println!(
        "\n3 masters + 3 replicas each, cluster-node-timeout {node_timeout} ms, SET + WAIT 1 {WAIT_MS}, kill -9 of one master, {runs} run(s) each\n"
    );
    println!(
        "{:<36} | {:>12} {:>12} | {:>6}",
        "measure", "ours", "redis", "ratio"
    );
    let row = |name: &str, o: f64, r: f64| {
        println!(
            "{:<36} | {:>12.0} {:>12.0} | {:>6}",
            name,
            o,
            r,
            ratio(o, r)
        );
    };
    row("kill-to-writable, mean (ms)", mean(&o_ms), mean(&r_ms));
    let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    row("kill-to-writable, min (ms)", min(&o_ms), min(&r_ms));
    row("kill-to-writable, max (ms)", max(&o_ms), max(&r_ms));
    row(
        "acknowledged writes (all runs)",
        acked(ours_s),
        acked(redis_s),
    );
    row("acknowledged writes lost", lost(ours_s), lost(redis_s));
    row(&format!("full sync of {keys} keys (ms)"), o_sync, r_sync);
    Ok(())
}
