//! Hash commands (t_hash.c).

use bytes::Bytes;

use super::longdouble::{LongDouble, Parsed};
use super::numbers::parse_i64;
use super::types_common::{
    check_cursor, empty_scan, modify, modify_existing, random_count, read, read_typed, reply_elem,
    scan_opts, scan_reply, thresholds, typed, typed_mut, types_err,
};
use super::{CmdError, CmdResult, Ctx, Handler};
use crate::keyspace::Obj;
use crate::types::{Elem, Hash, TypesError};
use resp_proto::ReplyWriter;

pub(super) fn handler(name: &str) -> Option<Handler> {
    Some(match name {
        "hset" => hset,
        "hmset" => hmset,
        "hsetnx" => hsetnx,
        "hget" => hget,
        "hmget" => hmget,
        "hdel" => hdel,
        "hlen" => hlen,
        "hstrlen" => hstrlen,
        "hexists" => hexists,
        "hkeys" => hkeys,
        "hvals" => hvals,
        "hgetall" => hgetall,
        "hincrby" => hincrby,
        "hincrbyfloat" => hincrbyfloat,
        "hrandfield" => hrandfield,
        "hscan" => hscan,
        _ => return None,
    })
}

fn new_hash() -> Obj {
    Obj::Hash(Hash::new())
}

/// Runs `f` on the hash at `key`, or on a new one stored when it ends up non-empty.
fn with_hash(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    f: impl FnOnce(&mut Hash, &mut ReplyWriter<'_>) -> Result<usize, CmdError>,
) -> CmdResult {
    modify(ctx, key, Some(&new_hash), |o, out| {
        f(typed_mut::<Hash>(o)?, out)
    })
    .map(|_| ())
}

fn set_pairs(ctx: &mut Ctx<'_, '_>, args: &[Bytes], name: &str, hmset: bool) -> CmdResult {
    if args.len() % 2 == 1 {
        return Err(CmdError::msg(format!(
            "ERR wrong number of arguments for '{name}' command"
        )));
    }
    let th = thresholds(ctx);
    with_hash(ctx, &args[1], |h, out| {
        let mut created = 0;
        for pair in args[2..].chunks_exact(2) {
            if h.set(&pair[0], &pair[1], &th) {
                created += 1;
            }
        }
        if hmset {
            out.ok();
        } else {
            out.integer(created);
        }
        Ok(1)
    })
}

fn hset(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    set_pairs(ctx, args, "hset", false)
}

fn hmset(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    set_pairs(ctx, args, "hmset", true)
}

fn hsetnx(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let th = thresholds(ctx);
    with_hash(ctx, &args[1], |h, out| {
        let set = h.set_nx(&args[2], &args[3], &th);
        out.integer(i64::from(set));
        Ok(usize::from(set))
    })
}

fn hget(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    read_typed::<Hash>(ctx, &args[1], |h, out| {
        match h.and_then(|h| h.get(&args[2])) {
            Some(v) => reply_elem(out, v),
            None => out.null(),
        }
    })
}

fn hmget(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    read_typed::<Hash>(ctx, &args[1], |h, out| {
        out.array_len(args.len() - 2);
        for f in &args[2..] {
            match h.and_then(|h| h.get(f)) {
                Some(v) => reply_elem(out, v),
                None => out.null(),
            }
        }
    })
}

fn hdel(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let found = modify_existing::<Hash>(ctx, &args[1], |h, out| {
        let mut n = 0;
        for f in &args[2..] {
            if h.remove(f) {
                n += 1;
                if h.is_empty() {
                    break;
                }
            }
        }
        out.integer(n as i64);
        Ok(n)
    })?;
    if !found {
        ctx.out.integer(0);
    }
    Ok(())
}

fn hlen(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    read_typed::<Hash>(ctx, &args[1], |h, out| {
        out.integer(h.map_or(0, |h| h.len() as i64))
    })
}

fn hstrlen(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    read_typed::<Hash>(ctx, &args[1], |h, out| {
        out.integer(h.map_or(0, |h| h.value_len(&args[2]) as i64))
    })
}

fn hexists(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    read_typed::<Hash>(ctx, &args[1], |h, out| {
        out.integer(i64::from(h.is_some_and(|h| h.contains(&args[2]))))
    })
}

/// HKEYS / HVALS / HGETALL (genericHgetallCommand).
fn getall(ctx: &mut Ctx<'_, '_>, key: &[u8], keys: bool, vals: bool) -> CmdResult {
    read_typed::<Hash>(ctx, key, |h, out| {
        let n = h.map_or(0, Hash::len);
        if keys && vals {
            out.map_len(n);
        } else {
            out.array_len(n);
        }
        if let Some(h) = h {
            for (f, v) in h.iter() {
                if keys {
                    reply_elem(out, f);
                }
                if vals {
                    reply_elem(out, v);
                }
            }
        }
    })
}

fn hkeys(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    getall(ctx, &args[1], true, false)
}

fn hvals(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    getall(ctx, &args[1], false, true)
}

fn hgetall(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    getall(ctx, &args[1], true, true)
}

fn hincrby(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let delta = parse_i64(&args[3])?;
    let th = thresholds(ctx);
    with_hash(ctx, &args[1], |h, out| {
        let n = h.incr_by(&args[2], delta, &th).map_err(types_err)?;
        out.integer(n);
        Ok(1)
    })
}

fn hincrbyfloat(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let incr = match LongDouble::parse(&args[3]).ok_or(CmdError::NOT_FLOAT)? {
        Parsed::Finite(v) => v,
        _ => return Err(CmdError::msg("ERR value is NaN or Infinity")),
    };
    let th = thresholds(ctx);
    with_hash(ctx, &args[1], |h, out| {
        let cur = match h.get(&args[2]) {
            Some(Elem::Int(n)) => LongDouble::from_i64(n),
            Some(Elem::Str(s)) => match LongDouble::parse(s) {
                Some(Parsed::Finite(v)) => v,
                // Redis reads "inf" and fails only on the sum.
                Some(Parsed::Infinite) => return Err(types_err(TypesError::NanOrInfinity)),
                None => return Err(types_err(TypesError::HashValueNotFloat)),
            },
            None => LongDouble::from_i64(0),
        };
        let text = cur
            .add(&incr)
            .ok_or_else(|| types_err(TypesError::NanOrInfinity))?
            .format_human();
        h.set(&args[2], text.as_bytes(), &th);
        out.bulk(text.as_bytes());
        Ok(1)
    })
}

fn hrandfield(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    if args.len() == 2 {
        let mut rng = fastrand::Rng::new();
        return read_typed::<Hash>(ctx, &args[1], |h, out| {
            match h.and_then(|h| h.random_field(&mut rng)) {
                Some((f, _)) => reply_elem(out, f),
                None => out.null(),
            }
        });
    }
    let (count, withvalues) = random_count(args, Some(b"withvalues"))?;
    let mut rng = fastrand::Rng::new();
    read_typed::<Hash>(ctx, &args[1], |h, out| {
        let Some(h) = h.filter(|_| count != 0) else {
            out.array_len(0);
            return;
        };
        let resp3 = out.protocol() == resp_proto::Protocol::Resp3;
        let write_pairs =
            |out: &mut ReplyWriter<'_>,
             n: usize,
             pairs: &mut dyn Iterator<Item = (Elem<'_>, Elem<'_>)>| {
                out.array_len(if withvalues && !resp3 { n * 2 } else { n });
                for (f, v) in pairs {
                    if withvalues && resp3 {
                        out.array_len(2);
                    }
                    reply_elem(out, f);
                    if withvalues {
                        reply_elem(out, v);
                    }
                }
            };
        if count < 0 {
            let n = count.unsigned_abs();
            write_pairs(out, n as usize, &mut h.random_repeating(n, &mut rng));
        } else {
            let picked = h.random_distinct(count as u64, &mut rng);
            write_pairs(out, picked.len(), &mut picked.into_iter());
        }
    })
}

fn hscan(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let cursor = check_cursor(&args[2])?;
    read(ctx, &args[1], |o, out| {
        let Some(o) = o else {
            empty_scan(out);
            return Ok(());
        };
        let h = typed::<Hash>(o)?;
        let opts = scan_opts(args)?;
        let mut items = Vec::new();
        let next = h.scan(cursor, opts.count, |f, v| {
            if opts.matches(f) {
                items.push(f.to_vec());
                items.push(v.to_vec());
            }
        });
        scan_reply(out, next, &items);
        Ok(())
    })
}
