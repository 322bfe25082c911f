//! The lexical rules redis.conf shares with Redis's own helpers: argument splitting with quotes
//! (sdssplitargs), quoting for output (sdscatrepr), memory units (memtoull) and the two integer
//! parsers Redis uses (the strict string2ll and the lenient strtoll).

pub use resp_proto::{push_repr, split_args, string2ll};

/// C's `isspace` in the "C" locale.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// `s` quoted as by [`push_repr`].
pub fn repr(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() + 2);
    push_repr(&mut out, s);
    out
}

/// Redis's `memtoull`: digits followed by an optional unit (`b`, `k`=1000, `kb`=1024, `m`,
/// `mb`, `g`, `gb`, case-insensitive). `None` on anything else or on overflow.
///
/// Like Redis, an empty digit string counts as 0 (`kb` is 0) and a digit string too large for
/// 64 bits saturates before the unit is applied.
pub fn memtoull(s: &[u8]) -> Option<u64> {
    if s.first() == Some(&b'-') {
        return None;
    }
    let digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
    let (num, unit) = s.split_at(digits);
    let mul: u64 = match unit.to_ascii_lowercase().as_slice() {
        b"" | b"b" => 1,
        b"k" => 1000,
        b"kb" => 1024,
        b"m" => 1000 * 1000,
        b"mb" => 1024 * 1024,
        b"g" => 1000 * 1000 * 1000,
        b"gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if digits >= 128 {
        return None;
    }
    let mut val: u64 = 0;
    for &d in num {
        val = val.saturating_mul(10).saturating_add(u64::from(d - b'0'));
    }
    val.checked_mul(mul)
}

/// C's `strtoll(s, &end, 10)` followed by Redis's usual `*end == '\0'` check: leading
/// whitespace and a sign are allowed, an empty string is 0, out-of-range values saturate.
pub fn strtoll_full(s: &[u8]) -> Option<i64> {
    let mut i = s.iter().take_while(|&&c| is_space(c)).count();
    let mut negative = false;
    if let Some(&c @ (b'+' | b'-')) = s.get(i) {
        negative = c == b'-';
        i += 1;
    }
    let digits = s.get(i..).unwrap_or_default();
    let n = digits.iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 0 {
        // No conversion: strtoll leaves the end pointer at the start of the string.
        return s.is_empty().then_some(0);
    }
    if n != digits.len() {
        return None;
    }
    let mut v: i128 = 0;
    for &d in digits {
        v = (v * 10 + i128::from(d - b'0')).min(i128::from(i64::MAX) + 1);
    }
    let v = if negative { -v } else { v };
    Some(v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
}

/// Redis's `sdstrim(line, " \t\r\n")`.
pub fn trim_line(line: &[u8]) -> &[u8] {
    let is_trim = |c: &u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    let start = line.iter().position(|c| !is_trim(c)).unwrap_or(line.len());
    let end = line
        .iter()
        .rposition(|c| !is_trim(c))
        .map_or(start, |p| p + 1);
    line.get(start..end).unwrap_or_default()
}

/// Redis's glob matcher (`stringmatchlen`, case-insensitive flavour as CONFIG GET uses it).
pub fn glob_match(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    let mut skip_longer = false;
    glob_inner(pattern, s, nocase, 0, &mut skip_longer)
}

/// `skip_longer` is Redis's cut-off: once a `*` has tried every tail and failed, no outer
/// `*` can succeed by consuming more, which keeps patterns like `*a*a*a*b` polynomial.
fn glob_inner(
    mut p: &[u8],
    mut s: &[u8],
    nocase: bool,
    depth: u32,
    skip_longer: &mut bool,
) -> bool {
    // Redis bounds recursion the same way: pathological patterns simply do not match.
    if depth > 1000 {
        return false;
    }
    let eq = |a: u8, b: u8| {
        if nocase {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    while let (Some(&pc), false) = (p.first(), s.is_empty()) {
        match pc {
            b'*' => {
                while p.get(1) == Some(&b'*') {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                let rest = &p[1..];
                let mut tail = s;
                while !tail.is_empty() {
                    if glob_inner(rest, tail, nocase, depth + 1, skip_longer) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    tail = &tail[1..];
                }
                *skip_longer = true;
                return false;
            }
            b'?' => {
                let Some((_, t)) = s.split_first() else {
                    return false;
                };
                s = t;
            }
            b'[' => {
                let Some((&c, t)) = s.split_first() else {
                    return false;
                };
                p = &p[1..];
                let not = p.first() == Some(&b'^');
                if not {
                    p = &p[1..];
                }
                let mut matched = false;
                loop {
                    match p.first() {
                        Some(b'\\') if p.len() >= 2 => {
                            p = &p[1..];
                            if eq(p[0], c) {
                                matched = true;
                            }
                        }
                        Some(b']') => break,
                        None => {
                            // Unterminated class: Redis steps back so the loop ends.
                            break;
                        }
                        Some(_) if p.len() >= 3 && p[1] == b'-' => {
                            let (mut start, mut end) = (p[0], p[2]);
                            if start > end {
                                std::mem::swap(&mut start, &mut end);
                            }
                            let (lo, hi, cc) = if nocase {
                                (
                                    start.to_ascii_lowercase(),
                                    end.to_ascii_lowercase(),
                                    c.to_ascii_lowercase(),
                                )
                            } else {
                                (start, end, c)
                            };
                            if cc >= lo && cc <= hi {
                                matched = true;
                            }
                            p = &p[2..];
                        }
                        Some(&x) => {
                            if eq(x, c) {
                                matched = true;
                            }
                        }
                    }
                    if p.is_empty() {
                        break;
                    }
                    p = &p[1..];
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                s = t;
                if p.is_empty() {
                    // The class ran to the end of the pattern.
                    return s.is_empty();
                }
            }
            b'\\' if p.len() >= 2 => {
                p = &p[1..];
                let Some((&c, t)) = s.split_first() else {
                    return false;
                };
                if !eq(p[0], c) {
                    return false;
                }
                s = t;
            }
            _ => {
                let Some((&c, t)) = s.split_first() else {
                    return false;
                };
                if !eq(pc, c) {
                    return false;
                }
                s = t;
            }
        }
        p = p.get(1..).unwrap_or_default();
        if s.is_empty() {
            while p.first() == Some(&b'*') {
                p = &p[1..];
            }
            break;
        }
    }
    p.is_empty() && s.is_empty()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn split(s: &str) -> Option<Vec<String>> {
        split_args(s.as_bytes()).map(|v| {
            v.into_iter()
                .map(|a| String::from_utf8_lossy(&a).into_owned())
                .collect()
        })
    }

    #[test]
    fn splits_plain_and_quoted_arguments() {
        assert_eq!(split("port 6379").unwrap(), ["port", "6379"]);
        assert_eq!(split("  a   b\t c ").unwrap(), ["a", "b", "c"]);
        assert_eq!(
            split(r#"requirepass "se cret""#).unwrap(),
            ["requirepass", "se cret"]
        );
        assert_eq!(split("x 'it''s'"), None);
        assert_eq!(split(r"x 'it\'s'").unwrap(), ["x", "it's"]);
        assert_eq!(split(r#"x "\x41\n\"""#).unwrap(), ["x", "A\n\""]);
        assert_eq!(split(r#"x "\x4g""#).unwrap(), ["x", "x4g"]);
        assert_eq!(split(r#"save """#).unwrap(), ["save", ""]);
        assert_eq!(split("").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn unbalanced_quotes_are_refused() {
        assert_eq!(split(r#"dir "/tmp"#), None);
        assert_eq!(split(r#"port "6379"x"#), None);
        assert_eq!(split("a 'b"), None);
    }

    #[test]
    fn repr_escapes_like_sdscatrepr() {
        assert_eq!(repr(b"a b"), b"\"a b\"");
        assert_eq!(
            repr(b"q\"\\\n\x01\xff"),
            b"\"q\\\"\\\\\\n\\x01\\xff\"".to_vec()
        );
        // What repr writes, split_args reads back.
        let raw = b"we\"ird \\ \x00\x7f\xfe\t".to_vec();
        let line = [b"x ".to_vec(), repr(&raw)].concat();
        assert_eq!(split_args(&line).unwrap()[1], raw);
    }

    #[test]
    fn memory_units_follow_memtoull() {
        assert_eq!(memtoull(b"1"), Some(1));
        assert_eq!(memtoull(b"1k"), Some(1000));
        assert_eq!(memtoull(b"1kb"), Some(1024));
        assert_eq!(memtoull(b"1KB"), Some(1024));
        assert_eq!(memtoull(b"2m"), Some(2_000_000));
        assert_eq!(memtoull(b"2mb"), Some(2 * 1024 * 1024));
        assert_eq!(memtoull(b"1g"), Some(1_000_000_000));
        assert_eq!(memtoull(b"1gb"), Some(1 << 30));
        assert_eq!(memtoull(b"5b"), Some(5));
        assert_eq!(memtoull(b"kb"), Some(0));
        assert_eq!(memtoull(b"1zb"), None);
        assert_eq!(memtoull(b"-1"), None);
        assert_eq!(memtoull(b" 1"), None);
        assert_eq!(memtoull(b"999999999999999999999999"), Some(u64::MAX));
        assert_eq!(memtoull(b"99999999999999999999gb"), None);
    }

    #[test]
    fn string2ll_is_strict() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"-5"), Some(-5));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            "",
            "01",
            "-0",
            "+1",
            " 1",
            "1 ",
            "0x10",
            "9223372036854775808",
            "-",
        ] {
            assert_eq!(string2ll(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn strtoll_is_lenient() {
        assert_eq!(strtoll_full(b" 10"), Some(10));
        assert_eq!(strtoll_full(b"+3"), Some(3));
        assert_eq!(strtoll_full(b""), Some(0));
        assert_eq!(strtoll_full(b"10 "), None);
        assert_eq!(strtoll_full(b"abc"), None);
        assert_eq!(strtoll_full(b"99999999999999999999"), Some(i64::MAX));
    }

    #[test]
    fn glob_matches_like_redis() {
        assert!(glob_match(b"cluster-*", b"cluster-enabled", true));
        assert!(!glob_match(b"*", b"", true));
        assert!(glob_match(b"PORT", b"port", true));
        assert!(glob_match(b"p?rt", b"port", true));
        assert!(glob_match(b"[a-p]ort", b"port", true));
        assert!(glob_match(b"[^a]ort", b"port", true));
        assert!(!glob_match(b"[^p]ort", b"port", true));
        assert!(glob_match(b"*max*len", b"proto-max-bulk-len", true));
        assert!(!glob_match(b"cluster-*", b"port", true));
        assert!(glob_match(b"a\\*", b"a*", true));
        assert!(!glob_match(b"a\\*", b"ab", true));
        // Many stars against a long name stay fast (Redis's skip-longer-matches cut-off).
        let pattern = b"*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
        assert!(!glob_match(pattern, &[b'a'; 60], true));
    }

    #[test]
    fn trims_like_sdstrim() {
        assert_eq!(trim_line(b" \t port 1 \r\n"), b"port 1");
        assert_eq!(trim_line(b" \r\n"), b"");
    }
}
