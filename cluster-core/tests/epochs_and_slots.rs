#![allow(clippy::unwrap_used, clippy::panic)]
//! cluster-bus.md §12 (epochs, collisions) and §13 (roles, slot claims, UPDATE).

mod common;

use cluster_bus::{Body, MessageType, PingBody, UpdateBody};
use cluster_core::{Effect, Reply};
use common::{five_masters, name, text, Harness};

#[test]
fn current_epoch_is_raised_by_any_known_sender() {
    let mut h = Harness::new(&five_masters(""));
    let mut ping = h.msg_from(name('b'), Body::Ping(PingBody::default()));
    ping.header.current_epoch = 40;
    h.deliver(ping);
    assert_eq!(h.c.current_epoch(), 40);
    let mut old = h.msg_from(name('c'), Body::Ping(PingBody::default()));
    old.header.current_epoch = 3;
    h.deliver(old);
    assert_eq!(h.c.current_epoch(), 40);
}

#[test]
fn config_epoch_collision_moves_the_smaller_name() {
    // We are `a`; `b` > `a` bytewise, so on an equal configEpoch we move.
    let mut h = Harness::new(&five_masters(""));
    let mut ping = h.msg_from(name('b'), Body::Ping(PingBody::default()));
    ping.header.config_epoch = 1;
    // Keep b's slots as they are: only the epoch collides with ours (1).
    h.deliver(ping);
    assert_eq!(h.c.me().config_epoch, 6);
    assert_eq!(h.c.current_epoch(), 6);
    assert!(h
        .out
        .iter()
        .any(|e| matches!(e, Effect::SaveConfig { fsync: true, .. })));
}

#[test]
fn the_greater_name_keeps_its_epoch_on_collision() {
    let conf = five_masters("").replace(
        &format!("{} 10.0.0.1:7000@17000 myself,master - 0 0 1", text('a')),
        &format!("{} 10.0.0.1:7000@17000 myself,master - 0 0 1", text('z')),
    );
    let mut h = Harness::new(&conf);
    let mut ping = h.msg_from(name('b'), Body::Ping(PingBody::default()));
    ping.header.config_epoch = 1;
    h.deliver(ping);
    assert_eq!(h.c.me().config_epoch, 1);
}

#[test]
fn higher_epoch_claim_takes_slots_and_equal_epoch_does_not() {
    // §13.3: b claims e's slots with an epoch above e's (5) → moved; c claims some of
    // d's slots at d's own epoch (4) → ignored.
    let mut h = Harness::new(&five_masters(""));
    let mut ping = h.msg_from(name('b'), Body::Ping(PingBody::default()));
    ping.header.config_epoch = 9;
    ping.header.myslots.insert_range(13108..=16383);
    h.deliver(ping);
    assert_eq!(h.c.slot_owner(16383), Some(name('b')));
    assert!(h.c.nodes().get(&name('e')).unwrap().slots.is_empty());
    let mut ping = h.msg_from(name('c'), Body::Ping(PingBody::default()));
    ping.header.config_epoch = 4;
    ping.header.myslots.insert(9831);
    h.deliver(ping);
    assert_eq!(h.c.slot_owner(9831), Some(name('d')));
}

#[test]
fn stale_claim_gets_an_update_about_the_current_owner() {
    // §13.2-2: c claims a slot that d owns with a greater epoch → UPDATE to c about d.
    let mut h = Harness::new(&five_masters(""));
    let mut ping = h.msg_from(name('c'), Body::Ping(PingBody::default()));
    ping.header.myslots.insert(9831);
    h.deliver(ping);
    let updates: Vec<_> = h
        .sent()
        .into_iter()
        .filter(|(_, m)| m.message_type() == Some(MessageType::Update))
        .collect();
    assert_eq!(updates.len(), 1);
    let (link, m) = &updates[0];
    assert_eq!(*link, h.link_to(name('c')));
    match &m.body {
        Body::Update(u) => {
            assert_eq!(u.node, name('d'));
            assert_eq!(u.config_epoch, 4);
            assert!(u.slots.contains(9831));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn update_with_newer_epoch_moves_slots_older_is_ignored() {
    let mut h = Harness::new(&five_masters(""));
    let old = h.msg_from(
        name('b'),
        Body::Update(UpdateBody {
            config_epoch: 2,
            node: name('c'),
            slots: Box::new(Harness::slots(0..=10)),
        }),
    );
    h.deliver(old);
    assert_eq!(h.c.slot_owner(0), Some(name('a')));
    let new = h.msg_from(
        name('b'),
        Body::Update(UpdateBody {
            config_epoch: 20,
            node: name('c'),
            slots: Box::new(Harness::slots(0..=10)),
        }),
    );
    h.deliver(new);
    assert_eq!(h.c.nodes().get(&name('c')).unwrap().config_epoch, 20);
    assert_eq!(h.c.slot_owner(0), Some(name('c')));
    assert_eq!(h.c.slot_owner(11), Some(name('a')));
    // c stopped claiming the slots it did not list (owner kept, §13.3).
    assert_eq!(h.c.slot_owner(6554), Some(name('c')));
    // We lost slots we owned: the server deletes our keys there.
    assert!(h.out.iter().any(|e| matches!(e,
        Effect::DeleteSlotKeys(s) if s.len() == 11 && s.contains(0))));
}

#[test]
fn master_losing_its_last_slot_becomes_a_replica_of_the_claimer() {
    // §13.3: every slot of ours claimed at a higher epoch → we follow the claimer.
    let mut h = Harness::new(&five_masters(""));
    let mut ping = h.msg_from(name('b'), Body::Ping(PingBody::default()));
    ping.header.config_epoch = 9;
    ping.header.myslots.insert_range(0..=3276);
    h.deliver(ping);
    assert!(h.c.is_replica());
    assert_eq!(h.c.my_master(), Some(name('b')));
    assert!(h.out.iter().any(|e| matches!(e,
        Effect::Replicate(Some(m)) if m.name == name('b') && m.port == 7001)));
    assert!(h
        .c
        .nodes_text()
        .contains(&format!("myself,slave {}", text('b'))));
}

#[test]
fn bumpepoch_and_set_config_epoch() {
    // §12: BUMPEPOCH when not the greatest; SET-CONFIG-EPOCH refused with peers.
    let mut h = Harness::new(&five_masters(""));
    assert_eq!(h.cmd("CLUSTER BUMPEPOCH"), Reply::Status("BUMPED 6".into()));
    assert_eq!(h.cmd("CLUSTER BUMPEPOCH"), Reply::Status("STILL 6".into()));
    match h.cmd("CLUSTER SET-CONFIG-EPOCH 9") {
        Reply::Error(e) => assert_eq!(
            e.to_string(),
            "ERR The user can assign a config epoch only when the node does not know any other node."
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn setslot_node_closing_an_import_bumps_and_broadcasts() {
    // client-behaviour.md SETSLOT NODE: closing my import bumps my epoch and PONGs all.
    let mut h = Harness::new(&five_masters(""));
    let b = text('b');
    assert_eq!(
        h.cmd(&format!("CLUSTER SETSLOT 4000 IMPORTING {b}")),
        Reply::Ok
    );
    assert!(h.c.nodes_text().contains(&format!("[4000-<-{b}]")));
    let me = text('a');
    assert_eq!(h.cmd(&format!("CLUSTER SETSLOT 4000 NODE {me}")), Reply::Ok);
    assert_eq!(h.c.slot_owner(4000), Some(name('a')));
    assert_eq!(h.c.me().config_epoch, 6);
    let pongs = h
        .sent()
        .into_iter()
        .filter(|(_, m)| m.message_type() == Some(MessageType::Pong))
        .count();
    assert_eq!(pongs, 4);
    assert!(!h.c.nodes_text().contains("[4000"));
}

#[test]
fn forget_bans_gossip_for_60_seconds() {
    // §16.3.
    let mut h = Harness::new(&five_masters(""));
    assert_eq!(h.cmd(&format!("CLUSTER FORGET {}", text('e'))), Reply::Ok);
    assert!(!h.c.nodes().contains(&name('e')));
    let g = h.ping_with_gossip(name('b'), &[(name('e'), cluster_bus::NodeFlags::MASTER)]);
    h.deliver(g.clone());
    assert!(!h.c.nodes().contains(&name('e')));
    h.now += 60_001;
    let g = h.ping_with_gossip(name('b'), &[(name('e'), cluster_bus::NodeFlags::MASTER)]);
    h.deliver(g);
    assert!(h.c.nodes().contains(&name('e')));
}
