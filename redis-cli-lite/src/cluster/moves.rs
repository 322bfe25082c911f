//! Moving slots with their keys (`reshard`, `rebalance`, and fix's moves): SETSLOT IMPORTING
//! on the target, MIGRATING on the source, GETKEYSINSLOT + MIGRATE until the slot is empty,
//! then SETSLOT NODE on the target, the source and every other master — redis-cli's order.

use resp_proto::Frame;

use super::log::read_line;
use super::node::SLOTS;
use super::view::Progress;
use super::{host_from_args, Manager, Node, INVALID_HOST_ARG};

/// How a slot is moved.
#[derive(Clone, Copy, Default)]
pub struct MoveOpts {
    /// A dot per migrated key.
    pub verbose: bool,
    /// Only move the keys: no SETSLOT before or after.
    pub cold: bool,
    /// Update the manager's slot maps of source and target.
    pub update: bool,
    /// No "Moving slot ..." line.
    pub quiet: bool,
    /// SETSLOT errors go back to the caller unprinted (reshard prints them itself).
    pub errors_to_caller: bool,
}

/// One planned slot move.
struct TableItem {
    source: usize,
    slot: usize,
}

impl Manager {
    /// MIGRATE of `keys` from `src` to `dst`, REPLACE when asked; AUTH/AUTH2 as redis-cli.
    fn migrate_keys(
        &mut self,
        src: usize,
        dst: usize,
        keys: &[Vec<u8>],
        replace: bool,
    ) -> Result<Frame, Option<String>> {
        let mut args: Vec<Vec<u8>> = vec![
            b"MIGRATE".to_vec(),
            self.nodes[dst].ip.as_bytes().to_vec(),
            self.nodes[dst].port.to_string().into_bytes(),
            Vec::new(),
            b"0".to_vec(),
            self.opts.timeout.to_string().into_bytes(),
        ];
        if replace {
            args.push(b"REPLACE".to_vec());
        }
        if let Some(pw) = &self.opts.password {
            match &self.opts.user {
                Some(user) => {
                    args.push(b"AUTH2".to_vec());
                    args.push(user.as_bytes().to_vec());
                }
                None => args.push(b"AUTH".to_vec()),
            }
            args.push(pw.as_bytes().to_vec());
        }
        args.push(b"KEYS".to_vec());
        args.extend(keys.iter().cloned());
        self.command_bytes(src, &args)
    }

    /// Whether some node serves `slot` according to `src`'s CLUSTER SLOTS.
    fn slot_served(&mut self, src: usize, slot: usize) -> Result<bool, String> {
        let reply = self
            .command(src, &["CLUSTER", "SLOTS"])
            .map_err(Option::unwrap_or_default)?;
        let Frame::Array(ranges) = reply else {
            return Ok(false);
        };
        let slot = i64::try_from(slot).unwrap_or(i64::MAX);
        Ok(ranges.iter().any(|r| match r {
            Frame::Array(items) => matches!(
                (items.first(), items.get(1)),
                (Some(Frame::Integer(a)), Some(Frame::Integer(b))) if *a <= slot && slot <= *b
            ),
            _ => false,
        }))
    }

    /// DEBUG DIGEST-VALUE of `keys` on both nodes; the keys whose values differ.
    fn different_values(
        &mut self,
        src: usize,
        dst: usize,
        keys: &[Vec<u8>],
    ) -> Option<Vec<Vec<u8>>> {
        let mut args = vec![b"DEBUG".to_vec(), b"DIGEST-VALUE".to_vec()];
        args.extend(keys.iter().cloned());
        let a = self.command_bytes(src, &args);
        let b = self.command_bytes(dst, &args);
        match (a, b) {
            (Ok(Frame::Array(a)), Ok(Frame::Array(b)))
                if a.len() == keys.len() && b.len() == keys.len() =>
            {
                Some(
                    keys.iter()
                        .zip(a.iter().zip(&b))
                        .filter(|(_, (x, y))| x != y)
                        .map(|(k, _)| k.clone())
                        .collect(),
                )
            }
            (a, b) => {
                for (i, r) in [(src, a), (dst, b)] {
                    if let Err(Some(e)) = r {
                        self.reply_error(i, &e);
                    }
                }
                None
            }
        }
    }

    /// Moves every key of `slot` from `src` to `dst`, `pipeline` keys per MIGRATE. Returns the
    /// number of keys moved.
    fn migrate_keys_in_slot(
        &mut self,
        src: usize,
        dst: usize,
        slot: usize,
        verbose: bool,
    ) -> Result<usize, Option<String>> {
        let mut moved = 0usize;
        let s = slot.to_string();
        let pipeline = self.opts.pipeline.to_string();
        loop {
            let keys = match self.command(src, &["CLUSTER", "GETKEYSINSLOT", &s, &pipeline]) {
                Ok(Frame::Array(keys)) => keys,
                Ok(_) => return Err(None),
                Err(Some(e)) => {
                    self.reply_error(src, &e);
                    return Err(Some(e));
                }
                Err(None) => return Err(None),
            };
            if keys.is_empty() {
                return Ok(moved);
            }
            let keys: Vec<Vec<u8>> = keys
                .iter()
                .filter_map(|k| match k {
                    Frame::Bulk(b) | Frame::SimpleString(b) => Some(b.to_vec()),
                    _ => None,
                })
                .collect();
            let mut result = self.migrate_keys(src, dst, &keys, false);
            if let Err(Some(e)) = &result {
                let is_busy = e.contains("BUSYKEY");
                let mut not_served = false;
                if !is_busy {
                    match self.slot_served(src, slot) {
                        Ok(served) => not_served = !served,
                        Err(err) => self.reply_error(src, &err),
                    }
                }
                if is_busy || not_served {
                    if self.opts.fix && not_served {
                        let line = format!(
                            "*** Slot was not served, setting owner to node {}:{}.\n",
                            self.nodes[dst].ip, self.nodes[dst].port
                        );
                        self.log.warn(&line);
                        let _ = self.set_slot(src, dst, slot, "node");
                    }
                    if is_busy {
                        self.log.warn("\n*** Target key exists\n");
                        if !self.opts.replace {
                            self.log.warn("*** Checking key values on both nodes...\n");
                            let Some(diffs) = self.different_values(src, dst, &keys) else {
                                self.log.err("*** Value check failed!\n");
                                return Err(Some("value check failed".to_owned()));
                            };
                            if !diffs.is_empty() {
                                let mut text = format!(
                                    "*** Found {} key(s) in both source node and target node having different values.\n    Source node: {}:{}\n    Target node: {}:{}\n    Keys(s):\n",
                                    diffs.len(),
                                    self.nodes[src].ip,
                                    self.nodes[src].port,
                                    self.nodes[dst].ip,
                                    self.nodes[dst].port
                                );
                                for k in &diffs {
                                    text.push_str(&format!(
                                        "    - {}\n",
                                        String::from_utf8_lossy(k)
                                    ));
                                }
                                text.push_str(
                                    "Please fix the above key(s) manually and try again or relaunch the command \nwith --cluster-replace option to force key overriding.\n",
                                );
                                self.log.err(&text);
                                return Err(Some("different values".to_owned()));
                            }
                        }
                        self.log.warn("*** Replacing target keys...\n");
                    }
                    result = self.migrate_keys(src, dst, &keys, is_busy);
                }
            }
            match result {
                Ok(_) => {
                    moved += keys.len();
                    if verbose {
                        self.log.plain(&".".repeat(keys.len()));
                        self.log.flush();
                    }
                }
                Err(e) => {
                    if let Some(text) = &e {
                        self.log.plain("\n");
                        self.reply_error(src, text);
                    }
                    return Err(e);
                }
            }
        }
    }

    /// SETSLOT for a move: the error printed unless the caller reports it.
    fn set_slot_for_move(
        &mut self,
        on: usize,
        dst: usize,
        slot: usize,
        status: &str,
        opts: MoveOpts,
    ) -> Result<(), Option<String>> {
        self.set_slot(on, dst, slot, status).map_err(|e| {
            if !opts.errors_to_caller && !e.is_empty() {
                self.reply_error(on, &e);
            }
            Some(e)
        })
    }

    /// Moves `slot` (and its keys) from `src` to `dst`; returns the keys moved.
    pub(super) fn move_slot(
        &mut self,
        src: usize,
        dst: usize,
        slot: usize,
        opts: MoveOpts,
    ) -> Result<usize, Option<String>> {
        if !opts.quiet {
            let line = format!(
                "Moving slot {slot} from {}:{} to {}:{}: ",
                self.nodes[src].ip, self.nodes[src].port, self.nodes[dst].ip, self.nodes[dst].port
            );
            self.log.plain(&line);
            self.log.flush();
        }
        if !opts.cold {
            self.set_slot_for_move(dst, src, slot, "importing", opts)?;
            self.set_slot_for_move(src, dst, slot, "migrating", opts)?;
        }
        let moved = self.migrate_keys_in_slot(src, dst, slot, opts.verbose);
        if !opts.quiet {
            self.log.plain("\n");
        }
        let moved = moved?;
        if !opts.cold {
            // The target first: it then spreads the news itself, and a source that just gave
            // away its last slot (and became a replica) refuses SETSLOT: that is expected.
            self.set_slot_for_move(dst, dst, slot, "node", opts)?;
            if let Err(e) = self.set_slot(src, dst, slot, "node") {
                if !e.starts_with("ERR Please use SETSLOT only with masters.") {
                    if !opts.errors_to_caller {
                        self.reply_error(src, &e);
                    }
                    return Err(Some(e));
                }
            }
            for n in self.masters() {
                if n == src || n == dst {
                    continue;
                }
                if let Err(e) = self.set_slot(n, dst, slot, "node") {
                    self.reply_error(n, &e);
                    return Err(Some(e));
                }
            }
        }
        if opts.update {
            self.nodes[src].del_slot(slot);
            self.nodes[dst].add_slot(slot);
        }
        Ok(moved)
    }

    /// redis-cli's reshard table: from the sources, largest first, a share of `numslots`
    /// proportional to their slots (the first rounded up, the others down), lowest slots first.
    fn reshard_table(&self, sources: &[usize], numslots: usize) -> Vec<TableItem> {
        let tot: usize = sources.iter().map(|&s| self.nodes[s].slots_count).sum();
        let mut sorted = sources.to_vec();
        sorted.sort_by(|&a, &b| self.nodes[b].slots_count.cmp(&self.nodes[a].slots_count));
        let mut moved = Vec::new();
        for (i, &src) in sorted.iter().enumerate() {
            // Single-precision, as redis-cli computes it.
            let share = numslots as f32 / tot as f32 * self.nodes[src].slots_count as f32;
            let max = if i == 0 { share.ceil() } else { share.floor() } as usize;
            for slot in (0..SLOTS).filter(|&s| self.nodes[src].slots[s]).take(max) {
                if moved.len() >= numslots {
                    break;
                }
                moved.push(TableItem { source: src, slot });
            }
        }
        moved
    }

    /// A node given by id for resharding: known, a master, and not the target.
    fn node_for_resharding(
        &mut self,
        id: &str,
        target: Option<usize>,
    ) -> Result<Option<usize>, ()> {
        match self.by_name(id) {
            Some(n) if !self.nodes[n].is_slave() => {
                if target.is_some_and(|t| self.nodes[t].name == self.nodes[n].name) {
                    self.log
                        .err("*** It is not possible to use the target node as source node.\n");
                    return Ok(None);
                }
                Ok(Some(n))
            }
            _ => {
                self.log.err(&format!(
                    "*** The specified node ({id}) is not known or not a master, please retry.\n"
                ));
                Err(())
            }
        }
    }
}

/// `--cluster reshard host:port`.
pub fn reshard(m: &mut Manager, argv: &[String]) -> bool {
    let Some((ip, port)) = host_from_args(argv) else {
        eprint!("{INVALID_HOST_ARG}");
        return false;
    };
    if !m.load_from_node(Node::new(&ip, port)) {
        return false;
    }
    m.check_cluster(false);
    if !m.errors.is_empty() {
        m.log.flush();
        eprintln!("*** Please fix your cluster problems before resharding");
        return false;
    }
    let mut slots = m.opts.slots;
    while slots <= 0 || slots > SLOTS as i64 {
        m.log.plain(&format!(
            "How many slots do you want to move (from 1 to {SLOTS})? "
        ));
        m.log.flush();
        // redis-cli asks again forever; at the end of input we stop instead.
        let Some(answer) = read_line(5) else {
            return false;
        };
        slots = answer.trim().parse().unwrap_or(0);
    }
    let mut to = m.opts.to.clone();
    while to.is_none() {
        m.log.plain("What is the receiving node ID? ");
        m.log.flush();
        let Some(answer) = read_line(254) else {
            return false;
        };
        if !answer.is_empty() {
            to = Some(answer);
        }
    }
    let to = to.unwrap_or_default();
    let Ok(Some(target)) = m.node_for_resharding(&to, None) else {
        return false;
    };
    let mut sources: Vec<usize> = Vec::new();
    let mut all = false;
    match m.opts.from.clone() {
        None => {
            m.log.plain("Please enter all the source node IDs.\n");
            m.log
                .plain("  Type 'all' to use all the nodes as source nodes for the hash slots.\n");
            m.log
                .plain("  Type 'done' once you entered all the source nodes IDs.\n");
            loop {
                m.log
                    .plain(&format!("Source node #{}: ", sources.len() + 1));
                m.log.flush();
                let Some(answer) = read_line(254) else {
                    return false;
                };
                match answer.as_str() {
                    "done" => break,
                    "all" => {
                        all = true;
                        break;
                    }
                    id => match m.node_for_resharding(id, Some(target)) {
                        Ok(Some(s)) => sources.push(s),
                        Ok(None) => {}
                        Err(()) => return false,
                    },
                }
            }
        }
        Some(from) => {
            for id in from.split(',') {
                if id == "all" {
                    all = true;
                    break;
                }
                if id.is_empty() {
                    continue;
                }
                match m.node_for_resharding(id, Some(target)) {
                    Ok(Some(s)) => sources.push(s),
                    Ok(None) => {}
                    Err(()) => return false,
                }
            }
        }
    }
    if all {
        sources = m
            .masters()
            .into_iter()
            .filter(|&n| m.nodes[n].replicate.is_none() && m.nodes[n].name != m.nodes[target].name)
            .collect();
    }
    if sources.is_empty() {
        m.log.flush();
        eprintln!("*** No source nodes given, operation aborted.");
        return false;
    }
    let slots = usize::try_from(slots).unwrap_or(0);
    let mut text = format!("\nReady to move {slots} slots.\n  Source nodes:\n");
    for &s in &sources {
        text.push_str(&m.nodes[s].info(4));
        text.push('\n');
    }
    text.push_str("  Destination node:\n");
    text.push_str(&m.nodes[target].info(4));
    text.push('\n');
    let table = m.reshard_table(&sources, slots);
    text.push_str("  Resharding plan:\n");
    for item in &table {
        text.push_str(&format!(
            "    Moving slot {} from {}\n",
            item.slot, m.nodes[item.source].name
        ));
    }
    m.log.plain(&text);
    if !m.opts.yes {
        m.log
            .plain("Do you want to proceed with the proposed reshard plan (yes/no)? ");
        m.log.flush();
        if super::log::read_answer(4).as_deref() != Some("yes") {
            return false;
        }
    }
    let tty = m.log.tty;
    let mut progress = Progress::new(tty, table.len() as u64, "slots");
    let opts = MoveOpts {
        verbose: !tty,
        quiet: tty,
        errors_to_caller: true,
        ..MoveOpts::default()
    };
    for item in &table {
        match m.move_slot(item.source, target, item.slot, opts) {
            Ok(keys) => progress.advance(keys),
            Err(e) => {
                progress.abandon();
                if let Some(e) = e {
                    m.log.err(&format!("clusterManagerMoveSlot failed: {e}\n"));
                }
                return false;
            }
        }
    }
    let target_addr = format!("{}:{}", m.nodes[target].ip, m.nodes[target].port);
    progress.finish(&mut m.log, &format!("to {target_addr}"));
    true
}

/// `--cluster rebalance host:port`.
pub fn rebalance(m: &mut Manager, argv: &[String]) -> bool {
    let Some((ip, port)) = host_from_args(argv) else {
        eprint!("{INVALID_HOST_ARG}");
        return false;
    };
    if !m.load_from_node(Node::new(&ip, port)) {
        return false;
    }
    for w in m.opts.weights.clone() {
        let Some((name, weight)) = w.split_once('=') else {
            return false;
        };
        let Some(n) = m.by_abbreviated_name(name) else {
            m.log.err(&format!("*** No such master node {name}\n"));
            return false;
        };
        m.nodes[n].weight = atof(weight);
    }
    let mut total_weight: f32 = 0.0;
    let mut involved: Vec<usize> = Vec::new();
    for n in m.masters() {
        if m.nodes[n].replicate.is_some() {
            continue;
        }
        if !m.opts.use_empty_masters && m.nodes[n].slots_count == 0 {
            m.nodes[n].weight = 0.0;
            continue;
        }
        total_weight += m.nodes[n].weight;
        involved.push(n);
    }
    m.check_cluster(true);
    if !m.errors.is_empty() {
        m.log
            .err("*** Please fix your cluster problems before rebalancing\n");
        return false;
    }
    let threshold = m.opts.threshold;
    let mut threshold_reached = false;
    let mut total_balance: i64 = 0;
    for &n in &involved {
        let node = &mut m.nodes[n];
        // Saturating: weights that sum to 0 make the share infinite (redis-cli overflows).
        let expected = ((SLOTS as f32 / total_weight) * node.weight) as i64;
        node.balance = (node.slots_count as i64).saturating_sub(expected);
        total_balance = total_balance.saturating_add(node.balance);
        if threshold > 0.0 {
            if node.slots_count > 0 {
                let err_perc = (100.0 - (100.0 * expected as f64 / node.slots_count as f64)).abs();
                if err_perc > f64::from(threshold) {
                    threshold_reached = true;
                }
            } else if expected > 1 {
                threshold_reached = true;
            }
        }
    }
    if !threshold_reached {
        m.log.warn(&format!(
            "*** No rebalancing needed! All nodes are within the {threshold:.2}% threshold.\n"
        ));
        return true;
    }
    while total_balance > 0 && involved.iter().any(|&n| m.nodes[n].balance <= 0) {
        for &n in &involved {
            if m.nodes[n].balance <= 0 && total_balance > 0 {
                m.nodes[n].balance -= 1;
                total_balance -= 1;
            }
        }
    }
    let mut weighted = involved.clone();
    weighted.sort_by_key(|&n| m.nodes[n].balance);
    m.log.info(&format!(
        ">>> Rebalancing across {} nodes. Total weight = {total_weight:.2}\n",
        involved.len()
    ));
    if weighted.is_empty() {
        return true;
    }
    let tty = m.log.tty;
    let mut dst_idx = 0usize;
    let mut src_idx = weighted.len() - 1;
    let mut summary = Progress::totals_only();
    while dst_idx < src_idx {
        let (dst, src) = (weighted[dst_idx], weighted[src_idx]);
        let numslots = m.nodes[dst]
            .balance
            .unsigned_abs()
            .min(m.nodes[src].balance.unsigned_abs());
        let numslots = usize::try_from(numslots).unwrap_or(0);
        if numslots > 0 {
            let line = format!(
                "Moving {numslots} slots from {}:{} to {}:{}\n",
                m.nodes[src].ip, m.nodes[src].port, m.nodes[dst].ip, m.nodes[dst].port
            );
            m.log.plain(&line);
            let table = m.reshard_table(&[src], numslots);
            if table.len() != numslots {
                m.log
                    .err("*** Assertion failed: Reshard table != number of slots");
                return false;
            }
            if m.opts.simulate {
                m.log.plain(&"#".repeat(table.len()));
            } else {
                let mut bar = Progress::new(tty, table.len() as u64, "slots");
                let opts = MoveOpts {
                    quiet: true,
                    update: true,
                    errors_to_caller: true,
                    ..MoveOpts::default()
                };
                for item in &table {
                    match m.move_slot(item.source, dst, item.slot, opts) {
                        Ok(keys) => {
                            bar.advance(keys);
                            summary.advance(keys);
                            if !tty {
                                m.log.plain("#");
                                m.log.flush();
                            }
                        }
                        Err(e) => {
                            bar.abandon();
                            let e = e.unwrap_or_else(|| "(null)".to_owned());
                            m.log.err(&format!("*** clusterManagerMoveSlot: {e}\n"));
                            return false;
                        }
                    }
                }
                bar.clear();
            }
            m.log.plain("\n");
        }
        let n = i64::try_from(numslots).unwrap_or(0);
        m.nodes[dst].balance += n;
        m.nodes[src].balance -= n;
        if m.nodes[dst].balance == 0 {
            dst_idx += 1;
        }
        if m.nodes[src].balance == 0 {
            src_idx = src_idx.saturating_sub(1);
        }
    }
    if tty && !m.opts.simulate {
        summary.finish(&mut m.log, &format!("across {} masters", involved.len()));
    }
    true
}

/// C's atof for a weight: a leading number, else 0.
fn atof(text: &str) -> f32 {
    let t = text.trim_start();
    let end = t
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || ((c == '-' || c == '+') && i == 0)))
        .map_or(t.len(), |(i, _)| i);
    t[..end].parse().unwrap_or(0.0)
}
