"""Shared helpers of the training scripts (train_kws.py, train_motion.py, train_airline.py):
ONNX export the way users do it, checks against onnxruntime, and the common files of a model directory.
"""
from __future__ import annotations

import collections
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
MAX_DIFF = 1e-4


def export(model: nn.Module, x: torch.Tensor, path: Path) -> str:
    """torch.onnx.export with the dynamo exporter at opset 18; the TorchScript exporter (opset 17) only if that fails."""
    model.eval()
    try:
        torch.onnx.export(model, (x,), str(path), dynamo=True, external_data=False, opset_version=18)
        return "torch.onnx.export(..., dynamo=True, external_data=False, opset_version=18)"
    except Exception as e:  # noqa: BLE001
        print(f"  dynamo export failed ({type(e).__name__}: {e}); falling back to the TorchScript exporter")
        torch.onnx.export(model, (x,), str(path), dynamo=False, opset_version=17, input_names=["x"],
                          output_names=["y"])
        return (f"torch.onnx.export(..., dynamo=False, opset_version=17) -- the TorchScript exporter, because the "
                f"dynamo exporter failed: {type(e).__name__}")


def ort_session(path: Path) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def describe(m: onnx.ModelProto) -> list[str]:
    lines = []
    for n in m.graph.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute if a.type != onnx.AttributeProto.TENSOR}
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in attrs.items()}
        lines.append(f"{n.op_type}({', '.join(n.input)}) -> {', '.join(n.output)}" + (f"  {attrs}" if attrs else ""))
    return lines


def shape_of(vi) -> list:
    return [d.dim_value if d.HasField("dim_value") else d.dim_param for d in vi.type.tensor_type.shape.dim]


def op_counts(m: onnx.ModelProto) -> dict[str, int]:
    return dict(collections.Counter(n.op_type for n in m.graph.node))


UNUSUAL = {
    "BatchNormalization": "BatchNormalization left unfused (eval mode; foldable into the preceding Conv)",
    "Pad": "explicit Pad node(s)",
    "Shape": "Shape node(s) (dynamic shape chain)",
    "Gather": "Gather node(s)",
    "Slice": "Slice node(s)",
    "Loop": "Loop (recurrence unrolled into a loop!)",
    "Scan": "Scan (recurrence as a scan!)",
    "ReduceMean": "ReduceMean (global average pool as a reduction)",
    "Expand": "Expand node(s)",
    "ConstantOfShape": "ConstantOfShape node(s)",
    "Split": "Split node(s)",
    "Squeeze": "Squeeze node(s)",
    "Unsqueeze": "Unsqueeze node(s)",
    "Concat": "Concat node(s)",
    "Transpose": "Transpose node(s)",
    "Reshape": "Reshape node(s)",
}


def unusual(m: onnx.ModelProto) -> list[str]:
    ops = op_counts(m)
    return [f"{UNUSUAL[k]}: {ops[k]}" for k in UNUSUAL if k in ops]


class Exported:
    """Exports `model`, checks it, runs onnxruntime on x and on every test sample and compares with PyTorch."""

    def __init__(self, model: nn.Module, x: np.ndarray, test: np.ndarray, path: Path, expect: dict | None = None,
                 tol: float = MAX_DIFF):
        t0 = time.time()
        model.eval()
        self.exporter = export(model, torch.from_numpy(x), path)
        m = onnx.load(str(path))
        onnx.checker.check_model(m, full_check=True)
        self.model = m
        self.ops = op_counts(m)
        assert not {"Loop", "Scan"} & set(self.ops), f"recurrence exported as a loop: {self.ops}"
        for op, count in (expect or {}).items():
            assert self.ops.get(op, 0) == count, f"expected {count} {op} node(s), got {self.ops}"
        self.inputs = [(i.name, shape_of(i)) for i in m.graph.input]
        self.outputs = [(o.name, shape_of(o)) for o in m.graph.output]
        assert len(self.inputs) == 1 and self.inputs[0][1] == list(x.shape), self.inputs
        sess = ort_session(path)
        self.in_name = sess.get_inputs()[0].name
        self.ref = sess.run(None, {self.in_name: x})[0]
        self.test_ref = np.stack([sess.run(None, {self.in_name: s})[0] for s in test])
        with torch.no_grad():
            pt = model(torch.from_numpy(x)).numpy()
            pt_test = np.stack([model(torch.from_numpy(s)).numpy() for s in test])
        self.diff = float(max(np.abs(pt - self.ref).max(), np.abs(pt_test - self.test_ref).max()))
        assert self.diff < tol, f"onnxruntime and PyTorch differ by {self.diff}"
        self.sess = sess
        self.opset = m.opset_import[0].version
        self.ir = m.ir_version
        print(f"  exported with {self.exporter}: opset {self.opset}, IR {self.ir}, {len(m.graph.node)} nodes")
        print(f"  inputs {self.inputs} outputs {self.outputs}")
        print(f"  op types: {self.ops}")
        for u in unusual(m):
            print(f"  note: {u}")
        print(f"  onnxruntime vs PyTorch on input + {len(test)} test samples: max abs diff {self.diff:.2e} "
              f"({time.time() - t0:.1f}s)")

    def run(self, xs: np.ndarray) -> np.ndarray:
        """onnxruntime on samples stacked on a leading axis, each of the model's input shape."""
        return np.stack([self.sess.run(None, {self.in_name: s})[0] for s in xs])

    def exporter_line(self) -> str:
        return (f"- exporter: `{self.exporter}` (torch {torch.__version__.split('+')[0]}, ONNX opset {self.opset}, IR "
                f"version {self.ir}), then `onnx.checker.check_model(full_check=True)`.\n"
                f"- onnxruntime {ort.__version__} vs PyTorch on `input.npy` and every `test.npy` sample: max abs diff "
                f"{self.diff:.1e}.")

    def graph_section(self) -> str:
        lines = describe(self.model)
        ops = ", ".join(f"{k} x{v}" for k, v in sorted(self.ops.items()))
        notes = unusual(self.model)
        txt = f"## Exported graph ({len(lines)} nodes)\n\nOp types: {ops}.\n\n"
        txt += "\n".join(f"    {ln}" for ln in lines) + "\n"
        return txt

    def save(self, d: Path, x: np.ndarray, calib: np.ndarray, test: np.ndarray):
        np.save(d / "input.npy", x)
        np.save(d / "reference_output.npy", self.ref)
        np.save(d / "calib.npy", calib)
        np.save(d / "test.npy", test)
        np.save(d / "test_reference.npy", self.test_ref)


def files_section(x, ref, calib, test, test_ref, extra: str = "") -> str:
    dt = "int64" if x.dtype == np.int64 else "float32"
    return f"""## Files

- `model.onnx`: the exported model, weights inline.
- `input.npy`: one test input {dt} {list(x.shape)}; `reference_output.npy`: onnxruntime's output for it {list(ref.shape)}.
- `calib.npy`: {calib.shape[0]} representative inputs {list(calib.shape)} (sample axis first, each sample has the model's input shape), for calibration.
- `test.npy`: {test.shape[0]} held-out inputs {list(test.shape)}; `test_reference.npy`: onnxruntime's outputs for them, {list(test_ref.shape)}.
{extra}"""


def dir_sizes(d: Path) -> str:
    sizes = {f.name: f.stat().st_size for f in sorted(d.iterdir()) if f.is_file()}
    total = sum(sizes.values())
    return f"{total / 1024:.0f} KiB: " + ", ".join(f"{k} {v / 1024:.1f}" for k, v in sizes.items())
