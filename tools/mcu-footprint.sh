#!/usr/bin/env bash
# Flash taken by the runtime's code for a model using conv + LSTM + dense + softmax, on a Cortex-M4F.
#
#   tools/mcu-footprint.sh [--budget BYTES]
#
# The model is tests/data/footprint/crnn (tools/gen_footprint_model.py), converted to int8. For
# opt-level 3 (`release`) and "s" (`release-size`), with every runtime kernel (full) and with only
# the kernels the model needs (auto: `rill inspect`'s "runtime features", streaming included):
# tools/mcu.sh builds firmware/qemu-m4 with it and runs it under QEMU (bit-identical with the
# host, whole window and streamed), then the same image is built with the model runs compiled
# out (`--features baseline`). Runtime code = code of the image - code of the baseline, code being
# .vector_table + .text; it includes the firmware's own few hundred bytes of glue that feed the
# input, stream it and checksum the outputs. Read-only constants (.rodata) are shown apart.
# --budget: exit 1 if the trimmed opt-level "s" runtime code exceeds BYTES.
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
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# code and .rodata bytes of an ELF
sizes() {
    local tool=
    for t in "$(rustc --print sysroot)"/lib/rustlib/*/bin/llvm-size; do [ -x "$t" ] && tool=$t; done
    if [ -n "$tool" ]; then "$tool" -A "$1"; else python3 tools/elfsize.py "$1"; fi |
        awk '$1 == ".vector_table" || $1 == ".text" { code += $2 } $1 == ".rodata" { ro = $2 }
             END { print code + 0, ro + 0 }'
}

rows=()
for profile in release release-size; do
    case "$profile" in release) pdir=release; opt=3 ;; *) pdir=$profile; opt='"s"' ;; esac
    for features in full auto; do
        tools/mcu.sh --root tests/data/footprint --precision int8 --profile "$profile" \
            --runtime-features "$features" >"$out/mcu.log" 2>&1 || { cat "$out/mcu.log"; echo "mcu-footprint.sh: tools/mcu.sh failed" >&2; exit 1; }
        grep -q "all 1 models bit-identical" "$out/mcu.log" || { cat "$out/mcu.log"; exit 1; }
        read -r code ro < <(sizes "$gen/image0.elf")
        list=$(sed -n 's/^runtime features: //p' "$out/mcu.log")
        [ -n "$list" ] || list="all"
        (cd "$fw" && RILL_MODELS_DIR="$gen/image0" cargo build -q --locked --profile "$profile" \
            --target-dir "$fw/target" --no-default-features --features baseline)
        read -r base_code base_ro < <(sizes "$fw/target/thumbv7em-none-eabihf/$pdir/rill-qemu-m4")
        runtime=$((code - base_code))
        rows+=("| $opt | $list | $code | $base_code | $runtime ($((runtime * 10 / 1024 / 10)).$((runtime * 10 / 1024 % 10)) KiB) | $((ro - base_ro)) |")
        if [ "$profile" = release-size ] && [ "$features" = auto ]; then trimmed_s=$runtime; fi
    done
done

echo "crnn int8 (conv + LSTM + dense + softmax), bit-identical with the host under QEMU in every build:"
echo
echo "| opt-level | runtime features | image code B | baseline code B | runtime code B | runtime .rodata B |"
echo "|---|---|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
if [ -n "$budget" ] && [ "$trimmed_s" -gt "$budget" ]; then
    echo "mcu-footprint.sh: trimmed opt-level \"s\" runtime code $trimmed_s B exceeds the budget of $budget B" >&2
    exit 1
fi
