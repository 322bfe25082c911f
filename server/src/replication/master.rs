//! Master side: REPLCONF, PSYNC/SYNC (full resync or continuation), the replica pings,
//! acknowledgements and WAIT.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;

use super::{
    append, random_id, Announce, Backlog, ReplicaConn, ReplicaState, Replication, State, NULL_ID,
};
use crate::commands::CmdError;
use crate::keyspace::now_ms;
use crate::net::ClientHandle;
use crate::node::Node;
use crate::rdb::snapshot::ReplAux;

/// What PSYNC answers.
pub enum Psync {
    /// `+CONTINUE <replid>` then these backlog bytes.
    Continue,
    /// `+FULLRESYNC` comes once the snapshot starts.
    Full,
}

/// Waits (up to ~100 ms per round) until `done` says so, without holding a tokio worker
/// hostage: the worker's other tasks move elsewhere while this client waits.
pub fn block_briefly(mut done: impl FnMut() -> bool) {
    let mut wait = || {
        while !done() {
            std::thread::sleep(Duration::from_millis(2));
        }
    };
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(wait)
        }
        _ => wait(),
    }
}

fn ensure_backlog(node: &Node, st: &mut State) {
    let size = backlog_size(node);
    match st.backlog.as_mut() {
        Some(b) => b.resize(size),
        None => {
            // A backlog made from scratch has no past history: new id, no second id.
            *node.replid.lock() = random_id();
            st.replid2 = NULL_ID.to_owned();
            st.second_offset = -1;
            st.backlog = Some(Backlog::new(size, st.offset));
        }
    }
}

fn backlog_size(node: &Node) -> usize {
    node.config
        .get_text("repl-backlog-size")
        .and_then(|v| String::from_utf8(v).ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1 << 20)
}

fn config_int(node: &Node, name: &str, default: u64) -> u64 {
    node.config
        .get_text(name)
        .and_then(|v| String::from_utf8(v).ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(default)
}

fn config_yes(node: &Node, name: &str) -> bool {
    node.config.get_text(name).is_some_and(|v| v == b"yes")
}

impl Replication {
    /// REPLCONF from a client: `listening-port`, `ip-address`, `capa`, `ack`, `getack`.
    /// Returns Ok(true) when a `+OK` reply is due.
    pub fn replconf(&self, client: &ClientHandle, args: &[Bytes]) -> Result<bool, CmdError> {
        if args.len() % 2 == 0 {
            return Err(CmdError::SYNTAX);
        }
        let mut st = self.state.lock();
        let mut i = 1;
        while let (Some(opt), Some(val)) = (args.get(i), args.get(i + 1)) {
            let opt = opt.to_ascii_lowercase();
            match opt.as_slice() {
                b"listening-port" => {
                    // Redis keeps any integer here (it is only shown back).
                    let port = crate::commands::parse_i64(val)?;
                    st.announces.entry(client.id).or_default().port = port;
                }
                b"ip-address" => {
                    st.announces.entry(client.id).or_default().ip =
                        Some(String::from_utf8_lossy(val).into_owned());
                }
                b"capa" => {
                    if val.eq_ignore_ascii_case(b"eof") {
                        st.announces.entry(client.id).or_default().capa_eof = true;
                    }
                }
                b"ack" => {
                    // Sent by a replica on the replication link: never answered.
                    let off = crate::commands::parse_i64(val)
                        .ok()
                        .and_then(|v| u64::try_from(v).ok());
                    if let (Some(off), Some(r)) =
                        (off, st.replicas.iter_mut().find(|r| r.id == client.id))
                    {
                        if r.await_ack {
                            r.await_ack = false;
                            r.handle.push(&std::mem::take(&mut r.buffered));
                        }
                        if off > r.ack {
                            r.ack = off;
                        }
                        r.ack_time_ms = now_ms();
                        drop(st);
                        self.acked.notify_all();
                    }
                    return Ok(false);
                }
                b"getack" => {
                    if super::stream::is_master_client() {
                        super::stream::request_ack();
                    }
                    return Ok(false);
                }
                b"rdb-only" | b"rdb-filter-only" => {}
                _ => {
                    return Err(CmdError::msg(format!(
                        "ERR Unrecognized REPLCONF option: {}",
                        String::from_utf8_lossy(&opt)
                    )))
                }
            }
            i += 2;
        }
        Ok(true)
    }

    /// PSYNC `replid offset` (or SYNC: `psync` false). Registers the client as a replica.
    /// On a continuation the `+CONTINUE` line and the missing stream are queued on the
    /// client; a full resync is started in the background.
    pub fn psync(
        &self,
        node: &Node,
        client: &Arc<ClientHandle>,
        replid: &[u8],
        offset: Option<u64>,
        psync: bool,
    ) -> Result<Psync, CmdError> {
        let mut st = self.state.lock();
        if let Some(m) = &st.master {
            if m.state != super::LinkState::Connected {
                return Err(CmdError::msg(
                    "NOMASTERLINK Can't SYNC while not connected with my master",
                ));
            }
        }
        if st.replicas.iter().any(|r| r.id == client.id) {
            return Ok(Psync::Full);
        }
        let ann = st.announces.remove(&client.id).unwrap_or_default();
        let ip = ann
            .ip
            .clone()
            .unwrap_or_else(|| client.addr.ip().to_string());
        let myid = node.replid.lock().clone();
        if psync {
            if let Some(off) = offset {
                let id_ok = replid == myid.as_bytes()
                    || (replid == st.replid2.as_bytes()
                        && i64::try_from(off).is_ok_and(|o| o <= st.second_offset));
                let data = if id_ok {
                    st.backlog.as_ref().and_then(|b| b.since(off))
                } else {
                    None
                };
                if let Some(data) = data {
                    let mut line = format!("+CONTINUE {myid}\r\n").into_bytes();
                    line.extend_from_slice(&data);
                    client.push(&line);
                    st.replicas.push(ReplicaConn {
                        id: client.id,
                        handle: client.clone(),
                        ip,
                        port: ann.port,
                        state: ReplicaState::Online,
                        ack: off.saturating_sub(1),
                        ack_time_ms: now_ms(),
                        buffered: Vec::new(),
                        await_ack: false,
                    });
                    tracing::info!(
                        "Partial resynchronization request from {} accepted. Sending {} bytes of backlog starting from offset {}.",
                        client.addr,
                        data.len(),
                        off
                    );
                    st.stats.partial_ok += 1;
                    drop(st);
                    self.start_cron(node);
                    return Ok(Psync::Continue);
                }
            }
            // As 7.0: a refused continuation counts unless the replica asked with `?`.
            if replid.first() != Some(&b'?') {
                st.stats.partial_err += 1;
            }
        }
        st.stats.full += 1;
        tracing::info!("Replica {} asks for synchronization", client.addr);
        st.replicas.push(ReplicaConn {
            id: client.id,
            handle: client.clone(),
            ip,
            port: ann.port,
            state: ReplicaState::WaitBgsave,
            ack: 0,
            ack_time_ms: now_ms(),
            buffered: Vec::new(),
            await_ack: false,
        });
        drop(st);
        self.start_cron(node);
        let Some(arc) = self.node.lock().upgrade() else {
            return Err(CmdError::msg("ERR server is shutting down"));
        };
        let eof = ann.capa_eof && config_yes(node, "repl-diskless-sync") && psync;
        let delay = if eof {
            config_int(node, "repl-diskless-sync-delay", 5)
        } else {
            0
        };
        let client = client.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(delay)).await;
            let n = arc.clone();
            let id = client.id;
            let done =
                tokio::task::spawn_blocking(move || full_sync(&n, &client, psync, eof)).await;
            if !matches!(done, Ok(Ok(()))) {
                let why = match done {
                    Ok(Err(e)) => e,
                    _ => "snapshot task failed".to_owned(),
                };
                tracing::warn!("Full resynchronization of replica id={id} failed: {why}");
                let mut st = arc.repl.state.lock();
                if let Some(r) = st.replicas.iter().find(|r| r.id == id) {
                    r.handle.kill();
                }
                st.replicas.retain(|r| r.id != id);
            }
        });
        Ok(Psync::Full)
    }

    /// Starts the once-a-second replication cron (PINGs, timeouts) if not running.
    fn start_cron(&self, node: &Node) {
        if self.cron_started.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak = self.node.lock().clone();
        let _ = node;
        tokio::spawn(cron(weak));
    }

    /// WAIT: blocks until `want` replicas acknowledged the current offset or `timeout_ms`
    /// passes (0 = no limit); returns how many did.
    pub fn wait_acks(&self, client: &ClientHandle, want: u64, timeout_ms: u64) -> usize {
        let target = {
            let mut st = self.state.lock();
            let target = st.offset;
            let reached = count_acked(&st, target);
            if reached as u64 >= want || st.replicas.is_empty() && want == 0 {
                return reached;
            }
            // With neither a backlog nor a replica redis-server 7.0.15 sends nothing, and its
            // offset stays (ROLE after WAIT 1 10 on a fresh master shows 0).
            if st.backlog.is_some() || !st.replicas.is_empty() {
                let getack = [
                    Bytes::from_static(b"REPLCONF"),
                    Bytes::from_static(b"GETACK"),
                    Bytes::from_static(b"*"),
                ];
                let mut bytes = Vec::new();
                resp_proto::encode_command(&mut bytes, &getack);
                append(&mut st, &bytes);
            }
            target
        };
        let deadline =
            (timeout_ms > 0).then(|| std::time::Instant::now() + Duration::from_millis(timeout_ms));
        let mut reached = 0;
        block_briefly(|| {
            let mut st = self.state.lock();
            reached = count_acked(&st, target);
            if reached as u64 >= want || client.is_killed() {
                return true;
            }
            let left = match deadline {
                Some(d) => match d.checked_duration_since(std::time::Instant::now()) {
                    Some(l) => l,
                    None => return true,
                },
                None => Duration::from_millis(100),
            };
            self.acked
                .wait_for(&mut st, left.min(Duration::from_millis(100)));
            reached = count_acked(&st, target);
            reached as u64 >= want
        });
        reached
    }
}

fn count_acked(st: &State, target: u64) -> usize {
    st.replicas
        .iter()
        .filter(|r| r.state == ReplicaState::Online && r.ack >= target)
        .count()
}

/// Produces the RDB for one replica and queues it, then the stream produced meanwhile.
fn full_sync(
    node: &Arc<Node>,
    client: &Arc<ClientHandle>,
    psync: bool,
    eof: bool,
) -> Result<(), String> {
    let id = client.id;
    let on_start = {
        let node = node.clone();
        let client = client.clone();
        move || {
            let mut st = node.repl.state.lock();
            ensure_backlog(&node, &mut st);
            // The RDB has no notion of the selected database: the stream restarts with one.
            st.seldb = None;
            let offset = st.offset;
            let replid = node.replid.lock().clone();
            let aux = ReplAux {
                repl_id: replid.clone(),
                repl_offset: i64::try_from(offset).unwrap_or(i64::MAX),
                repl_stream_db: 0,
            };
            let Some(r) = st.replicas.iter_mut().find(|r| r.id == client.id) else {
                return Some(aux);
            };
            r.state = ReplicaState::SendBulk;
            r.ack_time_ms = now_ms();
            if psync {
                client.push(format!("+FULLRESYNC {replid} {offset}\r\n").as_bytes());
            }
            node.repl.set_active(&st);
            tracing::info!(
                "Starting BGSAVE for SYNC with target: {}",
                if eof { "replicas sockets" } else { "disk" }
            );
            Some(aux)
        }
    };
    let rdb = super::snapshot::produce(node, Box::new(on_start))?;
    let mut head = Vec::with_capacity(rdb.len() + 100);
    if eof {
        let mark = random_id();
        head.extend_from_slice(format!("$EOF:{mark}\r\n").as_bytes());
        head.extend_from_slice(&rdb);
        head.extend_from_slice(mark.as_bytes());
    } else {
        head.extend_from_slice(format!("${}\r\n", rdb.len()).as_bytes());
        head.extend_from_slice(&rdb);
    }
    drop(rdb);
    // Queued a chunk at a time, each once the connection has written the previous one: the
    // connection's output limits count what is queued and not yet written. The stream
    // produced meanwhile is buffered (the replica is still in SendBulk). The last chunk is
    // queued with the state change, so the replica's first ACK finds it online.
    let mut chunks = head.chunks(SYNC_CHUNK).peekable();
    let mut last: &[u8] = &[];
    while let Some(chunk) = chunks.next() {
        if chunks.peek().is_none() {
            last = chunk;
            break;
        }
        if client.is_killed() {
            return Err("replica connection closed during the transfer".to_owned());
        }
        client.push(chunk);
        std::thread::sleep(std::time::Duration::from_millis(1));
        while client.omem.load(Ordering::Relaxed) > 0 && !client.is_killed() {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
    let mut st = node.repl.state.lock();
    let Some(r) = st.replicas.iter_mut().find(|r| r.id == id) else {
        return Ok(());
    };
    r.handle.push(last);
    if !eof {
        r.handle.push(&std::mem::take(&mut r.buffered));
    }
    r.await_ack = eof;
    r.state = ReplicaState::Online;
    r.ack_time_ms = now_ms();
    tracing::info!("Synchronization with replica {} succeeded", r.handle.addr);
    Ok(())
}

/// RDB bytes queued on a replica's connection at a time during a full resync.
const SYNC_CHUNK: usize = 1 << 20;

/// Once a second: PING the replicas every `repl-ping-replica-period`, drop replicas silent
/// for `repl-timeout`, and keep the backlog size in step with the configuration.
async fn cron(node: Weak<Node>) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let Some(node) = node.upgrade() else {
            return;
        };
        let period = config_int(&node, "repl-ping-replica-period", 10).max(1) * 1000;
        let timeout = config_int(&node, "repl-timeout", 60).max(1) * 1000;
        let now = now_ms();
        let mut st = node.repl.state.lock();
        if let Some(b) = st.backlog.as_mut() {
            b.resize(backlog_size(&node));
        }
        if st.master.is_none()
            && !st.replicas.is_empty()
            && now.saturating_sub(st.last_ping_ms) >= period
        {
            st.last_ping_ms = now;
            drop(st);
            // Like Redis, the first entry of a stream is a SELECT, even before a PING.
            let db = node.repl.state.lock().seldb.unwrap_or(0);
            node.repl
                .feed(&[(Some(db), vec![Bytes::from_static(b"PING")])]);
            st = node.repl.state.lock();
        }
        for r in &st.replicas {
            if r.state == ReplicaState::Online && now.saturating_sub(r.ack_time_ms) > timeout {
                tracing::warn!(
                    "Disconnecting timedout replica (streaming sync): {}",
                    r.handle.addr
                );
                r.handle.kill();
            }
        }
    }
}

/// REPLCONF's announcement of a client (tests and INFO).
pub fn announce_of(repl: &Replication, id: u64) -> Option<Announce> {
    repl.state.lock().announces.get(&id).cloned()
}
