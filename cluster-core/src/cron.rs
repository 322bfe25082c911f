//! cluster-bus.md §10 — `clusterCron`, the 100 ms timer: reconnects, handshake
//! timeouts, keep-alive and random PINGs, dead links, PFAIL, then the replica's
//! failover and migration steps and the state re-evaluation.

use cluster_bus::{NodeFlags, NodeName};

use crate::cluster::Cluster;
use crate::proto::PingKind;
use crate::types::{Effect, LinkId, LogLevel, Millis};

impl Cluster {
    pub(crate) fn cron(&mut self, now: Millis, out: &mut Vec<Effect>) {
        self.cron_iteration += 1;
        let timeout = self.cfg.node_timeout;
        let handshake_timeout = timeout.max(1000);
        self.blacklist.retain(|_, exp| *exp > now);

        // Step 2: reconnects, handshake timeouts, PFAIL count.
        // By table position, not by name: nothing here adds a record, and a deleted one
        // moves the next record into its position.
        self.pfail_count = 0;
        let mut i = 0;
        while let Some(n) = self.nodes.at(i) {
            let name = n.name;
            if n.is_myself() || n.no_addr() {
                i += 1;
                continue;
            }
            if n.timed_out() {
                self.pfail_count += 1;
            }
            if n.in_handshake() && now.saturating_sub(n.ctime) > handshake_timeout {
                self.del_node(&name, out);
                // Revisit position i only if the deletion moved another record into it:
                // should the record survive, retrying it would spin forever.
                if self.nodes.at(i).is_some_and(|m| m.name == name) {
                    i += 1;
                }
                continue;
            }
            if n.link.is_none() {
                self.connect(now, name, out);
            }
            i += 1;
        }

        // Step 3: every 10th call, PING the oldest-pong node among 5 random ones.
        if self.cron_iteration % 10 == 0 {
            let count = self.nodes.len();
            let mut best: Option<(LinkId, Millis)> = None;
            for _ in 0..5 {
                let Some(n) = self.nodes.at(self.rng.usize(..count.max(1))) else {
                    break;
                };
                let Some(link) = n.link else {
                    continue;
                };
                if n.ping_sent != 0 || n.is_myself() || n.in_handshake() {
                    continue;
                }
                if best.is_none_or(|(_, p)| n.pong_received < p) {
                    best = Some((link, n.pong_received));
                }
            }
            if let Some((link, _)) = best {
                self.send_ping(now, link, PingKind::Ping, out);
            }
        }

        // Step 4.
        let i_am_replica = self.is_replica();
        let my_master = self.my_master();
        let mut orphaned_masters = 0usize;
        let mut max_replicas = 0usize;
        let mut this_replicas = 0usize;
        let mut update_state = false;
        // By position again: nothing below adds or removes a record.
        for i in 0..self.nodes.len() {
            let Some(n) = self.nodes.at(i) else {
                continue;
            };
            let name = n.name;
            if n.is_myself() || n.no_addr() || n.in_handshake() {
                continue;
            }
            if i_am_replica && n.is_master() && !n.failed() {
                let ok = self.count_non_failing_replicas(&name);
                if ok == 0 && n.has_slots() && n.flags.contains(NodeFlags::MIGRATE_TO) {
                    orphaned_masters += 1;
                }
                max_replicas = max_replicas.max(ok);
                if my_master == Some(name) {
                    this_replicas = ok;
                }
            }
            // Dead link: ping outstanding, nothing heard for node_timeout/2, old link
            // (the link's age last: it is the one condition that needs a lookup).
            if let Some(link) = n.link {
                if n.ping_sent != 0
                    && now.saturating_sub(n.ping_sent) > timeout / 2
                    && now.saturating_sub(n.data_received) > timeout / 2
                    && self
                        .links
                        .get(&link)
                        .is_some_and(|l| now.saturating_sub(l.ctime) > timeout)
                {
                    self.free_link(link, Some(out));
                }
            }
            let Some(n) = self.nodes.at(i) else {
                continue;
            };
            if let Some(link) = n.link {
                if n.ping_sent == 0 && now.saturating_sub(n.pong_received) > timeout / 2 {
                    self.send_ping(now, link, PingKind::Ping, out);
                    continue;
                }
                if self.mf.end != 0 && !i_am_replica && self.mf.replica == Some(name) {
                    self.send_ping(now, link, PingKind::Ping, out);
                    continue;
                }
            }
            let Some(n) = self.nodes.at(i) else {
                continue;
            };
            if n.ping_sent == 0 {
                continue;
            }
            // cluster-bus.md §11.1 — PFAIL: ping outstanding and no data for node_timeout.
            let delay = now
                .saturating_sub(n.ping_sent)
                .min(now.saturating_sub(n.data_received));
            if delay > timeout && n.healthy() {
                Self::log(
                    out,
                    LogLevel::Verbose,
                    format!("*** NODE {} possibly failing", Self::nm(&name)),
                );
                if let Some(n) = self.nodes.at_mut(i) {
                    n.flags |= NodeFlags::PFAIL;
                }
                update_state = true;
            }
        }

        // Step 5.
        self.start_replication_if_needed(out);
        // Steps 6–7.
        self.manual_failover_check_timeout(now, out);
        if self.is_replica() {
            self.handle_manual_failover();
            self.handle_replica_failover(now, out);
            if orphaned_masters > 0
                && max_replicas >= 2
                && this_replicas == max_replicas
                && self.cfg.allow_replica_migration
            {
                self.handle_replica_migration(now, max_replicas, out);
            }
        }
        // Step 8.
        if update_state || self.state == crate::cluster::Health::Fail {
            self.update_state(now);
        }
    }

    /// `clusterCountNonFailingSlaves`.
    pub(crate) fn count_non_failing_replicas(&self, master: &NodeName) -> usize {
        self.nodes.get(master).map_or(0, |m| {
            m.replicas
                .iter()
                .filter(|r| self.nodes.get(r).is_some_and(|r| !r.failed()))
                .count()
        })
    }
}
