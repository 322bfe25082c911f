//! The command table: one entry per command the node serves (style.md §5).
//!
//! The static part (arity, flags, key positions, ACL categories and the exact COMMAND
//! INFO / COMMAND DOCS reply bytes) is generated from redis-server 7.0.15 into
//! `table_data.rs`; handlers attach by name. Arity checks, MULTI queueing, COMMAND and
//! (later) cluster routing all read this one table.

use super::names::NameIndex;
use super::{handler_for, Handler};
use crate::config::CommandNames;
use crate::replication::stream::ReplicaForm;

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

/// Flags the dispatcher needs, decoded once: the captured COMMAND INFO flags it reads, and
/// the traits some commands have in the dispatcher (decided once by name here, so that
/// running a command compares no names).
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
    /// EXEC: refusing it discards the transaction; it propagates what it ran.
    pub exec: bool,
    /// DEBUG: refused unless `enable-debug-command` allows the connection.
    pub debug: bool,
    /// Runs at once inside MULTI instead of being queued (EXEC, DISCARD, MULTI, WATCH,
    /// QUIT, RESET).
    pub unqueued: bool,
    /// Allowed to a RESP2 connection in subscribed mode.
    pub subscribed_ok: bool,
    /// Takes the world lock itself (exclusively: EXEC, SWAPDB, SAVE...) or not at all (WAIT,
    /// which must not hold it against a writer waiting for it exclusively).
    pub own_world_lock: bool,
    /// May add to the replication stream: writes, EXEC (its writes) and PUBLISH (Redis
    /// forces its propagation). Nothing else needs the replication hook.
    pub propagates: bool,
    /// CLIENT REPLY: answers even while replies are switched off.
    pub client_reply: bool,
    /// Its keys are found by parsing its arguments (`movablekeys`), not from key specs.
    pub movable_keys: bool,
    /// MIGRATE: served by a node while its slot is migrating or importing.
    pub migrate: bool,
    /// RESTORE-ASKING (`asking`): runs as if ASKING had been sent.
    pub asking: bool,
    /// SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH: shard channels route like keys.
    pub shard_channel: bool,
    /// ASKING itself: the ASKING state it sets outlives it (any other command ends it).
    pub asking_command: bool,
    /// PUBLISH: propagated (outside cluster mode) whether or not it changed anything.
    pub publish: bool,
    /// How it may reach replicas as other commands than the one sent (relative expiries
    /// made absolute, INCRBYFLOAT as SET, SPOP as SREM, blocking pops as plain ones); None:
    /// always as it came.
    pub replica_form: Option<ReplicaForm>,
    /// FLUSHALL, FLUSHDB, SWAPDB: ordered in the stream against writes to every shard.
    pub orders_all: bool,
}

impl Flags {
    fn new(name: &str, names: &[&str]) -> Flags {
        let mut f = Flags::default();
        for n in names {
            match *n {
                "write" => f.write = true,
                "no_auth" => f.no_auth = true,
                "no_multi" => f.no_multi = true,
                "admin" => f.admin = true,
                "fast" => f.fast = true,
                "skip_slowlog" => f.skip_slowlog = true,
                "movablekeys" => f.movable_keys = true,
                "asking" => f.asking = true,
                _ => {}
            }
        }
        f.exec = name == "exec";
        f.debug = name == "debug";
        f.unqueued = matches!(
            name,
            "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
        );
        f.subscribed_ok = matches!(
            name,
            "ping"
                | "subscribe"
                | "unsubscribe"
                | "psubscribe"
                | "punsubscribe"
                | "ssubscribe"
                | "sunsubscribe"
                | "quit"
                | "reset"
        );
        f.own_world_lock = matches!(
            name,
            "exec" | "swapdb" | "wait" | "save" | "bgsave" | "shutdown" | "debug"
        );
        f.propagates = f.write || f.exec || name == "publish";
        f.client_reply = name == "client|reply";
        f.migrate = name == "migrate";
        f.asking_command = name == "asking";
        f.shard_channel = matches!(name, "ssubscribe" | "sunsubscribe" | "spublish");
        f.publish = name == "publish";
        f.replica_form = ReplicaForm::of(name);
        f.orders_all = matches!(name, "flushall" | "flushdb" | "swapdb");
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
    /// Subcommands (none for a plain command).
    pub subcommands: Subcommands,
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

/// A container's subcommands, by the name after the `|`.
#[derive(Debug)]
pub struct Subcommands {
    /// In name order.
    list: Vec<Command>,
    names: NameIndex,
}

impl Subcommands {
    fn new(mut list: Vec<Command>) -> Subcommands {
        list.sort_by_key(|c| c.name);
        let names = NameIndex::new(list.iter().enumerate().map(|(i, c)| {
            let short = c.name.split_once('|').map_or(c.name, |(_, b)| b);
            (short.as_bytes(), i)
        }));
        Subcommands { list, names }
    }

    /// Whether there are none (a plain command).
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Every subcommand, in name order.
    pub fn values(&self) -> std::slice::Iter<'_, Command> {
        self.list.iter()
    }

    /// The subcommand called `name`, ignoring ASCII case.
    #[inline]
    pub fn get(&self, name: &[u8]) -> Option<&Command> {
        self.list.get(self.names.get(name)?)
    }
}

/// Lookup structure built once at start.
#[derive(Debug)]
pub struct CommandTable {
    /// In generated (name) order, as `table_data::COMMANDS`.
    commands: Vec<Command>,
    /// The names in force (after `rename-command` lines) to indices in `commands`.
    names: NameIndex,
    /// Per command: whether some name still calls it.
    served: Vec<bool>,
}

impl CommandTable {
    /// Builds the table from the generated data and the handlers.
    pub fn new() -> CommandTable {
        let mut next_id = 0;
        let mut take_id = || {
            next_id += 1;
            next_id - 1
        };
        let mut commands = Vec::with_capacity(super::table_data::COMMANDS.len());
        for data in super::table_data::COMMANDS {
            let id = take_id();
            let subcommands = data
                .subcommands
                .iter()
                .map(|s| Command {
                    name: s.name,
                    id: take_id(),
                    arity: s.arity,
                    flags: Flags::new(s.name, s.flags),
                    keys: KeySpec {
                        first: s.first_key,
                        last: s.last_key,
                        step: s.key_step,
                    },
                    handler: handler_for(s.name),
                    subcommands: Subcommands::new(Vec::new()),
                    data: None,
                })
                .collect();
            commands.push(Command {
                name: data.name,
                id,
                arity: data.arity,
                flags: Flags::new(data.name, data.flags),
                keys: KeySpec {
                    first: data.first_key,
                    last: data.last_key,
                    step: data.key_step,
                },
                handler: handler_for(data.name),
                subcommands: Subcommands::new(subcommands),
                data: Some(data),
            });
        }
        let names = NameIndex::new(
            commands
                .iter()
                .enumerate()
                .map(|(i, c)| (c.name.as_bytes(), i)),
        );
        CommandTable {
            served: vec![true; commands.len()],
            commands,
            names,
        }
    }

    /// The table under the names `rename-command` lines left: a renamed command answers to
    /// its new name only, a removed one to none (it keeps its own name in COMMAND output and
    /// statistics, as in Redis).
    pub fn renamed(names: &CommandNames) -> CommandTable {
        let mut t = CommandTable::new();
        let own = &t.names;
        let current: Vec<(&[u8], usize)> = names
            .iter()
            .filter_map(|(now, own_name)| Some((now, own.get(own_name.as_bytes())?)))
            .collect();
        let mut served = vec![false; t.commands.len()];
        for &(_, i) in &current {
            if let Some(s) = served.get_mut(i) {
                *s = true;
            }
        }
        t.names = NameIndex::new(current);
        t.served = served;
        t
    }

    /// Finds a command by the name it is called now, ignoring ASCII case.
    #[inline(always)]
    pub fn get(&self, name: &[u8]) -> Option<&Command> {
        self.commands.get(self.names.get(name)?)
    }

    /// Every command and subcommand with its statistics id, containers before their
    /// subcommands, in generated (name) order.
    pub fn with_ids(&self) -> Vec<(&'static str, usize)> {
        let mut out = Vec::new();
        for c in self.served() {
            out.push((c.name, c.id));
            out.extend(c.subcommands.values().map(|s| (s.name, s.id)));
        }
        out
    }

    /// Finds a command or subcommand by its full name (`config|get`), ignoring case.
    pub fn by_full_name(&self, name: &[u8]) -> Option<&Command> {
        match name.iter().position(|&c| c == b'|') {
            Some(bar) => {
                let (c, s) = name.split_at(bar);
                self.get(c)?.subcommands.get(s.get(1..)?)
            }
            None => self.get(name),
        }
    }

    /// The commands some name still calls, in generated (name) order.
    fn served(&self) -> impl Iterator<Item = &Command> + '_ {
        self.commands
            .iter()
            .zip(&self.served)
            .filter_map(|(c, &s)| s.then_some(c))
    }

    /// Every command (less those `rename-command` removed), in generated (name) order.
    pub fn all(&self) -> impl Iterator<Item = &'static CommandData> + '_ {
        self.served().filter_map(|c| c.data)
    }

    /// Number of names commands answer to.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

impl Default for CommandTable {
    fn default() -> Self {
        CommandTable::new()
    }
}

/// Finds a subcommand of `cmd` by name, ignoring ASCII case.
pub fn subcommand<'a>(cmd: &'a Command, name: &[u8]) -> Option<&'a Command> {
    cmd.subcommands.get(name)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn name_of(t: &CommandTable, name: &[u8]) -> Option<&'static str> {
        t.get(name).map(|c| c.name)
    }

    #[test]
    fn every_command_answers_to_its_name_in_any_case() {
        let t = CommandTable::new();
        for d in super::super::table_data::COMMANDS {
            assert_eq!(name_of(&t, d.name.as_bytes()), Some(d.name));
            let upper = d.name.to_ascii_uppercase();
            assert_eq!(name_of(&t, upper.as_bytes()), Some(d.name));
            let cmd = t.get(upper.as_bytes()).unwrap();
            for s in d.subcommands {
                let short = s.name.split_once('|').unwrap().1;
                assert_eq!(
                    subcommand(cmd, short.as_bytes()).map(|c| c.name),
                    Some(s.name)
                );
                let upper = short.to_ascii_uppercase();
                assert_eq!(
                    subcommand(cmd, upper.as_bytes()).map(|c| c.name),
                    Some(s.name)
                );
                assert_eq!(
                    t.by_full_name(s.name.to_ascii_uppercase().as_bytes())
                        .map(|c| c.name),
                    Some(s.name)
                );
            }
        }
        assert_eq!(t.len(), super::super::table_data::COMMANDS.len());
        assert_eq!(name_of(&t, b"gEt"), Some("get"));
        assert_eq!(name_of(&t, b"CLIENT"), Some("client"));
    }

    #[test]
    fn unknown_and_overlong_names_find_nothing() {
        let t = CommandTable::new();
        for name in [
            &b""[..],
            b"ge",
            b"gett",
            b"get\0",
            b"g\xc3\xa9t",
            b"\xff\xfe",
            b"client|setname",
            b"restore_asking",
            b"georadiusbymember_rox",
        ] {
            assert_eq!(name_of(&t, name), None, "{name:?}");
        }
        let long = vec![b'G'; 1 << 20];
        assert_eq!(name_of(&t, &long), None);
        let client = t.get(b"client").unwrap();
        assert!(subcommand(client, b"nosuch").is_none());
        assert!(subcommand(client, &long).is_none());
    }

    #[test]
    fn renamed_commands_answer_to_their_new_name_only() {
        let mut names = CommandNames::default();
        names.rename(b"GET", b"Fetch\xff\x00").unwrap();
        names.rename(b"flushall", b"").unwrap();
        let long_name = vec![b'L'; 300];
        names.rename(b"set", &long_name).unwrap();
        let t = CommandTable::renamed(&names);
        assert_eq!(name_of(&t, b"get"), None);
        assert_eq!(name_of(&t, b"FETCH\xff\x00"), Some("get"));
        assert_eq!(name_of(&t, b"fetch\xff\x00"), Some("get"));
        assert_eq!(name_of(&t, b"fetch\xff"), None);
        assert_eq!(name_of(&t, b"flushall"), None);
        assert_eq!(name_of(&t, b"set"), None);
        assert_eq!(name_of(&t, &long_name.to_ascii_lowercase()), Some("set"));
        let mut near = long_name.clone();
        near[150] = b'M';
        assert_eq!(name_of(&t, &near), None);
        // A removed command is gone from COMMAND output; a renamed one keeps its own name.
        assert!(t.all().all(|d| d.name != "flushall"));
        assert!(t.all().any(|d| d.name == "get"));
        assert_eq!(t.len(), super::super::table_data::COMMANDS.len() - 1);
        assert!(t.with_ids().iter().all(|(n, _)| *n != "flushall"));
        assert_eq!(name_of(&t, b"Ping"), Some("ping"));
    }
}
