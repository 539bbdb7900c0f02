#!/usr/bin/env bash
# The demo: convert the shipped models to .rill, show what they cost, run them on the host with the
# same runtime the MCU uses, and compare with onnxruntime's recorded outputs.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked -p rill-cli
rill=target/debug/rill
out=out/demo
mkdir -p "$out"
for m in lstm_classifier gru_regressor tcn char_rnn; do
    printf '\n===== models/%s\n' "$m"
    "$rill" convert "models/$m/model.onnx" -o "$out/$m.rill" --precision f32
    "$rill" inspect "$out/$m.rill"
    "$rill" run "$out/$m.rill" --input "models/$m/input.npy" --output "$out/$m.out.npy" \
        --compare "models/$m/reference_output.npy"
done
for m in kws_dscnn motion_lstm; do
    printf '\n===== models/%s: converted vs ONNX on the held-out test set\n' "$m"
    "$rill" convert "models/$m/model.onnx" -o "$out/$m.rill" --precision f32 >/dev/null
    "$rill" verify "$out/$m.rill" --onnx "models/$m/model.onnx" --data "models/$m/test.npy" \
        --labels "models/$m/labels.npy"
done
