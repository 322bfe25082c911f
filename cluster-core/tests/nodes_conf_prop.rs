#![allow(clippy::unwrap_used, clippy::panic)]
//! Property: any nodes.conf model Redis could write serialises to text that parses back
//! to the same model (client-behaviour.md §5.1 line grammar).

use cluster_bus::{NodeFlags, NodeName};
use cluster_core::nodes_conf::{NodeLine, NodesConf, SlotToken};
use proptest::prelude::*;

fn name() -> impl Strategy<Value = NodeName> {
    proptest::collection::vec(prop_oneof![b'0'..=b'9', b'a'..=b'z'], 40)
        .prop_map(|v| NodeName::new(v.try_into().unwrap()))
}

fn token() -> impl Strategy<Value = SlotToken> {
    prop_oneof![
        (0u16..16384, 0u16..16384).prop_map(|(a, b)| SlotToken::Range(a.min(b), a.max(b))),
        (0u16..16384, name()).prop_map(|(s, n)| SlotToken::Migrating(s, n)),
        (0u16..16384, name()).prop_map(|(s, n)| SlotToken::Importing(s, n)),
    ]
}

fn line() -> impl Strategy<Value = NodeLine> {
    (
        name(),
        "[0-9a-f.:]{0,39}",
        any::<u16>(),
        any::<u16>(),
        "([A-Za-z0-9.-]{1,30})?",
        0u16..0x400,
        proptest::option::of(name()),
        (any::<u64>(), any::<u64>(), any::<u64>(), any::<bool>()),
        proptest::collection::vec(token(), 0..6),
    )
        .prop_map(
            |(name, ip, port, cport, hostname, flags, master, (ps, pr, ep, conn), slots)| {
                let printed = cluster_core::nodes_conf::PRINTED_FLAGS - NodeFlags::MYSELF;
                NodeLine {
                    name,
                    ip,
                    port,
                    cport,
                    hostname,
                    flags: NodeFlags::from_bits_truncate(flags) & printed,
                    master,
                    ping_sent: ps,
                    pong_received: pr,
                    config_epoch: ep,
                    connected: conn,
                    slots,
                }
            },
        )
}

proptest! {
    #[test]
    fn serialise_then_parse_is_identity(
        mut nodes in proptest::collection::vec(line(), 1..8),
        me in 0usize..8,
        cur in any::<u64>(),
        last in any::<u64>(),
    ) {
        let me = me % nodes.len();
        nodes[me].flags |= NodeFlags::MYSELF;
        let mut seen = std::collections::HashSet::new();
        nodes.retain(|n| seen.insert(n.name) || n.flags.contains(NodeFlags::MYSELF));
        prop_assume!(nodes.iter().filter(|n| n.flags.contains(NodeFlags::MYSELF)).count() == 1);
        let conf = NodesConf { nodes, current_epoch: cur, last_vote_epoch: last };
        let bytes = conf.to_bytes();
        prop_assert_eq!(NodesConf::parse(&bytes), Ok(conf));
    }
}
