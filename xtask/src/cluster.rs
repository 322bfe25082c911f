//! `cargo xtask cluster-up` / `cluster-down`: a local cluster of our nodes in one command.
//!
//! cluster-up builds the release binary, starts `masters * (1 + replicas)` nodes on
//! consecutive ports, each in its own directory, forms the cluster with CLUSTER MEET,
//! ADDSLOTSRANGE and REPLICATE, waits for `cluster_state:ok` on every node and prints the
//! nodes. cluster-down stops them by the PID files cluster-up wrote.
//!
//! Every cluster-up forms a new cluster: a nodes.conf an earlier run left in a node's
//! directory is removed first (the nodes keep no data: no save points, no AOF).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Args;

use crate::resp::call;

/// Options of `cargo xtask cluster-up`.
#[derive(Args)]
pub struct UpArgs {
    /// Number of masters (each gets an equal share of the 16384 slots).
    #[arg(long, default_value_t = 3)]
    masters: u16,
    /// Replicas per master.
    #[arg(long, default_value_t = 1)]
    replicas: u16,
    /// Client port of the first node; bus ports are client ports + 10000.
    #[arg(long, default_value_t = 7000)]
    base_port: u16,
    /// Where the nodes' directories go.
    #[arg(long, default_value = "target/cluster")]
    dir: PathBuf,
    /// cluster-node-timeout in ms.
    #[arg(long, default_value_t = 5000)]
    node_timeout: u64,
    /// Use the binary already built instead of running `cargo build --release`.
    #[arg(long)]
    no_build: bool,
    /// Start this binary instead of our release build (any redis-server 7.0 works too).
    #[arg(long)]
    bin: Option<PathBuf>,
}

/// Options of `cargo xtask cluster-down`.
#[derive(Args)]
pub struct DownArgs {
    /// The directory cluster-up used.
    #[arg(long, default_value = "target/cluster")]
    dir: PathBuf,
}

fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("timed out waiting for {what}"))
}

fn node_dir(dir: &Path, port: u16) -> PathBuf {
    dir.join(port.to_string())
}

fn start_node(bin: &Path, dir: &Path, port: u16, node_timeout: u64) -> Result<u32, String> {
    let ndir = node_dir(dir, port);
    std::fs::create_dir_all(&ndir).map_err(|e| format!("{}: {e}", ndir.display()))?;
    let ndir = ndir.canonicalize().map_err(|e| e.to_string())?;
    // A node that found an earlier run's nodes.conf would rejoin that cluster, slots and
    // all, and the new one could not be formed.
    match std::fs::remove_file(ndir.join("nodes.conf")) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("{}: {e}", ndir.join("nodes.conf").display())),
    }
    let conf = format!(
        "port {port}\nbind 127.0.0.1\ncluster-enabled yes\ncluster-config-file nodes.conf\ncluster-node-timeout {node_timeout}\ndir {}\nlogfile {}\nsave \"\"\nappendonly no\n",
        ndir.display(),
        ndir.join("node.log").display()
    );
    let conf_path = ndir.join("redis.conf");
    std::fs::write(&conf_path, conf).map_err(|e| e.to_string())?;
    let child = {
        use std::os::unix::process::CommandExt;
        Command::new(bin)
            .arg(&conf_path)
            .current_dir(&ndir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: Ctrl-C in this terminal does not stop the cluster.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?
    };
    let pid = child.id();
    std::fs::write(ndir.join("node.pid"), format!("{pid}\n")).map_err(|e| e.to_string())?;
    Ok(pid)
}

/// `cargo xtask cluster-up`.
pub fn up(a: &UpArgs) -> Result<(), String> {
    if a.masters == 0 {
        return Err("--masters must be at least 1".into());
    }
    let count = a.masters * (1 + a.replicas);
    let last = u32::from(a.base_port) + u32::from(count) - 1;
    if last + 10000 > 65535 {
        return Err("ports too high: the bus port (port + 10000) must fit in 65535".into());
    }
    let root = workspace_root();
    if a.bin.is_none() && !a.no_build {
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "--release", "-p", "server"])
            .current_dir(&root)
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err("cargo build --release -p server failed".into());
        }
    }
    let bin = a
        .bin
        .clone()
        .unwrap_or_else(|| root.join("target/release/server"));
    let dir = if a.dir.is_absolute() {
        a.dir.clone()
    } else {
        root.join(&a.dir)
    };
    let ports: Vec<u16> = (0..count).map(|i| a.base_port + i).collect();
    for &p in &ports {
        if call(p, &["PING"]).is_ok() {
            return Err(format!(
                "port {p} is already in use (run cargo xtask cluster-down?)"
            ));
        }
    }
    for &p in &ports {
        start_node(&bin, &dir, p, a.node_timeout)?;
    }
    for &p in &ports {
        wait_for(
            &format!("node {p} to answer"),
            Duration::from_secs(10),
            || call(p, &["PING"]).is_ok(),
        )?;
    }
    let ids: Vec<String> = ports
        .iter()
        .map(|&p| call(p, &["CLUSTER", "MYID"]).and_then(|r| r.text().map(String::from)))
        .collect::<Result<_, _>>()?;
    for &p in ports.iter().skip(1) {
        call(ports[0], &["CLUSTER", "MEET", "127.0.0.1", &p.to_string()])?.text()?;
    }
    let masters = usize::from(a.masters);
    for (i, &p) in ports.iter().take(masters).enumerate() {
        let start = 16384 * i / masters;
        let end = 16384 * (i + 1) / masters - 1;
        call(
            p,
            &[
                "CLUSTER",
                "ADDSLOTSRANGE",
                &start.to_string(),
                &end.to_string(),
            ],
        )?
        .text()?;
    }
    wait_for(
        "every node to know every other",
        Duration::from_secs(30),
        || {
            ports.iter().all(|&p| {
                call(p, &["CLUSTER", "NODES"]).is_ok_and(|r| {
                    r.text()
                        .is_ok_and(|t| t.lines().count() == ports.len() && !t.contains("handshake"))
                })
            })
        },
    )?;
    for (i, &p) in ports.iter().enumerate().skip(masters) {
        let master = &ids[(i - masters) % masters];
        wait_for(
            &format!("node {p} to replicate"),
            Duration::from_secs(10),
            || call(p, &["CLUSTER", "REPLICATE", master]).is_ok_and(|r| r.text().is_ok()),
        )?;
    }
    wait_for(
        "cluster_state:ok on every node",
        Duration::from_secs(60),
        || {
            ports.iter().all(|&p| {
                call(p, &["CLUSTER", "INFO"])
                    .is_ok_and(|r| r.text().is_ok_and(|t| t.contains("cluster_state:ok")))
            })
        },
    )?;
    println!(
        "Cluster is up: {} masters, {} replicas each.\n",
        a.masters, a.replicas
    );
    println!("{:<6} {:<8} {:<40} slots", "port", "role", "id");
    for (i, &p) in ports.iter().enumerate() {
        let role = if i < masters { "master" } else { "replica" };
        let slots = if i < masters {
            format!("{}-{}", 16384 * i / masters, 16384 * (i + 1) / masters - 1)
        } else {
            format!("(replica of {})", ports[(i - masters) % masters])
        };
        println!("{p:<6} {role:<8} {:<40} {slots}", ids[i]);
    }
    println!();
    println!("Connect: redis-cli -c -p {}", a.base_port);
    println!("Logs and nodes.conf: {}/<port>/", dir.display());
    println!(
        "Stop:    cargo xtask cluster-down --dir {}",
        a.dir.display()
    );
    Ok(())
}

/// `cargo xtask cluster-down`.
pub fn down(a: &DownArgs) -> Result<(), String> {
    let dir = if a.dir.is_absolute() {
        a.dir.clone()
    } else {
        workspace_root().join(&a.dir)
    };
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut stopped = 0;
    for e in entries.flatten() {
        let pid_file = e.path().join("node.pid");
        let Ok(text) = std::fs::read_to_string(&pid_file) else {
            continue;
        };
        let Ok(pid) = text.trim().parse::<u32>() else {
            continue;
        };
        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .stderr(Stdio::null())
            .status()
            .map_err(|e| e.to_string())?;
        if status.success() {
            stopped += 1;
        }
        let _ = std::fs::remove_file(&pid_file);
    }
    println!("Stopped {stopped} node(s) of {}", dir.display());
    Ok(())
}
