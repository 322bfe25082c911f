//! Case-insensitive lookup of command names, which are arbitrary bytes (`rename-command`
//! takes any). Every command a client sends is looked up here, so a lookup reads the name
//! once, in place: no lower-cased copy, no UTF-8 check, no general-purpose hasher.

/// A name's lookup key: its length and its first and last eight bytes, ASCII lower-cased
/// (zero padded). It is the whole name up to 16 bytes; longer ones are also compared whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    len: usize,
    head: u64,
    tail: u64,
}

/// Names up to this long are told apart by their [`Key`] alone.
const KEYED: usize = 16;

const ONES: u64 = 0x0101_0101_0101_0101;

impl Key {
    #[inline]
    fn of(name: &[u8]) -> Key {
        let n = name.len();
        let (head, tail) = if n <= 8 {
            (lower8(load_short(name)), 0)
        } else {
            (lower8(load8(name, 0)), lower8(load8(name, n - 8)))
        };
        Key { len: n, head, tail }
    }

    /// Slot of the key in a table of `1 << (64 - shift)` slots.
    #[inline]
    fn slot(&self, shift: u32) -> usize {
        let x = self.head ^ self.tail.rotate_left(23) ^ self.len as u64;
        (x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> shift) as usize
    }
}

/// Eight bytes from `at` (zero when there are fewer).
fn load8(b: &[u8], at: usize) -> u64 {
    b.get(at..at.saturating_add(8))
        .and_then(|s| <[u8; 8]>::try_from(s).ok())
        .map_or(0, u64::from_le_bytes)
}

/// Up to eight bytes, zero padded: overlapping loads put each byte at its own position,
/// so OR-ing them is exact.
fn load_short(b: &[u8]) -> u64 {
    let n = b.len();
    let byte = |i: usize| b.get(i).map_or(0, |&c| u64::from(c) << (8 * i));
    let four = |at: usize| {
        b.get(at..at + 4)
            .and_then(|s| <[u8; 4]>::try_from(s).ok())
            .map_or(0, |w| u64::from(u32::from_le_bytes(w)) << (8 * at))
    };
    match n {
        0 => 0,
        1..=3 => byte(0) | byte(n / 2) | byte(n - 1),
        _ => four(0) | four(n - 4),
    }
}

/// ASCII lower case of eight bytes at once (bytes outside `A`..=`Z` are kept).
fn lower8(x: u64) -> u64 {
    // Clearing the top bits keeps each byte's additions from carrying into the next.
    let low7 = x & (0x7F * ONES);
    let at_least_a = low7 + (0x80 - u64::from(b'A')) * ONES;
    let past_z = low7 + (0x80 - u64::from(b'Z') - 1) * ONES;
    let upper = at_least_a & !past_z & !x & (0x80 * ONES);
    x | (upper >> 2)
}

/// A slot of the table: a key and its value, or empty (`len` is `EMPTY`, which no name
/// has).
#[derive(Debug, Clone, Copy)]
struct Slot {
    key: Key,
    value: usize,
}

const EMPTY: usize = usize::MAX;

/// Names (ignoring ASCII case) to values, built once: open addressing over a table at
/// most half full, keys in the slots, so a lookup reads one or two slots and compares
/// three words (and whole names only past 16 bytes).
#[derive(Debug)]
pub struct NameIndex {
    slots: Box<[Slot]>,
    /// Per slot: its name (lower case) when longer than [`KEYED`], else empty.
    long_names: Box<[Box<[u8]>]>,
    shift: u32,
    len: usize,
}

impl NameIndex {
    /// The index of `names`; a name given twice keeps its last value.
    pub fn new<'a>(names: impl IntoIterator<Item = (&'a [u8], usize)>) -> NameIndex {
        let mut entries: Vec<(Box<[u8]>, usize)> = Vec::new();
        for (name, value) in names {
            let lower: Box<[u8]> = name.to_ascii_lowercase().into();
            match entries.iter_mut().find(|e| e.0 == lower) {
                Some(e) => e.1 = value,
                None => entries.push((lower, value)),
            }
        }
        // At most half full, so a probe always ends at an empty slot; plain commands have
        // an empty index of subcommands, two slots.
        let size = (entries.len() * 2).next_power_of_two().max(2);
        let shift = 64 - size.trailing_zeros();
        let empty = Slot {
            key: Key {
                len: EMPTY,
                head: 0,
                tail: 0,
            },
            value: 0,
        };
        let mut slots = vec![empty; size].into_boxed_slice();
        let mut long_names: Box<[Box<[u8]>]> = vec![Box::default(); size].into_boxed_slice();
        let len = entries.len();
        for (name, value) in entries {
            let key = Key::of(&name);
            let mut s = key.slot(shift);
            while slots.get(s).is_some_and(|v| v.key.len != EMPTY) {
                s = (s + 1) & (size - 1);
            }
            if let Some(v) = slots.get_mut(s) {
                *v = Slot { key, value };
            }
            if name.len() > KEYED {
                if let Some(v) = long_names.get_mut(s) {
                    *v = name;
                }
            }
        }
        NameIndex {
            slots,
            long_names,
            shift,
            len,
        }
    }

    /// The value of `name`, ignoring ASCII case. Inlined: it runs once per command, and as
    /// a call its register saves cost as much as the lookup.
    #[inline(always)]
    pub fn get(&self, name: &[u8]) -> Option<usize> {
        let key = Key::of(name);
        let mask = self.slots.len() - 1;
        let mut s = key.slot(self.shift);
        loop {
            // The table always has empty slots, which end the probe.
            let slot = self.slots.get(s)?;
            if slot.key == key && (key.len <= KEYED || self.long_name_at(s, name)) {
                return Some(slot.value);
            }
            if slot.key.len == EMPTY {
                return None;
            }
            s = (s + 1) & mask;
        }
    }

    /// Whether the long name in slot `s` is `name`.
    #[inline(never)]
    fn long_name_at(&self, s: usize, name: &[u8]) -> bool {
        self.long_names
            .get(s)
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
    }

    /// Number of names.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn lower8_matches_bytewise_lower_case_for_every_byte_in_every_position() {
        for pos in 0..8 {
            for b in 0..=255u8 {
                for fill in [0u8, b'A', b'z', 0x80, 0xFF, b'Z' + 1, b'A' - 1] {
                    let mut bytes = [fill; 8];
                    bytes[pos] = b;
                    let want = u64::from_le_bytes(bytes.map(|c| c.to_ascii_lowercase()));
                    assert_eq!(lower8(u64::from_le_bytes(bytes)), want, "{bytes:?}");
                }
            }
        }
    }

    #[test]
    fn short_loads_keep_every_byte_in_place() {
        let src = b"abcdefgh";
        for n in 0..=8 {
            let mut want = [0u8; 8];
            want[..n].copy_from_slice(&src[..n]);
            assert_eq!(load_short(&src[..n]), u64::from_le_bytes(want), "len {n}");
        }
    }

    #[test]
    fn lookups_ignore_ascii_case_only() {
        let names: Vec<&[u8]> = vec![
            b"get",
            b"set",
            b"cluster",
            b"restore-asking",
            b"georadiusbymember_ro",
            b"a",
            b"\xff\x00weird name \xc3\xa9",
            b"",
            b"@",
        ];
        let idx = NameIndex::new(names.iter().enumerate().map(|(i, n)| (*n, i)));
        assert_eq!(idx.len(), names.len());
        for (i, n) in names.iter().enumerate() {
            assert_eq!(idx.get(n), Some(i));
            assert_eq!(idx.get(&n.to_ascii_uppercase()), Some(i));
        }
        assert_eq!(idx.get(b"GeT"), Some(0));
        assert_eq!(idx.get(b"GEORADIUSBYMEMBER_RO"), Some(4));
        assert_eq!(idx.get(b"georadiusbymember_rO"), Some(4));
        // Same key words, different middle: only the whole comparison tells them apart.
        assert_eq!(idx.get(b"georadiusXymember_ro"), None);
        // Case folding is ASCII only, and not `| 0x20`: '@' is not '`', 0xC3 is not 0xE3.
        assert_eq!(idx.get(b"\xff\x00WEIRD NAME \xc3\xa9"), Some(6));
        assert_eq!(idx.get(b"\xff\x00weird name \xe3\xa9"), None);
        assert_eq!(idx.get(b"\xdf\x00weird name \xc3\xa9"), None);
        assert_eq!(idx.get(b"@"), Some(8));
        assert_eq!(idx.get(b"`"), None);
        for miss in [
            &b"ge"[..],
            b"gett",
            b"get\0",
            b"sets",
            b"clusters",
            b"restore_asking",
        ] {
            assert_eq!(idx.get(miss), None, "{miss:?}");
        }
        let long = vec![b'x'; 100_000];
        assert_eq!(idx.get(&long), None);
    }

    #[test]
    fn empty_and_single_indexes_find_only_what_they_hold() {
        let empty = NameIndex::new(std::iter::empty());
        assert!(empty.is_empty());
        for name in [&b""[..], b"get", b"a-much-longer-name-than-sixteen"] {
            assert_eq!(empty.get(name), None);
        }
        let one = NameIndex::new([(&b"get"[..], 7)]);
        assert_eq!(one.get(b"GET"), Some(7));
        assert_eq!(one.get(b"set"), None);
    }

    #[test]
    fn a_repeated_name_keeps_its_last_value() {
        let idx = NameIndex::new([(&b"get"[..], 1), (b"GET", 2), (b"set", 3)]);
        assert_eq!(idx.len(), 2);
        assert_eq!(idx.get(b"get"), Some(2));
    }

    #[test]
    fn many_similar_names_all_resolve() {
        let names: Vec<Vec<u8>> = (0..2000)
            .map(|i| format!("prefix-common-{i}-suffix-common").into_bytes())
            .chain((0..500).map(|i| format!("c{i}").into_bytes()))
            .collect();
        let idx = NameIndex::new(names.iter().enumerate().map(|(i, n)| (&n[..], i)));
        for (i, n) in names.iter().enumerate() {
            assert_eq!(idx.get(&n.to_ascii_uppercase()), Some(i));
        }
        assert_eq!(idx.get(b"prefix-common-2000-suffix-common"), None);
    }
}
