#!/usr/bin/env python3
"""The model the runtime's code size is measured on: a causal conv, an LSTM, a dense layer and a
softmax (the kinds of layer a keyword spotter or a sensor classifier combines), with fixed random
weights (its code size does not depend on them), written to tests/data/footprint/crnn/.

    python tools/gen_footprint_model.py      # needs torch (tools/requirements-train.txt)

Files: model.onnx (input x [1, 6, 50]: 6 channels, 50 time steps), input.npy (one window),
calib.npy (64 windows, a leading sample axis). tools/mcu-footprint.sh converts it to int8 and
builds the Cortex-M4 image with only the runtime features it needs.
"""
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "footprint" / "crnn"
CHANNELS, STEPS, CLASSES = 6, 50, 4


class Crnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(CHANNELS, 16, kernel_size=3, dilation=2)
        self.lstm = nn.LSTM(16, 32, batch_first=True)
        self.fc = nn.Linear(32, CLASSES)

    def forward(self, x):  # x [1, C, T]
        h = F.relu(self.conv(F.pad(x, (4, 0))))  # causal: only past steps
        y, _ = self.lstm(h.transpose(1, 2))
        return torch.softmax(self.fc(y[:, -1]), dim=-1)


def main():
    torch.manual_seed(7)
    rng = np.random.default_rng(7)
    model = Crnn().eval()
    calib = rng.standard_normal((64, 1, CHANNELS, STEPS)).astype(np.float32)
    x = rng.standard_normal((1, CHANNELS, STEPS)).astype(np.float32)
    OUT.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(model, (torch.from_numpy(x),), OUT / "model.onnx", input_names=["x"],
                      output_names=["probs"], dynamo=True, external_data=False)
    np.save(OUT / "input.npy", x)
    np.save(OUT / "calib.npy", calib)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
