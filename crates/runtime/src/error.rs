//! Runtime errors. They carry indices rather than names so they stay `Copy` and lifetime-free; use
//! [`Model::op_name`](crate::Model::op_name) to show the op's source node.
use rill_format::{DType, FormatError, OpKind, StreamBlock};
use rill_kernels::KernelError;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Error {
    /// The file failed validation.
    Format(FormatError),
    /// The arena cannot hold the model's plan. `needed` counts from the given slice's start
    /// (including the bytes skipped to reach 16-byte alignment).
    ArenaTooSmall {
        needed: usize,
        available: usize,
    },
    /// An op is malformed (found at load) or failed (at run time).
    Op {
        op: usize,
        kind: OpKind,
        error: OpError,
    },
    NoSuchInput {
        index: usize,
        count: usize,
    },
    NoSuchOutput {
        index: usize,
        count: usize,
    },
    /// Graph input/output `index` holds another element type than the one asked for.
    WrongDType {
        index: usize,
        expected: DType,
        found: DType,
    },
    /// Data given for graph input `index` (or buffer given for an output) has the wrong length.
    WrongLength {
        index: usize,
        expected: usize,
        actual: usize,
    },
    /// The model cannot run step by step: op `op` (of the whole-window program, see
    /// [`Model::op_name`](crate::Model::op_name)) does what `block` says; `detail` qualifies it
    /// (e.g. the future steps a non-causal padding needs). It still runs whole-window.
    NotStreamable {
        op: Option<usize>,
        block: StreamBlock,
        detail: u32,
    },
    /// The file carries no streaming information (written by a converter without it).
    NoStream,
    /// The model streams, but this build of the runtime was compiled without streaming (its
    /// cargo feature `stream`): it runs whole windows only.
    StreamNotCompiled,
    /// The session was bound with [`Session::new_streaming`](crate::Session::new_streaming): its
    /// arena holds only the step program, so whole-window runs (and their tensors) are out of reach.
    StreamingOnly,
}

/// What is wrong with one op.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OpError {
    Kernel(KernelError),
    /// A required operand (input position `k`, or output position `k` when `output` is set) is absent.
    MissingOperand {
        output: bool,
        k: usize,
    },
    /// An operand has an element type this op cannot take.
    DType {
        output: bool,
        k: usize,
        found: DType,
    },
    /// An output or scratch buffer shares arena bytes with another operand of the same op.
    Overlap {
        output: usize,
    },
    TooManyOperands,
    /// The op has no implementation for its operand types in this build.
    Unsupported,
    /// The op's kernel is not compiled into this build: these cargo features of `rill-runtime` add it.
    NotCompiled {
        needs: crate::Features,
    },
}

impl From<FormatError> for Error {
    fn from(e: FormatError) -> Error {
        Error::Format(e)
    }
}

impl core::fmt::Display for OpError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let side = |output: bool| if output { "output" } else { "input" };
        match *self {
            OpError::Kernel(e) => write!(f, "{e}"),
            OpError::MissingOperand { output, k } => {
                write!(f, "required {} {k} is absent", side(output))
            }
            OpError::DType { output, k, found } => {
                write!(f, "{} {k} has unsupported type {found}", side(output))
            }
            OpError::Overlap { output } => {
                write!(f, "output {output} overlaps another operand in the arena")
            }
            OpError::TooManyOperands => f.write_str("too many operands"),
            OpError::Unsupported => f.write_str("no kernel for these operand types"),
            OpError::NotCompiled { needs } => write!(
                f,
                "its kernel is not in this build: enable rill-runtime's cargo feature(s) {needs}"
            ),
        }
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Error::Format(e) => write!(f, "{e}"),
            Error::ArenaTooSmall { needed, available } => write!(
                f,
                "arena too small: the model needs {needed} bytes from the given start (16-byte aligned plan), got {available}"
            ),
            Error::Op { op, kind, error } => write!(f, "op #{op} ({kind}): {error}"),
            Error::NoSuchInput { index, count } => write!(f, "no input #{index}: the model has {count}"),
            Error::NoSuchOutput { index, count } => write!(f, "no output #{index}: the model has {count}"),
            Error::WrongDType { index, expected, found } => {
                write!(f, "input/output #{index} holds {found}, not {expected}")
            }
            Error::WrongLength { index, expected, actual } => {
                write!(f, "input/output #{index} takes {expected} elements, got {actual}")
            }
            Error::NotStreamable { op, block, detail } => {
                match op {
                    Some(op) => write!(f, "cannot stream: op #{op} {block}")?,
                    None => write!(f, "cannot stream: the model {block}")?,
                }
                if block == StreamBlock::NonCausal {
                    write!(f, " ({detail} future steps)")?;
                }
                Ok(())
            }
            Error::NoStream => f.write_str("the file has no step program (convert it again to stream)"),
            Error::StreamNotCompiled => f.write_str("this build of rill-runtime runs whole windows only: enable its cargo feature `stream` to stream"),
            Error::StreamingOnly => f.write_str("this session's arena holds only the step program: bind it with Session::new for whole-window runs"),
        }
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Error {
    fn format(&self, f: defmt::Formatter<'_>) {
        match *self {
            Error::Format(e) => defmt::write!(f, "format: {}", e),
            Error::ArenaTooSmall { needed, available } => {
                defmt::write!(
                    f,
                    "arena too small: need {=usize}, got {=usize}",
                    needed,
                    available
                )
            }
            Error::Op { op, kind, .. } => {
                defmt::write!(f, "op #{=usize} ({=str}) failed", op, kind.name())
            }
            Error::NoSuchInput { index, .. } => defmt::write!(f, "no input #{=usize}", index),
            Error::NoSuchOutput { index, .. } => defmt::write!(f, "no output #{=usize}", index),
            Error::WrongDType { index, .. } => {
                defmt::write!(f, "input/output #{=usize}: wrong dtype", index)
            }
            Error::WrongLength {
                index,
                expected,
                actual,
            } => {
                defmt::write!(
                    f,
                    "#{=usize}: expected {=usize} elements, got {=usize}",
                    index,
                    expected,
                    actual
                )
            }
            Error::NotStreamable { block, .. } => {
                defmt::write!(f, "cannot stream: {=str}", block.message())
            }
            Error::NoStream => defmt::write!(f, "no step program"),
            Error::StreamNotCompiled => defmt::write!(f, "streaming not compiled in"),
            Error::StreamingOnly => defmt::write!(f, "streaming-only session"),
        }
    }
}
