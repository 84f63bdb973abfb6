"""NAS-Bench-201's 15,625 cells under nasc's canonical form: how many classes, and do the
members of a class score alike?

    python benchmarks/nb201_equivalence.py [--table ../shared/data/nb201/nb201.csv]

Prints the class count beside NAS-Bench-201's own (6,466 unique topologies), the
spread of 200-epoch CIFAR-10 test accuracy inside each class (the benchmark's seed
noise is the yardstick), and writes benchmarks/results/nb201_equivalence.json.
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import statistics
import time
from pathlib import Path

from nasc.api import arch_hash
from nasc.grammar import load_space

ROOT = Path(__file__).resolve().parents[1]
SPACE = ROOT / "examples" / "spaces" / "nb201.lark"
NB201_UNIQUE = 6466


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default=str(ROOT.parent / "shared/data/nb201/nb201.csv"))
    args = parser.parse_args()
    rows = list(csv.DictReader(open(args.table)))
    space = load_space(SPACE)
    start = time.perf_counter()
    classes: dict[str, list[dict[str, str]]] = collections.defaultdict(list)
    for row in rows:
        classes[arch_hash(row["arch"], space)].append(row)
    seconds = time.perf_counter() - start
    spreads = [max(float(r["cifar10_test_200ep"]) for r in members)
               - min(float(r["cifar10_test_200ep"]) for r in members)
               for members in classes.values() if len(members) > 1]
    result = {
        "cells": len(rows), "classes": len(classes), "nb201_unique": NB201_UNIQUE,
        "multi_member_classes": len(spreads),
        "cells_in_multi_member_classes": sum(len(m) for m in classes.values() if len(m) > 1),
        "spread_median": statistics.median(spreads),
        "spread_p90": statistics.quantiles(spreads, n=10)[-1],
        "spread_max": max(spreads),
        "seconds": round(seconds, 1),
    }
    for key, value in result.items():
        print(f"{key:32} {value}")
    out = ROOT / "benchmarks" / "results" / "nb201_equivalence.json"
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
