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
    let hidden = redacted(args);
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

/// Positions of passwords (and AUTH's user names) as the commands hide them while they
/// parse their arguments (redactClientCommandArgument), from monitors and the slow log:
/// so only up to where a command stops on an error, as Redis shows the rest.
pub(super) fn redacted(args: &[Bytes]) -> Vec<usize> {
    let is = |i: usize, name: &[u8]| args.get(i).is_some_and(|a| a.eq_ignore_ascii_case(name));
    let mut hidden = Vec::new();
    if is(0, b"auth") {
        if args.len() <= 3 {
            hidden.extend(1..args.len());
        }
    } else if is(0, b"hello") {
        let version = args.get(1).map(|v| resp_proto::string2ll(v));
        if matches!(version, Some(Some(2 | 3)) | None) {
            let mut j = 2;
            while j < args.len() {
                let more = args.len() - 1 - j;
                if is(j, b"auth") && more >= 2 {
                    hidden.extend([j + 1, j + 2]);
                    j += 3;
                } else if is(j, b"setname") && more >= 1 {
                    j += 2;
                } else {
                    break;
                }
            }
        }
    } else if is(0, b"migrate") {
        let mut j = 6;
        while j < args.len() {
            let more = args.len() - 1 - j;
            if is(j, b"copy") || is(j, b"replace") {
                j += 1;
            } else if is(j, b"auth") && more >= 1 {
                hidden.push(j + 1);
                j += 2;
            } else if is(j, b"auth2") && more >= 2 {
                hidden.extend([j + 1, j + 2]);
                j += 3;
            } else {
                // KEYS: the rest are keys; anything else is a syntax error.
                break;
            }
        }
    }
    hidden
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

    fn args(s: &[&str]) -> Vec<Bytes> {
        s.iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect()
    }

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

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redacted(&args(&["AUTH", "pw"])), [1]);
        assert_eq!(redacted(&args(&["auth", "user", "pw"])), [1, 2]);
        // A syntax error stops the parse before anything is hidden, as in Redis.
        assert!(redacted(&args(&["auth", "a", "b", "c"])).is_empty());
        assert_eq!(
            redacted(&args(&["hello", "3", "setname", "auth", "auth", "u", "p"])),
            [5, 6]
        );
        assert!(redacted(&args(&["hello", "3", "bogus", "auth", "u", "p"])).is_empty());
        assert!(redacted(&args(&["hello", "x", "auth", "u", "p"])).is_empty());
        assert_eq!(
            redacted(&args(&[
                "MIGRATE", "h", "1", "", "0", "5", "AUTH", "pw", "KEYS", "a"
            ])),
            [7]
        );
        assert_eq!(
            redacted(&args(&[
                "MIGRATE", "h", "1", "", "0", "5", "AUTH2", "u", "pw"
            ])),
            [7, 8]
        );
        assert!(redacted(&args(&["get", "auth"])).is_empty());
    }
}
