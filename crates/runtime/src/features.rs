//! The kernels a build carries and the kernels a model needs, as cargo features.
//!
//! Each op kind and each element type is a cargo feature of `rill-runtime` (all on by default), so
//! firmware compiles in only what its models use: the linker drops every kernel the dispatch cannot
//! reach. A model that needs a feature the build lacks is refused when it is loaded (or, for the
//! step program, when streaming starts), naming the op and the feature, rather than failing mid-run.
//! Streaming itself is one: every op of a step program needs `stream`, so an application that
//! runs whole windows only leaves the step kernels (recurrent steps, windows) out.
use rill_format::reader::OpView;
use rill_format::{CellKind, DType, Op, OpKind};

/// A set of runtime features (a bit per [`Features::NAMES`] entry).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Features(u32);

macro_rules! features {
    ($($bit:literal $konst:ident $name:literal;)*) => {
        impl Features {
            $(pub const $konst: Features = Features(1 << $bit);)*
            /// The cargo feature names, by bit.
            pub const NAMES: &'static [&'static str] = &[$($name),*];
            /// What this build of the runtime was compiled with.
            pub const COMPILED: Features = Features(0 $(| ((cfg!(feature = $name) as u32) << $bit))*);
        }
    };
}

features! {
    0 F32 "f32";
    1 F16 "f16";
    2 I8 "i8";
    3 I16 "i16";
    4 DENSE "dense";
    5 CONV "conv";
    6 POOL "pool";
    7 RNN "rnn";
    8 ACTIVATION "activation";
    9 BINARY "binary";
    10 SOFTMAX "softmax";
    11 LAYER_NORM "layer-norm";
    12 REDUCE "reduce";
    13 GATHER "gather";
    14 CONCAT "concat";
    15 COPY "copy";
    16 STREAM "stream";
    17 REQUANT "requant";
    18 MATMUL "matmul";
    19 LSTM "lstm";
    20 GRU "gru";
    21 SIMPLE_RNN "simple-rnn";
    22 CONV_POINTWISE "conv-pointwise";
    23 CONV_DEPTHWISE "conv-depthwise";
    24 LOG_SOFTMAX "log-softmax";
    25 CONV_GENERIC "conv-generic";
}

impl Features {
    pub const EMPTY: Features = Features(0);

    /// Features that only make a model faster: the fast paths of fixed-point convolutions. A
    /// model lists the ones its shapes take ([`crate::Model::required_features`]), but a build
    /// without them still runs it (on the generic loop, with the same results).
    pub const SPEED: Features = Features::CONV_POINTWISE.union(Features::CONV_DEPTHWISE);

    pub const fn union(self, other: Features) -> Features {
        Features(self.0 | other.0)
    }

    pub const fn contains(self, other: Features) -> bool {
        self.0 & other.0 == other.0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The features of `self` not in `other`.
    pub const fn without(self, other: Features) -> Features {
        Features(self.0 & !other.0)
    }

    /// The cargo feature names in the set, in [`Features::NAMES`] order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Features::NAMES
            .iter()
            .enumerate()
            .filter(move |(bit, _)| self.0 & (1 << bit) != 0)
            .map(|(_, name)| *name)
    }

    /// The features of an op kind's kernel.
    pub const fn of_kind(kind: OpKind) -> Features {
        match kind {
            OpKind::Dense => Features::DENSE,
            OpKind::MatMul => Features::MATMUL,
            OpKind::Conv => Features::CONV,
            OpKind::Pool => Features::POOL,
            OpKind::Rnn => Features::RNN,
            OpKind::RnnStep => Features::RNN.union(Features::STREAM),
            OpKind::Unary => Features::ACTIVATION,
            OpKind::Binary => Features::BINARY,
            OpKind::Softmax => Features::SOFTMAX,
            OpKind::LayerNorm => Features::LAYER_NORM,
            OpKind::Reduce => Features::REDUCE,
            OpKind::Gather => Features::GATHER,
            OpKind::Concat => Features::CONCAT,
            OpKind::Copy => Features::COPY,
            OpKind::Window => Features::STREAM,
            OpKind::Requant => Features::REQUANT,
        }
    }

    /// What running `v` takes: its kernel's feature and that of the element type it computes in
    /// (`code`: i8 or i16 for a fixed-point op, `None` for the float form; i32 data needs none),
    /// and with `speed` the [`Features::SPEED`] ones its shapes would run faster with.
    pub(crate) fn of_op(
        v: &OpView<'_>,
        code: Option<DType>,
        dtype: impl Fn(usize) -> Option<DType>,
        zero_point: impl Fn(usize) -> i32,
        speed: bool,
    ) -> Features {
        // The type of the fixed-point codes, or of the float form's input 0 and, for float
        // weights that may be stored in f16, input 1; a conversion between code types needs both.
        let second = match (&v.op, code) {
            (Op::Requant(_), _) => v.output(0),
            (Op::Dense(_) | Op::Conv(_) | Op::Rnn(_) | Op::RnnStep(_), None) => v.input(1),
            _ => None,
        };
        let types = match code {
            Some(code) if !matches!(v.op, Op::Requant(_)) => of_dtype(Some(code)),
            _ => of_dtype(v.input(0).and_then(&dtype)).union(of_dtype(second.and_then(&dtype))),
        };
        let extra = match (&v.op, code) {
            // A recurrent layer also needs its cell kind.
            (Op::Rnn(p) | Op::RnnStep(p), _) => match rill_kernels::rnn::cell_kind(p.cell) {
                Some(CellKind::Lstm) => Features::LSTM,
                Some(CellKind::Gru) => Features::GRU,
                Some(CellKind::Rnn) => Features::SIMPLE_RNN,
                None => Features::EMPTY,
            },
            // A fixed-point convolution is faster with the fast path its shape takes, and needs
            // the generic loop for a field over the column buffer or a zero point that is no code.
            (Op::Conv(p), Some(code)) => {
                use rill_kernels::conv::fixed::{fast_path, needs_generic, paths};
                let fast = match speed.then(|| fast_path(p)) {
                    Some(paths::POINTWISE) => Features::CONV_POINTWISE,
                    Some(paths::DEPTHWISE) => Features::CONV_DEPTHWISE,
                    _ => Features::EMPTY,
                };
                let z_x = v.input(0).map_or(0, &zero_point);
                if needs_generic(p, z_x, code == DType::I16) {
                    fast.union(Features::CONV_GENERIC)
                } else {
                    fast
                }
            }
            // The log form of a softmax is a feature of its own.
            (Op::Softmax(p), _) if p.log != 0 => Features::LOG_SOFTMAX,
            _ => Features::EMPTY,
        };
        Features::of_kind(v.op.kind()).union(types).union(extra)
    }

    /// The convolution paths compiled in (fast ones and the generic loop), as a `rill_kernels::conv::fixed::paths` set.
    pub(crate) const CONV_PATHS: u8 = (if cfg!(feature = "conv-pointwise") {
        rill_kernels::conv::fixed::paths::POINTWISE
    } else {
        0
    }) | (if cfg!(feature = "conv-depthwise") {
        rill_kernels::conv::fixed::paths::DEPTHWISE
    } else {
        0
    }) | (if cfg!(feature = "conv-generic") {
        rill_kernels::conv::fixed::paths::GENERIC
    } else {
        0
    });

    /// The recurrent cell kinds compiled in, as a `rill_kernels::rnn::cells` set.
    pub(crate) const CELLS: u8 = (if cfg!(feature = "lstm") {
        rill_kernels::rnn::cells::LSTM
    } else {
        0
    }) | (if cfg!(feature = "gru") {
        rill_kernels::rnn::cells::GRU
    } else {
        0
    }) | (if cfg!(feature = "simple-rnn") {
        rill_kernels::rnn::cells::RNN
    } else {
        0
    });
}

/// The feature of an element type computed in (none for i32 data).
fn of_dtype(d: Option<DType>) -> Features {
    match d {
        Some(DType::F32) => Features::F32,
        Some(DType::F16) => Features::F16,
        Some(DType::I8) => Features::I8,
        Some(DType::I16) => Features::I16,
        _ => Features::EMPTY,
    }
}

impl core::fmt::Display for Features {
    /// `a, b, c` (the cargo feature names).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for (k, name) in self.names().enumerate() {
            if k > 0 {
                f.write_str(", ")?;
            }
            f.write_str(name)?;
        }
        Ok(())
    }
}
