//! Sets `rill_dsp` on ARMv7E-M targets (`thumbv7em-*`: Cortex-M4/M7), whose architecture always
//! includes the DSP extension. Stable rustc does not expose `target_feature = "dsp"` to `cfg` (the
//! feature is unstable), so the target name is the reliable signal; see `src/arch/mod.rs`.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(rill_dsp)");
    println!("cargo::rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("thumbv7em") {
        println!("cargo::rustc-cfg=rill_dsp");
    }
}
