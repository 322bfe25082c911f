//! Redis's listpack entries, byte for byte: the compact form of small hashes, small sorted
//! sets and every quicklist node.
//!
//! Redis's layout is `total_bytes: u32 LE`, `count: u16 LE` (65535 once it no longer fits),
//! entries, `0xFF`. An entry is its encoding and data followed by a "backlen" that lets a
//! reader walk backwards. Integers (strings string2ll accepts) are stored in 1 to 9 bytes,
//! short strings with a one-byte header. The entries here are exactly Redis's, so memory per
//! entry is Redis's and [`Listpack::redis_bytes`] rebuilds the RDB/DUMP payload by adding
//! the header and end byte back.
//!
//! Held in memory, the listpack drops what the buffer already knows: `total_bytes` (the
//! boxed slice has a length) and the end byte (a walk stops at the length). What remains is
//! a two-byte header then the entries: a 5-field hash of 8-byte values takes 72 bytes, which
//! glibc serves from an 80-byte chunk where Redis's 77 bytes need a 96-byte one. The header
//! keeps the count in its low 15 bits (saturating, then found by walking) so HLEN/ZCARD stay
//! O(1); its top bit says the buffer has slack past the entries, which quicklist nodes keep
//! for the next push: then the buffer's last four bytes hold the listpack's length.
//!
//! Positions are byte offsets into the buffer, like the `unsigned char *p` of listpack.c.
//!
//! The buffer is a boxed slice (two words, not a `Vec`'s three) so a collection holding one
//! fits inside a key's table entry.

use super::Elem;
use resp_proto::string2ll;

/// The in-memory header: the count and the slack flag.
const HEADER: usize = 2;
/// Redis's header: `total_bytes: u32`, `count: u16`.
const REDIS_HEADER: usize = 6;
const EOF: u8 = 0xFF;
/// Redis's header count saturates here.
const REDIS_COUNT_UNKNOWN: u16 = u16::MAX;
/// Our header's count saturates here; beyond it the count is found by walking.
const COUNT_UNKNOWN: u16 = 0x7FFF;
/// Header bit: the buffer has slack, and its last [`TRAILER`] bytes hold the length.
const SLACK: u16 = 0x8000;
/// Size of the length recorded at the end of a buffer with slack.
const TRAILER: usize = 4;

/// A listpack: one contiguous buffer of entries.
#[derive(Clone)]
pub struct Listpack {
    /// Header, entries, then (when the header says so) slack ending with the length.
    buf: Box<[u8]>,
}

/// Two listpacks are equal when their entries are (slack aside).
impl PartialEq for Listpack {
    fn eq(&self, other: &Self) -> bool {
        self.buf[HEADER..self.total()] == other.buf[HEADER..other.total()]
    }
}

impl Eq for Listpack {}

impl std::fmt::Debug for Listpack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Default for Listpack {
    fn default() -> Self {
        Self::new()
    }
}

/// An entry's encoded form before it is written.
#[derive(Clone, Copy)]
pub(crate) enum Enc<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl<'a> Enc<'a> {
    /// Encodes a string as Redis does: an integer when string2ll accepts it.
    pub(crate) fn of(b: &'a [u8]) -> Self {
        match string2ll(b) {
            Some(n) => Enc::Int(n),
            None => Enc::Str(b),
        }
    }

    fn of_elem(e: Elem<'a>) -> Self {
        match e {
            Elem::Int(n) => Enc::Int(n),
            Elem::Str(s) => Enc::of(s),
        }
    }

    /// Encoding + data size (the value the backlen records).
    fn body_len(&self) -> usize {
        match *self {
            Enc::Int(n) => match n {
                0..=127 => 1,
                -4096..=4095 => 2,
                -32768..=32767 => 3,
                -8_388_608..=8_388_607 => 4,
                -2_147_483_648..=2_147_483_647 => 5,
                _ => 9,
            },
            Enc::Str(s) => {
                s.len()
                    + match s.len() {
                        0..=63 => 1,
                        64..=4095 => 2,
                        _ => 5,
                    }
            }
        }
    }

    /// Full size of the entry with its backlen.
    pub(crate) fn entry_len(&self) -> usize {
        let b = self.body_len();
        b + backlen_size(b)
    }

    fn write(&self, out: &mut [u8]) {
        let body = self.body_len();
        match *self {
            Enc::Int(n) => match body {
                1 => out[0] = n as u8,
                2 => {
                    let u = (n as u64) & 0x1FFF;
                    out[0] = 0xC0 | (u >> 8) as u8;
                    out[1] = u as u8;
                }
                3 => {
                    out[0] = 0xF1;
                    out[1..3].copy_from_slice(&(n as i16).to_le_bytes());
                }
                4 => {
                    out[0] = 0xF2;
                    out[1..4].copy_from_slice(&(n as i32).to_le_bytes()[..3]);
                }
                5 => {
                    out[0] = 0xF3;
                    out[1..5].copy_from_slice(&(n as i32).to_le_bytes());
                }
                _ => {
                    out[0] = 0xF4;
                    out[1..9].copy_from_slice(&n.to_le_bytes());
                }
            },
            Enc::Str(s) => {
                let l = s.len();
                let hdr = match l {
                    0..=63 => {
                        out[0] = 0x80 | l as u8;
                        1
                    }
                    64..=4095 => {
                        out[0] = 0xE0 | (l >> 8) as u8;
                        out[1] = l as u8;
                        2
                    }
                    _ => {
                        out[0] = 0xF0;
                        out[1..5].copy_from_slice(&(l as u32).to_le_bytes());
                        5
                    }
                };
                out[hdr..hdr + l].copy_from_slice(s);
            }
        }
        write_backlen(body, &mut out[body..]);
    }
}

fn backlen_size(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    }
}

/// The last byte holds the lowest seven bits; a set high bit says more bytes precede.
fn write_backlen(l: usize, out: &mut [u8]) {
    let n = backlen_size(l);
    for (i, b) in out.iter_mut().take(n).enumerate() {
        let shift = 7 * (n - 1 - i);
        let bits = ((l >> shift) & 127) as u8;
        *b = if i == 0 { bits } else { bits | 128 };
    }
}

impl Listpack {
    /// An empty listpack (lpNew's, less the bytes the buffer knows).
    pub fn new() -> Self {
        Listpack {
            buf: [0u8; HEADER].into(),
        }
    }

    /// Redis's bytes of this listpack, header and end byte included (the DUMP/RDB payload).
    pub fn redis_bytes(&self) -> Vec<u8> {
        let entries = &self.buf[HEADER..self.total()];
        let total = REDIS_HEADER + entries.len() + 1;
        let count = self.len().min(usize::from(REDIS_COUNT_UNKNOWN)) as u16;
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&(total as u32).to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(entries);
        out.push(EOF);
        out
    }

    fn header(&self) -> u16 {
        u16::from_le_bytes([self.buf[0], self.buf[1]])
    }

    fn has_slack(&self) -> bool {
        self.header() & SLACK != 0
    }

    /// Where the entries end: the buffer's end, or the length recorded in its slack.
    fn total(&self) -> usize {
        if self.has_slack() {
            let n = self.buf.len();
            u32::from_le_bytes([
                self.buf[n - 4],
                self.buf[n - 3],
                self.buf[n - 2],
                self.buf[n - 1],
            ]) as usize
        } else {
            self.buf.len()
        }
    }

    /// Bytes the entries may grow to without reallocating.
    fn room(&self) -> usize {
        if self.has_slack() {
            self.buf.len() - TRAILER
        } else {
            self.buf.len()
        }
    }

    /// Reallocates the buffer to `cap` bytes (at least the entries' end) with the slack
    /// flag set as asked; the caller then records the length with [`Listpack::set_total`].
    fn realloc(&mut self, cap: usize, slack: bool) {
        let mut v = std::mem::take(&mut self.buf).into_vec();
        if cap > v.len() {
            v.reserve_exact(cap - v.len());
        }
        v.resize(cap, 0);
        self.buf = v.into_boxed_slice();
        let h = self.header() & !SLACK | if slack { SLACK } else { 0 };
        self.buf[..HEADER].copy_from_slice(&h.to_le_bytes());
    }

    /// Makes room for `n` more bytes past the entries, with no slack beyond them.
    fn grow(&mut self, n: usize) {
        let need = self.total() + n;
        if self.room() < need {
            self.realloc(need, false);
        }
    }

    /// Records where the entries now end (after [`Listpack::grow`] made room for them).
    fn set_total(&mut self, total: usize) {
        if self.has_slack() {
            let n = self.buf.len();
            self.buf[n - TRAILER..].copy_from_slice(&(total as u32).to_le_bytes());
        }
    }

    /// Records that the entries now end earlier at `total`, giving memory back like
    /// lpDelete's realloc (a node's slack is kept unless it grew too large).
    fn shrink_to(&mut self, total: usize) {
        if self.has_slack() && self.buf.len() <= total + total / 4 + 16 + TRAILER {
            self.set_total(total);
        } else {
            self.realloc(total, false);
        }
    }

    /// Total size in bytes Redis's listpack would have (lpBytes).
    pub fn bytes_len(&self) -> usize {
        self.total() - HEADER + REDIS_HEADER + 1
    }

    /// Heap bytes held (capacity included).
    pub fn heap_size(&self) -> usize {
        self.buf.len()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        let c = self.header() & !SLACK;
        if c != COUNT_UNKNOWN {
            return usize::from(c);
        }
        let mut n = 0;
        let mut p = self.first();
        while let Some(off) = p {
            n += 1;
            p = self.next(off);
        }
        n
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.total() == HEADER
    }

    fn set_count(&mut self, n: usize) {
        let c = if n >= usize::from(COUNT_UNKNOWN) {
            COUNT_UNKNOWN
        } else {
            n as u16
        };
        let h = self.header() & SLACK | c;
        self.buf[..HEADER].copy_from_slice(&h.to_le_bytes());
    }

    fn adjust_count(&mut self, delta: isize) {
        let c = self.header() & !SLACK;
        let n = if c == COUNT_UNKNOWN {
            self.len()
        } else {
            usize::from(c).wrapping_add_signed(delta)
        };
        self.set_count(n);
    }

    /// Offset of the first entry.
    pub fn first(&self) -> Option<usize> {
        (self.total() > HEADER).then_some(HEADER)
    }

    /// Offset of the last entry.
    pub fn last(&self) -> Option<usize> {
        let end = self.total();
        (end > HEADER).then(|| self.prev_of(end))
    }

    /// Offset of the entry after `off`.
    pub fn next(&self, off: usize) -> Option<usize> {
        let n = off + self.entry_size(off);
        (n < self.total()).then_some(n)
    }

    /// Offset of the entry before `off`.
    pub fn prev(&self, off: usize) -> Option<usize> {
        (off > HEADER).then(|| self.prev_of(off))
    }

    fn prev_of(&self, off: usize) -> usize {
        let mut p = off - 1;
        let mut val = 0usize;
        let mut shift = 0;
        loop {
            let b = self.buf[p];
            val |= usize::from(b & 127) << shift;
            if b & 128 == 0 {
                break;
            }
            shift += 7;
            p -= 1;
        }
        p - val
    }

    /// Encoding + data length of the entry at `off`, and where its data starts.
    fn body(&self, off: usize) -> (usize, usize) {
        let b = &self.buf[off..];
        let e = b[0];
        if e & 0x80 == 0 {
            (1, 0)
        } else if e & 0xC0 == 0x80 {
            (1 + usize::from(e & 0x3F), 1)
        } else if e & 0xE0 == 0xC0 {
            (2, 0)
        } else if e & 0xF0 == 0xE0 {
            (2 + (usize::from(e & 0x0F) << 8 | usize::from(b[1])), 2)
        } else {
            match e {
                0xF0 => (5 + u32::from_le_bytes([b[1], b[2], b[3], b[4]]) as usize, 5),
                0xF1 => (3, 0),
                0xF2 => (4, 0),
                0xF3 => (5, 0),
                _ => (9, 0),
            }
        }
    }

    fn entry_size(&self, off: usize) -> usize {
        let (l, _) = self.body(off);
        l + backlen_size(l)
    }

    /// The entry at `off`.
    pub fn get(&self, off: usize) -> Elem<'_> {
        let b = &self.buf[off..];
        let e = b[0];
        let (len, data) = self.body(off);
        if data > 0 {
            return Elem::Str(&b[data..len]);
        }
        Elem::Int(match e {
            0..=0x7F => i64::from(e),
            0xC0..=0xDF => {
                let u = (u16::from(e & 0x1F) << 8) | u16::from(b[1]);
                // Sign-extend 13 bits.
                i64::from(((u << 3) as i16) >> 3)
            }
            0xF1 => i64::from(i16::from_le_bytes([b[1], b[2]])),
            0xF2 => i64::from(i32::from_le_bytes([0, b[1], b[2], b[3]]) >> 8),
            0xF3 => i64::from(i32::from_le_bytes([b[1], b[2], b[3], b[4]])),
            _ => i64::from_le_bytes([b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8]]),
        })
    }

    /// Forward iterator over the entries.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            lp: self,
            next: self.first(),
        }
    }

    /// Offset of the entry at `index` (negative counts from the end), if in range.
    pub fn seek(&self, index: i64) -> Option<usize> {
        let len = self.len() as i64;
        let i = if index < 0 { len + index } else { index };
        if i < 0 || i >= len {
            return None;
        }
        if i <= len / 2 {
            let mut p = self.first();
            for _ in 0..i {
                p = self.next(p?);
            }
            p
        } else {
            let mut p = self.last();
            for _ in 0..(len - 1 - i) {
                p = self.prev(p?);
            }
            p
        }
    }

    fn insert_enc(&mut self, off: usize, enc: Enc<'_>) {
        let n = enc.entry_len();
        let old = self.total();
        // Exact growth, as lpInsert's realloc, unless a quicklist node reserved slack.
        self.grow(n);
        self.buf.copy_within(off..old, off + n);
        enc.write(&mut self.buf[off..off + n]);
        self.set_total(old + n);
        self.adjust_count(1);
    }

    /// Inserts `value` before the entry at `off` (or at the end when `off` is
    /// [`Listpack::end`]).
    pub fn insert_before(&mut self, off: usize, value: &[u8]) {
        self.insert_enc(off, Enc::of(value));
    }

    /// Inserts an already-classified element before `off`.
    pub fn insert_elem_before(&mut self, off: usize, value: Elem<'_>) {
        self.insert_enc(off, Enc::of_elem(value));
    }

    pub(crate) fn insert_raw(&mut self, off: usize, enc: Enc<'_>) {
        self.insert_enc(off, enc);
    }

    /// Offset just past the last entry (where Redis's end byte is): inserting there appends.
    pub fn end(&self) -> usize {
        self.total()
    }

    /// Makes room for `additional` more bytes with some slack (an eighth of the size, at
    /// least 16 bytes), so a quicklist node filled one push at a time is not reallocated
    /// on every push.
    pub fn reserve_for_growth(&mut self, additional: usize) {
        let total = self.total();
        if self.room() - total < additional {
            self.realloc(total + additional.max(total / 8).max(16) + TRAILER, true);
            self.set_total(total);
        }
    }

    /// Appends `value`.
    pub fn push_back(&mut self, value: &[u8]) {
        self.insert_enc(self.end(), Enc::of(value));
    }

    /// Prepends `value`.
    pub fn push_front(&mut self, value: &[u8]) {
        self.insert_enc(HEADER, Enc::of(value));
    }

    /// Removes the entry at `off`; returns the offset now holding the following entry (or
    /// `None` at the end).
    pub fn delete(&mut self, off: usize) -> Option<usize> {
        self.delete_n(off, 1)
    }

    /// Removes up to `n` entries starting at `off`.
    pub fn delete_n(&mut self, off: usize, n: usize) -> Option<usize> {
        let total = self.total();
        let mut end = off;
        let mut removed = 0;
        while removed < n && end < total {
            end += self.entry_size(end);
            removed += 1;
        }
        self.buf.copy_within(end..total, off);
        let total = total - (end - off);
        self.shrink_to(total);
        self.adjust_count(-(removed as isize));
        (off < total).then_some(off)
    }

    /// Replaces the entry at `off` with `value`.
    pub fn replace(&mut self, off: usize, value: &[u8]) {
        self.replace_enc(off, Enc::of(value));
    }

    pub(crate) fn replace_enc(&mut self, off: usize, enc: Enc<'_>) {
        let old = self.entry_size(off);
        let n = enc.entry_len();
        let total = self.total();
        if n > old {
            self.grow(n - old);
        }
        self.buf.copy_within(off + old..total, off + n);
        enc.write(&mut self.buf[off..off + n]);
        let total = total + n - old;
        if n < old {
            self.shrink_to(total);
        } else {
            self.set_total(total);
        }
    }

    /// Offset of the first entry at or after `from` equal to `value`, looking at every
    /// `skip+1`-th entry (skip 1 walks keys of field/value pairs).
    ///
    /// Compares without decoding, as lpFind: a string entry by its bytes, an integer entry
    /// (decoded) only when `value` is an integer's text.
    pub fn find(&self, from: Option<usize>, value: &[u8], skip: usize) -> Option<usize> {
        let needle_int = match Elem::classify(value) {
            Elem::Int(n) => Some(n),
            Elem::Str(_) => None,
        };
        let total = self.total();
        let mut off = from?;
        loop {
            if off >= total {
                return None;
            }
            let (len, data) = self.body(off);
            let hit = if data > 0 {
                len - data == value.len() && self.buf.get(off + data..off + len) == Some(value)
            } else {
                needle_int.is_some_and(|n| matches!(self.get(off), Elem::Int(m) if m == n))
            };
            if hit {
                return Some(off);
            }
            off += len + backlen_size(len);
            for _ in 0..skip {
                if off >= total {
                    return None;
                }
                off += self.entry_size(off);
            }
        }
    }

    /// Builds a listpack from Redis's listpack bytes, validating every entry (RESTORE/RDB).
    pub fn from_bytes(bytes: &[u8]) -> Option<Listpack> {
        if bytes.len() < REDIS_HEADER + 1 || bytes.len() > u32::MAX as usize {
            return None;
        }
        let total = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
        if total != bytes.len() || bytes[total - 1] != EOF {
            return None;
        }
        let entries = bytes.get(REDIS_HEADER..total - 1)?;
        let mut buf = Vec::with_capacity(HEADER + entries.len());
        buf.extend_from_slice(&[0; HEADER]);
        buf.extend_from_slice(entries);
        let mut lp = Listpack {
            buf: buf.into_boxed_slice(),
        };
        let end = lp.buf.len();
        let mut off = HEADER;
        let mut n = 0usize;
        while off < end {
            let need = match lp.buf[off] {
                0xE0..=0xEF => 2,
                0xF0 => 5,
                0xF5..=0xFF => return None,
                _ => 1,
            };
            if off + need > end {
                return None;
            }
            let (l, _) = lp.body(off);
            let size = l + backlen_size(l);
            if off + size > end {
                return None;
            }
            let mut back = [0u8; 5];
            write_backlen(l, &mut back);
            if lp.buf.get(off + l..off + size) != back.get(..size - l) {
                return None;
            }
            off += size;
            n += 1;
        }
        let c = u16::from_le_bytes([bytes[4], bytes[5]]);
        if c != REDIS_COUNT_UNKNOWN && usize::from(c) != n {
            return None;
        }
        lp.set_count(n);
        Some(lp)
    }
}

/// Forward iterator over a listpack.
pub struct Iter<'a> {
    lp: &'a Listpack,
    next: Option<usize>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = Elem<'a>;
    fn next(&mut self) -> Option<Elem<'a>> {
        let off = self.next?;
        self.next = self.lp.next(off);
        Some(self.lp.get(off))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bytes_match_redis() {
        // RPUSH l a 1 -1 300 hello then DEBUG LISTPACK / DUMP on redis-server 7.0.15.
        let mut lp = Listpack::new();
        assert_eq!(lp.redis_bytes(), [7, 0, 0, 0, 0, 0, 0xFF]);
        lp.push_back(b"a");
        assert_eq!(lp.redis_bytes(), [10, 0, 0, 0, 1, 0, 0x81, b'a', 2, 0xFF]);
        let mut lp = Listpack::new();
        lp.push_back(b"0");
        assert_eq!(&lp.redis_bytes()[6..8], [0, 1]);
        // ZADD z 3 c stores "c" then int 3: 81 63 02 03 01.
        let mut lp = Listpack::new();
        lp.push_back(b"c");
        lp.push_back(b"3");
        assert_eq!(&lp.redis_bytes()[6..11], [0x81, b'c', 2, 3, 1]);
        // 4503599627370496 is stored F4 + 8 bytes, backlen 9.
        let mut lp = Listpack::new();
        lp.push_back(b"4503599627370496");
        assert_eq!(
            &lp.redis_bytes()[6..16],
            [0xF4, 0, 0, 0, 0, 0, 0, 0x10, 0, 9]
        );
    }

    #[test]
    fn integers_round_trip_at_every_width() {
        let vals = [
            0i64,
            127,
            128,
            -1,
            -4096,
            4095,
            4096,
            -4097,
            32767,
            -32768,
            32768,
            8_388_607,
            -8_388_608,
            8_388_608,
            i32::MAX as i64,
            i32::MIN as i64,
            i64::MAX,
            i64::MIN,
        ];
        let mut lp = Listpack::new();
        for v in vals {
            lp.push_back(v.to_string().as_bytes());
        }
        let got: Vec<Elem<'_>> = lp.iter().collect();
        assert_eq!(got, vals.iter().map(|&v| Elem::Int(v)).collect::<Vec<_>>());
        assert!(Listpack::from_bytes(&lp.redis_bytes()).is_some());
    }

    #[test]
    fn strings_of_every_header_width_walk_both_ways() {
        let vals: Vec<Vec<u8>> = [0usize, 1, 63, 64, 127, 128, 4095, 4096, 20000]
            .iter()
            .map(|&n| vec![b'x'; n])
            .collect();
        let mut lp = Listpack::new();
        for v in &vals {
            lp.push_back(v);
        }
        assert_eq!(lp.len(), vals.len());
        let mut back = Vec::new();
        let mut p = lp.last();
        while let Some(o) = p {
            back.push(lp.get(o).to_vec());
            p = lp.prev(o);
        }
        back.reverse();
        assert_eq!(back, vals);
        assert!(Listpack::from_bytes(&lp.redis_bytes()).is_some());
    }

    #[test]
    fn corrupt_bytes_are_refused() {
        let mut lp = Listpack::new();
        lp.push_back(b"hello");
        let mut b = lp.redis_bytes();
        b[6] = 0x85 + 10;
        assert!(Listpack::from_bytes(&b).is_none());
        assert!(Listpack::from_bytes(&[1, 2, 3]).is_none());
        let mut b = lp.redis_bytes();
        b[4] = 9;
        assert!(Listpack::from_bytes(&b).is_none());
    }

    #[test]
    fn delete_replace_seek() {
        let mut lp = Listpack::new();
        for v in ["a", "b", "c", "d"] {
            lp.push_back(v.as_bytes());
        }
        let o = lp.seek(-3).unwrap();
        assert_eq!(lp.get(o), Elem::Str(b"b"));
        lp.replace(o, b"12345");
        assert_eq!(lp.get(o), Elem::Int(12345));
        let next = lp.delete(o).unwrap();
        assert_eq!(lp.get(next), Elem::Str(b"c"));
        assert_eq!(lp.len(), 3);
        assert!(lp.seek(3).is_none());
        assert!(lp.seek(-4).is_none());
        lp.delete_n(lp.first().unwrap(), 10);
        assert!(lp.is_empty());
        assert_eq!(lp.redis_bytes(), Listpack::new().redis_bytes());
        assert_eq!(lp.heap_size(), 2);
    }

    #[test]
    fn holds_only_the_count_and_the_entries() {
        // HSET h f1 .. f5 with 8-byte values: Redis's 77 bytes less total_bytes and 0xFF.
        let mut lp = Listpack::new();
        for i in 1..=5 {
            lp.push_back(format!("f{i}").as_bytes());
            lp.push_back(b"abcdefgh");
        }
        assert_eq!(lp.heap_size(), 72);
        assert_eq!(lp.bytes_len(), 77);
        assert_eq!(lp.redis_bytes().len(), 77);
        assert_eq!(Listpack::from_bytes(&lp.redis_bytes()).unwrap(), lp);
        assert_eq!(
            Listpack::from_bytes(&lp.redis_bytes()).unwrap().heap_size(),
            72
        );
    }

    #[test]
    fn slack_is_kept_past_the_entries_and_never_read_as_one() {
        let mut lp = Listpack::new();
        let mut model: Vec<Vec<u8>> = Vec::new();
        for i in 0..200 {
            lp.reserve_for_growth(12);
            let v = format!("v{i}");
            if i % 3 == 0 {
                lp.push_front(v.as_bytes());
                model.insert(0, v.into_bytes());
            } else {
                lp.push_back(v.as_bytes());
                model.push(v.into_bytes());
            }
            assert!(lp.heap_size() >= lp.bytes_len() - 5);
        }
        let got: Vec<Vec<u8>> = lp.iter().map(|e| e.to_vec()).collect();
        assert_eq!(got, model);
        assert_eq!(lp.len(), 200);
        let exact = Listpack::from_bytes(&lp.redis_bytes()).unwrap();
        assert_eq!(exact, lp);
        assert_eq!(exact.redis_bytes(), lp.redis_bytes());
        // Deleting most entries gives the slack back; what is left still walks both ways.
        lp.delete_n(lp.first().unwrap(), 190);
        assert_eq!(lp.heap_size(), lp.bytes_len() - 5);
        assert_eq!(lp.len(), 10);
        assert_eq!(lp.get(lp.last().unwrap()), Elem::Str(&model[199][..]));
        lp.reserve_for_growth(4);
        let last = lp.last().unwrap();
        lp.replace(last, b"a longer value than before");
        lp.replace(lp.first().unwrap(), b"");
        assert_eq!(
            lp.get(lp.last().unwrap()),
            Elem::Str(b"a longer value than before")
        );
        assert_eq!(lp.get(lp.first().unwrap()), Elem::Str(b""));
        assert!(Listpack::from_bytes(&lp.redis_bytes()).is_some());
    }

    #[test]
    fn counts_past_our_header_are_walked_and_written_as_redis() {
        let mut lp = Listpack::new();
        for _ in 0..40_000 {
            lp.push_back(b"1");
        }
        assert_eq!(lp.len(), 40_000);
        let b = lp.redis_bytes();
        assert_eq!(u16::from_le_bytes([b[4], b[5]]), 40_000);
        for _ in 0..30_000 {
            lp.push_back(b"2");
        }
        let b = lp.redis_bytes();
        assert_eq!(u16::from_le_bytes([b[4], b[5]]), u16::MAX);
        let back = Listpack::from_bytes(&b).unwrap();
        assert_eq!(back.len(), 70_000);
        lp.delete_n(lp.first().unwrap(), 69_990);
        assert_eq!(lp.len(), 10);
    }
}
