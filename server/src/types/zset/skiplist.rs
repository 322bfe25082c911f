//! The `skiplist` form: Redis's skip list with spans (rank queries in O(log n)), kept in an
//! arena of nodes addressed by u32, plus a member -> node index for O(1) ZSCORE.
//!
//! Why a skip list rather than an order-statistic B-tree: it gives the same traversal
//! shapes as t_zset.c (zslFirstInRange, zslGetRank, zslDeleteRangeByScore…), so the
//! results of the not-quite-specified cases (ZRANGEBYLEX over mixed scores) follow the same
//! path Redis takes; nodes are allocated once and never move, so the member index can hold
//! plain u32 positions; and per element it costs one node plus one 4-byte index slot,
//! less than Redis's node, dictEntry and bucket.

use hashbrown::HashTable;

use crate::types::table::hash_bytes;

const MAX_LEVEL: usize = 32;
const NIL: u32 = u32::MAX;
const HEAD: u32 = 0;

#[derive(Clone, Copy, Debug)]
struct Link {
    next: u32,
    span: u32,
    /// The score of `next` (unused at NIL): a search step decides from the link it already
    /// read, without touching the next node (one cache miss per step, as Redis's node with
    /// its level array inline).
    score: f64,
}

const END: Link = Link {
    next: NIL,
    span: 0,
    score: 0.0,
};

#[derive(Clone, Debug)]
struct Node {
    member: Box<[u8]>,
    score: f64,
    back: u32,
    links: Box<[Link]>,
}

/// A sorted set's large form.
#[derive(Clone, Debug)]
pub struct SkipList {
    nodes: Vec<Node>,
    free: Vec<u32>,
    level: usize,
    len: usize,
    tail: u32,
    map: HashTable<u32>,
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
        let head = Node {
            member: Box::default(),
            score: 0.0,
            back: NIL,
            links: vec![END; MAX_LEVEL].into_boxed_slice(),
        };
        SkipList {
            nodes: vec![head],
            free: Vec::new(),
            level: 1,
            len: 0,
            tail: NIL,
            map: HashTable::new(),
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
        self.nodes[x as usize].links.get(i).copied().unwrap_or(END)
    }

    fn link_mut(&mut self, x: u32, i: usize) -> &mut Link {
        &mut self.nodes[x as usize].links[i]
    }

    fn node(&self, x: u32) -> &Node {
        &self.nodes[x as usize]
    }

    fn find_idx(&self, member: &[u8]) -> Option<u32> {
        let nodes = &self.nodes;
        self.map
            .find(hash_bytes(member), |&i| {
                nodes[i as usize].member[..] == *member
            })
            .copied()
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.find_idx(member).map(|i| self.node(i).score)
    }

    /// Whether the node `l` leads to sorts before (score, member).
    fn leads_before(&self, l: Link, score: f64, member: &[u8]) -> bool {
        l.next != NIL
            && (l.score < score || (l.score == score && self.node(l.next).member[..] < *member))
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

    /// The predecessors of node `idx` on each level.
    fn search_node(&self, idx: u32) -> [u32; MAX_LEVEL] {
        let n = self.node(idx);
        self.search(n.score, &n.member).0
    }

    fn insert_link(&mut self, idx: u32) {
        let score = self.node(idx).score;
        let (mut update, mut rank) = self.search_node_ranked(idx);
        let lvl = random_level();
        if lvl > self.level {
            for i in self.level..lvl {
                rank[i] = 0;
                update[i] = HEAD;
                self.link_mut(HEAD, i).span = self.len as u32;
            }
            self.level = lvl;
        }
        self.nodes[idx as usize].links = vec![END; lvl].into_boxed_slice();
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
        self.nodes[idx as usize].back = if update[0] == HEAD { NIL } else { update[0] };
        let next = self.link(idx, 0).next;
        if next != NIL {
            self.nodes[next as usize].back = idx;
        } else {
            self.tail = idx;
        }
        self.len += 1;
    }

    fn search_node_ranked(&self, idx: u32) -> ([u32; MAX_LEVEL], [u32; MAX_LEVEL]) {
        let n = self.node(idx);
        self.search(n.score, &n.member)
    }

    fn unlink(&mut self, idx: u32) {
        let update = self.search_node(idx);
        self.unlink_at(idx, &update);
    }

    /// Unlinks `idx` given its predecessors on each level.
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
        let back = self.node(idx).back;
        if next != NIL {
            self.nodes[next as usize].back = back;
        } else {
            self.tail = back;
        }
        while self.level > 1 && self.link(HEAD, self.level - 1).next == NIL {
            self.level -= 1;
        }
        self.len -= 1;
    }

    /// Inserts a member known to be absent.
    pub fn insert(&mut self, member: &[u8], score: f64) {
        let node = Node {
            member: member.into(),
            score,
            back: NIL,
            links: Box::default(),
        };
        let idx = match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        };
        self.insert_link(idx);
        let nodes = &self.nodes;
        self.map.insert_unique(hash_bytes(member), idx, |&i| {
            hash_bytes(&nodes[i as usize].member)
        });
    }

    /// Changes the score of an existing member.
    pub fn update_score(&mut self, member: &[u8], score: f64) {
        let Some(idx) = self.find_idx(member) else {
            return;
        };
        let update = self.search_node(idx);
        let n = self.node(idx);
        let back_ok = n.back == NIL || self.node(n.back).score < score;
        let next = self.link(idx, 0).next;
        let next_ok = next == NIL || self.node(next).score > score;
        if back_ok && next_ok {
            // Same position: no relinking (zslUpdateScore's fast path), only the scores the
            // predecessors' links remember.
            self.nodes[idx as usize].score = score;
            for (i, &u) in update.iter().enumerate().take(self.level) {
                if self.link(u, i).next == idx {
                    self.link_mut(u, i).score = score;
                }
            }
            return;
        }
        self.unlink_at(idx, &update);
        self.nodes[idx as usize].score = score;
        self.insert_link(idx);
    }

    /// Removes `member`; its score when it was there.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let idx = self.find_idx(member)?;
        self.remove_idx(idx)
    }

    fn remove_idx(&mut self, idx: u32) -> Option<f64> {
        self.unlink(idx);
        let h = hash_bytes(&self.node(idx).member);
        if let Ok(e) = self.map.find_entry(h, |&i| i == idx) {
            e.remove();
        }
        let score = self.node(idx).score;
        let n = &mut self.nodes[idx as usize];
        n.member = Box::default();
        n.links = Box::default();
        self.free.push(idx);
        if self.len == 0 {
            *self = SkipList::new();
        }
        Some(score)
    }

    /// One step of a ZSCAN cursor over the node arena: visits up to `count` live nodes from
    /// position `cursor` (0 starts at the first) and returns the next cursor (0 when done).
    /// Nodes never move (a score change relinks in place, a freed slot is only reused by a
    /// new member), so every member present for the whole scan is visited exactly once.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], f64)) -> u64 {
        let start = usize::try_from(cursor)
            .unwrap_or(usize::MAX)
            .max(HEAD as usize + 1);
        let mut seen = 0;
        for (i, n) in self.nodes.iter().enumerate().skip(start) {
            if seen >= count.max(1) {
                return i as u64;
            }
            // A freed slot has no links; a live node has at least one level.
            if !n.links.is_empty() {
                f(&n.member, n.score);
                seen += 1;
            }
        }
        0
    }

    /// 0-based rank of `member` in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let idx = self.find_idx(member)?;
        let (score, m) = (self.node(idx).score, &self.node(idx).member);
        let mut x = HEAD;
        let mut rank = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = self.link(x, i);
                if l.next != NIL
                    && !(score < l.score
                        || (score == l.score && m[..] < self.node(l.next).member[..]))
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
                if l.next != NIL && pred(&self.node(l.next).member, self.node(l.next).score) {
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
    pub fn remove_ranks(&mut self, from: usize, n: usize) -> Vec<(Box<[u8]>, f64)> {
        let idxs: Vec<u32> = {
            let mut v = Vec::with_capacity(n.min(self.len));
            let mut x = if from < self.len {
                self.by_rank(from + 1)
            } else {
                NIL
            };
            while x != NIL && v.len() < n {
                v.push(x);
                x = self.link(x, 0).next;
            }
            v
        };
        let mut out = Vec::with_capacity(idxs.len());
        for idx in idxs {
            let member = self.node(idx).member.clone();
            if let Some(s) = self.remove_idx(idx) {
                out.push((member, s));
            }
        }
        out
    }

    /// Heap bytes held.
    pub fn heap_size(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>()
            + self
                .nodes
                .iter()
                .map(|n| {
                    crate::types::alloc_size(n.member.len())
                        + crate::types::alloc_size(n.links.len() * std::mem::size_of::<Link>())
                })
                .sum::<usize>()
            + self.map.allocation_size()
            + self.free.capacity() * 4
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
        let n = self.sl.node(self.at);
        self.at = if self.rev {
            n.back
        } else {
            self.sl.link(self.at, 0).next
        };
        Some((&n.member, n.score))
    }
}
