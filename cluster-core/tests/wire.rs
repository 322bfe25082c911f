#![allow(clippy::unwrap_used, clippy::panic)]
//! What we put on the wire (cluster-bus.md §2, §3.3, §8, §9.2, §18): headers a real
//! 7.0 node accepts, gossip counts, the handshake.

mod common;

use bytes::BytesMut;
use cluster_bus::{Body, Limits, MessageType, MsgFlags, NodeFlags, PingBody};
use cluster_core::{Cluster, Config, Effect, Input, LinkId};
use common::{five_masters, name, Harness, T0};

#[test]
fn ping_header_as_clusterbuildmessagehdr_writes_it() {
    let mut h = Harness::new(&five_masters(""));
    h.advance(1100);
    let (_, ping) = h
        .sent()
        .into_iter()
        .find(|(_, m)| m.message_type() == Some(MessageType::Ping))
        .or_else(|| {
            h.advance(1000);
            h.sent()
                .into_iter()
                .find(|(_, m)| m.message_type() == Some(MessageType::Ping))
        })
        .unwrap();
    let hd = &ping.header;
    assert_eq!(hd.sender, name('a'));
    assert_eq!(hd.port, 7000);
    assert_eq!(hd.cport, 17000);
    assert_eq!(hd.pport, 0);
    assert!(hd.slaveof.is_zero());
    assert!(hd.flags.contains(NodeFlags::MYSELF | NodeFlags::MASTER));
    assert_eq!(hd.config_epoch, 1);
    assert_eq!(hd.current_epoch, 5);
    assert_eq!(hd.myslots, Harness::slots(0..=3276));
    assert!(hd.myip.is_empty());
    // 5 records: wanted = max(3, 0) capped at N − 2 = 3.
    let body = ping.body.ping().unwrap();
    assert_eq!(body.gossip.len(), 3);
    assert!(body.extensions.is_empty());
    // It round-trips through the real codec.
    let mut buf = BytesMut::new();
    cluster_bus::encode(&ping, &mut buf).unwrap();
    assert_eq!(buf.len(), 2256 + 3 * 104);
    let back = cluster_bus::decode_message(buf.freeze(), &Limits::default()).unwrap();
    assert_eq!(back, ping);
}

#[test]
fn pfail_nodes_are_always_gossiped() {
    let mut h = Harness::new(&five_masters(""));
    h.advance(4000);
    let pfail =
        h.c.nodes()
            .iter()
            .filter(|n| n.flags.contains(NodeFlags::PFAIL))
            .count();
    assert!(pfail > 0);
    let l = h.inbound();
    let ping = h.msg_from(name('b'), Body::Ping(PingBody::default()));
    h.input(Input::Bus {
        link: l,
        msg: Box::new(ping),
    });
    let (link, pong) = h.sent().into_iter().next().unwrap();
    assert_eq!(link, l, "PONG goes back on the PING's link");
    let flagged = pong
        .body
        .ping()
        .unwrap()
        .gossip
        .iter()
        .filter(|e| e.flags.contains(NodeFlags::PFAIL))
        .count();
    assert_eq!(flagged, pfail);
}

#[test]
fn hostname_extension_on_every_ping() {
    let mut cfg = Config::new(7000);
    cfg.hostname = "node-7000.example".into();
    let mut c = Cluster::with_name_and_seed(cfg, name('a'), 1, T0);
    let mut out = Vec::new();
    let l = LinkId::In(1);
    c.handle(
        T0,
        Input::Accepted {
            link: l,
            peer_ip: "10.0.0.2".into(),
            local_ip: "10.0.0.1".into(),
        },
        &mut out,
    );
    let mut meet = cluster_bus::Header::new(name('b'));
    meet.port = 7001;
    meet.cport = 17001;
    meet.flags = NodeFlags::MYSELF | NodeFlags::MASTER;
    out.clear();
    c.handle(
        T0,
        Input::Bus {
            link: l,
            msg: Box::new(cluster_bus::Message::new(
                meet,
                Body::Meet(PingBody::default()),
            )),
        },
        &mut out,
    );
    let pong = out
        .iter()
        .find_map(|e| match e {
            Effect::Send { msg, .. } => Some(msg.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(pong.message_type(), Some(MessageType::Pong));
    assert_eq!(
        pong.body.ping().unwrap().hostname(),
        Some(&b"node-7000.example"[..])
    );
    let mut buf = BytesMut::new();
    cluster_bus::encode(&pong, &mut buf).unwrap();
    // EXT_DATA set by the encoder, 1 extension of 8 + ceil8(17 + 1) = 32 bytes.
    let back = cluster_bus::decode_message(buf.freeze(), &Limits::default()).unwrap();
    assert!(back.header.mflags.contains(MsgFlags::EXT_DATA));
    // §8 step 2: the MEET taught us our IP and created a handshake record for b.
    assert_eq!(c.me().ip, "10.0.0.1");
    let hs = c.nodes().iter().find(|n| n.in_handshake()).unwrap();
    assert_eq!(
        (hs.ip.as_str(), hs.port, hs.cport),
        ("10.0.0.2", 7001, 17001)
    );
}

#[test]
fn meet_handshake_renames_the_record_on_the_first_pong() {
    // §8 steps 1 and 3.
    let mut c = Cluster::with_name_and_seed(Config::new(7000), name('a'), 1, T0);
    let mut out = Vec::new();
    let argv: Vec<&[u8]> = vec![b"CLUSTER", b"MEET", b"10.0.0.2", b"7001"];
    let req = cluster_core::Request::parse(&argv).unwrap();
    c.handle(
        T0,
        Input::Command {
            req,
            keys: Default::default(),
        },
        &mut out,
    );
    assert!(c
        .nodes_text()
        .contains("10.0.0.2:7001@17001 handshake - 0 0 0 disconnected"));
    // Handshake records are not saved.
    assert!(!String::from_utf8_lossy(&c.nodes_conf_bytes()).contains("handshake"));
    out.clear();
    c.handle(T0 + 100, Input::Tick, &mut out);
    let link = out
        .iter()
        .find_map(|e| match e {
            Effect::Connect {
                link, ip, cport, ..
            } if ip == "10.0.0.2" && *cport == 17001 => Some(*link),
            _ => None,
        })
        .unwrap();
    out.clear();
    c.handle(T0 + 101, Input::Connected { link }, &mut out);
    let meet = out
        .iter()
        .find_map(|e| match e {
            Effect::Send { msg, .. } => Some(msg.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(meet.message_type(), Some(MessageType::Meet));
    let mut pong = cluster_bus::Header::new(name('b'));
    pong.port = 7001;
    pong.cport = 17001;
    pong.flags = NodeFlags::MYSELF | NodeFlags::MASTER;
    out.clear();
    c.handle(
        T0 + 102,
        Input::Bus {
            link,
            msg: Box::new(cluster_bus::Message::new(
                pong,
                Body::Pong(PingBody::default()),
            )),
        },
        &mut out,
    );
    let b = c.nodes().get(&name('b')).unwrap();
    assert!(!b.in_handshake() && b.is_master());
    assert_eq!(b.pong_received, T0 + 102);
    assert!(out.iter().any(|e| matches!(e, Effect::SaveConfig { .. })));
}

#[test]
fn handshake_times_out_after_max_node_timeout_1000() {
    let mut c = Cluster::with_name_and_seed(Config::new(7000), name('a'), 1, T0);
    let mut out = Vec::new();
    let argv: Vec<&[u8]> = vec![b"CLUSTER", b"MEET", b"10.0.0.2", b"7001"];
    let req = cluster_core::Request::parse(&argv).unwrap();
    c.handle(
        T0,
        Input::Command {
            req,
            keys: Default::default(),
        },
        &mut out,
    );
    c.handle(T0 + 15_000, Input::Tick, &mut out);
    assert_eq!(c.nodes().len(), 2);
    c.handle(T0 + 15_001, Input::Tick, &mut out);
    assert_eq!(c.nodes().len(), 1);
}

#[test]
fn reconfigured_hostname_is_announced_and_cleared() {
    // §3.3: the hostname follows the configuration; empty means no extension.
    let mut h = Harness::new(&five_masters(""));
    let mut cfg = h.c.config().clone();
    cfg.hostname = "a.example".into();
    h.input(Input::Reconfigure(Box::new(cfg.clone())));
    assert!(h
        .c
        .nodes_text()
        .contains("10.0.0.1:7000@17000,a.example myself,master"));
    let l = h.inbound();
    let ping = h.msg_from(name('b'), Body::Ping(PingBody::default()));
    h.input(Input::Bus {
        link: l,
        msg: Box::new(ping.clone()),
    });
    let (_, pong) = h.sent().into_iter().next().unwrap();
    assert_eq!(
        pong.body.ping().unwrap().hostname(),
        Some(&b"a.example"[..])
    );
    cfg.hostname.clear();
    h.input(Input::Reconfigure(Box::new(cfg)));
    h.input(Input::Bus {
        link: l,
        msg: Box::new(ping),
    });
    let (_, pong) = h.sent().into_iter().next().unwrap();
    assert_eq!(pong.body.ping().unwrap().hostname(), None);
}
