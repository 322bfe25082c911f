//! CLUSTER, ASKING, READONLY and READWRITE. CLUSTER goes to the actor and waits for its
//! reply; the reply is rendered here in RESP2 or RESP3 (client-behaviour.md §5.7).

use bytes::Bytes;
use cluster_core::reply::{LinkInfo, Shard, SlotsRange};
use cluster_core::{KeyFacts, KeyspaceQuery, Reply, Request};
use resp_proto::ReplyWriter;
use tokio::sync::oneshot;

use super::actor::ActorInput;
use crate::commands::{CmdError, CmdResult, Ctx, Handler};

const DISABLED: &str = "ERR This instance has cluster support disabled";

/// The handler of one of the four commands, by name.
pub fn handler(name: &str) -> Option<Handler> {
    match name {
        "cluster" => Some(cluster),
        "asking" => Some(asking),
        "readonly" => Some(readonly),
        "readwrite" => Some(readwrite),
        _ => None,
    }
}

fn asking(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CmdResult {
    if ctx.node.cluster.get().is_none() {
        return Err(CmdError::msg(DISABLED));
    }
    ctx.sess.cluster.asking = true;
    ctx.out.simple(b"OK");
    Ok(())
}

fn readonly(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CmdResult {
    if ctx.node.cluster.get().is_none() {
        return Err(CmdError::msg(DISABLED));
    }
    ctx.sess.cluster.readonly = true;
    ctx.out.simple(b"OK");
    Ok(())
}

fn readwrite(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CmdResult {
    if ctx.node.cluster.get().is_none() {
        return Err(CmdError::msg(DISABLED));
    }
    ctx.sess.cluster.readonly = false;
    ctx.out.simple(b"OK");
    Ok(())
}

fn cluster(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let argv: Vec<&[u8]> = args.iter().map(|a| a.as_ref()).collect();
    let parsed = Request::parse(&argv);
    let Some(handle) = ctx.node.cluster.get() else {
        // Redis looks the subcommand up and checks its arity before the handler says
        // cluster support is disabled.
        return Err(CmdError::msg(match parsed {
            Err(
                e @ (cluster_core::CmdError::ClusterArity
                | cluster_core::CmdError::Arity(_)
                | cluster_core::CmdError::UnknownSubcommand(_)),
            ) => e.to_string(),
            _ => DISABLED.to_string(),
        }));
    };
    let req = parsed.map_err(|e| CmdError::msg(e.to_string()))?;
    let db = ctx.node.db(0);
    let keys = KeyFacts {
        db_keys: db.len() as u64,
        slot_keys: req
            .slot()
            .map_or(0, |s| db.lock_slot(s).slot(s).len() as u64),
    };
    let (tx, rx) = oneshot::channel();
    let input = ActorInput::Command {
        req,
        keys,
        reply: tx,
    };
    match ask(&handle.tx, input, rx)? {
        Ok(reply) => render(ctx, reply),
        Err(text) => Err(CmdError::msg(text)),
    }
}

/// DEBUG DROP-CLUSTER-PACKET-FILTER and DEBUG CLUSTERLINK KILL: the actor runs them.
/// Without cluster support the filter is accepted and has nothing to filter, while
/// CLUSTERLINK is refused, as Redis does.
pub fn debug(ctx: &mut Ctx<'_, '_>, req: Request) -> CmdResult {
    let Some(handle) = ctx.node.cluster.get() else {
        if matches!(req, Request::DebugDropPacketFilter(_)) {
            ctx.out.simple(b"OK");
            return Ok(());
        }
        return Err(CmdError::msg(
            "ERR Debug option only available for cluster mode enabled setup!",
        ));
    };
    let (tx, rx) = oneshot::channel();
    let input = ActorInput::Command {
        req,
        keys: KeyFacts::default(),
        reply: tx,
    };
    match ask(&handle.tx, input, rx)? {
        Ok(reply) => render(ctx, reply),
        Err(text) => Err(CmdError::msg(text)),
    }
}

/// Hands a command to the actor and waits for its answer. Client commands run
/// synchronously on a runtime worker, so the worker is handed over to the runtime while
/// waiting (CLUSTER is not a hot path: the actor answers in microseconds, or after an
/// fsync of nodes.conf).
fn ask(
    actor: &tokio::sync::mpsc::Sender<ActorInput>,
    input: ActorInput,
    rx: oneshot::Receiver<Result<Reply, String>>,
) -> Result<Result<Reply, String>, CmdError> {
    use tokio::runtime::{Handle, RuntimeFlavor};
    let gone = || CmdError::msg("ERR the cluster actor is not running");
    let blocking = || {
        actor.blocking_send(input).map_err(|_| gone())?;
        rx.blocking_recv().map_err(|_| gone())
    };
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(blocking)
        }
        Ok(_) => Err(CmdError::msg(
            "ERR CLUSTER needs the multi-threaded runtime",
        )),
        Err(_) => blocking(),
    }
}

fn render(ctx: &mut Ctx<'_, '_>, reply: Reply) -> CmdResult {
    let out = &mut *ctx.out;
    match reply {
        Reply::Ok => out.simple(b"OK"),
        Reply::Status(s) => out.simple(s.as_bytes()),
        Reply::Int(i) => out.integer(i),
        Reply::Bulk(s) => out.bulk(s.as_bytes()),
        Reply::Text(s) => out.verbatim(b"txt", s.as_bytes()),
        Reply::StatusLines(lines) => {
            out.array_len(lines.len());
            for l in lines {
                out.simple(l.as_bytes());
            }
        }
        Reply::BulkLines(lines) => {
            out.array_len(lines.len());
            for l in lines {
                out.bulk(l.as_bytes());
            }
        }
        Reply::Slots(ranges) => slots(out, &ranges),
        Reply::Shards(shards) => shards_reply(out, &shards),
        Reply::Links(links) => links_reply(out, &links),
        Reply::Keyspace(q) => keyspace(ctx, q),
        Reply::Error(e) => return Err(CmdError::msg(e.to_string())),
    }
    Ok(())
}

fn keyspace(ctx: &mut Ctx<'_, '_>, q: KeyspaceQuery) {
    let db = ctx.node.db(0);
    match q {
        KeyspaceQuery::CountKeysInSlot(slot) => {
            let n = db.lock_slot(slot).slot(slot).len();
            ctx.out.integer(i64::try_from(n).unwrap_or(i64::MAX));
        }
        KeyspaceQuery::GetKeysInSlot { slot, count } => {
            let shard = db.lock_slot(slot);
            let take = usize::try_from(count).unwrap_or(usize::MAX);
            let keys: Vec<&[u8]> = shard
                .slot(slot)
                .iter()
                .take(take)
                .map(|e| e.key())
                .collect();
            ctx.out.array_len(keys.len());
            for k in keys {
                ctx.out.bulk(k);
            }
        }
    }
}

fn slots(out: &mut ReplyWriter<'_>, ranges: &[SlotsRange]) {
    out.array_len(ranges.len());
    for r in ranges {
        out.array_len(2 + r.nodes.len());
        out.integer(i64::from(r.start));
        out.integer(i64::from(r.end));
        for n in &r.nodes {
            out.array_len(4);
            match &n.endpoint {
                Some(e) => out.bulk(e.as_bytes()),
                None => out.null(),
            }
            out.integer(i64::from(n.port));
            out.bulk(n.id.as_bytes());
            out.map_len(n.metadata.len());
            for (k, v) in &n.metadata {
                out.bulk(k.as_bytes());
                out.bulk(v.as_bytes());
            }
        }
    }
}

fn shards_reply(out: &mut ReplyWriter<'_>, shards: &[Shard]) {
    out.array_len(shards.len());
    for s in shards {
        out.map_len(2);
        out.bulk(b"slots");
        out.array_len(s.slots.len());
        for slot in &s.slots {
            out.integer(i64::from(*slot));
        }
        out.bulk(b"nodes");
        out.array_len(s.nodes.len());
        for n in &s.nodes {
            let fields = 6 + usize::from(n.port.is_some()) + usize::from(n.hostname.is_some());
            out.map_len(fields);
            out.bulk(b"id");
            out.bulk(n.id.as_bytes());
            if let Some(p) = n.port {
                out.bulk(b"port");
                out.integer(i64::from(p));
            }
            out.bulk(b"ip");
            out.bulk(n.ip.as_bytes());
            out.bulk(b"endpoint");
            out.bulk(n.endpoint.as_bytes());
            if let Some(h) = &n.hostname {
                out.bulk(b"hostname");
                out.bulk(h.as_bytes());
            }
            out.bulk(b"role");
            out.bulk(n.role.as_bytes());
            out.bulk(b"replication-offset");
            out.integer(i64::try_from(n.replication_offset).unwrap_or(i64::MAX));
            out.bulk(b"health");
            out.bulk(n.health.as_bytes());
        }
    }
}

fn links_reply(out: &mut ReplyWriter<'_>, links: &[LinkInfo]) {
    out.array_len(links.len());
    for l in links {
        out.map_len(6);
        out.bulk(b"direction");
        out.bulk(l.direction.as_bytes());
        out.bulk(b"node");
        out.bulk(l.node.as_bytes());
        out.bulk(b"create-time");
        out.integer(i64::try_from(l.create_time).unwrap_or(i64::MAX));
        out.bulk(b"events");
        out.bulk(l.events.as_bytes());
        out.bulk(b"send-buffer-allocated");
        out.integer(i64::try_from(l.send_buffer_allocated).unwrap_or(i64::MAX));
        out.bulk(b"send-buffer-used");
        out.integer(i64::try_from(l.send_buffer_used).unwrap_or(i64::MAX));
    }
}
