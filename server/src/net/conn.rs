//! One client connection: read, run the complete commands in order (pipelining; a long
//! pipeline a share per turn), write the replies of a turn together, deliver pub/sub
//! messages, honour timeouts and kills.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use resp_proto::{CommandDecoder, Limits, ReplyWriter};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::readbuf::ReadSizing;
use super::registry::ClientHandle;
use crate::commands::{self, After, Session};
use crate::config::ObufLimit;
use crate::node::Node;

const MAX_CLIENTS_REACHED: &[u8] = b"-ERR max number of clients reached\r\n";

/// Word for word redis-server 7.0.15's, its "Setup a an" included.
const PROTECTED_MODE_DENIED: &[u8] = b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// The reply buffer's size when it is (re)allocated, and how much of the replies of a
/// pipeline run in shares may be held back before they are written.
const WRITE_CHUNK: usize = 16 * 1024;

/// How long a connection with a grown read buffer stays quiet before giving it back
/// (Redis's clientsCron trims query buffers idle for more than 2 seconds).
const IDLE_TRIM: Duration = Duration::from_secs(2);

/// A turn whose commands ran this long waits for the other connections' batches before
/// its replies go out (see the write below). A scheduler round costs a few hundred ns, a
/// small part of this. Set lower, commands whose time straddles it (ZADD into a large
/// skip list) have some replies held back a round under load: ZADD's p99 at -P 1 went
/// from 0.58 to 0.79 ms with 3 µs.
const LONG_BATCH: Duration = Duration::from_micros(10);

/// A turn of this much input also waits, whatever its time: its time grows with its
/// bytes, and an MSET of ten 1 KiB values takes about `LONG_BATCH`, so by time alone its
/// replies went out now at once and now a round later, from one run to the next (MSET of
/// 10 × 1 KiB at -P 1: 51,000 → 62,000 per second, p99 2.3 → 1.1 ms; Redis 42,000 and 1.5).
const LONG_INPUT: usize = 4 * 1024;

/// Input a connection runs in one turn. A pipeline holding more (16 MSETs of ten 1 KiB
/// values is 165 KiB) is run a share at a time with the other connections' turns between
/// the shares, as Redis reads and runs 16 KiB of a client's input per event loop round. The
/// first share's replies then go out after one round of shares rather than after the whole
/// pipelines of every connection ahead (MSET of 10 × 1 KiB at -P 16, 50 clients: p99 of
/// the first reply 9.0 → 2.9 ms, Redis 3.8; 108,000 → 88,000 MSETs/s, Redis 47,000).
const TURN_INPUT: usize = 16 * 1024;

// A share is a long turn: its replies wait a round as well.
const _: () = assert!(TURN_INPUT >= LONG_INPUT);

/// `tcp-keepalive` as Redis's anetKeepAlive sets it: probes after `secs` idle, then every
/// third of that (at least 1 s), three of them.
fn keepalive(stream: &TcpStream, secs: u64) -> std::io::Result<()> {
    let ka = socket2::TcpKeepalive::new()
        .with_time(Duration::from_secs(secs))
        .with_interval(Duration::from_secs((secs / 3).max(1)))
        .with_retries(3);
    socket2::SockRef::from(stream).set_tcp_keepalive(&ka)
}

/// The line Redis logs when a client breaks its `client-output-buffer-limit`.
fn log_output_limit(handle: &ClientHandle) {
    tracing::warn!(
        "Client {} scheduled to be closed ASAP for overcoming of output buffer limits.",
        handle.info_line(crate::keyspace::now_ms()).trim_end()
    );
}

/// Sets up and spawns the task of a freshly accepted connection.
pub(super) fn start(
    node: Arc<Node>,
    stream: TcpStream,
    peer: SocketAddr,
    shutdown: CancellationToken,
) {
    node.stats.connections.fetch_add(1, Ordering::Relaxed);
    let cfg = node.config.current();
    let _ = stream.set_nodelay(true);
    if cfg.tcp_keepalive > 0 {
        let _ = keepalive(&stream, cfg.tcp_keepalive);
    }
    let refusal = if node.clients.len() >= cfg.maxclients as usize {
        Some(MAX_CLIENTS_REACHED)
    } else if cfg.protected_mode
        && cfg.requirepass.is_none()
        && !crate::config::is_local_peer(peer.ip())
    {
        Some(PROTECTED_MODE_DENIED)
    } else {
        None
    };
    if let Some(msg) = refusal {
        node.stats.rejected.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let mut stream = stream;
            let _ = stream.write_all(msg).await;
        });
        return;
    }
    let laddr = stream.local_addr().unwrap_or(peer);
    let fd = raw_fd(&stream);
    let handle = Arc::new(ClientHandle::new(
        node.clients.next_id(),
        peer,
        laddr,
        fd,
        cfg.client_output_buffer_limit[2],
        shutdown.child_token(),
    ));
    node.clients.add(handle.clone());
    tokio::spawn(async move {
        run(&node, stream, &handle).await;
        cleanup(&node, &handle);
    });
}

#[cfg(unix)]
fn raw_fd(stream: &TcpStream) -> i64 {
    use std::os::fd::AsRawFd;
    i64::from(stream.as_raw_fd())
}

#[cfg(not(unix))]
fn raw_fd(_stream: &TcpStream) -> i64 {
    -1
}

fn cleanup(node: &Node, handle: &Arc<ClientHandle>) {
    // Whatever ended the connection, code still holding the handle (a full sync waiting
    // for its output to drain) must see it gone.
    handle.kill();
    node.pubsub.remove_client(handle);
    node.clients.remove(handle.id);
}

fn limits(node: &Node) -> Limits {
    let cfg = node.config.current();
    Limits {
        max_bulk_len: cfg.proto_max_bulk_len,
        ..Limits::default()
    }
}

async fn run(node: &Arc<Node>, mut stream: TcpStream, handle: &Arc<ClientHandle>) {
    let cfg = node.config.current();
    let mut sess = Session::new(handle.clone(), cfg.requirepass.is_none());
    let mut decoder = CommandDecoder::new(limits(node));
    let mut inbuf = BytesMut::new();
    let mut sizing = ReadSizing::new();
    let mut out = BytesMut::with_capacity(WRITE_CHUNK);
    let mut query_limit = cfg.client_query_buffer_limit;
    let mut timeout = cfg.timeout;
    let mut obuf_limits = cfg.client_output_buffer_limit;
    drop(cfg);
    let mut config_changes = node.config.subscribe();
    // Long-lived futures: re-creating them every iteration would re-register their wakers.
    // Once polled they stay registered, so later rounds poll them only when their cheap
    // flag says they may be ready: polling them locks their notifier's waiter list.
    let mut killed = std::pin::pin!(handle.killed());
    let mut notified = std::pin::pin!(handle.push_notify.notified());
    let (mut kill_armed, mut push_armed) = (false, false);
    let mut shown_command = "";
    // Complete commands may be left from the last turn's share.
    let mut more = false;
    // Replies of the pipeline being run in shares already written: they count against the
    // hard output limit with the rest, as when one turn ran it all.
    let mut pipeline_sent = 0u64;
    loop {
        if config_changes.has_changed().unwrap_or(false) {
            let cfg = config_changes.borrow_and_update();
            query_limit = cfg.client_query_buffer_limit;
            timeout = cfg.timeout;
            obuf_limits = cfg.client_output_buffer_limit;
            handle.set_pubsub_limit(obuf_limits[2]);
        }
        let mut close = false;
        let mut block_timed_out = false;
        let mut defer_write = false;
        let mut pushed = false;
        // This round runs the next share of a pipeline rather than waiting for input.
        let continuing = more;
        let mut read = false;
        if continuing {
            debug_assert!(sess.blocked.is_none());
            if handle.is_killed() {
                break;
            }
        } else {
            pipeline_sent = 0;
            let idle = async {
                if timeout == 0 || sess.in_pubsub() || sess.blocked.is_some() {
                    std::future::pending::<()>().await;
                }
                tokio::time::sleep(Duration::from_secs(timeout)).await;
            };
            let block_deadline = sess.blocked.as_ref().and_then(|b| b.deadline());
            let block_timer = async move {
                match block_deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending::<()>().await,
                }
            };
            let kill_hint = || handle.is_killed();
            let push_hint = || handle.push_notify.is_pending();
            let spare = sizing.make_room(&mut inbuf);
            let grown = ReadSizing::grown(&inbuf);
            let quiet = async move {
                if !grown {
                    std::future::pending::<()>().await;
                }
                tokio::time::sleep(IDLE_TRIM).await;
            };
            tokio::select! {
                biased;
                _ = gated(&mut killed, &mut kill_armed, kill_hint) => break,
                _ = gated(&mut notified, &mut push_armed, push_hint) => {
                    notified.set(handle.push_notify.notified());
                    push_armed = false;
                    pushed = true;
                }
                // Straight into the read buffer's free space. On epoll a read that leaves
                // space tells tokio the socket is drained, so no read that would only fail
                // with EAGAIN follows (one read per pipeline).
                r = stream.read_buf(&mut inbuf) => {
                    let n = match r {
                        Ok(0) => break,
                        Ok(n) => n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(_) => break,
                    };
                    sizing.read_done(n, spare);
                    node.stats.net_input.fetch_add(n as u64, Ordering::Relaxed);
                    read = true;
                }
                _ = idle => break,
                _ = block_timer => block_timed_out = true,
                _ = quiet => {
                    sizing.trim_idle(&mut inbuf);
                    continue;
                }
            }
        }
        // The input, then what queued up behind a blocked command each time one ends
        // (served by a writer, or timed out).
        let mut run_now = continuing || read;
        loop {
            if run_now {
                let t = turn(
                    node,
                    handle,
                    &mut sess,
                    &mut decoder,
                    &mut inbuf,
                    &mut out,
                    &mut shown_command,
                );
                (close, more) = (t.close, t.more);
                defer_write |= t.defer_write;
            }
            if read && !close && query_limit > 0 && inbuf.len() as u64 > query_limit {
                tracing::warn!(
                    "Closing client that reached max query buffer length: id={} addr={}",
                    handle.id,
                    handle.addr
                );
                close = true;
            }
            if close || !commands::blocking::resume(node, &mut sess, &mut out, block_timed_out) {
                break;
            }
            block_timed_out = false;
            run_now = true;
        }
        if pushed {
            // What the round's other connections publish (or, to a replica, the round's
            // writes) joins this in one write, as Redis writes to subscribers and replicas
            // before it sleeps: one send per round rather than one per message (measured
            // with a replica attached, SET at -P 1: 2.0 → 1.0x sends per request).
            tokio::task::yield_now().await;
            handle.push_notify.clear();
            handle.move_pushes_into(&mut out);
        }
        // client-output-buffer-limit: replies at the hard limit (with those of the pipeline
        // already written) close the client unsent, as Redis's checkClientOutputBufferLimits;
        // the soft limit is timed while they drain.
        let class = obuf_limits[if sess.in_pubsub() { 2 } else { 0 }];
        if class.hard > 0 && pipeline_sent + out.len() as u64 >= class.hard {
            log_output_limit(handle);
            break;
        }
        // Between the shares of a long pipeline the replies are held, but for the first
        // share's: those tell the client after one round that its pipeline is being
        // served, and each write costs a wakeup of the client (writing every share of MSET
        // × 16 of 1 KiB values took 16 µs of server CPU per MSET instead of 9).
        let hold = more && continuing && out.len() < WRITE_CHUNK;
        if !out.is_empty() && !hold {
            if defer_write {
                // Let the other connections with input run their commands first, then
                // write the replies back to back, as Redis's event loop writes them all
                // before it sleeps: a peer that waits on several connections is woken once
                // per round rather than once per reply. On loopback that wakeup is ours to
                // pay, and a batch that ran long leaves it time to fall asleep between two
                // replies (measured on MSET of 10 × 1 KiB at -P 1: 0.78 → 0.10 sleeps per
                // request for redis-benchmark, 24% less server CPU per request; at -P 16:
                // 3% less). A short single command of little input is answered at once:
                // there the extra scheduler round would cost more than it saves.
                tokio::task::yield_now().await;
            }
            node.stats
                .net_output
                .fetch_add(out.len() as u64, Ordering::Relaxed);
            pipeline_sent += out.len() as u64;
            // Most replies fit the socket buffer: try once without waiting.
            match stream.try_write(&out) {
                Ok(n) => out.advance(n),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => break,
            }
            if !out.is_empty() && !drain(&mut stream, &mut out, handle, &class, &mut killed).await {
                break;
            }
            if handle.soft_limit_over(&class) {
                log_output_limit(handle);
                break;
            }
            out.clear();
            if out.capacity() > 1 << 20 {
                out = BytesMut::with_capacity(WRITE_CHUNK);
            }
        } else if more {
            // The other connections' turns come before this one's next share.
            tokio::task::yield_now().await;
        }
        if close {
            break;
        }
    }
    let _ = stream.shutdown().await;
    commands::disconnect(node, &mut sess);
}

/// Writes `out` to a client that reads it slowly, rechecking its output limits whenever
/// some of it was sent and when the soft limit's time is up (Redis rechecks as replies are
/// added and once a second in clientsCron), so output that drains back under the soft limit
/// stops the count. False when the client must be closed.
async fn drain(
    stream: &mut TcpStream,
    out: &mut BytesMut,
    handle: &ClientHandle,
    class: &ObufLimit,
    killed: &mut (impl Future + Unpin),
) -> bool {
    loop {
        handle.omem.store(out.len() as u64, Ordering::Relaxed);
        if handle.output_limit_reached(out.len() as u64 + handle.queued_len(), class) {
            log_output_limit(handle);
            return false;
        }
        let deadline = handle.soft_limit_deadline(class);
        let recheck = async move {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            biased;
            _ = &mut *killed => return false,
            w = stream.write(out) => match w {
                Ok(0) | Err(_) => return false,
                Ok(n) => out.advance(n),
            },
            _ = recheck => {}
        }
        if out.is_empty() {
            handle.omem.store(0, Ordering::Relaxed);
            return true;
        }
    }
}

/// Polls `fut` the first time, then only while `hint` says it may be ready. For futures
/// that stay registered with the task's waker once polled, and whose readiness is
/// published (`hint`) before the waker is woken: every wakeup re-polls the select that
/// holds this, and the hint is then seen.
fn gated<'a, F: Future + Unpin>(
    fut: &'a mut F,
    armed: &'a mut bool,
    hint: impl Fn() -> bool + 'a,
) -> impl Future<Output = F::Output> + 'a {
    std::future::poll_fn(move |cx| {
        if *armed && !hint() {
            return Poll::Pending;
        }
        *armed = true;
        Pin::new(&mut *fut).poll(cx)
    })
}

/// What a turn left for the connection loop to do.
struct Turn {
    /// Close the connection once the replies are flushed.
    close: bool,
    /// Complete commands may be left for another turn.
    more: bool,
    /// The turn was long: its replies wait for the other connections' (see the write in
    /// `run`).
    defer_write: bool,
}

/// Runs a turn's share of the complete commands in `inbuf` (see [`TURN_INPUT`]) and shows
/// the session's state to CLIENT LIST.
fn turn(
    node: &Node,
    handle: &ClientHandle,
    sess: &mut Session,
    decoder: &mut CommandDecoder,
    inbuf: &mut BytesMut,
    out: &mut BytesMut,
    shown_command: &mut &'static str,
) -> Turn {
    let mut clock = commands::Clock::new();
    handle.last_active.store(clock.now_ms, Ordering::Relaxed);
    let input = inbuf.len();
    let end = run_share(node, sess, decoder, inbuf, out, &mut clock);
    if !std::ptr::eq(*shown_command, sess.last_command) {
        *shown_command = sess.last_command;
        handle.set_last_command(sess.last_command);
    }
    let ran = std::mem::take(&mut sess.commands);
    node.stats.commands.fetch_add(ran, Ordering::Relaxed);
    handle.db.store(sess.db, Ordering::Relaxed);
    handle.multi.store(
        sess.multi.as_ref().map_or(-1, |q| q.len() as i64),
        Ordering::Relaxed,
    );
    handle.sub.store(sess.channels.len(), Ordering::Relaxed);
    handle.psub.store(sess.patterns.len(), Ordering::Relaxed);
    Turn {
        close: end == ShareEnd::Close,
        more: end == ShareEnd::More,
        defer_write: ran > 1 || input - inbuf.len() >= LONG_INPUT || clock.ran_for() >= LONG_BATCH,
    }
}

/// Why [`run_share`] stopped.
#[derive(Debug, PartialEq, Eq)]
enum ShareEnd {
    /// No complete command is left, or the client blocked.
    Done,
    /// The share's input is used up; more may be waiting in the buffer.
    More,
    /// The connection must close after the replies are flushed.
    Close,
}

/// Runs the complete commands in `inbuf`, up to a turn's share of input.
fn run_share(
    node: &Node,
    sess: &mut Session,
    decoder: &mut CommandDecoder,
    inbuf: &mut BytesMut,
    out: &mut BytesMut,
    clock: &mut commands::Clock,
) -> ShareEnd {
    let start = inbuf.len();
    loop {
        if sess.blocked.is_some() {
            return ShareEnd::Done;
        }
        // A tail shorter than a share is run with this one: a separate turn and write
        // would cost more than it lets the others gain.
        if start - inbuf.len() >= TURN_INPUT && inbuf.len() >= TURN_INPUT {
            return ShareEnd::More;
        }
        match decoder.next_command(inbuf, sess.authenticated) {
            Ok(Some(args)) => {
                if args.is_empty() {
                    continue;
                }
                let mut w = ReplyWriter::new(out, sess.proto);
                if commands::process(node, sess, &mut w, args, clock) == After::Close {
                    return ShareEnd::Close;
                }
            }
            Ok(None) => return ShareEnd::Done,
            Err(e) => {
                node.stats.error();
                e.write_reply(out);
                return ShareEnd::Close;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigStore;
    use crate::net::registry::tests::handle as client;
    use crate::net::registry::Registry;

    /// The kill and push branches of `run`'s select, as `run` arms them: ends when the
    /// connection is to close.
    async fn until_killed(handle: Arc<ClientHandle>) {
        let mut killed = std::pin::pin!(handle.killed());
        let mut notified = std::pin::pin!(handle.push_notify.notified());
        let (mut kill_armed, mut push_armed) = (false, false);
        loop {
            tokio::select! {
                biased;
                _ = gated(&mut killed, &mut kill_armed, || handle.is_killed()) => return,
                _ = gated(&mut notified, &mut push_armed, || handle.push_notify.is_pending()) => {
                    notified.set(handle.push_notify.notified());
                    push_armed = false;
                    handle.push_notify.clear();
                }
            }
        }
    }

    /// Lets a spawned loop run until it sleeps in its select.
    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    async fn ends(task: tokio::task::JoinHandle<()>) -> bool {
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .is_ok()
    }

    /// A loop asleep in its select, its futures registered, closes on `kill()`.
    #[tokio::test]
    async fn a_sleeping_connection_closes_on_kill() {
        let parent = CancellationToken::new();
        let c = client(&parent);
        let task = tokio::spawn(until_killed(c.clone()));
        settle().await;
        assert!(!task.is_finished());
        c.kill();
        assert!(ends(task).await);
    }

    /// The shutdown cancels the parent token: the loop, woken with its kill hint still
    /// false, goes back to sleep, and `kill_all` must wake it again.
    #[tokio::test]
    async fn a_connection_asleep_through_the_shutdown_closes_at_kill_all() {
        let parent = CancellationToken::new();
        let registry = Registry::default();
        let c = client(&parent);
        registry.add(c.clone());
        let task = tokio::spawn(until_killed(c.clone()));
        settle().await;
        parent.cancel();
        settle().await;
        registry.kill_all();
        assert!(ends(task).await);
    }

    /// A connection born after the shutdown (its token cancelled through the parent, not
    /// in the registry `kill_all` walked) closes on its first round.
    #[tokio::test]
    async fn a_connection_born_after_the_shutdown_closes_at_once() {
        let parent = CancellationToken::new();
        parent.cancel();
        let c = client(&parent);
        assert!(ends(tokio::spawn(until_killed(c))).await);
    }

    /// One RPUSH of a 1 KiB value, as a client sends it.
    fn rpush() -> Vec<u8> {
        let mut req = Vec::new();
        resp_proto::encode_command(&mut req, &[&b"RPUSH"[..], b"list", &[b'v'; 1024]]);
        req
    }

    /// `n` RPUSHes, as one pipeline.
    fn pipeline(n: usize) -> BytesMut {
        BytesMut::from(&rpush().repeat(n)[..])
    }

    /// Runs `inbuf` turn by turn as `run` does: the input each turn ran, the replies, and
    /// the commands the node's statistics counted.
    fn turns(mut inbuf: BytesMut) -> (Vec<usize>, BytesMut, u64) {
        let node = Node::new(Arc::new(ConfigStore::default()));
        let handle = client(&CancellationToken::new());
        let mut sess = Session::new(handle.clone(), true);
        let mut decoder = CommandDecoder::new(Limits::default());
        let (mut out, mut shown, mut shares) = (BytesMut::new(), "", Vec::new());
        loop {
            let before = inbuf.len();
            let t = turn(
                &node,
                &handle,
                &mut sess,
                &mut decoder,
                &mut inbuf,
                &mut out,
                &mut shown,
            );
            assert!(!t.close);
            shares.push(before - inbuf.len());
            if !t.more {
                let commands = node.stats.commands.load(Ordering::Relaxed);
                return (shares, out, commands);
            }
        }
    }

    /// The replies of `n` RPUSHes to one list: its lengths, 1 to `n`, in order.
    fn replies(n: usize) -> Vec<u8> {
        (1..=n)
            .flat_map(|len| format!(":{len}\r\n").into_bytes())
            .collect()
    }

    /// A pipeline far longer than a turn's input runs in shares of about a turn's input,
    /// every command once and in order.
    #[test]
    fn a_long_pipeline_runs_a_share_per_turn() {
        let (shares, out, commands) = turns(pipeline(160));
        assert!(shares.len() >= 8, "{shares:?}");
        let (full, last) = shares.split_at(shares.len() - 1);
        let one = rpush().len();
        assert!(
            full.iter()
                .all(|&n| (TURN_INPUT..TURN_INPUT + one).contains(&n)),
            "{shares:?}"
        );
        assert!(last[0] < 2 * TURN_INPUT, "{shares:?}");
        assert_eq!(&out[..], &replies(160)[..]);
        assert_eq!(commands, 160);
    }

    /// Just over a turn's input: the short tail runs in the same turn.
    #[test]
    fn a_pipeline_with_a_short_tail_runs_in_one_turn() {
        let (shares, out, commands) = turns(pipeline(20));
        assert_eq!(shares.len(), 1, "{shares:?}");
        assert_eq!(&out[..], &replies(20)[..]);
        assert_eq!(commands, 20);
    }
}
