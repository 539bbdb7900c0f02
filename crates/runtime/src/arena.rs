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
        // The present regions' positions by offset, by insertion (at most MAX_WRITES of them,
        // usually one or two; no sort routine linked): each is carried along the sorted ones and
        // swaps places with every one whose offset is larger.
        let mut order = [0u8; MAX_WRITES];
        let mut keys = [0usize; MAX_WRITES];
        let mut n = 0;
        for (i, w) in writes.iter().enumerate() {
            let Some((off, _)) = *w else { continue };
            let (mut key, mut at) = (off, i as u8);
            for (k, o) in keys.iter_mut().zip(order.iter_mut()).take(n) {
                if key < *k {
                    core::mem::swap(k, &mut key);
                    core::mem::swap(o, &mut at);
                }
            }
            if let (Some(k), Some(o)) = (keys.get_mut(n), order.get_mut(n)) {
                (*k, *o) = (key, at);
                n += 1;
            }
        }
        for &i in order.iter().take(n) {
            let i = usize::from(i);
            let Some(&Some((off, len))) = writes.get(i) else {
                continue;
            };
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
