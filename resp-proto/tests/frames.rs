//! Reply frames: every type decoded and encoded in both protocols.
#![allow(clippy::unwrap_used, clippy::panic)]

use resp_proto::{
    decode_frame, encode_frame, Bytes, BytesMut, DecodeError, Frame, Limits, Protocol, ReplyWriter,
};

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn enc(f: &Frame, proto: Protocol) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_frame(f, proto, &mut out);
    out.to_vec()
}

fn dec(wire: &[u8]) -> Result<Option<Frame>, DecodeError> {
    let mut buf = BytesMut::from(wire);
    let r = decode_frame(&mut buf, &Limits::default());
    if let Ok(Some(_)) = r {
        assert!(buf.is_empty(), "left {:?}", buf);
    } else {
        assert_eq!(&buf[..], wire, "consumed on incomplete/error");
    }
    r
}

/// (frame, RESP3 bytes, RESP2 bytes): one row per frame type, as Redis 7.0 writes them.
fn table() -> Vec<(Frame, &'static [u8], &'static [u8])> {
    vec![
        (Frame::SimpleString(b("OK")), b"+OK\r\n", b"+OK\r\n"),
        (Frame::Error(b("ERR no")), b"-ERR no\r\n", b"-ERR no\r\n"),
        (Frame::Integer(-42), b":-42\r\n", b":-42\r\n"),
        (
            Frame::Integer(i64::MIN),
            b":-9223372036854775808\r\n",
            b":-9223372036854775808\r\n",
        ),
        (
            Frame::Bulk(b("a\r\nb")),
            b"$4\r\na\r\nb\r\n",
            b"$4\r\na\r\nb\r\n",
        ),
        (Frame::Bulk(b("")), b"$0\r\n\r\n", b"$0\r\n\r\n"),
        (Frame::NullBulk, b"_\r\n", b"$-1\r\n"),
        (Frame::NullArray, b"_\r\n", b"*-1\r\n"),
        (Frame::Null, b"_\r\n", b"$-1\r\n"),
        (Frame::Array(vec![]), b"*0\r\n", b"*0\r\n"),
        (
            Frame::Array(vec![Frame::Integer(1), Frame::Bulk(b("x"))]),
            b"*2\r\n:1\r\n$1\r\nx\r\n",
            b"*2\r\n:1\r\n$1\r\nx\r\n",
        ),
        (Frame::Boolean(true), b"#t\r\n", b":1\r\n"),
        (Frame::Boolean(false), b"#f\r\n", b":0\r\n"),
        (
            Frame::Double(1.1),
            b",1.1000000000000001\r\n",
            b"$18\r\n1.1000000000000001\r\n",
        ),
        (Frame::Double(f64::INFINITY), b",inf\r\n", b"$3\r\ninf\r\n"),
        (
            Frame::Double(f64::NEG_INFINITY),
            b",-inf\r\n",
            b"$4\r\n-inf\r\n",
        ),
        (Frame::Double(1e20), b",1e+20\r\n", b"$5\r\n1e+20\r\n"),
        (
            Frame::BigNumber(b("-123456789012345678901234567890")),
            b"(-123456789012345678901234567890\r\n",
            b"$31\r\n-123456789012345678901234567890\r\n",
        ),
        (
            Frame::BulkError(b("SYNTAX bad\r\nthing")),
            b"!17\r\nSYNTAX bad\r\nthing\r\n",
            b"-SYNTAX bad  thing\r\n",
        ),
        (
            Frame::Verbatim {
                format: *b"txt",
                data: b("hi\n"),
            },
            b"=7\r\ntxt:hi\n\r\n",
            b"$3\r\nhi\n\r\n",
        ),
        (
            Frame::Map(vec![
                (Frame::Bulk(b("k")), Frame::Integer(1)),
                (Frame::SimpleString(b("s")), Frame::Null),
            ]),
            b"%2\r\n$1\r\nk\r\n:1\r\n+s\r\n_\r\n",
            b"*4\r\n$1\r\nk\r\n:1\r\n+s\r\n$-1\r\n",
        ),
        (
            Frame::Set(vec![Frame::Integer(1)]),
            b"~1\r\n:1\r\n",
            b"*1\r\n:1\r\n",
        ),
        (
            Frame::Attribute {
                attrs: vec![(Frame::Bulk(b("ttl")), Frame::Integer(3))],
                data: Box::new(Frame::Integer(7)),
            },
            b"|1\r\n$3\r\nttl\r\n:3\r\n:7\r\n",
            b":7\r\n",
        ),
        (
            Frame::Push(vec![
                Frame::Bulk(b("message")),
                Frame::Bulk(b("ch")),
                Frame::Bulk(b("hi")),
            ]),
            b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
            b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
        ),
    ]
}

#[test]
fn every_type_encodes_as_redis_writes_it() {
    for (frame, resp3, resp2) in table() {
        assert_eq!(enc(&frame, Protocol::Resp3), resp3, "{frame:?} RESP3");
        assert_eq!(enc(&frame, Protocol::Resp2), resp2, "{frame:?} RESP2");
    }
}

#[test]
fn every_type_decodes() {
    for (frame, resp3, resp2) in table() {
        let want3 = match &frame {
            Frame::NullBulk | Frame::NullArray => Frame::Null,
            other => other.clone(),
        };
        assert_eq!(dec(resp3).unwrap(), Some(want3), "{resp3:?}");
        if frame.is_resp2() {
            assert_eq!(dec(resp2).unwrap(), Some(frame.clone()), "{resp2:?}");
        }
    }
}

#[test]
fn every_frame_survives_every_split() {
    for (_, resp3, resp2) in table() {
        for wire in [resp3, resp2] {
            let whole = dec(wire).unwrap().unwrap();
            for cut in 0..wire.len() {
                let mut buf = BytesMut::from(&wire[..cut]);
                assert_eq!(
                    decode_frame(&mut buf, &Limits::default()).unwrap(),
                    None,
                    "{wire:?} cut {cut}"
                );
                assert_eq!(buf.len(), cut, "nothing consumed");
                buf.extend_from_slice(&wire[cut..]);
                assert_eq!(
                    decode_frame(&mut buf, &Limits::default()).unwrap(),
                    Some(whole.clone())
                );
                assert!(buf.is_empty());
            }
        }
    }
}

#[test]
fn doubles_decode_in_every_spelling_redis_uses() {
    for (wire, want) in [
        (&b",inf\r\n"[..], f64::INFINITY),
        (b",-inf\r\n", f64::NEG_INFINITY),
        (b",1.5e-7\r\n", 1.5e-7),
        (b",0\r\n", 0.0),
        (b",-0\r\n", -0.0),
        (b",10\r\n", 10.0),
    ] {
        assert_eq!(dec(wire).unwrap(), Some(Frame::Double(want)), "{wire:?}");
    }
    match dec(b",nan\r\n").unwrap() {
        Some(Frame::Double(d)) => assert!(d.is_nan() && d.is_sign_positive()),
        other => panic!("{other:?}"),
    }
    match dec(b",-nan\r\n").unwrap() {
        Some(Frame::Double(d)) => assert!(d.is_nan() && d.is_sign_negative()),
        other => panic!("{other:?}"),
    }
    assert_eq!(enc(&Frame::Double(f64::NAN), Protocol::Resp3), b",nan\r\n");
}

#[test]
fn malformed_replies_are_errors() {
    type Check = fn(&DecodeError) -> bool;
    let cases: &[(&[u8], Check)] = &[
        (b"?x\r\n", |e| matches!(e, DecodeError::UnknownType(b'?'))),
        (b"$?\r\n", |e| matches!(e, DecodeError::InvalidLength)),
        (b"$-2\r\n", |e| matches!(e, DecodeError::InvalidLength)),
        (b"%-1\r\n", |e| matches!(e, DecodeError::InvalidLength)),
        (b"!-1\r\n", |e| matches!(e, DecodeError::InvalidLength)),
        (b":1.5\r\n", |e| matches!(e, DecodeError::InvalidInteger)),
        (b":99999999999999999999\r\n", |e| {
            matches!(e, DecodeError::InvalidInteger)
        }),
        (b",abc\r\n", |e| matches!(e, DecodeError::InvalidDouble)),
        (b"#x\r\n", |e| matches!(e, DecodeError::InvalidBoolean)),
        (b"_x\r\n", |e| matches!(e, DecodeError::InvalidNull)),
        (b"(12a\r\n", |e| matches!(e, DecodeError::InvalidBigNumber)),
        (b"=3\r\ntxt\r\n", |e| {
            matches!(e, DecodeError::InvalidVerbatim)
        }),
        (b"=5\r\ntxt;x\r\n", |e| {
            matches!(e, DecodeError::InvalidVerbatim)
        }),
        (b"$1\r\nab\r\n", |e| matches!(e, DecodeError::MissingCrlf)),
        (b"$536870913\r\n", |e| {
            matches!(e, DecodeError::BulkTooLong { .. })
        }),
        (b"*2147483648\r\n", |e| {
            matches!(e, DecodeError::TooManyElements { .. })
        }),
    ];
    for (wire, check) in cases {
        let err = dec(wire).unwrap_err();
        assert!(check(&err), "{wire:?} gave {err:?}");
    }
}

#[test]
fn limits_bound_depth_lines_and_sizes() {
    let limits = Limits {
        max_depth: 3,
        max_inline_len: 8,
        max_bulk_len: 4,
        max_multibulk_len: 2,
    };
    let check = |wire: &[u8]| decode_frame(&mut BytesMut::from(wire), &limits);
    assert!(check(b"*1\r\n*1\r\n*1\r\n:1\r\n").unwrap().is_some());
    assert!(matches!(
        check(b"*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n"),
        Err(DecodeError::TooDeep { max: 3 })
    ));
    assert!(matches!(
        check(b"+123456789"),
        Err(DecodeError::LineTooLong { max: 8 })
    ));
    assert!(matches!(check(b"+12345678"), Ok(None)));
    assert!(matches!(
        check(b"$5\r\n"),
        Err(DecodeError::BulkTooLong { len: 5, max: 4 })
    ));
    assert!(matches!(
        check(b"%3\r\n"),
        Err(DecodeError::TooManyElements { len: 3, max: 2 })
    ));
    // A huge declared count with few bytes behind it waits without reserving for it.
    let mut buf = BytesMut::from(&b"*2000000000\r\n:1\r\n"[..]);
    assert!(matches!(
        decode_frame(&mut buf, &Limits::default()),
        Ok(None)
    ));
}

#[test]
fn payloads_are_slices_of_the_read_buffer() {
    let mut buf = BytesMut::from(&b"*2\r\n$3\r\nabc\r\n$3\r\ndef\r\n"[..]);
    let Some(Frame::Array(items)) = decode_frame(&mut buf, &Limits::default()).unwrap() else {
        panic!()
    };
    let (Frame::Bulk(x), Frame::Bulk(y)) = (&items[0], &items[1]) else {
        panic!()
    };
    assert_eq!(y.as_ptr() as usize - x.as_ptr() as usize, 3 + 2 + 4);
}

#[test]
fn reply_writer_matches_redis() {
    let mut out = BytesMut::new();
    let mut w = ReplyWriter::new(&mut out, Protocol::Resp2);
    assert_eq!(w.protocol(), Protocol::Resp2);
    w.ok();
    w.simple(b"PONG");
    w.error(b"ERR bad\r\nthing");
    w.integer(0);
    w.bulk(b"v");
    w.null();
    w.null_array();
    w.array_len(2);
    w.map_len(2);
    w.set_len(3);
    w.push_len(3);
    w.double(2.5);
    w.boolean(true);
    w.verbatim(b"txt", b"info");
    w.big_number(b"123");
    assert_eq!(
        &out[..],
        &b"+OK\r\n+PONG\r\n-ERR bad  thing\r\n:0\r\n$1\r\nv\r\n$-1\r\n*-1\r\n*2\r\n*4\r\n*3\r\n*3\r\n$3\r\n2.5\r\n:1\r\n$4\r\ninfo\r\n$3\r\n123\r\n"[..]
    );
    let mut out = BytesMut::new();
    let mut w = ReplyWriter::new(&mut out, Protocol::Resp3);
    w.null();
    w.null_array();
    w.map_len(2);
    w.set_len(3);
    w.push_len(3);
    w.double(2.5);
    w.boolean(false);
    w.verbatim(b"txt", b"info");
    w.big_number(b"123");
    assert_eq!(
        &out[..],
        &b"_\r\n_\r\n%2\r\n~3\r\n>3\r\n,2.5\r\n#f\r\n=8\r\ntxt:info\r\n(123\r\n"[..]
    );
}

#[test]
fn doubles_print_as_percent_17g() {
    let text = include_str!("fixtures/doubles-g17.txt");
    let mut n = 0;
    for l in text.lines() {
        let (bits, want) = l.split_once(' ').unwrap();
        let d = f64::from_bits(bits.parse().unwrap());
        let mut out = BytesMut::new();
        ReplyWriter::new(&mut out, Protocol::Resp3).double(d);
        assert_eq!(&out[..], format!(",{want}\r\n").as_bytes(), "{d:e}");
        n += 1;
    }
    assert_eq!(n, 6000);
}
