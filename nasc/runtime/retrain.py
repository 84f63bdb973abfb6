"""Retraining one architecture with the full recipe (the paper's last step): `nasc train`.

    retrain(arch, space, data, config, seed) -> (model, Retrained)
    save_weights(model, path, meta)   a file `torch.load(path, weights_only=True)` reads
    load_weights(path) -> (meta, state_dict)

The architecture is compiled for the data and trained with the built-in recipe
(`train_cnn` / `train_rnn`) on the whole training split, every batch of every
epoch. Its accuracy is then measured on the data's test split: the one a
`--data module:function` returned (x_test, y_test), else, for the built-in
image sources, the held-out validation split (digits: 360 images that training
never sees), named as such in the result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nasc.errors import NascError
from nasc.runtime.child import Guard, TrainConfig, TrialSpec, build_child, counts
from nasc.runtime.data import ImageData, TextData, load_data

FORMAT = "nasc-weights-1"


@dataclass
class Retrained:
    """What `retrain` measured: per-epoch metrics, the test split's name and accuracy."""

    arch: str
    epochs: list[dict[str, Any]] = field(default_factory=list)
    test_split: str | None = None
    test_accuracy: float | None = None
    valid_perplexity: float | None = None
    params: int = 0
    macs: int | None = None
    seconds: float = 0.0

    def __repr__(self) -> str:
        return f"Retrained({self.arch!r}, test {self.test_accuracy}, {self.seconds:.1f} s)"

    def to_json(self) -> dict[str, Any]:
        return {"arch": self.arch, "epochs": self.epochs, "test_split": self.test_split,
                "test_accuracy": self.test_accuracy, "valid_perplexity": self.valid_perplexity,
                "params": self.params, "macs": self.macs, "seconds": self.seconds}


def held_out_split(data: ImageData) -> tuple[str, torch.Tensor, torch.Tensor]:
    """(name, images, labels) of the split the final accuracy is measured on."""
    test = getattr(data, "test", None)
    if test is not None:
        return f"test ({len(test[1])} images)", test[0], test[1]
    return (f"held-out validation ({len(data.y_valid)} images, never trained on)",
            data.x_valid, data.y_valid)


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, device: str,
             batch: int = 1000) -> float:
    """The fraction of `x` (N, C, H, W) that `model` labels as `y`."""
    model.eval()
    correct = 0
    for i in range(0, len(y), batch):
        out = model(x[i:i + batch].to(device))
        correct += int((out.argmax(dim=1).cpu() == y[i:i + batch]).sum())
    return correct / max(len(y), 1)


def retrain(arch: str, space: str, source: str, config: TrainConfig,
            seed: int = 0) -> tuple[nn.Module, Retrained]:
    """Compile `arch` for `source` and train it for `config.epochs` epochs."""
    start = time.perf_counter()
    data = load_data(source)
    if not isinstance(data, ImageData | TextData):
        raise NascError(f"data {source!r} is a lookup table: there is nothing to train")
    torch.manual_seed(seed)
    model = build_child(arch, space, data, config)
    spec = TrialSpec(0, arch, space, source, config, seed)
    result = Retrained(arch)
    result.params, result.macs = counts(model)
    if isinstance(data, ImageData):
        from nasc.runtime.train_cnn import train_cnn

        train_cnn(model, data, spec, Guard(None, None), result.epochs)
        name, x, y = held_out_split(data)
        result.test_split, result.test_accuracy = name, accuracy(model, x, y, config.device)
    else:
        from nasc.runtime.train_rnn import train_rnn

        train_rnn(model, data, spec, Guard(None, None), result.epochs)
        result.valid_perplexity = float(result.epochs[-1]["valid_ppl"])
    result.seconds = time.perf_counter() - start
    return model, result


def save_weights(model: nn.Module, path: str | Path, meta: dict[str, Any]) -> None:
    """The weights and what rebuilds the network (architecture, space, shapes), as plain
    tensors, strings and numbers: `torch.load(path, weights_only=True)` reads it."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save({"format": FORMAT, **meta, "state_dict": state}, str(path))


def load_weights(path: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(metadata, state_dict) of a file `save_weights` wrote."""
    doc = torch.load(str(path), weights_only=True)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise NascError(f"{path} is not a nasc weights file")
    state = doc.pop("state_dict")
    return doc, state
