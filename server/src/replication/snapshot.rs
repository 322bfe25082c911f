//! The RDB side of a full resync, through `crate::rdb`: a point-in-time snapshot for a
//! replica (master side) and loading the master's RDB (replica side).

use std::sync::Arc;

use crate::node::Node;
use crate::rdb::snapshot::ReplAux;
use crate::rdb::LoadOpts;

/// Produces the RDB of the whole keyspace. `on_start` runs in the snapshot's instant (the
/// keyspace's exclusive world moment) and returns the replication id, offset and stream
/// database recorded there (written as the RDB's `repl-*` aux fields).
pub fn produce(
    node: &Arc<Node>,
    on_start: Box<dyn FnOnce() -> Option<ReplAux> + Send>,
) -> Result<Vec<u8>, String> {
    crate::rdb::snapshot::to_vec(node, on_start)
        .map(|(bytes, _)| bytes)
        .map_err(|e| e.to_string())
}

/// Replaces every database with the contents of `rdb` (clients wait meanwhile, as they
/// would for Redis's blocking load).
pub fn load(node: &Arc<Node>, rdb: &[u8]) -> Result<(), String> {
    let _world = node.keyspace.world.write();
    let now = crate::keyspace::now_ms();
    for db in node.keyspace.dbs() {
        db.clear(now);
    }
    let check_crc = node
        .config
        .get_text("rdbchecksum")
        .is_none_or(|v| v == b"yes");
    crate::rdb::load_into(
        node,
        rdb,
        LoadOpts {
            skip_expired: false,
            check_crc,
        },
    )
    .map(|stats| {
        tracing::info!(
            "Done loading RDB, keys loaded: {}, keys expired: {}.",
            stats.keys_loaded,
            stats.keys_expired
        );
    })
    .map_err(|e| e.to_string())
}
