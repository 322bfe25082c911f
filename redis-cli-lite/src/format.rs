//! Replies rendered as redis-cli 7.0.15 renders them: the "standard" form a terminal gets
//! (numbered, quoted, `(integer) 1`) and the raw form a pipe gets (one value per line).

use resp_proto::{encode_frame, BytesMut, Frame, Protocol};

/// How replies are printed, as redis-cli chooses: standard when stdout is a terminal or with
/// `--no-raw`, raw when stdout is a pipe or with `--raw`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// `1) "a"`, `(integer) 1`, `(nil)`, `(error) ERR ...`.
    Standard,
    /// Bare values, one per line.
    Raw,
}

/// Replies redis-cli 7.0.15 cannot print: it reports them on stderr and exits with status 1,
/// and so do we (the messages are its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unprintable {
    /// RESP3 big number: hiredis knows the type, redis-cli's printers do not.
    BigNumber,
    /// RESP3 attribute: the hiredis bundled with 7.0 refuses the `|` byte.
    Attribute,
}

impl Unprintable {
    /// The line redis-cli writes to stderr before exiting.
    pub fn message(self) -> &'static str {
        match self {
            Unprintable::BigNumber => "Unknown reply type: 13",
            Unprintable::Attribute => "Error: Protocol error, got \"|\" as reply type byte",
        }
    }
}

/// Finds a reply type redis-cli cannot print, anywhere in `frame`.
pub fn unprintable(frame: &Frame) -> Option<Unprintable> {
    match frame {
        Frame::BigNumber(_) => Some(Unprintable::BigNumber),
        Frame::Attribute { .. } => Some(Unprintable::Attribute),
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            items.iter().find_map(unprintable)
        }
        Frame::Map(pairs) => pairs
            .iter()
            .find_map(|(k, v)| unprintable(k).or_else(|| unprintable(v))),
        _ => None,
    }
}

/// The text of a double as the server wrote it. Redis writes `%.17g` (and `inf`/`-inf`), which
/// is what `encode_frame` produces, so re-encoding gives back the bytes that came in.
fn double_text(d: f64, out: &mut Vec<u8>) {
    let mut buf = BytesMut::new();
    encode_frame(&Frame::Double(d), Protocol::Resp3, &mut buf);
    let text = buf
        .strip_prefix(b",")
        .and_then(|t| t.strip_suffix(b"\r\n"))
        .unwrap_or(&buf[..]);
    out.extend_from_slice(text);
}

/// The standard form of `frame`, newline-terminated, as redis-cli's `cliFormatReplyTTY`.
pub fn standard(frame: &Frame, out: &mut Vec<u8>) {
    standard_nested(frame, b"", out);
}

fn standard_nested(frame: &Frame, prefix: &[u8], out: &mut Vec<u8>) {
    match frame {
        Frame::Error(e) | Frame::BulkError(e) => {
            out.extend_from_slice(b"(error) ");
            out.extend_from_slice(e);
            out.push(b'\n');
        }
        Frame::SimpleString(s) => {
            out.extend_from_slice(s);
            out.push(b'\n');
        }
        Frame::Integer(n) => {
            out.extend_from_slice(format!("(integer) {n}\n").as_bytes());
        }
        Frame::Double(d) => {
            out.extend_from_slice(b"(double) ");
            double_text(*d, out);
            out.push(b'\n');
        }
        Frame::Bulk(b) => {
            resp_proto::push_repr(out, b);
            out.push(b'\n');
        }
        Frame::Verbatim { data, .. } => {
            out.extend_from_slice(data);
            out.push(b'\n');
        }
        Frame::BigNumber(digits) => {
            // Never reached from the printers' callers (see `unprintable`); kept total.
            out.extend_from_slice(digits);
            out.push(b'\n');
        }
        Frame::NullBulk | Frame::NullArray | Frame::Null => out.extend_from_slice(b"(nil)\n"),
        Frame::Boolean(b) => out.extend_from_slice(if *b { b"(true)\n" } else { b"(false)\n" }),
        Frame::Array(items) => list(items, b')', b"(empty array)\n", prefix, out),
        Frame::Push(items) => list(items, b')', b"(empty push)\n", prefix, out),
        Frame::Set(items) => list(items, b'~', b"(empty set)\n", prefix, out),
        Frame::Map(pairs) => map(pairs, prefix, out),
        Frame::Attribute { data, .. } => standard_nested(data, prefix, out),
    }
}

/// Width of the largest index, and the prefix nested elements get: two more columns than it.
fn nested_prefix(count: usize, prefix: &[u8]) -> (usize, Vec<u8>) {
    let width = count.to_string().len();
    let mut nested = prefix.to_vec();
    nested.resize(prefix.len() + width + 2, b' ');
    (width, nested)
}

/// The first element follows the index its parent already printed, so only the later ones
/// repeat the prefix.
fn index(i: usize, width: usize, sep: u8, prefix: &[u8], out: &mut Vec<u8>) {
    if i > 0 {
        out.extend_from_slice(prefix);
    }
    out.extend_from_slice(format!("{:>width$}{} ", i + 1, char::from(sep)).as_bytes());
}

fn list(items: &[Frame], sep: u8, empty: &[u8], prefix: &[u8], out: &mut Vec<u8>) {
    if items.is_empty() {
        out.extend_from_slice(empty);
        return;
    }
    let (width, nested) = nested_prefix(items.len(), prefix);
    for (i, item) in items.iter().enumerate() {
        index(i, width, sep, prefix, out);
        standard_nested(item, &nested, out);
    }
}

fn map(pairs: &[(Frame, Frame)], prefix: &[u8], out: &mut Vec<u8>) {
    if pairs.is_empty() {
        out.extend_from_slice(b"(empty hash)\n");
        return;
    }
    let (width, nested) = nested_prefix(pairs.len(), prefix);
    for (i, (key, value)) in pairs.iter().enumerate() {
        index(i, width, b'#', prefix, out);
        standard_nested(key, &nested, out);
        if out.last() == Some(&b'\n') {
            out.pop();
        }
        out.extend_from_slice(b" => ");
        // A value of several lines starts on its own line, aligned with the key.
        let mut text = Vec::new();
        standard_nested(value, &nested, &mut text);
        if text.iter().filter(|&&c| c == b'\n').count() > 1 {
            out.push(b'\n');
            out.extend_from_slice(&nested);
        }
        out.extend_from_slice(&text);
    }
}

/// The raw form of `frame`, without the final newline, as redis-cli's `cliFormatReplyRaw`.
pub fn raw(frame: &Frame, out: &mut Vec<u8>) {
    match frame {
        Frame::NullBulk | Frame::NullArray | Frame::Null => {}
        Frame::Error(e) | Frame::BulkError(e) => {
            out.extend_from_slice(e);
            out.push(b'\n');
        }
        Frame::SimpleString(s) | Frame::Bulk(s) | Frame::BigNumber(s) => out.extend_from_slice(s),
        Frame::Verbatim { data, .. } => out.extend_from_slice(data),
        Frame::Boolean(b) => out.extend_from_slice(if *b { b"(true)" } else { b"(false)" }),
        Frame::Integer(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Frame::Double(d) => double_text(*d, out),
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b'\n');
                }
                raw(item, out);
            }
        }
        Frame::Map(pairs) => {
            for (i, (key, value)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(b'\n');
                }
                raw(key, out);
                out.push(b' ');
                raw(value, out);
            }
        }
        Frame::Attribute { data, .. } => raw(data, out),
    }
}

/// What redis-cli writes for one reply: raw-only commands (INFO, CLIENT LIST, ...) get the raw
/// form with nothing added; otherwise the mode's form, raw followed by a newline.
pub fn reply(frame: &Frame, mode: OutputMode, raw_command: bool, out: &mut Vec<u8>) {
    if raw_command {
        raw(frame, out);
        return;
    }
    match mode {
        OutputMode::Standard => standard(frame, out),
        OutputMode::Raw => {
            raw(frame, out);
            out.push(b'\n');
        }
    }
}

/// Commands whose replies redis-cli always prints raw, because they are text meant for humans.
pub fn is_raw_command(args: &[Vec<u8>]) -> bool {
    let word = |i: usize, w: &str| {
        args.get(i)
            .is_some_and(|a| a.eq_ignore_ascii_case(w.as_bytes()))
    };
    let argc = args.len();
    word(0, "info")
        || word(0, "lolwut")
        || (argc >= 2 && word(0, "debug") && (word(1, "htstats") || word(1, "htstats-key")))
        || (argc >= 2 && word(0, "memory") && (word(1, "malloc-stats") || word(1, "doctor")))
        || (argc == 2 && word(0, "cluster") && (word(1, "nodes") || word(1, "info")))
        || (argc >= 2 && word(0, "client") && word(1, "list"))
        || (argc == 3 && word(0, "latency") && word(1, "graph"))
        || (argc == 2 && word(0, "latency") && word(1, "doctor"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use resp_proto::Bytes;

    fn bulk(s: &str) -> Frame {
        Frame::Bulk(Bytes::copy_from_slice(s.as_bytes()))
    }

    fn std_text(f: &Frame) -> String {
        let mut out = Vec::new();
        standard(f, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn nested_arrays_indent_by_index_width() {
        let mut items: Vec<Frame> = (0..9).map(Frame::Integer).collect();
        items.push(Frame::Array(vec![
            bulk("a"),
            Frame::Array(vec![bulk("b"), bulk("c")]),
        ]));
        let text = std_text(&Frame::Array(items));
        assert!(
            text.starts_with(" 1) (integer) 0\n 2) (integer) 1\n"),
            "{text}"
        );
        assert!(
            text.ends_with("10) 1) \"a\"\n    2) 1) \"b\"\n       2) \"c\"\n"),
            "{text}"
        );
    }

    #[test]
    fn escapes_like_sdscatrepr() {
        let mut out = Vec::new();
        resp_proto::push_repr(&mut out, b"a\x01\t\"\\b\xff\n");
        assert_eq!(out, b"\"a\\x01\\t\\\"\\\\b\\xff\\n\"".to_vec());
    }

    #[test]
    fn map_values_follow_the_key() {
        let f = Frame::Map(vec![(
            bulk("k"),
            Frame::Set(vec![Frame::Integer(1), bulk("x")]),
        )]);
        assert_eq!(
            std_text(&f),
            "1# \"k\" => \n   1~ (integer) 1\n   2~ \"x\"\n"
        );
        let one = Frame::Map(vec![(bulk("k"), Frame::Set(vec![Frame::Integer(1)]))]);
        assert_eq!(std_text(&one), "1# \"k\" => 1~ (integer) 1\n");
    }

    #[test]
    fn doubles_print_as_the_server_wrote_them() {
        assert_eq!(
            std_text(&Frame::Double(0.1)),
            "(double) 0.10000000000000001\n"
        );
        assert_eq!(std_text(&Frame::Double(f64::INFINITY)), "(double) inf\n");
    }

    #[test]
    fn raw_joins_with_newlines_and_drops_nils() {
        let f = Frame::Array(vec![
            Frame::Integer(1),
            Frame::NullBulk,
            Frame::Array(vec![]),
            bulk("x"),
        ]);
        let mut out = Vec::new();
        reply(&f, OutputMode::Raw, false, &mut out);
        assert_eq!(out, b"1\n\n\nx\n".to_vec());
    }
}
