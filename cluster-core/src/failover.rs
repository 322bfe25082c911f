//! Replica elections and voting (cluster-bus.md §14), manual failover (§15.1–§15.3)
//! and replica migration (§15.4).

use cluster_bus::{Body, Header, Message, MsgFlags, NodeFlags, NodeName};

use crate::cluster::{Cluster, MF_PAUSE_MULT, MF_TIMEOUT, SLAVE_MIGRATION_DELAY};
use crate::proto::PingKind;
use crate::types::{Effect, LinkId, LogLevel, Millis};

impl Cluster {
    /// §14.3 — `clusterGetSlaveRank`: other replicas of my master (not NOFAILOVER)
    /// with a greater offset than mine.
    fn replica_rank(&self) -> u64 {
        let Some(m) = self.my_master().and_then(|m| self.nodes.get(&m)) else {
            return 0;
        };
        let mine = self.repl_offset;
        m.replicas
            .iter()
            .filter(|r| **r != self.myself)
            .filter_map(|r| self.nodes.get(r))
            .filter(|r| !r.flags.contains(NodeFlags::NOFAILOVER) && r.repl_offset > mine)
            .count() as u64
    }

    /// §14.2 — how old our copy of the master's data is, in ms: since the last
    /// interaction with the master while the link is up, else since the link went down
    /// (a link never up counts from the epoch). Redis computes it from whole-second
    /// clocks (`server.unixtime`), so the value is a multiple of 1000.
    pub(crate) fn replica_data_age(&self, now: Millis) -> Millis {
        let since = if self.repl_link_up {
            self.repl_last_io.unwrap_or(0)
        } else {
            self.repl_down_since
        };
        (now / 1000)
            .saturating_sub(since / 1000)
            .saturating_mul(1000)
    }

    /// cluster-bus.md §14 — `clusterHandleSlaveFailover`: schedule, request, win.
    pub(crate) fn handle_replica_failover(&mut self, now: Millis, out: &mut Vec<Effect>) {
        let needed_quorum = self.size / 2 + 1;
        let manual = self.mf.end != 0 && self.mf.can_start;
        let timeout = self.cfg.node_timeout;
        let auth_timeout = timeout.saturating_mul(2).max(2000);
        let auth_retry = auth_timeout.saturating_mul(2);
        let me = self.me();
        if me.is_master() {
            return;
        }
        let Some(master) = me.master.and_then(|m| self.nodes.get(&m)) else {
            return;
        };
        if (!manual && (!master.failed() || self.cfg.replica_no_failover)) || !master.has_slots() {
            return;
        }
        let mut data_age = self.replica_data_age(now);
        if data_age > timeout {
            data_age -= timeout;
        }
        let factor = self.cfg.replica_validity_factor;
        if factor != 0
            && data_age
                > self
                    .cfg
                    .repl_ping_replica_period
                    .saturating_mul(1000)
                    .saturating_add(timeout.saturating_mul(factor))
            && !manual
        {
            return;
        }
        if now.saturating_sub(self.election.auth_time) > auth_retry {
            let rank = self.replica_rank();
            let e = &mut self.election;
            e.auth_time = now + 500 + self.rng.u64(0..500) + rank * 1000;
            e.auth_count = 0;
            e.voters.clear();
            e.auth_sent = false;
            e.auth_rank = rank;
            if manual {
                e.auth_time = now;
                e.auth_rank = 0;
                self.todo.handle_failover = true;
            }
            let delay = self.election.auth_time.saturating_sub(now);
            Self::log(
                out,
                LogLevel::Warning,
                format!(
                    "Start of election delayed for {delay} milliseconds (rank #{}, offset {}).",
                    self.election.auth_rank, self.repl_offset
                ),
            );
            self.broadcast_pong(now, true, out);
            return;
        }
        if !self.election.auth_sent && !manual {
            let rank = self.replica_rank();
            if rank > self.election.auth_rank {
                let added = (rank - self.election.auth_rank) * 1000;
                self.election.auth_time += added;
                self.election.auth_rank = rank;
                Self::log(
                    out,
                    LogLevel::Warning,
                    format!(
                        "Replica rank updated to #{rank}, added {added} milliseconds of delay."
                    ),
                );
            }
        }
        if now < self.election.auth_time {
            return;
        }
        if now - self.election.auth_time > auth_timeout {
            return;
        }
        if !self.election.auth_sent {
            self.current_epoch += 1;
            self.election.auth_epoch = self.current_epoch;
            Self::log(
                out,
                LogLevel::Warning,
                format!(
                    "Starting a failover election for epoch {}.",
                    self.current_epoch
                ),
            );
            self.request_failover_auth(out);
            self.election.auth_sent = true;
            self.save(true);
            return;
        }
        if self.election.auth_count >= needed_quorum {
            Self::log(out, LogLevel::Warning, "Failover election won.".into());
            if self.me().config_epoch < self.election.auth_epoch {
                let e = self.election.auth_epoch;
                self.me_mut().config_epoch = e;
                Self::log(
                    out,
                    LogLevel::Warning,
                    format!("configEpoch set to {e} after successful failover"),
                );
            }
            self.failover_replace_your_master(now, out);
        }
    }

    /// §14.3 — `clusterRequestFailoverAuth`: broadcast, FORCEACK during a manual failover.
    fn request_failover_auth(&mut self, out: &mut Vec<Effect>) {
        let mut h = self.header();
        if self.mf.end != 0 {
            h.mflags |= MsgFlags::FORCEACK;
        }
        let msg = Message::new(h, Body::FailoverAuthRequest);
        self.broadcast(&msg, out);
    }

    /// §14.5: count an ACK from a master with slots for the current election.
    pub(crate) fn count_failover_ack(&mut self, sender: NodeName, hdr: &Header) {
        let counts = self
            .nodes
            .get(&sender)
            .is_some_and(|n| n.is_master() && n.has_slots());
        if counts
            && hdr.current_epoch >= self.election.auth_epoch
            && !self.election.voters.contains(&sender)
        {
            self.election.voters.push(sender);
            self.election.auth_count += 1;
            self.todo.handle_failover = true;
        }
    }

    /// cluster-bus.md §14.4 — `clusterSendFailoverAuthIfNeeded`: at most one vote per
    /// epoch, persisted before the ACK leaves.
    pub(crate) fn send_failover_auth_if_needed(
        &mut self,
        now: Millis,
        requester: NodeName,
        hdr: &Header,
        out: &mut Vec<Effect>,
    ) {
        let me = self.me();
        if me.is_replica() || !me.has_slots() {
            return;
        }
        let who = Self::nm(&requester);
        let deny = |out: &mut Vec<Effect>, why: String| {
            Self::log(
                out,
                LogLevel::Warning,
                format!("Failover auth denied to {who}: {why}"),
            );
        };
        if hdr.current_epoch < self.current_epoch {
            deny(
                out,
                format!(
                    "reqEpoch ({}) < curEpoch({})",
                    hdr.current_epoch, self.current_epoch
                ),
            );
            return;
        }
        if self.last_vote_epoch == self.current_epoch {
            deny(
                out,
                format!("already voted for epoch {}", self.current_epoch),
            );
            return;
        }
        let force = hdr.mflags.contains(MsgFlags::FORCEACK);
        let Some(node) = self.nodes.get(&requester) else {
            return;
        };
        let master = node.master.and_then(|m| self.nodes.get(&m));
        let Some(master) = master.filter(|_| node.is_replica()) else {
            deny(
                out,
                if node.is_master() {
                    "it is a master node".into()
                } else {
                    "I don't know its master".into()
                },
            );
            return;
        };
        if !master.failed() && !force {
            deny(out, "its master is up".into());
            return;
        }
        let mname = master.name;
        let spacing = self.cfg.node_timeout.saturating_mul(2);
        if now.saturating_sub(master.voted_time) < spacing {
            deny(
                out,
                format!(
                    "can't vote about this master before {} milliseconds",
                    spacing - now.saturating_sub(master.voted_time)
                ),
            );
            return;
        }
        for s in hdr.myslots.iter() {
            if self.not_claiming.contains(s) {
                continue;
            }
            let Some(owner) = self.slot_owner(s).and_then(|o| self.nodes.get(&o)) else {
                continue;
            };
            if owner.config_epoch <= hdr.config_epoch {
                continue;
            }
            deny(
                out,
                format!(
                    "slot {s} epoch ({}) > reqEpoch ({})",
                    owner.config_epoch, hdr.config_epoch
                ),
            );
            return;
        }
        self.last_vote_epoch = self.current_epoch;
        if let Some(m) = self.nodes.get_mut(&mname) {
            m.voted_time = now;
        }
        // Persist the vote before the ACK can leave (§14.4, §18).
        self.save_now(true, out);
        let ack = Message::new(self.header(), Body::FailoverAuthAck);
        self.send_to_node(&requester, ack, out);
        Self::log(
            out,
            LogLevel::Warning,
            format!(
                "Failover auth granted to {who} for epoch {}",
                self.current_epoch
            ),
        );
    }

    /// cluster-bus.md §14.3 — `clusterFailoverReplaceYourMaster`.
    pub(crate) fn failover_replace_your_master(&mut self, now: Millis, out: &mut Vec<Effect>) {
        let Some(old) = self.my_master().filter(|_| self.is_replica()) else {
            return;
        };
        let me = self.myself;
        self.set_node_as_master(&me);
        out.push(Effect::Replicate(None));
        let slots: Vec<u16> = self
            .nodes
            .get(&old)
            .map(|n| n.slots.iter().collect())
            .unwrap_or_default();
        for s in slots {
            self.set_slot_owner(s, Some(me));
        }
        self.update_state(now);
        self.save(true);
        self.broadcast_pong(now, false, out);
        self.reset_manual_failover(out);
    }

    /// §15.1 — `resetManualFailover`; a paused master resumes writes.
    pub(crate) fn reset_manual_failover(&mut self, out: &mut Vec<Effect>) {
        if self.mf.end != 0 && self.mf.replica.is_some() {
            out.push(Effect::ResumeWrites);
        }
        self.mf = Default::default();
    }

    /// §15.1 — `manualFailoverCheckTimeout`.
    pub(crate) fn manual_failover_check_timeout(&mut self, now: Millis, out: &mut Vec<Effect>) {
        if self.mf.end != 0 && self.mf.end < now {
            Self::log(out, LogLevel::Warning, "Manual failover timed out.".into());
            self.reset_manual_failover(out);
        }
    }

    /// §15.1 — `clusterHandleManualFailover`: start once we processed the master's
    /// final offset.
    pub(crate) fn handle_manual_failover(&mut self) {
        if self.mf.end == 0 || self.mf.can_start {
            return;
        }
        if self.mf.master_offset == Some(self.repl_offset) {
            self.mf.can_start = true;
            self.todo.handle_failover = true;
        }
    }

    /// §15.1, master side: MFSTART from one of my replicas.
    pub(crate) fn process_mfstart(
        &mut self,
        now: Millis,
        link: LinkId,
        sender: NodeName,
        out: &mut Vec<Effect>,
    ) {
        let is_my_replica = self
            .nodes
            .get(&sender)
            .is_some_and(|n| n.master == Some(self.myself));
        if !is_my_replica {
            return;
        }
        self.reset_manual_failover(out);
        self.mf.end = now + MF_TIMEOUT;
        self.mf.replica = Some(sender);
        out.push(Effect::PauseWrites {
            until: now + MF_TIMEOUT * MF_PAUSE_MULT,
        });
        Self::log(
            out,
            LogLevel::Warning,
            format!(
                "Manual failover requested by replica {}.",
                Self::nm(&sender)
            ),
        );
        self.send_ping(now, link, PingKind::Ping, out);
    }

    /// cluster-bus.md §15.4 — `clusterHandleSlaveMigration`.
    pub(crate) fn handle_replica_migration(
        &mut self,
        now: Millis,
        max_replicas: usize,
        out: &mut Vec<Effect>,
    ) {
        if self.state != crate::cluster::Health::Ok {
            return;
        }
        let Some(my_master) = self.my_master() else {
            return;
        };
        if self.count_non_failing_replicas(&my_master) <= self.cfg.migration_barrier as usize {
            return;
        }
        let mut candidate = self.myself;
        let mut target: Option<NodeName> = None;
        for name in self.nodes.names() {
            let Some(n) = self.nodes.get(&name) else {
                continue;
            };
            let mut orphaned =
                !(n.is_replica() || n.failed()) && n.flags.contains(NodeFlags::MIGRATE_TO);
            let ok = if n.is_master() {
                self.count_non_failing_replicas(&name)
            } else {
                0
            };
            if ok > 0 {
                orphaned = false;
            }
            let has_slots = n.has_slots();
            if ok == max_replicas {
                for r in &n.replicas {
                    if r.as_bytes() < candidate.as_bytes() {
                        candidate = *r;
                    }
                }
            }
            let Some(n) = self.nodes.get_mut(&name) else {
                continue;
            };
            if orphaned {
                if target.is_none() && has_slots {
                    target = Some(name);
                }
                if n.orphaned_time == 0 {
                    n.orphaned_time = now;
                }
            } else {
                n.orphaned_time = 0;
            }
        }
        let Some(t) = target else { return };
        let since = self.nodes.get(&t).map_or(now, |n| n.orphaned_time);
        if candidate == self.myself && now.saturating_sub(since) > SLAVE_MIGRATION_DELAY {
            Self::log(
                out,
                LogLevel::Warning,
                format!("Migrating to orphaned master {}", Self::nm(&t)),
            );
            self.set_my_master(now, t, out);
        }
    }
}
