//! Encodings older Redis versions wrote (zipmap, ziplists, quicklist v1, linked lists, text
//! scores) and table forms 7.0 converts on load: each payload is built by hand, RESTOREd
//! into a real redis-server 7.0.15 and into ours, and both must answer the same (contents,
//! OBJECT ENCODING). Ports: ours 24640, redis 24840.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
use crate::rdb_common;

use common::{start_binary, start_redis};
use rdb_common::*;

enum Z<'a> {
    S(&'a [u8]),
    I(i64),
}

fn ziplist(items: &[Z<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut prev = 0usize;
    let mut last = 10usize;
    for it in items {
        let start = body.len();
        last = 10 + start;
        if prev < 254 {
            body.push(prev as u8);
        } else {
            body.push(0xFE);
            body.extend_from_slice(&(prev as u32).to_le_bytes());
        }
        match it {
            Z::S(s) => {
                assert!(s.len() < 64);
                body.push(s.len() as u8);
                body.extend_from_slice(s);
            }
            Z::I(n) => match *n {
                0..=12 => body.push(0xF1 + *n as u8),
                n if i8::try_from(n).is_ok() => body.extend_from_slice(&[0xFE, n as i8 as u8]),
                n if i16::try_from(n).is_ok() => {
                    body.push(0xC0);
                    body.extend_from_slice(&(n as i16).to_le_bytes());
                }
                n if (-(1 << 23)..(1 << 23)).contains(&n) => {
                    body.push(0xF0);
                    body.extend_from_slice(&(n as i32).to_le_bytes()[..3]);
                }
                n if i32::try_from(n).is_ok() => {
                    body.push(0xD0);
                    body.extend_from_slice(&(n as i32).to_le_bytes());
                }
                n => {
                    body.push(0xE0);
                    body.extend_from_slice(&n.to_le_bytes());
                }
            },
        }
        prev = body.len() - start;
    }
    let total = 10 + body.len() + 1;
    let mut zl = Vec::new();
    zl.extend_from_slice(&(total as u32).to_le_bytes());
    zl.extend_from_slice(&(last as u32).to_le_bytes());
    zl.extend_from_slice(&(items.len() as u16).to_le_bytes());
    zl.extend_from_slice(&body);
    zl.push(0xFF);
    zl
}

fn zipmap(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut z = vec![pairs.len() as u8];
    for (k, v) in pairs {
        z.push(k.len() as u8);
        z.extend_from_slice(k);
        z.push(v.len() as u8);
        z.push(1); // one free byte after the value
        z.extend_from_slice(v);
        z.push(0);
    }
    z.push(0xFF);
    z
}

fn len(out: &mut Vec<u8>, n: usize) {
    assert!(n < 64);
    out.push(n as u8);
}

fn string(out: &mut Vec<u8>, s: &[u8]) {
    if s.len() < 64 {
        out.push(s.len() as u8);
    } else {
        out.push(0x40 | (s.len() >> 8) as u8);
        out.push(s.len() as u8);
    }
    out.extend_from_slice(s);
}

fn payload(t: u8, body: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut p = vec![t];
    body(&mut p);
    p.extend_from_slice(&10u16.to_le_bytes());
    let crc = server::rdb::crc64::crc64(0, &p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

fn cases() -> Vec<(&'static str, Vec<u8>)> {
    let big = ziplist(&(0..200).map(Z::I).collect::<Vec<_>>());
    vec![
        (
            "zipmap hash",
            payload(9, |p| {
                string(p, &zipmap(&[(b"a", b"x"), (b"bc", b"yzw"), (b"n", b"12")]))
            }),
        ),
        (
            "ziplist list",
            payload(10, |p| {
                string(
                    p,
                    &ziplist(&[
                        Z::S(b"a"),
                        Z::I(1),
                        Z::I(300),
                        Z::I(-70000),
                        Z::I(1 << 40),
                        Z::I(-5),
                    ]),
                )
            }),
        ),
        (
            "ziplist zset",
            payload(12, |p| {
                string(
                    p,
                    &ziplist(&[
                        Z::S(b"a"),
                        Z::S(b"1.5"),
                        Z::S(b"b"),
                        Z::I(2),
                        Z::S(b"c"),
                        Z::S(b"inf"),
                    ]),
                )
            }),
        ),
        (
            "ziplist hash",
            payload(13, |p| {
                string(
                    p,
                    &ziplist(&[Z::S(b"f1"), Z::S(b"v1"), Z::S(b"f2"), Z::I(2)]),
                )
            }),
        ),
        (
            "quicklist v1",
            payload(14, |p| {
                len(p, 2);
                string(p, &ziplist(&[Z::S(b"x"), Z::I(7)]));
                string(p, &ziplist(&[Z::S(b"y"), Z::I(100_000)]));
            }),
        ),
        (
            "quicklist v1 of 200",
            payload(14, |p| {
                len(p, 1);
                string(p, &big);
            }),
        ),
        (
            "text-score zset",
            payload(3, |p| {
                len(p, 3);
                string(p, b"a");
                p.push(3);
                p.extend_from_slice(b"1.5");
                string(p, b"b");
                p.push(254);
                string(p, b"c");
                p.push(2);
                p.extend_from_slice(b"-2");
            }),
        ),
        (
            "linked list",
            payload(1, |p| {
                len(p, 3);
                string(p, b"x");
                string(p, b"y");
                p.extend_from_slice(&[0xC0, 42]);
            }),
        ),
        (
            "set table of integers",
            payload(2, |p| {
                len(p, 3);
                for m in [&b"3"[..], b"1", b"2"] {
                    string(p, m);
                }
            }),
        ),
        (
            "set table of strings",
            payload(2, |p| {
                len(p, 2);
                string(p, b"a");
                string(p, b"b");
            }),
        ),
        (
            "small hash table",
            payload(4, |p| {
                len(p, 2);
                for s in [&b"f"[..], b"v", b"g", b"w"] {
                    string(p, s);
                }
            }),
        ),
        (
            "hash table with a long value",
            payload(4, |p| {
                len(p, 1);
                string(p, b"f");
                string(p, &[b'v'; 100]);
            }),
        ),
        (
            "small skiplist",
            payload(5, |p| {
                len(p, 2);
                string(p, b"m1");
                p.extend_from_slice(&2.5f64.to_le_bytes());
                string(p, b"m0");
                p.extend_from_slice(&(-1.0f64).to_le_bytes());
            }),
        ),
        (
            "quicklist v2 with a plain node",
            payload(18, |p| {
                len(p, 2);
                len(p, 1);
                string(p, b"plain element");
                len(p, 2);
                let mut lp = server::types::Listpack::new();
                lp.push_back(b"packed");
                lp.push_back(b"42");
                string(p, &lp.redis_bytes());
            }),
        ),
        (
            "lzf string",
            payload(0, |p| {
                // 'a' then a back-reference of 48 bytes at distance 1: 49 'a'.
                p.extend_from_slice(&[0xC3, 5, 49, 0x00, b'a', 0xE0, 39, 0]);
            }),
        ),
        (
            "int16 string",
            payload(0, |p| p.extend_from_slice(&[0xC1, 0x39, 0x30])),
        ),
        (
            "int32 string",
            payload(0, |p| p.extend_from_slice(&[0xC2, 0x00, 0x00, 0x00, 0x80])),
        ),
        // Refused by both.
        (
            "duplicate set member",
            payload(2, |p| {
                len(p, 2);
                string(p, b"a");
                string(p, b"a");
            }),
        ),
        (
            "duplicate hash field",
            payload(4, |p| {
                len(p, 2);
                for s in [&b"f"[..], b"v", b"f", b"w"] {
                    string(p, s);
                }
            }),
        ),
        (
            "NaN score",
            payload(5, |p| {
                len(p, 1);
                string(p, b"m");
                p.extend_from_slice(&f64::NAN.to_le_bytes());
            }),
        ),
        ("empty list", payload(18, |p| len(p, 0))),
        (
            "bad quicklist container",
            payload(18, |p| {
                len(p, 1);
                len(p, 3);
                string(p, b"x");
            }),
        ),
        (
            "truncated ziplist",
            payload(10, |p| {
                let zl = ziplist(&[Z::S(b"abc"), Z::I(1)]);
                string(p, &zl[..zl.len() - 2]);
            }),
        ),
        ("stream", payload(19, |p| len(p, 0))),
        ("unknown type", payload(8, |p| len(p, 0))),
    ]
}

/// This server validates every payload deeply (it must never trust client bytes), which is
/// what redis-server does with `sanitize-dump-payload yes`; with its default `no` Redis
/// accepts some corrupt payloads (a duplicate hash field) that it would later trip over.
#[test]
fn old_and_converted_encodings_restore_as_in_redis() {
    let rdir = scratch("old-redis");
    let odir = scratch("old-ours");
    let redis = start_redis(
        24840,
        &[
            "--sanitize-dump-payload",
            "yes",
            "--dir",
            rdir.to_str().unwrap(),
        ],
    );
    let ours = start_binary(24640, &["--dir", odir.to_str().unwrap()]);
    let mut r = common::Raw::connect(redis.port);
    let mut o = common::Raw::connect(ours.port);
    let mut rc = connect(redis.port);
    let mut oc = connect(ours.port);
    let mut accepted = 0;
    for (i, (what, p)) in cases().into_iter().enumerate() {
        let key = format!("k{i}");
        let a = r.call(&[b"RESTORE", key.as_bytes(), b"0", &p]);
        let b = o.call(&[b"RESTORE", key.as_bytes(), b"0", &p]);
        assert_eq!(
            String::from_utf8_lossy(&b),
            String::from_utf8_lossy(&a),
            "{what}"
        );
        if a == b"+OK\r\n" {
            accepted += 1;
            assert_eq!(
                describe(&mut oc, key.as_bytes()),
                describe(&mut rc, key.as_bytes()),
                "{what}"
            );
        }
    }
    assert_eq!(accepted, 17);
}
