"""A recurrent-cell search on real text, then the NASCell, an LSTM and the best cell found,
retrained at one budget over several seeds.

    python benchmarks/ptb_search.py [--data ../shared/data/ptb-subset] [--trials 60]
        [--search-batches 30] [--workers 2] [--epochs 3] [--seeds 3] [--store PATH] [--quick]

1. Search: `nasc.search` (the same loop and SQLite store as `nasc search`), the
   `reinforce` controller on the built-in `rnn` space, `--data ptb:DIR`; each child
   trains one epoch capped at `--search-batches` batches (validation capped alike).
   The wall time is measured. With `--store` naming an existing store, its search is
   reused (wall time: first trial started to last finished).
2. Comparison: the NASCell (`examples/nascell.arch`), an LSTM written in the `rnn`
   language (`LSTM` below), the best cell of the search (lowest validation perplexity,
   the search's own metric) and, as a check of the LSTM string, `torch.nn.LSTM` at the
   same hidden size, each trained with `nasc.runtime.retrain.retrain` (the path of
   `nasc train`; torch.nn.LSTM by the same loop, `train_rnn`) at one `Budget` for every
   seed; validation perplexity on the whole file. A run that diverges is counted apart.

Data: `ptb.train.txt` trains and `ptb.valid.txt` validates, as `ptb:DIR` defines; in
`../shared/data/ptb-subset` they are PTB's standard validation and test splits (74k and
82k tokens), so these perplexities are not comparable to published PTB figures.
Writes benchmarks/results/ptb.json (or ptb_TAG.json).
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import report  # noqa: E402

NASCELL = (ROOT / "examples" / "nascell.arch").read_text()

# An LSTM, exactly: leaf i is ACT(W_i x + U_i h); node 8 = sigmoid(leaf 0 + leaf 1) is the
# forget gate f and `inject 8: mul identity` makes it f * c_{t-1}; node 9 = i * g
# (leaf 2 sigmoid, leaf 3 tanh); node 12 adds them: its value before tanh is
# c_t = f * c_{t-1} + i * g (`cell 12`), its output tanh(c_t); node 13 = sigmoid(leaves
# 4-7 summed) is the output gate o; the root h_t = tanh(c_t) * o. The gates' linear maps
# are sums of two (f) and four (o) leaf maps: the same functions, twice the parameters
# of torch.nn.LSTM's cell (8 leaf projections instead of 4 gates).
LSTM = ("rnn base 8; 0: add identity; 1: add identity; 2: add sigmoid; 3: add tanh; "
        "4: add identity; 5: add identity; 6: add identity; 7: add identity; "
        "8: add sigmoid; 9: mul identity; 10: add identity; 11: add identity; "
        "12: add tanh; 13: add sigmoid; 14: mul identity; inject 8: mul identity; cell 12")
TORCH_LSTM = "torch.nn.LSTM"


@dataclass(frozen=True)
class Search:
    """The short search: one epoch per child, capped at `max_batches` batches."""

    trials: int = 60
    max_batches: int = 30
    workers: int = 2
    seed: int = 0
    time_limit: float = 60.0
    hidden_size: int = 64


@dataclass(frozen=True)
class Budget:
    """The retraining budget, the same for every cell and seed (embedding = hidden)."""

    epochs: int = 3
    hidden_size: int = 64
    batch_size: int = 20
    bptt: int = 35
    lr: float = 20.0
    clip: float = 0.25
    max_batches: int | None = None  # per epoch, and of validation: None = the whole files

    def train_config(self) -> Any:
        from nasc.runtime.child import TrainConfig

        return TrainConfig(epochs=self.epochs, hidden_size=self.hidden_size,
                           batch_size=self.batch_size, bptt=self.bptt, lr=self.lr,
                           clip=self.clip, max_batches=self.max_batches, reward_epochs=1)


def run_search(source: str, settings: Search, store: Path) -> dict[str, Any]:
    """Run the search into `store` (or reuse the search already there); its summary."""
    import nasc

    start, cpu = time.perf_counter(), cpu_seconds()
    if store.exists():
        study = nasc.load_study(store)
        wall, used = stored_wall_time(store), None
    else:
        study = nasc.search("rnn", data=source, strategy="reinforce", trials=settings.trials,
                            store=store, executor="local", workers=settings.workers,
                            seed=settings.seed, epochs=1, max_batches=settings.max_batches,
                            hidden_size=settings.hidden_size, threads=1,
                            time_limit=settings.time_limit, progress=_progress)
        wall, used = time.perf_counter() - start, cpu_seconds() - cpu
    return {**summarize_search(study.trials, wall), "cpu_seconds": used}


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and its finished (joined) children."""
    import resource

    own, children = (resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                                      resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _progress(event: dict[str, Any]) -> None:
    trial = event["trial"]
    ppl = trial.summary.get("perplexity") if hasattr(trial, "summary") else None
    print(f"  trial {trial.id}: {trial.status}, ppl {ppl}", flush=True)


def stored_wall_time(store: Path) -> float:
    """Seconds from the first trial's start to the last one's finish, read from the store."""
    from nasc.runtime.store import Store

    opened = Store.open(store, readonly=True)
    try:
        rows = [t for t in opened.trials() if t.started is not None and t.finished is not None]
    finally:
        opened.close()
    return max(t.finished for t in rows) - min(t.started for t in rows)  # type: ignore


def summarize_search(trials: list[Any], wall: float) -> dict[str, Any]:
    """Counts, wall time and the best cells by the search's validation perplexity."""
    ranked = sorted((t for t in trials if t.status == "done" and t.reused_from is None
                     and "perplexity" in t.metrics), key=lambda t: (t.metrics["perplexity"], t.id))
    if not ranked:
        raise SystemExit("the search finished no trial: nothing to compare")
    statuses = [t.status for t in trials]
    return {"wall_seconds": wall, "trials": len(trials), "done": statuses.count("done"),
            "failed": statuses.count("failed"),
            "reused": sum(t.reused_from is not None for t in trials),
            "errors": sorted({t.error for t in trials if t.error}),
            "top": [{"id": t.id, "arch": t.arch, "search_ppl": t.metrics["perplexity"],
                     "params": t.params} for t in ranked[:5]]}


def cells(best_arch: str, torch_lstm: bool) -> dict[str, str]:
    """The cells compared, by name."""
    chosen = {"NASCell": NASCELL, "LSTM (rnn language)": LSTM, "best found": best_arch}
    if torch_lstm:
        chosen["torch.nn.LSTM"] = TORCH_LSTM
    return chosen


def train_one(job: tuple[str, str, str, Budget, int]) -> dict[str, Any]:
    """Train one cell for one seed at the budget; its validation perplexity."""
    import torch

    torch.set_num_threads(1)
    name, arch, source, budget, seed = job
    try:
        if arch == TORCH_LSTM:
            result = train_torch_lstm(source, budget, seed)
        else:
            from nasc.runtime.retrain import retrain

            _, result = retrain(arch, "rnn", source, budget.train_config(), seed)
    except Exception as exc:  # a run that diverges is a result, not the end of the table
        print(f"  {name}, seed {seed}: failed ({exc})", flush=True)
        return {"cell": name, "seed": seed, "valid_ppl": math.inf, "params": None,
                "seconds": None, "epochs": [], "error": f"{type(exc).__name__}: {exc}"}
    print(f"  {name}, seed {seed}: ppl {result.valid_perplexity:.2f} "
          f"({result.seconds:.0f} s)", flush=True)
    return {"cell": name, "seed": seed, "valid_ppl": result.valid_perplexity,
            "params": result.params, "seconds": result.seconds,
            "epochs": [m["valid_ppl"] for m in result.epochs]}


def train_torch_lstm(source: str, budget: Budget, seed: int) -> Any:
    """torch.nn.LSTM in the same language model, trained by the same loop (`train_rnn`)."""
    import torch
    from torch import nn

    from nasc.runtime.child import Guard, TrialSpec, counts
    from nasc.runtime.data import load_data
    from nasc.runtime.retrain import Retrained
    from nasc.runtime.train_rnn import train_rnn

    class TorchLM(nn.Module):
        def __init__(self, vocab: int, size: int) -> None:
            super().__init__()
            self.embedding = nn.Embedding(vocab, size)
            self.rnn = nn.LSTM(size, size)
            self.decoder = nn.Linear(size, vocab)

        def forward(self, x: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
            out, state = self.rnn(self.embedding(x), state)
            return self.decoder(out), state

    start = time.perf_counter()
    data = load_data(source)
    torch.manual_seed(seed)
    model = TorchLM(len(data.vocab), budget.hidden_size)  # type: ignore[union-attr]
    config = budget.train_config()
    result = Retrained(TORCH_LSTM)
    result.params, result.macs = counts(model)
    train_rnn(model, data, TrialSpec(0, TORCH_LSTM, "rnn", source, config, seed),  # type: ignore[arg-type]
              Guard(None, None), result.epochs)
    result.valid_perplexity = float(result.epochs[-1]["valid_ppl"])
    result.seconds = time.perf_counter() - start
    return result


def compare(chosen: dict[str, str], source: str, budget: Budget, seeds: int,
            workers: int) -> list[dict[str, Any]]:
    """Every (cell, seed) run, `workers` at a time, one torch thread each."""
    jobs = [(name, arch, source, budget, seed) for seed in range(seeds)
            for name, arch in chosen.items()]
    if workers <= 1:
        return [train_one(job) for job in jobs]
    with mp.get_context("spawn").Pool(workers) as pool:
        return pool.map(train_one, jobs, chunksize=1)


def table(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per cell: mean, std, min, max validation perplexity over the seeds that finished
    (`failed` counts the others), parameters, seconds per run."""
    rows = []
    for name in dict.fromkeys(r["cell"] for r in runs):
        done = [r for r in runs if r["cell"] == name and math.isfinite(r["valid_ppl"])]
        ppl = [r["valid_ppl"] for r in done] or [math.nan]
        rows.append({"cell": name, "seeds": len(done), "mean_ppl": statistics.fmean(ppl),
                     "std_ppl": statistics.stdev(ppl) if len(ppl) > 1 else 0.0,
                     "min_ppl": min(ppl), "max_ppl": max(ppl),
                     "params": max((r["params"] for r in done), default=None),
                     "seconds": statistics.fmean(r["seconds"] for r in done) if done else None,
                     "failed": sum(r["cell"] == name for r in runs) - len(done)})
    return rows


def unigram_perplexity(source: str) -> float:
    """The validation perplexity of the training file's word frequencies (no context):
    the level below which a language model has learned something from context."""
    import torch

    from nasc.runtime.data import load_data

    data = load_data(source)
    counts = torch.bincount(data.train, minlength=len(data.vocab)).double()  # type: ignore
    logp = (counts / counts.sum())[data.valid].clamp_min(1e-12).log()  # type: ignore
    return math.exp(-float(logp.mean()))


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "ptb-subset"))
    p.add_argument("--trials", type=int, default=Search.trials)
    p.add_argument("--search-batches", type=int, default=Search.max_batches)
    p.add_argument("--workers", type=int, default=Search.workers)
    p.add_argument("--seed", type=int, default=Search.seed)
    p.add_argument("--epochs", type=int, default=Budget.epochs)
    p.add_argument("--hidden-size", type=int, default=Budget.hidden_size)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--no-torch-lstm", action="store_true", help="Skip the torch.nn.LSTM row.")
    p.add_argument("--store", default=None, help="Keep the search here (reused if it exists).")
    p.add_argument("--quick", action="store_true", help="A smoke test: tiny search, 1 epoch.")
    p.add_argument("--tag", default=None)
    return p.parse_args(argv)


def settings(args: argparse.Namespace) -> tuple[Search, Budget, int]:
    """The search settings, the budget and the number of seeds (`--quick`: tiny)."""
    if args.quick:
        return (Search(trials=4, max_batches=2, workers=args.workers, seed=args.seed),
                Budget(epochs=1, hidden_size=16, max_batches=5), 2)
    search = Search(trials=args.trials, max_batches=args.search_batches, workers=args.workers,
                    seed=args.seed, hidden_size=args.hidden_size)
    return search, Budget(epochs=args.epochs, hidden_size=args.hidden_size), args.seeds


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    search, budget, seeds = settings(args)
    source = f"ptb:{args.data}"
    store = Path(args.store) if args.store else Path(tempfile.mkdtemp()) / "ptb.db"
    print(f"search: {search}", flush=True)
    found = run_search(source, search, store)
    best = found["top"][0]
    print(f"search: {found['trials']} trials in {found['wall_seconds']:.0f} s "
          f"({found['cpu_seconds'] or 0:.0f} CPU-seconds); best #"
          f"{best['id']} (search ppl {best['search_ppl']:.1f}): {best['arch']}", flush=True)
    start = time.perf_counter()
    runs = compare(cells(best["arch"], not args.no_torch_lstm), source, budget, seeds,
                   search.workers)
    unigram = unigram_perplexity(source)
    print(f"unigram model of the training file: validation ppl {unigram:.1f}")
    name = "ptb" if args.tag is None else f"ptb_{args.tag}"
    report(name, table(runs), {
        "data": source, "unigram_ppl": unigram, "search": {**asdict(search), **found},
        "budget": asdict(budget),
        "compare_seconds": time.perf_counter() - start, "runs": runs,
        "cells": cells(best["arch"], not args.no_torch_lstm),
        "note": "ptb.train.txt = PTB's standard validation split, ptb.valid.txt = its "
                "standard test split: not comparable to published PTB perplexities"})


if __name__ == "__main__":
    main()
