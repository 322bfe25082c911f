//! The state of one node ([`Cluster`]), its entry point [`Cluster::handle`], and the
//! table operations every rule builds on (slots, roles, node add/delete, epochs,
//! cluster state, nodes.conf).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use cluster_bus::{MessageType, NodeFlags, NodeName, SlotSet, CLUSTER_SLOTS, NAME_LEN};

use crate::node::{Node, Nodes};
use crate::nodes_conf::{name_text, ConfError, NodeLine, NodesConf, SlotToken};
use crate::routing::{RouteNode, Routing, NO_OWNER};
use crate::types::{Config, Effect, Input, LinkId, LogLevel, MasterAddr, Millis};

/// cluster-bus.md §17: failure report validity and FAIL undo, × node_timeout.
pub(crate) const FAIL_REPORT_VALIDITY_MULT: u64 = 2;
pub(crate) const FAIL_UNDO_TIME_MULT: u64 = 2;
/// §17: manual failover timeout and the master's write pause multiplier.
pub(crate) const MF_TIMEOUT: u64 = 5000;
pub(crate) const MF_PAUSE_MULT: u64 = 2;
/// §16.3: FORGET ban.
pub(crate) const BLACKLIST_TTL: u64 = 60_000;
/// §16.2: writable delay of a master after its first state evaluation.
pub(crate) const WRITABLE_DELAY: u64 = 2000;
/// §15.4.
pub(crate) const SLAVE_MIGRATION_DELAY: u64 = 5000;

/// A bus link as the core sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Link {
    /// The node it belongs to (always set for outbound links; inbound once identified).
    pub node: Option<NodeName>,
    /// Creation time (CLUSTER LINKS, dead-link check).
    pub ctime: Millis,
    /// Inbound: the peer's address; outbound: the address we dialled.
    pub peer_ip: String,
    /// Inbound: our address on that connection.
    pub local_ip: String,
    /// Outbound: the connect completed.
    pub connected: bool,
}

/// Manual failover state (`mf_*`, cluster-bus.md §15).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ManualFailover {
    /// Deadline, 0 = none in progress.
    pub end: Millis,
    /// Replica: the election may start.
    pub can_start: bool,
    /// Master: the replica that asked.
    pub replica: Option<NodeName>,
    /// Replica: the paused master's offset, once received.
    pub master_offset: Option<u64>,
}

/// Replica election state (`failover_auth_*`, §14).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Election {
    pub auth_time: Millis,
    pub auth_count: usize,
    /// Masters whose ACK `auth_count` counts: a duplicated ACK counts once (TCP never
    /// duplicates, so Redis does not check; a transport that replays must not elect).
    pub voters: Vec<NodeName>,
    pub auth_sent: bool,
    pub auth_rank: u64,
    pub auth_epoch: u64,
}

/// Work deferred to the end of [`Cluster::handle`] (`clusterDoBeforeSleep` flags).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Todo {
    pub save: bool,
    pub fsync: bool,
    pub update_state: bool,
    /// Rebuild the routing snapshot (a slot changed owner).
    pub routing: bool,
    /// Something else changed: rebuild only if the snapshot's non-slot parts differ.
    pub routing_check: bool,
    /// A record's name, address or hostname was written, or a record was added, since
    /// the snapshot last matched the table: the next check compares the listed nodes
    /// one by one. Without it the check compares only the state, our master and the
    /// open slots, since nothing else could differ (a walk over every slot owner's
    /// strings per saving input was the largest cost of forming 1000 nodes).
    pub route_nodes: bool,
    pub handle_failover: bool,
    /// A [`Effect::SaveConfig`] already pushed in this `handle` call, with its fsync.
    pub save_pushed: Option<bool>,
}

/// `cluster_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// `ok`.
    Ok,
    /// `fail`.
    Fail,
}

/// One node's view of the cluster. Every rule of cluster-bus.md lives behind
/// [`Cluster::handle`]; nothing here reads a clock, a socket or a file.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub(crate) cfg: Config,
    pub(crate) myself: NodeName,
    pub(crate) nodes: Nodes,
    /// Slot -> table position of its owner ([`NO_RECORD`]: none). Positions, not
    /// names: 64 KiB instead of 656 KiB per node (a 1000-node simulation held 656 MB of
    /// owner names); `del_node` shifts them when a record leaves.
    pub(crate) owners: Vec<u32>,
    pub(crate) not_claiming: SlotSet,
    pub(crate) migrating: BTreeMap<u16, NodeName>,
    pub(crate) importing: BTreeMap<u16, NodeName>,
    pub(crate) current_epoch: u64,
    pub(crate) last_vote_epoch: u64,
    pub(crate) state: Health,
    pub(crate) size: usize,
    pub(crate) first_state_call: Millis,
    pub(crate) among_minority_time: Millis,
    pub(crate) links: BTreeMap<LinkId, Link>,
    pub(crate) next_link: u64,
    pub(crate) blacklist: HashMap<NodeName, Millis>,
    pub(crate) rng: fastrand::Rng,
    pub(crate) stats_sent: [u64; 11],
    pub(crate) stats_received: [u64; 11],
    /// DEBUG DROP-CLUSTER-PACKET-FILTER: received messages of this type are dropped
    /// (-1: none). An `i32` because Redis keeps it in an `int`.
    pub(crate) drop_packet_filter: i32,
    pub(crate) cron_iteration: u64,
    pub(crate) pfail_count: usize,
    pub(crate) election: Election,
    pub(crate) mf: ManualFailover,
    pub(crate) repl_offset: u64,
    pub(crate) repl_link_up: bool,
    /// When the replication link last went down; 0 = never up (`repl_down_since`).
    pub(crate) repl_down_since: Millis,
    /// The server's `master->lastinteraction` (see [`Input::Replication`]).
    pub(crate) repl_last_io: Option<Millis>,
    /// A replica told the server whom to replicate (§10 step 5).
    pub(crate) repl_configured: bool,
    pub(crate) todo: Todo,
    pub(crate) last_routing: Option<Arc<Routing>>,
}

/// An unowned slot in [`Cluster::owners`].
pub(crate) const NO_RECORD: u32 = u32::MAX;

/// A random 40-char lowercase hex name (`getRandomHexChars`).
pub(crate) fn random_name(rng: &mut fastrand::Rng) -> NodeName {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut b = [0u8; NAME_LEN];
    for x in &mut b {
        *x = HEX[rng.usize(..16)];
    }
    NodeName::new(b)
}

impl Cluster {
    /// A fresh node (no nodes.conf): a random name, `myself,master`, epochs 0.
    pub fn new(cfg: Config, seed: u64, now: Millis) -> Self {
        let mut rng = fastrand::Rng::with_seed(seed);
        let name = random_name(&mut rng);
        Self::with_name(cfg, name, rng, now)
    }

    /// A fresh node with a given name (tests, and the simulator's fixed ids).
    pub fn with_name_and_seed(cfg: Config, name: NodeName, seed: u64, now: Millis) -> Self {
        Self::with_name(cfg, name, fastrand::Rng::with_seed(seed), now)
    }

    fn with_name(cfg: Config, name: NodeName, rng: fastrand::Rng, now: Millis) -> Self {
        let mut me = Node::new(name, NodeFlags::MYSELF | NodeFlags::MASTER, now);
        me.ip = cfg.announce_ip.clone().unwrap_or_default();
        me.port = cfg.port;
        me.cport = cfg.cport;
        me.pport = cfg.pport;
        me.hostname = cfg.hostname.clone();
        let nodes = Nodes::new(me);
        let mut c = Cluster {
            cfg,
            myself: name,
            nodes,
            owners: vec![NO_RECORD; usize::from(CLUSTER_SLOTS)],
            not_claiming: SlotSet::EMPTY,
            migrating: BTreeMap::new(),
            importing: BTreeMap::new(),
            current_epoch: 0,
            last_vote_epoch: 0,
            state: Health::Fail,
            // clusterInit starts at 1; the first real count happens once the master's
            // writable delay is over (CLUSTER INFO says cluster_size:1 on a node < 2 s old).
            size: 1,
            first_state_call: 0,
            among_minority_time: 0,
            links: BTreeMap::new(),
            next_link: 1,
            blacklist: HashMap::new(),
            rng,
            stats_sent: [0; 11],
            stats_received: [0; 11],
            drop_packet_filter: -1,
            cron_iteration: 0,
            pfail_count: 0,
            election: Election::default(),
            mf: ManualFailover::default(),
            repl_offset: 0,
            repl_link_up: false,
            repl_down_since: 0,
            repl_last_io: None,
            repl_configured: false,
            todo: Todo::default(),
            last_routing: None,
        };
        c.todo.routing = true;
        c.todo.update_state = true;
        c
    }

    /// A node from nodes.conf bytes (`clusterLoadConfig`, client-behaviour.md §6.3):
    /// non-zero ping/pong times become `now`, replicas' configEpochs 0, `fail` gets
    /// `fail_time = now`, masters named by replicas but absent get placeholder records,
    /// every link starts closed, currentEpoch is raised to the largest configEpoch.
    pub fn load(cfg: Config, bytes: &[u8], seed: u64, now: Millis) -> Result<Self, ConfError> {
        let conf = NodesConf::parse(bytes)?;
        let me_line = conf
            .nodes
            .iter()
            .find(|n| n.flags.contains(NodeFlags::MYSELF))
            .ok_or(ConfError {
                line: 0,
                kind: crate::nodes_conf::ConfErrorKind::NoMyself,
            })?;
        let myself = me_line.name;
        let mut c = Cluster::with_name(cfg, myself, fastrand::Rng::with_seed(seed), now);
        let record = |l: &crate::nodes_conf::NodeLine| {
            let mut n = Node::new(l.name, l.flags, now);
            n.ip = l.ip.clone();
            n.port = l.port;
            n.cport = l.cport;
            n.hostname = l.hostname.clone();
            n.ping_sent = if l.ping_sent != 0 { now } else { 0 };
            n.pong_received = if l.pong_received != 0 { now } else { 0 };
            if n.failed() {
                n.fail_time = now;
            }
            if l.master.is_none() {
                n.config_epoch = l.config_epoch;
            }
            n
        };
        // In file order. The MYSELF line is us; another line with our name cannot replace it.
        let at = conf
            .nodes
            .iter()
            .position(|l| std::ptr::eq(l, me_line))
            .unwrap_or(0);
        let others = |lines: &[crate::nodes_conf::NodeLine]| -> Vec<Node> {
            lines
                .iter()
                .filter(|l| l.name != myself)
                .map(&record)
                .collect()
        };
        let (before, after) = conf.nodes.split_at_checked(at).unwrap_or((&[], &[]));
        c.nodes = Nodes::in_order(others(before), record(me_line), others(after));
        for l in &conf.nodes {
            if let Some(m) = l.master {
                if !c.nodes.contains(&m) {
                    c.nodes.insert(Node::new(m, NodeFlags::empty(), now));
                }
                c.node_add_replica(&m, l.name);
                if let Some(n) = c.nodes.get_mut(&l.name) {
                    n.master = Some(m);
                }
            }
            for t in &l.slots {
                match *t {
                    SlotToken::Range(a, b) => c.assign_range(a, b, l.name),
                    SlotToken::Migrating(s, to) => {
                        c.migrating.insert(s, to);
                    }
                    SlotToken::Importing(s, from) => {
                        c.importing.insert(s, from);
                    }
                }
            }
        }
        let me = c.nodes.me_mut();
        if let Some(ip) = &c.cfg.announce_ip {
            me.ip.clone_from(ip);
        }
        me.port = c.cfg.port;
        me.cport = c.cfg.cport;
        me.pport = c.cfg.pport;
        me.hostname.clone_from(&c.cfg.hostname);
        // §5.1: masters with slots are migration targets once some master has replicas.
        if c.nodes.iter().any(|n| !n.replicas.is_empty()) {
            for name in c.nodes.names() {
                if let Some(n) = c.nodes.get_mut(&name) {
                    if n.is_master() && n.has_slots() {
                        n.flags |= NodeFlags::MIGRATE_TO;
                    }
                }
            }
        }
        c.current_epoch = conf.current_epoch.max(c.max_config_epoch());
        c.last_vote_epoch = conf.last_vote_epoch;
        Ok(c)
    }

    /// Our node id.
    pub fn myself(&self) -> NodeName {
        self.myself
    }
    /// Our record.
    pub fn me(&self) -> &Node {
        self.nodes.me()
    }
    pub(crate) fn me_mut(&mut self) -> &mut Node {
        self.nodes.me_mut()
    }
    /// The node table.
    pub fn nodes(&self) -> &Nodes {
        &self.nodes
    }
    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }
    /// currentEpoch.
    pub fn current_epoch(&self) -> u64 {
        self.current_epoch
    }
    /// lastVoteEpoch.
    pub fn last_vote_epoch(&self) -> u64 {
        self.last_vote_epoch
    }
    /// `cluster_state`.
    pub fn health(&self) -> Health {
        self.state
    }
    /// The owner of a slot in our table.
    pub fn slot_owner(&self, slot: u16) -> Option<NodeName> {
        self.owner_record(slot).map(|n| n.name)
    }
    /// The record owning a slot in our table.
    pub(crate) fn owner_record(&self, slot: u16) -> Option<&Node> {
        let pos = *self.owners.get(usize::from(slot))?;
        self.nodes.at(usize::try_from(pos).ok()?)
    }
    /// The first slot whose owner differs between our table and `other`'s. Names are
    /// compared only where either table's owner position changes from the slot before.
    pub(crate) fn first_owner_difference(&self, other: &Cluster) -> Option<u16> {
        let mut last = None;
        for (slot, pair) in (0..CLUSTER_SLOTS).zip(self.owners.iter().zip(&other.owners)) {
            if last == Some(pair) {
                continue;
            }
            last = Some(pair);
            if self.slot_owner(slot) != other.slot_owner(slot) {
                return Some(slot);
            }
        }
        None
    }
    /// Open slots: migrating (slot -> target).
    pub fn migrating(&self) -> &BTreeMap<u16, NodeName> {
        &self.migrating
    }
    /// Open slots: importing (slot -> source).
    pub fn importing(&self) -> &BTreeMap<u16, NodeName> {
        &self.importing
    }
    /// Our replication offset as last reported.
    pub fn repl_offset(&self) -> u64 {
        self.repl_offset
    }
    /// True if we are a replica.
    pub fn is_replica(&self) -> bool {
        self.me().is_replica()
    }
    /// Our master, if we are a replica that knows it.
    pub fn my_master(&self) -> Option<NodeName> {
        self.me().master
    }

    /// Our configEpoch, or our master's (CLUSTER INFO `cluster_my_epoch`, header).
    pub fn my_epoch(&self) -> u64 {
        let me = self.me();
        match me.master.and_then(|m| self.nodes.get(&m)) {
            Some(m) if me.is_replica() => m.config_epoch,
            _ => me.config_epoch,
        }
    }

    /// The single entry point: apply one input at time `now`, push what must be done.
    pub fn handle(&mut self, now: Millis, input: Input, out: &mut Vec<Effect>) {
        self.todo.save_pushed = None;
        match input {
            Input::Bus { link, msg } => self.process_packet(now, link, *msg, out),
            Input::Accepted {
                link,
                peer_ip,
                local_ip,
            } => {
                self.links.insert(
                    link,
                    Link {
                        node: None,
                        ctime: now,
                        peer_ip,
                        local_ip,
                        connected: true,
                    },
                );
            }
            Input::Connected { link } => {
                if let Some(l) = self.links.get_mut(&link) {
                    l.connected = true;
                }
                self.link_connected(now, link, out);
            }
            Input::Closed { link } => {
                // cluster-bus.md §10 step 2: a connect that failed before our PING could
                // leave counts as a ping sent now, so an unreachable node still times out.
                let failed_connect = self.links.get(&link).filter(|l| !l.connected);
                if let Some(n) = failed_connect
                    .and_then(|l| l.node)
                    .and_then(|n| self.nodes.get_mut(&n))
                {
                    if n.ping_sent == 0 {
                        n.ping_sent = now;
                    }
                }
                self.free_link(link, None);
            }
            Input::Tick => self.cron(now, out),
            Input::Command { req, keys } => {
                let reply = self.command(now, req, keys, out);
                out.push(Effect::Reply(reply));
            }
            Input::Replication {
                offset,
                link_up,
                master_last_io,
            } => {
                self.repl_offset = offset;
                if link_up {
                    self.repl_down_since = 0;
                } else if self.repl_link_up {
                    self.repl_down_since = now;
                }
                self.repl_link_up = link_up;
                self.repl_last_io = master_last_io;
            }
            Input::Publish {
                shard,
                channel,
                message,
            } => self.propagate_publish(shard, channel, message, out),
            Input::Reconfigure(cfg) => self.reconfigure(*cfg),
            Input::ModuleSend {
                target,
                module_id,
                module_type,
                payload,
            } => self.send_module(target, module_id, module_type, payload, out),
        }
        self.before_sleep(now, out);
    }

    /// `clusterBeforeSleep`: deferred failover steps, state update, save, new routing.
    fn before_sleep(&mut self, now: Millis, out: &mut Vec<Effect>) {
        if self.todo.handle_failover {
            self.todo.handle_failover = false;
            if self.is_replica() {
                self.handle_manual_failover();
                self.handle_replica_failover(now, out);
            }
        }
        if self.todo.update_state {
            self.todo.update_state = false;
            self.update_state(now);
        }
        if self.todo.save {
            let fsync = self.todo.fsync;
            self.save_now(fsync, out);
            self.todo.save = false;
            self.todo.fsync = false;
        }
        let check = std::mem::take(&mut self.todo.routing_check);
        let stale = |c: &Self| {
            c.last_routing
                .as_deref()
                .is_none_or(|last| !c.routing_unchanged_but_slots(last, c.todo.route_nodes))
        };
        let (rebuild, checked) = (self.todo.routing, check);
        if rebuild || (check && stale(self)) {
            self.todo.routing = false;
            let r = Arc::new(self.routing());
            if self.last_routing.as_deref() != Some(&*r) {
                self.last_routing = Some(Arc::clone(&r));
                out.push(Effect::Routing(r));
            }
        }
        // Either way the snapshot now matches the table.
        if rebuild || checked {
            self.todo.route_nodes = false;
        }
    }

    /// A record's name, ip, port or hostname changed, or a record was added.
    pub(crate) fn route_fields_changed(&mut self) {
        self.todo.route_nodes = true;
    }

    /// New configuration; our record follows the announced ip/ports/hostname.
    fn reconfigure(&mut self, cfg: Config) {
        let changed = cfg.announce_ip != self.cfg.announce_ip
            || cfg.port != self.cfg.port
            || cfg.cport != self.cfg.cport
            || cfg.pport != self.cfg.pport
            || cfg.hostname != self.cfg.hostname;
        self.cfg = cfg;
        if changed {
            let (ip, port, cport, pport, host) = (
                self.cfg.announce_ip.clone(),
                self.cfg.port,
                self.cfg.cport,
                self.cfg.pport,
                self.cfg.hostname.clone(),
            );
            let me = self.me_mut();
            if let Some(ip) = ip {
                me.ip = ip;
            }
            me.port = port;
            me.cport = cport;
            me.pport = pport;
            me.hostname = host;
            self.route_fields_changed();
            self.save(false);
        }
    }

    pub(crate) fn save(&mut self, fsync: bool) {
        self.todo.save = true;
        self.todo.fsync |= fsync;
        self.todo.routing_check = true;
        self.todo.update_state = true;
    }

    /// Save before whatever is pushed next (`clusterSaveConfigOrDie`): one
    /// [`Effect::SaveConfig`] per `handle` call, since the caller writes the state as it
    /// is at the end of the call; a second only to add an fsync.
    pub(crate) fn save_now(&mut self, fsync: bool, out: &mut Vec<Effect>) {
        if self.todo.save_pushed.is_some_and(|done| done || !fsync) {
            return;
        }
        self.todo.save_pushed = Some(fsync);
        out.push(Effect::SaveConfig { fsync });
    }

    pub(crate) fn log(out: &mut Vec<Effect>, level: LogLevel, text: String) {
        out.push(Effect::Log { level, text });
    }

    // ----- slots -------------------------------------------------------------------

    /// Table position of `name` as stored in [`Cluster::owners`]. Every caller names a
    /// known record (the command checks it, a message's sender is known, or it is us).
    fn owner_cell(&self, name: Option<NodeName>) -> u32 {
        name.and_then(|n| self.nodes.position(&n))
            .and_then(|p| u32::try_from(p).ok())
            .unwrap_or(NO_RECORD)
    }

    fn record_at(&mut self, pos: u32) -> Option<&mut Node> {
        self.nodes.at_mut(usize::try_from(pos).ok()?)
    }

    /// The one place a slot changes hands in our table (`clusterAddSlot` /
    /// `clusterDelSlot` / `clusterNodeSetSlotBit`): owner table and per-node slot sets.
    pub(crate) fn set_slot_owner(&mut self, slot: u16, owner: Option<NodeName>) {
        let new = self.owner_cell(owner);
        let Some(cell) = self.owners.get_mut(usize::from(slot)) else {
            return;
        };
        let old = std::mem::replace(cell, new);
        if let Some(o) = self.record_at(old) {
            o.remove_slot(slot);
        }
        self.not_claiming.remove(slot);
        if new != NO_RECORD {
            let first_slot = self.record_at(new).is_some_and(|x| !x.has_slots());
            if let Some(node) = self.record_at(new) {
                node.add_slot(slot);
            }
            // §5.1: a master getting its first slot while some master has replicas
            // becomes a migration target.
            if first_slot && self.nodes.iter().any(|x| !x.replicas.is_empty()) {
                if let Some(node) = self.record_at(new) {
                    node.flags |= NodeFlags::MIGRATE_TO;
                }
            }
        }
        self.todo.routing = true;
    }

    /// Bulk form of [`Cluster::set_slot_owner`]`(s, Some(owner))` for every slot of
    /// `slots` (an UPDATE or a PING claiming many slots), with one record lookup per
    /// run of slots instead of several per slot.
    pub(crate) fn set_slots_owner(&mut self, slots: &SlotSet, owner: NodeName) {
        let new = self.owner_cell(Some(owner));
        let first_slot = self.record_at(new).is_some_and(|x| !x.has_slots());
        let mut prev = NO_RECORD;
        let mut run = Vec::new();
        for slot in slots.iter() {
            let Some(cell) = self.owners.get_mut(usize::from(slot)) else {
                continue;
            };
            let old = std::mem::replace(cell, new);
            self.not_claiming.remove(slot);
            if old != prev {
                self.release_slots(prev, &run);
                run.clear();
                prev = old;
            }
            run.push(slot);
        }
        self.release_slots(prev, &run);
        if let Some(node) = self.record_at(new) {
            for slot in slots.iter() {
                node.add_slot(slot);
            }
        }
        if !slots.is_empty() && first_slot && self.nodes.iter().any(|x| !x.replicas.is_empty()) {
            if let Some(node) = self.record_at(new) {
                node.flags |= NodeFlags::MIGRATE_TO;
            }
        }
        self.todo.routing = true;
    }

    fn release_slots(&mut self, old: u32, run: &[u16]) {
        if let Some(o) = self.record_at(old) {
            for s in run {
                o.remove_slot(*s);
            }
        }
    }

    /// Load-time bulk form of [`Cluster::set_slot_owner`] for a range (a slot listed
    /// twice goes to the later line, as in Redis).
    fn assign_range(&mut self, a: u16, b: u16, owner: NodeName) {
        let new = self.owner_cell(Some(owner));
        for s in a..=b {
            let Some(cell) = self.owners.get_mut(usize::from(s)) else {
                return;
            };
            let old = std::mem::replace(cell, new);
            if old != new {
                if let Some(o) = self.record_at(old) {
                    o.remove_slot(s);
                }
            }
        }
        if let Some(n) = self.record_at(new) {
            n.add_slot_range(a..=b);
        }
        self.todo.routing = true;
    }

    /// `clusterDelNodeSlots`: unassign every slot of `name`; returns how many.
    pub(crate) fn del_node_slots(&mut self, name: &NodeName) -> usize {
        let slots: Vec<u16> = match self.nodes.get(name) {
            Some(n) => n.slots.iter().collect(),
            None => return 0,
        };
        for s in &slots {
            self.set_slot_owner(*s, None);
        }
        slots.len()
    }

    // ----- roles ---------------------------------------------------------------------

    pub(crate) fn node_add_replica(&mut self, master: &NodeName, replica: NodeName) {
        if let Some(m) = self.nodes.get_mut(master) {
            if !m.replicas.contains(&replica) {
                m.replicas.push(replica);
            }
            // §5.1: a master that gains a replica is a migration target.
            m.flags |= NodeFlags::MIGRATE_TO;
        }
    }

    pub(crate) fn node_remove_replica(&mut self, master: &NodeName, replica: &NodeName) {
        if let Some(m) = self.nodes.get_mut(master) {
            m.replicas.retain(|r| r != replica);
            if m.replicas.is_empty() {
                m.flags.remove(NodeFlags::MIGRATE_TO);
            }
        }
    }

    /// cluster-bus.md §13.1 — `clusterSetNodeAsMaster`.
    pub(crate) fn set_node_as_master(&mut self, name: &NodeName) {
        let Some(n) = self.nodes.get(name) else {
            return;
        };
        if n.is_master() {
            return;
        }
        if let Some(m) = n.master {
            self.node_remove_replica(&m, name);
        }
        let is_me = *name == self.myself;
        if let Some(n) = self.nodes.get_mut(name) {
            if !is_me {
                n.flags |= NodeFlags::MIGRATE_TO;
            }
            n.flags.remove(NodeFlags::SLAVE);
            n.flags |= NodeFlags::MASTER;
            n.master = None;
        }
        self.save(false);
    }

    /// cluster-bus.md §13.3 / client-behaviour.md REPLICATE — `clusterSetMaster`: we
    /// become a replica of `master`.
    pub(crate) fn set_my_master(&mut self, now: Millis, master: NodeName, out: &mut Vec<Effect>) {
        let me = self.myself;
        if self.me().is_master() {
            self.me_mut()
                .flags
                .remove(NodeFlags::MASTER | NodeFlags::MIGRATE_TO);
            self.me_mut().flags |= NodeFlags::SLAVE;
            self.migrating.clear();
            self.importing.clear();
            self.todo.routing = true;
        } else if let Some(old) = self.me().master {
            self.node_remove_replica(&old, &me);
        }
        self.me_mut().master = Some(master);
        self.node_add_replica(&master, me);
        self.repl_configured = false;
        self.start_replication_if_needed(out);
        // Switching masters drops the link (`replicationHandleMasterDisconnection`).
        if self.repl_link_up {
            self.repl_down_since = now;
        }
        self.repl_link_up = false;
        self.reset_manual_failover(out);
        self.save(true);
    }

    /// cluster-bus.md §10 step 5: a replica whose replication is not configured but
    /// whose master's address is known starts replicating it (also after a load).
    pub(crate) fn start_replication_if_needed(&mut self, out: &mut Vec<Effect>) {
        if self.repl_configured || !self.is_replica() {
            return;
        }
        let Some(m) = self.my_master().and_then(|m| self.nodes.get(&m)) else {
            return;
        };
        if m.ip.is_empty() || m.no_addr() {
            return;
        }
        out.push(Effect::Replicate(Some(MasterAddr {
            name: m.name,
            ip: m.ip.clone(),
            port: m.port,
        })));
        self.repl_configured = true;
    }

    // ----- node add / delete ----------------------------------------------------------

    /// `clusterDelNode`: remove a record, its slots, its reports, its links, and its
    /// place as someone's replica/master.
    pub(crate) fn del_node(&mut self, name: &NodeName, out: &mut Vec<Effect>) {
        // The MYSELF record lives as long as the state (`me()` relies on it), whatever a
        // caller or a peer's message asks.
        if *name == self.myself {
            return;
        }
        self.del_node_slots(name);
        self.importing.retain(|_, v| v != name);
        self.migrating.retain(|_, v| v != name);
        let names = self.nodes.names();
        for n in &names {
            if let Some(x) = self.nodes.get_mut(n) {
                x.fail_reports.retain(|(r, _)| r != name);
            }
        }
        let Some(pos) = self.nodes.position(name) else {
            return;
        };
        let Some(node) = self.nodes.remove(name) else {
            return;
        };
        // The records after it moved down one place (it owns no slot any more).
        let pos = u32::try_from(pos).unwrap_or(NO_RECORD);
        for cell in &mut self.owners {
            if *cell == pos {
                *cell = NO_RECORD;
            } else if *cell != NO_RECORD && *cell > pos {
                *cell -= 1;
            }
        }
        if let Some(m) = node.master {
            self.node_remove_replica(&m, name);
        }
        for r in &node.replicas {
            if let Some(x) = self.nodes.get_mut(r) {
                if x.master == Some(*name) {
                    x.master = None;
                }
            }
        }
        for l in [node.link, node.inbound_link].into_iter().flatten() {
            self.links.remove(&l);
            out.push(Effect::Close { link: l });
        }
        self.todo.routing = true;
    }

    /// Forget a link; `out` gets a Close when the core itself decides to drop it.
    pub(crate) fn free_link(&mut self, link: LinkId, out: Option<&mut Vec<Effect>>) {
        let Some(l) = self.links.remove(&link) else {
            return;
        };
        if let Some(n) = l.node.and_then(|n| self.nodes.get_mut(&n)) {
            if n.link == Some(link) {
                n.link = None;
            }
            if n.inbound_link == Some(link) {
                n.inbound_link = None;
            }
        }
        if let Some(out) = out {
            out.push(Effect::Close { link });
        }
    }

    /// Open an outbound link to `name` (`clusterNodeCronHandleReconnect`).
    pub(crate) fn connect(&mut self, now: Millis, name: NodeName, out: &mut Vec<Effect>) {
        let Some(n) = self.nodes.get(&name) else {
            return;
        };
        let link = LinkId::Out(self.next_link);
        self.next_link += 1;
        let (ip, cport) = (n.ip.clone(), n.cport);
        self.links.insert(
            link,
            Link {
                node: Some(name),
                ctime: now,
                peer_ip: ip.clone(),
                local_ip: String::new(),
                connected: false,
            },
        );
        if let Some(n) = self.nodes.get_mut(&name) {
            n.link = Some(link);
        }
        out.push(Effect::Connect {
            link,
            node: name,
            ip,
            cport,
        });
    }

    // ----- epochs ---------------------------------------------------------------------

    pub(crate) fn max_config_epoch(&self) -> u64 {
        self.nodes.iter().map(|n| n.config_epoch).max().unwrap_or(0)
    }

    /// cluster-bus.md §12 — `clusterBumpConfigEpochWithoutConsensus`. True if bumped.
    pub(crate) fn bump_config_epoch_without_consensus(&mut self, out: &mut Vec<Effect>) -> bool {
        let max = self.max_config_epoch().max(self.current_epoch);
        let mine = self.me().config_epoch;
        if mine == 0 || mine != max {
            self.current_epoch += 1;
            let e = self.current_epoch;
            self.me_mut().config_epoch = e;
            self.save(true);
            Self::log(
                out,
                LogLevel::Warning,
                format!("New configEpoch set to {e}"),
            );
            true
        } else {
            false
        }
    }

    // ----- cluster state --------------------------------------------------------------

    /// cluster-bus.md §16.2 — `clusterUpdateState`.
    pub(crate) fn update_state(&mut self, now: Millis) {
        let i_am_master = self.me().is_master();
        if self.first_state_call == 0 {
            self.first_state_call = now.max(1);
        }
        if i_am_master
            && self.state == Health::Fail
            && now.saturating_sub(self.first_state_call) < WRITABLE_DELAY
        {
            return;
        }
        let mut new = Health::Ok;
        if self.cfg.require_full_coverage {
            let mut covered = 0usize;
            for n in self.nodes.iter() {
                if !n.failed() {
                    covered += n.slot_count();
                }
            }
            if covered != usize::from(CLUSTER_SLOTS) {
                new = Health::Fail;
            }
        }
        let mut size = 0usize;
        let mut reachable = 0usize;
        for n in self.nodes.iter() {
            if n.is_master() && n.has_slots() {
                size += 1;
                if n.healthy() {
                    reachable += 1;
                }
            }
        }
        self.size = size;
        let quorum = size / 2 + 1;
        if reachable < quorum {
            new = Health::Fail;
            self.among_minority_time = now;
        }
        if new != self.state {
            let rejoin = self.cfg.node_timeout.clamp(500, 5000);
            if new == Health::Ok
                && i_am_master
                && now.saturating_sub(self.among_minority_time) < rejoin
            {
                return;
            }
            self.state = new;
            self.todo.routing = true;
        }
    }

    // ----- nodes.conf / CLUSTER NODES ------------------------------------------------

    /// `clusterGenNodeDescription` for one record.
    pub fn node_line(&self, n: &Node) -> NodeLine {
        let epoch = match n.master.and_then(|m| self.nodes.get(&m)) {
            Some(m) if n.is_replica() => m.config_epoch,
            _ => n.config_epoch,
        };
        let mut slots = Vec::new();
        for r in n.slots.ranges() {
            slots.push(SlotToken::Range(*r.start(), *r.end()));
        }
        if n.is_myself() {
            let mut marks: Vec<(u16, SlotToken)> = Vec::new();
            for (s, to) in &self.migrating {
                marks.push((*s, SlotToken::Migrating(*s, *to)));
            }
            for (s, from) in &self.importing {
                if !self.migrating.contains_key(s) {
                    marks.push((*s, SlotToken::Importing(*s, *from)));
                }
            }
            marks.sort_by_key(|(s, _)| *s);
            slots.extend(marks.into_iter().map(|(_, t)| t));
        }
        NodeLine {
            name: n.name,
            ip: n.ip.clone(),
            port: n.port,
            cport: n.cport,
            hostname: n.hostname.clone(),
            flags: n.flags & crate::nodes_conf::PRINTED_FLAGS,
            master: n.master,
            ping_sent: n.ping_sent,
            pong_received: n.pong_received,
            config_epoch: epoch,
            connected: n.link.is_some() || n.is_myself(),
            slots,
        }
    }

    /// CLUSTER NODES text (handshake records included).
    pub fn nodes_text(&self) -> String {
        let mut s = String::with_capacity(128 * self.nodes.len());
        for n in self.nodes.iter() {
            self.node_line(n).write(&mut s);
            s.push('\n');
        }
        s
    }

    /// The nodes.conf model of the current state (handshake records excluded).
    pub fn nodes_conf(&self) -> NodesConf {
        NodesConf {
            nodes: self
                .nodes
                .iter()
                .filter(|n| !n.in_handshake())
                .map(|n| self.node_line(n))
                .collect(),
            current_epoch: self.current_epoch,
            last_vote_epoch: self.last_vote_epoch,
        }
    }

    /// nodes.conf bytes (`clusterSaveConfig`).
    pub fn nodes_conf_bytes(&self) -> Vec<u8> {
        self.nodes_conf().to_bytes()
    }

    /// The routing snapshot of the current state (built from the per-node bitmaps,
    /// which mirror the owner table, one range at a time).
    pub fn routing(&self) -> Routing {
        let mut nodes: Vec<RouteNode> = Vec::new();
        let mut owners = vec![NO_OWNER; usize::from(CLUSTER_SLOTS)];
        for n in self.route_nodes() {
            let Ok(i) = u16::try_from(nodes.len()) else {
                break;
            };
            nodes.push(RouteNode {
                name: n.name,
                ip: n.ip.clone(),
                port: n.port,
                hostname: n.hostname.clone(),
            });
            for r in n.slots.ranges() {
                let (a, b) = (usize::from(*r.start()), usize::from(*r.end()));
                if let Some(cells) = owners.get_mut(a..=b) {
                    cells.fill(i);
                }
            }
        }
        Routing {
            state_ok: self.state == Health::Ok,
            myself: self.myself,
            my_master: self.route_master(),
            nodes,
            owners,
            migrating: self.migrating.clone(),
            importing: self.importing.clone(),
        }
    }

    /// The records a [`Routing`] lists: slot owners, and migration targets (they may
    /// own no slot yet, but ASK redirections need their address).
    fn route_nodes(&self) -> impl Iterator<Item = &Node> + '_ {
        self.nodes
            .iter()
            .filter(|n| n.has_slots() || self.migrating.values().any(|t| *t == n.name))
    }

    fn route_master(&self) -> Option<NodeName> {
        self.my_master().filter(|_| self.is_replica())
    }

    /// True when [`Cluster::routing`] would give `last` again, provided no slot changed
    /// owner (the slot setters ask for a full rebuild instead): O(N) without
    /// building the 16384-entry table.
    /// `nodes`: compare the listed nodes too (see [`Todo::route_nodes`]); debug builds
    /// check that skipping them was right.
    fn routing_unchanged_but_slots(&self, last: &Routing, nodes: bool) -> bool {
        if last.state_ok != (self.state == Health::Ok)
            || last.my_master != self.route_master()
            || last.migrating != self.migrating
            || last.importing != self.importing
        {
            return false;
        }
        if !nodes {
            debug_assert!(
                self.route_nodes_unchanged(last),
                "a record's routing fields changed without route_fields_changed()"
            );
            return true;
        }
        self.route_nodes_unchanged(last)
    }

    fn route_nodes_unchanged(&self, last: &Routing) -> bool {
        let mut before = last.nodes.iter();
        let same = self.route_nodes().all(|n| {
            before.next().is_some_and(|r| {
                r.name == n.name && r.port == n.port && r.ip == n.ip && r.hostname == n.hostname
            })
        });
        same && before.next().is_none()
    }

    /// Count of messages of a type sent (CLUSTER INFO).
    pub fn messages_sent(&self, t: MessageType) -> u64 {
        self.stats_sent
            .get(usize::from(t.code()))
            .copied()
            .unwrap_or(0)
    }

    /// Count of messages of a type received.
    pub fn messages_received(&self, t: MessageType) -> u64 {
        self.stats_received
            .get(usize::from(t.code()))
            .copied()
            .unwrap_or(0)
    }

    /// Links as the core tracks them: (link, node it belongs to, creation time).
    pub fn links(&self) -> impl Iterator<Item = (LinkId, Option<NodeName>, Millis)> + '_ {
        self.links.iter().map(|(id, l)| (*id, l.node, l.ctime))
    }

    /// Text of a node id for messages.
    pub(crate) fn nm(name: &NodeName) -> String {
        name_text(name)
    }
}
