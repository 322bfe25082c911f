use cluster_core::{Cluster, Config};

use std::sync::OnceLock;

/// Five masters `a`..`e` (we are `a`) and a replica `f` of `e` (loaded once, cloned).
pub fn node() -> Cluster {
    static BASE: OnceLock<Cluster> = OnceLock::new();
    BASE.get_or_init(load).clone()
}

fn load() -> Cluster {
    let mut s = String::new();
    let ranges = ["0-3276", "3277-6553", "6554-9830", "9831-13107", "13108-16383"];
    for (i, c) in ['a', 'b', 'c', 'd', 'e'].iter().enumerate() {
        let flags = if i == 0 { "myself,master" } else { "master" };
        let name: String = std::iter::repeat(*c).take(40).collect();
        s += &format!(
            "{name} 10.0.0.{}:{}@{} {flags} - 0 0 {} connected {}\n",
            i + 1,
            7000 + i,
            17000 + i,
            i + 1,
            ranges[i]
        );
    }
    let f: String = std::iter::repeat('f').take(40).collect();
    let e: String = std::iter::repeat('e').take(40).collect();
    s += &format!("{f} 10.0.0.6:7005@17005 slave {e} 0 0 5 connected\n");
    s += "vars currentEpoch 5 lastVoteEpoch 0\n";
    let mut cfg = Config::new(7000);
    cfg.node_timeout = 2000;
    match Cluster::load(cfg, s.as_bytes(), 1, 1_800_000_000_000) {
        Ok(c) => c,
        Err(e) => panic!("fixture: {e}"),
    }
}
