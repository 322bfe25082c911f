//! `cargo xtask bench`: our node (release build) and redis-server 7.0, same settings, same
//! CPU pinning, measured in turn (A, B, A, B) by redis-benchmark: the string commands, then
//! the data-type commands (redis-benchmark's own LPUSH ... LRANGE_100 tests); then memory as
//! RSS after loading the same data into each (DEBUG POPULATE strings, small hashes, sets,
//! sorted sets). Prints throughput, latency, server CPU time per request and memory ratios
//! (ours / redis-server).
//!
//! With no selector everything runs; `--strings`, `--types[=lpush,zadd,...]` and
//! `--memory[=strings,hashes,sets,zsets]` pick parts so a run stays short; `--replica` gives
//! each master a replica, as in a production cluster.

mod load;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::resp::{call, Conn};

/// Options of `cargo xtask bench`.
#[derive(clap::Args)]
pub struct BenchArgs {
    /// Requests per redis-benchmark run.
    #[arg(long, default_value_t = 200_000)]
    requests: u64,
    /// Rounds per side (A, B, A, B...); the best round of each side is reported.
    #[arg(long, default_value_t = 2)]
    rounds: u32,
    /// Keys loaded for the memory comparison.
    #[arg(long, default_value_t = 1_000_000)]
    keys: u64,
    /// CPU list the servers are pinned to (taskset -c).
    #[arg(long, default_value = "0")]
    server_cpus: String,
    /// CPU list redis-benchmark is pinned to.
    #[arg(long, default_value = "1")]
    client_cpus: String,
    /// Skip the memory comparison.
    #[arg(long)]
    no_memory: bool,
    /// Give each master one replica of its own kind, as every master of a production
    /// cluster has: the throughput tables then include streaming each write to it and
    /// applying it there. The replica shares the servers' CPUs, so the client's core stays
    /// the client's alone and the servers' side pays for both.
    #[arg(long)]
    replica: bool,
    /// Run the string throughput suite (SET GET INCR MSET).
    #[arg(long)]
    strings: bool,
    /// Run the data-type throughput suite, all of it or the comma-separated tests named.
    #[arg(long, num_args = 0..=1, default_missing_value = "all", value_name = "TESTS")]
    types: Option<String>,
    /// Run the memory comparisons, all of them or the comma-separated ones named
    /// (strings, hashes, sets, zsets).
    #[arg(long, num_args = 0..=1, default_missing_value = "all", value_name = "RUNS")]
    memory: Option<String>,
    /// Compare three-master clusters instead: redis-benchmark --cluster -t set,get -P 16
    /// against three of our masters and three redis-server masters.
    #[arg(long)]
    cluster: bool,
    /// Compare failover instead: 3+3 clusters, SET + WAIT 1 under a kill -9 of a master
    /// (kill-to-writable, acknowledged writes lost), then a full sync of --keys keys.
    #[arg(long)]
    failover: bool,
    /// Failover runs per side.
    #[arg(long, default_value_t = 3)]
    runs: u32,
    /// cluster-node-timeout (ms) of the failover clusters.
    #[arg(long, default_value_t = 2000)]
    node_timeout: u64,
}

/// redis-benchmark's data-type tests, in the order redis-benchmark itself runs them (so the
/// pops find what the pushes left, on both servers alike).
const TYPE_TESTS: [&str; 10] = [
    "lpush",
    "rpush",
    "lpop",
    "rpop",
    "sadd",
    "hset",
    "spop",
    "zadd",
    "zpopmin",
    "lrange_100",
];

const MEMORY_RUNS: [&str; 4] = ["strings", "hashes", "sets", "zsets"];

// Apart from the ports the server's tests use (24000-24089 / 24300-24389).
const OUR_PORT: u16 = 24290;
const REDIS_PORT: u16 = 24590;
/// The replicas' ports (`--replica`).
const OUR_REPLICA_PORT: u16 = 24291;
const REDIS_REPLICA_PORT: u16 = 24591;

/// Which parts of the benchmark run.
struct Plan {
    strings: bool,
    types: Vec<&'static str>,
    memory: Vec<&'static str>,
}

/// Picks the names of `known` listed in `spec` ("all" for every one).
fn select(spec: &str, known: &[&'static str], what: &str) -> Result<Vec<&'static str>, String> {
    if spec == "all" {
        return Ok(known.to_vec());
    }
    let mut out = Vec::new();
    for name in spec.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let lower = name.to_ascii_lowercase();
        match known.iter().find(|k| **k == lower) {
            Some(k) => out.push(*k),
            None => {
                return Err(format!(
                    "unknown {what} '{name}' (known: {})",
                    known.join(",")
                ))
            }
        }
    }
    Ok(out)
}

impl Plan {
    fn from_args(args: &BenchArgs) -> Result<Plan, String> {
        let any = args.strings || args.types.is_some() || args.memory.is_some();
        let types = match &args.types {
            Some(spec) => select(spec, &TYPE_TESTS, "type test")?,
            None if !any => TYPE_TESTS.to_vec(),
            None => Vec::new(),
        };
        let memory = match &args.memory {
            Some(spec) => select(spec, &MEMORY_RUNS, "memory run")?,
            None if !any && !args.no_memory => MEMORY_RUNS.to_vec(),
            None => Vec::new(),
        };
        Ok(Plan {
            strings: args.strings || !any,
            types,
            memory,
        })
    }
}

/// A server process, killed by PID when dropped.
struct Server {
    port: u16,
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

fn has_taskset() -> bool {
    Command::new("taskset")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn pinned(cpus: &str, program: &str) -> Command {
    if has_taskset() {
        let mut c = Command::new("taskset");
        c.args(["-c", cpus, program]);
        c
    } else {
        Command::new(program)
    }
}

fn common_args(port: u16) -> Vec<String> {
    [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(["--enable-debug-command".into(), "yes".into()])
    .collect()
}

/// Creates `dir` empty: an RDB left there by an earlier run would be loaded at start.
pub(crate) fn fresh_dir(dir: &Path) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

fn start(
    name: &'static str,
    program: &str,
    extra: &[&str],
    port: u16,
    cpus: &str,
) -> Result<Server, String> {
    // Its own directory: a replica writes the RDB of its full sync there.
    let dir = workspace_root().join("target/bench").join(port.to_string());
    fresh_dir(&dir)?;
    let child = pinned(cpus, program)
        .args(common_args(port))
        .arg("--dir")
        .arg(&dir)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    let server = Server { port, child };
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if call(port, &["PING"]).is_ok_and(|r| r.is("PONG")) {
            return Ok(server);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("{name} did not answer on port {port}"))
}

#[derive(Clone, Copy, Default)]
struct Sample {
    rps: f64,
    p50: f64,
    p99: f64,
    /// Server CPU time (all threads, user + kernel) per request, in nanoseconds: what the
    /// server spent, which other load on the machine disturbs far less than throughput.
    cpu_ns: f64,
    /// The share of its run redis-benchmark spent on the CPU: near 1.0, the client is what
    /// limits throughput, and the server's speed no longer shows in it.
    client_busy: f64,
}

/// CPU time (user + system) of this process's waited-for children, in seconds.
fn children_cpu_s() -> f64 {
    use nix::sys::resource::{getrusage, UsageWho};
    getrusage(UsageWho::RUSAGE_CHILDREN).map_or(0.0, |u| {
        let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
        secs(u.user_time()) + secs(u.system_time())
    })
}

/// Nanoseconds a process's threads have run (the sum of their schedstat run times); 0
/// where /proc has no schedstat.
fn cpu_time_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// The CSV line redis-benchmark prints for `test` ("LRANGE_100 (first 100 elements)" for
/// lrange_100, after the LPUSH it runs to fill the list).
fn result_line<'a>(text: &'a str, test: &str) -> Option<&'a str> {
    let want = format!("\"{}", test.to_ascii_uppercase());
    text.lines().find(|l| {
        l.strip_prefix(&want)
            .is_some_and(|rest| rest.starts_with('"') || rest.starts_with(' '))
    })
}

fn run_benchmark(
    args: &BenchArgs,
    server: &Server,
    test: &str,
    pipeline: u32,
    size: u32,
) -> Result<Sample, String> {
    let port = server.port;
    let cpu_before = cpu_time_ns(server.child.id());
    let (client_before, started) = (children_cpu_s(), Instant::now());
    let out = pinned(&args.client_cpus, "redis-benchmark")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-c",
            "50",
            "-n",
            &args.requests.to_string(),
        ])
        .args([
            "-P",
            &pipeline.to_string(),
            "-d",
            &size.to_string(),
            "-r",
            "100000",
            "-t",
            test,
            "--csv",
            "-q",
        ])
        .output()
        .map_err(|e| format!("cannot run redis-benchmark: {e}"))?;
    let cpu = cpu_time_ns(server.child.id()).saturating_sub(cpu_before);
    let client_busy = ratio(
        children_cpu_s() - client_before,
        started.elapsed().as_secs_f64(),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let line = result_line(&text, test)
        .ok_or_else(|| format!("no {test} result from redis-benchmark: {text}"))?;
    let fields: Vec<f64> = line
        .split(',')
        .skip(1)
        .map(|f| f.trim_matches('"').parse().unwrap_or(0.0))
        .collect();
    let get = |i: usize| fields.get(i).copied().unwrap_or(0.0);
    Ok(Sample {
        rps: get(0),
        p50: get(3),
        p99: get(5),
        cpu_ns: cpu as f64 / args.requests.max(1) as f64,
        client_busy,
    })
}

/// The round with the best throughput, with the least CPU per request of any round.
fn best(samples: &[Sample]) -> Sample {
    let mut b = samples
        .iter()
        .copied()
        .fold(Sample::default(), |b, s| if s.rps > b.rps { s } else { b });
    b.cpu_ns = samples
        .iter()
        .map(|s| s.cpu_ns)
        .filter(|&c| c > 0.0)
        .fold(f64::INFINITY, f64::min);
    if !b.cpu_ns.is_finite() {
        b.cpu_ns = 0.0;
    }
    b
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn ratio(x: f64, y: f64) -> f64 {
    if y > 0.0 {
        x / y
    } else {
        0.0
    }
}

/// Throughput of each case on both servers, alternating, printed as a table.
fn throughput(
    args: &BenchArgs,
    ours: &Server,
    redis: &Server,
    cases: &[(&str, u32, u32)],
) -> Result<(), String> {
    println!(
        "\nredis-benchmark -c 50 -n {} -r 100000, servers on cpu {}, client on cpu {}, best of {} alternating rounds; cpu: server CPU ns per request (least of the rounds); cli: share of the best round redis-benchmark spent on its CPU (near 1.00: the client limits throughput)\n",
        args.requests, args.server_cpus, args.client_cpus, args.rounds
    );
    println!(
        "{:<10} {:>3} {:>5} | {:>12} {:>12} {:>6} | {:>6} {:>6} | {:>6} {:>6} | {:>5} {:>5} | {:>6} {:>6} {:>5} | {:>5} {:>5}",
        "test",
        "P",
        "size",
        "ours rps",
        "redis rps",
        "ratio",
        "p50 o",
        "p50 r",
        "p99 o",
        "p99 r",
        "p50×",
        "p99×",
        "cpu o",
        "cpu r",
        "cpu×",
        "cli o",
        "cli r"
    );
    for &(test, pipeline, size) in cases {
        let mut a = Vec::new();
        let mut b = Vec::new();
        for _ in 0..args.rounds {
            a.push(run_benchmark(args, ours, test, pipeline, size)?);
            b.push(run_benchmark(args, redis, test, pipeline, size)?);
        }
        let (o, r) = (best(&a), best(&b));
        println!(
            "{:<10} {:>3} {:>5} | {:>12.0} {:>12.0} {:>6.2} | {:>6.3} {:>6.3} | {:>6.3} {:>6.3} | {:>5.2} {:>5.2} | {:>6.0} {:>6.0} {:>5.2} | {:>5.2} {:>5.2}",
            test.to_uppercase(),
            pipeline,
            size,
            o.rps,
            r.rps,
            ratio(o.rps, r.rps),
            o.p50,
            r.p50,
            o.p99,
            r.p99,
            ratio(o.p50, r.p50),
            ratio(o.p99, r.p99),
            o.cpu_ns,
            r.cpu_ns,
            ratio(o.cpu_ns, r.cpu_ns),
            o.client_busy,
            r.client_busy
        );
    }
    Ok(())
}

fn start_ours(args: &BenchArgs, bin: &str) -> Result<Server, String> {
    // One worker thread: the same single core redis-server's event loop gets.
    start(
        "ours",
        bin,
        &["--io-threads", "1"],
        OUR_PORT,
        &args.server_cpus,
    )
}

fn start_redis(args: &BenchArgs) -> Result<Server, String> {
    start("redis", "redis-server", &[], REDIS_PORT, &args.server_cpus)
}

/// A replica of `master` (same program), once its link to the master is up.
fn start_replica(
    args: &BenchArgs,
    name: &'static str,
    program: &str,
    master: &Server,
    port: u16,
) -> Result<Server, String> {
    let of = master.port.to_string();
    let replica = start(
        name,
        program,
        &["--replicaof", "127.0.0.1", &of],
        port,
        &args.server_cpus,
    )?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let info = call(port, &["INFO", "replication"]);
        if info.is_ok_and(|r| r.text().is_ok_and(|t| t.contains("master_link_status:up"))) {
            return Ok(replica);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("{name}'s replica on port {port} did not link up"))
}

/// What a memory run loads into each server.
fn load_run(run: &str, keys: u64, port: u16) -> Result<String, String> {
    match run {
        "strings" => {
            // Loading a million keys may take longer than `call`'s 10 s.
            let reply = Conn::open("127.0.0.1", port, Duration::from_secs(600))?.call(&[
                "DEBUG",
                "POPULATE",
                &keys.to_string(),
                "kkkkkkkk",
                "16",
            ])?;
            if !reply.is("OK") {
                return Err(format!("DEBUG POPULATE failed: {reply:?}"));
            }
            Ok(format!(
                "DEBUG POPULATE {keys} keys ('kkkkkkkk:<n>', 16-byte values)"
            ))
        }
        "hashes" => {
            load::pipelined(port, 1_000_000, load::small_hash)?;
            Ok("1,000,000 hashes 'hash:<n>' of 5 fields (f1..f5, 8-byte values), listpack".into())
        }
        "sets" => {
            load::pipelined(port, 100_000, load::string_set)?;
            Ok("100,000 sets 'set:<n>' of 100 members ('member:<n>:<i>'), hashtable".into())
        }
        "zsets" => {
            load::pipelined(port, 100_000, load::small_zset)?;
            Ok(
                "100,000 sorted sets 'zset:<n>' of 100 members ('m<i>', score i*1.5), listpack"
                    .into(),
            )
        }
        _ => Err(format!("unknown memory run {run}")),
    }
}

/// Memory run on one fresh server at a time: RSS before and after loading, in kB.
fn memory(args: &BenchArgs, bin: &str, runs: &[&str]) -> Result<(), String> {
    println!("\nmemory: RSS of a fresh server before and after loading (one server at a time)\n");
    println!(
        "{:<8} | {:>10} {:>10} {:>10} | {:>10} {:>10} {:>10} | {:>6} {:>6}",
        "run", "ours 0 kB", "ours kB", "ours Δ", "redis 0 kB", "redis kB", "redis Δ", "Δ×", "RSS×"
    );
    for run in runs {
        let mut rows = Vec::new();
        let mut what = String::new();
        for side in ["ours", "redis"] {
            let server = if side == "ours" {
                start_ours(args, bin)?
            } else {
                start_redis(args)?
            };
            std::thread::sleep(Duration::from_millis(200));
            let before = rss_kb(server.child.id());
            what = load_run(run, args.keys, server.port).map_err(|e| format!("{side}: {e}"))?;
            std::thread::sleep(Duration::from_millis(500));
            let after = rss_kb(server.child.id());
            rows.push((before, after));
        }
        if let [(ob, oa), (rb, ra)] = rows[..] {
            let (od, rd) = (oa.saturating_sub(ob), ra.saturating_sub(rb));
            println!(
                "{:<8} | {:>10} {:>10} {:>10} | {:>10} {:>10} {:>10} | {:>6.2} {:>6.2}",
                run,
                ob,
                oa,
                od,
                rb,
                ra,
                rd,
                ratio(od as f64, rd as f64),
                ratio(oa as f64, ra as f64)
            );
        }
        println!("         ({what})");
    }
    Ok(())
}

/// Runs the benchmark and prints the tables.
pub fn run(args: &BenchArgs) -> Result<(), String> {
    let plan = Plan::from_args(args)?;
    let root = workspace_root();
    println!("building the server (release)...");
    let status = Command::new(env!("CARGO"))
        .current_dir(&root)
        .args(["build", "--release", "-p", "server"])
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err("release build failed".into());
    }
    let ours_bin = root.join("target/release/server");
    if args.cluster {
        return crate::bench_cluster::run(&ours_bin, args.requests, args.rounds);
    }
    if args.failover {
        return crate::bench_failover::run(&ours_bin, args.runs, args.node_timeout, args.keys);
    }
    let ours_bin = ours_bin.to_string_lossy().into_owned();

    let mut cases = Vec::new();
    if plan.strings {
        for pipeline in [1u32, 16] {
            for size in [3u32, 1024] {
                for test in ["set", "get", "incr", "mset"] {
                    if test == "incr" && size != 3 {
                        continue;
                    }
                    cases.push((test, pipeline, size));
                }
            }
        }
    }
    for pipeline in [1u32, 16] {
        for test in &plan.types {
            cases.push((test, pipeline, 3));
        }
    }
    if !cases.is_empty() {
        let ours = start_ours(args, &ours_bin)?;
        let redis = start_redis(args)?;
        // Held to the end of the runs (a Server is killed when dropped).
        let _replicas = if args.replica {
            println!("\neach master streams its writes to one replica of its kind");
            Some((
                start_replica(args, "ours", &ours_bin, &ours, OUR_REPLICA_PORT)?,
                start_replica(args, "redis", "redis-server", &redis, REDIS_REPLICA_PORT)?,
            ))
        } else {
            None
        };
        throughput(args, &ours, &redis, &cases)?;
    }
    if !plan.memory.is_empty() {
        memory(args, &ours_bin, &plan.memory)?;
    }
    Ok(())
}
