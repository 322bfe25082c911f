//! The value types of Redis 7.0 (lists, hashes, sets, sorted sets) as plain data structures,
//! with Redis's encodings, conversion rules, iteration orders, error texts and memory costs.
//!
//! Encodings, as redis-server 7.0.15 reports them with OBJECT ENCODING:
//! - list: always `quicklist` (7.0 has no listpack-encoded lists; that came in 7.2), a deque
//!   of listpack nodes bounded by `list-max-listpack-size`.
//! - hash: `listpack` up to `hash-max-listpack-entries` fields and `hash-max-listpack-value`
//!   bytes per field or value, then `hashtable`, never back.
//! - set: `intset` while every member is an integer and there are at most
//!   `set-max-intset-entries`, then `hashtable`, never back (7.0 has no listpack sets).
//! - zset: `listpack` up to `zset-max-listpack-entries` / `zset-max-listpack-value`, then
//!   `skiplist`, never back (except ZUNIONSTORE & co. building a fresh, small result).
//!
//! Small forms are Redis's own bytes ([`Listpack`], [`Intset`]), so an RDB/DUMP writer can
//! emit them unchanged. Not here: commands, replies, keyspace, RDB. Everything random takes
//! the caller's [`fastrand::Rng`] so tests are deterministic.

mod chunked;
pub mod hash;
mod index;
pub mod intset;
pub mod list;
pub mod listpack;
pub mod num;
#[cfg(test)]
mod proptests;
pub mod set;
mod small_bytes;
mod table;
#[cfg(test)]
mod tests;
pub mod zset;

pub use hash::Hash;
pub use intset::Intset;
pub use list::List;
pub use listpack::Listpack;
pub use set::Set;
pub use zset::Zset;

/// Conversion thresholds, from the configuration (`*-max-listpack-*`, aliases
/// `*-max-ziplist-*`, `set-max-intset-entries`, `list-max-listpack-size`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// `hash-max-listpack-entries` (128).
    pub hash_max_listpack_entries: usize,
    /// `hash-max-listpack-value` (64).
    pub hash_max_listpack_value: usize,
    /// `set-max-intset-entries` (512).
    pub set_max_intset_entries: usize,
    /// `zset-max-listpack-entries` (128).
    pub zset_max_listpack_entries: usize,
    /// `zset-max-listpack-value` (64).
    pub zset_max_listpack_value: usize,
    /// `list-max-listpack-size` (-2: 8 KB per node; positive: entries per node).
    pub list_max_listpack_size: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            hash_max_listpack_entries: 128,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            list_max_listpack_size: -2,
        }
    }
}

/// A borrowed element: compact encodings keep integers as integers until someone needs the
/// bytes. Equality is on the string form.
#[derive(Debug, Clone, Copy)]
pub enum Elem<'a> {
    /// An integer (its string form is the decimal text).
    Int(i64),
    /// Any other string.
    Str(&'a [u8]),
}

impl PartialEq for Elem<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Elem::Int(a), Elem::Int(b)) => a == b,
            (Elem::Str(a), Elem::Str(b)) => a == b,
            (Elem::Int(n), Elem::Str(s)) | (Elem::Str(s), Elem::Int(n)) => {
                itoa::Buffer::new().format(*n).as_bytes() == *s
            }
        }
    }
}

impl Eq for Elem<'_> {}

impl<'a> Elem<'a> {
    /// Classifies bytes as listpack and intset do: an integer when string2ll accepts them.
    pub fn classify(b: &'a [u8]) -> Self {
        match resp_proto::string2ll(b) {
            Some(n) => Elem::Int(n),
            None => Elem::Str(b),
        }
    }

    /// Length of the string form.
    pub fn len(&self) -> usize {
        match self {
            Elem::Int(n) => itoa::Buffer::new().format(*n).len(),
            Elem::Str(s) => s.len(),
        }
    }

    /// Whether the string form is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends the string form to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Elem::Int(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
            Elem::Str(s) => out.extend_from_slice(s),
        }
    }

    /// The string form, owned.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len());
        self.write_to(&mut v);
        v
    }

    /// The element as an i64 if its string form is one (for HINCRBY and the like).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Elem::Int(n) => Some(*n),
            Elem::Str(s) => resp_proto::string2ll(s),
        }
    }
}

/// Errors the value types return; `Display` is the exact Redis reply text (without `-`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TypesError {
    /// HINCRBY on a value that is not an integer.
    HashValueNotInteger,
    /// HINCRBYFLOAT on a value that is not a float.
    HashValueNotFloat,
    /// INCRBY family overflow.
    Overflow,
    /// HINCRBYFLOAT / INCRBYFLOAT producing NaN or infinity.
    NanOrInfinity,
    /// A score argument that is not a float (ZADD, ZINCRBY).
    NotFloat,
    /// ZRANGEBYSCORE and friends: a bound that is not a float.
    MinMaxNotFloat,
    /// ZRANGEBYLEX and friends: a bound not of the form `[x`, `(x`, `-`, `+`.
    MinMaxNotLex,
    /// ZADD INCR / ZINCRBY producing NaN (`inf` + `-inf`).
    ScoreNaN,
    /// ZADD XX with NX.
    XxAndNx,
    /// ZADD with two of GT, LT, NX.
    GtLtNx,
    /// ZADD INCR with more than one pair.
    IncrSinglePair,
    /// LSET past the ends.
    IndexOutOfRange,
    /// LPOS RANK 0.
    RankZero,
    /// LPOS COUNT below zero.
    CountNegative,
    /// LPOS MAXLEN below zero.
    MaxlenNegative,
    /// ZUNIONSTORE & co.: a WEIGHTS argument that is not a float.
    WeightNotFloat,
}

impl TypesError {
    /// The Redis error text (without the leading `-`).
    pub fn text(&self) -> &'static str {
        match self {
            TypesError::HashValueNotInteger => "ERR hash value is not an integer",
            TypesError::HashValueNotFloat => "ERR hash value is not a float",
            TypesError::Overflow => "ERR increment or decrement would overflow",
            TypesError::NanOrInfinity => "ERR increment would produce NaN or Infinity",
            TypesError::NotFloat => "ERR value is not a valid float",
            TypesError::MinMaxNotFloat => "ERR min or max is not a float",
            TypesError::MinMaxNotLex => "ERR min or max not valid string range item",
            TypesError::ScoreNaN => "ERR resulting score is not a number (NaN)",
            TypesError::XxAndNx => "ERR XX and NX options at the same time are not compatible",
            TypesError::GtLtNx => "ERR GT, LT, and/or NX options at the same time are not compatible",
            TypesError::IncrSinglePair => "ERR INCR option supports a single increment-element pair",
            TypesError::IndexOutOfRange => "ERR index out of range",
            TypesError::RankZero => "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
            TypesError::CountNegative => "ERR COUNT can't be negative",
            TypesError::MaxlenNegative => "ERR MAXLEN can't be negative",
            TypesError::WeightNotFloat => "ERR weight value is not a float",
        }
    }
}

impl std::fmt::Display for TypesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text())
    }
}

impl std::error::Error for TypesError {}

/// Heap cost of a boxed byte string as an allocator rounds it (16-byte granules plus the
/// chunk header), for MEMORY USAGE estimates.
pub(crate) fn alloc_size(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        (n + 8).div_ceil(16) * 16
    }
}

/// `k` distinct indices below `n`, uniformly (k <= n).
pub(crate) fn sample_distinct(n: usize, k: usize, rng: &mut fastrand::Rng) -> Vec<usize> {
    let k = k.min(n);
    if k.saturating_mul(2) >= n {
        let mut all: Vec<usize> = (0..n).collect();
        for i in 0..k {
            let j = rng.usize(i..n);
            all.swap(i, j);
        }
        all.truncate(k);
        all
    } else {
        let mut seen = std::collections::HashSet::with_capacity(k);
        let mut out = Vec::with_capacity(k);
        while out.len() < k {
            let i = rng.usize(..n);
            if seen.insert(i) {
                out.push(i);
            }
        }
        out
    }
}
