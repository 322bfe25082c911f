//! A lock shard: the key tables of the slots `s` with `s % SHARDS == index`.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::entry::{lru_clock, Entry, StrEncoding, EMBSTR_LIMIT};
use super::slot::SLOTS;
use super::slot_table::{KeyHasher, Loc, SlotTable};

/// Number of lock shards per database (a power of two dividing [`SLOTS`]).
pub const SHARDS: usize = 256;

/// Slots held by one shard.
pub const SLOTS_PER_SHARD: usize = SLOTS / SHARDS;

/// Counters kept under the shard lock so the hot path touches no shared cache line.
#[derive(Default, Clone, Copy, Debug)]
pub struct ShardStats {
    /// Successful key lookups.
    pub hits: u64,
    /// Failed key lookups.
    pub misses: u64,
    /// Keys removed because their TTL passed.
    pub expired: u64,
}

/// How a lookup counts as an access of the key.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    /// A read command: keyspace hit/miss, access time (or LFU counter).
    Read,
    /// A write command: the LFU counter under an LFU policy.
    Write,
    /// A read command that counts a hit or miss but is no access (TYPE).
    ReadNoTouch,
    /// Not an access (EXISTS, OBJECT, TTL).
    NoTouch,
}

/// The data part of a shard (what SWAPDB exchanges).
#[derive(Default)]
pub struct ShardData {
    slots: Vec<SlotTable>,
    keys: usize,
    volatile: usize,
}

/// Clients watching keys of this shard, each with the flag that EXEC checks.
pub type Watchers = std::collections::HashMap<Box<[u8]>, Vec<Arc<AtomicBool>>>;

/// One lock shard.
pub struct Shard {
    data: ShardData,
    hasher: KeyHasher,
    lfu: Arc<super::lfu::Lfu>,
    watched: Watchers,
    /// Lookup and expiry counters.
    pub stats: ShardStats,
    /// Where the active expiry cycle resumes (index into this shard's slots).
    pub(crate) expire_cursor: usize,
    /// The database this shard belongs to (SWAPDB exchanges data, not shards).
    db: usize,
    expiry: Arc<super::ExpiryHooks>,
}

/// Flags the clients watching `key`.
fn notify_watchers(watched: &Watchers, key: &[u8]) {
    if watched.is_empty() {
        return;
    }
    if let Some(flags) = watched.get(key) {
        for f in flags {
            f.store(true, Ordering::Release);
        }
    }
}

fn local(slot: u16) -> usize {
    usize::from(slot) / SHARDS
}

impl Shard {
    pub(crate) fn new(
        hasher: KeyHasher,
        lfu: Arc<super::lfu::Lfu>,
        db: usize,
        expiry: Arc<super::ExpiryHooks>,
    ) -> Shard {
        let mut slots = Vec::with_capacity(SLOTS_PER_SHARD);
        slots.resize_with(SLOTS_PER_SHARD, SlotTable::default);
        Shard {
            data: ShardData {
                slots,
                keys: 0,
                volatile: 0,
            },
            hasher,
            lfu,
            watched: Watchers::default(),
            stats: ShardStats::default(),
            expire_cursor: 0,
            db,
            expiry,
        }
    }

    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The table of `slot` (which must belong to this shard).
    pub fn slot(&self, slot: u16) -> &SlotTable {
        &self.data.slots[local(slot)]
    }

    /// Number of keys in this shard.
    pub fn keys(&self) -> usize {
        self.data.keys
    }

    /// Number of keys with a TTL in this shard.
    pub fn volatile(&self) -> usize {
        self.data.volatile
    }

    /// All slot tables of this shard, with their global slot numbers.
    pub fn slot_tables(&self, shard_index: usize) -> impl Iterator<Item = (u16, &SlotTable)> {
        self.data
            .slots
            .iter()
            .enumerate()
            .map(move |(i, t)| ((i * SHARDS + shard_index) as u16, t))
    }

    /// Finds a key without expiring it or counting a hit (OBJECT, TTL bookkeeping).
    pub fn peek(&self, slot: u16, key: &[u8]) -> Option<&Entry> {
        let h = self.hash(key);
        let t = &self.data.slots[local(slot)];
        t.find(h, key).and_then(|at| t.get(at))
    }

    /// Finds a live key (one probe), reclaiming it if it expired. `read` counts a keyspace
    /// hit or miss and refreshes the access time.
    fn find_live(
        &mut self,
        slot: u16,
        key: &[u8],
        now_ms: u64,
        access: Access,
    ) -> Option<&mut Entry> {
        let read = matches!(access, Access::Read | Access::ReadNoTouch);
        let h = self.hash(key);
        let t = &mut self.data.slots[local(slot)];
        let Some((at, expired)) = t
            .find(h, key)
            .and_then(|at| Some((at, t.get(at)?.is_expired(now_ms))))
        else {
            if read {
                self.stats.misses += 1;
            }
            return None;
        };
        let live = !expired || self.expiry.live_to_caller();
        if !live && self.expiry.keeps() {
            if read {
                self.stats.misses += 1;
            }
            return None;
        }
        if live {
            if read {
                self.stats.hits += 1;
            }
            let e = t.get_mut(at)?;
            if self.lfu.enabled() {
                // Redis counts write lookups too under an LFU policy.
                if matches!(access, Access::Read | Access::Write) {
                    e.touch(self.lfu.accessed(e.lru(), now_ms));
                }
            } else if access == Access::Read {
                e.touch(super::entry::lru_clock(now_ms));
            }
            return Some(e);
        }
        drop(t.take(h, at, &self.hasher));
        // Only keys with a TTL can expire.
        t.volatile -= 1;
        self.data.volatile -= 1;
        self.data.keys -= 1;
        self.stats.expired += 1;
        if read {
            self.stats.misses += 1;
        }
        notify_watchers(&self.watched, key);
        self.expiry.reclaimed(self.db, key);
        None
    }

    /// Finds a live key, reclaiming it first if it expired. Counts no statistics.
    pub fn get_mut(&mut self, slot: u16, key: &[u8], now_ms: u64) -> Option<&mut Entry> {
        self.find_live(slot, key, now_ms, Access::Write)
    }

    /// Like [`Shard::get_mut`] for a read command: counts a keyspace hit or miss and
    /// refreshes the access time.
    pub fn lookup_read(&mut self, slot: u16, key: &[u8], now_ms: u64) -> Option<&mut Entry> {
        self.find_live(slot, key, now_ms, Access::Read)
    }

    /// Whether a live key exists (expired ones are reclaimed); not an access.
    pub fn contains(&mut self, slot: u16, key: &[u8], now_ms: u64) -> bool {
        self.find_live(slot, key, now_ms, Access::NoTouch).is_some()
    }

    /// Like [`Shard::lookup_read`] without refreshing the access time (TYPE).
    pub fn lookup_read_untouched(
        &mut self,
        slot: u16,
        key: &[u8],
        now_ms: u64,
    ) -> Option<&mut Entry> {
        self.find_live(slot, key, now_ms, Access::ReadNoTouch)
    }

    /// A live key without counting an access (OBJECT, TYPE, TTL: Redis's LOOKUP_NOTOUCH).
    pub fn get_untouched(&mut self, slot: u16, key: &[u8], now_ms: u64) -> Option<&mut Entry> {
        self.find_live(slot, key, now_ms, Access::NoTouch)
    }

    fn expire_key(&mut self, slot: u16, key: &[u8]) {
        if self.remove_entry(slot, key).is_some() {
            self.stats.expired += 1;
            self.expiry.reclaimed(self.db, key);
        }
    }

    /// Removes a key whatever its TTL, returning it. Signals watchers.
    fn remove_entry(&mut self, slot: u16, key: &[u8]) -> Option<Entry> {
        let h = self.hash(key);
        let t = &mut self.data.slots[local(slot)];
        let at = t.find(h, key)?;
        let e = t.take(h, at, &self.hasher)?;
        if e.expire_at() != 0 {
            t.volatile -= 1;
            self.data.volatile -= 1;
        }
        self.data.keys -= 1;
        self.signal(key);
        Some(e)
    }

    /// Deletes a live key, returning it (None if absent or expired).
    pub fn remove(&mut self, slot: u16, key: &[u8], now_ms: u64) -> Option<Entry> {
        self.get_mut(slot, key, now_ms)?;
        self.remove_entry(slot, key)
    }

    /// Stores `entry` (replacing any previous value, whose TTL is dropped unless `entry`
    /// has one). Signals watchers. Returns the previous live entry. Under an LFU policy a
    /// new key starts a fresh counter and an overwritten one keeps its counter.
    pub fn insert(&mut self, slot: u16, entry: Entry, now_ms: u64) -> Option<Entry> {
        self.store(slot, entry, now_ms, false)
    }

    /// Like [`Shard::insert`] for an object that keeps its access field (RENAME, MOVE).
    pub fn insert_moved(&mut self, slot: u16, entry: Entry, now_ms: u64) -> Option<Entry> {
        self.store(slot, entry, now_ms, true)
    }

    fn store(&mut self, slot: u16, entry: Entry, now_ms: u64, moved: bool) -> Option<Entry> {
        let h = self.hash(entry.key());
        let found = self.data.slots[local(slot)].find(h, entry.key());
        self.store_at(slot, h, found, entry, now_ms, moved)
    }

    /// [`Shard::store`] once the key's hash and place (if it is there) are known.
    // Inlined into both callers: as a call, MSET of ten short values took 3 % more
    // instructions and up to 10 % more time per request.
    #[inline(always)]
    fn store_at(
        &mut self,
        slot: u16,
        h: u64,
        found: Option<Loc>,
        mut entry: Entry,
        now_ms: u64,
        moved: bool,
    ) -> Option<Entry> {
        let lfu = self.lfu.enabled() && !moved;
        self.signal(entry.key());
        let new_volatile = entry.expire_at() != 0;
        let hasher = &self.hasher;
        let t = &mut self.data.slots[local(slot)];
        match found {
            Some(at) => {
                let current = t.get_mut(at)?;
                let expired = current.is_expired(now_ms) && !self.expiry.live_to_caller();
                if lfu {
                    if expired {
                        entry.touch(super::lfu::init(now_ms));
                    } else {
                        // An overwrite keeps the access counter (dbSetValue).
                        entry.touch(current.lru());
                    }
                }
                let old = std::mem::replace(current, entry);
                self.count_ttl_change(slot, old.expire_at() != 0, new_volatile);
                if expired {
                    self.stats.expired += 1;
                    // Redis looks the key up first, which deletes it (and replicates that).
                    if !self.expiry.keeps() {
                        self.expiry.reclaimed(self.db, old.key());
                    }
                    None
                } else {
                    Some(old)
                }
            }
            None => {
                if lfu {
                    entry.touch(super::lfu::init(now_ms));
                }
                t.push(h, entry, hasher);
                if new_volatile {
                    t.volatile += 1;
                    self.data.volatile += 1;
                }
                self.data.keys += 1;
                None
            }
        }
    }

    /// Sets or clears (0) the TTL of a live key. Returns false if the key does not exist.
    pub fn set_expire(&mut self, slot: u16, key: &[u8], at_ms: u64, now_ms: u64) -> bool {
        let Some(e) = self.get_mut(slot, key, now_ms) else {
            return false;
        };
        let before = e.expire_at() != 0;
        e.set_expire_raw(at_ms);
        self.count_ttl_change(slot, before, at_ms != 0);
        self.signal(key);
        true
    }

    /// Gives `key` the string `val` with the TTL `expire_at` (0: none), as Redis's setKey
    /// does, in one probe of the table. Under an LFU policy the key's write lookup counts an
    /// access, unless the caller's own lookup (`looked_up`, as setKey's flags say) already
    /// did. A live raw string of the same length takes the new bytes where it is, which
    /// spares the allocation of a new entry and the free of the old one, with what
    /// [`Shard::insert`] would also do: the TTL count follows, watchers are told, an LFU
    /// counter is kept. Anything else is stored as a new entry, as by `insert` (which also
    /// counts an expired key it replaces).
    pub fn store_str(
        &mut self,
        slot: u16,
        key: &[u8],
        val: &[u8],
        expire_at: u64,
        now_ms: u64,
        looked_up: bool,
    ) {
        let lru = lru_clock(now_ms);
        let h = self.hash(key);
        let found = self.data.slots[local(slot)].find(h, key);
        let lfu = self.lfu.enabled();
        let count_access = lfu && !looked_up;
        // Only a raw string (longer than an embstr) can be rewritten.
        let rewritable = val.len() > EMBSTR_LIMIT;
        if let Some(at) = found.filter(|_| count_access || rewritable) {
            if let Some(e) = self.data.slots[local(slot)].get_mut(at) {
                let live = !e.is_expired(now_ms) || self.expiry.live_to_caller();
                if live && count_access {
                    // The overwrite below keeps this counter (dbSetValue).
                    e.touch(self.lfu.accessed(e.lru(), now_ms));
                }
                if live && rewritable && e.rewrite_raw_str(val, (!lfu).then_some(lru)) {
                    let before = e.expire_at() != 0;
                    e.set_expire_raw(expire_at);
                    self.count_ttl_change(slot, before, expire_at != 0);
                    self.signal(key);
                    return;
                }
            }
        }
        let mut e = Entry::new_str(key, val, StrEncoding::Auto, lru);
        if expire_at != 0 {
            e.set_expire_raw(expire_at);
        }
        self.store_at(slot, h, found, e, now_ms, false);
    }

    /// Keeps the counts of keys with a TTL when one of `slot`'s keys gains or loses its TTL.
    fn count_ttl_change(&mut self, slot: u16, before: bool, after: bool) {
        let t = &mut self.data.slots[local(slot)];
        match (before, after) {
            (false, true) => {
                t.volatile += 1;
                self.data.volatile += 1;
            }
            (true, false) => {
                t.volatile -= 1;
                self.data.volatile -= 1;
            }
            _ => {}
        }
    }

    /// Marks a key as modified for WATCH (call after changing a value in place).
    pub fn signal(&mut self, key: &[u8]) {
        notify_watchers(&self.watched, key);
    }

    /// Registers a watcher for `key`.
    pub fn watch(&mut self, key: &[u8], flag: Arc<AtomicBool>) {
        self.watched.entry(key.into()).or_default().push(flag);
    }

    /// Removes a watcher of `key`.
    pub fn unwatch(&mut self, key: &[u8], flag: &Arc<AtomicBool>) {
        if let Some(v) = self.watched.get_mut(key) {
            v.retain(|f| !Arc::ptr_eq(f, flag));
            if v.is_empty() {
                self.watched.remove(key);
            }
        }
    }

    /// Flags every watcher whose key exists in this shard (FLUSHDB, SWAPDB).
    pub fn signal_existing(&mut self, now_ms: u64) {
        let keys: Vec<Box<[u8]>> = self.watched.keys().cloned().collect();
        for key in keys {
            let slot = super::slot::key_slot(&key);
            if self.peek(slot, &key).is_some_and(|e| !e.is_expired(now_ms)) {
                self.signal(&key);
            }
        }
    }

    /// Removes every key, returning how many there were.
    pub fn clear(&mut self) -> usize {
        let n = self.data.keys;
        for t in &mut self.data.slots {
            *t = SlotTable::default();
        }
        self.data.keys = 0;
        self.data.volatile = 0;
        n
    }

    /// Exchanges the data with another shard (SWAPDB); watchers stay with their database.
    pub fn swap_data(&mut self, other: &mut Shard) {
        std::mem::swap(&mut self.data, &mut other.data);
    }

    /// Reclaims expired keys of up to `budget` slot tables starting at the expiry cursor.
    /// Returns (keys examined, keys expired). A replica reclaims nothing (its master's DELs
    /// remove expired keys).
    pub fn expire_step(&mut self, budget: usize, now_ms: u64) -> (usize, usize) {
        if self.expiry.keeps() {
            return (0, 0);
        }
        let mut examined = 0;
        let mut expired_keys: Vec<(u16, Box<[u8]>)> = Vec::new();
        for _ in 0..budget.min(SLOTS_PER_SHARD) {
            let i = self.expire_cursor % SLOTS_PER_SHARD;
            self.expire_cursor = (i + 1) % SLOTS_PER_SHARD;
            let t = &self.data.slots[i];
            if t.volatile == 0 {
                continue;
            }
            for e in t.entries() {
                if e.expire_at() != 0 {
                    examined += 1;
                    if e.is_expired(now_ms) {
                        let slot = super::slot::key_slot(e.key());
                        expired_keys.push((slot, e.key().into()));
                    }
                }
            }
        }
        let n = expired_keys.len();
        for (slot, key) in expired_keys {
            self.expire_key(slot, &key);
        }
        (examined, n)
    }
}
