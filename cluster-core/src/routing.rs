//! The routing snapshot the client path reads without asking the cluster actor:
//! slot -> owner, open slots, cluster state (client-behaviour.md §2).

use std::collections::BTreeMap;

use cluster_bus::NodeName;

/// Index into [`Routing::nodes`]; [`NO_OWNER`] for an unassigned slot.
pub type NodeIndex = u16;
/// Marks an unassigned slot in [`Routing::owners`].
pub const NO_OWNER: NodeIndex = u16::MAX;

/// A node as redirections print it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteNode {
    /// Node id.
    pub name: NodeName,
    /// IP (may be empty).
    pub ip: String,
    /// Client port.
    pub port: u16,
    /// Announced hostname (empty = none).
    pub hostname: String,
}

/// An immutable view of who serves what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routing {
    /// `cluster_state:ok`.
    pub state_ok: bool,
    /// Our id.
    pub myself: NodeName,
    /// Our master when we are a replica.
    pub my_master: Option<NodeName>,
    /// Every node that owns a slot, and every node a slot of ours migrates to.
    pub nodes: Vec<RouteNode>,
    /// 16384 entries: index into `nodes`, or [`NO_OWNER`].
    pub owners: Vec<NodeIndex>,
    /// Slots of ours migrating to a node.
    pub migrating: BTreeMap<u16, NodeName>,
    /// Slots we import from a node.
    pub importing: BTreeMap<u16, NodeName>,
}

impl Routing {
    /// The owner of `slot`, if assigned.
    pub fn owner(&self, slot: u16) -> Option<&RouteNode> {
        let i = *self.owners.get(usize::from(slot))?;
        self.nodes.get(usize::from(i))
    }
}
