//! Redis's intset: a sorted array of integers of one width (16, 32 or 64 bits), widened
//! when a member needs it and never narrowed. SMEMBERS of an intset set is ascending.

/// Sorted distinct integers, stored at the narrowest width every member fits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intset {
    /// INTSET_ENC_INT16.
    I16(Box<[i16]>),
    /// INTSET_ENC_INT32.
    I32(Box<[i32]>),
    /// INTSET_ENC_INT64.
    I64(Box<[i64]>),
}

impl Default for Intset {
    fn default() -> Self {
        Intset::I16(Box::default())
    }
}

fn search<T: Ord + Copy>(v: &[T], x: Option<T>) -> Result<usize, usize> {
    match x {
        Some(x) => v.binary_search(&x),
        // Out of this width's range: it would go past one end.
        None => Err(usize::MAX),
    }
}

impl Intset {
    /// An empty intset (16-bit).
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match self {
            Intset::I16(v) => v.len(),
            Intset::I32(v) => v.len(),
            Intset::I64(v) => v.len(),
        }
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `x` is a member.
    pub fn contains(&self, x: i64) -> bool {
        match self {
            Intset::I16(v) => search(v, i16::try_from(x).ok()).is_ok(),
            Intset::I32(v) => search(v, i32::try_from(x).ok()).is_ok(),
            Intset::I64(v) => v.binary_search(&x).is_ok(),
        }
    }

    fn widen_for(&mut self, x: i64) {
        let need = if i16::try_from(x).is_ok() {
            2
        } else if i32::try_from(x).is_ok() {
            4
        } else {
            8
        };
        if need <= self.width() {
            return;
        }
        let all: Vec<i64> = self.iter().collect();
        *self = if need == 4 {
            Intset::I32(
                all.into_iter()
                    .filter_map(|v| i32::try_from(v).ok())
                    .collect(),
            )
        } else {
            Intset::I64(all.into_boxed_slice())
        };
    }

    /// Bytes per member (the intset `encoding` field).
    pub fn width(&self) -> usize {
        match self {
            Intset::I16(_) => 2,
            Intset::I32(_) => 4,
            Intset::I64(_) => 8,
        }
    }

    /// Adds `x`; true when it was not there.
    pub fn insert(&mut self, x: i64) -> bool {
        self.widen_for(x);
        fn ins<T: Ord + Copy>(v: &mut Box<[T]>, x: T) -> bool {
            match v.binary_search(&x) {
                Ok(_) => false,
                Err(i) => {
                    // Exact growth like intsetResize: an intset carries no slack.
                    let mut w = std::mem::take(v).into_vec();
                    w.reserve_exact(1);
                    w.insert(i, x);
                    *v = w.into_boxed_slice();
                    true
                }
            }
        }
        match self {
            Intset::I16(v) => i16::try_from(x).is_ok_and(|x| ins(v, x)),
            Intset::I32(v) => i32::try_from(x).is_ok_and(|x| ins(v, x)),
            Intset::I64(v) => ins(v, x),
        }
    }

    /// Removes `x`; true when it was there.
    pub fn remove(&mut self, x: i64) -> bool {
        fn rm<T: Ord + Copy>(v: &mut Box<[T]>, x: Option<T>) -> bool {
            match search(v, x) {
                Ok(i) => {
                    // Exact shrink, as intsetResize after a removal.
                    let mut w = std::mem::take(v).into_vec();
                    w.remove(i);
                    *v = w.into_boxed_slice();
                    true
                }
                Err(_) => false,
            }
        }
        match self {
            Intset::I16(v) => rm(v, i16::try_from(x).ok()),
            Intset::I32(v) => rm(v, i32::try_from(x).ok()),
            Intset::I64(v) => rm(v, Some(x)),
        }
    }

    /// The member at position `i` in ascending order.
    pub fn get(&self, i: usize) -> Option<i64> {
        match self {
            Intset::I16(v) => v.get(i).map(|&x| i64::from(x)),
            Intset::I32(v) => v.get(i).map(|&x| i64::from(x)),
            Intset::I64(v) => v.get(i).copied(),
        }
    }

    /// Removes and returns the member at position `i`.
    pub fn remove_at(&mut self, i: usize) -> Option<i64> {
        let x = self.get(i)?;
        self.remove(x);
        Some(x)
    }

    /// Members in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        (0..self.len()).filter_map(move |i| self.get(i))
    }

    /// Redis's intset bytes: encoding (u32 LE), length (u32 LE), members LE (RDB_TYPE_SET_INTSET).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.len() * self.width());
        out.extend_from_slice(&(self.width() as u32).to_le_bytes());
        out.extend_from_slice(&(self.len() as u32).to_le_bytes());
        match self {
            Intset::I16(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Intset::I32(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Intset::I64(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        }
        out
    }

    /// Heap bytes held.
    pub fn heap_size(&self) -> usize {
        match self {
            Intset::I16(v) => v.len() * 2,
            Intset::I32(v) => v.len() * 4,
            Intset::I64(v) => v.len() * 8,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widens_and_stays_sorted() {
        let mut s = Intset::new();
        assert!(s.insert(5));
        assert!(s.insert(-3));
        assert!(!s.insert(5));
        assert_eq!(s.width(), 2);
        assert!(s.insert(70000));
        assert_eq!(s.width(), 4);
        assert!(s.insert(i64::MIN));
        assert_eq!(s.width(), 8);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![i64::MIN, -3, 5, 70000]);
        assert!(s.remove(70000));
        // Never narrowed, as Redis.
        assert_eq!(s.width(), 8);
        assert!(!s.remove(1));
        assert!(!Intset::new().contains(1 << 40));
        // SADD s 1 2 3; DUMP s -> 02000000 03000000 0100 0200 0300.
        let mut s = Intset::new();
        for x in [3, 1, 2] {
            s.insert(x);
        }
        assert_eq!(s.to_bytes(), [2, 0, 0, 0, 3, 0, 0, 0, 1, 0, 2, 0, 3, 0]);
    }
}
