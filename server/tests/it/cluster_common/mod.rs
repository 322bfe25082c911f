//! Helpers of the cluster end-to-end tests: processes killed by PID on drop, a raw RESP
//! client that returns the exact reply bytes, and waiting loops.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A node process, killed (SIGKILL) and reaped on drop.
pub struct Proc {
    pub port: u16,
    pub child: Option<Child>,
    pub dir: PathBuf,
}

impl Proc {
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
        if std::thread::panicking() {
            // Logs and nodes.conf stay for the post-mortem.
            eprintln!("kept {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

pub fn have_redis() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok()
        && Command::new("redis-cli")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok()
}

pub fn fresh_dir(tag: &str, port: u16) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cluster-e2e-{tag}-{port}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn spawn(program: &str, tag: &str, port: u16, node_timeout: u64) -> Proc {
    spawn_with(program, tag, port, node_timeout, true, &[])
}

/// A node of `program` with cluster mode on or off and `extra` options (e.g. those that
/// cannot be set at run time, like `--enable-debug-command yes`).
pub fn spawn_with(
    program: &str,
    tag: &str,
    port: u16,
    node_timeout: u64,
    cluster: bool,
    extra: &[&str],
) -> Proc {
    let dir = fresh_dir(tag, port);
    let mut p = Proc {
        port,
        child: None,
        dir,
    };
    start_in(&mut p, program, node_timeout, cluster, extra);
    p
}

/// Starts a cluster node of `program` again in the directory of a node that was killed,
/// with its nodes.conf (and everything else it left there).
pub fn restart(node: &mut Proc, program: &str, node_timeout: u64) {
    node.kill9();
    start_in(node, program, node_timeout, true, &[]);
}

fn start_in(p: &mut Proc, program: &str, node_timeout: u64, cluster: bool, extra: &[&str]) {
    let mut cmd = Command::new(program);
    cmd.args(node_args(
        p.port,
        "127.0.0.1",
        node_timeout,
        cluster,
        &p.dir,
    ))
    .args(extra);
    p.child = Some(spawn_node(
        cmd,
        &p.dir,
        SocketAddr::from((Ipv4Addr::LOCALHOST, p.port)),
    ));
}

/// Spawns a node's command line in `dir`, its output discarded, and waits until it answers
/// PING at `addr`.
pub fn spawn_node(mut cmd: Command, dir: &Path, addr: SocketAddr) -> Child {
    let child = cmd
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until(
        &format!("{:?} at {addr}", cmd.get_program()),
        Duration::from_secs(10),
        || try_call_at(addr, &["PING"]).is_ok_and(|r| r == b"+PONG\r\n"),
    );
    child
}

/// The command line every test node of either program starts with: listening on `bind`,
/// its files in `dir`, nothing saved, the log in `node.log`.
pub fn node_args(
    port: u16,
    bind: &str,
    node_timeout: u64,
    cluster: bool,
    dir: &Path,
) -> Vec<String> {
    [
        "--port",
        &port.to_string(),
        "--bind",
        bind,
        "--cluster-enabled",
        if cluster { "yes" } else { "no" },
        "--cluster-node-timeout",
        &node_timeout.to_string(),
        "--cluster-config-file",
        "nodes.conf",
        "--dir",
        dir.to_str().unwrap(),
        "--save",
        "",
        "--appendonly",
        "no",
        "--logfile",
        "node.log",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Our binary.
pub const OURS: &str = env!("CARGO_BIN_EXE_server");

/// One of our nodes.
pub fn ours(port: u16, node_timeout: u64) -> Proc {
    spawn(env!("CARGO_BIN_EXE_server"), "ours", port, node_timeout)
}

/// A real redis-server 7.0 node.
pub fn real(port: u16, node_timeout: u64) -> Proc {
    spawn("redis-server", "real", port, node_timeout)
}

/// One of our standalone nodes on `ours` and a standalone redis-server 7.0 on `real`, for a
/// side-by-side comparison; None (with a note) when redis-server is not installed.
pub fn standalone_pair(tag: &str, ours: u16, real: u16) -> Option<(Proc, Proc)> {
    if !have_redis() {
        eprintln!("redis-server not installed: skipped");
        return None;
    }
    Some((
        spawn_with(OURS, tag, ours, 5000, false, &[]),
        spawn_with("redis-server", tag, real, 5000, false, &[]),
    ))
}

fn read_one(r: &mut impl BufRead, out: &mut Vec<u8>) -> std::io::Result<()> {
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line)?;
    if line.is_empty() {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    out.extend_from_slice(&line);
    let kind = line[0];
    let n: i64 = std::str::from_utf8(&line[1..line.len().saturating_sub(2)])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    match kind {
        b'$' | b'=' | b'!' if n >= 0 => {
            let mut buf = vec![0u8; n as usize + 2];
            r.read_exact(&mut buf)?;
            out.extend_from_slice(&buf);
        }
        b'*' | b'~' | b'>' => {
            for _ in 0..n.max(0) {
                read_one(r, out)?;
            }
        }
        b'%' | b'|' => {
            for _ in 0..n.max(0) * 2 {
                read_one(r, out)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// A connection that sends commands and returns each reply's exact bytes.
pub struct Conn {
    w: TcpStream,
    r: BufReader<TcpStream>,
}

impl Conn {
    pub fn new(port: u16) -> Conn {
        Conn::new_at(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
    }

    pub fn new_at(addr: SocketAddr) -> Conn {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Conn {
            w: s.try_clone().unwrap(),
            r: BufReader::new(s),
        }
    }

    pub fn try_call(&mut self, args: &[&str]) -> std::io::Result<Vec<u8>> {
        let mut req = Vec::new();
        resp_proto::encode_command(&mut req, args);
        self.w.write_all(&req)?;
        let mut out = Vec::new();
        read_one(&mut self.r, &mut out)?;
        Ok(out)
    }

    /// Reads one more reply (a pushed message).
    pub fn read_reply(&mut self, out: &mut Vec<u8>) {
        read_one(&mut self.r, out).unwrap();
    }

    pub fn call(&mut self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.try_call(args).unwrap()).into_owned()
    }
}

pub fn try_call(port: u16, args: &[&str]) -> std::io::Result<Vec<u8>> {
    try_call_at(SocketAddr::from((Ipv4Addr::LOCALHOST, port)), args)
}

/// One command on a new connection to `addr`.
pub fn try_call_at(addr: SocketAddr, args: &[&str]) -> std::io::Result<Vec<u8>> {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut c = Conn {
        w: s.try_clone()?,
        r: BufReader::new(s),
    };
    c.try_call(args)
}

/// The reply as text (a bulk's payload, or the whole line for other types).
pub fn call(port: u16, args: &[&str]) -> String {
    call_at(SocketAddr::from((Ipv4Addr::LOCALHOST, port)), args)
}

/// As [`call`], to any address.
pub fn call_at(addr: SocketAddr, args: &[&str]) -> String {
    let raw = try_call_at(addr, args).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    if text.starts_with('$') {
        text.split_once("\r\n")
            .map(|(_, b)| b.trim_end_matches("\r\n").to_string())
            .unwrap_or_default()
    } else {
        text
    }
}

pub fn wait_until(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

pub fn myid(port: u16) -> String {
    call(port, &["CLUSTER", "MYID"])
}

/// The value of `name` in a `name:value` reply (CLUSTER INFO, INFO), "" when absent.
pub fn field(reply: &str, name: &str) -> String {
    reply
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .unwrap_or_default()
        .trim_end()
        .to_owned()
}

pub fn state_ok(port: u16) -> bool {
    try_call(port, &["CLUSTER", "INFO"])
        .is_ok_and(|r| String::from_utf8_lossy(&r).contains("cluster_state:ok"))
}

/// `(id, flags without myself, master, slots)` of every CLUSTER NODES line, sorted: what
/// every node must agree on.
pub fn view(port: u16) -> Vec<String> {
    let text = call(port, &["CLUSTER", "NODES"]);
    let mut v: Vec<String> = text
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let flags = f[2].replace("myself,", "");
            format!("{} {} {} {}", f[0], flags, f[3], f[8..].join(" "))
        })
        .collect();
    v.sort();
    v
}

pub fn redis_cli(args: &[&str]) -> String {
    let out = Command::new("redis-cli").args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// Joins started `nodes` into one cluster: node i serves `ranges[i]`, the last node
/// replicates the first. Returns once every node knows the others, sees the replica as
/// one, and reports cluster_state:ok.
pub fn form_cluster(nodes: Vec<Proc>, ranges: &[(u16, u16)]) -> (Vec<Proc>, Layout) {
    let ports: Vec<u16> = nodes.iter().map(|n| n.port).collect();
    for &p in &ports[1..] {
        call(ports[0], &["CLUSTER", "MEET", "127.0.0.1", &p.to_string()]);
    }
    for (&p, (a, b)) in ports.iter().zip(ranges) {
        call(
            p,
            &["CLUSTER", "ADDSLOTSRANGE", &a.to_string(), &b.to_string()],
        );
    }
    let ids: Vec<String> = ports.iter().map(|&p| myid(p)).collect();
    wait_until("all nodes known", Duration::from_secs(20), || {
        ports.iter().all(|&p| {
            let t = call(p, &["CLUSTER", "NODES"]);
            t.lines().count() == ports.len() && !t.contains("handshake")
        })
    });
    let replica = ports[ports.len() - 1];
    let replica_id = &ids[ids.len() - 1];
    wait_until(
        "the last node replicates the first",
        Duration::from_secs(10),
        || call(replica, &["CLUSTER", "REPLICATE", &ids[0]]) == "+OK\r\n",
    );
    wait_until("cluster ok", Duration::from_secs(20), || {
        ports.iter().all(|&p| state_ok(p))
            && ports.iter().all(|&p| {
                call(p, &["CLUSTER", "NODES"])
                    .lines()
                    .any(|l| l.starts_with(replica_id.as_str()) && l.contains("slave"))
            })
    });
    (nodes, Layout { ports, ids })
}

/// Fails with the first differing lines (and some context) of two transcripts.
pub fn compare_transcripts(want: &str, got: &str) {
    if want == got {
        return;
    }
    let w: Vec<&str> = want.lines().collect();
    let g: Vec<&str> = got.lines().collect();
    let first = w
        .iter()
        .zip(&g)
        .position(|(a, b)| a != b)
        .unwrap_or(w.len().min(g.len()));
    let from = first.saturating_sub(10);
    panic!(
        "first difference at line {first}\n--- redis-server\n{}\n--- ours\n{}",
        w[from..(first + 4).min(w.len())].join("\n"),
        g[from..(first + 4).min(g.len())].join("\n")
    );
}

/// Nodes named A, B, ... by position: scripts run on them and transcripts normalized.
pub struct Layout {
    pub ports: Vec<u16>,
    pub ids: Vec<String>,
}

impl Layout {
    pub fn node(&self, c: char) -> u16 {
        self.ports[(c as u8 - b'A') as usize]
    }

    pub fn normalize(&self, s: &str) -> String {
        let mut s = s.to_string();
        for (i, p) in self.ports.iter().enumerate() {
            let name = (b'A' + i as u8) as char;
            s = s.replace(
                &format!("@{}", u32::from(*p) + 10000),
                &format!("@<{name} bus>"),
            );
            s = s.replace(&format!(":{p}"), &format!(":<{name}>"));
        }
        for (i, id) in self.ids.iter().enumerate() {
            s = s.replace(id.as_str(), &format!("<id {}>", (b'A' + i as u8) as char));
        }
        s
    }

    /// Lines: `@X` switches to a new connection on node X; `!wait-fail X` waits until X
    /// reports cluster_state:fail; other lines are commands; `$A` is replaced by A's id.
    pub fn run(&self, script: &str) -> String {
        let mut out = String::new();
        let mut conn: Option<Conn> = None;
        for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if let Some(n) = line.strip_prefix('@') {
                conn = Some(Conn::new(self.node(n.chars().next().unwrap())));
                out.push_str(line);
                out.push('\n');
                continue;
            }
            if let Some(n) = line.strip_prefix("!wait-fail ") {
                let p = self.node(n.chars().next().unwrap());
                wait_until("cluster_state:fail", Duration::from_secs(10), || {
                    !state_ok(p)
                });
                continue;
            }
            if line == "!hello3" {
                // Switches the connection to RESP3; HELLO's own reply (client id) is not compared.
                conn.as_mut()
                    .expect("script starts with @X")
                    .call(&["HELLO", "3"]);
                continue;
            }
            let mut words: Vec<String> = line.split(' ').map(String::from).collect();
            for w in &mut words {
                for (i, id) in self.ids.iter().enumerate() {
                    let var = format!("${}", (b'A' + i as u8) as char);
                    if *w == var {
                        *w = id.clone();
                    }
                }
            }
            let args: Vec<&str> = words.iter().map(String::as_str).collect();
            let c = conn.as_mut().expect("script starts with @X");
            let reply = c.call(&args);
            out.push_str(&format!("> {line}\n{reply}"));
        }
        self.normalize(&out)
    }
}
