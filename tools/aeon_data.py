"""Loads the small data sets that the `aeon` package ships inside its wheel (no network), without importing aeon.

aeon (PyPI `aeon`, BSD-3-Clause) bundles a few UCR/UEA time-series archive problems and forecasting series as plain
files under `aeon/datasets/data/`. Importing aeon itself pulls in numba, which (numba 0.63) refuses NumPy 2.4, the
version pinned in tools/requirements.txt; so tools/requirements-train.txt installs aeon with `--no-deps` (only its
data files are used) and this module reads those files directly:

- `load_classification(name, split)`: the `.ts` format (header lines `@...`, then one case per line: the dimensions
  separated by ':', values by ',', the class label last). Returns (list of float32 arrays [channels, length], labels
  as strings exactly as in the file, class names from the `@classLabel` header). Checked to give the same values
  and labels as `aeon.datasets.load_classification(name, split=...)` of aeon 1.6.0 (which lower-cases the labels):
  `python tools/aeon_data.py` in an environment where aeon imports (with its numba, so NumPy <= 2.3).
- `load_airline()`: `Airline/Airline.csv`, monthly totals of international airline passengers (thousands),
  1949-01 .. 1960-12 (Box & Jenkins 1976), as float32 [144] plus the month strings.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np


def data_dir() -> Path:
    spec = importlib.util.find_spec("aeon")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the aeon package is needed for its bundled data: pip install --no-deps aeon==1.6.0")
    return Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data"


def load_classification(name: str, split: str) -> tuple[list[np.ndarray], np.ndarray, list[str]]:
    path = data_dir() / name / f"{name}_{split.upper()}.ts"
    xs, ys, classes = [], [], []
    in_data = False
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            low = line.lower()
            if low.startswith("@classlabel"):
                classes = line.split()[2:]
            elif low.startswith("@data"):
                in_data = True
            continue
        *dims, label = line.split(":")
        xs.append(np.array([[float(v) for v in d.split(",")] for d in dims], dtype=np.float32))
        ys.append(label.strip())
    return xs, np.array(ys), classes


def load_airline() -> tuple[np.ndarray, list[str]]:
    lines = (data_dir() / "Airline" / "Airline.csv").read_text().split()
    assert lines[0].strip() == "Date,Passengers", lines[0]
    months, values = zip(*(ln.split(",") for ln in lines[1:]))
    return np.array(values, dtype=np.float32), list(months)


def verify() -> None:
    """Compares these loaders with aeon's own (needs a working aeon import)."""
    from aeon.datasets import load_airline as aeon_airline
    from aeon.datasets import load_classification as aeon_load

    for name in ["BasicMotions", "JapaneseVowels"]:
        for split in ["train", "test"]:
            x_ref, y_ref = aeon_load(name, split=split)
            xs, ys, _ = load_classification(name, split)
            assert len(xs) == len(x_ref), name
            assert all(np.array_equal(np.asarray(a, np.float32), b) for a, b in zip(list(x_ref), xs)), name
            assert [str(a).lower() for a in y_ref] == [b.lower() for b in ys], name
            print(f"{name} {split}: {len(xs)} cases, same as aeon")
    v, _ = load_airline()
    assert np.array_equal(np.asarray(aeon_airline(), np.float32), v)
    print(f"Airline: {len(v)} values, same as aeon")


if __name__ == "__main__":
    verify()
