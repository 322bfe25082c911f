//! RDB files and DUMP payloads between this server and a real redis-server 7.0.15, both
//! ways. Ports: ours 24600-24799, redis 24800-24999.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
use crate::rdb_common;

use common::{start_binary, start_redis};
use rdb_common::*;
use redis::Value;

fn save(port: u16) {
    let mut c = connect(port);
    assert_eq!(text(&qs(&mut c, &["SAVE"])), "OK");
}

#[test]
fn redis_dump_rdb_loads_in_ours_with_identical_contents() {
    let dir = scratch("from-redis");
    let d = dir.to_str().unwrap();
    let want = {
        let _redis = start_redis(24801, &["--dir", d]);
        let mut c = connect(24801);
        populate(&mut c);
        save(24801);
        snapshot(&mut c, 16)
    };
    assert!(want.len() > 25, "dataset too small: {}", want.len());
    let ours = start_binary(24601, &["--dir", d]);
    let mut c = connect(ours.port);
    let got = snapshot(&mut c, 16);
    assert_same(&want, &got);
    let info = text(&qs(&mut c, &["INFO", "persistence"]));
    assert!(
        info.contains(&format!("rdb_last_load_keys_loaded:{}", want.len())),
        "{info}"
    );
}

#[test]
fn our_dump_rdb_loads_in_redis_with_identical_contents() {
    let dir = scratch("to-redis");
    let d = dir.to_str().unwrap();
    let want = {
        let _ours = start_binary(24602, &["--dir", d]);
        let mut c = connect(24602);
        populate(&mut c);
        save(24602);
        snapshot(&mut c, 16)
    };
    let check = std::process::Command::new("redis-check-rdb")
        .arg(dir.join("dump.rdb"))
        .output()
        .expect("redis-check-rdb (redis-tools) is required");
    let out = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success() && out.contains("RDB looks OK!"),
        "{out}"
    );
    assert!(
        out.contains(&format!("keys read: {}", want.len()))
            || out.contains(&format!("{} keys read", want.len())),
        "{out}"
    );
    let _redis = start_redis(24802, &["--dir", d]);
    let mut c = connect(24802);
    let got = snapshot(&mut c, 16);
    assert_same(&want, &got);
}

#[test]
fn our_dump_rdb_without_compression_or_checksum_loads_in_redis() {
    let dir = scratch("plain");
    let d = dir.to_str().unwrap();
    let want = {
        let _ours = start_binary(
            24603,
            &["--dir", d, "--rdbcompression", "no", "--rdbchecksum", "no"],
        );
        let mut c = connect(24603);
        populate(&mut c);
        save(24603);
        snapshot(&mut c, 16)
    };
    let bytes = std::fs::read(dir.join("dump.rdb")).unwrap();
    assert_eq!(
        &bytes[bytes.len() - 8..],
        &[0; 8],
        "rdbchecksum no writes a zero checksum"
    );
    let _redis = start_redis(24803, &["--dir", d]);
    let mut c = connect(24803);
    assert_same(&want, &snapshot(&mut c, 16));
}

fn dump(c: &mut redis::Connection, key: &[u8]) -> Vec<u8> {
    match q(c, &[b"DUMP", key]) {
        Value::BulkString(b) => b,
        other => panic!("{other:?}"),
    }
}

fn keys(c: &mut redis::Connection) -> Vec<Vec<u8>> {
    match q(c, &[b"KEYS", b"*"]) {
        Value::Array(a) => a
            .into_iter()
            .map(|v| match v {
                Value::BulkString(b) => b,
                other => panic!("{other:?}"),
            })
            .collect(),
        other => panic!("{other:?}"),
    }
}

/// Byte-identical DUMP payloads for every compact encoding; with `rdbcompression no` also
/// for multi-node lists (LZF output can differ: Redis's compressor starts from an
/// uninitialised hash table, ours from a zeroed one; both decode to the same bytes).
fn dump_restore_both_ways(compress: &str, rport: u16, oport: u16) {
    // Scratch dirs: a stray dump.rdb in the working directory must not be loaded.
    let rdir = scratch(&format!("dump-redis-{compress}"));
    let odir = scratch(&format!("dump-ours-{compress}"));
    let redis = start_redis(
        rport,
        &[
            "--rdbcompression",
            compress,
            "--dir",
            rdir.to_str().unwrap(),
        ],
    );
    let ours = start_binary(
        oport,
        &[
            "--rdbcompression",
            compress,
            "--dir",
            odir.to_str().unwrap(),
        ],
    );
    let mut r = connect(redis.port);
    let mut o = connect(ours.port);
    populate(&mut r);
    populate(&mut o);
    let mut identical = 0;
    for k in keys(&mut r) {
        let from_redis = dump(&mut r, &k);
        let from_ours = dump(&mut o, &k);
        let enc = text(&q(&mut r, &[b"OBJECT", b"ENCODING", &k]));
        // Compact encodings are Redis's own bytes; tables iterate in each server's order.
        let compact = matches!(
            enc.as_str(),
            "int" | "embstr" | "raw" | "listpack" | "intset"
        );
        // l:big's node boundaries differ: types::list estimates an entry's listpack overhead
        // exactly where quicklist.c 7.0.15 adds a flat SIZE_ESTIMATE_OVERHEAD (8), so Redis
        // closes a node a few bytes earlier (reported to the types owner). Contents match.
        if compact || (enc == "quicklist" && compress == "no" && k != b"l:big") {
            assert!(
                from_redis == from_ours,
                "DUMP of {:?} ({enc}) differs: {} vs {} bytes",
                String::from_utf8_lossy(&k),
                from_redis.len(),
                from_ours.len()
            );
            identical += 1;
        }
        let copy = [k.clone(), b":copy".to_vec()].concat();
        assert_eq!(
            text(&q(&mut o, &[b"RESTORE", &copy, b"0", &from_redis])),
            "OK"
        );
        assert_eq!(
            text(&q(&mut r, &[b"RESTORE", &copy, b"0", &from_ours])),
            "OK"
        );
        let a = describe(&mut r, &k);
        let strip = |s: String| s.replace("/ttl/", "/persistent/");
        assert_eq!(strip(describe(&mut o, &copy)), strip(a.clone()));
        assert_eq!(strip(describe(&mut r, &copy)), strip(a));
    }
    assert!(identical >= 15, "only {identical} byte-identical payloads");
}

#[test]
fn dump_restore_both_ways_compressed() {
    dump_restore_both_ways("yes", 24804, 24604);
}

#[test]
fn dump_restore_both_ways_uncompressed() {
    dump_restore_both_ways("no", 24806, 24606);
}

#[test]
fn restore_errors_match_redis() {
    let rdir = scratch("errors-redis");
    let odir = scratch("errors-ours");
    let redis = start_redis(24805, &["--dir", rdir.to_str().unwrap()]);
    let ours = start_binary(24605, &["--dir", odir.to_str().unwrap()]);
    let mut r = common::Raw::connect(redis.port);
    let mut o = common::Raw::connect(ours.port);
    for c in [&mut r, &mut o] {
        c.cmd(&["SET", "k", "v"]);
        c.cmd(&["SET", "n", "12345"]);
    }
    let good = {
        let reply = r.call(&[b"DUMP", b"k"]);
        // $len\r\npayload\r\n
        let start = reply.iter().position(|&b| b == b'\n').unwrap() + 1;
        reply[start..reply.len() - 2].to_vec()
    };
    let mut bad_crc = good.clone();
    let n = bad_crc.len();
    bad_crc[n - 1] ^= 0xFF;
    let mut bad_ver = good.clone();
    bad_ver[n - 10] = 11;
    // A valid footer over a body that is not a value.
    let garbage = {
        let mut p = vec![4u8, 0x05];
        p.extend_from_slice(&[0x0a, 0x00]);
        let crc = server::rdb::crc64::crc64(0, &p);
        p.extend_from_slice(&crc.to_le_bytes());
        p
    };
    let cases: Vec<Vec<&[u8]>> = vec![
        vec![b"RESTORE", b"k", b"0", &good],
        vec![b"RESTORE", b"k", b"0", &good, b"REPLACE"],
        vec![b"RESTORE", b"new", b"-1", &good],
        vec![b"RESTORE", b"new", b"abc", &good],
        vec![b"RESTORE", b"new", b"0", &bad_crc],
        vec![b"RESTORE", b"new", b"0", &bad_ver],
        vec![b"RESTORE", b"new", b"0", b"short"],
        vec![b"RESTORE", b"new", b"0", &garbage],
        vec![b"RESTORE", b"new", b"0", &good, b"BOGUS"],
        vec![b"RESTORE", b"new", b"0", &good, b"IDLETIME", b"-1"],
        vec![b"RESTORE", b"new", b"0", &good, b"FREQ", b"256"],
        vec![
            b"RESTORE",
            b"new",
            b"0",
            &good,
            b"IDLETIME",
            b"1",
            b"FREQ",
            b"1",
        ],
        vec![b"RESTORE", b"new", b"0", &good, b"IDLETIME"],
        vec![b"RESTORE", b"new", b"1", &good, b"ABSTTL"],
        vec![b"EXISTS", b"new"],
        vec![b"RESTORE", b"k", b"1", &good, b"ABSTTL", b"REPLACE"],
        vec![b"EXISTS", b"k"],
        vec![b"RESTORE", b"t", b"100000", &good, b"IDLETIME", b"50"],
        vec![b"OBJECT", b"IDLETIME", b"t"],
        vec![b"TTL", b"t"],
        vec![b"GET", b"t"],
        vec![b"DUMP", b"missing"],
        vec![b"RESTORE", b"x"],
    ];
    for case in cases {
        let want = r.call(&case);
        let got = o.call(&case);
        let shown: Vec<String> = case
            .iter()
            .take(5)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "{shown:?}"
        );
    }
}
