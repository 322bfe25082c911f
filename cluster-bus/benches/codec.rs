//! Decode and encode cost of typical bus messages, each beside a plain copy of the same
//! number of bytes into a preallocated buffer, so results read as a ratio to memcpy.
//! Figures are recorded in BENCHMARKS.md.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use cluster_bus::{
    decode_message, encode, Body, Extensions, Gossip, GossipEntry, Header, Limits, Message,
    MsgFlags, NetIp, NodeFlags, NodeName, PingBody, PingExt, PublishBody, SlotSet,
};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn node(i: usize) -> NodeName {
    let s = format!("{i:040x}");
    NodeName::try_from(s.as_str()).expect("40 hex chars")
}

fn header() -> Header {
    let mut h = Header::new(node(1_000_000));
    h.port = 7100;
    h.cport = 17100;
    h.current_epoch = 6;
    h.config_epoch = 3;
    h.offset = 123_456;
    h.myslots = SlotSet::from_range(0..=5460);
    h.flags = NodeFlags::MASTER | NodeFlags::MYSELF;
    h
}

fn ping_100() -> Message {
    let entries: Vec<GossipEntry> = (0..100)
        .map(|i| GossipEntry {
            node: node(i),
            ping_sent: 0,
            pong_received: 1_795_702_709,
            ip: NetIp::new(b"127.0.0.1").expect("short ip"),
            port: 7000 + i as u16,
            cport: 17000 + i as u16,
            flags: NodeFlags::MASTER,
            pport: 0,
            unused: 0,
        })
        .collect();
    let body = PingBody {
        gossip: Gossip::from_entries(&entries).expect("100 entries"),
        extensions: Extensions::new(&[
            PingExt::hostname(&b"node-7100.busvec.test"[..]).expect("no NUL")
        ])
        .expect("one extension"),
    };
    let mut h = header();
    h.mflags = MsgFlags::EXT_DATA;
    Message::new(h, Body::Ping(body))
}

fn publish_1k() -> Message {
    let body = PublishBody {
        channel: Bytes::from_static(b"news"),
        message: Bytes::from(vec![b'x'; 1024]),
    };
    Message::new(header(), Body::Publish(body))
}

fn bench_message(c: &mut Criterion, label: &str, msg: &Message) {
    let mut wire = BytesMut::new();
    encode(msg, &mut wire).expect("encodes");
    let wire = wire.freeze();
    let n = wire.len();
    let limits = Limits::default();
    let mut g = c.benchmark_group(label);
    g.throughput(Throughput::Bytes(n as u64));

    let mut dst = vec![0u8; n];
    g.bench_function("memcpy", |b| {
        b.iter(|| {
            dst.copy_from_slice(black_box(&wire[..]));
            black_box(&dst);
        })
    });
    g.bench_function("decode", |b| {
        // black_box by reference: by value it would copy the 2.3 KB struct byte by byte.
        b.iter(|| {
            let m = decode_message(black_box(wire.clone()), &limits).expect("valid");
            black_box(&m);
        })
    });
    if msg.body.ping().is_some() {
        // What cluster-core will do with it: decode, then read every gossip entry.
        g.bench_function("decode+walk_gossip", |b| {
            b.iter(|| {
                let m = decode_message(black_box(wire.clone()), &limits).expect("valid");
                let mut ports = 0u32;
                for e in m.body.ping().expect("ping").gossip.iter() {
                    ports = ports.wrapping_add(u32::from(e.port) ^ e.pong_received);
                }
                black_box((&m, ports));
            })
        });
    }
    let mut out = BytesMut::with_capacity(n);
    g.bench_function("encode", |b| {
        b.iter(|| {
            out.clear();
            encode(black_box(msg), &mut out).expect("encodes");
            black_box(&out);
        })
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    bench_message(c, "ping_100_gossip_hostname", &ping_100());
    bench_message(c, "publish_1k", &publish_1k());
}

criterion_group!(codec, benches);
criterion_main!(codec);
