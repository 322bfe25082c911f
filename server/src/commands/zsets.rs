//! Sorted-set commands (t_zset.c).

use bytes::Bytes;
use resp_proto::{Protocol, ReplyWriter};

use super::numbers::parse_i64;
use super::types_common::{
    check_cursor, empty_scan, modify, mpop_count, multi, random_count, read, read_typed,
    reply_elem, scan_opts, scan_reply, thresholds, typed, typed_mut, types_err,
};
use super::{CmdError, CmdResult, Ctx, Handler};
use crate::keyspace::Obj;
use crate::types::num::parse_f64;
use crate::types::zset::{AddFlags, AddOutcome, Aggregate, LexRange, ScoreRange, ZInput};
use crate::types::{Elem, TypesError, Zset};

pub(super) fn handler(name: &str) -> Option<Handler> {
    Some(match name {
        "zadd" => zadd,
        "zincrby" => zincrby,
        "zrem" => zrem,
        "zcard" => zcard,
        "zcount" => zcount,
        "zlexcount" => zlexcount,
        "zscore" => zscore,
        "zmscore" => zmscore,
        "zrank" => zrank,
        "zrevrank" => zrevrank,
        "zrange" => zrange,
        "zrangestore" => zrangestore,
        "zrangebyscore" => zrangebyscore,
        "zrevrangebyscore" => zrevrangebyscore,
        "zrangebylex" => zrangebylex,
        "zrevrangebylex" => zrevrangebylex,
        "zrevrange" => zrevrange,
        "zremrangebyrank" => zremrangebyrank,
        "zremrangebyscore" => zremrangebyscore,
        "zremrangebylex" => zremrangebylex,
        "zpopmin" => zpopmin,
        "zpopmax" => zpopmax,
        "zmpop" => zmpop,
        "zunion" => zunion,
        "zinter" => zinter,
        "zdiff" => zdiff,
        "zunionstore" => zunionstore,
        "zinterstore" => zinterstore,
        "zdiffstore" => zdiffstore,
        "zintercard" => zintercard,
        "zrandmember" => zrandmember,
        "zscan" => zscan,
        _ => return None,
    })
}

fn new_zset() -> Obj {
    Obj::Zset(Zset::new())
}

fn resp3(out: &ReplyWriter<'_>) -> bool {
    out.protocol() == Protocol::Resp3
}

/// How (member, score) pairs are laid out.
#[derive(Clone, Copy)]
enum Nest {
    /// Flat in RESP2, [member, score] arrays in RESP3 (ZRANGE WITHSCORES).
    ByProtocol,
    /// Always [member, score] arrays (ZMPOP).
    Always,
    /// Always flat (ZPOPMIN without a count).
    Never,
}

/// Writes (member, score) results: members alone, or with scores laid out as `nest` says.
fn reply_pairs<'a>(
    out: &mut ReplyWriter<'_>,
    items: impl ExactSizeIterator<Item = (Elem<'a>, f64)>,
    withscores: bool,
    nest: Nest,
) {
    let n = items.len();
    reply_n_pairs(out, n, items, withscores, nest);
}

/// [`reply_pairs`] for an iterator of known length `n` that is produced lazily.
fn reply_n_pairs<'a>(
    out: &mut ReplyWriter<'_>,
    n: usize,
    items: impl Iterator<Item = (Elem<'a>, f64)>,
    withscores: bool,
    nest: Nest,
) {
    let nested = withscores
        && match nest {
            Nest::ByProtocol => resp3(out),
            Nest::Always => true,
            Nest::Never => false,
        };
    out.array_len(if withscores && !nested { n * 2 } else { n });
    for (m, s) in items {
        if nested {
            out.array_len(2);
        }
        reply_elem(out, m);
        if withscores {
            out.double(s);
        }
    }
}

fn zadd_generic(
    ctx: &mut Ctx<'_, '_>,
    args: &[Bytes],
    mut flags: AddFlags,
    ch_default: bool,
) -> CmdResult {
    let mut ch = ch_default;
    let mut idx = 2;
    while let Some(a) = args.get(idx) {
        // Options are short words: compare in place rather than lowercasing a copy.
        let is = |w: &[u8]| a.eq_ignore_ascii_case(w);
        if is(b"nx") {
            flags.nx = true;
        } else if is(b"xx") {
            flags.xx = true;
        } else if is(b"gt") {
            flags.gt = true;
        } else if is(b"lt") {
            flags.lt = true;
        } else if is(b"ch") {
            ch = true;
        } else if is(b"incr") {
            flags.incr = true;
        } else {
            break;
        }
        idx += 1;
    }
    let rest = &args[idx..];
    if rest.is_empty() || rest.len() % 2 == 1 {
        return Err(CmdError::SYNTAX);
    }
    flags.validate(rest.len() / 2).map_err(types_err)?;
    let mut pairs = Vec::with_capacity(rest.len() / 2);
    for p in rest.chunks_exact(2) {
        pairs.push((parse_f64(&p[0]).ok_or(CmdError::NOT_FLOAT)?, &p[1]));
    }
    let th = thresholds(ctx);
    let incr = flags.incr;
    let reply = |out: &mut ReplyWriter<'_>, added: i64, updated: i64, last: Option<f64>| {
        if incr {
            match last {
                Some(s) => out.double(s),
                None => out.null(),
            }
        } else {
            out.integer(if ch { added + updated } else { added });
        }
    };
    let create: Option<&dyn Fn() -> Obj> = if flags.xx { None } else { Some(&new_zset) };
    let found = modify(ctx, &args[1], create, |o, out| {
        let z = typed_mut::<Zset>(o)?;
        let (mut added, mut updated, mut last) = (0, 0, None);
        for (score, member) in &pairs {
            match z.add(member, *score, flags, &th).map_err(types_err)? {
                AddOutcome::Added(s) => {
                    added += 1;
                    last = Some(s);
                }
                AddOutcome::Updated(s) => {
                    updated += 1;
                    last = Some(s);
                }
                AddOutcome::Unchanged(s) => last = Some(s),
                AddOutcome::Skipped => {}
            }
        }
        reply(out, added, updated, last);
        Ok((added + updated) as usize)
    })?;
    if !found {
        reply(ctx.out, 0, 0, None);
    }
    Ok(())
}

fn zadd(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    zadd_generic(ctx, args, AddFlags::default(), false)
}

fn zincrby(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let flags = AddFlags {
        incr: true,
        ..AddFlags::default()
    };
    zadd_generic(ctx, args, flags, false)
}

fn zrem(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let found = modify(ctx, &args[1], None, |o, out| {
        let z = typed_mut::<Zset>(o)?;
        let mut n = 0;
        for m in &args[2..] {
            if z.remove(m) {
                n += 1;
                if z.is_empty() {
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

fn zcard(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    read_typed::<Zset>(ctx, &args[1], |z, out| {
        out.integer(z.map_or(0, |z| z.len() as i64))
    })
}

fn zcount(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let range = ScoreRange::parse(&args[2], &args[3]).map_err(types_err)?;
    read_typed::<Zset>(ctx, &args[1], |z, out| {
        out.integer(z.map_or(0, |z| z.count_by_score(&range) as i64))
    })
}

fn zlexcount(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let range = LexRange::parse(&args[2], &args[3]).map_err(types_err)?;
    read_typed::<Zset>(ctx, &args[1], |z, out| {
        out.integer(z.map_or(0, |z| z.count_by_lex(&range) as i64))
    })
}

fn zscore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    read_typed::<Zset>(ctx, &args[1], |z, out| {
        match z.and_then(|z| z.score(&args[2])) {
            Some(s) => out.double(s),
            None => out.null(),
        }
    })
}

fn zmscore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    read_typed::<Zset>(ctx, &args[1], |z, out| {
        out.array_len(args.len() - 2);
        for m in &args[2..] {
            match z.and_then(|z| z.score(m)) {
                Some(s) => out.double(s),
                None => out.null(),
            }
        }
    })
}

fn rank_generic(ctx: &mut Ctx<'_, '_>, args: &[Bytes], rev: bool) -> CmdResult {
    read_typed::<Zset>(ctx, &args[1], |z, out| {
        match z.and_then(|z| z.rank(&args[2], rev)) {
            Some(r) => out.integer(r as i64),
            None => out.null(),
        }
    })
}

fn zrank(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    rank_generic(ctx, args, false)
}

fn zrevrank(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    rank_generic(ctx, args, true)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RangeType {
    Auto,
    Rank,
    Score,
    Lex,
}

/// A parsed range of ZRANGE and friends.
enum Range {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

struct RangeSpec {
    range: Range,
    rev: bool,
    withscores: bool,
    offset: i64,
    limit: i64,
}

impl RangeSpec {
    fn results<'z>(&self, z: &'z Zset) -> Vec<(Elem<'z>, f64)> {
        match &self.range {
            Range::Rank(a, b) => z.range_by_rank(*a, *b, self.rev),
            Range::Score(r) => z.range_by_score(r, self.rev, self.offset, self.limit),
            Range::Lex(r) => z.range_by_lex(r, self.rev, self.offset, self.limit),
        }
    }
}

/// zrangeGenericCommand's argument parsing; `at` is the index of the source key.
fn parse_range(
    args: &[Bytes],
    at: usize,
    store: bool,
    mut kind: RangeType,
    rev: Option<bool>,
) -> Result<RangeSpec, CmdError> {
    let mut direction = rev;
    let (mut withscores, mut offset, mut limit) = (false, 0i64, -1i64);
    let mut j = at + 3;
    while j < args.len() {
        let a = &args[j];
        let left = args.len() - j - 1;
        if !store && a.eq_ignore_ascii_case(b"withscores") {
            withscores = true;
        } else if a.eq_ignore_ascii_case(b"limit") && left >= 2 {
            offset = parse_i64(&args[j + 1])?;
            limit = parse_i64(&args[j + 2])?;
            j += 2;
        } else if direction.is_none() && a.eq_ignore_ascii_case(b"rev") {
            direction = Some(true);
        } else if kind == RangeType::Auto && a.eq_ignore_ascii_case(b"bylex") {
            kind = RangeType::Lex;
        } else if kind == RangeType::Auto && a.eq_ignore_ascii_case(b"byscore") {
            kind = RangeType::Score;
        } else {
            return Err(CmdError::SYNTAX);
        }
        j += 1;
    }
    let rev = direction.unwrap_or(false);
    if kind == RangeType::Auto {
        kind = RangeType::Rank;
    }
    if limit != -1 && kind == RangeType::Rank {
        return Err(CmdError::msg(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && kind == RangeType::Lex {
        return Err(CmdError::msg(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let (mut lo, mut hi) = (&args[at + 1], &args[at + 2]);
    if rev && kind != RangeType::Rank {
        std::mem::swap(&mut lo, &mut hi);
    }
    let range = match kind {
        RangeType::Score => Range::Score(ScoreRange::parse(lo, hi).map_err(types_err)?),
        RangeType::Lex => Range::Lex(LexRange::parse(lo, hi).map_err(types_err)?),
        _ => Range::Rank(parse_i64(lo)?, parse_i64(hi)?),
    };
    Ok(RangeSpec {
        range,
        rev,
        withscores,
        offset,
        limit,
    })
}

fn range_cmd(
    ctx: &mut Ctx<'_, '_>,
    args: &[Bytes],
    kind: RangeType,
    rev: Option<bool>,
) -> CmdResult {
    let spec = parse_range(args, 1, false, kind, rev)?;
    read_typed::<Zset>(ctx, &args[1], |z, out| match z {
        Some(z) => reply_pairs(
            out,
            spec.results(z).into_iter(),
            spec.withscores,
            Nest::ByProtocol,
        ),
        None => out.array_len(0),
    })
}

fn zrange(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    range_cmd(ctx, args, RangeType::Auto, None)
}

fn zrevrange(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    range_cmd(ctx, args, RangeType::Rank, Some(true))
}

fn zrangebyscore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    range_cmd(ctx, args, RangeType::Score, Some(false))
}

fn zrevrangebyscore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    range_cmd(ctx, args, RangeType::Score, Some(true))
}

fn zrangebylex(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    range_cmd(ctx, args, RangeType::Lex, Some(false))
}

fn zrevrangebylex(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    range_cmd(ctx, args, RangeType::Lex, Some(true))
}

fn owned(items: Vec<(Elem<'_>, f64)>) -> Vec<(Vec<u8>, f64)> {
    items.into_iter().map(|(m, s)| (m.to_vec(), s)).collect()
}

fn zrangestore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let spec = parse_range(args, 2, true, RangeType::Auto, None)?;
    let th = thresholds(ctx);
    multi(ctx, &args[2..3], Some(&args[1]), |objs, out| {
        let pairs = match objs.first().copied().flatten() {
            Some(o) => owned(spec.results(typed::<Zset>(o)?)),
            None => Vec::new(),
        };
        out.integer(pairs.len() as i64);
        Ok(Some(Obj::Zset(Zset::from_pairs(pairs, &th))))
    })
}

fn zremrange(ctx: &mut Ctx<'_, '_>, key: &[u8], range: Range) -> CmdResult {
    let found = modify(ctx, key, None, |o, out| {
        let z = typed_mut::<Zset>(o)?;
        let n = match &range {
            Range::Rank(a, b) => z.remove_range_by_rank(*a, *b),
            Range::Score(r) => z.remove_range_by_score(r),
            Range::Lex(r) => z.remove_range_by_lex(r),
        };
        out.integer(n as i64);
        Ok(n)
    })?;
    if !found {
        ctx.out.integer(0);
    }
    Ok(())
}

fn zremrangebyrank(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let range = Range::Rank(parse_i64(&args[2])?, parse_i64(&args[3])?);
    zremrange(ctx, &args[1], range)
}

fn zremrangebyscore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let range = Range::Score(ScoreRange::parse(&args[2], &args[3]).map_err(types_err)?);
    zremrange(ctx, &args[1], range)
}

fn zremrangebylex(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let range = Range::Lex(LexRange::parse(&args[2], &args[3]).map_err(types_err)?);
    zremrange(ctx, &args[1], range)
}

/// genericZpopCommand: pops from the first non-empty key of `keys`.
/// `count`: None for ZPOPMIN without a count. `zmpop`: the reply names the key, nests the
/// pairs in both protocols and is a null array when nothing was found.
fn zpop_generic(
    ctx: &mut Ctx<'_, '_>,
    keys: &[Bytes],
    max: bool,
    count: Option<u64>,
    zmpop: bool,
) -> CmdResult {
    for key in keys {
        let mut popped_any = false;
        let found = modify(ctx, key, None, |o, out| {
            let z = typed_mut::<Zset>(o)?;
            popped_any = true;
            let n = usize::try_from(count.unwrap_or(1)).unwrap_or(usize::MAX);
            let popped = z.pop(n, max);
            if zmpop {
                out.array_len(2);
                out.bulk(key);
            }
            let items = popped.iter().map(|(m, s)| (Elem::Str(m), *s));
            let nest = match (zmpop, count) {
                (true, _) => Nest::Always,
                (false, Some(_)) => Nest::ByProtocol,
                (false, None) => Nest::Never,
            };
            reply_pairs(out, items, true, nest);
            Ok(popped.len())
        })?;
        if found && popped_any {
            return Ok(());
        }
    }
    if zmpop {
        ctx.out.null_array();
    } else {
        ctx.out.array_len(0);
    }
    Ok(())
}

/// getPositiveLongFromObjectOrReply without a message: one text for junk and negatives.
pub(super) fn positive(a: &[u8]) -> Result<u64, CmdError> {
    parse_i64(a)
        .ok()
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| CmdError::msg("ERR value is out of range, must be positive"))
}

fn zpop_cmd(ctx: &mut Ctx<'_, '_>, args: &[Bytes], max: bool) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::SYNTAX);
    }
    let count = match args.get(2) {
        Some(a) => Some(positive(a)?),
        None => None,
    };
    if count == Some(0) {
        // Redis still checks the key's type before answering the empty array.
        return read(ctx, &args[1], |o, out| {
            o.map(typed::<Zset>).transpose()?;
            out.array_len(0);
            Ok(())
        });
    }
    zpop_generic(ctx, &args[1..2], max, count, false)
}

fn zpopmin(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    zpop_cmd(ctx, args, false)
}

fn zpopmax(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    zpop_cmd(ctx, args, true)
}

/// numkeys as getRangeLongFromObjectOrReply(1..LONG_MAX, "numkeys should be greater than 0"),
/// then the index just past the keys (checked against the arguments present).
fn numkeys(args: &[Bytes], at: usize) -> Result<usize, CmdError> {
    let n = parse_i64(&args[at])
        .map_err(|_| CmdError::msg("ERR numkeys should be greater than 0"))
        .and_then(|n| {
            if n < 1 {
                Err(CmdError::msg("ERR numkeys should be greater than 0"))
            } else {
                Ok(n)
            }
        })?;
    usize::try_from(n)
        .ok()
        .and_then(|n| n.checked_add(at + 1))
        .ok_or(CmdError::SYNTAX)
}

fn zmpop(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let where_idx = numkeys(args, 1)?;
    let max = match args.get(where_idx) {
        Some(w) if w.eq_ignore_ascii_case(b"min") => false,
        Some(w) if w.eq_ignore_ascii_case(b"max") => true,
        _ => return Err(CmdError::SYNTAX),
    };
    let count = mpop_count(args, where_idx + 1)? as u64;
    zpop_generic(ctx, &args[2..where_idx], max, Some(count), true)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
    /// ZINTERCARD: the size of the intersection only.
    InterCard,
}

fn op_name(op: SetOp, store: bool) -> &'static str {
    match (op, store) {
        (SetOp::Union, false) => "zunion",
        (SetOp::Inter, false) => "zinter",
        (SetOp::Diff, false) => "zdiff",
        (SetOp::Union, true) => "zunionstore",
        (SetOp::Inter, true) => "zinterstore",
        (SetOp::Diff, true) => "zdiffstore",
        (SetOp::InterCard, _) => "zintercard",
    }
}

/// zunionInterDiffGenericCommand. `at` is the numkeys index.
fn zsetop(ctx: &mut Ctx<'_, '_>, args: &[Bytes], at: usize, op: SetOp) -> CmdResult {
    let store = at == 2;
    let n = parse_i64(&args[at])?;
    if n < 1 {
        return Err(CmdError::msg(format!(
            "ERR at least 1 input key is needed for '{}' command",
            op_name(op, store)
        )));
    }
    let keys_end = usize::try_from(n)
        .ok()
        .and_then(|n| n.checked_add(at + 1))
        .filter(|&e| e <= args.len())
        .ok_or(CmdError::SYNTAX)?;
    let setnum = keys_end - at - 1;
    let th = thresholds(ctx);
    let dst = store.then(|| args[1].clone());
    multi(ctx, &args[at + 1..keys_end], dst.as_deref(), |objs, out| {
        let mut inputs = Vec::with_capacity(objs.len());
        for o in objs {
            inputs.push(match o {
                Some(Obj::Zset(z)) => ZInput::Zset(z),
                Some(Obj::Set(s)) => ZInput::Set(s),
                Some(_) => return Err(CmdError::WRONG_TYPE),
                None => ZInput::Empty,
            });
        }
        let mut weights = vec![1.0; setnum];
        let mut agg = Aggregate::Sum;
        let mut withscores = false;
        let mut limit = 0usize;
        let card = op == SetOp::InterCard;
        let mixes = op != SetOp::Diff && !card;
        let mut j = keys_end;
        while j < args.len() {
            let remaining = args.len() - j;
            let a = &args[j];
            if mixes && remaining > setnum && a.eq_ignore_ascii_case(b"weights") {
                for (i, w) in weights.iter_mut().enumerate() {
                    *w = parse_f64(&args[j + 1 + i])
                        .ok_or_else(|| types_err(TypesError::WeightNotFloat))?;
                }
                j += setnum + 1;
            } else if mixes && remaining >= 2 && a.eq_ignore_ascii_case(b"aggregate") {
                agg = match args[j + 1].to_ascii_lowercase().as_slice() {
                    b"sum" => Aggregate::Sum,
                    b"min" => Aggregate::Min,
                    b"max" => Aggregate::Max,
                    _ => return Err(CmdError::SYNTAX),
                };
                j += 2;
            } else if !store && !card && a.eq_ignore_ascii_case(b"withscores") {
                withscores = true;
                j += 1;
            } else if card && remaining >= 2 && a.eq_ignore_ascii_case(b"limit") {
                let l = parse_i64(&args[j + 1])
                    .ok()
                    .filter(|&l| l >= 0)
                    .ok_or_else(|| CmdError::msg("ERR LIMIT can't be negative"))?;
                limit = usize::try_from(l).unwrap_or(usize::MAX);
                j += 2;
            } else {
                return Err(CmdError::SYNTAX);
            }
        }
        let pairs = match op {
            SetOp::Union => Zset::union(&inputs, &weights, agg),
            SetOp::Inter => Zset::inter(&inputs, &weights, agg),
            SetOp::Diff => Zset::diff(&inputs),
            SetOp::InterCard => {
                let n = Zset::inter(&inputs, &weights, agg).len();
                out.integer(if limit == 0 { n } else { n.min(limit) } as i64);
                return Ok(None);
            }
        };
        if store {
            out.integer(pairs.len() as i64);
            return Ok(Some(Obj::Zset(Zset::from_pairs(pairs, &th))));
        }
        let items = pairs.iter().map(|(m, s)| (Elem::Str(m), *s));
        reply_pairs(out, items, withscores, Nest::ByProtocol);
        Ok(None)
    })
}

fn zunion(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    zsetop(ctx, args, 1, SetOp::Union)
}

fn zinter(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    zsetop(ctx, args, 1, SetOp::Inter)
}

fn zdiff(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    zsetop(ctx, args, 1, SetOp::Diff)
}

fn zunionstore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    zsetop(ctx, args, 2, SetOp::Union)
}

fn zinterstore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    zsetop(ctx, args, 2, SetOp::Inter)
}

fn zdiffstore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    zsetop(ctx, args, 2, SetOp::Diff)
}

fn zintercard(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    zsetop(ctx, args, 1, SetOp::InterCard)
}

fn zrandmember(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let mut rng = fastrand::Rng::new();
    if args.len() == 2 {
        return read_typed::<Zset>(ctx, &args[1], |z, out| {
            match z.and_then(|z| {
                let n = z.len();
                (n > 0)
                    .then(|| z.walk(rng.usize(..n), false).next())
                    .flatten()
            }) {
                Some((m, _)) => reply_elem(out, m),
                None => out.null(),
            }
        });
    }
    let (count, withscores) = random_count(args, Some(b"withscores"))?;
    read_typed::<Zset>(ctx, &args[1], |z, out| {
        let Some(z) = z.filter(|_| count != 0) else {
            out.array_len(0);
            return;
        };
        if count < 0 {
            let n = count.unsigned_abs();
            // Streamed: a big negative count costs output, not a second copy.
            let items = z.random_repeating(n, &mut rng);
            reply_n_pairs(out, n as usize, items, withscores, Nest::ByProtocol);
        } else {
            let items = z.random_distinct(count as u64, &mut rng);
            reply_pairs(out, items.into_iter(), withscores, Nest::ByProtocol);
        }
    })
}

fn zscan(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let cursor = check_cursor(&args[2])?;
    read(ctx, &args[1], |o, out| {
        let Some(o) = o else {
            empty_scan(out);
            return Ok(());
        };
        let z = typed::<Zset>(o)?;
        let opts = scan_opts(args)?;
        let mut items = Vec::new();
        let next = z.scan(cursor, opts.count, |m, s| {
            if opts.matches(m) {
                items.push(m.to_vec());
                items.push(crate::types::num::g17(s));
            }
        });
        scan_reply(out, next, &items);
        Ok(())
    })
}
