//! The optional stream section: how a model runs one time step at a time.
//!
//! A converter that can derive a step program appends its ops after the whole-window program in the
//! ops section and records here where the split is, the step program's inputs and outputs, and the
//! state tensors `reset` restores. A model that cannot stream still gets the section, with `block`
//! naming the first op that prevents it and why. Files without the section are whole-window only.
use bytemuck::{Pod, Zeroable};

/// Most graph inputs (and outputs) a streamable model may have.
pub const MAX_STREAM_IO: usize = 4;

/// The whole stream section: 96 bytes.
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct StreamRecord {
    /// Ops `[0, window_ops)` are the whole-window program; ops `[window_ops, ops)` the step program.
    pub window_ops: u32,
    /// Index in the operands section of the step program's inputs, followed by its outputs.
    pub io: u32,
    pub n_inputs: u32,
    pub n_outputs: u32,
    /// Index in the operands section of the state tensors; `reset` fills each with its zero point.
    pub state: u32,
    pub n_state: u32,
    /// Length of the time axis in the whole-window program.
    pub window_len: u32,
    /// Future steps an output needs before it is final (0 for causal models).
    pub latency: u32,
    /// A [`StreamBlock`] value, 0 when the model streams.
    pub block: u32,
    /// The whole-window op that prevents streaming, or `NONE`.
    pub block_op: u32,
    /// A number qualifying `block` (e.g. the future steps a non-causal padding needs).
    pub block_detail: u32,
    /// Arena bytes a session that only streams needs: the state region plus the step program's
    /// buffers, all below this bound (the whole-window program may need more).
    pub step_arena_bytes: u32,
    /// Time axis of each graph input (whole-window shapes), `NONE` past `n_inputs`.
    pub input_axes: [u32; MAX_STREAM_IO],
    /// Time axis of each graph output, or `NONE` for an output with none (a many-to-one model's
    /// answer: after each step, the answer for the window ending at that step).
    pub output_axes: [u32; MAX_STREAM_IO],
    pub reserved: [u32; 4],
}

/// Why a model cannot run step by step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum StreamBlock {
    NoTimeAxis = 1,
    Direction = 2,
    InitialState = 3,
    NonCausal = 4,
    StrideOverTime = 5,
    PoolOverTime = 6,
    ReduceOverTime = 7,
    MixesSteps = 8,
    SelectsStep = 9,
    TimeVaryingConstant = 10,
    AttentionOverTime = 11,
    ReshapeMergesTime = 12,
    ConcatOverTime = 13,
    TooManyInputs = 14,
    AxisOverTime = 15,
}

impl StreamBlock {
    pub const fn from_u32(v: u32) -> Option<StreamBlock> {
        Some(match v {
            1 => StreamBlock::NoTimeAxis,
            2 => StreamBlock::Direction,
            3 => StreamBlock::InitialState,
            4 => StreamBlock::NonCausal,
            5 => StreamBlock::StrideOverTime,
            6 => StreamBlock::PoolOverTime,
            7 => StreamBlock::ReduceOverTime,
            8 => StreamBlock::MixesSteps,
            9 => StreamBlock::SelectsStep,
            10 => StreamBlock::TimeVaryingConstant,
            11 => StreamBlock::AttentionOverTime,
            12 => StreamBlock::ReshapeMergesTime,
            13 => StreamBlock::ConcatOverTime,
            14 => StreamBlock::TooManyInputs,
            15 => StreamBlock::AxisOverTime,
            _ => return None,
        })
    }

    /// What the blocking op does, for messages.
    pub const fn message(self) -> &'static str {
        match self {
            StreamBlock::NoTimeAxis => {
                "no time axis found in the inputs (convert with --time-axis)"
            }
            StreamBlock::Direction => {
                "runs backwards in time (reverse or bidirectional recurrent layer)"
            }
            StreamBlock::InitialState => "starts from an initial state that is not zero",
            StreamBlock::NonCausal => "pads with future time steps (non-causal padding)",
            StreamBlock::StrideOverTime => "strides over time, so it does not answer every step",
            StreamBlock::PoolOverTime => {
                "pools over time in a layout a step cannot tell from its other axis"
            }
            StreamBlock::ReduceOverTime => "reduces over the time axis (global pooling over time)",
            StreamBlock::MixesSteps => "combines each time step with a value of the whole window",
            StreamBlock::SelectsStep => "selects time steps other than the latest",
            StreamBlock::TimeVaryingConstant => "adds a constant that differs per time step",
            StreamBlock::AttentionOverTime => {
                "attends over time steps other than causally (a query sees a later key)"
            }
            StreamBlock::ReshapeMergesTime => "reshapes the time axis into another axis",
            StreamBlock::ConcatOverTime => "concatenates along the time axis",
            StreamBlock::TooManyInputs => "has more inputs or outputs than a stream supports (4)",
            StreamBlock::AxisOverTime => "normalizes or takes softmax along the time axis",
        }
    }
}

impl core::fmt::Display for StreamBlock {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.message())
    }
}
