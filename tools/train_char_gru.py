#!/usr/bin/env python3
"""Character-level GRU language model on a public-domain text, exported to models/char_gru.

    nice -n 19 python tools/train_char_gru.py                      # train + export (reads models/char_gru/corpus.txt)
    python tools/train_char_gru.py --make-corpus alice29.txt       # (re)build corpus.txt from the Gutenberg file

Model: `nn.Embedding(vocab, 32)` -> `nn.GRU(32, 128, batch_first=True)` -> `nn.Linear(128, vocab)`: next-character
logits at each of the 64 positions of a [1, 64] int64 window (the GRU starts from a zero state for every window).
Trained on windows of the first 90% of corpus.txt; the last 10% is held out (its cross-entropy is reported).
"""
from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rill_export import MODELS, Exported, dir_sizes, files_section  # noqa: E402

torch.set_num_threads(2)
D = MODELS / "char_gru"
SEQ = 64
SEED = 5
STEPS = 2500
BATCH = 64
LR = 3e-3
TRAIN_FRAC = 0.9
N_TEST = 24
N_CALIB = 128


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


class CharGru(nn.Module):
    def __init__(self, vocab: int, emb: int = 32, hidden: int = 128, dropout: float = 0.2):
        super().__init__()
        self.embed = nn.Embedding(vocab, emb)
        self.gru = nn.GRU(emb, hidden, batch_first=True)
        self.drop = nn.Dropout(dropout)  # identity in eval mode: not in the exported graph
        self.head = nn.Linear(hidden, vocab)

    def forward(self, tokens):  # tokens [B, 64] int64
        y, _ = self.gru(self.drop(self.embed(tokens)))
        return self.head(self.drop(y))  # [B, 64, vocab]


def windows(ids: np.ndarray, starts) -> np.ndarray:
    return np.stack([ids[s:s + SEQ + 1] for s in starts])


def cross_entropy(model, ids: np.ndarray) -> float:
    """Mean next-char cross-entropy (nats) over non-overlapping windows covering `ids`."""
    starts = np.arange(0, len(ids) - SEQ - 1, SEQ)
    w = torch.from_numpy(windows(ids, starts))
    with torch.no_grad():
        logits = model(w[:, :-1])
        return float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), w[:, 1:].reshape(-1)))


def sample_text(ex: Exported, vocab: list[str], prompt: str, n: int, temperature: float, seed: int) -> str:
    """Generation with the exported model (onnxruntime): slide a 64-char window, read the logits of the last
    filled position, sample with softmax(logits / temperature)."""
    rng = np.random.default_rng(seed)
    idx = {c: i for i, c in enumerate(vocab)}
    ids = [idx[c] for c in prompt]
    for _ in range(n):
        ctx = ids[-SEQ:]
        x = np.zeros((1, SEQ), np.int64)
        x[0, :len(ctx)] = ctx  # positions after the context are ignored (the GRU is causal)
        logits = ex.sess.run(None, {ex.in_name: x})[0][0, len(ctx) - 1] / temperature
        p = np.exp(logits - logits.max())
        ids.append(int(rng.choice(len(p), p=p / p.sum())))
    return "".join(vocab[i] for i in ids)


def main(argv) -> int:
    if argv[:1] == ["--make-corpus"]:
        D.mkdir(parents=True, exist_ok=True)
        (D / "corpus.txt").write_text(make_corpus(argv[1]))
        print(f"wrote {D / 'corpus.txt'}")
        return 0
    t0 = time.time()
    text = (D / "corpus.txt").read_text()
    vocab = sorted(set(text))
    (D / "vocab.json").write_text(json.dumps(vocab) + "\n")
    ids = np.array([vocab.index(c) for c in text], np.int64)
    split = int(TRAIN_FRAC * len(ids))
    tr_ids, te_ids = ids[:split], ids[split:]
    print(f"corpus {len(text)} chars, vocab {len(vocab)}, train {len(tr_ids)}, held-out {len(te_ids)}")

    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    model = CharGru(len(vocab))
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=1e-2)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=STEPS, pct_start=0.1)
    curve = []
    for step in range(1, STEPS + 1):
        model.train()
        w = torch.from_numpy(windows(tr_ids, rng.integers(0, len(tr_ids) - SEQ - 1, BATCH)))
        logits = model(w[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, len(vocab)), w[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 250 == 0:
            model.eval()
            tr_ce, te_ce = cross_entropy(model, tr_ids), cross_entropy(model, te_ids)
            curve.append((step, tr_ce, te_ce))
            print(f"  step {step}: batch loss {loss.item():.3f}, train CE {tr_ce:.3f}, held-out CE {te_ce:.3f} "
                  f"({time.time() - t0:.0f}s)", flush=True)
    model.eval()
    t_train = time.time() - t0
    tr_ce, te_ce = curve[-1][1], curve[-1][2]

    srng = np.random.default_rng(SEED + 1)
    test = windows(te_ids, np.sort(srng.choice(len(te_ids) - SEQ - 1, N_TEST, replace=False)))
    calib = windows(tr_ids, np.sort(srng.choice(len(tr_ids) - SEQ - 1, N_CALIB, replace=False)))
    x_test = test[:, None, :-1].copy()  # [N, 1, 64]
    labels = test[:, 1:].copy()  # [N, 64] next-char ids
    x_calib = calib[:, None, :-1].copy()
    x = x_test[0].copy()
    ex = Exported(model, x, x_test, D / "model.onnx", expect={"GRU": 1})
    ex.save(D, x, x_calib, x_test)
    np.save(D / "labels.npy", labels)
    lg = ex.test_ref[:, 0]  # [N, 64, vocab]
    lse = np.log(np.exp(lg - lg.max(-1, keepdims=True)).sum(-1)) + lg.max(-1)
    ort_ce = float(np.mean(lse - np.take_along_axis(lg, labels[..., None], -1)[..., 0]))
    ort_acc = float((lg.argmax(-1) == labels).mean())
    print(f"  onnxruntime on test.npy: CE {ort_ce:.3f} nats/char, next-char accuracy {ort_acc:.1%}")
    samples = [sample_text(ex, vocab, "Alice ", 200, 0.7, 1), sample_text(ex, vocab, "'Oh dear", 200, 0.7, 2)]
    for s in samples:
        print("  sample: " + s.replace("\n", "\\n"))

    vocab_desc = " ".join(json.dumps(c) for c in vocab)
    curve_txt = "\n".join(f"    step {s:5d}: train {a:.3f}, held-out {b:.3f}" for s, a, b in curve)
    sample_txt = "\n\n".join("    " + s.replace("\n", "\n    ") for s in samples)
    readme = f"""# char_gru

A character-level language model: `nn.Embedding({len(vocab)}, 32)` -> `nn.GRU(32, 128, batch_first=True)` ->
`nn.Linear(128, {len(vocab)})`, next-character logits at every position of a 64-character window. Bigger and trained
longer than `../char_rnn`, on a longer text.

- input `{ex.inputs[0][0]}`: int64 token ids [1, 64] (batch 1, static shapes); ids index `vocab.json`
- output `{ex.outputs[0][0]}`: float32 [1, 64, {len(vocab)}]: at position t, the logits of the character that follows token t
- parameters: {n_params} float32

## Accuracy

Cross-entropy in nats per character over non-overlapping 64-char windows (each from a zero GRU state):
**train {tr_ce:.3f}, held-out {te_ce:.3f}** (uniform over the vocabulary: {np.log(len(vocab)):.3f}). On the {N_TEST} windows of
`test.npy` with onnxruntime: {ort_ce:.3f} nats/char, next-character top-1 accuracy {ort_acc:.1%}. The held-out text is
the last 10% of the corpus (the end of chapter III), never trained on. Training curve:

{curve_txt}

## Vocabulary and generation

`vocab.json` is the list of the {len(vocab)} characters of the corpus in id order (sorted by code point): id i is
`vocab[i]`:

    {vocab_desc}

`\\n` is id {vocab.index(chr(10))}, space is id {vocab.index(' ')}. There is no unknown/padding token: map other characters to a
near one (e.g. a space) before feeding. To generate: put the prompt's ids (at most 64, the latest ones) at positions
0..L-1 of the [1, 64] input (fill the rest with anything, e.g. 0: the GRU is causal, positions after L-1 do not
affect position L-1), run, take the logits at position L-1, sample from softmax(logits / T), append, repeat
(sliding the window once it holds 64 characters). `sample_text` in `tools/train_char_gru.py` does exactly this
with onnxruntime. A runtime that keeps the GRU state between steps can instead feed one character at a time and
carry the state (equivalent while the context is shorter than 64). Samples (T = 0.7, onnxruntime):

{sample_txt}

## Data

`corpus.txt` ({len(text)} characters): chapters I-III of Lewis Carroll's "Alice's Adventures in Wonderland" (1865, public
domain), from Project Gutenberg's "Millennium Fulcrum Edition 2.9" e-text (`alice29.txt`, released 1992, also part
of the Canterbury compression corpus), with the Gutenberg header removed, ` quotes turned into ', paragraphs unwrapped
into single lines, the "* * *" separators and the tail-shaped "Fury said to a mouse" poem dropped
(`python tools/train_char_gru.py --make-corpus alice29.txt` does this). Training: random 65-char windows of the first
90% ({len(tr_ids)} chars) and `calib.npy`; held-out: the last 10% ({len(te_ids)} chars), from which `test.npy` comes.

## How it was made

    nice -n 19 python tools/train_char_gru.py

Seed {SEED}. {STEPS} AdamW steps (batch {BATCH} random windows, one-cycle LR max {LR}, weight decay 1e-2, gradient norm clipped at
1, dropout 0.2 on the embedding and GRU outputs, inactive at export); {t_train:.0f} s on 2 cores. A fixed number of
steps, no selection on the held-out text.

{ex.exporter_line()}

{files_section(x, ex.ref, x_calib, x_test, ex.test_ref, extra="- `labels.npy`: int64 [" + str(N_TEST) + ", 64]: the next-character ids for `test.npy` (targets of each position)." + chr(10) + "- `corpus.txt`, `vocab.json`: the text and the characters in id order." + chr(10))}
{ex.graph_section()}"""
    (D / "README.md").write_text(readme)
    print(f"  files: {dir_sizes(D)}")
    print(f"total {time.time() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
