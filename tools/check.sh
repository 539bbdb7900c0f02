#!/usr/bin/env bash
# The full local check, the same one CI runs, cheapest first: formatting, lints, the no_std crates
# built for a Cortex-M4F and a Cortex-M0+, the whole test suite, then every model run on a Cortex-M4F
# under QEMU and compared bit for bit with the host (tools/mcu.sh; needs qemu-system-arm).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "toolchain: thumbv7em-none-eabihf and thumbv6m-none-eabi targets"
for t in thumbv7em-none-eabihf thumbv6m-none-eabi; do
    rustup target list --installed | grep -qx "$t" || rustup target add "$t"
done

step "cargo fmt --check"
cargo fmt --all -- --check
(cd firmware/qemu-m4 && cargo fmt -- --check)
(cd firmware/board-example && cargo fmt -- --check)

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
# The firmware is its own workspace (excluded from the root), built for the M4F only.
(cd firmware/qemu-m4 && cargo clippy --release --locked --target thumbv7em-none-eabihf -- -D warnings)

# board-example embeds a model the host CLI builds (nothing generated is committed), so convert it
# first; then it must build, lint clean and pass its host tests without a board.
step "firmware/board-example: motion_lstm (int8), build, clippy, host tests"
mkdir -p firmware/board-example/generated
cargo run --locked -q -p rill-cli -- convert models/motion_lstm/model.onnx \
    -o firmware/board-example/generated/model.rill --precision int8 \
    --calibration models/motion_lstm/calib.npy
host=$(rustc -vV | sed -n 's/^host: //p')
(cd firmware/board-example &&
    cargo build --locked --release --target thumbv7em-none-eabihf &&
    cargo clippy --locked --release --target thumbv7em-none-eabihf -- -D warnings &&
    cargo clippy --locked --release --target "$host" --tests -- -D warnings &&
    cargo test --locked --release --target "$host")

step "no_std crates for thumbv7em-none-eabihf (Cortex-M4F)"
cargo build --locked --release -p rill-format -p rill-kernels -p rill-runtime -p rill-dsp \
    --no-default-features --features rill-runtime/full --target thumbv7em-none-eabihf
# A runtime trimmed to some kernels must build (and lint) too: the cargo features of src/features.rs.
for f in i8,rnn,lstm,dense,copy i8,rnn,lstm,dense,copy,stream f32,rnn,gru,stream f32,conv,stream i16,all-ops full,small \
        i8,dense,conv,rnn,softmax,copy,lstm,stream,small i8,conv,conv-pointwise,conv-depthwise,conv-generic; do
    cargo clippy --locked --release -p rill-runtime --no-default-features --features "$f" \
        --target thumbv7em-none-eabihf -- -D warnings
done

# No FPU, no atomic read-modify-write, no 64-bit multiply instructions: what the smallest parts lack.
step "no_std crates for thumbv6m-none-eabi (Cortex-M0+)"
cargo build --locked --release -p rill-format -p rill-kernels -p rill-runtime -p rill-dsp \
    --no-default-features --features rill-runtime/full --target thumbv6m-none-eabi

step "tests"
cargo test --workspace --locked
# The kernels with the dot-product loops compiled once (the `small` feature) give the same bits.
cargo test --locked -p rill-kernels --features small

for p in f32 int8 int16; do
    step "every model on a Cortex-M4F under QEMU, bit-exact with the host ($p)"
    tools/mcu.sh --precision "$p"
done

step "kernel instructions per MAC on a Cortex-M4F, next to CMSIS-NN"
tools/mcu-kernels.sh

step "runtime code in flash for conv + LSTM + dense + softmax, all kernels and trimmed"
tools/mcu-footprint.sh --budget 24576

step "audio front end on a Cortex-M4F: against numpy, bit-exact with the host"
tools/mcu-frontend.sh

step "the demo (README's first command)"
tools/demo.sh >/dev/null
