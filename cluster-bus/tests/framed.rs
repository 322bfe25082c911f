//! The codec on a real async byte stream, as a link task uses it.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use cluster_bus::{
    decode_message, BusCodec, CodecError, DecodeError, Limits, Message, MessageType,
};
use futures::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio_util::codec::{FramedRead, FramedWrite};

fn vector(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}.hex", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
    let digits: String = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect();
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
        .collect()
}

#[tokio::test]
async fn a_link_reads_messages_skips_ignored_ones_and_stops_on_bad_framing() {
    let (client, server) = tokio::io::duplex(1024);
    let mut bad_version = vector("FAIL");
    bad_version[9] = 2;
    let writer = tokio::spawn(async move {
        let mut client = client;
        for part in [
            vector("PING"),
            bad_version,
            vector("MEET"),
            b"HTTP/1.1".to_vec(),
        ] {
            // Dribble bytes in small writes, as a slow peer would.
            for chunk in part.chunks(333) {
                client.write_all(chunk).await.unwrap();
            }
        }
        client
    });
    let mut link = FramedRead::new(server, BusCodec::default());
    let first = link.next().await.unwrap().unwrap().unwrap();
    assert_eq!(first.message_type(), Some(MessageType::Ping));
    assert_eq!(
        link.next().await.unwrap().unwrap(),
        Err(DecodeError::Version(2))
    );
    let third = link.next().await.unwrap().unwrap().unwrap();
    assert_eq!(
        third.body.ping().unwrap().hostname(),
        Some(&b"node-7100.busvec.test"[..])
    );
    match link.next().await.unwrap() {
        Err(CodecError::Frame(DecodeError::BadSignature(sig))) => assert_eq!(&sig, b"HTTP"),
        other => panic!("expected a framing error, got {other:?}"),
    }
    drop(writer.await.unwrap());
}

#[tokio::test]
async fn written_messages_are_the_bytes_redis_sends() {
    let want = vector("PONG_hostname");
    let msg: Message = decode_message(want.clone().into(), &Limits::default()).unwrap();
    let mut sink = FramedWrite::new(Vec::new(), BusCodec::default());
    sink.send(&msg).await.unwrap();
    sink.send(msg).await.unwrap();
    let written = sink.into_inner();
    assert_eq!(written, [want.clone(), want].concat());
}
