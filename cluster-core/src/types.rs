//! What goes in and out of [`crate::Cluster::handle`]: time, link ids, configuration,
//! inputs and effects.

use std::sync::Arc;

use bytes::Bytes;
use cluster_bus::{Message, ModuleId, NodeName, SlotSet};

use crate::command::Request;
use crate::reply::Reply;
use crate::routing::Routing;

/// Wall-clock unix time in milliseconds, supplied by the caller (nodes.conf and CLUSTER
/// NODES print these values).
pub type Millis = u64;

/// A bus link. Outbound ids are chosen by the core (in [`Effect::Connect`]); inbound ids
/// by the caller (in [`Input::Accepted`]). The two namespaces never collide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LinkId {
    /// A connection we opened to a node (`node->link`).
    Out(u64),
    /// A connection a peer opened to us (`node->inbound_link` once identified).
    In(u64),
}

impl LinkId {
    /// True for links we opened.
    pub fn is_outbound(self) -> bool {
        matches!(self, LinkId::Out(_))
    }
}

/// Which endpoint CLUSTER SLOTS/SHARDS and redirections show (`cluster-preferred-endpoint-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EndpointType {
    /// The IP address (default).
    #[default]
    Ip,
    /// The announced hostname, `?` when there is none.
    Hostname,
    /// Unknown: null endpoint.
    Unknown,
}

/// The cluster part of the node's configuration (redis.conf `cluster-*` directives).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `cluster-node-timeout`, ms (default 15000).
    pub node_timeout: u64,
    /// Announced client port (header `port`, §2 "ports").
    pub port: u16,
    /// Announced bus port (header `cport`).
    pub cport: u16,
    /// Header `pport` (plaintext port in TLS clusters, else 0).
    pub pport: u16,
    /// `cluster-announce-ip`: when set, our IP is never learnt from connections.
    pub announce_ip: Option<String>,
    /// `cluster-announce-hostname` (empty = none): sent as the HOSTNAME extension.
    pub hostname: String,
    /// `cluster-require-full-coverage`.
    pub require_full_coverage: bool,
    /// `cluster-allow-replica-migration`.
    pub allow_replica_migration: bool,
    /// `cluster-migration-barrier`.
    pub migration_barrier: u32,
    /// `cluster-replica-no-failover`.
    pub replica_no_failover: bool,
    /// `cluster-replica-validity-factor`.
    pub replica_validity_factor: u64,
    /// `repl-ping-replica-period`, seconds.
    pub repl_ping_replica_period: u64,
    /// `cluster-preferred-endpoint-type`.
    pub preferred_endpoint: EndpointType,
}

impl Config {
    /// Defaults of Redis 7.0 for a node on client port `port` (bus port `port + 10000`).
    pub fn new(port: u16) -> Self {
        Config {
            node_timeout: 15000,
            port,
            cport: port.wrapping_add(10000),
            pport: 0,
            announce_ip: None,
            hostname: String::new(),
            require_full_coverage: true,
            allow_replica_migration: true,
            migration_barrier: 1,
            replica_no_failover: false,
            replica_validity_factor: 10,
            repl_ping_replica_period: 10,
            preferred_endpoint: EndpointType::Ip,
        }
    }
}

/// Facts about the local keyspace a CLUSTER command needs (the core holds no keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeyFacts {
    /// Number of keys in db 0 (FLUSHSLOTS, REPLICATE, RESET need "empty").
    pub db_keys: u64,
    /// Keys in the slot named by the request, if it names one (SETSLOT NODE).
    pub slot_keys: u64,
}

/// One thing that happened to the node.
#[derive(Debug, Clone)]
pub enum Input {
    /// A decoded bus message on a link.
    Bus {
        /// The link it arrived on.
        link: LinkId,
        /// The message (boxed: a header carries a 2 KiB slot bitmap).
        msg: Box<Message>,
    },
    /// A peer connected to our bus port.
    Accepted {
        /// Id chosen by the caller.
        link: LinkId,
        /// The peer's address (used for a MEET without `myip`, and PING address checks).
        peer_ip: String,
        /// Our local address on that connection (MEET teaches us our own IP).
        local_ip: String,
    },
    /// An outbound connect we asked for completed: the first PING/MEET leaves now.
    Connected {
        /// The link from [`Effect::Connect`].
        link: LinkId,
    },
    /// A link was closed by I/O error, EOF, or a fatal decode error.
    Closed {
        /// The link.
        link: LinkId,
    },
    /// The 100 ms timer (`clusterCron`).
    Tick,
    /// A CLUSTER subcommand, parsed by [`Request::parse`].
    Command {
        /// The request.
        req: Request,
        /// Keyspace facts it may need.
        keys: KeyFacts,
    },
    /// Our replication state: offset (master: master_repl_offset; replica: processed
    /// offset), whether a replica's link to its master is up, and when it last heard from
    /// its master. Feed it when any of them changes, and at least once per
    /// [`Input::Tick`] while a replica's link is up (the data age of §14.2 is computed
    /// from the last value received).
    Replication {
        /// The offset.
        offset: u64,
        /// Replica: the replication link to the master is established (Redis's
        /// `repl_state == REPL_STATE_CONNECTED`; connecting, handshaking and the
        /// initial transfer count as down). The core notes the time a link goes from up
        /// to down (`repl_down_since`). Masters: ignored.
        link_up: bool,
        /// Replica: unix ms of the last interaction with the master, i.e. the last time
        /// bytes were read from the master on the replication link (Redis's
        /// `server.master->lastinteraction`; a healthy master sends at least a PING
        /// every `repl-ping-replica-period`). `None` when there has been no such
        /// interaction since the process started. While `link_up`, the §14.2 data age
        /// is `now - master_last_io` (in whole seconds, as Redis computes it); while
        /// down, it is `now - ` the time the link went down, and a replica that never
        /// had its link up has an unbounded data age (Redis's `repl_down_since = 0`),
        /// so it never starts an automatic failover. Masters: ignored.
        master_last_io: Option<Millis>,
    },
    /// A local PUBLISH (shard = SPUBLISH) to propagate on the bus.
    Publish {
        /// SPUBLISH: only to my shard.
        shard: bool,
        /// Channel.
        channel: Bytes,
        /// Message.
        message: Bytes,
    },
    /// CONFIG SET changed a `cluster-*` directive: the new configuration (our own
    /// announced address and hostname follow it, as `clusterCron` step 1 does).
    Reconfigure(Box<Config>),
    /// A module message to send (`RedisModule_SendClusterMessage`).
    ModuleSend {
        /// One node, or every node.
        target: Option<NodeName>,
        /// Module id.
        module_id: ModuleId,
        /// Module message type.
        module_type: u8,
        /// Payload.
        payload: Bytes,
    },
}

/// Severity of a log line (Redis's levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// `-` verbose.
    Verbose,
    /// `*` notice.
    Notice,
    /// `#` warning.
    Warning,
}

/// The address of a master to replicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterAddr {
    /// Its id.
    pub name: NodeName,
    /// IP.
    pub ip: String,
    /// Client port.
    pub port: u16,
}

/// Something the caller must do.
#[derive(Debug, Clone)]
pub enum Effect {
    /// Write a message on a link.
    Send {
        /// The link.
        link: LinkId,
        /// The message (encode with `cluster_bus::encode`; boxed, 2 KiB header).
        msg: Box<Message>,
    },
    /// Open an outbound link; answer with [`Input::Connected`] or [`Input::Closed`].
    Connect {
        /// Id for the new link.
        link: LinkId,
        /// The node it is for.
        node: NodeName,
        /// IP to connect to.
        ip: String,
        /// Bus port.
        cport: u16,
    },
    /// Close a link (no [`Input::Closed`] needed afterwards).
    Close {
        /// The link.
        link: LinkId,
    },
    /// Write nodes.conf now, before carrying out the effects that follow (a vote's ACK
    /// follows its save): the bytes are [`crate::Cluster::nodes_conf_bytes`] taken
    /// when carrying this out, i.e. the state at the end of the `handle` call, which
    /// includes everything the save was asked for. At most one per `handle` call
    /// (Redis saves at most once per event-loop turn, in `clusterBeforeSleep`, and
    /// before the turn's replies and bus writes leave).
    SaveConfig {
        /// Redis fsyncs this write.
        fsync: bool,
    },
    /// A new routing snapshot for the client path.
    Routing(Arc<Routing>),
    /// Deliver a PUBLISH/PUBLISHSHARD received from the bus to local subscribers.
    Deliver {
        /// PUBLISHSHARD.
        shard: bool,
        /// Channel.
        channel: Bytes,
        /// Message.
        message: Bytes,
    },
    /// Hand a MODULE message to the module layer.
    ModuleMessage {
        /// Sender id.
        sender: NodeName,
        /// Module id as on the wire.
        module_id: ModuleId,
        /// Module message type.
        module_type: u8,
        /// Payload.
        payload: Bytes,
    },
    /// Replicate this master (`Some`) or stop replicating and serve as a master (`None`).
    Replicate(Option<MasterAddr>),
    /// Manual failover on a master: pause client writes until this time.
    PauseWrites {
        /// Unix ms.
        until: Millis,
    },
    /// Un-pause client writes.
    ResumeWrites,
    /// Delete our keys in these slots (we lost them).
    DeleteSlotKeys(Box<SlotSet>),
    /// Delete every key (CLUSTER RESET of a replica).
    FlushAll,
    /// A log line, in Redis's words where Redis logs one.
    Log {
        /// Level.
        level: LogLevel,
        /// Text.
        text: String,
    },
    /// The reply to a [`Input::Command`].
    Reply(Reply),
}
