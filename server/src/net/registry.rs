//! The client registry: what CLIENT LIST / KILL / INFO and pub/sub delivery need to know
//! about every connection.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::ObufLimit;

/// One connected client as others see it.
pub struct ClientHandle {
    /// CLIENT ID.
    pub id: u64,
    /// Peer address.
    pub addr: SocketAddr,
    /// Local address.
    pub laddr: SocketAddr,
    /// File descriptor (CLIENT LIST fd=).
    pub fd: i64,
    /// Connection time.
    pub created: Instant,
    name: Mutex<Option<Bytes>>,
    last_cmd: Mutex<&'static str>,
    /// Unix ms of the last command (idle=).
    pub last_active: AtomicU64,
    /// Selected db (db=).
    pub db: AtomicUsize,
    /// Channel subscriptions (sub=).
    pub sub: AtomicUsize,
    /// Pattern subscriptions (psub=).
    pub psub: AtomicUsize,
    /// Shard channel subscriptions (ssub=), kept by the pub/sub registry.
    pub ssub: AtomicUsize,
    /// Queued commands, -1 outside MULTI (multi=).
    pub multi: AtomicI64,
    /// Speaks RESP3 (resp=3).
    pub resp3: AtomicBool,
    /// CLIENT NO-EVICT on.
    pub no_evict: AtomicBool,
    /// In a blocking command (flag `b`), kept by commands::blocking.
    pub blocked: AtomicBool,
    /// In MONITOR mode (flag `O`), kept by commands::monitor.
    pub monitor: AtomicBool,
    /// Bytes waiting in the output buffer (omem=).
    pub omem: AtomicU64,
    push: Mutex<PushQueue>,
    /// Woken when pub/sub messages are queued or a blocked command was served.
    pub push_notify: Wakeup,
    /// Cancelled to close the connection (CLIENT KILL, output limits, shutdown); a child
    /// of the server's shutdown token (or of the replication link's).
    kill: CancellationToken,
    /// Set by [`ClientHandle::kill`] before it cancels `kill`: the connection loop checks
    /// this on every round, where `CancellationToken::is_cancelled` takes a mutex.
    killed: AtomicBool,
    /// When the pending output last reached the soft limit: milliseconds since `created`
    /// plus one, 0 while under it (Redis's obuf_soft_limit_reached_time).
    soft_since: AtomicU64,
}

/// Capacity a drained push queue keeps for the next messages.
const PUSH_KEEP: usize = 64 * 1024;

/// Pub/sub messages waiting for the connection task, and the limit they are held to.
struct PushQueue {
    bytes: BytesMut,
    limit: ObufLimit,
}

impl ClientHandle {
    /// A handle for a new connection. `pubsub_limit` holds its pub/sub messages; `kill`
    /// closes the connection when cancelled (a child of the server's shutdown token).
    pub fn new(
        id: u64,
        addr: SocketAddr,
        laddr: SocketAddr,
        fd: i64,
        pubsub_limit: ObufLimit,
        kill: CancellationToken,
    ) -> ClientHandle {
        ClientHandle {
            id,
            addr,
            laddr,
            fd,
            created: Instant::now(),
            name: Mutex::new(None),
            last_cmd: Mutex::new("NULL"),
            last_active: AtomicU64::new(crate::keyspace::now_ms()),
            db: AtomicUsize::new(0),
            sub: AtomicUsize::new(0),
            psub: AtomicUsize::new(0),
            ssub: AtomicUsize::new(0),
            multi: AtomicI64::new(-1),
            resp3: AtomicBool::new(false),
            no_evict: AtomicBool::new(false),
            blocked: AtomicBool::new(false),
            monitor: AtomicBool::new(false),
            omem: AtomicU64::new(0),
            push: Mutex::new(PushQueue {
                bytes: BytesMut::new(),
                limit: pubsub_limit,
            }),
            push_notify: Wakeup::default(),
            kill,
            killed: AtomicBool::new(false),
            soft_since: AtomicU64::new(0),
        }
    }

    /// Closes the connection (CLIENT KILL, output limits, shutdown, a replica's resync).
    pub fn kill(&self) {
        self.killed.store(true, Ordering::Release);
        self.kill.cancel();
        // A token already cancelled through its parent (the shutdown) wakes nobody again,
        // and the connection may have gone back to sleep before `killed` was set.
        self.push_notify.notify_one();
    }

    /// Whether [`ClientHandle::kill`] was called: one atomic load. A cancellation of the
    /// parent token alone shows in [`ClientHandle::killed`], and here once the shutdown
    /// kills every client (`Registry::kill_all`).
    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::Acquire)
    }

    /// Completes once the connection is to close, whichever token was cancelled.
    pub fn killed(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.kill.cancelled()
    }

    /// The token that closes the connection, for a loop that selects on it by value.
    pub fn kill_token(&self) -> CancellationToken {
        self.kill.clone()
    }

    /// CLIENT SETNAME's value.
    pub fn name(&self) -> Option<Bytes> {
        self.name.lock().clone()
    }

    /// Sets or clears the name.
    pub fn set_name(&self, name: Option<Bytes>) {
        *self.name.lock() = name;
    }

    /// Records the command being run (cmd= in CLIENT LIST).
    pub fn set_last_command(&self, name: &'static str) {
        *self.last_cmd.lock() = name;
    }

    /// Queues pub/sub bytes for delivery; closes the client if its pending output (queued
    /// here and unsent by its connection) breaks the pub/sub output limit.
    pub fn push(&self, bytes: &[u8]) {
        let (queued, limit) = {
            let mut q = self.push.lock();
            q.bytes.extend_from_slice(bytes);
            (q.bytes.len() as u64, q.limit)
        };
        let pending = queued + self.omem.load(Ordering::Relaxed);
        if self.output_limit_reached(pending, &limit) {
            tracing::warn!(
                "Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer limits.",
                self.id,
                self.addr
            );
            self.kill();
            return;
        }
        self.push_notify.notify_one();
    }

    /// Moves everything queued for delivery to the end of `out`. The queue keeps a buffer
    /// (a replica's is refilled by every write round) unless it is larger than
    /// [`PUSH_KEEP`].
    pub fn move_pushes_into(&self, out: &mut BytesMut) {
        let mut q = self.push.lock();
        if out.is_empty() {
            // The usual case: the queued bytes become `out` and `out`'s empty buffer becomes
            // the queue's, so nothing is copied while writers wait on the lock.
            std::mem::swap(out, &mut q.bytes);
        } else {
            out.extend_from_slice(&q.bytes);
            q.bytes.clear();
        }
        if q.bytes.capacity() > PUSH_KEEP {
            q.bytes = BytesMut::new();
        }
    }

    /// Bytes queued for delivery.
    pub fn queued_len(&self) -> u64 {
        self.push.lock().bytes.len() as u64
    }

    /// Follows `CONFIG SET client-output-buffer-limit` for the pub/sub class.
    pub fn set_pubsub_limit(&self, limit: ObufLimit) {
        self.push.lock().limit = limit;
    }

    /// Redis's checkClientOutputBufferLimits with `pending` bytes of output: true at the
    /// hard limit, or once the soft limit has held for more than its seconds (counted in
    /// whole seconds, hence the extra one). Dropping under the soft limit restarts the count.
    pub fn output_limit_reached(&self, pending: u64, limit: &ObufLimit) -> bool {
        if limit.hard > 0 && pending >= limit.hard {
            return true;
        }
        if limit.soft == 0 || pending < limit.soft {
            self.clear_soft_limit();
            return false;
        }
        let now = self.age_ms() + 1;
        match self.soft_since.load(Ordering::Relaxed) {
            0 => {
                self.soft_since.store(now, Ordering::Relaxed);
                false
            }
            since => now - since.min(now) >= soft_window(limit).as_millis() as u64,
        }
    }

    /// When the pending output, staying at the soft limit, breaks it.
    pub fn soft_limit_deadline(&self, limit: &ObufLimit) -> Option<Instant> {
        match self.soft_since.load(Ordering::Relaxed) {
            0 => None,
            since => Some(self.created + Duration::from_millis(since - 1) + soft_window(limit)),
        }
    }

    /// After the connection sent all its replies: whether the messages still queued keep
    /// the output at the soft limit past its time (the count restarts if they do not).
    pub fn soft_limit_over(&self, limit: &ObufLimit) -> bool {
        self.soft_since.load(Ordering::Relaxed) != 0
            && self.output_limit_reached(self.queued_len(), limit)
    }

    /// Forgets that the soft limit was reached (the output drained under it).
    pub fn clear_soft_limit(&self) {
        if self.soft_since.load(Ordering::Relaxed) != 0 {
            self.soft_since.store(0, Ordering::Relaxed);
        }
    }

    fn age_ms(&self) -> u64 {
        u64::try_from(self.created.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
    }

    /// The CLIENT LIST / CLIENT INFO line (with trailing newline).
    pub fn info_line(&self, now_ms: u64) -> String {
        let name = self
            .name()
            .map(|n| String::from_utf8_lossy(&n).into_owned())
            .unwrap_or_default();
        let sub = self.sub.load(Ordering::Relaxed);
        let psub = self.psub.load(Ordering::Relaxed);
        let ssub = self.ssub.load(Ordering::Relaxed);
        let multi = self.multi.load(Ordering::Relaxed);
        let mut flags = String::new();
        if self.monitor.load(Ordering::Relaxed) {
            flags.push('O');
        }
        if sub + psub + ssub > 0 {
            flags.push('P');
        }
        if multi >= 0 {
            flags.push('x');
        }
        if self.blocked.load(Ordering::Relaxed) {
            flags.push('b');
        }
        if self.no_evict.load(Ordering::Relaxed) {
            flags.push('e');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        let idle = now_ms.saturating_sub(self.last_active.load(Ordering::Relaxed)) / 1000;
        let omem = self.omem.load(Ordering::Relaxed) + self.queued_len();
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl=0 oll=0 omem={} tot-mem={} events=r cmd={} user=default redir=-1 resp={}\n",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            name,
            self.created.elapsed().as_secs(),
            idle,
            flags,
            self.db.load(Ordering::Relaxed),
            sub,
            psub,
            ssub,
            multi,
            omem,
            16384 + omem,
            *self.last_cmd.lock(),
            if self.resp3.load(Ordering::Relaxed) { 3 } else { 2 },
        )
    }
}

/// How long output may stay at the soft limit.
fn soft_window(limit: &ObufLimit) -> Duration {
    Duration::from_secs(u64::try_from(limit.soft_seconds).unwrap_or(0) + 1)
}

/// A [`Notify`] whose pending wakeup can be seen with one atomic load: the connection
/// loop polls its registered `Notified` future only when a wakeup is pending, instead of
/// locking the notifier's waiter list on every batch.
#[derive(Default)]
pub struct Wakeup {
    pending: AtomicBool,
    notify: Notify,
}

impl Wakeup {
    /// Wakes the connection (or leaves it a permit if it is not waiting).
    pub fn notify_one(&self) {
        self.pending.store(true, Ordering::Release);
        self.notify.notify_one();
    }

    /// A future completing at the next (or a stored) wakeup.
    pub fn notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.notify.notified()
    }

    /// Whether a wakeup was sent since the last [`Wakeup::clear`].
    pub fn is_pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Forgets the pending wakeup, before its cause is handled (a wakeup sent meanwhile
    /// sets it again).
    pub fn clear(&self) {
        self.pending.store(false, Ordering::Release);
    }
}

/// Every connected client, by id.
#[derive(Default)]
pub struct Registry {
    clients: Mutex<BTreeMap<u64, Arc<ClientHandle>>>,
    next_id: AtomicU64,
    /// Woken whenever a client leaves (shutdown waits on it).
    pub left: Notify,
}

impl Registry {
    /// The id for the next client (ids start at 1 and are never reused).
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Adds a client.
    pub fn add(&self, c: Arc<ClientHandle>) {
        self.clients.lock().insert(c.id, c);
    }

    /// Removes a client.
    pub fn remove(&self, id: u64) {
        self.clients.lock().remove(&id);
        self.left.notify_waiters();
    }

    /// Number of connected clients.
    pub fn len(&self) -> usize {
        self.clients.lock().len()
    }

    /// Whether no client is connected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A snapshot of every client, by id.
    pub fn all(&self) -> Vec<Arc<ClientHandle>> {
        self.clients.lock().values().cloned().collect()
    }

    /// Asks every client to close.
    pub fn kill_all(&self) {
        for c in self.all() {
            c.kill();
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Waker};

    /// A client whose kill token is a child of `parent`, as a connection's is of the
    /// shutdown token.
    pub(crate) fn handle(parent: &CancellationToken) -> Arc<ClientHandle> {
        let addr: SocketAddr = ([127, 0, 0, 1], 1).into();
        Arc::new(ClientHandle::new(
            1,
            addr,
            addr,
            -1,
            ObufLimit::default(),
            parent.child_token(),
        ))
    }

    fn ready<F: Future>(f: std::pin::Pin<&mut F>) -> bool {
        f.poll(&mut Context::from_waker(Waker::noop())).is_ready()
    }

    #[test]
    fn kill_is_seen_by_the_flag_and_the_future() {
        let parent = CancellationToken::new();
        let c = handle(&parent);
        let mut killed = pin!(c.killed());
        assert!(!c.is_killed());
        assert!(!ready(killed.as_mut()));
        c.kill();
        assert!(c.is_killed());
        assert!(ready(killed.as_mut()));
        assert!(!parent.is_cancelled());
    }

    /// The shutdown cancels the parent token first: the connection's future completes,
    /// and once every client is killed the flag is set and a wakeup is pending, for a
    /// connection that went back to sleep in between.
    #[test]
    fn a_shutdown_reaches_a_client_through_its_parent_and_kill_all() {
        let parent = CancellationToken::new();
        let registry = Registry::default();
        let c = handle(&parent);
        registry.add(c.clone());
        parent.cancel();
        assert!(ready(pin!(c.killed())));
        assert!(!c.push_notify.is_pending());
        registry.kill_all();
        assert!(c.is_killed());
        assert!(c.push_notify.is_pending());
    }
}
