//! Each op's integer form: parameters of its outputs, its constants as codes, and its aux operand.
use std::collections::HashMap;

use rill_format::{ActKind, ActParams, BinaryKind, DType, Op, ReduceKind, RequantParams};
use rill_kernels::act::fixed::{build_lut_i16, build_lut_i8};

use super::{const_i32, encode, issue, push_mul, qmul, quantize_rows, rnn, Mode, Ranges};
use crate::ir::{Data, Graph, Node, Quant, TId};
use crate::NodeIssue;

/// A mask entry at or below this hides a key (as `stream::MASKED`).
const MASKED: f32 = crate::stream::MASKED;
/// How far below the scores a masked sum lies: `exp(-12)` is under half the smallest probability
/// code of int16 softmax (2^-16), so a hidden key's probability is exactly the zero code.
const MASK_MARGIN: f32 = 12.0;

pub struct Quantizer<'a> {
    pub src: &'a Graph,
    pub g: Graph,
    pub ranges: &'a Ranges,
    pub mode: Mode,
    /// Dense, Conv and recurrent weights as i16 codes (int16 mode only).
    pub wide_weights: bool,
    /// Mixed precision: each node's mode (empty: `mode` everywhere), the ranges calibrated for
    /// each mode, and whether int16 nodes take i16 weights.
    pub modes: Vec<Mode>,
    pub ranges_i8: &'a Ranges,
    pub ranges_i16: &'a Ranges,
    pub wide_when_i16: bool,
    /// Requant outputs -> the tensor they convert (for its calibrated range).
    origin: HashMap<TId, TId>,
    /// (tensor, mode) -> its Requant output, shared by every consumer in that mode.
    converted: HashMap<(TId, Mode), TId>,
    /// Requant nodes to insert before each node.
    before: Vec<Vec<Node>>,
}

impl<'a> Quantizer<'a> {
    pub fn new(src: &'a Graph, ranges: &'a Ranges, mode: Mode) -> Quantizer<'a> {
        Quantizer {
            src,
            g: src.clone(),
            ranges,
            mode,
            wide_weights: false,
            modes: Vec::new(),
            ranges_i8: ranges,
            ranges_i16: ranges,
            wide_when_i16: false,
            origin: HashMap::new(),
            converted: HashMap::new(),
            before: vec![Vec::new(); src.nodes.len()],
        }
    }

    /// Switches to node `i`'s mode (mixed precision).
    fn enter(&mut self, i: usize) {
        if let Some(&m) = self.modes.get(i) {
            self.mode = m;
            self.ranges = if m == Mode::I8 {
                self.ranges_i8
            } else {
                self.ranges_i16
            };
            self.wide_weights = self.wide_when_i16 && m == Mode::I16;
        }
    }

    /// Re-expresses node `i`'s activation inputs quantized in the other code type in this node's
    /// type, through a Requant node (inserted before it) with this mode's parameters for the range.
    fn convert_inputs(&mut self, i: usize) -> Result<(), String> {
        let is_rnn = matches!(self.g.nodes[i].op, Op::Rnn(_));
        for k in 0..self.g.nodes[i].inputs.len() {
            let Some(t) = self.g.nodes[i].inputs[k] else {
                continue;
            };
            let r = self.g.root(t);
            let dtype = self.g.tensors[r].dtype;
            // An LSTM's initial cell state is i16 in both modes.
            if !matches!(dtype, DType::I8 | DType::I16)
                || dtype == self.mode.dtype()
                || (is_rnn && k == 5)
                || !matches!(self.g.tensors[r].data, Data::Act)
            {
                continue;
            }
            let y = match self.converted.get(&(t, self.mode)) {
                Some(&y) => y,
                None => self.requant(i, t)?,
            };
            self.g.nodes[i].inputs[k] = Some(y);
        }
        Ok(())
    }

    fn requant(&mut self, i: usize, t: TId) -> Result<TId, String> {
        let xq = self.q(t)?;
        let yq = self.mode.params(self.range(t));
        let src = &self.g.tensors[t];
        let (name, shape) = (
            format!(
                "{}@{}",
                src.name,
                if self.mode == Mode::I8 { "i8" } else { "i16" }
            ),
            src.shape.clone(),
        );
        let len = shape.iter().product::<usize>();
        let y = self.g.add(name, shape, self.mode.dtype(), Data::Act);
        self.g.tensors[y].quant = Some(yq.clone());
        self.origin
            .insert(y, self.origin.get(&t).copied().unwrap_or(t));
        self.converted.insert((t, self.mode), y);
        let (lo, hi) = self.mode.range();
        let mut aux = vec![lo, hi];
        push_mul(
            &mut aux,
            qmul(xq.scale as f64 / yq.scale as f64, "requantization")?,
        );
        let node = self.g.nodes[i].name.clone();
        let aux = const_i32(&mut self.g, format!("{node}.requant.aux"), aux);
        self.before[i].push(Node {
            name: format!("{node}.requant"),
            onnx_op: "Requant".into(),
            op: Op::Requant(RequantParams { len: len as u32 }),
            inputs: vec![Some(t), Some(aux)],
            outputs: vec![Some(y)],
            scratch: None,
        });
        Ok(y)
    }

    pub fn run(mut self) -> Result<Graph, Vec<NodeIssue>> {
        let mut issues = Vec::new();
        for t in self.g.inputs.clone() {
            if self.g.tensors[t].dtype == DType::F32 {
                // Mixed: in the mode of the first node reading it.
                let first = (0..self.g.nodes.len()).find(|&i| {
                    self.g.nodes[i]
                        .inputs
                        .iter()
                        .flatten()
                        .any(|&v| self.g.root(v) == t)
                });
                self.enter(first.unwrap_or(0));
                let range = self.range(t);
                self.set_act(t, self.mode.params(range));
            }
        }
        for i in 0..self.g.nodes.len() {
            self.enter(i);
            let r = self.convert_inputs(i).and_then(|()| self.node(i));
            if let Err(reason) = r {
                issues.push(issue(&self.g, i, reason));
            }
        }
        if self.before.iter().any(|b| !b.is_empty()) {
            let nodes = std::mem::take(&mut self.g.nodes);
            for (node, before) in nodes.into_iter().zip(std::mem::take(&mut self.before)) {
                self.g.nodes.extend(before);
                self.g.nodes.push(node);
            }
        }
        // Aliases carry their root's type and parameters.
        for t in 0..self.g.tensors.len() {
            if let Data::Alias(_) = self.g.tensors[t].data {
                let r = self.g.root(t);
                let (dtype, quant) = (self.g.tensors[r].dtype, self.g.tensors[r].quant.clone());
                self.g.tensors[t].dtype = dtype;
                self.g.tensors[t].quant = quant;
            }
        }
        if issues.is_empty() {
            Ok(self.g)
        } else {
            Err(issues)
        }
    }

    /// Makes root tensor `t` an activation of the mode's code type with parameters `q`.
    pub fn set_act(&mut self, t: TId, q: Quant) {
        let r = self.g.root(t);
        self.g.tensors[r].dtype = self.mode.dtype();
        self.g.tensors[r].quant = Some(q);
    }

    /// Parameters of an already quantized tensor (following aliases).
    pub fn q(&self, t: TId) -> Result<Quant, String> {
        let r = self.g.root(t);
        self.g.tensors[r].quant.clone().ok_or_else(|| {
            format!(
                "tensor '{}' has no quantization parameters (it is not produced by a quantized op)",
                self.g.tensors[r].name
            )
        })
    }

    /// The observed range of `t`; unobserved tensors (never written on the calibration data) get
    /// the degenerate range [0, 0].
    pub fn range(&self, t: TId) -> (f32, f32) {
        let t = self.origin.get(&t).copied().unwrap_or(t);
        if t >= self.src.tensors.len() {
            return (0.0, 0.0);
        }
        self.ranges.of(self.src, t).unwrap_or((0.0, 0.0))
    }

    fn out_params(&mut self, t: TId) -> Quant {
        let q = self.mode.params(self.range(t));
        self.set_act(t, q.clone());
        q
    }

    fn const_values(&self, t: TId) -> Option<Vec<f32>> {
        self.g.const_f32_values(t).map(<[f32]>::to_vec)
    }

    /// Replaces constant `t` (f32) by its codes under per-tensor parameters from its own range.
    fn quantize_const(&mut self, t: TId) -> Result<Quant, String> {
        self.quantize_const_as(t, self.mode)
    }

    fn quantize_const_as(&mut self, t: TId, mode: Mode) -> Result<Quant, String> {
        let r = self.g.root(t);
        let v = self
            .const_values(r)
            .ok_or_else(|| format!("'{}' is not a float constant", self.g.tensors[r].name))?;
        let (lo, hi) = v
            .iter()
            .fold((0f32, 0f32), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        let q = mode.params((lo, hi));
        let bytes = encode(&v, &q, mode);
        let tensor = &mut self.g.tensors[r];
        tensor.dtype = mode.dtype();
        tensor.data = Data::ConstBytes(bytes);
        tensor.quant = Some(q.clone());
        Ok(q)
    }

    /// The operand's parameters, quantizing it first if it is a float constant.
    pub(crate) fn operand(&mut self, t: TId) -> Result<Quant, String> {
        if self.g.tensors[self.g.root(t)].dtype == DType::F32 && self.const_values(t).is_some() {
            self.quantize_const(t)
        } else {
            self.q(t)
        }
    }

    /// Node `i`'s attention mask `b` (added to scores `a`) with its hidden entries raised from
    /// wherever they are (Keras writes -1e9) to `MASKED`, or lower if a hidden sum needs it to
    /// saturate to the output's lowest code (`MASK_MARGIN` under the least score, see `binary`): the
    /// same codes out, but the scores' share of the sum keeps its precision instead of being
    /// rounded away by a multiplier of `scale(a) / scale(b)` near 1e-9. A copy, for this node alone.
    fn mask_within_reach(&mut self, i: usize, a: TId, b: TId) -> TId {
        let (lo, hi) = self.range(a);
        // Twice the distance from the highest score to the output's lowest value (a score even a
        // whole range above its calibrated highest still saturates), and at most MASKED, which
        // is what marks the entry as hidden (streaming reads the mask off the codes).
        let hidden = (2.0 * ((lo.min(0.0) - MASK_MARGIN) - hi.max(0.0))).min(MASKED);
        let Some(v) = self.const_values(b) else {
            return b;
        };
        let v: Vec<f32> = v
            .iter()
            .map(|&x| if x <= MASKED { x.max(hidden) } else { x })
            .collect();
        let shape = self.g.tensors[b].shape.clone();
        let name = self.name(i, "mask");
        let t = self.g.const_f32(name, shape, v);
        self.g.nodes[i].inputs[1] = Some(t);
        t
    }

    /// The output clamp for a fused activation.
    fn clamp(&self, act: &ActParams, y: &Quant) -> Result<(i32, i32), String> {
        let (lo, hi) = self.mode.range();
        let code = |v: f32| {
            ((v as f64 / y.scale as f64).round() + y.zero_point as f64).clamp(lo as f64, hi as f64)
                as i32
        };
        match ActKind::from_u32(act.kind) {
            Some(ActKind::Identity) => Ok((lo, hi)),
            Some(ActKind::Relu) => Ok((y.zero_point.clamp(lo, hi), hi)),
            Some(ActKind::Clip) => Ok((code(act.alpha), code(act.beta))),
            _ => Err("a fused activation other than Relu or Clip has no fixed-point form".into()),
        }
    }

    fn name(&self, i: usize, what: &str) -> String {
        format!("{}.{what}", self.g.nodes[i].name)
    }

    fn push_input(&mut self, i: usize, t: TId) {
        self.g.nodes[i].inputs.push(Some(t));
    }

    fn input(&self, i: usize, k: usize) -> Result<TId, String> {
        self.g.nodes[i]
            .inputs
            .get(k)
            .copied()
            .flatten()
            .ok_or_else(|| format!("input {k} is absent"))
    }

    fn output(&self, i: usize) -> Result<TId, String> {
        self.g.nodes[i]
            .outputs
            .first()
            .copied()
            .flatten()
            .ok_or_else(|| "output 0 is absent".to_string())
    }

    fn node(&mut self, i: usize) -> Result<(), String> {
        let op = self.g.nodes[i].op;
        match op {
            Op::Dense(p) => {
                let rows = p.n as usize;
                self.weighted(i, rows, &p.act)
            }
            Op::Conv(p) => {
                let rows = p.c_out as usize;
                self.weighted(i, rows, &p.act)
            }
            Op::Pool(_) | Op::Copy(_) => {
                let (x, y) = (self.input(i, 0)?, self.output(i)?);
                if self.g.tensors[self.g.root(x)].dtype == DType::I32 {
                    return Ok(());
                }
                let q = self.operand(x)?;
                self.set_act(y, q);
                Ok(())
            }
            Op::Gather(_) => {
                let (d, y) = (self.input(i, 0)?, self.output(i)?);
                if self.g.tensors[self.g.root(d)].dtype == DType::I32 {
                    return Ok(());
                }
                let q = self.operand(d)?;
                self.set_act(y, q);
                Ok(())
            }
            Op::Unary(p) => {
                let (x, y) = (self.input(i, 0)?, self.output(i)?);
                let qx = self.operand(x)?;
                let qy = self.out_params(y);
                let name = self.name(i, "table");
                let table = match self.mode {
                    Mode::I8 => {
                        let t =
                            build_lut_i8(&p.act, qx.scale, qx.zero_point, qy.scale, qy.zero_point)
                                .map_err(|e| format!("table: {e}"))?;
                        t.iter().map(|&v| v as u8).collect::<Vec<u8>>()
                    }
                    Mode::I16 => {
                        let t = build_lut_i16(&p.act, qx.scale, qy.scale)
                            .map_err(|e| format!("table: {e}"))?;
                        t.iter().flat_map(|v| v.to_le_bytes()).collect()
                    }
                };
                let len = table.len() / self.mode.dtype().size();
                let t = self
                    .g
                    .add(name, vec![len], self.mode.dtype(), Data::ConstBytes(table));
                self.push_input(i, t);
                Ok(())
            }
            Op::Binary(p) => self.binary(i, p.kind),
            Op::Reduce(p) => {
                let (x, y) = (self.input(i, 0)?, self.output(i)?);
                let qx = self.operand(x)?;
                let qy = self.out_params(y);
                let count: u64 = (0..p.rank as usize)
                    .filter(|&a| p.axes_mask & (1 << a) != 0)
                    .map(|a| p.in_shape[a] as u64)
                    .product();
                let ratio = qx.scale as f64 / qy.scale as f64;
                let m = match rill_kernels::reduce::kind(p.kind).ok() {
                    Some(ReduceKind::Mean) => ratio / count.max(1) as f64,
                    Some(_) => ratio,
                    None => return Err("unknown reduction".into()),
                };
                let (lo, hi) = self.mode.range();
                let mut aux = vec![lo, hi];
                push_mul(&mut aux, qmul(m, "reduce")?);
                let name = self.name(i, "aux");
                let t = const_i32(&mut self.g, name, aux);
                self.push_input(i, t);
                Ok(())
            }
            Op::Concat(_) => {
                let y = self.output(i)?;
                let ins: Vec<TId> = self.g.nodes[i].inputs.iter().flatten().copied().collect();
                let mut qs = Vec::new();
                for &t in &ins {
                    qs.push(self.operand(t)?);
                }
                let qy = self.out_params(y);
                let (lo, hi) = self.mode.range();
                let mut aux = vec![lo, hi];
                for q in &qs {
                    push_mul(&mut aux, qmul(q.scale as f64 / qy.scale as f64, "concat")?);
                }
                let name = self.name(i, "aux");
                let t = const_i32(&mut self.g, name, aux);
                self.push_input(i, t);
                Ok(())
            }
            Op::MatMul(_) => {
                let (a, b, y) = (self.input(i, 0)?, self.input(i, 1)?, self.output(i)?);
                let (qa, qb) = (self.operand(a)?, self.operand(b)?);
                let qy = self.out_params(y);
                let (lo, hi) = self.mode.range();
                let mut aux = vec![lo, hi];
                let m = qa.scale as f64 * qb.scale as f64 / qy.scale as f64;
                push_mul(&mut aux, qmul(m, "matmul")?);
                let name = self.name(i, "aux");
                let t = const_i32(&mut self.g, name, aux);
                self.push_input(i, t);
                Ok(())
            }
            Op::Rnn(p) => rnn::quantize_rnn(self, i, &p),
            Op::Window(_) | Op::RnnStep(_) | Op::Requant(_) => {
                Err("a step-program op in the graph being quantized".into())
            }
            Op::Softmax(p) => self.softmax(i, p.log != 0),
            Op::LayerNorm(p) => self.layer_norm(i, &p),
        }
    }

    /// Dense and Conv: per-channel i8 weights, folded i32 bias, per-channel multipliers.
    fn weighted(&mut self, i: usize, rows: usize, act: &ActParams) -> Result<(), String> {
        let (x, w, y) = (self.input(i, 0)?, self.input(i, 1)?, self.output(i)?);
        let qx = self.operand(x)?;
        let qy = self.out_params(y);
        let wv = self
            .const_values(w)
            .ok_or("the weights are not a constant: no fixed-point kernel for that")?;
        let row_len = wv.len() / rows.max(1);
        let bias = match self.g.nodes[i].inputs.get(2).copied().flatten() {
            Some(b) => self.const_values(b).ok_or("the bias is not a constant")?,
            None => vec![0.0; rows],
        };
        if bias.len() != rows {
            return Err(format!(
                "bias has {} values for {rows} channels",
                bias.len()
            ));
        }
        let (codes, scales, weight_bytes, weight_dtype) = if self.wide_weights {
            // The bias code b / (s_x s_w) must fit i32 with room for the zero-point fold: a channel
            // whose bias dwarfs its weights gets a coarser weight scale.
            let min_scale: Vec<f64> = bias
                .iter()
                .map(|&b| (b as f64).abs() / (qx.scale as f64 * (1u64 << 30) as f64))
                .collect();
            let (c, s) = super::quantize_rows_i16(&wv, row_len, &min_scale);
            let bytes = c.iter().flat_map(|v| v.to_le_bytes()).collect();
            (
                c.iter().map(|&v| v as i32).collect::<Vec<i32>>(),
                s,
                bytes,
                DType::I16,
            )
        } else {
            let (c, s) = quantize_rows(&wv, row_len);
            let bytes = c.iter().map(|&v| v as u8).collect();
            (c.iter().map(|&v| v as i32).collect(), s, bytes, DType::I8)
        };
        let z_x = qx.zero_point as i64;
        let mut folded = Vec::with_capacity(rows);
        for (r, (&s_w, &b)) in scales.iter().zip(&bias).enumerate() {
            let sum: i64 = codes[r * row_len..][..row_len]
                .iter()
                .map(|&c| c as i64)
                .sum();
            let v = (b as f64 / (qx.scale as f64 * s_w as f64)).round() as i64 - z_x * sum;
            folded.push(i32::try_from(v).map_err(|_| {
                format!("the folded bias of channel {r} ({v}) does not fit i32: the input scale is too small for this bias")
            })?);
        }
        let (lo, hi) = self.clamp(act, &qy)?;
        let mut aux = vec![lo, hi];
        for &s_w in &scales {
            let m = qx.scale as f64 * s_w as f64 / qy.scale as f64;
            push_mul(&mut aux, qmul(m, "weights")?);
        }
        // Weights become codes with per-channel scales (axis 0).
        let wr = self.g.root(w);
        let wt = &mut self.g.tensors[wr];
        wt.dtype = weight_dtype;
        wt.data = Data::ConstBytes(weight_bytes);
        wt.quant = Some(Quant {
            scale: 1.0,
            zero_point: 0,
            per_channel: Some((0, scales)),
        });
        let bname = self.name(i, "bias");
        let b = const_i32(&mut self.g, bname, folded);
        let aname = self.name(i, "aux");
        let a = const_i32(&mut self.g, aname, aux);
        let node = &mut self.g.nodes[i];
        node.inputs.truncate(2);
        node.inputs.push(Some(b));
        node.inputs.push(Some(a));
        Ok(())
    }

    /// Softmax: a fixed output grid covering [0, 1) (log-softmax: the calibrated one) and the exp
    /// table for the input's scale.
    fn softmax(&mut self, i: usize, log: bool) -> Result<(), String> {
        use rill_kernels::softmax::fixed as sm;
        let (x, y) = (self.input(i, 0)?, self.output(i)?);
        let qx = self.operand(x)?;
        let qy = if log {
            self.out_params(y)
        } else {
            let q = match self.mode {
                Mode::I8 => Quant::per_tensor(sm::SOFTMAX_I8_SCALE, sm::SOFTMAX_I8_ZERO),
                Mode::I16 => Quant::per_tensor(sm::SOFTMAX_I16_SCALE, sm::SOFTMAX_I16_ZERO),
            };
            self.set_act(y, q.clone());
            q
        };
        let words = match self.mode {
            Mode::I8 => sm::build_softmax_table_i8(qx.scale, log, qy.scale, qy.zero_point)
                .map(|t| t.to_vec()),
            Mode::I16 => sm::build_softmax_table_i16(qx.scale, log, qy.scale, qy.zero_point)
                .map(|t| t.to_vec()),
        }
        .map_err(|e| format!("softmax table: {e}"))?;
        let name = self.name(i, "table");
        let t = const_i32(&mut self.g, name, words);
        self.push_input(i, t);
        Ok(())
    }

    /// LayerNorm: gamma as i16 codes of one scale, beta in units of `2^-15 s_g`, epsilon in code units.
    fn layer_norm(&mut self, i: usize, p: &rill_format::LayerNormParams) -> Result<(), String> {
        let (x, gamma, y) = (self.input(i, 0)?, self.input(i, 1)?, self.output(i)?);
        let qx = self.operand(x)?;
        let qy = self.out_params(y);
        let gv = self
            .const_values(gamma)
            .ok_or("the scale is not a constant")?;
        let m = gv.iter().fold(0f32, |m, v| m.max(v.abs()));
        let beta_max = match self.g.nodes[i].inputs.get(2).copied().flatten() {
            Some(b) => self
                .const_values(b)
                .ok_or("the bias is not a constant")?
                .iter()
                .fold(0f64, |m, v| m.max((*v as f64).abs())),
            None => 0.0,
        };
        // beta is held in units of s_g / 2^15 and must stay below 2^30 of them: a bias that dwarfs
        // the scale coarsens the scale's codes instead of failing.
        let s_g = if m > 0.0 { m as f64 / 32767.0 } else { 1.0 };
        let s_g = s_g.max(beta_max / 32768.0);
        let codes: Vec<u8> = gv
            .iter()
            .flat_map(|&g| ((g as f64 / s_g).round().clamp(-32767.0, 32767.0) as i16).to_le_bytes())
            .collect();
        let unit = s_g / 32768.0;
        let beta = match self.g.nodes[i].inputs.get(2).copied().flatten() {
            Some(b) => {
                let v = self.const_values(b).ok_or("the bias is not a constant")?;
                let mut out = Vec::with_capacity(v.len());
                for x in v {
                    let q = (x as f64 / unit).round();
                    if q.abs() > i32::MAX as f64 {
                        return Err("a bias value is too large for the scale's resolution".into());
                    }
                    out.push(q as i32);
                }
                Some(out)
            }
            None => None,
        };
        let n = p.size as f64;
        let eps = (n * n * p.epsilon.max(0.0) as f64 / (qx.scale as f64).powi(2))
            .round()
            .min(i64::MAX as f64) as i64;
        let (lo, hi) = self.mode.range();
        let mut aux = vec![lo, hi];
        push_mul(&mut aux, qmul(unit / qy.scale as f64, "layer norm output")?);
        aux.push(eps as i32);
        aux.push((eps >> 32) as i32);
        let gr = self.g.root(gamma);
        let gt = &mut self.g.tensors[gr];
        gt.dtype = DType::I16;
        gt.data = Data::ConstBytes(codes);
        gt.quant = Some(Quant::per_tensor(s_g as f32, 0));
        let bt = beta.map(|b| {
            let name = self.name(i, "bias");
            const_i32(&mut self.g, name, b)
        });
        let name = self.name(i, "aux");
        let a = const_i32(&mut self.g, name, aux);
        let node = &mut self.g.nodes[i];
        node.inputs = vec![Some(x), Some(gamma), bt, Some(a)];
        Ok(())
    }

    fn binary(&mut self, i: usize, kind: u32) -> Result<(), String> {
        let (a, b, y) = (self.input(i, 0)?, self.input(i, 1)?, self.output(i)?);
        let mut kind = BinaryKind::from_u32(kind).ok_or("unknown binary op")?;
        if let (BinaryKind::Div, Some(v)) = (kind, self.const_values(b)) {
            // Division by a constant is multiplication by its reciprocal.
            let r = self.g.root(b);
            self.g.tensors[r].data = Data::ConstF32(v.iter().map(|x| 1.0 / x).collect());
            if let Op::Binary(p) = &mut self.g.nodes[i].op {
                p.kind = BinaryKind::Mul as u32;
            }
            kind = BinaryKind::Mul;
        }
        let (mut a, mut b) = (a, b);
        let is_const = |q: &Self, t: TId| {
            q.g.tensors[q.g.root(t)].dtype == DType::F32 && q.const_values(t).is_some()
        };
        if kind == BinaryKind::Mul && is_const(self, a) && !is_const(self, b) {
            // Commutative: the constant goes second, where it may be wider than the activation.
            let node = &mut self.g.nodes[i];
            node.inputs.swap(0, 1);
            if let Op::Binary(p) = &mut node.op {
                core::mem::swap(&mut p.a_strides, &mut p.b_strides);
            }
            (a, b) = (b, a);
        }
        let masks = kind == BinaryKind::Add
            && self.const_values(b).is_some_and(|v| {
                v.iter().all(|&x| x == 0.0 || x <= MASKED) && v.iter().any(|&x| x <= MASKED)
            });
        if masks {
            b = self.mask_within_reach(i, a, b);
        }
        let qa = self.operand(a)?;
        let qb = if kind == BinaryKind::Mul && self.mode == Mode::I8 && is_const(self, b) {
            // An i8 constant multiplier would carry up to 1/255 of its range as error into every
            // product (input normalisation, gains): i16 codes keep it exact to 2^-15.
            self.quantize_const_as(b, Mode::I16)?
        } else {
            self.operand(b)?
        };
        let qy = if masks {
            // An attention mask (0: visible, MASKED or below: hidden). A hidden score only has to
            // weigh nothing after softmax, so the sum keeps the scores' own range, widened by
            // MASK_MARGIN below its least so that a hidden key (saturated to the lowest code) is
            // that far below any row's maximum and its probability rounds to zero, rather than
            // stretching the range over the mask's -1e4 and losing the scores' resolution.
            let (lo, hi) = self.range(a);
            let q = self.mode.params((lo.min(0.0) - MASK_MARGIN, hi.max(0.0)));
            self.set_act(y, q.clone());
            q
        } else {
            self.out_params(y)
        };
        let (lo, hi) = self.mode.range();
        let (sa, sb, sy) = (qa.scale as f64, qb.scale as f64, qy.scale as f64);
        let one = qmul(1.0, "binary")?;
        let (shift, ma, mb, my) = match kind {
            BinaryKind::Add | BinaryKind::Sub | BinaryKind::Max | BinaryKind::Min => {
                let shift: u32 = if self.mode == Mode::I8 { 20 } else { 15 };
                let smax = sa.max(sb);
                (
                    shift,
                    qmul(sa / (2.0 * smax), "binary input a")?,
                    qmul(sb / (2.0 * smax), "binary input b")?,
                    qmul(2.0 * smax / ((1u64 << shift) as f64 * sy), "binary output")?,
                )
            }
            BinaryKind::Mul => (0, one, one, qmul(sa * sb / sy, "binary output")?),
            BinaryKind::Div => {
                const FRACTION: u32 = 16;
                let m = sa / (sb * sy * (1u64 << FRACTION) as f64);
                (FRACTION, one, one, qmul(m, "binary output")?)
            }
            _ => return Err(format!("{kind:?} has no fixed-point kernel")),
        };
        let mut aux = vec![lo, hi, shift as i32];
        for m in [ma, mb, my] {
            push_mul(&mut aux, m);
        }
        let name = self.name(i, "aux");
        let t = const_i32(&mut self.g, name, aux);
        self.push_input(i, t);
        Ok(())
    }
}
