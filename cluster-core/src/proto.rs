//! Receiving and sending bus messages: headers, PING/PONG/MEET and gossip, the
//! handshake, failure reports and FAIL, slot claims and UPDATE, pub/sub and modules
//! (cluster-bus.md §6–§9, §11, §13, §16.1).

use bytes::Bytes;
use cluster_bus::{
    Body, ClusterState, Extensions, GossipEntry, Header, Message, ModuleBody, ModuleId, MsgFlags,
    NetIp, NodeFlags, NodeName, PingBody, PingExt, PublishBody, SlotSet, UpdateBody,
};

use crate::cluster::{Cluster, Health, FAIL_REPORT_VALIDITY_MULT, FAIL_UNDO_TIME_MULT};
use crate::node::Node;
use crate::types::{Effect, LinkId, LogLevel, MasterAddr, Millis};

/// Which PING-shaped message to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PingKind {
    Ping,
    Pong,
    Meet,
}

/// Our limit on the node table: gossip never grows it beyond this (7.0 has none; real
/// clusters stay far below 1000 nodes). MEET and handshakes are not limited.
pub(crate) const MAX_NODES: usize = 16384;

fn ip_field(ip: &str) -> NetIp {
    NetIp::new(ip.as_bytes()).unwrap_or(NetIp::EMPTY)
}

fn text_of(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// An address a peer announced (header `myip`, gossip entry `ip`) that can go into
/// nodes.conf, CLUSTER NODES and redirections: the characters of IPv4/IPv6 literals and
/// host names only (empty allowed). Redis 7.0 copies these bytes unchecked, so a
/// newline or a space there corrupts its nodes.conf and a CR LF ends up inside MOVED
/// replies; we refuse them (a deliberate tightening, found by fuzzing).
fn printable_ip(ip: &NetIp) -> bool {
    ip.as_bytes()
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b':' | b'-' | b'%'))
}

/// A peer's announced hostname (PING extension) under the rule 7.0 applies to
/// `cluster-announce-hostname`: alphanumerics, '-' and '.', under 256 bytes.
fn printable_hostname(h: &[u8]) -> bool {
    h.len() < 256
        && h.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.'))
}

impl Cluster {
    // ----- building and sending ------------------------------------------------------

    /// cluster-bus.md §2 — `clusterBuildMessageHdr`.
    pub(crate) fn header(&self) -> Header {
        let me = self.me();
        let master = if me.is_replica() {
            me.master.and_then(|m| self.nodes.get(&m))
        } else {
            None
        };
        let mut h = Header::new(self.myself);
        h.port = self.cfg.port;
        h.cport = self.cfg.cport;
        h.pport = self.cfg.pport;
        if let Some(ip) = &self.cfg.announce_ip {
            h.myip = ip_field(ip);
        }
        h.myslots = master.map_or_else(|| me.slots.to_set(), |m| m.slots.to_set());
        if me.is_replica() {
            if let Some(m) = me.master {
                h.slaveof = m;
            }
        }
        h.flags = me.flags;
        h.state = match self.state {
            Health::Ok => ClusterState::Ok,
            Health::Fail => ClusterState::Fail,
        };
        h.current_epoch = self.current_epoch;
        h.config_epoch = master.map_or(me.config_epoch, |m| m.config_epoch);
        h.offset = self.repl_offset;
        if me.is_master() && self.mf.end != 0 {
            h.mflags |= MsgFlags::PAUSED;
        }
        h
    }

    /// Write `msg` on `link`, counting it for CLUSTER INFO.
    pub(crate) fn send(&mut self, link: LinkId, msg: Message, out: &mut Vec<Effect>) {
        if let Some(c) = self.stats_sent.get_mut(usize::from(msg.body.code())) {
            *c += 1;
        }
        out.push(Effect::Send {
            link,
            msg: Box::new(msg),
        });
    }

    /// Send on a node's outbound link; nothing if it has none (§7).
    pub(crate) fn send_to_node(&mut self, name: &NodeName, msg: Message, out: &mut Vec<Effect>) {
        if let Some(link) = self.nodes.get(name).and_then(|n| n.link) {
            self.send(link, msg, out);
        }
    }

    /// §7 — `clusterBroadcastMessage`: every node's outbound link except MYSELF/HANDSHAKE.
    pub(crate) fn broadcast(&mut self, msg: &Message, out: &mut Vec<Effect>) {
        let links: Vec<LinkId> = self
            .nodes
            .iter()
            .filter(|n| !n.is_myself() && !n.in_handshake())
            .filter_map(|n| n.link)
            .collect();
        for l in links {
            self.send(l, msg.clone(), out);
        }
    }

    fn gossip_entry(n: &Node) -> GossipEntry {
        GossipEntry {
            node: n.name,
            ping_sent: u32::try_from(n.ping_sent / 1000).unwrap_or(u32::MAX),
            pong_received: u32::try_from(n.pong_received / 1000).unwrap_or(u32::MAX),
            ip: ip_field(&n.ip),
            port: n.port,
            cport: n.cport,
            flags: n.flags,
            pport: n.pport,
            unused: 0,
        }
    }

    /// cluster-bus.md §9.2 — `clusterSendPing`: header, `max(3, N/10)` random gossip
    /// entries (capped at N − 2), every PFAIL node, the HOSTNAME extension.
    pub(crate) fn build_ping(&mut self, kind: PingKind) -> Message {
        // Random positions in the table, not a copy of its names: O(wanted), not O(N).
        let n = self.nodes.len();
        let mut freshnodes = n.saturating_sub(2);
        let wanted = (n / 10).max(3).min(freshnodes);
        let mut entries: Vec<GossipEntry> = Vec::with_capacity(wanted + self.pfail_count);
        // Positions already drawn: names are unique in the table, so a position seen
        // is a name already in `entries`, without comparing 40-byte names (wanted² of
        // them per message at 1000 nodes).
        let mut picked = vec![0u64; n.div_ceil(64)];
        let mut iterations = wanted * 3;
        while freshnodes > 0 && entries.len() < wanted && iterations > 0 {
            iterations -= 1;
            let pos = self.rng.usize(..n.max(1));
            let Some(node) = self.nodes.at(pos) else {
                break;
            };
            if node.is_myself() || node.timed_out() {
                continue;
            }
            if node.in_handshake() || node.no_addr() || (node.link.is_none() && !node.has_slots()) {
                freshnodes -= 1;
                continue;
            }
            let (word, bit) = (pos / 64, 1u64 << (pos % 64));
            if picked.get(word).is_some_and(|w| w & bit != 0) {
                continue;
            }
            if let Some(w) = picked.get_mut(word) {
                *w |= bit;
            }
            entries.push(Self::gossip_entry(node));
            freshnodes -= 1;
        }
        let mut pfail_wanted = self.pfail_count;
        for node in self.nodes.iter() {
            if pfail_wanted == 0 {
                break;
            }
            if node.timed_out() && !node.in_handshake() && !node.no_addr() {
                entries.push(Self::gossip_entry(node));
                pfail_wanted -= 1;
            }
        }
        let gossip = cluster_bus::Gossip::from_entries(&entries).unwrap_or_default();
        let mut extensions = Vec::new();
        if !self.cfg.hostname.is_empty() {
            if let Ok(e) = PingExt::hostname(Bytes::from(self.cfg.hostname.clone())) {
                extensions.push(e);
            }
        }
        let extensions = Extensions::new(&extensions).unwrap_or_default();
        let body = PingBody { gossip, extensions };
        let body = match kind {
            PingKind::Ping => Body::Ping(body),
            PingKind::Pong => Body::Pong(body),
            PingKind::Meet => Body::Meet(body),
        };
        Message::new(self.header(), body)
    }

    /// Send a PING/PONG/MEET on a link; a PING on our outbound link starts the
    /// node's `ping_sent` clock (§9.1).
    pub(crate) fn send_ping(
        &mut self,
        now: Millis,
        link: LinkId,
        kind: PingKind,
        out: &mut Vec<Effect>,
    ) {
        let msg = self.build_ping(kind);
        if kind == PingKind::Ping && link.is_outbound() {
            if let Some(n) = self
                .links
                .get(&link)
                .and_then(|l| l.node)
                .and_then(|n| self.nodes.get_mut(&n))
            {
                n.ping_sent = now;
            }
        }
        self.send(link, msg, out);
    }

    /// §9.3 — `clusterBroadcastPong`: to everyone, or only to my master's replicas.
    pub(crate) fn broadcast_pong(&mut self, now: Millis, local_only: bool, out: &mut Vec<Effect>) {
        let my_master = if self.is_replica() {
            self.my_master()
        } else {
            Some(self.myself)
        };
        let targets: Vec<LinkId> = self
            .nodes
            .iter()
            .filter(|n| !n.is_myself() && !n.in_handshake())
            .filter(|n| !local_only || (n.is_replica() && n.master == my_master))
            .filter_map(|n| n.link)
            .collect();
        for l in targets {
            self.send_ping(now, l, PingKind::Pong, out);
        }
    }

    /// An outbound connect completed: MEET if the node is flagged MEET, else PING
    /// (`clusterLinkConnectHandler`). An older outstanding ping time is kept.
    pub(crate) fn link_connected(&mut self, now: Millis, link: LinkId, out: &mut Vec<Effect>) {
        let Some(name) = self.links.get(&link).and_then(|l| l.node) else {
            return;
        };
        let Some(node) = self.nodes.get(&name) else {
            return;
        };
        let old_ping_sent = node.ping_sent;
        let kind = if node.flags.contains(NodeFlags::MEET) {
            PingKind::Meet
        } else {
            PingKind::Ping
        };
        self.send_ping(now, link, kind, out);
        if let Some(n) = self.nodes.get_mut(&name) {
            if old_ping_sent != 0 {
                n.ping_sent = old_ping_sent;
            }
            n.flags.remove(NodeFlags::MEET);
        }
    }

    /// §11.3 — `clusterSendFail`.
    fn send_fail(&mut self, about: NodeName, out: &mut Vec<Effect>) {
        let msg = Message::new(self.header(), Body::Fail(about));
        self.broadcast(&msg, out);
    }

    /// §13.2-2 — `clusterSendUpdate`: the slots of `about` (minus those it stopped
    /// claiming), on `to`'s outbound link; nothing without one.
    fn send_update(&mut self, to: &NodeName, about: &NodeName, out: &mut Vec<Effect>) {
        let Some(n) = self.nodes.get(about) else {
            return;
        };
        let mut slots = n.slots.to_set();
        for s in self.not_claiming.iter() {
            slots.remove(s);
        }
        let body = Body::Update(UpdateBody {
            config_epoch: n.config_epoch,
            node: n.name,
            slots: Box::new(slots),
        });
        let msg = Message::new(self.header(), body);
        self.send_to_node(to, msg, out);
    }

    /// §16.1 — `clusterPropagatePublish`.
    pub(crate) fn propagate_publish(
        &mut self,
        shard: bool,
        channel: Bytes,
        message: Bytes,
        out: &mut Vec<Effect>,
    ) {
        let body = PublishBody { channel, message };
        if !shard {
            let msg = Message::new(self.header(), Body::Publish(body));
            self.broadcast(&msg, out);
            return;
        }
        let msg = Message::new(self.header(), Body::PublishShard(body));
        let head = if self.is_replica() {
            self.my_master().unwrap_or(self.myself)
        } else {
            self.myself
        };
        let mut targets = vec![head];
        if let Some(h) = self.nodes.get(&head) {
            targets.extend(h.replicas.iter().copied());
        }
        for t in targets {
            let skip = self
                .nodes
                .get(&t)
                .is_none_or(|n| n.is_myself() || n.in_handshake());
            if !skip {
                self.send_to_node(&t, msg.clone(), out);
            }
        }
    }

    /// §3.8 — `clusterSendModule`.
    pub(crate) fn send_module(
        &mut self,
        target: Option<NodeName>,
        module_id: ModuleId,
        module_type: u8,
        payload: Bytes,
        out: &mut Vec<Effect>,
    ) {
        let body = Body::Module(ModuleBody {
            module_id,
            module_type,
            payload,
        });
        let msg = Message::new(self.header(), body);
        match target {
            Some(t) => self.send_to_node(&t, msg, out),
            None => self.broadcast(&msg, out),
        }
    }

    // ----- receiving -----------------------------------------------------------------

    /// cluster-bus.md §6 — `clusterProcessPacket`.
    pub(crate) fn process_packet(
        &mut self,
        now: Millis,
        link: LinkId,
        msg: Message,
        out: &mut Vec<Effect>,
    ) {
        if let Some(c) = self.stats_received.get_mut(usize::from(msg.body.code())) {
            *c += 1;
        }
        // Redis counts the message before the debug filter drops it.
        if i32::from(msg.body.code()) == self.drop_packet_filter {
            Self::log(
                out,
                LogLevel::Warning,
                "Dropping packet that matches debug drop filter".to_owned(),
            );
            return;
        }
        let Some(link_rec) = self.links.get(&link) else {
            return;
        };
        let link_node = link_rec.node;
        let hdr = &msg.header;
        // §6.2 — getNodeFromLinkAndMsg.
        let mut sender = link_node.filter(|n| self.nodes.get(n).is_some_and(|x| !x.in_handshake()));
        if sender.is_none() && hdr.sender.is_valid() && self.nodes.contains(&hdr.sender) {
            sender = Some(hdr.sender);
            if !link.is_outbound() && link_node.is_none() {
                self.set_inbound_link(hdr.sender, link, out);
            }
        }
        if let Some(s) = sender {
            self.sender_updates(now, s, hdr, out);
        }
        match &msg.body {
            Body::Ping(p) | Body::Meet(p) | Body::Pong(p) => {
                let kind = match msg.body {
                    Body::Ping(_) => PingKind::Ping,
                    Body::Pong(_) => PingKind::Pong,
                    _ => PingKind::Meet,
                };
                self.process_ping(now, link, link_node, sender, kind, hdr, p, out);
            }
            Body::Fail(about) => self.process_fail(now, sender, about, out),
            Body::Publish(p) | Body::PublishShard(p) => {
                if sender.is_some() {
                    out.push(Effect::Deliver {
                        shard: matches!(msg.body, Body::PublishShard(_)),
                        channel: p.channel.clone(),
                        message: p.message.clone(),
                    });
                }
            }
            Body::FailoverAuthRequest => {
                if let Some(s) = sender {
                    self.send_failover_auth_if_needed(now, s, hdr, out);
                }
            }
            Body::FailoverAuthAck => {
                if let Some(s) = sender {
                    self.count_failover_ack(s, hdr);
                }
            }
            Body::MfStart => {
                if let Some(s) = sender {
                    self.process_mfstart(now, link, s, out);
                }
            }
            Body::Update(u) => {
                if sender.is_some() {
                    self.process_update(now, u, out);
                }
            }
            Body::Module(m) => {
                if let Some(s) = sender {
                    out.push(Effect::ModuleMessage {
                        sender: s,
                        module_id: m.module_id,
                        module_type: m.module_type,
                        payload: m.payload.clone(),
                    });
                }
            }
            Body::Unknown { code, .. } => {
                Self::log(
                    out,
                    LogLevel::Warning,
                    format!("Received unknown packet type: {code}"),
                );
            }
        }
    }

    /// §6.2 — `setClusterNodeToInboundClusterLink`: one inbound link per node.
    fn set_inbound_link(&mut self, name: NodeName, link: LinkId, out: &mut Vec<Effect>) {
        let old = self.nodes.get(&name).and_then(|n| n.inbound_link);
        if let Some(old) = old.filter(|o| *o != link) {
            self.free_link(old, Some(out));
        }
        if let Some(n) = self.nodes.get_mut(&name) {
            n.inbound_link = Some(link);
        }
        if let Some(l) = self.links.get_mut(&link) {
            l.node = Some(name);
        }
    }

    /// §6.2 — updates from every message of a known sender.
    fn sender_updates(&mut self, now: Millis, s: NodeName, hdr: &Header, out: &mut Vec<Effect>) {
        let Some(node) = self.nodes.get_mut(&s) else {
            return;
        };
        node.data_received = now;
        if node.in_handshake() {
            return;
        }
        node.repl_offset = hdr.offset;
        let raise = hdr.config_epoch > node.config_epoch;
        if raise {
            node.config_epoch = hdr.config_epoch;
        }
        if hdr.current_epoch > self.current_epoch {
            self.current_epoch = hdr.current_epoch;
            self.save(true);
        }
        if raise {
            self.save(true);
        }
        if self.is_replica()
            && self.mf.end != 0
            && self.my_master() == Some(s)
            && hdr.mflags.contains(MsgFlags::PAUSED)
            && self.mf.master_offset.is_none()
        {
            self.mf.master_offset = Some(hdr.offset);
            self.todo.handle_failover = true;
            Self::log(
                out,
                LogLevel::Warning,
                format!(
                    "Received replication offset for paused master manual failover: {}",
                    hdr.offset
                ),
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn process_ping(
        &mut self,
        now: Millis,
        link: LinkId,
        link_node: Option<NodeName>,
        sender: Option<NodeName>,
        kind: PingKind,
        hdr: &Header,
        body: &PingBody,
        out: &mut Vec<Effect>,
    ) {
        if kind != PingKind::Pong {
            // §8 step 2: learn our own IP from this connection.
            let my_ip_empty = self.me().ip.is_empty();
            if (kind == PingKind::Meet || my_ip_empty) && self.cfg.announce_ip.is_none() {
                let local = self
                    .links
                    .get(&link)
                    .map(|l| l.local_ip.clone())
                    .unwrap_or_default();
                if !local.is_empty() && local != self.me().ip {
                    Self::log(
                        out,
                        LogLevel::Warning,
                        format!("IP address for this node updated to {local}"),
                    );
                    self.me_mut().ip = local;
                    self.route_fields_changed();
                    self.save(false);
                }
            }
            if sender.is_none() && kind == PingKind::Meet {
                // §8 step 2: a HANDSHAKE record with a random name for the newcomer.
                let name = crate::cluster::random_name(&mut self.rng);
                let mut n = Node::new(name, NodeFlags::HANDSHAKE, now);
                n.ip = if hdr.myip.is_empty() || !printable_ip(&hdr.myip) {
                    self.links
                        .get(&link)
                        .map(|l| l.peer_ip.clone())
                        .unwrap_or_default()
                } else {
                    text_of(hdr.myip.as_bytes())
                };
                n.port = hdr.port;
                n.cport = hdr.cport;
                n.pport = hdr.pport;
                self.nodes.insert(n);
                self.route_fields_changed();
                self.save(false);
                self.process_gossip(now, None, body, out);
            }
            // §9.3: always answer on the same link.
            self.send_ping(now, link, PingKind::Pong, out);
        }

        if link.is_outbound() {
            let Some(ln) = link_node else { return };
            let in_handshake = self.nodes.get(&ln).is_some_and(Node::in_handshake);
            if in_handshake {
                if let Some(s) = sender {
                    // §8 step 3: we already know this node under its real name.
                    self.update_address_if_needed(s, link, hdr, out);
                    self.del_node(&ln, out);
                    return;
                }
                if !hdr.sender.is_valid() || self.nodes.contains(&hdr.sender) {
                    return;
                }
                Self::log(
                    out,
                    LogLevel::Verbose,
                    format!("Handshake with node {} completed.", Self::nm(&hdr.sender)),
                );
                self.nodes.rename(&ln, hdr.sender);
                self.route_fields_changed();
                for l in self.links.values_mut() {
                    if l.node == Some(ln) {
                        l.node = Some(hdr.sender);
                    }
                }
                if let Some(n) = self.nodes.get_mut(&hdr.sender) {
                    n.flags.remove(NodeFlags::HANDSHAKE);
                    n.flags |= hdr.flags & (NodeFlags::MASTER | NodeFlags::SLAVE);
                }
                self.save(false);
            } else if ln != hdr.sender {
                // §8: "PONG contains mismatching sender ID".
                if let Some(n) = self.nodes.get_mut(&ln) {
                    n.flags |= NodeFlags::NOADDR;
                    n.ip.clear();
                    n.port = 0;
                    n.pport = 0;
                    n.cport = 0;
                }
                self.route_fields_changed();
                self.free_link(link, Some(out));
                self.save(false);
                return;
            }
        }

        if let Some(s) = sender {
            if let Some(n) = self.nodes.get_mut(&s) {
                n.flags.remove(NodeFlags::NOFAILOVER);
                n.flags |= hdr.flags & NodeFlags::NOFAILOVER;
            }
            // §13.4: address change announced by a PING on another link.
            if kind == PingKind::Ping
                && self.nodes.get(&s).and_then(|n| n.link) != Some(link)
                && self.update_address_if_needed(s, link, hdr, out)
            {
                self.save(false);
            }
        }

        // §9.3: a PONG on our outbound link answers our PING.
        if link.is_outbound() && kind == PingKind::Pong {
            let name = self.links.get(&link).and_then(|l| l.node);
            if let Some(name) = name {
                let mut clear_fail = false;
                if let Some(n) = self.nodes.get_mut(&name) {
                    n.pong_received = now;
                    n.ping_sent = 0;
                    if n.timed_out() {
                        n.flags.remove(NodeFlags::PFAIL);
                        self.todo.update_state = true;
                        self.todo.save = true;
                    } else if n.failed() {
                        clear_fail = true;
                    }
                }
                if clear_fail {
                    self.clear_node_failure_if_needed(now, name, out);
                }
            }
        }

        let Some(s) = sender else { return };
        // §13.1 role from the header.
        if let Some(m) = hdr.master() {
            if self.nodes.get(&s).is_some_and(Node::is_master) {
                self.del_node_slots(&s);
                if let Some(n) = self.nodes.get_mut(&s) {
                    n.flags.remove(NodeFlags::MASTER | NodeFlags::MIGRATE_TO);
                    n.flags |= NodeFlags::SLAVE;
                }
                self.save(false);
            }
            let known = self.nodes.contains(m) && *m != s;
            let cur = self.nodes.get(&s).and_then(|n| n.master);
            if known && cur != Some(*m) {
                if let Some(old) = cur {
                    self.node_remove_replica(&old, &s);
                }
                self.node_add_replica(m, s);
                if let Some(n) = self.nodes.get_mut(&s) {
                    n.master = Some(*m);
                }
                self.save(false);
            }
        } else {
            self.set_node_as_master(&s);
        }

        // §13.2 slot claims.
        let sender_is_master = self.nodes.get(&s).is_some_and(Node::is_master);
        let sender_master = if sender_is_master {
            Some(s)
        } else {
            self.nodes.get(&s).and_then(|n| n.master)
        };
        let dirty = sender_master
            .and_then(|m| self.nodes.get(&m))
            .is_some_and(|m| !m.slots.same_as(&hdr.myslots));
        if sender_is_master && dirty {
            self.update_slots_config_with(now, s, hdr.config_epoch, &hdr.myslots, out);
        }
        if dirty {
            let mut stale_owner = None;
            for slot in hdr.myslots.iter() {
                let Some(owner) = self.slot_owner(slot) else {
                    continue;
                };
                if owner == s || self.not_claiming.contains(slot) {
                    continue;
                }
                if self
                    .nodes
                    .get(&owner)
                    .is_some_and(|o| o.config_epoch > hdr.config_epoch)
                {
                    stale_owner = Some(owner);
                    break;
                }
            }
            if let Some(owner) = stale_owner {
                Self::log(
                    out,
                    LogLevel::Verbose,
                    format!(
                        "Node {} has old slots configuration, sending an UPDATE message about {}",
                        Self::nm(&s),
                        Self::nm(&owner)
                    ),
                );
                self.send_update(&s, &owner, out);
            }
        }

        // §12 collision.
        if self.me().is_master() && sender_is_master && hdr.config_epoch == self.me().config_epoch {
            self.handle_config_epoch_collision(s, out);
        }

        self.process_gossip(now, Some(s), body, out);
        // §3.3: the hostname, or none.
        let hostname = body
            .hostname()
            .filter(|h| printable_hostname(h))
            .map(text_of)
            .unwrap_or_default();
        if let Some(n) = self.nodes.get_mut(&s) {
            if n.hostname != hostname {
                n.hostname = hostname;
                self.route_fields_changed();
                self.save(false);
            }
        }
    }

    /// cluster-bus.md §12 — `clusterHandleConfigEpochCollision`: the smaller name moves.
    fn handle_config_epoch_collision(&mut self, sender: NodeName, out: &mut Vec<Effect>) {
        if sender.as_bytes() <= self.myself.as_bytes() {
            return;
        }
        self.current_epoch += 1;
        let e = self.current_epoch;
        self.me_mut().config_epoch = e;
        self.save(true);
        Self::log(
            out,
            LogLevel::Verbose,
            format!(
                "WARNING: configEpoch collision with node {}. configEpoch set to {e}",
                Self::nm(&sender)
            ),
        );
    }

    /// §13.4 — `nodeUpdateAddressIfNeeded`. True if the address changed.
    fn update_address_if_needed(
        &mut self,
        name: NodeName,
        link: LinkId,
        hdr: &Header,
        out: &mut Vec<Effect>,
    ) -> bool {
        let Some(n) = self.nodes.get(&name) else {
            return false;
        };
        if n.link == Some(link) || n.is_myself() {
            return false;
        }
        let ip = if hdr.myip.is_empty() || !printable_ip(&hdr.myip) {
            self.links
                .get(&link)
                .map(|l| l.peer_ip.clone())
                .unwrap_or_default()
        } else {
            text_of(hdr.myip.as_bytes())
        };
        if n.port == hdr.port && n.cport == hdr.cport && n.pport == hdr.pport && n.ip == ip {
            return false;
        }
        let old_link = n.link;
        if let Some(n) = self.nodes.get_mut(&name) {
            n.ip.clone_from(&ip);
            n.port = hdr.port;
            n.cport = hdr.cport;
            n.pport = hdr.pport;
            n.flags.remove(NodeFlags::NOADDR);
        }
        self.route_fields_changed();
        if let Some(l) = old_link {
            self.free_link(l, Some(out));
        }
        Self::log(
            out,
            LogLevel::Warning,
            format!(
                "Address updated for node {}, now {ip}:{}",
                Self::nm(&name),
                hdr.port
            ),
        );
        if self.is_replica() && self.my_master() == Some(name) {
            out.push(Effect::Replicate(Some(MasterAddr {
                name,
                ip,
                port: hdr.port,
            })));
        }
        self.todo.routing = true;
        true
    }

    /// cluster-bus.md §9.4 — `clusterProcessGossipSection`.
    fn process_gossip(
        &mut self,
        now: Millis,
        sender: Option<NodeName>,
        body: &PingBody,
        out: &mut Vec<Effect>,
    ) {
        let sender_is_master = sender
            .and_then(|s| self.nodes.get(&s))
            .is_some_and(Node::is_master);
        for e in body.gossip.iter() {
            let flags = e.flags;
            let bad = flags.intersects(NodeFlags::PFAIL | NodeFlags::FAIL);
            // One name lookup per entry: nothing below removes a record, so the
            // position stays valid (an insert only appends).
            if let Some(pos) = self.nodes.position(&e.node) {
                if let Some(s) = sender.filter(|_| sender_is_master && e.node != self.myself) {
                    if bad {
                        if self.add_failure_report(now, e.node, s) {
                            Self::log(
                                out,
                                LogLevel::Verbose,
                                format!(
                                    "Node {} reported node {} as not reachable.",
                                    Self::nm(&s),
                                    Self::nm(&e.node)
                                ),
                            );
                        }
                        self.mark_node_as_failing_if_needed(now, e.node, out);
                    } else if self.del_failure_report_at(now, pos, s) {
                        Self::log(
                            out,
                            LogLevel::Verbose,
                            format!(
                                "Node {} reported node {} is back online.",
                                Self::nm(&s),
                                Self::nm(&e.node)
                            ),
                        );
                    }
                }
                let validity = self.report_validity();
                let Some(node) = self.nodes.at_mut(pos) else {
                    continue;
                };
                let reports = Self::valid_reports(node, now, validity);
                if !bad && node.ping_sent == 0 && reports == 0 {
                    let pong = u64::from(e.pong_received) * 1000;
                    if pong <= now.saturating_add(500) && pong > node.pong_received {
                        node.pong_received = pong;
                    }
                }
                let eip = text_of(e.ip.as_bytes());
                if !node.healthy()
                    && !flags.contains(NodeFlags::NOADDR)
                    && !bad
                    && printable_ip(&e.ip)
                    && (!node.ip.eq_ignore_ascii_case(&eip)
                        || node.port != e.port
                        || node.cport != e.cport)
                {
                    let old_link = node.link;
                    node.ip = eip;
                    node.port = e.port;
                    node.pport = e.pport;
                    node.cport = e.cport;
                    node.flags.remove(NodeFlags::NOADDR);
                    self.route_fields_changed();
                    if let Some(l) = old_link {
                        self.free_link(l, Some(out));
                    }
                }
            } else if sender.is_some()
                && self.nodes.len() < MAX_NODES
                && !flags.contains(NodeFlags::NOADDR)
                && e.node.is_valid()
                && printable_ip(&e.ip)
                && !self.blacklisted(now, &e.node)
            {
                // Never adopt MYSELF/HANDSHAKE/MEET bits from someone else's view.
                let keep = flags - (NodeFlags::MYSELF | NodeFlags::HANDSHAKE | NodeFlags::MEET);
                let mut n = Node::new(e.node, keep, now);
                n.ip = text_of(e.ip.as_bytes());
                n.port = e.port;
                n.cport = e.cport;
                n.pport = e.pport;
                self.nodes.insert(n);
                self.route_fields_changed();
                self.save(false);
            }
        }
    }

    /// §16.3 — `clusterBlacklistExists` (expired entries are purged).
    pub(crate) fn blacklisted(&mut self, now: Millis, name: &NodeName) -> bool {
        self.blacklist.retain(|_, exp| *exp > now);
        self.blacklist.contains_key(name)
    }

    // ----- failure detection -----------------------------------------------------

    /// §11.2 — `clusterNodeAddFailureReport`. True if new.
    fn add_failure_report(&mut self, now: Millis, about: NodeName, from: NodeName) -> bool {
        let Some(n) = self.nodes.get_mut(&about) else {
            return false;
        };
        if let Some(r) = n.fail_reports.iter_mut().find(|(r, _)| *r == from) {
            r.1 = now;
            return false;
        }
        n.fail_reports.push((from, now));
        true
    }

    /// §11.2 — `clusterNodeDelFailureReport`. True if one was removed.
    fn del_failure_report_at(&mut self, now: Millis, pos: usize, from: NodeName) -> bool {
        let validity = self.report_validity();
        let Some(n) = self.nodes.at_mut(pos) else {
            return false;
        };
        Self::valid_reports(n, now, validity);
        let before = n.fail_reports.len();
        n.fail_reports.retain(|(r, _)| *r != from);
        before != n.fail_reports.len()
    }

    /// §11.2 — `clusterNodeFailureReportsCount`: valid reports (2 × node_timeout).
    pub(crate) fn failure_reports_count(&mut self, now: Millis, about: NodeName) -> usize {
        let validity = self.report_validity();
        self.nodes
            .get_mut(&about)
            .map_or(0, |n| Self::valid_reports(n, now, validity))
    }

    fn report_validity(&self) -> Millis {
        self.cfg
            .node_timeout
            .saturating_mul(FAIL_REPORT_VALIDITY_MULT)
    }

    /// Drop `n`'s expired failure reports; how many are left.
    fn valid_reports(n: &mut Node, now: Millis, validity: Millis) -> usize {
        n.fail_reports
            .retain(|(_, t)| now.saturating_sub(*t) <= validity);
        n.fail_reports.len()
    }

    /// cluster-bus.md §11.3 — `markNodeAsFailingIfNeeded`: FAIL needs reports from a
    /// majority of masters; our own opinion counts when we are a master.
    fn mark_node_as_failing_if_needed(
        &mut self,
        now: Millis,
        about: NodeName,
        out: &mut Vec<Effect>,
    ) {
        let quorum = self.size / 2 + 1;
        let Some(n) = self.nodes.get(&about) else {
            return;
        };
        if !n.timed_out() || n.failed() {
            return;
        }
        let mut failures = self.failure_reports_count(now, about);
        if self.me().is_master() {
            failures += 1;
        }
        if failures < quorum {
            return;
        }
        Self::log(
            out,
            LogLevel::Notice,
            format!(
                "Marking node {} as failing (quorum reached).",
                Self::nm(&about)
            ),
        );
        if let Some(n) = self.nodes.get_mut(&about) {
            n.flags.remove(NodeFlags::PFAIL);
            n.flags |= NodeFlags::FAIL;
            n.fail_time = now;
        }
        self.send_fail(about, out);
        self.save(true);
    }

    /// cluster-bus.md §11.5 — `clearNodeFailureIfNeeded`.
    fn clear_node_failure_if_needed(&mut self, now: Millis, name: NodeName, out: &mut Vec<Effect>) {
        let undo = self.cfg.node_timeout.saturating_mul(FAIL_UNDO_TIME_MULT);
        let Some(n) = self.nodes.get_mut(&name) else {
            return;
        };
        let text = if n.is_replica() || !n.has_slots() {
            "is reachable again."
        } else if n.is_master() && now.saturating_sub(n.fail_time) > undo {
            "is reachable again and nobody is serving its slots after some time."
        } else {
            return;
        };
        n.flags.remove(NodeFlags::FAIL);
        Self::log(
            out,
            LogLevel::Notice,
            format!(
                "Clear FAIL state for node {}: {} {text}",
                Self::nm(&name),
                if n.is_replica() {
                    "replica"
                } else {
                    "master without slots"
                }
            ),
        );
        self.save(false);
    }

    /// cluster-bus.md §11.4 — FAIL from a known sender.
    fn process_fail(
        &mut self,
        now: Millis,
        sender: Option<NodeName>,
        about: &NodeName,
        out: &mut Vec<Effect>,
    ) {
        let Some(s) = sender else {
            Self::log(
                out,
                LogLevel::Notice,
                format!(
                    "Ignoring FAIL message from unknown node {} about {}",
                    "?",
                    Self::nm(about)
                ),
            );
            return;
        };
        let Some(n) = self.nodes.get_mut(about) else {
            return;
        };
        if n.flags.intersects(NodeFlags::FAIL | NodeFlags::MYSELF) {
            return;
        }
        n.flags |= NodeFlags::FAIL;
        n.fail_time = now;
        n.flags.remove(NodeFlags::PFAIL);
        Self::log(
            out,
            LogLevel::Notice,
            format!(
                "FAIL message received from {} about {}",
                Self::nm(&s),
                Self::nm(about)
            ),
        );
        self.save(false);
    }

    // ----- slots -----------------------------------------------------------------

    /// cluster-bus.md §13.3 — `clusterUpdateSlotsConfigWith`.
    pub(crate) fn update_slots_config_with(
        &mut self,
        now: Millis,
        sender: NodeName,
        epoch: u64,
        slots: &SlotSet,
        out: &mut Vec<Effect>,
    ) {
        if sender == self.myself {
            Self::log(
                out,
                LogLevel::Notice,
                "Discarding UPDATE message about myself.".into(),
            );
            return;
        }
        let cur = if self.is_replica() {
            self.my_master().unwrap_or(self.myself)
        } else {
            self.myself
        };
        let mut new_primary = None;
        let mut migrated_our_slots = 0usize;
        let mut sender_slots = 0usize;
        let mut dirty = SlotSet::EMPTY;
        let mut taken = SlotSet::EMPTY;
        // Runs of slots share an owner: look its epoch up once per run.
        let mut older: Option<(NodeName, bool)> = None;
        for s in slots.iter() {
            sender_slots += 1;
            let owner = self.slot_owner(s);
            if owner == Some(sender) {
                self.not_claiming.remove(s);
                continue;
            }
            if self.importing.contains_key(&s) {
                continue;
            }
            let takes = match owner {
                None => true,
                Some(o) => {
                    self.not_claiming.contains(s)
                        || match older {
                            Some((n, is_older)) if n == o => is_older,
                            _ => {
                                let is_older =
                                    self.nodes.get(&o).is_none_or(|o| o.config_epoch < epoch);
                                older = Some((o, is_older));
                                is_older
                            }
                        }
                }
            };
            if !takes {
                continue;
            }
            if owner == Some(self.myself) {
                dirty.insert(s);
            }
            if owner == Some(cur) {
                new_primary = Some(sender);
                migrated_our_slots += 1;
            }
            taken.insert(s);
        }
        if !taken.is_empty() {
            self.set_slots_owner(&taken, sender);
            self.save(true);
        }
        let owned: Vec<u16> = self
            .nodes
            .get(&sender)
            .map(|n| n.slots.iter().filter(|s| !slots.contains(*s)).collect())
            .unwrap_or_default();
        for s in owned {
            self.not_claiming.insert(s);
        }
        let cur_empty = self.nodes.get(&cur).is_some_and(|n| !n.has_slots());
        if new_primary.is_some()
            && cur_empty
            && (self.cfg.allow_replica_migration || sender_slots == migrated_our_slots)
        {
            Self::log(
                out,
                LogLevel::Warning,
                format!(
                    "Configuration change detected. Reconfiguring myself as a replica of {}",
                    Self::nm(&sender)
                ),
            );
            self.set_my_master(now, sender, out);
            return;
        }
        let grand = self
            .my_master()
            .filter(|_| self.is_replica())
            .and_then(|m| self.nodes.get(&m))
            .filter(|m| m.is_replica())
            .and_then(|m| m.master)
            .filter(|g| *g != self.myself && self.nodes.contains(g));
        if let Some(g) = grand {
            Self::log(
                out,
                LogLevel::Notice,
                format!(
                    "I'm a sub-replica! Reconfiguring myself as a replica of grandmaster {}",
                    Self::nm(&g)
                ),
            );
            self.set_my_master(now, g, out);
        } else if !dirty.is_empty() {
            out.push(Effect::DeleteSlotKeys(Box::new(dirty)));
        }
    }

    /// cluster-bus.md §13.5 — UPDATE.
    fn process_update(&mut self, now: Millis, u: &UpdateBody, out: &mut Vec<Effect>) {
        let Some(n) = self.nodes.get(&u.node) else {
            return;
        };
        if n.config_epoch >= u.config_epoch {
            return;
        }
        if n.is_replica() {
            self.set_node_as_master(&u.node);
        }
        if let Some(n) = self.nodes.get_mut(&u.node) {
            n.config_epoch = u.config_epoch;
        }
        self.save(true);
        self.update_slots_config_with(now, u.node, u.config_epoch, &u.slots, out);
    }
}
