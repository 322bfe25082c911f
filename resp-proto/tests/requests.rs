//! The request decoder against what redis-server 7.0.15 does with the same bytes.
#![allow(clippy::unwrap_used, clippy::panic)]

use resp_proto::{Bytes, BytesMut, CommandDecoder, Limits, ProtocolError};

fn args(v: &[&[u8]]) -> Vec<Bytes> {
    v.iter().map(|a| Bytes::copy_from_slice(a)).collect()
}

/// Everything decodable from `input` at once, then the error if any (as the server would see
/// after one read of these bytes).
fn run(input: &[u8], authenticated: bool) -> (Vec<Vec<Bytes>>, Option<ProtocolError>) {
    let mut d = CommandDecoder::new(Limits::default());
    let mut buf = BytesMut::from(input);
    let mut out = Vec::new();
    loop {
        match d.decode(&mut buf, authenticated) {
            Ok(Some(cmd)) => out.push(cmd),
            Ok(None) => return (out, None),
            Err(e) => return (out, Some(e)),
        }
    }
}

fn reply(e: ProtocolError) -> Vec<u8> {
    let mut out = BytesMut::new();
    e.write_reply(&mut out);
    out.to_vec()
}

#[test]
fn multibulk_and_inline_pipelined() {
    let (cmds, err) = run(
        b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\nPING\r\n*1\r\n$4\r\nPING\r\n",
        true,
    );
    assert_eq!(err, None);
    assert_eq!(
        cmds,
        vec![
            args(&[b"SET", b"a", b"b"]),
            args(&[b"PING"]),
            args(&[b"PING"])
        ]
    );
}

/// Each row: bytes sent on a fresh connection, the commands redis-server 7.0.15 ran before the
/// error, and the exact reply bytes of the error (after which it closed the connection).
/// Every row was sent to a real 7.0.15 with python and its reply recorded.
#[test]
fn malformed_requests_get_redis_errors() {
    type Row = (&'static [u8], usize, &'static [u8]);
    let rows: &[Row] = &[
        (
            b"*abc\r\n",
            0,
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*2147483648\r\n",
            0,
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*-0\r\n",
            0,
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*01\r\n$4\r\nPING\r\n",
            0,
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*+1\r\n$4\r\nPING\r\n",
            0,
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"* 1\r\n",
            0,
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*\r\n",
            0,
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*1\r\n$4\r\nPING\r\n*x\r\n",
            1,
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*1\r\nx4\r\nPING\r\n",
            0,
            b"-ERR Protocol error: expected '$', got 'x'\r\n",
        ),
        (
            b"*1\r\n$abc\r\nPING\r\n",
            0,
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n$-1\r\n",
            0,
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n$01\r\nP\r\n",
            0,
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n$536870913\r\n",
            0,
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"ECHO \"a\"b\r\n",
            0,
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        (
            b"ECHO \"ab\r\n",
            0,
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        (
            b"ECHO a\"b c\"d\r\n",
            0,
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        (
            b"PING\r\nECHO 'x\r\n",
            1,
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
    ];
    for &(input, ran, want) in rows {
        let (cmds, err) = run(input, true);
        let shown = String::from_utf8_lossy(input);
        assert_eq!(cmds.len(), ran, "{shown:?}");
        let err = err.unwrap_or_else(|| panic!("no error for {shown:?}"));
        assert!(err.closes_connection());
        assert_eq!(reply(err), want, "{shown:?}");
        assert_eq!(format!("-ERR {err}\r\n").as_bytes(), want, "{shown:?}");
    }
}

#[test]
fn expected_dollar_shows_the_byte_as_redis_does() {
    // Redis formats the byte with %c and turns CR/LF into spaces.
    assert_eq!(
        reply(run(b"*1\r\n\r\n", true).1.unwrap()),
        b"-ERR Protocol error: expected '$', got ' '\r\n"
    );
    assert_eq!(
        reply(run(b"*1\r\n\xff4\r\n", true).1.unwrap()),
        b"-ERR Protocol error: expected '$', got '\xff'\r\n"
    );
}

#[test]
fn the_64k_limits() {
    let max = 64 * 1024;
    // Verified: 65536 bytes without a line end wait, one more is refused.
    let inline = vec![b'A'; max];
    assert_eq!(run(&inline, true), (vec![], None));
    let mut longer = inline.clone();
    longer.push(b'A');
    assert_eq!(
        run(&longer, true).1,
        Some(ProtocolError::TooBigInlineRequest)
    );
    assert_eq!(
        reply(ProtocolError::TooBigInlineRequest),
        b"-ERR Protocol error: too big inline request\r\n"
    );

    let mut mbulk = b"*".to_vec();
    mbulk.extend(std::iter::repeat_n(b'1', max - 1));
    assert_eq!(run(&mbulk, true), (vec![], None));
    mbulk.push(b'1');
    assert_eq!(
        run(&mbulk, true).1,
        Some(ProtocolError::TooBigMbulkCountString)
    );
    assert_eq!(
        reply(ProtocolError::TooBigMbulkCountString),
        b"-ERR Protocol error: too big mbulk count string\r\n"
    );

    // Counted from the argument header, after the `*1\r\n` already consumed.
    let mut bulk = b"*1\r\n$".to_vec();
    bulk.extend(std::iter::repeat_n(b'1', max - 1));
    assert_eq!(run(&bulk, true), (vec![], None));
    bulk.push(b'1');
    assert_eq!(
        run(&bulk, true).1,
        Some(ProtocolError::TooBigBulkCountString)
    );
    assert_eq!(
        reply(ProtocolError::TooBigBulkCountString),
        b"-ERR Protocol error: too big bulk count string\r\n"
    );

    // A line longer than 64 KB that is complete when looked at is accepted (the limit is only
    // checked when no line end is present), as Redis accepted a 70000-byte ECHO in one read.
    let mut long_line = b"ECHO ".to_vec();
    long_line.extend(std::iter::repeat_n(b'A', 70_000));
    long_line.extend_from_slice(b"\r\n");
    let (cmds, err) = run(&long_line, true);
    assert_eq!(err, None);
    assert_eq!(cmds[0][1].len(), 70_000);
}

#[test]
fn unauthenticated_limits() {
    // Verified with `requirepass`: before AUTH, *11 and $16385 are refused; *10 and $16384 wait.
    assert_eq!(
        run(b"*11\r\n", false).1,
        Some(ProtocolError::UnauthenticatedMultibulkLength)
    );
    assert_eq!(run(b"*10\r\n", false), (vec![], None));
    assert_eq!(
        run(b"*1\r\n$16385\r\n", false).1,
        Some(ProtocolError::UnauthenticatedBulkLength)
    );
    assert_eq!(run(b"*1\r\n$16384\r\n", false), (vec![], None));
    assert_eq!(run(b"*11\r\n", true), (vec![], None));
    assert_eq!(run(b"*1\r\n$16385\r\n", true), (vec![], None));
    // The general limits still come first.
    assert_eq!(
        run(b"*2147483648\r\n", false).1,
        Some(ProtocolError::InvalidMultibulkLength)
    );
    assert_eq!(
        run(b"*1\r\n$536870913\r\n", false).1,
        Some(ProtocolError::InvalidBulkLength)
    );
    assert_eq!(
        reply(ProtocolError::UnauthenticatedMultibulkLength),
        b"-ERR Protocol error: unauthenticated multibulk length\r\n"
    );
    assert_eq!(
        reply(ProtocolError::UnauthenticatedBulkLength),
        b"-ERR Protocol error: unauthenticated bulk length\r\n"
    );
}

#[test]
fn configured_bulk_limit() {
    let mut d = CommandDecoder::new(Limits::default());
    d.set_limits(Limits {
        max_bulk_len: 4,
        ..Limits::default()
    });
    let mut buf = BytesMut::from(&b"*1\r\n$5\r\n"[..]);
    assert_eq!(
        d.decode(&mut buf, true),
        Err(ProtocolError::InvalidBulkLength)
    );
    let mut d = CommandDecoder::new(Limits {
        max_bulk_len: 4,
        ..Limits::default()
    });
    let mut buf = BytesMut::from(&b"*1\r\n$4\r\nPING\r\n"[..]);
    assert_eq!(d.decode(&mut buf, true).unwrap(), Some(args(&[b"PING"])));
}

#[test]
fn redis_quirks_are_kept() {
    // Verified against 7.0.15: the bytes after a payload and after a count's CR are not checked.
    assert_eq!(
        run(b"*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n", true),
        (vec![args(&[b"PING"]), args(&[b"PING"])], None)
    );
    assert_eq!(
        run(b"*1\rX$4\r\nPING\r\n", true),
        (vec![args(&[b"PING"])], None)
    );
    assert_eq!(
        run(b"*1\r\n$4\rXPING\r\n", true),
        (vec![args(&[b"PING"])], None)
    );
    // Empty requests are skipped.
    assert_eq!(
        run(b"*-1\r\n*0\r\n\r\n   \r\n\nPING\n", true),
        (vec![args(&[b"PING"])], None)
    );
    // A NUL before the line end hides it: Redis waits (no reply) for these.
    assert_eq!(run(b"PI\x00NG\r\n", true), (vec![], None));
    assert_eq!(run(b"*\x001\r\n$4\r\nPING\r\n", true), (vec![], None));
    // ... but a NUL inside a bulk payload is just data.
    assert_eq!(
        run(b"*1\r\n$4\r\nP\x00NG\r\n", true),
        (vec![args(&[b"P\x00NG"])], None)
    );
    // A CR inside an inline line separates arguments (Redis answered ECHO a\rb with an arity
    // error: three arguments).
    assert_eq!(
        run(b"ECHO a\rb\r\n", true),
        (vec![args(&[b"ECHO", b"a", b"b"])], None)
    );
    assert_eq!(
        run(b"ECHO \"a b\"\r\n", true),
        (vec![args(&[b"ECHO", b"a b"])], None)
    );
    assert_eq!(
        run(b"ECHO \"\\x41\\x4g\\n\"\r\n", true),
        (vec![args(&[b"ECHO", b"Ax4g\n"])], None)
    );
    assert_eq!(run(b"ECHO ''\n", true), (vec![args(&[b"ECHO", b""])], None));
}

#[test]
fn any_split_gives_the_same_commands() {
    let input: &[u8] = b"*3\r\n$3\r\nSET\r\n$5\r\nkey:1\r\n$10\r\nvalue\r\nxyz\r\nGET \"key:1\"\r\n*0\r\n*2\r\n$3\r\nGET\r\n$0\r\n\r\n";
    let want = run(input, true);
    assert_eq!(want.0.len(), 3);
    for cut in 0..=input.len() {
        for cut2 in cut..=input.len() {
            let mut d = CommandDecoder::new(Limits::default());
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            for part in [&input[..cut], &input[cut..cut2], &input[cut2..]] {
                buf.extend_from_slice(part);
                while let Some(cmd) = d.decode(&mut buf, true).unwrap() {
                    got.push(cmd);
                }
            }
            assert_eq!(got, want.0, "cuts at {cut} and {cut2}");
            assert!(buf.is_empty() && !d.in_progress());
        }
    }
}

#[test]
fn large_argument_in_small_reads_is_held_by_the_decoder() {
    let payload = vec![b'v'; 1 << 20];
    let mut wire = format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${}\r\n", payload.len()).into_bytes();
    wire.extend_from_slice(&payload);
    wire.extend_from_slice(b"\r\n");
    let mut d = CommandDecoder::new(Limits::default());
    let mut buf = BytesMut::new();
    let mut result = None;
    for chunk in wire.chunks(1000) {
        buf.extend_from_slice(chunk);
        if let Some(cmd) = d.decode(&mut buf, true).unwrap() {
            result = Some(cmd);
        } else {
            // Everything before the payload in progress has left the buffer.
            assert!(buf.len() <= payload.len() + 2);
        }
    }
    let cmd = result.unwrap();
    assert_eq!(cmd[2].len(), payload.len());
    assert!(buf.is_empty());
}

#[test]
fn arguments_share_the_read_buffer() {
    let mut d = CommandDecoder::new(Limits::default());
    let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n"[..]);
    let cmd = d.decode(&mut buf, true).unwrap().unwrap();
    // Both arguments point into one allocation: the read buffer, not copies.
    let gap = cmd[1].as_ptr() as usize - cmd[0].as_ptr() as usize;
    assert_eq!(gap, 3 + 2 + 4);
}

#[test]
fn the_reused_vector_gives_what_decode_gives() {
    let input: &[u8] = b"*3\r\n$3\r\nSET\r\n$5\r\nkey:1\r\n$10\r\nvalue\r\nxyz\r\nGET \"key:1\"\r\n*0\r\n*2\r\n$3\r\nGET\r\n$0\r\n\r\n";
    let want = run(input, true);
    for cut in 0..=input.len() {
        let mut d = CommandDecoder::new(Limits::default());
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for part in [&input[..cut], &input[cut..]] {
            buf.extend_from_slice(part);
            while let Some(cmd) = d.next_command(&mut buf, true).unwrap() {
                got.push(cmd.clone());
            }
        }
        assert_eq!(got, want.0, "cut at {cut}");
    }
    // Errors too.
    let mut d = CommandDecoder::new(Limits::default());
    let mut buf = BytesMut::from(&b"*1\r\n$4\r\nPING\r\n*1\r\n$x\r\n"[..]);
    assert_eq!(
        d.next_command(&mut buf, true).unwrap().unwrap(),
        &args(&[b"PING"])
    );
    assert_eq!(
        d.next_command(&mut buf, true),
        Err(ProtocolError::InvalidBulkLength)
    );
}

#[test]
fn the_reused_vector_lets_go_of_the_read_buffer_and_of_huge_commands() {
    let n = 5000;
    let mut wire = format!("*{n}\r\n").into_bytes();
    for _ in 0..n {
        wire.extend_from_slice(b"$1\r\nx\r\n");
    }
    let mut d = CommandDecoder::new(Limits::default());
    let mut buf = BytesMut::from(&wire[..]);
    let cmd = d.next_command(&mut buf, true).unwrap().unwrap();
    assert_eq!(cmd.len(), n);
    let payload = cmd[0].clone();
    assert!(d.next_command(&mut buf, true).unwrap().is_none());
    // Waiting for more bytes, the decoder holds no argument: once the read buffer is gone,
    // the only reference left to its memory is ours.
    drop(buf);
    assert!(payload.is_unique());
    let mut buf = BytesMut::from(&b"*1\r\n$4\r\nPING\r\n"[..]);
    let cmd = d.next_command(&mut buf, true).unwrap().unwrap();
    assert_eq!(cmd, &args(&[b"PING"]));
    // The 5000 slots went with the huge command.
    assert!(cmd.capacity() < n);
}
