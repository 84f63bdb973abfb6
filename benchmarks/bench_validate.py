"""Front-end speed: validating long `cnn` architectures (goal: 1,000 layers well under 1 s).

    python benchmarks/bench_validate.py
"""

from __future__ import annotations

import random
import subprocess
import sys
import time

from common import best_of, report

from nasc.compiler.frontend import parse
from nasc.grammar import load_space


def long_cnn(layers: int, seed: int = 0) -> str:
    """A valid `cnn` string with `layers` layers, each reading up to 3 earlier layers."""
    rng = random.Random(seed)
    lines = []
    for number in range(1, layers + 1):
        inputs = sorted(rng.sample(range(1, number), min(3, number - 1)))
        tail = f" from {','.join(map(str, inputs))}" if inputs else ""
        kernel = f"{rng.choice('1357')}x{rng.choice('1357')}"
        filters, stride = rng.choice([24, 36, 48, 64]), rng.choice("123")
        lines.append(f"conv {kernel} {filters} stride {stride}{tail}")
    return "\n".join(lines) + "\n"


def main() -> None:
    space = load_space("cnn")
    rows = []
    for layers in (10, 100, 1000, 5000):
        text = long_cnn(layers)
        timing = best_of(lambda text=text: parse(text, space))
        rows.append({"layers": layers, "bytes": len(text), "parse+check_s": timing["median_s"],
                     "us_per_layer": timing["median_s"] / layers * 1e6})
    text = long_cnn(1000)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "nasc.cli", "validate", "-"], input=text,
                          capture_output=True, text=True, check=True)
    cli_s = time.perf_counter() - start
    assert done.stdout.strip() == "ok"
    report("validate", rows, {"cli_validate_1000_layers_s": cli_s, "goal": "1000 layers < 1 s"})
    print(f"nasc validate (new process, 1000 layers): {cli_s:.3f} s")


if __name__ == "__main__":
    main()
