//! The accept loops of the listening sockets and CONFIG SET port / bind, which replace
//! them at runtime as Redis 7.0 does: a new port is bound before the old sockets close; new
//! bind addresses replace the old ones, which are bound again if the new ones fail. An
//! empty `bind` listens nowhere.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::sync::{Arc, OnceLock, Weak};

use parking_lot::Mutex;
use socket2::Socket;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::{bind_target, listen, BusyPoll};
use crate::config::{value::strerror, Config};
use crate::node::Node;

/// What is listened on now and how to stop it.
#[derive(Default)]
pub struct Accepting {
    current: Mutex<Current>,
    busy_poll: OnceLock<Arc<BusyPoll>>,
}

#[derive(Default)]
struct Current {
    port: u16,
    bind: Vec<String>,
    /// Handles on the listening sockets (same open file), to close them at once.
    sockets: Vec<Socket>,
    stop: Option<CancellationToken>,
}

/// One `bind` entry that could not be bound.
struct BindFailure {
    addr: String,
    error: io::Error,
}

/// Errors Redis skips silently for any address: no such protocol family on this host.
fn unsupported(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc_errno::ENOPROTOOPT)
            | Some(libc_errno::EPROTONOSUPPORT)
            | Some(libc_errno::ESOCKTNOSUPPORT)
            | Some(libc_errno::EPFNOSUPPORT)
            | Some(libc_errno::EAFNOSUPPORT)
    )
}

/// Linux errno values (the std library does not name them).
mod libc_errno {
    pub const ENOPROTOOPT: i32 = 92;
    pub const EPROTONOSUPPORT: i32 = 93;
    pub const ESOCKTNOSUPPORT: i32 = 94;
    pub const EPFNOSUPPORT: i32 = 96;
    pub const EAFNOSUPPORT: i32 = 97;
    pub const EADDRNOTAVAIL: i32 = 99;
}

/// Binds every entry of `bind` on `port` (listenToPort): each failure is logged; an
/// optional (`-`) address that does not exist here and unsupported families are skipped.
fn bind_all(
    bind: &[String],
    port: u16,
    backlog: u32,
) -> Result<Vec<std::net::TcpListener>, BindFailure> {
    let mut out = Vec::new();
    if port == 0 {
        return Ok(out);
    }
    for entry in bind {
        let shown = entry.trim_start_matches('-').to_string();
        let Some((ip, optional)) = bind_target(entry) else {
            let error = io::Error::new(io::ErrorKind::InvalidInput, "Invalid argument");
            tracing::warn!(
                "Warning: Could not create server TCP listening socket {shown}:{port}: {}",
                strerror(&error)
            );
            return Err(BindFailure { addr: shown, error });
        };
        match listen(ip, port, backlog) {
            Ok(s) => out.push(s),
            Err(error) => {
                tracing::warn!(
                    "Warning: Could not create server TCP listening socket {shown}:{port}: bind: {}",
                    strerror(&error)
                );
                let not_here = error.raw_os_error() == Some(libc_errno::EADDRNOTAVAIL);
                if (not_here && optional) || unsupported(&error) {
                    continue;
                }
                return Err(BindFailure { addr: shown, error });
            }
        }
    }
    Ok(out)
}

impl Accepting {
    /// Sets the busy poll the listening and client sockets join; once, before the first
    /// accept loop starts.
    pub(super) fn set_busy_poll(&self, busy_poll: Option<Arc<BusyPoll>>) {
        if let Some(b) = busy_poll {
            let _ = self.busy_poll.set(b);
        }
    }

    /// Has the busy poll, if any, end at input on `socket`.
    pub fn watch(&self, socket: impl AsFd) {
        if let Some(b) = self.busy_poll.get() {
            b.watch(socket);
        }
    }

    /// Starts accept loops on `sockets` (bound for `port` / `bind`), stopping the previous
    /// ones.
    pub(super) fn start(
        &self,
        node: &Arc<Node>,
        sockets: Vec<std::net::TcpListener>,
        port: u16,
        bind: Vec<String>,
        shutdown: &CancellationToken,
    ) -> io::Result<()> {
        let mut handles = Vec::new();
        let mut listeners = Vec::new();
        for s in sockets {
            self.watch(&s);
            handles.push(Socket::from(s.try_clone()?));
            listeners.push(TcpListener::from_std(s)?);
        }
        let stop = shutdown.child_token();
        for l in listeners {
            tokio::spawn(super::accept_loop(
                node.clone(),
                l,
                stop.clone(),
                shutdown.clone(),
            ));
        }
        let old = std::mem::replace(
            &mut *self.current.lock(),
            Current {
                port,
                bind,
                sockets: handles,
                stop: Some(stop),
            },
        );
        close(old);
        Ok(())
    }

    /// The addresses listened on now.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.current
            .lock()
            .sockets
            .iter()
            .filter_map(|s| s.local_addr().ok()?.as_socket())
            .collect()
    }

    /// Applies a `port` or `bind` change of CONFIG SET.
    fn apply(
        &self,
        node: &Arc<Node>,
        cfg: &Config,
        shutdown: &CancellationToken,
    ) -> Result<(), String> {
        let (port, bind) = {
            let c = self.current.lock();
            (c.port, c.bind.clone())
        };
        if port == cfg.port && bind == cfg.bind {
            // Nothing to do (also the undo run after a failed CONFIG SET).
            return Ok(());
        }
        let backlog = cfg.tcp_backlog;
        if port != cfg.port {
            // changeListenPort: the new sockets first; the old ones close only on success.
            let sockets = bind_all(&cfg.bind, cfg.port, backlog)
                .map_err(|_| "Unable to listen on this port. Check server logs.".to_string())?;
            return self
                .start(node, sockets, cfg.port, cfg.bind.clone(), shutdown)
                .map_err(|e| strerror(&e).into_owned());
        }
        // changeBindAddr: the old sockets close first (the same port cannot be bound
        // twice); on failure the old addresses are bound again.
        close(std::mem::take(&mut *self.current.lock()));
        match bind_all(&cfg.bind, port, backlog) {
            Ok(sockets) => self
                .start(node, sockets, port, cfg.bind.clone(), shutdown)
                .map_err(|e| strerror(&e).into_owned()),
            Err(BindFailure { addr, error }) => {
                tracing::debug!("bind {addr} failed: {error}");
                tracing::warn!("Failed to bind");
                if let Ok(sockets) = bind_all(&bind, port, backlog) {
                    let _ = self.start(node, sockets, port, bind, shutdown);
                }
                Err("Failed to bind to specified addresses.".to_string())
            }
        }
    }
}

/// Closes listening sockets now (the port is free when this returns) and ends their
/// accept loops.
fn close(old: Current) {
    for s in &old.sockets {
        // On Linux, shutting a listening socket down unhashes it at once.
        let _ = s.shutdown(std::net::Shutdown::Both);
    }
    if let Some(stop) = old.stop {
        stop.cancel();
    }
}

/// Makes CONFIG SET port / bind rebind the node's listeners.
pub(super) fn install_hook(node: &Arc<Node>, shutdown: &CancellationToken) {
    let weak: Weak<Node> = Arc::downgrade(node);
    let shutdown = shutdown.clone();
    node.config.on_apply(
        &["port", "bind"],
        Box::new(move |cfg| match weak.upgrade() {
            Some(node) => node.accepting.apply(&node, cfg, &shutdown),
            None => Ok(()),
        }),
    );
}
