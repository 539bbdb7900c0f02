#!/usr/bin/env python3
"""The keyword-spotting audio front end (MFCC), in plain numpy: the reference a fixed-point Rust port must match.

One 1 s clip of 16 kHz mono int16 audio -> features float32 [49, 10] (49 frames x 10 MFCC coefficients):

 1. scale:   x = int16 / 32768, so x is in [-1, 1).
 2. frames:  frame length 480 samples (30 ms), hop 320 samples (20 ms), no padding at either end:
             frame t covers samples [320 t, 320 t + 480); n_frames = 1 + (16000 - 480) // 320 = 49.
 3. window:  periodic Hann, w[n] = 0.5 - 0.5 cos(2 pi n / 480), n = 0..479 (no pre-emphasis, no dithering,
             no DC removal).
 4. FFT:     the 480 windowed samples zero-padded to 512, real FFT -> 257 bins, bin k at k * 16000 / 512 Hz.
 5. power:   P[k] = re^2 + im^2 (no 1/N scaling).
 6. mel:     40 triangular filters, HTK mel scale mel(f) = 2595 log10(1 + f / 700), edges equally spaced in
             mel from 20 Hz to 4000 Hz (42 edges). Filter m rises linearly from 0 at edge m to 1 at edge m+1
             and falls back to 0 at edge m+2, evaluated at each bin's centre frequency (peak height 1, no
             area normalisation). Only bins 1..127 are non-zero (see `mel_filterbank`).
             E[m] = sum_k W[m, k] P[k].
 7. log:     L[m] = ln(E[m] + 1e-6) (natural log).
 8. DCT:     orthonormal DCT-II over the 40 log energies, first 10 coefficients kept:
             C[i] = s_i sum_m L[m] cos(pi i (2m + 1) / 80), s_0 = sqrt(1/40), s_i = sqrt(2/40) for i > 0.

No mean/variance normalisation happens here: the models take these raw MFCCs and normalise them inside
their graphs. `PARAMS` lists the constants (also written to models/kws_dscnn/frontend.json).

    python tools/frontend.py some.wav   # prints the [49, 10] features of a 16 kHz mono int16 WAV (first 1 s)
"""
from __future__ import annotations

import numpy as np

PARAMS = dict(
    sample_rate=16000,
    clip_samples=16000,
    frame_len=480,
    hop=320,
    n_frames=49,
    fft_len=512,
    window="hann",  # periodic Hann: 0.5 - 0.5 cos(2 pi n / frame_len)
    power="re^2 + im^2, unscaled",
    n_mels=40,
    mel_scale="htk",  # mel(f) = 2595 log10(1 + f / 700)
    fmin=20.0,
    fmax=4000.0,
    log="natural",
    log_floor=1e-6,  # ln(mel_energy + log_floor)
    n_mfcc=10,
    dct="DCT-II, orthonormal",
    input_scale="int16 / 32768",
)


def hann_periodic(n: int = PARAMS["frame_len"]) -> np.ndarray:
    """Periodic Hann window of length n (float64): 0.5 - 0.5 cos(2 pi i / n)."""
    i = np.arange(n, dtype=np.float64)
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * i / n)


def hz_to_mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(n_mels: int = PARAMS["n_mels"], fft_len: int = PARAMS["fft_len"],
                   sample_rate: int = PARAMS["sample_rate"], fmin: float = PARAMS["fmin"],
                   fmax: float = PARAMS["fmax"]) -> np.ndarray:
    """Triangular HTK-mel filterbank, float64 [n_mels, fft_len // 2 + 1].

    Edges: n_mels + 2 frequencies equally spaced on the mel scale from fmin to fmax. Filter m has its feet at
    edges m and m+2 and its peak (height 1) at edge m+1; its weight for FFT bin k (frequency
    f_k = k * sample_rate / fft_len) is max(0, min((f_k - lo) / (mid - lo), (hi - f_k) / (hi - mid))).
    """
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    freqs = np.arange(fft_len // 2 + 1, dtype=np.float64) * sample_rate / fft_len
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs[None, :] - lo) / (mid - lo)
    down = (hi - freqs[None, :]) / (hi - mid)
    return np.maximum(0.0, np.minimum(up, down))


def dct_matrix(n_mfcc: int = PARAMS["n_mfcc"], n_mels: int = PARAMS["n_mels"]) -> np.ndarray:
    """Orthonormal DCT-II rows, float64 [n_mfcc, n_mels]: D[i, m] = s_i cos(pi i (2m + 1) / (2 n_mels))."""
    i = np.arange(n_mfcc, dtype=np.float64)[:, None]
    m = np.arange(n_mels, dtype=np.float64)[None, :]
    d = np.cos(np.pi * i * (2.0 * m + 1.0) / (2.0 * n_mels)) * np.sqrt(2.0 / n_mels)
    d[0] *= np.sqrt(0.5)
    return d


_WINDOW = hann_periodic()
_MEL = mel_filterbank()
_DCT = dct_matrix()


def frames(audio: np.ndarray) -> np.ndarray:
    """[..., 16000] float -> [..., 49, 480] overlapping frames (hop 320)."""
    p = PARAMS
    idx = np.arange(p["n_frames"])[:, None] * p["hop"] + np.arange(p["frame_len"])[None, :]
    return audio[..., idx]


def mfcc(audio: np.ndarray) -> np.ndarray:
    """MFCC features of one clip or a batch.

    audio: int16 [..., 16000] (scaled by 1/32768 here) or float [..., 16000] already in [-1, 1).
    Returns float32 [..., 49, 10]. Computed in float64, rounded to float32 at the end.
    """
    audio = np.asarray(audio)
    if audio.dtype == np.int16:
        audio = audio.astype(np.float64) / 32768.0
    else:
        audio = audio.astype(np.float64)
    assert audio.shape[-1] == PARAMS["clip_samples"], audio.shape
    spec = np.fft.rfft(frames(audio) * _WINDOW, n=PARAMS["fft_len"], axis=-1)
    power = spec.real ** 2 + spec.imag ** 2
    mel = power @ _MEL.T
    logmel = np.log(mel + PARAMS["log_floor"])
    return (logmel @ _DCT.T).astype(np.float32)


def mfcc_batched(audio: np.ndarray, batch: int = 512) -> np.ndarray:
    """`mfcc` over a large [N, 16000] array in chunks (bounded memory)."""
    out = [mfcc(audio[i:i + batch]) for i in range(0, len(audio), batch)]
    return np.concatenate(out) if out else np.zeros((0, PARAMS["n_frames"], PARAMS["n_mfcc"]), np.float32)


def read_wav_int16(path: str) -> tuple[np.ndarray, int]:
    """Minimal reader for PCM16 WAV files: (int16 samples [n] of channel 0, sample rate)."""
    import wave

    with wave.open(path, "rb") as w:
        assert w.getsampwidth() == 2, "16-bit PCM only"
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return data[:: w.getnchannels()].copy(), w.getframerate()


def write_wav_int16(path: str, samples: np.ndarray, sample_rate: int = PARAMS["sample_rate"]) -> None:
    import wave

    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(np.asarray(samples, dtype="<i2").tobytes())


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    x, sr = read_wav_int16(sys.argv[1])
    assert sr == PARAMS["sample_rate"], f"need {PARAMS['sample_rate']} Hz, got {sr}"
    x = np.pad(x[:16000], (0, max(0, 16000 - len(x))))
    np.set_printoptions(precision=3, suppress=True, linewidth=160)
    print(mfcc(x))
