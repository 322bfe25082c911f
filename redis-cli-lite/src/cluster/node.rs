//! One cluster node as the manager sees it: what its own `CLUSTER NODES` line says (id,
//! flags, slots, open slots) plus the manager's plans for it.

use super::link::Link;

/// Number of hash slots.
pub const SLOTS: usize = 16384;

/// A node.
pub struct Node {
    /// Address to connect to.
    pub ip: String,
    /// Client port.
    pub port: u16,
    /// Cluster bus port from the node's own line (0: unknown).
    pub bus_port: u16,
    /// The connection, once made.
    pub link: Option<Link>,
    /// Node id (40 hex digits), empty until loaded.
    pub name: String,
    /// Flags as listed, `myself` included.
    pub flags: Vec<String>,
    /// Master id, for a replica (or a planned replica in `create`).
    pub replicate: Option<String>,
    /// Owned slots.
    pub slots: Vec<bool>,
    /// Number of owned slots.
    pub slots_count: usize,
    /// `[slot->-dst]` markers: (slot, destination id).
    pub migrating: Vec<(String, String)>,
    /// `[slot-<-src]` markers: (slot, source id).
    pub importing: Vec<(String, String)>,
    /// Replicas that name this node as master.
    pub replicas_count: usize,
    /// Planned configuration not yet sent (`create`).
    pub dirty: bool,
    /// Rebalance weight.
    pub weight: f32,
    /// Rebalance balance: slots to give (positive) or take (negative).
    pub balance: i64,
}

impl Node {
    /// A node not yet connected or loaded.
    pub fn new(ip: &str, port: u16) -> Node {
        Node {
            ip: ip.to_owned(),
            port,
            bus_port: 0,
            link: None,
            name: String::new(),
            flags: Vec::new(),
            replicate: None,
            slots: vec![false; SLOTS],
            slots_count: 0,
            migrating: Vec::new(),
            importing: Vec::new(),
            replicas_count: 0,
            dirty: false,
            weight: 1.0,
            balance: 0,
        }
    }

    /// Flagged `slave`.
    pub fn is_slave(&self) -> bool {
        self.has_flag("slave")
    }

    /// Has flag `f`.
    pub fn has_flag(&self, f: &str) -> bool {
        self.flags.iter().any(|x| x == f)
    }

    /// Flagged noaddr, disconnected or fail: such friends are dropped at load.
    pub fn unusable(&self) -> bool {
        self.has_flag("noaddr") || self.has_flag("disconnected") || self.has_flag("fail")
    }

    fn reset_slots(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = false);
        self.slots_count = 0;
        self.migrating.clear();
        self.importing.clear();
    }

    /// Applies this node's own (`myself`) line: slots and open-slot markers.
    fn apply_own_slots(&mut self, tokens: &[&str]) {
        self.reset_slots();
        for &def in tokens {
            if let Some(inner) = def.strip_prefix('[') {
                let inner = inner.split(']').next().unwrap_or(inner);
                if let Some((slot, dst)) = inner.split_once("->-") {
                    self.migrating.push((slot.to_owned(), dst.to_owned()));
                } else if let Some((slot, src)) = inner.split_once("-<-") {
                    self.importing.push((slot.to_owned(), src.to_owned()));
                }
            } else if let Some((a, b)) = def.split_once('-') {
                if let (Some(a), Some(b)) = (slot_number(a), slot_number(b)) {
                    for s in a..=b {
                        self.add_slot(s);
                    }
                }
            } else if let Some(s) = slot_number(def) {
                self.add_slot(s);
            }
        }
        self.dirty = false;
    }

    /// Marks slot `s` owned.
    pub fn add_slot(&mut self, s: usize) {
        if let Some(owned) = self.slots.get_mut(s) {
            if !*owned {
                *owned = true;
                self.slots_count += 1;
            }
        }
    }

    /// Marks slot `s` not owned.
    pub fn del_slot(&mut self, s: usize) {
        if let Some(owned) = self.slots.get_mut(s) {
            if *owned {
                *owned = false;
                self.slots_count -= 1;
            }
        }
    }

    /// Applies flags, id and master of a line.
    fn apply_line_identity(&mut self, f: &Fields<'_>) {
        self.name = f.name.to_owned();
        self.bus_port = f
            .addr
            .split_once('@')
            .and_then(|(_, bus)| bus.split(',').next()?.parse().ok())
            .unwrap_or(0);
        self.flags = f
            .flags
            .split(',')
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect();
        if self.is_slave() && f.master != "-" && !f.master.is_empty() {
            self.replicate = Some(f.master.to_owned());
        }
    }

    /// Loads this node's view from its `CLUSTER NODES` text. Returns the other nodes listed
    /// (not connected) when `friends` is asked for.
    pub fn load_from_nodes_text(&mut self, text: &str, friends: bool) -> Result<Vec<Node>, String> {
        let mut others = Vec::new();
        for line in text.split('\n').filter(|l| !l.is_empty()) {
            let Some(f) = Fields::parse(line) else {
                return Err("invalid CLUSTER NODES reply".to_owned());
            };
            if f.flags.split(',').any(|x| x == "myself") {
                self.apply_line_identity(&f);
                self.apply_own_slots(&f.slots);
                if !friends {
                    break;
                }
            } else if friends {
                let addr = f.addr.rsplit_once('@').map_or(f.addr, |(a, _)| a);
                let Some((ip, port)) = addr.rsplit_once(':') else {
                    return Err("invalid CLUSTER NODES reply".to_owned());
                };
                let mut n = Node::new(ip, port.parse().unwrap_or(0));
                n.apply_line_identity(&f);
                others.push(n);
            }
        }
        Ok(others)
    }

    /// redis-cli's slot list: `[0-5460],[10923]`.
    pub fn slots_string(&self) -> String {
        ranges(&self.slots)
            .iter()
            .map(|&(a, b)| {
                if a == b {
                    format!("[{a}]")
                } else {
                    format!("[{a}-{b}]")
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Flags without `myself`.
    fn flags_string(&self) -> String {
        self.flags
            .iter()
            .filter(|f| *f != "myself")
            .cloned()
            .collect::<Vec<_>>()
            .join(",")
    }

    /// redis-cli's node description (`M: id ip:port` and the slots/replica lines), each line
    /// indented by `indent` spaces.
    pub fn info(&self, indent: usize) -> String {
        let spaces = " ".repeat(indent);
        let mut out = spaces.clone();
        let role = if self.is_slave() { "S" } else { "M" };
        if self.dirty && self.replicate.is_some() {
            out.push_str(&format!("S: {} {}:{}", self.name, self.ip, self.port));
        } else {
            out.push_str(&format!(
                "{role}: {} {}:{}\n{spaces}   slots:{} ({} slots) {}",
                self.name,
                self.ip,
                self.port,
                self.slots_string(),
                self.slots_count,
                self.flags_string()
            ));
        }
        if let Some(master) = &self.replicate {
            out.push_str(&format!("\n{spaces}   replicates {master}"));
        } else if self.replicas_count > 0 {
            out.push_str(&format!(
                "\n{spaces}   {} additional replica(s)",
                self.replicas_count
            ));
        }
        out
    }
}

/// Slot ranges of an ownership map.
pub fn ranges(slots: &[bool]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, &owned) in slots.iter().enumerate() {
        match (owned, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i - 1));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, slots.len() - 1));
    }
    out
}

/// A slot number in range.
fn slot_number(text: &str) -> Option<usize> {
    text.parse::<usize>().ok().filter(|&s| s < SLOTS)
}

/// The fields of one `CLUSTER NODES` line.
pub struct Fields<'a> {
    /// Node id.
    pub name: &'a str,
    /// `ip:port@bus[,hostname]`.
    pub addr: &'a str,
    /// Comma-separated flags.
    pub flags: &'a str,
    /// Master id or `-`.
    pub master: &'a str,
    /// Slot tokens.
    pub slots: Vec<&'a str>,
}

impl<'a> Fields<'a> {
    /// Splits a line; `None` when it has fewer than 3 fields.
    pub fn parse(line: &'a str) -> Option<Fields<'a>> {
        let mut it = line.split(' ');
        let name = it.next()?;
        let addr = it.next()?;
        let flags = it.next()?;
        let master = it.next().unwrap_or("");
        let _ping_sent = it.next();
        let _pong_recv = it.next();
        let _config_epoch = it.next();
        let _link_state = it.next();
        let slots = it.filter(|s| !s.is_empty()).collect();
        Some(Fields {
            name,
            addr,
            flags,
            master,
            slots,
        })
    }
}

/// redis-cli's "config signature" of one node's `CLUSTER NODES`: for each line with slots,
/// `id:sorted,slot,tokens` (open-slot markers ignored), the lines sorted and joined by `|`.
pub fn config_signature(text: &str) -> Option<String> {
    let mut configs: Vec<String> = Vec::new();
    for line in text.split('\n') {
        let tokens: Vec<&str> = line.split(' ').collect();
        // Eight fields and at least one slot token (redis-cli's test for a line with slots).
        if tokens.len() < 9 {
            continue;
        }
        let mut slots: Vec<&str> = tokens[8..]
            .iter()
            .copied()
            .filter(|t| !t.is_empty() && !t.starts_with('['))
            .collect();
        if slots.is_empty() {
            continue;
        }
        slots.sort_unstable();
        configs.push(format!("{}:{}", tokens[0], slots.join(",")));
    }
    if configs.is_empty() {
        return None;
    }
    configs.sort_unstable();
    Some(configs.join("|"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const NODES: &str = "\
5dba85f3ae295babb55fe51752a706eab4baf135 127.0.0.1:7200@17200 myself,master - 0 1795702700000 1 connected 0-5460 [5461-<-716bb21c368489c8653cb4951ae57db0872a6dd3]\n\
716bb21c368489c8653cb4951ae57db0872a6dd3 127.0.0.1:7201@17201,host-b master - 0 1795702700000 2 connected 5461-10922\n\
556e63355c943d4139d26229462c1c048ea5d455 127.0.0.1:7203@17203 slave 5dba85f3ae295babb55fe51752a706eab4baf135 0 1795702700000 1 connected\n";

    #[test]
    fn own_line_and_friends() {
        let mut n = Node::new("127.0.0.1", 7200);
        let friends = n.load_from_nodes_text(NODES, true).unwrap();
        assert_eq!(n.name, "5dba85f3ae295babb55fe51752a706eab4baf135");
        assert_eq!(n.slots_count, 5461);
        assert_eq!(
            n.importing,
            [(
                "5461".to_owned(),
                "716bb21c368489c8653cb4951ae57db0872a6dd3".to_owned()
            )]
        );
        assert_eq!(friends.len(), 2);
        assert_eq!(
            (friends[0].ip.as_str(), friends[0].port),
            ("127.0.0.1", 7201)
        );
        assert_eq!(
            friends[1].replicate.as_deref(),
            Some("5dba85f3ae295babb55fe51752a706eab4baf135")
        );
        assert_eq!(
            n.info(0),
            "M: 5dba85f3ae295babb55fe51752a706eab4baf135 127.0.0.1:7200\n   slots:[0-5460] (5461 slots) master"
        );
    }

    #[test]
    fn slot_strings_as_redis_cli_prints_them() {
        let mut n = Node::new("h", 1);
        for s in [0, 1, 2, 100, 16383] {
            n.add_slot(s);
        }
        assert_eq!(n.slots_string(), "[0-2],[100],[16383]");
    }

    #[test]
    fn signatures_ignore_markers_and_order() {
        let a = config_signature(NODES).unwrap();
        assert_eq!(
            a,
            "5dba85f3ae295babb55fe51752a706eab4baf135:0-5460|716bb21c368489c8653cb4951ae57db0872a6dd3:5461-10922"
        );
        assert_eq!(config_signature("x 1:1@2 master - 0 0 0 connected\n"), None);
    }

    #[test]
    fn junk_lines_do_not_panic() {
        let mut n = Node::new("h", 1);
        assert!(n.load_from_nodes_text("a b\n", true).is_err());
        let text = "id 1:2@3 myself,master - 0 0 0 connected 99999 5-99999 x-y [ [1->- 70000\n";
        n.load_from_nodes_text(text, true).unwrap();
        assert_eq!(n.slots_count, 0);
    }
}
