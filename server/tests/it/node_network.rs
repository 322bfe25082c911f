//! The network layer as a client sees it: pipelining, protocol errors, limits, timeouts,
//! authentication, pub/sub delivery, transactions across clients, shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::{encode, start_binary, InProcess, Raw};

#[test]
fn pipeline_split_into_single_bytes_runs_in_order() {
    let s = InProcess::start(21420, "");
    let mut c = Raw::connect(s.port);
    let mut batch = Vec::new();
    for i in 0..20 {
        batch.extend_from_slice(&encode(&[
            b"SET",
            format!("k{i}").as_bytes(),
            format!("{i}").as_bytes(),
        ]));
        batch.extend_from_slice(&encode(&[b"GET", format!("k{i}").as_bytes()]));
    }
    for b in &batch {
        c.stream.write_all(std::slice::from_ref(b)).unwrap();
    }
    for i in 0..20 {
        assert_eq!(c.reply(), b"+OK\r\n");
        assert_eq!(
            c.reply(),
            format!("${}\r\n{i}\r\n", i.to_string().len()).into_bytes()
        );
    }
}

/// `n` RPUSHes of a 1 KiB value to `list`, as one pipeline.
fn rpushes(list: &[u8], n: usize) -> Vec<u8> {
    encode(&[b"RPUSH", list, &[b'v'; 1024]]).repeat(n)
}

/// Reads the replies of [`rpushes`] to a new list: its lengths, 1 to `n`, in order.
fn expect_lengths(c: &mut Raw, n: usize) {
    for len in 1..=n {
        assert_eq!(c.reply(), format!(":{len}\r\n").into_bytes());
    }
}

/// 200 KiB of requests, which the node runs a share at a time: every reply, in order.
#[test]
fn a_long_pipeline_is_answered_whole_and_in_order() {
    let s = InProcess::start(21435, "");
    let mut c = Raw::connect(s.port);
    c.send_raw(&rpushes(b"list", 200));
    expect_lengths(&mut c, 200);
}

/// A long pipeline stops at its BLPOP; once another client pushes, the rest runs, in order.
#[test]
fn a_long_pipeline_waits_at_its_blocking_command_then_runs_on() {
    let s = InProcess::start(21436, "");
    let mut c = Raw::connect(s.port);
    let mut req = rpushes(b"before", 50);
    req.extend_from_slice(&encode(&[b"BLPOP", b"wake", b"0"]));
    req.extend_from_slice(&rpushes(b"after", 50));
    c.send_raw(&req);
    expect_lengths(&mut c, 50);
    let mut d = Raw::connect(s.port);
    assert_eq!(d.cmd(&["EXISTS", "after"]), ":0\r\n");
    assert_eq!(d.cmd(&["RPUSH", "wake", "x"]), ":1\r\n");
    assert_eq!(c.reply(), b"*2\r\n$4\r\nwake\r\n$1\r\nx\r\n");
    expect_lengths(&mut c, 50);
}

/// An unfinished request that outgrows `client-query-buffer-limit` closes its client, also
/// when the limit was set after the client connected, and stores nothing (as redis-server
/// 7.0.15 does).
#[test]
fn query_buffer_limit_set_while_connected_closes_the_client() {
    let s = InProcess::start(21437, "");
    let mut c = Raw::connect(s.port);
    assert_eq!(c.cmd(&["PING"]), "+PONG\r\n");
    let mut admin = Raw::connect(s.port);
    assert_eq!(
        admin.cmd(&["CONFIG", "SET", "client-query-buffer-limit", "1mb"]),
        "+OK\r\n"
    );
    let mut req = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n".to_vec();
    req.resize(req.len() + 1_500_000, b'x');
    // The node may close before it has taken every byte.
    let _ = c.stream.write_all(&req);
    let mut chunk = [0u8; 1024];
    let closed = match c.stream.read(&mut chunk) {
        Ok(n) => n == 0,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    };
    assert!(closed, "the client stayed connected");
    assert_eq!(admin.cmd(&["EXISTS", "k"]), ":0\r\n");
}

#[test]
fn protocol_error_answers_earlier_commands_then_closes() {
    let s = InProcess::start(21421, "");
    let mut c = Raw::connect(s.port);
    let mut bytes = encode(&[b"SET", b"kept", b"yes"]);
    bytes.extend_from_slice(b"*1\r\n$x\r\nPING\r\n");
    c.send_raw(&bytes);
    assert_eq!(
        c.read_to_close(),
        b"+OK\r\n-ERR Protocol error: invalid bulk length\r\n"
    );
    let mut d = Raw::connect(s.port);
    assert_eq!(d.cmd(&["GET", "kept"]), "$3\r\nyes\r\n");
}

#[test]
fn inline_commands_work() {
    let s = InProcess::start(21422, "");
    let mut c = Raw::connect(s.port);
    c.send_raw(b"SET a \"b c\"\r\nGET a\r\n");
    assert_eq!(c.reply(), b"+OK\r\n");
    assert_eq!(c.reply(), b"$3\r\nb c\r\n");
}

#[test]
fn maxclients_refuses_the_extra_client() {
    let s = InProcess::start(21423, "maxclients 2");
    let mut a = Raw::connect(s.port);
    // Wait until the harness's readiness probe has left.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !a
        .cmd(&["INFO", "clients"])
        .contains("connected_clients:1\r\n")
    {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut b = Raw::connect(s.port);
    assert_eq!(a.cmd(&["PING"]), "+PONG\r\n");
    assert_eq!(b.cmd(&["PING"]), "+PONG\r\n");
    let mut c = Raw::connect(s.port);
    assert_eq!(c.read_to_close(), b"-ERR max number of clients reached\r\n");
    assert_eq!(a.cmd(&["PING"]), "+PONG\r\n");
}

#[test]
fn idle_clients_are_closed_after_timeout() {
    let s = InProcess::start(21424, "timeout 1");
    let mut c = Raw::connect(s.port);
    assert_eq!(c.cmd(&["PING"]), "+PONG\r\n");
    c.stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    assert_eq!(c.read_to_close(), b"");
}

#[test]
fn requirepass_gates_commands_until_auth() {
    let s = InProcess::start(21425, "requirepass s3cret");
    let mut c = Raw::connect(s.port);
    assert_eq!(c.cmd(&["GET", "a"]), "-NOAUTH Authentication required.\r\n");
    assert_eq!(
        c.cmd(&["NOSUCH"]),
        "-ERR unknown command 'NOSUCH', with args beginning with: \r\n"
    );
    assert_eq!(
        c.cmd(&["AUTH", "wrong"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(c.cmd(&["AUTH", "s3cret"]), "+OK\r\n");
    assert_eq!(c.cmd(&["GET", "a"]), "$-1\r\n");
    assert_eq!(c.cmd(&["RESET"]), "+RESET\r\n");
    assert_eq!(c.cmd(&["GET", "a"]), "-NOAUTH Authentication required.\r\n");
    let hello = c.cmd(&["HELLO", "3", "AUTH", "default", "s3cret", "SETNAME", "me"]);
    assert!(
        hello.starts_with("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n"),
        "{hello}"
    );
    assert_eq!(c.cmd(&["CLIENT", "GETNAME"]), "$2\r\nme\r\n");
    assert_eq!(c.cmd(&["GET", "a"]), "_\r\n");
    let mut d = Raw::connect(s.port);
    assert_eq!(
        d.cmd(&["HELLO", "3"]),
        "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n"
    );
}

#[test]
fn publish_reaches_channel_and_pattern_subscribers() {
    let s = InProcess::start(21426, "");
    let mut sub = Raw::connect(s.port);
    assert_eq!(
        sub.cmd(&["SUBSCRIBE", "news"]),
        "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n"
    );
    let mut psub = Raw::connect(s.port);
    psub.cmd(&["HELLO", "3"]);
    assert_eq!(
        psub.cmd(&["PSUBSCRIBE", "n*"]),
        ">3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:1\r\n"
    );
    let mut publisher = Raw::connect(s.port);
    assert_eq!(publisher.cmd(&["PUBLISH", "news", "hi"]), ":2\r\n");
    assert_eq!(
        sub.reply(),
        b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n"
    );
    assert_eq!(
        psub.reply(),
        b">4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n"
    );
    assert_eq!(
        publisher.cmd(&["PUBSUB", "NUMSUB", "news"]),
        "*2\r\n$4\r\nnews\r\n:1\r\n"
    );
    assert_eq!(publisher.cmd(&["PUBSUB", "NUMPAT"]), ":1\r\n");
    // A RESP2 subscriber may only use the pub/sub commands.
    assert_eq!(
        sub.cmd(&["GET", "x"]),
        "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
    );
    drop(sub);
    drop(psub);
    let deadline = Instant::now() + Duration::from_secs(5);
    while publisher.cmd(&["PUBLISH", "news", "again"]) != ":0\r\n" {
        assert!(
            Instant::now() < deadline,
            "subscribers not removed after disconnect"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn slow_pubsub_reader_is_disconnected_and_the_node_keeps_serving() {
    let s = InProcess::start(21427, "client-output-buffer-limit pubsub 256kb 128kb 60");
    let mut sub = Raw::connect(s.port);
    sub.cmd(&["SUBSCRIBE", "flood"]);
    let mut publisher = Raw::connect(s.port);
    let payload = vec![b'x'; 64 * 1024];
    let deadline = Instant::now() + Duration::from_secs(20);
    // The subscriber never reads: its queue grows past the hard limit and it is dropped.
    loop {
        let r = publisher.call(&[b"PUBLISH", b"flood", &payload]);
        if r == b":0\r\n" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "slow subscriber never disconnected"
        );
    }
    assert_eq!(publisher.cmd(&["PING"]), "+PONG\r\n");
}

#[test]
fn slow_normal_reader_does_not_stall_others() {
    let s = InProcess::start(21428, "");
    let mut writer = Raw::connect(s.port);
    let big = vec![b'v'; 1 << 20];
    writer.call(&[b"SET", b"big", &big]);
    let mut slow = Raw::connect(s.port);
    let mut batch = Vec::new();
    for _ in 0..64 {
        batch.extend_from_slice(&encode(&[b"GET", b"big"]));
    }
    slow.send_raw(&batch);
    // The slow client reads nothing; another client is still served promptly.
    let mut other = Raw::connect(s.port);
    for _ in 0..100 {
        assert_eq!(other.cmd(&["INCR", "n"]).as_bytes()[0], b':');
    }
}

#[test]
fn watch_aborts_exec_when_another_client_writes() {
    let s = InProcess::start(21429, "");
    let mut a = Raw::connect(s.port);
    let mut b = Raw::connect(s.port);
    a.cmd(&["SET", "balance", "10"]);
    assert_eq!(a.cmd(&["WATCH", "balance"]), "+OK\r\n");
    assert_eq!(b.cmd(&["INCRBY", "balance", "5"]), ":15\r\n");
    a.cmd(&["MULTI"]);
    assert_eq!(a.cmd(&["DECRBY", "balance", "10"]), "+QUEUED\r\n");
    assert_eq!(a.cmd(&["EXEC"]), "*-1\r\n");
    assert_eq!(a.cmd(&["GET", "balance"]), "$2\r\n15\r\n");
    // Without interference the transaction runs.
    a.cmd(&["WATCH", "balance"]);
    a.cmd(&["MULTI"]);
    a.cmd(&["DECRBY", "balance", "10"]);
    assert_eq!(a.cmd(&["EXEC"]), "*1\r\n:5\r\n");
}

#[test]
fn active_expiry_reclaims_keys_nobody_reads() {
    let s = InProcess::start(21430, "hz 100");
    let mut c = Raw::connect(s.port);
    for i in 0..200 {
        c.cmd(&["SET", &format!("tmp{i}"), "v", "PX", "30"]);
    }
    c.cmd(&["SET", "keep", "v"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.cmd(&["DBSIZE"]) != ":1\r\n" {
        assert!(
            Instant::now() < deadline,
            "expired keys were never reclaimed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let info = c.cmd(&["INFO", "stats"]);
    assert!(info.contains("expired_keys:200\r\n"), "{info}");
}

#[test]
fn client_commands_and_kill() {
    let s = InProcess::start(21431, "");
    let mut a = Raw::connect(s.port);
    let mut b = Raw::connect(s.port);
    let id = a.cmd(&["CLIENT", "ID"]);
    let id = id.trim_start_matches(':').trim_end().to_string();
    b.cmd(&["CLIENT", "SETNAME", "worker"]);
    let list = b.cmd(&["CLIENT", "LIST"]);
    assert!(list.contains(&format!("id={id} addr=")), "{list}");
    assert!(list.contains("name=worker"), "{list}");
    assert!(list.contains("cmd=client|list"), "{list}");
    assert_eq!(b.cmd(&["CLIENT", "KILL", "ID", &id]), ":1\r\n");
    assert_eq!(a.read_to_close(), b"");
    // CLIENT REPLY OFF / SKIP suppress replies.
    b.send(&[b"CLIENT", b"REPLY", b"SKIP"]);
    b.send(&[b"SET", b"x", b"1"]);
    assert_eq!(b.cmd(&["GET", "x"]), "$1\r\n1\r\n");
}

#[test]
fn shutdown_command_stops_the_node() {
    let s = InProcess::start(21432, "");
    let mut c = Raw::connect(s.port);
    c.send(&[b"SHUTDOWN", b"NOSAVE"]);
    assert_eq!(c.read_to_close(), b"");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !s.is_stopped() {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn binary_serves_the_redis_crate_and_exits_on_shutdown() {
    let mut p = start_binary(21433, &[]);
    let client = redis::Client::open("redis://127.0.0.1:21433/").unwrap();
    let mut con = client.get_connection().unwrap();
    let _: () = redis::cmd("SET")
        .arg("greeting")
        .arg("hello")
        .query(&mut con)
        .unwrap();
    let v: String = redis::cmd("GET").arg("greeting").query(&mut con).unwrap();
    assert_eq!(v, "hello");
    let n: i64 = redis::cmd("INCRBY")
        .arg("counter")
        .arg(41)
        .query(&mut con)
        .unwrap();
    assert_eq!(n, 41);
    let (a, b): (i64, Option<String>) = redis::pipe()
        .atomic()
        .incr("counter", 1)
        .get("missing")
        .query(&mut con)
        .unwrap();
    assert_eq!((a, b), (42, None));
    let mut raw = Raw::connect(21433);
    raw.send(&[b"SHUTDOWN"]);
    assert_eq!(raw.read_to_close(), b"");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = p.child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "server did not exit after SHUTDOWN"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn slowlog_follows_its_configuration() {
    let s = InProcess::start(21434, "");
    let mut c = Raw::connect(s.port);
    assert_eq!(c.cmd(&["SLOWLOG", "LEN"]), ":0\r\n");
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]),
        "+OK\r\n"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        c.cmd(&["SET", "k", "v"]);
        if c.cmd(&["SLOWLOG", "LEN"]) != ":0\r\n" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "slowlog-log-slower-than 0 not applied"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let entry = c.cmd(&["SLOWLOG", "GET", "1"]);
    assert!(entry.starts_with("*1\r\n*6\r\n:"), "{entry}");
    c.cmd(&["CONFIG", "SET", "slowlog-max-len", "2"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        c.cmd(&["PING"]);
        c.cmd(&["PING"]);
        c.cmd(&["PING"]);
        if c.cmd(&["SLOWLOG", "LEN"]) == ":2\r\n" {
            break;
        }
        assert!(Instant::now() < deadline, "slowlog-max-len not applied");
        std::thread::sleep(Duration::from_millis(20));
    }
    // A negative threshold turns the log off (the change is applied asynchronously).
    c.cmd(&["CONFIG", "SET", "slowlog-log-slower-than", "-1"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        assert_eq!(c.cmd(&["SLOWLOG", "RESET"]), "+OK\r\n");
        std::thread::sleep(Duration::from_millis(50));
        c.cmd(&["PING"]);
        if c.cmd(&["SLOWLOG", "LEN"]) == ":0\r\n" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "negative slowlog-log-slower-than not applied"
        );
    }
}

fn refused(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
}

/// CONFIG SET port / bind on a server started on `ports[0]`, as redis-server 7.0.15 does it.
fn rebind_sequence(ports: [u16; 3]) {
    let [first, second, taken] = ports;
    let mut c = Raw::connect(first);
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "port", &second.to_string()]),
        "+OK\r\n"
    );
    assert!(refused(first), "old port still open");
    let mut c2 = Raw::connect(second);
    assert_eq!(c2.cmd(&["PING"]), "+PONG\r\n");
    // The connection made before the change keeps working.
    assert_eq!(c.cmd(&["PING"]), "+PONG\r\n");

    let _blocker = std::net::TcpListener::bind(("127.0.0.1", taken)).unwrap();
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "port", &taken.to_string()]),
        "-ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs.\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "port"]),
        format!(
            "*2\r\n$4\r\nport\r\n${}\r\n{second}\r\n",
            second.to_string().len()
        )
    );
    assert_eq!(Raw::connect(second).cmd(&["PING"]), "+PONG\r\n");

    assert_eq!(
        c.cmd(&["CONFIG", "SET", "bind", "127.0.0.1 10.9.9.9"]),
        "-ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses.\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "bind"]),
        "*2\r\n$4\r\nbind\r\n$9\r\n127.0.0.1\r\n"
    );
    assert_eq!(Raw::connect(second).cmd(&["PING"]), "+PONG\r\n");

    // An optional address that does not exist here is skipped.
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "bind", "-10.9.9.9 127.0.0.1"]),
        "+OK\r\n"
    );
    assert_eq!(Raw::connect(second).cmd(&["PING"]), "+PONG\r\n");

    // An empty bind listens nowhere; clients already connected stay.
    assert_eq!(c.cmd(&["CONFIG", "SET", "bind", ""]), "+OK\r\n");
    assert!(refused(second), "still listening with an empty bind");
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "bind"]),
        "*2\r\n$4\r\nbind\r\n$0\r\n\r\n"
    );
    assert_eq!(c.cmd(&["CONFIG", "SET", "bind", "127.0.0.1"]), "+OK\r\n");
    assert_eq!(Raw::connect(second).cmd(&["PING"]), "+PONG\r\n");
}

#[test]
fn config_set_port_and_bind_rebind_like_redis() {
    let ours = start_binary(21456, &[]);
    rebind_sequence([21456, 21457, 21458]);
    drop(ours);
    let real = common::start_redis(22056, &[]);
    rebind_sequence([22056, 22057, 22058]);
    drop(real);
}
