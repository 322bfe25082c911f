//! Our start-up and shutdown log, line for line against the real redis-server 7.0.15 run the
//! same way (skipped when redis-server is not installed). Ports 21221-21240.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("startup-vs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `pid:R date time ` -> `R `, the signal handler's `pid:signal-handler (ts) ` -> `signal `,
/// and the pid inside the version line -> `N`.
fn normalize(line: &str) -> String {
    let Some((_, rest)) = line.split_once(':') else {
        return line.to_owned();
    };
    if let Some(msg) = rest.strip_prefix("signal-handler (") {
        return format!("signal {}", msg.split_once(") ").map_or("", |(_, m)| m));
    }
    let (role, after) = rest.split_at(1.min(rest.len()));
    let msg = after.get(26..).unwrap_or_default();
    let msg = match msg.find("pid=") {
        Some(at) => {
            let tail = &msg[at + 4..];
            let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
            format!("{}pid=N{}", &msg[..at], &tail[digits..])
        }
        None => msg.to_owned(),
    };
    format!("{role} {msg}")
}

/// Our own extra lines (directives we accept without acting on them) are dropped above.
/// Lines about what this server does not have (fork-based persistence, a memory allocator's
/// needs) that the real one prints on this machine.
fn real_only(line: &str) -> bool {
    line.contains("WARNING Memory overcommit must be enabled")
}

fn run_and_log(bin: &Path, dir: &Path, port: u16, extra: &[&str]) -> Vec<String> {
    let log = dir.join("server.log");
    let mut args: Vec<String> = vec![
        "--port".into(),
        port.to_string(),
        "--logfile".into(),
        "server.log".into(),
        "--pidfile".into(),
        "server.pid".into(),
        "--save".into(),
        "".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let child = Command::new(bin)
        .args(&args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut guard = KillOnDrop(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    // Ready = the Ready line, or (with loglevel warning, which hides it) accepting
    // connections; a probe connection would log client lines at verbose level.
    let quiet = extra.contains(&"warning");
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let ready = if quiet {
            text.contains("Server initialized")
                && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        } else {
            text.contains("Ready to accept connections")
        };
        if ready {
            break;
        }
        assert!(Instant::now() < deadline, "{bin:?} never got ready");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    let pid = guard.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = guard.0.try_wait().unwrap() {
            assert_eq!(status.code(), Some(0), "{bin:?}");
            break;
        }
        assert!(Instant::now() < deadline, "{bin:?} did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter(|l| !real_only(l) && !l.contains("is accepted but not implemented by this server"))
        .map(normalize)
        .collect()
}

/// Runs `scenario` on redis-server 7.0.15 and then on ours, each in a scratch directory
/// of its own: (theirs, ours), or None when redis-server 7.0.15 is not installed.
fn on_both<T>(name: &str, scenario: impl Fn(&Path, &Path) -> T) -> Option<(T, T)> {
    let Some(real) = real_redis() else {
        eprintln!("redis-server 7.0.15 not installed: skipping");
        return None;
    };
    let run = |bin: &Path, side: &str| {
        let dir = scratch(&format!("{name}-{side}"));
        let result = scenario(bin, &dir);
        let _ = std::fs::remove_dir_all(&dir);
        result
    };
    let theirs = run(&real, "real");
    let ours = run(Path::new(env!("CARGO_BIN_EXE_server")), "ours");
    Some((theirs, ours))
}

fn real_redis() -> Option<PathBuf> {
    let out = Command::new("redis-server")
        .arg("--version")
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .contains("v=7.0.15")
        .then(|| PathBuf::from("redis-server"))
}

fn compare(name: &str, port: u16, extra: &[&str]) {
    let Some((theirs, ours)) = on_both(name, |bin, dir| run_and_log(bin, dir, port, extra)) else {
        return;
    };
    assert_eq!(
        ours,
        theirs,
        "ours:\n{}\nreal:\n{}",
        ours.join("\n"),
        theirs.join("\n")
    );
}

#[test]
fn plain_start_and_sigterm_log_like_redis() {
    compare("plain", 21221, &[]);
}

#[test]
fn logo_start_logs_like_redis() {
    compare(
        "logo",
        21222,
        &["--always-show-logo", "yes", "--loglevel", "verbose"],
    );
}

#[test]
fn warning_level_start_logs_like_redis() {
    compare(
        "warning",
        21223,
        &["--loglevel", "warning", "--tcp-backlog", "100000"],
    );
}

/// The last two log lines of a start-up that cannot bind, normalized.
fn failed_start(bin: &Path, args: &[&str]) -> Vec<String> {
    let dir = scratch(&format!(
        "fail-{}",
        bin.file_name().unwrap().to_string_lossy()
    ));
    let out = Command::new(bin)
        .args(args)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(1), "{bin:?}");
    assert!(out.stderr.is_empty(), "{bin:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<String> = text.lines().map(normalize).collect();
    lines[lines.len().saturating_sub(2)..].to_vec()
}

#[test]
fn unbindable_address_fails_like_redis() {
    let Some(real) = real_redis() else {
        eprintln!("redis-server 7.0.15 not installed: skipping");
        return;
    };
    let args = ["--port", "21224", "--bind", "192.0.2.1", "--save", ""];
    let ours = failed_start(Path::new(env!("CARGO_BIN_EXE_server")), &args);
    assert_eq!(ours, failed_start(&real, &args));
    assert_eq!(
        ours[1],
        "M # Failed listening on port 21224 (TCP), aborting."
    );
}

#[test]
fn sigterm_with_save_points_logs_the_final_save_like_redis() {
    // 'User requested shutdown...' comes before the final save's lines, as in 7.0.15.
    compare("final-save", 21560, &["--save", "3600 1"]);
}

/// Sends one command and reads its reply (one read: the replies here are short).
fn call(stream: &mut std::net::TcpStream, args: &[&str]) -> String {
    use std::io::{Read, Write};
    let mut req = Vec::new();
    resp_proto::encode_command(&mut req, args);
    stream.write_all(&req).unwrap();
    let mut buf = [0u8; 512];
    let n = stream.read(&mut buf).unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// A final save that cannot complete (`dbfilename` is a directory): SHUTDOWN fails, then
/// SIGTERM tries the save again. The log from the first 'User requested shutdown...' to
/// the second 'Errors trying to shut down', with the pid of the temp file and the
/// directory blanked.
fn failed_final_save_log(bin: &Path, dir: &Path, port: u16) -> Vec<String> {
    let log = dir.join("server.log");
    let child = Command::new(bin)
        .args(["--port", &port.to_string(), "--logfile", "server.log"])
        .args(["--pidfile", "server.pid", "--save", "3600 1"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let guard = KillOnDrop(child);
    let wait_for = |what: &str, times: usize| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.matches(what).count() >= times {
                return text;
            }
            assert!(Instant::now() < deadline, "{bin:?}: no {what:?} x{times}");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait_for("Ready to accept connections", 1);
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    assert_eq!(call(&mut c, &["SET", "k", "v"]), "+OK\r\n");
    std::fs::create_dir(dir.join("dump.rdb")).unwrap();
    assert_eq!(
        call(&mut c, &["SHUTDOWN"]),
        "-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
    );
    let pid = guard.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let text = wait_for("Errors trying to shut down the server", 2);
    let dir_text = dir.display().to_string();
    let lines: Vec<String> = text
        .lines()
        .map(normalize)
        .map(|l| {
            let l = l.replace(&dir_text, "DIR");
            match l.find("temp-") {
                Some(at) => {
                    let tail = &l[at + 5..];
                    let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
                    format!("{}temp-N{}", &l[..at], &tail[digits..])
                }
                None => l,
            }
        })
        .collect();
    let first = lines
        .iter()
        .position(|l| l.ends_with("User requested shutdown..."))
        .unwrap();
    let last = lines
        .iter()
        .rposition(|l| {
            l.ends_with(
                "Errors trying to shut down the server. Check the logs for more information.",
            )
        })
        .unwrap();
    lines[first..=last].to_vec()
}

#[test]
fn sigterm_after_a_failed_shutdown_save_tries_the_save_again_like_redis() {
    let Some((theirs, ours)) = on_both("failed-save", |bin, dir| {
        failed_final_save_log(bin, dir, 21470)
    }) else {
        return;
    };
    assert_eq!(
        ours,
        theirs,
        "ours:\n{}\nreal:\n{}",
        ours.join("\n"),
        theirs.join("\n")
    );
    assert_eq!(
        ours.iter()
            .filter(|l| l.contains("Error moving temp DB file temp-N.rdb on the final destination dump.rdb (in server root dir DIR): Is a directory"))
            .count(),
        2
    );
}

/// What a SIGTERM whose final save fails (`dbfilename` is a directory) leaves: whether the
/// server still answers afterwards, then, once the directory is gone, how a second SIGTERM
/// ends it (exit status) and whether that save wrote the data.
fn sigterm_with_failing_save(bin: &Path, dir: &Path, port: u16) -> (String, Option<i32>, bool) {
    let log = dir.join("server.log");
    let child = Command::new(bin)
        .args(["--port", &port.to_string(), "--logfile", "server.log"])
        .args(["--save", "3600 1"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut guard = KillOnDrop(child);
    let wait_for = |what: &str, times: usize| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::fs::read_to_string(&log)
            .unwrap_or_default()
            .matches(what)
            .count()
            < times
        {
            assert!(Instant::now() < deadline, "{bin:?}: no {what:?} x{times}");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let term = |pid: u32| {
        assert!(Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap()
            .success());
    };
    wait_for("Ready to accept connections", 1);
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    assert_eq!(call(&mut c, &["SET", "k", "v"]), "+OK\r\n");
    std::fs::create_dir(dir.join("dump.rdb")).unwrap();
    term(guard.0.id());
    wait_for("Errors trying to shut down the server", 1);
    let after = call(&mut c, &["GET", "k"]);
    std::fs::remove_dir(dir.join("dump.rdb")).unwrap();
    term(guard.0.id());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = guard.0.try_wait().unwrap() {
            break s.code();
        }
        assert!(Instant::now() < deadline, "{bin:?} still running");
        std::thread::sleep(Duration::from_millis(20));
    };
    (after, status, dir.join("dump.rdb").is_file())
}

#[test]
fn failed_sigterm_save_keeps_serving_until_the_next_signal_like_redis() {
    let Some((theirs, ours)) = on_both("failing-sigterm", |bin, dir| {
        sigterm_with_failing_save(bin, dir, 21601)
    }) else {
        return;
    };
    assert_eq!(theirs, ("$1\r\nv\r\n".to_string(), Some(0), true));
    assert_eq!(ours, theirs);
}
