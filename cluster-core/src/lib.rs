//! The Redis 7.0 cluster as a sans-IO state machine: node table, slots, epochs, gossip,
//! failure detection, elections, manual failover, replica migration, nodes.conf and the
//! CLUSTER subcommands — plus [`sim`], a deterministic many-node simulator.
//!
//! Not here: sockets, clocks, files, tokio, keys. [`Cluster::handle`] takes the time and
//! one [`Input`] and pushes [`Effect`]s; the server carries them out (send a message,
//! open/close a link, write nodes.conf, publish a [`Routing`] snapshot, replicate, ...).
//! Randomness comes from a seeded RNG owned by the state, so a run is a function of
//! (seed, inputs).
//!
//! # Using it (the server's side)
//!
//! * Start: [`Cluster::load`] with the nodes.conf bytes (a typed [`nodes_conf::ConfError`]
//!   for a corrupt file), or [`Cluster::new`] when there is none (then write
//!   [`Cluster::nodes_conf_bytes`] at once).
//! * Feed [`Input`]s with the wall clock in ms: [`Input::Tick`] every 100 ms, every
//!   decoded frame as [`Input::Bus`], [`Input::Accepted`] / [`Input::Connected`] /
//!   [`Input::Closed`] for links, [`Input::Replication`] when the offset, the master
//!   link or its last I/O time moves (a linked replica: at least every tick),
//!   [`Input::Publish`] / [`Input::ModuleSend`] to propagate.
//! * CLUSTER commands: [`Request::parse`] on the argv (argument errors come back as a
//!   [`CmdError`] whose `Display` is Redis's exact text after `-`), then
//!   [`Input::Command`] with [`KeyFacts`] (db 0 key count; keys in [`Request::slot`]).
//!   The [`Reply`] arrives as [`Effect::Reply`]. COUNTKEYSINSLOT and GETKEYSINSLOT are
//!   validated here and answered by the server: [`Reply::Keyspace`]. CLUSTER NODES and
//!   INFO are [`Reply::Text`] (bulk in RESP2, verbatim `txt` in RESP3).
//! * Carry out every [`Effect`] in order. [`Effect::SaveConfig`]: write
//!   [`Cluster::nodes_conf_bytes`] then, before the effects after it (a vote's ACK).
//!   CLUSTER SAVECONFIG replies `+OK` after pushing its SaveConfig: the server turns a write error into
//!   `-ERR error saving the cluster node config: <strerror>`. CLUSTER LINKS reports
//!   `events` `r` and zero buffer sizes; the server may fill in the real ones.
//!
//! # Map of the spec (cluster-bus.md)
//!
//! | section | where |
//! |---|---|
//! | §6 receiving, sender identification | `proto.rs` `process_packet`, `sender_updates` |
//! | §8 MEET / handshake | `proto.rs` `process_ping`, `command.rs` `start_handshake` |
//! | §9 PING/PONG, gossip selection | `proto.rs` `build_ping`, `process_gossip` |
//! | §10 cron | `cron.rs` |
//! | §11 PFAIL, reports, FAIL, clearing | `cron.rs`, `proto.rs` `mark_node_as_failing_if_needed`, `clear_node_failure_if_needed` |
//! | §12 epochs, collisions | `cluster.rs` `bump_config_epoch_without_consensus`, `proto.rs` `handle_config_epoch_collision` |
//! | §13 roles, slots, UPDATE | `proto.rs` `update_slots_config_with`, `process_update` |
//! | §14 elections, votes | `failover.rs` |
//! | §15 manual failover, migration | `failover.rs`, `command.rs` `cmd_failover` |
//! | §16.2 cluster state | `cluster.rs` `update_state` |
//! | §16.3 FORGET ban | `command.rs`, `proto.rs` `blacklisted` |
//! | §16.4 nodes.conf | [`nodes_conf`], [`Cluster::load`], [`Cluster::nodes_conf_bytes`] |
//!
//! # Simulator invariants
//!
//! [`sim`] checks these (each from the rule it follows):
//!
//! 1. After healing and quiescence every node's slot → owner map is identical and covers
//!    the 16384 slots exactly once (§13.3: higher configEpoch wins, UPDATE repairs stale
//!    views).
//! 2. currentEpoch never decreases and is ≥ the node's configEpoch, at every step (§12).
//! 3. After convergence, distinct masters with slots hold distinct configEpochs (§12
//!    collision resolution).
//! 4. A master grants at most one vote per epoch, and at most one replica wins an epoch
//!    (§14.4 lastVoteEpoch; quorum = majority of masters with slots).
//! 5. A failed master with a reachable replica gets a replica promoted within
//!    `node_timeout` (PFAIL) + failure-report gossip + 1000 ms (max election delay with
//!    rank 0) + network latency: the scenario tests bound it by `3 × node_timeout + 3 s`.
//! 6. A master cut off in a minority reports `cluster_state:fail` within
//!    `1.5 × node_timeout + 200 ms` of the cut: its keep-alive PING leaves up to
//!    `node_timeout / 2` after the last PONG (§9.1), PFAIL follows `node_timeout` later
//!    (§11.1), and the quorum check runs on that cron tick (§16.2); ticks are 100 ms.
//! 7. nodes.conf round trip: loading a node's saved bytes and saving again gives the same
//!    bytes except ping/pong times and the link-state column (see [`Cluster::load`]).

//!
//! # Verification
//!
//! * `tests/`: one file per part of the spec (failure detection, epochs and slots,
//!   voting, wire/handshake, commands and pub/sub, nodes.conf with the 7.0.15 files,
//!   CLUSTER transcripts replayed byte for byte), simulator scenarios, 500 seeds of the
//!   mixed-fault scenario ([`sim::scenario::mixed_faults`]: 6–20 nodes, lossy /
//!   duplicating / reordering network, splits, one-way cuts, crashes, failovers;
//!   `CLUSTER_SIM_SEEDS`, `CLUSTER_SIM_SEED`, `CLUSTER_SIM_NODES`), a 100-node scale
//!   run, steady-state bus traffic against figures measured on real redis-server
//!   clusters (`tests/sim_bus_rate.rs`; `scripts/redis_bus_rate.sh N TIMEOUT` measures
//!   them), and interop runs against a real `redis-server` 7.0.15 (they fail when it
//!   is not installed).
//! * `cargo run --release -p xtask -- sim --seeds 10000` (more seeds, `--faults`,
//!   `--nodes`, `--seed S` to replay) and `... sim --scale 100,500,1000` (figures below).
//! * `fuzz/` (own cargo project): `nodes_conf`, `command`, `bus` —
//!   `RUSTC_BOOTSTRAP=1 cargo fuzz run bus -- -max_total_time=600`.
//! * `benches/core.rs`: PING in, cron tick, CLUSTER NODES, nodes.conf at N=6 and N=100;
//!   PING with 100 gossip entries and a steady-state cron tick at N=1000.
#![doc = include_str!("../BENCHMARKS.md")]

mod cluster;
pub mod command;
mod cron;
mod failover;
pub mod keyslot;
pub mod node;
mod node_slots;
pub mod nodes_conf;
mod proto;
pub mod reply;
pub mod routing;
pub mod sim;
mod types;

pub use cluster::{Cluster, Health};
pub use command::{FailoverMode, Request, SetSlotAction, HELP};
pub use reply::{CmdError, KeyspaceQuery, Reply};
pub use routing::Routing;
pub use types::{
    Config, Effect, EndpointType, Input, KeyFacts, LinkId, LogLevel, MasterAddr, Millis,
};
