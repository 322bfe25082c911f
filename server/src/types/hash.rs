//! Hashes: a listpack of field, value, field, value… while small (insertion order kept, so
//! HGETALL order is Redis's), then a hash table, never back (hashTypeConvert).

use super::listpack::Listpack;
use super::small_bytes::SmallBytes;
use super::table::{Dense, KeyOf};
use super::{sample_distinct, Elem, Thresholds, TypesError};

/// Table items are `varint(field_len) field value`, in one [`SmallBytes`] (in place up to
/// 22 bytes, else one allocation).
pub(crate) struct FieldKey;

impl KeyOf for FieldKey {
    fn key(item: &[u8]) -> &[u8] {
        let (flen, hdr) = read_varint(item);
        item.get(hdr..hdr + flen).unwrap_or(&[])
    }
}

fn read_varint(b: &[u8]) -> (usize, usize) {
    let mut v = 0usize;
    for (i, &c) in b.iter().enumerate().take(9) {
        v |= usize::from(c & 0x7F) << (7 * i);
        if c & 0x80 == 0 {
            return (v, i + 1);
        }
    }
    (0, 0)
}

fn pack(field: &[u8], value: &[u8]) -> SmallBytes {
    let mut header = [0u8; 10];
    let mut used = 0;
    let mut n = field.len();
    for b in header.iter_mut() {
        let c = (n & 0x7F) as u8;
        n >>= 7;
        used += 1;
        if n == 0 {
            *b = c;
            break;
        }
        *b = c | 0x80;
    }
    SmallBytes::concat(&[&header[..used], field, value])
}

fn unpack(item: &[u8]) -> (&[u8], &[u8]) {
    let (flen, hdr) = read_varint(item);
    let rest = item.get(hdr..).unwrap_or(&[]);
    rest.split_at(flen.min(rest.len()))
}

/// A hash value.
#[derive(Clone)]
pub enum Hash {
    /// OBJECT ENCODING `listpack`.
    Listpack(Listpack),
    /// OBJECT ENCODING `hashtable`.
    Table(TableHash),
}

/// The `hashtable` form.
#[derive(Clone)]
pub struct TableHash(Box<Dense<FieldKey>>);

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Default for Hash {
    fn default() -> Self {
        Self::new()
    }
}

impl Hash {
    /// An empty hash in the listpack form.
    pub fn new() -> Self {
        Hash::Listpack(Listpack::new())
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            Hash::Listpack(_) => "listpack",
            Hash::Table(_) => "hashtable",
        }
    }

    /// The listpack, when that is the encoding (for an RDB writer).
    pub fn as_listpack(&self) -> Option<&Listpack> {
        match self {
            Hash::Listpack(lp) => Some(lp),
            Hash::Table(_) => None,
        }
    }

    /// Number of fields (HLEN).
    pub fn len(&self) -> usize {
        match self {
            Hash::Listpack(lp) => lp.len() / 2,
            Hash::Table(t) => t.0.len(),
        }
    }

    /// Whether there are no fields (the key must then be deleted).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lp_find(lp: &Listpack, field: &[u8]) -> Option<usize> {
        lp.find(lp.first(), field, 1)
    }

    /// The value of `field` (HGET).
    pub fn get(&self, field: &[u8]) -> Option<Elem<'_>> {
        match self {
            Hash::Listpack(lp) => {
                let f = Self::lp_find(lp, field)?;
                lp.next(f).map(|v| lp.get(v))
            }
            Hash::Table(t) => {
                let i = t.0.find(field)?;
                t.0.get(i).map(|it| Elem::Str(unpack(it).1))
            }
        }
    }

    /// Whether `field` exists (HEXISTS).
    pub fn contains(&self, field: &[u8]) -> bool {
        match self {
            Hash::Listpack(lp) => Self::lp_find(lp, field).is_some(),
            Hash::Table(t) => t.0.find(field).is_some(),
        }
    }

    fn convert(&mut self) {
        if let Hash::Listpack(lp) = self {
            let n = lp.len() / 2;
            let mut t = Dense::with_capacity(n);
            let mut it = lp.iter();
            while let (Some(f), Some(v)) = (it.next(), it.next()) {
                t.insert_new(pack(&f.to_vec(), &v.to_vec()));
            }
            *self = Hash::Table(TableHash(Box::new(t)));
        }
    }

    /// Sets `field` to `value` (HSET); true when the field is new. Converts to a hash table
    /// when a field or value is longer than the limit or the entry count passes it.
    pub fn set(&mut self, field: &[u8], value: &[u8], th: &Thresholds) -> bool {
        if let Hash::Listpack(_) = self {
            if field.len() > th.hash_max_listpack_value || value.len() > th.hash_max_listpack_value
            {
                self.convert();
            }
        }
        let added = match self {
            Hash::Listpack(lp) => match Self::lp_find(lp, field) {
                Some(f) => {
                    if let Some(v) = lp.next(f) {
                        lp.replace(v, value);
                    }
                    false
                }
                None => {
                    lp.push_back(field);
                    lp.push_back(value);
                    true
                }
            },
            Hash::Table(t) => match t.0.find(field) {
                Some(i) => {
                    t.0.replace(i, pack(field, value));
                    false
                }
                None => {
                    t.0.insert_new(pack(field, value));
                    true
                }
            },
        };
        if added && matches!(self, Hash::Listpack(_)) && self.len() > th.hash_max_listpack_entries {
            self.convert();
        }
        added
    }

    /// HSETNX: sets only when absent; true when set.
    pub fn set_nx(&mut self, field: &[u8], value: &[u8], th: &Thresholds) -> bool {
        if self.contains(field) {
            return false;
        }
        self.set(field, value, th)
    }

    /// Removes `field` (HDEL); true when it existed. The listpack keeps the order of the rest.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Listpack(lp) => match Self::lp_find(lp, field) {
                Some(f) => {
                    lp.delete_n(f, 2);
                    true
                }
                None => false,
            },
            Hash::Table(t) => match t.0.find(field) {
                Some(i) => t.0.remove_at(i).is_some(),
                None => false,
            },
        }
    }

    /// Length of the value of `field` (HSTRLEN), 0 when absent.
    pub fn value_len(&self, field: &[u8]) -> usize {
        self.get(field).map_or(0, |v| v.len())
    }

    /// HINCRBY: adds `delta` to the integer value of `field` (0 when absent).
    pub fn incr_by(
        &mut self,
        field: &[u8],
        delta: i64,
        th: &Thresholds,
    ) -> Result<i64, TypesError> {
        let cur = match self.get(field) {
            Some(v) => v.as_i64().ok_or(TypesError::HashValueNotInteger)?,
            None => 0,
        };
        let new = cur.checked_add(delta).ok_or(TypesError::Overflow)?;
        self.set(field, itoa::Buffer::new().format(new).as_bytes(), th);
        Ok(new)
    }

    /// Field/value pairs in the encoding's order (HGETALL, HSCAN, an RDB writer).
    pub fn iter(&self) -> HashIter<'_> {
        match self {
            Hash::Listpack(lp) => HashIter::Lp(lp.iter()),
            Hash::Table(t) => HashIter::Table(t.0.items()),
        }
    }

    /// One HSCAN step from `cursor`: a listpack answers whole (cursor 0 back, as Redis); a
    /// table visits about `count` pairs and returns the next cursor (0 when done), every
    /// field present for the whole scan being visited at least once.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(Elem<'_>, Elem<'_>)) -> u64 {
        match self {
            Hash::Listpack(_) => {
                self.iter().for_each(|(k, v)| f(k, v));
                0
            }
            Hash::Table(t) => t.0.scan(cursor, count, |it| {
                let (k, v) = unpack(it);
                f(Elem::Str(k), Elem::Str(v));
            }),
        }
    }

    fn pair_at(&self, i: usize) -> Option<(Elem<'_>, Elem<'_>)> {
        match self {
            Hash::Listpack(lp) => {
                let f = lp.seek(2 * i as i64)?;
                let v = lp.next(f)?;
                Some((lp.get(f), lp.get(v)))
            }
            Hash::Table(t) => {
                let (f, v) = unpack(t.0.get(i)?);
                Some((Elem::Str(f), Elem::Str(v)))
            }
        }
    }

    /// One random field with its value (HRANDFIELD without a count).
    pub fn random_field(&self, rng: &mut fastrand::Rng) -> Option<(Elem<'_>, Elem<'_>)> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        self.pair_at(rng.usize(..n))
    }

    /// HRANDFIELD with a negative count: `count` fields drawn with repeats, lazily (the
    /// caller bounds a huge count).
    pub fn random_repeating<'a>(
        &'a self,
        count: u64,
        rng: &'a mut fastrand::Rng,
    ) -> impl Iterator<Item = (Elem<'a>, Elem<'a>)> + 'a {
        let n = self.len();
        (0..if n == 0 { 0 } else { count }).filter_map(move |_| self.pair_at(rng.usize(..n)))
    }

    /// HRANDFIELD with a positive count: distinct fields; the whole hash (in its order) when
    /// `count >= len`; for a listpack the random subset comes in listpack order
    /// (lpRandomPairsUnique).
    pub fn random_distinct(
        &self,
        count: u64,
        rng: &mut fastrand::Rng,
    ) -> Vec<(Elem<'_>, Elem<'_>)> {
        let n = self.len();
        if count >= n as u64 {
            return self.iter().collect();
        }
        let mut idx = sample_distinct(n, count as usize, rng);
        if let Hash::Listpack(_) = self {
            idx.sort_unstable();
            let mut picked = idx.into_iter().peekable();
            return self
                .iter()
                .enumerate()
                .filter(|(i, _)| {
                    if picked.peek() == Some(i) {
                        picked.next();
                        true
                    } else {
                        false
                    }
                })
                .map(|(_, p)| p)
                .collect();
        }
        idx.into_iter().filter_map(|i| self.pair_at(i)).collect()
    }

    /// Approximate bytes used, for MEMORY USAGE (the value only, not the key).
    pub fn mem_usage(&self) -> usize {
        std::mem::size_of::<Self>()
            + match self {
                Hash::Listpack(lp) => lp.heap_size(),
                Hash::Table(t) => std::mem::size_of::<Dense<FieldKey>>() + t.0.heap_size(),
            }
    }
}

/// Iterator over a hash's field/value pairs.
pub enum HashIter<'a> {
    /// Over a listpack.
    Lp(super::listpack::Iter<'a>),
    /// Over the table.
    Table(super::chunked::Iter<'a, SmallBytes>),
}

impl<'a> Iterator for HashIter<'a> {
    type Item = (Elem<'a>, Elem<'a>);
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            HashIter::Lp(it) => {
                let f = it.next()?;
                let v = it.next()?;
                Some((f, v))
            }
            HashIter::Table(it) => {
                let (f, v) = unpack(it.next()?);
                Some((Elem::Str(f), Elem::Str(v)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Items round-trip whether they sit in place or on the heap, and across the field
    /// lengths where the varint header grows (127/128, 16383/16384).
    #[test]
    fn packed_items_unpack_to_their_field_and_value() {
        let bytes: Vec<u8> = (0..20000u32).map(|i| (i % 251) as u8).collect();
        for flen in [0, 1, 5, 20, 21, 22, 127, 128, 16383, 16384] {
            for vlen in [0, 1, 2, 21, 22, 23, 300] {
                let (f, v) = (&bytes[..flen], &bytes[1..=vlen]);
                let item = pack(f, v);
                assert_eq!(unpack(&item), (f, v), "field {flen}, value {vlen}");
                assert_eq!(FieldKey::key(&item), f);
            }
        }
    }
}
