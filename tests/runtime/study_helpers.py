"""User functions for the search API tests: importable, so local workers find them too."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits


def small_digits() -> tuple[torch.Tensor, ...]:
    """300 training and 100 validation images of scikit-learn's digits (1x8x8), and a test
    part of 100 more."""
    x, y = load_digits(return_X_y=True)
    x = torch.tensor(np.asarray(x, dtype=np.float32).reshape(-1, 1, 8, 8) / 16.0)
    y = torch.tensor(y)
    return x[:300], y[:300], x[300:400], y[300:400], x[400:500], y[400:500]


def train_eval(model: torch.nn.Module, trial: Any) -> dict[str, float]:
    """A user training loop: Adam, 2 batches of 64 per epoch; accuracy and loss per epoch."""
    data = trial.data
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    accuracy = loss_value = 0.0
    for epoch in range(1, trial.epochs + 1):
        model.train()
        for i in range(0, 128, 64):
            loss = F.cross_entropy(model(data.x_train[i:i + 64]), data.y_train[i:i + 64])
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_value = loss.item()
        model.eval()
        with torch.no_grad():
            accuracy = float((model(data.x_valid).argmax(1) == data.y_valid).float().mean())
        trial.report(epoch, accuracy=accuracy, loss=loss_value)
    return {"accuracy": accuracy, "loss": loss_value}


def params_only(model: torch.nn.Module, trial: Any) -> float:
    """No training: the reward is -log(params) (a float, recorded as `value`)."""
    return -math.log(trial.params)


def raises(model: torch.nn.Module, trial: Any) -> float:
    raise ValueError(f"user bug in trial {trial.id}")


def returns_nan(model: torch.nn.Module, trial: Any) -> float:
    return float("nan")


def sleeps(model: torch.nn.Module, trial: Any) -> float:
    """Hangs (one long sleep, never reporting): past any time limit."""
    time.sleep(30)
    return 1.0


def two_metrics(model: torch.nn.Module, trial: Any) -> dict[str, float]:
    return {"a": 1.0, "b": 2.0}


def not_data() -> str:
    return "images"


def flat_images() -> tuple[torch.Tensor, ...]:
    """Images as rows of 64 numbers, not (N, C, H, W)."""
    x, y, xv, yv, _, _ = small_digits()
    return x.reshape(len(x), -1), y, xv.reshape(len(xv), -1), yv


def too_few_classes() -> dict:
    """Labels 0-9 but num_classes 5."""
    x, y, xv, yv, _, _ = small_digits()
    return {"x_train": x, "y_train": y, "x_valid": xv, "y_valid": yv, "num_classes": 5}
