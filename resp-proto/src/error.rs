//! Error values of both decoders.

use bytes::{BufMut, BytesMut};

/// A request Redis 7.0.15 refuses at the protocol level.
///
/// `Display` is the exact text Redis puts after `-ERR ` (checked byte for byte against
/// redis-server 7.0.15). Prefer [`ProtocolError::write_reply`], which also gets the one case
/// `Display` cannot (a non-ASCII byte in "expected '$', got 'X'", which Redis sends raw).
///
/// Every protocol error closes the connection, as Redis does: the server first writes the
/// replies of the commands that came before the bad one in the same read (they were already
/// decoded and run), then this error, flushes, and closes. Nothing after the bad bytes is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// `*N` where N is not a valid integer or is above [`crate::Limits::max_multibulk_len`].
    #[error("Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    /// `*N` with N > 10 before AUTH, when a password is required.
    #[error("Protocol error: unauthenticated multibulk length")]
    UnauthenticatedMultibulkLength,
    /// An argument did not start with `$`; carries the byte found. Redis replaces a CR or LF
    /// there by a space, like every formatted error.
    #[error("Protocol error: expected '$', got '{}'", char::from(shown_byte(*.0)))]
    ExpectedDollar(u8),
    /// `$N` where N is not a valid integer, is negative, or is above
    /// [`crate::Limits::max_bulk_len`].
    #[error("Protocol error: invalid bulk length")]
    InvalidBulkLength,
    /// `$N` with N > 16384 before AUTH, when a password is required.
    #[error("Protocol error: unauthenticated bulk length")]
    UnauthenticatedBulkLength,
    /// More than [`crate::Limits::max_inline_len`] bytes of inline request without a newline.
    #[error("Protocol error: too big inline request")]
    TooBigInlineRequest,
    /// An inline request that `sdssplitargs` rejects: an unclosed quote, or a closing quote
    /// followed by something other than a space.
    #[error("Protocol error: unbalanced quotes in request")]
    UnbalancedQuotes,
    /// More than [`crate::Limits::max_inline_len`] bytes after `*` without a `\r`.
    #[error("Protocol error: too big mbulk count string")]
    TooBigMbulkCountString,
    /// More than [`crate::Limits::max_inline_len`] bytes at an argument header without a `\r`.
    #[error("Protocol error: too big bulk count string")]
    TooBigBulkCountString,
}

/// Redis's addReplyErrorFormat turns CR and LF into spaces.
fn shown_byte(b: u8) -> u8 {
    if b == b'\r' || b == b'\n' {
        b' '
    } else {
        b
    }
}

impl ProtocolError {
    /// Always true: Redis closes the connection after any protocol error (once the replies
    /// before it are flushed).
    pub fn closes_connection(&self) -> bool {
        true
    }

    /// Appends the exact reply Redis sends, `-ERR <text>\r\n`.
    pub fn write_reply(&self, out: &mut BytesMut) {
        out.put_slice(b"-ERR ");
        match self {
            ProtocolError::ExpectedDollar(b) => {
                out.put_slice(b"Protocol error: expected '$', got '");
                out.put_u8(shown_byte(*b));
                out.put_slice(b"'");
            }
            other => out.put_slice(other.to_string().as_bytes()),
        }
        out.put_slice(b"\r\n");
    }
}

/// Why a reply (client-side) stream cannot be decoded. The connection is unusable after it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The first byte of a frame is not a RESP2/RESP3 type byte (streamed types `$?`, `*?` ...
    /// are not supported: Redis 7.0 never sends them).
    #[error("unknown RESP type byte {0:#04x}")]
    UnknownType(u8),
    /// A length or count is not a decimal integer, or is negative where only -1 is allowed.
    #[error("invalid length")]
    InvalidLength,
    /// `:` line is not a 64-bit integer.
    #[error("invalid integer")]
    InvalidInteger,
    /// `,` line is not a double.
    #[error("invalid double")]
    InvalidDouble,
    /// `#` line is not `t` or `f`.
    #[error("invalid boolean")]
    InvalidBoolean,
    /// `_` line is not empty.
    #[error("invalid null")]
    InvalidNull,
    /// `(` line is not an optionally signed run of digits.
    #[error("invalid big number")]
    InvalidBigNumber,
    /// `=` payload is shorter than 4 bytes or has no `:` after the format.
    #[error("invalid verbatim string")]
    InvalidVerbatim,
    /// A bulk payload is not followed by `\r\n`.
    #[error("bulk payload not terminated by CRLF")]
    MissingCrlf,
    /// A bulk length above [`crate::Limits::max_bulk_len`].
    #[error("bulk length {len} above limit {max}")]
    BulkTooLong {
        /// Declared length.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// An aggregate count above [`crate::Limits::max_multibulk_len`].
    #[error("aggregate of {len} elements above limit {max}")]
    TooManyElements {
        /// Declared count.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// Aggregates nested deeper than [`crate::Limits::max_depth`].
    #[error("nesting deeper than {max}")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// A line longer than [`crate::Limits::max_inline_len`] without `\r\n`.
    #[error("line longer than {max} bytes")]
    LineTooLong {
        /// The limit.
        max: usize,
    },
    /// Reading from the transport failed (codec use).
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// Errors of the server-side [`crate::codec::CommandCodec`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommandCodecError {
    /// The client broke the protocol: reply with [`ProtocolError::write_reply`], then close.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// Reading from or writing to the socket failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}
