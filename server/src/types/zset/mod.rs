//! Sorted sets: a listpack of member, score pairs ordered by (score, member) while small,
//! then a skip list with a member index (see [`skiplist`] for why a skip list), never back.
//!
//! Range queries follow t_zset.c's paths: on a listpack the first element in range is found
//! by a scan from the head (or the tail for the REV forms) and the walk stops at the first
//! element past the other end; on a skip list the same by traversal. That is what makes
//! ZRANGEBYLEX over members with different scores answer what Redis answers.

pub mod range;
pub mod skiplist;

use super::listpack::{Enc, Listpack};
use super::num::{parse_f64, score_text, ScoreText};
use super::set::Set;
use super::{sample_distinct, Elem, Thresholds, TypesError};
pub use range::{LexBound, LexRange, ScoreRange};
pub use skiplist::SkipList;

/// A sorted set value.
#[derive(Clone)]
pub enum Zset {
    /// OBJECT ENCODING `listpack`.
    Listpack(Listpack),
    /// OBJECT ENCODING `skiplist`.
    Skiplist(Box<SkipList>),
}

impl std::fmt::Debug for Zset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.walk(0, false)).finish()
    }
}

impl Default for Zset {
    fn default() -> Self {
        Self::new()
    }
}

/// ZADD's options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddFlags {
    /// Only add new members.
    pub nx: bool,
    /// Only update existing members.
    pub xx: bool,
    /// Only update when the new score is greater.
    pub gt: bool,
    /// Only update when the new score is less.
    pub lt: bool,
    /// The score is an increment (ZINCRBY, ZADD INCR).
    pub incr: bool,
}

impl AddFlags {
    /// The option checks of zaddGenericCommand, in its order; `pairs` is the number of
    /// score/member pairs given.
    pub fn validate(&self, pairs: usize) -> Result<(), TypesError> {
        if self.nx && self.xx {
            return Err(TypesError::XxAndNx);
        }
        if [self.gt, self.lt, self.nx].iter().filter(|&&b| b).count() > 1 {
            return Err(TypesError::GtLtNx);
        }
        if self.incr && pairs > 1 {
            return Err(TypesError::IncrSinglePair);
        }
        Ok(())
    }
}

/// What ZADD did to one member.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AddOutcome {
    /// A new member with this score.
    Added(f64),
    /// An existing member whose score changed to this.
    Updated(f64),
    /// An existing member left as it was; the score it has (the INCR reply).
    Unchanged(f64),
    /// Nothing done because of NX/XX/GT/LT (ZADD INCR replies nil).
    Skipped,
}

/// ZUNIONSTORE & co.: how scores of one member combine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Aggregate {
    /// The default.
    #[default]
    Sum,
    /// The least.
    Min,
    /// The greatest.
    Max,
}

impl Aggregate {
    fn apply(self, acc: f64, v: f64) -> f64 {
        match self {
            // inf + -inf is NaN; Redis turns that into 0 (zunionInterAggregate).
            Aggregate::Sum => {
                let s = acc + v;
                if s.is_nan() {
                    0.0
                } else {
                    s
                }
            }
            Aggregate::Min => acc.min(v),
            Aggregate::Max => acc.max(v),
        }
    }
}

/// An input of ZUNION/ZINTER/ZDIFF: a sorted set, or a plain set (every score 1).
#[derive(Debug, Clone, Copy)]
pub enum ZInput<'a> {
    /// A sorted set.
    Zset(&'a Zset),
    /// A set.
    Set(&'a Set),
    /// A missing key.
    Empty,
}

impl<'a> ZInput<'a> {
    fn len(&self) -> usize {
        match self {
            ZInput::Zset(z) => z.len(),
            ZInput::Set(s) => s.len(),
            ZInput::Empty => 0,
        }
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            ZInput::Zset(z) => z.score(member),
            ZInput::Set(s) => s.contains(member).then_some(1.0),
            ZInput::Empty => None,
        }
    }

    fn for_each(&self, mut f: impl FnMut(&[u8], f64)) {
        let mut buf = Vec::new();
        match self {
            ZInput::Zset(z) => z.walk(0, false).for_each(|(m, s)| {
                buf.clear();
                m.write_to(&mut buf);
                f(&buf, s)
            }),
            ZInput::Set(set) => set.iter().for_each(|m| {
                buf.clear();
                m.write_to(&mut buf);
                f(&buf, 1.0)
            }),
            ZInput::Empty => {}
        }
    }
}

fn lp_score(e: Elem<'_>) -> f64 {
    match e {
        Elem::Int(n) => n as f64,
        // Written by score_text (or checked on load): a plain parse, no allocation.
        Elem::Str(s) => std::str::from_utf8(s)
            .ok()
            .and_then(|t| t.parse().ok())
            .or_else(|| parse_f64(s))
            .unwrap_or(0.0),
    }
}

fn with_bytes<R>(e: Elem<'_>, f: impl FnOnce(&[u8]) -> R) -> R {
    match e {
        Elem::Str(s) => f(s),
        Elem::Int(n) => f(itoa::Buffer::new().format(n).as_bytes()),
    }
}

/// A walk over (member, score) in rank order.
pub enum ZWalk<'a> {
    /// Over a listpack: the member's offset, direction.
    Lp(&'a Listpack, Option<usize>, bool),
    /// Over a skip list.
    Sl(skiplist::Walk<'a>),
}

impl<'a> Iterator for ZWalk<'a> {
    type Item = (Elem<'a>, f64);
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            ZWalk::Lp(lp, at, rev) => {
                let m = (*at)?;
                let s = lp.next(m)?;
                *at = if *rev {
                    lp.prev(m).and_then(|p| lp.prev(p))
                } else {
                    lp.next(s)
                };
                Some((lp.get(m), lp_score(lp.get(s))))
            }
            ZWalk::Sl(w) => w.next().map(|(m, s)| (Elem::Str(m), s)),
        }
    }
}

impl Zset {
    /// An empty sorted set in the listpack form.
    pub fn new() -> Self {
        Zset::Listpack(Listpack::new())
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            Zset::Listpack(_) => "listpack",
            Zset::Skiplist(_) => "skiplist",
        }
    }

    /// The listpack, when that is the encoding (for an RDB writer).
    pub fn as_listpack(&self) -> Option<&Listpack> {
        match self {
            Zset::Listpack(lp) => Some(lp),
            Zset::Skiplist(_) => None,
        }
    }

    /// ZCARD.
    pub fn len(&self) -> usize {
        match self {
            Zset::Listpack(lp) => lp.len() / 2,
            Zset::Skiplist(sl) => sl.len(),
        }
    }

    /// Whether the set is empty (the key must then be deleted).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lp_find(lp: &Listpack, member: &[u8]) -> Option<(usize, usize)> {
        let m = lp.find(lp.first(), member, 1)?;
        lp.next(m).map(|s| (m, s))
    }

    /// ZSCORE.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Zset::Listpack(lp) => Self::lp_find(lp, member).map(|(_, s)| lp_score(lp.get(s))),
            Zset::Skiplist(sl) => sl.score(member),
        }
    }

    fn lp_insert(lp: &mut Listpack, member: &[u8], score: f64) {
        let mut at = lp.first();
        while let Some(m) = at {
            let Some(s) = lp.next(m) else { break };
            let cur = lp_score(lp.get(s));
            let after = cur > score || (cur == score && with_bytes(lp.get(m), |mb| mb > member));
            if after {
                break;
            }
            at = lp.next(s);
        }
        let pos = at.unwrap_or(lp.end());
        let text = score_text(score);
        let enc = match &text {
            ScoreText::Int(n) => Enc::Int(*n),
            ScoreText::Text(t) => Enc::Str(t),
        };
        // Score first, then the member before it: both land at `pos` in order.
        lp.insert_raw(pos, enc);
        lp.insert_before(pos, member);
    }

    fn convert(&mut self) {
        if let Zset::Listpack(lp) = self {
            let mut sl = SkipList::new();
            let mut buf = Vec::new();
            for (m, s) in (ZWalk::Lp(lp, lp.first(), false)).collect::<Vec<_>>() {
                buf.clear();
                m.write_to(&mut buf);
                sl.insert(&buf, s);
            }
            *self = Zset::Skiplist(Box::new(sl));
        }
    }

    /// ZADD/ZINCRBY of one member (zsetAdd). `score` is never NaN (parsed with
    /// [`parse_f64`]); an increment that makes NaN is refused.
    pub fn add(
        &mut self,
        member: &[u8],
        score: f64,
        flags: AddFlags,
        th: &Thresholds,
    ) -> Result<AddOutcome, TypesError> {
        // The skip list's position of the member, so an update needs no second lookup.
        let found = match self {
            Zset::Listpack(_) => self.score(member).map(|s| (None, s)),
            Zset::Skiplist(sl) => sl.locate(member).map(|(mi, s)| (Some(mi), s)),
        };
        if let Some((pos, cur)) = found {
            if flags.nx {
                return Ok(AddOutcome::Skipped);
            }
            let new = if flags.incr {
                let n = cur + score;
                if n.is_nan() {
                    return Err(TypesError::ScoreNaN);
                }
                n
            } else {
                score
            };
            if (flags.lt && new >= cur) || (flags.gt && new <= cur) {
                return Ok(AddOutcome::Skipped);
            }
            if new == cur {
                return Ok(AddOutcome::Unchanged(cur));
            }
            match self {
                Zset::Listpack(lp) => {
                    if let Some((m, _)) = Self::lp_find(lp, member) {
                        lp.delete_n(m, 2);
                    }
                    Self::lp_insert(lp, member, new);
                }
                Zset::Skiplist(sl) => match pos {
                    Some(mi) => sl.update_score_at(mi, new),
                    None => sl.update_score(member, new),
                },
            }
            return Ok(AddOutcome::Updated(new));
        }
        if flags.xx {
            return Ok(AddOutcome::Skipped);
        }
        if let Zset::Listpack(_) = self {
            if self.len() + 1 > th.zset_max_listpack_entries
                || member.len() > th.zset_max_listpack_value
            {
                self.convert();
            }
        }
        match self {
            Zset::Listpack(lp) => Self::lp_insert(lp, member, score),
            Zset::Skiplist(sl) => sl.insert(member, score),
        }
        Ok(AddOutcome::Added(score))
    }

    /// ZREM of one member; true when it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            Zset::Listpack(lp) => match Self::lp_find(lp, member) {
                Some((m, _)) => {
                    lp.delete_n(m, 2);
                    true
                }
                None => false,
            },
            Zset::Skiplist(sl) => sl.remove(member).is_some(),
        }
    }

    /// ZRANK (ascending) / ZREVRANK (`rev`), 0-based.
    pub fn rank(&self, member: &[u8], rev: bool) -> Option<usize> {
        let r = match self {
            Zset::Listpack(lp) => {
                let needle = Elem::classify(member);
                ZWalk::Lp(lp, lp.first(), false).position(|(m, _)| m == needle)?
            }
            Zset::Skiplist(sl) => sl.rank(member)?,
        };
        Some(if rev { self.len() - 1 - r } else { r })
    }

    /// Elements from 0-based ascending rank `from`, ascending or (`rev`) descending.
    pub fn walk(&self, from: usize, rev: bool) -> ZWalk<'_> {
        match self {
            Zset::Listpack(lp) => ZWalk::Lp(lp, lp.seek(2 * from as i64), rev),
            Zset::Skiplist(sl) => ZWalk::Sl(sl.walk(from, rev)),
        }
    }

    /// Leading elements (from the head) for which `pred` holds.
    fn lead(&self, pred: impl Fn(&[u8], f64) -> bool) -> usize {
        match self {
            Zset::Listpack(_) => self
                .walk(0, false)
                .take_while(|&(m, s)| with_bytes(m, |b| pred(b, s)))
                .count(),
            Zset::Skiplist(sl) => sl.prefix_count(pred),
        }
    }

    /// Trailing elements (from the tail) for which `pred` holds.
    fn trail(&self, pred: impl Fn(&[u8], f64) -> bool) -> usize {
        match self {
            Zset::Listpack(_) => {
                let n = self.len();
                if n == 0 {
                    return 0;
                }
                self.walk(n - 1, true)
                    .take_while(|&(m, s)| with_bytes(m, |b| pred(b, s)))
                    .count()
            }
            Zset::Skiplist(sl) => sl.len() - sl.prefix_count(|m, s| !pred(m, s)),
        }
    }

    /// ZRANGE by rank: `start..=stop` normalised like LRANGE; with `rev` ranks count from
    /// the highest score.
    pub fn range_by_rank(&self, start: i64, stop: i64, rev: bool) -> Vec<(Elem<'_>, f64)> {
        let n = self.len();
        let Some((a, b)) = super::list::normalize_range(start, stop, n) else {
            return Vec::new();
        };
        let from = if rev { n - 1 - a } else { a };
        self.walk(from, rev).take(b - a + 1).collect()
    }

    /// First ascending rank of a walk over `range` and whether anything is there.
    fn score_start(&self, range: &ScoreRange, rev: bool) -> Option<usize> {
        if range.is_empty() || self.is_empty() {
            return None;
        }
        if rev {
            let t = self.trail(|_, s| !range.lte_max(s));
            (t < self.len()).then(|| self.len() - 1 - t)
        } else {
            let l = self.lead(|_, s| !range.gte_min(s));
            (l < self.len()).then_some(l)
        }
    }

    /// ZRANGEBYSCORE / ZREVRANGEBYSCORE with LIMIT: `offset` below 0 gives nothing,
    /// `count` below 0 means all.
    pub fn range_by_score(
        &self,
        range: &ScoreRange,
        rev: bool,
        offset: i64,
        count: i64,
    ) -> Vec<(Elem<'_>, f64)> {
        let Some(start) = self.score_start(range, rev) else {
            return Vec::new();
        };
        if offset < 0 {
            return Vec::new();
        }
        let take = usize::try_from(count).unwrap_or(usize::MAX);
        self.walk(start, rev)
            .take_while(|&(_, s)| {
                if rev {
                    range.gte_min(s)
                } else {
                    range.lte_max(s)
                }
            })
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(take)
            .collect()
    }

    fn lex_start(&self, range: &LexRange, rev: bool) -> Option<usize> {
        if range.is_empty() || self.is_empty() {
            return None;
        }
        if rev {
            let t = self.trail(|m, _| !range.lte_max(m));
            (t < self.len()).then(|| self.len() - 1 - t)
        } else {
            let l = self.lead(|m, _| !range.gte_min(m));
            (l < self.len()).then_some(l)
        }
    }

    /// ZRANGEBYLEX / ZREVRANGEBYLEX with LIMIT (as [`Zset::range_by_score`]).
    pub fn range_by_lex(
        &self,
        range: &LexRange,
        rev: bool,
        offset: i64,
        count: i64,
    ) -> Vec<(Elem<'_>, f64)> {
        let Some(start) = self.lex_start(range, rev) else {
            return Vec::new();
        };
        if offset < 0 {
            return Vec::new();
        }
        let take = usize::try_from(count).unwrap_or(usize::MAX);
        self.walk(start, rev)
            .take_while(|&(m, _)| {
                with_bytes(m, |b| {
                    if rev {
                        range.gte_min(b)
                    } else {
                        range.lte_max(b)
                    }
                })
            })
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(take)
            .collect()
    }

    /// ZCOUNT.
    pub fn count_by_score(&self, range: &ScoreRange) -> usize {
        match self {
            Zset::Skiplist(sl) if !range.is_empty() => {
                let lo = sl.prefix_count(|_, s| !range.gte_min(s));
                let hi = sl.prefix_count(|_, s| range.lte_max(s));
                hi.saturating_sub(lo)
            }
            _ => self.range_by_score(range, false, 0, -1).len(),
        }
    }

    /// ZLEXCOUNT.
    pub fn count_by_lex(&self, range: &LexRange) -> usize {
        match self {
            Zset::Skiplist(sl) if !range.is_empty() => {
                let lo = sl.prefix_count(|m, _| !range.gte_min(m));
                let hi = sl.prefix_count(|m, _| range.lte_max(m));
                hi.saturating_sub(lo)
            }
            _ => self.range_by_lex(range, false, 0, -1).len(),
        }
    }

    fn remove_ranks(&mut self, from: usize, n: usize) -> Vec<(Vec<u8>, f64)> {
        match self {
            Zset::Listpack(lp) => {
                let out: Vec<(Vec<u8>, f64)> = ZWalk::Lp(lp, lp.seek(2 * from as i64), false)
                    .take(n)
                    .map(|(m, s)| (m.to_vec(), s))
                    .collect();
                if let Some(o) = lp.seek(2 * from as i64) {
                    lp.delete_n(o, 2 * out.len());
                }
                out
            }
            Zset::Skiplist(sl) => sl.remove_ranks(from, n),
        }
    }

    /// ZREMRANGEBYRANK; the number removed.
    pub fn remove_range_by_rank(&mut self, start: i64, stop: i64) -> usize {
        match super::list::normalize_range(start, stop, self.len()) {
            Some((a, b)) => self.remove_ranks(a, b - a + 1).len(),
            None => 0,
        }
    }

    /// ZREMRANGEBYSCORE; the number removed.
    pub fn remove_range_by_score(&mut self, range: &ScoreRange) -> usize {
        let Some(start) = self.score_start(range, false) else {
            return 0;
        };
        let n = self
            .walk(start, false)
            .take_while(|&(_, s)| range.lte_max(s))
            .count();
        self.remove_ranks(start, n).len()
    }

    /// ZREMRANGEBYLEX; the number removed.
    pub fn remove_range_by_lex(&mut self, range: &LexRange) -> usize {
        let Some(start) = self.lex_start(range, false) else {
            return 0;
        };
        let n = self
            .walk(start, false)
            .take_while(|&(m, _)| with_bytes(m, |b| range.lte_max(b)))
            .count();
        self.remove_ranks(start, n).len()
    }

    /// ZPOPMIN / ZPOPMAX (`max`) of up to `count` elements, in pop order.
    pub fn pop(&mut self, count: usize, max: bool) -> Vec<(Vec<u8>, f64)> {
        let n = count.min(self.len());
        if max {
            let mut v = self.remove_ranks(self.len() - n, n);
            v.reverse();
            v
        } else {
            self.remove_ranks(0, n)
        }
    }

    /// One ZSCAN step from `cursor`: a listpack answers whole (cursor 0 back, as Redis); a
    /// skip list visits about `count` members and returns the next cursor (0 when done),
    /// every member present for the whole scan being visited exactly once.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(Elem<'_>, f64)) -> u64 {
        match self {
            Zset::Listpack(_) => {
                self.walk(0, false).for_each(|(m, s)| f(m, s));
                0
            }
            Zset::Skiplist(sl) => sl.scan(cursor, count, |m, s| f(Elem::Str(m), s)),
        }
    }

    /// ZRANDMEMBER with a negative count: `count` members drawn with repeats, lazily (the
    /// caller bounds a huge count).
    pub fn random_repeating<'a>(
        &'a self,
        count: u64,
        rng: &'a mut fastrand::Rng,
    ) -> impl Iterator<Item = (Elem<'a>, f64)> + 'a {
        let n = self.len();
        (0..if n == 0 { 0 } else { count })
            .filter_map(move |_| self.walk(rng.usize(..n), false).next())
    }

    /// ZRANDMEMBER with a positive count: distinct members, all of them in rank order when
    /// `count >= len`; a listpack's random subset comes in listpack order.
    pub fn random_distinct(&self, count: u64, rng: &mut fastrand::Rng) -> Vec<(Elem<'_>, f64)> {
        let n = self.len();
        if count >= n as u64 {
            return self.walk(0, false).collect();
        }
        let mut idx = sample_distinct(n, count as usize, rng);
        if let Zset::Listpack(_) = self {
            idx.sort_unstable();
        }
        idx.into_iter()
            .filter_map(|i| self.walk(i, false).next())
            .collect()
    }

    /// Builds a sorted set from (member, score) pairs as zunionInterDiffGenericCommand's
    /// store step does: listpack when the result fits the limits, else skip list.
    pub fn from_pairs(pairs: Vec<(Vec<u8>, f64)>, th: &Thresholds) -> Zset {
        let max_len = pairs.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
        let mut z = if pairs.len() <= th.zset_max_listpack_entries
            && max_len <= th.zset_max_listpack_value
        {
            Zset::new()
        } else {
            Zset::Skiplist(Box::default())
        };
        for (m, s) in pairs {
            match &mut z {
                Zset::Listpack(lp) => Self::lp_insert(lp, &m, s),
                Zset::Skiplist(sl) => sl.insert(&m, s),
            }
        }
        z
    }

    /// ZUNION(STORE): every member of any input, weighted, aggregated.
    pub fn union(inputs: &[ZInput<'_>], weights: &[f64], agg: Aggregate) -> Vec<(Vec<u8>, f64)> {
        let mut acc: hashbrown::HashMap<Vec<u8>, f64, foldhash::fast::RandomState> =
            Default::default();
        let mut order = Vec::new();
        for (i, input) in inputs.iter().enumerate() {
            let w = weights.get(i).copied().unwrap_or(1.0);
            input.for_each(|m, s| {
                let v = weighted(s, w);
                match acc.get_mut(m) {
                    Some(a) => *a = agg.apply(*a, v),
                    None => {
                        acc.insert(m.to_vec(), v);
                        order.push(m.to_vec());
                    }
                }
            });
        }
        sort_result(
            order
                .into_iter()
                .filter_map(|m| acc.get(&m).map(|&s| (m.clone(), s)))
                .collect(),
        )
    }

    /// ZINTER(STORE): members present in every input.
    pub fn inter(inputs: &[ZInput<'_>], weights: &[f64], agg: Aggregate) -> Vec<(Vec<u8>, f64)> {
        let mut idx: Vec<usize> = (0..inputs.len()).collect();
        idx.sort_by_key(|&i| inputs.get(i).map_or(0, |x| x.len()));
        let Some((&first, rest)) = idx.split_first() else {
            return Vec::new();
        };
        let Some(base) = inputs.get(first) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        base.for_each(|m, s| {
            let mut score = weighted(s, weights.get(first).copied().unwrap_or(1.0));
            for &j in rest {
                match inputs.get(j).and_then(|x| x.score(m)) {
                    Some(o) => {
                        score =
                            agg.apply(score, weighted(o, weights.get(j).copied().unwrap_or(1.0)))
                    }
                    None => return,
                }
            }
            out.push((m.to_vec(), score));
        });
        sort_result(out)
    }

    /// ZDIFF(STORE): members of the first input in no other, with their first-input scores.
    pub fn diff(inputs: &[ZInput<'_>]) -> Vec<(Vec<u8>, f64)> {
        let Some((first, rest)) = inputs.split_first() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        first.for_each(|m, s| {
            if rest.iter().all(|x| x.score(m).is_none()) {
                out.push((m.to_vec(), s));
            }
        });
        sort_result(out)
    }

    /// Approximate bytes used, for MEMORY USAGE.
    pub fn mem_usage(&self) -> usize {
        std::mem::size_of::<Self>()
            + match self {
                Zset::Listpack(lp) => lp.heap_size(),
                Zset::Skiplist(sl) => std::mem::size_of::<SkipList>() + sl.heap_size(),
            }
    }
}

/// A weighted score; `0 * inf` is NaN in C too, and Redis stores it as 0.
fn weighted(s: f64, w: f64) -> f64 {
    let v = s * w;
    if v.is_nan() {
        0.0
    } else {
        v
    }
}

fn sort_result(mut v: Vec<(Vec<u8>, f64)>) -> Vec<(Vec<u8>, f64)> {
    v.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(&b.0))
    });
    v
}
