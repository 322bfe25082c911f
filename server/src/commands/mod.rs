//! Commands: the table, the dispatcher (processCommand's order of checks) and the handlers.

mod bits;
pub mod blocking;
pub mod cmdstats;
mod connection;
mod hashes;
mod help_data;
mod keys;
pub mod latency;
mod lists;
mod longdouble;
pub mod migrate;
pub mod monitor;
mod names;
mod numbers;
mod persist;
pub mod pubsub;
mod redact;
mod replication;
mod server;
mod session;
mod sets;
mod strings;
pub mod table;
mod table_data;
mod tx;
mod types_common;
mod zsets;

use std::borrow::Cow;

use bytes::Bytes;
use resp_proto::ReplyWriter;

use crate::keyspace::{key_slot, Db};
use crate::node::Node;

pub use blocking::Blocking;
pub use numbers::{parse_f64, parse_i64};
pub use server::SlowLog;
pub use session::{ReplyMode, Session};
pub use table::{Command, CommandTable};
pub use types_common::movable_keys;

/// Forgets a closing connection's watches and subscriptions.
pub fn disconnect(node: &Node, sess: &mut Session) {
    tx::unwatch_all(node, sess);
    pubsub::clear_session(node, sess);
    blocking::disconnect(node, sess);
    node.monitors.remove(&sess.info);
    node.repl.disconnect(sess.id);
}

/// An error reply: the full text after `-` (e.g. `ERR syntax error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdError(pub Cow<'static, str>);

impl CmdError {
    /// `ERR syntax error`
    pub const SYNTAX: CmdError = CmdError(Cow::Borrowed("ERR syntax error"));
    /// `ERR value is not an integer or out of range`
    pub const NOT_INT: CmdError =
        CmdError(Cow::Borrowed("ERR value is not an integer or out of range"));
    /// `ERR value is not a valid float`
    pub const NOT_FLOAT: CmdError = CmdError(Cow::Borrowed("ERR value is not a valid float"));
    /// `ERR increment or decrement would overflow`
    pub const OVERFLOW: CmdError =
        CmdError(Cow::Borrowed("ERR increment or decrement would overflow"));
    /// WRONGTYPE.
    pub const WRONG_TYPE: CmdError = CmdError(Cow::Borrowed(
        "WRONGTYPE Operation against a key holding the wrong kind of value",
    ));
    /// `ERR no such key`
    pub const NO_SUCH_KEY: CmdError = CmdError(Cow::Borrowed("ERR no such key"));
    /// `ERR DB index is out of range`
    pub const DB_RANGE: CmdError = CmdError(Cow::Borrowed("ERR DB index is out of range"));

    /// An error with owned text.
    pub fn msg(s: impl Into<String>) -> CmdError {
        CmdError(Cow::Owned(s.into()))
    }
}

/// What a handler returns: the reply is already written on success.
pub type CmdResult = Result<(), CmdError>;

/// A command handler.
pub type Handler = fn(&mut Ctx<'_, '_>, &[Bytes]) -> CmdResult;

/// Everything a handler may touch.
pub struct Ctx<'a, 'w> {
    /// Shared node state.
    pub node: &'a Node,
    /// This connection's state.
    pub sess: &'a mut Session,
    /// Where the reply goes.
    pub out: &'a mut ReplyWriter<'w>,
    /// Unix ms when the command started (one clock reading per command, like Redis).
    pub now: u64,
}

impl<'a> Ctx<'a, '_> {
    /// The selected database.
    pub fn db(&self) -> &'a Db {
        self.node.db(self.sess.db)
    }
}

/// Finds the handler of a command or subcommand by full name.
pub fn handler_for(name: &str) -> Option<Handler> {
    strings::handler(name)
        .or_else(|| bits::handler(name))
        .or_else(|| crate::cluster::handler(name))
        .or_else(|| keys::handler(name))
        .or_else(|| tx::handler(name))
        .or_else(|| pubsub::handler(name))
        .or_else(|| server::handler(name))
        .or_else(|| latency::handler(name))
        .or_else(|| connection::handler(name))
        .or_else(|| hashes::handler(name))
        .or_else(|| sets::handler(name))
        .or_else(|| zsets::handler(name))
        .or_else(|| lists::handler(name))
        .or_else(|| blocking::handler(name))
        .or_else(|| persist::handler(name))
        .or_else(|| migrate::handler(name))
        .or_else(|| replication::handler(name))
        .or_else(|| monitor::handler(name))
}

/// The slot of the first key argument of a command, if it has keys.
pub fn first_key_slot(cmd: &Command, args: &[Bytes]) -> Option<u16> {
    let i = cmd.keys.key_indices(args.len()).next()?;
    args.get(i).map(|k| key_slot(k))
}

/// The time a batch of commands runs at: one wall-clock reading per batch (pipelined
/// commands run within microseconds of each other) and one monotonic reading per command
/// for the statistics and the slow log.
///
/// A command's duration runs from the end of the previous command of the batch (or the
/// batch start) to its own end, so each command costs one monotonic reading, not two.
/// What lies between two commands is decoding and the dispatch checks, well under a
/// microsecond. Anything else (a wait for a write pause, for the world lock held by a
/// writer, or commands that were queued or refused instead of run) makes the next
/// command read its own start ([`Clock::restart`]), so it is never counted.
pub struct Clock {
    /// Unix milliseconds used by every command of the batch.
    pub now_ms: u64,
    began: std::time::Instant,
    mark: std::time::Instant,
    /// The mark is not where the next command starts: read the clock before it runs.
    stale: bool,
}

impl Clock {
    /// Reads the clocks.
    pub fn new() -> Clock {
        Clock::at(crate::keyspace::now_ms())
    }

    /// A clock at `now_ms` for commands run inside another one (EXEC).
    pub fn at(now_ms: u64) -> Clock {
        let now = std::time::Instant::now();
        Clock {
            now_ms,
            began: now,
            mark: now,
            stale: false,
        }
    }

    /// From the clock's creation to the end of the last command timed (no clock read).
    pub fn ran_for(&self) -> std::time::Duration {
        self.mark.saturating_duration_since(self.began)
    }

    /// The next command's duration starts when it starts, not at the mark.
    fn restart(&mut self) {
        self.stale = true;
    }

    /// Called right before a handler runs: reads the start if the mark is stale.
    fn start(&mut self) {
        if self.stale {
            self.mark = std::time::Instant::now();
            self.stale = false;
        }
    }

    /// Time since the start; the next duration starts here.
    fn lap(&mut self) -> std::time::Duration {
        let now = std::time::Instant::now();
        let d = now.saturating_duration_since(self.mark);
        self.mark = now;
        self.stale = false;
        d
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

/// What the connection must do after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// Keep going.
    Continue,
    /// Flush and close (QUIT, CLIENT KILL of itself, protocol errors).
    Close,
}

/// Appends `'a' 'b' ` the way Redis lists the first arguments of an unknown command: the
/// bytes as they came (Redis's `%s`), not text.
fn args_preview(s: &mut Vec<u8>, args: &[Bytes]) {
    let start = s.len();
    for a in args.iter().skip(1) {
        let used = s.len() - start;
        if used >= 128 {
            break;
        }
        let text = c_string(a);
        s.push(b'\'');
        s.extend_from_slice(&text[..text.len().min(128 - used)]);
        s.extend_from_slice(b"' ");
    }
}

/// The bytes a C `%s` would print: up to the first NUL.
fn c_string(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(n) => &b[..n],
        None => b,
    }
}

/// Writes an error reply the way Redis's addReplyError does (CR/LF become spaces), and
/// counts it. Bytes, not text: some errors echo what the client sent.
pub fn write_error(node: &Node, out: &mut ReplyWriter<'_>, text: impl AsRef<[u8]>) {
    let text = text.as_ref();
    node.stats.error();
    cmdstats::note_error();
    node.stats.error_kind(text);
    out.error(text);
}

fn unknown_command(args: &[Bytes]) -> Vec<u8> {
    let name = c_string(args.first().map_or(&[][..], |a| &a[..]));
    let mut s = b"ERR unknown command '".to_vec();
    s.extend_from_slice(&name[..name.len().min(128)]);
    s.extend_from_slice(b"', with args beginning with: ");
    args_preview(&mut s, args);
    s
}

/// Resolves `args` to a command (descending into subcommands) or the error Redis gives.
/// Inlined into the dispatcher: a plain command resolves in a few dozen instructions.
#[inline(always)]
pub fn resolve<'t>(table: &'t CommandTable, args: &[Bytes]) -> Result<&'t Command, Vec<u8>> {
    let found = args.first().and_then(|name| table.get(name));
    match found {
        Some(cmd) if cmd.subcommands.is_empty() && cmd.arity_ok(args.len()) => Ok(cmd),
        _ => resolve_further(found, args),
    }
}

/// [`resolve`] past a plain command with the right arity: subcommands and errors.
#[inline(never)]
fn resolve_further<'t>(found: Option<&'t Command>, args: &[Bytes]) -> Result<&'t Command, Vec<u8>> {
    let (Some(cmd), Some(name)) = (found, args.first()) else {
        return Err(unknown_command(args));
    };
    let arity_error = |c: &Command| {
        format!("ERR wrong number of arguments for '{}' command", c.name).into_bytes()
    };
    if cmd.subcommands.is_empty() {
        return Err(arity_error(cmd));
    }
    let Some(sub_name) = args.get(1) else {
        // A container that also runs alone (COMMAND, arity -1) is its own command.
        if cmd.arity_ok(args.len()) {
            return Ok(cmd);
        }
        return Err(arity_error(cmd));
    };
    let Some(sub) = table::subcommand(cmd, sub_name) else {
        let shown = c_string(sub_name);
        let mut s = b"ERR unknown subcommand '".to_vec();
        s.extend_from_slice(&shown[..shown.len().min(128)]);
        s.extend_from_slice(b"'. Try ");
        s.extend_from_slice(&c_string(name).to_ascii_uppercase());
        s.extend_from_slice(b" HELP.");
        return Err(s);
    };
    if !sub.arity_ok(args.len()) {
        return Err(arity_error(sub));
    }
    Ok(sub)
}

/// Refuses a command before it runs (rejectCommand): the transaction is flagged, and a
/// refused EXEC discards the transaction with EXECABORT.
fn reject(
    node: &Node,
    sess: &mut Session,
    out: &mut ReplyWriter<'_>,
    cmd: Option<&Command>,
    text: impl AsRef<[u8]>,
) {
    let text = text.as_ref();
    sess.flag_multi_error();
    let is_exec = cmd.is_some_and(|c| c.flags.exec);
    if is_exec {
        tx::end_multi(node, sess);
        let reason = text.strip_prefix(b"ERR ").unwrap_or(text);
        let mut s = b"EXECABORT Transaction discarded because of: ".to_vec();
        s.extend_from_slice(reason);
        write_error(node, out, s);
    } else {
        write_error(node, out, text);
    }
    if let Some(c) = cmd {
        cmdstats::record_rejected(c.id);
    }
}

/// The command whose arity check failed, for its rejected_calls (unknown commands and
/// subcommands have no statistics).
fn arity_failed<'t>(table: &'t CommandTable, args: &[Bytes]) -> Option<&'t Command> {
    let cmd = table.get(args.first()?)?;
    if cmd.subcommands.is_empty() {
        return Some(cmd);
    }
    match args.get(1) {
        None => Some(cmd),
        Some(sub) => table::subcommand(cmd, sub),
    }
}

/// Runs one command from a client: the checks of Redis's processCommand, then the
/// handler (or MULTI queueing). The reply is appended to `out`.
pub fn process(
    node: &Node,
    sess: &mut Session,
    out: &mut ReplyWriter<'_>,
    args: &mut Vec<Bytes>,
    clock: &mut Clock,
) -> After {
    // An empty command is skipped, as Redis skips `*0` (the decoder never yields one).
    if args.is_empty() {
        return After::Continue;
    }
    // ASKING is one-shot: any other command ends it, unless inside MULTI (resetClient
    // compares the command run, so a renamed ASKING counts and an unknown one does not).
    let mut keeps_asking = false;
    let ran = sess.commands;
    let after = process_checked(node, sess, out, args, clock, &mut keeps_asking);
    if sess.commands == ran {
        // Queued or refused: that time is no part of the next command's duration.
        clock.restart();
    }
    if !keeps_asking && !sess.in_multi() {
        sess.cluster.asking = false;
    }
    after
}

fn process_checked(
    node: &Node,
    sess: &mut Session,
    out: &mut ReplyWriter<'_>,
    args: &mut Vec<Bytes>,
    clock: &mut Clock,
    is_asking: &mut bool,
) -> After {
    let cmd = match resolve(&node.commands, args) {
        Ok(c) => c,
        Err(e) => {
            let failed = arity_failed(&node.commands, args);
            reject(node, sess, out, failed, &e);
            return After::Continue;
        }
    };
    *is_asking = cmd.flags.asking_command;
    sess.last_command = cmd.name;
    if cmd.flags.debug && !server::debug_allowed(node, sess) {
        reject(node, sess, out, Some(cmd), server::DEBUG_NOT_ALLOWED);
        return After::Continue;
    }
    if !sess.authenticated && !cmd.flags.no_auth {
        reject(
            node,
            sess,
            out,
            Some(cmd),
            "NOAUTH Authentication required.",
        );
        return After::Continue;
    }
    if sess.in_multi() && cmd.flags.no_multi {
        reject(
            node,
            sess,
            out,
            Some(cmd),
            "ERR Command not allowed inside a transaction",
        );
        return After::Continue;
    }
    let from_master = crate::replication::is_master_client();
    // A paused write (manual failover) waits before routing: the slot may move meanwhile.
    if node.repl.wait_write_pause(cmd, &sess.info) {
        clock.restart();
    }
    let refusal = if from_master {
        None
    } else {
        crate::cluster::route(node, sess, cmd, args, clock.now_ms)
    };
    if let Some(refusal) = refusal {
        // processCommand: a refused EXEC discards the transaction, anything else flags it.
        if cmd.flags.exec {
            tx::end_multi(node, sess);
        } else {
            sess.flag_multi_error();
        }
        write_error(node, out, &refusal);
        cmdstats::record_rejected(cmd.id);
        return After::Continue;
    }
    if sess.in_pubsub() && out.protocol() == resp_proto::Protocol::Resp2 && !cmd.flags.subscribed_ok
    {
        write_error(
            node,
            out,
            format!(
                "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                cmd.name
            ),
        );
        cmdstats::record_rejected(cmd.id);
        return After::Continue;
    }
    if !from_master && cmd.flags.write && node.repl.is_replica() && replica_read_only(node) {
        reject(
            node,
            sess,
            out,
            Some(cmd),
            "READONLY You can't write against a read only replica.",
        );
        return After::Continue;
    }
    if sess.in_multi() && !cmd.flags.unqueued {
        sess.queue(std::mem::take(args));
        out.simple(b"QUEUED");
        return After::Continue;
    }
    let mark = out.buffer().len();
    let skip = sess.reply_mode != ReplyMode::On;
    let after = execute(node, sess, out, cmd, args, clock, false);
    if skip && !cmd.flags.client_reply {
        out.buffer().truncate(mark);
        if sess.reply_mode == ReplyMode::Skip {
            sess.reply_mode = ReplyMode::On;
        }
    }
    after
}

/// `replica-read-only`.
fn replica_read_only(node: &Node) -> bool {
    node.config
        .get_text("replica-read-only")
        .is_none_or(|v| v == b"yes")
}

/// A duration in whole microseconds (without `as_micros`'s 128-bit arithmetic).
fn whole_micros(d: std::time::Duration) -> u64 {
    d.as_secs()
        .saturating_mul(1_000_000)
        .saturating_add(u64::from(d.subsec_micros()))
}

/// Runs a resolved command's handler (also used by EXEC for queued commands).
pub fn execute(
    node: &Node,
    sess: &mut Session,
    out: &mut ReplyWriter<'_>,
    cmd: &Command,
    args: &[Bytes],
    clock: &mut Clock,
    world_held: bool,
) -> After {
    let Some(handler) = cmd.handler else {
        write_error(node, out, unknown_command(args));
        return After::Continue;
    };
    sess.commands += 1;
    let reply_at = out.buffer().len();
    // Propagation order locks come before the world lock (see crate::replication).
    let mut prop = node.repl.begin(cmd, args, reply_at, sess.db, clock.now_ms);
    let mut _world = None;
    if !world_held && !cmd.flags.own_world_lock {
        let (guard, waited) = node.keyspace.world.read_waited(sess.id);
        _world = Some(guard);
        if waited {
            clock.restart();
        }
    }
    if !world_held && node.repl.needs_retry(cmd, &prop) {
        // Replication started between the check and the world lock: take the order locks.
        drop(_world.take());
        prop = node.repl.begin(cmd, args, reply_at, sess.db, clock.now_ms);
        _world = (!cmd.flags.own_world_lock).then(|| node.keyspace.world.read(sess.id));
        // Rare: the locks may have been waited for, which is no part of the command's time.
        clock.restart();
    }
    if prop.as_ref().is_some_and(|p| p.waited()) {
        clock.restart();
    }
    // Writes admitted past a pause (manual failover) are counted until they are in the
    // stream, so the pauser can wait for them; refused ones wait without any lock.
    let mut _ticket = None;
    if !world_held {
        loop {
            match node.repl.admit_write(cmd) {
                Ok(t) => {
                    _ticket = t;
                    break;
                }
                Err(crate::replication::Paused) => {
                    drop(_world.take());
                    drop(prop.take());
                    node.repl.wait_write_pause(cmd, &sess.info);
                    // The failover may have moved the slot or made us a replica.
                    let refusal = crate::cluster::route(node, sess, cmd, args, clock.now_ms)
                        .or_else(|| {
                            (cmd.flags.write && node.repl.is_replica() && replica_read_only(node))
                                .then(|| {
                                    "READONLY You can't write against a read only replica."
                                        .to_owned()
                                })
                        });
                    if let Some(refusal) = refusal {
                        write_error(node, out, &refusal);
                        return After::Continue;
                    }
                    prop = node.repl.begin(cmd, args, reply_at, sess.db, clock.now_ms);
                    _world = (!cmd.flags.own_world_lock).then(|| node.keyspace.world.read(sess.id));
                    clock.restart();
                }
            }
        }
    }

    clock.start();
    cmdstats::call_started();
    let now = clock.now_ms;
    let result = {
        let mut ctx = Ctx {
            node,
            sess,
            out,
            now,
        };
        handler(&mut ctx, args)
    };
    if let Err(e) = result {
        write_error(node, out, e.0.as_bytes());
    }
    if prop.is_some() {
        let reply = out.buffer();
        node.repl.finish(node, prop, cmd, args, reply);
    }
    if node.monitors.any() && !cmd.flags.admin {
        node.monitors.feed(sess, args);
    }
    let took = clock.lap();
    let micros = whole_micros(took);
    // EXEC is not logged itself (its commands are), as 7.0's skip_slowlog flag says.
    let slowlog = !cmd.flags.skip_slowlog;
    match sess.blocked.as_mut() {
        // Its latency sample and slow log entry are taken when it is served.
        Some(b) => {
            cmdstats::record_blocked_call(cmd.id, micros);
            b.set_call(cmd.id, micros, args, slowlog);
        }
        None => {
            cmdstats::record_call(cmd.id, micros);
            if slowlog {
                node.slowlog.record(micros, args, &sess.info);
            }
        }
    }
    node.latency.command_ran(cmd.flags.fast, took);
    if sess.close_after_reply {
        After::Close
    } else {
        After::Continue
    }
}
