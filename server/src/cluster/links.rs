//! Bus links: the listener on the bus port and one task per link (inbound or outbound),
//! framing with [`BusCodec`] and talking to the actor only through its channel.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use cluster_bus::{BusCodec, CodecError};
use cluster_core::LinkId;
use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;

use super::actor::ActorInput;
use crate::config::Config;

/// Frames queued towards one peer before the link is considered stuck and closed
/// (Redis's `cluster-link-sendbuf-limit` idea, counted in messages).
pub const SEND_QUEUE: usize = 4096;

/// Binds the bus port on the `bind` addresses (IPv4 and, when available, IPv6 any).
pub fn bind_bus(cfg: &Config, port: u16) -> std::io::Result<Vec<std::net::TcpListener>> {
    let entries: Vec<String> = if cfg.bind.is_empty() {
        vec!["*".into(), "-::*".into()]
    } else {
        cfg.bind.clone()
    };
    let mut out = Vec::new();
    for entry in &entries {
        let optional = entry.starts_with('-');
        let ip: IpAddr = match entry.trim_start_matches('-') {
            "*" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            "::*" => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            other => match other.parse() {
                Ok(ip) => ip,
                Err(_) if optional => continue,
                Err(_) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        format!("Invalid bind address '{entry}'"),
                    ))
                }
            },
        };
        match listen(SocketAddr::new(ip, port)) {
            Ok(l) => out.push(l),
            Err(_) if optional => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

fn listen(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let domain = socket2::Domain::for_address(addr);
    let socket = socket2::Socket::new(domain, socket2::Type::STREAM, None)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(511)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Textual IP as Redis prints it (IPv4-mapped IPv6 shown as IPv4).
fn ip_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        },
        IpAddr::V4(v4) => v4.to_string(),
    }
}

/// Accepts peers on the bus port; each connection becomes an inbound link.
pub async fn accept_loop(
    listener: TcpListener,
    actor: mpsc::Sender<ActorInput>,
    shutdown: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                tracing::debug!("Error accepting cluster node: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let local = stream
            .local_addr()
            .map(|a| ip_text(a.ip()))
            .unwrap_or_default();
        tracing::debug!("Accepting cluster node connection from {}", peer);
        if actor
            .send(ActorInput::Accepted {
                stream,
                peer_ip: ip_text(peer.ip()),
                local_ip: local,
            })
            .await
            .is_err()
        {
            return;
        }
    }
}

/// Connects an outbound link (bounded by the node timeout), then runs it.
pub async fn connect(
    link: LinkId,
    ip: String,
    cport: u16,
    timeout: Duration,
    cancel: CancellationToken,
    actor: mpsc::Sender<ActorInput>,
) {
    let target = format!("{ip}:{cport}");
    let connected = tokio::select! {
        _ = cancel.cancelled() => return,
        c = tokio::time::timeout(timeout, TcpStream::connect(target.as_str())) => c,
    };
    let stream = match connected {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::debug!("Unable to connect to Cluster Node [{target}]: {e}");
            let _ = actor.send(ActorInput::Closed { link }).await;
            return;
        }
        Err(_) => {
            tracing::debug!("Unable to connect to Cluster Node [{target}]: timeout");
            let _ = actor.send(ActorInput::Closed { link }).await;
            return;
        }
    };
    let _ = stream.set_nodelay(true);
    let (tx, rx) = mpsc::channel(SEND_QUEUE);
    if actor
        .send(ActorInput::Connected { link, tx })
        .await
        .is_err()
    {
        return;
    }
    run(link, stream, rx, cancel, actor).await;
}

/// Runs one established link until EOF, an I/O or framing error, or the actor closes it.
pub async fn run(
    link: LinkId,
    stream: TcpStream,
    mut outgoing: mpsc::Receiver<Bytes>,
    cancel: CancellationToken,
    actor: mpsc::Sender<ActorInput>,
) {
    let (read, mut write) = stream.into_split();
    let mut frames = FramedRead::new(read, BusCodec::default());
    let closed_by_peer = loop {
        tokio::select! {
            _ = cancel.cancelled() => break false,
            out = outgoing.recv() => match out {
                Some(bytes) => {
                    if let Err(e) = write.write_all(&bytes).await {
                        tracing::debug!("I/O error writing to node link {link:?}: {e}");
                        break true;
                    }
                }
                // The actor dropped the sender: it closed the link.
                None => break false,
            },
            frame = frames.next() => match frame {
                Some(Ok(Ok(msg))) => {
                    if actor.send(ActorInput::Bus { link, msg: Box::new(msg) }).await.is_err() {
                        break false;
                    }
                }
                Some(Ok(Err(e))) => {
                    tracing::debug!("Dropping a bus message on {link:?}: {e}");
                }
                Some(Err(CodecError::Frame(e))) => {
                    tracing::warn!("Bad message on the cluster bus ({link:?}): {e}; closing the link");
                    break true;
                }
                Some(Err(e)) => {
                    tracing::debug!("Cluster link {link:?} error: {e}");
                    break true;
                }
                None => break true,
            },
        }
    };
    let _ = write.shutdown().await;
    if closed_by_peer {
        let _ = actor.send(ActorInput::Closed { link }).await;
    }
}
