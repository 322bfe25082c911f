//! The slots one record owns, stored by size: a short list of runs for the usual
//! master (one or a few contiguous ranges), a 2 KiB bitmap only when the slots are
//! fragmented.
//!
//! A node of an N-node cluster holds N records: with a [`SlotSet`] inline in each, a
//! 1000-node simulation carried a million 2 KiB bitmaps (2 GB, nearly all zero or one
//! range), and every walk over a node's table touched a page per record. Runs keep a
//! record a few hundred bytes; the answers are the same as the bitmap's.

use std::ops::RangeInclusive;

use cluster_bus::SlotSet;

/// Runs beyond this many switch the set to a bitmap (`RUNS_LIMIT` runs of 4 bytes are
/// an eighth of the bitmap), so an insert or remove never shifts more than this.
const RUNS_LIMIT: usize = 256;

/// A set of slots (`0..16384`) owned by one record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeSlots {
    repr: Repr,
    /// Members, kept by every change (CLUSTER INFO and the cluster state count them on
    /// every record).
    len: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Repr {
    /// Sorted, disjoint and non-adjacent inclusive runs `(first, last)`.
    Runs(Vec<(u16, u16)>),
    /// Fragmented sets: more than [`RUNS_LIMIT`] runs at some point.
    Bits(Box<SlotSet>),
}

impl Default for Repr {
    fn default() -> Self {
        Repr::Runs(Vec::new())
    }
}

/// Iterator over the runs of a [`NodeSlots`], see [`NodeSlots::ranges`].
#[derive(Debug, Clone)]
pub enum SlotRanges<'a> {
    /// Over the stored runs.
    Runs(std::slice::Iter<'a, (u16, u16)>),
    /// Over a bitmap's runs.
    Bits(cluster_bus::Ranges<'a>),
}

impl Iterator for SlotRanges<'_> {
    type Item = RangeInclusive<u16>;
    fn next(&mut self) -> Option<RangeInclusive<u16>> {
        match self {
            SlotRanges::Runs(it) => it.next().map(|r| r.0..=r.1),
            SlotRanges::Bits(it) => it.next(),
        }
    }
}

/// Index of the first run ending at or after `slot`.
fn run_at(runs: &[(u16, u16)], slot: u16) -> usize {
    runs.partition_point(|r| r.1 < slot)
}

impl NodeSlots {
    /// Number of slots.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True when it owns none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True if `slot` is a member.
    pub fn contains(&self, slot: u16) -> bool {
        match &self.repr {
            Repr::Runs(runs) => runs.get(run_at(runs, slot)).is_some_and(|r| r.0 <= slot),
            Repr::Bits(b) => b.contains(slot),
        }
    }

    /// The members in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        self.ranges().flatten()
    }

    /// The maximal runs of consecutive members, ascending.
    pub fn ranges(&self) -> SlotRanges<'_> {
        match &self.repr {
            Repr::Runs(runs) => SlotRanges::Runs(runs.iter()),
            Repr::Bits(b) => SlotRanges::Bits(b.ranges()),
        }
    }

    /// The same set as a bitmap (message headers, UPDATE).
    pub fn to_set(&self) -> SlotSet {
        match &self.repr {
            Repr::Runs(runs) => {
                let mut s = SlotSet::EMPTY;
                for r in runs {
                    s.insert_range(r.0..=r.1);
                }
                s
            }
            Repr::Bits(b) => (**b).clone(),
        }
    }

    /// True if it holds exactly the members of `set` (a header's claimed slots).
    pub fn same_as(&self, set: &SlotSet) -> bool {
        // Both sides list maximal runs, so equal runs mean equal sets.
        match &self.repr {
            Repr::Runs(_) => self.ranges().eq(set.ranges()),
            Repr::Bits(b) => **b == *set,
        }
    }

    /// Add `slot`; true if it was not a member.
    pub(crate) fn insert(&mut self, slot: u16) -> bool {
        if slot >= cluster_bus::CLUSTER_SLOTS {
            return false;
        }
        let added = match &mut self.repr {
            Repr::Runs(runs) => {
                let i = run_at(runs, slot);
                if runs.get(i).is_some_and(|r| r.0 <= slot) {
                    return false;
                }
                // Neighbours: run i-1 ends before `slot`, run i starts after it.
                let joins_prev = i
                    .checked_sub(1)
                    .and_then(|p| runs.get(p))
                    .is_some_and(|r| r.1 + 1 == slot);
                let joins_next = runs.get(i).is_some_and(|r| r.0 == slot + 1);
                match (joins_prev, joins_next) {
                    (true, true) => {
                        let last = runs.get(i).map_or(slot, |r| r.1);
                        runs.remove(i);
                        if let Some(p) = runs.get_mut(i - 1) {
                            p.1 = last;
                        }
                    }
                    (true, false) => {
                        if let Some(p) = runs.get_mut(i - 1) {
                            p.1 = slot;
                        }
                    }
                    (false, true) => {
                        if let Some(n) = runs.get_mut(i) {
                            n.0 = slot;
                        }
                    }
                    (false, false) => runs.insert(i, (slot, slot)),
                }
                true
            }
            Repr::Bits(b) => b.insert(slot),
        };
        if added {
            self.len += 1;
            self.bitmap_if_fragmented();
        }
        added
    }

    /// Remove `slot`; true if it was a member.
    pub(crate) fn remove(&mut self, slot: u16) -> bool {
        let removed = match &mut self.repr {
            Repr::Runs(runs) => {
                let i = run_at(runs, slot);
                let Some(&(first, last)) = runs.get(i).filter(|r| r.0 <= slot) else {
                    return false;
                };
                if first == last {
                    runs.remove(i);
                } else if let Some(r) = runs.get_mut(i) {
                    if slot == first {
                        r.0 = slot + 1;
                    } else {
                        r.1 = slot - 1;
                        if slot != last {
                            runs.insert(i + 1, (slot + 1, last));
                        }
                    }
                }
                true
            }
            Repr::Bits(b) => b.remove(slot),
        };
        if removed {
            self.len -= 1;
            self.bitmap_if_fragmented();
        }
        removed
    }

    /// Add every slot of `range`.
    pub(crate) fn insert_range(&mut self, range: RangeInclusive<u16>) {
        let (a, b) = (
            *range.start(),
            (*range.end()).min(cluster_bus::CLUSTER_SLOTS - 1),
        );
        if a > b {
            return;
        }
        match &mut self.repr {
            Repr::Runs(runs) => {
                // Runs that overlap or touch [a, b] merge with it.
                let lo = runs.partition_point(|r| u32::from(r.1) + 1 < u32::from(a));
                let hi = runs.partition_point(|r| u32::from(r.0) <= u32::from(b) + 1);
                let first = runs.get(lo).filter(|_| lo < hi).map_or(a, |r| r.0.min(a));
                let last = hi
                    .checked_sub(1)
                    .and_then(|h| runs.get(h))
                    .filter(|_| lo < hi)
                    .map_or(b, |r| r.1.max(b));
                runs.splice(lo..hi, [(first, last)]);
                let n: u32 = runs.iter().map(|r| u32::from(r.1 - r.0) + 1).sum();
                self.len = u16::try_from(n).unwrap_or(u16::MAX);
                self.bitmap_if_fragmented();
            }
            Repr::Bits(bits) => {
                bits.insert_range(a..=b);
                self.len = u16::try_from(bits.len()).unwrap_or(u16::MAX);
            }
        }
    }

    fn bitmap_if_fragmented(&mut self) {
        if let Repr::Runs(runs) = &self.repr {
            if runs.len() > RUNS_LIMIT {
                self.repr = Repr::Bits(Box::new(self.to_set()));
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// Every operation on both forms agrees with a plain bitmap.
    fn check(s: &NodeSlots, model: &SlotSet) {
        assert_eq!(s.len(), model.len());
        assert_eq!(s.to_set(), *model);
        assert!(s.same_as(model));
        assert!(s.iter().eq(model.iter()));
        assert!(s.ranges().eq(model.ranges()));
        for slot in [0u16, 1, 2, 99, 100, 101, 8191, 16382, 16383] {
            assert_eq!(s.contains(slot), model.contains(slot), "slot {slot}");
        }
    }

    #[test]
    fn runs_merge_split_and_match_a_bitmap() {
        let mut s = NodeSlots::default();
        let mut m = SlotSet::EMPTY;
        for slot in [5u16, 7, 6, 4, 100, 16383, 0, 99, 101] {
            assert_eq!(s.insert(slot), m.insert(slot));
            check(&s, &m);
        }
        assert!(!s.insert(6));
        for slot in [6u16, 4, 16383, 0, 100, 3] {
            assert_eq!(s.remove(slot), m.remove(slot));
            check(&s, &m);
        }
        s.insert_range(50..=200);
        m.insert_range(50..=200);
        check(&s, &m);
        s.insert_range(0..=16383);
        m.insert_range(0..=16383);
        check(&s, &m);
        assert_eq!(s.len(), 16384);
        assert!(!s.same_as(&SlotSet::EMPTY));
    }

    #[test]
    fn fragmented_sets_become_bitmaps_with_the_same_answers() {
        let mut s = NodeSlots::default();
        let mut m = SlotSet::EMPTY;
        for slot in (0..16384u16).step_by(3) {
            s.insert(slot);
            m.insert(slot);
        }
        assert!(matches!(s.repr, Repr::Bits(_)));
        check(&s, &m);
        for slot in (0..16384u16).step_by(6) {
            assert_eq!(s.remove(slot), m.remove(slot));
        }
        s.insert_range(10..=20);
        m.insert_range(10..=20);
        check(&s, &m);
    }

    proptest::proptest! {
        /// Any sequence of inserts, removes and ranges (clustered so runs touch and
        /// split, long enough to cross into the bitmap) answers as a bitmap does.
        #[test]
        fn any_operations_match_a_bitmap(
            ops in proptest::collection::vec((0u8..3, 0u16..700, 0u16..40), 0..700)
        ) {
            let mut s = NodeSlots::default();
            let mut m = SlotSet::EMPTY;
            for (op, slot, width) in ops {
                match op {
                    0 => proptest::prop_assert_eq!(s.insert(slot), m.insert(slot)),
                    1 => proptest::prop_assert_eq!(s.remove(slot), m.remove(slot)),
                    _ => {
                        s.insert_range(slot..=slot + width);
                        m.insert_range(slot..=slot + width);
                    }
                }
            }
            check(&s, &m);
            for slot in 0..800u16 {
                proptest::prop_assert_eq!(s.contains(slot), m.contains(slot));
            }
        }
    }

    #[test]
    fn a_range_joins_the_runs_it_touches() {
        let mut s = NodeSlots::default();
        let mut m = SlotSet::EMPTY;
        for r in [
            (10u16, 20u16),
            (30, 40),
            (60, 70),
            (21, 29),
            (0, 5),
            (41, 59),
            (6, 9),
        ] {
            s.insert_range(r.0..=r.1);
            m.insert_range(r.0..=r.1);
            check(&s, &m);
        }
        assert_eq!(s.ranges().count(), 1);
        assert!(!s.insert(16384));
        assert!(!s.remove(16384));
    }
}
