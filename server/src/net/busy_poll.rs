//! `busy-poll-us`: a worker about to sleep in epoll polls its clients' sockets for a short
//! while first.
//!
//! A client that sends its next request soon after a reply finds the worker still awake, so
//! nobody pays for waking it. On loopback that wakeup is paid on the client's own core (the
//! kernel wakes the sleeping thread from the client's `send`, and in a VM the idle vCPU's
//! halt and resume on top), which is why redis-benchmark at -P 1, saturating its core, ran
//! slower against us than against Redis while our server spent no more CPU per request.
//!
//! The poll watches the sockets through an epoll set of its own, level-triggered, so it
//! stops as soon as any client has input waiting: a request is never held back by the spin.
//! It costs at most `busy-poll-us` of CPU per sleep and nothing while input keeps coming.
//! Where input is too sparse for the poll to catch it, each thread stops polling after
//! [`MISSES`] polls in a row found nothing, and tries again [`SKIPPED`] sleeps later: a
//! moderately loaded server does not turn its idle time into spinning (measured with a
//! PING every 0.2 ms: 18 µs more CPU per request at a 20 µs span without the back-off,
//! 2.6 µs with it). Between two looks the thread yields its core, so a process sharing that
//! core (a replica beside its master) runs rather than waits for the poll to end.

use std::cell::Cell;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};

/// The sockets to watch and how long to watch them before sleeping.
#[derive(Debug)]
pub struct BusyPoll {
    epoll: Epoll,
    span: Duration,
}

impl BusyPoll {
    /// A poll of `span` per sleep; `None` when `span` is zero (turned off) or when the kernel
    /// refuses an epoll set, which only costs the speed-up.
    pub fn new(span: Duration) -> Option<BusyPoll> {
        if span.is_zero() {
            return None;
        }
        match Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC) {
            Ok(epoll) => Some(BusyPoll { epoll, span }),
            Err(e) => {
                tracing::warn!("busy-poll-us: no epoll set ({e}), workers sleep at once");
                None
            }
        }
    }

    /// Adds a socket whose input ends the poll. The kernel drops it from the set when the
    /// socket is closed. A socket that cannot be added is only not watched.
    pub fn watch(&self, socket: impl AsFd) {
        let _ = self
            .epoll
            .add(socket, EpollEvent::new(EpollFlags::EPOLLIN, 0));
    }

    /// Run by a worker thread just before it parks: polls, unless this thread's recent polls
    /// kept missing (see the module's text).
    pub fn before_sleep(&self) {
        BACKOFF.with(|b| {
            if b.skip.get() > 0 {
                b.skip.set(b.skip.get() - 1);
            } else if self.spin() {
                b.misses.set(0);
            } else if b.misses.get() + 1 >= MISSES {
                b.misses.set(0);
                b.skip.set(SKIPPED);
            } else {
                b.misses.set(b.misses.get() + 1);
            }
        });
    }

    /// Polls until a watched socket has input (true) or the span is over (false); the park
    /// that follows then finds the input at once.
    fn spin(&self) -> bool {
        let start = Instant::now();
        let mut ready = [EpollEvent::empty()];
        loop {
            match self.epoll.wait(&mut ready, EpollTimeout::ZERO) {
                Ok(0) => {}
                Ok(_) => return true,
                // EINTR: the park that follows handles whatever it was.
                Err(_) => return false,
            }
            if start.elapsed() >= self.span {
                return false;
            }
            std::thread::yield_now();
        }
    }
}

/// Polls in a row that may find nothing before a thread stops polling.
const MISSES: u32 = 8;
/// Sleeps a thread then takes without polling before it tries again.
const SKIPPED: u32 = 32;

/// A worker thread's record of its recent polls.
struct Backoff {
    misses: Cell<u32>,
    skip: Cell<u32>,
}

thread_local! {
    static BACKOFF: Backoff = const {
        Backoff {
            misses: Cell::new(0),
            skip: Cell::new(0),
        }
    };
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::io::Write;
    use std::os::unix::net::UnixStream;

    #[test]
    fn zero_turns_it_off() {
        assert!(BusyPoll::new(Duration::ZERO).is_none());
    }

    #[test]
    fn input_on_a_watched_socket_ends_the_poll_at_once() {
        // A span far longer than the poll may take: only the input can end it early.
        let poll = BusyPoll::new(Duration::from_secs(60)).unwrap();
        let (mut client, server) = UnixStream::pair().unwrap();
        poll.watch(&server);
        client.write_all(b"PING\r\n").unwrap();
        let start = Instant::now();
        assert!(poll.spin());
        assert!(start.elapsed() < Duration::from_secs(30));
    }

    #[test]
    fn without_input_the_poll_lasts_its_span() {
        let span = Duration::from_millis(20);
        let poll = BusyPoll::new(span).unwrap();
        let (_client, server) = UnixStream::pair().unwrap();
        poll.watch(&server);
        let start = Instant::now();
        assert!(!poll.spin());
        assert!(start.elapsed() >= span);
    }

    #[test]
    fn a_thread_whose_polls_keep_missing_sleeps_without_polling_for_a_while() {
        let span = Duration::from_millis(2);
        let poll = BusyPoll::new(span).unwrap();
        let (_client, server) = UnixStream::pair().unwrap();
        poll.watch(&server);
        // A thread of its own: the back-off is per thread.
        std::thread::spawn(move || {
            let timed = |n: u32| {
                let start = Instant::now();
                for _ in 0..n {
                    poll.before_sleep();
                }
                start.elapsed()
            };
            assert!(timed(MISSES) >= span * MISSES);
            assert!(timed(SKIPPED) < span);
            assert!(timed(1) >= span);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_socket_opened_under_a_closed_ones_number_is_watched() {
        let poll = BusyPoll::new(Duration::from_secs(60)).unwrap();
        let (_old_client, old) = UnixStream::pair().unwrap();
        poll.watch(&old);
        // The kernel hands out the lowest free number, so the new pair takes the closed
        // socket's (unless a test running alongside took it first).
        drop(old);
        let (mut client, server) = UnixStream::pair().unwrap();
        poll.watch(&server);
        client.write_all(b"PING\r\n").unwrap();
        let start = Instant::now();
        assert!(poll.spin());
        assert!(start.elapsed() < Duration::from_secs(30));
    }
}
