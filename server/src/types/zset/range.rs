//! Score and lexicographic range arguments, parsed as zslParseRange / zslParseLexRange.

use crate::types::num::parse_f64;
use crate::types::TypesError;

/// A score interval: `min`/`max` with exclusive flags (`(1.5`), `-inf`/`+inf` allowed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    /// Lower bound.
    pub min: f64,
    /// Upper bound.
    pub max: f64,
    /// `(` before min.
    pub min_ex: bool,
    /// `(` before max.
    pub max_ex: bool,
}

fn parse_bound(b: &[u8]) -> Result<(f64, bool), TypesError> {
    let (ex, num) = match b.split_first() {
        Some((b'(', rest)) => (true, rest),
        _ => (false, b),
    };
    strtod_whole(num)
        .map(|v| (v, ex))
        .ok_or(TypesError::MinMaxNotFloat)
}

/// zslParseRange reads a bound with a bare strtod on the C string: the text stops at a NUL,
/// the empty string is 0, leading white space is skipped, overflow gives an infinity and
/// underflow zero; only trailing junk and NaN are refused.
fn strtod_whole(b: &[u8]) -> Option<f64> {
    let b = b.split(|&c| c == 0).next().unwrap_or(b);
    if b.is_empty() {
        return Some(0.0);
    }
    let start = b
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))?;
    let t = b.get(start..)?;
    parse_f64(t).or_else(|| {
        let s = std::str::from_utf8(t).ok()?;
        let body = s.strip_prefix(['+', '-']).unwrap_or(s);
        let decimal = !body.is_empty()
            && body.starts_with(|c: char| c.is_ascii_digit() || c == '.')
            && body
                .bytes()
                .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'-' | b'+'));
        decimal.then(|| s.parse::<f64>().ok()).flatten()
    })
}

impl ScoreRange {
    /// Parses `min` and `max` as given to ZRANGEBYSCORE (for the REV forms pass them
    /// swapped back: min is always the lower bound).
    pub fn parse(min: &[u8], max: &[u8]) -> Result<Self, TypesError> {
        let (min, min_ex) = parse_bound(min)?;
        let (max, max_ex) = parse_bound(max)?;
        Ok(ScoreRange {
            min,
            max,
            min_ex,
            max_ex,
        })
    }

    /// Whether `s` is above the lower bound.
    pub fn gte_min(&self, s: f64) -> bool {
        if self.min_ex {
            s > self.min
        } else {
            s >= self.min
        }
    }

    /// Whether `s` is below the upper bound.
    pub fn lte_max(&self, s: f64) -> bool {
        if self.max_ex {
            s < self.max
        } else {
            s <= self.max
        }
    }

    /// Whether the range can hold anything (zslIsInRange's first test).
    pub fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.min_ex || self.max_ex))
    }
}

/// One end of a lexicographic range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexBound {
    /// `-`: below everything.
    Min,
    /// `+`: above everything.
    Max,
    /// `[x` (true) or `(x` (false).
    Value(Vec<u8>, bool),
}

/// A lexicographic interval (ZRANGEBYLEX, ZLEXCOUNT, ZREMRANGEBYLEX).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexRange {
    /// Lower end.
    pub min: LexBound,
    /// Upper end.
    pub max: LexBound,
}

fn parse_lex(b: &[u8]) -> Result<LexBound, TypesError> {
    match b.split_first() {
        Some((b'+', [])) => Ok(LexBound::Max),
        Some((b'-', [])) => Ok(LexBound::Min),
        Some((b'[', rest)) => Ok(LexBound::Value(rest.to_vec(), true)),
        Some((b'(', rest)) => Ok(LexBound::Value(rest.to_vec(), false)),
        _ => Err(TypesError::MinMaxNotLex),
    }
}

impl LexRange {
    /// Parses `min` and `max` as given to ZRANGEBYLEX.
    pub fn parse(min: &[u8], max: &[u8]) -> Result<Self, TypesError> {
        Ok(LexRange {
            min: parse_lex(min)?,
            max: parse_lex(max)?,
        })
    }

    /// Whether `m` is at or above the lower end.
    pub fn gte_min(&self, m: &[u8]) -> bool {
        match &self.min {
            LexBound::Min => true,
            LexBound::Max => false,
            LexBound::Value(v, incl) => {
                if *incl {
                    m >= &v[..]
                } else {
                    m > &v[..]
                }
            }
        }
    }

    /// Whether `m` is at or below the upper end.
    pub fn lte_max(&self, m: &[u8]) -> bool {
        match &self.max {
            LexBound::Min => false,
            LexBound::Max => true,
            LexBound::Value(v, incl) => {
                if *incl {
                    m <= &v[..]
                } else {
                    m < &v[..]
                }
            }
        }
    }

    /// Whether the range can hold anything (zslIsInLexRange's first test).
    pub fn is_empty(&self) -> bool {
        match (&self.min, &self.max) {
            (LexBound::Max, _) | (_, LexBound::Min) => true,
            (LexBound::Value(a, ai), LexBound::Value(b, bi)) => a > b || (a == b && !(*ai && *bi)),
            _ => false,
        }
    }
}
