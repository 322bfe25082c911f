//! Messages: the common header and the body of every type (cluster-bus.md §2–§3).

use bytes::Bytes;

use crate::ext::Extensions;
use crate::flags::{ClusterState, MsgFlags, NodeFlags};
use crate::gossip::Gossip;
use crate::name::{NetIp, NodeName};
use crate::slots::SlotSet;

/// Size of the fixed header (`CLUSTERMSG_MIN_LEN`), also the smallest valid `totlen`.
pub const HEADER_LEN: usize = 2256;
/// The protocol version every 7.0 node sends and accepts (`CLUSTER_PROTO_VER`).
pub const PROTO_VERSION: u16 = 1;
/// The 4-byte signature that starts every message.
pub const SIGNATURE: [u8; 4] = *b"RCmb";

/// Message type numbers 0–10 (`CLUSTERMSG_TYPE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum MessageType {
    /// 0: liveness probe carrying the sender's config and gossip.
    Ping = 0,
    /// 1: reply to PING/MEET, or a broadcast config announcement.
    Pong = 1,
    /// 2: a PING that makes an unknown receiver add the sender.
    Meet = 2,
    /// 3: a node has been declared FAIL.
    Fail = 3,
    /// 4: Pub/Sub message for every node.
    Publish = 4,
    /// 5: a replica asks for a failover vote.
    FailoverAuthRequest = 5,
    /// 6: a master grants its vote.
    FailoverAuthAck = 6,
    /// 7: a slot configuration update about some node.
    Update = 7,
    /// 8: a replica asks its master to pause for a manual failover.
    MfStart = 8,
    /// 9: a module message.
    Module = 9,
    /// 10: sharded Pub/Sub message.
    PublishShard = 10,
}

impl MessageType {
    /// The type for a wire number, `None` for numbers 7.0 does not define.
    pub fn from_code(code: u16) -> Option<Self> {
        use MessageType::*;
        Some(match code {
            0 => Ping,
            1 => Pong,
            2 => Meet,
            3 => Fail,
            4 => Publish,
            5 => FailoverAuthRequest,
            6 => FailoverAuthAck,
            7 => Update,
            8 => MfStart,
            9 => Module,
            10 => PublishShard,
            _ => return None,
        })
    }

    /// The wire number.
    pub fn code(self) -> u16 {
        self as u16
    }
}

/// Header fields a 7.0 receiver ignores, kept so that a decoded message re-encodes
/// byte for byte. Every message in the 7.0.15 captures has them all zero (the sender
/// zero-fills its buffer); `Unused::default()` is what to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Unused {
    /// The `count` field of a message that has no gossip section (any type but
    /// PING/PONG/MEET). For PING/PONG/MEET `count` is the gossip length and this is 0.
    pub count: u16,
    /// The `extensions` field when it does not count extensions: any type but
    /// PING/PONG/MEET, or a PING/PONG/MEET without EXT_DATA (7.0 then ignores it in
    /// the length check). Otherwise 0.
    pub extensions: u16,
    /// `notused1` (30 bytes).
    pub notused1: [u8; 30],
    /// `mflags[1]` and `mflags[2]`.
    pub mflags_tail: [u8; 2],
}

/// The fixed 2256-byte header (`clusterMsg` without `data`), minus what is derived
/// from the body when encoding: signature, `totlen`, `type`, and for PING/PONG/MEET
/// `count` and `extensions`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Header {
    /// `ver`: always 1 in a decoded message (others are refused).
    pub version: u16,
    /// The sender's announced client port.
    pub port: u16,
    /// The sender's `currentEpoch`.
    pub current_epoch: u64,
    /// The sender's configEpoch, or its master's if it is a replica.
    pub config_epoch: u64,
    /// Replication offset.
    pub offset: u64,
    /// The sender's node name.
    pub sender: NodeName,
    /// Slots of the sender (master) or of its master (replica).
    pub myslots: SlotSet,
    /// The sender's master; all zero for a master.
    pub slaveof: NodeName,
    /// `cluster-announce-ip`, or empty.
    pub myip: NetIp,
    /// Plaintext client port when `tls-cluster yes`, else 0.
    pub pport: u16,
    /// The sender's bus port.
    pub cport: u16,
    /// The sender's own flags (a real node always includes MYSELF).
    pub flags: NodeFlags,
    /// The sender's cluster state (ignored by 7.0 receivers).
    pub state: ClusterState,
    /// `mflags[0]`. EXT_DATA is added by the encoder when extensions are present.
    pub mflags: MsgFlags,
    /// Ignored bytes, kept for exact re-encoding.
    pub unused: Unused,
}

impl Header {
    /// A header from `sender` with everything else zero (version 1, state ok): fill in
    /// ports, epochs, offset, slots, role and flags as `clusterBuildMessageHdr` would.
    pub fn new(sender: NodeName) -> Self {
        Header {
            version: PROTO_VERSION,
            port: 0,
            current_epoch: 0,
            config_epoch: 0,
            offset: 0,
            sender,
            myslots: SlotSet::EMPTY,
            slaveof: NodeName::ZERO,
            myip: NetIp::EMPTY,
            pport: 0,
            cport: 0,
            flags: NodeFlags::empty(),
            state: ClusterState::Ok,
            mflags: MsgFlags::empty(),
            unused: Unused::default(),
        }
    }

    /// The sender's master, if the header names one (`slaveof` not all zero).
    pub fn master(&self) -> Option<&NodeName> {
        (!self.slaveof.is_zero()).then_some(&self.slaveof)
    }
}

/// Body of PING, PONG and MEET: gossip entries, then ping extensions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PingBody {
    /// The gossip section.
    pub gossip: Gossip,
    /// Ping extensions (empty unless EXT_DATA).
    pub extensions: Extensions,
}

impl PingBody {
    /// The sender's hostname as a 7.0 receiver takes it: the last HOSTNAME extension,
    /// or `None`, which means the receiver clears the hostname it had.
    pub fn hostname(&self) -> Option<&[u8]> {
        self.extensions.hostname()
    }
}

/// Body of PUBLISH and PUBLISHSHARD.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PublishBody {
    /// The channel.
    pub channel: Bytes,
    /// The message.
    pub message: Bytes,
}

/// A module id exactly as on the wire: 8 bytes in the **sender's native byte order**
/// (little-endian from every x86-64/ARM64 Redis). Compare ids as bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ModuleId(pub [u8; 8]);

const MODULE_CHARSET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

impl ModuleId {
    /// The id as this machine's Redis would send it for `value`.
    pub fn from_native(value: u64) -> Self {
        ModuleId(value.to_ne_bytes())
    }

    /// The id read in this machine's byte order (what a Redis here would compare).
    pub fn native(&self) -> u64 {
        u64::from_ne_bytes(self.0)
    }

    /// The id Redis computes for a module name (`moduleTypeEncodeId(name, 0)`): each of
    /// the 9 characters is a 6-bit index into `A-Za-z0-9-_`, first character most
    /// significant, shifted left by 10. Any other name gives 0, as in Redis; a 9-char
    /// name with a character outside the set gives `None`.
    pub fn from_module_name(name: &[u8]) -> Option<Self> {
        if name.len() != 9 {
            return Some(ModuleId::from_native(0));
        }
        let mut id: u64 = 0;
        for &c in name {
            let idx = MODULE_CHARSET.iter().position(|&x| x == c)?;
            id = (id << 6) | idx as u64;
        }
        Some(ModuleId::from_native(id << 10))
    }
}

/// Body of MODULE.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ModuleBody {
    /// The sending module's id.
    pub module_id: ModuleId,
    /// Module-chosen message type.
    pub module_type: u8,
    /// The payload.
    pub payload: Bytes,
}

/// Body of UPDATE: the slots of `node` at `config_epoch`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UpdateBody {
    /// configEpoch of the described node.
    pub config_epoch: u64,
    /// The node described (the owner of `slots`).
    pub node: NodeName,
    /// Its slots (boxed: 2 KiB, and UPDATE is rare).
    pub slots: Box<SlotSet>,
}

/// The type-specific part of a message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Body {
    /// Type 0.
    Ping(PingBody),
    /// Type 1.
    Pong(PingBody),
    /// Type 2.
    Meet(PingBody),
    /// Type 3: the node declared failed.
    Fail(NodeName),
    /// Type 4.
    Publish(PublishBody),
    /// Type 5 (header only).
    FailoverAuthRequest,
    /// Type 6 (header only).
    FailoverAuthAck,
    /// Type 7.
    Update(UpdateBody),
    /// Type 8 (header only).
    MfStart,
    /// Type 9.
    Module(ModuleBody),
    /// Type 10.
    PublishShard(PublishBody),
    /// A type 7.0 does not know (≥ 11). 7.0 accepts it with any length, applies the
    /// header's sender updates (epochs, offset) and then ignores it.
    Unknown {
        /// The type number.
        code: u16,
        /// Everything after the header.
        data: Bytes,
    },
}

impl Body {
    /// The wire type number.
    pub fn code(&self) -> u16 {
        match self.message_type() {
            Some(t) => t.code(),
            None => match self {
                Body::Unknown { code, .. } => *code,
                _ => 0,
            },
        }
    }

    /// The message type, `None` for [`Body::Unknown`].
    pub fn message_type(&self) -> Option<MessageType> {
        use MessageType as T;
        Some(match self {
            Body::Ping(_) => T::Ping,
            Body::Pong(_) => T::Pong,
            Body::Meet(_) => T::Meet,
            Body::Fail(_) => T::Fail,
            Body::Publish(_) => T::Publish,
            Body::FailoverAuthRequest => T::FailoverAuthRequest,
            Body::FailoverAuthAck => T::FailoverAuthAck,
            Body::Update(_) => T::Update,
            Body::MfStart => T::MfStart,
            Body::Module(_) => T::Module,
            Body::PublishShard(_) => T::PublishShard,
            Body::Unknown { .. } => return None,
        })
    }

    /// The gossip and extensions of a PING, PONG or MEET.
    pub fn ping(&self) -> Option<&PingBody> {
        match self {
            Body::Ping(p) | Body::Pong(p) | Body::Meet(p) => Some(p),
            _ => None,
        }
    }
}

/// One cluster bus message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Message {
    /// The common header.
    pub header: Header,
    /// The type-specific body.
    pub body: Body,
}

impl Message {
    /// A message from its parts.
    pub fn new(header: Header, body: Body) -> Self {
        Message { header, body }
    }

    /// The message type, `None` for an unknown type.
    pub fn message_type(&self) -> Option<MessageType> {
        self.body.message_type()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_id_of_busvector_matches_the_capture() {
        // cluster-bus.md §3.8: "busvector" -> bytes 00 ac 68 cb 79 2f eb 6e on x86-64.
        let id = ModuleId::from_module_name(b"busvector");
        assert_eq!(
            id.map(|i| i.native()),
            Some(u64::from_le_bytes([
                0x00, 0xac, 0x68, 0xcb, 0x79, 0x2f, 0xeb, 0x6e
            ]))
        );
        assert_eq!(
            ModuleId::from_module_name(b"short"),
            Some(ModuleId::default())
        );
        assert_eq!(ModuleId::from_module_name(b"bad.name!"), None);
    }

    #[test]
    fn type_codes_round_trip() {
        for code in 0..=10 {
            assert_eq!(
                MessageType::from_code(code).map(MessageType::code),
                Some(code)
            );
        }
        assert_eq!(MessageType::from_code(11), None);
    }
}
