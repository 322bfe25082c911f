//! Interactive mode through a real terminal: `script` gives redis-cli-lite a pty, and the test
//! types into it line by line as a user would, reading the screen output.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::{Server, Terminal};

#[test]
fn a_user_session_at_the_prompt() {
    let server = Server::start(18012, &[]);
    let hist = std::env::temp_dir().join(format!("redis-cli-lite-hist-{}", std::process::id()));
    let _ = std::fs::remove_file(&hist);
    let mut t = Terminal::start(&format!("-p {} -n 2", server.port), &hist);
    let prompt_db2 = format!("127.0.0.1:{}[2]> ", server.port);
    let prompt = format!("127.0.0.1:{}> ", server.port);

    t.expect(&prompt_db2);
    t.type_line("set greeting \"hello world\"");
    t.expect("OK\r\n");
    t.expect(&prompt_db2);
    t.type_line("get greeting");
    t.expect("\"hello world\"\r\n");
    t.expect(&prompt_db2);
    t.type_line("foo");
    t.expect("(error) ERR unknown command 'foo'");
    t.expect(&prompt_db2);
    t.type_line("get \"unclosed");
    t.expect("Invalid argument(s)");
    t.expect(&prompt_db2);
    t.type_line("3 incr n");
    t.expect("(integer) 1\r\n(integer) 2\r\n(integer) 3\r\n");
    t.expect(&prompt_db2);
    t.type_line("select 0");
    t.expect("OK\r\n");
    t.expect(&prompt);
    t.type_line("get greeting");
    t.expect("(nil)\r\n");
    t.expect(&prompt);
    t.type_line("auth secret");
    t.expect("(error) ERR AUTH");
    t.expect(&prompt);
    t.type_line("connect 127.0.0.1 18013");
    t.expect("Could not connect to Redis at 127.0.0.1:18013: Connection refused");
    t.expect("not connected> ");
    t.type_line(&format!("connect 127.0.0.1 {}", server.port));
    t.expect(&prompt);
    t.type_line("quit");
    let deadline = Instant::now() + Duration::from_secs(10);
    while t.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "quit did not end the session");
        thread::sleep(Duration::from_millis(20));
    }
    let history = std::fs::read_to_string(&hist).unwrap();
    assert!(
        history.contains("set greeting \"hello world\"\n"),
        "{history}"
    );
    assert!(history.contains("select 0\n"), "{history}");
    assert!(
        !history.contains("auth secret"),
        "passwords stay out of history: {history}"
    );
    let _ = std::fs::remove_file(&hist);
}
