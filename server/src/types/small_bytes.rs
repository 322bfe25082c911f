//! A byte string of up to [`INLINE`] bytes held in place, a longer one on the heap.
//!
//! Why: a large collection's element array holding a `Box<[u8]>` per member costs a heap
//! allocation per member (32 bytes from glibc for a 20-byte member), and every comparison
//! or hash of a member reads that allocation: one more cache miss per step of a skip list
//! search, the most of what ZADD spends on a big sorted set. Short members, the common case
//! (ids, `element:000000012345`), live in the array's own slot instead, 24 bytes, the
//! size of the pointer and length they replace plus the tag.

use std::ops::Deref;

/// Bytes kept in place: what fits beside the tag and the length in 24 bytes.
pub(crate) const INLINE: usize = 22;

/// See the module documentation.
#[derive(Clone)]
pub enum SmallBytes {
    Inline { len: u8, buf: [u8; INLINE] },
    Heap(Box<[u8]>),
}

// The element arrays are sized by this: a layout change must be a decision.
const _: () = assert!(std::mem::size_of::<SmallBytes>() == 24);

impl SmallBytes {
    /// The concatenation of `parts`, allocated once when it does not fit in place.
    pub(crate) fn concat(parts: &[&[u8]]) -> Self {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        match u8::try_from(len) {
            Ok(short) if len <= INLINE => {
                let mut buf = [0; INLINE];
                let mut at = 0;
                for p in parts {
                    buf[at..at + p.len()].copy_from_slice(p);
                    at += p.len();
                }
                SmallBytes::Inline { len: short, buf }
            }
            _ => SmallBytes::Heap(parts.concat().into_boxed_slice()),
        }
    }

    /// Heap bytes held beyond the value itself.
    pub(crate) fn heap_size(&self) -> usize {
        match self {
            SmallBytes::Inline { .. } => 0,
            SmallBytes::Heap(b) => super::alloc_size(b.len()),
        }
    }
}

impl Default for SmallBytes {
    fn default() -> Self {
        SmallBytes::Inline {
            len: 0,
            buf: [0; INLINE],
        }
    }
}

impl From<&[u8]> for SmallBytes {
    fn from(bytes: &[u8]) -> Self {
        SmallBytes::concat(&[bytes])
    }
}

impl Deref for SmallBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            SmallBytes::Inline { len, buf } => &buf[..usize::from(*len).min(INLINE)],
            SmallBytes::Heap(b) => b,
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
        }
        assert!(SmallBytes::default().is_empty());
        for split in 0..40 {
            let (a, b) = data[..40].split_at(split);
            let s = SmallBytes::concat(&[b"", a, b]);
            assert_eq!(&*s, &data[..40]);
            let s = SmallBytes::concat(&[a.get(..split.min(9)).unwrap_or(a), b"xy"]);
            assert_eq!(s.len(), split.min(9) + 2);
            assert_eq!(s.heap_size(), 0);
        }
    }
}
