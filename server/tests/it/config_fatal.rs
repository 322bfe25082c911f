//! Every malformed configuration in `fixtures/config/fatal/` stops start-up exactly as the
//! real redis-server 7.0.15 does: same stderr block, same exit code, same last log line.
//! The fixtures were recorded from the real server with `fixtures/config/record.sh`.
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

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config/fatal")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cfg-fatal-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Replaces Redis's log prefix `pid:R dd Mon yyyy hh:mm:ss.mmm ` by `<LOG> R `.
fn normalize_log_line(line: &str) -> String {
    let Some((pid, rest)) = line.split_once(':') else {
        return line.to_owned();
    };
    if pid.is_empty() || !pid.bytes().all(|c| c.is_ascii_digit()) || rest.len() < 27 {
        return line.to_owned();
    }
    let (role, after) = rest.split_at(1);
    // " dd Mon yyyy hh:mm:ss.mmm " is 26 bytes.
    match after.get(26..) {
        Some(msg) => format!("<LOG> {role} {msg}"),
        None => line.to_owned(),
    }
}

struct Outcome {
    stdout: String,
    stderr: String,
    code: i32,
}

fn run_case(name: &str) -> Outcome {
    let dir = scratch(name);
    let dir_s = dir.to_str().unwrap().to_owned();
    let base = fixtures().join(name);
    for (ext, target) in [("conf", "case.conf"), ("inc", "inc.conf")] {
        if let Ok(text) = std::fs::read_to_string(base.with_extension(ext)) {
            std::fs::write(dir.join(target), text.replace("{DIR}", &dir_s)).unwrap();
        }
    }
    let args: Vec<String> = std::fs::read_to_string(base.with_extension("args"))
        .unwrap()
        .lines()
        .map(|a| {
            a.replace("{CONF}", &format!("{dir_s}/case.conf"))
                .replace("{DIR}", &dir_s)
        })
        .collect();
    let child = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(&args)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut guard = KillOnDrop(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = guard.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "{name}: server did not exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    use std::io::Read;
    guard
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    guard
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    Outcome {
        stdout: stdout.replace(&dir_s, "{DIR}"),
        stderr: stderr.replace(&dir_s, "{DIR}"),
        code: status.code().unwrap_or(-1),
    }
}

#[test]
fn malformed_configs_fail_like_redis() {
    let mut names: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "args").then(|| p.file_stem().unwrap().to_str().unwrap().to_owned())
        })
        .collect();
    names.sort();
    assert!(names.len() >= 50, "fixtures missing: {}", names.len());
    let mut failures = Vec::new();
    // One at a time: two cases start far enough to bind their port.
    for name in &names {
        let base = fixtures().join(name);
        let want_err = std::fs::read_to_string(base.with_extension("stderr")).unwrap();
        let want_code: i32 = std::fs::read_to_string(base.with_extension("exit"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let want_last = std::fs::read_to_string(base.with_extension("stdout"))
            .unwrap()
            .lines()
            .last()
            .map(str::to_owned);
        let got = run_case(name);
        let got_last = got.stdout.lines().last().map(normalize_log_line);
        if got.stderr != want_err
            || got.code != want_code
            || (want_last.is_some() && got_last != want_last)
        {
            failures.push(format!(
                "{name}:\n  want exit {want_code}, stderr {want_err:?}, last log {want_last:?}\n  got  exit {}, stderr {:?}, last log {got_last:?}",
                got.code, got.stderr
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}

#[test]
fn version_and_help() {
    let out = Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("Redis server v=7.0.15 "));
    let out = Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("-v")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("Redis server v=7.0.15 "));
    let out = Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr)
        .starts_with("Usage: ./redis-server [/path/to/redis.conf] [options] [-]\n"));
    for refused in ["--test-memory", "--check-system", "--sentinel"] {
        let out = Command::new(env!("CARGO_BIN_EXE_server"))
            .arg(refused)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{refused}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("not supported by this server"),
            "{refused}"
        );
    }
}
