//! Configuration behaviour seen from the running binary: which directives the log notes as
//! accepted but not acted on, multi-argument directives given as one argument on the
//! command line (`--save "1 3"`, as redis-server 7.0.15 takes it), and `rename-command`
//! compared with redis-server 7.0.15.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cluster_common;

use std::process::Command;
use std::time::Duration;

use cluster_common::*;

const NOTE: &str = "is accepted but not implemented by this server";

fn noted(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains(NOTE))
        .filter_map(|l| l.split('\'').nth(1).map(str::to_owned))
        .collect()
}

#[test]
fn persistence_directives_are_not_noted_as_unimplemented() {
    let node = spawn_with(
        OURS,
        "notes",
        21510,
        5000,
        false,
        &[
            "--save",
            "1 3",
            "--rdbcompression",
            "no",
            "--rdbchecksum",
            "no",
            "--dbfilename",
            "other.rdb",
            "--repl-backlog-size",
            "2mb",
            "--slowlog-max-len",
            "5",
            "--tcp-keepalive",
            "60",
            "--maxmemory",
            "1gb",
        ],
    );
    assert_eq!(
        call(node.port, &["CONFIG", "GET", "save"]),
        "*2\r\n$4\r\nsave\r\n$3\r\n1 3\r\n"
    );
    let log = std::fs::read_to_string(node.dir.join("node.log")).unwrap();
    // maxmemory does not evict here.
    assert_eq!(noted(&log), ["maxmemory"], "{log}");
}

/// `program` started with a config file holding `conf` (in its own directory).
fn with_conf(program: &str, tag: &str, port: u16, conf: &str) -> Proc {
    let dir = std::env::temp_dir().join(format!("misc-config-{tag}-{port}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("node.conf");
    std::fs::write(&file, conf).unwrap();
    let mut cmd = Command::new(program);
    cmd.arg(&file)
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .args(["--dir", dir.to_str().unwrap(), "--logfile", "node.log"]);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let child = spawn_node(cmd, &dir, addr);
    Proc {
        port,
        child: Some(child),
        dir,
    }
}

#[test]
fn rename_command_renames_and_removes_as_redis() {
    if !have_redis() {
        eprintln!("redis-server not installed: skipped");
        return;
    }
    let long = "b840fc02d524045429941cc15f59e41cb7be6c52";
    let conf = format!(
        "rename-command FLUSHALL \"\"\nrename-command CONFIG myconfig\nrename-command get get2\n\
         rename-command SET GET\nrename-command DEBUG {long}\nrename-command EVAL \"\"\n"
    );
    let nodes = [
        with_conf(OURS, "rename-ours", 21511, &conf),
        with_conf("redis-server", "rename-real", 22111, &conf),
    ];
    let script: &[&[&str]] = &[
        &["FLUSHALL"],
        &["SET", "a", "1"],
        &["GET", "a", "1"],
        &["get2", "a"],
        &["GET2", "a"],
        &["CONFIG", "GET", "port"],
        &["MYCONFIG", "GET", "maxclients"],
        &["myconfig", "HELP"],
        &[long, "HELP"],
        &[&long.to_uppercase(), "SLEEP", "0"],
        &["DEBUG", "SLEEP", "0"],
        &[
            // (A container's subcommands come in Redis's random dict order: no CONFIG.)
            "COMMAND", "INFO", "get2", "get", "config", "flushall", "set",
        ],
        &["COMMAND", "DOCS", "get2"],
        &["COMMAND", "DOCS", "config"],
        &["COMMAND", "GETKEYS", "get2", "a"],
        &["COMMAND", "GETKEYS", "GET", "a", "b"],
        &["COMMAND", "LIST", "FILTERBY", "PATTERN", "flush*"],
        &["COMMAND", "LIST", "FILTERBY", "PATTERN", "get"],
        &["MULTI"],
        &["get2", "a"],
        &["FLUSHALL"],
        &["EXEC"],
        &["EXEC"],
    ];
    let mut conns = [Conn::new(nodes[0].port), Conn::new(nodes[1].port)];
    for args in script {
        let ours = conns[0].try_call(args).unwrap();
        let real = conns[1].try_call(args).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&real),
            "reply to {args:?}"
        );
    }
    let info = call(nodes[0].port, &["COMMAND", "INFO", "myconfig"]);
    assert!(info.starts_with("*1\r\n*10\r\n$6\r\nconfig\r\n"), "{info}");
    // Statistics keep the command's own name.
    let stats = call(nodes[0].port, &["INFO", "commandstats"]);
    assert!(stats.contains("cmdstat_get:calls="), "{stats}");
    assert!(stats.contains("cmdstat_config|get:calls="), "{stats}");
    // A removed command leaves COMMAND COUNT and COMMAND LIST, a renamed one stays (under
    // its own name): 240 - FLUSHALL - EVAL on redis-server.
    let count = |p: u16| call(p, &["COMMAND", "COUNT"]);
    assert_eq!(count(nodes[1].port), ":238\r\n");
    let list = Conn::new(nodes[0].port).call(&["COMMAND", "LIST"]);
    let top: Vec<&str> = list
        .split("\r\n")
        .filter(|l| !l.starts_with(['$', '*']) && !l.is_empty() && !l.contains('|'))
        .collect();
    assert_eq!(count(nodes[0].port), format!(":{}\r\n", top.len()));
    assert!(!top.contains(&"flushall") && top.contains(&"config") && top.contains(&"get"));
}

/// One RESP reply's exact bytes (nested arrays included).
fn read_reply(r: &mut impl std::io::BufRead, out: &mut Vec<u8>) {
    let start = out.len();
    r.read_until(b'\n', out).unwrap();
    let line = String::from_utf8_lossy(&out[start..]).into_owned();
    let n: i64 = line.get(1..).unwrap_or("").trim_end().parse().unwrap_or(-1);
    match line.as_bytes().first() {
        Some(b'$') if n >= 0 => {
            let mut body = vec![0; n as usize + 2];
            r.read_exact(&mut body).unwrap();
            out.extend_from_slice(&body);
        }
        Some(b'*') => (0..n.max(0)).for_each(|_| read_reply(r, out)),
        _ => {}
    }
}

/// `rename-command` names are bytes, as in Redis: names that are not UTF-8 (and differ only
/// in such bytes) answer to exactly those bytes, the ASCII part case-insensitively.
#[test]
fn rename_command_takes_any_bytes_as_redis() {
    use std::io::{BufReader, Write};
    if !have_redis() {
        eprintln!("redis-server not installed: skipped");
        return;
    }
    let conf = "rename-command GET \"g\\xff\"\nrename-command SET \"g\\xfe\"\n\
                rename-command DEL \"\\xc3\\xa9\"\nrename-command CONFIG \"c\\xc3\\xa9fg\"\n";
    let nodes = [
        with_conf(OURS, "rename-bytes-ours", 21600, conf),
        with_conf("redis-server", "rename-bytes-real", 22200, conf),
    ];
    let script: &[&[&[u8]]] = &[
        &[b"g\xfe", b"k", b"v"],
        &[b"g\xff", b"k"],
        &[b"G\xff", b"k"],
        &[b"GET", b"k"],
        &[b"g\xef\xbf\xbd", b"k"],
        &[b"COMMAND", b"INFO", b"g\xff", b"g\xfe", b"get"],
        &[b"COMMAND", b"GETKEYS", b"G\xfe", b"k", b"v"],
        &[b"\xc3\xa9", b"k"],
        &[b"\xc3\x89", b"k"],
        &[b"g\xff", b"k"],
        // The container's name as sent, upper-cased byte by byte (ASCII only).
        &[b"C\xc3\xa9fG", b"nope"],
        &[b"c\xc3\xa9fg", b"get"],
        &[b"C\xc3\x89FG", b"get", b"port"],
    ];
    let mut conns = nodes.each_ref().map(|n| {
        let s = std::net::TcpStream::connect(("127.0.0.1", n.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        BufReader::new(s)
    });
    for args in script {
        let mut req = Vec::new();
        resp_proto::encode_command(&mut req, args);
        let [ours, real] = conns.each_mut().map(|c| {
            c.get_mut().write_all(&req).unwrap();
            let mut out = Vec::new();
            read_reply(c, &mut out);
            out
        });
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&real),
            "reply to {args:?}"
        );
        assert_eq!(ours, real, "reply bytes to {args:?}");
    }
}

/// One command from a client bound to `from`, its reply's first line.
fn call_from(from: &str, port: u16, args: &[&str]) -> String {
    use std::io::{BufRead, BufReader, Write};
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let src: std::net::SocketAddr = format!("{from}:0").parse().unwrap();
    sock.bind(&src.into()).unwrap();
    let dst: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    sock.connect(&dst.into()).unwrap();
    let mut stream: std::net::TcpStream = sock.into();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut req = Vec::new();
    resp_proto::encode_command(&mut req, args);
    stream.write_all(&req).unwrap();
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).unwrap();
    line
}

/// `enable-debug-command local` and `enable-protected-configs local` let in clients
/// connected from 127.0.0.1 only (127.0.0.2 is not local for Redis), as redis-server 7.0.15.
#[test]
fn local_means_from_127_0_0_1_as_redis() {
    if !have_redis() {
        eprintln!("redis-server not installed: skipped");
        return;
    }
    let args = [
        "--enable-debug-command",
        "local",
        "--enable-protected-configs",
        "local",
        "--protected-mode",
        "no",
    ];
    let ours = spawn_with(OURS, "local", 21512, 5000, false, &args);
    let real = spawn_with("redis-server", "local", 22112, 5000, false, &args);
    for from in ["127.0.0.1", "127.0.0.2"] {
        for cmd in [
            &["DEBUG", "SLEEP", "0"][..],
            &["CONFIG", "SET", "dir", "."],
            &["CONFIG", "SET", "hz", "11"],
        ] {
            assert_eq!(
                call_from(from, ours.port, cmd),
                call_from(from, real.port, cmd),
                "{cmd:?} from {from}"
            );
        }
    }
    assert_eq!(
        call_from("127.0.0.2", ours.port, &["DEBUG", "SLEEP", "0"]).get(..26),
        Some("-ERR DEBUG command not all")
    );
}

/// Protected mode (no password) refuses clients that are not local in the same sense: from
/// 127.0.0.2 too, as redis-server 7.0.15 does.
#[test]
fn protected_mode_refuses_127_0_0_2_as_redis() {
    let Some((ours, real)) = standalone_pair("protected", 21513, 22113) else {
        return;
    };
    for from in ["127.0.0.1", "127.0.0.2"] {
        assert_eq!(
            call_from(from, ours.port, &["PING"]),
            call_from(from, real.port, &["PING"]),
            "PING from {from}"
        );
    }
    assert!(call_from("127.0.0.2", ours.port, &["PING"]).starts_with("-DENIED"));
}

/// The keepalive timer (kind, seconds left) of the server side of established connections
/// on `port`, from /proc/net/tcp (`tr:when`, in USER_HZ = 1/100 s).
fn server_side_timers(port: u16) -> Vec<(u8, u64)> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let local_port = u16::from_str_radix(f.get(1)?.split(':').nth(1)?, 16).ok()?;
            if local_port != port || *f.get(3)? != "01" {
                return None;
            }
            let (kind, when) = f.get(5)?.split_once(':')?;
            Some((
                u8::from_str_radix(kind, 16).ok()?,
                u64::from_str_radix(when, 16).ok()? / 100,
            ))
        })
        .collect()
}

/// `tcp-keepalive` arms the kernel's keepalive timer on client connections as redis-server
/// 7.0.15 does (timer kind 2, due after the configured idle time); 0 leaves it off.
#[test]
fn tcp_keepalive_is_set_on_client_sockets_as_redis() {
    if !have_redis() || !std::path::Path::new("/proc/net/tcp").exists() {
        eprintln!("redis-server or /proc/net/tcp missing: skipped");
        return;
    }
    let ours = spawn_with(
        OURS,
        "keepalive",
        21514,
        5000,
        false,
        &["--tcp-keepalive", "60"],
    );
    let real = spawn_with(
        "redis-server",
        "keepalive",
        22114,
        5000,
        false,
        &["--tcp-keepalive", "60"],
    );
    let off = spawn_with(
        OURS,
        "keepalive-off",
        21515,
        5000,
        false,
        &["--tcp-keepalive", "0"],
    );
    let mut conns: Vec<Conn> = [ours.port, real.port, off.port]
        .iter()
        .map(|&p| Conn::new(p))
        .collect();
    for c in &mut conns {
        assert_eq!(c.call(&["PING"]), "+PONG\r\n");
    }
    let timers = |p: u16| server_side_timers(p);
    let (o, r) = (timers(ours.port), timers(real.port));
    assert_eq!(o.len(), 1, "{o:?}");
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(o[0].0, 2);
    assert_eq!(r[0].0, 2);
    assert!(
        o[0].1.abs_diff(r[0].1) <= 2 && (55..=60).contains(&o[0].1),
        "{o:?} {r:?}"
    );
    assert_eq!(timers(off.port), [(0, 0)]);
}

/// The log lines after "Ready to accept connections", without their pid/time prefix.
fn tail_after_ready(dir: &std::path::Path) -> Vec<String> {
    let log = std::fs::read_to_string(dir.join("node.log")).unwrap_or_default();
    log.lines()
        .skip_while(|l| !l.contains("Ready to accept connections"))
        .skip(1)
        // "pid:R dd Mon yyyy hh:mm:ss.mmm C message": keep "C message".
        .map(|l| l.splitn(6, ' ').nth(5).unwrap_or(l).to_owned())
        .collect()
}

/// SHUTDOWN SAVE / SHUTDOWN / SHUTDOWN NOSAVE log as redis-server 7.0.15: 'User requested
/// shutdown...' first, then the final save's lines.
#[test]
fn shutdown_commands_log_like_redis() {
    if !have_redis() {
        eprintln!("redis-server not installed: skipped");
        return;
    }
    for (i, (cmd, save)) in [
        (&["SHUTDOWN", "SAVE"][..], ""),
        (&["SHUTDOWN"], "3600 1"),
        (&["SHUTDOWN", "NOSAVE"], "3600 1"),
    ]
    .into_iter()
    .enumerate()
    {
        let port = 21516 + i as u16;
        let mut logs = Vec::new();
        for program in [OURS, "redis-server"] {
            let mut node = spawn_with(program, "shutdown", port, 5000, false, &["--save", save]);
            call(node.port, &["SET", "k", "v"]);
            let _ = try_call(node.port, cmd);
            wait_until("exit", Duration::from_secs(10), || {
                node.child
                    .as_mut()
                    .is_some_and(|c| c.try_wait().ok().flatten().is_some())
            });
            logs.push(tail_after_ready(&node.dir));
        }
        assert_eq!(logs[0], logs[1], "{cmd:?} with save '{save}'");
        assert_eq!(
            logs[0].first().map(String::as_str),
            Some("# User requested shutdown...")
        );
    }
}

/// CPU time (user + system) the process has used, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// `busy-poll-us` is this server's own directive: CONFIG GET answers it by its name only,
/// so `CONFIG GET *` lists what Redis 7.0 lists, and it is fixed at startup. Workers that
/// poll before they sleep still go to sleep: once its clients fall silent, the node spends
/// next to no CPU. (That polls which keep missing stop for a while is the back-off's unit
/// test: at an idle node's few sleeps a second it would not show here.)
#[test]
fn busy_poll_is_answered_by_name_and_its_workers_still_sleep() {
    use std::io::{Read, Write};

    let node = spawn_with(
        OURS,
        "busypoll",
        21570,
        5000,
        false,
        &["--busy-poll-us", "50"],
    );
    assert_eq!(
        call(node.port, &["CONFIG", "GET", "busy-poll-us"]),
        "*2\r\n$12\r\nbusy-poll-us\r\n$2\r\n50\r\n"
    );
    assert!(!call(node.port, &["CONFIG", "GET", "*"]).contains("busy-poll"));
    assert_eq!(
        call(node.port, &["CONFIG", "SET", "busy-poll-us", "0"]),
        "-ERR CONFIG SET failed (possibly related to argument 'busy-poll-us') - can't set immutable config\r\n"
    );

    // Clients that stay connected after a burst of requests, each answered before the next:
    // the workers poll and sleep over and over.
    let mut clients: Vec<std::net::TcpStream> = (0..4)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", node.port)).unwrap())
        .collect();
    let mut pong = [0u8; 7];
    for _ in 0..500 {
        for c in &mut clients {
            c.write_all(b"PING\r\n").unwrap();
            c.read_exact(&mut pong).unwrap();
            assert_eq!(&pong, b"+PONG\r\n");
        }
    }
    let pid = node.child.as_ref().unwrap().id();
    let before = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(1));
    let spent = cpu_ticks(pid) - before;
    // A worker that kept polling would spend the whole second (100 ticks).
    assert!(spent < 20, "{spent} ticks of CPU in an idle second");
    drop(clients);
}
