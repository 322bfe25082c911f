//! The RDB reader: a cursor over bytes that checks every length against what is left before
//! using it, and the value loader for every type and encoding redis-server 7.0 reads.
//!
//! Compact blobs (listpacks, intsets, ziplists, zipmaps) are validated completely before
//! they are kept, whatever `sanitize-dump-payload` says: RESTORE payloads come from clients.
//! Encodings after loading follow rdbLoadObject's conversions against the thresholds.

use std::borrow::Cow;
use std::collections::HashSet;

use super::ziplist::{ziplist_entries, zipmap_entries};
use super::{lzf, rtype, RdbError};
use crate::keyspace::Obj;
use crate::types::list::End;
use crate::types::num::parse_f64;
use crate::types::{Elem, Hash, Intset, List, Listpack, Set, Thresholds, Zset};

/// LZF expands at most 88-fold (a 3-byte back-reference yields 264 bytes); a claimed
/// uncompressed length beyond this ratio cannot be honest.
const LZF_MAX_RATIO: u64 = 90;

/// A cursor over RDB bytes.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// A length field: a plain length, or the special-string marker (0..=3).
enum Len {
    Plain(u64),
    Special(u8),
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The bytes consumed so far.
    pub fn consumed(&self) -> &'a [u8] {
        &self.buf[..self.pos]
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8, RdbError> {
        let b = *self.buf.get(self.pos).ok_or(RdbError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], RdbError> {
        if n > self.remaining() {
            return Err(RdbError::Truncated);
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], RdbError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    /// A little-endian u64 (EXPIRETIME_MS, the checksum).
    pub fn u64_le(&mut self) -> Result<u64, RdbError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// A little-endian u32 (the old EXPIRETIME in seconds).
    pub fn u32_le(&mut self) -> Result<u32, RdbError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn len_field(&mut self) -> Result<Len, RdbError> {
        let b = self.u8()?;
        Ok(match b >> 6 {
            0 => Len::Plain(u64::from(b & 0x3F)),
            1 => Len::Plain((u64::from(b & 0x3F) << 8) | u64::from(self.u8()?)),
            3 => Len::Special(b & 0x3F),
            _ => match b {
                0x80 => Len::Plain(u64::from(u32::from_be_bytes(self.array()?))),
                0x81 => Len::Plain(u64::from_be_bytes(self.array()?)),
                _ => {
                    return Err(RdbError::corrupt(format!(
                        "Unknown length encoding {b} in rdbLoadLen()"
                    )))
                }
            },
        })
    }

    /// A plain length.
    pub fn length(&mut self) -> Result<u64, RdbError> {
        match self.len_field()? {
            Len::Plain(n) => Ok(n),
            Len::Special(_) => Err(RdbError::corrupt("Unexpected encoded length")),
        }
    }

    /// A count of items each taking at least `min_each` bytes: refused (as a short read)
    /// when the bytes left cannot hold them, so it can size an allocation.
    pub fn count(&mut self, min_each: usize) -> Result<usize, RdbError> {
        let n = self.length()?;
        let need = n.saturating_mul(min_each as u64);
        if need > self.remaining() as u64 {
            return Err(RdbError::Truncated);
        }
        Ok(n as usize)
    }

    /// A string in any of its forms (plain, 8/16/32-bit integer, LZF).
    pub fn string(&mut self) -> Result<Cow<'a, [u8]>, RdbError> {
        let n = match self.len_field()? {
            Len::Plain(n) => n,
            Len::Special(kind) => {
                let v = match kind {
                    0 => i64::from(self.u8()? as i8),
                    1 => i64::from(i16::from_le_bytes(self.array()?)),
                    2 => i64::from(i32::from_le_bytes(self.array()?)),
                    3 => return self.lzf_string().map(Cow::Owned),
                    _ => {
                        return Err(RdbError::corrupt(format!(
                            "Unknown RDB string encoding type {kind}"
                        )))
                    }
                };
                return Ok(Cow::Owned(
                    itoa::Buffer::new().format(v).as_bytes().to_vec(),
                ));
            }
        };
        let n = usize::try_from(n).map_err(|_| RdbError::Truncated)?;
        self.take(n).map(Cow::Borrowed)
    }

    fn lzf_string(&mut self) -> Result<Vec<u8>, RdbError> {
        let clen = self.length()?;
        let ulen = self.length()?;
        if clen > self.remaining() as u64 {
            return Err(RdbError::Truncated);
        }
        if ulen > clen.saturating_mul(LZF_MAX_RATIO) {
            return Err(RdbError::corrupt("Invalid LZF compressed string"));
        }
        let data = self.take(clen as usize)?;
        lzf::decompress(data, ulen as usize)
            .ok_or_else(|| RdbError::corrupt("Invalid LZF compressed string"))
    }

    /// A binary double (ZSET_2 scores).
    pub fn binary_double(&mut self) -> Result<f64, RdbError> {
        Ok(f64::from_le_bytes(self.array()?))
    }

    /// A double in the old text form: length byte (253 NaN, 254 +inf, 255 -inf), text.
    pub fn text_double(&mut self) -> Result<f64, RdbError> {
        let n = self.u8()?;
        match n {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            _ => {
                let t = self.take(usize::from(n))?;
                std::str::from_utf8(t)
                    .ok()
                    .and_then(|s| s.trim().parse::<f64>().ok())
                    .ok_or_else(|| RdbError::corrupt("Bad double value"))
            }
        }
    }
}

/// A value read from RDB bytes.
#[derive(Debug)]
pub enum RdbValue {
    /// A string.
    Str(Vec<u8>),
    /// A list, hash, set or sorted set.
    Obj(Obj),
}

fn dup(what: &'static str) -> RdbError {
    RdbError::corrupt(what)
}

fn push_elem(list: &mut List, e: Elem<'_>, scratch: &mut Vec<u8>) {
    match e {
        Elem::Str(s) => list.push(End::Right, s),
        Elem::Int(_) => {
            scratch.clear();
            e.write_to(scratch);
            list.push(End::Right, scratch);
        }
    }
}

fn listpack(blob: &[u8]) -> Result<Listpack, RdbError> {
    Listpack::from_bytes(blob).ok_or_else(|| RdbError::corrupt("Listpack integrity check failed."))
}

fn hash_from_pairs<'b>(
    pairs: impl Iterator<Item = (Cow<'b, [u8]>, Cow<'b, [u8]>)>,
    th: &Thresholds,
) -> Result<Hash, RdbError> {
    let mut h = Hash::new();
    for (f, v) in pairs {
        if !h.set(&f, &v, th) {
            return Err(dup("Duplicate hash fields detected"));
        }
    }
    if h.is_empty() {
        return Err(RdbError::EmptyKey);
    }
    Ok(h)
}

fn set_from_members<'b>(
    members: impl Iterator<Item = Cow<'b, [u8]>>,
    th: &Thresholds,
) -> Result<Set, RdbError> {
    let mut s = Set::new_intset();
    for m in members {
        if !s.add(&m, th) {
            return Err(dup("Duplicate set members detected"));
        }
    }
    if s.is_empty() {
        return Err(RdbError::EmptyKey);
    }
    Ok(s)
}

/// A zset's members must be unique, its scores numbers, and it must not be empty.
fn check_zset_pairs(pairs: &[(Vec<u8>, f64)]) -> Result<(), RdbError> {
    if pairs.is_empty() {
        return Err(RdbError::EmptyKey);
    }
    let mut seen: HashSet<&[u8]> = HashSet::with_capacity(pairs.len());
    for (m, s) in pairs {
        if s.is_nan() {
            return Err(RdbError::corrupt("Zset with NAN score detected"));
        }
        if !seen.insert(m) {
            return Err(dup("Duplicate zset fields detected"));
        }
    }
    Ok(())
}

fn zset_from_pairs(pairs: Vec<(Vec<u8>, f64)>, th: &Thresholds) -> Result<Zset, RdbError> {
    check_zset_pairs(&pairs)?;
    Ok(Zset::from_pairs(pairs, th))
}

fn elem_text(e: Elem<'_>) -> Cow<'_, [u8]> {
    match e {
        Elem::Str(s) => Cow::Borrowed(s),
        Elem::Int(_) => Cow::Owned(e.to_vec()),
    }
}

fn elem_score(e: Elem<'_>) -> Result<f64, RdbError> {
    match e {
        Elem::Int(n) => Ok(n as f64),
        Elem::Str(s) => parse_f64(s).ok_or_else(|| RdbError::corrupt("Zset with invalid score")),
    }
}

/// Member/score pairs of a listpack or ziplist sorted set, checked.
fn zset_pairs(elems: &[Elem<'_>]) -> Result<Vec<(Vec<u8>, f64)>, RdbError> {
    if elems.len() % 2 != 0 {
        return Err(RdbError::corrupt("Zset listpack integrity check failed."));
    }
    elems
        .chunks_exact(2)
        .map(|p| Ok((p[0].to_vec(), elem_score(p[1])?)))
        .collect()
}

fn sorted(pairs: &[(Vec<u8>, f64)]) -> bool {
    pairs
        .windows(2)
        .all(|w| w[0].1 < w[1].1 || (w[0].1 == w[1].1 && w[0].0 < w[1].0))
}

fn hash_listpack(lp: Listpack, th: &Thresholds) -> Result<Hash, RdbError> {
    let elems: Vec<Elem<'_>> = lp.iter().collect();
    if elems.len() % 2 != 0 {
        return Err(RdbError::corrupt("Hash listpack integrity check failed."));
    }
    if elems.is_empty() {
        return Err(RdbError::EmptyKey);
    }
    let mut seen = HashSet::with_capacity(elems.len() / 2);
    for p in elems.chunks_exact(2) {
        if !seen.insert(p[0].to_vec()) {
            return Err(dup("Hash listpack integrity check failed."));
        }
    }
    if elems.len() / 2 > th.hash_max_listpack_entries {
        return hash_from_pairs(
            elems
                .chunks_exact(2)
                .map(|p| (elem_text(p[0]), elem_text(p[1]))),
            th,
        );
    }
    drop(elems);
    Ok(Hash::Listpack(lp))
}

fn zset_listpack(lp: Listpack, th: &Thresholds) -> Result<Zset, RdbError> {
    let elems: Vec<Elem<'_>> = lp.iter().collect();
    let pairs = zset_pairs(&elems)?;
    drop(elems);
    if pairs.len() > th.zset_max_listpack_entries || !sorted(&pairs) {
        // Unsorted pairs would break every range walk: rebuild them in order.
        return zset_from_pairs(pairs, th);
    }
    check_zset_pairs(&pairs)?;
    Ok(Zset::Listpack(lp))
}

fn intset(blob: &[u8]) -> Result<Intset, RdbError> {
    let bad = || RdbError::corrupt("Intset integrity check failed.");
    if blob.len() < 8 {
        return Err(bad());
    }
    let width = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    let count = u32::from_le_bytes([blob[4], blob[5], blob[6], blob[7]]) as usize;
    let body = &blob[8..];
    if !matches!(width, 2 | 4 | 8) || count.checked_mul(width) != Some(body.len()) {
        return Err(bad());
    }
    if count == 0 {
        return Err(RdbError::EmptyKey);
    }
    fn ascending<T: PartialOrd>(v: &[T]) -> bool {
        v.windows(2).all(|w| w[0] < w[1])
    }
    let set = match width {
        2 => {
            let v: Vec<i16> = body
                .chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]))
                .collect();
            ascending(&v).then_some(Intset::I16(v.into()))
        }
        4 => {
            let v: Vec<i32> = body
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            ascending(&v).then_some(Intset::I32(v.into()))
        }
        _ => {
            let v: Vec<i64> = body
                .chunks_exact(8)
                .map(|c| {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(c);
                    i64::from_le_bytes(b)
                })
                .collect();
            ascending(&v).then_some(Intset::I64(v.into()))
        }
    };
    set.ok_or_else(bad)
}

const QUICKLIST_NODE_PLAIN: u64 = 1;
const QUICKLIST_NODE_PACKED: u64 = 2;

fn quicklist(r: &mut Reader<'_>, v2: bool, th: &Thresholds) -> Result<List, RdbError> {
    let nodes = r.count(2)?;
    if nodes == 0 {
        return Err(RdbError::EmptyKey);
    }
    let mut list = List::new(th.list_max_listpack_size);
    let mut scratch = Vec::new();
    for _ in 0..nodes {
        let container = if v2 {
            r.length()?
        } else {
            QUICKLIST_NODE_PACKED
        };
        if container != QUICKLIST_NODE_PACKED && container != QUICKLIST_NODE_PLAIN {
            return Err(RdbError::corrupt("Quicklist integrity check failed."));
        }
        let blob = r.string()?;
        if container == QUICKLIST_NODE_PLAIN {
            list.push(End::Right, &blob);
        } else if v2 {
            let lp = listpack(&blob)?;
            for e in lp.iter() {
                push_elem(&mut list, e, &mut scratch);
            }
        } else {
            let entries = ziplist_entries(&blob)
                .ok_or_else(|| RdbError::corrupt("Ziplist integrity check failed."))?;
            for e in entries {
                push_elem(&mut list, e, &mut scratch);
            }
        }
    }
    if list.is_empty() {
        return Err(RdbError::EmptyKey);
    }
    Ok(list)
}

/// Reads one value of RDB type `t` (rdbLoadObject).
pub fn read_object(r: &mut Reader<'_>, t: u8, th: &Thresholds) -> Result<RdbValue, RdbError> {
    let obj = match t {
        rtype::STRING => return Ok(RdbValue::Str(r.string()?.into_owned())),
        rtype::LIST => {
            let n = r.count(1)?;
            if n == 0 {
                return Err(RdbError::EmptyKey);
            }
            let mut list = List::new(th.list_max_listpack_size);
            for _ in 0..n {
                list.push(End::Right, &r.string()?);
            }
            Obj::List(list)
        }
        rtype::SET => {
            let n = r.count(1)?;
            let mut members = Vec::with_capacity(n);
            for _ in 0..n {
                members.push(r.string()?);
            }
            Obj::Set(set_from_members(members.into_iter(), th)?)
        }
        rtype::ZSET | rtype::ZSET_2 => {
            let n = r.count(if t == rtype::ZSET { 2 } else { 9 })?;
            let mut pairs = Vec::with_capacity(n);
            for _ in 0..n {
                let m = r.string()?.into_owned();
                let s = if t == rtype::ZSET {
                    r.text_double()?
                } else {
                    r.binary_double()?
                };
                pairs.push((m, s));
            }
            Obj::Zset(zset_from_pairs(pairs, th)?)
        }
        rtype::HASH => {
            let n = r.count(2)?;
            let mut pairs = Vec::with_capacity(n);
            for _ in 0..n {
                let f = r.string()?;
                let v = r.string()?;
                pairs.push((f, v));
            }
            Obj::Hash(hash_from_pairs(pairs.into_iter(), th)?)
        }
        rtype::HASH_ZIPMAP => {
            let blob = r.string()?;
            let kv = zipmap_entries(&blob)
                .ok_or_else(|| RdbError::corrupt("Zipmap integrity check failed."))?;
            Obj::Hash(hash_from_pairs(
                kv.chunks_exact(2)
                    .map(|p| (Cow::Borrowed(p[0]), Cow::Borrowed(p[1]))),
                th,
            )?)
        }
        rtype::LIST_ZIPLIST => {
            let blob = r.string()?;
            let entries = ziplist_entries(&blob)
                .ok_or_else(|| RdbError::corrupt("List ziplist integrity check failed."))?;
            if entries.is_empty() {
                return Err(RdbError::EmptyKey);
            }
            let mut list = List::new(th.list_max_listpack_size);
            let mut scratch = Vec::new();
            for e in entries {
                push_elem(&mut list, e, &mut scratch);
            }
            Obj::List(list)
        }
        rtype::SET_INTSET => {
            let blob = r.string()?;
            let is = intset(&blob)?;
            if is.len() > th.set_max_intset_entries {
                Obj::Set(Set::from_members(is.iter().map(Elem::Int), th))
            } else {
                Obj::Set(Set::Intset(is))
            }
        }
        rtype::ZSET_ZIPLIST => {
            let blob = r.string()?;
            let entries = ziplist_entries(&blob)
                .ok_or_else(|| RdbError::corrupt("Zset ziplist integrity check failed."))?;
            Obj::Zset(zset_from_pairs(zset_pairs(&entries)?, th)?)
        }
        rtype::HASH_ZIPLIST => {
            let blob = r.string()?;
            let entries = ziplist_entries(&blob)
                .ok_or_else(|| RdbError::corrupt("Hash ziplist integrity check failed."))?;
            if entries.len() % 2 != 0 {
                return Err(RdbError::corrupt("Hash ziplist integrity check failed."));
            }
            Obj::Hash(hash_from_pairs(
                entries
                    .chunks_exact(2)
                    .map(|p| (elem_text(p[0]), elem_text(p[1]))),
                th,
            )?)
        }
        rtype::LIST_QUICKLIST | rtype::LIST_QUICKLIST_2 => {
            Obj::List(quicklist(r, t == rtype::LIST_QUICKLIST_2, th)?)
        }
        rtype::HASH_LISTPACK => Obj::Hash(hash_listpack(listpack(&r.string()?)?, th)?),
        rtype::ZSET_LISTPACK => Obj::Zset(zset_listpack(listpack(&r.string()?)?, th)?),
        rtype::MODULE | rtype::MODULE_2 => {
            return Err(RdbError::Unsupported(
                "module values (this server loads no modules)",
            ))
        }
        rtype::STREAM_LISTPACKS | rtype::STREAM_LISTPACKS_2 => {
            return Err(RdbError::Unsupported(
                "stream values (this server has no streams)",
            ))
        }
        other => {
            return Err(RdbError::corrupt(format!(
                "Unknown RDB encoding type {other}"
            )))
        }
    };
    Ok(RdbValue::Obj(obj))
}
