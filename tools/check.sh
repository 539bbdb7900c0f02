#!/usr/bin/env bash
# The full local check, the same one CI runs, cheapest first:
# formatting, lints, the whole test suite, and the no_std crates built for a Cortex-M4F.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "toolchain: thumbv7em-none-eabihf target"
rustup target list --installed | grep -qx thumbv7em-none-eabihf || rustup target add thumbv7em-none-eabihf

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "no_std crates for thumbv7em-none-eabihf"
cargo build --locked --release -p rill-format -p rill-kernels -p rill-runtime \
    --no-default-features --target thumbv7em-none-eabihf

step "tests"
cargo test --workspace --locked
