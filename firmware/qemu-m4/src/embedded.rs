//! What the firmware binaries share: the models build.rs embeds (those of `$RILL_MODELS_DIR`) and
//! the CRC they print of the outputs.

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

/// CRC-32/ISO-HDLC (zlib's `crc32`), bitwise: small and fast enough for outputs of a few KiB.
pub fn crc32_update(mut crc: u32, data: &[u8]) -> u32 {
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    crc
}
