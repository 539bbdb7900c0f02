//! A validated model: the file checks of `rill-format` plus what the runtime needs to run every op
//! without surprises (operands present, element types it has kernels for, no write aliasing).
use rill_format::reader::{OpView, TensorInfo};
use rill_format::{BinaryKind, DType, ModelFile, Op, OpKind, Storage};

use crate::arena::MAX_WRITES;
use crate::error::{Error, OpError};
use crate::features::Features;

/// How a streamable model runs step by step ([`Model::stream`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamInfo {
    /// Time steps of the whole-window program.
    pub window_len: usize,
    /// Future steps an output needs before it is final.
    pub latency: usize,
    /// Arena bytes that persist between steps.
    pub state_bytes: usize,
    /// Arena bytes a session that only streams needs ([`crate::Session::new_streaming`]).
    pub step_arena_bytes: usize,
    /// Time axis of each graph input (`None` past the last input).
    pub input_axes: [Option<usize>; rill_format::MAX_STREAM_IO],
    /// Time axis of each graph output; `None` for an output without one (a many-to-one answer).
    pub output_axes: [Option<usize>; rill_format::MAX_STREAM_IO],
}

/// A model ready to run. Cheap to copy around: it borrows the file bytes.
#[derive(Clone, Copy, Debug)]
pub struct Model<'a> {
    file: ModelFile<'a>,
    /// The first step-program op whose kernel this build lacks: streaming is refused with it, while
    /// the whole window still runs.
    step_not_compiled: Option<(usize, OpKind, Features)>,
}

/// How many operands of each side an op kind takes: (required inputs, max inputs, max outputs); the
/// maxima count the aux operand of the fixed-point form, whose inputs `check_fixed_types` checks.
/// Output 0 is required for every kind except Rnn, whose outputs are each optional.
fn arity(kind: OpKind) -> (usize, usize, usize) {
    match kind {
        OpKind::Dense | OpKind::Conv => (2, 4, 1),
        OpKind::MatMul | OpKind::Binary => (2, 3, 1),
        OpKind::Gather => (2, 2, 1),
        OpKind::Pool => (1, 2, 1),
        OpKind::Copy => (1, 1, 1),
        OpKind::Unary | OpKind::Softmax | OpKind::Reduce => (1, 2, 1),
        OpKind::LayerNorm => (2, 4, 1),
        OpKind::Rnn | OpKind::RnnStep => (3, 8, 3),
        OpKind::Window => (1, 1, 4),
        OpKind::Requant => (2, 2, 1),
        OpKind::Concat => (1, 9, 1),
    }
}

/// Element types an op accepts at input `k` (outputs follow input 0's type, except Gather's).
fn input_ok(op: &Op, k: usize, dtype: DType) -> bool {
    match op {
        Op::Gather(_) | Op::Pool(_) if k == 1 => dtype == DType::I32,
        // Float Dense and Conv weights, and recurrent W and R, may be stored in f16.
        Op::Dense(_) | Op::Conv(_) if k == 1 => matches!(dtype, DType::F32 | DType::F16),
        Op::Rnn(_) | Op::RnnStep(_) if k == 1 || k == 2 => matches!(dtype, DType::F32 | DType::F16),
        Op::Gather(_) | Op::Concat(_) | Op::Copy(_) | Op::Window(_) => {
            matches!(dtype, DType::F32 | DType::I32)
        }
        _ => dtype == DType::F32,
    }
}

/// The code type of a fixed-point op (its first present output is i8 or i16), or `None` for the
/// float form.
pub(crate) fn fixed_code_type(
    v: &OpView<'_>,
    dtype: impl Fn(usize) -> Option<DType>,
) -> Option<DType> {
    let first = v.outputs.iter().find(|&&t| t != rill_format::NONE)?;
    dtype(*first as usize).filter(|d| matches!(d, DType::I8 | DType::I16))
}

/// Whether the fixed-point form of `op` ends with an aux operand.
pub(crate) fn fixed_has_aux(op: &Op) -> bool {
    !matches!(
        op,
        Op::Pool(_) | Op::Copy(_) | Op::Gather(_) | Op::Window(_)
    )
}

fn fixed_min_inputs(op: &Op) -> usize {
    match op {
        Op::Dense(_) | Op::Conv(_) => 4,
        Op::MatMul(_) | Op::Binary(_) => 3,
        Op::Rnn(_) | Op::RnnStep(_) => rill_format::qaux::RNN_POSITION + 1,
        Op::Unary(_)
        | Op::Reduce(_)
        | Op::Softmax(_)
        | Op::Gather(_)
        | Op::Concat(_)
        | Op::Requant(_) => 2,
        Op::LayerNorm(_) => 4,
        Op::Pool(_) | Op::Copy(_) | Op::Window(_) => 1,
    }
}

/// Input `k` of the fixed-point form of `op` with `n` inputs: `None` when it must be absent, else
/// (its type, `None` meaning the op's code type; whether it is required).
fn fixed_input(op: &Op, k: usize, n: usize) -> Option<(Option<DType>, bool)> {
    const CODE: Option<DType> = None;
    let i32_ = Some(DType::I32);
    let req = |t| Some((t, true));
    match (op, k) {
        (Op::Dense(_) | Op::Conv(_), 0) => req(CODE),
        (Op::Dense(_) | Op::Conv(_), 1) => req(Some(DType::I8)),
        (Op::Dense(_) | Op::Conv(_), 2 | 3) => req(i32_),
        (Op::MatMul(_) | Op::Binary(_), 0 | 1) => req(CODE),
        (Op::MatMul(_) | Op::Binary(_), 2) => req(i32_),
        (Op::Pool(_) | Op::Copy(_), 0) => req(CODE),
        // A step pool's valid taps, from its Window.
        (Op::Pool(_), 1) => Some((i32_, false)),
        (Op::Gather(_), 0) => req(CODE),
        (Op::Gather(_), 1) => req(i32_),
        (Op::Unary(_), 0 | 1) => req(CODE),
        (Op::Reduce(_) | Op::Softmax(_), 0) => req(CODE),
        (Op::Reduce(_) | Op::Softmax(_), 1) => req(i32_),
        (Op::Concat(_), k) if n >= 2 && k + 1 < n => req(CODE),
        (Op::Concat(_), k) if n >= 2 && k + 1 == n => req(i32_),
        (Op::LayerNorm(_), 0) => req(CODE),
        (Op::LayerNorm(_), 1) => req(Some(DType::I16)),
        (Op::LayerNorm(_), 2) => Some((i32_, false)),
        (Op::LayerNorm(_), 3) => req(i32_),
        (Op::Rnn(_) | Op::RnnStep(_), 0) => req(CODE),
        (Op::Rnn(_) | Op::RnnStep(_), 1 | 2) => req(Some(DType::I8)),
        (Op::Rnn(_), 4) => Some((CODE, false)),
        (Op::Rnn(_), 5) => Some((Some(DType::I16), false)),
        (Op::Rnn(_) | Op::RnnStep(_), rill_format::qaux::RNN_POSITION) => req(i32_),
        (Op::Window(_), 0) => req(CODE),
        _ => None,
    }
}

fn overlaps(a: (usize, usize), b: (usize, usize)) -> bool {
    a.1 > 0 && b.1 > 0 && a.0 < b.0 + b.1 && b.0 < a.0 + a.1
}

impl<'a> Model<'a> {
    /// Validates `bytes` (which must start on a 16-byte boundary) as a runnable model.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Model<'a>, Error> {
        let file = ModelFile::parse(bytes)?;
        let mut model = Model {
            file,
            step_not_compiled: None,
        };
        for i in 0..file.ops.len() {
            let view = file
                .op(i)
                .ok_or(Error::Format(rill_format::FormatError::BadOp {
                    op: i,
                    reason: "cannot be decoded",
                }))?;
            model.check_op(&view).map_err(|error| Error::Op {
                op: i,
                kind: view.op.kind(),
                error,
            })?;
        }
        model.check_features(Features::COMPILED, false)?;
        model.step_not_compiled =
            model.first_missing(file.window_ops()..file.ops.len(), Features::COMPILED);
        for &t in file.inputs().iter().chain(file.outputs()) {
            let info = model.tensor(t as usize)?;
            if !matches!(info.dtype, DType::F32 | DType::I32 | DType::I8 | DType::I16) {
                return Err(Error::Format(rill_format::FormatError::BadGraph {
                    reason: "graph inputs and outputs must be f32, i32, i8 or i16",
                }));
            }
        }
        Ok(model)
    }

    pub(crate) fn tensor_info(&self, index: usize) -> Result<TensorInfo<'a>, Error> {
        self.tensor(index)
    }

    /// How the model streams: the window length, latency and state bytes, or why it cannot
    /// ([`Error::NotStreamable`] naming the op, [`Error::NoStream`] for a file written without
    /// streaming information).
    pub fn stream(&self) -> Result<StreamInfo, Error> {
        let s = self.file.stream.ok_or(Error::NoStream)?;
        if let Some(block) = rill_format::StreamBlock::from_u32(s.block) {
            return Err(Error::NotStreamable {
                op: (s.block_op != rill_format::NONE).then_some(s.block_op as usize),
                block,
                detail: s.block_detail,
            });
        }
        if let Some((op, kind, needs)) = self.step_not_compiled {
            return Err(Error::Op {
                op,
                kind,
                error: OpError::NotCompiled { needs },
            });
        }
        let axis = |a: u32| (a != rill_format::NONE).then_some(a as usize);
        Ok(StreamInfo {
            window_len: s.window_len as usize,
            latency: s.latency as usize,
            state_bytes: self.state_bytes(),
            step_arena_bytes: s.step_arena_bytes as usize,
            input_axes: s.input_axes.map(axis),
            output_axes: s.output_axes.map(axis),
        })
    }

    /// Step input `i`: one time step of graph input `i`.
    pub fn step_input(&self, i: usize) -> Result<TensorInfo<'a>, Error> {
        self.stream()?;
        let list = self.file.step_inputs();
        let t = list.get(i).ok_or(Error::NoSuchInput {
            index: i,
            count: list.len(),
        })?;
        self.tensor(*t as usize)
    }

    /// Step output `i`: graph output `i` after the latest step.
    pub fn step_output(&self, i: usize) -> Result<TensorInfo<'a>, Error> {
        self.stream()?;
        let list = self.file.step_outputs();
        let t = list.get(i).ok_or(Error::NoSuchOutput {
            index: i,
            count: list.len(),
        })?;
        self.tensor(*t as usize)
    }

    /// The runtime features op `v` needs.
    #[inline(never)]
    fn needs(&self, v: &OpView<'a>) -> Features {
        let dtype = |t: usize| self.file.dtype(t);
        Features::of_op(v, fixed_code_type(v, dtype), dtype)
    }

    fn program_end(&self, streaming: bool) -> usize {
        if streaming {
            self.file.ops.len()
        } else {
            self.file.window_ops()
        }
    }

    /// The runtime features (cargo features of `rill-runtime`) this model needs: its whole-window
    /// program, and its step program too when `streaming`. Includes the [`Features::SPEED`] ones
    /// its ops would run faster with, which [`Model::check_features`] does not insist on.
    pub fn required_features(&self, streaming: bool) -> Features {
        (0..self.program_end(streaming))
            .filter_map(|i| self.file.op(i))
            .fold(Features::EMPTY, |acc, v| acc.union(self.needs(&v)))
    }

    /// Whether a runtime built with `compiled` runs this model (and its step program when
    /// `streaming`): else the first op it lacks a kernel for, with the features that add it.
    pub fn check_features(&self, compiled: Features, streaming: bool) -> Result<(), Error> {
        match self.first_missing(0..self.program_end(streaming), compiled) {
            None => Ok(()),
            Some((op, kind, needs)) => Err(Error::Op {
                op,
                kind,
                error: OpError::NotCompiled { needs },
            }),
        }
    }

    fn first_missing(
        &self,
        ops: core::ops::Range<usize>,
        compiled: Features,
    ) -> Option<(usize, OpKind, Features)> {
        ops.filter_map(|i| Some((i, self.file.op(i)?)))
            .find_map(|(i, v)| {
                let missing = self.needs(&v).without(compiled).without(Features::SPEED);
                (!missing.is_empty()).then_some((i, v.op.kind(), missing))
            })
    }

    fn tensor(&self, index: usize) -> Result<TensorInfo<'a>, Error> {
        self.file
            .tensor(index)
            .ok_or(Error::Format(rill_format::FormatError::BadTensor {
                tensor: index,
                reason: "does not exist",
            }))
    }

    fn check_op(&self, v: &OpView<'a>) -> Result<(), OpError> {
        let (required, max_in, max_out) = arity(v.op.kind());
        if v.inputs.len() > max_in
            || v.outputs.len() > max_out
            || v.outputs.len() + 1 > MAX_WRITES + 1
        {
            return Err(OpError::TooManyOperands);
        }
        for k in 0..required {
            v.input(k)
                .ok_or(OpError::MissingOperand { output: false, k })?;
        }
        match v.op {
            Op::Rnn(_) => {
                if v.outputs.iter().all(|&t| t == rill_format::NONE) {
                    return Err(OpError::MissingOperand { output: true, k: 0 });
                }
            }
            Op::RnnStep(p) => self.check_rnn_step(v, &p)?,
            Op::Window(_) => self.check_window(v)?,
            #[cfg(all(feature = "requant", feature = "i8", feature = "i16"))]
            Op::Requant(_) => self.check_requant(v)?,
            // No requant kernel in this build: `check_features` refuses the op (naming the
            // features it needs) before it could run, so its operand types are moot.
            #[cfg(not(all(feature = "requant", feature = "i8", feature = "i16")))]
            Op::Requant(_) => {}
            _ => {
                v.output(0)
                    .ok_or(OpError::MissingOperand { output: true, k: 0 })?;
            }
        }
        if matches!(v.op, Op::Rnn(_) | Op::RnnStep(_)) && v.scratch == rill_format::NONE {
            return Err(OpError::MissingOperand {
                output: true,
                k: v.outputs.len(),
            });
        }
        let code = fixed_code_type(v, |t| self.file.dtype(t));
        match code {
            _ if matches!(v.op, Op::Window(_) | Op::Requant(_)) => {}
            Some(code) => self.check_fixed_types(v, code)?,
            None => self.check_float_types(v)?,
        }
        // Kernels never run in place: a written region may overlap no other operand.
        let region = |t: usize| -> Option<(usize, usize)> {
            let ti = self.file.tensor(t)?;
            (ti.storage != Storage::Const).then_some((ti.offset, ti.size))
        };
        let writes = v
            .outputs
            .iter()
            .map(|&t| t as usize)
            .chain((v.scratch != rill_format::NONE).then_some(v.scratch as usize));
        for (w_pos, w) in writes.enumerate() {
            let Some(wr) = region(w) else { continue };
            let others = v
                .inputs
                .iter()
                .chain(v.outputs)
                .map(|&t| t as usize)
                .chain((v.scratch != rill_format::NONE).then_some(v.scratch as usize));
            for (o_pos, o) in others.enumerate() {
                if o_pos == v.inputs.len() + w_pos {
                    continue;
                }
                if let Some(or) = region(o) {
                    if overlaps(wr, or) {
                        return Err(OpError::Overlap { output: w_pos });
                    }
                }
            }
        }
        Ok(())
    }

    /// A step op advancing a forward layer in place: hidden (and LSTM cell) state in state tensors,
    /// no initial-state inputs to read instead.
    fn check_rnn_step(&self, v: &OpView<'a>, p: &rill_format::RnnParams) -> Result<(), OpError> {
        use rill_format::rnn_operand as at;
        let bad = |what| OpError::Kernel(rill_kernels::KernelError::BadParam { what });
        if p.seq_len != 1 || p.direction != rill_format::Direction::Forward as u32 {
            return Err(bad("a recurrent step runs one forward step (seq_len 1)"));
        }
        for k in [at::INITIAL_H, at::INITIAL_C] {
            if v.input(k).is_some() {
                return Err(OpError::DType {
                    output: false,
                    k,
                    found: self.file.dtype(k).unwrap_or(DType::F32),
                });
            }
        }
        let lstm = p.cell == rill_format::CellKind::Lstm as u32;
        for (k, needed) in [(at::Y_H, true), (at::Y_C, lstm)] {
            let t = v.output(k).and_then(|t| self.file.tensor(t));
            match t {
                Some(t) if t.storage == Storage::State => {}
                None if !needed => {}
                _ => return Err(OpError::MissingOperand { output: true, k }),
            }
        }
        Ok(())
    }

    /// Codes in, codes out (i8 or i16 each), and the constant i32 aux `[lo, hi, m0, shift]`.
    fn check_requant(&self, v: &OpView<'a>) -> Result<(), OpError> {
        let code = |output: bool, k: usize| -> Result<(), OpError> {
            let t = if output { v.output(k) } else { v.input(k) };
            let t = t
                .and_then(|t| self.file.tensor(t))
                .ok_or(OpError::MissingOperand { output, k })?;
            match t.dtype {
                DType::I8 | DType::I16 => Ok(()),
                found => Err(OpError::DType { output, k, found }),
            }
        };
        code(false, 0)?;
        code(true, 0)?;
        // Only between the two code types: a same-type rescale has no use and no kernel.
        let dtype = |t: Option<usize>| t.and_then(|t| self.file.dtype(t));
        if dtype(v.input(0)) == dtype(v.output(0)) {
            return Err(OpError::Unsupported);
        }
        let aux = v
            .input(1)
            .and_then(|t| self.file.tensor(t))
            .ok_or(OpError::MissingOperand {
                output: false,
                k: 1,
            })?;
        if aux.dtype != DType::I32 || aux.storage != Storage::Const || aux.len() != 4 {
            return Err(OpError::DType {
                output: false,
                k: 1,
                found: aux.dtype,
            });
        }
        Ok(())
    }

    /// A window op moves elements of one type: x, y and ring alike, head i32, all present; the
    /// optional valid count i32, an activation.
    fn check_window(&self, v: &OpView<'a>) -> Result<(), OpError> {
        let x = v
            .input(0)
            .and_then(|t| self.file.tensor(t))
            .ok_or(OpError::MissingOperand {
                output: false,
                k: 0,
            })?;
        if !matches!(x.dtype, DType::F32 | DType::I32 | DType::I8 | DType::I16) {
            return Err(OpError::DType {
                output: false,
                k: 0,
                found: x.dtype,
            });
        }
        for k in 0..v.outputs.len() {
            let t = v.output(k).and_then(|t| self.file.tensor(t));
            let t = match t {
                Some(t) => t,
                None if k == 3 => continue,
                None => return Err(OpError::MissingOperand { output: true, k }),
            };
            let want = if k >= 2 { DType::I32 } else { x.dtype };
            if t.dtype != want {
                return Err(OpError::DType {
                    output: true,
                    k,
                    found: t.dtype,
                });
            }
            let state = t.storage == Storage::State;
            if (k == 1 || k == 2) != state {
                return Err(OpError::MissingOperand { output: true, k });
            }
        }
        Ok(())
    }

    /// Operand types of an op in the float form in a build without f32 kernels, where only the
    /// data movers run, on i32 data. An op needing a feature this build lacks is left to
    /// `check_features`, which refuses it naming the features (or, a step op, streaming).
    #[cfg(not(feature = "f32"))]
    fn check_float_types(&self, v: &OpView<'a>) -> Result<(), OpError> {
        if !Features::COMPILED.contains(self.needs(v).without(Features::SPEED)) {
            return Ok(());
        }
        let movers = matches!(v.op, Op::Gather(_) | Op::Concat(_) | Op::Copy(_));
        let (_, max_in, _) = arity(v.op.kind());
        if v.inputs.len() > max_in - usize::from(matches!(v.op, Op::Concat(_))) {
            return Err(OpError::TooManyOperands);
        }
        let operands = v.inputs.iter().chain(v.outputs).chain([&v.scratch]);
        for (at, &t) in operands.enumerate() {
            let output = at >= v.inputs.len();
            let k = if output { at - v.inputs.len() } else { at };
            // Absent operands: the required ones are checked above, and every Concat input.
            if t == rill_format::NONE && (output || !matches!(v.op, Op::Concat(_))) {
                continue;
            }
            let found = match self.file.tensor(t as usize) {
                Some(info) => info.dtype,
                None => return Err(OpError::MissingOperand { output, k }),
            };
            // No scratch, and i32 data for a data mover (anything else needs a float kernel).
            if !movers || found != DType::I32 || at == v.inputs.len() + v.outputs.len() {
                return Err(OpError::DType { output, k, found });
            }
        }
        Ok(())
    }

    /// Operand types of an op in the float form (f32, or i32 ids for the data movers).
    #[cfg(feature = "f32")]
    fn check_float_types(&self, v: &OpView<'a>) -> Result<(), OpError> {
        let (_, max_in, _) = arity(v.op.kind());
        let float_max = if matches!(v.op, Op::Gather(_) | Op::Pool(_) | Op::Copy(_)) {
            max_in
        } else {
            max_in - 1
        };
        if v.inputs.len() > float_max {
            return Err(OpError::TooManyOperands);
        }
        let info = |t: usize| {
            self.file.tensor(t).ok_or(OpError::MissingOperand {
                output: false,
                k: t,
            })
        };
        let mut first_dtype = None;
        for k in 0..v.inputs.len() {
            if let Some(t) = v.input(k) {
                let dtype = info(t)?.dtype;
                if !input_ok(&v.op, k, dtype) {
                    return Err(OpError::DType {
                        output: false,
                        k,
                        found: dtype,
                    });
                }
                first_dtype.get_or_insert(dtype);
            }
        }
        // A recurrent layer's W and R are stored alike (both f32 or both f16).
        if let (Op::Rnn(_) | Op::RnnStep(_), Some(w), Some(r)) = (v.op, v.input(1), v.input(2)) {
            let r_dtype = info(r)?.dtype;
            if info(w)?.dtype != r_dtype {
                return Err(OpError::DType {
                    output: false,
                    k: 2,
                    found: r_dtype,
                });
            }
        }
        let out_dtype = match v.op {
            Op::Gather(_) => v
                .input(0)
                .and_then(|t| self.file.tensor(t))
                .map(|t| t.dtype),
            _ => first_dtype,
        };
        for k in 0..v.outputs.len() {
            if let Some(t) = v.output(k) {
                let dtype = info(t)?.dtype;
                if Some(dtype) != out_dtype {
                    return Err(OpError::DType {
                        output: true,
                        k,
                        found: dtype,
                    });
                }
            }
        }
        if let Op::Concat(_) = v.op {
            for k in 0..v.inputs.len() {
                let t = v
                    .input(k)
                    .ok_or(OpError::MissingOperand { output: false, k })?;
                if Some(info(t)?.dtype) != first_dtype {
                    return Err(OpError::DType {
                        output: false,
                        k,
                        found: info(t)?.dtype,
                    });
                }
            }
        }
        if v.scratch != rill_format::NONE && info(v.scratch as usize)?.dtype != DType::F32 {
            return Err(OpError::DType {
                output: true,
                k: v.outputs.len(),
                found: info(v.scratch as usize)?.dtype,
            });
        }
        Ok(())
    }

    /// Operand types of a fixed-point op (codes of type `code`, see `rill_format::ops::qaux`): every
    /// operand present where the kernel needs it, absent where it has no use for it, of its type.
    fn check_fixed_types(&self, v: &OpView<'a>, code: DType) -> Result<(), OpError> {
        let n = v.inputs.len();
        for k in 0..n.max(fixed_min_inputs(&v.op)) {
            let want = fixed_input(&v.op, k, n);
            let have = v.input(k).and_then(|t| self.file.tensor(t));
            match (want, have) {
                (None, None) => {}
                (Some((_, false)), None) => {}
                (Some((_, true)), None) => {
                    return Err(OpError::MissingOperand { output: false, k })
                }
                (None, Some(t)) => {
                    return Err(OpError::DType {
                        output: false,
                        k,
                        found: t.dtype,
                    })
                }
                (Some((w, _)), Some(t)) => {
                    let expected = w.unwrap_or(code);
                    let aux = k + 1 == n && fixed_has_aux(&v.op);
                    // Mul's second operand may be an i16 constant in an int8 model.
                    let wide_mul = matches!(v.op, Op::Binary(p) if p.kind == BinaryKind::Mul as u32)
                        && k == 1
                        && t.dtype == DType::I16
                        && t.storage == Storage::Const;
                    // Dense, Conv and recurrent weights may be i16 in an int16 model.
                    let wide_weights = (matches!(v.op, Op::Dense(_) | Op::Conv(_)) && k == 1
                        || matches!(v.op, Op::Rnn(_) | Op::RnnStep(_)) && (k == 1 || k == 2))
                        && code == DType::I16
                        && t.dtype == DType::I16;
                    if (t.dtype != expected && !wide_mul && !wide_weights)
                        || (aux && t.storage != Storage::Const)
                    {
                        return Err(OpError::DType {
                            output: false,
                            k,
                            found: t.dtype,
                        });
                    }
                }
            }
        }
        for k in 0..v.outputs.len() {
            if let Some(t) = v.output(k).and_then(|t| self.file.tensor(t)) {
                let expected = if matches!(v.op, Op::Rnn(_) | Op::RnnStep(_)) && k == 2 {
                    DType::I16
                } else {
                    code
                };
                if t.dtype != expected {
                    return Err(OpError::DType {
                        output: true,
                        k,
                        found: t.dtype,
                    });
                }
            }
        }
        if v.scratch != rill_format::NONE {
            let t = self
                .file
                .tensor(v.scratch as usize)
                .ok_or(OpError::MissingOperand {
                    output: true,
                    k: v.outputs.len(),
                })?;
            if t.dtype != DType::I32 {
                return Err(OpError::DType {
                    output: true,
                    k: v.outputs.len(),
                    found: t.dtype,
                });
            }
        }
        Ok(())
    }

    /// The validated file, for inspection.
    pub fn file(&self) -> &ModelFile<'a> {
        &self.file
    }

    /// Bytes the arena must provide from a 16-byte aligned start.
    pub fn arena_bytes(&self) -> usize {
        self.file.graph.arena_bytes as usize
    }

    /// Bytes of streaming state (part of [`Model::arena_bytes`]).
    pub fn state_bytes(&self) -> usize {
        self.file.graph.state_bytes as usize
    }

    pub fn input_count(&self) -> usize {
        self.file.inputs().len()
    }

    pub fn output_count(&self) -> usize {
        self.file.outputs().len()
    }

    /// Graph input `i`: name, type, shape.
    pub fn input(&self, i: usize) -> Result<TensorInfo<'a>, Error> {
        let &t = self.file.inputs().get(i).ok_or(Error::NoSuchInput {
            index: i,
            count: self.input_count(),
        })?;
        self.tensor(t as usize)
    }

    pub fn output(&self, i: usize) -> Result<TensorInfo<'a>, Error> {
        let &t = self.file.outputs().get(i).ok_or(Error::NoSuchOutput {
            index: i,
            count: self.output_count(),
        })?;
        self.tensor(t as usize)
    }

    /// Source node name of op `i` (for error messages), `""` if unknown.
    pub fn op_name(&self, i: usize) -> &'a str {
        self.file.op(i).map_or("", |v| v.name)
    }
}
