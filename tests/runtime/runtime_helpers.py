"""Helpers for the runtime tests: tiny search configurations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nasc.runtime.child import TrainConfig
from nasc.runtime.search import SearchConfig
from nasc.runtime.strategies import StrategyConfig

# a small corpus in the PTB format that the tests carry (tests/fixtures/make_ptb_tiny.py)
PTB = Path(__file__).resolve().parents[1] / "fixtures" / "ptb-tiny"


def tiny_config(store: Path, strategy: str = "random", trials: int = 6, **kw: Any) -> SearchConfig:
    """A search that trains each child for one epoch of at most 4 batches on digits."""
    train = TrainConfig(epochs=kw.pop("epochs", 1), max_batches=kw.pop("max_batches", 4),
                        time_limit=kw.pop("time_limit", None))
    strat = StrategyConfig(strategy, batch=kw.pop("batch", 3), population=4, tournament=2,
                           max_layers=kw.pop("max_layers", 3), seed=kw.pop("seed", 0),
                           controller_lr=kw.pop("controller_lr", 6e-4))  # slow: few repeats
    return SearchConfig(str(store), trials=trials, strategy=strat, train=train,
                        executor=kw.pop("executor", "inline"), **kw)
