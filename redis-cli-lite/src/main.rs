//! `redis-cli-lite`: a small redis-cli for any Redis-compatible node.
//!
//! It takes redis-cli's everyday options (`-h -p -a --user -n -3 -c -x -r -i --raw --no-raw`)
//! and prints replies byte for byte as redis-cli 7.0.15 does, in both its terminal form and its
//! pipe form (golden files made with the real redis-cli are in `tests/fixtures/`). Without a
//! command it is interactive: `host:port[db]>` prompt, line editing and history (file
//! `~/.rediscli_lite_history`, or `REDISCLI_LITE_HISTFILE`), or commands read from a pipe.
//! `-c` follows MOVED and ASK (ASKING first) and moves the prompt to the new node.
//! SUBSCRIBE/PSUBSCRIBE/SSUBSCRIBE and MONITOR stream messages until Ctrl-C.
//!
//! Deliberate differences from redis-cli 7.0.15: history lives in its own file (rustyline's
//! format is not linenoise's); lines carrying passwords (AUTH, HELLO, MIGRATE, ACL SETUSER,
//! CONFIG SET) are kept out of it; `-c` gives up after 16 redirections of one command (redis-cli
//! never does). Known limit: keys typed ahead while a command runs are lost except the first
//! line (rustyline reads them into a buffer it drops); pasting several lines works.
//!
//! `--cluster create|check|info|fix|reshard|rebalance|add-node|del-node|call|set-timeout` is
//! redis-cli's cluster manager (see the `cluster` module): same commands sent, same lines printed.
//!
//! Not here (yet): `--cluster import` and `backup`, `-u` URIs,
//! `--csv`/`--json`, `--pipe`, `--scan`, `--bigkeys`, latency modes, TLS, Unix sockets,
//! command hints and the `help` command table.

mod cluster;
mod conn;
mod format;
mod repl;
mod session;
mod split;

use std::ffi::OsString;
use std::io::{self, IsTerminal, Read};
use std::os::unix::ffi::OsStringExt;
use std::process::ExitCode;
use std::time::Duration;

use clap::{ArgAction, Parser};

use crate::format::OutputMode;
use crate::session::{Session, Settings};

/// Options, named as redis-cli names them (so `-h` is the host and help is `--help`).
#[derive(Parser, Debug)]
#[command(
    name = "redis-cli-lite",
    version,
    about = "A small redis-cli: one-shot or interactive commands against any Redis-compatible node.",
    disable_help_flag = true,
    disable_version_flag = true,
    args_override_self = true,
    after_help = "Without a command it is interactive (history in ~/.rediscli_lite_history or \
                  $REDISCLI_LITE_HISTFILE).\n\
                  --cluster <subcommand> ... runs the cluster manager (--cluster help lists it).\n\
                  Not implemented: --cluster import/backup, -u, --csv, \
                  --pipe, --scan, --bigkeys, latency modes, TLS, Unix sockets."
)]
struct Args {
    /// Server hostname.
    #[arg(short = 'h', default_value = "127.0.0.1", value_name = "hostname")]
    host: String,
    /// Server port.
    #[arg(short = 'p', default_value_t = 6379, value_name = "port")]
    port: u16,
    /// Password to use when connecting (or REDISCLI_AUTH in the environment).
    #[arg(short = 'a', long = "pass", value_name = "password")]
    password: Option<OsString>,
    /// Used to send ACL style 'AUTH username pass'. Needs -a.
    #[arg(long = "user", value_name = "username")]
    user: Option<OsString>,
    /// Database number.
    #[arg(short = 'n', default_value_t = 0, value_name = "db")]
    db: i64,
    /// Start session in RESP3 protocol mode.
    #[arg(short = '3')]
    resp3: bool,
    /// Enable cluster mode (follow -ASK and -MOVED redirections).
    #[arg(short = 'c')]
    cluster: bool,
    /// Read last argument from STDIN.
    #[arg(short = 'x')]
    stdin_arg: bool,
    /// Execute specified command N times (-1: forever).
    #[arg(
        short = 'r',
        default_value_t = 1,
        allow_negative_numbers = true,
        value_name = "repeat"
    )]
    repeat: i64,
    /// When -r is used, waits <interval> seconds per command (e.g. -i 0.1).
    #[arg(short = 'i', default_value_t = 0.0, value_name = "interval")]
    interval: f64,
    /// Use raw formatting for replies (default when STDOUT is not a tty).
    #[arg(long, overrides_with = "no_raw")]
    raw: bool,
    /// Force formatted output even when STDOUT is not a tty.
    #[arg(long = "no-raw", overrides_with = "raw")]
    no_raw: bool,
    /// Don't show warning message when using password on command line interface.
    #[arg(long = "no-auth-warning")]
    no_auth_warning: bool,
    /// Output this help and exit.
    #[arg(long = "help", action = ArgAction::Help)]
    help: Option<bool>,
    /// Output version and exit.
    #[arg(short = 'v', long = "version", action = ArgAction::Version)]
    version: Option<bool>,
    /// The command and its arguments.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "cmd [arg...]"
    )]
    command: Vec<OsString>,
}

fn main() -> ExitCode {
    let raw: Vec<OsString> = std::env::args_os().collect();
    match cluster::parse(&raw) {
        Some(Ok(opts)) => return cluster::run(opts),
        Some(Err(message)) => {
            eprint!("{message}");
            return ExitCode::FAILURE;
        }
        None => {}
    }
    let args = Args::parse_from(raw);
    let mode = if args.raw {
        OutputMode::Raw
    } else if args.no_raw || io::stdout().is_terminal() {
        OutputMode::Standard
    } else {
        OutputMode::Raw
    };
    if args.password.is_some() && !args.no_auth_warning {
        eprintln!(
            "Warning: Using a password with '-a' or '-u' option on the command line interface may not be safe."
        );
    }
    let password = args
        .password
        .or_else(|| std::env::var_os("REDISCLI_AUTH"))
        .map(OsStringExt::into_vec);
    let interval = if args.interval.is_finite() && args.interval > 0.0 {
        Duration::from_secs_f64(args.interval.min(1e9))
    } else {
        Duration::ZERO
    };
    let settings = Settings {
        host: args.host,
        port: args.port,
        user: args.user.map(OsStringExt::into_vec),
        password,
        db: args.db,
        resp3: args.resp3,
        cluster: args.cluster,
        mode,
        interval,
    };
    if args.command.is_empty() {
        let session = Session::new(settings, true);
        return ExitCode::from(u8::try_from(repl::run(session)).unwrap_or(1));
    }
    let mut command: Vec<Vec<u8>> = args
        .command
        .into_iter()
        .map(OsStringExt::into_vec)
        .collect();
    // An unknown option lands here (arguments after the command may start with '-').
    if let Some(first) = command.first().filter(|c| c.starts_with(b"-")) {
        eprintln!(
            "Unrecognized option or bad number of args for: '{}'",
            String::from_utf8_lossy(first)
        );
        return ExitCode::FAILURE;
    }
    if args.stdin_arg {
        let mut last = Vec::new();
        if let Err(e) = io::stdin().read_to_end(&mut last) {
            eprintln!("Error: reading stdin: {e}");
            return ExitCode::FAILURE;
        }
        command.push(last);
    }
    let mut session = Session::new(settings, false);
    if !session.connect() {
        return ExitCode::FAILURE;
    }
    match session.run(&command, args.repeat) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}
