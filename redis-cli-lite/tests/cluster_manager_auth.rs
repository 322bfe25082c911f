//! `--cluster` with `-a` against password-protected redis-server 7.0 nodes: every connection
//! authenticates, MIGRATE carries `AUTH <password>` before KEYS (as redis-cli sends it), check
//! prints what redis-cli prints (its password warning included), and no key is lost.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::{cli_path, Server};

const BASE: u16 = 18180;
const PASS: &str = "s3cret";

fn run(program: &str, args: &[&str], env: Option<(&str, &std::path::Path)>) -> (String, i32) {
    let mut cmd = Command::new(program);
    cmd.args(args).env("TERM", "dumb").stdin(Stdio::null());
    if let Some((k, v)) = env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
fn password_protected_cluster() {
    let _nodes: Vec<Server> = (0..3)
        .map(|i| {
            Server::start(
                BASE + i,
                &[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--requirepass",
                    PASS,
                    "--masterauth",
                    PASS,
                ],
            )
        })
        .collect();
    let addrs: Vec<String> = (0..3).map(|i| format!("127.0.0.1:{}", BASE + i)).collect();
    let mut args = vec!["-a", PASS, "--cluster", "create"];
    args.extend(addrs.iter().map(String::as_str));
    args.push("--cluster-yes");
    let (out, rc) = run(cli_path(), &args, None);
    assert_eq!(rc, 0, "{out}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (out, rc) = run(
            "redis-cli",
            &[
                "-a",
                PASS,
                "--no-auth-warning",
                "--cluster",
                "check",
                &addrs[0],
            ],
            None,
        );
        let ok = (0..3).all(|i| {
            run(
                "redis-cli",
                &[
                    "-a",
                    PASS,
                    "--no-auth-warning",
                    "-p",
                    &(BASE + i).to_string(),
                    "cluster",
                    "info",
                ],
                None,
            )
            .0
            .contains("cluster_state:ok")
        });
        if rc == 0 && out.contains("[OK] All nodes agree") && ok {
            break;
        }
        assert!(Instant::now() < deadline, "never settled: {out}");
        sleep(Duration::from_millis(200));
    }
    let script: String = (0..300)
        .map(|i| format!("SET key:{i} value:{i}\n"))
        .collect();
    let out = common::cli(
        &[
            "-a",
            PASS,
            "--no-auth-warning",
            "-c",
            "-p",
            &BASE.to_string(),
        ],
        script.as_bytes(),
    );
    assert!(out.status.success());
    let written = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        written.lines().filter(|l| *l == "OK").count(),
        300,
        "{written}"
    );

    for extra in [vec![], vec!["--no-auth-warning"]] {
        let mut args = vec!["-a", PASS];
        args.extend(extra);
        args.extend(["--cluster", "check", &addrs[0]]);
        assert_eq!(run(cli_path(), &args, None), run("redis-cli", &args, None));
    }

    let id = |i: u16| {
        run(
            "redis-cli",
            &[
                "-a",
                PASS,
                "--no-auth-warning",
                "-p",
                &(BASE + i).to_string(),
                "cluster",
                "myid",
            ],
            None,
        )
        .0
        .trim()
        .to_owned()
    };
    let trace = std::env::temp_dir().join(format!("cli-lite-auth-trace-{}", std::process::id()));
    let _ = std::fs::remove_file(&trace);
    let (out, rc) = run(
        cli_path(),
        &[
            "--no-auth-warning",
            "-a",
            PASS,
            "--cluster",
            "reshard",
            &addrs[0],
            "--cluster-from",
            &id(0),
            "--cluster-to",
            &id(1),
            "--cluster-slots",
            "100",
            "--cluster-yes",
        ],
        Some(("REDIS_CLI_LITE_TRACE", &trace)),
    );
    assert_eq!(rc, 0, "{out}");
    let sent = std::fs::read_to_string(&trace).unwrap();
    let _ = std::fs::remove_file(&trace);
    assert!(
        sent.contains(&format!(
            "18180 MIGRATE 127.0.0.1 18181 \"\" 0 60000 AUTH {PASS} KEYS key:248\n"
        )),
        "{sent}"
    );
    let (info, rc) = run(
        cli_path(),
        &[
            "-a",
            PASS,
            "--no-auth-warning",
            "--cluster",
            "info",
            &addrs[0],
        ],
        None,
    );
    assert_eq!(rc, 0);
    assert!(info.contains("[OK] 300 keys in 3 masters."), "{info}");
    assert!(info.contains("-> 100 keys | 5361 slots"), "{info}");
}
