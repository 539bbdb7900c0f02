//! Runs one op: borrows its operands out of the arena and the weights, and calls its kernel.
use rill_format::reader::OpView;
use rill_format::{ModelFile, Op, Storage, NONE};
use rill_kernels as k;

use crate::arena::{ArenaViews, MAX_WRITES};
use crate::error::OpError;

/// The recurrent cell kinds this build compiles in.
const CELLS: u8 = crate::features::Features::CELLS;

/// Whether this build compiles in the log-softmax form.
pub(crate) const LOG_SOFTMAX: bool = cfg!(feature = "log-softmax");

/// An op's operands, typed on demand.
pub(crate) struct Operands<'f, 's> {
    file: &'f ModelFile<'s>,
    view: &'f OpView<'s>,
    arena: ArenaViews<'s>,
}

impl<'f, 's> Operands<'f, 's> {
    pub(crate) fn input_bytes(&self, kk: usize) -> Result<Option<&'s [u8]>, OpError> {
        let Some(t) = self.view.input(kk) else {
            return Ok(None);
        };
        let missing = OpError::MissingOperand {
            output: false,
            k: kk,
        };
        let info = self.file.tensor(t).ok_or(missing)?;
        let bytes = match info.storage {
            Storage::Const => self.file.const_bytes(t),
            Storage::Arena | Storage::State => self.arena.read(info.offset, info.size),
        };
        bytes.map(Some).ok_or(OpError::Overlap { output: 0 })
    }

    pub(crate) fn opt<T: bytemuck::Pod>(&self, kk: usize) -> Result<Option<&'s [T]>, OpError> {
        match self.input_bytes(kk)? {
            None => Ok(None),
            Some(b) => bytemuck::try_cast_slice(b)
                .map(Some)
                .map_err(|_| OpError::DType {
                    output: false,
                    k: kk,
                    found: rill_format::DType::U8,
                }),
        }
    }

    pub(crate) fn req<T: bytemuck::Pod>(&self, kk: usize) -> Result<&'s [T], OpError> {
        self.opt(kk)?.ok_or(OpError::MissingOperand {
            output: false,
            k: kk,
        })
    }

    /// Writable operand `w` (outputs by position, then scratch at position `n_outputs`).
    pub(crate) fn opt_out<T: bytemuck::Pod>(
        &mut self,
        w: usize,
    ) -> Result<Option<&'s mut [T]>, OpError> {
        match self.arena.take(w) {
            None => Ok(None),
            Some(b) => bytemuck::try_cast_slice_mut(b)
                .map(Some)
                .map_err(|_| OpError::DType {
                    output: true,
                    k: w,
                    found: rill_format::DType::U8,
                }),
        }
    }

    pub(crate) fn out<T: bytemuck::Pod>(&mut self, w: usize) -> Result<&'s mut [T], OpError> {
        self.opt_out(w)?
            .ok_or(OpError::MissingOperand { output: true, k: w })
    }

    pub(crate) fn scratch<T: bytemuck::Pod>(&mut self) -> Result<&'s mut [T], OpError> {
        let w = self.view.outputs.len();
        self.out(w)
    }

    pub(crate) fn input_dtype(&self, kk: usize) -> Option<rill_format::DType> {
        self.file.dtype(self.view.input(kk)?)
    }

    pub(crate) fn output_dtype(&self, w: usize) -> Option<rill_format::DType> {
        self.file.dtype(self.view.output(w)?)
    }

    pub(crate) fn view(&self) -> &'f OpView<'s> {
        self.view
    }

    /// Zero point of input `kk` (0 when absent).
    pub(crate) fn zero_point(&self, kk: usize) -> i32 {
        self.view
            .input(kk)
            .and_then(|t| self.file.tensor(t))
            .map_or(0, |t| t.zero_point)
    }

    /// Zero point of output `w` (0 when absent).
    pub(crate) fn out_zero_point(&self, w: usize) -> i32 {
        self.view
            .output(w)
            .and_then(|t| self.file.tensor(t))
            .map_or(0, |t| t.zero_point)
    }
}

#[allow(unreachable_patterns)] // the fallbacks for kernels compiled out
pub fn run_op<'s>(
    file: &ModelFile<'s>,
    arena: &'s mut [u8],
    view: &OpView<'s>,
) -> Result<(), OpError> {
    let mut writes = [None; MAX_WRITES];
    let n_out = view.outputs.len();
    if n_out >= MAX_WRITES {
        return Err(OpError::TooManyOperands);
    }
    let region = |t: u32| {
        let info = file.tensor(t as usize)?;
        (info.storage != Storage::Const).then_some((info.offset, info.size))
    };
    for (w, &t) in view.outputs.iter().enumerate() {
        writes[w] = if t == NONE { None } else { region(t) };
    }
    if view.scratch != NONE {
        writes[n_out] = region(view.scratch);
    }
    let arena = ArenaViews::split(arena, &writes[..=n_out])?;
    let mut o = Operands { file, view, arena };
    match &view.op {
        #[cfg(feature = "stream")]
        Op::Window(p) => return window(&mut o, p),
        #[cfg(all(feature = "requant", feature = "i8", feature = "i16"))]
        Op::Requant(p) => return crate::fixed::requant(&mut o, p),
        Op::Window(_) | Op::Requant(_) => return Err(OpError::Unsupported),
        _ => {}
    }
    match crate::model::fixed_code_type(view, |t| file.dtype(t)) {
        #[cfg(feature = "i8")]
        Some(rill_format::DType::I8) => return crate::fixed::run::<i8>(&mut o),
        #[cfg(feature = "i16")]
        Some(rill_format::DType::I16) => return crate::fixed::run::<i16>(&mut o),
        Some(rill_format::DType::I8 | rill_format::DType::I16) => return Err(OpError::Unsupported),
        _ => {}
    }
    float(&mut o, view)
}

/// The float form of an op (and i32 data moves).
#[allow(unused_variables, unreachable_patterns)] // what is left when kernels are compiled out
fn float(o: &mut Operands<'_, '_>, view: &OpView<'_>) -> Result<(), OpError> {
    let kernel = |r: Result<(), k::KernelError>| r.map_err(OpError::Kernel);
    match &view.op {
        #[cfg(all(feature = "f32", feature = "dense"))]
        Op::Dense(p) => {
            let (x, b) = (o.req(0)?, o.opt(2)?);
            #[cfg(feature = "f16")]
            if o.input_dtype(1) == Some(rill_format::DType::F16) {
                let w = o.req::<half::f16>(1)?;
                return kernel(k::dense::float::dense(p, x, w, b, o.out(0)?));
            }
            let w = o.req::<f32>(1)?;
            kernel(k::dense::float::dense(p, x, w, b, o.out(0)?))
        }
        #[cfg(all(feature = "f32", feature = "matmul"))]
        Op::MatMul(p) => {
            let (a, b) = (o.req(0)?, o.req(1)?);
            kernel(k::dense::float::matmul(p, a, b, o.out(0)?))
        }
        #[cfg(all(feature = "f32", feature = "conv"))]
        Op::Conv(p) => {
            let (x, b) = (o.req(0)?, o.opt(2)?);
            #[cfg(feature = "f16")]
            if o.input_dtype(1) == Some(rill_format::DType::F16) {
                let w = o.req::<half::f16>(1)?;
                return kernel(k::conv::float::conv(p, x, w, b, o.out(0)?));
            }
            let w = o.req::<f32>(1)?;
            kernel(k::conv::float::conv(p, x, w, b, o.out(0)?))
        }
        #[cfg(all(feature = "f32", feature = "pool"))]
        Op::Pool(p) => {
            let x = o.req(0)?;
            let valid = o.opt::<i32>(1)?.and_then(|v| v.first().copied());
            kernel(k::pool::float::pool_step(p, x, valid, o.out(0)?))
        }
        #[cfg(all(feature = "f32", feature = "rnn"))]
        Op::Rnn(p) => {
            #[cfg(feature = "f16")]
            if o.input_dtype(1) == Some(rill_format::DType::F16) {
                return rnn::<half::f16>(o, p);
            }
            rnn::<f32>(o, p)
        }
        #[cfg(all(feature = "f32", feature = "rnn", feature = "stream"))]
        Op::RnnStep(p) => {
            #[cfg(feature = "f16")]
            if o.input_dtype(1) == Some(rill_format::DType::F16) {
                return rnn_step::<half::f16>(o, p);
            }
            rnn_step::<f32>(o, p)
        }
        #[cfg(all(feature = "f32", feature = "activation"))]
        Op::Unary(p) => {
            let x = o.req(0)?;
            kernel(k::act::float::unary(p, x, o.out(0)?))
        }
        #[cfg(all(feature = "f32", feature = "binary"))]
        Op::Binary(p) => {
            let (a, b) = (o.req(0)?, o.req(1)?);
            kernel(k::elementwise::float::binary(p, a, b, o.out(0)?))
        }
        #[cfg(all(feature = "f32", feature = "softmax"))]
        Op::Softmax(p) => {
            let x = o.req(0)?;
            kernel(k::softmax::float::softmax_modes::<LOG_SOFTMAX>(
                p,
                x,
                o.out(0)?,
            ))
        }
        #[cfg(all(feature = "f32", feature = "layer-norm"))]
        Op::LayerNorm(p) => {
            let (x, s, b) = (o.req(0)?, o.req(1)?, o.opt(2)?);
            kernel(k::norm::float::layer_norm(p, x, s, b, o.out(0)?))
        }
        #[cfg(all(feature = "f32", feature = "reduce"))]
        Op::Reduce(p) => {
            let x = o.req(0)?;
            kernel(k::reduce::float::reduce(p, x, o.out(0)?))
        }
        #[cfg(feature = "gather")]
        Op::Gather(p) => {
            let idx = o.req::<i32>(1)?;
            if o.input_dtype(0) == Some(rill_format::DType::I32) {
                let d = o.req::<i32>(0)?;
                return kernel(k::gather::gather(p, d, idx, o.out(0)?));
            }
            #[cfg(feature = "f32")]
            return kernel(k::gather::gather(p, o.req::<f32>(0)?, idx, o.out(0)?));
            #[cfg(not(feature = "f32"))]
            Err(OpError::Unsupported)
        }
        #[cfg(feature = "concat")]
        Op::Concat(p) => {
            if o.input_dtype(0) == Some(rill_format::DType::I32) {
                return concat::<i32>(o, view, p);
            }
            #[cfg(feature = "f32")]
            return concat::<f32>(o, view, p);
            #[cfg(not(feature = "f32"))]
            Err(OpError::Unsupported)
        }
        #[cfg(feature = "copy")]
        Op::Copy(p) => {
            if o.input_dtype(0) == Some(rill_format::DType::I32) {
                let x = o.req::<i32>(0)?;
                return kernel(k::copy::strided_copy(p, x, o.out(0)?));
            }
            #[cfg(feature = "f32")]
            return kernel(k::copy::strided_copy(p, o.req::<f32>(0)?, o.out(0)?));
            #[cfg(not(feature = "f32"))]
            Err(OpError::Unsupported)
        }
        _ => Err(OpError::Unsupported),
    }
}

#[cfg(feature = "concat")]
fn concat<T: bytemuck::Pod>(
    o: &mut Operands<'_, '_>,
    view: &OpView<'_>,
    p: &rill_format::ConcatParams,
) -> Result<(), OpError> {
    let n = view.inputs.len();
    let mut ins: [&[T]; 8] = [&[]; 8];
    for (kk, slot) in ins.iter_mut().enumerate().take(n) {
        *slot = o.req(kk)?;
    }
    k::concat::concat(p, ins.get(..n).unwrap_or(&[]), o.out(0)?).map_err(OpError::Kernel)
}

/// Moves elements of whatever type x holds (validated at load: y and ring alike), as bytes: one
/// kernel for every element type, a frame row of `inner` elements being `inner * size` bytes.
#[cfg(feature = "stream")]
fn window(o: &mut Operands<'_, '_>, p: &rill_format::WindowParams) -> Result<(), OpError> {
    use rill_format::DType;
    let size = match o.input_dtype(0) {
        #[cfg(feature = "f32")]
        Some(DType::F32) => 4,
        Some(DType::I32) => 4,
        #[cfg(feature = "i16")]
        Some(DType::I16) => 2,
        #[cfg(feature = "i8")]
        Some(DType::I8) => 1,
        _ => return Err(OpError::Unsupported),
    };
    let inner = p
        .inner
        .checked_mul(size)
        .ok_or(OpError::Kernel(k::KernelError::Overflow {
            what: "window frame",
        }))?;
    let p = rill_format::WindowParams { inner, ..*p };
    let x = o.req::<u8>(0)?;
    let (y, ring, head) = (o.out::<u8>(0)?, o.out::<u8>(1)?, o.out::<i32>(2)?);
    let valid = o.opt_out::<i32>(3)?;
    k::window::window(&p, x, y, ring, head, valid).map_err(OpError::Kernel)
}

/// A whole f32 recurrent layer, its W and R stored as `W` (f32 or f16).
#[cfg(all(feature = "f32", feature = "rnn"))]
fn rnn<W: k::Weight + bytemuck::Pod>(
    o: &mut Operands<'_, '_>,
    p: &rill_format::RnnParams,
) -> Result<(), OpError> {
    let inputs = k::rnn::RnnInputs {
        x: o.req(0)?,
        w: o.req::<W>(1)?,
        r: o.req::<W>(2)?,
        b: o.opt(3)?,
        initial_h: o.opt(4)?,
        initial_c: o.opt(5)?,
        p: o.opt(6)?,
    };
    let scratch = o.scratch()?;
    let outputs = k::rnn::RnnOutputs {
        y: o.opt_out(0)?,
        y_h: o.opt_out(1)?,
        y_c: o.opt_out(2)?,
    };
    k::rnn::float::rnn_cells::<W, CELLS>(p, inputs, outputs, scratch).map_err(OpError::Kernel)
}

/// One f32 step of a forward layer, state updated in place in y_h (and y_c).
#[cfg(all(feature = "f32", feature = "rnn", feature = "stream"))]
fn rnn_step<W: k::Weight + bytemuck::Pod>(
    o: &mut Operands<'_, '_>,
    p: &rill_format::RnnParams,
) -> Result<(), OpError> {
    use rill_format::{rnn_operand as at, CellKind};
    let kernel = |r: Result<(), k::KernelError>| r.map_err(OpError::Kernel);
    let inputs = k::rnn::RnnInputs {
        x: o.req::<f32>(at::X)?,
        w: o.req::<W>(at::W)?,
        r: o.req::<W>(at::R)?,
        b: o.opt(at::B)?,
        initial_h: None,
        initial_c: None,
        p: o.opt(at::P)?,
    };
    let wts = k::rnn::CellWeights::of(p, &inputs, 0).map_err(OpError::Kernel)?;
    let gates = o.scratch::<f32>()?;
    let mut y = o.opt_out::<f32>(at::Y)?;
    let h = o.out::<f32>(at::Y_H)?;
    let mut c = o.opt_out::<f32>(at::Y_C)?;
    let (n_in, n_h) = (p.input_size as usize, p.hidden as usize);
    let rows = p.batch as usize;
    let len = |v: &Option<&mut [f32]>| v.as_deref().map(<[f32]>::len);
    kernel(k::rnn::step_lengths(
        p,
        inputs.x.len(),
        h.len(),
        len(&c),
        len(&y),
    ))?;
    let short = |what| {
        OpError::Kernel(k::KernelError::Length {
            what,
            expected: rows,
            actual: 0,
        })
    };
    for b in 0..rows {
        let x = inputs
            .x
            .get(b * n_in..(b + 1) * n_in)
            .ok_or(short("rnn x"))?;
        let h = h.get_mut(b * n_h..(b + 1) * n_h).ok_or(short("rnn y_h"))?;
        match k::rnn::cell_kind(p.cell) {
            #[cfg(feature = "simple-rnn")]
            Some(CellKind::Rnn) => kernel(k::rnn::float::rnn_step(p, 0, &wts, x, h, gates))?,
            #[cfg(feature = "gru")]
            Some(CellKind::Gru) => kernel(k::rnn::float::gru_step(p, 0, &wts, x, h, gates))?,
            #[cfg(feature = "lstm")]
            Some(CellKind::Lstm) => {
                let c = c
                    .as_deref_mut()
                    .and_then(|c| c.get_mut(b * n_h..(b + 1) * n_h))
                    .ok_or(short("rnn y_c"))?;
                kernel(k::rnn::float::lstm_step(p, 0, &wts, x, h, c, gates))?
            }
            _ => return Err(OpError::Unsupported),
        }
        if let Some(y) = y.as_deref_mut() {
            y.get_mut(b * n_h..(b + 1) * n_h)
                .ok_or(short("rnn y"))?
                .copy_from_slice(h);
        }
    }
    Ok(())
}
