#!/usr/bin/env bash
# The demo: convert the shipped models to .rill, show what they cost, run them on the host with the
# same runtime the MCU uses, and compare with onnxruntime's recorded outputs.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked -p rill-cli
rill=${CARGO_TARGET_DIR:-target}/debug/rill
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
    printf '\n===== models/%s: int8, calibrated, vs float and ONNX on the held-out test set\n' "$m"
    "$rill" convert "models/$m/model.onnx" -o "$out/$m.int8.rill" --precision int8 \
        --calibration "models/$m/calib.npy"
    "$rill" verify "$out/$m.int8.rill" --onnx "models/$m/model.onnx" --data "models/$m/test.npy" \
        --labels "models/$m/labels.npy"
done
printf '\n===== models/airline_lstm: int8 forecast vs float vs the true passenger counts\n'
"$rill" convert models/airline_lstm/model.onnx -o "$out/airline_lstm.int8.rill" --precision int8 \
    --calibration models/airline_lstm/calib.npy >/dev/null
"$rill" verify "$out/airline_lstm.int8.rill" --onnx models/airline_lstm/model.onnx \
    --data models/airline_lstm/test.npy --labels models/airline_lstm/labels.npy \
    --layer-samples 0 --plot "$out/airline_lstm.png"
printf '\n===== models/kws_gru: int8 keyword spotter from raw audio: MFCC front end, model, detector\n'
"$rill" convert models/kws_gru/model.onnx -o "$out/kws_gru.int8.rill" --precision int8 \
    --calibration models/kws_gru/calib.npy --frontend models/kws_dscnn/frontend.json \
    --labels models/kws_gru/classes.json >/dev/null
"$rill" verify "$out/kws_gru.int8.rill" --onnx models/kws_gru/model.onnx --data models/kws_gru/test.npy \
    --labels models/kws_gru/labels.npy --layer-samples 0
printf '\nrill detect on models/kws_dscnn/demo.wav (time = when the detector fires):\n'
"$rill" detect "$out/kws_gru.int8.rill" models/kws_dscnn/demo.wav
printf 'truth (models/kws_dscnn/demo_truth.json, spoken from-to):\n'
tr -d ' \n' <models/kws_dscnn/demo_truth.json | sed 's/},{/}\n{/g' |
    sed -E 's/.*"keyword":"([^"]*)","start_s":([0-9.]*),"end_s":([0-9.]*).*/  \2-\3 s  \1/'
echo
printf 'flash and RAM of the model (the front end adds ~11 KiB of RAM):\n'
"$rill" inspect "$out/kws_gru.int8.rill" | grep -E '^(front end|labels)|file bytes|arena bytes|streaming'
