//! The large form of hashes and sets: a dense vector of byte strings plus a hash index of
//! positions (the "index map" shape).
//!
//! Why not a `HashMap<Vec<u8>, Vec<u8>>`: each element costs 24 bytes in the vector (the
//! element itself up to 22 bytes, else a pointer to it: [`SmallBytes`]) and 4 bytes plus a
//! control byte in the index, against Redis's 8-byte bucket, 24-byte dictEntry and sds
//! headers; a uniformly random element (SPOP, SRANDMEMBER, HRANDFIELD) is one index into
//! the vector, O(1) as dictGetFairRandomKey; and iteration walks contiguous memory.
//! Removal swaps the last element into the hole.

use std::hash::BuildHasher;
use std::marker::PhantomData;
use std::sync::OnceLock;

use super::chunked::{self, Chunked};
use super::index::PosIndex;
use super::small_bytes::SmallBytes;

/// What part of a stored item is its key.
pub(crate) trait KeyOf {
    fn key(item: &[u8]) -> &[u8];
}

fn hasher() -> &'static foldhash::fast::FixedState {
    static STATE: OnceLock<foldhash::fast::FixedState> = OnceLock::new();
    // Seeded once per process so an attacker cannot precompute colliding members.
    STATE.get_or_init(|| foldhash::fast::FixedState::with_seed(fastrand::u64(..)))
}

pub(crate) fn hash_bytes(b: &[u8]) -> u64 {
    hasher().hash_one(b)
}

pub(crate) struct Dense<K: KeyOf> {
    items: Chunked<SmallBytes>,
    index: PosIndex,
    _k: PhantomData<K>,
}

impl<K: KeyOf> Clone for Dense<K> {
    fn clone(&self) -> Self {
        Dense {
            items: self.items.clone(),
            index: self.index.clone(),
            _k: PhantomData,
        }
    }
}

/// The hash of the key of the item at `p`, for the index's resizes.
fn hash_at<K: KeyOf>(items: &Chunked<SmallBytes>) -> impl Fn(u32) -> Option<u64> + '_ {
    move |p| items.get(p as usize).map(|it| hash_bytes(K::key(it)))
}

impl<K: KeyOf> Dense<K> {
    pub(crate) fn with_capacity(n: usize) -> Self {
        Dense {
            items: Chunked::with_capacity(n),
            index: PosIndex::with_capacity(n),
            _k: PhantomData,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn find(&self, key: &[u8]) -> Option<usize> {
        let items = &self.items;
        self.index
            .find(hash_bytes(key), |i| {
                items.get(i as usize).is_some_and(|it| K::key(it) == key)
            })
            .map(|i| i as usize)
    }

    pub(crate) fn get(&self, i: usize) -> Option<&[u8]> {
        self.items.get(i).map(|b| &b[..])
    }

    /// Inserts an item whose key is known to be absent; returns its position.
    pub(crate) fn insert_new(&mut self, item: SmallBytes) -> usize {
        let pos = self.items.len();
        let h = hash_bytes(K::key(&item));
        self.items.push(item);
        let end = self.items.len();
        self.index
            .insert(h, pos as u32, hash_at::<K>(&self.items), end);
        pos
    }

    /// Replaces the item at `i` (same key).
    pub(crate) fn replace(&mut self, i: usize, item: SmallBytes) {
        if let Some(slot) = self.items.get_mut(i) {
            *slot = item;
        }
    }

    /// Removes the item at `i`, moving the last item into its place.
    pub(crate) fn remove_at(&mut self, i: usize) -> Option<SmallBytes> {
        let last = self.items.len().checked_sub(1)?;
        let h = hash_bytes(K::key(self.items.get(i)?));
        self.index.remove(h, i as u32);
        let removed = self.items.swap_remove(i)?;
        if i != last {
            if let Some(moved) = self.items.get(i) {
                let mh = hash_bytes(K::key(moved));
                self.index
                    .repoint(mh, last as u32, i as u32, hash_at::<K>(&self.items));
            }
        }
        self.items.shrink_head();
        let end = self.items.len();
        self.index
            .after_remove(hash_at::<K>(&self.items), end, true);
        Some(removed)
    }

    #[cfg(test)]
    pub(crate) fn index(&self) -> &PosIndex {
        &self.index
    }

    pub(crate) fn items(&self) -> chunked::Iter<'_, SmallBytes> {
        self.items.iter()
    }

    /// One step of a SCAN-family cursor: visits up to `count` items going down from the
    /// position `cursor` names (0 starts at the top) and returns the cursor of the next step
    /// (0 when done). Why downwards: removal only ever moves the last item into a lower
    /// hole, so an item not yet visited (below the cursor) stays below it, and every item
    /// present for the whole scan is visited at least once, whatever is added or removed
    /// between steps.
    pub(crate) fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8])) -> u64 {
        let len = self.items.len();
        let top = match cursor {
            0 => len,
            c => usize::try_from(c).unwrap_or(usize::MAX).min(len),
        };
        let bottom = top.saturating_sub(count.max(1));
        for item in (bottom..top).rev().filter_map(|i| self.items.get(i)) {
            f(item);
        }
        bottom as u64
    }

    /// Heap bytes: the vector, the index, and each item's allocation.
    pub(crate) fn heap_size(&self) -> usize {
        self.items.heap_size()
            + self.index.allocation_size()
            + self.items.iter().map(SmallBytes::heap_size).sum::<usize>()
    }
}
