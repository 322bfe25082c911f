//! Hash slots: CRC16-XMODEM of the key or of its hash tag (client-behaviour.md §1).

/// Number of hash slots in a Redis Cluster.
pub const SLOTS: usize = 16384;

/// Slicing tables: `CRC16_TABLES[m][x]` is the CRC of byte `x` followed by `m` zero bytes
/// (from a zero register). The CRC is linear, so four bytes fold in with four independent
/// lookups instead of a chain of four dependent ones.
const fn crc16_tables() -> [[u16; 256]; 4] {
    let mut t = [[0u16; 256]; 4];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        t[0][i] = crc;
        i += 1;
    }
    let mut m = 1;
    while m < 4 {
        let mut i = 0;
        while i < 256 {
            let prev = t[m - 1][i];
            // One more zero byte through the register.
            t[m][i] = (prev << 8) ^ t[0][(prev >> 8) as usize];
            i += 1;
        }
        m += 1;
    }
    t
}

static CRC16_TABLES: [[u16; 256]; 4] = crc16_tables();

/// The register after four more bytes.
#[inline]
fn crc16_step4(crc: u16, [b0, b1, b2, b3]: [u8; 4]) -> u16 {
    let [t0, t1, t2, t3] = &CRC16_TABLES;
    let [hi, lo] = crc.to_be_bytes();
    t3[usize::from(hi ^ b0)] ^ t2[usize::from(lo ^ b1)] ^ t1[usize::from(b2)] ^ t0[usize::from(b3)]
}

/// The register after one more byte.
#[inline]
fn crc16_step(crc: u16, b: u8) -> u16 {
    (crc << 8) ^ CRC16_TABLES[0][usize::from(((crc >> 8) as u8) ^ b)]
}

/// CRC-16/XMODEM (poly 0x1021, init 0, not reflected), as Redis's crc16.c.
pub fn crc16(bytes: &[u8]) -> u16 {
    let mut chunks = bytes.chunks_exact(4);
    let crc = (&mut chunks).fold(0, |crc, c| crc16_step4(crc, [c[0], c[1], c[2], c[3]]));
    chunks
        .remainder()
        .iter()
        .fold(crc, |crc, &b| crc16_step(crc, b))
}

/// The CRC of a key without `{` (one pass, the common case), or `None` if it has one.
fn crc16_untagged(key: &[u8]) -> Option<u16> {
    const BRACES: u32 = u32::from_ne_bytes([b'{'; 4]);
    let mut chunks = key.chunks_exact(4);
    let mut crc = 0;
    for c in &mut chunks {
        let bytes = [c[0], c[1], c[2], c[3]];
        // A zero byte in `x` is a `{` in the chunk.
        let x = u32::from_ne_bytes(bytes) ^ BRACES;
        if x.wrapping_sub(0x0101_0101) & !x & 0x8080_8080 != 0 {
            return None;
        }
        crc = crc16_step4(crc, bytes);
    }
    for &b in chunks.remainder() {
        if b == b'{' {
            return None;
        }
        crc = crc16_step(crc, b);
    }
    Some(crc)
}

/// The part of `key` that is hashed: the first non-empty `{tag}`, else the whole key (§1.2).
pub fn hash_part(key: &[u8]) -> &[u8] {
    if let Some(open) = memchr_byte(b'{', key) {
        let rest = &key[open + 1..];
        if let Some(close) = memchr_byte(b'}', rest) {
            if close > 0 {
                return &rest[..close];
            }
        }
    }
    key
}

fn memchr_byte(b: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&c| c == b)
}

/// The hash slot of `key` (0..16383).
pub fn key_slot(key: &[u8]) -> u16 {
    let crc = match crc16_untagged(key) {
        Some(crc) => crc,
        None => crc16(hash_part(key)),
    };
    crc & 0x3FFF
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_check_value() {
        assert_eq!(crc16(b"123456789"), 0x31C3);
    }

    // The bit-at-a-time definition in cluster-core, to check the sliced tables against.
    use cluster_core::keyslot::crc16 as crc16_bitwise;

    #[test]
    fn sliced_crc_matches_bitwise_for_every_length_and_byte() {
        let data: Vec<u8> = (0..600u32).map(|i| (i * 167 + i / 7) as u8).collect();
        for len in 0..data.len() {
            assert_eq!(
                crc16(&data[..len]),
                crc16_bitwise(&data[..len]),
                "length {len}"
            );
        }
        for b in 0..=255u8 {
            for len in 1..9 {
                let key = vec![b; len];
                assert_eq!(crc16(&key), crc16_bitwise(&key));
            }
        }
    }

    /// The one-pass slot of untagged keys against hashing what `hash_part` picks, with a
    /// `{` (or a byte next to it in value) at every position of keys of up to 12 bytes.
    #[test]
    fn one_pass_slot_matches_hash_part() {
        for len in 0..13 {
            for pos in 0..len.max(1) {
                for mark in [b'{', b'}', b'z', b'|', 0x7a, 0xfb] {
                    let mut key: Vec<u8> = (0..len).map(|i| b'a' + i as u8).collect();
                    if let Some(k) = key.get_mut(pos) {
                        *k = mark;
                    }
                    if len > pos + 2 {
                        key[len - 1] = b'}';
                    }
                    assert_eq!(
                        key_slot(&key),
                        crc16_bitwise(hash_part(&key)) & 0x3FFF,
                        "{key:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn slots_match_real_server() {
        let cases: &[(&[u8], u16)] = &[
            (b"123456789", 12739),
            (b"foo", 12182),
            (b"bar", 5061),
            (b"", 0),
            (b"{user1000}.following", 3443),
            (b"foo{bar}{zap}", 5061),
            (b"foo{}{bar}", 8363),
            (b"foo{{bar}}zap", 4015),
            (b"{}", 15257),
            (b"{}{b}", 8193),
            (b"{{a}}", 10276),
            (b"{a}}", 15495),
            (b"}a{", 11710),
            (b"{ }", 9314),
            (b"\x7b\xc3\xa9\x7d", 10180),
            (b"a\x00b", 8383),
            (b"counter:__rand_int__", 10892),
            (b"key:__rand_int__", 13782),
        ];
        for (key, slot) in cases {
            assert_eq!(key_slot(key), *slot, "{:?}", String::from_utf8_lossy(key));
        }
    }
}
