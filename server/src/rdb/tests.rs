#![allow(clippy::unwrap_used, clippy::panic)]

use super::*;
use crate::keyspace::{Obj, StrRef, Value};
use crate::types::list::End;
use crate::types::zset::AddFlags;
use crate::types::{Hash, List, Set, Zset};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn th() -> Thresholds {
    Thresholds::default()
}

fn dump(v: Value<'_>) -> Vec<u8> {
    dump_payload(v, WriteOpts::default())
}

// DUMP replies of redis-server 7.0.15 (default configuration), hex.
const S_INT: &str = "00c139300a009d94ea2793fc08b9"; // SET s:int 12345
const S_NEG: &str = "00c0f90a005e26d130d7a242ab"; // SET s:neg -7
const S_BIG: &str = "0013393232333337323033363835343737353830370a003a657e9481e85f22"; // i64::MAX
const S_EMB: &str = "000568656c6c6f0a006372df766534200a"; // SET s:emb hello
const S_LZF: &str = "00c30b40780361626361e069020162630a00c494a1702ae23e06"; // "abc" x 40
const L_SMALL: &str =
    "1201021b1b00000005008161020101ded4028568656c6c6f06f270110104ff0a00f7a597ec29cc3808"; // RPUSH a 1 -300 hello 70000
const H_LP: &str = "10151500000004008266310382763103826632030201ff0a005c5ea813feec1ff5"; // HSET f1 v1 f2 2
const ST_INT: &str = "0b180400000004000000010000000200000003000000701101000a00ef2e6521e385a22a"; // SADD 1 2 3 70000
const Z_LP: &str = "111a1a0000000600816302dffd02816102010181620283322e3504ff0a00a68a1ab1a9f2dcc2"; // ZADD 1 a 2.5 b -3 c

#[test]
fn strings_dump_byte_identical() {
    assert_eq!(dump(Value::Str(StrRef::Int(12345))), hex(S_INT));
    assert_eq!(dump(Value::Str(StrRef::Int(-7))), hex(S_NEG));
    assert_eq!(dump(Value::Str(StrRef::Int(i64::MAX))), hex(S_BIG));
    assert_eq!(dump(Value::Str(StrRef::Bytes(b"hello"))), hex(S_EMB));
    let abc = "abc".repeat(40);
    assert_eq!(dump(Value::Str(StrRef::Bytes(abc.as_bytes()))), hex(S_LZF));
}

fn small_list() -> List {
    let mut l = List::new(-2);
    for v in ["a", "1", "-300", "hello", "70000"] {
        l.push(End::Right, v.as_bytes());
    }
    l
}

#[test]
fn compact_collections_dump_byte_identical() {
    let l = Obj::List(small_list());
    assert_eq!(dump(Value::Obj(&l)), hex(L_SMALL));
    let mut h = Hash::new();
    h.set(b"f1", b"v1", &th());
    h.set(b"f2", b"2", &th());
    assert_eq!(dump(Value::Obj(&Obj::Hash(h))), hex(H_LP));
    let s = Set::from_members(
        [1i64, 2, 3, 70000].into_iter().map(crate::types::Elem::Int),
        &th(),
    );
    assert_eq!(dump(Value::Obj(&Obj::Set(s))), hex(ST_INT));
    let mut z = Zset::new();
    for (s, m) in [(1.0, "a"), (2.5, "b"), (-3.0, "c")] {
        z.add(m.as_bytes(), s, AddFlags::default(), &th()).unwrap();
    }
    assert_eq!(dump(Value::Obj(&Obj::Zset(z))), hex(Z_LP));
}

fn restore(p: &[u8]) -> RdbValue {
    restore_payload(p, &th()).unwrap()
}

#[test]
fn redis_payloads_restore_with_equal_contents() {
    for (p, want) in [
        (S_INT, "12345"),
        (S_NEG, "-7"),
        (S_BIG, "9223372036854775807"),
        (S_EMB, "hello"),
    ] {
        match restore(&hex(p)) {
            RdbValue::Str(s) => assert_eq!(s, want.as_bytes()),
            other => panic!("{other:?}"),
        }
    }
    let RdbValue::Str(s) = restore(&hex(S_LZF)) else {
        panic!()
    };
    assert_eq!(s, "abc".repeat(40).as_bytes());
    let RdbValue::Obj(Obj::List(l)) = restore(&hex(L_SMALL)) else {
        panic!()
    };
    let items: Vec<Vec<u8>> = l.iter().map(|e| e.to_vec()).collect();
    assert_eq!(items, vec![&b"a"[..], b"1", b"-300", b"hello", b"70000"]);
    let RdbValue::Obj(Obj::Hash(h)) = restore(&hex(H_LP)) else {
        panic!()
    };
    assert_eq!(h.get(b"f1").map(|e| e.to_vec()), Some(b"v1".to_vec()));
    assert_eq!(h.get(b"f2").map(|e| e.to_vec()), Some(b"2".to_vec()));
    assert_eq!(h.encoding(), "listpack");
    let RdbValue::Obj(Obj::Set(s)) = restore(&hex(ST_INT)) else {
        panic!()
    };
    assert_eq!(s.encoding(), "intset");
    assert!(s.contains(b"70000") && s.contains(b"1") && s.len() == 4);
    let RdbValue::Obj(Obj::Zset(z)) = restore(&hex(Z_LP)) else {
        panic!()
    };
    assert_eq!(z.score(b"b"), Some(2.5));
    assert_eq!(z.score(b"c"), Some(-3.0));
    assert_eq!(z.encoding(), "listpack");
}

#[test]
fn payload_footer_errors() {
    let mut p = hex(S_EMB);
    let n = p.len();
    p[n - 1] ^= 1;
    assert!(matches!(restore_payload(&p, &th()), Err(RdbError::Payload)));
    let mut p = hex(S_EMB);
    p[n - 10] = 11; // version 11
    assert!(matches!(restore_payload(&p, &th()), Err(RdbError::Payload)));
    assert!(matches!(
        restore_payload(b"short", &th()),
        Err(RdbError::Payload)
    ));
}

/// Recomputes the footer of a payload whose body was edited.
fn refoot(body: &[u8]) -> Vec<u8> {
    let mut p = body.to_vec();
    p.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64::crc64(0, &p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

#[test]
fn corrupt_bodies_with_valid_footers_are_refused() {
    // Hash listpack with a duplicate field.
    let mut lp = crate::types::Listpack::new();
    for v in ["f", "1", "f", "2"] {
        lp.push_back(v.as_bytes());
    }
    let mut body = vec![rtype::HASH_LISTPACK];
    encode::write_string(&mut body, &lp.redis_bytes(), WriteOpts { compress: false });
    assert!(restore_payload(&refoot(&body), &th()).is_err());
    // Intset not ascending.
    let mut body = vec![rtype::SET_INTSET];
    encode::write_string(
        &mut body,
        &[2, 0, 0, 0, 2, 0, 0, 0, 5, 0, 1, 0],
        WriteOpts { compress: false },
    );
    assert!(restore_payload(&refoot(&body), &th()).is_err());
    // A set claiming a billion members.
    let mut body = vec![rtype::SET];
    encode::write_len(&mut body, 1 << 30);
    assert!(restore_payload(&refoot(&body), &th()).is_err());
    // An LZF string claiming a huge length.
    let body = [
        rtype::STRING,
        0xC3,
        0x02,
        0x81,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        0,
        0x00,
        b'a',
    ];
    assert!(restore_payload(&refoot(&body), &th()).is_err());
    // Empty set table.
    let body = [rtype::SET, 0];
    assert!(restore_payload(&refoot(&body), &th()).is_err());
    // Stream and module types.
    for t in [rtype::STREAM_LISTPACKS_2, rtype::MODULE_2, 8, 200] {
        assert!(restore_payload(&refoot(&[t, 0]), &th()).is_err());
    }
}

#[test]
fn thresholds_convert_on_load() {
    // A listpack hash of 3 fields restored where hash-max-listpack-entries is 2.
    let p = {
        let mut h = Hash::new();
        for f in ["a", "b", "c"] {
            h.set(f.as_bytes(), b"v", &th());
        }
        dump(Value::Obj(&Obj::Hash(h)))
    };
    let small = Thresholds {
        hash_max_listpack_entries: 2,
        ..th()
    };
    let RdbValue::Obj(Obj::Hash(h)) = restore_payload(&p, &small).unwrap() else {
        panic!()
    };
    assert_eq!(h.encoding(), "hashtable");
    assert_eq!(h.len(), 3);
    // A 600-member intset becomes a table under the default 512.
    let s = Set::from_members(
        (0..600i64).map(crate::types::Elem::Int),
        &Thresholds {
            set_max_intset_entries: 1000,
            ..th()
        },
    );
    assert_eq!(s.encoding(), "intset");
    let RdbValue::Obj(Obj::Set(s)) = restore(&dump(Value::Obj(&Obj::Set(s)))) else {
        panic!()
    };
    assert_eq!(s.encoding(), "hashtable");
    assert_eq!(s.len(), 600);
}

#[test]
fn big_values_round_trip() {
    let mut h = Hash::new();
    let mut z = Zset::new();
    let mut s = Set::new_for(b"x");
    let mut l = List::new(-2);
    for i in 0..1000 {
        let k = format!("field-{i}");
        h.set(k.as_bytes(), format!("value-{}", i * 7).as_bytes(), &th());
        z.add(k.as_bytes(), f64::from(i) / 3.0, AddFlags::default(), &th())
            .unwrap();
        s.add(k.as_bytes(), &th());
        l.push(End::Left, k.as_bytes());
    }
    assert_eq!(h.encoding(), "hashtable");
    assert_eq!(z.encoding(), "skiplist");
    let RdbValue::Obj(Obj::Hash(h2)) = restore(&dump(Value::Obj(&Obj::Hash(h.clone())))) else {
        panic!()
    };
    assert_eq!(h2.len(), 1000);
    for (f, v) in h.iter() {
        assert_eq!(h2.get(&f.to_vec()).map(|e| e.to_vec()), Some(v.to_vec()));
    }
    let RdbValue::Obj(Obj::Zset(z2)) = restore(&dump(Value::Obj(&Obj::Zset(z.clone())))) else {
        panic!()
    };
    assert_eq!(z2.encoding(), "skiplist");
    let a: Vec<(Vec<u8>, f64)> = z.walk(0, false).map(|(m, s)| (m.to_vec(), s)).collect();
    let b: Vec<(Vec<u8>, f64)> = z2.walk(0, false).map(|(m, s)| (m.to_vec(), s)).collect();
    assert_eq!(a, b);
    let RdbValue::Obj(Obj::Set(s2)) = restore(&dump(Value::Obj(&Obj::Set(s.clone())))) else {
        panic!()
    };
    assert_eq!(s2.len(), 1000);
    assert!(s.iter().all(|m| s2.contains(&m.to_vec())));
    let lp = dump(Value::Obj(&Obj::List(l.clone())));
    let RdbValue::Obj(Obj::List(l2)) = restore(&lp) else {
        panic!()
    };
    assert!(l.iter().eq(l2.iter()));
    assert_eq!(l.nodes().count(), l2.nodes().count());
}
