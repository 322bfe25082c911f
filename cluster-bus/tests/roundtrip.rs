//! Property tests: any message encodes to a frame that decodes to the same message,
//! and slot sets agree with a plain boolean model.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use bytes::{Bytes, BytesMut};
use cluster_bus::{
    decode, decode_message, encode, encoded_len, Body, ClusterState, Extensions, Gossip,
    GossipEntry, Header, Limits, Message, ModuleBody, ModuleId, MsgFlags, NetIp, NodeFlags,
    NodeName, PingBody, PingExt, PublishBody, SlotSet, Unused, UpdateBody, CLUSTER_SLOTS,
};
use proptest::collection::vec;
use proptest::prelude::*;

fn name() -> impl Strategy<Value = NodeName> {
    prop_oneof![
        Just(NodeName::ZERO),
        "[0-9a-f]{40}".prop_map(|s| NodeName::try_from(s.as_str()).unwrap()),
        any::<[u8; 40]>().prop_map(NodeName::new),
    ]
}

fn ip() -> impl Strategy<Value = NetIp> {
    prop_oneof![
        Just(NetIp::EMPTY),
        "[0-9a-f:.]{1,45}".prop_map(|s| NetIp::new(s.as_bytes()).unwrap()),
        vec(any::<u8>(), 46).prop_map(|v| NetIp::from_raw(v.try_into().unwrap())),
    ]
}

fn slots() -> impl Strategy<Value = SlotSet> {
    prop_oneof![
        Just(SlotSet::EMPTY),
        Just(SlotSet::FULL),
        (0..CLUSTER_SLOTS, 0..CLUSTER_SLOTS)
            .prop_map(|(a, b)| SlotSet::from_range(a.min(b)..=a.max(b))),
        vec(0..CLUSTER_SLOTS, 0..64).prop_map(|v| v.into_iter().collect()),
    ]
}

fn bytes(max: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

fn string_no_nul() -> impl Strategy<Value = Bytes> {
    vec(1u8..=255, 0..40).prop_map(Bytes::from)
}

fn gossip_entry() -> impl Strategy<Value = GossipEntry> {
    (
        name(),
        any::<u32>(),
        any::<u32>(),
        ip(),
        any::<[u16; 4]>(),
        any::<u16>(),
    )
        .prop_map(
            |(node, ping_sent, pong_received, ip, p, unused)| GossipEntry {
                node,
                ping_sent,
                pong_received,
                ip,
                port: p[0],
                cport: p[1],
                flags: NodeFlags::from_bits_retain(p[2]),
                pport: p[3],
                unused,
            },
        )
}

fn ext() -> impl Strategy<Value = PingExt> {
    prop_oneof![
        string_no_nul().prop_map(PingExt::Hostname),
        string_no_nul().prop_map(PingExt::HumanNodename),
        (name(), any::<u64>()).prop_map(|(node, ttl)| PingExt::ForgottenNode { node, ttl }),
        name().prop_map(PingExt::ShardId),
        string_no_nul().prop_map(PingExt::ClientIpv4),
        string_no_nul().prop_map(PingExt::ClientIpv6),
        // Never in a typed form: an unknown type, or a non-zero `unused`.
        (6u16.., vec(any::<[u8; 8]>(), 0..4)).prop_map(|(ext_type, words)| PingExt::Other {
            ext_type,
            unused: 0,
            data: Bytes::from(words.concat()),
        }),
        (0u16..6, 1u16.., vec(any::<[u8; 8]>(), 0..4)).prop_map(|(ext_type, unused, words)| {
            PingExt::Other {
                ext_type,
                unused,
                data: Bytes::from(words.concat()),
            }
        }),
    ]
}

fn ping_body() -> impl Strategy<Value = PingBody> {
    (vec(gossip_entry(), 0..12), vec(ext(), 0..4)).prop_map(|(g, e)| PingBody {
        gossip: Gossip::from_entries(&g).unwrap(),
        extensions: Extensions::new(&e).unwrap(),
    })
}

fn publish() -> impl Strategy<Value = PublishBody> {
    (bytes(64), bytes(300)).prop_map(|(channel, message)| PublishBody { channel, message })
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        ping_body().prop_map(Body::Ping),
        ping_body().prop_map(Body::Pong),
        ping_body().prop_map(Body::Meet),
        name().prop_map(Body::Fail),
        publish().prop_map(Body::Publish),
        publish().prop_map(Body::PublishShard),
        Just(Body::FailoverAuthRequest),
        Just(Body::FailoverAuthAck),
        Just(Body::MfStart),
        (any::<u64>(), name(), slots()).prop_map(|(config_epoch, node, s)| Body::Update(
            UpdateBody {
                config_epoch,
                node,
                slots: Box::new(s)
            }
        )),
        (any::<[u8; 8]>(), any::<u8>(), bytes(300)).prop_map(|(id, module_type, payload)| {
            Body::Module(ModuleBody {
                module_id: ModuleId(id),
                module_type,
                payload,
            })
        }),
        (11u16.., bytes(200)).prop_map(|(code, data)| Body::Unknown { code, data }),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    let ints = (
        any::<[u16; 3]>(),
        any::<[u64; 3]>(),
        any::<u16>(),
        any::<u8>(),
        any::<u8>(),
    );
    let unused = (any::<[u8; 30]>(), any::<[u8; 2]>(), any::<[u16; 2]>());
    (ints, name(), slots(), name(), ip(), unused, body()).prop_map(
        |((p, e, flags, state, mflags), sender, myslots, slaveof, myip, u, body)| {
            let mut header = Header::new(sender);
            header.port = p[0];
            header.pport = p[1];
            header.cport = p[2];
            header.current_epoch = e[0];
            header.config_epoch = e[1];
            header.offset = e[2];
            header.myslots = myslots;
            header.slaveof = slaveof;
            header.myip = myip;
            header.flags = NodeFlags::from_bits_retain(flags);
            header.state = ClusterState::from(state);
            header.mflags = MsgFlags::from_bits_retain(mflags);
            // `count`/`extensions` are only kept where they mean nothing (see Unused).
            let (count, extensions) = match body.ping() {
                Some(pb) if !pb.extensions.is_empty() => {
                    header.mflags |= MsgFlags::EXT_DATA;
                    (0, 0)
                }
                Some(_) if header.mflags.contains(MsgFlags::EXT_DATA) => (0, 0),
                Some(_) => (0, u.2[1]),
                None => (u.2[0], u.2[1]),
            };
            header.unused = Unused {
                count,
                extensions,
                notused1: u.0,
                mflags_tail: u.1,
            };
            Message::new(header, body)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn any_message_round_trips(msg in message()) {
        let mut out = BytesMut::new();
        encode(&msg, &mut out).unwrap();
        prop_assert_eq!(out.len(), encoded_len(&msg));
        let wire = out.clone().freeze();
        let back = decode_message(wire.clone(), &Limits::default()).unwrap();
        prop_assert_eq!(&back, &msg);
        let mut again = BytesMut::new();
        encode(&back, &mut again).unwrap();
        prop_assert_eq!(&again[..], &wire[..]);
        // Streaming: a frame split anywhere waits, then decodes whole.
        let cut = wire.len() / 2;
        let mut buf = BytesMut::from(&wire[..cut]);
        prop_assert_eq!(decode(&mut buf, &Limits::default()), Ok(None));
        buf.extend_from_slice(&wire[cut..]);
        prop_assert_eq!(decode(&mut buf, &Limits::default()), Ok(Some(msg)));
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn extensions_survive_the_list(exts in vec(ext(), 0..8)) {
        let e = Extensions::new(&exts).unwrap();
        prop_assert_eq!(e.len(), exts.len());
        let back: Vec<PingExt> = e.iter().collect();
        prop_assert_eq!(back, exts.clone());
        let want = exts.iter().rev().find_map(|x| match x {
            PingExt::Hostname(h) => Some(h.to_vec()),
            PingExt::Other { ext_type: 0, data, .. } => {
                Some(data.split(|&b| b == 0).next().unwrap_or(&[]).to_vec())
            }
            _ => None,
        });
        prop_assert_eq!(e.hostname().map(<[u8]>::to_vec), want);
    }

    #[test]
    fn gossip_entries_survive_the_section(entries in vec(gossip_entry(), 0..50)) {
        let g = Gossip::from_entries(&entries).unwrap();
        prop_assert_eq!(g.len(), entries.len());
        prop_assert_eq!(g.iter().collect::<Vec<_>>(), entries.clone());
        for (i, e) in entries.iter().enumerate() {
            prop_assert_eq!(g.get(i), Some(*e));
        }
        prop_assert_eq!(g.get(entries.len()), None);
    }

    #[test]
    fn slot_sets_match_a_bool_model(a in vec(0..CLUSTER_SLOTS, 0..300), b in vec(0..CLUSTER_SLOTS, 0..300),
                                    r in (0..CLUSTER_SLOTS, 0..CLUSTER_SLOTS)) {
        let mut model_a = vec![false; 16384];
        let mut model_b = vec![false; 16384];
        a.iter().for_each(|&s| model_a[usize::from(s)] = true);
        b.iter().for_each(|&s| model_b[usize::from(s)] = true);
        let (lo, hi) = (r.0.min(r.1), r.0.max(r.1));
        (lo..=hi).for_each(|s| model_a[usize::from(s)] = true);
        let mut sa: SlotSet = a.into_iter().collect();
        sa.insert_range(lo..=hi);
        let sb: SlotSet = b.into_iter().collect();
        let members = |m: &[bool]| (0..CLUSTER_SLOTS).filter(|&s| m[usize::from(s)]).collect::<Vec<_>>();
        prop_assert_eq!(sa.iter().collect::<Vec<_>>(), members(&model_a));
        prop_assert_eq!(sa.len(), members(&model_a).len());
        let from_ranges: Vec<u16> = sa.ranges().flatten().collect();
        prop_assert_eq!(from_ranges, members(&model_a));
        // Ranges are maximal: consecutive ranges never touch.
        let rs: Vec<_> = sa.ranges().collect();
        for w in rs.windows(2) {
            prop_assert!(u32::from(*w[0].end()) + 1 < u32::from(*w[1].start()));
        }
        let and: Vec<bool> = model_a.iter().zip(&model_b).map(|(x, y)| *x && *y).collect();
        let or: Vec<bool> = model_a.iter().zip(&model_b).map(|(x, y)| *x || *y).collect();
        let sub: Vec<bool> = model_a.iter().zip(&model_b).map(|(x, y)| *x && !*y).collect();
        prop_assert_eq!((&sa & &sb).iter().collect::<Vec<_>>(), members(&and));
        prop_assert_eq!((&sa | &sb).iter().collect::<Vec<_>>(), members(&or));
        prop_assert_eq!((&sa - &sb).iter().collect::<Vec<_>>(), members(&sub));
        prop_assert_eq!(SlotSet::from_wire(&sa.to_wire()), sa.clone());
        prop_assert_eq!(sa.intersects(&sb), !members(&and).is_empty());
    }
}
