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
    /// A build without `stream` reads the whole-window program only ([`ModelFile::parse_window_program`]):
    /// whether the file has a stream section, to refuse streaming with the right error.
    stream_section: bool,
}

/// The operand rules of an op kind, one descriptor per kind (see [`rules`]).
struct Rules {
    /// Inputs that must be present (positions `0..required`), in either form.
    required: u8,
    /// Most inputs and outputs; the inputs count the fixed-point form's aux operand.
    max_in: u8,
    max_out: u8,
    /// The fixed-point form's inputs by position ([`Spec`] bytes; past the end: absent). Window
    /// and Requant have their own checks, and Concat's inputs are all codes but the last, its aux.
    fixed: [u8; 8],
}

/// Fixed-point operand specs: a type (the low bits) and flags.
mod spec {
    /// Must be absent.
    pub const ABSENT: u8 = 0;
    /// The op's code type (i8 or i16).
    pub const CODE: u8 = 1;
    /// Weights: i8, or i16 in an int16 model.
    pub const WEIGHTS: u8 = 2;
    pub const I16: u8 = 3;
    pub const I32: u8 = 4;
    pub const TYPE: u8 = 0x0f;
    /// May be absent.
    pub const OPT: u8 = 0x10;
    /// A constant (the aux operand).
    pub const CONST: u8 = 0x20;
    /// May also be an i16 constant when the op is a Mul (an int8 model's wide constant factor).
    pub const MUL_I16: u8 = 0x40;
    pub const AUX: u8 = I32 | CONST;
}

/// Output 0 is required for every kind except Rnn, whose outputs are each optional.
const fn rules(kind: OpKind) -> Rules {
    use spec::*;
    const fn r(required: u8, max_in: u8, max_out: u8, fixed: [u8; 8]) -> Rules {
        Rules {
            required,
            max_in,
            max_out,
            fixed,
        }
    }
    const N: u8 = ABSENT;
    match kind {
        OpKind::Dense | OpKind::Conv => r(2, 4, 1, [CODE, WEIGHTS, I32, AUX, N, N, N, N]),
        OpKind::MatMul => r(2, 3, 1, [CODE, CODE, AUX, N, N, N, N, N]),
        OpKind::Binary => r(2, 3, 1, [CODE, CODE | MUL_I16, AUX, N, N, N, N, N]),
        OpKind::Gather => r(2, 2, 1, [CODE, I32, N, N, N, N, N, N]),
        // A step pool's valid taps, from its Window.
        OpKind::Pool => r(1, 2, 1, [CODE, I32 | OPT, N, N, N, N, N, N]),
        OpKind::Copy => r(1, 1, 1, [CODE, N, N, N, N, N, N, N]),
        OpKind::Unary => r(1, 2, 1, [CODE, CODE | CONST, N, N, N, N, N, N]),
        OpKind::Softmax | OpKind::Reduce => r(1, 2, 1, [CODE, AUX, N, N, N, N, N, N]),
        OpKind::LayerNorm => r(2, 4, 1, [CODE, I16, I32 | OPT, AUX, N, N, N, N]),
        // x, W, R, (no bias), initial h and c (whole layer only), (no peepholes), aux.
        OpKind::Rnn => r(
            3,
            8,
            3,
            [CODE, WEIGHTS, WEIGHTS, N, CODE | OPT, I16 | OPT, N, AUX],
        ),
        OpKind::RnnStep => r(3, 8, 3, [CODE, WEIGHTS, WEIGHTS, N, N, N, N, AUX]),
        OpKind::Window => r(1, 1, 4, [N; 8]),
        OpKind::Requant => r(2, 2, 1, [N; 8]),
        OpKind::Concat => r(1, 9, 1, [N; 8]),
    }
}

const _: () = assert!(rill_format::qaux::RNN_POSITION == 7);

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

fn overlaps(a: (usize, usize), b: (usize, usize)) -> bool {
    a.1 > 0 && b.1 > 0 && a.0 < b.0 + b.1 && b.0 < a.0 + a.1
}

impl<'a> Model<'a> {
    /// Validates `bytes` (which must start on a 16-byte boundary) as a runnable model.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Model<'a>, Error> {
        #[cfg(feature = "stream")]
        let (file, stream_section) = (ModelFile::parse(bytes)?, false);
        #[cfg(not(feature = "stream"))]
        let (file, stream_section) = ModelFile::parse_window_program(bytes)?;
        let mut model = Model {
            file,
            step_not_compiled: None,
            stream_section,
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
    /// streaming information, [`Error::StreamNotCompiled`] in a build without `stream`).
    pub fn stream(&self) -> Result<StreamInfo, Error> {
        if !cfg!(feature = "stream") {
            return Err(if self.stream_section {
                Error::StreamNotCompiled
            } else {
                Error::NoStream
            });
        }
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

    /// The runtime features op `v` needs, with the [`Features::SPEED`] ones its shapes take when
    /// `speed` (a check of what must be compiled in leaves them out, and their shape tests unlinked).
    /// Every op of the step program needs streaming too.
    #[inline(never)]
    fn needs(&self, v: &OpView<'a>, speed: bool) -> Features {
        let dtype = |t: usize| self.file.dtype(t);
        let zero_point = |t: usize| self.file.tensor(t).map_or(0, |t| t.zero_point);
        let step = if v.index >= self.file.window_ops() {
            Features::STREAM
        } else {
            Features::EMPTY
        };
        Features::of_op(v, fixed_code_type(v, dtype), dtype, zero_point, speed).union(step)
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
            .fold(Features::EMPTY, |acc, v| acc.union(self.needs(&v, true)))
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
                let missing = self.needs(&v, false).without(compiled);
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
        let Rules {
            required,
            max_in,
            max_out,
            ..
        } = rules(v.op.kind());
        if v.inputs.len() > usize::from(max_in)
            || v.outputs.len() > usize::from(max_out)
            || v.outputs.len() + 1 > MAX_WRITES + 1
        {
            return Err(OpError::TooManyOperands);
        }
        for k in 0..usize::from(required) {
            v.input(k)
                .ok_or(OpError::MissingOperand { output: false, k })?;
        }
        match &v.op {
            Op::Rnn(_) => {
                if v.outputs.iter().all(|&t| t == rill_format::NONE) {
                    return Err(OpError::MissingOperand { output: true, k: 0 });
                }
            }
            #[cfg(feature = "stream")]
            Op::RnnStep(p) => self.check_rnn_step(v, p)?,
            #[cfg(feature = "stream")]
            Op::Window(_) => self.check_window(v)?,
            // Step kernels are not in this build: `check_features` refuses these ops.
            #[cfg(not(feature = "stream"))]
            Op::RnnStep(_) | Op::Window(_) => {}
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
        if !Features::COMPILED.contains(self.needs(v, false)) {
            return Ok(());
        }
        let movers = matches!(v.op, Op::Gather(_) | Op::Concat(_) | Op::Copy(_));
        let max_in = usize::from(rules(v.op.kind()).max_in);
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
        let max_in = usize::from(rules(v.op.kind()).max_in);
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
        if let (Op::Rnn(_) | Op::RnnStep(_), Some(w), Some(r)) = (&v.op, v.input(1), v.input(2)) {
            let r_dtype = info(r)?.dtype;
            if info(w)?.dtype != r_dtype {
                return Err(OpError::DType {
                    output: false,
                    k: 2,
                    found: r_dtype,
                });
            }
        }
        let out_dtype = match &v.op {
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
    /// operand present where the kernel needs it, absent where it has no use for it, of its type
    /// ([`rules`]).
    fn check_fixed_types(&self, v: &OpView<'a>, code: DType) -> Result<(), OpError> {
        use spec::*;
        let n = v.inputs.len();
        let fixed = rules(v.op.kind()).fixed;
        let concat = matches!(v.op, Op::Concat(_));
        let mul = matches!(v.op, Op::Binary(p) if p.kind == BinaryKind::Mul as u32);
        for k in 0..n.max(fixed.len()) {
            let want = match concat {
                // Codes, then the aux operand, of at least one code input.
                true if n >= 2 && k + 1 < n => CODE,
                true if n >= 2 && k + 1 == n => AUX,
                true => ABSENT,
                false => fixed.get(k).copied().unwrap_or(ABSENT),
            };
            let Some(t) = v.input(k).and_then(|t| self.file.tensor(t)) else {
                if want != ABSENT && want & OPT == 0 {
                    return Err(OpError::MissingOperand { output: false, k });
                }
                continue;
            };
            let expected = match want & TYPE {
                CODE => Some(code),
                // Dense, Conv and recurrent weights may be i16 in an int16 model.
                WEIGHTS if code == DType::I16 && t.dtype == DType::I16 => Some(DType::I16),
                WEIGHTS => Some(DType::I8),
                I16 => Some(DType::I16),
                I32 => Some(DType::I32),
                _ => None,
            };
            let is_const = t.storage == Storage::Const;
            // Mul's second operand may be an i16 constant in an int8 model.
            let wide_mul = want & MUL_I16 != 0 && mul && t.dtype == DType::I16 && is_const;
            if (Some(t.dtype) != expected && !wide_mul) || (want & CONST != 0 && !is_const) {
                return Err(OpError::DType {
                    output: false,
                    k,
                    found: t.dtype,
                });
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
                // The kernel writes probabilities on a fixed grid (docs/numerics.md): a file that
                // labels them otherwise would be read back as other values.
                if matches!(v.op, Op::Softmax(p) if p.log == 0) {
                    let grid = match code {
                        DType::I8 => (1.0 / 256.0, -128),
                        _ => (1.0 / 32768.0, 0),
                    };
                    if (t.scale, t.zero_point) != grid {
                        return Err(OpError::Kernel(rill_kernels::KernelError::BadParam {
                            what: "softmax output scale and zero point are not the kernel's \
                                   (1/256 and -128 for i8, 1/32768 and 0 for i16)",
                        }));
                    }
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

    /// The validated file, for inspection (in a build without `stream`, its whole-window program
    /// only: see [`ModelFile::parse_window_program`]).
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
        self.file.op(i).map_or("", |v| v.name())
    }
}
