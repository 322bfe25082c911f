//! Redis replication, master and replica side, as redis-server 7.0.15 speaks it.
//!
//! * [`Replication`] (one per node, `Node::repl`) holds the replication ids and offsets, the
//!   backlog ([`backlog`]), the connected replicas and the link to our master.
//! * Master side ([`master`]): `REPLCONF`, `PSYNC`/`SYNC` turn a client connection into a
//!   replica. Stream bytes reach it through the connection's push queue (the path pub/sub
//!   messages take), so the connection task writes them in order after its own replies.
//!   A full resync registers the replica at the snapshot's instant, buffers the stream
//!   meanwhile, then queues `$<len>` (or `$EOF:<mark>`) + RDB + the buffer and goes online.
//! * Replica side ([`link`]): one task connects, does the handshake (PING, AUTH, REPLCONF
//!   listening-port, REPLCONF capa eof capa psync2, PSYNC), loads the RDB or continues
//!   from the backlog, then applies the stream as the master client (no replies, no
//!   read-only refusal, no cluster redirection), proxying the received bytes verbatim into
//!   its own backlog and to its own replicas (so after a promotion they continue: PSYNC2).
//!
//! # Order of the stream
//!
//! Commands run concurrently on several threads under per-shard locks, so appending to the
//! stream after a handler returns could put two writes of one key in the other order than
//! they were applied. While replication is active (a backlog exists) a write command first
//! takes the *propagation order locks* of its keys' shards (256 mutexes, ascending order,
//! keys from the command table's key specs), then runs and appends its stream entry before
//! releasing them: two writes of one key append in the order they applied. Keyless writes
//! (FLUSHALL, FLUSHDB, SWAPDB, ...) and EXEC take all 256. The order locks are always taken
//! before the keyspace's world lock, never while holding it (EXEC and SWAPDB take the world
//! lock exclusively inside their handler). A full resync's snapshot starts in the
//! keyspace's exclusive world moment, which no command straddles (a command holds the
//! shared world lock from its handler to its stream append), so the RDB equals the stream
//! up to the offset recorded there.
//!
//! A command is propagated when it changed the keyspace (the thread-local change counter,
//! [`stream::note_dirty`], moved while it ran), rewritten as 7.0 does where the effect
//! depends on time or chance ([`stream::rewrite`]). EXEC's commands are collected on the
//! thread and appended once, wrapped in MULTI/EXEC.
//!
//! A client blocked in BLPOP and friends and served by another client's push is propagated
//! as its pop right after that push ([`blocked_served`]). After an EOF-marked RDB the stream
//! waits for the replica's first acknowledgement, as 7.0 does (the replica looks for the
//! mark only at the end of what it has read).
//!
//! Cluster mode: `Effect::Replicate` starts or stops the link, our offset and link state are
//! fed to the core every tick and before each bus message ([`Replication::cluster_report`]),
//! and `PauseWrites` pauses client writes ([`Replication::admit_write`] counts the writes
//! already past the check so the pauser can drain them before reporting its offset).
//!
//! Expiry: a key reclaimed lazily or by the active cycle reaches replicas as `DEL key`
//! (`UNLINK` under `lazyfree-lazy-expire yes`), appended under its shard lock so it precedes
//! any later write of the key; a write command that found it expired sends it with its own
//! entry wrapped in MULTI/EXEC, as 7.0. A replica never reclaims keys: it hides an expired
//! key from clients (not from its master's commands) until the master's DEL arrives
//! (`keyspace::ExpiryHooks`).
//!
//! Not done: FAILOVER (the standalone command); a full resync's RDB is built in memory
//! first, then queued on the replica's connection 1 MB at a time as the connection writes
//! it (that connection's output limits are the pub/sub class's).
//!
//! Clients: replicas are flagged `S` and our master's link `M` in CLIENT LIST (the link's
//! client is not in the registry: [`Replication::master_client`]), CLIENT KILL TYPE
//! replica|slave|master drops them, and INFO's connected_clients counts the master's link
//! but not replicas ([`connected_clients`]), as Redis.

pub mod backlog;
mod info;
pub mod link;
pub mod master;
mod snapshot;
pub mod stream;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use bytes::Bytes;
use parking_lot::{Condvar, Mutex, MutexGuard};
use tokio_util::sync::CancellationToken;

use crate::commands::Command;
use crate::keyspace::{key_slot, shard_of, SHARDS};
use crate::net::ClientHandle;
use crate::node::Node;

pub use backlog::Backlog;
pub use info::{render_info, role_reply};
pub use stream::{is_master_client, note_dirty};

/// The state of a replica of ours, as INFO shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaState {
    /// Waiting for the snapshot to start.
    WaitBgsave,
    /// Snapshot taken; the RDB is being produced and sent.
    SendBulk,
    /// Receiving the command stream.
    Online,
}

impl ReplicaState {
    fn name(self) -> &'static str {
        match self {
            ReplicaState::WaitBgsave => "wait_bgsave",
            ReplicaState::SendBulk => "send_bulk",
            ReplicaState::Online => "online",
        }
    }
}

/// A replica connected to us.
pub struct ReplicaConn {
    /// Its client id.
    pub id: u64,
    handle: Arc<ClientHandle>,
    /// Address it announced (REPLCONF ip-address) or its peer address.
    pub ip: String,
    /// REPLCONF listening-port.
    pub port: i64,
    /// Where it is in the sync.
    pub state: ReplicaState,
    /// Offset it acknowledged.
    pub ack: u64,
    /// Unix ms of its last acknowledgement.
    pub ack_time_ms: u64,
    /// Stream bytes produced since its snapshot, until the RDB is queued (and, after an
    /// EOF-marked RDB, until its first acknowledgement).
    buffered: Vec<u8>,
    /// An EOF-marked RDB was sent: the stream waits for the replica's first REPLCONF ACK,
    /// since a replica finds the mark only at the end of what it has read (Redis 7.0's
    /// `repl_start_cmd_stream_on_ack`).
    await_ack: bool,
}

/// Resynchronisations served, counted as Redis 7.0 counts them.
#[derive(Debug, Clone, Copy, Default)]
pub struct SyncStats {
    /// Full resyncs (SYNC, or PSYNC that could not continue).
    pub full: u64,
    /// PSYNC continued from the backlog.
    pub partial_ok: u64,
    /// PSYNC naming a history (not `?`) that could not continue.
    pub partial_err: u64,
}

impl SyncStats {
    /// The three INFO stats lines.
    fn render(&self) -> String {
        format!(
            "sync_full:{}\r\nsync_partial_ok:{}\r\nsync_partial_err:{}\r\n",
            self.full, self.partial_ok, self.partial_err
        )
    }
}

/// A client's part in replication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientRole {
    /// One of our replicas (CLIENT LIST flag `S`, type replica/slave).
    Replica,
    /// Our master's link (flag `M`, type master).
    Master,
}

/// What a client told us with REPLCONF before PSYNC.
#[derive(Debug, Clone, Default)]
pub struct Announce {
    /// listening-port.
    pub port: i64,
    /// ip-address.
    pub ip: Option<String>,
    /// capa eof.
    pub capa_eof: bool,
}

/// The replica link's state (ROLE / INFO names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Waiting to connect.
    Connect,
    /// Connecting.
    Connecting,
    /// Handshake in progress.
    Handshake,
    /// Receiving the RDB.
    Transfer,
    /// Streaming.
    Connected,
}

impl LinkState {
    fn role_name(self) -> &'static str {
        match self {
            LinkState::Connect => "connect",
            LinkState::Connecting => "connecting",
            LinkState::Handshake => "handshake",
            LinkState::Transfer => "sync",
            LinkState::Connected => "connected",
        }
    }
}

/// Our master, when we are a replica.
pub struct MasterLink {
    /// master_host.
    pub host: String,
    /// master_port.
    pub port: u16,
    /// Link state.
    pub state: LinkState,
    /// Unix ms of the last byte read from the master (0 = none yet).
    pub last_io_ms: u64,
    /// Unix ms when the link went down (0 = never up).
    pub down_since_ms: u64,
    /// RDB bytes expected (0 = unknown, EOF-marked) and read so far.
    pub sync_total: u64,
    /// RDB bytes read so far.
    pub sync_read: u64,
    /// Whether a master client exists (we were connected at least once since REPLICAOF).
    pub has_master: bool,
    cancel: CancellationToken,
}

/// Ids, offsets, backlog, replicas and master link.
pub struct State {
    /// master_replid2.
    pub replid2: String,
    /// second_repl_offset (-1 = none).
    pub second_offset: i64,
    /// master_repl_offset: bytes of stream produced (master) or applied (replica).
    pub offset: u64,
    /// The backlog, once a replica has connected (or we synced with a master).
    pub backlog: Option<Backlog>,
    /// The database the stream last selected (None: the next entry starts with SELECT).
    seldb: Option<usize>,
    /// Our replicas.
    pub replicas: Vec<ReplicaConn>,
    /// REPLCONF announcements by client id, until PSYNC.
    announces: HashMap<u64, Announce>,
    /// Our master, if we are a replica.
    pub master: Option<MasterLink>,
    /// The client applying our master's stream, while the link streams (CLIENT LIST/KILL).
    master_client: Option<Arc<ClientHandle>>,
    /// INFO stats sync_full, sync_partial_ok, sync_partial_err.
    pub stats: SyncStats,
    /// Unix ms of the last PING sent to replicas.
    last_ping_ms: u64,
    /// The master link reached the streaming state since the cluster last asked.
    linked_since_report: bool,
}

#[repr(align(128))]
struct OrderLock(Mutex<()>);

impl OrderLock {
    /// Locks it, setting `waited` if another command held it.
    fn take(&self, waited: &mut bool) -> MutexGuard<'_, ()> {
        self.0.try_lock().unwrap_or_else(|| {
            *waited = true;
            self.0.lock()
        })
    }
}

/// Replication state of the node.
pub struct Replication {
    state: Mutex<State>,
    /// Signalled when a replica acknowledges (WAIT).
    acked: Condvar,
    order: Box<[OrderLock]>,
    /// A backlog exists: writes take order locks and are propagated.
    active: AtomicBool,
    /// `master` is set (we are a replica): read by every write command, so it is not
    /// behind the state lock.
    replica: AtomicBool,
    /// Client writes are paused until this unix ms (manual failover); 0 = not paused.
    paused_until: AtomicU64,
    /// Client writes admitted and still running.
    inflight: AtomicUsize,
    cron_started: AtomicBool,
    /// The node, for the tasks replication starts (set by [`Replication::install`]).
    node: Mutex<Weak<Node>>,
}

/// The null replication id.
pub const NULL_ID: &str = "0000000000000000000000000000000000000000";

/// 40 random hex characters (a replication id or an EOF mark).
pub fn random_id() -> String {
    (0..40)
        .map(|_| char::from(b"0123456789abcdef"[fastrand::usize(..16)]))
        .collect()
}

/// Client writes are paused (manual failover).
#[derive(Debug)]
pub struct Paused;

/// A client write admitted past the write pause (see [`Replication::admit_write`]).
pub struct WriteTicket<'a>(&'a AtomicUsize);

impl Drop for WriteTicket<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The order locks a command holds (for their drop): most commands have one key, hence
/// one lock, held without allocating.
#[derive(Default)]
struct OrderGuards<'a> {
    _one: Option<MutexGuard<'a, ()>>,
    _many: Vec<MutexGuard<'a, ()>>,
}

impl<'a> OrderGuards<'a> {
    fn one(g: MutexGuard<'a, ()>) -> Self {
        OrderGuards {
            _one: Some(g),
            _many: Vec::new(),
        }
    }

    fn many(gs: Vec<MutexGuard<'a, ()>>) -> Self {
        OrderGuards {
            _one: None,
            _many: gs,
        }
    }
}

/// A set of shard indices (below [`SHARDS`]) as a bitmap: sorted and without repeats for
/// free, so order locks are always taken in ascending order.
#[derive(Default)]
struct ShardSet([u64; SHARDS / 64]);

impl ShardSet {
    fn insert(&mut self, shard: usize) {
        if let Some(w) = self.0.get_mut(shard / 64) {
            *w |= 1 << (shard % 64);
        }
    }

    fn len(&self) -> u32 {
        self.0.iter().map(|w| w.count_ones()).sum()
    }

    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(i, &w)| {
            let mut rest = w;
            std::iter::from_fn(move || {
                let bit = rest.trailing_zeros() as usize;
                rest &= rest.wrapping_sub(1);
                (bit < 64).then_some(i * 64 + bit)
            })
        })
    }
}

/// Held around a write command: its order locks and where the change counter stood.
pub struct PropGuard<'a> {
    repl: &'a Replication,
    _locks: OrderGuards<'a>,
    /// The database the command started in.
    db: usize,
    /// The command's clock.
    now: u64,
    dirty_at: u64,
    reply_at: usize,
    exec: bool,
    /// Expiry deletions are deferred to the command's entry ([`stream::defer`]).
    defers: bool,
    /// Another command held one of the order locks: the command starts later than the
    /// clock reading before [`Replication::begin`].
    waited: bool,
}

impl PropGuard<'_> {
    /// Whether taking the order locks had to wait.
    pub fn waited(&self) -> bool {
        self.waited
    }
}

impl Drop for PropGuard<'_> {
    fn drop(&mut self) {
        // A command dropped before `finish` (a write pause) still owes its deletions.
        if self.defers {
            let pending = stream::defer_end();
            if !pending.is_empty() {
                self.repl.feed(&pending);
            }
        }
    }
}

impl Default for Replication {
    fn default() -> Self {
        Replication::new()
    }
}

impl Replication {
    /// Master role, no backlog, no replicas.
    pub fn new() -> Replication {
        Replication {
            state: Mutex::new(State {
                replid2: NULL_ID.to_owned(),
                second_offset: -1,
                offset: 0,
                backlog: None,
                seldb: None,
                replicas: Vec::new(),
                announces: HashMap::new(),
                master: None,
                master_client: None,
                stats: SyncStats::default(),
                last_ping_ms: 0,
                linked_since_report: false,
            }),
            acked: Condvar::new(),
            order: (0..SHARDS).map(|_| OrderLock(Mutex::new(()))).collect(),
            active: AtomicBool::new(false),
            replica: AtomicBool::new(false),
            paused_until: AtomicU64::new(0),
            inflight: AtomicUsize::new(0),
            cron_started: AtomicBool::new(false),
            node: Mutex::new(Weak::new()),
        }
    }

    /// Gives replication its node (call once the node is in its `Arc`), and starts
    /// replicating when `replicaof` is configured.
    pub fn install(node: &Arc<Node>) {
        *node.repl.node.lock() = Arc::downgrade(node);
        let weak = Arc::downgrade(node);
        node.keyspace.expiry.set_sink(Box::new(move |db, key| {
            if let Some(node) = weak.upgrade() {
                node.repl.expired(&node, db, key);
            }
        }));
        let weak = Arc::downgrade(node);
        node.config.on_resetstat(Box::new(move || {
            if let Some(node) = weak.upgrade() {
                node.repl.state.lock().stats = SyncStats::default();
            }
        }));
        let configured = node
            .config
            .get_text("replicaof")
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_default();
        let mut parts = configured.split_whitespace();
        if let (Some(host), Some(port)) = (parts.next(), parts.next().and_then(|p| p.parse().ok()))
        {
            node.repl.set_master(node, host, port);
        }
    }

    /// Whether the client is one of our replicas.
    pub fn is_replica_client(&self, client_id: u64) -> bool {
        self.state.lock().replicas.iter().any(|r| r.id == client_id)
    }

    /// What a replication client is to us (CLIENT LIST flags, CLIENT KILL TYPE), if it is one.
    pub fn client_role(&self, client_id: u64) -> Option<ClientRole> {
        let st = self.state.lock();
        if st.replicas.iter().any(|r| r.id == client_id) {
            Some(ClientRole::Replica)
        } else if st.master_client.as_ref().is_some_and(|c| c.id == client_id) {
            Some(ClientRole::Master)
        } else {
            None
        }
    }

    /// The client applying our master's stream (it is not in the client registry).
    pub fn master_client(&self) -> Option<Arc<ClientHandle>> {
        self.state.lock().master_client.clone()
    }

    /// The state (ids, offsets, replicas, link).
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    /// Whether we are a replica (REPLICAOF host port in effect).
    pub fn is_replica(&self) -> bool {
        self.replica.load(Ordering::Acquire)
    }

    /// Called under the state lock after every change of `backlog` or `master`.
    fn set_active(&self, st: &State) {
        self.replica.store(st.master.is_some(), Ordering::Release);
        self.active.store(
            st.backlog.is_some() && st.master.is_none(),
            Ordering::Release,
        );
    }

    /// Called before a command runs (before the world lock): takes the order locks of a
    /// write command while propagation is active. `reply_at` is where its reply starts.
    /// A command that never propagates (reads, most others) costs one flag test.
    #[inline]
    pub fn begin(
        &self,
        cmd: &Command,
        args: &[Bytes],
        reply_at: usize,
        db: usize,
        now: u64,
    ) -> Option<PropGuard<'_>> {
        // Nothing propagates without a backlog, outside a transaction being collected.
        if !cmd.flags.propagates || !self.active.load(Ordering::Acquire) && !stream::collecting() {
            return None;
        }
        self.begin_propagating(cmd, args, reply_at, db, now)
    }

    fn begin_propagating(
        &self,
        cmd: &Command,
        args: &[Bytes],
        reply_at: usize,
        db: usize,
        now: u64,
    ) -> Option<PropGuard<'_>> {
        // Pops queued by a command that was not propagated must not leak into the next
        // (they are queued only while propagating, and only a guard taken here takes them).
        drop(stream::take_also());
        let exec = cmd.flags.exec;
        if stream::is_master_client() {
            return None;
        }
        if stream::collecting() {
            return Some(PropGuard {
                repl: self,
                _locks: OrderGuards::default(),
                db,
                now,
                dirty_at: stream::dirty_mark(),
                reply_at,
                exec: false,
                defers: false,
                waited: false,
            });
        }
        if !self.active.load(Ordering::Acquire) {
            return None;
        }
        let mut shards = ShardSet::default();
        cmd.keys
            .key_indices(args.len())
            .chain(
                cmd.flags
                    .movable_keys
                    .then(|| crate::commands::movable_keys(cmd.name, args))
                    .flatten()
                    .unwrap_or_default(),
            )
            .filter_map(|i| args.get(i))
            .for_each(|k| shards.insert(shard_of(key_slot(k))));
        let count = shards.len();
        let all = exec || count == 0 || cmd.flags.orders_all;
        let mut waited = false;
        let locks = if all {
            OrderGuards::many(self.order.iter().map(|l| l.take(&mut waited)).collect())
        } else if count == 1 {
            match shards.iter().next().and_then(|i| self.order.get(i)) {
                Some(l) => OrderGuards::one(l.take(&mut waited)),
                None => OrderGuards::default(),
            }
        } else {
            OrderGuards::many(
                shards
                    .iter()
                    .filter_map(|i| self.order.get(i))
                    .map(|l| l.take(&mut waited))
                    .collect(),
            )
        };
        if exec {
            stream::collect_begin();
        } else {
            stream::defer_begin();
        }
        Some(PropGuard {
            repl: self,
            _locks: locks,
            db,
            now,
            dirty_at: stream::dirty_mark(),
            reply_at,
            exec,
            defers: !exec,
            waited,
        })
    }

    /// Whether a command that skipped [`Replication::begin`]'s locks must retry because
    /// propagation became active meanwhile (checked under the world lock).
    pub fn needs_retry(&self, cmd: &Command, guard: &Option<PropGuard<'_>>) -> bool {
        guard.is_none()
            && (cmd.flags.write || cmd.flags.exec)
            && self.active.load(Ordering::Acquire)
            && !stream::is_master_client()
            && !stream::collecting()
    }

    /// Called after the handler, still under the world lock and the order locks: appends
    /// what the command did to the stream.
    pub fn finish(
        &self,
        node: &Node,
        guard: Option<PropGuard<'_>>,
        cmd: &Command,
        args: &[Bytes],
        reply: &[u8],
    ) {
        let Some(g) = guard else {
            return;
        };
        let (db, now) = (g.db, g.now);
        if g.exec {
            let cmds = stream::collect_end();
            if !cmds.is_empty() {
                let mut all = Vec::with_capacity(cmds.len() + 2);
                all.push((None, vec![Bytes::from_static(b"MULTI")]));
                all.extend(cmds);
                all.push((None, vec![Bytes::from_static(b"EXEC")]));
                self.feed(&all);
            }
            return;
        }
        let changed = stream::dirty_mark() != g.dirty_at;
        let served = stream::take_also();
        // Expired keys the command found go first; with its own entry they are wrapped in
        // MULTI/EXEC, as 7.0 wraps a command's several propagated operations.
        let mut cmds = if g.defers {
            stream::defer_end()
        } else {
            Vec::new()
        };
        // The common write: itself, as it came, alone.
        if changed
            && cmd
                .flags
                .replica_form
                .is_none_or(|f| !f.may_apply(args.len()))
            && cmds.is_empty()
            && served.is_empty()
            && !stream::collecting()
        {
            self.feed(&[(Some(db), args)]);
            return;
        }
        let deleted = cmds.len();
        // PUBLISH goes to replicas outside cluster mode only (the bus carries it there).
        let publish = cmd.flags.publish && !node.cluster_enabled();
        if changed || publish {
            let reply = reply.get(g.reply_at..).unwrap_or_default();
            cmds.extend(
                stream::rewrite(node, db, cmd.flags.replica_form, args, reply, now)
                    .into_iter()
                    .map(|c| (Some(db), c)),
            );
        }
        if deleted > 0 && cmds.len() > 1 {
            cmds.insert(0, (Some(db), vec![Bytes::from_static(b"MULTI")]));
            cmds.push((None, vec![Bytes::from_static(b"EXEC")]));
        }
        if changed || publish {
            cmds.extend(served);
        }
        if cmds.is_empty() {
            return;
        }
        if stream::collecting() {
            stream::collect(cmds);
        } else {
            self.feed(&cmds);
        }
    }

    /// Appends commands to the stream, each run in its database (None: any database),
    /// preceded by SELECT when the database changes.
    pub fn feed<C: AsRef<[Bytes]>>(&self, cmds: &[(Option<usize>, C)]) {
        // Encoded outside the lock; the lock covers only the SELECT decision and the copy.
        stream::with_scratch(|buf| {
            let mut dbs = cmds.iter().filter_map(|(db, _)| *db);
            let first = dbs.next();
            let uniform = dbs.all(|d| Some(d) == first);
            for (_, c) in cmds {
                resp_proto::encode_command(buf, c.as_ref());
            }
            let mut st = self.state.lock();
            if st.master.is_some() || st.backlog.is_none() {
                return;
            }
            if uniform && (first.is_none() || st.seldb == first) {
                append(&mut st, buf);
                return;
            }
            buf.clear();
            for (db, c) in cmds {
                if let Some(db) = *db {
                    if st.seldb != Some(db) {
                        let select = [Bytes::from_static(b"SELECT"), Bytes::from(db.to_string())];
                        resp_proto::encode_command(buf, &select);
                        st.seldb = Some(db);
                    }
                }
                resp_proto::encode_command(buf, c.as_ref());
            }
            append(&mut st, buf);
        });
    }

    /// A key of `db` was reclaimed because its TTL passed (lazily or by the active cycle;
    /// called under its shard lock): replicas are told `DEL key` (`UNLINK` under
    /// `lazyfree-lazy-expire yes`), as 7.0's propagateDeletion. Inside EXEC it joins the
    /// transaction's commands.
    fn expired(&self, node: &Node, db: usize, key: &[u8]) {
        let collecting = stream::collecting();
        if !collecting && !self.active.load(Ordering::Acquire) {
            return;
        }
        let lazy = node
            .config
            .get_text("lazyfree-lazy-expire")
            .is_some_and(|v| v.eq_ignore_ascii_case(b"yes"));
        let name = if lazy { "UNLINK" } else { "DEL" };
        let cmd = vec![(
            Some(db),
            vec![
                Bytes::from_static(name.as_bytes()),
                Bytes::copy_from_slice(key),
            ],
        )];
        if collecting {
            stream::collect(cmd);
        } else if let Some(cmd) = stream::defer(cmd) {
            self.feed(&cmd);
        }
    }

    /// Pauses client writes until `until_ms` (manual failover), or lifts the pause (0).
    pub fn pause_writes(&self, until_ms: u64) {
        self.paused_until.store(until_ms, Ordering::SeqCst);
    }

    fn paused_now(&self) -> bool {
        let until = self.paused_until.load(Ordering::SeqCst);
        until != 0 && crate::keyspace::now_ms() < until
    }

    /// Admits a client write past the write pause: `Err` while paused; otherwise the write
    /// counts as running until the ticket drops (after its stream append), so a pauser can
    /// wait for running writes ([`Replication::drain_writes`]).
    #[inline]
    pub fn admit_write(&self, cmd: &Command) -> Result<Option<WriteTicket<'_>>, Paused> {
        if !(cmd.flags.write || cmd.flags.exec) || stream::is_master_client() {
            return Ok(None);
        }
        self.inflight.fetch_add(1, Ordering::SeqCst);
        let ticket = WriteTicket(&self.inflight);
        if self.paused_now() {
            return Err(Paused);
        }
        Ok(Some(ticket))
    }

    /// After [`Replication::pause_writes`]: waits (at most a second) until no admitted
    /// write is still running, so the offset read next is final.
    pub fn drain_writes(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
        while self.inflight.load(Ordering::SeqCst) > 0 && std::time::Instant::now() < deadline {
            std::thread::yield_now();
        }
    }

    /// Blocks a client's write while writes are paused (CLIENT PAUSE WRITE semantics):
    /// returns once the pause is lifted or expires, or the client is killed. True when it
    /// waited.
    #[inline]
    pub fn wait_write_pause(&self, cmd: &Command, client: &ClientHandle) -> bool {
        (cmd.flags.write || cmd.flags.exec)
            && self.paused_until.load(Ordering::SeqCst) != 0
            && self.wait_client_write_pause(client)
    }

    fn wait_client_write_pause(&self, client: &ClientHandle) -> bool {
        if stream::is_master_client() {
            return false;
        }
        if !self.paused_now() {
            return false;
        }
        master::block_briefly(|| !self.paused_now() || client.is_killed());
        true
    }

    /// What the cluster's election and data-age checks need: our offset, whether the link
    /// to our master is up, and when we last read from it (unix ms). A link that came up
    /// and went down again since the last call is reported up first, so the cluster knows
    /// the replica was linked (and when the link dropped).
    pub fn cluster_report(&self) -> Vec<(u64, bool, Option<u64>)> {
        let mut st = self.state.lock();
        let link = st.master.as_ref();
        let up = link.is_some_and(|m| m.state == LinkState::Connected);
        let last_io = link.map(|m| m.last_io_ms).filter(|&t| t > 0);
        let mut out = Vec::with_capacity(2);
        if !up && st.linked_since_report {
            out.push((st.offset, true, last_io));
        }
        st.linked_since_report = false;
        out.push((st.offset, up, last_io));
        out
    }

    /// Forgets a closing client (a replica of ours, or one that sent REPLCONF).
    pub fn disconnect(&self, client_id: u64) {
        let mut st = self.state.lock();
        st.announces.remove(&client_id);
        st.replicas.retain(|r| r.id != client_id);
        drop(st);
        self.acked.notify_all();
    }
}

/// INFO's sync_full, sync_partial_ok and sync_partial_err lines (the state lock is released
/// before the caller renders the rest).
pub fn sync_stats_info(node: &Node) -> String {
    let stats = node.repl.state.lock().stats;
    stats.render()
}

/// INFO connected_clients as Redis counts it: our replicas are not, our master's link is.
pub fn connected_clients(node: &Node) -> usize {
    let st = node.repl.state.lock();
    node.clients
        .len()
        .saturating_sub(st.replicas.len())
        .saturating_add(usize::from(st.master_client.is_some()))
}

/// A client blocked in `args` (BLPOP key..., as if it had run now on the key that served
/// it; `form`: that command's [`stream::ReplicaForm`]) got `reply` from a push of the running
/// command: its pop goes into the stream right after that command.
pub fn blocked_served(
    node: &Node,
    db: usize,
    form: Option<stream::ReplicaForm>,
    args: &[Bytes],
    reply: &[u8],
    now: u64,
) {
    let propagating = node.repl.active.load(Ordering::Acquire) || stream::collecting();
    if !propagating || stream::is_master_client() {
        return;
    }
    let cmds = stream::rewrite(node, db, form, args, reply, now);
    stream::also(cmds.into_iter().map(|c| (Some(db), c)).collect());
}

/// Appends stream bytes: backlog, offset, replicas (online ones get them now, syncing ones
/// once their RDB is queued).
fn append(st: &mut State, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    if let Some(b) = st.backlog.as_mut() {
        b.append(bytes);
    }
    st.offset += bytes.len() as u64;
    for r in &mut st.replicas {
        match r.state {
            ReplicaState::Online if !r.await_ack => r.handle.push(bytes),
            ReplicaState::Online | ReplicaState::SendBulk => r.buffered.extend_from_slice(bytes),
            ReplicaState::WaitBgsave => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_sets_list_each_shard_once_in_ascending_order() {
        let mut s = ShardSet::default();
        assert_eq!(s.len(), 0);
        for i in [255, 3, 64, 3, 0, 63, 128, 255] {
            s.insert(i);
        }
        assert_eq!(s.len(), 6);
        assert_eq!(s.iter().collect::<Vec<_>>(), [0, 3, 63, 64, 128, 255]);
        s.insert(SHARDS);
        assert_eq!(s.len(), 6);
    }
}
