//! Ping extensions (`clusterMsgPingExt`, cluster-bus.md §3.3 and §4.1).

use bytes::{BufMut, Bytes};

use crate::name::{FieldError, NodeName, NAME_LEN};

/// Size of an extension's own header (`length` u32, `type` u16, `unused` u16).
pub const EXT_HEADER_LEN: usize = 8;

/// Extension type numbers (`CLUSTERMSG_EXT_TYPE_*`).
pub mod ext_type {
    /// Redis 7.0: `cluster-announce-hostname`.
    pub const HOSTNAME: u16 = 0;
    /// Redis 7.2+, Valkey: `cluster-announce-human-nodename`.
    pub const HUMAN_NODENAME: u16 = 1;
    /// Redis 7.2+, Valkey: a node to forget (CLUSTER FORGET propagation).
    pub const FORGOTTEN_NODE: u16 = 2;
    /// Redis 7.2+, Valkey: the sender's shard id.
    pub const SHARDID: u16 = 3;
    /// Valkey 8.0: announced client IPv4.
    pub const CLIENT_IPV4: u16 = 4;
    /// Valkey 8.0: announced client IPv6.
    pub const CLIENT_IPV6: u16 = 5;
}

/// One ping extension.
///
/// Known types are decoded into typed values only when they are in exactly the form
/// their writers produce (zero `unused`, a string followed by NUL padding to the next
/// multiple of 8, or the fixed size of a name/ttl record). Anything else arrives as
/// [`PingExt::Other`] with its bytes untouched: it is skipped the way 7.0 skips unknown
/// types, and re-encodes byte for byte.
///
/// Strings are held without their NUL and padding and must not contain NUL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PingExt {
    /// Type 0 (Redis 7.0): the sender's `cluster-announce-hostname`.
    Hostname(Bytes),
    /// Type 1 (Redis 7.2+, Valkey): the sender's human-readable node name.
    HumanNodename(Bytes),
    /// Type 2 (Redis 7.2+, Valkey): forget `node` for `ttl` seconds.
    ForgottenNode {
        /// The node to forget.
        node: NodeName,
        /// Blacklist time to live, seconds.
        ttl: u64,
    },
    /// Type 3 (Redis 7.2+, Valkey): the sender's shard id (40 bytes).
    ShardId(NodeName),
    /// Type 4 (Valkey 8.0): the announced client IPv4 address.
    ClientIpv4(Bytes),
    /// Type 5 (Valkey 8.0): the announced client IPv6 address.
    ClientIpv6(Bytes),
    /// An extension not decoded into a typed value: unknown type, or a known type in
    /// an unusual form. `data` is everything after the 8-byte extension header; it
    /// should be a multiple of 8 long (the encoder zero-pads it otherwise).
    Other {
        /// Extension type.
        ext_type: u16,
        /// The header's `unused` field.
        unused: u16,
        /// The extension data.
        data: Bytes,
    },
}

fn padded(n: usize) -> usize {
    (n + 1).div_ceil(8) * 8
}

impl PingExt {
    /// A HOSTNAME extension, as a 7.0 node with `cluster-announce-hostname` sends it.
    pub fn hostname(name: impl Into<Bytes>) -> Result<Self, FieldError> {
        let name = name.into();
        if name.contains(&0) {
            return Err(FieldError::ExtNul);
        }
        Ok(PingExt::Hostname(name))
    }

    /// The extension type number.
    pub fn ext_type(&self) -> u16 {
        match self {
            PingExt::Hostname(_) => ext_type::HOSTNAME,
            PingExt::HumanNodename(_) => ext_type::HUMAN_NODENAME,
            PingExt::ForgottenNode { .. } => ext_type::FORGOTTEN_NODE,
            PingExt::ShardId(_) => ext_type::SHARDID,
            PingExt::ClientIpv4(_) => ext_type::CLIENT_IPV4,
            PingExt::ClientIpv6(_) => ext_type::CLIENT_IPV6,
            PingExt::Other { ext_type, .. } => *ext_type,
        }
    }

    /// Length on the wire, header included (the `length` field): a multiple of 8.
    pub fn encoded_len(&self) -> usize {
        EXT_HEADER_LEN
            + match self {
                PingExt::Hostname(s)
                | PingExt::HumanNodename(s)
                | PingExt::ClientIpv4(s)
                | PingExt::ClientIpv6(s) => padded(s.len()),
                PingExt::ForgottenNode { .. } => NAME_LEN + 8,
                PingExt::ShardId(_) => NAME_LEN,
                PingExt::Other { data, .. } => data.len().div_ceil(8) * 8,
            }
    }

    /// Decode one extension from its type, `unused` field and data (the bytes after
    /// the 8-byte header; a multiple of 8 long, checked by the caller).
    pub(crate) fn parse(ext_type: u16, unused: u16, data: Bytes) -> PingExt {
        let typed = if unused == 0 {
            match ext_type {
                ext_type::HOSTNAME => canonical_string(&data).map(PingExt::Hostname),
                ext_type::HUMAN_NODENAME => canonical_string(&data).map(PingExt::HumanNodename),
                ext_type::CLIENT_IPV4 => canonical_string(&data).map(PingExt::ClientIpv4),
                ext_type::CLIENT_IPV6 => canonical_string(&data).map(PingExt::ClientIpv6),
                ext_type::SHARDID => NodeName::from_slice(&data).map(PingExt::ShardId),
                ext_type::FORGOTTEN_NODE if data.len() == NAME_LEN + 8 => {
                    let node = NodeName::from_slice(&data[..NAME_LEN]);
                    let ttl = <[u8; 8]>::try_from(&data[NAME_LEN..])
                        .ok()
                        .map(u64::from_be_bytes);
                    node.zip(ttl)
                        .map(|(node, ttl)| PingExt::ForgottenNode { node, ttl })
                }
                _ => None,
            }
        } else {
            None
        };
        typed.unwrap_or(PingExt::Other {
            ext_type,
            unused,
            data,
        })
    }

    /// Append the wire bytes of this extension (header, data, zero padding).
    pub fn write(&self, out: &mut impl BufMut) {
        let len = self.encoded_len();
        // Extensions live inside a frame whose length is a u32; callers never build
        // one near 4 GiB, and the frame limit refuses it on the way back in.
        out.put_u32(u32::try_from(len).unwrap_or(u32::MAX));
        out.put_u16(self.ext_type());
        let unused = match self {
            PingExt::Other { unused, .. } => *unused,
            _ => 0,
        };
        out.put_u16(unused);
        let written = match self {
            PingExt::Hostname(s)
            | PingExt::HumanNodename(s)
            | PingExt::ClientIpv4(s)
            | PingExt::ClientIpv6(s)
            | PingExt::Other { data: s, .. } => {
                out.put_slice(s);
                s.len()
            }
            PingExt::ForgottenNode { node, ttl } => {
                out.put_slice(node.as_bytes());
                out.put_u64(*ttl);
                NAME_LEN + 8
            }
            PingExt::ShardId(node) => {
                out.put_slice(node.as_bytes());
                NAME_LEN
            }
        };
        out.put_bytes(0, len - EXT_HEADER_LEN - written);
    }
}

/// The string of a string extension written as Redis writes it: the bytes, one NUL,
/// zero padding up to the next multiple of 8, nothing else.
fn canonical_string(data: &Bytes) -> Option<Bytes> {
    let n = data.iter().position(|&b| b == 0)?;
    let canonical = data.len() == padded(n) && data[n..].iter().all(|&b| b == 0);
    canonical.then(|| data.slice(..n))
}

/// The ping extensions of a PING/PONG/MEET: a validated, zero-copy view of the
/// extension bytes that follow the gossip section, like [`crate::Gossip`].
///
/// Decoding checks every extension's length and allocates nothing; [`Extensions::iter`]
/// yields typed [`PingExt`] values on demand. Build one for sending with
/// [`Extensions::new`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Extensions {
    raw: Bytes,
    count: u16,
}

impl Extensions {
    /// No extensions.
    pub const fn empty() -> Self {
        Extensions {
            raw: Bytes::new(),
            count: 0,
        }
    }

    /// Encode `exts` in order; the header's `extensions` is a u16, so at most 65535.
    pub fn new(exts: &[PingExt]) -> Result<Self, FieldError> {
        let count =
            u16::try_from(exts.len()).map_err(|_| FieldError::TooManyExtensions(exts.len()))?;
        let mut raw = bytes::BytesMut::with_capacity(exts.iter().map(PingExt::encoded_len).sum());
        for e in exts {
            e.write(&mut raw);
        }
        Ok(Extensions {
            raw: raw.freeze(),
            count,
        })
    }

    /// `raw` must hold exactly `count` well-formed extensions; the decoder checks it.
    pub(crate) fn from_raw(raw: Bytes, count: u16) -> Self {
        Extensions { raw, count }
    }

    /// Number of extensions (the header's `extensions` when EXT_DATA is set).
    pub fn len(&self) -> usize {
        usize::from(self.count)
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The extensions in wire order.
    pub fn iter(&self) -> ExtIter<'_> {
        ExtIter {
            ext: self,
            pos: 0,
            left: self.count,
        }
    }

    /// The wire bytes of all extensions.
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// The hostname a 7.0 receiver takes: the last HOSTNAME extension's string up to its
    /// first NUL, or `None` (7.0 then clears the sender's hostname).
    pub fn hostname(&self) -> Option<&[u8]> {
        let mut found = None;
        for (ext_type, _, data) in self.walk() {
            if ext_type == ext_type::HOSTNAME {
                found = data.split(|&b| b == 0).next();
            }
        }
        found
    }

    /// (type, unused, data range) of each extension.
    fn walk(&self) -> impl Iterator<Item = (u16, u16, &[u8])> + '_ {
        let mut rest: &[u8] = &self.raw;
        (0..self.count).map_while(move |_| {
            let (h, tail) = rest.split_first_chunk::<EXT_HEADER_LEN>()?;
            let len = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize;
            let data_len = len.checked_sub(EXT_HEADER_LEN)?;
            let data = tail.get(..data_len)?;
            rest = &tail[data_len..];
            Some((
                u16::from_be_bytes([h[4], h[5]]),
                u16::from_be_bytes([h[6], h[7]]),
                data,
            ))
        })
    }
}

impl<'a> IntoIterator for &'a Extensions {
    type Item = PingExt;
    type IntoIter = ExtIter<'a>;
    fn into_iter(self) -> ExtIter<'a> {
        self.iter()
    }
}

/// Iterator over [`Extensions`].
#[derive(Debug, Clone)]
pub struct ExtIter<'a> {
    ext: &'a Extensions,
    pos: usize,
    left: u16,
}

impl Iterator for ExtIter<'_> {
    type Item = PingExt;
    fn next(&mut self) -> Option<PingExt> {
        self.left = self.left.checked_sub(1)?;
        let raw = &self.ext.raw;
        let h = raw.get(self.pos..self.pos + EXT_HEADER_LEN)?;
        let len = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize;
        let ext_type = u16::from_be_bytes([h[4], h[5]]);
        let unused = u16::from_be_bytes([h[6], h[7]]);
        let end = self
            .pos
            .checked_add(len)
            .filter(|&e| e <= raw.len() && len >= EXT_HEADER_LEN)?;
        let data = raw.slice(self.pos + EXT_HEADER_LEN..end);
        self.pos = end;
        Some(PingExt::parse(ext_type, unused, data))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(usize::from(self.left)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostname_length_is_header_plus_string_nul_and_padding() {
        // cluster-bus.md §3.3: 21 chars -> 8 + 24 = 32.
        let e = PingExt::Hostname(Bytes::from_static(b"node-7100.busvec.test"));
        assert_eq!(e.encoded_len(), 32);
        // 8 chars need a NUL, so a second word.
        assert_eq!(
            PingExt::Hostname(Bytes::from_static(b"12345678")).encoded_len(),
            24
        );
        assert_eq!(PingExt::Hostname(Bytes::new()).encoded_len(), 16);
        let mut out = Vec::new();
        e.write(&mut out);
        assert_eq!(&out[..8], &[0, 0, 0, 32, 0, 0, 0, 0]);
        assert_eq!(&out[8..29], b"node-7100.busvec.test");
        assert_eq!(&out[29..], &[0, 0, 0]);
    }

    #[test]
    fn unusual_forms_are_kept_raw() {
        let garbage = Bytes::from_static(b"abc\0\0\0\0x");
        let e = PingExt::parse(ext_type::HOSTNAME, 0, garbage.clone());
        assert!(matches!(e, PingExt::Other { ext_type: 0, .. }));
        let exts = Extensions::new(std::slice::from_ref(&e)).unwrap_or_default();
        assert_eq!(exts.iter().collect::<Vec<_>>(), vec![e]);
        assert_eq!(exts.hostname(), Some(&b"abc"[..]));
        let short = PingExt::parse(ext_type::SHARDID, 0, Bytes::from_static(&[b'a'; 8]));
        assert!(matches!(short, PingExt::Other { ext_type: 3, .. }));
        assert_eq!(
            PingExt::hostname(&b"a\0"[..]),
            Err(FieldError::ExtNul),
            "NUL inside a string cannot round-trip"
        );
    }
}
