//! Arbitrary bytes into both decoders: no panic, no runaway allocation, decoded frames and
//! commands re-encode and decode to themselves, and splitting the input changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resp_proto::{decode_frame, encode_frame, Bytes, BytesMut, CommandDecoder, Frame, Limits, Protocol};

/// What a frame becomes after a RESP3 encode and decode: both RESP2 nulls are `_`.
fn as_resp3(f: &Frame) -> Frame {
    match f {
        Frame::NullBulk | Frame::NullArray => Frame::Null,
        Frame::Array(v) => Frame::Array(v.iter().map(as_resp3).collect()),
        Frame::Set(v) => Frame::Set(v.iter().map(as_resp3).collect()),
        Frame::Push(v) => Frame::Push(v.iter().map(as_resp3).collect()),
        Frame::Map(p) => Frame::Map(p.iter().map(|(k, v)| (as_resp3(k), as_resp3(v))).collect()),
        Frame::Attribute { attrs, data } => Frame::Attribute {
            attrs: attrs.iter().map(|(k, v)| (as_resp3(k), as_resp3(v))).collect(),
            data: Box::new(as_resp3(data)),
        },
        other => other.clone(),
    }
}

fn frames(input: &[u8], limits: &Limits) -> (Vec<Frame>, bool) {
    let mut buf = BytesMut::from(input);
    let mut out = Vec::new();
    loop {
        match decode_frame(&mut buf, limits) {
            Ok(Some(f)) => out.push(f),
            Ok(None) => return (out, false),
            Err(_) => return (out, true),
        }
    }
}

fn commands(parts: &[&[u8]]) -> (Vec<Vec<Bytes>>, bool) {
    let mut d = CommandDecoder::new(Limits::default());
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for part in parts {
        buf.extend_from_slice(part);
        loop {
            match d.decode(&mut buf, true) {
                Ok(Some(cmd)) => out.push(cmd),
                Ok(None) => break,
                Err(_) => return (out, true),
            }
        }
    }
    (out, false)
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_depth: 32, ..Limits::default() };
    let (decoded, _) = frames(data, &limits);
    for f in &decoded {
        let (proto, want) = if f.is_resp2() { (Protocol::Resp2, f.clone()) } else { (Protocol::Resp3, as_resp3(f)) };
        let mut wire = BytesMut::new();
        encode_frame(f, proto, &mut wire);
        let again = decode_frame(&mut wire, &limits);
        assert!(matches!(&again, Ok(Some(g)) if *g == want), "{f:?} -> {again:?}");
        assert!(wire.is_empty());
    }

    // Requests: the same commands whether the bytes come at once or in two reads
    // (authentication only matters for limits, so use `true` for a fair comparison).
    let cut = data.first().map_or(0, |&b| usize::from(b) % (data.len() + 1));
    let mut d = CommandDecoder::new(Limits::default());
    let mut buf = BytesMut::from(data);
    let mut whole = Vec::new();
    let mut whole_err = false;
    loop {
        match d.decode(&mut buf, true) {
            Ok(Some(cmd)) => whole.push(cmd),
            Ok(None) => break,
            Err(_) => {
                whole_err = true;
                break;
            }
        }
    }
    // The reused argument vector of `next_command` yields exactly what `decode` hands over,
    // errors included, and keeps no argument of one command in the next.
    let mut d = CommandDecoder::new(Limits::default());
    let mut buf = BytesMut::from(data);
    let mut reused = Vec::new();
    let reused_err = loop {
        match d.next_command(&mut buf, true) {
            Ok(Some(cmd)) => reused.push(cmd.clone()),
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    assert_eq!(whole, reused);
    assert_eq!(whole_err, reused_err.is_some());

    let mut d = CommandDecoder::new(Limits::default());
    let mut buf = BytesMut::new();
    let mut split = Vec::new();
    let mut split_err = false;
    'parts: for part in [&data[..cut], &data[cut..]] {
        buf.extend_from_slice(part);
        loop {
            match d.next_command(&mut buf, true) {
                Ok(Some(cmd)) => split.push(std::mem::take(cmd)),
                Ok(None) => break,
                Err(_) => {
                    split_err = true;
                    break 'parts;
                }
            }
        }
    }
    // Below the 64 KB line limit a split changes nothing. Above it, it can: Redis too accepts a
    // long inline line that arrives whole and refuses it when 64 KB arrive without the newline.
    if data.len() <= Limits::default().max_inline_len {
        assert_eq!(whole, split);
        assert_eq!(whole_err, split_err);
    }
    for cmd in &whole {
        if cmd.is_empty() {
            continue;
        }
        let mut wire = BytesMut::new();
        encode_frame(&Frame::Array(cmd.iter().cloned().map(Frame::Bulk).collect()), Protocol::Resp2, &mut wire);
        let (again, err) = commands(&[&wire]);
        assert!(!err);
        assert_eq!(again.as_slice(), std::slice::from_ref(cmd));
    }
});
