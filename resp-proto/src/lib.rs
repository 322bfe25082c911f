//! RESP2 and RESP3 for a Redis 7.0.15-compatible server: the frame model, a streaming reply
//! decoder, a request decoder, an encoder and tokio-util codecs. Every byte is as
//! redis-server 7.0.15 reads and writes it.
//!
//! - [`CommandDecoder`] (server side, the hot path): `*N\r\n$len\r\n...` and inline requests
//!   straight to `Vec<Bytes>`, payloads sliced from the read buffer; Redis's limits
//!   (`proto-max-bulk-len`, the unauthenticated limits, the 64 KB count/inline limits) and its
//!   exact error texts ([`ProtocolError`]).
//! - [`decode_frame`] (client side): any RESP2/RESP3 reply to a [`Frame`], built on `nom`,
//!   consuming nothing until a frame is complete.
//! - [`ReplyWriter`] / [`encode_frame`]: replies written straight into a `BytesMut`, with the
//!   RESP2 fallbacks Redis uses for RESP3 shapes.
//! - [`codec`]: `tokio_util::codec` adapters for both sides.
//!
//! Not here: what commands mean, arity, ACLs, or when a client is authenticated (the caller
//! says so). No streamed RESP3 types (`$?`, `*?`, `;`, `.`): Redis 7.0 never sends them. No
//! client-query-buffer-limit: the server bounds what it buffers per connection. Simple strings
//! and errors inside a [`Frame`] are written as given; [`ReplyWriter::error`] sanitises.
//!
//! # Speed
//!
//! Against the `redis-protocol` crate (6.0.0) on the same inputs and machine: request decoding
//! about 2x its throughput, encoding about 4x, reply decoding about 0.7x. Figures and method in
//! the Benchmarks section below (`cargo bench -p resp-proto --bench codec` / `--bench paired`).
#![doc = include_str!("../README.md")]

mod command;
mod decode;
mod encode;
mod error;
mod frame;
mod inline;
mod limits;
mod number;

pub mod codec;

pub use bytes::{Bytes, BytesMut};
pub use command::CommandDecoder;
pub use decode::decode_frame;
pub use encode::{encode_command, encode_frame, ReplyWriter};
pub use error::{CommandCodecError, DecodeError, ProtocolError};
pub use frame::{Frame, Protocol};
/// Redis's `sdssplitargs` and `string2ll`, shared with the config parser and the CLI, which
/// split and read numbers by the same rules as the request path.
pub use inline::{push_repr, split_args};
pub use limits::{
    Limits, DEFAULT_MAX_BULK_LEN, DEFAULT_MAX_DEPTH, DEFAULT_MAX_INLINE_LEN,
    DEFAULT_MAX_MULTIBULK_LEN, UNAUTHENTICATED_MAX_BULK_LEN, UNAUTHENTICATED_MAX_MULTIBULK_LEN,
};
pub use number::string2ll;
