//! Truncation and corruption table: each broken frame gets exactly one typed error,
//! and only framing errors close the link.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use bytes::{Bytes, BytesMut};
use cluster_bus::{
    decode, decode_message, encode, Body, BusCodec, CodecError, DecodeError, Limits,
    MessageType as T,
};
use tokio_util::codec::Decoder;

fn vector(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}.hex", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
    let digits: String = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect();
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
        .collect()
}

fn put_u16(v: &mut [u8], off: usize, x: u16) {
    v[off..off + 2].copy_from_slice(&x.to_be_bytes());
}

fn put_u32(v: &mut [u8], off: usize, x: u32) {
    v[off..off + 4].copy_from_slice(&x.to_be_bytes());
}

/// The frame resized to `len` bytes (zero-filled) with `totlen` saying so.
fn with_len(mut v: Vec<u8>, len: usize) -> Vec<u8> {
    v.resize(len, 0);
    put_u32(&mut v, 4, len as u32);
    v
}

fn err(v: Vec<u8>) -> DecodeError {
    err_with(v, &Limits::default())
}

fn err_with(v: Vec<u8>, limits: &Limits) -> DecodeError {
    let e = decode_message(Bytes::from(v.clone()), limits).unwrap_err();
    // The stream decoder agrees, and consumes the frame unless the error is fatal.
    let mut buf = BytesMut::from(&v[..]);
    assert_eq!(decode(&mut buf, limits), Err(e.clone()));
    assert_eq!(buf.len(), if e.is_fatal() { v.len() } else { 0 });
    e
}

const HDR: u32 = 2256;

#[test]
fn framing_errors_are_fatal() {
    let mut v = vector("PING");
    v[0] = b'X';
    assert_eq!(err(v), DecodeError::BadSignature(*b"XCmb"));
    assert_eq!(
        err(with_len(vector("PING"), 2255)),
        DecodeError::TooShort { got: 2255 }
    );
    let limits = Limits {
        max_frame_len: 2500,
        ..Limits::default()
    };
    assert_eq!(
        err_with(vector("PING"), &limits),
        DecodeError::TooLong {
            got: 2568,
            max: 2500
        }
    );
    for e in [
        DecodeError::BadSignature(*b"XCmb"),
        DecodeError::TooShort { got: 0 },
        DecodeError::TooLong { got: 0, max: 0 },
    ] {
        assert!(e.is_fatal());
    }
}

#[test]
fn codec_refuses_a_bad_prefix_after_eight_bytes() {
    let mut codec = BusCodec::new(Limits {
        max_frame_len: 1 << 16,
        ..Limits::default()
    });
    let mut buf = BytesMut::from(&b"RCmb\xff\xff\xff\xff"[..]);
    assert!(matches!(
        codec.decode(&mut buf),
        Err(CodecError::Frame(DecodeError::TooLong {
            got: u32::MAX,
            max: 65536
        }))
    ));
    let mut buf = BytesMut::from(&b"RCmb\0\0\x08\xcf"[..]);
    assert!(matches!(
        codec.decode(&mut buf),
        Err(CodecError::Frame(DecodeError::TooShort { got: 2255 }))
    ));
    let mut buf = BytesMut::from(&b"GET "[..]);
    assert!(matches!(codec.decode(&mut buf), Ok(None)), "4 bytes: wait");
    buf.extend_from_slice(b"x\r\n\0");
    assert!(matches!(
        codec.decode(&mut buf),
        Err(CodecError::Frame(DecodeError::BadSignature(s))) if &s == b"GET "
    ));
}

#[test]
fn codec_drops_an_invalid_message_and_keeps_the_link() {
    let mut bad = vector("FAIL");
    put_u16(&mut bad, 8, 2);
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&bad);
    buf.extend_from_slice(&vector("PING"));
    let mut codec = BusCodec::default();
    let first = codec.decode(&mut buf).unwrap().unwrap();
    assert_eq!(first, Err(DecodeError::Version(2)));
    let second = codec.decode(&mut buf).unwrap().unwrap().unwrap();
    assert_eq!(second.message_type(), Some(T::Ping));
    assert!(codec.decode(&mut buf).unwrap().is_none());
}

#[test]
fn version_other_than_one_is_refused() {
    let mut v = vector("PING");
    put_u16(&mut v, 8, 0);
    assert_eq!(err(v), DecodeError::Version(0));
    let mut v = vector("UPDATE");
    put_u16(&mut v, 8, 2);
    let e = err(v);
    assert_eq!(e, DecodeError::Version(2));
    assert!(!e.is_fatal());
}

#[test]
fn totlen_one_short_and_one_long_for_every_type() {
    let wrong = |kind, got, expected| DecodeError::WrongLength {
        kind,
        got,
        expected,
    };
    // (vector, type, its length, error one byte short, error one byte long)
    let table: Vec<(&str, T, u32, DecodeError)> = vec![
        (
            "PING",
            T::Ping,
            2568,
            DecodeError::GossipOverrun {
                count: 3,
                available: 311,
            },
        ),
        (
            "PONG",
            T::Pong,
            2568,
            DecodeError::GossipOverrun {
                count: 3,
                available: 311,
            },
        ),
        (
            "PONG_hostname",
            T::Pong,
            2600,
            DecodeError::ExtensionOverrun {
                index: 0,
                length: 32,
                remaining: 31,
            },
        ),
        (
            "MEET",
            T::Meet,
            2288,
            DecodeError::ExtensionOverrun {
                index: 0,
                length: 32,
                remaining: 31,
            },
        ),
        (
            "MEET_no_ext",
            T::Meet,
            HDR,
            DecodeError::TooShort { got: HDR - 1 },
        ),
        ("FAIL", T::Fail, 2296, wrong(T::Fail, 2295, 2296)),
        ("PUBLISH", T::Publish, 2277, wrong(T::Publish, 2276, 2277)),
        (
            "FAILOVER_AUTH_REQUEST",
            T::FailoverAuthRequest,
            HDR,
            DecodeError::TooShort { got: HDR - 1 },
        ),
        (
            "FAILOVER_AUTH_ACK",
            T::FailoverAuthAck,
            HDR,
            DecodeError::TooShort { got: HDR - 1 },
        ),
        ("UPDATE", T::Update, 4352, wrong(T::Update, 4351, 4352)),
        (
            "MFSTART",
            T::MfStart,
            HDR,
            DecodeError::TooShort { got: HDR - 1 },
        ),
        ("MODULE", T::Module, 2283, wrong(T::Module, 2282, 2283)),
        (
            "PUBLISHSHARD",
            T::PublishShard,
            2282,
            wrong(T::PublishShard, 2281, 2282),
        ),
    ];
    let mut types = std::collections::BTreeSet::new();
    for (name, kind, len, short) in table {
        let v = vector(name);
        assert_eq!(v.len() as u32, len, "{name}");
        types.insert(kind.code());
        assert_eq!(
            err(with_len(v.clone(), len as usize - 1)),
            short,
            "{name} one short"
        );
        assert_eq!(
            err(with_len(v, len as usize + 1)),
            wrong(kind, len + 1, u64::from(len)),
            "{name} one long"
        );
    }
    assert_eq!(types.len(), 11, "all of types 0-10");
}

#[test]
fn a_type_whose_body_does_not_fit_is_refused_by_length() {
    // FAIL bytes announced as UPDATE, and as PUBLISH (its channel_len is read from the
    // node name "1ed8", its message_len from "d804").
    let mut v = vector("FAIL");
    put_u16(&mut v, 12, 7);
    assert_eq!(
        err(v),
        DecodeError::WrongLength {
            kind: T::Update,
            got: 2296,
            expected: 4352
        }
    );
    let mut v = vector("FAIL");
    put_u16(&mut v, 12, 4);
    let expected =
        2264 + u64::from(u32::from_be_bytes(*b"1ed8")) + u64::from(u32::from_be_bytes(*b"d804"));
    assert_eq!(
        err(v),
        DecodeError::WrongLength {
            kind: T::Publish,
            got: 2296,
            expected
        }
    );
    // PUBLISH and MODULE too short for their own length fields.
    assert_eq!(
        err(with_len(vector("PUBLISH"), 2260)),
        DecodeError::WrongLength {
            kind: T::Publish,
            got: 2260,
            expected: 2264
        }
    );
    assert_eq!(
        err(with_len(vector("MODULE"), 2268)),
        DecodeError::WrongLength {
            kind: T::Module,
            got: 2268,
            expected: 2269
        }
    );
    // A channel_len that runs past the frame.
    let mut v = vector("PUBLISH");
    put_u32(&mut v, 2256, u32::MAX);
    assert_eq!(
        err(v),
        DecodeError::WrongLength {
            kind: T::Publish,
            got: 2277,
            expected: 2264 + u64::from(u32::MAX) + 9
        }
    );
}

#[test]
fn unknown_types_are_accepted_with_any_length() {
    for code in [11u16, 255, 0x8004] {
        let mut v = with_len(vector("PING"), 2300);
        put_u16(&mut v, 12, code);
        let msg = decode_message(Bytes::from(v.clone()), &Limits::default()).unwrap();
        assert!(
            matches!(&msg.body, Body::Unknown { code: c, data } if *c == code && data.len() == 44)
        );
        assert_eq!(msg.message_type(), None);
        let mut out = BytesMut::new();
        encode(&msg, &mut out).unwrap();
        assert!(out[..] == v[..]);
    }
}

#[test]
fn gossip_count_that_overruns_or_exceeds_the_limit() {
    let mut v = vector("PING");
    put_u16(&mut v, 14, 1000);
    assert_eq!(
        err(v),
        DecodeError::GossipOverrun {
            count: 1000,
            available: 312
        }
    );
    let limits = Limits {
        max_gossip: 2,
        ..Limits::default()
    };
    assert_eq!(
        err_with(vector("PING"), &limits),
        DecodeError::TooManyGossip { count: 3, max: 2 }
    );
    // Fewer entries than bytes: the rest is not accounted for.
    let mut v = vector("PING");
    put_u16(&mut v, 14, 2);
    assert_eq!(
        err(v),
        DecodeError::WrongLength {
            kind: T::Ping,
            got: 2568,
            expected: 2464
        }
    );
}

#[test]
fn extension_lengths_are_checked() {
    // PONG_hostname: 3 gossip entries, then one 32-byte HOSTNAME extension at 2568.
    let ext = 2568;
    let patched = |len: u32| {
        let mut v = vector("PONG_hostname");
        put_u32(&mut v, ext, len);
        err(v)
    };
    assert_eq!(
        patched(40),
        DecodeError::ExtensionOverrun {
            index: 0,
            length: 40,
            remaining: 32
        }
    );
    assert_eq!(
        patched(33),
        DecodeError::ExtensionUnaligned {
            index: 0,
            length: 33
        }
    );
    assert_eq!(
        patched(0),
        DecodeError::ExtensionTooSmall {
            index: 0,
            length: 0
        }
    );
    assert_eq!(
        patched(u32::MAX - 7),
        DecodeError::ExtensionOverrun {
            index: 0,
            length: u32::MAX - 7,
            remaining: 32
        }
    );
    assert_eq!(
        patched(24),
        DecodeError::WrongLength {
            kind: T::Pong,
            got: 2600,
            expected: 2592
        }
    );
    // Two announced, one present.
    let mut v = vector("PONG_hostname");
    put_u16(&mut v, 2214, 2);
    assert_eq!(
        err(v),
        DecodeError::ExtensionTruncated {
            index: 1,
            remaining: 0
        }
    );
    // Above the limit.
    let limits = Limits {
        max_extensions: 0,
        ..Limits::default()
    };
    assert_eq!(
        err_with(vector("PONG_hostname"), &limits),
        DecodeError::TooManyExtensions { count: 1, max: 0 }
    );
    // EXT_DATA clear: 7.0 does not count the extension, so the length is wrong.
    let mut v = vector("PONG_hostname");
    v[2253] = 0;
    assert_eq!(
        err(v),
        DecodeError::WrongLength {
            kind: T::Pong,
            got: 2600,
            expected: 2568
        }
    );
}

#[test]
fn extensions_field_without_ext_data_is_ignored_but_kept() {
    let mut v = vector("PING");
    put_u16(&mut v, 2214, 5);
    let msg = decode_message(Bytes::from(v.clone()), &Limits::default()).unwrap();
    assert_eq!(msg.header.unused.extensions, 5);
    assert!(msg.body.ping().unwrap().extensions.is_empty());
    let mut out = BytesMut::new();
    encode(&msg, &mut out).unwrap();
    assert!(out[..] == v[..]);
}

#[test]
fn decode_message_wants_exactly_one_frame() {
    let v = vector("FAIL");
    assert_eq!(
        decode_message(Bytes::from(v[..100].to_vec()), &Limits::default()),
        Err(DecodeError::Incomplete {
            have: 100,
            need: 2296
        })
    );
    assert_eq!(
        decode_message(Bytes::from_static(b"RCm"), &Limits::default()),
        Err(DecodeError::Incomplete { have: 3, need: 8 })
    );
    let mut long = v.clone();
    long.push(0);
    assert_eq!(
        decode_message(Bytes::from(long), &Limits::default()),
        Err(DecodeError::Trailing {
            totlen: 2296,
            len: 2297
        })
    );
    // The stream decoder waits instead, consuming nothing.
    let mut buf = BytesMut::from(&v[..2295]);
    assert_eq!(decode(&mut buf, &Limits::default()), Ok(None));
    assert_eq!(buf.len(), 2295);
}

#[test]
fn stale_bytes_in_ignored_fields_survive_a_round_trip() {
    let mut v = vector("PING");
    v[2216] = 0xaa; // notused1
    v[2254] = 0x01; // mflags[1]
    v[2256 + 48 + 12] = b'z'; // gossip[0].ip after "127.0.0.1\0"
    v[2256 + 102] = 0x7f; // gossip[0].notused1
    let mut fail = vector("FAIL");
    put_u16(&mut fail, 14, 9); // count in a FAIL
    for wire in [v, fail] {
        let msg = decode_message(Bytes::from(wire.clone()), &Limits::default()).unwrap();
        let mut out = BytesMut::new();
        encode(&msg, &mut out).unwrap();
        assert!(out[..] == wire[..]);
    }
}
