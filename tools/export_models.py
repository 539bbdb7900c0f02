#!/usr/bin/env python3
"""Builds, trains and exports the four example models in `models/`, the way users export them.

    pip install -r tools/requirements-train.txt
    python tools/export_models.py              # all four models
    python tools/export_models.py tcn char_rnn # only some
    python tools/export_models.py --make-corpus alice29.txt  # rebuild models/char_rnn/corpus.txt

torch is needed only to regenerate these files, never in CI. The three synthetic-data models are trained
for a few hundred steps so that their weights are not a pure initialisation; char_rnn is trained to a
held-out plateau on `models/char_rnn/corpus.txt`. Each is exported with

    torch.onnx.export(model, args, path, dynamo=True, external_data=False, opset_version=18)

(falling back to the TorchScript exporter, dynamo=False / opset 17, only if that fails; the model's README
says which one was used). For every model directory this writes model.onnx, input.npy, calib.npy (64
samples), test.npy (held-out samples: 32, char_rnn 64 with labels.npy), reference_output.npy and
test_reference.npy (onnxruntime's outputs) and README.md.
"""
from __future__ import annotations

import json
import math
import re
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
COMMAND = "python tools/export_models.py"

torch.set_num_threads(2)


# ---------------------------------------------------------------------------------------------------------
# 1. lstm_classifier: [1, 50, 6] IMU-like window -> 4 class logits.


class LstmClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(input_size=6, hidden_size=32, num_layers=1, batch_first=True)
        self.head = nn.Linear(32, 4)

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.head(y[:, -1, :])


def imu_batch(rng: np.random.Generator, n: int):
    """Four classes of noisy 6-channel sinusoids; the class sets the base frequency."""
    t = np.arange(50, dtype=np.float64)[None, :, None]
    labels = rng.integers(0, 4, n)
    base = np.array([0.5, 1.0, 1.75, 2.75])[labels][:, None, None]  # cycles per window
    freq = base * (1.0 + 0.08 * np.arange(6))[None, None, :] * rng.uniform(0.9, 1.1, (n, 1, 1))
    phase = rng.uniform(0, 2 * np.pi, (n, 1, 6))
    amp = rng.uniform(0.5, 1.5, (n, 1, 6))
    x = amp * np.sin(2 * np.pi * freq * t / 50 + phase) + rng.normal(0, 0.3, (n, 50, 6))
    return x.astype(np.float32), labels.astype(np.int64)


def train_lstm_classifier(model):
    rng = np.random.default_rng(11)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(250):
        x, y = imu_batch(rng, 64)
        loss = F.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
    x, y = imu_batch(np.random.default_rng(12), 512)
    with torch.no_grad():
        acc = (model(torch.from_numpy(x)).argmax(1).numpy() == y).mean()
    return f"250 Adam steps (batch 64, lr 1e-2), final loss {loss.item():.3f}, accuracy on 512 fresh samples {acc:.1%}"


def lstm_classifier_samples():
    x_cal, _ = imu_batch(np.random.default_rng(21), 256)
    x_in, _ = imu_batch(np.random.default_rng(22), 33)
    # 256 held-out windows: enough to tell 99% top-1 agreement from 97%.
    x_test, _ = imu_batch(np.random.default_rng(23), 256)
    return x_in[:1], x_cal[:, None], x_test[:, None]


# ---------------------------------------------------------------------------------------------------------
# 2. gru_regressor: [1, 40, 3] -> [1, 40, 1], a per-step regression.


class GruRegressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(input_size=3, hidden_size=24, num_layers=2, batch_first=True)
        self.head = nn.Linear(24, 1)

    def forward(self, x):
        y, _ = self.gru(x)
        return self.head(y)


def regression_batch(rng: np.random.Generator, n: int):
    """Random smooth-ish inputs; the target is an exponentially smoothed running sum of the channels."""
    x = rng.normal(0, 1, (n, 40, 3))
    x = 0.6 * x + 0.4 * np.roll(x, 1, axis=1)
    target = np.zeros((n, 40, 1))
    acc = np.zeros(n)
    for t in range(40):
        acc = 0.8 * acc + 0.2 * (x[:, t, 0] + 0.5 * x[:, t, 1] - x[:, t, 2])
        target[:, t, 0] = acc
    return x.astype(np.float32), target.astype(np.float32)


def train_gru_regressor(model):
    rng = np.random.default_rng(31)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(250):
        x, y = regression_batch(rng, 64)
        loss = F.mse_loss(model(torch.from_numpy(x)), torch.from_numpy(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
    x, y = regression_batch(np.random.default_rng(32), 512)
    with torch.no_grad():
        mse = F.mse_loss(model(torch.from_numpy(x)), torch.from_numpy(y)).item()
    return f"250 Adam steps (batch 64, lr 1e-2), final loss {loss.item():.4f}, MSE on 512 fresh samples {mse:.4f} (target variance {y.var():.3f})"


def gru_regressor_samples():
    x_cal, _ = regression_batch(np.random.default_rng(41), 64)
    x_test, _ = regression_batch(np.random.default_rng(42), 33)
    return x_test[:1], x_cal[:, None], x_test[1:, None]


# ---------------------------------------------------------------------------------------------------------
# 3. tcn: [1, 4, 64] (N, C, T) -> [1, 2, 64], causal dilated 1-D convolutions.


class CausalBlock(nn.Module):
    """Two causal dilated convolutions (left pad with F.pad) and a residual add, as in Bai et al. 2018."""

    def __init__(self, c_in, c_out, dilation, k=3):
        super().__init__()
        self.pad = (k - 1) * dilation
        self.conv1 = nn.Conv1d(c_in, c_out, k, dilation=dilation)
        self.conv2 = nn.Conv1d(c_out, c_out, k, dilation=dilation)
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else None

    def forward(self, x):
        h = F.relu(self.conv1(F.pad(x, (self.pad, 0))))
        h = self.conv2(F.pad(h, (self.pad, 0)))
        res = x if self.skip is None else self.skip(x)
        return F.relu(h + res)


class Tcn(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(CausalBlock(4, 16, 1), CausalBlock(16, 16, 2), CausalBlock(16, 16, 4))
        self.out = nn.Conv1d(16, 2, 1)

    def forward(self, x):
        return self.out(self.blocks(x))


def tcn_batch(rng: np.random.Generator, n: int):
    """Targets that need the causal receptive field: a moving average and a delayed difference."""
    x = rng.normal(0, 1, (n, 4, 64))
    s = x[:, 0] + x[:, 1]
    y0 = np.stack([np.convolve(r, np.ones(5) / 5)[:64] for r in s])  # causal mean over 5 steps
    y1 = np.zeros((n, 64))
    y1[:, 6:] = x[:, 2, :-6]
    y1 -= 0.5 * x[:, 3]
    return x.astype(np.float32), np.stack([y0, y1], 1).astype(np.float32)


def train_tcn(model):
    rng = np.random.default_rng(51)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    for _ in range(300):
        x, y = tcn_batch(rng, 32)
        loss = F.mse_loss(model(torch.from_numpy(x)), torch.from_numpy(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
    x, y = tcn_batch(np.random.default_rng(52), 256)
    with torch.no_grad():
        mse = F.mse_loss(model(torch.from_numpy(x)), torch.from_numpy(y)).item()
    return f"300 Adam steps (batch 32, lr 5e-3), final loss {loss.item():.4f}, MSE on 256 fresh samples {mse:.4f} (target variance {y.var():.3f})"


def tcn_samples():
    x_cal, _ = tcn_batch(np.random.default_rng(61), 256)
    x_test, _ = tcn_batch(np.random.default_rng(62), 33)
    return x_test[:1], x_cal[:, None], x_test[1:, None]


# ---------------------------------------------------------------------------------------------------------
# 4. char_rnn: token ids [1, 32] int64 -> next-character logits [1, 32, vocab].

CHAR_DIR = MODELS / "char_rnn"
SEQ = 32
CHAR_TRAIN_FRAC = 0.9
CHAR_STEPS = 3000


def corpus():
    text = (CHAR_DIR / "corpus.txt").read_text()
    vocab = sorted(set(text))
    ids = np.array([vocab.index(c) for c in text], dtype=np.int64)
    split = int(len(ids) * CHAR_TRAIN_FRAC)
    return vocab, ids[:split], ids[split:]


def make_corpus(raw_path: str) -> str:
    """Chapters I-III of Project Gutenberg's alice29.txt -> corpus text.

    Takes the text from the "CHAPTER I" heading up to the "CHAPTER IV" heading (or the end of the file), turns the
    ` opening quotes into ', drops the "* * *" separator lines and the Mouse's tail-shaped poem in chapter III
    (mostly whitespace layout), unwraps paragraphs into single lines (a hyphen at a line end joins without a
    space), collapses runs of spaces, keeps verse and headings (indented blocks) line by line, and separates
    paragraphs by a blank line.
    """
    text = Path(raw_path).read_text()
    start = text.index("CHAPTER I\n")
    end = text.find("CHAPTER IV")
    text = text[start:end if end >= 0 else len(text)]
    text = text.replace("`", "'")
    paras = re.split(r"\n\s*\n", text)
    out = []
    for p in paras:
        lines = [ln for ln in p.split("\n") if ln.strip()]
        if not lines or all(set(ln.strip()) <= {"*", " "} for ln in lines):
            continue
        if p.lstrip().startswith("'Fury said to a"):  # the tail-shaped poem
            continue
        if all(len(ln) - len(ln.lstrip()) >= 6 for ln in lines) or lines[0].strip().startswith("CHAPTER"):
            out.append("\n".join(re.sub(r" +", " ", ln.strip()) for ln in lines))
            continue
        s = ""
        for ln in lines:
            ln = ln.strip()
            if s.endswith("-") and not s.endswith("--") and s[-2:-1].isalpha():
                s += ln
            else:
                s += (" " if s else "") + ln
        out.append(re.sub(r" {2,}", " ", s))
    # chapter headings: "CHAPTER I\nDown the Rabbit-Hole" -> one line
    merged = []
    for p in out:
        if merged and merged[-1].startswith("CHAPTER") and "\n" not in merged[-1] and len(p) < 40:
            merged[-1] = f"{merged[-1]}. {p}"
        else:
            merged.append(p)
    return "\n\n".join(merged) + "\n"


class CharRnn(nn.Module):
    def __init__(self, vocab: int, dropout: float = 0.1):
        super().__init__()
        self.embed = nn.Embedding(vocab, 16)
        self.lstm = nn.LSTM(16, 64, batch_first=True)
        self.drop = nn.Dropout(dropout)  # identity in eval mode: not in the exported graph
        self.head = nn.Linear(64, vocab)

    def forward(self, tokens):
        y, _ = self.lstm(self.drop(self.embed(tokens)))
        return self.head(self.drop(y))


def windows(ids: np.ndarray, starts) -> np.ndarray:
    return np.stack([ids[s : s + SEQ + 1] for s in starts])


def char_cross_entropy(model, ids: np.ndarray) -> tuple[float, float]:
    """Mean next-char cross-entropy (nats) and accuracy over non-overlapping windows covering `ids`."""
    w = torch.from_numpy(windows(ids, np.arange(0, len(ids) - SEQ - 1, SEQ)))
    model.eval()
    with torch.no_grad():
        logits = model(w[:, :-1])
    model.train()
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), w[:, 1:].reshape(-1)).item()
    return ce, (logits.argmax(-1) == w[:, 1:]).float().mean().item()


def train_char_rnn(model):
    vocab, train_ids, held_ids = corpus()
    rng = np.random.default_rng(71)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1e-2)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=CHAR_STEPS, pct_start=0.1)
    for step in range(1, CHAR_STEPS + 1):
        w = torch.from_numpy(windows(train_ids, rng.integers(0, len(train_ids) - SEQ - 1, 64)))
        logits = model(w[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), w[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 500 == 0:
            print(f"  step {step}: held-out {char_cross_entropy(model, held_ids)[0]:.3f} nats/char", flush=True)
    (tr_ce, tr_acc), (held_ce, held_acc) = char_cross_entropy(model, train_ids), char_cross_entropy(model, held_ids)
    return (
        f"{CHAR_STEPS} AdamW steps (batch 64 windows of the first 90% of corpus.txt, one-cycle lr up to 1e-2, "
        f"weight decay 1e-2, dropout 0.1 on the embeddings and the LSTM output, gradient norm clipped at 1): "
        f"{tr_ce:.3f} nats/char on the training text (next-char accuracy {tr_acc:.1%}), {held_ce:.3f} on the "
        f"held-out last 10% ({held_acc:.1%}); uniform would be {math.log(len(vocab)):.3f}"
    )


def char_rnn_samples():
    """input, calibration (64 training windows), test (64 held-out windows) and the test's next-char labels."""
    _, train_ids, held_ids = corpus()
    rng = np.random.default_rng(81)
    cal = windows(train_ids, np.sort(rng.choice(len(train_ids) - SEQ - 1, 64, replace=False)))[:, :SEQ]
    test = windows(held_ids, np.linspace(0, len(held_ids) - SEQ - 1, 65).astype(int))
    return test[:1, :SEQ], cal[:, None], test[1:, None, :SEQ], test[1:, 1:]


# ---------------------------------------------------------------------------------------------------------


def export(model: nn.Module, x: torch.Tensor, path: Path) -> str:
    try:
        torch.onnx.export(model, (x,), str(path), dynamo=True, external_data=False, opset_version=18)
        exporter = "torch.onnx.export(..., dynamo=True, external_data=False, opset_version=18)"
    except Exception as e:  # noqa: BLE001
        print(f"  dynamo export failed ({type(e).__name__}: {e}); falling back to the TorchScript exporter")
        torch.onnx.export(model, (x,), str(path), dynamo=False, opset_version=17, input_names=["x"],
                          output_names=["y"])
        exporter = (f"torch.onnx.export(..., dynamo=False, opset_version=17) -- the TorchScript exporter, because "
                    f"the dynamo exporter failed: {type(e).__name__}")
    return exporter


def ort_session(path: Path):
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


SPECS = {
    "lstm_classifier": dict(
        build=LstmClassifier,
        train=train_lstm_classifier,
        samples=lstm_classifier_samples,
        seed=1,
        recurrent={"LSTM": 1},
        what=(
            "A 1-layer LSTM classifier for 6-channel IMU-like windows: `nn.LSTM(6, 32, batch_first=True)`, the "
            "last time step -> `nn.Linear(32, 4)` -> class logits."
        ),
        data=(
            "Synthetic: four classes of noisy 6-channel sinusoids, the class setting the base frequency (0.5, "
            "1, 1.75, 2.75 cycles per window), with random amplitude, phase and Gaussian noise."
        ),
    ),
    "gru_regressor": dict(
        build=GruRegressor,
        train=train_gru_regressor,
        samples=gru_regressor_samples,
        seed=2,
        recurrent={"GRU": 2},
        what=(
            "A 2-layer GRU sequence regressor: `nn.GRU(3, 24, num_layers=2, batch_first=True)`, then "
            "`nn.Linear(24, 1)` applied at every step."
        ),
        data=(
            "Synthetic: Gaussian inputs (lightly smoothed over time); the target at step t is an exponentially "
            "smoothed (0.8/0.2) running value of x0 + 0.5 x1 - x2."
        ),
    ),
    "tcn": dict(
        build=Tcn,
        train=train_tcn,
        samples=tcn_samples,
        seed=3,
        recurrent={},
        what=(
            "A causal temporal convolutional network: 3 residual blocks of two dilated `nn.Conv1d` (16 channels, "
            "kernel 3, dilations 1, 2, 4), each made causal by a left pad `F.pad(x, (2*dilation, 0))`, ReLU, a "
            "residual add (1x1 conv on the first block to go from 4 to 16 channels) and ReLU; a final 1x1 conv "
            "to 2 channels. Receptive field 29 steps."
        ),
        data=(
            "Synthetic: Gaussian inputs; output 0 is the causal 5-step mean of x0 + x1, output 1 is x2 delayed "
            "by 6 steps minus 0.5 x3."
        ),
    ),
    "char_rnn": dict(
        build=lambda: CharRnn(len(corpus()[0])),
        train=train_char_rnn,
        samples=char_rnn_samples,
        seed=4,
        recurrent={"LSTM": 1},
        what=(
            "A character-level language model: `nn.Embedding(vocab, 16)` -> `nn.LSTM(16, 64, batch_first=True)` "
            "-> `nn.Linear(64, vocab)`, next-character logits at every position. `vocab.json` lists the "
            "characters in id order."
        ),
        data=(
            "`corpus.txt`: chapters I-III of Lewis Carroll's \"Alice's Adventures in Wonderland\" (1865, public "
            "domain; Project Gutenberg's alice29.txt, cleaned by `python tools/export_models.py --make-corpus "
            "alice29.txt`). Windows of the first 90% are used for training and calib.npy, windows of the last 10% "
            "for input.npy and test.npy."
        ),
    ),
}


def build_one(name: str) -> dict:
    spec = SPECS[name]
    d = MODELS / name
    d.mkdir(parents=True, exist_ok=True)
    print(f"\n== {name}")
    torch.manual_seed(spec["seed"])
    t0 = time.time()
    model = spec["build"]()
    model.train()
    training = spec["train"](model)
    model.eval()
    print(f"  trained in {time.time() - t0:.1f}s: {training}")
    if name == "char_rnn":
        (d / "vocab.json").write_text(json.dumps(corpus()[0]) + "\n")

    x, calib, test, *labels = spec["samples"]()
    path = d / "model.onnx"
    exporter = export(model, torch.from_numpy(x), path)

    m = onnx.load(str(path))
    onnx.checker.check_model(m, full_check=True)
    ops = [n.op_type for n in m.graph.node]
    print(f"  op types: {ops}")
    for op, count in spec["recurrent"].items():
        got = ops.count(op)
        assert got == count, f"{name}: expected {count} ONNX {op} node(s), found {got}: {ops}"
    assert not {"Loop", "Scan"} & set(ops), f"{name}: recurrence exported as a loop: {ops}"
    ins = [(i.name, shape_of(i)) for i in m.graph.input]
    outs = [(o.name, shape_of(o)) for o in m.graph.output]
    assert len(ins) == 1 and ins[0][1] == list(x.shape), f"{name}: inputs {ins}"
    print(f"  inputs {ins} outputs {outs}, opset {m.opset_import[0].version}, IR {m.ir_version}")

    sess = ort_session(path)
    in_name = sess.get_inputs()[0].name
    ref = sess.run(None, {in_name: x})[0]
    with torch.no_grad():
        pt = model(torch.from_numpy(x)).numpy()
    diff = float(np.max(np.abs(pt - ref)))
    print(f"  onnxruntime vs PyTorch on input.npy: max abs diff {diff:.2e}")
    assert diff < 1e-5, f"{name}: onnxruntime and PyTorch differ by {diff}"
    test_ref = np.stack([sess.run(None, {in_name: s})[0] for s in test])

    np.save(d / "input.npy", x)
    np.save(d / "calib.npy", calib)
    np.save(d / "test.npy", test)
    np.save(d / "reference_output.npy", ref)
    np.save(d / "test_reference.npy", test_ref)
    if labels:
        np.save(d / "labels.npy", labels[0])

    dtype = "int64 token ids" if x.dtype == np.int64 else "float32"
    graph = "\n".join(f"    {line}" for line in describe(m))
    (d / "README.md").write_text(
        f"""# {name}

{spec['what']}

- input `{ins[0][0]}`: {dtype} {list(x.shape)} (batch 1, static shapes)
- output `{outs[0][0]}`: float32 {list(ref.shape)}
- parameters: {sum(p.numel() for p in model.parameters())} float32

## How it was made

`{COMMAND}` (needs `tools/requirements-train.txt`; torch is not needed in CI). Seeds are fixed.

- training: {training}.
- data: {spec['data']}
- exporter: `{exporter}` (torch {torch.__version__.split('+')[0]}, ONNX opset {m.opset_import[0].version}, IR version {m.ir_version}), then `onnx.checker.check_model`.
- onnxruntime {ort.__version__} vs PyTorch on `input.npy`: max abs diff {diff:.1e}.

## Files

- `model.onnx`: the exported model, weights inline.
- `input.npy`: one test input {list(x.shape)}; `reference_output.npy`: onnxruntime's output for it.
- `calib.npy`: {calib.shape[0]} representative inputs {list(calib.shape)} (sample axis first, each sample has the model's input shape), for calibration.
- `test.npy`: {test.shape[0]} held-out inputs {list(test.shape)}; `test_reference.npy`: onnxruntime's outputs for them, {list(test_ref.shape)}.
{f"- `labels.npy`: the true next character of every test position {list(labels[0].shape)}, for accuracy." + chr(10) if labels else ""}{"- `corpus.txt`, `vocab.json`: the training text and the characters in id order." + chr(10) if name == "char_rnn" else ""}
## Exported graph ({len(ops)} nodes)

{graph}
"""
    )
    sizes = {f.name: f.stat().st_size for f in sorted(d.iterdir())}
    print("  files: " + ", ".join(f"{k} {v / 1024:.1f} KiB" for k, v in sizes.items()))
    return dict(name=name, ops=ops, diff=diff, exporter=exporter)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--make-corpus"]:
        (CHAR_DIR / "corpus.txt").write_text(make_corpus(argv[1]))
        print(f"wrote {CHAR_DIR / 'corpus.txt'}")
        return 0
    names = argv or list(SPECS)
    for n in names:
        if n not in SPECS:
            print(f"unknown model {n!r}; choose from {list(SPECS)}")
            return 2
    results = [build_one(n) for n in names]
    print("\nsummary:")
    for r in results:
        print(f"  {r['name']:16s} ort-vs-torch {r['diff']:.1e}  {' '.join(r['ops'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
