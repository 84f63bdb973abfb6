"""A finished child's final metrics and its reward under `--objective`.

    final_metrics(data, config, epochs, extra) -> {"accuracy" | "perplexity", ...}
    measure_latency(model, data, device) -> seconds per forward pass at batch 1
    score(model, data, spec, metrics, reward, seconds) -> reward

Every finished trial records one dict of final metrics (the store's `summary`):
`accuracy` (CNN: the best validation accuracy over the last `reward_epochs`, the
number the default reward cubes) or `perplexity` (RNN: the last validation
perplexity), `params`, `macs`, `seconds` (the whole trial so far), `latency`
(only when the objective reads it) and whatever a user evaluator returned. With
an objective the reward is its value on these metrics; without one it is the
built-in reward (or the evaluator's float).
"""

from __future__ import annotations

import statistics
import time
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from nasc.errors import NascError

if TYPE_CHECKING:
    from nasc.runtime.child import TrainConfig, TrialSpec
    from nasc.runtime.data import Data

LATENCY_WARMUP = 3
LATENCY_RUNS = 10


def final_metrics(config: TrainConfig, epochs: list[dict[str, Any]]) -> dict[str, float]:
    """The built-in children's final metric from their per-epoch ones."""
    if epochs and "valid_acc" in epochs[-1]:
        return {"accuracy": max(float(m["valid_acc"]) for m in epochs[-config.reward_epochs:])}
    if epochs and "valid_ppl" in epochs[-1]:
        return {"perplexity": float(epochs[-1]["valid_ppl"])}
    return {}


@torch.no_grad()
def measure_latency(model: nn.Module, data: Data, device: str) -> float:
    """Seconds per forward pass of one input on `device`: the median of `LATENCY_RUNS`
    runs after `LATENCY_WARMUP` warm-up runs."""
    from nasc.runtime.data import ImageData, TextData

    dev = torch.device(device)
    if isinstance(data, ImageData):
        x: Any = data.input(data.stored["valid"][:1].to(dev))
    elif isinstance(data, TextData):
        x = data.valid[:35].reshape(-1, 1).to(dev)  # (T, 1): one BPTT window of one sequence
    else:
        raise NascError("latency is measured on image or text children only")
    was_training = model.training
    model.eval()
    times = []
    for run in range(LATENCY_WARMUP + LATENCY_RUNS):
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        start = time.perf_counter()
        model(x) if isinstance(data, ImageData) else model(x, None)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        if run >= LATENCY_WARMUP:
            times.append(time.perf_counter() - start)
    model.train(was_training)
    return float(statistics.median(times))


def score(model: nn.Module, data: Data, spec: TrialSpec, metrics: dict[str, float],
          reward: float | None, seconds: float) -> float:
    """Complete `metrics` (params, MACs, seconds, latency if read) and return the reward:
    the objective's value, else `reward` (built-in or the evaluator's float)."""
    from nasc.runtime.child import counts

    text = spec.config.objective
    if text is None and reward is None:
        raise NascError(f"the evaluator returned {len(metrics)} metrics "
                        f"({', '.join(sorted(metrics))}): name the reward with "
                        f"--objective (objective=)")
    params, macs = counts(model)
    metrics.setdefault("params", float(params))
    if macs is not None:
        metrics.setdefault("macs", float(macs))
    metrics.setdefault("seconds", seconds)
    if text is None:
        assert reward is not None
        return reward
    from nasc.runtime.objectives import parse_objective

    objective = parse_objective(text)
    if "latency" in objective.names and "latency" not in metrics:
        metrics["latency"] = measure_latency(model, data, spec.config.device)
    return objective.evaluate(metrics)
