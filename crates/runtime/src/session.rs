//! A model bound to an arena: set inputs, invoke, read outputs.
use rill_format::reader::TensorInfo;
use rill_format::{DType, Storage, ALIGN};

use crate::dispatch;
use crate::error::Error;
use crate::model::Model;

/// One running instance of a model. All activations, scratch and state live in the borrowed arena.
pub struct Session<'m, 'a> {
    model: &'m Model<'m>,
    arena: &'a mut [u8],
}

impl<'m, 'a> Session<'m, 'a> {
    /// Binds `model` to `arena`. The arena may start anywhere: the session skips to the next 16-byte
    /// boundary, and the slice must hold [`Model::arena_bytes`] bytes after that.
    pub fn new(model: &'m Model<'m>, arena: &'a mut [u8]) -> Result<Session<'m, 'a>, Error> {
        let skip = arena.as_ptr().align_offset(ALIGN);
        let needed = skip.saturating_add(model.arena_bytes());
        if skip > arena.len() || arena.len() < needed {
            return Err(Error::ArenaTooSmall {
                needed,
                available: arena.len(),
            });
        }
        let arena = &mut arena[skip..needed];
        arena.fill(0);
        Ok(Session { model, arena })
    }

    pub fn model(&self) -> &'m Model<'m> {
        self.model
    }

    fn region(&self, t: &TensorInfo<'_>) -> core::ops::Range<usize> {
        t.offset..t.offset + t.size
    }

    fn input_info(&self, i: usize, dtype: DType) -> Result<TensorInfo<'m>, Error> {
        let t = self.model.input(i)?;
        if t.dtype != dtype {
            return Err(Error::WrongDType {
                index: i,
                expected: dtype,
                found: t.dtype,
            });
        }
        Ok(t)
    }

    /// Mutable view of graph input `i` as f32, to fill in place.
    pub fn input_f32_mut(&mut self, i: usize) -> Result<&mut [f32], Error> {
        let t = self.input_info(i, DType::F32)?;
        let range = self.region(&t);
        bytemuck::try_cast_slice_mut(&mut self.arena[range]).map_err(|_| Error::WrongLength {
            index: i,
            expected: t.len(),
            actual: 0,
        })
    }

    fn write_input<T: bytemuck::Pod>(
        &mut self,
        i: usize,
        dtype: DType,
        data: &[T],
    ) -> Result<(), Error> {
        let t = self.input_info(i, dtype)?;
        if data.len() != t.len() {
            return Err(Error::WrongLength {
                index: i,
                expected: t.len(),
                actual: data.len(),
            });
        }
        if t.storage == Storage::Const {
            return Err(Error::NoSuchInput {
                index: i,
                count: self.model.input_count(),
            });
        }
        let range = self.region(&t);
        self.arena[range].copy_from_slice(bytemuck::cast_slice(data));
        Ok(())
    }

    /// Copies `data` into graph input `i` (f32).
    pub fn set_input_f32(&mut self, i: usize, data: &[f32]) -> Result<(), Error> {
        self.write_input(i, DType::F32, data)
    }

    /// Copies `data` into graph input `i` (i32, e.g. token ids).
    pub fn set_input_i32(&mut self, i: usize, data: &[i32]) -> Result<(), Error> {
        self.write_input(i, DType::I32, data)
    }

    /// Copies `data` into graph input `i` (i8 codes of a fixed-point model).
    pub fn set_input_i8(&mut self, i: usize, data: &[i8]) -> Result<(), Error> {
        self.write_input(i, DType::I8, data)
    }

    /// Copies `data` into graph input `i` (i16 codes of a fixed-point model).
    pub fn set_input_i16(&mut self, i: usize, data: &[i16]) -> Result<(), Error> {
        self.write_input(i, DType::I16, data)
    }

    /// Runs every op once, in file order.
    pub fn invoke(&mut self) -> Result<(), Error> {
        self.invoke_observed(|_, _| {})
    }

    /// [`Session::invoke`], calling `observe(op, session)` after each op, when that op's outputs
    /// are valid in [`Session::tensor_bytes`] (calibration and per-layer error reports use it).
    pub fn invoke_observed(&mut self, mut observe: impl FnMut(usize, &Self)) -> Result<(), Error> {
        let file = self.model.file();
        for i in 0..file.ops.len() {
            let Some(view) = file.op(i) else {
                return Err(Error::Format(rill_format::FormatError::BadOp {
                    op: i,
                    reason: "cannot be decoded",
                }));
            };
            dispatch::run_op(file, self.arena, &view).map_err(|error| Error::Op {
                op: i,
                kind: view.op.kind(),
                error,
            })?;
            observe(i, self);
        }
        Ok(())
    }

    /// The current bytes of arena tensor `t` (a tensor index of the file). Only what the plan keeps
    /// alive at this point is meaningful: a buffer may since have been reused by a later tensor.
    pub fn tensor_bytes(&self, t: usize) -> Result<&[u8], Error> {
        let info = self.model.file().tensor(t).ok_or(Error::Format(
            rill_format::FormatError::BadTensor {
                tensor: t,
                reason: "does not exist",
            },
        ))?;
        if info.storage == Storage::Const {
            return Ok(self.model.file().const_bytes(t).unwrap_or(&[]));
        }
        self.arena.get(self.region(&info)).ok_or(Error::Format(
            rill_format::FormatError::BadTensor {
                tensor: t,
                reason: "lies outside the arena",
            },
        ))
    }

    fn output_bytes(&self, i: usize, dtype: DType) -> Result<&[u8], Error> {
        let t = self.model.output(i)?;
        if t.dtype != dtype {
            return Err(Error::WrongDType {
                index: i,
                expected: dtype,
                found: t.dtype,
            });
        }
        Ok(&self.arena[self.region(&t)])
    }

    /// Graph output `i` as f32 (valid after [`Session::invoke`]).
    pub fn output_f32(&self, i: usize) -> Result<&[f32], Error> {
        bytemuck::try_cast_slice(self.output_bytes(i, DType::F32)?).map_err(|_| Error::WrongDType {
            index: i,
            expected: DType::F32,
            found: DType::F32,
        })
    }

    pub fn output_i32(&self, i: usize) -> Result<&[i32], Error> {
        bytemuck::try_cast_slice(self.output_bytes(i, DType::I32)?).map_err(|_| Error::WrongDType {
            index: i,
            expected: DType::I32,
            found: DType::I32,
        })
    }

    pub fn output_i8(&self, i: usize) -> Result<&[i8], Error> {
        Ok(bytemuck::cast_slice(self.output_bytes(i, DType::I8)?))
    }

    pub fn output_i16(&self, i: usize) -> Result<&[i16], Error> {
        bytemuck::try_cast_slice(self.output_bytes(i, DType::I16)?).map_err(|_| Error::WrongDType {
            index: i,
            expected: DType::I16,
            found: DType::I16,
        })
    }

    /// One-input, one-output convenience: sets input 0, invokes, copies output 0 into `output`.
    pub fn run(&mut self, input: &[f32], output: &mut [f32]) -> Result<(), Error> {
        self.set_input_f32(0, input)?;
        self.invoke()?;
        let y = self.output_f32(0)?;
        if y.len() != output.len() {
            return Err(Error::WrongLength {
                index: 0,
                expected: y.len(),
                actual: output.len(),
            });
        }
        output.copy_from_slice(y);
        Ok(())
    }
}
