#![allow(clippy::unwrap_used, clippy::panic)]
//! DEBUG DROP-CLUSTER-PACKET-FILTER and DEBUG CLUSTERLINK KILL (as Redis 7.0).

mod common;

use cluster_bus::{Body, MessageType, NodeFlags, PingBody};
use cluster_core::{CmdError, Effect, Input, KeyFacts, LinkId, LogLevel, Reply, Request};
use common::{five_masters, name, text, Harness};

fn debug(h: &mut Harness, req: Request) -> Reply {
    h.input(Input::Command {
        req,
        keys: KeyFacts::default(),
    });
    h.out
        .iter()
        .find_map(|e| match e {
            Effect::Reply(r) => Some(r.clone()),
            _ => None,
        })
        .unwrap()
}

fn closed(h: &Harness, l: LinkId) -> bool {
    h.out
        .iter()
        .any(|e| matches!(e, Effect::Close { link } if *link == l))
}

#[test]
fn filtered_pongs_are_counted_logged_and_ignored_until_cleared() {
    let mut h = Harness::new(&five_masters(""));
    let e = name('e');
    assert_eq!(debug(&mut h, Request::DebugDropPacketFilter(1)), Reply::Ok);
    let before = h.c.messages_received(MessageType::Pong);
    let mut dropped = 0;
    for _ in 0..40 {
        h.advance(100);
        // Without PONGs the link is dropped at half the node timeout and reconnected.
        if h.c.nodes().get(&e).unwrap().link.is_none() {
            continue;
        }
        let pong = h.msg_from(e, Body::Pong(PingBody::default()));
        h.deliver(pong);
        dropped += 1;
        assert!(h.out.iter().any(|x| matches!(x,
            Effect::Log { level: LogLevel::Warning, text }
                if text == "Dropping packet that matches debug drop filter")));
    }
    // Counted before being dropped, as Redis does; yet e's PONGs are not seen.
    assert!(dropped > 20);
    assert_eq!(h.c.messages_received(MessageType::Pong) - before, dropped);
    assert!(h.flags_of(e).contains(NodeFlags::PFAIL));

    assert_eq!(debug(&mut h, Request::DebugDropPacketFilter(-1)), Reply::Ok);
    h.advance(100);
    let pong = h.msg_from(e, Body::Pong(PingBody::default()));
    h.deliver(pong);
    assert!(!h.flags_of(e).contains(NodeFlags::PFAIL));
}

#[test]
fn clusterlink_kill_closes_the_chosen_links() {
    let mut h = Harness::new(&five_masters(""));
    h.advance(100);
    let b = name('b');
    let inbound = h.inbound();
    let ping = h.msg_from(b, Body::Ping(PingBody::default()));
    h.input(Input::Bus {
        link: inbound,
        msg: Box::new(ping),
    });
    assert_eq!(h.c.nodes().get(&b).unwrap().inbound_link, Some(inbound));
    h.advance(100);
    let out = h.link_to(b);

    let kill = |direction: &str| Request::DebugKillLinks {
        node: text('b').into_bytes(),
        direction: direction.into(),
    };
    assert_eq!(
        debug(&mut h, kill("sideways")),
        Reply::Error(CmdError::UnknownDirection("sideways".into()))
    );
    assert!(!closed(&h, out));
    assert_eq!(debug(&mut h, kill("TO")), Reply::Ok);
    assert!(closed(&h, out));
    assert!(!closed(&h, inbound));
    assert_eq!(h.c.nodes().get(&b).unwrap().link, None);
    // Already gone: nothing to close (Redis 7.0.15 crashes here).
    assert_eq!(debug(&mut h, kill("all")), Reply::Ok);
    assert!(closed(&h, inbound));
    assert_eq!(h.c.nodes().get(&b).unwrap().inbound_link, None);
    // The cron reconnects.
    h.advance(100);
    assert!(h.c.nodes().get(&b).unwrap().link.is_some());

    // The node is looked up before the direction is checked.
    let unknown = Request::DebugKillLinks {
        node: b"nosuch".to_vec(),
        direction: b"sideways".to_vec(),
    };
    assert_eq!(
        debug(&mut h, unknown),
        Reply::Error(CmdError::UnknownNode("nosuch".into()))
    );
}
