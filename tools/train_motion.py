#!/usr/bin/env python3
"""Sensor / time-series classifiers on real public data sets shipped with the `aeon` package (read offline by
tools/aeon_data.py), trained and exported to models/motion_lstm, models/motion_tcn and models/vowels_lstm.

    pip install --no-deps aeon==1.6.0            # for its bundled data files only (see tools/aeon_data.py)
    nice -n 19 python tools/train_motion.py                  # all three
    nice -n 19 python tools/train_motion.py motion_tcn       # or some of: motion_lstm motion_tcn vowels_lstm

BasicMotions (UEA archive): a smart watch's 3-axis accelerometer + 3-axis gyroscope at 10 Hz for 10 s (100 steps),
4 activities (standing, running, walking, badminton), 4 students x 5 recordings each; official split 40 train /
40 test. JapaneseVowels (UCI / UEA archive): 12 LPC cepstrum coefficients per frame, 7..29 frames, 9 male
speakers saying /ae/, classify the speaker; official split 270 train / 370 test.

All models take raw data (sensor units / LPC coefficients): the per-channel train-set mean/std normalisation is
inside the model, either folded exactly into the LSTM input weights (W_ih' = W_ih / std, b_ih' = b_ih - W_ih' mean)
or, for the TCN (whose causal zero padding would make a fold inexact), as Sub/Mul by constants as the first ops.
No validation split (the training sets are tiny): a fixed number of epochs, chosen a priori, then the test split.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import aeon_data  # noqa: E402
from rill_export import MODELS, Exported, dir_sizes, files_section  # noqa: E402

torch.set_num_threads(2)
VOWELS_LEN = 29


def basic_motions():
    xtr, ytr, classes = aeon_data.load_classification("BasicMotions", "train")
    xte, yte, _ = aeon_data.load_classification("BasicMotions", "test")
    idx = {c.lower(): i for i, c in enumerate(classes)}
    f = lambda xs, ys: (np.stack(xs).astype(np.float32), np.array([idx[y.lower()] for y in ys], np.int64))  # noqa: E731
    return (*f(xtr, ytr), *f(xte, yte), [c.lower() for c in classes])  # x: [N, 6, 100]


def left_pad(xs: list[np.ndarray], length: int) -> np.ndarray:
    """[C, T_i] arrays -> [N, C, length]: keep the LAST `length` frames, left-pad shorter ones with zeros."""
    out = np.zeros((len(xs), xs[0].shape[0], length), np.float32)
    for i, x in enumerate(xs):
        x = x[:, -length:]
        out[i, :, length - x.shape[1]:] = x
    return out


def japanese_vowels():
    xtr, ytr, classes = aeon_data.load_classification("JapaneseVowels", "train")
    xte, yte, _ = aeon_data.load_classification("JapaneseVowels", "test")
    idx = {c: i for i, c in enumerate(classes)}
    lens = [x.shape[1] for x in xtr + xte]
    print(f"  JapaneseVowels lengths {min(lens)}..{max(lens)}")
    return (left_pad(xtr, VOWELS_LEN), np.array([idx[y] for y in ytr], np.int64),
            left_pad(xte, VOWELS_LEN), np.array([idx[y] for y in yte], np.int64), [f"speaker {c}" for c in classes])


class LstmClassifier(nn.Module):
    """x [B, T, C] raw -> (x - mean) / std (folded away after training) -> LSTM -> last step -> Linear."""

    def __init__(self, mean, std, n_in, hidden, n_classes):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32))
        self.lstm = nn.LSTM(n_in, hidden, batch_first=True)
        self.head = nn.Linear(hidden, n_classes)
        self.folded = False

    def forward(self, x):
        if not self.folded:
            x = (x - self.mean) / self.std
        y, _ = self.lstm(x)
        return self.head(y[:, -1, :])

    @torch.no_grad()
    def fold(self):
        w, b = self.lstm.weight_ih_l0, self.lstm.bias_ih_l0
        w.div_(self.std[None, :])
        b.sub_(w @ self.mean)
        self.folded = True


class CausalBlock(nn.Module):
    def __init__(self, c_in, c_out, dilation, k=3):
        super().__init__()
        self.pad = (k - 1) * dilation
        self.conv1 = nn.Conv1d(c_in, c_out, k, dilation=dilation)
        self.conv2 = nn.Conv1d(c_out, c_out, k, dilation=dilation)
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else None

    def forward(self, x):
        y = F.relu(self.conv1(F.pad(x, (self.pad, 0))))
        y = self.conv2(F.pad(y, (self.pad, 0)))
        return F.relu(y + (x if self.skip is None else self.skip(x)))


class MotionTcn(nn.Module):
    """x [B, 6, 100] raw -> (x - mean) * inv_std -> 4 causal residual blocks (dilations 1, 2, 4, 8) -> mean over time -> Linear."""

    def __init__(self, mean, std, n_in=6, ch=24, n_classes=4):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).reshape(1, -1, 1))
        self.register_buffer("inv_std", torch.tensor(1.0 / std, dtype=torch.float32).reshape(1, -1, 1))
        self.blocks = nn.Sequential(*[CausalBlock(n_in if i == 0 else ch, ch, d) for i, d in enumerate([1, 2, 4, 8])])
        self.head = nn.Linear(ch, n_classes)

    def forward(self, x):
        x = (x - self.mean) * self.inv_std
        return self.head(self.blocks(x).mean(dim=2))


def augment(x: torch.Tensor, gen: torch.Generator, time_axis: int) -> torch.Tensor:
    """Per-sample, per-channel gain 0.9..1.1 and Gaussian jitter of 3% of the channel's spread (x normalised)."""
    shape = [x.shape[0], 1, 1]
    ch_axis = 2 if time_axis == 1 else 1
    shape[ch_axis] = x.shape[ch_axis]
    gain = 0.9 + 0.2 * torch.rand(shape, generator=gen)
    return x * gain + 0.03 * torch.randn(x.shape, generator=gen)


SPECS = {
    "motion_lstm": dict(data=basic_motions, layout="btc", seed=11, epochs=300, lr=1e-2, batch=40, hidden=32),
    "motion_tcn": dict(data=basic_motions, layout="bct", seed=12, epochs=150, lr=3e-3, batch=8, hidden=24),
    "vowels_lstm": dict(data=japanese_vowels, layout="btc", seed=13, epochs=150, lr=1e-2, batch=32, hidden=32),
}


def build(name: str) -> dict:
    s = SPECS[name]
    print(f"\n== {name}")
    t0 = time.time()
    xtr, ytr, xte, yte, classes = s["data"]()  # x [N, C, T]
    n_ch, n_t = xtr.shape[1], xtr.shape[2]
    mean = xtr.transpose(1, 0, 2).reshape(n_ch, -1).astype(np.float64).mean(1).astype(np.float32)
    std = xtr.transpose(1, 0, 2).reshape(n_ch, -1).astype(np.float64).std(1).astype(np.float32)
    if name == "vowels_lstm":  # zero padding is not data: statistics of the real frames only
        real = np.abs(xtr).sum(1) > 0  # [N, T]
        frames = xtr.transpose(0, 2, 1)[real].astype(np.float64)
        mean, std = frames.mean(0).astype(np.float32), frames.std(0).astype(np.float32)
    if s["layout"] == "btc":
        xtr, xte = xtr.transpose(0, 2, 1).copy(), xte.transpose(0, 2, 1).copy()
    print(f"  train {xtr.shape}, test {xte.shape}, classes {classes}, per-class train {np.bincount(ytr).tolist()}")
    torch.manual_seed(s["seed"])
    gen = torch.Generator().manual_seed(s["seed"])
    model = (LstmClassifier(mean, std, n_ch, s["hidden"], len(classes)) if s["layout"] == "btc"
             else MotionTcn(mean, std, n_ch, s["hidden"], len(classes)))
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=s["lr"], weight_decay=1e-3)
    steps = s["epochs"] * ((len(xtr) + s["batch"] - 1) // s["batch"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=s["lr"], total_steps=steps, pct_start=0.2)
    x_t, y_t = torch.from_numpy(xtr), torch.from_numpy(ytr)
    ch_shape = (1, 1, -1) if s["layout"] == "btc" else (1, -1, 1)
    m_t, sd_t = torch.from_numpy(mean).reshape(ch_shape), torch.from_numpy(std).reshape(ch_shape)
    rng = np.random.default_rng(s["seed"])
    for ep in range(s["epochs"]):
        model.train()
        perm = torch.from_numpy(rng.permutation(len(xtr)))
        for i in range(0, len(perm), s["batch"]):
            idx = perm[i:i + s["batch"]]
            xb = x_t[idx]
            if name != "vowels_lstm":  # augment in normalised units, then back to raw units
                xb = augment((xb - m_t) / sd_t, gen, 1 if s["layout"] == "btc" else 2) * sd_t + m_t
            loss = F.cross_entropy(model(xb), y_t[idx])
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            sched.step()
    model.eval()
    with torch.no_grad():
        train_acc = float((model(x_t).argmax(1).numpy() == ytr).mean())
        pt_test_acc = float((model(torch.from_numpy(xte)).argmax(1).numpy() == yte).mean())
    if isinstance(model, LstmClassifier):
        model.fold()
        with torch.no_grad():
            assert float((model(torch.from_numpy(xte)).argmax(1).numpy() == yte).mean()) == pt_test_acc
    t_train = time.time() - t0
    print(f"  {s['epochs']} epochs in {t_train:.1f}s: final loss {loss.item():.4f}, train acc {train_acc:.4f}, "
          f"test acc (PyTorch) {pt_test_acc:.4f}")

    d = MODELS / name
    d.mkdir(parents=True, exist_ok=True)
    x_test = xte[:, None].copy()  # [N, 1, ...]
    calib = xtr[:200, None].copy()
    x = x_test[0].copy()
    ex = Exported(model, x, x_test, d / "model.onnx", expect={"LSTM": 1} if s["layout"] == "btc" else None)
    ex.save(d, x, calib, x_test)
    np.save(d / "labels.npy", yte)
    (d / "classes.json").write_text(json.dumps(classes) + "\n")
    pred = ex.test_ref[:, 0].argmax(1)
    acc = float((pred == yte).mean())
    cm = np.zeros((len(classes), len(classes)), np.int64)
    np.add.at(cm, (yte, pred), 1)
    print(f"  test accuracy (onnxruntime): {acc:.4f} ({int((pred == yte).sum())}/{len(yte)})")
    print(cm)
    write_readme(name, d, s, model, ex, x, calib, x_test, classes, mean, std, dict(
        acc=acc, n_correct=int((pred == yte).sum()), train_acc=train_acc, loss=loss.item(), t_train=t_train,
        n_params=n_params, cm=cm, n_train=len(xtr)))
    print(f"  files: {dir_sizes(d)}")
    return dict(name=name, acc=acc, ops=ex.ops, diff=ex.diff, t=time.time() - t0)


def write_readme(name, d, s, model, ex, x, calib, x_test, classes, mean, std, r):
    np.set_printoptions(precision=6, suppress=True, linewidth=200)
    norm = (f"    mean = {np.array2string(mean, separator=', ')}\n"
            f"    std  = {np.array2string(std, separator=', ')}")
    if name == "motion_lstm":
        what = """An LSTM activity classifier on raw smart-watch IMU data: `nn.LSTM(6, 32, batch_first=True)` over the 100 time
steps, the last step -> `nn.Linear(32, 4)` -> logits. The per-channel standardisation (train-set constants below)
was folded exactly into the LSTM's input weights after training (W_ih' = W_ih / std, b_ih' = b_ih - W_ih' mean), so
the model takes raw sensor values.

- input `{i}`: float32 [1, 100, 6] (batch_first: 100 steps at 10 Hz x 6 channels, raw units as in the data set:
  channels 0-2 accelerometer x/y/z, 3-5 gyroscope x/y/z)"""
    elif name == "motion_tcn":
        what = """A causal dilated TCN activity classifier on raw smart-watch IMU data, channels first:
`(x - mean) * inv_std` (per channel, constants below; Sub + Mul in the graph), then 4 residual blocks of two
`nn.Conv1d(k=3)` with dilation 1, 2, 4, 8 (24 channels), each made causal by a left pad `F.pad(x, (2*dilation, 0))`,
ReLU, residual add (1x1 conv 6 -> 24 on the first block) and ReLU; mean over time -> `nn.Linear(24, 4)` -> logits.
Receptive field 61 steps.

- input `{i}`: float32 [1, 6, 100] (6 channels: accelerometer x/y/z, gyroscope x/y/z; 100 steps at 10 Hz; raw units)"""
    else:
        what = f"""An LSTM speaker classifier on the JapaneseVowels data: `nn.LSTM(12, 32, batch_first=True)` over {VOWELS_LEN} frames
of 12 LPC cepstrum coefficients, the last step -> `nn.Linear(32, 9)` -> logits. The per-coefficient standardisation
(train-set constants below, computed over real frames only) was folded exactly into the LSTM's input weights.

- input `{{i}}`: float32 [1, {VOWELS_LEN}, 12] (batch_first). Utterances have 7..29 frames: they are LEFT-padded with zeros to
  {VOWELS_LEN} frames (so the utterance ends at the last step, which the classifier reads); longer ones would keep
  their last {VOWELS_LEN} frames (none are longer)."""
    what = what.replace("{i}", ex.inputs[0][0])
    if name.startswith("motion"):
        data = """BasicMotions, from the UEA multivariate time-series classification archive (Bagnall et al., "The UEA
multivariate time series classification archive, 2018", https://timeseriesclassification.com; distributed freely
for research, no separate license file), read from the copy bundled in the `aeon` Python package (1.6.0, BSD-3-Clause
package) by `tools/aeon_data.py`. From the data set's own description: generated in a student project where four
students performed four activities (standing, walking, running, badminton) five times each while wearing a smart
watch; 10 s at 10 Hz of 3-axis accelerometer and 3-axis gyroscope. Official split: 40 train / 40 test (10 per
class each)."""
    else:
        data = """JapaneseVowels, from the UCI machine learning repository / UEA archive (M. Kudo, J. Toyama, M. Shimbo,
"Multidimensional Curve Classification Using Passing-Through Regions", Pattern Recognition Letters 20, 1999; the UCI
repository lists it under CC BY 4.0), read from the copy bundled in the `aeon` Python package (1.6.0) by `tools/aeon_data.py`. Nine male speakers
said the vowel pair /ae/; each utterance is 7..29 frames of 12 LPC cepstrum coefficients; the task is to name the
speaker. Official split: 270 train (30 per speaker) / 370 test (24..88 per speaker)."""
    aug = ("per-sample per-channel gain 0.9..1.1 and 3% Gaussian jitter (in normalised units)" if name.startswith("motion")
           else "no augmentation")
    text = f"""# {name}

{what}
- output `{ex.outputs[0][0]}`: float32 {list(ex.ref.shape)} logits; classes in `classes.json`: {', '.join(classes)}
- parameters: {r['n_params']} float32

## Accuracy

Float model, onnxruntime, on the official test split: **{r['acc']:.1%}** ({r['n_correct']}/{len(x_test)}); training
accuracy {r['train_acc']:.1%}. Confusion matrix (rows: true class, columns: predicted):

{chr(10).join('    ' + ' '.join(f'{v:3d}' for v in row) for row in r['cm'])}

## Data

{data}

Standardisation constants (train set, per channel; the model applies them itself, feed raw values):

{norm}

## How it was made

    pip install --no-deps aeon==1.6.0     # only for its bundled data files
    nice -n 19 python tools/train_motion.py {name}

Seeds are fixed. {s['epochs']} epochs of AdamW (weight decay 1e-3, one-cycle LR, max {s['lr']}, batch {s['batch']}, gradient
norm clipped at 5) over the {r['n_train']} training samples, {aug}; a fixed number of epochs chosen beforehand (no
validation split, no selection on the test set); final training loss {r['loss']:.4f}; {r['t_train']:.0f} s on 2 cores.

{ex.exporter_line()}

{files_section(x, ex.ref, calib, x_test, ex.test_ref, extra="- `labels.npy`: int64 [N] true classes of `test.npy`; `classes.json`: class names in logit order; `calib.npy` holds training samples." + chr(10))}
{ex.graph_section()}"""
    (d / "README.md").write_text(text)


def main(argv):
    t0 = time.time()
    names = argv or list(SPECS)
    results = [build(n) for n in names]
    print("\nsummary:")
    for r in results:
        print(f"  {r['name']:12s} test acc {r['acc']:.4f}  ort-vs-torch {r['diff']:.1e}  {r['t']:.0f}s  {r['ops']}")
    print(f"total {time.time() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
