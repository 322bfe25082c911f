//! Key lookups as GET makes them, over a keyspace the size of `cargo xtask bench`'s
//! (`-r 100000`): random keys of redis-benchmark's form, values of 3 and 1024 bytes.
#![allow(clippy::unwrap_used, missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use server::keyspace::{key_slot, Entry, Keyspace, StrEncoding, Value};

const KEYS: usize = 100_000;

fn key(i: usize) -> Vec<u8> {
    format!("key:{i:012}").into_bytes()
}

/// A fixed pseudo-random order of the keys (xorshift), the same in every run.
fn order() -> Vec<(u16, Vec<u8>)> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..KEYS)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let k = key((x % KEYS as u64) as usize);
            (key_slot(&k), k)
        })
        .collect()
}

fn lookups(c: &mut Criterion) {
    let order = order();
    for size in [3usize, 1024] {
        let ks = Keyspace::new(1);
        let db = ks.db(0).unwrap();
        let value = vec![b'x'; size];
        for i in 0..KEYS {
            let k = key(i);
            let slot = key_slot(&k);
            let e = Entry::new_str(&k, &value, StrEncoding::Auto, 0);
            db.lock_slot(slot).insert(slot, e, 0);
        }
        // The reply is a copy of the value, as GET's.
        let mut out = Vec::with_capacity(4096);
        let mut get = |slot: u16, k: &[u8]| {
            let mut s = db.lock_slot(slot);
            out.clear();
            if let Some(Value::Str(v)) = s.lookup_read(slot, k, 1).map(|e| e.value()) {
                v.write_to(&mut out);
            }
            out.len()
        };
        let mut at = 0;
        c.bench_function(&format!("get_random_d{size}"), |b| {
            b.iter(|| {
                let (slot, k) = &order[at % KEYS];
                at += 1;
                black_box(get(*slot, k))
            })
        });
    }
}

criterion_group!(benches, lookups);
criterion_main!(benches);
