//! The integer form of an RNN / GRU / LSTM layer (`docs/numerics.md`, "RNN / GRU / LSTM cells"):
//! i8 weights per gate row, gate pre-activations in Q3.12, the LSTM cell state in Q(15-k).
use rill_format::{qaux, ActKind, CellKind, DType, RnnParams};

use super::ops::Quantizer;
use super::{encode, push_mul, qmul, quantize_rows, Mode};
use crate::ir::{Data, Quant, TId};

fn gates(cell: u32) -> usize {
    match cell {
        c if c == CellKind::Lstm as u32 => 4,
        c if c == CellKind::Gru as u32 => 3,
        _ => 1,
    }
}

/// Smallest `k` in `[lo, 15]` with `max_abs < 2^k`.
fn cell_k(max_abs: f32, lo: i32) -> i32 {
    let mut k = lo;
    while k < 15 && max_abs >= (1u32 << k) as f32 {
        k += 1;
    }
    k
}

pub fn quantize_rnn(q: &mut Quantizer<'_>, i: usize, p: &RnnParams) -> Result<(), String> {
    let node = q.g.nodes[i].clone();
    let at = |k: usize| node.inputs.get(k).copied().flatten();
    let out = |k: usize| node.outputs.get(k).copied().flatten();
    if at(6).is_some() {
        return Err("LSTM peepholes have no fixed-point kernel".into());
    }
    if p.input_forget != 0 {
        return Err("LSTM input_forget has no fixed-point kernel".into());
    }
    let is_lstm = p.cell == CellKind::Lstm as u32;
    let is_gru = p.cell == CellKind::Gru as u32;
    let relu_rnn = !is_lstm && !is_gru && p.acts[0].kind == ActKind::Relu as u32;
    check_activations(p)?;
    let x = at(0).ok_or("input x is absent")?;
    let (w, r) = (at(1).ok_or("W is absent")?, at(2).ok_or("R is absent")?);
    let qx = q.operand(x)?;

    // The hidden state: y, y_h and initial_h share one scale (and zero point).
    let mut lo = 0f32;
    let mut hi = 0f32;
    let every_step = q.ranges.hidden.get(&i).copied();
    for (a, b) in [out(0), out(1)]
        .into_iter()
        .flatten()
        .map(|t| q.range(t))
        .chain(every_step)
    {
        lo = lo.min(a);
        hi = hi.max(b);
    }
    if relu_rnn {
        // The state is the Q3.12 pre-activation: nothing above 8 is representable.
        hi = hi.min(8.0);
    } else {
        // tanh-bounded: never wider than [-1, 1].
        lo = lo.max(-1.0);
        hi = hi.min(1.0);
    }
    // An initial state is given, not computed: it may lie outside the cell's output range.
    let init_h = at(4);
    if let Some(h0) = init_h {
        let (a, b) = match q.const_f32(h0) {
            Some(v) => v
                .iter()
                .fold((0f32, 0f32), |(lo, hi), &x| (lo.min(x), hi.max(x))),
            None => q.range(h0),
        };
        lo = lo.min(a);
        hi = hi.max(b);
    }
    let qh = q.mode.params((lo, hi));
    for t in [out(0), out(1)].into_iter().flatten() {
        q.set_act(t, qh.clone());
    }
    if let Some(h0) = init_h {
        q.state_operand(h0, &qh, q.mode.dtype(), "initial_h")?;
    }

    // The LSTM cell state: i16 in Q(15-k); the final state observed on the calibration data plus a
    // bit of headroom for the steps in between, never below k = 3 (the tanh table's input range).
    let mut k = 0;
    if is_lstm {
        let mut max_abs = 0f32;
        let final_c = q.ranges.cell.get(&i).copied();
        for (a, b) in out(2).map(|c| q.range(c)).into_iter().chain(final_c) {
            max_abs = max_abs.max(a.abs()).max(b.abs());
        }
        if let Some(c0) = at(5) {
            let (a, b) = match q.const_f32(c0) {
                Some(v) => v
                    .iter()
                    .fold((0f32, 0f32), |(lo, hi), &x| (lo.min(x), hi.max(x))),
                None => q.range(c0),
            };
            max_abs = max_abs.max(a.abs()).max(b.abs());
        }
        k = (cell_k(max_abs, 3) + 1).min(15);
    }
    let qc = Quant::per_tensor(1.0 / (1u32 << (15 - k)) as f32, 0);
    if let Some(c) = out(2) {
        let root = q.g.root(c);
        q.g.tensors[root].dtype = DType::I16;
        q.g.tensors[root].quant = Some(qc.clone());
    }
    if let Some(c0) = at(5) {
        q.state_operand(c0, &qc, DType::I16, "initial_c")?;
    }

    let g = gates(p.cell);
    let hidden = p.hidden as usize;
    let dirs = if p.direction == 2 { 2 } else { 1 };
    let rows = dirs * g * hidden;
    let wv = q.const_f32(w).ok_or("W is not a constant")?;
    let rv = q.const_f32(r).ok_or("R is not a constant")?;
    if wv.len() != rows * p.input_size as usize || rv.len() != rows * hidden {
        return Err("W or R has an unexpected size".into());
    }
    let bias = match at(3) {
        Some(b) => q.const_f32(b).ok_or("B is not a constant")?,
        None => vec![0.0; dirs * 2 * g * hidden],
    };
    if bias.len() != dirs * 2 * g * hidden {
        return Err("B has an unexpected size".into());
    }
    let (sx, zx) = (qx.scale as f64, qx.zero_point as i64);
    let (sh, zh) = (qh.scale as f64, qh.zero_point as i64);
    let bias_of = |row: usize, recurrent: bool| {
        let (d, gr) = (row / (g * hidden), row % (g * hidden));
        bias[d * 2 * g * hidden + usize::from(recurrent) * g * hidden + gr] as f64
    };
    // Weight codes as i32 (i8 or, in int16 models, i16 values) with per-row scales; i16 rows keep
    // their bias code b / (s s_w) within i32 by coarsening the scale of a row whose bias dwarfs it.
    let wide = q.wide_weights;
    let rows_of = |values: &[f32], len: usize, s_in: f64, recurrent: bool| {
        if wide {
            let min: Vec<f64> = (0..rows)
                .map(|row| bias_of(row, recurrent).abs() / (s_in * (1u64 << 30) as f64))
                .collect();
            let (c, s) = super::quantize_rows_i16(values, len, &min);
            (c.iter().map(|&v| v as i32).collect::<Vec<i32>>(), s)
        } else {
            let (c, s) = quantize_rows(values, len);
            (c.iter().map(|&v| v as i32).collect(), s)
        }
    };
    let (wq, sw) = rows_of(&wv, p.input_size as usize, sx, false);
    let (rq, sr) = rows_of(&rv, hidden, sh, true);
    let q12 = 4096.0;
    let mut w_bias = Vec::with_capacity(rows);
    let mut r_bias = Vec::with_capacity(rows);
    let mut w_mul = Vec::with_capacity(2 * rows);
    let mut r_mul = Vec::with_capacity(2 * rows);
    let fit = |v: i64, what: &str| {
        i32::try_from(v).map_err(|_| format!("the folded {what} bias ({v}) does not fit i32"))
    };
    for row in 0..rows {
        let gr = row % (g * hidden);
        let (wb, rb) = (bias_of(row, false), bias_of(row, true));
        let wsum: i64 = wq[row * p.input_size as usize..][..p.input_size as usize]
            .iter()
            .map(|&c| c as i64)
            .sum();
        let rsum: i64 = rq[row * hidden..][..hidden].iter().map(|&c| c as i64).sum();
        w_bias.push(fit(
            (wb / (sx * sw[row] as f64)).round() as i64 - zx * wsum,
            "input",
        )?);
        // GRU without linear_before_reset multiplies R_h by r * (h - z_h), already free of the zero
        // point: its rows keep the plain bias.
        let plain = is_gru && p.linear_before_reset == 0 && gr >= 2 * hidden;
        let rz = if plain { 0 } else { zh * rsum };
        r_bias.push(fit(
            (rb / (sh * sr[row] as f64)).round() as i64 - rz,
            "recurrent",
        )?);
        push_mul(&mut w_mul, qmul(sx * sw[row] as f64 * q12, "W")?);
        push_mul(&mut r_mul, qmul(sh * sr[row] as f64 * q12, "R")?);
    }
    // From the kernel's gate domain to hidden codes: LSTM h = o * tanh(c) is Q0.30, GRU and tanh RNN
    // blend in Q0.15, a Relu RNN outputs its Q3.12 pre-activation.
    let from_bits = if is_lstm {
        30
    } else if relu_rnn {
        12
    } else {
        15
    };
    let h_mul = qmul(1.0 / ((1u64 << from_bits) as f64 * sh), "hidden output")?;
    let h_to_q15 = qmul(sh * 32768.0, "hidden to Q0.15")?;
    let clip = if p.clip > 0.0 {
        (p.clip as f64 * q12).round().min(32767.0) as i32
    } else {
        0
    };
    let mut aux = vec![k, clip];
    push_mul(&mut aux, h_mul);
    push_mul(&mut aux, h_to_q15);
    aux.extend([0, 0]);
    debug_assert_eq!(aux.len(), qaux::RNN_HEADER);
    aux.extend(&w_bias);
    aux.extend(&r_bias);
    aux.extend(&w_mul);
    aux.extend(&r_mul);

    q.set_weights(w, &wq, sw, 1);
    q.set_weights(r, &rq, sr, 1);
    let aux_name = format!("{}.aux", node.name);
    let aux_t = super::const_i32(&mut q.g, aux_name, aux);
    let scratch_len =
        rill_kernels::rnn::fixed::scratch_len_fixed(p).map_err(|e| format!("scratch: {e}"))?;
    let scratch_name = format!("{}.scratch", node.name);
    let scratch =
        q.g.add(scratch_name, vec![scratch_len], DType::I32, Data::Act);
    let n = &mut q.g.nodes[i];
    let mut inputs: Vec<Option<TId>> = vec![None; qaux::RNN_POSITION + 1];
    inputs[0] = Some(x);
    inputs[1] = Some(w);
    inputs[2] = Some(r);
    inputs[4] = init_h;
    inputs[5] = at(5);
    inputs[qaux::RNN_POSITION] = Some(aux_t);
    n.inputs = inputs;
    n.scratch = Some(scratch);
    Ok(())
}

/// The fixed-point cells implement ONNX's default activations (and Relu for a plain RNN), the same
/// in both directions.
fn check_activations(p: &RnnParams) -> Result<(), String> {
    let (s, t, r) = (
        ActKind::Sigmoid as u32,
        ActKind::Tanh as u32,
        ActKind::Relu as u32,
    );
    let dirs = if p.direction == 2 { 2 } else { 1 };
    for d in 0..dirs {
        let a = &p.acts[3 * d..3 * d + 3];
        let ok = match p.cell {
            c if c == CellKind::Lstm as u32 => a[0].kind == s && a[1].kind == t && a[2].kind == t,
            c if c == CellKind::Gru as u32 => a[0].kind == s && a[1].kind == t,
            _ => (a[0].kind == t || a[0].kind == r) && a[0].kind == p.acts[0].kind,
        };
        if !ok {
            return Err("fixed-point recurrent cells support ONNX's default activations (and Relu for RNN, the same in both directions) only".into());
        }
    }
    Ok(())
}

impl Quantizer<'_> {
    pub(crate) fn const_f32(&self, t: TId) -> Option<Vec<f32>> {
        self.g.const_f32_values(t).map(<[f32]>::to_vec)
    }

    /// An initial state: constants become codes under `qs`; a graph input takes `qs`; an activation
    /// computed elsewhere must already have it.
    fn state_operand(
        &mut self,
        t: TId,
        qs: &Quant,
        dtype: DType,
        what: &str,
    ) -> Result<(), String> {
        let root = self.g.root(t);
        if let Some(v) = self.const_f32(root) {
            let bytes = match dtype {
                DType::I16 if self.mode == Mode::I8 => encode(&v, qs, Mode::I16),
                _ => encode(&v, qs, self.mode),
            };
            let tensor = &mut self.g.tensors[root];
            tensor.dtype = dtype;
            tensor.data = Data::ConstBytes(bytes);
            tensor.quant = Some(qs.clone());
            return Ok(());
        }
        if self.g.inputs.contains(&root) {
            self.g.tensors[root].dtype = dtype;
            self.g.tensors[root].quant = Some(qs.clone());
            return Ok(());
        }
        match &self.g.tensors[root].quant {
            Some(have) if have == qs && self.g.tensors[root].dtype == dtype => Ok(()),
            _ => Err(format!(
                "{what} is computed by another op with other quantization parameters: no fixed-point form yet"
            )),
        }
    }

    /// Weight codes (i16 when the quantizer keeps wide weights, else i8) with per-row scales.
    fn set_weights(&mut self, t: TId, codes: &[i32], scales: Vec<f32>, axis: u8) {
        let wide = self.wide_weights;
        let root = self.g.root(t);
        let tensor = &mut self.g.tensors[root];
        if wide {
            tensor.dtype = DType::I16;
            tensor.data = Data::ConstBytes(
                codes
                    .iter()
                    .flat_map(|&c| (c as i16).to_le_bytes())
                    .collect(),
            );
        } else {
            tensor.dtype = DType::I8;
            tensor.data = Data::ConstBytes(codes.iter().map(|&c| c as i8 as u8).collect());
        }
        tensor.quant = Some(Quant {
            scale: 1.0,
            zero_point: 0,
            per_channel: Some((axis, scales)),
        });
    }
}
