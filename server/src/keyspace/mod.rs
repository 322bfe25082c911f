//! The keyspace: databases of 16384 hash slots, grouped into lock shards.
//!
//! Each slot has its own key table, so per-slot counts and listings are cheap, and a
//! same-slot multi-key command takes one lock. Commands that touch several shards lock
//! them in ascending shard order. A "world" lock (one reader lock per connection bucket,
//! all of them for a writer) lets MULTI/EXEC and SWAPDB run without interleaving while
//! ordinary commands never contend on one shared lock.

mod entry;
mod glob;
pub mod lfu;
mod shard;
mod slot;
mod slot_table;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub use entry::{lru_clock, Entry, Obj, StrEncoding, StrRef, Value, ValueType, EMBSTR_LIMIT};
pub use glob::string_match;
pub use shard::{Shard, ShardStats, SHARDS, SLOTS_PER_SHARD};
pub use slot::{crc16, hash_part, key_slot, SLOTS};
pub use slot_table::{KeyHasher, SlotTable};

/// Wall-clock unix time in milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The shard index of a slot.
pub fn shard_of(slot: u16) -> usize {
    usize::from(slot) % SHARDS
}

/// A shard lock on its own cache lines, so threads working on neighbouring shards do not
/// invalidate each other's lock word.
///
/// It also carries the shard's pending snapshot captures (see `rdb::snapshot`): whoever
/// locks the shard first after a snapshot started runs them on the unchanged contents
/// before doing anything else, which makes the snapshot copy-on-write at shard granularity.
#[repr(align(128))]
pub struct ShardLock(Mutex<Shard>, Captures);

/// Work registered by a snapshot on a shard, run once on its contents under its lock.
pub type ShardCapture = Box<dyn FnOnce(&Shard) + Send>;

#[derive(Default)]
struct Captures {
    pending: std::sync::atomic::AtomicBool,
    list: Mutex<Vec<ShardCapture>>,
}

impl std::ops::Deref for ShardLock {
    type Target = Mutex<Shard>;

    fn deref(&self) -> &Mutex<Shard> {
        &self.0
    }
}

impl ShardLock {
    fn new(shard: Shard) -> ShardLock {
        ShardLock(Mutex::new(shard), Captures::default())
    }

    /// Locks the shard, first running any pending snapshot capture on it.
    pub fn lock(&self) -> MutexGuard<'_, Shard> {
        let guard = self.0.lock();
        if self.1.pending.load(std::sync::atomic::Ordering::Acquire) {
            let work = {
                let mut list = self.1.list.lock();
                self.1
                    .pending
                    .store(false, std::sync::atomic::Ordering::Release);
                std::mem::take(&mut *list)
            };
            for capture in work {
                capture(&guard);
            }
        }
        guard
    }

    /// Registers a capture to run at the next lock (the caller holds the world lock
    /// exclusively, so the shard is at the snapshot's instant until then).
    pub fn add_capture(&self, capture: ShardCapture) {
        let mut list = self.1.list.lock();
        list.push(capture);
        self.1
            .pending
            .store(true, std::sync::atomic::Ordering::Release);
    }
}

/// Told of each key reclaimed because its TTL passed: (database, key).
pub type ExpirySink = Box<dyn Fn(usize, &[u8]) + Send + Sync>;

/// What the keyspace does with keys whose TTL passed; replication sets it.
#[derive(Default)]
pub struct ExpiryHooks {
    /// We replicate a master: an expired key is hidden from clients but kept (and the active
    /// cycle skips it) until the master's DEL arrives, as on a Redis replica; the master's
    /// own commands still see it.
    keep: AtomicBool,
    /// Called while the key's shard is still locked, so the deletion enters the
    /// replication stream before any later write of that key.
    sink: OnceLock<ExpirySink>,
}

impl ExpiryHooks {
    /// Keeps expired keys (we are a replica) or reclaims them (we are a master).
    pub fn set_keep(&self, keep: bool) {
        self.keep.store(keep, Ordering::Release);
    }

    /// Whether expired keys are kept.
    pub fn keeps(&self) -> bool {
        self.keep.load(Ordering::Acquire)
    }

    /// Whether an expired key is still a live one to the command running: on a replica,
    /// to its master's stream (Redis's expireIfNeeded answers 0 to the master client).
    pub(crate) fn live_to_caller(&self) -> bool {
        self.keeps() && crate::replication::is_master_client()
    }

    /// Installs the sink told of reclaimed keys (once; later calls are ignored).
    pub fn set_sink(&self, sink: ExpirySink) {
        let _ = self.sink.set(sink);
    }

    pub(crate) fn reclaimed(&self, db: usize, key: &[u8]) {
        if let Some(sink) = self.sink.get() {
            sink(db, key);
        }
    }
}

/// One database.
pub struct Db {
    shards: OnceLock<Box<[ShardLock]>>,
    hasher: KeyHasher,
    lfu: Arc<lfu::Lfu>,
    index: usize,
    expiry: Arc<ExpiryHooks>,
}

impl Db {
    fn new(hasher: KeyHasher, lfu: Arc<lfu::Lfu>, index: usize, expiry: Arc<ExpiryHooks>) -> Db {
        Db {
            shards: OnceLock::new(),
            hasher,
            lfu,
            index,
            expiry,
        }
    }

    /// The shards, created on first use so unused databases cost nothing.
    pub fn shards(&self) -> &[ShardLock] {
        self.shards.get_or_init(|| {
            (0..SHARDS)
                .map(|_| {
                    ShardLock::new(Shard::new(
                        self.hasher,
                        self.lfu.clone(),
                        self.index,
                        self.expiry.clone(),
                    ))
                })
                .collect()
        })
    }

    /// Whether any key was ever stored (avoids creating shards just to count nothing).
    pub fn is_initialized(&self) -> bool {
        self.shards.get().is_some()
    }

    /// Locks the shard of `slot`.
    pub fn lock_slot(&self, slot: u16) -> MutexGuard<'_, Shard> {
        self.shards()[shard_of(slot)].lock()
    }

    /// Locks the shards holding `slots`, in ascending shard order (no deadlock).
    pub fn lock_slots(&self, slots: &[u16]) -> MultiGuard<'_> {
        let mut idx: Vec<usize> = slots.iter().map(|&s| shard_of(s)).collect();
        idx.sort_unstable();
        idx.dedup();
        let shards = self.shards();
        MultiGuard {
            guards: idx.into_iter().map(|i| (i, shards[i].lock())).collect(),
        }
    }

    /// Number of keys (expired but not yet reclaimed ones included, like Redis's DBSIZE).
    pub fn len(&self) -> usize {
        match self.shards.get() {
            Some(shards) => shards.iter().map(|s| s.lock().keys()).sum(),
            None => 0,
        }
    }

    /// Whether the database has no keys.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of keys with a TTL.
    pub fn volatile(&self) -> usize {
        match self.shards.get() {
            Some(shards) => shards.iter().map(|s| s.lock().volatile()).sum(),
            None => 0,
        }
    }

    /// Removes every key; returns how many there were. Watchers of existing keys are told.
    pub fn clear(&self, now_ms: u64) -> usize {
        match self.shards.get() {
            Some(shards) => shards
                .iter()
                .map(|s| {
                    let mut s = s.lock();
                    s.signal_existing(now_ms);
                    s.clear()
                })
                .sum(),
            None => 0,
        }
    }

    /// Sum of the shards' lookup counters.
    pub fn stats(&self) -> ShardStats {
        let mut total = ShardStats::default();
        if let Some(shards) = self.shards.get() {
            for s in shards.iter() {
                let st = s.lock().stats;
                total.hits += st.hits;
                total.misses += st.misses;
                total.expired += st.expired;
            }
        }
        total
    }

    /// Zeroes the lookup counters (CONFIG RESETSTAT).
    pub fn reset_stats(&self) {
        if let Some(shards) = self.shards.get() {
            for s in shards.iter() {
                s.lock().stats = ShardStats::default();
            }
        }
    }
}

/// Guards of several shards of one database, taken in ascending order.
pub struct MultiGuard<'a> {
    guards: Vec<(usize, MutexGuard<'a, Shard>)>,
}

impl MultiGuard<'_> {
    /// The locked shard holding `slot`. `slot` must be one the guard was built for.
    pub fn shard(&mut self, slot: u16) -> Option<&mut Shard> {
        let want = shard_of(slot);
        self.guards
            .iter_mut()
            .find(|(i, _)| *i == want)
            .map(|(_, g)| &mut **g)
    }

    /// The locked shard holding `slot`, shared (several keys can then be read at once).
    pub fn shard_ref(&self, slot: u16) -> Option<&Shard> {
        let want = shard_of(slot);
        self.guards
            .iter()
            .find(|(i, _)| *i == want)
            .map(|(_, g)| &**g)
    }
}

const WORLD_BUCKETS: usize = 16;

/// A lock that ordinary commands share (each through its own bucket) and that
/// MULTI/EXEC, SWAPDB and the like take exclusively.
pub struct WorldLock {
    buckets: Box<[WorldBucket]>,
}

/// One reader lock of the world lock, alone on its cache lines.
#[repr(align(128))]
struct WorldBucket(RwLock<()>);

/// Shared hold on the world lock.
pub type WorldRead<'a> = RwLockReadGuard<'a, ()>;

/// Exclusive hold on the world lock.
pub struct WorldWrite<'a> {
    _guards: Vec<RwLockWriteGuard<'a, ()>>,
}

impl WorldLock {
    fn new() -> WorldLock {
        WorldLock {
            buckets: (0..WORLD_BUCKETS)
                .map(|_| WorldBucket(RwLock::new(())))
                .collect(),
        }
    }

    /// Shared access for the connection with this id.
    pub fn read(&self, conn_id: u64) -> WorldRead<'_> {
        self.buckets[(conn_id as usize) % WORLD_BUCKETS].0.read()
    }

    /// Like [`WorldLock::read`], also saying whether it had to wait for a writer.
    pub fn read_waited(&self, conn_id: u64) -> (WorldRead<'_>, bool) {
        let lock = &self.buckets[(conn_id as usize) % WORLD_BUCKETS].0;
        match lock.try_read() {
            Some(g) => (g, false),
            None => (lock.read(), true),
        }
    }

    /// Exclusive access: no other command runs until the guard is dropped.
    pub fn write(&self) -> WorldWrite<'_> {
        WorldWrite {
            _guards: self.buckets.iter().map(|b| b.0.write()).collect(),
        }
    }
}

/// Every database of the node.
pub struct Keyspace {
    dbs: Box<[Db]>,
    /// See [`WorldLock`].
    pub world: WorldLock,
    /// LFU settings (`maxmemory-policy`, `lfu-log-factor`, `lfu-decay-time`).
    pub lfu: Arc<lfu::Lfu>,
    /// What happens to expired keys (replication's hooks).
    pub expiry: Arc<ExpiryHooks>,
}

impl Keyspace {
    /// A keyspace with `databases` empty databases (at least one).
    pub fn new(databases: usize) -> Keyspace {
        let hasher = KeyHasher::default();
        let lfu = Arc::new(lfu::Lfu::default());
        let expiry = Arc::new(ExpiryHooks::default());
        Keyspace {
            dbs: (0..databases.max(1))
                .map(|i| Db::new(hasher, lfu.clone(), i, expiry.clone()))
                .collect(),
            world: WorldLock::new(),
            lfu,
            expiry,
        }
    }

    /// Number of databases.
    pub fn db_count(&self) -> usize {
        self.dbs.len()
    }

    /// Database `i`, if it exists.
    pub fn db(&self, i: usize) -> Option<&Db> {
        self.dbs.get(i)
    }

    /// All databases.
    pub fn dbs(&self) -> &[Db] {
        &self.dbs
    }

    /// Exchanges the contents of two databases; the caller holds the world lock.
    /// Returns false if either index is out of range.
    pub fn swap_dbs(&self, a: usize, b: usize, now_ms: u64) -> bool {
        let (Some(da), Some(db)) = (self.dbs.get(a), self.dbs.get(b)) else {
            return false;
        };
        if a == b {
            return true;
        }
        for (sa, sb) in da.shards().iter().zip(db.shards().iter()) {
            let (mut ga, mut gb) = if a < b {
                let ga = sa.lock();
                (ga, sb.lock())
            } else {
                let gb = sb.lock();
                (sa.lock(), gb)
            };
            ga.signal_existing(now_ms);
            gb.signal_existing(now_ms);
            ga.swap_data(&mut gb);
            ga.signal_existing(now_ms);
            gb.signal_existing(now_ms);
        }
        true
    }
}

/// One run of the active expiry cycle (Redis's activeExpireCycle idea): visit shards with
/// keys that have a TTL, reclaim expired keys a few slots at a time, and keep going in a
/// shard while more than a quarter of the sampled keys were expired, within `budget`.
pub fn active_expire_cycle(ks: &Keyspace, budget: std::time::Duration) {
    let start = std::time::Instant::now();
    for db in ks.dbs() {
        if !db.is_initialized() {
            continue;
        }
        for shard in db.shards() {
            loop {
                let _world = ks.world.read(0);
                let mut s = shard.lock();
                if s.volatile() == 0 {
                    break;
                }
                let (examined, expired) = s.expire_step(16, now_ms());
                if examined == 0 || expired * 4 <= examined || start.elapsed() > budget {
                    break;
                }
            }
            if start.elapsed() > budget {
                return;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn set_get_expire() {
        let ks = Keyspace::new(16);
        let db = ks.db(0).unwrap();
        let slot = key_slot(b"foo");
        let mut g = db.lock_slot(slot);
        g.insert(
            slot,
            Entry::new_str(b"foo", b"bar", StrEncoding::Auto, 0),
            1000,
        );
        assert!(g.lookup_read(slot, b"foo", 1000).is_some());
        assert!(g.set_expire(slot, b"foo", 1500, 1000));
        assert_eq!(g.volatile(), 1);
        assert!(g.lookup_read(slot, b"foo", 1500).is_some());
        assert!(g.lookup_read(slot, b"foo", 1501).is_none());
        assert_eq!(g.keys(), 0);
        assert_eq!(g.volatile(), 0);
        assert_eq!(g.stats.expired, 1);
    }

    fn str_ptr(e: &Entry) -> *const u8 {
        match e.value() {
            Value::Str(StrRef::Bytes(b)) => b.as_ptr(),
            _ => std::ptr::null(),
        }
    }

    /// A string stored over a same-length raw string goes into the bytes the key already
    /// has, with an overwrite's bookkeeping: the TTL count follows the new expiry, the
    /// access time is the store's, watchers are told, and an expired key is reclaimed
    /// (counted, and reported to the expiry sink) before the new value goes in.
    #[test]
    fn strings_stored_in_place_keep_ttl_counts_and_tell_watchers() {
        let ks = Keyspace::new(1);
        let reclaimed = Arc::new(Mutex::new(Vec::new()));
        let sink = reclaimed.clone();
        ks.expiry
            .set_sink(Box::new(move |_, key| sink.lock().push(key.to_vec())));
        let db = ks.db(0).unwrap();
        let slot = key_slot(b"k");
        let mut g = db.lock_slot(slot);
        let val = |c: u8| vec![c; 100];
        g.store_str(slot, b"k", &val(b'a'), 0, 1000, false);
        let at = g.peek(slot, b"k").map(str_ptr);
        let watched = Arc::new(AtomicBool::new(false));
        g.watch(b"k", watched.clone());

        g.store_str(slot, b"k", &val(b'b'), 5000, 7000, false);
        assert!(watched.load(Ordering::Relaxed));
        assert_eq!((g.keys(), g.volatile()), (1, 1));
        let e = g.peek(slot, b"k").unwrap();
        assert_eq!(Some(str_ptr(e)), at, "not written in place");
        assert_eq!((value_of(e), e.expire_at()), (val(b'b'), 5000));
        assert_eq!((e.lru(), e.encoding()), (lru_clock(7000), "raw"));

        g.store_str(slot, b"k", &val(b'c'), 0, 1000, false);
        assert_eq!((g.keys(), g.volatile()), (1, 0));
        let e = g.peek(slot, b"k").unwrap();
        assert_eq!((value_of(e), e.expire_at()), (val(b'c'), 0));

        assert!(g.set_expire(slot, b"k", 2000, 1000));
        g.store_str(slot, b"k", &val(b'd'), 0, 3000, false);
        assert_eq!((g.keys(), g.volatile(), g.stats.expired), (1, 0, 1));
        assert_eq!(*reclaimed.lock(), vec![b"k".to_vec()]);
        g.store_str(slot, b"k", b"short", 0, 3000, false);
        let e = g.peek(slot, b"k").unwrap();
        assert_eq!((value_of(e), e.encoding()), (b"short".to_vec(), "embstr"));
    }

    /// A replica keeps expired keys until its master deletes them, so to its master's
    /// stream an expired key is still there: overwriting it counts no expiry and keeps its
    /// LFU counter, as in Redis, whether or not the value could be written in place.
    #[test]
    fn a_replica_overwrites_an_expired_key_for_its_master_as_a_live_one() {
        let ks = Keyspace::new(1);
        ks.expiry.set_keep(true);
        ks.lfu.configure(true, 10, 1);
        let db = ks.db(0).unwrap();
        let slot = key_slot(b"k");
        let mut g = db.lock_slot(slot);
        crate::replication::stream::set_master_apply(true);
        // `true`: the write lookup's access is the caller's to count; what is checked here
        // is what the overwrite itself does.
        for len in [100, 101] {
            g.store_str(slot, b"k", &[b'a'; 100], 2000, 1000, true);
            let counter = g.peek(slot, b"k").map(|e| e.lru());
            g.store_str(slot, b"k", &vec![b'b'; len], 0, 3000, true);
            let e = g.peek(slot, b"k").unwrap();
            assert_eq!(Some(e.lru()), counter, "value of {len} bytes");
            assert_eq!(value_of(e), vec![b'b'; len]);
            assert_eq!((g.stats.expired, g.keys(), g.volatile()), (0, 1, 0));
        }
        crate::replication::stream::set_master_apply(false);
        g.store_str(slot, b"k", &[b'c'; 101], 2000, 3000, true);
        g.store_str(slot, b"k", &[b'd'; 101], 0, 4000, true);
        assert_eq!(
            g.stats.expired, 1,
            "a replica's own client sees the key expired"
        );
    }

    /// Under LFU, a store whose caller did not look the key up counts the access Redis's
    /// setKey lookup counts, whether the value is written in place (100 bytes over 100) or
    /// as a new entry (short, or of another length); one whose caller did, counts none.
    #[test]
    fn an_lfu_store_counts_the_write_lookup_once() {
        let ks = Keyspace::new(1);
        ks.lfu.configure(true, 10, 1);
        let db = ks.db(0).unwrap();
        let cases = [
            (&[b'b'; 100][..], false, 1),
            (&[b'c'; 100][..], true, 0),
            (&b"short"[..], false, 1),
            (&[b'd'; 101][..], true, 0),
        ];
        for (i, (val, looked_up, rise)) in cases.into_iter().enumerate() {
            let key = format!("k{i}").into_bytes();
            let slot = key_slot(&key);
            let mut g = db.lock_slot(slot);
            let freq = |g: &Shard| g.peek(slot, &key).map(|e| ks.lfu.decayed(e.lru(), 1000));
            g.store_str(slot, &key, &[b'a'; 100], 0, 1000, false);
            // A new key starts at the initial count, from which an access always counts.
            let before = freq(&g);
            g.store_str(slot, &key, val, 0, 1000, looked_up);
            assert_eq!(freq(&g), before.map(|f| f + rise), "case {i}");
        }
    }

    #[test]
    fn active_expiry_reclaims() {
        let ks = Keyspace::new(1);
        let db = ks.db(0).unwrap();
        for i in 0..1000u32 {
            let k = format!("k{i}");
            let slot = key_slot(k.as_bytes());
            let mut g = db.lock_slot(slot);
            let mut e = Entry::new_str(k.as_bytes(), b"v", StrEncoding::Auto, 0);
            e.set_expire_raw(if i % 2 == 0 { 10 } else { 0 });
            g.insert(slot, e, 0);
        }
        assert_eq!(db.len(), 1000);
        assert_eq!(db.volatile(), 500);
        for s in db.shards() {
            s.lock().expire_step(SLOTS_PER_SHARD, 100);
        }
        assert_eq!(db.len(), 500);
        assert_eq!(db.volatile(), 0);
    }

    #[test]
    fn replicas_keep_expired_keys_and_masters_report_them() {
        let ks = Keyspace::new(2);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        ks.expiry.set_sink(Box::new(move |db, key| {
            sink.lock().push((db, key.to_vec()))
        }));
        let db = ks.db(1).unwrap();
        for k in [&b"lazy"[..], b"active"] {
            let slot = key_slot(k);
            let mut e = Entry::new_str(k, b"v", StrEncoding::Auto, 0);
            e.set_expire_raw(10);
            db.lock_slot(slot).insert(slot, e, 0);
        }
        let slot = key_slot(b"lazy");
        ks.expiry.set_keep(true);
        assert!(db.lock_slot(slot).lookup_read(slot, b"lazy", 100).is_none());
        for s in db.shards() {
            assert_eq!(s.lock().expire_step(SLOTS_PER_SHARD, 100), (0, 0));
        }
        assert_eq!(db.len(), 2);
        assert!(seen.lock().is_empty());
        ks.expiry.set_keep(false);
        assert!(db.lock_slot(slot).lookup_read(slot, b"lazy", 100).is_none());
        for s in db.shards() {
            s.lock().expire_step(SLOTS_PER_SHARD, 100);
        }
        assert_eq!(db.len(), 0);
        assert_eq!(
            *seen.lock(),
            vec![(1, b"lazy".to_vec()), (1, b"active".to_vec())]
        );
    }

    fn value_of(e: &Entry) -> Vec<u8> {
        match e.value() {
            Value::Str(s) => s.to_vec(),
            // No test here stores a collection; an empty value fails its comparison.
            Value::Obj(_) => Vec::new(),
        }
    }

    /// Deleting keys moves other entries around in the slot's storage: every remaining key
    /// must still be found with its own value, the deleted ones gone, and a listing and a
    /// bucket-by-bucket walk see exactly the remaining keys.
    #[test]
    fn deletes_keep_other_keys_of_the_slot_intact() {
        let ks = Keyspace::new(1);
        let db = ks.db(0).unwrap();
        let slot = key_slot(b"{t}");
        let mut g = db.lock_slot(slot);
        let key = |i: u32| format!("{{t}}key:{i}").into_bytes();
        for i in 0..2000u32 {
            let v = format!("value-{i}-{}", "x".repeat((i % 50) as usize));
            let e = Entry::new_str(&key(i), v.as_bytes(), StrEncoding::Auto, 0);
            g.insert(slot, e, 0);
        }
        let gone = |i: u32| (i * 7919) % 5 < 2;
        for i in (0..2000u32).rev().filter(|&i| gone(i)) {
            assert!(g.remove(slot, &key(i), 0).is_some(), "{i}");
        }
        let mut left = std::collections::BTreeSet::new();
        for i in 0..2000u32 {
            let found = g.lookup_read(slot, &key(i), 0).map(|e| value_of(e));
            if gone(i) {
                assert_eq!(found, None, "{i}");
            } else {
                let v = format!("value-{i}-{}", "x".repeat((i % 50) as usize));
                assert_eq!(found, Some(v.into_bytes()), "{i}");
                left.insert(key(i));
            }
        }
        let t = g.slot(slot);
        assert_eq!(t.len(), left.len());
        let listed: std::collections::BTreeSet<Vec<u8>> =
            t.iter().map(|e| e.key().to_vec()).collect();
        assert_eq!(listed, left);
        let mut walked = std::collections::BTreeSet::new();
        assert_eq!(t.scan_from(0, |e| walked.insert(e.key().to_vec())), None);
        assert_eq!(walked, left);
    }

    /// A SCAN-style walk interrupted by deletions (no insert, so no rehash) still returns
    /// every key that was there throughout.
    #[test]
    fn walk_resumed_after_deletes_misses_no_surviving_key() {
        let ks = Keyspace::new(1);
        let db = ks.db(0).unwrap();
        let slot = key_slot(b"{w}");
        let mut g = db.lock_slot(slot);
        let key = |i: u32| format!("{{w}}{i}").into_bytes();
        for i in 0..500u32 {
            g.insert(slot, Entry::new_int(&key(i), i64::from(i), 0), 0);
        }
        let generation = g.slot(slot).generation();
        let mut seen = std::collections::BTreeSet::new();
        let mut pos = 0;
        let mut round = 0u32;
        loop {
            let mut budget = 37;
            let next = g.slot(slot).scan_from(pos, |e| {
                seen.insert(e.key().to_vec());
                budget -= 1;
                budget > 0
            });
            // Delete some keys, seen or not, between two steps.
            for i in (round * 13..round * 13 + 13).filter(|i| i % 3 == 0) {
                g.remove(slot, &key(i), 0);
            }
            round += 1;
            match next {
                Some(p) => pos = p,
                None => break,
            }
        }
        assert_eq!(g.slot(slot).generation(), generation);
        for i in (0..500u32).filter(|&i| !(i % 3 == 0 && i < round * 13)) {
            assert!(seen.contains(&key(i)), "{i}");
        }
    }

    #[test]
    fn swapdb_moves_data() {
        let ks = Keyspace::new(2);
        let (d0, d1) = (ks.db(0).unwrap(), ks.db(1).unwrap());
        let slot = key_slot(b"a");
        d0.lock_slot(slot)
            .insert(slot, Entry::new_str(b"a", b"1", StrEncoding::Auto, 0), 0);
        assert!(ks.swap_dbs(0, 1, 0));
        assert_eq!(d0.len(), 0);
        assert_eq!(d1.len(), 1);
    }
}
