#!/usr/bin/env python3
"""Writes tests/data/numerics/{lstm,gru,rnn}.json: random but realistic quantized recurrent layers
(float weights quantized the way rill-convert's quantize/rnn.rs does it) with inputs and the expected
outputs of the numpy reference tools/numerics_ref.py. rill_kernels::rnn::fixed_tests checks the Rust
kernel against them bit for bit. Each file holds the i8-weight cases (i8 and i16 activations) and then,
appended from a separate random stream so the earlier cases stay unchanged, i16-weight cases (i16
activations, weights symmetric per row with scale max |w| / 32767, marked "wbits": 16).

Usage: python3 tools/gen_rnn_cases.py   (numpy; deterministic)
"""
import json
import math
import pathlib

import numpy as np

import numerics_ref as ref

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests/data/numerics"
CELL = {"rnn": 0, "gru": 1, "lstm": 2}
DIRECTION = {"forward": 0, "reverse": 1, "bidirectional": 2}


def act_params(mode, lo, hi):
    """(scale, zero point) of an activation range, widened to include 0."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if mode == "i8":
        s = (hi - lo) / 255.0
        z = int(round(-128 - lo / s))
        return s, max(-128, min(127, z))
    return max(abs(lo), abs(hi)) / 32767.0, 0


def quantize_rows(m, qmax=127):
    """Symmetric per-row codes in [-qmax, qmax] (127: i8, 32767: i16) and scales."""
    s = np.abs(m).max(axis=1) / float(qmax)
    s[s == 0] = 1.0
    q = np.clip(np.round(m / s[:, None]), -qmax, qmax).astype(np.int64)
    return q, s


def sat32(v):
    return max(-2**31, min(2**31 - 1, v))


def make_case(rng, cell, mode, direction, layout, with_init, lbr=0, act="tanh", clip=0.0, wbits=8):
    dirs = 2 if direction == "bidirectional" else 1
    G = {"rnn": 1, "gru": 3, "lstm": 4}[cell]
    seq, batch, I, H = int(rng.integers(2, 5)), int(rng.integers(1, 3)), int(rng.integers(2, 5)), int(rng.integers(2, 5))
    rows = dirs * G * H
    lo = hi = 3.0
    sx, zx = act_params(mode, -rng.uniform(0.5, 3.0), rng.uniform(0.5, 3.0))
    if cell == "rnn" and act == "relu":
        sh, zh = act_params(mode, 0.0, rng.uniform(1.0, 4.0))
    else:
        sh, zh = act_params(mode, -rng.uniform(0.6, 1.0), rng.uniform(0.6, 1.0))
    w = rng.normal(0, 1.2 / math.sqrt(I), (rows, I))
    r = rng.normal(0, 1.0 / math.sqrt(H), (rows, H))
    bias = rng.normal(0, 0.3, (dirs, 2 * G * H))
    qmax = 32767 if wbits == 16 else 127
    wq, sw = quantize_rows(w, qmax)
    rq, sr = quantize_rows(r, qmax)
    w_bias, r_bias, w_mul, r_mul = [], [], [], []
    for row in range(rows):
        d, gr = divmod(row, G * H)
        wb, rb = bias[d, gr], bias[d, G * H + gr]
        # Saturated to i32: with i16 activations and i16 weights the bias unit s_x s_W[j] is ~1e-9, so
        # a bias beyond ~2 can overflow (the converter must clamp, or widen that row's s_W).
        w_bias.append(sat32(int(round(wb / (sx * sw[row]))) - zx * int(wq[row].sum())))
        plain = cell == "gru" and lbr == 0 and gr >= 2 * H
        r_bias.append(sat32(int(round(rb / (sh * sr[row]))) - (0 if plain else zh * int(rq[row].sum()))))
        w_mul.append(ref.quantize_multiplier(sx * sw[row] * 4096.0))
        r_mul.append(ref.quantize_multiplier(sh * sr[row] * 4096.0))
    bits = 30 if cell == "lstm" else (12 if act == "relu" else 15)
    lo, hi = (-128, 127) if mode == "i8" else (-32768, 32767)
    k = int(rng.integers(3, 8)) if cell == "lstm" else 0
    clip_q12 = int(round(clip * 4096)) if clip > 0 else 0
    layer = ref.Layer(
        cell=cell, mode=mode, direction=direction, layout=layout, hidden=H, lbr=lbr, act=act,
        z_x=zx, z_h=zh, cell_k=k, clip_q12=clip_q12, wbits=wbits,
        w=wq.reshape(dirs, G * H, I), r=rq.reshape(dirs, G * H, H),
        w_bias=w_bias, r_bias=r_bias, w_mul=w_mul, r_mul=r_mul,
        h_mul=ref.quantize_multiplier(1.0 / (2.0**bits * sh)),
        h_to_q15=ref.quantize_multiplier(sh * 32768.0),
    )
    xshape = (seq, batch, I) if layout == 0 else (batch, seq, I)
    sshape = (dirs, batch, H) if layout == 0 else (batch, dirs, H)
    x = rng.integers(lo, hi + 1, xshape)
    h0 = rng.integers(lo, hi + 1, sshape) if with_init else None
    c0 = None
    if with_init and cell == "lstm":
        c0 = rng.integers(-(1 << 15) // 2, (1 << 15) // 2, sshape)
    y, y_h, y_c = layer.run(x, h0, c0)
    lst = lambda a: None if a is None else [int(v) for v in np.asarray(a).ravel()]
    flat = lambda ms: [int(v) for m in ms for v in m]
    case = {
        "name": f"{cell}{'_lbr' + str(lbr) if cell == 'gru' else ''}{'_' + act if cell == 'rnn' else ''}"
                f"_{mode}{'_w16' if wbits == 16 else ''}_{direction}_layout{layout}"
                f"{'_init' if with_init else ''}{'_clip' if clip_q12 else ''}",
        "mode": 16 if mode == "i16" else 8,
        "cell": CELL[cell], "direction": DIRECTION[direction], "seq": seq, "batch": batch,
        "input": I, "hidden": H, "layout": layout, "lbr": lbr,
        "act": 1 if act == "relu" else 5,
        "z_x": zx, "z_h": zh, "cell_k": k, "clip_q12": clip_q12,
        "h_mul": list(layer.h_mul), "h_to_q15": list(layer.h_to_q15),
        "w_bias": w_bias, "r_bias": r_bias, "w_mul": flat(w_mul), "r_mul": flat(r_mul),
        "x": lst(x), "w": lst(wq), "r": lst(rq), "initial_h": lst(h0), "initial_c": lst(c0),
        "y": lst(y), "y_h": lst(y_h), "y_c": lst(y_c),
    }
    if wbits == 16:
        case["wbits"] = 16  # absent: 8
    return case


def main():
    rng = np.random.default_rng(20261123)
    rng16 = np.random.default_rng(20261124)  # the i16-weight cases: leaves rng's cases unchanged
    OUT.mkdir(parents=True, exist_ok=True)
    kinds = {
        "lstm": [dict(cell="lstm")],
        "gru": [dict(cell="gru", lbr=0), dict(cell="gru", lbr=1)],
        "rnn": [dict(cell="rnn", act="tanh"), dict(cell="rnn", act="relu")],
    }
    total = 0
    for fname, variants in kinds.items():
        cases = []
        n = 0
        for v in variants:
            for mode in ("i8", "i16"):
                for direction in ("forward", "reverse", "bidirectional"):
                    for layout in (0, 1):
                        cases.append(make_case(rng, mode=mode, direction=direction, layout=layout,
                                               with_init=(n % 2 == 1) or (n % 5 == 0),
                                               clip=(2.0 if n % 7 == 3 else 0.0), **v))
                        n += 1
        for v in variants:
            for direction in ("forward", "reverse", "bidirectional"):
                for layout in (0, 1):
                    cases.append(make_case(rng16, mode="i16", direction=direction, layout=layout,
                                           with_init=(n % 2 == 1) or (n % 5 == 0),
                                           clip=(2.0 if n % 7 == 3 else 0.0), wbits=16, **v))
                    n += 1
        text = json.dumps(cases, separators=(",", ":"))
        path = OUT / f"{fname}.json"
        path.write_text(text + "\n")
        total += len(text)
        print(f"wrote {path}: {len(cases)} cases, {len(text)} bytes")
    print(f"total {total} bytes")


if __name__ == "__main__":
    main()
