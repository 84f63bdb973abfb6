"""CNN children: SGD (Nesterov 0.9, lr 0.1, weight decay 1e-4) on an image data set.

Reward = (max validation accuracy over the last `reward_epochs` epochs)^`reward_power`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from nasc.runtime.data import ImageData

if TYPE_CHECKING:
    from nasc.runtime.child import Guard, TrialSpec


def train_cnn(model: nn.Module, data: ImageData, spec: TrialSpec, guard: Guard,
              metrics: list[dict[str, Any]]) -> float:
    """Train `model` for `config.epochs`; append one metrics dict per epoch; the reward."""
    cfg = spec.config
    device = torch.device(cfg.device)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr if cfg.lr is not None else 0.1,
                          momentum=cfg.momentum, nesterov=cfg.momentum > 0,
                          weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(spec.seed * 7919 + spec.trial_id)
    batch = cfg.batch_size or 64
    x_train, y_train = data.stored["train"].to(device), data.y_train.to(device)  # compact
    for epoch in range(1, cfg.epochs + 1):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(y_train), generator=gen).to(device)
        total, seen = 0.0, 0
        for b, i in enumerate(range(0, len(order), batch)):
            if cfg.max_batches is not None and b >= cfg.max_batches:
                break
            idx = order[i:i + batch]
            logits = model(data.input(x_train[idx]))  # (B, K)
            loss = F.cross_entropy(logits, y_train[idx])
            if spec.fault == "nan":
                loss = loss * float("nan")
            guard.check(loss.detach())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total, seen = total + loss.item() * len(idx), seen + len(idx)
        acc = evaluate(model, data, device)
        metrics.append({"epoch": epoch, "train_loss": total / max(seen, 1), "valid_acc": acc,
                        "seconds": time.perf_counter() - start})
    last = [m["valid_acc"] for m in metrics[-cfg.reward_epochs:]]
    return float(max(last) ** cfg.reward_power)


@torch.no_grad()
def evaluate(model: nn.Module, data: ImageData, device: torch.device,
             batch: int = 1000) -> float:
    """Validation accuracy in [0, 1]."""
    model.eval()
    correct = 0
    for i in range(0, len(data.y_valid), batch):
        x = data.input(data.stored["valid"][i:i + batch].to(device))  # (B, C, H, W)
        y = data.y_valid[i:i + batch].to(device)
        correct += int((model(x).argmax(dim=1) == y).sum())
    return correct / max(len(data.y_valid), 1)
