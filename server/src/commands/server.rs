//! Server commands: TIME, LASTSAVE, INFO, COMMAND, DEBUG, MEMORY, SLOWLOG, LATENCY,
//! SWAPDB, CONFIG, SHUTDOWN.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use cluster_core::Request;
use parking_lot::Mutex;
use resp_proto::{Frame, Protocol};

use super::keys::reply_help;
use super::numbers::{parse_f64, parse_i64};
use super::session::Session;
use super::strings::{as_str, check_len};
use super::{help_data, CmdError, CmdResult, Ctx, Handler};
use crate::keyspace::{key_slot, lru_clock, Entry, StrEncoding, StrRef, Value};
use crate::node::Node;

pub(super) fn handler(name: &str) -> Option<Handler> {
    Some(match name {
        "time" => time,
        "lastsave" => lastsave,
        "info" => info,
        "command" => command,
        "command|count" => command_count,
        "command|info" => command_info,
        "command|docs" => command_docs,
        "command|list" => command_list,
        "command|getkeys" => command_getkeys,
        "command|help" => |ctx, args| reply_help(ctx, args, help_data::COMMAND),
        "debug" => debug,
        "memory|usage" => memory_usage,
        "memory|help" => |ctx, args| reply_help(ctx, args, help_data::MEMORY),
        "slowlog|get" => slowlog_get,
        "slowlog|len" => slowlog_len,
        "slowlog|reset" => slowlog_reset,
        "slowlog|help" => |ctx, args| reply_help(ctx, args, help_data::SLOWLOG),
        "swapdb" => swapdb,
        "config|get" | "config|set" | "config|resetstat" | "config|rewrite" | "config|help" => {
            config
        }
        "shutdown" => shutdown,
        _ => return None,
    })
}

fn eq(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

fn time(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CmdResult {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    ctx.out.array_len(2);
    ctx.out
        .bulk(itoa::Buffer::new().format(now.as_secs()).as_bytes());
    ctx.out
        .bulk(itoa::Buffer::new().format(now.subsec_micros()).as_bytes());
    Ok(())
}

fn lastsave(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CmdResult {
    let t = ctx.node.lastsave.load(std::sync::atomic::Ordering::Relaxed);
    ctx.out.integer(t as i64);
    Ok(())
}

fn info(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let text = crate::info::render(ctx.node, &args[1..]);
    ctx.out.verbatim(b"txt", text.as_bytes());
    Ok(())
}

fn info_bytes(ctx: &Ctx<'_, '_>, d: &super::table::CommandData) -> &'static [u8] {
    if ctx.out.protocol() == Protocol::Resp3 {
        d.info_resp3
    } else {
        d.info_resp2
    }
}

fn command(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CmdResult {
    let all: Vec<_> = ctx.node.commands.all().collect();
    ctx.out.array_len(all.len());
    for d in all {
        let b = info_bytes(ctx, d);
        ctx.out.buffer().extend_from_slice(b);
    }
    Ok(())
}

fn command_count(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CmdResult {
    ctx.out.integer(ctx.node.commands.len() as i64);
    Ok(())
}

fn command_info(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    if args.len() == 2 {
        return command(ctx, args);
    }
    ctx.out.array_len(args.len() - 2);
    for name in &args[2..] {
        match ctx.node.commands.get(name).and_then(|c| c.data) {
            Some(d) => {
                let b = info_bytes(ctx, d);
                ctx.out.buffer().extend_from_slice(b);
            }
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn command_docs(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let list: Vec<&'static super::table::CommandData> = if args.len() == 2 {
        ctx.node.commands.all().collect()
    } else {
        args[2..]
            .iter()
            .filter_map(|n| ctx.node.commands.get(n).and_then(|c| c.data))
            .collect()
    };
    ctx.out.map_len(list.len());
    let resp3 = ctx.out.protocol() == Protocol::Resp3;
    for d in list {
        ctx.out.bulk(d.name.as_bytes());
        ctx.out
            .buffer()
            .extend_from_slice(if resp3 { d.docs_resp3 } else { d.docs_resp2 });
    }
    Ok(())
}

/// Every command COMMAND LIST shows, with its ACL categories: each command followed by its
/// subcommands (7.0.15 lists `config|get` too), as the captured COMMAND INFO entries hold
/// them (CLUSTER's subcommands included).
fn listed_commands(ctx: &Ctx<'_, '_>) -> Vec<(Bytes, Vec<Bytes>)> {
    fn entry(f: &Frame, out: &mut Vec<(Bytes, Vec<Bytes>)>) {
        let Frame::Array(items) = f else {
            return;
        };
        let Some(Frame::Bulk(name)) = items.first() else {
            return;
        };
        let acl = match items.get(6) {
            Some(Frame::Array(cats)) => cats
                .iter()
                .filter_map(|c| match c {
                    Frame::SimpleString(c) => Some(c.clone()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        out.push((name.clone(), acl));
        if let Some(Frame::Array(subs)) = items.get(9) {
            for sub in subs {
                entry(sub, out);
            }
        }
    }
    let mut out = Vec::new();
    for d in ctx.node.commands.all() {
        if let Some(f) = captured_info(d) {
            entry(&f, &mut out);
        }
    }
    out
}

/// A command's COMMAND INFO entry as captured from redis-server 7.0.15, decoded.
fn captured_info(d: &super::table::CommandData) -> Option<Frame> {
    let mut buf = bytes::BytesMut::from(d.info_resp2);
    resp_proto::decode_frame(&mut buf, &resp_proto::Limits::default())
        .ok()
        .flatten()
}

/// Whether an entry's key specs are all flagged `not_key` (the shard channel commands):
/// such a command has no keys for COMMAND GETKEYS (doesCommandHaveKeys), though the
/// cluster routes it by its channel.
fn only_not_key_specs(info: &Frame) -> bool {
    let Frame::Array(items) = info else {
        return false;
    };
    let Some(Frame::Array(specs)) = items.get(8) else {
        return false;
    };
    let not_key = |spec: &Frame| {
        let Frame::Array(fields) = spec else {
            return false;
        };
        fields.chunks_exact(2).any(|kv| match kv {
            [Frame::Bulk(k), Frame::Array(flags)] if &k[..] == b"flags" => flags
                .iter()
                .any(|f| matches!(f, Frame::SimpleString(s) if &s[..] == b"not_key")),
            _ => false,
        })
    };
    !specs.is_empty() && specs.iter().all(not_key)
}

/// For a container this node parses itself (CLUSTER): whether its entry lists subcommand
/// `sub`; None when the entry lists no subcommands.
fn lists_subcommand(info: &Frame, sub: &[u8]) -> Option<bool> {
    let Frame::Array(items) = info else {
        return None;
    };
    let Some(Frame::Array(subs)) = items.get(9) else {
        return None;
    };
    if subs.is_empty() {
        return None;
    }
    Some(subs.iter().any(|e| {
        match e {
            Frame::Array(fields) => match fields.first() {
                Some(Frame::Bulk(full)) => full
                    .iter()
                    .position(|&b| b == b'|')
                    .and_then(|at| full.get(at + 1..))
                    .is_some_and(|name| name.eq_ignore_ascii_case(sub)),
                _ => false,
            },
            _ => false,
        }
    }))
}

fn command_list(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let all = listed_commands(ctx);
    let names: Vec<&Bytes> = if args.len() == 2 {
        all.iter().map(|(n, _)| n).collect()
    } else if args.len() == 5 && eq(&args[2], "filterby") {
        let (kind, val) = (&args[3], &args[4]);
        if eq(kind, "module") {
            Vec::new()
        } else if eq(kind, "aclcat") {
            let mut cat = b"@".to_vec();
            cat.extend_from_slice(val);
            all.iter()
                .filter(|(_, acl)| acl.iter().any(|c| c.eq_ignore_ascii_case(&cat)))
                .map(|(n, _)| n)
                .collect()
        } else if eq(kind, "pattern") {
            all.iter()
                .filter(|(n, _)| crate::keyspace::string_match(val, n, true))
                .map(|(n, _)| n)
                .collect()
        } else {
            return Err(CmdError::SYNTAX);
        }
    } else {
        return Err(CmdError::SYNTAX);
    };
    ctx.out.array_len(names.len());
    for n in names {
        ctx.out.bulk(n);
    }
    Ok(())
}

/// The key arguments of `args` (a whole command) as COMMAND GETKEYS and cluster routing see
/// them: key specs, or the numkeys and MIGRATE KEYS forms.
fn key_positions(cmd: &super::Command, args: &[Bytes]) -> Option<Vec<usize>> {
    if cmd.name == "migrate" {
        return Some(super::migrate::keys(args));
    }
    super::movable_keys(cmd.name, args)
        .or_else(|| (cmd.keys.first != 0).then(|| cmd.keys.key_indices(args.len()).collect()))
}

fn command_getkeys(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let inner = &args[2..];
    let invalid = || CmdError::msg("ERR Invalid command specified");
    // lookupCommand: a container's subcommand when one is given, else the container.
    let mut cmd = ctx.node.commands.get(&inner[0]).ok_or_else(invalid)?;
    let info = cmd.data.and_then(captured_info);
    if let Some(sub) = inner.get(1) {
        if !cmd.subcommands.is_empty() {
            cmd = super::table::subcommand(cmd, sub).ok_or_else(invalid)?;
        } else if info.as_ref().and_then(|i| lists_subcommand(i, sub)) == Some(false) {
            return Err(invalid());
        }
    }
    // Which positions hold keys is known before the arity check, as in Redis.
    let no_keys = || CmdError::msg("ERR The command has no key arguments");
    if cmd.data.is_some() && info.as_ref().is_some_and(only_not_key_specs) {
        return Err(no_keys());
    }
    let idx = key_positions(cmd, inner).ok_or_else(no_keys)?;
    if !cmd.arity_ok(inner.len()) {
        return Err(CmdError::msg(
            "ERR Invalid number of arguments specified for command",
        ));
    }
    if idx.is_empty() {
        return Err(CmdError::msg("ERR Invalid arguments specified for command"));
    }
    ctx.out.array_len(idx.len());
    for i in idx {
        ctx.out.bulk(inner.get(i).map_or(&b""[..], |k| k));
    }
    Ok(())
}

/// The refusal text when `enable-debug-command` does not allow DEBUG.
pub(super) const DEBUG_NOT_ALLOWED: &str = "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";

/// Whether DEBUG may run for this client.
pub(super) fn debug_allowed(node: &Node, sess: &Session) -> bool {
    let local = crate::config::is_local_peer(sess.info.addr.ip());
    node.config.current().enable_debug_command.allows(local)
}

/// Redis's mixDigest: xor in the data's hash, then hash the digest itself.
fn mix_digest(digest: &mut [u8; 20], data: &[u8]) {
    xor_digest(digest, data);
    *digest = sha1_smol::Sha1::from(&digest[..]).digest().bytes();
}

fn xor_digest(digest: &mut [u8; 20], data: &[u8]) {
    let hash = sha1_smol::Sha1::from(data).digest().bytes();
    for (d, h) in digest.iter_mut().zip(hash) {
        *d ^= h;
    }
}

/// xorObjectDigest for one value.
fn object_digest(e: &Entry, digest: &mut [u8; 20]) {
    match e.value() {
        Value::Str(s) => {
            mix_digest(digest, &0u32.to_be_bytes());
            mix_digest(digest, &s.to_vec());
        }
        Value::Obj(o) => super::types_common::object_digest(o, digest, mix_digest, xor_digest),
    }
    if e.expire_at() != 0 {
        xor_digest(digest, b"!!expire!!");
    }
}

fn hex(d: &[u8; 20]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn dataset_digest(node: &Node) -> [u8; 20] {
    let mut fin = [0u8; 20];
    for (j, db) in node.keyspace.dbs().iter().enumerate() {
        if !db.is_initialized() || db.is_empty() {
            continue;
        }
        mix_digest(&mut fin, &(j as u32).to_be_bytes());
        for shard in db.shards() {
            let s = shard.lock();
            for (_, t) in s.slot_tables(0) {
                for e in t.iter() {
                    let mut d = [0u8; 20];
                    mix_digest(&mut d, e.key());
                    object_digest(e, &mut d);
                    xor_digest(&mut fin, &d);
                }
            }
        }
    }
    fin
}

fn debug(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    if eq(&args[1], "reload") {
        return debug_reload(ctx, &args[2..]);
    }
    if eq(&args[1], "help") && args.len() == 2 {
        return reply_help(ctx, args, help_data::DEBUG);
    }
    // DEBUG is left to take the world lock itself because RELOAD needs it exclusively; the
    // other subcommands hold it shared, as every command does (inside EXEC it is held).
    let node = ctx.node;
    let _world = (!ctx.sess.in_exec).then(|| node.keyspace.world.read(ctx.sess.id));
    debug_subcommand(ctx, args)
}

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save `dir/dbfilename`, empty the keyspace and
/// load the file back, all while no other command runs.
fn debug_reload(ctx: &mut Ctx<'_, '_>, opts: &[Bytes]) -> CmdResult {
    let (mut merge, mut flush, mut save) = (false, true, true);
    for o in opts {
        if eq(o, "merge") {
            merge = true;
        } else if eq(o, "noflush") {
            flush = false;
        } else if eq(o, "nosave") {
            save = false;
        } else {
            return Err(CmdError::msg(
                "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.",
            ));
        }
    }
    let node = ctx.node;
    let _world = (!ctx.sess.in_exec).then(|| node.keyspace.world.write());
    if save && node.persistence.save(node, true).is_err() {
        return Err(CmdError::msg("ERR"));
    }
    if flush {
        for db in node.keyspace.dbs() {
            db.clear(ctx.now);
        }
    }
    // Redis kills itself on a key the file shares with a kept (NOFLUSH) keyspace unless
    // MERGE; here that is the load error below, with the keys read so far kept.
    match crate::rdb::load::load_file(node, merge) {
        Ok(Some(_)) => {
            tracing::warn!("DB reloaded by DEBUG RELOAD");
            ctx.out.ok();
            Ok(())
        }
        Ok(None) => Err(CmdError::msg("ERR Error trying to load the RDB dump")),
        Err(e) => {
            tracing::warn!("Error loading the RDB for DEBUG RELOAD: {e}");
            Err(CmdError::msg("ERR Error trying to load the RDB dump"))
        }
    }
}

fn debug_subcommand(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let sub = &args[1];
    if eq(sub, "sleep") && args.len() >= 3 {
        let secs = parse_f64(&args[2]).unwrap_or(0.0).max(0.0);
        std::thread::sleep(Duration::from_secs_f64(secs.min(3600.0)));
        ctx.out.ok();
    } else if eq(sub, "set-active-expire") && args.len() == 3 {
        let on = parse_i64(&args[2])? != 0;
        ctx.node
            .active_expire
            .store(on, std::sync::atomic::Ordering::Relaxed);
        ctx.out.ok();
    } else if eq(sub, "populate") && (3..=5).contains(&args.len()) {
        let count = parse_i64(&args[2])?;
        if count < 0 {
            return Err(CmdError::msg("ERR value is out of range, must be positive"));
        }
        let prefix: &[u8] = args.get(3).map_or(b"key", |p| p);
        let size = match args.get(4) {
            Some(s) => {
                let n = parse_i64(s)?;
                if n < 0 {
                    return Err(CmdError::msg("ERR value is out of range, must be positive"));
                }
                // Redis would attempt the allocation and abort; a value no client could
                // have written is refused instead.
                check_len(ctx, n as u64)?;
                Some(n as usize)
            }
            None => None,
        };
        let lru = lru_clock(ctx.now);
        for i in 0..count {
            let mut key = prefix.to_vec();
            key.push(b':');
            key.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
            let slot = key_slot(&key);
            let mut shard = ctx.node.db(ctx.sess.db).lock_slot(slot);
            if shard.contains(slot, &key, ctx.now) {
                continue;
            }
            let mut val = b"value:".to_vec();
            val.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
            if let Some(size) = size {
                val.resize(size, 0);
            }
            shard.insert(
                slot,
                Entry::new_str(&key, &val, StrEncoding::ByLength, lru),
                ctx.now,
            );
        }
        ctx.out.ok();
    } else if eq(sub, "digest") && args.len() == 2 {
        let d = dataset_digest(ctx.node);
        ctx.out.simple(hex(&d).as_bytes());
    } else if eq(sub, "digest-value") && args.len() >= 2 {
        ctx.out.array_len(args.len() - 2);
        for key in &args[2..] {
            let slot = key_slot(key);
            let mut d = [0u8; 20];
            let mut shard = ctx.db().lock_slot(slot);
            if let Some(e) = shard.get_mut(slot, key, ctx.now) {
                object_digest(e, &mut d);
            }
            drop(shard);
            ctx.out.simple(hex(&d).as_bytes());
        }
    } else if eq(sub, "object") && args.len() == 3 {
        let key = &args[2];
        let slot = key_slot(key);
        let mut shard = ctx.db().lock_slot(slot);
        let Some(e) = shard.get_mut(slot, key, ctx.now) else {
            return Err(CmdError::NO_SUCH_KEY);
        };
        let len = match as_str(e)? {
            StrRef::Int(_) => 0,
            StrRef::Bytes(b) => b.len(),
        };
        let idle = lru_clock(ctx.now).wrapping_sub(e.lru());
        let text = format!(
            "Value at:0x0 refcount:{} encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
            e.refcount(),
            e.encoding(),
            len + 1,
            e.lru(),
            idle
        );
        drop(shard);
        ctx.out.simple(text.as_bytes());
    } else if eq(sub, "log") && args.len() == 3 {
        tracing::warn!("DEBUG LOG: {}", String::from_utf8_lossy(&args[2]));
        ctx.out.ok();
    } else if eq(sub, "error") && args.len() == 3 {
        // Written as given, as 7.0.15 does: no ERR added, not an error reply of the stats.
        ctx.out.error(&args[2]);
    } else if eq(sub, "change-repl-id") && args.len() == 2 {
        *ctx.node.replid.lock() = (0..40)
            .map(|_| char::from(b"0123456789abcdef"[fastrand::usize(..16)]))
            .collect();
        ctx.out.ok();
    } else if eq(sub, "protocol") && args.len() == 3 {
        debug_protocol(ctx, &args[2])?;
    } else if eq(sub, "drop-cluster-packet-filter") && args.len() == 3 {
        // Redis stores the type in an `int`: a wider value is truncated as C does.
        let packet_type = parse_i64(&args[2])? as i32;
        crate::cluster::debug(ctx, Request::DebugDropPacketFilter(packet_type))?;
    } else if eq(sub, "clusterlink") && args.len() == 5 && eq(&args[2], "kill") {
        let req = Request::DebugKillLinks {
            node: args[4].to_vec(),
            direction: args[3].to_vec(),
        };
        crate::cluster::debug(ctx, req)?;
    } else {
        return Err(CmdError::msg(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
            String::from_utf8_lossy(sub),
            String::from_utf8_lossy(&args[0]).to_ascii_uppercase()
        )));
    }
    Ok(())
}

fn debug_protocol(ctx: &mut Ctx<'_, '_>, name: &[u8]) -> CmdResult {
    let out = &mut *ctx.out;
    let resp3 = out.protocol() == Protocol::Resp3;
    match name.to_ascii_lowercase().as_slice() {
        b"string" => out.bulk(b"Hello World"),
        b"integer" => out.integer(12345),
        #[allow(clippy::approx_constant)]
        b"double" => out.double(3.141),
        b"bignum" => out.big_number(b"1234567999999999999999999999999999999"),
        b"null" => out.null(),
        b"array" => {
            out.array_len(3);
            for i in 0..3 {
                out.integer(i);
            }
        }
        b"set" => {
            out.set_len(3);
            for i in 0..3 {
                out.integer(i);
            }
        }
        b"map" => {
            out.map_len(3);
            for i in 0..3 {
                out.integer(i);
                out.boolean(i == 1);
            }
        }
        b"attrib" => {
            if resp3 && out.attribute_len(1) {
                out.bulk(b"key-popularity");
                out.array_len(2);
                out.bulk(b"key:123");
                out.integer(90);
            }
            out.bulk(b"Some real reply following the attribute");
        }
        b"push" => {
            if !resp3 {
                return Err(CmdError::msg("ERR RESP2 is not supported by this command"));
            }
            out.push_len(2);
            out.bulk(b"server-cpu-usage");
            out.integer(42);
            out.bulk(b"Some real reply following the push reply");
        }
        b"true" => out.boolean(true),
        b"false" => out.boolean(false),
        b"verbatim" => out.verbatim(b"txt", b"This is a verbatim\nstring"),
        _ => {
            return Err(CmdError::msg("ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false"))
        }
    }
    Ok(())
}

fn memory_usage(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let mut j = 3;
    while j < args.len() {
        if eq(&args[j], "samples") && j + 1 < args.len() {
            let n = parse_i64(&args[j + 1])?;
            if n < 0 {
                return Err(CmdError::SYNTAX);
            }
            j += 2;
        } else {
            return Err(CmdError::SYNTAX);
        }
    }
    let key = &args[2];
    let slot = key_slot(key);
    let mut shard = ctx.db().lock_slot(slot);
    match shard.get_mut(slot, key, ctx.now) {
        Some(e) => {
            let n = e.memory_usage();
            drop(shard);
            ctx.out.integer(n as i64);
        }
        None => {
            drop(shard);
            ctx.out.null();
        }
    }
    Ok(())
}

/// One SLOWLOG entry.
struct SlowEntry {
    id: u64,
    time: u64,
    micros: u64,
    args: Vec<Bytes>,
    peer: String,
    name: Bytes,
}

/// The slow log: commands at least `slowlog-log-slower-than` microseconds long (negative:
/// off), at most `slowlog-max-len` entries.
pub struct SlowLog {
    entries: Mutex<VecDeque<SlowEntry>>,
    next_id: std::sync::atomic::AtomicU64,
    threshold_us: std::sync::atomic::AtomicI64,
    max_len: std::sync::atomic::AtomicU64,
}

impl Default for SlowLog {
    fn default() -> Self {
        SlowLog {
            entries: Mutex::new(VecDeque::new()),
            next_id: std::sync::atomic::AtomicU64::new(0),
            threshold_us: std::sync::atomic::AtomicI64::new(10_000),
            max_len: std::sync::atomic::AtomicU64::new(128),
        }
    }
}
const SLOWLOG_MAX_ARGC: usize = 32;
const SLOWLOG_MAX_ARGLEN: usize = 128;

impl SlowLog {
    /// Records a command if it was slow (`micros`: its duration).
    #[inline]
    pub fn record(&self, micros: u64, args: &[Bytes], client: &crate::net::ClientHandle) {
        let threshold = self.threshold_us.load(std::sync::atomic::Ordering::Relaxed);
        if threshold >= 0 && i64::try_from(micros).unwrap_or(i64::MAX) >= threshold {
            self.push(micros, args, client);
        }
    }

    fn push(&self, micros: u64, args: &[Bytes], client: &crate::net::ClientHandle) {
        let mut kept: Vec<Bytes> = Vec::new();
        let hidden = super::redact::redacted(args);
        for (i, a) in args.iter().enumerate() {
            if hidden.contains(&i) {
                kept.push(Bytes::from_static(b"(redacted)"));
                continue;
            }
            if i + 1 == SLOWLOG_MAX_ARGC && args.len() > SLOWLOG_MAX_ARGC {
                kept.push(Bytes::from(format!(
                    "... ({} more arguments)",
                    args.len() - i
                )));
                break;
            }
            if a.len() > SLOWLOG_MAX_ARGLEN {
                let mut v = a[..SLOWLOG_MAX_ARGLEN].to_vec();
                v.extend_from_slice(
                    format!("... ({} more bytes)", a.len() - SLOWLOG_MAX_ARGLEN).as_bytes(),
                );
                kept.push(Bytes::from(v));
            } else {
                kept.push(a.clone());
            }
        }
        let entry = SlowEntry {
            id: self
                .next_id
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            time: crate::keyspace::now_ms() / 1000,
            micros,
            args: kept,
            peer: client.addr.to_string(),
            name: client.name().unwrap_or_default(),
        };
        let mut e = self.entries.lock();
        e.push_front(entry);
        let max = self.max_len.load(std::sync::atomic::Ordering::Relaxed);
        e.truncate(usize::try_from(max).unwrap_or(usize::MAX));
    }

    /// Picks up `slowlog-log-slower-than` and `slowlog-max-len` from the configuration.
    pub fn configure(&self, config: &crate::config::ConfigStore) {
        let number = |name: &str| {
            config
                .get_text(name)
                .and_then(|v| String::from_utf8_lossy(&v).parse::<i64>().ok())
        };
        if let Some(t) = number("slowlog-log-slower-than") {
            self.threshold_us
                .store(t, std::sync::atomic::Ordering::Relaxed);
        }
        if let Some(m) = number("slowlog-max-len") {
            // As in Redis, the log is trimmed at the next entry, not right away.
            self.max_len
                .store(m.max(0) as u64, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Empties the log.
    pub fn reset(&self) {
        self.entries.lock().clear();
    }
}

fn slowlog_get(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let count = match args.get(2) {
        Some(a) => {
            let n = parse_i64(a)
                .map_err(|_| CmdError::msg("ERR count should be greater than or equal to -1"))?;
            if n < -1 {
                return Err(CmdError::msg(
                    "ERR count should be greater than or equal to -1",
                ));
            }
            if n == -1 {
                usize::MAX
            } else {
                n as usize
            }
        }
        None => 10,
    };
    let log = ctx.node.slowlog.entries.lock();
    let n = count.min(log.len());
    ctx.out.array_len(n);
    for e in log.iter().take(n) {
        ctx.out.array_len(6);
        ctx.out.integer(e.id as i64);
        ctx.out.integer(e.time as i64);
        ctx.out.integer(e.micros as i64);
        ctx.out.array_len(e.args.len());
        for a in &e.args {
            ctx.out.bulk(a);
        }
        ctx.out.bulk(e.peer.as_bytes());
        ctx.out.bulk(&e.name);
    }
    Ok(())
}

fn slowlog_len(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CmdResult {
    let n = ctx.node.slowlog.entries.lock().len();
    ctx.out.integer(n as i64);
    Ok(())
}

fn slowlog_reset(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CmdResult {
    ctx.node.slowlog.reset();
    ctx.out.ok();
    Ok(())
}

fn swapdb(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    if ctx.node.cluster_enabled() {
        return Err(CmdError::msg("ERR SWAPDB is not allowed in cluster mode"));
    }
    let a = parse_i64(&args[1])
        .ok()
        .and_then(|n| i32::try_from(n).ok())
        .ok_or_else(|| CmdError::msg("ERR invalid first DB index"))?;
    let b = parse_i64(&args[2])
        .ok()
        .and_then(|n| i32::try_from(n).ok())
        .ok_or_else(|| CmdError::msg("ERR invalid second DB index"))?;
    let count = ctx.node.keyspace.db_count() as i32;
    if a < 0 || b < 0 || a >= count || b >= count {
        return Err(CmdError::DB_RANGE);
    }
    let world = ctx.node.keyspace.world.write();
    ctx.node.keyspace.swap_dbs(a as usize, b as usize, ctx.now);
    drop(world);
    ctx.node.stats.dirty(1);
    // Clients blocked in either database may find elements now (scanDatabaseForReadyKeys).
    super::blocking::signal_db(ctx.node, a as usize);
    super::blocking::signal_db(ctx.node, b as usize);
    ctx.out.ok();
    Ok(())
}

fn config(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let local = crate::config::is_local_peer(ctx.sess.info.addr.ip());
    ctx.node
        .config
        .command_as(&args[0], &args[1..], local, ctx.out);
    if args[1].eq_ignore_ascii_case(b"set") {
        // Applied before the next command runs, as Redis applies CONFIG SET.
        ctx.node.apply_runtime_config();
    }
    Ok(())
}

fn shutdown(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let (mut nosave, mut save, mut abort, mut other) = (false, false, false, false);
    for a in &args[1..] {
        if eq(a, "nosave") {
            nosave = true;
        } else if eq(a, "save") {
            save = true;
        } else if eq(a, "now") || eq(a, "force") {
            other = true;
        } else if eq(a, "abort") {
            abort = true;
        } else {
            return Err(CmdError::SYNTAX);
        }
    }
    if (abort && (nosave || save || other)) || (nosave && save) {
        return Err(CmdError::SYNTAX);
    }
    if abort {
        return Err(CmdError::msg("ERR No shutdown in progress."));
    }
    if ctx
        .node
        .persistence
        .shutdown_save(ctx.node, save, nosave)
        .is_err()
    {
        return Err(CmdError::msg("ERR Errors trying to SHUTDOWN. Check logs."));
    }
    ctx.node.shutdown();
    ctx.sess.close_after_reply = true;
    Ok(())
}
