//! Per-command statistics: calls, time, rejected and failed calls (INFO commandstats) and
//! latency histograms (INFO latencystats, LATENCY HISTOGRAM).
//!
//! The hot path writes only to counters owned by the running thread (a relaxed load and
//! store, no locked instruction, no shared cache line); INFO sums every thread's counters.
//! CONFIG RESETSTAT bumps an epoch: each thread zeroes its own counters before its next
//! record, and readers skip threads that have not caught up yet, so a reset never races
//! with a writer. The counters are process-wide: one node runs per process.
//!
//! The histograms have the layout of the HdrHistogram Redis uses (values 1 ns .. 1 s, two
//! significant figures), so percentiles and LATENCY HISTOGRAM buckets come out as Redis
//! computes them.

use std::cell::Cell;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

/// Room for command and subcommand ids (the table holds a few hundred).
pub const MAX_COMMANDS: usize = 1024;

/// Sub-buckets per bucket for two significant figures (2 * 10^2 rounded up to a power of 2).
const SUB_BUCKETS: u64 = 256;
const HALF_MAGNITUDE: u32 = 7;
const HALF: u64 = 1 << HALF_MAGNITUDE;
/// Buckets needed to reach 1e9 ns from sub-bucket range 256.
const BUCKETS: usize = 23;
const COUNTS_LEN: usize = (BUCKETS + 1) << HALF_MAGNITUDE;
const MIN_VALUE: u64 = 1;
const MAX_VALUE: u64 = 1_000_000_000;

fn bucket_index(v: u64) -> u32 {
    let pow2ceiling = 64 - (v | (SUB_BUCKETS - 1)).leading_zeros();
    pow2ceiling - (HALF_MAGNITUDE + 1)
}

fn counts_index(v: u64) -> usize {
    let b = bucket_index(v);
    let sub = v >> b;
    (((u64::from(b) + 1) << HALF_MAGNITUDE) + sub - HALF) as usize
}

fn value_at_index(i: usize) -> u64 {
    let mut bucket = (i >> HALF_MAGNITUDE) as i64 - 1;
    let mut sub = (i as u64 & (HALF - 1)) + HALF;
    if bucket < 0 {
        sub -= HALF;
        bucket = 0;
    }
    sub << bucket
}

fn lowest_equivalent(v: u64) -> u64 {
    let b = bucket_index(v);
    (v >> b) << b
}

fn highest_equivalent(v: u64) -> u64 {
    let b = bucket_index(v);
    let sub = v >> b;
    let range_bucket = if sub >= SUB_BUCKETS { b + 1 } else { b };
    lowest_equivalent(v) + (1u64 << range_bucket) - 1
}

/// A snapshot of one histogram's counts.
#[derive(Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
}

impl Histogram {
    fn empty() -> Histogram {
        Histogram {
            counts: vec![0; COUNTS_LEN],
            total: 0,
        }
    }

    /// Number of recorded values.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// hdr_value_at_percentile: the highest value equivalent to the one at `p` percent.
    pub fn value_at_percentile(&self, p: f64) -> u64 {
        let p = p.min(100.0);
        let wanted = (((p / 100.0) * self.total as f64) + 0.5) as u64;
        let wanted = wanted.max(1);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= wanted {
                let v = value_at_index(i);
                return if p == 0.0 {
                    lowest_equivalent(v)
                } else {
                    highest_equivalent(v)
                };
            }
        }
        0
    }

    /// The cumulative buckets of LATENCY HISTOGRAM: (microseconds, count up to there), from
    /// HdrHistogram's logarithmic iteration (first level 1024 ns, base 2), keeping the
    /// steps where the count grew.
    pub fn log_buckets(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut index: usize = 0; // one past the current index
        let mut cumulative = 0u64;
        let mut value = 0u64;
        let mut highest = 0u64;
        let mut level = 1024u64;
        let mut level_lowest = lowest_equivalent(level);
        let mut previous = 0u64;
        // Each round is one hdr_iter_next; the bound only guards against a bad state.
        for _ in 0..COUNTS_LEN * 2 {
            let peek = if index < COUNTS_LEN {
                value_at_index(index)
            } else {
                u64::MAX
            };
            if cumulative >= self.total && peek <= level_lowest {
                break;
            }
            loop {
                if value >= level_lowest {
                    level = level.saturating_mul(2);
                    level_lowest = lowest_equivalent(level.min(MAX_VALUE * 2));
                    break;
                }
                let Some(c) = self.counts.get(index) else {
                    break;
                };
                cumulative += c;
                value = value_at_index(index);
                highest = highest_equivalent(value);
                index += 1;
            }
            if cumulative > previous {
                out.push((highest / 1000, cumulative));
            }
            previous = cumulative;
            if index >= COUNTS_LEN && cumulative >= self.total {
                break;
            }
        }
        out
    }
}

/// The counters of one command on one thread.
struct Slot {
    calls: AtomicU64,
    usec: AtomicU64,
    rejected: AtomicU64,
    failed: AtomicU64,
    hist: OnceLock<Box<[AtomicU64]>>,
    hist_total: AtomicU64,
}

impl Slot {
    fn new() -> Slot {
        Slot {
            calls: AtomicU64::new(0),
            usec: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            hist: OnceLock::new(),
            hist_total: AtomicU64::new(0),
        }
    }

    fn zero(&self) {
        for c in [
            &self.calls,
            &self.usec,
            &self.rejected,
            &self.failed,
            &self.hist_total,
        ] {
            c.store(0, Ordering::Relaxed);
        }
        if let Some(h) = self.hist.get() {
            for c in h.iter() {
                c.store(0, Ordering::Relaxed);
            }
        }
    }
}

/// Adds to a counter only this thread writes.
fn bump(c: &AtomicU64, n: u64) {
    c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
}

/// One thread's counters.
struct ThreadStats {
    epoch: AtomicU64,
    slots: Box<[OnceLock<Box<Slot>>]>,
}

/// Every thread's counters, for the readers.
static THREADS: Mutex<Vec<Arc<ThreadStats>>> = Mutex::new(Vec::new());
/// Bumped by CONFIG RESETSTAT.
static EPOCH: AtomicU64 = AtomicU64::new(0);
/// `latency-tracking`.
static TRACKING: AtomicBool = AtomicBool::new(true);
/// `latency-tracking-info-percentiles`.
static PERCENTILES: Mutex<Vec<f64>> = Mutex::new(Vec::new());
/// Whether PERCENTILES was ever configured (before that: Redis's default 50 99 99.9).
static PERCENTILES_SET: AtomicBool = AtomicBool::new(false);

/// What a thread keeps for itself: one thread-local access per hot-path call.
struct Local {
    stats: Arc<ThreadStats>,
    /// Error replies written by this thread (failed-call detection, as Redis compares the
    /// error counter before and after a call).
    errors: Cell<u64>,
    errors_seen: Cell<u64>,
}

thread_local! {
    static LOCAL: Local = {
        let t = Arc::new(ThreadStats {
            epoch: AtomicU64::new(EPOCH.load(Ordering::Relaxed)),
            slots: (0..MAX_COMMANDS).map(|_| OnceLock::new()).collect(),
        });
        THREADS.lock().push(t.clone());
        Local {
            stats: t,
            errors: Cell::new(0),
            errors_seen: Cell::new(0),
        }
    };
}

fn slot_of(t: &ThreadStats, id: usize) -> Option<&Slot> {
    let epoch = EPOCH.load(Ordering::Relaxed);
    if t.epoch.load(Ordering::Relaxed) != epoch {
        for s in t.slots.iter().filter_map(OnceLock::get) {
            s.zero();
        }
        t.epoch.store(epoch, Ordering::Relaxed);
    }
    t.slots
        .get(id)
        .map(|cell| &**cell.get_or_init(|| Box::new(Slot::new())))
}

/// Counts an error reply written by this thread.
pub fn note_error() {
    LOCAL.with(|l| l.errors.set(l.errors.get() + 1));
}

/// Marks the start of a call: errors written from here on make it a failed call.
pub fn call_started() {
    LOCAL.with(|l| l.errors_seen.set(l.errors.get()));
}

/// Whether error replies were written since the mark, moving the mark (so an enclosing
/// EXEC does not count its inner commands' errors as its own).
fn errors_since_mark(l: &Local) -> bool {
    let now = l.errors.get();
    l.errors_seen.replace(now) < now
}

/// One latency sample: Redis records whole microseconds in nanoseconds, clamped to the
/// histogram's range.
#[inline]
fn add_sample(s: &Slot, micros: u64) {
    let ns = micros.saturating_mul(1000).clamp(MIN_VALUE, MAX_VALUE);
    let h = s.hist.get_or_init(|| {
        (0..COUNTS_LEN)
            .map(|_| AtomicU64::new(0))
            .collect::<Vec<_>>()
            .into_boxed_slice()
    });
    if let Some(c) = h.get(counts_index(ns)) {
        bump(c, 1);
        bump(&s.hist_total, 1);
    }
}

/// Records a finished call of command `id` that took `micros`.
pub fn record_call(id: usize, micros: u64) {
    let tracking = TRACKING.load(Ordering::Relaxed);
    LOCAL.with(|l| {
        let failed = errors_since_mark(l);
        let Some(s) = slot_of(&l.stats, id) else {
            return;
        };
        bump(&s.calls, 1);
        bump(&s.usec, micros);
        if failed {
            bump(&s.failed, 1);
        }
        if tracking {
            add_sample(s, micros);
        }
    });
}

/// Records the call of command `id` that blocked (Redis 7.0 counts it and its time now;
/// its latency sample waits for [`record_unblocked`]).
pub fn record_blocked_call(id: usize, micros: u64) {
    LOCAL.with(|l| {
        let failed = errors_since_mark(l);
        if let Some(s) = slot_of(&l.stats, id) {
            bump(&s.calls, 1);
            bump(&s.usec, micros);
            if failed {
                bump(&s.failed, 1);
            }
        }
    });
}

/// A blocked call of command `id` was served or timed out (updateStatsOnUnblock): Redis
/// adds its call time again, takes the latency sample, and counts an error reply as a failed
/// call; the number of calls stays.
pub fn record_unblocked(id: usize, micros: u64, failed: bool) {
    let tracking = TRACKING.load(Ordering::Relaxed);
    LOCAL.with(|l| {
        let Some(s) = slot_of(&l.stats, id) else {
            return;
        };
        bump(&s.usec, micros);
        if failed {
            bump(&s.failed, 1);
        }
        if tracking {
            add_sample(s, micros);
        }
    });
}

/// Records a call of command `id` refused before it ran.
pub fn record_rejected(id: usize) {
    LOCAL.with(|l| {
        errors_since_mark(l);
        if let Some(s) = slot_of(&l.stats, id) {
            bump(&s.rejected, 1);
        }
    });
}

/// Forgets every counter (CONFIG RESETSTAT).
pub fn reset() {
    EPOCH.fetch_add(1, Ordering::Relaxed);
}

/// Applies `latency-tracking` and `latency-tracking-info-percentiles`.
pub fn configure(tracking: bool, percentiles: Vec<f64>) {
    TRACKING.store(tracking, Ordering::Relaxed);
    *PERCENTILES.lock() = percentiles;
    PERCENTILES_SET.store(true, Ordering::Relaxed);
}

/// The summed counters of one command.
pub struct Totals {
    /// calls
    pub calls: u64,
    /// usec
    pub usec: u64,
    /// rejected_calls
    pub rejected: u64,
    /// failed_calls
    pub failed: u64,
    /// The latency histogram, if any call was tracked.
    pub hist: Option<Histogram>,
}

/// The counters of command `id` summed over the threads.
pub fn totals(id: usize) -> Totals {
    let epoch = EPOCH.load(Ordering::Relaxed);
    let mut t = Totals {
        calls: 0,
        usec: 0,
        rejected: 0,
        failed: 0,
        hist: None,
    };
    for th in THREADS.lock().iter() {
        if th.epoch.load(Ordering::Relaxed) != epoch {
            continue;
        }
        let Some(s) = th.slots.get(id).and_then(OnceLock::get) else {
            continue;
        };
        t.calls += s.calls.load(Ordering::Relaxed);
        t.usec += s.usec.load(Ordering::Relaxed);
        t.rejected += s.rejected.load(Ordering::Relaxed);
        t.failed += s.failed.load(Ordering::Relaxed);
        if let Some(h) = s.hist.get() {
            if s.hist_total.load(Ordering::Relaxed) > 0 {
                let sum = t.hist.get_or_insert_with(Histogram::empty);
                for (acc, c) in sum.counts.iter_mut().zip(h.iter()) {
                    let v = c.load(Ordering::Relaxed);
                    *acc += v;
                    sum.total += v;
                }
            }
        }
    }
    t
}

/// `%f` trimmed of trailing zeros (Redis's trimDoubleString), for percentile labels.
fn percentile_label(p: f64) -> String {
    let s = format!("{p:.6}");
    let s = s.trim_end_matches('0');
    s.trim_end_matches('.').to_string()
}

/// Appends the commandstats lines of `commands` (full names with their ids).
pub fn render_commandstats<'a>(o: &mut String, commands: impl Iterator<Item = (&'a str, usize)>) {
    for (name, id) in commands {
        let t = totals(id);
        if t.calls == 0 && t.failed == 0 && t.rejected == 0 {
            continue;
        }
        let per_call = if t.calls == 0 {
            0.0
        } else {
            t.usec as f64 / t.calls as f64
        };
        let _ = write!(
            o,
            "cmdstat_{name}:calls={},usec={},usec_per_call={per_call:.2},rejected_calls={},failed_calls={}\r\n",
            t.calls, t.usec, t.rejected, t.failed
        );
    }
}

/// Appends the latencystats lines of `commands`.
pub fn render_latencystats<'a>(o: &mut String, commands: impl Iterator<Item = (&'a str, usize)>) {
    let percentiles = if PERCENTILES_SET.load(Ordering::Relaxed) {
        PERCENTILES.lock().clone()
    } else {
        vec![50.0, 99.0, 99.9]
    };
    for (name, id) in commands {
        let Some(h) = totals(id).hist else {
            continue;
        };
        let _ = write!(o, "latency_percentiles_usec_{name}:");
        for (i, p) in percentiles.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            let v = h.value_at_percentile(*p) as f64 / 1000.0;
            let _ = write!(o, "p{}={v:.3}", percentile_label(*p));
        }
        o.push_str("\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist_of(values_us: &[u64]) -> Histogram {
        let mut h = Histogram::empty();
        for v in values_us {
            let ns = (v * 1000).clamp(MIN_VALUE, MAX_VALUE);
            h.counts[counts_index(ns)] += 1;
            h.total += 1;
        }
        h
    }

    #[test]
    fn percentiles_match_redis_figures() {
        // Figures printed by redis-server 7.0.15 for single calls of 1, 5, 26, 41 and 485 us.
        for (us, shown) in [
            (1, 1003),
            (5, 5023),
            (26, 26111),
            (41, 41215),
            (485, 485375),
            (52, 52223),
            (88, 88063),
        ] {
            assert_eq!(hist_of(&[us]).value_at_percentile(50.0), shown, "{us}us");
        }
        let h = hist_of(&[5, 107]);
        assert_eq!(h.value_at_percentile(50.0), 5023);
        assert_eq!(h.value_at_percentile(99.0), 107007);
        assert_eq!(hist_of(&[0]).value_at_percentile(50.0), 1);
    }

    #[test]
    fn log_buckets_match_redis_figures() {
        // LATENCY HISTOGRAM of redis-server 7.0.15: DEBUG SLEEP 0.05/0.02/0.03 gave
        // 33816 -> 2, 67633 -> 3; single 4us, 16us and 528us calls gave 4, 16 and 528.
        assert_eq!(
            hist_of(&[20_100, 30_100, 50_100]).log_buckets(),
            vec![(33816, 2), (67633, 3)]
        );
        assert_eq!(hist_of(&[4]).log_buckets(), vec![(4, 1)]);
        assert_eq!(hist_of(&[10]).log_buckets(), vec![(16, 1)]);
        assert_eq!(hist_of(&[500]).log_buckets(), vec![(528, 1)]);
        assert_eq!(hist_of(&[0]).log_buckets(), vec![(1, 1)]);
        assert_eq!(
            hist_of(&[1_000_000]).log_buckets().last().map(|b| b.1),
            Some(1)
        );
        assert!(hist_of(&[]).log_buckets().is_empty());
    }

    #[test]
    fn labels_trim_like_redis() {
        assert_eq!(percentile_label(50.0), "50");
        assert_eq!(percentile_label(99.9), "99.9");
        assert_eq!(percentile_label(0.0), "0");
    }
}
