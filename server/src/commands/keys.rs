//! Generic key commands (db.c, expire.c, object.c).

use bytes::Bytes;

use super::numbers::parse_i64;
use super::{help_data, CmdError, CmdResult, Ctx, Handler};
use crate::keyspace::{key_slot, string_match, Entry, SHARDS, SLOTS};

pub(super) fn handler(name: &str) -> Option<Handler> {
    Some(match name {
        "del" | "unlink" => del,
        "exists" => exists,
        "touch" => touch,
        "type" => type_cmd,
        "rename" => rename,
        "renamenx" => renamenx,
        "copy" => copy,
        "move" => move_key,
        "expire" => expire,
        "pexpire" => pexpire,
        "expireat" => expireat,
        "pexpireat" => pexpireat,
        "ttl" => ttl,
        "pttl" => pttl,
        "expiretime" => expiretime,
        "pexpiretime" => pexpiretime,
        "persist" => persist,
        "keys" => keys,
        "scan" => scan,
        "randomkey" => randomkey,
        "dbsize" => dbsize,
        "flushall" => flushall,
        "flushdb" => flushdb,
        "object|encoding" => object_encoding,
        "object|refcount" => object_refcount,
        "object|idletime" => object_idletime,
        "object|freq" => object_freq,
        "object|help" => object_help,
        _ => return None,
    })
}

/// Writes a HELP reply (an array of status lines).
/// A HELP reply: its first line names the command as it was called (`args[0]`, upper-cased,
/// so a renamed command shows its new name), the rest are `lines` after their first.
pub(super) fn reply_help(ctx: &mut Ctx<'_, '_>, args: &[Bytes], lines: &[&[u8]]) -> CmdResult {
    ctx.out.array_len(lines.len());
    let mut head = args
        .first()
        .map(|a| a.to_ascii_uppercase())
        .unwrap_or_default();
    head.extend_from_slice(b" <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    ctx.out.simple(&head);
    for l in lines.iter().skip(1) {
        ctx.out.simple(l);
    }
    Ok(())
}

fn eq(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

fn del(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let keys = &args[1..];
    let slots: Vec<u16> = keys.iter().map(|k| key_slot(k)).collect();
    let db = ctx.node.db(ctx.sess.db);
    let mut g = db.lock_slots(&slots);
    let mut n = 0;
    for (k, &slot) in keys.iter().zip(&slots) {
        if g.shard(slot)
            .and_then(|s| s.remove(slot, k, ctx.now))
            .is_some()
        {
            n += 1;
        }
    }
    ctx.node.stats.dirty(n as u64);
    ctx.out.integer(n);
    Ok(())
}

/// Counts live keys as a read (hits and misses); `touch` also counts an access (TOUCH),
/// otherwise the lookup is Redis's LOOKUP_NOTOUCH (EXISTS).
fn count_existing(ctx: &mut Ctx<'_, '_>, keys: &[Bytes], touch: bool) -> i64 {
    let mut n = 0;
    for k in keys {
        let slot = key_slot(k);
        let mut s = ctx.db().lock_slot(slot);
        let found = if touch {
            s.lookup_read(slot, k, ctx.now).is_some()
        } else {
            s.lookup_read_untouched(slot, k, ctx.now).is_some()
        };
        if found {
            n += 1;
        }
    }
    n
}

fn exists(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let n = count_existing(ctx, &args[1..], false);
    ctx.out.integer(n);
    Ok(())
}

fn touch(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let n = count_existing(ctx, &args[1..], true);
    ctx.out.integer(n);
    Ok(())
}

fn type_cmd(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let slot = key_slot(key);
    let mut s = ctx.db().lock_slot(slot);
    let name = s
        .lookup_read_untouched(slot, key, ctx.now)
        .map_or("none", |e| e.value_type().name());
    ctx.out.simple(name.as_bytes());
    Ok(())
}

fn rename_generic(ctx: &mut Ctx<'_, '_>, args: &[Bytes], nx: bool) -> CmdResult {
    let (src, dst) = (&args[1], &args[2]);
    let (ss, ds) = (key_slot(src), key_slot(dst));
    let db = ctx.node.db(ctx.sess.db);
    let mut g = db.lock_slots(&[ss, ds]);
    let Some(entry) = g
        .shard(ss)
        .and_then(|s| s.get_mut(ss, src, ctx.now))
        .map(|e| e.renamed(dst))
    else {
        return Err(CmdError::NO_SUCH_KEY);
    };
    if src == dst {
        if nx {
            ctx.out.integer(0);
        } else {
            ctx.out.ok();
        }
        return Ok(());
    }
    if nx && g.shard(ds).is_some_and(|s| s.contains(ds, dst, ctx.now)) {
        ctx.out.integer(0);
        return Ok(());
    }
    if let Some(s) = g.shard(ds) {
        s.insert_moved(ds, entry, ctx.now);
    }
    if let Some(s) = g.shard(ss) {
        s.remove(ss, src, ctx.now);
    }
    drop(g);
    ctx.node.stats.dirty(1);
    super::blocking::signal(ctx.node, ctx.sess.db, dst);
    if nx {
        ctx.out.integer(1);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

fn rename(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    rename_generic(ctx, args, false)
}

fn renamenx(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    rename_generic(ctx, args, true)
}

fn copy(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let (src, dst) = (&args[1], &args[2]);
    let src_db = ctx.sess.db;
    let mut dst_db = src_db;
    let mut replace = false;
    let mut j = 3;
    while j < args.len() {
        let more = args.len() - j - 1;
        if eq(&args[j], "replace") {
            replace = true;
        } else if eq(&args[j], "db") && more > 0 {
            let id = i64::from(super::numbers::parse_i32(&args[j + 1])?);
            // Checked against `databases` even in cluster mode, where only db 0 exists.
            let databases = i64::from(ctx.node.config.current().databases);
            if id < 0
                || id >= databases
                || (!ctx.node.cluster_enabled() && id as usize >= ctx.node.keyspace.db_count())
            {
                return Err(CmdError::DB_RANGE);
            }
            dst_db = id as usize;
            j += 1;
        } else {
            return Err(CmdError::SYNTAX);
        }
        j += 1;
    }
    if ctx.node.cluster_enabled() && (src_db != 0 || dst_db != 0) {
        return Err(CmdError::msg(
            "ERR Copying to another database is not allowed in cluster mode",
        ));
    }
    if src_db == dst_db && src == dst {
        return Err(CmdError::msg(
            "ERR source and destination objects are the same",
        ));
    }
    let ss = key_slot(src);
    let entry = {
        let mut s = ctx.node.db(src_db).lock_slot(ss);
        s.lookup_read(ss, src, ctx.now).map(|e| e.renamed(dst))
    };
    let Some(entry) = entry else {
        ctx.out.integer(0);
        return Ok(());
    };
    let ds = key_slot(dst);
    let mut s = ctx.node.db(dst_db).lock_slot(ds);
    if s.contains(ds, dst, ctx.now) && !replace {
        ctx.out.integer(0);
        return Ok(());
    }
    s.insert(ds, entry, ctx.now);
    drop(s);
    ctx.node.stats.dirty(1);
    super::blocking::signal(ctx.node, dst_db, dst);
    ctx.out.integer(1);
    Ok(())
}

fn move_key(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    if ctx.node.cluster_enabled() {
        return Err(CmdError::msg("ERR MOVE is not allowed in cluster mode"));
    }
    let key = &args[1];
    let src_db = ctx.sess.db;
    let id = super::numbers::parse_i32(&args[2])?;
    if id < 0 || id as u64 >= ctx.node.keyspace.db_count() as u64 {
        return Err(CmdError::DB_RANGE);
    }
    let dst_db = id as usize;
    if dst_db == src_db {
        return Err(CmdError::msg(
            "ERR source and destination objects are the same",
        ));
    }
    let slot = key_slot(key);
    // Both databases' shard locks, lower database first (the order every MOVE takes).
    let (lo, hi) = (src_db.min(dst_db), src_db.max(dst_db));
    let mut lo_guard = ctx.node.db(lo).lock_slot(slot);
    let mut hi_guard = ctx.node.db(hi).lock_slot(slot);
    let (src, dst) = if src_db == lo {
        (&mut *lo_guard, &mut *hi_guard)
    } else {
        (&mut *hi_guard, &mut *lo_guard)
    };
    if src.get_mut(slot, key, ctx.now).is_none() || dst.get_mut(slot, key, ctx.now).is_some() {
        ctx.out.integer(0);
        return Ok(());
    }
    let Some(entry) = src.remove(slot, key, ctx.now) else {
        ctx.out.integer(0);
        return Ok(());
    };
    dst.insert_moved(slot, entry, ctx.now);
    drop(lo_guard);
    drop(hi_guard);
    ctx.node.stats.dirty(1);
    super::blocking::signal(ctx.node, dst_db, key);
    ctx.out.integer(1);
    Ok(())
}

fn expire_generic(
    ctx: &mut Ctx<'_, '_>,
    args: &[Bytes],
    basetime: i64,
    seconds: bool,
) -> CmdResult {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for a in &args[3..] {
        if eq(a, "nx") {
            nx = true;
        } else if eq(a, "xx") {
            xx = true;
        } else if eq(a, "gt") {
            gt = true;
        } else if eq(a, "lt") {
            lt = true;
        } else {
            return Err(CmdError::msg(format!(
                "ERR Unsupported option {}",
                String::from_utf8_lossy(a)
            )));
        }
    }
    if nx && (xx || gt || lt) {
        return Err(CmdError::msg(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return Err(CmdError::msg(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    let name = String::from_utf8_lossy(&args[0]).to_lowercase();
    let invalid = || CmdError::msg(format!("ERR invalid expire time in '{name}' command"));
    let mut when = parse_i64(&args[2])?;
    if seconds {
        when = when.checked_mul(1000).ok_or_else(invalid)?;
    }
    if when > i64::MAX - basetime {
        return Err(invalid());
    }
    when += basetime;
    let key = &args[1];
    let slot = key_slot(key);
    let mut s = ctx.db().lock_slot(slot);
    let Some(e) = s.get_mut(slot, key, ctx.now) else {
        ctx.out.integer(0);
        return Ok(());
    };
    let current = e.expire_at();
    let refuse = (nx && current != 0)
        || (xx && current == 0)
        || (gt && (current == 0 || when <= current as i64))
        || (lt && current != 0 && when >= current as i64);
    if refuse {
        ctx.out.integer(0);
        return Ok(());
    }
    if when <= ctx.now as i64 {
        s.remove(slot, key, ctx.now);
    } else {
        s.set_expire(slot, key, when as u64, ctx.now);
    }
    ctx.node.stats.dirty(1);
    ctx.out.integer(1);
    Ok(())
}

fn expire(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let now = ctx.now as i64;
    expire_generic(ctx, args, now, true)
}

fn pexpire(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let now = ctx.now as i64;
    expire_generic(ctx, args, now, false)
}

fn expireat(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    expire_generic(ctx, args, 0, true)
}

fn pexpireat(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    expire_generic(ctx, args, 0, false)
}

/// The TTL state of a key: None = missing, Some(0) = no TTL, Some(at) = absolute ms.
fn expire_of(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> Option<u64> {
    let slot = key_slot(key);
    let mut s = ctx.db().lock_slot(slot);
    s.lookup_read_untouched(slot, key, ctx.now)
        .map(|e| e.expire_at())
}

fn ttl_generic(ctx: &mut Ctx<'_, '_>, args: &[Bytes], ms: bool, absolute: bool) -> CmdResult {
    let v = match expire_of(ctx, &args[1]) {
        None => -2,
        Some(0) => -1,
        Some(at) if absolute => {
            if ms {
                at as i64
            } else {
                (at as i64 + 500) / 1000
            }
        }
        Some(at) => {
            let left = (at as i64 - ctx.now as i64).max(0);
            if ms {
                left
            } else {
                (left + 500) / 1000
            }
        }
    };
    ctx.out.integer(v);
    Ok(())
}

fn ttl(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, args, false, false)
}

fn pttl(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, args, true, false)
}

fn expiretime(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, args, false, true)
}

fn pexpiretime(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, args, true, true)
}

fn persist(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let slot = key_slot(key);
    let mut s = ctx.db().lock_slot(slot);
    let had = s
        .lookup_read(slot, key, ctx.now)
        .is_some_and(|e| e.expire_at() != 0);
    if had {
        s.set_expire(slot, key, 0, ctx.now);
        ctx.node.stats.dirty(1);
    }
    ctx.out.integer(i64::from(had));
    Ok(())
}

fn keys(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let pat = &args[1];
    let all = pat.as_ref() == b"*";
    let mut found: Vec<Box<[u8]>> = Vec::new();
    let db = ctx.node.db(ctx.sess.db);
    if db.is_initialized() {
        for shard in db.shards() {
            let s = shard.lock();
            for (_, t) in s.slot_tables(0) {
                for e in t.iter() {
                    if !e.is_expired(ctx.now) && (all || string_match(pat, e.key(), false)) {
                        found.push(e.key().into());
                    }
                }
            }
        }
    }
    ctx.out.array_len(found.len());
    for k in &found {
        ctx.out.bulk(k);
    }
    Ok(())
}

/// strtoul as parseScanCursorOrReply uses it.
fn parse_cursor(b: &[u8]) -> Option<u64> {
    if b.first().is_some_and(|c| c.is_ascii_whitespace()) {
        return None;
    }
    let (neg, digits) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, b),
    };
    if digits.is_empty() {
        // strtoul consumed nothing; Redis only checks that the rest is empty.
        return if b.is_empty() { Some(0) } else { None };
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

fn scan(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&args[1]).ok_or_else(|| CmdError::msg("ERR invalid cursor"))?;
    let mut count: i64 = 10;
    let mut pattern: Option<&Bytes> = None;
    let mut type_name: Option<&Bytes> = None;
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - i;
        if eq(&args[i], "count") && more >= 2 {
            count = parse_i64(&args[i + 1])?;
            if count < 1 {
                return Err(CmdError::SYNTAX);
            }
        } else if eq(&args[i], "match") && more >= 2 {
            pattern = Some(&args[i + 1]).filter(|p| p.as_ref() != b"*");
        } else if eq(&args[i], "type") && more >= 2 {
            type_name = Some(&args[i + 1]);
        } else {
            return Err(CmdError::SYNTAX);
        }
        i += 2;
    }
    let (mut slot, generation, mut pos) = scan_cursor::decode(cursor);
    let mut keys: Vec<Box<[u8]>> = Vec::new();
    let mut next = 0;
    let db = ctx.node.db(ctx.sess.db);
    let wanted = usize::try_from(count).unwrap_or(usize::MAX);
    // Like Redis's bound on a call's work (COUNT * 10 steps), so a MATCH or TYPE that
    // selects little never walks the whole keyspace in one call.
    let budget = wanted.saturating_mul(10);
    let mut visited = 0usize;
    if db.is_initialized() {
        while slot < SLOTS {
            let sl = slot as u16;
            let s = db.shards()[slot % SHARDS].lock();
            let t = s.slot(sl);
            if t.generation() != generation && pos != 0 {
                // The table rehashed or changed layout since: its positions mean other
                // keys now. Restarting the slot may repeat keys, never miss one.
                pos = 0;
            }
            let resume = t.scan_from(pos, |e| {
                let ok = !e.is_expired(ctx.now)
                    && pattern.is_none_or(|p| string_match(p, e.key(), false))
                    && type_name.is_none_or(|t| eq(t, e.value_type().name()));
                if ok {
                    keys.push(e.key().into());
                }
                visited += 1;
                keys.len() < wanted && visited < budget
            });
            if let Some(p) = resume {
                next = scan_cursor::encode(slot, t.generation(), p);
                break;
            }
            slot += 1;
            pos = 0;
            if keys.len() >= wanted || visited >= budget {
                if slot < SLOTS {
                    next = scan_cursor::encode(slot, 0, 0);
                }
                break;
            }
        }
    }
    ctx.out.array_len(2);
    ctx.out.bulk(itoa::Buffer::new().format(next).as_bytes());
    ctx.out.array_len(keys.len());
    for k in &keys {
        ctx.out.bulk(k);
    }
    Ok(())
}

/// SCAN's cursor: the slot, then a position inside the slot's table with the table
/// generation it belongs to, so one huge slot is returned a page at a time.
mod scan_cursor {
    const POS_BITS: u32 = 34;
    const GEN_BITS: u32 = 16;

    /// (slot, generation, position).
    pub fn decode(cursor: u64) -> (usize, u16, usize) {
        let slot = (cursor >> (POS_BITS + GEN_BITS)) as usize;
        let generation = ((cursor >> POS_BITS) & 0xFFFF) as u16;
        let pos = (cursor & ((1 << POS_BITS) - 1)) as usize;
        (slot, generation, pos)
    }

    /// The cursor resuming at position `pos` of `slot`.
    pub fn encode(slot: usize, generation: u16, pos: usize) -> u64 {
        ((slot as u64) << (POS_BITS + GEN_BITS))
            | (u64::from(generation) << POS_BITS)
            | (pos as u64 & ((1 << POS_BITS) - 1))
    }
}

fn randomkey(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let _ = args;
    let db = ctx.node.db(ctx.sess.db);
    if !db.is_initialized() || db.is_empty() {
        ctx.out.null();
        return Ok(());
    }
    for _ in 0..100 {
        let start = fastrand::usize(..SLOTS);
        for off in 0..SLOTS {
            let sl = ((start + off) % SLOTS) as u16;
            let s = db.shards()[usize::from(sl) % SHARDS].lock();
            let t = s.slot(sl);
            if t.is_empty() {
                continue;
            }
            let pick = fastrand::usize(..t.len());
            if let Some(e) = t.iter().nth(pick) {
                if !e.is_expired(ctx.now) {
                    ctx.out.bulk(e.key());
                    return Ok(());
                }
            }
            break;
        }
    }
    ctx.out.null();
    Ok(())
}

fn dbsize(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CmdResult {
    let n = ctx.db().len();
    ctx.out.integer(n as i64);
    Ok(())
}

fn flush_flags(args: &[Bytes]) -> CmdResult {
    if args.len() > 2 {
        return Err(CmdError::SYNTAX);
    }
    if let Some(a) = args.get(1) {
        if !eq(a, "sync") && !eq(a, "async") {
            return Err(CmdError::SYNTAX);
        }
    }
    Ok(())
}

fn flushall(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    flush_flags(args)?;
    let mut n = 0;
    for db in ctx.node.keyspace.dbs() {
        n += db.clear(ctx.now);
    }
    ctx.node.stats.dirty(n as u64 + 1);
    ctx.out.ok();
    Ok(())
}

fn flushdb(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    flush_flags(args)?;
    let n = ctx.db().clear(ctx.now);
    ctx.node.stats.dirty(n as u64 + 1);
    ctx.out.ok();
    Ok(())
}

/// Runs `f` on the entry of OBJECT's key without touching its access time.
fn with_object<R>(ctx: &mut Ctx<'_, '_>, key: &[u8], f: impl FnOnce(&Entry) -> R) -> Option<R> {
    let slot = key_slot(key);
    let mut s = ctx.db().lock_slot(slot);
    s.get_untouched(slot, key, ctx.now).map(|e| f(e))
}

fn object_encoding(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    match with_object(ctx, &args[2], |e| e.encoding()) {
        Some(enc) => ctx.out.bulk(enc.as_bytes()),
        None => ctx.out.null(),
    }
    Ok(())
}

fn object_refcount(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    match with_object(ctx, &args[2], |e| e.refcount()) {
        Some(n) => ctx.out.integer(n),
        None => ctx.out.null(),
    }
    Ok(())
}

fn lfu_policy(ctx: &Ctx<'_, '_>) -> bool {
    ctx.node.lfu_policy()
}

fn object_idletime(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let now_lru = crate::keyspace::lru_clock(ctx.now);
    let Some(lru) = with_object(ctx, &args[2], |e| e.lru()) else {
        ctx.out.null();
        return Ok(());
    };
    if lfu_policy(ctx) {
        return Err(CmdError::msg("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
    }
    let idle = if now_lru >= lru {
        now_lru - lru
    } else {
        now_lru + 0x00FF_FFFF - lru
    };
    ctx.out.integer(i64::from(idle));
    Ok(())
}

fn object_freq(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let Some(field) = with_object(ctx, &args[2], |e| e.lru()) else {
        ctx.out.null();
        return Ok(());
    };
    let lfu = &ctx.node.keyspace.lfu;
    if lfu.enabled() {
        ctx.out.integer(i64::from(lfu.decayed(field, ctx.now)));
        return Ok(());
    }
    Err(CmdError::msg("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."))
}

fn object_help(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    reply_help(ctx, args, help_data::OBJECT)
}
