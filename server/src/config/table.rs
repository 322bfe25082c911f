//! Every configuration directive of Redis 7.0.15, as data: name, alias, type, default, limits
//! and flags. Taken from `CONFIG GET *` of the real server and from the `static_configs[]`
//! table of its `src/config.c`. The loader, CONFIG GET/SET and CONFIG REWRITE all read this
//! table; nothing is coded per directive except the few "special" value shapes.

/// CONFIG SET refuses it: `can't set immutable config`.
pub const IMMUTABLE: u16 = 1;
/// Redacted from logs; a password or similar.
pub const SENSITIVE: u16 = 1 << 1;
/// CONFIG SET refuses it unless `enable-protected-configs` allows: `can't set protected config`.
pub const PROTECTED: u16 = 1 << 2;
/// Not matched by glob patterns in CONFIG GET (exact name only).
pub const HIDDEN: u16 = 1 << 3;
/// Takes several arguments on a config line; CONFIG SET splits its value on spaces.
pub const MULTI_ARG: u16 = 1 << 4;
/// This server acts on it (the others are accepted and kept, and noted in the log).
pub const USED: u16 = 1 << 5;

/// How a numeric directive's text is read and written back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Plain integer (`string2ll`).
    Int,
    /// Bytes with optional unit (`memtoull`), rewritten as `gb`/`mb`/`kb` when exact.
    Memory,
    /// Bytes, or `N%` (stored negative) — maxmemory-clients.
    MemoryPercent,
    /// Octal integer (unixsocketperm).
    Octal,
}

/// Extra validation or adjustment after parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Nothing more.
    None,
    /// `dbfilename can't be a path, just a filename`.
    DbFilename,
    /// appendfilename: not empty, not a path.
    AofFilename,
    /// appenddirname: not empty, not a path.
    AofDirname,
    /// cluster-announce-hostname: `[A-Za-z0-9.-]`, shorter than 256.
    Hostname,
    /// proc-title-template: only known `{variables}`.
    ProcTitle,
    /// hz: accepted out of range, clamped to 1..=500.
    Hz,
    /// repl-backlog-size: CONFIG SET raises it to at least 16kb (the file's value is kept).
    ReplBacklog,
    /// activedefrag: Debian's 7.0.15 is built without a defragmenting allocator and refuses
    /// `yes`; so do we.
    ActiveDefrag,
}

/// The directives whose value is not one of the generic shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    /// `dir`: changes the working directory.
    Dir,
    /// `save <seconds> <changes> ...`.
    Save,
    /// `client-output-buffer-limit <class> <hard> <soft> <seconds> ...`.
    ClientOutputBufferLimit,
    /// `oom-score-adj-values <master> <replica> <bgchild>`.
    OomScoreAdjValues,
    /// `notify-keyspace-events <flags>`.
    NotifyKeyspaceEvents,
    /// `bind <addr> ...`.
    Bind,
    /// `replicaof <host> <port>` (`no one` clears).
    ReplicaOf,
    /// `latency-tracking-info-percentiles <p> ...`.
    Percentiles,
}

/// The type of a directive and its default.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// yes/no.
    Bool {
        /// Default.
        default: bool,
        /// Extra validation.
        check: Check,
    },
    /// A string; `None` default means unset (CONFIG GET shows an empty string).
    Str {
        /// Default.
        default: Option<&'static str>,
        /// An empty value means unset.
        empty_is_null: bool,
        /// Extra validation.
        check: Check,
    },
    /// One of a list of names (several names may share a value).
    Enum {
        /// Names and values, in Redis's order (the first name of a value is the canonical one).
        names: &'static [(&'static str, i32)],
        /// Several names may be given at once and are OR-ed (shutdown-on-sigterm).
        flags: bool,
        /// Default value.
        default: i32,
    },
    /// An integer with inclusive bounds.
    Num {
        /// Lower bound.
        min: i128,
        /// Upper bound.
        max: i128,
        /// Default.
        default: i128,
        /// Text form.
        unit: Unit,
        /// Redis stores it unsigned: a negative input wraps around before the bounds check.
        unsigned: bool,
        /// Extra validation or adjustment.
        check: Check,
    },
    /// A value with its own shape.
    Special(Special),
}

/// One directive.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Canonical name.
    pub name: &'static str,
    /// Old name also accepted (and answered under that name by CONFIG GET).
    pub alias: Option<&'static str>,
    /// Flag bits (IMMUTABLE, SENSITIVE, ...).
    pub flags: u16,
    /// Type and default.
    pub kind: Kind,
}

impl Spec {
    /// True when `flag` is set.
    pub fn has(&self, flag: u16) -> bool {
        self.flags & flag != 0
    }
}

const INT_MAX: i128 = i32::MAX as i128;
const INT_MIN: i128 = i32::MIN as i128;
const UINT_MAX: i128 = u32::MAX as i128;
const LONG_MAX: i128 = i64::MAX as i128;
const ULLONG_MAX: i128 = u64::MAX as i128;

const fn b(name: &'static str, alias: Option<&'static str>, flags: u16, default: bool) -> Spec {
    Spec {
        name,
        alias,
        flags,
        kind: Kind::Bool {
            default,
            check: Check::None,
        },
    }
}

const fn s(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u16,
    default: Option<&'static str>,
    empty_is_null: bool,
    check: Check,
) -> Spec {
    Spec {
        name,
        alias,
        flags,
        kind: Kind::Str {
            default,
            empty_is_null,
            check,
        },
    }
}

const fn e(
    name: &'static str,
    flags: u16,
    names: &'static [(&'static str, i32)],
    default: i32,
) -> Spec {
    Spec {
        name,
        alias: None,
        flags,
        kind: Kind::Enum {
            names,
            default,
            flags: flags & MULTI_ARG != 0,
        },
    }
}

/// A signed integer directive.
const fn i(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u16,
    min: i128,
    max: i128,
    default: i128,
) -> Spec {
    n(name, alias, flags, min, max, default, Unit::Int, false)
}

/// An unsigned integer directive.
const fn u(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u16,
    min: i128,
    max: i128,
    default: i128,
    unit: Unit,
) -> Spec {
    n(name, alias, flags, min, max, default, unit, true)
}

#[allow(clippy::too_many_arguments)]
const fn n(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u16,
    min: i128,
    max: i128,
    default: i128,
    unit: Unit,
    unsigned: bool,
) -> Spec {
    Spec {
        name,
        alias,
        flags,
        kind: Kind::Num {
            min,
            max,
            default,
            unit,
            unsigned,
            check: Check::None,
        },
    }
}

const fn with_check(mut spec: Spec, c: Check) -> Spec {
    match &mut spec.kind {
        Kind::Num { check, .. } | Kind::Str { check, .. } | Kind::Bool { check, .. } => *check = c,
        _ => {}
    }
    spec
}

const fn sp(name: &'static str, alias: Option<&'static str>, flags: u16, k: Special) -> Spec {
    Spec {
        name,
        alias,
        flags,
        kind: Kind::Special(k),
    }
}

const MOD: u16 = 0;
const IMM: u16 = IMMUTABLE;

/// loglevel names, in Redis's order; the value is the level (0 = debug).
pub const LOGLEVELS: &[(&str, i32)] =
    &[("debug", 0), ("verbose", 1), ("notice", 2), ("warning", 3)];
const MAXMEMORY_POLICY: &[(&str, i32)] = &[
    ("volatile-lru", 0),
    ("volatile-lfu", 1),
    ("volatile-random", 2),
    ("volatile-ttl", 3),
    ("allkeys-lru", 4),
    ("allkeys-lfu", 5),
    ("allkeys-random", 6),
    ("noeviction", 7),
];
const SYSLOG_FACILITY: &[(&str, i32)] = &[
    ("user", 0),
    ("local0", 1),
    ("local1", 2),
    ("local2", 3),
    ("local3", 4),
    ("local4", 5),
    ("local5", 6),
    ("local6", 7),
    ("local7", 8),
];
const SUPERVISED: &[(&str, i32)] = &[("upstart", 1), ("systemd", 2), ("auto", 3), ("no", 0)];
const AOF_FSYNC: &[(&str, i32)] = &[("everysec", 1), ("always", 2), ("no", 0)];
const REPL_DISKLESS_LOAD: &[(&str, i32)] = &[("disabled", 0), ("on-empty-db", 1), ("swapdb", 2)];
const TLS_AUTH_CLIENTS: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("optional", 2)];
const OOM_SCORE_ADJ: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("relative", 1), ("absolute", 2)];
const ACL_PUBSUB_DEFAULT: &[(&str, i32)] = &[("allchannels", 1), ("resetchannels", 0)];
const SANITIZE_DUMP: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("clients", 2)];
/// Values of `enable-debug-command` and friends: no (0), yes (1), local (2).
pub const PROTECTED_ACTION: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("local", 2)];
/// Values of `cluster-preferred-endpoint-type`: ip (0), hostname (1), unknown-endpoint (2).
pub const ENDPOINT_TYPE: &[(&str, i32)] = &[("ip", 0), ("hostname", 1), ("unknown-endpoint", 2)];
const SHUTDOWN_ON_SIG: &[(&str, i32)] = &[
    ("default", 0),
    ("save", 1),
    ("nosave", 2),
    ("now", 4),
    ("force", 8),
];
const PROPAGATION_ERROR: &[(&str, i32)] = &[("ignore", 0), ("panic", 1), ("panic-on-replicas", 2)];

const NONE: Option<&str> = None;
const C: Check = Check::None;

/// The table. Order follows Redis's `static_configs[]`; CONFIG GET * and CONFIG REWRITE use it.
pub static CONFIGS: &[Spec] = &[
    // yes/no
    b("rdbchecksum", NONE, IMM | USED, true),
    b("daemonize", NONE, IMM | USED, false),
    b("io-threads-do-reads", NONE, IMM, false),
    b("always-show-logo", NONE, IMM | USED, false),
    b("protected-mode", NONE, MOD | USED, true),
    b("rdbcompression", NONE, MOD | USED, true),
    b("rdb-del-sync-files", NONE, MOD, false),
    b("activerehashing", NONE, MOD, true),
    b("stop-writes-on-bgsave-error", NONE, MOD, true),
    b("set-proc-title", NONE, IMM, true),
    b("dynamic-hz", NONE, MOD, true),
    b("lazyfree-lazy-eviction", NONE, MOD, false),
    b("lazyfree-lazy-expire", NONE, MOD | USED, false),
    b("lazyfree-lazy-server-del", NONE, MOD, false),
    b("lazyfree-lazy-user-del", NONE, MOD, false),
    b("lazyfree-lazy-user-flush", NONE, MOD, false),
    b("repl-disable-tcp-nodelay", NONE, MOD, false),
    b("repl-diskless-sync", NONE, MOD | USED, true),
    b("aof-rewrite-incremental-fsync", NONE, MOD, true),
    b("no-appendfsync-on-rewrite", NONE, MOD, false),
    b("cluster-require-full-coverage", NONE, MOD | USED, true),
    b("rdb-save-incremental-fsync", NONE, MOD, true),
    b("aof-load-truncated", NONE, MOD, true),
    b("aof-use-rdb-preamble", NONE, MOD, true),
    b("aof-timestamp-enabled", NONE, MOD, false),
    b(
        "cluster-replica-no-failover",
        Some("cluster-slave-no-failover"),
        MOD | USED,
        false,
    ),
    b("replica-lazy-flush", Some("slave-lazy-flush"), MOD, false),
    b(
        "replica-serve-stale-data",
        Some("slave-serve-stale-data"),
        MOD,
        true,
    ),
    b(
        "replica-read-only",
        Some("slave-read-only"),
        MOD | USED,
        true,
    ),
    b(
        "replica-ignore-maxmemory",
        Some("slave-ignore-maxmemory"),
        MOD,
        true,
    ),
    b("jemalloc-bg-thread", NONE, MOD, true),
    with_check(b("activedefrag", NONE, MOD, false), Check::ActiveDefrag),
    b("syslog-enabled", NONE, IMM, false),
    b("cluster-enabled", NONE, IMM | USED, false),
    b("appendonly", NONE, MOD, false),
    b("cluster-allow-reads-when-down", NONE, MOD | USED, false),
    b(
        "cluster-allow-pubsubshard-when-down",
        NONE,
        MOD | USED,
        true,
    ),
    b("crash-log-enabled", NONE, MOD, true),
    b("crash-memcheck-enabled", NONE, MOD, true),
    b("use-exit-on-panic", NONE, MOD | HIDDEN, false),
    b("disable-thp", NONE, IMM, true),
    b("cluster-allow-replica-migration", NONE, MOD | USED, true),
    b("replica-announced", NONE, MOD | USED, true),
    b("latency-tracking", NONE, MOD | USED, true),
    b("aof-disable-auto-gc", NONE, MOD, false),
    b("replica-ignore-disk-write-errors", NONE, MOD, false),
    // strings
    s("aclfile", NONE, IMM, Some(""), false, C),
    s("unixsocket", NONE, IMM, NONE, true, C),
    s("pidfile", NONE, IMM | USED, NONE, true, C),
    s(
        "replica-announce-ip",
        Some("slave-announce-ip"),
        MOD | USED,
        NONE,
        true,
        C,
    ),
    s("masteruser", NONE, MOD | SENSITIVE | USED, NONE, true, C),
    s("cluster-announce-ip", NONE, MOD | USED, NONE, true, C),
    s(
        "cluster-config-file",
        NONE,
        IMM | USED,
        Some("nodes.conf"),
        false,
        C,
    ),
    s(
        "cluster-announce-hostname",
        NONE,
        MOD | USED,
        NONE,
        true,
        Check::Hostname,
    ),
    s("syslog-ident", NONE, IMM, Some("redis"), false, C),
    s(
        "dbfilename",
        NONE,
        MOD | PROTECTED | USED,
        Some("dump.rdb"),
        false,
        Check::DbFilename,
    ),
    s(
        "appendfilename",
        NONE,
        IMM,
        Some("appendonly.aof"),
        false,
        Check::AofFilename,
    ),
    s(
        "appenddirname",
        NONE,
        IMM,
        Some("appendonlydir"),
        false,
        Check::AofDirname,
    ),
    s("server_cpulist", NONE, IMM, NONE, true, C),
    s("bio_cpulist", NONE, IMM, NONE, true, C),
    s("aof_rewrite_cpulist", NONE, IMM, NONE, true, C),
    s("bgsave_cpulist", NONE, IMM, NONE, true, C),
    s("ignore-warnings", NONE, MOD, Some(""), false, C),
    s(
        "proc-title-template",
        NONE,
        MOD,
        Some("{title} {listen-addr} {server-mode}"),
        false,
        Check::ProcTitle,
    ),
    s("bind-source-addr", NONE, MOD, NONE, true, C),
    s("logfile", NONE, IMM | USED, Some(""), false, C),
    s("masterauth", NONE, MOD | SENSITIVE | USED, NONE, true, C),
    s("requirepass", NONE, MOD | SENSITIVE | USED, NONE, true, C),
    // enums
    e("supervised", IMM, SUPERVISED, 0),
    e("syslog-facility", IMM, SYSLOG_FACILITY, 1),
    e("repl-diskless-load", MOD, REPL_DISKLESS_LOAD, 0),
    e("loglevel", MOD | USED, LOGLEVELS, 2),
    e("maxmemory-policy", MOD, MAXMEMORY_POLICY, 7),
    e("appendfsync", MOD, AOF_FSYNC, 1),
    e("oom-score-adj", MOD, OOM_SCORE_ADJ, 0),
    e("acl-pubsub-default", MOD, ACL_PUBSUB_DEFAULT, 0),
    e("sanitize-dump-payload", MOD, SANITIZE_DUMP, 0),
    e("enable-protected-configs", IMM | USED, PROTECTED_ACTION, 0),
    e("enable-debug-command", IMM | USED, PROTECTED_ACTION, 0),
    e("enable-module-command", IMM, PROTECTED_ACTION, 0),
    e(
        "cluster-preferred-endpoint-type",
        MOD | USED,
        ENDPOINT_TYPE,
        0,
    ),
    e("propagation-error-behavior", MOD, PROPAGATION_ERROR, 0),
    e("shutdown-on-sigint", MOD | MULTI_ARG, SHUTDOWN_ON_SIG, 0),
    e("shutdown-on-sigterm", MOD | MULTI_ARG, SHUTDOWN_ON_SIG, 0),
    // integers
    i("databases", NONE, IMM | USED, 1, INT_MAX, 16),
    i("port", NONE, MOD | USED, 0, 65535, 6379),
    i("io-threads", NONE, IMM | USED, 1, 128, 1),
    i("auto-aof-rewrite-percentage", NONE, MOD, 0, INT_MAX, 100),
    i(
        "cluster-replica-validity-factor",
        Some("cluster-slave-validity-factor"),
        MOD | USED,
        0,
        INT_MAX,
        10,
    ),
    i(
        "list-max-listpack-size",
        Some("list-max-ziplist-size"),
        MOD | USED,
        INT_MIN,
        INT_MAX,
        -2,
    ),
    i("tcp-keepalive", NONE, MOD | USED, 0, INT_MAX, 300),
    i("cluster-migration-barrier", NONE, MOD | USED, 0, INT_MAX, 1),
    i("active-defrag-cycle-min", NONE, MOD, 1, 99, 1),
    i("active-defrag-cycle-max", NONE, MOD, 1, 99, 25),
    i("active-defrag-threshold-lower", NONE, MOD, 0, 1000, 10),
    i("active-defrag-threshold-upper", NONE, MOD, 0, 1000, 100),
    i("lfu-log-factor", NONE, MOD | USED, 0, INT_MAX, 10),
    i("lfu-decay-time", NONE, MOD | USED, 0, INT_MAX, 1),
    i(
        "replica-priority",
        Some("slave-priority"),
        MOD | USED,
        0,
        INT_MAX,
        100,
    ),
    i("repl-diskless-sync-delay", NONE, MOD | USED, 0, INT_MAX, 5),
    i("maxmemory-samples", NONE, MOD, 1, INT_MAX, 5),
    i("maxmemory-eviction-tenacity", NONE, MOD, 0, 100, 10),
    i("timeout", NONE, MOD | USED, 0, INT_MAX, 0),
    i(
        "replica-announce-port",
        Some("slave-announce-port"),
        MOD | USED,
        0,
        65535,
        0,
    ),
    i("tcp-backlog", NONE, IMM | USED, 0, INT_MAX, 511),
    i("cluster-port", NONE, IMM | USED, 0, 65535, 0),
    i("cluster-announce-bus-port", NONE, MOD | USED, 0, 65535, 0),
    i("cluster-announce-port", NONE, MOD | USED, 0, 65535, 0),
    i("cluster-announce-tls-port", NONE, MOD, 0, 65535, 0),
    i("repl-timeout", NONE, MOD | USED, 1, INT_MAX, 60),
    i(
        "repl-ping-replica-period",
        Some("repl-ping-slave-period"),
        MOD | USED,
        1,
        INT_MAX,
        10,
    ),
    i("list-compress-depth", NONE, MOD, 0, INT_MAX, 0),
    i(
        "rdb-key-save-delay",
        NONE,
        MOD | HIDDEN,
        INT_MIN,
        INT_MAX,
        0,
    ),
    i("key-load-delay", NONE, MOD | HIDDEN, INT_MIN, INT_MAX, 0),
    i("active-expire-effort", NONE, MOD, 1, 10, 1),
    with_check(i("hz", NONE, MOD | USED, 0, INT_MAX, 10), Check::Hz),
    i(
        "min-replicas-to-write",
        Some("min-slaves-to-write"),
        MOD,
        0,
        INT_MAX,
        0,
    ),
    i(
        "min-replicas-max-lag",
        Some("min-slaves-max-lag"),
        MOD,
        0,
        INT_MAX,
        10,
    ),
    i("watchdog-period", NONE, MOD | HIDDEN, 0, INT_MAX, 0),
    i("shutdown-timeout", NONE, MOD, 0, INT_MAX, 10),
    i("repl-diskless-sync-max-replicas", NONE, MOD, 0, INT_MAX, 0),
    u(
        "maxclients",
        NONE,
        MOD | USED,
        1,
        UINT_MAX,
        10000,
        Unit::Int,
    ),
    u("unixsocketperm", NONE, IMM, 0, 0o777, 0, Unit::Octal),
    u("socket-mark-id", NONE, IMM, 0, UINT_MAX, 0, Unit::Int),
    u(
        "active-defrag-max-scan-fields",
        NONE,
        MOD,
        1,
        LONG_MAX,
        1000,
        Unit::Int,
    ),
    u(
        "slowlog-max-len",
        NONE,
        MOD | USED,
        0,
        LONG_MAX,
        128,
        Unit::Int,
    ),
    u("acllog-max-len", NONE, MOD, 0, LONG_MAX, 128, Unit::Int),
    i(
        "busy-reply-threshold",
        Some("lua-time-limit"),
        MOD,
        0,
        LONG_MAX,
        5000,
    ),
    i("cluster-node-timeout", NONE, MOD | USED, 0, LONG_MAX, 15000),
    i(
        "slowlog-log-slower-than",
        NONE,
        MOD | USED,
        -1,
        LONG_MAX,
        10000,
    ),
    i(
        "latency-monitor-threshold",
        NONE,
        MOD | USED,
        0,
        LONG_MAX,
        0,
    ),
    n(
        "proto-max-bulk-len",
        NONE,
        MOD | USED,
        1024 * 1024,
        LONG_MAX,
        512 * 1024 * 1024,
        Unit::Memory,
        false,
    ),
    i("stream-node-max-entries", NONE, MOD, 0, LONG_MAX, 100),
    with_check(
        n(
            "repl-backlog-size",
            NONE,
            MOD | USED,
            1,
            LONG_MAX,
            1 << 20,
            Unit::Memory,
            false,
        ),
        Check::ReplBacklog,
    ),
    u("maxmemory", NONE, MOD, 0, ULLONG_MAX, 0, Unit::Memory),
    u(
        "cluster-link-sendbuf-limit",
        NONE,
        MOD,
        0,
        ULLONG_MAX,
        0,
        Unit::Memory,
    ),
    u(
        "hash-max-listpack-entries",
        Some("hash-max-ziplist-entries"),
        MOD | USED,
        0,
        LONG_MAX,
        512,
        Unit::Int,
    ),
    u(
        "set-max-intset-entries",
        NONE,
        MOD | USED,
        0,
        LONG_MAX,
        512,
        Unit::Int,
    ),
    u(
        "zset-max-listpack-entries",
        Some("zset-max-ziplist-entries"),
        MOD | USED,
        0,
        LONG_MAX,
        128,
        Unit::Int,
    ),
    u(
        "active-defrag-ignore-bytes",
        NONE,
        MOD,
        1,
        LONG_MAX,
        100 << 20,
        Unit::Memory,
    ),
    u(
        "hash-max-listpack-value",
        Some("hash-max-ziplist-value"),
        MOD | USED,
        0,
        LONG_MAX,
        64,
        Unit::Memory,
    ),
    u(
        "stream-node-max-bytes",
        NONE,
        MOD,
        0,
        LONG_MAX,
        4096,
        Unit::Memory,
    ),
    u(
        "zset-max-listpack-value",
        Some("zset-max-ziplist-value"),
        MOD | USED,
        0,
        LONG_MAX,
        64,
        Unit::Memory,
    ),
    u(
        "hll-sparse-max-bytes",
        NONE,
        MOD,
        0,
        LONG_MAX,
        3000,
        Unit::Memory,
    ),
    u(
        "tracking-table-max-keys",
        NONE,
        MOD,
        0,
        LONG_MAX,
        1_000_000,
        Unit::Int,
    ),
    u(
        "client-query-buffer-limit",
        NONE,
        MOD | USED,
        1024 * 1024,
        LONG_MAX,
        1024 * 1024 * 1024,
        Unit::Memory,
    ),
    n(
        "maxmemory-clients",
        NONE,
        MOD,
        -100,
        LONG_MAX,
        0,
        Unit::MemoryPercent,
        false,
    ),
    i("repl-backlog-ttl", NONE, MOD, 0, LONG_MAX, 3600),
    n(
        "auto-aof-rewrite-min-size",
        NONE,
        MOD,
        0,
        LONG_MAX,
        64 * 1024 * 1024,
        Unit::Memory,
        false,
    ),
    i(
        "loading-process-events-interval-bytes",
        NONE,
        MOD | HIDDEN,
        1024,
        INT_MAX,
        2 * 1024 * 1024,
    ),
    // TLS (Debian's build has it; this server does not speak TLS, so these are only kept)
    i("tls-port", NONE, MOD, 0, 65535, 0),
    i("tls-session-cache-size", NONE, MOD, 0, INT_MAX, 20 * 1024),
    i("tls-session-cache-timeout", NONE, MOD, 0, INT_MAX, 300),
    b("tls-cluster", NONE, MOD, false),
    b("tls-replication", NONE, MOD, false),
    e("tls-auth-clients", MOD, TLS_AUTH_CLIENTS, 1),
    b("tls-prefer-server-ciphers", NONE, MOD, false),
    b("tls-session-caching", NONE, MOD, true),
    s("tls-cert-file", NONE, MOD, NONE, true, C),
    s("tls-key-file", NONE, MOD, NONE, true, C),
    s("tls-key-file-pass", NONE, MOD | SENSITIVE, NONE, true, C),
    s("tls-client-cert-file", NONE, MOD, NONE, true, C),
    s("tls-client-key-file", NONE, MOD, NONE, true, C),
    s(
        "tls-client-key-file-pass",
        NONE,
        MOD | SENSITIVE,
        NONE,
        true,
        C,
    ),
    s("tls-dh-params-file", NONE, MOD, NONE, true, C),
    s("tls-ca-cert-file", NONE, MOD, NONE, true, C),
    s("tls-ca-cert-dir", NONE, MOD, NONE, true, C),
    s("tls-protocols", NONE, MOD, NONE, true, C),
    s("tls-ciphers", NONE, MOD, NONE, true, C),
    s("tls-ciphersuites", NONE, MOD, NONE, true, C),
    // special shapes
    sp("dir", NONE, MOD | PROTECTED | USED, Special::Dir),
    sp("save", NONE, MOD | MULTI_ARG | USED, Special::Save),
    sp(
        "client-output-buffer-limit",
        NONE,
        MOD | MULTI_ARG | USED,
        Special::ClientOutputBufferLimit,
    ),
    sp(
        "oom-score-adj-values",
        NONE,
        MOD | MULTI_ARG,
        Special::OomScoreAdjValues,
    ),
    sp(
        "notify-keyspace-events",
        NONE,
        MOD,
        Special::NotifyKeyspaceEvents,
    ),
    sp("bind", NONE, MOD | MULTI_ARG | USED, Special::Bind),
    sp(
        "replicaof",
        Some("slaveof"),
        IMM | MULTI_ARG | USED,
        Special::ReplicaOf,
    ),
    sp(
        "latency-tracking-info-percentiles",
        NONE,
        MOD | MULTI_ARG | USED,
        Special::Percentiles,
    ),
    // This server's own, hidden from CONFIG GET patterns so that `CONFIG GET *` lists what
    // Redis 7.0 lists; CONFIG GET answers it by its exact name.
    i("busy-poll-us", NONE, IMM | HIDDEN | USED, 0, 1000, 20),
];

/// Directives Redis 7.0 accepts but ignores (removed options), with the argument counts
/// (directive name included) it accepts them with.
pub static DEPRECATED: &[(&str, usize, usize)] = &[
    ("list-max-ziplist-entries", 2, 2),
    ("list-max-ziplist-value", 2, 2),
    ("lua-replicate-commands", 2, 2),
];

/// Index of the directive named `name` (canonical or alias, case-insensitive) and whether the
/// alias was used.
pub fn lookup(name: &[u8]) -> Option<(usize, bool)> {
    CONFIGS.iter().enumerate().find_map(|(idx, spec)| {
        if name.eq_ignore_ascii_case(spec.name.as_bytes()) {
            Some((idx, false))
        } else if spec
            .alias
            .is_some_and(|a| name.eq_ignore_ascii_case(a.as_bytes()))
        {
            Some((idx, true))
        } else {
            None
        }
    })
}

/// Index of a directive by its canonical name; for the server's own use.
pub fn index_of(name: &str) -> Option<usize> {
    CONFIGS.iter().position(|s| s.name == name)
}
