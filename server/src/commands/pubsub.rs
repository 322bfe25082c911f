//! Pub/sub on this node: channel and pattern subscriptions, PUBLISH, PUBSUB, and the
//! RESP2 arrays / RESP3 pushes Redis sends for them.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use parking_lot::RwLock;
use resp_proto::{Protocol, ReplyWriter};

use super::{help_data, keys::reply_help, CmdResult, Ctx, Handler};
use crate::keyspace::string_match;
use crate::net::ClientHandle;

pub(super) fn handler(name: &str) -> Option<Handler> {
    Some(match name {
        "subscribe" => subscribe,
        "unsubscribe" => unsubscribe,
        "psubscribe" => psubscribe,
        "punsubscribe" => punsubscribe,
        "publish" => publish,
        "pubsub|channels" => pubsub_channels,
        "pubsub|numsub" => pubsub_numsub,
        "pubsub|numpat" => pubsub_numpat,
        "pubsub|help" => pubsub_help,
        _ => return None,
    })
}

type Subscribers = Vec<Arc<ClientHandle>>;

/// Who listens to what.
#[derive(Default)]
pub struct PubSub {
    channels: RwLock<HashMap<Bytes, Subscribers>>,
    patterns: RwLock<Vec<(Bytes, Subscribers)>>,
}

fn remove_from(list: &mut Subscribers, id: u64) {
    list.retain(|c| c.id != id);
}

impl PubSub {
    fn subscribe(&self, ch: &Bytes, c: &Arc<ClientHandle>) {
        self.channels
            .write()
            .entry(ch.clone())
            .or_default()
            .push(c.clone());
    }

    fn unsubscribe(&self, ch: &Bytes, id: u64) {
        let mut map = self.channels.write();
        if let Some(list) = map.get_mut(ch) {
            remove_from(list, id);
            if list.is_empty() {
                map.remove(ch);
            }
        }
    }

    fn psubscribe(&self, pat: &Bytes, c: &Arc<ClientHandle>) {
        let mut pats = self.patterns.write();
        match pats.iter_mut().find(|(p, _)| p == pat) {
            Some((_, list)) => list.push(c.clone()),
            None => pats.push((pat.clone(), vec![c.clone()])),
        }
    }

    fn punsubscribe(&self, pat: &Bytes, id: u64) {
        let mut pats = self.patterns.write();
        for (p, list) in pats.iter_mut() {
            if p == pat {
                remove_from(list, id);
            }
        }
        pats.retain(|(_, l)| !l.is_empty());
    }

    /// Drops every subscription of a client (disconnect).
    pub fn remove_client(&self, c: &ClientHandle) {
        {
            let mut map = self.channels.write();
            map.retain(|_, list| {
                remove_from(list, c.id);
                !list.is_empty()
            });
        }
        let mut pats = self.patterns.write();
        for (_, list) in pats.iter_mut() {
            remove_from(list, c.id);
        }
        pats.retain(|(_, l)| !l.is_empty());
    }

    /// Number of channels with subscribers.
    pub fn channel_count(&self) -> usize {
        self.channels.read().len()
    }

    /// Number of distinct patterns with subscribers.
    pub fn pattern_count(&self) -> usize {
        self.patterns.read().len()
    }

    /// Delivers a message; returns the number of receivers.
    pub fn publish(&self, channel: &[u8], message: &[u8]) -> usize {
        let mut enc = Encoded::default();
        let mut n = 0;
        if let Some(list) = self.channels.read().get(channel) {
            for c in list {
                c.push(enc.message(c, channel, message));
                n += 1;
            }
        }
        for (pat, list) in self.patterns.read().iter() {
            if string_match(pat, channel, false) {
                for c in list {
                    let proto = proto_of(c);
                    let mut b = BytesMut::new();
                    let mut w = ReplyWriter::new(&mut b, proto);
                    w.push_len(4);
                    w.bulk(b"pmessage");
                    w.bulk(pat);
                    w.bulk(channel);
                    w.bulk(message);
                    c.push(&b);
                    n += 1;
                }
            }
        }
        n
    }
}

fn proto_of(c: &ClientHandle) -> Protocol {
    if c.resp3.load(std::sync::atomic::Ordering::Relaxed) {
        Protocol::Resp3
    } else {
        Protocol::Resp2
    }
}

/// A "message" frame encoded at most once per protocol.
#[derive(Default)]
struct Encoded {
    resp2: Option<BytesMut>,
    resp3: Option<BytesMut>,
}

impl Encoded {
    fn message(&mut self, c: &ClientHandle, channel: &[u8], message: &[u8]) -> &[u8] {
        let proto = proto_of(c);
        let slot = if proto == Protocol::Resp3 {
            &mut self.resp3
        } else {
            &mut self.resp2
        };
        slot.get_or_insert_with(|| {
            let mut b = BytesMut::new();
            let mut w = ReplyWriter::new(&mut b, proto);
            w.push_len(3);
            w.bulk(b"message");
            w.bulk(channel);
            w.bulk(message);
            b
        })
    }
}

fn confirm(out: &mut ReplyWriter<'_>, kind: &[u8], name: Option<&[u8]>, count: usize) {
    out.push_len(3);
    out.bulk(kind);
    match name {
        Some(n) => out.bulk(n),
        None => out.null(),
    }
    out.integer(count as i64);
}

fn subscribe(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    for ch in &args[1..] {
        if ctx.sess.channels.insert(ch.clone()) {
            ctx.node.pubsub.subscribe(ch, &ctx.sess.info);
        }
        confirm(ctx.out, b"subscribe", Some(ch), ctx.sess.subscriptions());
    }
    sync_counts(ctx);
    Ok(())
}

fn psubscribe(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    for pat in &args[1..] {
        if ctx.sess.patterns.insert(pat.clone()) {
            ctx.node.pubsub.psubscribe(pat, &ctx.sess.info);
        }
        confirm(ctx.out, b"psubscribe", Some(pat), ctx.sess.subscriptions());
    }
    sync_counts(ctx);
    Ok(())
}

fn sync_counts(ctx: &mut Ctx<'_, '_>) {
    use std::sync::atomic::Ordering;
    ctx.sess
        .info
        .sub
        .store(ctx.sess.channels.len(), Ordering::Relaxed);
    ctx.sess
        .info
        .psub
        .store(ctx.sess.patterns.len(), Ordering::Relaxed);
}

fn unsubscribe(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let targets: Vec<Bytes> = if args.len() > 1 {
        args[1..].to_vec()
    } else {
        ctx.sess.channels.iter().cloned().collect()
    };
    if targets.is_empty() {
        confirm(ctx.out, b"unsubscribe", None, ctx.sess.subscriptions());
    }
    for ch in &targets {
        if ctx.sess.channels.remove(ch) {
            ctx.node.pubsub.unsubscribe(ch, ctx.sess.id);
        }
        confirm(ctx.out, b"unsubscribe", Some(ch), ctx.sess.subscriptions());
    }
    sync_counts(ctx);
    Ok(())
}

fn punsubscribe(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let targets: Vec<Bytes> = if args.len() > 1 {
        args[1..].to_vec()
    } else {
        ctx.sess.patterns.iter().cloned().collect()
    };
    if targets.is_empty() {
        confirm(ctx.out, b"punsubscribe", None, ctx.sess.subscriptions());
    }
    for pat in &targets {
        if ctx.sess.patterns.remove(pat) {
            ctx.node.pubsub.punsubscribe(pat, ctx.sess.id);
        }
        confirm(
            ctx.out,
            b"punsubscribe",
            Some(pat),
            ctx.sess.subscriptions(),
        );
    }
    sync_counts(ctx);
    Ok(())
}

/// Drops every subscription of a session without replies (RESET, disconnect).
pub(super) fn clear_session(ctx_node: &crate::node::Node, sess: &mut super::Session) {
    ctx_node.pubsub.remove_client(&sess.info);
    sess.channels.clear();
    sess.patterns.clear();
    sess.info.sub.store(0, std::sync::atomic::Ordering::Relaxed);
    sess.info
        .psub
        .store(0, std::sync::atomic::Ordering::Relaxed);
}

fn publish(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let n = ctx.node.pubsub.publish(&args[1], &args[2]);
    if ctx.sess.in_pubsub() {
        // Messages to ourselves come before the reply, as in Redis.
        let mine = ctx.sess.info.take_pushes();
        ctx.out.buffer().extend_from_slice(&mine);
    }
    ctx.out.integer(n as i64);
    Ok(())
}

fn pubsub_channels(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let pat = args.get(2);
    let names: Vec<Bytes> = ctx
        .node
        .pubsub
        .channels
        .read()
        .keys()
        .filter(|ch| pat.map_or(true, |p| string_match(p, ch, false)))
        .cloned()
        .collect();
    ctx.out.array_len(names.len());
    for n in &names {
        ctx.out.bulk(n);
    }
    Ok(())
}

fn pubsub_numsub(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let chans = &args[2..];
    let counts: Vec<usize> = {
        let map = ctx.node.pubsub.channels.read();
        chans
            .iter()
            .map(|c| map.get(c).map_or(0, Vec::len))
            .collect()
    };
    ctx.out.array_len(chans.len() * 2);
    for (c, n) in chans.iter().zip(counts) {
        ctx.out.bulk(c);
        ctx.out.integer(n as i64);
    }
    Ok(())
}

fn pubsub_numpat(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CmdResult {
    let n = ctx.node.pubsub.pattern_count();
    ctx.out.integer(n as i64);
    Ok(())
}

fn pubsub_help(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CmdResult {
    reply_help(ctx, help_data::PUBSUB)
}
