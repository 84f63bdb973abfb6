"""Tuning the strategies' settings on NAS-Bench-201, CIFAR-10 only, on seeds that the
reported runs do not use (1000..1029), choosing by what a search can see: the mean
12-epoch validation accuracy of each run's pick at 200 samples (its 200-epoch test
accuracy is printed beside it, not used to choose).

    python benchmarks/nb201_tune.py [--seeds 30] [--workers 2] [--grid reinforce|evolution]

Writes benchmarks/results/nb201_tune.json (one row per setting tried). Against collapse
and repeats, from the tuned rate and population (a 10-seed screen, then 30 seeds):

    BASE='{"lr": 0.02, "batch": 4, "population": 32, "tournament": 16}'
    python benchmarks/nb201_tune.py --seeds 10 --grid collapse repeats --base "$BASE" \
        --out nb201_screen.json
    python benchmarks/nb201_tune.py --grid confirm-reinforce confirm-evolution \
        --base "$BASE" --out nb201_confirm.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from nb201_report import tables  # noqa: E402
from nb201_search import ROOT, Job, Settings, run_all  # noqa: E402

BASE = Settings()
GRIDS = {
    "reinforce": [{"lr": lr, "batch": b} for lr in (6e-4, 3e-3, 0.01, 0.02, 0.04)
                  for b in (4, 8, 16)]
    + [{"entropy": e} for e in (1e-3, 1e-2)]
    + [{"decay": d} for d in (0.8, 0.99)]
    + [{"temperature": 1.5}],
    "evolution": [{"population": p, "tournament": t} for p in (8, 16, 32, 64)
                  for t in (2, 4, 8, 16) if t <= p],
    # against collapse (from --base '{"lr": 0.02, "batch": 4, "population": 32,
    # "tournament": 16}', the tuned defaults): entropy bonus, temperature, a rank baseline,
    # PPO-clip updates; evolution: re-mutating a repeated child, tournament sizes
    "collapse": [{}] + [{"entropy": e} for e in (1e-2, 3e-2, 0.1)]
    + [{"temperature": 1.5}]
    + [{"baseline": "rank", "window": w} for w in (0, 32, 128)]
    + [{"baseline": "rank", "window": 32, "lr": lr} for lr in (3e-3, 0.01)]
    + [{"ppo_epochs": k} for k in (2, 4)]
    + [{"ppo_epochs": 4, "baseline": "rank", "window": 32, "lr": 3e-3},
       {"ppo_epochs": 4, "baseline": "rank", "window": 0, "lr": 5e-3}],
    "repeats": [{}] + [{"remutate": r} for r in (1, 5)]
    + [{"remutate": 5, "population": p, "tournament": t} for p, t in ((32, 8), (64, 16))],
}
# the promising ones over 30 seeds
CONFIRM = {"reinforce": [{"baseline": "rank", "window": 0},
                         {"baseline": "rank", "window": 0, "temperature": 1.5},
                         {"baseline": "rank", "window": 0, "entropy": 0.1},
                         {"temperature": 1.5},
                         {"baseline": "rank", "window": 0, "batch": 8},
                         {"baseline": "rank", "window": 0, "lr": 0.04},
                         {"baseline": "rank", "window": 0, "lr": 0.01}],
           "evolution": [{"remutate": 5}, {"remutate": 5, "population": 64, "tournament": 16},
                         {"remutate": 5, "population": 64, "tournament": 8},
                         *({"remutate": 5, "population": p, "tournament": t}
                           for p, t in ((32, 32), (16, 16), (24, 12), (48, 24))),
                         {"remutate": 20}]}
GRIDS.update({f"confirm-{k}": v for k, v in CONFIRM.items()})
STRATEGY = {"collapse": "reinforce", "repeats": "evolution", "confirm-reinforce": "reinforce",
            "confirm-evolution": "evolution"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", default=str(ROOT.parent / "shared" / "data" / "nb201"))
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--grid", nargs="+", default=["reinforce", "evolution"],
                        choices=list(GRIDS))
    parser.add_argument("--base", default="{}", help="JSON settings the grid varies from")
    parser.add_argument("--only", default=None, help="JSON list: these changes, not the grid's")
    parser.add_argument("--out", default="nb201_tune.json", help="in benchmarks/results/")
    args = parser.parse_args()
    base = replace(BASE, **json.loads(args.base))
    out = ROOT / "benchmarks" / "results" / args.out
    done = json.loads(out.read_text()) if out.exists() else {"rows": []}
    start = time.perf_counter()
    for grid in args.grid:
        strategy = STRATEGY.get(grid, grid)
        changes: list[dict] = json.loads(args.only) if args.only else GRIDS[grid]
        for change in changes:
            settings = replace(base, **change)
            jobs = [Job(strategy, "cifar10", 1000 + i, args.table, settings)
                    for i in range(args.seeds)]
            rows = [r for r in tables(run_all(jobs, args.workers), (100, 200))
                    if r["budget"] in ("100 samples", "200 samples", "200 distinct")]
            row = {"strategy": strategy, "seeds": args.seeds, "settings": asdict(settings),
                   "change": change,
                   **{f"{r['budget']}": {k: r[k] for k in ("pick_valid_mean", "mean", "p10",
                                                           "p90", "distinct_mean", "capped")}
                      for r in rows}}
            done["rows"].append(row)
            s, d = row["200 samples"], row["200 distinct"]
            print(f"{strategy:<10} {json.dumps(change):<40} valid {s['pick_valid_mean']:.3f} "
                  f"test {s['mean']:.2f} (100: {row['100 samples']['mean']:.2f}, 200 distinct:"
                  f" {d['mean']:.2f}, valid {d['pick_valid_mean']:.3f}, capped {d['capped']})"
                  f" distinct {s['distinct_mean']:.0f}",
                  flush=True)
            out.write_text(json.dumps(done, indent=1) + "\n")
    print(f"{time.perf_counter() - start:.0f} s; wrote {out}")


if __name__ == "__main__":
    main()
