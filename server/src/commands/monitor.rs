//! MONITOR: clients that are shown every command the node runs (replicationFeedMonitors).
//!
//! A command is shown after it ran, with the database it left the client in, unless it is
//! an admin command (CONFIG, CLIENT, DEBUG, MONITOR itself...). Commands refused before
//! they run (unknown, wrong arity, NOAUTH, redirections) are not shown; those of a
//! transaction are shown when EXEC runs them, before EXEC. Passwords are shown as
//! `(redacted)`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use parking_lot::RwLock;

use super::{CmdError, CmdResult, Ctx, Handler, Session};
use crate::net::ClientHandle;

pub(super) fn handler(name: &str) -> Option<Handler> {
    Some(match name {
        "monitor" => monitor,
        _ => return None,
    })
}

/// The clients in MONITOR mode.
#[derive(Default)]
pub struct Monitors {
    clients: RwLock<Vec<Arc<ClientHandle>>>,
    /// Whether there is any: the one thing every command reads.
    any: AtomicBool,
}

impl Monitors {
    /// Whether any client is monitoring.
    #[inline]
    pub fn any(&self) -> bool {
        self.any.load(Ordering::Relaxed)
    }

    fn add(&self, client: Arc<ClientHandle>) {
        let mut list = self.clients.write();
        list.push(client);
        self.any.store(true, Ordering::Relaxed);
    }

    /// Stops showing commands to client `id` (QUIT, RESET, a closed connection).
    pub fn remove(&self, client: &ClientHandle) {
        if !client.monitor.swap(false, Ordering::Relaxed) {
            return;
        }
        let mut list = self.clients.write();
        list.retain(|c| c.id != client.id);
        self.any.store(!list.is_empty(), Ordering::Relaxed);
    }

    /// Shows `args`, just run by `sess`, to every monitor.
    pub fn feed(&self, sess: &Session, args: &[Bytes]) {
        let line = feed_line(
            SystemTime::now(),
            sess.db,
            &sess.info.addr.to_string(),
            args,
        );
        for c in self.clients.read().iter() {
            c.push(&line);
        }
    }
}

fn monitor(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CmdResult {
    // Inside EXEC a client expects one reply per command, which a monitor cannot give.
    if ctx.sess.in_exec {
        return Err(CmdError::msg(
            "ERR MONITOR isn't allowed for DENY BLOCKING client",
        ));
    }
    // Already monitoring: Redis takes it as a replica's command and answers nothing.
    if ctx.sess.info.monitor.swap(true, Ordering::Relaxed) {
        return Ok(());
    }
    ctx.node.monitors.add(ctx.sess.info.clone());
    ctx.out.ok();
    Ok(())
}

/// `+<seconds>.<micros> [<db> <addr>] "arg" ...`, each argument quoted as sdscatrepr does.
fn feed_line(now: SystemTime, db: usize, addr: &str, args: &[Bytes]) -> Vec<u8> {
    let t = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let mut line = format!("+{}.{:06} [{db} {addr}]", t.as_secs(), t.subsec_micros()).into_bytes();
    let hidden = super::redact::redacted(args);
    for (i, a) in args.iter().enumerate() {
        line.push(b' ');
        if hidden.contains(&i) {
            line.extend_from_slice(b"\"(redacted)\"");
        } else {
            quote(&mut line, a);
        }
    }
    line.extend_from_slice(b"\r\n");
    line
}

/// sdscatrepr: between quotes, `\` and `"` escaped, \n \r \t \a \b spelled, other bytes
/// that are not printable ASCII as \xNN.
fn quote(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &b in s {
        match b {
            b'\\' | b'"' => out.extend_from_slice(&[b'\\', b]),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            7 => out.extend_from_slice(b"\\a"),
            8 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(b),
            _ => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_quote_like_sdscatrepr() {
        let t = UNIX_EPOCH + std::time::Duration::from_micros(1_795_805_266_026_789);
        let a = vec![
            Bytes::from_static(b"set"),
            Bytes::from_static(b"a"),
            Bytes::from_static(b"x y\"z\\n\x01\n\t\x07\x08\xff"),
        ];
        assert_eq!(
            feed_line(t, 3, "127.0.0.1:58978", &a),
            b"+1795805266.026789 [3 127.0.0.1:58978] \"set\" \"a\" \"x y\\\"z\\\\n\\x01\\n\\t\\a\\b\\xff\"\r\n"
        );
    }
}
