#!/usr/bin/env python3
"""Trains and exports the two keyword-spotting models on the synthetic espeak-ng data set of tools/kws_data.py.

    nice -n 19 python tools/kws_data.py              # first: out/kws/ (audio synthesis + MFCC features)
    nice -n 19 python tools/train_kws.py             # both models
    nice -n 19 python tools/train_kws.py dscnn       # or: gru

models/kws_dscnn: DS-CNN-S ("Hello Edge", Zhang et al. 2017) on MFCC [1, 1, 49, 10]:
    (x - mean) * inv_std (per MFCC coefficient, train-set constants)
    Conv2d(1, 64, (10, 4), stride (2, 2), padding (5, 1)) + BN + ReLU          -> [64, 25, 5]
    4 x [depthwise Conv2d(64, 64, 3, padding 1, groups 64) + BN + ReLU, pointwise Conv2d(64, 64, 1) + BN + ReLU]
    global average pool -> Linear(64, 12)
models/kws_gru: GRU(10 -> 64, batch_first) over the 49 MFCC frames [1, 49, 10], last step -> Linear(64, 12). It
    is trained with the same (x - mean) * inv_std input normalisation, which is then folded exactly into the GRU's
    input weights (W_ih' = W_ih * inv_std, b_ih' = b_ih - W_ih' mean), so its graph takes raw MFCCs with no extra op.

Training: AdamW, one-cycle LR, batch 128, label smoothing 0.05, SpecAugment-style masks (one time mask of up to 6
frames, one MFCC-coefficient mask of up to 2), over the augmented training clips (4 renditions of each word per speaker);
the epoch with the best validation accuracy (validation speakers are disjoint from both train and test) is kept.
Test accuracy is measured with onnxruntime on the whole held-out test split (speakers/voice variants never seen in
training); a class-balanced subset of it is stored as test.npy.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import frontend  # noqa: E402
import kws_data  # noqa: E402
from rill_export import MODELS, ROOT, Exported, dir_sizes, files_section  # noqa: E402

torch.set_num_threads(2)
DATA = ROOT / "out" / "kws"
CLASSES = kws_data.CLASSES
N_TEST_PER_CLASS = 25
N_CALIB = 100


def load(split: str):
    z = np.load(DATA / f"features_{split}.npz")
    return {k: z[k] for k in z.files}


class Normalize(nn.Module):
    """(x - mean) * inv_std with constant per-MFCC-coefficient buffers (broadcast over the last axis)."""

    def __init__(self, mean: np.ndarray, inv_std: np.ndarray, shape):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).reshape(shape))
        self.register_buffer("inv_std", torch.tensor(inv_std, dtype=torch.float32).reshape(shape))

    def forward(self, x):
        return (x - self.mean) * self.inv_std


class DsCnn(nn.Module):
    def __init__(self, mean, inv_std, n_classes=12, c=64):
        super().__init__()
        self.norm = Normalize(mean, inv_std, (1, 1, 1, -1))
        self.conv = nn.Conv2d(1, c, (10, 4), stride=(2, 2), padding=(5, 1), bias=False)
        self.bn = nn.BatchNorm2d(c)
        blocks = []
        for _ in range(4):
            blocks += [nn.Conv2d(c, c, 3, padding=1, groups=c, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
                       nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU()]
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(c, n_classes)

    def forward(self, x):  # x [B, 1, 49, 10] raw MFCC
        x = F.relu(self.bn(self.conv(self.norm(x))))
        x = self.blocks(x)
        return self.fc(x.mean(dim=(2, 3)))


class KwsGru(nn.Module):
    def __init__(self, mean, inv_std, n_classes=12, hidden=64):
        super().__init__()
        self.norm = Normalize(mean, inv_std, (1, 1, -1))
        self.gru = nn.GRU(10, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, n_classes)
        self.folded = False

    def forward(self, x):  # x [B, 49, 10] raw MFCC
        if not self.folded:
            x = self.norm(x)
        y, _ = self.gru(x)
        return self.fc(y[:, -1, :])

    @torch.no_grad()
    def fold_normalization(self):
        """Fold (x - mean) * inv_std into the GRU's input weights: exact, the graph then has no Sub/Mul."""
        w, b = self.gru.weight_ih_l0, self.gru.bias_ih_l0
        s, m = self.norm.inv_std.reshape(-1), self.norm.mean.reshape(-1)
        w.mul_(s[None, :])
        b.sub_(w @ m)
        self.folded = True
        del self.norm


def spec_augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """x [B, 49, 10]: zero (after normalisation: the mean) one random time span (<= 6 frames) and one coefficient span (<= 2)."""
    b, t, f = x.shape
    x = x.clone()
    tw = torch.randint(0, 7, (b,), generator=gen)
    t0 = (torch.rand(b, generator=gen) * (t - tw)).long()
    fw = torch.randint(0, 3, (b,), generator=gen)
    f0 = (torch.rand(b, generator=gen) * (f - fw)).long()
    ti = torch.arange(t)[None, :]
    fi = torch.arange(f)[None, :]
    tmask = (ti >= t0[:, None]) & (ti < (t0 + tw)[:, None])
    fmask = (fi >= f0[:, None]) & (fi < (f0 + fw)[:, None])
    mask = tmask[:, :, None] | fmask[:, None, :]
    return torch.where(mask, torch.zeros(()), x)


def evaluate(model, feats, labels, shape, batch=512) -> float:
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(feats), batch):
            xb = torch.from_numpy(feats[i:i + batch]).reshape((-1,) + shape)
            correct += (model(xb).argmax(1).numpy() == labels[i:i + batch]).sum()
    return correct / len(feats)


def train(model, shape, tr, va, epochs, lr, seed, norm):
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    x_all = torch.from_numpy(tr["features"])
    y_all = torch.from_numpy(tr["labels"])
    # SpecAugment masks are applied in normalised units (0 = the mean), so normalise first, then undo.
    mean, inv_std = norm
    mean_t, inv_t = torch.tensor(mean, dtype=torch.float32), torch.tensor(inv_std, dtype=torch.float32)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-3)
    steps_per_epoch = (len(x_all) + 127) // 128
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch, pct_start=0.15)
    best = (-1.0, None, -1)
    log = []
    for ep in range(epochs):
        model.train()
        t0 = time.time()
        perm = torch.from_numpy(rng.permutation(len(x_all)))
        tot, n = 0.0, 0
        for i in range(0, len(perm), 128):
            idx = perm[i:i + 128]
            xb = x_all[idx]
            xb = spec_augment((xb - mean_t) * inv_t, gen) / inv_t + mean_t
            loss = F.cross_entropy(model(xb.reshape((-1,) + shape)), y_all[idx], label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(idx)
            n += len(idx)
        acc = evaluate(model, va["features"], va["labels"], shape)
        log.append((ep, tot / n, acc))
        print(f"  epoch {ep + 1}/{epochs}: loss {tot / n:.4f}, val acc {acc:.4f} ({time.time() - t0:.1f}s)", flush=True)
        if acc > best[0]:
            best = (acc, {k: v.clone() for k, v in model.state_dict().items()}, ep)
    model.load_state_dict(best[1])
    model.eval()
    return best[0], best[2] + 1, log


def confusion(pred, labels) -> np.ndarray:
    cm = np.zeros((len(CLASSES), len(CLASSES)), np.int64)
    np.add.at(cm, (labels, pred), 1)
    return cm


def cm_text(cm) -> str:
    short = [c[:5] for c in CLASSES]
    lines = ["    true\\pred " + " ".join(f"{s:>5}" for s in short)]
    for i, row in enumerate(cm):
        lines.append(f"    {short[i]:>10} " + " ".join(f"{v:5d}" for v in row))
    return "\n".join(lines)


def pick_subsets(tr, te):
    rng = np.random.default_rng(5)
    test_idx = np.concatenate([rng.permutation(np.nonzero(te["labels"] == c)[0])[:N_TEST_PER_CLASS]
                               for c in range(len(CLASSES))])
    test_idx = np.sort(test_idx)
    calib_idx = np.sort(rng.permutation(len(tr["labels"]))[:N_CALIB])
    return test_idx, calib_idx


def demo_scan(ex: Exported, shape, hop=1600):
    """Slides a 1 s window (hop 0.1 s) over demo.wav; returns per-window top class and probability."""
    audio, sr = frontend.read_wav_int16(str(DATA / "demo.wav"))
    starts = np.arange(0, len(audio) - 16000 + 1, hop)
    feats = frontend.mfcc(np.stack([audio[s:s + 16000] for s in starts]))
    logits = ex.run(feats.reshape((-1, 1) + shape))[:, 0]
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    return starts / sr, p


def demo_report(ex, shape) -> str:
    truth = json.loads((DATA / "demo_truth.json").read_text())
    t, p = demo_scan(ex, shape)
    lines = []
    for w in truth:
        # windows that contain the whole word
        inside = (t <= w["start_s"]) & (t + 1.0 >= w["end_s"])
        k = CLASSES.index(w["keyword"])
        best = int(np.argmax(np.where(inside, p[:, k], -1)))
        top = p[inside].max(0)
        winner = CLASSES[int(np.argmax(top))]
        lines.append(f"    {w['keyword']:>5} at {w['start_s']:.2f}-{w['end_s']:.2f} s: max p({w['keyword']}) = "
                     f"{p[best, k]:.2f} (window at {t[best]:.1f} s); class with the highest max over the windows "
                     f"containing it: {winner}")
    other = np.ones(len(t), bool)
    for w in truth:
        other &= ~((t + 1.0 > w["start_s"]) & (t < w["end_s"]))
    kw = p[other][:, :len(kws_data.KEYWORDS)].max(1) if other.any() else np.zeros(0)
    lines.append(f"    windows overlapping no keyword: {int(other.sum())}, of which {int((kw > 0.5).sum())} have a "
                 f"keyword probability > 0.5")
    return "\n".join(lines)


def build(name: str, tr, va, te, norm, meta):
    seed = {"dscnn": 1, "gru": 2}[name]
    torch.manual_seed(seed)
    if name == "dscnn":
        model, shape, epochs, lr = DsCnn(*norm), (1, 1, 49, 10), EPOCHS_DSCNN, 3e-3
    else:
        model, shape, epochs, lr = KwsGru(*norm), (1, 49, 10), EPOCHS_GRU, 5e-3
    d = MODELS / f"kws_{name}"
    d.mkdir(parents=True, exist_ok=True)
    print(f"\n== kws_{name}: {sum(p.numel() for p in model.parameters())} parameters, input {list(shape)}")
    t0 = time.time()
    ckpt = DATA / f"kws_{name}_trained.pt"
    if REUSE and ckpt.exists():  # development aid: skip training, reuse the last trained weights
        saved = torch.load(ckpt)
        model.load_state_dict(saved["state"])
        val_acc, best_ep, log, t_train = saved["val_acc"], saved["best_ep"], saved["log"], saved["t_train"]
    else:
        val_acc, best_ep, log = train(model, shape[1:], tr, va, epochs, lr, seed, norm)
        t_train = time.time() - t0
        torch.save(dict(state=model.state_dict(), val_acc=val_acc, best_ep=best_ep, log=log, t_train=t_train), ckpt)
    model.eval()
    train_acc = evaluate(model, tr["features"], tr["labels"], shape[1:])
    print(f"  trained in {t_train:.0f}s, best val acc {val_acc:.4f} at epoch {best_ep}, train acc {train_acc:.4f}")
    if name == "gru":
        before = evaluate(model, va["features"], va["labels"], shape[1:])
        model.fold_normalization()
        after = evaluate(model, va["features"], va["labels"], shape[1:])
        print(f"  folded normalisation into the GRU input weights: val acc {before:.4f} -> {after:.4f}")

    test_idx, calib_idx = pick_subsets(tr, te)
    x_test = te["features"][test_idx].reshape((-1,) + shape)  # [N, 1, <input shape without batch>]
    x = x_test[0].copy()
    calib = tr["features"][calib_idx].reshape((-1,) + shape)
    ex = Exported(model, x, x_test, d / "model.onnx")
    ex.save(d, x, calib, x_test)
    np.save(d / "labels.npy", te["labels"][test_idx].astype(np.int64))
    (d / "classes.json").write_text(json.dumps(CLASSES) + "\n")

    # accuracy on the whole test split, with onnxruntime
    t1 = time.time()
    full = ex.run(te["features"].reshape((-1,) + shape))[:, 0]
    pred = full.argmax(1)
    acc_full = float((pred == te["labels"]).mean())
    acc_sub = float((ex.test_ref[:, 0].argmax(1) == te["labels"][test_idx]).mean())
    kw = te["labels"] < len(kws_data.KEYWORDS)
    acc_kw = float((pred[kw] == te["labels"][kw]).mean())
    cm = confusion(pred, te["labels"])
    variant = np.array([sp.split("+")[-1] for sp in te["speakers"]])
    per_var = {v: float((pred[variant == v] == te["labels"][variant == v]).mean()) for v in np.unique(variant)}
    per_var_txt = ", ".join(f"{v} {a:.0%}" for v, a in sorted(per_var.items(), key=lambda kv: kv[1]))
    print(f"  test accuracy per voice variant: {per_var_txt}")
    with torch.no_grad():
        pt_acc = evaluate(model, te["features"], te["labels"], shape[1:])
    print(f"  test accuracy (onnxruntime) on all {len(pred)} test clips: {acc_full:.4f} (PyTorch {pt_acc:.4f}); "
          f"keywords only {acc_kw:.4f}; on the stored {len(test_idx)}: {acc_sub:.4f} ({time.time() - t1:.0f}s)")
    print(cm_text(cm))
    demo = ""
    if name == "dscnn":
        frontend_json = dict(frontend.PARAMS)
        (d / "frontend.json").write_text(json.dumps(frontend_json, indent=1) + "\n")
        shutil.copy(DATA / "demo.wav", d / "demo.wav")
        shutil.copy(DATA / "demo_truth.json", d / "demo_truth.json")
        demo = demo_report(ex, shape[1:])
        print(demo)
    write_readme(name, d, model, ex, x, calib, x_test, meta, dict(
        val_acc=val_acc, train_acc=train_acc, best_ep=best_ep, epochs=epochs, lr=lr, t_train=t_train, acc_full=acc_full, acc_sub=acc_sub,
        acc_kw=acc_kw, per_var=per_var_txt, n_full=len(pred), cm=cm_text(cm), log=log, demo=demo, norm=norm))
    print(f"  files: {dir_sizes(d)}")
    return dict(name=f"kws_{name}", acc=acc_full, ops=ex.ops, diff=ex.diff, t_train=t_train)


def write_readme(name, d, model, ex, x, calib, x_test, meta, r):
    c = meta["counts"]
    sv = meta["split_variants"]
    mean, inv_std = r["norm"]
    np.set_printoptions(precision=4, suppress=True, linewidth=200)
    if name == "dscnn":
        what = f"""A DS-CNN keyword spotter ("DS-CNN-S" of Zhang et al., "Hello Edge: Keyword Spotting on Microcontrollers", 2017) on
MFCC features of 1 s of 16 kHz audio. 12 classes (`classes.json`): yes no up down left right on off stop go,
unknown (another word), silence (noise only).

    (x - mean) * inv_std                       per MFCC coefficient (constants below), Sub + Mul in the graph
    Conv2d(1, 64, (10, 4), stride (2, 2), padding (5, 1)) + BatchNorm + ReLU     -> [1, 64, 25, 5]
    4 x ( depthwise Conv2d(64, 64, 3x3, padding 1, groups 64) + BatchNorm + ReLU
          pointwise Conv2d(64, 64, 1x1) + BatchNorm + ReLU )
    global average pool (mean over 25 x 5) -> Linear(64, 12) -> logits

The exporter (its onnxscript graph optimizer) folded every BatchNorm into the preceding Conv's weights and bias:
the ONNX graph has 9 Conv nodes (1 + 4 depthwise with group 64 + 4 pointwise) and no BatchNormalization.

- input `{ex.inputs[0][0]}`: float32 [1, 1, 49, 10]: 49 frames x 10 MFCCs of `tools/frontend.py` (parameters in `frontend.json`)
- output `{ex.outputs[0][0]}`: float32 [1, 12] logits"""
    else:
        what = f"""A GRU keyword spotter on MFCC features of 1 s of 16 kHz audio: `nn.GRU(10, 64, batch_first=True)` over the 49
frames, the last step -> `nn.Linear(64, 12)`. Same 12 classes (`classes.json`) and same front end
(`tools/frontend.py`, parameters in `../kws_dscnn/frontend.json`) as kws_dscnn. The per-coefficient input
normalisation used in training was folded exactly into the GRU's input weights (W_ih' = W_ih * inv_std,
b_ih' = b_ih - W_ih' mean), so the graph takes raw MFCCs.

- input `{ex.inputs[0][0]}`: float32 [1, 49, 10] (batch_first: 49 frames x 10 MFCCs)
- output `{ex.outputs[0][0]}`: float32 [1, 12] logits"""
    demo_txt = ""
    if name == "dscnn":
        demo_txt = f"""
## Demo audio

`demo.wav`: 9 s, 16 kHz mono int16: a held-out test speaker (`{meta['demo_speaker']}`, a voice variant never seen in
training) says 5 keywords at -22 dBFS in continuous synthetic room noise (-50 dBFS); `demo_truth.json` gives each
keyword with the start/end of its speech in seconds. Sliding the model over it (1 s window, hop 0.1 s, onnxruntime):

{r['demo']}
"""
    extra = ("- `labels.npy`: int64 [N] true classes of `test.npy` (class-balanced: " + str(N_TEST_PER_CLASS)
             + " per class, from the test split); `classes.json`: class names in logit order.\n")
    if name == "dscnn":
        extra += ("- `frontend.json`: the MFCC front end's parameters (`tools/frontend.py` is the reference "
                  "implementation).\n- `demo.wav`, `demo_truth.json`: see above.\n")
    extra += "- `calib.npy` comes from the training split (augmented clips).\n"
    files = files_section(x, ex.ref, calib, x_test, ex.test_ref, extra=extra)
    log = "\n".join(f"    epoch {e + 1:2d}: train loss {l:.4f}, val acc {a:.4f}" for e, l, a in r["log"])
    text = f"""# kws_{name}

{what}
- parameters: {sum(p.numel() for p in model.parameters())} float32

## Accuracy

Float model, onnxruntime, on the held-out test split (speakers = voice variants never seen in training):
**{r['acc_full']:.1%}** on all {r['n_full']} test clips (keywords only: {r['acc_kw']:.1%}); {r['acc_sub']:.1%} on the
{x_test.shape[0]} stored in `test.npy`. Training accuracy {r['train_acc']:.1%}; best validation accuracy {r['val_acc']:.1%} (epoch {r['best_ep']} of {r['epochs']}).
This is synthetic speech: the number says the model and the pipeline work, not what it would score on real
speech (Speech Commands).

Test accuracy by held-out voice variant ("noise" = the silence clips): {r['per_var']}.

Confusion matrix on all test clips (rows: true class):

{r['cm']}

## Data

Synthesised with espeak-ng and sox by `tools/kws_data.py` ({meta['espeak'].split('  Data')[0]}; no recordings: real speech data
cannot be downloaded here). Words: the 10 keywords; "unknown" = {', '.join(meta['unknown_words'])}; "silence" = noise only.
Speakers: {len(meta['accents'])} espeak-ng English accents ({', '.join(meta['accents'])}) x 101 voice variants
(m1..m8, f1..f5, klatt..klatt6, croak, whisper, and the named ones), each speaker with its own pitch (20..80), speed
(120..200 wpm) and amplitude, jittered per word (training words also through sox `speed` 0.85..1.15); ~30% of utterances through sox `reverb` (random room). Split BY
VOICE VARIANT (so train, validation and test speakers are disjoint, and test voice timbres are unseen):
{len(sv['train'])} variants train, {len(sv['val'])} validation, {len(sv['test'])} test (test: {', '.join(sv['test'])}).
Each clip: the word at a random offset in 1 s, random speech level (-35..-12 dBFS), synthetic room noise
(coloured 1/f^a, a in 0..2, low/high-pass, hum, level wobble) at a random SNR of 5..30 dB; silence clips are noise at
-70..-25 dBFS.

- train: {c['train']['utterances']} utterances + {c['train']['silence']} silence clips from {c['train']['speakers']} speakers ({meta['renditions']['train']} renditions of each word per speaker), {c['train']['clips']} training clips; per class {c['train']['per_class']}
- validation: {c['val']['clips']} clips from {c['val']['speakers']} speakers
- test: {c['test']['clips']} clips from {c['test']['speakers']} speakers; per class {c['test']['per_class']}

License: the audio is synthetic, made by this repository's scripts with espeak-ng (GPL-3.0 software; its output
is not a third-party recording) and sox; no recorded speech is involved.

## How it was made

    apt-get install -y espeak-ng sox
    nice -n 19 python tools/kws_data.py       # out/kws/ (gitignored): audio, noise, MFCC features, demo
    nice -n 19 python tools/train_kws.py {name}

(`tools/requirements-train.txt`.) Seeds are fixed. Training: AdamW (weight decay 1e-3), one-cycle LR (max
{r['lr']}), batch 128, label smoothing 0.05, SpecAugment-style masks (one time span <= 6 frames, one coefficient span
<= 2), {r['epochs']} epochs over the {c['train']['clips']} training clips, best validation epoch kept; {r['t_train']:.0f} s on 2 cores.

Input normalisation constants (train-set MFCC mean and 1/std per coefficient):

    mean    = {np.array2string(np.asarray(mean), separator=', ')}
    inv_std = {np.array2string(np.asarray(inv_std), separator=', ')}

{ex.exporter_line()}

{log}
{demo_txt}
{files}
{ex.graph_section()}"""
    (d / "README.md").write_text(text)


EPOCHS_DSCNN = int(os.environ.get("KWS_EPOCHS", 14))
EPOCHS_GRU = int(os.environ.get("KWS_EPOCHS", 30))
REUSE = os.environ.get("KWS_REUSE") == "1"


def main(argv):
    names = argv or ["dscnn", "gru"]
    t0 = time.time()
    tr, va, te = load("train"), load("val"), load("test")
    meta = json.loads((DATA / "meta.json").read_text())
    f = tr["features"].reshape(-1, 10).astype(np.float64)
    mean, std = f.mean(0), f.std(0)
    norm = (mean.astype(np.float32), (1.0 / std).astype(np.float32))
    print(f"train {tr['features'].shape}, val {va['features'].shape}, test {te['features'].shape}")
    results = [build(n, tr, va, te, norm, meta) for n in names]
    print("\nsummary:")
    for r in results:
        print(f"  {r['name']:10s} test acc {r['acc']:.4f}  ort-vs-torch {r['diff']:.1e}  train {r['t_train']:.0f}s  {r['ops']}")
    print(f"total {time.time() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
