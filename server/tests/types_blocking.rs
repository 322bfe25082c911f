//! Blocking pops against a real redis-server 7.0: the same timed script of several clients
//! runs on both servers and every client must read the same bytes. Covers first blocked
//! first served, fractional timeouts, pipelined commands held behind a blocked one,
//! BLMOVE feeding another blocked client, non-blocking behaviour inside MULTI, and clients
//! that leave while blocked.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{mask_client_id, start_redis, InProcess, Raw};

/// One step: client index and the command, or a pause.
enum Step {
    /// Send a command without waiting for its reply.
    Send(usize, &'static str),
    /// Read one reply from this client.
    Read(usize),
    /// Wait this many milliseconds.
    Sleep(u64),
    /// Close this client's connection.
    Close(usize),
}

use Step::{Close, Read, Send, Sleep};

fn words(line: &str) -> Vec<&[u8]> {
    line.split(' ').map(str::as_bytes).collect()
}

/// Runs the script on `port` with `clients` connections; returns every reply read, in
/// order, tagged by client.
fn run(port: u16, clients: usize, script: &[Step]) -> Vec<(usize, Vec<u8>)> {
    let mut conns: Vec<Option<Raw>> = (0..clients).map(|_| Some(Raw::connect(port))).collect();
    let mut out = Vec::new();
    for step in script {
        match step {
            Send(c, line) => conns[*c].as_mut().unwrap().send(&words(line)),
            Read(c) => out.push((*c, mask_client_id(conns[*c].as_mut().unwrap().reply()))),
            Sleep(ms) => std::thread::sleep(Duration::from_millis(*ms)),
            Close(c) => conns[*c] = None,
        }
    }
    out
}

fn compare(ours: u16, real: u16, clients: usize, script: &[Step]) {
    let a = run(ours, clients, script);
    let b = run(real, clients, script);
    let show = |v: &[(usize, Vec<u8>)]| {
        v.iter()
            .map(|(c, r)| format!("{c}: {}", String::from_utf8_lossy(r)))
            .collect::<Vec<_>>()
            .join("")
    };
    assert_eq!(show(&a), show(&b));
}

#[test]
fn blocking_pops_behave_like_redis() {
    let ours = InProcess::start(24020, "");
    let real = start_redis(24320, &[]);
    let script = [
        Send(0, "FLUSHALL"),
        Read(0),
        // First blocked, first served; the third waiter times out (fractional seconds).
        Send(1, "BLPOP l 2"),
        Sleep(50),
        Send(2, "BRPOP other l 2"),
        Sleep(50),
        Send(3, "BLPOP l 0.3"),
        Sleep(50),
        Send(0, "RPUSH l a b"),
        Read(0),
        Read(1),
        Read(2),
        Read(3),
        // A pipelined command behind a blocked one waits for it.
        Send(1, "BLPOP l2 0"),
        Send(1, "PING"),
        Sleep(50),
        Send(0, "LPUSH l2 x"),
        Read(0),
        Read(1),
        Read(1),
        // BLMOVE feeds a client blocked on the destination.
        Send(1, "BLMOVE src dst RIGHT LEFT 0"),
        Sleep(50),
        Send(2, "BLPOP dst 0"),
        Sleep(50),
        Send(0, "RPUSH src v1 v2"),
        Read(0),
        Read(1),
        Read(2),
        Send(0, "LRANGE src 0 -1"),
        Read(0),
        Send(0, "EXISTS dst"),
        Read(0),
        // Sorted sets, in RESP3 too.
        Send(3, "HELLO 3"),
        Read(3),
        Send(3, "BZPOPMAX z 0"),
        Sleep(50),
        Send(1, "BZMPOP 0 1 z MIN COUNT 2"),
        Sleep(50),
        Send(0, "ZADD z 1 a 2 b 3 c"),
        Read(0),
        Read(3),
        Read(1),
        Send(3, "BLMPOP 0.1 1 nolist LEFT"),
        Read(3),
        // Inside MULTI nothing blocks.
        Send(0, "MULTI"),
        Read(0),
        Send(0, "BLPOP empty 0"),
        Read(0),
        Send(0, "BRPOPLPUSH empty x 0"),
        Read(0),
        Send(0, "EXEC"),
        Read(0),
        // A client that leaves while blocked takes nothing.
        Send(2, "BLPOP gone 0"),
        Sleep(50),
        Close(2),
        Sleep(50),
        Send(0, "RPUSH gone 1"),
        Read(0),
        Send(0, "LLEN gone"),
        Read(0),
        // RENAME and COPY make their destination ready too.
        Send(1, "BLPOP ready 0"),
        Sleep(50),
        Send(0, "RPUSH tmp r1 r2"),
        Read(0),
        Send(0, "RENAME tmp ready"),
        Read(0),
        Read(1),
        Send(1, "BZPOPMIN zready 0"),
        Sleep(50),
        Send(0, "ZADD ztmp 5 m"),
        Read(0),
        Send(0, "COPY ztmp zready"),
        Read(0),
        Read(1),
        Send(0, "LRANGE ready 0 -1"),
        Read(0),
        // Wrong types and bad arguments.
        Send(0, "SET str x"),
        Read(0),
        Send(0, "BLPOP str 0"),
        Read(0),
        Send(0, "BLPOP l -1"),
        Read(0),
        Send(0, "BLPOP l x"),
        Read(0),
        Send(0, "BZPOPMIN str 0"),
        Read(0),
        Send(0, "BLMOVE gone str LEFT LEFT 0"),
        Read(0),
    ];
    compare(ours.port, real.port, 4, &script);
}
