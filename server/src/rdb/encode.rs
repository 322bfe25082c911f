//! The RDB writer: lengths, strings (integer, LZF and plain forms, chosen as rdbSaveRawString
//! chooses), values in the encodings redis-server 7.0.15 saves, and key/value records.

use super::lzf;
use super::{opcode, rtype};
use crate::keyspace::{Entry, Obj, StrRef, Value};
use crate::types::{Elem, Hash, List, Set, Zset};

/// How values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOpts {
    /// `rdbcompression yes`: strings longer than 20 bytes are LZF-compressed when that helps.
    pub compress: bool,
}

impl Default for WriteOpts {
    fn default() -> Self {
        WriteOpts { compress: true }
    }
}

/// Appends an RDB length (6-bit, 14-bit, 32-bit or 64-bit form).
pub fn write_len(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.push(0x40 | (n >> 8) as u8);
        out.push(n as u8);
    } else if n <= u64::from(u32::MAX) {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// rdbEncodeInteger: the 8, 16 or 32-bit special string form, if `n` fits one.
fn write_small_int(out: &mut Vec<u8>, n: i64) -> bool {
    if let Ok(v) = i8::try_from(n) {
        out.extend_from_slice(&[0xC0, v as u8]);
    } else if let Ok(v) = i16::try_from(n) {
        out.push(0xC1);
        out.extend_from_slice(&v.to_le_bytes());
    } else if let Ok(v) = i32::try_from(n) {
        out.push(0xC2);
        out.extend_from_slice(&v.to_le_bytes());
    } else {
        return false;
    }
    true
}

/// An integer-encoded string value (rdbSaveLongLongAsStringObject).
pub fn write_int_string(out: &mut Vec<u8>, n: i64) {
    if !write_small_int(out, n) {
        let mut b = itoa::Buffer::new();
        let s = b.format(n).as_bytes();
        write_len(out, s.len() as u64);
        out.extend_from_slice(s);
    }
}

/// A string as rdbSaveRawString writes it: short decimal integers in the integer form,
/// strings over 20 bytes LZF-compressed when compression is on and saves space, else plain.
pub fn write_string(out: &mut Vec<u8>, s: &[u8], opts: WriteOpts) {
    if s.len() <= 11 {
        if let Some(n) = resp_proto::string2ll(s) {
            // rdbTryIntegerEncoding also requires the text to be the canonical form,
            // which string2ll guarantees.
            let mark = out.len();
            if write_small_int(out, n) {
                return;
            }
            out.truncate(mark);
        }
    }
    if opts.compress && s.len() > 20 {
        if let Some(z) = lzf::compress(s, s.len() - 4) {
            out.push(0xC3);
            write_len(out, z.len() as u64);
            write_len(out, s.len() as u64);
            out.extend_from_slice(&z);
            return;
        }
    }
    write_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// An element of a hash table, set table or skip list: Redis holds these as strings, and
/// the integer form of their text is what write_string would choose anyway.
fn write_elem(out: &mut Vec<u8>, e: Elem<'_>, opts: WriteOpts) {
    match e {
        Elem::Str(s) => write_string(out, s, opts),
        Elem::Int(n) => write_int_string(out, n),
    }
}

/// The RDB type byte of a value.
pub fn value_type(v: Value<'_>) -> u8 {
    match v {
        Value::Str(_) => rtype::STRING,
        Value::Obj(Obj::List(_)) => rtype::LIST_QUICKLIST_2,
        Value::Obj(Obj::Hash(Hash::Listpack(_))) => rtype::HASH_LISTPACK,
        Value::Obj(Obj::Hash(Hash::Table(_))) => rtype::HASH,
        Value::Obj(Obj::Set(Set::Intset(_))) => rtype::SET_INTSET,
        Value::Obj(Obj::Set(Set::Table(_))) => rtype::SET,
        Value::Obj(Obj::Zset(Zset::Listpack(_))) => rtype::ZSET_LISTPACK,
        Value::Obj(Obj::Zset(Zset::Skiplist(_))) => rtype::ZSET_2,
    }
}

/// Quicklist container of a packed (listpack) node.
const QUICKLIST_NODE_PACKED: u64 = 2;

fn write_list(out: &mut Vec<u8>, l: &List, opts: WriteOpts) {
    write_len(out, l.nodes().count() as u64);
    for node in l.nodes() {
        write_len(out, QUICKLIST_NODE_PACKED);
        write_string(out, &node.redis_bytes(), opts);
    }
}

/// Appends the value part (after the type byte and key) as rdbSaveObject does.
pub fn write_value(out: &mut Vec<u8>, v: Value<'_>, opts: WriteOpts) {
    match v {
        Value::Str(StrRef::Int(n)) => write_int_string(out, n),
        Value::Str(StrRef::Bytes(b)) => write_string(out, b, opts),
        Value::Obj(Obj::List(l)) => write_list(out, l, opts),
        Value::Obj(Obj::Hash(Hash::Listpack(lp))) | Value::Obj(Obj::Zset(Zset::Listpack(lp))) => {
            write_string(out, &lp.redis_bytes(), opts)
        }
        Value::Obj(Obj::Hash(h)) => {
            write_len(out, h.len() as u64);
            for (f, val) in h.iter() {
                write_elem(out, f, opts);
                write_elem(out, val, opts);
            }
        }
        Value::Obj(Obj::Set(Set::Intset(is))) => write_string(out, &is.to_bytes(), opts),
        Value::Obj(Obj::Set(s)) => {
            write_len(out, s.len() as u64);
            for m in s.iter() {
                write_elem(out, m, opts);
            }
        }
        Value::Obj(Obj::Zset(z)) => {
            // Highest score first, as Redis walks its skip list from the tail: the loader
            // then always inserts at the head.
            let n = z.len();
            write_len(out, n as u64);
            if n > 0 {
                for (m, score) in z.walk(n - 1, true) {
                    write_elem(out, m, opts);
                    out.extend_from_slice(&score.to_le_bytes());
                }
            }
        }
    }
}

/// Appends one key's record: expiry, type, key, value (rdbSaveKeyValuePair).
pub fn write_entry(out: &mut Vec<u8>, e: &Entry, opts: WriteOpts) {
    if e.expire_at() != 0 {
        out.push(opcode::EXPIRETIME_MS);
        out.extend_from_slice(&e.expire_at().to_le_bytes());
    }
    let v = e.value();
    out.push(value_type(v));
    write_string(out, e.key(), opts);
    write_value(out, v, opts);
}

/// Appends an AUX field whose value is a string.
pub fn write_aux(out: &mut Vec<u8>, key: &str, val: &[u8], opts: WriteOpts) {
    out.push(opcode::AUX);
    write_string(out, key.as_bytes(), opts);
    write_string(out, val, opts);
}

/// Appends an AUX field whose value is an integer (written as its decimal text).
pub fn write_aux_int(out: &mut Vec<u8>, key: &str, val: i64, opts: WriteOpts) {
    write_aux(out, key, itoa::Buffer::new().format(val).as_bytes(), opts);
}

/// SELECTDB and RESIZEDB for a database about to be written.
pub fn write_db_header(out: &mut Vec<u8>, db: usize, keys: u64, expires: u64) {
    out.push(opcode::SELECTDB);
    write_len(out, db as u64);
    out.push(opcode::RESIZEDB);
    write_len(out, keys);
    write_len(out, expires);
}
