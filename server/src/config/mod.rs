//! The node's configuration: redis.conf grammar, command-line directives, CONFIG GET/SET/REWRITE.
//!
//! Interface shared by the config owner and the network/command owner. Field names follow the
//! redis.conf directive names.

/// The typed settings the node runs with. Defaults are redis-server 7.0's.
#[derive(Debug, Clone)]
pub struct Config {
    /// `port`: client TCP port (0 = no TCP listener).
    pub port: u16,
    /// `bind`: addresses to listen on.
    pub bind: Vec<String>,
    /// `protected-mode`.
    pub protected_mode: bool,
    /// `requirepass`: the default user's password, if any.
    pub requirepass: Option<Vec<u8>>,
    /// `timeout`: idle client timeout in seconds (0 = never).
    pub timeout: u64,
    /// `tcp-keepalive` in seconds.
    pub tcp_keepalive: u64,
    /// `tcp-backlog`.
    pub tcp_backlog: u32,
    /// `maxclients`.
    pub maxclients: u32,
    /// `databases` (cluster mode allows only db 0 whatever this says).
    pub databases: u32,
    /// `hz`: frequency of the background cycle (active expiry and friends).
    pub hz: u32,
    /// `proto-max-bulk-len` in bytes.
    pub proto_max_bulk_len: u64,
    /// `cluster-enabled`.
    pub cluster_enabled: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 6379,
            bind: vec!["*".to_owned(), "-::*".to_owned()],
            protected_mode: true,
            requirepass: None,
            timeout: 0,
            tcp_keepalive: 300,
            tcp_backlog: 511,
            maxclients: 10000,
            databases: 16,
            hz: 10,
            proto_max_bulk_len: 512 * 1024 * 1024,
            cluster_enabled: false,
        }
    }
}
