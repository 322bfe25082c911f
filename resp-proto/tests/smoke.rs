//! Quick end-to-end checks of the public API.
#![allow(clippy::unwrap_used)]
use resp_proto::*;

#[test]
fn set_pipeline_decodes() {
    let mut d = CommandDecoder::new(Limits::default());
    let mut buf = BytesMut::from(&b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\nPING\r\n"[..]);
    assert_eq!(
        d.decode(&mut buf, true).unwrap().unwrap(),
        vec![Bytes::from("SET"), Bytes::from("a"), Bytes::from("b")]
    );
    assert_eq!(
        d.decode(&mut buf, true).unwrap().unwrap(),
        vec![Bytes::from("PING")]
    );
    assert_eq!(d.decode(&mut buf, true).unwrap(), None);
    assert!(buf.is_empty());
}

#[test]
fn reply_roundtrip() {
    let f = Frame::Map(vec![(Frame::Bulk("a".into()), Frame::Double(1.1))]);
    let mut out = BytesMut::new();
    encode_frame(&f, Protocol::Resp3, &mut out);
    assert_eq!(&out[..], b"%1\r\n$1\r\na\r\n,1.1000000000000001\r\n");
    assert_eq!(decode_frame(&mut out, &Limits::default()).unwrap(), Some(f));
}
