"""Images held compact (uint8) and standardized a batch at a time: the same numbers as the
float32 copy they replace, never materialized by the built-in children, and no copy kept by
a search whose trials run in workers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits

from nasc.runtime.child import TrainConfig, TrialSpec
from nasc.runtime.data import ImageData, _digits, load_data
from nasc.runtime.search import SearchConfig, run_search
from nasc.runtime.strategies import StrategyConfig


def float_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The float32 copy the data used to hold: x / 16 standardized with training statistics."""
    x = np.asarray(load_digits().images, dtype=np.float32)[:, None] / 16.0
    order = np.random.default_rng(0).permutation(len(x))
    train, valid = order[:-360], order[-360:]
    mean = x[train].mean(axis=(0, 2, 3), keepdims=True)
    std = x[train].std(axis=(0, 2, 3), keepdims=True) + 1e-6
    xs = torch.from_numpy((x - mean) / std)
    return xs[train], xs[valid]


def test_compact_digits_give_the_same_input() -> None:
    data = _digits()
    assert data.stored["train"].dtype == torch.uint8 and data.shape == (1, 8, 8)
    x_train, x_valid = float_digits()
    assert torch.equal(data.batch("train", slice(0, 64)), x_train[:64])  # bit for bit
    idx = torch.tensor([5, 0, 1000])
    assert torch.equal(data.batch("valid", idx[:2]), x_valid[idx[:2]])
    assert torch.equal(data.batch("train", idx), x_train[idx])
    assert torch.equal(data.x_train, x_train) and torch.equal(data.x_valid, x_valid)
    assert data.stored["train"].nbytes * 4 == x_train.nbytes


def test_built_in_training_never_makes_the_float_copy() -> None:
    from nasc.runtime.child import Guard, build_child
    from nasc.runtime.train_cnn import train_cnn

    torch.set_num_threads(1)
    data = _digits()
    config = TrainConfig(epochs=1, max_batches=2)
    model = build_child("conv 3x3 24", "cnn", data, config)
    metrics: list[dict[str, float]] = []
    spec = TrialSpec(1, "conv 3x3 24", "cnn", "digits", config)
    train_cnn(model, data, spec, Guard(None, None), metrics)
    assert 0.0 <= metrics[0]["valid_acc"] <= 1.0
    assert data._input == {}  # only batches were standardized


def test_float_images_stay_as_given() -> None:
    x = torch.rand(4, 1, 2, 2)
    data = ImageData("mine", x[:3], torch.tensor([0, 1, 0]), x[3:], torch.tensor([1]), 2)
    assert data.x_train is data.stored["train"] and data.scale is None
    assert torch.equal(data.batch("valid", slice(None)), x[3:])


def test_a_search_on_workers_keeps_no_copy_of_the_data(tmp_path: Path) -> None:
    load_data.cache_clear()
    config = SearchConfig(str(tmp_path / "s.db"), trials=1, strategy=StrategyConfig(
        "random", max_layers=1), train=TrainConfig(epochs=1, max_batches=1), executor="local",
        workers=1)
    summary = run_search(config)
    assert summary.counts["done"] == 1
    assert load_data.cache_info().currsize == 0
