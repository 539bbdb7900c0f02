//! Runs `.rill` models in place, from flash, with memory the caller provides.
//!
//! ```ignore
//! let model = Model::from_bytes(MODEL)?;           // validates the whole file once
//! let mut session = Session::new(&model, &mut ARENA)?;
//! session.set_input_f32(0, &features)?;
//! session.invoke()?;
//! let scores = session.output_f32(0)?;
//! ```
//! No heap, no panics on model or input data: every failure is an [`Error`].
#![no_std]
#![forbid(unsafe_code)]
// A build trimmed to some kernels (cargo features, see `Features`) leaves helpers of the others unused.
#![cfg_attr(
    not(all(
        feature = "f32",
        feature = "f16",
        feature = "i8",
        feature = "i16",
        feature = "all-ops"
    )),
    allow(
        dead_code,
        unused_imports,
        unused_variables,
        unused_mut,
        unreachable_code,
        clippy::extra_unused_type_parameters,
        clippy::never_loop
    )
)]

mod arena;
mod dispatch;
mod error;
mod features;
mod fixed;
mod model;
mod session;

pub use error::{Error, OpError};
pub use features::Features;
pub use model::{Model, StreamInfo};
pub use rill_format as format;
pub use rill_format::{DType, OpKind};
pub use session::Session;
