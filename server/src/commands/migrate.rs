//! MIGRATE (the client side of moving keys to another node) and RESTORE-ASKING, as Redis
//! 7.0.15: the keys are serialized with DUMP's payload and sent as pipelined
//! `RESTORE-ASKING key ttl payload [REPLACE]` (plain RESTORE outside cluster mode), after
//! `AUTH` and `SELECT` when needed, over a connection cached per `host:port` for 10 s
//! (migrateGetSocket). The network part runs under `block_in_place`, so the runtime's other
//! tasks move to other workers while this one waits for the target (Redis blocks its only
//! thread for the same time).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;

use super::numbers::parse_i64;
use super::{CmdError, CmdResult, Ctx, Handler};
use crate::keyspace::{key_slot, MultiGuard};
use crate::rdb::{self, WriteOpts};

pub(super) fn handler(name: &str) -> Option<Handler> {
    Some(match name {
        "migrate" => migrate,
        "restore-asking" => super::persist::restore,
        _ => return None,
    })
}

/// An idle cached connection is closed after this long (MIGRATE_SOCKET_CACHE_TTL).
const CACHE_TTL: Duration = Duration::from_secs(10);
/// At most this many cached connections (MIGRATE_SOCKET_CACHE_ITEMS); one is dropped to
/// make room.
const CACHE_ITEMS: usize = 64;
/// A target's reply line longer than this is an error (Redis reads into 1 KiB buffers).
const MAX_LINE: usize = 1024;

/// A connection to a MIGRATE target.
struct Cached {
    reader: BufReader<TcpStream>,
    /// The database the target has selected on this connection, if known.
    last_db: Option<i64>,
    last_use: Instant,
}

/// Why no connection to the target could be had.
enum NoSocket {
    /// The connect timed out or the address does not resolve.
    Connecting,
    /// The connect was refused: Redis only sees it when writing.
    Writing,
}

/// Connections kept between MIGRATE calls, by `host:port` as given (INFO
/// `migrate_cached_sockets`).
#[derive(Default)]
pub struct SocketCache {
    sockets: Mutex<HashMap<String, Cached>>,
}

impl SocketCache {
    /// Number of cached connections (INFO `migrate_cached_sockets`); those idle for
    /// 10 s are closed first, as Redis's cron would have.
    pub fn len(&self) -> usize {
        self.close_idle();
        self.sockets.lock().len()
    }

    /// Whether no connection is cached.
    pub fn is_empty(&self) -> bool {
        self.sockets.lock().is_empty()
    }

    /// Closes the connections unused for 10 s (migrateCloseTimedoutSockets).
    pub fn close_idle(&self) {
        self.sockets
            .lock()
            .retain(|_, c| c.last_use.elapsed() <= CACHE_TTL);
    }

    /// Takes the cached connection to `name`, or connects (within `timeout`).
    fn take(
        &self,
        name: &str,
        host: &str,
        port: &str,
        timeout: Duration,
    ) -> Result<Cached, NoSocket> {
        if let Some(mut c) = self.sockets.lock().remove(name) {
            c.last_use = Instant::now();
            return Ok(c);
        }
        let port: u16 = port.parse().map_err(|_| NoSocket::Connecting)?;
        let addr = (host, port)
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .ok_or(NoSocket::Connecting)?;
        let stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| {
            // Redis connects without blocking and waits for writability: a refused
            // connection becomes writable (and then fails to write), only a timeout fails
            // the connect itself.
            if is_timeout(&e) {
                NoSocket::Connecting
            } else {
                NoSocket::Writing
            }
        })?;
        let _ = stream.set_nodelay(true);
        Ok(Cached {
            reader: BufReader::new(stream),
            last_db: None,
            last_use: Instant::now(),
        })
    }

    /// Puts a connection back for the next MIGRATE to the same target.
    fn put(&self, name: String, c: Cached) {
        let mut map = self.sockets.lock();
        if map.len() >= CACHE_ITEMS && !map.contains_key(&name) {
            if let Some(victim) = map.keys().next().cloned() {
                map.remove(&victim);
            }
        }
        map.insert(name, c);
    }
}

fn eq(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

/// The key positions of a MIGRATE command (migrateGetKeys): argument 3, or everything
/// after KEYS (none when KEYS comes with a non-empty key argument).
pub fn keys(args: &[Bytes]) -> Vec<usize> {
    if args.len() > 6 {
        let mut i = 6;
        while i < args.len() {
            let a = &args[i];
            if eq(a, "keys") {
                if args.get(3).is_some_and(|k| !k.is_empty()) {
                    return Vec::new();
                }
                return (i + 1..args.len()).collect();
            }
            if eq(a, "auth") {
                i += 1;
            } else if eq(a, "auth2") {
                i += 2;
            }
            i += 1;
        }
    }
    vec![3]
}

/// MIGRATE's options.
struct Options<'a> {
    copy: bool,
    replace: bool,
    username: Option<&'a [u8]>,
    password: Option<&'a [u8]>,
    keys: &'a [Bytes],
}

fn parse_options(args: &[Bytes]) -> Result<Options<'_>, CmdError> {
    let mut o = Options {
        copy: false,
        replace: false,
        username: None,
        password: None,
        keys: args.get(3..4).unwrap_or(&[]),
    };
    let mut j = 6;
    while j < args.len() {
        let more = args.len() - 1 - j;
        let a = &args[j];
        if eq(a, "copy") {
            o.copy = true;
        } else if eq(a, "replace") {
            o.replace = true;
        } else if eq(a, "auth") {
            if more < 1 {
                return Err(CmdError::SYNTAX);
            }
            j += 1;
            o.password = args.get(j).map(|p| &p[..]);
        } else if eq(a, "auth2") {
            if more < 2 {
                return Err(CmdError::SYNTAX);
            }
            o.username = args.get(j + 1).map(|p| &p[..]);
            o.password = args.get(j + 2).map(|p| &p[..]);
            j += 2;
        } else if eq(a, "keys") {
            if args.get(3).is_some_and(|k| !k.is_empty()) {
                return Err(CmdError::msg(
                    "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string",
                ));
            }
            o.keys = args.get(j + 1..).unwrap_or(&[]);
            break;
        } else {
            return Err(CmdError::SYNTAX);
        }
        j += 1;
    }
    Ok(o)
}

fn bulk(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(format!("${}\r\n", b.len()).as_bytes());
    out.extend_from_slice(b);
    out.extend_from_slice(b"\r\n");
}

/// One key to send: name, TTL left in ms (0 = none), payload.
struct Outgoing {
    key: Bytes,
    ttl: u64,
    payload: Vec<u8>,
}

/// The pipelined request: AUTH, SELECT when the connection is on another database, a
/// RESTORE per key.
fn request(o: &Options<'_>, cluster: bool, select: Option<i64>, keys: &[Outgoing]) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(pw) = o.password {
        match o.username {
            Some(user) => {
                out.extend_from_slice(b"*3\r\n");
                bulk(&mut out, b"AUTH");
                bulk(&mut out, user);
            }
            None => {
                out.extend_from_slice(b"*2\r\n");
                bulk(&mut out, b"AUTH");
            }
        }
        bulk(&mut out, pw);
    }
    if let Some(db) = select {
        out.extend_from_slice(b"*2\r\n");
        bulk(&mut out, b"SELECT");
        bulk(&mut out, db.to_string().as_bytes());
    }
    let restore: &[u8] = if cluster {
        b"RESTORE-ASKING"
    } else {
        b"RESTORE"
    };
    for k in keys {
        out.extend_from_slice(if o.replace { b"*5\r\n" } else { b"*4\r\n" });
        bulk(&mut out, restore);
        bulk(&mut out, &k.key);
        bulk(&mut out, k.ttl.to_string().as_bytes());
        bulk(&mut out, &k.payload);
        if o.replace {
            bulk(&mut out, b"REPLACE");
        }
    }
    out
}

/// Reads one reply line (without CR LF).
fn read_line(r: &mut BufReader<TcpStream>) -> std::io::Result<Vec<u8>> {
    let mut line = Vec::new();
    let n = r
        .by_ref()
        .take(MAX_LINE as u64)
        .read_until(b'\n', &mut line)?;
    if n == 0 || !line.ends_with(b"\n") {
        return Err(ErrorKind::UnexpectedEof.into());
    }
    line.pop();
    if line.ends_with(b"\r") {
        line.pop();
    }
    Ok(line)
}

/// What one exchange with the target gave.
enum Exchange {
    /// Replies were read: the first error line (AUTH, SELECT or a RESTORE), which keys the
    /// target stored, and whether the connection broke after the first reply.
    Replies {
        error: Option<Vec<u8>>,
        stored: Vec<bool>,
        broken: bool,
    },
    /// The connection failed before any RESTORE reply (`writing` tells which way).
    Failed { writing: bool, timeout: bool },
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

fn failed(writing: bool, e: &std::io::Error) -> Exchange {
    Exchange::Failed {
        writing,
        timeout: is_timeout(e),
    }
}

fn exchange(c: &mut Cached, req: &[u8], auth: bool, select: bool, n: usize) -> Exchange {
    if let Err(e) = c.reader.get_mut().write_all(req) {
        return failed(true, &e);
    }
    let mut first_error: Option<Vec<u8>> = None;
    // AUTH's and SELECT's errors fail every key.
    let mut head_failed = false;
    for wanted in [auth, select] {
        if wanted {
            match read_line(&mut c.reader) {
                Ok(line) if line.first() == Some(&b'-') => {
                    head_failed = true;
                    first_error.get_or_insert(line);
                }
                Ok(_) => {}
                Err(e) => return failed(false, &e),
            }
        }
    }
    let mut stored = Vec::with_capacity(n);
    for j in 0..n {
        match read_line(&mut c.reader) {
            Ok(line) => {
                let bad = line.first() == Some(&b'-');
                stored.push(!bad && !head_failed);
                if bad {
                    first_error.get_or_insert(line);
                }
            }
            Err(e) if j == 0 => return failed(false, &e),
            Err(_) => {
                stored.resize(n, false);
                return Exchange::Replies {
                    error: first_error,
                    stored,
                    broken: true,
                };
            }
        }
    }
    Exchange::Replies {
        error: first_error,
        stored,
        broken: false,
    }
}

/// The keys MIGRATE found (name, expiry, DUMP payload).
fn collect(
    locked: &mut MultiGuard<'_>,
    keys: &[Bytes],
    now: u64,
    opts: WriteOpts,
) -> Vec<(Bytes, u64, Vec<u8>)> {
    let mut found = Vec::new();
    for k in keys {
        let slot = key_slot(k);
        if let Some(e) = locked.shard(slot).and_then(|s| s.lookup_read(slot, k, now)) {
            found.push((k.clone(), e.expire_at(), rdb::dump_payload(e.value(), opts)));
        }
    }
    found
}

fn migrate(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let o = parse_options(args)?;
    let timeout_ms = parse_i64(&args[5])?;
    let db_id = parse_i64(&args[4])?;
    let timeout = Duration::from_millis(if timeout_ms <= 0 {
        1000
    } else {
        timeout_ms as u64
    });
    let opts = WriteOpts {
        compress: ctx
            .node
            .config
            .get_text("rdbcompression")
            .is_none_or(|v| v.eq_ignore_ascii_case(b"yes")),
    };
    // The keys' slots stay locked from the lookup to the deletion, so no other client
    // writes a key between its DUMP and its removal (Redis runs MIGRATE alone).
    let slots: Vec<u16> = o.keys.iter().map(|k| key_slot(k)).collect();
    let db = ctx.db();
    let mut locked = db.lock_slots(&slots);
    let found = collect(&mut locked, o.keys, ctx.now, opts);
    if found.is_empty() {
        ctx.out.simple(b"NOKEY");
        return Ok(());
    }
    let host = String::from_utf8_lossy(&args[1]).into_owned();
    let port = String::from_utf8_lossy(&args[2]).into_owned();
    let name = format!("{host}:{port}");
    let cluster = ctx.node.cluster.get().is_some();
    let cache = &ctx.node.migrate;
    cache.close_idle();
    let mut may_retry = true;
    loop {
        let outcome = off_runtime(|| {
            let mut c = match cache.take(&name, &host, &port, timeout) {
                Ok(c) => c,
                Err(NoSocket::Connecting) => {
                    return Err(CmdError::msg(
                        "IOERR error or timeout connecting to the client",
                    ))
                }
                Err(NoSocket::Writing) => return Ok(None),
            };
            let _ = c.reader.get_ref().set_read_timeout(Some(timeout));
            let _ = c.reader.get_ref().set_write_timeout(Some(timeout));
            // TTLs are taken now: a key expired since the lookup is left out.
            let now = crate::keyspace::now_ms();
            let sending: Vec<Outgoing> = found
                .iter()
                .filter(|(_, at, _)| *at == 0 || *at >= now)
                .map(|(k, at, p)| Outgoing {
                    key: k.clone(),
                    ttl: if *at == 0 { 0 } else { (at - now).max(1) },
                    payload: p.clone(),
                })
                .collect();
            let select = (c.last_db != Some(db_id)).then_some(db_id);
            let req = request(&o, cluster, select, &sending);
            let result = exchange(
                &mut c,
                &req,
                o.password.is_some(),
                select.is_some(),
                sending.len(),
            );
            Ok(Some((c, sending, result)))
        })?;
        let Some((mut c, sending, result)) = outcome else {
            if may_retry {
                may_retry = false;
                continue;
            }
            return Err(io_error(true));
        };
        match result {
            Exchange::Failed { writing, timeout } => {
                // A cached connection the target closed fails here: reconnect once.
                if !timeout && may_retry {
                    may_retry = false;
                    continue;
                }
                return Err(io_error(writing));
            }
            Exchange::Replies {
                error,
                stored,
                broken,
            } => {
                if !o.copy {
                    let n = delete_stored(&mut locked, &sending, &stored, ctx.now);
                    ctx.node.stats.dirty(n);
                }
                if let Some(line) = error {
                    c.last_db = None;
                    if !broken {
                        cache.put(name, c);
                    }
                    let text = String::from_utf8_lossy(line.get(1..).unwrap_or_default());
                    return Err(CmdError::msg(format!(
                        "ERR Target instance replied with error: {text}"
                    )));
                }
                if broken {
                    return Err(io_error(false));
                }
                c.last_db = Some(db_id);
                cache.put(name, c);
                ctx.out.ok();
                return Ok(());
            }
        }
    }
}

/// Runs blocking network code without stalling the runtime: under `block_in_place` on a
/// worker of the multi-threaded runtime (other tasks move to other workers), directly
/// outside a runtime; a current-thread runtime would stall, so it is refused.
fn off_runtime<T>(f: impl FnOnce() -> Result<T, CmdError>) -> Result<T, CmdError> {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        Ok(_) => Err(CmdError::msg(
            "ERR MIGRATE needs the multi-threaded runtime",
        )),
        Err(_) => f(),
    }
}

fn io_error(writing: bool) -> CmdError {
    CmdError::msg(format!(
        "IOERR error or timeout {} to target instance",
        if writing { "writing" } else { "reading" }
    ))
}

/// Deletes the keys the target acknowledged (MIGRATE without COPY); returns how many.
fn delete_stored(locked: &mut MultiGuard<'_>, sent: &[Outgoing], stored: &[bool], now: u64) -> u64 {
    let mut n = 0;
    for (k, _) in sent.iter().zip(stored).filter(|(_, ok)| **ok) {
        let slot = key_slot(&k.key);
        if locked
            .shard(slot)
            .and_then(|s| s.remove(slot, &k.key, now))
            .is_some()
        {
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::keys;
    use bytes::Bytes;

    fn args(words: &[&str]) -> Vec<Bytes> {
        words
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    #[test]
    fn key_positions_as_migrate_get_keys() {
        assert_eq!(
            keys(&args(&["MIGRATE", "h", "1", "k", "0", "100"])),
            vec![3]
        );
        assert_eq!(
            keys(&args(&[
                "MIGRATE", "h", "1", "", "0", "100", "COPY", "KEYS", "a", "b"
            ])),
            vec![8, 9]
        );
        // An AUTH password that reads "keys" is skipped, as are AUTH2's two words.
        assert_eq!(
            keys(&args(&[
                "MIGRATE", "h", "1", "", "0", "100", "AUTH", "keys", "AUTH2", "u", "keys", "KEYS",
                "a"
            ])),
            vec![12]
        );
        // KEYS with a non-empty key argument names no key (the command then fails).
        assert!(keys(&args(&["MIGRATE", "h", "1", "k", "0", "100", "KEYS", "a"])).is_empty());
    }
}
