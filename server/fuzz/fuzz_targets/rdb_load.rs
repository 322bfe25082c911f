//! Arbitrary bytes as a whole RDB file: loading must fail cleanly or succeed, never panic,
//! hang or allocate without bound. The checksum is not verified so the fuzzer can reach
//! past the footer gate; the node is flushed between inputs.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use server::config::ConfigStore;
use server::node::Node;
use server::rdb::{load_into, LoadOpts};

fn node() -> &'static Arc<Node> {
    static NODE: OnceLock<Arc<Node>> = OnceLock::new();
    NODE.get_or_init(|| {
        let store = ConfigStore::from_conf_text("databases 16\nhash-max-listpack-entries 4\nzset-max-listpack-entries 4\nset-max-intset-entries 4\n")
            .unwrap_or_else(|_| std::process::abort());
        Arc::new(Node::new(Arc::new(store)))
    })
}

fuzz_target!(|data: &[u8]| {
    let n = node();
    let mut bytes = b"REDIS0010".to_vec();
    bytes.extend_from_slice(data);
    let _ = load_into(
        n,
        &bytes,
        LoadOpts {
            skip_expired: false,
            check_crc: false,
        },
    );
    let _ = load_into(
        n,
        data,
        LoadOpts {
            skip_expired: true,
            check_crc: false,
        },
    );
    for db in n.keyspace.dbs() {
        db.clear(0);
    }
});
