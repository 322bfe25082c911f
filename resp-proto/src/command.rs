//! The request decoder (server side): bytes straight to an argument vector.
//!
//! Follows Redis 7.0's processMultibulkBuffer / processInlineBuffer rule for rule, including
//! their quirks, each checked against redis-server 7.0.15:
//! - a request starting with `*` is multibulk, anything else is inline;
//! - `*N` with N <= 0 is skipped silently, and so is an empty (or all-blank) inline line;
//! - the byte after a count line's `\r` and the two bytes after an argument's payload are
//!   skipped without being looked at (`*1\r\n$4\r\nPINGxx` is a PING);
//! - count lines and inline lines are searched like C strings: a NUL byte before the `\r`
//!   (or `\n`) hides it, so such a request waits for more bytes until the 64 KB limit trips.
//!
//! Resumable state: like Redis (multibulklen / bulklen), the decoder remembers how many
//! arguments are still due, the arguments already complete and the length of the one in
//! progress. Completed arguments are split off the buffer as soon as a read ends inside a
//! command, so a large argument arriving in many small reads costs O(1) per read (one length
//! comparison), never a re-scan.

use bytes::{Buf, Bytes, BytesMut};

use crate::error::ProtocolError;
use crate::inline::split_args;
use crate::limits::{Limits, UNAUTHENTICATED_MAX_BULK_LEN, UNAUTHENTICATED_MAX_MULTIBULK_LEN};
use crate::number::string2ll;

/// Redis preallocates at most this many argument slots for one `*N` (then grows).
const MAX_PREALLOCATED_ARGS: usize = 1024;
/// `$0\r\n\r\n`: the fewest bytes an argument can take.
const MIN_ARG_BYTES: usize = 6;

/// Decodes client requests into argument vectors; holds the limits and the state of a command
/// that is only partly received.
#[derive(Debug, Default)]
pub struct CommandDecoder {
    limits: Limits,
    pending: Option<Pending>,
    /// The arguments of the command being read or last returned by [`Self::next_command`]:
    /// one vector for the connection's life, so a command costs no allocation of its own.
    args: Vec<Bytes>,
    /// Reused scratch: (offset, length) of the arguments found in the current scan.
    found: Vec<(usize, usize)>,
}

#[derive(Debug)]
struct Pending {
    /// Arguments still to come, the one in progress included.
    remaining: usize,
    /// Length of the argument whose `$N` header was read but whose payload is incomplete.
    bulk_len: Option<usize>,
}

/// Where a search stopped: C's `strchr` stops at the first NUL too.
fn find_c(haystack: &[u8], needle: u8) -> Option<usize> {
    match memchr::memchr2(needle, 0, haystack) {
        Some(i) if haystack.get(i) == Some(&needle) => Some(i),
        _ => None,
    }
}

impl CommandDecoder {
    /// A decoder with the given limits.
    pub fn new(limits: Limits) -> Self {
        CommandDecoder {
            limits,
            pending: None,
            args: Vec::new(),
            found: Vec::new(),
        }
    }

    /// Changes the limits (`CONFIG SET proto-max-bulk-len`); a command in progress keeps the
    /// argument lengths it has already accepted, as in Redis.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// True while a multibulk command is partly received (its completed arguments are held
    /// here, no longer in the buffer).
    pub fn in_progress(&self) -> bool {
        self.pending.is_some()
    }

    /// Next complete command (arguments, the first is the name), or `None` when more bytes are
    /// needed. Empty commands (`*0`, `*-1`, a blank inline line) are skipped.
    ///
    /// `authenticated == false` applies Redis's limits for a client that must still AUTH
    /// (pass `true` when no password is required): `*N` above 10 and `$N` above 16384 are
    /// refused.
    ///
    /// Bytes of complete commands and of completed arguments of a partial command are removed
    /// from `buf`; a partial header stays. After an `Err` the connection must be closed; the
    /// decoder's state is then meaningless.
    pub fn decode(
        &mut self,
        buf: &mut BytesMut,
        authenticated: bool,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        Ok(self.next_command(buf, authenticated)?.map(std::mem::take))
    }

    /// [`Self::decode`] without handing over the vector: the arguments stay in one the decoder
    /// keeps and clears at the next call (the caller may take or edit it meanwhile). The
    /// server's per-command path: no vector is allocated and freed per command.
    pub fn next_command(
        &mut self,
        buf: &mut BytesMut,
        authenticated: bool,
    ) -> Result<Option<&mut Vec<Bytes>>, ProtocolError> {
        if self.pending.is_none() {
            // Now, not later: the previous command's arguments share the read buffer's
            // allocation, which `BytesMut::reserve` can reuse only once nothing else holds it.
            self.clear_args();
        }
        loop {
            let done = if self.pending.is_some() {
                self.continue_multibulk(buf, 0, authenticated)?
            } else {
                let Some(&first) = buf.first() else {
                    return Ok(None);
                };
                let next = if first == b'*' {
                    self.start_multibulk(buf, authenticated)?
                } else {
                    self.inline(buf)?
                };
                match next {
                    Step::NeedMore => false,
                    Step::Skipped => continue,
                    Step::Started(header) => self.continue_multibulk(buf, header, authenticated)?,
                    Step::Command => true,
                }
            };
            return Ok(done.then_some(&mut self.args));
        }
    }

    /// Empties the argument vector, dropping it instead when a huge command grew it: an idle
    /// connection should not keep a large allocation (Redis frees `argv` after each command).
    fn clear_args(&mut self) {
        if self.args.capacity() > MAX_PREALLOCATED_ARGS {
            self.args = Vec::new();
        } else {
            self.args.clear();
        }
    }

    fn inline(&mut self, buf: &mut BytesMut) -> Result<Step, ProtocolError> {
        let Some(newline) = find_c(buf, b'\n') else {
            if buf.len() > self.limits.max_inline_len {
                return Err(ProtocolError::TooBigInlineRequest);
            }
            return Ok(Step::NeedMore);
        };
        let line_end = match newline.checked_sub(1) {
            Some(cr) if buf.get(cr) == Some(&b'\r') => cr,
            _ => newline,
        };
        let args = split_args(buf.get(..line_end).unwrap_or_default())
            .ok_or(ProtocolError::UnbalancedQuotes)?;
        buf.advance(newline + 1);
        if args.is_empty() {
            return Ok(Step::Skipped);
        }
        self.args.extend(args.into_iter().map(Bytes::from));
        Ok(Step::Command)
    }

    fn start_multibulk(
        &mut self,
        buf: &mut BytesMut,
        authenticated: bool,
    ) -> Result<Step, ProtocolError> {
        if let Some((n, header)) = quick_count(buf, b'*') {
            let limit = if authenticated {
                self.limits.max_multibulk_len
            } else {
                self.limits
                    .max_multibulk_len
                    .min(UNAUTHENTICATED_MAX_MULTIBULK_LEN)
            };
            if n > 0 && n <= limit {
                if let Ok(remaining) = usize::try_from(n) {
                    return Ok(self.begin(remaining, buf.len(), header));
                }
            }
        }
        let Some(cr) = find_c(buf, b'\r') else {
            if buf.len() > self.limits.max_inline_len {
                return Err(ProtocolError::TooBigMbulkCountString);
            }
            return Ok(Step::NeedMore);
        };
        // The byte after `\r` must be present; Redis does not check that it is `\n`.
        if cr + 2 > buf.len() {
            return Ok(Step::NeedMore);
        }
        let n = match string2ll(buf.get(1..cr).unwrap_or_default()) {
            Some(n) if n <= 0 => {
                buf.advance(cr + 2);
                return Ok(Step::Skipped);
            }
            Some(n) if n.unsigned_abs() <= self.limits.max_multibulk_len => n.unsigned_abs(),
            _ => return Err(ProtocolError::InvalidMultibulkLength),
        };
        if !authenticated && n > UNAUTHENTICATED_MAX_MULTIBULK_LEN {
            return Err(ProtocolError::UnauthenticatedMultibulkLength);
        }
        let remaining = usize::try_from(n).map_err(|_| ProtocolError::InvalidMultibulkLength)?;
        Ok(self.begin(remaining, buf.len(), cr + 2))
    }

    /// A `*N` header of `header` bytes announced `remaining` arguments.
    fn begin(&mut self, remaining: usize, buffered: usize, header: usize) -> Step {
        let capacity = remaining
            .min(MAX_PREALLOCATED_ARGS)
            .min(buffered / MIN_ARG_BYTES + 1);
        self.args.reserve(capacity);
        self.pending = Some(Pending {
            remaining,
            bulk_len: None,
        });
        // The header is consumed together with the arguments that follow it.
        Step::Started(header)
    }

    /// Reads arguments of the pending command from `buf[start..]`; true when it is complete.
    fn continue_multibulk(
        &mut self,
        buf: &mut BytesMut,
        start: usize,
        authenticated: bool,
    ) -> Result<bool, ProtocolError> {
        let Some(p) = self.pending.as_mut() else {
            return Ok(false);
        };
        self.found.clear();
        let mut pos = start;
        let mut remaining = p.remaining;
        let mut bulk_len = p.bulk_len;
        let mut error = None;
        while remaining > 0 {
            let len = match bulk_len {
                Some(len) => len,
                None => match quick_bulk_header(
                    buf.get(pos..).unwrap_or_default(),
                    &self.limits,
                    authenticated,
                ) {
                    Some((len, header)) => {
                        pos += header;
                        len
                    }
                    None => match read_bulk_header(
                        buf.get(pos..).unwrap_or_default(),
                        &self.limits,
                        authenticated,
                    ) {
                        Ok(Some((len, header))) => {
                            pos += header;
                            len
                        }
                        Ok(None) => break,
                        Err(e) => {
                            error = Some(e);
                            break;
                        }
                    },
                },
            };
            // Payload plus two bytes Redis skips unseen (normally `\r\n`).
            if buf.len() - pos < len.saturating_add(2) {
                bulk_len = Some(len);
                break;
            }
            self.found.push((pos, len));
            pos += len + 2;
            bulk_len = None;
            remaining -= 1;
        }
        if let Some(e) = error {
            return Err(e);
        }
        // One `split_to` per argument and `advance` over the framing: a reference count
        // increment each, and nothing else (benchmark decode_pipeline_16_set).
        let mut consumed = 0;
        for &(start, len) in &self.found {
            buf.advance(start - consumed);
            self.args.push(buf.split_to(len).freeze());
            consumed = start + len;
        }
        buf.advance(pos - consumed);
        p.remaining = remaining;
        p.bulk_len = bulk_len;
        if remaining > 0 {
            return Ok(false);
        }
        self.pending = None;
        Ok(true)
    }
}

/// What one look at the front of the buffer found.
enum Step {
    NeedMore,
    Skipped,
    /// A `*N` header of this many bytes was read; the arguments follow.
    Started(usize),
    /// An inline command, now in the argument vector.
    Command,
}

/// The common case of a count line, `<prefix><digits>\r?` with digits that `string2ll` accepts
/// unchanged (no sign, no leading zero, at most 18 digits so no overflow): (N, header length).
/// Anything else, including every error, goes the exact slow way.
#[inline]
fn quick_count(buf: &[u8], prefix: u8) -> Option<(u64, usize)> {
    let (&first, rest) = buf.split_first()?;
    if first != prefix {
        return None;
    }
    let mut n: u64 = 0;
    for (i, &c) in rest.iter().enumerate().take(19) {
        match c {
            b'0'..=b'9' if !(i == 1 && n == 0) => n = n * 10 + u64::from(c - b'0'),
            // The byte after `\r` must be present too.
            b'\r' if i > 0 && rest.len() > i + 1 => return Some((n, i + 3)),
            _ => return None,
        }
    }
    None
}

/// The common case of an argument header, `$<digits>\r?` (see [`quick_count`]) within the
/// limits: (N, header length). `None` sends it the exact slow way, errors included.
#[inline]
fn quick_bulk_header(buf: &[u8], limits: &Limits, authenticated: bool) -> Option<(usize, usize)> {
    let (n, header) = quick_count(buf, b'$')?;
    if n > limits.max_bulk_len || (!authenticated && n > UNAUTHENTICATED_MAX_BULK_LEN) {
        return None;
    }
    Some((usize::try_from(n).ok()?, header))
}

/// Reads `$N\r?` at the start of `buf`: `Ok(None)` if incomplete, else (N, header length).
fn read_bulk_header(
    buf: &[u8],
    limits: &Limits,
    authenticated: bool,
) -> Result<Option<(usize, usize)>, ProtocolError> {
    let Some(cr) = find_c(buf, b'\r') else {
        if buf.len() > limits.max_inline_len {
            return Err(ProtocolError::TooBigBulkCountString);
        }
        return Ok(None);
    };
    if cr + 2 > buf.len() {
        return Ok(None);
    }
    match buf.first() {
        Some(b'$') => {}
        Some(&other) => return Err(ProtocolError::ExpectedDollar(other)),
        None => return Ok(None),
    }
    let len = match string2ll(buf.get(1..cr).unwrap_or_default()) {
        Some(n) if n >= 0 && n.unsigned_abs() <= limits.max_bulk_len => n.unsigned_abs(),
        _ => return Err(ProtocolError::InvalidBulkLength),
    };
    if !authenticated && len > UNAUTHENTICATED_MAX_BULK_LEN {
        return Err(ProtocolError::UnauthenticatedBulkLength);
    }
    let len = usize::try_from(len).map_err(|_| ProtocolError::InvalidBulkLength)?;
    Ok(Some((len, cr + 2)))
}

#[cfg(test)]
mod tests {
    use super::{find_c, quick_bulk_header, quick_count, read_bulk_header};
    use crate::limits::Limits;
    use crate::number::string2ll;

    #[test]
    fn quick_count_on_every_short_input() {
        let alphabet = b"$01 9\r\n-\0";
        let mut quick = 0;
        for len in 0..=5u32 {
            for code in 0..alphabet.len().pow(len) {
                let mut rest = code;
                let s: Vec<u8> = (0..len)
                    .map(|_| {
                        let c = alphabet[rest % alphabet.len()];
                        rest /= alphabet.len();
                        c
                    })
                    .collect();
                let cr = find_c(&s, b'\r');
                // What the exact path reads: `$`, a number string2ll takes, `\r`, one more byte.
                let exact = match cr {
                    Some(cr) if s.first() == Some(&b'$') && cr + 2 <= s.len() => {
                        string2ll(&s[1..cr]).map(|n| (n, cr + 2))
                    }
                    _ => None,
                };
                let canonical = exact.is_some_and(|(n, h)| n >= 0 && !s[..h - 2].contains(&b'-'));
                let got = quick_count(&s, b'$');
                assert_eq!(
                    got,
                    exact
                        .filter(|_| canonical)
                        .map(|(n, h)| (n.unsigned_abs(), h)),
                    "{s:?}"
                );
                quick += usize::from(got.is_some());
            }
        }
        assert!(quick > 100);
    }

    #[test]
    fn quick_bulk_header_agrees_with_the_exact_reader() {
        let cases: [&[u8]; 12] = [
            b"$0\r\n",
            b"$3\r\nGET",
            b"$16384\r\n",
            b"$16385\r\n",
            b"$100\r\n",
            b"$101\r\n",
            b"$01\r\n",
            b"$-1\r\n",
            b"$3\r",
            b"$3",
            b"*3\r\n",
            b"$536870913\r\n",
        ];
        let tight = Limits {
            max_bulk_len: 100,
            ..Limits::default()
        };
        let mut quick = 0;
        for limits in [Limits::default(), tight] {
            for authenticated in [true, false] {
                for s in cases {
                    if let Some(got) = quick_bulk_header(s, &limits, authenticated) {
                        quick += 1;
                        let want = read_bulk_header(s, &limits, authenticated);
                        assert_eq!(want, Ok(Some(got)), "{s:?}");
                    }
                }
            }
        }
        // Refusals (over a limit, malformed) and partial headers all go the exact way.
        assert_eq!(quick, 17);
    }

    #[test]
    fn quick_count_only_takes_what_string2ll_takes() {
        let cases: [&[u8]; 16] = [
            b"$0\r\n",
            b"$00\r\n",
            b"$01\r\n",
            b"$1\r\n",
            b"$1\rX",
            b"$1\r",
            b"$123456789012345678\r\n",
            b"$1234567890123456789\r\n",
            b"$-1\r\n",
            b"$+1\r\n",
            b"$\r\n",
            b"$1 \r\n",
            b"$1\0\r\n",
            b"*3\r\n",
            b"$10\r\n",
            b"$9223372036854775807\r\n",
        ];
        let mut quick = 0;
        for s in cases {
            if let Some((n, header)) = quick_count(s, b'$') {
                quick += 1;
                let cr = find_c(s, b'\r').unwrap_or(usize::MAX);
                assert_eq!(header, cr + 2, "{s:?}");
                assert!(header <= s.len());
                assert_eq!(string2ll(&s[1..cr]), i64::try_from(n).ok(), "{s:?}");
            }
        }
        assert_eq!(quick, 5);
    }
}
