//! Lists: Redis 7.0's quicklist, a deque of listpack nodes. OBJECT ENCODING is always
//! `quicklist` in 7.0 (checked against redis-server 7.0.15; listpack lists are 7.2).
//!
//! A node takes another element while it stays within `list-max-listpack-size`: negative
//! values cap node bytes (-1: 4 KB, -2: 8 KB, … -5: 64 KB), positive values cap the entry
//! count with an 8 KB safety limit (_quicklistNodeAllowInsert). Nodes are never compressed
//! (list-compress-depth 0, the default) and there are no "plain" nodes for elements over
//! 1 GB: an element larger than a node limit simply gets a node of its own.

use std::collections::VecDeque;

use super::listpack::Listpack;
use super::{Elem, TypesError};

const SAFETY_LIMIT: usize = 8192;
const OPTIMIZATION_LEVEL: [usize; 5] = [4096, 8192, 16384, 32768, 65536];

/// A list value.
#[derive(Clone, Default)]
pub struct List {
    /// Boxed so a list, like every collection value, fits inside its key's table entry.
    q: Box<Quicklist>,
}

#[derive(Clone, Default)]
struct Quicklist {
    nodes: VecDeque<Listpack>,
    len: usize,
    fill: i64,
}

impl std::fmt::Debug for List {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Which end of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The head (LPUSH, LPOP).
    Left,
    /// The tail (RPUSH, RPOP).
    Right,
}

fn allow_insert(node: &Listpack, fill: i64, sz: usize) -> bool {
    // The 7.0 estimate of what one more entry adds (previous-length and header bytes).
    let overhead = (if sz < 254 { 1 } else { 5 })
        + if sz < 64 {
            1
        } else if sz < 16384 {
            2
        } else {
            5
        };
    let new_sz = node.bytes_len() + sz + overhead;
    if fill < 0 {
        let level = usize::try_from(-fill - 1)
            .ok()
            .and_then(|i| OPTIMIZATION_LEVEL.get(i));
        match level {
            Some(&limit) if new_sz <= limit => return true,
            _ => {}
        }
    }
    if new_sz > SAFETY_LIMIT {
        return false;
    }
    fill >= 0 && (node.len() as i64) < fill
}

/// Normalises LRANGE-style `start`/`stop` against `len`: the inclusive range, or `None`.
pub fn normalize_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 {
        start.saturating_add(len)
    } else {
        start
    };
    let mut stop = if stop < 0 {
        stop.saturating_add(len)
    } else {
        stop
    };
    if start < 0 {
        start = 0;
    }
    if start > stop || start >= len {
        return None;
    }
    if stop >= len {
        stop = len - 1;
    }
    Some((start as usize, stop as usize))
}

impl List {
    /// An empty list whose nodes follow `list-max-listpack-size` = `fill`.
    pub fn new(fill: i64) -> Self {
        List {
            q: Box::new(Quicklist {
                nodes: VecDeque::new(),
                len: 0,
                fill,
            }),
        }
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    /// LLEN.
    pub fn len(&self) -> usize {
        self.q.len
    }

    /// Whether the list is empty (the key must then be deleted).
    pub fn is_empty(&self) -> bool {
        self.q.len == 0
    }

    /// The nodes, head first (for an RDB writer: RDB_TYPE_LIST_QUICKLIST_2).
    pub fn nodes(&self) -> impl Iterator<Item = &Listpack> {
        self.q.nodes.iter()
    }

    /// LPUSH/RPUSH of one element.
    pub fn push(&mut self, end: End, value: &[u8]) {
        let fill = self.q.fill;
        // An entry costs at most its bytes plus a 5-byte header and a 5-byte backlen.
        let room = value.len() + 10;
        match end {
            End::Left => match self.q.nodes.front_mut() {
                Some(n) if allow_insert(n, fill, value.len()) => {
                    n.reserve_for_growth(room);
                    n.push_front(value);
                }
                _ => {
                    let mut n = Listpack::new();
                    n.push_front(value);
                    self.q.nodes.push_front(n);
                }
            },
            End::Right => match self.q.nodes.back_mut() {
                Some(n) if allow_insert(n, fill, value.len()) => {
                    n.reserve_for_growth(room);
                    n.push_back(value);
                }
                _ => {
                    let mut n = Listpack::new();
                    n.push_back(value);
                    self.q.nodes.push_back(n);
                }
            },
        }
        self.q.len += 1;
    }

    /// LPOP/RPOP of one element.
    pub fn pop(&mut self, end: End) -> Option<Vec<u8>> {
        let (value, empty) = {
            let node = match end {
                End::Left => self.q.nodes.front_mut()?,
                End::Right => self.q.nodes.back_mut()?,
            };
            let off = match end {
                End::Left => node.first()?,
                End::Right => node.last()?,
            };
            let v = node.get(off).to_vec();
            node.delete(off);
            (v, node.is_empty())
        };
        if empty {
            match end {
                End::Left => self.q.nodes.pop_front(),
                End::Right => self.q.nodes.pop_back(),
            };
        }
        self.q.len -= 1;
        Some(value)
    }

    /// Node number, offset inside it and index inside it of element `i` (0-based from the
    /// head), counted from the nearer end.
    fn locate(&self, i: usize) -> Option<(usize, usize, usize)> {
        if i >= self.q.len {
            return None;
        }
        if i < self.q.len / 2 {
            let mut acc = 0;
            for (n, node) in self.q.nodes.iter().enumerate() {
                let c = node.len();
                if i < acc + c {
                    return node.seek((i - acc) as i64).map(|o| (n, o, i - acc));
                }
                acc += c;
            }
        } else {
            let mut acc = self.q.len;
            for (n, node) in self.q.nodes.iter().enumerate().rev() {
                let c = node.len();
                acc -= c;
                if i >= acc {
                    return node.seek((i - acc) as i64).map(|o| (n, o, i - acc));
                }
            }
        }
        None
    }

    fn abs_index(&self, index: i64) -> Option<usize> {
        let i = if index < 0 {
            index.checked_add(self.q.len as i64)?
        } else {
            index
        };
        usize::try_from(i).ok().filter(|&i| i < self.q.len)
    }

    /// LINDEX (negative counts from the tail).
    pub fn get(&self, index: i64) -> Option<Elem<'_>> {
        let (n, o, _) = self.locate(self.abs_index(index)?)?;
        self.q.nodes.get(n).map(|node| node.get(o))
    }

    /// LSET.
    pub fn set(&mut self, index: i64, value: &[u8]) -> Result<(), TypesError> {
        let (n, o, _) = self
            .abs_index(index)
            .and_then(|i| self.locate(i))
            .ok_or(TypesError::IndexOutOfRange)?;
        if let Some(node) = self.q.nodes.get_mut(n) {
            node.replace(o, value);
        }
        Ok(())
    }

    /// Elements from the head.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = Elem<'_>> + '_ {
        self.q.nodes.iter().flat_map(NodeIter::new)
    }

    /// LRANGE: how many elements `start..=stop` are after normalisation (negative from the
    /// tail), and the elements, read as the reply is written (no vector in between).
    /// The first element is found through whole nodes, from the nearer end, as Redis's
    /// iterator seeks; not by stepping over every element before it.
    pub fn range(&self, start: i64, stop: i64) -> (usize, impl Iterator<Item = Elem<'_>> + '_) {
        let (first, n) =
            normalize_range(start, stop, self.q.len).map_or((0, 0), |(a, b)| (a, b - a + 1));
        let from = if n > 0 { self.locate(first) } else { None };
        let elems = from.into_iter().flat_map(move |(node, o, k)| {
            let head = self.q.nodes.get(node).map(|lp| NodeIter {
                lp,
                front: Some(o),
                back: lp.last(),
                left: lp.len() - k,
            });
            let rest = self.q.nodes.iter().skip(node + 1).flat_map(NodeIter::new);
            head.into_iter().flatten().chain(rest)
        });
        (n, elems.take(n))
    }

    fn split_if_oversized(&mut self, n: usize) {
        let Some(node) = self.q.nodes.get(n) else {
            return;
        };
        let limit = if self.q.fill < 0 {
            usize::try_from(-self.q.fill - 1)
                .ok()
                .and_then(|i| OPTIMIZATION_LEVEL.get(i))
                .copied()
                .unwrap_or(SAFETY_LIMIT)
        } else {
            SAFETY_LIMIT
        };
        let over_count = self.q.fill > 0 && node.len() as i64 > self.q.fill;
        if (node.bytes_len() <= limit && !over_count) || node.len() < 2 {
            return;
        }
        let half = node.len() / 2;
        let mut right = Listpack::new();
        let mut left = Listpack::new();
        for (i, e) in node.iter().enumerate() {
            let target = if i < half { &mut left } else { &mut right };
            target.insert_elem_before(target.end(), e);
        }
        if let Some(slot) = self.q.nodes.get_mut(n) {
            *slot = left;
        }
        self.q.nodes.insert(n + 1, right);
    }

    /// LINSERT: inserts `value` before or after the first `pivot`; the new length, or
    /// `None` when the pivot is not there.
    pub fn insert(&mut self, pivot: &[u8], value: &[u8], after: bool) -> Option<usize> {
        let needle = Elem::classify(pivot);
        let mut found = None;
        'outer: for (n, node) in self.q.nodes.iter().enumerate() {
            let mut p = node.first();
            while let Some(o) = p {
                if node.get(o) == needle {
                    found = Some((n, o));
                    break 'outer;
                }
                p = node.next(o);
            }
        }
        let (n, o) = found?;
        let node = self.q.nodes.get_mut(n)?;
        let at = if after {
            node.next(o).unwrap_or(node.end())
        } else {
            o
        };
        node.insert_before(at, value);
        self.q.len += 1;
        self.split_if_oversized(n);
        Some(self.q.len)
    }

    /// LREM: removes up to `count` occurrences of `value` (from the head when positive, from
    /// the tail when negative, all when 0); the number removed.
    pub fn remove(&mut self, count: i64, value: &[u8]) -> usize {
        let needle = Elem::classify(value);
        let limit = if count == 0 {
            u64::MAX
        } else {
            count.unsigned_abs()
        };
        let mut removed = 0u64;
        if count >= 0 {
            let mut n = 0;
            while n < self.q.nodes.len() && removed < limit {
                let Some(node) = self.q.nodes.get_mut(n) else {
                    break;
                };
                let mut p = node.first();
                while let Some(o) = p {
                    if removed >= limit {
                        break;
                    }
                    if node.get(o) == needle {
                        removed += 1;
                        p = node.delete(o);
                    } else {
                        p = node.next(o);
                    }
                }
                n += 1;
            }
        } else {
            let mut n = self.q.nodes.len();
            while n > 0 && removed < limit {
                n -= 1;
                let Some(node) = self.q.nodes.get_mut(n) else {
                    break;
                };
                let mut p = node.last();
                while let Some(o) = p {
                    if removed >= limit {
                        break;
                    }
                    let prev = node.prev(o);
                    if node.get(o) == needle {
                        removed += 1;
                        node.delete(o);
                    }
                    p = prev;
                }
            }
        }
        self.q.nodes.retain(|n| !n.is_empty());
        self.q.len -= removed as usize;
        removed as usize
    }

    /// LTRIM: keeps `start..=stop` (normalised like LRANGE); everything when out of range.
    pub fn trim(&mut self, start: i64, stop: i64) {
        let (ltrim, rtrim) = match normalize_range(start, stop, self.q.len) {
            Some((a, b)) => (a, self.q.len - b - 1),
            None => (self.q.len, 0),
        };
        self.delete_from_head(ltrim);
        self.delete_from_tail(rtrim);
    }

    fn delete_from_head(&mut self, mut k: usize) {
        while k > 0 {
            let Some(node) = self.q.nodes.front_mut() else {
                break;
            };
            let c = node.len();
            if c <= k {
                self.q.nodes.pop_front();
                self.q.len -= c;
                k -= c;
            } else {
                if let Some(f) = node.first() {
                    node.delete_n(f, k);
                }
                self.q.len -= k;
                k = 0;
            }
        }
    }

    fn delete_from_tail(&mut self, mut k: usize) {
        while k > 0 {
            let Some(node) = self.q.nodes.back_mut() else {
                break;
            };
            let c = node.len();
            if c <= k {
                self.q.nodes.pop_back();
                self.q.len -= c;
                k -= c;
            } else {
                if let Some(o) = node.seek(-(k as i64)) {
                    node.delete_n(o, k);
                }
                self.q.len -= k;
                k = 0;
            }
        }
    }

    /// LPOS: indexes (from the head) of matches of `value`. `rank` (not 0) picks the first
    /// match to report, negative scanning from the tail; `count` 0 means all matches; `maxlen`
    /// 0 means no limit on elements compared.
    pub fn positions(
        &self,
        value: &[u8],
        rank: i64,
        count: usize,
        maxlen: usize,
    ) -> Result<Vec<usize>, TypesError> {
        if rank == 0 {
            return Err(TypesError::RankZero);
        }
        let needle = Elem::classify(value);
        let mut skip = rank.unsigned_abs() - 1;
        let want = if count == 0 { usize::MAX } else { count };
        let limit = if maxlen == 0 { usize::MAX } else { maxlen };
        let mut out = Vec::new();
        let mut check = |i: usize, e: Elem<'_>| -> bool {
            if e == needle {
                if skip == 0 {
                    out.push(i);
                } else {
                    skip -= 1;
                }
            }
            out.len() >= want
        };
        if rank > 0 {
            for (i, e) in self.iter().enumerate().take(limit) {
                if check(i, e) {
                    break;
                }
            }
        } else {
            for (k, e) in self.iter().rev().enumerate().take(limit) {
                if check(self.q.len - 1 - k, e) {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Approximate bytes used, for MEMORY USAGE.
    pub fn mem_usage(&self) -> usize {
        std::mem::size_of::<Self>()
            + std::mem::size_of::<Quicklist>()
            + self.q.nodes.capacity() * std::mem::size_of::<Listpack>()
            + self.q.nodes.iter().map(Listpack::heap_size).sum::<usize>()
    }
}

/// Double-ended iterator over one node.
struct NodeIter<'a> {
    lp: &'a Listpack,
    front: Option<usize>,
    back: Option<usize>,
    left: usize,
}

impl<'a> NodeIter<'a> {
    fn new(lp: &'a Listpack) -> Self {
        NodeIter {
            lp,
            front: lp.first(),
            back: lp.last(),
            left: lp.len(),
        }
    }
}

impl<'a> Iterator for NodeIter<'a> {
    type Item = Elem<'a>;
    fn next(&mut self) -> Option<Elem<'a>> {
        if self.left == 0 {
            return None;
        }
        let o = self.front?;
        self.left -= 1;
        self.front = self.lp.next(o);
        Some(self.lp.get(o))
    }
}

impl DoubleEndedIterator for NodeIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let o = self.back?;
        self.left -= 1;
        self.back = self.lp.prev(o);
        Some(self.lp.get(o))
    }
}
