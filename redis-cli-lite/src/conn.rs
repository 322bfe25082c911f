//! One blocking connection to a node: commands out as RESP arrays of bulk strings, replies in
//! through `resp_proto::decode_frame`.

use std::io::{self, Read, Write};
use std::net::TcpStream;

use resp_proto::{decode_frame, BytesMut, DecodeError, Frame, Limits};

/// Why no reply could be read.
#[derive(Debug)]
pub enum ConnError {
    /// The socket failed.
    Io(io::Error),
    /// The server closed the connection.
    Closed,
    /// The bytes are not RESP.
    Protocol(DecodeError),
}

impl ConnError {
    /// The text redis-cli prints after `Error: `.
    pub fn text(&self) -> String {
        match self {
            ConnError::Io(e) => os_text(e),
            ConnError::Closed => "Server closed the connection".to_owned(),
            ConnError::Protocol(e) => format!("Protocol error: {e}"),
        }
    }
}

/// An OS error as C's strerror words it (Rust appends " (os error N)").
pub fn os_text(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// A connected node.
pub struct Conn {
    stream: TcpStream,
    buf: BytesMut,
    limits: Limits,
}

impl Conn {
    /// Connects to `host:port`.
    pub fn connect(host: &str, port: u16) -> io::Result<Conn> {
        let stream = TcpStream::connect((host, port))?;
        // Commands are written whole; Nagle would only delay them.
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: BytesMut::with_capacity(16 * 1024),
            limits: Limits::default(),
        })
    }

    /// Writes one command.
    pub fn send(&mut self, args: &[Vec<u8>]) -> io::Result<()> {
        let mut out = Vec::new();
        resp_proto::encode_command(&mut out, args);
        self.stream.write_all(&out)
    }

    /// Reads the next reply, waiting as long as it takes.
    pub fn read(&mut self) -> Result<Frame, ConnError> {
        loop {
            match decode_frame(&mut self.buf, &self.limits) {
                Ok(Some(frame)) => return Ok(frame),
                Ok(None) => {}
                Err(e) => return Err(ConnError::Protocol(e)),
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = loop {
                match self.stream.read(&mut chunk) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(ConnError::Io(e)),
                }
            };
            if n == 0 {
                return Err(ConnError::Closed);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends one command and reads its reply.
    pub fn call(&mut self, args: &[Vec<u8>]) -> Result<Frame, ConnError> {
        self.send(args).map_err(ConnError::Io)?;
        self.read()
    }
}
