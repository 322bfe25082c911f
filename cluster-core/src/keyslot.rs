//! Key hashing: CRC16/XMODEM of the key or of its first non-empty `{tag}`
//! (client-behaviour.md §1).

/// CRC-16/XMODEM (poly 0x1021, init 0, no reflection).
pub fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in data {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The hash slot of a key (`keyHashSlot`).
pub fn key_slot(key: &[u8]) -> u16 {
    let hashed = key
        .iter()
        .position(|&b| b == b'{')
        .and_then(|open| {
            let rest = key.get(open + 1..)?;
            let close = rest.iter().position(|&b| b == b'}')?;
            (close > 0).then(|| rest.get(..close)).flatten()
        })
        .unwrap_or(key);
    crc16(hashed) & 0x3FFF
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyslot_matches_redis() {
        // client-behaviour.md §1.1 check value and §1.2 tag rules.
        assert_eq!(key_slot(b"123456789"), 12739);
        assert_eq!(key_slot(b""), 0);
        assert_eq!(key_slot(b"{user1}a"), key_slot(b"user1"));
        assert_eq!(key_slot(b"{}a"), crc16(b"{}a") & 0x3FFF);
        assert_eq!(key_slot(b"{{a}}"), key_slot(b"{a"));
    }
}
