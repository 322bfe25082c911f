//! Blocking pops (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP).
//!
//! A client that finds nothing to pop registers a [`Waiter`] on each of its keys and stops
//! running commands (its connection keeps reading, as Redis buffers a blocked client's
//! input). The command that later adds elements to such a key serves the waiters itself,
//! first blocked first served, as Redis's handleClientsBlockedOnKeys does: it pops for
//! each in turn while the key has elements, and hands the reply over through the client's
//! push queue. The connection resumes once that reply is delivered, or answers the
//! timeout's null reply itself when the deadline passes first (a waiter is claimed by
//! exactly one side). Inside MULTI/EXEC these commands never block.
//!
//! Redis serves a blocked client only while it is connected, so an element is either
//! delivered to a live client or stays where it was. Here the serving command and the
//! client's connection run on different threads: when a connection closes with a served
//! reply still undelivered, what was popped for it is put back (and offered to the next
//! waiter), so nothing is lost.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use resp_proto::{Protocol, ReplyWriter};

use super::cmdstats;
use super::lists::parse_end;
use super::longdouble::{LongDouble, Parsed};
use super::numbers::parse_i64;
use super::types_common::mpop_count;
use super::{CmdError, CmdResult, Ctx, Handler, Session};
use crate::keyspace::{key_slot, lru_clock, Entry, Obj};
use crate::net::ClientHandle;
use crate::node::Node;
use crate::types::list::End;
use crate::types::zset::AddFlags;
use crate::types::{List, Zset};

pub(super) fn handler(name: &str) -> Option<Handler> {
    Some(match name {
        "blpop" => blpop,
        "brpop" => brpop,
        "blmove" => blmove,
        "brpoplpush" => brpoplpush,
        "blmpop" => blmpop,
        "bzpopmin" => bzpopmin,
        "bzpopmax" => bzpopmax,
        "bzmpop" => bzmpop,
        "client|unblock" => client_unblock,
        _ => return None,
    })
}

/// What a blocked client wants once one of its keys has elements.
#[derive(Debug, Clone)]
enum Op {
    /// BLPOP / BRPOP: `[key, value]`.
    Pop(End),
    /// BLMOVE / BRPOPLPUSH: the moved value.
    Move { dst: Bytes, from: End, to: End },
    /// BLMPOP: `[key, [values]]`.
    ListMpop { end: End, count: usize },
    /// BZPOPMIN / BZPOPMAX: `[key, member, score]`.
    ZPop { max: bool },
    /// BZMPOP: `[key, [[member, score]...]]`.
    ZMpop { max: bool, count: usize },
}

impl Op {
    /// The blocking command this waiter ran (its command table name).
    fn name(&self) -> &'static str {
        match self {
            Op::Pop(End::Left) => "blpop",
            Op::Pop(_) => "brpop",
            Op::Move { .. } => "blmove",
            Op::ListMpop { .. } => "blmpop",
            Op::ZPop { max: true } => "bzpopmax",
            Op::ZPop { max: false } => "bzpopmin",
            Op::ZMpop { .. } => "bzmpop",
        }
    }

    /// The blocking command this waiter ran, on the key that served it: replication turns
    /// it into the pop that reproduces the service (`crate::replication::blocked_served`).
    fn as_command(&self, key: &[u8]) -> Vec<Bytes> {
        let s = |t: &'static str| Bytes::from_static(t.as_bytes());
        let pick = |left: bool, l, r| s(if left { l } else { r });
        let end = |e: &End| pick(matches!(e, End::Left), "LEFT", "RIGHT");
        let name = s(self.name());
        let key = Bytes::copy_from_slice(key);
        match self {
            Op::Pop(_) | Op::ZPop { .. } => vec![name, key],
            Op::Move { dst, from, to } => vec![name, key, dst.clone(), end(from), end(to)],
            Op::ListMpop { end: e, .. } => vec![name, s("0"), s("1"), key, end(e)],
            Op::ZMpop { max, .. } => vec![name, s("0"), s("1"), key, pick(*max, "MAX", "MIN")],
        }
    }

    fn wants_list(&self) -> bool {
        matches!(self, Op::Pop(_) | Op::Move { .. } | Op::ListMpop { .. })
    }

    /// The reply when the command may not block (inside EXEC): BLMOVE and BRPOPLPUSH
    /// answer a null bulk there, the others a null array.
    fn write_no_block(&self, out: &mut ReplyWriter<'_>) {
        match self {
            Op::Move { .. } => out.null(),
            _ => out.null_array(),
        }
    }
}

const WAITING: u8 = 0;
/// Claimed by a serving command, reply not yet queued.
const CLAIMED: u8 = 1;
/// Reply queued on the client's push queue.
const DELIVERED: u8 = 2;
/// Timed out or disconnected.
const CANCELLED: u8 = 3;

/// What serving a waiter took, so it can be put back if the reply is never delivered.
enum Taken {
    /// Values popped from `key` at `end`, in pop order.
    List {
        key: Bytes,
        end: End,
        values: Vec<Vec<u8>>,
    },
    /// A value moved from `src` to the `to` end of `dst`.
    Move {
        src: Bytes,
        from: End,
        dst: Bytes,
        to: End,
        value: Vec<u8>,
    },
    /// Members (with scores) popped from the sorted set `key`.
    Zset {
        key: Bytes,
        pairs: Vec<(Vec<u8>, f64)>,
    },
}

/// One blocked client.
pub struct Waiter {
    client: Arc<ClientHandle>,
    db: usize,
    keys: Vec<Bytes>,
    op: Op,
    proto: Protocol,
    state: AtomicU8,
    /// What the serving command popped for this client (set before DELIVERED).
    taken: Mutex<Option<Taken>>,
    /// How the answer counts in the command's statistics (set before DELIVERED).
    answer: AtomicU8,
}

/// [`Waiter::answer`]: served by a writer (the default).
const ANSWER_SERVED: u8 = 0;
/// Unblocked with an error reply: counted as a failed call.
const ANSWER_ERROR: u8 = 1;
/// A timeout's null array (CLIENT UNBLOCK), or a cluster redirection: no statistics.
const ANSWER_UNCOUNTED: u8 = 2;

/// The blocked state a session keeps.
pub struct Blocked {
    waiter: Arc<Waiter>,
    /// None: wait forever (timeout 0).
    deadline: Option<tokio::time::Instant>,
    /// The blocking call, for its statistics and slow log entry at the unblock.
    call: Option<BlockingCall>,
}

/// A call that blocked: what its unblock records.
struct BlockingCall {
    id: usize,
    micros: u64,
    /// Logged when served, not when called (7.0's updateStatsOnUnblock).
    args: Vec<Bytes>,
    slowlog: bool,
}

impl Blocked {
    /// Remembers the call that blocked (see [`cmdstats::record_unblocked`]); `slowlog`:
    /// whether it goes to the slow log once served.
    pub(super) fn set_call(&mut self, id: usize, micros: u64, args: &[Bytes], slowlog: bool) {
        self.call = Some(BlockingCall {
            id,
            micros,
            args: args.to_vec(),
            slowlog,
        });
    }

    /// When the timeout passes, if ever.
    pub fn deadline(&self) -> Option<tokio::time::Instant> {
        self.deadline
    }
}

/// Waiters by (database, key), each queue in blocking order.
type Queues = HashMap<(usize, Bytes), VecDeque<Arc<Waiter>>>;

/// Every blocked client, by (database, key), in blocking order.
#[derive(Default)]
pub struct Blocking {
    queues: Mutex<Queues>,
    /// Number of registered waiters: writers skip all work while it is 0.
    waiting: AtomicUsize,
}

impl Blocking {
    fn register(&self, w: &Arc<Waiter>) {
        let mut q = self.queues.lock();
        for k in &w.keys {
            q.entry((w.db, k.clone())).or_default().push_back(w.clone());
        }
        self.waiting.fetch_add(1, Ordering::AcqRel);
    }

    fn unregister(&self, w: &Arc<Waiter>) {
        let mut q = self.queues.lock();
        for k in &w.keys {
            let id = (w.db, k.clone());
            if let Some(list) = q.get_mut(&id) {
                list.retain(|x| !Arc::ptr_eq(x, w));
                if list.is_empty() {
                    q.remove(&id);
                }
            }
        }
        self.waiting.fetch_sub(1, Ordering::AcqRel);
    }

    /// Waiters on (db, key) in blocking order.
    fn waiters(&self, db: usize, key: &[u8]) -> Vec<Arc<Waiter>> {
        self.queues
            .lock()
            .get(&(db, Bytes::copy_from_slice(key)))
            .map(|q| q.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Number of blocked clients (INFO blocked_clients).
    pub fn blocked_clients(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }
}

/// Serves clients blocked on `key` after a command added elements to it (signalKeyAsReady
/// and handleClientsBlockedOnKeys in one). BLMOVE results make their destination ready in
/// turn.
pub(super) fn signal(node: &Node, db: usize, key: &[u8]) {
    if node.blocking.waiting.load(Ordering::Acquire) == 0 {
        return;
    }
    let mut ready = vec![Bytes::copy_from_slice(key)];
    let mut rounds = 0;
    while let Some(key) = ready.pop() {
        rounds += 1;
        if rounds > 1024 {
            break;
        }
        for w in node.blocking.waiters(db, &key) {
            if w.state.load(Ordering::Acquire) != WAITING {
                continue;
            }
            match serve(node, &w, &key) {
                Served::Yes(dst) => {
                    node.blocking.unregister(&w);
                    ready.extend(dst);
                }
                Served::Refused => node.blocking.unregister(&w),
                Served::Skipped => {}
                Served::Empty => break,
            }
        }
    }
}

enum Served {
    /// The waiter got its reply (and this key, a BLMOVE destination, may now serve others).
    Yes(Option<Bytes>),
    /// Not for this waiter (wrong type, or it is no longer waiting).
    Skipped,
    /// The waiter was answered with an error and nothing was taken.
    Refused,
    /// The key has nothing left.
    Empty,
}

/// Pops for one waiter from `key` if it can, claiming the waiter first.
fn serve(node: &Node, w: &Arc<Waiter>, key: &[u8]) -> Served {
    let now = crate::keyspace::now_ms();
    let mut buf = BytesMut::new();
    let mut out = ReplyWriter::new(&mut buf, w.proto);
    let claim = || {
        w.state
            .compare_exchange(WAITING, CLAIMED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    };
    match pop_for(node, w.db, key, &w.op, now, &mut out, &claim) {
        Ok(Some((dst, taken))) => {
            let form = crate::replication::stream::ReplicaForm::of(w.op.name());
            let served = w.op.as_command(key);
            crate::replication::blocked_served(node, w.db, form, &served, &buf, now);
            *w.taken.lock() = Some(taken);
            w.client.push(&buf);
            w.client.blocked.store(false, Ordering::Relaxed);
            w.state.store(DELIVERED, Ordering::Release);
            w.client.push_notify.notify_one();
            Served::Yes(dst)
        }
        Ok(None) => Served::Empty,
        Err(Unserved::Skip) => Served::Skipped,
        Err(Unserved::WrongDestination) => {
            // An error reply of the node's, not a failure of the command that pushed.
            let text = CmdError::WRONG_TYPE.0;
            node.stats.error();
            node.stats.error_kind(text.as_bytes());
            out.error(text.as_bytes());
            w.client.push(&buf);
            w.client.blocked.store(false, Ordering::Relaxed);
            w.answer.store(ANSWER_ERROR, Ordering::Relaxed);
            w.state.store(DELIVERED, Ordering::Release);
            w.client.push_notify.notify_one();
            Served::Refused
        }
    }
}

enum Unserved {
    /// Wrong type, or `claim` refused.
    Skip,
    /// BLMOVE's destination holds another type: the claimed waiter gets WRONGTYPE and the
    /// element stays, as 7.0.15's serveClientBlockedOnList does.
    WrongDestination,
}

/// What the immediate attempt of a blocking command found on one key.
enum Now {
    /// Served: the reply is written; a BLMOVE destination to signal.
    Served(Option<Bytes>),
    /// Absent or empty.
    Nothing,
}

/// Pops from `key` for `op` under the key's lock (and the destination's), writing the
/// reply, when `claim()` agrees; returns a BLMOVE destination to signal and what was taken.
/// Ok(None): nothing to pop. A wrong type is `Skip` here; the immediate path checks types
/// itself first.
fn pop_for(
    node: &Node,
    db: usize,
    key: &[u8],
    op: &Op,
    now: u64,
    out: &mut ReplyWriter<'_>,
    claim: &dyn Fn() -> bool,
) -> Result<Option<(Option<Bytes>, Taken)>, Unserved> {
    let Some(database) = node.keyspace.db(db) else {
        return Ok(None);
    };
    let slot = key_slot(key);
    let dst = match op {
        Op::Move { dst, .. } => Some(dst.clone()),
        _ => None,
    };
    let dst_slot = dst.as_deref().map(key_slot);
    let slots: Vec<u16> = std::iter::once(slot).chain(dst_slot).collect();
    let mut g = database.lock_slots(&slots);
    let Some(sh) = g.shard(slot) else {
        return Ok(None);
    };
    let Some(e) = sh.get_mut(slot, key, now) else {
        return Ok(None);
    };
    match (e.obj(), op.wants_list()) {
        (Some(Obj::List(l)), true) if !l.is_empty() => {}
        (Some(Obj::Zset(z)), false) if !z.is_empty() => {}
        (Some(Obj::List(_) | Obj::Zset(_)), _) if e.obj().is_some_and(Obj::is_empty) => {
            return Ok(None)
        }
        _ => return Err(Unserved::Skip),
    }
    if let (Some(d), Some(ds)) = (dst.as_deref(), dst_slot) {
        let dst_ok = g
            .shard(ds)
            .map(|sh| sh.get_mut(ds, d, now))
            .is_some_and(|e| e.is_none_or(|e| matches!(e.obj(), Some(Obj::List(_)))));
        if !dst_ok {
            return Err(if claim() {
                Unserved::WrongDestination
            } else {
                Unserved::Skip
            });
        }
    }
    if !claim() {
        return Err(Unserved::Skip);
    }
    let Some(sh) = g.shard(slot) else {
        return Ok(None);
    };
    let Some(obj) = sh.get_mut(slot, key, now).and_then(Entry::obj_mut) else {
        return Ok(None);
    };
    let mut moved = None;
    let src = Bytes::copy_from_slice(key);
    let mut taken = match (obj, op) {
        (Obj::List(l), Op::Pop(end)) => {
            let v = l.pop(*end).unwrap_or_default();
            out.array_len(2);
            out.bulk(key);
            out.bulk(&v);
            Taken::List {
                key: src,
                end: *end,
                values: vec![v],
            }
        }
        (Obj::List(l), Op::Move { from, .. }) => {
            let v = l.pop(*from).unwrap_or_default();
            out.bulk(&v);
            moved = Some(v);
            // Completed below, once the value is in its destination.
            Taken::List {
                key: src,
                end: *from,
                values: Vec::new(),
            }
        }
        (Obj::List(l), Op::ListMpop { end, count }) => {
            let n = (*count).min(l.len());
            out.array_len(2);
            out.bulk(key);
            out.array_len(n);
            let mut values = Vec::with_capacity(n);
            for _ in 0..n {
                let v = l.pop(*end).unwrap_or_default();
                out.bulk(&v);
                values.push(v);
            }
            Taken::List {
                key: src,
                end: *end,
                values,
            }
        }
        (Obj::Zset(z), Op::ZPop { max }) => {
            let mut pairs = z.pop(1, *max);
            pairs.truncate(1);
            out.array_len(3);
            out.bulk(key);
            for (m, s) in &pairs {
                out.bulk(m);
                out.double(*s);
            }
            Taken::Zset { key: src, pairs }
        }
        (Obj::Zset(z), Op::ZMpop { max, count }) => {
            let pairs = z.pop(*count, *max);
            out.array_len(2);
            out.bulk(key);
            out.array_len(pairs.len());
            for (m, s) in &pairs {
                out.array_len(2);
                out.bulk(m);
                out.double(*s);
            }
            Taken::Zset { key: src, pairs }
        }
        _ => return Err(Unserved::Skip),
    };
    if sh
        .get_mut(slot, key, now)
        .and_then(|e| e.obj())
        .is_some_and(Obj::is_empty)
    {
        sh.remove(slot, key, now);
    } else {
        sh.signal(key);
    }
    let mut ready = None;
    if let (Some(v), Some(d), Some(ds), Op::Move { from, to, .. }) = (moved, dst, dst_slot, op) {
        if let Some(sh) = g.shard(ds) {
            match sh.get_mut(ds, &d, now).and_then(Entry::obj_mut) {
                Some(Obj::List(l)) => {
                    l.push(*to, &v);
                    sh.signal(&d);
                }
                _ => {
                    let fill = node.config.current().thresholds.list_max_listpack_size;
                    let mut l = List::new(fill);
                    l.push(*to, &v);
                    sh.insert(ds, Entry::new_obj(&d, Obj::List(l), lru_clock(now)), now);
                }
            }
        }
        taken = Taken::Move {
            src: Bytes::copy_from_slice(key),
            from: *from,
            dst: d.clone(),
            to: *to,
            value: v,
        };
        ready = Some(d);
    }
    drop(g);
    node.stats.dirty(1);
    Ok(Some((ready, taken)))
}

/// Puts back what was served to a client that closed before receiving it, under the keys'
/// locks, as if it had never been popped; returns the key that has elements again.
fn put_back(node: &Node, db: usize, taken: Taken) -> Option<Bytes> {
    let database = node.keyspace.db(db)?;
    let now = crate::keyspace::now_ms();
    let th = node.config.current().thresholds;
    match taken {
        Taken::List { key, end, values } => {
            let slot = key_slot(&key);
            let mut sh = database.lock_slot(slot);
            let list = match sh.get_mut(slot, &key, now) {
                Some(e) => match e.obj_mut() {
                    Some(Obj::List(l)) => l,
                    _ => return None,
                },
                None => {
                    let l = Obj::List(List::new(th.list_max_listpack_size));
                    sh.insert(slot, Entry::new_obj(&key, l, lru_clock(now)), now);
                    match sh.get_mut(slot, &key, now).and_then(Entry::obj_mut) {
                        Some(Obj::List(l)) => l,
                        _ => return None,
                    }
                }
            };
            for v in values.iter().rev() {
                list.push(end, v);
            }
            sh.signal(&key);
            Some(key)
        }
        Taken::Move {
            src,
            from,
            dst,
            to,
            value,
        } => {
            let (ss, ds) = (key_slot(&src), key_slot(&dst));
            let mut g = database.lock_slots(&[ss, ds]);
            // Only when the value still sits where it was moved: another waiter may have
            // taken it from the destination, and then it reached a live client.
            let sh = g.shard(ds)?;
            let Some(Obj::List(l)) = sh.get_mut(ds, &dst, now).and_then(Entry::obj_mut) else {
                return None;
            };
            let at_end = match to {
                End::Left => l.iter().next(),
                End::Right => l.iter().next_back(),
            };
            if at_end.map(|e| e.to_vec()).as_deref() != Some(value.as_slice()) {
                return None;
            }
            l.pop(to);
            if l.is_empty() {
                sh.remove(ds, &dst, now);
            } else {
                sh.signal(&dst);
            }
            let sh = g.shard(ss)?;
            match sh.get_mut(ss, &src, now).and_then(Entry::obj_mut) {
                Some(Obj::List(l)) => l.push(from, &value),
                Some(_) => return None,
                None => {
                    let mut l = List::new(th.list_max_listpack_size);
                    l.push(from, &value);
                    sh.insert(ss, Entry::new_obj(&src, Obj::List(l), lru_clock(now)), now);
                }
            }
            sh.signal(&src);
            Some(src)
        }
        Taken::Zset { key, pairs } => {
            let slot = key_slot(&key);
            let mut sh = database.lock_slot(slot);
            let flags = AddFlags {
                nx: true,
                ..AddFlags::default()
            };
            match sh.get_mut(slot, &key, now).and_then(|e| e.obj_mut()) {
                Some(Obj::Zset(z)) => {
                    for (m, s) in &pairs {
                        let _ = z.add(m, *s, flags, &th);
                    }
                }
                Some(_) => return None,
                None => {
                    let mut z = Zset::new();
                    for (m, s) in &pairs {
                        let _ = z.add(m, *s, flags, &th);
                    }
                    sh.insert(
                        slot,
                        Entry::new_obj(&key, Obj::Zset(z), lru_clock(now)),
                        now,
                    );
                }
            }
            sh.signal(&key);
            Some(key)
        }
    }
}

/// The immediate attempt: the first key (in order) holding elements is served; a key of
/// the wrong type before that is WRONGTYPE, as blockingPopGenericCommand checks them.
fn try_now(ctx: &mut Ctx<'_, '_>, keys: &[Bytes], op: &Op) -> Result<Now, CmdError> {
    let db = ctx.sess.db;
    for key in keys {
        let slot = key_slot(key);
        {
            let mut sh = ctx.db().lock_slot(slot);
            match sh.get_mut(slot, key, ctx.now).map(|e| e.obj()) {
                None => continue,
                Some(Some(Obj::List(_))) if op.wants_list() => {}
                Some(Some(Obj::Zset(_))) if !op.wants_list() => {}
                Some(_) => return Err(CmdError::WRONG_TYPE),
            }
        }
        if let Op::Move { dst, .. } = op {
            let ds = key_slot(dst);
            let mut sh = ctx.db().lock_slot(ds);
            if sh
                .get_mut(ds, dst, ctx.now)
                .is_some_and(|e| !matches!(e.obj(), Some(Obj::List(_))))
            {
                return Err(CmdError::WRONG_TYPE);
            }
        }
        let yes = || true;
        if let Ok(Some((dst, _))) = pop_for(ctx.node, db, key, op, ctx.now, ctx.out, &yes) {
            return Ok(Now::Served(dst));
        }
    }
    Ok(Now::Nothing)
}

/// getTimeoutFromObjectOrReply in seconds: a (long double) float, not negative; the
/// absolute deadline in unix ms, 0 for none.
fn parse_timeout(arg: &[u8], now: u64) -> Result<u64, CmdError> {
    // string2ld decides what is a float (hex floats, inf included); the value itself fits a
    // double well enough here.
    let secs = match LongDouble::parse(arg) {
        Some(Parsed::Finite(v)) => v.to_f64(),
        Some(Parsed::Infinite) => f64::INFINITY,
        None => return Err(CmdError::msg("ERR timeout is not a float or out of range")),
    };
    // `(long long)(ftval * 1000.0)`: x86-64 turns a value out of the long long range (or
    // infinite) into LLONG_MIN, so Redis calls it negative.
    let ms = secs * 1000.0;
    let limit = i64::MAX as f64; // 2^63
    let ms = if (-limit..limit).contains(&ms) {
        ms as i64
    } else {
        i64::MIN
    };
    if ms < 0 {
        return Err(CmdError::msg("ERR timeout is negative"));
    }
    if ms == 0 {
        return Ok(0);
    }
    (ms as u64)
        .checked_add(now)
        .filter(|&d| d < i64::MAX as u64)
        .ok_or_else(|| CmdError::msg("ERR timeout is out of range"))
}

/// Runs a blocking command: serve now, or (outside MULTI/EXEC) block.
fn block_or_serve(ctx: &mut Ctx<'_, '_>, keys: &[Bytes], op: Op, deadline_ms: u64) -> CmdResult {
    match try_now(ctx, keys, &op)? {
        Now::Served(dst) => {
            if let Some(d) = dst {
                signal(ctx.node, ctx.sess.db, &d);
            }
            return Ok(());
        }
        Now::Nothing => {}
    }
    // EXEC runs queued commands without blocking (the MULTI flag of Redis's blocking code).
    if ctx.sess.in_exec {
        op.write_no_block(ctx.out);
        return Ok(());
    }
    let waiter = Arc::new(Waiter {
        client: ctx.sess.info.clone(),
        db: ctx.sess.db,
        keys: keys.to_vec(),
        op,
        proto: ctx.sess.proto,
        state: AtomicU8::new(WAITING),
        taken: Mutex::new(None),
        answer: AtomicU8::new(ANSWER_SERVED),
    });
    ctx.sess.info.blocked.store(true, Ordering::Relaxed);
    ctx.node.blocking.register(&waiter);
    let deadline = (deadline_ms != 0).then(|| {
        let left = deadline_ms.saturating_sub(ctx.now);
        tokio::time::Instant::now() + std::time::Duration::from_millis(left)
    });
    ctx.sess.blocked = Some(Blocked {
        waiter: waiter.clone(),
        deadline,
        call: None,
    });
    // Elements may have arrived between the attempt and the registration.
    for key in keys {
        signal(ctx.node, waiter.db, key);
    }
    Ok(())
}

/// After the connection woke: whether the blocked command is finished (its reply, pushed
/// by the serving command, was moved to `out`), so queued input may run again.
pub fn resume(node: &Node, sess: &mut Session, out: &mut BytesMut, timed_out: bool) -> bool {
    let Some(b) = &sess.blocked else {
        return false;
    };
    let w = b.waiter.clone();
    if timed_out
        && w.state
            .compare_exchange(WAITING, CANCELLED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    {
        node.blocking.unregister(&w);
        sess.info.blocked.store(false, Ordering::Relaxed);
        // replyToBlockedClientTimedOut: a null array for every kind, BLMOVE included.
        ReplyWriter::new(out, sess.proto).null_array();
        sess.blocked = None;
        return true;
    }
    if w.state.load(Ordering::Acquire) == DELIVERED {
        sess.info.blocked.store(false, Ordering::Relaxed);
        sess.info.move_pushes_into(out);
        let call = sess.blocked.take().and_then(|b| b.call);
        // updateStatsOnUnblock runs for a served call and for CLIENT UNBLOCK ... ERROR; a
        // timeout (the timer's, or CLIENT UNBLOCK's) adds nothing, as in 7.0.15: neither
        // statistics nor a slow log entry (a blocking call has none of its own).
        let answer = w.answer.load(Ordering::Relaxed);
        if let (Some(c), true) = (call, answer != ANSWER_UNCOUNTED) {
            let failed = answer == ANSWER_ERROR;
            cmdstats::record_unblocked(c.id, c.micros, failed);
            if c.slowlog {
                // 7.0.15 has freed the arguments of a call CLIENT UNBLOCK ... ERROR
                // answered: its entry lists none.
                let args = if failed { &[][..] } else { &c.args[..] };
                node.slowlog.record(c.micros, args, &sess.info);
            }
        }
        return true;
    }
    false
}

/// Releases the blocked clients `redirect` refuses, given the first key they wait on,
/// with its error as their reply (clusterRedirectBlockedClientIfNeeded, from the cluster
/// cron: the slot moved away or the cluster is down).
pub fn release_redirected(node: &Node, redirect: &dyn Fn(&[u8]) -> Option<String>) {
    if node.blocking.waiting.load(Ordering::Acquire) == 0 {
        return;
    }
    let mut seen = std::collections::HashSet::new();
    let all: Vec<Arc<Waiter>> = node
        .blocking
        .queues
        .lock()
        .values()
        .flatten()
        .filter(|w| seen.insert(Arc::as_ptr(w)))
        .cloned()
        .collect();
    for w in all {
        let Some(err) = w.keys.first().and_then(|k| redirect(k)) else {
            continue;
        };
        if w.state
            .compare_exchange(WAITING, CLAIMED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            node.blocking.unregister(&w);
            let mut buf = BytesMut::new();
            super::write_error(node, &mut ReplyWriter::new(&mut buf, w.proto), &err);
            w.client.push(&buf);
            w.answer.store(ANSWER_UNCOUNTED, Ordering::Relaxed);
            w.state.store(DELIVERED, Ordering::Release);
            w.client.push_notify.notify_one();
        }
    }
}

/// A disconnecting client stops waiting. If a command already served it and the reply
/// never reached it, what was popped goes back and the next waiter may have it.
pub fn disconnect(node: &Node, sess: &mut Session) {
    let Some(b) = sess.blocked.take() else {
        return;
    };
    let w = b.waiter;
    sess.info.blocked.store(false, Ordering::Relaxed);
    loop {
        match w
            .state
            .compare_exchange(WAITING, CANCELLED, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => {
                node.blocking.unregister(&w);
                return;
            }
            // A serving command holds the key's lock and is about to queue the reply.
            Err(CLAIMED) => std::thread::yield_now(),
            Err(DELIVERED) => {
                let taken = w.taken.lock().take();
                if let Some(key) = taken.and_then(|t| put_back(node, w.db, t)) {
                    signal(node, w.db, &key);
                }
                return;
            }
            Err(_) => return,
        }
    }
}

/// Serves the clients blocked on keys of `db` that now hold elements, after a command
/// replaced values wholesale (SWAPDB: scanDatabaseForReadyKeys).
pub fn signal_db(node: &Node, db: usize) {
    if node.blocking.waiting.load(Ordering::Acquire) == 0 {
        return;
    }
    let keys: Vec<Bytes> = node
        .blocking
        .queues
        .lock()
        .keys()
        .filter(|(d, _)| *d == db)
        .map(|(_, k)| k.clone())
        .collect();
    for key in keys {
        signal(node, db, &key);
    }
}

/// Makes `key` of `db` ready for its blocked clients (signalKeyAsReady), for commands
/// outside this module that put a list or sorted set there (MOVE, RENAME, COPY, RESTORE,
/// SORT ... STORE). Call it after releasing the key's lock.
pub fn signal_key_ready(node: &Node, db: usize, key: &[u8]) {
    signal(node, db, key);
}

/// CLIENT UNBLOCK id [TIMEOUT|ERROR]: ends a blocking command of another client with its
/// timeout reply or an -UNBLOCKED error; 1 when that client was blocked.
fn client_unblock(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let error = match args.get(3) {
        _ if args.len() > 4 => {
            return Err(CmdError::msg(format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
                String::from_utf8_lossy(&args[1])
            )))
        }
        None => false,
        Some(a) if a.eq_ignore_ascii_case(b"timeout") => false,
        Some(a) if a.eq_ignore_ascii_case(b"error") => true,
        Some(_) => {
            return Err(CmdError::msg(
                "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ))
        }
    };
    let id = parse_i64(&args[2])?;
    let node = ctx.node;
    let target = node
        .blocking
        .queues
        .lock()
        .values()
        .flatten()
        .find(|w| i64::try_from(w.client.id).is_ok_and(|c| c == id))
        .cloned();
    let done = target.is_some_and(|w| {
        if w.state
            .compare_exchange(WAITING, CLAIMED, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return false;
        }
        node.blocking.unregister(&w);
        let mut buf = BytesMut::new();
        let mut out = ReplyWriter::new(&mut buf, w.proto);
        if error {
            super::write_error(
                node,
                &mut out,
                "UNBLOCKED client unblocked via CLIENT UNBLOCK",
            );
        } else {
            out.null_array();
        }
        w.client.push(&buf);
        w.client.blocked.store(false, Ordering::Relaxed);
        let answer = if error {
            ANSWER_ERROR
        } else {
            ANSWER_UNCOUNTED
        };
        w.answer.store(answer, Ordering::Relaxed);
        w.state.store(DELIVERED, Ordering::Release);
        w.client.push_notify.notify_one();
        true
    });
    ctx.out.integer(i64::from(done));
    Ok(())
}

fn bpop(ctx: &mut Ctx<'_, '_>, args: &[Bytes], op: Op) -> CmdResult {
    let last = args.len() - 1;
    let deadline = parse_timeout(&args[last], ctx.now)?;
    block_or_serve(ctx, &args[1..last], op, deadline)
}

fn blpop(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    bpop(ctx, args, Op::Pop(End::Left))
}

fn brpop(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    bpop(ctx, args, Op::Pop(End::Right))
}

fn bzpopmin(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    bpop(ctx, args, Op::ZPop { max: false })
}

fn bzpopmax(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    bpop(ctx, args, Op::ZPop { max: true })
}

fn blmove(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let from = parse_end(&args[3])?;
    let to = parse_end(&args[4])?;
    let deadline = parse_timeout(&args[5], ctx.now)?;
    let op = Op::Move {
        dst: args[2].clone(),
        from,
        to,
    };
    block_or_serve(ctx, &args[1..2], op, deadline)
}

fn brpoplpush(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let deadline = parse_timeout(&args[3], ctx.now)?;
    let op = Op::Move {
        dst: args[2].clone(),
        from: End::Right,
        to: End::Left,
    };
    block_or_serve(ctx, &args[1..2], op, deadline)
}

/// BLMPOP / BZMPOP: `timeout numkeys key... where [COUNT n]` (lmpopGenericCommand and
/// zmpopGenericCommand order: timeout, numkeys, where, COUNT).
fn mpop_args(
    ctx: &Ctx<'_, '_>,
    args: &[Bytes],
    ends: [&[u8]; 2],
) -> Result<(u64, std::ops::Range<usize>, bool, usize), CmdError> {
    let deadline = parse_timeout(&args[1], ctx.now)?;
    let numkeys = parse_i64(&args[2])
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| CmdError::msg("ERR numkeys should be greater than 0"))?;
    let where_idx = usize::try_from(numkeys)
        .ok()
        .and_then(|n| n.checked_add(3))
        .ok_or(CmdError::SYNTAX)?;
    let second = match args.get(where_idx) {
        Some(w) if w.eq_ignore_ascii_case(ends[0]) => false,
        Some(w) if w.eq_ignore_ascii_case(ends[1]) => true,
        _ => return Err(CmdError::SYNTAX),
    };
    let count = mpop_count(args, where_idx + 1)?;
    Ok((deadline, 3..where_idx, second, count))
}

fn blmpop(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let (deadline, keys, right, count) = mpop_args(ctx, args, [b"left", b"right"])?;
    let end = if right { End::Right } else { End::Left };
    block_or_serve(ctx, &args[keys], Op::ListMpop { end, count }, deadline)
}

fn bzmpop(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let (deadline, keys, max, count) = mpop_args(ctx, args, [b"min", b"max"])?;
    block_or_serve(ctx, &args[keys], Op::ZMpop { max, count }, deadline)
}
