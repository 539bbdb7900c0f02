//! A model bound to an arena: set inputs, invoke, read outputs — for a whole window at once, or one
//! time step at a time (`step`), with the streaming state kept in the arena between calls.
use rill_format::reader::TensorInfo;
use rill_format::{DType, Storage, ALIGN};

use crate::dispatch;
use crate::error::Error;
use crate::model::Model;

/// One running instance of a model. All activations, scratch and state live in the borrowed arena.
pub struct Session<'m, 'a> {
    model: &'m Model<'m>,
    arena: &'a mut [u8],
    /// Bound by [`Session::new_streaming`] to an arena too small for the whole-window program.
    step_only: bool,
}

impl<'m, 'a> Session<'m, 'a> {
    /// Binds `model` to `arena`. The arena may start anywhere: the session skips to the next 16-byte
    /// boundary, and the slice must hold [`Model::arena_bytes`] bytes after that.
    pub fn new(model: &'m Model<'m>, arena: &'a mut [u8]) -> Result<Session<'m, 'a>, Error> {
        Session::bind(model, arena, model.arena_bytes(), false)
    }

    /// A session that only streams ([`Session::step`]; [`Session::invoke`] refuses): the arena needs
    /// just [`StreamInfo::step_arena_bytes`](crate::StreamInfo) — the state and one step's buffers,
    /// often a small fraction of [`Model::arena_bytes`]. Errors if the model cannot stream.
    pub fn new_streaming(
        model: &'m Model<'m>,
        arena: &'a mut [u8],
    ) -> Result<Session<'m, 'a>, Error> {
        let info = model.stream()?;
        Session::bind(model, arena, info.step_arena_bytes, true)
    }

    fn bind(
        model: &'m Model<'m>,
        arena: &'a mut [u8],
        bytes: usize,
        step_only: bool,
    ) -> Result<Session<'m, 'a>, Error> {
        let skip = arena.as_ptr().align_offset(ALIGN);
        let needed = skip.saturating_add(bytes);
        if skip > arena.len() || arena.len() < needed {
            return Err(Error::ArenaTooSmall {
                needed,
                available: arena.len(),
            });
        }
        let arena = &mut arena[skip..needed];
        arena.fill(0);
        let mut session = Session {
            model,
            arena,
            step_only,
        };
        session.reset()?;
        Ok(session)
    }

    /// Clears the streaming state (recurrent states, conv windows): the next [`Session::step`]
    /// starts a new sequence, as a fresh session would. Whole-window runs do not use the state.
    pub fn reset(&mut self) -> Result<(), Error> {
        let file = self.model.file();
        for &t in file.state_tensors() {
            let info = self.model.tensor_info(t as usize)?;
            let bytes = self
                .arena
                .get_mut(info.offset..info.offset + info.size)
                .ok_or(Error::Format(rill_format::FormatError::BadTensor {
                    tensor: t as usize,
                    reason: "lies outside the arena",
                }))?;
            // Zero real value: the zero point's code (0 for floats and counters), its
            // little-endian bytes repeated (one loop for every type: a reset is rare).
            let z = info.zero_point;
            let (code, mask) = match info.dtype {
                DType::I8 => ([z.clamp(-128, 127) as i8 as u8; 2], 0),
                DType::I16 => ((z.clamp(-32768, 32767) as i16).to_le_bytes(), 1),
                _ => ([0; 2], 0),
            };
            for (i, b) in bytes.iter_mut().enumerate() {
                *b = code[i & mask];
            }
        }
        Ok(())
    }

    pub fn model(&self) -> &'m Model<'m> {
        self.model
    }

    fn region(&self, t: &TensorInfo<'_>) -> core::ops::Range<usize> {
        t.offset..t.offset + t.size
    }

    /// The arena bytes of `t`, or an error if a streaming-only arena does not reach them.
    fn bytes_of(&self, t: &TensorInfo<'_>) -> Result<&[u8], Error> {
        self.arena.get(self.region(t)).ok_or(Error::StreamingOnly)
    }

    fn input_info(&self, i: usize, dtype: DType) -> Result<TensorInfo<'m>, Error> {
        self.typed_input(self.model.input(i)?, i, dtype)
    }

    fn typed_input(
        &self,
        t: TensorInfo<'m>,
        i: usize,
        dtype: DType,
    ) -> Result<TensorInfo<'m>, Error> {
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
        let bytes = self.arena.get_mut(range).ok_or(Error::StreamingOnly)?;
        bytemuck::try_cast_slice_mut(bytes).map_err(|_| Error::WrongLength {
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
        self.write_tensor(t, i, data)
    }

    fn write_tensor<T: bytemuck::Pod>(
        &mut self,
        t: TensorInfo<'m>,
        i: usize,
        data: &[T],
    ) -> Result<(), Error> {
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
        let dst = self.arena.get_mut(range).ok_or(Error::StreamingOnly)?;
        let src: &[u8] = bytemuck::cast_slice(data);
        // Equal when the file's size is the element count times the element size (validated):
        // checked all the same rather than left to a panic.
        if dst.len() != src.len() {
            return Err(Error::WrongLength {
                index: i,
                expected: t.len(),
                actual: data.len(),
            });
        }
        dst.copy_from_slice(src);
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

    /// Runs every op of the whole-window program once, in file order.
    pub fn invoke(&mut self) -> Result<(), Error> {
        self.invoke_observed(|_, _| {})
    }

    /// Runs the step program once: consumes the frame in the step inputs, advances the streaming
    /// state, leaves this step's answer in the step outputs. Errors if the model cannot stream
    /// ([`Model::stream`] says why, naming the op).
    pub fn invoke_step(&mut self) -> Result<(), Error> {
        let file = self.model.file();
        self.model.stream()?;
        for i in file.window_ops()..file.ops.len() {
            self.run_op(i)?;
        }
        Ok(())
    }

    fn run_op(&mut self, i: usize) -> Result<(), Error> {
        let file = self.model.file();
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
        })
    }

    fn step_input(&self, i: usize, dtype: DType) -> Result<TensorInfo<'m>, Error> {
        let t = self.model.step_input(i)?;
        self.typed_input(t, i, dtype)
    }

    /// Copies one frame into step input `i` (f32): the graph input's values at one time step.
    pub fn set_step_input_f32(&mut self, i: usize, data: &[f32]) -> Result<(), Error> {
        let t = self.step_input(i, DType::F32)?;
        self.write_tensor(t, i, data)
    }

    pub fn set_step_input_i32(&mut self, i: usize, data: &[i32]) -> Result<(), Error> {
        let t = self.step_input(i, DType::I32)?;
        self.write_tensor(t, i, data)
    }

    pub fn set_step_input_i8(&mut self, i: usize, data: &[i8]) -> Result<(), Error> {
        let t = self.step_input(i, DType::I8)?;
        self.write_tensor(t, i, data)
    }

    pub fn set_step_input_i16(&mut self, i: usize, data: &[i16]) -> Result<(), Error> {
        let t = self.step_input(i, DType::I16)?;
        self.write_tensor(t, i, data)
    }

    fn step_output_bytes(&self, i: usize, dtype: DType) -> Result<&[u8], Error> {
        let t = self.model.step_output(i)?;
        self.typed_output(t, i, dtype)
    }

    /// Step output `i` as f32 (valid after [`Session::invoke_step`]).
    pub fn step_output_f32(&self, i: usize) -> Result<&[f32], Error> {
        cast_out(self.step_output_bytes(i, DType::F32)?, i, DType::F32)
    }

    pub fn step_output_i32(&self, i: usize) -> Result<&[i32], Error> {
        cast_out(self.step_output_bytes(i, DType::I32)?, i, DType::I32)
    }

    pub fn step_output_i8(&self, i: usize) -> Result<&[i8], Error> {
        Ok(bytemuck::cast_slice(self.step_output_bytes(i, DType::I8)?))
    }

    pub fn step_output_i16(&self, i: usize) -> Result<&[i16], Error> {
        cast_out(self.step_output_bytes(i, DType::I16)?, i, DType::I16)
    }

    /// One-input, one-output streaming convenience (f32 models): feeds `frame` as the next time
    /// step and copies this step's output 0 into `output`. O(1) work per call: recurrent states
    /// and conv windows persist in the arena until [`Session::reset`].
    pub fn step(&mut self, frame: &[f32], output: &mut [f32]) -> Result<(), Error> {
        self.set_step_input_f32(0, frame)?;
        self.invoke_step()?;
        copy_out(self.step_output_f32(0)?, output)
    }

    /// [`Session::invoke`], calling `observe(op, session)` after each op, when that op's outputs
    /// are valid in [`Session::tensor_bytes`] (calibration and per-layer error reports use it).
    pub fn invoke_observed(&mut self, mut observe: impl FnMut(usize, &Self)) -> Result<(), Error> {
        if self.step_only {
            return Err(Error::StreamingOnly);
        }
        for i in 0..self.model.file().window_ops() {
            self.run_op(i)?;
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
        self.typed_output(self.model.output(i)?, i, dtype)
    }

    fn typed_output(&self, t: TensorInfo<'m>, i: usize, dtype: DType) -> Result<&[u8], Error> {
        if t.dtype != dtype {
            return Err(Error::WrongDType {
                index: i,
                expected: dtype,
                found: t.dtype,
            });
        }
        self.bytes_of(&t)
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
        copy_out(self.output_f32(0)?, output)
    }
}

/// Copies output 0's values `y` into the caller's buffer of the same length.
fn copy_out(y: &[f32], output: &mut [f32]) -> Result<(), Error> {
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

fn cast_out<T: bytemuck::Pod>(bytes: &[u8], i: usize, dtype: DType) -> Result<&[T], Error> {
    bytemuck::try_cast_slice(bytes).map_err(|_| Error::WrongDType {
        index: i,
        expected: dtype,
        found: dtype,
    })
}
