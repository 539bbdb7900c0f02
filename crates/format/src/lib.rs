//! The `.rill` model file.
//!
//! A `.rill` file is little-endian, every section starts on a 16-byte boundary, and weights are read in
//! place (from flash on a microcontroller). The layout is specified in `docs/format.md`; this crate is
//! its single implementation: the record types ([`records`]), the op list and per-op parameter records
//! ([`ops`]), a reader that validates everything once ([`reader`]) and, with the `std` feature, the
//! writer used by the converter ([`writer`]).
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]

pub mod dtype;
pub mod error;
pub mod ops;
pub mod reader;
pub mod records;
pub mod stream;
#[cfg(feature = "std")]
pub mod writer;

pub use dtype::DType;
pub use error::FormatError;
pub use ops::*;
pub use reader::ModelFile;
pub use records::*;
pub use stream::{StreamBlock, StreamRecord, MAX_STREAM_IO};

/// First four bytes of every file.
pub const MAGIC: [u8; 4] = *b"RILL";
/// Format version this crate reads and writes. Readers refuse any other version.
pub const VERSION: u16 = 2;
/// Marks an absent optional reference (tensor index, string, offset).
pub const NONE: u32 = u32::MAX;
/// Highest tensor rank the format stores.
pub const MAX_RANK: usize = 6;
/// Alignment of sections, weights and arena buffers.
pub const ALIGN: usize = 16;

/// Rounds `n` up to the next multiple of [`ALIGN`]; `None` on overflow.
pub const fn align_up(n: usize) -> Option<usize> {
    match n.checked_add(ALIGN - 1) {
        Some(v) => Some(v & !(ALIGN - 1)),
        None => None,
    }
}
