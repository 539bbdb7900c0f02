#!/usr/bin/env python3
"""Reference MFCCs of a whole WAV file for the rill-dsp tolerance test, computed by tools/frontend.py's numpy code.

tools/frontend.py's `mfcc` takes exactly one 1 s clip; this frames a file of any length the same way (frame 480,
hop 320, no padding: n_frames = 1 + (n - 480) // 320) and reuses frontend.py's window, mel filterbank and DCT
matrix, so the result is the reference front end applied frame by frame. As a guard it checks that its first 49
frames equal frontend.mfcc(first 16000 samples).

    python tools/gen_frontend_ref.py models/kws_dscnn/demo.wav tests/data/frontend/demo_mfcc.npy

Output: float32 [n_frames, n_mfcc] .npy.
"""
from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import frontend as fe  # noqa: E402


def mfcc_long(x: np.ndarray) -> np.ndarray:
    p = fe.PARAMS
    audio = x.astype(np.float64) / 32768.0
    n_frames = 1 + (len(audio) - p["frame_len"]) // p["hop"]
    idx = np.arange(n_frames)[:, None] * p["hop"] + np.arange(p["frame_len"])[None, :]
    spec = np.fft.rfft(audio[idx] * fe.hann_periodic(), n=p["fft_len"], axis=-1)
    power = spec.real ** 2 + spec.imag ** 2
    logmel = np.log(power @ fe.mel_filterbank().T + p["log_floor"])
    return (logmel @ fe.dct_matrix().T).astype(np.float32)


def main() -> None:
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    x, sr = fe.read_wav_int16(sys.argv[1])
    assert sr == fe.PARAMS["sample_rate"], sr
    out = mfcc_long(x)
    clip = fe.mfcc(x[: fe.PARAMS["clip_samples"]])
    assert np.array_equal(out[: len(clip)], clip), np.abs(out[: len(clip)] - clip).max()
    np.save(sys.argv[2], out)
    print(f"{sys.argv[2]}: {out.shape}, range [{out.min():.3f}, {out.max():.3f}]")


if __name__ == "__main__":
    main()
