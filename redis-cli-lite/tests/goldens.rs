//! Our output against golden files made by the real redis-cli 7.0.15 (see
//! `fixtures/make_goldens.sh`): every case of `fixtures/cases.tsv` in four modes (standard and
//! raw, RESP2 and RESP3), byte for byte on stdout, plus exit status and stderr; then the
//! commands of `fixtures/pipe.txt` piped with no command, in both output forms.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{cli, fixtures, Server};

/// Same port as the script, since one golden names it in a message.
const PORT: u16 = 18010;

fn mode_flags(mode: &str) -> &'static [&'static str] {
    match mode {
        "std2" => &["--no-raw"],
        "raw2" => &[],
        "std3" => &["-3", "--no-raw"],
        "raw3" => &["-3"],
        other => panic!("unknown mode {other}"),
    }
}

#[test]
fn output_matches_real_redis_cli_byte_for_byte() {
    let server = Server::start(PORT, &[]);
    let port = server.port.to_string();
    let seed = std::fs::read(fixtures().join("seed.txt")).unwrap();
    let out = cli(&["-p", &port], &seed);
    assert!(out.status.success(), "seeding failed: {out:?}");

    let dir = fixtures().join("goldens");
    let index = std::fs::read_to_string(dir.join("index.tsv")).unwrap();
    let mut expected = index.lines().map(|l| {
        let mut f = l.splitn(3, '\t');
        let name = f.next().unwrap().to_owned();
        let rc: i32 = f.next().unwrap().parse().unwrap();
        let err = f.next().unwrap_or("").replace('\u{1e}', "\n");
        (name, rc, err)
    });
    let cases = std::fs::read_to_string(fixtures().join("cases.tsv")).unwrap();
    let mut failures = Vec::new();
    let mut compared = 0;
    for (n, line) in cases.lines().enumerate() {
        let case_args: Vec<&str> = line.split('\t').collect();
        for mode in ["std2", "raw2", "std3", "raw3"] {
            let name = format!("{:02}-{mode}", n + 1);
            let (golden_name, rc, err) = expected.next().unwrap();
            assert_eq!(golden_name, name, "index.tsv out of step with cases.tsv");
            let mut args = vec!["-p", port.as_str()];
            args.extend_from_slice(mode_flags(mode));
            args.extend_from_slice(&case_args);
            let out = cli(&args, b"stdin-data\n");
            let golden = std::fs::read(dir.join(format!("{name}.out"))).unwrap();
            compared += 1;
            if out.stdout != golden {
                failures.push(format!(
                    "{name} {line:?}: stdout\n--- redis-cli\n{}\n--- ours\n{}",
                    String::from_utf8_lossy(&golden),
                    String::from_utf8_lossy(&out.stdout)
                ));
            }
            if out.status.code() != Some(rc) || String::from_utf8_lossy(&out.stderr) != err {
                failures.push(format!(
                    "{name} {line:?}: status {:?} stderr {:?}, redis-cli: {rc} {err:?}",
                    out.status.code(),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
    }
    assert!(compared >= 200, "only {compared} goldens compared");
    for mode in ["std2", "raw2"] {
        let pipe = std::fs::read(fixtures().join("pipe.txt")).unwrap();
        let mut args = vec!["-p", port.as_str()];
        args.extend_from_slice(mode_flags(mode));
        let out = cli(&args, &pipe);
        let mut got = out.stdout.clone();
        got.extend_from_slice(&out.stderr);
        let golden = std::fs::read(dir.join(format!("pipe-{mode}.out"))).unwrap();
        if got != golden {
            failures.push(format!(
                "pipe-{mode}\n--- redis-cli\n{}\n--- ours\n{}",
                String::from_utf8_lossy(&golden),
                String::from_utf8_lossy(&got)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
