#!/usr/bin/env python3
"""Writes the Keras test models into `tests/data/keras/` (see tests/tests/keras.rs).

    python -m venv venv && venv/bin/pip install -r tools/requirements-keras.txt
    TF_USE_LEGACY_KERAS=1 venv/bin/python tools/export_keras.py

Keras models as users build them (channels-last, `padding="causal"`, BatchNormalization,
Bidirectional, Embedding, MultiHeadAttention with a causal mask, LayerNormalization), with seeded random weights (biases and normalization statistics too, so that
nothing exported is trivially zero), exported the way Keras users export: `tf2onnx` from a
`tf.function` (Keras 2 API, `tf_keras`: tf2onnx rewrites its LSTM/GRU into ONNX LSTM/GRU nodes;
Keras 3's recurrent layers export as a `Loop`, which Rill does not run). Per case:

    tests/data/keras/<case>/model.onnx
    tests/data/keras/<case>/input_0.npy     one window, the graph input's shape
    tests/data/keras/<case>/output_0.npy    onnxruntime's output on it (the float reference)

Every run writes the same weights, inputs and outputs; only the names tf2onnx gives some folded
constants may differ.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf2onnx  # noqa: E402
import tf_keras as keras  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "keras"
L = keras.layers


def lstm(inp):
    x = L.LSTM(32)(inp)
    return L.Dense(4, activation="softmax")(x)


def gru(inp):
    x = L.GRU(24, return_sequences=True)(inp)
    x = L.GRU(24, return_sequences=True)(x)
    return L.Dense(1)(x)


def bilstm(inp):
    x = L.Bidirectional(L.LSTM(16))(inp)
    return L.Dense(3)(x)


def tcn(inp):
    # A causal, dilated residual block, channels last.
    x = L.Conv1D(16, 3, padding="causal", dilation_rate=1, activation="relu")(inp)
    x = L.Conv1D(16, 3, padding="causal", dilation_rate=2, activation="relu")(x)
    x = L.Add()([x, L.Conv1D(16, 1)(inp)])
    x = L.Conv1D(16, 3, padding="causal", dilation_rate=4)(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)
    return L.Conv1D(2, 1)(x)


def dscnn(inp):
    # A depthwise-separable keyword spotter on MFCC frames (Hello Edge's DS-CNN), channels last.
    x = L.Conv2D(16, (5, 3), strides=(2, 1), padding="same", use_bias=False)(inp)
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)
    for _ in range(2):
        x = L.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
        x = L.BatchNormalization()(x)
        x = L.ReLU()(x)
        x = L.Conv2D(16, 1, use_bias=False)(x)
        x = L.BatchNormalization()(x)
        x = L.ReLU()(x)
    x = L.GlobalAveragePooling2D()(x)
    return L.Dense(5, activation="softmax")(x)


def embedding_lstm(inp):
    # A character model: token ids in, the next token's logits at every step.
    x = L.Embedding(20, 8)(inp)
    x = L.LSTM(16, return_sequences=True)(x)
    return L.Dense(20)(x)


def attention(inp):
    # One causal self-attention block: MultiHeadAttention (two heads), residual,
    # LayerNormalization (which tf2onnx writes as a BatchNormalization over statistics it
    # computes in the graph).
    x = L.MultiHeadAttention(num_heads=2, key_dim=4)(inp, inp, use_causal_mask=True)
    x = L.LayerNormalization()(L.Add()([inp, x]))
    return L.Dense(3)(x)


CASES = {
    "lstm_classifier": (lstm, (50, 6)),
    "gru_sequence": (gru, (40, 3)),
    "bilstm_classifier": (bilstm, (30, 5)),
    "tcn_causal": (tcn, (64, 4)),
    "dscnn_kws": (dscnn, (49, 10, 1)),
    "embedding_lstm": (embedding_lstm, (16,)),
    "attention_mha": (attention, (10, 8)),
}


def randomize(model, rng):
    """Biases, BN statistics and scales away from their (zero / one) initial values."""
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        names = [w.name for w in layer.weights]
        new = []
        for name, w in zip(names, weights):
            if "moving_variance" in name:
                w = rng.uniform(0.5, 2.0, w.shape)
            elif "gamma" in name:
                w = rng.uniform(0.5, 1.5, w.shape)
            elif any(k in name for k in ("bias", "beta", "moving_mean")):
                w = rng.normal(0.0, 0.2, w.shape)
            new.append(np.asarray(w, dtype=np.float32))
        layer.set_weights(new)


def export(case, build, shape, seed):
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    ids = build is embedding_lstm
    dtype = tf.int32 if ids else tf.float32
    inp = keras.Input(shape, batch_size=1, name="x", dtype=dtype)
    model = keras.Model(inp, build(inp))
    randomize(model, rng)
    spec = [tf.TensorSpec([1, *shape], dtype, name="x")]

    @tf.function(input_signature=spec)
    def forward(x):
        return model(x, training=False)

    proto, _ = tf2onnx.convert.from_function(forward, input_signature=spec, opset=17)
    # Reproducible bytes: no producer version or docstrings that change between runs.
    proto.producer_version = ""
    proto.graph.doc_string = ""
    d = OUT / case
    d.mkdir(parents=True)
    onnx.save(proto, d / "model.onnx")
    if ids:
        x = rng.integers(0, 20, (1, *shape)).astype(np.int32)
    else:
        x = rng.standard_normal((1, *shape)).astype(np.float32)
    sess = ort.InferenceSession(str(d / "model.onnx"), providers=["CPUExecutionProvider"])
    (y,) = sess.run(None, {sess.get_inputs()[0].name: x})
    # Token ids cross Rill's command line as int64 .npy.
    x = x.astype(np.int64) if ids else x
    np.save(d / "input_0.npy", x)
    np.save(d / "output_0.npy", y.astype(np.float32))
    ops = sorted({n.op_type for n in proto.graph.node})
    print(f"{case}: {list(x.shape)} -> {list(y.shape)}, ops {', '.join(ops)}")


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    for seed, (case, (build, shape)) in enumerate(CASES.items()):
        export(case, build, shape, seed)


if __name__ == "__main__":
    main()
