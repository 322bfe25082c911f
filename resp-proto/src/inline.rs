//! Inline requests (`PING`, `SET a "b c"`), split as Redis's `sdssplitargs` splits them.

/// C's `isspace` in the C locale.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Splits one inline line (without its line ending) into arguments, or `None` for unbalanced
/// quotes. Rules of sdssplitargs: blanks (isspace) separate arguments; a bare argument ends at
/// space, tab, CR, LF or NUL only; `"..."` understands `\xHH`, `\n`, `\r`, `\t`, `\b`, `\a` and
/// `\<any>`; `'...'` understands only `\'`; a closing quote must be followed by a blank or the
/// end; a quote may open in the middle of a bare argument (`a"b c"` is `ab c`). The line ends at
/// its first NUL, as the C string it is in Redis.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let line = match memchr::memchr(0, line) {
        Some(nul) => line.get(..nul).unwrap_or_default(),
        None => line,
    };
    // Past the end reads as NUL, the C terminator.
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let mut args = Vec::new();
    let mut p = 0;
    loop {
        while p < line.len() && is_space(at(p)) {
            p += 1;
        }
        if p >= line.len() {
            return Some(args);
        }
        let mut current = Vec::new();
        let (mut in_double, mut in_single, mut done) = (false, false, false);
        while !done {
            let c = at(p);
            if in_double {
                if c == b'\\' && at(p + 1) == b'x' {
                    if let (Some(hi), Some(lo)) = (hex_value(at(p + 2)), hex_value(at(p + 3))) {
                        current.push(hi * 16 + lo);
                        p += 3;
                        p += 1;
                        continue;
                    }
                }
                if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    current.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return None;
                    }
                    done = true;
                } else if c == 0 {
                    return None;
                } else {
                    current.push(c);
                }
            } else if in_single {
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    current.push(b'\'');
                } else if c == b'\'' {
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return None;
                    }
                    done = true;
                } else if c == 0 {
                    return None;
                } else {
                    current.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => done = true,
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    other => current.push(other),
                }
            }
            if c != 0 {
                p += 1;
            }
        }
        args.push(current);
    }
}

/// Appends `s` quoted and escaped as Redis's `sdscatrepr` does (CONFIG REWRITE,
/// redis-cli's output): what [`split_args`] reads back.
pub fn push_repr(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'\\' | b'"' => {
                out.push(b'\\');
                out.push(c);
            }
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            c if (0x20..0x7f).contains(&c) => out.push(c),
            c => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\x");
                out.push(HEX[usize::from(c >> 4)]);
                out.push(HEX[usize::from(c & 0x0f)]);
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::split_args;

    fn split(s: &[u8]) -> Option<Vec<Vec<u8>>> {
        split_args(s)
    }

    fn args(v: &[&[u8]]) -> Option<Vec<Vec<u8>>> {
        Some(v.iter().map(|a| a.to_vec()).collect())
    }

    #[test]
    fn splits_like_sdssplitargs() {
        assert_eq!(split(b"PING"), args(&[b"PING"]));
        assert_eq!(split(b"  SET  a   b "), args(&[b"SET", b"a", b"b"]));
        assert_eq!(split(b""), args(&[]));
        assert_eq!(split(b" \t "), args(&[]));
        assert_eq!(split(b"ECHO \"a b\""), args(&[b"ECHO", b"a b"]));
        assert_eq!(split(b"ECHO \"\""), args(&[b"ECHO", b""]));
        assert_eq!(split(b"ECHO 'a\\'b'"), args(&[b"ECHO", b"a'b"]));
        assert_eq!(split(b"ECHO '\\n'"), args(&[b"ECHO", b"\\n"]));
        // Verified against redis-server 7.0.15: ECHO "\x41\x4g\n" -> "Ax4g\n".
        assert_eq!(
            split(b"ECHO \"\\x41\\x4g\\n\""),
            args(&[b"ECHO", b"Ax4g\n"])
        );
        assert_eq!(
            split(b"ECHO \"\\t\\r\\b\\a\\q\""),
            args(&[b"ECHO", b"\t\r\x08\x07q"])
        );
        assert_eq!(split(b"ECHO a\rb"), args(&[b"ECHO", b"a", b"b"]));
        // A vertical tab separates nothing inside a bare word, but ends a quoted one.
        assert_eq!(split(b"ECHO a\x0bb"), args(&[b"ECHO", b"a\x0bb"]));
        assert_eq!(split(b"ECHO \"a\"\x0bb"), args(&[b"ECHO", b"a", b"b"]));
        assert_eq!(split(b"a\"b c\" d"), args(&[b"ab c", b"d"]));
        assert_eq!(split(b"ECHO \"a\\\"b\""), args(&[b"ECHO", b"a\"b"]));
    }

    #[test]
    fn refuses_unbalanced_quotes() {
        for bad in [
            &b"ECHO \"ab"[..],
            b"ECHO \"a\"b",
            b"ECHO 'a'b",
            b"ECHO 'ab",
            b"ECHO a\"b c\"d",
            b"\"\\",
        ] {
            assert_eq!(split(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
