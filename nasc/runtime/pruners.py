"""Pruning children early on their per-epoch metrics: the median rule and successive halving.

    pruner_config(train, data) -> PrunerConfig | None   (`--pruner`, off by default)
    PruneBook(pruner)          in the search process: finished trials' curves of the metric
    book.bars() -> PruneBars   the thresholds a new trial is held to (a few numbers)
    EpochLog(bars)             a trial's per-epoch metrics; `append` raises `TrialPruned`

A trial takes the bars of the trials finished when it starts (they travel with its
`TrialSpec`, so pruning works on every executor). Every epoch the built-in children
(and a user evaluator's `trial.report`) append is checked:

* `median` (Optuna's MedianPruner): from epoch `warmup` on, a trial whose best value so
  far is worse than the median of the completed trials' values at the same epoch stops;
  only once `startup` completed trials reached that epoch.
* `halving` (asynchronous successive halving, ASHA): at the rungs `warmup * eta**k`, a
  trial goes on only if its value is among the best 1/eta of the values every finished
  trial (pruned ones included) had at that rung, itself counted; with fewer than eta
  values the best one goes on.

A pruned trial is recorded `pruned` with the metrics it reached and a reward from them
(the built-in reward on its epochs so far), which biases `reinforce` (see docs/runtime.md).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nasc.errors import NascError

if TYPE_CHECKING:
    from nasc.runtime.child import TrainConfig
    from nasc.runtime.store import Trial

PRUNERS = ("median", "halving")
MAXIMISED = ("valid_acc", "accuracy", "acc")
MINIMISED = ("valid_ppl", "perplexity", "ppl", "loss", "train_loss", "valid_loss")


class TrialPruned(Exception):
    """Raised when a trial's latest epoch falls below its pruner's bar (not a failure)."""


@dataclass(frozen=True)
class PrunerConfig:
    """Which rule, on which metric (maximised or not), from which epoch, how strict."""

    kind: str  # "median" | "halving"
    metric: str
    maximise: bool = True
    warmup: int = 1  # median: first epoch that may prune; halving: the first rung
    startup: int = 5  # median: completed trials at an epoch before it prunes there
    eta: int = 3  # halving: keep the best 1/eta at each rung

    def __repr__(self) -> str:
        return f"PrunerConfig({self.kind} on {self.metric}:{'max' if self.maximise else 'min'})"

    def better(self, a: float, b: float) -> bool:
        """Whether `a` is strictly better than `b`."""
        return a > b if self.maximise else a < b


def parse_metric(text: str) -> tuple[str, bool]:
    """`NAME:max|min` (a known name alone: its usual direction) -> (name, maximise)."""
    name, _, direction = text.partition(":")
    name = name.strip()
    if not name.isidentifier():
        raise NascError(f"--prune-metric {text!r}: expected NAME:max or NAME:min")
    if direction in ("max", "maximize"):
        return name, True
    if direction in ("min", "minimize"):
        return name, False
    if not direction and name in MAXIMISED + MINIMISED:
        return name, name in MAXIMISED
    raise NascError(f"--prune-metric {text!r}: say whether it is maximised or minimised "
                    f"({name}:max or {name}:min)")


def check_options(config: TrainConfig) -> None:
    """One line for a bad pruner setting (before any store exists)."""
    if config.pruner is None:
        return
    if config.pruner not in PRUNERS:
        raise NascError(f"unknown pruner {config.pruner!r}: none, median or halving")
    if config.prune_metric is not None:
        parse_metric(config.prune_metric)
    for name, low in (("prune_warmup", 1), ("prune_startup", 1), ("prune_eta", 2)):
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise NascError(f"--{name.replace('_', '-')} must be an integer >= {low}, "
                            f"got {value!r}")


def pruner_config(config: TrainConfig, kind: str) -> PrunerConfig | None:
    """The pruner of a search whose children are `kind` ("cnn", "rnn"), or None (off).
    The default metric: the evaluator's `accuracy`, else valid_acc or valid_ppl."""
    if config.pruner in (None, "none"):
        return None
    check_options(config)
    default = ("accuracy" if config.evaluate is not None
               else "valid_ppl" if kind == "rnn" else "valid_acc")
    metric, maximise = parse_metric(config.prune_metric or default)
    return PrunerConfig(str(config.pruner), metric, maximise, config.prune_warmup,
                        config.prune_startup, config.prune_eta)


def curve(metrics: list[dict[str, Any]], name: str) -> dict[int, float]:
    """{epoch: value} of metric `name` in a trial's per-epoch records (numbers only)."""
    out = {}
    for i, record in enumerate(metrics, 1):
        value = record.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool) and value == value:
            out[int(record.get("epoch", i))] = float(value)
    return out


@dataclass(frozen=True)
class PruneBars:
    """The thresholds for one trial: (epoch, bar, how many trials it summarises)."""

    pruner: PrunerConfig
    bars: tuple[tuple[int, float, int], ...] = ()

    def __repr__(self) -> str:
        return f"PruneBars({self.pruner.kind}, {len(self.bars)} epochs)"

    def check(self, metrics: list[dict[str, Any]]) -> str | None:
        """Why the trial whose epochs so far are `metrics` must stop, or None."""
        p = self.pruner
        values = curve(metrics, p.metric)
        if not metrics:
            return None
        epoch = int(metrics[-1].get("epoch", len(metrics)))
        if epoch not in values:
            raise NascError(f"the pruner watches {p.metric!r}, which epoch {epoch} does not "
                            f"report (it has: {', '.join(sorted(metrics[-1]))}): pass "
                            f"--prune-metric NAME:max|min")
        bar = next(((b, n) for e, b, n in self.bars if e == epoch), None)
        if bar is None:
            return None
        mine = values[epoch]
        if p.kind == "median":
            mine = max(values.values()) if p.maximise else min(values.values())
        if not p.better(bar[0], mine):
            return None
        what = (f"the median {bar[0]:.4g} of {bar[1]} completed trials" if p.kind == "median"
                else f"the best 1/{p.eta} ({bar[0]:.4g} or better) of {bar[1] + 1} trials")
        return (f"pruned at epoch {epoch} ({p.kind}): {p.metric} {mine:.4g} is worse than "
                f"{what}")


class PruneBook:
    """Every finished trial's values of the watched metric, per epoch, kept sorted."""

    def __init__(self, pruner: PrunerConfig, epochs: int) -> None:
        self.pruner, self.epochs = pruner, epochs
        self.completed: dict[int, list[float]] = {}  # epoch -> done trials' values
        self.reached: dict[int, list[float]] = {}  # epoch -> done and pruned trials' values

    def __repr__(self) -> str:
        return f"PruneBook({self.pruner!r}, {len(self.reached)} epochs)"

    def add(self, trial: Trial) -> None:
        """Count a finished trial (a reused duplicate's curve is its original's: once)."""
        if trial.reused_from is not None or trial.status not in ("done", "pruned"):
            return
        for epoch, value in curve(trial.metrics, self.pruner.metric).items():
            bisect.insort(self.reached.setdefault(epoch, []), value)
            if trial.status == "done":
                bisect.insort(self.completed.setdefault(epoch, []), value)

    def rungs(self) -> list[int]:
        """The epochs at which trials are checked."""
        p = self.pruner
        if p.kind == "median":
            return list(range(p.warmup, self.epochs + 1))
        out, rung = [], p.warmup
        while rung <= self.epochs:
            out.append(rung)
            rung *= p.eta
        return out

    def bars(self) -> PruneBars:
        """The thresholds as they stand now."""
        p, out = self.pruner, []
        for epoch in self.rungs():
            if p.kind == "median":
                values = self.completed.get(epoch, [])
                if len(values) >= p.startup:
                    out.append((epoch, _median(values), len(values)))
                continue
            values = self.reached.get(epoch, [])
            if values:  # the (idx+1)-th best of the others, idx from all n+1 (itself counted)
                idx = max((len(values) + 1) // p.eta - 1, 0)
                out.append((epoch, values[-1 - idx] if p.maximise else values[idx], len(values)))
        return PruneBars(p, tuple(out))


def _median(values: list[float]) -> float:
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


class EpochLog(list):  # type: ignore[type-arg]
    """A trial's per-epoch records; with bars, an epoch below them raises `TrialPruned`."""

    def __init__(self, bars: PruneBars | None = None) -> None:
        super().__init__()
        self.bars = bars

    def append(self, record: Any) -> None:
        super().append(record)
        self.check()

    def check(self) -> None:
        """Raise `TrialPruned` when the latest epoch is below its bar."""
        if self.bars is not None:
            reason = self.bars.check(self)
            if reason is not None:
                raise TrialPruned(reason)


def partial_result(config: TrainConfig, pruner: PrunerConfig,
                   metrics: list[dict[str, Any]]) -> tuple[float | None, dict[str, float]]:
    """(reward, final metrics) of a trial pruned after the epochs `metrics`: the built-in
    reward on them; for an evaluator, its last report as if returned (the watched metric
    when that names no reward)."""
    from nasc.runtime.scores import final_metrics

    if config.evaluate is None:
        summary = final_metrics(config, metrics)
        if "accuracy" in summary:
            return summary["accuracy"] ** config.reward_power, summary
        ppl = summary.get("perplexity", float("inf"))
        return (config.ppl_c / ppl / ppl if 0 < ppl < float("inf") else 0.0), summary
    last = {k: float(v) for k, v in metrics[-1].items() if k != "epoch"} if metrics else {}
    reward = next(iter(last.values())) if len(last) == 1 else last.get(pruner.metric)
    return reward, last
