//! The one RESP client of the tasks: blocking, one connection, whole replies read back as
//! far as the tasks need them (strings, integers, errors, nulls, arrays).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Longest bulk reply accepted (CLUSTER NODES of a 1000-node cluster is well below).
const MAX_BULK: usize = 64 << 20;
/// Deepest array nesting accepted.
const MAX_DEPTH: usize = 8;
/// Most elements kept from one array.
const MAX_ELEMENTS: i64 = 1 << 20;

/// A reply.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reply {
    /// A simple string, a bulk string, or a verbatim string without its format prefix.
    Text(String),
    /// An integer.
    Int(i64),
    /// An error, without its `-`.
    Error(String),
    /// A null of either protocol.
    Nil,
    /// An array, set or push.
    Array(Vec<Reply>),
}

impl Reply {
    /// The text of a string reply; an error reply or any other type is an `Err`.
    pub(crate) fn text(&self) -> Result<&str, String> {
        match self {
            Reply::Text(s) => Ok(s),
            Reply::Error(e) => Err(e.clone()),
            other => Err(format!("unexpected reply {other:?}")),
        }
    }

    /// Whether this is the simple string or bulk `want`.
    pub(crate) fn is(&self, want: &str) -> bool {
        matches!(self, Reply::Text(s) if s == want)
    }
}

fn read_reply(r: &mut impl BufRead, depth: usize) -> Result<Reply, String> {
    if depth > MAX_DEPTH {
        return Err("reply nested too deeply".into());
    }
    let mut line = String::new();
    if r.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
        return Err("connection closed".into());
    }
    let line = line.trim_end_matches(['\r', '\n']);
    let (kind, rest) = line.split_at(line.len().min(1));
    let num = || {
        rest.parse::<i64>()
            .map_err(|_| format!("bad reply line {line:?}"))
    };
    Ok(match kind {
        "+" => Reply::Text(rest.to_owned()),
        "-" => Reply::Error(rest.to_owned()),
        ":" => Reply::Int(num()?),
        "_" => Reply::Nil,
        "$" | "=" => {
            let n = num()?;
            if n < 0 {
                return Ok(Reply::Nil);
            }
            let n = usize::try_from(n).map_err(|e| e.to_string())?;
            if n > MAX_BULK {
                return Err("reply too long".into());
            }
            let mut buf = vec![0u8; n + 2];
            r.read_exact(&mut buf).map_err(|e| e.to_string())?;
            buf.truncate(n);
            let text = String::from_utf8_lossy(&buf).into_owned();
            // RESP3 verbatim strings start with their format ("txt:").
            Reply::Text(if kind == "=" {
                text.get(4..).unwrap_or("").to_owned()
            } else {
                text
            })
        }
        "*" | "~" | ">" => {
            let n = num()?;
            if n < 0 {
                return Ok(Reply::Nil);
            }
            if n > MAX_ELEMENTS {
                return Err("array too long".into());
            }
            let mut items = Vec::new();
            for _ in 0..n {
                items.push(read_reply(r, depth + 1)?);
            }
            Reply::Array(items)
        }
        _ => return Err(format!("unexpected reply line {line:?}")),
    })
}

/// One connection to a node.
pub(crate) struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    /// Connects, with a read timeout for every reply.
    pub(crate) fn open(host: &str, port: u16, timeout: Duration) -> Result<Conn, String> {
        let s = TcpStream::connect((host, port)).map_err(|e| format!("{host}:{port}: {e}"))?;
        s.set_read_timeout(Some(timeout))
            .map_err(|e| e.to_string())?;
        s.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(Conn {
            reader: BufReader::new(s),
        })
    }

    /// Sends one command and reads its whole reply.
    pub(crate) fn call(&mut self, args: &[&str]) -> Result<Reply, String> {
        let mut req = Vec::new();
        resp_proto::encode_command(&mut req, args);
        self.reader
            .get_mut()
            .write_all(&req)
            .map_err(|e| e.to_string())?;
        read_reply(&mut self.reader, 0)
    }
}

/// One command on a fresh connection to 127.0.0.1:`port` (10 s to answer).
pub(crate) fn call(port: u16, args: &[&str]) -> Result<Reply, String> {
    Conn::open("127.0.0.1", port, Duration::from_secs(10))?.call(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Result<Reply, String> {
        read_reply(&mut BufReader::new(bytes), 0)
    }

    #[test]
    fn reads_every_reply_shape_the_tasks_meet() {
        assert_eq!(parse(b"+OK\r\n"), Ok(Reply::Text("OK".into())));
        assert_eq!(parse(b"-ERR x\r\n"), Ok(Reply::Error("ERR x".into())));
        assert_eq!(parse(b":42\r\n"), Ok(Reply::Int(42)));
        assert_eq!(parse(b"$-1\r\n"), Ok(Reply::Nil));
        assert_eq!(parse(b"$3\r\na\nb\r\n"), Ok(Reply::Text("a\nb".into())));
        assert_eq!(parse(b"=7\r\ntxt:abc\r\n"), Ok(Reply::Text("abc".into())));
        assert_eq!(
            parse(b"*2\r\n:1\r\n*1\r\n+x\r\n"),
            Ok(Reply::Array(vec![
                Reply::Int(1),
                Reply::Array(vec![Reply::Text("x".into())])
            ]))
        );
    }

    #[test]
    fn refuses_what_it_cannot_bound() {
        assert!(parse(b"$99999999999\r\n").is_err());
        assert!(parse(b"*99999999999\r\n").is_err());
        assert!(parse(&b"*1\r\n".repeat(20)).is_err());
        assert!(parse(b"").is_err());
    }
}
