//! List commands (t_list.c), without the blocking ones.

use bytes::Bytes;

use super::numbers::parse_i64;
use super::types_common::{
    modify, modify_existing, mpop_count, read, read_typed, reply_elem, thresholds, typed,
    typed_mut, types_err,
};
use super::{CmdError, CmdResult, Ctx, Handler};
use crate::keyspace::{key_slot, lru_clock, Entry, MultiGuard, Obj};
use crate::types::list::End;
use crate::types::{List, TypesError};

pub(super) fn handler(name: &str) -> Option<Handler> {
    Some(match name {
        "lpush" => lpush,
        "rpush" => rpush,
        "lpushx" => lpushx,
        "rpushx" => rpushx,
        "lpop" => lpop,
        "rpop" => rpop,
        "llen" => llen,
        "lrange" => lrange,
        "lindex" => lindex,
        "lset" => lset,
        "linsert" => linsert,
        "lrem" => lrem,
        "ltrim" => ltrim,
        "lpos" => lpos,
        "lmove" => lmove,
        "rpoplpush" => rpoplpush,
        "lmpop" => lmpop,
        _ => return None,
    })
}

fn push_generic(ctx: &mut Ctx<'_, '_>, args: &[Bytes], end: End, only_existing: bool) -> CmdResult {
    let fill = thresholds(ctx).list_max_listpack_size;
    let create = move || Obj::List(List::new(fill));
    let create: Option<&dyn Fn() -> Obj> = if only_existing { None } else { Some(&create) };
    let found = modify(ctx, &args[1], create, |o, out| {
        let l = typed_mut::<List>(o)?;
        for v in &args[2..] {
            l.push(end, v);
        }
        out.integer(l.len() as i64);
        Ok(args.len() - 2)
    })?;
    if !found {
        ctx.out.integer(0);
    }
    Ok(())
}

fn lpush(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    push_generic(ctx, args, End::Left, false)
}

fn rpush(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    push_generic(ctx, args, End::Right, false)
}

fn lpushx(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    push_generic(ctx, args, End::Left, true)
}

fn rpushx(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    push_generic(ctx, args, End::Right, true)
}

fn pop_generic(ctx: &mut Ctx<'_, '_>, args: &[Bytes], end: End) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::msg(format!(
            "ERR wrong number of arguments for '{}' command",
            if end == End::Left { "lpop" } else { "rpop" }
        )));
    }
    let count = match args.get(2) {
        Some(a) => Some(super::zsets::positive(a)?),
        None => None,
    };
    let found = modify_existing::<List>(ctx, &args[1], |l, out| match count {
        None => match l.pop(end) {
            Some(v) => {
                out.bulk(&v);
                Ok(1)
            }
            None => {
                out.null();
                Ok(0)
            }
        },
        Some(n) => {
            let n = usize::try_from(n).unwrap_or(usize::MAX).min(l.len());
            out.array_len(n);
            for _ in 0..n {
                if let Some(v) = l.pop(end) {
                    out.bulk(&v);
                }
            }
            Ok(n)
        }
    })?;
    if !found {
        match count {
            None => ctx.out.null(),
            Some(_) => ctx.out.null_array(),
        }
    }
    Ok(())
}

fn lpop(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    pop_generic(ctx, args, End::Left)
}

fn rpop(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    pop_generic(ctx, args, End::Right)
}

fn llen(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    read_typed::<List>(ctx, &args[1], |l, out| {
        out.integer(l.map_or(0, |l| l.len() as i64))
    })
}

fn lrange(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let (start, stop) = (parse_i64(&args[2])?, parse_i64(&args[3])?);
    read_typed::<List>(ctx, &args[1], |l, out| match l {
        Some(l) => {
            let (n, items) = l.range(start, stop);
            out.array_len(n);
            for e in items {
                reply_elem(out, e);
            }
        }
        None => out.array_len(0),
    })
}

fn lindex(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    // 7.0 looks the key up (and checks its type) before parsing the index.
    read(ctx, &args[1], |o, out| {
        let Some(l) = o.map(typed::<List>).transpose()? else {
            out.null();
            return Ok(());
        };
        match l.get(parse_i64(&args[2])?) {
            Some(e) => reply_elem(out, e),
            None => out.null(),
        }
        Ok(())
    })
}

fn lset(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    // Key, then type, then index, as lsetCommand checks them.
    let found = modify_existing::<List>(ctx, &args[1], |l, out| {
        let index = parse_i64(&args[2])?;
        l.set(index, &args[3]).map_err(types_err)?;
        out.ok();
        Ok(1)
    })?;
    if found {
        Ok(())
    } else {
        Err(CmdError::NO_SUCH_KEY)
    }
}

fn linsert(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let after = if args[2].eq_ignore_ascii_case(b"after") {
        true
    } else if args[2].eq_ignore_ascii_case(b"before") {
        false
    } else {
        return Err(CmdError::SYNTAX);
    };
    let found = modify_existing::<List>(ctx, &args[1], |l, out| {
        match l.insert(&args[3], &args[4], after) {
            Some(n) => {
                out.integer(n as i64);
                Ok(1)
            }
            None => {
                out.integer(-1);
                Ok(0)
            }
        }
    })?;
    if !found {
        ctx.out.integer(0);
    }
    Ok(())
}

fn lrem(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let count = parse_i64(&args[2])?;
    let found = modify_existing::<List>(ctx, &args[1], |l, out| {
        let n = l.remove(count, &args[3]);
        out.integer(n as i64);
        Ok(n)
    })?;
    if !found {
        ctx.out.integer(0);
    }
    Ok(())
}

fn ltrim(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let (start, stop) = (parse_i64(&args[2])?, parse_i64(&args[3])?);
    let found = modify_existing::<List>(ctx, &args[1], |l, out| {
        let before = l.len();
        l.trim(start, stop);
        out.ok();
        Ok(usize::from(l.len() != before))
    })?;
    if !found {
        ctx.out.ok();
    }
    Ok(())
}

fn lpos(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let (mut rank, mut count, mut maxlen) = (1i64, None, 0usize);
    let mut j = 3;
    while j < args.len() {
        let opt = &args[j];
        let Some(val) = args.get(j + 1) else {
            return Err(CmdError::SYNTAX);
        };
        if opt.eq_ignore_ascii_case(b"rank") {
            rank = parse_i64(val)?;
            if rank == 0 {
                return Err(types_err(TypesError::RankZero));
            }
        } else if opt.eq_ignore_ascii_case(b"count") {
            let c = parse_i64(val)
                .ok()
                .filter(|&c| c >= 0)
                .ok_or_else(|| types_err(TypesError::CountNegative))?;
            count = Some(usize::try_from(c).unwrap_or(usize::MAX));
        } else if opt.eq_ignore_ascii_case(b"maxlen") {
            let m = parse_i64(val)
                .ok()
                .filter(|&m| m >= 0)
                .ok_or_else(|| types_err(TypesError::MaxlenNegative))?;
            maxlen = usize::try_from(m).unwrap_or(usize::MAX);
        } else {
            return Err(CmdError::SYNTAX);
        }
        j += 2;
    }
    // 7.0 negates LONG_MIN into itself, so that rank matches the first hit from the tail.
    if rank == i64::MIN {
        rank = -1;
    }
    read(ctx, &args[1], |o, out| {
        let l = o.map(typed::<List>).transpose()?;
        let found = match l {
            Some(l) => l
                .positions(&args[2], rank, count.unwrap_or(1), maxlen)
                .map_err(types_err)?,
            None => Vec::new(),
        };
        match count {
            Some(_) => {
                out.array_len(found.len());
                for i in found {
                    out.integer(i as i64);
                }
            }
            None => match found.first() {
                Some(&i) => out.integer(i as i64),
                None => out.null(),
            },
        }
        Ok(())
    })
}

/// LEFT or RIGHT of LMOVE, BLMOVE, LMPOP and BLMPOP.
pub(super) fn parse_end(a: &[u8]) -> Result<End, CmdError> {
    if a.eq_ignore_ascii_case(b"left") {
        Ok(End::Left)
    } else if a.eq_ignore_ascii_case(b"right") {
        Ok(End::Right)
    } else {
        Err(CmdError::SYNTAX)
    }
}

/// The list under `key` in a locked group: Some(true) a list, Some(false) another type,
/// None absent (expired keys are reclaimed).
fn list_kind(g: &mut MultiGuard<'_>, key: &[u8], now: u64) -> Option<bool> {
    let slot = key_slot(key);
    g.shard(slot)
        .and_then(|sh| sh.get_mut(slot, key, now))
        .map(|e| matches!(e.obj(), Some(Obj::List(_))))
}

/// LMOVE / RPOPLPUSH (lmoveGenericCommand).
fn lmove_generic(ctx: &mut Ctx<'_, '_>, src: &[u8], dst: &[u8], from: End, to: End) -> CmdResult {
    let fill = thresholds(ctx).list_max_listpack_size;
    let (ss, ds) = (key_slot(src), key_slot(dst));
    let now = ctx.now;
    let db = ctx.db();
    let mut g = db.lock_slots(&[ss, ds]);
    match list_kind(&mut g, src, now) {
        None => {
            ctx.out.null();
            return Ok(());
        }
        Some(false) => return Err(CmdError::WRONG_TYPE),
        Some(true) => {}
    }
    if list_kind(&mut g, dst, now) == Some(false) {
        return Err(CmdError::WRONG_TYPE);
    }
    let value = g
        .shard(ss)
        .and_then(|sh| sh.get_mut(ss, src, now))
        .and_then(|e| e.obj_mut())
        .and_then(|o| typed_mut::<List>(o).ok())
        .and_then(|l| l.pop(from));
    let Some(value) = value else {
        ctx.out.null();
        return Ok(());
    };
    if let Some(sh) = g.shard(ds) {
        match sh
            .get_mut(ds, dst, now)
            .and_then(|e| e.obj_mut())
            .and_then(|o| typed_mut::<List>(o).ok())
        {
            Some(l) => {
                l.push(to, &value);
                sh.signal(dst);
            }
            None => {
                let mut l = List::new(fill);
                l.push(to, &value);
                sh.insert(ds, Entry::new_obj(dst, Obj::List(l), lru_clock(now)), now);
            }
        }
    }
    if let Some(sh) = g.shard(ss) {
        let empty = sh
            .get_mut(ss, src, now)
            .and_then(|e| e.obj())
            .is_some_and(|o| o.is_empty());
        if empty {
            sh.remove(ss, src, now);
        } else {
            sh.signal(src);
        }
    }
    drop(g);
    ctx.node.stats.dirty(1);
    ctx.out.bulk(&value);
    super::blocking::signal(ctx.node, ctx.sess.db, dst);
    Ok(())
}

fn lmove(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let from = parse_end(&args[3])?;
    let to = parse_end(&args[4])?;
    lmove_generic(ctx, &args[1], &args[2], from, to)
}

fn rpoplpush(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    lmove_generic(ctx, &args[1], &args[2], End::Right, End::Left)
}

fn lmpop(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let numkeys = parse_i64(&args[1])
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| CmdError::msg("ERR numkeys should be greater than 0"))?;
    let where_idx = usize::try_from(numkeys)
        .ok()
        .and_then(|n| n.checked_add(2))
        .ok_or(CmdError::SYNTAX)?;
    let end = parse_end(args.get(where_idx).ok_or(CmdError::SYNTAX)?)?;
    let count = mpop_count(args, where_idx + 1)?;
    for key in &args[2..where_idx] {
        let found = modify_existing::<List>(ctx, key, |l, out| {
            let n = count.min(l.len());
            out.array_len(2);
            out.bulk(key);
            out.array_len(n);
            for _ in 0..n {
                if let Some(v) = l.pop(end) {
                    out.bulk(&v);
                }
            }
            Ok(n)
        })?;
        if found {
            return Ok(());
        }
    }
    ctx.out.null_array();
    Ok(())
}
