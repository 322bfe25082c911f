//! Each encoding against a plain model under random operation sequences, with thresholds
//! small enough that conversions happen inside the sequences.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use proptest::prelude::*;

use super::list::End;
use super::zset::{AddFlags, ScoreRange};
use super::*;

fn small() -> Thresholds {
    Thresholds {
        hash_max_listpack_entries: 6,
        hash_max_listpack_value: 8,
        set_max_intset_entries: 8,
        zset_max_listpack_entries: 6,
        zset_max_listpack_value: 8,
        list_max_listpack_size: 3,
    }
}

/// Short values, many of them integers (some non-canonical), some long.
fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (-300i64..300).prop_map(|n| n.to_string().into_bytes()),
        Just(b"-0".to_vec()),
        Just(b"007".to_vec()),
        Just(i64::MIN.to_string().into_bytes()),
        "[a-e]{0,3}".prop_map(String::into_bytes),
        "[x-z]{9,12}".prop_map(String::into_bytes),
    ]
}

#[derive(Debug, Clone)]
enum LpOp {
    PushBack(Vec<u8>),
    PushFront(Vec<u8>),
    Insert(usize, Vec<u8>),
    Replace(usize, Vec<u8>),
    Delete(usize, usize),
}

fn lp_op() -> impl Strategy<Value = LpOp> {
    let big = prop_oneof![value(), (0usize..5000).prop_map(|n| vec![b'q'; n])];
    prop_oneof![
        big.clone().prop_map(LpOp::PushBack),
        value().prop_map(LpOp::PushFront),
        (any::<usize>(), big).prop_map(|(i, v)| LpOp::Insert(i, v)),
        (any::<usize>(), value()).prop_map(|(i, v)| LpOp::Replace(i, v)),
        (any::<usize>(), 1usize..4).prop_map(|(i, n)| LpOp::Delete(i, n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn listpack_matches_vec(ops in proptest::collection::vec(lp_op(), 0..60)) {
        let mut lp = Listpack::new();
        let mut model: Vec<Vec<u8>> = Vec::new();
        for op in ops {
            match op {
                LpOp::PushBack(v) => { lp.push_back(&v); model.push(v); }
                LpOp::PushFront(v) => { lp.push_front(&v); model.insert(0, v); }
                LpOp::Insert(i, v) => {
                    let i = i % (model.len() + 1);
                    let off = lp.seek(i as i64).unwrap_or(lp.end());
                    lp.insert_before(off, &v);
                    model.insert(i, v);
                }
                LpOp::Replace(i, v) if !model.is_empty() => {
                    let i = i % model.len();
                    lp.replace(lp.seek(i as i64).unwrap(), &v);
                    model[i] = v;
                }
                LpOp::Delete(i, n) if !model.is_empty() => {
                    let i = i % model.len();
                    lp.delete_n(lp.seek(i as i64).unwrap(), n);
                    model.drain(i..(i + n).min(model.len()));
                }
                _ => {}
            }
            prop_assert_eq!(lp.len(), model.len());
        }
        let fwd: Vec<Vec<u8>> = lp.iter().map(|e| e.to_vec()).collect();
        prop_assert_eq!(&fwd, &model);
        let mut back = Vec::new();
        let mut p = lp.last();
        while let Some(o) = p { back.push(lp.get(o).to_vec()); p = lp.prev(o); }
        back.reverse();
        prop_assert_eq!(&back, &model);
        prop_assert!(Listpack::from_bytes(&lp.redis_bytes()).is_some());
    }

    #[test]
    fn from_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        if let Some(lp) = Listpack::from_bytes(&bytes) {
            // Whatever it accepted can be walked both ways.
            let n = lp.iter().count();
            prop_assert_eq!(n, lp.len());
            let mut p = lp.last();
            let mut m = 0;
            while let Some(o) = p { m += 1; p = lp.prev(o); }
            prop_assert_eq!(m, n);
        }
    }

    #[test]
    fn hash_matches_model(ops in proptest::collection::vec((0u8..4, value(), value()), 0..80)) {
        let th = small();
        let mut h = Hash::new();
        // Insertion-ordered model: the listpack must keep this order.
        let mut model: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        for (op, f, v) in ops {
            match op {
                0 | 1 => {
                    let new = h.set(&f, &v, &th);
                    match model.iter_mut().find(|(k, _)| *k == f) {
                        Some(e) => { prop_assert!(!new); e.1 = v; }
                        None => { prop_assert!(new); model.push((f, v)); }
                    }
                }
                2 => {
                    let had = model.iter().position(|(k, _)| *k == f);
                    prop_assert_eq!(h.remove(&f), had.is_some());
                    if let Some(i) = had { model.remove(i); }
                }
                _ => {
                    let r = h.incr_by(&f, 3, &th);
                    let cur = model.iter().find(|(k, _)| *k == f).map(|(_, v)| v.clone());
                    match cur.as_deref().map(resp_proto::string2ll) {
                        Some(None) => prop_assert_eq!(r, Err(TypesError::HashValueNotInteger)),
                        Some(Some(n)) => {
                            let exp = n.checked_add(3);
                            prop_assert_eq!(r.ok(), exp);
                            if let Some(e) = exp {
                                if let Some(slot) = model.iter_mut().find(|(k, _)| *k == f) { slot.1 = e.to_string().into_bytes(); }
                            }
                        }
                        None => { prop_assert_eq!(r, Ok(3)); model.push((f, b"3".to_vec())); }
                    }
                }
            }
            prop_assert_eq!(h.len(), model.len());
        }
        for (f, v) in &model {
            prop_assert_eq!(h.get(f).map(|e| e.to_vec()), Some(v.clone()));
        }
        let got: Vec<(Vec<u8>, Vec<u8>)> = h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
        if h.encoding() == "listpack" {
            prop_assert_eq!(got, model);
        } else {
            let a: BTreeMap<_, _> = got.into_iter().collect();
            let b: BTreeMap<_, _> = model.into_iter().collect();
            prop_assert_eq!(a, b);
        }
    }

    #[test]
    fn set_matches_model(ops in proptest::collection::vec((0u8..3, value()), 1..80)) {
        let th = small();
        let mut st = Set::new_for(&ops[0].1);
        let mut model: BTreeSet<Vec<u8>> = BTreeSet::new();
        let mut rng = fastrand::Rng::with_seed(1);
        for (op, m) in ops {
            match op {
                0 | 1 => prop_assert_eq!(st.add(&m, &th), model.insert(m)),
                _ => prop_assert_eq!(st.remove(&m), model.remove(&m)),
            }
            prop_assert_eq!(st.len(), model.len());
            if model.iter().any(|m| resp_proto::string2ll(m).is_none()) || model.len() > th.set_max_intset_entries {
                prop_assert_eq!(st.encoding(), "hashtable");
            }
        }
        for m in &model { prop_assert!(st.contains(m)); }
        let got: Vec<Vec<u8>> = st.iter().map(|e| e.to_vec()).collect();
        if st.encoding() == "intset" {
            let mut ints: Vec<i64> = got.iter().map(|m| resp_proto::string2ll(m).unwrap()).collect();
            let sorted = { let mut s = ints.clone(); s.sort(); s };
            prop_assert_eq!(&ints, &sorted);
            ints.dedup();
            prop_assert_eq!(ints.len(), model.len());
        }
        prop_assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), model.clone());
        let d = st.random_distinct(3, &mut rng);
        prop_assert_eq!(d.len(), 3.min(model.len()));
        if let Some(p) = st.pop(&mut rng) {
            prop_assert!(model.contains(&p) && !st.contains(&p));
        }
    }

    #[test]
    fn zset_matches_model(ops in proptest::collection::vec((0u8..5, value(), -4i32..4), 0..80)) {
        let th = small();
        let mut z = Zset::new();
        let mut model: BTreeMap<Vec<u8>, f64> = BTreeMap::new();
        for (op, m, sc) in ops {
            let sc = f64::from(sc) / 2.0;
            match op {
                0 | 1 => {
                    z.add(&m, sc, AddFlags::default(), &th).unwrap();
                    model.insert(m, sc);
                }
                2 => {
                    let incr = AddFlags { incr: true, ..Default::default() };
                    z.add(&m, sc, incr, &th).unwrap();
                    *model.entry(m).or_insert(0.0) += sc;
                }
                3 => prop_assert_eq!(z.remove(&m), model.remove(&m).is_some()),
                _ => {
                    let r = ScoreRange::parse(b"(-1", b"1").unwrap();
                    let n = z.remove_range_by_score(&r);
                    let before = model.len();
                    model.retain(|_, s| !(*s > -1.0 && *s <= 1.0));
                    prop_assert_eq!(n, before - model.len());
                }
            }
            prop_assert_eq!(z.len(), model.len());
        }
        let mut sorted: Vec<(Vec<u8>, f64)> = model.iter().map(|(m, s)| (m.clone(), *s)).collect();
        sorted.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap().then_with(|| a.0.cmp(&b.0)));
        let got: Vec<(Vec<u8>, f64)> = z.range_by_rank(0, -1, false).into_iter().map(|(m, s)| (m.to_vec(), s)).collect();
        prop_assert_eq!(&got, &sorted);
        let rev: Vec<Vec<u8>> = z.range_by_rank(0, -1, true).into_iter().map(|(m, _)| m.to_vec()).collect();
        prop_assert_eq!(rev, sorted.iter().rev().map(|(m, _)| m.clone()).collect::<Vec<_>>());
        for (i, (m, s)) in sorted.iter().enumerate() {
            prop_assert_eq!(z.rank(m, false), Some(i));
            prop_assert_eq!(z.score(m), Some(*s));
        }
        let r = ScoreRange::parse(b"-1", b"(2").unwrap();
        let exp: Vec<Vec<u8>> = sorted.iter().filter(|(_, s)| *s >= -1.0 && *s < 2.0).map(|(m, _)| m.clone()).collect();
        let fwd: Vec<Vec<u8>> = z.range_by_score(&r, false, 0, -1).into_iter().map(|(m, _)| m.to_vec()).collect();
        prop_assert_eq!(&fwd, &exp);
        prop_assert_eq!(z.count_by_score(&r), exp.len());
        let back: Vec<Vec<u8>> = z.range_by_score(&r, true, 0, -1).into_iter().map(|(m, _)| m.to_vec()).collect();
        prop_assert_eq!(back, exp.iter().rev().cloned().collect::<Vec<_>>());
    }

    #[test]
    fn list_matches_vecdeque(
        fill in prop_oneof![Just(-1i64), Just(-2), Just(1), Just(3)],
        ops in proptest::collection::vec((0u8..9, value(), -8i64..8, -8i64..8), 0..120),
    ) {
        let mut l = List::new(fill);
        let mut model: VecDeque<Vec<u8>> = VecDeque::new();
        for (op, v, a, b) in ops {
            match op {
                0 => { l.push(End::Left, &v); model.push_front(v); }
                1 => { l.push(End::Right, &v); model.push_back(v); }
                2 => prop_assert_eq!(l.pop(End::Left), model.pop_front()),
                3 => prop_assert_eq!(l.pop(End::Right), model.pop_back()),
                4 => {
                    let idx = if a < 0 { a + model.len() as i64 } else { a };
                    let r = l.set(a, &v);
                    if idx >= 0 && (idx as usize) < model.len() {
                        prop_assert!(r.is_ok());
                        model[idx as usize] = v;
                    } else {
                        prop_assert!(r.is_err());
                    }
                }
                5 => {
                    let pivot = model.get(b.unsigned_abs() as usize % (model.len() + 1)).cloned().unwrap_or_default();
                    let pos = model.iter().position(|x| *x == pivot);
                    let r = l.insert(&pivot, &v, a > 0);
                    match pos {
                        Some(p) => { model.insert(if a > 0 { p + 1 } else { p }, v); prop_assert_eq!(r, Some(model.len())); }
                        None => prop_assert_eq!(r, None),
                    }
                }
                6 => {
                    let n = l.remove(a, &v);
                    let mut removed = 0;
                    let limit = if a == 0 { usize::MAX } else { a.unsigned_abs() as usize };
                    if a >= 0 {
                        let mut i = 0;
                        while i < model.len() { if removed < limit && model[i] == v { model.remove(i); removed += 1; } else { i += 1; } }
                    } else {
                        let mut i = model.len();
                        while i > 0 { i -= 1; if removed < limit && model[i] == v { model.remove(i); removed += 1; } }
                    }
                    prop_assert_eq!(n, removed);
                }
                7 => {
                    l.trim(a, b);
                    match list::normalize_range(a, b, model.len()) {
                        Some((x, y)) => { model = model.iter().skip(x).take(y - x + 1).cloned().collect(); }
                        None => model.clear(),
                    }
                }
                _ => {
                    let (n, items) = l.range(a, b);
                    let got = items.map(|e| e.to_vec()).collect::<Vec<_>>();
                    prop_assert_eq!(n, got.len());
                    let exp = match list::normalize_range(a, b, model.len()) {
                        Some((x, y)) => model.iter().skip(x).take(y - x + 1).cloned().collect(),
                        None => Vec::new(),
                    };
                    prop_assert_eq!(got, exp);
                    prop_assert_eq!(l.get(a).map(|e| e.to_vec()), {
                        let idx = if a < 0 { a + model.len() as i64 } else { a };
                        usize::try_from(idx).ok().and_then(|i| model.get(i).cloned())
                    });
                }
            }
            prop_assert_eq!(l.len(), model.len());
        }
        prop_assert_eq!(l.iter().map(|e| e.to_vec()).collect::<Vec<_>>(), model.iter().cloned().collect::<Vec<_>>());
        prop_assert_eq!(l.iter().rev().map(|e| e.to_vec()).collect::<Vec<_>>(), model.iter().rev().cloned().collect::<Vec<_>>());
        if fill > 0 {
            prop_assert!(l.nodes().all(|n| n.len() as i64 <= fill));
        }
        prop_assert!(l.nodes().all(|n| !n.is_empty()));
    }
}

/// Runs of adds and removes on a large table, so that its index grows and shrinks through
/// incremental resizes (from 16 entries in tests) with lookups, removals (which move the last
/// item into the hole) and re-adds in between.
#[derive(Debug, Clone)]
enum TableOp {
    Add(u16),
    Remove(u16),
    AddRun(u16, u16),
    RemoveRun(u16, u16),
    RemoveAt(usize),
}

fn table_op() -> impl Strategy<Value = TableOp> {
    prop_oneof![
        4 => (0u16..600).prop_map(TableOp::Add),
        3 => (0u16..600).prop_map(TableOp::Remove),
        1 => (0u16..600, 1u16..300).prop_map(|(a, n)| TableOp::AddRun(a, n)),
        1 => (0u16..600, 1u16..300).prop_map(|(a, n)| TableOp::RemoveRun(a, n)),
        2 => any::<usize>().prop_map(TableOp::RemoveAt),
    ]
}

fn table_key(k: u16) -> Vec<u8> {
    format!("k{k}").into_bytes()
}

/// Every model key is found at a position holding it, absent keys are not found, and the
/// index holds each position exactly once.
fn check_table(
    t: &table::Dense<set::WholeKey>,
    model: &std::collections::HashSet<Vec<u8>>,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(t.len(), model.len());
    for k in model {
        let i = t.find(k);
        prop_assert!(i.is_some(), "{:?} not found", k);
        prop_assert_eq!(i.and_then(|i| t.get(i)), Some(&k[..]));
    }
    for k in 0u16..20 {
        prop_assert_eq!(t.find(format!("absent{k}").as_bytes()), None);
    }
    let mut pos: Vec<u32> = t.index().positions().collect();
    pos.sort_unstable();
    prop_assert_eq!(pos, (0..t.len() as u32).collect::<Vec<_>>());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn incrementally_resized_table_matches_hashset(
        ops in proptest::collection::vec(table_op(), 1..120),
    ) {
        let mut t: table::Dense<set::WholeKey> = table::Dense::with_capacity(0);
        let mut model = std::collections::HashSet::new();
        let mut resizes = 0;
        let mut most = 0;
        for op in ops {
            let (adds, removes): (Vec<u16>, Vec<u16>) = match op {
                TableOp::Add(k) => (vec![k], vec![]),
                TableOp::Remove(k) => (vec![], vec![k]),
                TableOp::AddRun(a, n) => ((a..a.saturating_add(n)).collect(), vec![]),
                TableOp::RemoveRun(a, n) => (vec![], (a..a.saturating_add(n)).collect()),
                TableOp::RemoveAt(i) => {
                    if t.len() > 0 {
                        let i = i % t.len();
                        let key = t.get(i).unwrap().to_vec();
                        prop_assert_eq!(t.remove_at(i).map(Vec::from), Some(key.clone()));
                        prop_assert!(model.remove(&key));
                        prop_assert_eq!(t.find(&key), None);
                    }
                    (vec![], vec![])
                }
            };
            for k in adds {
                let key = table_key(k);
                match t.find(&key) {
                    Some(_) => prop_assert!(model.contains(&key)),
                    None => {
                        let i = t.insert_new(key[..].into());
                        prop_assert_eq!(t.find(&key), Some(i));
                        prop_assert!(model.insert(key));
                    }
                }
                resizes += usize::from(t.index().resizing());
            }
            for k in removes {
                let key = table_key(k);
                match t.find(&key) {
                    Some(i) => {
                        prop_assert!(t.remove_at(i).is_some());
                        prop_assert!(model.remove(&key));
                        prop_assert_eq!(t.find(&key), None);
                    }
                    None => prop_assert!(!model.contains(&key)),
                }
                resizes += usize::from(t.index().resizing());
            }
            most = most.max(t.len());
            check_table(&t, &model)?;
        }
        // The index starts a resize once it holds 28 entries (hashbrown's capacity for 32
        // buckets): past that, the sequence went through one.
        prop_assert!(most <= 28 || resizes > 0, "no resize with {} entries", most);
    }

    #[test]
    fn skiplist_with_incremental_index_matches_model(
        ops in proptest::collection::vec((0u8..5, 0u16..500, -20i32..20, 1usize..200), 1..150),
    ) {
        let mut sl = zset::SkipList::new();
        let mut model: BTreeMap<Vec<u8>, f64> = BTreeMap::new();
        let sorted = |m: &BTreeMap<Vec<u8>, f64>| {
            let mut v: Vec<(Vec<u8>, f64)> = m.iter().map(|(k, s)| (k.clone(), *s)).collect();
            v.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
            v
        };
        for (op, k, sc, n) in ops {
            let sc = f64::from(sc);
            match op {
                0 | 1 => {
                    // A run of new members (or score updates of present ones).
                    for j in k..k.saturating_add(n as u16) {
                        let m = table_key(j);
                        match sl.score(&m) {
                            Some(_) => sl.update_score(&m, sc),
                            None => sl.insert(&m, sc),
                        }
                        model.insert(m, sc);
                    }
                }
                2 => prop_assert_eq!(sl.remove(&table_key(k)), model.remove(&table_key(k))),
                3 => {
                    let gone = sl.remove_ranks(0, n);
                    let want: Vec<(Vec<u8>, f64)> = sorted(&model).into_iter().take(n).collect();
                    for (m, _) in &want { model.remove(m); }
                    prop_assert_eq!(gone, want);
                }
                _ => {
                    for j in k..k.saturating_add(n as u16) {
                        prop_assert_eq!(sl.remove(&table_key(j)), model.remove(&table_key(j)));
                    }
                }
            }
            prop_assert_eq!(sl.len(), model.len());
            for (m, s) in &model {
                prop_assert_eq!(sl.score(m), Some(*s));
            }
            for j in 0u16..10 {
                prop_assert_eq!(sl.score(format!("absent{j}").as_bytes()), None);
            }
        }
        let want = sorted(&model);
        let got: Vec<(Vec<u8>, f64)> = sl.walk(0, false).map(|(m, s)| (m.to_vec(), s)).collect();
        prop_assert_eq!(&got, &want);
        for (i, (m, _)) in want.iter().enumerate() {
            prop_assert_eq!(sl.rank(m), Some(i));
        }
        let mut seen = Vec::new();
        let mut cursor = 0;
        loop {
            cursor = sl.scan(cursor, 10, |m, s| seen.push((m.to_vec(), s)));
            if cursor == 0 { break; }
        }
        seen.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        prop_assert_eq!(seen, want);
    }
}
