//! Redis's LFU access counter (evict.c), kept in an entry's 24-bit access field when
//! `maxmemory-policy` is an LFU policy: the high 16 bits are the last decrement time in
//! minutes, the low 8 bits a logarithmic counter that `lfu-log-factor` slows down and that
//! loses one per `lfu-decay-time` minutes of idleness.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The counter of a new object (LFU_INIT_VAL).
pub const INIT_VAL: u32 = 5;

/// A keyspace's LFU settings, shared by its shards.
#[derive(Debug)]
pub struct Lfu {
    enabled: AtomicBool,
    log_factor: AtomicU64,
    decay_time: AtomicU64,
}

impl Default for Lfu {
    fn default() -> Self {
        Lfu {
            enabled: AtomicBool::new(false),
            log_factor: AtomicU64::new(10),
            decay_time: AtomicU64::new(1),
        }
    }
}

fn minutes(now_ms: u64) -> u32 {
    ((now_ms / 60_000) & 0xFFFF) as u32
}

/// The access field of a new object.
pub fn init(now_ms: u64) -> u32 {
    (minutes(now_ms) << 8) | INIT_VAL
}

impl Lfu {
    /// Applies `maxmemory-policy` (LFU or not), `lfu-log-factor` and `lfu-decay-time`.
    pub fn configure(&self, enabled: bool, log_factor: u64, decay_time: u64) {
        self.log_factor.store(log_factor, Ordering::Relaxed);
        self.decay_time.store(decay_time, Ordering::Relaxed);
        self.enabled.store(enabled, Ordering::Relaxed);
    }

    /// Whether access fields hold LFU counters.
    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// The counter after decay for the idle time (LFUDecrAndReturn); OBJECT FREQ shows it.
    pub fn decayed(&self, field: u32, now_ms: u64) -> u32 {
        decayed(field, now_ms, self.decay_time.load(Ordering::Relaxed))
    }

    /// The access field after one access (updateLFU).
    pub fn accessed(&self, field: u32, now_ms: u64) -> u32 {
        let counter = log_incr(
            decayed(field, now_ms, self.decay_time.load(Ordering::Relaxed)),
            self.log_factor.load(Ordering::Relaxed),
        );
        (minutes(now_ms) << 8) | counter
    }
}

fn elapsed_minutes(ldt: u32, now_ms: u64) -> u32 {
    let now = minutes(now_ms);
    if now >= ldt {
        now - ldt
    } else {
        65535 - ldt + now
    }
}

fn decayed(field: u32, now_ms: u64, decay: u64) -> u32 {
    let ldt = (field >> 8) & 0xFFFF;
    let counter = field & 0xFF;
    let periods = u64::from(elapsed_minutes(ldt, now_ms))
        .checked_div(decay)
        .unwrap_or(0);
    if periods == 0 {
        counter
    } else if periods > u64::from(counter) {
        0
    } else {
        counter - periods as u32
    }
}

/// Logarithmic increment: the higher the counter, the less likely (LFULogIncr).
fn log_incr(counter: u32, log_factor: u64) -> u32 {
    if counter >= 255 {
        return 255;
    }
    let base = counter.saturating_sub(INIT_VAL) as f64;
    let p = 1.0 / (base * log_factor as f64 + 1.0);
    if fastrand::f64() < p {
        counter + 1
    } else {
        counter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_starts_at_five_and_the_first_access_always_counts() {
        let lfu = Lfu::default();
        let now = 1_795_716_608_000;
        let f = init(now);
        assert_eq!(lfu.decayed(f, now), 5);
        assert_eq!(lfu.decayed(lfu.accessed(f, now), now), 6);
        // One minute of idleness per decay period costs one.
        assert_eq!(lfu.decayed(f, now + 3 * 60_000), 2);
        assert_eq!(lfu.decayed(f, now + 60 * 60_000), 0);
        lfu.configure(true, 10, 0);
        assert_eq!(lfu.decayed(f, now + 60 * 60_000), 5);
    }
}
