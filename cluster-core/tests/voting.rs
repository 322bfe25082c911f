#![allow(clippy::unwrap_used, clippy::panic)]
//! cluster-bus.md §14.4: a master's vote.

mod common;

use cluster_bus::{Body, MessageType, MsgFlags};
use cluster_core::Effect;
use common::{five_masters, name, text, Harness};

/// `f` and `g` replicate `e`.
fn with_replicas() -> Harness {
    let extra = format!(
        "{f} 10.0.0.6:7005@17005 slave {e} 0 0 5 connected\n{g} 10.0.0.7:7006@17006 slave {e} 0 0 5 connected\n",
        f = text('f'),
        g = text('g'),
        e = text('e')
    );
    Harness::new(&five_masters(&extra))
}

fn request(h: &Harness, from: char, epoch: u64) -> cluster_bus::Message {
    let mut m = h.msg_from(name(from), Body::FailoverAuthRequest);
    m.header.current_epoch = epoch;
    m
}

fn acks(h: &Harness) -> usize {
    h.sent()
        .iter()
        .filter(|(_, m)| m.message_type() == Some(MessageType::FailoverAuthAck))
        .count()
}

#[test]
fn vote_once_per_epoch_and_persist_before_the_ack() {
    let mut h = with_replicas();
    let fail = h.msg_from(name('b'), Body::Fail(name('e')));
    h.deliver(fail);
    let r = request(&h, 'f', 6);
    h.deliver(r);
    assert_eq!(acks(&h), 1);
    // The nodes.conf with lastVoteEpoch 6 is written (fsync) before the ACK is sent.
    let save = h
        .out
        .iter()
        .position(|e| matches!(e, Effect::SaveConfig { fsync: true }));
    assert!(String::from_utf8_lossy(&h.c.nodes_conf_bytes()).ends_with("lastVoteEpoch 6\n"));
    let saves = h
        .out
        .iter()
        .filter(|e| matches!(e, Effect::SaveConfig { .. }));
    assert_eq!(saves.count(), 1, "one save per input");
    let ack = h.out.iter().position(|e| matches!(e, Effect::Send { .. }));
    assert!(save.unwrap() < ack.unwrap());
    assert_eq!(h.c.last_vote_epoch(), 6);
    let r = request(&h, 'g', 6);
    h.deliver(r);
    assert_eq!(acks(&h), 0, "second vote in epoch 6");
}

#[test]
fn no_vote_while_the_master_is_up_unless_forceack() {
    let mut h = with_replicas();
    let r = request(&h, 'f', 6);
    h.deliver(r);
    assert_eq!(acks(&h), 0);
    let mut r = request(&h, 'f', 7);
    r.header.mflags |= MsgFlags::FORCEACK;
    h.deliver(r);
    assert_eq!(acks(&h), 1);
}

#[test]
fn no_second_vote_for_the_same_master_within_twice_node_timeout() {
    let mut h = with_replicas();
    let fail = h.msg_from(name('b'), Body::Fail(name('e')));
    h.deliver(fail);
    let r = request(&h, 'f', 6);
    h.deliver(r);
    assert_eq!(acks(&h), 1);
    h.now += 3000;
    let r = request(&h, 'g', 7);
    h.deliver(r);
    assert_eq!(acks(&h), 0, "within 2 × node_timeout");
    h.now += 1001;
    let r = request(&h, 'g', 8);
    h.deliver(r);
    assert_eq!(acks(&h), 1);
}

#[test]
fn stale_requests_and_masters_do_not_get_votes() {
    let mut h = with_replicas();
    let fail = h.msg_from(name('b'), Body::Fail(name('e')));
    h.deliver(fail);
    // Request from a master.
    let r = request(&h, 'c', 6);
    h.deliver(r);
    assert_eq!(acks(&h), 0);
    // Request claiming slots whose owner (e, epoch 5) has a greater epoch than the
    // request's configEpoch.
    let mut r = request(&h, 'f', 6);
    r.header.config_epoch = 4;
    h.deliver(r);
    assert_eq!(acks(&h), 0);
}

/// We are `f`, a replica of `e`; `e` has failed and our election for epoch 6 is out.
fn replica_in_election() -> Harness {
    let conf = five_masters(&format!(
        "{f} 10.0.0.6:7005@17005 myself,slave {e} 0 0 5 connected\n",
        f = text('f'),
        e = text('e')
    ))
    .replacen("myself,master", "master", 1);
    let mut h = Harness::new(&conf);
    h.input(cluster_core::Input::Replication {
        offset: 100,
        link_up: true,
        master_last_io: Some(h.now),
    });
    let fail = h.msg_from(name('a'), Body::Fail(name('e')));
    h.deliver(fail);
    h.advance(2000);
    assert_eq!(h.c.current_epoch(), 6, "election started");
    h
}

/// An ACK for epoch 6 from master `from`, on an inbound link (votes come on the
/// voter's link to us).
fn ack(h: &mut Harness, from: char) {
    let mut m = h.msg_from(name(from), Body::FailoverAuthAck);
    m.header.current_epoch = 6;
    let link = h.inbound();
    h.input(cluster_core::Input::Bus {
        link,
        msg: Box::new(m),
    });
}

#[test]
fn a_duplicated_ack_is_one_vote() {
    let mut h = replica_in_election();
    // Quorum is 3 of the 5 masters: the same master's ACK twice is one vote.
    for _ in 0..3 {
        ack(&mut h, 'a');
    }
    ack(&mut h, 'b');
    h.advance(200);
    assert!(h.c.is_replica(), "won with two distinct votes");
    ack(&mut h, 'c');
    h.advance(200);
    assert!(!h.c.is_replica(), "three distinct votes elect");
}
