//! Node flags, message flags and the cluster state byte (cluster-bus.md §5).

use bitflags::bitflags;

bitflags! {
    /// Node flags (`CLUSTER_NODE_*`): the header `flags` (the sender's own, with MYSELF)
    /// and each gossip entry's `flags`. Unknown bits are kept as received.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct NodeFlags: u16 {
        /// The node is a master.
        const MASTER = 0x0001;
        /// The node is a replica.
        const SLAVE = 0x0002;
        /// Possibly failing: the describing node's ping is outstanding too long.
        const PFAIL = 0x0004;
        /// Failed, by majority agreement.
        const FAIL = 0x0008;
        /// "This is me": set in the sender's own header flags.
        const MYSELF = 0x0010;
        /// Handshake not complete; the name is still random.
        const HANDSHAKE = 0x0020;
        /// Address unknown.
        const NOADDR = 0x0040;
        /// Send MEET rather than PING on the next new link.
        const MEET = 0x0080;
        /// Master eligible as a replica-migration target.
        const MIGRATE_TO = 0x0100;
        /// Replica configured never to fail over.
        const NOFAILOVER = 0x0200;
        /// Redis 8.0 / Valkey 8.0 only: the node understands ping extensions. Never sent by 7.0.
        const EXTENSIONS_SUPPORTED = 0x0400;
        /// Valkey 8.0 only: light PUBLISH headers. A 7.0 node must never set it.
        const LIGHT_HDR_SUPPORTED = 0x0800;
        /// Later Valkey only: light MODULE headers. A 7.0 node must never set it.
        const LIGHT_HDR_MODULE_SUPPORTED = 0x1000;
    }
}

bitflags! {
    /// Message flags: `mflags[0]` of the header (`CLUSTERMSG_FLAG0_*`). Unknown bits are kept.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct MsgFlags: u8 {
        /// The sender is a master paused for a manual failover; its offset is final.
        const PAUSED = 0x01;
        /// Vote even though the master is not FAIL (manual failover).
        const FORCEACK = 0x02;
        /// Ping extensions follow the gossip section.
        ///
        /// The encoder sets this whenever a PING/PONG/MEET carries extensions.
        const EXT_DATA = 0x04;
    }
}

/// The sender's cluster state (`state`): informational, 7.0 receivers ignore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ClusterState {
    /// 0: `CLUSTER_OK`.
    #[default]
    Ok,
    /// 1: `CLUSTER_FAIL`.
    Fail,
    /// Any other byte, kept as received.
    Other(u8),
}

impl From<u8> for ClusterState {
    fn from(b: u8) -> Self {
        match b {
            0 => ClusterState::Ok,
            1 => ClusterState::Fail,
            b => ClusterState::Other(b),
        }
    }
}

impl From<ClusterState> for u8 {
    fn from(s: ClusterState) -> u8 {
        match s {
            ClusterState::Ok => 0,
            ClusterState::Fail => 1,
            ClusterState::Other(b) => b,
        }
    }
}
