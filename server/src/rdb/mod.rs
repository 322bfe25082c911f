//! RDB version 10 (redis-server 7.0): the file format, DUMP/RESTORE payloads, snapshots and
//! the persistence state (SAVE, BGSAVE, the `save` schedule, loading at start).
//!
//! - [`encode`] writes values in the encodings 7.0.15 saves (strings as integers, LZF or
//!   plain; lists as QUICKLIST_2 of listpack nodes; small hashes/zsets as their listpack
//!   bytes; intsets as their bytes; hash/set tables; skip lists as ZSET_2).
//! - [`decode`] reads every encoding 7.0 reads (ziplists, zipmaps, QUICKLIST v1, old
//!   string-scored ZSET, linked LIST included), checking each length against the bytes that
//!   are left and validating compact blobs completely before keeping them.
//! - [`load`] reads a whole file into a node; [`snapshot`] writes a point-in-time snapshot
//!   while clients keep running (see its module doc for how).
//!
//! Public entry points for other parts of the server: [`dump_payload`] /
//! [`restore_payload`] (DUMP, RESTORE, MIGRATE), [`load::load_into`] (startup, a replica's
//! full sync), [`snapshot::start`] (BGSAVE, a master's full sync), [`Persistence`] (INFO,
//! LASTSAVE, the schedule).

pub mod crc64;
pub mod decode;
pub mod encode;
pub mod load;
pub mod lzf;
mod persistence;
pub mod snapshot;
mod ziplist;

pub use decode::RdbValue;
pub use encode::WriteOpts;
pub use load::{load_into, LoadOpts, LoadStats};
pub use persistence::{BgsaveRefused, Persistence};
pub use snapshot::{ReplAux, SnapshotStats};

use crate::keyspace::{Entry, StrEncoding, Value};
use crate::types::Thresholds;

/// The RDB format version written (redis-server 7.0).
pub const RDB_VERSION: u16 = 10;

/// Record opcodes.
pub mod opcode {
    /// Functions (7.0 GA form).
    pub const FUNCTION2: u8 = 245;
    /// Functions (7.0 release-candidate form).
    pub const FUNCTION: u8 = 246;
    /// Module auxiliary data.
    pub const MODULE_AUX: u8 = 247;
    /// LRU idle time of the next key.
    pub const IDLE: u8 = 248;
    /// LFU frequency of the next key.
    pub const FREQ: u8 = 249;
    /// An auxiliary field.
    pub const AUX: u8 = 250;
    /// Database and expires table sizes.
    pub const RESIZEDB: u8 = 251;
    /// Expiry of the next key in milliseconds.
    pub const EXPIRETIME_MS: u8 = 252;
    /// Expiry of the next key in seconds (old files).
    pub const EXPIRETIME: u8 = 253;
    /// Switch database.
    pub const SELECTDB: u8 = 254;
    /// End of the file (the checksum follows).
    pub const EOF: u8 = 255;
}

/// Value types.
pub mod rtype {
    /// String.
    pub const STRING: u8 = 0;
    /// List as a linked list of strings (old).
    pub const LIST: u8 = 1;
    /// Set as a table of strings.
    pub const SET: u8 = 2;
    /// Sorted set with text scores (old).
    pub const ZSET: u8 = 3;
    /// Hash as a table of strings.
    pub const HASH: u8 = 4;
    /// Sorted set with binary scores.
    pub const ZSET_2: u8 = 5;
    /// Module value (pre-GA form).
    pub const MODULE: u8 = 6;
    /// Module value.
    pub const MODULE_2: u8 = 7;
    /// Hash as a zipmap (Redis 2.4 and before).
    pub const HASH_ZIPMAP: u8 = 9;
    /// List as one ziplist (before 3.2).
    pub const LIST_ZIPLIST: u8 = 10;
    /// Set as an intset.
    pub const SET_INTSET: u8 = 11;
    /// Sorted set as a ziplist (before 7.0).
    pub const ZSET_ZIPLIST: u8 = 12;
    /// Hash as a ziplist (before 7.0).
    pub const HASH_ZIPLIST: u8 = 13;
    /// List as a quicklist of ziplists (3.2 to 6.2).
    pub const LIST_QUICKLIST: u8 = 14;
    /// Stream.
    pub const STREAM_LISTPACKS: u8 = 15;
    /// Hash as a listpack.
    pub const HASH_LISTPACK: u8 = 16;
    /// Sorted set as a listpack.
    pub const ZSET_LISTPACK: u8 = 17;
    /// List as a quicklist of listpack or plain nodes (7.0).
    pub const LIST_QUICKLIST_2: u8 = 18;
    /// Stream (7.0 form).
    pub const STREAM_LISTPACKS_2: u8 = 19;
}

/// Why RDB bytes could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RdbError {
    /// The bytes end before the data does (Redis: a short read).
    #[error("Unexpected EOF reading RDB file")]
    Truncated,
    /// The bytes are malformed; the text says how (Redis's wording where it has one).
    #[error("{0}")]
    Corrupt(String),
    /// A collection with no elements (Redis skips such keys when loading a file).
    #[error("Empty keys are not allowed")]
    EmptyKey,
    /// The file does not start with `REDIS`.
    #[error("Wrong signature trying to load DB from file")]
    Signature,
    /// A format version this server cannot read.
    #[error("Can't handle RDB format version {0}")]
    Version(u32),
    /// The CRC-64 at the end does not match the contents.
    #[error("Wrong RDB checksum expected: ({expected:x}) but got ({got:x}). Aborting now.")]
    Checksum {
        /// Computed over the contents.
        expected: u64,
        /// Stored in the file.
        got: u64,
    },
    /// A DUMP payload's version or checksum is wrong.
    #[error("DUMP payload version or checksum are wrong")]
    Payload,
    /// Something this server does not hold (modules, streams, functions).
    #[error("RDB contains {0}, which this server cannot load")]
    Unsupported(&'static str),
    /// The file holds a database index this server does not have.
    #[error(
        "Data file was created with a Redis server configured to handle more than {0} databases."
    )]
    TooManyDbs(usize),
    /// The same key twice in one database.
    #[error("RDB has duplicated key '{key}' in DB {db}")]
    DuplicateKey {
        /// The key, lossily as text.
        key: String,
        /// The database.
        db: usize,
    },
    /// Reading or writing the file failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl RdbError {
    pub(crate) fn corrupt(s: impl Into<String>) -> RdbError {
        RdbError::Corrupt(s.into())
    }
}

impl RdbValue {
    /// The keyspace entry for `key` (strings encoded as Redis's tryObjectEncoding would).
    pub fn into_entry(self, key: &[u8], lru: u32) -> Entry {
        match self {
            RdbValue::Str(s) => Entry::new_str(key, &s, StrEncoding::Auto, lru),
            RdbValue::Obj(o) => Entry::new_obj(key, o, lru),
        }
    }
}

/// DUMP's payload of a value: RDB type, value, RDB version (2 bytes LE), CRC-64 (8 bytes LE).
pub fn dump_payload(value: Value<'_>, opts: WriteOpts) -> Vec<u8> {
    let mut out = Vec::new();
    out.push(encode::value_type(value));
    encode::write_value(&mut out, value, opts);
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64::crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Checks a DUMP payload's footer (verifyDumpPayload): at least 10 bytes, a version this
/// server reads, and (unless `check_crc` is false) a matching CRC-64.
pub fn verify_payload(p: &[u8], check_crc: bool) -> Result<(), RdbError> {
    if p.len() < 10 {
        return Err(RdbError::Payload);
    }
    let footer = &p[p.len() - 10..];
    let ver = u16::from_le_bytes([footer[0], footer[1]]);
    if ver > RDB_VERSION {
        return Err(RdbError::Payload);
    }
    if check_crc {
        let crc = crc64::crc64(0, &p[..p.len() - 8]);
        if crc.to_le_bytes() != footer[2..] {
            return Err(RdbError::Payload);
        }
    }
    Ok(())
}

/// RESTORE's reading of a payload: the footer is verified, then the value is read with the
/// conversions `th` asks for. [`RdbError::Payload`] maps to RESTORE's version/checksum
/// error, anything else to `Bad data format`.
pub fn restore_payload(p: &[u8], th: &Thresholds) -> Result<RdbValue, RdbError> {
    verify_payload(p, true)?;
    let mut r = decode::Reader::new(p);
    let t = r.u8()?;
    decode::read_object(&mut r, t, th)
}

#[cfg(test)]
mod tests;
