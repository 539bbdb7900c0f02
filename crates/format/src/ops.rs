//! THE op list and each op's parameter record.
//!
//! Every executable op is one line of [`for_each_op!`]: opcode, name, parameter record. Opcodes are
//! append-only: a released opcode keeps its number and its record layout forever. Parameter records are
//! `Pod`, made of 4-byte fields only, stored at a 4-byte aligned offset of the params section.
//!
//! Shapes in records are element counts; layouts are ONNX's (NCHW for conv and pool, row-major
//! everywhere). Reshape-like ops (Reshape, Flatten, Squeeze, Unsqueeze, same-type Cast) never appear:
//! the converter aliases their output to their input's buffer.
use bytemuck::{Pod, Zeroable};

use crate::{FormatError, MAX_RANK};

/// Calls `$m!` with the op table: `(opcode, Variant, ParamsRecord, "doc")`.
#[macro_export]
macro_rules! for_each_op {
    ($m:ident) => {
        $m! {
            (1, Dense, DenseParams),
            (2, MatMul, MatMulParams),
            (3, Conv, ConvParams),
            (4, Pool, PoolParams),
            (5, Rnn, RnnParams),
            (6, Unary, UnaryParams),
            (7, Binary, BinaryParams),
            (8, Softmax, SoftmaxParams),
            (9, LayerNorm, LayerNormParams),
            (10, Reduce, ReduceParams),
            (11, Gather, GatherParams),
            (12, Concat, ConcatParams),
            (13, Copy, CopyParams),
            (14, Window, WindowParams),
            (15, RnnStep, RnnParams),
            (16, Requant, RequantParams),
        }
    };
}

macro_rules! define_ops {
    ($(($code:literal, $name:ident, $params:ident)),* $(,)?) => {
        /// An op with its parameters, by value (records are small and `Copy`).
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub enum Op {
            $($name($params),)*
        }

        /// Op kinds, numbered by opcode.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u16)]
        pub enum OpKind {
            $($name = $code,)*
        }

        impl OpKind {
            pub const ALL: &'static [OpKind] = &[$(OpKind::$name,)*];

            pub const fn from_opcode(code: u16) -> Option<OpKind> {
                match code {
                    $($code => Some(OpKind::$name),)*
                    _ => None,
                }
            }

            pub const fn name(self) -> &'static str {
                match self {
                    $(OpKind::$name => stringify!($name),)*
                }
            }

            /// Size of this kind's parameter record in bytes.
            pub const fn params_len(self) -> usize {
                match self {
                    $(OpKind::$name => core::mem::size_of::<$params>(),)*
                }
            }
        }

        impl Op {
            pub const fn kind(&self) -> OpKind {
                match self {
                    $(Op::$name(_) => OpKind::$name,)*
                }
            }

            /// The parameter record as stored in the file.
            pub fn params_bytes(&self) -> &[u8] {
                match self {
                    $(Op::$name(p) => bytemuck::bytes_of(p),)*
                }
            }

            /// Decodes op `index`'s record; `bytes` need not be aligned.
            pub fn decode(index: usize, opcode: u16, bytes: &[u8]) -> Result<Op, FormatError> {
                let kind = OpKind::from_opcode(opcode)
                    .ok_or(FormatError::UnknownOpcode { op: index, opcode })?;
                // A zeroed record of the kind, then one copy of the bytes into it (rather than
                // one unaligned read per kind).
                let mut op = match kind {
                    $(OpKind::$name => Op::$name($params::zeroed()),)*
                };
                let record: &mut [u8] = match &mut op {
                    $(Op::$name(p) => bytemuck::bytes_of_mut(p),)*
                };
                if bytes.len() != record.len() {
                    return Err(FormatError::BadOp {
                        op: index,
                        reason: "parameter record has the wrong length for its opcode",
                    });
                }
                record.copy_from_slice(bytes);
                Ok(op)
            }
        }
    };
}

for_each_op!(define_ops);

impl core::fmt::Display for OpKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// Elementwise function, used standalone ([`UnaryParams`]) and fused after Dense/Conv ([`ActParams`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum ActKind {
    Identity = 0,
    Relu = 1,
    /// `alpha * x` for x < 0.
    LeakyRelu = 2,
    Sigmoid = 3,
    /// `clamp(alpha * x + beta, 0, 1)`.
    HardSigmoid = 4,
    Tanh = 5,
    /// Exact (erf) GELU.
    Gelu = 6,
    /// GELU with the tanh approximation.
    GeluTanh = 7,
    Sqrt = 8,
    Reciprocal = 9,
    Neg = 10,
    Exp = 11,
    Abs = 12,
    /// `clamp(x, alpha, beta)`.
    Clip = 13,
    /// `x` for x > 0, `alpha * (exp(x) - 1)` otherwise.
    Elu = 14,
    Log = 15,
    Softplus = 16,
    Softsign = 17,
    /// `x * hard_sigmoid(x)` with alpha = 1/6, beta = 0.5.
    HardSwish = 18,
    /// The error function (PyTorch's exact GELU below opset 20 is `x / 2 * (1 + erf(x / sqrt 2))`).
    Erf = 19,
}

impl ActKind {
    pub const fn from_u32(v: u32) -> Option<ActKind> {
        Some(match v {
            0 => ActKind::Identity,
            1 => ActKind::Relu,
            2 => ActKind::LeakyRelu,
            3 => ActKind::Sigmoid,
            4 => ActKind::HardSigmoid,
            5 => ActKind::Tanh,
            6 => ActKind::Gelu,
            7 => ActKind::GeluTanh,
            8 => ActKind::Sqrt,
            9 => ActKind::Reciprocal,
            10 => ActKind::Neg,
            11 => ActKind::Exp,
            12 => ActKind::Abs,
            13 => ActKind::Clip,
            14 => ActKind::Elu,
            15 => ActKind::Log,
            16 => ActKind::Softplus,
            17 => ActKind::Softsign,
            18 => ActKind::HardSwish,
            19 => ActKind::Erf,
            _ => return None,
        })
    }
}

/// An activation with its two optional constants (meaning per [`ActKind`]).
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable, Default)]
#[repr(C)]
pub struct ActParams {
    /// An [`ActKind`] value.
    pub kind: u32,
    pub alpha: f32,
    pub beta: f32,
}

impl ActParams {
    pub const IDENTITY: ActParams = ActParams {
        kind: 0,
        alpha: 0.0,
        beta: 0.0,
    };

    pub const fn new(kind: ActKind, alpha: f32, beta: f32) -> ActParams {
        ActParams {
            kind: kind as u32,
            alpha,
            beta,
        }
    }
}

/// `y[m, n] = act(sum_k x[m, k] * w[n, k] + bias[n])`.
/// Inputs: x (m*k), w (n*k, row per output channel), bias (n, optional). Output: y (m*n).
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
#[repr(C)]
pub struct DenseParams {
    pub m: u32,
    pub k: u32,
    pub n: u32,
    pub act: ActParams,
}

/// Batched matrix product of two activations: `y[b, m, n] = sum_k a[b, m, k] * b[b, k, n]`.
/// The batch index runs over `batch[..batch_rank]` (row-major); `a_stride`/`b_stride` are the element
/// strides of each batch axis in a and b (0 broadcasts). Inputs: a, b. Output: y.
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
#[repr(C)]
pub struct MatMulParams {
    pub m: u32,
    pub k: u32,
    pub n: u32,
    pub batch_rank: u32,
    pub batch: [u32; 4],
    pub a_stride: [u32; 4],
    pub b_stride: [u32; 4],
}

/// 2-D convolution, NCHW (1-D is H = 1). Weights `[c_out, c_in / groups, k_h, k_w]`.
/// Padding below/right is implied by `out_h`/`out_w`. Inputs: x, w, bias (c_out, optional). Output: y.
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
#[repr(C)]
pub struct ConvParams {
    pub batch: u32,
    pub c_in: u32,
    pub in_h: u32,
    pub in_w: u32,
    pub c_out: u32,
    pub out_h: u32,
    pub out_w: u32,
    pub k_h: u32,
    pub k_w: u32,
    pub stride_h: u32,
    pub stride_w: u32,
    pub dil_h: u32,
    pub dil_w: u32,
    pub pad_top: u32,
    pub pad_left: u32,
    pub groups: u32,
    pub act: ActParams,
}

/// Pooling kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum PoolKind {
    Max = 0,
    Avg = 1,
}

/// 2-D pooling, NCHW (1-D is H = 1). `global` marks a window covering the whole input (it cannot stream
/// over time). Inputs: x; in a step program, valid (i32 `[1]`, from a `Window`): the time axis' leading
/// `k - valid` taps are padding (see `rill_kernels::pool`). Output: y.
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
#[repr(C)]
pub struct PoolParams {
    /// A [`PoolKind`] value.
    pub kind: u32,
    pub batch: u32,
    pub channels: u32,
    pub in_h: u32,
    pub in_w: u32,
    pub out_h: u32,
    pub out_w: u32,
    pub k_h: u32,
    pub k_w: u32,
    pub stride_h: u32,
    pub stride_w: u32,
    pub dil_h: u32,
    pub dil_w: u32,
    pub pad_top: u32,
    pub pad_left: u32,
    /// Average pooling divides by the full window (1) or by the in-bounds part (0).
    pub count_include_pad: u32,
    pub global: u32,
}

/// Recurrent cell kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum CellKind {
    Rnn = 0,
    Gru = 1,
    Lstm = 2,
}

/// Directions of a recurrent layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Direction {
    Forward = 0,
    Reverse = 1,
    Bidirectional = 2,
}

/// A whole ONNX RNN / GRU / LSTM layer with ONNX semantics and weight layouts (gate order: LSTM i o f c,
/// GRU z r h). Inputs (operand positions): 0 x, 1 w `[dirs, gates*hidden, input]`, 2 r
/// `[dirs, gates*hidden, hidden]`, 3 b `[dirs, 2*gates*hidden]` (optional), 4 initial_h
/// `[dirs, batch, hidden]` (optional), 5 initial_c (optional), 6 peepholes `[dirs, 3*hidden]` (optional).
/// Outputs: 0 y, 1 y_h, 2 y_c (each optional). Scratch: `rnn_scratch_len` f32.
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
#[repr(C)]
pub struct RnnParams {
    /// A [`CellKind`] value.
    pub cell: u32,
    /// A [`Direction`] value.
    pub direction: u32,
    pub seq_len: u32,
    pub batch: u32,
    pub input_size: u32,
    pub hidden: u32,
    /// ONNX `layout`: 0 = x `[seq, batch, input]`, y `[seq, dirs, batch, hidden]`;
    /// 1 = x `[batch, seq, input]`, y `[batch, seq, dirs, hidden]`, states `[batch, dirs, hidden]`.
    pub layout: u32,
    pub linear_before_reset: u32,
    pub input_forget: u32,
    /// Clip of gate pre-activations; 0 or negative means none.
    pub clip: f32,
    /// Activations f, g, h for the forward direction then the reverse one (ONNX `activations`).
    pub acts: [ActParams; 6],
}

/// Elementwise binary operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum BinaryKind {
    Add = 0,
    Sub = 1,
    Mul = 2,
    Div = 3,
    Pow = 4,
    Max = 5,
    Min = 6,
}

impl BinaryKind {
    pub const fn from_u32(v: u32) -> Option<BinaryKind> {
        Some(match v {
            0 => BinaryKind::Add,
            1 => BinaryKind::Sub,
            2 => BinaryKind::Mul,
            3 => BinaryKind::Div,
            4 => BinaryKind::Pow,
            5 => BinaryKind::Max,
            6 => BinaryKind::Min,
            _ => return None,
        })
    }
}

/// `y = act(x)` over `len` elements. Inputs: x. Output: y.
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
#[repr(C)]
pub struct UnaryParams {
    pub len: u32,
    pub act: ActParams,
}

/// `y = a (op) b` with broadcasting: y has shape `out_shape[..rank]` (row-major); element strides of a
/// and b per output axis are given (0 on broadcast axes). Inputs: a, b. Output: y.
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
#[repr(C)]
pub struct BinaryParams {
    /// A [`BinaryKind`] value.
    pub kind: u32,
    pub rank: u32,
    pub out_shape: [u32; MAX_RANK],
    pub a_strides: [u32; MAX_RANK],
    pub b_strides: [u32; MAX_RANK],
}

/// Softmax (or log-softmax) over the middle axis of x viewed as `[outer, axis_len, inner]`.
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
#[repr(C)]
pub struct SoftmaxParams {
    pub outer: u32,
    pub axis_len: u32,
    pub inner: u32,
    pub log: u32,
}

/// Layer normalization over the last `size` elements of rows of x viewed as `[outer, size]`.
/// Inputs: x, scale (size), bias (size, optional). Output: y.
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
#[repr(C)]
pub struct LayerNormParams {
    pub outer: u32,
    pub size: u32,
    pub epsilon: f32,
}

/// Reductions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum ReduceKind {
    Mean = 0,
    Sum = 1,
    Max = 2,
    Min = 3,
}

/// Reduce the axes set in `axes_mask` (bit i = axis i) of x with shape `in_shape[..rank]`; y holds the
/// kept axes in order (keepdims only changes y's recorded shape). Inputs: x. Output: y.
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
#[repr(C)]
pub struct ReduceParams {
    /// A [`ReduceKind`] value.
    pub kind: u32,
    pub rank: u32,
    pub in_shape: [u32; MAX_RANK],
    pub axes_mask: u32,
}

/// Gather along an axis: data viewed as `[outer, axis_len, inner]`, indices (i32, `n_indices`, negative
/// counts from the end) select rows; y is `[outer, n_indices, inner]`. Inputs: data, indices. Output: y.
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
#[repr(C)]
pub struct GatherParams {
    pub outer: u32,
    pub axis_len: u32,
    pub inner: u32,
    pub n_indices: u32,
}

/// Concatenation: every input viewed as `[outer, len_i, inner]`, y as `[outer, sum len_i, inner]`;
/// `len_i` is the input's element count / (outer * inner). Inputs: 1..=8 tensors. Output: y.
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
#[repr(C)]
pub struct ConcatParams {
    pub outer: u32,
    pub inner: u32,
}

/// Strided copy (Transpose, Slice, Expand of activations):
/// `y[i0..i_rank] = x[offset + sum_j i_j * in_strides[j]]` over `out_shape[..rank]` row-major.
/// Strides may be negative (reversed slices). Inputs: x. Output: y.
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
#[repr(C)]
pub struct CopyParams {
    pub rank: u32,
    pub out_shape: [u32; MAX_RANK],
    pub in_strides: [i32; MAX_RANK],
    pub offset: u32,
}

/// Streaming: the taps a causal conv (or pool) over time needs at this step, from a ring of past frames.
///
/// Input: x, one frame viewed as `[outer, inner]` (for a conv, `outer` = channels, `inner` = the
/// non-time spatial size: 1 for 1-D). Outputs: 0 y `[outer, taps, inner]`, where tap `k` is the frame
/// of `(taps - 1 - k) * dilation` steps ago (tap `taps - 1` is x itself); 1 ring, a state tensor of
/// `slots * outer * inner` elements holding the last `slots = (taps - 1) * dilation` frames, x's element
/// type; 2 head, a state i32 `[1]`: the ring slot the next frame goes to while the ring fills (also the
/// frames seen), `slots +` that slot once it has wrapped; 3 valid (optional), i32 `[1]`: the taps of y
/// that hold frames of this window, `1 + min(taps - 1, seen / dilation)`, which a step `Pool` takes as
/// its second input. Before the first step the ring holds x's zero point (what the whole-window conv
/// pads with) and head 0. Elements are moved, never
/// converted, so one op serves every element type. Work per step: `(taps + 1) * outer * inner` moves.
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
#[repr(C)]
pub struct WindowParams {
    pub outer: u32,
    pub inner: u32,
    pub taps: u32,
    pub dilation: u32,
}

impl WindowParams {
    /// Frames the ring keeps: `(taps - 1) * dilation`; `None` on overflow or `taps == 0`.
    pub const fn slots(&self) -> Option<u32> {
        match (self.taps.checked_sub(1), self.dilation) {
            (Some(t), d) => t.checked_mul(d),
            (None, _) => None,
        }
    }
}

/// Mixed precision: `len` codes of one type re-expressed as codes of another scale, zero point and
/// type (i8 <-> i16) where an int8 layer meets an int16 one. Inputs: x, aux i32 `[lo, hi, m0, shift]`
/// (`y = clamp(z_y + round((x - z_x) * M), lo, hi)`). Output: y.
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
#[repr(C)]
pub struct RequantParams {
    pub len: u32,
}

/// `RnnStep` (streaming) takes an [`RnnParams`] record with `seq_len == 1` and advances a forward
/// layer one step in place: operands as `Rnn`'s, except that initial_h and initial_c are absent and
/// y_h (and, for an LSTM, y_c) are required state tensors holding the previous step's hidden (and
/// cell) state, overwritten with this step's. y, when present, receives a copy of the new hidden
/// state. Fixed point: the same aux operand as `Rnn`.
///
/// Operand positions of [`RnnParams`] ops.
pub mod rnn_operand {
    pub const X: usize = 0;
    pub const W: usize = 1;
    pub const R: usize = 2;
    pub const B: usize = 3;
    pub const INITIAL_H: usize = 4;
    pub const INITIAL_C: usize = 5;
    pub const P: usize = 6;
    pub const Y: usize = 0;
    pub const Y_H: usize = 1;
    pub const Y_C: usize = 2;
}

/// Fixed-point ops.
///
/// An op runs in fixed point when its outputs are i8 or i16 codes (`real = scale * (q - zero_point)`,
/// from the tensor records). It then takes one more input after the float form's operands, the
/// constant *aux* tensor: everything the integer kernel needs besides the codes, prepared by the
/// converter so that no float is touched at run time (`docs/numerics.md`). Its layout per op:
///
/// | op | aux |
/// |---|---|
/// | Dense, Conv | i32 `[lo, hi, (m0, shift) x channels]`, one pair per output channel or one in all; the bias operand is required (i32, zero-point terms folded in) |
/// | MatMul, Reduce | i32 `[lo, hi, m0, shift]` |
/// | Binary | i32 `[lo, hi, left_shift, m_a (m0, shift), m_b, m_y]` |
/// | Unary | the function as a table: i8 `[256]` (i8 codes) or i16 `[513]` (i16 codes) |
/// | Softmax | i32 exp table |
/// | Concat | i32 `[lo, hi, (m0, shift) x inputs]` |
/// | LayerNorm | i32 `[lo, hi, m0, shift, eps (low word, high word)]`; scale is i16 codes of one scale, bias i32 (see `rill_kernels::norm::fixed`) |
/// | Rnn | i32 `[header (RNN_AUX_HEADER), w_bias x rows, r_bias x rows, w_mul (m0, shift) x rows, r_mul x rows]`, rows = dirs x gates x hidden; the b and p operands are absent, initial_c and y_c are i16, scratch is i32 |
/// | Requant | i32 `[lo, hi, m0, shift]`: x's codes to y's (types may differ) |
/// | Pool, Copy, Gather | none: codes pass through with the input's scale and zero point |
///
/// `[lo, hi]` is the output clamp (the code range intersected with a fused Relu/Clip).
pub mod qaux {
    /// Words before the per-channel (or per-input) multipliers of Dense, Conv and Concat.
    pub const CLAMP: usize = 2;
    /// Binary: `lo, hi, left_shift` then three (m0, shift) pairs.
    pub const BINARY_LEN: usize = 9;
    /// Rnn header: `cell_k, clip_q12, h_mul (m0, shift), h_to_q15 (m0, shift), 0, 0`.
    pub const RNN_HEADER: usize = 8;
    /// Rnn: the aux operand's input position.
    pub const RNN_POSITION: usize = 7;
    pub const LUT_I8_LEN: usize = 256;
    pub const LUT_I16_LEN: usize = 513;
}
