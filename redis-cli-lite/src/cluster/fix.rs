//! `--cluster fix`: open slots, uncovered slots and slots with several owners, repaired with
//! redis-cli 7.0.15's commands and words.

use resp_proto::Frame;

use super::check::SlotNodes;
use super::moves::MoveOpts;
use super::node::SLOTS;
use super::Manager;

impl Manager {
    /// CLUSTER SETSLOT `slot` `status` `<id of node dst>` on node `on`.
    pub(super) fn set_slot(
        &mut self,
        on: usize,
        dst: usize,
        slot: usize,
        status: &str,
    ) -> Result<(), String> {
        let id = self.nodes[dst].name.clone();
        match self.command(on, &["CLUSTER", "SETSLOT", &slot.to_string(), status, &id]) {
            Ok(_) => Ok(()),
            Err(e) => Err(e.unwrap_or_default()),
        }
    }

    /// `set_slot` printing the error as redis-cli does when it has no error out-parameter.
    fn set_slot_logged(&mut self, on: usize, dst: usize, slot: usize, status: &str) -> bool {
        match self.set_slot(on, dst, slot, status) {
            Ok(()) => true,
            Err(e) => {
                if !e.is_empty() {
                    self.reply_error(on, &e);
                }
                false
            }
        }
    }

    /// A command whose error is printed; true on success.
    fn logged(&mut self, i: usize, args: &[&str]) -> bool {
        let r = self.command(i, args);
        self.check_reply(i, &r)
    }

    /// CLUSTER DELSLOTS, "already unassigned" tolerated when asked.
    fn del_slot(&mut self, i: usize, slot: usize, ignore_unassigned: bool) -> bool {
        match self.command(i, &["CLUSTER", "DELSLOTS", &slot.to_string()]) {
            Ok(_) => {
                self.nodes[i].del_slot(slot);
                true
            }
            Err(Some(e)) if ignore_unassigned && e.contains("already unassigned") => {
                self.nodes[i].del_slot(slot);
                true
            }
            Err(Some(e)) => {
                self.reply_error(i, &e);
                false
            }
            Err(None) => false,
        }
    }

    /// Makes node `i` the owner of `slot` in one transaction: DELSLOTS (its error ignored),
    /// ADDSLOTS, optionally SETSLOT STABLE, BUMPEPOCH.
    fn set_slot_owner(&mut self, i: usize, slot: usize, clear: bool) -> bool {
        if !self.logged(i, &["MULTI"]) {
            return false;
        }
        let s = slot.to_string();
        let mut queued = vec![
            vec!["CLUSTER", "DELSLOTS", s.as_str()],
            vec!["CLUSTER", "ADDSLOTS", s.as_str()],
        ];
        if clear {
            queued.push(vec!["CLUSTER", "SETSLOT", s.as_str(), "STABLE"]);
        }
        queued.push(vec!["CLUSTER", "BUMPEPOCH"]);
        for args in &queued {
            // Replies are +QUEUED; errors show up in EXEC's array.
            let _ = self.command(i, args);
        }
        let ok = match self.command(i, &["EXEC"]) {
            Ok(Frame::Array(replies)) => {
                let mut ok = true;
                for (idx, r) in replies.iter().enumerate() {
                    if let Some(e) = super::reply_err(r) {
                        // The DELSLOTS of a slot nobody owns fails: expected.
                        if idx == 0 {
                            continue;
                        }
                        self.reply_error(i, &e);
                        ok = false;
                    }
                }
                ok
            }
            Ok(_) => false,
            Err(e) => {
                self.check_reply(i, &Err(e));
                false
            }
        };
        if ok {
            self.nodes[i].add_slot(slot);
        }
        ok
    }

    /// Among `nodes` (masters only), the one with most keys in `slot`.
    fn node_with_most_keys(&mut self, nodes: &[usize], slot: usize) -> Option<usize> {
        let mut best: Option<(usize, i64)> = None;
        for &i in nodes {
            if self.nodes[i].is_slave() || self.nodes[i].replicate.is_some() {
                continue;
            }
            let n = self.count_keys_in_slot(i, slot);
            if n < 0 {
                return None;
            }
            if best.is_none_or(|(_, most)| n > most) {
                best = Some((i, n));
            }
        }
        best.map(|(i, _)| i)
    }

    fn addr(&self, i: usize) -> String {
        format!("{}:{}", self.nodes[i].ip, self.nodes[i].port)
    }

    /// Fixes one open slot (redis-cli's cases 1 to 4).
    pub(super) fn fix_open_slot(&mut self, slot: usize) -> bool {
        self.log.info(&format!(">>> Fixing open slot {slot}\n"));
        let mut owners: Vec<usize> = Vec::new();
        for i in self.masters() {
            if self.nodes[i].slots[slot] {
                owners.push(i);
            } else {
                let n = self.count_keys_in_slot(i, slot);
                if n < 0 {
                    return false;
                }
                if n > 0 {
                    let line = format!(
                        "*** Found keys about slot {slot} in non-owner node {}!\n",
                        self.addr(i)
                    );
                    self.log.warn(&line);
                    owners.push(i);
                }
            }
        }
        let mut owner = if owners.len() == 1 {
            owners.first().copied()
        } else {
            None
        };
        let slot_text = slot.to_string();
        let mut migrating: Vec<usize> = Vec::new();
        let mut importing: Vec<usize> = Vec::new();
        for i in self.masters() {
            let is_migrating = self.nodes[i].migrating.iter().any(|(s, _)| *s == slot_text);
            let is_importing =
                !is_migrating && self.nodes[i].importing.iter().any(|(s, _)| *s == slot_text);
            if is_migrating {
                migrating.push(i);
            } else if is_importing {
                importing.push(i);
            } else if Some(i) != owner {
                let n = self.count_keys_in_slot(i, slot);
                if n < 0 {
                    return false;
                }
                if n > 0 {
                    let line = format!(
                        "*** Found keys about slot {slot} in node {}!\n",
                        self.addr(i)
                    );
                    self.log.warn(&line);
                    importing.push(i);
                }
            }
        }
        let list =
            |m: &Manager, v: &[usize]| v.iter().map(|&i| m.addr(i)).collect::<Vec<_>>().join(",");
        let migrating_str = list(self, &migrating);
        let importing_str = list(self, &importing);
        if !migrating.is_empty() {
            self.log
                .plain(&format!("Set as migrating in: {migrating_str}\n"));
        }
        if !importing.is_empty() {
            self.log
                .plain(&format!("Set as importing in: {importing_str}\n"));
        }
        if owner.is_none() {
            self.log.info(
                ">>> No single clear owner for the slot, selecting an owner by # of keys...\n",
            );
            let all: Vec<usize> = (0..self.nodes.len()).collect();
            let Some(o) = self.node_with_most_keys(&all, slot) else {
                self.log
                    .err("[ERR] Can't select a slot owner. Impossible to fix.\n");
                return false;
            };
            owner = Some(o);
            self.log.warn(&format!(
                "*** Configuring {} as the slot owner\n",
                self.addr(o)
            ));
            if !self.set_slot_owner(o, slot, true) {
                return false;
            }
            migrating.retain(|&x| x != o);
            importing.retain(|&x| x != o);
        }
        let Some(owner) = owner else {
            return false;
        };
        if owners.len() > 1 {
            for &n in &owners {
                if n == owner {
                    continue;
                }
                if !self.del_slot(n, slot, true) {
                    return false;
                }
                if !self.set_slot_logged(n, owner, slot, "node")
                    || !self.set_slot_logged(n, owner, slot, "importing")
                {
                    return false;
                }
                importing.retain(|&x| x != n);
                importing.push(n);
                migrating.retain(|&x| x != n);
            }
        }
        let verbose = MoveOpts {
            verbose: true,
            ..MoveOpts::default()
        };
        match (migrating.as_slice(), importing.as_slice()) {
            ([src], [dst]) => {
                let (src, dst) = (*src, *dst);
                let line = format!(
                    ">>> Case 1: Moving slot {slot} from {} to {}\n",
                    self.addr(src),
                    self.addr(dst)
                );
                self.log.info(&line);
                self.move_slot(src, dst, slot, verbose).is_ok()
            }
            ([], [_, ..]) => {
                let line = format!(
                    ">>> Case 2: Moving all the {slot} slot keys to its owner {}\n",
                    self.addr(owner)
                );
                self.log.info(&line);
                let cold = MoveOpts {
                    cold: true,
                    ..verbose
                };
                for n in importing.clone() {
                    if n == owner {
                        continue;
                    }
                    if self.move_slot(n, owner, slot, cold).is_err() {
                        return false;
                    }
                    let line = format!(">>> Setting {slot} as STABLE in {}\n", self.addr(n));
                    self.log.info(&line);
                    if !self.logged(n, &["CLUSTER", "SETSLOT", &slot_text, "STABLE"]) {
                        return false;
                    }
                }
                // A cold move leaves the others' view unchanged: tell every master.
                for n in self.masters() {
                    if n == owner {
                        continue;
                    }
                    let id = self.nodes[owner].name.clone();
                    if !self.logged(n, &["CLUSTER", "SETSLOT", &slot_text, "NODE", &id]) {
                        return false;
                    }
                }
                true
            }
            ([src], [_, _, ..]) => {
                let src = *src;
                match self.case3(src, &importing, slot) {
                    Some(ok) => ok,
                    None => self.unhandled(owner, &migrating_str, &importing_str),
                }
            }
            _ => self.try_close_slot(
                slot,
                owner,
                &migrating,
                &importing,
                &migrating_str,
                &importing_str,
            ),
        }
    }

    /// Case 3: one node migrating, several importing, none of them holding keys of the slot.
    /// If one importing node is the migration's destination, the slot moves there and is
    /// closed on the other importing nodes; otherwise it is closed everywhere. `None` when an
    /// importing node has keys (not handled, as in redis-cli).
    fn case3(&mut self, src: usize, importing: &[usize], slot: usize) -> Option<bool> {
        let s = slot.to_string();
        let target = self.nodes[src]
            .migrating
            .iter()
            .find(|(m, _)| *m == s)
            .map(|(_, id)| id.clone())?;
        let mut dst = None;
        for &n in importing {
            let count = self.count_keys_in_slot(n, slot);
            if count < 0 {
                return Some(false);
            }
            if count > 0 {
                return None;
            }
            if self.nodes[n].name == target {
                dst = Some(n);
            }
        }
        let close = |m: &mut Manager, n: usize| m.logged(n, &["CLUSTER", "SETSLOT", &s, "STABLE"]);
        match dst {
            Some(dst) => {
                let line = format!(
                    ">>> Case 3: Moving slot {slot} from {} to {} and closing it on all the other importing nodes.\n",
                    self.addr(src),
                    self.addr(dst)
                );
                self.log.info(&line);
                let opts = MoveOpts {
                    verbose: true,
                    ..MoveOpts::default()
                };
                if self.move_slot(src, dst, slot, opts).is_err() {
                    return Some(false);
                }
                Some(
                    importing
                        .iter()
                        .filter(|&&n| n != dst)
                        .all(|&n| close(self, n)),
                )
            }
            None => {
                self.log.info(&format!(
                    ">>> Case 3: Closing slot {slot} on both migrating and importing nodes.\n"
                ));
                Some(close(self, src) && importing.iter().all(|&n| close(self, n)))
            }
        }
    }

    /// redis-cli's message for the open-slot layouts it does not fix.
    fn unhandled(&mut self, owner: usize, migrating_str: &str, importing_str: &str) -> bool {
        let line = format!(
            "[ERR] Sorry, redis-cli can't fix this slot yet (work in progress). Slot is set as \
             migrating in {migrating_str}, as importing in {importing_str}, owner is {}\n",
            self.addr(owner)
        );
        self.log.err(&line);
        false
    }

    /// Case 4: a single migrating node and no importing one: close the slot when the
    /// migrating node has no keys left (or owns the slot).
    fn try_close_slot(
        &mut self,
        slot: usize,
        owner: usize,
        migrating: &[usize],
        importing: &[usize],
        migrating_str: &str,
        importing_str: &str,
    ) -> bool {
        let s = slot.to_string();
        let mut close = importing.is_empty() && migrating.len() == 1;
        if let (true, Some(&n)) = (close, migrating.first()) {
            if n != owner {
                match self.command(n, &["CLUSTER", "GETKEYSINSLOT", &s, "10"]) {
                    Ok(Frame::Array(keys)) => close = keys.is_empty(),
                    other => {
                        self.check_reply(n, &other);
                        return false;
                    }
                }
            }
        }
        if let (true, Some(&n)) = (close, migrating.first()) {
            let line = format!(">>> Case 4: Closing slot {slot} on {}\n", self.addr(n));
            self.log.info(&line);
            return self.logged(n, &["CLUSTER", "SETSLOT", &s, "STABLE"]);
        }
        self.unhandled(owner, migrating_str, importing_str)
    }

    /// Covers the slots no node owns: with the node holding their keys, or a random master.
    /// Returns the number fixed, or -1 on failure.
    pub(super) fn fix_slots_coverage(&mut self, covered: &[bool]) -> i64 {
        if self.unreachable_masters > 0 && !self.opts.fix_with_unreachable_masters {
            let line = format!(
                "*** Fixing slots coverage with {} unreachable masters is dangerous: redis-cli \
                 will assume that slots about masters that are not reachable are not covered, \
                 and will try to reassign them to the reachable nodes. This can cause data loss \
                 and is rarely what you want to do. If you really want to proceed use the \
                 --cluster-fix-with-unreachable-masters option.\n",
                self.unreachable_masters
            );
            self.log.warn(&line);
            return -1;
        }
        self.log.info(">>> Fixing slots coverage...\n");
        let mut holders: SlotNodes = SlotNodes::new();
        for slot in (0..SLOTS).filter(|&s| !covered[s]) {
            let mut with_keys = Vec::new();
            for i in self.masters() {
                if self.nodes[i].replicate.is_some() {
                    continue;
                }
                match self.command(i, &["CLUSTER", "GETKEYSINSLOT", &slot.to_string(), "1"]) {
                    Ok(Frame::Array(keys)) => {
                        if !keys.is_empty() {
                            with_keys.push(i);
                        }
                    }
                    other => {
                        self.check_reply(i, &other);
                        return -1;
                    }
                }
            }
            holders.insert(slot, with_keys);
        }
        let none: Vec<usize> = holders
            .iter()
            .filter(|(_, v)| v.is_empty())
            .map(|(&s, _)| s)
            .collect();
        let single: Vec<usize> = holders
            .iter()
            .filter(|(_, v)| v.len() == 1)
            .map(|(&s, _)| s)
            .collect();
        let multi: Vec<usize> = holders
            .iter()
            .filter(|(_, v)| v.len() > 1)
            .map(|(&s, _)| s)
            .collect();
        let mut fixed = 0i64;
        if !none.is_empty() {
            self.log
                .plain("The following uncovered slots have no keys across the cluster:\n");
            self.log.plain(&format!("{}\n", slot_list(&none)));
            if self.confirm("Fix these slots by covering with a random node?", true) {
                for &slot in &none {
                    let masters = self.masters();
                    if masters.is_empty() {
                        return -1;
                    }
                    // redis-cli reseeds with the current second before each pick: one run
                    // covers every slot with the same random master.
                    let second = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs());
                    let n = masters[fastrand::Rng::with_seed(second).usize(..masters.len())];
                    let line = format!(">>> Covering slot {slot} with {}\n", self.addr(n));
                    self.log.info(&line);
                    if !self.set_slot_owner(n, slot, false) {
                        return -1;
                    }
                    fixed += 1;
                }
            }
        }
        if !single.is_empty() {
            self.log
                .plain("The following uncovered slots have keys in just one node:\n");
            self.log.plain(&format!("{}\n", slot_list(&single)));
            if self.confirm("Fix these slots by covering with those nodes?", true) {
                for &slot in &single {
                    let Some(&n) = holders.get(&slot).and_then(|v| v.first()) else {
                        continue;
                    };
                    let line = format!(">>> Covering slot {slot} with {}\n", self.addr(n));
                    self.log.info(&line);
                    if !self.set_slot_owner(n, slot, false) {
                        return -1;
                    }
                    fixed += 1;
                }
            }
        }
        if !multi.is_empty() {
            self.log
                .plain("The following uncovered slots have keys in multiple nodes:\n");
            self.log.plain(&format!("{}\n", slot_list(&multi)));
            if self.confirm("Fix these slots by moving keys into a single node?", true) {
                for &slot in &multi {
                    let nodes = holders.get(&slot).cloned().unwrap_or_default();
                    let Some(target) = self.node_with_most_keys(&nodes, slot) else {
                        return -1;
                    };
                    let line = format!(
                        ">>> Covering slot {slot} moving keys to {}\n",
                        self.addr(target)
                    );
                    self.log.info(&line);
                    if !self.set_slot_owner(target, slot, true) {
                        return -1;
                    }
                    for src in nodes {
                        if src == target {
                            continue;
                        }
                        if !self.set_slot_logged(src, target, slot, "node")
                            || !self.set_slot_logged(src, target, slot, "importing")
                        {
                            return -1;
                        }
                        let cold = MoveOpts {
                            cold: true,
                            verbose: true,
                            ..MoveOpts::default()
                        };
                        if self.move_slot(src, target, slot, cold).is_err() {
                            return -1;
                        }
                        if !self.logged(src, &["CLUSTER", "SETSLOT", &slot.to_string(), "STABLE"]) {
                            return -1;
                        }
                    }
                    fixed += 1;
                }
            }
        }
        fixed
    }

    /// `--cluster-search-multiple-owners` with fix: one owner (most keys), the others
    /// pointed at it and their keys moved there.
    pub(super) fn fix_multiple_owners(&mut self, slot: usize, owners: &[usize]) -> bool {
        self.log
            .info(&format!(">>> Fixing multiple owners for slot {slot}...\n"));
        let Some(owner) = self
            .node_with_most_keys(owners, slot)
            .or_else(|| owners.first().copied())
        else {
            return false;
        };
        let line = format!(">>> Setting slot {slot} owner: {}\n", self.addr(owner));
        self.log.info(&line);
        if !self.set_slot_owner(owner, slot, false) {
            return false;
        }
        for n in self.masters() {
            if n == owner {
                continue;
            }
            let count = self.count_keys_in_slot(n, slot);
            if count < 0 {
                return false;
            }
            self.del_slot(n, slot, true);
            if !self.set_slot_logged(n, owner, slot, "node") {
                return false;
            }
            if count > 0 {
                let cold = MoveOpts {
                    cold: true,
                    verbose: true,
                    ..MoveOpts::default()
                };
                if self.move_slot(n, owner, slot, cold).is_err() {
                    return false;
                }
            }
        }
        true
    }
}

/// redis-cli's list of uncovered slots: ranges in brackets, comma separated.
fn slot_list(slots: &[usize]) -> String {
    let mut map = vec![false; SLOTS];
    for &s in slots {
        if let Some(x) = map.get_mut(s) {
            *x = true;
        }
    }
    super::node::ranges(&map)
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
