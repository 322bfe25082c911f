//! MULTI / EXEC / DISCARD / WATCH / UNWATCH (multi.c).

use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::session::Watched;
use super::{execute, resolve, CmdError, CmdResult, Ctx, Handler, Session};
use crate::keyspace::key_slot;
use crate::node::Node;

pub(super) fn handler(name: &str) -> Option<Handler> {
    Some(match name {
        "multi" => multi,
        "exec" => exec,
        "discard" => discard,
        "watch" => watch,
        "unwatch" => unwatch,
        _ => return None,
    })
}

fn multi(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CmdResult {
    if ctx.sess.in_multi() {
        return Err(CmdError::msg("ERR MULTI calls can not be nested"));
    }
    ctx.sess.multi = Some(Vec::new());
    ctx.sess.multi_error = false;
    ctx.out.ok();
    Ok(())
}

fn discard(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CmdResult {
    if !ctx.sess.in_multi() {
        return Err(CmdError::msg("ERR DISCARD without MULTI"));
    }
    end_multi(ctx.node, ctx.sess);
    ctx.out.ok();
    Ok(())
}

/// Leaves MULTI state and forgets watched keys.
pub(super) fn end_multi(node: &Node, sess: &mut Session) {
    sess.multi = None;
    sess.multi_error = false;
    unwatch_all(node, sess);
}

/// Forgets every watched key of the session (UNWATCH, EXEC, disconnect).
pub fn unwatch_all(node: &Node, sess: &mut Session) {
    for w in sess.watched.drain(..) {
        let slot = key_slot(&w.key);
        node.db(w.db)
            .lock_slot(slot)
            .unwatch(&w.key, &sess.watch_dirty);
    }
    sess.watch_dirty.store(false, Ordering::Release);
}

/// Whether a watched key that was alive at WATCH time has logically expired since.
fn watched_key_expired(node: &Node, sess: &Session, now: u64) -> bool {
    sess.watched.iter().any(|w| {
        if w.expired_at_watch {
            return false;
        }
        let slot = key_slot(&w.key);
        let s = node.db(w.db).lock_slot(slot);
        s.peek(slot, &w.key).is_some_and(|e| e.is_expired(now))
    })
}

fn exec(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CmdResult {
    if !ctx.sess.in_multi() {
        return Err(CmdError::msg("ERR EXEC without MULTI"));
    }
    if ctx.sess.multi_error {
        end_multi(ctx.node, ctx.sess);
        return Err(CmdError::msg(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    let _world = ctx.node.keyspace.world.write();
    let now = ctx.now;
    if ctx.sess.watch_dirty.load(Ordering::Acquire) || watched_key_expired(ctx.node, ctx.sess, now)
    {
        end_multi(ctx.node, ctx.sess);
        ctx.out.null_array();
        return Ok(());
    }
    let queued = ctx.sess.multi.take().unwrap_or_default();
    unwatch_all(ctx.node, ctx.sess);
    ctx.out.array_len(queued.len());
    ctx.sess.in_exec = true;
    for args in queued {
        match resolve(&ctx.node.commands, &args) {
            Ok(cmd) => {
                execute(
                    ctx.node,
                    ctx.sess,
                    ctx.out,
                    cmd,
                    &args,
                    &mut super::Clock::at(now),
                    true,
                );
            }
            Err(e) => super::write_error(ctx.node, ctx.out, &e),
        }
    }
    ctx.sess.in_exec = false;
    ctx.sess.multi_error = false;
    Ok(())
}

fn watch(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    if ctx.sess.in_multi() {
        return Err(CmdError::msg("ERR WATCH inside MULTI is not allowed"));
    }
    for key in &args[1..] {
        let db = ctx.sess.db;
        if ctx.sess.watched.iter().any(|w| w.db == db && w.key == key) {
            continue;
        }
        let slot = key_slot(key);
        let mut s = ctx.node.db(db).lock_slot(slot);
        let expired_at_watch = s.peek(slot, key).is_some_and(|e| e.is_expired(ctx.now));
        s.watch(key, ctx.sess.watch_dirty.clone());
        ctx.sess.watched.push(Watched {
            db,
            key: key.clone(),
            expired_at_watch,
        });
    }
    ctx.out.ok();
    Ok(())
}

fn unwatch(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CmdResult {
    unwatch_all(ctx.node, ctx.sess);
    ctx.out.ok();
    Ok(())
}
