#!/usr/bin/env python3
"""Writes ONNX's own node conformance cases, prepared for Rill, into `tests/data/onnx-node/`.

    python tools/gen_onnx_node_cases.py            # needs tools/requirements.txt

The `onnx` wheel ships no node test data, but `onnx.backend.test.case.node.collect_testcases()` rebuilds
every case (model + inputs + expected outputs) in a few seconds. For each selected case this script writes

    tests/data/onnx-node/<case>/model.onnx
    tests/data/onnx-node/<case>/input_<i>.npy    the inputs that remain graph inputs, in graph-input order
    tests/data/onnx-node/<case>/output_<j>.npy   the expected outputs of data_sets[0], in graph-output order

and one `tests/data/onnx-node/manifest.json` (a list of {name, op, inputs, outputs, frozen,
ort_max_abs_err, note}).

In the ONNX cases the weights are graph inputs; Rill's converter needs them as constants, so they are
"frozen": moved into initializers and removed from graph.input (see FREEZE_POSITIONS / FREEZE_NAMES).
The frozen model is then run with onnxruntime and its max abs error against the expected outputs is
recorded. A few cases ONNX lacks (GRU with linear_before_reset=1, causal/dilated/grouped convolutions, ...)
are generated here as `test_rill_*`, with onnxruntime's outputs as the expected values, cross-checked
against onnx's reference evaluator.

The output is deterministic: running the script twice gives byte-identical files.
"""
from __future__ import annotations

import json
import re
import shutil
import sys
import warnings
from collections import Counter, OrderedDict
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "onnx-node"

SUPPORTED_OPS = set(
    """LSTM GRU RNN Conv MaxPool AveragePool GlobalAveragePool GlobalMaxPool Gemm MatMul Gather Relu LeakyRelu
    Sigmoid HardSigmoid Tanh Gelu Softmax LogSoftmax Add Sub Mul Div Concat LayerNormalization ReduceMean ReduceSum
    ReduceMax Pow Sqrt Reciprocal Neg Cast Exp Log BatchNormalization Reshape Flatten Squeeze Unsqueeze Transpose
    Slice Shape Constant ConstantOfShape Identity Erf""".split()
)

# Node input positions that must be constants for Rill: they are frozen into initializers whenever they are
# graph inputs. Everything else (X of a recurrent cell, data inputs of elementwise ops, Concat, Pow, the
# indices of Gather, ...) stays a runtime input.
FREEZE_POSITIONS = {
    "LSTM": {1, 2, 3, 4, 5, 6, 7},  # W R B sequence_lens initial_h initial_c P
    "GRU": {1, 2, 3, 4, 5},  # W R B sequence_lens initial_h
    "RNN": {1, 2, 3, 4, 5},
    "Conv": {1, 2},  # W B
    "Gemm": {1, 2},  # B C
    "MatMul": {1},  # B
    "BatchNormalization": {1, 2, 3, 4},  # scale B input_mean input_var
    "LayerNormalization": {1, 2},  # Scale B
    "Gather": {0},  # data (indices stay a runtime int64 input)
    "Reshape": {1},  # shape
    "Squeeze": {1},  # axes
    "Unsqueeze": {1},  # axes
    "Slice": {1, 2, 3, 4},  # starts ends axes steps
    "ReduceMean": {1},  # axes
    "ReduceSum": {1},
    "ReduceMax": {1},
}
# For multi-node (`_expanded`, function bodies inlined) graphs the weights are recognised by name.
FREEZE_NAMES = {"LayerNormalization": {"W", "Scale", "B"}}

ALLOWED_DTYPES = {np.dtype(np.float32), np.dtype(np.int64)}

# (family, regex over case names). A case belongs to the first family whose regex matches.
FAMILIES = [
    ("recurrent", r"^test_(lstm|gru|simple_rnn|rnn)_"),
    ("conv", r"^test_(basic_conv_with(out)?_padding|conv_with_.*|conv_1d.*|conv_.*group.*)$"),
    ("pool", r"^test_(maxpool|averagepool)_[123]d_|^test_global(average|max)pool(_precomputed)?$"),
    ("gemm", r"^test_gemm_"),
    ("matmul", r"^test_matmul_(2d|3d|4d)$"),
    ("softmax", r"^test_(log)?softmax_"),
    ("layer_norm", r"^test_layer_normalization_"),
    ("gather", r"^test_gather_(0|1|2d_indices|negative_indices)$"),
    (
        "activation",
        r"^test_(relu|leakyrelu|leakyrelu_default|leakyrelu_example|sigmoid|sigmoid_example|hardsigmoid"
        r"|hardsigmoid_default|hardsigmoid_example|tanh|tanh_example|gelu_.*)$",
    ),
    ("elementwise", r"^test_(add|add_bcast|sub|sub_bcast|sub_example|mul|mul_bcast|mul_example|div|div_bcast|div_example)$"),
    ("concat", r"^test_concat_"),
    ("reshape", r"^test_reshape_"),
    ("flatten", r"^test_flatten_"),
    ("squeeze", r"^test_(un)?squeeze"),
    ("transpose", r"^test_transpose_(default$|all_permutations_)"),
    ("batchnorm", r"^test_batchnorm_"),
    ("reduce", r"^test_reduce_mean_"),
    ("unary", r"^test_(sqrt|sqrt_example|reciprocal|reciprocal_example|neg|neg_example|erf|cast_FLOAT_to_FLOAT)$"),
    ("pow", r"^test_pow(_|$)"),
    ("slice", r"^test_slice"),
]

# Names the brief asks for explicitly: a warning is printed for each one the installed onnx lacks.
REQUESTED = """
test_lstm_defaults test_lstm_with_initial_bias test_lstm_with_peepholes test_lstm_batchwise test_gru_defaults
test_gru_seq_length test_gru_with_initial_bias test_gru_batchwise test_simple_rnn_defaults
test_simple_rnn_with_initial_bias test_rnn_seq_length test_simple_rnn_batchwise
test_basic_conv_with_padding test_basic_conv_without_padding test_conv_with_strides_padding
test_conv_with_strides_no_padding test_conv_with_strides_and_asymmetric_padding test_conv_with_autopad_same
test_globalaveragepool test_globalaveragepool_precomputed test_globalmaxpool test_globalmaxpool_precomputed
test_matmul_2d test_matmul_3d test_matmul_4d test_gather_0 test_gather_1 test_gather_2d_indices
test_gather_negative_indices test_relu test_leakyrelu test_leakyrelu_default test_leakyrelu_example test_sigmoid
test_sigmoid_example test_hardsigmoid test_hardsigmoid_default test_hardsigmoid_example test_tanh test_tanh_example
test_gelu_default_1 test_gelu_default_2 test_gelu_tanh_1 test_gelu_tanh_2 test_add test_add_bcast test_sub
test_sub_bcast test_sub_example test_mul test_mul_bcast test_mul_example test_div test_div_bcast test_div_example
test_transpose_default test_batchnorm_example test_batchnorm_epsilon test_sqrt test_reciprocal test_neg test_pow
test_cast_FLOAT_to_FLOAT test_slice test_slice_default_axes test_slice_default_steps
""".split()


def attr(node: onnx.NodeProto, name: str, default=None):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def family_op(name: str, model: onnx.ModelProto) -> str:
    """The op a case tests: the single node's op, or for `_expanded` graphs the op whose body was inlined."""
    ops = [n.op_type for n in model.graph.node]
    if len(ops) == 1:
        return ops[0]
    for prefix, op in [
        ("test_layer_normalization_", "LayerNormalization"),
        ("test_logsoftmax_", "LogSoftmax"),
        ("test_softmax_", "Softmax"),
        ("test_gelu_", "Gelu"),
        ("test_hardsigmoid", "HardSigmoid"),
        ("test_leakyrelu", "LeakyRelu"),
        ("test_relu", "Relu"),
    ]:
        if name.startswith(prefix):
            return op
    return "+".join(sorted(set(ops)))


def skip_reason(name: str, model: onnx.ModelProto, inputs, outputs) -> str | None:
    g = model.graph
    ops = {n.op_type for n in g.node}
    bad = sorted(ops - SUPPORTED_OPS)
    if bad:
        return f"uses op(s) outside Rill's list: {', '.join(bad)}"
    for n in g.node:
        if attr(n, "training_mode", 0):
            return "training_mode=1"
        if n.op_type == "MaxPool" and (len([o for o in n.output if o]) > 1 or attr(n, "storage_order") is not None):
            return "MaxPool with an indices output / storage_order"
        if n.op_type in ("MaxPool", "AveragePool") and len(attr(n, "kernel_shape", [])) == 3:
            return "3-D pooling (only 1-D/2-D pools are in scope)"
        if n.op_type in ("LSTM", "GRU", "RNN") and len(n.input) > 4 and n.input[4]:
            seq_lens = inputs[[i.name for i in g.input].index(n.input[4])]
            x = inputs[0]
            steps = x.shape[1] if attr(n, "layout", 0) else x.shape[0]
            if not np.all(seq_lens == steps):
                return "variable-length sequence_lens"
        if n.op_type == "Pow" and any(t.dtype != np.float32 for t in inputs):
            return "integer or mixed-type Pow (only float Pow is in scope)"
    for vi, t in list(zip(g.input, inputs)) + list(zip(g.output, outputs)):
        if t.dtype not in ALLOWED_DTYPES and not (t.dtype == np.int32 and vi.name == "sequence_lens"):
            return f"dtype {t.dtype} ({vi.name})"
        if t.size == 0 and vi.name != "axes":  # an empty Reduce `axes` is dropped by freeze()
            return f"zero-size tensor {vi.name} {list(t.shape)}"
    return None


def freeze(name: str, model: onnx.ModelProto, inputs) -> tuple[onnx.ModelProto, list[str], list[str], list[str]]:
    """Moves the weight/shape inputs into initializers. Returns (model, runtime input names, frozen names, notes)."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    graph_inputs = [i.name for i in g.input]
    values = dict(zip(graph_inputs, inputs))
    to_freeze: set[str] = set()
    for n in g.node:
        for pos in FREEZE_POSITIONS.get(n.op_type, ()):
            if pos < len(n.input) and n.input[pos] in values:
                to_freeze.add(n.input[pos])
    if len(g.node) > 1:
        to_freeze |= FREEZE_NAMES.get(family_op(name, model), set()) & set(values)
    notes = []
    # An empty `axes` of a Reduce op means "all axes" (noop_with_empty_axes=0), exactly as an absent one:
    # drop it rather than writing a zero-size initializer.
    dropped = set()
    for n in g.node:
        if n.op_type.startswith("Reduce") and len(n.input) > 1 and n.input[1] in to_freeze:
            if values[n.input[1]].size == 0 and not attr(n, "noop_with_empty_axes", 0):
                dropped.add(n.input[1])
                del n.input[1:]
                notes.append("empty axes input removed (same meaning: reduce over all axes)")
    frozen = [i for i in graph_inputs if i in to_freeze]
    for i in frozen:
        if i not in dropped:
            g.initializer.append(numpy_helper.from_array(values[i], i))
    keep = [vi for vi in g.input if vi.name not in to_freeze]
    del g.input[:]
    g.input.extend(keep)
    return m, [vi.name for vi in keep], frozen, notes


def ort_run(model: onnx.ModelProto, feeds: dict) -> list[np.ndarray]:
    ort.set_default_logger_severity(4)  # failures are reported through the exception
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return sess.run([o.name for o in model.graph.output], feeds)


def max_abs_err(got: list[np.ndarray], expected: list[np.ndarray]) -> float:
    err = 0.0
    for a, b in zip(got, expected):
        if a.shape != b.shape:
            raise ValueError(f"shape {a.shape} vs expected {b.shape}")
        if a.size:
            err = max(err, float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))))
    return err


def write_case(name, op, model, runtime_names, runtime_values, expected, frozen, note, ort_err):
    d = OUT / name
    d.mkdir(parents=True)
    onnx.checker.check_model(model)
    (d / "model.onnx").write_bytes(model.SerializeToString())
    for i, x in enumerate(runtime_values):
        np.save(d / f"input_{i}.npy", np.array(x, order="C"))  # keeps 0-d arrays 0-d
    for j, y in enumerate(expected):
        np.save(d / f"output_{j}.npy", np.array(y, order="C"))
    return OrderedDict(
        name=name,
        op=op,
        inputs=runtime_names,
        outputs=[o.name for o in model.graph.output],
        frozen=frozen,
        ort_max_abs_err=ort_err,
        note=note,
    )


# ----------------------------------------------------------------------------------------------------------
# Cases ONNX does not have, generated here (expected outputs = onnxruntime, checked with onnx.reference).

RILL_OPSET = 17
RILL_IR = 8


def _rill_model(name, nodes, x: np.ndarray, inits: dict, outputs: list[str]) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, list(x.shape))],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
        initializer=[numpy_helper.from_array(v.astype(np.float32), k) for k, v in inits.items()],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", RILL_OPSET)], producer_name="rill-gen")
    m.ir_version = RILL_IR
    m = onnx.shape_inference.infer_shapes(m, strict_mode=True)
    return m


def rill_cases():
    """Yields (name, model, x, note)."""
    seq, batch, inp, hid = 5, 2, 3, 4
    gates = {"lstm": 4, "gru": 3, "rnn": 1}
    ops = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}
    variants = []
    for cell in ("lstm", "gru", "rnn"):
        for direction in ("reverse", "bidirectional"):
            variants.append((cell, direction, 0, 0))
            if cell == "gru":
                variants.append((cell, direction, 1, 0))
    variants.append(("gru", "forward", 1, 0))  # what PyTorch exports: linear_before_reset=1
    for k, (cell, direction, lbr, layout) in enumerate(variants):
        rng = np.random.default_rng(1000 + k)
        dirs = 2 if direction == "bidirectional" else 1
        g = gates[cell]
        inits = {
            "W": rng.normal(0, 0.5, (dirs, g * hid, inp)),
            "R": rng.normal(0, 0.5, (dirs, g * hid, hid)),
            "B": rng.normal(0, 0.3, (dirs, 2 * g * hid)),
            "initial_h": rng.normal(0, 0.5, (dirs, batch, hid)),
        }
        node_inputs = ["X", "W", "R", "B", "", "initial_h"]
        outputs = ["Y", "Y_h"]
        if cell == "lstm":
            inits["initial_c"] = rng.normal(0, 0.5, (dirs, batch, hid))
            node_inputs.append("initial_c")
            outputs.append("Y_c")
        attrs = {"hidden_size": hid, "direction": direction}
        if cell == "gru":
            attrs["linear_before_reset"] = lbr
        x = rng.normal(0, 1, (seq, batch, inp)).astype(np.float32)
        name = f"test_rill_{cell}_{direction}" + ("_lbr" if lbr else "")
        node = helper.make_node(ops[cell], node_inputs, outputs, **attrs)
        note = f"generated: {ops[cell]} direction={direction}"
        if cell == "gru":
            note += f" linear_before_reset={lbr}"
        note += f", seq {seq} batch {batch} input {inp} hidden {hid}, W/R/B/initial_h" + ("/initial_c" if cell == "lstm" else "")
        yield name, _rill_model(name, [node], x, inits, outputs), x, note

    # Conv 1-D, causal (left pad only), dilated.
    rng = np.random.default_rng(2000)
    x = rng.normal(0, 1, (1, 2, 10)).astype(np.float32)
    inits = {"W": rng.normal(0, 0.5, (3, 2, 3)), "B": rng.normal(0, 0.3, (3,))}
    node = helper.make_node("Conv", ["X", "W", "B"], ["Y"], kernel_shape=[3], pads=[4, 0], dilations=[2])
    yield (
        "test_rill_conv1d_dilated_causal",
        _rill_model("test_rill_conv1d_dilated_causal", [node], x, inits, ["Y"]),
        x,
        "generated: Conv 1-D k3 dilation 2 pads [4,0] (causal), 2->3 channels, T 10",
    )
    # Conv 1-D depthwise.
    rng = np.random.default_rng(2001)
    x = rng.normal(0, 1, (1, 4, 12)).astype(np.float32)
    inits = {"W": rng.normal(0, 0.5, (4, 1, 3)), "B": rng.normal(0, 0.3, (4,))}
    node = helper.make_node("Conv", ["X", "W", "B"], ["Y"], kernel_shape=[3], pads=[1, 1], group=4)
    yield (
        "test_rill_conv1d_depthwise",
        _rill_model("test_rill_conv1d_depthwise", [node], x, inits, ["Y"]),
        x,
        "generated: Conv 1-D depthwise (group 4 = channels) k3 pads [1,1], T 12",
    )
    # Conv 2-D, 2 groups.
    rng = np.random.default_rng(2002)
    x = rng.normal(0, 1, (1, 4, 6, 6)).astype(np.float32)
    inits = {"W": rng.normal(0, 0.5, (6, 2, 3, 3)), "B": rng.normal(0, 0.3, (6,))}
    node = helper.make_node("Conv", ["X", "W", "B"], ["Y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=2)
    yield (
        "test_rill_conv2d_groups",
        _rill_model("test_rill_conv2d_groups", [node], x, inits, ["Y"]),
        x,
        "generated: Conv 2-D group 2, 4->6 channels, k3x3 pads 1, 6x6",
    )


# ----------------------------------------------------------------------------------------------------------


def main() -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # collect_testcases() warns about overflowing casts in cases we skip
        from onnx.backend.test.case.node import collect_testcases

        cases = {c.name: c for c in collect_testcases()}

    for r in REQUESTED:
        if r not in cases:
            print(f"warning: {r} is not among the installed onnx's node cases (onnx {onnx.__version__})")

    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)

    manifest = []
    written = Counter()
    skipped: list[tuple[str, str]] = []
    ort_problems: list[str] = []

    for family, pattern in FAMILIES:
        rx = re.compile(pattern)
        for name in sorted(n for n in cases if rx.search(n)):
            if any(re.search(p, name) for _, p in FAMILIES[: FAMILIES.index((family, pattern))]):
                continue  # claimed by an earlier family
            case = cases[name]
            inputs, expected = case.data_sets[0]
            inputs = [np.asarray(x) for x in inputs]
            expected = [np.asarray(y) for y in expected]
            reason = skip_reason(name, case.model, inputs, expected)
            if reason:
                skipped.append((name, reason))
                continue
            model, runtime_names, frozen, notes = freeze(name, case.model, inputs)
            by_name = dict(zip([i.name for i in case.model.graph.input], inputs))
            runtime_values = [by_name[n] for n in runtime_names]
            node0 = model.graph.node[0]
            if len(model.graph.node) > 1:
                notes.append("expanded function body: " + " ".join(sorted({n.op_type for n in model.graph.node})))
            if any(attr(n, "ceil_mode", 0) for n in model.graph.node):
                notes.append("ceil_mode=1")
            if node0.op_type in ("LSTM", "GRU", "RNN") and "sequence_lens" in frozen:
                notes.append("sequence_lens frozen as an int32 initializer (all lengths = full sequence)")
            ort_err = None
            feeds = dict(zip(runtime_names, runtime_values))
            try:
                got = ort_run(model, feeds)
                ort_err = max_abs_err(got, expected)
                if ort_err > 1e-4:
                    close = all(np.allclose(a, b, rtol=1e-3, atol=1e-4) for a, b in zip(got, expected))
                    ort_problems.append(
                        f"{name}: onnxruntime differs from the expected outputs by {ort_err:.3g} (abs)"
                        + (", within rtol 1e-3" if close else ", NOT within rtol 1e-3 / atol 1e-4")
                    )
            except Exception as e:  # noqa: BLE001 - record and keep the case
                msg = " ".join(str(e).split())[:240]
                notes.append(f"onnxruntime failed: {msg}")
                # Fall back to onnx's reference evaluator so the frozen model is still checked.
                try:
                    ref = ReferenceEvaluator(model).run(None, feeds)
                    ref_err = max_abs_err([np.asarray(r) for r in ref], expected)
                    notes.append(f"onnx.reference on the frozen model differs by {ref_err:.2g}")
                except Exception as e2:  # noqa: BLE001
                    ref_err = None
                    notes.append("onnx.reference failed too: " + " ".join(str(e2).split())[:200])
                ort_problems.append(f"{name}: onnxruntime failed ({msg[:120]}...); onnx.reference err {ref_err}")
            manifest.append(
                write_case(name, family_op(name, case.model), model, runtime_names, runtime_values, expected, frozen,
                           "; ".join(notes), ort_err)
            )
            written[family] += 1

    for name, model, x, note in rill_cases():
        family = "recurrent" if "conv" not in name else "conv"
        outs = [o.name for o in model.graph.output]
        expected = ort_run(model, {"X": x})
        ref = ReferenceEvaluator(model).run(outs, {"X": x})
        ref_err = max_abs_err([np.asarray(r, np.float32) for r in ref], expected)
        note += f"; expected = onnxruntime, onnx.reference differs by {ref_err:.2g}"
        if ref_err > 1e-5:
            ort_problems.append(f"{name}: onnx.reference differs from onnxruntime by {ref_err:.3g}")
        op = model.graph.node[0].op_type
        manifest.append(write_case(name, op, model, ["X"], [x], expected, [], note, 0.0))
        written[family] += 1

    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")

    print(f"\nwrote {len(manifest)} cases to {OUT.relative_to(ROOT)}")
    for family, _ in FAMILIES:
        if written[family]:
            print(f"  {family:12s} {written[family]}")
    ops = Counter(c["op"] for c in manifest)
    print("per op: " + ", ".join(f"{k} {v}" for k, v in sorted(ops.items())))
    print(f"\nskipped {len(skipped)}:")
    for name, reason in skipped:
        print(f"  {name}: {reason}")
    print(f"\nonnxruntime checks: {len(ort_problems)} problem(s)")
    for p in ort_problems:
        print("  " + p)
    total = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    print(f"\ntotal size {total / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
