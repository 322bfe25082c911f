//! Redis's log format for every `tracing` event of the node:
//! `pid:role dd Mon yyyy HH:MM:SS.mmm <level> message`, to `logfile` (opened for append at
//! each line, like Redis, so rotating the file works) or to standard output.
//!
//! Levels: `error!`/`warn!` are Redis's warning (`#`), `info!` notice (`*`), `debug!`
//! verbose (`-`), `trace!` debug (`.`). `loglevel` filters. The role character is `C` until
//! the server has initialised, then `M` (master) or `S` (replica).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};

use parking_lot::RwLock;
use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

use crate::config::LogLevel;

static LEVEL: AtomicU8 = AtomicU8::new(2);
static ROLE: AtomicU8 = AtomicU8::new(b'C');
static TARGET: RwLock<Option<PathBuf>> = RwLock::new(None);

fn level_index(l: LogLevel) -> u8 {
    match l {
        LogLevel::Debug => 0,
        LogLevel::Verbose => 1,
        LogLevel::Notice => 2,
        LogLevel::Warning => 3,
    }
}

/// Changes the verbosity (CONFIG SET loglevel takes effect at once).
pub fn set_level(level: LogLevel) {
    LEVEL.store(level_index(level), Ordering::Relaxed);
}

/// Sets the role character of the lines: `M` master, `S` replica, `C` before init.
pub fn set_role(role: u8) {
    ROLE.store(role, Ordering::Relaxed);
}

/// Sends log lines to `logfile` (empty = standard output).
pub fn set_logfile(logfile: Option<PathBuf>) {
    *TARGET.write() = logfile;
}

/// Installs the Redis-format subscriber as the global default (once per process; later
/// calls only change level and file).
pub fn init(level: LogLevel, logfile: Option<PathBuf>) {
    set_level(level);
    set_logfile(logfile);
    let subscriber = tracing_subscriber::registry().with(RedisLayer);
    // Already installed (a second run() in one process, or a test): level and file are set.
    let _ = tracing::subscriber::set_global_default(subscriber);
}

fn redis_level(level: &Level) -> u8 {
    match *level {
        Level::ERROR | Level::WARN => 3,
        Level::INFO => 2,
        Level::DEBUG => 1,
        Level::TRACE => 0,
    }
}

/// Writes one line in Redis's format if `level` (0 debug .. 3 warning) passes the filter.
pub fn log(level: u8, msg: &str) {
    if level < LEVEL.load(Ordering::Relaxed) {
        return;
    }
    let mark = match level {
        0 => '.',
        1 => '-',
        2 => '*',
        _ => '#',
    };
    let now = chrono::Local::now();
    let line = format!(
        "{}:{} {} {} {}\n",
        std::process::id(),
        char::from(ROLE.load(Ordering::Relaxed)),
        now.format("%d %b %Y %H:%M:%S%.3f"),
        mark,
        msg
    );
    write_out(line.as_bytes());
}

/// Writes text without the line prefix (the logo), at notice level.
pub fn raw(text: &str) {
    if LEVEL.load(Ordering::Relaxed) <= 2 {
        write_out(text.as_bytes());
    }
}

/// What Redis's signal handler logs: `pid:signal-handler (unixtime) message`.
pub fn from_signal_handler(msg: &str) {
    let secs = chrono::Utc::now().timestamp();
    write_out(format!("{}:signal-handler ({secs}) {msg}\n", std::process::id()).as_bytes());
}

fn write_out(bytes: &[u8]) {
    let target = TARGET.read().clone();
    match target {
        Some(path) => {
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(path)
            {
                let _ = f.write_all(bytes);
            }
        }
        None => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(bytes);
            let _ = out.flush();
        }
    }
}

struct RedisLayer;

impl<S: Subscriber> Layer<S> for RedisLayer {
    // Filtered events are not even built: `loglevel` is read at each call site, so a
    // CONFIG SET loglevel takes effect at once.
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        redis_level(metadata.level()) >= LEVEL.load(Ordering::Relaxed)
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let level = redis_level(event.metadata().level());
        if level < LEVEL.load(Ordering::Relaxed) {
            return;
        }
        let mut visitor = MessageVisitor(String::new());
        event.record(&mut visitor);
        log(level, &visitor.0);
    }
}

struct MessageVisitor(String);

impl Visit for MessageVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.insert_str(0, value);
        } else {
            let _ = write!(self.0, " {}={}", field.name(), value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let text = format!("{value:?}");
            self.0.insert_str(0, &text);
        } else {
            let _ = write!(self.0, " {}={:?}", field.name(), value);
        }
    }
}

/// Redis's start-up logo, shown when `always-show-logo` is set or standard output is a
/// terminal and no log file is used.
pub fn logo(version: &str, cluster: bool, port: u16, pid: u32) -> String {
    let mode = if cluster { "cluster" } else { "standalone" };
    format!(
        "                _._                                                  \n\
         \x20          _.-``__ ''-._                                             \n\
         \x20     _.-``    `.  `_.  ''-._           Redis {version} (00000000/0) 64 bit\n\
         \x20 .-`` .-```.  ```\\/    _.,_ ''-._                                  \n\
         \x20(    '      ,       .-`  | `,    )     Running in {mode} mode\n\
         \x20|`-._`-...-` __...-.``-._|'` _.-'|     Port: {port}\n\
         \x20|    `-._   `._    /     _.-'    |     PID: {pid}\n\
         \x20 `-._    `-._  `-./  _.-'    _.-'                                   \n\
         \x20|`-._`-._    `-.__.-'    _.-'_.-'|                                  \n\
         \x20|    `-._`-._        _.-'_.-'    |           https://redis.io       \n\
         \x20 `-._    `-._`-.__.-'_.-'    _.-'                                   \n\
         \x20|`-._`-._    `-.__.-'    _.-'_.-'|                                  \n\
         \x20|    `-._`-._        _.-'_.-'    |                                  \n\
         \x20 `-._    `-._`-.__.-'_.-'    _.-'                                   \n\
         \x20     `-._    `-.__.-'    _.-'                                       \n\
         \x20         `-._        _.-'                                           \n\
         \x20             `-.__.-'                                               \n\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logo_matches_redis_byte_for_byte() {
        let expected = "                _._                                                  \n           _.-``__ ''-._                                             \n      _.-``    `.  `_.  ''-._           Redis 7.0.15 (00000000/0) 64 bit\n  .-`` .-```.  ```\\/    _.,_ ''-._                                  \n (    '      ,       .-`  | `,    )     Running in cluster mode\n |`-._`-...-` __...-.``-._|'` _.-'|     Port: 21399\n |    `-._   `._    /     _.-'    |     PID: 14441\n  `-._    `-._  `-./  _.-'    _.-'                                   \n |`-._`-._    `-.__.-'    _.-'_.-'|                                  \n |    `-._`-._        _.-'_.-'    |           https://redis.io       \n  `-._    `-._`-.__.-'_.-'    _.-'                                   \n |`-._`-._    `-.__.-'    _.-'_.-'|                                  \n |    `-._`-._        _.-'_.-'    |                                  \n  `-._    `-._`-.__.-'_.-'    _.-'                                   \n      `-._    `-.__.-'    _.-'                                       \n          `-._        _.-'                                           \n              `-.__.-'                                               \n\n";
        assert_eq!(logo("7.0.15", true, 21399, 14441), expected);
    }
}
