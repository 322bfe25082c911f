//! `cargo xtask bench`: our node (release build) and redis-server 7.0, same settings, same
//! CPU pinning, measured in turn (A, B, A, B) by redis-benchmark; then memory per key after
//! loading 1,000,000 keys. Prints throughput and latency ratios (ours / redis-server).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
}

const OUR_PORT: u16 = 21990;
const REDIS_PORT: u16 = 22490;

/// A server process, killed by PID when dropped.
struct Server {
    name: &'static str,
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

fn start(
    name: &'static str,
    program: &str,
    extra: &[&str],
    port: u16,
    cpus: &str,
) -> Result<Server, String> {
    let child = pinned(cpus, program)
        .args(common_args(port))
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    let server = Server { name, port, child };
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if call(port, &["PING"]).is_ok_and(|r| r.starts_with(b"+PONG")) {
            return Ok(server);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("{name} did not answer on port {port}"))
}

/// Sends one command and returns the first reply chunk (enough for the short replies used).
fn call(port: u16, args: &[&str]) -> Result<Vec<u8>, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(600)))
        .map_err(|e| e.to_string())?;
    let mut req = format!("*{}\r\n", args.len());
    for a in args {
        req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).map_err(|e| e.to_string())?;
    buf.truncate(n);
    Ok(buf)
}

#[derive(Clone, Copy, Default)]
struct Sample {
    rps: f64,
    p50: f64,
    p99: f64,
}

fn run_benchmark(
    args: &BenchArgs,
    port: u16,
    test: &str,
    pipeline: u32,
    size: u32,
) -> Result<Sample, String> {
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
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| !l.starts_with("\"test\"") && l.starts_with('"'))
        .ok_or_else(|| format!("no result from redis-benchmark: {text}"))?;
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
    })
}

fn best(samples: &[Sample]) -> Sample {
    samples
        .iter()
        .copied()
        .fold(Sample::default(), |b, s| if s.rps > b.rps { s } else { b })
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

/// Runs the benchmark and prints the table.
pub fn run(args: &BenchArgs) -> Result<(), String> {
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
    let ours_bin = ours_bin.to_string_lossy().into_owned();
    // One worker thread: the same single core redis-server's event loop gets.
    let ours = start(
        "ours",
        &ours_bin,
        &["--io-threads", "1"],
        OUR_PORT,
        &args.server_cpus,
    )?;
    let redis = start("redis", "redis-server", &[], REDIS_PORT, &args.server_cpus)?;

    println!(
        "\nredis-benchmark -c 50 -n {} -r 100000, servers on cpu {}, client on cpu {}, best of {} alternating rounds\n",
        args.requests, args.server_cpus, args.client_cpus, args.rounds
    );
    println!(
        "{:<6} {:>3} {:>5} | {:>12} {:>12} {:>6} | {:>6} {:>6} | {:>6} {:>6} | {:>5} {:>5}",
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
        "p99×"
    );
    let mut cases = Vec::new();
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
    for (test, pipeline, size) in cases {
        let mut a = Vec::new();
        let mut b = Vec::new();
        for _ in 0..args.rounds {
            a.push(run_benchmark(args, ours.port, test, pipeline, size)?);
            b.push(run_benchmark(args, redis.port, test, pipeline, size)?);
        }
        let (o, r) = (best(&a), best(&b));
        let ratio = |x: f64, y: f64| if y > 0.0 { x / y } else { 0.0 };
        println!(
            "{:<6} {:>3} {:>5} | {:>12.0} {:>12.0} {:>6.2} | {:>6.3} {:>6.3} | {:>6.3} {:>6.3} | {:>5.2} {:>5.2}",
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
            ratio(o.p99, r.p99)
        );
    }
    drop(ours);
    drop(redis);
    if !args.no_memory {
        println!(
            "\nmemory: DEBUG POPULATE {} keys (key 'kkkkkkkk:<n>', 16-byte values), fresh servers",
            args.keys
        );
        let ours = start(
            "ours",
            &ours_bin,
            &["--io-threads", "1"],
            OUR_PORT,
            &args.server_cpus,
        )?;
        let redis = start("redis", "redis-server", &[], REDIS_PORT, &args.server_cpus)?;
        let mut per_key = Vec::new();
        for s in [&ours, &redis] {
            call(s.port, &["FLUSHALL"])?;
            std::thread::sleep(Duration::from_millis(200));
            let before = rss_kb(s.child.id());
            let reply = call(
                s.port,
                &[
                    "DEBUG",
                    "POPULATE",
                    &args.keys.to_string(),
                    "kkkkkkkk",
                    "16",
                ],
            )?;
            if !reply.starts_with(b"+OK") {
                return Err(format!(
                    "{}: DEBUG POPULATE failed: {}",
                    s.name,
                    String::from_utf8_lossy(&reply)
                ));
            }
            std::thread::sleep(Duration::from_millis(500));
            let after = rss_kb(s.child.id());
            let bytes = after.saturating_sub(before) as f64 * 1024.0 / args.keys as f64;
            println!(
                "{:<6} rss before {:>8} kB, after {:>8} kB: {:.1} bytes/key",
                s.name, before, after, bytes
            );
            per_key.push(bytes);
        }
        if let [o, r] = per_key[..] {
            println!(
                "memory per key ratio (ours / redis-server): {:.2}",
                if r > 0.0 { o / r } else { 0.0 }
            );
        }
    }
    Ok(())
}
