//! `busy-poll-us`: a worker about to sleep in epoll polls the listening and client sockets
//! for a short while first.
//!
//! A client that sends its next request soon after a reply finds the worker still awake, so
//! the kernel does not have to wake it. On loopback that wakeup is paid on the client's own
//! core (the kernel wakes the sleeping thread from the client's `send`, and in a VM the idle
//! vCPU's halt and resume come on top), which is why redis-benchmark at -P 1, saturating its
//! core, ran slower against us than against Redis while our server spent no more CPU per
//! request.
//!
//! The poll watches the sockets through an epoll set of its own, level-triggered, so it
//! stops as soon as any of them (or a replica's link to its master) has input, and when a
//! task woken from outside the workers (a finished blocking job) waits in the runtime's
//! queue. Other events (timers, the cluster bus) wait for the poll to end: at most
//! `busy-poll-us`, capped at a millisecond. It costs at most that much CPU per sleep, and
//! nothing while input keeps coming.
//! Where input is too sparse for the poll to catch it, each thread stops polling after
//! [`MISSES`] polls in a row found nothing, and tries again [`SKIPPED`] sleeps later: a
//! moderately loaded server does not turn its idle time into spinning (measured with a
//! PING every 0.2 ms: 18 µs more CPU per request at a 20 µs span without the back-off,
//! 2.6 µs with it).
//!
//! The poll keeps its core rather than yielding it between two looks: a thread that yields
//! stays runnable, and under contention its input could wait a scheduler slice for it, past
//! the span. But a poll starts only after a yield that let no other thread run, and when the
//! scheduler gives the core to another thread before or during the poll (a replica beside
//! its master, anything sharing the core), the thread backs off at once: on a shared core
//! the poll would only keep the other waiting. The scheduler may hand the core straight back
//! to a yielding thread when the other has had more than its share, so a shared core is
//! found within a few sleeps rather than at the first.

use std::cell::{Cell, OnceCell};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::resource::{getrusage, UsageWho};
use tokio::runtime::RuntimeMetrics;

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
        BACKOFF.with(|b| b.next(|| self.spin_alone()));
    }

    /// Polls as [`spin`](Self::spin) does when no other thread waits for this core, and
    /// tells whether one did, before or during the poll.
    fn spin_alone(&self) -> Outcome {
        let preempted =
            || getrusage(UsageWho::RUSAGE_THREAD).map_or(0, |u| u.involuntary_context_switches());
        // A yield returns at once when nothing else is runnable here; when something is,
        // that runs first, and the switch counts as involuntary.
        let before = preempted();
        std::thread::yield_now();
        if preempted() != before {
            return Outcome::Contended;
        }
        let found = self.spin();
        if preempted() != before {
            Outcome::Contended
        } else if found {
            Outcome::Found
        } else {
            Outcome::Missed
        }
    }

    /// Polls until a watched socket has input (true) or the span is over (false); the park
    /// that follows then finds the input at once.
    fn spin(&self) -> bool {
        RUNTIME.with(|runtime| {
            // Fetched once per thread: a handle costs two reference counts each time.
            let runtime = runtime.get_or_init(|| {
                tokio::runtime::Handle::try_current()
                    .ok()
                    .map(|h| h.metrics())
            });
            self.spin_with(runtime.as_ref())
        })
    }

    fn spin_with(&self, runtime: Option<&RuntimeMetrics>) -> bool {
        // This worker still counts as searching for work, so no other worker is woken for a
        // task queued from outside the workers: it is this one's to run.
        let start = Instant::now();
        let mut ready = [EpollEvent::empty()];
        loop {
            match self.epoll.wait(&mut ready, EpollTimeout::ZERO) {
                Ok(0) => {}
                Ok(_) => return true,
                // EINTR: the park that follows handles whatever it was.
                Err(_) => return false,
            }
            if runtime.is_some_and(|m| m.global_queue_depth() > 0) {
                return true;
            }
            if start.elapsed() >= self.span {
                return false;
            }
            std::hint::spin_loop();
        }
    }
}

/// Polls in a row that may find nothing before a thread stops polling.
const MISSES: u32 = 8;
/// Sleeps a thread then takes without polling before it tries again.
const SKIPPED: u32 = 32;

/// What one poll came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Input (or a queued task) came.
    Found,
    /// The span ran out.
    Missed,
    /// The scheduler gave the core to another thread meanwhile: a process sharing this core
    /// (a replica beside its master) has work, and a poll only keeps it waiting.
    Contended,
}

/// A worker thread's record of its recent polls.
struct Backoff {
    misses: Cell<u32>,
    skip: Cell<u32>,
}

impl Backoff {
    /// Runs `poll` unless this thread is backing off.
    fn next(&self, poll: impl FnOnce() -> Outcome) {
        if self.skip.get() > 0 {
            self.skip.set(self.skip.get() - 1);
            return;
        }
        match poll() {
            Outcome::Found => self.misses.set(0),
            Outcome::Missed if self.misses.get() + 1 < MISSES => {
                self.misses.set(self.misses.get() + 1);
            }
            Outcome::Missed | Outcome::Contended => {
                self.misses.set(0);
                self.skip.set(SKIPPED);
            }
        }
    }
}

thread_local! {
    /// The runtime this worker thread serves (None outside one).
    static RUNTIME: OnceCell<Option<RuntimeMetrics>> = const { OnceCell::new() };
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
    use std::os::fd::AsRawFd;
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
        assert!(start.elapsed() < Duration::from_secs(1));
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
    fn polls_that_keep_missing_or_lose_the_core_stop_for_a_while() {
        let b = Backoff {
            misses: Cell::new(0),
            skip: Cell::new(0),
        };
        let polls = Cell::new(0u32);
        let run = |n: u32, outcome: Outcome| {
            polls.set(0);
            for _ in 0..n {
                b.next(|| {
                    polls.set(polls.get() + 1);
                    outcome
                });
            }
            polls.get()
        };
        // Misses up to the limit are all polled, then SKIPPED sleeps go without a poll.
        assert_eq!(run(MISSES, Outcome::Missed), MISSES);
        assert_eq!(run(SKIPPED, Outcome::Missed), 0);
        // Then it tries again; a hit clears the count of misses.
        assert_eq!(run(MISSES - 1, Outcome::Missed), MISSES - 1);
        assert_eq!(run(1, Outcome::Found), 1);
        assert_eq!(run(MISSES - 1, Outcome::Missed), MISSES - 1);
        assert_eq!(run(1, Outcome::Missed), 1);
        assert_eq!(run(1, Outcome::Missed), 0);
        // One poll that lost the core to another thread is enough to stop for a while.
        assert_eq!(run(SKIPPED - 1, Outcome::Missed), 0);
        assert_eq!(run(1, Outcome::Contended), 1);
        assert_eq!(run(SKIPPED, Outcome::Found), 0);
        assert_eq!(run(1, Outcome::Found), 1);
    }

    #[test]
    fn no_poll_while_another_thread_waits_for_the_core() {
        use nix::sched::{sched_getcpu, sched_setaffinity, CpuSet};
        use nix::unistd::Pid;
        use std::sync::atomic::{AtomicBool, Ordering};

        let mut here = CpuSet::new();
        here.set(sched_getcpu().unwrap()).unwrap();
        let (running, stop) = (AtomicBool::new(false), AtomicBool::new(false));
        let poll = BusyPoll::new(Duration::from_micros(1)).unwrap();
        let found = std::thread::scope(|s| {
            // Pid 0: the calling thread. Both threads end up on this core.
            s.spawn(|| {
                sched_setaffinity(Pid::from_raw(0), &here).unwrap();
                running.store(true, Ordering::Relaxed);
                while !stop.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            });
            sched_setaffinity(Pid::from_raw(0), &here).unwrap();
            while !running.load(Ordering::Relaxed) {
                std::thread::yield_now();
            }
            // The scheduler may hand the core back to the yielder when the hog has had more
            // than its share, so a yield finds it only most of the time.
            let found = (0..1000).any(|_| poll.spin_alone() == Outcome::Contended);
            stop.store(true, Ordering::Relaxed);
            found
        });
        assert!(found);
    }

    #[test]
    fn a_socket_opened_under_a_closed_ones_number_is_watched() {
        let poll = BusyPoll::new(Duration::from_secs(60)).unwrap();
        let (_old_client, old) = UnixStream::pair().unwrap();
        let number = old.as_raw_fd();
        poll.watch(&old);
        drop(old);
        // The kernel hands out the lowest free number, so the new pair takes the closed
        // socket's, unless a test running alongside took it first: then there is nothing
        // to check.
        let (client, server) = UnixStream::pair().unwrap();
        let (mut client, server) = match (client.as_raw_fd(), server.as_raw_fd()) {
            (_, s) if s == number => (client, server),
            (c, _) if c == number => (server, client),
            _ => return,
        };
        poll.watch(&server);
        client.write_all(b"PING\r\n").unwrap();
        let start = Instant::now();
        assert!(poll.spin());
        assert!(start.elapsed() < Duration::from_secs(1));
    }
}
