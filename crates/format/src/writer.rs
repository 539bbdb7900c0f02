//! Writes `.rill` files (host only). The writer lays sections out, aligns them, deduplicates strings and
//! computes the checksum; it does not judge the graph: whatever it writes must still pass [`ModelFile`]
//! validation, which `finish` runs before returning the bytes.
//!
//! [`ModelFile`]: crate::ModelFile
use std::collections::HashMap;

use crate::records::*;
use crate::{
    align_up, DType, FormatError, ModelFile, Op, StreamBlock, StreamRecord, ALIGN, MAGIC, MAX_RANK,
    MAX_STREAM_IO, NONE, VERSION,
};

/// Where a tensor lives and, for constants, its bytes.
#[derive(Clone, Copy, Debug)]
pub enum TensorData<'a> {
    Const(&'a [u8]),
    Arena { offset: usize },
    State { offset: usize },
}

/// Quantization parameters of a tensor.
#[derive(Clone, Copy, Debug)]
pub struct QuantSpec<'a> {
    pub scale: f32,
    pub zero_point: i32,
    /// Per-channel scales along `axis` (weights); stored in the weights section.
    pub per_channel: Option<(u8, &'a [f32])>,
}

/// Everything the writer needs to record one tensor.
#[derive(Clone, Copy, Debug)]
pub struct TensorSpec<'a> {
    pub name: &'a str,
    pub dtype: DType,
    pub shape: &'a [usize],
    pub data: TensorData<'a>,
    pub quant: Option<QuantSpec<'a>>,
}

/// Graph-level facts recorded by [`FileBuilder::set_graph`].
#[derive(Clone, Debug, Default)]
pub struct GraphSpec {
    pub arena_bytes: usize,
    pub state_bytes: usize,
    pub live_bound_bytes: usize,
    pub producer: String,
    pub source: String,
}

/// The step program's facts, for [`FileBuilder::set_stream`].
#[derive(Clone, Copy, Debug)]
pub struct StreamSpec<'a> {
    /// Ops of the whole-window program (those added before the step program's).
    pub window_ops: usize,
    pub inputs: &'a [u32],
    pub outputs: &'a [u32],
    pub state: &'a [u32],
    pub window_len: usize,
    pub latency: usize,
    /// State bytes plus the step program's buffers.
    pub step_arena_bytes: usize,
    pub input_axes: &'a [Option<usize>],
    pub output_axes: &'a [Option<usize>],
}

#[derive(Debug)]
pub enum WriteError {
    TooLarge {
        what: &'static str,
    },
    BadTensor {
        name: String,
        reason: &'static str,
    },
    /// The written file failed the reader's validation: a converter bug, caught before it ships.
    Invalid(FormatError),
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::TooLarge { what } => {
                write!(f, "{what} does not fit the format's 32-bit offsets")
            }
            WriteError::BadTensor { name, reason } => write!(f, "tensor '{name}': {reason}"),
            WriteError::Invalid(e) => write!(f, "written file fails validation: {e}"),
        }
    }
}

impl std::error::Error for WriteError {}

fn u32_of(n: usize, what: &'static str) -> Result<u32, WriteError> {
    u32::try_from(n).map_err(|_| WriteError::TooLarge { what })
}

/// Accumulates tensors, ops and metadata, then writes the file.
#[derive(Default)]
pub struct FileBuilder {
    tensors: Vec<TensorRecord>,
    ops: Vec<OpRecord>,
    operands: Vec<u32>,
    params: Vec<u8>,
    weights: Vec<u8>,
    strings: Vec<u8>,
    string_index: HashMap<String, u32>,
    meta: Vec<MetaEntry>,
    graph: GraphRecord,
    stream: Option<StreamRecord>,
}

impl FileBuilder {
    pub fn new() -> FileBuilder {
        FileBuilder {
            graph: GraphRecord::zeroed_record(),
            ..Default::default()
        }
    }

    /// Offset of `s` in the strings section (each string is stored once).
    pub fn string(&mut self, s: &str) -> Result<u32, WriteError> {
        if let Some(&off) = self.string_index.get(s) {
            return Ok(off);
        }
        let off = u32_of(self.strings.len(), "strings section")?;
        let len = u16::try_from(s.len()).map_err(|_| WriteError::TooLarge { what: "a string" })?;
        self.strings.extend_from_slice(&len.to_le_bytes());
        self.strings.extend_from_slice(s.as_bytes());
        self.string_index.insert(s.to_owned(), off);
        Ok(off)
    }

    fn push_weights(&mut self, bytes: &[u8]) -> Result<u32, WriteError> {
        let start = align_up(self.weights.len()).ok_or(WriteError::TooLarge { what: "weights" })?;
        self.weights.resize(start, 0);
        self.weights.extend_from_slice(bytes);
        u32_of(start, "weights section")
    }

    /// Records a tensor and returns its index.
    pub fn add_tensor(&mut self, t: &TensorSpec<'_>) -> Result<u32, WriteError> {
        let bad = |reason| WriteError::BadTensor {
            name: t.name.to_owned(),
            reason,
        };
        if t.shape.len() > MAX_RANK {
            return Err(bad("rank above 6"));
        }
        let numel = t
            .shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or(bad("size overflows"))?;
        let size = numel
            .checked_mul(t.dtype.size())
            .ok_or(bad("size overflows"))?;
        let mut shape = [0u32; MAX_RANK];
        for (s, &d) in shape.iter_mut().zip(t.shape) {
            *s = u32_of(d, "a dimension")?;
        }
        let (storage, offset) = match t.data {
            TensorData::Const(bytes) => {
                if bytes.len() != size {
                    return Err(bad("constant data length does not match shape and dtype"));
                }
                (Storage::Const, self.push_weights(bytes)?)
            }
            TensorData::Arena { offset } => (Storage::Arena, u32_of(offset, "an arena offset")?),
            TensorData::State { offset } => (Storage::State, u32_of(offset, "a state offset")?),
        };
        let (scale, zero_point, qaxis, qparams, qcount) = match t.quant {
            None => (1.0, 0, 0, NONE, 0),
            Some(q) => match q.per_channel {
                None => (q.scale, q.zero_point, 0, NONE, 0),
                Some((axis, scales)) => {
                    let off = self.push_weights(bytemuck::cast_slice(scales))?;
                    (
                        q.scale,
                        q.zero_point,
                        axis,
                        off,
                        u32_of(scales.len(), "per-channel scales")?,
                    )
                }
            },
        };
        let name = self.string(t.name)?;
        self.tensors.push(TensorRecord {
            name,
            dtype: t.dtype as u8,
            rank: t.shape.len() as u8,
            storage: storage as u8,
            qaxis,
            shape,
            offset,
            size: u32_of(size, "a tensor")?,
            scale,
            zero_point,
            qparams,
            qcount,
            reserved: [0; 2],
        });
        u32_of(self.tensors.len() - 1, "tensor count")
    }

    /// Records an op. `None` in `inputs`/`outputs` marks an absent optional operand.
    pub fn add_op(
        &mut self,
        op: &Op,
        inputs: &[Option<u32>],
        outputs: &[Option<u32>],
        scratch: Option<u32>,
        name: &str,
    ) -> Result<u32, WriteError> {
        let n_inputs =
            u8::try_from(inputs.len()).map_err(|_| WriteError::TooLarge { what: "op inputs" })?;
        let n_outputs =
            u8::try_from(outputs.len()).map_err(|_| WriteError::TooLarge { what: "op outputs" })?;
        let operands = u32_of(self.operands.len(), "operands")?;
        self.operands
            .extend(inputs.iter().chain(outputs).map(|t| t.unwrap_or(NONE)));
        while !self.params.len().is_multiple_of(4) {
            self.params.push(0);
        }
        let params = u32_of(self.params.len(), "params section")?;
        let bytes = op.params_bytes();
        self.params.extend_from_slice(bytes);
        let name = self.string(name)?;
        self.ops.push(OpRecord {
            opcode: op.kind() as u16,
            n_inputs,
            n_outputs,
            operands,
            params,
            params_len: bytes.len() as u32,
            scratch: scratch.unwrap_or(NONE),
            name,
            reserved: [0; 2],
        });
        u32_of(self.ops.len() - 1, "op count")
    }

    /// The graph's inputs and outputs, by tensor index.
    pub fn set_io(&mut self, inputs: &[u32], outputs: &[u32]) -> Result<(), WriteError> {
        self.graph.io = u32_of(self.operands.len(), "operands")?;
        self.graph.n_inputs = u32_of(inputs.len(), "graph inputs")?;
        self.graph.n_outputs = u32_of(outputs.len(), "graph outputs")?;
        self.operands.extend_from_slice(inputs);
        self.operands.extend_from_slice(outputs);
        Ok(())
    }

    pub fn set_graph(&mut self, g: &GraphSpec) -> Result<(), WriteError> {
        self.graph.arena_bytes = u32_of(g.arena_bytes, "arena")?;
        self.graph.state_bytes = u32_of(g.state_bytes, "state")?;
        self.graph.live_bound_bytes = u32_of(g.live_bound_bytes, "live bound")?;
        self.graph.producer = self.string(&g.producer)?;
        self.graph.source = self.string(&g.source)?;
        Ok(())
    }

    /// Records the step program: ops added from now on are its ops, run by `step`; call after the
    /// whole-window program's ops. `input_axes`/`output_axes` are the whole-window graph's time
    /// axes (`None`: an output without one).
    pub fn set_stream(&mut self, s: &StreamSpec<'_>) -> Result<(), WriteError> {
        let too_many = || WriteError::TooLarge {
            what: "stream inputs/outputs (at most 4)",
        };
        if s.inputs.len() > MAX_STREAM_IO || s.outputs.len() > MAX_STREAM_IO {
            return Err(too_many());
        }
        let mut rec: StreamRecord = bytemuck::Zeroable::zeroed();
        rec.window_ops = u32_of(s.window_ops, "op count")?;
        rec.io = u32_of(self.operands.len(), "operands")?;
        rec.n_inputs = u32_of(s.inputs.len(), "stream inputs")?;
        rec.n_outputs = u32_of(s.outputs.len(), "stream outputs")?;
        self.operands.extend_from_slice(s.inputs);
        self.operands.extend_from_slice(s.outputs);
        rec.state = u32_of(self.operands.len(), "operands")?;
        rec.n_state = u32_of(s.state.len(), "state tensors")?;
        self.operands.extend_from_slice(s.state);
        rec.window_len = u32_of(s.window_len, "window length")?;
        rec.latency = u32_of(s.latency, "latency")?;
        rec.step_arena_bytes = u32_of(s.step_arena_bytes, "step arena")?;
        rec.block_op = NONE;
        let axes = |v: &[Option<usize>]| -> Result<[u32; MAX_STREAM_IO], WriteError> {
            let mut out = [NONE; MAX_STREAM_IO];
            if v.len() > MAX_STREAM_IO {
                return Err(too_many());
            }
            for (o, a) in out.iter_mut().zip(v) {
                *o = a.map_or(Ok(NONE), |a| u32_of(a, "an axis"))?;
            }
            Ok(out)
        };
        rec.input_axes = axes(s.input_axes)?;
        rec.output_axes = axes(s.output_axes)?;
        self.stream = Some(rec);
        Ok(())
    }

    /// Records that the model cannot stream: op `op` (of the whole-window program) `block`s it.
    pub fn set_stream_blocked(
        &mut self,
        block: StreamBlock,
        op: Option<usize>,
        detail: usize,
        latency: usize,
    ) -> Result<(), WriteError> {
        let mut rec: StreamRecord = bytemuck::Zeroable::zeroed();
        rec.window_ops = u32_of(self.ops.len(), "op count")?;
        rec.block = block as u32;
        rec.block_op = op.map_or(Ok(NONE), |o| u32_of(o, "op index"))?;
        rec.block_detail = u32_of(detail, "block detail")?;
        rec.latency = u32_of(latency, "latency")?;
        rec.input_axes = [NONE; MAX_STREAM_IO];
        rec.output_axes = [NONE; MAX_STREAM_IO];
        self.stream = Some(rec);
        Ok(())
    }

    pub fn add_meta(&mut self, key: &str, value: &str) -> Result<(), WriteError> {
        let key = self.string(key)?;
        let value = self.string(value)?;
        self.meta.push(MetaEntry { key, value });
        Ok(())
    }

    /// Lays out the file, checksums it and validates it with the reader.
    pub fn finish(self) -> Result<Vec<u8>, WriteError> {
        let mut sections: Vec<(SectionKind, &[u8])> = vec![
            (SectionKind::Tensors, bytemuck::cast_slice(&self.tensors)),
            (SectionKind::Ops, bytemuck::cast_slice(&self.ops)),
            (SectionKind::Operands, bytemuck::cast_slice(&self.operands)),
            (SectionKind::Params, &self.params),
            (SectionKind::Weights, &self.weights),
            (SectionKind::Graph, bytemuck::bytes_of(&self.graph)),
            (SectionKind::Strings, &self.strings),
        ];
        if !self.meta.is_empty() {
            sections.push((SectionKind::Meta, bytemuck::cast_slice(&self.meta)));
        }
        if let Some(st) = &self.stream {
            sections.push((SectionKind::Stream, bytemuck::bytes_of(st)));
        }
        let table_len = sections.len() * core::mem::size_of::<SectionEntry>();
        let header_len = align_up(core::mem::size_of::<Header>() + table_len).unwrap_or(usize::MAX);
        let mut out = vec![0u8; header_len];
        let mut table = Vec::with_capacity(sections.len());
        for (kind, bytes) in &sections {
            let offset = out.len();
            out.extend_from_slice(bytes);
            out.resize(
                align_up(out.len()).ok_or(WriteError::TooLarge { what: "file" })?,
                0,
            );
            table.push(SectionEntry {
                kind: *kind as u32,
                offset: u32_of(offset, "file")?,
                len: u32_of(bytes.len(), "a section")?,
                reserved: 0,
            });
        }
        let header = Header {
            magic: MAGIC,
            version: VERSION,
            header_len: u16::try_from(header_len)
                .map_err(|_| WriteError::TooLarge { what: "header" })?,
            file_len: u32_of(out.len(), "file")?,
            crc32: 0,
            flags: 0,
            section_count: sections.len() as u32,
            reserved: [0; 2],
        };
        let hsize = core::mem::size_of::<Header>();
        out[..hsize].copy_from_slice(bytemuck::bytes_of(&header));
        out[hsize..hsize + table_len].copy_from_slice(bytemuck::cast_slice(&table));
        let crc = crate::reader::checksum(&out[CRC_START..]);
        out[12..16].copy_from_slice(&crc.to_le_bytes());
        debug_assert_eq!(ALIGN, 16);
        let aligned = AlignedBytes::from_slice(&out);
        ModelFile::parse(aligned.as_slice()).map_err(WriteError::Invalid)?;
        Ok(out)
    }
}

impl GraphRecord {
    fn zeroed_record() -> GraphRecord {
        GraphRecord {
            producer: NONE,
            source: NONE,
            ..bytemuck::Zeroable::zeroed()
        }
    }
}

/// Owned bytes starting on a 16-byte boundary, as [`ModelFile::parse`] requires (a `Vec<u8>` only
/// promises 1). Use it to hold a model read from disk on the host.
#[derive(Clone, Debug, Default)]
pub struct AlignedBytes {
    words: Vec<u128>,
    len: usize,
}

impl AlignedBytes {
    pub fn from_slice(bytes: &[u8]) -> AlignedBytes {
        let mut words = vec![0u128; bytes.len().div_ceil(16)];
        bytemuck::cast_slice_mut::<u128, u8>(&mut words)[..bytes.len()].copy_from_slice(bytes);
        AlignedBytes {
            words,
            len: bytes.len(),
        }
    }

    pub fn as_slice(&self) -> &[u8] {
        &bytemuck::cast_slice::<u128, u8>(&self.words)[..self.len]
    }
}

impl Default for GraphRecord {
    fn default() -> GraphRecord {
        GraphRecord::zeroed_record()
    }
}
