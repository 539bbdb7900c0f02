//! Fixed-size records stored in the file. All are `#[repr(C)]`, padding-free and `Pod`, so the reader
//! views them in place and the writer emits them with `bytemuck::bytes_of`.
use bytemuck::{Pod, Zeroable};

use crate::MAX_RANK;

/// File header: the first 32 bytes. The CRC-32 (ISO-HDLC) covers every byte from offset 16 to the end of
/// the file, so it protects flags, the section table and all sections.
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct Header {
    pub magic: [u8; 4],
    pub version: u16,
    /// Bytes of header plus section table, a multiple of 16: the first section starts here.
    pub header_len: u16,
    pub file_len: u32,
    pub crc32: u32,
    pub flags: u32,
    pub section_count: u32,
    pub reserved: [u32; 2],
}

/// Byte offset of [`Header::crc32`]'s coverage start.
pub const CRC_START: usize = 16;

/// One entry of the section table that follows the header.
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct SectionEntry {
    pub kind: u32,
    pub offset: u32,
    pub len: u32,
    pub reserved: u32,
}

/// Section kinds. Readers ignore kinds they do not know, so new optional sections need no version bump.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum SectionKind {
    Tensors = 1,
    Ops = 2,
    Operands = 3,
    Params = 4,
    Weights = 5,
    Graph = 6,
    Strings = 7,
    Meta = 8,
    /// Optional: the step program (see [`crate::stream`]).
    Stream = 9,
}

impl SectionKind {
    pub const REQUIRED: [SectionKind; 7] = [
        SectionKind::Tensors,
        SectionKind::Ops,
        SectionKind::Operands,
        SectionKind::Params,
        SectionKind::Weights,
        SectionKind::Graph,
        SectionKind::Strings,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            SectionKind::Tensors => "tensors",
            SectionKind::Ops => "ops",
            SectionKind::Operands => "operands",
            SectionKind::Params => "params",
            SectionKind::Weights => "weights",
            SectionKind::Graph => "graph",
            SectionKind::Strings => "strings",
            SectionKind::Meta => "meta",
            SectionKind::Stream => "stream",
        }
    }
}

/// Where a tensor's bytes live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Storage {
    /// Read-only, in the weights section at `offset`.
    Const = 0,
    /// In the caller's arena at `offset`; contents live only while the plan says so.
    Arena = 1,
    /// In the arena's persistent state region at `offset` (streaming state).
    State = 2,
}

impl Storage {
    pub const fn from_u8(v: u8) -> Option<Storage> {
        match v {
            0 => Some(Storage::Const),
            1 => Some(Storage::Arena),
            2 => Some(Storage::State),
            _ => None,
        }
    }
}

/// One tensor: 64 bytes.
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct TensorRecord {
    /// Offset of the name in the strings section, or `NONE`.
    pub name: u32,
    pub dtype: u8,
    pub rank: u8,
    pub storage: u8,
    /// Axis of per-channel quantization parameters (when `qcount > 0`).
    pub qaxis: u8,
    /// Dimensions; entries past `rank` are zero.
    pub shape: [u32; MAX_RANK],
    /// Byte offset in the weights section (`Const`) or the arena (`Arena`, `State`).
    pub offset: u32,
    /// Byte length: element count times element size.
    pub size: u32,
    /// Per-tensor quantization: real = scale * (q - zero_point). Unused (1, 0) for float tensors.
    pub scale: f32,
    pub zero_point: i32,
    /// Byte offset in the weights section of `qcount` per-channel f32 scales, or `NONE`.
    pub qparams: u32,
    pub qcount: u32,
    pub reserved: [u32; 2],
}

/// One op: 32 bytes. Its operands are `n_inputs + n_outputs` consecutive entries of the operands
/// section starting at `operands`: inputs first, then outputs; `NONE` marks an absent optional operand.
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct OpRecord {
    pub opcode: u16,
    pub n_inputs: u8,
    pub n_outputs: u8,
    pub operands: u32,
    /// Byte offset and length of the op's parameter record in the params section.
    pub params: u32,
    pub params_len: u32,
    /// Tensor index of the op's scratch buffer (in the arena), or `NONE`.
    pub scratch: u32,
    /// Offset of the op's name (the source ONNX node) in the strings section, or `NONE`.
    pub name: u32,
    pub reserved: [u32; 2],
}

/// Graph-level facts: 64 bytes, the whole graph section.
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct GraphRecord {
    /// Bytes the caller's arena must hold (activations, scratch and state), excluding alignment slack.
    pub arena_bytes: u32,
    /// Bytes of persistent state at the start of the arena (streaming), part of `arena_bytes`.
    pub state_bytes: u32,
    pub n_inputs: u32,
    pub n_outputs: u32,
    /// Index in the operands section of the graph inputs, followed by the graph outputs.
    pub io: u32,
    /// Strings: producer (tool and version) and source model name.
    pub producer: u32,
    pub source: u32,
    /// The largest total size of simultaneously live buffers: the lower bound the plan is judged by.
    pub live_bound_bytes: u32,
    pub reserved: [u32; 8],
}

/// Metadata entry in the optional meta section: a key and a value, both strings.
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct MetaEntry {
    pub key: u32,
    pub value: u32,
}
