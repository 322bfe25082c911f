//! String commands (t_string.c).

use bytes::Bytes;
use resp_proto::ReplyWriter;

use super::longdouble::{LongDouble, Parsed};
use super::numbers::parse_i64;
use super::{CmdError, CmdResult, Ctx, Handler};
use crate::keyspace::{key_slot, lru_clock, Entry, StrEncoding, StrRef, Value};

pub(super) fn handler(name: &str) -> Option<Handler> {
    Some(match name {
        "get" => get,
        "set" => set,
        "setnx" => setnx,
        "setex" => setex,
        "psetex" => psetex,
        "getset" => getset,
        "getdel" => getdel,
        "getex" => getex,
        "mget" => mget,
        "mset" => mset,
        "msetnx" => msetnx,
        "incr" => incr,
        "decr" => decr,
        "incrby" => incrby,
        "decrby" => decrby,
        "incrbyfloat" => incrbyfloat,
        "append" => append,
        "strlen" => strlen,
        "getrange" | "substr" => getrange,
        "setrange" => setrange,
        "lcs" => lcs,
        _ => return None,
    })
}

/// The string value of an entry, or WRONGTYPE.
pub(super) fn as_str(e: &Entry) -> Result<StrRef<'_>, CmdError> {
    match e.value() {
        Value::Str(s) => Ok(s),
        Value::Obj(_) => Err(CmdError::WRONG_TYPE),
    }
}

/// Writes a string value as a bulk reply.
pub(super) fn reply_str(out: &mut ReplyWriter<'_>, s: StrRef<'_>) {
    match s {
        StrRef::Bytes(b) => out.bulk(b),
        StrRef::Int(n) => out.bulk(itoa::Buffer::new().format(n).as_bytes()),
    }
}

fn get(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let slot = key_slot(key);
    let mut shard = ctx.db().lock_slot(slot);
    match shard.lookup_read(slot, key, ctx.now) {
        Some(e) => reply_str(ctx.out, as_str(e)?),
        None => ctx.out.null(),
    }
    Ok(())
}

/// Options of SET / GETEX (parseExtendedStringArgumentsOrReply).
#[derive(Default)]
struct SetOpts {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    /// (value, unit is seconds, is absolute)
    expire: Option<(Bytes, bool, bool)>,
}

fn eq(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

fn parse_set_opts(args: &[Bytes], from: usize, is_set: bool) -> Result<SetOpts, CmdError> {
    let mut o = SetOpts::default();
    let mut kind: Option<&str> = None;
    let mut j = from;
    while j < args.len() {
        let opt = &args[j];
        let next = args.get(j + 1);
        let other_exp = |k: &str| kind.is_some_and(|x| x != k);
        if eq(opt, "nx") && !o.xx && is_set {
            o.nx = true;
        } else if eq(opt, "xx") && !o.nx && is_set {
            o.xx = true;
        } else if eq(opt, "get") && is_set {
            o.get = true;
        } else if eq(opt, "keepttl") && !o.persist && kind.is_none() && is_set {
            o.keepttl = true;
        } else if eq(opt, "persist") && !is_set && kind.is_none() && !o.keepttl {
            o.persist = true;
        } else if let (Some(k), Some(next)) = (
            ["ex", "px", "exat", "pxat"]
                .into_iter()
                .find(|k| eq(opt, k)),
            next,
        ) {
            if o.keepttl || o.persist || other_exp(k) {
                return Err(CmdError::SYNTAX);
            }
            kind = Some(k);
            o.expire = Some((
                next.clone(),
                k == "ex" || k == "exat",
                k == "exat" || k == "pxat",
            ));
            j += 1;
        } else {
            return Err(CmdError::SYNTAX);
        }
        j += 1;
    }
    Ok(o)
}

/// getExpireMillisecondsOrReply: the absolute expiry in ms.
fn expire_ms(
    v: &[u8],
    seconds: bool,
    absolute: bool,
    now: u64,
    cmd: &str,
) -> Result<i64, CmdError> {
    let invalid = || CmdError::msg(format!("ERR invalid expire time in '{cmd}' command"));
    let mut ms = parse_i64(v)?;
    if ms <= 0 || (seconds && ms > i64::MAX / 1000) {
        return Err(invalid());
    }
    if seconds {
        ms *= 1000;
    }
    if !absolute {
        ms = ms.wrapping_add(now as i64);
    }
    if ms <= 0 {
        return Err(invalid());
    }
    Ok(ms)
}

/// The core of SET and friends. `ok`/`abort` override the +OK / null replies (SETNX).
fn set_generic(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    val: &[u8],
    o: &SetOpts,
    cmd: &str,
    replies: Option<(i64, i64)>,
) -> CmdResult {
    let expire = match &o.expire {
        Some((v, secs, abs)) => Some(expire_ms(v, *secs, *abs, ctx.now, cmd)?),
        None => None,
    };
    let slot = key_slot(key);
    let mut shard = ctx.db().lock_slot(slot);
    if o.get {
        match shard.lookup_read(slot, key, ctx.now) {
            Some(e) => reply_str(ctx.out, as_str(e)?),
            None => ctx.out.null(),
        }
    }
    // Plain SET needs nothing from the old value: skip the lookup (store_str then counts
    // the access an LFU policy sees in Redis's lookupKeyWrite).
    let needs_old = o.nx || o.xx || o.keepttl;
    let old_expire = if needs_old {
        shard.get_mut(slot, key, ctx.now).map(|e| e.expire_at())
    } else {
        None
    };
    let found = old_expire.is_some();
    if (o.nx && found) || (o.xx && !found) {
        if !o.get {
            match replies {
                Some((_, abort)) => ctx.out.integer(abort),
                None => ctx.out.null(),
            }
        }
        return Ok(());
    }
    let expire_at = match expire {
        Some(at) => at as u64,
        None if o.keepttl => old_expire.unwrap_or(0),
        None => 0,
    };
    shard.store_str(slot, key, val, expire_at, ctx.now, needs_old);
    drop(shard);
    ctx.node.stats.dirty(1);
    if !o.get {
        match replies {
            Some((ok, _)) => ctx.out.integer(ok),
            None => ctx.out.ok(),
        }
    }
    Ok(())
}

fn set(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let o = parse_set_opts(args, 3, true)?;
    set_generic(ctx, &args[1], &args[2], &o, "set", None)
}

fn setnx(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let o = SetOpts {
        nx: true,
        ..SetOpts::default()
    };
    set_generic(ctx, &args[1], &args[2], &o, "setnx", Some((1, 0)))
}

fn setex(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let o = SetOpts {
        expire: Some((args[2].clone(), true, false)),
        ..SetOpts::default()
    };
    set_generic(ctx, &args[1], &args[3], &o, "setex", None)
}

fn psetex(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let o = SetOpts {
        expire: Some((args[2].clone(), false, false)),
        ..SetOpts::default()
    };
    set_generic(ctx, &args[1], &args[3], &o, "psetex", None)
}

fn getset(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let (key, val) = (&args[1], &args[2]);
    let slot = key_slot(key);
    let mut shard = ctx.db().lock_slot(slot);
    match shard.lookup_read(slot, key, ctx.now) {
        Some(e) => reply_str(ctx.out, as_str(e)?),
        None => ctx.out.null(),
    }
    // Redis's GETSET looks the key up again to set it: under LFU a second access.
    shard.store_str(slot, key, val, 0, ctx.now, false);
    ctx.node.stats.dirty(1);
    Ok(())
}

fn getdel(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let slot = key_slot(key);
    let mut shard = ctx.db().lock_slot(slot);
    match shard.lookup_read(slot, key, ctx.now) {
        Some(e) => reply_str(ctx.out, as_str(e)?),
        None => {
            ctx.out.null();
            return Ok(());
        }
    }
    shard.remove(slot, key, ctx.now);
    ctx.node.stats.dirty(1);
    Ok(())
}

fn getex(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let o = parse_set_opts(args, 2, false)?;
    let key = &args[1];
    let slot = key_slot(key);
    let mut shard = ctx.db().lock_slot(slot);
    let Some(e) = shard.lookup_read(slot, key, ctx.now) else {
        ctx.out.null();
        return Ok(());
    };
    as_str(e)?;
    let expire = match &o.expire {
        Some((v, secs, abs)) => Some((expire_ms(v, *secs, *abs, ctx.now, "getex")?, *abs)),
        None => None,
    };
    if let Some(e) = shard.get_mut(slot, key, ctx.now) {
        reply_str(ctx.out, as_str(e)?);
    }
    match expire {
        Some((at, true)) if at as u64 <= ctx.now => {
            shard.remove(slot, key, ctx.now);
            ctx.node.stats.dirty(1);
        }
        Some((at, _)) => {
            shard.set_expire(slot, key, at as u64, ctx.now);
            ctx.node.stats.dirty(1);
        }
        None if o.persist && shard.peek(slot, key).is_some_and(|e| e.expire_at() != 0) => {
            shard.set_expire(slot, key, 0, ctx.now);
            ctx.node.stats.dirty(1);
        }
        None => {}
    }
    Ok(())
}

fn mget(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let keys = &args[1..];
    ctx.out.array_len(keys.len());
    for key in keys {
        let slot = key_slot(key);
        let mut shard = ctx.db().lock_slot(slot);
        match shard.lookup_read(slot, key, ctx.now).map(|e| as_str(e)) {
            Some(Ok(s)) => reply_str(ctx.out, s),
            _ => ctx.out.null(),
        }
    }
    Ok(())
}

fn wrong_args(name: &str) -> CmdError {
    CmdError::msg(format!(
        "ERR wrong number of arguments for '{name}' command"
    ))
}

fn mset_generic(ctx: &mut Ctx<'_, '_>, args: &[Bytes], nx: bool) -> CmdResult {
    if args.len() % 2 == 0 {
        return Err(wrong_args(if nx { "msetnx" } else { "mset" }));
    }
    let pairs: Vec<(&Bytes, &Bytes)> = args[1..].chunks_exact(2).map(|c| (&c[0], &c[1])).collect();
    let slots: Vec<u16> = pairs.iter().map(|(k, _)| key_slot(k)).collect();
    let db = ctx.node.db(ctx.sess.db);
    let mut guard = db.lock_slots(&slots);
    if nx {
        for ((k, _), &slot) in pairs.iter().zip(&slots) {
            if guard
                .shard(slot)
                .is_some_and(|s| s.contains(slot, k, ctx.now))
            {
                ctx.out.integer(0);
                return Ok(());
            }
        }
    }
    for ((k, v), &slot) in pairs.iter().zip(&slots) {
        if let Some(s) = guard.shard(slot) {
            s.store_str(slot, k, v, 0, ctx.now, false);
        }
    }
    ctx.node.stats.dirty(pairs.len() as u64);
    if nx {
        ctx.out.integer(1);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

fn mset(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    mset_generic(ctx, args, false)
}

fn msetnx(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    mset_generic(ctx, args, true)
}

fn incr_by(ctx: &mut Ctx<'_, '_>, key: &[u8], incr: i64) -> CmdResult {
    let slot = key_slot(key);
    let mut shard = ctx.db().lock_slot(slot);
    let lru = lru_clock(ctx.now);
    let (old, exists) = match shard.get_mut(slot, key, ctx.now) {
        Some(e) => {
            let v = match as_str(e)? {
                StrRef::Int(n) => n,
                StrRef::Bytes(b) => parse_i64(b)?,
            };
            (v, true)
        }
        None => (0, false),
    };
    let new = old.checked_add(incr).ok_or(CmdError::OVERFLOW)?;
    if exists {
        if let Some(e) = shard.get_mut(slot, key, ctx.now) {
            e.set_int(new);
            e.touch(lru);
        }
        shard.signal(key);
    } else {
        shard.insert(slot, Entry::new_int(key, new, lru), ctx.now);
    }
    ctx.node.stats.dirty(1);
    ctx.out.integer(new);
    Ok(())
}

fn incr(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    incr_by(ctx, &args[1], 1)
}

fn decr(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    incr_by(ctx, &args[1], -1)
}

fn incrby(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let n = parse_i64(&args[2])?;
    incr_by(ctx, &args[1], n)
}

fn decrby(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let n = parse_i64(&args[2])?;
    if n == i64::MIN {
        return Err(CmdError::msg("ERR decrement would overflow"));
    }
    incr_by(ctx, &args[1], -n)
}

fn incrbyfloat(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let slot = key_slot(key);
    let mut shard = ctx.db().lock_slot(slot);
    let current = match shard.get_mut(slot, key, ctx.now) {
        Some(e) => Some(match as_str(e)? {
            StrRef::Int(n) => Parsed::Finite(LongDouble::from_i64(n)),
            StrRef::Bytes(b) => LongDouble::parse(b).ok_or(CmdError::NOT_FLOAT)?,
        }),
        None => None,
    };
    let incr = LongDouble::parse(&args[2]).ok_or(CmdError::NOT_FLOAT)?;
    let nan_or_inf = || CmdError::msg("ERR increment would produce NaN or Infinity");
    let current = current.unwrap_or(Parsed::Finite(LongDouble::from_i64(0)));
    let (Parsed::Finite(a), Parsed::Finite(b)) = (current, incr) else {
        return Err(nan_or_inf());
    };
    let text = a.add(&b).ok_or_else(nan_or_inf)?.format_human();
    let old_expire = shard.peek(slot, key).map_or(0, |e| e.expire_at());
    let mut e = Entry::new_str(
        key,
        text.as_bytes(),
        StrEncoding::ByLength,
        lru_clock(ctx.now),
    );
    e.set_expire_raw(old_expire);
    shard.insert(slot, e, ctx.now);
    ctx.node.stats.dirty(1);
    ctx.out.bulk(text.as_bytes());
    Ok(())
}

/// Refuses a string that would grow past `proto-max-bulk-len`, as Redis's checkStringLength.
pub(super) fn check_len(ctx: &Ctx<'_, '_>, total: u64) -> CmdResult {
    if total > ctx.node.config.current().proto_max_bulk_len {
        return Err(CmdError::msg(
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
        ));
    }
    Ok(())
}

fn append(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let (key, val) = (&args[1], &args[2]);
    let slot = key_slot(key);
    let mut shard = ctx.db().lock_slot(slot);
    let lru = lru_clock(ctx.now);
    let existing = match shard.get_mut(slot, key, ctx.now) {
        Some(e) => Some(as_str(e)?.len()),
        None => None,
    };
    let total = match existing {
        None => {
            shard.insert(
                slot,
                Entry::new_str(key, val, StrEncoding::Auto, lru),
                ctx.now,
            );
            val.len()
        }
        Some(len) => {
            check_len(ctx, (len + val.len()) as u64)?;
            let total = match shard.get_mut(slot, key, ctx.now) {
                Some(e) => {
                    e.touch(lru);
                    e.with_raw(|v| {
                        v.extend_from_slice(val);
                        v.len()
                    })
                }
                None => 0,
            };
            shard.signal(key);
            total
        }
    };
    ctx.node.stats.dirty(1);
    ctx.out.integer(total as i64);
    Ok(())
}

fn strlen(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let slot = key_slot(key);
    let mut shard = ctx.db().lock_slot(slot);
    let n = match shard.lookup_read(slot, key, ctx.now) {
        Some(e) => as_str(e)?.len(),
        None => 0,
    };
    ctx.out.integer(n as i64);
    Ok(())
}

fn getrange(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let mut start = parse_i64(&args[2])?;
    let mut end = parse_i64(&args[3])?;
    let key = &args[1];
    let slot = key_slot(key);
    let mut shard = ctx.db().lock_slot(slot);
    let Some(e) = shard.lookup_read(slot, key, ctx.now) else {
        ctx.out.bulk(b"");
        return Ok(());
    };
    let s = as_str(e)?;
    let owned;
    let bytes: &[u8] = match s {
        StrRef::Bytes(b) => b,
        StrRef::Int(_) => {
            owned = s.to_vec();
            &owned
        }
    };
    let len = bytes.len() as i64;
    if start < 0 && end < 0 && start > end {
        ctx.out.bulk(b"");
        return Ok(());
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        ctx.out.bulk(b"");
    } else {
        ctx.out.bulk(&bytes[start as usize..=end as usize]);
    }
    Ok(())
}

fn setrange(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let offset = parse_i64(&args[2])?;
    if offset < 0 {
        return Err(CmdError::msg("ERR offset is out of range"));
    }
    let (key, val) = (&args[1], &args[3]);
    let slot = key_slot(key);
    let mut shard = ctx.db().lock_slot(slot);
    let lru = lru_clock(ctx.now);
    let existing = match shard.get_mut(slot, key, ctx.now) {
        Some(e) => Some(as_str(e)?.len()),
        None => None,
    };
    match existing {
        None if val.is_empty() => {
            ctx.out.integer(0);
            return Ok(());
        }
        Some(len) if val.is_empty() => {
            ctx.out.integer(len as i64);
            return Ok(());
        }
        _ => {}
    }
    check_len(ctx, offset as u64 + val.len() as u64)?;
    let offset = offset as usize;
    if existing.is_none() {
        shard.insert(
            slot,
            Entry::new_str(key, b"", StrEncoding::Raw, lru),
            ctx.now,
        );
    }
    let total = match shard.get_mut(slot, key, ctx.now) {
        Some(e) => {
            e.touch(lru);
            e.with_raw(|v| {
                let end = offset + val.len();
                if v.len() < end {
                    v.resize(end, 0);
                }
                v[offset..end].copy_from_slice(val);
                v.len()
            })
        }
        None => 0,
    };
    shard.signal(key);
    ctx.node.stats.dirty(1);
    ctx.out.integer(total as i64);
    Ok(())
}

fn lcs(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let fetch = |key: &[u8]| -> Result<Vec<u8>, CmdError> {
        let slot = key_slot(key);
        let mut shard = ctx.node.db(ctx.sess.db).lock_slot(slot);
        match shard.lookup_read(slot, key, ctx.now) {
            Some(e) => as_str(e)
                .map(|s| s.to_vec())
                .map_err(|_| CmdError::msg("ERR The specified keys must contain string values")),
            None => Ok(Vec::new()),
        }
    };
    let a = fetch(&args[1])?;
    let b = fetch(&args[2])?;
    let (mut get_len, mut get_idx, mut with_match_len) = (false, false, false);
    let mut min_match_len: i64 = 0;
    let mut j = 3;
    while j < args.len() {
        let opt = &args[j];
        let more = args.len() - j - 1;
        if eq(opt, "idx") {
            get_idx = true;
        } else if eq(opt, "len") {
            get_len = true;
        } else if eq(opt, "withmatchlen") {
            with_match_len = true;
        } else if eq(opt, "minmatchlen") && more >= 1 {
            min_match_len = parse_i64(&args[j + 1])?.max(0);
            j += 1;
        } else {
            return Err(CmdError::SYNTAX);
        }
        j += 1;
    }
    if get_len && get_idx {
        return Err(CmdError::msg(
            "ERR If you want both the length and indexes, please just use IDX.",
        ));
    }
    let cells = (a.len() as u64 + 1).saturating_mul(b.len() as u64 + 1);
    if cells.saturating_mul(4) > ctx.node.config.current().proto_max_bulk_len
        || cells >= u64::from(u32::MAX) / 4
    {
        return Err(CmdError::msg(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    let w = b.len() + 1;
    let mut dp = vec![0u32; cells as usize];
    for i in 1..=a.len() {
        for k in 1..=b.len() {
            dp[i * w + k] = if a[i - 1] == b[k - 1] {
                dp[(i - 1) * w + k - 1] + 1
            } else {
                dp[(i - 1) * w + k].max(dp[i * w + k - 1])
            };
        }
    }
    let total = dp[a.len() * w + b.len()] as usize;
    let mut result = vec![0u8; total];
    // Walk back from the end, as Redis does, collecting contiguous match ranges.
    let mut ranges: Vec<[usize; 5]> = Vec::new();
    let (mut i, mut k, mut idx) = (a.len(), b.len(), total);
    let none = a.len();
    let (mut a_start, mut a_end, mut b_start, mut b_end) = (none, 0, 0, 0);
    while i > 0 && k > 0 {
        let mut emit = false;
        if a[i - 1] == b[k - 1] {
            result[idx - 1] = a[i - 1];
            if a_start == none {
                (a_start, a_end, b_start, b_end) = (i - 1, i - 1, k - 1, k - 1);
            } else if a_start == i && b_start == k {
                a_start -= 1;
                b_start -= 1;
            } else {
                emit = true;
            }
            if a_start == 0 || b_start == 0 {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            k -= 1;
        } else {
            if dp[(i - 1) * w + k] > dp[i * w + k - 1] {
                i -= 1;
            } else {
                k -= 1;
            }
            if a_start != none {
                emit = true;
            }
        }
        if emit {
            let len = a_end - a_start + 1;
            if min_match_len == 0 || len as i64 >= min_match_len {
                ranges.push([a_start, a_end, b_start, b_end, len]);
            }
            a_start = none;
        }
    }
    if get_idx {
        ctx.out.map_len(2);
        ctx.out.bulk(b"matches");
        ctx.out.array_len(ranges.len());
        for r in &ranges {
            ctx.out.array_len(if with_match_len { 3 } else { 2 });
            ctx.out.array_len(2);
            ctx.out.integer(r[0] as i64);
            ctx.out.integer(r[1] as i64);
            ctx.out.array_len(2);
            ctx.out.integer(r[2] as i64);
            ctx.out.integer(r[3] as i64);
            if with_match_len {
                ctx.out.integer(r[4] as i64);
            }
        }
        ctx.out.bulk(b"len");
        ctx.out.integer(total as i64);
    } else if get_len {
        ctx.out.integer(total as i64);
    } else {
        ctx.out.bulk(&result);
    }
    Ok(())
}
