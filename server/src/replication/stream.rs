//! What goes into the replication stream for a command: Redis's propagation rewrites
//! (relative expiries as absolute ones, random or result-dependent effects as the
//! deterministic commands that reproduce them) and RESP encoding.

use std::cell::{Cell, RefCell};

use bytes::{Bytes, BytesMut};
use resp_proto::{decode_frame, Frame, Limits};

use crate::keyspace::key_slot;
use crate::node::Node;

thread_local! {
    /// Keyspace changes counted on this thread (handlers run synchronously on one thread,
    /// so the difference around a handler is that command's `dirty`).
    static DIRTY: Cell<u64> = const { Cell::new(0) };
    /// Set while the replica applies its master's stream: nothing is propagated from it
    /// (the bytes are proxied as received) and replica-only refusals do not apply.
    static MASTER_APPLY: Cell<bool> = const { Cell::new(false) };
    /// The master asked for an acknowledgement (REPLCONF GETACK) in the batch being applied.
    static ACK_REQUESTED: Cell<bool> = const { Cell::new(false) };
    /// Commands to propagate after the running one (blocked clients it served).
    static ALSO: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
    /// Commands collected while EXEC runs, propagated together wrapped in MULTI/EXEC.
    static COLLECT: RefCell<Option<Vec<Entry>>> = const { RefCell::new(None) };
    /// Deletions of expired keys found by the running write command (Some while one runs
    /// under its order locks), propagated before its own entry, wrapped together.
    static DEFERRED: RefCell<Option<Vec<Entry>>> = const { RefCell::new(None) };
}

/// Starts deferring expiry deletions for the write command about to run.
pub(crate) fn defer_begin() {
    DEFERRED.with(|d| *d.borrow_mut() = Some(Vec::new()));
}

/// Defers `cmds` if a write command runs; gives them back otherwise.
pub(crate) fn defer(cmds: Vec<Entry>) -> Option<Vec<Entry>> {
    DEFERRED.with(|d| match d.borrow_mut().as_mut() {
        Some(v) => {
            v.extend(cmds);
            None
        }
        None => Some(cmds),
    })
}

/// Stops deferring, returning what was deferred.
pub(crate) fn defer_end() -> Vec<Entry> {
    DEFERRED.with(|d| d.borrow_mut().take().unwrap_or_default())
}

/// A stream entry: a command and the database it runs in (None: any).
pub type Entry = (Option<usize>, Vec<Bytes>);

/// Counts keyspace changes made on this thread (called by `Stats::dirty`).
pub fn note_dirty(n: u64) {
    DIRTY.with(|d| d.set(d.get().wrapping_add(n)));
}

/// The thread's change counter.
pub(crate) fn dirty_mark() -> u64 {
    DIRTY.with(Cell::get)
}

/// Whether the current command comes from our master.
pub fn is_master_client() -> bool {
    MASTER_APPLY.with(Cell::get)
}

pub(crate) fn set_master_apply(on: bool) {
    MASTER_APPLY.with(|c| c.set(on));
}

pub(crate) fn request_ack() {
    ACK_REQUESTED.with(|c| c.set(true));
}

pub(crate) fn take_ack_request() -> bool {
    ACK_REQUESTED.with(|c| c.replace(false))
}

/// Queues commands to propagate after the running command's own.
pub(crate) fn also(cmds: Vec<Entry>) {
    ALSO.with(|a| a.borrow_mut().extend(cmds));
}

/// Takes the commands queued by [`also`].
pub(crate) fn take_also() -> Vec<Entry> {
    ALSO.with(|a| std::mem::take(&mut *a.borrow_mut()))
}

/// Starts collecting the commands of a transaction; false if already collecting.
pub(crate) fn collect_begin() -> bool {
    COLLECT.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_some() {
            return false;
        }
        *c = Some(Vec::new());
        true
    })
}

/// Whether a transaction is being collected on this thread.
pub(crate) fn collecting() -> bool {
    COLLECT.with(|c| c.borrow().is_some())
}

/// Adds commands to the transaction being collected.
pub(crate) fn collect(cmds: Vec<Entry>) {
    COLLECT.with(|c| {
        if let Some(v) = c.borrow_mut().as_mut() {
            v.extend(cmds);
        }
    });
}

/// Ends collection, returning the commands.
pub(crate) fn collect_end() -> Vec<Entry> {
    COLLECT.with(|c| c.borrow_mut().take().unwrap_or_default())
}

thread_local! {
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's reusable encoding buffer (emptied first).
pub(crate) fn with_scratch<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    SCRATCH.with(|s| match s.try_borrow_mut() {
        Ok(mut buf) => {
            buf.clear();
            let r = f(&mut buf);
            if buf.capacity() > 1 << 20 {
                *buf = Vec::new();
            }
            r
        }
        Err(_) => f(&mut Vec::new()),
    })
}

fn b(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

fn num(n: impl ToString) -> Bytes {
    Bytes::from(n.to_string())
}

/// The reply the handler wrote, decoded (None when absent or not one whole frame).
fn reply_frame(reply: &[u8]) -> Option<Frame> {
    let mut buf = BytesMut::from(reply);
    decode_frame(&mut buf, &Limits::default()).ok().flatten()
}

fn frame_bytes(f: &Frame) -> Option<Bytes> {
    match f {
        Frame::Bulk(b) | Frame::SimpleString(b) => Some(b.clone()),
        _ => None,
    }
}

fn frame_items(f: Frame) -> Vec<Frame> {
    match f {
        Frame::Array(v) | Frame::Set(v) | Frame::Push(v) => v,
        _ => Vec::new(),
    }
}

/// The key's absolute expiry after the command ran: None if the key is gone, Some(0) if it
/// has no TTL.
fn expiry_of(node: &Node, db: usize, key: &[u8], now: u64) -> Option<u64> {
    let slot = key_slot(key);
    let mut shard = node.db(db).lock_slot(slot);
    shard.get_mut(slot, key, now).map(|e| e.expire_at())
}

fn has_option(args: &[Bytes], from: usize, names: &[&str]) -> bool {
    args.iter()
        .skip(from)
        .any(|a| names.iter().any(|n| a.eq_ignore_ascii_case(n.as_bytes())))
}

/// How a command may reach replicas as other commands than the one sent. The command table
/// holds each command's form (decided once from its name), so propagating a write compares
/// no names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaForm {
    /// EXPIRE, PEXPIRE, EXPIREAT: PEXPIREAT at the absolute time, or DEL once expired.
    Expire,
    /// GETEX: PERSIST, or an absolute expiry.
    GetEx,
    /// SET with EX, PX or EXAT: SET ... PXAT.
    Set,
    /// SETEX, PSETEX: SET ... PXAT.
    SetEx,
    /// INCRBYFLOAT: SET key result KEEPTTL.
    IncrByFloat,
    /// HINCRBYFLOAT: HSET key field result.
    HIncrByFloat,
    /// SPOP: SREM of the popped members.
    SPop,
    /// BLPOP, BRPOP, BZPOPMIN, BZPOPMAX: the non-blocking pop (its name).
    BlockingPop(&'static str),
    /// BLMPOP or BZMPOP: the pop in the direction asked, with the count served.
    BlockingMPop {
        /// BLMPOP (a list pop) rather than BZMPOP.
        list: bool,
    },
    /// BRPOPLPUSH: RPOPLPUSH.
    BRPopLPush,
    /// BLMOVE: LMOVE.
    BLMove,
}

impl ReplicaForm {
    /// The form of the command named `name` (lower case), if it has one.
    pub fn of(name: &str) -> Option<ReplicaForm> {
        Some(match name {
            "expire" | "pexpire" | "expireat" => ReplicaForm::Expire,
            "getex" => ReplicaForm::GetEx,
            "set" => ReplicaForm::Set,
            "setex" | "psetex" => ReplicaForm::SetEx,
            "incrbyfloat" => ReplicaForm::IncrByFloat,
            "hincrbyfloat" => ReplicaForm::HIncrByFloat,
            "spop" => ReplicaForm::SPop,
            "blpop" => ReplicaForm::BlockingPop("LPOP"),
            "brpop" => ReplicaForm::BlockingPop("RPOP"),
            "bzpopmin" => ReplicaForm::BlockingPop("ZPOPMIN"),
            "bzpopmax" => ReplicaForm::BlockingPop("ZPOPMAX"),
            "blmpop" => ReplicaForm::BlockingMPop { list: true },
            "bzmpop" => ReplicaForm::BlockingMPop { list: false },
            "brpoplpush" => ReplicaForm::BRPopLPush,
            "blmove" => ReplicaForm::BLMove,
            _ => return None,
        })
    }

    /// Whether a call with `argc` arguments (name included) may be rewritten: SET only
    /// with options.
    pub fn may_apply(self, argc: usize) -> bool {
        self != ReplicaForm::Set || argc > 3
    }
}

/// The commands that reproduce, on a replica, what `args` did here (`form`: the command's
/// [`ReplicaForm`]; without one, `args` themselves). `reply` is the reply the handler wrote
/// (the popped elements of SPOP and the blocking pops, INCRBYFLOAT's result).
pub fn rewrite(
    node: &Node,
    db: usize,
    form: Option<ReplicaForm>,
    args: &[Bytes],
    reply: &[u8],
    now: u64,
) -> Vec<Vec<Bytes>> {
    let Some(form) = form else {
        return vec![args.to_vec()];
    };
    let key = args.get(1).cloned().unwrap_or_default();
    let expiry_cmd = |fallback: Vec<Bytes>| -> Vec<Vec<Bytes>> {
        match expiry_of(node, db, &key, now) {
            None => vec![vec![b("DEL"), key.clone()]],
            Some(0) => vec![fallback],
            Some(at) => vec![vec![b("PEXPIREAT"), key.clone(), num(at)]],
        }
    };
    match form {
        ReplicaForm::Expire => expiry_cmd(args.to_vec()),
        ReplicaForm::GetEx => {
            if has_option(args, 2, &["persist"]) {
                vec![vec![b("PERSIST"), key]]
            } else if has_option(args, 2, &["ex", "px", "exat", "pxat"]) {
                expiry_cmd(args.to_vec())
            } else {
                Vec::new()
            }
        }
        ReplicaForm::Set if has_option(args, 3, &["ex", "px", "exat"]) => {
            set_pxat(node, db, &key, args.get(2), now, args)
        }
        ReplicaForm::Set => vec![args.to_vec()],
        ReplicaForm::SetEx => set_pxat(node, db, &key, args.get(3), now, args),
        ReplicaForm::IncrByFloat => match reply_frame(reply).as_ref().and_then(frame_bytes) {
            Some(v) => vec![vec![b("SET"), key, v, b("KEEPTTL")]],
            None => Vec::new(),
        },
        ReplicaForm::HIncrByFloat => match (
            reply_frame(reply).as_ref().and_then(frame_bytes),
            args.get(2),
        ) {
            (Some(v), Some(field)) => vec![vec![b("HSET"), key, field.clone(), v]],
            _ => Vec::new(),
        },
        ReplicaForm::SPop => {
            let members: Vec<Bytes> = match reply_frame(reply) {
                Some(Frame::Bulk(m)) => vec![m],
                Some(f) => frame_items(f).iter().filter_map(frame_bytes).collect(),
                None => Vec::new(),
            };
            if members.is_empty() {
                return Vec::new();
            }
            let mut cmd = vec![b("SREM"), key];
            cmd.extend(members);
            vec![cmd]
        }
        ReplicaForm::BlockingPop(pop) => {
            let served = reply_frame(reply)
                .map(frame_items)
                .and_then(|v| v.first().and_then(frame_bytes));
            served.map_or_else(Vec::new, |k| vec![vec![b(pop), k]])
        }
        ReplicaForm::BlockingMPop { list } => {
            let items = reply_frame(reply).map(frame_items).unwrap_or_default();
            let (Some(k), Some(popped)) = (items.first().and_then(frame_bytes), items.get(1))
            else {
                return Vec::new();
            };
            let count = match popped {
                Frame::Array(v) => v.len(),
                _ => 1,
            };
            // The direction follows the numkeys keys.
            let numkeys = args
                .get(2)
                .and_then(|n| std::str::from_utf8(n).ok())
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(1);
            let left = args
                .get(numkeys.saturating_add(3))
                .is_some_and(|d| d.eq_ignore_ascii_case(b"left") || d.eq_ignore_ascii_case(b"min"));
            let pop = match (list, left) {
                (true, true) => "LPOP",
                (true, false) => "RPOP",
                (false, true) => "ZPOPMIN",
                (false, false) => "ZPOPMAX",
            };
            vec![vec![b(pop), k, num(count)]]
        }
        ReplicaForm::BRPopLPush => match (args.get(1), args.get(2)) {
            (Some(s), Some(d)) => vec![vec![b("RPOPLPUSH"), s.clone(), d.clone()]],
            _ => Vec::new(),
        },
        ReplicaForm::BLMove => {
            let mut cmd = vec![b("LMOVE")];
            cmd.extend(args.iter().skip(1).take(4).cloned());
            vec![cmd]
        }
    }
}

/// SET with a relative (or seconds) expiry becomes `SET key value PXAT ms`, as 7.0 sends.
fn set_pxat(
    node: &Node,
    db: usize,
    key: &Bytes,
    value: Option<&Bytes>,
    now: u64,
    args: &[Bytes],
) -> Vec<Vec<Bytes>> {
    let Some(value) = value else {
        return vec![args.to_vec()];
    };
    match expiry_of(node, db, key, now) {
        Some(at) if at > 0 => vec![vec![
            b("SET"),
            key.clone(),
            value.clone(),
            b("PXAT"),
            num(at),
        ]],
        Some(_) => vec![args.to_vec()],
        None => vec![vec![b("DEL"), key.clone()]],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replica_forms_follow_the_command_and_its_arguments() {
        assert_eq!(ReplicaForm::of("get"), None);
        assert_eq!(ReplicaForm::of("pexpireat"), None);
        assert_eq!(
            ReplicaForm::of("brpop"),
            Some(ReplicaForm::BlockingPop("RPOP"))
        );
        assert_eq!(
            ReplicaForm::of("bzmpop"),
            Some(ReplicaForm::BlockingMPop { list: false })
        );
        // SET k v goes as it came; SET k v EX 10 may become SET k v PXAT.
        assert!(!ReplicaForm::Set.may_apply(3));
        assert!(ReplicaForm::Set.may_apply(5));
        assert!(ReplicaForm::Expire.may_apply(3));
    }

    #[test]
    fn dirty_counter_is_per_thread() {
        let start = dirty_mark();
        note_dirty(3);
        assert_eq!(dirty_mark() - start, 3);
        let other = std::thread::spawn(dirty_mark).join().unwrap_or(u64::MAX);
        assert_eq!(other, 0);
    }
}
