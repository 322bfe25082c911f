//! A deterministic simulator: N [`Cluster`]s in one process, virtual time, a network
//! with latency, loss, duplication, reordering and partitions, crash and restart from
//! saved nodes.conf bytes — all decided by one seed. Every bus message goes through
//! `cluster_bus::encode` and `decode_message`, so the wire format is exercised too.
//!
//! The invariants listed in the crate docs are checked after every step
//! ([`Sim::step`]: epochs, votes, election winners) and on demand at quiescence
//! ([`Sim::check_converged`]). A violation is a [`SimFailure`] carrying the seed and the
//! tail of the event trace; the same seed replays the same run exactly.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;

use bytes::BytesMut;
use cluster_bus::{Body, Limits, NodeName};

use crate::cluster::Cluster;
use crate::command::Request;
use crate::nodes_conf::{name_text, NodesConf};
use crate::reply::Reply;
use crate::types::{Config, Effect, Input, KeyFacts, LinkId, Millis};

pub mod scenario;

/// Network and cluster parameters of a run.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The seed every random choice derives from.
    pub seed: u64,
    /// Number of nodes.
    pub nodes: usize,
    /// `cluster-node-timeout` of every node, ms.
    pub node_timeout: u64,
    /// One-way latency range, ms (each message draws its own: reordering).
    pub latency: (u64, u64),
    /// Per-message loss probability, in 1/1000.
    pub loss_permille: u32,
    /// Per-message duplication probability, in 1/1000.
    pub dup_permille: u32,
    /// Write each node's nodes.conf at every [`Effect::SaveConfig`], for restarts.
    /// Runs that never crash a node may turn it off: a node learning N others saves
    /// about 2N times, N lines each, so N simulated nodes cost O(N³) formatting (Redis
    /// pays the O(N²) of one node in each process). Off, a crash keeps the state at
    /// the crash instead of at the last save.
    pub persist: bool,
}

impl SimConfig {
    /// A quiet network: 1–5 ms latency, no loss, no duplication.
    pub fn new(seed: u64, nodes: usize) -> Self {
        SimConfig {
            seed,
            nodes,
            node_timeout: 2000,
            latency: (1, 5),
            loss_permille: 0,
            dup_permille: 0,
            persist: true,
        }
    }
}

/// An invariant violation, with what is needed to replay it.
#[derive(Debug, Clone)]
pub struct SimFailure {
    /// The run's seed.
    pub seed: u64,
    /// Virtual time of the violation.
    pub at: Millis,
    /// What went wrong.
    pub what: String,
    /// The last events before it.
    pub trace: Vec<String>,
}

impl fmt::Display for SimFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "simulation seed {} failed at t={} ms: {}",
            self.seed, self.at, self.what
        )?;
        writeln!(f, "last {} events:", self.trace.len())?;
        for l in &self.trace {
            writeln!(f, "  {l}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
enum Ev {
    Tick(usize),
    Input(usize, Input),
    Bytes(usize, LinkId, Vec<u8>),
    Replicate,
}

struct SimNode {
    cluster: Option<Cluster>,
    saved: Vec<u8>,
    ip: String,
    port: u16,
    replicating: Option<NodeName>,
    repl_offset: u64,
    /// Last time the replication link carried data (`master->lastinteraction`).
    repl_last_io: Option<Millis>,
    paused_until: Millis,
    last_current_epoch: u64,
    restarts: u64,
}

/// The simulated cluster.
pub struct Sim {
    cfg: SimConfig,
    now: Millis,
    nodes: Vec<SimNode>,
    queue: BTreeMap<(Millis, u64), Ev>,
    seq: u64,
    rng: fastrand::Rng,
    /// (node, link) -> (peer node, peer link).
    /// Ordered: a crash closes its links in a seed-determined order.
    conns: BTreeMap<(usize, LinkId), (usize, LinkId)>,
    next_in: u64,
    /// Directed cuts: (from, to) drops what `from` sends to `to`.
    blocked: BTreeSet<(usize, usize)>,
    trace: VecDeque<String>,
    votes: HashMap<(NodeName, u64), NodeName>,
    /// Election winners per epoch, with how they won (for the failure text).
    winners: HashMap<u64, (NodeName, String)>,
    /// Every election win seen: (time, winner, epoch).
    pub elections: Vec<(Millis, NodeName, u64)>,
    /// Messages delivered, per (receiving node, type code).
    delivered: HashMap<(usize, u16), u64>,
    /// Bus traffic handed to the network (before loss): messages and bytes.
    sent: (u64, u64),
}

const TRACE_LEN: usize = 400;
/// Unix-ms origin of virtual time (a plausible wall clock for nodes.conf).
pub const EPOCH_MS: Millis = 1_800_000_000_000;

impl Sim {
    /// N fresh nodes that know nobody (every node a master with no slots).
    pub fn new(cfg: SimConfig) -> Self {
        let mut rng = fastrand::Rng::with_seed(cfg.seed);
        let mut nodes = Vec::with_capacity(cfg.nodes);
        for i in 0..cfg.nodes {
            let port = 7000 + u16::try_from(i).unwrap_or(0);
            let mut c = Config::new(port);
            c.node_timeout = cfg.node_timeout;
            let cluster = Cluster::new(c, rng.u64(..), EPOCH_MS);
            nodes.push(SimNode {
                saved: cluster.nodes_conf_bytes(),
                cluster: Some(cluster),
                ip: format!("10.0.0.{}", i + 1),
                port,
                replicating: None,
                repl_offset: 0,
                repl_last_io: None,
                paused_until: 0,
                last_current_epoch: 0,
                restarts: 0,
            });
        }
        let mut sim = Sim {
            cfg,
            now: EPOCH_MS,
            nodes,
            queue: BTreeMap::new(),
            seq: 0,
            rng,
            conns: BTreeMap::new(),
            next_in: 1,
            blocked: BTreeSet::new(),
            trace: VecDeque::new(),
            votes: HashMap::new(),
            winners: HashMap::new(),
            elections: Vec::new(),
            delivered: HashMap::new(),
            sent: (0, 0),
        };
        for i in 0..sim.nodes.len() {
            let offset = sim.rng.u64(0..100);
            sim.schedule(offset, Ev::Tick(i));
        }
        sim.schedule(1000, Ev::Replicate);
        sim
    }

    /// Virtual time now (unix ms).
    pub fn now(&self) -> Millis {
        self.now
    }

    /// The run's seed.
    pub fn seed(&self) -> u64 {
        self.cfg.seed
    }

    /// Node `i`'s state, if it is running.
    pub fn node(&self, i: usize) -> Option<&Cluster> {
        self.nodes.get(i).and_then(|n| n.cluster.as_ref())
    }

    /// Number of nodes (running or not).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True with no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// How many messages of a type (`MessageType::code`) node `i` has received.
    pub fn delivered(&self, i: usize, code: u16) -> u64 {
        self.delivered.get(&(i, code)).copied().unwrap_or(0)
    }

    /// Index of the node named `name`.
    pub fn index_of(&self, name: &NodeName) -> Option<usize> {
        self.nodes
            .iter()
            .position(|n| n.cluster.as_ref().is_some_and(|c| c.myself() == *name))
    }

    fn schedule(&mut self, delay: Millis, ev: Ev) {
        self.seq += 1;
        self.queue.insert((self.now + delay, self.seq), ev);
    }

    fn latency(&mut self) -> Millis {
        let (a, b) = self.cfg.latency;
        self.rng.u64(a..=b.max(a))
    }

    fn trace(&mut self, line: String) {
        if self.trace.len() == TRACE_LEN {
            self.trace.pop_front();
        }
        self.trace
            .push_back(format!("{} {line}", self.now - EPOCH_MS));
    }

    fn fail(&self, what: String) -> SimFailure {
        SimFailure {
            seed: self.cfg.seed,
            at: self.now - EPOCH_MS,
            what,
            trace: self.trace.iter().cloned().collect(),
        }
    }

    /// Both nodes run and `a`'s packets reach `b`.
    fn reachable(&self, a: usize, b: usize) -> bool {
        !self.blocked.contains(&(a, b))
            && self.nodes.get(b).is_some_and(|n| n.cluster.is_some())
            && self.nodes.get(a).is_some_and(|n| n.cluster.is_some())
    }

    /// Run a CLUSTER command on node `i` at the current time; `None` if it is down or
    /// the arguments do not parse (then the parse error is returned as a reply).
    pub fn command(&mut self, i: usize, args: &[&str]) -> Result<Reply, SimFailure> {
        let mut argv: Vec<&[u8]> = vec![b"CLUSTER"];
        argv.extend(args.iter().map(|a| a.as_bytes()));
        let req = match Request::parse(&argv) {
            Ok(r) => r,
            Err(e) => return Ok(Reply::Error(e)),
        };
        self.trace(format!("node{i} CLUSTER {}", args.join(" ")));
        let mut reply = None;
        self.deliver(
            i,
            Input::Command {
                req,
                keys: KeyFacts::default(),
            },
            &mut reply,
        )?;
        reply.ok_or_else(|| self.fail(format!("node{i} is down: CLUSTER {}", args.join(" "))))
    }

    /// Feed one input to node `i` and carry out its effects.
    fn deliver(
        &mut self,
        i: usize,
        input: Input,
        reply: &mut Option<Reply>,
    ) -> Result<(), SimFailure> {
        let now = self.now;
        let mut out = Vec::new();
        let Some(c) = self.nodes.get_mut(i).and_then(|n| n.cluster.as_mut()) else {
            return Ok(());
        };
        c.handle(now, input, &mut out);
        self.check_step(i)?;
        for e in out {
            self.effect(i, e, reply)?;
        }
        Ok(())
    }

    /// Invariants 2 and 4, after every input.
    fn check_step(&mut self, i: usize) -> Result<(), SimFailure> {
        let Some(c) = self.nodes.get(i).and_then(|n| n.cluster.as_ref()) else {
            return Ok(());
        };
        let (cur, mine) = (c.current_epoch(), c.me().config_epoch);
        let last = self.nodes.get(i).map_or(0, |n| n.last_current_epoch);
        if cur < last {
            return Err(self.fail(format!("node{i} currentEpoch went back {last} -> {cur}")));
        }
        if cur < mine {
            return Err(self.fail(format!("node{i} currentEpoch {cur} < configEpoch {mine}")));
        }
        if let Some(n) = self.nodes.get_mut(i) {
            n.last_current_epoch = cur;
        }
        Ok(())
    }

    fn effect(&mut self, i: usize, e: Effect, reply: &mut Option<Reply>) -> Result<(), SimFailure> {
        match e {
            Effect::Send { link, msg } => {
                if let Body::FailoverAuthAck = msg.body {
                    let key = (msg.header.sender, msg.header.current_epoch);
                    let to = self
                        .conns
                        .get(&(i, link))
                        .and_then(|(p, _)| self.node(*p))
                        .map(|c| c.myself());
                    if let Some(to) = to {
                        if let Some(prev) = self.votes.insert(key, to) {
                            {
                                return Err(self.fail(format!(
                                    "node{i} voted twice in epoch {}: {} and {}",
                                    key.1,
                                    name_text(&prev),
                                    name_text(&to)
                                )));
                            }
                        }
                    }
                }
                let mut buf = BytesMut::new();
                if cluster_bus::encode(&msg, &mut buf).is_err() {
                    return Err(self.fail(format!("node{i} built an unencodable message")));
                }
                let Some(&(peer, plink)) = self.conns.get(&(i, link)) else {
                    return Ok(());
                };
                self.sent.0 += 1;
                self.sent.1 += buf.len() as u64;
                if !self.reachable(i, peer) || self.rng.u32(0..1000) < self.cfg.loss_permille {
                    return Ok(());
                }
                let copies = if self.rng.u32(0..1000) < self.cfg.dup_permille {
                    2
                } else {
                    1
                };
                for _ in 0..copies {
                    let d = self.latency();
                    self.schedule(d, Ev::Bytes(peer, plink, buf.to_vec()));
                }
            }
            Effect::Connect {
                link, ip, cport, ..
            } => {
                let target = self
                    .nodes
                    .iter()
                    .position(|n| n.ip == ip && n.port.wrapping_add(10000) == cport);
                let d = self.latency();
                // A TCP handshake needs both directions.
                match target.filter(|t| self.reachable(i, *t) && self.reachable(*t, i)) {
                    Some(t) => {
                        let inl = LinkId::In(self.next_in);
                        self.next_in += 1;
                        self.conns.insert((i, link), (t, inl));
                        self.conns.insert((t, inl), (i, link));
                        let (pip, lip) = (self.nodes[i].ip.clone(), self.nodes[t].ip.clone());
                        self.schedule(
                            d,
                            Ev::Input(
                                t,
                                Input::Accepted {
                                    link: inl,
                                    peer_ip: pip,
                                    local_ip: lip,
                                },
                            ),
                        );
                        self.schedule(d + 1, Ev::Input(i, Input::Connected { link }));
                    }
                    None => self.schedule(d.max(1) * 10, Ev::Input(i, Input::Closed { link })),
                }
            }
            Effect::Close { link } => {
                if let Some((peer, plink)) = self.conns.remove(&(i, link)) {
                    self.conns.remove(&(peer, plink));
                    let d = self.latency();
                    self.schedule(d, Ev::Input(peer, Input::Closed { link: plink }));
                }
            }
            Effect::SaveConfig { .. } => {
                if self.cfg.persist {
                    if let Some(n) = self.nodes.get_mut(i) {
                        if let Some(c) = &n.cluster {
                            n.saved = c.nodes_conf_bytes();
                        }
                    }
                }
            }
            Effect::Replicate(m) => {
                if let Some(n) = self.nodes.get_mut(i) {
                    n.replicating = m.map(|m| m.name);
                    n.paused_until = 0;
                }
            }
            Effect::PauseWrites { until } => {
                if let Some(n) = self.nodes.get_mut(i) {
                    n.paused_until = until;
                }
            }
            Effect::ResumeWrites => {
                if let Some(n) = self.nodes.get_mut(i) {
                    n.paused_until = 0;
                }
            }
            Effect::Log { text, .. } => {
                if text == "Failover election won." {
                    let Some(c) = self.node(i) else {
                        return Ok(());
                    };
                    let (name, epoch) = (c.myself(), c.election.auth_epoch);
                    let how = format!(
                        "node{i} {} with {} votes of {} masters",
                        name_text(&name),
                        c.election.auth_count,
                        c.size
                    );
                    if let Some((prev, prev_how)) = self.winners.insert(epoch, (name, how.clone()))
                    {
                        if prev != name {
                            return Err(self.fail(format!(
                                "two replicas won epoch {epoch}: {prev_how}, and {how}\n{}",
                                self.views(epoch)
                            )));
                        }
                    }
                    self.elections.push((self.now, name, epoch));
                }
                self.trace(format!("node{i} log: {text}"));
            }
            Effect::Reply(r) => *reply = Some(r),
            Effect::Routing(_)
            | Effect::Deliver { .. }
            | Effect::ModuleMessage { .. }
            | Effect::DeleteSlotKeys(_)
            | Effect::FlushAll => {}
        }
        Ok(())
    }

    /// Each running node's view of itself, and who voted for whom in `epoch`: what an
    /// election failure needs to be understood.
    fn views(&self, epoch: u64) -> String {
        let mut text = String::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let Some(c) = n.cluster.as_ref() else {
                text += &format!("  node{i}: down\n");
                continue;
            };
            let me = c.me();
            let voted = self
                .votes
                .get(&(c.myself(), epoch))
                .map(|to| format!(", voted for {}", &name_text(to)[..8]))
                .unwrap_or_default();
            text += &format!(
                "  node{i} {}: {} of {}, {} slots, configEpoch {}, currentEpoch {}{voted}\n",
                &name_text(&c.myself())[..8],
                if c.is_replica() { "replica" } else { "master" },
                c.my_master()
                    .map_or("-".into(), |m| name_text(&m)[..8].to_string()),
                me.slots.len(),
                me.config_epoch,
                c.current_epoch(),
            );
        }
        text
    }

    /// The simulated replication: every second each master's offset grows unless its
    /// writes are paused; a replica whose master is running and reachable catches up.
    fn replicate(&mut self) -> Result<(), SimFailure> {
        let now = self.now;
        for n in &mut self.nodes {
            let master = n.cluster.as_ref().is_some_and(|c| !c.is_replica());
            if master && n.paused_until <= now {
                n.repl_offset += 1000;
            }
        }
        for i in 0..self.nodes.len() {
            let Some(m) = self.nodes[i].replicating else {
                continue;
            };
            let src = self
                .index_of(&m)
                .filter(|j| self.reachable(i, *j) && self.reachable(*j, i));
            let (offset, up) = match src {
                Some(j) => (self.nodes[j].repl_offset, true),
                None => (self.nodes[i].repl_offset, false),
            };
            self.nodes[i].repl_offset = offset;
            if up {
                self.nodes[i].repl_last_io = Some(now);
            }
            let master_last_io = self.nodes[i].repl_last_io;
            let mut none = None;
            self.deliver(
                i,
                Input::Replication {
                    offset,
                    link_up: up,
                    master_last_io,
                },
                &mut none,
            )?;
        }
        for i in 0..self.nodes.len() {
            if self.nodes[i].replicating.is_none() {
                let offset = self.nodes[i].repl_offset;
                let mut none = None;
                self.deliver(
                    i,
                    Input::Replication {
                        offset,
                        link_up: true,
                        master_last_io: None,
                    },
                    &mut none,
                )?;
            }
        }
        Ok(())
    }

    /// Process the next event.
    pub fn step(&mut self) -> Result<bool, SimFailure> {
        let Some(((t, _), ev)) = self.queue.pop_first() else {
            return Ok(false);
        };
        self.now = t;
        let mut none = None;
        match ev {
            Ev::Tick(i) => {
                self.deliver(i, Input::Tick, &mut none)?;
                self.schedule(100, Ev::Tick(i));
            }
            Ev::Input(i, input) => {
                if let Input::Closed { link } = &input {
                    if let Some((p, pl)) = self.conns.remove(&(i, *link)) {
                        self.conns.remove(&(p, pl));
                    }
                }
                self.deliver(i, input, &mut none)?;
            }
            Ev::Bytes(i, link, bytes) => {
                if !self.conns.contains_key(&(i, link)) {
                    return Ok(true);
                }
                let msg = cluster_bus::decode_message(bytes.into(), &Limits::default())
                    .map_err(|e| self.fail(format!("node{i} could not decode: {e}")))?;
                *self.delivered.entry((i, msg.body.code())).or_default() += 1;
                self.trace(format!(
                    "node{i} <- {:?} from {} on {link:?}",
                    msg.message_type(),
                    name_text(&msg.header.sender).get(..8).unwrap_or("")
                ));
                self.deliver(
                    i,
                    Input::Bus {
                        link,
                        msg: Box::new(msg),
                    },
                    &mut none,
                )?;
            }
            Ev::Replicate => {
                self.replicate()?;
                self.schedule(1000, Ev::Replicate);
            }
        }
        Ok(true)
    }

    /// Run until virtual time `now + ms`.
    pub fn run_for(&mut self, ms: Millis) -> Result<(), SimFailure> {
        let end = self.now + ms;
        while self
            .queue
            .first_key_value()
            .is_some_and(|((t, _), _)| *t <= end)
        {
            self.step()?;
        }
        self.now = end;
        Ok(())
    }

    /// Run until `pred` holds (checked every 100 ms), at most `ms`; the time it took.
    pub fn run_until(
        &mut self,
        ms: Millis,
        what: &str,
        mut pred: impl FnMut(&Sim) -> bool,
    ) -> Result<Millis, SimFailure> {
        let start = self.now;
        while self.now - start <= ms {
            if pred(self) {
                return Ok(self.now - start);
            }
            self.run_for(100)?;
        }
        Err(self.fail(format!("not reached within {ms} ms: {what}")))
    }

    /// Cut all traffic between the two groups (new messages are dropped, connects fail).
    pub fn partition(&mut self, a: &[usize], b: &[usize]) {
        for x in a {
            for y in b {
                self.blocked.insert((*x, *y));
                self.blocked.insert((*y, *x));
            }
        }
        self.trace(format!("partition {a:?} | {b:?}"));
    }

    /// Drop what the `from` nodes send to the `to` nodes, not the other way round
    /// (links already open stay open; new connections fail, as a TCP handshake would).
    pub fn partition_one_way(&mut self, from: &[usize], to: &[usize]) {
        for x in from {
            for y in to {
                self.blocked.insert((*x, *y));
            }
        }
        self.trace(format!("one-way cut {from:?} -> {to:?}"));
    }

    /// Bus messages and bytes sent by all nodes so far (counted before loss).
    pub fn sent(&self) -> (u64, u64) {
        self.sent
    }

    /// Remove every partition.
    pub fn heal(&mut self) {
        self.blocked.clear();
        self.trace("heal".into());
    }

    /// Stop node `i` (its links close on the peers' side).
    pub fn crash(&mut self, i: usize) {
        let persist = self.cfg.persist;
        if let Some(n) = self.nodes.get_mut(i) {
            if let Some(c) = n.cluster.take().filter(|_| !persist) {
                n.saved = c.nodes_conf_bytes();
            }
            n.replicating = None;
            n.repl_last_io = None;
        }
        let ends: Vec<(usize, LinkId)> = self
            .conns
            .range((i, LinkId::Out(0))..)
            .take_while(|((n, _), _)| *n == i)
            .map(|(k, _)| *k)
            .collect();
        for end in ends {
            if let Some((p, pl)) = self.conns.remove(&end) {
                self.conns.remove(&(p, pl));
                let d = self.latency();
                self.schedule(d, Ev::Input(p, Input::Closed { link: pl }));
            }
        }
        self.trace(format!("crash node{i}"));
    }

    /// Restart node `i` from its last saved nodes.conf.
    pub fn restart(&mut self, i: usize) -> Result<(), SimFailure> {
        let seed = self.rng.u64(..);
        let Some(n) = self.nodes.get_mut(i) else {
            return Ok(());
        };
        let mut cfg = Config::new(n.port);
        cfg.node_timeout = self.cfg.node_timeout;
        n.restarts += 1;
        let loaded = Cluster::load(cfg, &n.saved, seed, self.now);
        match loaded {
            Ok(c) => {
                n.replicating = if c.is_replica() { c.my_master() } else { None };
                n.cluster = Some(c);
                self.trace(format!("restart node{i}"));
                Ok(())
            }
            Err(e) => Err(self.fail(format!("node{i} cannot load its nodes.conf: {e}"))),
        }
    }

    /// Replace every node by one loaded from a nodes.conf that already lists the whole
    /// cluster (`masters` masters with equal ranges and epochs 1..=masters, the others
    /// their replicas round robin, no link up yet): a formed cluster without the
    /// N² one-by-one handshakes of forming it through MEET.
    pub fn load_formed(&mut self, masters: usize) -> Result<(), SimFailure> {
        let n = self.nodes.len();
        let masters = masters.clamp(1, n.max(1));
        let names: Vec<String> = (0..n)
            .map(|i| {
                self.node(i)
                    .map(|c| name_text(&c.myself()))
                    .unwrap_or_default()
            })
            .collect();
        let per = 16384 / masters;
        let mut lines = Vec::with_capacity(n);
        for (i, name) in names.iter().enumerate() {
            let (ip, port) = (&self.nodes[i].ip, self.nodes[i].port);
            let addr = format!("{name} {ip}:{port}@{}", port + 10000);
            lines.push(if i < masters {
                let end = if i + 1 == masters {
                    16383
                } else {
                    i * per + per - 1
                };
                format!("{addr} master - 0 0 {} connected {}-{end}", i + 1, i * per)
            } else {
                let m = names.get(i % masters).cloned().unwrap_or_default();
                format!("{addr} slave {m} 0 0 0 connected")
            });
        }
        for i in 0..n {
            let mut conf = String::new();
            for (j, l) in lines.iter().enumerate() {
                if i == j {
                    conf += &l.replacen(" master ", " myself,master ", 1).replacen(
                        " slave ",
                        " myself,slave ",
                        1,
                    );
                } else {
                    conf += l;
                }
                conf.push('\n');
            }
            conf += &format!("vars currentEpoch {masters} lastVoteEpoch 0\n");
            self.nodes[i].saved = conf.into_bytes();
            self.restart(i)?;
        }
        Ok(())
    }

    /// Bootstrap like `redis-cli --cluster create`: `masters` masters with consecutive
    /// ranges and epochs 1..=masters, every other node a replica (round robin), all met
    /// through node 0; runs until every node agrees and reports `ok`.
    pub fn create_cluster(&mut self, masters: usize) -> Result<(), SimFailure> {
        self.create_cluster_within(masters, 3000)
    }

    /// [`Sim::create_cluster`] for big clusters: each MEET round waits `round_ms` for
    /// gossip to spread, and the final convergence may take `10 × round_ms` (at least
    /// 30 s).
    pub fn create_cluster_within(
        &mut self,
        masters: usize,
        round_ms: Millis,
    ) -> Result<(), SimFailure> {
        let n = self.nodes.len();
        let per = 16384 / masters.max(1);
        for m in 0..masters {
            let start = m * per;
            let end = if m + 1 == masters {
                16383
            } else {
                start + per - 1
            };
            self.command(m, &["SET-CONFIG-EPOCH", &(m + 1).to_string()])?;
            self.command(m, &["ADDSLOTSRANGE", &start.to_string(), &end.to_string()])?;
        }
        // Like an operator on a lossy network: MEET again whoever node 0 does not know
        // yet (a lost MEET leaves a handshake that times out, §8).
        let all_known = |s: &Sim| {
            (0..s.len()).all(|i| {
                s.node(i).is_some_and(|c| {
                    c.nodes().len() == n && c.nodes().iter().all(|x| !x.in_handshake())
                })
            })
        };
        for _ in 0..10 {
            for i in 1..n {
                let me = self.node(i).map(|c| c.myself());
                let known = self
                    .node(0)
                    .is_some_and(|c| me.is_some_and(|m| c.nodes().contains(&m)));
                if !known {
                    let (ip, port) = (self.nodes[i].ip.clone(), self.nodes[i].port.to_string());
                    self.command(0, &["MEET", &ip, &port])?;
                }
                // A node whose own half of the handshake was lost knows nobody: it
                // must MEET someone itself (gossip from unknown senders is ignored).
                if self.node(i).is_some_and(|c| c.nodes().len() == 1) {
                    let (ip, port) = (self.nodes[0].ip.clone(), self.nodes[0].port.to_string());
                    self.command(i, &["MEET", &ip, &port])?;
                }
            }
            if self
                .run_until(round_ms, "every node knows every node", all_known)
                .is_ok()
            {
                break;
            }
        }
        if !all_known(self) {
            let views: Vec<String> = (0..n)
                .filter_map(|i| {
                    self.node(i)
                        .map(|c| format!("node{i}:\n{}", c.nodes_text()))
                })
                .collect();
            return Err(self.fail(format!("nodes never all met:\n{}", views.join(""))));
        }
        for r in masters..n {
            let m = (r - masters) % masters.max(1);
            let mname = self
                .node(m)
                .map(|c| name_text(&c.myself()))
                .unwrap_or_default();
            let reply = self.command(r, &["REPLICATE", &mname])?;
            if reply != Reply::Ok {
                return Err(self.fail(format!("REPLICATE on node{r}: {reply:?}")));
            }
        }
        self.run_until(
            (round_ms * 10).max(30_000),
            "cluster converged and ok",
            |s| s.converged(true).is_ok(),
        )?;
        Ok(())
    }

    /// Invariants 1 and 3 (and every running node sees `ok` when `want_ok`).
    pub fn converged(&self, want_ok: bool) -> Result<(), String> {
        let running: Vec<(usize, &Cluster)> = (0..self.len())
            .filter_map(|i| self.node(i).map(|c| (i, c)))
            .collect();
        let Some((_, first)) = running.first() else {
            return Ok(());
        };
        if let Some(s) = (0..cluster_bus::CLUSTER_SLOTS).find(|s| first.slot_owner(*s).is_none()) {
            return Err(format!("slot {s} unassigned"));
        }
        for (i, c) in &running {
            if let Some(s) = c.first_owner_difference(first) {
                return Err(format!("node{i} disagrees on slot {s}"));
            }
        }
        for (i, c) in &running {
            if want_ok && c.health() != crate::cluster::Health::Ok {
                return Err(format!("node{i} cluster_state:fail"));
            }
            let mut epochs = BTreeMap::new();
            for m in c.nodes().iter().filter(|m| m.is_master() && m.has_slots()) {
                if let Some(other) = epochs.insert(m.config_epoch, m.name) {
                    return Err(format!(
                        "node{i} sees masters {} and {} with configEpoch {}",
                        name_text(&other),
                        name_text(&m.name),
                        m.config_epoch
                    ));
                }
            }
        }
        Ok(())
    }

    /// Invariants 1, 3 and 7 at quiescence, as a [`SimFailure`].
    pub fn check_converged(&mut self) -> Result<(), SimFailure> {
        self.converged(true).map_err(|e| self.fail(e))?;
        for i in 0..self.len() {
            let Some(c) = self.node(i) else { continue };
            // The routing snapshot the client path would read says the same.
            let r = c.routing();
            let bad = (0..cluster_bus::CLUSTER_SLOTS)
                .find(|s| r.owner(*s).map(|o| o.name) != c.slot_owner(*s));
            if let Some(s) = bad {
                return Err(self.fail(format!("node{i} routing snapshot disagrees on slot {s}")));
            }
            let bytes = c.nodes_conf_bytes();
            let mut cfg = Config::new(self.nodes[i].port);
            cfg.node_timeout = self.cfg.node_timeout;
            let reloaded = Cluster::load(cfg, &bytes, 0, self.now)
                .map_err(|e| self.fail(format!("node{i} nodes.conf does not load: {e}")))?;
            let a = normalise(&NodesConf::parse(&bytes).map_err(|e| self.fail(e.to_string()))?);
            let b = normalise(&reloaded.nodes_conf());
            if a != b {
                return Err(self.fail(format!("node{i} nodes.conf round trip differs")));
            }
        }
        Ok(())
    }
}

/// nodes.conf content minus what a reload legitimately changes: ping/pong times and
/// the link state (invariant 7).
fn normalise(c: &NodesConf) -> NodesConf {
    let mut c = c.clone();
    for n in &mut c.nodes {
        n.ping_sent = 0;
        n.pong_received = 0;
        n.connected = false;
    }
    c
}
