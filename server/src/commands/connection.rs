//! Connection commands: AUTH, HELLO, CLIENT, SELECT, PING, ECHO, QUIT, RESET.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use resp_proto::Protocol;

use super::keys::reply_help;
use super::numbers::parse_i64;
use super::{help_data, CmdError, CmdResult, Ctx, Handler, ReplyMode};
use crate::replication::ClientRole;

pub(super) fn handler(name: &str) -> Option<Handler> {
    Some(match name {
        "auth" => auth,
        "hello" => hello,
        "ping" => ping,
        "echo" => echo,
        "quit" => quit,
        "reset" => reset,
        "select" => select,
        "client|id" => client_id,
        "client|setname" => client_setname,
        "client|getname" => client_getname,
        "client|list" => client_list,
        "client|info" => client_info,
        "client|kill" => client_kill,
        "client|no-evict" => client_no_evict,
        "client|reply" => client_reply,
        "client|help" => client_help,
        _ => return None,
    })
}

fn eq(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// ACLAuthenticateUser for the only user there is, `default`.
fn check_credentials(ctx: &Ctx<'_, '_>, user: &[u8], pass: &[u8]) -> bool {
    if user != b"default" {
        return false;
    }
    match &ctx.node.config.current().requirepass {
        None => true,
        Some(p) => p.as_slice() == pass,
    }
}

fn auth(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::SYNTAX);
    }
    let (user, pass): (&[u8], &[u8]) = if args.len() == 2 {
        if ctx.node.config.current().requirepass.is_none() {
            return Err(CmdError::msg("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"));
        }
        (b"default", &args[1])
    } else {
        (&args[1], &args[2])
    };
    if check_credentials(ctx, user, pass) {
        ctx.sess.authenticated = true;
        ctx.out.ok();
        Ok(())
    } else {
        Err(CmdError::msg(WRONGPASS))
    }
}

/// clientSetName's check: printable ASCII without spaces; empty clears the name.
fn check_name(name: &[u8]) -> CmdResult {
    if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(CmdError::msg(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

fn set_name(ctx: &mut Ctx<'_, '_>, name: &Bytes) -> CmdResult {
    check_name(name)?;
    ctx.sess.info.set_name(if name.is_empty() {
        None
    } else {
        Some(name.clone())
    });
    Ok(())
}

fn hello(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let mut ver = 0;
    let mut next = 1;
    if let Some(v) = args.get(1) {
        ver = parse_i64(v)
            .map_err(|_| CmdError::msg("ERR Protocol version is not an integer or out of range"))?;
        next = 2;
        if !(2..=3).contains(&ver) {
            return Err(CmdError::msg("NOPROTO unsupported protocol version"));
        }
    }
    let mut creds: Option<(&Bytes, &Bytes)> = None;
    let mut name: Option<&Bytes> = None;
    let mut j = next;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if eq(&args[j], "auth") && more >= 2 {
            creds = Some((&args[j + 1], &args[j + 2]));
            j += 2;
        } else if eq(&args[j], "setname") && more >= 1 {
            name = Some(&args[j + 1]);
            j += 1;
        } else {
            return Err(CmdError::msg(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&args[j])
            )));
        }
        j += 1;
    }
    if let Some((user, pass)) = creds {
        if !check_credentials(ctx, user, pass) {
            return Err(CmdError::msg(WRONGPASS));
        }
        ctx.sess.authenticated = true;
    }
    // 7.0.15 checks the name after AUTH and before requiring authentication.
    if let Some(n) = name {
        check_name(n)?;
    }
    if !ctx.sess.authenticated {
        return Err(CmdError::msg("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"));
    }
    if let Some(n) = name {
        set_name(ctx, n)?;
    }
    if ver != 0 {
        let proto = if ver == 3 {
            Protocol::Resp3
        } else {
            Protocol::Resp2
        };
        ctx.sess.proto = proto;
        ctx.sess.info.resp3.store(ver == 3, Ordering::Relaxed);
    }
    let mode: &[u8] = if ctx.node.cluster_enabled() {
        b"cluster"
    } else {
        b"standalone"
    };
    let id = ctx.sess.id as i64;
    let proto = ctx.sess.proto;
    // The reply itself already uses the new protocol.
    let mut w = resp_proto::ReplyWriter::new(ctx.out.buffer(), proto);
    w.map_len(7);
    w.bulk(b"server");
    w.bulk(b"redis");
    w.bulk(b"version");
    w.bulk(crate::VERSION.as_bytes());
    w.bulk(b"proto");
    w.integer(if proto == Protocol::Resp3 { 3 } else { 2 });
    w.bulk(b"id");
    w.integer(id);
    w.bulk(b"mode");
    w.bulk(mode);
    w.bulk(b"role");
    w.bulk(b"master");
    w.bulk(b"modules");
    w.array_len(0);
    Ok(())
}

fn ping(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 2 {
        return Err(CmdError::msg(
            "ERR wrong number of arguments for 'ping' command",
        ));
    }
    if ctx.sess.in_pubsub() && ctx.out.protocol() == Protocol::Resp2 {
        ctx.out.array_len(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(args.get(1).map_or(&b""[..], |b| &b[..]));
    } else if let Some(msg) = args.get(1) {
        ctx.out.bulk(msg);
    } else {
        ctx.out.simple(b"PONG");
    }
    Ok(())
}

fn echo(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    ctx.out.bulk(&args[1]);
    Ok(())
}

fn quit(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CmdResult {
    ctx.out.ok();
    ctx.sess.close_after_reply = true;
    Ok(())
}

fn reset(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CmdResult {
    super::tx::end_multi(ctx.node, ctx.sess);
    super::pubsub::clear_session(ctx.node, ctx.sess);
    ctx.node.monitors.remove(&ctx.sess.info);
    ctx.sess.db = 0;
    ctx.sess.reply_mode = ReplyMode::On;
    ctx.sess.info.set_name(None);
    ctx.sess.info.no_evict.store(false, Ordering::Relaxed);
    ctx.sess.authenticated = ctx.node.config.current().requirepass.is_none();
    ctx.sess.proto = Protocol::Resp2;
    ctx.sess.info.resp3.store(false, Ordering::Relaxed);
    ctx.out.simple(b"RESET");
    Ok(())
}

fn select(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let id = super::numbers::parse_i32(&args[1])?;
    if ctx.node.cluster_enabled() && id != 0 {
        return Err(CmdError::msg("ERR SELECT is not allowed in cluster mode"));
    }
    if id < 0 || id as usize >= ctx.node.keyspace.db_count() {
        return Err(CmdError::DB_RANGE);
    }
    ctx.sess.db = id as usize;
    ctx.sess.info.db.store(id as usize, Ordering::Relaxed);
    ctx.out.ok();
    Ok(())
}

fn client_id(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CmdResult {
    ctx.out.integer(ctx.sess.id as i64);
    Ok(())
}

fn client_setname(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    set_name(ctx, &args[2])?;
    ctx.out.ok();
    Ok(())
}

fn client_getname(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CmdResult {
    match ctx.sess.info.name() {
        Some(n) => ctx.out.bulk(&n),
        None => ctx.out.null(),
    }
    Ok(())
}

fn sync_handle(ctx: &Ctx<'_, '_>) {
    let info = &ctx.sess.info;
    info.set_last_command(ctx.sess.last_command);
    info.db.store(ctx.sess.db, Ordering::Relaxed);
    info.multi.store(
        ctx.sess.multi.as_ref().map_or(-1, |q| q.len() as i64),
        Ordering::Relaxed,
    );
}

fn client_list(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    sync_handle(ctx);
    let mut type_filter: Option<&[u8]> = None;
    let mut ids: Option<Vec<u64>> = None;
    let mut j = 2;
    while j < args.len() {
        if eq(&args[j], "type") && j + 1 < args.len() {
            let t = &args[j + 1];
            if !["normal", "master", "replica", "slave", "pubsub"]
                .iter()
                .any(|n| eq(t, n))
            {
                return Err(CmdError::msg(format!(
                    "ERR Unknown client type '{}'",
                    String::from_utf8_lossy(t)
                )));
            }
            type_filter = Some(t);
            j += 2;
        } else if eq(&args[j], "id") && j + 1 < args.len() {
            let mut v = Vec::new();
            for a in &args[j + 1..] {
                match parse_i64(a) {
                    Ok(n) if n > 0 => v.push(n as u64),
                    _ => return Err(CmdError::msg("ERR Invalid client ID")),
                }
            }
            ids = Some(v);
            j = args.len();
        } else {
            return Err(CmdError::SYNTAX);
        }
    }
    let now = ctx.now;
    let mut text = String::new();
    for c in listed_clients(ctx.node) {
        if let Some(ids) = &ids {
            if !ids.contains(&c.id) {
                continue;
            }
        }
        let role = ctx.node.repl.client_role(c.id);
        if type_filter.is_some_and(|t| !type_matches(t, client_type(&c, role))) {
            continue;
        }
        text.push_str(&role_flagged(c.info_line(now), role));
    }
    ctx.out.verbatim(b"txt", text.as_bytes());
    Ok(())
}

/// Every client CLIENT LIST and CLIENT KILL see: the registry's and our master's link.
fn listed_clients(node: &crate::node::Node) -> Vec<std::sync::Arc<crate::net::ClientHandle>> {
    let mut all = node.clients.all();
    all.extend(node.repl.master_client());
    all
}

/// The client's type for CLIENT LIST/KILL TYPE (Redis's getClientType).
fn client_type(c: &crate::net::ClientHandle, role: Option<ClientRole>) -> &'static str {
    match role {
        Some(ClientRole::Replica) => "replica",
        Some(ClientRole::Master) => "master",
        None if c.sub.load(Ordering::Relaxed)
            + c.psub.load(Ordering::Relaxed)
            + c.ssub.load(Ordering::Relaxed)
            > 0 =>
        {
            "pubsub"
        }
        None => "normal",
    }
}

/// Whether a TYPE argument (already checked to be a known type) names `ty`.
fn type_matches(arg: &[u8], ty: &str) -> bool {
    eq(arg, ty) || (ty == "replica" && eq(arg, "slave"))
}

/// Redis flags a replica's connection `S` and the master's link `M`, before other flags.
fn role_flagged(mut line: String, role: Option<ClientRole>) -> String {
    let flag = match role {
        Some(ClientRole::Replica) => 'S',
        Some(ClientRole::Master) => 'M',
        None => return line,
    };
    if let Some(at) = line.find(" flags=").map(|i| i + " flags=".len()) {
        if line.get(at..).is_some_and(|rest| rest.starts_with("N ")) {
            line.replace_range(at..at + 1, flag.encode_utf8(&mut [0; 4]));
        } else {
            line.insert(at, flag);
        }
    }
    line
}

fn client_info(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CmdResult {
    sync_handle(ctx);
    let line = ctx.sess.info.info_line(ctx.now);
    ctx.out.verbatim(b"txt", line.as_bytes());
    Ok(())
}

fn client_kill(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    if args.len() == 3 {
        // Old form: CLIENT KILL addr:port.
        let target = String::from_utf8_lossy(&args[2]).into_owned();
        let found = ctx
            .node
            .clients
            .all()
            .into_iter()
            .find(|c| c.addr.to_string() == target);
        let Some(c) = found else {
            return Err(CmdError::msg("ERR No such client"));
        };
        if c.id == ctx.sess.id {
            ctx.sess.close_after_reply = true;
        } else {
            c.kill();
        }
        ctx.out.ok();
        return Ok(());
    }
    if args.len() % 2 != 0 {
        return Err(CmdError::SYNTAX);
    }
    let (mut id, mut addr, mut laddr, mut ctype, mut user) = (None, None, None, None, None);
    let mut skipme = true;
    for pair in args[2..].chunks_exact(2) {
        let (opt, val) = (&pair[0], &pair[1]);
        if eq(opt, "id") {
            match parse_i64(val) {
                Ok(n) if n > 0 => id = Some(n as u64),
                _ => return Err(CmdError::msg("ERR client-id should be greater than 0")),
            }
        } else if eq(opt, "type") {
            if !["normal", "master", "replica", "slave", "pubsub"]
                .iter()
                .any(|n| eq(val, n))
            {
                return Err(CmdError::msg(format!(
                    "ERR Unknown client type '{}'",
                    String::from_utf8_lossy(val)
                )));
            }
            ctype = Some(val.to_ascii_lowercase());
        } else if eq(opt, "addr") {
            addr = Some(String::from_utf8_lossy(val).into_owned());
        } else if eq(opt, "laddr") {
            laddr = Some(String::from_utf8_lossy(val).into_owned());
        } else if eq(opt, "user") {
            if val.as_ref() != b"default" {
                return Err(CmdError::msg(format!(
                    "ERR No such user '{}'",
                    String::from_utf8_lossy(val)
                )));
            }
            user = Some(());
        } else if eq(opt, "skipme") {
            if eq(val, "yes") {
                skipme = true;
            } else if eq(val, "no") {
                skipme = false;
            } else {
                return Err(CmdError::SYNTAX);
            }
        } else {
            return Err(CmdError::SYNTAX);
        }
    }
    let _ = user;
    let mut killed = 0;
    for c in listed_clients(ctx.node) {
        let role = ctx.node.repl.client_role(c.id);
        let matches = id.is_none_or(|i| c.id == i)
            && addr.as_ref().is_none_or(|a| c.addr.to_string() == *a)
            && laddr.as_ref().is_none_or(|a| c.laddr.to_string() == *a)
            && ctype
                .as_ref()
                .is_none_or(|t| type_matches(t, client_type(&c, role)));
        if !matches || (skipme && c.id == ctx.sess.id) {
            continue;
        }
        if c.id == ctx.sess.id {
            ctx.sess.close_after_reply = true;
        } else {
            c.kill();
        }
        killed += 1;
    }
    ctx.out.integer(killed);
    Ok(())
}

fn client_no_evict(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let v = if eq(&args[2], "on") {
        true
    } else if eq(&args[2], "off") {
        false
    } else {
        return Err(CmdError::SYNTAX);
    };
    ctx.sess.info.no_evict.store(v, Ordering::Relaxed);
    ctx.out.ok();
    Ok(())
}

fn client_reply(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    if eq(&args[2], "on") {
        ctx.sess.reply_mode = ReplyMode::On;
        ctx.out.ok();
    } else if eq(&args[2], "off") {
        ctx.sess.reply_mode = ReplyMode::Off;
    } else if eq(&args[2], "skip") {
        if ctx.sess.reply_mode == ReplyMode::On {
            ctx.sess.reply_mode = ReplyMode::Skip;
        }
    } else {
        return Err(CmdError::SYNTAX);
    }
    Ok(())
}

fn client_help(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    reply_help(ctx, args, help_data::CLIENT)
}
