//! nodes.conf and CLUSTER NODES lines: one text model, parsed and written exactly as
//! Redis 7.0 does (client-behaviour.md §5.1, §6; cluster-bus.md §16.4 —
//! `clusterGenNodeDescription`, `clusterSaveConfig`, `clusterLoadConfig`).
//!
//! [`NodesConf`] is the file as written: every field as it appears, in file order, so
//! `parse(bytes)?.to_bytes() == bytes` for any file Redis 7.0 writes. Turning a file
//! into a running node's state (where non-zero ping/pong times become "now", replicas'
//! epochs become 0, and every link starts disconnected) is [`crate::Cluster::load`].

use std::collections::HashSet;
use std::fmt::Write as _;

use cluster_bus::{NodeFlags, NodeName, CLUSTER_SLOTS, NAME_LEN};

/// One slot token after the link-state field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotToken {
    /// `N` (start == end) or `A-B`: slots owned by the node.
    Range(u16, u16),
    /// `[N->-id]`: slot N of myself is migrating to `id`.
    Migrating(u16, NodeName),
    /// `[N-<-id]`: slot N is being imported by myself from `id`.
    Importing(u16, NodeName),
}

/// One node line (the same text in nodes.conf and CLUSTER NODES).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeLine {
    /// Node id.
    pub name: NodeName,
    /// IP as text (may be empty: a node that never learnt its own address).
    pub ip: String,
    /// Announced client port.
    pub port: u16,
    /// Announced bus port.
    pub cport: u16,
    /// Announced hostname, printed after a comma when non-empty.
    pub hostname: String,
    /// Flags, printed in the fixed order of §5.1 (MEET, MIGRATE_TO are never printed).
    pub flags: NodeFlags,
    /// The master of a replica.
    pub master: Option<NodeName>,
    /// Outstanding ping, unix ms (0 = none).
    pub ping_sent: u64,
    /// Last pong, unix ms.
    pub pong_received: u64,
    /// configEpoch (a replica's master's).
    pub config_epoch: u64,
    /// `connected` or `disconnected`.
    pub connected: bool,
    /// Slot ranges, then migrating/importing markers.
    pub slots: Vec<SlotToken>,
}

/// A whole nodes.conf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodesConf {
    /// Node lines in file order.
    pub nodes: Vec<NodeLine>,
    /// `vars currentEpoch`.
    pub current_epoch: u64,
    /// `vars lastVoteEpoch`.
    pub last_vote_epoch: u64,
}

/// What is wrong with a nodes.conf (Redis logs "Unrecoverable error: corrupted cluster
/// config file." and exits; we name the line and the reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("corrupted cluster config file, line {line}: {kind}")]
pub struct ConfError {
    /// 1-based line number (0 for whole-file problems).
    pub line: usize,
    /// The reason.
    pub kind: ConfErrorKind,
}

/// Reasons a nodes.conf is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfErrorKind {
    /// The file is not UTF-8 text.
    #[error("not valid UTF-8")]
    NotUtf8,
    /// A node line has fewer than 8 fields.
    #[error("{0} fields, a node line needs at least 8")]
    TooFewFields(usize),
    /// The node id is not 40 characters of `[a-z0-9]`.
    #[error("invalid node id {0:?}")]
    BadNodeName(String),
    /// The address field is not `ip:port[@cport][,hostname]`.
    #[error("invalid address {0:?}")]
    BadAddress(String),
    /// A flag word Redis does not know.
    #[error("unknown node flag {0:?}")]
    UnknownFlag(String),
    /// A number field does not parse.
    #[error("invalid {field} {value:?}")]
    BadNumber {
        /// Which field.
        field: &'static str,
        /// The text found.
        value: String,
    },
    /// The link-state field is neither `connected` nor `disconnected`.
    #[error("invalid link state {0:?}")]
    BadLinkState(String),
    /// A slot token is malformed or out of range.
    #[error("invalid slot token {0:?}")]
    BadSlot(String),
    /// The `vars` line has an odd number of words after `vars`.
    #[error("vars line with a key and no value")]
    OddVars,
    /// No line is flagged `myself`.
    #[error("no node is flagged myself")]
    NoMyself,
    /// More than one line is flagged `myself`.
    #[error("more than one node is flagged myself")]
    MultipleMyself,
    /// The same node id appears on two lines.
    #[error("node {0} listed twice")]
    DuplicateNode(String),
}

/// The flag words of §5.1 in print order.
const FLAG_WORDS: [(NodeFlags, &str); 8] = [
    (NodeFlags::MYSELF, "myself"),
    (NodeFlags::MASTER, "master"),
    (NodeFlags::SLAVE, "slave"),
    (NodeFlags::PFAIL, "fail?"),
    (NodeFlags::FAIL, "fail"),
    (NodeFlags::HANDSHAKE, "handshake"),
    (NodeFlags::NOADDR, "noaddr"),
    (NodeFlags::NOFAILOVER, "nofailover"),
];

/// The flags nodes.conf and CLUSTER NODES can show (MEET, MIGRATE_TO and later bits
/// are never printed).
pub const PRINTED_FLAGS: NodeFlags = NodeFlags::MYSELF
    .union(NodeFlags::MASTER)
    .union(NodeFlags::SLAVE)
    .union(NodeFlags::PFAIL)
    .union(NodeFlags::FAIL)
    .union(NodeFlags::HANDSHAKE)
    .union(NodeFlags::NOADDR)
    .union(NodeFlags::NOFAILOVER);

/// `representClusterNodeFlags`: the comma list, or `noflags`.
pub fn flags_text(flags: NodeFlags, out: &mut String) {
    let start = out.len();
    for (f, word) in FLAG_WORDS {
        if flags.contains(f) {
            if out.len() > start {
                out.push(',');
            }
            out.push_str(word);
        }
    }
    if out.len() == start {
        out.push_str("noflags");
    }
}

/// Text of a node name (names are ASCII in every valid table; others are escaped).
pub fn name_text(name: &NodeName) -> String {
    String::from_utf8_lossy(name.as_bytes()).into_owned()
}

impl NodeLine {
    /// Append the line without its trailing `\n` (CLUSTER REPLICAS wants that form).
    pub fn write(&self, out: &mut String) {
        out.push_str(&name_text(&self.name));
        let _ = write!(out, " {}:{}@{}", self.ip, self.port, self.cport);
        if !self.hostname.is_empty() {
            out.push(',');
            out.push_str(&self.hostname);
        }
        out.push(' ');
        flags_text(self.flags, out);
        out.push(' ');
        match &self.master {
            Some(m) => out.push_str(&name_text(m)),
            None => out.push('-'),
        }
        let _ = write!(
            out,
            " {} {} {} {}",
            self.ping_sent,
            self.pong_received,
            self.config_epoch,
            if self.connected {
                "connected"
            } else {
                "disconnected"
            }
        );
        for t in &self.slots {
            match t {
                SlotToken::Range(a, b) if a == b => {
                    let _ = write!(out, " {a}");
                }
                SlotToken::Range(a, b) => {
                    let _ = write!(out, " {a}-{b}");
                }
                SlotToken::Migrating(s, n) => {
                    let _ = write!(out, " [{s}->-{}]", name_text(n));
                }
                SlotToken::Importing(s, n) => {
                    let _ = write!(out, " [{s}-<-{}]", name_text(n));
                }
            }
        }
    }

    /// The line with its `\n`.
    pub fn to_line(&self) -> String {
        let mut s = String::with_capacity(128);
        self.write(&mut s);
        s.push('\n');
        s
    }
}

impl NodesConf {
    /// The file bytes: every node line, then `vars currentEpoch N lastVoteEpoch M`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = String::with_capacity(128 * (self.nodes.len() + 1));
        for n in &self.nodes {
            n.write(&mut s);
            s.push('\n');
        }
        let _ = writeln!(
            s,
            "vars currentEpoch {} lastVoteEpoch {}",
            self.current_epoch, self.last_vote_epoch
        );
        s.into_bytes()
    }

    /// Parse a nodes.conf (`clusterLoadConfig`). Empty lines are skipped (Redis pads a
    /// shrinking file with `\n`). A file with no node line at all is refused with
    /// [`ConfErrorKind::NoMyself`]; the caller treats a zero-length file as "no file".
    ///
    /// Tighter than 7.0, on purpose (only hand-edited files are affected): an unknown
    /// flag word is an error (7.0 panics), a range `A-B` with `A > B` is an error (7.0
    /// ignores it), numbers must be plain decimal, fields are split on whitespace only
    /// (7.0 also honours quotes; Redis never writes any).
    pub fn parse(bytes: &[u8]) -> Result<NodesConf, ConfError> {
        let text = std::str::from_utf8(bytes).map_err(|_| ConfError {
            line: 0,
            kind: ConfErrorKind::NotUtf8,
        })?;
        let mut conf = NodesConf {
            nodes: Vec::new(),
            current_epoch: 0,
            last_vote_epoch: 0,
        };
        let mut myself_seen = false;
        // Names seen so far: a set, not a scan of the lines before (O(N²) for a file
        // of N lines; the simulator loads a thousand 1000-line files).
        let mut names = HashSet::new();
        for (i, raw) in text.split('\n').enumerate() {
            let line = i + 1;
            let err = |kind| ConfError { line, kind };
            let fields: Vec<&str> = raw.split_ascii_whitespace().collect();
            let Some(first) = fields.first() else {
                continue;
            };
            if *first == "vars" {
                let pairs = fields.get(1..).unwrap_or_default();
                if pairs.len() % 2 != 0 {
                    return Err(err(ConfErrorKind::OddVars));
                }
                for kv in pairs.chunks(2) {
                    if let [k, v] = kv {
                        if k.eq_ignore_ascii_case("currentEpoch") {
                            conf.current_epoch = number("currentEpoch", v).map_err(err)?;
                        } else if k.eq_ignore_ascii_case("lastVoteEpoch") {
                            conf.last_vote_epoch = number("lastVoteEpoch", v).map_err(err)?;
                        }
                        // Unknown keys are skipped, as 7.0 does (it logs them).
                    }
                }
                continue;
            }
            let node = parse_node_line(&fields).map_err(err)?;
            if node.flags.contains(NodeFlags::MYSELF) {
                if myself_seen {
                    return Err(err(ConfErrorKind::MultipleMyself));
                }
                myself_seen = true;
            }
            if !names.insert(node.name) {
                return Err(err(ConfErrorKind::DuplicateNode(name_text(&node.name))));
            }
            conf.nodes.push(node);
        }
        if !myself_seen {
            return Err(ConfError {
                line: 0,
                kind: ConfErrorKind::NoMyself,
            });
        }
        Ok(conf)
    }
}

fn number(field: &'static str, v: &str) -> Result<u64, ConfErrorKind> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ConfErrorKind::BadNumber {
            field,
            value: v.to_owned(),
        });
    }
    v.parse().map_err(|_| ConfErrorKind::BadNumber {
        field,
        value: v.to_owned(),
    })
}

/// A node id from text: exactly 40 chars of `[a-z0-9]` (`verifyClusterNodeId`).
pub fn parse_name(s: &[u8]) -> Option<NodeName> {
    let arr: [u8; NAME_LEN] = s.try_into().ok()?;
    let n = NodeName::new(arr);
    n.is_valid().then_some(n)
}

fn parse_slot(s: &str) -> Option<u16> {
    let v: u16 = s.parse().ok()?;
    (v < CLUSTER_SLOTS && s.bytes().all(|b| b.is_ascii_digit())).then_some(v)
}

fn parse_node_line(f: &[&str]) -> Result<NodeLine, ConfErrorKind> {
    let [name, addr, flags, master, ping, pong, epoch, link, slots @ ..] = f else {
        return Err(ConfErrorKind::TooFewFields(f.len()));
    };
    let name =
        parse_name(name.as_bytes()).ok_or_else(|| ConfErrorKind::BadNodeName((*name).into()))?;
    let bad_addr = || ConfErrorKind::BadAddress((*addr).to_owned());
    let (hostport, hostname) = match addr.split_once(',') {
        Some((a, h)) => (a, h),
        None => (*addr, ""),
    };
    let (ipport, cport) = match hostport.split_once('@') {
        Some((a, c)) => (a, Some(c)),
        None => (hostport, None),
    };
    let (ip, port) = ipport.rsplit_once(':').ok_or_else(bad_addr)?;
    let port: u16 = number("port", port)
        .ok()
        .and_then(|p| p.try_into().ok())
        .ok_or_else(bad_addr)?;
    let cport: u16 = match cport {
        Some(c) => number("cport", c)
            .ok()
            .and_then(|p| p.try_into().ok())
            .ok_or_else(bad_addr)?,
        // 7.0: a file without @cport is from an older version: port + 10000.
        None => port.checked_add(10000).ok_or_else(bad_addr)?,
    };
    let mut nf = NodeFlags::empty();
    for w in flags.split(',') {
        if w == "noflags" {
            continue;
        }
        let f = FLAG_WORDS
            .iter()
            .find(|(_, word)| *word == w)
            .map(|(f, _)| *f)
            .ok_or_else(|| ConfErrorKind::UnknownFlag(w.to_owned()))?;
        nf |= f;
    }
    let master = if *master == "-" {
        None
    } else {
        Some(
            parse_name(master.as_bytes())
                .ok_or_else(|| ConfErrorKind::BadNodeName((*master).into()))?,
        )
    };
    let connected = match *link {
        "connected" => true,
        "disconnected" => false,
        other => return Err(ConfErrorKind::BadLinkState(other.into())),
    };
    let mut tokens = Vec::with_capacity(slots.len());
    for t in slots {
        tokens.push(parse_slot_token(t).ok_or_else(|| ConfErrorKind::BadSlot((*t).into()))?);
    }
    Ok(NodeLine {
        name,
        ip: ip.to_owned(),
        port,
        cport,
        hostname: hostname.to_owned(),
        flags: nf,
        master,
        ping_sent: number("ping-sent", ping)?,
        pong_received: number("pong-received", pong)?,
        config_epoch: number("config-epoch", epoch)?,
        connected,
        slots: tokens,
    })
}

fn parse_slot_token(t: &str) -> Option<SlotToken> {
    if let Some(inner) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        if let Some((s, id)) = inner.split_once("->-") {
            return Some(SlotToken::Migrating(
                parse_slot(s)?,
                parse_name(id.as_bytes())?,
            ));
        }
        let (s, id) = inner.split_once("-<-")?;
        return Some(SlotToken::Importing(
            parse_slot(s)?,
            parse_name(id.as_bytes())?,
        ));
    }
    match t.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (parse_slot(a)?, parse_slot(b)?);
            (a <= b).then_some(SlotToken::Range(a, b))
        }
        None => {
            let s = parse_slot(t)?;
            Some(SlotToken::Range(s, s))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const FRESH: &str = "3e8d7dda04ba8c576136475e2e1b11ae42a59a69 :7208@17208 myself,master - 0 0 0 connected\nvars currentEpoch 0 lastVoteEpoch 0\n";

    #[test]
    fn fresh_node_file_round_trips() {
        let c = NodesConf::parse(FRESH.as_bytes()).unwrap();
        assert_eq!(c.nodes[0].ip, "");
        assert_eq!(c.to_bytes(), FRESH.as_bytes());
    }

    #[test]
    fn markers_parse_and_print() {
        let line = "5dba85f3ae295babb55fe51752a706eab4baf135 127.0.0.1:7200@17200 myself,master - 0 1795702608000 1 connected 0-5460 7000 [12182->-716bb21c368489c8653cb4951ae57db0872a6dd3] [12183-<-716bb21c368489c8653cb4951ae57db0872a6dd3]\nvars currentEpoch 6 lastVoteEpoch 0\n";
        let c = NodesConf::parse(line.as_bytes()).unwrap();
        assert_eq!(c.nodes[0].slots.len(), 4);
        assert!(matches!(
            c.nodes[0].slots[2],
            SlotToken::Migrating(12182, _)
        ));
        assert!(matches!(
            c.nodes[0].slots[3],
            SlotToken::Importing(12183, _)
        ));
        assert_eq!(c.to_bytes(), line.as_bytes());
    }

    #[test]
    fn corrupt_files_are_typed_errors() {
        let cases: &[(&str, ConfErrorKind)] = &[
            ("abc :1@2 myself,master - 0 0\n", ConfErrorKind::TooFewFields(6)),
            (
                "3e8d7dda04ba8c576136475e2e1b11ae42a59a69 :7208@17208 myself,bogus - 0 0 0 connected\n",
                ConfErrorKind::UnknownFlag("bogus".into()),
            ),
            (
                "3e8d7dda04ba8c576136475e2e1b11ae42a59a69 :7208@17208 myself,master - 0 0 0 connected 16384\n",
                ConfErrorKind::BadSlot("16384".into()),
            ),
            (
                "3e8d7dda04ba8c576136475e2e1b11ae42a59a69 :7208@17208 master - 0 0 0 connected\n",
                ConfErrorKind::NoMyself,
            ),
            ("vars currentEpoch\n", ConfErrorKind::OddVars),
        ];
        for (text, kind) in cases {
            assert_eq!(
                &NodesConf::parse(text.as_bytes()).unwrap_err().kind,
                kind,
                "{text}"
            );
        }
        let e = NodesConf::parse(b"abc :1@2 myself,master - 0 0\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "corrupted cluster config file, line 1: 6 fields, a node line needs at least 8"
        );
    }

    #[test]
    fn missing_cport_defaults_to_port_plus_10000() {
        let c = NodesConf::parse(
            b"3e8d7dda04ba8c576136475e2e1b11ae42a59a69 127.0.0.1:7000 myself,master - 0 0 0 connected\n",
        )
        .unwrap();
        assert_eq!(c.nodes[0].cport, 17000);
    }
}
