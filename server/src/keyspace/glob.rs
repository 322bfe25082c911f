//! Glob-style matching with the exact semantics of Redis's `stringmatchlen` (util.c):
//! `*`, `?`, `[...]` with `^` negation, ranges and `\` escapes, the quirks of a
//! NUL-terminated C pattern, signed `char` comparisons in ranges, and the nesting limit
//! that protects against abusive patterns.

/// Deepest `*` recursion Redis allows before declaring "no match".
const MAX_NESTING: u32 = 1000;

/// Does `string` match the glob `pattern`? `nocase` folds ASCII case like `tolower`.
pub fn string_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let mut skip_longer = false;
    match_impl(pattern, string, nocase, &mut skip_longer, 0)
}

/// The pattern byte at `i`, or the C string terminator past the end.
fn at(p: &[u8], i: usize) -> u8 {
    p.get(i).copied().unwrap_or(0)
}

fn lower(c: u8, nocase: bool) -> u8 {
    if nocase {
        c.to_ascii_lowercase()
    } else {
        c
    }
}

fn match_impl(pat: &[u8], s: &[u8], nocase: bool, skip_longer: &mut bool, nesting: u32) -> bool {
    if nesting > MAX_NESTING {
        return false;
    }
    let mut p = 0usize;
    let mut si = 0usize;
    while p < pat.len() && si < s.len() {
        match pat[p] {
            b'*' => {
                while p < pat.len() && at(pat, p + 1) == b'*' {
                    p += 1;
                }
                if pat.len() - p == 1 {
                    return true;
                }
                while si < s.len() {
                    if match_impl(&pat[p + 1..], &s[si..], nocase, skip_longer, nesting + 1) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    si += 1;
                }
                *skip_longer = true;
                return false;
            }
            b'?' => si += 1,
            b'[' => {
                p += 1;
                let not = at(pat, p) == b'^';
                if not {
                    p += 1;
                }
                let c = s[si];
                let mut matched = false;
                loop {
                    let remaining = pat.len() - p;
                    if at(pat, p) == b'\\' && remaining >= 2 {
                        p += 1;
                        if pat[p] == c {
                            matched = true;
                        }
                    } else if at(pat, p) == b']' {
                        break;
                    } else if remaining == 0 {
                        p -= 1;
                        break;
                    } else if remaining >= 3 && pat[p + 1] == b'-' {
                        // C compares plain (signed) chars here.
                        let mut start = i32::from(lower(pat[p], nocase) as i8);
                        let mut end = i32::from(lower(pat[p + 2], nocase) as i8);
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        let cc = i32::from(lower(c, nocase) as i8);
                        p += 2;
                        if cc >= start && cc <= end {
                            matched = true;
                        }
                    } else if lower(pat[p], nocase) == lower(c, nocase) {
                        matched = true;
                    }
                    p += 1;
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                si += 1;
            }
            first => {
                let mut pc = first;
                if first == b'\\' && pat.len() - p >= 2 {
                    p += 1;
                    pc = pat[p];
                }
                if lower(pc, nocase) != lower(s[si], nocase) {
                    return false;
                }
                si += 1;
            }
        }
        p += 1;
        if si == s.len() {
            while at(pat, p) == b'*' {
                p += 1;
            }
            break;
        }
    }
    p >= pat.len() && si == s.len()
}

#[cfg(test)]
mod tests {
    use super::string_match;

    fn m(p: &str, s: &str) -> bool {
        string_match(p.as_bytes(), s.as_bytes(), false)
    }

    #[test]
    fn basics() {
        assert!(m("*", "anything"));
        assert!(
            !m("*", ""),
            "C quirk: the loop never runs for an empty string"
        );
        assert!(m("h?llo", "hello"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("h*llo", "heeeello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(m("h[b-a]llo", "hallo"));
        assert!(m("h\\*llo", "h*llo"));
        assert!(!m("h\\*llo", "hello"));
        assert!(m("a*", "a"));
        assert!(m("a**", "a"));
        assert!(!m("", "a"));
        assert!(m("", ""));
        assert!(!m("a", ""));
    }

    #[test]
    fn abusive_pattern_terminates() {
        let pat = "a*".repeat(2000) + "b";
        let s = "a".repeat(3000);
        assert!(!string_match(pat.as_bytes(), s.as_bytes(), false));
    }

    #[test]
    fn nocase() {
        assert!(string_match(b"HeLLo", b"hello", true));
        assert!(string_match(b"[A-C]x", b"bX", true));
    }
}
