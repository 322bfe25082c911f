//! Decoding, with every check of cluster-bus.md §6.1 in its order.

use bytes::{Buf, Bytes, BytesMut};
use nom::bytes::complete::take;
use nom::combinator::map_opt;
use nom::number::complete::{be_u16, be_u32, be_u64, u8 as nom_u8};
use nom::IResult;

use crate::ext::{Extensions, EXT_HEADER_LEN};
use crate::flags::{ClusterState, MsgFlags, NodeFlags};
use crate::gossip::{Gossip, GOSSIP_LEN};
use crate::message::{
    Body, Header, Message, MessageType, ModuleBody, ModuleId, PingBody, PublishBody, Unused,
    UpdateBody, HEADER_LEN, PROTO_VERSION, SIGNATURE,
};
use crate::name::{NetIp, NodeName, IP_LEN, NAME_LEN};
use crate::slots::{SlotSet, SLOT_BITMAP_LEN};

/// Bytes of the signature plus `totlen`: what must arrive before a frame's size is known.
pub const PREFIX_LEN: usize = 8;
const FAIL_LEN: u64 = HEADER_LEN as u64 + NAME_LEN as u64;
const PUBLISH_FIXED: usize = 8;
const MODULE_FIXED: usize = 13;
const UPDATE_LEN: u64 = (HEADER_LEN + 8 + NAME_LEN + SLOT_BITMAP_LEN) as u64;

/// Limits on what a peer may make us buffer or build. 7.0 has none; these are ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest `totlen` accepted; above it the frame is refused at once (the link must
    /// be closed) before anything is buffered. Bounds PUBLISH and MODULE payloads.
    pub max_frame_len: u32,
    /// Largest gossip `count` accepted in a PING/PONG/MEET.
    pub max_gossip: u16,
    /// Largest number of ping extensions accepted in a PING/PONG/MEET.
    pub max_extensions: u16,
}

impl Default for Limits {
    /// 64 MiB frames, any u16 gossip count (a full one is 6.8 MB and is decoded without
    /// copying), 64 extensions (7.0 sends at most 1, 7.2 a few plus one per forgotten node).
    fn default() -> Self {
        Limits {
            max_frame_len: 64 << 20,
            max_gossip: u16::MAX,
            max_extensions: 64,
        }
    }
}

/// Why a message was refused. [`DecodeError::is_fatal`] tells whether the link must be
/// closed (framing: 7.0 closes it too) or only this message dropped (7.0 ignores it
/// and keeps the link).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The first 4 bytes are not `RCmb`. Fatal.
    #[error("bad signature {0:02x?}")]
    BadSignature([u8; 4]),
    /// `totlen` is below the 2256-byte header. Fatal.
    #[error("totlen {got} below minimum {HEADER_LEN}")]
    TooShort {
        /// The `totlen` field.
        got: u32,
    },
    /// `totlen` is above [`Limits::max_frame_len`]. Fatal.
    #[error("totlen {got} above limit {max}")]
    TooLong {
        /// The `totlen` field.
        got: u32,
        /// The limit.
        max: u32,
    },
    /// [`decode_message`] was given fewer bytes than the frame needs. Fatal.
    #[error("frame incomplete: {have} bytes, need {need}")]
    Incomplete {
        /// Bytes given.
        have: usize,
        /// Bytes needed.
        need: usize,
    },
    /// [`decode_message`] was given more bytes than `totlen`. Fatal.
    #[error("frame of {len} bytes but totlen {totlen}")]
    Trailing {
        /// The `totlen` field.
        totlen: u32,
        /// Bytes given.
        len: usize,
    },
    /// `ver` is not 1 (7.0 ignores the message silently).
    #[error("unsupported version {0}")]
    Version(u16),
    /// Gossip `count` above [`Limits::max_gossip`].
    #[error("gossip count {count} above limit {max}")]
    TooManyGossip {
        /// The `count` field.
        count: u16,
        /// The limit.
        max: u16,
    },
    /// `count` gossip entries do not fit in the bytes after the header.
    #[error("gossip count {count} needs {} bytes, {available} present", usize::from(*.count) * GOSSIP_LEN)]
    GossipOverrun {
        /// The `count` field.
        count: u16,
        /// Bytes after the header.
        available: usize,
    },
    /// `extensions` above [`Limits::max_extensions`].
    #[error("{count} extensions above limit {max}")]
    TooManyExtensions {
        /// The `extensions` field.
        count: u16,
        /// The limit.
        max: u16,
    },
    /// Fewer than 8 bytes left for extension `index`'s header.
    #[error("extension {index}: header needs 8 bytes, {remaining} left")]
    ExtensionTruncated {
        /// Position of the extension (0-based).
        index: u16,
        /// Bytes left in the frame.
        remaining: usize,
    },
    /// Extension length not a multiple of 8 (7.0: "without proper padding").
    #[error("extension {index}: length {length} not a multiple of 8")]
    ExtensionUnaligned {
        /// Position of the extension.
        index: u16,
        /// Its `length` field.
        length: u32,
    },
    /// Extension length below its own 8-byte header (7.0 lets 0 through; we do not).
    #[error("extension {index}: length {length} below 8")]
    ExtensionTooSmall {
        /// Position of the extension.
        index: u16,
        /// Its `length` field.
        length: u32,
    },
    /// Extension runs past `totlen` (7.0: "exceeds total packet length").
    #[error("extension {index}: length {length} exceeds the {remaining} bytes left")]
    ExtensionOverrun {
        /// Position of the extension.
        index: u16,
        /// Its `length` field.
        length: u32,
        /// Bytes left in the frame.
        remaining: usize,
    },
    /// `totlen` is not the length the type requires (7.0: "Received invalid ... packet
    /// of length").
    #[error("{kind:?}: totlen {got}, expected {expected}")]
    WrongLength {
        /// Message type.
        kind: MessageType,
        /// The `totlen` field.
        got: u32,
        /// The length the type and its own length fields require.
        expected: u64,
    },
}

impl DecodeError {
    /// True when the link must be closed: the byte stream can no longer be framed.
    /// Otherwise only this message is dropped, as 7.0 does.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            DecodeError::BadSignature(_)
                | DecodeError::TooShort { .. }
                | DecodeError::TooLong { .. }
                | DecodeError::Incomplete { .. }
                | DecodeError::Trailing { .. }
        )
    }
}

/// Checks 1–2 of §6.1 (plus our size limit) on the first 8 bytes: `Ok(None)` until
/// 8 bytes are present, then the frame's `totlen`.
pub fn frame_len(buf: &[u8], limits: &Limits) -> Result<Option<usize>, DecodeError> {
    let Some(prefix) = buf.get(..PREFIX_LEN) else {
        return Ok(None);
    };
    let sig = [prefix[0], prefix[1], prefix[2], prefix[3]];
    if sig != SIGNATURE {
        return Err(DecodeError::BadSignature(sig));
    }
    let totlen = u32::from_be_bytes([prefix[4], prefix[5], prefix[6], prefix[7]]);
    if (totlen as usize) < HEADER_LEN {
        return Err(DecodeError::TooShort { got: totlen });
    }
    if totlen > limits.max_frame_len {
        return Err(DecodeError::TooLong {
            got: totlen,
            max: limits.max_frame_len,
        });
    }
    Ok(Some(totlen as usize))
}

/// Decode one message from the front of `buf`.
///
/// `Ok(None)`: not enough bytes yet, nothing consumed (room for the whole frame is
/// reserved once its length is known). `Ok(Some)`: the frame was consumed.
/// `Err(e)` with `e.is_fatal()`: nothing consumed, the stream cannot be framed, close
/// the link. Other errors: the bad frame was consumed and dropped; the link may go on.
pub fn decode(buf: &mut BytesMut, limits: &Limits) -> Result<Option<Message>, DecodeError> {
    let Some(totlen) = frame_len(buf, limits)? else {
        return Ok(None);
    };
    if buf.len() < totlen {
        buf.reserve(totlen - buf.len());
        return Ok(None);
    }
    let frame = buf.split_to(totlen).freeze();
    decode_checked(frame, limits).map(Some)
}

/// Decode one whole frame: exactly `totlen` bytes.
pub fn decode_message(frame: Bytes, limits: &Limits) -> Result<Message, DecodeError> {
    let need = match frame_len(&frame, limits)? {
        Some(n) => n,
        None => PREFIX_LEN,
    };
    if frame.len() < need {
        return Err(DecodeError::Incomplete {
            have: frame.len(),
            need,
        });
    }
    if frame.len() > need {
        return Err(DecodeError::Trailing {
            totlen: need as u32,
            len: frame.len(),
        });
    }
    decode_checked(frame, limits)
}

/// Fields of the header that the body decoding needs beyond [`Header`].
struct Raw {
    code: u16,
    count: u16,
    extensions: u16,
}

fn name(i: &[u8]) -> IResult<&[u8], NodeName> {
    map_opt(take(NAME_LEN), NodeName::from_slice)(i)
}

fn slots(i: &[u8]) -> IResult<&[u8], SlotSet> {
    map_opt(take(SLOT_BITMAP_LEN), |b: &[u8]| {
        <&[u8; SLOT_BITMAP_LEN]>::try_from(b)
            .ok()
            .map(SlotSet::from_wire)
    })(i)
}

fn array<const N: usize>(i: &[u8]) -> IResult<&[u8], [u8; N]> {
    map_opt(take(N), |b: &[u8]| <[u8; N]>::try_from(b).ok())(i)
}

/// `N` bytes at `off` of the fixed header (offsets are constants inside 2256 bytes).
fn at<const N: usize>(h: &[u8; HEADER_LEN], off: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&h[off..off + N]);
    out
}

fn be16(h: &[u8; HEADER_LEN], off: usize) -> u16 {
    u16::from_be_bytes(at(h, off))
}

fn be64(h: &[u8; HEADER_LEN], off: usize) -> u64 {
    u64::from_be_bytes(at(h, off))
}

/// The fixed header, read at the offsets of `clusterMsg` (cluster-bus.md §2). A fixed
/// layout of known size needs no parser combinators: reading each field straight into
/// the struct avoids staging 2 KiB through intermediate values (bench `ping_100`).
fn header(h: &[u8; HEADER_LEN]) -> (Header, Raw) {
    let slot_bytes: &[u8; SLOT_BITMAP_LEN] = h[80..80 + SLOT_BITMAP_LEN]
        .try_into()
        .unwrap_or(&[0; SLOT_BITMAP_LEN]);
    let header = Header {
        version: be16(h, 8),
        port: be16(h, 10),
        current_epoch: be64(h, 16),
        config_epoch: be64(h, 24),
        offset: be64(h, 32),
        sender: NodeName::new(at(h, 40)),
        myslots: SlotSet::from_wire(slot_bytes),
        slaveof: NodeName::new(at(h, 2128)),
        myip: NetIp::from_raw(at::<IP_LEN>(h, 2168)),
        pport: be16(h, 2246),
        cport: be16(h, 2248),
        flags: NodeFlags::from_bits_retain(be16(h, 2250)),
        state: ClusterState::from(h[2252]),
        mflags: MsgFlags::from_bits_retain(h[2253]),
        unused: Unused {
            count: 0,
            extensions: 0,
            notused1: at(h, 2216),
            mflags_tail: at(h, 2254),
        },
    };
    let raw = Raw {
        code: be16(h, 12),
        count: be16(h, 14),
        extensions: be16(h, 2214),
    };
    (header, raw)
}

fn ext_header(i: &[u8]) -> IResult<&[u8], (u32, u16, u16)> {
    let (i, length) = be_u32(i)?;
    let (i, ext_type) = be_u16(i)?;
    let (i, unused) = be_u16(i)?;
    Ok((i, (length, ext_type, unused)))
}

fn publish_lens(i: &[u8]) -> IResult<&[u8], (u32, u32)> {
    let (i, c) = be_u32(i)?;
    let (i, m) = be_u32(i)?;
    Ok((i, (c, m)))
}

fn module_fixed(i: &[u8]) -> IResult<&[u8], (ModuleId, u32, u8)> {
    let (i, id) = array::<8>(i)?;
    let (i, len) = be_u32(i)?;
    let (i, t) = nom_u8(i)?;
    Ok((i, (ModuleId(id), len, t)))
}

fn update(i: &[u8]) -> IResult<&[u8], UpdateBody> {
    let (i, config_epoch) = be_u64(i)?;
    let (i, node) = name(i)?;
    let (i, slots) = slots(i)?;
    Ok((
        i,
        UpdateBody {
            config_epoch,
            node,
            slots: Box::new(slots),
        },
    ))
}

/// A nom parser that cannot fail because its input length was checked first; should
/// it fail anyway, the message is refused as having the wrong length.
fn checked<T>(
    r: IResult<&[u8], T>,
    kind: MessageType,
    got: u32,
    expected: u64,
) -> Result<T, DecodeError> {
    r.map(|(_, v)| v).map_err(|_| DecodeError::WrongLength {
        kind,
        got,
        expected,
    })
}

/// Checks 5–8 of §6.1 and the body, on a frame whose prefix already passed.
fn decode_checked(frame: Bytes, limits: &Limits) -> Result<Message, DecodeError> {
    let totlen = frame.len() as u32;
    let fixed: &[u8; HEADER_LEN] = frame
        .get(..HEADER_LEN)
        .and_then(|h| h.try_into().ok())
        .ok_or(DecodeError::TooShort { got: totlen })?;
    let (mut header, raw) = header(fixed);
    if header.version != PROTO_VERSION {
        return Err(DecodeError::Version(header.version));
    }
    let body_len = frame.len() - HEADER_LEN;
    let wrong = |kind: MessageType, expected: u64| DecodeError::WrongLength {
        kind,
        got: totlen,
        expected,
    };
    let Some(kind) = MessageType::from_code(raw.code) else {
        header.unused.count = raw.count;
        header.unused.extensions = raw.extensions;
        let data = frame.slice(HEADER_LEN..);
        return Ok(Message::new(
            header,
            Body::Unknown {
                code: raw.code,
                data,
            },
        ));
    };
    let body = match kind {
        MessageType::Ping | MessageType::Pong | MessageType::Meet => {
            let ping = ping_body(frame, &mut header, &raw, kind, limits)?;
            match kind {
                MessageType::Ping => Body::Ping(ping),
                MessageType::Pong => Body::Pong(ping),
                _ => Body::Meet(ping),
            }
        }
        other => {
            header.unused.count = raw.count;
            header.unused.extensions = raw.extensions;
            let body = &frame[HEADER_LEN..];
            let exact = |expected: u64| {
                if u64::from(totlen) == expected {
                    Ok(())
                } else {
                    Err(wrong(other, expected))
                }
            };
            match other {
                MessageType::Fail => {
                    exact(FAIL_LEN)?;
                    Body::Fail(checked(name(body), other, totlen, FAIL_LEN)?)
                }
                MessageType::FailoverAuthRequest => {
                    exact(HEADER_LEN as u64)?;
                    Body::FailoverAuthRequest
                }
                MessageType::FailoverAuthAck => {
                    exact(HEADER_LEN as u64)?;
                    Body::FailoverAuthAck
                }
                MessageType::MfStart => {
                    exact(HEADER_LEN as u64)?;
                    Body::MfStart
                }
                MessageType::Update => {
                    exact(UPDATE_LEN)?;
                    Body::Update(checked(update(body), other, totlen, UPDATE_LEN)?)
                }
                MessageType::Publish | MessageType::PublishShard => {
                    let min = (HEADER_LEN + PUBLISH_FIXED) as u64;
                    if body_len < PUBLISH_FIXED {
                        return Err(wrong(other, min));
                    }
                    let (clen, mlen) = checked(publish_lens(body), other, totlen, min)?;
                    exact(min + u64::from(clen) + u64::from(mlen))?;
                    let mut message = frame;
                    message.advance(HEADER_LEN + PUBLISH_FIXED);
                    let channel = message.split_to(clen as usize);
                    let p = PublishBody { channel, message };
                    if other == MessageType::Publish {
                        Body::Publish(p)
                    } else {
                        Body::PublishShard(p)
                    }
                }
                _ => {
                    let min = (HEADER_LEN + MODULE_FIXED) as u64;
                    if body_len < MODULE_FIXED {
                        return Err(wrong(other, min));
                    }
                    let (module_id, len, module_type) =
                        checked(module_fixed(body), other, totlen, min)?;
                    exact(min + u64::from(len))?;
                    let mut payload = frame;
                    payload.advance(HEADER_LEN + MODULE_FIXED);
                    Body::Module(ModuleBody {
                        module_id,
                        module_type,
                        payload,
                    })
                }
            }
        }
    };
    Ok(Message::new(header, body))
}

/// Gossip and extensions: the count limit and overrun, then check 7 (each extension
/// fits and is aligned), then check 8 (everything adds up to `totlen`).
fn ping_body(
    frame: Bytes,
    header: &mut Header,
    raw: &Raw,
    kind: MessageType,
    limits: &Limits,
) -> Result<PingBody, DecodeError> {
    let totlen = frame.len();
    if raw.count > limits.max_gossip {
        return Err(DecodeError::TooManyGossip {
            count: raw.count,
            max: limits.max_gossip,
        });
    }
    let gossip_len = usize::from(raw.count) * GOSSIP_LEN;
    let available = totlen - HEADER_LEN;
    if gossip_len > available {
        return Err(DecodeError::GossipOverrun {
            count: raw.count,
            available,
        });
    }
    let mut pos = HEADER_LEN + gossip_len;
    let ext_count = if header.mflags.contains(MsgFlags::EXT_DATA) {
        if raw.extensions > limits.max_extensions {
            return Err(DecodeError::TooManyExtensions {
                count: raw.extensions,
                max: limits.max_extensions,
            });
        }
        for index in 0..raw.extensions {
            let rest = &frame[pos..];
            let remaining = rest.len();
            let Ok((_, (length, _, _))) = ext_header(rest) else {
                return Err(DecodeError::ExtensionTruncated { index, remaining });
            };
            if length % 8 != 0 {
                return Err(DecodeError::ExtensionUnaligned { index, length });
            }
            if (length as usize) < EXT_HEADER_LEN {
                return Err(DecodeError::ExtensionTooSmall { index, length });
            }
            if length as usize > remaining {
                return Err(DecodeError::ExtensionOverrun {
                    index,
                    length,
                    remaining,
                });
            }
            pos += length as usize;
        }
        raw.extensions
    } else {
        header.unused.extensions = raw.extensions;
        0
    };
    if pos != totlen {
        return Err(DecodeError::WrongLength {
            kind,
            got: totlen as u32,
            expected: pos as u64,
        });
    }
    // Checked: split the frame itself (one reference count increment for the gossip
    // view; the frame handle moves into the extensions view).
    let mut body = frame;
    body.advance(HEADER_LEN);
    let gossip = Gossip::from_raw(body.split_to(gossip_len));
    Ok(PingBody {
        gossip,
        extensions: Extensions::from_raw(body, ext_count),
    })
}
