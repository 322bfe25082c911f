//! Arbitrary command sequences through the dispatcher of an in-process node, as one
//! client's pipeline (one command per line, arguments split on spaces): every command must
//! answer or close the connection, never panic, hang or allocate without bound.
//!
//! Commands that reach outside the process or stop it are renamed away (SHUTDOWN, CONFIG,
//! DEBUG, REPLICAOF, SLAVEOF, FAILOVER, MIGRATE, SAVE, BGSAVE, BGREWRITEAOF, CLIENT, SYNC,
//! PSYNC); `proto-max-bulk-len` is 1 MB so that a string can grow only so far. The
//! keyspace is flushed between inputs.
#![no_main]

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use resp_proto::ReplyWriter;
use server::commands::{disconnect, process, After, Clock, Session};
use server::config::{ConfigStore, ObufLimit};
use server::net::ClientHandle;
use server::node::Node;
use tokio_util::sync::CancellationToken;

const CONF: &str = "databases 4
proto-max-bulk-len 1mb
hash-max-listpack-entries 4
zset-max-listpack-entries 4
set-max-intset-entries 4
list-max-listpack-size 4
rename-command SHUTDOWN \"\"
rename-command CONFIG \"\"
rename-command DEBUG \"\"
rename-command REPLICAOF \"\"
rename-command SLAVEOF \"\"
rename-command FAILOVER \"\"
rename-command MIGRATE \"\"
rename-command SAVE \"\"
rename-command BGSAVE \"\"
rename-command BGREWRITEAOF \"\"
rename-command CLIENT \"\"
rename-command SYNC \"\"
rename-command PSYNC \"\"
";

struct World {
    node: Arc<Node>,
    rt: tokio::runtime::Runtime,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let store = ConfigStore::from_conf_text(CONF).unwrap_or_else(|_| std::process::abort());
        let node = Arc::new(Node::new(Arc::new(store)));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|_| std::process::abort());
        World { node, rt }
    })
}

fn session(node: &Node) -> Session {
    let addr = SocketAddr::from(([127, 0, 0, 1], 40000));
    let handle = ClientHandle::new(
        node.clients.next_id(),
        addr,
        addr,
        -1,
        ObufLimit::default(),
        CancellationToken::new(),
    );
    Session::new(Arc::new(handle), true)
}

fn run(node: &Node, sess: &mut Session, out: &mut BytesMut, args: &[&[u8]]) -> After {
    let mut args: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
    let mut clock = Clock::new();
    let proto = sess.proto;
    let mut w = ReplyWriter::new(out, proto);
    process(node, sess, &mut w, &mut args, &mut clock)
}

fuzz_target!(|data: &[u8]| {
    let w = world();
    // Tasks a command spawns (blocking timeouts, pub/sub delivery) are never run.
    let _rt = w.rt.enter();
    let node = &w.node;
    let mut sess = session(node);
    let mut out = BytesMut::new();
    for line in data.split(|&b| b == b'\n').take(32) {
        let args: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
        let after = run(node, &mut sess, &mut out, &args);
        if after == After::Close || sess.blocked.is_some() {
            break;
        }
        // Every command that neither blocked nor closed answers (CLIENT REPLY, which
        // could silence it, is renamed away).
        assert!(!out.is_empty(), "no reply to {args:?}");
        out.clear();
    }
    disconnect(node, &mut sess);
    let mut admin = session(node);
    run(node, &mut admin, &mut out, &[b"FLUSHALL"]);
    disconnect(node, &mut admin);
});
