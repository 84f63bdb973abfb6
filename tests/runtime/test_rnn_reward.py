"""The language-model reward c / ppl^2 for a child whose perplexity is huge but finite.

A search on the PTB subset failed a trial with `OverflowError: (34, 'Numerical result
out of range')`: the perplexity is capped at exp(700) ~ 1e304, and squaring anything
above ~1e154 overflows a float. Such a child is merely bad: its reward is ~0.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from nasc.runtime.child import Guard, TrainConfig, TrialSpec
from nasc.runtime.data import TextData
from nasc.runtime.train_rnn import train_rnn


class Confident(nn.Module):
    """Puts all its mass on token 0, which the text never holds: loss ~ `scale` nats."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(scale))

    def forward(self, x: torch.Tensor, state: object = None) -> tuple[torch.Tensor, torch.Tensor]:
        logits = torch.zeros(*x.shape, 2)
        logits[..., 0] = 1.0
        return logits * self.scale, torch.zeros(1)


def _run(scale: float) -> tuple[float, list[dict[str, float]]]:
    ones = torch.ones(40, dtype=torch.int64)  # every token is 1
    data = TextData("fixture", ones, ones.clone(), ["<unk>", "a"])
    config = TrainConfig(epochs=1, batch_size=2, bptt=5, max_batches=1)
    metrics: list[dict[str, float]] = []
    reward = train_rnn(Confident(scale), data, TrialSpec(0, "-", "rnn", "fixture", config),
                       Guard(None, None), metrics)
    return reward, metrics


def test_huge_finite_perplexity_is_a_zero_reward_not_an_overflow():
    reward, metrics = _run(1000.0)  # ~1000 nats: the perplexity reads its cap, exp(700)
    assert metrics[-1]["valid_ppl"] == math.exp(700.0)
    assert reward == 0.0


def test_reward_is_c_over_perplexity_squared():
    reward, metrics = _run(10.0)
    ppl = metrics[-1]["valid_ppl"]
    assert ppl > 10 and math.isclose(reward, 80.0 / ppl**2)
