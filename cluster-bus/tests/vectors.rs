//! Every golden vector (real redis-server 7.0.15 messages, `tests/fixtures/NAME.hex`)
//! decodes to exactly the fields its `decode.py` dump (`NAME.txt`) lists, and re-encodes
//! to the identical bytes. Every row of every `.txt` is checked; an unknown row fails.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use bytes::{Bytes, BytesMut};
use cluster_bus::{
    decode_message, encode, encoded_len, Body, Limits, Message, ModuleId, MsgFlags, NodeFlags,
    PingExt, SlotSet,
};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn read_hex(text: &str) -> Vec<u8> {
    let digits: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect();
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
        .collect()
}

/// One field row of a decode.py dump.
#[derive(Debug)]
struct Row {
    section: Section,
    offset: usize,
    size: usize,
    field: String,
    raw: String,
    decoded: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Section {
    Header,
    Body,
    Gossip(usize),
    Ext(usize),
}

fn parse_rows(txt: &str) -> (String, Vec<Row>) {
    let mut rows = Vec::new();
    let mut section = Section::Header;
    let mut base = 0usize;
    let mut message_line = String::new();
    for line in txt.lines() {
        let t = line.trim_start();
        if t.starts_with('#') || t.is_empty() || t.starts_with("offset ") {
            continue;
        }
        if let Some(rest) = t.strip_prefix("message: ") {
            message_line = rest.to_string();
            continue;
        }
        if t.starts_with("HEADER") {
            section = Section::Header;
            continue;
        }
        if t.starts_with("BODY") {
            section = Section::Body;
            continue;
        }
        if t.starts_with("RECEIVER CHECKS") {
            section = Section::Body;
            continue;
        }
        if t.starts_with("signature ==") || t.starts_with("totlen ") || t.starts_with("ver ==") {
            assert!(t.ends_with(": ok"), "receiver check failed in dump: {t}");
            continue;
        }
        assert!(!t.starts_with("PROBLEM") && !t.starts_with("NOTE"), "{t}");
        for (prefix, mk) in [
            ("gossip[", Section::Gossip as fn(usize) -> Section),
            ("extension[", Section::Ext as fn(usize) -> Section),
        ] {
            if let Some(rest) = t.strip_prefix(prefix) {
                let (idx, rest) = rest.split_once("] at offset ").unwrap();
                section = mk(idx.parse().unwrap());
                base = rest.trim().parse().unwrap();
            }
        }
        if matches!(section, Section::Gossip(_) | Section::Ext(_)) && t.starts_with(['g', 'e']) {
            continue;
        }
        let (off, rest) = next_token(t);
        let (size, rest) = next_token(rest);
        let (field, rest) = next_token(rest);
        let (offset, section_now) = match off.strip_prefix('+') {
            Some(rel) => (base + rel.parse::<usize>().unwrap(), section),
            None => (off.parse::<usize>().unwrap(), section),
        };
        let rest_t = rest.trim_start();
        let raw_len = rest_t
            .find(|c: char| !c.is_ascii_hexdigit())
            .unwrap_or(rest_t.len());
        let (raw, decoded) = if rest.starts_with("    ") && rest_t.starts_with('"') || raw_len == 0
        {
            (String::new(), rest_t.to_string())
        } else if rest_t[raw_len..].starts_with("...(") {
            let close = rest_t.find(')').unwrap() + 1;
            (
                rest_t[..close].to_string(),
                rest_t[close..].trim().to_string(),
            )
        } else {
            (
                rest_t[..raw_len].to_string(),
                rest_t[raw_len..].trim().to_string(),
            )
        };
        rows.push(Row {
            section: section_now,
            offset,
            size: size.parse().unwrap(),
            field: field.to_string(),
            raw,
            decoded,
        });
    }
    (message_line, rows)
}

/// The next whitespace-delimited token and what follows it (one separator removed).
fn next_token(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    (&s[..end], s.get(end + 1..).unwrap_or(""))
}

fn first_int(s: &str) -> u64 {
    let tok = s.split([' ', ';']).next().unwrap();
    tok.parse()
        .unwrap_or_else(|_| panic!("no integer in {s:?}"))
}

fn quoted(s: &str) -> &str {
    let q = s.chars().next().unwrap();
    assert!(q == '"' || q == '\'', "not quoted: {s}");
    let end = s[1..].find(q).unwrap() + 1;
    &s[1..end]
}

fn type_name(code: u16) -> &'static str {
    [
        "PING",
        "PONG",
        "MEET",
        "FAIL",
        "PUBLISH",
        "FAILOVER_AUTH_REQUEST",
        "FAILOVER_AUTH_ACK",
        "UPDATE",
        "MFSTART",
        "MODULE",
        "PUBLISHSHARD",
    ][usize::from(code)]
}

fn flag_names<I: Iterator<Item = (&'static str, B)>, B>(it: I) -> String {
    let names: Vec<_> = it.map(|(n, _)| n).collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(",")
    }
}

fn slots_text(s: &SlotSet) -> String {
    let ranges: Vec<String> = s
        .ranges()
        .map(|r| {
            if r.start() == r.end() {
                r.start().to_string()
            } else {
                format!("{}-{}", r.start(), r.end())
            }
        })
        .collect();
    let r = if ranges.is_empty() {
        "(none)".to_string()
    } else {
        ranges.join(" ")
    };
    format!("{} slots: {r}", s.len())
}

fn check_header_row(msg: &Message, wire: &[u8], row: &Row) {
    let h = &msg.header;
    let d = row.decoded.as_str();
    let ping = msg.body.ping();
    match row.field.as_str() {
        "sig" => assert_eq!(d, "\"RCmb\""),
        "totlen" => {
            assert_eq!(first_int(d) as usize, encoded_len(msg));
            assert_eq!(first_int(d) as usize, wire.len());
        }
        "ver" => assert_eq!(first_int(d), u64::from(h.version)),
        "port" => assert_eq!(first_int(d), u64::from(h.port)),
        "type" => assert_eq!(
            d,
            format!("{} = {}", msg.body.code(), type_name(msg.body.code()))
        ),
        "count" => {
            let c = ping.map_or(usize::from(h.unused.count), |p| p.gossip.len());
            assert_eq!(first_int(d) as usize, c);
        }
        "currentEpoch" => assert_eq!(first_int(d), h.current_epoch),
        "configEpoch" => assert_eq!(first_int(d), h.config_epoch),
        "offset" => assert_eq!(first_int(d), h.offset),
        "sender" => assert_eq!(quoted(d), h.sender.to_string()),
        "myslots" => assert_eq!(d, slots_text(&h.myslots)),
        "slaveof" => match h.master() {
            None => assert_eq!(d, "(all zero = none)"),
            Some(m) => assert_eq!(quoted(d), m.to_string()),
        },
        "myip" => {
            if h.myip.is_empty() {
                assert!(d.starts_with("(all zero"), "{d}");
                assert!(h.myip.raw().iter().all(|&b| b == 0));
            } else {
                assert_eq!(d, format!("\"{}\" (announced IP)", h.myip));
            }
        }
        "extensions" => {
            let n = match ping {
                Some(p) if h.mflags.contains(MsgFlags::EXT_DATA) => p.extensions.len(),
                _ => usize::from(h.unused.extensions),
            };
            assert_eq!(first_int(d) as usize, n);
        }
        "notused1" => {
            assert_eq!(d, "all zero");
            assert_eq!(h.unused.notused1, [0; 30]);
        }
        "pport" => assert_eq!(first_int(d), u64::from(h.pport)),
        "cport" => assert_eq!(first_int(d), u64::from(h.cport)),
        "flags" => assert_eq!(
            d,
            format!(
                "0x{:04x} = {}",
                h.flags.bits(),
                flag_names(h.flags.iter_names())
            )
        ),
        "state" => {
            let s = u8::from(h.state);
            assert_eq!(d, format!("{s} = {}", ["ok", "fail"][usize::from(s)]));
        }
        "mflags" => assert_eq!(
            d,
            format!(
                "mflags[0]=0x{:02x} = {}; mflags[1]=0x{:02x} mflags[2]=0x{:02x}",
                h.mflags.bits(),
                flag_names(h.mflags.iter_names()),
                h.unused.mflags_tail[0],
                h.unused.mflags_tail[1]
            )
        ),
        f => panic!("unchecked header field {f}"),
    }
}

fn check_gossip_row(msg: &Message, i: usize, row: &Row) {
    let g = msg.body.ping().unwrap().gossip.get(i).unwrap();
    let d = row.decoded.as_str();
    match row.field.as_str() {
        "nodename" => assert_eq!(quoted(d), g.node.to_string()),
        "ping_sent" => assert_eq!(first_int(d), u64::from(g.ping_sent)),
        "pong_received" => assert_eq!(first_int(d), u64::from(g.pong_received)),
        "ip" => assert_eq!(quoted(d).as_bytes(), g.ip.as_bytes()),
        "port" => assert_eq!(first_int(d), u64::from(g.port)),
        "cport" => assert_eq!(first_int(d), u64::from(g.cport)),
        "flags" => {
            let names = flag_names(g.flags.iter_names());
            assert_eq!(d, format!("0x{:04x} = {names}", g.flags.bits()));
        }
        "pport" => assert_eq!(first_int(d), u64::from(g.pport)),
        "notused1" => assert_eq!(first_int(d), u64::from(g.unused)),
        f => panic!("unchecked gossip field {f}"),
    }
}

fn check_ext_row(msg: &Message, i: usize, row: &Row) {
    let e = &msg.body.ping().unwrap().extensions.iter().nth(i).unwrap();
    let d = row.decoded.as_str();
    match row.field.as_str() {
        "length" => assert_eq!(first_int(d) as usize, e.encoded_len()),
        "type" => {
            assert_eq!(first_int(d), u64::from(e.ext_type()));
            assert_eq!(d, "0 = HOSTNAME");
        }
        "unused" => assert_eq!(first_int(d), 0),
        "string" => {
            let PingExt::Hostname(s) = e else {
                panic!("expected a hostname, got {e:?}")
            };
            let pad = e.encoded_len() - 8 - s.len();
            assert_eq!(
                d,
                format!("\"{}\" + {pad} NUL pad byte(s)", s.escape_ascii())
            );
        }
        f => panic!("unchecked extension field {f}"),
    }
}

fn check_body_row(msg: &Message, row: &Row) {
    let d = row.decoded.as_str();
    match (&msg.body, row.field.as_str()) {
        (Body::Fail(n), "nodename") => assert_eq!(quoted(d), n.to_string()),
        (Body::Publish(p) | Body::PublishShard(p), f) => match f {
            "channel_len" => assert_eq!(first_int(d) as usize, p.channel.len()),
            "message_len" => assert_eq!(first_int(d) as usize, p.message.len()),
            "channel" => assert_eq!(quoted(d).as_bytes(), &p.channel[..]),
            "message" => assert_eq!(quoted(d).as_bytes(), &p.message[..]),
            f => panic!("unchecked publish field {f}"),
        },
        (Body::Update(u), f) => match f {
            "configEpoch" => assert_eq!(first_int(d), u.config_epoch),
            "nodename" => assert_eq!(quoted(d), u.node.to_string()),
            "slots" => assert_eq!(d, slots_text(&u.slots)),
            f => panic!("unchecked update field {f}"),
        },
        (Body::Module(m), f) => match f {
            "module_id" => {
                let value = d.split(" = ").nth(1).map(first_int).unwrap();
                assert_eq!(u64::from_le_bytes(m.module_id.0), value);
                let name = quoted(d.split("9-char name: ").nth(1).unwrap());
                assert_eq!(
                    ModuleId::from_module_name(name.as_bytes()),
                    Some(m.module_id)
                );
                assert!(d.ends_with("encver 0"));
            }
            "len" => assert_eq!(first_int(d) as usize, m.payload.len()),
            "type" => assert_eq!(first_int(d), u64::from(m.module_type)),
            "payload" => assert_eq!(quoted(d).as_bytes(), &m.payload[..]),
            f => panic!("unchecked module field {f}"),
        },
        (b, f) => panic!("unchecked body field {f} for {b:?}"),
    }
}

fn check_vector(name: &str) {
    let wire = read_hex(&fixture(&format!("{name}.hex")));
    let (message_line, rows) = parse_rows(&fixture(&format!("{name}.txt")));
    let msg = decode_message(Bytes::from(wire.clone()), &Limits::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"));

    let mut out = BytesMut::new();
    encode(&msg, &mut out).unwrap();
    assert!(out[..] == wire[..], "{name}: re-encoding differs");

    let code = msg.body.code();
    assert!(message_line.starts_with(&format!(
        "{} (type {code}), {} bytes",
        type_name(code),
        wire.len()
    )));
    let header_rows = rows.iter().filter(|r| r.section == Section::Header).count();
    assert_eq!(header_rows, 20, "{name}: every header field is listed");
    for row in &rows {
        if !row.raw.is_empty() {
            let hex = row.raw.split("...").next().unwrap();
            let got: String = out[row.offset..row.offset + row.size]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert!(got.starts_with(hex), "{name}: raw bytes of {row:?}");
        }
        match row.section {
            Section::Header => check_header_row(&msg, &wire, row),
            Section::Gossip(i) => check_gossip_row(&msg, i, row),
            Section::Ext(i) => check_ext_row(&msg, i, row),
            Section::Body => check_body_row(&msg, row),
        }
    }
    let body_rows = rows.iter().filter(|r| r.section == Section::Body).count();
    let expected_body_rows = match &msg.body {
        Body::Fail(_) => 1,
        Body::Publish(_) | Body::PublishShard(_) | Body::Module(_) => 4,
        Body::Update(_) => 3,
        _ => 0,
    };
    assert_eq!(body_rows, expected_body_rows, "{name}: body rows");
    // Every gossip entry and extension of the message was listed in the dump.
    if let Some(p) = msg.body.ping() {
        let gossip_rows = rows
            .iter()
            .filter(|r| matches!(r.section, Section::Gossip(_)))
            .count();
        assert_eq!(gossip_rows, 9 * p.gossip.len(), "{name}");
        let ext_rows = rows
            .iter()
            .filter(|r| matches!(r.section, Section::Ext(_)))
            .count();
        assert_eq!(ext_rows, 4 * p.extensions.len(), "{name}");
    }
}

macro_rules! vectors {
    ($($name:ident),* $(,)?) => { $(
        #[test]
        #[allow(non_snake_case)]
        fn $name() { check_vector(stringify!($name)); }
    )* };
}

vectors!(
    FAIL,
    FAILOVER_AUTH_ACK,
    FAILOVER_AUTH_ACK_manual,
    FAILOVER_AUTH_REQUEST,
    FAILOVER_AUTH_REQUEST_force,
    FAILOVER_AUTH_REQUEST_manual,
    MEET,
    MEET_no_ext,
    MFSTART,
    MODULE,
    PING,
    PING_announce_ip,
    PING_first_after_MEET,
    PING_paused_reply_to_MFSTART,
    PING_replica_hostname,
    PING_with_PFAIL_gossip,
    PONG,
    PONG_after_TAKEOVER,
    PONG_hostname,
    PONG_new_master_after_failover,
    PONG_new_master_after_manual_failover,
    PONG_reply_to_MEET,
    PUBLISH,
    PUBLISHSHARD,
    UPDATE,
    run1_UPDATE_after_manual_failover,
);

#[test]
fn every_fixture_is_listed() {
    let dir = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let n = std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "hex")
        })
        .count();
    assert_eq!(n, 26);
}

#[test]
fn flag_names_match_redis() {
    // The .txt dumps name flags as Redis does; our bit sets must use the same bits.
    assert_eq!(NodeFlags::MIGRATE_TO.bits(), 0x100);
    assert_eq!(MsgFlags::EXT_DATA.bits(), 0x04);
}

/// Messages built from their logical content (not decoded first) come out as the
/// bytes Redis sent: zero-filled unused fields, hostname padding, EXT_DATA and
/// `extensions` set by the encoder.
#[test]
fn built_messages_equal_what_redis_sent() {
    use cluster_bus::{
        ClusterState, Extensions, Gossip, GossipEntry, Header, NetIp, NodeName, PingBody,
    };
    let name = |s: &str| NodeName::try_from(s).unwrap();
    let encode_to_vec = |m: &Message| {
        let mut out = BytesMut::new();
        encode(m, &mut out).unwrap();
        out.to_vec()
    };

    // MEET from 7100 with its hostname, before any slot is assigned (state fail).
    let mut h = Header::new(name("f1fc5a7ef030ad86f3726a6a3b3db2a81ca0c950"));
    h.port = 7100;
    h.cport = 17100;
    h.flags = NodeFlags::MASTER | NodeFlags::MYSELF;
    h.state = ClusterState::Fail;
    let meet = Message::new(
        h,
        Body::Meet(PingBody {
            gossip: Gossip::default(),
            extensions: Extensions::new(&[
                PingExt::hostname(&b"node-7100.busvec.test"[..]).unwrap()
            ])
            .unwrap(),
        }),
    );
    assert_eq!(encode_to_vec(&meet), read_hex(&fixture("MEET.hex")));

    // Steady-state PING from master 7102 with three gossip entries.
    let mut h = Header::new(name("1ed8d80447cbda48b409627201916475d05885cf"));
    h.port = 7102;
    h.cport = 17102;
    h.current_epoch = 4;
    h.config_epoch = 3;
    h.offset = 133;
    h.myslots = SlotSet::from_range(10923..=16383);
    h.flags = NodeFlags::MASTER | NodeFlags::MYSELF | NodeFlags::MIGRATE_TO;
    let entry = |node: &str, ping_sent, port, flags| GossipEntry {
        node: name(node),
        ping_sent,
        pong_received: 1_795_702_709,
        ip: NetIp::new(b"127.0.0.1").unwrap(),
        port,
        cport: port + 10000,
        flags,
        pport: 0,
        unused: 0,
    };
    let gossip = Gossip::from_entries(&[
        entry(
            "8a9273a6502c47c5de0d919befa2768c3fc42846",
            0,
            7101,
            NodeFlags::MASTER | NodeFlags::MIGRATE_TO,
        ),
        entry(
            "a0976747c3460ca17c0acc910b8934b4b2249572",
            1_795_702_710,
            7103,
            NodeFlags::SLAVE,
        ),
        entry(
            "f1fc5a7ef030ad86f3726a6a3b3db2a81ca0c950",
            0,
            7100,
            NodeFlags::MASTER,
        ),
    ])
    .unwrap();
    let ping = Message::new(
        h,
        Body::Ping(PingBody {
            gossip,
            extensions: Extensions::empty(),
        }),
    );
    assert_eq!(encode_to_vec(&ping), read_hex(&fixture("PING.hex")));
}
