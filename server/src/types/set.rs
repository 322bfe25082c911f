//! Sets: an intset while every member is an integer and there are at most
//! `set-max-intset-entries`, then a hash table, never back (setTypeConvert).

use super::intset::Intset;
use super::small_bytes::SmallBytes;
use super::table::{Dense, KeyOf};
use super::{sample_distinct, Elem, Thresholds};
use resp_proto::string2ll;

pub(crate) struct WholeKey;

impl KeyOf for WholeKey {
    fn key(item: &[u8]) -> &[u8] {
        item
    }
}

/// A set value.
#[derive(Clone)]
pub enum Set {
    /// OBJECT ENCODING `intset`.
    Intset(Intset),
    /// OBJECT ENCODING `hashtable`.
    Table(TableSet),
}

/// The `hashtable` form.
#[derive(Clone)]
pub struct TableSet(Box<Dense<WholeKey>>);

impl std::fmt::Debug for Set {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl Set {
    /// An empty set in the form Redis picks for its first member (setTypeCreate): intset
    /// for an integer, hash table otherwise.
    pub fn new_for(first: &[u8]) -> Self {
        match string2ll(first) {
            Some(_) => Set::Intset(Intset::new()),
            None => Set::Table(TableSet(Box::new(Dense::with_capacity(0)))),
        }
    }

    /// An empty intset-encoded set (the destination of SUNIONSTORE & co.).
    pub fn new_intset() -> Self {
        Set::Intset(Intset::new())
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            Set::Intset(_) => "intset",
            Set::Table(_) => "hashtable",
        }
    }

    /// The intset, when that is the encoding (for an RDB writer).
    pub fn as_intset(&self) -> Option<&Intset> {
        match self {
            Set::Intset(s) => Some(s),
            Set::Table(_) => None,
        }
    }

    /// SCARD.
    pub fn len(&self) -> usize {
        match self {
            Set::Intset(s) => s.len(),
            Set::Table(t) => t.0.len(),
        }
    }

    /// Whether the set is empty (the key must then be deleted).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// SISMEMBER.
    pub fn contains(&self, member: &[u8]) -> bool {
        match self {
            Set::Intset(s) => string2ll(member).is_some_and(|x| s.contains(x)),
            Set::Table(t) => t.0.find(member).is_some(),
        }
    }

    fn convert(&mut self, extra: usize) {
        if let Set::Intset(s) = self {
            let mut t = Dense::with_capacity(s.len() + extra);
            for x in s.iter() {
                t.insert_new(itoa::Buffer::new().format(x).as_bytes().into());
            }
            *self = Set::Table(TableSet(Box::new(t)));
        }
    }

    /// SADD of one member; true when it is new.
    pub fn add(&mut self, member: &[u8], th: &Thresholds) -> bool {
        if let Set::Intset(s) = self {
            match string2ll(member) {
                Some(x) => {
                    if !s.insert(x) {
                        return false;
                    }
                    if s.len() > th.set_max_intset_entries {
                        self.convert(0);
                    }
                    return true;
                }
                None => self.convert(1),
            }
        }
        match self {
            Set::Table(t) => {
                if t.0.find(member).is_some() {
                    return false;
                }
                t.0.insert_new(member.into());
                true
            }
            Set::Intset(_) => false,
        }
    }

    /// SREM of one member; true when it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            Set::Intset(s) => string2ll(member).is_some_and(|x| s.remove(x)),
            Set::Table(t) => match t.0.find(member) {
                Some(i) => t.0.remove_at(i).is_some(),
                None => false,
            },
        }
    }

    /// Members in the encoding's order (ascending for an intset).
    pub fn iter(&self) -> SetIter<'_> {
        match self {
            Set::Intset(s) => SetIter::Intset(s, 0),
            Set::Table(t) => SetIter::Table(t.0.items()),
        }
    }

    /// One SSCAN step from `cursor`: an intset answers whole (cursor 0 back, as Redis); a
    /// table visits about `count` members and returns the next cursor (0 when done), every
    /// member present for the whole scan being visited at least once.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(Elem<'_>)) -> u64 {
        match self {
            Set::Intset(_) => {
                self.iter().for_each(&mut f);
                0
            }
            Set::Table(t) => t.0.scan(cursor, count, |m| f(Elem::Str(m))),
        }
    }

    fn at(&self, i: usize) -> Option<Elem<'_>> {
        match self {
            Set::Intset(s) => s.get(i).map(Elem::Int),
            Set::Table(t) => t.0.get(i).map(Elem::Str),
        }
    }

    /// SRANDMEMBER without a count.
    pub fn random_member(&self, rng: &mut fastrand::Rng) -> Option<Elem<'_>> {
        let n = self.len();
        (n > 0).then(|| rng.usize(..n)).and_then(|i| self.at(i))
    }

    /// SRANDMEMBER with a negative count: `count` members drawn with repeats. Lazy, so a
    /// huge count costs nothing until the reply is written (the caller bounds it).
    pub fn random_repeating<'a>(
        &'a self,
        count: u64,
        rng: &'a mut fastrand::Rng,
    ) -> impl Iterator<Item = Elem<'a>> + 'a {
        let n = self.len();
        (0..if n == 0 { 0 } else { count }).filter_map(move |_| self.at(rng.usize(..n)))
    }

    /// SRANDMEMBER with a positive count: distinct members, the whole set (in its order)
    /// when `count >= len`.
    pub fn random_distinct(&self, count: u64, rng: &mut fastrand::Rng) -> Vec<Elem<'_>> {
        let n = self.len();
        if count >= n as u64 {
            return self.iter().collect();
        }
        sample_distinct(n, count as usize, rng)
            .into_iter()
            .filter_map(|i| self.at(i))
            .collect()
    }

    fn remove_index(&mut self, i: usize) -> Option<Vec<u8>> {
        match self {
            Set::Intset(s) => s
                .remove_at(i)
                .map(|x| itoa::Buffer::new().format(x).as_bytes().to_vec()),
            Set::Table(t) => t.0.remove_at(i).map(Vec::from),
        }
    }

    /// SPOP without a count.
    pub fn pop(&mut self, rng: &mut fastrand::Rng) -> Option<Vec<u8>> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        self.remove_index(rng.usize(..n))
    }

    /// SPOP with a (non-negative) count: `count >= len` empties the set and returns every
    /// member in the set's order; otherwise `count` distinct random members.
    pub fn pop_count(&mut self, count: u64, rng: &mut fastrand::Rng) -> Vec<Vec<u8>> {
        let n = self.len();
        if count >= n as u64 {
            let all = self.iter().map(|e| e.to_vec()).collect();
            *self = Set::new_intset();
            return all;
        }
        let mut out = Vec::with_capacity(count as usize);
        for _ in 0..count {
            if let Some(m) = self.pop(rng) {
                out.push(m);
            }
        }
        out
    }

    /// Builds a set as SUNIONSTORE & co. do: starting from an intset, adding members in the
    /// given order, converting when a member or the size requires it.
    pub fn from_members<'a>(members: impl IntoIterator<Item = Elem<'a>>, th: &Thresholds) -> Set {
        let mut s = Set::new_intset();
        let mut buf = Vec::new();
        for m in members {
            buf.clear();
            m.write_to(&mut buf);
            s.add(&buf, th);
        }
        s
    }

    /// SINTER: members of the smallest set present in all others, in the smallest set's
    /// order (sets are taken by ascending size, as Redis sorts them). Empty when any set is.
    pub fn inter<'a>(sets: &[&'a Set]) -> Vec<Elem<'a>> {
        Self::inter_limited(sets, 0)
    }

    /// SINTERCARD: the size of the intersection, stopping at `limit` (0 = no limit).
    pub fn inter_card(sets: &[&Set], limit: usize) -> usize {
        Self::inter_limited(sets, limit).len()
    }

    fn inter_limited<'a>(sets: &[&'a Set], limit: usize) -> Vec<Elem<'a>> {
        let mut order: Vec<&'a Set> = sets.to_vec();
        order.sort_by_key(|s| s.len());
        let Some((first, rest)) = order.split_first() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut buf = Vec::new();
        for m in first.iter() {
            buf.clear();
            m.write_to(&mut buf);
            if rest.iter().all(|s| s.contains(&buf)) {
                out.push(m);
                if limit != 0 && out.len() >= limit {
                    break;
                }
            }
        }
        out
    }

    /// SUNION(STORE): the union built as Redis does (intset first, members added set by set).
    pub fn union(sets: &[&Set], th: &Thresholds) -> Set {
        Set::from_members(sets.iter().flat_map(|s| s.iter()), th)
    }

    /// SDIFF(STORE): members of the first set in none of the others.
    pub fn diff(sets: &[&Set], th: &Thresholds) -> Set {
        let Some((first, rest)) = sets.split_first() else {
            return Set::new_intset();
        };
        let mut buf = Vec::new();
        let keep: Vec<Elem<'_>> = first
            .iter()
            .filter(|m| {
                buf.clear();
                m.write_to(&mut buf);
                !rest.iter().any(|s| s.contains(&buf))
            })
            .collect();
        Set::from_members(keep, th)
    }

    /// Approximate bytes used, for MEMORY USAGE (the value only).
    pub fn mem_usage(&self) -> usize {
        std::mem::size_of::<Self>()
            + match self {
                Set::Intset(s) => s.heap_size(),
                Set::Table(t) => std::mem::size_of::<Dense<WholeKey>>() + t.0.heap_size(),
            }
    }
}

/// Iterator over a set's members.
pub enum SetIter<'a> {
    /// Over an intset, ascending.
    Intset(&'a Intset, usize),
    /// Over the table.
    Table(super::chunked::Iter<'a, SmallBytes>),
}

impl<'a> Iterator for SetIter<'a> {
    type Item = Elem<'a>;
    fn next(&mut self) -> Option<Elem<'a>> {
        match self {
            SetIter::Intset(s, i) => {
                let x = s.get(*i)?;
                *i += 1;
                Some(Elem::Int(x))
            }
            SetIter::Table(it) => it.next().map(|b| Elem::Str(b)),
        }
    }
}
