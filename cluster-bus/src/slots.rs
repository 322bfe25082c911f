//! The 16384-slot bitmap of `myslots` and of UPDATE (cluster-bus.md §2.1).

use std::fmt;
use std::ops::{BitAnd, BitAndAssign, BitOr, BitOrAssign, RangeInclusive, Sub, SubAssign};

/// Number of hash slots (`CLUSTER_SLOTS`).
pub const CLUSTER_SLOTS: u16 = 16384;
/// Size of a slot bitmap on the wire.
pub const SLOT_BITMAP_LEN: usize = 2048;
const WORDS: usize = 256;

/// A set of hash slots, 16384 bits.
///
/// On the wire slot `s` is bit `s & 7` of byte `s >> 3`; stored as 256 little-endian
/// `u64` words that is exactly bit `s & 63` of word `s >> 6`, so conversion is a plain
/// word copy. Slots outside `0..16384` are never members: inserting one does nothing.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SlotSet([u64; WORDS]);

impl Default for SlotSet {
    fn default() -> Self {
        SlotSet::EMPTY
    }
}

impl SlotSet {
    /// No slot.
    pub const EMPTY: SlotSet = SlotSet([0; WORDS]);
    /// All 16384 slots.
    pub const FULL: SlotSet = SlotSet([u64::MAX; WORDS]);

    /// An empty set.
    pub const fn new() -> Self {
        SlotSet::EMPTY
    }

    /// The set of slots in `range` (clamped to `0..16384`).
    pub fn from_range(range: RangeInclusive<u16>) -> Self {
        let mut set = SlotSet::EMPTY;
        set.insert_range(range);
        set
    }

    /// Read the 2048-byte wire bitmap.
    pub fn from_wire(bytes: &[u8; SLOT_BITMAP_LEN]) -> Self {
        let mut words = [0u64; WORDS];
        for (w, chunk) in words.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *w = u64::from_le_bytes(b);
        }
        SlotSet(words)
    }

    /// The 2048-byte wire bitmap.
    pub fn to_wire(&self) -> [u8; SLOT_BITMAP_LEN] {
        let mut out = [0u8; SLOT_BITMAP_LEN];
        self.write_wire(&mut out);
        out
    }

    pub(crate) fn write_wire(&self, out: &mut [u8; SLOT_BITMAP_LEN]) {
        for (chunk, w) in out.chunks_exact_mut(8).zip(self.0.iter()) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
    }

    /// Is `slot` in the set?
    pub fn contains(&self, slot: u16) -> bool {
        slot < CLUSTER_SLOTS && self.0[usize::from(slot >> 6)] & (1 << (slot & 63)) != 0
    }

    /// Add `slot`; returns true if it was not there. Out-of-range slots are ignored
    /// (returns false).
    pub fn insert(&mut self, slot: u16) -> bool {
        if slot >= CLUSTER_SLOTS {
            return false;
        }
        let (w, bit) = (usize::from(slot >> 6), 1u64 << (slot & 63));
        let was = self.0[w] & bit != 0;
        self.0[w] |= bit;
        !was
    }

    /// Remove `slot`; returns true if it was there.
    pub fn remove(&mut self, slot: u16) -> bool {
        if slot >= CLUSTER_SLOTS {
            return false;
        }
        let (w, bit) = (usize::from(slot >> 6), 1u64 << (slot & 63));
        let was = self.0[w] & bit != 0;
        self.0[w] &= !bit;
        was
    }

    /// Add every slot of `range` (clamped to `0..16384`).
    pub fn insert_range(&mut self, range: RangeInclusive<u16>) {
        let (start, end) = (*range.start(), (*range.end()).min(CLUSTER_SLOTS - 1));
        if range.is_empty() || start > end {
            return;
        }
        let (first, last) = (usize::from(start >> 6), usize::from(end >> 6));
        for (i, w) in self.0[first..=last].iter_mut().enumerate() {
            let idx = first + i;
            let lo = if idx == first { start & 63 } else { 0 };
            let hi = if idx == last { end & 63 } else { 63 };
            // bits lo..=hi
            let mask = (u64::MAX >> (63 - hi)) & (u64::MAX << lo);
            *w |= mask;
        }
    }

    /// Number of slots in the set.
    pub fn len(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// True when no slot is set.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&w| w == 0)
    }

    /// Remove every slot.
    pub fn clear(&mut self) {
        self.0 = [0; WORDS];
    }

    /// True when the two sets share a slot.
    pub fn intersects(&self, other: &SlotSet) -> bool {
        self.0.iter().zip(other.0.iter()).any(|(a, b)| a & b != 0)
    }

    /// True when every slot of `self` is in `other`.
    pub fn is_subset(&self, other: &SlotSet) -> bool {
        self.0.iter().zip(other.0.iter()).all(|(a, b)| a & !b == 0)
    }

    /// The slots in ascending order.
    pub fn iter(&self) -> Slots<'_> {
        Slots {
            words: &self.0,
            idx: 0,
            cur: self.0[0],
        }
    }

    /// Maximal runs of consecutive slots, ascending: `0-5460` comes out as one range.
    pub fn ranges(&self) -> Ranges<'_> {
        Ranges { set: self, pos: 0 }
    }

    /// The first member at or after `from`, if any.
    fn next_set(&self, from: u32) -> Option<u32> {
        self.scan(from, false)
    }

    /// The first non-member at or after `from`, if any.
    fn next_clear(&self, from: u32) -> Option<u32> {
        self.scan(from, true)
    }

    fn scan(&self, from: u32, invert: bool) -> Option<u32> {
        let mut idx = (from >> 6) as usize;
        let flip = if invert { u64::MAX } else { 0 };
        let mut word = (self.0.get(idx)? ^ flip) & (u64::MAX << (from & 63));
        loop {
            if word != 0 {
                return Some((idx as u32) * 64 + word.trailing_zeros());
            }
            idx += 1;
            word = self.0.get(idx)? ^ flip;
        }
    }
}

/// Iterator over the members of a [`SlotSet`], see [`SlotSet::iter`].
#[derive(Debug, Clone)]
pub struct Slots<'a> {
    words: &'a [u64; WORDS],
    idx: usize,
    cur: u64,
}

impl Iterator for Slots<'_> {
    type Item = u16;
    fn next(&mut self) -> Option<u16> {
        while self.cur == 0 {
            self.idx += 1;
            self.cur = *self.words.get(self.idx)?;
        }
        let bit = self.cur.trailing_zeros();
        self.cur &= self.cur - 1;
        // idx < 256 and bit < 64, so the slot is < 16384 and fits in u16.
        Some((self.idx as u16) << 6 | bit as u16)
    }
}

/// Iterator over the runs of a [`SlotSet`], see [`SlotSet::ranges`].
#[derive(Debug, Clone)]
pub struct Ranges<'a> {
    set: &'a SlotSet,
    pos: u32,
}

impl Iterator for Ranges<'_> {
    type Item = RangeInclusive<u16>;
    fn next(&mut self) -> Option<RangeInclusive<u16>> {
        let start = self.set.next_set(self.pos)?;
        let end = self
            .set
            .next_clear(start)
            .unwrap_or(u32::from(CLUSTER_SLOTS));
        self.pos = end;
        // Both are <= 16384, so they fit in u16.
        Some(start as u16..=(end - 1) as u16)
    }
}

impl fmt::Debug for SlotSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SlotSet[")?;
        for (i, r) in self.ranges().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            if r.start() == r.end() {
                write!(f, "{}", r.start())?;
            } else {
                write!(f, "{}-{}", r.start(), r.end())?;
            }
        }
        f.write_str("]")
    }
}

impl FromIterator<u16> for SlotSet {
    fn from_iter<I: IntoIterator<Item = u16>>(iter: I) -> Self {
        let mut set = SlotSet::EMPTY;
        for s in iter {
            set.insert(s);
        }
        set
    }
}

impl<'a> IntoIterator for &'a SlotSet {
    type Item = u16;
    type IntoIter = Slots<'a>;
    fn into_iter(self) -> Slots<'a> {
        self.iter()
    }
}

macro_rules! set_op {
    ($tr:ident, $m:ident, $tra:ident, $ma:ident, $op:expr) => {
        impl $tra<&SlotSet> for SlotSet {
            fn $ma(&mut self, rhs: &SlotSet) {
                for (a, b) in self.0.iter_mut().zip(rhs.0.iter()) {
                    *a = $op(*a, *b);
                }
            }
        }
        impl $tr<&SlotSet> for &SlotSet {
            type Output = SlotSet;
            fn $m(self, rhs: &SlotSet) -> SlotSet {
                let mut out = self.clone();
                $tra::$ma(&mut out, rhs);
                out
            }
        }
    };
}

set_op!(BitOr, bitor, BitOrAssign, bitor_assign, |a, b| a | b);
set_op!(BitAnd, bitand, BitAndAssign, bitand_assign, |a, b| a & b);
set_op!(Sub, sub, SubAssign, sub_assign, |a: u64, b: u64| a & !b);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_layout_is_lsb_first_per_byte() {
        let set = SlotSet::from_range(0..=5460);
        let wire = set.to_wire();
        assert!(wire[..682].iter().all(|&b| b == 0xff));
        assert_eq!(wire[682], 0x1f);
        assert!(wire[683..].iter().all(|&b| b == 0));
        assert_eq!(SlotSet::from_wire(&wire), set);
    }

    #[test]
    fn ranges_find_runs_across_words() {
        let mut set = SlotSet::from_range(10923..=16383);
        set.insert(0);
        set.insert(63);
        set.insert(64);
        set.insert(200);
        let r: Vec<_> = set.ranges().collect();
        assert_eq!(r, vec![0..=0, 63..=64, 200..=200, 10923..=16383]);
        assert_eq!(set.len(), 5461 + 4);
        assert_eq!(SlotSet::FULL.ranges().collect::<Vec<_>>(), vec![0..=16383]);
        assert_eq!(SlotSet::EMPTY.ranges().count(), 0);
    }

    #[test]
    fn iter_and_set_operations() {
        let a = SlotSet::from_range(0..=100);
        let b = SlotSet::from_range(50..=200);
        assert_eq!((&a & &b).ranges().collect::<Vec<_>>(), vec![50..=100]);
        assert_eq!((&a | &b).ranges().collect::<Vec<_>>(), vec![0..=200]);
        assert_eq!((&a - &b).ranges().collect::<Vec<_>>(), vec![0..=49]);
        assert!(a.intersects(&b) && !a.is_subset(&b));
        assert_eq!(a.iter().count(), 101);
        let odd: SlotSet = (0..CLUSTER_SLOTS).filter(|s| s % 2 == 1).collect();
        assert_eq!(odd.iter().last(), Some(16383));
        assert_eq!(odd.ranges().count(), 8192);
        let mut s = SlotSet::new();
        assert!(!s.insert(CLUSTER_SLOTS) && !s.contains(CLUSTER_SLOTS));
        assert!(s.insert(5) && !s.insert(5) && s.remove(5) && s.is_empty());
    }
}
