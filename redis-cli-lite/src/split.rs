//! Splitting a typed line into arguments the way redis-cli does (`sdssplitargs`): spaces
//! separate, `"..."` understands `\n \r \t \b \a \xHH` and `\"`, `'...'` only `\'`.

/// A line with an unclosed quote, or a closing quote not followed by a space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unbalanced;

/// Splits `line` into arguments. An empty or all-blank line gives no arguments.
pub fn split_args(line: &[u8]) -> Result<Vec<Vec<u8>>, Unbalanced> {
    resp_proto::split_args(line).ok_or(Unbalanced)
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
