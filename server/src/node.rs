//! The state every connection shares: configuration, keyspace, command table, clients,
//! pub/sub and statistics.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use crate::commands::pubsub::PubSub;
use crate::commands::CommandTable;
use crate::config::ConfigStore;
use crate::keyspace::{Db, Keyspace};
use crate::net::Registry;

/// Node-wide counters (INFO stats). Hot-path counters are added per batch.
#[derive(Debug, Default)]
pub struct Stats {
    /// total_connections_received
    pub connections: AtomicU64,
    /// rejected_connections
    pub rejected: AtomicU64,
    /// total_commands_processed
    pub commands: AtomicU64,
    /// total_net_input_bytes
    pub net_input: AtomicU64,
    /// total_net_output_bytes
    pub net_output: AtomicU64,
    /// total_error_replies
    pub errors: AtomicU64,
    /// rdb_changes_since_last_save
    pub dirty: AtomicU64,
    /// Error replies by their first word (errorstats).
    pub error_kinds: Mutex<std::collections::BTreeMap<String, u64>>,
}

impl Stats {
    /// Counts an error reply.
    pub fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an error reply by its code (`ERR`, `WRONGTYPE`...).
    pub fn error_kind(&self, text: &[u8]) {
        let code = text.split(|&b| b == b' ').next().unwrap_or(b"ERR");
        let code = String::from_utf8_lossy(code);
        *self
            .error_kinds
            .lock()
            .entry(code.into_owned())
            .or_default() += 1;
    }

    /// Counts keyspace changes.
    pub fn dirty(&self, n: u64) {
        self.dirty.fetch_add(n, Ordering::Relaxed);
        crate::replication::note_dirty(n);
    }

    fn reset(&self) {
        for c in [
            &self.connections,
            &self.rejected,
            &self.commands,
            &self.net_input,
            &self.net_output,
            &self.errors,
        ] {
            c.store(0, Ordering::Relaxed);
        }
        self.error_kinds.lock().clear();
    }
}

/// Shared node state.
pub struct Node {
    /// Runtime configuration.
    pub config: Arc<ConfigStore>,
    /// Every database.
    pub keyspace: Keyspace,
    /// The command table.
    pub commands: CommandTable,
    /// Connected clients.
    pub clients: Registry,
    /// Channel and pattern subscriptions.
    pub pubsub: PubSub,
    /// Clients in MONITOR mode.
    pub monitors: crate::commands::monitor::Monitors,
    /// Counters.
    pub stats: Stats,
    /// SLOWLOG entries.
    pub slowlog: crate::commands::SlowLog,
    /// Cluster mode: the routing snapshot and the way to the cluster actor (set once at
    /// start when `cluster-enabled yes`).
    pub cluster: std::sync::OnceLock<Arc<crate::cluster::ClusterHandle>>,
    /// When the node started.
    pub started: Instant,
    /// 40 hex characters, random per start (INFO run_id).
    pub run_id: String,
    /// Replication id (INFO master_replid, DEBUG CHANGE-REPL-ID).
    pub replid: Mutex<String>,
    /// Unix seconds of the last successful save (LASTSAVE).
    pub lastsave: AtomicU64,
    /// Whether the active expiry cycle runs (DEBUG SET-ACTIVE-EXPIRE).
    pub active_expire: std::sync::atomic::AtomicBool,
    /// Clients blocked in BLPOP and friends.
    pub blocking: crate::commands::Blocking,
    /// MIGRATE's cached connections to its targets.
    pub migrate: crate::commands::migrate::SocketCache,
    /// LATENCY events.
    pub latency: crate::commands::latency::LatencyMonitor,
    /// The listening sockets' accept loops (CONFIG SET port / bind replace them).
    pub accepting: crate::net::Accepting,
    /// Replication: ids, offsets, backlog, replicas, the link to our master.
    pub repl: crate::replication::Replication,
    /// RDB persistence: SAVE/BGSAVE state, the schedule, INFO persistence.
    pub persistence: crate::rdb::Persistence,
    shutdown: Mutex<Option<CancellationToken>>,
}

fn random_hex40() -> String {
    (0..40)
        .map(|_| char::from(b"0123456789abcdef"[fastrand::usize(..16)]))
        .collect()
}

impl Node {
    /// A node with an empty keyspace, configured by `config`.
    pub fn new(config: Arc<ConfigStore>) -> Node {
        let cfg = config.current();
        let dbs = if cfg.cluster_enabled {
            1
        } else {
            cfg.databases.max(1) as usize
        };
        Node {
            keyspace: Keyspace::new(dbs),
            commands: config
                .command_names()
                .map_or_else(CommandTable::new, CommandTable::renamed),
            clients: Registry::default(),
            pubsub: PubSub::default(),
            monitors: Default::default(),
            stats: Stats::default(),
            slowlog: crate::commands::SlowLog::default(),
            cluster: std::sync::OnceLock::new(),
            started: Instant::now(),
            run_id: random_hex40(),
            replid: Mutex::new(random_hex40()),
            lastsave: AtomicU64::new(crate::keyspace::now_ms() / 1000),
            active_expire: std::sync::atomic::AtomicBool::new(true),
            blocking: crate::commands::Blocking::default(),
            migrate: crate::commands::migrate::SocketCache::default(),
            latency: crate::commands::latency::LatencyMonitor::default(),
            accepting: crate::net::Accepting::default(),
            repl: crate::replication::Replication::new(),
            persistence: crate::rdb::Persistence::new(),
            shutdown: Mutex::new(None),
            config,
        }
    }

    /// Gives persistence and replication their node, registers the CONFIG RESETSTAT
    /// hooks, and starts replicating when `replicaof` is configured. Call once, when the
    /// node is in its `Arc` with its data loaded, before the cluster or a client can act
    /// on it.
    pub fn install_hooks(self: &Arc<Self>) {
        self.persistence.attach(self);
        crate::replication::Replication::install(self);
        let weak = Arc::downgrade(self);
        self.config.on_resetstat(Box::new(move || {
            if let Some(node) = weak.upgrade() {
                node.reset_stats();
            }
        }));
    }

    /// Zeroes the statistics (CONFIG RESETSTAT; the slow log and latency events stay, as
    /// in Redis).
    pub fn reset_stats(&self) {
        self.stats.reset();
        for db in self.keyspace.dbs() {
            db.reset_stats();
        }
        crate::commands::cmdstats::reset();
    }

    /// Picks up the settings kept outside the typed configuration snapshot: slow log,
    /// latency monitor and tracking, LFU parameters.
    pub fn apply_runtime_config(&self) {
        self.slowlog.configure(&self.config);
        let text = |name: &str| {
            self.config
                .get_text(name)
                .map(|v| String::from_utf8_lossy(&v).into_owned())
                .unwrap_or_default()
        };
        let number = |name: &str| text(name).parse::<u64>().unwrap_or(0);
        self.latency
            .set_threshold(number("latency-monitor-threshold"));
        let percentiles = text("latency-tracking-info-percentiles")
            .split_whitespace()
            .filter_map(|p| p.parse::<f64>().ok())
            .collect();
        crate::commands::cmdstats::configure(text("latency-tracking") == "yes", percentiles);
        self.keyspace.lfu.configure(
            self.lfu_policy(),
            number("lfu-log-factor"),
            number("lfu-decay-time"),
        );
    }

    /// Database `i` (callers only hold indices checked by SELECT; 0 always exists).
    pub fn db(&self, i: usize) -> &Db {
        let dbs = self.keyspace.dbs();
        dbs.get(i).unwrap_or(&dbs[0])
    }

    /// `cluster-enabled`.
    pub fn cluster_enabled(&self) -> bool {
        self.config.current().cluster_enabled
    }

    /// Whether `maxmemory-policy` is an LFU policy.
    pub fn lfu_policy(&self) -> bool {
        self.config
            .get_text("maxmemory-policy")
            .is_some_and(|p| p.windows(3).any(|w| w == b"lfu"))
    }

    /// Installs the token SHUTDOWN cancels.
    pub fn set_shutdown_token(&self, token: CancellationToken) {
        *self.shutdown.lock() = Some(token);
    }

    /// Starts a shutdown (SHUTDOWN command).
    pub fn shutdown(&self) {
        if let Some(t) = self.shutdown.lock().as_ref() {
            self.stop(t);
        }
    }

    /// Cancels `shutdown` (the server's token) and closes every client: their tokens are
    /// its children, but their connection loops look at the kill flag, so they are killed
    /// now, before they run another command after the final save.
    pub fn stop(&self, shutdown: &CancellationToken) {
        shutdown.cancel();
        self.clients.kill_all();
    }
}
