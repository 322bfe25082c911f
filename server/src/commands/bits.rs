//! Bit commands on string values (bitops.c): SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP,
//! BITFIELD, BITFIELD_RO. Bit 0 is the most significant bit of the first byte; a string
//! reads as if padded with zero bytes to the right.

use bytes::Bytes;

use super::numbers::parse_i64;
use super::strings::as_str;
use super::{CmdError, CmdResult, Ctx, Handler};
use crate::keyspace::{key_slot, lru_clock, Entry, StrEncoding, StrRef};

pub(super) fn handler(name: &str) -> Option<Handler> {
    Some(match name {
        "setbit" => setbit,
        "getbit" => getbit,
        "bitcount" => bitcount,
        "bitpos" => bitpos,
        "bitop" => bitop,
        "bitfield" => bitfield,
        "bitfield_ro" => bitfield_ro,
        _ => return None,
    })
}

const OFFSET_ERR: &str = "ERR bit offset is not an integer or out of range";

/// A bit offset argument (getBitOffsetFromArgument): `#n` means n fields of `field_bits`
/// (BITFIELD only); at most what a string of `proto-max-bulk-len` bytes holds.
fn bit_offset(ctx: &Ctx<'_, '_>, arg: &[u8], field_bits: Option<u32>) -> Result<u64, CmdError> {
    let (digits, times) = match (arg.first(), field_bits) {
        (Some(b'#'), Some(bits)) => (&arg[1..], i64::from(bits)),
        _ => (arg, 1),
    };
    let n = resp_proto::string2ll(digits)
        .ok_or_else(|| CmdError::msg(OFFSET_ERR))?
        // Redis multiplies in 64 bits; what wraps to a valid offset is taken, as there.
        .wrapping_mul(times);
    match u64::try_from(n) {
        Ok(n) if (n >> 3) < ctx.node.config.current().proto_max_bulk_len => Ok(n),
        _ => Err(CmdError::msg(OFFSET_ERR)),
    }
}

/// The bytes of a string value (an integer-encoded one as its decimal text).
fn str_bytes(s: StrRef<'_>) -> std::borrow::Cow<'_, [u8]> {
    match s {
        StrRef::Bytes(b) => std::borrow::Cow::Borrowed(b),
        StrRef::Int(_) => std::borrow::Cow::Owned(s.to_vec()),
    }
}

fn bit_at(bytes: &[u8], offset: u64) -> bool {
    usize::try_from(offset >> 3)
        .ok()
        .and_then(|i| bytes.get(i))
        .is_some_and(|b| b & (0x80 >> (offset & 7)) != 0)
}

/// Runs `f` on the string at `key` made long enough to hold bit `max_bit`, creating it if
/// absent (lookupStringForBitCommand). `f` gets the bytes and whether they grew, and
/// returns its result and how many changes it made (each one dirty).
fn with_bits<R>(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    max_bit: u64,
    f: impl FnOnce(&mut Vec<u8>, bool) -> (R, u64),
) -> Result<R, CmdError> {
    let need = usize::try_from((max_bit >> 3) + 1).map_err(|_| CmdError::msg(OFFSET_ERR))?;
    let slot = key_slot(key);
    let lru = lru_clock(ctx.now);
    let mut shard = ctx.db().lock_slot(slot);
    if let Some(e) = shard.get_mut(slot, key, ctx.now) {
        as_str(e)?;
    } else {
        shard.insert(
            slot,
            Entry::new_str(key, b"", StrEncoding::Raw, lru),
            ctx.now,
        );
    }
    let Some(e) = shard.get_mut(slot, key, ctx.now) else {
        return Err(CmdError::msg("ERR no such key"));
    };
    let (r, changes) = e.with_raw(|v| {
        let grew = v.len() < need;
        if grew {
            v.resize(need, 0);
        }
        f(v, grew)
    });
    if changes > 0 {
        shard.signal(key);
        ctx.node.stats.dirty(changes);
    }
    Ok(r)
}

fn setbit(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    const BIT_ERR: &str = "ERR bit is not an integer or out of range";
    let offset = bit_offset(ctx, &args[2], None)?;
    let on = match resp_proto::string2ll(&args[3]) {
        Some(0) => false,
        Some(1) => true,
        _ => return Err(CmdError::msg(BIT_ERR)),
    };
    let was = with_bits(ctx, &args[1], offset, |v, grew| {
        let was = bit_at(v, offset);
        let mask = 0x80u8 >> (offset & 7);
        if let Some(b) = v.get_mut((offset >> 3) as usize) {
            if on {
                *b |= mask;
            } else {
                *b &= !mask;
            }
        }
        (was, u64::from(grew || was != on))
    })?;
    ctx.out.integer(i64::from(was));
    Ok(())
}

fn getbit(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let offset = bit_offset(ctx, &args[2], None)?;
    let key = &args[1];
    let slot = key_slot(key);
    let mut shard = ctx.db().lock_slot(slot);
    let bit = match shard.lookup_read(slot, key, ctx.now) {
        Some(e) => bit_at(&str_bytes(as_str(e)?), offset),
        None => false,
    };
    ctx.out.integer(i64::from(bit));
    Ok(())
}

/// BIT or BYTE (any case): whether the range counts bits.
fn range_unit(arg: &[u8]) -> Result<bool, CmdError> {
    if arg.eq_ignore_ascii_case(b"bit") {
        Ok(true)
    } else if arg.eq_ignore_ascii_case(b"byte") {
        Ok(false)
    } else {
        Err(CmdError::SYNTAX)
    }
}

/// `start` and `end` (negative from the end) clamped to a value of `len` units, as
/// BITCOUNT and BITPOS do; None when the range is empty.
fn clamp(mut start: i64, mut end: i64, len: i64) -> Option<(i64, i64)> {
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0).min(len - 1);
    (start <= end).then_some((start, end))
}

// Redis 7.0 looks the key up before it parses the range (7.2 swapped the two): a missing
// key answers 0 (BITPOS: -1 or 0) whatever the range, a key of another type WRONGTYPE.
fn bitcount(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let slot = key_slot(key);
    let mut shard = ctx.db().lock_slot(slot);
    let Some(e) = shard.lookup_read(slot, key, ctx.now) else {
        ctx.out.integer(0);
        return Ok(());
    };
    let bytes = str_bytes(as_str(e)?);
    let len = bytes.len() as i64;
    let count = match args.len() {
        2 => popcount(&bytes),
        4 | 5 => {
            let (start, end) = (parse_i64(&args[2])?, parse_i64(&args[3])?);
            // 7.0 answers this empty range before it reads BIT or BYTE.
            if start < 0 && end < 0 && start > end {
                ctx.out.integer(0);
                return Ok(());
            }
            if range_unit(args.get(4).map_or(&b"byte"[..], |a| &a[..]))? {
                match clamp(start, end, len * 8) {
                    Some((s, e)) => {
                        let (first, last) = ((s >> 3) as usize, (e >> 3) as usize);
                        // The whole bytes, less the bits of the first before `s` and of
                        // the last after `e`.
                        let before = bytes[first] & !(0xffu8 >> (s & 7));
                        let after = bytes[last] & (0x7fu8 >> (e & 7));
                        popcount(&bytes[first..=last])
                            - u64::from(before.count_ones())
                            - u64::from(after.count_ones())
                    }
                    None => 0,
                }
            } else {
                match clamp(start, end, len) {
                    Some((s, e)) => popcount(&bytes[s as usize..=e as usize]),
                    None => 0,
                }
            }
        }
        _ => return Err(CmdError::SYNTAX),
    };
    ctx.out.integer(count as i64);
    Ok(())
}

fn popcount(bytes: &[u8]) -> u64 {
    let mut words = bytes.chunks_exact(8);
    let mut n: u64 = words
        .by_ref()
        .map(|w| u64::from(u64::from_ne_bytes(w.try_into().unwrap_or([0; 8])).count_ones()))
        .sum();
    n += words
        .remainder()
        .iter()
        .map(|b| u64::from(b.count_ones()))
        .sum::<u64>();
    n
}

fn bitpos(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let want = match parse_i64(&args[2])? {
        0 => false,
        1 => true,
        _ => return Err(CmdError::msg("ERR The bit argument must be 1 or 0.")),
    };
    let key = &args[1];
    let slot = key_slot(key);
    let mut shard = ctx.db().lock_slot(slot);
    let Some(e) = shard.lookup_read(slot, key, ctx.now) else {
        // A missing key is an endless run of zeros.
        ctx.out.integer(if want { -1 } else { 0 });
        return Ok(());
    };
    let bytes = str_bytes(as_str(e)?);
    let len = bytes.len() as i64;
    // The range in bits, inclusive, and whether an end was given.
    let (range, end_given) = match args.len() {
        // The whole string (an empty one has no range at all).
        3 => ((len > 0).then(|| (0, len * 8 - 1)), false),
        4..=6 => {
            let start = parse_i64(&args[3])?;
            let bits = args.get(5).map_or(Ok(false), |a| range_unit(a))?;
            let end = args.get(4).map(|a| parse_i64(a)).transpose()?;
            let range = if bits {
                clamp(start, end.unwrap_or(len * 8 + 7), len * 8)
            } else {
                clamp(start, end.unwrap_or(len - 1), len).map(|(s, e)| (s * 8, e * 8 + 7))
            };
            (range, end.is_some())
        }
        _ => return Err(CmdError::SYNTAX),
    };
    let pos = match range {
        None => -1,
        Some((first, last)) => match first_bit(&bytes, first, last, want) {
            Some(i) => i,
            // Looking for a zero past the end of the string, without an end given: the
            // padding's first bit.
            None if !want && !end_given => last + 1,
            None => -1,
        },
    };
    ctx.out.integer(pos);
    Ok(())
}

/// The first bit equal to `want` in bits `first..=last` of `bytes`: the bits before the
/// first byte boundary one at a time, then whole bytes skipped in blocks, then the bits of
/// the byte where one was found (or of the last, partial byte).
fn first_bit(bytes: &[u8], first: i64, last: i64, want: bool) -> Option<i64> {
    let find = |from: i64, to: i64| (from..=to).find(|&i| bit_at(bytes, i as u64) == want);
    let aligned = (first + 7) & !7;
    if aligned > last {
        return find(first, last);
    }
    if let Some(i) = find(first, aligned - 1) {
        return Some(i);
    }
    // Bytes wholly in the range.
    let (from, to) = ((aligned >> 3) as usize, ((last + 1) >> 3) as usize);
    let skip = if want { 0x00 } else { 0xff };
    let whole = bytes.get(from..to).unwrap_or_default();
    // 32 bytes at a time, folded into one comparison: runs of the bit not wanted are
    // what this spends its time on.
    let word = |b: &[u8], i: usize| {
        b.get(i..i + 8)
            .and_then(|w| w.try_into().ok())
            .map_or(0, u64::from_ne_bytes)
    };
    let skipped = whole
        .chunks_exact(32)
        .take_while(|b| {
            let (w0, w1, w2, w3) = (word(b, 0), word(b, 8), word(b, 16), word(b, 24));
            if want {
                w0 | w1 | w2 | w3 == 0
            } else {
                w0 & w1 & w2 & w3 == u64::MAX
            }
        })
        .count()
        * 32;
    let at = whole[skipped..]
        .iter()
        .position(|&b| b != skip)
        .map_or(whole.len(), |k| skipped + k);
    find(((from + at) as i64) * 8, last)
}

#[derive(Clone, Copy)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

fn bitop(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let op = match &args[1] {
        a if a.eq_ignore_ascii_case(b"and") => BitOp::And,
        a if a.eq_ignore_ascii_case(b"or") => BitOp::Or,
        a if a.eq_ignore_ascii_case(b"xor") => BitOp::Xor,
        a if a.eq_ignore_ascii_case(b"not") => BitOp::Not,
        _ => return Err(CmdError::SYNTAX),
    };
    if matches!(op, BitOp::Not) && args.len() != 4 {
        return Err(CmdError::msg(
            "ERR BITOP NOT must be called with a single source key.",
        ));
    }
    let (dest, sources) = (&args[2], &args[3..]);
    let slots: Vec<u16> = args[2..].iter().map(|k| key_slot(k)).collect();
    let db = ctx.node.db(ctx.sess.db);
    let mut g = db.lock_slots(&slots);
    let mut values: Vec<Vec<u8>> = Vec::with_capacity(sources.len());
    for (key, &slot) in sources.iter().zip(&slots[1..]) {
        let v = match g
            .shard(slot)
            .and_then(|s| s.lookup_read(slot, key, ctx.now))
        {
            Some(e) => str_bytes(as_str(e)?).into_owned(),
            None => Vec::new(),
        };
        values.push(v);
    }
    let len = values.iter().map(Vec::len).max().unwrap_or(0);
    let byte = |v: &Vec<u8>, i: usize| v.get(i).copied().unwrap_or(0);
    let result: Vec<u8> = (0..len)
        .map(|i| {
            let mut rest = values.iter().map(|v| byte(v, i));
            let first = rest.next().unwrap_or(0);
            match op {
                BitOp::And => rest.fold(first, |a, b| a & b),
                BitOp::Or => rest.fold(first, |a, b| a | b),
                BitOp::Xor => rest.fold(first, |a, b| a ^ b),
                BitOp::Not => !first,
            }
        })
        .collect();
    let slot = slots[0];
    let Some(shard) = g.shard(slot) else {
        return Err(CmdError::msg("ERR no such key"));
    };
    if !result.is_empty() {
        let lru = lru_clock(ctx.now);
        shard.insert(
            slot,
            Entry::new_str(dest, &result, StrEncoding::Raw, lru),
            ctx.now,
        );
        ctx.node.stats.dirty(1);
    } else if shard.remove(slot, dest, ctx.now).is_some() {
        ctx.node.stats.dirty(1);
    }
    ctx.out.integer(len as i64);
    Ok(())
}

/// What happens when a BITFIELD write does not fit its type.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldOp {
    Get,
    Set(i64),
    IncrBy(i64),
}

/// One BITFIELD operation: a field of `bits` bits (signed or not) at bit `offset`.
#[derive(Clone, Copy)]
struct Field {
    op: FieldOp,
    signed: bool,
    bits: u32,
    offset: u64,
    overflow: Overflow,
}

/// A BITFIELD type: `i1`..`i64` or `u1`..`u63`.
fn field_type(arg: &[u8]) -> Result<(bool, u32), CmdError> {
    const TYPE_ERR: &str = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(CmdError::msg(TYPE_ERR)),
    };
    let max = if signed { 64 } else { 63 };
    match resp_proto::string2ll(&arg[1..]) {
        Some(n) if (1..=max).contains(&n) => Ok((signed, n as u32)),
        _ => Err(CmdError::msg(TYPE_ERR)),
    }
}

/// The operations of a BITFIELD command, in order, and the highest bit a write reaches
/// (None for reads only).
fn parse_fields(ctx: &Ctx<'_, '_>, args: &[Bytes]) -> Result<(Vec<Field>, Option<u64>), CmdError> {
    let mut fields = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut highest: Option<u64> = None;
    let mut j = 2;
    while j < args.len() {
        let sub = &args[j];
        let more = args.len() - j - 1;
        let is = |name: &[u8]| sub.eq_ignore_ascii_case(name);
        let takes_value = if is(b"get") && more >= 2 {
            false
        } else if (is(b"set") || is(b"incrby")) && more >= 3 {
            true
        } else if is(b"overflow") && more >= 1 {
            let kind = &args[j + 1];
            overflow = if kind.eq_ignore_ascii_case(b"wrap") {
                Overflow::Wrap
            } else if kind.eq_ignore_ascii_case(b"sat") {
                Overflow::Sat
            } else if kind.eq_ignore_ascii_case(b"fail") {
                Overflow::Fail
            } else {
                return Err(CmdError::msg("ERR Invalid OVERFLOW type specified"));
            };
            j += 2;
            continue;
        } else {
            return Err(CmdError::SYNTAX);
        };
        let (signed, bits) = field_type(&args[j + 1])?;
        let offset = bit_offset(ctx, &args[j + 2], Some(bits))?;
        let op = if takes_value {
            let end = offset + u64::from(bits) - 1;
            highest = Some(highest.map_or(end, |h| h.max(end)));
            let v = parse_i64(&args[j + 3])?;
            if is(b"set") {
                FieldOp::Set(v)
            } else {
                FieldOp::IncrBy(v)
            }
        } else {
            FieldOp::Get
        };
        fields.push(Field {
            op,
            signed,
            bits,
            offset,
            overflow,
        });
        j += if takes_value { 4 } else { 3 };
    }
    Ok((fields, highest))
}

fn bitfield(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    bitfield_generic(ctx, args, false)
}

fn bitfield_ro(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    bitfield_generic(ctx, args, true)
}

fn bitfield_generic(ctx: &mut Ctx<'_, '_>, args: &[Bytes], read_only: bool) -> CmdResult {
    let (fields, highest) = parse_fields(ctx, args)?;
    let key = &args[1];
    let Some(highest) = highest else {
        let slot = key_slot(key);
        let mut shard = ctx.db().lock_slot(slot);
        let bytes = match shard.lookup_read(slot, key, ctx.now) {
            Some(e) => str_bytes(as_str(e)?),
            None => std::borrow::Cow::Borrowed(&[][..]),
        };
        ctx.out.array_len(fields.len());
        for f in &fields {
            ctx.out.integer(get_field(&bytes, f));
        }
        return Ok(());
    };
    if read_only {
        return Err(CmdError::msg(
            "ERR BITFIELD_RO only supports the GET subcommand",
        ));
    }
    let replies = with_bits(ctx, key, highest, |v, grew| {
        let mut changes = 0u64;
        let replies: Vec<Option<i64>> = fields
            .iter()
            .map(|f| {
                let old = get_field(v, f);
                let (new, reply) = match f.op {
                    FieldOp::Get => return Some(old),
                    FieldOp::Set(value) => (fit(f, value, 0), old),
                    FieldOp::IncrBy(incr) => {
                        let new = fit(f, old, incr);
                        (new, new.unwrap_or(0))
                    }
                };
                let new = new?;
                set_field(v, f, new);
                if grew || new != old {
                    changes += 1;
                }
                Some(reply)
            })
            .collect();
        (replies, changes)
    })?;
    ctx.out.array_len(replies.len());
    for r in replies {
        match r {
            Some(n) => ctx.out.integer(n),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// The field's value: its bits read from `bytes` (zero past the end), sign-extended for
/// a signed type. An unsigned field has at most 63 bits, so it fits an `i64`.
fn get_field(bytes: &[u8], f: &Field) -> i64 {
    let raw = (0..u64::from(f.bits)).fold(0u64, |acc, i| {
        (acc << 1) | u64::from(bit_at(bytes, f.offset + i))
    });
    if f.signed && f.bits < 64 && raw & (1 << (f.bits - 1)) != 0 {
        (raw | (u64::MAX << f.bits)) as i64
    } else {
        raw as i64
    }
}

/// Writes the low `bits` of `value` at the field's offset (the string is long enough).
fn set_field(bytes: &mut [u8], f: &Field, value: i64) {
    let v = value as u64;
    for i in 0..u64::from(f.bits) {
        let on = v & (1 << (u64::from(f.bits) - 1 - i)) != 0;
        let at = f.offset + i;
        if let Some(b) = bytes.get_mut((at >> 3) as usize) {
            let mask = 0x80u8 >> (at & 7);
            if on {
                *b |= mask;
            } else {
                *b &= !mask;
            }
        }
    }
}

/// `value + incr` as stored in the field under its overflow rule, or None when it does
/// not fit and the rule is FAIL. (checkSignedBitfieldOverflow and its unsigned twin: the
/// same comparisons, in two's complement arithmetic as Redis does them.)
fn fit(f: &Field, value: i64, incr: i64) -> Option<i64> {
    let bits = f.bits;
    let (overflow, saturated) = if f.signed {
        let max = if bits == 64 {
            i64::MAX
        } else {
            (1i64 << (bits - 1)) - 1
        };
        let min = -max - 1;
        let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
        let min_incr = min.wrapping_sub(value);
        if value > max
            || (bits != 64 && incr > max_incr)
            || (value >= 0 && incr > 0 && incr > max_incr)
        {
            (true, max)
        } else if value < min
            || (bits != 64 && incr < min_incr)
            || (value < 0 && incr < 0 && incr < min_incr)
        {
            (true, min)
        } else {
            (false, 0)
        }
    } else {
        let value = value as u64;
        let max = (1u64 << bits) - 1;
        let max_incr = max.wrapping_sub(value) as i64;
        let min_incr = value.wrapping_neg() as i64;
        if value > max || (incr > 0 && incr > max_incr) {
            (true, max as i64)
        } else if incr < 0 && incr < min_incr {
            (true, 0)
        } else {
            (false, 0)
        }
    };
    if !overflow {
        return Some(value.wrapping_add(incr));
    }
    match f.overflow {
        Overflow::Fail => None,
        Overflow::Sat => Some(saturated),
        Overflow::Wrap => {
            let sum = (value as u64).wrapping_add(incr as u64);
            Some(if bits == 64 {
                sum as i64
            } else if f.signed && sum & (1 << (bits - 1)) != 0 {
                (sum | (u64::MAX << bits)) as i64
            } else {
                (sum & !(u64::MAX << bits)) as i64
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(signed: bool, bits: u32, overflow: Overflow) -> Field {
        Field {
            op: FieldOp::Get,
            signed,
            bits,
            offset: 0,
            overflow,
        }
    }

    #[test]
    fn fields_read_and_write_across_byte_boundaries() {
        // Redis's example: u5 = 23 at offset 7 is 00000001 01110000.
        let mut b = vec![0u8; 2];
        let f = Field {
            offset: 7,
            ..field(false, 5, Overflow::Wrap)
        };
        set_field(&mut b, &f, 23);
        assert_eq!(b, [0b0000_0001, 0b0111_0000]);
        assert_eq!(get_field(&b, &f), 23);
        let i5 = Field { signed: true, ..f };
        assert_eq!(get_field(&b, &i5), 23 - 32);
        // Past the end reads zeros.
        assert_eq!(get_field(&[0xff], &Field { offset: 4, ..f }), 0b11110);
    }

    #[test]
    fn overflow_rules_match_redis() {
        let u8w = field(false, 8, Overflow::Wrap);
        assert_eq!(fit(&u8w, 250, 10), Some(4));
        assert_eq!(fit(&u8w, 3, -5), Some(254));
        assert_eq!(fit(&field(false, 8, Overflow::Sat), 250, 10), Some(255));
        assert_eq!(fit(&field(false, 8, Overflow::Sat), 3, -5), Some(0));
        assert_eq!(fit(&field(false, 8, Overflow::Fail), 250, 10), None);
        // SET of a negative value to an unsigned field: a huge value, saturated to max.
        assert_eq!(fit(&field(false, 8, Overflow::Sat), -1, 0), Some(255));
        assert_eq!(fit(&u8w, -1, 0), Some(255));
        let i8w = field(true, 8, Overflow::Wrap);
        assert_eq!(fit(&i8w, 127, 1), Some(-128));
        assert_eq!(fit(&i8w, -128, -1), Some(127));
        assert_eq!(fit(&field(true, 8, Overflow::Sat), 100, 100), Some(127));
        assert_eq!(fit(&field(true, 8, Overflow::Sat), -100, -100), Some(-128));
        let i64w = field(true, 64, Overflow::Wrap);
        assert_eq!(fit(&i64w, i64::MAX, 1), Some(i64::MIN));
        assert_eq!(fit(&field(true, 64, Overflow::Fail), i64::MIN, -1), None);
        assert_eq!(fit(&i64w, -5, 3), Some(-2));
    }

    #[test]
    fn popcount_counts_every_byte() {
        let v: Vec<u8> = (0..=255u8).collect();
        assert_eq!(popcount(&v), 1024);
        assert_eq!(
            popcount(&v[1..12]),
            v[1..12].iter().map(|b| u64::from(b.count_ones())).sum()
        );
    }

    #[test]
    fn first_bit_skips_runs_and_respects_the_range() {
        let mut v = vec![0u8; 40];
        v[33] = 0b0001_0000;
        assert_eq!(first_bit(&v, 0, 319, true), Some(33 * 8 + 3));
        assert_eq!(first_bit(&v, 0, 33 * 8 + 2, true), None);
        assert_eq!(first_bit(&v, 33 * 8 + 4, 319, true), None);
        let ones = vec![0xffu8; 40];
        assert_eq!(first_bit(&ones, 3, 319, false), None);
        assert_eq!(first_bit(&ones, 3, 319, true), Some(3));
    }

    proptest::proptest! {
        #[test]
        fn first_bit_finds_what_a_bit_by_bit_search_finds(
            bytes in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just(0u8),
                    proptest::strategy::Just(0xffu8),
                    proptest::arbitrary::any::<u8>(),
                ],
                1..40,
            ),
            a in 0i64..400,
            b in 0i64..400,
            want: bool,
        ) {
            let top = bytes.len() as i64 * 8 - 1;
            let (first, last) = (a.min(b).min(top), a.max(b).min(top));
            let naive = (first..=last).find(|&i| bit_at(&bytes, i as u64) == want);
            proptest::prop_assert_eq!(first_bit(&bytes, first, last, want), naive);
        }
    }

    #[test]
    fn ranges_clamp_like_redis() {
        assert_eq!(clamp(0, -1, 5), Some((0, 4)));
        assert_eq!(clamp(-100, 100, 5), Some((0, 4)));
        assert_eq!(clamp(3, 1, 5), None);
        assert_eq!(clamp(0, -1, 0), None);
    }
}
