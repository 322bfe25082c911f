//! The client registry: what CLIENT LIST / KILL / INFO and pub/sub delivery need to know
//! about every connection.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

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
    /// Bytes waiting in the output buffer (omem=).
    pub omem: AtomicU64,
    push: Mutex<BytesMut>,
    /// Woken when pub/sub messages are queued or a blocked command was served.
    pub push_notify: Wakeup,
    /// Cancelled to close the connection (CLIENT KILL, output limits, shutdown).
    pub kill: CancellationToken,
    pubsub_limit: (u64, u64, i64),
    soft_since: Mutex<Option<Instant>>,
}

impl ClientHandle {
    /// A handle for a new connection. `pubsub_limit` is (hard, soft, soft seconds); `kill`
    /// closes the connection when cancelled (a child of the server's shutdown token).
    pub fn new(
        id: u64,
        addr: SocketAddr,
        laddr: SocketAddr,
        fd: i64,
        pubsub_limit: (u64, u64, i64),
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
            omem: AtomicU64::new(0),
            push: Mutex::new(BytesMut::new()),
            push_notify: Wakeup::default(),
            kill,
            pubsub_limit,
            soft_since: Mutex::new(None),
        }
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

    /// Queues pub/sub bytes for delivery; closes the client if its output limit is exceeded.
    pub fn push(&self, bytes: &[u8]) {
        let len = {
            let mut q = self.push.lock();
            q.extend_from_slice(bytes);
            q.len() as u64
        };
        let (hard, soft, secs) = self.pubsub_limit;
        if hard > 0 && len > hard {
            tracing::warn!(
                "Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer limits.",
                self.id,
                self.addr
            );
            self.kill.cancel();
            return;
        }
        if soft > 0 && len > soft {
            let mut since = self.soft_since.lock();
            let start = *since.get_or_insert_with(Instant::now);
            if start.elapsed().as_secs() as i64 >= secs {
                self.kill.cancel();
                return;
            }
        }
        self.push_notify.notify_one();
    }

    /// Takes everything queued for delivery.
    pub fn take_pushes(&self) -> BytesMut {
        *self.soft_since.lock() = None;
        std::mem::take(&mut *self.push.lock())
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
        let omem = self.omem.load(Ordering::Relaxed);
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
            c.kill.cancel();
        }
    }
}
