//! `tokio_util::codec` adapters for both directions.

use bytes::{Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::command::CommandDecoder;
use crate::decode::decode_frame;
use crate::encode::encode_frame;
use crate::error::{CommandCodecError, DecodeError};
use crate::frame::{Frame, Protocol};
use crate::limits::Limits;

/// Client side: decodes reply [`Frame`]s, encodes [`Frame`]s (requests are arrays of bulks).
#[derive(Debug, Clone, Default)]
pub struct RespCodec {
    limits: Limits,
    proto: Protocol,
}

impl RespCodec {
    /// A codec with these limits, encoding for `proto`.
    pub fn new(proto: Protocol, limits: Limits) -> Self {
        RespCodec { limits, proto }
    }

    /// Switches the encoding protocol (after `HELLO 3`). Decoding accepts both.
    pub fn set_protocol(&mut self, proto: Protocol) {
        self.proto = proto;
    }
}

impl Decoder for RespCodec {
    type Item = Frame;
    type Error = DecodeError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, DecodeError> {
        decode_frame(src, &self.limits)
    }
}

impl Encoder<Frame> for RespCodec {
    type Error = DecodeError;

    fn encode(&mut self, item: Frame, dst: &mut BytesMut) -> Result<(), DecodeError> {
        encode_frame(&item, self.proto, dst);
        Ok(())
    }
}

impl Encoder<&Frame> for RespCodec {
    type Error = DecodeError;

    fn encode(&mut self, item: &Frame, dst: &mut BytesMut) -> Result<(), DecodeError> {
        encode_frame(item, self.proto, dst);
        Ok(())
    }
}

/// Server side: decodes requests into argument vectors, encodes reply [`Frame`]s in the
/// connection's protocol.
///
/// On a [`CommandCodecError::Protocol`] error write its reply
/// ([`crate::ProtocolError::write_reply`]) after the replies already due, flush, and close.
#[derive(Debug, Default)]
pub struct CommandCodec {
    decoder: CommandDecoder,
    authenticated: bool,
    proto: Protocol,
}

impl CommandCodec {
    /// A codec with these limits. `authenticated` is false when the server requires a password
    /// and the client has not yet authenticated.
    pub fn new(limits: Limits, authenticated: bool) -> Self {
        CommandCodec {
            decoder: CommandDecoder::new(limits),
            authenticated,
            proto: Protocol::Resp2,
        }
    }

    /// After a successful AUTH (or when a password is no longer required).
    pub fn set_authenticated(&mut self, authenticated: bool) {
        self.authenticated = authenticated;
    }

    /// After `HELLO 2` / `HELLO 3`.
    pub fn set_protocol(&mut self, proto: Protocol) {
        self.proto = proto;
    }

    /// The request decoder, e.g. to change its limits.
    pub fn decoder_mut(&mut self) -> &mut CommandDecoder {
        &mut self.decoder
    }
}

impl Decoder for CommandCodec {
    type Item = Vec<Bytes>;
    type Error = CommandCodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Vec<Bytes>>, CommandCodecError> {
        Ok(self.decoder.decode(src, self.authenticated)?)
    }
}

impl Encoder<Frame> for CommandCodec {
    type Error = CommandCodecError;

    fn encode(&mut self, item: Frame, dst: &mut BytesMut) -> Result<(), CommandCodecError> {
        encode_frame(&item, self.proto, dst);
        Ok(())
    }
}

impl Encoder<&Frame> for CommandCodec {
    type Error = CommandCodecError;

    fn encode(&mut self, item: &Frame, dst: &mut BytesMut) -> Result<(), CommandCodecError> {
        encode_frame(item, self.proto, dst);
        Ok(())
    }
}
