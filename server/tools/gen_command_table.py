#!/usr/bin/env python3
"""Captures COMMAND INFO / COMMAND DOCS from a real redis-server 7.0 and writes the
command table data (server/src/commands/table_data.rs).

Usage: gen_command_table.py PORT   (a redis-server 7.0.15 listening on 127.0.0.1:PORT)

Only the commands and subcommands listed in IMPLEMENTED are kept, so COMMAND output
never advertises something the node does not serve. Subcommands are sorted by name
(redis-server lists them in its randomly seeded dict order), so a capture is
reproducible. CLUSTER is captured whole (PARSED_BY_HANDLER): its subcommands stay in
the COMMAND INFO / DOCS bytes but get no table entries, because
cluster_core::Request::parse gives Redis's exact subcommand errors. Capture from a
cluster-enabled redis-server (`--cluster-enabled yes`): CLUSTER, ASKING, READONLY and
READWRITE are cluster-mode commands. Replies are parsed into a typed
tree and re-encoded; the encoder is checked against the raw bytes of every unfiltered
reply, so the committed bytes are exactly what redis-server sends.
"""
import socket
import sys

# Marker: keep every subcommand in the captured bytes, none in the table.
PARSED_BY_HANDLER = "parsed-by-handler"

IMPLEMENTED = {
    # strings
    "get": None, "set": None, "setnx": None, "setex": None, "psetex": None,
    "getset": None, "getdel": None, "getex": None, "mget": None, "mset": None,
    "msetnx": None, "incr": None, "decr": None, "incrby": None, "decrby": None,
    "incrbyfloat": None, "append": None, "strlen": None, "getrange": None,
    "setrange": None, "substr": None, "lcs": None,
    # server
    "monitor": None,
    # bitmaps
    "setbit": None, "getbit": None, "bitcount": None, "bitpos": None, "bitop": None,
    "bitfield": None, "bitfield_ro": None,
    # keys
    "del": None, "unlink": None, "exists": None, "type": None, "rename": None,
    "renamenx": None, "copy": None, "expire": None, "pexpire": None,
    "expireat": None, "pexpireat": None, "ttl": None, "pttl": None,
    "expiretime": None, "pexpiretime": None, "persist": None, "touch": None,
    "keys": None, "scan": None, "randomkey": None, "dbsize": None, "move": None,
    "flushall": None, "flushdb": None,
    "object": ["encoding", "refcount", "idletime", "freq", "help"],
    # hashes
    "hset": None, "hsetnx": None, "hget": None, "hmset": None, "hmget": None,
    "hdel": None, "hlen": None, "hstrlen": None, "hexists": None, "hkeys": None,
    "hvals": None, "hgetall": None, "hincrby": None, "hincrbyfloat": None,
    "hrandfield": None, "hscan": None,
    # sets
    "sadd": None, "srem": None, "smembers": None, "sismember": None,
    "smismember": None, "scard": None, "spop": None, "srandmember": None,
    "smove": None, "sinter": None, "sintercard": None, "sinterstore": None,
    "sunion": None, "sunionstore": None, "sdiff": None, "sdiffstore": None,
    "sscan": None,
    # sorted sets
    "zadd": None, "zincrby": None, "zrem": None, "zcard": None, "zcount": None,
    "zlexcount": None, "zscore": None, "zmscore": None, "zrank": None,
    "zrevrank": None, "zrange": None, "zrangestore": None, "zrangebyscore": None,
    "zrevrangebyscore": None, "zrangebylex": None, "zrevrangebylex": None,
    "zrevrange": None, "zremrangebyrank": None, "zremrangebyscore": None,
    "zremrangebylex": None, "zpopmin": None, "zpopmax": None, "zmpop": None,
    "zunion": None, "zinter": None, "zdiff": None, "zunionstore": None,
    "zinterstore": None, "zdiffstore": None, "zintercard": None,
    "zrandmember": None, "zscan": None,
    # lists
    "lpush": None, "rpush": None, "lpushx": None, "rpushx": None, "lpop": None,
    "rpop": None, "llen": None, "lrange": None, "lindex": None, "lset": None,
    "linsert": None, "lrem": None, "ltrim": None, "lpos": None, "lmove": None,
    "rpoplpush": None, "lmpop": None,
    # blocking pops
    "blpop": None, "brpop": None, "blmove": None, "brpoplpush": None,
    "blmpop": None, "bzpopmin": None, "bzpopmax": None, "bzmpop": None,
    # transactions
    "multi": None, "exec": None, "discard": None, "watch": None, "unwatch": None,
    # pub/sub
    "subscribe": None, "unsubscribe": None, "psubscribe": None,
    "punsubscribe": None, "publish": None,
    "ssubscribe": None, "sunsubscribe": None, "spublish": None,
    "pubsub": ["channels", "numsub", "numpat", "shardchannels", "shardnumsub",
               "help"],
    # cluster
    "cluster": PARSED_BY_HANDLER, "asking": None, "readonly": None,
    "readwrite": None, "migrate": None, "restore-asking": None,
    # server
    "ping": None, "echo": None, "time": None, "lastsave": None, "info": None,
    "command": ["count", "info", "docs", "list", "getkeys", "help"],
    "debug": None, "memory": ["usage", "help"],
    "slowlog": ["get", "len", "reset", "help"],
    "latency": ["latest", "history", "reset", "graph", "doctor", "histogram",
                "help"],
    "swapdb": None,
    "config": ["get", "set", "resetstat", "rewrite", "help"],
    # persistence
    "dump": None, "restore": None, "save": None, "bgsave": None,
    # replication
    "replicaof": None, "slaveof": None, "replconf": None, "psync": None,
    "sync": None, "wait": None, "role": None,
    # connection
    "auth": None, "hello": None, "quit": None, "reset": None, "select": None,
    "shutdown": None,
    "client": ["id", "setname", "getname", "list", "info", "kill", "no-evict",
               "reply", "unblock", "help"],
}


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def send(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)

    def _fill(self):
        d = self.s.recv(1 << 20)
        if not d:
            raise EOFError
        self.buf += d

    def reply(self):
        """Returns (raw bytes, parsed tree) of one reply."""
        while True:
            try:
                tree, end = parse(self.buf, 0)
                raw, self.buf = self.buf[:end], self.buf[end:]
                return raw, tree
            except IndexError:
                self._fill()

    def call(self, *args):
        self.send(*args)
        return self.reply()


def line(buf, i):
    j = buf.index(b"\r\n", i)
    return buf[i:j], j + 2


def parse(buf, i):
    if i >= len(buf):
        raise IndexError
    t = buf[i:i + 1]
    body, j = line(buf, i + 1)
    if t in (b"+", b"-", b":", b",", b"#", b"(", b"_"):
        return (t, body), j
    if t in (b"$", b"="):
        n = int(body)
        if n < 0:
            return (t, None), j
        if len(buf) < j + n + 2:
            raise IndexError
        return (t, buf[j:j + n]), j + n + 2
    if t in (b"*", b"~", b">", b"%"):
        n = int(body)
        if n < 0:
            return (t, None), j
        count = n * 2 if t == b"%" else n
        items = []
        for _ in range(count):
            item, j = parse(buf, j)
            items.append(item)
        return (t, items), j
    raise ValueError("unknown type %r" % t)


def encode(tree):
    t, v = tree
    if t in (b"+", b"-", b":", b",", b"#", b"(", b"_"):
        return t + v + b"\r\n"
    if t in (b"$", b"="):
        if v is None:
            return t + b"-1\r\n"
        return t + b"%d\r\n" % len(v) + v + b"\r\n"
    if v is None:
        return t + b"-1\r\n"
    n = len(v) // 2 if t == b"%" else len(v)
    return t + b"%d\r\n" % n + b"".join(encode(x) for x in v)


def checked(raw, tree):
    assert encode(tree) == raw, "encoder mismatch"
    return tree


def keeps(subs, name):
    """Whether subcommand `name` (bytes, "cmd|sub") is kept for an IMPLEMENTED value."""
    return subs == PARSED_BY_HANDLER or name.split(b"|", 1)[1].decode() in subs


def filter_info_entry(entry, subs):
    """Keeps the implemented subcommands of a COMMAND INFO entry (element 9), by name."""
    t, items = entry
    if subs is None or len(items) < 10:
        return entry
    st, sub_items = items[9]
    kept = sorted((s for s in sub_items if keeps(subs, s[1][0][1])),
                  key=lambda s: s[1][0][1])
    return (t, items[:9] + [(st, kept)])


def filter_docs(docs, subs):
    """Drops unimplemented subcommands from a COMMAND DOCS value (its 'subcommands' map)."""
    t, items = docs
    if subs is None:
        return docs
    out = []
    for k, v in zip(items[0::2], items[1::2]):
        if k[1] == b"subcommands":
            vt, vitems = v
            kept = []
            pairs = sorted(zip(vitems[0::2], vitems[1::2]), key=lambda p: p[0][1])
            for sk, sv in pairs:
                if keeps(subs, sk[1]):
                    kept += [sk, sv]
            v = (vt, kept)
        out += [k, v]
    return (t, out)


def info_fields(entry):
    items = entry[1]
    name = items[0][1].decode()
    arity = int(items[1][1])
    flags = [f[1].decode() for f in items[2][1]]
    first, last, step = int(items[3][1]), int(items[4][1]), int(items[5][1])
    acl = [a[1].decode() for a in items[6][1]]
    subs = []
    if len(items) >= 10:
        for s in items[9][1]:
            subs.append(info_fields(s))
    return dict(name=name, arity=arity, flags=flags, first=first, last=last,
                step=step, acl=acl, subs=subs)


def rust_bytes(b):
    out = []
    for c in b:
        if c == 0x22:
            out.append('\\"')
        elif c == 0x5c:
            out.append("\\\\")
        elif 0x20 <= c < 0x7f:
            out.append(chr(c))
        elif c == 0x0a:
            out.append("\\n")
        elif c == 0x0d:
            out.append("\\r")
        else:
            out.append("\\x%02x" % c)
    return 'b"' + "".join(out) + '"'


def main():
    port = int(sys.argv[1])
    c2 = Conn(port)
    c3 = Conn(port)
    c3.call("HELLO", "3")
    version = c2.call("INFO", "server")[1][1]
    assert b"redis_version:7.0.15" in version, "need redis-server 7.0.15"
    cluster = c2.call("INFO", "cluster")[1][1]
    assert b"cluster_enabled:1" in cluster, "need a cluster-enabled redis-server"
    rows = []
    for name in sorted(IMPLEMENTED):
        subs = IMPLEMENTED[name]
        parts = []
        fields = None
        for conn in (c2, c3):
            raw, tree = conn.call("COMMAND", "INFO", name)
            checked(raw, tree)
            entry = tree[1][0]
            assert entry[1] is not None, "unknown command %s" % name
            entry = filter_info_entry(entry, subs)
            if fields is None:
                fields = info_fields(entry)
            parts.append(encode(entry))
            raw, tree = conn.call("COMMAND", "DOCS", name)
            checked(raw, tree)
            docs = filter_docs(tree[1][1], subs)
            parts.append(encode(docs))
        if subs == PARSED_BY_HANDLER:
            fields["subs"] = []
        elif subs is not None:
            got = sorted(s["name"].split("|", 1)[1] for s in fields["subs"])
            assert got == sorted(subs), (name, got, subs)
        rows.append((fields, parts))
    out = []
    out.append("// @generated by server/tools/gen_command_table.py from redis-server 7.0.15.")
    out.append("// Do not edit: regenerate instead.")
    out.append("")
    out.append("use super::table::{CommandData, SubcommandData};")
    out.append("")
    out.append("/// Every command the node serves, sorted by name.")
    out.append("pub static COMMANDS: &[CommandData] = &[")
    for f, parts in rows:
        out.append("    CommandData {")
        out.append('        name: "%s",' % f["name"])
        out.append("        arity: %d," % f["arity"])
        out.append("        flags: &[%s]," % ", ".join('"%s"' % x for x in f["flags"]))
        out.append("        first_key: %d," % f["first"])
        out.append("        last_key: %d," % f["last"])
        out.append("        key_step: %d," % f["step"])
        out.append("        acl: &[%s]," % ", ".join('"%s"' % x for x in f["acl"]))
        out.append("        subcommands: &[")
        for s in f["subs"]:
            out.append(
                '            SubcommandData { name: "%s", arity: %d, flags: &[%s], first_key: %d, last_key: %d, key_step: %d },'
                % (s["name"], s["arity"], ", ".join('"%s"' % x for x in s["flags"]), s["first"], s["last"], s["step"]))
        out.append("        ],")
        out.append("        info_resp2: %s," % rust_bytes(parts[0]))
        out.append("        docs_resp2: %s," % rust_bytes(parts[1]))
        out.append("        info_resp3: %s," % rust_bytes(parts[2]))
        out.append("        docs_resp3: %s," % rust_bytes(parts[3]))
        out.append("    },")
    out.append("];")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
