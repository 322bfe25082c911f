//! A lock shard: the key tables of the slots `s` with `s % SHARDS == index`.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

// hashbrown 0.17 exposes bucket indices, which SCAN's cursor is made of.
use hashbrown::HashTable;

use super::entry::{lru_clock, Entry, StrEncoding, EMBSTR_LIMIT};
use super::slot::SLOTS;

/// Number of lock shards per database (a power of two dividing [`SLOTS`]).
pub const SHARDS: usize = 256;

/// Slots held by one shard.
pub const SLOTS_PER_SHARD: usize = SLOTS / SHARDS;

/// The hasher every key table uses (seeded once per process against hash flooding).
pub type KeyHasher = foldhash::fast::RandomState;

/// The keys of one hash slot, in one of two layouts.
///
/// A slot starts with its entries in place in the hash table: a lookup reads the table's
/// control bytes and then the entry, nothing else. But a table holding 48-byte entries in
/// place costs ~90 bytes per key at the half-full loads that power-of-two tables end up at,
/// so past [`DENSE_FROM`] keys the slot moves its entries into a dense vector and keeps only
/// their positions in the table (2 bytes each, 4 past 65536 keys, 8 past 2^32: ~7 bytes per
/// key at that load; the vector grows by a quarter at a time so its slack stays near a
/// tenth). A lookup then pays one more hop, table to vector, as Redis's does from bucket to
/// dictEntry; the keyspaces big enough for that to matter are the ones where the memory
/// does.
#[derive(Default)]
#[repr(align(64))]
pub struct SlotTable {
    keys: Keys,
    /// Keys in this slot that have a TTL, so the expiry cycle can skip slots without any.
    volatile: u32,
    /// Changes whenever the table may have moved its entries to other buckets (a rehash
    /// on insert, or a change of layout), which invalidates bucket positions held by SCAN
    /// cursors.
    generation: u16,
}

/// Keys a slot holds in place before it moves to the dense layout: the capacity of a
/// 32-bucket table, whose next growth would be the first to cost more than ~3 KB.
const DENSE_FROM: usize = 28;

enum Keys {
    /// Entries in place in the table.
    Inline(HashTable<Entry>),
    /// Up to 65536 entries, in a dense vector.
    Dense(Dense<u16>),
    /// Up to 2^32 (boxed so that the slot header stays one cache line).
    Wide(Box<Dense<u32>>),
    /// More: a slot can hold as many keys as memory allows, as a Redis dict can.
    Huge(Box<Dense<usize>>),
}

impl Default for Keys {
    fn default() -> Keys {
        Keys::Inline(HashTable::new())
    }
}

/// `$inline` on an in-place table, `$dense` on a dense layout of any position width.
macro_rules! by_layout {
    ($keys:expr, $t:ident => $inline:expr, $d:ident => $dense:expr) => {
        match $keys {
            Keys::Inline($t) => $inline,
            Keys::Dense($d) => $dense,
            Keys::Wide($d) => $dense,
            Keys::Huge($d) => $dense,
        }
    };
}

/// Where a found key is: a bucket of the in-place table, or a position in the dense
/// vector.
type Loc = usize;

/// A position in a dense slot's vector, as its table stores it.
trait Position: Copy + Eq {
    /// `at` as a position, if it fits.
    fn new(at: usize) -> Option<Self>;
    fn at(self) -> usize;
}

impl Position for u16 {
    fn new(at: usize) -> Option<u16> {
        u16::try_from(at).ok()
    }
    fn at(self) -> usize {
        usize::from(self)
    }
}

impl Position for u32 {
    fn new(at: usize) -> Option<u32> {
        u32::try_from(at).ok()
    }
    fn at(self) -> usize {
        self as usize
    }
}

impl Position for usize {
    fn new(at: usize) -> Option<usize> {
        Some(at)
    }
    fn at(self) -> usize {
        self
    }
}

/// Entries in a vector, found through a table of their positions hashed by their keys.
/// SCAN's bucket positions are positions in this table, which a removal never moves.
struct Dense<P> {
    table: HashTable<P>,
    entries: Vec<Entry>,
}

impl<P: Position> Dense<P> {
    /// A dense layout of `entries`, or them back if a position would not fit in `P`.
    fn build(entries: Vec<Entry>, hasher: &KeyHasher) -> Result<Dense<P>, Vec<Entry>> {
        if entries
            .len()
            .checked_sub(1)
            .is_some_and(|last| P::new(last).is_none())
        {
            return Err(entries);
        }
        let mut table = HashTable::with_capacity(entries.len() + 1);
        for (i, e) in entries.iter().enumerate() {
            if let Some(p) = P::new(i) {
                table.insert_unique(hasher.hash_one(e.key()), p, |&p: &P| {
                    entries.get(p.at()).map_or(0, |e| hasher.hash_one(e.key()))
                });
            }
        }
        Ok(Dense { table, entries })
    }

    #[inline(always)]
    fn find(&self, h: u64, key: &[u8]) -> Option<Loc> {
        let entries = &self.entries;
        self.table
            .find(h, |&p| entries.get(p.at()).is_some_and(|e| e.key() == key))
            .map(|&p| p.at())
    }

    fn bucket(&self, i: usize) -> Option<&Entry> {
        self.table
            .get_bucket(i)
            .and_then(|&p| self.entries.get(p.at()))
    }

    /// Adds an entry whose key is not in the table yet (`h` its hash). Returns whether
    /// the table rehashed, or the entry back if its position does not fit in `P`.
    fn push(&mut self, h: u64, entry: Entry, hasher: &KeyHasher) -> Result<bool, Entry> {
        let at = self.entries.len();
        let Some(pos) = P::new(at) else {
            return Err(entry);
        };
        if at == self.entries.capacity() {
            // Growing by a quarter, not doubling: the slack is memory held per key.
            self.entries.reserve_exact((at / 4).max(4));
        }
        self.entries.push(entry);
        let rehash = self.table.len() >= self.table.capacity();
        let entries = &self.entries;
        self.table.insert_unique(h, pos, |&p| {
            entries.get(p.at()).map_or(0, |e| hasher.hash_one(e.key()))
        });
        Ok(rehash)
    }

    /// Takes out the entry at `at` (whose key hashes to `h`). The last entry moves into
    /// its place, and its table slot is pointed there; no entry changes bucket.
    fn take(&mut self, h: u64, at: Loc, hasher: &KeyHasher) -> Option<Entry> {
        let last = self.entries.len().checked_sub(1)?;
        if at > last {
            return None;
        }
        let (pos, last_pos) = (P::new(at)?, P::new(last)?);
        self.table.find_entry(h, |&p| p == pos).ok()?.remove();
        if at != last {
            let moved = self.entries.get(last).map(|e| hasher.hash_one(e.key()))?;
            if let Some(slot) = self.table.find_mut(moved, |&p| p == last_pos) {
                *slot = pos;
            }
        }
        let e = self.entries.swap_remove(at);
        // Give back what mass deletions left unused (the vector never shrinks on its own).
        let (len, cap) = (self.entries.len(), self.entries.capacity());
        if cap > 16 && len < cap / 2 {
            self.entries.shrink_to(len + len / 4);
        }
        Some(e)
    }
}

impl SlotTable {
    /// Number of keys (including logically expired ones not yet reclaimed).
    pub fn len(&self) -> usize {
        by_layout!(&self.keys, t => t.len(), d => d.entries.len())
    }

    /// Whether the slot has no keys.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every entry, in table order.
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        (0..self.num_buckets()).filter_map(|i| self.bucket(i))
    }

    /// Every entry, in no particular order (cheaper than [`SlotTable::iter`] when dense).
    fn entries(&self) -> impl Iterator<Item = &Entry> {
        let (inline, dense) = by_layout!(
            &self.keys,
            t => (Some(t.iter()), None),
            d => (None, Some(d.entries.iter()))
        );
        inline
            .into_iter()
            .flatten()
            .chain(dense.into_iter().flatten())
    }

    fn num_buckets(&self) -> usize {
        by_layout!(&self.keys, t => t.num_buckets(), d => d.table.num_buckets())
    }

    fn bucket(&self, i: usize) -> Option<&Entry> {
        by_layout!(&self.keys, t => t.get_bucket(i), d => d.bucket(i))
    }

    /// See the `generation` field: a bucket position is only meaningful with the
    /// generation it was taken at.
    pub fn generation(&self) -> u16 {
        self.generation
    }

    /// Visits the entries from bucket `pos` on, in bucket order, while `visit` returns
    /// true. Returns the bucket to resume from, or None when the table's end was reached.
    /// Without a rehash in between, resuming never skips an entry that stayed in the table
    /// (a removal moves no entry to another bucket).
    pub fn scan_from(&self, pos: usize, mut visit: impl FnMut(&Entry) -> bool) -> Option<usize> {
        let buckets = self.num_buckets();
        let mut i = pos;
        while i < buckets {
            let e = self.bucket(i);
            i += 1;
            if let Some(e) = e {
                if !visit(e) {
                    return (i < buckets).then_some(i);
                }
            }
        }
        None
    }

    /// Number of keys with a TTL.
    pub fn volatile(&self) -> u32 {
        self.volatile
    }

    /// Where `key` (whose hash is `h`) is. (Inlined, with `get` and `get_mut`, so that
    /// the three tests of the layout in a lookup fold into one.)
    #[inline(always)]
    fn find(&self, h: u64, key: &[u8]) -> Option<Loc> {
        by_layout!(
            &self.keys,
            t => t.find_bucket_index(h, |e| e.key() == key),
            d => d.find(h, key)
        )
    }

    #[inline(always)]
    fn get(&self, at: Loc) -> Option<&Entry> {
        by_layout!(&self.keys, t => t.get_bucket(at), d => d.entries.get(at))
    }

    #[inline(always)]
    fn get_mut(&mut self, at: Loc) -> Option<&mut Entry> {
        by_layout!(
            &mut self.keys,
            t => t.get_bucket_mut(at),
            d => d.entries.get_mut(at)
        )
    }

    /// Adds an entry whose key is not in the table yet (`h` its hash). Returns whether
    /// entries changed buckets (a rehash, or a change of layout).
    fn push(&mut self, h: u64, entry: Entry, hasher: &KeyHasher) -> bool {
        if let Keys::Inline(t) = &mut self.keys {
            if t.len() < DENSE_FROM {
                let rehash = t.len() >= t.capacity();
                t.insert_unique(h, entry, |e| hasher.hash_one(e.key()));
                return rehash;
            }
        }
        // Past DENSE_FROM keys in place, or past what the positions hold (65536 for 2-byte,
        // 2^32 for 4-byte ones): every entry moves to the next layout.
        let (mut entries, entry) = by_layout!(
            &mut self.keys,
            t => {
                let mut entries = Vec::with_capacity(t.len() + t.len() / 4 + 1);
                entries.extend(std::mem::take(t));
                (entries, entry)
            },
            d => match d.push(h, entry, hasher) {
                Ok(rehash) => return rehash,
                Err(entry) => (std::mem::take(&mut d.entries), entry),
            }
        );
        entries.push(entry);
        self.keys = relayout(entries, hasher);
        true
    }

    /// Takes out the entry at `at` (whose key hashes to `h`); no other entry changes
    /// bucket.
    fn take(&mut self, h: u64, at: Loc, hasher: &KeyHasher) -> Option<Entry> {
        by_layout!(
            &mut self.keys,
            t => Some(t.get_bucket_entry(at).ok()?.remove().0),
            d => d.take(h, at, hasher)
        )
    }
}

/// Lays `entries` out in the narrowest dense form their positions fit.
fn relayout(entries: Vec<Entry>, hasher: &KeyHasher) -> Keys {
    let entries = match Dense::build(entries, hasher) {
        Ok(d) => return Keys::Dense(d),
        Err(entries) => entries,
    };
    let entries = match Dense::build(entries, hasher) {
        Ok(d) => return Keys::Wide(Box::new(d)),
        Err(entries) => entries,
    };
    let entries = match Dense::build(entries, hasher) {
        Ok(d) => return Keys::Huge(Box::new(d)),
        Err(entries) => entries,
    };
    // Unreachable (every position fits a word), but keep every entry regardless.
    let mut t = HashTable::with_capacity(entries.len());
    for e in entries {
        t.insert_unique(hasher.hash_one(e.key()), e, |e| hasher.hash_one(e.key()));
    }
    Keys::Inline(t)
}

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
                if t.push(h, entry, hasher) {
                    t.generation = t.generation.wrapping_add(1);
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_header_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<SlotTable>(), 64);
    }

    #[test]
    fn positions_refuse_what_does_not_fit() {
        assert_eq!(<u16 as Position>::new(65535), Some(u16::MAX));
        assert_eq!(<u16 as Position>::new(65536), None);
        assert_eq!(<u32 as Position>::new(u32::MAX as usize), Some(u32::MAX));
        assert_eq!(<u32 as Position>::new(u32::MAX as usize + 1), None);
        assert_eq!(
            <usize as Position>::new(u32::MAX as usize + 1),
            Some(u32::MAX as usize + 1)
        );
    }

    /// Keys added one by one across the move to the dense layout, and removed again, are
    /// found with their own values at every step.
    #[test]
    fn keys_survive_the_move_to_the_dense_layout() {
        let hasher = KeyHasher::default();
        let mut t = SlotTable::default();
        let key = |i: usize| format!("k{i}").into_bytes();
        let n = DENSE_FROM * 3;
        let generation = t.generation;
        for i in 0..n {
            let k = key(i);
            let h = hasher.hash_one(&k);
            assert_eq!(t.find(h, &k), None);
            let e = Entry::new_int(&k, i as i64, 0);
            if t.push(h, e, &hasher) {
                t.generation = t.generation.wrapping_add(1);
            }
            assert_eq!(t.len(), i + 1);
            assert_eq!(matches!(t.keys, Keys::Dense(_)), i + 1 > DENSE_FROM);
            for j in 0..=i {
                let k = key(j);
                let at = t.find(hasher.hash_one(&k), &k);
                assert_eq!(at.and_then(|at| t.get(at)).map(|e| e.key()), Some(&k[..]));
            }
        }
        assert_ne!(t.generation, generation);
        assert_eq!(t.iter().count(), n);
        for i in (0..n).step_by(2) {
            let k = key(i);
            let h = hasher.hash_one(&k);
            let at = t.find(h, &k);
            assert!(at.and_then(|at| t.take(h, at, &hasher)).is_some(), "{i}");
        }
        for i in 0..n {
            let k = key(i);
            let found = t.find(hasher.hash_one(&k), &k).and_then(|at| t.get(at));
            assert_eq!(found.is_some(), i % 2 == 1, "{i}");
        }
        let mut walked = 0;
        assert_eq!(
            t.scan_from(0, |_| {
                walked += 1;
                true
            }),
            None
        );
        assert_eq!(walked, n / 2);
    }

    /// A slot past 65536 keys moves to 4-byte positions and keeps every key.
    #[test]
    fn a_slot_past_65536_keys_widens_its_positions() {
        let hasher = KeyHasher::default();
        let mut t = SlotTable::default();
        let key = |i: usize| format!("{i}").into_bytes();
        let n = 65536 + 300;
        for i in 0..n {
            let k = key(i);
            let wide_before = matches!(t.keys, Keys::Wide(_));
            let moved = t.push(hasher.hash_one(&k), Entry::new_int(&k, 0, 0), &hasher);
            if i == 65536 {
                assert!(!wide_before && moved);
            }
        }
        assert!(matches!(t.keys, Keys::Wide(_)));
        assert_eq!(t.len(), n);
        for i in (0..n).step_by(3) {
            let k = key(i);
            let h = hasher.hash_one(&k);
            assert!(t
                .find(h, &k)
                .and_then(|at| t.take(h, at, &hasher))
                .is_some());
        }
        for i in 0..n {
            let k = key(i);
            let found = t.find(hasher.hash_one(&k), &k).and_then(|at| t.get(at));
            assert_eq!(
                found.map(|e| e.key()),
                (i % 3 != 0).then_some(&k[..]),
                "{i}"
            );
        }
        assert_eq!(t.iter().count(), t.len());
    }
}
