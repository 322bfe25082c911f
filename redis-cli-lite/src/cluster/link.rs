//! A node's connection for the cluster manager. When `REDIS_CLI_LITE_TRACE` names a file,
//! every command sent is appended to it as `port ARG ARG ...` (an empty argument as `""`),
//! the layout of the captured `commands.txt` of real redis-cli runs, so tests can compare
//! the sequences.

use std::fs::OpenOptions;
use std::io::Write;

use resp_proto::Frame;

use crate::conn::{Conn, ConnError};

/// A connected node.
pub struct Link {
    conn: Conn,
    port: u16,
}

impl Link {
    /// Connects and authenticates as redis-cli does (`AUTH pass` or `AUTH user pass`; the
    /// reply is not checked: a wrong password shows up as NOAUTH on the next command).
    pub fn connect(
        ip: &str,
        port: u16,
        user: Option<&str>,
        password: Option<&str>,
    ) -> Result<Link, String> {
        let conn = Conn::connect(ip, port).map_err(|e| crate::conn::os_text(&e))?;
        let mut link = Link { conn, port };
        if let Some(pw) = password {
            let mut auth = vec![b"AUTH".to_vec()];
            if let Some(u) = user {
                auth.push(u.as_bytes().to_vec());
            }
            auth.push(pw.as_bytes().to_vec());
            link.call(&auth).map_err(|e| e.text())?;
        }
        Ok(link)
    }

    /// Sends one command and reads its reply.
    pub fn call(&mut self, args: &[Vec<u8>]) -> Result<Frame, ConnError> {
        trace(self.port, args);
        self.conn.call(args)
    }
}

fn trace(port: u16, args: &[Vec<u8>]) {
    let Some(path) = std::env::var_os("REDIS_CLI_LITE_TRACE") else {
        return;
    };
    let mut line = port.to_string();
    for a in args {
        line.push(' ');
        if a.is_empty() {
            line.push_str("\"\"");
        } else {
            line.push_str(&String::from_utf8_lossy(a));
        }
    }
    line.push('\n');
    if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(path) {
        let _ = f.write_all(line.as_bytes());
    }
}
