"""A search strategy's settings, in a module of their own so the CLI reads the defaults
without loading torch (one definition for the API, the CLI and the store's config)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StrategyConfig:
    """Strategy settings; `max_layers` bounds sampled cnn depth (None for rnn spaces)."""

    name: str = "reinforce"
    batch: int = 4  # reinforce: m architectures per controller step
    population: int = 32  # evolution (tuned on NB201 CIFAR-10; Real et al. used 100, 25)
    tournament: int = 16  # evolution
    remutate: int = 5  # evolution: a child that repeats an earlier one is mutated again, up to
    # this many times (tuned as above; the paper's evolution, repeats and all: --remutate 0)
    max_layers: int | None = 4
    max_tokens: int = 512
    seed: int = 0
    controller_baseline: str = "rank"  # reinforce: the advantage is the reward's centred rank
    # in its batch (measured on NB201 CIFAR-10); the paper's moving average: "ema"
    controller_lr: float = 0.02  # reinforce: Adam's rate, tuned for hundreds of children
    # (benchmarks/nb201_tune.py); the paper's 0.0006 served 12,800: --controller-lr 6e-4
    objectives: str | None = None  # "accuracy:max,params:min": evolution selects by NSGA-II
