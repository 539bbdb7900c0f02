//! Recurrent layers: ONNX RNN, GRU and LSTM (opset 14 semantics, no `sequence_lens`), one layer of one
//! or two directions.
//!
//! Weights, per direction slot `d` (`dirs` = 2 for a bidirectional layer, else 1), gate order LSTM
//! `i o f c`, GRU `z r h`, RNN one gate (`G` gates, `H` hidden, `I` input):
//! W `[dirs, G*H, I]`, R `[dirs, G*H, H]`, B `[dirs, 2*G*H]` (W's biases then R's; absent = 0),
//! P `[dirs, 3*H]` peepholes `i o f` (LSTM only; absent = 0). Activations `f, g, h` of slot `d` are
//! `acts[3*d..3*d + 3]` (RNN uses `f`, GRU `f, g`, LSTM all three), used exactly as stored: the
//! converter fills in ONNX's defaults (LSTM sigmoid/tanh/tanh, GRU sigmoid/tanh, RNN tanh).
//!
//! One step of each cell, with `clip(v)` = `v` clamped to `[-clip, clip]` when `clip > 0`, applied to
//! every gate pre-activation (biases and peepholes included):
//! - RNN: `Ht = f(Xt Wi^T + Ht-1 Ri^T + Wbi + Rbi)`.
//! - GRU: `zt = f(Xt Wz^T + Ht-1 Rz^T + Wbz + Rbz)`, `rt` likewise; `ht = g(Xt Wh^T + (rt*Ht-1) Rh^T +
//!   Rbh + Wbh)`, or with `linear_before_reset = 1`, `g(Xt Wh^T + rt*(Ht-1 Rh^T + Rbh) + Wbh)`;
//!   `Ht = (1 - zt)*ht + zt*Ht-1`.
//! - LSTM: `it = f(Xt Wi^T + Ht-1 Ri^T + Pi*Ct-1 + Wbi + Rbi)`, `ft` likewise with `Pf`,
//!   `ct = g(Xt Wc^T + Ht-1 Rc^T + Wbc + Rbc)`, `Ct = ft*Ct-1 + it*ct`,
//!   `ot = f(Xt Wo^T + Ht-1 Ro^T + Po*Ct + Wbo + Rbo)`, `Ht = ot*h(Ct)`; `input_forget = 1` couples
//!   `ft = 1 - it`.
//!
//! Directions: Forward consumes `t = 0..seq`, Reverse `t = seq-1` down to 0, Bidirectional does both,
//! forward in slot 0 and reverse in slot 1. `y` at time `t` holds the state after consuming step `t`
//! (original time positions); `y_h`/`y_c` hold the final states.
//!
//! Shapes by `layout` (exact lengths): layout 0: x `[seq, batch, I]`, y `[seq, dirs, batch, H]`,
//! initial_h/initial_c/y_h/y_c `[dirs, batch, H]`; layout 1: x `[batch, seq, I]`, y
//! `[batch, seq, dirs, H]`, states `[batch, dirs, H]`. Every output is optional. Scratch: at least
//! [`scratch_len`] f32, independent of `seq` (each direction and batch row runs over the whole sequence
//! in turn, keeping one state).
//!
//! Errors: unknown cell, direction or activation kind (of a slot the cell uses), `layout`,
//! `linear_before_reset` or `input_forget` not 0/1, `hidden = 0` or `input_size = 0`, initial_c,
//! peepholes or y_c given to a non-LSTM cell, overflow, lengths.
//!
//! For streaming, [`float::rnn_step`], [`float::gru_step`] and [`float::lstm_step`] advance the state
//! of one direction slot and batch row by one time step; [`CellWeights::of`] cuts a slot's weights out
//! of the layer's.
use rill_format::{CellKind, Direction, RnnParams};

use crate::util::{exact, flag, mul, nonzero, product, us};
use crate::KernelError;

pub mod fixed;
pub mod float;

#[cfg(test)]
mod fixed_tests;
#[cfg(test)]
mod tests;

/// The inputs of a layer (operand positions 0..=6 of the op).
#[derive(Clone, Copy, Debug)]
/// `W` is the weights' storage type (f16 weights are widened as they are read).
pub struct RnnInputs<'a, T, W = T> {
    pub x: &'a [T],
    pub w: &'a [W],
    pub r: &'a [W],
    pub b: Option<&'a [T]>,
    pub initial_h: Option<&'a [T]>,
    pub initial_c: Option<&'a [T]>,
    pub p: Option<&'a [T]>,
}

/// The outputs of a layer, each computed only when present.
#[derive(Debug)]
pub struct RnnOutputs<'a, T> {
    pub y: Option<&'a mut [T]>,
    pub y_h: Option<&'a mut [T]>,
    pub y_c: Option<&'a mut [T]>,
}

/// One direction slot's weights: W `[G*H, I]`, R `[G*H, H]`, B `[2*G*H]`, P `[3*H]`.
#[derive(Clone, Copy, Debug)]
pub struct CellWeights<'a, T, W = T> {
    pub w: &'a [W],
    pub r: &'a [W],
    pub b: Option<&'a [T]>,
    pub p: Option<&'a [T]>,
}

impl<'a, T, W> CellWeights<'a, T, W> {
    /// Direction slot `slot`'s part of the layer's weights; checks the layer's weight lengths.
    pub fn of(
        p: &RnnParams,
        i: &RnnInputs<'a, T, W>,
        slot: usize,
    ) -> Result<CellWeights<'a, T, W>, KernelError> {
        let d = CellDims::new(p)?;
        d.slot(slot)?;
        exact("rnn w", d.dirs * d.w_len, i.w.len())?;
        exact("rnn r", d.dirs * d.r_len, i.r.len())?;
        let part = |s: &'a [T], len: usize| &s[slot * len..][..len];
        let b = match i.b {
            Some(b) => {
                exact("rnn b", d.dirs * d.b_len, b.len())?;
                Some(part(b, d.b_len))
            }
            None => None,
        };
        let pp = match i.p {
            Some(pp) => {
                d.lstm_only("rnn peepholes")?;
                exact("rnn p", d.dirs * d.p_len, pp.len())?;
                Some(part(pp, d.p_len))
            }
            None => None,
        };
        Ok(CellWeights {
            w: &i.w[slot * d.w_len..][..d.w_len],
            r: &i.r[slot * d.r_len..][..d.r_len],
            b,
            p: pp,
        })
    }
}

/// f32 elements of scratch [`float::rnn`] needs: `(gates + 2) * hidden` (hidden and cell state of one
/// row plus its gates). `None` for an unknown cell kind or on overflow.
pub fn scratch_len(p: &RnnParams) -> Option<usize> {
    let cell = cell_kind(p.cell)?;
    (gates(cell) + 2).checked_mul(us(p.hidden))
}

/// Checks the record alone: enum values, flags, sizes.
pub fn check(p: &RnnParams) -> Result<(), KernelError> {
    Layer::new(p).map(|_| ())
}

/// Gates per cell kind.
pub const fn gates(cell: CellKind) -> usize {
    match cell {
        CellKind::Rnn => 1,
        CellKind::Gru => 3,
        CellKind::Lstm => 4,
    }
}

/// Sets of cell kinds a build compiles in (`CELLS` of [`fixed::rnn_cells`] and [`float::rnn_cells`]):
/// a runtime that leaves a kind out keeps its code out of the binary.
pub mod cells {
    pub const RNN: u8 = 1;
    pub const GRU: u8 = 2;
    pub const LSTM: u8 = 4;
    pub const ALL: u8 = RNN | GRU | LSTM;
}

/// Whether `kind` is in the cell set `cells`, else the error saying it is not compiled in.
pub(crate) fn cell_in(cells: u8, kind: CellKind) -> Result<(), KernelError> {
    let bit = match kind {
        CellKind::Rnn => cells::RNN,
        CellKind::Gru => cells::GRU,
        CellKind::Lstm => cells::LSTM,
    };
    if cells & bit == 0 {
        return Err(KernelError::BadParam {
            what: "recurrent cell kind not compiled into this build",
        });
    }
    Ok(())
}

/// The [`CellKind`] of a record's `cell` value.
pub fn cell_kind(v: u32) -> Option<CellKind> {
    match v {
        0 => Some(CellKind::Rnn),
        1 => Some(CellKind::Gru),
        2 => Some(CellKind::Lstm),
        _ => None,
    }
}

fn direction(v: u32) -> Option<Direction> {
    match v {
        0 => Some(Direction::Forward),
        1 => Some(Direction::Reverse),
        2 => Some(Direction::Bidirectional),
        _ => None,
    }
}

/// Checks the operand lengths of one recurrent step over `p.batch` rows: the frame `x` holds
/// `batch x input_size` values, the state `h` (and the LSTM cell `c`, the output `y` when present)
/// `batch x hidden`, so that no row of a longer tensor is silently left out of the step.
pub fn step_lengths(
    p: &RnnParams,
    x: usize,
    h: usize,
    c: Option<usize>,
    y: Option<usize>,
) -> Result<(), KernelError> {
    let rows = |n: u32, what| mul(us(p.batch), us(n), what);
    exact("rnn step x", rows(p.input_size, "rnn step x")?, x)?;
    let state = rows(p.hidden, "rnn step state")?;
    exact("rnn step y_h", state, h)?;
    if let Some(c) = c {
        exact("rnn step y_c", state, c)?;
    }
    if let Some(y) = y {
        exact("rnn step y", state, y)?;
    }
    Ok(())
}

/// What one direction's cell needs, checked.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CellDims {
    pub cell: CellKind,
    pub direction: Direction,
    pub dirs: usize,
    pub input: usize,
    pub hidden: usize,
    /// `gates * hidden`: rows of W and R.
    pub gh: usize,
    /// Elements per direction slot of W, R, B, P.
    pub w_len: usize,
    pub r_len: usize,
    pub b_len: usize,
    pub p_len: usize,
}

impl CellDims {
    pub(crate) fn new(p: &RnnParams) -> Result<CellDims, KernelError> {
        let cell = cell_kind(p.cell).ok_or(KernelError::BadParam {
            what: "rnn cell kind",
        })?;
        let direction = direction(p.direction).ok_or(KernelError::BadParam {
            what: "rnn direction",
        })?;
        let dirs = if direction == Direction::Bidirectional {
            2
        } else {
            1
        };
        let input = nonzero(p.input_size, "rnn input_size")?;
        let hidden = nonzero(p.hidden, "rnn hidden")?;
        flag(p.layout, "rnn layout")?;
        flag(p.linear_before_reset, "rnn linear_before_reset")?;
        flag(p.input_forget, "rnn input_forget")?;
        let used = match cell {
            CellKind::Rnn => 1,
            CellKind::Gru => 2,
            CellKind::Lstm => 3,
        };
        for d in 0..dirs {
            let acts = p.acts.get(3 * d..3 * d + used);
            for a in acts.ok_or(KernelError::BadParam { what: "rnn acts" })? {
                crate::act::check(a)?;
            }
        }
        let gates = gates(cell);
        let gh = mul(gates, hidden, "rnn gates")?;
        Ok(CellDims {
            cell,
            direction,
            dirs,
            input,
            hidden,
            gh,
            w_len: product(&[dirs, gh, input], "rnn w")? / dirs,
            r_len: product(&[dirs, gh, hidden], "rnn r")? / dirs,
            b_len: product(&[dirs, 2, gh], "rnn b")? / dirs,
            p_len: product(&[dirs, 3, hidden], "rnn p")? / dirs,
        })
    }

    pub(crate) fn slot(&self, slot: usize) -> Result<(), KernelError> {
        if slot < self.dirs {
            Ok(())
        } else {
            Err(KernelError::BadParam {
                what: "rnn direction slot",
            })
        }
    }

    pub(crate) fn lstm_only(&self, what: &'static str) -> Result<(), KernelError> {
        if self.cell == CellKind::Lstm {
            Ok(())
        } else {
            Err(KernelError::BadParam { what })
        }
    }

    /// Whether slot `slot` runs backwards in time.
    pub(crate) fn reverse(&self, slot: usize) -> bool {
        self.direction == Direction::Reverse || slot == 1
    }
}

/// A whole layer, checked: element counts and offsets in x, y and the states.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Layer {
    pub c: CellDims,
    pub seq: usize,
    pub batch: usize,
    pub batch_major: bool,
    pub x_len: usize,
    pub y_len: usize,
    pub state_len: usize,
}

impl Layer {
    pub(crate) fn new(p: &RnnParams) -> Result<Layer, KernelError> {
        let c = CellDims::new(p)?;
        let (seq, batch) = (us(p.seq_len), us(p.batch));
        Ok(Layer {
            c,
            seq,
            batch,
            batch_major: p.layout == 1,
            x_len: product(&[seq, batch, c.input], "rnn x")?,
            y_len: product(&[seq, c.dirs, batch, c.hidden], "rnn y")?,
            state_len: product(&[c.dirs, batch, c.hidden], "rnn states")?,
        })
    }

    pub(crate) fn x_off(&self, t: usize, b: usize) -> usize {
        let row = if self.batch_major {
            b * self.seq + t
        } else {
            t * self.batch + b
        };
        row * self.c.input
    }

    pub(crate) fn y_off(&self, t: usize, slot: usize, b: usize) -> usize {
        let row = if self.batch_major {
            (b * self.seq + t) * self.c.dirs + slot
        } else {
            (t * self.c.dirs + slot) * self.batch + b
        };
        row * self.c.hidden
    }

    pub(crate) fn state_off(&self, slot: usize, b: usize) -> usize {
        let row = if self.batch_major {
            b * self.c.dirs + slot
        } else {
            slot * self.batch + b
        };
        row * self.c.hidden
    }
}
