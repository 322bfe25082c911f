//! Process facts and behaviour: identity for INFO (pid, run id, executable, config file,
//! start time), the pidfile, and SIGTERM/SIGINT handling as Redis does it.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::node::Node;

/// What INFO's server section reports about this process.
#[derive(Debug, Clone)]
pub struct ProcessInfo {
    /// `process_id`.
    pub pid: u32,
    /// `run_id`: 40 random hex characters, new at every start.
    pub run_id: String,
    /// `executable`: absolute path of the binary.
    pub executable: PathBuf,
    /// `config_file`: absolute path, if the server was started with one.
    pub config_file: Option<PathBuf>,
    /// Wall-clock start time (`uptime_in_seconds` and friends).
    pub started_at: SystemTime,
    /// Monotonic start time.
    pub started: Instant,
}

static INFO: OnceLock<ProcessInfo> = OnceLock::new();

/// Records the facts of this process (called once by `run`).
pub fn init(config_file: Option<PathBuf>) -> &'static ProcessInfo {
    INFO.get_or_init(|| ProcessInfo::new(config_file))
}

/// The facts of this process (made on first use if `run` did not record them).
pub fn info() -> &'static ProcessInfo {
    INFO.get_or_init(|| ProcessInfo::new(None))
}

impl ProcessInfo {
    fn new(config_file: Option<PathBuf>) -> ProcessInfo {
        let executable = std::env::current_exe().unwrap_or_default();
        ProcessInfo {
            pid: std::process::id(),
            run_id: std::iter::repeat_with(|| {
                char::from(b"0123456789abcdef"[usize::from(fastrand::u8(..16))])
            })
            .take(40)
            .collect(),
            executable,
            config_file,
            started_at: SystemTime::now(),
            started: Instant::now(),
        }
    }
}

/// A written pidfile; [`Pidfile::remove`] deletes it at shutdown.
#[derive(Debug)]
pub struct Pidfile(PathBuf);

impl Pidfile {
    /// Writes this process's pid. Like Redis, failure is only logged.
    pub fn create(path: &Path) -> Option<Pidfile> {
        let written =
            std::fs::File::create(path).and_then(|mut f| writeln!(f, "{}", std::process::id()));
        match written {
            Ok(()) => Some(Pidfile(path.to_path_buf())),
            Err(e) => {
                tracing::warn!(
                    "Failed to write PID file: {}",
                    crate::config::value::strerror(&e)
                );
                None
            }
        }
    }

    /// Deletes the pidfile, logging Redis's line.
    pub fn remove(self) {
        tracing::info!("Removing the pid file.");
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Shutdown requests from SIGTERM/SIGINT, taken one at a time by the main task.
#[derive(Debug)]
pub struct SignalRequests {
    requests: tokio::sync::mpsc::Receiver<()>,
    /// Whether a request is being acted on (Redis's `shutdown_asap`).
    pending: Arc<AtomicBool>,
}

/// Installs the SIGTERM/SIGINT handler. Each signal logs Redis's signal-handler line and
/// requests a shutdown; a SIGINT while one is pending or under way exits at once with
/// status 1, as Redis does.
pub fn spawn_signal_handler(shutdown: CancellationToken) -> std::io::Result<SignalRequests> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let (tx, requests) = tokio::sync::mpsc::channel(1);
    let pending = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&pending);
    tokio::spawn(async move {
        loop {
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            if (shutdown.is_cancelled() || flag.load(Ordering::SeqCst)) && name == "SIGINT" {
                crate::logging::from_signal_handler("You insist... exiting now.");
                std::process::exit(1);
            }
            crate::logging::from_signal_handler(&format!("Received {name} scheduling shutdown..."));
            flag.store(true, Ordering::SeqCst);
            // A full channel already holds a request.
            let _ = tx.try_send(());
        }
    });
    Ok(SignalRequests { requests, pending })
}

/// Serves until a shutdown goes through: a SHUTDOWN command (which made its own final
/// save), or a signal whose final save succeeds. A signal whose save fails is withdrawn
/// and the server keeps serving until the next one, as redis-server 7.0.15 does.
pub async fn wait_for_shutdown(
    node: &Node,
    shutdown: &CancellationToken,
    mut signals: Option<SignalRequests>,
) {
    loop {
        let requested = async {
            match signals.as_mut() {
                Some(s) => s.requests.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            Some(()) = requested => {}
        }
        if node.persistence.exit_save(node).is_ok() {
            node.stop(shutdown);
            return;
        }
        if let Some(s) = &signals {
            s.pending.store(false, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_id_is_40_hex_chars() {
        let id = &info().run_id;
        assert_eq!(id.len(), 40);
        assert!(id
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    }
}
