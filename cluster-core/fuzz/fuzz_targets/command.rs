//! Any CLUSTER argument vector (arguments split on NUL): parse never panics, and a
//! parsed request runs against a node that knows five masters and a replica.
#![no_main]

use cluster_core::{Effect, Input, KeyFacts, Request};
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let mut argv: Vec<&[u8]> = vec![b"CLUSTER"];
    argv.extend(data.split(|b| *b == 0));
    let Ok(req) = Request::parse(&argv) else {
        return;
    };
    let mut c = common::node();
    let mut out: Vec<Effect> = Vec::new();
    let keys = KeyFacts {
        db_keys: u64::from(data.len() as u8 & 1),
        slot_keys: u64::from(data.len() as u8 & 2),
    };
    c.handle(1_800_000_000_000, Input::Command { req, keys }, &mut out);
    assert!(out.iter().any(|e| matches!(e, Effect::Reply(_))));
    c.handle(1_800_000_000_100, Input::Tick, &mut out);
});
