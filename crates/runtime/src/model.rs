//! A validated model: the file checks of `rill-format` plus what the runtime needs to run every op
//! without surprises (operands present, element types it has kernels for, no write aliasing).
use rill_format::reader::{OpView, TensorInfo};
use rill_format::{DType, ModelFile, Op, OpKind, Storage};

use crate::arena::MAX_WRITES;
use crate::error::{Error, OpError};

/// A model ready to run. Cheap to copy around: it borrows the file bytes.
#[derive(Clone, Copy, Debug)]
pub struct Model<'a> {
    file: ModelFile<'a>,
}

/// How many operands of each side an op kind takes: (required inputs, max inputs, max outputs).
/// Output 0 is required for every kind except Rnn, whose outputs are each optional.
fn arity(kind: OpKind) -> (usize, usize, usize) {
    match kind {
        OpKind::Dense | OpKind::Conv => (2, 3, 1),
        OpKind::MatMul | OpKind::Binary | OpKind::Gather => (2, 2, 1),
        OpKind::Pool | OpKind::Unary | OpKind::Softmax | OpKind::Reduce | OpKind::Copy => (1, 1, 1),
        OpKind::LayerNorm => (2, 3, 1),
        OpKind::Rnn => (3, 7, 3),
        OpKind::Concat => (1, 8, 1),
    }
}

/// Element types an op accepts at input `k` (outputs follow input 0's type, except Gather's).
fn input_ok(op: &Op, k: usize, dtype: DType) -> bool {
    match op {
        Op::Gather(_) if k == 1 => dtype == DType::I32,
        Op::Gather(_) | Op::Concat(_) | Op::Copy(_) => matches!(dtype, DType::F32 | DType::I32),
        _ => dtype == DType::F32,
    }
}

fn overlaps(a: (usize, usize), b: (usize, usize)) -> bool {
    a.1 > 0 && b.1 > 0 && a.0 < b.0 + b.1 && b.0 < a.0 + a.1
}

impl<'a> Model<'a> {
    /// Validates `bytes` (which must start on a 16-byte boundary) as a runnable model.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Model<'a>, Error> {
        let file = ModelFile::parse(bytes)?;
        let model = Model { file };
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
        for &t in file.inputs().iter().chain(file.outputs()) {
            let info = model.tensor(t as usize)?;
            if !matches!(info.dtype, DType::F32 | DType::I32) {
                return Err(Error::Format(rill_format::FormatError::BadGraph {
                    reason: "graph inputs and outputs must be f32 or i32",
                }));
            }
        }
        Ok(model)
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
        if !matches!(v.op, Op::Rnn(_)) {
            v.output(0)
                .ok_or(OpError::MissingOperand { output: true, k: 0 })?;
        } else if v.outputs.iter().all(|&t| t == rill_format::NONE) {
            return Err(OpError::MissingOperand { output: true, k: 0 });
        }
        if matches!(v.op, Op::Rnn(_)) && v.scratch == rill_format::NONE {
            return Err(OpError::MissingOperand {
                output: true,
                k: v.outputs.len(),
            });
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
