//! The key table of one hash slot.

use std::hash::BuildHasher;

// hashbrown 0.17 exposes bucket indices, which SCAN's cursor is made of.
use hashbrown::HashTable;

use super::entry::Entry;

/// The hasher every key table uses: randomly seeded by default, against hash flooding
/// (tests seed it, so that a failing case replays with the same hashes).
pub type KeyHasher = foldhash::fast::SeedableRandomState;

/// The keys of one hash slot, in one of two layouts.
///
/// A slot of a few keys (most slots, up to a few hundred thousand keys in all) keeps a
/// one-byte tag of each key's hash in its header, which is one cache line, and its entries
/// in a vector: a lookup reads the header, the entry and the key, three dependent loads
/// where a hash table reached through the header would add its control bytes as a fourth
/// (Redis's dict has four to five: bucket, dictEntry, key, object, value).
///
/// Past [`SMALL_MAX`] keys the slot moves to the dense layout: its entries in a vector, and
/// a hash table of their positions (2 bytes each, 4 past 65536 keys, 8 past 2^32: ~7 bytes
/// per key at the half-full loads that power-of-two tables end up at; the vector grows by
/// a quarter at a time so its slack stays near a tenth).
#[derive(Default)]
#[repr(align(64))]
pub struct SlotTable {
    keys: Keys,
    /// Keys in this slot that have a TTL, so the expiry cycle can skip slots without any.
    pub(super) volatile: u32,
    /// Changes whenever entries may have moved to other positions (a rehash on insert, or
    /// a change of layout), which invalidates positions held by SCAN cursors.
    generation: u16,
}

/// Keys a slot holds in its small layout: as many tags as the header has room for.
const SMALL_MAX: usize = 24;

// The tags' matches are collected in a `u32`.
const _: () = assert!(SMALL_MAX <= 32);

enum Keys {
    /// Up to [`SMALL_MAX`] entries, tagged in the header.
    Small(Small),
    /// Up to 65536 entries, in a dense vector.
    Dense(Dense<u16>),
    /// Up to 2^32 (boxed so that the slot header stays one cache line).
    Wide(Box<Dense<u32>>),
    /// More: a slot can hold as many keys as memory allows, as a Redis dict can.
    Huge(Box<Dense<usize>>),
}

impl Default for Keys {
    fn default() -> Keys {
        Keys::Small(Small::default())
    }
}

/// `$small` on the small layout, `$dense` on a dense layout of any position width.
macro_rules! by_layout {
    ($keys:expr, $s:ident => $small:expr, $d:ident => $dense:expr) => {
        match $keys {
            Keys::Small($s) => $small,
            Keys::Dense($d) => $dense,
            Keys::Wide($d) => $dense,
            Keys::Huge($d) => $dense,
        }
    };
}

/// Where a found key is: a position in the small layout's vector, or in the dense one's.
pub(super) type Loc = usize;

/// The small layout. Entries stay at their positions until the slot changes layout, so a
/// SCAN position stays valid across removals and inserts; a removal leaves a hole that the
/// next insert fills.
#[derive(Default)]
struct Small {
    /// Per position: 0 when free, else a byte of the key's hash (made nonzero).
    tags: [u8; SMALL_MAX],
    /// `Some` exactly where the tag is nonzero; no free position at the end.
    entries: Vec<Option<Entry>>,
}

/// The tag of a key whose hash is `h`: its top byte, never 0 (which marks a free position).
fn tag(h: u64) -> u8 {
    let t = (h >> 56) as u8;
    t | u8::from(t == 0)
}

impl Small {
    /// The positions whose tag is `tag`, as a bit mask. (A loop over the whole array,
    /// which the compiler turns into a few vector compares.)
    #[inline(always)]
    fn tagged(&self, tag: u8) -> u32 {
        let mut mask = 0;
        for (i, &t) in self.tags.iter().enumerate() {
            mask |= u32::from(t == tag) << i;
        }
        mask
    }

    fn len(&self) -> usize {
        SMALL_MAX - self.tagged(0).count_ones() as usize
    }

    #[inline(always)]
    fn find(&self, h: u64, key: &[u8]) -> Option<Loc> {
        let mut candidates = self.tagged(tag(h));
        while candidates != 0 {
            let at = candidates.trailing_zeros() as usize;
            if self
                .entries
                .get(at)
                .and_then(Option::as_ref)
                .is_some_and(|e| e.key() == key)
            {
                return Some(at);
            }
            candidates &= candidates - 1;
        }
        None
    }

    /// Adds an entry whose key is not here yet (`h` its hash) at the first free position,
    /// or gives it back when every position is taken.
    fn push(&mut self, h: u64, entry: Entry) -> Result<(), Entry> {
        let Some(at) = self.tags.iter().position(|&t| t == 0) else {
            return Err(entry);
        };
        // A free position is a hole (`at` below the length) or the end.
        if let Some(hole) = self.entries.get_mut(at) {
            *hole = Some(entry);
        } else {
            let len = self.entries.len();
            if len == self.entries.capacity() {
                // A half more at a time, as far as the layout holds: the slack is memory
                // held per key, and 8 slots in 10 of a 100,000-key space hold 8 keys or less.
                self.entries
                    .reserve_exact((len / 2).max(4).min(SMALL_MAX.saturating_sub(len)));
            }
            self.entries.push(Some(entry));
        }
        if let Some(t) = self.tags.get_mut(at) {
            *t = tag(h);
        }
        Ok(())
    }

    /// Takes out the entry at `at`; no other entry moves.
    fn take(&mut self, at: Loc) -> Option<Entry> {
        let e = self.entries.get_mut(at)?.take()?;
        if let Some(t) = self.tags.get_mut(at) {
            *t = 0;
        }
        while self.entries.last().is_some_and(Option::is_none) {
            self.entries.pop();
        }
        let (len, cap) = (self.entries.len(), self.entries.capacity());
        if cap > 8 && len < cap / 2 {
            self.entries.shrink_to(len + len / 2);
        }
        Some(e)
    }

    /// Every entry, with room for half as many more (for the move to the dense layout: a
    /// slot that outgrew this one usually goes on growing, and with a quarter more the
    /// vector's later steps left 1 MB more slack on 1,000,000 keys).
    fn drain(&mut self) -> Vec<Entry> {
        let len = self.len();
        let mut entries = Vec::with_capacity(len + len / 2 + 1);
        entries.extend(std::mem::take(&mut self.entries).into_iter().flatten());
        self.tags = [0; SMALL_MAX];
        entries
    }
}

/// A position in a dense slot's vector, as its table stores it.
trait Position: Copy + Eq {
    /// `at` as a position, if it fits.
    fn new(at: usize) -> Option<Self>;
    fn at(self) -> usize;
}

impl Position for u16 {
    fn new(at: usize) -> Option<u16> {
        u16::try_from(at).ok()
    }
    fn at(self) -> usize {
        usize::from(self)
    }
}

impl Position for u32 {
    fn new(at: usize) -> Option<u32> {
        u32::try_from(at).ok()
    }
    fn at(self) -> usize {
        self as usize
    }
}

impl Position for usize {
    fn new(at: usize) -> Option<usize> {
        Some(at)
    }
    fn at(self) -> usize {
        self
    }
}

/// Entries in a vector, found through a table of their positions hashed by their keys.
/// SCAN's bucket positions are positions in this table, which a removal never moves.
struct Dense<P> {
    table: HashTable<P>,
    entries: Vec<Entry>,
}

impl<P: Position> Dense<P> {
    /// A dense layout of `entries`, or them back if a position would not fit in `P`.
    fn build(entries: Vec<Entry>, hasher: &KeyHasher) -> Result<Dense<P>, Vec<Entry>> {
        if entries
            .len()
            .checked_sub(1)
            .is_some_and(|last| P::new(last).is_none())
        {
            return Err(entries);
        }
        Ok(Dense::fill(entries, hasher))
    }

    /// A dense layout of the entries whose positions fit in `P` (all, for `usize`).
    fn fill(entries: Vec<Entry>, hasher: &KeyHasher) -> Dense<P> {
        let mut table = HashTable::with_capacity(entries.len() + 1);
        for (i, e) in entries.iter().enumerate() {
            if let Some(p) = P::new(i) {
                table.insert_unique(hasher.hash_one(e.key()), p, |&p: &P| {
                    entries.get(p.at()).map_or(0, |e| hasher.hash_one(e.key()))
                });
            }
        }
        Dense { table, entries }
    }

    #[inline(always)]
    fn find(&self, h: u64, key: &[u8]) -> Option<Loc> {
        let entries = &self.entries;
        self.table
            .find(h, |&p| entries.get(p.at()).is_some_and(|e| e.key() == key))
            .map(|&p| p.at())
    }

    fn bucket(&self, i: usize) -> Option<&Entry> {
        self.table
            .get_bucket(i)
            .and_then(|&p| self.entries.get(p.at()))
    }

    /// Adds an entry whose key is not in the table yet (`h` its hash). Returns whether
    /// the table rehashed, or the entry back if its position does not fit in `P`.
    fn push(&mut self, h: u64, entry: Entry, hasher: &KeyHasher) -> Result<bool, Entry> {
        let at = self.entries.len();
        let Some(pos) = P::new(at) else {
            return Err(entry);
        };
        if at == self.entries.capacity() {
            // Growing by a quarter, not doubling: the slack is memory held per key.
            self.entries.reserve_exact((at / 4).max(4));
        }
        self.entries.push(entry);
        let rehash = self.table.len() >= self.table.capacity();
        let entries = &self.entries;
        self.table.insert_unique(h, pos, |&p| {
            entries.get(p.at()).map_or(0, |e| hasher.hash_one(e.key()))
        });
        Ok(rehash)
    }

    /// Takes out the entry at `at` (whose key hashes to `h`). The last entry moves into
    /// its place, and its table slot is pointed there; no entry changes bucket.
    fn take(&mut self, h: u64, at: Loc, hasher: &KeyHasher) -> Option<Entry> {
        let last = self.entries.len().checked_sub(1)?;
        if at > last {
            return None;
        }
        let (pos, last_pos) = (P::new(at)?, P::new(last)?);
        self.table.find_entry(h, |&p| p == pos).ok()?.remove();
        if at != last {
            let moved = self.entries.get(last).map(|e| hasher.hash_one(e.key()))?;
            if let Some(slot) = self.table.find_mut(moved, |&p| p == last_pos) {
                *slot = pos;
            }
        }
        let e = self.entries.swap_remove(at);
        // Give back what mass deletions left unused (the vector never shrinks on its own).
        let (len, cap) = (self.entries.len(), self.entries.capacity());
        if cap > 16 && len < cap / 2 {
            self.entries.shrink_to(len + len / 4);
        }
        Some(e)
    }
}

/// Lays `entries` out in the narrowest dense form their positions fit.
fn relayout(entries: Vec<Entry>, hasher: &KeyHasher) -> Keys {
    let entries = match Dense::build(entries, hasher) {
        Ok(d) => return Keys::Dense(d),
        Err(entries) => entries,
    };
    match Dense::build(entries, hasher) {
        Ok(d) => Keys::Wide(Box::new(d)),
        Err(entries) => Keys::Huge(Box::new(Dense::fill(entries, hasher))),
    }
}

impl SlotTable {
    /// Number of keys (including logically expired ones not yet reclaimed).
    pub fn len(&self) -> usize {
        by_layout!(&self.keys, s => s.len(), d => d.entries.len())
    }

    /// Whether the slot has no keys.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every entry, in SCAN's order (positions of a small slot, buckets of a dense one).
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        (0..self.num_buckets()).filter_map(|i| self.bucket(i))
    }

    /// Every entry, in no particular order (cheaper than [`SlotTable::iter`] when dense).
    pub(super) fn entries(&self) -> impl Iterator<Item = &Entry> {
        let (small, dense) = by_layout!(
            &self.keys,
            s => (Some(s.entries.iter().flatten()), None),
            d => (None, Some(d.entries.iter()))
        );
        small
            .into_iter()
            .flatten()
            .chain(dense.into_iter().flatten())
    }

    fn num_buckets(&self) -> usize {
        by_layout!(&self.keys, s => s.entries.len(), d => d.table.num_buckets())
    }

    fn bucket(&self, i: usize) -> Option<&Entry> {
        by_layout!(
            &self.keys,
            s => s.entries.get(i).and_then(Option::as_ref),
            d => d.bucket(i)
        )
    }

    /// See the `generation` field: a position is only meaningful with the generation it
    /// was taken at.
    pub fn generation(&self) -> u16 {
        self.generation
    }

    /// Visits the entries from position `pos` on, in position order, while `visit` returns
    /// true. Returns the position to resume from, or None when the table's end was reached.
    /// Without a change of generation in between, resuming never skips an entry that
    /// stayed in the table (a removal moves no entry to another position).
    pub fn scan_from(&self, pos: usize, mut visit: impl FnMut(&Entry) -> bool) -> Option<usize> {
        let buckets = self.num_buckets();
        let mut i = pos;
        while i < buckets {
            let e = self.bucket(i);
            i += 1;
            if let Some(e) = e {
                if !visit(e) {
                    return (i < buckets).then_some(i);
                }
            }
        }
        None
    }

    /// Number of keys with a TTL.
    pub fn volatile(&self) -> u32 {
        self.volatile
    }

    /// Where `key` (whose hash is `h`) is. (Inlined, with `get` and `get_mut`, so that
    /// the tests of the layout in a lookup fold into one.)
    #[inline(always)]
    pub(super) fn find(&self, h: u64, key: &[u8]) -> Option<Loc> {
        by_layout!(&self.keys, s => s.find(h, key), d => d.find(h, key))
    }

    #[inline(always)]
    pub(super) fn get(&self, at: Loc) -> Option<&Entry> {
        by_layout!(
            &self.keys,
            s => s.entries.get(at).and_then(Option::as_ref),
            d => d.entries.get(at)
        )
    }

    #[inline(always)]
    pub(super) fn get_mut(&mut self, at: Loc) -> Option<&mut Entry> {
        by_layout!(
            &mut self.keys,
            s => s.entries.get_mut(at).and_then(Option::as_mut),
            d => d.entries.get_mut(at)
        )
    }

    /// Adds an entry whose key is not in the table yet (`h` its hash), and moves to a new
    /// generation if entries changed positions (a rehash, or a change of layout).
    pub(super) fn push(&mut self, h: u64, entry: Entry, hasher: &KeyHasher) {
        // Past SMALL_MAX keys, or past what the positions hold (65536 for 2-byte, 2^32
        // for 4-byte ones): every entry moves to the next layout.
        let (mut entries, entry) = by_layout!(
            &mut self.keys,
            s => match s.push(h, entry) {
                Ok(()) => return,
                Err(entry) => (s.drain(), entry),
            },
            d => match d.push(h, entry, hasher) {
                Ok(rehash) => {
                    if rehash {
                        self.generation = self.generation.wrapping_add(1);
                    }
                    return;
                }
                Err(entry) => (std::mem::take(&mut d.entries), entry),
            }
        );
        entries.push(entry);
        self.keys = relayout(entries, hasher);
        self.generation = self.generation.wrapping_add(1);
    }

    /// Takes out the entry at `at` (whose key hashes to `h`). No other entry changes its
    /// SCAN position (a dense slot moves its last entry in the vector, not in the table).
    pub(super) fn take(&mut self, h: u64, at: Loc, hasher: &KeyHasher) -> Option<Entry> {
        by_layout!(&mut self.keys, s => s.take(at), d => d.take(h, at, hasher))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_header_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<SlotTable>(), 64);
        // A free position costs no more than a taken one.
        assert_eq!(
            std::mem::size_of::<Option<Entry>>(),
            std::mem::size_of::<Entry>()
        );
    }

    #[test]
    fn positions_refuse_what_does_not_fit() {
        assert_eq!(<u16 as Position>::new(65535), Some(u16::MAX));
        assert_eq!(<u16 as Position>::new(65536), None);
        assert_eq!(<u32 as Position>::new(u32::MAX as usize), Some(u32::MAX));
        assert_eq!(<u32 as Position>::new(u32::MAX as usize + 1), None);
        assert_eq!(
            <usize as Position>::new(u32::MAX as usize + 1),
            Some(u32::MAX as usize + 1)
        );
    }

    fn key(i: usize) -> Vec<u8> {
        format!("k{i}").into_bytes()
    }

    fn found(t: &SlotTable, h: u64, k: &[u8]) -> Option<Vec<u8>> {
        t.find(h, k)
            .and_then(|at| t.get(at))
            .map(|e| e.key().to_vec())
    }

    /// Keys whose tags are equal (a hash whose top byte is 1, and one whose top byte is 0,
    /// which becomes 1) are told apart by their bytes, also after some of them leave, and
    /// a tag never reads as a free position.
    #[test]
    fn keys_with_the_same_tag_are_found_apart() {
        let hasher = KeyHasher::fixed();
        let mut t = SlotTable::default();
        let hashes = [0u64, 1 << 56];
        let k = |h: usize, i: usize| key(h * SMALL_MAX + i);
        for (n, &h) in hashes.iter().enumerate() {
            for i in 0..SMALL_MAX / 2 {
                assert_eq!(t.find(h, &k(n, i)), None);
                t.push(h, Entry::new_int(&k(n, i), 0, 0), &hasher);
            }
        }
        assert!(matches!(t.keys, Keys::Small(_)));
        assert_eq!(t.len(), SMALL_MAX);
        for (n, &h) in hashes.iter().enumerate() {
            for i in (0..SMALL_MAX / 2).step_by(3) {
                let taken = t.find(h, &k(n, i)).and_then(|at| t.take(h, at, &hasher));
                assert_eq!(taken.map(|e| e.key().to_vec()), Some(k(n, i)));
            }
        }
        for (n, &h) in hashes.iter().enumerate() {
            for i in 0..SMALL_MAX / 2 {
                let there = (i % 3 != 0).then(|| k(n, i));
                assert_eq!(found(&t, h, &k(n, i)), there, "{h} {i}");
            }
        }
        assert_eq!(t.find(0, b"absent"), None);
    }

    /// In the small layout a removal moves no entry and an insert fills the first hole: a
    /// SCAN position stays valid, and the generation does not change.
    #[test]
    fn small_positions_hold_across_removals_and_inserts() {
        let hasher = KeyHasher::fixed();
        let mut t = SlotTable::default();
        let h = |k: &[u8]| hasher.hash_one(k);
        for i in 0..10 {
            t.push(h(&key(i)), Entry::new_int(&key(i), 0, 0), &hasher);
        }
        let generation = t.generation;
        let mut seen = Vec::new();
        let resume = t.scan_from(0, |e| {
            seen.push(e.key().to_vec());
            seen.len() < 5
        });
        assert_eq!(resume, Some(5));
        for i in [1, 3, 9] {
            let (k, h) = (key(i), h(&key(i)));
            assert!(t
                .find(h, &k)
                .and_then(|at| t.take(h, at, &hasher))
                .is_some());
        }
        // The hole at the end is given back; the others wait for inserts.
        assert_eq!(t.num_buckets(), 9);
        t.push(h(b"new"), Entry::new_int(b"new", 0, 0), &hasher);
        assert_eq!(t.find(h(b"new"), b"new"), Some(1));
        let rest = t.scan_from(5, |e| {
            seen.push(e.key().to_vec());
            true
        });
        assert_eq!(rest, None);
        let expect: Vec<Vec<u8>> = [0, 1, 2, 3, 4, 5, 6, 7, 8].map(key).to_vec();
        assert_eq!(seen, expect);
        assert_eq!(t.generation, generation);
        assert_eq!(t.len(), 8);
    }

    /// Keys added one by one across the move to the dense layout, and removed again, are
    /// found with their own values at every step.
    #[test]
    fn keys_survive_the_move_to_the_dense_layout() {
        let hasher = KeyHasher::fixed();
        let mut t = SlotTable::default();
        let n = SMALL_MAX * 3;
        let generation = t.generation;
        for i in 0..n {
            let k = key(i);
            let h = hasher.hash_one(&k);
            assert_eq!(t.find(h, &k), None);
            t.push(h, Entry::new_int(&k, i as i64, 0), &hasher);
            assert_eq!(t.len(), i + 1);
            assert_eq!(matches!(t.keys, Keys::Dense(_)), i + 1 > SMALL_MAX);
            for j in 0..=i {
                let k = key(j);
                assert_eq!(found(&t, hasher.hash_one(&k), &k), Some(k));
            }
        }
        assert_ne!(t.generation, generation);
        assert_eq!(t.iter().count(), n);
        for i in (0..n).step_by(2) {
            let k = key(i);
            let h = hasher.hash_one(&k);
            let at = t.find(h, &k);
            assert!(at.and_then(|at| t.take(h, at, &hasher)).is_some(), "{i}");
        }
        for i in 0..n {
            let k = key(i);
            let there = found(&t, hasher.hash_one(&k), &k).is_some();
            assert_eq!(there, i % 2 == 1, "{i}");
        }
        let mut walked = 0;
        assert_eq!(
            t.scan_from(0, |_| {
                walked += 1;
                true
            }),
            None
        );
        assert_eq!(walked, n / 2);
    }

    /// Emptied and filled again, a small slot reuses its positions and frees its vector's
    /// slack.
    #[test]
    fn a_small_slot_emptied_and_refilled_keeps_every_key() {
        let hasher = KeyHasher::fixed();
        let mut t = SlotTable::default();
        for round in 0..3 {
            for i in 0..SMALL_MAX {
                let k = key(i);
                t.push(hasher.hash_one(&k), Entry::new_int(&k, round, 0), &hasher);
            }
            assert!(matches!(t.keys, Keys::Small(_)));
            for i in (0..SMALL_MAX).rev() {
                let k = key(i);
                let h = hasher.hash_one(&k);
                let taken = t.find(h, &k).and_then(|at| t.take(h, at, &hasher));
                assert_eq!(taken.map(|e| e.key().to_vec()), Some(k));
                assert_eq!(t.len(), i);
            }
            assert!(matches!(&t.keys, Keys::Small(s) if s.entries.capacity() <= 8));
        }
    }

    /// A slot past 65536 keys moves to 4-byte positions and keeps every key.
    #[test]
    fn a_slot_past_65536_keys_widens_its_positions() {
        let hasher = KeyHasher::fixed();
        let mut t = SlotTable::default();
        let key = |i: usize| format!("{i}").into_bytes();
        let n = 65536 + 300;
        for i in 0..n {
            let k = key(i);
            let (wide_before, generation) = (matches!(t.keys, Keys::Wide(_)), t.generation);
            t.push(hasher.hash_one(&k), Entry::new_int(&k, 0, 0), &hasher);
            if i == 65536 {
                assert!(!wide_before && t.generation != generation);
            }
        }
        assert!(matches!(t.keys, Keys::Wide(_)));
        assert_eq!(t.len(), n);
        for i in (0..n).step_by(3) {
            let k = key(i);
            let h = hasher.hash_one(&k);
            assert!(t
                .find(h, &k)
                .and_then(|at| t.take(h, at, &hasher))
                .is_some());
        }
        for i in 0..n {
            let k = key(i);
            assert_eq!(
                found(&t, hasher.hash_one(&k), &k),
                (i % 3 != 0).then_some(k),
                "{i}"
            );
        }
        assert_eq!(t.iter().count(), t.len());
    }

    impl Small {
        /// A tag exactly where there is an entry, no free position at the end, no more
        /// room than the layout holds.
        fn consistent(&self) -> bool {
            let tagged = self.tags.iter().map(|&t| t != 0);
            let taken = self.entries.iter().map(Option::is_some);
            tagged.eq(taken.chain(std::iter::repeat(false)).take(SMALL_MAX))
                && self.entries.last().is_none_or(Option::is_some)
                && self.entries.capacity() <= SMALL_MAX
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8),
        Remove(u8),
        /// A SCAN call that visits up to this many entries.
        Scan(u8),
    }

    /// Keys from a range that crosses the move to the dense layout.
    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            3 => (0u8..40).prop_map(Op::Insert),
            2 => (0u8..40).prop_map(Op::Remove),
            2 => (1u8..8).prop_map(Op::Scan),
        ]
    }

    proptest::proptest! {
        /// Random inserts, removals and SCAN steps against a set: a key is found exactly
        /// when the set holds it, and a SCAN that comes to its end (restarting the slot
        /// when the generation changed, as the command does) has returned every key that
        /// was there all along.
        #[test]
        fn a_slot_table_behaves_as_a_set(
            seed: u64,
            ops in proptest::collection::vec(op(), 1..300),
        ) {
            use std::collections::BTreeSet;
            let hasher = KeyHasher::with_seed(seed, foldhash::SharedSeed::global_fixed());
            let mut t = SlotTable::default();
            let mut model = BTreeSet::new();
            let (mut pos, mut generation) = (0, t.generation());
            let mut seen = BTreeSet::new();
            // The keys present since the current SCAN started.
            let mut stable = BTreeSet::new();
            for op in ops {
                match op {
                    Op::Insert(i) => {
                        let k = key(usize::from(i));
                        let h = hasher.hash_one(&k);
                        proptest::prop_assert_eq!(t.find(h, &k).is_some(), model.contains(&k));
                        if model.insert(k.clone()) {
                            t.push(h, Entry::new_int(&k, i64::from(i), 0), &hasher);
                        }
                    }
                    Op::Remove(i) => {
                        let k = key(usize::from(i));
                        let h = hasher.hash_one(&k);
                        let taken = t.find(h, &k).and_then(|at| t.take(h, at, &hasher));
                        proptest::prop_assert_eq!(taken.is_some(), model.remove(&k));
                        stable.remove(&k);
                    }
                    Op::Scan(n) => {
                        if t.generation() != generation {
                            pos = 0;
                        }
                        let (mut left, mut absent) = (n, false);
                        let next = t.scan_from(pos, |e| {
                            absent |= !model.contains(e.key());
                            seen.insert(e.key().to_vec());
                            left -= 1;
                            left > 0
                        });
                        proptest::prop_assert!(!absent);
                        generation = t.generation();
                        if let Some(p) = next {
                            pos = p;
                        } else {
                            proptest::prop_assert!(stable.is_subset(&seen));
                            seen.clear();
                            stable = model.clone();
                            pos = 0;
                        }
                    }
                }
                proptest::prop_assert_eq!(t.len(), model.len());
                if let Keys::Small(s) = &t.keys {
                    proptest::prop_assert!(s.consistent());
                }
            }
            let listed: BTreeSet<Vec<u8>> = t.iter().map(|e| e.key().to_vec()).collect();
            proptest::prop_assert_eq!(&listed, &model);
            for k in &model {
                let there = found(&t, hasher.hash_one(k), k);
                proptest::prop_assert_eq!(there.as_ref(), Some(k));
            }
        }
    }
}
