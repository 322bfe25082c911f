//! The Redis 7.0 cluster bus wire format: parse and write every byte as redis-server
//! 7.0.15 does (cluster-bus.md §1–§6, §18).
//!
//! Not here: deciding anything. Which node is failing, who owns a slot, when to ping —
//! that is cluster-core. This crate only turns bytes into [`Message`]s and back.
//!
//! # Shape
//!
//! A [`Message`] is a [`Header`] (every field of the 2256-byte header, typed: [`NodeName`],
//! [`SlotSet`], [`NodeFlags`], [`MsgFlags`], [`ClusterState`], [`NetIp`]) and a [`Body`]
//! for each type 0–10 plus unknown types. PING/PONG/MEET carry a [`PingBody`]: a
//! zero-copy [`Gossip`] section (iterate [`GossipEntry`] values) and a zero-copy
//! [`Extensions`] list (iterate [`PingExt`] values).
//! PUBLISH channels/messages and MODULE payloads are [`bytes::Bytes`] slices of the
//! received frame.
//!
//! * [`decode`] / [`decode_message`] — from a stream buffer / one whole frame.
//! * [`encode`] — byte-identical to Redis for the same message; derives `totlen`,
//!   `type`, `count`, `extensions` and EXT_DATA.
//! * [`BusCodec`] — a `tokio_util::codec` Decoder/Encoder framing by `totlen`. Its
//!   items are `Result<Message, DecodeError>`: an inner error is a message 7.0 would
//!   ignore (drop it, keep the link); a [`CodecError`] means close the link.
//!
//! Decoding never panics and allocates nothing but UPDATE's boxed slot set: the fixed header is
//! read at its `clusterMsg` offsets, the variable parts (gossip count, extensions,
//! PUBLISH/MODULE/UPDATE bodies) with `nom`, and every length is compared with the
//! bytes present and with [`Limits`] before it is used.
//!
//! # What decoding checks (in this order, §6.1)
//!
//! 1. signature `RCmb` — else [`DecodeError::BadSignature`] (fatal: close the link);
//! 2. `totlen >= 2256` — else [`DecodeError::TooShort`] (fatal); and, ours,
//!    `totlen <= `[`Limits::max_frame_len`] — else [`DecodeError::TooLong`] (fatal),
//!    decided from the first 8 bytes, before buffering;
//! 3. `ver == 1` — else [`DecodeError::Version`];
//! 4. PING/PONG/MEET: `count` within [`Limits::max_gossip`] and inside the frame
//!    ([`DecodeError::TooManyGossip`], [`DecodeError::GossipOverrun`]); with EXT_DATA,
//!    `extensions` within [`Limits::max_extensions`], then each extension's 8-byte
//!    header present, length a multiple of 8, at least 8 and inside the frame
//!    ([`DecodeError::ExtensionTruncated`], `ExtensionUnaligned`, `ExtensionTooSmall`,
//!    `ExtensionOverrun`);
//! 5. `totlen` equals the length the type requires (§3 table; PUBLISH and MODULE by
//!    their own length fields, PING/PONG/MEET by count and the walked extensions) —
//!    else [`DecodeError::WrongLength`].
//!
//! Non-fatal errors drop only that message, as 7.0 does. Deliberate tightenings of 7.0
//! (only malformed input is affected, §18): a frame size limit; extensions shorter than
//! 8 bytes are refused; a gossip `count` that overruns the frame is named as such; when
//! EXT_DATA is clear, `extensions` is ignored (kept in [`Unused`]). Unknown extension
//! types, unknown flag bits and unknown message types (≥ 11, any length, as
//! [`Body::Unknown`]) are accepted.
//!
//! # What is left to cluster-core
//!
//! Everything after the bytes are valid: whether the sender is known, whether `sender`
//! or a gossip name is a valid id ([`NodeName::is_valid`]), what `count` entries or
//! extension types mean for the node table, the HOSTNAME rule ([`PingBody::hostname`]
//! gives what 7.0 uses), epochs, slots, failover, and which link a message goes to.
//!
//! # Exactness
//!
//! Every field Redis may leave non-zero is kept: the 46 raw bytes of IP fields (Redis
//! `memcpy`s a node's whole IP buffer into gossip), and in [`Unused`] `notused1`,
//! `mflags[1..3]`, a non-PING `count`/`extensions`. Gossip `notused1` is kept in
//! [`GossipEntry::unused`]; an extension in an unusual form is kept raw as
//! [`PingExt::Other`]. So any frame that decodes re-encodes to the same bytes. In
//! the 7.0.15 captures (2,087 messages) all those fields are zero.
//!
//! # How it is verified
//!
//! * `tests/vectors.rs`: the 26 golden vectors of real 7.0.15 traffic decode to every
//!   field of their `decode.py` dumps (a small parser of the dump checks every row) and
//!   re-encode to the same bytes; a MEET and a PING built from parts equal the captured
//!   bytes.
//! * `tests/capture.rs`: all 2,087 messages of the main capture decode and re-encode
//!   byte for byte, also as one stream through [`BusCodec`] cut into 1..65536-byte pieces.
//! * `tests/errors.rs`: truncation/corruption table (signature, version, type, `totlen`
//!   one short and one long for every type, overrunning `count`, extension lengths) with
//!   the exact error of each.
//! * `tests/roundtrip.rs`: proptest, `decode(encode(m)) == m` for arbitrary messages;
//!   slot sets against a boolean model.
//! * `fuzz/` (cargo-fuzz target `decode`): arbitrary bytes never panic; whatever decodes
//!   re-encodes to the same bytes and decodes to the same message.
#![doc = include_str!("../BENCHMARKS.md")]

mod codec;
mod decode;
mod encode;
mod ext;
mod flags;
mod gossip;
mod message;
mod name;
mod slots;

pub use codec::{BusCodec, CodecError};
pub use decode::{decode, decode_message, frame_len, DecodeError, Limits, PREFIX_LEN};
pub use encode::{encode, encoded_len, EncodeError};
pub use ext::{ext_type, ExtIter, Extensions, PingExt, EXT_HEADER_LEN};
pub use flags::{ClusterState, MsgFlags, NodeFlags};
pub use gossip::{Gossip, GossipEntry, GossipIter, GOSSIP_LEN};
pub use message::{
    Body, Header, Message, MessageType, ModuleBody, ModuleId, PingBody, PublishBody, Unused,
    UpdateBody, HEADER_LEN, PROTO_VERSION, SIGNATURE,
};
pub use name::{FieldError, NetIp, NodeName, IP_LEN, NAME_LEN};
pub use slots::{Ranges, SlotSet, Slots, CLUSTER_SLOTS, SLOT_BITMAP_LEN};
