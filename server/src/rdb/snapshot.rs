//! Point-in-time snapshots without stopping clients.
//!
//! Redis forks and lets the kernel copy pages on write. Here the copy is per lock shard:
//!
//! 1. [`begin`] takes the keyspace's world lock exclusively (no command is running, none can
//!    start), calls the caller's `on_start` (replication records its offset there, so the
//!    RDB is exactly the state at that offset), notes each database's key counts, and
//!    registers a *capture* on every shard of every non-empty database. Then it lets go:
//!    clients are stopped only for this bookkeeping.
//! 2. A capture serialises its shard's entries into a buffer. It runs the first time anyone
//!    locks the shard afterwards (see `keyspace::ShardLock::lock`): a writer about to change
//!    a shard not yet written out first captures it as it was at the instant, and the
//!    snapshot writer itself triggers the capture of every shard it reaches. A client waits
//!    at most for one shard's serialisation.
//! 3. [`write()`] emits header, databases and checksum to the sink in shard order, taking
//!    each shard's buffer as it goes.
//!
//! Every command runs under a shared hold of the world lock, so step 1 is a clean cut.
//! Callers must not hold that shared lock themselves when calling [`begin`] (it would wait
//! for itself): SAVE, BGSAVE and SHUTDOWN are dispatched without it, and code running inside
//! EXEC (which already holds the world exclusively) passes `world_held = true`.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use super::encode::{self, WriteOpts};
use super::{crc64, opcode, RdbError, RDB_VERSION};
use crate::keyspace::{now_ms, ShardCapture, SHARDS};
use crate::node::Node;

/// Replication fields written as AUX (`repl-stream-db`, `repl-id`, `repl-offset`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplAux {
    /// The master replication id.
    pub repl_id: String,
    /// The replication offset the snapshot corresponds to.
    pub repl_offset: i64,
    /// The database the replication stream has selected.
    pub repl_stream_db: i64,
}

/// What a finished snapshot wrote.
#[derive(Debug, Default, Clone, Copy)]
pub struct SnapshotStats {
    /// Keys written.
    pub keys: u64,
    /// Bytes written (header to checksum).
    pub bytes: u64,
}

struct Shared {
    aborted: AtomicBool,
    keys: AtomicU64,
    buffers: Vec<Mutex<Option<Vec<u8>>>>,
}

/// A registered snapshot, to be written by [`write()`].
pub struct Plan {
    header: Vec<u8>,
    /// (database index, keys, keys with a TTL) of every database written.
    dbs: Vec<(usize, u64, u64)>,
    shared: Arc<Shared>,
    checksum: bool,
}

impl Drop for Plan {
    fn drop(&mut self) {
        // Captures not yet run turn into no-ops; buffers already made are freed.
        self.shared.aborted.store(true, Ordering::Release);
        for b in &self.shared.buffers {
            b.lock().take();
        }
    }
}

/// Whether a yes/no directive is on (missing counts as its default `yes`).
fn flag(node: &Node, name: &str) -> bool {
    node.config
        .get_text(name)
        .is_none_or(|v| v.eq_ignore_ascii_case(b"yes"))
}

fn header(repl: Option<&ReplAux>, opts: WriteOpts) -> Vec<u8> {
    let mut h = Vec::with_capacity(256);
    h.extend_from_slice(b"REDIS");
    h.extend_from_slice(format!("{RDB_VERSION:04}").as_bytes());
    encode::write_aux(&mut h, "redis-ver", crate::VERSION.as_bytes(), opts);
    encode::write_aux_int(&mut h, "redis-bits", 64, opts);
    encode::write_aux_int(&mut h, "ctime", (now_ms() / 1000) as i64, opts);
    encode::write_aux_int(&mut h, "used-mem", crate::info::rss_bytes() as i64, opts);
    if let Some(r) = repl {
        encode::write_aux_int(&mut h, "repl-stream-db", r.repl_stream_db, opts);
        encode::write_aux(&mut h, "repl-id", r.repl_id.as_bytes(), opts);
        encode::write_aux_int(&mut h, "repl-offset", r.repl_offset, opts);
    }
    encode::write_aux_int(&mut h, "aof-base", 0, opts);
    h
}

/// Step 1: the instant of the snapshot. Takes the world lock exclusively unless
/// `world_held` (the caller already holds it), runs `on_start` inside it and registers the
/// captures.
pub fn begin(node: &Node, world_held: bool, on_start: impl FnOnce() -> Option<ReplAux>) -> Plan {
    let opts = WriteOpts {
        compress: flag(node, "rdbcompression"),
    };
    let checksum = flag(node, "rdbchecksum");
    let _world = (!world_held).then(|| node.keyspace.world.write());
    let repl = on_start();
    let mut dbs = Vec::new();
    for (i, db) in node.keyspace.dbs().iter().enumerate() {
        if !db.is_initialized() {
            continue;
        }
        let keys = db.len() as u64;
        if keys > 0 {
            dbs.push((i, keys, db.volatile() as u64));
        }
    }
    let shared = Arc::new(Shared {
        aborted: AtomicBool::new(false),
        keys: AtomicU64::new(0),
        buffers: (0..dbs.len() * SHARDS).map(|_| Mutex::new(None)).collect(),
    });
    for (pos, &(i, _, _)) in dbs.iter().enumerate() {
        for (j, shard) in node.db(i).shards().iter().enumerate() {
            let shared = Arc::clone(&shared);
            let capture: ShardCapture = Box::new(move |s| {
                if shared.aborted.load(Ordering::Acquire) {
                    return;
                }
                let mut buf = Vec::new();
                let mut n = 0u64;
                for (_, table) in s.slot_tables(j) {
                    for e in table.iter() {
                        encode::write_entry(&mut buf, e, opts);
                        n += 1;
                    }
                }
                shared.keys.fetch_add(n, Ordering::Relaxed);
                if let Some(slot) = shared.buffers.get(pos * SHARDS + j) {
                    *slot.lock() = Some(buf);
                }
            });
            shard.add_capture(capture);
        }
    }
    Plan {
        header: header(repl.as_ref(), opts),
        dbs,
        shared,
        checksum,
    }
}

/// Steps 2 and 3: writes the registered snapshot to `sink`. Clients keep running.
pub fn write(node: &Node, plan: Plan, sink: &mut impl Write) -> Result<SnapshotStats, RdbError> {
    let mut crc = 0u64;
    let mut bytes = 0u64;
    let mut emit = |sink: &mut dyn Write, b: &[u8]| -> Result<(), RdbError> {
        if plan.checksum {
            crc = crc64::crc64(crc, b);
        }
        bytes += b.len() as u64;
        sink.write_all(b)?;
        Ok(())
    };
    emit(sink, &plan.header)?;
    for (pos, &(i, keys, expires)) in plan.dbs.iter().enumerate() {
        let mut h = Vec::new();
        encode::write_db_header(&mut h, i, keys, expires);
        emit(sink, &h)?;
        for (j, shard) in node.db(i).shards().iter().enumerate() {
            // Locking runs the capture if no writer has yet.
            drop(shard.lock());
            let buf = plan
                .shared
                .buffers
                .get(pos * SHARDS + j)
                .and_then(|b| b.lock().take())
                .unwrap_or_default();
            emit(sink, &buf)?;
        }
    }
    emit(sink, &[opcode::EOF])?;
    let tail = crc.to_le_bytes();
    bytes += 8;
    sink.write_all(&tail)?;
    sink.flush()?;
    Ok(SnapshotStats {
        keys: plan.shared.keys.load(Ordering::Relaxed),
        bytes,
    })
}

/// A whole snapshot into memory, e.g. for a replica's full sync: `on_start` runs at the
/// snapshot's instant (record the replication offset there and return the AUX fields).
/// The caller must not hold the world lock (see the module doc).
pub fn to_vec(
    node: &Node,
    on_start: impl FnOnce() -> Option<ReplAux>,
) -> Result<(Vec<u8>, SnapshotStats), RdbError> {
    let plan = begin(node, false, on_start);
    let mut out = Vec::new();
    let stats = write(node, plan, &mut out)?;
    Ok((out, stats))
}

/// Starts a snapshot now and writes it to `sink` on a background thread: `on_start` runs
/// at the snapshot's instant, before this returns. The thread hands back the sink.
pub fn start<W: Write + Send + 'static>(
    node: &Arc<Node>,
    on_start: impl FnOnce() -> Option<ReplAux>,
    mut sink: W,
) -> std::io::Result<std::thread::JoinHandle<Result<(W, SnapshotStats), RdbError>>> {
    let plan = begin(node, false, on_start);
    let node = Arc::clone(node);
    std::thread::Builder::new()
        .name("rdb-snapshot".into())
        .spawn(move || {
            let stats = write(&node, plan, &mut sink)?;
            Ok((sink, stats))
        })
}
