#!/usr/bin/env bash
# Instructions per MAC of the fixed-point kernels on a Cortex-M4F under QEMU, next to CMSIS-NN.
#
#   tools/mcu-kernels.sh
#
# Builds firmware/qemu-m4's `kernels` binary (src/bin/kernels.rs: each kernel once on synthetic
# data, the problem sizes of issue 5's CMSIS-NN figures), runs it with tools/mcu-run (QEMU,
# -icount shift=0: instructions, not cycles; each reading good to +-40 instructions) and prints
# kernel | MACs | instructions | Rill insns/MAC | CMSIS-NN insns/MAC | Rill / CMSIS-NN.
# The CMSIS-NN figures were measured by the same method on the same emulated core (-O3, DSP).
# Exits non-zero if the firmware reports an error.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
runner=${MCU_RUN:-$root/tools/mcu-run}
command -v qemu-system-arm >/dev/null || { echo "mcu-kernels.sh: qemu-system-arm missing: apt-get install -y qemu-system-arm" >&2; exit 127; }
rustup target list --installed | grep -qx thumbv7em-none-eabihf || rustup target add thumbv7em-none-eabihf

fw=$root/firmware/qemu-m4
(cd "$fw" && cargo build -q --release --locked --target thumbv7em-none-eabihf --bin kernels)
elf=${CARGO_TARGET_DIR:-$fw/target}/thumbv7em-none-eabihf/release/kernels
[ -f "$elf" ] || elf=$fw/target/thumbv7em-none-eabihf/release/kernels
out=$(MCU_RUN_TIMEOUT=${MCU_RUN_TIMEOUT:-600} "$runner" "$elf") || { echo "$out"; echo "mcu-kernels.sh: firmware failed" >&2; exit 1; }

python3 - "$out" <<'PY'
import re, sys
cmsis = {"fc_s8_256x256": 2.07, "conv1x1_s8_7x7_64to64": 2.14, "dwconv3x3_s8_25x5_64ch": 8.33,
         "lstm_s8_49x40x64": 3.26, "lstm_s16_49x40x64": 3.96}
rows = []
for line in sys.argv[1].splitlines():
    m = re.match(r"kernel=(\S+) macs=(\d+) insns=(\d+)", line)
    if m:
        name, macs, insns = m.group(1), int(m.group(2)), int(m.group(3))
        per = insns / macs
        ref = cmsis.get(name)
        rows.append((name, macs, insns, f"{per:.2f}", f"{ref:.2f}" if ref else "-",
                     f"{per / ref:.2f}" if ref else "-"))
    elif "error=" in line:
        print(line, file=sys.stderr)
        sys.exit(1)
print("| kernel | MACs | instructions | Rill insns/MAC | CMSIS-NN insns/MAC | Rill / CMSIS-NN |")
print("|---|---:|---:|---:|---:|---:|")
for r in rows:
    print("| " + " | ".join(str(x) for x in r) + " |")
PY
