//! `cargo xtask fuzz`: the workspace's cargo-fuzz targets, listed or run for a given time each.
//!
//! Targets are the `[[bin]]` entries of every `<crate>/fuzz/Cargo.toml`. Each run is
//! `cargo fuzz run <target> -- -max_total_time=<secs> -rss_limit_mb=1024` in the crate, with
//! `RUSTC_BOOTSTRAP=1` when the toolchain is a stable one (cargo-fuzz needs nightly flags).
//! libFuzzer's output goes to `target/fuzz-logs/<crate>-<target>.log`; the summary gives
//! executions and the crash (with its artifact) per target. The exit code is 1 if any target
//! crashed or failed to build.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use clap::Args;

/// Options of `cargo xtask fuzz`.
#[derive(Args)]
pub struct FuzzArgs {
    /// Run this target (`name` or `crate/name`); repeatable.
    #[arg(long = "target", value_name = "NAME")]
    targets: Vec<String>,
    /// Run every target.
    #[arg(long)]
    all: bool,
    /// Seconds of fuzzing per target (build time not counted).
    #[arg(long, default_value_t = 60)]
    time: u64,
}

/// One fuzz target.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The crate whose `fuzz/` holds it.
    pub krate: String,
    /// The `[[bin]]` name.
    pub name: String,
}

/// What one run gave.
#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    /// Executions libFuzzer reported last.
    pub execs: u64,
    /// A crash: libFuzzer's summary line and the artifact written.
    pub crash: Option<(String, Option<String>)>,
}

fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

/// `[[bin]]` names of a fuzz Cargo.toml.
pub fn bins(manifest: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
            continue;
        }
        if in_bin {
            if let Some(v) = line.strip_prefix("name") {
                let v = v
                    .trim_start()
                    .trim_start_matches('=')
                    .trim()
                    .trim_matches('"');
                out.push(v.to_owned());
            }
        }
    }
    out
}

/// Every target of the workspace, by crate then name.
fn discover(root: &Path) -> Result<Vec<Target>, String> {
    let mut targets = Vec::new();
    let entries = std::fs::read_dir(root).map_err(|e| format!("{}: {e}", root.display()))?;
    let mut crates: Vec<String> = entries
        .filter_map(|e| {
            let e = e.ok()?;
            e.path()
                .join("fuzz/Cargo.toml")
                .is_file()
                .then(|| e.file_name().to_string_lossy().into_owned())
        })
        .collect();
    crates.sort();
    for krate in crates {
        let manifest = std::fs::read_to_string(root.join(&krate).join("fuzz/Cargo.toml"))
            .map_err(|e| e.to_string())?;
        let mut names = bins(&manifest);
        names.sort();
        targets.extend(names.into_iter().map(|name| Target {
            krate: krate.clone(),
            name,
        }));
    }
    Ok(targets)
}

/// Executions and crash from libFuzzer's output.
pub fn parse_output(log: &str) -> Outcome {
    let mut out = Outcome::default();
    for line in log.lines() {
        // "#123456\tpulse  cov: ..." / "#123456\tDONE ..." / "Done 123456 runs in 20 second(s)"
        if let Some(rest) = line.strip_prefix('#') {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if let Ok(n) = digits.parse::<u64>() {
                out.execs = out.execs.max(n);
            }
        } else if let Some(rest) = line.strip_prefix("Done ") {
            if let Some(n) = rest.split(' ').next().and_then(|n| n.parse::<u64>().ok()) {
                out.execs = out.execs.max(n);
            }
        }
        if line.starts_with("SUMMARY: ") || line.contains("==ERROR: libFuzzer") {
            let artifact = out.crash.take().and_then(|(_, a)| a);
            out.crash = Some((line.trim().to_owned(), artifact));
        }
        if let Some(path) = line.split("Test unit written to ").nth(1) {
            let what = out
                .crash
                .take()
                .map_or_else(|| "crash".to_owned(), |(w, _)| w);
            out.crash = Some((what, Some(path.trim().to_owned())));
        }
    }
    out
}

fn toolchain_is_stable() -> bool {
    let out = Command::new("rustc").arg("-V").output();
    out.map(|o| {
        let v = String::from_utf8_lossy(&o.stdout);
        !v.contains("nightly") && !v.contains("dev")
    })
    .unwrap_or(true)
}

/// Runs one target; returns its outcome, or why it did not run.
fn run_one(root: &Path, t: &Target, secs: u64, stable: bool) -> Result<Outcome, String> {
    let logs = root.join("target").join("fuzz-logs");
    std::fs::create_dir_all(&logs).map_err(|e| e.to_string())?;
    let log_path = logs.join(format!("{}-{}.log", t.krate, t.name));
    let mut log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(["fuzz", "run", &t.name, "--"])
        .arg(format!("-max_total_time={secs}"))
        .arg("-rss_limit_mb=1024")
        .current_dir(root.join(&t.krate).join("fuzz"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if stable {
        cmd.env("RUSTC_BOOTSTRAP", "1");
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run cargo fuzz (is cargo-fuzz installed?): {e}"))?;
    // libFuzzer writes to stderr; stdout is drained by a thread so neither pipe fills up.
    let stdout = child.stdout.take();
    let drain = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(s) = stdout {
            for line in BufReader::new(s).lines().map_while(Result::ok) {
                text.push_str(&line);
                text.push('\n');
            }
        }
        text
    });
    let mut text = String::new();
    if let Some(err) = child.stderr.take() {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = writeln!(log, "{line}");
            text.push_str(&line);
            text.push('\n');
        }
    }
    let out_text = drain.join().unwrap_or_default();
    let _ = log.write_all(out_text.as_bytes());
    let status = child.wait().map_err(|e| e.to_string())?;
    let outcome = parse_output(&text);
    if !status.success() && outcome.crash.is_none() {
        if outcome.execs == 0 {
            return Err(format!(
                "did not run (build failed?); see {}",
                log_path.display()
            ));
        }
        return Ok(Outcome {
            crash: Some((format!("exit status {status}"), None)),
            ..outcome
        });
    }
    Ok(outcome)
}

fn select(all: &[Target], wanted: &[String]) -> Result<Vec<Target>, String> {
    let mut out = Vec::new();
    for w in wanted {
        let found: Vec<&Target> = all
            .iter()
            .filter(|t| *w == t.name || *w == format!("{}/{}", t.krate, t.name))
            .collect();
        match found.as_slice() {
            [one] => out.push((*one).clone()),
            [] => {
                return Err(format!(
                    "no fuzz target {w:?} (cargo xtask fuzz lists them)"
                ))
            }
            _ => return Err(format!("{w:?} is ambiguous: say crate/name")),
        }
    }
    Ok(out)
}

/// `cargo xtask fuzz`.
pub fn run(a: &FuzzArgs) -> Result<(), String> {
    let root = workspace_root();
    let all = discover(&root)?;
    let chosen = if a.all {
        all.clone()
    } else if !a.targets.is_empty() {
        select(&all, &a.targets)?
    } else {
        println!("Fuzz targets (run with --target NAME or --all, --time SECS):");
        for t in &all {
            println!("  {}/{}", t.krate, t.name);
        }
        return Ok(());
    };
    let stable = toolchain_is_stable();
    let mut rows = Vec::new();
    let mut failed = false;
    for t in &chosen {
        println!(
            ">>> {}/{} for {}s{}",
            t.krate,
            t.name,
            a.time,
            if stable { " (RUSTC_BOOTSTRAP=1)" } else { "" }
        );
        let _ = std::io::stdout().flush();
        let started = Instant::now();
        let result = run_one(&root, t, a.time, stable);
        let wall = started.elapsed().as_secs();
        let line = match result {
            Ok(o) => {
                let rate = o.execs / a.time.max(1);
                match o.crash {
                    None => format!("ok, {} executions (~{rate}/s)", o.execs),
                    Some((what, artifact)) => {
                        failed = true;
                        format!(
                            "CRASH after {} executions: {what}{}",
                            o.execs,
                            artifact.map(|p| format!(" -> {p}")).unwrap_or_default()
                        )
                    }
                }
            }
            Err(e) => {
                failed = true;
                format!("FAILED: {e}")
            }
        };
        println!("    {line} ({wall}s with build)");
        rows.push(format!("{}/{}: {line}", t.krate, t.name));
    }
    println!("\nSummary:");
    for r in &rows {
        println!("  {r}");
    }
    if failed {
        return Err("some fuzz targets crashed or did not run".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_of_a_fuzz_manifest() {
        let m = "[package]\nname = \"x-fuzz\"\n\n[[bin]]\nname = \"decode\"\npath = \"a.rs\"\n\n[[bin]]\nname=\"bus\"\n";
        assert_eq!(bins(m), ["decode", "bus"]);
    }

    #[test]
    fn the_workspace_targets_are_found() {
        let all = discover(&workspace_root()).unwrap_or_default();
        assert!(all.contains(&Target {
            krate: "resp-proto".into(),
            name: "decoders".into()
        }));
        assert!(all.iter().any(|t| t.krate == "cluster-bus"));
    }

    #[test]
    fn executions_and_crashes_from_libfuzzer_output() {
        let ok = "INFO: Seed: 1\n#2\tINITED cov: 10\n#65536\tpulse  cov: 99\n#1048576\tDONE   cov: 120 ft: 300 corp: 50/1Kb exec/s: 52428 rss: 60Mb\nDone 1048576 runs in 20 second(s)\n";
        assert_eq!(
            parse_output(ok),
            Outcome {
                execs: 1_048_576,
                crash: None
            }
        );
        let crash = "#4096\tpulse\nthread '<unnamed>' panicked at src/lib.rs:1:1\n==123== ERROR: libFuzzer: deadly signal\nSUMMARY: libFuzzer: deadly signal\nMS: 1 ChangeBit-; base unit: 0\nartifact_prefix='/x/artifacts/decode/'; Test unit written to /x/artifacts/decode/crash-abc\n";
        let o = parse_output(crash);
        assert_eq!(o.execs, 4096);
        assert_eq!(
            o.crash,
            Some((
                "SUMMARY: libFuzzer: deadly signal".to_owned(),
                Some("/x/artifacts/decode/crash-abc".to_owned())
            ))
        );
    }

    #[test]
    fn selection_by_name_or_crate_slash_name() {
        let all = vec![
            Target {
                krate: "a".into(),
                name: "x".into(),
            },
            Target {
                krate: "b".into(),
                name: "x".into(),
            },
            Target {
                krate: "b".into(),
                name: "y".into(),
            },
        ];
        assert_eq!(select(&all, &["y".into()]).unwrap_or_default().len(), 1);
        assert!(select(&all, &["x".into()]).is_err());
        assert_eq!(
            select(&all, &["a/x".into()]).unwrap_or_default()[0].krate,
            "a"
        );
        assert!(select(&all, &["z".into()]).is_err());
    }
}
