//! REPLICAOF / SLAVEOF, REPLCONF, PSYNC, SYNC, WAIT and ROLE (the logic is in
//! `crate::replication`).

use bytes::Bytes;

use super::{parse_i64, CmdError, CmdResult, Ctx, Handler};
use crate::replication::master::Psync;

pub(super) fn handler(name: &str) -> Option<Handler> {
    Some(match name {
        "replicaof" | "slaveof" => replicaof,
        "replconf" => replconf,
        "psync" => psync,
        "sync" => sync,
        "wait" => wait,
        "role" => role,
        _ => return None,
    })
}

fn replicaof(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    if ctx.node.cluster_enabled() {
        return Err(CmdError::msg("ERR REPLICAOF not allowed in cluster mode."));
    }
    let (Some(host), Some(port)) = (args.get(1), args.get(2)) else {
        return Err(CmdError::SYNTAX);
    };
    if host.eq_ignore_ascii_case(b"no") && port.eq_ignore_ascii_case(b"one") {
        ctx.node.repl.unset_master(ctx.node);
        ctx.out.simple(b"OK");
        return Ok(());
    }
    if ctx.node.repl.is_replica_client(ctx.sess.id) {
        return Err(CmdError::msg(
            "ERR Command is not valid when client is a replica.",
        ));
    }
    let Some(port) = parse_i64(port).ok().and_then(|p| u16::try_from(p).ok()) else {
        return Err(CmdError::msg("ERR Invalid master port"));
    };
    let host = String::from_utf8_lossy(host).into_owned();
    if ctx.node.repl.set_master(ctx.node, &host, port) {
        ctx.out.simple(b"OK");
    } else {
        ctx.out.simple(b"OK Already connected to specified master");
    }
    Ok(())
}

fn replconf(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    if ctx.node.repl.replconf(&ctx.sess.info, args)? {
        ctx.out.simple(b"OK");
    }
    Ok(())
}

fn psync(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let replid = args.get(1).map(|b| b.as_ref()).unwrap_or_default();
    let offset = args
        .get(2)
        .and_then(|o| parse_i64(o).ok())
        .and_then(|o| u64::try_from(o).ok());
    start_sync(ctx, replid, offset, true)
}

fn sync(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CmdResult {
    start_sync(ctx, b"", None, false)
}

fn start_sync(ctx: &mut Ctx<'_, '_>, replid: &[u8], offset: Option<u64>, psync: bool) -> CmdResult {
    let info = ctx.sess.info.clone();
    match ctx
        .node
        .repl
        .psync(ctx.node, &info, replid, offset, psync)?
    {
        // Both answers reach the replica through its push queue, in stream order.
        Psync::Continue | Psync::Full => Ok(()),
    }
}

fn wait(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    if ctx.node.repl.is_replica() {
        return Err(CmdError::msg("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated."));
    }
    let want = args.get(1).map(|a| parse_i64(a)).transpose()?.unwrap_or(0);
    let timeout = args
        .get(2)
        .map(|a| {
            parse_i64(a).map_err(|_| CmdError::msg("ERR timeout is not an integer or out of range"))
        })
        .transpose()?
        .unwrap_or(0);
    if timeout < 0 {
        return Err(CmdError::msg("ERR timeout is negative"));
    }
    let n = ctx.node.repl.wait_acks(
        &ctx.sess.info,
        u64::try_from(want).unwrap_or(0),
        timeout as u64,
    );
    ctx.out.integer(n as i64);
    Ok(())
}

fn role(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CmdResult {
    crate::replication::role_reply(ctx.node, ctx.out);
    Ok(())
}
