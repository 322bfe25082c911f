//! The command table: one entry per command the node serves (style.md §5).
//!
//! The static part (arity, flags, key positions, ACL categories and the exact COMMAND
//! INFO / COMMAND DOCS reply bytes) is generated from redis-server 7.0.15 into
//! `table_data.rs`; handlers attach by name. Arity checks, MULTI queueing, COMMAND and
//! (later) cluster routing all read this one table.

use std::collections::HashMap as StdHashMap;

type HashMap<K, V> = StdHashMap<K, V, foldhash::fast::FixedState>;

use super::{handler_for, Handler};
use crate::config::CommandNames;

/// A command as captured from redis-server 7.0.15.
#[derive(Debug)]
pub struct CommandData {
    /// Lower-case name.
    pub name: &'static str,
    /// Redis's convention: negative = at least `-arity` arguments (name included).
    pub arity: i32,
    /// COMMAND INFO flags.
    pub flags: &'static [&'static str],
    /// First key argument (0 = none).
    pub first_key: i32,
    /// Last key argument (negative counts from the end).
    pub last_key: i32,
    /// Step between keys.
    pub key_step: i32,
    /// ACL categories.
    pub acl: &'static [&'static str],
    /// Subcommands the node serves.
    pub subcommands: &'static [SubcommandData],
    /// COMMAND INFO entry bytes for RESP2.
    pub info_resp2: &'static [u8],
    /// COMMAND DOCS value bytes for RESP2.
    pub docs_resp2: &'static [u8],
    /// COMMAND INFO entry bytes for RESP3.
    pub info_resp3: &'static [u8],
    /// COMMAND DOCS value bytes for RESP3.
    pub docs_resp3: &'static [u8],
}

/// A subcommand (`client|setname`).
#[derive(Debug)]
pub struct SubcommandData {
    /// `container|sub`, lower case.
    pub name: &'static str,
    /// As [`CommandData::arity`], counting the container name.
    pub arity: i32,
    /// COMMAND INFO flags.
    pub flags: &'static [&'static str],
    /// First key argument (0 = none).
    pub first_key: i32,
    /// Last key argument.
    pub last_key: i32,
    /// Step between keys.
    pub key_step: i32,
}

/// Flags the dispatcher needs, decoded once.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flags {
    /// May modify the keyspace.
    pub write: bool,
    /// Allowed before authentication.
    pub no_auth: bool,
    /// Not queued inside MULTI (runs immediately).
    pub no_multi: bool,
    /// Administrative (DEBUG, CONFIG...).
    pub admin: bool,
    /// O(1) or O(log N) (its slow runs are `fast-command` latency events).
    pub fast: bool,
    /// Not written to the slow log itself (EXEC: its commands are).
    pub skip_slowlog: bool,
}

impl Flags {
    fn from_names(names: &[&str]) -> Flags {
        let mut f = Flags::default();
        for n in names {
            match *n {
                "write" => f.write = true,
                "no_auth" => f.no_auth = true,
                "no_multi" => f.no_multi = true,
                "admin" => f.admin = true,
                "fast" => f.fast = true,
                "skip_slowlog" => f.skip_slowlog = true,
                _ => {}
            }
        }
        f
    }
}

/// Key positions: first, last (negative from the end), step.
#[derive(Debug, Clone, Copy)]
pub struct KeySpec {
    /// First key index (0 = no keys).
    pub first: i32,
    /// Last key index.
    pub last: i32,
    /// Step.
    pub step: i32,
}

impl KeySpec {
    /// The indices of the key arguments of `argc` arguments.
    pub fn key_indices(&self, argc: usize) -> impl Iterator<Item = usize> {
        let argc = argc as i64;
        let first = i64::from(self.first);
        let last = if self.last < 0 {
            argc + i64::from(self.last)
        } else {
            i64::from(self.last)
        };
        let step = i64::from(self.step.max(1));
        let valid = first > 0 && last < argc;
        let (first, last) = if valid { (first, last) } else { (1, 0) };
        (first..=last).step_by(step as usize).map(|i| i as usize)
    }
}

/// A servable command or subcommand.
#[derive(Debug)]
pub struct Command {
    /// Full name (`get`, `client|setname`).
    pub name: &'static str,
    /// Index of its statistics (commandstats, latency histograms).
    pub id: usize,
    /// Arity (name included; for subcommands, the container name counts too).
    pub arity: i32,
    /// Decoded flags.
    pub flags: Flags,
    /// Key positions.
    pub keys: KeySpec,
    /// The handler, or None for a container whose subcommand is chosen next.
    pub handler: Option<Handler>,
    /// Subcommands by lower-case name.
    pub subcommands: HashMap<&'static str, Command>,
    /// The generated data.
    pub data: Option<&'static CommandData>,
}

impl Command {
    /// Whether `argc` arguments satisfy the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i64;
        let a = i64::from(self.arity);
        if a >= 0 {
            argc == a
        } else {
            argc >= -a
        }
    }
}

/// Lookup structure built once at start.
#[derive(Debug)]
pub struct CommandTable {
    commands: HashMap<&'static str, Command>,
    /// After `rename-command` lines: the names in force (ASCII lower case, any bytes) of the
    /// commands served.
    renamed: Option<HashMap<Box<[u8]>, &'static str>>,
}

impl CommandTable {
    /// Builds the table from the generated data and the handlers.
    pub fn new() -> CommandTable {
        let mut commands = HashMap::default();
        let mut next_id = 0;
        let mut take_id = || {
            next_id += 1;
            next_id - 1
        };
        for data in super::table_data::COMMANDS {
            let mut subcommands = HashMap::default();
            for s in data.subcommands {
                let short = s.name.split_once('|').map_or(s.name, |(_, b)| b);
                subcommands.insert(
                    short,
                    Command {
                        name: s.name,
                        id: take_id(),
                        arity: s.arity,
                        flags: Flags::from_names(s.flags),
                        keys: KeySpec {
                            first: s.first_key,
                            last: s.last_key,
                            step: s.key_step,
                        },
                        handler: handler_for(s.name),
                        subcommands: HashMap::default(),
                        data: None,
                    },
                );
            }
            commands.insert(
                data.name,
                Command {
                    name: data.name,
                    id: take_id(),
                    arity: data.arity,
                    flags: Flags::from_names(data.flags),
                    keys: KeySpec {
                        first: data.first_key,
                        last: data.last_key,
                        step: data.key_step,
                    },
                    handler: handler_for(data.name),
                    subcommands,
                    data: Some(data),
                },
            );
        }
        CommandTable {
            commands,
            renamed: None,
        }
    }

    /// The table under the names `rename-command` lines left: a renamed command answers to
    /// its new name only, a removed one to none (it keeps its own name in COMMAND output and
    /// statistics, as in Redis).
    pub fn renamed(names: &CommandNames) -> CommandTable {
        let mut t = CommandTable::new();
        let served = names
            .iter()
            .filter_map(|(now, own)| t.commands.get_key_value(own).map(|(k, _)| (now.into(), *k)))
            .collect();
        t.renamed = Some(served);
        t
    }

    /// The command called `lower` (an ASCII lower-case name) now, after renames.
    fn named(&self, lower: &[u8]) -> Option<&Command> {
        match &self.renamed {
            None => self.commands.get(std::str::from_utf8(lower).ok()?),
            Some(names) => self.commands.get(names.get(lower)?),
        }
    }

    /// Whether the command named `own` still answers to some name.
    fn present(&self, own: &str) -> bool {
        self.renamed
            .as_ref()
            .is_none_or(|names| names.values().any(|&n| n == own))
    }

    /// Finds a command by name, ignoring ASCII case.
    pub fn get(&self, name: &[u8]) -> Option<&Command> {
        let mut buf = [0u8; 32];
        let Some(lower) = buf.get_mut(..name.len()) else {
            // Only a rename can give a command a name this long.
            return self
                .renamed
                .as_ref()
                .and(self.named(&name.to_ascii_lowercase()));
        };
        for (d, s) in lower.iter_mut().zip(name) {
            *d = s.to_ascii_lowercase();
        }
        self.named(lower)
    }

    /// Every command and subcommand with its statistics id, containers before their
    /// subcommands, in generated (name) order.
    pub fn with_ids(&self) -> Vec<(&'static str, usize)> {
        let mut out = Vec::new();
        for d in self.all() {
            let Some(c) = self.commands.get(d.name) else {
                continue;
            };
            out.push((c.name, c.id));
            let mut subs: Vec<&Command> = c.subcommands.values().collect();
            subs.sort_by_key(|s| s.name);
            out.extend(subs.iter().map(|s| (s.name, s.id)));
        }
        out
    }

    /// Finds a command or subcommand by its full name (`config|get`), ignoring case.
    pub fn by_full_name(&self, name: &[u8]) -> Option<&Command> {
        let lower = name.to_ascii_lowercase();
        match lower.iter().position(|&c| c == b'|') {
            Some(bar) => {
                let (c, s) = lower.split_at(bar);
                let s = std::str::from_utf8(s.get(1..)?).ok()?;
                self.named(c)?.subcommands.get(s)
            }
            None => self.named(&lower),
        }
    }

    /// Every command (less those `rename-command` removed), in generated (name) order.
    pub fn all(&self) -> impl Iterator<Item = &'static CommandData> + '_ {
        super::table_data::COMMANDS
            .iter()
            .filter(|d| self.present(d.name))
    }

    /// Number of commands.
    pub fn len(&self) -> usize {
        self.renamed
            .as_ref()
            .map_or(self.commands.len(), HashMap::len)
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }
}

impl Default for CommandTable {
    fn default() -> Self {
        CommandTable::new()
    }
}

/// Finds a subcommand of `cmd` by name, ignoring ASCII case.
pub fn subcommand<'a>(cmd: &'a Command, name: &[u8]) -> Option<&'a Command> {
    let lower = name.to_ascii_lowercase();
    let name = std::str::from_utf8(&lower).ok()?;
    cmd.subcommands.get(name)
}
