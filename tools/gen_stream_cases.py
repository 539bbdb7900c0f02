#!/usr/bin/env python3
"""Writes the streaming test models into `tests/data/stream/` (see tests/tests/streaming.rs).

    python tools/gen_stream_cases.py               # needs tools/requirements.txt

Small graphs built with onnx.helper, fixed seeded weights, one input sample each:

    tests/data/stream/<case>/model.onnx
    tests/data/stream/<case>/input_0.npy     one window, the graph input's shape
    tests/data/stream/<case>/output_0.npy    onnxruntime's output on it (the float reference)

Cases: pools over time with causal padding (max, average counting or not counting the padding,
1-D and 2-D with time on H or W), causal self-attention (one and two heads, a constant causal mask
of -1e4 above the diagonal), a TCN block with PyTorch TCNs' padded-then-chomped convs, and ones that
stay refused (a stride over time, attention without a
mask or with a mask that hides nothing).
The output is deterministic: running the script twice gives byte-identical files.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "stream"
T = 12


def const(name, a):
    return numpy_helper.from_array(np.asarray(a, dtype=np.float32), name)


def write(case, nodes, inits, x, out_shape):
    graph = helper.make_graph(
        nodes,
        case,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)], producer_name="rill-gen")
    model.ir_version = 9
    onnx.checker.check_model(model, full_check=True)
    d = OUT / case
    d.mkdir(parents=True)
    onnx.save(model, d / "model.onnx")
    np.save(d / "input_0.npy", x)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (y,) = sess.run(None, {"x": x})
    assert list(y.shape) == out_shape, (case, y.shape, out_shape)
    np.save(d / "output_0.npy", y)


def pools_1d(rng):
    c = 3
    x = rng.standard_normal((1, 2, T)).astype(np.float32)
    w = rng.standard_normal((c, 2, 2)).astype(np.float32) * 0.5
    nodes = [
        # A causal conv first, so the pools see a computed activation.
        helper.make_node("Conv", ["x", "w"], ["h"], kernel_shape=[2], pads=[1, 0], name="conv"),
        # onnxruntime wants pads below the kernel, so no dilated causal pool here (the kernel tests
        # cover dilation).
        helper.make_node("MaxPool", ["h"], ["m"], kernel_shape=[3], pads=[2, 0], name="max"),
        helper.make_node("AveragePool", ["m"], ["a"], kernel_shape=[3], pads=[2, 0], name="avg_excl"),
        helper.make_node(
            "AveragePool", ["a"], ["y"], kernel_shape=[4], pads=[3, 0], count_include_pad=1, name="avg_incl"
        ),
    ]
    write("pools_1d_causal", nodes, [const("w", w)], x, [1, c, T])


def pools_2d_time_on_h(rng):
    f = 6
    x = rng.standard_normal((1, 2, T, f)).astype(np.float32)
    nodes = [
        helper.make_node(
            "AveragePool", ["x"], ["a"], kernel_shape=[3, 2], strides=[1, 2], pads=[2, 0, 0, 0], name="avg_hw"
        ),
        # The whole frequency axis in one window, as the time axis of a step: time stays H.
        helper.make_node("MaxPool", ["a"], ["y"], kernel_shape=[2, 3], pads=[1, 0, 0, 0], name="max_hw"),
    ]
    write("pools_2d_time_on_h", nodes, [], x, [1, 2, T, 1])


def pools_2d_time_on_w(rng):
    f = 4
    x = rng.standard_normal((1, 2, f, T)).astype(np.float32)
    nodes = [
        helper.make_node(
            "AveragePool", ["x"], ["a"], kernel_shape=[2, 3], strides=[2, 1], pads=[0, 2, 0, 0], name="avg_fw"
        ),
        helper.make_node("MaxPool", ["a"], ["y"], kernel_shape=[1, 2], pads=[0, 1, 0, 0], name="max_fw"),
    ]
    write("pools_2d_time_on_w", nodes, [], x, [1, 2, 2, T])


def strided_pool(rng):
    x = rng.standard_normal((1, 2, T)).astype(np.float32)
    nodes = [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2], strides=[2], name="decimate")]
    write("refused_pool_stride_over_time", nodes, [], x, [1, 2, T // 2])


def attention(rng, case, heads, d=8, mask_value=-1e4, mask=True):
    """Causal self-attention over time: x [1, T, d] -> Q, K, V projections, scores Q K^T / sqrt(dh)
    plus a constant causal mask, softmax over keys, times V, output projection."""
    x = rng.standard_normal((1, T, d)).astype(np.float32)
    dh = d // heads
    w = {n: (rng.standard_normal((d, d)) / np.sqrt(d)).astype(np.float32) for n in ["wq", "wk", "wv", "wo"]}
    causal = np.triu(np.full((T, T), mask_value, np.float32), k=1)
    inits = [const(n, v) for n, v in w.items()]
    inits += [const("mask", causal), const("scale", np.float32(1 / np.sqrt(dh)))]
    if not mask:
        inits = [i for i in inits if i.name != "mask"]
    nodes = [helper.make_node("MatMul", ["x", n], [n[1]], name=f"proj_{n[1]}") for n in ["wq", "wk", "wv"]]
    if heads == 1:
        nodes += [helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 2, 1], name="k_t")]
        q, kt, v = "q", "kt", "v"
    else:
        inits.append(numpy_helper.from_array(np.array([1, T, heads, dh], np.int64), "split_shape"))
        inits.append(numpy_helper.from_array(np.array([1, T, d], np.int64), "merge_shape"))
        for n in "qkv":
            nodes.append(helper.make_node("Reshape", [n, "split_shape"], [n + "4"], name=f"split_{n}"))
        nodes.append(helper.make_node("Transpose", ["q4"], ["qh"], perm=[0, 2, 1, 3], name="q_heads"))
        nodes.append(helper.make_node("Transpose", ["k4"], ["kt"], perm=[0, 2, 3, 1], name="k_t"))
        nodes.append(helper.make_node("Transpose", ["v4"], ["vh"], perm=[0, 2, 1, 3], name="v_heads"))
        q, kt, v = "qh", "kt", "vh"
    nodes += [
        helper.make_node("MatMul", [q, kt], ["s"], name="scores"),
        helper.make_node("Mul", ["s", "scale"], ["ss"], name="scale_scores"),
        helper.make_node("Add", ["ss", "mask"], ["sm"], name="causal_mask"),
        helper.make_node("Softmax", ["sm" if mask else "ss"], ["p"], axis=-1, name="softmax"),
        helper.make_node("MatMul", ["p", v], ["o"], name="weighted_values"),
    ]
    if not mask:
        nodes = [n for n in nodes if n.name != "causal_mask"]
    if heads == 1:
        nodes.append(helper.make_node("MatMul", ["o", "wo"], ["y"], name="proj_out"))
    else:
        nodes.append(helper.make_node("Transpose", ["o"], ["ot"], perm=[0, 2, 1, 3], name="merge_t"))
        nodes.append(helper.make_node("Reshape", ["ot", "merge_shape"], ["om"], name="merge"))
        nodes.append(helper.make_node("MatMul", ["om", "wo"], ["y"], name="proj_out"))
    write(case, nodes, inits, x, [1, T, d])


def chomp_tcn(rng):
    """A TCN block as PyTorch TCNs write it (locuslab/TCN): each conv padded (k - 1) d on both
    sides, then its last (k - 1) d steps sliced off ("Chomp1d"), ReLU, and a residual."""
    c = 4
    x = rng.standard_normal((1, 3, T)).astype(np.float32)
    w1 = (rng.standard_normal((c, 3, 3)) * 0.5).astype(np.float32)
    w2 = (rng.standard_normal((c, c, 3)) * 0.5).astype(np.float32)
    b1, b2 = (rng.standard_normal(c).astype(np.float32) * 0.1 for _ in range(2))
    ends = lambda e: numpy_helper.from_array(np.array([-e], np.int64), f"end_{e}")  # noqa: E731
    inits = [const("w1", w1), const("b1", b1), const("w2", w2), const("b2", b2), ends(2), ends(4)]
    inits.append(numpy_helper.from_array(np.array([0], np.int64), "start"))
    inits.append(numpy_helper.from_array(np.array([2], np.int64), "time"))
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], kernel_shape=[3], pads=[2, 2], name="conv1"),
        helper.make_node("Slice", ["c1", "start", "end_2", "time"], ["h1"], name="chomp1"),
        helper.make_node("Relu", ["h1"], ["r1"], name="relu1"),
        helper.make_node(
            "Conv", ["r1", "w2", "b2"], ["c2"], kernel_shape=[3], dilations=[2], pads=[4, 4], name="conv2"
        ),
        helper.make_node("Slice", ["c2", "start", "end_4", "time"], ["h2"], name="chomp2"),
        helper.make_node("Relu", ["h2"], ["r2"], name="relu2"),
        helper.make_node("Add", ["r2", "r1"], ["y"], name="residual"),
    ]
    write("chomp_tcn", nodes, inits, x, [1, c, T])


def main():
    if OUT.exists():
        shutil.rmtree(OUT)
    rng = np.random.default_rng(20261123)
    pools_1d(rng)
    pools_2d_time_on_h(rng)
    pools_2d_time_on_w(rng)
    strided_pool(rng)
    attention(rng, "attention_1head_causal", 1)
    attention(rng, "attention_2head_causal", 2)
    attention(rng, "refused_attention_unmasked", 1, mask=False)
    # A "mask" that leaves every key visible to every query: not causal.
    attention(rng, "refused_attention_weak_mask", 1, mask_value=-1.0)
    chomp_tcn(rng)


if __name__ == "__main__":
    main()
