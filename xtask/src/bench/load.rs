//! A pipelined loader for the memory runs: one connection, commands written in large
//! batches by this thread while a second one reads and counts the replies, so loading a
//! million keys takes seconds and both servers receive exactly the same commands.

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;

/// `HSET hash:<n> f1 <v> ... f5 <v>`, 8-byte values.
pub fn small_hash(n: u64, out: &mut Vec<u8>) {
    let key = format!("hash:{n}");
    let vals: Vec<String> = (1..=5)
        .map(|i| format!("{:08}", (n * 5 + i) % 100_000_000))
        .collect();
    let mut args: Vec<&[u8]> = vec![b"HSET", key.as_bytes()];
    let fields: [&[u8]; 5] = [b"f1", b"f2", b"f3", b"f4", b"f5"];
    for (f, v) in fields.iter().zip(&vals) {
        args.push(f);
        args.push(v.as_bytes());
    }
    resp_proto::encode_command(out, &args);
}

/// `SADD set:<n> member:<n>:0 ... member:<n>:99` (strings, so the hashtable encoding).
pub fn string_set(n: u64, out: &mut Vec<u8>) {
    let key = format!("set:{n}");
    let members: Vec<String> = (0..100).map(|i| format!("member:{n}:{i}")).collect();
    let mut args: Vec<&[u8]> = vec![b"SADD", key.as_bytes()];
    args.extend(members.iter().map(|m| m.as_bytes()));
    resp_proto::encode_command(out, &args);
}

/// `ZADD zset:<n> 0 m0 1.5 m1 ... 148.5 m99` (listpack under the default thresholds).
pub fn small_zset(n: u64, out: &mut Vec<u8>) {
    let key = format!("zset:{n}");
    let pairs: Vec<(String, String)> = (0..100)
        .map(|i| (format!("{}", i as f64 * 1.5), format!("m{i}")))
        .collect();
    let mut args: Vec<&[u8]> = vec![b"ZADD", key.as_bytes()];
    for (s, m) in &pairs {
        args.push(s.as_bytes());
        args.push(m.as_bytes());
    }
    resp_proto::encode_command(out, &args);
}

/// Counts reply lines until `expected` single-line replies came; fails on an error reply.
fn read_replies(stream: TcpStream, expected: u64) -> Result<(), String> {
    let mut reader = BufReader::with_capacity(1 << 16, stream);
    let mut buf = vec![0u8; 1 << 16];
    let (mut seen, mut at_start) = (0u64, true);
    while seen < expected {
        let n = reader.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err(format!(
                "connection closed after {seen} of {expected} replies"
            ));
        }
        for &b in buf.get(..n).unwrap_or(&[]) {
            if at_start && b == b'-' {
                return Err("the server replied with an error while loading".into());
            }
            at_start = b == b'\n';
            if at_start {
                seen += 1;
            }
        }
    }
    Ok(())
}

/// Sends `count` commands made by `make(0..count)` and waits for every reply.
pub fn pipelined(port: u16, count: u64, make: fn(u64, &mut Vec<u8>)) -> Result<(), String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    let reader = stream.try_clone().map_err(|e| e.to_string())?;
    std::thread::scope(|scope| {
        let replies = scope.spawn(move || read_replies(reader, count));
        let mut batch = Vec::with_capacity(1 << 18);
        for n in 0..count {
            make(n, &mut batch);
            if batch.len() >= 1 << 18 {
                stream.write_all(&batch).map_err(|e| e.to_string())?;
                batch.clear();
            }
        }
        stream.write_all(&batch).map_err(|e| e.to_string())?;
        replies
            .join()
            .map_err(|_| "reply reader panicked".to_string())?
    })
}
