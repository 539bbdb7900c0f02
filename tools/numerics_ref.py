#!/usr/bin/env python3
"""An independent numpy model of the fixed-point recurrent kernels, written from docs/numerics.md
("RNN / GRU / LSTM cells") to test rill_kernels::rnn::fixed against bit for bit.

All integer arithmetic is in numpy int64 (exact for the ranges involved); rounding is half away from
zero everywhere. Arrays use the float kernel's shapes: W [dirs, G*H, I], R [dirs, G*H, H] (i8 codes,
or i16 with `wbits=16` in i16 mode); x, y and the states by `layout`.
"""
import math

import numpy as np

I64 = np.int64


# --- primitives -------------------------------------------------------------------------------

def rshift_round(v, bits):
    """round(v / 2^bits), half away from zero (elementwise, int64)."""
    v = np.asarray(v, dtype=I64)
    half = I64(1) << I64(bits - 1)
    return np.where(v >= 0, (v + half) >> I64(bits), -((half - v) >> I64(bits))).astype(I64)


def quantize_multiplier(real):
    """(m0, shift) with real = m0 * 2^(shift - 31), as rill_kernels::fixed::quantize_multiplier."""
    if not math.isfinite(real) or real < 0:
        raise ValueError(real)
    if real == 0:
        return (0, 0)
    mant, exp = math.frexp(real)
    m0 = int(math.floor(mant * 2.0**31 + 0.5))
    if m0 == 1 << 31:
        m0 //= 2
        exp += 1
    if exp > 30:
        raise ValueError(f"multiplier {real} too large")
    if exp < -31:
        return (0, 0)
    return (m0, exp)


def requantize(acc, m):
    """acc * M for i32 accumulators: one rounding, saturated to i32."""
    m0, shift = m
    shift = min(max(shift, -31), 30)
    prod = np.asarray(acc, dtype=I64) * I64(m0)
    return np.clip(rshift_round(prod, 31 - shift), -2**31, 2**31 - 1).astype(I64)


def requantize_i64(acc, m):
    """acc * M for i64 accumulators: mantissa rounded to Q15, |acc| clamped below 2^47."""
    m0, shift = m
    shift = min(max(shift, -31), 30)
    lim = (1 << 47) - 1
    m15 = (m0 + (1 << 15)) >> 16
    prod = np.clip(np.asarray(acc, dtype=I64), -lim, lim) * I64(m15)
    bits = min(max(15 - shift, 1), 62)
    return np.clip(rshift_round(prod, bits), -2**31, 2**31 - 1).astype(I64)


def sat(v, lo, hi):
    return np.clip(np.asarray(v, dtype=I64), lo, hi).astype(I64)


def sat16(v):
    return sat(v, -32768, 32767)


# --- gate tables ------------------------------------------------------------------------------

def make_table(f):
    x = np.arange(513, dtype=np.float64) / 32.0 - 8.0
    v = f(x) * 32768.0
    q = np.sign(v) * np.floor(np.abs(v) + 0.5)
    return np.clip(q, -32768, 32767).astype(I64)


SIGMOID = make_table(lambda x: 1.0 / (1.0 + np.exp(-x)))
TANH = make_table(np.tanh)


def lut(table, p):
    """Interpolated table lookup of Q3.12 values p (already i16), Q0.15."""
    u = np.asarray(p, dtype=I64) + 32768
    i = u >> 7
    frac = u & 127
    a, b = table[i], table[i + 1]
    return a + rshift_round((b - a) * frac, 7)


def sigmoid(p):
    return lut(SIGMOID, sat16(p))


def tanh(p):
    return lut(TANH, sat16(p))


# --- one layer --------------------------------------------------------------------------------

class Layer:
    """cell: 'rnn' | 'gru' | 'lstm'; mode: 'i8' | 'i16'; act: 'tanh' | 'relu' (RNN only);
    wbits: 8 (default) or 16 (i16 weight codes, i16 mode only).

    w_bias, r_bias: int [dirs*G*H]; w_mul, r_mul: lists of (m0, shift) pairs per row;
    h_mul, h_to_q15: (m0, shift); z_x, z_h, cell_k, clip_q12: ints.
    """

    def __init__(self, **kw):
        self.__dict__.update(kw)
        self.G = {"rnn": 1, "gru": 3, "lstm": 4}[self.cell]
        self.lo, self.hi = (-128, 127) if self.mode == "i8" else (-32768, 32767)
        self.wbits = kw.get("wbits", 8)
        assert self.wbits in (8, 16) and not (self.wbits == 16 and self.mode == "i8"), \
            "i16 weights need i16 activations"
        self.wide = self.mode == "i16" or self.wbits == 16

    def requant(self, acc, m):
        """i64 accumulator and requantize_i64 when activations or weights are i16."""
        return requantize_i64(acc, m) if self.wide else requantize(acc, m)

    def rows(self, bias, v, mat, muls, row0, n):
        """requant(bias[j] + sum v[i] mat[j, i], mul[j]) (i32, not saturated to i16) for rows row0..row0+n."""
        out = np.zeros(n, dtype=I64)
        for j in range(n):
            acc = I64(bias[row0 + j]) + int(np.dot(np.asarray(v, I64), mat[j].astype(I64)))
            if not self.wide:
                assert -2**31 <= acc < 2**31, "i32 accumulator overflow in a test case"
            out[j] = self.requant(acc, muls[row0 + j])
        return out

    def clip(self, p):
        return np.clip(p, -self.clip_q12, self.clip_q12) if self.clip_q12 > 0 else p

    def out(self, v):
        return sat(self.z_h + requantize(v, self.h_mul), self.lo, self.hi)

    def step(self, d, x, h, c):
        """One step of direction slot d: returns (h, c) (codes; c for LSTM)."""
        H, G = self.hidden, self.G
        W, R = self.w[d], self.r[d]
        base = d * G * H
        px = self.rows(self.w_bias, x, W, self.w_mul, base, G * H)
        if self.cell == "gru":
            # the candidate rows' recurrent part depends on r
            ph = self.rows(self.r_bias, h, R[: 2 * H], self.r_mul, base, 2 * H)
            pre = self.clip(sat16(px[: 2 * H] + ph))
            z, r = sigmoid(pre[:H]), sigmoid(pre[H:])
            if self.lbr:
                phh = self.rows(self.r_bias, h, R[2 * H:], self.r_mul, base + 2 * H, H)
                ph_cand = rshift_round(r * phh, 15)
            else:
                rh = rshift_round(r * (np.asarray(h, I64) - self.z_h), 15)
                ph_cand = self.rows(self.r_bias, rh, R[2 * H:], self.r_mul, base + 2 * H, H)
            cand = tanh(self.clip(sat16(px[2 * H:] + ph_cand)))
            hp = requantize(np.asarray(h, I64) - self.z_h, self.h_to_q15)
            blend = cand + rshift_round(z * (hp - cand), 15)
            return self.out(blend), c
        ph = self.rows(self.r_bias, h, R, self.r_mul, base, G * H)
        pre = self.clip(sat16(px + ph))
        if self.cell == "rnn":
            v = np.maximum(pre, 0) if self.act == "relu" else tanh(pre)
            return self.out(v), c
        k = self.cell_k
        i, o, f, g = sigmoid(pre[:H]), sigmoid(pre[H:2 * H]), sigmoid(pre[2 * H:3 * H]), tanh(pre[3 * H:])
        c = sat16(rshift_round(f * c, 15) + rshift_round(i * g, 15 + k))
        tc = tanh(sat16(c * (1 << (k - 3))))
        return self.out(o * tc), c

    def run(self, x, initial_h=None, initial_c=None):
        """x: [seq, batch, I] (layout 0) or [batch, seq, I]; returns y, y_h, y_c in the layout's
        shapes (y_c None unless LSTM)."""
        dirs = 2 if self.direction == "bidirectional" else 1
        H = self.hidden
        if self.layout == 1:
            x = np.transpose(x, (1, 0, 2))
            initial_h = None if initial_h is None else np.transpose(initial_h, (1, 0, 2))
            initial_c = None if initial_c is None else np.transpose(initial_c, (1, 0, 2))
        seq, batch = x.shape[0], x.shape[1]
        y = np.zeros((seq, dirs, batch, H), I64)
        y_h = np.zeros((dirs, batch, H), I64)
        y_c = np.zeros((dirs, batch, H), I64)
        for d in range(dirs):
            rev = self.direction == "reverse" or d == 1
            for b in range(batch):
                h = np.full(H, self.z_h, I64) if initial_h is None else initial_h[d, b].astype(I64)
                c = np.zeros(H, I64) if initial_c is None else initial_c[d, b].astype(I64)
                for t in (range(seq - 1, -1, -1) if rev else range(seq)):
                    h, c = self.step(d, x[t, b], h, c)
                    y[t, d, b] = h
                y_h[d, b], y_c[d, b] = h, c
        if self.layout == 1:
            y = np.transpose(y, (2, 0, 1, 3))
            y_h = np.transpose(y_h, (1, 0, 2))
            y_c = np.transpose(y_c, (1, 0, 2))
        return y, y_h, (y_c if self.cell == "lstm" else None)
