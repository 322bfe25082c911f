//! Per-connection state the commands read and change.

use std::collections::HashSet;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use bytes::Bytes;
use resp_proto::Protocol;

use crate::net::ClientHandle;

/// CLIENT REPLY mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    /// Replies are sent.
    On,
    /// No replies until CLIENT REPLY ON.
    Off,
    /// The next command's reply is dropped.
    Skip,
}

/// A key watched by WATCH.
#[derive(Debug)]
pub struct Watched {
    /// Database index.
    pub db: usize,
    /// The key.
    pub key: Bytes,
    /// Whether it was already logically expired when watched.
    pub expired_at_watch: bool,
}

/// One client's session.
pub struct Session {
    /// Client id (CLIENT ID).
    pub id: u64,
    /// Selected database.
    pub db: usize,
    /// Protocol spoken (HELLO).
    pub proto: Protocol,
    /// Whether AUTH succeeded (or no password is needed).
    pub authenticated: bool,
    /// Queued commands while in MULTI.
    pub multi: Option<Vec<Vec<Bytes>>>,
    /// A command failed to queue: EXEC must abort.
    pub multi_error: bool,
    /// EXEC is running the queued commands: blocking commands must not block.
    pub in_exec: bool,
    /// WATCHed keys.
    pub watched: Vec<Watched>,
    /// Set by the keyspace when a watched key changes.
    pub watch_dirty: Arc<AtomicBool>,
    /// Subscribed channels.
    pub channels: HashSet<Bytes>,
    /// Subscribed patterns.
    pub patterns: HashSet<Bytes>,
    /// CLIENT REPLY mode.
    pub reply_mode: ReplyMode,
    /// ASKING / READONLY (cluster mode).
    pub cluster: crate::cluster::ConnFlags,
    /// Close once the current reply is flushed (QUIT).
    pub close_after_reply: bool,
    /// Name of the last command (published to the registry once per turn).
    pub last_command: &'static str,
    /// Commands run since the count was last added to the node's statistics.
    pub commands: u64,
    /// State shared with the client registry (CLIENT LIST, KILL, pub/sub delivery).
    pub info: Arc<ClientHandle>,
    /// Set while a blocking command (BLPOP...) waits: no further command runs until it ends.
    pub blocked: Option<super::blocking::Blocked>,
}

impl Session {
    /// A fresh session for a connection.
    pub fn new(info: Arc<ClientHandle>, authenticated: bool) -> Session {
        Session {
            id: info.id,
            db: 0,
            proto: Protocol::Resp2,
            authenticated,
            multi: None,
            multi_error: false,
            in_exec: false,
            watched: Vec::new(),
            watch_dirty: Arc::new(AtomicBool::new(false)),
            channels: HashSet::new(),
            patterns: HashSet::new(),
            reply_mode: ReplyMode::On,
            cluster: crate::cluster::ConnFlags::default(),
            close_after_reply: false,
            last_command: "NULL",
            commands: 0,
            info,
            blocked: None,
        }
    }

    /// Inside MULTI?
    pub fn in_multi(&self) -> bool {
        self.multi.is_some()
    }

    /// Subscribed to anything?
    pub fn in_pubsub(&self) -> bool {
        !self.channels.is_empty()
            || !self.patterns.is_empty()
            || self.info.ssub.load(std::sync::atomic::Ordering::Relaxed) > 0
    }

    /// Number of subscriptions (channels + patterns).
    pub fn subscriptions(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    /// A command could not be queued: EXEC will answer EXECABORT.
    pub fn flag_multi_error(&mut self) {
        if self.multi.is_some() {
            self.multi_error = true;
        }
    }

    /// Queues a command inside MULTI.
    pub fn queue(&mut self, args: Vec<Bytes>) {
        if let Some(q) = &mut self.multi {
            q.push(args);
        }
    }
}
