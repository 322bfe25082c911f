//! Output of the cluster manager: redis-cli's lines, coloured as redis-cli colours them (only
//! when `TERM` names an xterm, whatever stdout is), plus the terminal-only extras.

use std::io::{self, Read, Write};

const BOLD: &str = "29;1m";
const RED: &str = "31;1m";
const GREEN: &str = "32;1m";
const YELLOW: &str = "33;1m";

/// Where the manager writes.
pub struct Log {
    out: io::BufWriter<io::Stdout>,
    color: bool,
    /// stdout is a terminal: tables, progress bars and summaries are added.
    pub tty: bool,
}

impl Log {
    /// A log on stdout.
    pub fn new(tty: bool) -> Log {
        // redis-cli's isColorTerm(): TERM must contain "xterm".
        let color = std::env::var("TERM").is_ok_and(|t| t.contains("xterm"));
        Log {
            out: io::BufWriter::new(io::stdout()),
            color,
            tty,
        }
    }

    fn colored(&mut self, code: &str, text: &str) {
        // A closed stdout (`| head`) must not abort a half-done reshard: output errors are
        // dropped, as redis-cli's printf drops them.
        if self.color {
            let _ = write!(self.out, "\x1b[{code}{text}\x1b[0m");
        } else {
            let _ = self.out.write_all(text.as_bytes());
        }
    }

    /// `>>> ...` lines.
    pub fn info(&mut self, text: &str) {
        self.colored(BOLD, text);
    }

    /// `[OK] ...` lines.
    pub fn ok(&mut self, text: &str) {
        self.colored(GREEN, text);
    }

    /// `*** ...` warnings.
    pub fn warn(&mut self, text: &str) {
        self.colored(YELLOW, text);
    }

    /// `[ERR] ...` lines.
    pub fn err(&mut self, text: &str) {
        self.colored(RED, text);
    }

    /// Uncoloured text.
    pub fn plain(&mut self, text: &str) {
        let _ = self.out.write_all(text.as_bytes());
    }

    /// Pushes what was written to the terminal or pipe (before prompts and long waits, as
    /// redis-cli's fflush calls do).
    pub fn flush(&mut self) {
        let _ = self.out.flush();
    }
}

/// One read(2) of at most `max` bytes from stdin, as redis-cli reads its prompts' answers; the
/// answer is the first `max - 1` bytes (redis-cli puts its terminator there).
pub fn read_answer(max: usize) -> Option<String> {
    let mut buf = vec![0u8; max];
    let n = io::stdin().read(&mut buf).ok()?;
    if n == 0 {
        return None;
    }
    let keep = n.min(max.saturating_sub(1));
    let text = &buf[..keep];
    let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
    Some(String::from_utf8_lossy(&text[..end]).into_owned())
}

/// One line typed at a prompt (reshard's questions): up to `max` bytes, newline dropped.
pub fn read_line(max: usize) -> Option<String> {
    let mut line = String::new();
    let n = io::stdin().read_line(&mut line).ok()?;
    if n == 0 {
        return None;
    }
    let line = line.trim_end_matches('\n');
    Some(line.chars().take(max).collect())
}
