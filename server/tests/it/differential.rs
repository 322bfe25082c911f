//! Differential test: the same commands sent to our node and to a real redis-server 7.0,
//! raw reply bytes compared byte for byte (as sorted sets where Redis leaves the order
//! unspecified). Scripted edge cases first, then seeded random sequences (proptest).
//!
//! Needs `redis-server` (7.0) on PATH; without it the test fails with a clear message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use common::{mask_client_id, start_redis, InProcess, Raw};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

/// Commands whose array reply order Redis does not define.
fn unordered(args: &[Vec<u8>]) -> bool {
    let name = args
        .first()
        .map(|a| a.to_ascii_lowercase())
        .unwrap_or_default();
    matches!(name.as_slice(), b"keys")
        || (name == b"pubsub"
            && args
                .get(1)
                .is_some_and(|a| a.eq_ignore_ascii_case(b"channels")))
}

/// Splits a flat RESP array reply into its top-level elements' bytes, sorted.
fn sorted_elements(reply: &[u8]) -> Vec<Vec<u8>> {
    let mut buf = bytes::BytesMut::from(reply);
    let limits = resp_proto::Limits::default();
    let Some(pos) = reply.iter().position(|&b| b == b'\n') else {
        return vec![reply.to_vec()];
    };
    if reply[0] != b'*' {
        return vec![reply.to_vec()];
    }
    let _ = buf.split_to(pos + 1);
    let mut items = Vec::new();
    while !buf.is_empty() {
        let before = buf.len();
        let mut probe = buf.clone();
        match resp_proto::decode_frame(&mut probe, &limits) {
            Ok(Some(_)) => items.push(buf.split_to(before - probe.len()).to_vec()),
            _ => break,
        }
    }
    items.sort();
    items
}

struct Pair {
    ours: Raw,
    real: Raw,
}

impl Pair {
    fn check(&mut self, args: &[Vec<u8>]) -> Result<(), String> {
        let a: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        let ours = mask_client_id(self.ours.call(&a));
        let real = mask_client_id(self.real.call(&a));
        let same = if unordered(args) {
            sorted_elements(&ours) == sorted_elements(&real)
        } else {
            ours == real
        };
        if same {
            Ok(())
        } else {
            Err(format!(
                "command {:?}\n  ours: {:?}\n  real: {:?}",
                args.iter()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect::<Vec<_>>(),
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&real)
            ))
        }
    }
}

fn words(line: &str) -> Vec<Vec<u8>> {
    line.split(' ')
        .map(|w| {
            if w == "''" {
                Vec::new()
            } else {
                w.as_bytes().to_vec()
            }
        })
        .collect()
}

/// Scripted exchanges: each group runs on fresh connections after FLUSHALL.
const SCRIPT: &[&[&str]] = &[
    // Overwrites of raw strings by values of the same length (rewritten in place).
    &[
        "SET r aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "SET r bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb EX 100",
        "TTL r",
        "GET r",
        "OBJECT ENCODING r",
        "SET r cccccccccccccccccccccccccccccccccccccccccccccccc KEEPTTL",
        "TTL r",
        "SET r dddddddddddddddddddddddddddddddddddddddddddddddd",
        "TTL r",
        "SET r eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee GET",
        "SET r ffffffffffffffffffffffffffffffffffffffffffffffff XX GET",
        "SET r gggggggggggggggggggggggggggggggggggggggggggggggg NX",
        "GET r",
        "APPEND r x",
        "OBJECT ENCODING r",
        "SET r hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh",
        "GET r",
        "OBJECT ENCODING r",
        "SET r iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii",
        "GET r",
        "WATCH r",
        "SET r jjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjj",
        "MULTI",
        "GET r",
        "EXEC",
        "GET r",
        "STRLEN r",
        "SET r kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk EX 100",
        "MSET r lllllllllllllllllllllllllllllllllllllllllllllllll r2 x",
        "TTL r",
        "GET r",
    ],
    &[
        "GET nokey",
        "SET k v",
        "GET k",
        "SET k v NX",
        "SET k v2 XX",
        "GET k",
        "SET k v NX XX",
        "SET k v GET",
        "SET nokey2 v GET",
        "SET k 1 EX",
        "SET k 1 EX 0",
        "SET k 1 EX -1",
        "SET k 1 PX abc",
        "SET k 1 EX 10 PX 10",
        "SET k 1 KEEPTTL EX 10",
        "SET k 1 EX 100",
        "TTL k",
        "SET k 2 KEEPTTL",
        "TTL k",
        "SET k 3",
        "TTL k",
        "SET k v foo",
        "SET k v EX 9223372036854775807",
        "SET k v EXAT 1",
        "GET k",
        "SET k v ex 100 nx get",
        "SETNX k v",
        "SETNX k2 v",
        "SETEX k 10 v",
        "SETEX k 0 v",
        "SETEX k abc v",
        "PSETEX k 100000 v",
        "PTTL nokey",
        "GETSET k new",
        "GETSET nokey3 x",
        "GETDEL k",
        "GETDEL k",
        "GET",
        "SET k",
        "MSET a 1 b 2 c",
        "MSET a 1 b 2",
        "MGET a b nokey",
        "MSETNX a 1 z 2",
        "MSETNX y 1 z 2",
        "MGET y z",
    ],
    &[
        "INCR n",
        "INCR n",
        "INCRBY n 10",
        "DECR n",
        "DECRBY n 5",
        "INCRBY n abc",
        "DECRBY n -9223372036854775808",
        "SET n 9223372036854775807",
        "INCR n",
        "SET n -9223372036854775808",
        "DECR n",
        "SET s abc",
        "INCR s",
        "SET s ' 1'",
        "INCR s",
        "SET s 01",
        "INCR s",
        "OBJECT ENCODING s",
        "SET f 10.5",
        "INCRBYFLOAT f 0.1",
        "INCRBYFLOAT f abc",
        "INCRBYFLOAT nof 3",
        "INCRBYFLOAT nof -3",
        "SET f 5.0e3",
        "INCRBYFLOAT f 2.0e2",
        "INCRBYFLOAT s 1",
        "INCRBYFLOAT f inf",
        "SET i 7",
        "INCRBYFLOAT i 0.5",
        "OBJECT ENCODING i",
    ],
    &[
        "APPEND a hello",
        "APPEND a ' world'",
        "GET a",
        "STRLEN a",
        "STRLEN nokey",
        "OBJECT ENCODING a",
        "APPEND n 1",
        "OBJECT ENCODING n",
        "APPEND n 2",
        "OBJECT ENCODING n",
        "GET n",
        "SET r 'hello world'",
        "GETRANGE r 0 4",
        "GETRANGE r -5 -1",
        "GETRANGE r 5 1",
        "GETRANGE r -1 -5",
        "GETRANGE r 0 100",
        "GETRANGE r -100 2",
        "GETRANGE nokey 0 1",
        "GETRANGE r a 1",
        "SUBSTR r 1 3",
        "SET num 12345",
        "GETRANGE num 1 2",
        "SETRANGE r 6 redis",
        "GET r",
        "SETRANGE r 20 x",
        "GET r",
        "SETRANGE new 3 abc",
        "GET new",
        "SETRANGE new2 0 ''",
        "EXISTS new2",
        "SETRANGE r -1 x",
        "SETRANGE r 0 ''",
        "SETRANGE num 0 9",
        "GET num",
        "OBJECT ENCODING num",
        "SET big aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "OBJECT ENCODING big",
        "SET e44 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "OBJECT ENCODING e44",
        "OBJECT ENCODING nokey",
        "OBJECT REFCOUNT num",
        "SET small 5",
        "OBJECT REFCOUNT small",
        "OBJECT FREQ small",
        "OBJECT",
        "OBJECT foo",
        "OBJECT HELP",
        "OBJECT ENCODING",
    ],
    &[
        "SET k1 ohmytext",
        "SET k2 mynewtext",
        "LCS k1 k2",
        "LCS k1 k2 LEN",
        "LCS k1 k2 IDX",
        "LCS k1 k2 IDX MINMATCHLEN 4 WITHMATCHLEN",
        "LCS k1 k2 IDX WITHMATCHLEN",
        "LCS k1 k2 LEN IDX",
        "LCS k1 k2 FOO",
        "LCS k1 nokey",
        "LCS nokey nokey2 IDX",
        "SET k3 abcabcabc",
        "SET k4 cbacbacba",
        "LCS k3 k4 IDX WITHMATCHLEN",
    ],
    &[
        "SET a 1",
        "SET b 2",
        "DEL a b c",
        "EXISTS a b",
        "SET a 1",
        "EXISTS a a nokey",
        "TOUCH a nokey",
        "UNLINK a",
        "TYPE a",
        "SET a x",
        "TYPE a",
        "RENAME a b",
        "GET b",
        "RENAME nokey c",
        "RENAME b b",
        "RENAMENX b b",
        "SET c 3",
        "RENAMENX b c",
        "RENAMENX b d",
        "COPY d e",
        "COPY d e",
        "COPY d e REPLACE",
        "COPY d d",
        "COPY d e DB 1",
        "COPY d e DB 99",
        "COPY d e DB",
        "COPY d e FOO",
        "SELECT 1",
        "GET e",
        "SELECT 0",
        "COPY nokey z",
        "SET t v",
        "EXPIRE t 100",
        "TTL t",
        "EXPIRE t 100 NX",
        "EXPIRE t 200 XX",
        "EXPIRE t 50 GT",
        "EXPIRE t 50 LT",
        "EXPIRE t 300 GT",
        "TTL t",
        "EXPIRE t 10 NX XX",
        "EXPIRE t 10 GT LT",
        "EXPIRE t 10 FOO",
        "EXPIRE t abc",
        "EXPIRE t 9223372036854775807",
        "PEXPIRE t 9223372036854775807",
        "EXPIRE nokey 10",
        "PERSIST t",
        "PERSIST t",
        "TTL t",
        "EXPIRE t 10 XX",
        "EXPIRE t 10 GT",
        "EXPIREAT t 1",
        "EXISTS t",
        "SET t v",
        "PEXPIREAT t 99999999999999",
        "PEXPIRETIME t",
        "EXPIRETIME t",
        "EXPIRETIME nokey",
        "SET u v",
        "EXPIRETIME u",
        "PTTL u",
        "EXPIRE u -1",
        "EXISTS u",
        "RENAME c t",
        "SET x 1 EX 1000",
        "RENAME x y",
        "TTL y",
    ],
    &[
        "MSET user:1 a user:2 b foo c fo d f e",
        "KEYS user:*",
        "KEYS *",
        "KEYS f?",
        "KEYS f*",
        "KEYS [fu]*",
        "KEYS [^f]*",
        "KEYS *o*",
        "KEYS \\*",
        "KEYS [",
        "KEYS [a-",
        "KEYS user:[1-1]",
        "DBSIZE",
        "FLUSHDB",
        "DBSIZE",
        "FLUSHDB ASYNC",
        "FLUSHDB SYNC",
        "FLUSHDB FOO",
        "FLUSHALL foo bar",
        "FLUSHALL",
        "SCAN 0 COUNT 0",
        "SCAN abc",
        "SCAN 0 FOO",
        "SCAN 0 MATCH",
        "SCAN 0 TYPE",
        "SCAN -1 COUNT x",
        "RANDOMKEY",
    ],
    &[
        "MULTI",
        "SET a 1",
        "INCR a",
        "GET a",
        "EXEC",
        "MULTI",
        "MULTI",
        "GET",
        "SET a 2",
        "EXEC",
        "GET a",
        "EXEC",
        "DISCARD",
        "MULTI",
        "DISCARD",
        "WATCH a",
        "MULTI",
        "WATCH b",
        "INCR a",
        "EXEC",
        "MULTI",
        "SET s x",
        "INCR s",
        "GET s",
        "EXEC",
        "UNWATCH",
        "MULTI",
        "FOO",
        "EXEC",
        "MULTI",
        "SELECT 2",
        "SET indb2 1",
        "EXEC",
        "GET indb2",
        "SELECT 0",
        "GET indb2",
    ],
    &[
        "PING",
        "PING hello",
        "PING a b",
        "ECHO x",
        "ECHO",
        "SELECT 15",
        "SELECT 16",
        "SELECT -1",
        "SELECT x",
        "SELECT 0",
        "DPING a b",
        "dping",
        "AUTH x",
        "AUTH default x",
        "AUTH foo x",
        "AUTH a b c",
        "CLIENT SETINFO lib-name x",
        "CLIENT SETNAME 'a b'",
        "CLIENT SETNAME ok",
        "CLIENT GETNAME",
        "CLIENT SETNAME ''",
        "CLIENT GETNAME",
        "CLIENT FOO",
        "CLIENT",
        "CLIENT REPLY FOO",
        "CLIENT NO-EVICT maybe",
        "CLIENT NO-EVICT on",
        "CLIENT HELP",
        "CLIENT KILL 1.2.3.4:5",
        "CLIENT KILL ID abc",
        "CLIENT KILL ID 99999",
        "CLIENT KILL FOO bar",
        "CLIENT LIST TYPE foo",
        "HELLO 4",
        "HELLO abc",
        "HELLO 2 FOO",
        "HELLO 2 AUTH a",
        "HELLO 2 AUTH foo bar",
        "SWAPDB 0 x",
        "SWAPDB x 0",
        "SWAPDB 0 16",
        "SET sw 1",
        "SWAPDB 0 1",
        "GET sw",
        "SELECT 1",
        "GET sw",
        "SELECT 0",
        "COMMAND INFO get set nosuch",
        "COMMAND DOCS get",
        "COMMAND GETKEYS SET a b",
        "COMMAND GETKEYS MSET a b c d",
        "COMMAND GETKEYS PING",
        "COMMAND GETKEYS FOO",
        "COMMAND GETKEYS GET",
        "SET mv 1",
        "MOVE mv 2147483648",
        "MOVE mv -2147483649",
        "MOVE mv abc",
        "COPY mv mv2 DB 2147483648",
        "COPY mv mv2 DB -1",
        "SELECT 2147483648",
        "SWAPDB 0 2147483648",
        "COMMAND GETKEYS zunionstore dst 2 a b",
        "COMMAND GETKEYS zinterstore dst 2 a b weights 1 2",
        "COMMAND GETKEYS zdiffstore d 2 a b",
        "COMMAND GETKEYS zunion 2 a b",
        "COMMAND GETKEYS zinter 2 a b",
        "COMMAND GETKEYS zdiff 2 a b",
        "COMMAND GETKEYS zintercard 2 a b",
        "COMMAND GETKEYS sintercard 3 a b c",
        "COMMAND GETKEYS lmpop 2 a b left",
        "COMMAND GETKEYS blmpop 0 2 a b left",
        "COMMAND GETKEYS zmpop 2 a b min",
        "COMMAND GETKEYS bzmpop 0 2 a b min",
        "COMMAND GETKEYS migrate h 1 k 0 10",
        "COMMAND GETKEYS migrate h 1 '' 0 10 keys a b",
        "COMMAND GETKEYS migrate h 1 k 0 10 keys a b",
        "COMMAND GETKEYS migrate h 1 '' 0 10 auth p keys a",
        "COMMAND GETKEYS migrate h 1 '' 0 10 auth2 u p keys a",
        "COMMAND GETKEYS migrate h 1 k 0 10 auth keys a",
        "COMMAND GETKEYS migrate h 1 '' 0 10 auth keys a",
        "COMMAND GETKEYS time",
        "COMMAND GETKEYS time x",
        "COMMAND GETKEYS zunionstore dst 0 a",
        "COMMAND GETKEYS zunionstore dst x a",
        "COMMAND GETKEYS zunionstore dst 5 a",
        "COMMAND GETKEYS zunion",
        "COMMAND GETKEYS lmpop",
        "COMMAND GETKEYS object encoding k",
        "COMMAND GETKEYS object",
        "COMMAND GETKEYS object foo",
        "COMMAND GETKEYS config get",
        "COMMAND GETKEYS config",
        "COMMAND GETKEYS memory usage k",
        "COMMAND GETKEYS get a b",
        "COMMAND GETKEYS client list",
        "COMMAND GETKEYS zunion -1 a",
        "COMMAND GETKEYS blmpop 0 1 a",
        "COMMAND GETKEYS bzmpop 0 1 a",
        "COMMAND GETKEYS lmove a b left right",
        "COMMAND GETKEYS blmove a b left right 0",
        "COMMAND GETKEYS getex k ex 1",
        "COMMAND GETKEYS brpop a b 0",
        "COMMAND GETKEYS zrangestore d s 0 1",
        "COMMAND GETKEYS smove a b m",
        "COMMAND GETKEYS copy a b",
        "COMMAND GETKEYS restore k 0 p",
        // Shard channels are keys for routing only (key specs flagged not_key).
        "COMMAND GETKEYS spublish ch m",
        "COMMAND GETKEYS spublish ch",
        "COMMAND GETKEYS ssubscribe a b",
        "COMMAND GETKEYS sunsubscribe a",
        // CLUSTER is a container in 7.0.15: an unknown subcommand is an invalid command.
        "COMMAND GETKEYS cluster foo",
        "COMMAND GETKEYS cluster countkeysinslot 1",
        "COMMAND GETKEYS cluster KEYSLOT k",
        "COMMAND GETKEYS",
        "COMMAND HELP",
        "COMMAND FOO",
        // On a loaded machine an earlier command may take 10 ms on either side.
        "SLOWLOG RESET",
        "SLOWLOG LEN",
        "SLOWLOG GET",
        "SLOWLOG GET -2",
        "SLOWLOG RESET",
        "SLOWLOG HELP",
        "LATENCY LATEST",
        "LATENCY HELP",
        "PUBSUB NUMPAT",
        "PUBSUB NUMSUB a b",
        "PUBSUB CHANNELS",
        "PUBLISH ch hi",
        "PUBSUB HELP",
        "MEMORY HELP",
        "MEMORY USAGE nokey",
        "SHUTDOWN ABORT",
        "SHUTDOWN FOO",
        "SHUTDOWN SAVE NOSAVE",
        "DEBUG PROTOCOL string",
        "DEBUG PROTOCOL double",
        "DEBUG PROTOCOL map",
        "DEBUG PROTOCOL attrib",
        "DEBUG PROTOCOL push",
        "DEBUG PROTOCOL verbatim",
        "DEBUG PROTOCOL foo",
        "DEBUG SET-ACTIVE-EXPIRE 1",
        "SET dg value",
        "DEBUG DIGEST-VALUE dg nokey",
        "SET dgi 123",
        "DEBUG DIGEST-VALUE dgi",
        "EXPIRE dg 1000",
        "DEBUG DIGEST-VALUE dg",
        "DEBUG DIGEST",
        "DEBUG POPULATE 10",
        "DBSIZE",
        "GET key:3",
        "DEBUG POPULATE 3 pre 20",
        "GET pre:1",
        "DEBUG POPULATE -1",
        "DEBUG FOO",
        "DEBUG HELP",
        "DEBUG LOG hello",
        "DEBUG LOG",
        "DEBUG LOG a b",
        "DEBUG ERROR oops",
        "DEBUG ERROR -CODE text",
        "DEBUG ERROR -CODE",
        "DEBUG ERROR ''",
        "INFO errorstats",
    ],
    &[
        "HELLO 3",
        "GET nokey",
        "SET k v",
        "GET k",
        "INCRBYFLOAT f 1.5",
        "MGET k nokey",
        "HELLO 2 SETNAME x",
        "HELLO 3",
        "COMMAND INFO get",
        "COMMAND DOCS get",
        "PUBSUB NUMSUB a",
        "DEBUG PROTOCOL double",
        "DEBUG PROTOCOL map",
        "DEBUG PROTOCOL attrib",
        "DEBUG PROTOCOL push",
        "DEBUG PROTOCOL true",
        "DEBUG PROTOCOL bignum",
        "DEBUG PROTOCOL null",
        "DEBUG PROTOCOL set",
        "LCS k k IDX",
        "EXEC",
        "MULTI",
        "GET k",
        "EXEC",
        "WATCH k",
        "SET k v2",
        "MULTI",
        "GET k",
        "EXEC",
        "RESET",
        "GET nokey",
    ],
    &[
        "SUBSCRIBE a b",
        "PSUBSCRIBE p*",
        "GET x",
        "PING",
        "PING hi",
        "UNSUBSCRIBE a",
        "PUNSUBSCRIBE p*",
        "PUNSUBSCRIBE",
        "UNSUBSCRIBE",
        "UNSUBSCRIBE",
        "PING",
    ],
    &[
        "SET a v",
        "MOVE a 1",
        "MOVE a 0",
        "MOVE a x",
        "MOVE a 99",
        "MOVE a -1",
        "MOVE nokey 1",
        "MOVE a",
        "SELECT 1",
        "GET a",
        "SET b w",
        "SELECT 0",
        "SET b z",
        "SELECT 1",
        "MOVE b 0",
        "MOVE a 0",
        "SELECT 0",
        "GET a",
        "GET b",
        "SET e v EX 1000",
        "HSET h f v",
        "RPUSH l x",
        "MOVE e 2",
        "MOVE h 2",
        "MOVE l 2",
        "SELECT 2",
        "TTL e",
        "HGET h f",
        "LRANGE l 0 -1",
        "DBSIZE",
        "SELECT 0",
        "DBSIZE",
        "OBJECT FREQ a",
        "OBJECT FREQ nokey",
        "CONFIG SET maxmemory-policy allkeys-lfu",
        "SET s v",
        "OBJECT FREQ s",
        "GET s",
        "OBJECT FREQ s",
        "TYPE s",
        "EXISTS s",
        "TTL s",
        "OBJECT FREQ s",
        "OBJECT IDLETIME s",
        "RPUSH q a",
        "OBJECT FREQ q",
        "RPUSH q b",
        "OBJECT FREQ q",
        // An overwrite (in place here) keeps the counter, and the command's lookup counts
        // one access. Only the first access after the initial 5 counts for sure, so each
        // key takes one (GETSET, which takes two in Redis, cannot be compared).
        "SET r1 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "OBJECT FREQ r1",
        "SET r1 bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
        "OBJECT FREQ r1",
        "SET r2 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "MSET r2 bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb r3 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "OBJECT FREQ r2",
        "OBJECT FREQ r3",
        "SET r5 v",
        "MSET r5 w",
        "OBJECT FREQ r5",
        "CONFIG SET maxmemory-policy volatile-lfu",
        "OBJECT FREQ q",
        "CONFIG SET maxmemory-policy noeviction",
        "OBJECT FREQ q",
        "LATENCY RESET",
        "LATENCY LATEST",
        "LATENCY HISTORY command",
        "LATENCY HISTORY",
        "LATENCY GRAPH command",
        "LATENCY GRAPH",
        "LATENCY DOCTOR",
        "LATENCY HELP",
        "LATENCY FOO",
        "LATENCY RESET command fast-command",
        "LATENCY HISTOGRAM nosuch",
        "HELLO 3",
        "LATENCY HISTOGRAM nosuch",
        "LATENCY LATEST",
        "LATENCY DOCTOR",
    ],
    // Bit commands: offsets and their limits, integer-encoded and empty strings, ranges in
    // bytes and bits, BITOP's padding and TTL, BITFIELD's types and overflow rules.
    &[
        "setbit k 7 1",
        "get k",
        "setbit k 7 1",
        "setbit k 100 1",
        "strlen k",
        "getbit k 100",
        "getbit k 101",
        "getbit k 99999999",
        "getbit nokey 3",
        "setbit k -1 1",
        "setbit k 1 2",
        "setbit k 1 -1",
        "setbit k abc 1",
        "setbit k 4294967296 1",
        "setbit k 4294967295 0",
        "strlen k",
        "del k",
        "set n 12345",
        "getbit n 2",
        "getbit n 3",
        "setbit n 0 0",
        "object encoding n",
        "get n",
        "bitcount n",
        "bitcount nokey",
        "bitcount n 0 -1",
        "bitcount n 1 1",
        "bitcount n -2 -1",
        "bitcount n -1 -2",
        "bitcount n 0 -1 bit",
        "bitcount n 3 17 bit",
        "bitcount n 5 5 bit",
        "bitcount n 0 100 BIT",
        "bitcount n 0 100 byte",
        "bitcount n 0 100 bits",
        "bitcount n -1 -2 bits",
        "bitcount nokey 0 1 bits",
        "bitcount n 0",
        "bitcount n 0 1 2 3",
        "bitcount n a b",
        "bitcount n 1 b",
        "set e ''",
        "bitcount e",
        "bitcount e 0 -1",
        "bitpos e 0",
        "bitpos e 1",
        "bitpos e 0 0",
        "bitpos e 0 0 -1",
        "bitpos nokey 0",
        "bitpos nokey 1",
        "bitpos nokey 0 5 10",
        "setbit ones 0 1",
        "setbit ones 1 1",
        "setbit ones 2 1",
        "setbit ones 3 1",
        "setbit ones 4 1",
        "setbit ones 5 1",
        "setbit ones 6 1",
        "setbit ones 7 1",
        "bitpos ones 0",
        "bitpos ones 0 0",
        "bitpos ones 0 0 0",
        "bitpos ones 0 0 -1",
        "bitpos ones 1",
        "bitpos ones 0 0 7 bit",
        "bitpos ones 0 0 100 bit",
        "bitpos ones 1 3 5 bit",
        "bitpos n 1",
        "bitpos n 0",
        "bitpos n 1 2",
        "bitpos n 1 -1",
        "bitpos n 0 1 2",
        "bitpos n 1 9 20 bit",
        "bitpos n 0 9 20 bit",
        "bitpos n 0 -3 -1 bit",
        "bitpos n 1 -3 -1 bit",
        "bitpos n 1 20 9 bit",
        "bitpos n 2",
        "bitpos n x",
        "bitpos n 1 x",
        "bitpos n 1 0 x",
        "bitpos n 1 0 1 nope",
        "bitpos n 1 0 1 bit extra",
        "lpush l a",
        "getbit l 0",
        "setbit l 0 1",
        "bitcount l",
        "bitpos l 1",
        "bitfield l get u8 0",
        "bitop and d1 l n",
        "bitop and d1 n nokey",
        "get d1",
        "bitop or d2 n ones",
        "get d2",
        "object encoding d2",
        "bitop xor d3 n ones nokey n",
        "get d3",
        "bitop not d4 n",
        "get d4",
        "bitop not d4 n ones",
        "bitop nand d4 n",
        "bitop and d5 nokey",
        "exists d5",
        "set d5 x",
        "expire d5 100",
        "bitop or d5 n",
        "ttl d5",
        "bitop and d5 nokey nokey2",
        "exists d5",
        "bitfield bf set u8 0 255",
        "bitfield bf get u8 0",
        "bitfield bf incrby u8 0 10",
        "bitfield bf overflow sat incrby u8 0 300",
        "bitfield bf overflow fail incrby u8 0 1",
        "bitfield bf overflow fail incrby u8 0 -1 get u8 0",
        "bitfield bf set i8 0 -100 get i8 0 incrby i8 0 -100",
        "bitfield bf overflow sat incrby i8 0 -100",
        "bitfield bf overflow wrap incrby i64 0 9223372036854775807 incrby i64 0 9223372036854775807",
        "bitfield bf set u63 0 -1",
        "bitfield bf get u63 0 get i64 0 get i63 1",
        "bitfield bf set u64 0 1",
        "bitfield bf set i65 0 1",
        "bitfield bf set i0 0 1",
        "bitfield bf set x8 0 1",
        "bitfield bf set '' 0 1",
        "bitfield bf set u8 #1 7 get u8 #1 get u8 8",
        "bitfield bf get u8 #",
        "bitfield bf get u8 #-1",
        "bitfield bf get u8 -1",
        "bitfield bf overflow bogus",
        "bitfield bf overflow",
        "bitfield bf bogus",
        "bitfield bf get u8",
        "bitfield bf set u8 0",
        "bitfield bf set u8 0 x",
        "bitfield bf incrby u8 0 9223372036854775808",
        "bitfield bf",
        "bitfield nokey get u8 0",
        "exists nokey",
        "bitfield nokey2 overflow fail incrby u8 0 300",
        "exists nokey2",
        "get nokey2",
        "bitfield_ro bf get u8 0 get i4 3",
        "bitfield_ro bf set u8 0 1",
        "bitfield_ro bf get u8 0 set u8 0 1",
        "bitfield_ro bf get u8 0 bogus",
        "bitfield_ro l get u8 0",
        "bitfield n get u8 0 get u4 4",
        "bitfield n set u8 0 1",
        "get n",
        "bitfield bf set u5 7 23 get u5 7 get i5 7",
        "bitfield bf set i3 4294967290 1",
        "bitfield bf set i3 4294967293 1",
        "bitfield bf set u8 #536870911 1",
        "bitfield bf overflow sat set i8 0 1000 overflow wrap set i8 8 1000 overflow fail set i8 16 1000",
        "bitfield bf overflow sat set u8 0 -5 overflow wrap set u8 8 -5 overflow fail set u8 16 -5",
        "bitfield bf incrby i16 0 -9223372036854775808",
        "bitfield bf overflow sat incrby i64 0 -9223372036854775808 incrby i64 0 -9223372036854775808",
        "setbit s 0",
        "getbit s",
        "bitcount",
        "bitop and",
        "bitop and d",
        "getbit k 1.5",
        "setbit k 1 1.0",
    ],
];

fn start_pair(ours_port: u16, real_port: u16) -> (InProcess, common::Proc) {
    let ours = InProcess::start(ours_port, "enable-debug-command yes");
    let real = start_redis(real_port, &["--enable-debug-command", "yes"]);
    (ours, real)
}

#[test]
fn scripted_exchanges_match_redis() {
    let (ours, real) = start_pair(21410, 22010);
    let mut failures = Vec::new();
    for group in SCRIPT {
        let mut pair = Pair {
            ours: Raw::connect(ours.port),
            real: Raw::connect(real.port),
        };
        pair.check(&words("FLUSHALL")).unwrap();
        for line in *group {
            if let Err(e) = pair.check(&words(line)) {
                failures.push(e);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

const KEYS: &[&str] = &["a", "b", "c", "{t}x", "{t}y", ""];
const VALUES: &[&str] = &[
    "v",
    "",
    "0",
    "1",
    "-1",
    "10",
    "007",
    "9223372036854775807",
    "-9223372036854775808",
    "1.5",
    "0.1",
    "3e2",
    "inf",
    "abc",
    " 1",
    "hello world",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    // Raw strings of one length, which an overwrite rewrites in place.
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
    "ccccccccccccccccccccccccccccccccccccccccccccc",
    "ddddddddddddddddddddddddddddddddddddddddddddd",
];
const WORDS: &[&str] = &[
    "NX",
    "XX",
    "GT",
    "LT",
    "EX",
    "PX",
    "EXAT",
    "PXAT",
    "KEEPTTL",
    "GET",
    "PERSIST",
    "100",
    "1",
    "0",
    "-5",
    "abc",
    "LEN",
    "IDX",
    "MINMATCHLEN",
    "WITHMATCHLEN",
    "DB",
    "REPLACE",
    "ASYNC",
    "SYNC",
    "*",
    "a*",
    "?",
    "[ab]*",
    "*t*",
    "ENCODING",
    "REFCOUNT",
    "FREQ",
    "HELP",
    "CHANNELS",
    "NUMSUB",
    "NUMPAT",
];
const NAMES: &[&str] = &[
    "GET",
    "SET",
    "SETNX",
    "SETEX",
    "PSETEX",
    "GETSET",
    "GETDEL",
    "GETEX",
    "MGET",
    "MSET",
    "MSETNX",
    "INCR",
    "DECR",
    "INCRBY",
    "DECRBY",
    "APPEND",
    "STRLEN",
    "GETRANGE",
    "SETRANGE",
    "SUBSTR",
    "LCS",
    "DEL",
    "UNLINK",
    "EXISTS",
    "TYPE",
    "RENAME",
    "RENAMENX",
    "COPY",
    "EXPIRE",
    "PEXPIRE",
    "EXPIREAT",
    "PEXPIREAT",
    "TTL",
    "EXPIRETIME",
    "PEXPIRETIME",
    "PERSIST",
    "TOUCH",
    "KEYS",
    "DBSIZE",
    "FLUSHDB",
    "OBJECT",
    "MULTI",
    "EXEC",
    "DISCARD",
    "WATCH",
    "UNWATCH",
    "SELECT",
    "SWAPDB",
    "MOVE",
    "PING",
    "ECHO",
    "PTTL",
    "INCRBYFLOAT",
    "FLUSHALL",
    "PUBLISH",
    "PUBSUB",
    "SETBIT",
    "GETBIT",
    "BITCOUNT",
    "BITPOS",
    "BITOP",
    "BITFIELD",
    "BITFIELD_RO",
];

fn pick(list: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    proptest::sample::select(list).prop_map(|s| s.as_bytes().to_vec())
}

fn arg() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![3 => pick(KEYS), 3 => pick(VALUES), 2 => pick(WORDS), 1 => Just(b"2".to_vec())]
}

/// Bit commands whose arguments mostly parse: small offsets, ranges, field types and values
/// near their types' limits.
fn bits_command() -> impl Strategy<Value = Vec<Vec<u8>>> {
    const OFFSETS: &[&str] = &[
        "0", "1", "7", "8", "13", "31", "63", "100", "#1", "#3", "-1",
    ];
    const RANGE: &[&str] = &[
        "0", "1", "2", "3", "-1", "-2", "-8", "8", "20", "100", "-100",
    ];
    const BIT: &[&str] = &["0", "1", "2"];
    const UNIT: &[&str] = &["BIT", "BYTE", "byte", "bits"];
    const TYPES: &[&str] = &["u1", "u5", "u8", "u63", "i1", "i8", "i16", "i64", "u64"];
    const VALUES: &[&str] = &[
        "0",
        "1",
        "-1",
        "127",
        "128",
        "255",
        "-128",
        "1000",
        "-1000",
        "9223372036854775807",
        "-9223372036854775808",
    ];
    const OPS: &[&str] = &["AND", "OR", "XOR", "NOT", "nand"];
    const OVERFLOW: &[&str] = &["WRAP", "SAT", "FAIL"];
    let cmd = |name: &'static str| Just(name.as_bytes().to_vec());
    let setbit = (pick(KEYS), pick(OFFSETS), pick(BIT))
        .prop_map(|(k, o, b)| vec![b"SETBIT".to_vec(), k, o, b]);
    let getbit = (pick(KEYS), pick(OFFSETS)).prop_map(|(k, o)| vec![b"GETBIT".to_vec(), k, o]);
    let range = || {
        (
            proptest::collection::vec(pick(RANGE), 0..=2),
            proptest::option::of(pick(UNIT)),
        )
            .prop_map(|(mut r, unit)| {
                r.extend(unit);
                r
            })
    };
    let bitcount = (pick(KEYS), range()).prop_map(|(k, r)| {
        let mut c = vec![b"BITCOUNT".to_vec(), k];
        c.extend(r);
        c
    });
    let bitpos = (pick(KEYS), pick(BIT), range()).prop_map(|(k, b, r)| {
        let mut c = vec![b"BITPOS".to_vec(), k, b];
        c.extend(r);
        c
    });
    let bitop = (
        pick(OPS),
        pick(KEYS),
        proptest::collection::vec(pick(KEYS), 1..4),
    )
        .prop_map(|(op, dest, src)| {
            let mut c = vec![b"BITOP".to_vec(), op, dest];
            c.extend(src);
            c
        });
    let sub = prop_oneof![
        (cmd("GET"), pick(TYPES), pick(OFFSETS)).prop_map(|(g, t, o)| vec![g, t, o]),
        (
            prop_oneof![cmd("SET"), cmd("INCRBY")],
            pick(TYPES),
            pick(OFFSETS),
            pick(VALUES)
        )
            .prop_map(|(s, t, o, v)| vec![s, t, o, v]),
        (cmd("OVERFLOW"), pick(OVERFLOW)).prop_map(|(o, k)| vec![o, k]),
    ];
    let bitfield = (
        prop_oneof![3 => cmd("BITFIELD"), 1 => cmd("BITFIELD_RO")],
        pick(KEYS),
        proptest::collection::vec(sub, 0..4),
    )
        .prop_map(|(name, k, subs)| {
            let mut c = vec![name, k];
            c.extend(subs.into_iter().flatten());
            c
        });
    prop_oneof![3 => setbit, 1 => getbit, 2 => bitcount, 2 => bitpos, 1 => bitop, 3 => bitfield]
}

fn command() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let set = (pick(KEYS), pick(VALUES)).prop_map(|(k, v)| vec![b"SET".to_vec(), k, v]);
    let get = pick(KEYS).prop_map(|k| vec![b"GET".to_vec(), k]);
    let incr = (pick(KEYS), pick(VALUES)).prop_map(|(k, v)| vec![b"INCRBY".to_vec(), k, v]);
    let expire = (pick(KEYS), pick(WORDS))
        .prop_map(|(k, w)| vec![b"EXPIRE".to_vec(), k, b"100".to_vec(), w]);
    let generic = (pick(NAMES), proptest::collection::vec(arg(), 0..5)).prop_map(|(n, mut a)| {
        a.insert(0, n);
        a
    });
    prop_oneof![2 => set, 2 => get, 1 => incr, 1 => expire, 6 => generic, 2 => bits_command()]
        .prop_map(long_ttls)
}

/// Stretches relative TTLs that would expire while a case runs (`PSETEX k 1 v`, `SET k v EX 2`):
/// whether such a key is still there depends on when each server reads its clock, not on its
/// logic. Errors (`0`, `-5`, `abc`, `007`) and absolute times are left as generated.
fn long_ttls(mut cmd: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let canonical_positive =
        |a: &[u8]| matches!(a.first(), Some(b'1'..=b'9')) && a.iter().all(u8::is_ascii_digit);
    let name = cmd
        .first()
        .map(|n| n.to_ascii_uppercase())
        .unwrap_or_default();
    let mut positions: Vec<(usize, &[u8])> = Vec::new();
    match name.as_slice() {
        b"SETEX" | b"EXPIRE" => positions.push((2, b"100000")),
        b"PSETEX" | b"PEXPIRE" => positions.push((2, b"100000000")),
        b"SET" | b"GETEX" => {
            for (i, a) in cmd.iter().enumerate().skip(2) {
                match a.to_ascii_uppercase().as_slice() {
                    b"EX" => positions.push((i + 1, b"100000")),
                    b"PX" => positions.push((i + 1, b"100000000")),
                    _ => {}
                }
            }
        }
        _ => {}
    }
    for (i, long) in positions {
        if let Some(a) = cmd.get_mut(i) {
            if canonical_positive(a) {
                *a = long.to_vec();
            }
        }
    }
    cmd
}

#[test]
fn random_sequences_match_redis() {
    let (ours, real) = start_pair(21411, 22011);
    // DIFF_CASES raises the count for a longer hunt; the default keeps the test short.
    let config = Config {
        cases: common::diff_cases("DIFF_CASES", 500),
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    // Half the cases speak RESP3.
    let case = (any::<bool>(), proptest::collection::vec(command(), 1..30));
    let result = runner.run(&case, |(resp3, cmds)| {
        let mut pair = Pair {
            ours: Raw::connect(ours.port),
            real: Raw::connect(real.port),
        };
        pair.check(&words("FLUSHALL"))
            .map_err(TestCaseError::fail)?;
        if resp3 {
            pair.check(&words("HELLO 3")).map_err(TestCaseError::fail)?;
        }
        for c in &cmds {
            pair.check(c).map_err(TestCaseError::fail)?;
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn scan_visits_every_key_like_redis() {
    let (ours, real) = start_pair(21412, 22012);
    let mut all = Vec::new();
    for port in [ours.port, real.port] {
        let mut c = Raw::connect(port);
        c.cmd(&["FLUSHALL"]);
        c.cmd(&["DEBUG", "POPULATE", "1000"]);
        c.cmd(&["SET", "other", "x"]);
        let mut seen = std::collections::BTreeSet::new();
        let mut cursor = "0".to_string();
        loop {
            let reply = c.call(&[
                b"SCAN",
                cursor.as_bytes(),
                b"MATCH",
                b"key:1*",
                b"COUNT",
                b"50",
            ]);
            let text = String::from_utf8_lossy(&reply).into_owned();
            let parts: Vec<&str> = text.split("\r\n").collect();
            cursor = parts[2].to_string();
            for w in parts[4..].chunks(2) {
                if w.len() == 2 && !w[1].is_empty() {
                    seen.insert(w[1].to_string());
                }
            }
            if cursor == "0" {
                break;
            }
        }
        all.push(seen);
    }
    assert_eq!(all[0].len(), 111);
    assert_eq!(all[0], all[1]);
}

#[test]
fn incrbyfloat_long_double_arithmetic_matches_redis() {
    let (ours, real) = start_pair(21413, 22013);
    let decimal = "-?[0-9]{1,7}(\\.[0-9]{1,9})?(e-?[0-9]{1,2})?";
    let config = Config {
        cases: 100,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let result = runner.run(&proptest::collection::vec(decimal, 1..20), |incrs| {
        let mut pair = Pair {
            ours: Raw::connect(ours.port),
            real: Raw::connect(real.port),
        };
        pair.check(&words("DEL f")).map_err(TestCaseError::fail)?;
        for i in &incrs {
            pair.check(&[
                b"INCRBYFLOAT".to_vec(),
                b"f".to_vec(),
                i.as_bytes().to_vec(),
            ])
            .map_err(TestCaseError::fail)?;
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// strtold's edge inputs (hex floats, spaces, inf/nan, out of range) as increment, as stored
/// value, and for hash fields.
#[test]
fn incrbyfloat_edge_inputs_match_redis() {
    let (ours, real) = start_pair(21415, 22015);
    let inputs: &[&[u8]] = &[
        b"0x1p3",
        b"0X1P3",
        b"0x10",
        b"-0x1.8p1",
        b"0x.8",
        b"0x1p-2",
        b"0x1.8e",
        b"0x",
        b"0x1p",
        b"0xg",
        b"0x1p99999",
        b"0x1p-99999",
        b" 1",
        b"1 ",
        b" ",
        b"",
        b"inf",
        b"-inf",
        b"infinity",
        b"nan",
        b"NaN",
        b"1e400",
        b"1e-400",
        b"1e5000",
        b"1e308",
        b"+1",
        b".5",
        b"5.",
        b"-0",
        b"1e+2",
        b"1.5e",
        b"1_0",
        b"\x001",
    ];
    let mut pair = Pair {
        ours: Raw::connect(ours.port),
        real: Raw::connect(real.port),
    };
    let mut failures = Vec::new();
    for input in inputs {
        let v = input.to_vec();
        let cmds: Vec<Vec<Vec<u8>>> = vec![
            words("DEL k s t h"),
            vec![b"INCRBYFLOAT".to_vec(), b"k".to_vec(), v.clone()],
            words("SET s 10"),
            vec![b"INCRBYFLOAT".to_vec(), b"s".to_vec(), v.clone()],
            vec![b"SET".to_vec(), b"t".to_vec(), v.clone()],
            words("INCRBYFLOAT t 1"),
            vec![
                b"HINCRBYFLOAT".to_vec(),
                b"h".to_vec(),
                b"f".to_vec(),
                v.clone(),
            ],
            vec![b"HSET".to_vec(), b"h".to_vec(), b"g".to_vec(), v.clone()],
            words("HINCRBYFLOAT h g 1"),
            words("HMGET h f g"),
        ];
        for c in cmds {
            if let Err(e) = pair.check(&c) {
                failures.push(e);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A reply with what differs between two healthy servers blanked: every run of digits
/// (times, ids, ports, sizes) becomes `N` and DEBUG OBJECT's address `ADDR`, so lengths and
/// numbers do not count but the shape, field names and words do.
fn masked(reply: &[u8]) -> String {
    let text = String::from_utf8_lossy(reply);
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.push('N');
        } else {
            out.push(c);
        }
    }
    match out.split_once("Value at:") {
        Some((head, tail)) => {
            let rest = tail.split_once(' ').map_or("", |(_, r)| r);
            format!("{head}Value at:ADDR {rest}")
        }
        None => out,
    }
}

/// The commands of the issue whose replies carry times, ids or addresses (LASTSAVE, TIME,
/// CLIENT ID/INFO/LIST, DEBUG OBJECT/SLEEP/CHANGE-REPL-ID, CONFIG RESETSTAT/REWRITE, QUIT...)
/// compared with redis-server with the numbers blanked. COMMAND COUNT is left out on purpose:
/// this node lists only the commands it serves.
#[test]
fn replies_with_times_and_ids_match_redis_in_shape() {
    let (ours, real) = start_pair(21417, 22017);
    let script: &[&[&str]] = &[
        &["LASTSAVE"],
        &["TIME"],
        &["CLIENT", "ID"],
        &["CLIENT", "SETNAME", "shape"],
        &["CLIENT", "INFO"],
        &["SET", "k", "12345"],
        &["SET", "s", "some text"],
        &["DEBUG", "OBJECT", "k"],
        &["DEBUG", "OBJECT", "s"],
        &["DEBUG", "OBJECT", "nosuch"],
        &["DEBUG", "SLEEP", "0"],
        &["DEBUG", "SLEEP", "0.01"],
        &["DEBUG", "CHANGE-REPL-ID"],
        &["CONFIG", "GET", "maxmemory"],
        &["CONFIG", "RESETSTAT"],
        &["CONFIG", "REWRITE"],
        &["INFO", "keyspace"],
        &["COMMAND", "INFO", "lastsave", "time", "quit"],
    ];
    let mut o = Raw::connect(ours.port);
    let mut r = Raw::connect(real.port);
    for args in script {
        let a: Vec<&[u8]> = args.iter().map(|x| x.as_bytes()).collect();
        assert_eq!(
            masked(&o.call(&a)),
            masked(&r.call(&a)),
            "reply to {args:?}"
        );
    }
    let own_entry = |c: &mut Raw| {
        let id = String::from_utf8_lossy(&c.call(&[b"CLIENT", b"ID"]))
            .trim_start_matches(':')
            .trim_end()
            .to_owned();
        masked(&c.call(&[b"CLIENT", b"LIST", b"ID", id.as_bytes()]))
    };
    let mut o = Raw::connect(ours.port);
    let mut r = Raw::connect(real.port);
    assert_eq!(own_entry(&mut o), own_entry(&mut r));
    // QUIT closed both connections.
    assert_eq!(o.call(&[b"QUIT"]), r.call(&[b"QUIT"]));
    assert!(o.read_to_close().is_empty() && r.read_to_close().is_empty());
}

/// Blocking commands' timeouts read as 7.0.15 reads them (strtold, then a cast to long long
/// that makes infinite and huge values negative); each either fails or times out quickly.
#[test]
fn blocking_timeouts_match_redis() {
    let (ours, real) = start_pair(21418, 22018);
    let mut pair = Pair {
        ours: Raw::connect(ours.port),
        real: Raw::connect(real.port),
    };
    let timeouts: &[&[u8]] = &[
        b"0x1p-7",
        b"0X1P-8",
        b"inf",
        b"-inf",
        b"infinity",
        b"1e400",
        b"nan",
        b" 1",
        b"1 ",
        b"0.01",
        b"1e-3",
        b"9223372036854776",
        b"9223372036854775807",
        b"abc",
        b"0x",
        b"-1",
        b"-0.5",
        b"",
    ];
    let mut failures = Vec::new();
    for t in timeouts {
        for cmd in [
            vec![b"BLPOP".to_vec(), b"nokey".to_vec(), t.to_vec()],
            vec![b"BZPOPMIN".to_vec(), b"nokey".to_vec(), t.to_vec()],
            words("BLMOVE nokey dst LEFT RIGHT")
                .into_iter()
                .chain([t.to_vec()])
                .collect(),
        ] {
            if let Err(e) = pair.check(&cmd) {
                failures.push(e);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Top-level elements of an array reply, as their own bytes.
fn elements(reply: &[u8]) -> Vec<Vec<u8>> {
    let mut buf = bytes::BytesMut::from(reply);
    let limits = resp_proto::Limits::default();
    let Some(header) = reply.iter().position(|&b| b == b'\n') else {
        return Vec::new();
    };
    let _ = buf.split_to(header + 1);
    let mut items = Vec::new();
    while !buf.is_empty() {
        let mut probe = buf.clone();
        match resp_proto::decode_frame(&mut probe, &limits) {
            Ok(Some(_)) => items.push(buf.split_to(buf.len() - probe.len()).to_vec()),
            _ => break,
        }
    }
    items
}

/// COMMAND with no subcommand (redis-py's cluster client sends it first) lists every command
/// COMMAND COUNT counts, each entry as COMMAND INFO gives it and, outside containers (whose
/// subcommands come in Redis's random dict order), byte for byte redis-server's.
#[test]
fn command_alone_lists_the_table_as_redis() {
    let (ours, real) = start_pair(21480, 22020);
    let mut o = Raw::connect(ours.port);
    let mut r = Raw::connect(real.port);
    for resp3 in [false, true] {
        if resp3 {
            o.call(&[b"HELLO", b"3"]);
            r.call(&[b"HELLO", b"3"]);
        }
        let all = elements(&o.call(&[b"COMMAND"]));
        // Right after COMMAND alone: its subcommands must still be told apart.
        let count = String::from_utf8_lossy(&o.call(&[b"COMMAND", b"COUNT"])).into_owned();
        assert_eq!(format!(":{}\r\n", all.len()), count);
        for entry in &all {
            let fields = elements(entry);
            let name = String::from_utf8_lossy(&fields[0]).into_owned();
            let name = name.rsplit("\r\n").nth(1).unwrap_or_default().to_owned();
            let info = o.call(&[b"COMMAND", b"INFO", name.as_bytes()]);
            assert_eq!(elements(&info), std::slice::from_ref(entry), "{name}");
            let container = matches!(fields.get(9), Some(f) if !f.starts_with(b"*0\r\n"));
            if !container {
                let theirs = r.call(&[b"COMMAND", b"INFO", name.as_bytes()]);
                assert_eq!(
                    String::from_utf8_lossy(&info),
                    String::from_utf8_lossy(&theirs),
                    "{name} (RESP3 {resp3})"
                );
            }
        }
    }
}

/// The bulk strings of a flat array reply, sorted.
fn sorted_bulks(reply: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(reply).into_owned();
    let mut v: Vec<String> = text
        .split("\r\n")
        .skip(1)
        .filter(|l| !l.starts_with('$') && !l.is_empty())
        .map(str::to_owned)
        .collect();
    v.sort();
    v
}

/// COMMAND LIST (every filter) names what redis-server names, subcommands included, less
/// the commands this node does not serve (they are not in its table at all).
#[test]
fn command_list_matches_redis_for_the_commands_served() {
    let (ours, real) = start_pair(21416, 22016);
    let mut o = Raw::connect(ours.port);
    let mut r = Raw::connect(real.port);
    let filters: &[&[&str]] = &[
        &[],
        &["FILTERBY", "PATTERN", "config*"],
        &["FILTERBY", "PATTERN", "*|*"],
        &["FILTERBY", "ACLCAT", "admin"],
        &["FILTERBY", "ACLCAT", "CONNECTION"],
        &["FILTERBY", "ACLCAT", "nosuch"],
        &["FILTERBY", "MODULE", "x"],
    ];
    for f in filters {
        let mut args = vec!["COMMAND", "LIST"];
        args.extend_from_slice(f);
        let got = sorted_bulks(&o.call(&args.iter().map(|a| a.as_bytes()).collect::<Vec<_>>()));
        let want = sorted_bulks(&r.call(&args.iter().map(|a| a.as_bytes()).collect::<Vec<_>>()));
        for name in &got {
            assert!(
                want.contains(name),
                "{args:?}: {name} is not listed by redis-server"
            );
        }
        for name in want.iter().filter(|n| !got.contains(n)) {
            let container = name.split('|').next().unwrap_or(name);
            let info = o.call(&[b"COMMAND", b"INFO", name.as_bytes()]);
            assert_eq!(
                info, b"*1\r\n$-1\r\n",
                "{args:?}: {name} is served but not listed"
            );
            let served = o.call(&[b"COMMAND", b"INFO", container.as_bytes()]) != b"*1\r\n$-1\r\n";
            if container != name && served {
                // A missing subcommand of a served container must be one this node refuses.
                let sub = name.split('|').nth(1).unwrap_or_default();
                let reply = o.call(&[container.as_bytes(), sub.as_bytes()]);
                assert!(
                    reply.starts_with(b"-ERR unknown subcommand"),
                    "{name}: {:?}",
                    String::from_utf8_lossy(&reply)
                );
            }
        }
    }
    let all = sorted_bulks(&o.call(&[b"COMMAND", b"LIST"]));
    assert!(all.iter().any(|n| n == "config|get") && all.iter().any(|n| n == "cluster|nodes"));
}

/// More protocol inputs (bad lengths and signs, NUL bytes, bare CR/LF, quoting, QUIT in a
/// pipeline, limits at and past their bounds): the same replies and the same closing.
#[test]
fn more_protocol_inputs_match_redis() {
    let (ours, real) = start_pair(21419, 22019);
    let cases: &[&[u8]] = &[
        b"*1\r\n$-1\r\n",
        b"*-5\r\nPING\r\n",
        b"$3\r\nfoo\r\n",
        b"*1\r\n:1\r\n",
        b"*1\r\n+PING\r\n",
        b"*2\r\n$3\r\nGET\r\n$99999999999\r\n",
        b"*1048577\r\n",
        b"*1048576\r\n",
        b"*1\r\n$0\r\n\r\n",
        b"*1\r\n$4\r\nPINGxx",
        b"*1\r\n$4\r\nPING\r\r",
        b"*1\r$4\r\nPING\r\n",
        b"*1\n$4\nPING\n",
        b"*01\r\n$4\r\nPING\r\n",
        b"*+1\r\n$4\r\nPING\r\n",
        b"*1\r\n$+4\r\nPING\r\n",
        b"*1\r\n$04\r\nPING\r\n",
        b"*1 \r\n$4\r\nPING\r\n",
        b"* 1\r\n",
        b"*\r\n",
        b"*1\r\n$\r\n",
        b"\x00PING\r\n",
        b"PI\x00NG\r\n",
        b"*2\r\n$4\r\nECHO\r\n$3\r\na\x00b\r\n",
        b"ECHO \"a\\x00b\"\r\n",
        b"ECHO 'a\\'b'\r\n",
        b"ECHO \"\\u0041\"\r\n",
        b"ECHO \"\\\"\"\r\n",
        b"ECHO \"a\"\"b\"\r\n",
        b"ECHO a\"b\"\r\n",
        b"\"\"\r\n",
        b"''\r\nPING\r\n",
        b"*1\r\n$4\r\nQUIT\r\nPING\r\n",
        b"QUIT\r\nPING\r\n",
        b"*2\r\n$4\r\nPING\r\n",
        b"*9223372036854775808\r\n",
        b"*-9223372036854775809\r\n",
        b"*1\r\n$-9223372036854775808\r\n",
        b"*1\r\n$512000000000\r\n",
        b"*1\r\n$536870912\r\n",
        b"*1\r\n$1\r\nab\r\n",
        b"\r\n",
        b"\n",
        b" \r\n",
        b"\t\r\n",
        b"PING\r",
        b"*1\r\n$4\r\nPING",
        b"ECHO \\x41\r\n",
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nv\r\n\r\nGET k\r\n",
        // Errors echo the bytes the client sent, not a UTF-8 rendering of them.
        b"*2\r\n$3\r\nx\xffy\r\n$2\r\n\xe9a\r\n",
        b"*2\r\n$6\r\nCONFIG\r\n$2\r\n\xffq\r\n",
        b"MULTI\r\n*1\r\n$2\r\n\xff\xfe\r\nEXEC\r\n",
    ];
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let a = exchange(ours.port, case);
            let b = exchange(real.port, case);
            (a != b).then(|| {
                format!(
                    "input {:?}\n  ours: {:?} closed={}\n  real: {:?} closed={}",
                    String::from_utf8_lossy(case),
                    String::from_utf8_lossy(&a.0),
                    a.1,
                    String::from_utf8_lossy(&b.0),
                    b.1
                )
            })
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Everything a server sends back for `bytes` on a fresh connection, until it closes the
/// connection or stays quiet for a moment (it may be waiting for more input).
fn exchange(port: u16, bytes: &[u8]) -> (Vec<u8>, bool) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(bytes).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_millis(300)))
        .unwrap();
    let mut out = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        match s.read(&mut chunk) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(_) => return (out, false),
        }
    }
}

#[test]
fn protocol_errors_match_redis() {
    let (ours, real) = start_pair(21414, 22014);
    let big_inline = vec![b'a'; 70 * 1024];
    let big_count = {
        let mut v = b"*".to_vec();
        v.extend(std::iter::repeat_n(b'1', 70 * 1024));
        v
    };
    let cases: Vec<Vec<u8>> = vec![
        b"*1\r\n$x\r\n".to_vec(),
        b"PING\r\n*1\r\n$-5\r\n".to_vec(),
        b"*abc\r\n".to_vec(),
        b"*-1\r\nPING\r\n".to_vec(),
        b"*0\r\nPING\r\n".to_vec(),
        b"*2\r\n$3\r\nGET\r\n:1\r\n".to_vec(),
        b"*3000000000\r\n".to_vec(),
        b"*1\r\n$536870913\r\n".to_vec(),
        b"SET a \"b\r\n".to_vec(),
        b"SET a \"b\"c\r\n".to_vec(),
        b"SET a 'it''s'\r\nGET a\r\n".to_vec(),
        b"ECHO \"\\x41\\n\"\r\n".to_vec(),
        b"\r\n\r\nPING\r\n".to_vec(),
        b"  PING  \r\n".to_vec(),
        b"PING\nPING\n".to_vec(),
        big_inline,
        big_count,
    ];
    let mut failures = Vec::new();
    for case in &cases {
        let a = exchange(ours.port, case);
        let b = exchange(real.port, case);
        if a != b {
            failures.push(format!(
                "input {:?}\n  ours: {:?} closed={}\n  real: {:?} closed={}",
                String::from_utf8_lossy(&case[..case.len().min(60)]),
                String::from_utf8_lossy(&a.0),
                a.1,
                String::from_utf8_lossy(&b.0),
                b.1
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
