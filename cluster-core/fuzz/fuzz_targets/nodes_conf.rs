//! nodes.conf from anywhere: never a panic; what parses re-serialises to a file that
//! parses to the same model; what loads saves a file that loads again.
#![no_main]

use cluster_core::nodes_conf::NodesConf;
use cluster_core::{Cluster, Config};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(conf) = NodesConf::parse(data) else {
        return;
    };
    let again = NodesConf::parse(&conf.to_bytes());
    assert_eq!(again.as_ref(), Ok(&conf));
    if let Ok(c) = Cluster::load(Config::new(7000), data, 1, 1_800_000_000_000) {
        let saved = c.nodes_conf_bytes();
        assert!(Cluster::load(Config::new(7000), &saved, 1, 1_800_000_000_000).is_ok());
    }
});
