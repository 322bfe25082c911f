//! The CONFIG command: GET, SET, RESETSTAT, REWRITE, HELP, with Redis 7.0.15's replies.

use bytes::Bytes;
use resp_proto::ReplyWriter;

use super::grammar::glob_match;
use super::table::{self, CONFIGS, HIDDEN, IMMUTABLE, MULTI_ARG, PROTECTED};
use super::value::{self, SetCtx};
use super::ConfigStore;

/// The lines after the first, which names the command as it was called.
const HELP: &[&str] = &[
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
    "HELP",
    "    Prints this help.",
];

impl ConfigStore {
    /// Runs `CONFIG <args...>` (`args[0]` is the subcommand) and writes Redis's reply.
    pub fn command(&self, args: &[Bytes], out: &mut ReplyWriter<'_>) {
        self.command_as(b"CONFIG", args, false, out);
    }

    /// [`ConfigStore::command`] for the command called `name` (a `rename-command` may have
    /// renamed CONFIG): HELP and the unknown-subcommand error name it, upper-cased, as Redis
    /// does. `local`: the client is connected from 127.0.0.1 or ::1 (`enable-protected-configs
    /// local`).
    pub fn command_as(&self, name: &[u8], args: &[Bytes], local: bool, out: &mut ReplyWriter<'_>) {
        let name = name.to_ascii_uppercase();
        let Some(sub) = args.first() else {
            out.error(b"ERR wrong number of arguments for 'config' command");
            return;
        };
        let lower = sub.to_ascii_lowercase();
        let arity_ok = match lower.as_slice() {
            b"get" => args.len() >= 2,
            b"set" => args.len() >= 3,
            b"resetstat" | b"rewrite" | b"help" => args.len() == 1,
            _ => {
                let mut msg = b"ERR unknown subcommand '".to_vec();
                msg.extend_from_slice(sub.get(..128).unwrap_or(sub));
                msg.extend_from_slice(b"'. Try ");
                msg.extend_from_slice(&name);
                msg.extend_from_slice(b" HELP.");
                out.error(&msg);
                return;
            }
        };
        if !arity_ok {
            let mut msg = b"ERR wrong number of arguments for 'config|".to_vec();
            msg.extend_from_slice(&lower);
            msg.extend_from_slice(b"' command");
            out.error(&msg);
            return;
        }
        match lower.as_slice() {
            b"get" => self.config_get(&args[1..], out),
            b"set" => match self.config_set(&args[1..], local) {
                Ok(()) => out.ok(),
                Err(e) => out.error(e.as_bytes()),
            },
            b"resetstat" => {
                for hook in self.resetstat.lock().iter() {
                    hook();
                }
                out.ok();
            }
            b"rewrite" => match self.rewrite() {
                Ok(()) => out.ok(),
                Err(e) => out.error(e.as_bytes()),
            },
            _ => {
                out.array_len(HELP.len() + 1);
                let mut head = name;
                head.extend_from_slice(
                    b" <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                );
                out.simple(&head);
                for line in HELP {
                    out.simple(line.as_bytes());
                }
            }
        }
    }

    fn config_get(&self, patterns: &[Bytes], out: &mut ReplyWriter<'_>) {
        // (name as answered, table index); names are compared without case, as Redis's
        // result table does.
        let mut matches: Vec<(Vec<u8>, usize)> = Vec::new();
        for pat in patterns {
            if !pat.iter().any(|c| matches!(c, b'[' | b'*' | b'?')) {
                if matches.iter().any(|(n, _)| n.eq_ignore_ascii_case(pat)) {
                    continue;
                }
                if let Some((idx, _)) = table::lookup(pat) {
                    matches.push((pat.to_vec(), idx));
                }
                continue;
            }
            for (idx, spec) in CONFIGS.iter().enumerate() {
                if spec.has(HIDDEN) {
                    continue;
                }
                for name in std::iter::once(spec.name).chain(spec.alias) {
                    if matches
                        .iter()
                        .any(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
                    {
                        continue;
                    }
                    if glob_match(pat, name.as_bytes(), true) {
                        matches.push((name.as_bytes().to_vec(), idx));
                    }
                }
            }
        }
        let state = self.state.lock();
        out.map_len(matches.len());
        for (name, idx) in &matches {
            out.bulk(name);
            match (CONFIGS.get(*idx), state.values.get(*idx)) {
                (Some(spec), Some(v)) => out.bulk(&value::display(spec, v)),
                _ => out.bulk(b""),
            }
        }
    }

    /// CONFIG SET name value [name value ...]: all or nothing, checks in Redis's order.
    fn config_set(&self, args: &[Bytes], local: bool) -> Result<(), String> {
        if args.len() % 2 == 1 {
            return Err("ERR syntax error".into());
        }
        let protected_ok = self.current().enable_protected_configs.allows(local);
        // (index, alias used, name as given, value)
        let mut targets: Vec<(usize, bool, &Bytes, &Bytes)> = Vec::with_capacity(args.len() / 2);
        for pair in args.chunks_exact(2) {
            let (name, val) = (&pair[0], &pair[1]);
            let Some((idx, alias)) = table::lookup(name) else {
                return Err(format!(
                    "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
                    String::from_utf8_lossy(name)
                ));
            };
            let spec = &CONFIGS[idx];
            let shown = String::from_utf8_lossy(name);
            if spec.has(IMMUTABLE) {
                return Err(set_failed(&shown, "can't set immutable config"));
            }
            if spec.has(PROTECTED) && !protected_ok {
                return Err(set_failed(&shown, "can't set protected config"));
            }
            // An alias and its canonical name are distinct entries in Redis's table, so only
            // the very same name twice counts as a duplicate.
            if targets.iter().any(|(i, a, _, _)| *i == idx && *a == alias) {
                return Err(set_failed(&shown, "duplicate parameter"));
            }
            targets.push((idx, alias, name, val));
        }
        let mut state = self.state.lock();
        let mut values = state.values.clone();
        let mut ctx = SetCtx {
            reading_file: false,
            save_loaded: false,
            chdir: true,
        };
        // (table index, name of the entry used) of every directive whose value changes.
        let mut changed: Vec<(usize, &'static str)> = Vec::new();
        let mut failure = None;
        for (idx, alias, _, val) in &targets {
            let spec = &CONFIGS[*idx];
            let words: Vec<Vec<u8>> = if spec.has(MULTI_ARG) {
                if val.is_empty() {
                    Vec::new()
                } else {
                    val.split(|&c| c == b' ').map(<[u8]>::to_vec).collect()
                }
            } else {
                vec![val.to_vec()]
            };
            let entry_name = if *alias {
                spec.alias.unwrap_or(spec.name)
            } else {
                spec.name
            };
            let Some(current) = values.get(*idx) else {
                continue;
            };
            match value::parse(spec, current, &words, &mut ctx) {
                Ok(new) => {
                    if new != *current {
                        changed.push((*idx, entry_name));
                    }
                    if let Some(slot) = values.get_mut(*idx) {
                        *slot = new;
                    }
                }
                Err(e) => {
                    failure = Some(set_failed(entry_name, &e));
                    break;
                }
            }
        }
        if failure.is_none() {
            failure = self.run_apply_hooks(&state, &values, &changed).err();
        }
        if let Some(err) = failure {
            restore_dir(&state.values, &values);
            return Err(err);
        }
        state.values = values;
        self.install(&state);
        Ok(())
    }

    /// Runs the hooks of the changed directives with the new configuration; if one fails,
    /// the ones already run are run again with the old configuration (Redis's
    /// restoreBackupConfig) and the error names the directive.
    fn run_apply_hooks(
        &self,
        old: &super::State,
        new_values: &[value::Value],
        changed: &[(usize, &'static str)],
    ) -> Result<(), String> {
        let hooks = self.apply_hooks.lock();
        let due: Vec<(&super::ApplyHook, &'static str)> = hooks
            .iter()
            .filter_map(|(names, hook)| {
                changed
                    .iter()
                    .find(|(idx, _)| names.contains(&CONFIGS[*idx].name))
                    .map(|(_, entry)| (hook, *entry))
            })
            .collect();
        if due.is_empty() {
            return Ok(());
        }
        let new_cfg = self.build(new_values, old.io_threads_set);
        for (n, (hook, name)) in due.iter().enumerate() {
            if let Err(why) = hook(&new_cfg) {
                tracing::warn!("Failed applying new configuration. Possibly related to new {name} setting. Restoring previous settings.");
                let old_cfg = self.build(&old.values, old.io_threads_set);
                for (undo, _) in due.iter().take(n + 1) {
                    if let Err(e) = undo(&old_cfg) {
                        tracing::warn!("Failed applying restored failed CONFIG SET command: {e}");
                    }
                }
                return Err(set_failed(name, &why));
            }
        }
        Ok(())
    }
}

/// A failed CONFIG SET that already changed directory goes back, as Redis restores `dir`.
fn restore_dir(old: &[value::Value], new: &[value::Value]) {
    let Some(idx) = table::index_of("dir") else {
        return;
    };
    if let (Some(value::Value::Dir(before)), Some(after)) = (old.get(idx), new.get(idx)) {
        if Some(&value::Value::Dir(before.clone())) != Some(after) {
            if let Err(e) = std::env::set_current_dir(before) {
                tracing::warn!("Failed restoring the working directory: {e}");
            }
        }
    }
}

fn set_failed(name: &str, why: &str) -> String {
    format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}")
}
