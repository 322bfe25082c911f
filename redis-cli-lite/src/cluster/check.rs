//! Loading a cluster from one node, the per-master summary, and the check every subcommand
//! runs: agreement on slots, open slots, coverage (and, asked for, multiple owners).

use std::collections::BTreeMap;

use resp_proto::Frame;

use super::node::{config_signature, Node, SLOTS};
use super::{info_field, reply_err, reply_text, Manager};

/// A command's outcome: the reply, an error reply's text, or no reply at all (I/O).
pub type Reply = Result<Frame, Option<String>>;

impl Manager {
    /// Connects node `i` if it is not yet; prints redis-cli's message when that fails.
    pub(super) fn connect(&mut self, i: usize) -> bool {
        if self.nodes[i].link.is_some() {
            return true;
        }
        let (ip, port) = (self.nodes[i].ip.clone(), self.nodes[i].port);
        match super::Link::connect(
            &ip,
            port,
            self.opts.user.as_deref(),
            self.opts.password.as_deref(),
        ) {
            Ok(link) => {
                self.nodes[i].link = Some(link);
                true
            }
            Err(e) => {
                self.log.flush();
                eprintln!("Could not connect to Redis at {ip}:{port}: {e}");
                false
            }
        }
    }

    /// Sends a command to node `i`.
    pub(super) fn command(&mut self, i: usize, args: &[&str]) -> Reply {
        let owned: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
        self.command_bytes(i, &owned)
    }

    /// Sends a command with binary arguments to node `i`.
    pub(super) fn command_bytes(&mut self, i: usize, args: &[Vec<u8>]) -> Reply {
        let link = self
            .nodes
            .get_mut(i)
            .and_then(|n| n.link.as_mut())
            .ok_or(None)?;
        match link.call(args) {
            Ok(frame) => match reply_err(&frame) {
                Some(e) => Err(Some(e)),
                None => Ok(frame),
            },
            Err(_) => Err(None),
        }
    }

    /// redis-cli's clusterManagerCheckRedisReply with no error out-parameter: an error reply
    /// is printed.
    pub(super) fn check_reply(&mut self, i: usize, reply: &Reply) -> bool {
        match reply {
            Ok(_) => true,
            Err(Some(e)) => {
                let e = e.clone();
                self.reply_error(i, &e);
                false
            }
            Err(None) => false,
        }
    }

    /// INFO says `cluster_enabled:1`.
    pub(super) fn node_is_cluster(&mut self, i: usize) -> Result<(), Option<String>> {
        let info = self.command(i, &["INFO"])?;
        let text = reply_text(&info).unwrap_or_default();
        if info_field(&text, "cluster_enabled").is_some_and(|v| v.trim() == "1") {
            Ok(())
        } else {
            Err(None)
        }
    }

    /// `[ERR] Node ip:port is not configured as a cluster node.`
    pub(super) fn not_cluster_error(&mut self, i: usize, err: Option<String>) {
        let n = &self.nodes[i];
        let msg = err.unwrap_or_else(|| "is not configured as a cluster node.".to_owned());
        let line = format!("[ERR] Node {}:{} {msg}\n", n.ip, n.port);
        self.log.err(&line);
    }

    /// No `db0:` in INFO and `cluster_known_nodes:1`: a node that may join a cluster.
    pub(super) fn node_is_empty(&mut self, i: usize) -> Result<bool, String> {
        let info = self
            .command(i, &["INFO"])
            .map_err(Option::unwrap_or_default)?;
        if info_field(&reply_text(&info).unwrap_or_default(), "db0").is_some() {
            return Ok(false);
        }
        let ci = self
            .command(i, &["CLUSTER", "INFO"])
            .map_err(Option::unwrap_or_default)?;
        let known = info_field(&reply_text(&ci).unwrap_or_default(), "cluster_known_nodes")
            .map(|v| v.trim().to_owned());
        Ok(known.as_deref() == Some("1"))
    }

    /// `[ERR] Node ip:port is not empty. ...`
    pub(super) fn not_empty_error(&mut self, i: usize, err: Option<String>) {
        let n = &self.nodes[i];
        let msg = err.unwrap_or_else(|| {
            "is not empty. Either the node already knows other nodes (check with CLUSTER NODES) \
             or contains some key in database 0."
                .to_owned()
        });
        let line = format!("[ERR] Node {}:{} {msg}\n", n.ip, n.port);
        self.log.err(&line);
    }

    /// CLUSTER NODES on node `i`: its own line updates it; with `friends`, the other nodes
    /// are returned.
    pub(super) fn node_load_info(
        &mut self,
        i: usize,
        friends: bool,
    ) -> Result<Vec<Node>, Option<String>> {
        let reply = self.command(i, &["CLUSTER", "NODES"])?;
        let text = reply_text(&reply).ok_or(None)?;
        self.nodes[i]
            .load_from_nodes_text(&text, friends)
            .map_err(|e| {
                self.log.flush();
                eprintln!("Error: {e}");
                None
            })
    }

    /// Loads the whole cluster as `entry` sees it: the entry node first, then every other node
    /// it lists, in its order (each connected and asked for its own view).
    pub(super) fn load_from_node(&mut self, entry: Node) -> bool {
        self.nodes = vec![entry];
        if !self.connect(0) {
            return false;
        }
        if let Err(e) = self.node_is_cluster(0) {
            self.not_cluster_error(0, e);
            return false;
        }
        let friends = match self.node_load_info(0, true) {
            Ok(f) => f,
            Err(e) => {
                if let Some(e) = e {
                    self.reply_error(0, &e);
                }
                return false;
            }
        };
        self.unreachable_masters = 0;
        for friend in friends {
            let was_master = !friend.is_slave();
            if friend.ip.is_empty() || friend.port == 0 {
                if was_master {
                    self.unreachable_masters += 1;
                }
                continue;
            }
            self.nodes.push(friend);
            let at = self.nodes.len() - 1;
            let keep = if !self.connect(at) {
                false
            } else {
                match self.node_load_info(at, false) {
                    Ok(_) => !self.nodes[at].unusable(),
                    Err(_) => {
                        let (ip, port) = (self.nodes[at].ip.clone(), self.nodes[at].port);
                        self.log
                            .err(&format!("[ERR] Unable to load info for node {ip}:{port}\n"));
                        false
                    }
                }
            };
            if !keep {
                if !self.nodes[at].is_slave() {
                    self.unreachable_masters += 1;
                }
                self.nodes.pop();
            }
        }
        self.count_replicas(true);
        true
    }

    /// Recounts each master's replicas (warning about replicas of unknown masters).
    pub(super) fn count_replicas(&mut self, warn: bool) {
        for n in &mut self.nodes {
            n.replicas_count = 0;
        }
        for i in 0..self.nodes.len() {
            let Some(master) = self.nodes[i].replicate.clone() else {
                continue;
            };
            match self.by_name(&master) {
                Some(m) => self.nodes[m].replicas_count += 1,
                None if warn => {
                    let n = &self.nodes[i];
                    let line = format!(
                        "*** WARNING: {}:{} claims to be slave of unknown node ID {master}.\n",
                        n.ip, n.port
                    );
                    self.log.warn(&line);
                }
                None => {}
            }
        }
    }

    /// Every node's description.
    pub(super) fn show_nodes(&mut self) {
        let text: String = self.nodes.iter().map(|n| n.info(0) + "\n").collect();
        self.log.plain(&text);
    }

    /// `ip:port (id...) -> N keys | M slots | K slaves.` per master, DBSIZE on each.
    pub(super) fn show_cluster_info(&mut self) -> bool {
        let mut masters = 0;
        let mut keys: i64 = 0;
        let mut rows = Vec::new();
        for i in 0..self.nodes.len() {
            if self.nodes[i].is_slave() || self.nodes[i].name.is_empty() {
                continue;
            }
            let name = self.nodes[i].name.clone();
            let replicas = self
                .nodes
                .iter()
                .filter(|n| n.is_slave() && n.replicate.as_deref() == Some(name.as_str()))
                .count();
            let dbsize = match self.command(i, &["DBSIZE"]) {
                Ok(Frame::Integer(n)) if n >= 0 => n,
                other => {
                    let err = match other {
                        Err(Some(e)) => e,
                        _ => String::new(),
                    };
                    self.reply_error(i, &err);
                    return false;
                }
            };
            let n = &self.nodes[i];
            let short: String = name.chars().take(8).collect();
            let line = format!(
                "{}:{} ({short}...) -> {dbsize} keys | {} slots | {replicas} slaves.\n",
                n.ip, n.port, n.slots_count
            );
            rows.push(super::view::MasterRow {
                address: format!("{}:{}", n.ip, n.port),
                id: short,
                slots: n.slots_count,
                ranges: n.slots_string(),
                keys: dbsize,
                replicas,
            });
            self.log.plain(&line);
            masters += 1;
            keys += dbsize;
        }
        self.log
            .ok(&format!("[OK] {keys} keys in {masters} masters.\n"));
        let per_slot = keys as f32 / SLOTS as f32;
        self.log
            .plain(&format!("{per_slot:.2} keys per slot on average.\n"));
        self.summary_rows = rows;
        true
    }

    /// All nodes report the same slot signature.
    pub(super) fn is_config_consistent(&mut self) -> bool {
        if self.nodes.len() <= 1 {
            return true;
        }
        let mut first: Option<String> = None;
        for i in 0..self.nodes.len() {
            let sig = match self.command(i, &["CLUSTER", "NODES"]) {
                Ok(f) => reply_text(&f).and_then(|t| config_signature(&t)),
                Err(_) => None,
            };
            let Some(sig) = sig else {
                return false;
            };
            match &first {
                None => first = Some(sig),
                Some(f) if *f != sig => return false,
                Some(_) => {}
            }
        }
        true
    }

    /// Waits, a dot a second, until every node agrees on the slots.
    pub(super) fn wait_for_cluster_join(&mut self) {
        self.log.plain("Waiting for the cluster to join\n");
        self.log.flush();
        while !self.is_config_consistent() {
            self.log.plain(".");
            self.log.flush();
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
        self.log.plain("\n");
    }

    /// redis-cli's cluster check; false when it found a problem it did not fix.
    pub(super) fn check_cluster(&mut self, quiet: bool) -> bool {
        if self.nodes.is_empty() {
            return false;
        }
        let mut result = true;
        let first = format!("{}:{}", self.nodes[0].ip, self.nodes[0].port);
        self.log.info(&format!(
            ">>> Performing Cluster Check (using node {first})\n"
        ));
        if !quiet {
            self.show_nodes();
        }
        if self.is_config_consistent() {
            self.log
                .ok("[OK] All nodes agree about slots configuration.\n");
        } else {
            self.on_error("[ERR] Nodes don't agree about configuration!".to_owned());
            result = false;
        }
        self.log.info(">>> Check for open slots...\n");
        // Open slots keyed by slot text, in insertion order (redis-cli's dict order is its
        // hash order; ours is first-seen order).
        let mut open: Vec<String> = Vec::new();
        for i in 0..self.nodes.len() {
            for (kind, list) in [
                ("migrating", self.nodes[i].migrating.clone()),
                ("importing", self.nodes[i].importing.clone()),
            ] {
                if list.is_empty() {
                    continue;
                }
                let slots: Vec<&str> = list.iter().map(|(s, _)| s.as_str()).collect();
                for s in &slots {
                    if !open.iter().any(|o| o == s) {
                        open.push((*s).to_owned());
                    }
                }
                let n = &self.nodes[i];
                let text = format!(
                    "[WARNING] Node {}:{} has slots in {kind} state {}.",
                    n.ip,
                    n.port,
                    slots.join(",")
                );
                self.on_error(text);
            }
        }
        if !open.is_empty() {
            result = false;
            self.log.err(&format!(
                "[WARNING] The following slots are open: {}.\n",
                open.join(",")
            ));
            if self.opts.fix {
                for slot in &open {
                    let Ok(s) = slot.parse::<usize>() else {
                        continue;
                    };
                    result = self.fix_open_slot(s);
                    if !result {
                        break;
                    }
                }
            }
        }
        self.log.info(">>> Check slots coverage...\n");
        let covered = self.covered_slots();
        let count = covered.iter().filter(|&&c| c).count();
        if count == SLOTS {
            self.log.ok(&format!("[OK] All {SLOTS} slots covered.\n"));
        } else {
            self.on_error(format!(
                "[ERR] Not all {SLOTS} slots are covered by nodes.\n"
            ));
            result = false;
            if self.opts.fix && self.fix_slots_coverage(&covered) > 0 {
                result = true;
            }
        }
        if self.opts.search_multiple_owners {
            result = self.check_multiple_owners() && result;
        }
        result
    }

    /// Union of the slots every node owns.
    pub(super) fn covered_slots(&self) -> Vec<bool> {
        let mut all = vec![false; SLOTS];
        for n in &self.nodes {
            for (a, &b) in all.iter_mut().zip(&n.slots) {
                *a |= b;
            }
        }
        all
    }

    /// CLUSTER COUNTKEYSINSLOT on node `i`; negative when it failed.
    pub(super) fn count_keys_in_slot(&mut self, i: usize, slot: usize) -> i64 {
        let reply = self.command(i, &["CLUSTER", "COUNTKEYSINSLOT", &slot.to_string()]);
        match reply {
            Ok(Frame::Integer(n)) => n,
            other => {
                self.check_reply(i, &other);
                -1
            }
        }
    }

    /// `--cluster-search-multiple-owners`: slots owned (or holding keys) on several masters.
    fn check_multiple_owners(&mut self) -> bool {
        self.log.info(">>> Check for multiple slot owners...\n");
        let mut result = true;
        let mut multiple = 0usize;
        for slot in 0..SLOTS {
            let mut owners = Vec::new();
            for i in self.masters() {
                if self.nodes[i].slots[slot] || self.count_keys_in_slot(i, slot) > 0 {
                    owners.push(i);
                }
            }
            if owners.len() <= 1 {
                continue;
            }
            result = false;
            self.log.err(&format!(
                "[WARNING] Slot {slot} has {} owners:\n",
                owners.len()
            ));
            for &o in &owners {
                let line = format!("    {}:{}\n", self.nodes[o].ip, self.nodes[o].port);
                self.log.err(&line);
            }
            multiple += 1;
            if self.opts.fix {
                result = self.fix_multiple_owners(slot, &owners);
                if !result {
                    self.log
                        .err(&format!("Failed to fix multiple owners for slot {slot}\n"));
                    break;
                }
                multiple -= 1;
            }
        }
        if multiple == 0 {
            self.log.ok("[OK] No multiple owners found.\n");
        }
        result
    }
}

/// Slot lists of nodes keyed by slot (for fix's grouping).
pub type SlotNodes = BTreeMap<usize, Vec<usize>>;
