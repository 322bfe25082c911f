//! Writing replies: straight into the output buffer, RESP2 or RESP3, as Redis 7.0 writes them.

use bytes::{BufMut, BytesMut};

use crate::error::ProtocolError;
use crate::frame::{Frame, Protocol};
use crate::number::{format_double, MAX_DOUBLE_CHARS};

/// Appends a command (`args`, name first) as a RESP multibulk of bulk strings: the form
/// clients send, and the replication stream carries.
pub fn encode_command<A: AsRef<[u8]>>(out: &mut Vec<u8>, args: &[A]) {
    // One reservation for the whole command: a length header is at most 23 bytes.
    out.reserve(args.iter().map(|a| a.as_ref().len() + 25).sum::<usize>() + 23);
    put_header(out, b'*', args.len() as u64);
    for a in args {
        let a = a.as_ref();
        put_header(out, b'$', a.len() as u64);
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// `<tag><n>\r\n`: the header of every counted RESP type, in commands and replies.
fn put_header<B: BufMut>(out: &mut B, tag: u8, n: u64) {
    // Counts and lengths are mostly under 100: fixed-size copies.
    match u8::try_from(n) {
        Ok(n @ 0..=9) => out.put_slice(&[tag, b'0' + n, b'\r', b'\n']),
        Ok(n @ 10..=99) => out.put_slice(&[tag, b'0' + n / 10, b'0' + n % 10, b'\r', b'\n']),
        _ => {
            let mut digits = itoa::Buffer::new();
            out.put_u8(tag);
            out.put_slice(digits.format(n).as_bytes());
            out.put_slice(b"\r\n");
        }
    }
}

/// Appends `frame` to `out` as a connection speaking `proto` receives it (RESP3-only types are
/// downgraded for RESP2 exactly as [`ReplyWriter`] documents).
pub fn encode_frame(frame: &Frame, proto: Protocol, out: &mut BytesMut) {
    ReplyWriter::new(out, proto).frame(frame);
}

/// Writes replies into a connection's output buffer without building [`Frame`]s.
///
/// For a RESP2 connection the RESP3 shapes fall back as Redis 7.0 does: map `%n` -> `*2n`,
/// set `~n` and push `>n` -> `*n`, double -> bulk string (`%.17g`, `inf`, `-inf`),
/// boolean -> `:1`/`:0`, null `_` -> `$-1` (or `*-1` from [`ReplyWriter::null_array`]),
/// big number -> bulk string, verbatim -> bulk string of the text only, bulk error -> simple
/// error with CR/LF turned into spaces, attribute -> left out (only the data it annotates).
pub struct ReplyWriter<'a> {
    out: &'a mut BytesMut,
    proto: Protocol,
}

impl ReplyWriter<'_> {
    /// A writer appending to `out` for a connection speaking `proto`.
    pub fn new(out: &mut BytesMut, proto: Protocol) -> ReplyWriter<'_> {
        ReplyWriter { out, proto }
    }

    /// The protocol replies are written in.
    pub fn protocol(&self) -> Protocol {
        self.proto
    }

    /// The buffer written to, for callers that need to add raw bytes.
    pub fn buffer(&mut self) -> &mut BytesMut {
        self.out
    }

    fn resp3(&self) -> bool {
        self.proto == Protocol::Resp3
    }

    /// `<prefix><n>\r\n`.
    fn header(&mut self, prefix: u8, n: u64) {
        put_header(self.out, prefix, n);
    }

    fn line(&mut self, prefix: u8, text: &[u8]) {
        self.out.reserve(text.len() + 3);
        self.out.put_u8(prefix);
        self.out.put_slice(text);
        self.out.put_slice(b"\r\n");
    }

    fn blob(&mut self, prefix: u8, b: &[u8]) {
        let mut buf = itoa::Buffer::new();
        let digits = buf.format(b.len()).as_bytes();
        self.out.reserve(digits.len() + b.len() + 5);
        self.out.put_u8(prefix);
        self.out.put_slice(digits);
        self.out.put_slice(b"\r\n");
        self.out.put_slice(b);
        self.out.put_slice(b"\r\n");
    }

    /// `+s\r\n`. `s` must not contain CR or LF (Redis does not check either).
    pub fn simple(&mut self, s: &[u8]) {
        self.line(b'+', s);
    }

    /// `+OK\r\n`.
    pub fn ok(&mut self) {
        self.out.put_slice(b"+OK\r\n");
    }

    /// `-msg\r\n`. `msg` starts with the error code (`ERR `, `WRONGTYPE `, `MOVED `...); any CR
    /// or LF inside becomes a space, as Redis does for formatted errors, so the reply stays one
    /// line.
    pub fn error(&mut self, msg: &[u8]) {
        self.out.reserve(msg.len() + 3);
        self.out.put_u8(b'-');
        if memchr::memchr2(b'\r', b'\n', msg).is_some() {
            for &c in msg {
                self.out
                    .put_u8(if c == b'\r' || c == b'\n' { b' ' } else { c });
            }
        } else {
            self.out.put_slice(msg);
        }
        self.out.put_slice(b"\r\n");
    }

    /// The reply for a protocol error: `-ERR Protocol error: ...\r\n`. Close after flushing.
    pub fn protocol_error(&mut self, e: &ProtocolError) {
        e.write_reply(self.out);
    }

    /// `:n\r\n`.
    pub fn integer(&mut self, n: i64) {
        let mut buf = itoa::Buffer::new();
        self.line(b':', buf.format(n).as_bytes());
    }

    /// `$len\r\n<b>\r\n`.
    pub fn bulk(&mut self, b: &[u8]) {
        self.blob(b'$', b);
    }

    /// The null reply: RESP2 `$-1\r\n`, RESP3 `_\r\n`.
    pub fn null(&mut self) {
        self.out
            .put_slice(if self.resp3() { b"_\r\n" } else { b"$-1\r\n" });
    }

    /// The null array reply: RESP2 `*-1\r\n`, RESP3 `_\r\n`.
    pub fn null_array(&mut self) {
        self.out
            .put_slice(if self.resp3() { b"_\r\n" } else { b"*-1\r\n" });
    }

    /// `*n\r\n`; n elements follow.
    pub fn array_len(&mut self, n: usize) {
        self.header(b'*', n as u64);
    }

    /// RESP3 `%n\r\n`, RESP2 `*2n\r\n`; n key/value pairs follow.
    pub fn map_len(&mut self, n: usize) {
        if self.resp3() {
            self.header(b'%', n as u64);
        } else {
            self.header(b'*', (n as u64).saturating_mul(2));
        }
    }

    /// RESP3 `~n\r\n`, RESP2 `*n\r\n`.
    pub fn set_len(&mut self, n: usize) {
        self.header(if self.resp3() { b'~' } else { b'*' }, n as u64);
    }

    /// RESP3 `>n\r\n`, RESP2 `*n\r\n`.
    pub fn push_len(&mut self, n: usize) {
        self.header(if self.resp3() { b'>' } else { b'*' }, n as u64);
    }

    /// RESP3 `|n\r\n` (n pairs, then the annotated reply). RESP2 has no attributes: returns
    /// false and writes nothing, and the caller must skip the pairs.
    pub fn attribute_len(&mut self, n: usize) -> bool {
        if self.resp3() {
            self.header(b'|', n as u64);
        }
        self.resp3()
    }

    /// RESP3 `,<%.17g>\r\n`, RESP2 the same text as a bulk string; `inf`, `-inf` for infinities.
    pub fn double(&mut self, d: f64) {
        let mut buf = [0u8; MAX_DOUBLE_CHARS];
        let n = format_double(d, &mut buf);
        let text = buf.get(..n).unwrap_or_default();
        if self.resp3() {
            self.line(b',', text);
        } else {
            self.blob(b'$', text);
        }
    }

    /// RESP3 `#t`/`#f`, RESP2 `:1`/`:0`.
    pub fn boolean(&mut self, b: bool) {
        let s: &[u8] = match (self.resp3(), b) {
            (true, true) => b"#t\r\n",
            (true, false) => b"#f\r\n",
            (false, true) => b":1\r\n",
            (false, false) => b":0\r\n",
        };
        self.out.put_slice(s);
    }

    /// RESP3 `=len\r\nfmt:text\r\n`, RESP2 a bulk string of `text` alone.
    pub fn verbatim(&mut self, format: &[u8; 3], text: &[u8]) {
        if !self.resp3() {
            self.blob(b'$', text);
            return;
        }
        let mut buf = itoa::Buffer::new();
        let digits = buf.format(text.len() + 4).as_bytes();
        self.out.reserve(digits.len() + text.len() + 9);
        self.out.put_u8(b'=');
        self.out.put_slice(digits);
        self.out.put_slice(b"\r\n");
        self.out.put_slice(format);
        self.out.put_u8(b':');
        self.out.put_slice(text);
        self.out.put_slice(b"\r\n");
    }

    /// RESP3 `(digits\r\n`, RESP2 a bulk string of the digits.
    pub fn big_number(&mut self, digits: &[u8]) {
        if self.resp3() {
            self.line(b'(', digits);
        } else {
            self.blob(b'$', digits);
        }
    }

    /// RESP3 `!len\r\nmsg\r\n`, RESP2 a simple error (`-msg`, CR/LF turned into spaces).
    pub fn bulk_error(&mut self, msg: &[u8]) {
        if self.resp3() {
            self.blob(b'!', msg);
        } else {
            self.error(msg);
        }
    }

    /// Writes a whole frame. Simple strings and errors are written as they are (a decoded frame
    /// re-encodes to the same bytes); use [`ReplyWriter::error`] to sanitise a message.
    pub fn frame(&mut self, f: &Frame) {
        match f {
            Frame::SimpleString(s) => self.line(b'+', s),
            Frame::Error(s) => self.line(b'-', s),
            Frame::Integer(n) => self.integer(*n),
            Frame::Bulk(b) => self.bulk(b),
            Frame::NullBulk | Frame::Null => self.null(),
            Frame::NullArray => self.null_array(),
            Frame::Array(items) => {
                self.array_len(items.len());
                items.iter().for_each(|i| self.frame(i));
            }
            Frame::Boolean(b) => self.boolean(*b),
            Frame::Double(d) => self.double(*d),
            Frame::BigNumber(d) => self.big_number(d),
            Frame::BulkError(e) => self.bulk_error(e),
            Frame::Verbatim { format, data } => self.verbatim(format, data),
            Frame::Map(pairs) => {
                self.map_len(pairs.len());
                for (k, v) in pairs {
                    self.frame(k);
                    self.frame(v);
                }
            }
            Frame::Set(items) => {
                self.set_len(items.len());
                items.iter().for_each(|i| self.frame(i));
            }
            Frame::Attribute { attrs, data } => {
                if self.attribute_len(attrs.len()) {
                    for (k, v) in attrs {
                        self.frame(k);
                        self.frame(v);
                    }
                }
                self.frame(data);
            }
            Frame::Push(items) => {
                self.push_len(items.len());
                items.iter().for_each(|i| self.frame(i));
            }
        }
    }
}
