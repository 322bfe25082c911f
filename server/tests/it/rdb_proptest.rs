//! Property tests of the RDB code: random values of every type survive DUMP → RESTORE with
//! equal contents under random thresholds, and random bytes never panic the readers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use proptest::prelude::*;
use server::config::ConfigStore;
use server::keyspace::{Entry, Obj, StrEncoding, Value};
use server::node::Node;
use server::rdb::{dump_payload, load_into, restore_payload, LoadOpts, RdbValue, WriteOpts};
use server::types::list::End;
use server::types::zset::AddFlags;
use server::types::{Hash, List, Set, Thresholds, Zset};

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..80),
        any::<i64>().prop_map(|n| n.to_string().into_bytes()),
        (0u32..1000).prop_map(|n| n.to_string().into_bytes()),
        (0usize..3, 20usize..200).prop_map(|(c, n)| vec![b"abc"[c]; n]),
    ]
}

fn thresholds() -> impl Strategy<Value = Thresholds> {
    (
        1usize..200,
        1usize..100,
        1usize..600,
        1usize..200,
        1usize..100,
        prop_oneof![Just(-2i64), Just(-1), 1i64..20],
    )
        .prop_map(|(he, hv, si, ze, zv, l)| Thresholds {
            hash_max_listpack_entries: he,
            hash_max_listpack_value: hv,
            set_max_intset_entries: si,
            zset_max_listpack_entries: ze,
            zset_max_listpack_value: zv,
            list_max_listpack_size: l,
        })
}

#[derive(Debug, Clone)]
enum Model {
    Str(Vec<u8>),
    List(Vec<Vec<u8>>),
    Hash(BTreeMap<Vec<u8>, Vec<u8>>),
    Set(BTreeSet<Vec<u8>>),
    Zset(BTreeMap<Vec<u8>, f64>),
}

fn model() -> impl Strategy<Value = Model> {
    let score = prop_oneof![
        any::<f64>().prop_filter("no NaN", |f| !f.is_nan()),
        (-1000i32..1000).prop_map(f64::from),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
    ];
    prop_oneof![
        bytes().prop_map(Model::Str),
        proptest::collection::vec(bytes(), 1..300).prop_map(Model::List),
        proptest::collection::btree_map(bytes(), bytes(), 1..200).prop_map(Model::Hash),
        proptest::collection::btree_set(bytes(), 1..300).prop_map(Model::Set),
        proptest::collection::btree_map(bytes(), score, 1..200).prop_map(Model::Zset),
    ]
}

fn build(m: &Model, th: &Thresholds) -> Entry {
    match m {
        Model::Str(s) => Entry::new_str(b"k", s, StrEncoding::Auto, 0),
        Model::List(items) => {
            let mut l = List::new(th.list_max_listpack_size);
            for i in items {
                l.push(End::Right, i);
            }
            Entry::new_obj(b"k", Obj::List(l), 0)
        }
        Model::Hash(map) => {
            let mut h = Hash::new();
            for (f, v) in map {
                h.set(f, v, th);
            }
            Entry::new_obj(b"k", Obj::Hash(h), 0)
        }
        Model::Set(set) => {
            let mut s = Set::new_for(set.iter().next().unwrap());
            for m in set {
                s.add(m, th);
            }
            Entry::new_obj(b"k", Obj::Set(s), 0)
        }
        Model::Zset(map) => {
            let mut z = Zset::new();
            for (m, s) in map {
                z.add(m, *s, AddFlags::default(), th).unwrap();
            }
            Entry::new_obj(b"k", Obj::Zset(z), 0)
        }
    }
}

fn read_back(v: Value<'_>) -> Model {
    match v {
        Value::Str(s) => Model::Str(s.to_vec()),
        Value::Obj(Obj::List(l)) => Model::List(l.iter().map(|e| e.to_vec()).collect()),
        Value::Obj(Obj::Hash(h)) => {
            Model::Hash(h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect())
        }
        Value::Obj(Obj::Set(s)) => Model::Set(s.iter().map(|m| m.to_vec()).collect()),
        Value::Obj(Obj::Zset(z)) => {
            Model::Zset(z.walk(0, false).map(|(m, s)| (m.to_vec(), s)).collect())
        }
    }
}

fn same(a: &Model, b: &Model) -> bool {
    match (a, b) {
        (Model::Zset(x), Model::Zset(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((m1, s1), (m2, s2))| m1 == m2 && s1.to_bits() == s2.to_bits())
        }
        _ => format!("{a:?}") == format!("{b:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn values_round_trip(m in model(), th in thresholds(), compress in any::<bool>()) {
        let e = build(&m, &th);
        let before = read_back(e.value());
        let p = dump_payload(e.value(), WriteOpts { compress });
        let v = restore_payload(&p, &th).unwrap();
        let e2 = v.into_entry(b"k", 0);
        prop_assert_eq!(e.encoding(), e2.encoding());
        let after = read_back(e2.value());
        prop_assert!(same(&before, &after), "{:?} != {:?}", before, after);
        if let RdbValue::Str(_) = restore_payload(&p, &th).unwrap() {
            prop_assert!(matches!(m, Model::Str(_)));
        }
    }

    #[test]
    fn random_payloads_never_panic(body in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut p = body.clone();
        p.extend_from_slice(&server::rdb::RDB_VERSION.to_le_bytes());
        let crc = server::rdb::crc64::crc64(0, &p);
        p.extend_from_slice(&crc.to_le_bytes());
        let _ = restore_payload(&p, &Thresholds::default());
        let _ = restore_payload(&body, &Thresholds::default());
    }

    #[test]
    fn random_files_never_panic(body in proptest::collection::vec(any::<u8>(), 0..400)) {
        let node = Arc::new(Node::new(Arc::new(ConfigStore::from_conf_text("").unwrap())));
        let file = [b"REDIS0010".as_slice(), &body].concat();
        let _ = load_into(&node, &file, LoadOpts { skip_expired: false, check_crc: false });
        let _ = load_into(&node, &body, LoadOpts::default());
    }

    /// Corrupting any one byte of a real payload is either refused or decodes to something
    /// (never a panic), and with the checksum intact the corruption is always caught.
    #[test]
    fn flipped_bytes_are_caught_by_the_checksum(m in model(), at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let th = Thresholds::default();
        let e = build(&m, &th);
        let mut p = dump_payload(e.value(), WriteOpts::default());
        let i = at.index(p.len());
        p[i] ^= 1 << bit;
        prop_assert!(restore_payload(&p, &th).is_err());
    }
}
