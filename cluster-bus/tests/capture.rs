//! All 2,087 messages of the main 7.0.15 capture decode and re-encode identically.
//!
//! `fixtures/capture-7.0.15.msgs.gz` holds them in capture order, each as a 4-byte
//! big-endian length then the message. It was made once from
//! `vectors/bus/bus-7.0.15.pcap.gz` with the reference `pcap2msgs.py` (TCP streams
//! reassembled per direction, then framed by `totlen`): see `fixtures/README.md`.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::collections::BTreeMap;
use std::io::Read;

use bytes::{Bytes, BytesMut};
use cluster_bus::{decode, decode_message, encode, Body, BusCodec, Limits, MsgFlags, PingExt};
use tokio_util::codec::Decoder;

fn messages() -> Vec<Vec<u8>> {
    let path = format!(
        "{}/tests/fixtures/capture-7.0.15.msgs.gz",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut raw)
        .unwrap();
    let mut out = Vec::new();
    let mut rest = &raw[..];
    while !rest.is_empty() {
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        out.push(rest[4..4 + len].to_vec());
        rest = &rest[4 + len..];
    }
    out
}

#[test]
fn every_captured_message_decodes_and_reencodes_identically() {
    let msgs = messages();
    assert_eq!(msgs.len(), 2087);
    let mut per_type: BTreeMap<u16, usize> = BTreeMap::new();
    let mut hostnames = 0;
    for (n, wire) in msgs.iter().enumerate() {
        let msg = decode_message(Bytes::from(wire.clone()), &Limits::default())
            .unwrap_or_else(|e| panic!("message #{n}: {e}"));
        let mut out = BytesMut::new();
        encode(&msg, &mut out).unwrap();
        assert!(out[..] == wire[..], "message #{n} re-encodes differently");
        *per_type.entry(msg.body.code()).or_default() += 1;
        assert!(!matches!(msg.body, Body::Unknown { .. }));
        if let Some(p) = msg.body.ping() {
            assert_eq!(
                msg.header.mflags.contains(MsgFlags::EXT_DATA),
                !p.extensions.is_empty(),
                "#{n}"
            );
            for e in p.extensions.iter() {
                assert!(matches!(e, PingExt::Hostname(_)), "#{n}: {e:?}");
                hostnames += 1;
            }
        }
        // Real senders leave nothing in the ignored fields.
        assert_eq!(msg.header.unused, Default::default(), "#{n}");
    }
    // Counts as in vectors/bus/capture-index.tsv.
    let expected: BTreeMap<u16, usize> = [
        (0, 1011),
        (1, 1030),
        (2, 4),
        (3, 9),
        (4, 4),
        (5, 11),
        (6, 8),
        (7, 4),
        (8, 1),
        (9, 4),
        (10, 1),
    ]
    .into();
    assert_eq!(per_type, expected);
    assert_eq!(hostnames, 837);
}

#[test]
fn the_capture_as_one_stream_frames_in_any_chunking() {
    let msgs = messages();
    let stream: Vec<u8> = msgs.concat();
    for chunk in [1usize, 7, 1000, 4096, 65536] {
        let mut buf = BytesMut::new();
        let mut codec = BusCodec::default();
        let mut got = 0;
        for piece in stream.chunks(chunk) {
            buf.extend_from_slice(piece);
            while let Some(item) = codec.decode(&mut buf).unwrap() {
                let msg = item.unwrap();
                let mut out = BytesMut::new();
                encode(&msg, &mut out).unwrap();
                assert!(out[..] == msgs[got][..], "chunk {chunk}: message #{got}");
                got += 1;
            }
        }
        assert_eq!(got, msgs.len(), "chunk size {chunk}");
        assert!(buf.is_empty());
        // The plain function agrees with the codec on an empty buffer.
        assert_eq!(decode(&mut buf, &Limits::default()), Ok(None));
    }
}
