//! Arbitrary bytes never panic the decoder; whatever decodes re-encodes to the same
//! bytes, and those decode to the same message.
//!
//! The first input byte picks a mode: odd = the rest is used as is (framing errors
//! included); even = the rest gets a valid `RCmb` + `totlen` prefix, so the fuzzer
//! spends its time in header and body checks.
#![no_main]

use bytes::{Bytes, BytesMut};
use cluster_bus::{decode, decode_message, encode, Extensions, Limits, Message};
use libfuzzer_sys::fuzz_target;

fn round_trip(msg: &Message) -> BytesMut {
    if let Some(p) = msg.body.ping() {
        // The lazy views never panic, and typed extensions rebuild the same bytes.
        let entries: Vec<_> = p.gossip.iter().collect();
        assert_eq!(entries.len(), p.gossip.len());
        let exts: Vec<_> = p.extensions.iter().collect();
        assert_eq!(exts.len(), p.extensions.len());
        let rebuilt = Extensions::new(&exts).expect("as many as decoded");
        assert_eq!(rebuilt, p.extensions, "typed extensions re-encode identically");
        let _ = p.hostname();
    }
    let mut out = BytesMut::new();
    encode(msg, &mut out).expect("a decoded message encodes");
    let again = decode_message(out.clone().freeze(), &Limits::default())
        .expect("an encoded message decodes");
    assert_eq!(&again, msg, "decode(encode(m)) != m");
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut input = rest.to_vec();
    if mode % 2 == 0 && input.len() >= 8 {
        input[..4].copy_from_slice(b"RCmb");
        let len = input.len() as u32;
        input[4..8].copy_from_slice(&len.to_be_bytes());
    }

    // As a stream on a link, with tight limits.
    let small = Limits {
        max_frame_len: 1 << 20,
        max_gossip: 200,
        max_extensions: 8,
    };
    let mut buf = BytesMut::from(&input[..]);
    loop {
        let before = buf.len();
        match decode(&mut buf, &small) {
            Ok(Some(msg)) => {
                round_trip(&msg);
            }
            Ok(None) => break,
            Err(e) if e.is_fatal() => {
                assert_eq!(buf.len(), before, "a fatal error consumes nothing");
                break;
            }
            Err(_) => assert!(buf.len() < before, "a dropped message is consumed"),
        }
    }

    // As one whole frame: exact bytes back.
    if let Ok(msg) = decode_message(Bytes::from(input.clone()), &Limits::default()) {
        let out = round_trip(&msg);
        assert!(out[..] == input[..], "a decoded frame re-encodes byte for byte");
    }
});
