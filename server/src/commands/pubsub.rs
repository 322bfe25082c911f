//! Pub/sub on this node: channel, pattern and shard channel subscriptions, PUBLISH,
//! SPUBLISH, PUBSUB, and the RESP2 arrays / RESP3 pushes Redis sends for them. In cluster
//! mode PUBLISH and SPUBLISH are also handed to the cluster bus (also from inside EXEC).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use parking_lot::RwLock;
use resp_proto::{Protocol, ReplyWriter};

use super::{help_data, keys::reply_help, CmdError, CmdResult, Ctx, Handler};
use crate::keyspace::{key_slot, string_match};
use crate::net::ClientHandle;

pub(super) fn handler(name: &str) -> Option<Handler> {
    Some(match name {
        "subscribe" => subscribe,
        "unsubscribe" => unsubscribe,
        "psubscribe" => psubscribe,
        "punsubscribe" => punsubscribe,
        "publish" => publish,
        "ssubscribe" => ssubscribe,
        "sunsubscribe" => sunsubscribe,
        "spublish" => spublish,
        "pubsub|channels" => pubsub_channels,
        "pubsub|numsub" => pubsub_numsub,
        "pubsub|shardchannels" => pubsub_shardchannels,
        "pubsub|shardnumsub" => pubsub_shardnumsub,
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
    shard: RwLock<ShardSubs>,
}

/// Shard channel subscriptions (SSUBSCRIBE). Kept here rather than in the session
/// because the cluster actor unsubscribes clients when a slot leaves this shard.
#[derive(Default)]
struct ShardSubs {
    channels: HashMap<Bytes, Subscribers>,
    /// Each client's channels, in subscription order (the order SUNSUBSCRIBE lists them).
    clients: HashMap<u64, Vec<Bytes>>,
}

impl ShardSubs {
    /// Subscribes; false when already subscribed.
    fn add(&mut self, ch: &Bytes, c: &Arc<ClientHandle>) -> bool {
        let mine = self.clients.entry(c.id).or_default();
        if mine.contains(ch) {
            return false;
        }
        mine.push(ch.clone());
        c.ssub.store(mine.len(), Ordering::Relaxed);
        self.channels.entry(ch.clone()).or_default().push(c.clone());
        true
    }

    /// Unsubscribes; false when not subscribed.
    fn remove(&mut self, ch: &[u8], c: &ClientHandle) -> bool {
        let Some(mine) = self.clients.get_mut(&c.id) else {
            return false;
        };
        let Some(at) = mine.iter().position(|x| x == ch) else {
            return false;
        };
        mine.remove(at);
        c.ssub.store(mine.len(), Ordering::Relaxed);
        if mine.is_empty() {
            self.clients.remove(&c.id);
        }
        if let Some(list) = self.channels.get_mut(ch) {
            remove_from(list, c.id);
            if list.is_empty() {
                self.channels.remove(ch);
            }
        }
        true
    }

    fn count(&self, id: u64) -> usize {
        self.clients.get(&id).map_or(0, Vec::len)
    }
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
            let mut shard = self.shard.write();
            let mine = shard.clients.get(&c.id).cloned().unwrap_or_default();
            for ch in &mine {
                shard.remove(ch, c);
            }
        }
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

    /// Number of shard channels with subscribers.
    pub fn shard_channel_count(&self) -> usize {
        self.shard.read().channels.len()
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

impl PubSub {
    /// Delivers an SPUBLISH message to the shard channel's subscribers (patterns do not
    /// see shard messages); returns the number of receivers.
    pub fn publish_shard(&self, channel: &[u8], message: &[u8]) -> usize {
        let mut enc = Encoded::default();
        let shard = self.shard.read();
        let Some(list) = shard.channels.get(channel) else {
            return 0;
        };
        for c in list {
            c.push(enc.frame(c, b"smessage", channel, message));
        }
        list.len()
    }

    /// Unsubscribes everyone from the shard channels of slots this node no longer serves
    /// (Redis 7.0 does so when a slot is deleted from its shard), telling each client with
    /// a `sunsubscribe` message carrying its remaining count.
    pub fn drop_shard_slots(&self, lost: &dyn Fn(u16) -> bool) {
        let mut shard = self.shard.write();
        let gone: Vec<Bytes> = shard
            .channels
            .keys()
            .filter(|ch| lost(key_slot(ch)))
            .cloned()
            .collect();
        for ch in gone {
            let subscribers = shard.channels.get(&ch).cloned().unwrap_or_default();
            for c in subscribers {
                if shard.remove(&ch, &c) {
                    let mut b = BytesMut::new();
                    let mut w = ReplyWriter::new(&mut b, proto_of(&c));
                    confirm(&mut w, b"sunsubscribe", Some(&ch), shard.count(c.id));
                    c.push(&b);
                }
            }
        }
    }
}

fn proto_of(c: &ClientHandle) -> Protocol {
    if c.resp3.load(Ordering::Relaxed) {
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
        self.frame(c, b"message", channel, message)
    }

    /// `[kind, channel, message]` in the client's protocol.
    fn frame(&mut self, c: &ClientHandle, kind: &[u8], channel: &[u8], message: &[u8]) -> &[u8] {
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
            w.bulk(kind);
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
    sess.info.ssub.store(0, Ordering::Relaxed);
    sess.channels.clear();
    sess.patterns.clear();
    sess.info.sub.store(0, Ordering::Relaxed);
    sess.info.psub.store(0, Ordering::Relaxed);
}

fn publish(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let n = ctx.node.pubsub.publish(&args[1], &args[2]);
    propagate(ctx, false, args);
    reply_published(ctx, n);
    Ok(())
}

fn spublish(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let n = ctx.node.pubsub.publish_shard(&args[1], &args[2]);
    propagate(ctx, true, args);
    reply_published(ctx, n);
    Ok(())
}

/// Hands a message to the cluster bus, unless it came from our master: the node where a
/// client published it propagates it (Redis 7.0 does not replicate PUBLISH in cluster mode).
fn propagate(ctx: &Ctx<'_, '_>, shard: bool, args: &[Bytes]) {
    if !crate::replication::stream::is_master_client() {
        crate::cluster::publish(ctx.node, shard, &args[1], &args[2]);
    }
}

fn reply_published(ctx: &mut Ctx<'_, '_>, receivers: usize) {
    if ctx.sess.in_pubsub() {
        // Messages to ourselves come before the reply, as in Redis.
        ctx.sess.info.move_pushes_into(ctx.out.buffer());
    }
    ctx.out.integer(receivers as i64);
}

fn ssubscribe(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    // EXEC runs with CLIENT_DENY_BLOCKING; unlike SUBSCRIBE, SSUBSCRIBE has no MULTI
    // exception in Redis 7.0.
    if ctx.sess.in_exec {
        return Err(CmdError(Cow::Borrowed(
            "ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client",
        )));
    }
    let mut shard = ctx.node.pubsub.shard.write();
    for ch in &args[1..] {
        shard.add(ch, &ctx.sess.info);
        confirm(ctx.out, b"ssubscribe", Some(ch), shard.count(ctx.sess.id));
    }
    Ok(())
}

fn sunsubscribe(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let mut shard = ctx.node.pubsub.shard.write();
    let info = &ctx.sess.info;
    let targets: Vec<Bytes> = if args.len() > 1 {
        args[1..].to_vec()
    } else {
        shard.clients.get(&info.id).cloned().unwrap_or_default()
    };
    if targets.is_empty() {
        confirm(ctx.out, b"sunsubscribe", None, shard.count(info.id));
    }
    for ch in &targets {
        shard.remove(ch, info);
        confirm(ctx.out, b"sunsubscribe", Some(ch), shard.count(info.id));
    }
    Ok(())
}

/// PUBSUB CHANNELS / SHARDCHANNELS take at most one pattern (Redis's own check, the
/// table arity being -2).
fn channel_pattern(args: &[Bytes]) -> Result<Option<&Bytes>, CmdError> {
    if args.len() > 3 {
        let sub = args
            .get(1)
            .map_or(Cow::Borrowed(""), |s| String::from_utf8_lossy(s));
        return Err(CmdError::msg(format!(
            "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try PUBSUB HELP."
        )));
    }
    Ok(args.get(2))
}

fn list_channels(ctx: &mut Ctx<'_, '_>, map: &HashMap<Bytes, Subscribers>, pat: Option<&Bytes>) {
    let names: Vec<&Bytes> = map
        .keys()
        .filter(|ch| pat.is_none_or(|p| string_match(p, ch, false)))
        .collect();
    ctx.out.array_len(names.len());
    for n in names {
        ctx.out.bulk(n);
    }
}

fn count_subscribers(ctx: &mut Ctx<'_, '_>, map: &HashMap<Bytes, Subscribers>, chans: &[Bytes]) {
    ctx.out.array_len(chans.len() * 2);
    for c in chans {
        ctx.out.bulk(c);
        ctx.out.integer(map.get(c).map_or(0, Vec::len) as i64);
    }
}

fn pubsub_channels(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let pat = channel_pattern(args)?;
    let node = ctx.node;
    list_channels(ctx, &node.pubsub.channels.read(), pat);
    Ok(())
}

fn pubsub_shardchannels(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let pat = channel_pattern(args)?;
    let node = ctx.node;
    list_channels(ctx, &node.pubsub.shard.read().channels, pat);
    Ok(())
}

fn pubsub_numsub(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let node = ctx.node;
    count_subscribers(ctx, &node.pubsub.channels.read(), &args[2..]);
    Ok(())
}

fn pubsub_shardnumsub(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let node = ctx.node;
    count_subscribers(ctx, &node.pubsub.shard.read().channels, &args[2..]);
    Ok(())
}

fn pubsub_numpat(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CmdResult {
    let n = ctx.node.pubsub.pattern_count();
    ctx.out.integer(n as i64);
    Ok(())
}

fn pubsub_help(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    reply_help(ctx, args, help_data::PUBSUB)
}
