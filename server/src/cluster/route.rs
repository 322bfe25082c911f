//! The routing check of every keyed command (client-behaviour.md §2.2): MOVED, ASK,
//! TRYAGAIN, CROSSSLOT, CLUSTERDOWN, READONLY replicas, ASKING.

use bytes::Bytes;
use cluster_core::routing::RouteNode;
use cluster_core::Routing;

use crate::commands::{movable_keys, resolve, Command, Session};
use crate::config::EndpointType;
use crate::keyspace::key_slot;
use crate::node::Node;

/// Per-connection cluster flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnFlags {
    /// ASKING was sent: the next command may be served for an importing slot.
    pub asking: bool,
    /// READONLY: a replica serves reads of its master's slots.
    pub readonly: bool,
}

const CROSSSLOT: &str = "CROSSSLOT Keys in request don't hash to the same slot";
const TRYAGAIN: &str = "TRYAGAIN Multiple keys request during rehashing of slot";
pub(super) const DOWN: &str = "CLUSTERDOWN The cluster is down";
const DOWN_RO: &str = "CLUSTERDOWN The cluster is down and only accepts read commands";
pub(super) const UNBOUND: &str = "CLUSTERDOWN Hash slot not served";

/// The key arguments of one command, as `COMMAND GETKEYS` lists them (the numkeys
/// commands through [`movable_keys`]; a bad `numkeys` names no key, and the command then
/// fails on its own).
fn command_keys<'a>(cmd: &Command, args: &'a [Bytes]) -> KeyIter<'a, impl Iterator<Item = usize>> {
    if !cmd.flags.movable_keys {
        return KeyIter::Spec(cmd.keys.key_indices(args.len()), args);
    }
    if cmd.flags.migrate {
        return KeyIter::Movable(crate::commands::migrate::keys(args).into_iter(), args);
    }
    match movable_keys(cmd.name, args) {
        Some(indices) => KeyIter::Movable(indices.into_iter(), args),
        None => KeyIter::Spec(cmd.keys.key_indices(args.len()), args),
    }
}

/// Key arguments; the common (key-spec) case allocates nothing.
enum KeyIter<'a, I> {
    Spec(I, &'a [Bytes]),
    Movable(std::vec::IntoIter<usize>, &'a [Bytes]),
}

impl<'a, I: Iterator<Item = usize>> Iterator for KeyIter<'a, I> {
    type Item = &'a Bytes;
    fn next(&mut self) -> Option<&'a Bytes> {
        match self {
            KeyIter::Spec(idx, args) => idx.find_map(|i| args.get(i)),
            KeyIter::Movable(idx, args) => idx.find_map(|i| args.get(i)),
        }
    }
}

/// `host:port` of a redirect by the answering node's `cluster-preferred-endpoint-type`.
pub(super) fn endpoint(node: &Node, n: &RouteNode) -> String {
    match node.config.current().cluster_preferred_endpoint_type {
        EndpointType::Ip => format!("{}:{}", n.ip, n.port),
        EndpointType::Hostname if n.hostname.is_empty() => format!("?:{}", n.port),
        EndpointType::Hostname => format!("{}:{}", n.hostname, n.port),
        EndpointType::UnknownEndpoint => format!(":{}", n.port),
    }
}

/// Decides whether this node serves the command; `Some(error text)` when it must not.
/// Keyless commands and nodes without cluster mode always pass.
pub fn route(
    node: &Node,
    sess: &Session,
    cmd: &Command,
    args: &[Bytes],
    now: u64,
) -> Option<String> {
    let handle = node.cluster.get()?;
    if cmd.flags.exec {
        // EXEC: the keys of every queued command, and whether any of them writes.
        let mut keys: Vec<&Bytes> = Vec::new();
        let mut write = false;
        for q in sess.multi.iter().flatten() {
            if let Ok(c) = resolve(&node.commands, q) {
                write |= c.flags.write;
                keys.extend(command_keys(c, q));
            }
        }
        return decide(node, handle, sess, keys.into_iter(), Kind::keys(write), now);
    }
    let kind = Kind {
        write: cmd.flags.write,
        // Shard channels route like keys, but are served by replicas without READONLY
        // and never count as missing during a slot migration.
        pubsub_shard: cmd.flags.shard_channel,
        migrate: cmd.flags.migrate,
        asking: cmd.flags.asking,
    };
    decide(node, handle, sess, command_keys(cmd, args), kind, now)
}

/// What kind of command is routed.
#[derive(Clone, Copy)]
struct Kind {
    write: bool,
    pubsub_shard: bool,
    /// MIGRATE is served here while the slot is migrating or importing.
    migrate: bool,
    /// RESTORE-ASKING: the `asking` command flag, ASKING without the ASKING command.
    asking: bool,
}

impl Kind {
    fn keys(write: bool) -> Kind {
        Kind {
            write,
            pubsub_shard: false,
            migrate: false,
            asking: false,
        }
    }
}

fn decide<'a>(
    node: &Node,
    handle: &super::ClusterHandle,
    sess: &Session,
    mut keys: impl Iterator<Item = &'a Bytes>,
    kind: Kind,
    now: u64,
) -> Option<String> {
    let write = kind.write;
    let first = keys.next()?;
    let routing = handle.routing();
    let slot = key_slot(first);
    let Some(owner) = routing.owner(slot) else {
        return Some(UNBOUND.into());
    };
    let mine = owner.name == routing.myself;
    let migrating = if mine {
        routing.migrating.get(&slot)
    } else {
        None
    };
    let importing = routing.importing.contains_key(&slot);
    let look = (migrating.is_some() || importing) && !kind.pubsub_shard;
    let (mut missing, mut existing, mut multiple) = (0usize, 0usize, false);
    for k in std::iter::once(first).chain(keys) {
        if k != first {
            if key_slot(k) != slot {
                return Some(CROSSSLOT.into());
            }
            multiple = true;
        }
        if look {
            if node.db(0).lock_slot(slot).contains(slot, k, now) {
                existing += 1;
            } else {
                missing += 1;
            }
        }
    }
    if !routing.state_ok {
        let cfg = node.config.current();
        if kind.pubsub_shard {
            if !cfg.cluster_allow_pubsubshard_when_down {
                return Some(DOWN.into());
            }
        } else if !cfg.cluster_allow_reads_when_down {
            return Some(DOWN.into());
        } else if write {
            return Some(DOWN_RO.into());
        }
    }
    if kind.migrate && (migrating.is_some() || importing) {
        return None;
    }
    if let Some(target) = migrating {
        if missing > 0 {
            if existing > 0 {
                return Some(TRYAGAIN.into());
            }
            let to = routing.nodes.iter().find(|n| n.name == *target);
            return Some(match to {
                Some(n) => format!("ASK {slot} {}", endpoint(node, n)),
                None => format!("ASK {slot} :0"),
            });
        }
    }
    if importing && (sess.cluster.asking || kind.asking) {
        if multiple && missing > 0 {
            return Some(TRYAGAIN.into());
        }
        return None;
    }
    if (sess.cluster.readonly || kind.pubsub_shard)
        && !write
        && routing.my_master == Some(owner.name)
    {
        return None;
    }
    if mine {
        return None;
    }
    Some(format!("MOVED {slot} {}", endpoint(node, owner)))
}

/// The error a client blocked on `key` gets when this node can no longer serve it
/// (clusterRedirectBlockedClientIfNeeded): the cluster is down, the slot is unassigned,
/// or it belongs to another node and is not being imported here.
pub(super) fn blocked_redirect(node: &Node, routing: &Routing, key: &[u8]) -> Option<String> {
    if !routing.state_ok {
        return Some(DOWN.into());
    }
    let slot = key_slot(key);
    let owner = routing.owner(slot);
    if owner.is_some_and(|o| o.name == routing.myself) || routing.importing.contains_key(&slot) {
        return None;
    }
    Some(match owner {
        None => UNBOUND.into(),
        Some(o) => format!("MOVED {slot} {}", endpoint(node, o)),
    })
}
