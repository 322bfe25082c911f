//! Replies to CLUSTER subcommands, independent of RESP2/RESP3 (the server renders
//! them, client-behaviour.md §5.7), and the exact error texts of §3.

/// A CLUSTER error. `Display` is the exact text Redis 7.0.15 sends after `-`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CmdError {
    /// `CLUSTER` with no subcommand.
    #[error("ERR wrong number of arguments for 'cluster' command")]
    ClusterArity,
    /// A subcommand's arity (lowercase name).
    #[error("ERR wrong number of arguments for 'cluster|{0}' command")]
    Arity(String),
    /// Unknown subcommand (as sent, capped at 128 bytes, CR/LF made spaces).
    #[error("ERR unknown subcommand '{0}'. Try CLUSTER HELP.")]
    UnknownSubcommand(String),
    /// A subcommand's own argument-count check (FAILOVER, RESET, MEET).
    #[error("ERR unknown subcommand or wrong number of arguments for '{0}'. Try CLUSTER HELP.")]
    SubcommandSyntax(String),
    /// `-ERR syntax error`.
    #[error("ERR syntax error")]
    Syntax,
    /// A slot argument of ADDSLOTS/DELSLOTS/SETSLOT/ranges.
    #[error("ERR Invalid or out of range slot")]
    InvalidSlot,
    /// Not an integer.
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    /// COUNTKEYSINSLOT slot out of range.
    #[error("ERR Invalid slot")]
    InvalidSlotNumber,
    /// GETKEYSINSLOT slot or count out of range.
    #[error("ERR Invalid slot or number of keys")]
    InvalidSlotOrCount,
    /// A node id not in the table.
    #[error("ERR Unknown node {0}")]
    UnknownNode(String),
    /// DEBUG CLUSTERLINK KILL with a direction other than to, from, all.
    #[error("ERR Unknown direction {0}")]
    UnknownDirection(String),
    /// SETSLOT MIGRATING/IMPORTING to an unknown node.
    #[error("ERR I don't know about node {0}")]
    DontKnowNode(String),
    /// ADDSLOTS of an owned slot.
    #[error("ERR Slot {0} is already busy")]
    SlotBusy(u16),
    /// DELSLOTS of an unowned slot.
    #[error("ERR Slot {0} is already unassigned")]
    SlotUnassigned(u16),
    /// A slot named twice.
    #[error("ERR Slot {0} specified multiple times")]
    SlotRepeated(u16),
    /// A range with start > end.
    #[error("ERR start slot number {0} is greater than end slot number {1}")]
    RangeOrder(u16, u16),
    /// FAILOVER on a master.
    #[error("ERR You should send CLUSTER FAILOVER to a replica")]
    FailoverOnMaster,
    /// FAILOVER on a replica that does not know its master.
    #[error("ERR I'm a replica but my master is unknown to me")]
    MasterUnknown,
    /// Default FAILOVER with the master down.
    #[error("ERR Master is down or failed, please use CLUSTER FAILOVER FORCE")]
    MasterDown,
    /// MEET port not an integer.
    #[error("ERR Invalid TCP base port specified: {0}")]
    BasePort(String),
    /// MEET bus port not an integer.
    #[error("ERR Invalid TCP bus port specified: {0}")]
    BusPort(String),
    /// MEET address invalid (ip, port as sent).
    #[error("ERR Invalid node address specified: {0}:{1}")]
    NodeAddress(String, String),
    /// FORGET myself.
    #[error("ERR I tried hard but I can't forget myself...")]
    ForgetMyself,
    /// FORGET my master.
    #[error("ERR Can't forget my master!")]
    ForgetMyMaster,
    /// REPLICATE myself.
    #[error("ERR Can't replicate myself")]
    ReplicateMyself,
    /// REPLICATE a replica.
    #[error("ERR I can only replicate a master, not a replica.")]
    ReplicateReplica,
    /// REPLICATE from a master with slots or keys.
    #[error("ERR To set a master the node must be empty and without assigned slots.")]
    NotEmpty,
    /// REPLICAS of a replica.
    #[error("ERR The specified node is not a master")]
    NotAMaster,
    /// SETSLOT on a replica.
    #[error("ERR Please use SETSLOT only with masters.")]
    SetSlotOnReplica,
    /// SETSLOT MIGRATING of a slot not mine.
    #[error("ERR I'm not the owner of hash slot {0}")]
    NotOwner(u16),
    /// SETSLOT IMPORTING of a slot already mine.
    #[error("ERR I'm already the owner of hash slot {0}")]
    AlreadyOwner(u16),
    /// SETSLOT to a replica.
    #[error("ERR Target node is not a master")]
    TargetNotMaster,
    /// SETSLOT NODE elsewhere while keys remain.
    #[error("ERR Can't assign hashslot {0} to a different node while I still hold keys for this hash slot.")]
    HoldsKeys(u16),
    /// Bad SETSLOT action or count.
    #[error("ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP")]
    SetSlotAction,
    /// SET-CONFIG-EPOCH negative.
    #[error("ERR Invalid config epoch specified: {0}")]
    InvalidConfigEpoch(i64),
    /// SET-CONFIG-EPOCH with other nodes known.
    #[error(
        "ERR The user can assign a config epoch only when the node does not know any other node."
    )]
    ConfigEpochOthers,
    /// SET-CONFIG-EPOCH with a non-zero epoch.
    #[error("ERR Node config epoch is already non-zero")]
    ConfigEpochNonZero,
    /// FLUSHSLOTS with keys.
    #[error("ERR DB must be empty to perform CLUSTER FLUSHSLOTS.")]
    FlushSlotsNotEmpty,
    /// RESET of a master with keys.
    #[error("ERR CLUSTER RESET can't be called with master nodes containing keys")]
    ResetWithKeys,
}

/// One node of a CLUSTER SLOTS range (§5.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotsNode {
    /// Endpoint: IP, hostname or `?`, or `None` (null) for `unknown-endpoint`.
    pub endpoint: Option<String>,
    /// Client port.
    pub port: u16,
    /// Node id.
    pub id: String,
    /// Metadata map entries in order (`hostname`, `ip`).
    pub metadata: Vec<(&'static str, String)>,
}

/// One CLUSTER SLOTS element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotsRange {
    /// First slot.
    pub start: u16,
    /// Last slot.
    pub end: u16,
    /// Master first, then listed replicas.
    pub nodes: Vec<SlotsNode>,
}

/// A node in CLUSTER SHARDS (§5.5); optional fields are omitted when `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardNode {
    /// `id`.
    pub id: String,
    /// `port` (omitted when 0).
    pub port: Option<u16>,
    /// `ip`.
    pub ip: String,
    /// `endpoint` (empty for unknown-endpoint).
    pub endpoint: String,
    /// `hostname`, only when set.
    pub hostname: Option<String>,
    /// `role`: `master` / `replica`.
    pub role: &'static str,
    /// `replication-offset`.
    pub replication_offset: u64,
    /// `health`: `online` / `fail` / `loading`.
    pub health: &'static str,
}

/// One shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    /// Flat `start, end` pairs.
    pub slots: Vec<u16>,
    /// Master first, then replicas.
    pub nodes: Vec<ShardNode>,
}

/// One CLUSTER LINKS element (§5.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    /// `to` or `from`.
    pub direction: &'static str,
    /// Peer id.
    pub node: String,
    /// Creation time, unix ms.
    pub create_time: u64,
    /// Installed handlers. The core does not see the socket: always `r`; the server
    /// may replace it, and the buffer sizes, from its link tasks.
    pub events: &'static str,
    /// `send-buffer-allocated` (0 from the core).
    pub send_buffer_allocated: u64,
    /// `send-buffer-used` (0 from the core).
    pub send_buffer_used: u64,
}

/// What the server must look up in its keyspace (the core holds no keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyspaceQuery {
    /// COUNTKEYSINSLOT: reply an integer.
    CountKeysInSlot(u16),
    /// GETKEYSINSLOT: reply up to `count` key names, newest first.
    GetKeysInSlot {
        /// The slot.
        slot: u16,
        /// Maximum number of keys.
        count: u64,
    },
}

/// A reply, before RESP encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+OK`.
    Ok,
    /// A simple string (`+BUMPED 3`).
    Status(String),
    /// An integer.
    Int(i64),
    /// A bulk string (MYID).
    Bulk(String),
    /// A text: bulk in RESP2, verbatim `txt` in RESP3 (NODES, INFO).
    Text(String),
    /// An array of simple strings (HELP).
    StatusLines(Vec<String>),
    /// An array of bulk strings (REPLICAS, SLAVES).
    BulkLines(Vec<String>),
    /// CLUSTER SLOTS.
    Slots(Vec<SlotsRange>),
    /// CLUSTER SHARDS.
    Shards(Vec<Shard>),
    /// CLUSTER LINKS.
    Links(Vec<LinkInfo>),
    /// Answer from the keyspace.
    Keyspace(KeyspaceQuery),
    /// An error (`-` + its `Display`).
    Error(CmdError),
}
