//! The node's configuration: redis.conf grammar, command-line directives, CONFIG GET/SET/
//! RESETSTAT/REWRITE, exactly as redis-server 7.0.15 does them.
//!
//! Every directive of Redis 7.0 is known ([`table`]): the ones this server acts on are typed
//! fields of [`Config`]; the others are accepted, kept for CONFIG GET and REWRITE, and noted in
//! the log at start. [`ConfigStore`] is the runtime side, shared through `Arc`: a cheap
//! snapshot of the typed config for the hot path and a watch channel for changes.

mod command;
pub mod grammar;
pub mod load;
pub mod rename;
mod rewrite;
pub mod table;
pub mod value;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use parking_lot::Mutex;

pub use load::{parse_cli, Cli, LoadError, Loaded, Loader, Startup};
pub use rename::CommandNames;
pub use value::ObufLimit;
use value::Value;

/// Log verbosity (`loglevel`), most verbose first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// `debug` (`.` in the log).
    Debug,
    /// `verbose` (`-`).
    Verbose,
    /// `notice` (`*`).
    Notice,
    /// `warning` (`#`).
    Warning,
}

/// `enable-debug-command`, `enable-protected-configs`: who may use what they guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allow {
    /// Nobody (`no`, the default).
    No,
    /// Every client (`yes`).
    Yes,
    /// Clients connected from 127.0.0.1 or ::1 (`local`).
    Local,
}

impl Allow {
    fn from_num(n: i128) -> Allow {
        match n {
            1 => Allow::Yes,
            2 => Allow::Local,
            _ => Allow::No,
        }
    }

    /// Whether a client is allowed; `local` says it is connected from 127.0.0.1 or ::1
    /// (Redis's islocalClient compares those two texts: 127.0.0.2 is not local).
    pub fn allows(self, local: bool) -> bool {
        match self {
            Allow::No => false,
            Allow::Yes => true,
            Allow::Local => local,
        }
    }
}

/// Whether a peer is local as Redis's islocalClient sees it.
pub fn is_local_peer(ip: std::net::IpAddr) -> bool {
    ip == std::net::Ipv4Addr::LOCALHOST || ip == std::net::Ipv6Addr::LOCALHOST
}

/// `cluster-preferred-endpoint-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointType {
    /// `ip` (default).
    Ip,
    /// `hostname`.
    Hostname,
    /// `unknown-endpoint`.
    UnknownEndpoint,
}

/// The typed settings the node runs with. Defaults are redis-server 7.0's.
#[derive(Debug, Clone)]
pub struct Config {
    /// `port`: client TCP port (0 = no TCP listener).
    pub port: u16,
    /// `bind`: addresses to listen on.
    pub bind: Vec<String>,
    /// `protected-mode`.
    pub protected_mode: bool,
    /// `requirepass`: the default user's password, if any.
    pub requirepass: Option<Vec<u8>>,
    /// `timeout`: idle client timeout in seconds (0 = never).
    pub timeout: u64,
    /// `tcp-keepalive` in seconds.
    pub tcp_keepalive: u64,
    /// `tcp-backlog`.
    pub tcp_backlog: u32,
    /// `maxclients`.
    pub maxclients: u32,
    /// `databases` (cluster mode allows only db 0 whatever this says).
    pub databases: u32,
    /// `hz`: frequency of the background cycle (active expiry and friends), 1..=500.
    pub hz: u32,
    /// `proto-max-bulk-len` in bytes.
    pub proto_max_bulk_len: u64,
    /// `cluster-enabled`.
    pub cluster_enabled: bool,
    /// Encoding thresholds of lists, hashes, sets and sorted sets (`*-max-listpack-*`,
    /// `set-max-intset-entries`, `list-max-listpack-size`).
    pub thresholds: crate::types::Thresholds,
    /// `client-query-buffer-limit` in bytes.
    pub client_query_buffer_limit: u64,
    /// `client-output-buffer-limit` for normal, replica and pubsub clients.
    pub client_output_buffer_limit: [ObufLimit; 3],
    /// `maxmemory` in bytes (0 = no limit).
    pub maxmemory: u64,
    /// `dir`: the working directory (absolute).
    pub dir: PathBuf,
    /// `dbfilename`.
    pub dbfilename: String,
    /// `logfile` (empty = standard output).
    pub logfile: String,
    /// `loglevel`.
    pub loglevel: LogLevel,
    /// `pidfile`, if any.
    pub pidfile: Option<PathBuf>,
    /// `daemonize`.
    pub daemonize: bool,
    /// `always-show-logo`.
    pub always_show_logo: bool,
    /// `save` points (seconds, changes).
    pub save: Vec<(i64, i64)>,
    /// `appendonly`.
    pub appendonly: bool,
    /// `io-threads`.
    pub io_threads: u32,
    /// Worker threads of the runtime: `io-threads` when the configuration sets it, otherwise
    /// the number of cores.
    pub worker_threads: usize,
    /// `busy-poll-us`: how long a worker polls for more input before it sleeps.
    pub busy_poll: std::time::Duration,
    /// `enable-debug-command`.
    pub enable_debug_command: Allow,
    /// `enable-protected-configs`.
    pub enable_protected_configs: Allow,
    /// `cluster-config-file`.
    pub cluster_config_file: String,
    /// `cluster-port` (0 = port + 10000).
    pub cluster_port: u16,
    /// `cluster-node-timeout` in milliseconds.
    pub cluster_node_timeout: u64,
    /// `cluster-replica-validity-factor`.
    pub cluster_replica_validity_factor: u32,
    /// `cluster-migration-barrier`.
    pub cluster_migration_barrier: u32,
    /// `cluster-allow-replica-migration`.
    pub cluster_allow_replica_migration: bool,
    /// `cluster-require-full-coverage`.
    pub cluster_require_full_coverage: bool,
    /// `cluster-replica-no-failover`.
    pub cluster_replica_no_failover: bool,
    /// `cluster-allow-reads-when-down`.
    pub cluster_allow_reads_when_down: bool,
    /// `cluster-allow-pubsubshard-when-down`.
    pub cluster_allow_pubsubshard_when_down: bool,
    /// `cluster-announce-ip` (None = unset).
    pub cluster_announce_ip: Option<String>,
    /// `cluster-announce-port` (0 = port).
    pub cluster_announce_port: u16,
    /// `cluster-announce-tls-port`.
    pub cluster_announce_tls_port: u16,
    /// `cluster-announce-bus-port` (0 = the bus port).
    pub cluster_announce_bus_port: u16,
    /// `cluster-announce-hostname` (None = unset).
    pub cluster_announce_hostname: Option<String>,
    /// `cluster-preferred-endpoint-type`.
    pub cluster_preferred_endpoint_type: EndpointType,
    /// `cluster-link-sendbuf-limit` in bytes (0 = none).
    pub cluster_link_sendbuf_limit: u64,
    /// `repl-ping-replica-period` in seconds.
    pub repl_ping_replica_period: u32,
    /// The config file the server was started with (absolute), if any.
    pub config_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let values = Loader::new(&cwd, false).finish().values;
        Config::from_values(&values, None, false)
    }
}

fn get<'a>(values: &'a [Value], name: &str) -> Option<&'a Value> {
    table::index_of(name).and_then(|i| values.get(i))
}

fn num(values: &[Value], name: &str) -> i128 {
    match get(values, name) {
        Some(Value::Num(n)) => *n,
        Some(Value::Enum(e)) => i128::from(*e),
        _ => 0,
    }
}

fn flag(values: &[Value], name: &str) -> bool {
    matches!(get(values, name), Some(Value::Bool(true)))
}

fn string(values: &[Value], name: &str) -> Option<String> {
    match get(values, name) {
        Some(Value::Str(Some(s))) => Some(String::from_utf8_lossy(s).into_owned()),
        _ => None,
    }
}

fn clamp<T: TryFrom<i128> + Copy>(v: i128, max: T) -> T {
    T::try_from(v).unwrap_or(max)
}

impl Config {
    /// The typed view of a full set of directive values. `io_threads_set` says whether the
    /// configuration set `io-threads` (then it sizes the runtime).
    pub fn from_values(
        values: &[Value],
        config_file: Option<PathBuf>,
        io_threads_set: bool,
    ) -> Config {
        let io_threads = clamp(num(values, "io-threads"), u32::MAX);
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Config {
            port: clamp(num(values, "port"), u16::MAX),
            bind: match get(values, "bind") {
                Some(Value::Bind(b)) => b
                    .iter()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect(),
                _ => Vec::new(),
            },
            protected_mode: flag(values, "protected-mode"),
            requirepass: match get(values, "requirepass") {
                Some(Value::Str(s)) => s.clone(),
                _ => None,
            },
            timeout: clamp(num(values, "timeout"), u64::MAX),
            tcp_keepalive: clamp(num(values, "tcp-keepalive"), u64::MAX),
            tcp_backlog: clamp(num(values, "tcp-backlog"), u32::MAX),
            maxclients: clamp(num(values, "maxclients"), u32::MAX),
            databases: clamp(num(values, "databases"), u32::MAX),
            hz: clamp(num(values, "hz"), 500),
            proto_max_bulk_len: clamp(num(values, "proto-max-bulk-len"), u64::MAX),
            cluster_enabled: flag(values, "cluster-enabled"),
            thresholds: crate::types::Thresholds {
                hash_max_listpack_entries: clamp(
                    num(values, "hash-max-listpack-entries"),
                    usize::MAX,
                ),
                hash_max_listpack_value: clamp(num(values, "hash-max-listpack-value"), usize::MAX),
                set_max_intset_entries: clamp(num(values, "set-max-intset-entries"), usize::MAX),
                zset_max_listpack_entries: clamp(
                    num(values, "zset-max-listpack-entries"),
                    usize::MAX,
                ),
                zset_max_listpack_value: clamp(num(values, "zset-max-listpack-value"), usize::MAX),
                list_max_listpack_size: clamp(num(values, "list-max-listpack-size"), i64::MAX),
            },
            client_query_buffer_limit: clamp(num(values, "client-query-buffer-limit"), u64::MAX),
            client_output_buffer_limit: match get(values, "client-output-buffer-limit") {
                Some(Value::Obuf(l)) => *l,
                _ => value::OBUF_DEFAULTS,
            },
            maxmemory: clamp(num(values, "maxmemory"), u64::MAX),
            dir: match get(values, "dir") {
                Some(Value::Dir(d)) => d.clone(),
                _ => PathBuf::from("/"),
            },
            dbfilename: string(values, "dbfilename").unwrap_or_default(),
            logfile: string(values, "logfile").unwrap_or_default(),
            loglevel: match num(values, "loglevel") {
                0 => LogLevel::Debug,
                1 => LogLevel::Verbose,
                3 => LogLevel::Warning,
                _ => LogLevel::Notice,
            },
            pidfile: string(values, "pidfile").map(PathBuf::from),
            daemonize: flag(values, "daemonize"),
            always_show_logo: flag(values, "always-show-logo"),
            save: match get(values, "save") {
                Some(Value::Save(s)) => s.clone(),
                _ => Vec::new(),
            },
            appendonly: flag(values, "appendonly"),
            io_threads,
            worker_threads: if io_threads_set {
                usize::try_from(io_threads).unwrap_or(1).max(1)
            } else {
                cores
            },
            busy_poll: std::time::Duration::from_micros(clamp(
                num(values, "busy-poll-us"),
                u64::MAX,
            )),
            enable_debug_command: Allow::from_num(num(values, "enable-debug-command")),
            enable_protected_configs: Allow::from_num(num(values, "enable-protected-configs")),
            cluster_config_file: string(values, "cluster-config-file").unwrap_or_default(),
            cluster_port: clamp(num(values, "cluster-port"), u16::MAX),
            cluster_node_timeout: clamp(num(values, "cluster-node-timeout"), u64::MAX),
            cluster_replica_validity_factor: clamp(
                num(values, "cluster-replica-validity-factor"),
                u32::MAX,
            ),
            cluster_migration_barrier: clamp(num(values, "cluster-migration-barrier"), u32::MAX),
            cluster_allow_replica_migration: flag(values, "cluster-allow-replica-migration"),
            cluster_require_full_coverage: flag(values, "cluster-require-full-coverage"),
            cluster_replica_no_failover: flag(values, "cluster-replica-no-failover"),
            cluster_allow_reads_when_down: flag(values, "cluster-allow-reads-when-down"),
            cluster_allow_pubsubshard_when_down: flag(
                values,
                "cluster-allow-pubsubshard-when-down",
            ),
            cluster_announce_ip: string(values, "cluster-announce-ip"),
            cluster_announce_port: clamp(num(values, "cluster-announce-port"), u16::MAX),
            cluster_announce_tls_port: clamp(num(values, "cluster-announce-tls-port"), u16::MAX),
            cluster_announce_bus_port: clamp(num(values, "cluster-announce-bus-port"), u16::MAX),
            cluster_announce_hostname: string(values, "cluster-announce-hostname"),
            cluster_preferred_endpoint_type: match num(values, "cluster-preferred-endpoint-type") {
                1 => EndpointType::Hostname,
                2 => EndpointType::UnknownEndpoint,
                _ => EndpointType::Ip,
            },
            cluster_link_sendbuf_limit: clamp(num(values, "cluster-link-sendbuf-limit"), u64::MAX),
            repl_ping_replica_period: clamp(num(values, "repl-ping-replica-period"), u32::MAX),
            config_file,
        }
    }

    /// Parses configuration text (redis.conf syntax) over the defaults, without touching the
    /// working directory. For tests and tools; the server uses [`Loader`] through `run`.
    pub fn from_conf_text(text: &str) -> Result<Config, LoadError> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let mut loader = Loader::new(&cwd, false);
        loader.load_str(text.as_bytes())?;
        let loaded = loader.finish();
        let io_set = table::index_of("io-threads")
            .and_then(|i| loaded.present.get(i))
            .copied()
            .unwrap_or(false);
        Ok(Config::from_values(&loaded.values, None, io_set))
    }
}

type ResetHook = Box<dyn Fn() + Send + Sync>;
/// Applies a new configuration to the running node; `Err` is the reason shown after
/// `CONFIG SET failed (possibly related to argument '...') - `.
pub type ApplyHook = Box<dyn Fn(&Config) -> Result<(), String> + Send + Sync>;

/// Mutable side of the store: the full value table and where to rewrite it.
struct State {
    values: Vec<Value>,
    io_threads_set: bool,
}

/// The runtime configuration, shared through `Arc`. `current()` is a lock-free snapshot;
/// CONFIG SET replaces it atomically and notifies [`ConfigStore::subscribe`]rs.
pub struct ConfigStore {
    state: Mutex<State>,
    config_file: Option<PathBuf>,
    current: ArcSwap<Config>,
    tx: tokio::sync::watch::Sender<Arc<Config>>,
    resetstat: Mutex<Vec<ResetHook>>,
    apply_hooks: Mutex<Vec<(Vec<&'static str>, ApplyHook)>>,
    command_names: Option<CommandNames>,
}

impl std::fmt::Debug for ConfigStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigStore")
            .field("config_file", &self.config_file)
            .field("current", &self.current.load())
            .finish_non_exhaustive()
    }
}

impl Default for ConfigStore {
    /// Redis's defaults, no config file.
    fn default() -> Self {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        ConfigStore::from_loaded(Loader::new(&cwd, false).finish(), None)
    }
}

impl ConfigStore {
    /// The store for what the loader read; `config_file` is where CONFIG REWRITE writes.
    pub fn from_loaded(loaded: Loaded, config_file: Option<PathBuf>) -> ConfigStore {
        let io_threads_set = table::index_of("io-threads")
            .and_then(|i| loaded.present.get(i))
            .copied()
            .unwrap_or(false);
        let config = Arc::new(Config::from_values(
            &loaded.values,
            config_file.clone(),
            io_threads_set,
        ));
        let (tx, _) = tokio::sync::watch::channel(Arc::clone(&config));
        ConfigStore {
            state: Mutex::new(State {
                values: loaded.values,
                io_threads_set,
            }),
            config_file,
            current: ArcSwap::new(config),
            tx,
            resetstat: Mutex::new(Vec::new()),
            apply_hooks: Mutex::new(Vec::new()),
            command_names: loaded.command_names,
        }
    }

    /// The store for configuration text over the defaults (tests and tools).
    pub fn from_conf_text(text: &str) -> Result<ConfigStore, LoadError> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let mut loader = Loader::new(&cwd, false);
        loader.load_str(text.as_bytes())?;
        Ok(ConfigStore::from_loaded(loader.finish(), None))
    }

    /// A cheap snapshot of the typed configuration.
    pub fn current(&self) -> Arc<Config> {
        self.current.load_full()
    }

    /// A receiver that sees every configuration CONFIG SET installs.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<Arc<Config>> {
        self.tx.subscribe()
    }

    /// Registers what CONFIG RESETSTAT must reset (the node's statistics).
    pub fn on_resetstat(&self, f: Box<dyn Fn() + Send + Sync>) {
        self.resetstat.lock().push(f);
    }

    /// Registers what CONFIG SET must do at once when one of `directives` (canonical names)
    /// changes, e.g. listen on the new `port`. The hook gets the new configuration before it
    /// is installed; an `Err` makes the whole CONFIG SET fail and restores the old values
    /// (hooks already run are called again with the old configuration), as Redis does.
    pub fn on_apply(&self, directives: &[&'static str], f: ApplyHook) {
        self.apply_hooks.lock().push((directives.to_vec(), f));
    }

    /// The command names after the configuration's `rename-command` lines (None: none).
    pub fn command_names(&self) -> Option<&CommandNames> {
        self.command_names.as_ref()
    }

    /// The config file the server was started with, if any.
    pub fn config_file(&self) -> Option<&Path> {
        self.config_file.as_deref()
    }

    /// CONFIG GET's text for one directive (canonical name or alias), if it exists.
    pub fn get_text(&self, name: &str) -> Option<Vec<u8>> {
        let (idx, _) = table::lookup(name.as_bytes())?;
        let state = self.state.lock();
        let spec = table::CONFIGS.get(idx)?;
        state.values.get(idx).map(|v| value::display(spec, v))
    }

    fn build(&self, values: &[Value], io_threads_set: bool) -> Config {
        Config::from_values(values, self.config_file.clone(), io_threads_set)
    }

    fn install(&self, state: &State) {
        let config = Arc::new(self.build(&state.values, state.io_threads_set));
        crate::logging::set_level(config.loglevel);
        self.current.store(Arc::clone(&config));
        self.tx.send_replace(config);
    }
}
