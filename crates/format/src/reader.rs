//! Validating zero-copy reader. [`ModelFile::parse`] checks the header, checksum, every section range,
//! every record, every index and every enum once; afterwards accessors index without further checks
//! failing (they still return `Option`/`Result` rather than panic on a caller's bad index).
use crate::records::*;
use crate::{
    DType, FormatError, Op, StreamBlock, StreamRecord, ALIGN, MAGIC, MAX_RANK, MAX_STREAM_IO, NONE,
    VERSION,
};

const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// CRC-32 (ISO-HDLC, the zlib/PNG one) used by the header.
pub fn checksum(bytes: &[u8]) -> u32 {
    CRC32.checksum(bytes)
}

/// A validated view of a `.rill` file.
#[derive(Clone, Copy, Debug)]
pub struct ModelFile<'a> {
    pub header: Header,
    pub tensors: &'a [TensorRecord],
    pub ops: &'a [OpRecord],
    pub operands: &'a [u32],
    pub params: &'a [u8],
    pub weights: &'a [u8],
    /// The graph and stream records are read in place (sections are 16-byte aligned): the view
    /// stays small, and it is copied into every model and session.
    pub graph: &'a GraphRecord,
    pub strings: &'a [u8],
    pub meta: &'a [MetaEntry],
    /// The stream section, when the converter wrote one.
    pub stream: Option<&'a StreamRecord>,
}

/// A tensor record decoded into typed fields. The name is decoded only when asked for
/// ([`TensorInfo::name`]): running a model fetches operands every step and has no use for it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TensorInfo<'a> {
    pub index: usize,
    name: Name<'a>,
    pub dtype: DType,
    pub shape: &'a [u32],
    pub storage: Storage,
    pub offset: usize,
    pub size: usize,
    pub scale: f32,
    pub zero_point: i32,
}

/// A string of the strings section, decoded on use.
#[derive(Clone, Copy, PartialEq)]
struct Name<'a> {
    strings: &'a [u8],
    offset: u32,
}

/// The decoded string, not the whole strings section it points into.
impl core::fmt::Debug for Name<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(self.get(), f)
    }
}

impl<'a> Name<'a> {
    /// `""` for `NONE`, and for a name that is not UTF-8 (refused at load with `std`; see
    /// [`ModelFile::check_string`]).
    fn get(self) -> &'a str {
        if self.offset == NONE {
            return "";
        }
        read_string(self.strings, self.offset).unwrap_or("")
    }
}

impl<'a> TensorInfo<'a> {
    /// The tensor's name (the ONNX value it holds).
    pub fn name(&self) -> &'a str {
        self.name.get()
    }

    /// Element count.
    pub fn len(&self) -> usize {
        self.size / self.dtype.size()
    }

    pub fn is_empty(&self) -> bool {
        self.size == 0
    }
}

fn section_err(e: &SectionEntry, reason: &'static str) -> FormatError {
    FormatError::BadSection {
        kind: e.kind,
        offset: e.offset,
        len: e.len,
        reason,
    }
}

fn cast<'a, T: bytemuck::Pod>(e: &SectionEntry, bytes: &'a [u8]) -> Result<&'a [T], FormatError> {
    bytemuck::try_cast_slice(bytes)
        .map_err(|_| section_err(e, "length is not a whole number of records"))
}

/// The bytes of the string at `offset` of a strings section: a u16 length then the bytes.
fn string_bytes(strings: &[u8], offset: u32) -> Option<&[u8]> {
    let start = offset as usize;
    let len_bytes = strings.get(start..start.checked_add(2)?)?;
    let len = u16::from_le_bytes([len_bytes[0], len_bytes[1]]) as usize;
    strings.get(start + 2..(start + 2).checked_add(len)?)
}

/// The string at `offset` of a strings section, if it is UTF-8.
fn read_string(strings: &[u8], offset: u32) -> Option<&str> {
    core::str::from_utf8(string_bytes(strings, offset)?).ok()
}

impl<'a> ModelFile<'a> {
    /// Validates `bytes` as a `.rill` file. `bytes` must start on a 16-byte boundary.
    pub fn parse(bytes: &'a [u8]) -> Result<ModelFile<'a>, FormatError> {
        let file = ModelFile::parse_sections(bytes)?;
        file.validate()?;
        if let Some(s) = &file.stream {
            file.validate_stream(s)?;
        }
        Ok(file)
    }

    /// [`ModelFile::parse`] for a reader that runs whole windows only: the view ends with the
    /// whole-window program (`ops` holds only its ops, `stream` is `None`), and the step program
    /// and the stream section's lists, which such a reader never touches, are left unchecked (the
    /// checksum still covers every byte). A runtime built without streaming carries no code for
    /// them. The flag says whether the file has a stream section, so the reader can tell "cannot
    /// stream in this build" from "written without streaming information".
    pub fn parse_window_program(bytes: &'a [u8]) -> Result<(ModelFile<'a>, bool), FormatError> {
        let mut file = ModelFile::parse_sections(bytes)?;
        let streams = file.stream.is_some();
        if let Some(s) = file.stream.take() {
            file.ops = file
                .ops
                .get(..s.window_ops as usize)
                .ok_or(FormatError::BadStream {
                    reason: "window program is longer than the op list",
                })?;
        }
        file.validate()?;
        Ok((file, streams))
    }

    /// The header, the checksum, the section table and each section's framing.
    fn parse_sections(bytes: &'a [u8]) -> Result<ModelFile<'a>, FormatError> {
        let hsize = core::mem::size_of::<Header>();
        if bytes.len() < hsize {
            return Err(FormatError::Truncated {
                expected: hsize,
                actual: bytes.len(),
            });
        }
        let header: Header = bytemuck::pod_read_unaligned(&bytes[..hsize]);
        if header.magic != MAGIC {
            return Err(FormatError::BadMagic {
                found: header.magic,
            });
        }
        if header.version != VERSION {
            return Err(FormatError::UnsupportedVersion {
                found: header.version,
                supported: VERSION,
            });
        }
        let file_len = header.file_len as usize;
        if bytes.len() < file_len {
            return Err(FormatError::Truncated {
                expected: file_len,
                actual: bytes.len(),
            });
        }
        if bytes.len() > file_len {
            return Err(FormatError::TrailingBytes {
                expected: file_len,
                actual: bytes.len(),
            });
        }
        let computed = checksum(&bytes[CRC_START..]);
        if computed != header.crc32 {
            return Err(FormatError::Checksum {
                stored: header.crc32,
                computed,
            });
        }
        let misalign = (bytes.as_ptr() as usize) % ALIGN;
        if misalign != 0 {
            return Err(FormatError::Misaligned {
                address_mod_16: misalign,
            });
        }
        let header_len = header.header_len as usize;
        let table_len = (header.section_count as usize)
            .checked_mul(core::mem::size_of::<SectionEntry>())
            .and_then(|n| n.checked_add(hsize))
            .ok_or(FormatError::BadHeader {
                reason: "section count overflows",
            })?;
        if !header_len.is_multiple_of(ALIGN) || header_len < table_len || header_len > file_len {
            return Err(FormatError::BadHeader {
                reason: "header length disagrees with the section table",
            });
        }
        let table: &[SectionEntry] =
            bytemuck::try_cast_slice(&bytes[hsize..table_len]).map_err(|_| {
                FormatError::BadHeader {
                    reason: "section table misaligned",
                }
            })?;

        const KINDS: usize = SectionKind::Stream as usize + 1;
        let mut found: [Option<&'a [u8]>; KINDS] = [None; KINDS];
        let mut entries = [SectionEntry {
            kind: 0,
            offset: 0,
            len: 0,
            reserved: 0,
        }; KINDS];
        for e in table {
            let start = e.offset as usize;
            let end = start
                .checked_add(e.len as usize)
                .ok_or(section_err(e, "range overflows"))?;
            if !start.is_multiple_of(ALIGN) {
                return Err(section_err(e, "offset is not 16-byte aligned"));
            }
            if start < header_len || end > file_len {
                return Err(section_err(e, "range falls outside the file body"));
            }
            let kind = e.kind as usize;
            if !(1..KINDS).contains(&kind) {
                continue; // an optional section from a newer writer
            }
            if found[kind].is_some() {
                let k = SectionKind::REQUIRED
                    .iter()
                    .chain(&[SectionKind::Meta, SectionKind::Stream])
                    .find(|k| **k as usize == kind);
                if let Some(&kind) = k {
                    return Err(FormatError::DuplicateSection { kind });
                }
            }
            found[kind] = Some(&bytes[start..end]);
            entries[kind] = *e;
        }
        for kind in SectionKind::REQUIRED {
            if found[kind as usize].is_none() {
                return Err(FormatError::MissingSection { kind });
            }
        }
        let sec = |k: SectionKind| (found[k as usize].unwrap_or(&[]), entries[k as usize]);

        let (b, e) = sec(SectionKind::Tensors);
        let tensors: &[TensorRecord] = cast(&e, b)?;
        let (b, e) = sec(SectionKind::Ops);
        let ops: &[OpRecord] = cast(&e, b)?;
        let (b, e) = sec(SectionKind::Operands);
        let operands: &[u32] = cast(&e, b)?;
        let (b, e) = sec(SectionKind::Graph);
        if b.len() != core::mem::size_of::<GraphRecord>() {
            return Err(section_err(&e, "graph section has the wrong length"));
        }
        let graph: &GraphRecord =
            bytemuck::try_from_bytes(b).map_err(|_| section_err(&e, "graph section misaligned"))?;
        let meta: &[MetaEntry] = match found[SectionKind::Meta as usize] {
            Some(b) => cast(&entries[SectionKind::Meta as usize], b)?,
            None => &[],
        };
        let stream = match found[SectionKind::Stream as usize] {
            Some(b) if b.len() == core::mem::size_of::<StreamRecord>() => {
                Some(bytemuck::try_from_bytes::<StreamRecord>(b).map_err(|_| {
                    section_err(
                        &entries[SectionKind::Stream as usize],
                        "stream section misaligned",
                    )
                })?)
            }
            Some(_) => {
                return Err(section_err(
                    &entries[SectionKind::Stream as usize],
                    "stream section has the wrong length",
                ))
            }
            None => None,
        };
        let file = ModelFile {
            header,
            tensors,
            ops,
            operands,
            params: sec(SectionKind::Params).0,
            weights: sec(SectionKind::Weights).0,
            graph,
            strings: sec(SectionKind::Strings).0,
            meta,
            stream,
        };
        Ok(file)
    }

    /// Names only ever appear in messages, so a `no_std` reader checks that they lie inside the
    /// strings section but not that they are UTF-8 (about 700 bytes of flash on a Cortex-M4 for
    /// text a running model never reads; one that is not reads as `""`). With `std` (the host's
    /// tools) they are checked to be UTF-8 as well.
    fn check_string(&self, offset: u32) -> Result<(), FormatError> {
        let ok = offset == NONE
            || string_bytes(self.strings, offset)
                .is_some_and(|b| !cfg!(feature = "std") || core::str::from_utf8(b).is_ok());
        if ok {
            Ok(())
        } else {
            Err(FormatError::BadString { offset })
        }
    }

    fn validate(&self) -> Result<(), FormatError> {
        let g = &self.graph;
        if g.state_bytes > g.arena_bytes {
            return Err(FormatError::BadGraph {
                reason: "state bytes exceed arena bytes",
            });
        }
        self.check_string(g.producer)?;
        self.check_string(g.source)?;
        for m in self.meta {
            self.check_string(m.key)?;
            self.check_string(m.value)?;
        }
        for (i, t) in self.tensors.iter().enumerate() {
            self.validate_tensor(i, t)?;
        }
        for (i, op) in self.ops.iter().enumerate() {
            self.validate_op(i, op)?;
        }
        let io = self.io_slice().ok_or(FormatError::BadGraph {
            reason: "input/output list out of bounds",
        })?;
        if g.n_outputs == 0 {
            return Err(FormatError::BadGraph {
                reason: "graph has no outputs",
            });
        }
        for &t in io {
            match self.tensors.get(t as usize) {
                Some(rec) if rec.storage != Storage::Const as u8 => {}
                Some(_) => {
                    return Err(FormatError::BadGraph {
                        reason: "graph input or output is a constant",
                    })
                }
                None => {
                    return Err(FormatError::BadGraph {
                        reason: "graph input or output index out of range",
                    })
                }
            }
        }
        Ok(())
    }

    fn validate_stream(&self, s: &StreamRecord) -> Result<(), FormatError> {
        let bad = |reason| FormatError::BadStream { reason };
        let window_ops = s.window_ops as usize;
        if window_ops > self.ops.len() {
            return Err(bad("window program is longer than the op list"));
        }
        if s.block != 0 {
            StreamBlock::from_u32(s.block).ok_or(bad("unknown block reason"))?;
            if window_ops != self.ops.len() || s.n_inputs != 0 || s.n_outputs != 0 {
                return Err(bad("a model that cannot stream has a step program"));
            }
            if s.block_op != NONE && s.block_op as usize >= window_ops {
                return Err(bad("blocking op does not exist"));
            }
            return Ok(());
        }
        if window_ops == self.ops.len() {
            return Err(bad("a streamable model has no step program"));
        }
        if s.step_arena_bytes > self.graph.arena_bytes
            || s.step_arena_bytes < self.graph.state_bytes
        {
            return Err(bad(
                "step arena is not between the state and the whole arena",
            ));
        }
        if s.n_inputs as usize > MAX_STREAM_IO
            || s.n_outputs as usize > MAX_STREAM_IO
            || s.n_inputs != self.graph.n_inputs
            || s.n_outputs != self.graph.n_outputs
        {
            return Err(bad("step inputs/outputs do not match the graph's"));
        }
        let list = |at: u32, n: u32| {
            let start = at as usize;
            self.operands.get(start..start.checked_add(n as usize)?)
        };
        let n_io = s
            .n_inputs
            .checked_add(s.n_outputs)
            .ok_or(bad("io overflows"))?;
        for &t in list(s.io, n_io).ok_or(bad("step input/output list out of bounds"))? {
            match self.tensors.get(t as usize) {
                Some(r) if r.storage != Storage::Const as u8 => {}
                _ => return Err(bad("step input or output is missing or constant")),
            }
        }
        for &t in list(s.state, s.n_state).ok_or(bad("state list out of bounds"))? {
            match self.tensors.get(t as usize) {
                Some(r) if r.storage == Storage::State as u8 => {}
                _ => return Err(bad("state list names a tensor outside the state region")),
            }
        }
        for (k, &a) in s.input_axes.iter().enumerate() {
            let ok = match self
                .inputs()
                .get(k)
                .and_then(|&t| self.tensors.get(t as usize))
            {
                Some(r) => a < r.rank as u32,
                None => a == NONE,
            };
            if !ok {
                return Err(bad("input time axis out of range"));
            }
        }
        for (k, &a) in s.output_axes.iter().enumerate() {
            let ok = match self
                .outputs()
                .get(k)
                .and_then(|&t| self.tensors.get(t as usize))
            {
                Some(r) => a < r.rank as u32 || a == NONE,
                None => a == NONE,
            };
            if !ok {
                return Err(bad("output time axis out of range"));
            }
        }
        Ok(())
    }

    /// Ops of the whole-window program: all of them unless a step program follows.
    pub fn window_ops(&self) -> usize {
        self.stream.map_or(self.ops.len(), |s| {
            (s.window_ops as usize).min(self.ops.len())
        })
    }

    /// The step program's inputs (tensor indices), empty if the model cannot stream.
    pub fn step_inputs(&self) -> &'a [u32] {
        self.stream_list(|s| (s.io, s.n_inputs))
    }

    /// The step program's outputs (tensor indices), empty if the model cannot stream.
    pub fn step_outputs(&self) -> &'a [u32] {
        self.stream_list(|s| (s.io.saturating_add(s.n_inputs), s.n_outputs))
    }

    /// State tensors, restored to their zero points by a reset.
    pub fn state_tensors(&self) -> &'a [u32] {
        self.stream_list(|s| (s.state, s.n_state))
    }

    fn stream_list(&self, at: impl Fn(&StreamRecord) -> (u32, u32)) -> &'a [u32] {
        let Some(s) = &self.stream else { return &[] };
        if s.block != 0 {
            return &[];
        }
        let (start, n) = at(s);
        let start = start as usize;
        start
            .checked_add(n as usize)
            .and_then(|end| self.operands.get(start..end))
            .unwrap_or(&[])
    }

    fn validate_tensor(&self, i: usize, t: &TensorRecord) -> Result<(), FormatError> {
        let bad = |reason| FormatError::BadTensor { tensor: i, reason };
        self.check_string(t.name)?;
        let dtype = DType::from_u8(t.dtype).ok_or(bad("unknown dtype"))?;
        let rank = t.rank as usize;
        if rank > MAX_RANK {
            return Err(bad("rank above 6"));
        }
        if t.shape[rank..].iter().any(|&d| d != 0) {
            return Err(bad("dimensions past the rank are not zero"));
        }
        let numel = t.shape[..rank]
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d as usize));
        let size = numel
            .and_then(|n| n.checked_mul(dtype.size()))
            .ok_or(bad("size overflows"))?;
        if size != t.size as usize {
            return Err(bad("byte size disagrees with shape and dtype"));
        }
        let storage = Storage::from_u8(t.storage).ok_or(bad("unknown storage kind"))?;
        let end = (t.offset as usize)
            .checked_add(size)
            .ok_or(bad("range overflows"))?;
        if !(t.offset as usize).is_multiple_of(ALIGN) {
            return Err(bad("offset is not 16-byte aligned"));
        }
        let limit = match storage {
            Storage::Const => self.weights.len(),
            Storage::Arena => self.graph.arena_bytes as usize,
            Storage::State => self.graph.state_bytes as usize,
        };
        if end > limit {
            return Err(bad(match storage {
                Storage::Const => "data lies outside the weights section",
                Storage::Arena => "buffer lies outside the arena",
                Storage::State => "buffer lies outside the state region",
            }));
        }
        if storage == Storage::Arena
            && (t.offset as usize) < self.graph.state_bytes as usize
            && size > 0
        {
            return Err(bad("activation buffer overlaps the state region"));
        }
        if t.qcount > 0 {
            let qend = (t.qcount as usize)
                .checked_mul(4)
                .and_then(|n| n.checked_add(t.qparams as usize))
                .ok_or(bad("per-channel parameters overflow"))?;
            if !t.qparams.is_multiple_of(4)
                || qend > self.weights.len()
                || t.qaxis as usize >= rank.max(1)
            {
                return Err(bad("per-channel quantization parameters out of bounds"));
            }
        }
        if !(t.scale.is_finite() && t.scale > 0.0) {
            return Err(bad("quantization scale is not a positive finite number"));
        }
        // The kernels subtract zero points from codes in i32 and shift the differences up: a zero
        // point outside its code type's range would wrap (silently, in a release build).
        let (lo, hi) = match dtype {
            DType::I8 => (i8::MIN as i32, i8::MAX as i32),
            DType::I16 => (i16::MIN as i32, i16::MAX as i32),
            DType::U8 => (0, u8::MAX as i32),
            DType::F32 | DType::F16 | DType::I32 => (0, 0),
        };
        if !(lo..=hi).contains(&t.zero_point) {
            return Err(bad(if lo == hi {
                "zero point is not 0 for a tensor that holds no quantized codes"
            } else {
                "zero point lies outside the range of its code type"
            }));
        }
        Ok(())
    }

    fn validate_op(&self, i: usize, op: &OpRecord) -> Result<(), FormatError> {
        let bad = |reason| FormatError::BadOp { op: i, reason };
        self.check_string(op.name)?;
        let start = op.params as usize;
        let end = start
            .checked_add(op.params_len as usize)
            .ok_or(bad("parameter range overflows"))?;
        if !start.is_multiple_of(4) {
            return Err(bad("parameter record is not 4-byte aligned"));
        }
        let pbytes = self
            .params
            .get(start..end)
            .ok_or(bad("parameter record lies outside the params section"))?;
        Op::decode(i, op.opcode, pbytes)?;
        let operands = self
            .op_operands(op)
            .ok_or(bad("operand list lies outside the operands section"))?;
        for (k, &t) in operands.iter().enumerate() {
            if t == NONE {
                continue;
            }
            let rec = self
                .tensors
                .get(t as usize)
                .ok_or(bad("operand refers to a tensor that does not exist"))?;
            if k >= op.n_inputs as usize && rec.storage == Storage::Const as u8 {
                return Err(bad("op writes to a constant tensor"));
            }
        }
        if op.scratch != NONE {
            match self.tensors.get(op.scratch as usize) {
                Some(rec) if rec.storage == Storage::Arena as u8 => {}
                _ => return Err(bad("scratch is not an arena tensor")),
            }
        }
        Ok(())
    }

    fn op_operands(&self, op: &OpRecord) -> Option<&'a [u32]> {
        let start = op.operands as usize;
        let end = start.checked_add(op.n_inputs as usize + op.n_outputs as usize)?;
        self.operands.get(start..end)
    }

    fn io_slice(&self) -> Option<&'a [u32]> {
        let start = self.graph.io as usize;
        let n = (self.graph.n_inputs as usize).checked_add(self.graph.n_outputs as usize)?;
        self.operands.get(start..start.checked_add(n)?)
    }

    /// The string at `offset` of the strings section, `""` for `NONE` or anything invalid.
    pub fn string(&self, offset: u32) -> &'a str {
        self.name_at(offset).get()
    }

    fn name_at(&self, offset: u32) -> Name<'a> {
        Name {
            strings: self.strings,
            offset,
        }
    }

    /// Tensor `index` decoded.
    #[cfg_attr(feature = "small", inline(never))]
    pub fn tensor(&self, index: usize) -> Option<TensorInfo<'a>> {
        let t = self.tensors.get(index)?;
        Some(TensorInfo {
            index,
            name: self.name_at(t.name),
            dtype: DType::from_u8(t.dtype)?,
            shape: t.shape.get(..t.rank as usize)?,
            storage: Storage::from_u8(t.storage)?,
            offset: t.offset as usize,
            size: t.size as usize,
            scale: t.scale,
            zero_point: t.zero_point,
        })
    }

    /// The element type of tensor `index`: `tensor(index)?.dtype` without decoding the rest.
    pub fn dtype(&self, index: usize) -> Option<DType> {
        DType::from_u8(self.tensors.get(index)?.dtype)
    }

    /// Bytes of a constant tensor (in the weights section).
    pub fn const_bytes(&self, index: usize) -> Option<&'a [u8]> {
        let t = self.tensors.get(index)?;
        if t.storage != Storage::Const as u8 {
            return None;
        }
        self.weights
            .get(t.offset as usize..(t.offset as usize).checked_add(t.size as usize)?)
    }

    /// Per-channel scales of a tensor, if it has them.
    pub fn channel_scales(&self, index: usize) -> Option<&'a [f32]> {
        let t = self.tensors.get(index)?;
        if t.qcount == 0 {
            return None;
        }
        let b = self
            .weights
            .get(t.qparams as usize..t.qparams as usize + t.qcount as usize * 4)?;
        bytemuck::try_cast_slice(b).ok()
    }

    /// Op `index` decoded: its record, its parameters, its inputs and outputs (`NONE` = absent).
    pub fn op(&self, index: usize) -> Option<OpView<'a>> {
        let rec = *self.ops.get(index)?;
        let params = self
            .params
            .get(rec.params as usize..(rec.params + rec.params_len) as usize)?;
        let op = Op::decode(index, rec.opcode, params).ok()?;
        let operands = self.op_operands(&rec)?;
        let (inputs, outputs) = operands.split_at(rec.n_inputs as usize);
        Some(OpView {
            index,
            op,
            inputs,
            outputs,
            scratch: rec.scratch,
            name: self.name_at(rec.name),
        })
    }

    pub fn inputs(&self) -> &'a [u32] {
        self.io_slice()
            .map(|io| &io[..self.graph.n_inputs as usize])
            .unwrap_or(&[])
    }

    pub fn outputs(&self) -> &'a [u32] {
        self.io_slice()
            .map(|io| &io[self.graph.n_inputs as usize..])
            .unwrap_or(&[])
    }

    /// Value of metadata `key`, if present.
    pub fn meta(&self, key: &str) -> Option<&'a str> {
        self.meta
            .iter()
            .find(|m| self.string(m.key) == key)
            .map(|m| self.string(m.value))
    }

    pub fn file_len(&self) -> usize {
        self.header.file_len as usize
    }
}

/// One op of a validated file.
#[derive(Clone, Copy, Debug)]
pub struct OpView<'a> {
    pub index: usize,
    pub op: Op,
    pub inputs: &'a [u32],
    pub outputs: &'a [u32],
    pub scratch: u32,
    name: Name<'a>,
}

impl<'a> OpView<'a> {
    /// The source node's name, decoded on use (running an op has no use for it).
    pub fn name(&self) -> &'a str {
        self.name.get()
    }

    /// Tensor index of input `k`, `None` when absent or beyond the list.
    pub fn input(&self, k: usize) -> Option<usize> {
        self.inputs
            .get(k)
            .filter(|&&t| t != NONE)
            .map(|&t| t as usize)
    }

    pub fn output(&self, k: usize) -> Option<usize> {
        self.outputs
            .get(k)
            .filter(|&&t| t != NONE)
            .map(|&t| t as usize)
    }
}
