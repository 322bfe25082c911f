//! How large a connection's read buffer is. Requests are read straight into its free space,
//! one read per pipeline when the pipeline fits: a read that fills the space may have left
//! bytes in the socket and costs another read. So the space doubles while reads fill it
//! (large pipelines, large values) and halves back while reads use little of it, as Redis's
//! query buffer grows greedily and is trimmed back when its peak use is far below its size.
//!
//! A buffer whose bytes nothing else holds is reused in place. The decoder keeps slices of it
//! for a partly received command (and MULTI queues keep the commands they hold), so while
//! those live the free space is what is left after them; it is replaced only when that gets
//! small.

use bytes::BytesMut;

/// The space to read into at first and after small reads.
const READ_CHUNK: usize = 16 * 1024;
/// The most the space grows to: a pipeline of 16 MSETs of ten 1 KiB values fits.
const READ_MAX: usize = 256 * 1024;

/// The read buffer's sizing state.
pub(super) struct ReadSizing {
    want: usize,
}

impl ReadSizing {
    pub(super) fn new() -> ReadSizing {
        ReadSizing { want: READ_CHUNK }
    }

    /// Makes room in `buf` for the next read; returns the free space the read may fill.
    pub(super) fn make_room(&self, buf: &mut BytesMut) -> usize {
        let want = self.want;
        let spare = buf.capacity() - buf.len();
        if spare < want && !buf.try_reclaim(want) && spare < want / 4 {
            if buf.is_empty() {
                *buf = BytesMut::with_capacity(want);
            } else {
                buf.reserve(want);
            }
        }
        if buf.is_empty() && buf.capacity() > 4 * want {
            // Reads have been using a small part of it for a while: give it back.
            *buf = BytesMut::with_capacity(want);
        }
        buf.capacity() - buf.len()
    }

    /// Whether `buf`, as [`ReadSizing::make_room`] left it, has grown past the first read
    /// size: only then is it worth trimming when the connection goes quiet.
    pub(super) fn grown(buf: &BytesMut) -> bool {
        buf.capacity() > READ_CHUNK
    }

    /// A quiet connection gives back a grown buffer it holds nothing in (Redis trims an idle
    /// client's query buffer in clientsCron the same way); the next read starts small.
    pub(super) fn trim_idle(&mut self, buf: &mut BytesMut) {
        if buf.is_empty() && Self::grown(buf) {
            *buf = BytesMut::new();
            self.want = READ_CHUNK;
        }
    }

    /// Records a read of `n` bytes into `spare` bytes of free space.
    pub(super) fn read_done(&mut self, n: usize, spare: usize) {
        if n >= spare {
            self.want = (self.want * 2).min(READ_MAX);
        } else if n < self.want / 4 {
            self.want = (self.want / 2).max(READ_CHUNK);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::{Buf, BufMut};

    /// Fills up to `n` bytes of `buf`'s free space, as a read would.
    fn read(sizing: &mut ReadSizing, buf: &mut BytesMut, n: usize) -> usize {
        let spare = sizing.make_room(buf);
        let got = n.min(spare);
        buf.put_bytes(b'x', got);
        sizing.read_done(got, spare);
        got
    }

    /// `times` batches of up to `n` bytes, each consumed before the next is read.
    fn batches(sizing: &mut ReadSizing, buf: &mut BytesMut, times: usize, n: usize) {
        for _ in 0..times {
            buf.advance(buf.len());
            read(sizing, buf, n);
        }
    }

    #[test]
    fn batches_that_fit_reuse_the_buffer_in_place() {
        let (mut s, mut buf) = (ReadSizing::new(), BytesMut::new());
        read(&mut s, &mut buf, 1000);
        let at = buf.as_ptr();
        for _ in 0..100 {
            buf.advance(buf.len());
            assert_eq!(read(&mut s, &mut buf, 1000), 1000);
            assert_eq!(buf.as_ptr(), at);
        }
    }

    #[test]
    fn reads_that_fill_the_space_grow_it_up_to_the_cap() {
        let (mut s, mut buf) = (ReadSizing::new(), BytesMut::new());
        let mut sizes = Vec::new();
        for _ in 0..8 {
            buf.advance(buf.len());
            sizes.push(read(&mut s, &mut buf, usize::MAX));
        }
        assert_eq!(sizes[0], READ_CHUNK);
        assert!(sizes.windows(2).all(|w| w[1] >= w[0]));
        assert!(*sizes.last().unwrap_or(&0) >= READ_MAX);
        assert!(buf.capacity() <= READ_MAX);
    }

    #[test]
    fn a_large_buffer_is_given_back_after_small_reads() {
        let (mut s, mut buf) = (ReadSizing::new(), BytesMut::new());
        batches(&mut s, &mut buf, 8, usize::MAX);
        batches(&mut s, &mut buf, 8, 100);
        buf.advance(buf.len());
        s.make_room(&mut buf);
        assert!(buf.capacity() < 4 * READ_CHUNK);
    }

    #[test]
    fn an_idle_trim_gives_back_a_grown_empty_buffer_only() {
        let (mut s, mut buf) = (ReadSizing::new(), BytesMut::new());
        batches(&mut s, &mut buf, 4, usize::MAX);
        // Bytes of an unfinished command stay.
        s.trim_idle(&mut buf);
        assert!(!buf.is_empty());
        // As the connection loop does: room is made, then the quiet connection waits.
        buf.advance(buf.len());
        assert!(s.make_room(&mut buf) > READ_CHUNK && ReadSizing::grown(&buf));
        s.trim_idle(&mut buf);
        assert!(!ReadSizing::grown(&buf));
        assert_eq!(s.make_room(&mut buf), READ_CHUNK);
    }

    #[test]
    fn held_slices_keep_their_bytes_and_the_buffer_is_replaced_only_when_nearly_full() {
        let (mut s, mut buf) = (ReadSizing::new(), BytesMut::new());
        read(&mut s, &mut buf, 1000);
        let held = buf.split_to(600).freeze();
        let at = buf.as_ptr();
        // Plenty of space left behind the held slice: read into it.
        read(&mut s, &mut buf, 1000);
        assert_eq!(buf.as_ptr(), at);
        assert_eq!(buf.len(), 1400);
        // Nearly full while the slice is held: a new buffer, the unread bytes moved along.
        let spare = s.make_room(&mut buf);
        buf.put_bytes(b'y', spare - 100);
        s.read_done(spare - 100, spare);
        let len = buf.len();
        s.make_room(&mut buf);
        assert_eq!(buf.len(), len);
        assert!(buf.capacity() - buf.len() >= READ_CHUNK);
        assert_eq!(held.len(), 600);
    }
}
