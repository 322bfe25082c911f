//! Behaviour of the value types, with expectations taken from redis-server 7.0.15.
#![allow(clippy::unwrap_used)]

use super::list::End;
use super::zset::{AddFlags, AddOutcome, Aggregate, LexRange, ScoreRange, ZInput};
use super::*;

fn th() -> Thresholds {
    Thresholds::default()
}

fn s(e: Elem<'_>) -> String {
    String::from_utf8(e.to_vec()).unwrap()
}

fn rng() -> fastrand::Rng {
    fastrand::Rng::with_seed(7)
}

// ---------------------------------------------------------------- hashes

#[test]
fn hash_stays_listpack_up_to_128_fields_then_hashtable() {
    let mut h = Hash::new();
    for i in 0..128 {
        assert!(h.set(format!("f{i}").as_bytes(), b"v", &th()));
    }
    assert_eq!(h.encoding(), "listpack");
    h.set(b"f128", b"v", &th());
    assert_eq!(h.encoding(), "hashtable");
    assert_eq!(h.len(), 129);
    // Never back.
    for i in 0..120 {
        h.remove(format!("f{i}").as_bytes());
    }
    assert_eq!(h.encoding(), "hashtable");
    assert_eq!(h.get(b"f128").map(s).as_deref(), Some("v"));
}

#[test]
fn hash_value_of_64_bytes_stays_listpack_65_converts() {
    let mut h = Hash::new();
    h.set(b"f", &[b'x'; 64], &th());
    h.set(&[b'k'; 64], b"v", &th());
    assert_eq!(h.encoding(), "listpack");
    h.set(b"g", &[b'x'; 65], &th());
    assert_eq!(h.encoding(), "hashtable");
    let mut h = Hash::new();
    h.set(&[b'k'; 65], b"v", &th());
    assert_eq!(h.encoding(), "hashtable");
}

#[test]
fn hgetall_order_after_hdel_and_readd_is_redis_order() {
    // HSET t f v; HSET t f2 v2 f3 v3; HDEL t f; HSET t f v; HGETALL t -> f2 v2 f3 v3 f v
    let mut h = Hash::new();
    h.set(b"f", b"v", &th());
    h.set(b"f2", b"v2", &th());
    h.set(b"f3", b"v3", &th());
    h.remove(b"f");
    h.set(b"f", b"v", &th());
    let all: Vec<String> = h.iter().flat_map(|(f, v)| [s(f), s(v)]).collect();
    assert_eq!(all, ["f2", "v2", "f3", "v3", "f", "v"]);
    // Overwriting keeps the position.
    h.set(b"f2", b"new", &th());
    assert_eq!(s(h.iter().next().unwrap().1), "new");
}

#[test]
fn hincrby_errors_and_overflow() {
    let mut h = Hash::new();
    assert_eq!(h.incr_by(b"n", 5, &th()), Ok(5));
    assert_eq!(h.incr_by(b"n", -7, &th()), Ok(-2));
    h.set(b"f", b"abc", &th());
    assert_eq!(
        h.incr_by(b"f", 1, &th()),
        Err(TypesError::HashValueNotInteger)
    );
    assert_eq!(
        TypesError::HashValueNotInteger.to_string(),
        "ERR hash value is not an integer"
    );
    h.set(b"m", b"9223372036854775807", &th());
    assert_eq!(h.incr_by(b"m", 1, &th()), Err(TypesError::Overflow));
    assert_eq!(
        TypesError::Overflow.to_string(),
        "ERR increment or decrement would overflow"
    );
    h.set(b"sp", b" 1", &th());
    assert_eq!(
        h.incr_by(b"sp", 1, &th()),
        Err(TypesError::HashValueNotInteger)
    );
    assert_eq!(h.value_len(b"m"), 19);
    assert_eq!(h.value_len(b"missing"), 0);
}

#[test]
fn hrandfield_counts() {
    let mut h = Hash::new();
    for i in 0..5 {
        h.set(format!("f{i}").as_bytes(), b"v", &th());
    }
    let mut r = rng();
    assert!(h.random_distinct(0, &mut r).is_empty());
    // count >= size: the whole hash in its order.
    let all: Vec<String> = h
        .random_distinct(100, &mut r)
        .into_iter()
        .map(|(f, _)| s(f))
        .collect();
    assert_eq!(all, ["f0", "f1", "f2", "f3", "f4"]);
    // Negative: exactly |count|, repeats allowed.
    assert_eq!(h.random_repeating(20, &mut r).count(), 20);
    // Positive below size: distinct, listpack order kept.
    let some: Vec<String> = h
        .random_distinct(3, &mut r)
        .into_iter()
        .map(|(f, _)| s(f))
        .collect();
    assert_eq!(some.len(), 3);
    let mut sorted = some.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, some);
    assert_eq!(Hash::new().random_repeating(3, &mut r).count(), 0);
    assert!(Hash::new().random_field(&mut r).is_none());
}

#[test]
fn hash_listpack_bytes_are_redis_bytes() {
    // HSET h a 1 on redis-server 7.0.15: listpack 81 61 02 01 01.
    let mut h = Hash::new();
    h.set(b"a", b"1", &th());
    assert_eq!(
        h.as_listpack().unwrap().redis_bytes(),
        [12, 0, 0, 0, 2, 0, 0x81, b'a', 2, 1, 1, 0xFF]
    );
}

// ---------------------------------------------------------------- sets

#[test]
fn intset_order_threshold_and_conversion() {
    let mut st = Set::new_for(b"5");
    for m in ["5", "-1", "100", "3"] {
        st.add(m.as_bytes(), &th());
    }
    assert_eq!(st.encoding(), "intset");
    assert_eq!(
        st.iter().map(s).collect::<Vec<_>>(),
        ["-1", "3", "5", "100"]
    );
    let mut big = Set::new_intset();
    for i in 0..512 {
        big.add(i.to_string().as_bytes(), &th());
    }
    assert_eq!(big.encoding(), "intset");
    big.add(b"512", &th());
    assert_eq!(big.encoding(), "hashtable");
    assert_eq!(big.len(), 513);
    assert!(big.contains(b"0"));
    // A non-integer member converts at once.
    st.add(b"a", &th());
    assert_eq!(st.encoding(), "hashtable");
    assert!(st.contains(b"-1") && st.contains(b"a"));
    // "01" is not an integer for Redis: the set is created as a hash table.
    assert_eq!(Set::new_for(b"01").encoding(), "hashtable");
    assert_eq!(Set::new_for(b"a").encoding(), "hashtable");
}

#[test]
fn intset_rejects_noncanonical_lookups() {
    let mut st = Set::new_intset();
    st.add(b"1", &th());
    assert!(!st.contains(b"01"));
    assert!(!st.contains(b"+1"));
    assert!(!st.remove(b"1.0"));
    assert!(st.remove(b"1"));
    assert!(st.is_empty());
}

#[test]
fn spop_and_srandmember_counts() {
    let mut st = Set::new_intset();
    for i in 0..10 {
        st.add(i.to_string().as_bytes(), &th());
    }
    let mut r = rng();
    assert!(st.random_distinct(0, &mut r).is_empty());
    assert_eq!(st.random_repeating(25, &mut r).count(), 25);
    // A huge count is lazy: nothing is allocated up front.
    assert_eq!(st.random_repeating(u64::MAX, &mut r).take(3).count(), 3);
    let d = st.random_distinct(4, &mut r);
    let mut u: Vec<String> = d.iter().map(|e| s(*e)).collect();
    u.sort();
    u.dedup();
    assert_eq!(u.len(), 4);
    assert_eq!(st.random_distinct(u64::MAX, &mut r).len(), 10);
    let popped = st.pop_count(3, &mut r);
    assert_eq!(popped.len(), 3);
    assert_eq!(st.len(), 7);
    assert!(popped.iter().all(|p| !st.contains(p)));
    // count >= size: everything, ascending for an intset, and the set is empty.
    let rest = st.pop_count(100, &mut r);
    assert_eq!(rest.len(), 7);
    assert!(rest.windows(2).all(|w| w[0].len() <= w[1].len()));
    assert!(st.is_empty());
    assert!(st.pop(&mut r).is_none());
}

#[test]
fn set_algebra() {
    let th = th();
    let a = Set::from_members(
        [Elem::Int(1), Elem::Int(2), Elem::Int(3), Elem::Str(b"x")],
        &th,
    );
    let b = Set::from_members([Elem::Int(3), Elem::Int(2), Elem::Str(b"y")], &th);
    let c = Set::from_members([Elem::Int(2), Elem::Int(3)], &th);
    assert_eq!(c.encoding(), "intset");
    // SINTER replies in the smallest set's order (c is an intset: ascending).
    assert_eq!(
        Set::inter(&[&a, &b, &c])
            .into_iter()
            .map(s)
            .collect::<Vec<_>>(),
        ["2", "3"]
    );
    assert_eq!(Set::inter_card(&[&a, &b], 1), 1);
    assert_eq!(Set::inter_card(&[&a, &b], 0), 2);
    let empty = Set::new_intset();
    assert!(Set::inter(&[&a, &empty]).is_empty());
    let u = Set::union(&[&c, &c], &th);
    assert_eq!(u.encoding(), "intset");
    assert_eq!(u.len(), 2);
    let u = Set::union(&[&a, &b], &th);
    assert_eq!(u.len(), 5);
    let d = Set::diff(&[&a, &b], &th);
    let mut dm: Vec<String> = d.iter().map(s).collect();
    dm.sort();
    assert_eq!(dm, ["1", "x"]);
    // SDIFF of integers only gives an intset.
    let d = Set::diff(&[&c, &empty], &th);
    assert_eq!(d.encoding(), "intset");
}

// ---------------------------------------------------------------- sorted sets

fn zadd(z: &mut Zset, pairs: &[(f64, &str)]) {
    for (sc, m) in pairs {
        z.add(m.as_bytes(), *sc, AddFlags::default(), &th())
            .unwrap();
    }
}

fn members(v: Vec<(Elem<'_>, f64)>) -> Vec<String> {
    v.into_iter().map(|(m, _)| s(m)).collect()
}

#[test]
fn zadd_flag_errors_have_redis_texts() {
    let f = |nx, xx, gt, lt, incr| AddFlags {
        nx,
        xx,
        gt,
        lt,
        incr,
    };
    assert_eq!(
        f(true, true, false, false, false)
            .validate(1)
            .unwrap_err()
            .to_string(),
        "ERR XX and NX options at the same time are not compatible"
    );
    assert_eq!(
        f(false, false, true, true, false)
            .validate(1)
            .unwrap_err()
            .to_string(),
        "ERR GT, LT, and/or NX options at the same time are not compatible"
    );
    assert_eq!(
        f(true, false, true, false, false).validate(1),
        Err(TypesError::GtLtNx)
    );
    assert_eq!(
        f(false, false, false, false, true)
            .validate(2)
            .unwrap_err()
            .to_string(),
        "ERR INCR option supports a single increment-element pair"
    );
    assert_eq!(f(false, true, true, false, true).validate(1), Ok(()));
}

#[test]
fn zadd_flags_semantics() {
    let th = th();
    let mut z = Zset::new();
    let incr_nx = AddFlags {
        incr: true,
        nx: true,
        ..Default::default()
    };
    assert_eq!(
        z.add(b"a", 1.0, AddFlags::default(), &th),
        Ok(AddOutcome::Added(1.0))
    );
    // ZADD inc INCR NX 1 a -> nil
    assert_eq!(z.add(b"a", 1.0, incr_nx, &th), Ok(AddOutcome::Skipped));
    // ZADD inc GT CH 0 a -> 0
    assert_eq!(
        z.add(
            b"a",
            0.0,
            AddFlags {
                gt: true,
                ..Default::default()
            },
            &th
        ),
        Ok(AddOutcome::Skipped)
    );
    // ZADD inc INCR GT -5 a -> nil
    let incr_gt = AddFlags {
        incr: true,
        gt: true,
        ..Default::default()
    };
    assert_eq!(z.add(b"a", -5.0, incr_gt, &th), Ok(AddOutcome::Skipped));
    // GT does not stop adding a new member.
    assert_eq!(
        z.add(
            b"n",
            5.0,
            AddFlags {
                gt: true,
                ..Default::default()
            },
            &th
        ),
        Ok(AddOutcome::Added(5.0))
    );
    assert_eq!(
        z.add(
            b"x",
            5.0,
            AddFlags {
                xx: true,
                ..Default::default()
            },
            &th
        ),
        Ok(AddOutcome::Skipped)
    );
    assert_eq!(
        z.add(b"a", 1.0, AddFlags::default(), &th),
        Ok(AddOutcome::Unchanged(1.0))
    );
    assert_eq!(
        z.add(
            b"a",
            2.5,
            AddFlags {
                incr: true,
                ..Default::default()
            },
            &th
        ),
        Ok(AddOutcome::Updated(3.5))
    );
    // ZINCRBY zz inf m then -inf m: ERR resulting score is not a number (NaN)
    let incr = AddFlags {
        incr: true,
        ..Default::default()
    };
    z.add(b"m", f64::INFINITY, incr, &th).unwrap();
    assert_eq!(
        z.add(b"m", f64::NEG_INFINITY, incr, &th),
        Err(TypesError::ScoreNaN)
    );
    assert_eq!(
        TypesError::ScoreNaN.to_string(),
        "ERR resulting score is not a number (NaN)"
    );
    assert_eq!(z.score(b"m"), Some(f64::INFINITY));
}

#[test]
fn zset_conversions_at_thresholds() {
    let mut z = Zset::new();
    for i in 0..128 {
        zadd(&mut z, &[(i as f64, &format!("m{i}"))]);
    }
    assert_eq!(z.encoding(), "listpack");
    zadd(&mut z, &[(0.5, "m128")]);
    assert_eq!(z.encoding(), "skiplist");
    assert_eq!(z.len(), 129);
    assert_eq!(z.rank(b"m128", false), Some(1));
    let mut z = Zset::new();
    zadd(&mut z, &[(1.0, &"x".repeat(64))]);
    assert_eq!(z.encoding(), "listpack");
    zadd(&mut z, &[(1.0, &"x".repeat(65))]);
    assert_eq!(z.encoding(), "skiplist");
    // Repeating one member 129 times does not convert (redis-server 7.0.15).
    let mut z = Zset::new();
    for _ in 0..129 {
        zadd(&mut z, &[(1.0, "a")]);
    }
    assert_eq!(z.encoding(), "listpack");
}

#[test]
fn zset_listpack_scores_are_stored_like_redis() {
    // ZADD z 1 a 1.5 b 3 c inf d -0.0 e 1e20 f 0.1 h, then DUMP on redis-server 7.0.15.
    let mut z = Zset::new();
    zadd(
        &mut z,
        &[
            (1.0, "a"),
            (1.5, "b"),
            (3.0, "c"),
            (f64::INFINITY, "d"),
            (-0.0, "e"),
            (1e20, "f"),
            (0.1, "h"),
        ],
    );
    let lp = z.as_listpack().unwrap();
    let entries: Vec<String> = lp.iter().map(s).collect();
    assert_eq!(
        entries,
        [
            "e",
            "0",
            "h",
            "0.10000000000000001",
            "a",
            "1",
            "b",
            "1.5",
            "c",
            "3",
            "f",
            "1e+20",
            "d",
            "inf"
        ]
    );
    // 2^52 and 123456789012345678 (as a double) are stored as integers.
    let mut z = Zset::new();
    zadd(
        &mut z,
        &[(4503599627370496.0, "a"), (123456789012345678.0, "c")],
    );
    let entries: Vec<String> = z.as_listpack().unwrap().iter().map(s).collect();
    assert_eq!(
        entries,
        ["a", "4503599627370496", "c", "123456789012345680"]
    );
}

fn both_encodings(pairs: &[(f64, &str)]) -> [Zset; 2] {
    let mut a = Zset::new();
    zadd(&mut a, pairs);
    let small = Thresholds {
        zset_max_listpack_entries: 0,
        ..th()
    };
    let mut b = Zset::new();
    for (sc, m) in pairs {
        b.add(m.as_bytes(), *sc, AddFlags::default(), &small)
            .unwrap();
    }
    assert_eq!(b.encoding(), "skiplist");
    [a, b]
}

#[test]
fn ranges_by_rank_score_and_lex() {
    for z in both_encodings(&[(1.0, "a"), (2.0, "b"), (3.0, "c"), (4.0, "d")]) {
        assert_eq!(members(z.range_by_rank(0, -1, false)), ["a", "b", "c", "d"]);
        assert_eq!(members(z.range_by_rank(-2, 100, false)), ["c", "d"]);
        assert_eq!(members(z.range_by_rank(0, 1, true)), ["d", "c"]);
        assert!(z.range_by_rank(3, 1, false).is_empty());
        assert!(z.range_by_rank(10, 20, false).is_empty());
        let r = ScoreRange::parse(b"(1", b"3").unwrap();
        assert_eq!(members(z.range_by_score(&r, false, 0, -1)), ["b", "c"]);
        assert_eq!(members(z.range_by_score(&r, true, 0, -1)), ["c", "b"]);
        let all = ScoreRange::parse(b"-inf", b"+inf").unwrap();
        // LIMIT -1 2 -> empty; LIMIT 1 -1 -> b c d; LIMIT 1 0 -> empty
        assert!(z.range_by_score(&all, false, -1, 2).is_empty());
        assert_eq!(
            members(z.range_by_score(&all, false, 1, -1)),
            ["b", "c", "d"]
        );
        assert!(z.range_by_score(&all, false, 1, 0).is_empty());
        assert_eq!(members(z.range_by_score(&all, true, 1, 2)), ["c", "b"]);
        assert_eq!(z.count_by_score(&r), 2);
        assert_eq!(
            z.count_by_score(&ScoreRange::parse(b"(2", b"(2").unwrap()),
            0
        );
        assert_eq!(z.count_by_score(&ScoreRange::parse(b"5", b"1").unwrap()), 0);
        let lex = LexRange::parse(b"[b", b"(d").unwrap();
        assert_eq!(members(z.range_by_lex(&lex, false, 0, -1)), ["b", "c"]);
        assert_eq!(members(z.range_by_lex(&lex, true, 0, -1)), ["c", "b"]);
        assert_eq!(z.count_by_lex(&LexRange::parse(b"-", b"+").unwrap()), 4);
        assert_eq!(z.count_by_lex(&LexRange::parse(b"+", b"-").unwrap()), 0);
        assert_eq!(z.rank(b"c", false), Some(2));
        assert_eq!(z.rank(b"c", true), Some(1));
        assert_eq!(z.rank(b"zz", false), None);
    }
}

#[test]
fn range_argument_errors() {
    assert_eq!(
        ScoreRange::parse(b"(a", b"2").unwrap_err().to_string(),
        "ERR min or max is not a float"
    );
    assert_eq!(
        ScoreRange::parse(b"1", b"nan").unwrap_err(),
        TypesError::MinMaxNotFloat
    );
    assert_eq!(
        LexRange::parse(b"a", b"b").unwrap_err().to_string(),
        "ERR min or max not valid string range item"
    );
    assert_eq!(
        LexRange::parse(b"", b"+").unwrap_err(),
        TypesError::MinMaxNotLex
    );
    assert!(LexRange::parse(b"-", b"+").is_ok());
    assert!(LexRange::parse(b"[", b"(").is_ok());
}

#[test]
fn lex_range_over_mixed_scores_matches_redis_listpack() {
    // ZADD m 1 b 2 a 0 c 5 x 3 d; ZRANGEBYLEX m [b + -> c b a d x;
    // ZREVRANGEBYLEX m [c - -> a b c; ZLEXCOUNT m [b [d -> 4.
    let mut z = Zset::new();
    zadd(
        &mut z,
        &[(1.0, "b"), (2.0, "a"), (0.0, "c"), (5.0, "x"), (3.0, "d")],
    );
    let r = LexRange::parse(b"[b", b"+").unwrap();
    assert_eq!(
        members(z.range_by_lex(&r, false, 0, -1)),
        ["c", "b", "a", "d", "x"]
    );
    let r = LexRange::parse(b"-", b"[c").unwrap();
    assert_eq!(members(z.range_by_lex(&r, true, 0, -1)), ["a", "b", "c"]);
    assert_eq!(z.count_by_lex(&LexRange::parse(b"[b", b"[d").unwrap()), 4);
}

#[test]
fn remove_ranges_and_pops() {
    for mut z in both_encodings(&[(1.0, "a"), (2.0, "b"), (3.0, "c"), (4.0, "d"), (5.0, "e")]) {
        assert_eq!(z.remove_range_by_rank(-1, -1), 1);
        assert_eq!(
            z.remove_range_by_score(&ScoreRange::parse(b"(1", b"2").unwrap()),
            1
        );
        assert_eq!(
            z.remove_range_by_lex(&LexRange::parse(b"[z", b"+").unwrap()),
            0
        );
        assert_eq!(members(z.range_by_rank(0, -1, false)), ["a", "c", "d"]);
        let p = z.pop(2, true);
        assert_eq!(p, vec![(b"d".to_vec(), 4.0), (b"c".to_vec(), 3.0)]);
        assert_eq!(z.pop(10, false), vec![(b"a".to_vec(), 1.0)]);
        assert!(z.is_empty());
        assert!(z.pop(1, false).is_empty());
        assert_eq!(z.remove_range_by_rank(0, -1), 0);
    }
}

#[test]
fn union_inter_diff_with_weights_and_aggregate() {
    let [a, _] = both_encodings(&[(1.0, "a"), (2.0, "b"), (f64::INFINITY, "i")]);
    let [_, b] = both_encodings(&[(10.0, "b"), (3.0, "c"), (f64::NEG_INFINITY, "i")]);
    let set = Set::from_members([Elem::Str(b"c"), Elem::Str(b"d")], &th());
    let u = Zset::union(
        &[ZInput::Zset(&a), ZInput::Zset(&b), ZInput::Set(&set)],
        &[1.0, 2.0, 1.0],
        Aggregate::Sum,
    );
    // inf + -inf is NaN: Redis stores 0.
    assert_eq!(
        u,
        vec![
            (b"i".to_vec(), 0.0),
            (b"a".to_vec(), 1.0),
            (b"d".to_vec(), 1.0),
            (b"c".to_vec(), 7.0),
            (b"b".to_vec(), 22.0)
        ]
    );
    let i = Zset::inter(&[ZInput::Zset(&a), ZInput::Zset(&b)], &[], Aggregate::Max);
    assert_eq!(
        i,
        vec![(b"b".to_vec(), 10.0), (b"i".to_vec(), f64::INFINITY)]
    );
    let i = Zset::inter(&[ZInput::Zset(&a), ZInput::Empty], &[], Aggregate::Sum);
    assert!(i.is_empty());
    let d = Zset::diff(&[ZInput::Zset(&a), ZInput::Zset(&b)]);
    assert_eq!(d, vec![(b"a".to_vec(), 1.0)]);
    // 0 * inf is NaN in C: stored as 0.
    let w = Zset::union(&[ZInput::Zset(&a)], &[0.0], Aggregate::Sum);
    assert!(w.iter().all(|(_, s)| *s == 0.0));
    let z = Zset::from_pairs(u, &th());
    assert_eq!(z.encoding(), "listpack");
    assert_eq!(z.len(), 5);
}

#[test]
fn zrandmember_counts() {
    let [z, sl] = both_encodings(&[(1.0, "a"), (2.0, "b"), (3.0, "c")]);
    let mut r = rng();
    for z in [&z, &sl] {
        assert!(z.random_distinct(0, &mut r).is_empty());
        assert_eq!(members(z.random_distinct(5, &mut r)), ["a", "b", "c"]);
        assert_eq!(z.random_repeating(7, &mut r).count(), 7);
        assert_eq!(z.random_distinct(2, &mut r).len(), 2);
    }
}

// ---------------------------------------------------------------- lists

fn list_of(items: &[&str]) -> List {
    let mut l = List::new(-2);
    for i in items {
        l.push(End::Right, i.as_bytes());
    }
    l
}

fn all(l: &List) -> Vec<String> {
    l.iter().map(s).collect()
}

#[test]
fn quicklist_node_bytes_are_redis_bytes() {
    // RPUSH lb a 1 -1 300 hello; DUMP lb on redis-server 7.0.15 (one listpack node).
    let l = list_of(&["a", "1", "-1", "300", "hello"]);
    let node = l.nodes().next().unwrap();
    assert_eq!(
        node.redis_bytes(),
        [
            0x19, 0, 0, 0, 5, 0, 0x81, b'a', 2, 1, 1, 0xDF, 0xFF, 2, 0xC1, 0x2C, 2, 0x85, b'h',
            b'e', b'l', b'l', b'o', 6, 0xFF
        ]
    );
}

#[test]
fn list_push_pop_index_set() {
    let mut l = list_of(&["b", "c"]);
    l.push(End::Left, b"a");
    assert_eq!(l.encoding(), "quicklist");
    assert_eq!(all(&l), ["a", "b", "c"]);
    assert_eq!(l.get(-1).map(s).as_deref(), Some("c"));
    assert_eq!(l.get(3), None);
    assert_eq!(l.get(-4), None);
    assert_eq!(l.get(i64::MIN), None);
    assert_eq!(l.set(10, b"x"), Err(TypesError::IndexOutOfRange));
    assert_eq!(
        TypesError::IndexOutOfRange.to_string(),
        "ERR index out of range"
    );
    l.set(-2, b"B").unwrap();
    assert_eq!(l.pop(End::Left).as_deref(), Some(&b"a"[..]));
    assert_eq!(l.pop(End::Right).as_deref(), Some(&b"c"[..]));
    assert_eq!(l.pop(End::Right).as_deref(), Some(&b"B"[..]));
    assert!(l.pop(End::Left).is_none());
    assert!(l.is_empty());
}

#[test]
fn list_range_trim_insert_remove() {
    let l = list_of(&["a", "b", "c", "d", "e"]);
    assert_eq!(
        l.range(-3, -1).1.map(s).collect::<Vec<_>>(),
        ["c", "d", "e"]
    );
    assert_eq!(l.range(4, 2).0, 0);
    assert_eq!(l.range(4, 2).1.count(), 0);
    assert_eq!(l.range(5, 10).1.count(), 0);
    assert_eq!(l.range(-100, 1).0, 2);
    let mut t = l.clone();
    t.trim(1, -2);
    assert_eq!(all(&t), ["b", "c", "d"]);
    t.trim(5, 10);
    assert!(t.is_empty());
    let mut t = l.clone();
    assert_eq!(t.insert(b"c", b"X", false), Some(6));
    assert_eq!(t.insert(b"e", b"Y", true), Some(7));
    assert_eq!(t.insert(b"zz", b"Y", true), None);
    assert_eq!(all(&t), ["a", "b", "X", "c", "d", "e", "Y"]);
    let mut r = list_of(&["x", "1", "x", "2", "x"]);
    assert_eq!(r.remove(-2, b"x"), 2);
    assert_eq!(all(&r), ["x", "1", "2"]);
    assert_eq!(r.remove(0, b"1"), 1);
    assert_eq!(r.remove(1, b"nope"), 0);
    assert_eq!(all(&r), ["x", "2"]);
}

#[test]
fn lpos_rank_count_maxlen() {
    let l = list_of(&["a", "b", "c", "1", "2", "3", "c", "c"]);
    assert_eq!(l.positions(b"c", 1, 1, 0), Ok(vec![2]));
    assert_eq!(l.positions(b"c", 1, 0, 0), Ok(vec![2, 6, 7]));
    assert_eq!(l.positions(b"c", -1, 2, 0), Ok(vec![7, 6]));
    assert_eq!(l.positions(b"c", 2, 0, 0), Ok(vec![6, 7]));
    assert_eq!(l.positions(b"c", 1, 0, 3), Ok(vec![2]));
    assert_eq!(l.positions(b"c", -4, 0, 0), Ok(vec![]));
    assert_eq!(l.positions(b"c", i64::MIN, 0, 0), Ok(vec![]));
    assert_eq!(l.positions(b"1", 1, 1, 0), Ok(vec![3]));
    assert_eq!(l.positions(b"01", 1, 1, 0), Ok(vec![]));
    assert_eq!(
        l.positions(b"c", 0, 1, 0).unwrap_err().to_string(),
        "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"
    );
}

#[test]
fn quicklist_nodes_stay_within_8kb_and_big_elements_get_their_own() {
    let mut l = List::new(-2);
    for i in 0..10_000 {
        l.push(End::Right, format!("element-{i}").as_bytes());
    }
    assert!(l.nodes().count() > 1);
    assert!(l.nodes().all(|n| n.bytes_len() <= 8192));
    l.push(End::Left, &vec![b'x'; 20_000]);
    assert_eq!(l.nodes().next().map(|n| n.len()), Some(1));
    assert_eq!(l.len(), 10_001);
    assert_eq!(l.get(5000).map(s).as_deref(), Some("element-4999"));
    let mut c = List::new(3);
    for i in 0..10 {
        c.push(End::Right, i.to_string().as_bytes());
    }
    assert!(c.nodes().all(|n| n.len() <= 3));
    assert_eq!(c.positions(b"9", 1, 1, 0), Ok(vec![9]));
}

// ---------------------------------------------------------------- SCAN cursors

/// Scans `total` elements in steps of `count` while `churn` removes and adds elements
/// between steps; returns what was seen and which of the starting elements survived.
fn scan_under_churn(
    count: usize,
    mut step: impl FnMut(u64, usize, &mut std::collections::HashSet<String>) -> u64,
    mut churn: impl FnMut(usize, &mut fastrand::Rng) -> Option<String>,
    start: &[String],
) -> (std::collections::HashSet<String>, Vec<String>) {
    let mut r = rng();
    let mut seen = std::collections::HashSet::new();
    let mut removed = std::collections::HashSet::new();
    let mut cursor = 0;
    let mut steps = 0;
    loop {
        cursor = step(cursor, count, &mut seen);
        steps += 1;
        if cursor == 0 {
            break;
        }
        assert!(steps < 100_000, "the cursor never came back to 0");
        if let Some(gone) = churn(steps, &mut r) {
            removed.insert(gone);
        }
    }
    let survivors = start
        .iter()
        .filter(|m| !removed.contains(*m))
        .cloned()
        .collect();
    (seen, survivors)
}

#[test]
fn sscan_on_a_table_returns_every_member_present_throughout_across_removals_and_adds() {
    let start: Vec<String> = (0..2000).map(|i| format!("m{i}")).collect();
    let mut set = Set::new_for(b"m0");
    for m in &start {
        set.add(m.as_bytes(), &th());
    }
    let set = std::cell::RefCell::new(set);
    let (seen, survivors) = scan_under_churn(
        7,
        |c, n, seen| {
            set.borrow().scan(c, n, |m| {
                seen.insert(s(m));
            })
        },
        |step, r| {
            let mut set = set.borrow_mut();
            set.add(format!("new{step}").as_bytes(), &th());
            let victim = format!("m{}", r.usize(..2000));
            set.remove(victim.as_bytes()).then_some(victim)
        },
        &start,
    );
    assert!(survivors.len() > 1000);
    for m in &survivors {
        assert!(
            seen.contains(m),
            "{m} was present throughout but not returned"
        );
    }
}

#[test]
fn hscan_on_a_table_returns_every_field_present_throughout_with_its_value() {
    let start: Vec<String> = (0..1500).map(|i| format!("f{i}")).collect();
    let mut h = Hash::new();
    for f in &start {
        h.set(f.as_bytes(), format!("v{f}").as_bytes(), &th());
    }
    assert_eq!(h.encoding(), "hashtable");
    let h = std::cell::RefCell::new(h);
    let (seen, survivors) = scan_under_churn(
        10,
        |c, n, seen| {
            h.borrow().scan(c, n, |f, v| {
                assert_eq!(s(v), format!("v{}", s(f)));
                seen.insert(s(f));
            })
        },
        |step, r| {
            let mut h = h.borrow_mut();
            h.set(
                format!("g{step}").as_bytes(),
                format!("vg{step}").as_bytes(),
                &th(),
            );
            let victim = format!("f{}", r.usize(..1500));
            h.remove(victim.as_bytes()).then_some(victim)
        },
        &start,
    );
    for f in &survivors {
        assert!(
            seen.contains(f),
            "{f} was present throughout but not returned"
        );
    }
}

#[test]
fn zscan_on_a_skiplist_returns_every_member_once_despite_score_changes_and_removals() {
    let start: Vec<String> = (0..1000).map(|i| format!("z{i}")).collect();
    let mut z = Zset::new();
    for (i, m) in start.iter().enumerate() {
        z.add(m.as_bytes(), i as f64, AddFlags::default(), &th())
            .unwrap();
    }
    assert_eq!(z.encoding(), "skiplist");
    let z = std::cell::RefCell::new(z);
    let mut visits = 0;
    let (seen, survivors) = scan_under_churn(
        10,
        |c, n, seen| {
            z.borrow().scan(c, n, |m, _| {
                visits += 1;
                seen.insert(s(m));
            })
        },
        |step, r| {
            let mut z = z.borrow_mut();
            let moved = format!("z{}", r.usize(..1000));
            let _ = z.add(moved.as_bytes(), -(step as f64), AddFlags::default(), &th());
            z.add(
                format!("n{step}").as_bytes(),
                0.5,
                AddFlags::default(),
                &th(),
            )
            .unwrap();
            let victim = format!("z{}", r.usize(..1000));
            z.remove(victim.as_bytes()).then_some(victim)
        },
        &start,
    );
    for m in &survivors {
        assert!(
            seen.contains(m),
            "{m} was present throughout but not returned"
        );
    }
    assert_eq!(visits, seen.len(), "a skip list scan visits each node once");
}

#[test]
fn scan_of_small_encodings_is_one_step_with_cursor_0() {
    let mut set = Set::new_for(b"1");
    let mut h = Hash::new();
    let mut z = Zset::new();
    for i in 0..100 {
        set.add(i.to_string().as_bytes(), &th());
        h.set(format!("f{i}").as_bytes(), b"v", &th());
        z.add(format!("m{i}").as_bytes(), 1.0, AddFlags::default(), &th())
            .unwrap();
    }
    let (mut a, mut b, mut c) = (0, 0, 0);
    assert_eq!(set.scan(0, 1, |_| a += 1), 0);
    assert_eq!(h.scan(0, 1, |_, _| b += 1), 0);
    assert_eq!(z.scan(0, 1, |_, _| c += 1), 0);
    assert_eq!((a, b, c), (100, 100, 100));
}
