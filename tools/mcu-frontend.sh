#!/usr/bin/env bash
# The rill-dsp MFCC front end on a Cortex-M4F under QEMU: accuracy against numpy, bit-exactness with the
# host, instruction counts.
#
#   tools/mcu-frontend.sh
#
# Builds firmware/qemu-m4's `frontend` binary (src/bin/frontend.rs: streams models/kws_dscnn/demo.wav
# through rill_dsp::Frontend in 320-sample chunks and compares with tests/data/frontend/demo_mfcc.npy on
# the device), runs it with tools/mcu-run, runs the host test on the same clip, and checks that both
# hash the Q16 features to the same value. Exits non-zero on a firmware error, an error above the
# bounds, or any host/MCU difference.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
runner=${MCU_RUN:-$root/tools/mcu-run}
command -v qemu-system-arm >/dev/null || { echo "mcu-frontend.sh: qemu-system-arm missing: apt-get install -y qemu-system-arm" >&2; exit 127; }
rustup target list --installed | grep -qx thumbv7em-none-eabihf || rustup target add thumbv7em-none-eabihf

fw=$root/firmware/qemu-m4
(cd "$fw" && cargo build -q --release --locked --target thumbv7em-none-eabihf --bin frontend)
elf=${CARGO_TARGET_DIR:-$fw/target}/thumbv7em-none-eabihf/release/frontend
[ -f "$elf" ] || elf=$fw/target/thumbv7em-none-eabihf/release/frontend
mcu=$("$runner" "$elf") || { echo "$mcu"; echo "mcu-frontend.sh: firmware failed" >&2; exit 1; }
echo "$mcu"
host=$(cargo test -q --locked -p rill-dsp --test frontend_vs_numpy demo_wav_matches_numpy_reference -- --nocapture 2>&1)
h_host=$(sed -n 's/.*host fnv=\([0-9a-f]*\).*/\1/p' <<<"$host")
h_mcu=$(sed -n 's/.*fnv=\([0-9a-f]*\).*/\1/p' <<<"$mcu")
[ -n "$h_host" ] || { echo "$host"; echo "mcu-frontend.sh: host test printed no hash" >&2; exit 1; }
if [ "$h_host" = "$h_mcu" ]; then
    echo "host == MCU: yes (fnv $h_host)"
else
    echo "mcu-frontend.sh: host fnv $h_host != MCU fnv $h_mcu" >&2
    exit 1
fi
