//! Hash slots: CRC16-XMODEM of the key or of its hash tag (client-behaviour.md §1).

/// Number of hash slots in a Redis Cluster.
pub const SLOTS: usize = 16384;

const fn crc16_table() -> [u16; 256] {
    let mut table = [0u16; 256];
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
        table[i] = crc;
        i += 1;
    }
    table
}

static CRC16_TABLE: [u16; 256] = crc16_table();

/// CRC-16/XMODEM (poly 0x1021, init 0, not reflected), as Redis's crc16.c.
pub fn crc16(bytes: &[u8]) -> u16 {
    bytes.iter().fold(0u16, |crc, &b| {
        (crc << 8) ^ CRC16_TABLE[usize::from(((crc >> 8) as u8) ^ b)]
    })
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
    crc16(hash_part(key)) & 0x3FFF
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_check_value() {
        assert_eq!(crc16(b"123456789"), 0x31C3);
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
