//! Bus frames from peers, on inbound and outbound links, interleaved with cron ticks:
//! the state machine never panics and everything it sends encodes.
//!
//! Input: a sequence of records `[op][sender][len u16 BE][frame bytes]`. `op & 3`:
//! 0 = frame on our outbound link to b, 1 = on an inbound link, 2 = 1 s of ticks,
//! 3 = frame on our outbound link to e. `sender` < 6 replaces the header's sender with
//! a known node name (a..f) so the deep paths are reached. `op & 4`: first report our
//! replication state (link up if `op & 8`, last master I/O `sender` seconds ago if
//! `op & 16`). Every nodes.conf the node asks to write must load again.
#![no_main]

use bytes::BytesMut;
use cluster_bus::{Limits, NodeName};
use cluster_core::{Cluster, Config, Effect, Input, LinkId};
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let mut c = common::node();
    let mut now = 1_800_000_000_000u64;
    let mut out: Vec<Effect> = Vec::new();
    c.handle(now, Input::Tick, &mut out);
    let mut outbound = Vec::new();
    for e in &out {
        if let Effect::Connect { link, node, .. } = e {
            outbound.push((*node, *link));
        }
    }
    for (_, l) in &outbound {
        c.handle(now, Input::Connected { link: *l }, &mut out);
    }
    let inbound = LinkId::In(1);
    c.handle(
        now,
        Input::Accepted {
            link: inbound,
            peer_ip: "10.0.0.9".into(),
            local_ip: "10.0.0.1".into(),
        },
        &mut out,
    );
    let link_of = |n: u8| {
        let name = NodeName::new([n; 40]);
        outbound.iter().find(|(x, _)| *x == name).map(|(_, l)| *l)
    };
    let mut rest = data;
    while let [op, sender, l0, l1, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*l0, *l1])).min(tail.len());
        let (frame, next) = tail.split_at(len);
        rest = next;
        out.clear();
        if op & 4 != 0 {
            let input = Input::Replication {
                offset: u64::from(*sender) << 20,
                link_up: op & 8 != 0,
                master_last_io: (op & 16 != 0).then(|| now - u64::from(*sender) * 1000),
            };
            c.handle(now, input, &mut out);
        }
        let link = match op & 3 {
            0 => link_of(b'b'),
            1 => Some(inbound),
            3 => link_of(b'e'),
            _ => {
                for _ in 0..10 {
                    now += 100;
                    c.handle(now, Input::Tick, &mut out);
                }
                None
            }
        };
        if let Some(link) = link {
            let mut buf = BytesMut::from(frame);
            if let Ok(Some(mut msg)) = cluster_bus::decode(&mut buf, &Limits::default()) {
                if *sender < 6 {
                    msg.header.sender = NodeName::new([b'a' + sender; 40]);
                }
                c.handle(now, Input::Bus { link, msg: Box::new(msg) }, &mut out);
            }
        }
        for e in &out {
            match e {
                Effect::Send { msg, .. } => {
                    let mut b = BytesMut::new();
                    assert!(cluster_bus::encode(msg, &mut b).is_ok());
                }
                Effect::SaveConfig { .. } => {
                    let bytes = c.nodes_conf_bytes();
                    if let Err(e) = Cluster::load(Config::new(7000), &bytes, 0, now) {
                        panic!("saved nodes.conf does not load: {e}\n{}", String::from_utf8_lossy(&bytes));
                    }
                }
                _ => {}
            }
        }
    }
});
