//! Numbers parsed and formatted the way Redis does.

use resp_proto::string2ll;

use super::CmdError;

/// Parses an integer argument like getLongLongFromObject (string2ll).
pub fn parse_i64(b: &[u8]) -> Result<i64, CmdError> {
    string2ll(b).ok_or(CmdError::NOT_INT)
}

/// Parses an `int` argument like getIntFromObjectOrReply (a database index).
pub fn parse_i32(b: &[u8]) -> Result<i32, CmdError> {
    i32::try_from(parse_i64(b)?).map_err(|_| {
        CmdError::msg("ERR value is out of range, value must between -2147483648 and 2147483647")
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b" 1.5"), None);
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b"inf"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b""), None);
    }
}
