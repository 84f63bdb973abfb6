"""Tables, the Figure-6-style plot and the full-runtime timing of `nb201_search.py`."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SPACE = str(ROOT / "examples" / "spaces" / "nb201.lark")
# The reference, measured on this table with the same protocol: random at 100 and
# 200 samples (mean over seeds), random's 95th percentile of a 10-seed mean at 200, the best
# pick by validation, the optimum; and the goals at 200 samples (100 for CIFAR-10 at 100).
REFERENCE = {
    "cifar10": {"random_100": 93.73, "random_200": 93.88, "random_p95_10seed": 94.02,
                "best_pick": 94.37, "optimum": 94.37, "goal_200": 94.25, "goal_100": 94.05,
                "goal_distinct_200": 94.33},
    "cifar100": {"random_100": 71.19, "random_200": 71.66, "random_p95_10seed": 72.15,
                 "best_pick": 72.28, "optimum": 73.51, "goal_200": 72.6},
    "imagenet16": {"random_100": 44.86, "random_200": 45.32, "random_p95_10seed": 45.83,
                   "best_pick": 46.48, "optimum": 47.31, "goal_200": 46.2},
}
TOP_K = 10


def prefix(run: dict[str, Any], budget: int, mode: str) -> int:
    """How many of the run's samples a budget reads (samples: every one; distinct: up to
    the `budget`-th new cell, or all if the run hit its cap first)."""
    if mode == "samples":
        return min(budget, len(run["valid"]))
    count = np.cumsum(run["new"])
    hit = np.flatnonzero(count >= budget)
    return int(hit[0]) + 1 if len(hit) else len(run["valid"])


def pick_test(run: dict[str, Any], n: int) -> float:
    """The 200-epoch test accuracy of the best validation among the first n samples."""
    valid = np.asarray(run["valid"][:n])
    return float(run["test"][int(np.argmax(valid))])  # argmax: the earliest on ties


def tables(runs: list[dict[str, Any]], budgets: tuple[int, ...]) -> list[dict[str, Any]]:
    """One row per (dataset, budget mode, budget, strategy)."""
    rows = []
    for dataset in sorted({r["dataset"] for r in runs}):
        for mode in ("samples", "distinct"):
            for budget in budgets:
                for strategy in ("reinforce", "random", "evolution"):
                    mine = [r for r in runs if r["dataset"] == dataset
                            and r["strategy"] == strategy]
                    if mine:
                        rows.append(_row(mine, dataset, mode, budget, strategy))
    return rows


def _row(runs: list[dict[str, Any]], dataset: str, mode: str, budget: int,
         strategy: str) -> dict[str, Any]:
    lengths = [prefix(r, budget, mode) for r in runs]
    picks = np.array([pick_test(r, n) for r, n in zip(runs, lengths, strict=True)])
    found = np.array([max(r["valid"][:n]) for r, n in zip(runs, lengths, strict=True)])
    distinct = [int(np.sum(r["new"][:n])) for r, n in zip(runs, lengths, strict=True)]
    return {"dataset": dataset, "budget": f"{budget} {mode}", "strategy": strategy,
            "seeds": len(runs), "mean": float(picks.mean()), "median": float(np.median(picks)),
            "p10": float(np.percentile(picks, 10)), "p90": float(np.percentile(picks, 90)),
            "distinct_mean": float(np.mean(distinct)), "distinct_min": int(min(distinct)),
            "samples_mean": float(np.mean(lengths)), "samples_max": int(max(lengths)),
            "pick_valid_mean": float(found.mean()),
            "capped": int(sum(d < budget for d in distinct)) if mode == "distinct" else 0}


def print_tables(result: dict[str, Any]) -> None:
    print(f"settings: {result['settings']}; {result['seeds']} seeds from {result['seed_base']}")
    head = (f"{'dataset':<11}{'budget':<14}{'strategy':<10}{'mean':>7}{'median':>8}{'p10':>7}"
            f"{'p90':>7}{'distinct':>9}{'samples':>9}{'capped':>7}")
    print(head)
    for r in result["tables"]:
        print(f"{r['dataset']:<11}{r['budget']:<14}{r['strategy']:<10}{r['mean']:7.2f}"
              f"{r['median']:8.2f}{r['p10']:7.2f}{r['p90']:7.2f}{r['distinct_mean']:9.1f}"
              f"{r['samples_mean']:9.1f}{r['capped']:7d}")
    for name, parts in result["parts"].items():
        print(f"driver, {name}: " + ", ".join(f"{k} {v:.3g}" for k, v in parts.items()))
    for name, parts in result.get("runtime", {}).items():
        print(f"run_search, {name}: " + ", ".join(f"{k} {v:.3g}" if isinstance(v, float)
                                                  else f"{k} {v}" for k, v in parts.items()))
    print(f"search {result['search_wall_s']:.0f} s on {result['workers']} workers")


def curves(runs: list[dict[str, Any]], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per run and trial: the validation pick's test accuracy, and the mean validation of
    the top-k distinct cells seen so far."""
    best, top = np.zeros((len(runs), n)), np.zeros((len(runs), n))
    for i, r in enumerate(runs):
        valid, test = np.asarray(r["valid"][:n]), np.asarray(r["test"][:n])
        pick, seen = 0, {}
        archs = r["archs"]
        for t in range(n):
            if valid[t] > valid[pick]:
                pick = t
            best[i, t] = test[pick]
            seen[archs[t]] = valid[t]
            if t % 5 == 4 or t == n - 1 or t < 20:
                top[i, t] = np.mean(sorted(seen.values())[-TOP_K:])
            else:
                top[i, t] = top[i, t - 1]
    return best, top


def plot(runs: list[dict[str, Any]], out: Path, n: int) -> None:
    """Figure 6 of the paper, per dataset: best so far and top-k mean against trials."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = [d for d in ("cifar10", "cifar100", "imagenet16") if any(
        r["dataset"] == d for r in runs)]
    fig, axes = plt.subplots(2, len(datasets), figsize=(5 * len(datasets), 7), squeeze=False)
    xs = np.arange(1, n + 1)
    for col, dataset in enumerate(datasets):
        for k, strategy in enumerate(("reinforce", "random", "evolution")):
            mine = [r for r in runs if r["dataset"] == dataset and r["strategy"] == strategy]
            if not mine:
                continue
            best, top = curves(mine, n)
            for row, values in enumerate((best, top)):
                ax = axes[row][col]
                ax.plot(xs, values.mean(0), color=f"C{k}", label=f"{strategy} ({len(mine)})")
                ax.fill_between(xs, *np.percentile(values, [25, 75], axis=0), color=f"C{k}",
                                alpha=0.2, linewidth=0)
        ref = REFERENCE[dataset]
        axes[0][col].axhline(ref["optimum"], color="k", linestyle=":", linewidth=1,
                             label=f"optimum {ref['optimum']}")
        axes[0][col].set_title(f"{dataset}: test acc. (200 ep) of the validation pick")
        axes[1][col].set_title(f"{dataset}: mean 12-ep validation of the top {TOP_K} seen")
        low = min(float(np.percentile(curves([r for r in runs if r["dataset"] == dataset],
                                             n)[0][:, 20:], 5)), ref["optimum"] - 1)
        axes[0][col].set_ylim(low, ref["optimum"] + 0.3)
        for row in (0, 1):
            axes[row][col].set_xlabel("trials (samples)")
            axes[row][col].grid(alpha=0.3)
        axes[0][col].legend(fontsize=8, loc="lower right")
    fig.suptitle("NAS-Bench-201: mean over seeds, band 25th-75th percentile")
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(out, dpi=110)
    plt.close(fig)


def runtime_timing(table: str, settings: Any, trials: int) -> dict[str, dict[str, Any]]:
    """Each strategy through `run_search` (inline, a real store, canonical forms) on CIFAR-10,
    seed 0, one torch thread (as a local worker has): wall time per trial, split into its
    parts."""
    import sys

    import torch

    torch.set_num_threads(1)
    sys_path = str(ROOT / "benchmarks")
    if sys_path not in sys.path:
        sys.path.insert(0, sys_path)
    from bench_runtime import Timed

    from nasc.runtime.canonical import Canonicalizer
    from nasc.runtime.search import SearchConfig, run_search
    from nasc.runtime.store import Store
    from nasc.runtime.strategies import STRATEGIES, ReinforceStrategy, StrategyConfig

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("reinforce", "random", "evolution"):
            def config(path: str, n: int, name: str = name) -> SearchConfig:
                strategy = StrategyConfig(name, batch=settings.batch,
                                          population=settings.population,
                                          tournament=settings.tournament, max_layers=None,
                                          seed=0, controller_lr=settings.lr,
                                          controller_baseline=settings.baseline,
                                          remutate=settings.remutate)
                return SearchConfig(path, space=SPACE, data=f"nb201:{table}", trials=n,
                                    strategy=strategy, executor="inline")
            run_search(config(f"{tmp}/warm-{name}.db", 2))
            timer = Timed()
            timer.wrap(STRATEGIES[name], "propose", "sampling")
            timer.wrap(ReinforceStrategy, "_update", "learning")
            timer.wrap(Canonicalizer, "key", "canonical")
            start = time.perf_counter()
            try:
                summary = run_search(config(f"{tmp}/{name}.db", trials))
            finally:
                timer.restore()
            wall = time.perf_counter() - start
            store = Store.open(f"{tmp}/{name}.db")
            stored = store.trials()
            store.close()
            child = sum(t.seconds or 0.0 for t in stored)
            parts = {f"{k}_ms": 1000 * v / trials for k, v in timer.spent.items()}
            rest = wall - child - sum(timer.spent.values())
            out[name] = {"trials": trials, "ms_per_trial": 1000 * wall / trials,
                         "lookup_ms": 1000 * child / trials, **parts,
                         "store_and_scheduling_ms": 1000 * rest / trials,
                         "reused": summary.reused,
                         "archs": [t.arch for t in stored]}
    return out


def markdown(result: dict[str, Any]) -> str:
    """The tables as Markdown, per budget mode, a row per (dataset, budget, strategy), with
    the issue's reference beside them."""
    out = []
    for mode in ("samples", "distinct"):
        out += ["", f"| dataset | budget ({mode}) | strategy | mean | median | p10 | p90 | "
                    "distinct cells (mean, min) | samples (mean, max) | capped | reference |",
                "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for r in result["tables"]:
            budget, kind = r["budget"].split()
            if kind != mode:
                continue
            ref = REFERENCE[r["dataset"]]
            note = f"random {ref['random_' + budget]}" if r["strategy"] == "random" else ""
            out.append(f"| {r['dataset']} | {budget} | {r['strategy']} | {r['mean']:.2f} | "
                       f"{r['median']:.2f} | {r['p10']:.2f} | {r['p90']:.2f} | "
                       f"{r['distinct_mean']:.0f}, {r['distinct_min']} | "
                       f"{r['samples_mean']:.0f}, {r['samples_max']} | {r['capped']} | {note} |")
    return "\n".join(out)
