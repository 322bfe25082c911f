//! Numbers parsed and formatted the way Redis does.

use crate::keyspace::parse_i64_strict;

use super::CmdError;

/// Parses an integer argument like getLongLongFromObject (string2ll).
pub fn parse_i64(b: &[u8]) -> Result<i64, CmdError> {
    parse_i64_strict(b).ok_or(CmdError::NOT_INT)
}

/// Parses a float like string2ld: no leading space, the whole string, finite or infinite,
/// never NaN.
pub fn parse_f64(b: &[u8]) -> Option<f64> {
    if b.is_empty() || b.len() >= 5 * 1024 || b[0].is_ascii_whitespace() {
        return None;
    }
    let s = std::str::from_utf8(b).ok()?;
    let v: f64 = s.parse().ok()?;
    if v.is_nan() {
        return None;
    }
    Some(v)
}

fn ulps_apart(a: f64, b: f64) -> u64 {
    if a.is_sign_negative() != b.is_sign_negative() {
        return u64::MAX;
    }
    a.to_bits().abs_diff(b.to_bits())
}

/// INCRBYFLOAT's output: Redis prints a long double with "%.17Lf" and trims trailing
/// zeros. We compute in f64; to hide the noise that long double precision would not show,
/// a value within two ulps of a 15-significant-digit decimal is printed as that decimal.
pub fn format_long_double(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let short = format!("{:.14e}", v);
    let candidate = match short.parse::<f64>() {
        Ok(c) if ulps_apart(c, v) <= 2 => c,
        _ => v,
    };
    let mut s = format!("{candidate}");
    if let Some(dot) = s.find('.') {
        if s.len() - dot - 1 > 17 {
            s = format!("{candidate:.17}");
        }
        if s.contains('.') {
            while s.ends_with('0') {
                s.pop();
            }
            if s.ends_with('.') {
                s.pop();
            }
        }
    }
    if s == "-0" {
        s = "0".into();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_double_formatting() {
        assert_eq!(format_long_double(10.5 + 0.1), "10.6");
        assert_eq!(format_long_double(0.1 + 0.2), "0.3");
        assert_eq!(format_long_double(3.0), "3");
        assert_eq!(format_long_double(-0.0), "0");
        assert_eq!(format_long_double(1e-20), "0");
        assert_eq!(format_long_double(5000.0), "5000");
        assert_eq!(format_long_double(1.5e20), "150000000000000000000");
    }

    #[test]
    fn floats() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b" 1.5"), None);
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b"inf"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b""), None);
    }
}
