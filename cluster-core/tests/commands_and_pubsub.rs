#![allow(clippy::unwrap_used, clippy::panic)]
//! CLUSTER subcommands on a node in a cluster (client-behaviour.md §3.2, §5) and
//! pub/sub / module propagation (cluster-bus.md §16.1, §3.8).

mod common;

use bytes::Bytes;
use cluster_bus::{Body, MessageType, ModuleId, PublishBody};
use cluster_core::reply::KeyspaceQuery;
use cluster_core::{Effect, Input, KeyFacts, Reply, Request};
use common::{five_masters, name, text, Harness};

fn with_replicas() -> Harness {
    let extra = format!(
        "{f} 10.0.0.6:7005@17005 slave {a} 0 0 1 connected\n{g} 10.0.0.7:7006@17006 slave {e} 0 0 5 connected\n",
        f = text('f'),
        g = text('g'),
        a = text('a'),
        e = text('e')
    );
    Harness::new(&five_masters(&extra))
}

fn err(r: Reply) -> String {
    match r {
        Reply::Error(e) => e.to_string(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn publish_goes_to_every_node_spublish_to_my_shard() {
    let mut h = with_replicas();
    h.input(Input::Publish {
        shard: false,
        channel: Bytes::from_static(b"news"),
        message: Bytes::from_static(b"hello"),
    });
    let n = h
        .sent()
        .iter()
        .filter(|(_, m)| m.message_type() == Some(MessageType::Publish))
        .count();
    assert_eq!(n, 6);
    h.input(Input::Publish {
        shard: true,
        channel: Bytes::from_static(b"news"),
        message: Bytes::from_static(b"hello"),
    });
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "only my replica f");
    assert_eq!(sent[0].0, h.link_to(name('f')));
    assert_eq!(sent[0].1.message_type(), Some(MessageType::PublishShard));
}

#[test]
fn publish_from_a_known_sender_is_delivered_not_forwarded() {
    let mut h = with_replicas();
    let m = h.msg_from(
        name('b'),
        Body::Publish(PublishBody {
            channel: Bytes::from_static(b"ch"),
            message: Bytes::from_static(b"m"),
        }),
    );
    h.deliver(m);
    assert!(h.out.iter().any(|e| matches!(e,
        Effect::Deliver { shard: false, channel, .. } if &channel[..] == b"ch")));
    assert!(h.sent().is_empty());
    // From an unknown sender on a fresh inbound link: dropped.
    let l = h.inbound();
    let mut m = h.msg_from(name('b'), Body::Publish(PublishBody::default()));
    m.header.sender = name('x');
    h.input(Input::Bus {
        link: l,
        msg: Box::new(m),
    });
    assert!(!h.out.iter().any(|e| matches!(e, Effect::Deliver { .. })));
}

#[test]
fn module_messages_to_one_node_or_all() {
    let mut h = with_replicas();
    h.input(Input::ModuleSend {
        target: Some(name('c')),
        module_id: ModuleId::from_native(7),
        module_type: 1,
        payload: Bytes::from_static(b"x"),
    });
    let sent = h.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, h.link_to(name('c')));
}

#[test]
fn message_counters_show_in_cluster_info() {
    let mut h = with_replicas();
    h.advance(2000);
    let info = h.c.info_text();
    assert!(info.contains("cluster_stats_messages_ping_sent:"), "{info}");
    assert!(
        info.contains("cluster_stats_messages_pong_received:"),
        "{info}"
    );
    assert!(info.contains("cluster_known_nodes:7\r\n"));
    assert!(info.contains("cluster_size:5\r\n"));
    assert!(info.ends_with("total_cluster_links_buffer_limit_exceeded:0\r\n"));
}

#[test]
fn replicas_lists_node_lines_without_newline() {
    let mut h = with_replicas();
    match h.cmd(&format!("CLUSTER REPLICAS {}", text('a'))) {
        Reply::BulkLines(l) => {
            assert_eq!(l.len(), 1);
            assert!(l[0].starts_with(&format!(
                "{} 10.0.0.6:7005@17005 slave {} ",
                text('f'),
                text('a')
            )));
            assert!(!l[0].ends_with('\n'));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        err(h.cmd(&format!("CLUSTER SLAVES {}", text('f')))),
        "ERR The specified node is not a master"
    );
}

#[test]
fn slots_and_shards_shapes() {
    let mut h = with_replicas();
    match h.cmd("CLUSTER SLOTS") {
        Reply::Slots(r) => {
            assert_eq!(r.len(), 5);
            assert_eq!((r[0].start, r[0].end), (0, 3276));
            // Replicas with offset 0 (never synced) are not listed.
            assert_eq!(r[0].nodes.len(), 1);
            assert_eq!(r[0].nodes[0].endpoint.as_deref(), Some("10.0.0.1"));
        }
        other => panic!("{other:?}"),
    }
    match h.cmd("CLUSTER SHARDS") {
        Reply::Shards(s) => {
            assert_eq!(s.len(), 5);
            assert_eq!(s[0].slots, vec![0, 3276]);
            assert_eq!(s[0].nodes.len(), 2);
            assert_eq!(s[0].nodes[1].role, "replica");
            assert_eq!(s[0].nodes[1].health, "loading");
        }
        other => panic!("{other:?}"),
    }
    match h.cmd("CLUSTER LINKS") {
        Reply::Links(l) => {
            assert!(l.iter().all(|x| x.direction == "to"));
            assert_eq!(l.len(), 6);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn keyspace_questions_go_to_the_server() {
    let mut h = with_replicas();
    assert_eq!(
        h.cmd("CLUSTER COUNTKEYSINSLOT 5"),
        Reply::Keyspace(KeyspaceQuery::CountKeysInSlot(5))
    );
    assert_eq!(
        h.cmd("CLUSTER GETKEYSINSLOT 5 10"),
        Reply::Keyspace(KeyspaceQuery::GetKeysInSlot { slot: 5, count: 10 })
    );
    assert_eq!(
        err(h.cmd("CLUSTER COUNTKEYSINSLOT 16384")),
        "ERR Invalid slot"
    );
    assert_eq!(
        err(h.cmd("CLUSTER GETKEYSINSLOT 1 -1")),
        "ERR Invalid slot or number of keys"
    );
    assert_eq!(h.cmd("CLUSTER KEYSLOT 123456789"), Reply::Int(12739));
}

#[test]
fn replicate_and_setslot_errors_in_a_cluster() {
    let mut h = with_replicas();
    assert_eq!(
        err(h.cmd(&format!("CLUSTER REPLICATE {}", text('b')))),
        "ERR To set a master the node must be empty and without assigned slots."
    );
    assert_eq!(
        err(h.cmd(&format!("CLUSTER REPLICATE {}", text('f')))),
        "ERR I can only replicate a master, not a replica."
    );
    assert_eq!(
        err(h.cmd(&format!("CLUSTER SETSLOT 5000 MIGRATING {}", text('b')))),
        "ERR I'm not the owner of hash slot 5000"
    );
    assert_eq!(
        err(h.cmd(&format!("CLUSTER SETSLOT 10 MIGRATING {}", text('f')))),
        "ERR Target node is not a master"
    );
    // SETSLOT NODE with keys still here.
    let argv: Vec<&[u8]> = vec![b"CLUSTER", b"SETSLOT", b"10", b"NODE", &[b'b'; 40]];
    let req = Request::parse(&argv).unwrap();
    h.input(Input::Command {
        req,
        keys: KeyFacts {
            db_keys: 3,
            slot_keys: 3,
        },
    });
    assert!(h.out.iter().any(|e| matches!(e, Effect::Reply(Reply::Error(e))
        if e.to_string() == "ERR Can't assign hashslot 10 to a different node while I still hold keys for this hash slot.")));
    assert_eq!(
        err(h.cmd(&format!("CLUSTER FORGET {}", text('a')))),
        "ERR I tried hard but I can't forget myself..."
    );
}

#[test]
fn reset_soft_keeps_epochs_hard_zeroes_them_and_renames() {
    let mut h = with_replicas();
    assert_eq!(h.cmd("CLUSTER RESET SOFT"), Reply::Ok);
    assert_eq!(h.c.nodes().len(), 1);
    assert_eq!(h.c.current_epoch(), 5);
    assert_eq!(h.c.myself(), name('a'));
    let mut h = with_replicas();
    assert_eq!(h.cmd("CLUSTER RESET HARD"), Reply::Ok);
    assert_eq!(h.c.current_epoch(), 0);
    assert_ne!(h.c.myself(), name('a'));
    let conf = String::from_utf8(h.c.nodes_conf_bytes()).unwrap();
    assert!(
        conf.ends_with(" myself,master - 0 0 0 connected\nvars currentEpoch 0 lastVoteEpoch 0\n"),
        "{conf}"
    );
}

#[test]
fn failover_takeover_on_a_replica_takes_the_slots_and_broadcasts() {
    // We are a replica of e here.
    let conf = five_masters("")
        .replace(
            &format!(
                "{} 10.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-3276",
                text('a')
            ),
            &format!(
                "{} 10.0.0.1:7000@17000 myself,slave {} 0 0 5 connected",
                text('a'),
                text('e')
            ),
        )
        .replace(
            &format!(
                "{} 10.0.0.2:7001@17001 master - 0 0 2 connected 3277-6553",
                text('b')
            ),
            &format!(
                "{} 10.0.0.2:7001@17001 master - 0 0 2 connected 0-6553",
                text('b')
            ),
        );
    let mut h = Harness::new(&conf);
    assert!(h.c.is_replica());
    assert_eq!(h.cmd("CLUSTER FAILOVER TAKEOVER"), Reply::Ok);
    assert!(!h.c.is_replica());
    assert_eq!(h.c.slot_owner(16383), Some(name('a')));
    assert_eq!(h.c.me().config_epoch, 6);
    let pongs = h
        .sent()
        .into_iter()
        .filter(|(_, m)| m.message_type() == Some(MessageType::Pong))
        .count();
    assert_eq!(pongs, 4);
    assert!(h.out.iter().any(|e| matches!(e, Effect::Replicate(None))));
}
