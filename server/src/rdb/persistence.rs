//! The persistence state of a node: SAVE, BGSAVE (and BGSAVE SCHEDULE), LASTSAVE, the
//! `save` schedule, the final save of SHUTDOWN and the INFO persistence section.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::snapshot::{self, Plan};
use super::{LoadStats, RdbError};
use crate::keyspace::now_ms;
use crate::node::Node;

/// After a failed background save the schedule waits this long before trying again
/// (CONFIG_BGSAVE_RETRY_DELAY).
const RETRY_DELAY_SECS: u64 = 5;

/// Why BGSAVE did not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BgsaveRefused {
    /// One is already running.
    InProgress,
    /// The node is not attached (no `Arc<Node>` to hand to the thread).
    Detached,
}

/// Persistence state, one per node.
#[derive(Default)]
pub struct Persistence {
    me: OnceLock<Weak<Node>>,
    bgsave_running: AtomicBool,
    bgsave_scheduled: AtomicBool,
    bgsave_started: Mutex<Option<Instant>>,
    last_bgsave_failed: AtomicBool,
    last_bgsave_secs: AtomicI64,
    last_try_secs: AtomicU64,
    saves: AtomicU64,
    load_keys_loaded: AtomicU64,
    load_keys_expired: AtomicU64,
    temp_counter: AtomicU64,
    /// Set once a shutdown went through its final save (or had none to make): the exit
    /// that follows makes no other. A failed one leaves it unset, so a signal tries again.
    final_save_decided: AtomicBool,
    /// Foreground saves write `temp-<pid>.rdb` as Redis's rdbSave does, one at a time.
    foreground: Mutex<()>,
}

impl Persistence {
    /// A fresh state (no save yet).
    pub fn new() -> Persistence {
        let p = Persistence::default();
        p.last_bgsave_secs.store(-1, Ordering::Relaxed);
        p
    }

    /// Lets background saves reach the node and starts the save schedule (call once the
    /// node is in its `Arc`).
    pub fn attach(&self, node: &Arc<Node>) {
        if self.me.set(Arc::downgrade(node)).is_ok() {
            spawn_cron(node);
        }
    }

    /// Records a load's counts (INFO rdb_last_load_keys_*).
    pub fn loaded(&self, stats: &LoadStats) {
        self.load_keys_loaded
            .store(stats.keys_loaded, Ordering::Relaxed);
        self.load_keys_expired
            .store(stats.keys_expired, Ordering::Relaxed);
    }

    /// Whether a background save is running.
    pub fn bgsave_in_progress(&self) -> bool {
        self.bgsave_running.load(Ordering::Acquire)
    }

    /// SAVE (and SHUTDOWN's final save): a snapshot written on this thread to
    /// `dir/dbfilename`. `world_held` when the caller holds the world lock exclusively.
    pub fn save(&self, node: &Node, world_held: bool) -> Result<(), RdbError> {
        let dirty_before = node.stats.dirty.load(Ordering::Relaxed);
        let plan = snapshot::begin(node, world_held, || None);
        // Taken after the snapshot's instant: a caller holding the world lock may wait here
        // for another save's writing, which needs no world lock.
        let _one = self.foreground.lock();
        let tmp = format!("temp-{}.rdb", std::process::id());
        let result = self.write_file(node, plan, &tmp);
        if result.is_ok() {
            tracing::info!("DB saved on disk");
            self.saved(node, dirty_before);
        }
        result
    }

    fn saved(&self, node: &Node, dirty_before: u64) {
        let _ = node
            .stats
            .dirty
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |d| {
                Some(d.saturating_sub(dirty_before))
            });
        node.lastsave.store(now_ms() / 1000, Ordering::Relaxed);
        self.saves.fetch_add(1, Ordering::Relaxed);
    }

    /// Writes `plan` to `dir/tmp`, then renames it to `dir/dbfilename`; failures are
    /// logged as rdbSave logs them.
    fn write_file(&self, node: &Node, plan: Plan, tmp: &str) -> Result<(), RdbError> {
        let cfg = node.config.current();
        let tmp = cfg.dir.join(tmp);
        let result = write_to(node, plan, &tmp, &cfg.dir, &cfg.dbfilename);
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    /// BGSAVE: starts a background save unless one is running. `world_held` when the caller
    /// holds the world lock exclusively (BGSAVE inside EXEC).
    pub fn bgsave(&self, node: &Node, world_held: bool) -> Result<(), BgsaveRefused> {
        let me = self
            .me
            .get()
            .and_then(Weak::upgrade)
            .ok_or(BgsaveRefused::Detached)?;
        if self
            .bgsave_running
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(BgsaveRefused::InProgress);
        }
        self.bgsave_scheduled.store(false, Ordering::Relaxed);
        self.last_try_secs.store(now_ms() / 1000, Ordering::Relaxed);
        let dirty_before = node.stats.dirty.load(Ordering::Relaxed);
        let plan = snapshot::begin(node, world_held, || None);
        *self.bgsave_started.lock() = Some(Instant::now());
        tracing::info!("Background saving started by pid {}", std::process::id());
        let spawned = std::thread::Builder::new()
            .name("bgsave".into())
            .spawn(move || {
                let p = &me.persistence;
                // Redis's child names the file after its own pid; a thread has none.
                let n = p.temp_counter.fetch_add(1, Ordering::Relaxed);
                let result =
                    p.write_file(&me, plan, &format!("temp-{}-{n}.rdb", std::process::id()));
                let secs = p
                    .bgsave_started
                    .lock()
                    .take()
                    .map_or(0, |t| t.elapsed().as_secs() as i64);
                p.last_bgsave_secs.store(secs, Ordering::Relaxed);
                match result {
                    Ok(()) => {
                        tracing::info!("DB saved on disk");
                        p.saved(&me, dirty_before);
                        p.last_bgsave_failed.store(false, Ordering::Relaxed);
                        tracing::info!("Background saving terminated with success");
                    }
                    Err(_) => {
                        p.last_bgsave_failed.store(true, Ordering::Relaxed);
                        tracing::warn!("Background saving error");
                    }
                }
                p.bgsave_running.store(false, Ordering::Release);
            });
        if spawned.is_err() {
            self.bgsave_running.store(false, Ordering::Release);
            self.last_bgsave_failed.store(true, Ordering::Relaxed);
        }
        Ok(())
    }

    /// BGSAVE SCHEDULE while a save runs: start one as soon as it ends.
    pub fn schedule_bgsave(&self) {
        self.bgsave_scheduled.store(true, Ordering::Relaxed);
    }

    /// One tick of the schedule (serverCron's part): a scheduled BGSAVE, or a save point
    /// whose seconds have passed with enough changes.
    pub fn cron(&self, node: &Node) {
        if self.bgsave_in_progress() {
            return;
        }
        if self.bgsave_scheduled.load(Ordering::Relaxed) {
            let _ = self.bgsave(node, false);
            return;
        }
        let cfg = node.config.current();
        let now = now_ms() / 1000;
        let dirty = node.stats.dirty.load(Ordering::Relaxed);
        let lastsave = node.lastsave.load(Ordering::Relaxed);
        let may_retry = !self.last_bgsave_failed.load(Ordering::Relaxed)
            || now.saturating_sub(self.last_try_secs.load(Ordering::Relaxed)) > RETRY_DELAY_SECS;
        for &(secs, changes) in &cfg.save {
            if dirty >= changes.max(0) as u64
                && now.saturating_sub(lastsave) as i64 > secs
                && may_retry
            {
                tracing::info!("{changes} changes in {secs} seconds. Saving...");
                let _ = self.bgsave(node, false);
                return;
            }
        }
    }

    /// SHUTDOWN's save decision: save when asked to, or when save points exist and NOSAVE
    /// was not given. Errors are logged as Redis logs them.
    pub fn shutdown_save(&self, node: &Node, save: bool, nosave: bool) -> Result<(), RdbError> {
        // prepareForShutdown's first line, before the final save (SHUTDOWN or a signal).
        tracing::warn!("User requested shutdown...");
        let configured = !node.config.current().save.is_empty();
        if !nosave && (save || configured) {
            tracing::info!("Saving the final RDB snapshot before exiting.");
            if let Err(e) = self.save(node, false) {
                tracing::warn!("Error trying to save the DB, can't exit.");
                tracing::warn!(
                    "Errors trying to shut down the server. Check the logs for more information."
                );
                return Err(e);
            }
        }
        self.final_save_decided.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// The exit path after SIGTERM/SIGINT: the final save SHUTDOWN would have made, unless
    /// a SHUTDOWN command already decided it. An error means the server must keep running.
    pub fn exit_save(&self, node: &Node) -> Result<(), RdbError> {
        if self.final_save_decided.load(Ordering::Relaxed) {
            return Ok(());
        }
        self.shutdown_save(node, false, false)
    }

    /// The `# Persistence` section of INFO, with the fields redis-server 7.0.15 prints.
    pub fn info(&self, node: &Node) -> String {
        let running = self.bgsave_in_progress();
        let current = if running {
            self.bgsave_started
                .lock()
                .map_or(-1, |t| t.elapsed().as_secs() as i64)
        } else {
            -1
        };
        format!(
            "# Persistence\r\nloading:0\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\ncurrent_save_keys_processed:0\r\ncurrent_save_keys_total:0\r\nrdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:{}\r\nrdb_last_bgsave_time_sec:{}\r\nrdb_current_bgsave_time_sec:{}\r\nrdb_saves:{}\r\nrdb_last_cow_size:0\r\nrdb_last_load_keys_expired:{}\r\nrdb_last_load_keys_loaded:{}\r\naof_enabled:0\r\naof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\naof_last_rewrite_time_sec:-1\r\naof_current_rewrite_time_sec:-1\r\naof_last_bgrewrite_status:ok\r\naof_rewrites:0\r\naof_rewrites_consecutive_failures:0\r\naof_last_write_status:ok\r\naof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
            node.stats.dirty.load(Ordering::Relaxed),
            u8::from(running),
            node.lastsave.load(Ordering::Relaxed),
            if self.last_bgsave_failed.load(Ordering::Relaxed) {
                "err"
            } else {
                "ok"
            },
            self.last_bgsave_secs.load(Ordering::Relaxed),
            current,
            self.saves.load(Ordering::Relaxed),
            self.load_keys_expired.load(Ordering::Relaxed),
            self.load_keys_loaded.load(Ordering::Relaxed),
        )
    }
}

/// Writes `plan` to `tmp`, syncs it and renames it over `dest`.
fn write_to(
    node: &Node,
    plan: Plan,
    tmp: &Path,
    dir: &Path,
    dbfilename: &str,
) -> Result<(), RdbError> {
    let name = tmp
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let file = File::create(tmp).inspect_err(|e| {
        tracing::warn!(
            "Failed opening the temp RDB file {name} (in server root dir {}) for saving: {}",
            dir.display(),
            strerror(e)
        );
    })?;
    let written = (|| -> Result<(), RdbError> {
        let mut w = BufWriter::with_capacity(1 << 20, file);
        snapshot::write(node, plan, &mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(())
    })();
    if let Err(e) = written {
        let text = match &e {
            RdbError::Io(io) => strerror(io),
            other => other.to_string(),
        };
        tracing::warn!("Write error saving DB on disk: {text}");
        return Err(e);
    }
    std::fs::rename(tmp, dir.join(dbfilename)).inspect_err(|e| {
        tracing::warn!(
            "Error moving temp DB file {name} on the final destination {dbfilename} (in server root dir {}): {}",
            dir.display(),
            strerror(e)
        );
    })?;
    Ok(())
}

/// An I/O error as C's strerror words it (Rust's text adds " (os error N)").
fn strerror(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(at) if e.raw_os_error().is_some() => text[..at].to_owned(),
        _ => text,
    }
}

/// Runs the save schedule every 100 ms until the node is dropped.
fn spawn_cron(node: &Arc<Node>) {
    let weak = Arc::downgrade(node);
    let _ = std::thread::Builder::new()
        .name("rdb-cron".into())
        .spawn(move || loop {
            std::thread::sleep(Duration::from_millis(100));
            match weak.upgrade() {
                Some(node) => node.persistence.cron(&node),
                None => return,
            }
        });
}
