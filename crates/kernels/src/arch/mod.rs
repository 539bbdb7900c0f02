//! Target-specific instructions behind portable functions of identical semantics, so the host runs
//! (and the tests check) the same code paths as the MCU.
//!
//! This is the only module allowed `unsafe` (for `asm!`): the crate root is `#![deny(unsafe_code)]`
//! rather than `forbid` (a `forbid` could not be relaxed here), and `rill-kernels` sets its own lints
//! in its `Cargo.toml` instead of inheriting the workspace's `unsafe_code = "forbid"`.
//!
//! The Cortex-M DSP instructions (SMLAD, SXTB16) are used on ARMv7E-M targets (`thumbv7em-*`, the
//! `rill_dsp` cfg set by `build.rs`: stable rustc never reports `target_feature = "dsp"`), or when
//! the DSP feature is reported. Elsewhere (host, Cortex-M0+/M3) the portable versions run.
//!
//! The multi-row dot-product loops (`quads`: four weight rows, `block2x2`: two rows by two inputs)
//! are written in Rust over these instructions in `rows.rs`, which the portable build runs and the
//! host tests check; `dsp.rs` has each as one `asm!` loop that must give the same sums.
#[cfg(all(target_arch = "arm", any(rill_dsp, target_feature = "dsp")))]
mod dsp;
#[cfg(all(target_arch = "arm", any(rill_dsp, target_feature = "dsp")))]
#[cfg_attr(feature = "small", allow(unused_imports))]
pub(crate) use dsp::{
    block2x2, blocks2x2, dw3_rows, quads, rows1x4, smlad, smlal_hi, sums, sxtb16, sxtb16_ror8,
};

#[cfg(not(all(target_arch = "arm", any(rill_dsp, target_feature = "dsp"))))]
mod portable;
#[cfg(not(all(target_arch = "arm", any(rill_dsp, target_feature = "dsp"))))]
pub(crate) use portable::{smlad, smlal_hi, sxtb16, sxtb16_ror8};
#[cfg(not(all(target_arch = "arm", any(rill_dsp, target_feature = "dsp"))))]
#[cfg_attr(feature = "small", allow(unused_imports))]
pub(crate) use rows::blocks2x2_rust as blocks2x2;
#[cfg(not(all(target_arch = "arm", any(rill_dsp, target_feature = "dsp"))))]
pub(crate) use rows::dw3_rows_rust as dw3_rows;
#[cfg(not(all(target_arch = "arm", any(rill_dsp, target_feature = "dsp"))))]
pub(crate) use rows::quads_rust as quads;
#[cfg(not(all(target_arch = "arm", any(rill_dsp, target_feature = "dsp"))))]
#[cfg_attr(feature = "small", allow(unused_imports))]
pub(crate) use rows::rows1x4_rust as rows1x4;
#[cfg(not(all(target_arch = "arm", any(rill_dsp, target_feature = "dsp"))))]
#[cfg_attr(feature = "small", allow(unused_imports))]
pub(crate) use rows::sums_rust as sums;
#[cfg(not(all(target_arch = "arm", any(rill_dsp, target_feature = "dsp"))))]
pub(crate) fn block2x2(x: &[u32], w: &[i8], k: usize) -> [i32; 4] {
    rows::block2x2_rust([0; 4], x, w, k)
}

mod rows;
pub(crate) use rows::{rows4_rust, word};

#[cfg(test)]
mod tests;
