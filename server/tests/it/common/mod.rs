//! Test harness: our node (in-process or as the built binary), a real redis-server, and a
//! raw RESP client that returns reply bytes untouched.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use server::config::ConfigStore;
use server::node::Node;
use tokio_util::sync::CancellationToken;

/// Our node running in this process on its own runtime thread.
pub struct InProcess {
    /// Client port.
    pub port: u16,
    /// The node, for assertions on internal state.
    pub node: Arc<Node>,
    shutdown: CancellationToken,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl InProcess {
    /// Starts a node on 127.0.0.1:`port` with extra redis.conf lines.
    pub fn start(port: u16, conf: &str) -> InProcess {
        // No save points unless `conf` sets some: Redis's defaults would write dump.rdb
        // into the working directory (FLUSHALL, or enough changes).
        let text = format!("port {port}\nbind 127.0.0.1\nsave \"\"\n{conf}\n");
        let store = Arc::new(ConfigStore::from_conf_text(&text).expect("config"));
        let listeners = server::net::bind(&store.current()).expect("bind");
        let node = Arc::new(Node::new(store));
        let shutdown = CancellationToken::new();
        let (n, s) = (node.clone(), shutdown.clone());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                n.install_hooks();
                server::net::serve(n, listeners, None, s).await
            });
        });
        wait_for_port(port);
        InProcess {
            port,
            node,
            shutdown,
            thread: Some(thread),
        }
    }

    /// Whether the node has shut down (e.g. after SHUTDOWN).
    pub fn is_stopped(&self) -> bool {
        self.shutdown.is_cancelled()
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A child process killed (by PID) when dropped.
pub struct Proc {
    /// Client port.
    pub port: u16,
    /// The process.
    pub child: Child,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the built `server` binary.
pub fn start_binary(port: u16, args: &[&str]) -> Proc {
    let child = Command::new(env!("CARGO_BIN_EXE_server"))
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn server binary");
    let p = Proc { port, child };
    wait_for_port(port);
    p
}

/// Starts a real redis-server 7.0; panics with a clear message when it is not installed.
pub fn start_redis(port: u16, args: &[&str]) -> Proc {
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("redis-server 7.0 is required for this test (apt-get install redis-server): {e}")
        });
    let p = Proc { port, child };
    wait_for_port(port);
    p
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            // A real answer, not just a kernel accept.
            if s.write_all(b"PING\r\n").is_ok() {
                let mut b = [0u8; 64];
                s.set_read_timeout(Some(Duration::from_millis(500))).ok();
                if s.read(&mut b).map(|n| n > 0).unwrap_or(false) {
                    return;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("nothing answered on port {port}");
}

/// A raw RESP connection.
pub struct Raw {
    /// The socket.
    pub stream: TcpStream,
    buf: BytesMut,
}

/// Encodes a command as a RESP array of bulk strings.
pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    resp_proto::encode_command(&mut out, args);
    out
}

impl Raw {
    /// Connects to 127.0.0.1:`port`.
    pub fn connect(port: u16) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
        stream.set_nodelay(true).ok();
        Raw {
            stream,
            buf: BytesMut::new(),
        }
    }

    /// Sends raw bytes.
    pub fn send_raw(&mut self, b: &[u8]) {
        self.stream.write_all(b).expect("write");
    }

    /// Sends one command.
    pub fn send(&mut self, args: &[&[u8]]) {
        self.send_raw(&encode(args));
    }

    /// Reads exactly one reply and returns its bytes.
    pub fn reply(&mut self) -> Vec<u8> {
        loop {
            let mut probe = self.buf.clone();
            let before = probe.len();
            match resp_proto::decode_frame(&mut probe, &resp_proto::Limits::default()) {
                Ok(Some(_)) => {
                    let used = before - probe.len();
                    return self.buf.split_to(used).to_vec();
                }
                Ok(None) => {}
                Err(e) => panic!(
                    "undecodable reply {:?}: {e}",
                    String::from_utf8_lossy(&self.buf)
                ),
            }
            let mut chunk = [0u8; 65536];
            let n = self.stream.read(&mut chunk).expect("read");
            assert!(
                n > 0,
                "connection closed; pending {:?}",
                String::from_utf8_lossy(&self.buf)
            );
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends a command and returns its reply bytes.
    pub fn call(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.send(args);
        self.reply()
    }

    /// Like [`Raw::call`] with string arguments, reply as lossy text.
    pub fn cmd(&mut self, args: &[&str]) -> String {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        String::from_utf8_lossy(&self.call(&a)).into_owned()
    }

    /// Reads until the peer closes; returns everything received.
    pub fn read_to_close(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.buf).to_vec();
        let mut chunk = [0u8; 65536];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return out,
                Ok(n) => out.extend_from_slice(&chunk[..n]),
                Err(e) => panic!("expected the server to close the connection: {e}"),
            }
        }
    }
}

/// Client ids depend on how many connections each server has seen: blank the one in HELLO.
pub fn mask_client_id(mut reply: Vec<u8>) -> Vec<u8> {
    let tag = b"$2\r\nid\r\n:";
    if let Some(at) = reply.windows(tag.len()).position(|w| w == tag) {
        let start = at + tag.len();
        if let Some(len) = reply[start..].iter().position(|&b| b == b'\r') {
            reply.splice(start..start + len, *b"ID");
        }
    }
    reply
}

/// Cases a seeded differential run tries: `default`, or the count in the environment
/// variable `var` for a longer hunt (the seed is fixed, so more cases go further down the
/// same sequence).
pub fn diff_cases(var: &str, default: u32) -> u32 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
