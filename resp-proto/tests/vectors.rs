//! The 650 request/reply exchanges captured from redis-server 7.0.15 (tests/fixtures).
#![allow(clippy::unwrap_used, clippy::panic)]

use resp_proto::{decode_frame, encode_frame, BytesMut, CommandDecoder, Frame, Limits, Protocol};

struct Exchange {
    name: String,
    sent: Vec<u8>,
    recv: Vec<u8>,
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn exchanges() -> Vec<Exchange> {
    let text = include_str!("fixtures/client-vectors.jsonl");
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            Exchange {
                name: format!("{}#{}", v["vector"].as_str().unwrap(), v["step"]),
                sent: hex(v["sent_hex"].as_str().unwrap()),
                recv: hex(v["recv_hex"].as_str().unwrap()),
            }
        })
        .collect()
}

#[test]
fn every_captured_reply_decodes_and_reencodes_byte_for_byte() {
    let all = exchanges();
    assert_eq!(all.len(), 650);
    let mut resp3 = 0;
    for x in &all {
        let mut buf = BytesMut::from(&x.recv[..]);
        let frame = decode_frame(&mut buf, &Limits::default())
            .unwrap()
            .unwrap_or_else(|| panic!("{} incomplete", x.name));
        assert!(buf.is_empty(), "{}: one reply per exchange", x.name);
        // Redis's own encoding is canonical: RESP2 replies re-encode in RESP2, the others in RESP3.
        let proto = if frame.is_resp2() {
            Protocol::Resp2
        } else {
            resp3 += 1;
            Protocol::Resp3
        };
        let mut out = BytesMut::new();
        encode_frame(&frame, proto, &mut out);
        assert_eq!(&out[..], &x.recv[..], "{}", x.name);
    }
    assert!(resp3 >= 8, "the RESP3 captures are covered ({resp3})");
}

#[test]
fn every_captured_reply_survives_arrival_in_pieces() {
    for x in exchanges().iter().filter(|x| x.recv.len() < 4096) {
        let whole = decode_frame(&mut BytesMut::from(&x.recv[..]), &Limits::default()).unwrap();
        for cut in 1..x.recv.len() {
            let mut buf = BytesMut::from(&x.recv[..cut]);
            assert_eq!(
                decode_frame(&mut buf, &Limits::default()).unwrap(),
                None,
                "{} cut {cut}",
                x.name
            );
            buf.extend_from_slice(&x.recv[cut..]);
            assert_eq!(
                decode_frame(&mut buf, &Limits::default()).unwrap(),
                whole,
                "{} cut {cut}",
                x.name
            );
        }
    }
}

#[test]
fn every_captured_request_decodes_to_its_arguments() {
    let mut d = CommandDecoder::new(Limits::default());
    for x in exchanges() {
        let mut buf = BytesMut::from(&x.sent[..]);
        let args = d.decode(&mut buf, true).unwrap().unwrap();
        assert!(buf.is_empty(), "{}", x.name);
        let mut again = BytesMut::new();
        encode_frame(
            &Frame::Array(args.into_iter().map(Frame::Bulk).collect::<Vec<_>>()),
            Protocol::Resp2,
            &mut again,
        );
        assert_eq!(&again[..], &x.sent[..], "{}", x.name);
    }
}
