//! Gossip entries (`clusterMsgDataGossip`, 104 bytes each, cluster-bus.md §3.2).

use bytes::{BufMut, Bytes, BytesMut};

use crate::flags::NodeFlags;
use crate::name::{FieldError, NetIp, NodeName, IP_LEN, NAME_LEN};

/// Size of one gossip entry on the wire.
pub const GOSSIP_LEN: usize = 104;

/// One gossip entry: what the sender knows about another node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GossipEntry {
    /// The node described.
    pub node: NodeName,
    /// Sender's outstanding ping time to that node, unix seconds (0 = none). 7.0 ignores it.
    pub ping_sent: u32,
    /// When the sender last got a PONG from that node, unix seconds.
    pub pong_received: u32,
    /// The node's IP as the sender knows it (46 raw bytes, see [`NetIp`]).
    pub ip: NetIp,
    /// Client port.
    pub port: u16,
    /// Bus port.
    pub cport: u16,
    /// The sender's view of the node's flags.
    pub flags: NodeFlags,
    /// Plaintext client port in TLS clusters, else 0.
    pub pport: u16,
    /// `notused1`: zero from every real sender, kept for byte-exact re-encoding.
    pub unused: u16,
}

impl GossipEntry {
    /// Read one entry from exactly [`GOSSIP_LEN`] bytes.
    fn parse(b: &[u8; GOSSIP_LEN]) -> GossipEntry {
        let u16_at = |o: usize| u16::from_be_bytes([b[o], b[o + 1]]);
        let u32_at = |o: usize| u32::from_be_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let mut node = [0u8; NAME_LEN];
        node.copy_from_slice(&b[..NAME_LEN]);
        let mut ip = [0u8; IP_LEN];
        ip.copy_from_slice(&b[48..48 + IP_LEN]);
        GossipEntry {
            node: NodeName::new(node),
            ping_sent: u32_at(40),
            pong_received: u32_at(44),
            ip: NetIp::from_raw(ip),
            port: u16_at(94),
            cport: u16_at(96),
            flags: NodeFlags::from_bits_retain(u16_at(98)),
            pport: u16_at(100),
            unused: u16_at(102),
        }
    }

    /// Append the 104 wire bytes of this entry.
    pub fn write(&self, out: &mut impl BufMut) {
        out.put_slice(self.node.as_bytes());
        out.put_u32(self.ping_sent);
        out.put_u32(self.pong_received);
        out.put_slice(self.ip.raw());
        out.put_u16(self.port);
        out.put_u16(self.cport);
        out.put_u16(self.flags.bits());
        out.put_u16(self.pport);
        out.put_u16(self.unused);
    }
}

/// The gossip section of a PING/PONG/MEET: a validated, zero-copy view of
/// `count` entries of 104 bytes.
///
/// Decoding does not allocate per entry (it slices the received frame); entries are
/// materialised one at a time by [`Gossip::iter`]. Build one for sending with
/// [`Gossip::from_entries`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Gossip {
    raw: Bytes,
}

impl Gossip {
    /// No entries.
    pub const fn empty() -> Self {
        Gossip { raw: Bytes::new() }
    }

    /// `raw` must hold a whole number of entries; the decoder guarantees it.
    pub(crate) fn from_raw(raw: Bytes) -> Self {
        Gossip { raw }
    }

    /// Encode `entries` into a section; `count` is a u16, so at most 65535 entries.
    pub fn from_entries(entries: &[GossipEntry]) -> Result<Self, FieldError> {
        if entries.len() > usize::from(u16::MAX) {
            return Err(FieldError::TooManyGossip(entries.len()));
        }
        let mut buf = BytesMut::with_capacity(entries.len() * GOSSIP_LEN);
        for e in entries {
            e.write(&mut buf);
        }
        Ok(Gossip { raw: buf.freeze() })
    }

    /// Number of entries (the header's `count`).
    pub fn len(&self) -> usize {
        self.raw.len() / GOSSIP_LEN
    }

    /// True when there is no entry.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Entry `i`, if present.
    pub fn get(&self, i: usize) -> Option<GossipEntry> {
        let start = i.checked_mul(GOSSIP_LEN)?;
        let chunk = self.raw.get(start..start.checked_add(GOSSIP_LEN)?)?;
        <&[u8; GOSSIP_LEN]>::try_from(chunk)
            .ok()
            .map(GossipEntry::parse)
    }

    /// The entries in wire order.
    pub fn iter(&self) -> GossipIter<'_> {
        GossipIter {
            chunks: self.raw.chunks_exact(GOSSIP_LEN),
        }
    }

    /// The section's wire bytes (`count` × 104).
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }
}

impl<'a> IntoIterator for &'a Gossip {
    type Item = GossipEntry;
    type IntoIter = GossipIter<'a>;
    fn into_iter(self) -> GossipIter<'a> {
        self.iter()
    }
}

/// Iterator over a [`Gossip`] section.
#[derive(Debug, Clone)]
pub struct GossipIter<'a> {
    chunks: std::slice::ChunksExact<'a, u8>,
}

impl Iterator for GossipIter<'_> {
    type Item = GossipEntry;
    fn next(&mut self) -> Option<GossipEntry> {
        let chunk = self.chunks.next()?;
        <&[u8; GOSSIP_LEN]>::try_from(chunk)
            .ok()
            .map(GossipEntry::parse)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}

impl ExactSizeIterator for GossipIter<'_> {}
