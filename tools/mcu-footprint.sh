#!/usr/bin/env bash
# Flash taken by the runtime's code for a model using conv + LSTM + dense + softmax, on a Cortex-M4F.
#
#   tools/mcu-footprint.sh [--budget BYTES]
#
# The model is tests/data/footprint/crnn (tools/gen_footprint_model.py), converted to int8.
# tools/mcu.sh converts it, runs it on the host and on the emulated M4 (bit-identical, whole window
# and streamed). Then firmware/qemu-m4's `footprint` binary (src/bin/footprint.rs: load, run the
# window, stream it step by step, print CRCs; errors as a stage number, no error text) is built
# for opt-level 3 (`release`) and "s" (`release-size`), with every runtime kernel (full), with
# only the kernels the model needs (auto: `rill inspect`'s "runtime features", streaming included),
# and with those plus `small` (the dot-product loops, the requantization and the tensor decoder
# compiled once instead of inlined), and once more for an application that runs whole windows only
# (`--features whole-window`: no `stream` feature, so no step kernels), run under QEMU and checked
# against the host's bytes; and built once more with `--features baseline` (the model runs
# compiled out). Runtime code = code of the binary - code of the baseline, code being
# .vector_table + .text.
# The firmware builds with LLVM's runtime loop unrolling off (firmware/qemu-m4/.cargo/config.toml).
# --budget: exit 1 if the trimmed, `small` runtime code of the whole-window application exceeds
# BYTES at opt-level 3 or "s" (CI holds both to 24 KiB).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
budget=
while [ $# -gt 0 ]; do
    case "$1" in
        --budget) budget=$2; shift 2 ;;
        --budget=*) budget=${1#*=}; shift ;;
        -h|--help) awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; exit 0 ;;
        *) echo "mcu-footprint.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

fw=$root/firmware/qemu-m4
gen=$fw/generated
runner=${MCU_RUN:-$root/tools/mcu-run}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

tools/mcu.sh --root tests/data/footprint --precision int8 --runtime-features auto >"$log" 2>&1 ||
    { cat "$log"; echo "mcu-footprint.sh: tools/mcu.sh failed" >&2; exit 1; }
needed=$(sed -n 's/^runtime features: //p' "$log")
[ -n "$needed" ] || { cat "$log"; echo "mcu-footprint.sh: no runtime features listed" >&2; exit 1; }
crc() { python3 -c 'import sys, zlib; print("%08x" % zlib.crc32(open(sys.argv[1], "rb").read()))' "$1"; }
out_crc="out_crc32=$(crc "$gen/crnn.output.bin")"
stream_crc="stream_crc32=$(crc "$gen/crnn.stream.bin")"
# The kernels a whole-window application needs: streaming left out.
whole=$(tr ',' '\n' <<<"$needed" | grep -vx stream | paste -sd, -)
# "a,b" -> "rill-runtime/a,rill-runtime/b"
runtime_features() { sed 's/\([^,]*\)/rill-runtime\/\1/g' <<<"$1"; }

# code and .rodata bytes of an ELF
sizes() {
    local tool=
    for t in "$(rustc --print sysroot)"/lib/rustlib/*/bin/llvm-size; do [ -x "$t" ] && tool=$t; done
    if [ -n "$tool" ]; then "$tool" -A "$1"; else python3 tools/elfsize.py "$1"; fi |
        awk '$1 == ".vector_table" || $1 == ".text" { code += $2 } $1 == ".rodata" { ro = $2 }
             END { print code + 0, ro + 0 }'
}
build() { # profile, cargo feature args...
    local profile=$1; shift
    (cd "$fw" && RILL_MODELS_DIR="$gen/image0" cargo build -q --locked --profile "$profile" \
        --target-dir "$fw/target" --bin footprint "$@")
    local pdir=$profile; [ "$profile" = dev ] && pdir=debug
    echo "$fw/target/thumbv7em-none-eabihf/$pdir/footprint"
}

rows=()
whole_rows=()
for profile in release release-size; do
    case "$profile" in release) opt=3 ;; *) opt='"s"' ;; esac
    elf=$(build "$profile" --no-default-features --features baseline)
    read -r base_code base_ro < <(sizes "$elf")
    for features in full auto small whole; do
        want="$out_crc $stream_crc"
        case "$features" in
            full) args=(); list="all (\`full\`)" ;;
            auto) args=(--no-default-features --features "$(runtime_features "$needed")")
                  list=${needed//,/, } ;;
            small) args=(--no-default-features --features "$(runtime_features "$needed,small")")
                   list="${needed//,/, }, small" ;;
            whole) args=(--no-default-features --features "$(runtime_features "$whole,small"),whole-window")
                   list="${whole//,/, }, small; whole windows only, no streaming"
                   want="$out_crc stream_crc32=none" ;;
        esac
        elf=$(build "$profile" ${args[@]+"${args[@]}"})
        out=$(MCU_RUN_TIMEOUT=${MCU_RUN_TIMEOUT:-600} "$runner" "$elf" 2>&1) ||
            { echo "$out"; echo "mcu-footprint.sh: footprint ($profile, $features) failed" >&2; exit 1; }
        grep -q "$want" <<<"$out" ||
            { echo "$out"; echo "mcu-footprint.sh: footprint ($profile, $features) is not bit-identical with the host ($want)" >&2; exit 1; }
        read -r code ro < <(sizes "$elf")
        runtime=$((code - base_code))
        rows+=("| $opt | $list | $runtime ($((runtime * 10 / 1024 / 10)).$((runtime * 10 / 1024 % 10)) KiB) | $((ro - base_ro)) |")
        if [ "$features" = whole ]; then whole_rows+=("$opt $runtime"); fi
    done
done

echo "crnn int8 (conv + LSTM + dense + softmax; whole window and streaming unless said), bit-identical with the host under QEMU in every build:"
echo
echo "| opt-level | runtime features | runtime code B | runtime .rodata B |"
echo "|---|---|---:|---:|"
printf '%s\n' "${rows[@]}"
if [ -n "$budget" ]; then
    for row in "${whole_rows[@]}"; do
        read -r opt runtime <<<"$row"
        if [ "$runtime" -gt "$budget" ]; then
            echo "mcu-footprint.sh: trimmed opt-level $opt whole-window runtime code $runtime B exceeds the budget of $budget B" >&2
            exit 1
        fi
    done
fi
