#!/usr/bin/env python3
"""Float vs int16 vs int8 on every model in models/: the README's accuracy table.

    python3 tools/accuracy.py [--rill target/debug/rill] [--models kws_dscnn,motion_lstm] [--json]

Per model: converts model.onnx with --precision int8 and int16 (calibration: calib.npy), runs
`rill verify --json` on test.npy against the ONNX model (labels.npy when present: class labels give
accuracy, float targets give RMSE) and prints one Markdown row per model. Stdlib only; needs the rill
binary (`cargo build -p rill-cli`).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Models whose outputs are values, not class scores: their argmax (over time steps or a single
# value) means nothing, so the table shows no top-1 agreement for them (as tests/tests/quantized.rs).
REGRESSORS = {"tcn", "gru_regressor", "airline_lstm"}


def verify(rill, d, rill_file):
    cmd = [rill, "verify", str(rill_file), "--onnx", str(d / "model.onnx"), "--data", str(d / "test.npy"),
           "--layer-samples", "0", "--json"]
    if (d / "labels.npy").exists():
        cmd += ["--labels", str(d / "labels.npy")]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)["outputs"][0]


def measure(rill, d, tmp):
    row = {"model": d.name}
    for precision in ("int8", "int16"):
        f = Path(tmp) / f"{d.name}.{precision}.rill"
        subprocess.run([rill, "convert", str(d / "model.onnx"), "-o", str(f), "--precision", precision,
                        "--calibration", str(d / "calib.npy"), "--force"], check=True, capture_output=True)
        o = verify(rill, d, f)
        row[precision] = {
            "sqnr_db": o["vs_float"]["sqnr_db"],
            "top1": o["vs_float"]["top1_agreement"],
            "accuracy": o.get("accuracy"),
            "rmse": o.get("rmse"),
        }
        row["float"] = {"accuracy": o.get("float_accuracy"), "rmse": o.get("float_rmse")}
    return row


def fmt(row):
    f, i16, i8 = row["float"], row["int16"], row["int8"]
    if f["accuracy"] is not None:
        metric = "accuracy"
        cells = [f"{100 * v['accuracy']:.2f}%" for v in (f, i16, i8)]
        delta = f"{100 * (i8['accuracy'] - f['accuracy']):+.2f} / {100 * (i16['accuracy'] - f['accuracy']):+.2f} pt"
    elif f["rmse"] is not None:
        metric = "RMSE"
        cells = [f"{v['rmse']:.2f}" for v in (f, i16, i8)]
        delta = f"{100 * (i8['rmse'] / f['rmse'] - 1):+.1f}% / {100 * (i16['rmse'] / f['rmse'] - 1):+.1f}%"
    else:
        metric, cells, delta = "-", ["-", "-", "-"], "-"
    top1 = (lambda v: "n/a") if row["model"] in REGRESSORS else (lambda v: f"{100 * v['top1']:.2f}%")
    return (f"| {row['model']} | {metric} | {' | '.join(cells)} | {delta} | {i8['sqnr_db']:.1f} | "
            f"{top1(i8)} | {i16['sqnr_db']:.1f} | {top1(i16)} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    ap.add_argument("--rill", default=str(target / "debug" / "rill"))
    ap.add_argument("--models", help="comma-separated model directories (default: all with calib.npy)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    dirs = sorted(p.parent for p in (ROOT / "models").glob("*/calib.npy"))
    if a.models:
        want = set(a.models.split(","))
        dirs = [d for d in dirs if d.name in want]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for d in dirs:
            print(f"measuring {d.name}", file=sys.stderr)
            rows.append(measure(a.rill, d, tmp))
    if a.json:
        print(json.dumps(rows, indent=1))
        return
    print("| model | metric | float | int16 | int8 | int8 / int16 vs float | int8 SQNR dB | int8 top-1 agree | "
          "int16 SQNR dB | int16 top-1 agree |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(fmt(r))


if __name__ == "__main__":
    main()
