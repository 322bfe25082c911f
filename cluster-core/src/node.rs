//! One record of the node table (`clusterNode`, cluster-bus.md §7), and the table itself.

use std::collections::HashMap;

use cluster_bus::{NodeFlags, NodeName};

pub use crate::node_slots::{NodeSlots, SlotRanges};

use crate::types::{LinkId, Millis};

/// What we know about one node, ourselves included (flag MYSELF).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Node id (random while in HANDSHAKE).
    pub name: NodeName,
    /// Flags as this node sees them.
    pub flags: NodeFlags,
    /// configEpoch as last advertised (a replica's record holds its master's).
    pub config_epoch: u64,
    /// Slots this node owns in our table.
    pub slots: NodeSlots,
    /// Its master, for a replica.
    pub master: Option<NodeName>,
    /// Its replicas, in attach order.
    pub replicas: Vec<NodeName>,
    /// IP (empty when unknown).
    pub ip: String,
    /// Client port.
    pub port: u16,
    /// Bus port.
    pub cport: u16,
    /// Plaintext port (TLS clusters).
    pub pport: u16,
    /// Announced hostname (empty = none).
    pub hostname: String,
    /// Creation time of the record (handshake timeout).
    pub ctime: Millis,
    /// Outstanding ping, 0 = none.
    pub ping_sent: Millis,
    /// Last PONG on our outbound link (or from gossip).
    pub pong_received: Millis,
    /// Last valid message of any type.
    pub data_received: Millis,
    /// When it was flagged FAIL.
    pub fail_time: Millis,
    /// When we last voted for a replica of this master.
    pub voted_time: Millis,
    /// Replication offset from its headers.
    pub repl_offset: u64,
    /// Since when this master has had no working replica (replica migration).
    pub orphaned_time: Millis,
    /// Failure reports: (reporting master, time).
    pub fail_reports: Vec<(NodeName, Millis)>,
    /// Our outbound link to it.
    pub link: Option<LinkId>,
    /// Its identified inbound link to us.
    pub inbound_link: Option<LinkId>,
}

impl Node {
    /// A record with nothing known but a name, flags and a creation time.
    pub fn new(name: NodeName, flags: NodeFlags, now: Millis) -> Self {
        Node {
            name,
            flags,
            config_epoch: 0,
            slots: NodeSlots::default(),
            master: None,
            replicas: Vec::new(),
            ip: String::new(),
            port: 0,
            cport: 0,
            pport: 0,
            hostname: String::new(),
            ctime: now,
            ping_sent: 0,
            pong_received: 0,
            data_received: 0,
            fail_time: 0,
            voted_time: 0,
            repl_offset: 0,
            orphaned_time: 0,
            fail_reports: Vec::new(),
            link: None,
            inbound_link: None,
        }
    }

    /// Number of slots it owns in our table.
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }
    /// True if it owns at least one slot.
    pub fn has_slots(&self) -> bool {
        !self.slots.is_empty()
    }
    /// Add one slot to `slots` (only the slot setters of [`crate::Cluster`]).
    pub(crate) fn add_slot(&mut self, slot: u16) {
        self.slots.insert(slot);
    }
    /// Remove one slot from `slots`.
    pub(crate) fn remove_slot(&mut self, slot: u16) {
        self.slots.remove(slot);
    }
    /// Add a range of slots.
    pub(crate) fn add_slot_range(&mut self, range: std::ops::RangeInclusive<u16>) {
        self.slots.insert_range(range);
    }

    /// MASTER flag.
    pub fn is_master(&self) -> bool {
        self.flags.contains(NodeFlags::MASTER)
    }
    /// SLAVE flag.
    pub fn is_replica(&self) -> bool {
        self.flags.contains(NodeFlags::SLAVE)
    }
    /// MYSELF flag.
    pub fn is_myself(&self) -> bool {
        self.flags.contains(NodeFlags::MYSELF)
    }
    /// HANDSHAKE flag.
    pub fn in_handshake(&self) -> bool {
        self.flags.contains(NodeFlags::HANDSHAKE)
    }
    /// NOADDR flag.
    pub fn no_addr(&self) -> bool {
        self.flags.contains(NodeFlags::NOADDR)
    }
    /// PFAIL flag.
    pub fn timed_out(&self) -> bool {
        self.flags.contains(NodeFlags::PFAIL)
    }
    /// FAIL flag.
    pub fn failed(&self) -> bool {
        self.flags.contains(NodeFlags::FAIL)
    }
    /// Neither PFAIL nor FAIL.
    pub fn healthy(&self) -> bool {
        !self.flags.intersects(NodeFlags::PFAIL | NodeFlags::FAIL)
    }
}

/// The node table: lookup by name, iteration in insertion order (the order nodes.conf
/// and CLUSTER NODES print; Redis uses its hash table order, which clients may not rely on).
#[derive(Debug, Clone, Default)]
pub struct Nodes {
    /// Records in table order: iterating them (cron, gossip, CLUSTER NODES) hashes
    /// nothing.
    list: Vec<Node>,
    /// Name -> position in `list`. foldhash (randomly seeded per process) instead of
    /// SipHash: every message and cron step does several name lookups.
    index: HashMap<NodeName, usize, foldhash::quality::RandomState>,
}

impl Nodes {
    /// The record for `name`.
    pub fn get(&self, name: &NodeName) -> Option<&Node> {
        self.index.get(name).and_then(|i| self.list.get(*i))
    }
    /// The record for `name`, mutable.
    pub fn get_mut(&mut self, name: &NodeName) -> Option<&mut Node> {
        self.index.get(name).and_then(|i| self.list.get_mut(*i))
    }
    /// The position of `name` in table order.
    pub(crate) fn position(&self, name: &NodeName) -> Option<usize> {
        self.index.get(name).copied()
    }
    /// True if known.
    pub fn contains(&self, name: &NodeName) -> bool {
        self.index.contains_key(name)
    }
    /// Number of records.
    pub fn len(&self) -> usize {
        self.list.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
    /// Add a record (replacing one of the same name in place).
    pub fn insert(&mut self, node: Node) {
        match self
            .index
            .get(&node.name)
            .and_then(|i| self.list.get_mut(*i))
        {
            Some(slot) => *slot = node,
            None => {
                self.index.insert(node.name, self.list.len());
                self.list.push(node);
            }
        }
    }
    /// Remove a record.
    pub fn remove(&mut self, name: &NodeName) -> Option<Node> {
        let i = self.index.remove(name)?;
        if i >= self.list.len() {
            return None;
        }
        let n = self.list.remove(i);
        for later in self.list.get(i..).unwrap_or_default() {
            if let Some(p) = self.index.get_mut(&later.name) {
                *p -= 1;
            }
        }
        Some(n)
    }
    /// Rename a record, keeping its position; nothing happens when the new name is taken.
    pub fn rename(&mut self, from: &NodeName, to: NodeName) {
        // Never by replacing a record that already has the new name: that record may be
        // MYSELF, and every caller renames to a name it checked is free.
        if *from == to || !self.contains(from) || self.contains(&to) {
            return;
        }
        if let Some(i) = self.index.remove(from) {
            if let Some(n) = self.list.get_mut(i) {
                n.name = to;
                self.index.insert(to, i);
            }
        }
    }
    /// The record at position `i` in table order.
    pub fn at(&self, i: usize) -> Option<&Node> {
        self.list.get(i)
    }
    /// The record at position `i`, mutable.
    pub(crate) fn at_mut(&mut self, i: usize) -> Option<&mut Node> {
        self.list.get_mut(i)
    }
    /// Names in table order.
    pub fn names(&self) -> Vec<NodeName> {
        self.list.iter().map(|n| n.name).collect()
    }
    /// Records in table order.
    pub fn iter(&self) -> impl Iterator<Item = &Node> + '_ {
        self.list.iter()
    }
}
