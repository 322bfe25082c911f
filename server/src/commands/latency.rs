//! The latency monitor (latency.c): events slower than `latency-monitor-threshold`
//! milliseconds kept as per-second samples, and the LATENCY command (LATEST, HISTORY,
//! RESET, GRAPH, DOCTOR, HISTOGRAM).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;

use super::keys::reply_help;
use super::{cmdstats, help_data, CmdError, CmdResult, Ctx, Handler};

/// Samples kept per event (LATENCY_TS_LEN).
const SAMPLES: usize = 160;
/// Width of LATENCY GRAPH.
const GRAPH_COLS: usize = 80;

pub(super) fn handler(name: &str) -> Option<Handler> {
    Some(match name {
        "latency|latest" => latest,
        "latency|history" => history,
        "latency|reset" => reset,
        "latency|graph" => graph,
        "latency|doctor" => doctor,
        "latency|histogram" => histogram,
        "latency|help" => |ctx, args| reply_help(ctx, args, help_data::LATENCY),
        _ => return None,
    })
}

#[derive(Clone, Copy, Default)]
struct Sample {
    time: u64,
    latency: u64,
}

struct Series {
    name: String,
    idx: usize,
    max: u64,
    samples: [Sample; SAMPLES],
}

impl Series {
    /// Samples oldest first.
    fn in_order(&self) -> impl Iterator<Item = Sample> + '_ {
        (0..SAMPLES)
            .filter_map(move |j| self.samples.get((self.idx + j) % SAMPLES))
            .copied()
            .filter(|s| s.time != 0)
    }

    fn last(&self) -> Sample {
        self.samples
            .get((self.idx + SAMPLES - 1) % SAMPLES)
            .copied()
            .unwrap_or_default()
    }
}

/// Latency events of this node.
pub struct LatencyMonitor {
    threshold_ms: AtomicU64,
    events: Mutex<Vec<Series>>,
}

impl Default for LatencyMonitor {
    fn default() -> Self {
        LatencyMonitor {
            threshold_ms: AtomicU64::new(0),
            events: Mutex::new(Vec::new()),
        }
    }
}

fn unix_secs() -> u64 {
    crate::keyspace::now_ms() / 1000
}

impl LatencyMonitor {
    /// Sets `latency-monitor-threshold` (0 turns monitoring off).
    pub fn set_threshold(&self, ms: u64) {
        self.threshold_ms.store(ms, Ordering::Relaxed);
    }

    /// `latency-monitor-threshold`.
    pub fn threshold(&self) -> u64 {
        self.threshold_ms.load(Ordering::Relaxed)
    }

    /// Records `took` under `event` if monitoring is on and it reached the threshold
    /// (latencyAddSampleIfNeeded).
    #[inline]
    pub fn add_if_needed(&self, event: &str, took: Duration) {
        let threshold = self.threshold();
        if threshold == 0 {
            return;
        }
        let ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
        if ms >= threshold {
            self.add(event, ms);
        }
    }

    /// A command finished: a `fast-command` or `command` event if it was slow.
    #[inline]
    pub fn command_ran(&self, fast: bool, took: Duration) {
        self.add_if_needed(if fast { "fast-command" } else { "command" }, took);
    }

    fn add(&self, event: &str, ms: u64) {
        let now = unix_secs();
        let mut events = self.events.lock();
        let pos = match events.iter().position(|s| s.name == event) {
            Some(p) => p,
            None => {
                events.push(Series {
                    name: event.to_string(),
                    idx: 0,
                    max: 0,
                    samples: [Sample::default(); SAMPLES],
                });
                events.len() - 1
            }
        };
        let Some(ts) = events.get_mut(pos) else {
            return;
        };
        ts.max = ts.max.max(ms);
        let prev = (ts.idx + SAMPLES - 1) % SAMPLES;
        if let Some(p) = ts.samples.get_mut(prev) {
            if p.time == now {
                p.latency = p.latency.max(ms);
                return;
            }
        }
        if let Some(s) = ts.samples.get_mut(ts.idx) {
            *s = Sample {
                time: now,
                latency: ms,
            };
        }
        ts.idx = (ts.idx + 1) % SAMPLES;
    }

    /// Drops the events named (case-insensitively) or all of them; returns how many.
    fn reset(&self, event: Option<&[u8]>) -> usize {
        let mut events = self.events.lock();
        let before = events.len();
        events.retain(|s| event.is_some_and(|e| !s.name.as_bytes().eq_ignore_ascii_case(e)));
        before - events.len()
    }
}

fn latest(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CmdResult {
    let events = ctx.node.latency.events.lock();
    ctx.out.array_len(events.len());
    for ts in events.iter() {
        let last = ts.last();
        ctx.out.array_len(4);
        ctx.out.bulk(ts.name.as_bytes());
        ctx.out.integer(last.time as i64);
        ctx.out.integer(last.latency as i64);
        ctx.out.integer(ts.max as i64);
    }
    Ok(())
}

fn history(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let events = ctx.node.latency.events.lock();
    let samples: Vec<Sample> = events
        .iter()
        .find(|s| s.name.as_bytes() == &args[2][..])
        .map(|ts| ts.in_order().collect())
        .unwrap_or_default();
    drop(events);
    ctx.out.array_len(samples.len());
    for s in samples {
        ctx.out.array_len(2);
        ctx.out.integer(s.time as i64);
        ctx.out.integer(s.latency as i64);
    }
    Ok(())
}

fn reset(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let n = if args.len() == 2 {
        ctx.node.latency.reset(None)
    } else {
        args[2..]
            .iter()
            .map(|e| ctx.node.latency.reset(Some(e)))
            .sum()
    };
    ctx.out.integer(n as i64);
    Ok(())
}

fn age_label(elapsed: i64) -> String {
    if elapsed < 60 {
        format!("{elapsed}s")
    } else if elapsed < 3600 {
        format!("{}m", elapsed / 60)
    } else if elapsed < 86400 {
        format!("{}h", elapsed / 3600)
    } else {
        format!("{}d", elapsed / 86400)
    }
}

/// Redis's sparkline renderer (sparkline.c) with the fill charset, `rows` rows high,
/// labels written vertically below the graph.
fn sparkline(out: &mut String, samples: &[(f64, String)], columns: usize, rows: usize) {
    const FILL: &[u8] = b"_o#";
    let (mut min, mut max) = (0.0f64, 0.0f64);
    for (i, (v, _)) in samples.iter().enumerate() {
        if i == 0 {
            (min, max) = (*v, *v);
        } else if *v < min {
            min = *v;
        } else if *v > max {
            max = *v;
        }
    }
    let labels = samples.iter().any(|(_, l)| !l.is_empty());
    let mut relmax = max - min;
    if relmax == 0.0 {
        relmax = 1.0;
    }
    let steps = (FILL.len() * rows) as i64;
    for (n, part) in samples.chunks(columns.max(1)).enumerate() {
        if n != 0 {
            out.push('\n');
        }
        let mut row = 0usize;
        loop {
            let mut emit = false;
            let mut chars = vec![b' '; part.len()];
            for (j, (v, label)) in part.iter().enumerate() {
                let step = (((v - min) * steps as f64) / relmax) as i64;
                let step = step.clamp(0, steps - 1);
                if row < rows {
                    emit = true;
                    let charidx = step - ((rows - row - 1) * FILL.len()) as i64;
                    if charidx >= 0 && (charidx as usize) < FILL.len() {
                        chars[j] = FILL[charidx as usize];
                    } else if charidx >= FILL.len() as i64 {
                        chars[j] = b'|';
                    }
                } else {
                    // One blank row between the graph and the labels.
                    if labels && row - rows < 1 {
                        emit = true;
                        break;
                    }
                    let label_char = row - rows - 1;
                    if let Some(c) = label.as_bytes().get(label_char) {
                        emit = true;
                        chars[j] = *c;
                    }
                }
            }
            if !emit {
                break;
            }
            row += 1;
            out.push_str(&String::from_utf8_lossy(&chars));
            out.push('\n');
        }
    }
}

fn graph(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let events = ctx.node.latency.events.lock();
    let Some(ts) = events.iter().find(|s| s.name.as_bytes() == &args[2][..]) else {
        return Err(CmdError::msg(format!(
            "ERR No samples available for event '{}'",
            String::from_utf8_lossy(&args[2])
        )));
    };
    let now = unix_secs() as i64;
    let samples: Vec<(f64, String)> = ts
        .in_order()
        .map(|s| (s.latency as f64, age_label(now - s.time as i64)))
        .collect();
    let low = ts.in_order().map(|s| s.latency).min().unwrap_or(0);
    let high = ts.in_order().map(|s| s.latency).max().unwrap_or(0);
    let mut text = format!(
        "{} - high {high} ms, low {low} ms (all time high {} ms)\n",
        ts.name, ts.max
    );
    drop(events);
    text.push_str(&"-".repeat(GRAPH_COLS));
    text.push('\n');
    sparkline(&mut text, &samples, GRAPH_COLS, 4);
    ctx.out.verbatim(b"txt", text.as_bytes());
    Ok(())
}

/// What analyzeLatencyForEvent reports.
struct EventStats {
    samples: u64,
    avg: u64,
    mad: u64,
    period: u64,
}

fn analyze(ts: &Series, now: u64) -> EventStats {
    let live: Vec<Sample> = ts.samples.iter().copied().filter(|s| s.time != 0).collect();
    let n = live.len() as u64;
    let mut st = EventStats {
        samples: n,
        avg: 0,
        mad: 0,
        period: 0,
    };
    if n == 0 {
        return st;
    }
    let sum: u64 = live.iter().map(|s| s.latency).sum();
    st.avg = sum / n;
    let oldest = live.iter().map(|s| s.time).min().unwrap_or(now);
    st.period = now.saturating_sub(oldest).max(1);
    let dev: u64 = live.iter().map(|s| st.avg.abs_diff(s.latency)).sum();
    st.mad = dev / n;
    st
}

/// Whether this process has anonymous huge pages (Redis advises disabling THP then).
fn anon_huge_pages() -> bool {
    let Ok(text) = std::fs::read_to_string("/proc/self/smaps_rollup") else {
        return false;
    };
    text.lines()
        .filter_map(|l| l.strip_prefix("AnonHugePages:"))
        .any(|v| v.split_whitespace().next().is_some_and(|n| n != "0"))
}

fn config_i64(ctx: &Ctx<'_, '_>, name: &str) -> i64 {
    ctx.node
        .config
        .get_text(name)
        .and_then(|v| String::from_utf8_lossy(&v).parse().ok())
        .unwrap_or(0)
}

#[derive(Default)]
struct Advice {
    slowlog_enabled: bool,
    slowlog_tuning: bool,
    slowlog_inspect: bool,
    scheduler: bool,
    hz: bool,
    large_objects: bool,
    disable_thp: bool,
    count: u32,
}

fn doctor(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CmdResult {
    let threshold = ctx.node.latency.threshold();
    let now = unix_secs();
    let mut report = String::new();
    let events = ctx.node.latency.events.lock();
    if events.is_empty() && threshold == 0 {
        report.push_str("I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n");
        drop(events);
        ctx.out.verbatim(b"txt", report.as_bytes());
        return Ok(());
    }
    let slower_than = config_i64(ctx, "slowlog-log-slower-than");
    let mut adv = Advice::default();
    for (i, ts) in events.iter().enumerate() {
        if i == 0 {
            report.push_str("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
        }
        let st = analyze(ts, now);
        let _ = write!(
            report,
            "{}. {}: {} latency spikes (average {}ms, mean deviation {}ms, period {:.2} sec). Worst all time event {}ms.",
            i + 1,
            ts.name,
            st.samples,
            st.avg,
            st.mad,
            st.period as f64 / st.samples.max(1) as f64,
            ts.max
        );
        let name = ts.name.to_ascii_lowercase();
        if name == "command" {
            if slower_than < 0 {
                adv.slowlog_enabled = true;
                adv.count += 1;
            } else if (slower_than / 1000) as u64 > threshold {
                adv.slowlog_tuning = true;
                adv.count += 1;
            }
            adv.slowlog_inspect = true;
            adv.large_objects = true;
            adv.count += 2;
        }
        if name == "fast-command" {
            adv.scheduler = true;
            adv.count += 1;
        }
        if name == "expire-cycle" {
            adv.hz = true;
            adv.large_objects = true;
            adv.count += 2;
        }
        report.push('\n');
    }
    let eventnum = events.len();
    drop(events);
    if anon_huge_pages() {
        adv.disable_thp = true;
        adv.count += 1;
    }
    if eventnum == 0 && adv.count == 0 {
        report.push_str("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n");
    } else if eventnum > 0 && adv.count == 0 {
        report.push_str("\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n");
    } else {
        report.push_str("\nI have a few advices for you:\n\n");
        if adv.slowlog_enabled {
            let _ = writeln!(report, "- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than {}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.", threshold.saturating_mul(1000));
        }
        if adv.slowlog_tuning {
            let _ = writeln!(report, "- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than {}'.", threshold.saturating_mul(1000));
        }
        if adv.slowlog_inspect {
            report.push_str("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n");
        }
        if adv.scheduler {
            report.push_str("- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n  1) Lower the system load.\n  2) Use a computer / VM just for Redis if you are running other software in the same system.\n  3) Check if you have a \"noisy neighbour\" problem.\n  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n");
        }
        if adv.hz && config_i64(ctx, "hz") < 100 {
            report.push_str("- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n");
        }
        if adv.large_objects {
            report.push_str("- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n");
        }
        if adv.disable_thp {
            report.push_str("- I detected a non zero amount of anonymous huge pages used by your process. This creates very serious latency events in different conditions, especially when Redis is persisting on disk. To disable THP support use the command 'echo never > /sys/kernel/mm/transparent_hugepage/enabled', make sure to also add it into /etc/rc.local so that the command will be executed again after a reboot. Note that even if you have already disabled THP, you still need to restart the Redis process to get rid of the huge pages already created.\n");
        }
    }
    ctx.out.verbatim(b"txt", report.as_bytes());
    Ok(())
}

fn histogram(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let table = &ctx.node.commands;
    let mut chosen: Vec<(&'static str, cmdstats::Histogram)> = Vec::new();
    let mut push = |name: &'static str, id: usize| {
        if chosen.iter().any(|(n, _)| *n == name) {
            return;
        }
        if let Some(h) = cmdstats::totals(id).hist {
            chosen.push((name, h));
        }
    };
    if args.len() == 2 {
        for (name, id) in table.with_ids() {
            push(name, id);
        }
    } else {
        for a in &args[2..] {
            let Some(cmd) = table.by_full_name(a) else {
                continue;
            };
            if cmd.subcommands.is_empty() {
                push(cmd.name, cmd.id);
            } else {
                // A container stands for all of its subcommands.
                let mut subs: Vec<_> = cmd.subcommands.values().collect();
                subs.sort_by_key(|s| s.name);
                for s in subs {
                    push(s.name, s.id);
                }
            }
        }
    }
    ctx.out.map_len(chosen.len());
    for (name, h) in chosen {
        ctx.out.bulk(name.as_bytes());
        ctx.out.map_len(2);
        ctx.out.bulk(b"calls");
        ctx.out.integer(h.total() as i64);
        ctx.out.bulk(b"histogram_usec");
        let buckets = h.log_buckets();
        ctx.out.map_len(buckets.len());
        for (us, count) in buckets {
            ctx.out.integer(us as i64);
            ctx.out.integer(count as i64);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_matches_redis_layout() {
        // redis-server 7.0.15 for samples 50 then 30 ms, 1 s and 0 s old.
        let mut out = String::new();
        sparkline(
            &mut out,
            &[(50.0, "1s".into()), (30.0, "0s".into())],
            GRAPH_COLS,
            4,
        );
        assert_eq!(out, "# \n| \n| \n|_\n  \n10\nss\n");
    }

    #[test]
    fn reset_counts_matching_events() {
        let m = LatencyMonitor::default();
        m.set_threshold(1);
        m.add_if_needed("command", Duration::from_millis(5));
        m.add_if_needed("fast-command", Duration::from_millis(5));
        m.add_if_needed("command", Duration::from_micros(500));
        assert_eq!(m.reset(Some(b"COMMAND")), 1);
        assert_eq!(m.reset(Some(b"nope")), 0);
        assert_eq!(m.reset(None), 1);
    }
}
