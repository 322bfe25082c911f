//! One key and its value, stored compactly.
//!
//! The key bytes and, for small strings, the value bytes share one allocation; the rest of
//! the entry is a few machine words. That keeps the per-key cost near redis-server's
//! (dictEntry + key sds + robj with embedded string). A collection's root (two or three
//! words: a listpack's or intset's buffer, or a box for the larger forms) sits in the entry
//! itself, and so does a key of up to [`OBJ_KEY_INLINE`] bytes: a small hash is then the
//! table slot plus its listpack, where Redis has dictEntry, robj, key sds and listpack.

use crate::types::{Hash, List, Set, Zset};

/// Strings up to this length are "embstr" in Redis (OBJ_ENCODING_EMBSTR_SIZE_LIMIT).
pub const EMBSTR_LIMIT: usize = 44;

/// Key and value bytes that fit here live inside the entry itself: no allocation, and a
/// lookup reads no memory beyond the table slot. 32 bytes hold a 16-byte key with a 16-byte
/// value, or a 24-byte key with an integer.
const INLINE: usize = 32;

/// Keys this long or shorter are stored inside a collection's entry.
pub const OBJ_KEY_INLINE: usize = 11;

/// Redis's LRU/LFU field is 24 bits wide; the inline-key form keeps the key's length in
/// the remaining high byte.
const LRU_MASK: u32 = 0x00FF_FFFF;

/// Layout of the allocation holding a longer key of a collection: expiry (u64 LE), access
/// time (u32 LE), then the key bytes.
const META_LRU: usize = 8;
const META_KEY: usize = 12;

/// Object encodings of a heap-held value, as OBJECT ENCODING reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeapEnc {
    /// Value bytes after the key in `kv`: "embstr".
    Emb,
    /// Value bytes after the key in `kv`, longer than 44: "raw".
    InlineRaw,
    /// An i64 as 8 little-endian bytes after the key: "int".
    Int,
    /// A growable string in `raw` (APPEND, SETRANGE): "raw".
    Raw,
}

/// The forms of an entry. `expire_at` is the absolute expiry in unix milliseconds, 0 when
/// the key has no TTL.
#[derive(Debug, Clone)]
enum Data {
    /// Key then value (an embstr, or an int as 8 little-endian bytes) in place.
    Inline {
        expire_at: u64,
        buf: [u8; INLINE],
        lru: u32,
        klen: u8,
        vlen: u8,
        int: bool,
    },
    /// Key and (except for `Raw`) the value in one allocation.
    Heap {
        expire_at: u64,
        kv: Box<[u8]>,
        raw: Option<RawString>,
        klen: u32,
        lru: u32,
        enc: HeapEnc,
    },
    /// A collection under a key of at most [`OBJ_KEY_INLINE`] bytes, all in place.
    Obj {
        obj: Obj,
        expire_at: u64,
        /// Access time in the low 24 bits, key length in the high 8.
        lru_klen: u32,
        key: [u8; OBJ_KEY_INLINE],
    },
    /// A collection under a longer key; expiry, access time and key share one allocation
    /// (see `META_LRU`), which leaves no room here for anything but the value.
    ObjLongKey { meta: Box<[u8]>, obj: Obj },
}

/// A key with its value, expiry and access time (48 bytes).
#[derive(Debug, Clone)]
pub struct Entry {
    data: Data,
}

fn inline(key: &[u8], val: &[u8], int: bool, lru: u32) -> Option<Data> {
    let total = key.len() + val.len();
    if total > INLINE {
        return None;
    }
    let mut buf = [0u8; INLINE];
    buf[..key.len()].copy_from_slice(key);
    buf[key.len()..total].copy_from_slice(val);
    Some(Data::Inline {
        expire_at: 0,
        buf,
        lru,
        klen: key.len() as u8,
        vlen: val.len() as u8,
        int,
    })
}

/// A collection value: list, hash, set or sorted set.
#[derive(Clone)]
pub enum Obj {
    /// A list.
    List(List),
    /// A hash.
    Hash(Hash),
    /// A set.
    Set(Set),
    /// A sorted set.
    Zset(Zset),
}

impl std::fmt::Debug for Obj {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}({})", self.value_type().name(), self.encoding())
    }
}

/// Borrowed views compare by identity: two views are equal when they show the same value.
impl PartialEq for Obj {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Eq for Obj {}

impl Obj {
    /// The value's type.
    pub fn value_type(&self) -> ValueType {
        match self {
            Obj::List(_) => ValueType::List,
            Obj::Hash(_) => ValueType::Hash,
            Obj::Set(_) => ValueType::Set,
            Obj::Zset(_) => ValueType::Zset,
        }
    }

    /// OBJECT ENCODING's answer.
    pub fn encoding(&self) -> &'static str {
        match self {
            Obj::List(l) => l.encoding(),
            Obj::Hash(h) => h.encoding(),
            Obj::Set(s) => s.encoding(),
            Obj::Zset(z) => z.encoding(),
        }
    }

    /// Whether the collection has no elements (such a key must be deleted).
    pub fn is_empty(&self) -> bool {
        match self {
            Obj::List(l) => l.is_empty(),
            Obj::Hash(h) => h.is_empty(),
            Obj::Set(s) => s.is_empty(),
            Obj::Zset(z) => z.is_empty(),
        }
    }

    /// Approximate heap bytes of the value.
    pub fn mem_usage(&self) -> usize {
        match self {
            Obj::List(l) => l.mem_usage(),
            Obj::Hash(h) => h.mem_usage(),
            Obj::Set(s) => s.mem_usage(),
            Obj::Zset(z) => z.mem_usage(),
        }
    }
}

/// A boxed vector keeps the heap variant, and so every entry, at 48 bytes.
type RawString = Box<Vec<u8>>;

fn heap(key: &[u8], val: &[u8], enc: HeapEnc, raw: Option<RawString>, lru: u32) -> Data {
    let mut kv = Vec::with_capacity(key.len() + val.len());
    kv.extend_from_slice(key);
    kv.extend_from_slice(val);
    Data::Heap {
        expire_at: 0,
        kv: kv.into_boxed_slice(),
        raw,
        klen: key.len() as u32,
        lru,
        enc,
    }
}

/// A borrowed view of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// A string value.
    Str(StrRef<'a>),
    /// A list, hash, set or sorted set.
    Obj(&'a Obj),
}

/// A borrowed string value: integers stay integers until someone needs the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrRef<'a> {
    /// Integer-encoded string.
    Int(i64),
    /// Any other string.
    Bytes(&'a [u8]),
}

impl StrRef<'_> {
    /// Length in bytes of the string form.
    pub fn len(&self) -> usize {
        match self {
            StrRef::Int(n) => itoa::Buffer::new().format(*n).len(),
            StrRef::Bytes(b) => b.len(),
        }
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends the string form to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            StrRef::Int(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
            StrRef::Bytes(b) => out.extend_from_slice(b),
        }
    }

    /// The string form as owned bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len());
        self.write_to(&mut v);
        v
    }
}

/// Value type names as TYPE reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// "string"
    String,
    /// "list"
    List,
    /// "hash"
    Hash,
    /// "set"
    Set,
    /// "zset"
    Zset,
}

impl ValueType {
    /// The name TYPE and SCAN TYPE use.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::List => "list",
            ValueType::Hash => "hash",
            ValueType::Set => "set",
            ValueType::Zset => "zset",
        }
    }
}

/// How a new string should be encoded, like Redis's object constructors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrEncoding {
    /// tryObjectEncoding: int when it parses as one, else embstr/raw by length.
    Auto,
    /// createStringObject: embstr/raw by length, never int.
    ByLength,
    /// A growable raw string (APPEND/SETRANGE results).
    Raw,
}

/// Redis's LRU clock: seconds, wrapping at 24 bits.
pub fn lru_clock(now_ms: u64) -> u32 {
    ((now_ms / 1000) & 0x00FF_FFFF) as u32
}

impl Entry {
    /// A string entry encoded as `enc` says.
    pub fn new_str(key: &[u8], val: &[u8], enc: StrEncoding, lru: u32) -> Entry {
        if enc == StrEncoding::Auto {
            if let Some(n) = resp_proto::string2ll(val) {
                return Entry::new_int(key, n, lru);
            }
        }
        let data = match enc {
            StrEncoding::Raw => heap(key, b"", HeapEnc::Raw, Some(Box::new(val.to_vec())), lru),
            _ if val.len() <= EMBSTR_LIMIT => inline(key, val, false, lru)
                .unwrap_or_else(|| heap(key, val, HeapEnc::Emb, None, lru)),
            _ => heap(key, val, HeapEnc::InlineRaw, None, lru),
        };
        Entry { data }
    }

    /// Gives a "raw" string the value `val` of the same length inside the allocation it
    /// already has: what [`Entry::new_str`] with `Auto` would build for it, without the
    /// allocation and the free of the old one (most of an overwrite's cost past a kilobyte).
    /// False, changing nothing, for any other entry or length. `lru`: the new access field,
    /// or `None` to keep it (an LFU counter survives an overwrite).
    pub fn rewrite_raw_str(&mut self, val: &[u8], lru: Option<u32>) -> bool {
        // An "InlineRaw" value is longer than an embstr, so a value of its length is never
        // an integer or an embstr either: new_str would encode it the same way.
        let Data::Heap {
            kv,
            klen,
            enc: HeapEnc::InlineRaw,
            lru: at,
            ..
        } = &mut self.data
        else {
            return false;
        };
        match kv.get_mut(*klen as usize..) {
            Some(old) if old.len() == val.len() => old.copy_from_slice(val),
            _ => return false,
        }
        if let Some(lru) = lru {
            *at = lru;
        }
        true
    }

    /// An integer-encoded string entry.
    pub fn new_int(key: &[u8], n: i64, lru: u32) -> Entry {
        let le = n.to_le_bytes();
        let data =
            inline(key, &le, true, lru).unwrap_or_else(|| heap(key, &le, HeapEnc::Int, None, lru));
        Entry { data }
    }

    /// A collection entry.
    pub fn new_obj(key: &[u8], obj: Obj, lru: u32) -> Entry {
        let data = if key.len() <= OBJ_KEY_INLINE {
            let mut k = [0u8; OBJ_KEY_INLINE];
            k[..key.len()].copy_from_slice(key);
            Data::Obj {
                obj,
                expire_at: 0,
                lru_klen: (lru & LRU_MASK) | ((key.len() as u32) << 24),
                key: k,
            }
        } else {
            let mut meta = Vec::with_capacity(META_KEY + key.len());
            meta.extend_from_slice(&0u64.to_le_bytes());
            meta.extend_from_slice(&lru.to_le_bytes());
            meta.extend_from_slice(key);
            Data::ObjLongKey {
                meta: meta.into_boxed_slice(),
                obj,
            }
        };
        Entry { data }
    }

    /// The collection, if the value is one.
    pub fn obj(&self) -> Option<&Obj> {
        match &self.data {
            Data::Obj { obj, .. } | Data::ObjLongKey { obj, .. } => Some(obj),
            _ => None,
        }
    }

    /// The collection for changing in place, if the value is one.
    pub fn obj_mut(&mut self) -> Option<&mut Obj> {
        match &mut self.data {
            Data::Obj { obj, .. } | Data::ObjLongKey { obj, .. } => Some(obj),
            _ => None,
        }
    }

    /// The key bytes.
    pub fn key(&self) -> &[u8] {
        match &self.data {
            Data::Inline { buf, klen, .. } => &buf[..usize::from(*klen)],
            Data::Heap { kv, klen, .. } => &kv[..*klen as usize],
            Data::Obj { key, lru_klen, .. } => &key[..(*lru_klen >> 24) as usize],
            Data::ObjLongKey { meta, .. } => meta.get(META_KEY..).unwrap_or_default(),
        }
    }

    /// The value.
    pub fn value(&self) -> Value<'_> {
        let (bytes, int) = match &self.data {
            Data::Inline {
                buf,
                klen,
                vlen,
                int,
                ..
            } => {
                let (k, v) = (usize::from(*klen), usize::from(*vlen));
                (&buf[k..k + v], *int)
            }
            Data::Heap { raw: Some(v), .. } => (&v[..], false),
            Data::Heap { kv, klen, enc, .. } => (&kv[*klen as usize..], *enc == HeapEnc::Int),
            Data::Obj { obj, .. } | Data::ObjLongKey { obj, .. } => return Value::Obj(obj),
        };
        Value::Str(if int {
            let mut le = [0u8; 8];
            let n = bytes.len().min(8);
            le[..n].copy_from_slice(&bytes[..n]);
            StrRef::Int(i64::from_le_bytes(le))
        } else {
            StrRef::Bytes(bytes)
        })
    }

    /// The value's type.
    pub fn value_type(&self) -> ValueType {
        match &self.data {
            Data::Obj { obj, .. } | Data::ObjLongKey { obj, .. } => obj.value_type(),
            _ => ValueType::String,
        }
    }

    /// OBJECT ENCODING's answer.
    pub fn encoding(&self) -> &'static str {
        match &self.data {
            Data::Inline { int: true, .. }
            | Data::Heap {
                enc: HeapEnc::Int, ..
            } => "int",
            Data::Inline { .. }
            | Data::Heap {
                enc: HeapEnc::Emb, ..
            } => "embstr",
            Data::Heap { .. } => "raw",
            Data::Obj { obj, .. } | Data::ObjLongKey { obj, .. } => obj.encoding(),
        }
    }

    /// OBJECT REFCOUNT's answer: Redis shares integers below 10000 (refcount INT_MAX).
    pub fn refcount(&self) -> i64 {
        match self.as_int() {
            Some(n) if (0..10000).contains(&n) => i64::from(i32::MAX),
            _ => 1,
        }
    }

    /// The integer if the value is int-encoded.
    pub fn as_int(&self) -> Option<i64> {
        match self.value() {
            Value::Str(StrRef::Int(n)) => Some(n),
            _ => None,
        }
    }

    /// Replaces the value by an int-encoded integer (INCR), keeping TTL and access time.
    pub fn set_int(&mut self, n: i64) {
        let (lru, at) = (self.lru(), self.expire_at());
        self.data = Entry::new_int(self.key(), n, lru).data;
        self.set_expire_raw(at);
    }

    /// Makes the value a growable raw string and lets `f` change it (APPEND, SETRANGE).
    pub fn with_raw<R>(&mut self, f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        if let Data::Heap { raw: Some(v), .. } = &mut self.data {
            return f(v);
        }
        let bytes = match self.value() {
            Value::Str(s) => s.to_vec(),
            Value::Obj(_) => Vec::new(),
        };
        let mut v = Box::new(bytes);
        let r = f(&mut v);
        let at = self.expire_at();
        self.data = heap(self.key(), b"", HeapEnc::Raw, Some(v), self.lru());
        self.set_expire_raw(at);
        r
    }

    /// Absolute expiry in ms, 0 when none.
    pub fn expire_at(&self) -> u64 {
        match &self.data {
            Data::Inline { expire_at, .. }
            | Data::Heap { expire_at, .. }
            | Data::Obj { expire_at, .. } => *expire_at,
            Data::ObjLongKey { meta, .. } => meta
                .first_chunk::<8>()
                .map_or(0, |b| u64::from_le_bytes(*b)),
        }
    }

    /// Sets (or with 0 clears) the absolute expiry; the caller keeps the slot's volatile count.
    pub(crate) fn set_expire_raw(&mut self, at: u64) {
        match &mut self.data {
            Data::Inline { expire_at, .. }
            | Data::Heap { expire_at, .. }
            | Data::Obj { expire_at, .. } => *expire_at = at,
            Data::ObjLongKey { meta, .. } => {
                if let Some(b) = meta.first_chunk_mut::<8>() {
                    *b = at.to_le_bytes();
                }
            }
        }
    }

    /// Whether the key is logically expired at `now` (Redis: now > when).
    pub fn is_expired(&self, now_ms: u64) -> bool {
        let at = self.expire_at();
        at != 0 && now_ms > at
    }

    /// Last access time on the LRU clock.
    pub fn lru(&self) -> u32 {
        match &self.data {
            Data::Inline { lru, .. } | Data::Heap { lru, .. } => *lru,
            Data::Obj { lru_klen, .. } => lru_klen & LRU_MASK,
            Data::ObjLongKey { meta, .. } => meta
                .get(META_LRU..META_KEY)
                .and_then(|b| b.try_into().ok())
                .map_or(0, u32::from_le_bytes),
        }
    }

    /// Records an access (a 24-bit LRU clock or LFU field, as Redis's).
    pub fn touch(&mut self, now_lru: u32) {
        match &mut self.data {
            Data::Inline { lru, .. } | Data::Heap { lru, .. } => *lru = now_lru,
            Data::Obj { lru_klen, .. } => {
                *lru_klen = (*lru_klen & !LRU_MASK) | (now_lru & LRU_MASK)
            }
            Data::ObjLongKey { meta, .. } => {
                if let Some(b) = meta.get_mut(META_LRU..META_KEY) {
                    b.copy_from_slice(&now_lru.to_le_bytes());
                }
            }
        }
    }

    /// A copy under another name (COPY, RENAME keep value, TTL and encoding).
    pub fn renamed(&self, key: &[u8]) -> Entry {
        let lru = self.lru();
        let data = match &self.data {
            Data::Obj { obj, .. } | Data::ObjLongKey { obj, .. } => {
                Entry::new_obj(key, obj.clone(), lru).data
            }
            Data::Heap { raw: Some(v), .. } => heap(key, b"", HeapEnc::Raw, Some(v.clone()), lru),
            Data::Heap {
                enc: HeapEnc::InlineRaw,
                kv,
                klen,
                ..
            } => heap(key, &kv[*klen as usize..], HeapEnc::InlineRaw, None, lru),
            _ => match self.value() {
                Value::Str(StrRef::Int(n)) => Entry::new_int(key, n, lru).data,
                Value::Str(StrRef::Bytes(b)) => {
                    Entry::new_str(key, b, StrEncoding::ByLength, lru).data
                }
                Value::Obj(_) => heap(key, b"", HeapEnc::Raw, None, lru),
            },
        };
        let mut e = Entry { data };
        e.set_expire_raw(self.expire_at());
        e.touch(lru);
        e
    }

    /// Approximate bytes used, for MEMORY USAGE.
    pub fn memory_usage(&self) -> usize {
        let base = std::mem::size_of::<Entry>();
        match &self.data {
            Data::Inline { .. } => base,
            Data::Heap { kv, raw, .. } => {
                base + kv.len()
                    + raw
                        .as_ref()
                        .map_or(0, |v| v.capacity() + std::mem::size_of::<Vec<u8>>())
            }
            Data::Obj { obj, .. } => base + obj.mem_usage(),
            Data::ObjLongKey { meta, obj } => base + meta.len() + obj.mem_usage(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_follow_redis() {
        assert_eq!(
            Entry::new_str(b"k", b"123", StrEncoding::Auto, 0).encoding(),
            "int"
        );
        assert_eq!(
            Entry::new_str(b"k", b"0123", StrEncoding::Auto, 0).encoding(),
            "embstr"
        );
        assert_eq!(
            Entry::new_str(b"k", &[b'a'; 44], StrEncoding::Auto, 0).encoding(),
            "embstr"
        );
        assert_eq!(
            Entry::new_str(b"k", &[b'a'; 45], StrEncoding::Auto, 0).encoding(),
            "raw"
        );
        assert_eq!(
            Entry::new_str(b"k", b"12", StrEncoding::ByLength, 0).encoding(),
            "embstr"
        );
        let mut e = Entry::new_str(b"key", b"ab", StrEncoding::Auto, 0);
        e.with_raw(|v| v.extend_from_slice(b"cd"));
        assert_eq!(e.encoding(), "raw");
        assert_eq!(e.key(), b"key");
        assert_eq!(e.value(), Value::Str(StrRef::Bytes(b"abcd")));
    }

    /// A same-length raw value is written over the old one; anything that would change the
    /// encoding or the size is declined and leaves the entry as it was.
    #[test]
    fn only_a_same_length_raw_string_is_rewritten_in_place() {
        let old = [b'a'; 45];
        let new = [b'b'; 45];
        let mut e = Entry::new_str(b"key", &old, StrEncoding::Auto, 7);
        assert!(e.rewrite_raw_str(&new, Some(9)));
        assert_eq!((e.key(), e.lru(), e.encoding()), (&b"key"[..], 9, "raw"));
        assert_eq!(e.value(), Value::Str(StrRef::Bytes(&new)));
        assert!(e.rewrite_raw_str(&old, None));
        assert_eq!(e.lru(), 9);
        assert_eq!(e.value(), Value::Str(StrRef::Bytes(&old)));

        let declined = |mut e: Entry, val: &[u8]| {
            let before = (e.value_type(), e.encoding(), format!("{:?}", e.value()));
            assert!(!e.rewrite_raw_str(val, Some(1)));
            assert_eq!(
                before,
                (e.value_type(), e.encoding(), format!("{:?}", e.value()))
            );
        };
        declined(
            Entry::new_str(b"key", &old, StrEncoding::Auto, 0),
            &[b'b'; 46],
        );
        declined(
            Entry::new_str(b"key", &old, StrEncoding::Auto, 0),
            &[b'b'; 44],
        );
        declined(
            Entry::new_str(b"key", &[b'a'; 44], StrEncoding::Auto, 0),
            &[b'b'; 44],
        );
        declined(
            Entry::new_str(&[b'k'; 40], b"12", StrEncoding::Auto, 0),
            b"34",
        );
        declined(Entry::new_str(b"key", &old, StrEncoding::Raw, 0), &new);
        let hash = Entry::new_obj(b"key", Obj::Hash(crate::types::Hash::new()), 0);
        declined(hash, &new);
    }

    #[test]
    fn entry_is_small() {
        assert_eq!(std::mem::size_of::<Entry>(), 48);
        // What lets a collection sit in the entry beside its key.
        assert_eq!(std::mem::size_of::<Obj>(), 24);
    }

    #[test]
    fn collections_keep_key_ttl_and_access_time_in_both_forms() {
        use crate::types::Hash;
        for key in [&b""[..], b"hash:123456", b"hash:1234567", &[b'k'; 300][..]] {
            let mut e = Entry::new_obj(key, Obj::Hash(Hash::new()), 0xAB_CDEF);
            assert_eq!(e.key(), key);
            assert_eq!(e.lru(), 0xAB_CDEF);
            assert_eq!(e.expire_at(), 0);
            e.set_expire_raw(1_700_000_000_123);
            e.touch(0x12_3456);
            assert_eq!(e.key(), key);
            assert_eq!(e.lru(), 0x12_3456);
            assert!(e.is_expired(1_700_000_000_124));
            assert!(!e.is_expired(1_700_000_000_123));
            assert_eq!(e.value_type(), ValueType::Hash);
            assert_eq!(e.encoding(), "listpack");
            assert!(e.obj_mut().is_some());
            let r = e.renamed(b"other-and-longer-than-eleven");
            assert_eq!(r.key(), b"other-and-longer-than-eleven");
            assert_eq!((r.expire_at(), r.lru()), (1_700_000_000_123, 0x12_3456));
            let r = r.renamed(b"short");
            assert_eq!(r.key(), b"short");
            assert_eq!((r.expire_at(), r.lru()), (1_700_000_000_123, 0x12_3456));
        }
    }

    #[test]
    fn inline_and_heap_agree() {
        for (k, v) in [
            (&b"short"[..], &b"value"[..]),
            (&[b'k'; 30][..], &[b'v'; 20][..]),
        ] {
            let e = Entry::new_str(k, v, StrEncoding::Auto, 0);
            assert_eq!(e.key(), k);
            assert_eq!(e.value(), Value::Str(StrRef::Bytes(v)));
            assert_eq!(e.encoding(), "embstr");
            let r = e.renamed(b"other");
            assert_eq!(r.key(), b"other");
            assert_eq!(r.value(), Value::Str(StrRef::Bytes(v)));
        }
        let mut e = Entry::new_int(&[b'k'; 40], -5, 0);
        assert_eq!(e.encoding(), "int");
        assert_eq!(e.as_int(), Some(-5));
        e.set_int(7);
        assert_eq!(e.value(), Value::Str(StrRef::Int(7)));
    }
}
