//! The tokio-util codecs.
#![allow(clippy::unwrap_used, clippy::panic)]

use resp_proto::codec::{CommandCodec, RespCodec};
use resp_proto::{Bytes, BytesMut, CommandCodecError, Frame, Limits, Protocol, ProtocolError};
use tokio_util::codec::{Decoder, Encoder};

#[test]
fn command_codec_decodes_requests_and_encodes_replies() {
    let mut codec = CommandCodec::new(Limits::default(), false);
    let mut buf = BytesMut::from(&b"*2\r\n$4\r\nAUTH\r\n$6\r\nsecret\r\n*1\r\n$4\r\n"[..]);
    assert_eq!(
        codec.decode(&mut buf).unwrap().unwrap(),
        vec![Bytes::from("AUTH"), Bytes::from("secret")]
    );
    assert!(codec.decode(&mut buf).unwrap().is_none());
    buf.extend_from_slice(b"PING\r\n");
    assert_eq!(
        codec.decode(&mut buf).unwrap().unwrap(),
        vec![Bytes::from("PING")]
    );

    codec.set_protocol(Protocol::Resp3);
    let mut out = BytesMut::new();
    codec.encode(Frame::Boolean(true), &mut out).unwrap();
    codec.encode(&Frame::NullBulk, &mut out).unwrap();
    assert_eq!(&out[..], b"#t\r\n_\r\n");

    // Not authenticated: Redis's tighter limits apply until told otherwise.
    let mut buf = BytesMut::from(&b"*11\r\n"[..]);
    match codec.decode(&mut buf) {
        Err(CommandCodecError::Protocol(e)) => {
            assert_eq!(e, ProtocolError::UnauthenticatedMultibulkLength)
        }
        other => panic!("{other:?}"),
    }
    let mut codec = CommandCodec::new(Limits::default(), false);
    codec.set_authenticated(true);
    assert!(codec
        .decode(&mut BytesMut::from(&b"*11\r\n"[..]))
        .unwrap()
        .is_none());
}

#[test]
fn resp_codec_round_trips_frames() {
    let mut codec = RespCodec::new(Protocol::Resp2, Limits::default());
    let request = Frame::Array(vec![
        Frame::Bulk(Bytes::from("GET")),
        Frame::Bulk(Bytes::from("k")),
    ]);
    let mut buf = BytesMut::new();
    codec.encode(&request, &mut buf).unwrap();
    assert_eq!(&buf[..], b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    assert_eq!(codec.decode(&mut buf).unwrap(), Some(request));
    let mut buf = BytesMut::from(&b"$-1\r\n%1\r\n"[..]);
    assert_eq!(codec.decode(&mut buf).unwrap(), Some(Frame::NullBulk));
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert_eq!(&buf[..], b"%1\r\n");
}
