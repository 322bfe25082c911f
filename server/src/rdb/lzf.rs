//! LZF as liblzf 3.6 with redis-server's build settings (HLOG 16, VERY_FAST), so compressed
//! strings come out as Redis writes them, and a decompressor that refuses malformed input
//! instead of trusting it.
//!
//! One difference is deliberate: Redis leaves its hash table uninitialised (INIT_HTAB 0), so
//! stale offsets from an earlier call can occasionally produce a different (equally valid)
//! match; ours starts from a zeroed table and is deterministic. Both decode to the same bytes.

const HLOG: u32 = 16;
const HSIZE: usize = 1 << HLOG;
const MAX_LIT: usize = 1 << 5;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);

fn first(b: &[u8], i: usize) -> u32 {
    (u32::from(b[i]) << 8) | u32::from(b[i + 1])
}

fn next(v: u32, b: &[u8], i: usize) -> u32 {
    (v << 8) | u32::from(b[i + 2])
}

fn idx(h: u32) -> usize {
    ((h >> (3 * 8 - HLOG)).wrapping_sub(h.wrapping_mul(5)) as usize) & (HSIZE - 1)
}

/// Compresses `input` into at most `out_len` bytes, as `lzf_compress(in, len, out, out_len)`.
/// Returns None when the result would not fit (Redis then stores the string plain).
pub fn compress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let in_len = input.len();
    if in_len == 0 || out_len == 0 {
        return None;
    }
    let mut htab = vec![0u32; HSIZE];
    let mut out = vec![0u8; out_len];
    let out_end = out_len;
    let mut ip = 0usize;
    let mut op = 1usize; // room for the first literal run's header
    let mut lit = 0usize;
    if in_len < 2 {
        // FRST would read past the end; liblzf reads one byte past here too, harmlessly,
        // because the loop below does not run. Only the literal tail matters.
        return finish_literals(input, ip, out, op, lit, out_end);
    }
    let mut hval = first(input, ip);
    while ip + 2 < in_len {
        hval = next(hval, input, ip);
        let slot = idx(hval);
        let r = htab[slot] as usize;
        htab[slot] = ip as u32;
        let matched = r < ip
            && ip - r - 1 < MAX_OFF
            && r > 0
            && input[r + 2] == input[ip + 2]
            && input[r] == input[ip]
            && input[r + 1] == input[ip + 1];
        if matched {
            let off = ip - r - 1;
            let mut len = 2usize;
            let maxlen = (in_len - ip - len).min(MAX_REF);
            if op + 3 + 1 >= out_end && op - usize::from(lit == 0) + 3 + 1 >= out_end {
                return None;
            }
            out[op - lit - 1] = (lit as u8).wrapping_sub(1);
            op -= usize::from(lit == 0);
            // liblzf's loop: sixteen unconditional steps when maxlen > 16, then bounded ones.
            let mut done = false;
            if maxlen > 16 {
                for _ in 0..16 {
                    len += 1;
                    if input.get(r + len) != input.get(ip + len) {
                        done = true;
                        break;
                    }
                }
            }
            if !done {
                loop {
                    len += 1;
                    if !(len < maxlen && input.get(r + len) == input.get(ip + len)) {
                        break;
                    }
                }
            }
            len -= 2;
            ip += 1;
            if len < 7 {
                out[op] = ((off >> 8) + (len << 5)) as u8;
                op += 1;
            } else {
                out[op] = ((off >> 8) + (7 << 5)) as u8;
                out[op + 1] = (len - 7) as u8;
                op += 2;
            }
            out[op] = off as u8;
            op += 1;
            lit = 0;
            op += 1;
            ip += len + 1;
            if ip + 2 >= in_len {
                break;
            }
            ip -= 2;
            hval = first(input, ip);
            hval = next(hval, input, ip);
            htab[idx(hval)] = ip as u32;
            ip += 1;
            hval = next(hval, input, ip);
            htab[idx(hval)] = ip as u32;
            ip += 1;
        } else {
            if op >= out_end {
                return None;
            }
            lit += 1;
            out[op] = input[ip];
            op += 1;
            ip += 1;
            if lit == MAX_LIT {
                out[op - lit - 1] = (lit - 1) as u8;
                lit = 0;
                op += 1;
            }
        }
    }
    finish_literals(input, ip, out, op, lit, out_end)
}

fn finish_literals(
    input: &[u8],
    mut ip: usize,
    mut out: Vec<u8>,
    mut op: usize,
    mut lit: usize,
    out_end: usize,
) -> Option<Vec<u8>> {
    if op + 3 > out_end {
        return None;
    }
    while ip < input.len() {
        lit += 1;
        *out.get_mut(op)? = input[ip];
        op += 1;
        ip += 1;
        if lit == MAX_LIT {
            *out.get_mut(op - lit - 1)? = (lit - 1) as u8;
            lit = 0;
            op += 1;
        }
    }
    *out.get_mut(op - lit - 1)? = (lit as u8).wrapping_sub(1);
    op -= usize::from(lit == 0);
    out.truncate(op);
    Some(out)
}

/// Decompresses `input` that must expand to exactly `out_len` bytes.
pub fn decompress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::with_capacity(out_len);
    let mut ip = 0usize;
    while ip < input.len() {
        let ctrl = usize::from(input[ip]);
        ip += 1;
        if ctrl < (1 << 5) {
            let n = ctrl + 1;
            if out.len() + n > out_len {
                return None;
            }
            out.extend_from_slice(input.get(ip..ip + n)?);
            ip += n;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += usize::from(*input.get(ip)?);
                ip += 1;
            }
            let back = ((ctrl & 0x1f) << 8) + usize::from(*input.get(ip)?) + 1;
            ip += 1;
            let n = len + 2;
            if out.len() + n > out_len || back > out.len() {
                return None;
            }
            let start = out.len() - back;
            for k in 0..n {
                let b = out[start + k];
                out.push(b);
            }
        }
    }
    (out.len() == out_len).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let cases: Vec<Vec<u8>> = vec![
            b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_vec(),
            b"hello hello hello hello hello world world world".to_vec(),
            (0..5000u32).map(|i| (i % 251) as u8).collect(),
            (0..5000u32).map(|i| (i * i % 7) as u8).collect(),
        ];
        for c in cases {
            let z = compress(&c, c.len() - 4).unwrap_or_default();
            assert!(!z.is_empty());
            assert_eq!(decompress(&z, c.len()).as_deref(), Some(&c[..]));
        }
    }

    #[test]
    fn incompressible_does_not_fit() {
        let c: Vec<u8> = (0..64u32).map(|i| (i * 37 + 11) as u8).collect();
        assert!(compress(&c, c.len() - 4).is_none());
    }

    #[test]
    fn matches_redis_bytes() {
        // SET k aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa (50 a); DUMP k on 7.0.15:
        // 00 c3 09 32 | 01 61 61 e0 25 00 01 61 61 | 0a 00 | crc: literals "aa", a
        // back-reference of 46 bytes at distance 1, literals "aa".
        let z = compress(&[b'a'; 50], 46).unwrap_or_default();
        assert_eq!(z, [0x01, 0x61, 0x61, 0xe0, 0x25, 0x00, 0x01, 0x61, 0x61]);
    }

    #[test]
    fn malformed_input_is_refused() {
        assert!(decompress(&[0x20, 0x00], 3).is_none());
        assert!(decompress(&[0x05, b'a'], 6).is_none());
        assert!(decompress(&[0x00, b'a'], 2).is_none());
        assert!(decompress(&[0x00, b'a', 0xe0], 300).is_none());
    }
}
