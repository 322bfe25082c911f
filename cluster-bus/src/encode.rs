//! Encoding, byte-identical to what redis-server 7.0 writes for the same message.

use bytes::{BufMut, BytesMut};

use crate::flags::MsgFlags;
use crate::gossip::GOSSIP_LEN;
use crate::message::{Body, Message, HEADER_LEN, SIGNATURE};
use crate::name::NAME_LEN;
use crate::slots::SLOT_BITMAP_LEN;

/// Why a message cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The message would be longer than a u32 `totlen` can say.
    #[error("message of {0} bytes does not fit in a u32 totlen")]
    TooLong(usize),
}

/// The `totlen` [`encode`] will write for `msg`.
pub fn encoded_len(msg: &Message) -> usize {
    HEADER_LEN
        + match &msg.body {
            Body::Ping(p) | Body::Pong(p) | Body::Meet(p) => {
                p.gossip.as_bytes().len() + p.extensions.as_bytes().len()
            }
            Body::Fail(_) => NAME_LEN,
            Body::Publish(p) | Body::PublishShard(p) => 8 + p.channel.len() + p.message.len(),
            Body::FailoverAuthRequest | Body::FailoverAuthAck | Body::MfStart => 0,
            Body::Update(_) => 8 + NAME_LEN + SLOT_BITMAP_LEN,
            Body::Module(m) => 13 + m.payload.len(),
            Body::Unknown { data, .. } => data.len(),
        }
}

/// Append `msg` to `out` as one frame.
///
/// Derived fields are computed here: `totlen`, `type`, and for PING/PONG/MEET `count`,
/// `extensions` and the EXT_DATA flag (set whenever there are extensions, as
/// `clusterSendPing` does). Everything else is written from the message, including the
/// ignored fields of [`crate::Unused`], so a decoded message comes out byte for byte.
pub fn encode(msg: &Message, out: &mut BytesMut) -> Result<(), EncodeError> {
    let len = encoded_len(msg);
    let totlen = u32::try_from(len).map_err(|_| EncodeError::TooLong(len))?;
    let h = &msg.header;
    let ping = msg.body.ping();
    let (count, ext_count, mflags) = match ping {
        Some(p) => {
            // At most 65535 by construction of Extensions.
            let ext = (p.extensions.len() & 0xffff) as u16;
            // The decoder guarantees at most 65535 entries, and so does Gossip::from_entries.
            let count = (p.gossip.len() & 0xffff) as u16;
            if ext > 0 {
                (count, ext, h.mflags | MsgFlags::EXT_DATA)
            } else if h.mflags.contains(MsgFlags::EXT_DATA) {
                (count, 0, h.mflags)
            } else {
                (count, h.unused.extensions, h.mflags)
            }
        }
        None => (h.unused.count, h.unused.extensions, h.mflags),
    };
    out.reserve(len);
    out.put_slice(&SIGNATURE);
    out.put_u32(totlen);
    out.put_u16(h.version);
    out.put_u16(h.port);
    out.put_u16(msg.body.code());
    out.put_u16(count);
    out.put_u64(h.current_epoch);
    out.put_u64(h.config_epoch);
    out.put_u64(h.offset);
    out.put_slice(h.sender.as_bytes());
    put_slots(out, &h.myslots);
    out.put_slice(h.slaveof.as_bytes());
    out.put_slice(h.myip.raw());
    out.put_u16(ext_count);
    out.put_slice(&h.unused.notused1);
    out.put_u16(h.pport);
    out.put_u16(h.cport);
    out.put_u16(h.flags.bits());
    out.put_u8(u8::from(h.state));
    out.put_u8(mflags.bits());
    out.put_slice(&h.unused.mflags_tail);
    match &msg.body {
        Body::Ping(p) | Body::Pong(p) | Body::Meet(p) => {
            debug_assert_eq!(p.gossip.as_bytes().len() % GOSSIP_LEN, 0);
            out.put_slice(p.gossip.as_bytes());
            out.put_slice(p.extensions.as_bytes());
        }
        Body::Fail(node) => out.put_slice(node.as_bytes()),
        Body::Publish(p) | Body::PublishShard(p) => {
            // Lengths fit: the whole message fits in a u32.
            out.put_u32(p.channel.len() as u32);
            out.put_u32(p.message.len() as u32);
            out.put_slice(&p.channel);
            out.put_slice(&p.message);
        }
        Body::FailoverAuthRequest | Body::FailoverAuthAck | Body::MfStart => {}
        Body::Update(u) => {
            out.put_u64(u.config_epoch);
            out.put_slice(u.node.as_bytes());
            put_slots(out, &u.slots);
        }
        Body::Module(m) => {
            out.put_slice(&m.module_id.0);
            out.put_u32(m.payload.len() as u32);
            out.put_u8(m.module_type);
            out.put_slice(&m.payload);
        }
        Body::Unknown { data, .. } => out.put_slice(data),
    }
    Ok(())
}

fn put_slots(out: &mut BytesMut, slots: &crate::slots::SlotSet) {
    let mut wire = [0u8; SLOT_BITMAP_LEN];
    slots.write_wire(&mut wire);
    out.put_slice(&wire);
}
