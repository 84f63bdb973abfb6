"""Runtime benchmarks: trials per minute with 1 and 2 local workers, and the runtime's own
overhead per trial (store, scheduling, canonical forms, sampling, controller updates)
against the children's training time.

    python benchmarks/bench_runtime.py [--trials 16] [--epochs 10]
        [--overhead-trials 120] [--overhead-epochs 10]
    python benchmarks/bench_runtime.py --compare reinforce.db random.db [--last 100]

Throughput: the same random search (same seed, so the same children) on a local
executor with 1 and with 2 workers; the workers are started (and their imports
paid) before the clock starts. Overhead: a reinforce search on the inline
executor, overhead = wall time - sum of the trials' own time (data, compile,
train, evaluate), per trial and as a share of that trial time.
Writes benchmarks/results/runtime.json. `--compare` reads finished search stores
(e.g. `nasc search --strategy reinforce` and `--strategy random` with the same
budget and seed) and writes the mean reward of their last trials to
benchmarks/results/runtime_compare.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import report  # noqa: E402

from nasc.runtime.canonical import Canonicalizer  # noqa: E402
from nasc.runtime.child import TrainConfig  # noqa: E402
from nasc.runtime.executors import LocalExecutor  # noqa: E402
from nasc.runtime.search import SearchConfig, run_search  # noqa: E402
from nasc.runtime.store import Store  # noqa: E402
from nasc.runtime.strategies import ReinforceStrategy, StrategyConfig  # noqa: E402


def _config(store: Path, strategy: str, trials: int, epochs: int, executor: str) -> SearchConfig:
    return SearchConfig(str(store), trials=trials, executor=executor,
                        strategy=StrategyConfig(strategy, batch=4, max_layers=4, seed=0),
                        train=TrainConfig(epochs=epochs))


def throughput(tmp: Path, workers: int, trials: int, epochs: int) -> dict[str, float]:
    executor = LocalExecutor(workers=workers, threads=1)
    warm = _config(tmp / f"warm{workers}.db", "random", workers, 1, "local")
    run_search(warm, executor=executor)  # imports, data loading in every worker
    config = _config(tmp / f"tp{workers}.db", "random", trials, epochs, "local")
    start = time.perf_counter()
    summary = run_search(config, executor=executor)
    wall = time.perf_counter() - start
    executor.close()
    store = Store.open(config.store)
    seconds = [t.seconds or 0.0 for t in store.trials()]
    store.close()
    return {"workers": workers, "trials": trials, "trained": summary.trained,
            "wall_s": wall, "trials_per_min": 60.0 * trials / wall,
            "child_sum_s": sum(seconds), "child_max_s": max(seconds)}


def best_possible(one: dict[str, float], two: dict[str, float]) -> float:
    """The speedup a perfect scheduler could reach on these trials: two workers cannot
    finish before half the work is done, nor before the longest trial is."""
    return one["child_sum_s"] / max(two["child_sum_s"] / 2, two["child_max_s"])


class Timed:
    """Wraps methods to add their wall time to `spent[label]` (to split the overhead)."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}
        self.saved: list[tuple[type, str, Callable[..., Any]]] = []

    def wrap(self, owner: type, name: str, label: str) -> None:
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.spent[label] = self.spent.get(label, 0.0) + time.perf_counter() - start

        self.saved.append((owner, name, original))
        setattr(owner, name, timed)

    def restore(self) -> None:
        for owner, name, original in self.saved:
            setattr(owner, name, original)


def overhead(tmp: Path, trials: int, epochs: int) -> dict[str, float]:
    config = _config(tmp / "overhead.db", "reinforce", trials, epochs, "inline")
    run_search(_config(tmp / "warm.db", "reinforce", 2, 1, "inline"))  # imports, data
    timer = Timed()
    timer.wrap(ReinforceStrategy, "propose", "sampling")
    timer.wrap(ReinforceStrategy, "_update", "learning")  # REINFORCE step + checkpoint
    timer.wrap(Canonicalizer, "key", "canonical")
    start = time.perf_counter()
    try:
        run_search(config)
    finally:
        timer.restore()
    wall = time.perf_counter() - start
    store = Store.open(config.store)
    child = sum(t.seconds or 0.0 for t in store.trials())
    train = sum(t.train_seconds or 0.0 for t in store.trials())
    store.close()
    split = {f"{k}_ms_per_trial": 1000 * v / trials for k, v in timer.spent.items()}
    rest = wall - child - sum(timer.spent.values())
    return {"trials": trials, "epochs": epochs, "wall_s": wall, "child_s": child,
            "train_s": train, "overhead_ms_per_trial": 1000 * (wall - child) / trials,
            "overhead_share": (wall - child) / child, **split,
            "store_and_scheduling_ms_per_trial": 1000 * rest / trials,
            # the parts the issue names (store, scheduling, sampling), without learning/dedup
            "issue_share": (rest + timer.spent.get("sampling", 0.0)) / child}


def compare(paths: list[str], last: int) -> None:
    """Mean reward of the first and last `last` finished trials of each store."""
    rows = []
    for path in paths:
        store = Store.open(path)
        config = store.experiment()["config"]
        finished = [t for t in store.trials() if t.status in ("done", "failed")]
        finished.sort(key=lambda t: (t.finished or 0.0, t.id))
        rewards = [float(t.reward or 0.0) for t in finished]
        tail, head = rewards[-last:], rewards[:last]
        rows.append({"store": Path(path).name, "strategy": config["strategy"]["name"],
                     "trials": len(rewards), f"mean_first_{last}": sum(head) / len(head),
                     f"mean_last_{last}": sum(tail) / len(tail), "best": max(rewards),
                     "failed": sum(t.status == "failed" for t in finished)})
        store.close()
    report("runtime_compare", rows, {"config": config})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", nargs="+", default=None, metavar="STORE")
    parser.add_argument("--last", type=int, default=100)
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--overhead-trials", type=int, default=120)
    parser.add_argument("--overhead-epochs", type=int, default=10)
    args = parser.parse_args()
    if args.compare:
        compare(args.compare, args.last)
        return
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        rows = [throughput(tmp, w, args.trials, args.epochs) for w in (1, 2)]
        speedup = rows[1]["trials_per_min"] / rows[0]["trials_per_min"]
        over = overhead(tmp, args.overhead_trials, args.overhead_epochs)
    bound = best_possible(rows[0], rows[1])
    print(f"speedup with 2 workers: {speedup:.2f}x (goal >= 1.7x); at most {bound:.2f}x "
          f"possible on these trials (longest {rows[1]['child_max_s']:.2f} s of "
          f"{rows[1]['child_sum_s']:.2f} s), so {100 * speedup / bound:.0f}% of that; "
          f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")
    ms = {k.removesuffix("_ms_per_trial"): v for k, v in over.items() if k.endswith("per_trial")}
    print(f"runtime overhead: {ms['overhead']:.1f} ms per trial, "
          f"{100 * over['overhead_share']:.2f}% of the trials' own time: sampling "
          f"{ms.get('sampling', 0):.1f} ms, learning (update + checkpoint) "
          f"{ms.get('learning', 0):.1f} ms, canonical forms {ms.get('canonical', 0):.1f} ms, "
          f"store and scheduling {ms['store_and_scheduling']:.1f} ms")
    print(f"store, scheduling and sampling alone: {100 * over['issue_share']:.2f}% "
          f"(goal < 2%)")
    report("runtime", rows, {"speedup_2_workers": speedup, "speedup_bound": bound,
                             "overhead": over,
                             "load_average": os.getloadavg()[0]})


if __name__ == "__main__":
    main()
