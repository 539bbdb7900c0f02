//! f32 recurrent layers and their single steps.
use rill_format::{CellKind, RnnParams};

use super::{CellDims, CellWeights, Layer, RnnInputs, RnnOutputs};
use crate::act::float::{clamp, Act};
use crate::util::{at_least, dot, exact, Weight};
use crate::KernelError;

/// A whole layer, see the [module docs](super). `scratch` holds at least [`super::scratch_len`] f32.
pub fn rnn<W: Weight>(
    p: &RnnParams,
    i: RnnInputs<'_, f32, W>,
    o: RnnOutputs<'_, f32>,
    scratch: &mut [f32],
) -> Result<(), KernelError> {
    rnn_cells::<W, { super::cells::ALL }>(p, i, o, scratch)
}

/// [`rnn`] with only the cell kinds in `CELLS` ([`super::cells`]) compiled in; a layer of another
/// kind is an error.
pub fn rnn_cells<W: Weight, const CELLS: u8>(
    p: &RnnParams,
    i: RnnInputs<'_, f32, W>,
    o: RnnOutputs<'_, f32>,
    scratch: &mut [f32],
) -> Result<(), KernelError> {
    let l = Layer::new(p)?;
    let d = l.c;
    super::cell_in(CELLS, d.cell)?;
    exact("rnn x", l.x_len, i.x.len())?;
    let state = |s: Option<&[f32]>, what| s.map_or(Ok(()), |s| exact(what, l.state_len, s.len()));
    state(i.initial_h, "rnn initial_h")?;
    if i.initial_c.is_some() {
        d.lstm_only("rnn initial_c")?;
    }
    state(i.initial_c, "rnn initial_c")?;
    let RnnOutputs {
        mut y,
        mut y_h,
        mut y_c,
    } = o;
    if let Some(y) = &y {
        exact("rnn y", l.y_len, y.len())?;
    }
    state(y_h.as_deref(), "rnn y_h")?;
    if y_c.is_some() {
        d.lstm_only("rnn y_c")?;
    }
    state(y_c.as_deref(), "rnn y_c")?;
    let (h_len, gh) = (d.hidden, d.gh);
    let need = super::scratch_len(p).ok_or(KernelError::Overflow {
        what: "rnn scratch",
    })?;
    at_least("rnn scratch", need, scratch.len())?;
    CellWeights::of(p, &i, 0)?; // checks the weights' lengths
    if [y.as_deref(), y_h.as_deref(), y_c.as_deref()]
        .iter()
        .all(|o| o.is_none_or(|o| o.is_empty()))
    {
        return Ok(()); // nothing to compute; also keeps the work bounded by the output sizes
    }
    let (h, rest) = scratch.split_at_mut(h_len);
    let (c, rest) = rest.split_at_mut(h_len);
    let gates = &mut rest[..gh];
    for slot in 0..d.dirs {
        let cell = Cell::new(p, slot)?;
        let wts = CellWeights::of(p, &i, slot)?;
        for b in 0..l.batch {
            let so = l.state_off(slot, b);
            match i.initial_h {
                Some(s) => h.copy_from_slice(&s[so..][..h_len]),
                None => h.fill(0.0),
            }
            match i.initial_c {
                Some(s) => c.copy_from_slice(&s[so..][..h_len]),
                None => c.fill(0.0),
            }
            for step in 0..l.seq {
                let t = if d.reverse(slot) {
                    l.seq - 1 - step
                } else {
                    step
                };
                let x = &i.x[l.x_off(t, b)..][..d.input];
                // The kind was checked against CELLS: the constant tests drop the others' code.
                match d.cell {
                    CellKind::Rnn if CELLS & super::cells::RNN != 0 => cell.rnn(&wts, x, h, gates),
                    CellKind::Gru if CELLS & super::cells::GRU != 0 => cell.gru(&wts, x, h, gates),
                    CellKind::Lstm if CELLS & super::cells::LSTM != 0 => {
                        cell.lstm(&wts, x, h, c, gates)
                    }
                    _ => {}
                }
                if let Some(y) = y.as_deref_mut() {
                    y[l.y_off(t, slot, b)..][..h_len].copy_from_slice(h);
                }
            }
            if let Some(y_h) = y_h.as_deref_mut() {
                y_h[so..][..h_len].copy_from_slice(h);
            }
            if let Some(y_c) = y_c.as_deref_mut() {
                y_c[so..][..h_len].copy_from_slice(c);
            }
        }
    }
    Ok(())
}

/// One RNN step of direction slot `slot` for one batch row: `h` (`H`) becomes `Ht` from `x` (`I`) and
/// `Ht-1`; `gates` is scratch of at least `H`.
pub fn rnn_step<W: Weight>(
    p: &RnnParams,
    slot: usize,
    wts: &CellWeights<'_, f32, W>,
    x: &[f32],
    h: &mut [f32],
    gates: &mut [f32],
) -> Result<(), KernelError> {
    let cell = Cell::checked(p, slot, CellKind::Rnn, wts, x, h, gates)?;
    cell.rnn(wts, x, h, gates);
    Ok(())
}

/// One GRU step, as [`rnn_step`]; `gates` holds at least `3*H`.
pub fn gru_step<W: Weight>(
    p: &RnnParams,
    slot: usize,
    wts: &CellWeights<'_, f32, W>,
    x: &[f32],
    h: &mut [f32],
    gates: &mut [f32],
) -> Result<(), KernelError> {
    let cell = Cell::checked(p, slot, CellKind::Gru, wts, x, h, gates)?;
    cell.gru(wts, x, h, gates);
    Ok(())
}

/// One LSTM step, as [`rnn_step`], also advancing the cell state `c` (`H`); `gates` holds at least
/// `4*H`.
pub fn lstm_step<W: Weight>(
    p: &RnnParams,
    slot: usize,
    wts: &CellWeights<'_, f32, W>,
    x: &[f32],
    h: &mut [f32],
    c: &mut [f32],
    gates: &mut [f32],
) -> Result<(), KernelError> {
    let cell = Cell::checked(p, slot, CellKind::Lstm, wts, x, h, gates)?;
    exact("rnn c", cell.hidden, c.len())?;
    cell.lstm(wts, x, h, c, gates);
    Ok(())
}

/// One direction slot's cell, checked. Its step methods take slices of the checked lengths.
#[derive(Clone, Copy, Debug)]
struct Cell {
    hidden: usize,
    gh: usize,
    f: Act,
    g: Act,
    h: Act,
    /// Bound of the gate pre-activations (infinite when unclipped).
    clip: f32,
    linear_before_reset: bool,
    input_forget: bool,
}

impl Cell {
    fn new(p: &RnnParams, slot: usize) -> Result<Cell, KernelError> {
        let d = CellDims::new(p)?;
        d.slot(slot)?;
        let act = |k: usize| Act::new(&p.acts[3 * slot + k]);
        let (g, h) = match d.cell {
            CellKind::Rnn => (Act::IDENTITY, Act::IDENTITY),
            CellKind::Gru => (act(1)?, Act::IDENTITY),
            CellKind::Lstm => (act(1)?, act(2)?),
        };
        Ok(Cell {
            hidden: d.hidden,
            gh: d.gh,
            f: act(0)?,
            g,
            h,
            clip: if p.clip > 0.0 { p.clip } else { f32::INFINITY },
            linear_before_reset: p.linear_before_reset == 1,
            input_forget: p.input_forget == 1,
        })
    }

    /// A cell for a single step: checks the kind, slot and every slice length.
    fn checked<W>(
        p: &RnnParams,
        slot: usize,
        kind: CellKind,
        wts: &CellWeights<'_, f32, W>,
        x: &[f32],
        h: &[f32],
        gates: &[f32],
    ) -> Result<Cell, KernelError> {
        let d = CellDims::new(p)?;
        if d.cell != kind {
            return Err(KernelError::BadParam {
                what: "rnn cell kind does not match the step function",
            });
        }
        d.slot(slot)?;
        exact("rnn w", d.w_len, wts.w.len())?;
        exact("rnn r", d.r_len, wts.r.len())?;
        if let Some(b) = wts.b {
            exact("rnn b", d.b_len, b.len())?;
        }
        if let Some(pp) = wts.p {
            d.lstm_only("rnn peepholes")?;
            exact("rnn p", d.p_len, pp.len())?;
        }
        exact("rnn x", d.input, x.len())?;
        exact("rnn h", d.hidden, h.len())?;
        at_least("rnn gates", d.gh, gates.len())?;
        Cell::new(p, slot)
    }

    #[inline]
    fn clip(&self, v: f32) -> f32 {
        clamp(v, -self.clip, self.clip)
    }

    /// Gate row `row`'s pre-activation from x and h plus both biases (the GRU's candidate row aside).
    #[inline]
    fn pre<W: Weight>(
        &self,
        wts: &CellWeights<'_, f32, W>,
        row: usize,
        x: &[f32],
        h: &[f32],
    ) -> f32 {
        let (i, n) = (x.len(), h.len());
        let bias = wts.b.map_or(0.0, |b| b[row] + b[self.gh + row]);
        dot(x, &wts.w[row * i..][..i]) + dot(h, &wts.r[row * n..][..n]) + bias
    }

    fn rnn<W: Weight>(
        &self,
        wts: &CellWeights<'_, f32, W>,
        x: &[f32],
        h: &mut [f32],
        gates: &mut [f32],
    ) {
        let gates = &mut gates[..self.hidden];
        for (j, g) in gates.iter_mut().enumerate() {
            *g = self.f.eval(self.clip(self.pre(wts, j, x, h)));
        }
        h.copy_from_slice(gates);
    }

    fn gru<W: Weight>(
        &self,
        wts: &CellWeights<'_, f32, W>,
        x: &[f32],
        h: &mut [f32],
        gates: &mut [f32],
    ) {
        let (n, i) = (self.hidden, x.len());
        let (zr, cand) = gates[..3 * n].split_at_mut(2 * n);
        for (j, g) in zr.iter_mut().enumerate() {
            *g = self.f.eval(self.clip(self.pre(wts, j, x, h)));
        }
        let r = &zr[n..];
        for (j, g) in cand.iter_mut().enumerate() {
            let row = 2 * n + j;
            let (wb, rb) = wts.b.map_or((0.0, 0.0), |b| (b[row], b[self.gh + row]));
            let xw = dot(x, &wts.w[row * i..][..i]) + wb;
            let rrow = &wts.r[row * n..][..n];
            let v = if self.linear_before_reset {
                xw + r[j] * (dot(h, rrow) + rb)
            } else {
                let rh = rrow
                    .iter()
                    .zip(r)
                    .zip(h.iter())
                    .fold(0.0, |acc, ((w, r), h)| acc + w.f32() * (r * h));
                xw + rh + rb
            };
            *g = self.g.eval(self.clip(v));
        }
        for ((h, &z), &c) in h.iter_mut().zip(&zr[..n]).zip(cand.iter()) {
            *h = (1.0 - z) * c + z * *h;
        }
    }

    fn lstm<W: Weight>(
        &self,
        wts: &CellWeights<'_, f32, W>,
        x: &[f32],
        h: &mut [f32],
        c: &mut [f32],
        gates: &mut [f32],
    ) {
        let n = self.hidden;
        let gates = &mut gates[..4 * n];
        for (row, g) in gates.iter_mut().enumerate() {
            *g = self.pre(wts, row, x, h);
        }
        let peep = |k: usize, j: usize| wts.p.map_or(0.0, |p| p[k * n + j]);
        for j in 0..n {
            let (pi, po, pf) = (peep(0, j), peep(1, j), peep(2, j));
            let c_prev = c[j];
            let it = self.f.eval(self.clip(gates[j] + pi * c_prev));
            let ft = if self.input_forget {
                1.0 - it
            } else {
                self.f.eval(self.clip(gates[2 * n + j] + pf * c_prev))
            };
            let ct = self.g.eval(self.clip(gates[3 * n + j]));
            let c_new = ft * c_prev + it * ct;
            let ot = self.f.eval(self.clip(gates[n + j] + po * c_new));
            c[j] = c_new;
            h[j] = ot * self.h.eval(c_new);
        }
    }
}
