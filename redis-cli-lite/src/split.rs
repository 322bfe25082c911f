//! Splitting a typed line into arguments the way redis-cli does (`sdssplitargs`): spaces
//! separate, `"..."` understands `\n \r \t \b \a \xHH` and `\"`, `'...'` only `\'`.

/// A line with an unclosed quote, or a closing quote not followed by a space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unbalanced;

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Splits `line` into arguments. An empty or all-blank line gives no arguments.
pub fn split_args(line: &[u8]) -> Result<Vec<Vec<u8>>, Unbalanced> {
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while line.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
            i += 1;
        }
        if i >= line.len() {
            return Ok(args);
        }
        let mut cur = Vec::new();
        let mut in_double = false;
        let mut in_single = false;
        loop {
            let c = line.get(i).copied();
            if in_double {
                match c {
                    None => return Err(Unbalanced),
                    Some(b'\\') => {
                        let next = line.get(i + 1).copied();
                        let (h, l) = (line.get(i + 2).copied(), line.get(i + 3).copied());
                        if next == Some(b'x') {
                            if let (Some(h), Some(l)) = (h.and_then(hex), l.and_then(hex)) {
                                cur.push(h * 16 + l);
                                i += 4;
                                continue;
                            }
                        }
                        match next {
                            None => return Err(Unbalanced),
                            Some(n) => {
                                cur.push(match n {
                                    b'n' => b'\n',
                                    b'r' => b'\r',
                                    b't' => b'\t',
                                    b'b' => 0x08,
                                    b'a' => 0x07,
                                    other => other,
                                });
                                i += 2;
                                continue;
                            }
                        }
                    }
                    Some(b'"') => {
                        if line.get(i + 1).is_some_and(|n| !n.is_ascii_whitespace()) {
                            return Err(Unbalanced);
                        }
                        i += 1;
                        break;
                    }
                    Some(other) => cur.push(other),
                }
            } else if in_single {
                match c {
                    None => return Err(Unbalanced),
                    Some(b'\\') if line.get(i + 1) == Some(&b'\'') => {
                        cur.push(b'\'');
                        i += 2;
                        continue;
                    }
                    Some(b'\'') => {
                        if line.get(i + 1).is_some_and(|n| !n.is_ascii_whitespace()) {
                            return Err(Unbalanced);
                        }
                        i += 1;
                        break;
                    }
                    Some(other) => cur.push(other),
                }
            } else {
                match c {
                    None | Some(b' ' | b'\n' | b'\r' | b'\t' | b'\0') => break,
                    Some(b'"') => in_double = true,
                    Some(b'\'') => in_single = true,
                    Some(other) => cur.push(other),
                }
            }
            i += 1;
        }
        args.push(cur);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|a| a.as_bytes().to_vec()).collect()
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(
            split_args(b"  set k  v ").unwrap_or_default(),
            s(&["set", "k", "v"])
        );
        assert_eq!(
            split_args(br#"set "a b\x41\n" 'it\'s'"#).unwrap_or_default(),
            s(&["set", "a bA\n", "it's"])
        );
        assert_eq!(
            split_args(b"set \"\" x").unwrap_or_default(),
            s(&["set", "", "x"])
        );
    }

    #[test]
    fn unbalanced_quotes_are_refused() {
        assert_eq!(split_args(b"set \"abc"), Err(Unbalanced));
        assert_eq!(split_args(b"set \"abc\"x"), Err(Unbalanced));
        assert_eq!(split_args(b"set 'abc"), Err(Unbalanced));
    }
}
