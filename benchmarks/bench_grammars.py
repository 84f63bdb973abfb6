"""Sampling's guarantee on thousands of random grammars (issue 14), against brute force.

    python benchmarks/bench_grammars.py [--seeds 4000] [--start 0]

Every random grammar of tests/controller/grammar_gen.py that Lark loads as
LALR goes through the property test of tests/controller/test_random_grammars.py
(sampling succeeds exactly when Lark's parser accepts a string within the
budget, every sample parses and fits, `count` equals brute-force enumeration).
Prints how many grammars were tried, loaded and failed (with the first
failures' seeds) and writes benchmarks/results/grammars.json.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "controller"))
sys.path.insert(0, str(HERE))

from common import report  # noqa: E402
from grammar_gen import write  # noqa: E402
from test_random_grammars import check_grammar  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4000, help="random grammars to try")
    parser.add_argument("--start", type=int, default=0, help="first seed")
    args = parser.parse_args()
    loaded, failures = 0, []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.start, args.start + args.seeds):
            try:
                loaded += check_grammar(write(Path(tmp), seed), seed) is not None
            except AssertionError as exc:
                loaded += 1
                failures.append(seed)
                if len(failures) <= 5:
                    print(f"seed {seed}: {str(exc).splitlines()[0] if str(exc) else 'failed'}")
    seconds = time.perf_counter() - start
    report("grammars", [{"seeds tried": args.seeds, "loaded as LALR": loaded,
                         "failed": len(failures), "seconds": round(seconds, 1)}],
           {"first_seed": args.start, "failed_seeds": failures[:100]})


if __name__ == "__main__":
    main()
