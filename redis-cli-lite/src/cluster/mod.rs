//! `redis-cli-lite --cluster <subcommand>`: redis-cli 7.0.15's cluster manager.
//!
//! Every subcommand sends the same commands, in the same order, as redis-cli 7.0.15 (the
//! captures of the real tool are in `tests/fixtures/cluster-tools/`) and prints the same lines,
//! so scripts that read redis-cli's output read ours. On a terminal a few things are added
//! after (never instead of) redis-cli's lines: a table after `info` and `check`, a progress bar
//! and a summary for `reshard` and `rebalance` (whose per-slot lines and `#` marks the bar
//! replaces there). Colours follow redis-cli's rule: on when `TERM` contains `xterm`, pipe or
//! not.
//!
//! Known differences from redis-cli 7.0.15:
//! * where redis-cli walks a hash table (open slots, uncovered slots to cover) we go in
//!   ascending slot order; redis-cli's order is that of its randomly seeded dict;
//! * the reshard questions (slots, target, sources) give up at the end of input instead of
//!   asking again forever;
//! * `--cluster help` does not list `import` and `backup`, which are not implemented.
//!
//! With `REDIS_CLI_LITE_TRACE=<file>` every command sent is appended to the file (see `link`).

mod args;
mod check;
mod create;
mod fix;
mod link;
mod log;
mod manage;
mod moves;
mod node;
mod view;

use std::process::ExitCode;

pub use args::parse;
use args::{Options, Subcommand};
use link::Link;
use log::Log;
use node::Node;

/// The state of one cluster manager run: the nodes as loaded, the errors the check found.
pub struct Manager {
    opts: Options,
    nodes: Vec<Node>,
    errors: Vec<String>,
    log: Log,
    /// Masters listed by the entry node that could not be reached at load.
    unreachable_masters: usize,
    /// The last per-master summary, for the terminal table.
    summary_rows: Vec<view::MasterRow>,
}

/// Runs a parsed `--cluster` invocation; the exit code is redis-cli's (0 or 1).
pub fn run(opts: Options) -> ExitCode {
    if opts.auth_warning {
        eprintln!(
            "Warning: Using a password with '-a' or '-u' option on the command line interface may not be safe."
        );
    }
    let log = Log::new(std::io::IsTerminal::is_terminal(&std::io::stdout()));
    let mut m = Manager {
        opts,
        nodes: Vec::new(),
        errors: Vec::new(),
        log,
        unreachable_masters: 0,
        summary_rows: Vec::new(),
    };
    let argv = m.opts.argv.clone();
    let ok = match m.opts.command {
        Subcommand::Create => create::create(&mut m, &argv),
        Subcommand::Check => manage::check(&mut m, &argv),
        Subcommand::Info => manage::info(&mut m, &argv),
        Subcommand::Fix => {
            m.opts.fix = true;
            manage::check(&mut m, &argv)
        }
        Subcommand::Reshard => moves::reshard(&mut m, &argv),
        Subcommand::Rebalance => moves::rebalance(&mut m, &argv),
        Subcommand::AddNode => manage::add_node(&mut m, &argv),
        Subcommand::DelNode => manage::del_node(&mut m, &argv),
        Subcommand::Call => manage::call(&mut m, &argv),
        Subcommand::SetTimeout => manage::set_timeout(&mut m, &argv),
        Subcommand::Help => {
            args::print_help();
            false
        }
    };
    m.log.flush();
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// redis-cli's message for a bad `host:port` argument.
const INVALID_HOST_ARG: &str = "[ERR] Invalid arguments: you need to pass either a valid address \
                                (ie. 120.0.0.1:7000) or space separated IP and port (ie. 120.0.0.1 7000)\n";

/// `ip:port` (one argument, the last colon splits, `@bus` dropped) or `ip port` (two).
fn host_from_args(argv: &[String]) -> Option<(String, u16)> {
    match argv {
        [one] => {
            let addr = one.rsplit_once('@').map_or(one.as_str(), |(a, _)| a);
            let (ip, port) = addr.rsplit_once(':')?;
            Some((ip.to_owned(), atoi(port)?))
        }
        [ip, port, ..] => Some((ip.clone(), atoi(port)?)),
        [] => None,
    }
}

/// C's atoi for a port: leading digits, 0 is invalid (redis-cli rejects a zero port).
fn atoi(text: &str) -> Option<u16> {
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    digits.parse::<u16>().ok().filter(|&p| p != 0)
}

impl Manager {
    /// Index of the node whose id is `name`.
    fn by_name(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }

    /// Index of the node whose id starts with `prefix` (`--cluster-weight` takes prefixes).
    fn by_abbreviated_name(&self, prefix: &str) -> Option<usize> {
        let mut found = None;
        for (i, n) in self.nodes.iter().enumerate() {
            if n.name.starts_with(prefix) {
                if found.is_some() {
                    return None;
                }
                found = Some(i);
            }
        }
        found
    }

    /// Masters, in load order.
    fn masters(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| !self.nodes[i].is_slave())
            .collect()
    }

    /// Records a check error and prints it (red on a terminal).
    fn on_error(&mut self, text: String) {
        self.log.err(&format!("{text}\n"));
        self.errors.push(text);
    }

    /// redis-cli's `Node ip:port replied with error:\n<err>` line.
    fn reply_error(&mut self, i: usize, err: &str) {
        let n = &self.nodes[i];
        let line = format!("Node {}:{} replied with error:\n{err}\n", n.ip, n.port);
        self.log.err(&line);
    }

    /// Asks `question`; true only for a typed `yes`. `--cluster-yes` answers for the user
    /// unless `ignore_yes` (the slot coverage prompts of fix ignore it, as in redis-cli).
    fn confirm(&mut self, question: &str, ignore_yes: bool) -> bool {
        if self.opts.yes && !ignore_yes {
            return true;
        }
        self.log
            .plain(&format!("{question} (type 'yes' to accept): "));
        self.log.flush();
        log::read_answer(4).as_deref() == Some("yes")
    }
}

/// Error text of a reply, if it is one.
fn reply_err(frame: &resp_proto::Frame) -> Option<String> {
    match frame {
        resp_proto::Frame::Error(e) | resp_proto::Frame::BulkError(e) => {
            Some(String::from_utf8_lossy(e).into_owned())
        }
        _ => None,
    }
}

/// Text of a bulk, status or verbatim reply.
fn reply_text(frame: &resp_proto::Frame) -> Option<String> {
    match frame {
        resp_proto::Frame::Bulk(b) | resp_proto::Frame::SimpleString(b) => {
            Some(String::from_utf8_lossy(b).into_owned())
        }
        resp_proto::Frame::Verbatim { data, .. } => {
            Some(String::from_utf8_lossy(data).into_owned())
        }
        _ => None,
    }
}

/// The value of `field:` in an INFO-style text.
fn info_field<'a>(text: &'a str, field: &str) -> Option<&'a str> {
    text.split("\r\n")
        .flat_map(|l| l.split('\n'))
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_arguments_as_redis_cli_reads_them() {
        let one = |s: &str| host_from_args(&[s.to_owned()]);
        assert_eq!(one("127.0.0.1:7000"), Some(("127.0.0.1".into(), 7000)));
        assert_eq!(
            one("127.0.0.1:7000@17000"),
            Some(("127.0.0.1".into(), 7000))
        );
        assert_eq!(one("::1:7000"), Some(("::1".into(), 7000)));
        assert_eq!(one("127.0.0.1"), None);
        assert_eq!(one("127.0.0.1:x"), None);
        assert_eq!(
            host_from_args(&["10.0.0.1".into(), "7001".into()]),
            Some(("10.0.0.1".into(), 7001))
        );
    }

    #[test]
    fn info_fields() {
        let info = "# Cluster\r\ncluster_enabled:1\r\ndb0:keys=3,expires=0\r\n";
        assert_eq!(info_field(info, "cluster_enabled"), Some("1"));
        assert_eq!(info_field(info, "db0"), Some("keys=3,expires=0"));
        assert_eq!(info_field(info, "db1"), None);
    }
}
