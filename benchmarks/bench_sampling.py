"""Grammar-constrained sampling against the same LSTM with no grammar.

    python benchmarks/bench_sampling.py [--archs-b1 150] [--batches-b64 20] [--layers 15]

The constrained controller samples complete `cnn` architectures of exactly
`--layers` layers (masks, forced tokens, anchor attention, decision records;
the text is rendered lazily and timed separately); the unconstrained run is the
same LSTM drawing the same number of steps from an unmasked softmax. `rnn` rows
(no anchor points) show the masking overhead alone. Both run interleaved, on
one thread, after a warm-up that builds the decision tables; both wall-clock
and process (CPU) time are recorded. Goals: constrained / unconstrained <= 1.10
at batch 1 and <= 1.20 at batch 64. Prints a table and writes
benchmarks/results/sampling.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from nasc.controller import Budget, DecisionTable, Policy

RESULTS = Path(__file__).resolve().parent / "results" / "sampling.json"
GOALS = {1: 1.10, 64: 1.20}


def _clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(start: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = _clocks()
    return wall - start[0], cpu - start[1]


def _time_pair(policy: Policy, batch: int, budget: Budget, gen: torch.Generator) -> dict:
    """One constrained batch, then the unconstrained LSTM for as many steps."""
    start = _clocks()
    out = policy.sample(batch, budget, generator=gen)
    constrained = _since(start)
    steps = max(len(s) for s in out.samples)
    start = _clocks()
    policy.sample_free(batch, steps, generator=gen)
    free = _since(start)
    start = _clocks()
    texts = [s.text for s in out.samples]  # rendered lazily: timed on its own
    render = _since(start)
    assert all(texts)
    return {"constrained": constrained, "free": free, "steps": steps,
            "archs": len(out.samples), "render": render}


def measure(policy: Policy, batch: int, rounds: int, budget: Budget, space: str = "cnn") -> dict:
    """Wall-clock and process (CPU) time of `rounds` interleaved pairs."""
    gen = torch.Generator().manual_seed(0)
    pairs = [_time_pair(policy, batch, budget, gen) for _ in range(rounds)]
    archs = sum(p["archs"] for p in pairs)
    steps = sum(p["steps"] for p in pairs)
    row: dict = {"space": space, "batch": batch, "rounds": rounds, "archs": archs,
                 "steps_per_batch": steps / rounds, "goal": GOALS.get(batch)}
    for k, clock in enumerate(("wall", "cpu")):
        constrained = sum(p["constrained"][k] for p in pairs)
        free = sum(p["free"][k] for p in pairs)
        render = sum(p["render"][k] for p in pairs)
        row[clock] = {
            "constrained_s": constrained, "unconstrained_s": free, "ratio": constrained / free,
            "median_round_ratio": statistics.median(
                p["constrained"][k] / p["free"][k] for p in pairs),
            "us_per_step_constrained": 1e6 * constrained / steps,
            "us_per_step_unconstrained": 1e6 * free / steps,
            "constrained_archs_per_s": archs / constrained,
            "unconstrained_archs_per_s": archs / free,
            "constrained_archs_per_s_with_text": archs / (constrained + render),
            "render_us_per_arch": 1e6 * render / archs,
        }
    row["meets_goal"] = row["cpu"]["ratio"] <= GOALS.get(batch, float("inf"))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=15)
    parser.add_argument("--archs-b1", type=int, default=150)
    parser.add_argument("--batches-b64", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    table = DecisionTable("cnn")
    policy = Policy(table)
    budget = Budget(args.layers, None, args.layers)
    rnn = Policy(DecisionTable("rnn"))  # no anchor points: the masking overhead alone
    with torch.no_grad():
        start = time.perf_counter()
        for _ in range(5):
            policy.sample(64, budget)  # builds the decision table lazily
            rnn.sample(64, Budget())
        warmup = time.perf_counter() - start
        rows = [measure(policy, 1, args.archs_b1, budget),
                measure(policy, 64, args.batches_b64, budget),
                measure(rnn, 1, args.archs_b1, Budget(), "rnn"),
                measure(rnn, 64, args.batches_b64, Budget(), "rnn")]
    print(f"cnn: {args.layers} layers; rnn: cells of 3 or 15 nodes. 2x35 LSTM, 1 thread, "
          f"table warm-up {warmup:.2f} s ({len(table.keys)} cnn decision states)")
    print(f"{'space':>5} {'batch':>5} {'steps':>6} {'constr us/step':>15} {'free us/step':>13} "
          f"{'ratio cpu':>9} {'ratio wall':>10} {'goal':>5} {'archs/s constr':>15} "
          f"{'archs/s free':>13} {'text us/arch':>12}")
    for r in rows:
        cpu, wall = r["cpu"], r["wall"]
        print(f"{r['space']:>5} {r['batch']:>5} {r['steps_per_batch']:>6.1f} "
              f"{cpu['us_per_step_constrained']:>15.1f} {cpu['us_per_step_unconstrained']:>13.1f} "
              f"{cpu['ratio']:>9.3f} {wall['ratio']:>10.3f} {r['goal']:>5.2f} "
              f"{cpu['constrained_archs_per_s']:>15.1f} {cpu['unconstrained_archs_per_s']:>13.1f} "
              f"{cpu['render_us_per_arch']:>12.1f}")
    print("cpu: process time (what this process computed; robust on a shared machine); "
          "wall: wall-clock time")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "benchmark": "sampling", "space": "cnn", "layers": args.layers,
        "torch": torch.__version__, "machine": platform.machine(), "threads": 1,
        "warmup_s": warmup, "decision_states": len(table.keys), "rows": rows,
    }, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
