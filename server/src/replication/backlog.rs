//! The replication backlog: the last `repl-backlog-size` bytes of the stream, addressed by
//! replication offset, so a replica that lost its link can continue from where it was.

/// A ring of the most recent stream bytes.
#[derive(Debug)]
pub struct Backlog {
    buf: Vec<u8>,
    size: usize,
    /// Index in `buf` where the next byte goes.
    head: usize,
    /// Bytes of history held (at most `size`).
    histlen: usize,
    /// Offset of the stream's last byte (master_repl_offset when it was appended).
    end_offset: u64,
}

impl Backlog {
    /// An empty backlog of `size` bytes whose next byte will have offset `offset + 1`.
    pub fn new(size: usize, offset: u64) -> Backlog {
        Backlog {
            buf: Vec::new(),
            size: size.max(1),
            head: 0,
            histlen: 0,
            end_offset: offset,
        }
    }

    /// Configured capacity (INFO repl_backlog_size).
    pub fn size(&self) -> usize {
        self.size
    }

    /// Bytes of history held (INFO repl_backlog_histlen).
    pub fn histlen(&self) -> usize {
        self.histlen
    }

    /// Offset of the first byte held (INFO repl_backlog_first_byte_offset).
    pub fn first_offset(&self) -> u64 {
        self.end_offset + 1 - self.histlen as u64
    }

    /// Appends stream bytes.
    pub fn append(&mut self, mut data: &[u8]) {
        self.end_offset += data.len() as u64;
        if data.len() >= self.size {
            let skip = data.len() - self.size;
            data = data.get(skip..).unwrap_or_default();
            self.buf.clear();
            self.buf.extend_from_slice(data);
            self.head = 0;
            self.histlen = self.size;
            return;
        }
        // Grow lazily up to `size`: a small stream never costs the whole capacity.
        while !data.is_empty() {
            if self.buf.len() < self.size && self.head == self.buf.len() {
                let room = self.size - self.buf.len();
                let n = room.min(data.len());
                self.buf
                    .extend_from_slice(data.get(..n).unwrap_or_default());
                self.head = self.buf.len() % self.size;
                self.histlen = (self.histlen + n).min(self.size);
                data = data.get(n..).unwrap_or_default();
                continue;
            }
            let n = (self.buf.len() - self.head).min(data.len());
            if let (Some(dst), Some(src)) =
                (self.buf.get_mut(self.head..self.head + n), data.get(..n))
            {
                dst.copy_from_slice(src);
            }
            self.head = (self.head + n) % self.size;
            self.histlen = (self.histlen + n).min(self.size);
            data = data.get(n..).unwrap_or_default();
        }
    }

    /// Changes the capacity, keeping the most recent history that fits.
    pub fn resize(&mut self, size: usize) {
        let size = size.max(1);
        if size == self.size {
            return;
        }
        let keep = self.histlen.min(size);
        let tail = self.tail(keep);
        let end = self.end_offset;
        *self = Backlog::new(size, end - keep as u64);
        self.append(&tail);
    }

    /// The last `n` bytes held (n ≤ histlen).
    fn tail(&self, n: usize) -> Vec<u8> {
        let n = n.min(self.histlen);
        let mut out = Vec::with_capacity(n);
        let start = (self.head + self.buf.len() - n) % self.buf.len().max(1);
        if start + n <= self.buf.len() {
            out.extend_from_slice(self.buf.get(start..start + n).unwrap_or_default());
        } else {
            out.extend_from_slice(self.buf.get(start..).unwrap_or_default());
            out.extend_from_slice(
                self.buf
                    .get(..n - (self.buf.len() - start))
                    .unwrap_or_default(),
            );
        }
        out
    }

    /// The bytes from offset `from` (the first byte a replica lacks) to the end, if the
    /// backlog still holds them (`from` may be one past the end: nothing to send).
    pub fn since(&self, from: u64) -> Option<Vec<u8>> {
        if from < self.first_offset() || from > self.end_offset + 1 {
            return None;
        }
        Some(self.tail((self.end_offset + 1 - from) as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_and_serves_ranges() {
        let mut b = Backlog::new(8, 0);
        assert_eq!(b.first_offset(), 1);
        assert_eq!(b.histlen(), 0);
        assert_eq!(b.since(1), Some(vec![]));
        b.append(b"abcde");
        assert_eq!(b.since(1), Some(b"abcde".to_vec()));
        assert_eq!(b.since(4), Some(b"de".to_vec()));
        b.append(b"fghij");
        assert_eq!(b.histlen(), 8);
        assert_eq!(b.first_offset(), 3);
        assert_eq!(b.since(2), None);
        assert_eq!(b.since(3), Some(b"cdefghij".to_vec()));
        assert_eq!(b.since(11), Some(vec![]));
        assert_eq!(b.since(12), None);
        b.append(b"0123456789xy");
        assert_eq!(b.since(15), Some(b"456789xy".to_vec()));
        b.resize(4);
        assert_eq!(b.since(19), Some(b"89xy".to_vec()));
        assert_eq!(b.since(18), None);
        b.resize(16);
        b.append(b"z");
        assert_eq!(b.since(19), Some(b"89xyz".to_vec()));
    }

    #[test]
    fn matches_a_plain_vector() {
        let mut b = Backlog::new(37, 100);
        let mut all = Vec::new();
        for i in 0..500u32 {
            let chunk: Vec<u8> = (0..(i % 23)).map(|j| (i + j) as u8).collect();
            b.append(&chunk);
            all.extend_from_slice(&chunk);
            let end = 100 + all.len() as u64;
            let keep = all.len().min(37);
            assert_eq!(b.first_offset(), end + 1 - keep as u64);
            assert_eq!(
                b.since(end + 1 - keep as u64).as_deref(),
                all.get(all.len() - keep..)
            );
        }
    }
}
