"""One child trial, end to end, with guard rails: `run_trial(spec) -> result dict`.

The child network comes from `build_child` (the one adapter to the compiler).
Whatever goes wrong, an exception, a NaN loss, a network over `max_params`, a
run over its time limit, becomes a `failed` result with the reason and
`failure_reward`; `run_trial` never raises. The result is a plain dict (it
crosses process and Ray boundaries):

    status "done" | "pruned" | "failed", reward, metrics [per epoch], params, macs,
    seconds (whole trial), train_seconds, worker "host:pid", error
"""

from __future__ import annotations

import math
import os
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import torch
from torch import nn

from nasc.errors import NascError
from nasc.grammar import Space, load_space
from nasc.runtime.data import Data, ImageData, TextData, load_data
from nasc.runtime.nb201 import NB201Data
from nasc.runtime.pruners import EpochLog, PruneBars, TrialPruned, partial_result
from nasc.runtime.scores import final_metrics, score


@dataclass(frozen=True)
class TrainConfig:
    """How children are trained and scored (the paper's CNN recipe by default).

    `lr` None: 0.1 for CNNs (SGD, Nesterov 0.9, weight decay 1e-4), 20 for
    language models (SGD, gradient clipping `clip`). Reward: CNN
    (max validation accuracy over the last `reward_epochs`)^`reward_power`;
    RNN `ppl_c` / (validation perplexity)^2.
    """

    epochs: int = 5
    batch_size: int | None = None  # 64 (cnn), 20 (rnn)
    lr: float | None = None
    momentum: float = 0.9
    weight_decay: float = 1e-4
    reward_epochs: int = 5
    reward_power: float = 3.0
    ppl_c: float = 80.0
    hidden_size: int = 64
    bptt: int = 35
    clip: float = 0.25
    max_batches: int | None = None  # per epoch (rnn: also caps validation batches)
    max_params: int | None = None
    time_limit: float | None = None  # seconds per trial
    failure_reward: float = 0.0
    device: str = "cpu"
    evaluate: str | None = None  # a user evaluator, "module:function" (`nasc.runtime.user`)
    objective: str | None = None  # the reward as an expression over the final metrics
    pruner: str | None = None  # "median" | "halving": stop children early (`pruners`)
    prune_metric: str | None = None  # "NAME:max|min"; valid_acc, valid_ppl or accuracy
    prune_warmup: int = 1  # median: first epoch that may prune; halving: first rung
    prune_startup: int = 5  # median: completed trials at an epoch before it prunes there
    prune_eta: int = 3  # halving: the best 1/eta go on at each rung


@dataclass(frozen=True)
class TrialSpec:
    """Everything a worker needs to run one trial."""

    trial_id: int
    arch: str
    space: str  # a built-in space name or a grammar path
    data: str
    config: TrainConfig = field(default_factory=TrainConfig)
    seed: int = 0
    fault: str | None = None  # tests: "raise" | "nan" | "slow" | "hang" | "kill"
    prune: PruneBars | None = None  # the pruner's bars when the trial started

    def __repr__(self) -> str:
        return f"TrialSpec(#{self.trial_id} {self.arch!r} on {self.data})"


class TrialFailure(Exception):
    """A trial that failed for a known reason (NaN, time limit, injected fault)."""


class Guard:
    """Checked once per batch: the time limit, a finite loss, injected faults."""

    def __init__(self, time_limit: float | None, fault: str | None) -> None:
        self.start = time.monotonic()
        self.deadline = None if time_limit is None else self.start + time_limit
        self.fault = fault

    def check(self, loss: torch.Tensor | None = None) -> None:
        if self.fault == "raise":
            raise RuntimeError("injected fault")
        if self.fault == "slow":
            time.sleep(0.5)
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise TrialFailure(f"over the time limit of {self.deadline - self.start:g} s")
        if loss is not None and not math.isfinite(float(loss)):
            raise TrialFailure("loss is not finite (NaN or inf)")


@lru_cache(maxsize=8)
def cached_space(name_or_path: str) -> Space:
    """A space loaded once per process (building its parser costs ~0.1 s)."""
    return load_space(name_or_path)


def build_child(arch: str, space_name: str, data: Data, config: TrainConfig) -> nn.Module:
    """The compiled child for `data` (the one place the runtime calls the compiler)."""
    import nasc.api as api

    space = cached_space(space_name)
    if isinstance(data, TextData):
        return api.compile_lm(arch, len(data.vocab), space, hidden_size=config.hidden_size,
                              embedding_size=config.hidden_size, max_params=config.max_params,
                              device=config.device)
    return api.compile(arch, space, input_shape=data.shape, num_classes=data.num_classes,
                       max_params=config.max_params, device=config.device)


def counts(model: nn.Module) -> tuple[int, int | None]:
    """(params, MACs): all trainable parameters; MACs from the compiler's report."""
    params = sum(p.numel() for p in model.parameters())
    info = getattr(model, "nasc", None)
    return params, (int(info.macs) if info is not None else None)


def run_trial(spec: TrialSpec, on_start: Callable[[], None] | None = None) -> dict[str, Any]:
    """Train and score one child; never raises (failures are results).

    `on_start()` is called when training begins (after data loading and compilation):
    the time limit counts from there.
    """
    start = time.perf_counter()
    result: dict[str, Any] = {"worker": f"{socket.gethostname()}:{os.getpid()}",
                              "metrics": EpochLog(spec.prune)}
    try:
        torch.manual_seed(spec.seed * 1_000_003 + spec.trial_id)
        data = load_data(spec.data)
        if isinstance(data, NB201Data):  # looked up in the table, not trained
            result.update(data.answer(spec.arch))
            if result["status"] == "failed":
                result["reward"] = spec.config.failure_reward
            return result
        model = build_child(spec.arch, spec.space, data, spec.config)
        result["params"], result["macs"] = counts(model)
        if on_start is not None:
            on_start()
        if spec.fault == "kill":
            os.kill(os.getpid(), 9)
        if spec.fault == "hang":
            time.sleep(10**6)  # uninterruptible: only the executor's hard limit ends it
        guard = Guard(spec.config.time_limit, spec.fault)
        train_start = time.perf_counter()
        status, reward, summary = _train_or_prune(model, data, spec, guard, result)
        result["train_seconds"] = time.perf_counter() - train_start
        result["summary"] = summary
        reward = score(model, data, spec, summary, reward, time.perf_counter() - start)
        result.update(status=status, reward=reward)
    except (TrialFailure, NascError) as exc:
        result.update(status="failed", reward=spec.config.failure_reward, error=str(exc))
    except Exception as exc:  # noqa: BLE001 - a child's bug must not stop the search
        last = traceback.extract_tb(exc.__traceback__)[-1:]
        where = f" ({last[0].filename.rsplit('/', 1)[-1]}:{last[0].lineno})" if last else ""
        result.update(status="failed", reward=spec.config.failure_reward,
                      error=f"{type(exc).__name__}: {exc}{where}")
    result["seconds"] = time.perf_counter() - start
    result["metrics"] = list(result["metrics"])  # a plain list crosses processes
    return result


def _train_or_prune(model: nn.Module, data: ImageData | TextData, spec: TrialSpec,
                    guard: Guard, result: dict[str, Any]
                    ) -> tuple[str, float | None, dict[str, float]]:
    """("done" or "pruned", reward, final metrics); a pruned trial is scored on the epochs
    it reached, its reason in `result["error"]`."""
    try:
        return ("done", *_train(model, data, spec, guard, result))
    except TrialPruned as exc:
        assert spec.prune is not None
        result["error"] = str(exc)
        return ("pruned", *partial_result(spec.config, spec.prune.pruner, result["metrics"]))


def _train(model: nn.Module, data: ImageData | TextData, spec: TrialSpec, guard: Guard,
           result: dict[str, Any]) -> tuple[float | None, dict[str, float]]:
    """(reward, final metrics): the user's evaluator, or the built-in recipe."""
    metrics = result["metrics"]
    if spec.config.evaluate is not None:
        from nasc.runtime.user import run_evaluator

        return run_evaluator(model, data, spec, guard, result)
    if isinstance(data, ImageData):
        from nasc.runtime.train_cnn import train_cnn

        reward = train_cnn(model, data, spec, guard, metrics)
    else:
        from nasc.runtime.train_rnn import train_rnn

        reward = train_rnn(model, data, spec, guard, metrics)
    return reward, final_metrics(spec.config, metrics)
