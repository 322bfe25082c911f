//! Interactive mode: a prompt with line editing and history when stdin is a terminal, or
//! commands read line by line from a pipe, each run as redis-cli runs it.

use std::io::{self, BufRead, IsTerminal};
use std::path::PathBuf;

use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::Editor;

use crate::session::Session;
use crate::split::split_args;

/// Environment variable naming the history file (`/dev/null` turns history off). Our own name
/// and file, not redis-cli's: rustyline writes a different history format than linenoise.
pub const HISTFILE_ENV: &str = "REDISCLI_LITE_HISTFILE";
/// History file name under `$HOME` when the variable is not set.
pub const HISTFILE_DEFAULT: &str = ".rediscli_lite_history";

fn history_path() -> Option<PathBuf> {
    match std::env::var_os(HISTFILE_ENV) {
        Some(p) if p == "/dev/null" => None,
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(|h| PathBuf::from(h).join(HISTFILE_DEFAULT)),
    }
}

/// Lines that carry a password stay out of the history file.
fn is_sensitive(args: &[Vec<u8>]) -> bool {
    let word = |i: usize, w: &str| {
        args.get(i)
            .is_some_and(|a| a.eq_ignore_ascii_case(w.as_bytes()))
    };
    word(0, "auth")
        || word(0, "hello")
        || word(0, "migrate")
        || (word(0, "acl") && word(1, "setuser"))
        || (word(0, "config") && word(1, "set"))
}

/// What to do after a line.
enum Next {
    Continue,
    Quit,
}

/// Runs one typed line: `quit`/`exit`, `connect host port`, `clear`, an optional leading
/// repeat count (`3 incr x`), else a command for the server.
fn line(session: &mut Session, text: &[u8]) -> (Next, Option<Vec<Vec<u8>>>) {
    let mut args = match split_args(text) {
        Ok(a) => a,
        Err(_) => {
            println!("Invalid argument(s)");
            return (Next::Continue, None);
        }
    };
    let Some(first) = args.first() else {
        return (Next::Continue, None);
    };
    if first.eq_ignore_ascii_case(b"quit") || first.eq_ignore_ascii_case(b"exit") {
        return (Next::Quit, None);
    }
    if first.eq_ignore_ascii_case(b"clear") && args.len() == 1 {
        print!("\x1b[H\x1b[2J");
        return (Next::Continue, Some(args));
    }
    if first.eq_ignore_ascii_case(b"connect") && (args.len() == 2 || args.len() == 3) {
        let host = args
            .get(1)
            .map(|h| String::from_utf8_lossy(h).into_owned())
            .unwrap_or_default();
        let port = args
            .get(2)
            .and_then(|p| std::str::from_utf8(p).ok())
            .and_then(|p| p.parse().ok())
            .unwrap_or(6379);
        session.retarget(host, port);
        session.connect();
        return (Next::Continue, Some(args));
    }
    let mut repeat = 1;
    if args.len() > 1 {
        if let Some(n) = first
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| std::str::from_utf8(first).ok()?.parse::<i64>().ok())
            .flatten()
        {
            repeat = n;
            args.remove(0);
        }
    }
    // A failed command was already reported; the prompt stays.
    let _ = session.run(&args, repeat);
    (Next::Continue, Some(args))
}

/// The interactive loop. Returns the process exit status.
pub fn run(mut session: Session) -> i32 {
    session.connect();
    if !io::stdin().is_terminal() {
        return from_pipe(session);
    }
    let mut editor: Editor<(), FileHistory> = match Editor::new() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    let path = history_path();
    if let Some(p) = &path {
        // A missing history file is the normal first run.
        let _ = editor.load_history(p);
    }
    loop {
        match editor.readline(&session.prompt()) {
            // A paste of several lines arrives as one (bracketed paste): each line is a command.
            Ok(pasted) => {
                for text in pasted.split('\n') {
                    let (next, args) = line(&mut session, text.as_bytes());
                    if let Some(args) = args {
                        if !is_sensitive(&args) {
                            let _ = editor.add_history_entry(text);
                            if let Some(p) = &path {
                                // History is a convenience; a read-only home must not stop work.
                                let _ = editor.save_history(p);
                            }
                        }
                    }
                    if let Next::Quit = next {
                        return 0;
                    }
                }
            }
            Err(ReadlineError::Interrupted | ReadlineError::Eof) => return 0,
            Err(e) => {
                eprintln!("Error: {e}");
                return 1;
            }
        }
    }
}

/// Commands piped on stdin: one per line, no prompt, no history.
fn from_pipe(mut session: Session) -> i32 {
    let stdin = io::stdin();
    for text in stdin.lock().split(b'\n') {
        let Ok(mut text) = text else {
            return 1;
        };
        if text.last() == Some(&b'\r') {
            text.pop();
        }
        if let (Next::Quit, _) = line(&mut session, &text) {
            return 0;
        }
    }
    0
}
