#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]
//! Our state machine on a real bus with a real redis-server 7.0.15: MEET, handshake,
//! gossip, slot claims and the epoch-collision rule must be accepted by Redis itself.
//!
//! The test drives `Cluster::handle` from a small std-socket loop (the server crate's
//! real I/O is not used here). Skipped when `redis-server` is not installed. Ports:
//! 22600–22603 and bus ports 32600–32603 (below the ephemeral range, outside the
//! ranges of the other test suites).

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use cluster_bus::{Limits, NodeName};
use cluster_core::nodes_conf::name_text;
use cluster_core::{Cluster, Config, Effect, Health, Input, KeyFacts, LinkId, Request};

const OUR_PORT: u16 = 22600;
const REDIS_PORT: u16 = 22601;

struct Redis(Child, std::path::PathBuf);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

fn start_redis(port: u16) -> Redis {
    let dir = std::env::temp_dir().join(format!(
        "cluster-core-interop-{}-{port}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--cluster-enabled",
            "yes",
            "--cluster-node-timeout",
            "2000",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            dir.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let redis = Redis(child, dir);
    let start = Instant::now();
    while !cli(port, &["ping"]).contains("PONG") {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "redis did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    redis
}

fn redis_cli(args: &[&str]) -> String {
    cli(REDIS_PORT, args)
}

fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

struct Conn {
    id: LinkId,
    stream: TcpStream,
    buf: BytesMut,
}

struct Driver {
    c: Cluster,
    listener: TcpListener,
    conns: Vec<Conn>,
    next_in: u64,
    last_tick: Instant,
}

impl Driver {
    fn new(port: u16) -> Driver {
        let mut cfg = Config::new(port);
        cfg.node_timeout = 2000;
        let listener = TcpListener::bind(("127.0.0.1", port + 10000)).unwrap();
        listener.set_nonblocking(true).unwrap();
        Driver {
            c: Cluster::new(cfg, 42, now_ms()),
            listener,
            conns: Vec::new(),
            next_in: 1,
            last_tick: Instant::now(),
        }
    }

    fn apply(&mut self, out: Vec<Effect>) {
        let mut queue = out;
        while !queue.is_empty() {
            let mut more = Vec::new();
            for e in queue {
                match e {
                    Effect::Send { link, msg } => {
                        let mut b = BytesMut::new();
                        cluster_bus::encode(&msg, &mut b).unwrap();
                        if let Some(c) = self.conns.iter_mut().find(|c| c.id == link) {
                            c.stream.set_nonblocking(false).unwrap();
                            let _ = c.stream.write_all(&b);
                            c.stream.set_nonblocking(true).unwrap();
                        }
                    }
                    Effect::Connect {
                        link, ip, cport, ..
                    } => match TcpStream::connect((ip.as_str(), cport)) {
                        Ok(s) => {
                            s.set_nonblocking(true).unwrap();
                            self.conns.push(Conn {
                                id: link,
                                stream: s,
                                buf: BytesMut::new(),
                            });
                            self.c
                                .handle(now_ms(), Input::Connected { link }, &mut more);
                        }
                        Err(_) => self.c.handle(now_ms(), Input::Closed { link }, &mut more),
                    },
                    Effect::Close { link } => self.conns.retain(|c| c.id != link),
                    _ => {}
                }
            }
            queue = more;
        }
    }

    fn input(&mut self, i: Input) {
        let mut out = Vec::new();
        self.c.handle(now_ms(), i, &mut out);
        self.apply(out);
    }

    fn command(&mut self, args: &[&str]) -> cluster_core::Reply {
        let mut argv: Vec<&[u8]> = vec![b"CLUSTER"];
        argv.extend(args.iter().map(|a| a.as_bytes()));
        let req = Request::parse(&argv).unwrap();
        let mut out = Vec::new();
        self.c.handle(
            now_ms(),
            Input::Command {
                req,
                keys: KeyFacts::default(),
            },
            &mut out,
        );
        let reply = out
            .iter()
            .find_map(|e| match e {
                Effect::Reply(r) => Some(r.clone()),
                _ => None,
            })
            .unwrap();
        self.apply(out);
        reply
    }

    /// One pass: accept, read and process every complete frame, tick every 100 ms.
    fn poll(&mut self) {
        while let Ok((s, peer)) = self.listener.accept() {
            s.set_nonblocking(true).unwrap();
            let id = LinkId::In(self.next_in);
            self.next_in += 1;
            let local = s.local_addr().unwrap().ip().to_string();
            self.conns.push(Conn {
                id,
                stream: s,
                buf: BytesMut::new(),
            });
            self.input(Input::Accepted {
                link: id,
                peer_ip: peer.ip().to_string(),
                local_ip: local,
            });
        }
        let mut inputs = Vec::new();
        for c in &mut self.conns {
            let mut tmp = [0u8; 65536];
            loop {
                match c.stream.read(&mut tmp) {
                    Ok(0) => {
                        inputs.push(Input::Closed { link: c.id });
                        break;
                    }
                    Ok(n) => c.buf.extend_from_slice(&tmp[..n]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) => {
                        inputs.push(Input::Closed { link: c.id });
                        break;
                    }
                }
            }
            while let Ok(Some(msg)) = cluster_bus::decode(&mut c.buf, &Limits::default()) {
                inputs.push(Input::Bus {
                    link: c.id,
                    msg: Box::new(msg),
                });
            }
        }
        for i in inputs {
            if let Input::Closed { link } = &i {
                let l = *link;
                self.conns.retain(|c| c.id != l);
            }
            self.input(i);
        }
        if self.last_tick.elapsed() >= Duration::from_millis(100) {
            self.last_tick = Instant::now();
            self.input(Input::Tick);
        }
        std::thread::sleep(Duration::from_millis(5));
    }

    fn run_until(&mut self, secs: u64, mut pred: impl FnMut(&mut Driver) -> bool) -> bool {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(secs) {
            self.poll();
            if pred(self) {
                return true;
            }
        }
        false
    }
}

#[test]
fn real_redis_7_0_accepts_our_node_into_its_cluster() {
    if Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("redis-server 7.0 is needed (apt-get install -y redis-server redis-tools)");
    }
    let _redis = start_redis(REDIS_PORT);
    let redis_id = redis_cli(&["cluster", "myid"]).trim().to_owned();
    assert_eq!(
        redis_cli(&["cluster", "addslotsrange", "8192", "16383"]).trim(),
        "OK"
    );

    let mut d = Driver::new(OUR_PORT);
    let our_id = name_text(&d.c.myself());
    assert_eq!(
        d.command(&["ADDSLOTSRANGE", "0", "8191"]),
        cluster_core::Reply::Ok
    );
    assert_eq!(
        d.command(&["MEET", "127.0.0.1", &REDIS_PORT.to_string()]),
        cluster_core::Reply::Ok
    );

    let redis_name = NodeName::new(redis_id.as_bytes().try_into().unwrap());
    // Both sides: the other is a known master with its slots, both states ok, and the
    // §12 collision rule gave the two masters distinct configEpochs.
    let mut last = String::new();
    let ok = d.run_until(20, |d| {
        last = redis_cli(&["cluster", "nodes"]);
        let redis_sees_us = last.lines().any(|l| {
            l.starts_with(&our_id) && l.contains(" master - ") && l.ends_with(" connected 0-8191")
        });
        let we_see_redis =
            d.c.nodes()
                .get(&redis_name)
                .is_some_and(|n| n.is_master() && n.slots.len() == 8192 && !n.in_handshake());
        let epochs_differ =
            d.c.nodes().get(&redis_name).map(|n| n.config_epoch) != Some(d.c.me().config_epoch);
        redis_sees_us
            && we_see_redis
            && epochs_differ
            && d.c.health() == Health::Ok
            && redis_cli(&["cluster", "info"]).contains("cluster_state:ok")
    });
    assert!(ok, "redis view:\n{last}\nour view:\n{}", d.c.nodes_text());
    // Redis learnt our address from our MEET's TCP connection and our announced ports.
    assert!(last.contains(&format!(
        "{our_id} 127.0.0.1:{OUR_PORT}@{}",
        OUR_PORT + 10000
    )));

    // §11.1: Redis goes away; after node_timeout without a PONG we flag it PFAIL, and
    // with it a master owning half the slots is unreachable: cluster_state:fail (§16.2).
    drop(_redis);
    let pfail = d.run_until(10, |d| {
        d.c.nodes().get(&redis_name).is_some_and(|n| n.timed_out()) && d.c.health() == Health::Fail
    });
    assert!(pfail, "{}", d.c.nodes_text());
    assert!(d.c.nodes_text().contains(&format!(
        "{redis_id} 127.0.0.1:{REDIS_PORT}@{} master,fail?",
        REDIS_PORT + 10000
    )));
}

#[test]
fn real_redis_master_hands_over_to_us_in_a_manual_failover() {
    // §15.1 against Redis: we replicate a real master, ask CLUSTER FAILOVER; Redis must
    // answer MFSTART with a PAUSED PING, vote for our FORCEACK request, and follow us.
    if Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("redis-server 7.0 is needed (apt-get install -y redis-server redis-tools)");
    }
    const OURS: u16 = 22602;
    const THEIRS: u16 = 22603;
    let _redis = start_redis(THEIRS);
    let redis_id = cli(THEIRS, &["cluster", "myid"]).trim().to_owned();
    assert_eq!(
        cli(THEIRS, &["cluster", "addslotsrange", "0", "16383"]).trim(),
        "OK"
    );
    let mut d = Driver::new(OURS);
    let our_id = name_text(&d.c.myself());
    d.command(&["MEET", "127.0.0.1", &THEIRS.to_string()]);
    let redis_name = NodeName::new(redis_id.as_bytes().try_into().unwrap());
    assert!(d.run_until(15, |d| d
        .c
        .nodes()
        .get(&redis_name)
        .is_some_and(|n| !n.in_handshake() && n.slots.len() == 16384)));
    assert_eq!(
        d.command(&["REPLICATE", &redis_id]),
        cluster_core::Reply::Ok
    );
    let mut last = String::new();
    assert!(
        d.run_until(15, |_| {
            last = cli(THEIRS, &["cluster", "nodes"]);
            last.lines()
                .any(|l| l.starts_with(&our_id) && l.contains(&format!(" slave {redis_id} ")))
        }),
        "{last}"
    );
    d.run_until(1, |_| false);
    assert_eq!(d.command(&["FAILOVER"]), cluster_core::Reply::Ok);
    let ok = d.run_until(15, |d| {
        last = cli(THEIRS, &["cluster", "nodes"]);
        !d.c.is_replica()
            && last
                .lines()
                .any(|l| l.starts_with(&redis_id) && l.contains(&format!("myself,slave {our_id} ")))
    });
    assert!(ok, "redis view:\n{last}\nour view:\n{}", d.c.nodes_text());
    assert_eq!(d.c.me().slots.len(), 16384);
}

#[test]
fn we_win_an_automatic_failover_voted_by_real_redis_masters() {
    // §11 + §14 against Redis: our node replicates Redis master A; A dies; Redis
    // masters B and C agree it FAILed, vote for our request, and accept our PONG.
    if Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("redis-server 7.0 is needed (apt-get install -y redis-server redis-tools)");
    }
    const OURS: u16 = 22604;
    let ports = [22605u16, 22606, 22607];
    let mut redis: Vec<Option<Redis>> = ports.iter().map(|p| Some(start_redis(*p))).collect();
    let ids: Vec<String> = ports
        .iter()
        .map(|p| cli(*p, &["cluster", "myid"]).trim().to_owned())
        .collect();
    for (p, r) in ports
        .iter()
        .zip([("0", "5460"), ("5461", "10922"), ("10923", "16383")])
    {
        assert_eq!(
            cli(*p, &["cluster", "addslotsrange", r.0, r.1]).trim(),
            "OK"
        );
    }
    for p in &ports[1..] {
        assert_eq!(
            cli(ports[0], &["cluster", "meet", "127.0.0.1", &p.to_string()]).trim(),
            "OK"
        );
    }
    let mut d = Driver::new(OURS);
    let our_id = name_text(&d.c.myself());
    d.command(&["MEET", "127.0.0.1", &ports[0].to_string()]);
    let names: Vec<NodeName> = ids
        .iter()
        .map(|i| NodeName::new(i.as_bytes().try_into().unwrap()))
        .collect();
    assert!(
        d.run_until(20, |d| names.iter().all(|n| d
            .c
            .nodes()
            .get(n)
            .is_some_and(|x| !x.slots.is_empty()))),
        "{}",
        d.c.nodes_text()
    );
    assert_eq!(d.command(&["REPLICATE", &ids[0]]), cluster_core::Reply::Ok);
    let mut last = String::new();
    assert!(
        d.run_until(20, |_| {
            ports.iter().all(|p| {
                last = cli(*p, &["cluster", "nodes"]);
                last.contains(&format!(
                    "{our_id} 127.0.0.1:{OURS}@{} slave {}",
                    OURS + 10000,
                    ids[0]
                ))
            })
        }),
        "{last}"
    );
    // §14.2: our (simulated) replication link to A is up and just heard from A; then
    // A dies and the link drops. A replica never linked to its master would have no
    // fresh data and, like Redis's, never start an automatic election.
    let now = now_ms();
    d.input(Input::Replication {
        offset: 0,
        link_up: true,
        master_last_io: Some(now),
    });
    redis[0] = None;
    d.input(Input::Replication {
        offset: 0,
        link_up: false,
        master_last_io: Some(now),
    });
    let ok = d.run_until(30, |d| {
        last = cli(ports[1], &["cluster", "nodes"]);
        !d.c.is_replica()
            && d.c.me().slots.len() == 5461
            && [1, 2].iter().all(|i| {
                cli(ports[*i], &["cluster", "nodes"]).lines().any(|l| {
                    l.starts_with(&our_id)
                        && l.contains(" master - ")
                        && l.ends_with(" connected 0-5460")
                })
            })
    });
    assert!(ok, "redis view:\n{last}\nour view:\n{}", d.c.nodes_text());
    // We won with a fresh epoch, greater than every other master's.
    let mine = d.c.me().config_epoch;
    assert!(names[1..]
        .iter()
        .all(|n| d.c.nodes().get(n).is_some_and(|x| x.config_epoch < mine)));
}
