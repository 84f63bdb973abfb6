"""The controller against random search and regularized evolution on NAS-Bench-201.

    python benchmarks/nb201_search.py [--table ../shared/data/nb201] [--seeds 30] [--quick]
        [--workers 2] [--lr 0.01 --batch 8 --entropy 0 --decay 0.95 --temperature 1]
        [--baseline ema|rank --window 0 --ppo-epochs 1 --ppo-clip 0.2]
        [--population 16 --tournament 4 --remutate 0]
        [--tag NAME] [--seed-base 0] [--runtime-trials 200]

Every run is one of nasc's own strategies (`nasc.runtime.strategies`: the
`reinforce` controller, `random`, `evolution`) on `examples/spaces/nb201.lark`,
answered by the table (`nasc.runtime.nb201`): the strategy sees only the reward,
the 12-epoch validation accuracy / 100; the architecture a run picks (best
validation seen, earliest on ties) is scored by its 200-epoch test accuracy.

One run per (strategy, dataset, seed) draws samples until it has seen 200
samples and 200 distinct cells (or `--cap` samples). Budget "samples" (every
sample counts, repeats included, as in the published baselines) reads the
first 100/200 samples; budget "distinct" (a repeat is answered from the store
and costs nothing) reads the run up to its 100th/200th distinct cell. A repeat
is observed by the strategy in both, as nasc's runtime does for a reused trial.

Speed: the driver calls the strategies' own propose/observe (sampling, the
REINFORCE update and checkpoint, mutation), and dedups by exact text, which is
exact for this grammar (one spelling per cell); it does not write a store per
trial. `--runtime-trials` times the full runtime (`run_search`, inline, with its
SQLite store and canonical forms) on that many trials per strategy, part by part.
Writes benchmarks/results/nb201_search[_TAG].json and .png.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from nb201_report import markdown, plot, print_tables, runtime_timing, tables  # noqa: E402

SPACE = str(ROOT / "examples" / "spaces" / "nb201.lark")
STRATEGIES = ("reinforce", "random", "evolution")
DATASETS = ("cifar10", "cifar100", "imagenet16")
BUDGETS = (100, 200)


@dataclass(frozen=True)
class Settings:
    """The strategies' settings: the same for every seed and dataset."""

    lr: float = 0.01
    batch: int = 8
    entropy: float = 0.0
    decay: float = 0.95
    temperature: float = 1.0
    population: int = 16
    tournament: int = 4
    baseline: str = "ema"  # reinforce: "ema" or "rank" (TrainerConfig.baseline)
    window: int = 0  # reinforce, rank baseline: earlier rewards ranked among (0: the batch)
    ppo_epochs: int = 1  # reinforce: > 1 for PPO-clip updates
    ppo_clip: float = 0.2
    remutate: int = 0  # evolution: mutate a repeated child again, up to this many times


@dataclass(frozen=True)
class Job:
    strategy: str
    dataset: str
    seed: int
    table: str
    settings: Settings
    budget: int = 200
    cap: int = 2000


def make(job: Job) -> Any:
    """The runtime's strategy object for `job`, with the settings applied."""
    from nasc.controller.reinforce import TrainerConfig
    from nasc.grammar import load_space
    from nasc.runtime.strategies import StrategyConfig, make_strategy

    s = job.settings
    config = StrategyConfig(job.strategy, batch=s.batch, population=s.population,
                            tournament=s.tournament, max_layers=None, seed=job.seed,
                            controller_lr=s.lr, remutate=s.remutate)
    strategy = make_strategy(load_space(SPACE), config)
    if job.strategy == "reinforce":
        strategy.controller.config = TrainerConfig(
            lr=s.lr, baseline_decay=s.decay, entropy_weight=s.entropy,
            temperature=s.temperature, baseline=s.baseline, rank_window=s.window,
            ppo_epochs=s.ppo_epochs, ppo_clip=s.ppo_clip)
    strategy.restore([], None)
    return strategy


def run(job: Job) -> dict[str, Any]:
    """One search; per sample its validation and test accuracy (%) and whether it was new."""
    from nasc.runtime.nb201 import load_nb201
    from nasc.runtime.store import Trial

    data = load_nb201(f"{job.table}:{job.dataset}")
    clock = {"init": time.perf_counter()}
    strategy = make(job)
    clock["init"] = time.perf_counter() - clock["init"]
    spent = dict.fromkeys(("propose", "observe", "lookup", "dedup"), 0.0)
    valid: list[float] = []
    test: list[float] = []
    new: list[bool] = []
    archs: list[str] = []
    seen: set[str] = set()
    while len(valid) < job.cap and (len(valid) < job.budget or len(seen) < job.budget):
        t0 = time.perf_counter()
        proposals = strategy.propose(1, job.cap - len(valid))
        t1 = time.perf_counter()
        ids = list(range(len(valid) + 1, len(valid) + 1 + len(proposals)))
        if hasattr(strategy, "expect"):
            strategy.expect(ids)
        for trial_id, p in zip(ids, proposals, strict=True):
            t2 = time.perf_counter()
            answer = data.answer(p.arch)
            t3 = time.perf_counter()
            new.append(p.arch not in seen)
            archs.append(p.arch)
            seen.add(p.arch)
            t4 = time.perf_counter()
            row = data.lookup(p.arch)
            assert row is not None, p.arch
            valid.append(row[0])
            test.append(row[2])
            trial = Trial(trial_id, p.arch, p.step, status=answer["status"],
                          reward=answer["reward"], metrics=answer["metrics"],
                          finished=float(trial_id))
            strategy.observe(trial)
            t5 = time.perf_counter()
            spent["lookup"] += t3 - t2
            spent["dedup"] += t4 - t3
            spent["observe"] += t5 - t4
        spent["propose"] += t1 - t0
    return {"strategy": job.strategy, "dataset": job.dataset, "seed": job.seed,
            "valid": valid, "test": test, "new": new, "archs": archs,
            "capped": len(seen) < job.budget,
            "init_s": clock["init"], "spent_s": spent}


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def run_all(jobs: list[Job], workers: int) -> list[dict[str, Any]]:
    if workers <= 1:
        _init_worker()
        return [run(j) for j in jobs]
    with mp.get_context("spawn").Pool(workers, initializer=_init_worker) as pool:
        return list(pool.imap_unordered(run, jobs, chunksize=1))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", default=str(ROOT.parent / "shared" / "data" / "nb201"))
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--seed-base", type=int, default=0,
                        help="first seed (tuning used 1000.., the reported runs 0..)")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=STRATEGIES)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--cap", type=int, default=2000, help="most samples per run")
    parser.add_argument("--runtime-trials", type=int, default=200,
                        help="trials per strategy through run_search to time (0: skip)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: 3 seeds, CIFAR-10, 50 runtime trials")
    parser.add_argument("--tag", default="", help="suffix of the result files")
    parser.add_argument("--no-plot", action="store_true")
    for name, value in asdict(Settings()).items():
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, type=type(value),
                            default=value)
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.datasets = 3, ["cifar10"]
        args.runtime_trials = min(args.runtime_trials, 50)
        args.tag = args.tag or "quick"
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if not (Path(args.table) / "nb201.csv").is_file():
        sys.exit(f"nb201_search: {args.table}/nb201.csv not found (see ../shared/README.md)")
    settings = Settings(**{k: getattr(args, k) for k in asdict(Settings())})
    jobs = [Job(s, d, args.seed_base + i, args.table, settings, max(BUDGETS), args.cap)
            for d in args.datasets for s in args.strategies for i in range(args.seeds)]
    jobs.sort(key=lambda j: j.strategy != "reinforce")  # the slow ones first
    start = time.perf_counter()
    runs = run_all(jobs, args.workers)
    search_s = time.perf_counter() - start
    runs.sort(key=lambda r: (r["dataset"], r["strategy"], r["seed"]))
    result = {"settings": asdict(settings), "seeds": args.seeds, "seed_base": args.seed_base,
              "cap": args.cap, "workers": args.workers, "search_wall_s": search_s,
              "tables": tables(runs, BUDGETS), "parts": _parts(runs)}
    if args.runtime_trials:
        result["runtime"] = runtime_timing(args.table, settings, args.runtime_trials)
        for name, timing in result["runtime"].items():  # the driver = the runtime's trials?
            driver = next((r["archs"] for r in runs if r["strategy"] == name and r["seed"] == 0
                           and r["dataset"] == "cifar10"), None)
            archs = timing.pop("archs")
            if driver is not None:
                timing["same_as_driver"] = sum(a == b for a, b in zip(archs, driver,
                                                                     strict=False))
    result["total_wall_s"] = time.perf_counter() - start
    print_tables(result)
    name = "nb201_search" + (f"_{args.tag}" if args.tag else "")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / f"{name}.md").write_text(markdown(result) + "\n")
    if not args.no_plot:
        plot(runs, out / f"{name}.png", max(BUDGETS))
    print(f"wrote {out / name}.json and .png ({result['total_wall_s']:.0f} s in all)")


def _parts(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per strategy: ms per sample spent in each part of the driver."""
    out = {}
    for name in {r["strategy"] for r in runs}:
        mine = [r for r in runs if r["strategy"] == name]
        n = sum(len(r["valid"]) for r in mine)
        parts = {k: 1000 * sum(r["spent_s"][k] for r in mine) / n for k in mine[0]["spent_s"]}
        parts["init_ms_per_run"] = 1000 * sum(r["init_s"] for r in mine) / len(mine)
        out[name] = {"samples": n, **parts}
    return out


if __name__ == "__main__":
    main()
