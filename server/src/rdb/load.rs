//! Loading a whole RDB file into a node (startup, DEBUG RELOAD, a replica's full sync).
//!
//! The bytes are parsed completely and keys are inserted as they are read; on any error the
//! caller gets it (startup then exits 1, a replica flushes again), never a partial success.

use std::time::Instant;

use super::decode::{read_object, Reader};
use super::{crc64, opcode, rtype, RdbError};
use crate::keyspace::{key_slot, lru_clock, now_ms, Entry, StrEncoding};
use crate::node::Node;

/// How a file is loaded.
#[derive(Debug, Clone, Copy)]
pub struct LoadOpts {
    /// Drop keys whose TTL has passed (a master does; a replica keeps them for its master's
    /// DELs to arrive).
    pub skip_expired: bool,
    /// Verify the CRC-64 at the end (`rdbchecksum yes`).
    pub check_crc: bool,
}

impl Default for LoadOpts {
    fn default() -> Self {
        LoadOpts {
            skip_expired: true,
            check_crc: true,
        }
    }
}

/// What a load found.
#[derive(Debug, Default, Clone)]
pub struct LoadStats {
    /// Keys inserted.
    pub keys_loaded: u64,
    /// Keys dropped because their TTL had passed.
    pub keys_expired: u64,
    /// Empty collections skipped (Redis skips them with a warning).
    pub empty_keys_skipped: u64,
    /// AUX `redis-ver`.
    pub redis_ver: Option<String>,
    /// AUX `ctime` (unix seconds).
    pub ctime: Option<i64>,
    /// AUX `used-mem`.
    pub used_mem: Option<i64>,
    /// AUX `repl-id`.
    pub repl_id: Option<String>,
    /// AUX `repl-offset`.
    pub repl_offset: Option<i64>,
    /// AUX `repl-stream-db`.
    pub repl_stream_db: Option<i64>,
    /// Whether the file carried no checksum (saved with `rdbchecksum no`).
    pub checksum_disabled: bool,
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn int(b: &[u8]) -> Option<i64> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// Parses `bytes` (a whole RDB file) into `node`'s keyspace, which the caller has emptied.
/// Logs what rdbLoad logs (version, age, memory, keys loaded).
pub fn load_into(node: &Node, bytes: &[u8], opts: LoadOpts) -> Result<LoadStats, RdbError> {
    load_keys(node, bytes, opts, false)
}

/// As [`load_into`], but a key already in the keyspace is replaced by the file's (DEBUG
/// RELOAD MERGE) instead of being a duplicate-key error.
pub fn merge_into(node: &Node, bytes: &[u8], opts: LoadOpts) -> Result<LoadStats, RdbError> {
    load_keys(node, bytes, opts, true)
}

fn load_keys(
    node: &Node,
    bytes: &[u8],
    opts: LoadOpts,
    replace: bool,
) -> Result<LoadStats, RdbError> {
    let mut r = Reader::new(bytes);
    let magic = r.take(9)?;
    if &magic[..5] != b"REDIS" {
        return Err(RdbError::Signature);
    }
    let ver: u32 = std::str::from_utf8(&magic[5..])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    if !(1..=u32::from(super::RDB_VERSION)).contains(&ver) {
        return Err(RdbError::Version(ver));
    }
    let th = node.config.current().thresholds;
    let now = now_ms();
    let lru = lru_clock(now);
    let mut stats = LoadStats::default();
    let mut db_index = 0usize;
    let mut expire_at: Option<u64> = None;
    loop {
        let op = r.u8()?;
        match op {
            opcode::EXPIRETIME => {
                expire_at = Some(u64::from(r.u32_le()?).saturating_mul(1000));
                continue;
            }
            opcode::EXPIRETIME_MS => {
                expire_at = Some(r.u64_le()?);
                continue;
            }
            opcode::FREQ => {
                r.u8()?;
                continue;
            }
            opcode::IDLE => {
                r.length()?;
                continue;
            }
            opcode::EOF => break,
            opcode::SELECTDB => {
                let n = r.length()?;
                let dbs = node.keyspace.db_count();
                db_index = usize::try_from(n)
                    .ok()
                    .filter(|&i| i < dbs)
                    .ok_or(RdbError::TooManyDbs(dbs))?;
                continue;
            }
            opcode::RESIZEDB => {
                r.length()?;
                r.length()?;
                continue;
            }
            opcode::AUX => {
                let k = r.string()?;
                let v = r.string()?;
                aux(&mut stats, &k, &v, now);
                continue;
            }
            opcode::MODULE_AUX => return Err(RdbError::Unsupported("module data")),
            opcode::FUNCTION | opcode::FUNCTION2 => {
                return Err(RdbError::Unsupported(
                    "functions (this server has no FUNCTION)",
                ))
            }
            _ => {}
        }
        let key = r.string()?;
        // Strings, the common case, go straight from the file's bytes into the entry.
        let entry = if op == rtype::STRING {
            let v = r.string()?;
            Entry::new_str(&key, &v, StrEncoding::Auto, lru)
        } else {
            match read_object(&mut r, op, &th) {
                Ok(v) => v.into_entry(&key, lru),
                Err(RdbError::EmptyKey) => {
                    if stats.empty_keys_skipped < 10 {
                        tracing::warn!(
                            "rdbLoadObject skipping empty key: {}",
                            String::from_utf8_lossy(&key)
                        );
                    }
                    stats.empty_keys_skipped += 1;
                    expire_at = None;
                    continue;
                }
                Err(e) => return Err(e),
            }
        };
        let at = expire_at.take().unwrap_or(0);
        if opts.skip_expired && at != 0 && at < now {
            stats.keys_expired += 1;
            continue;
        }
        let mut entry = entry;
        if at != 0 {
            entry.set_expire_raw(at);
        }
        let slot = key_slot(&key);
        let db = node.db(db_index);
        let mut shard = db.lock_slot(slot);
        // Unless merging, a previous entry is a duplicate (in the file, or left in place by
        // DEBUG RELOAD NOFLUSH).
        if shard.insert(slot, entry, now).is_some() && !replace {
            return Err(RdbError::DuplicateKey {
                key: text(&key),
                db: db_index,
            });
        }
        stats.keys_loaded += 1;
    }
    if ver >= 5 {
        let expected = crc64::crc64(0, r.consumed());
        let got = r.u64_le()?;
        if got == 0 {
            stats.checksum_disabled = true;
            tracing::warn!("RDB file was saved with checksum disabled: no check performed.");
        } else if opts.check_crc && got != expected {
            return Err(RdbError::Checksum { expected, got });
        }
    }
    Ok(stats)
}

fn aux(stats: &mut LoadStats, k: &[u8], v: &[u8], now: u64) {
    match k {
        b"redis-ver" => {
            stats.redis_ver = Some(text(v));
            tracing::info!("Loading RDB produced by version {}", text(v));
        }
        b"ctime" => {
            stats.ctime = int(v);
            if let Some(t) = stats.ctime {
                let age = (now / 1000) as i64 - t;
                tracing::info!("RDB age {} seconds", age.max(0));
            }
        }
        b"used-mem" => {
            stats.used_mem = int(v);
            if let Some(m) = stats.used_mem {
                tracing::info!(
                    "RDB memory usage when created {:.2} Mb",
                    m as f64 / (1024.0 * 1024.0)
                );
            }
        }
        b"repl-id" => stats.repl_id = Some(text(v)),
        b"repl-offset" => stats.repl_offset = int(v),
        b"repl-stream-db" => stats.repl_stream_db = int(v),
        b"redis-bits" | b"aof-base" | b"aof-preamble" | b"lua" => {}
        _ => tracing::debug!("Unrecognized RDB AUX field: '{}'", text(k)),
    }
}

/// Startup: loads `dir/dbfilename` if it exists, logging as redis-server does. Returns
/// Ok(None) when there is no file, Err with the lines to log when loading failed.
pub fn load_at_startup(node: &Node) -> Result<Option<LoadStats>, RdbError> {
    let start = Instant::now();
    let stats = load_file(node, false)?;
    if stats.is_some() {
        // loadDataFromDisk's line: startup only, not DEBUG RELOAD.
        tracing::info!(
            "DB loaded from disk: {:.3} seconds",
            start.elapsed().as_secs_f64()
        );
    }
    Ok(stats)
}

/// Loads `dir/dbfilename` as startup does (Ok(None): no file); `merge` replaces keys already
/// present (see [`merge_into`]).
pub fn load_file(node: &Node, merge: bool) -> Result<Option<LoadStats>, RdbError> {
    let cfg = node.config.current();
    let path = cfg.dir.join(&cfg.dbfilename);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(RdbError::Io(e)),
    };
    let check_crc = node
        .config
        .get_text("rdbchecksum")
        .is_none_or(|v| v.eq_ignore_ascii_case(b"yes"));
    let opts = LoadOpts {
        skip_expired: true,
        check_crc,
    };
    let stats = load_keys(node, &bytes, opts, merge)?;
    tracing::info!(
        "Done loading RDB, keys loaded: {}, keys expired: {}.",
        stats.keys_loaded,
        stats.keys_expired
    );
    node.persistence.loaded(&stats);
    Ok(Some(stats))
}

/// Startup's load with redis-server's log lines on failure (the caller exits 1).
pub fn startup(node: &Node) -> Result<(), RdbError> {
    match load_at_startup(node) {
        Ok(_) => Ok(()),
        Err(e) => {
            match &e {
                RdbError::Truncated => tracing::warn!(
                    "Short read or OOM loading DB. Unrecoverable error, aborting now."
                ),
                RdbError::Checksum { .. } => tracing::warn!("{e}"),
                RdbError::Io(io) => tracing::warn!("Fatal error loading the DB: {io}. Exiting."),
                RdbError::TooManyDbs(n) => tracing::warn!(
                    "FATAL: Data file was created with a Redis server configured to handle more than {n} databases. Exiting"
                ),
                _ => {}
            }
            let reason = match &e {
                RdbError::Checksum { .. } => "RDB CRC error".to_owned(),
                other => other.to_string(),
            };
            tracing::warn!(
                "Internal error in RDB reading offset 0, function at rdb.c:0 -> {reason}"
            );
            tracing::warn!("Terminating server after rdb file reading failure.");
            Err(e)
        }
    }
}
