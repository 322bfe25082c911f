//! Which arguments MONITOR and the slow log show as `(redacted)`: Redis hides them in the
//! command's own argument vector, which both read.

use bytes::Bytes;

/// Positions of passwords (and AUTH's user names) as the commands hide them while they
/// parse their arguments (redactClientCommandArgument), from monitors and the slow log:
/// so only up to where a command stops on an error, as Redis shows the rest.
pub(super) fn redacted(args: &[Bytes]) -> Vec<usize> {
    let is = |i: usize, name: &[u8]| args.get(i).is_some_and(|a| a.eq_ignore_ascii_case(name));
    let mut hidden = Vec::new();
    if is(0, b"auth") {
        if args.len() <= 3 {
            hidden.extend(1..args.len());
        }
    } else if is(0, b"hello") {
        let version = args.get(1).map(|v| resp_proto::string2ll(v));
        if matches!(version, Some(Some(2 | 3)) | None) {
            let mut j = 2;
            while j < args.len() {
                let more = args.len() - 1 - j;
                if is(j, b"auth") && more >= 2 {
                    hidden.extend([j + 1, j + 2]);
                    j += 3;
                } else if is(j, b"setname") && more >= 1 {
                    j += 2;
                } else {
                    break;
                }
            }
        }
    } else if is(0, b"migrate") {
        let mut j = 6;
        while j < args.len() {
            let more = args.len() - 1 - j;
            if is(j, b"copy") || is(j, b"replace") {
                j += 1;
            } else if is(j, b"auth") && more >= 1 {
                hidden.push(j + 1);
                j += 2;
            } else if is(j, b"auth2") && more >= 2 {
                hidden.extend([j + 1, j + 2]);
                j += 3;
            } else {
                // KEYS: the rest are keys; anything else is a syntax error.
                break;
            }
        }
    }
    hidden
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<Bytes> {
        s.iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect()
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redacted(&args(&["AUTH", "pw"])), [1]);
        assert_eq!(redacted(&args(&["auth", "user", "pw"])), [1, 2]);
        // A syntax error stops the parse before anything is hidden, as in Redis.
        assert!(redacted(&args(&["auth", "a", "b", "c"])).is_empty());
        assert_eq!(
            redacted(&args(&["hello", "3", "setname", "auth", "auth", "u", "p"])),
            [5, 6]
        );
        assert!(redacted(&args(&["hello", "3", "bogus", "auth", "u", "p"])).is_empty());
        assert!(redacted(&args(&["hello", "x", "auth", "u", "p"])).is_empty());
        assert_eq!(
            redacted(&args(&[
                "MIGRATE", "h", "1", "", "0", "5", "AUTH", "pw", "KEYS", "a"
            ])),
            [7]
        );
        assert_eq!(
            redacted(&args(&[
                "MIGRATE", "h", "1", "", "0", "5", "AUTH2", "u", "pw"
            ])),
            [7, 8]
        );
        assert!(redacted(&args(&["get", "auth"])).is_empty());
    }
}
