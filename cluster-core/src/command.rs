//! CLUSTER subcommands: parsing from the raw argument vector with Redis's exact errors
//! (client-behaviour.md §3.1), and execution against the state (§3.2).
//!
//! Errors that depend only on the arguments are found by [`Request::parse`]; errors that
//! depend on the node's state come from executing the request, in the order Redis
//! checks them (so SETSLOT keeps an unparsed slot until the "replica" check ran).

use std::net::IpAddr;

use cluster_bus::{Body, Message, NodeFlags, NodeName, CLUSTER_SLOTS};

use crate::cluster::{random_name, Cluster, BLACKLIST_TTL};
use crate::keyslot::key_slot;
use crate::node::Node;
use crate::nodes_conf::{name_text, parse_name};
use crate::reply::{
    CmdError, KeyspaceQuery, LinkInfo, Reply, Shard, ShardNode, SlotsNode, SlotsRange,
};
use crate::types::{Effect, EndpointType, KeyFacts, LogLevel, Millis};

/// FAILOVER options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailoverMode {
    /// Coordinated with the master.
    Default,
    /// Election without the master's agreement.
    Force,
    /// No election.
    Takeover,
}

/// SETSLOT actions, node ids still as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetSlotAction {
    /// MIGRATING id.
    Migrating(Vec<u8>),
    /// IMPORTING id.
    Importing(Vec<u8>),
    /// STABLE.
    Stable,
    /// NODE id.
    Node(Vec<u8>),
    /// Unknown action or wrong count.
    Invalid,
}

/// A parsed CLUSTER subcommand. Node ids are kept as sent (error texts echo them).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Request {
    /// HELP.
    Help,
    /// ADDSLOTS.
    AddSlots(Vec<u16>),
    /// ADDSLOTSRANGE: each pair parsed in order, or the error it gives.
    AddSlotsRange(Vec<Result<(u16, u16), CmdError>>),
    /// BUMPEPOCH.
    BumpEpoch,
    /// COUNT-FAILURE-REPORTS.
    CountFailureReports(Vec<u8>),
    /// COUNTKEYSINSLOT.
    CountKeysInSlot(u16),
    /// DELSLOTS.
    DelSlots(Vec<u16>),
    /// DELSLOTSRANGE.
    DelSlotsRange(Vec<Result<(u16, u16), CmdError>>),
    /// FAILOVER.
    Failover(FailoverMode),
    /// FLUSHSLOTS.
    FlushSlots,
    /// FORGET.
    Forget(Vec<u8>),
    /// GETKEYSINSLOT.
    GetKeysInSlot {
        /// Slot.
        slot: u16,
        /// Count.
        count: u64,
    },
    /// INFO.
    Info,
    /// KEYSLOT (the slot, computed at parse time).
    KeySlot(u16),
    /// MEET (address validated and normalised).
    Meet {
        /// Normalised IP.
        ip: String,
        /// Client port.
        port: u16,
        /// Bus port.
        cport: u16,
    },
    /// MYID.
    MyId,
    /// NODES.
    Nodes,
    /// REPLICATE.
    Replicate(Vec<u8>),
    /// RESET.
    Reset {
        /// HARD.
        hard: bool,
    },
    /// SETSLOT.
    SetSlot {
        /// The slot, or its parse error (reported after the replica check).
        slot: Result<u16, CmdError>,
        /// The action.
        action: SetSlotAction,
    },
    /// REPLICAS and SLAVES.
    Replicas(Vec<u8>),
    /// SET-CONFIG-EPOCH.
    SetConfigEpoch(u64),
    /// SLOTS.
    Slots,
    /// SHARDS.
    Shards,
    /// LINKS.
    Links,
    /// SAVECONFIG.
    SaveConfig,
    /// DEBUG DROP-CLUSTER-PACKET-FILTER: drop received bus messages of this type
    /// (-1: none). Not a CLUSTER subcommand: [`Request::parse`] never yields it.
    DebugDropPacketFilter(i32),
    /// DEBUG CLUSTERLINK KILL: close the links with a node. Not a CLUSTER subcommand:
    /// [`Request::parse`] never yields it.
    DebugKillLinks {
        /// The node id as given.
        node: Vec<u8>,
        /// As given: `to` (our outbound link), `from` (its inbound one) or `all`, any
        /// case. Checked after the node, as Redis does.
        direction: Vec<u8>,
    },
}

/// `(name, arity)` as in COMMAND INFO (negative = at least).
const ARITY: [(&str, i32); 27] = [
    ("addslots", -3),
    ("addslotsrange", -4),
    ("bumpepoch", 2),
    ("count-failure-reports", 3),
    ("countkeysinslot", 3),
    ("delslots", -3),
    ("delslotsrange", -4),
    ("failover", -2),
    ("flushslots", 2),
    ("forget", 3),
    ("getkeysinslot", 4),
    ("help", 2),
    ("info", 2),
    ("keyslot", 3),
    ("links", 2),
    ("meet", -4),
    ("myid", 2),
    ("nodes", 2),
    ("replicas", 3),
    ("replicate", 3),
    ("reset", -2),
    ("saveconfig", 2),
    ("set-config-epoch", 3),
    ("setslot", -4),
    ("shards", 2),
    ("slaves", 3),
    ("slots", 2),
];

/// CLUSTER HELP, line by line (client-behaviour.md §3.2, *cluster-help*).
pub const HELP: [&str; 56] = [
    "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ADDSLOTS <slot> [<slot> ...]",
    "    Assign slots to current node.",
    "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "    Assign slots which are between <start-slot> and <end-slot> to current node.",
    "BUMPEPOCH",
    "    Advance the cluster config epoch.",
    "COUNT-FAILURE-REPORTS <node-id>",
    "    Return number of failure reports for <node-id>.",
    "COUNTKEYSINSLOT <slot>",
    "    Return the number of keys in <slot>.",
    "DELSLOTS <slot> [<slot> ...]",
    "    Delete slots information from current node.",
    "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "    Delete slots information which are between <start-slot> and <end-slot> from current node.",
    "FAILOVER [FORCE|TAKEOVER]",
    "    Promote current replica node to being a master.",
    "FORGET <node-id>",
    "    Remove a node from the cluster.",
    "GETKEYSINSLOT <slot> <count>",
    "    Return key names stored by current node in a slot.",
    "FLUSHSLOTS",
    "    Delete current node own slots information.",
    "INFO",
    "    Return information about the cluster.",
    "KEYSLOT <key>",
    "    Return the hash slot for <key>.",
    "MEET <ip> <port> [<bus-port>]",
    "    Connect nodes into a working cluster.",
    "MYID",
    "    Return the node id.",
    "NODES",
    "    Return cluster configuration seen by node. Output format:",
    "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
    "REPLICATE <node-id>",
    "    Configure current node as replica to <node-id>.",
    "RESET [HARD|SOFT]",
    "    Reset current node (default: soft).",
    "SET-CONFIG-EPOCH <epoch>",
    "    Set config epoch of current node.",
    "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
    "    Set slot state.",
    "REPLICAS <node-id>",
    "    Return <node-id> replicas.",
    "SAVECONFIG",
    "    Force saving cluster configuration on disk.",
    "SLOTS",
    "    Return information about slots range mappings. Each range is made of:",
    "    start, end, master and replicas IP addresses, ports and ids",
    "SHARDS",
    "    Return information about slot range mappings and the nodes associated with them.",
    "LINKS",
    "    Return information about all network links between this node and its peers.",
    "    Output format is an array where each array element is a map containing attributes of a link",
    "HELP",
    "    Prints this help.",
];

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `string2ll`: a strict signed 64-bit decimal.
fn parse_i64(b: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(b).ok()?;
    if s.is_empty() || s.starts_with('+') || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    if s.starts_with("-0") {
        return None;
    }
    s.parse().ok()
}

/// `getSlotOrReply`.
fn parse_slot(b: &[u8]) -> Result<u16, CmdError> {
    match parse_i64(b) {
        Some(v) if (0..i64::from(CLUSTER_SLOTS)).contains(&v) => {
            u16::try_from(v).map_err(|_| CmdError::InvalidSlot)
        }
        _ => Err(CmdError::InvalidSlot),
    }
}

fn parse_ranges(args: &[&[u8]]) -> Vec<Result<(u16, u16), CmdError>> {
    args.chunks(2)
        .map(|p| {
            let [a, b] = p else {
                return Err(CmdError::InvalidSlot);
            };
            let a = parse_slot(a)?;
            let b = parse_slot(b)?;
            if a > b {
                return Err(CmdError::RangeOrder(a, b));
            }
            Ok((a, b))
        })
        .collect()
}

/// The unknown-subcommand echo: at most 128 bytes, CR/LF turned into spaces.
fn echo(sub: &[u8]) -> String {
    let cut = &sub[..sub.len().min(128)];
    text(cut).replace(['\r', '\n'], " ")
}

impl Request {
    /// Parse `argv` (`CLUSTER`, subcommand, arguments).
    pub fn parse(argv: &[&[u8]]) -> Result<Request, CmdError> {
        let Some(sub) = argv.get(1) else {
            return Err(CmdError::ClusterArity);
        };
        let lower = text(sub).to_ascii_lowercase();
        let Some((name, arity)) = ARITY.iter().find(|(n, _)| *n == lower) else {
            return Err(CmdError::UnknownSubcommand(echo(sub)));
        };
        let argc = argv.len();
        let arity_ok = if *arity >= 0 {
            argc == *arity as usize
        } else {
            argc >= arity.unsigned_abs() as usize
        };
        if !arity_ok {
            return Err(CmdError::Arity((*name).to_owned()));
        }
        let args = argv.get(2..).unwrap_or_default();
        let arg = |i: usize| args.get(i).copied().unwrap_or_default();
        let syntax = || CmdError::SubcommandSyntax(echo(sub));
        Ok(match *name {
            "help" => Request::Help,
            "addslots" | "delslots" => {
                let slots = args
                    .iter()
                    .map(|a| parse_slot(a))
                    .collect::<Result<Vec<_>, _>>()?;
                if *name == "addslots" {
                    Request::AddSlots(slots)
                } else {
                    Request::DelSlots(slots)
                }
            }
            "addslotsrange" | "delslotsrange" => {
                if argc % 2 == 1 {
                    return Err(CmdError::Arity((*name).to_owned()));
                }
                let r = parse_ranges(args);
                if *name == "addslotsrange" {
                    Request::AddSlotsRange(r)
                } else {
                    Request::DelSlotsRange(r)
                }
            }
            "bumpepoch" => Request::BumpEpoch,
            "count-failure-reports" => Request::CountFailureReports(arg(0).to_vec()),
            "countkeysinslot" => {
                let v = parse_i64(arg(0)).ok_or(CmdError::NotInteger)?;
                if !(0..i64::from(CLUSTER_SLOTS)).contains(&v) {
                    return Err(CmdError::InvalidSlotNumber);
                }
                Request::CountKeysInSlot(u16::try_from(v).map_err(|_| CmdError::InvalidSlotNumber)?)
            }
            "getkeysinslot" => {
                let slot = parse_i64(arg(0)).ok_or(CmdError::NotInteger)?;
                let count = parse_i64(arg(1)).ok_or(CmdError::NotInteger)?;
                if !(0..i64::from(CLUSTER_SLOTS)).contains(&slot) || count < 0 {
                    return Err(CmdError::InvalidSlotOrCount);
                }
                Request::GetKeysInSlot {
                    slot: u16::try_from(slot).map_err(|_| CmdError::InvalidSlotOrCount)?,
                    count: count.unsigned_abs(),
                }
            }
            "failover" => {
                if argc > 3 {
                    return Err(syntax());
                }
                let mode = match args.first() {
                    None => FailoverMode::Default,
                    Some(o) if o.eq_ignore_ascii_case(b"force") => FailoverMode::Force,
                    Some(o) if o.eq_ignore_ascii_case(b"takeover") => FailoverMode::Takeover,
                    Some(_) => return Err(CmdError::Syntax),
                };
                Request::Failover(mode)
            }
            "flushslots" => Request::FlushSlots,
            "forget" => Request::Forget(arg(0).to_vec()),
            "info" => Request::Info,
            "keyslot" => Request::KeySlot(key_slot(arg(0))),
            "links" => Request::Links,
            "meet" => {
                if argc > 5 {
                    return Err(syntax());
                }
                let port = parse_i64(arg(1)).ok_or_else(|| CmdError::BasePort(text(arg(1))))?;
                let cport = match args.get(2) {
                    Some(c) => parse_i64(c).ok_or_else(|| CmdError::BusPort(text(c)))?,
                    None => port.saturating_add(10000),
                };
                let bad = || CmdError::NodeAddress(text(arg(0)), text(arg(1)));
                let ip: IpAddr = std::str::from_utf8(arg(0))
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(bad)?;
                let valid = |p: i64| (1..=65535).contains(&p);
                if !valid(port) || !valid(cport) {
                    return Err(bad());
                }
                Request::Meet {
                    ip: ip.to_string(),
                    port: u16::try_from(port).map_err(|_| bad())?,
                    cport: u16::try_from(cport).map_err(|_| bad())?,
                }
            }
            "myid" => Request::MyId,
            "nodes" => Request::Nodes,
            "replicas" | "slaves" => Request::Replicas(arg(0).to_vec()),
            "replicate" => Request::Replicate(arg(0).to_vec()),
            "reset" => {
                if argc > 3 {
                    return Err(syntax());
                }
                let hard = match args.first() {
                    None => false,
                    Some(o) if o.eq_ignore_ascii_case(b"hard") => true,
                    Some(o) if o.eq_ignore_ascii_case(b"soft") => false,
                    Some(_) => return Err(CmdError::Syntax),
                };
                Request::Reset { hard }
            }
            "saveconfig" => Request::SaveConfig,
            "set-config-epoch" => {
                let e = parse_i64(arg(0)).ok_or(CmdError::NotInteger)?;
                if e < 0 {
                    return Err(CmdError::InvalidConfigEpoch(e));
                }
                Request::SetConfigEpoch(e.unsigned_abs())
            }
            "setslot" => {
                let action = match args.get(1) {
                    Some(a) if a.eq_ignore_ascii_case(b"migrating") && argc == 5 => {
                        SetSlotAction::Migrating(arg(2).to_vec())
                    }
                    Some(a) if a.eq_ignore_ascii_case(b"importing") && argc == 5 => {
                        SetSlotAction::Importing(arg(2).to_vec())
                    }
                    Some(a) if a.eq_ignore_ascii_case(b"stable") && argc == 4 => {
                        SetSlotAction::Stable
                    }
                    Some(a) if a.eq_ignore_ascii_case(b"node") && argc == 5 => {
                        SetSlotAction::Node(arg(2).to_vec())
                    }
                    _ => SetSlotAction::Invalid,
                };
                Request::SetSlot {
                    slot: parse_slot(arg(0)),
                    action,
                }
            }
            "shards" => Request::Shards,
            "slots" => Request::Slots,
            _ => return Err(CmdError::UnknownSubcommand(echo(sub))),
        })
    }

    /// The slot a request names, so the server can fill [`KeyFacts::slot_keys`].
    pub fn slot(&self) -> Option<u16> {
        match self {
            Request::SetSlot { slot: Ok(s), .. } => Some(*s),
            _ => None,
        }
    }
}

/// cluster-bus.md §5.3/§5.1 info names of the 11 message types, in order.
const STAT_NAMES: [&str; 11] = [
    "ping",
    "pong",
    "meet",
    "fail",
    "publish",
    "auth-req",
    "auth-ack",
    "update",
    "mfstart",
    "module",
    "publishshard",
];

impl Cluster {
    /// Run a parsed request (the reply is also pushed as [`Effect::Reply`] by `handle`).
    pub(crate) fn command(
        &mut self,
        now: Millis,
        req: Request,
        keys: KeyFacts,
        out: &mut Vec<Effect>,
    ) -> Reply {
        match self.run(now, req, keys, out) {
            Ok(r) => r,
            Err(e) => Reply::Error(e),
        }
    }

    /// DEBUG CLUSTERLINK KILL. A link that is already gone is skipped (Redis 7.0.15
    /// crashes there).
    fn kill_links(
        &mut self,
        id: &[u8],
        direction: &[u8],
        out: &mut Vec<Effect>,
    ) -> Result<(), CmdError> {
        let n = self
            .lookup(id)
            .ok_or_else(|| CmdError::UnknownNode(text(id)))?;
        let (to, from) = match direction.to_ascii_lowercase().as_slice() {
            b"to" => (true, false),
            b"from" => (false, true),
            b"all" => (true, true),
            _ => return Err(CmdError::UnknownDirection(text(direction))),
        };
        let links = [n.link.filter(|_| to), n.inbound_link.filter(|_| from)];
        for l in links.into_iter().flatten() {
            self.free_link(l, Some(out));
        }
        Ok(())
    }

    fn lookup(&self, id: &[u8]) -> Option<&Node> {
        parse_name(id).and_then(|n| self.nodes.get(&n))
    }

    fn run(
        &mut self,
        now: Millis,
        req: Request,
        keys: KeyFacts,
        out: &mut Vec<Effect>,
    ) -> Result<Reply, CmdError> {
        let unknown = |id: &[u8]| CmdError::UnknownNode(text(id));
        Ok(match req {
            Request::Help => Reply::StatusLines(HELP.iter().map(|s| (*s).to_owned()).collect()),
            Request::AddSlots(slots) => {
                let ranges: Vec<(u16, u16)> = slots.iter().map(|s| (*s, *s)).collect();
                self.update_slots(&ranges, false)?;
                Reply::Ok
            }
            Request::DelSlots(slots) => {
                let ranges: Vec<(u16, u16)> = slots.iter().map(|s| (*s, *s)).collect();
                self.update_slots(&ranges, true)?;
                Reply::Ok
            }
            Request::AddSlotsRange(r) => {
                self.update_slot_ranges(r, false)?;
                Reply::Ok
            }
            Request::DelSlotsRange(r) => {
                self.update_slot_ranges(r, true)?;
                Reply::Ok
            }
            Request::BumpEpoch => {
                if self.bump_config_epoch_without_consensus(out) {
                    Reply::Status(format!("BUMPED {}", self.me().config_epoch))
                } else {
                    Reply::Status(format!("STILL {}", self.me().config_epoch))
                }
            }
            Request::CountFailureReports(id) => {
                let n = self
                    .lookup(&id)
                    .map(|n| n.name)
                    .ok_or_else(|| unknown(&id))?;
                Reply::Int(i64::try_from(self.failure_reports_count(now, n)).unwrap_or(i64::MAX))
            }
            Request::CountKeysInSlot(s) => Reply::Keyspace(KeyspaceQuery::CountKeysInSlot(s)),
            Request::GetKeysInSlot { slot, count } => {
                Reply::Keyspace(KeyspaceQuery::GetKeysInSlot { slot, count })
            }
            Request::Failover(mode) => {
                self.cmd_failover(now, mode, out)?;
                Reply::Ok
            }
            Request::FlushSlots => {
                if keys.db_keys != 0 {
                    return Err(CmdError::FlushSlotsNotEmpty);
                }
                let me = self.myself;
                self.del_node_slots(&me);
                self.save(false);
                Reply::Ok
            }
            Request::Forget(id) => {
                let n = self
                    .lookup(&id)
                    .map(|n| n.name)
                    .ok_or_else(|| unknown(&id))?;
                if n == self.myself {
                    return Err(CmdError::ForgetMyself);
                }
                if self.is_replica() && self.my_master() == Some(n) {
                    return Err(CmdError::ForgetMyMaster);
                }
                // cluster-bus.md §16.3: banned for 60 s so gossip cannot re-add it.
                self.blacklist.insert(n, now + BLACKLIST_TTL);
                self.del_node(&n, out);
                self.save(false);
                Reply::Ok
            }
            Request::Info => Reply::Text(self.info_text()),
            Request::KeySlot(s) => Reply::Int(i64::from(s)),
            Request::Meet { ip, port, cport } => {
                self.start_handshake(now, ip, port, cport);
                Reply::Ok
            }
            Request::MyId => Reply::Bulk(name_text(&self.myself)),
            Request::Nodes => Reply::Text(self.nodes_text()),
            Request::Replicate(id) => {
                let n = self
                    .lookup(&id)
                    .map(|n| n.name)
                    .ok_or_else(|| unknown(&id))?;
                if n == self.myself {
                    return Err(CmdError::ReplicateMyself);
                }
                if self.nodes.get(&n).is_some_and(Node::is_replica) {
                    return Err(CmdError::ReplicateReplica);
                }
                if self.me().is_master() && (self.me().has_slots() || keys.db_keys != 0) {
                    return Err(CmdError::NotEmpty);
                }
                self.set_my_master(now, n, out);
                Reply::Ok
            }
            Request::Reset { hard } => {
                if self.me().is_master() && keys.db_keys != 0 {
                    return Err(CmdError::ResetWithKeys);
                }
                self.reset(hard, out);
                Reply::Ok
            }
            Request::SetSlot { slot, action } => {
                self.cmd_setslot(now, slot, action, keys, out)?;
                Reply::Ok
            }
            Request::Replicas(id) => {
                let n = self.lookup(&id).ok_or_else(|| unknown(&id))?;
                if n.is_replica() {
                    return Err(CmdError::NotAMaster);
                }
                let lines = n
                    .replicas
                    .iter()
                    .filter_map(|r| self.nodes.get(r))
                    .map(|r| {
                        let mut s = String::new();
                        self.node_line(r).write(&mut s);
                        s
                    })
                    .collect();
                Reply::BulkLines(lines)
            }
            Request::SetConfigEpoch(e) => {
                if self.nodes.len() > 1 {
                    return Err(CmdError::ConfigEpochOthers);
                }
                if self.me().config_epoch != 0 {
                    return Err(CmdError::ConfigEpochNonZero);
                }
                self.me_mut().config_epoch = e;
                Self::log(
                    out,
                    LogLevel::Warning,
                    format!("configEpoch set to {e} via CLUSTER SET-CONFIG-EPOCH"),
                );
                if self.current_epoch < e {
                    self.current_epoch = e;
                }
                self.save(false);
                Reply::Ok
            }
            Request::Slots => Reply::Slots(self.slots_reply()),
            Request::Shards => Reply::Shards(self.shards_reply()),
            Request::Links => Reply::Links(self.links_reply()),
            Request::DebugDropPacketFilter(t) => {
                self.drop_packet_filter = t;
                Reply::Ok
            }
            Request::DebugKillLinks { node, direction } => {
                self.kill_links(&node, &direction, out)?;
                Reply::Ok
            }
            Request::SaveConfig => {
                self.save_now(true, out);
                Reply::Ok
            }
        })
    }

    /// `checkSlotAssignmentsOrReply` over all ranges, then `clusterUpdateSlots`.
    fn update_slots(&mut self, ranges: &[(u16, u16)], del: bool) -> Result<(), CmdError> {
        let mut seen = vec![false; usize::from(CLUSTER_SLOTS)];
        for (a, b) in ranges {
            self.check_assignments(*a, *b, del, &mut seen)?;
        }
        self.apply_slots(&seen, del);
        Ok(())
    }

    fn update_slot_ranges(
        &mut self,
        ranges: Vec<Result<(u16, u16), CmdError>>,
        del: bool,
    ) -> Result<(), CmdError> {
        let mut seen = vec![false; usize::from(CLUSTER_SLOTS)];
        for r in ranges {
            let (a, b) = r?;
            self.check_assignments(a, b, del, &mut seen)?;
        }
        self.apply_slots(&seen, del);
        Ok(())
    }

    fn check_assignments(
        &self,
        a: u16,
        b: u16,
        del: bool,
        seen: &mut [bool],
    ) -> Result<(), CmdError> {
        for s in a..=b {
            let owner = self.slot_owner(s);
            if del && owner.is_none() {
                return Err(CmdError::SlotUnassigned(s));
            }
            if !del && owner.is_some() {
                return Err(CmdError::SlotBusy(s));
            }
            if let Some(x) = seen.get_mut(usize::from(s)) {
                if *x {
                    return Err(CmdError::SlotRepeated(s));
                }
                *x = true;
            }
        }
        Ok(())
    }

    fn apply_slots(&mut self, seen: &[bool], del: bool) {
        let me = self.myself;
        for (s, on) in seen.iter().enumerate() {
            let Ok(s) = u16::try_from(s) else { break };
            if *on {
                self.importing.remove(&s);
                self.set_slot_owner(s, if del { None } else { Some(me) });
            }
        }
        self.save(false);
    }

    /// cluster-bus.md §8 — `clusterStartHandshake`.
    fn start_handshake(&mut self, now: Millis, ip: String, port: u16, cport: u16) {
        let exists = self
            .nodes
            .iter()
            .any(|n| n.in_handshake() && n.ip == ip && n.port == port && n.cport == cport);
        if exists {
            return;
        }
        let name = random_name(&mut self.rng);
        let mut n = Node::new(name, NodeFlags::HANDSHAKE | NodeFlags::MEET, now);
        n.ip = ip;
        n.port = port;
        n.cport = cport;
        self.nodes.insert(n);
        self.route_fields_changed();
    }

    /// cluster-bus.md §15 / client-behaviour.md FAILOVER.
    fn cmd_failover(
        &mut self,
        now: Millis,
        mode: FailoverMode,
        out: &mut Vec<Effect>,
    ) -> Result<(), CmdError> {
        if self.me().is_master() {
            return Err(CmdError::FailoverOnMaster);
        }
        let Some(master) = self.my_master().and_then(|m| self.nodes.get(&m)) else {
            return Err(CmdError::MasterUnknown);
        };
        if mode == FailoverMode::Default && (master.failed() || master.link.is_none()) {
            return Err(CmdError::MasterDown);
        }
        let mname = master.name;
        self.reset_manual_failover(out);
        self.mf.end = now + crate::cluster::MF_TIMEOUT;
        match mode {
            FailoverMode::Takeover => {
                Self::log(
                    out,
                    LogLevel::Warning,
                    "Taking over the master (user request).".into(),
                );
                self.bump_config_epoch_without_consensus(out);
                self.failover_replace_your_master(now, out);
            }
            FailoverMode::Force => {
                Self::log(
                    out,
                    LogLevel::Warning,
                    "Forced failover user request accepted.".into(),
                );
                self.mf.can_start = true;
                self.todo.handle_failover = true;
            }
            FailoverMode::Default => {
                Self::log(
                    out,
                    LogLevel::Warning,
                    "Manual failover user request accepted.".into(),
                );
                let msg = Message::new(self.header(), Body::MfStart);
                self.send_to_node(&mname, msg, out);
            }
        }
        Ok(())
    }

    fn cmd_setslot(
        &mut self,
        now: Millis,
        slot: Result<u16, CmdError>,
        action: SetSlotAction,
        keys: KeyFacts,
        out: &mut Vec<Effect>,
    ) -> Result<(), CmdError> {
        if self.is_replica() {
            return Err(CmdError::SetSlotOnReplica);
        }
        let slot = slot?;
        let me = self.myself;
        let target = |c: &Cluster, id: &[u8], dont_know: bool| -> Result<NodeName, CmdError> {
            let n = c.lookup(id).ok_or_else(|| {
                if dont_know {
                    CmdError::DontKnowNode(text(id))
                } else {
                    CmdError::UnknownNode(text(id))
                }
            })?;
            if n.is_replica() {
                return Err(CmdError::TargetNotMaster);
            }
            Ok(n.name)
        };
        match action {
            SetSlotAction::Migrating(id) => {
                if self.slot_owner(slot) != Some(me) {
                    return Err(CmdError::NotOwner(slot));
                }
                let n = target(self, &id, true)?;
                self.migrating.insert(slot, n);
            }
            SetSlotAction::Importing(id) => {
                if self.slot_owner(slot) == Some(me) {
                    return Err(CmdError::AlreadyOwner(slot));
                }
                let n = target(self, &id, true)?;
                self.importing.insert(slot, n);
            }
            SetSlotAction::Stable => {
                self.migrating.remove(&slot);
                self.importing.remove(&slot);
            }
            SetSlotAction::Node(id) => {
                let n = target(self, &id, false)?;
                let was_mine = self.slot_owner(slot) == Some(me);
                if was_mine && n != me && keys.slot_keys != 0 {
                    return Err(CmdError::HoldsKeys(slot));
                }
                if keys.slot_keys == 0 {
                    self.migrating.remove(&slot);
                }
                self.set_slot_owner(slot, Some(n));
                if was_mine && n != me && !self.me().has_slots() && self.cfg.allow_replica_migration
                {
                    Self::log(
                        out,
                        LogLevel::Warning,
                        format!(
                            "Configuration change detected. Reconfiguring myself as a replica of {}",
                            Self::nm(&n)
                        ),
                    );
                    self.set_my_master(now, n, out);
                }
                if n == me && self.importing.contains_key(&slot) {
                    if self.bump_config_epoch_without_consensus(out) {
                        Self::log(
                            out,
                            LogLevel::Warning,
                            format!("configEpoch updated after importing slot {slot}"),
                        );
                    }
                    self.importing.remove(&slot);
                    self.broadcast_pong(now, false, out);
                }
            }
            SetSlotAction::Invalid => return Err(CmdError::SetSlotAction),
        }
        self.save(false);
        Ok(())
    }

    /// `clusterReset`.
    fn reset(&mut self, hard: bool, out: &mut Vec<Effect>) {
        if self.is_replica() {
            let me = self.myself;
            self.set_node_as_master(&me);
            out.push(Effect::Replicate(None));
            out.push(Effect::FlushAll);
        }
        self.migrating.clear();
        self.importing.clear();
        for s in 0..CLUSTER_SLOTS {
            self.set_slot_owner(s, None);
        }
        self.reset_manual_failover(out);
        for n in self.nodes.names() {
            if n != self.myself {
                self.del_node(&n, out);
            }
        }
        if hard {
            self.current_epoch = 0;
            self.last_vote_epoch = 0;
            self.me_mut().config_epoch = 0;
            let old = self.myself;
            let new = random_name(&mut self.rng);
            self.nodes.rename(&old, new);
            self.route_fields_changed();
            self.myself = new;
            Self::log(
                out,
                LogLevel::Notice,
                format!("Node hard reset, now I'm {}", Self::nm(&new)),
            );
        }
        self.save(true);
    }

    /// CLUSTER INFO text (client-behaviour.md §5.3), CRLF-terminated lines.
    pub fn info_text(&self) -> String {
        let (mut assigned, mut ok, mut pfail, mut fail) = (0usize, 0usize, 0usize, 0usize);
        for n in self.nodes.iter() {
            let c = n.slots.len();
            assigned += c;
            if n.failed() {
                fail += c;
            } else if n.timed_out() {
                pfail += c;
            } else {
                ok += c;
            }
        }
        let mut s = String::with_capacity(512);
        let state = match self.state {
            crate::cluster::Health::Ok => "ok",
            crate::cluster::Health::Fail => "fail",
        };
        let mut line = |k: &str, v: &dyn std::fmt::Display| {
            s.push_str(k);
            s.push(':');
            s.push_str(&v.to_string());
            s.push_str("\r\n");
        };
        line("cluster_state", &state);
        line("cluster_slots_assigned", &assigned);
        line("cluster_slots_ok", &ok);
        line("cluster_slots_pfail", &pfail);
        line("cluster_slots_fail", &fail);
        line("cluster_known_nodes", &self.nodes.len());
        line("cluster_size", &self.size);
        line("cluster_current_epoch", &self.current_epoch);
        line("cluster_my_epoch", &self.my_epoch());
        let mut total = 0u64;
        for (i, name) in STAT_NAMES.iter().enumerate() {
            let v = self.stats_sent.get(i).copied().unwrap_or(0);
            total += v;
            if v != 0 {
                line(&format!("cluster_stats_messages_{name}_sent"), &v);
            }
        }
        line("cluster_stats_messages_sent", &total);
        let mut total = 0u64;
        for (i, name) in STAT_NAMES.iter().enumerate() {
            let v = self.stats_received.get(i).copied().unwrap_or(0);
            total += v;
            if v != 0 {
                line(&format!("cluster_stats_messages_{name}_received"), &v);
            }
        }
        line("cluster_stats_messages_received", &total);
        line("total_cluster_links_buffer_limit_exceeded", &0);
        s
    }

    fn live_offset(&self, n: &Node) -> u64 {
        if n.is_myself() {
            self.repl_offset
        } else {
            n.repl_offset
        }
    }

    fn slots_node(&self, n: &Node) -> SlotsNode {
        let host = (!n.hostname.is_empty()).then(|| n.hostname.clone());
        let (endpoint, metadata) = match self.cfg.preferred_endpoint {
            EndpointType::Ip => (
                Some(n.ip.clone()),
                host.map(|h| vec![("hostname", h)]).unwrap_or_default(),
            ),
            EndpointType::Hostname => (
                Some(host.unwrap_or_else(|| "?".into())),
                vec![("ip", n.ip.clone())],
            ),
            EndpointType::Unknown => {
                let mut m = vec![("ip", n.ip.clone())];
                if let Some(h) = host {
                    m.push(("hostname", h));
                }
                (None, m)
            }
        };
        SlotsNode {
            endpoint,
            port: n.port,
            id: name_text(&n.name),
            metadata,
        }
    }

    /// CLUSTER SLOTS (§5.4): runs of consecutive slots with one owner, ascending.
    fn slots_reply(&self) -> Vec<SlotsRange> {
        let mut out = Vec::new();
        let mut start = 0u16;
        let mut cur: Option<NodeName> = None;
        for s in 0..=CLUSTER_SLOTS {
            let owner = if s < CLUSTER_SLOTS {
                self.slot_owner(s)
            } else {
                None
            };
            if owner != cur || s == CLUSTER_SLOTS {
                if let Some(m) = cur.and_then(|c| self.nodes.get(&c)) {
                    let mut nodes = vec![self.slots_node(m)];
                    for r in m.replicas.iter().filter_map(|r| self.nodes.get(r)) {
                        if !r.failed() && self.live_offset(r) != 0 {
                            nodes.push(self.slots_node(r));
                        }
                    }
                    out.push(SlotsRange {
                        start,
                        end: s - 1,
                        nodes,
                    });
                }
                cur = owner;
                start = s;
            }
        }
        out
    }

    fn shard_node(&self, n: &Node) -> ShardNode {
        let offset = self.live_offset(n);
        let host = (!n.hostname.is_empty()).then(|| n.hostname.clone());
        let endpoint = match self.cfg.preferred_endpoint {
            EndpointType::Ip => n.ip.clone(),
            EndpointType::Hostname => host.clone().unwrap_or_else(|| "?".into()),
            EndpointType::Unknown => String::new(),
        };
        ShardNode {
            id: name_text(&n.name),
            port: (n.port != 0).then_some(n.port),
            ip: n.ip.clone(),
            endpoint,
            hostname: host,
            role: if n.is_replica() { "replica" } else { "master" },
            replication_offset: offset,
            health: if n.failed() {
                "fail"
            } else if n.is_replica() && offset == 0 {
                "loading"
            } else {
                "online"
            },
        }
    }

    /// CLUSTER SHARDS (§5.5): one shard per master, table order.
    fn shards_reply(&self) -> Vec<Shard> {
        self.nodes
            .iter()
            .filter(|n| n.is_master())
            .map(|m| {
                let mut slots = Vec::new();
                for r in m.slots.ranges() {
                    slots.push(*r.start());
                    slots.push(*r.end());
                }
                let mut nodes = vec![self.shard_node(m)];
                nodes.extend(
                    m.replicas
                        .iter()
                        .filter_map(|r| self.nodes.get(r))
                        .map(|r| self.shard_node(r)),
                );
                Shard { slots, nodes }
            })
            .collect()
    }

    /// CLUSTER LINKS (§5.6): per node, outbound then inbound.
    fn links_reply(&self) -> Vec<LinkInfo> {
        let mut v = Vec::new();
        for n in self.nodes.iter() {
            for (l, dir) in [(n.link, "to"), (n.inbound_link, "from")] {
                if let Some(link) = l.and_then(|l| self.links.get(&l)) {
                    v.push(LinkInfo {
                        direction: dir,
                        node: name_text(&n.name),
                        create_time: link.ctime,
                        events: "r",
                        send_buffer_allocated: 0,
                        send_buffer_used: 0,
                    });
                }
            }
        }
        v
    }
}
