//! Set commands (t_set.c).

use bytes::Bytes;
use resp_proto::ReplyWriter;

use super::numbers::parse_i64;
use super::types_common::{
    check_cursor, empty_scan, modify, multi, random_count, read, read_typed, reply_elem, scan_opts,
    scan_reply, thresholds, typed, typed_mut,
};
use super::{CmdError, CmdResult, Ctx, Handler};
use crate::keyspace::Obj;
use crate::types::{Elem, Set};

pub(super) fn handler(name: &str) -> Option<Handler> {
    Some(match name {
        "sadd" => sadd,
        "srem" => srem,
        "smembers" => smembers,
        "sismember" => sismember,
        "smismember" => smismember,
        "scard" => scard,
        "spop" => spop,
        "srandmember" => srandmember,
        "smove" => smove,
        "sinter" => sinter,
        "sintercard" => sintercard,
        "sinterstore" => sinterstore,
        "sunion" => sunion,
        "sunionstore" => sunionstore,
        "sdiff" => sdiff,
        "sdiffstore" => sdiffstore,
        "sscan" => sscan,
        _ => return None,
    })
}

/// Writes members as a set reply (`~` in RESP3).
fn reply_members<'a>(out: &mut ReplyWriter<'_>, n: usize, members: impl Iterator<Item = Elem<'a>>) {
    out.set_len(n);
    for m in members {
        reply_elem(out, m);
    }
}

fn sadd(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let th = thresholds(ctx);
    let first = args[2].clone();
    let create = move || Obj::Set(Set::new_for(&first));
    modify(ctx, &args[1], Some(&create), |o, out| {
        let s = typed_mut::<Set>(o)?;
        let added = args[2..].iter().filter(|m| s.add(m, &th)).count();
        out.integer(added as i64);
        Ok(added)
    })
    .map(|_| ())
}

fn srem(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let found = modify(ctx, &args[1], None, |o, out| {
        let s = typed_mut::<Set>(o)?;
        let mut removed = 0;
        for m in &args[2..] {
            if s.remove(m) {
                removed += 1;
                if s.is_empty() {
                    break;
                }
            }
        }
        out.integer(removed as i64);
        Ok(removed)
    })?;
    if !found {
        ctx.out.integer(0);
    }
    Ok(())
}

fn smembers(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    read_typed::<Set>(ctx, &args[1], |s, out| match s {
        Some(s) => reply_members(out, s.len(), s.iter()),
        None => out.set_len(0),
    })
}

fn sismember(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    read_typed::<Set>(ctx, &args[1], |s, out| {
        out.integer(i64::from(s.is_some_and(|s| s.contains(&args[2]))))
    })
}

fn smismember(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    read_typed::<Set>(ctx, &args[1], |s, out| {
        out.array_len(args.len() - 2);
        for m in &args[2..] {
            out.integer(i64::from(s.is_some_and(|s| s.contains(m))));
        }
    })
}

fn scard(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    read_typed::<Set>(ctx, &args[1], |s, out| {
        out.integer(s.map_or(0, |s| s.len() as i64))
    })
}

fn spop(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let count = match args.len() {
        2 => None,
        3 => Some(super::zsets::positive(&args[2])?),
        _ => return Err(CmdError::SYNTAX),
    };
    let mut rng = fastrand::Rng::new();
    let found = modify(ctx, &args[1], None, |o, out| {
        let s = typed_mut::<Set>(o)?;
        match count {
            None => {
                let m = s.pop(&mut rng);
                match &m {
                    Some(m) => out.bulk(m),
                    None => out.null(),
                }
                Ok(usize::from(m.is_some()))
            }
            Some(n) => {
                let popped = s.pop_count(n, &mut rng);
                out.set_len(popped.len());
                for m in &popped {
                    out.bulk(m);
                }
                Ok(usize::from(!popped.is_empty()))
            }
        }
    })?;
    if !found {
        match count {
            None => ctx.out.null(),
            Some(_) => ctx.out.set_len(0),
        }
    }
    Ok(())
}

fn srandmember(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let mut rng = fastrand::Rng::new();
    let count = match args.len() {
        2 => {
            return read_typed::<Set>(ctx, &args[1], |s, out| {
                match s.and_then(|s| s.random_member(&mut rng)) {
                    Some(m) => reply_elem(out, m),
                    None => out.null(),
                }
            })
        }
        3 => random_count(args, None)?.0,
        _ => return Err(CmdError::SYNTAX),
    };
    read_typed::<Set>(ctx, &args[1], |s, out| {
        let Some(s) = s.filter(|_| count != 0) else {
            out.array_len(0);
            return;
        };
        if count < 0 {
            let n = count.unsigned_abs();
            out.array_len(n as usize);
            for m in s.random_repeating(n, &mut rng) {
                reply_elem(out, m);
            }
        } else {
            let picked = s.random_distinct(count as u64, &mut rng);
            out.array_len(picked.len());
            for m in picked {
                reply_elem(out, m);
            }
        }
    })
}

fn smove(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let (src, dst, member) = (&args[1], &args[2], &args[3]);
    let th = thresholds(ctx);
    let slots = [
        crate::keyspace::key_slot(src),
        crate::keyspace::key_slot(dst),
    ];
    let db = ctx.db();
    let now = ctx.now;
    let mut g = db.lock_slots(&slots);
    let exists = |g: &mut crate::keyspace::MultiGuard<'_>, slot: u16, key: &[u8]| {
        g.shard(slot)
            .and_then(|sh| sh.get_mut(slot, key, now))
            .map(|e| e.obj().is_some_and(|o| matches!(o, Obj::Set(_))))
    };
    let Some(src_ok) = exists(&mut g, slots[0], src) else {
        ctx.out.integer(0);
        return Ok(());
    };
    if !src_ok || exists(&mut g, slots[1], dst) == Some(false) {
        return Err(CmdError::WRONG_TYPE);
    }
    let src_entry = g
        .shard(slots[0])
        .and_then(|sh| sh.get_mut(slots[0], src, now));
    let Some(src_set) = src_entry
        .and_then(|e| e.obj_mut())
        .and_then(|o| typed_mut::<Set>(o).ok())
    else {
        ctx.out.integer(0);
        return Ok(());
    };
    if src == dst {
        ctx.out.integer(i64::from(src_set.contains(member)));
        return Ok(());
    }
    if !src_set.remove(member) {
        ctx.out.integer(0);
        return Ok(());
    }
    let emptied = src_set.is_empty();
    if let Some(sh) = g.shard(slots[0]) {
        if emptied {
            sh.remove(slots[0], src, now);
        } else {
            sh.signal(src);
        }
    }
    let mut dirty = 1;
    if let Some(sh) = g.shard(slots[1]) {
        match sh.get_mut(slots[1], dst, now).and_then(|e| e.obj_mut()) {
            Some(Obj::Set(d)) => {
                if d.add(member, &th) {
                    dirty += 1;
                }
                sh.signal(dst);
            }
            _ => {
                let mut d = Set::new_for(member);
                d.add(member, &th);
                dirty += 1;
                let e = crate::keyspace::Entry::new_obj(
                    dst,
                    Obj::Set(d),
                    crate::keyspace::lru_clock(now),
                );
                sh.insert(slots[1], e, now);
            }
        }
    }
    drop(g);
    ctx.node.stats.dirty(dirty);
    ctx.out.integer(1);
    Ok(())
}

/// The sets among `objs`, None when some key is absent (then the intersection is empty).
fn all_sets<'a>(objs: &[Option<&'a Obj>]) -> Result<Option<Vec<&'a Set>>, CmdError> {
    let mut sets = Vec::with_capacity(objs.len());
    let mut missing = false;
    for o in objs {
        match o {
            Some(o) => sets.push(typed::<Set>(o)?),
            None => missing = true,
        }
    }
    Ok((!missing).then_some(sets))
}

/// The sets among `objs`, absent keys left out.
fn present_sets<'a>(objs: &[Option<&'a Obj>]) -> Result<Vec<&'a Set>, CmdError> {
    objs.iter().flatten().map(|o| typed::<Set>(o)).collect()
}

fn sinter(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    multi(ctx, &args[1..], None, |objs, out| {
        match all_sets(objs)? {
            Some(sets) => {
                let members = Set::inter(&sets);
                reply_members(out, members.len(), members.into_iter());
            }
            None => out.set_len(0),
        }
        Ok(None)
    })
}

fn sinterstore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let th = thresholds(ctx);
    multi(ctx, &args[2..], Some(&args[1]), |objs, out| {
        let result = match all_sets(objs)? {
            Some(sets) => Set::from_members(Set::inter(&sets), &th),
            None => Set::new_intset(),
        };
        out.integer(result.len() as i64);
        Ok(Some(Obj::Set(result)))
    })
}

fn sintercard(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let numkeys = parse_i64(&args[1])
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| CmdError::msg("ERR numkeys should be greater than 0"))?;
    let keys_end = usize::try_from(numkeys)
        .ok()
        .and_then(|n| n.checked_add(2))
        .filter(|&e| e <= args.len())
        .ok_or_else(|| CmdError::msg("ERR Number of keys can't be greater than number of args"))?;
    let mut limit = 0usize;
    let mut i = keys_end;
    while i < args.len() {
        if args[i].eq_ignore_ascii_case(b"limit") && i + 1 < args.len() {
            let l = parse_i64(&args[i + 1])
                .ok()
                .filter(|&l| l >= 0)
                .ok_or_else(|| CmdError::msg("ERR LIMIT can't be negative"))?;
            limit = usize::try_from(l).unwrap_or(usize::MAX);
            i += 2;
        } else {
            return Err(CmdError::SYNTAX);
        }
    }
    multi(ctx, &args[2..keys_end], None, |objs, out| {
        let n = match all_sets(objs)? {
            Some(sets) => Set::inter_card(&sets, limit),
            None => 0,
        };
        out.integer(n as i64);
        Ok(None)
    })
}

fn sunion_diff(ctx: &mut Ctx<'_, '_>, keys: &[Bytes], dst: Option<&[u8]>, diff: bool) -> CmdResult {
    let th = thresholds(ctx);
    multi(ctx, keys, dst, |objs, out| {
        let sets = present_sets(objs)?;
        let result = if diff {
            match objs.first() {
                Some(Some(_)) => Set::diff(&sets, &th),
                _ => Set::new_intset(),
            }
        } else {
            Set::union(&sets, &th)
        };
        if dst.is_some() {
            out.integer(result.len() as i64);
            Ok(Some(Obj::Set(result)))
        } else {
            reply_members(out, result.len(), result.iter());
            Ok(None)
        }
    })
}

fn sunion(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    sunion_diff(ctx, &args[1..], None, false)
}

fn sunionstore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    sunion_diff(ctx, &args[2..], Some(&args[1]), false)
}

fn sdiff(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    sunion_diff(ctx, &args[1..], None, true)
}

fn sdiffstore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    sunion_diff(ctx, &args[2..], Some(&args[1]), true)
}

fn sscan(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let cursor = check_cursor(&args[2])?;
    read(ctx, &args[1], |o, out| {
        let Some(o) = o else {
            empty_scan(out);
            return Ok(());
        };
        let s = typed::<Set>(o)?;
        let opts = scan_opts(args)?;
        let mut items = Vec::new();
        let next = s.scan(cursor, opts.count, |m| {
            if opts.matches(m) {
                items.push(m.to_vec());
            }
        });
        scan_reply(out, next, &items);
        Ok(())
    })
}
