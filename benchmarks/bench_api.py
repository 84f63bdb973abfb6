"""The cost of the Python search API and of a user evaluator against the built-in path.

    python benchmarks/bench_api.py [--trials 12] [--repeats 15]

Two measures, each against a child of about 0.3 s (digits, one CNN trained for a
few batches):

* user evaluator: the same trial run by `run_trial` with the built-in recipe and
  with an evaluator (`bench_api:same_training`) that calls the same training
  function, interleaved, medians of `--repeats`; plus the evaluator path's own
  added work timed alone (resolving the function, the trial context,
  `report`, the objective), which the difference of two noisy medians bounds.
* API: `nasc.search` against `run_search` with the same configuration on the
  inline executor; its own added work (building the configuration through
  `make_config`, opening the `Study` and reading its trials) timed alone, per trial.

Writes benchmarks/results/api.json.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from common import report  # noqa: E402

import nasc  # noqa: E402
from nasc.runtime.child import Guard, TrainConfig, TrialSpec, run_trial  # noqa: E402
from nasc.runtime.config import make_config  # noqa: E402
from nasc.runtime.data import load_data  # noqa: E402
from nasc.runtime.search import run_search  # noqa: E402

ARCH = "conv 3x3 36; conv 3x3 36 from 1; maxpool 3x3 stride 2"
TRAIN = {"epochs": 2, "max_batches": 6}


def same_training(model: Any, trial: Any) -> dict[str, float]:
    """The built-in recipe, called from a user evaluator (the same work)."""
    from nasc.runtime.train_cnn import train_cnn

    spec = TrialSpec(trial.id, trial.arch, "cnn", "digits", TrainConfig(**TRAIN), trial.seed)
    train_cnn(model, trial.data, spec, Guard(None, None), trial.history)
    return {"accuracy": max(m["valid_acc"] for m in trial.history)}


def _median_time(func: Any, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def evaluator_rows(repeats: int) -> list[dict[str, Any]]:
    built_in = TrialSpec(1, ARCH, "cnn", "digits", TrainConfig(**TRAIN))
    user = TrialSpec(1, ARCH, "cnn", "digits", TrainConfig(**TRAIN, evaluate="bench_api:"
                                                            "same_training",
                                                            objective="accuracy"))
    for spec in (built_in, user):  # warm up: imports, data, first kernels
        assert run_trial(spec)["status"] == "done", run_trial(spec)
    times: dict[str, list[float]] = {"built-in": [], "evaluator": []}
    for _ in range(repeats):
        for name, spec in (("built-in", built_in), ("evaluator", user)):
            start = time.perf_counter()
            run_trial(spec)
            times[name].append(time.perf_counter() - start)
    child = statistics.median(times["built-in"])
    user_median = statistics.median(times["evaluator"])
    added = _evaluator_work(repeats * 20)
    return [{"measure": "child, built-in path (s)", "value": round(child, 4)},
            {"measure": "same child, user evaluator (s)", "value": round(user_median, 4)},
            {"measure": "difference of medians (% of child)",
             "value": round(100 * (user_median - child) / child, 2)},
            {"measure": "evaluator path's own work (ms)", "value": round(added * 1e3, 4)},
            {"measure": "evaluator path's own work (% of child)",
             "value": round(100 * added / child, 4)}]


def _evaluator_work(runs: int) -> float:
    """Seconds per trial of what the evaluator path adds (not the training itself)."""
    from nasc.runtime.objectives import parse_objective
    from nasc.runtime.user import TrialContext, resolve

    data = load_data("digits")
    guard = Guard(None, None)

    def work() -> None:
        resolve("bench_api:same_training", "--evaluate")
        trial = TrialContext(1, ARCH, 1000, 1000, torch.device("cpu"), data, 2, 0, guard)
        trial.report(1, accuracy=0.5)
        trial.report(2, accuracy=0.6)
        parse_objective("accuracy").evaluate({"accuracy": 0.6, "params": 1000.0})

    return _median_time(work, runs)


def api_rows(trials: int, child: float) -> list[dict[str, Any]]:
    torch.set_num_threads(1)
    folder = Path(tempfile.mkdtemp(prefix="nasc-bench-api-"))
    options = {"strategy": "random", "trials": trials, "executor": "inline", "workers": 1,
               **TRAIN, "max_layers": 3}
    start = time.perf_counter()
    run_search(make_config(str(folder / "a.db"), **options))
    direct = time.perf_counter() - start
    start = time.perf_counter()
    study = nasc.search("cnn", store=folder / "b.db", **options)
    through_api = time.perf_counter() - start

    def api_work() -> None:
        make_config(str(folder / "unused.db"), **options)
        assert nasc.load_study(study.path).trials

    added = _median_time(api_work, 20)
    return [{"measure": f"run_search, {trials} trials (s)", "value": round(direct, 3)},
            {"measure": "nasc.search, same trials (s)", "value": round(through_api, 3)},
            {"measure": "API's own work per search (ms)", "value": round(added * 1e3, 3)},
            {"measure": f"API's own work per trial of {trials} (% of the child above)",
             "value": round(100 * added / trials / child, 4)}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = evaluator_rows(args.repeats)
    rows += api_rows(args.trials, float(rows[0]["value"]))
    report("api", rows, {"arch": ARCH, "train": TRAIN, "goal": "< 2% of a ~0.3 s child"})


if __name__ == "__main__":
    main()
