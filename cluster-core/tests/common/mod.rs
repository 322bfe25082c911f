//! A one-node harness: a node loaded from a nodes.conf text, links to every peer set
//! up, and helpers to build the messages peers would send.
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use cluster_bus::{
    Body, Gossip, GossipEntry, Header, Message, NetIp, NodeFlags, NodeName, PingBody, SlotSet,
};
use cluster_core::{Cluster, Config, Effect, Input, KeyFacts, LinkId, Reply, Request};

pub const T0: u64 = 1_800_000_000_000;

pub fn name(c: char) -> NodeName {
    NodeName::new([c as u8; 40])
}

pub fn text(c: char) -> String {
    std::iter::repeat_n(c, 40).collect()
}

pub struct Harness {
    pub c: Cluster,
    pub now: u64,
    pub out: Vec<Effect>,
    /// Our outbound link to each peer.
    pub out_links: Vec<(NodeName, LinkId)>,
    next_in: u64,
}

/// Five masters `a`..`e` (we are `a`), slots split in five, epochs 1..5; optional
/// extra lines (replicas).
pub fn five_masters(extra: &str) -> String {
    let mut s = String::new();
    let ranges = [
        "0-3276",
        "3277-6553",
        "6554-9830",
        "9831-13107",
        "13108-16383",
    ];
    for (i, c) in ['a', 'b', 'c', 'd', 'e'].iter().enumerate() {
        let flags = if i == 0 { "myself,master" } else { "master" };
        s += &format!(
            "{} 10.0.0.{}:{}@{} {flags} - 0 0 {} connected {}\n",
            text(*c),
            i + 1,
            7000 + i,
            17000 + i,
            i + 1,
            ranges[i]
        );
    }
    s += extra;
    s += "vars currentEpoch 5 lastVoteEpoch 0\n";
    s
}

impl Harness {
    pub fn new(conf: &str) -> Harness {
        let mut cfg = Config::new(7000);
        cfg.node_timeout = 2000;
        let c = Cluster::load(cfg, conf.as_bytes(), 7, T0).unwrap();
        let mut h = Harness {
            c,
            now: T0,
            out: Vec::new(),
            out_links: Vec::new(),
            next_in: 1,
        };
        // First cron: connect to everyone; complete every connect.
        h.input(Input::Tick);
        let connects: Vec<(NodeName, LinkId)> = h
            .out
            .iter()
            .filter_map(|e| match e {
                Effect::Connect { link, node, .. } => Some((*node, *link)),
                _ => None,
            })
            .collect();
        for (n, l) in &connects {
            h.input(Input::Connected { link: *l });
            h.out_links.push((*n, *l));
        }
        // Every peer answers our PING, so nothing is pending.
        for (n, l) in connects {
            let pong = h.msg_from(n, Body::Pong(PingBody::default()));
            h.input(Input::Bus {
                link: l,
                msg: Box::new(pong),
            });
        }
        h
    }

    pub fn input(&mut self, i: Input) {
        self.out.clear();
        self.c.handle(self.now, i, &mut self.out);
    }

    /// Run the cron every 100 ms; connects complete at once (the peers are up).
    pub fn advance(&mut self, ms: u64) {
        let end = self.now + ms;
        while self.now + 100 <= end {
            self.now += 100;
            self.input(Input::Tick);
            let connects: Vec<LinkId> = self
                .out
                .iter()
                .filter_map(|e| match e {
                    Effect::Connect { link, .. } => Some(*link),
                    _ => None,
                })
                .collect();
            for l in connects {
                let mut out = Vec::new();
                self.c
                    .handle(self.now, Input::Connected { link: l }, &mut out);
            }
        }
        self.now = end;
    }

    /// Run a CLUSTER command; the reply.
    pub fn cmd(&mut self, args: &str) -> Reply {
        let argv: Vec<&[u8]> = args.split(' ').map(str::as_bytes).collect();
        match Request::parse(&argv) {
            Err(e) => Reply::Error(e),
            Ok(req) => {
                self.input(Input::Command {
                    req,
                    keys: KeyFacts::default(),
                });
                self.out
                    .iter()
                    .find_map(|e| match e {
                        Effect::Reply(r) => Some(r.clone()),
                        _ => None,
                    })
                    .unwrap()
            }
        }
    }

    /// Our current outbound link to `n`.
    pub fn link_to(&self, n: NodeName) -> LinkId {
        self.c.nodes().get(&n).and_then(|x| x.link).unwrap()
    }

    /// An inbound link from a peer, already accepted.
    pub fn inbound(&mut self) -> LinkId {
        let l = LinkId::In(self.next_in);
        self.next_in += 1;
        self.input(Input::Accepted {
            link: l,
            peer_ip: "10.0.0.99".into(),
            local_ip: "10.0.0.1".into(),
        });
        l
    }

    /// A header as peer `from` would send it, taken from our view of it.
    pub fn header_of(&self, from: NodeName) -> Header {
        let n = self.c.nodes().get(&from).unwrap();
        let mut h = Header::new(from);
        h.port = n.port;
        h.cport = n.cport;
        h.current_epoch = self.c.current_epoch();
        h.config_epoch = n.config_epoch;
        h.flags = n.flags | NodeFlags::MYSELF;
        h.flags.remove(NodeFlags::PFAIL | NodeFlags::FAIL);
        match n.master {
            Some(m) if n.is_replica() => {
                h.slaveof = m;
                let mn = self.c.nodes().get(&m).unwrap();
                h.myslots = mn.slots.to_set();
                h.config_epoch = mn.config_epoch;
            }
            _ => h.myslots = n.slots.to_set(),
        }
        h
    }

    pub fn msg_from(&self, from: NodeName, body: Body) -> Message {
        Message::new(self.header_of(from), body)
    }

    /// A PING from `from` with gossip entries (node, flags).
    pub fn ping_with_gossip(&self, from: NodeName, about: &[(NodeName, NodeFlags)]) -> Message {
        let entries: Vec<GossipEntry> = about
            .iter()
            .map(|(n, f)| GossipEntry {
                node: *n,
                ping_sent: 0,
                pong_received: 0,
                ip: NetIp::new(b"10.0.0.50").unwrap(),
                port: 7050,
                cport: 17050,
                flags: *f,
                pport: 0,
                unused: 0,
            })
            .collect();
        self.msg_from(
            from,
            Body::Ping(PingBody {
                gossip: Gossip::from_entries(&entries).unwrap(),
                extensions: cluster_bus::Extensions::empty(),
            }),
        )
    }

    /// Deliver `msg` on our outbound link to its sender.
    pub fn deliver(&mut self, msg: Message) {
        let l = self.link_to(msg.header.sender);
        self.input(Input::Bus {
            link: l,
            msg: Box::new(msg),
        });
    }

    /// Messages we sent in the last step: (link, message).
    pub fn sent(&self) -> Vec<(LinkId, Message)> {
        self.out
            .iter()
            .filter_map(|e| match e {
                Effect::Send { link, msg } => Some((*link, (**msg).clone())),
                _ => None,
            })
            .collect()
    }

    pub fn flags_of(&self, n: NodeName) -> NodeFlags {
        self.c.nodes().get(&n).unwrap().flags
    }

    pub fn slots(range: std::ops::RangeInclusive<u16>) -> SlotSet {
        SlotSet::from_range(range)
    }
}
