//! Shared plumbing of the list, hash, set and sorted-set commands: typed lookups that answer
//! WRONGTYPE, the write path that creates a key on first use and deletes it when it empties,
//! element replies, SCAN-family and random-count argument parsing.

use bytes::Bytes;
use resp_proto::ReplyWriter;

use super::numbers::parse_i64;
use super::{CmdError, CmdResult, Ctx};
use crate::keyspace::{key_slot, lru_clock, Entry, Obj};
use crate::types::{Elem, Hash, List, Set, Thresholds, TypesError, Zset};

/// A data-type error as the client sees it.
pub(super) fn types_err(e: TypesError) -> CmdError {
    CmdError::msg(e.text())
}

/// The optional `COUNT n` that ends LMPOP, ZMPOP and their blocking forms (default 1).
pub(super) fn mpop_count(args: &[Bytes], from: usize) -> Result<usize, CmdError> {
    match args.get(from..).unwrap_or_default() {
        [] => Ok(1),
        [word, n] if word.eq_ignore_ascii_case(b"count") => parse_i64(n)
            .ok()
            .filter(|&c| c >= 1)
            .map(|c| usize::try_from(c).unwrap_or(usize::MAX))
            .ok_or_else(|| CmdError::msg("ERR count should be greater than 0")),
        _ => Err(CmdError::SYNTAX),
    }
}

/// The encoding thresholds of the running configuration.
pub(super) fn thresholds(ctx: &Ctx<'_, '_>) -> Thresholds {
    ctx.node.config.current().thresholds
}

/// A bulk reply of an element.
pub(super) fn reply_elem(out: &mut ReplyWriter<'_>, e: Elem<'_>) {
    match e {
        Elem::Str(s) => out.bulk(s),
        Elem::Int(n) => out.bulk(itoa::Buffer::new().format(n).as_bytes()),
    }
}

/// The collection of an entry, or WRONGTYPE for a string.
fn obj_of(e: &Entry) -> Result<&Obj, CmdError> {
    e.obj().ok_or(CmdError::WRONG_TYPE)
}

/// Reads `key` (counting a keyspace hit or miss); `f` sees None when the key is absent and
/// writes the reply.
pub(super) fn read(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    f: impl FnOnce(Option<&Obj>, &mut ReplyWriter<'_>) -> CmdResult,
) -> CmdResult {
    let slot = key_slot(key);
    let mut shard = ctx.db().lock_slot(slot);
    match shard.lookup_read(slot, key, ctx.now) {
        Some(e) => f(Some(obj_of(e)?), ctx.out),
        None => f(None, ctx.out),
    }
}

/// A collection type a key can hold. The list, hash, set and sorted-set commands reach
/// their values through it; any other value at the key is WRONGTYPE.
pub(super) trait Typed: Sized {
    fn of(o: &Obj) -> Option<&Self>;
    fn of_mut(o: &mut Obj) -> Option<&mut Self>;
}

macro_rules! typed_variants {
    ($($t:ident),*) => {$(
        impl Typed for $t {
            fn of(o: &Obj) -> Option<&Self> {
                match o {
                    Obj::$t(v) => Some(v),
                    _ => None,
                }
            }
            fn of_mut(o: &mut Obj) -> Option<&mut Self> {
                match o {
                    Obj::$t(v) => Some(v),
                    _ => None,
                }
            }
        }
    )*};
}

typed_variants!(List, Hash, Set, Zset);

/// The value as a `T`, or WRONGTYPE.
pub(super) fn typed<T: Typed>(o: &Obj) -> Result<&T, CmdError> {
    T::of(o).ok_or(CmdError::WRONG_TYPE)
}

/// The value as a mutable `T`, or WRONGTYPE.
pub(super) fn typed_mut<T: Typed>(o: &mut Obj) -> Result<&mut T, CmdError> {
    T::of_mut(o).ok_or(CmdError::WRONG_TYPE)
}

/// Reads the `T` at `key` (None when absent); `f` writes the reply.
pub(super) fn read_typed<T: Typed>(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    f: impl FnOnce(Option<&T>, &mut ReplyWriter<'_>),
) -> CmdResult {
    read(ctx, key, |o, out| {
        f(o.map(typed::<T>).transpose()?, out);
        Ok(())
    })
}

/// Changes the `T` at `key` if it exists (see [`modify`]); false when absent.
pub(super) fn modify_existing<T: Typed>(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    f: impl FnOnce(&mut T, &mut ReplyWriter<'_>) -> Result<usize, CmdError>,
) -> Result<bool, CmdError> {
    modify(ctx, key, None, |o, out| f(typed_mut(o)?, out))
}

/// Changes `key` in place; `f` writes the reply and returns the number of changes (dirty
/// count; 0 means untouched). An absent key is created from `create`; without one, `f` is
/// not called and the result is false. A collection left empty is deleted.
pub(super) fn modify(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    create: Option<&dyn Fn() -> Obj>,
    f: impl FnOnce(&mut Obj, &mut ReplyWriter<'_>) -> Result<usize, CmdError>,
) -> Result<bool, CmdError> {
    let slot = key_slot(key);
    let mut shard = ctx.db().lock_slot(slot);
    let blockable;
    let changes = match shard.get_mut(slot, key, ctx.now) {
        Some(e) => {
            let obj = e.obj_mut().ok_or(CmdError::WRONG_TYPE)?;
            let changes = f(obj, ctx.out)?;
            blockable = matches!(obj, Obj::List(_) | Obj::Zset(_));
            if obj.is_empty() {
                shard.remove(slot, key, ctx.now);
            } else if changes > 0 {
                shard.signal(key);
            }
            changes
        }
        None => {
            let Some(create) = create else {
                return Ok(false);
            };
            let mut obj = create();
            let changes = f(&mut obj, ctx.out)?;
            blockable = matches!(obj, Obj::List(_) | Obj::Zset(_));
            if !obj.is_empty() {
                shard.insert(slot, Entry::new_obj(key, obj, lru_clock(ctx.now)), ctx.now);
            }
            changes
        }
    };
    drop(shard);
    if changes > 0 {
        ctx.node.stats.dirty(changes as u64);
        if blockable {
            super::blocking::signal(ctx.node, ctx.sess.db, key);
        }
    }
    Ok(true)
}

/// Reads several keys at once (SINTER, ZUNIONSTORE, ...): locks their shards (and `dst`'s),
/// reclaims expired keys counting hits and misses like lookupKeyRead, answers WRONGTYPE if
/// any key holds a string, then lets `f` see the collections (None for absent keys) and
/// write the reply. With `dst`, what `f` returns is stored there (nothing or an empty
/// collection deletes `dst`), all under the same locks.
pub(super) fn multi(
    ctx: &mut Ctx<'_, '_>,
    keys: &[Bytes],
    dst: Option<&[u8]>,
    f: impl FnOnce(&[Option<&Obj>], &mut ReplyWriter<'_>) -> Result<Option<Obj>, CmdError>,
) -> CmdResult {
    let slots: Vec<u16> = keys
        .iter()
        .map(|k| key_slot(k))
        .chain(dst.map(key_slot))
        .collect();
    let db = ctx.db();
    let mut g = db.lock_slots(&slots);
    let now = ctx.now;
    for (k, &slot) in keys.iter().zip(&slots) {
        if let Some(sh) = g.shard(slot) {
            sh.lookup_read(slot, k, now);
        }
    }
    let result = {
        let mut objs = Vec::with_capacity(keys.len());
        for (k, &slot) in keys.iter().zip(&slots) {
            let found = g.shard_ref(slot).and_then(|sh| sh.peek(slot, k));
            objs.push(match found {
                Some(e) => Some(obj_of(e)?),
                None => None,
            });
        }
        f(&objs, ctx.out)?
    };
    let Some(dst) = dst else {
        return Ok(());
    };
    let slot = key_slot(dst);
    let Some(sh) = g.shard(slot) else {
        return Ok(());
    };
    let mut blockable = false;
    let changed = match result.filter(|o| !o.is_empty()) {
        Some(o) => {
            blockable = matches!(o, Obj::List(_) | Obj::Zset(_));
            sh.insert(slot, Entry::new_obj(dst, o, lru_clock(now)), now);
            true
        }
        None => sh.remove(slot, dst, now).is_some(),
    };
    drop(g);
    if changed {
        ctx.node.stats.dirty(1);
    }
    if blockable {
        super::blocking::signal(ctx.node, ctx.sess.db, dst);
    }
    Ok(())
}

/// HSCAN/SSCAN/ZSCAN options after the cursor: MATCH and COUNT (TYPE is SCAN's only).
pub(super) struct ScanOpts {
    /// The MATCH pattern, None for everything.
    pub pattern: Option<Bytes>,
    /// COUNT: about how many elements a step of a large encoding visits (10 by default).
    pub count: usize,
}

/// parseScanCursorOrReply: checked before the key is looked up.
pub(super) fn check_cursor(arg: &[u8]) -> Result<u64, CmdError> {
    parse_cursor(arg).ok_or_else(|| CmdError::msg("ERR invalid cursor"))
}

/// The option loop of scanGenericCommand (after the key's type was checked).
pub(super) fn scan_opts(args: &[Bytes]) -> Result<ScanOpts, CmdError> {
    let mut pattern = None;
    let mut count = 10;
    let mut i = 3;
    while i < args.len() {
        let more = args.len() - i;
        if args[i].eq_ignore_ascii_case(b"count") && more >= 2 {
            let n = parse_i64(&args[i + 1])?;
            if n < 1 {
                return Err(CmdError::SYNTAX);
            }
            count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if args[i].eq_ignore_ascii_case(b"match") && more >= 2 {
            pattern = Some(args[i + 1].clone()).filter(|p| p.as_ref() != b"*");
        } else {
            return Err(CmdError::SYNTAX);
        }
        i += 2;
    }
    Ok(ScanOpts { pattern, count })
}

/// strtoul as Redis uses it for cursors: the C string (up to a NUL), empty meaning 0,
/// otherwise an optional sign and digits, nothing else, no overflow.
fn parse_cursor(b: &[u8]) -> Option<u64> {
    let b = b.split(|&c| c == 0).next().unwrap_or(b);
    if b.is_empty() {
        return Some(0);
    }
    let (neg, digits) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, b),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

impl ScanOpts {
    /// Whether `e` passes MATCH.
    pub fn matches(&self, e: Elem<'_>) -> bool {
        match &self.pattern {
            None => true,
            Some(p) => match e {
                Elem::Str(s) => crate::keyspace::string_match(p, s, false),
                Elem::Int(n) => crate::keyspace::string_match(
                    p,
                    itoa::Buffer::new().format(n).as_bytes(),
                    false,
                ),
            },
        }
    }
}

/// Writes a scan step's reply: the next cursor and the flat items.
pub(super) fn scan_reply(out: &mut ReplyWriter<'_>, cursor: u64, items: &[Vec<u8>]) {
    out.array_len(2);
    out.bulk(itoa::Buffer::new().format(cursor).as_bytes());
    out.array_len(items.len());
    for i in items {
        out.bulk(i);
    }
}

/// The reply to a SCAN-family command on an absent key.
pub(super) fn empty_scan(out: &mut ReplyWriter<'_>) {
    out.array_len(2);
    out.bulk(b"0");
    out.array_len(0);
}

/// Repeats a negative random count may ask for at most: real 7.0.15 tries to build any
/// reply (and dies on -LONG_MAX); past this we answer "value is out of range" instead.
pub(super) const MAX_RANDOM_REPEATS: u64 = 1 << 24;

/// The count and option of SRANDMEMBER/HRANDFIELD/ZRANDMEMBER, checked in 7.0's order:
/// the count (getRangeLongFromObjectOrReply over -LONG_MAX..=LONG_MAX), then the option
/// (`flag`, e.g. WITHVALUES; SRANDMEMBER has none), then a count that would overflow as
/// pairs, then our bound on repeats. Returns the count and whether the option was given.
pub(super) fn random_count(args: &[Bytes], flag: Option<&[u8]>) -> Result<(i64, bool), CmdError> {
    let l = parse_i64(&args[2])?;
    if l == i64::MIN {
        return Err(CmdError::msg(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let with = match (args.get(3), flag) {
        (None, _) => false,
        (Some(a), Some(f)) if args.len() == 4 && a.eq_ignore_ascii_case(f) => true,
        _ => return Err(CmdError::SYNTAX),
    };
    let out_of_range = || CmdError::msg("ERR value is out of range");
    if with && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
        return Err(out_of_range());
    }
    if l < 0 && l.unsigned_abs() > MAX_RANDOM_REPEATS {
        return Err(out_of_range());
    }
    Ok((l, with))
}

/// DEBUG DIGEST's xorObjectDigest for a collection (type code, then the elements as Redis
/// mixes them: ordered for lists, xor-ed per element for the others).
pub(super) fn object_digest(
    o: &Obj,
    digest: &mut [u8; 20],
    mix: fn(&mut [u8; 20], &[u8]),
    xor: fn(&mut [u8; 20], &[u8]),
) {
    let code: u32 = match o {
        Obj::List(_) => 1,
        Obj::Set(_) => 2,
        Obj::Zset(_) => 3,
        Obj::Hash(_) => 4,
    };
    mix(digest, &code.to_be_bytes());
    match o {
        Obj::List(l) => l.iter().for_each(|e| mix(digest, &e.to_vec())),
        Obj::Set(s) => s.iter().for_each(|e| xor(digest, &e.to_vec())),
        Obj::Zset(z) => z.walk(0, false).for_each(|(m, score)| {
            let mut ele = [0u8; 20];
            mix(&mut ele, &m.to_vec());
            mix(&mut ele, &crate::types::num::g17(score));
            xor(digest, &ele);
        }),
        Obj::Hash(h) => h.iter().for_each(|(f, v)| {
            let mut ele = [0u8; 20];
            mix(&mut ele, &f.to_vec());
            mix(&mut ele, &v.to_vec());
            xor(digest, &ele);
        }),
    }
}

/// Key positions of the commands whose keys follow a `numkeys` argument (Redis's getkeys
/// procs: zunionInterDiffGetKeys, sintercardGetKeys, lmpopGetKeys, blmpopGetKeys,
/// zmpopGetKeys, bzmpopGetKeys), for routing and COMMAND GETKEYS: the table's first/last/step
/// only covers the destination of the STORE forms. None for other commands; an empty list
/// when numkeys is not a usable count.
pub fn movable_keys(name: &str, args: &[Bytes]) -> Option<Vec<usize>> {
    let (numkeys_at, dst) = match name {
        "zunion" | "zinter" | "zdiff" | "zintercard" | "sintercard" | "lmpop" | "zmpop" => {
            (1, false)
        }
        "zunionstore" | "zinterstore" | "zdiffstore" => (2, true),
        "blmpop" | "bzmpop" => (2, false),
        _ => return None,
    };
    let n = args
        .get(numkeys_at)
        .and_then(|a| parse_i64(a).ok())
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n >= 1 && n <= args.len().saturating_sub(numkeys_at + 1));
    let Some(n) = n else {
        return Some(Vec::new());
    };
    let first = numkeys_at + 1;
    Some(
        dst.then_some(1)
            .into_iter()
            .chain(first..first + n)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<Bytes> {
        line.split(' ')
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    #[test]
    fn numkeys_commands_name_their_keys() {
        assert_eq!(
            movable_keys("zunion", &args("ZUNION 2 a b WITHSCORES")),
            Some(vec![2, 3])
        );
        assert_eq!(
            movable_keys("zunionstore", &args("ZUNIONSTORE d 2 a b")),
            Some(vec![1, 3, 4])
        );
        assert_eq!(
            movable_keys("blmpop", &args("BLMPOP 0 1 l LEFT")),
            Some(vec![3])
        );
        assert_eq!(
            movable_keys("sintercard", &args("SINTERCARD 3 a b")),
            Some(vec![])
        );
        assert_eq!(movable_keys("zmpop", &args("ZMPOP x a MIN")), Some(vec![]));
        assert_eq!(movable_keys("get", &args("GET a")), None);
    }
}
