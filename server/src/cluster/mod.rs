//! Cluster mode (`cluster-enabled yes`): the actor that owns the [`cluster_core::Cluster`]
//! state machine, the bus links, nodes.conf on disk, the CLUSTER / ASKING / READONLY /
//! READWRITE commands and the routing check every keyed command passes.
//!
//! Shape (architecture.md "Data flow"): one tokio task owns the state machine and is fed
//! by one bounded channel (`ActorInput`): decoded bus frames from the link tasks, link
//! events, the 100 ms tick, and CLUSTER commands with a oneshot for the reply. The client
//! path never waits for the actor on a keyed command: it reads the routing snapshot the
//! actor publishes ([`ClusterHandle::routing`]).
//!
//! # Where it plugs in
//!
//! * `startup.rs`: [`prepare`] (nodes.conf opened, locked and loaded; bus port bound;
//!   failures exit 1 before "Ready to accept connections"), then [`start`] inside the
//!   runtime.
//! * `commands::process`: [`route`] after the auth / no-MULTI checks and before MULTI
//!   queueing (client-behaviour.md §2.1 step 4); ASKING is cleared after every other
//!   command outside MULTI; PUBLISH is handed to [`publish`].
//! * The command table (`commands/table_data.rs`, generated from a cluster-enabled
//!   redis-server 7.0.15) has CLUSTER, ASKING, READONLY, READWRITE; CLUSTER's
//!   subcommands are parsed by the handler.
//!
//! # Verified by
//!
//! `tests/cluster_routing.rs` and `tests/cluster_replies.rs` run the same scripts on
//! redis-server 7.0 nodes and on ours and compare the replies byte for byte;
//! `tests/cluster_e2e.rs` runs `redis-cli --cluster create/check`, a mixed cluster of
//! real and our nodes, failovers, kill -9 and malformed bus input;
//! `tests/cluster_startup.rs` covers nodes.conf persistence, corruption and locking;
//! `tests/cluster_pubsub.rs` compares sharded pub/sub (and PUBLISH across the bus) with
//! redis-server, also in a mixed shard; `tests/cluster_blocked.rs` the release of blocked
//! clients; `tests/cluster_migrate.rs` MIGRATE against redis-server and
//! `redis-cli --cluster reshard` under writes (ours only, and mixed);
//! `tests/cluster_benchmark.rs` `redis-benchmark --cluster`.
//!
//! # Not yet
//!
//! * GETKEYSINSLOT lists keys in slot-table order, not newest first as Redis does (the
//!   keyspace keeps no insertion order: a small slot's new key takes the place a removed
//!   one left).
//! * Module messages on the bus are dropped (no modules).

mod actor;
mod command;
mod conf;
mod links;
mod route;

use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;
use bytes::Bytes;
use cluster_core::{Cluster, Routing};
use tokio::sync::mpsc;

use crate::config::{Config, EndpointType};

pub use command::{debug, handler};
pub use conf::{ConfFileError, NodesConfFile};
pub use route::{route, ConnFlags};

/// Inputs waiting for the actor before senders wait (link readers then stop reading, so
/// a flooding peer is held back by TCP instead of memory).
const ACTOR_QUEUE: usize = 1024;

/// What the client path holds: the routing snapshot and the way to the actor.
#[derive(Debug)]
pub struct ClusterHandle {
    routing: ArcSwap<Routing>,
    tx: mpsc::Sender<actor::ActorInput>,
}

impl ClusterHandle {
    /// The current routing snapshot (lock-free).
    pub fn routing(&self) -> arc_swap::Guard<Arc<Routing>> {
        self.routing.load()
    }
}

/// PUBLISH in cluster mode reaches the subscribers of every node, SPUBLISH those of
/// the nodes of this shard: hand the message to the actor for the bus
/// (`clusterPropagatePublish`, `clusterPropagatePublishShard`). No-op outside cluster mode.
pub fn publish(node: &crate::node::Node, shard: bool, channel: &Bytes, message: &Bytes) {
    if let Some(h) = node.cluster.get() {
        // A full actor queue drops the propagation rather than stall the client.
        if h.tx
            .try_send(actor::ActorInput::Publish {
                shard,
                channel: channel.clone(),
                message: message.clone(),
            })
            .is_err()
        {
            tracing::debug!("Cluster actor busy: a PUBLISH was not propagated");
        }
    }
}

/// Everything prepared before the runtime serves: nodes.conf loaded and locked, the bus
/// port bound. Startup fails (exit 1) when this cannot be made.
#[derive(Debug)]
pub struct Prepared {
    cluster: Cluster,
    file: NodesConfFile,
    listeners: Vec<std::net::TcpListener>,
    fresh: bool,
}

/// The bus port: `cluster-port`, or client port + 10000.
pub fn bus_port(cfg: &Config) -> u16 {
    if cfg.cluster_port != 0 {
        cfg.cluster_port
    } else {
        cfg.port.wrapping_add(10000)
    }
}

/// The cluster part of the node configuration, as the state machine wants it.
pub fn core_config(cfg: &Config) -> cluster_core::Config {
    let mut c = cluster_core::Config::new(cfg.port);
    if cfg.cluster_announce_port != 0 {
        c.port = cfg.cluster_announce_port;
    }
    c.cport = if cfg.cluster_announce_bus_port != 0 {
        cfg.cluster_announce_bus_port
    } else {
        bus_port(cfg)
    };
    c.node_timeout = cfg.cluster_node_timeout.max(1);
    c.announce_ip = cfg.cluster_announce_ip.clone().filter(|s| !s.is_empty());
    c.hostname = cfg.cluster_announce_hostname.clone().unwrap_or_default();
    c.require_full_coverage = cfg.cluster_require_full_coverage;
    c.allow_replica_migration = cfg.cluster_allow_replica_migration;
    c.migration_barrier = cfg.cluster_migration_barrier;
    c.replica_no_failover = cfg.cluster_replica_no_failover;
    c.replica_validity_factor = u64::from(cfg.cluster_replica_validity_factor);
    c.preferred_endpoint = match cfg.cluster_preferred_endpoint_type {
        EndpointType::Ip => cluster_core::EndpointType::Ip,
        EndpointType::Hostname => cluster_core::EndpointType::Hostname,
        EndpointType::UnknownEndpoint => cluster_core::EndpointType::Unknown,
    };
    c
}

/// Where nodes.conf is: `cluster-config-file`, relative to `dir`.
pub fn conf_path(cfg: &Config) -> PathBuf {
    cfg.dir.join(&cfg.cluster_config_file)
}

/// Why cluster mode could not start; the message is logged before exit 1.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// nodes.conf is held by another node, or cannot be read or created.
    #[error("{0}")]
    File(#[from] ConfFileError),
    /// nodes.conf does not parse (Redis's words; the details are logged before).
    #[error("Unrecoverable error: corrupted cluster config file.")]
    Corrupt,
    /// The bus port would be above 65535.
    #[error("Redis port number too high. Cluster communication port is 10,000 port numbers higher than your Redis port. Your Redis port number must be 55535 or less.")]
    PortTooHigh,
    /// The bus port cannot be bound (Redis's words; the cause is logged before).
    #[error("Failed listening on port {port} (cluster), aborting.")]
    Bind {
        /// The port.
        port: u16,
        /// The error.
        err: std::io::Error,
    },
}

/// Loads (or creates) nodes.conf and binds the bus port, before the node serves.
pub fn prepare(cfg: &Config, now_ms: u64) -> Result<Prepared, PrepareError> {
    if cfg.cluster_port == 0 && cfg.port > 65535 - 10000 {
        return Err(PrepareError::PortTooHigh);
    }
    let path = conf_path(cfg);
    let (file, bytes) = NodesConfFile::open(&path)?;
    let seed = fastrand::u64(..);
    let core_cfg = core_config(cfg);
    let fresh = bytes.iter().all(u8::is_ascii_whitespace);
    let cluster = if fresh {
        Cluster::new(core_cfg, seed, now_ms)
    } else {
        Cluster::load(core_cfg, &bytes, seed, now_ms).map_err(|e| {
            tracing::warn!("Cluster config file {}: {e}", path.display());
            PrepareError::Corrupt
        })?
    };
    let port = bus_port(cfg);
    let listeners = links::bind_bus(cfg, port).map_err(|err| {
        tracing::warn!("Could not create the cluster bus socket on port {port}: {err}");
        PrepareError::Bind { port, err }
    })?;
    Ok(Prepared {
        cluster,
        file,
        listeners,
        fresh,
    })
}

impl Prepared {
    /// Our node id (logged at start, as Redis does).
    pub fn myself(&self) -> String {
        cluster_core::nodes_conf::name_text(&self.cluster.myself())
    }
}

/// Starts the actor, the bus listener and the tick; installs the handle in the node.
/// Must run inside the tokio runtime.
pub fn start(
    node: &Arc<crate::node::Node>,
    prepared: Prepared,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let (tx, rx) = mpsc::channel(ACTOR_QUEUE);
    let handle = Arc::new(ClusterHandle {
        routing: ArcSwap::from_pointee(prepared.cluster.routing()),
        tx: tx.clone(),
    });
    if node.cluster.set(handle.clone()).is_err() {
        tracing::warn!("The cluster actor was already started");
        return;
    }
    for l in prepared.listeners {
        match tokio::net::TcpListener::from_std(l) {
            Ok(l) => {
                tokio::spawn(links::accept_loop(l, tx.clone(), shutdown.clone()));
            }
            Err(e) => tracing::warn!("Failed to use the cluster bus socket: {e}"),
        }
    }
    let actor = actor::Actor::new(
        prepared.cluster,
        prepared.file,
        Arc::downgrade(node),
        handle,
        tx,
        shutdown,
    );
    tokio::spawn(actor.run(rx, prepared.fresh));
}
