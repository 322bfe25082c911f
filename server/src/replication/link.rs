//! Replica side: the link to our master. One task per REPLICAOF: connect, handshake,
//! full or partial sync, then apply the stream; on loss, reconnect once a second and try
//! to continue (PSYNC with our replid and offset).

use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use resp_proto::{CommandDecoder, Limits, ReplyWriter};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::{random_id, Backlog, LinkState, MasterLink, Replication, NULL_ID};
use crate::commands::{self, Session};
use crate::keyspace::now_ms;
use crate::net::ClientHandle;
use crate::node::Node;

/// Longest handshake reply line accepted.
const MAX_LINE: usize = 64 * 1024;

/// Why a link ended.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// Socket error.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The master said something unexpected.
    #[error("{0}")]
    Protocol(String),
    /// No byte from the master for `repl-timeout`.
    #[error("timeout")]
    Timeout,
    /// REPLICAOF changed or the node stops.
    #[error("cancelled")]
    Cancelled,
}

impl Replication {
    /// REPLICAOF host port. Returns false when already replicating that master.
    pub fn set_master(&self, node: &Node, host: &str, port: u16) -> bool {
        let mut st = self.state.lock();
        if let Some(m) = &st.master {
            if m.host.eq_ignore_ascii_case(host) && m.port == port {
                return false;
            }
            m.cancel.cancel();
        }
        let cancel = CancellationToken::new();
        st.master = Some(MasterLink {
            host: host.to_owned(),
            port,
            state: LinkState::Connect,
            last_io_ms: 0,
            down_since_ms: 0,
            sync_total: 0,
            sync_read: 0,
            has_master: false,
            cancel: cancel.clone(),
        });
        // Our replicas must resync with us (they may continue with the new history).
        for r in st.replicas.drain(..) {
            r.handle.kill();
        }
        self.set_active(&st);
        node.keyspace.expiry.set_keep(true);
        crate::logging::set_role(b'S');
        drop(st);
        self.acked.notify_all();
        tracing::info!("Connecting to MASTER {host}:{port}");
        if let Some(arc) = self.node.lock().upgrade() {
            let host = host.to_owned();
            tokio::spawn(run(arc, host, port, cancel));
        }
        true
    }

    /// REPLICAOF NO ONE (or a promotion): keep the data, start a new history whose past
    /// (replid2 up to our offset) our former fellow replicas can continue from.
    pub fn unset_master(&self, node: &Node) {
        let mut st = self.state.lock();
        let Some(m) = st.master.take() else {
            return;
        };
        m.cancel.cancel();
        let old = std::mem::replace(&mut *node.replid.lock(), random_id());
        st.replid2 = old.clone();
        st.second_offset = i64::try_from(st.offset + 1).unwrap_or(i64::MAX);
        st.seldb = None;
        for r in st.replicas.drain(..) {
            r.handle.kill();
        }
        self.set_active(&st);
        node.keyspace.expiry.set_keep(false);
        crate::logging::set_role(b'M');
        drop(st);
        tracing::warn!(
            "Setting secondary replication ID to {old}, valid up to offset: {}. New replication ID is {}",
            self.state.lock().second_offset,
            node.replid.lock()
        );
        tracing::info!("MASTER MODE enabled");
    }

    /// Updates the link's figures unless `cancel` (the link task's token) was cancelled:
    /// a replaced link's task must not touch its successor's state.
    fn link_update(&self, cancel: &CancellationToken, f: impl FnOnce(&mut MasterLink)) {
        let mut st = self.state.lock();
        if let Some(m) = st.master.as_mut() {
            if !cancel.is_cancelled() {
                f(m);
            }
        }
    }
}

async fn run(node: Arc<Node>, host: String, port: u16, cancel: CancellationToken) {
    loop {
        let r = tokio::select! {
            _ = cancel.cancelled() => return,
            r = session(&node, &host, port, &cancel) => r,
        };
        if cancel.is_cancelled() {
            return;
        }
        if let Err(e) = r {
            tracing::warn!("Connection with master lost ({e}).");
        }
        {
            let mut st = node.repl.state.lock();
            if let Some(m) = st.master.as_mut() {
                if m.state == LinkState::Connected || m.down_since_ms == 0 {
                    m.down_since_ms = now_ms();
                }
                m.state = LinkState::Connect;
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

fn set_state(node: &Node, cancel: &CancellationToken, s: LinkState) {
    let mut st = node.repl.state.lock();
    if let Some(m) = st.master.as_mut() {
        if !cancel.is_cancelled() {
            m.state = s;
        }
    }
}

struct Conn {
    stream: TcpStream,
    buf: BytesMut,
    timeout: Duration,
}

impl Conn {
    async fn fill(&mut self) -> Result<usize, LinkError> {
        let mut chunk = [0u8; 16 * 1024];
        let n = tokio::time::timeout(self.timeout, self.stream.read(&mut chunk))
            .await
            .map_err(|_| LinkError::Timeout)??;
        if n == 0 {
            return Err(LinkError::Protocol("master closed the connection".into()));
        }
        self.buf
            .extend_from_slice(chunk.get(..n).unwrap_or_default());
        Ok(n)
    }

    /// One `\r\n`-terminated line (without the terminator).
    async fn line(&mut self) -> Result<String, LinkError> {
        loop {
            if let Some(p) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line =
                    String::from_utf8_lossy(self.buf.get(..p).unwrap_or_default()).into_owned();
                self.buf.advance(p + 2);
                return Ok(line);
            }
            if self.buf.len() > MAX_LINE {
                return Err(LinkError::Protocol("reply line too long".into()));
            }
            self.fill().await?;
        }
    }

    async fn command(&mut self, parts: &[&[u8]]) -> Result<String, LinkError> {
        let args: Vec<bytes::Bytes> = parts
            .iter()
            .map(|p| bytes::Bytes::copy_from_slice(p))
            .collect();
        let mut out = Vec::new();
        resp_proto::encode_command(&mut out, &args);
        self.stream.write_all(&out).await?;
        self.line().await
    }
}

async fn session(
    node: &Arc<Node>,
    host: &str,
    port: u16,
    cancel: &CancellationToken,
) -> Result<(), LinkError> {
    let cfg_timeout = node
        .config
        .get_text("repl-timeout")
        .and_then(|v| String::from_utf8(v).ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(60)
        .max(1);
    let timeout = Duration::from_secs(cfg_timeout);
    set_state(node, cancel, LinkState::Connecting);
    tracing::info!("MASTER <-> REPLICA sync started");
    let stream = tokio::time::timeout(timeout, TcpStream::connect((host, port)))
        .await
        .map_err(|_| LinkError::Timeout)??;
    let _ = stream.set_nodelay(true);
    // The master's stream is this replica's busiest input.
    node.accepting.watch(&stream);
    let mut c = Conn {
        stream,
        buf: BytesMut::new(),
        timeout,
    };
    set_state(node, cancel, LinkState::Handshake);
    let pong = c.command(&[b"PING"]).await?;
    if pong.starts_with('-')
        && !pong.starts_with("-NOAUTH")
        && !pong.starts_with("-NOPERM")
        && !pong.starts_with("-ERR operation not permitted")
    {
        return Err(LinkError::Protocol(format!(
            "Error reply to PING from master: '{pong}'"
        )));
    }
    tracing::info!("Master replied to PING, replication can continue...");
    if let Some(pass) = node.config.get_text("masterauth").filter(|p| !p.is_empty()) {
        let user = node.config.get_text("masteruser").filter(|u| !u.is_empty());
        let reply = match &user {
            Some(u) => c.command(&[b"AUTH", u, &pass]).await?,
            None => c.command(&[b"AUTH", &pass]).await?,
        };
        if reply.starts_with('-') {
            return Err(LinkError::Protocol(format!(
                "Unable to AUTH to MASTER: {reply}"
            )));
        }
    }
    let my_port = node
        .config
        .get_text("replica-announce-port")
        .filter(|p| p.as_slice() != b"0")
        .unwrap_or_else(|| node.config.current().port.to_string().into_bytes());
    let r = c
        .command(&[b"REPLCONF", b"listening-port", &my_port])
        .await?;
    if r.starts_with('-') {
        tracing::info!("(Non critical) Master does not understand REPLCONF listening-port: {r}");
    }
    if let Some(ip) = node
        .config
        .get_text("replica-announce-ip")
        .filter(|i| !i.is_empty())
    {
        let _ = c.command(&[b"REPLCONF", b"ip-address", &ip]).await?;
    }
    let r = c
        .command(&[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"])
        .await?;
    if r.starts_with('-') {
        tracing::info!("(Non critical) Master does not understand REPLCONF capa: {r}");
    }
    // Continue our own history if we have one (a cached master or our former self).
    let (psync_id, psync_off) = {
        let st = node.repl.state.lock();
        if st.backlog.is_some() {
            (node.replid.lock().clone(), (st.offset + 1).to_string())
        } else {
            ("?".to_owned(), "-1".to_owned())
        }
    };
    let reply = c
        .command(&[b"PSYNC", psync_id.as_bytes(), psync_off.as_bytes()])
        .await?;
    // The master may send newlines while it prepares the RDB.
    let reply = reply.trim_start_matches('\n').to_owned();
    if let Some(rest) = reply.strip_prefix("+FULLRESYNC ") {
        let mut it = rest.split(' ');
        let (Some(id), Some(off)) = (it.next(), it.next().and_then(|o| o.parse::<u64>().ok()))
        else {
            return Err(LinkError::Protocol(format!(
                "bad FULLRESYNC reply '{reply}'"
            )));
        };
        tracing::info!("Full resync from master: {id}:{off}");
        full_sync(node, &mut c, cancel, id, off).await?;
    } else if let Some(rest) = reply.strip_prefix("+CONTINUE") {
        let new_id = rest.trim();
        let mut st = node.repl.state.lock();
        let mut mine = node.replid.lock();
        if !new_id.is_empty() && new_id != *mine {
            st.replid2 = std::mem::replace(&mut *mine, new_id.to_owned());
            st.second_offset = i64::try_from(st.offset + 1).unwrap_or(i64::MAX);
            tracing::warn!("Master replication ID changed to {new_id}");
        }
        drop(mine);
        if st.backlog.is_none() {
            st.backlog = Some(Backlog::new(1 << 20, st.offset));
        }
        drop(st);
        tracing::info!("Successful partial resynchronization with master.");
        tracing::info!("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.");
    } else {
        return Err(LinkError::Protocol(format!(
            "Unexpected reply to PSYNC from master: {reply}"
        )));
    }
    {
        let mut st = node.repl.state.lock();
        if let Some(m) = st.master.as_mut() {
            m.state = LinkState::Connected;
            m.has_master = true;
            m.last_io_ms = now_ms();
            st.linked_since_report = true;
        }
    }
    stream_loop(node, &mut c, cancel).await
}

/// Reads `$<len>` or `$EOF:<mark>` and the RDB, then replaces our data with it.
async fn full_sync(
    node: &Arc<Node>,
    c: &mut Conn,
    cancel: &CancellationToken,
    id: &str,
    off: u64,
) -> Result<(), LinkError> {
    set_state(node, cancel, LinkState::Transfer);
    let header = loop {
        let l = c.line().await?;
        let l = l.trim_start_matches('\n');
        if !l.is_empty() {
            break l.to_owned();
        }
    };
    let Some(spec) = header.strip_prefix('$') else {
        return Err(LinkError::Protocol(format!("Bad protocol from MASTER, the first byte is not '$' (we received '{header}'), are you sure the host and port are right?")));
    };
    let mut rdb = Vec::new();
    if let Some(mark) = spec.strip_prefix("EOF:") {
        let mark = mark.as_bytes().to_vec();
        if mark.len() != 40 {
            return Err(LinkError::Protocol("bad EOF mark".into()));
        }
        tracing::info!(
            "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk"
        );
        loop {
            rdb.extend_from_slice(&c.buf);
            c.buf.clear();
            node.repl.link_update(cancel, |m| {
                m.sync_read = rdb.len() as u64;
                m.last_io_ms = now_ms();
            });
            if rdb.ends_with(&mark) {
                rdb.truncate(rdb.len() - mark.len());
                break;
            }
            c.fill().await?;
        }
    } else {
        let len: u64 = spec
            .parse()
            .map_err(|_| LinkError::Protocol(format!("bad bulk length '{spec}'")))?;
        tracing::info!("MASTER <-> REPLICA sync: receiving {len} bytes from master to disk");
        node.repl.link_update(cancel, |m| m.sync_total = len);
        while (rdb.len() as u64) < len {
            if c.buf.is_empty() {
                c.fill().await?;
            }
            let want = usize::try_from(len - rdb.len() as u64)
                .unwrap_or(usize::MAX)
                .min(c.buf.len());
            rdb.extend_from_slice(c.buf.get(..want).unwrap_or_default());
            c.buf.advance(want);
            node.repl.link_update(cancel, |m| {
                m.sync_read = rdb.len() as u64;
                m.last_io_ms = now_ms();
            });
        }
    }
    if cancel.is_cancelled() {
        return Err(LinkError::Cancelled);
    }
    tracing::info!("MASTER <-> REPLICA sync: Flushing old data");
    tracing::info!("MASTER <-> REPLICA sync: Loading DB in memory");
    let n = node.clone();
    let loaded = tokio::task::spawn_blocking(move || super::snapshot::load(&n, &rdb))
        .await
        .map_err(|e| LinkError::Protocol(e.to_string()))?;
    if let Err(e) = loaded {
        tracing::warn!("Failed trying to load the MASTER synchronization DB from socket: {e}");
        return Err(LinkError::Protocol(e));
    }
    let mut st = node.repl.state.lock();
    *node.replid.lock() = id.to_owned();
    st.offset = off;
    st.replid2 = NULL_ID.to_owned();
    st.second_offset = -1;
    let size = node
        .config
        .get_text("repl-backlog-size")
        .and_then(|v| String::from_utf8(v).ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1 << 20);
    st.backlog = Some(Backlog::new(size, off));
    st.seldb = None;
    drop(st);
    tracing::info!("MASTER <-> REPLICA sync: Finished with success");
    Ok(())
}

/// The master client as CLIENT LIST and CLIENT KILL see it, while the stream is applied.
struct MasterClient<'a>(&'a Node);

impl<'a> MasterClient<'a> {
    fn register(node: &'a Node, handle: Arc<ClientHandle>) -> MasterClient<'a> {
        node.repl.state.lock().master_client = Some(handle);
        MasterClient(node)
    }
}

impl Drop for MasterClient<'_> {
    fn drop(&mut self) {
        self.0.repl.state.lock().master_client = None;
    }
}

/// Applies the master's stream as the master client; acknowledges every second and when
/// asked (REPLCONF GETACK).
async fn stream_loop(
    node: &Arc<Node>,
    c: &mut Conn,
    cancel: &CancellationToken,
) -> Result<(), LinkError> {
    let handle = Arc::new(ClientHandle::new(
        node.clients.next_id(),
        c.stream.peer_addr()?,
        c.stream.local_addr()?,
        -1,
        crate::config::ObufLimit::default(),
        cancel.child_token(),
    ));
    let kill = handle.kill_token();
    let _listed = MasterClient::register(node, handle.clone());
    let mut sess = Session::new(handle, true);
    let mut decoder = CommandDecoder::new(Limits {
        max_bulk_len: node.config.current().proto_max_bulk_len,
        ..Limits::default()
    });
    let mut ack_timer = tokio::time::interval(Duration::from_secs(1));
    let mut sink = BytesMut::new();
    loop {
        let applied = apply(node, &mut sess, &mut decoder, &mut c.buf, &mut sink)?;
        if applied.ack {
            send_ack(node, c).await?;
        }
        let mut chunk = [0u8; 16 * 1024];
        tokio::select! {
            _ = cancel.cancelled() => return Err(LinkError::Cancelled),
            _ = kill.cancelled() => {
                return Err(LinkError::Protocol("killed by CLIENT KILL".into()));
            }
            _ = ack_timer.tick() => {
                send_ack(node, c).await?;
            }
            r = tokio::time::timeout(c.timeout, c.stream.read(&mut chunk)) => {
                let n = r.map_err(|_| LinkError::Timeout)??;
                if n == 0 {
                    return Err(LinkError::Protocol("master closed the connection".into()));
                }
                c.buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
                node.repl.link_update(cancel, |m| m.last_io_ms = now_ms());
            }
        }
    }
}

struct Applied {
    ack: bool,
}

/// Runs every complete command of `buf`; their bytes advance our offset and are proxied to
/// our backlog and replicas.
fn apply(
    node: &Node,
    sess: &mut Session,
    decoder: &mut CommandDecoder,
    buf: &mut BytesMut,
    sink: &mut BytesMut,
) -> Result<Applied, LinkError> {
    let mut ack = false;
    // One copy of the batch: the bytes the commands consumed are proxied verbatim.
    let raw = buf.clone().freeze();
    super::stream::set_master_apply(true);
    let result = loop {
        match decoder.decode(buf, true) {
            Ok(Some(mut args)) => {
                if args.is_empty() {
                    continue;
                }
                let mut clock = commands::Clock::new();
                let mut w = ReplyWriter::new(sink, sess.proto);
                commands::process(node, sess, &mut w, &mut args, &mut clock);
                sink.clear();
                ack |= super::stream::take_ack_request();
            }
            Ok(None) => break Ok(()),
            Err(e) => {
                break Err(LinkError::Protocol(format!(
                    "protocol error from master: {e}"
                )))
            }
        }
    };
    super::stream::set_master_apply(false);
    let end = raw.len() - buf.len();
    flush_proxy(node, raw.get(..end).unwrap_or_default());
    result.map(|()| Applied { ack })
}

fn flush_proxy(node: &Node, bytes: &[u8]) {
    let mut st = node.repl.state.lock();
    super::append(&mut st, bytes);
}

async fn send_ack(node: &Node, c: &mut Conn) -> Result<(), LinkError> {
    let off = node.repl.state.lock().offset.to_string();
    let args = [
        bytes::Bytes::from_static(b"REPLCONF"),
        bytes::Bytes::from_static(b"ACK"),
        bytes::Bytes::from(off),
    ];
    let mut out = Vec::new();
    resp_proto::encode_command(&mut out, &args);
    c.stream.write_all(&out).await?;
    Ok(())
}
