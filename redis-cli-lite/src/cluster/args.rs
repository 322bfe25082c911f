//! The `--cluster` command line, read as redis-cli 7.0.15 reads it: `--cluster <subcommand>`
//! takes the following arguments that do not start with `-`; the `--cluster-*` options may
//! come anywhere.

use std::ffi::OsString;

/// A `--cluster` subcommand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subcommand {
    /// `create host1:port1 ... hostN:portN`
    Create,
    /// `check host:port`
    Check,
    /// `info host:port`
    Info,
    /// `fix host:port`
    Fix,
    /// `reshard host:port`
    Reshard,
    /// `rebalance host:port`
    Rebalance,
    /// `add-node new_host:new_port existing_host:existing_port`
    AddNode,
    /// `del-node host:port node_id`
    DelNode,
    /// `call host:port command arg ...`
    Call,
    /// `set-timeout host:port milliseconds`
    SetTimeout,
    /// `help`
    Help,
}

/// Name, arity (negative: at least), arguments text, options text — redis-cli's table, which
/// its help prints.
/// One entry of the subcommand table.
type CommandDef = (
    &'static str,
    Subcommand,
    i32,
    Option<&'static str>,
    Option<&'static str>,
);

const COMMANDS: [CommandDef; 11] = [
    (
        "create",
        Subcommand::Create,
        -2,
        Some("host1:port1 ... hostN:portN"),
        Some("replicas <arg>"),
    ),
    (
        "check",
        Subcommand::Check,
        -1,
        Some("<host:port> or <host> <port> - separated by either colon or space"),
        Some("search-multiple-owners"),
    ),
    (
        "info",
        Subcommand::Info,
        -1,
        Some("<host:port> or <host> <port> - separated by either colon or space"),
        None,
    ),
    (
        "fix",
        Subcommand::Fix,
        -1,
        Some("<host:port> or <host> <port> - separated by either colon or space"),
        Some("search-multiple-owners,fix-with-unreachable-masters"),
    ),
    (
        "reshard",
        Subcommand::Reshard,
        -1,
        Some("<host:port> or <host> <port> - separated by either colon or space"),
        Some("from <arg>,to <arg>,slots <arg>,yes,timeout <arg>,pipeline <arg>,replace"),
    ),
    (
        "rebalance",
        Subcommand::Rebalance,
        -1,
        Some("<host:port> or <host> <port> - separated by either colon or space"),
        Some("weight <node1=w1...nodeN=wN>,use-empty-masters,timeout <arg>,simulate,pipeline <arg>,threshold <arg>,replace"),
    ),
    (
        "add-node",
        Subcommand::AddNode,
        2,
        Some("new_host:new_port existing_host:existing_port"),
        Some("slave,master-id <arg>"),
    ),
    (
        "del-node",
        Subcommand::DelNode,
        2,
        Some("host:port node_id"),
        None,
    ),
    (
        "call",
        Subcommand::Call,
        -2,
        Some("host:port command arg arg .. arg"),
        Some("only-masters,only-replicas"),
    ),
    (
        "set-timeout",
        Subcommand::SetTimeout,
        2,
        Some("host:port milliseconds"),
        None,
    ),
    ("help", Subcommand::Help, 0, None, None),
];

/// Everything a `--cluster` run was given.
#[derive(Clone, Debug)]
pub struct Options {
    /// The subcommand.
    pub command: Subcommand,
    /// Its positional arguments.
    pub argv: Vec<String>,
    /// `--user`.
    pub user: Option<String>,
    /// `-a` / `--pass` / REDISCLI_AUTH.
    pub password: Option<String>,
    /// `--cluster-replicas`.
    pub replicas: usize,
    /// `--cluster-yes`.
    pub yes: bool,
    /// `--cluster-from`.
    pub from: Option<String>,
    /// `--cluster-to`.
    pub to: Option<String>,
    /// `--cluster-slots` (0: ask).
    pub slots: i64,
    /// `--cluster-pipeline` (keys per GETKEYSINSLOT/MIGRATE).
    pub pipeline: i64,
    /// `--cluster-timeout` (MIGRATE timeout, ms).
    pub timeout: i64,
    /// `--cluster-weight node=w ...`.
    pub weights: Vec<String>,
    /// `--cluster-use-empty-masters`.
    pub use_empty_masters: bool,
    /// `--cluster-threshold` (percent).
    pub threshold: f32,
    /// `--cluster-simulate`.
    pub simulate: bool,
    /// `--cluster-replace`.
    pub replace: bool,
    /// `--cluster-fix-with-unreachable-masters`.
    pub fix_with_unreachable_masters: bool,
    /// `--cluster-search-multiple-owners`.
    pub search_multiple_owners: bool,
    /// `--cluster-master-id`.
    pub master_id: Option<String>,
    /// `--cluster-slave` / `--cluster-replica`.
    pub replica: bool,
    /// `--cluster-only-masters`.
    pub only_masters: bool,
    /// `--cluster-only-replicas`.
    pub only_replicas: bool,
    /// Set by `fix`: open slots and coverage holes are repaired.
    pub fix: bool,
    /// `-a` was given without `--no-auth-warning`: redis-cli warns on stderr.
    pub auth_warning: bool,
}

impl Options {
    fn new(command: Subcommand, argv: Vec<String>) -> Options {
        Options {
            command,
            argv,
            user: None,
            password: None,
            replicas: 0,
            yes: false,
            from: None,
            to: None,
            slots: 0,
            pipeline: 10,
            timeout: 60000,
            weights: Vec::new(),
            use_empty_masters: false,
            threshold: 2.0,
            simulate: false,
            replace: false,
            fix_with_unreachable_masters: false,
            search_multiple_owners: false,
            master_id: None,
            replica: false,
            only_masters: false,
            only_replicas: false,
            fix: false,
            auth_warning: false,
        }
    }
}

/// Options of plain redis-cli that take a value (skipped here, as `--cluster` ignores them).
const VALUE_OPTIONS: [&str; 8] = ["-h", "-p", "-n", "-r", "-i", "-s", "-d", "-u"];

/// Reads the command line when it has `--cluster`; `None` when it does not (plain redis-cli
/// use). `Err` carries what redis-cli prints before exiting 1.
pub fn parse(raw: &[OsString]) -> Option<Result<Options, String>> {
    let args: Vec<String> = raw
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    args.iter().position(|a| a == "--cluster")?;
    Some(parse_args(&args))
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut opts: Option<Options> = None;
    let mut user = None;
    let mut password = std::env::var("REDISCLI_AUTH").ok();
    let mut no_auth_warning = false;
    let mut pending = Options::new(Subcommand::Help, Vec::new());
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let next = args.get(i + 1).cloned();
        let value = |i: &mut usize| -> Result<String, String> {
            *i += 1;
            next.clone().ok_or_else(|| unrecognized(a))
        };
        match a {
            "--cluster" => {
                if opts.is_some() {
                    return Err(unrecognized(a));
                }
                let name = value(&mut i)?;
                let mut positional = Vec::new();
                while let Some(p) = args.get(i + 1).filter(|p| !p.starts_with('-')) {
                    positional.push(p.clone());
                    i += 1;
                }
                let Some(&(_, command, arity, _, _)) = COMMANDS
                    .iter()
                    .find(|(n, ..)| n.eq_ignore_ascii_case(&name))
                else {
                    return Err("Unknown --cluster subcommand\n".to_owned());
                };
                let count = i32::try_from(positional.len()).unwrap_or(i32::MAX);
                if (arity > 0 && count != arity) || (arity < 0 && count < -arity) {
                    return Err(
                        "[ERR] Wrong number of arguments for specified --cluster sub command\n"
                            .to_owned(),
                    );
                }
                opts = Some(Options::new(command, positional));
            }
            "-a" | "--pass" => {
                password = Some(value(&mut i)?);
                pending.auth_warning = true;
            }
            "--no-auth-warning" => no_auth_warning = true,
            "--user" => user = Some(value(&mut i)?),
            "--cluster-replicas" => {
                // redis-cli keeps an int; anything beyond the node count means "too few nodes".
                let n = number(&value(&mut i)?).clamp(0, i64::from(u16::MAX));
                pending.replicas = usize::try_from(n).unwrap_or(0);
            }
            "--cluster-yes" => pending.yes = true,
            "--cluster-from" => pending.from = Some(value(&mut i)?),
            "--cluster-to" => pending.to = Some(value(&mut i)?),
            "--cluster-slots" => pending.slots = number(&value(&mut i)?),
            "--cluster-pipeline" => pending.pipeline = number(&value(&mut i)?),
            "--cluster-timeout" => pending.timeout = number(&value(&mut i)?),
            "--cluster-threshold" => {
                pending.threshold = value(&mut i)?.trim().parse().unwrap_or(0.0)
            }
            "--cluster-master-id" => pending.master_id = Some(value(&mut i)?),
            "--cluster-weight" => {
                while let Some(w) = args.get(i + 1).filter(|w| !w.starts_with('-')) {
                    pending.weights.push(w.clone());
                    i += 1;
                }
            }
            "--cluster-use-empty-masters" => pending.use_empty_masters = true,
            "--cluster-simulate" => pending.simulate = true,
            "--cluster-replace" => pending.replace = true,
            "--cluster-fix-with-unreachable-masters" => pending.fix_with_unreachable_masters = true,
            "--cluster-search-multiple-owners" => pending.search_multiple_owners = true,
            "--cluster-slave" | "--cluster-replica" => pending.replica = true,
            "--cluster-only-masters" => pending.only_masters = true,
            "--cluster-only-replicas" => pending.only_replicas = true,
            _ if VALUE_OPTIONS.contains(&a) => {
                value(&mut i)?;
            }
            _ if a.starts_with("--cluster-") => return Err(unrecognized(a)),
            _ => {}
        }
        i += 1;
    }
    let Some(found) = opts else {
        return Err(unrecognized("--cluster"));
    };
    Ok(Options {
        command: found.command,
        argv: found.argv,
        user,
        password,
        auth_warning: pending.auth_warning && !no_auth_warning,
        ..pending
    })
}

/// C's atoll: leading sign and digits, else 0.
fn number(text: &str) -> i64 {
    resp_proto::string2ll(text.as_bytes()).unwrap_or_else(|| {
        let t = text.trim_start();
        let (sign, rest) = match t.strip_prefix('-') {
            Some(r) => (-1, r),
            None => (1, t.strip_prefix('+').unwrap_or(t)),
        };
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<i64>().map(|v| sign * v).unwrap_or(0)
    })
}

fn unrecognized(arg: &str) -> String {
    format!("Unrecognized option or bad number of args for: '{arg}'\n")
}

/// redis-cli's `--cluster help` text.
pub fn print_help() {
    let mut out = String::from("Cluster Manager Commands:\n");
    let padding = 15;
    for (name, _, _, args, options) in COMMANDS {
        out.push_str(&format!("  {name:<padding$}{}\n", args.unwrap_or("")));
        for opt in options.iter().flat_map(|o| o.split(',')) {
            out.push_str(&format!("{:padding$}  --cluster-{opt}\n", ""));
        }
    }
    // redis-cli also lists import and backup, which redis-cli-lite does not have.
    out.push_str(
        "\nFor check, fix, reshard, del-node, set-timeout, info, rebalance, call, import, backup you \
         can specify the host and port of any working node in the cluster.\n\n\
         Cluster Manager Options:\n  --cluster-yes  Automatic yes to cluster commands prompts\n\n",
    );
    print!("{out}");
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn p(line: &str) -> Result<Options, String> {
        let args: Vec<String> = line.split(' ').map(str::to_owned).collect();
        parse_args(&args)
    }

    #[test]
    fn positional_arguments_stop_at_an_option() {
        let o = p("--cluster create 127.0.0.1:1 127.0.0.1:2 127.0.0.1:3 --cluster-replicas 1 --cluster-yes")
            .unwrap();
        assert_eq!(o.command, Subcommand::Create);
        assert_eq!(o.argv.len(), 3);
        assert_eq!(o.replicas, 1);
        assert!(o.yes);
    }

    #[test]
    fn options_before_the_subcommand_count_too() {
        let o = p("--cluster-from abc --cluster reshard 127.0.0.1:7000 --cluster-slots 5 --cluster-weight a=1 b=2")
            .unwrap();
        assert_eq!(o.from.as_deref(), Some("abc"));
        assert_eq!(o.slots, 5);
        assert_eq!(o.weights, ["a=1", "b=2"]);
        assert_eq!(o.pipeline, 10);
        assert_eq!(o.timeout, 60000);
    }

    #[test]
    fn errors_in_redis_cli_words() {
        assert_eq!(
            p("--cluster nope 1:2").unwrap_err(),
            "Unknown --cluster subcommand\n"
        );
        assert_eq!(
            p("--cluster add-node 127.0.0.1:1").unwrap_err(),
            "[ERR] Wrong number of arguments for specified --cluster sub command\n"
        );
        assert_eq!(
            p("--cluster check 1:2 --cluster-bogus").unwrap_err(),
            "Unrecognized option or bad number of args for: '--cluster-bogus'\n"
        );
    }
}
