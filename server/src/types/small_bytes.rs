//! A byte string of up to [`INLINE`] bytes held in place, a longer one on the heap.
//!
//! Why: a large collection's element array holding a `Box<[u8]>` per member costs a heap
//! allocation per member (32 bytes from glibc for a 20-byte member), and every comparison
//! or hash of a member reads that allocation: one more cache miss per step of a skip list
//! search, the most of what ZADD spends on a big sorted set. Short members, the common case
//! (ids, `element:000000012345`), live in the array's own 24-byte slot instead. The price
//! is 8 bytes per longer member: its slot holds the tag beside the pointer and length.

use std::ops::Deref;

/// Bytes kept in place: what fits beside the tag and the length in 24 bytes.
pub(crate) const INLINE: usize = 22;

/// See the module documentation. Built only by [`SmallBytes::concat`] (and `From`), which
/// keeps an inline length within [`INLINE`].
#[derive(Clone, Default)]
pub struct SmallBytes(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, buf: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl Default for Repr {
    fn default() -> Self {
        Repr::Inline {
            len: 0,
            buf: [0; INLINE],
        }
    }
}

// The element arrays are sized by this: a layout change must be a decision.
const _: () = assert!(std::mem::size_of::<SmallBytes>() == 24);

impl SmallBytes {
    /// The concatenation of `parts`, allocated once when it does not fit in place.
    pub(crate) fn concat(parts: &[&[u8]]) -> Self {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if len > INLINE {
            return SmallBytes(Repr::Heap(parts.concat().into_boxed_slice()));
        }
        let mut buf = [0; INLINE];
        let mut at = 0;
        for p in parts {
            buf[at..at + p.len()].copy_from_slice(p);
            at += p.len();
        }
        SmallBytes(Repr::Inline {
            len: len as u8,
            buf,
        })
    }

    /// Heap bytes held beyond the value itself.
    pub(crate) fn heap_size(&self) -> usize {
        match &self.0 {
            Repr::Inline { .. } => 0,
            Repr::Heap(b) => super::alloc_size(b.len()),
        }
    }
}

impl From<&[u8]> for SmallBytes {
    fn from(bytes: &[u8]) -> Self {
        SmallBytes::concat(&[bytes])
    }
}

impl From<SmallBytes> for Vec<u8> {
    /// Reuses a heap member's allocation.
    fn from(s: SmallBytes) -> Vec<u8> {
        match s.0 {
            Repr::Inline { .. } => s.to_vec(),
            Repr::Heap(b) => b.into_vec(),
        }
    }
}

impl Deref for SmallBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.0 {
            // `min` only restates what `concat` keeps true, without a panic path.
            Repr::Inline { len, buf } => &buf[..usize::from(*len).min(INLINE)],
            Repr::Heap(b) => b,
        }
    }
}

impl std::fmt::Debug for SmallBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_length_round_trips_and_only_long_ones_take_heap() {
        let data: Vec<u8> = (0..=255u8).cycle().take(300).collect();
        for n in 0..data.len() {
            let s = SmallBytes::from(&data[..n]);
            assert_eq!(&*s, &data[..n]);
            assert_eq!(&*s.clone(), &data[..n]);
            assert_eq!(s.heap_size() == 0, n <= INLINE, "length {n}");
            assert_eq!(Vec::from(s), &data[..n]);
        }
        assert!(SmallBytes::default().is_empty());
    }

    #[test]
    fn concat_joins_parts_on_either_side_of_the_inline_limit() {
        let data: Vec<u8> = (100..160u8).collect();
        for total in [0, 1, INLINE - 1, INLINE, INLINE + 1, 40, 60] {
            for split in 0..=total {
                let (a, b) = data[..total].split_at(split);
                let s = SmallBytes::concat(&[b"", a, b, b""]);
                assert_eq!(&*s, &data[..total], "{total} split at {split}");
                assert_eq!(s.heap_size() == 0, total <= INLINE);
            }
        }
    }
}
