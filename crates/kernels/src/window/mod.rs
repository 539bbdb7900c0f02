//! Streaming taps for a causal conv or pool over time, from a ring of past frames, for any element
//! type (see [`WindowParams`] for the operands).
//!
//! One step: y gets, for every row `o` of the frame and every tap `k`, the `inner` elements of the
//! frame `(taps - 1 - k) * dilation` steps ago (tap `taps - 1` is `x`); then `x` replaces the oldest
//! frame in the ring and `head` moves on. Only the taps are read: a dilated window of span `S` costs
//! `taps` frame reads per step, not `S`, and nothing in the ring is shifted.
//!
//! `head` also counts the warm-up: while it is below `slots` it is both the next slot and the number
//! of frames the ring holds; once the ring is full it runs in `slots..2 * slots` (next slot
//! `head - slots`). A pool whose padding is not a real zero (max pooling, average pooling that does
//! not count the padding) needs to know which taps are real: `valid`, when given, receives the number
//! of trailing taps that hold frames of this window (`1 + min(taps - 1, seen / dilation)`), the
//! others holding the ring's reset value.
//!
//! Lengths: x `outer * inner`, y `outer * taps * inner`, ring `slots * outer * inner`, head 1 with
//! `0 <= head < 2 * slots` (or anything when `slots == 0`), valid 1. Errors: zero `taps` or
//! `dilation`, overflow, lengths, a head outside that range.
use rill_format::WindowParams;

use crate::util::{exact, mul, nonzero, us};
use crate::KernelError;

#[cfg(test)]
mod tests;

/// See the [module docs](self).
pub fn window<T: Copy>(
    p: &WindowParams,
    x: &[T],
    y: &mut [T],
    ring: &mut [T],
    head: &mut [i32],
    valid: Option<&mut [i32]>,
) -> Result<(), KernelError> {
    let taps = nonzero(p.taps, "window taps")?;
    let dil = nonzero(p.dilation, "window dilation")?;
    let (outer, inner) = (us(p.outer), us(p.inner));
    let frame = mul(outer, inner, "window frame")?;
    let slots = mul(taps - 1, dil, "window ring")?;
    exact("window x", frame, x.len())?;
    exact("window y", mul(frame, taps, "window y")?, y.len())?;
    exact("window ring", mul(slots, frame, "window ring")?, ring.len())?;
    exact("window head", 1, head.len())?;
    let (h, seen) = if slots == 0 {
        (0, 0)
    } else {
        let head0 = head.first().copied().unwrap_or(-1);
        let raw = usize::try_from(head0)
            .ok()
            .filter(|&h| h < slots.saturating_mul(2))
            .ok_or(KernelError::IndexOutOfRange {
                index: head0 as isize,
                len: slots.saturating_mul(2),
            })?;
        if raw < slots {
            (raw, raw)
        } else {
            (raw - slots, slots)
        }
    };
    if let Some(v) = valid {
        exact("window valid", 1, v.len())?;
        // seen <= slots = (taps - 1) * dil, so this is at most taps.
        if let Some(v) = v.first_mut() {
            *v = (1 + seen / dil) as i32;
        }
    }
    if frame == 0 {
        return Ok(());
    }
    for k in 0..taps {
        let ago = (taps - 1 - k) * dil;
        let src: &[T] = if ago == 0 {
            x
        } else {
            // ago <= slots, so the frame `ago` steps back is in the ring.
            // (Lengths checked above: no slice here comes up short.)
            let slot = (h + slots - ago) % slots.max(1);
            ring.get(slot * frame..)
                .and_then(|r| r.get(..frame))
                .unwrap_or(&[])
        };
        for (o, row) in src.chunks_exact(inner.max(1)).enumerate().take(outer) {
            let dst = y.get_mut((o * taps + k) * inner..);
            if let Some(dst) = dst.and_then(|d| d.get_mut(..row.len())) {
                put(dst, row);
            }
        }
    }
    if slots > 0 {
        if let Some(r) = ring.get_mut(h * frame..).and_then(|r| r.get_mut(..x.len())) {
            r.copy_from_slice(x);
        }
        let next = (h + 1) % slots;
        // The first wrap marks the ring full; it stays in the upper half from then on.
        let full = seen == slots || h + 1 == slots;
        if let Some(head) = head.first_mut() {
            *head = (if full { next + slots } else { next }) as i32;
        }
    }
    Ok(())
}

/// `dst = row` (equal lengths): rows of one to four elements (a channels-first frame has one
/// element per row: `[N, C, T]` in int8) moved directly rather than through a `memcpy` call each,
/// except where flash counts more than a streamed step's time (`small`).
#[inline(always)]
fn put<T: Copy>(dst: &mut [T], row: &[T]) {
    match (dst, row) {
        #[cfg(not(feature = "small"))]
        ([d], [s]) => *d = *s,
        #[cfg(not(feature = "small"))]
        ([d0, d1], [s0, s1]) => (*d0, *d1) = (*s0, *s1),
        #[cfg(not(feature = "small"))]
        ([d0, d1, d2, d3], [s0, s1, s2, s3]) => (*d0, *d1, *d2, *d3) = (*s0, *s1, *s2, *s3),
        (dst, row) => {
            if let Some(dst) = dst.get_mut(..row.len()) {
                dst.copy_from_slice(row);
            }
        }
    }
}
