#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
//! CLUSTER replies of a lone node, byte for byte against transcripts captured from
//! redis-server 7.0.15 (client-behaviour.md §3, §5; fixtures copied from
//! shared/vectors/client). Replies are rendered in RESP2 by a small renderer here (the
//! server owns the real one).

use cluster_bus::NodeName;
use cluster_core::reply::{Reply, SlotsRange};
use cluster_core::{Cluster, Config, Effect, Input, KeyFacts, Request};

fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'r' => out.push(b'\r'),
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'\\' => out.push(b'\\'),
                b'x' => {
                    let h = std::str::from_utf8(&b[i + 2..i + 4]).unwrap();
                    out.push(u8::from_str_radix(h, 16).unwrap());
                    i += 2;
                }
                c => panic!("escape {c}"),
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// (label, argv, reply bytes) of one exchange.
type Exchange = (String, Vec<Vec<u8>>, Vec<u8>);

/// Every exchange of a transcript.
fn exchanges(file: &str) -> Vec<Exchange> {
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/{file}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut v: Vec<(String, Vec<u8>, Vec<u8>)> = Vec::new();
    for line in text.lines() {
        if let Some(l) = line.strip_prefix("## ") {
            v.push((l.to_owned(), Vec::new(), Vec::new()));
        } else if let Some(l) = line.strip_prefix("> ") {
            v.last_mut().unwrap().1.extend(unescape(l));
        } else if let Some(l) = line.strip_prefix("< ") {
            v.last_mut().unwrap().2.extend(unescape(l));
        }
    }
    v.into_iter()
        .map(|(label, sent, recv)| (label, parse_command(&sent), recv))
        .collect()
}

fn parse_command(b: &[u8]) -> Vec<Vec<u8>> {
    let text = b.to_vec();
    let mut parts = text.split(|c| *c == b'\n');
    let head = parts.next().unwrap();
    let n: usize = std::str::from_utf8(&head[1..head.len() - 1])
        .unwrap()
        .parse()
        .unwrap();
    let mut args = Vec::new();
    for _ in 0..n {
        let _len = parts.next().unwrap();
        let a = parts.next().unwrap();
        args.push(a[..a.len() - 1].to_vec());
    }
    args
}

fn bulk(out: &mut Vec<u8>, s: &str) {
    out.extend(format!("${}\r\n{s}\r\n", s.len()).bytes());
}

fn render_slots(out: &mut Vec<u8>, ranges: &[SlotsRange]) {
    out.extend(format!("*{}\r\n", ranges.len()).bytes());
    for r in ranges {
        out.extend(format!("*{}\r\n:{}\r\n:{}\r\n", 2 + r.nodes.len(), r.start, r.end).bytes());
        for n in &r.nodes {
            out.extend(b"*4\r\n");
            match &n.endpoint {
                Some(e) => bulk(out, e),
                None => out.extend(b"$-1\r\n"),
            }
            out.extend(format!(":{}\r\n", n.port).bytes());
            bulk(out, &n.id);
            out.extend(format!("*{}\r\n", n.metadata.len() * 2).bytes());
            for (k, v) in &n.metadata {
                bulk(out, k);
                bulk(out, v);
            }
        }
    }
}

fn render(r: &Reply) -> Vec<u8> {
    let mut out = Vec::new();
    match r {
        Reply::Ok => out.extend(b"+OK\r\n"),
        Reply::Status(s) => out.extend(format!("+{s}\r\n").bytes()),
        Reply::Int(i) => out.extend(format!(":{i}\r\n").bytes()),
        Reply::Bulk(s) | Reply::Text(s) => bulk(&mut out, s),
        Reply::StatusLines(l) => {
            out.extend(format!("*{}\r\n", l.len()).bytes());
            for s in l {
                out.extend(format!("+{s}\r\n").bytes());
            }
        }
        Reply::BulkLines(l) => {
            out.extend(format!("*{}\r\n", l.len()).bytes());
            for s in l {
                bulk(&mut out, s);
            }
        }
        Reply::Slots(s) => render_slots(&mut out, s),
        Reply::Error(e) => out.extend(format!("-{e}\r\n").bytes()),
        other => panic!("no renderer for {other:?}"),
    }
    out
}

/// The node id the transcript's node had (from a NODES or MYID reply).
fn node_id(ex: &[Exchange]) -> NodeName {
    for (_, _, recv) in ex {
        let s = String::from_utf8_lossy(recv);
        if let Some(p) = s.find(" :7208@17208 myself") {
            let id = &s[p - 40..p];
            return NodeName::new(id.as_bytes().try_into().unwrap());
        }
        if s.starts_with("$40\r\n") {
            return NodeName::new(s.as_bytes()[5..45].try_into().unwrap());
        }
    }
    NodeName::new(*b"3e8d7dda04ba8c576136475e2e1b11ae42a59a69")
}

fn replay(file: &str, setup: &[&str]) {
    let ex = exchanges(file);
    let mut c = Cluster::with_name_and_seed(Config::new(7208), node_id(&ex), 1, 0);
    let mut out = Vec::new();
    // The transcripts were captured on nodes past their 2 s writable delay, after which
    // cluster_size is counted (it reads 1 before).
    const NOW: u64 = 2100;
    c.handle(0, Input::Tick, &mut out);
    c.handle(NOW, Input::Tick, &mut out);
    let mut run = |c: &mut Cluster, argv: &[Vec<u8>]| -> Reply {
        let refs: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
        match Request::parse(&refs) {
            Err(e) => Reply::Error(e),
            Ok(req) => {
                out.clear();
                c.handle(
                    NOW,
                    Input::Command {
                        req,
                        keys: KeyFacts::default(),
                    },
                    &mut out,
                );
                out.iter()
                    .find_map(|e| match e {
                        Effect::Reply(r) => Some(r.clone()),
                        _ => None,
                    })
                    .unwrap()
            }
        }
    };
    for s in setup {
        let argv: Vec<Vec<u8>> = s.split(' ').map(|a| a.as_bytes().to_vec()).collect();
        run(&mut c, &argv);
    }
    let mut checked = 0;
    for (label, argv, expected) in &ex {
        let got = render(&run(&mut c, argv));
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(expected),
            "{file}: {label}"
        );
        checked += 1;
    }
    assert!(checked > 0);
}

#[test]
fn dispatch_and_arity_errors() {
    replay("cluster-command-errors.resp", &[]);
}

#[test]
fn errors_that_need_no_other_node() {
    replay("cluster-misc-errors-fresh.resp", &[]);
}

#[test]
fn addslots_delslots_and_ranges() {
    // The captured node had configEpoch 1 from an earlier BUMPEPOCH.
    replay("cluster-addslots-delslots.resp", &["CLUSTER BUMPEPOCH"]);
}

#[test]
fn bumpepoch_bumped_then_still() {
    replay("cluster-bumpepoch.resp", &[]);
}

#[test]
fn set_config_epoch_rules() {
    replay("cluster-set-config-epoch.resp", &[]);
}

#[test]
fn info_and_nodes_of_a_fresh_node() {
    replay("cluster-info-fresh.resp", &[]);
    replay("cluster-nodes-fresh.resp", &[]);
}

#[test]
fn help_text_verbatim() {
    replay("cluster-help.resp", &[]);
}
