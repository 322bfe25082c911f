//! Listeners, connections and the client registry.
//!
//! [`bind`] opens the listening sockets (std sockets, before the runtime exists);
//! [`serve`] accepts clients, runs the periodic cron (active expiry) and, once the shutdown
//! token is cancelled, closes every client and returns.

mod busy_poll;
mod conn;
mod listen;
mod readbuf;
mod registry;

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use socket2::{Domain, Socket, Type};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::node::Node;

pub use busy_poll::BusyPoll;
pub use listen::Accepting;
pub use registry::{ClientHandle, Registry};

/// The bound listening sockets.
#[derive(Debug)]
pub struct Listeners {
    sockets: Vec<std::net::TcpListener>,
}

impl Listeners {
    /// The local addresses listened on.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.sockets
            .iter()
            .filter_map(|s| s.local_addr().ok())
            .collect()
    }
}

/// Parses one `bind` entry: `*` (any IPv4), `::*` (any IPv6), an address; a leading `-`
/// makes failure to bind it non-fatal.
fn bind_target(entry: &str) -> Option<(IpAddr, bool)> {
    let (optional, addr) = match entry.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, entry),
    };
    let ip = match addr {
        "*" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        "::*" => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        other => other.parse().ok()?,
    };
    Some((ip, optional))
}

fn listen(ip: IpAddr, port: u16, backlog: u32) -> io::Result<std::net::TcpListener> {
    let addr = SocketAddr::new(ip, port);
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    if ip.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Binds every `bind` address on `port` with `tcp-backlog`. Port 0 binds nothing.
pub fn bind(cfg: &Config) -> io::Result<Listeners> {
    let mut sockets = Vec::new();
    if cfg.port == 0 {
        return Ok(Listeners { sockets });
    }
    // An empty `bind` (set explicitly to "") listens nowhere, as in Redis.
    for entry in &cfg.bind {
        let Some((ip, optional)) = bind_target(entry) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("Invalid bind address '{entry}'"),
            ));
        };
        match listen(ip, cfg.port, cfg.tcp_backlog) {
            Ok(s) => sockets.push(s),
            Err(e) if optional => {
                tracing::debug!("Skipping optional bind address {entry}: {e}");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Listeners { sockets })
}

/// Accepts clients until `shutdown` is cancelled, then closes them all and returns.
/// `busy_poll`, when the runtime's workers run it before they sleep, is told of every
/// listening and client socket. The node's hooks must be installed
/// ([`Node::install_hooks`]).
pub async fn serve(
    node: Arc<Node>,
    listeners: Listeners,
    busy_poll: Option<Arc<BusyPoll>>,
    shutdown: CancellationToken,
) {
    node.set_shutdown_token(shutdown.clone());
    node.accepting.set_busy_poll(busy_poll);
    let mut tasks = Vec::new();
    let cfg = node.config.current();
    if let Err(e) = node.accepting.start(
        &node,
        listeners.sockets,
        cfg.port,
        cfg.bind.clone(),
        &shutdown,
    ) {
        tracing::warn!("Failed to use a listening socket: {e}");
    }
    drop(cfg);
    listen::install_hook(&node, &shutdown);
    tasks.push(tokio::spawn(cron(node.clone(), shutdown.clone())));
    tasks.push(tokio::spawn(follow_config(node.clone(), shutdown.clone())));
    shutdown.cancelled().await;
    node.clients.kill_all();
    while !node.clients.is_empty() {
        let left = node.clients.left.notified();
        tokio::select! {
            _ = left => {}
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
    for t in tasks {
        let _ = t.await;
    }
}

/// Accepts clients on one listening socket until `stop` (a rebind) or the shutdown.
async fn accept_loop(
    node: Arc<Node>,
    listener: TcpListener,
    stop: CancellationToken,
    shutdown: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            biased;
            _ = stop.cancelled() => return,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((stream, peer)) => {
                node.accepting.watch(&stream);
                conn::start(node.clone(), stream, peer, shutdown.clone());
            }
            Err(_) if stop.is_cancelled() => return,
            Err(e) => {
                tracing::warn!("Accepting client connection: {e}");
                // Out of file descriptors and the like: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Applies configuration changes that live outside the typed config snapshot.
async fn follow_config(node: Arc<Node>, shutdown: CancellationToken) {
    let mut changes = node.config.subscribe();
    node.apply_runtime_config();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            r = changes.changed() => {
                if r.is_err() {
                    return;
                }
                node.apply_runtime_config();
            }
        }
    }
}

/// The periodic tasks Redis's serverCron runs: active expiry, driven by `hz`.
async fn cron(node: Arc<Node>, shutdown: CancellationToken) {
    loop {
        let hz = node.config.current().hz.clamp(1, 500);
        let period = Duration::from_millis(1000 / u64::from(hz));
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(period) => {}
        }
        if node
            .active_expire
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            // Bounded work per tick (Redis spends at most 25% of a tick here).
            let budget = period / 4;
            let n = node.clone();
            let _ = tokio::task::spawn_blocking(move || {
                let started = std::time::Instant::now();
                crate::keyspace::active_expire_cycle(&n.keyspace, budget);
                n.latency.add_if_needed("expire-cycle", started.elapsed());
            })
            .await;
        }
    }
}
