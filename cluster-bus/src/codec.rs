//! A `tokio_util::codec` framing the bus stream by `totlen`.

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

use crate::decode::{decode, DecodeError, Limits};
use crate::encode::{encode, EncodeError};
use crate::message::Message;

/// Why the codec stopped: the link must be closed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// Reading or writing the socket failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The stream cannot be framed: bad signature, `totlen` below 2256 or above the
    /// limit. Reported as soon as the 8-byte prefix is in, before buffering the frame.
    #[error("framing: {0}")]
    Frame(DecodeError),
    /// A message to send cannot be encoded.
    #[error("encoding: {0}")]
    Encode(#[from] EncodeError),
}

/// The cluster bus codec.
///
/// Items are `Result<Message, DecodeError>`: an inner `Err` is a well-framed message
/// that 7.0 would ignore (wrong version or length, bad extension, …) — drop it and keep
/// the link, as 7.0 does. A [`CodecError`] ends the stream: close the link.
#[derive(Debug, Clone, Default)]
pub struct BusCodec {
    limits: Limits,
}

impl BusCodec {
    /// A codec enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        BusCodec { limits }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }
}

impl Decoder for BusCodec {
    type Item = Result<Message, DecodeError>;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, CodecError> {
        match decode(src, &self.limits) {
            Ok(Some(msg)) => Ok(Some(Ok(msg))),
            Ok(None) => Ok(None),
            Err(e) if e.is_fatal() => Err(CodecError::Frame(e)),
            Err(e) => Ok(Some(Err(e))),
        }
    }
}

impl Encoder<&Message> for BusCodec {
    type Error = CodecError;
    fn encode(&mut self, msg: &Message, dst: &mut BytesMut) -> Result<(), CodecError> {
        Ok(encode(msg, dst)?)
    }
}

impl Encoder<Message> for BusCodec {
    type Error = CodecError;
    fn encode(&mut self, msg: Message, dst: &mut BytesMut) -> Result<(), CodecError> {
        Ok(encode(&msg, dst)?)
    }
}
