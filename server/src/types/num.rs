//! Numbers as the value types read and write them: strtod-based score
//! parsing, `%.17g` and the d2string form scores take inside a listpack.

/// Parses a float the way Redis's getDoubleFromObject does with strtod: the whole string,
/// no leading space, hexadecimal floats accepted, overflow (`1e400`) and underflow to zero
/// (`1e-400`) refused, NaN refused. Infinities are accepted (`inf`, `+inf`, `-Infinity`).
pub fn parse_f64(b: &[u8]) -> Option<f64> {
    // Redis copies into a MAX_LONG_DOUBLE_CHARS-sized buffer; longer input is refused.
    if b.is_empty() || b.len() > 5 * 1024 || b[0].is_ascii_whitespace() {
        return None;
    }
    let s = std::str::from_utf8(b).ok()?;
    let (sign, body) = match s.as_bytes().first() {
        Some(b'-') => (-1.0, &s[1..]),
        Some(b'+') => (1.0, &s[1..]),
        _ => (1.0, s),
    };
    let lower = body.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Some(sign * f64::INFINITY);
    }
    if lower.starts_with("nan") {
        return None;
    }
    let v = if let Some(hex) = lower.strip_prefix("0x") {
        parse_hex_float(hex)?
    } else {
        if body.starts_with(['+', '-'])
            || !body
                .bytes()
                .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'-' | b'+'))
        {
            return None;
        }
        body.parse::<f64>().ok()?
    };
    // strtod's ERANGE: an overflow to infinity or an underflow to zero is refused.
    if v.is_infinite() {
        return None;
    }
    if v == 0.0 && mantissa_has_nonzero_digit(&lower) {
        return None;
    }
    Some(sign * v)
}

fn mantissa_has_nonzero_digit(s: &str) -> bool {
    let (mant, hex) = match s.strip_prefix("0x") {
        Some(rest) => (rest.split('p').next().unwrap_or(""), true),
        None => (s.split('e').next().unwrap_or(""), false),
    };
    mant.bytes().any(|c| {
        if hex {
            c.is_ascii_hexdigit() && c != b'0'
        } else {
            (b'1'..=b'9').contains(&c)
        }
    })
}

/// The hexadecimal form strtod accepts: `hex[.hex][p[+-]dec]`, at least one digit.
fn parse_hex_float(s: &str) -> Option<f64> {
    let (mant, exp) = match s.split_once('p') {
        Some((m, e)) => (m, Some(e)),
        None => (s, None),
    };
    let (int_part, frac_part) = mant.split_once('.').unwrap_or((mant, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut v = 0.0f64;
    for c in int_part.chars() {
        v = v * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac_part.chars() {
        v += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    let e: i32 = match exp {
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            e.parse::<i64>()
                .unwrap_or(if e.starts_with('-') {
                    -100_000
                } else {
                    100_000
                })
                .clamp(-100_000, 100_000) as i32
        }
        None => 0,
    };
    Some(v * 2f64.powi(e))
}

/// Longest `%.17g` text: sign, 17 digits, point, `e-308`.
pub const MAX_G17: usize = 32;

/// Appends `d` as C's `printf("%.17g")` prints it (glibc), with `inf`/`-inf`/`nan` as Redis
/// writes them. This is the text of every score reply.
pub fn write_g17(d: f64, out: &mut Vec<u8>) {
    if d.is_nan() {
        out.extend_from_slice(b"nan");
        return;
    }
    if d.is_infinite() {
        out.extend_from_slice(if d < 0.0 { b"-inf" } else { b"inf" });
        return;
    }
    // `{:.16e}` is correctly rounded to 17 significant digits, as glibc's printf is.
    let sci = format!("{d:.16e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mant) = match mant.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mant),
    };
    let digits: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    if neg {
        out.push(b'-');
    }
    if (-4..17).contains(&exp) {
        let mut s = Vec::with_capacity(24);
        if exp < 0 {
            s.extend_from_slice(b"0.");
            s.extend(std::iter::repeat_n(b'0', (-exp - 1) as usize));
            s.extend_from_slice(&digits);
        } else {
            let point = (exp + 1) as usize;
            s.extend_from_slice(&digits[..point]);
            s.push(b'.');
            s.extend_from_slice(&digits[point..]);
        }
        while s.last() == Some(&b'0') {
            s.pop();
        }
        if s.last() == Some(&b'.') {
            s.pop();
        }
        out.extend_from_slice(&s);
    } else {
        let mut m = digits;
        while m.len() > 1 && m.last() == Some(&b'0') {
            m.pop();
        }
        out.push(m[0]);
        if m.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&m[1..]);
        }
        out.push(b'e');
        out.push(if exp < 0 { b'-' } else { b'+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push(b'0');
        }
        out.extend_from_slice(e.to_string().as_bytes());
    }
}

/// `d` as `%.17g` text.
pub fn g17(d: f64) -> Vec<u8> {
    let mut v = Vec::with_capacity(MAX_G17);
    write_g17(d, &mut v);
    v
}

/// How a score is written into a listpack (d2string): integral values within ±LLONG_MAX/2
/// as integers (so they are stored as listpack integers, and -0 becomes 0), the rest `%.17g`.
pub(crate) enum ScoreText {
    Int(i64),
    Text(Vec<u8>),
}

pub(crate) fn score_text(d: f64) -> ScoreText {
    const HALF: f64 = (i64::MAX / 2) as f64;
    if d.is_finite() && (-HALF..=HALF).contains(&d) && d == d.trunc() {
        ScoreText::Int(d as i64)
    } else {
        ScoreText::Text(g17(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(d: f64) -> String {
        String::from_utf8(g17(d)).unwrap_or_default()
    }

    #[test]
    fn g17_matches_printf() {
        assert_eq!(g(0.1), "0.10000000000000001");
        assert_eq!(g(1.5), "1.5");
        assert_eq!(g(3.0), "3");
        assert_eq!(g(1e20), "1e+20");
        assert_eq!(g(1e16), "10000000000000000");
        assert_eq!(g(1e17), "1e+17");
        assert_eq!(g(1e-4), "0.0001");
        assert_eq!(g(1e-5), "1.0000000000000001e-05");
        assert_eq!(g(-2.5e-300), "-2.5e-300");
        assert_eq!(g(f64::INFINITY), "inf");
        assert_eq!(g(f64::NEG_INFINITY), "-inf");
        assert_eq!(g(-0.0), "-0");
        assert_eq!(g(0.0), "0");
        assert_eq!(g(123456789.123), "123456789.123");
    }

    #[test]
    fn float_parsing_follows_strtod_and_redis() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"0x10"), Some(16.0));
        assert_eq!(parse_f64(b"0x1p3"), Some(8.0));
        assert_eq!(parse_f64(b"-0x1.8p1"), Some(-3.0));
        assert_eq!(parse_f64(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b"Infinity"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"1."), Some(1.0));
        assert_eq!(parse_f64(b".5"), Some(0.5));
        assert_eq!(parse_f64(b"4.9e-324"), Some(4.9e-324));
        for bad in [
            &b"1e400"[..],
            b"--5",
            b"+-5",
            b"1e-400",
            b" 1",
            b"1 ",
            b"nan",
            b"(1",
            b"",
            b"0x",
            b"abc",
            b"1e",
        ] {
            assert_eq!(parse_f64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(parse_f64(b"0e-400"), Some(0.0));
    }
}
