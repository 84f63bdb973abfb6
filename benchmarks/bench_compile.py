"""Compiler benchmarks: run time of compiled nets and the time to compile them.

    python benchmarks/bench_compile.py [--quick]

Measured side by side in one run, on CPU (torch.set_num_threads(1)):
  1. forward+backward time, compiled vs hand-written network   (goal: ratio <= 1.05)
  2. compile time of a 15-layer network vs building the same
     network written by hand                                   (goal: ratio <= 1.3)
  3. compile time of a 200-layer network, counting only
     (`--max-params`: parse, lower, shapes, counts; no weights) (goal: < 0.2 s)
Prints a table and writes benchmarks/results/compile.json.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "compiler"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from cnn_handwritten import DeepSkip  # noqa: E402  (the hand-written test modules)
from common import report  # noqa: E402

import nasc  # noqa: E402
from nasc.api import compile_ir  # noqa: E402
from nasc.compiler.pipeline import Options, build_ir  # noqa: E402


def chain_text(layers: int, filters: int = 36) -> str:
    """Layer i reads layers i-1 and i-2 (a skip connection), 3x3 convs, stride 1."""
    lines = [f"conv 3x3 {filters}", f"conv 3x3 {filters} from 1"]
    lines += [f"conv 3x3 {filters} from {i - 2},{i - 1}" for i in range(3, layers + 1)]
    return "\n".join(lines[:layers])


class HandChain(nn.Module):
    """chain_text(n) written by hand: conv-bn-relu blocks, each reading the two before it."""

    def __init__(self, layers: int, filters: int = 36, channels: int = 3, classes: int = 10):
        super().__init__()
        for i in range(1, layers + 1):
            c_in = channels if i == 1 else filters if i == 2 else 2 * filters
            self.add_module(f"layer{i}_conv", nn.Conv2d(c_in, filters, 3, 1, 1, bias=False))
            self.add_module(f"layer{i}_bn", nn.BatchNorm2d(filters))
        self.layers = layers
        self.head_fc = nn.Linear(filters, classes)

    def forward(self, x: Tensor) -> Tensor:
        outs: list[Tensor] = []
        for i in range(1, self.layers + 1):
            inp = x if i == 1 else outs[-1] if i == 2 else torch.cat(outs[-2:], dim=1)
            conv, bn = getattr(self, f"layer{i}_conv"), getattr(self, f"layer{i}_bn")
            outs.append(F.relu(bn(conv(inp))))
        return self.head_fc(outs[-1].mean((2, 3)))


def median_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved(a: Callable[[], object], b: Callable[[], object], rounds: int, inner: int
                ) -> tuple[float, float]:
    """Median seconds per call of a and b, measured alternately to share any drift."""
    ta, tb = [], []
    for _ in range(rounds):
        ta.append(median_time(a, inner))
        tb.append(median_time(b, inner))
    return statistics.median(ta), statistics.median(tb)


def train_step(model: nn.Module, x: Tensor) -> Callable[[], None]:
    def step() -> None:
        model.zero_grad(set_to_none=True)
        model(x).sum().backward()

    return step


def bench_runtime(quick: bool) -> dict[str, float]:
    text = (ROOT / "examples" / "deep_skip.arch").read_text()
    compiled = nasc.compile(text)
    hand = DeepSkip(3, 10)
    hand.load_state_dict(compiled.state_dict())
    x = torch.randn(32, 3, 32, 32)
    for model in (compiled, hand):
        train_step(model, x)()  # warm up
    t_c, t_h = interleaved(train_step(compiled, x), train_step(hand, x),
                           rounds=3 if quick else 7, inner=3 if quick else 5)
    return {"compiled_s": t_c, "handwritten_s": t_h, "ratio": t_c / t_h}


def bench_compile15(quick: bool) -> dict[str, float]:
    text = chain_text(15)
    nasc.compile(text)  # warm caches (the grammar's parser, imports)
    t_c, t_h = interleaved(lambda: nasc.compile(text), lambda: HandChain(15),
                           rounds=5 if quick else 11, inner=3)
    return {"compile_s": t_c, "handwritten_build_s": t_h, "ratio": t_c / t_h}


def bench_count200(quick: bool) -> dict[str, float]:
    text = chain_text(200)
    seconds = median_time(lambda: compile_ir(text, max_params=10**12), 3 if quick else 7)
    graph = build_ir(nasc.api.load_arch(text)[0], Options())
    return {"count_s": seconds, "params": graph.meta["params"], "ir_nodes": len(graph)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    runtime = bench_runtime(args.quick)
    build = bench_compile15(args.quick)
    count = bench_count200(args.quick)
    rows = [
        {"benchmark": "fwd+bwd deep_skip, batch 32, 3x32x32",
         "nasc": f"{runtime['compiled_s'] * 1e3:.1f} ms",
         "by_hand": f"{runtime['handwritten_s'] * 1e3:.1f} ms",
         "result": f"ratio {runtime['ratio']:.3f}", "goal": "<= 1.05",
         "met": runtime["ratio"] <= 1.05},
        {"benchmark": "compile 15 layers vs build by hand",
         "nasc": f"{build['compile_s'] * 1e3:.1f} ms",
         "by_hand": f"{build['handwritten_build_s'] * 1e3:.1f} ms",
         "result": f"ratio {build['ratio']:.2f}", "goal": "<= 1.3", "met": build["ratio"] <= 1.3},
        {"benchmark": "count 200 layers (--max-params)", "nasc": f"{count['count_s'] * 1e3:.1f} ms",
         "by_hand": "-", "result": f"{count['count_s']:.3f} s", "goal": "< 0.2 s",
         "met": count["count_s"] < 0.2},
    ]
    report("compile", rows, {"runtime": runtime, "compile_15": build, "count_200": count,
                             "torch": torch.__version__, "threads": torch.get_num_threads(),
                             "quick": args.quick})


if __name__ == "__main__":
    main()
