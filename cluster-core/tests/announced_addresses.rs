#![allow(clippy::unwrap_used, clippy::panic)]
//! What peers announce about addresses (header `myip`, gossip entry `ip`, the hostname
//! extension) ends up in nodes.conf, CLUSTER NODES and redirections. Redis 7.0 copies
//! those bytes unchecked, so a newline there corrupts its nodes.conf; we keep such
//! values out (a tightening found by fuzzing): the saved file always loads again.

mod common;

use cluster_bus::{Body, Extensions, Gossip, GossipEntry, NetIp, NodeFlags, PingBody, PingExt};
use cluster_core::{Cluster, Config, Input};
use common::{five_masters, name, Harness};

fn reloads(h: &Harness) {
    let bytes = h.c.nodes_conf_bytes();
    let mut cfg = Config::new(7000);
    cfg.node_timeout = 2000;
    if let Err(e) = Cluster::load(cfg, &bytes, 1, h.now) {
        panic!("{e}\n{}", String::from_utf8_lossy(&bytes));
    }
}

fn ping(h: &Harness, from: char, gossip: &[GossipEntry], exts: &[PingExt]) -> cluster_bus::Message {
    h.msg_from(
        name(from),
        Body::Ping(PingBody {
            gossip: Gossip::from_entries(gossip).unwrap(),
            extensions: Extensions::new(exts).unwrap(),
        }),
    )
}

fn entry(who: char, ip: &[u8]) -> GossipEntry {
    GossipEntry {
        node: name(who),
        ping_sent: 0,
        pong_received: 0,
        ip: NetIp::new(ip).unwrap(),
        port: 7050,
        cport: 17050,
        flags: NodeFlags::MASTER,
        pport: 0,
        unused: 0,
    }
}

#[test]
fn s6_a_header_ip_with_a_newline_falls_back_to_the_link_address() {
    let mut h = Harness::new(&five_masters(""));
    // `b` PINGs from a new address (10.0.0.99, the inbound link's peer) and announces
    // one that would split its nodes.conf line in two: the link's address is used.
    let mut m = ping(&h, 'b', &[], &[]);
    m.header.myip = NetIp::new(b"10.9.9.9\nx").unwrap();
    let link = h.inbound();
    h.input(Input::Bus {
        link,
        msg: Box::new(m),
    });
    assert_eq!(h.c.nodes().get(&name('b')).unwrap().ip, "10.0.0.99");
    reloads(&h);
    // A plain announced address is learnt as before.
    let mut m = ping(&h, 'b', &[], &[]);
    m.header.myip = NetIp::new(b"10.9.9.8").unwrap();
    let link = h.inbound();
    h.input(Input::Bus {
        link,
        msg: Box::new(m),
    });
    assert_eq!(h.c.nodes().get(&name('b')).unwrap().ip, "10.9.9.8");
}

#[test]
fn s9_4_gossip_about_a_node_at_an_unprintable_address_is_ignored() {
    let mut h = Harness::new(&five_masters(""));
    let m = ping(
        &h,
        'b',
        &[entry('y', b"10.0.0.50 0 0"), entry('z', b"10.0.0.51")],
        &[],
    );
    h.deliver(m);
    assert!(!h.c.nodes().contains(&name('y')));
    assert!(
        h.c.nodes().contains(&name('z')),
        "a good entry in the same PING is used"
    );
    reloads(&h);
}

#[test]
fn s3_3_a_hostname_outside_the_announce_hostname_charset_is_not_kept() {
    let mut h = Harness::new(&five_masters(""));
    let m = ping(
        &h,
        'b',
        &[],
        &[PingExt::hostname(&b"b.example"[..]).unwrap()],
    );
    h.deliver(m);
    assert_eq!(h.c.nodes().get(&name('b')).unwrap().hostname, "b.example");
    let m = ping(
        &h,
        'b',
        &[],
        &[PingExt::hostname(&b"evil\r\nhost,x"[..]).unwrap()],
    );
    h.deliver(m);
    assert_eq!(h.c.nodes().get(&name('b')).unwrap().hostname, "");
    reloads(&h);
}
