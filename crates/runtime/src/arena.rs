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
        // The regions by offset: each round takes the lowest one not yet taken (at most
        // MAX_WRITES rounds of MAX_WRITES; no sort routine linked for five entries).
        let mut taken = 0u32;
        loop {
            let mut next: Option<(usize, (usize, usize))> = None;
            for (i, w) in writes.iter().enumerate() {
                if let Some(w) = *w {
                    if taken & (1 << i) == 0 && next.is_none_or(|(_, n)| w.0 < n.0) {
                        next = Some((i, w));
                    }
                }
            }
            let Some((i, (off, len))) = next else { break };
            taken |= 1 << i;
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
        self.gaps.iter().take(self.n_gaps).find_map(|&(base, gap)| {
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
