#!/usr/bin/env bash
# Runs every model in models/ on a Cortex-M4F under QEMU and checks it against the host, bit for bit.
#
#   tools/mcu.sh [--precision P] [--profile release|release-size] [--root DIR]
#                [--runtime-features full|auto] [-- CONVERT_ARGS...]
#
# --root: where the model directories are (default models/). --runtime-features auto builds the
# firmware with only the rill-runtime kernels the models need (their `rill inspect` "runtime
# features", streaming included) instead of all of them (full, the default).
#
# 1. builds the host CLI (target/debug/rill);
# 2. per models/<m>/ with model.onnx and input.npy: converts it to firmware/qemu-m4/generated/<m>.rill
#    (--precision P, default f32 or $RILL_PRECISION; CONVERT_ARGS go to `rill convert` as well, with
#    {dir} replaced by models/<m>), runs it on the host (`rill run --dump-raw`: the exact input bytes
#    the session is fed, codes for a fixed-point model, to <m>.input.bin, its output bytes to
#    <m>.output.bin);
# 3. packs the models into as few images as fit the mps2-an386 memory (usually one), builds
#    firmware/qemu-m4 per image (build.rs embeds the models of $RILL_MODELS_DIR) and runs it with
#    tools/mcu-run (QEMU, semihosting, -icount shift=0: instructions, not cycles);
# 4. prints model | MACs | file bytes | arena bytes | state bytes | instructions/inference |
#    instructions/MAC | host == MCU | instructions/step | stream host == MCU, where host == MCU
#    compares zlib's CRC-32 of the host's output bytes with the one the firmware printed, and the
#    stream columns do the same for a model that streams, fed step by step (the host's
#    <m>.stream.bin from `rill run --dump-raw`); then the ELF section sizes of each image.
# Exits 1 if the firmware fails or any model's output is not bit-identical to the host's.
# Needs: qemu-system-arm (apt-get install -y qemu-system-arm), python3 (stdlib only). Section sizes
# come from rustup's llvm-size when llvm-tools is installed, else from tools/elfsize.py.
# Env: MCU_RUN (runner, default tools/mcu-run), MCU_RUN_TIMEOUT (s per image, default 600),
# MCU_IMAGE_BYTES (models + inputs one image may embed, default 3 MiB).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

precision=${RILL_PRECISION:-f32}
profile=release
root_dir=models
features=full
convert_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --precision) precision=$2; shift 2 ;;
        --precision=*) precision=${1#*=}; shift ;;
        --profile) profile=$2; shift 2 ;;
        --profile=*) profile=${1#*=}; shift ;;
        --root) root_dir=${2%/}; shift 2 ;;
        --root=*) root_dir=${1#*=}; root_dir=${root_dir%/}; shift ;;
        --runtime-features) features=$2; shift 2 ;;
        --runtime-features=*) features=${1#*=}; shift ;;
        --) shift; convert_args=("$@"); break ;;
        -h|--help) awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; exit 0 ;;
        *) echo "mcu.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
case "$features" in full|auto) ;; *) echo "mcu.sh: --runtime-features takes full or auto, not '$features'" >&2; exit 2 ;; esac
[ -d "$root_dir" ] || { echo "mcu.sh: no model directory '$root_dir'" >&2; exit 2; }

fw=$root/firmware/qemu-m4
gen=$fw/generated
runner=${MCU_RUN:-$root/tools/mcu-run}
export MCU_RUN_TIMEOUT=${MCU_RUN_TIMEOUT:-600}
# What one image may embed: the 4 MiB "flash" less room for code (~60 KiB today) and growth.
flash_budget=${MCU_IMAGE_BYTES:-$((3 * 1024 * 1024))}
# The arena is one static in the 4 MiB RAM, which also holds the stack.
ram_budget=$((3 * 1024 * 1024 + 512 * 1024))
step() { printf '\n== %s\n' "$*"; }

command -v qemu-system-arm >/dev/null || { echo "mcu.sh: qemu-system-arm missing: apt-get install -y qemu-system-arm" >&2; exit 127; }
command -v python3 >/dev/null || { echo "mcu.sh: python3 missing" >&2; exit 127; }
[ -x "$runner" ] || { echo "mcu.sh: no runner at $runner" >&2; exit 127; }
rustup target list --installed | grep -qx thumbv7em-none-eabihf || rustup target add thumbv7em-none-eabihf

step "host CLI"
cargo build -q --locked -p rill-cli
rill=${CARGO_TARGET_DIR:-$root/target}/debug/rill

step "convert ($precision) and run on the host"
rm -rf "$gen"
mkdir -p "$gen"
models=()
for dir in "$root_dir"/*/; do
    dir=${dir%/}
    m=$(basename "$dir")
    if [ ! -f "$dir/model.onnx" ] || [ ! -f "$dir/input.npy" ]; then
        echo "$m: skipped (no model.onnx or input.npy)"
        continue
    fi
    models+=("$m")
    args=()
    for a in ${convert_args[@]+"${convert_args[@]}"}; do args+=("${a//\{dir\}/$dir}"); done
    # Fixed point calibrates on the model's own calibration set unless told otherwise.
    if [ "$precision" != f32 ] && [[ " ${args[*]-} " != *" --calibration "* ]]; then
        args+=(--calibration "$dir/calib.npy")
    fi
    "$rill" convert "$dir/model.onnx" -o "$gen/$m.rill" --precision "$precision" ${args[@]+"${args[@]}"} >/dev/null
    "$rill" inspect "$gen/$m.rill" --json >"$gen/$m.json"
    # The exact bytes the session was fed (codes, for a fixed-point model) and produced.
    "$rill" run "$gen/$m.rill" --input "$dir/input.npy" --output "$gen/$m.out.npy" \
        --dump-raw "$gen/$m" >/dev/null
    echo "$m: $(stat -c %s "$gen/$m.rill") bytes"
done
[ ${#models[@]} -gt 0 ] || { echo "mcu.sh: no $root_dir/<m>/model.onnx with input.npy" >&2; exit 1; }

jq_field() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(*(j[k] for k in sys.argv[2:]))' "$@"; }

# The firmware's runtime kernels: all, or the union of what the models need (whole window and steps).
cargo_features=()
if [ "$features" = auto ]; then
    jsons=()
    for m in "${models[@]}"; do jsons+=("$gen/$m.json"); done
    needed=$(python3 -c '
import json, sys
names = []
for f in sys.argv[1:]:
    j = json.load(open(f))
    for n in j["runtime_features"] + j["step_runtime_features"]:
        if n not in names:
            names.append(n)
print(",".join("rill-runtime/" + n for n in names))' "${jsons[@]}")
    echo "runtime features: ${needed//rill-runtime\//}"
    cargo_features=(--no-default-features --features "$needed")
fi

# First-fit into images by embedded bytes, in name order; a model too large for any image is an error.
status=0
images=()
declare -A used=()
for m in "${models[@]}"; do
    need=$(($(stat -c %s "$gen/$m.rill") + $(stat -c %s "$gen/$m.input.bin")))
    arena=$(jq_field "$gen/$m.json" arena_bytes)
    if [ "$need" -gt "$flash_budget" ] || [ "$arena" -gt "$ram_budget" ]; then
        echo "mcu.sh: $m needs $need B of flash and $arena B of arena, more than one image holds" >&2
        status=1
        continue
    fi
    placed=
    for k in "${!images[@]}"; do
        if [ $((used[$k] + need)) -le "$flash_budget" ]; then placed=$k; break; fi
    done
    if [ -z "$placed" ]; then placed=${#images[@]}; images+=(""); used[$placed]=0; fi
    images[placed]+=" $m"
    used[$placed]=$((used[$placed] + need))
    mkdir -p "$gen/image$placed"
    ln -f "$gen/$m.rill" "$gen/$m.input.bin" "$gen/image$placed/"
done

step "firmware/qemu-m4 ($profile) under QEMU: ${#images[@]} image(s)"
case "$profile" in release) pdir=release ;; dev) pdir=debug ;; *) pdir=$profile ;; esac
log=$gen/mcu.log
: >"$log"
for k in "${!images[@]}"; do
    echo "image$k:${images[k]}"
    # Its own target dir: the firmware is a separate workspace, whatever CARGO_TARGET_DIR says.
    (cd "$fw" && RILL_MODELS_DIR="$gen/image$k" cargo build -q --locked --profile "$profile" --target-dir "$fw/target" ${cargo_features[@]+"${cargo_features[@]}"})
    cp "$fw/target/thumbv7em-none-eabihf/$pdir/rill-qemu-m4" "$gen/image$k.elf"
    set +e
    "$runner" "$gen/image$k.elf" >"$gen/image$k.log" 2>&1
    rc=$?
    set -e
    cat "$gen/image$k.log" | tee -a "$log"
    [ $rc -eq 0 ] || { echo "image$k: firmware exited with status $rc" >&2; status=1; }
done

step "results ($precision, $profile, $features runtime features; instructions counted under QEMU -icount shift=0, ±40 per reading)"
printf '| %-16s | %9s | %10s | %11s | %11s | %22s | %17s | %-11s | %17s | %-18s |\n' \
    model MACs "file bytes" "arena bytes" "state bytes" "instructions/inference" "instructions/MAC" "host == MCU" \
    "instructions/step" "stream host == MCU"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' ------------------ ----------: -----------: ------------: \
    ------------: -----------------------: ------------------: ------------- ------------------: --------------------
for m in "${models[@]}"; do
    read -r macs arena state < <(jq_field "$gen/$m.json" macs arena_bytes state_bytes)
    size=$(stat -c %s "$gen/$m.rill")
    host=$(python3 -c 'import sys, zlib; b = open(sys.argv[1], "rb").read(); print(f"crc32={zlib.crc32(b):08x} bytes={len(b)}")' "$gen/$m.output.bin")
    line=$(grep -E "^model=$m " "$log" || true)
    field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
    mcu_crc=$(field out_crc32) mcu_len=$(field out_bytes) n=$(field insns)
    host_crc=$(sed -n 's/.*crc32=\([^ ]*\).*/\1/p' <<<"$host")
    host_len=$(sed -n 's/.* bytes=\([^ ]*\).*/\1/p' <<<"$host")
    if [ -z "$mcu_crc" ]; then
        same="no result"; n=-; per=-; status=1
        [ -n "$line" ] && echo "$line" >&2
    else
        per=$(awk -v n="$n" -v m="$macs" 'BEGIN { if (m > 0) printf "%.2f", n / m; else print "-" }')
        if [ "$mcu_crc" = "$host_crc" ] && [ "$mcu_len" = "$host_len" ]; then
            same=yes
        else
            same=NO; status=1
            echo "$m: host $host / MCU crc32=$mcu_crc len=$mcu_len head=$(field head)" >&2
        fi
    fi
    step_n=- stream_same="-"
    if [ -f "$gen/$m.stream.bin" ]; then
        host_s=$(python3 -c 'import sys, zlib; b = open(sys.argv[1], "rb").read(); print(f"{zlib.crc32(b):08x} {len(b)}")' "$gen/$m.stream.bin")
        mcu_s="$(field stream_crc32) $(field stream_bytes)"
        step_n=$(field step_insns)
        if [ "$host_s" = "$mcu_s" ]; then
            stream_same=yes
        else
            stream_same=NO; status=1
            echo "$m: streamed host crc32/bytes $host_s / MCU $mcu_s" >&2
        fi
    fi
    printf '| %-16s | %9s | %10s | %11s | %11s | %22s | %17s | %-11s | %17s | %-18s |\n' \
        "$m" "$macs" "$size" "$arena" "$state" "$n" "$per" "$same" "${step_n:--}" "$stream_same"
done

# Flash = .vector_table + .text + .rodata (the embedded models and inputs plus the runtime's own
# constants) + .data's load image; RAM = .data + .bss (the arena, sized to the image's largest model)
# + .uninit, stack not included.
sizetool=
for t in "$(rustc --print sysroot)"/lib/rustlib/*/bin/llvm-size; do [ -x "$t" ] && sizetool=$t; done
for k in "${!images[@]}"; do
    elf=$gen/image$k.elf
    [ -f "$elf" ] || continue
    if [ -n "$sizetool" ]; then sizes=$("$sizetool" -A "$elf"); how="llvm-size -A"
    else sizes=$(python3 tools/elfsize.py "$elf"); how="tools/elfsize.py"; fi
    embedded=0
    for f in "$gen/image$k"/*; do embedded=$((embedded + $(stat -c %s "$f"))); done
    awk -v img="image$k" -v how="$how" -v emb="$embedded" '
        $1 == ".vector_table" || $1 == ".text" { code += $2 }
        $1 == ".rodata" { ro = $2 }
        $1 == ".data" { data = $2 }
        $1 == ".bss" || $1 == ".uninit" { bss += $2 }
        END { printf "\n%s (%s): flash %d B = code %d B (.vector_table + .text) + .rodata %d B (%d B embedded models + inputs, %d B runtime constants) + .data %d B; RAM %d B (.data + .bss + .uninit, stack not included)\n",
              img, how, code + ro + data, code, ro, emb, ro - emb, data, data + bss }' <<<"$sizes"
done
if [ $status -eq 0 ]; then
    echo "all ${#models[@]} models bit-identical on host and MCU"
else
    echo "FAILED: see the messages above" >&2
fi
exit $status
