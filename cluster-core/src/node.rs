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
/// MYSELF is held apart from the others, at its place in that order: the table cannot lose
/// it, so [`Nodes::me`] needs no check.
#[derive(Debug, Clone)]
pub struct Nodes {
    me: Node,
    /// MYSELF's position in table order.
    me_at: usize,
    /// The other records, in table order: iterating them (cron, gossip, CLUSTER NODES)
    /// hashes nothing.
    others: Vec<Node>,
    /// Name -> position in table order (MYSELF included). foldhash (randomly seeded per
    /// process) instead of SipHash: every message and cron step does several name lookups.
    index: HashMap<NodeName, usize, foldhash::quality::RandomState>,
}

// A table always holds MYSELF, so it is never empty.
#[allow(clippy::len_without_is_empty)]
impl Nodes {
    /// A table holding only `me` (MYSELF).
    pub fn new(me: Node) -> Nodes {
        let mut index = HashMap::default();
        index.insert(me.name, 0);
        Nodes {
            me,
            me_at: 0,
            others: Vec::new(),
            index,
        }
    }
    /// A table of `before`, `me` (MYSELF) and `after`, in that order (nodes.conf's); a name
    /// met again replaces the first record in place, as [`Nodes::insert`] does.
    pub fn in_order(before: Vec<Node>, me: Node, after: Vec<Node>) -> Nodes {
        let mut t = Nodes::new(me);
        // While nothing follows MYSELF, a new record goes just before it.
        for n in before {
            if t.contains(&n.name) {
                t.insert(n);
                continue;
            }
            t.index.insert(n.name, t.me_at);
            t.others.push(n);
            t.me_at += 1;
            t.index.insert(t.me.name, t.me_at);
        }
        for n in after {
            t.insert(n);
        }
        t
    }
    /// Our own record.
    pub fn me(&self) -> &Node {
        &self.me
    }
    /// Our own record, mutable.
    pub fn me_mut(&mut self) -> &mut Node {
        &mut self.me
    }
    /// The record for `name`.
    pub fn get(&self, name: &NodeName) -> Option<&Node> {
        self.index.get(name).and_then(|i| self.at(*i))
    }
    /// The record for `name`, mutable.
    pub fn get_mut(&mut self, name: &NodeName) -> Option<&mut Node> {
        let i = *self.index.get(name)?;
        self.at_mut(i)
    }
    /// The position of `name` in table order.
    pub(crate) fn position(&self, name: &NodeName) -> Option<usize> {
        self.index.get(name).copied()
    }
    /// True if known.
    pub fn contains(&self, name: &NodeName) -> bool {
        self.index.contains_key(name)
    }
    /// Number of records, MYSELF included.
    pub fn len(&self) -> usize {
        self.others.len() + 1
    }
    /// Where position `i` is among the others (None: it is MYSELF's).
    fn other_index(&self, i: usize) -> Option<usize> {
        match i.cmp(&self.me_at) {
            std::cmp::Ordering::Less => Some(i),
            std::cmp::Ordering::Equal => None,
            std::cmp::Ordering::Greater => Some(i - 1),
        }
    }
    /// Add a record at the end (replacing one of the same name in place; MYSELF stays
    /// MYSELF).
    pub fn insert(&mut self, mut node: Node) {
        if node.name == self.me.name {
            node.flags |= NodeFlags::MYSELF;
            self.me = node;
            return;
        }
        if let Some(i) = self.index.get(&node.name).copied() {
            if let Some(slot) = self.at_mut(i) {
                *slot = node;
            }
            return;
        }
        self.index.insert(node.name, self.len());
        self.others.push(node);
    }
    /// Remove a record (never MYSELF).
    pub fn remove(&mut self, name: &NodeName) -> Option<Node> {
        let at = *self.index.get(name)?;
        let i = self.other_index(at)?;
        if i >= self.others.len() {
            return None;
        }
        self.index.remove(name);
        let n = self.others.remove(i);
        if self.me_at > at {
            self.me_at -= 1;
            if let Some(p) = self.index.get_mut(&self.me.name) {
                *p -= 1;
            }
        }
        for later in self.others.get(i..).unwrap_or_default() {
            if let Some(p) = self.index.get_mut(&later.name) {
                *p -= 1;
            }
        }
        Some(n)
    }
    /// Rename a record, keeping its position; nothing happens when the new name is taken.
    pub fn rename(&mut self, from: &NodeName, to: NodeName) {
        // Never by replacing a record that already has the new name: every caller renames
        // to a name it checked is free.
        if *from == to || !self.contains(from) || self.contains(&to) {
            return;
        }
        if let Some(i) = self.index.remove(from) {
            if let Some(n) = self.at_mut(i) {
                n.name = to;
                self.index.insert(to, i);
            }
        }
    }
    /// The record at position `i` in table order.
    pub fn at(&self, i: usize) -> Option<&Node> {
        match self.other_index(i) {
            None => Some(&self.me),
            Some(i) => self.others.get(i),
        }
    }
    /// The record at position `i`, mutable.
    pub(crate) fn at_mut(&mut self, i: usize) -> Option<&mut Node> {
        match self.other_index(i) {
            None => Some(&mut self.me),
            Some(i) => self.others.get_mut(i),
        }
    }
    /// Names in table order.
    pub fn names(&self) -> Vec<NodeName> {
        self.iter().map(|n| n.name).collect()
    }
    /// Records in table order.
    pub fn iter(&self) -> impl Iterator<Item = &Node> + '_ {
        let (before, after) = self
            .others
            .split_at_checked(self.me_at)
            .unwrap_or((&self.others[..], &[]));
        before.iter().chain(std::iter::once(&self.me)).chain(after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(c: u8) -> NodeName {
        NodeName::new([c; cluster_bus::NAME_LEN])
    }

    fn rec(c: u8) -> Node {
        Node::new(name(c), NodeFlags::MASTER, 0)
    }

    fn order(t: &Nodes) -> Vec<u8> {
        t.iter().map(|n| n.name.as_bytes()[0]).collect()
    }

    /// Positions, lookups and iteration agree wherever MYSELF sits, across removals before
    /// and after it; MYSELF itself cannot be removed or replaced by a record of its name.
    #[test]
    fn myself_keeps_its_place_and_cannot_be_lost() {
        let mut me = rec(b'm');
        me.flags |= NodeFlags::MYSELF;
        let mut t = Nodes::in_order(vec![rec(b'a'), rec(b'b')], me, vec![rec(b'c')]);
        assert_eq!(order(&t), b"abmc");
        assert_eq!(t.len(), 4);
        for (i, c) in b"abmc".iter().enumerate() {
            assert_eq!(t.position(&name(*c)), Some(i));
            assert_eq!(t.at(i).map(|n| n.name), Some(name(*c)));
        }
        assert!(t.remove(&name(b'm')).is_none());
        t.insert(rec(b'm'));
        assert!(t.me().is_myself());
        assert!(t.remove(&name(b'a')).is_some());
        assert_eq!(order(&t), b"bmc");
        assert_eq!(t.position(&name(b'm')), Some(1));
        assert_eq!(t.at(2).map(|n| n.name), Some(name(b'c')));
        t.insert(rec(b'd'));
        assert!(t.remove(&name(b'c')).is_some());
        assert_eq!(order(&t), b"bmd");
        assert_eq!(t.get(&name(b'd')).map(|n| n.name), Some(name(b'd')));
        t.rename(&name(b'm'), name(b'n'));
        assert_eq!(t.me().name, name(b'n'));
        assert_eq!(t.position(&name(b'n')), Some(1));
        assert!(!t.contains(&name(b'm')));
    }
}
