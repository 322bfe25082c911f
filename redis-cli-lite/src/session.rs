//! The client state redis-cli keeps: where it is connected, how it logs in, which database,
//! which protocol; and how one command is run and printed, with `-c` redirections, pub/sub and
//! MONITOR streams, and `-r`/`-i` repetition.

use std::io::{self, Write};
use std::thread;
use std::time::Duration;

use resp_proto::Frame;

use crate::conn::{os_text, Conn, ConnError};
use crate::format::{self, OutputMode};

/// Redirections followed for one command before its last error is printed as is. redis-cli
/// follows them forever; a cluster that bounces a command this often is misconfigured.
const MAX_REDIRECTS: usize = 16;

/// How to reach and log in to a node.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Host of the node (`-h`), replaced by a redirection's target.
    pub host: String,
    /// Port of the node (`-p`), replaced by a redirection's target.
    pub port: u16,
    /// `AUTH` user (`--user`).
    pub user: Option<Vec<u8>>,
    /// `AUTH` password (`-a`, or `REDISCLI_AUTH`).
    pub password: Option<Vec<u8>>,
    /// Database selected after connecting (`-n`, then SELECT).
    pub db: i64,
    /// `HELLO 3` after connecting (`-3`).
    pub resp3: bool,
    /// Follow MOVED and ASK (`-c`).
    pub cluster: bool,
    /// How replies are printed.
    pub mode: OutputMode,
    /// Pause after each repetition (`-i`).
    pub interval: Duration,
}

/// A command that ends the process: redis-cli exits with status 1 after printing why.
#[derive(Debug)]
pub struct Fatal;

/// A client: its settings and, when connected, its connection.
pub struct Session {
    settings: Settings,
    conn: Option<Conn>,
    /// Interactive sessions (prompt or lines on stdin) announce redirections and survive a lost
    /// connection; one-shot commands do neither.
    interactive: bool,
}

/// Where a MOVED or ASK error sends the command.
#[derive(Debug, PartialEq, Eq)]
struct Redirect {
    ask: bool,
    slot: u32,
    host: String,
    port: u16,
}

/// `MOVED 3999 127.0.0.1:6381` / `ASK ...`; the port follows the last colon (IPv6 hosts).
fn redirect(frame: &Frame) -> Option<Redirect> {
    let Frame::Error(text) = frame else {
        return None;
    };
    let text = std::str::from_utf8(text).ok()?;
    let mut words = text.split(' ');
    let ask = match words.next()? {
        "MOVED" => false,
        "ASK" => true,
        _ => return None,
    };
    let slot = words.next()?.parse().ok()?;
    let (host, port) = words.next()?.rsplit_once(':')?;
    Some(Redirect {
        ask,
        slot,
        host: host.to_owned(),
        port: port.parse().ok()?,
    })
}

fn is(args: &[Vec<u8>], i: usize, word: &str) -> bool {
    args.get(i)
        .is_some_and(|a| a.eq_ignore_ascii_case(word.as_bytes()))
}

/// SUBSCRIBE and friends put the connection in pub/sub mode: redis-cli then only listens.
fn is_pubsub(args: &[Vec<u8>]) -> bool {
    is(args, 0, "subscribe") || is(args, 0, "psubscribe") || is(args, 0, "ssubscribe")
}

fn error_text(frame: &Frame) -> Option<String> {
    match frame {
        Frame::Error(e) | Frame::BulkError(e) => Some(String::from_utf8_lossy(e).into_owned()),
        _ => None,
    }
}

fn write_out(bytes: &[u8]) {
    let mut out = io::stdout().lock();
    // A closed stdout (`| head`) is not worth a message: redis-cli dies of SIGPIPE there.
    if out.write_all(bytes).and_then(|()| out.flush()).is_err() {
        std::process::exit(0);
    }
}

impl Session {
    /// A session that is not connected yet.
    pub fn new(settings: Settings, interactive: bool) -> Session {
        Session {
            settings,
            conn: None,
            interactive,
        }
    }

    /// The prompt redis-cli shows: `host:port[db]> `, or `not connected> `.
    pub fn prompt(&self) -> String {
        if self.conn.is_none() {
            return "not connected> ".to_owned();
        }
        let s = &self.settings;
        let host = if s.host.contains(':') {
            format!("[{}]", s.host)
        } else {
            s.host.clone()
        };
        let db = if s.db != 0 {
            format!("[{}]", s.db)
        } else {
            String::new()
        };
        format!("{host}:{}{db}> ", s.port)
    }

    /// Points the session at another node (redirections, the `connect` command).
    pub fn retarget(&mut self, host: String, port: u16) {
        self.settings.host = host;
        self.settings.port = port;
        self.conn = None;
    }

    /// Connects (again) and logs in as redis-cli does: AUTH, SELECT, HELLO 3. Their failures
    /// are reported on stderr and the connection is kept, as redis-cli keeps it.
    pub fn connect(&mut self) -> bool {
        let s = &self.settings;
        let mut conn = match Conn::connect(&s.host, s.port) {
            Ok(c) => c,
            Err(e) => {
                eprintln!(
                    "Could not connect to Redis at {}:{}: {}",
                    s.host,
                    s.port,
                    os_text(&e)
                );
                self.conn = None;
                return false;
            }
        };
        if let Some(password) = &s.password {
            let mut auth = vec![b"AUTH".to_vec()];
            auth.extend(s.user.clone());
            auth.push(password.clone());
            if !Self::setup(&mut conn, &auth, "AUTH failed") {
                self.conn = None;
                return false;
            }
        }
        if s.db != 0 {
            let select = vec![b"SELECT".to_vec(), s.db.to_string().into_bytes()];
            let what = format!("SELECT {} failed", s.db);
            if !Self::setup(&mut conn, &select, &what) {
                self.conn = None;
                return false;
            }
        }
        if s.resp3
            && !Self::setup(
                &mut conn,
                &[b"HELLO".to_vec(), b"3".to_vec()],
                "HELLO 3 failed",
            )
        {
            self.conn = None;
            return false;
        }
        self.conn = Some(conn);
        true
    }

    /// One set-up command; false only when the connection itself failed.
    fn setup(conn: &mut Conn, args: &[Vec<u8>], what: &str) -> bool {
        match conn.call(args) {
            Ok(reply) => {
                if let Some(e) = error_text(&reply) {
                    eprintln!("{what}: {e}");
                }
                true
            }
            Err(e) => {
                eprintln!("{what}: {}", e.text());
                false
            }
        }
    }

    /// Runs `args` `repeat` times (forever when negative), printing every reply.
    pub fn run(&mut self, args: &[Vec<u8>], repeat: i64) -> Result<(), Fatal> {
        let mut left = repeat;
        while left != 0 {
            if left > 0 {
                left -= 1;
            }
            self.run_once(args)?;
            if !self.settings.interval.is_zero() {
                thread::sleep(self.settings.interval);
            }
        }
        Ok(())
    }

    fn run_once(&mut self, args: &[Vec<u8>]) -> Result<(), Fatal> {
        let raw_command = format::is_raw_command(args);
        let mut asking = false;
        let mut redirects = 0;
        loop {
            if self.conn.is_none() && !self.connect() {
                return Err(Fatal);
            }
            if is_pubsub(args) && redirects == 0 && self.settings.mode != OutputMode::Raw {
                write_out(b"Reading messages... (press Ctrl-C to quit)\n");
            }
            let reply = match self.exchange(args, asking) {
                Ok(r) => r,
                // A SHUTDOWN that worked closes the connection instead of replying.
                Err(_) if is(args, 0, "shutdown") => {
                    self.conn = None;
                    return Ok(());
                }
                Err(e) if self.interactive => {
                    // redis-cli reconnects once and re-sends when the link was lost.
                    self.conn = None;
                    if !self.connect() {
                        return Err(Fatal);
                    }
                    match self.exchange(args, asking) {
                        Ok(r) => r,
                        Err(_) => return self.lost(&e),
                    }
                }
                Err(e) => return self.lost(&e),
            };
            if self.settings.cluster && redirects < MAX_REDIRECTS {
                if let Some(to) = redirect(&reply) {
                    redirects += 1;
                    if self.interactive {
                        write_out(
                            format!(
                                "-> Redirected to slot [{}] located at {}:{}\n",
                                to.slot, to.host, to.port
                            )
                            .as_bytes(),
                        );
                    }
                    asking = to.ask;
                    self.retarget(to.host, to.port);
                    continue;
                }
            }
            self.print(&reply, raw_command)?;
            if is(args, 0, "select") && args.len() == 2 && error_text(&reply).is_none() {
                if let Some(db) = args
                    .get(1)
                    .and_then(|d| std::str::from_utf8(d).ok())
                    .and_then(|d| d.parse().ok())
                {
                    self.settings.db = db;
                }
            }
            if is(args, 0, "monitor") || is_pubsub(args) {
                return self.stream();
            }
            return Ok(());
        }
    }

    /// Sends the command (after ASKING when an ASK redirection asked for it) and reads its
    /// reply. Push messages that arrive first are not the reply: redis-cli drops them.
    fn exchange(&mut self, args: &[Vec<u8>], asking: bool) -> Result<Frame, ConnError> {
        let conn = self.conn.as_mut().ok_or(ConnError::Closed)?;
        if asking {
            conn.call(&[b"ASKING".to_vec()])?;
        }
        conn.send(args).map_err(ConnError::Io)?;
        let pubsub = is_pubsub(args);
        loop {
            let reply = conn.read()?;
            if matches!(reply, Frame::Push(_)) && !pubsub {
                continue;
            }
            return Ok(reply);
        }
    }

    fn lost(&mut self, e: &ConnError) -> Result<(), Fatal> {
        self.conn = None;
        eprintln!("Error: {}", e.text());
        Err(Fatal)
    }

    fn print(&self, reply: &Frame, raw_command: bool) -> Result<(), Fatal> {
        if let Some(bad) = format::unprintable(reply) {
            eprintln!("{}", bad.message());
            return Err(Fatal);
        }
        let mut out = Vec::new();
        format::reply(reply, self.settings.mode, raw_command, &mut out);
        write_out(&out);
        Ok(())
    }

    /// After SUBSCRIBE or MONITOR: every further message is printed until the connection ends
    /// (or Ctrl-C ends the process).
    fn stream(&mut self) -> Result<(), Fatal> {
        loop {
            let frame = match self.conn.as_mut() {
                Some(conn) => conn.read(),
                None => return Err(Fatal),
            };
            match frame {
                Ok(f) => self.print(&f, false)?,
                Err(e) => return self.lost(&e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resp_proto::Bytes;

    #[test]
    fn parses_redirections() {
        let moved = Frame::Error(Bytes::from_static(b"MOVED 3999 127.0.0.1:6381"));
        assert_eq!(
            redirect(&moved),
            Some(Redirect {
                ask: false,
                slot: 3999,
                host: "127.0.0.1".into(),
                port: 6381
            })
        );
        let ask = Frame::Error(Bytes::from_static(b"ASK 1 ::1:7000"));
        assert_eq!(
            redirect(&ask).map(|r| (r.ask, r.host)),
            Some((true, "::1".into()))
        );
        let other = Frame::Error(Bytes::from_static(b"MOVEDX 1 a:1"));
        assert_eq!(redirect(&other), None);
    }
}
