//! The hot paths of the cluster actor: a PING in, a PING out, a cron tick, a CLUSTER
//! NODES text, a nodes.conf save, on a 3-master/3-replica node and on a 100-node one;
//! and at 1000 nodes a PING carrying 100 gossip entries and a steady-state cron tick.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

use cluster_bus::{
    Body, Gossip, GossipEntry, Header, Message, NetIp, NodeFlags, NodeName, PingBody,
};
use cluster_core::{Cluster, Config, Effect, Input, LinkId};

const T0: u64 = 1_800_000_000_000;

fn name(i: usize) -> NodeName {
    let s = format!("{i:040}");
    NodeName::new(s.as_bytes().try_into().unwrap())
}

/// `n` nodes: the first `masters` own equal ranges, the rest replicate them round robin.
fn conf(n: usize, masters: usize) -> String {
    let mut s = String::new();
    let per = 16384 / masters;
    for i in 0..n {
        let me = if i == 0 { "myself," } else { "" };
        if i < masters {
            let end = if i + 1 == masters {
                16383
            } else {
                i * per + per - 1
            };
            s += &format!(
                "{} 10.0.{}.{}:7000@17000 {me}master - 0 0 {} connected {}-{}\n",
                std::str::from_utf8(name(i).as_bytes()).unwrap(),
                i / 250,
                i % 250,
                i + 1,
                i * per,
                end
            );
        } else {
            s += &format!(
                "{} 10.0.{}.{}:7000@17000 slave {} 0 0 0 connected\n",
                std::str::from_utf8(name(i).as_bytes()).unwrap(),
                i / 250,
                i % 250,
                std::str::from_utf8(name(i % masters).as_bytes()).unwrap()
            );
        }
    }
    s + &format!("vars currentEpoch {masters} lastVoteEpoch 0\n")
}

/// A node with every outbound link connected.
fn node(n: usize, masters: usize) -> (Cluster, Vec<(NodeName, LinkId)>) {
    let mut c = Cluster::load(Config::new(7000), conf(n, masters).as_bytes(), 1, T0).unwrap();
    let mut out = Vec::new();
    c.handle(T0, Input::Tick, &mut out);
    let links: Vec<(NodeName, LinkId)> = out
        .iter()
        .filter_map(|e| match e {
            Effect::Connect { link, node, .. } => Some((*node, *link)),
            _ => None,
        })
        .collect();
    for (_, l) in &links {
        c.handle(T0, Input::Connected { link: *l }, &mut out);
    }
    (c, links)
}

/// A 1000-node node at steady state: every peer answered a PING, the PONGs spread over
/// the last node_timeout/2, so a tick PINGs the few whose PONG has gone stale (§9.1).
fn steady(n: usize, masters: usize) -> (Cluster, Vec<(NodeName, LinkId)>, u64) {
    let (mut c, links) = node(n, masters);
    let half = Config::new(7000).node_timeout / 2;
    let mut out = Vec::new();
    for (k, (peer, link)) in links.iter().enumerate() {
        let at = T0 + half * k as u64 / links.len() as u64;
        let mut pong = ping_from(&c, *peer, 0);
        if let Body::Ping(b) = pong.body {
            pong.body = Body::Pong(b);
        }
        c.handle(
            at,
            Input::Bus {
                link: *link,
                msg: Box::new(pong),
            },
            &mut out,
        );
        out.clear();
    }
    (c, links, T0 + half + 100)
}

fn ping_from(c: &Cluster, from: NodeName, gossip: usize) -> Message {
    let n = c.nodes().get(&from).unwrap();
    let mut h = Header::new(from);
    h.port = 7000;
    h.cport = 17000;
    h.flags = (n.flags & (NodeFlags::MASTER | NodeFlags::SLAVE)) | NodeFlags::MYSELF;
    if let Some(m) = n.master {
        h.slaveof = m;
    }
    h.config_epoch = n.config_epoch;
    h.current_epoch = c.current_epoch();
    h.myslots = n.slots.to_set();
    let entries: Vec<GossipEntry> = c
        .nodes()
        .iter()
        .filter(|x| x.name != from)
        .take(gossip)
        .map(|x| GossipEntry {
            node: x.name,
            ping_sent: 0,
            pong_received: (T0 / 1000) as u32,
            ip: NetIp::new(x.ip.as_bytes()).unwrap(),
            port: x.port,
            cport: x.cport,
            flags: x.flags - NodeFlags::MYSELF,
            pport: 0,
            unused: 0,
        })
        .collect();
    Message::new(
        h,
        Body::Ping(PingBody {
            gossip: Gossip::from_entries(&entries).unwrap(),
            extensions: cluster_bus::Extensions::empty(),
        }),
    )
}

fn bench(c: &mut Criterion) {
    for (n, masters) in [(6, 3), (100, 50)] {
        let (node, links) = node(n, masters);
        let (peer, link) = links[0];
        let ping = ping_from(&node, peer, (n / 10).max(3));
        c.bench_function(&format!("handle PING (N={n})"), |b| {
            b.iter_batched_ref(
                || (node.clone(), Vec::with_capacity(8)),
                |(st, out)| {
                    st.handle(
                        T0 + 10,
                        Input::Bus {
                            link,
                            msg: Box::new(ping.clone()),
                        },
                        out,
                    )
                },
                BatchSize::LargeInput,
            )
        });
        c.bench_function(&format!("cron tick (N={n})"), |b| {
            b.iter_batched_ref(
                || (node.clone(), Vec::with_capacity(8)),
                |(st, out)| st.handle(T0 + 100, Input::Tick, out),
                BatchSize::LargeInput,
            )
        });
        c.bench_function(&format!("CLUSTER NODES text (N={n})"), |b| {
            b.iter(|| node.nodes_text())
        });
        c.bench_function(&format!("nodes.conf bytes (N={n})"), |b| {
            b.iter(|| node.nodes_conf_bytes())
        });
    }
}

fn bench_1000(c: &mut Criterion) {
    let (node, links, now) = steady(1000, 500);
    let (peer, link) = links[0];
    let ping = ping_from(&node, peer, 100);
    c.bench_function("handle PING, 100 gossip entries (N=1000)", |b| {
        b.iter_batched_ref(
            || (node.clone(), Vec::with_capacity(8)),
            |(st, out)| {
                st.handle(
                    now,
                    Input::Bus {
                        link,
                        msg: Box::new(ping.clone()),
                    },
                    out,
                )
            },
            BatchSize::LargeInput,
        )
    });
    c.bench_function("cron tick, steady state (N=1000)", |b| {
        b.iter_batched_ref(
            || (node.clone(), Vec::with_capacity(32)),
            |(st, out)| st.handle(now, Input::Tick, out),
            BatchSize::LargeInput,
        )
    });
}

criterion_group!(benches, bench, bench_1000);
criterion_main!(benches);
