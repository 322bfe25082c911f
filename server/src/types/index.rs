//! A hash index of `u32` positions into an owner's array (the members of a [`Dense`] table
//! or of a skip list) whose large resizes are spread over the following writes.
//!
//! Why: hashbrown grows a table all at once, rehashing every entry; for 100k members that
//! one insert took milliseconds (each entry's key lives behind a pointer), which stalls
//! every client and lands in their p99. Redis's dict rehashes a bucket per operation
//! instead. Here a large resize moves the table into `old` and starts an empty `cur` of the
//! new size; every write then moves the entries of a few positions, walking the owner's
//! positions upwards, and lookups check both tables until `old` is empty.
//!
//! The one rule owners follow: an entry is moved to a position below the walk only through
//! [`PosIndex::repoint`], which takes it out of `old`. So every entry left in `old` names a
//! position at or above the walk, and the walk reaching the owner's end empties `old`.
//!
//! [`Dense`]: super::table::Dense

use hashbrown::HashTable;

/// From this many entries on, a resize is spread over writes; a smaller one is done at once
/// (tens of microseconds). Small in tests, so the type tests run through resizes.
const INCREMENTAL_FROM: usize = if cfg!(test) { 16 } else { 4096 };
/// Entries moved per write while a resize is under way. With the new table sized for twice
/// the entries, moving at least 2 per write empties `old` before `cur` can fill up.
const STEP: usize = 4;
/// Positions looked at per write, moved or not (free positions, entries already moved).
const MAX_VISITS: usize = 8 * STEP;

/// See the module documentation.
#[derive(Clone, Debug, Default)]
pub(crate) struct PosIndex {
    cur: HashTable<u32>,
    /// The resize under way, boxed so an index at rest stays small (every table set and
    /// hash holds one).
    resize: Option<Box<Resize>>,
}

#[derive(Clone, Debug)]
struct Resize {
    /// The table being emptied into `cur`.
    old: HashTable<u32>,
    /// The walk: every entry in `old` names a position at or above it.
    next: u32,
}

impl PosIndex {
    pub(crate) fn with_capacity(n: usize) -> Self {
        PosIndex {
            cur: HashTable::with_capacity(n),
            resize: None,
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.cur.len() + self.resize.as_ref().map_or(0, |r| r.old.len())
    }

    /// Whether a resize is under way.
    #[cfg(test)]
    pub(crate) fn resizing(&self) -> bool {
        self.resize.is_some()
    }

    /// The position whose key hashes to `h` and for which `eq` holds.
    pub(crate) fn find(&self, h: u64, eq: impl Fn(u32) -> bool) -> Option<u32> {
        if let Some(&p) = self.cur.find(h, |&p| eq(p)) {
            return Some(p);
        }
        self.resize.as_ref()?.old.find(h, |&p| eq(p)).copied()
    }

    /// Adds position `pos`, whose key hashes to `h` and is not in the index. `hash_at` gives
    /// the hash of the key at a position (None for a free one) and `end` the number of
    /// positions the owner has.
    pub(crate) fn insert(
        &mut self,
        h: u64,
        pos: u32,
        hash_at: impl Fn(u32) -> Option<u64>,
        end: usize,
    ) {
        if self.resize.is_some() {
            self.step(&hash_at, end);
        } else if self.cur.len() >= INCREMENTAL_FROM && self.cur.len() == self.cur.capacity() {
            // The next insert would make hashbrown grow (or clean tombstones) all at once.
            self.start(self.cur.len() * 2);
            self.step(&hash_at, end);
        }
        self.cur
            .insert_unique(h, pos, |&p| hash_at(p).unwrap_or_default());
    }

    /// Removes position `pos` (its key hashing to `h`); false when it was not there.
    pub(crate) fn remove(&mut self, h: u64, pos: u32) -> bool {
        if let Ok(e) = self.cur.find_entry(h, |&p| p == pos) {
            e.remove();
            return true;
        }
        let Some(r) = self.resize.as_mut() else {
            return false;
        };
        match r.old.find_entry(h, |&p| p == pos) {
            Ok(e) => {
                e.remove();
                self.end_resize_if_done();
                true
            }
            Err(_) => false,
        }
    }

    /// After a removal: continues a resize under way, or, with `shrink`, starts shrinking a
    /// table that is mostly empty.
    pub(crate) fn after_remove(
        &mut self,
        hash_at: impl Fn(u32) -> Option<u64>,
        end: usize,
        shrink: bool,
    ) {
        if self.resize.is_some() {
            self.step(&hash_at, end);
            return;
        }
        let (len, cap) = (self.cur.len(), self.cur.capacity());
        if !shrink || cap <= 64 || len >= cap / 4 {
            return;
        }
        if cap >= INCREMENTAL_FROM * 2 {
            self.start(len * 2);
            self.step(&hash_at, end);
        } else {
            self.cur.shrink_to(len, |&p| hash_at(p).unwrap_or_default());
        }
    }

    /// Makes the entry of position `from` (key hashing to `h`) name `to` instead, as when
    /// the owner moves an item. Below the walk the entry must leave `old`.
    pub(crate) fn repoint(
        &mut self,
        h: u64,
        from: u32,
        to: u32,
        hash_at: impl Fn(u32) -> Option<u64>,
    ) {
        if let Some(slot) = self.cur.find_mut(h, |&p| p == from) {
            *slot = to;
            return;
        }
        let Some(r) = self.resize.as_mut() else {
            return;
        };
        if let Ok(e) = r.old.find_entry(h, |&p| p == from) {
            if to >= r.next {
                *e.into_mut() = to;
            } else {
                e.remove();
                self.end_resize_if_done();
                self.cur
                    .insert_unique(h, to, |&p| hash_at(p).unwrap_or_default());
            }
        }
    }

    /// Every position in the index (both tables), in no particular order.
    #[cfg(test)]
    pub(crate) fn positions(&self) -> impl Iterator<Item = u32> + '_ {
        let old = self.resize.iter().flat_map(|r| r.old.iter());
        self.cur.iter().chain(old).copied()
    }

    /// Heap bytes of both tables.
    pub(crate) fn allocation_size(&self) -> usize {
        self.cur.allocation_size()
            + self.resize.as_ref().map_or(0, |r| {
                std::mem::size_of::<Resize>() + r.old.allocation_size()
            })
    }

    fn start(&mut self, capacity: usize) {
        let old = std::mem::replace(&mut self.cur, HashTable::with_capacity(capacity));
        self.resize = Some(Box::new(Resize { old, next: 0 }));
    }

    /// Moves the entries of the next few positions from `old` to `cur`.
    fn step(&mut self, hash_at: &impl Fn(u32) -> Option<u64>, end: usize) {
        let Some(r) = self.resize.as_mut() else {
            return;
        };
        let mut moved = 0;
        let mut visits = 0;
        while moved < STEP && visits < MAX_VISITS && (r.next as usize) < end {
            let p = r.next;
            r.next = r.next.saturating_add(1);
            visits += 1;
            let Some(h) = hash_at(p) else { continue };
            if let Ok(e) = r.old.find_entry(h, |&x| x == p) {
                e.remove();
                self.cur
                    .insert_unique(h, p, |&x| hash_at(x).unwrap_or_default());
                moved += 1;
            }
        }
        if r.next as usize >= end {
            // Empty while owners keep the rule above; if not, the index stays whole.
            debug_assert!(r.old.is_empty(), "entries left behind the resize walk");
            for p in std::mem::take(&mut r.old) {
                self.cur
                    .insert_unique(hash_at(p).unwrap_or_default(), p, |&x| {
                        hash_at(x).unwrap_or_default()
                    });
            }
        }
        self.end_resize_if_done();
    }

    fn end_resize_if_done(&mut self) {
        if self.resize.as_ref().is_some_and(|r| r.old.is_empty()) {
            self.resize = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::table::hash_bytes;

    fn hash_of(keys: &[Vec<u8>]) -> impl Fn(u32) -> Option<u64> + '_ {
        |p| keys.get(p as usize).map(|k| hash_bytes(k))
    }

    fn find(ix: &PosIndex, keys: &[Vec<u8>], k: &[u8]) -> Option<u32> {
        ix.find(hash_bytes(k), |p| {
            keys.get(p as usize).is_some_and(|x| x == k)
        })
    }

    #[test]
    fn growth_and_shrink_are_spread_over_writes_and_lookups_see_both_tables() {
        let mut keys: Vec<Vec<u8>> = Vec::new();
        let mut ix = PosIndex::with_capacity(0);
        let mut writes_while_resizing = 0;
        for i in 0..2000u32 {
            let k = format!("key:{i}").into_bytes();
            keys.push(k.clone());
            ix.insert(hash_bytes(&k), i, hash_of(&keys), keys.len());
            if ix.resizing() {
                writes_while_resizing += 1;
                // Mid-resize, entries sit in both tables and are all found.
                for (j, k) in keys.iter().enumerate().step_by(97) {
                    assert_eq!(find(&ix, &keys, k), Some(j as u32));
                }
            }
        }
        assert!(writes_while_resizing > 100, "{writes_while_resizing}");
        assert_eq!(ix.len(), 2000);
        let grown = ix.allocation_size();
        // Removing from the end (as a pop) until few remain shrinks the table, also in steps.
        let mut shrinking = 0;
        while keys.len() > 20 {
            let k = keys.pop().unwrap_or_default();
            assert!(ix.remove(hash_bytes(&k), keys.len() as u32));
            ix.after_remove(hash_of(&keys), keys.len(), true);
            shrinking += usize::from(ix.resizing());
            assert_eq!(find(&ix, &keys, &k), None);
        }
        assert!(shrinking > 0);
        assert!(ix.allocation_size() < grown / 8);
        for (j, k) in keys.iter().enumerate() {
            assert_eq!(find(&ix, &keys, k), Some(j as u32));
        }
    }
}
