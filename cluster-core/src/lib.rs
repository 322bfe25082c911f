//! The Redis Cluster state machine, sans-IO: node table, slots, epochs, gossip, failure
//! detection, elections, nodes.conf and the CLUSTER subcommands.
//!
//! Not written yet: this crate is an empty shell until the cluster-core issue lands.
//! It takes no clock, socket, file or runtime: time and input are arguments, effects are
//! returned values.
