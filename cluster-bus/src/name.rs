//! Fixed-size name and address fields: node names (40 bytes) and IP strings (46 bytes).

use std::fmt;

/// Length of a node name on the wire (`CLUSTER_NAMELEN`).
pub const NAME_LEN: usize = 40;
/// Length of an IP field on the wire (`NET_IP_STR_LEN`), NUL terminator included.
pub const IP_LEN: usize = 46;

/// A node name (node id): exactly 40 bytes, not NUL-terminated.
///
/// Redis generates 40 lowercase hex characters. Any 40 bytes are carried as they are;
/// [`NodeName::is_valid`] tells whether a 7.0 node would accept the name in a lookup
/// (`verifyClusterNodeId`, cluster-bus.md §2.2).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeName([u8; NAME_LEN]);

impl NodeName {
    /// The all-zero name, which `slaveof` uses for "no master".
    pub const ZERO: NodeName = NodeName([0; NAME_LEN]);

    /// Wrap 40 raw bytes.
    pub const fn new(bytes: [u8; NAME_LEN]) -> Self {
        NodeName(bytes)
    }

    /// The 40 bytes as sent on the wire.
    pub const fn as_bytes(&self) -> &[u8; NAME_LEN] {
        &self.0
    }

    /// True when every byte is NUL.
    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|&b| b == 0)
    }

    /// True when the name is 40 characters of `[a-z0-9]`, the only names 7.0 looks up.
    pub fn is_valid(&self) -> bool {
        self.0
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    }

    pub(crate) fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; NAME_LEN]>::try_from(bytes).ok().map(NodeName)
    }
}

/// Error for a string that cannot be a node name or an IP field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldError {
    /// A node name must be exactly 40 bytes.
    #[error("node name must be {NAME_LEN} bytes, got {0}")]
    NameLength(usize),
    /// An IP string must fit in 45 bytes plus its terminator.
    #[error("ip string of {0} bytes does not fit in {IP_LEN} bytes with its NUL")]
    IpTooLong(usize),
    /// An IP string cannot contain NUL.
    #[error("ip string contains NUL")]
    IpNul,
    /// A gossip section holds at most 65535 entries (`count` is a u16).
    #[error("{0} gossip entries do not fit in a u16 count")]
    TooManyGossip(usize),
    /// A PING/PONG/MEET holds at most 65535 extensions (`extensions` is a u16).
    #[error("{0} ping extensions do not fit in a u16 count")]
    TooManyExtensions(usize),
    /// A ping extension string cannot contain NUL.
    #[error("extension string contains NUL")]
    ExtNul,
}

impl TryFrom<&[u8]> for NodeName {
    type Error = FieldError;
    fn try_from(bytes: &[u8]) -> Result<Self, FieldError> {
        NodeName::from_slice(bytes).ok_or(FieldError::NameLength(bytes.len()))
    }
}

impl TryFrom<&str> for NodeName {
    type Error = FieldError;
    fn try_from(s: &str) -> Result<Self, FieldError> {
        NodeName::try_from(s.as_bytes())
    }
}

impl fmt::Display for NodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.escape_ascii(), f)
    }
}

impl fmt::Debug for NodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeName(\"{}\")", self.0.escape_ascii())
    }
}

/// An IP field: a NUL-terminated string inside 46 bytes.
///
/// The whole 46 bytes are kept, not just the string: Redis copies a node's IP buffer
/// into gossip entries with `memcpy` of all 46 bytes, so bytes after the terminator
/// are whatever the sender's buffer held (zero in every captured message). Keeping
/// them makes a decoded message re-encode byte for byte.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NetIp([u8; IP_LEN]);

impl NetIp {
    /// The empty IP (all zero): in the header it means "use the socket's peer address".
    pub const EMPTY: NetIp = NetIp([0; IP_LEN]);

    /// Wrap the 46 raw bytes of the field.
    pub const fn from_raw(raw: [u8; IP_LEN]) -> Self {
        NetIp(raw)
    }

    /// Build the field Redis writes for `ip`: the string, then NUL padding.
    pub fn new(ip: &[u8]) -> Result<Self, FieldError> {
        if ip.len() >= IP_LEN {
            return Err(FieldError::IpTooLong(ip.len()));
        }
        if ip.contains(&0) {
            return Err(FieldError::IpNul);
        }
        let mut raw = [0u8; IP_LEN];
        raw[..ip.len()].copy_from_slice(ip);
        Ok(NetIp(raw))
    }

    /// The string: bytes before the first NUL (all 46 if there is none; a 7.0 receiver
    /// would then read past the field, we stop at its end).
    pub fn as_bytes(&self) -> &[u8] {
        let end = self.0.iter().position(|&b| b == 0).unwrap_or(IP_LEN);
        &self.0[..end]
    }

    /// The string, if it is UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self.as_bytes()).ok()
    }

    /// True when the string is empty (first byte NUL).
    pub fn is_empty(&self) -> bool {
        self.0[0] == 0
    }

    /// The 46 bytes as sent on the wire.
    pub const fn raw(&self) -> &[u8; IP_LEN] {
        &self.0
    }
}

impl TryFrom<&str> for NetIp {
    type Error = FieldError;
    fn try_from(s: &str) -> Result<Self, FieldError> {
        NetIp::new(s.as_bytes())
    }
}

impl fmt::Display for NetIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.as_bytes().escape_ascii(), f)
    }
}

impl fmt::Debug for NetIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.as_bytes();
        write!(f, "NetIp(\"{}\"", s.escape_ascii())?;
        if self.0[s.len()..].iter().any(|&b| b != 0) {
            write!(f, ", raw: {:02x?}", self.0)?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_validity_follows_verify_cluster_node_id() {
        let ok = NodeName::try_from("1ed8d80447cbda48b409627201916475d05885cf");
        assert!(ok.is_ok_and(|n| n.is_valid()));
        let upper = NodeName::try_from("1ED8D80447CBDA48B409627201916475D05885CF");
        assert!(upper.is_ok_and(|n| !n.is_valid()));
        assert_eq!(NodeName::try_from("abc"), Err(FieldError::NameLength(3)));
        assert!(NodeName::ZERO.is_zero() && !NodeName::ZERO.is_valid());
    }

    #[test]
    fn ip_field_is_nul_padded_and_keeps_stale_bytes() {
        let ip = NetIp::new(b"127.0.0.1").unwrap_or(NetIp::EMPTY);
        assert_eq!(ip.as_str(), Some("127.0.0.1"));
        assert_eq!(ip.raw()[9..], [0u8; 37]);
        assert_eq!(NetIp::new(&[b'1'; 46]), Err(FieldError::IpTooLong(46)));
        let mut raw = [0u8; IP_LEN];
        raw[..3].copy_from_slice(b"::1");
        raw[10] = b'x';
        let stale = NetIp::from_raw(raw);
        assert_eq!(stale.as_bytes(), b"::1");
        assert_eq!(stale.raw()[10], b'x');
    }
}
