//! Property: encode then decode gives the frame back (RESP3 for every frame, RESP2 for the
//! frames RESP2 can carry), whole or split at any point.
#![allow(clippy::unwrap_used, clippy::panic)]

use proptest::prelude::*;
use resp_proto::{
    decode_frame, encode_command, encode_frame, Bytes, BytesMut, CommandDecoder, Frame, Limits,
    Protocol,
};

fn bytes() -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..24).prop_map(Bytes::from)
}

/// A line: no CR or LF, as Redis never puts them in status or error lines.
fn line() -> impl Strategy<Value = Bytes> {
    "[^\r\n]{0,16}".prop_map(|s| Bytes::from(s.into_bytes()))
}

fn double() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
        Just(f64::NAN),
        Just(-f64::NAN),
        (-1e6f64..1e6),
    ]
    // Decoding gives the canonical NaN with its sign; generate only those.
    .prop_map(|d| if d.is_nan() { f64::NAN.copysign(d) } else { d })
}

fn leaf(resp3: bool) -> BoxedStrategy<Frame> {
    let resp2 = prop_oneof![
        line().prop_map(Frame::SimpleString),
        line().prop_map(Frame::Error),
        any::<i64>().prop_map(Frame::Integer),
        bytes().prop_map(Frame::Bulk),
        Just(Frame::NullBulk),
        Just(Frame::NullArray),
    ];
    if !resp3 {
        return resp2.boxed();
    }
    prop_oneof![
        line().prop_map(Frame::SimpleString),
        line().prop_map(Frame::Error),
        any::<i64>().prop_map(Frame::Integer),
        bytes().prop_map(Frame::Bulk),
        Just(Frame::Null),
        any::<bool>().prop_map(Frame::Boolean),
        double().prop_map(Frame::Double),
        "-?[0-9]{1,40}".prop_map(|s| Frame::BigNumber(Bytes::from(s.into_bytes()))),
        bytes().prop_map(Frame::BulkError),
        ("[a-z]{3}", bytes()).prop_map(|(f, data)| {
            let mut format = [0u8; 3];
            format.copy_from_slice(f.as_bytes());
            Frame::Verbatim { format, data }
        }),
    ]
    .boxed()
}

fn frame(resp3: bool) -> impl Strategy<Value = Frame> {
    leaf(resp3).prop_recursive(4, 48, 6, move |inner| {
        let list = proptest::collection::vec(inner.clone(), 0..6);
        let pairs = proptest::collection::vec((inner.clone(), inner.clone()), 0..4);
        if resp3 {
            prop_oneof![
                list.clone().prop_map(Frame::Array),
                list.clone().prop_map(Frame::Set),
                list.prop_map(Frame::Push),
                pairs.clone().prop_map(Frame::Map),
                (pairs, inner).prop_map(|(attrs, data)| Frame::Attribute {
                    attrs,
                    data: Box::new(data)
                }),
            ]
            .boxed()
        } else {
            list.prop_map(Frame::Array).boxed()
        }
    })
}

fn roundtrip(f: &Frame, proto: Protocol) -> Result<(), TestCaseError> {
    let mut wire = BytesMut::new();
    encode_frame(f, proto, &mut wire);
    let bytes = wire.clone();
    let got = decode_frame(&mut wire, &Limits::default()).unwrap();
    prop_assert_eq!(got.as_ref(), Some(f));
    prop_assert!(wire.is_empty());
    // Split once anywhere: nothing before the end, the same frame after.
    let cut = bytes.len() / 2;
    let mut part = BytesMut::from(&bytes[..cut]);
    prop_assert_eq!(decode_frame(&mut part, &Limits::default()).unwrap(), None);
    part.extend_from_slice(&bytes[cut..]);
    let again = decode_frame(&mut part, &Limits::default()).unwrap();
    prop_assert_eq!(again.as_ref(), Some(f));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn resp3_roundtrip(f in frame(true)) {
        roundtrip(&f, Protocol::Resp3)?;
    }

    #[test]
    fn resp2_roundtrip(f in frame(false)) {
        roundtrip(&f, Protocol::Resp2)?;
    }

    #[test]
    fn commands_roundtrip(cmds in proptest::collection::vec(proptest::collection::vec(bytes(), 1..6), 1..5),
                          cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..4)) {
        let mut wire = BytesMut::new();
        for cmd in &cmds {
            encode_frame(&Frame::Array(cmd.iter().cloned().map(Frame::Bulk).collect()), Protocol::Resp2, &mut wire);
        }
        // The command encoder writes exactly what the frame encoder does for such an array.
        let mut direct = Vec::new();
        for cmd in &cmds {
            encode_command(&mut direct, cmd);
        }
        prop_assert_eq!(&direct[..], &wire[..]);
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
        points.push(0);
        points.push(wire.len());
        points.sort_unstable();
        let mut d = CommandDecoder::new(Limits::default());
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for w in points.windows(2) {
            buf.extend_from_slice(&wire[w[0]..w[1]]);
            while let Some(cmd) = d.decode(&mut buf, true).unwrap() {
                got.push(cmd);
            }
        }
        prop_assert_eq!(got, cmds);
    }
}

/// Every length form of the command encoder: one digit, two, three and more; the empty
/// argument; a large one.
#[test]
fn command_lengths_are_written_in_every_form() {
    let mut out = Vec::new();
    encode_command(&mut out, &["SELECT", "0"]);
    assert_eq!(out, b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n");
    for n in [0usize, 9, 10, 99, 100, 255, 256, 1000, 1_234_567] {
        let mut out = Vec::new();
        encode_command(&mut out, &[vec![b'y'; n]]);
        let mut want = format!("*1\r\n${n}\r\n").into_bytes();
        want.extend(std::iter::repeat_n(b'y', n));
        want.extend_from_slice(b"\r\n");
        assert_eq!(out, want, "length {n}");
    }
}
