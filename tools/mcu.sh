#!/usr/bin/env bash
# Runs every model in models/ on a Cortex-M4F under QEMU and checks it against the host, bit for bit.
#
#   tools/mcu.sh [--precision P] [--profile release|release-size]
#
# 1. builds the host CLI (target/debug/rill);
# 2. per models/<m>/: converts model.onnx to firmware/qemu-m4/generated/<m>.rill (--precision P,
#    default f32, or $RILL_PRECISION), runs it on the host (`rill run`, input.npy -> <m>.out.npy) and
#    writes the input as raw little-endian bytes (<m>.input.bin, via tools/npy2bin.py);
# 3. builds firmware/qemu-m4 (the models are embedded by its build.rs) and runs it with
#    ../shared/tools/mcu-run (QEMU mps2-an386, semihosting, -icount shift=0);
# 4. prints model | MACs | file bytes | arena bytes | instructions | instructions/MAC | host == MCU,
#    and the image's section sizes.
# Exits 1 if the firmware fails or any model's output is not bit-identical to the host's.
# Needs: qemu-system-arm (apt-get install -y qemu-system-arm), python3 (stdlib only), and
# arm-none-eabi-size (binutils-arm-none-eabi) or llvm-size for the size line.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

precision=${RILL_PRECISION:-f32}
profile=release
while [ $# -gt 0 ]; do
    case "$1" in
        --precision) precision=$2; shift 2 ;;
        --precision=*) precision=${1#*=}; shift ;;
        --profile) profile=$2; shift 2 ;;
        --profile=*) profile=${1#*=}; shift ;;
        -h|--help) awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; exit 0 ;;
        *) echo "mcu.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

fw=$root/firmware/qemu-m4
gen=$fw/generated
runner=$root/../shared/tools/mcu-run
step() { printf '\n== %s\n' "$*"; }

command -v qemu-system-arm >/dev/null || { echo "mcu.sh: qemu-system-arm missing: apt-get install -y qemu-system-arm" >&2; exit 127; }
command -v python3 >/dev/null || { echo "mcu.sh: python3 missing" >&2; exit 127; }
[ -x "$runner" ] || { echo "mcu.sh: no runner at $runner (shared/ must sit beside the checkout)" >&2; exit 127; }
rustup target list --installed | grep -qx thumbv7em-none-eabihf || rustup target add thumbv7em-none-eabihf

step "host CLI"
cargo build -q -p rill-cli
rill=$root/target/debug/rill

step "convert ($precision) and run on the host"
mkdir -p "$gen"
rm -f "$gen"/*.rill "$gen"/*.input.bin "$gen"/*.out.npy "$gen"/*.json
models=()
for dir in models/*/; do
    m=$(basename "$dir")
    [ -f "$dir/model.onnx" ] && [ -f "$dir/input.npy" ] || continue
    models+=("$m")
    "$rill" convert "$dir/model.onnx" -o "$gen/$m.rill" --precision "$precision" >/dev/null
    "$rill" inspect "$gen/$m.rill" --json >"$gen/$m.json"
    "$rill" run "$gen/$m.rill" --input "$dir/input.npy" --output "$gen/$m.out.npy"
    python3 tools/npy2bin.py "$dir/input.npy" "$gen/$m.input.bin"
    echo "$m: $(stat -c %s "$gen/$m.rill") bytes"
done
[ ${#models[@]} -gt 0 ] || { echo "mcu.sh: no models/<m>/model.onnx with input.npy" >&2; exit 1; }

step "firmware/qemu-m4 ($profile) under QEMU"
log=$gen/mcu.log
(cd "$fw" && cargo build -q --profile "$profile")
case "$profile" in release) pdir=release ;; dev) pdir=debug ;; *) pdir=$profile ;; esac
elf=$fw/target/thumbv7em-none-eabihf/$pdir/rill-qemu-m4
set +e
"$runner" "$elf" >"$log" 2>&1
rc=$?
set -e
cat "$log"

step "results ($precision, $profile; instructions are QEMU -icount counts, ±40 per reading)"
status=0
[ $rc -eq 0 ] || { echo "firmware exited with status $rc"; status=1; }
printf '| %-16s | %9s | %10s | %11s | %13s | %10s | %-13s |\n' \
    model MACs "file bytes" "arena bytes" "insns/infer." "insns/MAC" "host == MCU"
printf '|%s|%s|%s|%s|%s|%s|%s|\n' ------------------ ----------: -----------: ------------: \
    ---------------: ------------: ---------------
for m in "${models[@]}"; do
    read -r macs arena < <(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["macs"], j["arena_bytes"])' "$gen/$m.json")
    size=$(stat -c %s "$gen/$m.rill")
    host=$(python3 tools/npy2bin.py --info "$gen/$m.out.npy")
    line=$(grep -E "^model=$m " "$log" || true)
    field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
    mcu_crc=$(field out_crc32) mcu_len=$(field out_len) n=$(field insns)
    host_crc=$(sed -n 's/.*crc32=\([^ ]*\).*/\1/p' <<<"$host")
    host_len=$(sed -n 's/.* len=\([^ ]*\).*/\1/p' <<<"$host")
    if [ -z "$mcu_crc" ]; then
        same="no (no result)"; n=-; per=-; status=1
    else
        per=$(awk -v n="$n" -v m="$macs" 'BEGIN { if (m > 0) printf "%.2f", n / m; else print "-" }')
        if [ "$mcu_crc" = "$host_crc" ] && [ "$mcu_len" = "$host_len" ]; then
            same=yes
        else
            same=no; status=1
            echo "$m: host $host / MCU crc32=$mcu_crc len=$mcu_len head=$(field head)" >&2
        fi
    fi
    printf '| %-16s | %9s | %10s | %11s | %13s | %10s | %-13s |\n' "$m" "$macs" "$size" "$arena" "$n" "$per" "$same"
done

# Image sizes: code (vector table + .text), constants (.rodata: the embedded models and inputs plus
# the runtime's own tables and strings), RAM (.data + .bss: the arena sized to the largest model).
if command -v arm-none-eabi-size >/dev/null; then sizetool=arm-none-eabi-size
elif command -v llvm-size >/dev/null; then sizetool=llvm-size
elif command -v rust-size >/dev/null; then sizetool=rust-size
else sizetool=; fi
if [ -n "$sizetool" ] && [ -f "$elf" ]; then
    embedded=0
    for f in "$gen"/*.rill "$gen"/*.input.bin; do embedded=$((embedded + $(stat -c %s "$f"))); done
    "$sizetool" -A "$elf" | awk -v tool="$sizetool" -v emb="$embedded" '
        $1 == ".vector_table" || $1 == ".text" { code += $2 }
        $1 == ".rodata" { ro = $2 }
        $1 == ".data" || $1 == ".bss" || $1 == ".uninit" { ram += $2 }
        END { printf "\nimage (%s -A): code %d B (.vector_table + .text), .rodata %d B (%d B embedded models + inputs, %d B other), RAM %d B (.data + .bss)\n", tool, code, ro, emb, ro - emb, ram }'
fi
[ $status -eq 0 ] && echo "all ${#models[@]} models bit-identical on host and MCU" || echo "FAILED" >&2
exit $status
