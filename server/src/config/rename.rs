//! `rename-command <name> <new-name>` as redis-server 7.0 reads it: the command (any of
//! Redis 7.0.15's, served here or not) is renamed, or removed when the new name is empty.
//! Lines apply in order to the names current at that point, case-insensitively, so a
//! command can be renamed twice or take a name another one gave up.

use std::collections::HashMap;

/// Every top-level command of redis-server 7.0.15 (its `COMMAND LIST`, subcommands left
/// out: renaming `config|get` crashes 7.0.15, here it is an unknown command).
const REDIS_COMMANDS: &[&str] = &[
    "acl",
    "append",
    "asking",
    "auth",
    "bgrewriteaof",
    "bgsave",
    "bitcount",
    "bitfield",
    "bitfield_ro",
    "bitop",
    "bitpos",
    "blmove",
    "blmpop",
    "blpop",
    "brpop",
    "brpoplpush",
    "bzmpop",
    "bzpopmax",
    "bzpopmin",
    "client",
    "cluster",
    "command",
    "config",
    "copy",
    "dbsize",
    "debug",
    "decr",
    "decrby",
    "del",
    "discard",
    "dump",
    "echo",
    "eval",
    "eval_ro",
    "evalsha",
    "evalsha_ro",
    "exec",
    "exists",
    "expire",
    "expireat",
    "expiretime",
    "failover",
    "fcall",
    "fcall_ro",
    "flushall",
    "flushdb",
    "function",
    "geoadd",
    "geodist",
    "geohash",
    "geopos",
    "georadius",
    "georadius_ro",
    "georadiusbymember",
    "georadiusbymember_ro",
    "geosearch",
    "geosearchstore",
    "get",
    "getbit",
    "getdel",
    "getex",
    "getrange",
    "getset",
    "hdel",
    "hello",
    "hexists",
    "hget",
    "hgetall",
    "hincrby",
    "hincrbyfloat",
    "hkeys",
    "hlen",
    "hmget",
    "hmset",
    "hrandfield",
    "hscan",
    "hset",
    "hsetnx",
    "hstrlen",
    "hvals",
    "incr",
    "incrby",
    "incrbyfloat",
    "info",
    "keys",
    "lastsave",
    "latency",
    "lcs",
    "lindex",
    "linsert",
    "llen",
    "lmove",
    "lmpop",
    "lolwut",
    "lpop",
    "lpos",
    "lpush",
    "lpushx",
    "lrange",
    "lrem",
    "lset",
    "ltrim",
    "memory",
    "mget",
    "migrate",
    "module",
    "monitor",
    "move",
    "mset",
    "msetnx",
    "multi",
    "object",
    "persist",
    "pexpire",
    "pexpireat",
    "pexpiretime",
    "pfadd",
    "pfcount",
    "pfdebug",
    "pfmerge",
    "pfselftest",
    "ping",
    "psetex",
    "psubscribe",
    "psync",
    "pttl",
    "publish",
    "pubsub",
    "punsubscribe",
    "quit",
    "randomkey",
    "readonly",
    "readwrite",
    "rename",
    "renamenx",
    "replconf",
    "replicaof",
    "reset",
    "restore",
    "restore-asking",
    "role",
    "rpop",
    "rpoplpush",
    "rpush",
    "rpushx",
    "sadd",
    "save",
    "scan",
    "scard",
    "script",
    "sdiff",
    "sdiffstore",
    "select",
    "set",
    "setbit",
    "setex",
    "setnx",
    "setrange",
    "shutdown",
    "sinter",
    "sintercard",
    "sinterstore",
    "sismember",
    "slaveof",
    "slowlog",
    "smembers",
    "smismember",
    "smove",
    "sort",
    "sort_ro",
    "spop",
    "spublish",
    "srandmember",
    "srem",
    "sscan",
    "ssubscribe",
    "strlen",
    "subscribe",
    "substr",
    "sunion",
    "sunionstore",
    "sunsubscribe",
    "swapdb",
    "sync",
    "time",
    "touch",
    "ttl",
    "type",
    "unlink",
    "unsubscribe",
    "unwatch",
    "wait",
    "watch",
    "xack",
    "xadd",
    "xautoclaim",
    "xclaim",
    "xdel",
    "xgroup",
    "xinfo",
    "xlen",
    "xpending",
    "xrange",
    "xread",
    "xreadgroup",
    "xrevrange",
    "xsetid",
    "xtrim",
    "zadd",
    "zcard",
    "zcount",
    "zdiff",
    "zdiffstore",
    "zincrby",
    "zinter",
    "zintercard",
    "zinterstore",
    "zlexcount",
    "zmpop",
    "zmscore",
    "zpopmax",
    "zpopmin",
    "zrandmember",
    "zrange",
    "zrangebylex",
    "zrangebyscore",
    "zrangestore",
    "zrank",
    "zrem",
    "zremrangebylex",
    "zremrangebyrank",
    "zremrangebyscore",
    "zrevrange",
    "zrevrangebylex",
    "zrevrangebyscore",
    "zrevrank",
    "zscan",
    "zscore",
    "zunion",
    "zunionstore",
];

/// The command names in force after the `rename-command` lines: current name (ASCII lower
/// case; any bytes, as Redis takes them) to the command's own name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandNames {
    names: HashMap<Vec<u8>, &'static str>,
}

impl Default for CommandNames {
    fn default() -> Self {
        CommandNames {
            names: REDIS_COMMANDS
                .iter()
                .map(|&n| (n.as_bytes().to_vec(), n))
                .collect(),
        }
    }
}

impl CommandNames {
    /// Applies one `rename-command` line; the error is the FATAL CONFIG FILE ERROR reason.
    pub fn rename(&mut self, from: &[u8], to: &[u8]) -> Result<(), String> {
        let from = from.to_ascii_lowercase();
        let original = self
            .names
            .remove(&from)
            .ok_or("No such command in rename-command")?;
        if to.is_empty() {
            return Ok(());
        }
        let to = to.to_ascii_lowercase();
        if self.names.contains_key(&to) {
            // Redis has already deleted the old name when it finds the new one taken; it
            // stops starting anyway, so the difference cannot be seen.
            return Err("Target command name already exists".into());
        }
        self.names.insert(to, original);
        Ok(())
    }

    /// The command called `name` (ASCII lower case) now, by its own name.
    pub fn resolve(&self, name: &[u8]) -> Option<&'static str> {
        self.names.get(name).copied()
    }

    /// Every current name with the command it calls.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &'static str)> {
        self.names.iter().map(|(k, v)| (k.as_slice(), *v))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn renames_apply_in_order_to_current_names() {
        let mut n = CommandNames::default();
        assert_eq!(REDIS_COMMANDS.len(), 240);
        n.rename(b"GET", b"get2").unwrap();
        assert_eq!(n.resolve(b"get"), None);
        assert_eq!(n.resolve(b"get2"), Some("get"));
        n.rename(b"SET", b"GET").unwrap();
        assert_eq!(n.resolve(b"get"), Some("set"));
        n.rename(b"flushall", b"").unwrap();
        assert_eq!(n.resolve(b"flushall"), None);
        assert_eq!(
            n.rename(b"flushall", b"x").unwrap_err(),
            "No such command in rename-command"
        );
        assert_eq!(
            n.rename(b"DEL", b"get2").unwrap_err(),
            "Target command name already exists"
        );
        assert_eq!(
            n.rename(b"config|get", b"x").unwrap_err(),
            "No such command in rename-command"
        );
        // Commands this server does not serve are known names too.
        n.rename(b"EVAL", b"").unwrap();
    }
}
