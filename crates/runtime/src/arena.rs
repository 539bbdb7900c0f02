//! Splits the arena into the disjoint borrows one op needs: its outputs and scratch mutably, everything
//! else shared. Load-time validation guarantees an op's writable regions overlap nothing else it
//! touches, so every read-only region lies wholly inside one gap between writable regions.
use crate::error::OpError;

/// Most writable regions (outputs + scratch) one op may have.
pub const MAX_WRITES: usize = 5;

pub struct ArenaViews<'s> {
    gaps: [(usize, &'s [u8]); MAX_WRITES + 1],
    n_gaps: usize,
    writes: [Option<&'s mut [u8]>; MAX_WRITES],
}

impl<'s> ArenaViews<'s> {
    /// `writes[i] = (offset, len)`: region `i`, or `None` for an absent operand. Regions must be
    /// disjoint and inside `arena` (checked; `Err` otherwise).
    pub fn split(
        arena: &'s mut [u8],
        writes: &[Option<(usize, usize)>],
    ) -> Result<ArenaViews<'s>, OpError> {
        if writes.len() > MAX_WRITES {
            return Err(OpError::TooManyOperands);
        }
        let mut views = ArenaViews {
            gaps: [(0, &[]); MAX_WRITES + 1],
            n_gaps: 0,
            writes: Default::default(),
        };
        let mut rest = arena;
        let mut base = 0usize;
        // The present regions in order of offset, by picking the lowest one not yet placed each
        // time (at most MAX_WRITES of them, usually one or two: no sort routine linked; equal
        // offsets keep their operand order).
        let mut placed = 0u32;
        loop {
            let mut next: Option<(usize, usize, usize)> = None;
            for (i, w) in writes.iter().enumerate() {
                if let Some((off, len)) = *w {
                    if placed & (1 << i) == 0 && next.is_none_or(|(_, o, _)| off < o) {
                        next = Some((i, off, len));
                    }
                }
            }
            let Some((i, off, len)) = next else { break };
            placed |= 1 << i;
            let gap_len = off
                .checked_sub(base)
                .ok_or(OpError::Overlap { output: i })?;
            if gap_len.checked_add(len).is_none_or(|end| end > rest.len()) {
                return Err(OpError::Overlap { output: i });
            }
            // Both in range (checked above).
            let (gap, tail) = rest
                .split_at_mut_checked(gap_len)
                .ok_or(OpError::Overlap { output: i })?;
            let (region, tail) = tail
                .split_at_mut_checked(len)
                .ok_or(OpError::Overlap { output: i })?;
            if let (Some(g), Some(w)) = (views.gaps.get_mut(views.n_gaps), views.writes.get_mut(i))
            {
                *g = (base, gap);
                *w = Some(region);
            }
            views.n_gaps += 1;
            rest = tail;
            base = off + len;
        }
        if let Some(g) = views.gaps.get_mut(views.n_gaps) {
            *g = (base, rest);
        }
        views.n_gaps += 1;
        Ok(views)
    }

    /// The read-only region `[offset, offset + len)`, if it lies within one gap.
    pub fn read(&self, offset: usize, len: usize) -> Option<&'s [u8]> {
        let end = offset.checked_add(len)?;
        let gaps = self.gaps.get(..self.n_gaps).unwrap_or(&[]);
        gaps.iter().find_map(|&(base, gap)| {
            let start = offset.checked_sub(base)?;
            if end - base <= gap.len() {
                gap.get(start..end - base)
            } else {
                None
            }
        })
    }

    /// Takes writable region `i` (once).
    pub fn take(&mut self, i: usize) -> Option<&'s mut [u8]> {
        self.writes.get_mut(i)?.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes() -> [u8; 64] {
        core::array::from_fn(|i| i as u8)
    }

    #[test]
    fn regions_out_of_offset_order_split_the_arena_around_them() {
        let mut a = bytes();
        // Operand order 2, absent, 0, 1 by offset: [40, 48), -, [8, 16), [24, 32).
        let writes = [Some((40, 8)), None, Some((8, 8)), Some((24, 8))];
        let mut v = ArenaViews::split(&mut a, &writes).unwrap();
        // Gaps [0, 8), [16, 24), [32, 40), [48, 64) read; nothing straddles a region.
        assert_eq!(v.read(0, 8), Some(&[0, 1, 2, 3, 4, 5, 6, 7][..]));
        assert_eq!(v.read(17, 3), Some(&[17, 18, 19][..]));
        assert_eq!(v.read(48, 16).map(|r| r[15]), Some(63));
        assert_eq!(v.read(6, 4), None);
        assert_eq!(v.read(30, 4), None);
        assert_eq!(v.read(60, 8), None);
        let w0 = v.take(0).unwrap();
        assert_eq!((w0.len(), w0[0]), (8, 40));
        assert!(v.take(0).is_none() && v.take(1).is_none());
        assert_eq!(v.take(2).unwrap()[0], 8);
        assert_eq!(v.take(3).unwrap()[7], 31);
    }

    #[test]
    fn overlapping_or_outside_regions_are_refused_naming_the_later_one() {
        let mut a = bytes();
        let overlap = [Some((16, 8)), Some((8, 9))];
        assert_eq!(
            ArenaViews::split(&mut a, &overlap).err(),
            Some(OpError::Overlap { output: 0 })
        );
        let outside = [Some((60, 8))];
        assert_eq!(
            ArenaViews::split(&mut a, &outside).err(),
            Some(OpError::Overlap { output: 0 })
        );
        // Adjacent regions and empty ones at the same offset are fine.
        let adjacent = [
            Some((8, 8)),
            Some((16, 0)),
            Some((16, 8)),
            Some((0, 8)),
            None,
        ];
        assert!(ArenaViews::split(&mut a, &adjacent).is_ok());
        let too_many = [None; MAX_WRITES + 1];
        assert_eq!(
            ArenaViews::split(&mut a, &too_many).err(),
            Some(OpError::TooManyOperands)
        );
    }
}
