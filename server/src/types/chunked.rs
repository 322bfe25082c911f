//! A vector kept in fixed-size chunks past the first, for the arrays of large collections
//! (a table's items, a skip list's members).
//!
//! Why: a `Vec` doubles by allocating twice its size and copying everything into memory
//! faulted in at once. For a set or sorted set of 100k members that was one command of
//! 1-2 ms (more with jemalloc), stalling every client. Redis allocates its dict entries
//! and skip list nodes one by one, so no command pays for the size of the whole
//! collection. Here growth allocates one chunk of `CHUNK` elements at a time, and a small
//! collection only has its first, `Vec`-grown chunk.
//!
//! Not used for the skip list's link arena: its search loops chase links, and the extra
//! load of a chunk pointer per step cost ZADD about 5% of its time, while with glibc that
//! arena grows in place (`mremap`) without a pause.

use std::ops::{Index, IndexMut};

/// Elements per chunk: 2048 (48-64 KB for the element types used), small enough that
/// allocating one is cheap, large enough that the chunk list stays in cache. 16 in tests,
/// so the type tests run across chunk boundaries.
const SHIFT: u32 = if cfg!(test) { 4 } else { 11 };
const CHUNK: usize = 1 << SHIFT;
const MASK: usize = CHUNK - 1;

/// See the module documentation.
#[derive(Clone, Debug)]
pub(crate) struct Chunked<T> {
    /// Elements `0..CHUNK`, grown as a `Vec`.
    head: Vec<T>,
    /// The elements after them, `CHUNK` per chunk: every chunk is full except the last one
    /// in use, which may be followed by one empty spare (so a size going back and forth
    /// across a chunk boundary does not allocate and free a chunk each time). Boxed so the
    /// many small collections that never need it pay 8 bytes, not 24.
    #[allow(clippy::box_collection)] // The box is the point: 8 bytes inline, not 24.
    tail: Option<Box<Vec<Vec<T>>>>,
}

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Chunked {
            head: Vec::new(),
            tail: None,
        }
    }
}

impl<T> Chunked<T> {
    /// Room for `n` elements in the first chunk (at most a chunk).
    pub(crate) fn with_capacity(n: usize) -> Self {
        Chunked {
            head: Vec::with_capacity(n.min(CHUNK)),
            tail: None,
        }
    }

    fn tail(&self) -> &[Vec<T>] {
        self.tail.as_deref().map_or(&[], Vec::as_slice)
    }

    fn tail_mut(&mut self) -> &mut Vec<Vec<T>> {
        self.tail.get_or_insert_with(Box::default)
    }

    /// The tail chunk holding the last element; None when that is the head.
    fn last_used(&self) -> Option<usize> {
        let tail = self.tail();
        match tail.last() {
            Some(c) if c.is_empty() => tail.len().checked_sub(2),
            Some(_) => Some(tail.len() - 1),
            None => None,
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self.last_used() {
            None => self.head.len(),
            Some(k) => CHUNK * (k + 1) + self.tail().get(k).map_or(0, Vec::len),
        }
    }

    pub(crate) fn get(&self, i: usize) -> Option<&T> {
        match i.checked_sub(CHUNK) {
            None => self.head.get(i),
            Some(j) => self.tail().get(j >> SHIFT)?.get(j & MASK),
        }
    }

    pub(crate) fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        match i.checked_sub(CHUNK) {
            None => self.head.get_mut(i),
            Some(j) => self.tail.as_mut()?.get_mut(j >> SHIFT)?.get_mut(j & MASK),
        }
    }

    pub(crate) fn push(&mut self, x: T) {
        let next = match self.last_used() {
            None if self.head.len() < CHUNK => return self.head.push(x),
            None => 0,
            Some(k) => match self.tail_mut().get_mut(k) {
                Some(c) if c.len() < CHUNK => return c.push(x),
                _ => k + 1,
            },
        };
        let tail = self.tail_mut();
        match tail.get_mut(next) {
            Some(spare) => spare.push(x),
            None => {
                let mut c = Vec::with_capacity(CHUNK);
                c.push(x);
                tail.push(c);
            }
        }
    }

    pub(crate) fn pop(&mut self) -> Option<T> {
        let Some(k) = self.last_used() else {
            return self.head.pop();
        };
        let tail = self.tail.as_mut()?;
        let c = tail.get_mut(k)?;
        let x = c.pop();
        if c.is_empty() && k + 1 < tail.len() {
            // This chunk is now the spare; the older one goes.
            tail.pop();
        }
        x
    }

    /// Removes element `i`, moving the last element into its place.
    pub(crate) fn swap_remove(&mut self, i: usize) -> Option<T> {
        if i >= self.len() {
            return None;
        }
        let last = self.pop()?;
        match self.get_mut(i) {
            Some(slot) => Some(std::mem::replace(slot, last)),
            // `i` was the last element.
            None => Some(last),
        }
    }

    /// Gives back memory of a first chunk mostly unused (the chunks past it come and go
    /// with the elements).
    pub(crate) fn shrink_head(&mut self) {
        let (len, cap) = (self.head.len(), self.head.capacity());
        if self.tail().is_empty() && cap > 64 && len < cap / 4 {
            self.head.shrink_to(len * 2);
        }
    }

    pub(crate) fn iter(&self) -> Iter<'_, T> {
        Iter {
            cur: self.head.iter(),
            rest: self.tail().iter(),
        }
    }

    /// Heap bytes held by the chunks (not what the elements own).
    pub(crate) fn heap_size(&self) -> usize {
        let elem = std::mem::size_of::<T>();
        self.head.capacity() * elem
            + self.tail.as_ref().map_or(0, |t| {
                std::mem::size_of::<Vec<Vec<T>>>() + t.capacity() * std::mem::size_of::<Vec<T>>()
            })
            + self
                .tail()
                .iter()
                .map(|c| c.capacity() * elem)
                .sum::<usize>()
    }
}

impl<T> Index<usize> for Chunked<T> {
    type Output = T;
    fn index(&self, i: usize) -> &T {
        match i.checked_sub(CHUNK) {
            None => &self.head[i],
            Some(j) => &self.tail()[j >> SHIFT][j & MASK],
        }
    }
}

impl<T> IndexMut<usize> for Chunked<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        match i.checked_sub(CHUNK) {
            None => &mut self.head[i],
            Some(j) => &mut self.tail_mut()[j >> SHIFT][j & MASK],
        }
    }
}

/// Iterator over a [`Chunked`] vector, in order.
pub struct Iter<'a, T> {
    cur: std::slice::Iter<'a, T>,
    rest: std::slice::Iter<'a, Vec<T>>,
}

impl<'a, T> Iterator for Iter<'a, T> {
    type Item = &'a T;
    fn next(&mut self) -> Option<&'a T> {
        loop {
            if let Some(x) = self.cur.next() {
                return Some(x);
            }
            self.cur = self.rest.next()?.iter();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_vec_through_pushes_pops_and_swap_removes_across_chunk_boundaries() {
        let mut c: Chunked<u32> = Chunked::default();
        let mut v: Vec<u32> = Vec::new();
        let mut rng = fastrand::Rng::with_seed(3);
        for round in 0..60_000u32 {
            // Drifts up to a few chunks and back down, lingering around boundaries.
            let grow = if (round / 10_000) % 2 == 0 { 7 } else { 3 };
            match rng.u32(..10) {
                x if x < grow => {
                    c.push(round);
                    v.push(round);
                }
                8 if !v.is_empty() => {
                    let i = rng.usize(..v.len());
                    assert_eq!(c.swap_remove(i), Some(v.swap_remove(i)));
                }
                _ => assert_eq!(c.pop(), v.pop()),
            }
            assert_eq!(c.len(), v.len());
            if round % 997 == 0 {
                assert!(c.iter().eq(v.iter()));
                for i in (0..v.len()).step_by(101) {
                    assert_eq!(c.get(i), v.get(i));
                    assert_eq!(c[i], v[i]);
                }
                assert_eq!(c.get(v.len()), None);
                // At most one spare chunk is kept.
                let spares = c.tail().iter().filter(|t| t.is_empty()).count();
                assert!(spares <= 1);
            }
        }
        assert_eq!(c.swap_remove(c.len()), None);
    }
}
