//! The models build.rs embeds (those of `$RILL_MODELS_DIR`), shared by the firmware binaries.

/// 16-byte alignment for embedded model files, inputs and the arena.
#[repr(C, align(16))]
pub struct Aligned<T: ?Sized>(pub T);

/// One embedded model.
pub struct Entry {
    pub name: &'static str,
    pub model: &'static [u8],
    /// Graph inputs as raw little-endian bytes, concatenated in input order.
    pub input: &'static [u8],
    /// The file's `arena_bytes`, read by build.rs.
    pub arena_bytes: u32,
}

/// `MODELS` and `ARENA_BYTES` (the largest arena).
pub mod models {
    #[allow(unused_imports)] // Aligned is unused when no model is embedded
    use super::{Aligned, Entry};
    include!(concat!(env!("OUT_DIR"), "/models.rs"));
}
