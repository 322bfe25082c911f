//! Paired A/B runs of the codec benches: ours and `redis-protocol` alternate in short rounds
//! and the median of the per-round time ratios is printed. On a machine shared with other
//! work, a slow spell hits both sides of a round alike, which criterion's one-after-the-other
//! runs (benches/codec.rs) cannot promise.
#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use redis_protocol::resp2::{decode as theirs_decode, encode as theirs_encode, types::BytesFrame};
use resp_proto::{
    decode_frame, encode_frame, Bytes, BytesMut, CommandDecoder, Frame, Limits, Protocol,
};

const ROUNDS: usize = 301;
const ROUND: Duration = Duration::from_millis(4);

/// Time per run of `f`, measured over about one round.
fn round(mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < ROUND {
        for _ in 0..16 {
            f();
        }
        n += 16;
    }
    start.elapsed().as_nanos() as f64 / f64::from(n)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn pair(name: &str, mut ours: impl FnMut(), mut theirs: impl FnMut()) {
    let (mut a, mut b, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..ROUNDS {
        // Alternate which side goes first, so neither always gets the warmer cache.
        let (x, y) = if i % 2 == 0 {
            let x = round(&mut ours);
            (x, round(&mut theirs))
        } else {
            let y = round(&mut theirs);
            (round(&mut ours), y)
        };
        a.push(x);
        b.push(y);
        ratios.push(y / x);
    }
    println!(
        "{name:<28} ours {:>9.0} ns  redis-protocol {:>9.0} ns  ratio (theirs/ours, median of {ROUNDS} paired rounds) {:.2}x",
        median(a),
        median(b),
        median(ratios)
    );
}

fn bulk_array(args: &[Bytes]) -> Frame {
    Frame::Array(args.iter().cloned().map(Frame::Bulk).collect())
}

fn main() {
    let cmds: Vec<Vec<Bytes>> = (0..16)
        .map(|i| {
            vec![
                Bytes::from_static(b"SET"),
                Bytes::from(format!("key:{i:04}")),
                Bytes::from_static(b"value"),
            ]
        })
        .collect();
    let items: Vec<Bytes> = (0..1000)
        .map(|i| Bytes::from(format!("member:{i:06}")))
        .collect();
    let mut pipeline = BytesMut::new();
    for c in &cmds {
        encode_frame(&bulk_array(c), Protocol::Resp2, &mut pipeline);
    }
    let mut array = BytesMut::new();
    encode_frame(&bulk_array(&items), Protocol::Resp2, &mut array);

    let mut decoder = CommandDecoder::new(Limits::default());
    pair(
        "decode_pipeline_16_set",
        || {
            let mut buf = pipeline.clone();
            while let Some(cmd) = decoder.decode(&mut buf, true).unwrap() {
                black_box(cmd);
            }
        },
        || {
            let mut buf = pipeline.clone();
            while let Some(f) = theirs_decode::decode_bytes_mut(&mut buf).unwrap() {
                black_box(f);
            }
        },
    );
    pair(
        "decode_array_1000",
        || {
            let mut buf = array.clone();
            black_box(decode_frame(&mut buf, &Limits::default()).unwrap());
        },
        || {
            let mut buf = array.clone();
            black_box(theirs_decode::decode_bytes_mut(&mut buf).unwrap());
        },
    );

    let ours_cmds: Vec<Frame> = cmds.iter().map(|c| bulk_array(c)).collect();
    let theirs_cmds: Vec<BytesFrame> = cmds
        .iter()
        .map(|c| BytesFrame::Array(c.iter().cloned().map(BytesFrame::BulkString).collect()))
        .collect();
    let mut out = BytesMut::with_capacity(1 << 16);
    let mut out2 = BytesMut::with_capacity(1 << 16);
    pair(
        "encode_pipeline_16_set",
        || {
            out.clear();
            for f in &ours_cmds {
                encode_frame(f, Protocol::Resp2, &mut out);
            }
            black_box(&out);
        },
        || {
            out2.clear();
            for f in &theirs_cmds {
                theirs_encode::extend_encode(&mut out2, f, false).unwrap();
            }
            black_box(&out2);
        },
    );
    let ours_array = bulk_array(&items);
    let theirs_array =
        BytesFrame::Array(items.iter().cloned().map(BytesFrame::BulkString).collect());
    pair(
        "encode_array_1000",
        || {
            out.clear();
            encode_frame(&ours_array, Protocol::Resp2, &mut out);
            black_box(&out);
        },
        || {
            out2.clear();
            theirs_encode::extend_encode(&mut out2, &theirs_array, false).unwrap();
            black_box(&out2);
        },
    );
}
