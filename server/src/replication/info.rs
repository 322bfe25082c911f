//! INFO `# Replication` and ROLE, field for field as redis-server 7.0.15 prints them.

use std::fmt::Write;

use resp_proto::ReplyWriter;

use super::{LinkState, ReplicaState};
use crate::keyspace::now_ms;
use crate::node::Node;

fn config_text(node: &Node, name: &str) -> String {
    node.config
        .get_text(name)
        .map(|v| String::from_utf8_lossy(&v).into_owned())
        .unwrap_or_default()
}

fn yes(node: &Node, name: &str) -> u8 {
    u8::from(config_text(node, name) == "yes")
}

/// Appends the `# Replication` section.
pub fn render_info(node: &Node, o: &mut String) {
    let st = node.repl.state();
    let now = now_ms();
    o.push_str("# Replication\r\n");
    match &st.master {
        None => o.push_str("role:master\r\n"),
        Some(m) => {
            let connected = m.state == LinkState::Connected;
            let last_io = if connected {
                (now.saturating_sub(m.last_io_ms) / 1000) as i64
            } else {
                -1
            };
            let off = if m.has_master { st.offset as i64 } else { 1 };
            let _ = write!(
                o,
                "role:slave\r\nmaster_host:{}\r\nmaster_port:{}\r\nmaster_link_status:{}\r\nmaster_last_io_seconds_ago:{}\r\nmaster_sync_in_progress:{}\r\nslave_read_repl_offset:{}\r\nslave_repl_offset:{}\r\n",
                m.host,
                m.port,
                if connected { "up" } else { "down" },
                last_io,
                u8::from(m.state == LinkState::Transfer),
                off,
                off
            );
            if m.state == LinkState::Transfer {
                let total = if m.sync_total == 0 {
                    -1
                } else {
                    m.sync_total as i64
                };
                let left = if total < 0 {
                    0
                } else {
                    total - m.sync_read as i64
                };
                let perc = if total > 0 {
                    m.sync_read as f64 * 100.0 / total as f64
                } else {
                    0.0
                };
                let _ = write!(
                    o,
                    "master_sync_total_bytes:{total}\r\nmaster_sync_read_bytes:{}\r\nmaster_sync_left_bytes:{left}\r\nmaster_sync_perc:{perc:.2}\r\nmaster_sync_last_io_seconds_ago:{}\r\n",
                    m.sync_read,
                    now.saturating_sub(m.last_io_ms) / 1000
                );
            }
            if !connected {
                let since = if m.down_since_ms == 0 {
                    -1
                } else {
                    (now.saturating_sub(m.down_since_ms) / 1000) as i64
                };
                let _ = write!(o, "master_link_down_since_seconds:{since}\r\n");
            }
            let _ = write!(
                o,
                "slave_priority:{}\r\nslave_read_only:{}\r\nreplica_announced:{}\r\n",
                config_text(node, "replica-priority"),
                yes(node, "replica-read-only"),
                yes(node, "replica-announced")
            );
        }
    }
    let _ = write!(o, "connected_slaves:{}\r\n", st.replicas.len());
    let min_write: u64 = config_text(node, "min-replicas-to-write")
        .parse()
        .unwrap_or(0);
    let min_lag: u64 = config_text(node, "min-replicas-max-lag")
        .parse()
        .unwrap_or(0);
    if min_write > 0 && min_lag > 0 {
        let good = st
            .replicas
            .iter()
            .filter(|r| {
                r.state == ReplicaState::Online
                    && now.saturating_sub(r.ack_time_ms) / 1000 <= min_lag
            })
            .count();
        let _ = write!(o, "min_slaves_good_slaves:{good}\r\n");
    }
    for (i, r) in st.replicas.iter().enumerate() {
        let _ = write!(
            o,
            "slave{i}:ip={},port={},state={},offset={},lag={}\r\n",
            r.ip,
            r.port,
            r.state.name(),
            r.ack,
            now.saturating_sub(r.ack_time_ms) / 1000
        );
    }
    let (active, size, first, hist) = match &st.backlog {
        Some(b) => (1, b.size() as u64, b.first_offset(), b.histlen()),
        None => (
            0,
            config_text(node, "repl-backlog-size")
                .parse()
                .unwrap_or(1 << 20),
            0,
            0,
        ),
    };
    let _ = write!(
        o,
        "master_failover_state:no-failover\r\nmaster_replid:{}\r\nmaster_replid2:{}\r\nmaster_repl_offset:{}\r\nsecond_repl_offset:{}\r\nrepl_backlog_active:{active}\r\nrepl_backlog_size:{size}\r\nrepl_backlog_first_byte_offset:{first}\r\nrepl_backlog_histlen:{hist}\r\n",
        node.replid.lock(),
        st.replid2,
        st.offset,
        st.second_offset
    );
}

/// The ROLE reply.
pub fn role_reply(node: &Node, out: &mut ReplyWriter<'_>) {
    let st = node.repl.state();
    match &st.master {
        None => {
            out.array_len(3);
            out.bulk(b"master");
            out.integer(st.offset as i64);
            let online: Vec<_> = st
                .replicas
                .iter()
                .filter(|r| r.state == ReplicaState::Online)
                .collect();
            out.array_len(online.len());
            for r in online {
                out.array_len(3);
                out.bulk(r.ip.as_bytes());
                out.bulk(r.port.to_string().as_bytes());
                out.bulk(r.ack.to_string().as_bytes());
            }
        }
        Some(m) => {
            out.array_len(5);
            out.bulk(b"slave");
            out.bulk(m.host.as_bytes());
            out.integer(i64::from(m.port));
            out.bulk(m.state.role_name().as_bytes());
            out.integer(if m.has_master && m.state == LinkState::Connected {
                st.offset as i64
            } else {
                -1
            });
        }
    }
}
