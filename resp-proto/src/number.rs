//! Number parsing and formatting exactly as Redis 7.0 does it.

use std::io::Write as _;

/// Redis's `string2ll` (util.c): the strict integer syntax used for every length on the
/// request path. No `+`, no leading zeros, no spaces, no `-0`, at most 20 characters.
pub fn string2ll(s: &[u8]) -> Option<i64> {
    // LONG_STR_SIZE is 21: anything that long cannot be a valid long long.
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    let (first, rest) = digits.split_first()?;
    if !(b'1'..=b'9').contains(first) {
        return None;
    }
    let mut v = u64::from(first - b'0');
    for &c in rest {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if negative {
        if v > (i64::MAX as u64) + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// Longest `%.17g` output: sign, 17 digits, point, `e-308`.
pub(crate) const MAX_DOUBLE_CHARS: usize = 32;

/// Formats `d` as C's `printf("%.17g")` does with glibc, which is what Redis 7.0 sends for a
/// double (RESP3 `,` and the RESP2 bulk fallback); infinities are `inf`/`-inf` as Redis writes
/// them explicitly, NaN is glibc's `nan`/`-nan`. Returns the number of bytes written into `out`.
pub(crate) fn format_double(d: f64, out: &mut [u8; MAX_DOUBLE_CHARS]) -> usize {
    if d.is_nan() {
        let s: &[u8] = if d.is_sign_negative() {
            b"-nan"
        } else {
            b"nan"
        };
        return copy_into(out, 0, s);
    }
    if d.is_infinite() {
        let s: &[u8] = if d > 0.0 { b"inf" } else { b"-inf" };
        return copy_into(out, 0, s);
    }
    // Rust's `{:.16e}` is correctly rounded, like glibc: 17 significant digits and the exponent
    // after rounding, which is exactly what %g needs to choose its style.
    let mut sci = [0u8; MAX_DOUBLE_CHARS];
    let sci_len = {
        let mut cursor: &mut [u8] = &mut sci;
        let before = cursor.len();
        if write!(cursor, "{d:.16e}").is_err() {
            return 0;
        }
        before - cursor.len()
    };
    let sci = &sci[..sci_len];
    let (negative, sci) = match sci.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, sci),
    };
    let Some(e_pos) = sci.iter().position(|&c| c == b'e') else {
        return 0;
    };
    let mut digits = [0u8; 17];
    let mut n_digits = 0;
    for &c in &sci[..e_pos] {
        if c.is_ascii_digit() && n_digits < digits.len() {
            digits[n_digits] = c;
            n_digits += 1;
        }
    }
    let exp = parse_exp(&sci[e_pos + 1..]);
    // %g drops trailing zeros of the significand (no '#' flag).
    while n_digits > 1 && digits[n_digits - 1] == b'0' {
        n_digits -= 1;
    }
    let digits = &digits[..n_digits];
    let mut len = 0;
    if negative {
        len = copy_into(out, len, b"-");
    }
    if (-4..17).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            for i in 0..int_len {
                let c = digits.get(i).copied().unwrap_or(b'0');
                len = copy_into(out, len, &[c]);
            }
            if digits.len() > int_len {
                len = copy_into(out, len, b".");
                len = copy_into(out, len, &digits[int_len..]);
            }
        } else {
            len = copy_into(out, len, b"0.");
            for _ in 0..(-exp - 1) {
                len = copy_into(out, len, b"0");
            }
            len = copy_into(out, len, digits);
        }
    } else {
        len = copy_into(out, len, &digits[..1]);
        if digits.len() > 1 {
            len = copy_into(out, len, b".");
            len = copy_into(out, len, &digits[1..]);
        }
        len = copy_into(out, len, if exp < 0 { b"e-" } else { b"e+" });
        let abs = exp.unsigned_abs();
        if abs < 10 {
            len = copy_into(out, len, b"0");
        }
        let mut buf = itoa::Buffer::new();
        len = copy_into(out, len, buf.format(abs).as_bytes());
    }
    len
}

fn parse_exp(s: &[u8]) -> i32 {
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    let mut v: i32 = 0;
    for &c in digits {
        v = v
            .saturating_mul(10)
            .saturating_add(i32::from(c.wrapping_sub(b'0')));
    }
    if neg {
        -v
    } else {
        v
    }
}

fn copy_into(out: &mut [u8; MAX_DOUBLE_CHARS], at: usize, s: &[u8]) -> usize {
    let end = at.saturating_add(s.len()).min(out.len());
    if let (Some(dst), Some(src)) = (out.get_mut(at..end), s.get(..end.saturating_sub(at))) {
        dst.copy_from_slice(src);
    }
    end
}

/// Parses a RESP3 double line as a client would: `inf`, `-inf`, `nan`, `-nan` or a decimal.
/// NaNs come back as the canonical quiet NaN with the sign that was written.
pub(crate) fn parse_double(s: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(s).ok()?;
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if unsigned.starts_with(['+', '-']) || unsigned.is_empty() {
        return None;
    }
    let v: f64 = if unsigned.eq_ignore_ascii_case("nan") {
        f64::NAN
    } else if unsigned.eq_ignore_ascii_case("inf") {
        f64::INFINITY
    } else if unsigned
        .bytes()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        unsigned.parse().ok()?
    } else {
        return None;
    };
    Some(if negative { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g17(d: f64) -> String {
        let mut buf = [0u8; MAX_DOUBLE_CHARS];
        let n = format_double(d, &mut buf);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    #[test]
    fn doubles_print_like_redis_7_0_15() {
        // Every pair below was read back from redis-server 7.0.15 (ZADD then ZSCORE, RESP3).
        let seen = [
            (1.1, "1.1000000000000001"),
            (0.1, "0.10000000000000001"),
            (1e20, "1e+20"),
            (1e21, "1e+21"),
            (1e-5, "1.0000000000000001e-05"),
            (0.0001, "0.0001"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (0.0, "0"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (3.0, "3"),
            (2.5, "2.5"),
            (1e300, "1.0000000000000001e+300"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "4.9406564584124654e-324"),
            (1e17, "1e+17"),
            (1e16, "10000000000000000"),
        ];
        for (d, want) in seen {
            assert_eq!(g17(d), want, "{d:e}");
        }
        assert_eq!(g17(-0.0), "-0");
        assert_eq!(g17(-1.5), "-1.5");
        assert_eq!(g17(f64::NAN), "nan");
        assert_eq!(g17(-f64::NAN), "-nan");
        assert_eq!(g17(-1e-300), "-1e-300");
        assert_eq!(g17(100.0), "100");
    }

    #[test]
    fn string2ll_is_as_strict_as_redis() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"-1"), Some(-1));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"9223372036854775808",
            b"1a",
        ] {
            assert_eq!(string2ll(bad), None, "{bad:?}");
        }
    }
}
