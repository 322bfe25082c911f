//! Blocking pops against a real redis-server 7.0: the same timed script of several clients
//! runs on both servers and every client must read the same bytes. Covers first blocked
//! first served, fractional timeouts, pipelined commands held behind a blocked one,
//! BLMOVE feeding another blocked client, non-blocking behaviour inside MULTI, clients
//! that leave while blocked (also racing a push: the element is never lost), SWAPDB and
//! MOVE waking waiters, CLIENT UNBLOCK and the `b` flag of CLIENT LIST.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

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
        // Timeouts answer a null array, BLMOVE and BRPOPLPUSH too (RESP3 then RESP2).
        Send(3, "BLMOVE nolist d LEFT LEFT 0.05"),
        Read(3),
        Send(1, "BRPOPLPUSH nolist d 0.05"),
        Read(1),
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

/// SWAPDB and MOVE bring elements to clients blocked in the other database.
#[test]
fn swapdb_and_move_wake_blocked_clients_like_redis() {
    let ours = InProcess::start(24021, "");
    let real = start_redis(24321, &[]);
    let script = [
        Send(0, "FLUSHALL"),
        Read(0),
        // Two waiters in db 0; db 1 holds a list for the first and a string for the second.
        Send(1, "BLPOP sw 0"),
        Send(2, "BLPOP sw2 0"),
        Send(3, "BZPOPMIN zsw 0"),
        Sleep(50),
        Send(0, "SELECT 1"),
        Read(0),
        Send(0, "RPUSH sw a b"),
        Read(0),
        Send(0, "SET sw2 str"),
        Read(0),
        Send(0, "ZADD zsw 1 m"),
        Read(0),
        Send(0, "SWAPDB 0 1"),
        Read(0),
        Read(1),
        Read(3),
        // The string did not wake the list waiter; a list MOVEd into db 0 does.
        Send(0, "SELECT 0"),
        Read(0),
        Send(0, "LRANGE sw 0 -1"),
        Read(0),
        Send(0, "SELECT 1"),
        Read(0),
        Send(0, "RPUSH sw2 moved"),
        Read(0),
        Send(0, "MOVE sw2 0"),
        Read(0),
        Send(0, "SELECT 0"),
        Read(0),
        Send(0, "DEL sw2"),
        Read(0),
        Send(0, "SELECT 1"),
        Read(0),
        Send(0, "MOVE sw2 0"),
        Read(0),
        Read(2),
        Send(0, "SELECT 0"),
        Read(0),
        Send(0, "EXISTS sw2"),
        Read(0),
    ];
    compare(ours.port, real.port, 4, &script);
}

/// The id of a connection.
fn client_id(c: &mut Raw) -> String {
    let r = c.call(&[b"CLIENT", b"ID"]);
    String::from_utf8_lossy(&r[1..r.len() - 2]).into_owned()
}

/// The `flags=` field of a client in CLIENT LIST.
fn flags_of(c: &mut Raw, id: &str) -> String {
    let list = c.call(&[b"CLIENT", b"LIST", b"ID", id.as_bytes()]);
    let text = String::from_utf8_lossy(&list).into_owned();
    text.split(' ')
        .find_map(|f| f.strip_prefix("flags="))
        .unwrap_or_default()
        .to_string()
}

/// CLIENT UNBLOCK and the `b` flag, run on one server; returns every reply and flag seen.
fn unblock_session(port: u16) -> Vec<String> {
    let mut c0 = Raw::connect(port);
    let mut c1 = Raw::connect(port);
    let id = client_id(&mut c1);
    let mut seen = Vec::new();
    let mut note = |r: Vec<u8>| seen.push(String::from_utf8_lossy(&r).into_owned());
    c0.call(&[b"FLUSHALL"]);
    note(flags_of(&mut c0, &id).into_bytes());
    for (cmd, how) in [
        ("BLPOP u 0", None),
        ("BLPOP u 0", Some("ERROR")),
        ("BLMOVE u v LEFT LEFT 0", Some("timeout")),
        ("BZPOPMIN z 0", Some("TIMEOUT")),
        ("BLMPOP 0 2 a b RIGHT COUNT 3", Some("error")),
    ] {
        c1.send(&words(cmd));
        std::thread::sleep(Duration::from_millis(50));
        note(flags_of(&mut c0, &id).into_bytes());
        let mut args: Vec<&[u8]> = vec![b"CLIENT", b"UNBLOCK", id.as_bytes()];
        if let Some(h) = how {
            args.push(h.as_bytes());
        }
        note(c0.call(&args));
        note(c1.reply());
        note(flags_of(&mut c0, &id).into_bytes());
    }
    // Not blocked any more, unknown ids, bad arguments.
    for line in [
        format!("CLIENT UNBLOCK {id}"),
        "CLIENT UNBLOCK 999999".to_string(),
        format!("CLIENT UNBLOCK {id} FOO"),
        "CLIENT UNBLOCK abc".to_string(),
        "CLIENT UNBLOCK abc FOO".to_string(),
        format!("CLIENT UNBLOCK {id} TIMEOUT extra"),
        "CLIENT UNBLOCK".to_string(),
    ] {
        note(c0.call(&words(&line)));
    }
    note(c1.call(&[b"PING"]));
    // A client blocked after CLIENT UNBLOCK ERROR is served normally afterwards.
    c1.send(&words("BLPOP u 0"));
    std::thread::sleep(Duration::from_millis(50));
    note(c0.call(&words("RPUSH u x")));
    note(c1.reply());
    seen
}

#[test]
fn client_unblock_and_the_b_flag_match_redis() {
    let ours = InProcess::start(24022, "");
    let real = start_redis(24322, &[]);
    assert_eq!(unblock_session(ours.port), unblock_session(real.port));
}

/// Blocks `c` on `key` and waits until the server counts `n` blocked clients.
fn block_on(c: &mut Raw, ctl: &mut Raw, key: &str, n: usize) {
    c.send(&[b"BLPOP", key.as_bytes(), b"0"]);
    let want = format!("blocked_clients:{n}\r\n");
    for _ in 0..500 {
        let info = ctl.call(&[b"INFO", b"clients"]);
        if String::from_utf8_lossy(&info).contains(&want) {
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    panic!("{n} clients never showed as blocked");
}

/// Two clients blocked on one list; the first closes its side at the very moment an
/// element arrives. The element must end with exactly one of them: the closing client
/// (when its reply was already on the wire) or the next waiter, never nowhere.
fn race_disconnect_and_push(port: u16, rounds: usize) -> (usize, usize) {
    let mut ctl = Raw::connect(port);
    let (mut to_first, mut to_second) = (0, 0);
    for round in 0..rounds {
        ctl.call(&[b"DEL", b"race"]);
        let mut first = Raw::connect(port);
        let mut second = Raw::connect(port);
        block_on(&mut first, &mut ctl, "race", 1);
        block_on(&mut second, &mut ctl, "race", 2);
        let value = format!("v{round}");
        let mut pusher = Raw::connect(port);
        // Half-close: the server reads end-of-stream, and anything it had already written
        // to this client can still be read here.
        first.stream.shutdown(std::net::Shutdown::Write).unwrap();
        pusher.send(&[b"RPUSH", b"race", value.as_bytes()]);
        let got_first = first.read_to_close();
        let reply = pusher.reply();
        assert_eq!(reply, b":1\r\n");
        let want = format!("*2\r\n$4\r\nrace\r\n${}\r\n{value}\r\n", value.len());
        if got_first == want.as_bytes() {
            to_first += 1;
            // The second client is still blocked: release it.
            ctl.call(&[b"RPUSH", b"race", b"unblock"]);
            second.reply();
        } else {
            assert!(got_first.is_empty(), "unexpected bytes {got_first:?}");
            assert_eq!(
                String::from_utf8_lossy(&second.reply()),
                want,
                "round {round}: the element went to neither client"
            );
            to_second += 1;
        }
        assert_eq!(ctl.call(&[b"LLEN", b"race"]), b":0\r\n");
    }
    (to_first, to_second)
}

#[test]
fn an_element_served_to_a_client_that_leaves_goes_to_the_next_waiter() {
    let ours = InProcess::start(24023, "");
    let real = start_redis(24323, &[]);
    // The same guarantee holds on the real server (a few rounds suffice there).
    race_disconnect_and_push(real.port, 20);
    let (first, second) = race_disconnect_and_push(ours.port, 300);
    assert_eq!(first + second, 300);
}

/// Deterministic form: the first waiter is gone before the push; the second gets it, a
/// timed-out third never does, and nothing is left behind.
#[test]
fn waiters_leaving_and_timing_out_pass_elements_on_like_redis() {
    let ours = InProcess::start(24024, "");
    let real = start_redis(24324, &[]);
    let script = [
        Send(0, "FLUSHALL"),
        Read(0),
        Send(1, "BLPOP q 0"),
        Sleep(30),
        Send(2, "BRPOP q 0.2"),
        Sleep(30),
        Send(3, "BLMPOP 0 1 q LEFT COUNT 5"),
        Sleep(30),
        Close(1),
        Sleep(300),
        Read(2),
        Send(0, "RPUSH q a b c"),
        Read(0),
        Read(3),
        Send(0, "EXISTS q"),
        Read(0),
    ];
    compare(ours.port, real.port, 4, &script);
}
