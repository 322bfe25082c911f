//! Readers for the pre-7.0 compact encodings an RDB file may still hold: ziplists (lists,
//! hashes and sorted sets written by Redis up to 6.2) and zipmaps (hashes up to 2.4).
//! Both are parsed completely before anything is built from them; any inconsistency
//! (a length past the end, a wrong back-link, a bad terminator) refuses the whole blob.

use crate::types::Elem;

const ZL_HEADER: usize = 10;
const ZL_END: u8 = 0xFF;

fn le32(b: &[u8], at: usize) -> Option<usize> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize)
}

/// Every entry of a ziplist, in order, or None when the bytes are not a valid ziplist.
pub fn ziplist_entries(zl: &[u8]) -> Option<Vec<Elem<'_>>> {
    if zl.len() < ZL_HEADER + 1 || le32(zl, 0)? != zl.len() || *zl.last()? != ZL_END {
        return None;
    }
    let tail = le32(zl, 4)?;
    let count = u16::from_le_bytes([zl[8], zl[9]]);
    let end = zl.len() - 1;
    let mut out = Vec::new();
    let mut p = ZL_HEADER;
    let mut prev_size = 0usize;
    let mut last_start = ZL_HEADER;
    while p < end {
        let start = p;
        // prevlen: one byte below 254, else 0xFE and four bytes.
        let first = *zl.get(p)?;
        let prevlen = if first < 254 {
            p += 1;
            usize::from(first)
        } else if first == 254 {
            let v = le32(zl, p + 1)?;
            p += 5;
            v
        } else {
            return None;
        };
        if prevlen != prev_size {
            return None;
        }
        let enc = *zl.get(p)?;
        let elem = match enc >> 6 {
            0 => {
                let n = usize::from(enc & 0x3F);
                p += 1;
                Elem::Str(zl.get(p..p + n).inspect(|_| p += n)?)
            }
            1 => {
                let n = (usize::from(enc & 0x3F) << 8) | usize::from(*zl.get(p + 1)?);
                p += 2;
                Elem::Str(zl.get(p..p + n).inspect(|_| p += n)?)
            }
            2 => {
                if enc != 0x80 {
                    return None;
                }
                let s = zl.get(p + 1..p + 5)?;
                let n = u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize;
                p += 5;
                Elem::Str(zl.get(p..p.checked_add(n)?).inspect(|_| p += n)?)
            }
            _ => {
                p += 1;
                let (width, v) = match enc {
                    0xC0 => (
                        2,
                        zl.get(p..p + 2)
                            .map(|s| i64::from(i16::from_le_bytes([s[0], s[1]]))),
                    ),
                    0xD0 => (
                        4,
                        zl.get(p..p + 4)
                            .map(|s| i64::from(i32::from_le_bytes([s[0], s[1], s[2], s[3]]))),
                    ),
                    0xE0 => (
                        8,
                        zl.get(p..p + 8).map(|s| {
                            let mut b = [0u8; 8];
                            b.copy_from_slice(s);
                            i64::from_le_bytes(b)
                        }),
                    ),
                    0xF0 => (
                        3,
                        zl.get(p..p + 3)
                            .map(|s| i64::from(i32::from_le_bytes([0, s[0], s[1], s[2]]) >> 8)),
                    ),
                    0xFE => (1, zl.get(p).map(|&b| i64::from(b as i8))),
                    0xF1..=0xFD => (0, Some(i64::from(enc & 0x0F) - 1)),
                    _ => return None,
                };
                p += width;
                Elem::Int(v?)
            }
        };
        if p > end {
            return None;
        }
        prev_size = p - start;
        last_start = start;
        out.push(elem);
    }
    if p != end {
        return None;
    }
    let expect_tail = if out.is_empty() {
        ZL_HEADER
    } else {
        last_start
    };
    if tail != expect_tail {
        return None;
    }
    if count != u16::MAX && usize::from(count) != out.len() {
        return None;
    }
    Some(out)
}

/// Every key and value of a zipmap, alternating, or None when the bytes are not valid.
pub fn zipmap_entries(zm: &[u8]) -> Option<Vec<&[u8]>> {
    let count = *zm.first()?;
    let mut p = 1usize;
    let mut out = Vec::new();
    let len_at = |p: &mut usize| -> Option<Option<usize>> {
        let b = *zm.get(*p)?;
        match b {
            0..=253 => {
                *p += 1;
                Some(Some(usize::from(b)))
            }
            254 => {
                let v = le32(zm, *p + 1)?;
                *p += 5;
                Some(Some(v))
            }
            255 => Some(None),
        }
    };
    while let Some(klen) = len_at(&mut p)? {
        let key = zm.get(p..p.checked_add(klen)?)?;
        p += klen;
        let vlen = len_at(&mut p)??;
        let free = usize::from(*zm.get(p)?);
        p += 1;
        let val = zm.get(p..p.checked_add(vlen)?)?;
        p = p.checked_add(vlen)?.checked_add(free)?;
        out.push(key);
        out.push(val);
    }
    // The terminator must be the last byte.
    if p + 1 != zm.len() {
        return None;
    }
    if count < 254 && usize::from(count) * 2 != out.len() {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ziplist_written_by_redis_6() {
        // RPUSH l a 1 300 on redis 6.2 (list-max-ziplist-size default), the node's ziplist:
        let zl: &[u8] = &[
            0x14, 0, 0, 0, 0x0F, 0, 0, 0, 3, 0, // header: 20 bytes, tail at 15, 3 entries
            0x00, 0x01, b'a', // prevlen 0, str len 1
            0x03, 0xF2, // prevlen 3, immediate 1
            0x02, 0xC0, 0x2C, 0x01, // prevlen 2, int16 300
            0xFF,
        ];
        let got = ziplist_entries(zl).unwrap();
        assert_eq!(got, vec![Elem::Str(b"a"), Elem::Int(1), Elem::Int(300)]);
        let mut bad = zl.to_vec();
        bad[13] = 9; // wrong prevlen
        assert!(ziplist_entries(&bad).is_none());
        let mut bad = zl.to_vec();
        bad[4] = 13; // wrong tail
        assert!(ziplist_entries(&bad).is_none());
    }

    #[test]
    fn zipmap_pairs() {
        let zm: &[u8] = &[
            2, 1, b'a', 1, 0, b'x', 2, b'b', b'c', 3, 1, b'y', b'z', b'w', 0, 255,
        ];
        let got = zipmap_entries(zm).unwrap();
        assert_eq!(got, vec![&b"a"[..], b"x", b"bc", b"yzw"]);
        assert!(zipmap_entries(&zm[..zm.len() - 1]).is_none());
    }
}
