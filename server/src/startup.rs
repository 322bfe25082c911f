//! The start-up and shutdown sequence of redis-server 7.0.15, line for line in the log:
//! command line, configuration (FATAL errors on stderr), logging, listeners, pidfile,
//! `Ready to accept connections`, and a clean exit on SIGTERM/SIGINT.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::value::Value;
use crate::config::{self, table, Cli, ConfigStore, LoadError, Loader, Startup};
use crate::node::Node;
use crate::{logging, net, process, VERSION};

const USAGE: &str = "Usage: ./redis-server [/path/to/redis.conf] [options] [-]
       ./redis-server - (read config from stdin)
       ./redis-server -v or --version
       ./redis-server -h or --help
       ./redis-server --test-memory <megabytes>
       ./redis-server --check-system

Examples:
       ./redis-server (run the server with default conf)
       echo 'maxmemory 128mb' | ./redis-server -
       ./redis-server /etc/redis/6379.conf
       ./redis-server --port 7777
       ./redis-server --port 7777 --replicaof 127.0.0.1 8888
       ./redis-server /etc/myredis.conf --loglevel verbose -
       ./redis-server /etc/myredis.conf --loglevel verbose

Sentinel mode:
       ./redis-server /etc/sentinel.conf --sentinel
";

/// How long shutdown waits for connections to close before exiting anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

pub(crate) fn run(args: Vec<String>) -> i32 {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    match config::parse_cli(&args, &cwd) {
        Cli::Version => {
            println!(
                "Redis server v={VERSION} sha=00000000:0 malloc=libc bits=64 build=0000000000000000"
            );
            0
        }
        Cli::Help => {
            eprint!("{USAGE}");
            1
        }
        Cli::TestMemory => {
            eprintln!("--test-memory is not supported by this server.");
            1
        }
        Cli::CheckSystem => {
            eprintln!("--check-system is not supported by this server.");
            1
        }
        Cli::Sentinel => {
            eprintln!("Sentinel mode is not supported by this server.");
            1
        }
        Cli::Run(startup) => start(&startup, &cwd, args.is_empty()),
    }
}

fn start(startup: &Startup, cwd: &Path, no_args: bool) -> i32 {
    let loaded = match Loader::new(cwd, true).load_startup(startup, &mut std::io::stdin()) {
        Ok(l) => l,
        Err(e @ LoadError::Fatal { .. }) => {
            eprint!("{e}");
            return 1;
        }
        Err(e @ LoadError::CantOpen { .. }) => {
            logging::log(3, &e.to_string());
            return 1;
        }
    };
    let notes = unimplemented_notes(&loaded);
    let (modules, module_configs) = (loaded.modules.clone(), loaded.module_configs);
    let store = Arc::new(ConfigStore::from_loaded(
        loaded,
        startup.config_file.clone(),
    ));
    let cfg = store.current();
    let logfile = (!cfg.logfile.is_empty()).then(|| PathBuf::from(&cfg.logfile));
    logging::init(cfg.loglevel, logfile.clone());

    let pid = std::process::id();
    tracing::warn!("oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo");
    tracing::warn!(
        "Redis version={VERSION}, bits=64, commit=00000000, modified=0, pid={pid}, just started"
    );
    if no_args {
        tracing::warn!("Warning: no config file specified, using the default config. In order to specify a config file use ./redis-server /path/to/redis.conf");
    } else {
        tracing::warn!("Configuration loaded");
    }
    for note in notes {
        tracing::info!("{note}");
    }
    if cfg.daemonize {
        tracing::warn!("daemonize yes is not supported by this server: run it in the foreground, under a process supervisor if needed. Aborting.");
        return 1;
    }
    process::init(cfg.config_file.clone());

    let busy_poll = net::BusyPoll::new(cfg.busy_poll).map(Arc::new);
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(cfg.worker_threads).enable_all();
    if let Some(b) = &busy_poll {
        let b = Arc::clone(b);
        builder.on_thread_park(move || b.before_sleep());
    }
    let runtime = match builder.build() {
        Ok(rt) => rt,
        Err(e) => {
            tracing::warn!("Can't start the runtime: {e}");
            return 1;
        }
    };
    logging::set_role(b'M');
    tracing::info!("monotonic clock: POSIX clock_gettime");

    let listeners = match net::bind(&cfg) {
        Ok(l) => l,
        Err(e) => {
            // net::bind does not say which address failed; the first is the usual culprit.
            let addr = cfg.bind.first().map_or("*", |a| a.trim_start_matches('-'));
            tracing::warn!(
                "Warning: Could not create server TCP listening socket {addr}:{}: bind: {}",
                cfg.port,
                config::value::strerror(&e)
            );
            tracing::warn!("Failed listening on port {} (TCP), aborting.", cfg.port);
            return 1;
        }
    };
    if listeners.local_addrs().is_empty() {
        tracing::warn!("Configured to not listen anywhere, exiting.");
        return 1;
    }

    let to_stdout_tty = {
        use std::io::IsTerminal;
        logfile.is_none() && std::io::stdout().is_terminal()
    };
    if cfg.always_show_logo || to_stdout_tty {
        logging::raw(&logging::logo(VERSION, cfg.cluster_enabled, cfg.port, pid));
    } else {
        let mode = if cfg.cluster_enabled {
            "cluster"
        } else {
            "standalone"
        };
        tracing::info!("Running mode={mode}, port={}.", cfg.port);
    }
    warn_if_backlog_capped(cfg.tcp_backlog);
    tracing::warn!("Server initialized");
    if let Some(code) = refuse_modules(&modules, module_configs) {
        return code;
    }

    let cluster = if cfg.cluster_enabled {
        match crate::cluster::prepare(&cfg, crate::keyspace::now_ms()) {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::warn!("{e}");
                return 1;
            }
        }
    } else {
        None
    };
    let pidfile = cfg.pidfile.as_deref().and_then(process::Pidfile::create);

    let shutdown = CancellationToken::new();
    let code = runtime.block_on(async {
        let signals = process::spawn_signal_handler(shutdown.clone())
            .inspect_err(|e| tracing::warn!("Can't install the signal handlers: {e}"))
            .ok();
        let node = Arc::new(Node::new(Arc::clone(&store)));
        if crate::rdb::load::startup(&node).is_err() {
            return 1;
        }
        tracing::info!("Ready to accept connections");
        // Before the cluster starts: its first gossip may make this node a replica, and the
        // replication link needs the hooks to start.
        node.install_hooks();
        if let Some(prepared) = cluster {
            crate::cluster::start(&node, prepared, shutdown.clone());
        }
        let serving = tokio::spawn(net::serve(
            Arc::clone(&node),
            listeners,
            busy_poll,
            shutdown.clone(),
        ));
        process::wait_for_shutdown(&node, &shutdown, signals).await;
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, serving).await;
        0
    });
    if let Some(p) = pidfile {
        p.remove();
    }
    if code != 0 {
        return code;
    }
    tracing::warn!("Redis is now ready to exit, bye bye...");
    runtime.shutdown_timeout(Duration::from_millis(100));
    0
}

/// Redis warns when the kernel caps the listen backlog below `tcp-backlog`.
fn warn_if_backlog_capped(backlog: u32) {
    let Ok(text) = std::fs::read_to_string("/proc/sys/net/core/somaxconn") else {
        return;
    };
    if let Ok(somaxconn) = text.trim().parse::<u32>() {
        if somaxconn > 0 && somaxconn < backlog {
            tracing::warn!("WARNING: The TCP backlog setting of {backlog} cannot be enforced because /proc/sys/net/core/somaxconn is set to the lower value of {somaxconn}.");
        }
    }
}

/// Log lines for directives the configuration set that this server does not act on.
fn unimplemented_notes(loaded: &config::Loaded) -> Vec<String> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut notes: Vec<String> = table::CONFIGS
        .iter()
        .zip(&loaded.present)
        .zip(&loaded.values)
        .filter(|((spec, present), value)| {
            // A feature set to off (`save ""`, `appendonly no`) or left at its default needs
            // nothing from this server.
            let off = match value {
                Value::Bool(false) | Value::Num(0) | Value::Str(None) => true,
                Value::Save(points) => points.is_empty(),
                _ => false,
            };
            **present
                && !spec.has(table::USED)
                && !off
                && **value != config::value::default_value(spec, &cwd)
        })
        .map(|((spec, _), _)| {
            format!(
                "Directive '{}' is accepted but not implemented by this server: its value is kept for CONFIG GET and CONFIG REWRITE only",
                spec.name
            )
        })
        .collect();
    notes.extend(loaded.notes.iter().cloned());
    notes
}

/// Redis aborts when a module does not load; this server loads none.
fn refuse_modules(modules: &[Vec<u8>], module_configs: usize) -> Option<i32> {
    if let Some(path) = modules.first() {
        let path = String::from_utf8_lossy(path);
        tracing::warn!("Module {path} failed to load: this server does not support modules");
        tracing::warn!("Can't load module from {path}: server aborting");
        return Some(1);
    }
    if module_configs > 0 {
        tracing::warn!("Module Configuration detected without loadmodule directive or no ApplyConfig call: aborting");
        return Some(1);
    }
    None
}
