//! The reply decoder (client side): RESP2 and RESP3 frames, streaming, built on `nom`.
//!
//! Two passes over the same parser. The first only measures: it validates the whole frame and
//! finds where it ends without allocating anything (`Vec<()>` never allocates) and without
//! touching bulk payloads beyond checking their length. Only when the frame is complete is it
//! split off the buffer, frozen, and parsed again to build [`Frame`]s whose payloads are slices
//! of that one frozen buffer. A frame still arriving therefore costs one header scan per read,
//! and consumes nothing.

use bytes::{Bytes, BytesMut};
use nom::error::{ErrorKind, ParseError};
use nom::{Err, IResult, Needed};

use crate::error::DecodeError;
use crate::frame::Frame;
use crate::limits::Limits;
use crate::number::parse_double;

/// Decodes one frame from the front of `buf`.
///
/// `Ok(None)`: the frame is not complete yet; nothing was consumed. `Ok(Some(frame))`: the
/// frame's bytes were removed from `buf`. `Err`: the stream is corrupt or beyond `limits`; drop
/// the connection.
pub fn decode_frame(buf: &mut BytesMut, limits: &Limits) -> Result<Option<Frame>, DecodeError> {
    let len = match frame(&Measure, limits, 0, &buf[..]) {
        Ok((rest, ())) => buf.len() - rest.len(),
        Err(Err::Incomplete(_)) => return Ok(None),
        Err(Err::Error(e) | Err::Failure(e)) => return Err(e.0),
    };
    let bytes = buf.split_to(len).freeze();
    match frame(&Build(&bytes), limits, 0, &bytes) {
        Ok((_, f)) => Ok(Some(f)),
        Err(Err::Error(e) | Err::Failure(e)) => Err(e.0),
        // The measuring pass saw the whole frame, so this cannot happen; report it as corrupt
        // rather than trusting a frame we could not rebuild.
        Err(Err::Incomplete(_)) => Err(DecodeError::InvalidLength),
    }
}

/// The nom error type: a [`DecodeError`]. nom's own error kinds do not arise here (streaming
/// `take` only reports `Incomplete`); should one, it reads as a missing CRLF.
#[derive(Debug)]
struct PErr(DecodeError);

impl<'a> ParseError<&'a [u8]> for PErr {
    fn from_error_kind(_: &'a [u8], _: ErrorKind) -> Self {
        PErr(DecodeError::MissingCrlf)
    }
    fn append(_: &'a [u8], _: ErrorKind, other: Self) -> Self {
        other
    }
}

type PResult<'a, O> = IResult<&'a [u8], O, PErr>;

fn fail<O>(e: DecodeError) -> Result<O, Err<PErr>> {
    Err(Err::Failure(PErr(e)))
}

/// What the parser produces: nothing (measuring) or frames (building).
trait Sink {
    type Out;
    fn blob(&self, kind: BlobKind, payload: &[u8]) -> Self::Out;
    fn integer(&self, n: i64) -> Self::Out;
    fn double(&self, d: f64) -> Self::Out;
    fn boolean(&self, b: bool) -> Self::Out;
    fn nil(&self, kind: NilKind) -> Self::Out;
    fn verbatim(&self, format: [u8; 3], data: &[u8]) -> Self::Out;
    fn list(&self, kind: ListKind, items: Vec<Self::Out>) -> Self::Out;
    fn map(&self, pairs: Vec<(Self::Out, Self::Out)>) -> Self::Out;
    fn attribute(&self, attrs: Vec<(Self::Out, Self::Out)>, data: Self::Out) -> Self::Out;
    /// Capacity to reserve for `declared` elements with `available` input bytes left.
    fn capacity(&self, declared: usize, available: usize) -> usize;
}

#[derive(Clone, Copy)]
enum BlobKind {
    Simple,
    Error,
    Bulk,
    BigNumber,
    BulkError,
}

#[derive(Clone, Copy)]
enum NilKind {
    Bulk,
    Array,
    Null,
}

#[derive(Clone, Copy)]
enum ListKind {
    Array,
    Set,
    Push,
}

struct Measure;

impl Sink for Measure {
    type Out = ();
    fn blob(&self, _: BlobKind, _: &[u8]) {}
    fn integer(&self, _: i64) {}
    fn double(&self, _: f64) {}
    fn boolean(&self, _: bool) {}
    fn nil(&self, _: NilKind) {}
    fn verbatim(&self, _: [u8; 3], _: &[u8]) {}
    fn list(&self, _: ListKind, _: Vec<()>) {}
    fn map(&self, _: Vec<((), ())>) {}
    fn attribute(&self, _: Vec<((), ())>, _: ()) {}
    fn capacity(&self, declared: usize, _: usize) -> usize {
        declared
    }
}

/// Builds frames whose payloads are slices of the frozen frame.
struct Build<'b>(&'b Bytes);

impl Build<'_> {
    fn slice(&self, part: &[u8]) -> Bytes {
        let base = self.0.as_ptr() as usize;
        let start = (part.as_ptr() as usize).wrapping_sub(base);
        match start.checked_add(part.len()) {
            Some(end) if start <= self.0.len() && end <= self.0.len() => self.0.slice(start..end),
            // `part` always comes from the frozen buffer; copying keeps this panic-free anyway.
            _ => Bytes::copy_from_slice(part),
        }
    }
}

impl Sink for Build<'_> {
    type Out = Frame;
    fn blob(&self, kind: BlobKind, payload: &[u8]) -> Frame {
        let b = self.slice(payload);
        match kind {
            BlobKind::Simple => Frame::SimpleString(b),
            BlobKind::Error => Frame::Error(b),
            BlobKind::Bulk => Frame::Bulk(b),
            BlobKind::BigNumber => Frame::BigNumber(b),
            BlobKind::BulkError => Frame::BulkError(b),
        }
    }
    fn integer(&self, n: i64) -> Frame {
        Frame::Integer(n)
    }
    fn double(&self, d: f64) -> Frame {
        Frame::Double(d)
    }
    fn boolean(&self, b: bool) -> Frame {
        Frame::Boolean(b)
    }
    fn nil(&self, kind: NilKind) -> Frame {
        match kind {
            NilKind::Bulk => Frame::NullBulk,
            NilKind::Array => Frame::NullArray,
            NilKind::Null => Frame::Null,
        }
    }
    fn verbatim(&self, format: [u8; 3], data: &[u8]) -> Frame {
        Frame::Verbatim {
            format,
            data: self.slice(data),
        }
    }
    fn list(&self, kind: ListKind, items: Vec<Frame>) -> Frame {
        match kind {
            ListKind::Array => Frame::Array(items),
            ListKind::Set => Frame::Set(items),
            ListKind::Push => Frame::Push(items),
        }
    }
    fn map(&self, pairs: Vec<(Frame, Frame)>) -> Frame {
        Frame::Map(pairs)
    }
    fn attribute(&self, attrs: Vec<(Frame, Frame)>, data: Frame) -> Frame {
        Frame::Attribute {
            attrs,
            data: Box::new(data),
        }
    }
    fn capacity(&self, declared: usize, available: usize) -> usize {
        // The smallest element (`_\r\n`) takes 3 bytes: never reserve more than could be there.
        declared.min(available / 3 + 1)
    }
}

/// A line up to the first `\r\n`, which is consumed.
fn line<'a>(limits: &Limits, input: &'a [u8]) -> PResult<'a, &'a [u8]> {
    let mut from = 0;
    while let Some(off) = input
        .get(from..)
        .and_then(|rest| memchr::memchr(b'\r', rest))
    {
        let cr = from + off;
        match input.get(cr + 1) {
            Some(b'\n') => {
                let (text, rest) = input.split_at(cr);
                return Ok((rest.get(2..).unwrap_or_default(), text));
            }
            Some(_) => from = cr + 1,
            None => break,
        }
    }
    if input.len() > limits.max_inline_len {
        return fail(DecodeError::LineTooLong {
            max: limits.max_inline_len,
        });
    }
    Err(Err::Incomplete(Needed::Unknown))
}

/// A signed decimal as hiredis accepts it (leading zeros allowed, overflow refused).
fn parse_i64(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        let d = i64::from(c - b'0');
        v = v.checked_mul(10)?;
        v = if neg {
            v.checked_sub(d)?
        } else {
            v.checked_add(d)?
        };
    }
    Some(v)
}

/// The common shape of a number line, `-?<1..=18 digits>\r\n`, read in one pass; anything
/// else (including every error and an incomplete line) takes the general way.
#[inline]
fn quick_number(input: &[u8]) -> Option<(&[u8], i64)> {
    let (neg, digits) = match input.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, input),
    };
    let mut n: i64 = 0;
    for (i, &c) in digits.iter().enumerate().take(19) {
        match c {
            b'0'..=b'9' if i < 18 => n = n * 10 + i64::from(c - b'0'),
            b'\r' if i > 0 && digits.get(i + 1) == Some(&b'\n') => {
                let rest = digits.get(i + 2..)?;
                return Some((rest, if neg { -n } else { n }));
            }
            _ => return None,
        }
    }
    None
}

/// A length line: `Ok(None)` for -1, the null marker.
fn length<'a>(limits: &Limits, input: &'a [u8]) -> PResult<'a, Option<u64>> {
    if let Some((rest, n)) = quick_number(input) {
        if let Ok(n) = u64::try_from(n) {
            return Ok((rest, Some(n)));
        }
    }
    let (rest, text) = line(limits, input)?;
    match parse_i64(text) {
        Some(-1) => Ok((rest, None)),
        Some(n) => match u64::try_from(n) {
            Ok(n) => Ok((rest, Some(n))),
            Err(_) => fail(DecodeError::InvalidLength),
        },
        None => fail(DecodeError::InvalidLength),
    }
}

/// A length-prefixed payload of `len` bytes and its CRLF.
fn payload<'a>(limits: &Limits, len: u64, input: &'a [u8]) -> PResult<'a, &'a [u8]> {
    if len > limits.max_bulk_len {
        return fail(DecodeError::BulkTooLong {
            len,
            max: limits.max_bulk_len,
        });
    }
    let Ok(n) = usize::try_from(len) else {
        return fail(DecodeError::BulkTooLong {
            len,
            max: limits.max_bulk_len,
        });
    };
    let (rest, data) = nom::bytes::streaming::take(n)(input)?;
    match rest {
        [b'\r', b'\n', tail @ ..] => Ok((tail, data)),
        [] | [b'\r'] => Err(Err::Incomplete(Needed::new(2 - rest.len()))),
        _ => fail(DecodeError::MissingCrlf),
    }
}

fn count(limits: &Limits, n: u64) -> Result<usize, Err<PErr>> {
    if n > limits.max_multibulk_len {
        return fail(DecodeError::TooManyElements {
            len: n,
            max: limits.max_multibulk_len,
        });
    }
    usize::try_from(n).or_else(|_| {
        fail(DecodeError::TooManyElements {
            len: n,
            max: limits.max_multibulk_len,
        })
    })
}

fn frame<'a, S: Sink>(
    sink: &S,
    limits: &Limits,
    depth: usize,
    input: &'a [u8],
) -> PResult<'a, S::Out> {
    let Some((&kind, body)) = input.split_first() else {
        return Err(Err::Incomplete(Needed::new(1)));
    };
    match kind {
        b'+' | b'-' | b'(' => {
            let (rest, text) = line(limits, body)?;
            let blob = match kind {
                b'+' => BlobKind::Simple,
                b'-' => BlobKind::Error,
                _ => {
                    let digits = text
                        .strip_prefix(b"-")
                        .or_else(|| text.strip_prefix(b"+"))
                        .unwrap_or(text);
                    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                        return fail(DecodeError::InvalidBigNumber);
                    }
                    BlobKind::BigNumber
                }
            };
            Ok((rest, sink.blob(blob, text)))
        }
        b':' => {
            if let Some((rest, n)) = quick_number(body) {
                return Ok((rest, sink.integer(n)));
            }
            let (rest, text) = line(limits, body)?;
            match parse_i64(text) {
                Some(n) => Ok((rest, sink.integer(n))),
                None => fail(DecodeError::InvalidInteger),
            }
        }
        b',' => {
            let (rest, text) = line(limits, body)?;
            match parse_double(text) {
                Some(d) => Ok((rest, sink.double(d))),
                None => fail(DecodeError::InvalidDouble),
            }
        }
        b'#' => {
            let (rest, text) = line(limits, body)?;
            match text {
                b"t" => Ok((rest, sink.boolean(true))),
                b"f" => Ok((rest, sink.boolean(false))),
                _ => fail(DecodeError::InvalidBoolean),
            }
        }
        b'_' => {
            let (rest, text) = line(limits, body)?;
            if text.is_empty() {
                Ok((rest, sink.nil(NilKind::Null)))
            } else {
                fail(DecodeError::InvalidNull)
            }
        }
        b'$' | b'!' | b'=' => {
            let (rest, len) = length(limits, body)?;
            let Some(len) = len else {
                return if kind == b'$' {
                    Ok((rest, sink.nil(NilKind::Bulk)))
                } else {
                    fail(DecodeError::InvalidLength)
                };
            };
            let (rest, data) = payload(limits, len, rest)?;
            match kind {
                b'$' => Ok((rest, sink.blob(BlobKind::Bulk, data))),
                b'!' => Ok((rest, sink.blob(BlobKind::BulkError, data))),
                _ => match data {
                    [a, b, c, b':', text @ ..] => Ok((rest, sink.verbatim([*a, *b, *c], text))),
                    _ => fail(DecodeError::InvalidVerbatim),
                },
            }
        }
        b'*' | b'~' | b'>' => {
            let (mut rest, len) = length(limits, body)?;
            let Some(len) = len else {
                return if kind == b'*' {
                    Ok((rest, sink.nil(NilKind::Array)))
                } else {
                    fail(DecodeError::InvalidLength)
                };
            };
            let n = count(limits, len)?;
            if n > 0 && depth >= limits.max_depth {
                return fail(DecodeError::TooDeep {
                    max: limits.max_depth,
                });
            }
            let mut items = Vec::with_capacity(sink.capacity(n, rest.len()));
            for _ in 0..n {
                let (r, item) = frame(sink, limits, depth + 1, rest)?;
                items.push(item);
                rest = r;
            }
            let list = match kind {
                b'*' => ListKind::Array,
                b'~' => ListKind::Set,
                _ => ListKind::Push,
            };
            Ok((rest, sink.list(list, items)))
        }
        b'%' | b'|' => {
            let (mut rest, len) = length(limits, body)?;
            let Some(len) = len else {
                return fail(DecodeError::InvalidLength);
            };
            let n = count(limits, len)?;
            if (n > 0 || kind == b'|') && depth >= limits.max_depth {
                return fail(DecodeError::TooDeep {
                    max: limits.max_depth,
                });
            }
            let mut pairs = Vec::with_capacity(sink.capacity(n, rest.len() / 2));
            for _ in 0..n {
                let (r, key) = frame(sink, limits, depth + 1, rest)?;
                let (r, value) = frame(sink, limits, depth + 1, r)?;
                pairs.push((key, value));
                rest = r;
            }
            if kind == b'%' {
                return Ok((rest, sink.map(pairs)));
            }
            let (rest, data) = frame(sink, limits, depth + 1, rest)?;
            Ok((rest, sink.attribute(pairs, data)))
        }
        other => fail(DecodeError::UnknownType(other)),
    }
}
