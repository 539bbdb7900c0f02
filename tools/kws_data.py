#!/usr/bin/env python3
"""Synthesises a Speech-Commands-like keyword-spotting data set with espeak-ng + sox, and its MFCC features.

    apt-get install -y espeak-ng sox        # espeak-ng 1.51, sox 14.4.2 were used
    nice -n 19 python tools/kws_data.py     # writes out/kws/ (a few minutes on 2 cores)

12 classes (the Speech Commands v0.02 "12 class" task): the 10 keywords yes no up down left right on off stop go,
"unknown" (25 other words: the Speech Commands auxiliary words and digits) and "silence" (noise only).

Speakers: espeak-ng's English accents (`ACCENTS`, 8) x its voice variants (`espeak-ng --voices=variant`, 100+ of
them: m1..m8, f1..f5, klatt..klatt6, croak, whisper, and the many named ones). A "speaker" is one
accent+variant combination with its own base pitch (-p 20..80), speed (-s 120..200) and amplitude; every word
it says jitters pitch (+-12) and speed (+-20) around them. The split is by VARIANT, so the test and validation
speakers are disjoint from the training speakers and not even their voice timbre was seen in training:
~70% of the variants (x all 8 accents) train, ~10% validation, ~20% test.

Per speaker: each keyword, and 2 random "unknown" words; plus noise-only "silence" clips (about one keyword class
worth). Training speakers say each of their words 4 times (`RENDITIONS`), each rendition with its own pitch/speed
jitter, room and a sox `speed` factor 0.85..1.15 (scales formants, pitch and tempo together, like vocal tract length
perturbation); validation and test speakers say each word once, unperturbed. The utterance is resampled to 16 kHz
mono by sox, ~30% get a synthetic room (sox `reverb`, random reverberance / damping / room scale), and
leading/trailing silence is trimmed.

Augmentation (numpy, `augment`), once per utterance with a fixed seed: the utterance is placed at a random offset
in the 1 s clip, scaled to a random speech level (-35..-12 dBFS RMS over its active part: gain jitter), and a noise
clip from a bank of synthetic room noises (coloured 1/f^a noise, a in 0..2, random low/high-pass, sometimes mains
hum or a slow level wobble) is added at a random SNR of 5..30 dB; silence clips are noise alone at -70..-25 dBFS.

Outputs in out/kws/ (gitignored):
    utterances_{train,val,test}.npz   trimmed int16 utterances, concatenated (`audio`, `offsets`), labels, speakers, words
    noise_bank.npy                    int16 [N_NOISE, 32000]
    features_{train,val,test}.npz     MFCC float32 [N, 49, 10] (tools/frontend.py), labels int64, speakers, words;
                                      test also keeps its int16 clips [N, 16000]
    demo.wav, demo_truth.json         9 s of a held-out test speaker saying 5 keywords in room noise
    meta.json                         classes, words, split, counts, versions, timings
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zlib
from multiprocessing import Pool
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import frontend  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "out" / "kws"
SR = 16000
CLIP = 16000

KEYWORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
CLASSES = KEYWORDS + ["unknown", "silence"]
UNKNOWN_WORDS = ["backward", "bed", "bird", "cat", "dog", "follow", "forward", "happy", "house", "learn",
                 "marvin", "sheila", "tree", "visual", "wow", "zero", "one", "two", "three", "four", "five",
                 "six", "seven", "eight", "nine"]
ACCENTS = ["en", "en-us", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd", "en-029",
           "en-us-nyc"]
UNKNOWN_PER_SPEAKER = 2
RENDITIONS = {"train": 4, "val": 1, "test": 1}  # distinct syntheses of each (speaker, word)
SEED = 20240601
N_NOISE = 240
FRAC_TEST, FRAC_VAL = 0.2, 0.1


def variants() -> list[str]:
    """espeak-ng's voice variants (file names under !v/), sorted, deduplicated."""
    out = subprocess.run(["espeak-ng", "--voices=variant"], capture_output=True, text=True, check=True).stdout
    names = set()
    for line in out.splitlines()[1:]:
        cols = line.split()
        if len(cols) >= 5 and cols[4].startswith("!v/"):
            names.add(cols[4][3:])
    return sorted(names, key=str.lower)


def split_variants(names: list[str]) -> dict[str, list[str]]:
    rng = np.random.default_rng(SEED)
    perm = [names[i] for i in rng.permutation(len(names))]
    n_test = round(FRAC_TEST * len(names))
    n_val = round(FRAC_VAL * len(names))
    return {"test": sorted(perm[:n_test], key=str.lower), "val": sorted(perm[n_test:n_test + n_val], key=str.lower),
            "train": sorted(perm[n_test + n_val:], key=str.lower)}


def job_rng(*key) -> np.random.Generator:
    """A generator seeded from a job's identity, so results do not depend on the worker scheduling."""
    return np.random.default_rng([SEED, zlib.crc32(repr(key).encode())])


def speak(job: dict) -> np.ndarray:
    """Run espeak-ng | sox for one word; return the trimmed int16 16 kHz utterance."""
    cmd = ["espeak-ng", "--stdout", "-v", f"{job['accent']}+{job['variant']}", "-p", str(job["pitch"]),
           "-s", str(job["speed"]), "-a", str(job["amp"]), job["word"]]
    wav = subprocess.run(cmd, capture_output=True, check=True).stdout
    fx = ["channels", "1", "rate", "16k"]
    if job.get("vtlp", 1.0) != 1.0:
        fx = ["speed", str(job["vtlp"])] + fx
    if job["reverb"]:
        r = job["reverb"]
        fx = ["pad", "0", "0.4", "reverb", str(r[0]), str(r[1]), str(r[2])] + fx
    sox = ["sox", "-V1", "-t", "wav", "-", "-t", "raw", "-e", "signed-integer", "-b", "16", "-c", "1", "-", *fx]
    raw = subprocess.run(sox, input=wav, capture_output=True, check=True).stdout
    x = np.frombuffer(raw, dtype="<i2").astype(np.float64)
    return trim(x, -30.0 if job["reverb"] else -35.0)


def trim(x: np.ndarray, thresh_db: float) -> np.ndarray:
    """Cut leading/trailing silence: keep 10 ms frames within thresh_db of the loudest one (+20 ms margin)."""
    n = len(x) // 160
    if n == 0:
        return np.zeros(0, np.int16)
    e = (x[: n * 160].reshape(n, 160) ** 2).mean(1) + 1e-9
    on = np.nonzero(10 * np.log10(e / e.max()) > thresh_db)[0]
    a, b = max(0, (on[0] - 2) * 160), min(len(x), (on[-1] + 3) * 160)
    return np.clip(np.round(x[a:b]), -32768, 32767).astype(np.int16)


def speaker_jobs(split: str, vars_: list[str]) -> list[dict]:
    jobs = []
    for accent in ACCENTS:
        for variant in vars_:
            spk = f"{accent}+{variant}"
            rng = job_rng("speaker", spk)
            pitch, speed, amp = int(rng.integers(20, 81)), int(rng.integers(120, 201)), int(rng.integers(80, 161))
            words = [(w, CLASSES.index(w)) for w in KEYWORDS]
            words += [(str(w), CLASSES.index("unknown")) for w in rng.choice(UNKNOWN_WORDS, UNKNOWN_PER_SPEAKER, replace=False)]
            for word, label in words:
                for k in range(RENDITIONS[split]):
                    r = job_rng("utt", spk, word, k)
                    rev = None
                    if r.random() < 0.3:
                        rev = (int(r.integers(20, 91)), int(r.integers(20, 91)), int(r.integers(20, 101)))
                    # training only: a sox `speed` factor scales formants, pitch and tempo together (like vocal
                    # tract length perturbation), so each rendition is a slightly different speaker
                    vtlp = round(float(r.uniform(0.85, 1.15)), 3) if split == "train" else 1.0
                    jobs.append(dict(split=split, speaker=spk, word=word, label=label, accent=accent, variant=variant,
                                     pitch=int(np.clip(pitch + r.integers(-12, 13), 0, 99)),
                                     speed=int(np.clip(speed + r.integers(-20, 21), 80, 260)), amp=amp, reverb=rev,
                                     vtlp=vtlp))
    return jobs


def noise_bank(n: int, length: int = 2 * SR) -> np.ndarray:
    """Synthetic room noises, int16 [n, length], each at about -20 dBFS RMS."""
    rng = np.random.default_rng([SEED, 7])
    out = np.zeros((n, length), np.int16)
    f = np.fft.rfftfreq(length, 1 / SR)
    t = np.arange(length) / SR
    for i in range(n):
        alpha = rng.uniform(0.0, 2.0)
        spec = rng.normal(size=len(f)) + 1j * rng.normal(size=len(f))
        shape = 1.0 / np.maximum(f, 20.0) ** (alpha / 2)
        if rng.random() < 0.5:  # random low-pass (soft, 2nd order)
            fc = rng.uniform(800, 7000)
            shape = shape / (1 + (f / fc) ** 4) ** 0.5
        if rng.random() < 0.3:  # high-pass (rumble removed)
            fc = rng.uniform(50, 300)
            shape = shape * (f / fc) ** 2 / (1 + (f / fc) ** 4) ** 0.5
        x = np.fft.irfft(spec * shape, n=length)
        x /= x.std() + 1e-12
        if rng.random() < 0.2:  # mains hum with harmonics
            f0 = rng.choice([50.0, 60.0])
            hum = sum(rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6.3)) for k in range(1, 6))
            x = x + rng.uniform(0.3, 2.0) * hum / (hum.std() + 1e-12)
        if rng.random() < 0.3:  # slow level wobble (fan, traffic)
            x = x * (1 + rng.uniform(0.2, 0.6) * np.sin(2 * np.pi * rng.uniform(0.2, 3) * t + rng.uniform(0, 6.3)))
        x = x / (x.std() + 1e-12) * 0.1 * 32768
        out[i] = np.clip(np.round(x), -32768, 32767).astype(np.int16)
    return out


def rms_active(u: np.ndarray) -> float:
    """RMS of the utterance over its 10 ms frames within 30 dB of the loudest (the 'speech level')."""
    n = max(1, len(u) // 160)
    e = (u[: n * 160].reshape(n, -1).astype(np.float64) ** 2).mean(1) + 1e-9
    return float(np.sqrt(e[e > e.max() * 1e-3].mean()))


def augment(flat: np.ndarray, offsets: np.ndarray, labels: np.ndarray, noise: np.ndarray,
            rng: np.random.Generator) -> tuple[np.ndarray, list[dict]]:
    """One random 1 s int16 clip per utterance (see module doc); utterance i is flat[offsets[i]:offsets[i+1]].
    Returns clips [N, 16000] and the random draws."""
    sil = CLASSES.index("silence")
    clips = np.zeros((len(labels), CLIP), np.int16)
    draws = []
    for i in range(len(labels)):
        nz = noise[rng.integers(len(noise))].astype(np.float64)
        start = int(rng.integers(0, len(nz) - CLIP + 1))
        nz = nz[start:start + CLIP] / (nz.std() + 1e-12)
        if labels[i] == sil:
            level_db = rng.uniform(-70, -25)
            x = nz * 32768 * 10 ** (level_db / 20)
            d = dict(level_db=level_db)
        else:
            u = flat[offsets[i]:offsets[i + 1]].astype(np.float64)
            if len(u) > CLIP:  # keep the onset: crop at most 0.1 s off the front, the rest off the tail
                a = int(rng.integers(0, min(len(u) - CLIP, SR // 10) + 1))
                u = u[a:a + CLIP]
            off = int(rng.integers(0, CLIP - len(u) + 1))
            level_db = rng.uniform(-35, -12)
            u = u * (32768 * 10 ** (level_db / 20) / (rms_active(u) + 1e-9))
            snr = rng.uniform(5, 30)
            x = np.zeros(CLIP)
            x[off:off + len(u)] = u
            x += nz * 32768 * 10 ** ((level_db - snr) / 20)
            d = dict(level_db=level_db, snr_db=snr, offset=off)
        clips[i] = np.clip(np.round(x), -32768, 32767).astype(np.int16)
        draws.append(d)
    return clips, draws


def make_demo(test_vars: list[str], noise: np.ndarray):
    """~9 s: a held-out test speaker says 5 keywords at known times, in continuous room noise."""
    rng = np.random.default_rng([SEED, 99])
    variant = test_vars[int(rng.integers(len(test_vars)))]
    accent = "en-us"
    words = ["yes", "stop", "left", "go", "off"]
    length = 9 * SR
    nz = np.concatenate([noise[int(rng.integers(len(noise)))].astype(np.float64) for _ in range(5)])[:length]
    x = nz / nz.std() * 32768 * 10 ** (-50 / 20)
    truth = []
    for k, w in enumerate(words):
        u = speak(dict(accent=accent, variant=variant, pitch=45, speed=150, amp=120, word=w, reverb=None)).astype(np.float64)
        u = u * (32768 * 10 ** (-22 / 20) / rms_active(u))
        start = int((0.9 + 1.7 * k + rng.uniform(-0.15, 0.15)) * SR)
        x[start:start + len(u)] += u
        truth.append(dict(keyword=w, start_s=round(start / SR, 3), end_s=round((start + len(u)) / SR, 3)))
    return np.clip(np.round(x), -32768, 32767).astype(np.int16), truth, f"{accent}+{variant}"


def main() -> int:
    t0 = time.time()
    OUT.mkdir(parents=True, exist_ok=True)
    vars_ = variants()
    split = split_variants(vars_)
    print(f"{len(vars_)} variants x {len(ACCENTS)} accents; split by variant: "
          + ", ".join(f"{k} {len(v)}" for k, v in split.items()))
    noise = noise_bank(N_NOISE)
    np.save(OUT / "noise_bank.npy", noise)

    jobs = {s: speaker_jobs(s, split[s]) for s in ("train", "val", "test")}
    all_jobs = [j for s in ("train", "val", "test") for j in jobs[s]]
    print(f"synthesising {len(all_jobs)} utterances with 2 processes ...")
    with Pool(2) as pool:
        audio = pool.map(speak, all_jobs, chunksize=32)
    t_speak = time.time() - t0
    print(f"  done in {t_speak:.0f}s")

    meta = dict(classes=CLASSES, keywords=KEYWORDS, unknown_words=UNKNOWN_WORDS, accents=ACCENTS,
                split_variants=split, renditions=RENDITIONS, seed=SEED, counts={},
                espeak=subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True).stdout.strip(),
                sox=subprocess.run(["sox", "--version"], capture_output=True, text=True).stdout.strip())
    sil = CLASSES.index("silence")
    k = 0
    for s in ("train", "val", "test"):
        js = jobs[s]
        utt = audio[k:k + len(js)]
        k += len(js)
        n_sil = round(len(js) / (len(KEYWORDS) + UNKNOWN_PER_SPEAKER))  # about one keyword class worth
        labels = np.array([j["label"] for j in js] + [sil] * n_sil, np.int64)
        speakers = np.array([j["speaker"] for j in js] + ["noise"] * n_sil)
        words = np.array([j["word"] for j in js] + [""] * n_sil)
        lens = np.array([min(len(u), 2 * CLIP) for u in utt] + [0] * n_sil, np.int64)
        offsets = np.concatenate([[0], np.cumsum(lens)])
        flat = np.concatenate([u[:n] for u, n in zip(utt, lens)] + [np.zeros(0, np.int16)])
        np.savez(OUT / f"utterances_{s}.npz", audio=flat, offsets=offsets, labels=labels, speakers=speakers,
                 words=words)
        clips = augment(flat, offsets, labels, noise, np.random.default_rng([SEED, 1000, ("train", "val", "test").index(s)]))[0]
        feats = frontend.mfcc_batched(clips)
        extra = dict(clips=clips) if s == "test" else {}
        np.savez(OUT / f"features_{s}.npz", features=feats, labels=labels, speakers=speakers, words=words, **extra)
        counts = np.bincount(labels, minlength=len(CLASSES)).tolist()
        long = int((lens > CLIP).sum())
        meta["counts"][s] = dict(utterances=len(js), silence=n_sil, clips=len(labels), per_class=counts,
                                 renditions=RENDITIONS[s],
                                 speakers=len(set(j["speaker"] for j in js)), longer_than_1s=long,
                                 mean_utterance_s=float(lens[lens > 0].mean() / SR))
        print(f"  {s}: {len(labels)} clips, per class {counts}, {long} utterances > 1 s (cropped)")

    demo, truth, who = make_demo(split["test"], noise)
    frontend.write_wav_int16(str(OUT / "demo.wav"), demo)
    (OUT / "demo_truth.json").write_text(json.dumps(truth, indent=1) + "\n")
    meta["demo_speaker"] = who
    meta["seconds"] = dict(synthesis=round(t_speak, 1), total=round(time.time() - t0, 1))
    (OUT / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"demo: {who}, {truth}")
    print(f"total {time.time() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    sys.exit(main())
