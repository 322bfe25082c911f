//! The x87 80-bit `long double` arithmetic INCRBYFLOAT relies on: Redis parses both
//! operands with strtold, adds them in long double and prints the sum with "%.17Lf"
//! (trailing zeros trimmed). A 64-bit mantissa shows different rounding noise than f64,
//! so it is emulated exactly here with big integers.

use num_bigint::{BigInt, BigUint, Sign};
use num_traits::{One, Zero};

/// Largest binary exponent of a finite long double (value < 2^16384).
const MAX_BITS_EXP: i64 = 16384;

/// A finite long double: `(-1)^neg * mant * 2^exp`, `mant` with exactly 64 significant
/// bits, or zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongDouble {
    neg: bool,
    mant: u64,
    exp: i64,
}

/// What strtold gives for a string Redis accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// A finite value.
    Finite(LongDouble),
    /// `inf`, `infinity` (either sign).
    Infinite,
}

/// Rounds `n * 2^e` (plus a sticky non-zero tail below it) to 64 bits, ties to even.
fn round_big(neg: bool, n: BigUint, e: i64, sticky: bool) -> LongDouble {
    if n.is_zero() {
        return LongDouble {
            neg,
            mant: 0,
            exp: 0,
        };
    }
    let bits = n.bits() as i64;
    if bits <= 64 {
        let shift = 64 - bits;
        let m = n << (shift as usize);
        let mant = m.to_u64_digits().first().copied().unwrap_or(0);
        return LongDouble {
            neg,
            mant,
            exp: e - shift,
        };
    }
    let shift = (bits - 64) as usize;
    let q: BigUint = &n >> shift;
    let rem: BigUint = &n - (&q << shift);
    let half: BigUint = BigUint::one() << (shift - 1);
    let mut mant = q.to_u64_digits().first().copied().unwrap_or(0);
    let round_up = rem > half || (rem == half && (sticky || mant & 1 == 1));
    let mut exp = e + shift as i64;
    if round_up {
        match mant.checked_add(1) {
            Some(m) => mant = m,
            None => {
                mant = 1 << 63;
                exp += 1;
            }
        }
    }
    LongDouble { neg, mant, exp }
}

/// The exponent after `e` or `p`: an optional sign and at least one decimal digit. Its
/// magnitude saturates at 10^6, far past where any value overflows or underflows, so a
/// long run of digits cannot overflow the accumulator.
fn parse_exponent(e: &[u8]) -> Option<i64> {
    let (neg, digits) = match e.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, e),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = digits
        .iter()
        .fold(0i64, |v, &d| (v * 10 + i64::from(d - b'0')).min(1_000_000));
    Some(if neg { -v } else { v })
}

/// The part of a hexadecimal float after `0x` (lowercase): hex digits with an optional
/// point, then an optional `p` and a decimal power of two. strtold refuses a result that
/// overflows or underflows to zero; so does this.
fn parse_hex(neg: bool, s: &[u8]) -> Option<LongDouble> {
    let (mant_part, exp_part) = match s.iter().position(|&c| c == b'p') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int_digits, frac_digits) = match mant_part.iter().position(|&c| c == b'.') {
        Some(i) => (&mant_part[..i], &mant_part[i + 1..]),
        None => (mant_part, &mant_part[..0]),
    };
    if int_digits.is_empty() && frac_digits.is_empty() {
        return None;
    }
    if !int_digits
        .iter()
        .chain(frac_digits)
        .all(u8::is_ascii_hexdigit)
    {
        return None;
    }
    let mut exp2 = match exp_part {
        Some(e) => parse_exponent(e)?,
        None => 0,
    };
    let digits: Vec<u8> = int_digits.iter().chain(frac_digits).copied().collect();
    let Some(first) = digits.iter().position(|&d| d != b'0') else {
        return Some(LongDouble {
            neg,
            mant: 0,
            exp: 0,
        });
    };
    let n = BigUint::parse_bytes(&digits[first..], 16)?;
    exp2 -= 4 * frac_digits.len() as i64;
    // The value lies in [2^(magnitude-1), 2^magnitude).
    let magnitude = n.bits() as i64 + exp2;
    if !(-16444..=MAX_BITS_EXP).contains(&magnitude) {
        return None;
    }
    let v = round_big(neg, n, exp2, false);
    (v.exp + 64 <= MAX_BITS_EXP).then_some(v)
}

fn pow10(k: u64) -> BigUint {
    num_traits::pow(BigUint::from(10u32), k as usize)
}

impl LongDouble {
    /// The exact value of an integer (any i64 fits a 64-bit mantissa).
    pub fn from_i64(n: i64) -> LongDouble {
        round_big(n < 0, BigUint::from(n.unsigned_abs()), 0, false)
    }

    /// Parses like Redis's string2ld (strtold over the whole string, no leading space),
    /// hexadecimal floats (`0x1.8p3`) included.
    pub fn parse(s: &[u8]) -> Option<Parsed> {
        if s.is_empty() || s.len() >= 5 * 1024 || s[0].is_ascii_whitespace() {
            return None;
        }
        let (neg, body) = match s[0] {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let lower = body.to_ascii_lowercase();
        if lower == b"inf" || lower == b"infinity" {
            return Some(Parsed::Infinite);
        }
        if let Some(hex) = lower.strip_prefix(b"0x") {
            return parse_hex(neg, hex).map(Parsed::Finite);
        }
        let (mant_part, exp_part) = match body.iter().position(|&c| c == b'e' || c == b'E') {
            Some(i) => (&body[..i], Some(&body[i + 1..])),
            None => (body, None),
        };
        let (int_digits, frac_digits) = match mant_part.iter().position(|&c| c == b'.') {
            Some(i) => (&mant_part[..i], &mant_part[i + 1..]),
            None => (mant_part, &mant_part[..0]),
        };
        if int_digits.is_empty() && frac_digits.is_empty() {
            return None;
        }
        if !int_digits.iter().chain(frac_digits).all(u8::is_ascii_digit) {
            return None;
        }
        let mut exp10 = match exp_part {
            Some(e) => parse_exponent(e)?,
            None => 0,
        };
        let digits: Vec<u8> = int_digits.iter().chain(frac_digits).copied().collect();
        let first_nonzero = digits.iter().position(|&d| d != b'0');
        let Some(first) = first_nonzero else {
            return Some(Parsed::Finite(LongDouble {
                neg,
                mant: 0,
                exp: 0,
            }));
        };
        let significant = &digits[first..];
        exp10 -= frac_digits.len() as i64;
        // Decimal magnitude of the value: beyond the long double range strtold reports
        // ERANGE, which Redis refuses.
        let magnitude = significant.len() as i64 + exp10;
        if !(-4950..=4933).contains(&magnitude) {
            return None;
        }
        let d = BigUint::parse_bytes(significant, 10)?;
        let v = if exp10 >= 0 {
            round_big(neg, d * pow10(exp10 as u64), 0, false)
        } else {
            let den = pow10((-exp10) as u64);
            let s = (66 + den.bits() as i64 - d.bits() as i64).max(0) as usize;
            let num = d << s;
            let q = &num / &den;
            let sticky = !(num % &den).is_zero();
            round_big(neg, q, -(s as i64), sticky)
        };
        Some(Parsed::Finite(v))
    }

    fn to_bigint(&self, base_exp: i64) -> BigInt {
        let m = BigInt::from(self.mant) << ((self.exp - base_exp) as usize);
        if self.neg {
            -m
        } else {
            m
        }
    }

    /// The nearest double (infinite beyond its range, 0 below it).
    pub fn to_f64(&self) -> f64 {
        // Two steps, so neither factor leaves the double range before the product does.
        let half = (self.exp / 2).clamp(-1100, 1100) as i32;
        let rest = (self.exp - i64::from(half)).clamp(-1100, 1100) as i32;
        let v = self.mant as f64 * 2f64.powi(half) * 2f64.powi(rest);
        if self.neg {
            -v
        } else {
            v
        }
    }

    /// The correctly rounded sum, or None when it overflows the long double range.
    pub fn add(&self, other: &LongDouble) -> Option<LongDouble> {
        let base = self.exp.min(other.exp);
        let sum = self.to_bigint(base) + other.to_bigint(base);
        let (sign, mag) = sum.into_parts();
        let r = round_big(sign == Sign::Minus, mag, base, false);
        if r.mant != 0 && r.exp + 64 > MAX_BITS_EXP {
            return None;
        }
        Some(r)
    }

    /// "%.17Lf" with trailing zeros (and a bare point) removed, "-0" printed as "0".
    pub fn format_human(&self) -> String {
        let scaled = BigUint::from(self.mant) * pow10(17);
        let q = if self.exp >= 0 {
            scaled << (self.exp as usize)
        } else {
            let sh = (-self.exp) as usize;
            let q: BigUint = &scaled >> sh;
            let rem: BigUint = &scaled - (&q << sh);
            let half: BigUint = BigUint::one() << (sh - 1);
            let odd = q.bit(0);
            if rem > half || (rem == half && odd) {
                q + 1u32
            } else {
                q
            }
        };
        let mut digits = q.to_string();
        if digits.len() < 18 {
            digits = format!("{}{}", "0".repeat(18 - digits.len()), digits);
        }
        let (int, frac) = digits.split_at(digits.len() - 17);
        let frac = frac.trim_end_matches('0');
        let mut s = String::new();
        if self.neg {
            s.push('-');
        }
        s.push_str(int);
        if !frac.is_empty() {
            s.push('.');
            s.push_str(frac);
        }
        if s == "-0" {
            s = "0".into();
        }
        s
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    fn fin(s: &str) -> LongDouble {
        match LongDouble::parse(s.as_bytes()) {
            Some(Parsed::Finite(v)) => v,
            other => panic!("{s}: {other:?}"),
        }
    }

    fn incr(a: &str, b: &str) -> String {
        fin(a)
            .add(&fin(b))
            .map(|v| v.format_human())
            .unwrap_or_else(|| "overflow".into())
    }

    #[test]
    fn matches_redis_incrbyfloat() {
        // Replies of redis-server 7.0.15.
        assert_eq!(incr("10.5", "0.1"), "10.6");
        assert_eq!(incr("0.1", "0.2"), "0.3");
        assert_eq!(incr("0", "9223372036854775807"), "9223372036854775807");
        assert_eq!(incr("5.0e3", "2.0e2"), "5200");
        assert_eq!(incr("1", "-1"), "0");
        assert_eq!(incr("-0", "0"), "0");
        assert_eq!(incr("3", "1.5"), "4.5");
        // Hexadecimal floats, as strtold reads them.
        assert_eq!(incr("0", "0x1p3"), "8");
        assert_eq!(incr("10", "0x10"), "26");
        assert_eq!(incr("0x1.8p1", "1"), "4");
        assert_eq!(incr("0", "-0X.8"), "-0.5");
        assert_eq!(incr("0", "0x1P-2"), "0.25");
    }

    #[test]
    fn converts_to_the_nearest_double() {
        let f = |s: &str| fin(s).to_f64();
        assert_eq!(f("0.05"), 0.05);
        assert_eq!(f("-1.5"), -1.5);
        assert_eq!(f("0x1p-3"), 0.125);
        assert_eq!(f("1e400"), f64::INFINITY);
        assert_eq!(f("1e-400"), 0.0);
        assert_eq!(f("9223372036854775807"), i64::MAX as f64);
    }

    #[test]
    fn rejects_what_strtold_or_redis_rejects() {
        for bad in [
            "",
            " 1",
            "1 ",
            "abc",
            "1e",
            ".",
            "-",
            "1e5000",
            "1e-5000",
            "nan",
            "0x",
            "0x.",
            "0x1p",
            "0x1p+",
            "0xg",
            "0x1p99999",
            "0x1p-99999",
            "0x1.8q",
            " 0x1",
        ] {
            assert!(LongDouble::parse(bad.as_bytes()).is_none(), "{bad}");
        }
        assert_eq!(LongDouble::parse(b"inf"), Some(Parsed::Infinite));
        assert_eq!(LongDouble::parse(b"-Infinity"), Some(Parsed::Infinite));
        assert!(matches!(LongDouble::parse(b"+.5"), Some(Parsed::Finite(_))));
    }
}
