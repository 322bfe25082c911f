//! The frame model: every RESP2 and RESP3 type Redis 7.0 sends or accepts.

use bytes::Bytes;

/// Which protocol a connection speaks (`HELLO 2` / `HELLO 3`). Decides how RESP3-only
/// replies are written: see [`crate::ReplyWriter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Protocol {
    /// RESP2, what every connection starts with.
    #[default]
    Resp2,
    /// RESP3, after `HELLO 3`.
    Resp3,
}

/// One RESP value. Payloads are [`Bytes`] sliced from the read buffer, never copied.
///
/// Equality compares doubles by their bits, so `Double(NaN) == Double(NaN)` and
/// `Double(0.0) != Double(-0.0)`: two frames are equal when they are written the same way.
#[derive(Debug, Clone)]
pub enum Frame {
    /// `+text` (status reply). The text must not contain `\r\n`.
    SimpleString(Bytes),
    /// `-CODE text`: the code (`ERR`, `WRONGTYPE`, ...) is part of the payload.
    Error(Bytes),
    /// `:n`.
    Integer(i64),
    /// `$len` then the payload.
    Bulk(Bytes),
    /// RESP2 `$-1` (RESP3 writes it as `_`).
    NullBulk,
    /// RESP2 `*-1` (RESP3 writes it as `_`).
    NullArray,
    /// `*n` then n frames.
    Array(Vec<Frame>),
    /// RESP3 `_`.
    Null,
    /// RESP3 `#t` / `#f`.
    Boolean(bool),
    /// RESP3 `,` (written as Redis 7.0 does: `%.17g`, `inf`, `-inf`).
    Double(f64),
    /// RESP3 `(` followed by the decimal digits.
    BigNumber(Bytes),
    /// RESP3 `!len`: an error that may contain any byte.
    BulkError(Bytes),
    /// RESP3 `=len` with a three-letter format (`txt`, `mkd`) and the text.
    Verbatim {
        /// `txt` or `mkd`.
        format: [u8; 3],
        /// The text after `fmt:`.
        data: Bytes,
    },
    /// RESP3 `%n`: n key/value pairs, in the order received.
    Map(Vec<(Frame, Frame)>),
    /// RESP3 `~n`.
    Set(Vec<Frame>),
    /// RESP3 `|n`: n pairs of out-of-band attributes, then the frame they describe.
    Attribute {
        /// The attribute pairs.
        attrs: Vec<(Frame, Frame)>,
        /// The reply the attributes belong to.
        data: Box<Frame>,
    },
    /// RESP3 `>n`: an out-of-band message (pub/sub, invalidation).
    Push(Vec<Frame>),
}

impl PartialEq for Frame {
    fn eq(&self, other: &Self) -> bool {
        use Frame::*;
        match (self, other) {
            (SimpleString(a), SimpleString(b))
            | (Error(a), Error(b))
            | (Bulk(a), Bulk(b))
            | (BigNumber(a), BigNumber(b))
            | (BulkError(a), BulkError(b)) => a == b,
            (Integer(a), Integer(b)) => a == b,
            (NullBulk, NullBulk) | (NullArray, NullArray) | (Null, Null) => true,
            (Array(a), Array(b)) | (Set(a), Set(b)) | (Push(a), Push(b)) => a == b,
            (Boolean(a), Boolean(b)) => a == b,
            (Double(a), Double(b)) => a.to_bits() == b.to_bits(),
            (
                Verbatim {
                    format: fa,
                    data: da,
                },
                Verbatim {
                    format: fb,
                    data: db,
                },
            ) => fa == fb && da == db,
            (Map(a), Map(b)) => a == b,
            (
                Attribute {
                    attrs: aa,
                    data: da,
                },
                Attribute {
                    attrs: ab,
                    data: db,
                },
            ) => aa == ab && da == db,
            _ => false,
        }
    }
}

impl Frame {
    /// True when RESP2 can carry this frame unchanged, so a RESP2 encode then decode gives it
    /// back exactly. RESP3-only types are downgraded on the way out (see [`crate::ReplyWriter`]).
    pub fn is_resp2(&self) -> bool {
        match self {
            Frame::SimpleString(_)
            | Frame::Error(_)
            | Frame::Integer(_)
            | Frame::Bulk(_)
            | Frame::NullBulk
            | Frame::NullArray => true,
            Frame::Array(items) => items.iter().all(Frame::is_resp2),
            _ => false,
        }
    }
}
