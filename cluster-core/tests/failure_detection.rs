#![allow(clippy::unwrap_used, clippy::panic)]
//! cluster-bus.md §10–§11: PFAIL, failure reports, FAIL, clearing.

mod common;

use cluster_bus::{Body, MessageType, NodeFlags, PingBody};
use cluster_core::Reply;
use common::{five_masters, name, text, Harness};

#[test]
fn pfail_after_node_timeout_without_pong() {
    let mut h = Harness::new(&five_masters(""));
    let e = name('e');
    // Keep hearing from b, c, d; e is silent.
    for _ in 0..40 {
        h.advance(100);
        for p in ['b', 'c', 'd'] {
            let pong = h.msg_from(name(p), Body::Pong(PingBody::default()));
            h.deliver(pong);
        }
    }
    assert!(h.flags_of(e).contains(NodeFlags::PFAIL));
    assert!(!h.flags_of(name('b')).contains(NodeFlags::PFAIL));
    assert!(h
        .c
        .nodes_text()
        .contains(&format!("{} 10.0.0.5:7004@17004 master,fail?", text('e'))));
}

#[test]
fn pong_on_outbound_link_clears_pfail() {
    let mut h = Harness::new(&five_masters(""));
    h.advance(4000);
    assert!(h.flags_of(name('e')).contains(NodeFlags::PFAIL));
    let pong = h.msg_from(name('e'), Body::Pong(PingBody::default()));
    h.deliver(pong);
    assert!(!h.flags_of(name('e')).contains(NodeFlags::PFAIL));
}

#[test]
fn fail_needs_reports_from_a_majority_of_masters() {
    // 5 masters: quorum 3 = our own opinion + 2 reports.
    let mut h = Harness::new(&five_masters(""));
    h.advance(4000);
    let e = name('e');
    assert!(h.flags_of(e).contains(NodeFlags::PFAIL));
    let from_b = h.ping_with_gossip(name('b'), &[(e, NodeFlags::MASTER | NodeFlags::PFAIL)]);
    h.deliver(from_b);
    assert!(!h.flags_of(e).contains(NodeFlags::FAIL));
    assert_eq!(
        h.cmd(&format!("CLUSTER COUNT-FAILURE-REPORTS {}", text('e'))),
        Reply::Int(1)
    );
    let from_c = h.ping_with_gossip(name('c'), &[(e, NodeFlags::MASTER | NodeFlags::PFAIL)]);
    h.deliver(from_c);
    assert!(h.flags_of(e).contains(NodeFlags::FAIL));
    assert!(!h.flags_of(e).contains(NodeFlags::PFAIL));
    // FAIL broadcast to every other node with a link (b, c, d, e).
    let fails: Vec<_> = h
        .sent()
        .into_iter()
        .filter(|(_, m)| m.message_type() == Some(MessageType::Fail))
        .collect();
    assert_eq!(fails.len(), 4);
    assert!(fails.iter().all(|(_, m)| m.body == Body::Fail(e)));
}

#[test]
fn fail_report_expires_after_twice_node_timeout() {
    let mut h = Harness::new(&five_masters(""));
    let e = name('e');
    let from_b = h.ping_with_gossip(name('b'), &[(e, NodeFlags::MASTER | NodeFlags::PFAIL)]);
    h.deliver(from_b);
    let q = format!("CLUSTER COUNT-FAILURE-REPORTS {}", text('e'));
    assert_eq!(h.cmd(&q), Reply::Int(1));
    h.now += 4000;
    assert_eq!(h.cmd(&q), Reply::Int(1));
    h.now += 1;
    assert_eq!(h.cmd(&q), Reply::Int(0));
}

#[test]
fn replicas_reports_are_not_recorded() {
    let replica = format!(
        "{} 10.0.0.6:7005@17005 slave {} 0 0 2 connected\n",
        text('f'),
        text('b')
    );
    let mut h = Harness::new(&five_masters(&replica));
    let e = name('e');
    let from_f = h.ping_with_gossip(name('f'), &[(e, NodeFlags::MASTER | NodeFlags::PFAIL)]);
    h.deliver(from_f);
    assert_eq!(
        h.cmd(&format!("CLUSTER COUNT-FAILURE-REPORTS {}", text('e'))),
        Reply::Int(0)
    );
}

#[test]
fn healthy_gossip_removes_the_senders_report() {
    let mut h = Harness::new(&five_masters(""));
    let e = name('e');
    let bad = h.ping_with_gossip(name('b'), &[(e, NodeFlags::MASTER | NodeFlags::PFAIL)]);
    h.deliver(bad);
    let good = h.ping_with_gossip(name('b'), &[(e, NodeFlags::MASTER)]);
    h.deliver(good);
    assert_eq!(
        h.cmd(&format!("CLUSTER COUNT-FAILURE-REPORTS {}", text('e'))),
        Reply::Int(0)
    );
}

#[test]
fn fail_message_marks_the_node_without_quorum() {
    // §11.4: no quorum check on receipt.
    let mut h = Harness::new(&five_masters(""));
    let fail = h.msg_from(name('b'), Body::Fail(name('e')));
    h.deliver(fail);
    assert!(h.flags_of(name('e')).contains(NodeFlags::FAIL));
}

#[test]
fn fail_of_a_master_with_slots_is_cleared_only_after_twice_node_timeout() {
    // §11.5: a returning master that still owns slots keeps FAIL for 2 × node_timeout.
    let mut h = Harness::new(&five_masters(""));
    let fail = h.msg_from(name('b'), Body::Fail(name('e')));
    h.deliver(fail);
    let pong = h.msg_from(name('e'), Body::Pong(PingBody::default()));
    h.deliver(pong.clone());
    assert!(h.flags_of(name('e')).contains(NodeFlags::FAIL));
    h.now += 4001;
    h.deliver(pong);
    assert!(!h.flags_of(name('e')).contains(NodeFlags::FAIL));
}

#[test]
fn cluster_state_fails_when_a_slot_owner_fails() {
    // §16.2 full coverage.
    let mut h = Harness::new(&five_masters(""));
    h.advance(2500);
    assert!(h.c.info_text().starts_with("cluster_state:ok\r\n"));
    let fail = h.msg_from(name('b'), Body::Fail(name('e')));
    h.deliver(fail);
    assert!(h.c.info_text().starts_with("cluster_state:fail\r\n"));
    assert!(h.c.info_text().contains("cluster_slots_fail:3276\r\n"));
}

#[test]
fn master_back_from_a_minority_waits_the_rejoin_delay() {
    // §16.2: rejoin delay = node_timeout clamped to [500, 5000] = 2000 ms here.
    let mut h = Harness::new(&five_masters(""));
    h.advance(4000);
    assert!(h.c.info_text().starts_with("cluster_state:fail\r\n"));
    let pong_all = |h: &mut Harness| {
        for p in ['b', 'c', 'd', 'e'] {
            let pong = h.msg_from(name(p), Body::Pong(PingBody::default()));
            h.deliver(pong);
        }
    };
    pong_all(&mut h);
    assert!(h
        .c
        .nodes()
        .iter()
        .all(|n| !n.flags.contains(NodeFlags::PFAIL)));
    h.advance(1000);
    pong_all(&mut h);
    assert!(
        h.c.info_text().starts_with("cluster_state:fail\r\n"),
        "still rejoining"
    );
    h.advance(1200);
    pong_all(&mut h);
    h.advance(100);
    assert!(h.c.info_text().starts_with("cluster_state:ok\r\n"));
}
