//! Persistence commands: DUMP, RESTORE, SAVE, BGSAVE.

use bytes::Bytes;

use super::numbers::parse_i64;
use super::{CmdError, CmdResult, Ctx, Handler};
use crate::keyspace::{key_slot, lru_clock};
use crate::rdb::{self, BgsaveRefused, RdbError, WriteOpts};

pub(super) fn handler(name: &str) -> Option<Handler> {
    Some(match name {
        "dump" => dump,
        "restore" => restore,
        "save" => save,
        "bgsave" => bgsave,
        _ => return None,
    })
}

fn eq(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

fn write_opts(ctx: &Ctx<'_, '_>) -> WriteOpts {
    WriteOpts {
        compress: ctx
            .node
            .config
            .get_text("rdbcompression")
            .is_none_or(|v| v.eq_ignore_ascii_case(b"yes")),
    }
}

fn dump(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let slot = key_slot(key);
    let opts = write_opts(ctx);
    let payload = {
        let mut shard = ctx.db().lock_slot(slot);
        shard
            .lookup_read(slot, key, ctx.now)
            .map(|e| rdb::dump_payload(e.value(), opts))
    };
    match payload {
        Some(p) => ctx.out.bulk(&p),
        None => ctx.out.null(),
    }
    Ok(())
}

pub(super) fn restore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let (key, ttl_arg, payload) = (&args[1], &args[2], &args[3]);
    let (mut replace, mut absttl) = (false, false);
    let mut idle: Option<i64> = None;
    let mut freq: Option<i64> = None;
    let mut j = 4;
    while j < args.len() {
        let a = &args[j];
        let has_value = j + 1 < args.len();
        if eq(a, "replace") {
            replace = true;
        } else if eq(a, "absttl") {
            absttl = true;
        } else if eq(a, "idletime") && has_value && freq.is_none() {
            let v = parse_i64(&args[j + 1])?;
            if v < 0 {
                return Err(CmdError::msg("ERR Invalid IDLETIME value, must be >= 0"));
            }
            idle = Some(v);
            j += 1;
        } else if eq(a, "freq") && has_value && idle.is_none() {
            let v = parse_i64(&args[j + 1])?;
            if !(0..=255).contains(&v) {
                return Err(CmdError::msg(
                    "ERR Invalid FREQ value, must be >= 0 and <= 255",
                ));
            }
            freq = Some(v);
            j += 1;
        } else {
            return Err(CmdError::SYNTAX);
        }
        j += 1;
    }
    let slot = key_slot(key);
    let db = ctx.db();
    if !replace && db.lock_slot(slot).contains(slot, key, ctx.now) {
        return Err(CmdError::msg("BUSYKEY Target key name already exists."));
    }
    let ttl = parse_i64(ttl_arg)?;
    if ttl < 0 {
        return Err(CmdError::msg("ERR Invalid TTL value, must be >= 0"));
    }
    let th = ctx.node.config.current().thresholds;
    let value = match rdb::restore_payload(payload, &th) {
        Ok(v) => v,
        Err(RdbError::Payload) => {
            return Err(CmdError::msg(
                "ERR DUMP payload version or checksum are wrong",
            ))
        }
        Err(_) => return Err(CmdError::msg("ERR Bad data format")),
    };
    let expire_at = match ttl {
        0 => 0,
        t if absttl => t as u64,
        t => ctx.now.saturating_add(t as u64),
    };
    let mut shard = db.lock_slot(slot);
    let deleted = replace && shard.remove(slot, key, ctx.now).is_some();
    if expire_at != 0 && expire_at <= ctx.now {
        if deleted {
            ctx.node.stats.dirty(1);
        }
        ctx.out.ok();
        return Ok(());
    }
    let now_lru = lru_clock(ctx.now);
    // IDLETIME backdates the access time; FREQ has no counter to set here (see the report of
    // the LFU work), so it is accepted and validated only.
    let lru = match idle {
        Some(secs) => now_lru.wrapping_sub((secs as u64 & 0x00FF_FFFF) as u32) & 0x00FF_FFFF,
        None => now_lru,
    };
    let _ = freq;
    let mut entry = value.into_entry(key, lru);
    entry.set_expire_raw(expire_at);
    shard.insert(slot, entry, ctx.now);
    drop(shard);
    ctx.node.stats.dirty(1);
    ctx.out.ok();
    Ok(())
}

fn save(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CmdResult {
    let p = &ctx.node.persistence;
    if p.bgsave_in_progress() {
        return Err(CmdError::msg("ERR Background save already in progress"));
    }
    match p.save(ctx.node, false) {
        Ok(()) => {
            ctx.out.ok();
            Ok(())
        }
        Err(_) => Err(CmdError::msg("ERR")),
    }
}

fn bgsave(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    // SCHEDULE matters only while another child process runs; this server has none.
    if args.len() > 2 || (args.len() == 2 && !eq(&args[1], "schedule")) {
        return Err(CmdError::SYNTAX);
    }
    let p = &ctx.node.persistence;
    if p.bgsave_in_progress() {
        return Err(CmdError::msg("ERR Background save already in progress"));
    }
    if ctx.sess.in_exec {
        // Redis defers a BGSAVE inside EXEC to its cron; so does this server (EXEC holds
        // the world lock the snapshot's instant needs).
        p.schedule_bgsave();
        ctx.out.simple(b"Background saving scheduled");
        return Ok(());
    }
    match p.bgsave(ctx.node, false) {
        Ok(()) => {
            ctx.out.simple(b"Background saving started");
            Ok(())
        }
        Err(BgsaveRefused::InProgress) => {
            Err(CmdError::msg("ERR Background save already in progress"))
        }
        Err(BgsaveRefused::Detached) => Err(CmdError::msg("ERR")),
    }
}
