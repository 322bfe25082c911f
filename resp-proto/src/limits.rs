//! Limits on what a peer may make us parse or allocate.

/// What a peer may declare. `Default` gives redis-server 7.0.15's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest bulk string (`proto-max-bulk-len`, 512 MB by default, configurable).
    pub max_bulk_len: u64,
    /// Largest element count of an aggregate. Redis 7.0 refuses a request `*N` with
    /// N > `INT_MAX` ("invalid multibulk length"); the 1024*1024 of older Redis is gone.
    pub max_multibulk_len: u64,
    /// Longest line without a terminator (PROTO_INLINE_MAX_SIZE, 64 KB): inline requests and the
    /// `*N` / `$N` count lines.
    pub max_inline_len: usize,
    /// Deepest nesting of aggregates the reply decoder accepts (requests are never nested).
    pub max_depth: usize,
}

/// `proto-max-bulk-len` default.
pub const DEFAULT_MAX_BULK_LEN: u64 = 512 * 1024 * 1024;
/// Redis 7.0's request element-count ceiling (`INT_MAX`).
pub const DEFAULT_MAX_MULTIBULK_LEN: u64 = i32::MAX as u64;
/// PROTO_INLINE_MAX_SIZE.
pub const DEFAULT_MAX_INLINE_LEN: usize = 64 * 1024;
/// Reply nesting depth; Redis's own deepest replies (COMMAND DOCS) nest about 7 levels.
pub const DEFAULT_MAX_DEPTH: usize = 128;
/// Before AUTH (when a password is required) Redis 7.0 refuses `*N` with N above this.
pub const UNAUTHENTICATED_MAX_MULTIBULK_LEN: u64 = 10;
/// Before AUTH (when a password is required) Redis 7.0 refuses `$N` with N above this.
pub const UNAUTHENTICATED_MAX_BULK_LEN: u64 = 16384;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: DEFAULT_MAX_BULK_LEN,
            max_multibulk_len: DEFAULT_MAX_MULTIBULK_LEN,
            max_inline_len: DEFAULT_MAX_INLINE_LEN,
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }
}
