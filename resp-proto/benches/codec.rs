//! Our codec against the `redis-protocol` crate on the same inputs, in the same run:
//! a pipeline of 16 `SET key:NNNN value` requests and a 1000-element array reply, decoded and
//! encoded. Compare the pairs as ratios; absolute numbers depend on the machine.
#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use redis_protocol::resp2::{decode as theirs_decode, encode as theirs_encode, types::BytesFrame};
use resp_proto::{
    decode_frame, encode_frame, Bytes, BytesMut, CommandDecoder, Frame, Limits, Protocol,
    ReplyWriter,
};

fn set_commands() -> Vec<Vec<Bytes>> {
    (0..16)
        .map(|i| {
            vec![
                Bytes::from_static(b"SET"),
                Bytes::from(format!("key:{i:04}")),
                Bytes::from_static(b"value"),
            ]
        })
        .collect()
}

fn array_reply() -> Vec<Bytes> {
    (0..1000)
        .map(|i| Bytes::from(format!("member:{i:06}")))
        .collect()
}

fn ours_frame(args: &[Bytes]) -> Frame {
    Frame::Array(args.iter().cloned().map(Frame::Bulk).collect())
}

fn theirs_frame(args: &[Bytes]) -> BytesFrame {
    BytesFrame::Array(args.iter().cloned().map(BytesFrame::BulkString).collect())
}

fn wire(frames: &[Frame]) -> BytesMut {
    let mut out = BytesMut::new();
    for f in frames {
        encode_frame(f, Protocol::Resp2, &mut out);
    }
    out
}

fn decode_pipeline(c: &mut Criterion) {
    let input = wire(
        &set_commands()
            .iter()
            .map(|a| ours_frame(a))
            .collect::<Vec<_>>(),
    );
    let mut g = c.benchmark_group("decode_pipeline_16_set");
    g.throughput(Throughput::Bytes(input.len() as u64));
    let mut decoder = CommandDecoder::new(Limits::default());
    g.bench_function("ours_command_decoder", |b| {
        b.iter_batched_ref(
            || input.clone(),
            |buf| {
                while let Some(cmd) = decoder.decode(buf, true).unwrap() {
                    black_box(cmd);
                }
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("ours_decode_frame", |b| {
        b.iter_batched_ref(
            || input.clone(),
            |buf| {
                while let Some(f) = decode_frame(buf, &Limits::default()).unwrap() {
                    black_box(f);
                }
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("redis_protocol_decode_bytes_mut", |b| {
        b.iter_batched_ref(
            || input.clone(),
            |buf| {
                while let Some(f) = theirs_decode::decode_bytes_mut(buf).unwrap() {
                    black_box(f);
                }
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("redis_protocol_decode_range_no_frames", |b| {
        b.iter_batched_ref(
            || input.clone(),
            |buf| {
                let mut at = 0;
                while let Some((f, n)) = theirs_decode::decode_range(&buf[at..]).unwrap() {
                    black_box(f);
                    at += n;
                }
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn decode_array(c: &mut Criterion) {
    let input = wire(&[ours_frame(&array_reply())]);
    let mut g = c.benchmark_group("decode_array_1000");
    g.throughput(Throughput::Bytes(input.len() as u64));
    g.bench_function("ours_decode_frame", |b| {
        b.iter_batched_ref(
            || input.clone(),
            |buf| black_box(decode_frame(buf, &Limits::default()).unwrap()),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("redis_protocol_decode_bytes_mut", |b| {
        b.iter_batched_ref(
            || input.clone(),
            |buf| black_box(theirs_decode::decode_bytes_mut(buf).unwrap()),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn encode_pipeline(c: &mut Criterion) {
    let cmds = set_commands();
    let ours: Vec<Frame> = cmds.iter().map(|a| ours_frame(a)).collect();
    let theirs: Vec<BytesFrame> = cmds.iter().map(|a| theirs_frame(a)).collect();
    let len = wire(&ours).len();
    let mut g = c.benchmark_group("encode_pipeline_16_set");
    g.throughput(Throughput::Bytes(len as u64));
    let mut out = BytesMut::with_capacity(len * 2);
    g.bench_function("ours_encode_frame", |b| {
        b.iter(|| {
            out.clear();
            for f in &ours {
                encode_frame(f, Protocol::Resp2, &mut out);
            }
            black_box(&out);
        })
    });
    g.bench_function("redis_protocol_extend_encode", |b| {
        b.iter(|| {
            out.clear();
            for f in &theirs {
                theirs_encode::extend_encode(&mut out, f, false).unwrap();
            }
            black_box(&out);
        })
    });
    g.finish();
}

fn encode_array(c: &mut Criterion) {
    let items = array_reply();
    let ours = ours_frame(&items);
    let theirs = theirs_frame(&items);
    let len = wire(std::slice::from_ref(&ours)).len();
    let mut g = c.benchmark_group("encode_array_1000");
    g.throughput(Throughput::Bytes(len as u64));
    let mut out = BytesMut::with_capacity(len * 2);
    g.bench_function("ours_encode_frame", |b| {
        b.iter(|| {
            out.clear();
            encode_frame(&ours, Protocol::Resp2, &mut out);
            black_box(&out);
        })
    });
    g.bench_function("ours_reply_writer", |b| {
        b.iter(|| {
            out.clear();
            let mut w = ReplyWriter::new(&mut out, Protocol::Resp2);
            w.array_len(items.len());
            for i in &items {
                w.bulk(i);
            }
            black_box(&out);
        })
    });
    g.bench_function("redis_protocol_extend_encode", |b| {
        b.iter(|| {
            out.clear();
            theirs_encode::extend_encode(&mut out, &theirs, false).unwrap();
            black_box(&out);
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    decode_pipeline,
    decode_array,
    encode_pipeline,
    encode_array
);
criterion_main!(benches);
