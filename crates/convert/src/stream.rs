//! Derives the step program: the same model, one time step per call.
//!
//! Every activation of the whole-window graph is classified by how it depends on time:
//! - `Time(axis)`: one slice per time step along `axis` (of that tensor's shape), each depending only
//!   on the steps up to it (causal);
//! - `Final`: a value of the whole window that the latest step determines (an RNN's last hidden
//!   state, the last step selected); after each step it is the answer for the window ending there.
//!
//! Each op gets a step form working on one slice: shapes lose the time axis' length (it becomes 1),
//! recurrent layers become `RnnStep` over state tensors, a causal conv or pool with a kernel longer
//! than one step reads its taps through a `Window` op from a ring of past frames, and a causal
//! self-attention scores each new query against `Window`s of the last `T` keys and values. An op whose output at
//! step t needs more than steps `..= t` (or mixes the steps of a whole window) blocks streaming; the
//! first such op is reported. The step program shares every constant with the whole-window one, so
//! weights are stored once, and it keeps every quantization parameter, so fixed-point steps give the
//! whole-window codes bit for bit.
use std::collections::HashMap;

use rill_format::{
    rnn_operand as at, BinaryParams, CellKind, ConcatParams, ConvParams, CopyParams, DType,
    Direction, GatherParams, Op, PoolParams, ReduceParams, RnnParams, StreamBlock, WindowParams,
    MAX_RANK,
};

use crate::consts::{broadcast_strides, strides};
use crate::ir::{Data, Graph, Node, TId};

/// The step program, its tensors already added to the graph.
#[derive(Clone, Debug)]
pub struct Stream {
    pub nodes: Vec<Node>,
    pub inputs: Vec<TId>,
    pub outputs: Vec<TId>,
    /// Tensors that persist between steps (placed in the arena's state region).
    pub state: Vec<TId>,
    pub window_len: usize,
    pub input_axes: Vec<Option<usize>>,
    pub output_axes: Vec<Option<usize>>,
}

/// Why the model cannot stream: what node `node` (of the whole-window graph) does.
#[derive(Clone, Debug, PartialEq)]
pub struct Blocked {
    pub block: StreamBlock,
    pub node: Option<usize>,
    pub detail: usize,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tm {
    Static,
    Time(usize),
    Final,
}

fn blocked(block: StreamBlock, node: usize) -> Blocked {
    Blocked {
        block,
        node: Some(node),
        detail: 0,
    }
}

fn inner(shape: &[usize], axis: usize) -> usize {
    shape[axis + 1..].iter().product()
}

/// The axis of `shape` of length `len` with `inner` elements after it.
fn find_axis(shape: &[usize], len: usize, inner_n: usize) -> Option<usize> {
    (0..shape.len()).find(|&a| shape[a] == len && inner(shape, a) == inner_n)
}

fn with_len(shape: &[usize], axis: usize, len: usize) -> Vec<usize> {
    let mut s = shape.to_vec();
    s[axis] = len;
    s
}

/// Derives the step program of `g` (whose time axes per input are `axes`, `None` to find them),
/// adding its tensors to `g`. On `Err`, `g` is left as it was.
pub fn derive(g: &mut Graph, axes: &[Option<usize>]) -> Result<Stream, Blocked> {
    let n_tensors = g.tensors.len();
    let r = Deriver::new(g).and_then(|d| d.run(axes));
    if r.is_err() {
        g.tensors.truncate(n_tensors);
    }
    r
}

struct Deriver<'g> {
    g: &'g mut Graph,
    t_len: usize,
    tm: HashMap<TId, Tm>,
    step: HashMap<TId, TId>,
    nodes: Vec<Node>,
    state: Vec<TId>,
    /// Attention: window tensors whose last axis runs over the keys of a K/V window (scores and
    /// their softmax), with the step tensor counting the keys that hold steps of this window and
    /// whether a causal mask has hidden the keys a query must not see.
    keyed: HashMap<TId, Keys>,
}

#[derive(Clone, Copy, Debug)]
struct Keys {
    valid: TId,
    masked: bool,
}

/// A causal mask entry at or below this (or -inf) makes a key weigh exactly nothing after softmax.
pub(crate) const MASKED: f32 = -1e4;

impl<'g> Deriver<'g> {
    fn new(g: &'g mut Graph) -> Result<Deriver<'g>, Blocked> {
        if g.inputs.len() > rill_format::MAX_STREAM_IO
            || g.outputs.len() > rill_format::MAX_STREAM_IO
        {
            return Err(Blocked {
                block: StreamBlock::TooManyInputs,
                node: None,
                detail: 0,
            });
        }
        Ok(Deriver {
            g,
            t_len: 0,
            tm: HashMap::new(),
            step: HashMap::new(),
            nodes: Vec::new(),
            state: Vec::new(),
            keyed: HashMap::new(),
        })
    }

    fn run(mut self, axes: &[Option<usize>]) -> Result<Stream, Blocked> {
        let no_axis = Blocked {
            block: StreamBlock::NoTimeAxis,
            node: None,
            detail: 0,
        };
        let mut input_axes = Vec::new();
        let mut inputs = Vec::new();
        for (k, &x) in self.g.inputs.clone().iter().enumerate() {
            let axis = match axes.get(k).copied().flatten() {
                Some(a) if a < self.g.tensors[x].shape.len() => a,
                Some(_) => return Err(no_axis),
                None => find_time_axis(self.g, x).ok_or(no_axis.clone())?,
            };
            let len = self.g.tensors[x].shape[axis];
            if self.t_len != 0 && len != self.t_len {
                return Err(no_axis);
            }
            self.t_len = len;
            self.tm.insert(x, Tm::Time(axis));
            input_axes.push(Some(axis));
            inputs.push(self.st(x, 0)?);
        }
        for i in 0..self.g.nodes.len() {
            self.node(i)?;
        }
        let mut outputs = Vec::new();
        let mut output_axes = Vec::new();
        let last = self.g.nodes.len().saturating_sub(1);
        for &y in &self.g.outputs.clone() {
            match self.tm_of(y, last)? {
                Tm::Time(a) => output_axes.push(Some(a)),
                Tm::Final => output_axes.push(None),
                Tm::Static => return Err(no_axis),
            }
            outputs.push(self.st(y, last)?);
        }
        Ok(Stream {
            nodes: self.nodes,
            inputs,
            outputs,
            state: self.state,
            window_len: self.t_len,
            input_axes,
            output_axes,
        })
    }

    /// How tensor `t` (read by node `at`) depends on time, its axis in `t`'s own shape.
    fn tm_of(&self, t: TId, at: usize) -> Result<Tm, Blocked> {
        let root = self.g.root(t);
        if !matches!(self.g.tensors[root].data, Data::Act) {
            return Ok(Tm::Static);
        }
        match self.tm.get(&root).copied().unwrap_or(Tm::Static) {
            Tm::Time(a) if root != t => {
                let rs = &self.g.tensors[root].shape;
                find_axis(&self.g.tensors[t].shape, rs[a], inner(rs, a))
                    .map(Tm::Time)
                    .ok_or(blocked(StreamBlock::ReshapeMergesTime, at))
            }
            other => Ok(other),
        }
    }

    /// The step form of window tensor `t`: constants are shared, activations get a one-step twin.
    fn st(&mut self, t: TId, at: usize) -> Result<TId, Blocked> {
        if let Some(&s) = self.step.get(&t) {
            return Ok(s);
        }
        let s = match self.tm_of(t, at)? {
            Tm::Static => t,
            tm => {
                let root = self.g.root(t);
                let shape = match tm {
                    Tm::Time(a) => with_len(&self.g.tensors[t].shape, a, 1),
                    _ => self.g.tensors[t].shape.clone(),
                };
                let data = if root != t {
                    Data::Alias(self.st(root, at)?)
                } else {
                    Data::Act
                };
                self.twin(t, shape, data)
            }
        };
        self.step.insert(t, s);
        Ok(s)
    }

    fn twin(&mut self, t: TId, shape: Vec<usize>, data: Data) -> TId {
        let src = &self.g.tensors[t];
        let (name, dtype, quant) = (format!("{}@step", src.name), src.dtype, src.quant.clone());
        let s = self.g.add(name, shape, dtype, data);
        self.g.tensors[s].quant = quant;
        s
    }

    fn state_tensor(&mut self, like: TId, name: &str, shape: Vec<usize>, dtype: DType) -> TId {
        let quant = self.g.tensors[like].quant.clone();
        let s = self.g.add(name, shape, dtype, Data::Act);
        if dtype == self.g.tensors[like].dtype {
            self.g.tensors[s].quant = quant;
        }
        self.state.push(s);
        s
    }

    /// Registers the step output of window output `y` as `s` (with its classification).
    fn bind(&mut self, y: TId, tm: Tm, s: TId) {
        self.tm.insert(y, tm);
        self.step.insert(y, s);
    }

    /// A new one-step activation for window output `y`.
    fn out(&mut self, y: TId, tm: Tm) -> TId {
        let shape = match tm {
            Tm::Time(a) => with_len(&self.g.tensors[y].shape, a, 1),
            _ => self.g.tensors[y].shape.clone(),
        };
        let s = self.twin(y, shape, Data::Act);
        self.bind(y, tm, s);
        s
    }

    fn push(&mut self, i: usize, op: Op, inputs: Vec<Option<TId>>, outputs: Vec<Option<TId>>) {
        let n = &self.g.nodes[i];
        let scratch = n.scratch.map(|s| {
            let (shape, dtype) = (self.g.tensors[s].shape.clone(), self.g.tensors[s].dtype);
            let name = format!("{}@step", self.g.tensors[s].name);
            self.g.add(name, shape, dtype, Data::Act)
        });
        let n = &self.g.nodes[i];
        self.nodes.push(Node {
            name: n.name.clone(),
            onnx_op: n.onnx_op.clone(),
            op,
            inputs,
            outputs,
            scratch,
        });
    }

    /// Node `i`'s inputs in step form.
    fn step_inputs(&mut self, i: usize) -> Result<Vec<Option<TId>>, Blocked> {
        let ins = self.g.nodes[i].inputs.clone();
        ins.iter()
            .map(|t| t.map(|t| self.st(t, i)).transpose())
            .collect()
    }

    fn node(&mut self, i: usize) -> Result<(), Blocked> {
        let n = self.g.nodes[i].clone();
        let tms = n
            .inputs
            .iter()
            .map(|t| t.map(|t| self.tm_of(t, i)).transpose())
            .collect::<Result<Vec<_>, _>>()?;
        let timed = tms.iter().flatten().any(|t| matches!(t, Tm::Time(_)));
        let fin = tms.iter().flatten().any(|t| *t == Tm::Final);
        if !timed && !fin {
            // Constant-only nodes do not occur after folding; a constant result needs no step form.
            for y in n.outputs.iter().flatten() {
                self.tm.insert(*y, Tm::Static);
            }
            return Ok(());
        }
        if !timed {
            return self.final_node(i, &n);
        }
        if fin && !matches!(n.op, Op::Rnn(_)) {
            return Err(blocked(StreamBlock::MixesSteps, i));
        }
        let x = n.inputs.first().copied().flatten();
        let Some(x) = x else {
            return Err(blocked(StreamBlock::MixesSteps, i));
        };
        let xs = self.g.tensors[x].shape.clone();
        let x_axis = match self.tm_of(x, i)? {
            Tm::Time(a) => Some(a),
            _ => None,
        };
        match n.op {
            Op::Rnn(p) => self.rnn(i, &n, &p),
            Op::Conv(p) => self.conv(i, &n, &p, x_axis),
            Op::Pool(p) => self.pool(i, &n, &p, x_axis),
            Op::Dense(mut p) => {
                let a = x_axis.ok_or(blocked(StreamBlock::MixesSteps, i))?;
                if a + 1 == xs.len() {
                    return Err(blocked(StreamBlock::MixesSteps, i));
                }
                p.m /= self.t_len as u32;
                let y = self.only_output(&n, i)?;
                let inner_y = inner(&xs, a) / p.k.max(1) as usize * p.n as usize;
                self.simple(i, Op::Dense(p), y, inner_y)
            }
            Op::Unary(mut p) => {
                let a = x_axis.ok_or(blocked(StreamBlock::MixesSteps, i))?;
                p.len /= self.t_len as u32;
                let y = self.only_output(&n, i)?;
                self.simple(i, Op::Unary(p), y, inner(&xs, a))
            }
            Op::Requant(mut p) => {
                let a = x_axis.ok_or(blocked(StreamBlock::MixesSteps, i))?;
                p.len /= self.t_len as u32;
                let y = self.only_output(&n, i)?;
                self.simple(i, Op::Requant(p), y, inner(&xs, a))
            }
            Op::Binary(p) => self.binary(i, &n, &p, &tms),
            Op::Softmax(mut p) => {
                let a = x_axis.ok_or(blocked(StreamBlock::MixesSteps, i))?;
                let it = inner(&xs, a);
                let (axis_len, inn) = (p.axis_len as usize, p.inner as usize);
                if it >= axis_len * inn {
                    p.outer /= self.t_len as u32;
                } else if it * self.t_len <= inn {
                    p.inner /= self.t_len as u32;
                } else {
                    return Err(blocked(StreamBlock::AxisOverTime, i));
                }
                if self.keyed.get(&x).is_some_and(|k| !k.masked) {
                    // Without a causal mask a query's weights depend on later keys.
                    return Err(blocked(StreamBlock::AttentionOverTime, i));
                }
                let y = self.only_output(&n, i)?;
                self.simple(i, Op::Softmax(p), y, it)?;
                self.keep_keyed(x, y);
                Ok(())
            }
            Op::LayerNorm(mut p) => {
                let a = x_axis.ok_or(blocked(StreamBlock::MixesSteps, i))?;
                let it = inner(&xs, a);
                if it < p.size as usize {
                    return Err(blocked(StreamBlock::AxisOverTime, i));
                }
                p.outer /= self.t_len as u32;
                let y = self.only_output(&n, i)?;
                self.simple(i, Op::LayerNorm(p), y, it)
            }
            Op::Reduce(p) => self.reduce(i, &n, &p, x_axis),
            Op::Gather(p) => self.gather(i, &n, &p, &tms),
            Op::Concat(p) => self.concat(i, &n, &p, &tms),
            Op::Copy(p) => self.copy(i, &n, &p, x_axis),
            Op::MatMul(p) => self.matmul(i, &n, &p, &tms),
            Op::Window(_) | Op::RnnStep(_) => Err(blocked(StreamBlock::MixesSteps, i)),
        }
    }

    fn only_output(&self, n: &Node, i: usize) -> Result<TId, Blocked> {
        n.outputs
            .first()
            .copied()
            .flatten()
            .ok_or(blocked(StreamBlock::MixesSteps, i))
    }

    /// A node whose inputs are all whole-window values: it runs as it is, once per step.
    fn final_node(&mut self, i: usize, n: &Node) -> Result<(), Blocked> {
        let ins = self.step_inputs(i)?;
        let mut outs = Vec::new();
        for y in &n.outputs {
            outs.push(y.map(|y| self.out(y, Tm::Final)));
        }
        self.push(i, n.op, ins, outs);
        Ok(())
    }

    /// A node that keeps time where it was: one output whose time axis has `inner_y` elements after it.
    fn simple(&mut self, i: usize, op: Op, y: TId, inner_y: usize) -> Result<(), Blocked> {
        let ins = self.step_inputs(i)?;
        self.simple_with(i, op, y, inner_y, ins)
    }

    /// As [`Self::simple`], with the step inputs given.
    fn simple_with(
        &mut self,
        i: usize,
        op: Op,
        y: TId,
        inner_y: usize,
        ins: Vec<Option<TId>>,
    ) -> Result<(), Blocked> {
        let a = find_axis(&self.g.tensors[y].shape, self.t_len, inner_y)
            .ok_or(blocked(StreamBlock::ReshapeMergesTime, i))?;
        let s = self.out(y, Tm::Time(a));
        self.push(i, op, ins, vec![Some(s)]);
        Ok(())
    }

    fn rnn(&mut self, i: usize, n: &Node, p: &RnnParams) -> Result<(), Blocked> {
        if p.direction != Direction::Forward as u32 {
            return Err(blocked(StreamBlock::Direction, i));
        }
        for k in [at::INITIAL_H, at::INITIAL_C] {
            if let Some(t) = n.inputs.get(k).copied().flatten() {
                if !self.is_zero_const(t) {
                    return Err(blocked(StreamBlock::InitialState, i));
                }
            }
        }
        let x = n.inputs[at::X].ok_or(blocked(StreamBlock::MixesSteps, i))?;
        let Tm::Time(a) = self.tm_of(x, i)? else {
            return Err(blocked(StreamBlock::MixesSteps, i));
        };
        let (batch, input) = (p.batch as usize, p.input_size as usize);
        let seq_inner = if p.layout == 0 { batch * input } else { input };
        if p.seq_len as usize != self.t_len || inner(&self.g.tensors[x].shape, a) != seq_inner {
            return Err(blocked(StreamBlock::ReshapeMergesTime, i));
        }
        let out = |k: usize| n.outputs.get(k).copied().flatten();
        let h_like = out(at::Y)
            .or(out(at::Y_H))
            .ok_or(blocked(StreamBlock::MixesSteps, i))?;
        let hidden = p.hidden as usize;
        let h_shape = match out(at::Y_H) {
            Some(t) => self.g.tensors[t].shape.clone(),
            None if p.layout == 0 => vec![1, batch, hidden],
            None => vec![batch, 1, hidden],
        };
        let name = &n.name;
        let h_dtype = self.g.tensors[h_like].dtype;
        let s_h = self.state_tensor(h_like, &format!("{name}.h@state"), h_shape.clone(), h_dtype);
        let s_c = (p.cell == CellKind::Lstm as u32).then(|| {
            let fixed = matches!(h_dtype, DType::I8 | DType::I16);
            let dtype = if fixed { DType::I16 } else { DType::F32 };
            let like = out(at::Y_C).unwrap_or(h_like);
            let c = self.state_tensor(like, &format!("{name}.c@state"), h_shape.clone(), dtype);
            if fixed && out(at::Y_C).is_none() {
                self.g.tensors[c].quant = None;
            }
            c
        });
        let mut ins = self.step_inputs(i)?;
        for k in [at::INITIAL_H, at::INITIAL_C] {
            if let Some(v) = ins.get_mut(k) {
                *v = None;
            }
        }
        let mut step = *p;
        step.seq_len = 1;
        self.push(i, Op::RnnStep(step), ins, vec![None, Some(s_h), s_c]);
        if let Some(y) = out(at::Y) {
            let ya = if p.layout == 0 { 0 } else { 1 };
            let shape = with_len(&self.g.tensors[y].shape, ya, 1);
            let alias = self.twin(y, shape, Data::Alias(s_h));
            self.bind(y, Tm::Time(ya), alias);
        }
        if let Some(y) = out(at::Y_H) {
            self.bind(y, Tm::Final, s_h);
        }
        if let (Some(y), Some(c)) = (out(at::Y_C), s_c) {
            self.bind(y, Tm::Final, c);
        }
        Ok(())
    }

    /// A constant whose every value is a real zero (0.0, or the zero point's code).
    fn is_zero_const(&self, t: TId) -> bool {
        let z = self.g.tensors[t].quant.as_ref().map_or(0, |q| q.zero_point);
        match &self.g.tensors[self.g.root(t)].data {
            Data::ConstF32(v) => v.iter().all(|&x| x == 0.0),
            Data::ConstI32(v) => v.iter().all(|&x| x == z),
            Data::ConstBytes(b) => match self.g.tensors[t].dtype {
                DType::I8 => b.iter().all(|&x| x as i8 as i32 == z),
                DType::I16 => b
                    .chunks_exact(2)
                    .all(|c| i16::from_le_bytes([c[0], c[1]]) as i32 == z),
                _ => false,
            },
            _ => false,
        }
    }

    /// Which spatial dimension of a conv/pool input `x` (NCHW viewed) is time: `Some(true)` for W.
    fn time_dim(&self, xs: &[usize], a: usize, in_h: u32, in_w: u32) -> Option<bool> {
        let it = inner(xs, a);
        if it == 1 && in_w as usize == self.t_len {
            Some(true)
        } else if it == in_w as usize && in_h as usize == self.t_len {
            Some(false)
        } else {
            None
        }
    }

    fn conv(
        &mut self,
        i: usize,
        n: &Node,
        p: &ConvParams,
        a: Option<usize>,
    ) -> Result<(), Blocked> {
        let a = a.ok_or(blocked(StreamBlock::MixesSteps, i))?;
        let x = n.inputs[0].ok_or(blocked(StreamBlock::MixesSteps, i))?;
        let xs = self.g.tensors[x].shape.clone();
        let on_w = self
            .time_dim(&xs, a, p.in_h, p.in_w)
            .ok_or(blocked(StreamBlock::ReshapeMergesTime, i))?;
        let (k, s, d, pad, in_len, out_len) = if on_w {
            (p.k_w, p.stride_w, p.dil_w, p.pad_left, p.in_w, p.out_w)
        } else {
            (p.k_h, p.stride_h, p.dil_h, p.pad_top, p.in_h, p.out_h)
        };
        causal(i, k, s, d, pad, in_len, out_len)?;
        let mut sp = *p;
        let set = |sp: &mut ConvParams, len: u32| {
            if on_w {
                (sp.in_w, sp.out_w, sp.k_w, sp.dil_w, sp.pad_left) = (len, 1, k, 1, 0);
            } else {
                (sp.in_h, sp.out_h, sp.k_h, sp.dil_h, sp.pad_top) = (len, 1, k, 1, 0);
            }
        };
        let mut ins = self.step_inputs(i)?;
        if k > 1 {
            let (outer, frame_inner) = frame_layout(on_w, p.batch * p.c_in, p.in_h, p.in_w);
            ins[0] = Some(self.window(i, n, x, a, outer, frame_inner, k, d, false)?.0);
        }
        set(&mut sp, k);
        let y = self.only_output(n, i)?;
        let inner_y = if on_w { 1 } else { p.out_w as usize };
        let ya = find_axis(&self.g.tensors[y].shape, self.t_len, inner_y)
            .ok_or(blocked(StreamBlock::ReshapeMergesTime, i))?;
        let s = self.out(y, Tm::Time(ya));
        self.push(i, Op::Conv(sp), ins, vec![Some(s)]);
        Ok(())
    }

    /// Adds a `Window` op gathering `taps` frames `dilation` apart of `x` (time axis `a`) for node
    /// `i`, with its ring and head in the state; returns the gathered taps tensor and, when `valid`
    /// is asked for, the count of taps that hold frames of this window (what a pool needs during
    /// the warm-up steps).
    #[allow(clippy::too_many_arguments)]
    fn window(
        &mut self,
        i: usize,
        n: &Node,
        x: TId,
        a: usize,
        outer: u32,
        frame_inner: u32,
        taps: u32,
        dilation: u32,
        valid: bool,
    ) -> Result<(TId, Option<TId>), Blocked> {
        let xs = self.st(x, i)?;
        let frame = (outer * frame_inner) as usize;
        let wp = WindowParams {
            outer,
            inner: frame_inner,
            taps,
            dilation,
        };
        let slots = wp.slots().ok_or(blocked(StreamBlock::StrideOverTime, i))? as usize;
        let dtype = self.g.tensors[x].dtype;
        let name = n.name.clone();
        let ring = self.state_tensor(x, &format!("{name}.ring@state"), vec![slots, frame], dtype);
        let head = self
            .g
            .add(format!("{name}.head@state"), vec![1], DType::I32, Data::Act);
        self.state.push(head);
        let shape = with_len(&self.g.tensors[x].shape, a, taps as usize);
        let taps_t = self.twin(x, shape, Data::Act);
        self.g.tensors[taps_t].name = format!("{name}.taps@step");
        let valid = valid.then(|| {
            self.g
                .add(format!("{name}.valid@step"), vec![1], DType::I32, Data::Act)
        });
        let mut outputs = vec![Some(taps_t), Some(ring), Some(head)];
        if valid.is_some() {
            outputs.push(valid);
        }
        self.nodes.push(Node {
            name: format!("{name}.window"),
            onnx_op: "Window".into(),
            op: Op::Window(wp),
            inputs: vec![Some(xs)],
            outputs,
            scratch: None,
        });
        Ok((taps_t, valid))
    }

    fn pool(
        &mut self,
        i: usize,
        n: &Node,
        p: &PoolParams,
        a: Option<usize>,
    ) -> Result<(), Blocked> {
        let a = a.ok_or(blocked(StreamBlock::MixesSteps, i))?;
        if p.global != 0 {
            return Err(blocked(StreamBlock::ReduceOverTime, i));
        }
        let x = n.inputs[0].ok_or(blocked(StreamBlock::MixesSteps, i))?;
        let xs = self.g.tensors[x].shape.clone();
        let on_w = self
            .time_dim(&xs, a, p.in_h, p.in_w)
            .ok_or(blocked(StreamBlock::ReshapeMergesTime, i))?;
        let (k, s, d, pad, in_len, out_len) = if on_w {
            (p.k_w, p.stride_w, p.dil_w, p.pad_left, p.in_w, p.out_w)
        } else {
            (p.k_h, p.stride_h, p.dil_h, p.pad_top, p.in_h, p.out_h)
        };
        causal(i, k, s, d, pad, in_len, out_len)?;
        let mut sp = *p;
        // The step pool sees the window's taps: the time axis is one whole window of k taps.
        if on_w {
            (sp.in_w, sp.out_w, sp.dil_w, sp.pad_left) = (k, 1, 1, 0);
        } else {
            (sp.in_h, sp.out_h, sp.dil_h, sp.pad_top) = (k, 1, 1, 0);
        }
        // The step kernel takes H as the time axis whenever H is one whole window: a pool over time
        // on W whose H axis looks the same would be misread.
        let h_one_window =
            sp.k_h > 1 && sp.in_h == sp.k_h && sp.out_h == 1 && sp.stride_h == 1 && sp.pad_top == 0;
        if k > 1 && on_w && h_one_window {
            return Err(blocked(StreamBlock::PoolOverTime, i));
        }
        let mut ins = self.step_inputs(i)?;
        if k > 1 {
            let (outer, frame_inner) = frame_layout(on_w, p.batch * p.channels, p.in_h, p.in_w);
            let (taps, valid) = self.window(i, n, x, a, outer, frame_inner, k, d, true)?;
            ins = vec![Some(taps), valid];
        }
        let y = self.only_output(n, i)?;
        let inner_y = if on_w { 1 } else { p.out_w as usize };
        self.simple_with(i, Op::Pool(sp), y, inner_y, ins)
    }

    fn binary(
        &mut self,
        i: usize,
        n: &Node,
        p: &BinaryParams,
        tms: &[Option<Tm>],
    ) -> Result<(), Blocked> {
        let y = self.only_output(n, i)?;
        let ys = self.g.tensors[y].shape.clone();
        let (a, b) = match (n.inputs.first(), n.inputs.get(1)) {
            (Some(Some(a)), Some(Some(b))) => (*a, *b),
            _ => return Err(blocked(StreamBlock::MixesSteps, i)),
        };
        let keyed = [a, b].iter().find_map(|t| self.keyed.get(t).copied());
        if let Some(keys) = keyed {
            return self.keyed_binary(i, n, p, a, b, y, keys);
        }
        let mut ya = None;
        for (t, tm) in [(a, tms[0]), (b, tms[1])] {
            let rank = self.g.tensors[t].shape.len();
            let lead = ys.len() - rank.min(ys.len());
            match tm {
                Some(Tm::Time(ax)) => ya = Some(ax + lead),
                Some(Tm::Static) => {}
                _ => return Err(blocked(StreamBlock::MixesSteps, i)),
            }
        }
        let ya = ya.ok_or(blocked(StreamBlock::MixesSteps, i))?;
        if ys.len() > MAX_RANK || ys[ya] != self.t_len {
            return Err(blocked(StreamBlock::ReshapeMergesTime, i));
        }
        for (t, tm) in [(a, tms[0]), (b, tms[1])] {
            let s = &self.g.tensors[t].shape;
            let lead = ys.len() - s.len().min(ys.len());
            if tm == Some(Tm::Static) && ya >= lead && s[ya - lead] != 1 {
                return Err(blocked(StreamBlock::TimeVaryingConstant, i));
            }
        }
        let ins = self.step_inputs(i)?;
        let out_shape = with_len(&ys, ya, 1);
        self.push_binary(i, p, ins, y, ya, &out_shape)
    }

    /// Pushes binary op `p` of node `i` as one step: `ins` broadcast to `out_shape` (time axis
    /// `ya` of length 1), into the step tensor of `y`.
    fn push_binary(
        &mut self,
        i: usize,
        p: &BinaryParams,
        ins: Vec<Option<TId>>,
        y: TId,
        ya: usize,
        out_shape: &[usize],
    ) -> Result<(), Blocked> {
        let shape_of = |t: Option<TId>, g: &Graph| t.map(|t| g.tensors[t].shape.clone());
        let (sa, sb) = (
            shape_of(ins[0], self.g).unwrap_or_default(),
            shape_of(ins[1], self.g).unwrap_or_default(),
        );
        let (ta, tb) = (
            broadcast_strides(&sa, out_shape),
            broadcast_strides(&sb, out_shape),
        );
        let mut sp = *p;
        sp.rank = out_shape.len() as u32;
        sp.out_shape = [0; MAX_RANK];
        sp.a_strides = [0; MAX_RANK];
        sp.b_strides = [0; MAX_RANK];
        if out_shape.len() > MAX_RANK {
            return Err(blocked(StreamBlock::ReshapeMergesTime, i));
        }
        for k in 0..out_shape.len() {
            sp.out_shape[k] = out_shape[k] as u32;
            sp.a_strides[k] = ta[k] as u32;
            sp.b_strides[k] = tb[k] as u32;
        }
        let s = self.out(y, Tm::Time(ya));
        self.push(i, Op::Binary(sp), ins, vec![Some(s)]);
        Ok(())
    }

    fn keep_keyed(&mut self, x: TId, y: TId) {
        if let Some(&k) = self.keyed.get(&x) {
            self.keyed.insert(y, k);
        }
    }

    /// Attention over time. Scores `Q K^T` (Q's time on its rows, K^T's on its columns) become the
    /// new query against a `Window` of the last `T` keys, and the weighted sum `P V` the step's
    /// weights against a `Window` of the last `T` values: the K and V rings (`T - 1` past steps
    /// each) live in the state. Keys are in time order, the newest last; before `T` steps the
    /// leading ones hold the ring's reset value and the causal mask (see `keyed_binary`) hides them.
    fn matmul(
        &mut self,
        i: usize,
        n: &Node,
        p: &rill_format::MatMulParams,
        tms: &[Option<Tm>],
    ) -> Result<(), Blocked> {
        let no = || blocked(StreamBlock::AttentionOverTime, i);
        let (Some(Some(a)), Some(Some(b))) = (n.inputs.first().copied(), n.inputs.get(1).copied())
        else {
            return Err(no());
        };
        let y = self.only_output(n, i)?;
        let (ra, rb) = (self.g.tensors[a].shape.len(), self.g.tensors[b].shape.len());
        let t = self.t_len;
        let (Some(Tm::Time(ta)), Some(Tm::Time(tb))) = (
            tms.first().copied().flatten(),
            tms.get(1).copied().flatten(),
        ) else {
            return Err(no());
        };
        if ra < 2 || rb < 2 || ta + 2 != ra || p.m as usize != t {
            return Err(no());
        }
        let a_keyed = self.keyed.get(&a).copied();
        let valid_out;
        let bs = self.st(b, i)?;
        let b_step_shape = self.g.tensors[bs].shape.clone();
        let frame: usize = b_step_shape.iter().product();
        let b_win = if a_keyed.is_none() && tb + 1 == rb && p.n as usize == t {
            // Scores: the keys are b's columns.
            let (win, valid) = self.window(i, n, b, tb, frame as u32, 1, t as u32, 1, true)?;
            valid_out = valid;
            win
        } else if a_keyed.is_some_and(|k| k.masked) && tb + 2 == rb && p.k as usize == t {
            // Weighted values: the keys are b's rows.
            let inner = p.n;
            let (win, _) = self.window(
                i,
                n,
                b,
                tb,
                (frame / (inner as usize).max(1)) as u32,
                inner,
                t as u32,
                1,
                false,
            )?;
            valid_out = None;
            win
        } else {
            return Err(no());
        };
        let mut sp = *p;
        sp.m = 1;
        for k in 0..(sp.batch_rank as usize).min(4) {
            sp.a_stride[k] /= t as u32;
        }
        // The fixed-point form's aux operand follows, unchanged.
        let mut ins = self.step_inputs(i)?;
        ins[1] = Some(b_win);
        let ry = self.g.tensors[y].shape.len();
        let s = self.out(y, Tm::Time(ry - 2));
        self.push(i, Op::MatMul(sp), ins, vec![Some(s)]);
        match (valid_out, a_keyed) {
            (Some(valid), _) => {
                self.keyed.insert(
                    y,
                    Keys {
                        valid,
                        masked: false,
                    },
                );
            }
            (None, Some(_)) => {}
            (None, None) => return Err(no()),
        }
        Ok(())
    }

    /// An elementwise op on attention scores: a scaling (a constant without time) as any binary
    /// op, and the causal mask `[T queries, T keys]` (a constant, `MASKED` or below above the
    /// diagonal) as the mask row of this step, picked by the count of valid keys from a table of
    /// `T + 1` rows re-ordered for the window's keys (newest last).
    #[allow(clippy::too_many_arguments)]
    fn keyed_binary(
        &mut self,
        i: usize,
        n: &Node,
        p: &BinaryParams,
        a: TId,
        b: TId,
        y: TId,
        keys: Keys,
    ) -> Result<(), Blocked> {
        let valid = keys.valid;
        let mut masked = keys.masked;
        let c = if self.keyed.contains_key(&a) { b } else { a };
        let t = self.t_len;
        let cs = self.g.tensors[c].shape.clone();
        let mut ins = self.step_inputs(i)?;
        let c_static = self.tm_of(c, i)? == Tm::Static;
        let time_varying = cs.len() >= 2 && cs[cs.len() - 2] == t && cs[cs.len() - 1] == t;
        if c_static && time_varying {
            if cs[..cs.len() - 2].iter().any(|&d| d != 1) {
                return Err(blocked(StreamBlock::TimeVaryingConstant, i));
            }
            let row = self
                .mask_rows(c)
                .ok_or(blocked(StreamBlock::AttentionOverTime, i))?;
            masked = true;
            let table = self.g.add(
                format!("{}.mask_rows", n.name),
                vec![t + 1, t],
                self.g.tensors[c].dtype,
                row,
            );
            self.g.tensors[table].quant = self.g.tensors[c].quant.clone();
            let mut row_shape = vec![1; cs.len()];
            row_shape[cs.len() - 1] = t;
            let picked = self.twin(c, row_shape, Data::Act);
            self.g.tensors[picked].name = format!("{}.mask_row@step", n.name);
            self.nodes.push(Node {
                name: format!("{}.mask_row", n.name),
                onnx_op: "Gather".into(),
                op: Op::Gather(GatherParams {
                    outer: 1,
                    axis_len: (t + 1) as u32,
                    inner: t as u32,
                    n_indices: 1,
                }),
                inputs: vec![Some(table), Some(valid)],
                outputs: vec![Some(picked)],
                scratch: None,
            });
            let k = if c == a { 0 } else { 1 };
            ins[k] = Some(picked);
        } else if !c_static && !self.keyed.contains_key(&c) {
            return Err(blocked(StreamBlock::MixesSteps, i));
        } else if c_static && cs.len() >= 2 && cs[cs.len() - 2] != 1 {
            return Err(blocked(StreamBlock::TimeVaryingConstant, i));
        }
        let ys = self.g.tensors[y].shape.clone();
        let ya = ys.len() - 2;
        let out_shape = with_len(&ys, ya, 1);
        self.push_binary(i, p, ins, y, ya, &out_shape)?;
        self.keyed.insert(y, Keys { valid, masked });
        Ok(())
    }

    /// The step rows of causal mask `c` (`[.., T, T]`, queries by keys): row `v` for `v` valid keys
    /// is query `v - 1`'s row with the keys re-ordered newest last, `T - v` masked keys first (from
    /// query `v - 1`'s future, so masked). Row 0 is never picked (a window holds the current step).
    /// `None` if `c` is not a constant or a key above the diagonal is not masked.
    fn mask_rows(&self, c: TId) -> Option<Data> {
        let t = self.t_len;
        let q = self.g.tensors[c].quant.clone();
        let dtype = self.g.tensors[c].dtype;
        let vals: Vec<f32> = match &self.g.tensors[self.g.root(c)].data {
            Data::ConstF32(v) => v.clone(),
            Data::ConstBytes(b) => {
                let q = q.as_ref()?;
                let codes: Vec<i32> = match dtype {
                    DType::I8 => b.iter().map(|&x| x as i8 as i32).collect(),
                    DType::I16 => b
                        .chunks_exact(2)
                        .map(|c| i16::from_le_bytes([c[0], c[1]]) as i32)
                        .collect(),
                    _ => return None,
                };
                codes
                    .iter()
                    .map(|&c| (c - q.zero_point) as f32 * q.scale)
                    .collect()
            }
            _ => return None,
        };
        if vals.len() != t * t {
            return None;
        }
        for r in 0..t {
            for k in r + 1..t {
                if vals[r * t + k] > MASKED {
                    return None;
                }
            }
        }
        let src = |v: usize, j: usize| -> usize {
            let r = v.max(1) - 1;
            // Key j of the window is step r - (t - 1 - j); before the window starts, a future key.
            let k = (r + j + 1).checked_sub(t).unwrap_or(t - 1 - j);
            r * t + k
        };
        let order: Vec<usize> = (0..=t)
            .flat_map(|v| (0..t).map(move |j| src(v, j)))
            .collect();
        Some(match &self.g.tensors[self.g.root(c)].data {
            Data::ConstF32(v) => Data::ConstF32(order.iter().map(|&k| v[k]).collect()),
            Data::ConstBytes(b) => {
                let w = dtype.size();
                Data::ConstBytes(
                    order
                        .iter()
                        .flat_map(|&k| b[k * w..(k + 1) * w].iter().copied())
                        .collect(),
                )
            }
            _ => return None,
        })
    }

    fn reduce(
        &mut self,
        i: usize,
        n: &Node,
        p: &ReduceParams,
        a: Option<usize>,
    ) -> Result<(), Blocked> {
        let a = a.ok_or(blocked(StreamBlock::MixesSteps, i))?;
        let x = n.inputs[0].ok_or(blocked(StreamBlock::MixesSteps, i))?;
        let it = inner(&self.g.tensors[x].shape, a);
        let rank = (p.rank as usize).min(MAX_RANK);
        let shape: Vec<usize> = p.in_shape[..rank].iter().map(|&d| d as usize).collect();
        let ra =
            find_axis(&shape, self.t_len, it).ok_or(blocked(StreamBlock::ReshapeMergesTime, i))?;
        if p.axes_mask & (1 << ra) != 0 {
            return Err(blocked(StreamBlock::ReduceOverTime, i));
        }
        let mut sp = *p;
        sp.in_shape[ra] = 1;
        let inner_y: usize = (ra + 1..rank)
            .filter(|&j| p.axes_mask & (1 << j) == 0)
            .map(|j| shape[j])
            .product();
        let y = self.only_output(n, i)?;
        self.simple(i, Op::Reduce(sp), y, inner_y)
    }

    fn gather(
        &mut self,
        i: usize,
        n: &Node,
        p: &GatherParams,
        tms: &[Option<Tm>],
    ) -> Result<(), Blocked> {
        let y = self.only_output(n, i)?;
        let t = self.t_len as u32;
        match (
            tms.first().copied().flatten(),
            tms.get(1).copied().flatten(),
        ) {
            (Some(Tm::Static), Some(Tm::Time(ia))) => {
                let idx = n.inputs[1].ok_or(blocked(StreamBlock::MixesSteps, i))?;
                let inner_y = inner(&self.g.tensors[idx].shape, ia) * p.inner as usize;
                let mut sp = *p;
                sp.n_indices /= t;
                self.simple(i, Op::Gather(sp), y, inner_y)
            }
            (Some(Tm::Time(da)), Some(Tm::Static)) => {
                let data = n.inputs[0].ok_or(blocked(StreamBlock::MixesSteps, i))?;
                let it = inner(&self.g.tensors[data].shape, da);
                let mut sp = *p;
                if it == p.inner as usize && p.axis_len == t {
                    let idx = n.inputs[1].ok_or(blocked(StreamBlock::MixesSteps, i))?;
                    let last = match &self.g.tensors[self.g.root(idx)].data {
                        Data::ConstI32(v) => v.iter().all(|&k| k == -1 || k == t as i32 - 1),
                        _ => false,
                    };
                    if !last {
                        return Err(blocked(StreamBlock::SelectsStep, i));
                    }
                    // The latest step is the whole of the step tensor: y is a view of it.
                    let ds = self.st(data, i)?;
                    let shape = self.g.tensors[y].shape.clone();
                    let v = self.twin(y, shape, Data::Alias(ds));
                    self.bind(y, Tm::Final, v);
                    return Ok(());
                }
                let inner_y = if it >= (p.axis_len * p.inner) as usize {
                    sp.outer /= t;
                    it / p.axis_len as usize * p.n_indices as usize
                } else if it * self.t_len <= p.inner as usize {
                    sp.inner /= t;
                    it
                } else {
                    return Err(blocked(StreamBlock::SelectsStep, i));
                };
                self.simple(i, Op::Gather(sp), y, inner_y)
            }
            _ => Err(blocked(StreamBlock::MixesSteps, i)),
        }
    }

    fn concat(
        &mut self,
        i: usize,
        n: &Node,
        p: &ConcatParams,
        tms: &[Option<Tm>],
    ) -> Result<(), Blocked> {
        if tms.iter().flatten().any(|t| !matches!(t, Tm::Time(_))) {
            return Err(blocked(StreamBlock::MixesSteps, i));
        }
        let y = self.only_output(n, i)?;
        let Some(Some(Tm::Time(a))) = tms.first() else {
            return Err(blocked(StreamBlock::MixesSteps, i));
        };
        let x = n.inputs[0].ok_or(blocked(StreamBlock::MixesSteps, i))?;
        let it = inner(&self.g.tensors[x].shape, *a);
        let ys = &self.g.tensors[y].shape;
        let total: usize = ys.iter().product::<usize>() / (p.outer as usize).max(1);
        let mut sp = *p;
        let inner_y = if it >= total {
            sp.outer /= self.t_len as u32;
            it
        } else if it * self.t_len <= p.inner as usize {
            sp.inner /= self.t_len as u32;
            it
        } else {
            return Err(blocked(StreamBlock::ConcatOverTime, i));
        };
        self.simple(i, Op::Concat(sp), y, inner_y)
    }

    /// A strided copy that keeps the time axis whole (a transpose, a slice of other axes) or picks
    /// the latest step; any other use of time blocks.
    fn copy(
        &mut self,
        i: usize,
        n: &Node,
        p: &CopyParams,
        a: Option<usize>,
    ) -> Result<(), Blocked> {
        let a = a.ok_or(blocked(StreamBlock::MixesSteps, i))?;
        let x = n.inputs[0].ok_or(blocked(StreamBlock::MixesSteps, i))?;
        let y = self.only_output(n, i)?;
        let xs = self.g.tensors[x].shape.clone();
        let xst = strides(&xs);
        let rank = (p.rank as usize).min(MAX_RANK);
        let decompose = |v: i64| -> Vec<i64> {
            let mut rest = v.abs();
            let sign = v.signum();
            xst.iter()
                .zip(&xs)
                .map(|(&s, &d)| {
                    if d == 1 || s == 0 {
                        return 0;
                    }
                    let c = rest / s as i64;
                    rest %= s as i64;
                    sign * c
                })
                .collect()
        };
        let offset = decompose(p.offset as i64);
        let axis_coefs: Vec<Vec<i64>> = (0..rank)
            .map(|j| decompose(p.in_strides[j] as i64))
            .collect();
        let moving: Vec<usize> = (0..rank)
            .filter(|&j| axis_coefs[j][a] != 0 && p.out_shape[j] > 1)
            .collect();
        let t = self.t_len as i64;
        let tm = match moving.as_slice() {
            [j] if axis_coefs[*j][a] == 1 && p.out_shape[*j] as i64 == t && offset[a] == 0 => {
                Tm::Time(*j)
            }
            [] if offset[a] == t - 1 => Tm::Final,
            _ => return Err(blocked(StreamBlock::SelectsStep, i)),
        };
        let step_x = with_len(&xs, a, 1);
        let sst = strides(&step_x);
        let recompose = |c: &[i64]| -> i64 {
            c.iter()
                .enumerate()
                .filter(|&(k, _)| k != a)
                .map(|(k, &v)| v * sst[k] as i64)
                .sum()
        };
        let mut sp = *p;
        sp.offset = recompose(&offset) as u32;
        for j in 0..rank {
            sp.in_strides[j] = recompose(&axis_coefs[j]) as i32;
        }
        if let Tm::Time(j) = tm {
            sp.out_shape[j] = 1;
            sp.in_strides[j] = 0;
        }
        let ins = self.step_inputs(i)?;
        let s = self.out(y, tm);
        self.push(i, Op::Copy(sp), ins, vec![Some(s)]);
        Ok(())
    }
}

/// A conv/pool input's step frame as the Window's `(outer, inner)`: NCHW with time on W keeps the
/// whole H axis in the rows, with time on H each row is one W line.
fn frame_layout(on_w: bool, planes: u32, in_h: u32, in_w: u32) -> (u32, u32) {
    if on_w {
        (planes * in_h, 1)
    } else {
        (planes, in_w)
    }
}

/// Checks that a conv/pool along time is causal with one output per step.
fn causal(
    i: usize,
    k: u32,
    s: u32,
    d: u32,
    pad: u32,
    in_len: u32,
    out_len: u32,
) -> Result<(), Blocked> {
    if s != 1 {
        return Err(blocked(StreamBlock::StrideOverTime, i));
    }
    let span = (k.max(1) - 1) * d;
    if pad != span || out_len != in_len {
        let future = (span + out_len)
            .saturating_sub(pad + in_len)
            .max(span.saturating_sub(pad));
        return Err(Blocked {
            block: StreamBlock::NonCausal,
            node: Some(i),
            detail: future as usize,
        });
    }
    Ok(())
}

/// The axis of `xs` that axis `find_time_axis(y)` of the copy `p` (into `y`) reads, when `p` is a
/// transpose of the whole of `xs` (every element once, no offset).
fn through_transpose(g: &Graph, xs: &[usize], p: &CopyParams, y: TId) -> Option<usize> {
    let rank = p.rank as usize;
    let (shape, st) = (p.out_shape.get(..rank)?, p.in_strides.get(..rank)?);
    let xst = strides(xs);
    let mut want: Vec<(usize, isize)> = (0..xs.len())
        .filter(|&b| xs[b] != 1)
        .map(|b| (xs[b], xst[b] as isize))
        .collect();
    let mut have: Vec<(usize, isize)> = (0..rank)
        .filter(|&a| shape[a] != 1)
        .map(|a| (shape[a] as usize, st[a] as isize))
        .collect();
    want.sort_unstable();
    have.sort_unstable();
    if p.offset != 0 || want != have {
        return None;
    }
    let a = find_time_axis(g, y)?;
    let (len, stride) = (*shape.get(a)? as usize, *st.get(a)? as isize);
    (0..xs.len()).find(|&b| xs[b] == len && xst[b] as isize == stride)
}

/// The time axis of graph input `x`, read off the first op that says which axis it walks: a
/// recurrent layer's sequence axis, a conv or pool's length axis, an embedding's index axis.
/// Elementwise ops on the way keep the axes; a transpose moves them.
fn find_time_axis(g: &Graph, x: TId) -> Option<usize> {
    let xs = &g.tensors[x].shape;
    let mut frontier = vec![x];
    for _ in 0..8 {
        let mut next = Vec::new();
        for &t in &frontier {
            for (ni, _) in g.nodes.iter().enumerate() {
                let n = &g.nodes[ni];
                let Some(k) = n
                    .inputs
                    .iter()
                    .position(|&v| v.is_some_and(|v| g.root(v) == g.root(t)))
                else {
                    continue;
                };
                let Some(used) = n.inputs[k] else { continue };
                let us = &g.tensors[used].shape;
                let (len, inner_n) = match n.op {
                    Op::Rnn(p) if k == at::X => {
                        let i = if p.layout == 0 {
                            p.batch * p.input_size
                        } else {
                            p.input_size
                        };
                        (p.seq_len as usize, i as usize)
                    }
                    Op::Conv(ConvParams { in_h, in_w, .. })
                    | Op::Pool(PoolParams { in_h, in_w, .. })
                        if k == 0 =>
                    {
                        if in_h == 1 {
                            (in_w as usize, 1)
                        } else {
                            (in_h as usize, in_w as usize)
                        }
                    }
                    Op::Gather(_) if k == 1 => {
                        let a = (0..us.len()).rev().find(|&a| us[a] > 1)?;
                        (us[a], inner(us, a))
                    }
                    Op::Unary(_) | Op::Binary(_) => {
                        next.extend(n.outputs.iter().flatten().copied());
                        continue;
                    }
                    // A transpose (channels-last input to a conv, tf2onnx's Conv1D): the axis
                    // found past it, taken back through its strides.
                    Op::Copy(p) if k == 0 => {
                        if let Some(b) = n
                            .outputs
                            .first()
                            .copied()
                            .flatten()
                            .and_then(|y| through_transpose(g, xs, &p, y))
                        {
                            return Some(b);
                        }
                        continue;
                    }
                    _ => continue,
                };
                find_axis(us, len, inner_n)?;
                return find_axis(xs, len, inner_n);
            }
        }
        if next.is_empty() {
            return None;
        }
        frontier = next;
    }
    None
}
