"""Example-space benchmarks: NAS-Bench-201 and DARTS_V2, compiled vs written by hand.

    python benchmarks/bench_spaces.py [--quick] [--profile] [--threads 1]

Measured side by side in one run, on CPU, with the same torch thread count for
both sides (--threads, default 1); the references are the hand-written networks
of tests/spaces/references.py (written from the papers, not from nasc's code):
  1. compile time, `nasc.compile(text, space=...)` vs building the reference from
     the same text (NB201: all nor_conv_3x3, all none, the issue's mixed cell;
     DARTS_V2 at C=36), interleaved, median after a warm-up     (goal: ratio <= 1.2)
  2. forward+backward, train mode, the reference's weights copied into the compiled
     network (`copy_by_order`), interleaved: NB201 batch 64, DARTS_V2 batch 16,
     3x32x32                                                     (goal: ratio <= 1.05)
     The reference's `none` is `zeros_like` (no autograd edge); nasc's is `x.mul(0.)`
     as in the NB201/DARTS code, so NB201 cells with `none` edges are also timed
     against the reference with `x.mul(0.)` (rows "mul-zero ref", a diagnostic).
  3. every NB201 cell string (the `arch` column of ../shared/data/nb201/nb201.csv,
     else `all_nb201_archs()`) compiled to the counted IR (`summarize_arch`, no
     weights): total and per-string time, every string must compile, and the
     counts of 100 random strings must equal the reference's `count_parameters`
  4. where compile time goes: parse, lower, verify, each pass, code generation
     (module construction with weight init, fx node creation, GraphModule
     codegen), the summary; with --profile also cProfile's top functions.
Prints a table and writes benchmarks/results/spaces.json (--quick: fewer repeats and
300 random NB201 strings, a smoke run; the JSON records `quick`).
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import io
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import fx, nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import report  # noqa: E402

import nasc  # noqa: E402
from nasc.api import load_arch, summarize_arch  # noqa: E402
from nasc.compiler import codegen  # noqa: E402
from nasc.compiler.ir import verify  # noqa: E402
from nasc.compiler.pipeline import PASSES, Options, lower  # noqa: E402
from nasc.compiler.report import summarize  # noqa: E402
from tests.spaces.references import (  # noqa: E402  (the hand-written references)
    DARTS_V2_TEXT,
    DARTSNetwork,
    NB201Cell,
    NB201Network,
    Zero,
    all_nb201_archs,
    copy_by_order,
    count_parameters,
    parse_genotype,
)

NB201 = str(ROOT / "examples" / "spaces" / "nb201.lark")
DARTS = str(ROOT / "examples" / "spaces" / "darts.lark")
NB201_CSV = ROOT.parent / "shared" / "data" / "nb201" / "nb201.csv"

ALL_CONV = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
            "+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|")
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
MIXED = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|"
         "+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|")  # the example cell

# (label, text, space, build the reference from the text, batch for fwd+bwd)
CASES: list[tuple[str, str, str, Callable[[str], nn.Module], int]] = [
    ("nb201 all nor_conv_3x3", ALL_CONV, NB201, NB201Network, 64),
    ("nb201 all none", ALL_NONE, NB201, NB201Network, 64),
    ("nb201 mixed (issue's cell)", MIXED, NB201, NB201Network, 64),
    ("darts_v2 C=36", DARTS_V2_TEXT, DARTS, lambda t: DARTSNetwork(parse_genotype(t)), 16),
]


# ---------------------------------------------------------------------------- timing


def _seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(a: Callable[[], object], b: Callable[[], object], rounds: int
                ) -> tuple[list[float], list[float]]:
    """Per-call seconds of a and b, alternating (a, b, b, a, ...) to share any drift."""
    ta, tb = [], []
    for r in range(rounds):
        if r % 2:
            tb.append(_seconds(b))
            ta.append(_seconds(a))
        else:
            ta.append(_seconds(a))
            tb.append(_seconds(b))
    return ta, tb


def _stats(ta: list[float], tb: list[float]) -> dict[str, Any]:
    ma, mb = statistics.median(ta), statistics.median(tb)
    ratios = sorted(x / y for x, y in zip(ta, tb, strict=True))
    return {"nasc_s": ma, "reference_s": mb, "ratio": ma / mb,
            "nasc_min_s": min(ta), "reference_min_s": min(tb),
            "pair_ratio_range": [ratios[len(ratios) // 4], ratios[(3 * len(ratios)) // 4]],
            "rounds": len(ta)}


def _leaf_modules(module: nn.Module) -> int:
    return sum(1 for m in module.modules() if not list(m.children()))


# ---------------------------------------------------------------------------- 1. compile


def bench_compile(quick: bool) -> dict[str, dict[str, Any]]:
    out = {}
    for label, text, space, build, _ in CASES:
        big = space == DARTS
        rounds = (3 if big else 7) if quick else (11 if big else 21)
        nasc.compile(text, space=space)  # warm up: the space's parser, imports
        build(text)
        ta, tb = interleaved(lambda t=text, s=space: nasc.compile(t, space=s),
                             lambda t=text, b=build: b(t), rounds)
        compiled, reference = nasc.compile(text, space=space), build(text)
        out[label] = {**_stats(ta, tb), "params": count_parameters(compiled),
                      "reference_params": count_parameters(reference),
                      "nasc_leaf_modules": _leaf_modules(compiled),
                      "reference_leaf_modules": _leaf_modules(reference)}
    return out


# ---------------------------------------------------------------------------- 2. fwd+bwd


def _train_step(model: nn.Module, x: torch.Tensor) -> Callable[[], None]:
    def step() -> None:
        model.zero_grad(set_to_none=True)
        model(x).sum().backward()

    return step


class MulZero(nn.Module):
    """NB201's and DARTS's published ``Zero``: ``x.mul(0.)``, which keeps the autograd graph
    (backward runs through everything before it), where the reference's ``zeros_like`` cuts it.
    """

    def __init__(self, stride: int = 1) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.stride
        return (x if s == 1 else x[:, :, ::s, ::s]).mul(0.0)


def with_mul_zero(reference: nn.Module) -> nn.Module:
    """`reference` with every cell's Zero replaced by MulZero (same tensors, same order)."""
    for cell in reference.modules():
        if isinstance(cell, NB201Cell):
            for i, edge in enumerate(cell.edges):
                if isinstance(edge, Zero):
                    cell.edges[i] = MulZero(edge.stride)
    return reference


def bench_runtime(quick: bool) -> dict[str, dict[str, Any]]:
    """fwd+bwd of every case; for NB201 cells with `none` edges, also against the reference
    whose zero is the published ``x.mul(0.)`` (label suffix ``, mul-zero ref``)."""
    out = {}
    cases = [(label, text, space, build, batch, False)
             for label, text, space, build, batch in CASES]
    cases += [(f"{label}, mul-zero ref", text, space, build, batch, True)
              for label, text, space, build, batch in CASES
              if space == NB201 and "none" in text]
    for label, text, space, build, batch, mul_zero in cases:
        torch.manual_seed(0)
        reference = build(text)
        if mul_zero:
            reference = with_mul_zero(reference)
        compiled = nasc.compile(text, space=space)
        copy_by_order(reference, compiled)
        compiled.train()
        reference.train()
        x = torch.randn(batch, 3, 32, 32, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():  # same weights, same statistics: same outputs (train-mode BN)
            same = torch.allclose(compiled(x), reference(x), rtol=1e-4, atol=1e-4)
        copy_by_order(reference, compiled)  # the check moved the running statistics alike
        step_c, step_r = _train_step(compiled, x), _train_step(reference, x)
        for _ in range(2):  # warm up (allocator, autograd)
            step_c()
            step_r()
        big = space == DARTS
        rounds = (3 if big else 5) if quick else (9 if big else 15)
        ta, tb = interleaved(step_c, step_r, rounds)
        out[label] = {**_stats(ta, tb), "batch": batch, "same_outputs": same,
                      "reference_zero": "x.mul(0.)" if mul_zero else "zeros_like"}
    return out


# ---------------------------------------------------------------------------- 3. all NB201


def nb201_strings() -> tuple[list[str], str]:
    if NB201_CSV.is_file():
        with NB201_CSV.open(newline="") as f:
            return [row["arch"] for row in csv.DictReader(f)], str(NB201_CSV.relative_to(
                ROOT.parent))
    return all_nb201_archs(), "all_nb201_archs() (../shared/data/nb201/nb201.csv absent)"


def bench_all_nb201(quick: bool) -> dict[str, Any]:
    archs, source = nb201_strings()
    total = len(archs)
    if quick:
        archs = random.Random(0).sample(archs, 300)
    summarize_arch(archs[0], space=NB201)  # warm up
    params: dict[str, int] = {}
    failures: list[dict[str, str]] = []
    start = time.perf_counter()
    for arch in archs:
        try:
            params[arch] = summarize_arch(arch, space=NB201).params
        except Exception as exc:  # noqa: BLE001  (report every failing string)
            failures.append({"arch": arch, "error": f"{type(exc).__name__}: {exc}"})
    seconds = time.perf_counter() - start
    sample = random.Random(1).sample(sorted(params), min(100, len(params)))
    mismatches = [{"arch": a, "nasc": params[a], "reference": count_parameters(NB201Network(a))}
                  for a in sample]
    mismatches = [m for m in mismatches if m["nasc"] != m["reference"]]
    return {"source": source, "strings_in_source": total, "strings_compiled": len(archs),
            "total_s": seconds, "per_string_ms": seconds / len(archs) * 1e3,
            "compiled_ok": len(params), "failures": failures[:20],
            "failure_count": len(failures), "distinct_param_counts": len(set(params.values())),
            "checked_against_reference": len(sample), "count_mismatches": mismatches}


# ---------------------------------------------------------------------------- 4. where it goes


class _TimedBuilder(codegen.Builder):
    """The code generator's builder, timing fx node creation apart from module construction."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fx_s = 0.0

    def call(self, *args: Any, **kwargs: Any) -> fx.Node:
        start = time.perf_counter()
        try:
            return super().call(*args, **kwargs)
        finally:
            self.fx_s += time.perf_counter() - start


def phases(text: str, space: str) -> dict[str, float]:
    """Seconds per phase of one `nasc.compile(text, space=space)`, done step by step."""
    t: dict[str, float] = {}
    start = time.perf_counter()
    arch, name = load_arch(text, space)
    t["parse"] = time.perf_counter() - start
    start = time.perf_counter()
    graph = lower(arch, Options())
    t["lower"] = time.perf_counter() - start
    t["verify"] = _seconds(lambda: verify(graph))  # as run_passes: before and after the passes
    for pass_name, run in PASSES:
        start = time.perf_counter()
        graph = run(graph)
        t[f"pass {pass_name}"] = time.perf_counter() - start
    t["verify"] += _seconds(lambda g=graph: verify(g))
    builder = _TimedBuilder(graph, None)
    start = time.perf_counter()
    for n in graph.order():
        builder.env[n] = builder.emit(n)
    emit = time.perf_counter() - start
    t["codegen: modules + weight init"] = emit - builder.fx_s
    t["codegen: fx nodes"] = builder.fx_s
    start = time.perf_counter()
    module = fx.GraphModule(builder.root, builder.fx, class_name="NascNet")
    t["codegen: GraphModule (python codegen)"] = time.perf_counter() - start
    start = time.perf_counter()
    info = summarize(arch, graph, name)
    info.code = module.code
    t["summary"] = time.perf_counter() - start
    t["total"] = sum(t.values())
    t["ir_nodes"] = len(graph)
    return t


def bench_phases(quick: bool) -> dict[str, dict[str, float]]:
    out = {}
    for label, text, space, build, _ in CASES:
        phases(text, space)  # warm up
        runs = [phases(text, space) for _ in range(3 if quick else 7)]
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        med["reference build"] = statistics.median(
            _seconds(lambda b=build, t=text: b(t)) for _ in range(3 if quick else 7))
        out[label] = med
    return out


def cprofile(label: str, text: str, space: str, repeats: int, top: int = 25) -> str:
    nasc.compile(text, space=space)
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(repeats):
        nasc.compile(text, space=space)
    profile.disable()
    buf = io.StringIO()
    stats = pstats.Stats(profile, stream=buf)
    buf.write(f"== {label}: {repeats} compiles, by own time ==\n")
    stats.sort_stats("tottime").print_stats(top)
    return buf.getvalue()


# ---------------------------------------------------------------------------- main


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer repeats, 300 NB201 strings (a smoke run)")
    parser.add_argument("--profile", action="store_true",
                        help="also print cProfile's top functions of a compile")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (both sides)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    build = bench_compile(args.quick)
    runtime = bench_runtime(args.quick)
    every = bench_all_nb201(args.quick)
    where = bench_phases(args.quick)

    rows = []
    for label, r in build.items():
        rows.append({"benchmark": f"compile {label}", "nasc": _ms(r["nasc_s"]),
                     "reference": _ms(r["reference_s"]), "ratio": f"{r['ratio']:.2f}",
                     "goal": "<= 1.2", "met": r["ratio"] <= 1.2})
    for label, r in runtime.items():
        rows.append({"benchmark": f"fwd+bwd {label}, batch {r['batch']}",
                     "nasc": _ms(r["nasc_s"]), "reference": _ms(r["reference_s"]),
                     "ratio": f"{r['ratio']:.3f}", "goal": "<= 1.05", "met": r["ratio"] <= 1.05})
    ok = every["failure_count"] == 0 and not every["count_mismatches"]
    rows.append({"benchmark": f"count {every['strings_compiled']} NB201 strings (summarize_arch)",
                 "nasc": f"{every['total_s']:.1f} s", "reference": "-",
                 "ratio": f"{every['per_string_ms']:.2f} ms/string", "goal": "all compile, "
                 f"{every['checked_against_reference']} counts = reference", "met": ok})

    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s) for both sides")
    print(f"NB201 strings from {every['source']}: {every['compiled_ok']} compiled, "
          f"{every['failure_count']} failed, {len(every['count_mismatches'])} count mismatches "
          f"in {every['checked_against_reference']} checked")
    print("\nwhere one compile's time goes (medians, ms):")
    keys = [k for k in next(iter(where.values())) if k != "ir_nodes"]
    labels = list(where)
    print("phase".ljust(38) + "".join(lab[:26].rjust(28) for lab in labels))
    for k in keys:
        print(k.ljust(38) + "".join(f"{where[lab][k] * 1e3:28.1f}" for lab in labels))
    print("ir nodes".ljust(38) + "".join(f"{int(where[lab]['ir_nodes']):28d}" for lab in labels))
    print()
    profile_text = ""
    if args.profile:
        profile_text = "\n".join(
            cprofile(label, text, space, 2 if space == DARTS else 5)
            for label, text, space, _, _ in CASES if label in (CASES[0][0], CASES[3][0]))
        print(profile_text)
    report("spaces", rows,
           {"compile": build, "runtime": runtime, "all_nb201": every, "phases": where,
            "torch": torch.__version__, "threads": torch.get_num_threads(),
            "quick": args.quick})


if __name__ == "__main__":
    main()
