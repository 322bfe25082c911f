//! Value types: memory per element (from `mem_usage`) and operation speed for typical small
//! values. Memory figures are printed once; compare them with redis-server's MEMORY USAGE
//! for the same values (see the types report).
#![allow(clippy::unwrap_used, missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use server::types::zset::{AddFlags, ScoreRange};
use server::types::{list::End, Hash, List, Set, Thresholds, Zset};

fn small_hash(th: &Thresholds) -> Hash {
    let mut h = Hash::new();
    for i in 0..10 {
        h.set(
            format!("field:{i}").as_bytes(),
            format!("value:{i}").as_bytes(),
            th,
        );
    }
    h
}

fn str_set(n: usize, th: &Thresholds) -> Set {
    let mut s = Set::new_for(b"member:0");
    for i in 0..n {
        s.add(format!("member:{i}").as_bytes(), th);
    }
    s
}

fn int_set(n: usize, th: &Thresholds) -> Set {
    let mut s = Set::new_for(b"0");
    for i in 0..n {
        s.add(i.to_string().as_bytes(), th);
    }
    s
}

fn zset(n: usize, th: &Thresholds) -> Zset {
    let mut z = Zset::new();
    for i in 0..n {
        z.add(
            format!("member:{i}").as_bytes(),
            i as f64 * 1.5,
            AddFlags::default(),
            th,
        )
        .unwrap();
    }
    z
}

fn report_memory(th: &Thresholds) {
    let h = small_hash(th);
    let mut big_h = Hash::new();
    for i in 0..1000 {
        big_h.set(
            format!("field:{i}").as_bytes(),
            format!("value:{i}").as_bytes(),
            th,
        );
    }
    let mut l = List::new(th.list_max_listpack_size);
    for i in 0..1000 {
        l.push(End::Right, format!("element:{i}").as_bytes());
    }
    let rows = [
        ("hash 10 fields (listpack)", h.mem_usage(), 10),
        ("hash 1000 fields (hashtable)", big_h.mem_usage(), 1000),
        (
            "set 100 strings (hashtable)",
            str_set(100, th).mem_usage(),
            100,
        ),
        ("set 100 ints (intset)", int_set(100, th).mem_usage(), 100),
        ("zset 100 (listpack)", zset(100, th).mem_usage(), 100),
        ("zset 1000 (skiplist)", zset(1000, th).mem_usage(), 1000),
        ("list 1000 (quicklist)", l.mem_usage(), 1000),
    ];
    for (name, bytes, n) in rows {
        println!(
            "memory {name}: {bytes} bytes, {:.1} per element",
            bytes as f64 / n as f64
        );
    }
}

fn bench(c: &mut Criterion) {
    let th = Thresholds::default();
    report_memory(&th);
    c.bench_function("hash10 build (HSET x10)", |b| {
        b.iter(|| black_box(small_hash(&th)))
    });
    let h = small_hash(&th);
    c.bench_function("hash10 HGET", |b| {
        b.iter(|| black_box(h.get(black_box(b"field:7")).is_some()))
    });
    c.bench_function("set100 strings build (SADD x100)", |b| {
        b.iter(|| black_box(str_set(100, &th)))
    });
    let s = str_set(100, &th);
    c.bench_function("set100 SISMEMBER", |b| {
        b.iter(|| black_box(s.contains(black_box(b"member:42"))))
    });
    let is = int_set(100, &th);
    c.bench_function("intset100 SISMEMBER", |b| {
        b.iter(|| black_box(is.contains(black_box(b"42"))))
    });
    c.bench_function("zset100 build (ZADD x100, listpack)", |b| {
        b.iter(|| black_box(zset(100, &th)))
    });
    let z = zset(100, &th);
    c.bench_function("zset100 ZSCORE", |b| {
        b.iter(|| black_box(z.score(black_box(b"member:42"))))
    });
    let r = ScoreRange::parse(b"10", b"40").unwrap();
    c.bench_function("zset100 ZRANGEBYSCORE 20 items", |b| {
        b.iter(|| black_box(z.range_by_score(&r, false, 0, -1).len()))
    });
    let zl = zset(10_000, &th);
    c.bench_function("zset10k ZRANK", |b| {
        b.iter(|| black_box(zl.rank(black_box(b"member:7777"), false)))
    });
    c.bench_function("zset10k ZRANGEBYSCORE 20 items", |b| {
        b.iter(|| black_box(zl.range_by_score(&r, false, 0, -1).len()))
    });
    // redis-benchmark's zadd: `ZADD myzset <rand> element:<rand>` with -r 100000 on one
    // key, so after a warm-up most calls move an existing member to a new score.
    let mut rng = fastrand::Rng::with_seed(7);
    let mut zadd_one = |z: &mut Zset| {
        let member = format!("element:{:012}", rng.u32(..100_000));
        let score = f64::from(rng.u32(..100_000));
        black_box(
            z.add(member.as_bytes(), score, AddFlags::default(), &th)
                .unwrap(),
        );
    };
    let mut big = Zset::new();
    for _ in 0..200_000 {
        zadd_one(&mut big);
    }
    c.bench_function("zset ~86k ZADD random member and score", |b| {
        b.iter(|| zadd_one(&mut big))
    });
    c.bench_function("list RPUSH+LPOP", |b| {
        let mut l = List::new(-2);
        b.iter(|| {
            l.push(End::Right, b"element");
            black_box(l.pop(End::Left))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
