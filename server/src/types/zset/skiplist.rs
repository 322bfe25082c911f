//! The `skiplist` form: Redis's skip list with spans (rank queries in O(log n)), plus a
//! member -> element index for O(1) ZSCORE.
//!
//! Why a skip list rather than an order-statistic B-tree: it gives the same traversal
//! shapes as t_zset.c (zslFirstInRange, zslGetRank, zslDeleteRangeByScore…), so the
//! results of the not-quite-specified cases (ZRANGEBYLEX over mixed scores) follow the same
//! path Redis takes.
//!
//! Layout: every node is a block of consecutive [`Link`]s in one arena — a header slot, then
//! one link per level — addressed by the offset of its header, so a search step reads one
//! link and finds there both where to go and the score it will meet (one cache miss per
//! step, as Redis's node with its level array inline, with no allocation per node). Members
//! live in a second array whose positions stay fixed while the member is in the set: the
//! member index and ZSCAN's cursor hold those positions, while a score change that moves a
//! node gives it a new block (with a new random level, as zslUpdateScore's delete and
//! insert).

use crate::types::chunked::Chunked;
use crate::types::index::PosIndex;
use crate::types::small_bytes::SmallBytes;
use crate::types::table::hash_bytes;

const MAX_LEVEL: usize = 32;
const NIL: u32 = u32::MAX;
/// The head node's block starts the arena.
const HEAD: u32 = 0;

/// One arena slot. As a level link: the next node's block, the number of elements it skips
/// and the next node's score (unused at NIL). As a node's header slot: `next` is the
/// previous node on level 0 (the backward pointer), `span` the member's position in
/// `members`, `score` the node's own score. As a free block's header slot: `next` is the
/// next free block of the same size.
#[derive(Clone, Copy, Debug)]
struct Link {
    next: u32,
    span: u32,
    score: f64,
}

const END: Link = Link {
    next: NIL,
    span: 0,
    score: 0.0,
};

/// An element's member string and where its node is.
#[derive(Clone, Debug)]
struct Member {
    /// In place when short, so that comparing it costs no hop beyond the member array.
    name: SmallBytes,
    /// Offset of the node's block; for a free position, the next free position (or NIL).
    at: u32,
    /// The node's level count (its block is `level + 1` slots); 0 for a free position.
    level: u8,
}

/// A sorted set's large form.
#[derive(Clone, Debug)]
pub struct SkipList {
    slots: Vec<Link>,
    /// The first free block of each level count, reused for nodes of the same level. The
    /// free lists run through the free blocks themselves (as `free_members` through the
    /// free positions) so that removals never grow a vector: with glibc, a vector growing
    /// past 64 KB frees its old buffer and that free consolidates every small chunk freed
    /// so far, a pause of milliseconds in the middle of a ZPOPMIN run.
    free_blocks: [u32; MAX_LEVEL + 1],
    members: Chunked<Member>,
    /// The first free position in `members` (NIL for none).
    free_members: u32,
    level: usize,
    len: usize,
    tail: u32,
    /// Positions in `members`, hashed by member.
    map: PosIndex,
}

impl Default for SkipList {
    fn default() -> Self {
        Self::new()
    }
}

fn random_level() -> usize {
    // ZSKIPLIST_P = 0.25.
    let mut l = 1;
    while l < MAX_LEVEL && fastrand::u32(..) & 0xFFFF < 0xFFFF / 4 {
        l += 1;
    }
    l
}

impl SkipList {
    /// An empty skip list.
    pub fn new() -> Self {
        let mut slots = vec![END; MAX_LEVEL + 1];
        slots[HEAD as usize].span = NIL;
        SkipList {
            slots,
            free_blocks: [NIL; MAX_LEVEL + 1],
            members: Chunked::default(),
            free_members: NIL,
            level: 1,
            len: 0,
            tail: NIL,
            map: PosIndex::default(),
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn link(&self, x: u32, i: usize) -> Link {
        self.slots[x as usize + 1 + i]
    }

    fn link_mut(&mut self, x: u32, i: usize) -> &mut Link {
        &mut self.slots[x as usize + 1 + i]
    }

    /// The node's own score.
    fn score_of(&self, x: u32) -> f64 {
        self.slots[x as usize].score
    }

    /// The node's previous node on level 0 (NIL for the first).
    fn back(&self, x: u32) -> u32 {
        self.slots[x as usize].next
    }

    fn member_at(&self, x: u32) -> &[u8] {
        &self.members[self.slots[x as usize].span as usize].name
    }

    fn find_member(&self, member: &[u8]) -> Option<u32> {
        let members = &self.members;
        self.map.find(hash_bytes(member), |i| {
            members.get(i as usize).is_some_and(|m| *m.name == *member)
        })
    }

    /// The node block of the member at position `mi`, None for a free position.
    fn node_of(&self, mi: u32) -> Option<u32> {
        self.members
            .get(mi as usize)
            .filter(|m| m.level != 0)
            .map(|m| m.at)
    }

    /// The position of `member` in the member array and its score, for a following
    /// [`SkipList::update_score_at`] without a second lookup.
    pub(crate) fn locate(&self, member: &[u8]) -> Option<(u32, f64)> {
        let mi = self.find_member(member)?;
        Some((mi, self.score_of(self.members[mi as usize].at)))
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.locate(member).map(|(_, s)| s)
    }

    /// Whether the node `l` leads to sorts before (score, member).
    fn leads_before(&self, l: Link, score: f64, member: &[u8]) -> bool {
        l.next != NIL
            && (l.score < score || (l.score == score && *self.member_at(l.next) < *member))
    }

    /// The last node before (score, member) on each level, and its rank.
    fn search(&self, score: f64, member: &[u8]) -> ([u32; MAX_LEVEL], [u32; MAX_LEVEL]) {
        let mut update = [HEAD; MAX_LEVEL];
        let mut rank = [0u32; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            rank[i] = if i == self.level - 1 { 0 } else { rank[i + 1] };
            loop {
                let l = self.link(x, i);
                if !self.leads_before(l, score, member) {
                    break;
                }
                rank[i] += l.span;
                x = l.next;
            }
            update[i] = x;
        }
        (update, rank)
    }

    /// The predecessors of node `x` on each level.
    fn search_node(&self, x: u32) -> [u32; MAX_LEVEL] {
        self.search(self.score_of(x), self.member_at(x)).0
    }

    /// A block of `level + 1` slots, reused when one of that size is free.
    fn alloc_block(&mut self, level: usize) -> u32 {
        let o = self.free_blocks[level];
        if o != NIL {
            self.free_blocks[level] = self.slots[o as usize].next;
            self.slots[o as usize..=o as usize + level].fill(END);
            return o;
        }
        let o = self.slots.len() as u32;
        self.slots.resize(self.slots.len() + level + 1, END);
        o
    }

    fn free_block(&mut self, o: u32, level: usize) {
        self.slots[o as usize].next = self.free_blocks[level];
        self.free_blocks[level] = o;
    }

    /// Gives member `mi` a node with `score` and links it in.
    fn insert_node(&mut self, mi: u32, score: f64) {
        let (mut update, mut rank) = self.search(score, &self.members[mi as usize].name);
        let lvl = random_level();
        if lvl > self.level {
            for i in self.level..lvl {
                rank[i] = 0;
                update[i] = HEAD;
                self.link_mut(HEAD, i).span = self.len as u32;
            }
            self.level = lvl;
        }
        let idx = self.alloc_block(lvl);
        self.slots[idx as usize] = Link {
            next: if update[0] == HEAD { NIL } else { update[0] },
            span: mi,
            score,
        };
        let m = &mut self.members[mi as usize];
        m.at = idx;
        m.level = lvl as u8;
        for i in 0..lvl {
            let u = update[i];
            let ul = self.link(u, i);
            *self.link_mut(idx, i) = Link {
                next: ul.next,
                span: ul.span - (rank[0] - rank[i]),
                score: ul.score,
            };
            *self.link_mut(u, i) = Link {
                next: idx,
                span: rank[0] - rank[i] + 1,
                score,
            };
        }
        for (i, &u) in update.iter().enumerate().take(self.level).skip(lvl) {
            self.link_mut(u, i).span += 1;
        }
        let next = self.link(idx, 0).next;
        if next != NIL {
            self.slots[next as usize].next = idx;
        } else {
            self.tail = idx;
        }
        self.len += 1;
    }

    /// Unlinks node `idx` given its predecessors on each level and frees its block.
    fn unlink_at(&mut self, idx: u32, update: &[u32; MAX_LEVEL]) {
        for (i, &u) in update.iter().enumerate().take(self.level) {
            let ul = self.link(u, i);
            if ul.next == idx {
                let xl = self.link(idx, i);
                *self.link_mut(u, i) = Link {
                    next: xl.next,
                    span: ul.span + xl.span - 1,
                    score: xl.score,
                };
            } else {
                self.link_mut(u, i).span = ul.span.saturating_sub(1);
            }
        }
        let next = self.link(idx, 0).next;
        let back = self.back(idx);
        if next != NIL {
            self.slots[next as usize].next = back;
        } else {
            self.tail = back;
        }
        while self.level > 1 && self.link(HEAD, self.level - 1).next == NIL {
            self.level -= 1;
        }
        self.len -= 1;
        let mi = self.slots[idx as usize].span as usize;
        let level = usize::from(self.members[mi].level);
        self.free_block(idx, level);
    }

    /// Inserts a member known to be absent.
    pub fn insert(&mut self, member: &[u8], score: f64) {
        let m = Member {
            name: member.into(),
            at: NIL,
            level: 0,
        };
        let mi = match self.free_members {
            NIL => {
                self.members.push(m);
                (self.members.len() - 1) as u32
            }
            i => {
                self.free_members = self.members[i as usize].at;
                self.members[i as usize] = m;
                i
            }
        };
        self.insert_node(mi, score);
        let end = self.members.len();
        self.map
            .insert(hash_bytes(member), mi, member_hash(&self.members), end);
    }

    /// Changes the score of an existing member.
    pub fn update_score(&mut self, member: &[u8], score: f64) {
        if let Some(mi) = self.find_member(member) {
            self.update_score_at(mi, score);
        }
    }

    /// Changes the score of the member at position `mi` (from [`SkipList::locate`]).
    pub(crate) fn update_score_at(&mut self, mi: u32, score: f64) {
        let Some(idx) = self.node_of(mi) else {
            return;
        };
        let update = self.search_node(idx);
        let back = self.back(idx);
        let back_ok = back == NIL || self.score_of(back) < score;
        let next = self.link(idx, 0);
        let next_ok = next.next == NIL || next.score > score;
        if back_ok && next_ok {
            // Same position: no relinking (zslUpdateScore's fast path), only the scores the
            // predecessors' links remember.
            self.slots[idx as usize].score = score;
            for (i, &u) in update.iter().enumerate().take(self.level) {
                if self.link(u, i).next == idx {
                    self.link_mut(u, i).score = score;
                }
            }
            return;
        }
        self.unlink_at(idx, &update);
        self.insert_node(mi, score);
    }

    /// Removes `member`; its score when it was there.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let mi = self.find_member(member)?;
        self.remove_member(mi).map(|(_, score)| score)
    }

    /// Removes the member at position `mi`; its name and score.
    fn remove_member(&mut self, mi: u32) -> Option<(SmallBytes, f64)> {
        let idx = self.node_of(mi)?;
        let score = self.score_of(idx);
        let update = self.search_node(idx);
        self.unlink_at(idx, &update);
        let h = hash_bytes(&self.members[mi as usize].name);
        self.map.remove(h, mi);
        let gone = std::mem::replace(
            &mut self.members[mi as usize],
            Member {
                name: SmallBytes::default(),
                at: self.free_members,
                level: 0,
            },
        );
        self.free_members = mi;
        if self.len == 0 {
            *self = SkipList::new();
        } else {
            let end = self.members.len();
            // The member index is not shrunk (it never was): with glibc, freeing its old
            // table after a run of ZPOPMINs consolidates every member freed so far, a pause
            // of milliseconds. The memory comes back when the set empties.
            self.map
                .after_remove(member_hash(&self.members), end, false);
        }
        Some((gone.name, score))
    }

    /// One step of a ZSCAN cursor over the member array: visits up to `count` live
    /// members from position `cursor` (0 starts at the first) and returns the next cursor
    /// (0 when done). A member keeps its position while it is in the set (a score change
    /// only moves its node) and a freed position is only reused by a new member, so every
    /// member present for the whole scan is visited exactly once.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], f64)) -> u64 {
        let start = usize::try_from(cursor).unwrap_or(usize::MAX);
        let mut seen = 0;
        for i in start..self.members.len() {
            let Some(m) = self.members.get(i) else { break };
            if seen >= count.max(1) {
                return i as u64;
            }
            if m.level != 0 {
                f(&m.name, self.score_of(m.at));
                seen += 1;
            }
        }
        0
    }

    /// 0-based rank of `member` in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let idx = self.node_of(self.find_member(member)?)?;
        let score = self.score_of(idx);
        let mut x = HEAD;
        let mut rank = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = self.link(x, i);
                if l.next != NIL
                    && !(score < l.score || (score == l.score && *member < *self.member_at(l.next)))
                {
                    rank += l.span as usize;
                    x = l.next;
                } else {
                    break;
                }
            }
            if x == idx {
                return Some(rank - 1);
            }
        }
        None
    }

    fn by_rank(&self, r: usize) -> u32 {
        // r is 1-based.
        let mut x = HEAD;
        let mut traversed = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = self.link(x, i);
                if l.next != NIL && traversed + l.span as usize <= r {
                    traversed += l.span as usize;
                    x = l.next;
                } else {
                    break;
                }
            }
            if traversed == r {
                return x;
            }
        }
        NIL
    }

    /// How many leading elements satisfy `pred` (which must hold for a prefix).
    pub fn prefix_count(&self, pred: impl Fn(&[u8], f64) -> bool) -> usize {
        let mut x = HEAD;
        let mut count = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = self.link(x, i);
                if l.next != NIL && pred(self.member_at(l.next), l.score) {
                    count += l.span as usize;
                    x = l.next;
                } else {
                    break;
                }
            }
        }
        count
    }

    /// Walks from 0-based rank `from`, ascending or descending.
    pub fn walk(&self, from: usize, rev: bool) -> Walk<'_> {
        let at = if from < self.len {
            self.by_rank(from + 1)
        } else {
            NIL
        };
        Walk { sl: self, at, rev }
    }

    /// Removes the elements at 0-based ranks `from..from+n`; returns them.
    pub fn remove_ranks(&mut self, from: usize, n: usize) -> Vec<(Vec<u8>, f64)> {
        let mis: Vec<u32> = {
            let mut v = Vec::with_capacity(n.min(self.len));
            let mut x = if from < self.len {
                self.by_rank(from + 1)
            } else {
                NIL
            };
            while x != NIL && v.len() < n {
                v.push(self.slots[x as usize].span);
                x = self.link(x, 0).next;
            }
            v
        };
        mis.into_iter()
            .filter_map(|mi| self.remove_member(mi))
            .map(|(name, score)| (name.into(), score))
            .collect()
    }

    /// Heap bytes held.
    pub fn heap_size(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Link>()
            + self.members.heap_size()
            + self
                .members
                .iter()
                .map(|m| m.name.heap_size())
                .sum::<usize>()
            + self.map.allocation_size()
    }
}

/// The hash of the member at position `p` (None for a free position), for the index's
/// resizes.
fn member_hash(members: &Chunked<Member>) -> impl Fn(u32) -> Option<u64> + '_ {
    move |p| {
        members
            .get(p as usize)
            .filter(|m| m.level != 0)
            .map(|m| hash_bytes(&m.name))
    }
}

/// A walk along the skip list.
pub struct Walk<'a> {
    sl: &'a SkipList,
    at: u32,
    rev: bool,
}

impl<'a> Iterator for Walk<'a> {
    type Item = (&'a [u8], f64);
    fn next(&mut self) -> Option<Self::Item> {
        if self.at == NIL {
            return None;
        }
        let x = self.at;
        self.at = if self.rev {
            self.sl.back(x)
        } else {
            self.sl.link(x, 0).next
        };
        Some((self.sl.member_at(x), self.sl.score_of(x)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn sorted(model: &BTreeMap<Vec<u8>, f64>) -> Vec<(Vec<u8>, f64)> {
        let mut v: Vec<(Vec<u8>, f64)> = model.iter().map(|(m, s)| (m.clone(), *s)).collect();
        v.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        v
    }

    #[test]
    fn moves_and_removals_reuse_blocks_and_keep_order_ranks_and_scan() {
        let mut rng = fastrand::Rng::with_seed(11);
        let mut sl = SkipList::new();
        let mut model: BTreeMap<Vec<u8>, f64> = BTreeMap::new();
        for round in 0..20_000 {
            let m = format!("m{}", rng.u32(..500)).into_bytes();
            // Few distinct scores, so ties order by member.
            let s = f64::from(rng.u32(..50));
            match rng.u32(..10) {
                0..=5 => match sl.locate(&m) {
                    Some((mi, _)) => {
                        sl.update_score_at(mi, s);
                        model.insert(m, s);
                    }
                    None => {
                        sl.insert(&m, s);
                        model.insert(m, s);
                    }
                },
                6..=8 => assert_eq!(sl.remove(&m), model.remove(&m)),
                _ => {
                    let from = rng.usize(..sl.len() + 1);
                    let gone = sl.remove_ranks(from, 3);
                    let want: Vec<(Vec<u8>, f64)> =
                        sorted(&model).into_iter().skip(from).take(3).collect();
                    assert_eq!(
                        gone.iter()
                            .map(|(m, s)| (m.to_vec(), *s))
                            .collect::<Vec<_>>(),
                        want
                    );
                    for (m, _) in want {
                        model.remove(&m);
                    }
                }
            }
            assert_eq!(sl.len(), model.len());
            if round % 1000 == 0 || round == 19_999 {
                let want = sorted(&model);
                let fwd: Vec<(Vec<u8>, f64)> =
                    sl.walk(0, false).map(|(m, s)| (m.to_vec(), s)).collect();
                assert_eq!(fwd, want);
                let back: Vec<(Vec<u8>, f64)> = sl
                    .walk(sl.len().saturating_sub(1), true)
                    .map(|(m, s)| (m.to_vec(), s))
                    .collect();
                assert_eq!(back, want.iter().rev().cloned().collect::<Vec<_>>());
                for (i, (m, s)) in want.iter().enumerate() {
                    assert_eq!(sl.rank(m), Some(i));
                    assert_eq!(sl.score(m), Some(*s));
                }
                let mut seen = Vec::new();
                let mut cursor = 0;
                loop {
                    cursor = sl.scan(cursor, 7, |m, s| seen.push((m.to_vec(), s)));
                    if cursor == 0 {
                        break;
                    }
                }
                seen.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
                assert_eq!(seen, want);
                // Freed blocks are reused: the arena stays near its live size.
                assert!(sl.slots.len() < 8 * (MAX_LEVEL + 1 + 2 * 500));
            }
        }
    }
}
